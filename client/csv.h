/*
 * An RFC 4180 reader for vix import that keeps line numbers. A record's
 * fields are NUL-ended in one buffer that is never moved and is wiped when
 * the reader is closed (a row holds a BSN). Reasons for a bad record never
 * quote what was read.
 */
#ifndef VIX_CSV_H
#define VIX_CSV_H

#include <stddef.h>
#include <stdio.h>

#define CSV_FIELDS	16	/* fields kept per record; more are counted */

struct csv {
	FILE		*fp;
	unsigned long	 line;		/* the line being read, from 1 */
	char		*buf;		/* the record's fields, each NUL-ended */
	size_t		 max;		/* bytes in one record, at most */
	size_t		 len;
	size_t		 field[CSV_FIELDS]; /* offsets of the first ones */
	size_t		 n;		/* fields in the record, all counted */
};

/*
 * Read fp (closed by csv_close), records of at most max bytes, skipping a
 * UTF-8 byte order mark. -1 if out of memory (r->buf is NULL) or if the
 * file starts with part of a mark.
 */
int		 csv_open(struct csv *r, FILE *fp, size_t max);

/*
 * The next record, skipping empty lines: 1 with its fields in r, 0 at the
 * end of the file, -1 for a record that cannot be read (why says what is
 * wrong; the rest of its line is skipped). *start is the line it begins on.
 */
int		 csv_next(struct csv *r, unsigned long *start, char *why,
		    size_t len);

/* Field i (below both r->n and CSV_FIELDS) of the last record read. */
const char	*csv_field(const struct csv *r, size_t i);

/* Whether only empty lines are left to read. */
int		 csv_at_end(struct csv *r);

/* Wipe and free the buffer, close the file. */
void		 csv_close(struct csv *r);

#endif
