/*
 * OPRF(ristretto255, SHA-512) in base mode, as RFC 9497 (section 3 and
 * 4.1) defines it, over libsodium; and expand_message_xmd with SHA-512
 * (RFC 9380, section 5.3.1), which its hash-to-group and hash-to-scalar
 * use. Shared by the client (blind, finalize) and the key holder (derive a
 * key, evaluate). Every function returns 0, or -1 on input the RFC refuses
 * (an invalid or identity element, a zero scalar, a length out of range).
 */
#ifndef VIX_OPRF_H
#define VIX_OPRF_H

#include <stddef.h>
#include <stdint.h>

#define OPRF_ELEMENT_LEN	32	/* SerializeElement */
#define OPRF_SCALAR_LEN		32	/* SerializeScalar */
#define OPRF_OUTPUT_LEN		64	/* Nh, SHA-512 */
#define OPRF_SEED_LEN		32	/* Ns */

/*
 * len bytes of expand_message_xmd(msg, dst, len) with SHA-512: len at most
 * 255 * 64, dst at most 255 bytes.
 */
int	oprf_expand_xmd_sha512(const uint8_t *msg, size_t msg_len,
	    const uint8_t *dst, size_t dst_len, uint8_t *out, size_t len);

/* DeriveKeyPair(seed, info): the private key and its public key. */
int	oprf_derive_key_pair(const uint8_t seed[OPRF_SEED_LEN],
	    const uint8_t *info, size_t info_len, uint8_t sk[OPRF_SCALAR_LEN],
	    uint8_t pk[OPRF_ELEMENT_LEN]);

/* HashToGroup(input), refused when it is the identity element. */
int	oprf_hash_to_group(const uint8_t *input, size_t len,
	    uint8_t element[OPRF_ELEMENT_LEN]);

/*
 * Blind(input): blind is a random scalar (or, for tests, the one given
 * when given_blind is not NULL), blinded the element sent to the key
 * holder.
 */
int	oprf_blind(const uint8_t *input, size_t len,
	    const uint8_t *given_blind, uint8_t blind[OPRF_SCALAR_LEN],
	    uint8_t blinded[OPRF_ELEMENT_LEN]);

/* BlindEvaluate(sk, blinded): refuses an invalid or identity element. */
int	oprf_blind_evaluate(const uint8_t sk[OPRF_SCALAR_LEN],
	    const uint8_t blinded[OPRF_ELEMENT_LEN],
	    uint8_t evaluated[OPRF_ELEMENT_LEN]);

/*
 * The unblinded element N = blind^-1 * evaluated (= sk * HashToGroup(input)),
 * which Finalize hashes; refuses an invalid or identity element.
 */
int	oprf_unblind(const uint8_t blind[OPRF_SCALAR_LEN],
	    const uint8_t evaluated[OPRF_ELEMENT_LEN],
	    uint8_t unblinded[OPRF_ELEMENT_LEN]);

/* Finalize(input, blind, evaluated): the OPRF's output. */
int	oprf_finalize(const uint8_t *input, size_t len,
	    const uint8_t blind[OPRF_SCALAR_LEN],
	    const uint8_t evaluated[OPRF_ELEMENT_LEN],
	    uint8_t out[OPRF_OUTPUT_LEN]);

#endif
