/* Collected "file:line: problem" diagnostics. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"

void
diag_init(struct diag *d)
{
	d->text[0] = '\0';
	d->len = 0;
	d->count = 0;
}

void
diag_add(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	d->count++;
	if (file != NULL && line > 0)
		n = snprintf(d->text + d->len, sizeof(d->text) - d->len,
		    "%s:%d: %s\n", file, line, msg);
	else if (file != NULL)
		n = snprintf(d->text + d->len, sizeof(d->text) - d->len,
		    "%s: %s\n", file, msg);
	else
		n = snprintf(d->text + d->len, sizeof(d->text) - d->len,
		    "%s\n", msg);
	if (n > 0)
		d->len += (size_t)n;
	if (d->len >= sizeof(d->text))
		d->len = sizeof(d->text) - 1;
}

const char *
diag_first(const struct diag *d, char *buf, size_t len)
{
	size_t n = strcspn(d->text, "\n");

	if (n >= len)
		n = len - 1;
	memcpy(buf, d->text, n);
	buf[n] = '\0';
	return buf;
}
