/*
 * Blind pseudonyms (docs/pseudonyms.md): the key versions an index with
 * pseudonyms = blind accepts, and how a client's pseudonym becomes the
 * bytes the store keys a youth by.
 *
 * The client sends N = k·HashToGroup(x), a canonical ristretto255 element,
 * with the key version and key id it was made under. The store keys the
 * youth by N with the version's parity in bit 0 of its first byte, a bit
 * that is always clear in a canonical encoding: so every stored pseudonym
 * says which of two key versions it is under, and a rotation from version
 * v to v+1 finds the records still to move by that bit alone.
 *
 * During a rotation the index holds the token Δ = k'·k⁻¹ (it tells nothing
 * about any BSN: it only maps one key's pseudonyms to the other's). A
 * pseudonym under either version is turned into the new one, N' = Δ·N,
 * and the youth may still be stored under the old one, Δ⁻¹·N', until the
 * rotation moves it: the writer looks under both.
 */
#ifndef VIX_BLIND_H
#define VIX_BLIND_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define BLIND_ELEMENT_LEN	32
#define BLIND_KEY_ID_LEN	16
#define BLIND_DELTA_LEN		32

/* The versions accepted now; a value, copied freely. */
struct blind_keys {
	uint64_t	 gen;		/* changes with every change below */
	uint32_t	 version;	/* the version the store is under */
	uint8_t		 id[BLIND_KEY_ID_LEN];
	int		 rotating;	/* moving to to_version */
	uint32_t	 to_version;
	uint8_t		 to_id[BLIND_KEY_ID_LEN];
	uint8_t		 delta[BLIND_DELTA_LEN];	/* k_to · k_from⁻¹ */
	uint8_t		 delta_inv[BLIND_DELTA_LEN];
};

/* The keys shared by the workers (readers) and the writer (which sets). */
struct blind {
	pthread_mutex_t	 lock;
	struct blind_keys keys;
};

void	blind_init(struct blind *, const struct blind_keys *);
void	blind_destroy(struct blind *);
void	blind_get(struct blind *, struct blind_keys *out);
/* Replace the keys; gen is advanced here. */
void	blind_set(struct blind *, const struct blind_keys *);

/*
 * Start a rotation to (to_version, to_id) with the token delta: fills the
 * rotation fields of k (delta_inv computed). 0, or -1 if delta is not an
 * invertible scalar.
 */
int	blind_rotation_start(struct blind_keys *k, uint32_t to_version,
	    const uint8_t to_id[BLIND_KEY_ID_LEN],
	    const uint8_t delta[BLIND_DELTA_LEN]);
/* The rotation is done: the store is under to_version only. */
void	blind_rotation_end(struct blind_keys *k);

/*
 * A client's pseudonym as the store keys it: *p under the newest version
 * accepted, and during a rotation *old, where the youth may still be
 * (*has_old 1). Returns 0; -1 for an element that is not one (INVALID
 * ARGUMENT), -2 for a version or key id the index does not accept (FAILED
 * PRECONDITION), with why naming the field.
 */
int	blind_pseudonym(const struct blind_keys *, const uint8_t *element,
	    size_t len, uint32_t version, const uint8_t *key_id,
	    size_t key_id_len, uint8_t p[BLIND_ELEMENT_LEN],
	    uint8_t old[BLIND_ELEMENT_LEN], int *has_old, char *why,
	    size_t whylen);

/* The stored form of an element under a version (its parity bit set). */
void	blind_stored(const uint8_t element[BLIND_ELEMENT_LEN],
	    uint32_t version, uint8_t out[BLIND_ELEMENT_LEN]);
/* The parity bit pseudonyms under version carry. */
int	blind_parity(uint32_t version);
/*
 * Move a stored pseudonym under the old version to the new one (Δ·N, the
 * new parity). 0, or -1 if it is not a stored element.
 */
int	blind_move(const struct blind_keys *, const uint8_t old[BLIND_ELEMENT_LEN],
	    uint8_t out[BLIND_ELEMENT_LEN]);

/*
 * The keys as the store's meta keeps them, one line of text:
 * "1:<id>" or "1:<id> 2:<id> <delta>" (hex) during a rotation. parse
 * returns 0, or -1 for text that is not one.
 */
void	blind_format(const struct blind_keys *, char *out, size_t len);
int	blind_parse(const char *text, struct blind_keys *);

/* Hex of a key id, for messages; out holds 2*BLIND_KEY_ID_LEN+1. */
void	blind_id_hex(const uint8_t id[BLIND_KEY_ID_LEN], char *out);

#endif
