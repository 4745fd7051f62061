/*
 * Who hears what: the notifications the store's operations leave in the
 * organisations' outboxes, built here once for every backend (which only
 * numbers and keeps them), and whose acknowledgements let rows go.
 */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "orgs.h"
#include "outbox.h"
#include "store.h"
#include "store_backend.h"

/*
 * Append n to recipient's outbox with the next seq; fills seq and
 * recipient. p: the youth it is about (NULL: none), for the erasure of
 * its data. The seq is allocated first because it is part of what the
 * recipient receives.
 */
static void
outbox_append(struct store_txn *t, const struct orgs *orgs, uint32_t recipient,
    Vix__V1__Notification *n, const uint8_t *p)
{
	const struct store_backend *be = store_txn_backend(t);
	const struct org *o = orgs_by_sid(orgs, recipient);
	uint8_t small[2048], *buf = small;
	size_t len;

	if (store_txn_error(t))
		return;
	n->seq = be->outbox_seq(t, recipient);
	n->recipient = (char *)(o ? o->id : "");
	len = protobuf_c_message_get_packed_size(&n->base);
	if (len > sizeof(small) && (buf = malloc(len)) == NULL) {
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	protobuf_c_message_pack(&n->base, buf);
	be->outbox_put(t, recipient, n->seq, buf, len, p);
	if (buf != small)
		free(buf);
}

static void
inv_fill(Vix__V1__Involvement *inv, Vix__V1__Contact *c,
    const struct store_party *p, const struct orgs *orgs)
{
	const struct org *o = orgs_by_sid(orgs, p->org);

	vix__v1__involvement__init(inv);
	vix__v1__contact__init(c);
	inv->org_id = (char *)(o ? o->id : "");
	inv->org_name = (char *)(o ? o->name : "(no longer registered)");
	c->name = (char *)p->contact.name;
	c->phone = (char *)p->contact.phone;
	c->email = (char *)p->contact.email;
	inv->contact = c;
	inv->since = p->since;
}

/*
 * Tell parties[to] (every party when to is n) about the change; each
 * sees the others.
 */
static void
notify_some(struct store_txn *t, const struct orgs *orgs,
    const struct outbox_notice *nt, const struct store_party *parties, size_t n,
    size_t to)
{
	Vix__V1__Involvement *inv, **ptrs, subject;
	Vix__V1__Contact *contacts, subject_contact;
	const struct org *co;

	if (store_txn_error(t) || n == 0)
		return;
	inv = calloc(n, sizeof(*inv));
	ptrs = calloc(n, sizeof(*ptrs));
	contacts = calloc(n, sizeof(*contacts));
	if (inv == NULL || ptrs == NULL || contacts == NULL) {
		store_txn_fail(t, VIX_E_STORE);
		goto done;
	}
	if (nt->subject != NULL)
		inv_fill(&subject, &subject_contact, nt->subject, orgs);
	for (size_t r = 0; r < n; r++) {
		Vix__V1__Notification m = VIX__V1__NOTIFICATION__INIT;
		size_t k = 0;

		if (to != n && r != to)
			continue;
		for (size_t i = 0; i < n; i++)
			if (i != r) {
				inv_fill(&inv[k], &contacts[k], &parties[i],
				    orgs);
				ptrs[k] = &inv[k];
				k++;
			}
		m.type = nt->type;
		m.signal_id = parties[r].signal_id;
		m.client_ref = (char *)parties[r].client_ref;
		m.n_others = k;
		m.others = ptrs;
		m.subject = nt->subject != NULL ? &subject : NULL;
		m.time = nt->now;
		m.reminder = nt->reminder;
		m.escalates_at = nt->escalates_at;
		if (nt->match != NULL) {
			co = orgs_by_sid(orgs, nt->match->coordinator);
			m.match_id = nt->match->id;
			m.coordinator = (char *)(co ? co->id : "");
			m.coordinator_name = (char *)(co ? co->name : "");
			m.coordinated = nt->match->coordinated;
		}
		outbox_append(t, orgs, parties[r].org, &m, nt->youth);
	}
done:
	free(inv);
	free(ptrs);
	free(contacts);
}

/* Tell each of parties[0..n) about the change; each sees the others. */
void
outbox_notify_parties(struct store_txn *t, const struct orgs *orgs,
    const struct outbox_notice *nt, const struct store_party *parties, size_t n)
{
	notify_some(t, orgs, nt, parties, n, n);
}

void
outbox_notify_coordinator(struct store_txn *t, const struct orgs *orgs,
    const struct outbox_notice *nt, const struct store_party *parties, size_t n)
{
	size_t to = n;

	for (size_t i = 0; nt->match != NULL && i < n; i++)
		if (parties[i].org == nt->match->coordinator)
			to = i;
	notify_some(t, orgs, nt, parties, n, to);
}

/* me followed by the others, in one array (freed by the caller). */
struct store_party *
outbox_parties_all(struct store_txn *t, const struct store_party *me,
    const struct store_view *v, size_t *n)
{
	struct store_party *all = calloc(v->n_others + 1, sizeof(*all));

	*n = 0;
	if (all == NULL) {
		store_txn_fail(t, VIX_E_STORE);
		return NULL;
	}
	if (me != NULL)
		all[(*n)++] = *me;
	memcpy(all + *n, v->others, v->n_others * sizeof(*all));
	*n += v->n_others;
	return all;
}


void
outbox_notify_escalation(struct store_txn *t, const struct orgs *orgs,
    const uint8_t *p, const struct store_match *m, uint32_t recipient,
    const struct store_view *all, const char *muni, int64_t now)
{
	outbox_notify_relocation(t, orgs, p, m, recipient, all,
	    VIX__V1__NOTIFICATION__TYPE__ESCALATION, muni, NULL, now);
}

void
outbox_notify_relocation(struct store_txn *t, const struct orgs *orgs,
    const uint8_t *p, const struct store_match *m, uint32_t recipient,
    const struct store_view *all, Vix__V1__Notification__Type type,
    const char *muni, const char *from, int64_t now)
{
	Vix__V1__Notification n = VIX__V1__NOTIFICATION__INIT;
	size_t k = all->n_others;
	Vix__V1__Involvement *inv = calloc(k + 1, sizeof(*inv));
	Vix__V1__Involvement **ptrs = calloc(k + 1, sizeof(*ptrs));
	Vix__V1__Contact *contacts = calloc(k + 1, sizeof(*contacts));
	const struct org *co = orgs_by_sid(orgs, m->coordinator);

	if (inv == NULL || ptrs == NULL || contacts == NULL) {
		store_txn_fail(t, VIX_E_STORE);
		goto done;
	}
	for (size_t i = 0; i < k; i++) {
		inv_fill(&inv[i], &contacts[i], &all->others[i], orgs);
		ptrs[i] = &inv[i];
	}
	n.type = type;
	n.match_id = m->id;
	n.others = ptrs;
	n.n_others = k;
	n.coordinator = (char *)(co ? co->id : "");
	n.coordinator_name = (char *)(co ? co->name : "");
	n.coordinated = m->coordinated;
	n.municipality = (char *)(muni ? muni : "");
	n.previous_municipality = (char *)(from ? from : "");
	if (type == VIX__V1__NOTIFICATION__TYPE__ESCALATION)
		n.escalation_round = (uint32_t)m->escalated;
	n.time = now;
	outbox_append(t, orgs, recipient, &n, p);
done:
	free(inv);
	free(ptrs);
	free(contacts);
}

void
outbox_notify_family(struct store_txn *t, const struct orgs *orgs,
    const struct store_party *to, const struct store_party *other,
    const uint8_t *p, int64_t now)
{
	Vix__V1__Notification n = VIX__V1__NOTIFICATION__INIT;
	Vix__V1__Involvement inv, *ptrs[1] = { &inv };
	Vix__V1__Contact contact;

	inv_fill(&inv, &contact, other, orgs);
	n.type = VIX__V1__NOTIFICATION__TYPE__FAMILY_MATCH;
	n.signal_id = to->signal_id;
	n.client_ref = (char *)to->client_ref;
	n.others = ptrs;
	n.n_others = 1;
	n.time = now;
	outbox_append(t, orgs, to->org, &n, p);
}

void
outbox_notify_removed(struct store_txn *t, const struct orgs *orgs, uint32_t org,
    uint64_t signal_id, uint64_t match_id, int64_t now)
{
	Vix__V1__Notification n = VIX__V1__NOTIFICATION__INIT;

	n.type = VIX__V1__NOTIFICATION__TYPE__SIGNAL_REMOVED;
	n.signal_id = signal_id;
	n.match_id = match_id;
	n.client_ref = (char *)"";
	n.time = now;
	outbox_append(t, orgs, org, &n, NULL);
}


/*
 * Whether consumer's acks count for recipient's outbox: exactly those who
 * may subscribe for it and ack (orgs_may_receive_for: the role subscribe,
 * for itself or by delegation). Nobody else can ack, so nobody else may
 * hold rows back.
 */
int
outbox_consumes(const struct org *consumer, const struct org *recipient)
{
	return orgs_may_receive_for(consumer, recipient);
}
