/* INI files read with inih, with the line number of every key. */
#ifndef VIX_INIFILE_H
#define VIX_INIFILE_H

#include "diag.h"

/*
 * Called with key and value NULL for each [section] header (an empty
 * section too), then for each key of it; again for the key with continued
 * set for an indented line that continues its value (so that a key given
 * twice can be told from a continuation). Return 0 to accept; otherwise
 * the handler has added a diagnostic (or did so at the section header).
 */
typedef int (*inifile_handler)(void *ctx, const char *section,
    const char *key, const char *value, int line, int continued);

/*
 * Parse path, calling h for each section and key. Every syntax error (and a
 * line longer than inih's buffer) is added to d as "path:line: problem", in
 * line order with the handler's. Returns 0 if the file read cleanly.
 */
/*
 * What to say of an indented line that continues value, for a key whose
 * value is one line: an indented section header is named as one.
 */
const char *inifile_indent_hint(const char *value);

int	inifile_parse(const char *path, inifile_handler h, void *ctx,
	    struct diag *d);

#endif
