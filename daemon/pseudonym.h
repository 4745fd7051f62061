/* The secret key from which BSN pseudonyms are derived (DESIGN.md section 7). */
#ifndef VIX_PSEUDONYM_H
#define VIX_PSEUDONYM_H

#include "diag.h"

#define PSEUDONYM_KEY_LEN	32

/*
 * Read exactly PSEUDONYM_KEY_LEN bytes from path, refusing a file that is
 * group or world accessible. Returns 0, or -1 after adding the problem to d.
 */
int	pseudonym_key_load(const char *path, unsigned char key[PSEUDONYM_KEY_LEN],
	    struct diag *d);

#endif
