/* Standard Webhooks signatures (see webhooksig.h). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "webhooksig.h"

#define SECRET_PREFIX	"whsec_"
#define KEY_MIN		24

int
webhook_key_parse(struct webhook_key *k, const char *secret, char *why,
    size_t whylen)
{
	uint8_t buf[WEBHOOK_KEY_MAX + 3];	/* the key and the padding's */
	const char *b64;
	size_t n, pad = 0;
	int got;

	memset(k, 0, sizeof(*k));
	if (strncmp(secret, SECRET_PREFIX, strlen(SECRET_PREFIX)) != 0) {
		snprintf(why, whylen, "a webhook secret starts with \"%s\"",
		    SECRET_PREFIX);
		return -1;
	}
	b64 = secret + strlen(SECRET_PREFIX);
	n = strlen(b64);
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof(buf)) {
		snprintf(why, whylen, "a webhook secret is \"%s\" and base64 "
		    "of %d to %d bytes", SECRET_PREFIX, KEY_MIN,
		    WEBHOOK_KEY_MAX);
		return -1;
	}
	while (pad < 2 && n > pad && b64[n - 1 - pad] == '=')
		pad++;
	got = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
	if (got < 0 || (size_t)got < pad || (size_t)got - pad < KEY_MIN ||
	    (size_t)got - pad > WEBHOOK_KEY_MAX) {
		OPENSSL_cleanse(buf, sizeof(buf));
		snprintf(why, whylen, "a webhook secret is \"%s\" and base64 "
		    "of %d to %d bytes", SECRET_PREFIX, KEY_MIN,
		    WEBHOOK_KEY_MAX);
		return -1;
	}
	k->len = (size_t)got - pad;
	memcpy(k->key, buf, k->len);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

/* The raw HMAC-SHA256 of "<id>.<timestamp>.<body>". */
static int
mac(const struct webhook_key *k, const char *msg_id, int64_t timestamp,
    const void *body, size_t len, uint8_t out[32])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	char ts[24];
	size_t outlen = 0;
	EVP_MAC *m;
	EVP_MAC_CTX *c = NULL;
	int ok = 0;

	snprintf(ts, sizeof(ts), ".%lld.", (long long)timestamp);
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL &&
	    (c = EVP_MAC_CTX_new(m)) != NULL)
		ok = EVP_MAC_init(c, k->key, k->len, params) == 1 &&
		    EVP_MAC_update(c, (const unsigned char *)msg_id,
		    strlen(msg_id)) == 1 &&
		    EVP_MAC_update(c, (const unsigned char *)ts,
		    strlen(ts)) == 1 &&
		    EVP_MAC_update(c, body, len) == 1 &&
		    EVP_MAC_final(c, out, &outlen, 32) == 1 && outlen == 32;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	return ok ? 0 : -1;
}

int
webhook_sign(const struct webhook_key *k, const char *msg_id,
    int64_t timestamp, const void *body, size_t len,
    char out[WEBHOOK_SIG_LEN])
{
	uint8_t m[32];

	if (mac(k, msg_id, timestamp, body, len, m) == -1)
		return -1;
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, m, sizeof(m));
	return 0;
}

int
webhook_verify(const struct webhook_key *k, const char *msg_id,
    int64_t timestamp, const void *body, size_t len, const char *header,
    int64_t now, int64_t tolerance, char *why, size_t whylen)
{
	char want[WEBHOOK_SIG_LEN];
	const char *p = header, *end;
	size_t n;

	if (timestamp < now - tolerance || timestamp > now + tolerance) {
		snprintf(why, whylen, "webhook-timestamp %lld is more than "
		    "%lld s from now", (long long)timestamp,
		    (long long)tolerance);
		return -1;
	}
	if (webhook_sign(k, msg_id, timestamp, body, len, want) == -1) {
		snprintf(why, whylen, "cannot compute the signature");
		return -1;
	}
	while (*p != '\0') {
		p += strspn(p, " ");
		end = p + strcspn(p, " ");
		n = (size_t)(end - p);
		if (n == strlen(want) && CRYPTO_memcmp(p, want, n) == 0)
			return 0;
		p = end;
	}
	snprintf(why, whylen, "no v1 signature in webhook-signature matches "
	    "the message and the secret");
	return -1;
}
