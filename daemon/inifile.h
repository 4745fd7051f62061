/* INI files read with inih, with the line number of every key. */
#ifndef VIX_INIFILE_H
#define VIX_INIFILE_H

#include "diag.h"

/* Return 0 to accept the key; otherwise the handler has added a diagnostic. */
typedef int (*inifile_handler)(void *ctx, const char *section,
    const char *key, const char *value, int line);

/*
 * Parse path, calling h for each key. Syntax errors and handler refusals are
 * added to d as "path:line: problem". Returns 0 if the file read cleanly.
 */
int	inifile_parse(const char *path, inifile_handler h, void *ctx,
	    struct diag *d);

#endif
