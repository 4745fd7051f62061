/*
 * Diagnostics collected while checking configuration: one line per problem,
 * "file:line: problem" where a line is known, so that `vixd -t` can list
 * them all and start-up can refuse with the first.
 */
#ifndef VIX_DIAG_H
#define VIX_DIAG_H

#include <stddef.h>

struct diag {
	char	text[4096];
	size_t	len;
	int	count;
};

void	diag_init(struct diag *);
/* Add a problem; file may be NULL, line 0 means "no line". */
void	diag_add(struct diag *, const char *file, int line, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* The first problem only (for one-line messages). */
const char *diag_first(const struct diag *, char *buf, size_t len);

#endif
