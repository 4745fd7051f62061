/*
 * The family match (gezinsmatch): youths whose registrations name a
 * shared parent or guardian form a family, and two organisations with
 * active signals on different youths of one family are told of each
 * other. Kept as an index of (parent, youth, organisation) -> signal id
 * beside the signals, whose records name their parents, so that every
 * ending of a signal (withdrawal, expiry, erasure) takes exactly its
 * entries, and a key rotation moves parents as it moves youths.
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "errors.h"
#include "family.h"
#include "outbox.h"
#include "store.h"
#include "store_backend.h"
#include "store.pb-c.h"
#include "vix.pb-c.h"

struct family_entry {
	uint8_t		youth[PSEUDONYM_LEN];
	uint32_t	org;
	uint64_t	signal_id;
};

/* A parent's entries, as the transaction sees them. */
struct family_list {
	struct store_txn	*t;
	struct family_entry	*v;
	size_t			 n;
};

static int
family_collect(void *arg, const uint8_t *youth, uint32_t org,
    uint64_t signal_id)
{
	struct family_list *l = arg;
	struct family_entry *grown;

	if ((grown = reallocarray(l->v, l->n + 1, sizeof(*grown))) == NULL) {
		store_txn_fail(l->t, VIX_E_STORE);
		return 1;
	}
	l->v = grown;
	memcpy(l->v[l->n].youth, youth, PSEUDONYM_LEN);
	l->v[l->n].org = org;
	l->v[l->n].signal_id = signal_id;
	l->n++;
	return 0;
}

static void
family_load(struct store_txn *t, const uint8_t *parent, struct family_list *l)
{
	l->t = t;
	l->v = NULL;
	l->n = 0;
	store_txn_backend(t)->family_scan(t, parent, family_collect, l);
}

static int
family_any(void *arg, const uint8_t *youth, uint32_t org, uint64_t signal_id)
{
	(void)youth;
	(void)org;
	(void)signal_id;
	*(int *)arg = 1;
	return 1;
}

int
family_held(struct store_txn *t, const uint8_t *p)
{
	int any = 0;

	store_txn_backend(t)->family_scan(t, p, family_any, &any);
	return any;
}

size_t
family_count(struct store_txn *t, const uint8_t *p)
{
	struct family_list l;
	size_t n;

	family_load(t, p, &l);
	n = l.n;
	free(l.v);
	return n;
}

static int
parent_in(const uint8_t (*set)[PSEUDONYM_LEN], size_t n, const uint8_t *p)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(set[i], p, PSEUDONYM_LEN) == 0)
			return 1;
	return 0;
}

/*
 * Whether org a and org b were already told of each other in this family:
 * a on one youth and b on another, other than youth (the one a registers
 * now, not in the list yet). Once per pair, as a match; again only after
 * one of them left the family and came back.
 */
static int
family_linked(const struct family_list *l, uint32_t a, uint32_t b,
    const uint8_t *youth)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct family_entry *f = &l->v[i];

		if (f->org != a || memcmp(f->youth, youth, PSEUDONYM_LEN) == 0)
			continue;
		for (size_t k = 0; k < l->n; k++)
			if (l->v[k].org == b && memcmp(l->v[k].youth, f->youth,
			    PSEUDONYM_LEN) != 0)
				return 1;
	}
	return 0;
}

/* The signal of entry e as a party: 1, or 0 if it ended (or expired). */
static int
family_party(struct store_txn *t, const struct family_entry *e,
    struct store_party *out)
{
	Vix__Store__V1__Signal *sig;
	int active;

	sig = store_txn_backend(t)->signal_get(t, e->youth, e->org);
	if (sig == NULL)
		return 0;
	active = sig->id == e->signal_id && (store_txn_now(t) == 0 ||
	    sig->expires > store_txn_now(t));
	if (active)
		store_party_fill(out, e->org, sig);
	vix__store__v1__signal__free_unpacked(sig, NULL);
	return active;
}

struct family_told {
	uint32_t	*orgs;
	size_t		 n;
};

static int
family_was_told(const struct family_told *told, uint32_t org)
{
	for (size_t i = 0; i < told->n; i++)
		if (told->orgs[i] == org)
			return 1;
	return 0;
}

/* Tell me and the others newly in a family with it, through parent. */
static void
family_find(struct store_txn *t, const struct store_register_in *in,
    const struct store_party *me, const uint8_t *parent,
    struct family_told *told, struct store_register_out *out)
{
	struct family_list l;
	struct store_party other;
	uint32_t *grown;

	family_load(t, parent, &l);
	for (size_t i = 0; i < l.n && store_txn_error(t) == 0; i++) {
		const struct family_entry *e = &l.v[i];

		if (e->org == me->org || memcmp(e->youth, in->pseudonym,
		    PSEUDONYM_LEN) == 0 || family_was_told(told, e->org) ||
		    family_linked(&l, me->org, e->org, in->pseudonym) ||
		    !family_party(t, e, &other))
			continue;
		if ((grown = reallocarray(told->orgs, told->n + 1,
		    sizeof(*grown))) == NULL) {
			store_txn_fail(t, VIX_E_STORE);
			break;
		}
		told->orgs = grown;
		told->orgs[told->n++] = e->org;
		outbox_notify_family(t, in->orgs, me, &other, in->pseudonym,
		    in->now);
		outbox_notify_family(t, in->orgs, &other, me, e->youth,
		    in->now);
		audit_append(t, in->pseudonym, in->now, in->org->oin,
		    "family_match", me->signal_id, 0, "ok");
		audit_append(t, e->youth, in->now, in->org->oin,
		    "family_match", other.signal_id, 0, "ok");
		out->family += 2;
	}
	free(l.v);
}

void
family_register(struct store_txn *t, const struct store_register_in *in,
    const struct store_party *me, const uint8_t (*old)[PSEUDONYM_LEN],
    size_t nold, struct store_register_out *out)
{
	const struct store_backend *be = store_txn_backend(t);
	struct family_told told = { NULL, 0 };

	for (size_t i = 0; i < nold; i++)
		if (!parent_in(in->parents, in->nparents, old[i]))
			be->family_delete(t, old[i], in->pseudonym, me->org);
	for (size_t i = 0; i < in->nparents && store_txn_error(t) == 0; i++) {
		if (in->family && !parent_in(old, nold, in->parents[i]))
			family_find(t, in, me, in->parents[i], &told, out);
		be->family_put(t, in->parents[i], in->pseudonym, me->org,
		    me->signal_id);
	}
	free(told.orgs);
}

void
family_unlink(struct store_txn *t, const uint8_t *youth, uint32_t org,
    const Vix__Store__V1__Signal *sig)
{
	for (size_t i = 0; i < sig->n_parents; i++)
		if (sig->parents[i].len == PSEUDONYM_LEN)
			store_txn_backend(t)->family_delete(t,
			    sig->parents[i].data, youth, org);
}

size_t
family_parents(const Vix__Store__V1__Signal *sig,
    uint8_t (*out)[PSEUDONYM_LEN])
{
	size_t n = 0;

	for (size_t i = 0; i < sig->n_parents && n < STORE_PARENTS_MAX; i++)
		if (sig->parents[i].len == PSEUDONYM_LEN)
			memcpy(out[n++], sig->parents[i].data, PSEUDONYM_LEN);
	return n;
}

/* ---- moving pseudonyms (a key rotation) -------------------------------- */

/* A youth's signals with what they name, collected before any write. */
struct family_sig {
	uint32_t	org;
	uint64_t	id;
	uint8_t		parents[STORE_PARENTS_MAX][PSEUDONYM_LEN];
	size_t		nparents;
};

struct family_sigs {
	struct store_txn	*t;
	struct family_sig	*v;
	size_t			 n;
};

static int
family_sig_collect(void *arg, uint32_t org, const Vix__Store__V1__Signal *s)
{
	struct family_sigs *fs = arg;
	struct family_sig *grown;

	if (s->n_parents == 0)
		return 0;
	if ((grown = reallocarray(fs->v, fs->n + 1, sizeof(*grown))) == NULL) {
		store_txn_fail(fs->t, VIX_E_STORE);
		return 1;
	}
	fs->v = grown;
	fs->v[fs->n].org = org;
	fs->v[fs->n].id = s->id;
	fs->v[fs->n].nparents = family_parents(s, fs->v[fs->n].parents);
	fs->n++;
	return 0;
}

static void
family_sigs_load(struct store_txn *t, const uint8_t *youth,
    struct family_sigs *fs)
{
	fs->t = t;
	fs->v = NULL;
	fs->n = 0;
	store_txn_backend(t)->youth_signals(t, youth, family_sig_collect, fs);
}

void
family_unlink_youth(struct store_txn *t, const uint8_t *youth)
{
	const struct store_backend *be = store_txn_backend(t);
	struct family_sigs fs;

	family_sigs_load(t, youth, &fs);
	for (size_t i = 0; i < fs.n; i++)
		for (size_t k = 0; k < fs.v[i].nparents; k++)
			be->family_delete(t, fs.v[i].parents[k], youth,
			    fs.v[i].org);
	free(fs.v);
}

/* The signal of e names to instead of from as a parent. */
static void
family_rename_parent(struct store_txn *t, const struct family_entry *e,
    const uint8_t *from, const uint8_t *to)
{
	const struct store_backend *be = store_txn_backend(t);
	Vix__Store__V1__Signal *sig = be->signal_get(t, e->youth, e->org);

	if (sig == NULL)
		return;
	for (size_t i = 0; i < sig->n_parents; i++)
		if (sig->parents[i].len == PSEUDONYM_LEN &&
		    memcmp(sig->parents[i].data, from, PSEUDONYM_LEN) == 0)
			memcpy(sig->parents[i].data, to, PSEUDONYM_LEN);
	be->signal_put(t, e->youth, e->org, sig, 0);
	vix__store__v1__signal__free_unpacked(sig, NULL);
}

/* The signal of e names parent p no more. */
static void
family_drop_parent(struct store_txn *t, const struct family_entry *e,
    const uint8_t *p)
{
	const struct store_backend *be = store_txn_backend(t);
	Vix__Store__V1__Signal *sig = be->signal_get(t, e->youth, e->org);
	ProtobufCBinaryData swap;
	size_t k = 0, all;

	if (sig == NULL)
		return;
	/* The kept first, the dropped behind them: all are freed below. */
	all = sig->n_parents;
	for (size_t i = 0; i < all; i++)
		if (sig->parents[i].len != PSEUDONYM_LEN ||
		    memcmp(sig->parents[i].data, p, PSEUDONYM_LEN) != 0) {
			swap = sig->parents[k];
			sig->parents[k++] = sig->parents[i];
			sig->parents[i] = swap;
		}
	sig->n_parents = k;
	be->signal_put(t, e->youth, e->org, sig, 0);
	sig->n_parents = all;
	vix__store__v1__signal__free_unpacked(sig, NULL);
}

size_t
family_forget_parent(struct store_txn *t, const uint8_t *p)
{
	struct family_list l;
	size_t n;

	family_load(t, p, &l);
	for (size_t i = 0; i < l.n && store_txn_error(t) == 0; i++) {
		store_txn_backend(t)->family_delete(t, p, l.v[i].youth,
		    l.v[i].org);
		family_drop_parent(t, &l.v[i], p);
	}
	n = l.n;
	free(l.v);
	return n;
}

void
family_move(struct store_txn *t, const uint8_t *from, const uint8_t *to)
{
	const struct store_backend *be = store_txn_backend(t);
	struct family_list l;
	struct family_sigs fs;

	/* As a parent: its entries, and the signals that name it. */
	family_load(t, from, &l);
	for (size_t i = 0; i < l.n && store_txn_error(t) == 0; i++) {
		be->family_delete(t, from, l.v[i].youth, l.v[i].org);
		be->family_put(t, to, l.v[i].youth, l.v[i].org,
		    l.v[i].signal_id);
		family_rename_parent(t, &l.v[i], from, to);
	}
	free(l.v);
	/* As a youth: the entries of its signals' parents. */
	family_sigs_load(t, from, &fs);
	for (size_t i = 0; i < fs.n && store_txn_error(t) == 0; i++)
		for (size_t k = 0; k < fs.v[i].nparents; k++) {
			be->family_delete(t, fs.v[i].parents[k], from,
			    fs.v[i].org);
			be->family_put(t, fs.v[i].parents[k], to, fs.v[i].org,
			    fs.v[i].id);
		}
	free(fs.v);
}
