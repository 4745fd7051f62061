/* JSON strings, escaped once for every interface that writes JSON. */
#include <event2/buffer.h>

#include "json.h"

void
json_string(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, "\"", 1);
	while (s != NULL && *s != '\0') {
		size_t n = 0;
		unsigned char ch;

		while ((ch = (unsigned char)s[n]) != '\0' && ch >= 0x20 &&
		    ch != 0x7f && ch != '"' && ch != '\\')
			n++;
		evbuffer_add(b, s, n);
		if ((ch = (unsigned char)s[n]) == '\0')
			break;
		if (ch == '"' || ch == '\\')
			evbuffer_add_printf(b, "\\%c", ch);
		else
			evbuffer_add_printf(b, "\\u%04x", ch);
		s += n + 1;
	}
	evbuffer_add(b, "\"", 1);
}
