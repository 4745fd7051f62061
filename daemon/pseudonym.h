/* The secret key from which BSN pseudonyms are derived (DESIGN.md section 7). */
#ifndef VIX_PSEUDONYM_H
#define VIX_PSEUDONYM_H

#include "diag.h"

#define PSEUDONYM_KEY_LEN	32

/*
 * A page of its own for the key, mapped apart from the heap: locked in
 * memory (never swapped out) and left out of core dumps (MADV_DONTDUMP).
 * NULL if no page could be mapped; *locked tells whether mlock succeeded
 * (RLIMIT_MEMLOCK may forbid it). pseudonym_key_free wipes and unmaps it.
 */
unsigned char	*pseudonym_key_new(int *locked);
void		 pseudonym_key_free(unsigned char *key);

/*
 * Read exactly PSEUDONYM_KEY_LEN bytes from path, refusing a file that is
 * group or world accessible. Returns 0, or -1 after adding the problem to d.
 */
int	pseudonym_key_load(const char *path, unsigned char key[PSEUDONYM_KEY_LEN],
	    struct diag *d);

/* Hex digits of a key identifier, with its NUL. */
#define PSEUDONYM_KEY_ID_LEN	33

/*
 * The key's identifier: the first 16 bytes of HMAC-SHA256(key,
 * "vix:key-id:v1") in hex. It names the key without revealing it, so that
 * the store can remember which key it was written with. Returns 0, or -1.
 */
int	pseudonym_key_id(const unsigned char key[PSEUDONYM_KEY_LEN],
	    char out[PSEUDONYM_KEY_ID_LEN]);

struct pseudonym_ctx;

/*
 * One per thread: the keyed MAC, set up once and reused for every BSN. It
 * holds what the key gives (OpenSSL's copy of the key and the HMAC's inner
 * and outer digest states) in OpenSSL's heap, which vixd keeps out of core
 * dumps by being non-dumpable; pseudonym_ctx_free lets OpenSSL wipe it.
 */
struct pseudonym_ctx *pseudonym_ctx_new(const unsigned char key[PSEUDONYM_KEY_LEN]);
void	pseudonym_ctx_free(struct pseudonym_ctx *);

/*
 * out = HMAC-SHA256(key, "vix:bsn:v1:" || bsn). The caller has checked the
 * BSN. Returns 0, or -1 if the MAC failed.
 */
int	pseudonym_compute(struct pseudonym_ctx *, const char *bsn, size_t len,
	    unsigned char out[32]);

/*
 * The edge: check a BSN (rules_check_bsn), turn it into its pseudonym, and
 * wipe it from bsn either way. Returns 0; -1 for a BSN that is not valid,
 * or -2 if the MAC failed, with *why a message fit for the caller (naming
 * the field, never holding the value).
 */
int	pseudonym_from_bsn(struct pseudonym_ctx *, char *bsn, unsigned char out[32],
	    const char **why);

#endif
