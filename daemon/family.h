/*
 * The family match: the index of parents named by active signals, kept
 * by the store's domain for every backend (family.c).
 */
#ifndef VIX_FAMILY_H
#define VIX_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store.pb-c.h"

/*
 * The signal of me (its org and signal_id) on in->pseudonym now names
 * in->parents, and named old before (a refresh; nold 0 for a new
 * signal): entries of parents no longer named go, the others are put;
 * with in->family, each newly named parent's family is looked at, and
 * each organisation with an active signal on another youth of it that was
 * not told of me before is told, and I of it (FAMILY_MATCH), audited on
 * both youths. out->family counts the notifications.
 */
void	family_register(struct store_txn *, const struct store_register_in *in,
	    const struct store_party *me, const uint8_t (*old)[PSEUDONYM_LEN],
	    size_t nold, struct store_register_out *out);
/* The entries of org's signal sig on youth go (the signal ended). */
void	family_unlink(struct store_txn *, const uint8_t *youth, uint32_t org,
	    const Vix__Store__V1__Signal *sig);
/* The entries of every signal on youth go (an erasure). */
void	family_unlink_youth(struct store_txn *, const uint8_t *youth);
/* The parents sig names into out (at most STORE_PARENTS_MAX). */
size_t	family_parents(const Vix__Store__V1__Signal *sig,
	    uint8_t (*out)[PSEUDONYM_LEN]);
/* Whether p is a parent in the index. */
int	family_held(struct store_txn *, const uint8_t *p);
/* The entries of parent p: active signals naming p as a parent. */
size_t	family_count(struct store_txn *, const uint8_t *p);
/*
 * Parent p is forgotten (an erasure of the person): its entries go, and
 * the signals that named it name it no longer. Returns how many.
 */
size_t	family_forget_parent(struct store_txn *, const uint8_t *p);
/*
 * Pseudonym from becomes to wherever the family index and the signals'
 * parents name it, as a parent and as a youth; before the backend moves
 * the youth's own records (store_youth_move).
 */
void	family_move(struct store_txn *, const uint8_t *from, const uint8_t *to);

#endif
