/*
 * The policy in force, as this vixd states it and as the store remembers
 * it: its id goes with every signal registered (store.proto Signal.policy)
 * and its text into the store's meta under "policy:<id>", so that a
 * subject report can say which policy applied to each signal.
 */
#ifndef VIX_POLICYREC_H
#define VIX_POLICYREC_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "policy.h"

struct vixd;
struct store_reader;

/* "policy:" and 8 hex digits: the meta name of a policy's text. */
#define POLICYREC_NAME_LEN	16

/*
 * At start, before the writer runs: set v->policy_id from v->cfg, log the
 * rules that differ from the law, and record the policy's text in the
 * store (a failure is logged, not fatal: the signals still carry the id).
 */
void	policyrec_start(struct vixd *v);

/*
 * After a reload changed cur->policy (at_expiry, at_age_limit,
 * archive_retention): set the new id, log what changed and record the
 * text through the writer.
 */
void	policyrec_reloaded(struct vixd *v, uint32_t old_id);

/* The text recorded for id into buf: 0, or NOT_FOUND or another error. */
int	policyrec_lookup(struct store_reader *r, uint32_t id, char *buf,
	    size_t len);

#endif
