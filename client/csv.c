/* vix import's CSV reader (RFC 4180), line numbers kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

const char *
csv_field(const struct csv *r, size_t i)
{
	return r->buf + r->field[i];
}

static int
csv_put(struct csv *r, int ch)
{
	if (r->len == r->max)
		return -1;
	r->buf[r->len++] = (char)ch;
	return 0;
}

/* Close the field being read; the ones past CSV_FIELDS are only counted. */
static int
csv_end_field(struct csv *r, size_t start)
{
	if (csv_put(r, '\0') == -1)
		return -1;
	if (r->n < CSV_FIELDS)
		r->field[r->n] = start;
	r->n++;
	return 0;
}

/* After ch ("\r" or "\n"): a line ends, "\r\n" counting once. */
static void
csv_line_end(struct csv *r, int ch)
{
	int next;

	if (ch == '\r' && (next = getc(r->fp)) != '\n' && next != EOF)
		ungetc(next, r->fp);
	r->line++;
}

/* After a bad record: skip the rest of its line. */
static int
csv_skip_line(struct csv *r)
{
	int ch;

	while ((ch = getc(r->fp)) != EOF && ch != '\n' && ch != '\r')
		;
	if (ch != EOF)
		csv_line_end(r, ch);
	return -1;
}

/* Inside quotes up to the closing one; -1 at the end of the file. */
static int
csv_quoted(struct csv *r)
{
	int ch;

	for (;;) {
		if ((ch = getc(r->fp)) == EOF)
			return -1;
		if (ch == '"' && (ch = getc(r->fp)) != '"') {
			if (ch != EOF)
				ungetc(ch, r->fp);
			return 0;
		}
		if (ch == '\r' || ch == '\n') {
			csv_line_end(r, ch);
			if (csv_put(r, '\n') == -1)
				return -2;
		} else if (csv_put(r, ch) == -1)
			return -2;
	}
}

/*
 * The rest of a record whose first character is ch. Returns 1, or -1 with
 * why (the reason never quotes what was read: it may be a BSN).
 */
static int
csv_fields(struct csv *r, int ch, char *why, size_t len)
{
	size_t start = 0;
	int closed = 0, q;

	for (;; ch = getc(r->fp)) {
		if (ch == ',' || ch == '\r' || ch == '\n' || ch == EOF) {
			if (csv_end_field(r, start) == -1)
				break;
			if (ch != ',') {
				if (ch != EOF)
					csv_line_end(r, ch);
				return 1;
			}
			start = r->len;
			closed = 0;
		} else if (closed) {
			snprintf(why, len, "column %zu: text after the closing "
			    "quote", r->n + 1);
			return csv_skip_line(r);
		} else if (ch == '"' && r->len == start) {
			if ((q = csv_quoted(r)) == -1) {
				snprintf(why, len, "column %zu: the quoted field "
				    "is not closed", r->n + 1);
				return -1;
			}
			if (q == -2)
				break;
			closed = 1;
		} else if (ch == '"') {
			snprintf(why, len, "column %zu: a quote inside an "
			    "unquoted field (quote the field and double the "
			    "quote)", r->n + 1);
			return csv_skip_line(r);
		} else if (csv_put(r, ch) == -1)
			break;
	}
	snprintf(why, len, "the row is longer than %zu bytes (a quote not "
	    "closed?)", r->max);
	return csv_skip_line(r);
}

int
csv_next(struct csv *r, unsigned long *start, char *why, size_t len)
{
	int ch;

	r->len = 0;
	r->n = 0;
	while ((ch = getc(r->fp)) == '\r' || ch == '\n')
		csv_line_end(r, ch);
	*start = r->line;
	if (ch == EOF)
		return 0;
	return csv_fields(r, ch, why, len);
}

int
csv_open(struct csv *r, FILE *fp, size_t max)
{
	int ch;

	memset(r, 0, sizeof(*r));
	r->fp = fp;
	r->line = 1;
	r->max = max;
	if ((r->buf = malloc(max)) == NULL)
		return -1;
	if ((ch = getc(fp)) != 0xef) {
		if (ch != EOF)
			ungetc(ch, fp);
		return 0;
	}
	return getc(fp) == 0xbb && getc(fp) == 0xbf ? 0 : -1;
}

void
csv_close(struct csv *r)
{
	if (r->buf != NULL)
		explicit_bzero(r->buf, r->max);
	free(r->buf);
	if (r->fp != NULL)
		fclose(r->fp);
	memset(r, 0, sizeof(*r));
}

int
csv_at_end(struct csv *r)
{
	int ch;

	while ((ch = getc(r->fp)) == '\r' || ch == '\n')
		csv_line_end(r, ch);
	if (ch == EOF)
		return 1;
	ungetc(ch, r->fp);
	return 0;
}
