/*
 * vix-keyd's OPRF keys: the versions in the key file, and the locked page
 * that holds them in memory.
 *
 * The key file is text, 0600, one line per version:
 *     VERSION HEX-SCALAR active|standby
 * (blank lines and lines starting with '#' are ignored). Exactly one
 * version is active: the one BlindEvaluate uses.
 */
#ifndef VIX_KEYD_KEYS_H
#define VIX_KEYD_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define KEYS_MAX	64		/* versions in one file */
#define KEYS_SCALAR_LEN	32
#define KEYS_ID_LEN	16
#define KEYS_FILE_MAX	8192		/* far above KEYS_MAX lines */

struct keys_version {
	uint32_t	 version;
	int		 active;
	unsigned char	 k[KEYS_SCALAR_LEN];	/* canonical, not zero */
	unsigned char	 id[KEYS_ID_LEN];
};

struct keys {
	size_t			n;
	struct keys_version	v[KEYS_MAX];
};

/*
 * A page of its own for the keys (as pseudonym_key_new): locked in memory
 * where mlock is allowed (*locked says), left out of core dumps. NULL if
 * no page could be mapped. keys_free wipes and unmaps it.
 */
struct keys	*keys_new(int *locked);
void		 keys_free(struct keys *);

/*
 * Parse the text of a key file (len bytes) into ks, ids computed. Problems
 * go to d as "path:line: problem", without the line's key. Returns 0, or -1.
 */
int		 keys_parse(const char *text, size_t len, const char *path,
		    struct keys *ks, struct diag *d);

/*
 * Read path into ks, refusing a file that is group or world accessible,
 * and one without an active version. Returns 0, or -1 with d filled.
 */
int		 keys_load(const char *path, struct keys *ks, struct diag *d);

/*
 * Write ks to path atomically: a 0600 temporary file beside it, fsync,
 * rename, fsync of the folder. Returns 0, or -1 with the reason in err.
 */
int		 keys_save(const char *path, const struct keys *ks, char *err,
		    size_t errlen);

/*
 * Change the key file under an exclusive lock on its folder, so that
 * vix-keyd (after a Token) and the key commands (--add-key, ...) never
 * lose each other's change: read it (or start empty when create is set
 * and there is no file; refused if there is one), call fn on a locked
 * page, and save if fn returns 0. Returns fn's result, or -1 with the
 * reason in d.
 */
typedef int keys_change_fn(struct keys *, void *arg, struct diag *d);
int		 keys_modify(const char *path, int create, keys_change_fn *fn,
		    void *arg, struct diag *d);

const struct keys_version *keys_active(const struct keys *);
const struct keys_version *keys_find(const struct keys *, uint32_t version);

/*
 * A new version after the highest, with a random key, active or standby.
 * Returns it, or NULL when the file is full (KEYS_MAX) or at UINT32_MAX.
 */
struct keys_version *keys_add(struct keys *, int active);

/* Remove a standby version. 0, or -1 (not there, or active). */
int		 keys_remove(struct keys *, uint32_t version);

/* Make version the active one (and every other standby). 0, or -1. */
int		 keys_activate(struct keys *, uint32_t version);

/*
 * A version's key id: the first 16 bytes of SHA-512("vix:oprf-key-id:v1"
 * || k·G). Returns 0, or -1 for a zero key.
 */
int		 keys_id(const unsigned char k[KEYS_SCALAR_LEN],
		    unsigned char id[KEYS_ID_LEN]);

/* The token delta = to · from⁻¹ mod L. 0, or -1 (a zero key). */
int		 keys_delta(const unsigned char from[KEYS_SCALAR_LEN],
		    const unsigned char to[KEYS_SCALAR_LEN],
		    unsigned char delta[KEYS_SCALAR_LEN]);

/* 32 hex digits of a key id, with the NUL. */
#define KEYS_ID_HEX	(2 * KEYS_ID_LEN + 1)
const char	*keys_id_hex(const unsigned char id[KEYS_ID_LEN],
		    char out[KEYS_ID_HEX]);

#endif
