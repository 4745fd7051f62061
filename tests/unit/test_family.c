/*
 * The store conformance suite, the family match: youths whose signals name
 * a shared parent, against the backend VIX_TEST_BACKEND names. Who is told
 * (FAMILY_MATCH to both organisations, once per pair), what they are told
 * (the other organisation and its contact, nothing of the other child),
 * and that every ending of a signal, an erasure and a key rotation's move
 * keep the index of parents right.
 *
 * Youths and parents are known here only by pseudonym byte patterns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "errors.h"
#include "figures.h"
#include "orgs.h"
#include "store.h"
#include "store_backend.h"
#include "storefix.h"
#include "support.h"
#include "vix.pb-c.h"

#define MAP_SIZE	STOREFIX_MAP_SIZE
#define T0		STOREFIX_T0
#define YEAR		(365 * 86400)
#define FILL		0xC3		/* of this file's pseudonyms */
#define ROWS_MAX	100
#define FAMILY		VIX__V1__NOTIFICATION__TYPE__FAMILY_MATCH

/* Parents are pseudonyms of numbers from here on, youths below. */
#define PARENT(n)	(1000 + (n))

static const char orgs_conf[] = STOREFIX_ORGS_CONF;

#include "store_tests.h"

/* ---- helpers ----------------------------------------------------------- */

/* o registers youth at now naming the parents (numbers; 0 ends the list). */
static struct store_register_out
reg(const struct org *o, unsigned youth, int64_t now, const unsigned *parents)
{
	struct store_register_out out;
	struct store_register_in in;

	storefix_reg_in(&in, orgs, o, FILL, youth, now);
	in.family = 1;
	for (size_t i = 0; parents != NULL && parents[i] != 0; i++)
		pseudonym(in.parents[in.nparents++], PARENT(parents[i]));
	cr_assert_eq(storefix_register(st, &in, &out), 0);
	store_view_free(&out.view);
	return out;
}

#define PARENTS(...)	((const unsigned []){ __VA_ARGS__, 0 })

/* The FAMILY_MATCH rows of o's outbox, decoded (caller frees). */
struct rows {
	Vix__V1__Notification	*v[ROWS_MAX];
	size_t			 n;
};

static int
collect(void *arg, uint64_t seq, const void *msg, size_t len)
{
	struct rows *r = arg;
	Vix__V1__Notification *m = vix__v1__notification__unpack(NULL, len,
	    msg);

	cr_assert_not_null(m, "outbox row %llu does not decode",
	    (unsigned long long)seq);
	if (m->type == FAMILY && r->n < ROWS_MAX)
		r->v[r->n++] = m;
	else
		vix__v1__notification__free_unpacked(m, NULL);
	return 0;
}

static struct rows
family_rows(const struct org *o)
{
	struct rows r = { .n = 0 };

	cr_assert_eq(store_outbox_read(rd, o->sid, 0, ROWS_MAX, collect, &r),
	    0);
	return r;
}

static void
rows_free(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++)
		vix__v1__notification__free_unpacked(r->v[i], NULL);
	r->n = 0;
}

static size_t
family_count(const struct org *o)
{
	struct rows r = family_rows(o);
	size_t n = r.n;

	rows_free(&r);
	return n;
}

/* Whether o was told of other (a FAMILY_MATCH naming it). */
static int
told_of(const struct org *o, const struct org *other)
{
	struct rows r = family_rows(o);
	int found = 0;

	for (size_t i = 0; i < r.n; i++)
		if (r.v[i]->n_others == 1 &&
		    strcmp(r.v[i]->others[0]->org_id, other->id) == 0)
			found++;
	rows_free(&r);
	return found;
}

/* The number of parents youth's active signal of o names (subject report). */
static unsigned
parents_named(unsigned youth, const struct org *o, int archived)
{
	struct store_subject s;
	uint8_t p[PSEUDONYM_LEN];
	unsigned n = 99;

	pseudonym(p, youth);
	cr_assert_eq(store_subject_report(rd, p, &s), 0);
	for (size_t i = 0; i < s.nsignals; i++)
		if (s.signals[i].org == o->sid &&
		    (s.signals[i].archived != 0) == (archived != 0))
			n = s.signals[i].parents;
	store_subject_free(&s);
	return n;
}

/* Audit records of action linked to youth. */
static size_t
audited(unsigned youth, const char *action)
{
	struct store_subject s;
	uint8_t p[PSEUDONYM_LEN];
	size_t n = 0;

	pseudonym(p, youth);
	cr_assert_eq(store_subject_report(rd, p, &s), 0);
	for (size_t i = 0; i < s.naudit; i++)
		n += strcmp(s.audit[i].action, action) == 0;
	store_subject_free(&s);
	return n;
}

static int
entry_count(void *arg, const uint8_t *youth, uint32_t org, uint64_t id)
{
	(void)youth;
	(void)org;
	(void)id;
	(*(size_t *)arg)++;
	return 0;
}

/* The entries of parent n in the family index, as a reader sees them. */
static size_t
entries(unsigned n)
{
	const struct store_backend *be = store_reader_backend(rd);
	uint8_t p[PSEUDONYM_LEN];
	struct store_txn *t;
	size_t count = 0;
	int err;

	pseudonym(p, PARENT(n));
	cr_assert_not_null(t = be->read_begin(rd, &err));
	be->family_scan(t, p, entry_count, &count);
	cr_assert_eq(store_txn_error(t), 0);
	be->read_end(rd);
	return count;
}

/* ---- who is told what -------------------------------------------------- */

TestSuite(family, .init = setup_started, .fini = teardown);

Test(family, siblings_at_two_organisations_are_told_of_each_other)
{
	struct store_register_out a, b;
	struct rows r;

	a = reg(wijk, 1, T0, PARENTS(1, 2));
	cr_assert_eq(a.family, 0, "nobody else in the family yet");
	b = reg(jz, 2, T0 + 10, PARENTS(2));
	cr_assert_eq(b.family, 2, "both told, once each");

	r = family_rows(wijk);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.v[0]->signal_id, a.signal_id, "wijk's own signal");
	cr_assert_str_eq(r.v[0]->client_ref, "ref-wijk-1");
	cr_assert_eq(r.v[0]->match_id, 0, "no match: another child");
	cr_assert_eq(r.v[0]->n_others, 1);
	cr_assert_str_eq(r.v[0]->others[0]->org_id, "jz");
	cr_assert_str_eq(r.v[0]->others[0]->contact->name, "Contact jz");
	cr_assert_eq(r.v[0]->time, T0 + 10);
	cr_assert_str_empty(r.v[0]->municipality, "nothing of the other child");
	rows_free(&r);

	r = family_rows(jz);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.v[0]->signal_id, b.signal_id);
	cr_assert_str_eq(r.v[0]->client_ref, "ref-jz-2");
	cr_assert_str_eq(r.v[0]->others[0]->org_id, "wijk");
	cr_assert_str_eq(r.v[0]->others[0]->contact->name, "Contact wijk");
	rows_free(&r);
	/* Audited on both children, each in its own subject report. */
	cr_assert_eq(audited(1, "family_match"), 1);
	cr_assert_eq(audited(2, "family_match"), 1);
	cr_assert_gt(storefix_audit_good(rd), 0, "the chain verifies");
}

Test(family, no_shared_parent_no_family)
{
	reg(wijk, 1, T0, PARENTS(1));
	cr_assert_eq(reg(jz, 2, T0, PARENTS(2)).family, 0);
	cr_assert_eq(reg(vt, 3, T0, NULL).family, 0);
	cr_assert_eq(family_count(wijk) + family_count(jz) + family_count(vt),
	    0);
}

/* Family matches counted in the month of T0 in municipality 0344. */
static uint64_t
family_figure(void)
{
	return storefix_month(rd, "0344", T0).count[FIG_FAMILY_MATCHES];
}

Test(family, each_pair_told_counts_once_in_the_figures)
{
	reg(wijk, 1, T0, PARENTS(1, 2));
	cr_assert_eq(family_figure(), 0);
	reg(jz, 2, T0 + 10, PARENTS(1, 2));
	cr_assert_eq(family_figure(), 1, "wijk and jz, though two parents");
	reg(vt, 3, T0 + 20, PARENTS(1));
	cr_assert_eq(family_figure(), 3, "vt with wijk, vt with jz");
	/* Told before: a refresh and a fourth child count nothing. */
	reg(jz, 2, T0 + 30, PARENTS(1, 2));
	reg(wijk, 4, T0 + 40, PARENTS(2));
	cr_assert_eq(family_figure(), 3);
}

Test(family, one_organisation_on_two_siblings_is_not_told)
{
	reg(wijk, 1, T0, PARENTS(1));
	cr_assert_eq(reg(wijk, 2, T0, PARENTS(1)).family, 0);
	cr_assert_eq(family_count(wijk), 0);
}

Test(family, the_same_child_is_a_match_not_a_family)
{
	reg(wijk, 1, T0, PARENTS(1));
	cr_assert_eq(reg(jz, 1, T0, PARENTS(1)).family, 0);
	cr_assert_eq(family_count(wijk) + family_count(jz), 0);
}

Test(family, once_per_pair_of_organisations)
{
	reg(wijk, 1, T0, PARENTS(1, 2));
	reg(jz, 2, T0, PARENTS(1, 2));
	cr_assert_eq(told_of(wijk, jz), 1, "two shared parents: told once");
	/* A third organisation hears of both, and both of it. */
	cr_assert_eq(reg(vt, 3, T0, PARENTS(1)).family, 4);
	cr_assert_eq(told_of(vt, wijk) + told_of(vt, jz), 2);
	cr_assert_eq(told_of(wijk, vt) + told_of(jz, vt), 2);
	/* wijk on a fourth child: it knows of jz and vt already. */
	cr_assert_eq(reg(wijk, 4, T0, PARENTS(2)).family, 0);
	cr_assert_eq(family_count(wijk), 2);
	cr_assert_eq(family_count(jz), 2);
}

Test(family, a_refresh_keeps_or_replaces_the_parents)
{
	reg(wijk, 1, T0, PARENTS(1));
	reg(wijk, 1, T0 + 10, NULL);		/* an older client's refresh */
	cr_assert_eq(parents_named(1, wijk, 0), 1);
	cr_assert_eq(reg(jz, 2, T0 + 20, PARENTS(1)).family, 2,
	    "the refresh kept parent 1");
	/* Replaced: parent 1 is no longer wijk's link to the family. */
	cr_assert_eq(entries(1), 2);
	reg(wijk, 1, T0 + 30, PARENTS(3));
	cr_assert_eq(entries(1), 1);
	cr_assert_eq(entries(3), 1);
	cr_assert_eq(parents_named(1, wijk, 0), 1);
	cr_assert_eq(reg(vt, 3, T0 + 40, PARENTS(1)).family, 2,
	    "vt told of jz only");
	cr_assert_eq(told_of(vt, jz), 1);
	cr_assert_eq(told_of(vt, wijk), 0);
	/* Naming parent 3 afresh found nobody; vt naming it finds wijk. */
	cr_assert_eq(reg(ggd, 5, T0 + 50, PARENTS(3)).family, 2);
	cr_assert_eq(told_of(ggd, wijk), 1);
}

/* ---- endings ------------------------------------------------------------ */

Test(family, a_withdrawn_signal_leaves_the_family)
{
	struct store_withdraw_out wd;
	struct store_withdraw_in in = { .orgs = NULL, .now = T0 + 100,
	    .reason = STORE_WITHDRAW_RISK_RESOLVED };
	struct store_register_out a;

	a = reg(wijk, 1, T0, PARENTS(1));
	reg(jz, 2, T0, PARENTS(1));
	in.org = wijk;
	in.orgs = orgs;
	in.signal_id = a.signal_id;
	cr_assert_eq(storefix_withdraw(st, &in, &wd), 0);
	cr_assert(wd.archived);
	cr_assert_eq(parents_named(1, wijk, 1), 0, "the archive keeps no "
	    "parents");
	cr_assert_eq(entries(1), 1, "jz's entry only");
	cr_assert_eq(reg(vt, 3, T0 + 200, PARENTS(1)).family, 2,
	    "vt told of jz, not of the withdrawn wijk");
	cr_assert_eq(told_of(vt, wijk), 0);
	/* Left and came back: told again. */
	cr_assert_eq(reg(wijk, 1, T0 + 300, PARENTS(1)).family, 4);
	cr_assert_eq(told_of(wijk, jz), 2);
}

Test(family, an_expired_signal_is_not_in_the_family)
{
	reg(jz, 2, T0, PARENTS(1));
	/* A year on jz's signal has expired, swept or not. */
	cr_assert_eq(reg(wijk, 1, T0 + YEAR + 1, PARENTS(1)).family, 0);
	cr_assert_eq(family_count(jz), 0);
}

Test(family, erasing_a_youth_removes_its_parent_links)
{
	size_t removed, withdrawn;
	uint8_t p[PSEUDONYM_LEN];

	reg(wijk, 1, T0, PARENTS(1));
	reg(jz, 2, T0, PARENTS(1));
	pseudonym(p, 2);
	storefix_erase(st, orgs, p, T0 + 50, &removed, &withdrawn);
	cr_assert_eq(removed, 1);
	cr_assert_eq(store_reader_youth_known(rd, p), 0, "the erased youth is "
	    "nowhere in the store");
	cr_assert_eq(entries(1), 1, "wijk's entry only");
	cr_assert_eq(reg(vt, 3, T0 + 60, PARENTS(1)).family, 2,
	    "vt told of wijk only");
	cr_assert_eq(told_of(vt, jz), 0);
	cr_assert_eq(told_of(vt, wijk), 1);
}

Test(family, erasing_a_parent_unlinks_every_signal_naming_them)
{
	size_t removed, withdrawn;
	uint8_t p[PSEUDONYM_LEN];
	struct store_subject s;

	reg(wijk, 1, T0, PARENTS(1, 2));
	reg(jz, 2, T0, PARENTS(1));
	pseudonym(p, PARENT(1));
	cr_assert_eq(store_subject_report(rd, p, &s), 0);
	cr_assert_eq(s.parent_links, 2, "named by two signals");
	store_subject_free(&s);
	storefix_erase(st, orgs, p, T0 + 50, &removed, &withdrawn);
	cr_assert_eq(removed, 0, "the parent has no signal of their own");
	cr_assert_eq(entries(1), 0);
	cr_assert_eq(entries(2), 1, "the other parent stays");
	cr_assert_eq(parents_named(1, wijk, 0), 1);
	cr_assert_eq(parents_named(2, jz, 0), 0);
	cr_assert_eq(store_reader_youth_known(rd, p), 0, "the erased parent "
	    "is nowhere in the store");
	cr_assert_eq(reg(vt, 3, T0 + 60, PARENTS(1)).family, 0,
	    "the family through parent 1 is gone");
	cr_assert_gt(storefix_audit_good(rd), 0);
}

/* ---- a key rotation's move --------------------------------------------- */

Test(family, moving_a_parent_keeps_the_family)
{
	uint8_t from[PSEUDONYM_LEN], to[PSEUDONYM_LEN];
	struct store_register_out a;
	struct store_withdraw_out wd;
	struct store_withdraw_in in = { .now = T0 + 100,
	    .reason = STORE_WITHDRAW_UNJUSTIFIED };
	size_t moved = 0;

	a = reg(wijk, 1, T0, PARENTS(1));
	reg(jz, 2, T0, PARENTS(1));
	pseudonym(from, PARENT(1));
	pseudonym(to, PARENT(9));
	cr_assert_eq(store_reader_youth_known(rd, from), 1, "a parent counts "
	    "as held");
	cr_assert_eq(storefix_move(st, from, to, &moved), 0);
	cr_assert_eq(store_reader_youth_known(rd, from), 0);
	cr_assert_eq(store_reader_youth_known(rd, to), 1);
	cr_assert_eq(entries(1), 0);
	cr_assert_eq(entries(9), 2);
	/* Under its new pseudonym the parent finds the family. */
	cr_assert_eq(reg(vt, 3, T0 + 10, PARENTS(9)).family, 4);
	/* wijk's signal names the new pseudonym: its withdrawal unlinks it. */
	in.org = wijk;
	in.orgs = orgs;
	in.signal_id = a.signal_id;
	cr_assert_eq(storefix_withdraw(st, &in, &wd), 0);
	cr_assert_eq(reg(ggd, 4, T0 + 200, PARENTS(9)).family, 4,
	    "ggd told of jz and vt, not of the withdrawn wijk");
	cr_assert_eq(told_of(ggd, wijk), 0);
}

Test(family, moving_a_child_keeps_its_links)
{
	uint8_t from[PSEUDONYM_LEN], to[PSEUDONYM_LEN];
	struct store_withdraw_out wd;
	struct store_withdraw_in in = { .now = T0 + 100,
	    .reason = STORE_WITHDRAW_UNJUSTIFIED };
	size_t moved = 0;

	reg(wijk, 1, T0, PARENTS(1));
	pseudonym(from, 1);
	pseudonym(to, 11);
	cr_assert_eq(storefix_move(st, from, to, &moved), 0);
	cr_assert_gt(moved, 0);
	cr_assert_eq(reg(jz, 2, T0 + 10, PARENTS(1)).family, 2);
	cr_assert_eq(told_of(jz, wijk), 1);
	/* Withdrawn under its new pseudonym, the link goes with it. */
	in.org = wijk;
	in.orgs = orgs;
	memcpy(in.pseudonym, to, PSEUDONYM_LEN);
	cr_assert_eq(storefix_withdraw(st, &in, &wd), 0);
	cr_assert_eq(reg(vt, 3, T0 + 200, PARENTS(1)).family, 2,
	    "vt told of jz only");
	cr_assert_eq(told_of(vt, wijk), 0);
}
