/*
 * The value of a --bsn option, shared by vix and vixctl: "-" reads one line
 * from standard input, so that the BSN stays out of the process list and
 * the shell history.
 */
#ifndef VIX_BSNARG_H
#define VIX_BSNARG_H

#include <stddef.h>

#define BSNARG_MAX	64	/* room for a line; a BSN is 9 digits */

/*
 * Copy arg, or for "-" the first line of standard input without its line
 * end, into out. Returns NULL, or why it failed (never quoting the value).
 */
const char	*bsnarg_read(const char *arg, char *out, size_t len);

/*
 * The key holder a development vixd started, from DIR/keyholder (vixd
 * --dev writes its address there), into out. 0, or -1 if there is none.
 */
int		 bsnarg_dev_keyholder(const char *dir, char *out, size_t len);

#endif
