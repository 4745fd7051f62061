/*
 * The store conformance suite, part one: opening, organisation ids, the
 * transitions of signals and matches, listing, the transaction wrapper's
 * error paths (a refused job, an abort) and the audit hash chain, against
 * the backend VIX_TEST_BACKEND names (see storefix.h). What only the LMDB
 * backend has (its files, map size and quota, schema migrations, records
 * forged underneath it) is tested in test_store_lmdb.c.
 *
 * Youths are known here only by fixed pseudonym byte patterns; no BSN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "errors.h"
#include "figures.h"
#include "orgs.h"
#include "store.h"
#include "store_backend.h"
#include "storefix.h"
#include "support.h"
#include "vix.pb-c.h"

#define OIN_WIJK	STOREFIX_OIN_WIJK
#define OIN_JZ		STOREFIX_OIN_JZ
#define OIN_VT		STOREFIX_OIN_VT
#define OIN_GGD		STOREFIX_OIN_GGD
#define OIN_HA		"00000009876543210005"

#define MAP_SIZE	STOREFIX_MAP_SIZE
#define T0		STOREFIX_T0
#define YEAR		(365 * 86400)
#define FILL		0xA1		/* of this file's pseudonyms */

#define UNJUSTIFIED	STORE_WITHDRAW_UNJUSTIFIED
#define RISK_RESOLVED	STORE_WITHDRAW_RISK_RESOLVED

static const char orgs_conf[] = STOREFIX_ORGS_CONF;

static const char orgs_conf_more[] =
    "[org huisarts]\n"
    "oin = " OIN_HA "\n"
    "name = Huisartsenpraktijk Test\n"
    "roles = register\n";

#include "store_tests.h"

/* ---- helpers, over the shared fixture --------------------------------- */

static void
reg_in(struct store_register_in *in, const struct org *o, unsigned youth,
    int64_t now)
{
	storefix_reg_in(in, orgs, o, FILL, youth, now);
}

static struct store_txn *
begin(void)
{
	return storefix_begin(st);
}

static void
commit(struct store_txn *t)
{
	storefix_commit(t);
}

/* One registration in a batch of its own, as the writer runs it. */
static int
do_register_in(const struct store_register_in *in,
    struct store_register_out *out)
{
	return storefix_register(st, in, out);
}

static int
do_register(const struct org *o, unsigned youth, int64_t now,
    struct store_register_out *out)
{
	struct store_register_in in;

	reg_in(&in, o, youth, now);
	return do_register_in(&in, out);
}

/* Register and expect success; returns the signal id. */
static uint64_t
must_register(const struct org *o, unsigned youth, int64_t now)
{
	struct store_register_out out;

	cr_assert_eq(do_register(o, youth, now, &out), 0);
	store_view_free(&out.view);
	cr_assert_neq(out.signal_id, 0);
	return out.signal_id;
}

static int
do_withdraw(const struct org *o, uint64_t signal_id, unsigned youth,
    int reason, int64_t now, struct store_withdraw_out *out)
{
	struct store_withdraw_in in = { .org = o, .orgs = orgs, .now = now,
	    .signal_id = signal_id, .reason = reason };

	pseudonym(in.pseudonym, youth);
	return storefix_withdraw(st, &in, out);
}

static int
do_involved(const struct org *o, unsigned youth, int64_t now,
    uint64_t *signal_id, struct store_view *v)
{
	struct store_txn *t = begin();
	uint8_t p[PSEUDONYM_LEN];
	int err;

	pseudonym(p, youth);
	cr_assert_eq(store_job_begin(t), 0);
	err = store_job_end(t, store_involved(t, p, o, now, signal_id, v));
	commit(t);
	return err;
}

static struct storefix_counts
counts(void)
{
	return storefix_counts(rd);
}

static uint64_t
audit_good(void)
{
	return storefix_audit_good(rd);
}

static const struct store_party *
party_of(const struct store_view *v, const struct org *o)
{
	for (size_t i = 0; i < v->n_others; i++)
		if (v->others[i].org == o->sid)
			return &v->others[i];
	return NULL;
}

/* The match on a youth as o sees it (o must have a signal on it). */
static struct store_match
match_seen_by(const struct org *o, unsigned youth)
{
	struct store_view v;
	uint64_t id;

	cr_assert_eq(do_involved(o, youth, T0 + 5000, &id, &v), 0);
	cr_assert(v.has_match);
	store_view_free(&v);
	return v.match;
}

/* ---- opening ----------------------------------------------------------- */

TestSuite(store_open, .init = setup, .fini = teardown);

Test(store_open, reopening_keeps_the_data)
{
	struct store_summary sum[4];
	size_t n;
	uint64_t id, next;

	start(MAP_SIZE, 90);
	id = must_register(wijk, 1, T0);
	stop();

	st = open_store(MAP_SIZE, 90);
	rd = store_reader_new(st);
	cr_assert_eq(store_list(rd, wijk->sid, 0, sum, 4, &n, &next), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(sum[0].signal_id, id);
	cr_assert_str_eq(sum[0].client_ref, "ref-wijk-1");
	cr_assert_eq(sum[0].created, T0);
	cr_assert_eq(sum[0].expires, T0 + YEAR);
	/* The signal counter carries on: no id is handed out twice. */
	cr_assert_gt(must_register(wijk, 2, T0 + 1), id);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_open, organisation_ids_are_stable_across_reopen)
{
	char text[sizeof(orgs_conf_more) + sizeof(orgs_conf) + 1];
	struct orgs *again, *more;
	uint32_t ids[4], ha;

	start(MAP_SIZE, 90);
	ids[0] = wijk->sid;
	ids[1] = jz->sid;
	ids[2] = vt->sid;
	ids[3] = ggd->sid;
	for (int i = 0; i < 4; i++) {
		cr_assert_neq(ids[i], 0);
		for (int j = 0; j < i; j++)
			cr_assert_neq(ids[i], ids[j]);
	}
	stop();

	/* A freshly loaded registry gets the same ids back. */
	st = open_store(MAP_SIZE, 90);
	again = storefix_orgs_load(dir, orgs_conf);
	storefix_bind(st, again);
	cr_assert_eq(orgs_by_oin(again, OIN_WIJK)->sid, ids[0]);
	cr_assert_eq(orgs_by_oin(again, OIN_JZ)->sid, ids[1]);
	cr_assert_eq(orgs_by_oin(again, OIN_VT)->sid, ids[2]);
	cr_assert_eq(orgs_by_oin(again, OIN_GGD)->sid, ids[3]);
	orgs_unref(again);

	/* A new OIN, listed first, gets a new id; the others keep theirs. */
	snprintf(text, sizeof(text), "%s\n%s", orgs_conf_more, orgs_conf);
	more = storefix_orgs_load(dir, text);
	storefix_bind(st, more);
	ha = orgs_by_oin(more, OIN_HA)->sid;
	cr_assert_neq(ha, 0);
	for (int i = 0; i < 4; i++)
		cr_assert_neq(ha, ids[i]);
	cr_assert_eq(orgs_by_oin(more, OIN_WIJK)->sid, ids[0]);
	cr_assert_eq(orgs_by_oin(more, OIN_JZ)->sid, ids[1]);
	cr_assert_eq(orgs_by_oin(more, OIN_VT)->sid, ids[2]);
	cr_assert_eq(orgs_by_oin(more, OIN_GGD)->sid, ids[3]);
	orgs_unref(more);
	store_close(st);

	/* And the new one keeps its id too. */
	st = open_store(MAP_SIZE, 90);
	more = storefix_orgs_load(dir, text);
	storefix_bind(st, more);
	cr_assert_eq(orgs_by_oin(more, OIN_HA)->sid, ha);
	cr_assert_eq(orgs_by_oin(more, OIN_WIJK)->sid, ids[0]);
	orgs_unref(more);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- signals and matches ----------------------------------------------- */

TestSuite(store, .init = setup_started, .fini = teardown);

Test(store, first_registration_is_a_signal_without_match)
{
	struct store_register_out out;
	struct storefix_counts c;

	cr_assert_eq(do_register(wijk, 1, T0, &out), 0);
	cr_assert_neq(out.signal_id, 0);
	cr_assert_eq(out.refreshed, 0);
	cr_assert_eq(out.change, MATCH_NONE);
	cr_assert_eq(out.view.has_match, 0);
	cr_assert_eq(out.view.n_others, 0);
	cr_assert_null(out.view.others);
	c = counts();
	cr_assert_eq(c.signals, 1);
	cr_assert_eq(c.matches, 0);
	cr_assert_eq(c.archived, 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* Register youth as o at now under a daily cap; the store's answer. */
static int
register_capped(const struct org *o, unsigned youth, int64_t now,
    unsigned cap, int *refreshed)
{
	struct store_register_out out;
	struct store_register_in in;
	int err;

	reg_in(&in, o, youth, now);
	in.max_new_per_day = cap;
	err = do_register_in(&in, &out);
	if (refreshed != NULL)
		*refreshed = out.refreshed;
	store_view_free(&out.view);
	return err;
}

Test(store, new_signals_count_against_the_daily_cap_by_utc_day)
{
	int64_t midnight = (T0 / 86400 + 1) * 86400;
	struct store_withdraw_out wd;
	int refreshed = 0;

	for (unsigned y = 1; y <= 3; y++)
		cr_assert_eq(register_capped(wijk, y, T0, 3, NULL), 0);
	cr_assert_eq(register_capped(wijk, 4, T0 + 60, 3, NULL), VIX_E_LIMIT);
	cr_assert_eq(counts().signals, 3, "the refused one was stored");
	/* A refresh is no new signal; another organisation counts its own. */
	cr_assert_eq(register_capped(wijk, 1, T0 + 60, 3, &refreshed), 0);
	cr_assert_eq(refreshed, 1);
	cr_assert_eq(register_capped(jz, 4, T0 + 60, 3, NULL), 0);
	/* A withdrawal gives nothing back. */
	cr_assert_eq(do_withdraw(wijk, 0, 2, UNJUSTIFIED, T0 + 70, &wd), 0);
	cr_assert_eq(wd.created, T0, "the withdrawal reports the creation");
	cr_assert_eq(register_capped(wijk, 2, T0 + 80, 3, NULL), VIX_E_LIMIT);
	/* The day is the UTC day: its last second counts, the next is new. */
	cr_assert_eq(register_capped(wijk, 4, midnight - 1, 3, NULL),
	    VIX_E_LIMIT);
	cr_assert_eq(register_capped(wijk, 4, midnight, 3, NULL), 0);
	/* Counted without a cap too, so a cap set later applies at once. */
	cr_assert_eq(register_capped(wijk, 5, midnight + 1, 0, NULL), 0);
	cr_assert_eq(register_capped(wijk, 6, midnight + 2, 2, NULL),
	    VIX_E_LIMIT);
	cr_assert_eq(register_capped(wijk, 6, midnight + 3, 3, NULL), 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, same_organisation_again_refreshes)
{
	struct store_register_out out;
	struct store_register_in in;
	struct store_summary sum[2];
	uint64_t id, next;
	size_t n;

	id = must_register(wijk, 1, T0);
	reg_in(&in, wijk, 1, T0 + 100);
	in.expires = T0 + 2 * YEAR;
	snprintf(in.client_ref, sizeof(in.client_ref), "second");
	cr_assert_eq(do_register_in(&in, &out), 0);
	cr_assert_eq(out.refreshed, 1);
	cr_assert_eq(out.signal_id, id);
	cr_assert_eq(out.change, MATCH_NONE);
	cr_assert_eq(out.view.has_match, 0);
	cr_assert_eq(out.view.n_others, 0);
	cr_assert_eq(counts().signals, 1);

	/* The refresh replaced expiry and reference, not the creation date. */
	cr_assert_eq(store_list(rd, wijk->sid, 0, sum, 2, &n, &next), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(sum[0].signal_id, id);
	cr_assert_eq(sum[0].created, T0);
	cr_assert_eq(sum[0].expires, T0 + 2 * YEAR);
	cr_assert_str_eq(sum[0].client_ref, "second");
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* youth registered (or refreshed) by o, naming the contact called name. */
static void
register_contact(const struct org *o, unsigned youth, int64_t now,
    const char *name)
{
	struct store_register_out out;
	struct store_register_in in;

	reg_in(&in, o, youth, now);
	storefix_contact(&in.contact, name);
	cr_assert_eq(do_register_in(&in, &out), 0);
	store_view_free(&out.view);
}

/* On youth, o sees other's signal naming the contact called name. */
static void
expect_other_contact(const struct org *o, unsigned youth,
    const struct org *other, const char *name)
{
	struct store_contact want;
	const struct store_party *p;
	struct store_view v;
	uint64_t id;

	storefix_contact(&want, name);
	cr_assert_eq(do_involved(o, youth, T0 + 100, &id, &v), 0);
	cr_assert_not_null(p = party_of(&v, other), "youth %u", youth);
	cr_assert_str_eq(p->contact.name, want.name, "youth %u", youth);
	cr_assert_str_eq(p->contact.phone, want.phone);
	cr_assert_str_eq(p->contact.email, want.email);
	store_view_free(&v);
}

Test(store, each_signal_keeps_its_own_contact)
{
	struct store_withdraw_out wo;
	struct store_subject sub;
	uint8_t p[PSEUDONYM_LEN];

	/* One person for two youths at wijk, the same text at jz. */
	register_contact(wijk, 1, T0, "Anna");
	register_contact(wijk, 2, T0 + 1, "Anna");
	register_contact(jz, 1, T0 + 2, "Anna");
	register_contact(jz, 2, T0 + 3, "Bram");
	/* A refresh names someone else, for youth 2 only. */
	register_contact(wijk, 2, T0 + 4, "Cor de Jong");
	expect_other_contact(jz, 1, wijk, "Anna");
	expect_other_contact(jz, 2, wijk, "Cor de Jong");
	expect_other_contact(wijk, 1, jz, "Anna");
	expect_other_contact(wijk, 2, jz, "Bram");

	/* Archived with its contact; the person named again later. */
	cr_assert_eq(do_withdraw(wijk, 0, 1, RISK_RESOLVED, T0 + 5, &wo), 0);
	register_contact(wijk, 3, T0 + 6, "Anna");
	register_contact(jz, 3, T0 + 7, "Bram");
	expect_other_contact(jz, 3, wijk, "Anna");
	expect_other_contact(wijk, 3, jz, "Bram");
	pseudonym(p, 1);
	cr_assert_eq(store_subject_report(rd, p, &sub), 0);
	cr_assert_eq(sub.nsignals, 2);
	for (size_t i = 0; i < sub.nsignals; i++)
		cr_assert_str_eq(sub.signals[i].contact.name, "Anna");
	store_subject_free(&sub);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, refresh_inside_a_match_changes_nothing)
{
	struct store_register_out out;
	uint64_t id, match;

	id = must_register(wijk, 1, T0);
	cr_assert_eq(do_register(jz, 1, T0 + 10, &out), 0);
	match = out.view.match.id;
	store_view_free(&out.view);

	cr_assert_eq(do_register(wijk, 1, T0 + 20, &out), 0);
	cr_assert_eq(out.refreshed, 1);
	cr_assert_eq(out.signal_id, id);
	cr_assert_eq(out.change, MATCH_UNCHANGED);
	cr_assert(out.view.has_match);
	cr_assert_eq(out.view.match.id, match, "a refresh made a new match");
	cr_assert_eq(out.view.n_others, 1);
	store_view_free(&out.view);
	cr_assert_eq(counts().matches, 1);
	cr_assert_eq(counts().signals, 2);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, second_organisation_creates_a_match)
{
	struct store_register_out out;
	const struct store_party *p;
	uint64_t first;

	/* wijk (rank 20) first, jz (rank 10) second: rank beats arrival. */
	first = must_register(wijk, 1, T0);
	cr_assert_eq(do_register(jz, 1, T0 + 60, &out), 0);
	cr_assert_eq(out.refreshed, 0);
	cr_assert_neq(out.signal_id, first);
	cr_assert_eq(out.change, MATCH_CREATED);
	cr_assert(out.view.has_match);
	cr_assert_neq(out.view.match.id, 0);
	cr_assert_eq(out.view.match.created, T0 + 60);
	cr_assert_eq(out.view.match.coordinated, 0);
	cr_assert_eq(out.view.match.coordinator, jz->sid);
	cr_assert_eq(out.view.n_others, 1);
	p = &out.view.others[0];
	cr_assert_eq(p->org, wijk->sid);
	cr_assert_eq(p->signal_id, first);
	cr_assert_eq(p->since, T0);
	cr_assert_str_eq(p->contact.name, "Contact wijk");
	cr_assert_str_eq(p->contact.email, "wijk@example.org");
	cr_assert_neq(p->contact.phone[0], '\0');
	store_view_free(&out.view);
	cr_assert_eq(counts().matches, 1);

	/* The first organisation sees the same match and the newcomer. */
	cr_assert_eq(match_seen_by(wijk, 1).coordinator, jz->sid);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, further_organisation_joins_the_match)
{
	const struct store_party *p;
	struct store_register_out out;
	struct store_view v;
	uint64_t match, id;

	must_register(wijk, 1, T0);
	cr_assert_eq(do_register(jz, 1, T0 + 10, &out), 0);
	match = out.view.match.id;
	store_view_free(&out.view);

	/*
	 * vt has the lowest rank of all and jz coordinates by rank, not by
	 * a claim: vt takes over.
	 */
	cr_assert_eq(do_register(vt, 1, T0 + 20, &out), 0);
	cr_assert_eq(out.change, MATCH_JOINED);
	cr_assert(out.view.has_match);
	cr_assert_eq(out.view.match.id, match);
	cr_assert_eq(out.view.match.coordinator, vt->sid);
	cr_assert(!out.view.match.claimed);
	cr_assert_eq(out.view.n_others, 2);
	cr_assert_not_null(party_of(&out.view, wijk));
	cr_assert_null(party_of(&out.view, vt));
	p = party_of(&out.view, jz);
	cr_assert_not_null(p);
	cr_assert_str_eq(p->contact.name, "Contact jz");
	cr_assert_eq(p->since, T0 + 10);
	store_view_free(&out.view);
	cr_assert_eq(counts().matches, 1);

	/* And the others are told of the newcomer. */
	cr_assert_eq(do_involved(wijk, 1, T0 + 30, &id, &v), 0);
	cr_assert_eq(v.match.id, match);
	cr_assert_eq(v.n_others, 2);
	cr_assert_not_null(party_of(&v, vt));
	cr_assert_not_null(party_of(&v, jz));
	store_view_free(&v);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, rank_tie_goes_to_the_earliest_registrant)
{
	struct store_register_out out;

	/* wijk and ggd share rank 20; whoever came first coordinates. */
	must_register(wijk, 1, T0);
	cr_assert_eq(do_register(ggd, 1, T0 + 10, &out), 0);
	cr_assert_eq(out.view.match.coordinator, wijk->sid);
	store_view_free(&out.view);

	must_register(ggd, 2, T0 + 20);
	cr_assert_eq(do_register(wijk, 2, T0 + 30, &out), 0);
	cr_assert_eq(out.view.match.coordinator, ggd->sid);
	store_view_free(&out.view);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, only_the_registrant_may_withdraw)
{
	struct store_withdraw_out out;
	struct store_summary sum[2];
	uint64_t id, next, audits;
	struct storefix_counts c;
	size_t n;

	id = must_register(wijk, 1, T0);
	audits = audit_good();
	cr_assert_eq(do_withdraw(jz, id, 0, RISK_RESOLVED, T0 + 10, &out),
	    VIX_E_PERMISSION);
	c = counts();
	cr_assert_eq(c.signals, 1);
	cr_assert_eq(c.archived, 0);
	cr_assert_eq(audit_good(), audits);
	cr_assert_eq(store_list(rd, wijk->sid, 0, sum, 2, &n, &next), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(sum[0].signal_id, id);

	/* By pseudonym jz finds nothing of its own. */
	cr_assert_eq(do_withdraw(jz, 0, 1, UNJUSTIFIED, T0 + 10, &out),
	    VIX_E_NOT_FOUND);
	cr_assert_eq(counts().signals, 1);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, withdrawing_an_unknown_id_is_not_found)
{
	struct store_withdraw_out out;
	uint64_t id;

	id = must_register(wijk, 1, T0);
	cr_assert_eq(do_withdraw(wijk, id + 1000, 0, UNJUSTIFIED, T0 + 1,
	    &out), VIX_E_NOT_FOUND);
	cr_assert_eq(do_withdraw(wijk, 0, 2, UNJUSTIFIED, T0 + 1, &out),
	    VIX_E_NOT_FOUND);
	cr_assert_eq(counts().signals, 1);

	/* Withdrawn once, the id is unknown thereafter. */
	cr_assert_eq(do_withdraw(wijk, id, 0, UNJUSTIFIED, T0 + 2, &out), 0);
	cr_assert_eq(do_withdraw(wijk, id, 0, UNJUSTIFIED, T0 + 3, &out),
	    VIX_E_NOT_FOUND);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, unjustified_is_deleted_not_archived)
{
	struct store_withdraw_out out;
	struct store_summary sum[2];
	uint64_t id, next;
	struct storefix_counts c;
	size_t n;

	id = must_register(wijk, 1, T0);
	cr_assert_eq(do_withdraw(wijk, id, 0, UNJUSTIFIED, T0 + 10, &out), 0);
	cr_assert_eq(out.signal_id, id);
	cr_assert_eq(out.archived, 0);
	cr_assert_eq(out.match_id, 0);
	cr_assert_eq(out.change, MATCH_NONE);
	c = counts();
	cr_assert_eq(c.signals, 0);
	cr_assert_eq(c.archived, 0);
	cr_assert_eq(store_list(rd, wijk->sid, 0, sum, 2, &n, &next), 0);
	cr_assert_eq(n, 0);

	/* Registering again is a new signal, not a refresh. */
	{
		struct store_register_out r;

		cr_assert_eq(do_register(wijk, 1, T0 + 20, &r), 0);
		cr_assert_eq(r.refreshed, 0);
		cr_assert_neq(r.signal_id, id);
		store_view_free(&r.view);
	}
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, risk_resolved_is_archived)
{
	struct store_withdraw_out out;
	uint64_t a, b;
	struct storefix_counts c;

	a = must_register(wijk, 1, T0);
	b = must_register(wijk, 2, T0);
	cr_assert_eq(do_withdraw(wijk, a, 0, RISK_RESOLVED, T0 + 10, &out), 0);
	cr_assert_eq(out.signal_id, a);
	cr_assert_eq(out.archived, 1);
	c = counts();
	cr_assert_eq(c.signals, 1);
	cr_assert_eq(c.archived, 1);

	/* By pseudonym this time. */
	cr_assert_eq(do_withdraw(wijk, 0, 2, RISK_RESOLVED, T0 + 20, &out), 0);
	cr_assert_eq(out.signal_id, b);
	cr_assert_eq(out.archived, 1);
	c = counts();
	cr_assert_eq(c.signals, 0);
	cr_assert_eq(c.archived, 2);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, two_archivings_in_one_second_are_both_kept)
{
	struct store_withdraw_out out;
	uint64_t a, b;

	/* Same organisation, same youth, same second: two archive rows. */
	a = must_register(wijk, 1, T0);
	cr_assert_eq(do_withdraw(wijk, a, 0, RISK_RESOLVED, T0, &out), 0);
	b = must_register(wijk, 1, T0);
	cr_assert_neq(a, b);
	cr_assert_eq(do_withdraw(wijk, b, 0, RISK_RESOLVED, T0, &out), 0);
	cr_assert_eq(counts().archived, 2);
}

Test(store, an_expired_signal_is_inactive_before_the_sweep)
{
	struct store_register_in in;
	struct store_register_out out;
	struct store_view v;
	uint64_t sid;

	reg_in(&in, wijk, 1, T0);
	in.expires = T0 + 100;
	cr_assert_eq(do_register_in(&in, &out), 0);
	store_view_free(&out.view);

	/* Past its expiry, no sweep yet: no match, no need to know. */
	cr_assert_eq(do_register(jz, 1, T0 + 200, &out), 0);
	cr_assert_eq(out.change, MATCH_NONE);
	cr_assert(!out.view.has_match);
	cr_assert_eq(out.view.n_others, 0);
	store_view_free(&out.view);
	cr_assert_eq(do_involved(wijk, 1, T0 + 200, &sid, &v),
	    VIX_E_PERMISSION);
	/* Before its expiry it counted. */
	cr_assert_eq(do_involved(wijk, 1, T0 + 50, &sid, &v), 0);
	cr_assert_eq(v.n_others, 1);
	store_view_free(&v);
}

Test(store, coordinator_leaving_hands_over_by_rank)
{
	struct store_register_out r;
	struct store_withdraw_out out;
	struct store_match m;
	uint64_t match;

	/*
	 * ggd and wijk tie on rank 20: ggd, first, coordinates; vt (rank 5)
	 * joins and takes over; jz (rank 10) joins and does not.
	 */
	must_register(ggd, 1, T0);
	must_register(wijk, 1, T0 + 10);
	cr_assert_eq(match_seen_by(ggd, 1).coordinator, ggd->sid);
	cr_assert_eq(do_register(vt, 1, T0 + 20, &r), 0);
	cr_assert_eq(r.change, MATCH_JOINED);
	match = r.view.match.id;
	store_view_free(&r.view);
	cr_assert_eq(match_seen_by(ggd, 1).coordinator, vt->sid);
	must_register(jz, 1, T0 + 30);
	cr_assert_eq(match_seen_by(ggd, 1).coordinator, vt->sid);

	/* The coordinator vt leaves: jz (rank 10) takes over, not ggd. */
	cr_assert_eq(do_withdraw(vt, 0, 1, UNJUSTIFIED, T0 + 40, &out), 0);
	cr_assert_eq(out.change, MATCH_LEFT);
	cr_assert_eq(out.match_id, match);
	m = match_seen_by(wijk, 1);
	cr_assert_eq(m.id, match);
	cr_assert_eq(m.coordinator, jz->sid);

	/* A non-coordinator leaving changes nothing about coordination. */
	cr_assert_eq(do_withdraw(wijk, 0, 1, UNJUSTIFIED, T0 + 50, &out), 0);
	cr_assert_eq(out.change, MATCH_LEFT);
	cr_assert_eq(match_seen_by(ggd, 1).coordinator, jz->sid);

	/* jz leaves ggd alone: no match any more. */
	cr_assert_eq(do_withdraw(jz, 0, 1, UNJUSTIFIED, T0 + 60, &out), 0);
	cr_assert_eq(out.change, MATCH_CLOSED);
	cr_assert_eq(out.match_id, match);
	cr_assert_eq(counts().matches, 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, coordinator_handover_tie_goes_to_the_earliest)
{
	struct store_withdraw_out out;

	/* jz coordinates; after it leaves ggd and wijk tie on rank 20. */
	must_register(jz, 1, T0);
	must_register(ggd, 1, T0 + 10);
	must_register(wijk, 1, T0 + 20);
	cr_assert_eq(match_seen_by(wijk, 1).coordinator, jz->sid);
	cr_assert_eq(do_withdraw(jz, 0, 1, UNJUSTIFIED, T0 + 30, &out), 0);
	cr_assert_eq(out.change, MATCH_LEFT);
	cr_assert_eq(match_seen_by(wijk, 1).coordinator, ggd->sid);

	/* The same with wijk first. */
	must_register(jz, 2, T0 + 40);
	must_register(wijk, 2, T0 + 50);
	must_register(ggd, 2, T0 + 60);
	cr_assert_eq(do_withdraw(jz, 0, 2, UNJUSTIFIED, T0 + 70, &out), 0);
	cr_assert_eq(match_seen_by(ggd, 2).coordinator, wijk->sid);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, last_but_one_leaving_closes_the_match)
{
	struct store_register_out r;
	struct store_withdraw_out out;
	struct store_summary sum[2];
	struct store_view v;
	uint64_t match, id, wid, next;
	size_t n;

	wid = must_register(wijk, 1, T0);
	cr_assert_eq(do_register(jz, 1, T0 + 10, &r), 0);
	match = r.view.match.id;
	store_view_free(&r.view);
	cr_assert_eq(counts().matches, 1);

	cr_assert_eq(do_withdraw(jz, 0, 1, RISK_RESOLVED, T0 + 20, &out), 0);
	cr_assert_eq(out.change, MATCH_CLOSED);
	cr_assert_eq(out.match_id, match);
	cr_assert_eq(counts().matches, 0);
	cr_assert_eq(counts().signals, 1);

	cr_assert_eq(do_involved(wijk, 1, T0 + 30, &id, &v), 0);
	cr_assert_eq(id, wid);
	cr_assert_eq(v.has_match, 0);
	cr_assert_eq(v.n_others, 0);
	store_view_free(&v);
	cr_assert_eq(store_list(rd, wijk->sid, 0, sum, 2, &n, &next), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(sum[0].match_id, 0);

	/* A new second organisation makes a new match. */
	cr_assert_eq(do_register(ggd, 1, T0 + 40, &r), 0);
	cr_assert_eq(r.change, MATCH_CREATED);
	cr_assert_neq(r.view.match.id, match);
	cr_assert_eq(r.view.match.coordinator, wijk->sid);
	store_view_free(&r.view);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, involved_needs_an_own_signal)
{
	struct store_view v;
	uint64_t id = 77, jid, audits;

	must_register(wijk, 1, T0);
	audits = audit_good();
	cr_assert_eq(do_involved(jz, 1, T0 + 10, &id, &v), VIX_E_PERMISSION);
	cr_assert_eq(v.n_others, 0);
	cr_assert_null(v.others);
	cr_assert_eq(audit_good(), audits);

	jid = must_register(jz, 1, T0 + 20);
	cr_assert_eq(do_involved(jz, 1, T0 + 30, &id, &v), 0);
	cr_assert_eq(id, jid);
	cr_assert(v.has_match);
	cr_assert_eq(v.n_others, 1);
	cr_assert_eq(v.others[0].org, wijk->sid);
	cr_assert_str_eq(v.others[0].contact.name, "Contact wijk");
	store_view_free(&v);
	cr_assert_eq(audit_good(), audits + 2);

	/* Alone on a youth: allowed, nobody else. */
	must_register(vt, 9, T0 + 40);
	cr_assert_eq(do_involved(vt, 9, T0 + 50, &id, &v), 0);
	cr_assert_eq(v.has_match, 0);
	cr_assert_eq(v.n_others, 0);
	store_view_free(&v);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store, list_pages_through_own_signals)
{
	struct store_summary sum[3];
	struct store_register_out r;
	uint64_t ids[5], next, match;
	size_t n;

	for (unsigned i = 0; i < 5; i++) {
		ids[i] = must_register(wijk, 10 + i, T0 + i);
		/* Other organisations' signals interleave and never show. */
		must_register(jz, 100 + i, T0 + i);
	}
	cr_assert_eq(do_register(vt, 12, T0 + 50, &r), 0);
	match = r.view.match.id;
	store_view_free(&r.view);

	cr_assert_eq(store_list(rd, wijk->sid, 0, sum, 2, &n, &next), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(sum[0].signal_id, ids[0]);
	cr_assert_eq(sum[1].signal_id, ids[1]);
	cr_assert_str_eq(sum[1].client_ref, "ref-wijk-11");
	cr_assert_eq(sum[1].created, T0 + 1);
	cr_assert_eq(sum[1].expires, T0 + 1 + YEAR);
	cr_assert_eq(sum[1].bound, 1);
	cr_assert_eq(sum[0].match_id, 0);
	cr_assert_eq(next, ids[1]);

	cr_assert_eq(store_list(rd, wijk->sid, next, sum, 2, &n, &next), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(sum[0].signal_id, ids[2]);
	cr_assert_eq(sum[0].match_id, match);
	cr_assert_eq(sum[1].signal_id, ids[3]);
	cr_assert_eq(sum[1].match_id, 0);
	cr_assert_eq(next, ids[3]);

	cr_assert_eq(store_list(rd, wijk->sid, next, sum, 2, &n, &next), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(sum[0].signal_id, ids[4]);
	cr_assert_eq(next, 0);

	/* A last page that is exactly full still ends the chain. */
	cr_assert_eq(store_list(rd, wijk->sid, ids[2], sum, 2, &n, &next), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(sum[1].signal_id, ids[4]);
	cr_assert_eq(next, 0);

	/* An organisation with nothing gets nothing. */
	cr_assert_eq(store_list(rd, ggd->sid, 0, sum, 2, &n, &next), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(next, 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- the transaction wrapper ------------------------------------------- */

TestSuite(store_txn, .init = setup_started, .fini = teardown);

/* Register in the open batch t; the job ends with end_err (or its own). */
static int
job_register(struct store_txn *t, const struct org *o, unsigned youth,
    int64_t now, int end_err, struct store_register_out *out)
{
	struct store_register_in in;

	reg_in(&in, o, youth, now);
	return storefix_job_register(t, &in, end_err, out);
}

Test(store_txn, a_refused_job_leaves_no_trace)
{
	struct store_register_out out;
	struct store_summary sum[4];
	struct store_txn *t;
	uint64_t refused, next;
	size_t n;

	t = begin();
	cr_assert_eq(job_register(t, wijk, 1, T0, VIX_E_PERMISSION, &out), 0);
	refused = out.signal_id;
	cr_assert_eq(job_register(t, wijk, 2, T0 + 1, 0, &out), 0);
	commit(t);

	cr_assert_eq(counts().signals, 1);
	cr_assert_eq(store_list(rd, wijk->sid, 0, sum, 4, &n, &next), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(sum[0].client_ref, "ref-wijk-2");
	/*
	 * Ids may leave a gap (a sequence) or be given again (LMDB's counter
	 * goes back, test_store_lmdb.c): the refused one names nothing.
	 */
	cr_assert(sum[0].signal_id >= refused);
	cr_assert_eq(audit_good(), 1);

	/* The refused youth is unknown: registering it is not a refresh. */
	cr_assert_eq(do_register(wijk, 1, T0 + 2, &out), 0);
	cr_assert_eq(out.refreshed, 0);
	store_view_free(&out.view);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_txn, jobs_in_one_batch_see_the_earlier_ones)
{
	struct store_register_out out;
	struct store_txn *t;

	t = begin();
	cr_assert_eq(job_register(t, wijk, 1, T0, 0, &out), 0);
	cr_assert_eq(job_register(t, ggd, 1, T0 + 1, VIX_E_PERMISSION, &out),
	    0);
	cr_assert_eq(job_register(t, jz, 1, T0 + 2, 0, &out), 0);
	cr_assert_eq(out.change, MATCH_CREATED, "jz must see wijk, not ggd");
	cr_assert_eq(job_register(t, vt, 1, T0 + 3, 0, &out), 0);
	cr_assert_eq(out.change, MATCH_JOINED);
	commit(t);
	cr_assert_eq(counts().signals, 3);
	cr_assert_eq(counts().matches, 1);
	cr_assert_eq(audit_good(), 3);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_txn, abort_discards_everything)
{
	struct store_register_out out;
	struct store_txn *t;
	uint64_t first;
	struct storefix_counts c;

	must_register(ggd, 7, T0);
	t = begin();
	cr_assert_eq(job_register(t, wijk, 1, T0 + 1, 0, &out), 0);
	first = out.signal_id;
	cr_assert_eq(job_register(t, jz, 1, T0 + 2, 0, &out), 0);
	cr_assert_eq(job_register(t, ggd, 7, T0 + 3, 0, &out), 0);
	cr_assert_eq(out.refreshed, 1);
	store_write_abort(t);

	c = counts();
	cr_assert_eq(c.signals, 1);
	cr_assert_eq(c.matches, 0);
	cr_assert_eq(audit_good(), 1);

	/*
	 * The audit chain's head went back as well; the id is new or the
	 * same again (test_store_lmdb.c), never an earlier one.
	 */
	cr_assert_geq(must_register(wijk, 1, T0 + 4), first);
	cr_assert_eq(audit_good(), 2);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- the audit trail --------------------------------------------------- */

TestSuite(store_audit, .init = setup_started, .fini = teardown);

#define AUDIT_MAX	16

struct audit_log {
	struct store_audit_record	r[AUDIT_MAX];
	size_t				n;
	size_t				stop_after;	/* 0: never */
};

static int
collect(void *arg, const struct store_audit_record *r)
{
	struct audit_log *log = arg;

	if (log->n < AUDIT_MAX)
		log->r[log->n] = *r;
	log->n++;
	return log->stop_after != 0 && log->n == log->stop_after;
}

static void
expect_record(const struct audit_log *log, size_t i, int64_t time,
    const char *actor, const char *action, uint64_t signal_id,
    uint64_t match_id, const char *outcome)
{
	const struct store_audit_record *r = &log->r[i];

	/* One writer's chain: places 1, 2, ... (store_backend.h). */
	cr_assert_eq(STORE_AUDIT_PLACE(r->seq), i + 1, "record %zu has seq "
	    "%llu", i, (unsigned long long)r->seq);
	cr_assert_eq(STORE_AUDIT_CHAIN(r->seq), STORE_AUDIT_CHAIN(log->r[0].seq),
	    "record %zu", i);
	cr_assert_eq(r->time, time, "record %zu", i);
	cr_assert_str_eq(r->actor, actor, "record %zu", i);
	cr_assert_str_eq(r->action, action, "record %zu", i);
	cr_assert_eq(r->signal_id, signal_id, "record %zu", i);
	cr_assert_eq(r->match_id, match_id, "record %zu", i);
	cr_assert_str_eq(r->outcome, outcome, "record %zu", i);
}

Test(store_audit, every_change_and_lookup_is_chained)
{
	struct audit_log log = { .n = 0 };
	struct store_register_out r;
	struct store_withdraw_out w;
	struct store_view v;
	struct store_txn *t;
	uint64_t a, b, id, m;

	a = must_register(wijk, 1, T0);
	cr_assert_eq(must_register(wijk, 1, T0 + 1), a);

	/* Refused and rolled back: no sequence number is used up. */
	t = begin();
	cr_assert_eq(job_register(t, jz, 1, T0 + 2, VIX_E_PERMISSION, &r), 0);
	commit(t);

	/* What the writer writes for a refusal. */
	t = begin();
	cr_assert_eq(store_job_begin(t), 0);
	cr_assert_eq(store_job_end(t, store_audit(t, T0 + 3, OIN_GGD,
	    "withdraw", a, 0, "permission_denied")), 0);
	commit(t);

	cr_assert_eq(do_register(jz, 1, T0 + 4, &r), 0);
	b = r.signal_id;
	m = r.view.match.id;
	store_view_free(&r.view);
	cr_assert_eq(do_involved(jz, 1, T0 + 5, &id, &v), 0);
	store_view_free(&v);
	cr_assert_eq(do_withdraw(jz, b, 0, UNJUSTIFIED, T0 + 6, &w), 0);
	cr_assert_eq(do_withdraw(wijk, a, 0, RISK_RESOLVED, T0 + 7, &w), 0);

	cr_assert_eq(audit_good(), 7);
	cr_assert_eq(store_audit_foreach(rd, collect, &log), 0);
	cr_assert_eq(log.n, 7);
	expect_record(&log, 0, T0, OIN_WIJK, "register", a, 0, "ok");
	expect_record(&log, 1, T0 + 1, OIN_WIJK, "refresh", a, 0, "ok");
	expect_record(&log, 2, T0 + 3, OIN_GGD, "withdraw", a, 0,
	    "permission_denied");
	expect_record(&log, 3, T0 + 4, OIN_JZ, "register", b, m, "ok");
	expect_record(&log, 4, T0 + 5, OIN_JZ, "involved", b, m, "ok");
	expect_record(&log, 5, T0 + 6, OIN_JZ, "withdraw:unjustified", b, m,
	    "ok");
	/* The match closed with jz's withdrawal. */
	expect_record(&log, 6, T0 + 7, OIN_WIJK, "withdraw:risk_resolved", a,
	    0, "ok");
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * The professional a job is done for is in each of its audit records,
 * the record of a refusal's own job too, read back as written; the next
 * job names none unless it says so.
 */
Test(store_audit, records_name_the_jobs_professional)
{
	struct audit_log log = { .n = 0 };
	struct store_register_out r;
	struct store_register_in in;
	struct store_txn *t;
	uint64_t a;

	t = begin();
	reg_in(&in, wijk, 1, T0);
	cr_assert_eq(store_job_begin(t), 0);
	store_job_professional(t, "mw-0042");
	cr_assert_eq(store_register(t, &in, &r), 0);
	cr_assert_eq(store_job_end(t, 0), 0);
	store_view_free(&r.view);
	a = r.signal_id;
	cr_assert_eq(store_job_begin(t), 0);
	store_job_professional(t, "Zo\xc3\xab van Dijk");
	cr_assert_eq(store_job_end(t, store_audit(t, T0 + 1, OIN_GGD,
	    "withdraw", a, 0, "permission_denied")), 0);
	commit(t);
	must_register(wijk, 2, T0 + 2);

	cr_assert_eq(audit_good(), 3);
	cr_assert_eq(store_audit_foreach(rd, collect, &log), 0);
	cr_assert_eq(log.n, 3);
	expect_record(&log, 0, T0, OIN_WIJK, "register", a, 0, "ok");
	cr_assert_str_eq(log.r[0].professional, "mw-0042");
	cr_assert_str_eq(log.r[1].professional, "Zo\xc3\xab van Dijk");
	cr_assert_str_eq(log.r[2].professional, "");
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_audit, foreach_stops_when_asked)
{
	struct audit_log log = { .stop_after = 2 };

	for (unsigned i = 0; i < 4; i++)
		must_register(wijk, i, T0 + i);
	cr_assert_eq(store_audit_foreach(rd, collect, &log), 1);
	cr_assert_eq(log.n, 2);
	cr_assert_eq(STORE_AUDIT_PLACE(log.r[1].seq), 2);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_audit, the_chain_continues_after_reopen)
{
	struct audit_log log = { .n = 0 };

	must_register(wijk, 1, T0);
	must_register(jz, 1, T0 + 1);
	stop();
	st = open_store(MAP_SIZE, 90);
	rd = store_reader_new(st);
	must_register(vt, 1, T0 + 2);
	cr_assert_eq(audit_good(), 3);
	cr_assert_eq(store_audit_foreach(rd, collect, &log), 0);
	cr_assert_eq(log.n, 3);
	/*
	 * In order; after the reopen the same chain goes on (LMDB: seq 3,
	 * test_store_lmdb.c) or the store begins a new one at place 1.
	 */
	for (size_t i = 0; i < 2; i++)
		cr_assert_eq(log.r[i].seq, log.r[0].seq + i);
	cr_assert_gt(log.r[2].seq, log.r[1].seq);
	cr_assert(log.r[2].seq == log.r[1].seq + 1 ||
	    STORE_AUDIT_PLACE(log.r[2].seq) == 1);
	cr_assert_str_eq(log.r[2].actor, OIN_VT);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- the pseudonym key's id ------------------------------------------- */

Test(store_open, the_key_id_is_recorded_then_enforced)
{
	struct diag d;

	start(MAP_SIZE, 90);
	diag_init(&d);
	cr_assert_eq(store_check_key(st, "0123456789abcdef0123456789abcdef",
	    "/etc/vix/pseudonym.key", &d), 0, "recorded: %s", d.text);
	cr_assert_eq(store_check_key(st, "0123456789abcdef0123456789abcdef",
	    "/etc/vix/pseudonym.key", &d), 0, "the same key: %s", d.text);
	cr_assert_eq(store_check_key(st, "fedcba9876543210fedcba9876543210",
	    "/etc/vix/other.key", &d), -1);
	/* Naming the store its own way: LMDB its folder (test_store_lmdb). */
	cr_assert_not_null(strstr(d.text, "/etc/vix/other.key"), "names the "
	    "key file: %s", d.text);
	stop();
	/* Kept across a reopen. */
	st = open_store(MAP_SIZE, 90);
	diag_init(&d);
	cr_assert_eq(store_check_key(st, "fedcba9876543210fedcba9876543210",
	    "k", &d), -1);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- monitoring counts, kept by the writes ----------------------------- */

static void
stats_of(size_t *matches, size_t *uncoordinated)
{
	storefix_stats(rd, orgs, T0 + 5000, matches, uncoordinated);
}

/* Mark the match on youth (o is involved) coordinated: 0 or the error. */
static int
mark_coordinated(const struct org *o, unsigned youth, int keep)
{
	struct store_coordinate_in in = { o, orgs, T0 + 100,
	    match_seen_by(o, youth).id, STORE_COORDINATE_DONE };

	return storefix_coordinate(st, &in, keep);
}

static void
erase_youth(unsigned youth, size_t *removed, size_t *withdrawn)
{
	uint8_t p[PSEUDONYM_LEN];

	pseudonym(p, youth);
	storefix_erase(st, orgs, p, T0 + 10, removed, withdrawn);
}

/* Four matches, youth 3's coordinated; stats must say 4 and 3. */
static void
four_matches(void)
{
	for (unsigned y = 1; y <= 4; y++) {
		must_register(wijk, y, T0 + y);
		must_register(jz, y, T0 + 10 + y);
	}
	cr_assert_eq(mark_coordinated(jz, 3, 1), 0);
}

Test(store_stats, the_counts_follow_every_write, .init = setup_started,
    .fini = teardown)
{
	struct store_withdraw_out wo;
	size_t removed, withdrawn, m, u;

	four_matches();
	stats_of(&m, &u);
	cr_assert_eq(m, 4);
	cr_assert_eq(u, 3);
	/* Undone with its job: the count too. */
	cr_assert_eq(mark_coordinated(jz, 2, 0), VIX_E_INVALID);
	stats_of(&m, &u);
	cr_assert_eq(u, 3, "%zu", u);
	/* Marked twice: counted once. */
	cr_assert_eq(mark_coordinated(wijk, 3, 1), 0);
	must_register(vt, 1, T0 + 30);		/* joins: still one match */
	stats_of(&m, &u);
	cr_assert_eq(m, 4);
	cr_assert_eq(u, 3);
	/* Closed: an uncoordinated and a coordinated one. */
	cr_assert_eq(do_withdraw(jz, 0, 2, UNJUSTIFIED, T0 + 40, &wo), 0);
	cr_assert_eq(do_withdraw(jz, 0, 3, UNJUSTIFIED, T0 + 41, &wo), 0);
	stats_of(&m, &u);
	cr_assert_eq(m, 2);
	cr_assert_eq(u, 2);
	erase_youth(1, &removed, &withdrawn);
	stats_of(&m, &u);
	cr_assert_eq(m, 1);
	cr_assert_eq(u, 1);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- regional figures per organisation type --------------------------- */

/*
 * The four organisations with types: wijk and ggd "wijkteam", jz
 * "jeugdzorg", vt none. The same OINs, so the store knows them already.
 */
static const char orgs_conf_typed[] =
    "[org wijk]\n"
    "oin = " OIN_WIJK "\n"
    "name = Wijkteam Noord\n"
    "roles = register, subscribe\n"
    "type = wijkteam\n"
    "[org jz]\n"
    "oin = " OIN_JZ "\n"
    "name = Jeugdzorg Test\n"
    "roles = register, subscribe\n"
    "type = jeugdzorg\n"
    "[org vt]\n"
    "oin = " OIN_VT "\n"
    "name = Veilig Thuis Test\n"
    "roles = register, subscribe\n"
    "[org ggd]\n"
    "oin = " OIN_GGD "\n"
    "name = GGD Test\n"
    "roles = register, subscribe\n"
    "type = wijkteam\n";

/* The registry of text, bound to the store, in place of the last one. */
static struct orgs *
rebind(struct orgs *old, const char *text)
{
	struct orgs *o = storefix_orgs_load(dir, text);

	storefix_bind(st, o);
	orgs_unref(old);
	return o;
}

/* The figures of municipality 0344 in the month of T0. */
static struct figures_month
month_of_t0(void)
{
	return storefix_month(rd, "0344", T0);
}

/* What m counted of kind c under type name, which must be in it. */
static uint64_t
type_count(const struct figures_month *m, const char *name,
    enum figures_count c)
{
	for (size_t k = 0; k < m->ntypes; k++)
		if (strcmp(m->types[k].name, name) == 0)
			return m->types[k].count[c];
	cr_assert_fail("no type %s", name);
	return 0;
}

TestSuite(store_figures, .init = setup_started, .fini = teardown);

Test(store_figures, a_withdrawal_counts_where_its_registration_did)
{
	struct store_register_out out;
	struct store_withdraw_out wo;
	struct store_register_in in;

	must_register(wijk, 7, T0);		/* in 0344 */
	reg_in(&in, jz, 7, T0 + 1);
	in.municipality[0] = '\0';		/* counted under the youth's */
	cr_assert_eq(storefix_register(st, &in, &out), 0);
	store_view_free(&out.view);
	reg_in(&in, jz, 7, T0 + 2);		/* a refresh, still none given */
	in.municipality[0] = '\0';
	cr_assert_eq(storefix_register(st, &in, &out), 0);
	store_view_free(&out.view);
	cr_assert_eq(month_of_t0().count[FIG_REGISTERED], 2);
	cr_assert_eq(do_withdraw(wijk, 0, 7, UNJUSTIFIED, T0 + 3, &wo), 0);
	/* jz's signal now gives the youth no municipality. */
	cr_assert_eq(do_withdraw(jz, 0, 7, UNJUSTIFIED, T0 + 4, &wo), 0);
	cr_assert_eq(month_of_t0().count[FIG_WITHDRAWN_UNJUSTIFIED], 2);
	cr_assert_eq(storefix_month(rd, "", T0).count[FIG_WITHDRAWN_UNJUSTIFIED], 0);
	cr_assert_eq(storefix_month(rd, "", T0).count[FIG_REGISTERED], 0);
}

Test(store_figures, a_month_kept_before_family_matches_reads_as_it_was)
{
	char key[32], text[512];
	struct figures_month m;
	struct store_txn *t;
	time_t now = T0;
	struct tm tm;
	size_t n;

	/* Layout 1: five counts, 32 days (3 coordinated on day 2), a type. */
	localtime_r(&now, &tm);
	snprintf(key, sizeof(key), "fig:0344:%04d%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1);
	n = (size_t)snprintf(text, sizeof(text), "1 7 1 2 4 5");
	for (int d = 0; d < FIG_DAYS; d++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " %d",
		    d == 2 ? 3 : 0);
	snprintf(text + n, sizeof(text) - n, " jeugdzorg 6 1 2");
	t = begin();
	cr_assert_eq(store_meta_put(t, key, text), 0);
	commit(t);

	m = month_of_t0();
	cr_assert_eq(m.count[FIG_REGISTERED], 7);
	cr_assert_eq(m.count[FIG_WITHDRAWN_UNJUSTIFIED], 1);
	cr_assert_eq(m.count[FIG_WITHDRAWN_RISK_RESOLVED], 2);
	cr_assert_eq(m.count[FIG_MATCHES], 4);
	cr_assert_eq(m.count[FIG_ESCALATIONS], 5);
	cr_assert_eq(m.count[FIG_FAMILY_MATCHES], 0);
	cr_assert_eq(m.days[2], 3);
	cr_assert_eq(m.days[3], 0, "a day count is not read as a count");
	cr_assert_eq(m.ntypes, 1);
	cr_assert_eq(type_count(&m, "jeugdzorg", FIG_WITHDRAWN_RISK_RESOLVED),
	    2);
	/* Counted again, it is kept in the new layout with all it had. */
	must_register(wijk, 1, T0 + 1);
	m = month_of_t0();
	cr_assert_eq(m.count[FIG_REGISTERED], 8);
	cr_assert_eq(m.count[FIG_ESCALATIONS], 5);
	cr_assert_eq(m.days[2], 3);
	cr_assert_eq(type_count(&m, "jeugdzorg", FIG_REGISTERED), 6);
	t = begin();
	cr_assert_eq(store_meta_get(t, key, text, sizeof(text)), 0);
	commit(t);
	cr_assert_eq(text[0], '2', "%s", text);
}

Test(store_figures, registrations_and_withdrawals_count_per_type)
{
	struct store_withdraw_out wo;
	struct store_register_out out;
	struct store_register_in in;
	struct figures_month m;
	struct store_txn *t;

	orgs = rebind(orgs, orgs_conf_typed);
	wijk = storefix_org(orgs, "wijk");
	jz = storefix_org(orgs, "jz");
	vt = storefix_org(orgs, "vt");
	ggd = storefix_org(orgs, "ggd");
	for (unsigned y = 1; y <= 3; y++)
		must_register(wijk, y, T0 + y);
	must_register(wijk, 1, T0 + 10);	/* a refresh: not counted */
	must_register(jz, 1, T0 + 11);		/* a match: regional only */
	must_register(jz, 2, T0 + 12);
	must_register(ggd, 5, T0 + 13);
	must_register(vt, 4, T0 + 14);		/* no type: regional only */
	cr_assert_eq(do_withdraw(wijk, 0, 3, UNJUSTIFIED, T0 + 20, &wo), 0);
	cr_assert_eq(do_withdraw(jz, 0, 2, RISK_RESOLVED, T0 + 21, &wo), 0);
	/* A job the writer refuses after the store took it: not counted. */
	t = begin();
	reg_in(&in, jz, 6, T0 + 22);
	cr_assert_eq(storefix_job_register(t, &in, VIX_E_LIMIT, &out), 0);
	commit(t);

	m = month_of_t0();
	cr_assert_eq(m.count[FIG_REGISTERED], 7);
	cr_assert_eq(m.count[FIG_WITHDRAWN_UNJUSTIFIED], 1);
	cr_assert_eq(m.count[FIG_WITHDRAWN_RISK_RESOLVED], 1);
	cr_assert_eq(m.count[FIG_MATCHES], 2);
	cr_assert_eq(m.ntypes, 2, "jeugdzorg and wijkteam, nothing for vt");
	cr_assert_str_eq(m.types[0].name, "jeugdzorg", "sorted by name");
	cr_assert_eq(type_count(&m, "jeugdzorg", FIG_REGISTERED), 2);
	cr_assert_eq(type_count(&m, "jeugdzorg", FIG_WITHDRAWN_UNJUSTIFIED), 0);
	cr_assert_eq(type_count(&m, "jeugdzorg", FIG_WITHDRAWN_RISK_RESOLVED),
	    1);
	cr_assert_eq(type_count(&m, "wijkteam", FIG_REGISTERED), 4,
	    "wijk's 3 and ggd's 1");
	cr_assert_eq(type_count(&m, "wijkteam", FIG_WITHDRAWN_UNJUSTIFIED), 1);
	cr_assert_eq(type_count(&m, "wijkteam", FIG_WITHDRAWN_RISK_RESOLVED),
	    0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_figures, a_type_change_counts_from_then_on_and_history_stays)
{
	struct store_withdraw_out wo;
	struct figures_month m;
	char text[STORE_META_VALUE_MAX + 1], key[32];
	time_t t0 = T0;
	struct tm tm;

	orgs = rebind(orgs, orgs_conf_typed);
	must_register(storefix_org(orgs, "jz"), 1, T0);
	/* Reloaded: jz is "jeugdhulp" now, wijkteam is gone from the file. */
	orgs = rebind(orgs, STOREFIX_ORGS_CONF
	    "[org extra]\n"
	    "oin = 00000009876543210009\n"
	    "name = Extra\n"
	    "roles = register\n"
	    "type = jeugdhulp\n");
	wijk = storefix_org(orgs, "wijk");
	jz = storefix_org(orgs, "jz");
	cr_assert_str_eq(jz->type, "", "jz has no type in this file");
	must_register(storefix_org(orgs, "extra"), 2, T0 + 1);
	must_register(wijk, 3, T0 + 2);
	cr_assert_eq(do_withdraw(jz, 0, 1, UNJUSTIFIED, T0 + 3, &wo), 0);

	m = month_of_t0();
	cr_assert_eq(m.count[FIG_REGISTERED], 3);
	cr_assert_eq(m.ntypes, 2);
	cr_assert_eq(type_count(&m, "jeugdzorg", FIG_REGISTERED), 1,
	    "counted under the type it had then");
	cr_assert_eq(type_count(&m, "jeugdzorg", FIG_WITHDRAWN_UNJUSTIFIED), 0,
	    "withdrawn without a type");
	cr_assert_eq(type_count(&m, "jeugdhulp", FIG_REGISTERED), 1);

	/* One record a month, the types in it: no other key to read. */
	localtime_r(&t0, &tm);
	snprintf(key, sizeof(key), "fig:0344:%04d%02d", tm.tm_year + 1900,
	    tm.tm_mon + 1);
	cr_assert_eq(store_reader_meta_get(rd, key, text, sizeof(text)), 0);
	cr_assert_not_null(strstr(text, " jeugdhulp 1 0 0 jeugdzorg 1 0 0"),
	    "%s", text);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}
