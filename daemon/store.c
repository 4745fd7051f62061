/*
 * The store's domain, once for every backend: register, withdraw,
 * involved, coordinate, ack, sweep, erase and the subject report (who
 * joins or leaves a match, who coordinates, archive or delete at expiry,
 * when and to whom a match escalates, which outbox rows may go), and
 * moving a youth to a new pseudonym (a key rotation). Who hears what is
 * in outbox.c, the audit chain in audit.c; the records are kept by a
 * backend (store_backend.h), such as the LMDB one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "errors.h"
#include "family.h"
#include "figures.h"
#include "log.h"
#include "outbox.h"
#include "policy.h"
#include "rules.h"
#include "store.h"
#include "store_backend.h"
#ifdef VIX_HAVE_PG
#include "store_pg.h"
#endif
#include "store.pb-c.h"
#include "vix.pb-c.h"

/* The transaction's error, else err. */
static int
err_or(struct store_txn *t, int err)
{
	return store_txn_error(t) ? store_txn_error(t) : err;
}

/* A monitoring count changes with the write that changes what it counts. */
static void
count_change(struct store_txn *t, enum store_count c, int64_t delta)
{
	store_txn_backend(t)->count_add(t, c, delta);
}

/* ---- records --------------------------------------------------------- */

static void contact_copy(struct store_contact *, const Vix__Store__V1__Signal *);

void
store_party_fill(struct store_party *p, uint32_t org,
    const Vix__Store__V1__Signal *s)
{
	p->org = org;
	p->signal_id = s->id;
	p->since = s->created;
	p->expires = s->expires;
	snprintf(p->client_ref, sizeof(p->client_ref), "%s", s->client_ref);
	snprintf(p->municipality, sizeof(p->municipality), "%s",
	    s->municipality);
	contact_copy(&p->contact, s);
}

static void
contact_copy(struct store_contact *c, const Vix__Store__V1__Signal *s)
{
	snprintf(c->name, sizeof(c->name), "%s", s->contact_name);
	snprintf(c->phone, sizeof(c->phone), "%s", s->contact_phone);
	snprintf(c->email, sizeof(c->email), "%s", s->contact_email);
}

void
store_view_free(struct store_view *v)
{
	free(v->others);
	v->others = NULL;
	v->n_others = 0;
}

/* The active signal of org on youth p (the caller frees it), or NULL. */
static Vix__Store__V1__Signal *
signal_get(struct store_txn *t, const uint8_t *p, uint32_t org)
{
	return store_txn_backend(t)->signal_get(t, p, org);
}

/*
 * Every active signal on a youth, as parties. The one of org `self` (if
 * any) goes to *me; the others to the view.
 */
struct parties {
	struct store_txn	*t;
	uint32_t		 self;
	struct store_party	*me;
	struct store_view	*view;
};

static int
party_one(void *arg, uint32_t org, const Vix__Store__V1__Signal *s)
{
	struct parties *pa = arg;
	struct store_party party, *grown;

	store_party_fill(&party, org, s);
	/* Past its expiry a signal is no longer active, swept or not. */
	if (party.org != pa->self && store_txn_now(pa->t) > 0 &&
	    party.expires <= store_txn_now(pa->t))
		return 0;
	if (party.org == pa->self) {
		if (pa->me != NULL)
			*pa->me = party;
		return 0;
	}
	grown = reallocarray(pa->view->others, pa->view->n_others + 1,
	    sizeof(*grown));
	if (grown == NULL) {
		store_txn_fail(pa->t, VIX_E_STORE);
		return 1;
	}
	pa->view->others = grown;
	pa->view->others[pa->view->n_others++] = party;
	return 0;
}

static void
load_parties(struct store_txn *t, const uint8_t *p, uint32_t self,
    struct store_party *me, struct store_view *view)
{
	struct parties pa = { t, self, me, view };

	store_txn_backend(t)->youth_signals(t, p, party_one, &pa);
}

static const char *youth_municipality(const struct store_view *);

/* The municipality of youth p as the figures count it ("": none). */
static void
youth_muni(struct store_txn *t, const uint8_t *p, char *out, size_t len)
{
	struct store_view all = { 0 };
	const char *m;

	load_parties(t, p, UINT32_MAX, NULL, &all);
	m = youth_municipality(&all);
	snprintf(out, len, "%s", m != NULL ? m : "");
	store_view_free(&all);
}

static unsigned
rank_of(const struct orgs *orgs, uint32_t sid)
{
	const struct org *o = orgs_by_sid(orgs, sid);

	return o ? o->rank : UINT32_MAX;
}

/* Coordinator among me (may be NULL) and the others. */
static uint32_t
choose_coordinator(const struct orgs *orgs, const struct store_party *me,
    const struct store_view *view)
{
	struct match_party *mp = calloc(view->n_others + 1, sizeof(*mp));
	size_t n = 0, i;
	uint32_t org;

	if (mp == NULL)
		return me ? me->org : view->others[0].org;
	if (me != NULL)
		mp[n++] = (struct match_party){ me->org, rank_of(orgs, me->org),
		    me->since, me->signal_id };
	for (i = 0; i < view->n_others; i++) {
		const struct store_party *o = &view->others[i];

		mp[n++] = (struct match_party){ o->org, rank_of(orgs, o->org),
		    o->since, o->signal_id };
	}
	org = mp[match_choose_coordinator(mp, n)].org;
	free(mp);
	return org;
}

static int
match_get(struct store_txn *t, const uint8_t *p, struct store_match *m)
{
	return store_txn_backend(t)->match_get(t, p, m);
}

/* Put the match of youth p, counting it as (un)coordinated. */
static void
match_put(struct store_txn *t, const uint8_t *p, const struct store_match *m)
{
	struct store_match old;
	int was = 1, created = 0;

	if (match_get(t, p, &old))
		was = old.coordinated != 0;
	else {
		count_change(t, STORE_COUNT_MATCHES, 1);
		created = 1;
	}
	if (was != (m->coordinated != 0))
		count_change(t, STORE_COUNT_UNCOORDINATED, was ? 1 : -1);
	store_txn_backend(t)->match_put(t, p, m, created);
}

/* ---- following a match up --------------------------------------------- */

static const struct store_followup followup_none;

static const struct store_followup *
followup_of(const struct store_txn *t)
{
	return t->followup != NULL ? t->followup : &followup_none;
}

/* How many reminder points (below the escalation) a match of age passed. */
static unsigned
followup_points(const struct store_txn *t, int64_t age)
{
	const struct store_followup *f = followup_of(t);
	unsigned k = 0;

	while (k < f->nremind && f->remind_after[k] <= age &&
	    f->remind_after[k] < store_escalate_after(t))
		k++;
	return k;
}

/*
 * When the sweep next looks at match m, not escalated yet, at age (seconds
 * since it was made): at its next reminder point, else at its escalation.
 * Always after age, so that one pass never finds it due again.
 */
static int64_t
followup_next(const struct store_txn *t, const struct store_match *m,
    int64_t age)
{
	const struct store_followup *f = followup_of(t);
	unsigned k = followup_points(t, age);

	if (k < f->nremind && f->remind_after[k] < store_escalate_after(t))
		return m->created + f->remind_after[k];
	return m->created + store_escalate_after(t);
}

/* ---- domain operations ----------------------------------------------- */

/*
 * Whether me, joining the match m, takes over coordination from a
 * coordinator chosen by rank (match_newcomer_coordinates).
 */
static int
join_takes_over(const struct orgs *orgs, const struct store_party *me,
    const struct store_view *v, const struct store_match *m)
{
	struct match_party nc = { me->org, rank_of(orgs, me->org), me->since,
	    me->signal_id };
	struct match_party co = { m->coordinator, rank_of(orgs,
	    m->coordinator), 0, 0 };

	for (size_t i = 0; i < v->n_others; i++)
		if (v->others[i].org == m->coordinator) {
			co.since = v->others[i].since;
			co.signal_id = v->others[i].signal_id;
		}
	return match_newcomer_coordinates(&nc, &co, m->claimed,
	    m->coordinated);
}

/* A new match: its record, its id index and its escalation due time. */
static void
match_create(struct store_txn *t, const uint8_t *p, const struct orgs *orgs,
    const struct store_party *me, const struct store_view *others,
    int64_t now, struct store_match *m)
{
	const struct store_backend *be = store_txn_backend(t);

	memset(m, 0, sizeof(*m));
	m->id = be->id_alloc(t, STORE_ID_MATCH);
	m->created = now;
	m->coordinator = choose_coordinator(orgs, me, others);
	match_put(t, p, m);
	be->due_put(t, STORE_DUE_ESCALATE, followup_next(t, m, 0), m->id);
}

static void
match_delete(struct store_txn *t, const uint8_t *p, const struct store_match *m)
{
	store_txn_backend(t)->match_delete(t, p, m->id);
	count_change(t, STORE_COUNT_MATCHES, -1);
	if (!m->coordinated)
		count_change(t, STORE_COUNT_UNCOORDINATED, -1);
	/* The escalation entry is dropped when the sweep reaches it. */
}

static void
put_signal_record(struct store_txn *t, const struct store_register_in *in,
    uint64_t id, int64_t created, const char *counted_in, int isnew)
{
	const struct store_backend *be = store_txn_backend(t);
	Vix__Store__V1__Signal rec = VIX__STORE__V1__SIGNAL__INIT;
	ProtobufCBinaryData parents[STORE_PARENTS_MAX];

	for (size_t i = 0; i < in->nparents; i++)
		parents[i] = (ProtobufCBinaryData){ PSEUDONYM_LEN,
		    (uint8_t *)in->parents[i] };
	rec.parents = parents;
	rec.n_parents = in->nparents;

	rec.id = id;
	rec.created = created;
	rec.updated = in->now;
	rec.expires = in->expires;
	rec.bound = (uint32_t)in->bound;
	rec.contact_name = (char *)in->contact.name;
	rec.contact_phone = (char *)in->contact.phone;
	rec.contact_email = (char *)in->contact.email;
	rec.client_ref = (char *)in->client_ref;
	rec.municipality = (char *)in->municipality;
	rec.counted_in = (char *)counted_in;
	rec.policy = in->policy;
	be->signal_put(t, in->pseudonym, in->org->sid, &rec, isnew);
	be->due_put(t, STORE_DUE_EXPIRY, in->expires, id);
}

#define SECONDS_PER_DAY	86400

/*
 * Count a new signal of in->org for the UTC day of in->now, in meta
 * "newsig:" . org -> day . count (big-endian u64s): LIMIT when the day's
 * max_new_per_day are used up. Counted with no cap too, so that a cap set
 * during the day applies to that day's signals.
 */
static int
count_new_signal(struct store_txn *t, const struct store_register_in *in)
{
	const struct store_backend *be = store_txn_backend(t);
	uint64_t day = (uint64_t)(in->now / SECONDS_PER_DAY), count = 0;
	uint64_t stored;

	if (be->new_signals_get(t, in->org->sid, &stored, &count) &&
	    stored != day)
		count = 0;
	if (store_txn_error(t))
		return store_txn_error(t);
	if (in->max_new_per_day != 0 && count >= in->max_new_per_day)
		return VIX_E_LIMIT;
	be->new_signals_put(t, in->org->sid, day, count + 1);
	return store_txn_error(t);
}

int
store_register(struct store_txn *t, const struct store_register_in *in,
    struct store_register_out *out)
{
	const struct store_backend *be = store_txn_backend(t);
	Vix__Store__V1__Signal *old;
	struct store_party me;
	struct store_match m;
	int64_t created = in->now;
	struct store_register_in with_old;
	uint8_t old_parents[STORE_PARENTS_MAX][PSEUDONYM_LEN];
	size_t nold = 0;
	const char *muni;
	char counted_in[5] = "";
	int err, takeover = 0;

	memset(out, 0, sizeof(*out));
	store_txn_set_now(t, in->now);
	if ((old = signal_get(t, in->pseudonym, in->org->sid)) != NULL) {
		out->refreshed = 1;
		out->signal_id = old->id;
		created = old->created;
		nold = family_parents(old, old_parents);
		if (in->municipality[0] == '\0')	/* counted when new */
			snprintf(counted_in, sizeof(counted_in), "%s",
			    old->counted_in);
		be->due_delete(t, STORE_DUE_EXPIRY, old->expires, old->id);
		vix__store__v1__signal__free_unpacked(old, NULL);
		/* A refresh that names no parents keeps the signal's. */
		if (in->nparents == 0 && nold > 0) {
			with_old = *in;
			memcpy(with_old.parents, old_parents,
			    sizeof(old_parents));
			with_old.nparents = nold;
			in = &with_old;
		}
	} else {
		if ((err = count_new_signal(t, in)) != 0)
			return err;
		out->signal_id = be->id_alloc(t, STORE_ID_SIGNAL);
		count_change(t, STORE_COUNT_SIGNALS, 1);
		/* Counted below under the youth's, from the others' signals. */
		if (in->municipality[0] == '\0')
			youth_muni(t, in->pseudonym, counted_in,
			    sizeof(counted_in));
	}
	put_signal_record(t, in, out->signal_id, created, counted_in,
	    !out->refreshed);

	load_parties(t, in->pseudonym, in->org->sid, &me, &out->view);
	muni = in->municipality[0] != '\0' ? in->municipality :
	    youth_municipality(&out->view);
	if (!out->refreshed)
		figures_count(t, muni, in->org->type, in->now, FIG_REGISTERED);
	out->change = match_on_register(out->view.n_others, out->refreshed);
	if (out->view.n_others > 0) {
		if (!match_get(t, in->pseudonym, &m)) {
			match_create(t, in->pseudonym, in->orgs, &me,
			    &out->view, in->now, &m);
			figures_count(t, muni, NULL, in->now, FIG_MATCHES);
		}
		else if (out->change == MATCH_JOINED &&
		    (takeover = join_takes_over(in->orgs, &me, &out->view,
		    &m))) {
			m.coordinator = me.org;
			match_put(t, in->pseudonym, &m);
		}
		out->view.has_match = 1;
		out->view.match = m;
	}
	if (out->change == MATCH_CREATED || out->change == MATCH_JOINED) {
		struct outbox_notice nt = { out->change == MATCH_CREATED ?
		    VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED :
		    VIX__V1__NOTIFICATION__TYPE__MATCH_JOINED, &m,
		    out->change == MATCH_JOINED ? &me : NULL, in->now,
		    in->pseudonym, 0, 0 };
		size_t n;
		struct store_party *all = outbox_parties_all(t, &me, &out->view, &n);

		outbox_notify_parties(t, in->orgs, &nt, all, n);
		if (takeover) {
			nt.type =
			    VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED;
			nt.subject = NULL;
			outbox_notify_parties(t, in->orgs, &nt, all, n);
		}
		free(all);
	}
	audit_append(t, in->pseudonym, in->now, in->org->oin, out->refreshed ?
	    "refresh" : "register", out->signal_id, out->view.has_match ?
	    out->view.match.id : 0, "ok");
	if (in->nparents > 0 || nold > 0) {
		family_register(t, in, &me, (const uint8_t (*)[PSEUDONYM_LEN])
		    old_parents, nold, out);
		/* Two notifications a pair of organisations told. */
		for (size_t k = 0; k < out->family / 2; k++)
			figures_count(t, muni, NULL, in->now,
			    FIG_FAMILY_MATCHES);
	}
	if (store_txn_error(t))
		store_view_free(&out->view);
	return store_txn_error(t);
}

/* Find the signal to withdraw: by id (any organisation's) or pseudonym. */
static int
withdraw_locate(struct store_txn *t, const struct store_withdraw_in *in,
    uint8_t *p)
{
	uint32_t org;
	int found;

	if (in->signal_id == 0) {
		memcpy(p, in->pseudonym, PSEUDONYM_LEN);
		return 0;
	}
	found = store_txn_backend(t)->signal_locate(t, in->signal_id, p, &org);
	if (found == -1)
		return store_txn_fail(t, VIX_E_STORE);
	if (found == 0)
		return store_txn_error(t) ? store_txn_error(t) : VIX_E_NOT_FOUND;
	if (org != in->org->sid)
		return VIX_E_PERMISSION;
	return 0;
}

static void
archive_signal(struct store_txn *t, const uint8_t *p, uint32_t org,
    Vix__Store__V1__Signal *sig, int reason, int64_t now)
{
	Vix__Store__V1__Archived rec = VIX__STORE__V1__ARCHIVED__INIT;
	Vix__Store__V1__Signal kept = *sig;

	/* The family links end with the signal: the archive keeps none. */
	kept.n_parents = 0;
	kept.parents = NULL;
	rec.signal = &kept;
	rec.org = org;
	rec.reason = (uint32_t)reason;
	rec.archived = now;
	store_txn_backend(t)->archive_put(t, p, &rec);
}

/* A signal left a youth: tell the others, close the match or hand over. */
static void
match_after_leave(struct store_txn *t, const uint8_t *p,
    const struct store_party *leaver, const struct orgs *orgs, int64_t now,
    struct store_withdraw_out *out)
{
	struct store_view rest = { 0 };
	struct store_match m;
	struct outbox_notice nt = { 0, &m, leaver, now, p, 0, 0 };
	uint32_t before;

	if (!match_get(t, p, &m))
		return;
	out->match_id = m.id;
	load_parties(t, p, UINT32_MAX, NULL, &rest);
	out->change = match_on_remove(rest.n_others);
	if (out->change == MATCH_CLOSED) {
		match_delete(t, p, &m);
		nt.type = VIX__V1__NOTIFICATION__TYPE__MATCH_CLOSED;
		outbox_notify_parties(t, orgs, &nt, rest.others, rest.n_others);
		store_view_free(&rest);
		return;
	}
	before = m.coordinator;
	if (m.coordinator == leaver->org) {
		m.coordinator = choose_coordinator(orgs, NULL, &rest);
		m.claimed = 0;
		match_put(t, p, &m);
	}
	nt.type = VIX__V1__NOTIFICATION__TYPE__MATCH_LEFT;
	outbox_notify_parties(t, orgs, &nt, rest.others, rest.n_others);
	if (m.coordinator != before) {
		nt.type = VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED;
		nt.subject = NULL;
		outbox_notify_parties(t, orgs, &nt, rest.others, rest.n_others);
	}
	store_view_free(&rest);
}

/* The signal record of org on youth p and its index entries go. */
static void
signal_unlink(struct store_txn *t, const uint8_t *p, uint32_t org,
    const Vix__Store__V1__Signal *sig)
{
	const struct store_backend *be = store_txn_backend(t);

	family_unlink(t, p, org, sig);
	be->signal_delete(t, p, org, sig->id);
	count_change(t, STORE_COUNT_SIGNALS, -1);
	be->due_delete(t, STORE_DUE_EXPIRY, sig->expires, sig->id);
}

/*
 * Remove the signal of org on youth p (record sig), archiving it with
 * archive_reason (0: delete), and settle its match. *leaver describes it.
 */
static void
signal_remove(struct store_txn *t, const uint8_t *p, uint32_t org,
    Vix__Store__V1__Signal *sig, int archive_reason, const struct orgs *orgs,
    int64_t now, struct store_party *leaver, struct store_withdraw_out *out)
{
	store_party_fill(leaver, org, sig);
	out->signal_id = sig->id;
	out->created = sig->created;
	signal_unlink(t, p, org, sig);
	if (archive_reason != 0) {
		archive_signal(t, p, org, sig, archive_reason, now);
		out->archived = 1;
	}
	match_after_leave(t, p, leaver, orgs, now, out);
}

int
store_withdraw(struct store_txn *t, const struct store_withdraw_in *in,
    struct store_withdraw_out *out)
{
	Vix__Store__V1__Signal *sig;
	struct store_party leaver;
	uint8_t p[PSEUDONYM_LEN];
	char muni[5];
	int err;

	memset(out, 0, sizeof(*out));
	store_txn_set_now(t, in->now);
	if ((err = withdraw_locate(t, in, p)) != 0)
		return err;
	if ((sig = signal_get(t, p, in->org->sid)) == NULL)
		return err_or(t, VIX_E_NOT_FOUND);
	youth_muni(t, p, muni, sizeof(muni));
	/* None left: where the registration was counted. */
	if (muni[0] == '\0')
		snprintf(muni, sizeof(muni), "%s", sig->counted_in);
	signal_remove(t, p, in->org->sid, sig,
	    in->reason == STORE_WITHDRAW_RISK_RESOLVED ?
	    STORE_ARCHIVE_RISK_RESOLVED : 0, in->orgs, in->now, &leaver, out);
	vix__store__v1__signal__free_unpacked(sig, NULL);
	figures_count(t, muni, in->org->type, in->now, out->archived ?
	    FIG_WITHDRAWN_RISK_RESOLVED : FIG_WITHDRAWN_UNJUSTIFIED);
	audit_append(t, p, in->now, in->org->oin, out->archived ?
	    "withdraw:risk_resolved" : "withdraw:unjustified", out->signal_id,
	    out->match_id, "ok");
	return store_txn_error(t);
}

int
store_involved(struct store_txn *t, const uint8_t *p, const struct org *org,
    int64_t now, uint64_t *signal_id, struct store_view *out)
{
	struct store_party me = { 0 };
	Vix__Store__V1__Signal *sig;

	memset(out, 0, sizeof(*out));
	store_txn_set_now(t, now);
	if ((sig = signal_get(t, p, org->sid)) == NULL)
		return err_or(t, VIX_E_PERMISSION);
	vix__store__v1__signal__free_unpacked(sig, NULL);
	load_parties(t, p, org->sid, &me, out);
	if (me.expires <= now) {	/* expired, not yet swept */
		store_view_free(out);
		return err_or(t, VIX_E_PERMISSION);
	}
	*signal_id = me.signal_id;
	if (out->n_others > 0)
		out->has_match = match_get(t, p, &out->match);
	audit_append(t, p, now, org->oin, "involved", me.signal_id,
	    out->has_match ? out->match.id : 0, "ok");
	if (store_txn_error(t))
		store_view_free(out);
	return store_txn_error(t);
}


/* Organisations with a signal on one youth, at most (orgs.conf's ORGS_MAX). */
#define STORE_RELOCATE_MAX	1024

struct relocation {
	struct store_txn	*t;
	uint32_t		 org[STORE_RELOCATE_MAX];
	Vix__Store__V1__Signal	*sig[STORE_RELOCATE_MAX];
	size_t			 n;
};

static int
relocation_take(void *arg, uint32_t org, const Vix__Store__V1__Signal *s)
{
	struct relocation *r = arg;
	uint8_t buf[4096];
	size_t len = vix__store__v1__signal__get_packed_size(s);

	/* Past its expiry a signal is no longer active, swept or not. */
	if (s->expires <= store_txn_now(r->t))
		return 0;
	if (r->n == STORE_RELOCATE_MAX || len > sizeof(buf)) {
		store_txn_fail(r->t, VIX_E_STORE);
		return 1;
	}
	/* A copy of our own: the backend's record is gone after fn. */
	vix__store__v1__signal__pack(s, buf);
	if ((r->sig[r->n] = vix__store__v1__signal__unpack(NULL, len,
	    buf)) == NULL) {
		store_txn_fail(r->t, VIX_E_STORE);
		return 1;
	}
	r->org[r->n++] = org;
	return 0;
}

/* RELOCATED_AWAY: the match left muni_old's area; no contacts. */
static void
relocated_away(struct store_txn *t, const struct orgs *orgs, const uint8_t *p,
    const struct store_match *m, uint32_t recipient, const char *to,
    const char *from, int64_t now)
{
	struct store_view none = { 0 };

	outbox_notify_relocation(t, orgs, p, m, recipient, &none,
	    VIX__V1__NOTIFICATION__TYPE__RELOCATED_AWAY, to, from, now);
}

int
store_relocate(struct store_txn *t, const struct store_relocate_in *in,
    struct store_relocate_out *out)
{
	const struct store_backend *be = store_txn_backend(t);
	struct relocation r = { .t = t };
	struct store_view all = { 0 };
	const struct org *to_esc, *from_esc;
	struct store_match m;
	char from[5] = "";
	const char *old;
	int mine = 0, has_match;

	memset(out, 0, sizeof(*out));
	store_txn_set_now(t, in->now);
	be->youth_signals(t, in->pseudonym, relocation_take, &r);
	if (store_txn_error(t))
		goto done;
	for (size_t i = 0; i < r.n; i++)
		mine |= in->org != NULL && r.org[i] == in->org->sid;
	if (in->org != NULL && !mine && !in->admin) {
		store_txn_fail(t, VIX_E_PERMISSION);
		goto done;
	}
	out->involved = in->org == NULL || mine;
	if (r.n == 0 && in->org != NULL) {
		/* The role admin's feed: nothing to move, nothing said. */
		audit_append(t, NULL, in->now, in->org->oin, "relocate", 0, 0,
		    "no_signals");
		goto done;
	}
	if (r.n == 0) {
		store_txn_fail(t, VIX_E_NOT_FOUND);
		goto done;
	}
	load_parties(t, in->pseudonym, UINT32_MAX, NULL, &all);
	if ((old = youth_municipality(&all)) != NULL)
		snprintf(from, sizeof(from), "%s", old);
	has_match = match_get(t, in->pseudonym, &m);
	out->match_id = has_match ? m.id : 0;
	out->moved = strcmp(from, in->municipality) != 0;
	out->signals = (unsigned)r.n;
	for (size_t i = 0; i < r.n && out->moved; i++) {
		char *was = r.sig[i]->municipality;

		if (strcmp(was, in->municipality) == 0)
			continue;
		r.sig[i]->municipality = (char *)in->municipality;
		be->signal_put(t, in->pseudonym, r.org[i], r.sig[i], 0);
		r.sig[i]->municipality = was;	/* freed with the record */
	}
	if (out->moved && has_match) {
		/* The view after the move: every party, the new place. */
		for (size_t i = 0; i < all.n_others; i++)
			snprintf(all.others[i].municipality,
			    sizeof(all.others[i].municipality), "%s",
			    in->municipality);
		to_esc = orgs_escalation(in->orgs, in->municipality);
		from_esc = from[0] ? orgs_escalation(in->orgs, from) : NULL;
		if (to_esc != NULL)
			outbox_notify_relocation(t, in->orgs, in->pseudonym, &m,
			    to_esc->sid, &all,
			    VIX__V1__NOTIFICATION__TYPE__RELOCATED,
			    in->municipality, from, in->now);
		if (from_esc != NULL && from_esc != to_esc)
			relocated_away(t, in->orgs, in->pseudonym, &m,
			    from_esc->sid, in->municipality, from, in->now);
	}
	audit_append(t, in->pseudonym, in->now, in->org ? in->org->oin :
	    in->actor, "relocate", 0, out->match_id, out->moved ? "ok" :
	    "unchanged");
done:
	for (size_t i = 0; i < r.n; i++)
		vix__store__v1__signal__free_unpacked(r.sig[i], NULL);
	store_view_free(&all);
	return store_txn_error(t);
}

/* ---- reads ----------------------------------------------------------- */

static void
summary_fill(struct store_txn *t, const uint8_t *p,
    const Vix__Store__V1__Signal *sig, struct store_summary *out)
{
	struct store_match m;

	memset(out, 0, sizeof(*out));
	out->signal_id = sig->id;
	snprintf(out->client_ref, sizeof(out->client_ref), "%s",
	    sig->client_ref);
	out->created = sig->created;
	out->expires = sig->expires;
	out->bound = (int)sig->bound;
	if (match_get(t, p, &m))
		out->match_id = m.id;
}

struct list {
	struct store_txn	*t;
	struct store_summary	*out;
	size_t			 max, *n;
	uint64_t		*next;
};

static int
list_one(void *arg, const uint8_t *p, const Vix__Store__V1__Signal *sig)
{
	struct list *l = arg;

	if (*l->n == l->max) {
		*l->next = l->out[l->max - 1].signal_id;
		return 1;
	}
	summary_fill(l->t, p, sig, &l->out[(*l->n)++]);
	return store_txn_error(l->t) != 0;
}

int
store_list(struct store_reader *r, uint32_t org, uint64_t after,
    struct store_summary *out, size_t max, size_t *n, uint64_t *next)
{
	const struct store_backend *be = store_reader_backend(r);
	struct list l = { NULL, out, max, n, next };
	int err;

	*n = 0;
	*next = 0;
	if ((l.t = be->read_begin(r, &err)) == NULL)
		return err;
	be->org_signals(l.t, org, after, list_one, &l);
	err = store_txn_error(l.t);
	be->read_end(r);
	return err;
}

struct worklist {
	struct store_txn	*t;
	uint32_t		 org;
	int64_t			 now;
	unsigned		 filter;
	size_t			 visit, visited;
	uint64_t		 last;		/* the last signal visited */
	struct store_work	*out;
	size_t			 max, *n;
	uint64_t		*next;
};

static int
work_wanted(const struct worklist *w, const struct store_match *m)
{
	if ((w->filter & STORE_WORK_UNCOORDINATED) && m->coordinated)
		return 0;
	if ((w->filter & STORE_WORK_ESCALATED) && m->escalated == 0)
		return 0;
	return 1;
}

static int
worklist_one(void *arg, const uint8_t *p, const Vix__Store__V1__Signal *sig)
{
	struct worklist *w = arg;
	struct store_work *item;
	struct store_match m;

	if (*w->n == w->max || w->visited == w->visit) {
		*w->next = w->last;
		return 1;
	}
	w->visited++;
	w->last = sig->id;
	/* Need to know: only while its own signal is active. */
	if (sig->expires <= w->now || !match_get(w->t, p, &m) ||
	    !work_wanted(w, &m))
		return store_txn_error(w->t) != 0;
	item = &w->out[(*w->n)++];
	memset(item, 0, sizeof(*item));
	item->signal_id = sig->id;
	snprintf(item->client_ref, sizeof(item->client_ref), "%s",
	    sig->client_ref);
	item->view.has_match = 1;
	item->view.match = m;
	load_parties(w->t, p, w->org, NULL, &item->view);
	return store_txn_error(w->t) != 0;
}

int
store_worklist(struct store_reader *r, uint32_t org, int64_t now,
    uint64_t after, unsigned filter, size_t visit, struct store_work *out,
    size_t max, size_t *n, uint64_t *next)
{
	const struct store_backend *be = store_reader_backend(r);
	struct worklist w = { NULL, org, now, filter, visit, 0, 0, out, max,
	    n, next };
	int err;

	*n = 0;
	*next = 0;
	if (max == 0 || visit == 0)
		return VIX_E_INVALID;
	if ((w.t = be->read_begin(r, &err)) == NULL)
		return err;
	store_txn_set_now(w.t, now);
	be->org_signals(w.t, org, after, worklist_one, &w);
	err = store_txn_error(w.t);
	be->read_end(r);
	if (err != 0) {
		store_work_free(out, *n);
		*n = 0;
		*next = 0;
	}
	return err;
}

void
store_work_free(struct store_work *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_view_free(&items[i].view);
}

/* ---- opening --------------------------------------------------------- */

/*
 * The domain's store: the backend it was opened with and the backend's
 * own state. Transactions and readers are the backend's; the domain finds
 * their table with store_txn_backend and store_reader_backend.
 */
struct store {
	const struct store_backend	*be;
	struct store_impl		*impl;
	struct store_followup		 followup;	/* store_options */
};

/* The backends this vixd was built with; the first is the default. */
static const struct store_backend *const backends[] = {
	&store_backend_lmdb,
#ifdef VIX_HAVE_PG
	&store_backend_postgresql,
#endif
};

#define NBACKENDS	(sizeof(backends) / sizeof(backends[0]))

/* The backend o names (NULL: the default); NULL after adding to d. */
static const struct store_backend *
backend_named(const struct store_options *o, struct diag *d)
{
	char names[128] = "";

	if (o->backend == NULL)
		return backends[0];
	for (size_t i = 0; i < NBACKENDS; i++) {
		if (strcmp(o->backend, backends[i]->name) == 0)
			return backends[i];
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
		    "%s%s", i ? ", " : "", backends[i]->name);
	}
	diag_add(d, NULL, 0, "store %s: unknown storage backend \"%s\" "
	    "(this vixd has: %s)", o->dir ? o->dir : "", o->backend, names);
	return NULL;
}

struct store *
store_open(const struct store_options *o, struct diag *d)
{
	const struct store_backend *be;
	struct store *s;

	if ((be = backend_named(o, d)) == NULL)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		diag_add(d, NULL, 0, "store %s: out of memory", o->dir);
		return NULL;
	}
	s->be = be;
	s->followup = o->followup;
	if ((s->impl = be->open(o, d)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->be->close(s->impl);
	free(s);
}

int
store_check_key(struct store *s, const char *key_id, const char *key_file,
    struct diag *d)
{
	return s->be->check_key(s->impl, key_id, key_file, d);
}

int
store_bind_orgs(struct store *s, struct orgs *orgs, struct diag *d)
{
	return s->be->bind_orgs(s->impl, orgs, d);
}

int
store_backup(struct store *s, const char *path, struct diag *d)
{
	if (s->be->backup == NULL) {
		diag_add(d, NULL, 0, "backup %s: the %s backend has no copy of "
		    "its own; back the database up with its tools", path,
		    s->be->name);
		return -1;
	}
	return s->be->backup(s->impl, path, d);
}

int
store_compact(const struct store_options *o, struct diag *d,
    size_t *before, size_t *after)
{
	const struct store_backend *be;

	if ((be = backend_named(o, d)) == NULL)
		return -1;
	if (be->compact == NULL) {
		diag_add(d, NULL, 0, "store %s: the %s backend is not "
		    "compacted by vixd", o->dir, be->name);
		return -1;
	}
	return be->compact(o, d, before, after);
}

int
store_watch(struct store *s, void (*published)(void *, const uint32_t *,
    size_t, int), void *arg, struct diag *d)
{
	if (s->be->watch == NULL)
		return 0;
	return s->be->watch(s->impl, published, arg, d);
}

void
store_unwatch(struct store *s)
{
	if (s != NULL && s->be->unwatch != NULL)
		s->be->unwatch(s->impl);
}

int
store_may_be_unreachable(struct store *s)
{
	return s->be->reachable != NULL;
}

int
store_reachable(struct store *s)
{
	return s->be->reachable == NULL || s->be->reachable(s->impl);
}

const char *
store_backend_name(const struct store *s)
{
	return s->be->name;
}

/* ---- copying a store to another backend --------------------------------- */

#define IMPORT_BATCH	1000	/* records per write transaction */

struct import {
	struct store			*dst;
	const struct store_backend	*be;
	struct store_txn		*t;
	size_t				 in_txn;
	struct store_import_counts	*n;
	char				 key_id[65];
};

/* The open transaction to put the next record in; NULL after a failure. */
static struct store_txn *
import_txn(struct import *im)
{
	int err;

	if (im->t == NULL && (im->t = store_write_begin(im->dst,
	    &err)) == NULL)
		return NULL;
	return im->t;
}

/* One record put: commit every IMPORT_BATCH. 0 or the error. */
static int
import_done(struct import *im)
{
	int err;

	if ((err = store_txn_error(im->t)) != 0) {
		store_write_abort(im->t);
		im->t = NULL;
		return err;
	}
	if (++im->in_txn < IMPORT_BATCH)
		return 0;
	im->in_txn = 0;
	err = store_write_commit(im->t);
	im->t = NULL;
	return err;
}

#define IMPORT_BEGIN(im, t)						\
	struct import *im = arg;					\
	struct store_txn *t = import_txn(im);				\
	if (t == NULL)							\
		return VIX_E_STORE

static int
import_key_id(void *arg, const char *key_id)
{
	struct import *im = arg;

	snprintf(im->key_id, sizeof(im->key_id), "%s", key_id);
	return 0;
}

static int
import_org(void *arg, const char *oin, uint32_t sid)
{
	IMPORT_BEGIN(im, t);
	im->be->import_org(t, oin, sid);
	im->n->orgs++;
	return import_done(im);
}

static int
import_id_next(void *arg, enum store_id kind, uint64_t next)
{
	IMPORT_BEGIN(im, t);
	im->be->import_id_next(t, kind, next);
	return import_done(im);
}

static int
import_signal(void *arg, const uint8_t *youth, uint32_t org,
    const Vix__Store__V1__Signal *rec)
{
	IMPORT_BEGIN(im, t);
	im->be->signal_put(t, youth, org, rec, 1);
	im->n->signals++;
	return import_done(im);
}

static int
import_match(void *arg, const uint8_t *youth, const struct store_match *m)
{
	IMPORT_BEGIN(im, t);
	im->be->match_put(t, youth, m, 1);
	im->n->matches++;
	return import_done(im);
}

static int
import_archived(void *arg, const uint8_t *youth,
    const Vix__Store__V1__Archived *rec)
{
	IMPORT_BEGIN(im, t);
	im->be->archive_put(t, youth, rec);
	im->n->archived++;
	return import_done(im);
}

static int
import_due(void *arg, enum store_due kind, int64_t when, uint64_t id)
{
	IMPORT_BEGIN(im, t);
	im->be->due_put(t, kind, when, id);
	im->n->due++;
	return import_done(im);
}

static int
import_outbox(void *arg, uint32_t recipient, uint64_t seq, const void *row,
    size_t len, const uint8_t *youth)
{
	IMPORT_BEGIN(im, t);
	if (im->be->import_outbox_put != NULL)
		im->be->import_outbox_put(t, recipient, seq, row, len, youth);
	else
		im->be->outbox_put(t, recipient, seq, row, len, youth);
	im->n->outbox++;
	return import_done(im);
}

static int
import_outbox_next(void *arg, uint32_t recipient, uint64_t next)
{
	IMPORT_BEGIN(im, t);
	im->be->import_outbox_next(t, recipient, next);
	return import_done(im);
}

static int
import_cursor(void *arg, uint32_t consumer, uint32_t recipient, uint64_t seq)
{
	IMPORT_BEGIN(im, t);
	im->be->cursor_put(t, consumer, recipient, seq);
	im->n->cursors++;
	return import_done(im);
}

static int
import_new_signals(void *arg, uint32_t org, uint64_t day, uint64_t count)
{
	IMPORT_BEGIN(im, t);
	im->be->new_signals_put(t, org, day, count);
	return import_done(im);
}

static int
import_audit(void *arg, uint64_t seq, const void *record, size_t len,
    const uint8_t *hash)
{
	IMPORT_BEGIN(im, t);
	im->be->audit_append(t, seq, record, len, hash, NULL);
	im->n->audit++;
	return import_done(im);
}

static int
import_audit_link(void *arg, const uint8_t *youth, uint64_t seq)
{
	IMPORT_BEGIN(im, t);
	im->be->import_audit_link(t, youth, seq);
	im->n->links++;
	return import_done(im);
}

static int
import_family(void *arg, const uint8_t *parent, const uint8_t *youth,
    uint32_t org, uint64_t signal_id)
{
	IMPORT_BEGIN(im, t);
	im->be->family_put(t, parent, youth, org, signal_id);
	im->n->family++;
	return import_done(im);
}

static int
import_count(void *arg, enum store_count c, uint64_t value)
{
	IMPORT_BEGIN(im, t);
	im->be->count_add(t, c, (int64_t)value);
	return import_done(im);
}

static int
import_meta(void *arg, const char *key, const char *value)
{
	IMPORT_BEGIN(im, t);
	im->be->meta_put(t, key, value);
	return import_done(im);
}

static const struct store_sink import_sink = {
	.key_id = import_key_id,
	.org = import_org,
	.id_next = import_id_next,
	.signal = import_signal,
	.match = import_match,
	.archived = import_archived,
	.due = import_due,
	.outbox = import_outbox,
	.outbox_next = import_outbox_next,
	.cursor = import_cursor,
	.new_signals = import_new_signals,
	.audit = import_audit,
	.audit_link = import_audit_link,
	.family = import_family,
	.count = import_count,
	.meta = import_meta,
};

/* Counts and verified audit records of s; 0 or -1 after adding to d. */
static int
import_tally(struct store *s, const char *which, size_t *signals,
    size_t *matches, size_t *archived, uint64_t *audit_good,
    uint64_t *chains, struct diag *d)
{
	struct store_reader *r = store_reader_new(s);
	uint64_t bad = 0;
	int err = VIX_E_STORE;

	if (r != NULL && (err = store_counts(r, signals, matches,
	    archived)) == 0)
		err = store_audit_verify(r, audit_good, chains, &bad);
	store_reader_free(r);
	if (err != 0)
		diag_add(d, NULL, 0, "import: cannot read the %s store (%s)",
		    which, err_name(err));
	else if (bad != 0)
		diag_add(d, NULL, 0, "import: the %s store's audit chain is "
		    "broken at record %" PRIu64, which, bad);
	return err != 0 || bad != 0 ? -1 : 0;
}

int
store_import(struct store *dst, const struct store_options *so,
    const char *actor, struct store_import_counts *n, struct diag *d)
{
	struct import im = { .dst = dst, .be = dst->be, .n = n };
	struct store *src;
	struct store_txn *t;
	int err;

	memset(n, 0, sizeof(*n));
	if (dst->be->import_org == NULL) {
		diag_add(d, NULL, 0, "import: the %s backend cannot take a "
		    "copy", dst->be->name);
		return -1;
	}
	if (import_tally(dst, "target", &n->dst_signals, &n->dst_matches,
	    &n->dst_archived, &n->dst_audit_good, NULL, d) == -1)
		return -1;
	if (n->dst_signals || n->dst_matches || n->dst_archived ||
	    n->dst_audit_good) {
		diag_add(d, NULL, 0, "import: the target store is not empty "
		    "(%zu signals, %zu matches, %zu archived, %" PRIu64
		    " audit records); import only into a new one",
		    n->dst_signals, n->dst_matches, n->dst_archived,
		    n->dst_audit_good);
		return -1;
	}
	if ((src = store_open(so, d)) == NULL)
		return -1;
	if (src->be->export == NULL) {
		diag_add(d, NULL, 0, "import: the %s backend cannot be "
		    "exported", src->be->name);
		store_close(src);
		return -1;
	}
	if (import_tally(src, "source", &n->src_signals, &n->src_matches,
	    &n->src_archived, &n->src_audit_good, NULL, d) == -1) {
		store_close(src);
		return -1;
	}
	err = src->be->export(src->impl, &import_sink, &im);
	store_close(src);
	if (err == 0 && im.t != NULL)
		err = store_write_commit(im.t);
	else if (im.t != NULL)
		store_write_abort(im.t);
	if (err != 0) {
		diag_add(d, NULL, 0, "import: copying failed (%s); the target "
		    "holds part of the store: empty it before trying again",
		    err_name(err));
		return -1;
	}
	if (im.key_id[0] != '\0' && store_check_key(dst, im.key_id,
	    "the source store's", d) == -1)
		return -1;
	/* The import itself is on the record, in the target's trail. */
	if ((t = store_write_begin(dst, &err)) == NULL ||
	    (err = store_audit(t, time(NULL), actor, "import", 0, 0,
	    "ok")) != 0 || (err = store_write_commit(t)) != 0) {
		if (t != NULL && err != 0 && store_txn_error(t) != 0)
			store_write_abort(t);
		diag_add(d, NULL, 0, "import: cannot record the import in the "
		    "audit trail (%s)", err_name(err));
		return -1;
	}
	if (import_tally(dst, "target", &n->dst_signals, &n->dst_matches,
	    &n->dst_archived, &n->dst_audit_good, &n->dst_chains, d) == -1)
		return -1;
	if (n->dst_signals != n->src_signals ||
	    n->dst_matches != n->src_matches ||
	    n->dst_archived != n->src_archived ||
	    n->dst_audit_good != n->src_audit_good + 1) {
		diag_add(d, NULL, 0, "import: the copy differs: signals %zu "
		    "of %zu, matches %zu of %zu, archived %zu of %zu, audit "
		    "records %" PRIu64 " of %" PRIu64 " (and the import's)",
		    n->dst_signals, n->src_signals, n->dst_matches,
		    n->src_matches, n->dst_archived, n->src_archived,
		    n->dst_audit_good, n->src_audit_good);
		return -1;
	}
	return 0;
}

/* ---- transactions and readers ------------------------------------------ */

struct store_txn *
store_write_begin(struct store *s, int *err)
{
	struct store_txn *t = s->be->write_begin(s->impl, err);

	if (t != NULL)
		t->followup = &s->followup;
	return t;
}

int
store_write_commit(struct store_txn *t)
{
	int err = figures_flush(t);

	figures_forget(t);
	if (err != 0) {
		store_txn_backend(t)->write_abort(t);
		return err;
	}
	return store_txn_backend(t)->write_commit(t);
}

void
store_write_abort(struct store_txn *t)
{
	figures_forget(t);
	store_txn_backend(t)->write_abort(t);
}

int
store_job_begin(struct store_txn *t)
{
	t->job_figs = t->nfigs;
	t->professional[0] = '\0';
	return store_txn_backend(t)->job_begin(t);
}

void
store_job_professional(struct store_txn *t, const char *professional)
{
	snprintf(t->professional, sizeof(t->professional), "%s",
	    professional != NULL ? professional : "");
}

int
store_job_end(struct store_txn *t, int err)
{
	err = store_txn_backend(t)->job_end(t, err);
	if (err != 0)
		t->nfigs = t->job_figs;	/* rolled back with the job */
	return err;
}

int
store_over_quota(struct store_txn *t, char *why, size_t len)
{
	return store_txn_backend(t)->over_quota(t, why, len);
}

size_t
store_touched(struct store_txn *t, uint32_t *out, size_t max, int *all)
{
	size_t n = t->ntouched < max ? t->ntouched : max;

	memcpy(out, t->touched, n * sizeof(*out));
	*all = t->touched_all || t->ntouched > max;
	return n;
}

int
store_counts(struct store_reader *r, size_t *signals, size_t *matches,
    size_t *archived)
{
	const struct store_backend *be = r->be;
	struct store_stats st;
	struct store_txn *t;
	int err;

	if ((t = be->read_begin(r, &err)) == NULL)
		return err;
	memset(&st, 0, sizeof(st));
	*signals = (size_t)be->count_get(t, STORE_COUNT_SIGNALS);
	*matches = (size_t)be->count_get(t, STORE_COUNT_MATCHES);
	be->usage(t, &st);
	*archived = st.archived;
	err = store_txn_error(t);
	be->read_end(r);
	return err;
}

/* ---- the common part of transactions ------------------------------------ */

void
store_txn_init(struct store_txn *t, const struct store_backend *be,
    struct store_impl *s, int64_t escalate_after)
{
	memset(t, 0, sizeof(*t));
	t->be = be;
	t->s = s;
	t->escalate_after = escalate_after;
}

void
store_txn_touch(struct store_txn *t, uint32_t recipient)
{
	for (size_t i = 0; i < t->ntouched; i++)
		if (t->touched[i] == recipient)
			return;
	if (t->ntouched == STORE_TOUCHED_MAX)
		t->touched_all = 1;
	else
		t->touched[t->ntouched++] = recipient;
}

void
store_txn_job_mark(struct store_txn *t)
{
	t->err = 0;
	t->now = 0;
	t->job_touched = t->ntouched;
}

void
store_txn_job_undo(struct store_txn *t)
{
	t->ntouched = t->job_touched;
}

const struct store_backend *
store_txn_backend(const struct store_txn *t)
{
	return t->be;
}

const struct store_backend *
store_reader_backend(const struct store_reader *r)
{
	return r->be;
}

void
store_match_from_record(struct store_match *m,
    const Vix__Store__V1__Match *rec)
{
	memset(m, 0, sizeof(*m));
	m->id = rec->id;
	m->created = rec->created;
	m->coordinator = rec->coordinator;
	m->coordinated = rec->coordinated;
	m->escalated = (int)rec->escalation;
	m->claimed = rec->claimed;
	m->reminded = rec->reminded;
}

void
store_match_to_record(Vix__Store__V1__Match *rec, const struct store_match *m)
{
	rec->id = m->id;
	rec->created = m->created;
	rec->coordinator = m->coordinator;
	rec->coordinated = m->coordinated;
	rec->escalation = (uint32_t)m->escalated;
	rec->claimed = m->claimed;
	rec->reminded = m->reminded;
}

int64_t
store_escalate_after(const struct store_txn *t)
{
	return t->escalate_after;
}

int64_t
store_txn_now(const struct store_txn *t)
{
	return t->now;
}

void
store_txn_set_now(struct store_txn *t, int64_t now)
{
	t->now = now;
}

int
store_txn_error(const struct store_txn *t)
{
	return t->err;
}

int
store_txn_fail(struct store_txn *t, int err)
{
	if (t->err == 0)
		t->err = err;
	return t->err;
}

struct store_reader *
store_reader_new(struct store *s)
{
	return s->be->reader_new(s->impl);
}

void
store_reader_free(struct store_reader *r)
{
	if (r != NULL)
		store_reader_backend(r)->reader_free(r);
}

/* Walk the audit chain from the start; *bad is the first record that fails. */
/* Every audit record in order, decoded, for inspection and export. */
/* ---- coordination ---------------------------------------------------- */

static int
match_by_id(struct store_txn *t, uint64_t id, uint8_t *p, struct store_match *m)
{
	if (!store_txn_backend(t)->match_youth(t, id, p))
		return store_txn_error(t) ? store_txn_error(t) :
		    VIX_E_NOT_FOUND;
	return match_get(t, p, m) ? 0 : (err_or(t, VIX_E_NOT_FOUND));
}

/*
 * Apply action; 1 if the match changed as the involved see it, 2 if only
 * the record did (a claim by the coordinator rank chose), 0 if nothing
 * changed, or an error.
 */
static int
coordinate_apply(struct store_match *m, const struct store_party *me,
    const struct store_view *v, const struct orgs *orgs,
    enum store_coordinate_action action)
{
	int changed;

	switch (action) {
	case STORE_COORDINATE_CLAIM:
		if (m->coordinator == me->org && m->claimed)
			return 0;
		changed = m->coordinator != me->org;
		m->coordinator = me->org;
		m->claimed = 1;
		return changed ? 1 : 2;
	case STORE_COORDINATE_RELEASE:
		if (m->coordinator != me->org)
			return VIX_E_PRECONDITION;
		m->coordinator = choose_coordinator(orgs, NULL, v);
		m->claimed = 0;
		return 1;
	case STORE_COORDINATE_DONE:
		if (m->coordinated)
			return 0;
		m->coordinated = 1;
		return 1;
	}
	return VIX_E_INVALID;
}

int
store_coordinate(struct store_txn *t, const struct store_coordinate_in *in,
    struct store_view *out)
{
	uint8_t p[PSEUDONYM_LEN];
	struct store_party me = { 0 };
	struct store_match m;
	int rc;

	memset(out, 0, sizeof(*out));
	store_txn_set_now(t, in->now);
	if ((rc = match_by_id(t, in->match_id, p, &m)) != 0)
		return rc;
	me.org = UINT32_MAX;
	load_parties(t, p, in->org->sid, &me, out);
	if (store_txn_error(t))
		return store_txn_error(t);
	if (me.org != in->org->sid) {
		store_view_free(out);
		return VIX_E_PERMISSION;
	}
	if ((rc = coordinate_apply(&m, &me, out, in->orgs, in->action)) < 0) {
		store_view_free(out);
		return rc;
	}
	if (rc == 2)
		match_put(t, p, &m);
	if (rc == 1) {
		struct outbox_notice nt = {
		    VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED, &m,
		    NULL, in->now, p, 0, 0 };
		size_t n;
		struct store_party *all = outbox_parties_all(t, &me, out, &n);

		if (in->action == STORE_COORDINATE_DONE) {
			char muni[5];

			youth_muni(t, p, muni, sizeof(muni));
			figures_coordinated(t, muni, m.created, in->now);
		}
		match_put(t, p, &m);
		outbox_notify_parties(t, in->orgs, &nt, all, n);
		free(all);
	}
	out->has_match = 1;
	out->match = m;
	audit_append(t, p, in->now, in->org->oin, in->action ==
	    STORE_COORDINATE_CLAIM ? "coordinate:claim" :
	    in->action == STORE_COORDINATE_RELEASE ?
	    "coordinate:release" : "coordinate:done", me.signal_id, m.id,
	    rc != 0 ? "ok" : "unchanged");
	if (store_txn_error(t))
		store_view_free(out);
	return store_txn_error(t);
}

/* ---- subscriptions --------------------------------------------------- */

int
store_ack(struct store_txn *t, uint32_t consumer, uint32_t recipient,
    uint64_t seq, uint64_t *acked)
{
	const struct store_backend *be = store_txn_backend(t);
	uint64_t cur = be->cursor_get(t, consumer, recipient);

	if (seq > be->outbox_last(t, recipient))
		return store_txn_error(t) ? store_txn_error(t) : VIX_E_INVALID;
	*acked = seq > cur ? seq : cur;
	if (seq > cur)
		be->cursor_put(t, consumer, recipient, seq);
	return store_txn_error(t);
}

static int
row_seq(void *arg, uint64_t seq, const void *row, size_t len)
{
	(void)row;
	(void)len;
	*(uint64_t *)arg = seq;
	return 1;
}

int
store_cursor_set(struct store_txn *t, uint32_t consumer, uint32_t recipient,
    uint64_t seq, uint64_t *first)
{
	const struct store_backend *be = store_txn_backend(t);
	uint64_t last = be->outbox_last(t, recipient);

	if (seq > last)
		return store_txn_error(t) ? store_txn_error(t) : VIX_E_INVALID;
	*first = 0;
	be->outbox_scan(t, recipient, seq, 1, row_seq, first);
	be->cursor_put(t, consumer, recipient, seq);
	return store_txn_error(t);
}

int
store_position(struct store_reader *r, uint32_t consumer, uint32_t recipient,
    uint64_t *acked, uint64_t *last)
{
	const struct store_backend *be = store_reader_backend(r);
	struct store_txn *t;
	int err;

	if ((t = be->read_begin(r, &err)) == NULL)
		return err;
	*acked = be->cursor_get(t, consumer, recipient);
	*last = be->outbox_last(t, recipient);
	err = store_txn_error(t);
	be->read_end(r);
	return err;
}

int
store_outbox_read(struct store_reader *r, uint32_t recipient, uint64_t after,
    size_t max, int (*fn)(void *, uint64_t, const void *, size_t), void *arg)
{
	const struct store_backend *be = store_reader_backend(r);
	struct store_txn *t;
	int err;

	if ((t = be->read_begin(r, &err)) == NULL)
		return err;
	be->outbox_scan(t, recipient, after, max, fn, arg);
	be->read_end(r);
	return 0;
}

/* ---- sweeps ---------------------------------------------------------- */

static void
expire_one(struct store_txn *t, const struct store_sweep_in *in, uint64_t id,
    struct store_sweep_out *so)
{
	const struct orgs *orgs = in->orgs;
	int64_t now = in->now;
	Vix__Store__V1__Signal *sig;
	struct store_withdraw_out out = { 0 };
	struct store_party owner;
	uint8_t p[PSEUDONYM_LEN];
	struct outbox_notice nt = { VIX__V1__NOTIFICATION__TYPE__SIGNAL_EXPIRED,
	    NULL, NULL, now, p, 0, 0 };
	uint32_t org;
	int age, keep;

	if (store_txn_backend(t)->signal_locate(t, id, p, &org) != 1 ||
	    (sig = signal_get(t, p, org)) == NULL)
		return;
	/*
	 * As the policy says; by law (and when in leaves it 0) deleted at the
	 * age limit, archived at the end of the duration.
	 */
	age = sig->bound == EXPIRY_AGE_23;
	keep = age ? in->at_age_limit == POLICY_ARCHIVE :
	    in->at_expiry != POLICY_DELETE;
	signal_remove(t, p, org, sig, !keep ? 0 : age ?
	    STORE_ARCHIVE_AGE_LIMIT : STORE_ARCHIVE_EXPIRED, orgs, now, &owner,
	    &out);
	vix__store__v1__signal__free_unpacked(sig, NULL);
	outbox_notify_parties(t, orgs, &nt, &owner, 1);
	/* The policy may have changed since: say what it decided. */
	audit_append(t, p, now, "vixd", age ? "expire:age_23" :
	    "expire:duration", id, out.match_id, keep ? "archived" : "deleted");
	so->expired++;
}

/*
 * Call one for each item of kind due by now (at most in->max); each goes
 * (one may put the item's next time, always after now). one counts what
 * it did in out.
 */
static void
sweep_due(struct store_txn *t, enum store_due kind,
    const struct store_sweep_in *in, struct store_sweep_out *out,
    void (*one)(struct store_txn *, const struct store_sweep_in *, uint64_t,
    struct store_sweep_out *))
{
	size_t max = in->max;
	const struct store_backend *be = store_txn_backend(t);
	struct store_due_item *items = calloc(max, sizeof(*items));
	size_t n;

	if (items == NULL) {
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	n = be->due_scan(t, kind, in->now, items, max);
	for (size_t i = 0; i < n && store_txn_error(t) == 0; i++) {
		be->due_delete(t, kind, items[i].when, items[i].id);
		one(t, in, items[i].id, out);
	}
	out->more |= n == max;
	free(items);
}

/* The municipality of a youth: the earliest registration that gave one. */
static const char *
youth_municipality(const struct store_view *v)
{
	const struct store_party *best = NULL;

	for (size_t i = 0; i < v->n_others; i++)
		if (v->others[i].municipality[0] != '\0' && (best == NULL ||
		    v->others[i].since < best->since))
			best = &v->others[i];
	return best ? best->municipality : NULL;
}

/*
 * Escalate youth p's match m (again: m->escalated is the rounds before):
 * ESCALATION to the escalation organisation of its municipality, with
 * every party and the round; the next round is due reescalate_after from
 * now while there are rounds left.
 */
static void
escalate_round(struct store_txn *t, const struct orgs *orgs,
    const uint8_t *p, struct store_match *m, int64_t now)
{
	const struct store_followup *f = followup_of(t);
	struct store_view all = { 0 };
	const struct org *esc;
	const char *muni;

	load_parties(t, p, UINT32_MAX, NULL, &all);
	muni = youth_municipality(&all);
	m->escalated++;
	if ((esc = orgs_escalation(orgs, muni)) != NULL)
		outbox_notify_escalation(t, orgs, p, m, esc->sid, &all, muni,
		    now);
	else
		log_warnx("match %llu was not coordinated in time and no "
		    "escalation organisation is configured%s%s",
		    (unsigned long long)m->id, muni ? " for municipality " : "",
		    muni ? muni : "");
	match_put(t, p, m);
	figures_count(t, muni, NULL, now, FIG_ESCALATIONS);
	if ((unsigned)m->escalated <= f->reescalate_max)
		store_txn_backend(t)->due_put(t, STORE_DUE_ESCALATE,
		    now + f->reescalate_after, m->id);
	audit_append(t, p, now, "vixd", m->escalated == 1 ? "escalate" :
	    "reescalate", 0, m->id, esc ? "ok" : "no_escalation_organisation");
	store_view_free(&all);
}

/*
 * At a reminder point of youth p's match m: a REMINDER to its coordinator
 * (to every party if it has none among them) for the last point passed,
 * once per point (points the sweep passed over while vixd was down are
 * not sent one by one); then the match is due at its next point or its
 * escalation.
 */
static void
remind(struct store_txn *t, const struct orgs *orgs, const uint8_t *p,
    struct store_match *m, int64_t now, struct store_sweep_out *out)
{
	unsigned k = followup_points(t, now - m->created);
	struct store_view all = { 0 };

	if (k > m->reminded) {
		struct outbox_notice nt = {
		    VIX__V1__NOTIFICATION__TYPE__REMINDER, m, NULL, now, p, k,
		    m->created + store_escalate_after(t) };

		load_parties(t, p, UINT32_MAX, NULL, &all);
		outbox_notify_coordinator(t, orgs, &nt, all.others,
		    all.n_others);
		m->reminded = k;
		match_put(t, p, m);
		audit_append(t, p, now, "vixd", "remind", 0, m->id, "ok");
		store_view_free(&all);
		out->reminded++;
	}
	store_txn_backend(t)->due_put(t, STORE_DUE_ESCALATE,
	    followup_next(t, m, now - m->created), m->id);
}

/*
 * A match due for follow-up: nothing if it was closed or marked
 * coordinated meanwhile; else a reminder, its escalation once
 * escalate_after ran out, or its escalation again.
 */
static void
followup_one(struct store_txn *t, const struct store_sweep_in *in,
    uint64_t id, struct store_sweep_out *out)
{
	const struct orgs *orgs = in->orgs;
	int64_t now = in->now;
	uint8_t p[PSEUDONYM_LEN];
	struct store_match m;

	if (!store_txn_backend(t)->match_youth(t, id, p))
		return;		/* closed meanwhile */
	if (!match_get(t, p, &m) || m.coordinated)
		return;
	if (m.escalated > 0) {
		if ((unsigned)m.escalated > followup_of(t)->reescalate_max)
			return;	/* rounds used up (or fewer configured now) */
		escalate_round(t, orgs, p, &m, now);
		out->reescalated++;
	} else if (now - m.created >= store_escalate_after(t)) {
		escalate_round(t, orgs, p, &m, now);
		out->escalated++;
	} else
		remind(t, orgs, p, &m, now, out);
}

/* The cursor of recipient's slowest consumer (0: none, or none acked). */
static uint64_t
slowest_cursor(struct store_txn *t, const struct orgs *orgs,
    const struct org *r)
{
	const struct store_backend *be = store_txn_backend(t);
	uint64_t min = UINT64_MAX;

	/*
	 * With a webhook the outbox is kept until the webhook took it, and
	 * for the recipient's own push; a subscription of its own (vix
	 * listen, once in a while) sees what is still there.
	 */
	if (r->webhook != NULL)
		min = be->cursor_get(t, STORE_WEBHOOK_CONSUMER, r->sid);
	for (size_t i = 0; i < orgs->n; i++)
		if (outbox_consumes(&orgs->v[i], r) && (r->webhook == NULL ||
		    &orgs->v[i] != r || r->push[0] != '\0')) {
			uint64_t c = be->cursor_get(t, orgs->v[i].sid, r->sid);

			min = c < min ? c : min;
		}
	return min == UINT64_MAX ? 0 : min;
}

struct prune {
	uint64_t	 min;		/* acked by every consumer up to here */
	int64_t		 cutoff;	/* unacked rows older than this go */
	uint64_t	*doomed;
	size_t		 n;
	size_t		*acked, *expired;
};

static int
prune_one(void *arg, uint64_t seq, const void *row, size_t len)
{
	struct prune *pr = arg;

	if (seq > pr->min) {
		Vix__V1__Notification *msg = vix__v1__notification__unpack(NULL,
		    len, row);
		int old = msg != NULL && msg->time < pr->cutoff;

		vix__v1__notification__free_unpacked(msg, NULL);
		if (!old)
			return 1;
		(*pr->expired)++;
	} else
		(*pr->acked)++;
	pr->doomed[pr->n++] = seq;
	return 0;
}

/*
 * Recipient's rows that every consumer acked go, and unacked ones older
 * than cutoff (from the oldest on, up to the first younger one): at most
 * *budget, which is lowered by what went.
 */
static void
prune_outbox(struct store_txn *t, const struct orgs *orgs,
    const struct org *r, int64_t cutoff, size_t *budget, size_t *acked,
    size_t *expired)
{
	const struct store_backend *be = store_txn_backend(t);
	struct prune pr = { slowest_cursor(t, orgs, r), cutoff, NULL, 0,
	    acked, expired };

	if (store_txn_error(t) || *budget == 0)
		return;
	if ((pr.doomed = calloc(*budget, sizeof(*pr.doomed))) == NULL) {
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	be->outbox_scan(t, r->sid, 0, *budget, prune_one, &pr);
	for (size_t i = 0; i < pr.n; i++)
		be->outbox_delete(t, r->sid, pr.doomed[i]);
	*budget -= pr.n;
	free(pr.doomed);
}

int
store_sweep(struct store_txn *t, const struct store_sweep_in *in,
    struct store_sweep_out *out)
{
	size_t budget = in->max;

	memset(out, 0, sizeof(*out));
	store_txn_set_now(t, in->now);
	/* Several vixd on one database: one sweeps at a time, the others
	   find nothing left to do at their next tick. */
	if (store_txn_backend(t)->exclusive != NULL &&
	    !store_txn_backend(t)->exclusive(t, "sweep"))
		return store_txn_error(t);
	sweep_due(t, STORE_DUE_EXPIRY, in, out, expire_one);
	sweep_due(t, STORE_DUE_ESCALATE, in, out, followup_one);
	out->purged = store_txn_backend(t)->archive_purge(t,
	    in->now - in->archive_secs, in->max, &out->more);
	for (size_t i = 0; i < in->orgs->n && budget > 0 && store_txn_error(t) == 0; i++)
		prune_outbox(t, in->orgs, &in->orgs->v[i],
		    in->now - in->outbox_retention, &budget, &out->pruned,
		    &out->pruned_unacked);
	out->more |= budget == 0;
	if (out->purged > 0 || out->pruned_unacked > 0) {
		char what[64];

		snprintf(what, sizeof(what), "archive:%zu outbox_unacked:%zu",
		    out->purged, out->pruned_unacked);
		store_audit(t, in->now, "vixd", "purge", 0, 0, what);
	}
	return store_txn_error(t);
}

/* ---- statistics ------------------------------------------------------ */

static int
row_time(void *arg, uint64_t seq, const void *row, size_t len)
{
	Vix__V1__Notification *n = vix__v1__notification__unpack(NULL, len,
	    row);

	*(int64_t *)arg = n != NULL ? n->time : 0;
	vix__v1__notification__free_unpacked(n, NULL);
	return 1;
}

/*
 * Pending for recipient: rows after the slowest consumer's cursor, from
 * the outbox's last seq and the consumers' cursors (both written by the
 * transactions that append and ack), and the one row after that cursor
 * for its age: no walk of the outbox.
 */
static void
stats_pending(struct store_txn *t, const struct orgs *orgs,
    const struct org *rec, int64_t now, struct store_pending *p)
{
	const struct store_backend *be = store_txn_backend(t);
	uint64_t min = slowest_cursor(t, orgs, rec);
	uint64_t last = be->outbox_last(t, rec->sid);
	int64_t time = 0;

	p->org = rec;
	p->pending = last > min ? last - min : 0;
	p->oldest_age = 0;
	/* The oldest row after it: an erasure may have left gaps. */
	if (p->pending > 0) {
		be->outbox_scan(t, rec->sid, min, 1, row_time, &time);
		if (time != 0 && now > time)
			p->oldest_age = now - time;
	}
}

int
store_stats(struct store_reader *r, const struct orgs *orgs, int64_t now,
    struct store_stats *out)
{
	const struct store_backend *be = store_reader_backend(r);
	struct store_txn *t;
	int err;

	memset(out, 0, sizeof(*out));
	if ((t = be->read_begin(r, &err)) == NULL)
		return err;
	out->signals = (size_t)be->count_get(t, STORE_COUNT_SIGNALS);
	out->matches = (size_t)be->count_get(t, STORE_COUNT_MATCHES);
	out->matches_uncoordinated = (size_t)be->count_get(t,
	    STORE_COUNT_UNCOORDINATED);
	be->usage(t, out);
	if ((out->pending = calloc(orgs->n ? orgs->n : 1,
	    sizeof(*out->pending))) != NULL)
		for (size_t i = 0; i < orgs->n; i++)
			stats_pending(t, orgs, &orgs->v[i], now,
			    &out->pending[out->npending++]);
	be->read_end(r);
	return 0;
}

void
store_stats_free(struct store_stats *s)
{
	free(s->pending);
	s->pending = NULL;
	s->npending = 0;
}

/* ---- administration -------------------------------------------------- */

static void
subject_signal_fill(struct store_subject_signal *o, uint32_t org,
    const Vix__Store__V1__Signal *s)
{
	memset(o, 0, sizeof(*o));
	o->org = org;
	o->signal_id = s->id;
	o->created = s->created;
	o->updated = s->updated;
	o->expires = s->expires;
	o->bound = (int)s->bound;
	o->policy = s->policy;
	o->parents = (unsigned)s->n_parents;
	contact_copy(&o->contact, s);
	snprintf(o->client_ref, sizeof(o->client_ref), "%s", s->client_ref);
	snprintf(o->municipality, sizeof(o->municipality), "%s",
	    s->municipality);
}

static struct store_subject_signal *
subject_grow(struct store_txn *t, struct store_subject *out)
{
	struct store_subject_signal *v = reallocarray(out->signals,
	    out->nsignals + 1, sizeof(*v));

	if (v == NULL) {
		store_txn_fail(t, VIX_E_STORE);
		return NULL;
	}
	out->signals = v;
	return &v[out->nsignals++];
}

/* The youth's signals in db (signals or archive), appended to out. */
struct subject_arg {
	struct store_txn	*t;
	struct store_subject	*out;
};

static int
subject_signal(void *arg, uint32_t org, const Vix__Store__V1__Signal *s)
{
	struct subject_arg *sa = arg;
	struct store_subject_signal *o;

	if ((o = subject_grow(sa->t, sa->out)) == NULL)
		return 1;
	subject_signal_fill(o, org, s);
	return 0;
}

static int
subject_archived(void *arg, const Vix__Store__V1__Archived *a)
{
	struct subject_arg *sa = arg;
	struct store_subject_signal *o;

	if (a == NULL || a->signal == NULL ||
	    (o = subject_grow(sa->t, sa->out)) == NULL) {
		store_txn_fail(sa->t, VIX_E_STORE);
		return 1;
	}
	subject_signal_fill(o, a->org, a->signal);
	o->archived = a->archived;
	o->reason = (int)a->reason;
	return 0;
}

/* The records linked to youth p (youth_audit), in order. */
static int
subject_audit_one(void *arg, uint64_t seq)
{
	struct subject_arg *sa = arg;
	struct store_audit_record *grown;

	if ((grown = reallocarray(sa->out->audit, sa->out->naudit + 1,
	    sizeof(*grown))) == NULL) {
		store_txn_fail(sa->t, VIX_E_STORE);
		return 1;
	}
	sa->out->audit = grown;
	if (!store_txn_backend(sa->t)->audit_get(sa->t, seq,
	    &sa->out->audit[sa->out->naudit]))
		return store_txn_error(sa->t) != 0;
	sa->out->naudit++;
	return 0;
}

/*
 * The matches the youth's records name other than the open one: closed
 * (a match id is never reused). The last record naming one is the
 * withdrawal, expiry or erasure that closed it.
 */
static void
subject_closed(struct store_txn *t, struct store_subject *out)
{
	struct store_closed_match *grown;
	size_t i, k;

	for (i = 0; i < out->naudit && store_txn_error(t) == 0; i++) {
		const struct store_audit_record *a = &out->audit[i];

		if (a->match_id == 0 || (out->has_match &&
		    a->match_id == out->match.id))
			continue;
		for (k = 0; k < out->nclosed; k++)
			if (out->closed[k].id == a->match_id)
				break;
		if (k == out->nclosed) {
			if ((grown = reallocarray(out->closed, k + 1,
			    sizeof(*grown))) == NULL) {
				store_txn_fail(t, VIX_E_STORE);
				return;
			}
			out->closed = grown;
			grown[k] = (struct store_closed_match){ a->match_id,
			    a->time, a->time };
			out->nclosed++;
		}
		out->closed[k].last = a->time;
	}
}

int
store_subject_report(struct store_reader *r, const uint8_t *p,
    struct store_subject *out)
{
	const struct store_backend *be = store_reader_backend(r);
	struct subject_arg sa = { NULL, out };
	int err;

	memset(out, 0, sizeof(*out));
	if ((sa.t = be->read_begin(r, &err)) == NULL)
		return err;
	be->youth_signals(sa.t, p, subject_signal, &sa);
	be->youth_archive(sa.t, p, subject_archived, &sa);
	out->has_match = match_get(sa.t, p, &out->match);
	out->parent_links = family_count(sa.t, p);
	be->youth_audit(sa.t, p, subject_audit_one, &sa);
	subject_closed(sa.t, out);
	err = store_txn_error(sa.t);
	be->read_end(r);
	if (err != 0)
		store_subject_free(out);
	return err;
}

void
store_subject_free(struct store_subject *s)
{
	free(s->signals);
	free(s->audit);
	free(s->closed);
	memset(s, 0, sizeof(*s));
}

/*
 * Every outbox row about the youth goes, delivered or not: the matches,
 * contacts and references of all its signals, in every organisation's
 * outbox. Sequence numbers are not reused: readers skip the gaps.
 */
static void
erase_outbox(struct store_txn *t, const uint8_t *p, struct store_erase_out *out)
{
	out->withdrawn += store_txn_backend(t)->outbox_erase(t, p);
}

/*
 * Tell the owner its signal was erased: SIGNAL_REMOVED with the signal
 * and match ids only (no reference, no contacts), and not indexed under
 * the youth, whose pseudonym is then nowhere in the store.
 */
/* One active signal of the youth goes, without archive. */
struct erase_sig {
	uint32_t	org;
	uint64_t	id;
	int64_t		expires;
};

struct erase_sigs {
	struct store_txn	*t;
	struct erase_sig	*v;
	size_t			 n;
};

static int
erase_collect(void *arg, uint32_t org, const Vix__Store__V1__Signal *sig)
{
	struct erase_sigs *es = arg;
	struct erase_sig *grown;

	if ((grown = reallocarray(es->v, es->n + 1, sizeof(*grown))) == NULL) {
		store_txn_fail(es->t, VIX_E_STORE);
		return 1;
	}
	es->v = grown;
	es->v[es->n++] = (struct erase_sig){ org, sig->id, sig->expires };
	return 0;
}

/* One active signal of the youth goes, without archive. */
static void
erase_signal(struct store_txn *t, const struct store_erase_in *in,
    const struct erase_sig *sig, uint64_t match_id,
    struct store_erase_out *out)
{
	const struct store_backend *be = store_txn_backend(t);
	uint32_t *grown;

	be->signal_delete(t, in->pseudonym, sig->org, sig->id);
	count_change(t, STORE_COUNT_SIGNALS, -1);
	be->due_delete(t, STORE_DUE_EXPIRY, sig->expires, sig->id);
	outbox_notify_removed(t, in->orgs, sig->org, sig->id, match_id,
	    in->now);
	store_audit(t, in->now, in->actor, in->action, sig->id, match_id,
	    "ok");
	if ((grown = reallocarray(out->orgs, out->norgs + 1,
	    sizeof(*grown))) == NULL) {
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	out->orgs = grown;
	out->orgs[out->norgs++] = sig->org;
	out->removed++;
}

/* An archived signal goes with its archive_time entry (time . key). */
struct erase_arch {
	struct store_txn		*t;
	const struct store_erase_in	*in;
	struct store_erase_out		*out;
};

/* An archived signal went (signal_id 0: its record did not decode). */
static int
erase_archived(void *arg, uint64_t signal_id)
{
	struct erase_arch *ea = arg;

	store_audit(ea->t, ea->in->now, ea->in->actor, ea->in->action,
	    signal_id, 0, "ok:archived");
	ea->out->archived++;
	return store_txn_error(ea->t) != 0;
}

int
store_erase(struct store_txn *t, const struct store_erase_in *in,
    struct store_erase_out *out)
{
	const struct store_backend *be = store_txn_backend(t);
	struct erase_sigs es = { t, NULL, 0 };
	struct erase_arch ea = { t, in, out };
	struct store_match m;
	int has_match;

	memset(out, 0, sizeof(*out));
	store_txn_set_now(t, in->now);
	has_match = match_get(t, in->pseudonym, &m);
	erase_outbox(t, in->pseudonym, out);
	family_unlink_youth(t, in->pseudonym);
	be->youth_signals(t, in->pseudonym, erase_collect, &es);
	for (size_t i = 0; i < es.n && store_txn_error(t) == 0; i++)
		erase_signal(t, in, &es.v[i], has_match ? m.id : 0, out);
	free(es.v);
	if (has_match)
		match_delete(t, in->pseudonym, &m);
	be->archive_erase(t, in->pseudonym, erase_archived, &ea);
	/* The records stay in the chain; their link to the youth goes. */
	be->youth_audit_unlink(t, in->pseudonym);
	/* The person as a parent: others' signals name them no longer. */
	if ((out->parent_links = family_forget_parent(t, in->pseudonym)) > 0)
		store_audit(t, in->now, in->actor, in->action, 0, 0,
		    "ok:parent_links");
	/* And whatever still names the youth (PostgreSQL's lock row). */
	be->youth_move(t, in->pseudonym, NULL);
	if (out->removed == 0 && out->archived == 0 && out->parent_links == 0)
		store_audit(t, in->now, in->actor, in->action, 0, 0, "not_found");
	if (store_txn_error(t)) {
		free(out->orgs);
		out->orgs = NULL;
		out->norgs = 0;
	}
	return store_txn_error(t);
}

/* ---- moving youths to new pseudonyms (a key rotation) ------------------ */

int
store_youth_known(struct store_txn *t, const uint8_t *p)
{
	int held = store_txn_backend(t)->youth_held(t, p) ||
	    family_held(t, p);

	return store_txn_error(t) ? store_txn_error(t) : held;
}

int
store_reader_youth_known(struct store_reader *r, const uint8_t *p)
{
	const struct store_backend *be = store_reader_backend(r);
	struct store_txn *t;
	int err, held;

	if ((t = be->read_begin(r, &err)) == NULL)
		return err;
	held = store_youth_known(t, p);
	be->read_end(r);
	return held;
}

int
store_youth_move(struct store_txn *t, const uint8_t *from, const uint8_t *to,
    size_t *moved)
{
	size_t n = 0;
	int held, taken;

	if (moved != NULL)
		*moved = 0;
	if (memcmp(from, to, PSEUDONYM_LEN) == 0)
		return VIX_E_INVALID;
	/*
	 * Two youths under one pseudonym would be one youth from then on;
	 * a youth moved before (the scan finds it once per table) has
	 * nothing left to move, and only what still names it goes.
	 */
	if ((held = store_youth_known(t, from)) < 0)
		return held;
	if (held && (taken = store_youth_known(t, to)) != 0)
		return taken < 0 ? taken : VIX_E_PRECONDITION;
	if (held)
		family_move(t, from, to);
	n = store_txn_backend(t)->youth_move(t, from, held ? to : NULL);
	if (store_txn_error(t))
		return store_txn_error(t);
	if (moved != NULL)
		*moved = n;
	return 0;
}

/*
 * Youths of cur's table from where it stopped: at most *budget visits,
 * those of parity appended to out while there is room (cur stops before
 * the first that does not fit). Moves cur to the next table at the end of
 * one. 1 when out is full or the budget spent, else 0.
 */
static int
scan_table(struct store_txn *t, struct store_youth_cursor *cur, int parity,
    uint8_t (*out)[PSEUDONYM_LEN], size_t max, size_t *n, size_t *budget,
    uint8_t (*seen)[PSEUDONYM_LEN])
{
	const struct store_backend *be = store_txn_backend(t);
	size_t got = 0, visited = 0, i;
	int end;

	end = be->youth_next(t, cur->table, cur->started ? cur->last : NULL,
	    seen, *budget, &got, &visited);
	if (store_txn_error(t))
		return 1;
	if (visited == 0 && !end)
		return 1;	/* a backend that cannot go on: next call */
	*budget -= visited < *budget ? visited : *budget;
	for (i = 0; i < got; i++) {
		if ((seen[i][0] & 1) == parity) {
			if (*n == max)
				return 1;	/* from here on the next call */
			memcpy(out[(*n)++], seen[i], PSEUDONYM_LEN);
		}
		memcpy(cur->last, seen[i], PSEUDONYM_LEN);
		cur->started = 1;
	}
	if (end) {
		cur->table++;
		cur->started = 0;
		memset(cur->last, 0, sizeof(cur->last));
		cur->done = cur->table >= be->youth_tables;
	}
	return *n == max || *budget == 0;
}

int
store_youth_scan(struct store_txn *t, struct store_youth_cursor *cur,
    int parity, uint8_t (*out)[PSEUDONYM_LEN], size_t max, size_t *n)
{
	size_t budget = STORE_YOUTH_SCAN_VISITS * max;
	uint8_t (*seen)[PSEUDONYM_LEN];

	*n = 0;
	if (max == 0 || max > SIZE_MAX / STORE_YOUTH_SCAN_VISITS ||
	    (parity != 0 && parity != 1))
		return VIX_E_INVALID;
	if (cur->done || cur->table >= store_txn_backend(t)->youth_tables) {
		cur->done = 1;
		return 0;
	}
	if ((seen = calloc(budget, PSEUDONYM_LEN)) == NULL)
		return store_txn_fail(t, VIX_E_STORE);
	while (!cur->done && scan_table(t, cur, parity, out, max, n, &budget,
	    seen) == 0)
		;
	free(seen);
	return store_txn_error(t);
}

/* Kept as bytes between batches: the same on every machine. */
_Static_assert(sizeof(struct store_youth_cursor) == 3 + PSEUDONYM_LEN,
    "store_youth_cursor has padding");

void
store_youth_cursor_text(const struct store_youth_cursor *cur, char *buf,
    size_t len)
{
	const uint8_t *b = (const uint8_t *)cur;
	size_t i;

	for (i = 0; i < sizeof(*cur) && 2 * i + 2 < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", b[i]);
	if (len > 0)
		buf[2 * i < len ? 2 * i : len - 1] = '\0';
}

/* A lower-case hex digit's value, or -1. */
static int
hex_digit(char c)
{
	static const char digits[] = "0123456789abcdef";
	const char *d = c != '\0' ? strchr(digits, c) : NULL;

	return d != NULL ? (int)(d - digits) : -1;
}

int
store_youth_cursor_parse(const char *text, struct store_youth_cursor *cur)
{
	struct store_youth_cursor c;
	uint8_t *b = (uint8_t *)&c;

	if (strlen(text) != 2 * sizeof(c))
		return VIX_E_INVALID;
	for (size_t i = 0; i < sizeof(c); i++) {
		int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return VIX_E_INVALID;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	if (c.started > 1 || c.done > 1)
		return VIX_E_INVALID;
	*cur = c;
	return 0;
}

/* ---- the caller's own small values ------------------------------------- */

static int
meta_key(const char *name, char *key, size_t len)
{
	size_t n = strlen(name);

	if (n == 0 || n > STORE_META_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_:") != n)
		return VIX_E_INVALID;
	snprintf(key, len, "%s%s", STORE_META_PREFIX, name);
	return 0;
}

static int
meta_value_ok(const char *v)
{
	size_t n = 0;

	for (; v[n] != '\0'; n++)
		if ((unsigned char)v[n] < 0x20 || (unsigned char)v[n] > 0x7e)
			return 0;
	return n <= STORE_META_VALUE_MAX;
}

int
store_meta_get(struct store_txn *t, const char *name, char *buf, size_t len)
{
	char key[sizeof(STORE_META_PREFIX) + STORE_META_NAME_MAX];
	int found;

	if (meta_key(name, key, sizeof(key)) != 0 || len == 0)
		return VIX_E_INVALID;
	found = store_txn_backend(t)->meta_get(t, key, buf, len);
	if (store_txn_error(t))
		return store_txn_error(t);
	return found == 1 ? 0 : found == 0 ? VIX_E_NOT_FOUND : VIX_E_INVALID;
}

int
store_reader_meta_get(struct store_reader *r, const char *name, char *buf,
    size_t len)
{
	const struct store_backend *be = store_reader_backend(r);
	struct store_txn *t;
	int err;

	if ((t = be->read_begin(r, &err)) == NULL)
		return err;
	err = store_meta_get(t, name, buf, len);
	be->read_end(r);
	return err;
}

int
store_meta_lock(struct store_txn *t, const char *name)
{
	char key[sizeof(STORE_META_PREFIX) + STORE_META_NAME_MAX];

	if (meta_key(name, key, sizeof(key)) != 0)
		return VIX_E_INVALID;
	if (store_txn_backend(t)->meta_lock != NULL)
		store_txn_backend(t)->meta_lock(t, key);
	return store_txn_error(t);
}

int
store_meta_put(struct store_txn *t, const char *name, const char *value)
{
	char key[sizeof(STORE_META_PREFIX) + STORE_META_NAME_MAX];

	if (meta_key(name, key, sizeof(key)) != 0 ||
	    (value != NULL && !meta_value_ok(value)))
		return VIX_E_INVALID;
	store_txn_backend(t)->meta_put(t, key, value);
	return store_txn_error(t);
}
