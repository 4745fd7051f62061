/*
 * Who hears what: notifications built for the parties of a youth and
 * appended to their outboxes in the current job, on any backend.
 */
#ifndef VIX_OUTBOX_H
#define VIX_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "orgs.h"
#include "store.h"
#include "vix.pb-c.h"

/* What to tell the parties of a youth, about which match. */
struct outbox_notice {
	Vix__V1__Notification__Type	 type;
	const struct store_match	*match;		/* may be NULL */
	const struct store_party	*subject;	/* who joined or left */
	int64_t				 now;
	const uint8_t			*youth;		/* pseudonym, for the index */
	uint32_t			 reminder;	/* REMINDER: which point */
	int64_t				 escalates_at;	/* REMINDER: when */
};

/* Tell each of parties[0..n) about the change; each sees the others. */
void	outbox_notify_parties(struct store_txn *, const struct orgs *,
	    const struct outbox_notice *, const struct store_party *parties,
	    size_t n);
/*
 * Tell only the coordinator of nt->match among parties[0..n) (it sees the
 * others); every party if the coordinator is none of them.
 */
void	outbox_notify_coordinator(struct store_txn *, const struct orgs *,
	    const struct outbox_notice *, const struct store_party *parties,
	    size_t n);
/* me (unless NULL) followed by v's others, in one array (caller frees). */
struct store_party *outbox_parties_all(struct store_txn *,
	    const struct store_party *me, const struct store_view *v,
	    size_t *n);
/*
 * Tell recipient (the municipality escalated to) about match m of youth
 * p, with every party of it (all), the municipality named (muni) and the
 * round (m->escalated: 1 the first time).
 */
void	outbox_notify_escalation(struct store_txn *, const struct orgs *,
	    const uint8_t *p, const struct store_match *m, uint32_t recipient,
	    const struct store_view *all, const char *muni, int64_t now);
/*
 * Tell recipient (a municipality's escalation organisation) that the youth
 * of match m moved from `from` to `to`: type RELOCATED with every party of
 * all (to the new place), RELOCATED_AWAY with none (to the old one).
 */
void	outbox_notify_relocation(struct store_txn *, const struct orgs *,
	    const uint8_t *p, const struct store_match *m, uint32_t recipient,
	    const struct store_view *all, Vix__V1__Notification__Type type,
	    const char *to, const char *from, int64_t now);
/*
 * Tell to (its signal on youth p) that other is involved with a sibling
 * or child of the same parent: FAMILY_MATCH with other and its contact,
 * nothing of the other child.
 */
void	outbox_notify_family(struct store_txn *, const struct orgs *,
	    const struct store_party *to, const struct store_party *other,
	    const uint8_t *p, int64_t now);
/* Tell org that its signal (and its place in match_id) was removed. */
void	outbox_notify_removed(struct store_txn *, const struct orgs *,
	    uint32_t org, uint64_t signal_id, uint64_t match_id, int64_t now);
/*
 * Whether consumer's acks count for recipient's outbox (rows after the
 * slowest such consumer are pending and kept).
 */
int	outbox_consumes(const struct org *consumer,
	    const struct org *recipient);

#endif
