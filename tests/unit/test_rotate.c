/*
 * The store conformance suite, moving youths to new pseudonyms (a key
 * rotation): store_youth_move, store_youth_known, the bounded
 * store_youth_scan with its cursor kept in store meta between batches,
 * and store meta's get, put and delete, against the backend
 * VIX_TEST_BACKEND names (see storefix.h).
 *
 * Youths are known here only by fixed pseudonym byte patterns; no BSN.
 * Those of this file have parity 0 (byte 0 is the youth number's high
 * byte); rotated() gives each a pseudonym of parity 1, as a new key would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "diag.h"
#include "errors.h"
#include "orgs.h"
#include "store.h"
#include "storefix.h"
#include "support.h"

#define MAP_SIZE	STOREFIX_MAP_SIZE
#define T0		STOREFIX_T0
#define FILL		0xC3		/* of this file's pseudonyms */
#define NYOUTHS		6
#define BATCH		2		/* youths moved per batch */
#define ROWS_MAX	256
#define CURSOR_NAME	"rotation.cursor"

#define UNJUSTIFIED	STORE_WITHDRAW_UNJUSTIFIED
#define RISK_RESOLVED	STORE_WITHDRAW_RISK_RESOLVED

static const char orgs_conf[] = STOREFIX_ORGS_CONF;

#include "store_tests.h"

/* ---- helpers ------------------------------------------------------------ */

/* Youth y's pseudonym under the next key: parity 1, the rest changed. */
static void
rotated(uint8_t *p, unsigned youth)
{
	pseudonym(p, youth);
	p[0] |= 1;
	for (size_t i = 2; i < PSEUDONYM_LEN; i++)
		p[i] ^= 0x5A;
}

static void
reg(const struct org *o, unsigned youth, int64_t now)
{
	struct store_register_in in;
	struct store_register_out out;

	storefix_reg_in(&in, orgs, o, FILL, youth, now);
	cr_assert_eq(storefix_register(st, &in, &out), 0);
	store_view_free(&out.view);
}

/* Register youth under pseudonym p (a rotated one, say). */
static uint64_t
reg_as(const struct org *o, const uint8_t *p, unsigned youth, int64_t now,
    int *refreshed)
{
	struct store_register_in in;
	struct store_register_out out;

	storefix_reg_in(&in, orgs, o, FILL, youth, now);
	memcpy(in.pseudonym, p, PSEUDONYM_LEN);
	cr_assert_eq(storefix_register(st, &in, &out), 0);
	store_view_free(&out.view);
	*refreshed = out.refreshed;
	return out.signal_id;
}

static int
withdraw_p(const struct org *o, const uint8_t *p, int reason, int64_t now)
{
	struct store_withdraw_in in = { .org = o, .orgs = orgs, .now = now,
	    .reason = reason };
	struct store_withdraw_out out;

	memcpy(in.pseudonym, p, PSEUDONYM_LEN);
	return storefix_withdraw(st, &in, &out);
}

static int
involved_p(const struct org *o, const uint8_t *p, struct store_view *v)
{
	struct store_txn *t = storefix_begin(st);
	uint64_t id;
	int err;

	cr_assert_eq(store_job_begin(t), 0);
	err = store_job_end(t, store_involved(t, p, o, T0 + 500, &id, v));
	storefix_commit(t);
	return err;
}

/* One move as a job of its own batch: the store's answer. */
static int
move(const uint8_t *from, const uint8_t *to, size_t *moved)
{
	struct store_txn *t = storefix_begin(st);
	int err;

	cr_assert_eq(store_job_begin(t), 0);
	err = store_job_end(t, store_youth_move(t, from, to, moved));
	storefix_commit(t);
	return err;
}

static int
known(const uint8_t *p)
{
	int k = store_reader_youth_known(rd, p);

	cr_assert_geq(k, 0, "store_reader_youth_known: %d", k);
	return k;
}

/* Every outbox row of every organisation: recipient, seq and bytes. */
struct row {
	uint32_t	recipient;
	uint64_t	seq;
	size_t		len;
	uint8_t		msg[512];
};

struct rows {
	struct row	v[ROWS_MAX];
	size_t		n;
	uint32_t	recipient;
};

static int
row_keep(void *arg, uint64_t seq, const void *msg, size_t len)
{
	struct rows *r = arg;

	cr_assert_lt(r->n, ROWS_MAX);
	cr_assert_leq(len, sizeof(r->v[0].msg));
	r->v[r->n].recipient = r->recipient;
	r->v[r->n].seq = seq;
	r->v[r->n].len = len;
	memcpy(r->v[r->n].msg, msg, len);
	r->n++;
	return 0;
}

static void
all_rows(struct rows *r)
{
	const struct org *os[] = { wijk, jz, vt, ggd };

	r->n = 0;
	for (size_t i = 0; i < 4; i++) {
		r->recipient = os[i]->sid;
		cr_assert_eq(store_outbox_read(rd, os[i]->sid, 0, ROWS_MAX,
		    row_keep, r), 0);
	}
}

/* What a subject report shows, to compare before and after. */
struct seen {
	size_t		nsignals, naudit, nclosed;
	uint64_t	signal_ids[8];
	uint64_t	audit_seqs[64];
	int		has_match;
	uint64_t	match_id;
};

static struct seen
subject(const uint8_t *p)
{
	struct store_subject s;
	struct seen o;

	memset(&o, 0, sizeof(o));
	cr_assert_eq(store_subject_report(rd, p, &s), 0);
	o.nsignals = s.nsignals;
	o.naudit = s.naudit;
	o.nclosed = s.nclosed;
	o.has_match = s.has_match;
	o.match_id = s.has_match ? s.match.id : 0;
	cr_assert_leq(s.nsignals, 8);
	cr_assert_leq(s.naudit, 64);
	for (size_t i = 0; i < s.nsignals; i++)
		o.signal_ids[i] = s.signals[i].signal_id;
	for (size_t i = 0; i < s.naudit; i++)
		o.audit_seqs[i] = s.audit[i].seq;
	store_subject_free(&s);
	return o;
}

/*
 * The youths: 1 wijk and jz (a match, a lookup), 2 wijk, jz and vt, vt
 * archived (a match left), 3 wijk alone, 4 jz alone and archived, 5 ggd
 * and wijk, ggd withdrawn unjustified (the match closed), 6 vt and ggd.
 */
static void
populate(void)
{
	struct store_view v;
	uint8_t p[PSEUDONYM_LEN];

	reg(wijk, 1, T0 + 1);
	reg(jz, 1, T0 + 2);
	pseudonym(p, 1);
	cr_assert_eq(involved_p(jz, p, &v), 0);
	store_view_free(&v);
	reg(wijk, 2, T0 + 3);
	reg(jz, 2, T0 + 4);
	reg(vt, 2, T0 + 5);
	pseudonym(p, 2);
	cr_assert_eq(withdraw_p(vt, p, RISK_RESOLVED, T0 + 6), 0);
	reg(wijk, 3, T0 + 7);
	reg(jz, 4, T0 + 8);
	pseudonym(p, 4);
	cr_assert_eq(withdraw_p(jz, p, RISK_RESOLVED, T0 + 9), 0);
	reg(ggd, 5, T0 + 10);
	reg(wijk, 5, T0 + 11);
	pseudonym(p, 5);
	cr_assert_eq(withdraw_p(ggd, p, UNJUSTIFIED, T0 + 12), 0);
	reg(vt, 6, T0 + 13);
	reg(ggd, 6, T0 + 14);
}

/* The pseudonym p is one of this file's youths: which (0: none). */
static unsigned
youth_of(const uint8_t *p)
{
	uint8_t q[PSEUDONYM_LEN];

	for (unsigned y = 1; y <= 1000; y++) {
		pseudonym(q, y);
		if (memcmp(p, q, PSEUDONYM_LEN) == 0)
			return y;
	}
	return 0;
}

/*
 * The rotation as a caller runs it: batch after batch, each scanning on
 * from the cursor kept in meta, moving what it found to rotated() and
 * keeping the cursor again, until the scan is done. Returns the number
 * of batches; moved[y] counts youth y's records moved.
 */
static size_t
rotate_all(size_t *moved, size_t nmoved)
{
	uint8_t found[BATCH][PSEUDONYM_LEN], to[PSEUDONYM_LEN];
	char text[STORE_YOUTH_CURSOR_TEXT];
	struct store_youth_cursor cur;
	size_t batches = 0, n, m;
	int err;

	do {
		struct store_txn *t = storefix_begin(st);

		cr_assert_eq(store_job_begin(t), 0);
		memset(&cur, 0, sizeof(cur));
		err = store_meta_get(t, CURSOR_NAME, text, sizeof(text));
		cr_assert(err == 0 || (err == VIX_E_NOT_FOUND &&
		    batches == 0), "meta get: %d", err);
		if (err == 0)
			cr_assert_eq(store_youth_cursor_parse(text, &cur), 0);
		cr_assert_eq(store_youth_scan(t, &cur, 0, found, BATCH, &n),
		    0);
		cr_assert_leq(n, BATCH);
		for (size_t i = 0; i < n; i++) {
			unsigned y = youth_of(found[i]);

			cr_assert(y != 0 && y < nmoved, "an unknown youth");
			rotated(to, y);
			cr_assert_eq(store_youth_move(t, found[i], to, &m), 0);
			moved[y] += m;
		}
		store_youth_cursor_text(&cur, text, sizeof(text));
		cr_assert_eq(store_meta_put(t, CURSOR_NAME, text), 0);
		cr_assert_eq(store_job_end(t, 0), 0);
		storefix_commit(t);
		cr_assert_lt(++batches, 100, "the scan does not end");
	} while (!cur.done);
	return batches;
}

/* ---- the rotation --------------------------------------------------------- */

TestSuite(rotate, .init = setup_started, .fini = teardown);

Test(rotate, every_youth_moves_with_all_its_records)
{
	static struct rows before, after;
	struct seen was[NYOUTHS + 1];
	struct storefix_counts c0, c1;
	struct store_summary sum0[16], sum1[16];
	size_t moved[NYOUTHS + 1] = { 0 }, nsum0, nsum1;
	uint8_t p[PSEUDONYM_LEN], q[PSEUDONYM_LEN];
	uint64_t audit0;

	populate();
	c0 = storefix_counts(rd);
	audit0 = storefix_audit_good(rd);
	all_rows(&before);
	cr_assert_gt(before.n, 4, "the youths' matches wrote rows");
	nsum0 = storefix_list_all(rd, wijk->sid, sum0, 16);
	for (unsigned y = 1; y <= NYOUTHS; y++) {
		pseudonym(p, y);
		cr_assert_eq(known(p), 1, "youth %u", y);
		was[y] = subject(p);
		cr_assert_gt(was[y].naudit, 0, "youth %u", y);
	}

	/* Bounded batches: two youths at most, so several of them. */
	cr_assert_geq(rotate_all(moved, NYOUTHS + 1), NYOUTHS / BATCH);

	for (unsigned y = 1; y <= NYOUTHS; y++) {
		struct seen now;

		pseudonym(p, y);
		rotated(q, y);
		cr_assert_gt(moved[y], 0, "youth %u", y);
		cr_assert_eq(known(p), 0, "youth %u under its old pseudonym",
		    y);
		cr_assert_eq(known(q), 1, "youth %u", y);
		now = subject(q);
		cr_assert_eq(now.nsignals, was[y].nsignals, "youth %u", y);
		cr_assert_eq(now.naudit, was[y].naudit, "youth %u", y);
		cr_assert_eq(now.nclosed, was[y].nclosed, "youth %u", y);
		cr_assert_eq(now.has_match, was[y].has_match, "youth %u", y);
		cr_assert_eq(now.match_id, was[y].match_id, "youth %u", y);
		cr_assert_arr_eq(now.signal_ids, was[y].signal_ids,
		    sizeof(now.signal_ids));
		cr_assert_arr_eq(now.audit_seqs, was[y].audit_seqs,
		    sizeof(now.audit_seqs));
		now = subject(p);
		cr_assert_eq(now.nsignals + now.naudit + now.has_match, 0,
		    "youth %u's old pseudonym still finds records", y);
	}
	/* Nothing added, nothing lost: counts, chain, rows, lists. */
	c1 = storefix_counts(rd);
	cr_assert_eq(c1.signals, c0.signals);
	cr_assert_eq(c1.matches, c0.matches);
	cr_assert_eq(c1.archived, c0.archived);
	cr_assert_eq(storefix_audit_good(rd), audit0);
	all_rows(&after);
	cr_assert_eq(after.n, before.n);
	for (size_t i = 0; i < before.n; i++) {
		cr_assert_eq(after.v[i].recipient, before.v[i].recipient);
		cr_assert_eq(after.v[i].seq, before.v[i].seq, "row %zu", i);
		cr_assert_eq(after.v[i].len, before.v[i].len, "row %zu", i);
		cr_assert_arr_eq(after.v[i].msg, before.v[i].msg,
		    before.v[i].len, "row %zu", i);
	}
	nsum1 = storefix_list_all(rd, wijk->sid, sum1, 16);
	cr_assert_eq(nsum1, nsum0);
	for (size_t i = 0; i < nsum0; i++) {
		cr_assert_eq(sum1[i].signal_id, sum0[i].signal_id);
		cr_assert_eq(sum1[i].match_id, sum0[i].match_id);
	}
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(rotate, the_new_pseudonym_works_and_the_old_finds_nothing)
{
	size_t moved[NYOUTHS + 1] = { 0 }, removed, withdrawn;
	uint8_t p[PSEUDONYM_LEN], q[PSEUDONYM_LEN];
	struct store_view v;
	uint64_t id1, id3;
	int refreshed;

	populate();
	pseudonym(p, 3);
	id3 = subject(p).signal_ids[0];
	pseudonym(p, 1);
	cr_assert_eq(involved_p(jz, p, &v), 0);
	id1 = v.match.id;
	store_view_free(&v);
	rotate_all(moved, NYOUTHS + 1);

	/* Involved: the match by the new pseudonym, nothing by the old. */
	rotated(q, 1);
	cr_assert_eq(involved_p(jz, q, &v), 0);
	cr_assert(v.has_match);
	cr_assert_eq(v.match.id, id1);
	cr_assert_eq(v.n_others, 1);
	cr_assert_eq(v.others[0].org, wijk->sid);
	store_view_free(&v);
	cr_assert_eq(involved_p(jz, p, &v), VIX_E_PERMISSION);

	/* A registration by the new pseudonym refreshes the signal. */
	rotated(q, 3);
	pseudonym(p, 3);
	cr_assert_eq(reg_as(wijk, q, 3, T0 + 600, &refreshed), id3);
	cr_assert(refreshed, "the moved signal was not found");

	/* Withdrawal by pseudonym. */
	cr_assert_eq(withdraw_p(wijk, p, UNJUSTIFIED, T0 + 700),
	    VIX_E_NOT_FOUND);
	cr_assert_eq(withdraw_p(wijk, q, UNJUSTIFIED, T0 + 701), 0);

	/* Erasure: the rows about youth 1 are found under its new name. */
	pseudonym(p, 1);
	storefix_erase(st, orgs, p, T0 + 800, &removed, &withdrawn);
	cr_assert_eq(removed + withdrawn, 0);
	rotated(q, 1);
	storefix_erase(st, orgs, q, T0 + 801, &removed, &withdrawn);
	cr_assert_eq(removed, 2);
	cr_assert_gt(withdrawn, 0);
	cr_assert_eq(known(q), 0);
	cr_assert_gt(storefix_audit_good(rd), 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(rotate, a_second_scan_finds_no_youth_of_the_old_parity)
{
	uint8_t found[4][PSEUDONYM_LEN];
	struct store_youth_cursor cur;
	size_t moved[NYOUTHS + 1] = { 0 }, n, total = 0, calls = 0;
	struct store_txn *t;

	populate();
	rotate_all(moved, NYOUTHS + 1);
	t = storefix_begin(st);
	memset(&cur, 0, sizeof(cur));
	while (!cur.done) {
		cr_assert_eq(store_youth_scan(t, &cur, 0, found, 4, &n), 0);
		total += n;
		cr_assert_lt(++calls, 100);
	}
	cr_assert_eq(total, 0, "%zu youths left under the old key", total);
	/* The other parity: every youth, at least once. */
	memset(&cur, 0, sizeof(cur));
	total = 0;
	while (!cur.done) {
		cr_assert_eq(store_youth_scan(t, &cur, 1, found, 4, &n), 0);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(found[i][0] & 1, 1);
		total += n;
		cr_assert_lt(++calls, 200);
	}
	cr_assert_geq(total, NYOUTHS);
	store_write_abort(t);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * Not moving what it finds, a scan resumed from its cursor (kept as text
 * between calls) goes on after it: each youth once per table, in order.
 */
Test(rotate, a_scan_goes_on_from_its_cursor)
{
	uint8_t found[BATCH][PSEUDONYM_LEN];
	char text[STORE_YOUTH_CURSOR_TEXT];
	struct store_youth_cursor cur;
	unsigned seq[64], times[NYOUTHS + 1] = { 0 };
	size_t n, nseq = 0;
	struct store_txn *t;

	/*
	 * Each youth in signals and in matches (the next table after it,
	 * or beside the signals in the same one).
	 */
	for (unsigned y = 1; y <= NYOUTHS; y++) {
		reg(wijk, y, T0 + y);
		reg(jz, y, T0 + y);
	}
	memset(&cur, 0, sizeof(cur));
	t = storefix_begin(st);
	while (!cur.done) {
		store_youth_cursor_text(&cur, text, sizeof(text));
		memset(&cur, 0xEE, sizeof(cur));
		cr_assert_eq(store_youth_cursor_parse(text, &cur), 0);
		cr_assert_eq(store_youth_scan(t, &cur, 0, found, BATCH, &n), 0);
		for (size_t i = 0; i < n; i++) {
			cr_assert_lt(nseq, 64);
			seq[nseq] = youth_of(found[i]);
			cr_assert(seq[nseq] >= 1 && seq[nseq] <= NYOUTHS);
			times[seq[nseq++]]++;
		}
	}
	store_write_abort(t);
	/*
	 * Signals first, in pseudonym order, then each further table that
	 * holds them (matches, unless the backend keeps them beside the
	 * signals: LMDB from schema 12).
	 */
	cr_assert_geq(nseq, NYOUTHS);
	cr_assert_eq(nseq % NYOUTHS, 0, "%zu: a youth twice in a table", nseq);
	for (size_t i = 0; i < nseq; i++)
		cr_assert_eq(seq[i], i % NYOUTHS + 1, "found %u at %zu",
		    seq[i], i);
	for (unsigned y = 2; y <= NYOUTHS; y++)
		cr_assert_eq(times[y], times[1], "youth %u", y);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(rotate, a_scan_call_visits_a_bounded_number_of_youths)
{
	uint8_t found[1][PSEUDONYM_LEN];
	struct store_youth_cursor cur;
	struct store_txn *t;
	size_t n, calls = 0;
	uint8_t p[PSEUDONYM_LEN];

	/* 40 youths of parity 1 (none to return), then one of parity 0. */
	for (unsigned y = 1; y <= 40; y++) {
		int refreshed;

		rotated(p, y);
		reg_as(wijk, p, y, T0 + y, &refreshed);
	}
	reg(wijk, 0x200 + 1, T0 + 100);
	t = storefix_begin(st);
	memset(&cur, 0, sizeof(cur));
	/* One youth asked: at most 16 visited per call, so several calls. */
	do {
		cr_assert_eq(store_youth_scan(t, &cur, 0, found, 1, &n), 0);
		cr_assert_lt(++calls, 1000);
	} while (n == 0 && !cur.done);
	cr_assert_eq(n, 1);
	cr_assert_eq(youth_of(found[0]), 0x200 + 1);
	/* 41 signals, one a visit: no call visited more than it may. */
	cr_assert_geq(calls, (41 + STORE_YOUTH_SCAN_VISITS - 1) /
	    STORE_YOUTH_SCAN_VISITS, "%zu calls", calls);
	store_write_abort(t);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(rotate, moving_onto_an_occupied_pseudonym_is_refused)
{
	uint8_t p[PSEUDONYM_LEN], q[PSEUDONYM_LEN], none[PSEUDONYM_LEN];
	size_t moved = 99;

	populate();
	pseudonym(p, 2);
	pseudonym(q, 4);	/* archived only: still occupied */
	cr_assert_eq(move(p, q, &moved), VIX_E_PRECONDITION);
	cr_assert_eq(moved, 0);
	cr_assert_eq(move(p, p, &moved), VIX_E_INVALID);
	/* Refused: both keep what they had (2 active, 1 archived). */
	cr_assert_eq(subject(p).nsignals, 3);
	cr_assert_eq(subject(q).nsignals, 1);
	/* From a pseudonym that holds nothing: 0 moved, not an error. */
	pseudonym(none, 77);
	rotated(q, 77);
	cr_assert_eq(move(none, q, &moved), 0);
	cr_assert_eq(moved, 0);
	cr_assert_eq(known(q), 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * In one batch: the outbox rows a job wrote (a backend may keep them
 * until commit) move with the youth, and a move rolled back with its job
 * leaves the youth where it was.
 */
Test(rotate, a_move_in_a_batch_takes_its_rows_and_a_refused_one_nothing)
{
	struct store_register_in in;
	struct store_register_out out;
	uint8_t p[PSEUDONYM_LEN], q[PSEUDONYM_LEN];
	size_t moved, removed, withdrawn;
	struct store_txn *t = storefix_begin(st);

	storefix_reg_in(&in, orgs, wijk, FILL, 7, T0);
	cr_assert_eq(storefix_job_register(t, &in, 0, &out), 0);
	storefix_reg_in(&in, orgs, jz, FILL, 7, T0 + 1);
	cr_assert_eq(storefix_job_register(t, &in, 0, &out), 0);
	storefix_reg_in(&in, orgs, wijk, FILL, 8, T0);
	cr_assert_eq(storefix_job_register(t, &in, 0, &out), 0);
	storefix_reg_in(&in, orgs, jz, FILL, 8, T0 + 1);
	cr_assert_eq(storefix_job_register(t, &in, 0, &out), 0);
	pseudonym(p, 7);
	rotated(q, 7);
	cr_assert_eq(store_job_begin(t), 0);
	cr_assert_eq(store_job_end(t, store_youth_move(t, p, q, &moved)), 0);
	cr_assert_gt(moved, 0);
	pseudonym(p, 8);
	rotated(q, 8);
	cr_assert_eq(store_job_begin(t), 0);
	cr_assert_eq(store_youth_move(t, p, q, &moved), 0);
	cr_assert_eq(store_job_end(t, VIX_E_INVALID), VIX_E_INVALID);
	storefix_commit(t);

	pseudonym(p, 7);
	rotated(q, 7);
	cr_assert_eq(known(p), 0);
	storefix_erase(st, orgs, q, T0 + 10, &removed, &withdrawn);
	cr_assert_eq(removed, 2);
	cr_assert_eq(withdrawn, 2, "the match's rows did not move");
	pseudonym(p, 8);
	rotated(q, 8);
	cr_assert_eq(known(q), 0);
	storefix_erase(st, orgs, p, T0 + 10, &removed, &withdrawn);
	cr_assert_eq(removed, 2);
	cr_assert_eq(withdrawn, 2, "the rolled back move kept the rows");
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- the cursor as text, and store meta ------------------------------------ */

Test(rotate, the_cursor_goes_to_text_and_back)
{
	struct store_youth_cursor a, b;
	char text[STORE_YOUTH_CURSOR_TEXT];

	memset(&a, 0, sizeof(a));
	a.table = 3;
	a.started = 1;
	for (size_t i = 0; i < PSEUDONYM_LEN; i++)
		a.last[i] = (uint8_t)(i * 37);
	store_youth_cursor_text(&a, text, sizeof(text));
	cr_assert_eq(strlen(text), 2 * sizeof(a));
	cr_assert_eq(store_youth_cursor_parse(text, &b), 0);
	cr_assert_arr_eq(&a, &b, sizeof(a));
	text[5] = 'x';
	cr_assert_eq(store_youth_cursor_parse(text, &b), VIX_E_INVALID);
	cr_assert_eq(store_youth_cursor_parse("00", &b), VIX_E_INVALID);
}

Test(rotate, meta_values_round_trip_apart_from_the_backends_keys)
{
	struct store_txn *t = storefix_begin(st);
	char buf[64], big[STORE_META_VALUE_MAX + 2];
	struct diag d;

	cr_assert_eq(store_job_begin(t), 0);
	cr_assert_eq(store_meta_get(t, "rotation.state", buf, sizeof(buf)),
	    VIX_E_NOT_FOUND);
	cr_assert_eq(store_meta_put(t, "rotation.state", "running 1"), 0);
	cr_assert_eq(store_meta_get(t, "rotation.state", buf, sizeof(buf)),
	    0);
	cr_assert_str_eq(buf, "running 1");
	cr_assert_eq(store_meta_put(t, "rotation.state", "running 2"), 0);
	/* Names the backends use for themselves are the caller's own here. */
	cr_assert_eq(store_meta_put(t, "key_id", "not the key"), 0);
	cr_assert_eq(store_meta_put(t, "schema_version", "99"), 0);
	cr_assert_eq(store_meta_put(t, "schema", "99"), 0);
	/* Refused: bad names, bad values, too small a buffer. */
	cr_assert_eq(store_meta_put(t, "", "x"), VIX_E_INVALID);
	cr_assert_eq(store_meta_put(t, "a name", "x"), VIX_E_INVALID);
	cr_assert_eq(store_meta_put(t, "a", "two\nlines"), VIX_E_INVALID);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(store_meta_put(t, "a", big), VIX_E_INVALID);
	big[sizeof(big) - 2] = '\0';
	cr_assert_eq(store_meta_put(t, "big", big), 0);
	cr_assert_eq(store_meta_get(t, "rotation.state", buf, 5),
	    VIX_E_INVALID);
	cr_assert_eq(store_job_end(t, 0), 0);
	storefix_commit(t);

	cr_assert_eq(store_reader_meta_get(rd, "rotation.state", buf,
	    sizeof(buf)), 0);
	cr_assert_str_eq(buf, "running 2");
	cr_assert_eq(store_reader_meta_get(rd, "big", big, sizeof(big)), 0);
	cr_assert_eq(strlen(big), STORE_META_VALUE_MAX);
	/* The store still opens, its key id its own. */
	stop();
	st = open_store(MAP_SIZE, 90);
	rd = store_reader_new(st);
	diag_init(&d);
	cr_assert_eq(store_check_key(st, "0123456789abcdef", "k", &d), 0,
	    "%s", d.text);
	cr_assert_eq(store_check_key(st, "fedcba9876543210", "k", &d), -1);
	cr_assert_eq(store_reader_meta_get(rd, "key_id", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "not the key");

	t = storefix_begin(st);
	cr_assert_eq(store_job_begin(t), 0);
	cr_assert_eq(store_meta_put(t, "rotation.state", NULL), 0);
	cr_assert_eq(store_meta_put(t, "rotation.state", NULL), 0);
	cr_assert_eq(store_job_end(t, 0), 0);
	storefix_commit(t);
	cr_assert_eq(store_reader_meta_get(rd, "rotation.state", buf,
	    sizeof(buf)), VIX_E_NOT_FOUND);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}
