/*
 * Audit records and the hash chain over them, on any storage backend:
 * each record is chained to the one before it by SHA-256(previous hash .
 * record), so that a changed, removed or reordered record shows.
 */
#ifndef VIX_AUDIT_H
#define VIX_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_backend.h"

/*
 * Append a record to the chain in the current job; linked to youth unless
 * youth is NULL. Returns the transaction's error.
 */
int	audit_append(struct store_txn *, const uint8_t *youth, int64_t now,
	    const char *actor, const char *action, uint64_t signal_id,
	    uint64_t match_id, const char *outcome);

/*
 * Following the hash chains record by record, in seq order: the hash of
 * the record last followed, and the seq the next one must have.
 */
struct audit_chain {
	uint8_t		hash[STORE_HASH_LEN];
	uint64_t	expect;
};

#define AUDIT_CHAIN_INIT	{ .expect = 1 }

/*
 * Follow c to record seq (len bytes, packed): the next of its chain, or
 * the first of a later chain (which starts from a zero hash). 0 and c
 * holds its hash; -1 if seq is not the next, the record is empty, or its
 * hash differs from given (unless NULL: the backend keeps none for it).
 */
int	audit_chain_follow(struct audit_chain *c, uint64_t seq,
	    const void *record, size_t len, const uint8_t *given);

/* A packed record (len bytes, without its hash): 0, or VIX_E_STORE. */
int	audit_decode(const void *record, size_t len,
	    struct store_audit_record *);

#endif
