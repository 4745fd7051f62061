/*
 * The client of vix-keyd (proto/keyd.proto): blocking calls over mutual
 * TLS with the project's policy, the key holder's certificate verified
 * against ca and its host name or address. Internal: built into libvix
 * (not exported) and into a static library vixd and vixctl link.
 *
 * Every call returns 0, or -1 with a reason in err; when vix-keyd refused
 * the request, *code is its vix.v1.Status code (PERMISSION_DENIED, ...),
 * otherwise 0. A broken connection is made again once per call; a timeout
 * is not (the request may still be running).
 */
#ifndef VIX_KEYCLIENT_H
#define VIX_KEYCLIENT_H

#include <stddef.h>
#include <stdint.h>

#define KEYCLIENT_BATCH_MAX	256	/* elements per keyclient_evaluate */

struct keyclient;

/* Connect to addr (host:port); NULL with err. timeout_ms 0: 10 s. */
struct keyclient *keyclient_open(const char *addr, const char *cert,
    const char *key, const char *ca, int timeout_ms, char *err,
    size_t errlen);
void	keyclient_close(struct keyclient *);

/*
 * BlindEvaluate of n (1..256) blinded elements with vix-keyd's active
 * key: evaluated[i] for blinded[i], and the version and id of that key.
 */
int	keyclient_evaluate(struct keyclient *, size_t n,
	    const unsigned char (*blinded)[32], unsigned char (*evaluated)[32],
	    uint32_t *version, unsigned char key_id[16], int *code,
	    char *err, size_t errlen);

/*
 * The key versions (at most max of them into versions, ids, active;
 * *n says how many there are) and the active one, *current.
 */
int	keyclient_info(struct keyclient *, uint32_t *current, size_t max,
	    uint32_t *versions, unsigned char (*ids)[16], int *active,
	    size_t *n, int *code, char *err, size_t errlen);

/*
 * The rotation token delta = k_to · k_from⁻¹ (role index only); after it,
 * vix-keyd evaluates with version to.
 */
int	keyclient_token(struct keyclient *, uint32_t from, uint32_t to,
	    unsigned char delta[32], unsigned char from_id[16],
	    unsigned char to_id[16], int *code, char *err, size_t errlen);

#endif
