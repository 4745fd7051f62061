/*
 * One JSON writer for vixd (admin HTTP, control socket) and the vix CLI:
 * objects and arrays nested, commas and keys placed, strings escaped. No
 * spaces: the output is compact, one value per line when the caller ends
 * it with jsonw_newline. Bytes go to a sink the caller gives (a FILE, an
 * evbuffer, a test's buffer).
 */
#ifndef VIX_JSONW_H
#define VIX_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSONW_DEPTH	32	/* objects and arrays open at once, at most */

/* Where the bytes go: n bytes at s, to arg. */
typedef void	jsonw_put_fn(void *arg, const char *s, size_t n);

struct jsonw {
	jsonw_put_fn	*put;
	void		*arg;
	unsigned	 depth;		/* containers open */
	int		 key;		/* a key was written: its value is next */
	int		 err;		/* misused: too deep, unbalanced, a key
					   outside an object; nothing is written
					   after that */
	unsigned char	 object[JSONW_DEPTH];	/* this level is an object */
	unsigned char	 more[JSONW_DEPTH];	/* it has a member already */
};

void	jsonw_init(struct jsonw *, jsonw_put_fn *, void *arg);
/* A writer onto fp (stdio keeps the errors: check ferror or fflush). */
void	jsonw_file(struct jsonw *, FILE *fp);

/* Open an object or an array; jsonw_end closes the innermost one. */
void	jsonw_object(struct jsonw *);
void	jsonw_array(struct jsonw *);
void	jsonw_end(struct jsonw *);

/* The key of the next value, in an object. */
void	jsonw_key(struct jsonw *, const char *key);

/* s (NULL: empty) as a string; '"', '\\', controls and DEL escaped. */
void	jsonw_str(struct jsonw *, const char *s);
/* The first n bytes of s (fewer if a NUL comes first) as a string. */
void	jsonw_strn(struct jsonw *, const char *s, size_t n);
void	jsonw_int(struct jsonw *, int64_t);
void	jsonw_uint(struct jsonw *, uint64_t);
void	jsonw_bool(struct jsonw *, int);
void	jsonw_null(struct jsonw *);
/* A number with this many decimals ("%.*f"); not for NaN or infinities. */
void	jsonw_fixed(struct jsonw *, double, int decimals);

/* "key":value in one call. */
void	jsonw_kstr(struct jsonw *, const char *key, const char *s);
void	jsonw_kint(struct jsonw *, const char *key, int64_t);
void	jsonw_kuint(struct jsonw *, const char *key, uint64_t);
void	jsonw_kbool(struct jsonw *, const char *key, int);

/* A newline after a whole value (JSON lines); only outside any container. */
void	jsonw_newline(struct jsonw *);

/* 0 when every container was closed and nothing was misused, else -1. */
int	jsonw_done(const struct jsonw *);

#endif
