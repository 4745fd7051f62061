/* The JSON writer of vixd and the vix CLI (see jsonw.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"

void
jsonw_init(struct jsonw *w, jsonw_put_fn *put, void *arg)
{
	memset(w, 0, sizeof(*w));
	w->put = put;
	w->arg = arg;
}

static void
put_file(void *arg, const char *s, size_t n)
{
	fwrite(s, 1, n, arg);
}

void
jsonw_file(struct jsonw *w, FILE *fp)
{
	jsonw_init(w, put_file, fp);
}

static void
put(struct jsonw *w, const char *s, size_t n)
{
	if (n > 0)
		w->put(w->arg, s, n);
}

/*
 * Before a value: the comma that separates it from the one before, unless
 * it follows its key. A value in an object without a key is misuse.
 * Returns 0, or -1 when nothing may be written.
 */
static int
value_begin(struct jsonw *w)
{
	unsigned d = w->depth;

	if (w->err)
		return -1;
	if (d > 0 && w->object[d - 1] && !w->key) {
		w->err = 1;
		return -1;
	}
	if (d > 0 && !w->key && w->more[d - 1])
		put(w, ",", 1);
	if (d > 0)
		w->more[d - 1] = 1;
	w->key = 0;
	return 0;
}

static void
open_container(struct jsonw *w, int object)
{
	if (value_begin(w) == -1)
		return;
	if (w->depth == JSONW_DEPTH) {
		w->err = 1;
		return;
	}
	w->object[w->depth] = (unsigned char)object;
	w->more[w->depth] = 0;
	w->depth++;
	put(w, object ? "{" : "[", 1);
}

void
jsonw_object(struct jsonw *w)
{
	open_container(w, 1);
}

void
jsonw_array(struct jsonw *w)
{
	open_container(w, 0);
}

void
jsonw_end(struct jsonw *w)
{
	if (w->err)
		return;
	if (w->depth == 0 || w->key) {
		w->err = 1;
		return;
	}
	w->depth--;
	put(w, w->object[w->depth] ? "}" : "]", 1);
}

/* The escaped bytes of s, at most n, without quotes. */
static void
put_escaped(struct jsonw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, run;
	unsigned char ch;
	char esc[6];

	while (i < n && s[i] != '\0') {
		for (run = i; run < n && (ch = (unsigned char)s[run]) != '\0' &&
		    ch >= 0x20 && ch != 0x7f && ch != '"' && ch != '\\'; run++)
			;
		put(w, s + i, run - i);
		if (run == n || s[run] == '\0')
			break;
		ch = (unsigned char)s[run];
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			put(w, esc, 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 0xf];
			put(w, esc, 6);
		}
		i = run + 1;
	}
}

void
jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
	if (value_begin(w) == -1)
		return;
	put(w, "\"", 1);
	if (s != NULL)
		put_escaped(w, s, n);
	put(w, "\"", 1);
}

void
jsonw_str(struct jsonw *w, const char *s)
{
	jsonw_strn(w, s, SIZE_MAX);
}

void
jsonw_key(struct jsonw *w, const char *key)
{
	unsigned d = w->depth;

	if (w->err)
		return;
	if (d == 0 || !w->object[d - 1] || w->key) {
		w->err = 1;
		return;
	}
	if (w->more[d - 1])
		put(w, ",", 1);
	w->more[d - 1] = 1;
	put(w, "\"", 1);
	put_escaped(w, key, SIZE_MAX);
	put(w, "\":", 2);
	w->key = 1;
}

/* A value already formatted (a number or a literal). */
static void
put_value(struct jsonw *w, const char *text)
{
	if (value_begin(w) == 0)
		put(w, text, strlen(text));
}

void
jsonw_int(struct jsonw *w, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	put_value(w, buf);
}

void
jsonw_uint(struct jsonw *w, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	put_value(w, buf);
}

void
jsonw_bool(struct jsonw *w, int v)
{
	put_value(w, v ? "true" : "false");
}

void
jsonw_null(struct jsonw *w)
{
	put_value(w, "null");
}

void
jsonw_fixed(struct jsonw *w, double v, int decimals)
{
	char buf[64];

	if (!isfinite(v) || decimals < 0 || decimals > 9) {
		w->err = 1;
		return;
	}
	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	put_value(w, buf);
}

void
jsonw_kstr(struct jsonw *w, const char *key, const char *s)
{
	jsonw_key(w, key);
	jsonw_str(w, s);
}

void
jsonw_kint(struct jsonw *w, const char *key, int64_t v)
{
	jsonw_key(w, key);
	jsonw_int(w, v);
}

void
jsonw_kuint(struct jsonw *w, const char *key, uint64_t v)
{
	jsonw_key(w, key);
	jsonw_uint(w, v);
}

void
jsonw_kbool(struct jsonw *w, const char *key, int v)
{
	jsonw_key(w, key);
	jsonw_bool(w, v);
}

void
jsonw_newline(struct jsonw *w)
{
	if (w->err)
		return;
	if (w->depth != 0 || w->key) {
		w->err = 1;
		return;
	}
	put(w, "\n", 1);
}

int
jsonw_done(const struct jsonw *w)
{
	return w->err || w->depth != 0 || w->key ? -1 : 0;
}
