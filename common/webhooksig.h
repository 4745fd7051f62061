/*
 * Webhook signatures as the Standard Webhooks specification gives them:
 * the secret "whsec_" followed by base64 of the key; the signed content
 * "<webhook-id>.<webhook-timestamp>.<body>"; the header
 * "webhook-signature: v1,<base64 of HMAC-SHA256>", several signatures
 * separated by spaces while a secret is being replaced. vixd signs what
 * it delivers; a receiver (vix listen --webhook, the tests) verifies.
 */
#ifndef VIX_WEBHOOKSIG_H
#define VIX_WEBHOOKSIG_H

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_KEY_MAX		64	/* bytes of HMAC key, at most */
#define WEBHOOK_SIG_LEN		48	/* "v1," + 44 base64 characters + NUL */

struct webhook_key {
	uint8_t		key[WEBHOOK_KEY_MAX];
	size_t		len;
};

/*
 * The key of secret ("whsec_" + base64, 24 to 64 bytes once decoded);
 * -1 with why filled in (never the secret) when it is not one.
 */
int	webhook_key_parse(struct webhook_key *, const char *secret, char *why,
	    size_t whylen);

/* "v1,<base64>" for this message into out (WEBHOOK_SIG_LEN bytes). */
int	webhook_sign(const struct webhook_key *, const char *msg_id,
	    int64_t timestamp, const void *body, size_t len,
	    char out[WEBHOOK_SIG_LEN]);

/*
 * 0 when one of the space-separated signatures in header is this
 * message's v1 signature (compared in constant time) and timestamp is
 * within tolerance seconds of now; -1 otherwise, why saying which.
 */
int	webhook_verify(const struct webhook_key *, const char *msg_id,
	    int64_t timestamp, const void *body, size_t len,
	    const char *header, int64_t now, int64_t tolerance, char *why,
	    size_t whylen);

#endif
