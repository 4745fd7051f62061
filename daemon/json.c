/* JSON for the admin HTTP and control interfaces, onto an evbuffer. */
#include <event2/buffer.h>

#include "json.h"

static void
put_evbuffer(void *arg, const char *s, size_t n)
{
	evbuffer_add(arg, s, n);
}

void
json_evbuffer(struct jsonw *w, struct evbuffer *b)
{
	jsonw_init(w, put_evbuffer, b);
}
