/*
 * OPRF(ristretto255, SHA-512), base mode (RFC 9497), and
 * expand_message_xmd with SHA-512 (RFC 9380, 5.3.1). The group operations
 * are libsodium's; the hashing to the group and to scalars, the key
 * derivation and the transcript of Finalize are the RFC's, written here.
 */
#include <string.h>

#include <sodium.h>

#include "oprf.h"

#define B_IN_BYTES	64	/* SHA-512 output */
#define R_IN_BYTES	128	/* SHA-512 block */
#define CTX_LEN		(sizeof(context) - 1)

/* contextString: "OPRFV1-" || I2OSP(mode 0, 1) || "-" || identifier. */
static const char context[] = "OPRFV1-\0-ristretto255-SHA512";

int
oprf_expand_xmd_sha512(const uint8_t *msg, size_t msg_len,
    const uint8_t *dst, size_t dst_len, uint8_t *out, size_t len)
{
	static const uint8_t z_pad[R_IN_BYTES];
	crypto_hash_sha512_state st;
	uint8_t b0[B_IN_BYTES], bi[B_IN_BYTES], x[B_IN_BYTES], lib[2], n, zero = 0;
	uint8_t dlen = (uint8_t)dst_len;
	size_t ell = (len + B_IN_BYTES - 1) / B_IN_BYTES;

	if (ell > 255 || len > 65535 || dst_len > 255 || len == 0)
		return -1;
	lib[0] = (uint8_t)(len >> 8);
	lib[1] = (uint8_t)len;
	/* b_0 = H(Z_pad || msg || l_i_b_str || I2OSP(0, 1) || DST_prime) */
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, z_pad, sizeof(z_pad));
	crypto_hash_sha512_update(&st, msg, msg_len);
	crypto_hash_sha512_update(&st, lib, 2);
	crypto_hash_sha512_update(&st, &zero, 1);
	crypto_hash_sha512_update(&st, dst, dst_len);
	crypto_hash_sha512_update(&st, &dlen, 1);
	crypto_hash_sha512_final(&st, b0);
	for (size_t i = 1; i <= ell; i++) {
		/* b_1 = H(b_0 || 1 || DST'); b_i = H((b_0 ^ b_(i-1)) || i || DST') */
		for (size_t k = 0; k < B_IN_BYTES; k++)
			x[k] = i == 1 ? b0[k] : (uint8_t)(b0[k] ^ bi[k]);
		n = (uint8_t)i;
		crypto_hash_sha512_init(&st);
		crypto_hash_sha512_update(&st, x, sizeof(x));
		crypto_hash_sha512_update(&st, &n, 1);
		crypto_hash_sha512_update(&st, dst, dst_len);
		crypto_hash_sha512_update(&st, &dlen, 1);
		crypto_hash_sha512_final(&st, bi);
		memcpy(out + (i - 1) * B_IN_BYTES, bi, i < ell ? B_IN_BYTES :
		    len - (i - 1) * B_IN_BYTES);
	}
	sodium_memzero(b0, sizeof(b0));
	sodium_memzero(bi, sizeof(bi));
	sodium_memzero(x, sizeof(x));
	return 0;
}

/* The DST of a use: prefix || contextString. */
static size_t
dst_of(const char *prefix, uint8_t *dst, size_t size)
{
	size_t n = strlen(prefix);

	if (n + CTX_LEN > size)
		return 0;
	memcpy(dst, prefix, n);
	memcpy(dst + n, context, CTX_LEN);
	return n + CTX_LEN;
}

/* HashToScalar with the DST given: 64 uniform bytes reduced mod L. */
static int
hash_to_scalar(const uint8_t *msg, size_t len, const char *prefix,
    uint8_t s[OPRF_SCALAR_LEN])
{
	uint8_t dst[64], wide[64];
	size_t dl = dst_of(prefix, dst, sizeof(dst));

	if (dl == 0 || oprf_expand_xmd_sha512(msg, len, dst, dl, wide,
	    sizeof(wide)) == -1)
		return -1;
	crypto_core_ristretto255_scalar_reduce(s, wide);
	sodium_memzero(wide, sizeof(wide));
	return 0;
}

static int
is_zero(const uint8_t *b, size_t n)
{
	return sodium_is_zero(b, n);
}

int
oprf_hash_to_group(const uint8_t *input, size_t len,
    uint8_t element[OPRF_ELEMENT_LEN])
{
	uint8_t dst[64], wide[64];
	size_t dl = dst_of("HashToGroup-", dst, sizeof(dst));

	if (dl == 0 || oprf_expand_xmd_sha512(input, len, dst, dl, wide,
	    sizeof(wide)) == -1)
		return -1;
	crypto_core_ristretto255_from_hash(element, wide);
	sodium_memzero(wide, sizeof(wide));
	/* The identity is encoded as 32 zero bytes. */
	return is_zero(element, OPRF_ELEMENT_LEN) ? -1 : 0;
}

int
oprf_derive_key_pair(const uint8_t seed[OPRF_SEED_LEN], const uint8_t *info,
    size_t info_len, uint8_t sk[OPRF_SCALAR_LEN],
    uint8_t pk[OPRF_ELEMENT_LEN])
{
	/* deriveInput = seed || I2OSP(len(info), 2) || info, then counter */
	uint8_t in[OPRF_SEED_LEN + 2 + 255 + 1];
	size_t n = OPRF_SEED_LEN + 2 + info_len;

	if (info_len > 255)
		return -1;
	memcpy(in, seed, OPRF_SEED_LEN);
	in[OPRF_SEED_LEN] = (uint8_t)(info_len >> 8);
	in[OPRF_SEED_LEN + 1] = (uint8_t)info_len;
	if (info_len > 0)
		memcpy(in + OPRF_SEED_LEN + 2, info, info_len);
	for (unsigned counter = 0; counter <= 255; counter++) {
		in[n] = (uint8_t)counter;
		if (hash_to_scalar(in, n + 1, "DeriveKeyPair", sk) == -1)
			break;
		if (!is_zero(sk, OPRF_SCALAR_LEN)) {
			sodium_memzero(in, sizeof(in));
			return crypto_scalarmult_ristretto255_base(pk, sk);
		}
	}
	sodium_memzero(in, sizeof(in));
	return -1;
}

int
oprf_blind(const uint8_t *input, size_t len, const uint8_t *given_blind,
    uint8_t blind[OPRF_SCALAR_LEN], uint8_t blinded[OPRF_ELEMENT_LEN])
{
	uint8_t element[OPRF_ELEMENT_LEN];

	if (oprf_hash_to_group(input, len, element) == -1)
		return -1;
	if (given_blind != NULL)
		memcpy(blind, given_blind, OPRF_SCALAR_LEN);
	else if (sodium_init() == -1)	/* its random generator; idempotent */
		return -1;
	else
		crypto_core_ristretto255_scalar_random(blind);
	if (is_zero(blind, OPRF_SCALAR_LEN))
		return -1;
	return crypto_scalarmult_ristretto255(blinded, blind, element);
}

/* A serialized element the RFC accepts: canonical, not the identity. */
static int
element_ok(const uint8_t e[OPRF_ELEMENT_LEN])
{
	return crypto_core_ristretto255_is_valid_point(e) &&
	    !is_zero(e, OPRF_ELEMENT_LEN);
}

int
oprf_blind_evaluate(const uint8_t sk[OPRF_SCALAR_LEN],
    const uint8_t blinded[OPRF_ELEMENT_LEN],
    uint8_t evaluated[OPRF_ELEMENT_LEN])
{
	if (!element_ok(blinded) || is_zero(sk, OPRF_SCALAR_LEN))
		return -1;
	return crypto_scalarmult_ristretto255(evaluated, sk, blinded);
}

int
oprf_unblind(const uint8_t blind[OPRF_SCALAR_LEN],
    const uint8_t evaluated[OPRF_ELEMENT_LEN],
    uint8_t unblinded[OPRF_ELEMENT_LEN])
{
	uint8_t inv[OPRF_SCALAR_LEN];
	int rc;

	if (!element_ok(evaluated) ||
	    crypto_core_ristretto255_scalar_invert(inv, blind) != 0)
		return -1;
	rc = crypto_scalarmult_ristretto255(unblinded, inv, evaluated);
	sodium_memzero(inv, sizeof(inv));
	return rc;
}

int
oprf_finalize(const uint8_t *input, size_t len,
    const uint8_t blind[OPRF_SCALAR_LEN],
    const uint8_t evaluated[OPRF_ELEMENT_LEN], uint8_t out[OPRF_OUTPUT_LEN])
{
	crypto_hash_sha512_state st;
	uint8_t n[OPRF_ELEMENT_LEN], l[2];

	if (len > 65535 || oprf_unblind(blind, evaluated, n) == -1)
		return -1;
	/*
	 * Hash(I2OSP(len(input), 2) || input || I2OSP(len(unblinded), 2) ||
	 * unblinded || "Finalize")
	 */
	crypto_hash_sha512_init(&st);
	l[0] = (uint8_t)(len >> 8);
	l[1] = (uint8_t)len;
	crypto_hash_sha512_update(&st, l, 2);
	crypto_hash_sha512_update(&st, input, len);
	l[0] = 0;
	l[1] = OPRF_ELEMENT_LEN;
	crypto_hash_sha512_update(&st, l, 2);
	crypto_hash_sha512_update(&st, n, sizeof(n));
	crypto_hash_sha512_update(&st, (const uint8_t *)"Finalize", 8);
	crypto_hash_sha512_final(&st, out);
	sodium_memzero(n, sizeof(n));
	return 0;
}
