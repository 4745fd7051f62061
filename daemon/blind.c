/* Blind pseudonyms: accepted key versions and the stored form. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "blind.h"

void
blind_init(struct blind *b, const struct blind_keys *k)
{
	pthread_mutex_init(&b->lock, NULL);
	b->keys = *k;
}

void
blind_destroy(struct blind *b)
{
	sodium_memzero(&b->keys, sizeof(b->keys));
	pthread_mutex_destroy(&b->lock);
}

void
blind_get(struct blind *b, struct blind_keys *out)
{
	pthread_mutex_lock(&b->lock);
	*out = b->keys;
	pthread_mutex_unlock(&b->lock);
}

void
blind_set(struct blind *b, const struct blind_keys *k)
{
	pthread_mutex_lock(&b->lock);
	b->keys = *k;
	b->keys.gen++;
	pthread_mutex_unlock(&b->lock);
}

int
blind_parity(uint32_t version)
{
	return (int)(version & 1);
}

void
blind_stored(const uint8_t element[BLIND_ELEMENT_LEN], uint32_t version,
    uint8_t out[BLIND_ELEMENT_LEN])
{
	memmove(out, element, BLIND_ELEMENT_LEN);
	out[0] = (uint8_t)((out[0] & ~1u) | (unsigned)blind_parity(version));
}

int
blind_rotation_start(struct blind_keys *k, uint32_t to_version,
    const uint8_t to_id[BLIND_KEY_ID_LEN], const uint8_t delta[BLIND_DELTA_LEN])
{
	if (crypto_core_ristretto255_scalar_invert(k->delta_inv, delta) != 0)
		return -1;
	k->rotating = 1;
	k->to_version = to_version;
	memcpy(k->to_id, to_id, BLIND_KEY_ID_LEN);
	memcpy(k->delta, delta, BLIND_DELTA_LEN);
	return 0;
}

void
blind_rotation_end(struct blind_keys *k)
{
	k->version = k->to_version;
	memcpy(k->id, k->to_id, BLIND_KEY_ID_LEN);
	k->rotating = 0;
	k->to_version = 0;
	sodium_memzero(k->to_id, sizeof(k->to_id));
	sodium_memzero(k->delta, sizeof(k->delta));
	sodium_memzero(k->delta_inv, sizeof(k->delta_inv));
}

/* q = s·e for a stored or sent element e (its parity bit cleared first). */
static int
mult(const uint8_t s[BLIND_DELTA_LEN], const uint8_t e[BLIND_ELEMENT_LEN],
    uint8_t q[BLIND_ELEMENT_LEN])
{
	uint8_t plain[BLIND_ELEMENT_LEN];

	memcpy(plain, e, sizeof(plain));
	plain[0] &= (uint8_t)~1u;
	return crypto_scalarmult_ristretto255(q, s, plain) == 0 ? 0 : -1;
}

int
blind_move(const struct blind_keys *k, const uint8_t old[BLIND_ELEMENT_LEN],
    uint8_t out[BLIND_ELEMENT_LEN])
{
	uint8_t n[BLIND_ELEMENT_LEN];

	if (!k->rotating || mult(k->delta, old, n) == -1)
		return -1;
	blind_stored(n, k->to_version, out);
	return 0;
}

void
blind_id_hex(const uint8_t id[BLIND_KEY_ID_LEN], char *out)
{
	sodium_bin2hex(out, 2 * BLIND_KEY_ID_LEN + 1, id, BLIND_KEY_ID_LEN);
}

/* The versions accepted, for a refusal: "1" or "1 and 2". */
static void
accepted(const struct blind_keys *k, char *out, size_t len)
{
	if (k->rotating)
		snprintf(out, len, "%" PRIu32 " and %" PRIu32, k->version,
		    k->to_version);
	else
		snprintf(out, len, "%" PRIu32, k->version);
}

int
blind_pseudonym(const struct blind_keys *k, const uint8_t *element,
    size_t len, uint32_t version, const uint8_t *key_id, size_t key_id_len,
    uint8_t p[BLIND_ELEMENT_LEN], uint8_t old[BLIND_ELEMENT_LEN],
    int *has_old, char *why, size_t whylen)
{
	const uint8_t *want;
	char versions[32], got[2 * BLIND_KEY_ID_LEN + 1],
	    have[2 * BLIND_KEY_ID_LEN + 1];
	uint8_t n[BLIND_ELEMENT_LEN];

	*has_old = 0;
	if (len != BLIND_ELEMENT_LEN ||
	    !crypto_core_ristretto255_is_valid_point(element)) {
		snprintf(why, whylen, "pseudonym.element: not a canonical "
		    "ristretto255 element of %d bytes (the unblinded output "
		    "of the key holder's evaluation)", BLIND_ELEMENT_LEN);
		return -1;
	}
	if (version == k->version)
		want = k->id;
	else if (k->rotating && version == k->to_version)
		want = k->to_id;
	else {
		accepted(k, versions, sizeof(versions));
		snprintf(why, whylen, "pseudonym.key_version: %" PRIu32 " is "
		    "not a key version this index accepts (it accepts %s); "
		    "the client's key holder and the index do not agree",
		    version, versions);
		return -2;
	}
	if (key_id_len != BLIND_KEY_ID_LEN ||
	    sodium_memcmp(key_id, want, BLIND_KEY_ID_LEN) != 0) {
		if (key_id_len == BLIND_KEY_ID_LEN)
			blind_id_hex(key_id, got);
		else
			snprintf(got, sizeof(got), "of %zu bytes", key_id_len);
		blind_id_hex(want, have);
		snprintf(why, whylen, "pseudonym.key_id: %s is not the key "
		    "this index keeps version %" PRIu32 " under (%s): the "
		    "pseudonym was made by another key holder", got, version,
		    have);
		return -2;
	}
	if (!k->rotating) {
		blind_stored(element, version, p);
		return 0;
	}
	/* Both forms: the new one, and the old one the youth may be under. */
	if (version == k->version) {
		if (mult(k->delta, element, n) == -1)
			goto identity;
		blind_stored(n, k->to_version, p);
		blind_stored(element, k->version, old);
	} else {
		if (mult(k->delta_inv, element, n) == -1)
			goto identity;
		blind_stored(element, k->to_version, p);
		blind_stored(n, k->version, old);
	}
	*has_old = 1;
	return 0;
identity:
	snprintf(why, whylen, "pseudonym.element: not a valid element");
	return -1;
}

void
blind_format(const struct blind_keys *k, char *out, size_t len)
{
	char id[2 * BLIND_KEY_ID_LEN + 1], to[2 * BLIND_KEY_ID_LEN + 1],
	    delta[2 * BLIND_DELTA_LEN + 1];

	blind_id_hex(k->id, id);
	if (!k->rotating) {
		snprintf(out, len, "%" PRIu32 ":%s", k->version, id);
		return;
	}
	blind_id_hex(k->to_id, to);
	sodium_bin2hex(delta, sizeof(delta), k->delta, sizeof(k->delta));
	snprintf(out, len, "%" PRIu32 ":%s %" PRIu32 ":%s %s", k->version, id,
	    k->to_version, to, delta);
	sodium_memzero(delta, sizeof(delta));
}

/* "V:<32 hex>" at s; *end after it. */
static int
parse_version(const char *s, uint32_t *version, uint8_t id[BLIND_KEY_ID_LEN],
    const char **end)
{
	unsigned long v = 0;
	size_t n;
	const char *e;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9' && v < UINT32_MAX)
		v = v * 10 + (unsigned long)(*s++ - '0');
	if (v == 0 || v > UINT32_MAX || *s++ != ':')
		return -1;
	if (sodium_hex2bin(id, BLIND_KEY_ID_LEN, s, 2 * BLIND_KEY_ID_LEN,
	    NULL, &n, &e) != 0 || n != BLIND_KEY_ID_LEN)
		return -1;
	*version = (uint32_t)v;
	*end = e;
	return 0;
}

int
blind_parse(const char *text, struct blind_keys *k)
{
	struct blind_keys nk = { 0 };
	const char *s = text, *e;
	uint8_t delta[BLIND_DELTA_LEN], to_id[BLIND_KEY_ID_LEN];
	uint32_t to_version;
	size_t n;

	if (parse_version(s, &nk.version, nk.id, &s) == -1)
		return -1;
	if (*s == '\0') {
		*k = nk;
		return 0;
	}
	if (*s++ != ' ' || parse_version(s, &to_version, to_id, &s) == -1 || *s++ != ' ' || sodium_hex2bin(delta, sizeof(delta),
	    s, 2 * BLIND_DELTA_LEN, NULL, &n, &e) != 0 ||
	    n != sizeof(delta) || *e != '\0' ||
	    blind_rotation_start(&nk, to_version, to_id, delta) == -1)
		return -1;
	sodium_memzero(delta, sizeof(delta));
	*k = nk;
	return 0;
}
