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

/*
 * Append a record to the chain in the current job; linked to youth unless
 * youth is NULL. Returns the transaction's error.
 */
int	audit_append(struct store_txn *, const uint8_t *youth, int64_t now,
	    const char *actor, const char *action, uint64_t signal_id,
	    uint64_t match_id, const char *outcome);

/* A packed record (len bytes, without its hash): 0, or VIX_E_STORE. */
int	audit_decode(const void *record, size_t len,
	    struct store_audit_record *);

#endif
