/*
 * The store conformance suite, the copy: an LMDB store, as a vixd on one
 * node leaves it, imported into an empty store of the backend under test
 * (vixd --import-lmdb) keeps every record: signals and matches as the
 * organisations see them, the archive, outbox rows with their seqs and
 * cursors, the daily counts, the audit trail with its hashes and youth
 * links, the organisation ids and the allocators' next values.
 *
 * Youths are known here only by fixed pseudonym byte patterns; no BSN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "errors.h"
#include "orgs.h"
#include "store.h"
#include "storefix.h"
#include "support.h"

#define MAP_SIZE	STOREFIX_MAP_SIZE
#define T0		STOREFIX_T0
#define FILL		0xB7		/* of this file's pseudonyms */

static const char orgs_conf[] = STOREFIX_ORGS_CONF;

#include "store_tests.h"

TestSuite(import, .init = setup_started, .fini = teardown, .timeout = 60);

/* The LMDB store a one-node vixd keeps, in src (store_options). */
static struct store *
lmdb_source(const char *src, struct store_options *so)
{
	struct diag d;
	struct store *s;

	memset(so, 0, sizeof(*so));
	so->dir = src;
	so->map_size = MAP_SIZE;
	so->quota_percent = 90;
	so->escalate_after = 14 * 86400;
	so->backend = "lmdb";
	diag_init(&d);
	s = store_open(so, &d);
	cr_assert_not_null(s, "source store: %s", d.text);
	storefix_bind(s, orgs);
	return s;
}

struct rows {
	uint64_t	seq[16];
	size_t		len[16];
	uint8_t		row[16][512];
	size_t		n;
};

static int
keep_row(void *arg, uint64_t seq, const void *msg, size_t len)
{
	struct rows *r = arg;

	cr_assert_lt(r->n, 16);
	cr_assert_leq(len, sizeof(r->row[0]));
	r->seq[r->n] = seq;
	r->len[r->n] = len;
	memcpy(r->row[r->n++], msg, len);
	return 0;
}

static void
outbox_rows(struct store *s, const struct org *o, struct rows *r)
{
	struct store_reader *sr = store_reader_new(s);

	memset(r, 0, sizeof(*r));
	cr_assert_eq(store_outbox_read(sr, o->sid, 0, 16, keep_row, r), 0);
	store_reader_free(sr);
}

/* so's store imported into the test's: its counts, the copy verified. */
static void
import_from(const struct store_options *so, struct store_import_counts *n)
{
	struct diag d;

	diag_init(&d);
	cr_assert_eq(store_import(st, so, "admin:uid=0", n, &d), 0,
	    "import: %s", d.text);
	cr_assert_eq(n->dst_audit_good, n->src_audit_good + 1, "the import "
	    "is recorded after the copied trail");
}

/* The seqs of the audit records linked to youth p in s, into seq[]. */
static size_t
linked(struct store *s, const uint8_t *p, uint64_t *seq, size_t max)
{
	struct store_reader *sr = store_reader_new(s);
	struct store_subject sub;
	size_t n;

	cr_assert_eq(store_subject_report(sr, p, &sub), 0);
	cr_assert_leq(sub.naudit, max);
	for (n = 0; n < sub.naudit; n++)
		seq[n] = sub.audit[n].seq;
	store_subject_free(&sub);
	store_reader_free(sr);
	return n;
}

/*
 * Every signal on youth p (n, active and archived) names its
 * organisation's contact as storefix_reg_in made it: "Contact <id>",
 * e-mail <id>@example.org.
 */
static void
expect_contacts(const uint8_t *p, size_t n)
{
	struct store_subject sub;
	char want[sizeof(sub.signals[0].contact.name)];

	cr_assert_eq(store_subject_report(rd, p, &sub), 0);
	cr_assert_eq(sub.nsignals, n);
	for (size_t i = 0; i < n; i++) {
		const struct store_contact *c = &sub.signals[i].contact;

		snprintf(want, sizeof(want), "Contact %.*s",
		    (int)strcspn(c->email, "@"), c->email);
		cr_assert_str_eq(c->name, want);
		cr_assert_not_null(strstr(c->email, "@example.org"));
		cr_assert_eq(strncmp(c->phone, "030-", 4), 0, "%s", c->phone);
	}
	store_subject_free(&sub);
}

Test(import, an_lmdb_store_copied_keeps_every_record)
{
	struct store_options so;
	struct store_import_counts n;
	struct store_register_in in;
	struct store_register_out out;
	struct store_withdraw_in wd = { 0 };
	struct store_withdraw_out wo;
	struct store_txn *t;
	struct store *src;
	struct rows before, after;
	struct diag d;
	uint8_t p1[PSEUDONYM_LEN], p2[PSEUDONYM_LEN];
	uint64_t acked, last, max_id = 0, links[2][16], copied[16];
	size_t nlinks[2];
	char *srcdir, text[16];
	struct storefix_counts c;

	cr_assert_neq(asprintf(&srcdir, "%s/source", dir), -1);
	src = lmdb_source(srcdir, &so);
	/* A match on youth 1 (wijk, then jz), youth 2 withdrawn by vt. */
	pseudonym(p1, 1);
	pseudonym(p2, 2);
	storefix_reg_in(&in, orgs, wijk, FILL, 1, T0);
	cr_assert_eq(storefix_register(src, &in, &out), 0);
	store_view_free(&out.view);
	max_id = out.signal_id;
	storefix_reg_in(&in, orgs, jz, FILL, 1, T0 + 10);
	cr_assert_eq(storefix_register(src, &in, &out), 0);
	store_view_free(&out.view);
	max_id = out.signal_id > max_id ? out.signal_id : max_id;
	storefix_reg_in(&in, orgs, vt, FILL, 2, T0 + 20);
	cr_assert_eq(storefix_register(src, &in, &out), 0);
	store_view_free(&out.view);
	max_id = out.signal_id > max_id ? out.signal_id : max_id;
	wd.org = vt;
	wd.orgs = orgs;
	memcpy(wd.pseudonym, p2, PSEUDONYM_LEN);
	wd.now = T0 + 30;
	wd.reason = STORE_WITHDRAW_RISK_RESOLVED;
	cr_assert_eq(storefix_withdraw(src, &wd, &wo), 0);
	/* jz has read and acked its first notification. */
	t = storefix_begin(src);
	cr_assert_eq(store_ack(t, jz->sid, jz->sid, 1, &acked), 0);
	storefix_commit(t);
	outbox_rows(src, wijk, &before);
	cr_assert_gt(before.n, 0, "the source has notifications for wijk");
	/* A value of the caller's own (a rotation's cursor, say). */
	t = storefix_begin(src);
	cr_assert_eq(store_meta_put(t, "rotation.cursor", "0001ff"), 0);
	storefix_commit(t);
	/* Youth 1's links kept in its signals, youth 2's of their own. */
	nlinks[0] = linked(src, p1, links[0], 16);
	nlinks[1] = linked(src, p2, links[1], 16);
	cr_assert_gt(nlinks[0], 0);
	cr_assert_gt(nlinks[1], 0);
	store_close(src);

	import_from(&so, &n);
	cr_assert_eq(n.signals, 2);
	cr_assert_eq(n.matches, 1);
	cr_assert_eq(n.archived, 1);
	cr_assert_gt(n.audit, 0);

	/* What the organisations see is what they saw. */
	c = storefix_counts(rd);
	cr_assert_eq(c.signals, 2);
	cr_assert_eq(c.matches, 1);
	cr_assert_eq(c.archived, 1);
	expect_contacts(p1, 2);
	expect_contacts(p2, 1);
	cr_assert_eq(n.links, nlinks[0] + nlinks[1]);
	cr_assert_eq(linked(st, p1, copied, 16), nlinks[0]);
	cr_assert_arr_eq(copied, links[0], nlinks[0] * sizeof(*copied));
	cr_assert_eq(linked(st, p2, copied, 16), nlinks[1]);
	cr_assert_arr_eq(copied, links[1], nlinks[1] * sizeof(*copied));
	cr_assert_eq(storefix_match_seen_by(st, wijk, p1, T0 + 40).id,
	    storefix_match_seen_by(st, jz, p1, T0 + 40).id);
	outbox_rows(st, wijk, &after);
	cr_assert_eq(after.n, before.n);
	for (size_t i = 0; i < before.n; i++) {
		cr_assert_eq(after.seq[i], before.seq[i]);
		cr_assert_eq(after.len[i], before.len[i]);
		cr_assert_eq(memcmp(after.row[i], before.row[i],
		    before.len[i]), 0, "outbox row %zu differs", i);
	}
	cr_assert_eq(store_position(rd, jz->sid, jz->sid, &acked, &last), 0);
	cr_assert_eq(acked, 1, "jz's cursor");
	cr_assert_geq(last, 1);
	cr_assert_eq(store_reader_meta_get(rd, "rotation.cursor", text,
	    sizeof(text)), 0);
	cr_assert_str_eq(text, "0001ff");

	/* Allocators go on after the copied ids and seqs. */
	storefix_reg_in(&in, orgs, ggd, FILL, 1, T0 + 50);
	cr_assert_eq(storefix_register(st, &in, &out), 0);
	store_view_free(&out.view);
	cr_assert_gt(out.signal_id, max_id, "a new signal id repeats an old");
	outbox_rows(st, wijk, &after);
	cr_assert_eq(after.n, before.n + 1);
	cr_assert_eq(after.seq[before.n], before.seq[before.n - 1] + 1,
	    "wijk's outbox does not go on from its last seq");
	cr_assert_gt(storefix_audit_good(rd), n.dst_audit_good, "the trail "
	    "goes on from the copied head, every record verifying");

	/* A second import into what is now not empty is refused. */
	diag_init(&d);
	cr_assert_eq(store_import(st, &so, "admin:uid=0", &n, &d), -1);
	cr_assert(strstr(d.text, "not empty") != NULL, "%s", d.text);
	free(srcdir);
}

/*
 * A trail longer than LMDB's checkpoints (it keeps a record's hash every
 * 1024 records and the last one's): the copy gets the hash of every
 * record, computed as the source is read, and verifies whole (the
 * PostgreSQL backend keeps and checks every one of them).
 */
Test(import, a_long_audit_trail_is_copied_with_every_hash)
{
	struct store_import_counts n;
	struct store_options so;
	struct store *src;
	char *srcdir;

	cr_assert_neq(asprintf(&srcdir, "%s/source", dir), -1);
	src = lmdb_source(srcdir, &so);
	storefix_audit_many(src, 2100, T0);
	store_close(src);

	import_from(&so, &n);
	cr_assert_eq(n.audit, 2100);
	cr_assert_eq(n.src_audit_good, 2100);
	cr_assert_eq(storefix_audit_good(rd), 2101);
	free(srcdir);
}
