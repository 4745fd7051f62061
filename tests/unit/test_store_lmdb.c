/*
 * What only the LMDB store has, beside the conformance suite (test_store):
 * its folder and databases, the schema version and its migrations, a map
 * that runs full and the quota of it, and audit records changed underneath
 * the store. Direct LMDB access forges what the store would never write.
 * Always run against LMDB (meson sets VIX_TEST_BACKEND=lmdb).
 *
 * Youths are known here only by fixed pseudonym byte patterns; no BSN.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <lmdb.h>

#include "audit.h"
#include "diag.h"
#include "errors.h"
#include "orgs.h"
#include "store.h"
#include "store.pb-c.h"
#include "storefix.h"
#include "support.h"
#include "vix.pb-c.h"

#define OIN_WIJK	STOREFIX_OIN_WIJK

#define MAP_SIZE	STOREFIX_MAP_SIZE
#define T0		STOREFIX_T0
#define YEAR		(365 * 86400)
#define FILL		0xA1		/* of this file's pseudonyms */
/* The schema a new or converted store has (STORE_SCHEMA). */
#define SCHEMA_NOW	13

static const char orgs_conf[] = STOREFIX_ORGS_CONF;

#include "store_tests.h"

/* ---- helpers, over the shared fixture --------------------------------- */

static struct store_txn *
begin(void)
{
	return storefix_begin(st);
}

/* Register and expect success; returns the signal id. */
static uint64_t
must_register(const struct org *o, unsigned youth, int64_t now)
{
	struct store_register_out out;
	struct store_register_in in;

	storefix_reg_in(&in, orgs, o, FILL, youth, now);
	cr_assert_eq(storefix_register(st, &in, &out), 0);
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

/* Register in the open batch t; the job ends with end_err (or its own). */
static int
job_register(struct store_txn *t, const struct org *o, unsigned youth,
    int64_t now, int end_err, struct store_register_out *out)
{
	struct store_register_in in;

	storefix_reg_in(&in, orgs, o, FILL, youth, now);
	return storefix_job_register(t, &in, end_err, out);
}

static size_t
signals(void)
{
	return storefix_counts(rd).signals;
}

static uint64_t
audit_good(void)
{
	return storefix_audit_good(rd);
}

/* ---- direct LMDB access, to forge what the store would never write ---- */

static MDB_env *
raw_open_at(const char *path)
{
	MDB_env *env;

	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 32), 0);
	cr_assert_eq(mdb_env_set_mapsize(env, MAP_SIZE), 0);
	cr_assert_eq(mdb_env_open(env, path, 0, 0600), 0);
	return env;
}

static MDB_env *
raw_open(void)
{
	return raw_open_at(dbdir);
}

/* End a forge: commit txn (or abort it, having only read), close env. */
static void
raw_close(MDB_env *env, MDB_txn *txn, int commit)
{
	if (commit)
		cr_assert_eq(mdb_txn_commit(txn), 0);
	else
		mdb_txn_abort(txn);
	mdb_env_close(env);
}

static MDB_dbi
raw_dbi(MDB_txn *txn, const char *name)
{
	MDB_dbi dbi;

	cr_assert_eq(mdb_dbi_open(txn, name, 0, &dbi), 0, "%s", name);
	return dbi;
}

static void
raw_put(const char *db, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	MDB_env *env = raw_open();
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	MDB_txn *txn;
	MDB_dbi dbi;

	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* The stored value under key, copied into buf; returns its length. */
static size_t
raw_get(const char *db, const void *key, size_t klen, void *buf, size_t len)
{
	MDB_env *env = raw_open();
	MDB_val k = { klen, (void *)key }, v;
	MDB_txn *txn;
	MDB_dbi dbi;

	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
	cr_assert_eq(mdb_get(txn, dbi, &k, &v), 0);
	cr_assert_leq(v.mv_size, len);
	memcpy(buf, v.mv_data, v.mv_size);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return v.mv_size;
}

static void
raw_del(const char *db, const void *key, size_t klen)
{
	MDB_env *env = raw_open();
	MDB_val k = { klen, (void *)key };
	MDB_txn *txn;
	MDB_dbi dbi;

	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
	cr_assert_eq(mdb_del(txn, dbi, &k, NULL), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
be64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * (7 - i)));
}

static uint64_t
get_be64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* ---- opening ----------------------------------------------------------- */

TestSuite(store_open, .init = setup, .fini = teardown);

Test(store_open, creates_directory_and_databases)
{
	static const char *names[] = { "signals", "org_signals",
	    "signal_owner", "expiry_due", "escalate_due", "matches", "archive", "audit", "meta", "youth_outbox",
	    "outbox_youth", "youth_audit", "contacts", "contact_index" };
	static const char *gone[] = { "by_org", "sigid", "signal_org",
	    "expiry", "escalate" };
	struct stat sb;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t schema[8], want[8];
	char *data;

	cr_assert_eq(stat(dbdir, &sb), -1, "the store must not exist yet");
	start(MAP_SIZE, 90);
	cr_assert_eq(stat(dbdir, &sb), 0);
	cr_assert(S_ISDIR(sb.st_mode));
	cr_assert_eq(sb.st_mode & 0777, 0700);
	data = support_path(dbdir, "data.mdb");
	cr_assert_eq(stat(data, &sb), 0);
	free(data);
	stop();

	env = raw_open();
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert_eq(mdb_dbi_open(txn, names[i], 0, &dbi), 0,
		    "database %s is missing", names[i]);
	for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		cr_assert_eq(mdb_dbi_open(txn, gone[i], 0, &dbi), MDB_NOTFOUND,
		    "a new store has %s, of an earlier schema", gone[i]);
	mdb_txn_abort(txn);
	mdb_env_close(env);

	cr_assert_eq(raw_get("meta", "schema", 6, schema, sizeof(schema)), 8);
	be64(want, SCHEMA_NOW);
	cr_assert_arr_eq(schema, want, 8);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_open, a_newer_schema_is_refused)
{
	struct store_options o;
	struct store *s;
	struct diag d;
	uint8_t v[8];

	start(MAP_SIZE, 90);
	stop();
	be64(v, 99);
	raw_put("meta", "schema", 6, v, sizeof(v));

	storefix_options(&o, dbdir, MAP_SIZE, 90, 14 * 86400);
	diag_init(&d);
	s = store_open(&o, &d);
	cr_assert_null(s, "a store of schema 99 must be refused");
	cr_assert_geq(d.count, 1);
	cr_assert_not_null(strstr(d.text, "schema version 99"), "%s", d.text);
	cr_assert_not_null(strstr(d.text, dbdir), "%s", d.text);

	/* Refusing did not downgrade the version. */
	cr_assert_eq(raw_get("meta", "schema", 6, v, sizeof(v)), 8);
	cr_assert_eq(v[7], 99);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- a full map, and the quota of it ---------------------------------- */

#define TINY_MAP	(64u * 4096u)
#define FILL_MAX	4000

/* The quota as a fresh batch sees it. */
static int
over_quota(char *why, size_t len)
{
	struct store_txn *t = begin();
	int over = store_over_quota(t, why, len);

	store_write_abort(t);
	return over;
}

/* Register youths in batches of 8 until the map is full. */
static int
fill(uint64_t *ids, size_t *committed)
{
	struct store_register_out out;
	uint64_t pending[8];
	unsigned youth = 0;
	int failed = 0;

	*committed = 0;
	while (failed == 0 && youth < FILL_MAX) {
		struct store_txn *t = begin();
		size_t np = 0;
		int err;

		for (int i = 0; i < 8; i++, youth++) {
			err = job_register(t, wijk, youth, T0 + youth, 0, &out);
			cr_assert(err == 0 || err == VIX_E_FULL,
			    "register %u: error %d, not FULL", youth, err);
			if (err != 0)
				failed = err;
			else
				pending[np++] = out.signal_id;
		}
		err = store_write_commit(t);
		cr_assert(err == 0 || err == VIX_E_FULL,
		    "commit: error %d, not FULL", err);
		if (err != 0) {
			failed = err;
			continue;
		}
		memcpy(ids + *committed, pending, np * sizeof(*ids));
		*committed += np;
	}
	return failed;
}

static void
check_all_listed(const uint64_t *ids, size_t committed)
{
	struct store_summary *sum = calloc(FILL_MAX, sizeof(*sum));
	size_t n;

	cr_assert_not_null(sum);
	cr_assert_eq(signals(), committed);
	n = storefix_list_all(rd, wijk->sid, sum, FILL_MAX);
	cr_assert_eq(n, committed);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(sum[i].signal_id, ids[i], "signal %zu", i);
	free(sum);
	cr_assert_eq(audit_good(), committed);
}

TestSuite(store_full, .init = setup, .fini = teardown);

Test(store_full, a_full_map_is_reported_as_full_not_as_corruption)
{
	uint64_t *ids = calloc(FILL_MAX, sizeof(*ids));
	size_t committed;
	char why[512];

	cr_assert_not_null(ids);
	start(TINY_MAP, 99);
	cr_assert_eq(over_quota(why, sizeof(why)), 0);
	cr_assert_eq(fill(ids, &committed), VIX_E_FULL,
	    "the map never filled");
	cr_assert_gt(committed, 0);
	check_all_listed(ids, committed);

	/* It opens again with everything committed before the failure. */
	stop();
	st = open_store(TINY_MAP, 99);
	rd = store_reader_new(st);
	check_all_listed(ids, committed);

	/* Above the quota the store says so and names the remedy. */
	stop();
	st = open_store(TINY_MAP, 25);
	rd = store_reader_new(st);
	cr_assert_eq(over_quota(why, sizeof(why)), 1);
	cr_assert_not_null(strstr(why, "map_size"), "%s", why);
	free(ids);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_full, the_quota_counts_what_the_batch_added)
{
	struct store_register_out out;
	struct store_txn *t;
	unsigned youth;
	char why[512];

	start(TINY_MAP, 25);
	cr_assert_eq(over_quota(why, sizeof(why)), 0);
	t = begin();
	for (youth = 0; youth < FILL_MAX; youth++) {
		if (store_over_quota(t, why, sizeof(why)))
			break;
		cr_assert_eq(job_register(t, wijk, youth, T0, 0, &out), 0,
		    "the map filled before the quota was reached");
	}
	cr_assert_lt(youth, FILL_MAX);
	cr_assert_gt(youth, 0);
	cr_assert_not_null(strstr(why, "map_size"), "%s", why);
	/* Nothing is committed yet: a new batch starts under the quota. */
	store_write_abort(t);
	cr_assert_eq(over_quota(why, sizeof(why)), 0);
	cr_assert_eq(signals(), 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- the audit trail, changed underneath ------------------------------- */

TestSuite(store_audit, .init = setup_started, .fini = teardown);

/* Flip one byte of audit record seq at offset (from the end if < 0). */
static void
tamper(uint64_t seq, long offset)
{
	uint8_t key[8], buf[1024];
	size_t n;

	be64(key, seq);
	n = raw_get("audit", key, sizeof(key), buf, sizeof(buf));
	cr_assert_gt(n, offset < 0 ? (size_t)-offset : (size_t)offset);
	buf[offset < 0 ? (long)n + offset : offset] ^= 0x20;
	raw_put("audit", key, sizeof(key), buf, n);
}

/* meta's key of chain 0's head: "ahead:" . chain. */
static const uint8_t head_key[] = { 'a', 'h', 'e', 'a', 'd', ':', 0, 0, 0,
    0 };

/* Chain 0's head in meta: its seq, and its hash into hash (unless NULL). */
static uint64_t
raw_head(uint8_t *hash)
{
	uint8_t v[8 + 32];

	cr_assert_eq(raw_get("meta", head_key, sizeof(head_key), v,
	    sizeof(v)), sizeof(v));
	if (hash != NULL)
		memcpy(hash, v + 8, 32);
	return (uint64_t)v[6] << 8 | v[7];
}

/*
 * The chain breaks: the first record not confirmed is bad, found where
 * that showed (the next hash kept), count records before it verify.
 */
static void
expect_broken(uint64_t bad, uint64_t found, uint64_t count)
{
	struct store_audit_result res;
	uint64_t n, b;

	cr_assert_eq(store_audit_check(rd, &res), 0);
	cr_assert_eq(res.bad, bad, "bad %llu", (unsigned long long)res.bad);
	cr_assert_eq(res.found, found, "found at %llu",
	    (unsigned long long)res.found);
	cr_assert_eq(res.count, count, "%llu verify",
	    (unsigned long long)res.count);
	cr_assert_eq(store_audit_verify(rd, &n, NULL, &b), 0);
	cr_assert_eq(b, bad);
	cr_assert_eq(n, count);
}

/* Reopen the store after changing it underneath. */
static void
reopen(void)
{
	st = open_store(MAP_SIZE, 90);
	rd = store_reader_new(st);
}

/*
 * Four records: only the last keeps a hash (the head's, in meta). A
 * changed record shows there, and the whole window is not confirmed.
 */
Test(store_audit, a_changed_record_breaks_the_chain)
{
	for (unsigned i = 0; i < 4; i++)
		must_register(wijk, i, T0 + i);
	cr_assert_eq(audit_good(), 4);
	stop();
	tamper(2, 1);			/* its time, still a varint */
	reopen();
	expect_broken(1, 4, 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

static void
audit_many(unsigned n)
{
	storefix_audit_many(st, n, T0);
}

#define LONG_CHAIN	2050		/* checkpoints 1024, 2048; head 2050 */

/* The stored value of audit record seq into buf (1 KiB): its length. */
static size_t
raw_audit(uint64_t seq, uint8_t *buf)
{
	uint8_t key[8];

	be64(key, seq);
	return raw_get("audit", key, sizeof(key), buf, 1024);
}

/*
 * Schema 9: a record keeps its hash only at a checkpoint (every 1024th)
 * and the last one's is its chain's head in meta; the chain verifies
 * whole, and goes on after a reopen from the head.
 */
Test(store_audit, hashes_are_kept_at_checkpoints_and_the_head)
{
	uint8_t buf[1024], hash[32];

	audit_many(LONG_CHAIN);
	cr_assert_eq(audit_good(), LONG_CHAIN);
	stop();
	cr_assert_lt(raw_audit(1023, buf), 16, "no hash");
	cr_assert_gt(raw_audit(1024, buf), 32, "a checkpoint's hash");
	cr_assert_lt(raw_audit(1025, buf), 16);
	cr_assert_gt(raw_audit(2048, buf), 32);
	cr_assert_lt(raw_audit(LONG_CHAIN, buf), 16, "the head's is in meta");
	cr_assert_eq(raw_head(hash), LONG_CHAIN);
	reopen();
	must_register(wijk, 1, T0 + 5000);
	cr_assert_eq(audit_good(), LONG_CHAIN + 1);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* A checkpoint's record reads back without its hash (subject report). */
Test(store_audit, a_checkpoint_record_reads_back_whole)
{
	struct store_subject sub;
	uint8_t p[PSEUDONYM_LEN];

	audit_many(1023);
	must_register(wijk, 7, T0 + 5000);	/* record 1024, youth 7's */
	pseudonym(p, 7);
	cr_assert_eq(store_subject_report(rd, p, &sub), 0);
	cr_assert_eq(sub.naudit, 1);
	cr_assert_eq(sub.audit[0].seq, 1024);
	cr_assert_str_eq(sub.audit[0].actor, OIN_WIJK);
	cr_assert_str_eq(sub.audit[0].action, "register");
	cr_assert_eq(sub.audit[0].time, T0 + 5000);
	store_subject_free(&sub);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* A record changed before or after a checkpoint shows at the next one. */
Test(store_audit, a_changed_record_shows_at_the_next_hash_kept)
{
	audit_many(LONG_CHAIN);
	stop();
	tamper(1500, 1);
	reopen();
	expect_broken(1025, 2048, 1024);
	stop();
	tamper(1500, 1);		/* back as it was */
	tamper(100, 1);
	reopen();
	expect_broken(1, 1024, 0);
	stop();
	tamper(100, 1);
	tamper(2049, 1);
	reopen();
	expect_broken(2049, LONG_CHAIN, 2048);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_audit, a_changed_checkpoint_hash_breaks_the_chain)
{
	audit_many(LONG_CHAIN);
	stop();
	tamper(1024, -1);
	reopen();
	expect_broken(1, 1024, 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * A chain of LONG_CHAIN whose records from to last are removed breaks:
 * bad, found and count as expect_broken has them.
 */
static void
removed_breaks(uint64_t from, uint64_t last, uint64_t bad, uint64_t found,
    uint64_t count)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t key[8];

	audit_many(LONG_CHAIN);
	stop();
	env = raw_open();
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "audit", 0, &dbi), 0);
	for (uint64_t seq = from; seq <= last; seq++) {
		MDB_val k = { sizeof(key), key };

		be64(key, seq);
		cr_assert_eq(mdb_del(txn, dbi, &k, NULL), 0);
	}
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	reopen();
	expect_broken(bad, found, count);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_audit, a_removed_record_breaks_the_chain)
{
	removed_breaks(1500, 1500, 1025, 1501, 1024);
}

/* The head in meta says where the chain ends: a tail removed shows. */
Test(store_audit, a_removed_tail_breaks_the_chain)
{
	removed_breaks(LONG_CHAIN, LONG_CHAIN, 2049, LONG_CHAIN, 2048);
}

/* Removed back to a checkpoint, whose hash is right: the head shows it. */
Test(store_audit, a_tail_removed_back_to_a_checkpoint_breaks_the_chain)
{
	removed_breaks(2049, LONG_CHAIN, 2049, LONG_CHAIN, 2048);
}

/* Every record removed: the head says there were some. */
Test(store_audit, a_trail_removed_whole_breaks_the_chain)
{
	removed_breaks(1, LONG_CHAIN, 1, LONG_CHAIN, 0);
}

/* A record put after the head (not written by the store) shows. */
Test(store_audit, a_record_after_the_head_breaks_the_chain)
{
	uint8_t buf[1024], key[8];
	size_t n;

	audit_many(LONG_CHAIN);
	stop();
	n = raw_audit(LONG_CHAIN, buf);
	be64(key, LONG_CHAIN + 1);
	raw_put("audit", key, sizeof(key), buf, n);
	reopen();
	expect_broken(LONG_CHAIN + 1, LONG_CHAIN + 2, LONG_CHAIN);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_audit, a_changed_head_breaks_the_chain)
{
	uint8_t v[8 + 32];

	audit_many(LONG_CHAIN);
	stop();
	raw_head(NULL);
	raw_get("meta", head_key, sizeof(head_key), v, sizeof(v));
	v[20] ^= 0x20;
	raw_put("meta", head_key, sizeof(head_key), v, sizeof(v));
	reopen();
	expect_broken(2049, LONG_CHAIN, 2048);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * Without its head the chain's end is not confirmed, and the store
 * refuses to write over record 1 rather than start the chain again.
 */
Test(store_audit, a_removed_head_breaks_the_chain_and_stops_writes)
{
	struct store_register_out out;
	struct store_register_in in;

	audit_many(LONG_CHAIN);
	stop();
	raw_del("meta", head_key, sizeof(head_key));
	reopen();
	expect_broken(2049, LONG_CHAIN + 1, 2048);
	storefix_reg_in(&in, orgs, wijk, FILL, 1, T0 + 9000);
	cr_assert_eq(storefix_register(st, &in, &out), VIX_E_STORE);
	expect_broken(2049, LONG_CHAIN + 1, 2048);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * A store whose chain is broken is not copied (vixd --import-lmdb): the
 * hashes the copy gets are computed while reading, so the break must
 * stop it, and the reason names the record.
 */
Test(store_audit, an_import_refuses_a_changed_chain)
{
	char *target = support_path(dir, "target");
	struct store_import_counts n;
	struct store_options so, to;
	struct store *dst;
	struct diag d;

	audit_many(1100);
	stop();
	tamper(500, 1);
	storefix_options(&so, dbdir, MAP_SIZE, 90, 14 * 86400);
	storefix_options(&to, target, MAP_SIZE, 90, 14 * 86400);
	diag_init(&d);
	cr_assert_not_null(dst = store_open(&to, &d), "%s", d.text);
	cr_assert_eq(store_import(dst, &so, "admin:uid=0", &n, &d), -1);
	cr_assert_not_null(strstr(d.text, "audit chain is broken at record "
	    "1"), "%s", d.text);
	store_close(dst);
	support_tmpdir_remove(target);
	reopen();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* The packed records of the audit trail, as the backend scans them. */
struct packed {
	uint8_t		rec[4][256];
	size_t		len[4];
	size_t		n;
};

static int
keep_packed(void *arg, uint64_t seq, const void *record, size_t len,
    const uint8_t *hash)
{
	struct packed *pk = arg;

	(void)seq;
	(void)hash;
	cr_assert_lt(pk->n, 4);
	cr_assert_leq(len, sizeof(pk->rec[0]));
	memcpy(pk->rec[pk->n], record, len);
	pk->len[pk->n++] = len;
	return 0;
}

#define CHAIN1(place)	((UINT64_C(1) << STORE_AUDIT_CHAIN_SHIFT) | (place))

/*
 * A second chain (as a copy of a store several vixd wrote would have):
 * its own head in meta, verified from a zero hash, and the writer going
 * on with the last chain. Chain 0 losing its tail, or all its records,
 * shows at its own head.
 */
Test(store_audit, every_chain_keeps_its_head)
{
	struct store_audit_result res;
	struct audit_chain c = AUDIT_CHAIN_INIT;
	struct packed pk = { .n = 0 };
	struct store_txn *t;
	uint8_t key[8];

	audit_many(3);
	cr_assert_eq(store_reader_backend(rd)->audit_scan(rd, keep_packed,
	    &pk), 0);
	t = begin();
	cr_assert_eq(store_job_begin(t), 0);
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(audit_chain_follow(&c, CHAIN1(i + 1), pk.rec[i],
		    pk.len[i], NULL), 0);
		store_txn_backend(t)->audit_append(t, CHAIN1(i + 1), pk.rec[i],
		    pk.len[i], c.hash, NULL);
	}
	cr_assert_eq(store_job_end(t, 0), 0);
	cr_assert_eq(store_write_commit(t), 0);
	must_register(wijk, 1, T0 + 100);	/* chain 1, place 4 */
	cr_assert_eq(store_audit_check(rd, &res), 0);
	cr_assert_eq(res.bad, 0);
	cr_assert_eq(res.count, 7);
	cr_assert_eq(res.chains, 2);
	stop();
	be64(key, 3);
	raw_del("audit", key, sizeof(key));
	reopen();
	expect_broken(1, 3, 0);
	stop();
	for (uint64_t seq = 1; seq <= 2; seq++) {
		be64(key, seq);
		raw_del("audit", key, sizeof(key));
	}
	reopen();
	expect_broken(1, 3, 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* A checkpoint that is also the head keeps both hashes: they must agree. */
Test(store_audit, a_head_at_a_checkpoint_must_agree_with_it)
{
	uint8_t v[8 + 32];

	audit_many(1024);
	cr_assert_eq(audit_good(), 1024);
	stop();
	raw_get("meta", head_key, sizeof(head_key), v, sizeof(v));
	v[39] ^= 0x01;
	raw_put("meta", head_key, sizeof(head_key), v, sizeof(v));
	reopen();
	expect_broken(1, 1024, 0);
	stop();
	v[39] ^= 0x01;			/* the head right again */
	raw_put("meta", head_key, sizeof(head_key), v, sizeof(v));
	tamper(1024, -1);		/* and the record's own hash not */
	reopen();
	expect_broken(1, 1024, 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

static int
second_record(void *arg, const struct store_audit_record *rec)
{
	if (STORE_AUDIT_PLACE(rec->seq) != 2)
		return 0;
	*(struct store_audit_record *)arg = *rec;
	return 1;
}

/*
 * Schema 6 keeps a record compact (codes for its texts) and rebuilds the
 * bytes the chain hashed: verify passes, export and the report read them.
 */
Test(store_audit, records_are_kept_compact_and_read_back_whole)
{
	struct store_audit_record rec = { 0 };
	uint8_t key[8], buf[1024];
	size_t n;

	for (unsigned i = 0; i < 4; i++)
		must_register(wijk, i, T0 + i);
	cr_assert_eq(audit_good(), 4);
	store_audit_foreach(rd, second_record, &rec);
	cr_assert_eq(STORE_AUDIT_PLACE(rec.seq), 2);
	cr_assert_str_eq(rec.actor, OIN_WIJK);
	cr_assert_str_eq(rec.outcome, "ok");
	cr_assert_eq(rec.time, T0 + 1);
	cr_assert_neq(rec.signal_id, 0);
	stop();
	be64(key, 2);
	n = raw_get("audit", key, sizeof(key), buf, sizeof(buf));
	cr_assert_eq(buf[0], 0xFF, "compact");
	cr_assert_lt(n, 32 + 16, "%zu bytes with the hash", n);
	st = open_store(MAP_SIZE, 90);
	rd = store_reader_new(st);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* Whether meta holds a key starting with prefix. */
static int
raw_meta_prefix(const char *prefix)
{
	MDB_env *env = raw_open();
	MDB_val k = { strlen(prefix), (void *)prefix }, v;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_dbi dbi;
	int found;

	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
	found = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) == 0 &&
	    k.mv_size >= strlen(prefix) &&
	    memcmp(k.mv_data, prefix, strlen(prefix)) == 0;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return found;
}

/*
 * A record whose outcome carries numbers (a sweep's counts) is kept as it
 * came: interning it would add a text to meta at every sweep.
 */
Test(store_audit, a_record_with_counts_is_kept_whole_and_interns_nothing)
{
	struct store_txn *t = begin();
	uint8_t key[8], buf[1024];

	cr_assert_eq(store_job_begin(t), 0);
	cr_assert_eq(store_job_end(t, store_audit(t, T0, "vixd", "sweep", 0, 0,
	    "archive:3 outbox_unacked:0")), 0);
	cr_assert_eq(store_write_commit(t), 0);
	cr_assert_eq(audit_good(), 1);
	stop();
	be64(key, 1);
	raw_get("audit", key, sizeof(key), buf, sizeof(buf));
	cr_assert_neq(buf[0], 0xFF, "kept as it came");
	cr_assert(!raw_meta_prefix("atext:archive"), "no text interned");
	cr_assert(!raw_meta_prefix("atext:sweep"), "nor its other texts");
	st = open_store(MAP_SIZE, 90);
	rd = store_reader_new(st);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

static int
first_record(void *arg, const struct store_audit_record *rec)
{
	*(struct store_audit_record *)arg = *rec;
	return 1;
}

/*
 * A record naming a professional is kept as it came (the compact form has
 * no place for it, and a person's identifier is not interned in meta);
 * it reads back whole, the chain verifies over it and the compact records
 * around it, and the next job names no professional.
 */
Test(store_audit, a_record_with_a_professional_is_kept_whole)
{
	struct store_audit_record rec = { 0 }, second = { 0 };
	struct store_txn *t = begin();
	uint8_t key[8], buf[1024];

	cr_assert_eq(store_job_begin(t), 0);
	store_job_professional(t, "mw-jdevries");
	cr_assert_eq(store_job_end(t, store_audit(t, T0, OIN_WIJK, "register",
	    7, 0, "ok")), 0);
	cr_assert_eq(store_job_begin(t), 0);
	cr_assert_eq(store_job_end(t, store_audit(t, T0 + 1, OIN_WIJK,
	    "register", 8, 0, "ok")), 0);
	cr_assert_eq(store_write_commit(t), 0);
	cr_assert_eq(audit_good(), 2);
	store_audit_foreach(rd, first_record, &rec);
	cr_assert_str_eq(rec.professional, "mw-jdevries");
	cr_assert_str_eq(rec.actor, OIN_WIJK);
	cr_assert_eq(rec.signal_id, 7);
	store_audit_foreach(rd, second_record, &second);
	cr_assert_str_eq(second.professional, "", "forgotten by the next job");
	stop();
	be64(key, 1);
	raw_get("audit", key, sizeof(key), buf, sizeof(buf));
	cr_assert_neq(buf[0], 0xFF, "kept as it came");
	cr_assert(!raw_meta_prefix("atext:mw-"), "the professional not interned");
	be64(key, 2);
	raw_get("audit", key, sizeof(key), buf, sizeof(buf));
	cr_assert_eq(buf[0], 0xFF, "the next one compact");
	st = open_store(MAP_SIZE, 90);
	rd = store_reader_new(st);
	cr_assert_eq(audit_good(), 2);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- the outbox index of schema 2 ---------------------------------------- */

/* Whether database db is there, and its statistics. */
static int
raw_stat(const char *db, MDB_stat *sb)
{
	MDB_env *env = raw_open();
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc;

	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	if ((rc = mdb_dbi_open(txn, db, 0, &dbi)) == 0)
		cr_assert_eq(mdb_stat(txn, dbi, sb), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc == 0;
}

static size_t
raw_entries(const char *db)
{
	MDB_stat sb;

	cr_assert(raw_stat(db, &sb), "database %s is missing", db);
	return sb.ms_entries;
}

/* Empty db, as a store of schema 1 (which had no such index) would be. */
static void
raw_empty(const char *db)
{
	MDB_env *env = raw_open();
	MDB_txn *txn;
	MDB_dbi dbi;

	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
	cr_assert_eq(mdb_drop(txn, dbi, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/*
 * signals' keys: a signal's (pseudonym . org), audit links' (. seq), and
 * from schema 12 the youth's match (the pseudonym alone) and outbox index
 * entries (. recipient . seq).
 */
#define SIGNAL_KEY	(PSEUDONYM_LEN + 4)
#define LINK_KEY	(PSEUDONYM_LEN + 8)
#define MATCH_KEY	PSEUDONYM_LEN
#define OUTBOX_KEY	(PSEUDONYM_LEN + 12)

/* What the audit link records hold: seqs in all, and in the fullest. */
struct raw_seqs {
	size_t	all;
	size_t	most;
};

/*
 * signals' keys of length len: how many there are, and (for links, into
 * *seqs unless NULL) the seqs their records hold, a seq in the key and
 * one per varint in the value. With drop, they are deleted too.
 */
static size_t
raw_signals_keyed(size_t len, int drop, struct raw_seqs *seqs)
{
	MDB_env *env = raw_open();
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	size_t n = 0;

	if (seqs != NULL)
		*seqs = (struct raw_seqs){ 0, 0 };
	cr_assert_eq(mdb_txn_begin(env, NULL, drop ? 0 : MDB_RDONLY, &txn),
	    0);
	cr_assert_eq(mdb_cursor_open(txn, raw_dbi(txn, "signals"), &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		size_t in = 1;

		cr_assert(k.mv_size == SIGNAL_KEY || k.mv_size == LINK_KEY ||
		    k.mv_size == MATCH_KEY || k.mv_size == OUTBOX_KEY,
		    "a signals key of %zu bytes", k.mv_size);
		if (k.mv_size != len)
			continue;
		n++;
		for (size_t i = 0; i < v.mv_size; i++)
			in += !(((uint8_t *)v.mv_data)[i] & 0x80);
		if (seqs != NULL) {
			seqs->all += in;
			seqs->most = in > seqs->most ? in : seqs->most;
		}
		if (drop)
			cr_assert_eq(mdb_cursor_del(cur, 0), 0);
	}
	mdb_cursor_close(cur);
	raw_close(env, txn, drop);
	return n;
}

/*
 * The audit links the signal records keep (schema 13): a chunk each, the
 * first seq and one per further varint, added to *seqs; with back, each
 * is written back as a record of its own (pseudonym . first seq -> the
 * distances), as stores before schema 13 had them.
 */
static size_t
raw_kept(int back, struct raw_seqs *seqs)
{
	MDB_env *env = raw_open();
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_dbi sigs;
	MDB_val k, v;
	size_t chunks = 0;

	if (seqs != NULL)
		*seqs = (struct raw_seqs){ 0, 0 };
	cr_assert_eq(mdb_txn_begin(env, NULL, back ? 0 : MDB_RDONLY, &txn),
	    0);
	sigs = raw_dbi(txn, "signals");
	cr_assert_eq(mdb_cursor_open(txn, sigs, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		Vix__Store__V1__Signal *rec;
		uint8_t key[LINK_KEY], sk[SIGNAL_KEY], *b;
		uint64_t first = 0;
		size_t i = 0, in = 0;
		MDB_val lk, lv;

		if (k.mv_size != SIGNAL_KEY)
			continue;
		/* k is in a page the puts below may move. */
		memcpy(sk, k.mv_data, SIGNAL_KEY);
		cr_assert_not_null(rec = vix__store__v1__signal__unpack(NULL,
		    v.mv_size, v.mv_data));
		b = rec->audit_links.data;
		for (unsigned shift = 0; i < rec->audit_links.len; shift += 7) {
			first |= (uint64_t)(b[i] & 0x7f) << shift;
			if (!(b[i++] & 0x80))
				break;
		}
		for (size_t j = 0; j < rec->audit_links.len; j++)
			in += !(b[j] & 0x80);
		if (in > 0 && seqs != NULL) {
			seqs->all += in;
			seqs->most = in > seqs->most ? in : seqs->most;
		}
		chunks += in > 0;
		if (in > 0 && back) {
			memcpy(key, sk, PSEUDONYM_LEN);
			be64(key + PSEUDONYM_LEN, first);
			lk = (MDB_val){ LINK_KEY, key };
			lv = (MDB_val){ rec->audit_links.len - i, b + i };
			cr_assert_eq(mdb_put(txn, sigs, &lk, &lv, 0), 0);
			rec->audit_links.len = 0;
			lv.mv_size = vix__store__v1__signal__get_packed_size(rec);
			cr_assert_not_null(lv.mv_data = malloc(lv.mv_size));
			vix__store__v1__signal__pack(rec, lv.mv_data);
			lk = (MDB_val){ SIGNAL_KEY, sk };
			cr_assert_eq(mdb_put(txn, sigs, &lk, &lv, 0), 0);
			free(lv.mv_data);
			/* The cursor is where the puts left it: find k again. */
			lk = (MDB_val){ SIGNAL_KEY, sk };
			cr_assert_eq(mdb_cursor_get(cur, &lk, &lv, MDB_SET), 0);
		}
		vix__store__v1__signal__free_unpacked(rec, NULL);
	}
	mdb_cursor_close(cur);
	raw_close(env, txn, back);
	return chunks;
}

/* A youth_audit key for youth p and seq, added to *rows (*n of them). */
static void
raw_link_row(uint8_t **rows, size_t *n, const void *p, uint64_t seq)
{
	uint8_t *row;

	cr_assert_not_null(*rows = reallocarray(*rows, *n + 1, LINK_KEY));
	row = *rows + (*n)++ * LINK_KEY;
	memcpy(row, p, PSEUDONYM_LEN);
	be64(row + PSEUDONYM_LEN, seq);
}

/*
 * The matches and outbox index entries as stores before schema 12 had
 * them: in matches and youth_outbox, none in signals.
 */
static void
raw_beside_back(void)
{
	static const struct { size_t len; const char *db; } kinds[] = {
	    { MATCH_KEY, "matches" }, { OUTBOX_KEY, "youth_outbox" } };
	MDB_env *env;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_dbi sigs, dbs[2];
	MDB_val k, v;

	raw_kept(1, NULL);	/* schema 12's links first */
	env = raw_open();

	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	sigs = raw_dbi(txn, "signals");
	for (size_t i = 0; i < 2; i++)
		dbs[i] = raw_dbi(txn, kinds[i].db);
	cr_assert_eq(mdb_cursor_open(txn, sigs, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
		for (size_t i = 0; i < 2; i++)
			if (k.mv_size == kinds[i].len) {
				cr_assert_eq(mdb_put(txn, dbs[i], &k, &v, 0),
				    0);
				cr_assert_eq(mdb_cursor_del(cur, 0), 0);
			}
	mdb_cursor_close(cur);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/*
 * The links as stores before schema 10 had them: youth_audit rows
 * (pseudonym . seq -> empty), none in signals.
 */
static void
raw_links_back(void)
{
	MDB_env *env = raw_open();
	uint8_t *rows = NULL;
	size_t n = 0;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_dbi sigs, links;
	MDB_val k, v;

	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "signals", 0, &sigs), 0);
	cr_assert_eq(mdb_dbi_open(txn, "youth_audit", 0, &links), 0);
	cr_assert_eq(mdb_cursor_open(txn, sigs, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		const uint8_t *b = v.mv_data;
		uint64_t seq = 0;

		if (k.mv_size != LINK_KEY)
			continue;
		for (int i = 0; i < 8; i++)
			seq = seq << 8 | ((uint8_t *)k.mv_data)[PSEUDONYM_LEN + i];
		raw_link_row(&rows, &n, k.mv_data, seq);
		/* Each further seq: its distance from the one before. */
		for (size_t i = 0; i < v.mv_size; ) {
			uint64_t d = 0;

			for (unsigned shift = 0; i < v.mv_size; shift += 7) {
				d |= (uint64_t)(b[i] & 0x7f) << shift;
				if (!(b[i++] & 0x80))
					break;
			}
			seq += d;
			raw_link_row(&rows, &n, k.mv_data, seq);
		}
		cr_assert_eq(mdb_cursor_del(cur, 0), 0);
	}
	mdb_cursor_close(cur);
	for (size_t i = 0; i < n; i++) {
		k = (MDB_val){ LINK_KEY, rows + i * LINK_KEY };
		v = (MDB_val){ 0, "" };
		cr_assert_eq(mdb_put(txn, links, &k, &v, 0), 0);
	}
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(rows);
}

/* The audit records linked to youths, in records of their own or kept. */
static size_t
raw_links(void)
{
	struct raw_seqs seqs, kept;

	raw_signals_keyed(LINK_KEY, 0, &seqs);
	raw_kept(0, &kept);
	return seqs.all + kept.all;
}

static void
erase_youth(unsigned youth, size_t *removed, size_t *withdrawn)
{
	uint8_t p[PSEUDONYM_LEN];

	pseudonym(p, youth);
	storefix_erase(st, orgs, p, T0 + 10, removed, withdrawn);
}

/* A sweep at now that drops every outbox row older than a second. */
static struct store_sweep_out
sweep_at(int64_t now)
{
	struct store_sweep_in in = { .orgs = orgs, .now = now, .max = 100,
	    .archive_secs = 5 * YEAR, .outbox_retention = 1 };
	struct store_sweep_out out;
	struct store_txn *t;
	int err;

	cr_assert_not_null(t = store_write_begin(st, &err));
	cr_assert_eq(store_job_begin(t), 0);
	cr_assert_eq(store_job_end(t, store_sweep(t, &in, &out)), 0);
	cr_assert_eq(store_write_commit(t), 0);
	return out;
}

static void
prune_all(int64_t now)
{
	struct store_sweep_out out = sweep_at(now);

	cr_assert_eq(out.pruned_unacked, 4, "%zu", out.pruned_unacked);
}

static void	reopen_bound(void);

/* Whether meta holds key. */
static int
raw_meta_has(const char *key)
{
	MDB_env *env = raw_open();
	MDB_val k = { strlen(key), (void *)key }, v;
	MDB_txn *txn;
	int rc;

	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	rc = mdb_get(txn, raw_dbi(txn, "meta"), &k, &v);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	cr_assert(rc == 0 || rc == MDB_NOTFOUND);
	return rc == 0;
}

/*
 * A store of schema 11 (matches and the outbox index in databases of
 * their own) gets them beside the signals: the matches read back, an
 * erasure finds the youth's outbox rows, and a key rotation under way
 * starts its scan again.
 */
Test(store_open, a_schema_11_store_gets_matches_and_outbox_beside_signals)
{
	static const char cursor[] = "x.blind.cursor";
	size_t removed, withdrawn;
	uint8_t v[8];

	start(MAP_SIZE, 90);
	for (unsigned y = 1; y <= 3; y++) {
		must_register(wijk, y, T0 + y);
		must_register(jz, y, T0 + 10 + y);	/* MATCH_CREATED to both */
	}
	stop();
	cr_assert_eq(raw_signals_keyed(MATCH_KEY, 0, NULL), 3);
	cr_assert_eq(raw_signals_keyed(OUTBOX_KEY, 0, NULL), 6);
	raw_beside_back();
	cr_assert_eq(raw_entries("matches"), 3);
	cr_assert_eq(raw_entries("youth_outbox"), 6);
	raw_put("meta", cursor, strlen(cursor), "1:ab", 4);
	be64(v, 11);
	raw_put("meta", "schema", 6, v, sizeof(v));

	st = open_store(MAP_SIZE, 90);
	stop();
	cr_assert_eq(raw_get("meta", "schema", 6, v, sizeof(v)), 8);
	cr_assert_eq(v[7], SCHEMA_NOW);
	cr_assert_eq(raw_entries("matches"), 0);
	cr_assert_eq(raw_entries("youth_outbox"), 0);
	cr_assert_eq(raw_signals_keyed(MATCH_KEY, 0, NULL), 3);
	cr_assert_eq(raw_signals_keyed(OUTBOX_KEY, 0, NULL), 6);
	cr_assert_eq(raw_signals_keyed(SIGNAL_KEY, 0, NULL), 6);
	cr_assert(!raw_meta_has(cursor), "the rotation's scan starts again");

	reopen_bound();
	cr_assert_eq(storefix_counts(rd).matches, 3);
	erase_youth(2, &removed, &withdrawn);
	cr_assert_eq(withdrawn, 2, "both MATCH_CREATED rows of youth 2");
	stop();
	cr_assert_eq(raw_signals_keyed(MATCH_KEY, 0, NULL), 2);
	cr_assert_eq(raw_signals_keyed(OUTBOX_KEY, 0, NULL), 4);
	cr_assert_eq(raw_entries("outbox_youth"), 4);
	reopen_bound();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_open, a_schema_1_store_gets_its_outbox_indexed)
{
	uint8_t v[8];
	size_t removed, withdrawn;

	start(MAP_SIZE, 90);
	must_register(wijk, 1, T0);
	must_register(jz, 1, T0 + 1);		/* MATCH_CREATED to both */
	must_register(wijk, 2, T0 + 2);
	must_register(vt, 2, T0 + 3);		/* and another youth's */
	stop();
	cr_assert_eq(raw_signals_keyed(OUTBOX_KEY, 0, NULL), 4);
	cr_assert_eq(raw_entries("outbox_youth"), 4);
	raw_beside_back();
	raw_empty("youth_outbox");
	raw_empty("outbox_youth");
	raw_links_back();
	be64(v, 1);
	raw_put("meta", "schema", 6, v, sizeof(v));

	st = open_store(MAP_SIZE, 90);
	stop();
	cr_assert_eq(raw_get("meta", "schema", 6, v, sizeof(v)), 8);
	cr_assert_eq(v[7], SCHEMA_NOW, "migrated to the current schema");
	cr_assert_eq(raw_signals_keyed(OUTBOX_KEY, 0, NULL), 4,
	    "rows indexed again");
	cr_assert_eq(raw_entries("youth_outbox"), 0, "beside the signals");
	st = open_store(MAP_SIZE, 90);
	erase_youth(1, &removed, &withdrawn);
	cr_assert_eq(removed, 2);
	cr_assert_eq(withdrawn, 2, "both MATCH_CREATED rows of youth 1");
	stop();
	/* youth 2's two rows and the two SIGNAL_REMOVED (not indexed). */
	cr_assert_eq(raw_entries("outbox"), 4);
	cr_assert_eq(raw_signals_keyed(OUTBOX_KEY, 0, NULL), 2);
	cr_assert_eq(raw_entries("outbox_youth"), 2);

	/* Pruning a row (here: past the retention) drops its index entries. */
	st = open_store(MAP_SIZE, 90);
	prune_all(T0 + 1000);
	stop();
	cr_assert_eq(raw_entries("outbox"), 0);
	cr_assert_eq(raw_signals_keyed(OUTBOX_KEY, 0, NULL), 0);
	cr_assert_eq(raw_entries("outbox_youth"), 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- the audit index of schema 3 ---------------------------------------- */

static void
subject_of(unsigned youth, struct store_subject *out)
{
	struct store_reader *r = store_reader_new(st);
	uint8_t p[PSEUDONYM_LEN];

	cr_assert_not_null(r);
	pseudonym(p, youth);
	cr_assert_eq(store_subject_report(r, p, out), 0);
	store_reader_free(r);
}

Test(store_open, a_schema_2_store_gets_its_audit_linked_to_youths)
{
	struct store_withdraw_out wo;
	struct store_subject sub;
	size_t removed, withdrawn;
	uint8_t v[8];

	start(MAP_SIZE, 90);
	must_register(wijk, 1, T0);			/* #1 */
	must_register(jz, 1, T0 + 1);			/* #2, match 1 */
	must_register(wijk, 2, T0 + 2);			/* #3, youth 2 */
	cr_assert_eq(do_withdraw(jz, 0, 1,		/* #4, archived */
	    STORE_WITHDRAW_RISK_RESOLVED, T0 + 3, &wo), 0);
	cr_assert_eq(do_withdraw(wijk, 0, 1,		/* #5, deleted */
	    STORE_WITHDRAW_UNJUSTIFIED, T0 + 4, &wo), 0);
	must_register(vt, 1, T0 + 5);			/* #6 */

	/* Linked as they are written: all five of youth 1. */
	subject_of(1, &sub);
	cr_assert_eq(sub.naudit, 5, "%zu", sub.naudit);
	cr_assert_eq(sub.nclosed, 1);
	cr_assert_eq(sub.closed[0].id, 1);
	cr_assert_eq(sub.closed[0].first, T0 + 1);
	cr_assert_eq(sub.closed[0].last, T0 + 3, "closed by #4");
	store_subject_free(&sub);
	stop();
	cr_assert_eq(raw_links(), 6);
	cr_assert_eq(raw_entries("youth_audit"), 0, "links beside signals");

	/* A store of schema 2 had no links, and its matches apart. */
	raw_beside_back();
	raw_signals_keyed(LINK_KEY, 1, NULL);
	be64(v, 2);
	raw_put("meta", "schema", 6, v, sizeof(v));
	st = open_store(MAP_SIZE, 90);
	stop();
	cr_assert_eq(raw_get("meta", "schema", 6, v, sizeof(v)), 8);
	cr_assert_eq(v[7], SCHEMA_NOW, "migrated to the current schema");
	/*
	 * #1 and #5 name only wijk's deleted signal (its match was closed
	 * by then): nothing left tells their youth. The others are linked.
	 */
	cr_assert_eq(raw_links(), 4);
	cr_assert_eq(raw_entries("youth_audit"), 0, "moved at schema 10");
	st = open_store(MAP_SIZE, 90);
	subject_of(1, &sub);
	cr_assert_eq(sub.naudit, 3, "%zu", sub.naudit);
	cr_assert_eq(sub.audit[0].seq, 2);
	cr_assert_eq(sub.audit[1].seq, 4);
	cr_assert_eq(sub.audit[2].seq, 6);
	cr_assert_eq(sub.nclosed, 1);
	store_subject_free(&sub);

	/* Erasure unlinks youth 1's records, not youth 2's. */
	erase_youth(1, &removed, &withdrawn);
	cr_assert_eq(removed, 1);
	subject_of(1, &sub);
	cr_assert_eq(sub.naudit, 0);
	cr_assert_eq(sub.nclosed, 0);
	store_subject_free(&sub);
	subject_of(2, &sub);
	cr_assert_eq(sub.naudit, 1);
	store_subject_free(&sub);
	stop();
	cr_assert_eq(raw_links(), 1);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_open, a_backend_is_chosen_by_name)
{
	struct store_options o;
	struct store *s;
	struct diag d;

	storefix_options(&o, dbdir, MAP_SIZE, 90, 14 * 86400);
	o.backend = "postgres";
	diag_init(&d);
	s = store_open(&o, &d);
	cr_assert_null(s, "an unknown backend must be refused");
	cr_assert_not_null(strstr(d.text, "\"postgres\""), "%s", d.text);
	o.backend = "lmdb";
	diag_init(&d);
	s = store_open(&o, &d);
	cr_assert_not_null(s, "%s", d.text);
	store_close(s);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- monitoring counts of older schemas -------------------------------- */

/* Four matches, youth 3's coordinated: 4 matches, 3 uncoordinated. */
static void
four_matches(void)
{
	uint8_t p[PSEUDONYM_LEN];
	struct store_coordinate_in in = { jz, orgs, T0 + 100, 0,
	    STORE_COORDINATE_DONE };

	for (unsigned y = 1; y <= 4; y++) {
		must_register(wijk, y, T0 + y);
		must_register(jz, y, T0 + 10 + y);
	}
	pseudonym(p, 3);
	in.match_id = storefix_match_seen_by(st, jz, p, T0 + 50).id;
	cr_assert_eq(storefix_coordinate(st, &in, 1), 0);
}

Test(store_open, a_schema_3_store_gets_its_uncoordinated_matches_counted)
{
	uint8_t v[8];
	size_t m, u;

	start(MAP_SIZE, 90);
	four_matches();
	stop();
	/* Schema 3 kept no count: whatever is there is not trusted. */
	be64(v, 99);
	raw_put("meta", "count:uncoordinated", 19, v, sizeof(v));
	raw_beside_back();
	raw_links_back();
	be64(v, 3);
	raw_put("meta", "schema", 6, v, sizeof(v));
	st = open_store(MAP_SIZE, 90);
	rd = store_reader_new(st);
	cr_assert_not_null(rd);
	storefix_stats(rd, orgs, T0 + 5000, &m, &u);
	cr_assert_eq(m, 4);
	cr_assert_eq(u, 3, "counted at open: %zu", u);
	stop();
	cr_assert_eq(raw_get("meta", "schema", 6, v, sizeof(v)), 8);
	cr_assert_eq(v[7], SCHEMA_NOW, "migrated to the current schema");
	cr_assert_eq(raw_get("meta", "count:uncoordinated", 19, v, sizeof(v)),
	    8);
	cr_assert_eq(v[7], 3);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_open, a_schema_4_store_gets_its_signals_and_matches_counted)
{
	struct store_withdraw_out wo;
	struct storefix_counts c;
	uint8_t v[8];
	size_t m, u;

	start(MAP_SIZE, 90);
	four_matches();
	stop();
	/* Schema 4 kept no such counts: whatever is there is not trusted. */
	be64(v, 99);
	raw_put("meta", "count:signals", 13, v, sizeof(v));
	raw_put("meta", "count:matches", 13, v, sizeof(v));
	raw_beside_back();
	raw_links_back();
	be64(v, 4);
	raw_put("meta", "schema", 6, v, sizeof(v));
	st = open_store(MAP_SIZE, 90);
	rd = store_reader_new(st);
	cr_assert_not_null(rd);
	c = storefix_counts(rd);
	cr_assert_eq(c.signals, 8, "counted at open: %zu", c.signals);
	cr_assert_eq(c.matches, 4, "counted at open: %zu", c.matches);
	storefix_stats(rd, orgs, T0 + 5000, &m, &u);
	cr_assert_eq(m, 4);
	cr_assert_eq(u, 3);
	/* And kept from there on. */
	cr_assert_eq(do_withdraw(jz, 0, 2, STORE_WITHDRAW_UNJUSTIFIED, T0 + 40,
	    &wo), 0);
	c = storefix_counts(rd);
	cr_assert_eq(c.signals, 7);
	cr_assert_eq(c.matches, 3);
	stop();
	cr_assert_eq(raw_get("meta", "schema", 6, v, sizeof(v)), 8);
	cr_assert_eq(v[7], SCHEMA_NOW, "migrated to the current schema");
	cr_assert_eq(raw_get("meta", "count:signals", 13, v, sizeof(v)), 8);
	cr_assert_eq(v[7], 7);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- what LMDB's single writer adds to the conformance suite ----------- */

static int
seq_of(void *arg, const struct store_audit_record *r)
{
	uint64_t *seqs = arg;

	if (seqs[0] < 7)
		seqs[++seqs[0]] = r->seq;
	return 0;
}

/*
 * One writer, one chain: 0, places from 1, going on after a reopen; and a
 * rolled-back job or batch gives its signal id back.
 */
Test(store_audit, one_chain_ids_given_back)
{
	struct store_register_out out;
	struct store_txn *t;
	uint64_t refused, seqs[8] = { 0 };
	struct diag d;

	t = begin();
	cr_assert_eq(job_register(t, wijk, 1, T0, VIX_E_PERMISSION, &out), 0);
	refused = out.signal_id;
	store_write_abort(t);
	cr_assert_eq(must_register(wijk, 2, T0 + 1), refused);
	must_register(wijk, 3, T0 + 2);
	stop();
	st = open_store(MAP_SIZE, 90);
	rd = store_reader_new(st);
	must_register(wijk, 4, T0 + 3);
	cr_assert_eq(store_audit_foreach(rd, seq_of, seqs), 0);
	cr_assert_eq(seqs[0], 3);
	for (uint64_t i = 1; i <= 3; i++)
		cr_assert_eq(seqs[i], i);
	diag_init(&d);
	cr_assert_eq(store_check_key(st, "0123456789abcdef0123456789abcdef",
	    "a.key", &d), 0);
	cr_assert_eq(store_check_key(st, "fedcba9876543210fedcba9876543210",
	    "b.key", &d), -1);
	cr_assert_not_null(strstr(d.text, dbdir), "names the store: %s",
	    d.text);
}

/* ---- a key rotation leaves nothing of the old pseudonym ------------------ */

static int
holds(const MDB_val *v, const uint8_t *p)
{
	const uint8_t *b = v->mv_data;

	for (size_t i = 0; i + PSEUDONYM_LEN <= v->mv_size; i++)
		if (memcmp(b + i, p, PSEUDONYM_LEN) == 0)
			return 1;
	return 0;
}

/* Entries of every named database whose key or value holds p, by name. */
static size_t
raw_naming(const uint8_t *p, char *names, size_t len)
{
	MDB_env *env = raw_open();
	MDB_val dk, dv, k, v;
	MDB_cursor *dbs, *cur;
	MDB_dbi main, dbi;
	MDB_txn *txn;
	size_t n = 0;
	char name[64];

	names[0] = '\0';
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, NULL, 0, &main), 0);
	cr_assert_eq(mdb_cursor_open(txn, main, &dbs), 0);
	while (mdb_cursor_get(dbs, &dk, &dv, MDB_NEXT) == 0) {
		size_t here = 0;

		cr_assert_lt(dk.mv_size, sizeof(name));
		memcpy(name, dk.mv_data, dk.mv_size);
		name[dk.mv_size] = '\0';
		cr_assert_eq(mdb_dbi_open(txn, name, 0, &dbi), 0);
		cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
		while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
			here += holds(&k, p) || holds(&v, p);
		mdb_cursor_close(cur);
		if (here > 0)
			snprintf(names + strlen(names), len - strlen(names),
			    " %s", name);
		n += here;
	}
	mdb_cursor_close(dbs);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

Test(store_rotate, no_database_names_the_old_pseudonym,
    .init = setup_started, .fini = teardown)
{
	uint8_t p[PSEUDONYM_LEN], q[PSEUDONYM_LEN];
	char names[512];
	size_t moved;

	pseudonym(p, 1);
	pseudonym(q, 2);
	q[0] |= 1;
	storefix_youth_everywhere(st, orgs, p, 1, T0);
	cr_assert_eq(storefix_move(st, p, q, &moved), 0);
	cr_assert_gt(moved, 0);
	stop();
	cr_assert_eq(raw_naming(p, names, sizeof(names)), 0,
	    "still naming the old pseudonym:%s", names);
	raw_naming(q, names, sizeof(names));
	cr_assert_str_eq(names, " archive archive_time match_ids org_signals "
	    "outbox_youth signals", "the match and the outbox index beside "
	    "the signals (schema 12)");
	st = open_store(MAP_SIZE, 90);
	rd = store_reader_new(st);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- schema 6 on: older stores converted in batches ---------------------- */

static char	*raw_contacts_text(const char *path, size_t *len);
static size_t	 raw_check_contacts(uint32_t sid, const char *name,
    uint64_t *refs);

/*
 * tests/data/store-schema5 and store-schema6 (made by
 * tests/data/make-store.sh with the vixd of schema 5 and of schema 6).
 * Schema 5's: 439 active signals of five organisations, 178 matches, 448
 * audit records; schema 6's: 939 signals, 179 matches, 2,318 audit
 * records (checkpoints 1024 and 2048 when converted to schema 9).
 */
#define S5_SIGNALS	439
#define S5_MATCHES	178
#define S5_AUDIT	448
#define S6_SIGNALS	939
#define S6_MATCHES	179
#define S6_AUDIT	2318

/* The data file from copied into folder into (made 0700). */
static void
copy_data(const char *from, const char *into)
{
	char *to, *data;
	size_t len;
	FILE *fp;

	cr_assert_not_null(data = support_read_file(from, &len), "%s", from);
	cr_assert(mkdir(into, 0700) == 0 || errno == EEXIST);
	to = support_path(into, "data.mdb");
	cr_assert_not_null(fp = fopen(to, "w"), "%s", to);
	cr_assert_eq(fwrite(data, 1, len, fp), len);
	cr_assert_eq(fclose(fp), 0);
	free(data);
	free(to);
}

/* The store of schema n (tests/data) copied into folder into. */
static void
fixture_data(unsigned n, const char *into)
{
	char name[64], *from;

	snprintf(name, sizeof(name), "store-schema%u/data.mdb", n);
	from = support_path(getenv("VIX_TESTDATA"), name);
	copy_data(from, into);
	free(from);
}

/* store_open of path in batches of batch, giving up after stop; NULL diag. */
static struct store *
open_migrating(const char *path, size_t batch, unsigned stop_after,
    struct diag *d)
{
	struct store_options o;

	storefix_options(&o, path, MAP_SIZE, 90, 14 * 86400);
	o.migrate_batch = batch;
	o.migrate_stop = stop_after;
	diag_init(d);
	return store_open(&o, d);
}

static int
raw_has_db(const char *db)
{
	MDB_stat sb;

	return raw_stat(db, &sb);
}

/* Every record of every named database of the store in path, in order. */
static char *
raw_everything(const char *path, size_t *len)
{
	MDB_env *env = raw_open_at(path);
	MDB_val dk, dv, k, v;
	MDB_cursor *dbs, *cur;
	MDB_dbi main, dbi;
	MDB_txn *txn;
	char *buf;
	FILE *fp;

	cr_assert_not_null(fp = open_memstream(&buf, len));
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, NULL, 0, &main), 0);
	cr_assert_eq(mdb_cursor_open(txn, main, &dbs), 0);
	while (mdb_cursor_get(dbs, &dk, &dv, MDB_NEXT) == 0) {
		char name[64];

		cr_assert_lt(dk.mv_size, sizeof(name));
		memcpy(name, dk.mv_data, dk.mv_size);
		name[dk.mv_size] = '\0';
		fprintf(fp, "[%s]", name);
		cr_assert_eq(mdb_dbi_open(txn, name, 0, &dbi), 0);
		cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
		while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
			fprintf(fp, "%zu:", k.mv_size);
			fwrite(k.mv_data, 1, k.mv_size, fp);
			fprintf(fp, "%zu:", v.mv_size);
			fwrite(v.mv_data, 1, v.mv_size, fp);
		}
		mdb_cursor_close(cur);
	}
	mdb_cursor_close(dbs);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	cr_assert_eq(fclose(fp), 0);
	return buf;
}

/* signal_owner's buckets: 64 ids (daemon/store_lmdb.c). */
#define OWNER_BITS	6

/*
 * The org signal_owner holds for id: its bucket (id >> OWNER_BITS) and
 * the row that begins with id's low bits.
 */
static int
raw_owner(MDB_txn *txn, MDB_dbi owners, uint64_t id, uint8_t org[4])
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t key[8], row[5] = { (uint8_t)(id & ((1 << OWNER_BITS) - 1)) };
	int rc;

	be64(key, id >> OWNER_BITS);
	k = (MDB_val){ sizeof(key), key };
	v = (MDB_val){ sizeof(row), row };
	cr_assert_eq(mdb_cursor_open(txn, owners, &cur), 0);
	rc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH_RANGE);
	if (rc == 0 && (v.mv_size != sizeof(row) ||
	    ((uint8_t *)v.mv_data)[0] != row[0]))
		rc = MDB_NOTFOUND;
	if (rc == 0)
		memcpy(org, (uint8_t *)v.mv_data + 1, 4);
	mdb_cursor_close(cur);
	return rc;
}

/*
 * Each org_signals row names a signal of its organisation, as
 * signal_owner does, which has a row for each and no more.
 */
static void
raw_check_org_index(void)
{
	MDB_env *env = raw_open();
	MDB_dbi byorg, owners, sigs;
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v, sk, sv;
	MDB_stat ms;
	uint8_t key[PSEUDONYM_LEN + 4], org[4];
	size_t n = 0;

	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "org_signals", 0, &byorg), 0);
	cr_assert_eq(mdb_dbi_open(txn, "signal_owner", 0, &owners), 0);
	cr_assert_eq(mdb_dbi_open(txn, "signals", 0, &sigs), 0);
	cr_assert_eq(mdb_cursor_open(txn, byorg, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		cr_assert_eq(k.mv_size, 4);
		cr_assert_eq(v.mv_size, 8 + PSEUDONYM_LEN);
		memcpy(key, (uint8_t *)v.mv_data + 8, PSEUDONYM_LEN);
		memcpy(key + PSEUDONYM_LEN, k.mv_data, 4);
		sk = (MDB_val){ sizeof(key), key };
		cr_assert_eq(mdb_get(txn, sigs, &sk, &sv), 0,
		    "org_signals names a signal that is not there");
		cr_assert_eq(raw_owner(txn, owners, get_be64(v.mv_data), org),
		    0, "signal_owner lacks a signal");
		cr_assert_arr_eq(org, k.mv_data, 4);
		n++;
	}
	mdb_cursor_close(cur);
	cr_assert_eq(mdb_stat(txn, owners, &ms), 0);
	cr_assert_eq(ms.ms_entries, n, "signal_owner has rows of no signal");
	mdb_txn_abort(txn);
	mdb_env_close(env);
	cr_assert_eq(n, S5_SIGNALS);
}

/* The store's schema number. */
static unsigned
raw_schema(void)
{
	uint8_t v[8];

	cr_assert_eq(raw_get("meta", "schema", 6, v, sizeof(v)), 8);
	return v[7];
}

/* fn for every audit record of the store, from one read transaction. */
static unsigned
raw_audit_each(void (*fn)(uint64_t seq, const uint8_t *v, size_t len,
    void *arg), void *arg)
{
	MDB_env *env = raw_open();
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	unsigned n = 0;

	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "audit", 0, &dbi), 0);
	cr_assert_eq(mdb_cursor_open(txn, dbi, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		cr_assert_eq(k.mv_size, 8);
		fn(++n, v.mv_data, v.mv_size, arg);
		cr_assert_eq(((uint8_t *)k.mv_data)[7], n & 0xFF);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

/* The hash a store of schema 5 or 6 keeps after each record. */
static void
keep_hash(uint64_t seq, const uint8_t *v, size_t len, void *arg)
{
	uint8_t (*hashes)[32] = arg;

	cr_assert_gt(len, 32);
	memcpy(hashes[seq], v + len - 32, 32);
}

/*
 * A record kept as schema 9 keeps it: compact, its hash after it at a
 * checkpoint only, and that the hash schema 6 kept for it (arg, by seq).
 */
static void
check_schema9(uint64_t seq, const uint8_t *v, size_t len, void *arg)
{
	const uint8_t (*hashes)[32] = arg;

	cr_assert_eq(v[0], 0xFF, "audit record %llu compact",
	    (unsigned long long)seq);
	if (seq % 1024 != 0) {
		cr_assert_lt(len, 32, "record %llu keeps no hash",
		    (unsigned long long)seq);
		return;
	}
	cr_assert_gt(len, 32, "checkpoint %llu keeps its hash",
	    (unsigned long long)seq);
	cr_assert_arr_eq(v + len - 32, hashes[seq], 32);
}

/* Every record as schema 9 keeps it, and the last one's hash the head. */
static void
expect_schema9_audit(unsigned records, uint8_t (*hashes)[32])
{
	uint8_t hash[32];

	cr_assert_eq(raw_audit_each(check_schema9, hashes), records);
	cr_assert_eq(raw_head(hash), records);
	cr_assert_arr_eq(hash, hashes[records], 32);
}

/* The hash a store of schema 5 or 6 keeps after each of its n records. */
static void
raw_hashes(unsigned n, uint8_t (*hashes)[32])
{
	cr_assert_eq(raw_audit_each(keep_hash, hashes), n);
}

/* Started on the converted store: its counts, and its chain verifies. */
static void
expect_converted_counts(size_t signals, size_t matches, uint64_t audit)
{
	struct storefix_counts c;

	start(MAP_SIZE, 90);
	c = storefix_counts(rd);
	cr_assert_eq(c.signals, signals);
	cr_assert_eq(c.matches, matches);
	cr_assert_eq(audit_good(), audit);
}

#define DUE_MAX	1024

/* The rows of a due index of schema 10 or before (time . id -> empty). */
static size_t
raw_old_due(const char *db, struct store_due_item *out)
{
	MDB_env *env = raw_open();
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	size_t n = 0;

	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_cursor_open(txn, raw_dbi(txn, db), &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		cr_assert_eq(k.mv_size, 16);
		cr_assert_lt(n, DUE_MAX);
		out[n].when = (int64_t)get_be64(k.mv_data);
		out[n++].id = get_be64((uint8_t *)k.mv_data + 8);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

static size_t	due_all(enum store_due, struct store_due_item *, size_t,
    int *);

/* The started store's due rows of kind are want's n, in order. */
static void
expect_due(enum store_due kind, const struct store_due_item *want, size_t n)
{
	static struct store_due_item got[DUE_MAX];
	int err;

	cr_assert_eq(due_all(kind, got, DUE_MAX, &err), n);
	cr_assert_eq(err, 0);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(got[i].when, want[i].when, "at %zu", i);
		cr_assert_eq(got[i].id, want[i].id, "at %zu", i);
	}
}

Test(store_open, a_schema_5_store_is_converted_in_batches)
{
	static uint8_t hashes[S5_AUDIT + 1][32];
	static struct store_due_item expiry[DUE_MAX], escalate[DUE_MAX];
	size_t nexpiry, nescalate;
	struct diag d;
	uint8_t v[8];
	char *before, *after;
	size_t len, alen;
	uint64_t refs;

	fixture_data(5, dbdir);
	cr_assert_eq(raw_entries("by_org"), S5_SIGNALS);
	raw_hashes(S5_AUDIT, hashes);
	nexpiry = raw_old_due("expiry", expiry);
	nescalate = raw_old_due("escalate", escalate);
	cr_assert_eq(nexpiry, S5_SIGNALS, "an expiry time for each signal");
	cr_assert_gt(nescalate, 0);
	before = raw_contacts_text(dbdir, &len);
	cr_assert_not_null(st = open_migrating(dbdir, 7, 0, &d), "%s",
	    d.text);
	stop();
	cr_assert_eq(raw_get("meta", "schema", 6, v, sizeof(v)), 8);
	cr_assert_eq(v[7], SCHEMA_NOW);
	after = raw_contacts_text(dbdir, &alen);
	cr_assert_eq(alen, len);
	cr_assert_eq(memcmp(after, before, len), 0, "a contact changed");
	free(after);
	free(before);
	cr_assert_gt(raw_check_contacts(0, NULL, &refs), 0);
	cr_assert(!raw_has_db("by_org"), "by_org dropped");
	cr_assert(!raw_has_db("sigid"), "sigid dropped");
	cr_assert_eq(raw_signals_keyed(SIGNAL_KEY, 0, NULL), S5_SIGNALS);
	cr_assert_eq(raw_entries("signal_owner"), S5_SIGNALS);
	cr_assert(!raw_has_db("signal_org"), "signal_org dropped");
	cr_assert(!raw_has_db("expiry"), "expiry dropped");
	cr_assert(!raw_has_db("escalate"), "escalate dropped");
	raw_check_org_index();
	expect_schema9_audit(S5_AUDIT, hashes);
	expect_converted_counts(S5_SIGNALS, S5_MATCHES, S5_AUDIT);
	expect_due(STORE_DUE_EXPIRY, expiry, nexpiry);
	expect_due(STORE_DUE_ESCALATE, escalate, nescalate);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * The store in dbdir, converted with stops, is the store in straight (a
 * copy of what it was) converted in one go, record for record. straight
 * is removed.
 */
static void
expect_as_straight(char *straight)
{
	struct store *s;
	struct diag d;
	char *a, *b;
	size_t alen, blen;

	cr_assert_not_null(s = open_migrating(straight, 0, 0, &d), "%s",
	    d.text);
	store_close(s);
	a = raw_everything(dbdir, &alen);
	b = raw_everything(straight, &blen);
	cr_assert_eq(alen, blen);
	cr_assert_eq(memcmp(a, b, alen), 0, "resumed and straight differ");
	free(a);
	free(b);
	support_tmpdir_remove(straight);
}

Test(store_open, a_stopped_conversion_resumes_where_it_stopped)
{
	/*
	 * Stopped in the first step, again in the second, in the third,
	 * then in the contacts (191 batches of 7 rows before them), twice in
	 * the audit hashes (254 before them), twice in the audit links (317
	 * before them, 64 in all), twice among the expiry times (after the
	 * links and the step of signal_org, which schema 5 did not have),
	 * among the matches (after 32 batches of the expiry times and 26 of
	 * the escalation times), among the links kept in the signal records
	 * (after the rest of the matches and the outbox index), then let
	 * finish; the schema the store says while half converted.
	 */
	static const struct { unsigned after, schema; } stops[] = {
	    { 3, 6 }, { 55, 6 }, { 20, 6 }, { 150, 8 }, { 40, 9 }, { 30, 9 },
	    { 30, 10 }, { 25, 10 }, { 31, 11 }, { 30, 11 }, { 70, 12 },
	    { 100, 13 }, { 0, 0 } };
	char *straight = support_path(dir, "straight");
	struct store *s;
	struct diag d;
	uint8_t v[8], mark[4 + 512];

	fixture_data(5, dbdir);
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		s = open_migrating(dbdir, 7, stops[i].after, &d);
		if (stops[i].after == 0) {
			cr_assert_not_null(s, "%s", d.text);
			store_close(s);
			break;
		}
		cr_assert_null(s, "stopped after %u batches", stops[i].after);
		cr_assert_not_null(strstr(d.text, "stopped"), "%s", d.text);
		cr_assert_eq(raw_get("meta", "schema", 6, v, sizeof(v)), 8);
		cr_assert_eq(v[7], stops[i].schema, "stop %zu: a store half "
		    "converted says the schema of the step under way (%u), "
		    "so that an older vixd refuses it", i, v[7]);
		cr_assert_gt(raw_get("meta", "migrate", 7, mark,
		    sizeof(mark)), 0, "where the conversion goes on is kept");
		/* What a vixd of the schema it says (and opens it) knows. */
		if (stops[i].schema < 13)
			cr_assert_eq(raw_kept(0, NULL), 0, "stop %zu: links kept "
			    "in signal records before schema 13", i);
	}
	fixture_data(5, straight);
	expect_as_straight(straight);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- schema 8: contacts interned per organisation ----------------------- */

#define CONTACT_LAST	"contact:last"

/* Open the store again after stop(), the registry bound as before. */
static void
reopen_bound(void)
{
	st = open_store(MAP_SIZE, 90);
	storefix_bind(st, orgs);
	cr_assert_not_null(rd = store_reader_new(st));
}

/* Close and open the store again, the registry bound as before. */
static void
restart(void)
{
	stop();
	reopen_bound();
}

/* Register (or refresh) youth by o with the contact called name. */
static void
register_contact(const struct org *o, unsigned youth, int64_t now,
    int64_t expires, const char *name)
{
	struct store_register_out out;
	struct store_register_in in;

	storefix_reg_in(&in, orgs, o, FILL, youth, now);
	if (expires != 0)
		in.expires = expires;
	storefix_contact(&in.contact, name);
	cr_assert_eq(storefix_register(st, &in, &out), 0);
	store_view_free(&out.view);
}

/* youth's active (or archived) signal of o shows the contact name. */
static void
expect_contact(unsigned youth, const struct org *o, int archived,
    const char *name)
{
	struct store_subject sub;
	struct store_contact want;
	int found = 0;

	storefix_contact(&want, name);
	subject_of(youth, &sub);
	for (size_t i = 0; i < sub.nsignals; i++) {
		const struct store_subject_signal *s = &sub.signals[i];

		if (s->org != o->sid || (s->archived != 0) != archived)
			continue;
		cr_assert_str_eq(s->contact.name, want.name, "youth %u", youth);
		cr_assert_str_eq(s->contact.phone, want.phone);
		cr_assert_str_eq(s->contact.email, want.email);
		found = 1;
	}
	store_subject_free(&sub);
	cr_assert(found, "youth %u has no %s signal of %s", youth,
	    archived ? "archived" : "active", o->id);
}

/* Contact number of org as stored, unpacked (NULL: not there). */
static Vix__Store__V1__Contact *
raw_contact_get(MDB_txn *txn, MDB_dbi contacts, const uint8_t *org,
    const uint8_t *number, uint64_t *refs)
{
	uint8_t key[12];
	MDB_val k = { sizeof(key), key }, v;

	memcpy(key, org, 4);
	memcpy(key + 4, number, 8);
	if (mdb_get(txn, contacts, &k, &v) != 0)
		return NULL;
	cr_assert_gt(v.mv_size, 8);
	*refs = 0;
	for (int i = 0; i < 8; i++)
		*refs = *refs << 8 | ((uint8_t *)v.mv_data)[i];
	return vix__store__v1__contact__unpack(NULL, v.mv_size - 8,
	    (uint8_t *)v.mv_data + 8);
}

/*
 * How many signal records of org name contact number; none holds the
 * text of its contact, each names one.
 */
static uint64_t
raw_refs_of(MDB_txn *txn, const uint8_t *org, const uint8_t *number)
{
	MDB_dbi sigs = raw_dbi(txn, "signals");
	Vix__Store__V1__Signal *s;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t n = 0, want = 0;

	for (int i = 0; i < 8; i++)
		want = want << 8 | number[i];
	cr_assert_eq(mdb_cursor_open(txn, sigs, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		if (k.mv_size != SIGNAL_KEY)
			continue;	/* audit links */
		cr_assert_not_null(s = vix__store__v1__signal__unpack(NULL,
		    v.mv_size, v.mv_data));
		cr_assert_neq(s->contact, 0, "a signal names no contact");
		cr_assert_str_empty(s->contact_name);
		cr_assert_str_empty(s->contact_phone);
		cr_assert_str_empty(s->contact_email);
		if (memcmp((uint8_t *)k.mv_data + PSEUDONYM_LEN, org, 4) == 0 &&
		    s->contact == want)
			n++;
		vix__store__v1__signal__free_unpacked(s, NULL);
	}
	mdb_cursor_close(cur);
	return n;
}

/*
 * The contacts database agrees with the signals (each contact counts
 * the records naming it, no record holds a contact's text, the index
 * names each contact once) and has the contact name of org sid with
 * *refs references (0: none such); its number of entries.
 */
static size_t
raw_check_contacts(uint32_t sid, const char *name, uint64_t *refs)
{
	MDB_env *env = raw_open();
	MDB_txn *txn;
	MDB_dbi contacts, index;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0, indexed = 0;

	*refs = 0;
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	contacts = raw_dbi(txn, "contacts");
	index = raw_dbi(txn, "contact_index");
	cr_assert_eq(mdb_cursor_open(txn, contacts, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		const uint8_t *kb = k.mv_data;
		Vix__Store__V1__Contact *c;
		uint64_t r;

		cr_assert_eq(k.mv_size, 12);
		cr_assert_not_null(c = raw_contact_get(txn, contacts, kb,
		    kb + 4, &r));
		cr_assert_gt(r, 0, "a contact no signal names is kept");
		cr_assert_eq(r, raw_refs_of(txn, kb, kb + 4), "%s", c->name);
		if (name != NULL && strcmp(c->name, name) == 0 &&
		    ((uint32_t)kb[0] << 24 | kb[1] << 16 | kb[2] << 8 |
		    kb[3]) == sid)
			*refs = r;
		vix__store__v1__contact__free_unpacked(c, NULL);
		n++;
	}
	mdb_cursor_close(cur);
	cr_assert_eq(mdb_cursor_open(txn, index, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		Vix__Store__V1__Contact *c;
		uint64_t r;

		cr_assert_eq(k.mv_size, 12);
		cr_assert_eq(v.mv_size, 8);
		cr_assert_not_null(c = raw_contact_get(txn, contacts,
		    k.mv_data, v.mv_data, &r), "the index names a contact "
		    "that is not there");
		vix__store__v1__contact__free_unpacked(c, NULL);
		indexed++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	cr_assert_eq(indexed, n, "one index entry a contact");
	return n;
}

/* The contacts now (store closed for it): raw_check_contacts of o. */
static size_t
contacts_now(const struct org *o, const char *name, uint64_t *refs)
{
	size_t n;

	stop();
	n = raw_check_contacts(o->sid, name, refs);
	restart();
	return n;
}

TestSuite(store_contacts, .init = setup_started, .fini = teardown);

Test(store_contacts, an_organisations_signals_share_one_contact)
{
	uint64_t refs;

	for (unsigned y = 1; y <= 3; y++)
		register_contact(wijk, y, T0 + y, 0, "Anna de Vries");
	register_contact(wijk, 4, T0 + 4, 0, "Bram Bakker");
	cr_assert_eq(contacts_now(wijk, "Anna de Vries", &refs), 2);
	cr_assert_eq(refs, 3, "%llu", (unsigned long long)refs);

	/* The same text in another organisation is an entry of its own. */
	register_contact(jz, 1, T0 + 5, 0, "Anna de Vries");
	cr_assert_eq(contacts_now(jz, "Anna de Vries", &refs), 3);
	cr_assert_eq(refs, 1);
	cr_assert_eq(contacts_now(wijk, "Anna de Vries", &refs), 3);
	cr_assert_eq(refs, 3);

	for (unsigned y = 1; y <= 3; y++)
		expect_contact(y, wijk, 0, "Anna de Vries");
	expect_contact(4, wijk, 0, "Bram Bakker");
	expect_contact(1, jz, 0, "Anna de Vries");
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_contacts, a_contact_goes_with_the_last_signal_naming_it)
{
	struct store_withdraw_out wo;
	size_t removed, withdrawn;
	uint64_t refs;

	/* 1 refreshed, 2 withdrawn, 3 archived, 4 expires, 5 erased. */
	for (unsigned y = 1; y <= 5; y++)
		register_contact(wijk, y, T0 + y, y == 4 ? T0 + 100 : 0,
		    "Anna");
	cr_assert_eq(contacts_now(wijk, "Anna", &refs), 1);
	cr_assert_eq(refs, 5);
	/* A refresh naming the same contact keeps its one reference. */
	register_contact(wijk, 2, T0 + 9, 0, "Anna");
	cr_assert_eq(contacts_now(wijk, "Anna", &refs), 1);
	cr_assert_eq(refs, 5);

	/* A refresh naming another contact moves its reference. */
	register_contact(wijk, 1, T0 + 10, 0, "Bram");
	cr_assert_eq(contacts_now(wijk, "Anna", &refs), 2);
	cr_assert_eq(refs, 4);
	cr_assert_eq(contacts_now(wijk, "Bram", &refs), 2);
	cr_assert_eq(refs, 1);
	expect_contact(1, wijk, 0, "Bram");
	register_contact(wijk, 1, T0 + 11, 0, "Anna");
	cr_assert_eq(contacts_now(wijk, "Anna", &refs), 1, "Bram is gone");
	cr_assert_eq(refs, 5);

	cr_assert_eq(do_withdraw(wijk, 0, 2, STORE_WITHDRAW_UNJUSTIFIED,
	    T0 + 12, &wo), 0);
	cr_assert_eq(contacts_now(wijk, "Anna", &refs), 1);
	cr_assert_eq(refs, 4);
	cr_assert_eq(do_withdraw(wijk, 0, 3, STORE_WITHDRAW_RISK_RESOLVED,
	    T0 + 13, &wo), 0);
	cr_assert_eq(contacts_now(wijk, "Anna", &refs), 1);
	cr_assert_eq(refs, 3);
	cr_assert_eq(sweep_at(T0 + 200).expired, 1);
	cr_assert_eq(contacts_now(wijk, "Anna", &refs), 1);
	cr_assert_eq(refs, 2);
	erase_youth(5, &removed, &withdrawn);
	cr_assert_eq(removed, 1);
	cr_assert_eq(contacts_now(wijk, "Anna", &refs), 1);
	cr_assert_eq(refs, 1);
	cr_assert_eq(do_withdraw(wijk, 0, 1, STORE_WITHDRAW_UNJUSTIFIED,
	    T0 + 14, &wo), 0);
	cr_assert_eq(contacts_now(wijk, "Anna", &refs), 0,
	    "the last signal naming the contact took it along");
	stop();
	cr_assert_eq(raw_entries("contact_index"), 0);
	restart();

	/* An archived signal keeps its own copy. */
	expect_contact(3, wijk, 1, "Anna");
	expect_contact(4, wijk, 1, "Anna");
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * contact_index gets, beside the entry for contact number `of`, one
 * under the same hash for contact number `other`: two contacts whose
 * hashes collide.
 */
static void
raw_collide(uint64_t of, uint64_t other)
{
	MDB_env *env = raw_open();
	MDB_txn *txn;
	MDB_dbi index;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t want[8], add[8];
	int found = 0;

	be64(want, of);
	be64(add, other);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	index = raw_dbi(txn, "contact_index");
	cr_assert_eq(mdb_cursor_open(txn, index, &cur), 0);
	while (!found && mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
		found = v.mv_size == 8 && memcmp(v.mv_data, want, 8) == 0;
	cr_assert(found, "no index entry for contact %llu",
	    (unsigned long long)of);
	v = (MDB_val){ sizeof(add), add };
	cr_assert_eq(mdb_cursor_put(cur, &k, &v, 0), 0);
	mdb_cursor_close(cur);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

Test(store_contacts, contacts_whose_hashes_collide_are_told_apart)
{
	register_contact(wijk, 1, T0, 0, "Bram");	/* number 1 */
	register_contact(wijk, 2, T0 + 1, 0, "Anna");	/* number 2 */
	stop();
	raw_collide(2, 1);	/* Bram's number first under Anna's hash */
	restart();
	register_contact(wijk, 3, T0 + 2, 0, "Anna");
	expect_contact(3, wijk, 0, "Anna");
	expect_contact(1, wijk, 0, "Bram");
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_contacts, a_moved_youth_keeps_its_contacts)
{
	uint8_t from[PSEUDONYM_LEN], to[PSEUDONYM_LEN];
	uint64_t refs;
	size_t moved;

	register_contact(wijk, 1, T0, 0, "Anna");
	register_contact(jz, 1, T0 + 1, 0, "Bram");
	register_contact(wijk, 2, T0 + 2, 0, "Anna");
	pseudonym(from, 1);
	pseudonym(to, 9);
	cr_assert_eq(storefix_move(st, from, to, &moved), 0);
	expect_contact(9, wijk, 0, "Anna");
	expect_contact(9, jz, 0, "Bram");
	cr_assert_eq(contacts_now(wijk, "Anna", &refs), 2);
	cr_assert_eq(refs, 2);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * Every signal of the store in path and its contact as the store gives
 * it out (from contacts if the record names one), in key order.
 */
static char *
raw_contacts_text(const char *path, size_t *len)
{
	MDB_env *env = raw_open_at(path);
	MDB_dbi sigs, contacts = 0;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	char *buf;
	FILE *fp;

	cr_assert_not_null(fp = open_memstream(&buf, len));
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	sigs = raw_dbi(txn, "signals");
	if (mdb_dbi_open(txn, "contacts", 0, &contacts) != 0)
		contacts = 0;
	cr_assert_eq(mdb_cursor_open(txn, sigs, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		Vix__Store__V1__Signal *s;
		Vix__Store__V1__Contact *c = NULL;
		uint8_t number[8];
		uint64_t refs;

		if (k.mv_size != SIGNAL_KEY)
			continue;	/* audit links */
		cr_assert_not_null(s = vix__store__v1__signal__unpack(NULL,
		    v.mv_size, v.mv_data));
		if (s->contact != 0) {
			cr_assert_neq(contacts, 0);
			be64(number, s->contact);
			cr_assert_not_null(c = raw_contact_get(txn, contacts,
			    (uint8_t *)k.mv_data + PSEUDONYM_LEN, number,
			    &refs));
		}
		fwrite(k.mv_data, 1, k.mv_size, fp);
		fprintf(fp, "|%s|%s|%s\n", c ? c->name : s->contact_name,
		    c ? c->phone : s->contact_phone,
		    c ? c->email : s->contact_email);
		vix__store__v1__contact__free_unpacked(c, NULL);
		vix__store__v1__signal__free_unpacked(s, NULL);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	cr_assert_eq(fclose(fp), 0);
	return buf;
}

/* A record as schema 6 kept it (its contact in its three fields), in fp. */
static void
raw_expand(MDB_txn *txn, MDB_dbi contacts, const MDB_val *k,
    Vix__Store__V1__Signal *s, FILE *fp)
{
	Vix__Store__V1__Contact *c;
	uint8_t number[8], buf[2048];
	uint64_t refs;
	size_t n;

	be64(number, s->contact);
	cr_assert_not_null(c = raw_contact_get(txn, contacts,
	    (uint8_t *)k->mv_data + PSEUDONYM_LEN, number, &refs));
	s->contact = 0;
	s->contact_name = c->name;
	s->contact_phone = c->phone;
	s->contact_email = c->email;
	cr_assert_leq(vix__store__v1__signal__get_packed_size(s), sizeof(buf));
	n = vix__store__v1__signal__pack(s, buf);
	cr_assert_eq(k->mv_size, PSEUDONYM_LEN + 4);
	fwrite(k->mv_data, 1, k->mv_size, fp);
	fwrite(&n, sizeof(n), 1, fp);
	fwrite(buf, 1, n, fp);
	s->contact_name = s->contact_phone = s->contact_email =
	    (char *)protobuf_c_empty_string;
	vix__store__v1__contact__free_unpacked(c, NULL);
}

/* The records raw_expand wrote, put back (after the scan: puts move). */
static void
raw_put_expanded(MDB_txn *txn, MDB_dbi sigs, const uint8_t *b, size_t len)
{
	for (const uint8_t *end = b + len; b < end; ) {
		MDB_val k = { PSEUDONYM_LEN + 4, (void *)b }, v;
		size_t n;

		memcpy(&n, b + k.mv_size, sizeof(n));
		v = (MDB_val){ n, (void *)(b + k.mv_size + sizeof(n)) };
		cr_assert_eq(mdb_put(txn, sigs, &k, &v, 0), 0);
		b += k.mv_size + sizeof(n) + n;
	}
}

/* The store as schema 6 had it: no contacts, each record its own. */
static void
raw_forge_schema6(void)
{
	MDB_env *env;
	MDB_dbi sigs, contacts, meta;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v, mk = { strlen(CONTACT_LAST), CONTACT_LAST };
	uint8_t schema[8];
	char *records;
	size_t len;
	FILE *fp;

	raw_beside_back();
	raw_links_back();
	env = raw_open();
	cr_assert_not_null(fp = open_memstream(&records, &len));
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	sigs = raw_dbi(txn, "signals");
	contacts = raw_dbi(txn, "contacts");
	meta = raw_dbi(txn, "meta");
	cr_assert_eq(mdb_cursor_open(txn, sigs, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		Vix__Store__V1__Signal *s;

		if (k.mv_size != SIGNAL_KEY)
			continue;	/* audit links */
		cr_assert_not_null(s = vix__store__v1__signal__unpack(NULL,
		    v.mv_size, v.mv_data));
		if (s->contact != 0)
			raw_expand(txn, contacts, &k, s, fp);
		vix__store__v1__signal__free_unpacked(s, NULL);
	}
	mdb_cursor_close(cur);
	cr_assert_eq(fclose(fp), 0);
	raw_put_expanded(txn, sigs, (uint8_t *)records, len);
	free(records);
	cr_assert_eq(mdb_drop(txn, contacts, 1), 0);
	cr_assert_eq(mdb_drop(txn, raw_dbi(txn, "contact_index"), 1), 0);
	cr_assert_eq(mdb_del(txn, meta, &mk, NULL), 0);
	be64(schema, 6);
	k = (MDB_val){ 6, "schema" };
	v = (MDB_val){ sizeof(schema), schema };
	cr_assert_eq(mdb_put(txn, meta, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

#define S6_NAMES	3

/*
 * A store of schema 6 made from one of today's (two organisations, each
 * with three contacts over 30 youths, one signal archived), closed; what
 * raw_contacts_text says of it, to be kept.
 */
static char *
fixture_schema6(size_t *len)
{
	static const char *names[S6_NAMES] = { "Anna", "Bram", "Cor" };
	struct store_withdraw_out wo;
	char *before, *forged;
	size_t flen;

	for (unsigned y = 1; y <= 30; y++)
		register_contact(y % 2 ? wijk : jz, y, T0 + y, 0,
		    names[y % S6_NAMES]);
	register_contact(wijk, 31, T0 + 31, 0, "Anna");
	cr_assert_eq(do_withdraw(wijk, 0, 31, STORE_WITHDRAW_RISK_RESOLVED,
	    T0 + 32, &wo), 0);
	stop();
	before = raw_contacts_text(dbdir, len);
	raw_forge_schema6();
	cr_assert(!raw_has_db("contacts"));
	forged = raw_contacts_text(dbdir, &flen);
	cr_assert_eq(flen, *len);
	cr_assert_eq(memcmp(forged, before, flen), 0, "forged as it was");
	free(forged);
	return before;
}

/* The store in dbdir converted, its contacts as before. */
static void
expect_converted(const char *before, size_t len)
{
	char *after;
	size_t alen;
	uint64_t refs;
	uint8_t v[8];

	after = raw_contacts_text(dbdir, &alen);
	cr_assert_eq(alen, len);
	cr_assert_eq(memcmp(after, before, len), 0, "a contact changed");
	free(after);
	cr_assert_eq(raw_check_contacts(wijk->sid, "Bram", &refs),
	    2 * S6_NAMES);
	cr_assert_eq(refs, 5);
	cr_assert_eq(raw_get("meta", "schema", 6, v, sizeof(v)), 8);
	cr_assert_eq(v[7], SCHEMA_NOW);
}

Test(store_open, a_schema_6_store_gets_its_contacts_interned)
{
	struct diag d;
	char *before;
	size_t len;

	start(MAP_SIZE, 90);
	before = fixture_schema6(&len);
	cr_assert_not_null(st = open_migrating(dbdir, 4, 0, &d), "%s",
	    d.text);
	stop();
	expect_converted(before, len);
	free(before);

	restart();
	expect_contact(2, jz, 0, "Cor");
	expect_contact(3, wijk, 0, "Anna");
	expect_contact(31, wijk, 1, "Anna");
	cr_assert_eq(signals(), 30);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_open, a_stopped_contact_conversion_resumes)
{
	char *straight = support_path(dir, "straight"), *from, *before;
	struct store *s;
	struct diag d;
	size_t len;
	uint8_t mark[4 + 512];

	start(MAP_SIZE, 90);
	before = fixture_schema6(&len);
	from = support_path(dbdir, "data.mdb");
	copy_data(from, straight);
	free(from);
	for (unsigned stop_after = 3; stop_after > 0; stop_after--) {
		cr_assert_null(s = open_migrating(dbdir, 4, stop_after, &d));
		cr_assert_not_null(strstr(d.text, "stopped"), "%s", d.text);
		cr_assert_gt(raw_get("meta", "migrate", 7, mark,
		    sizeof(mark)), 0, "where the conversion goes on is kept");
	}
	cr_assert_not_null(s = open_migrating(dbdir, 4, 0, &d), "%s", d.text);
	store_close(s);
	expect_converted(before, len);
	free(before);

	expect_as_straight(straight);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- schema 9: audit hashes kept at checkpoints ------------------------- */

/*
 * A store of schema 6: its audit hashes dropped but at the checkpoints,
 * the last one's kept as the head; its counts and chain as before.
 */
Test(store_open, a_schema_6_store_gets_its_audit_hashes_at_checkpoints)
{
	static uint8_t hashes[S6_AUDIT + 1][32];
	struct diag d;

	fixture_data(6, dbdir);
	cr_assert_eq(raw_schema(), 6);
	raw_hashes(S6_AUDIT, hashes);
	cr_assert_not_null(st = open_migrating(dbdir, 100, 0, &d), "%s",
	    d.text);
	stop();
	cr_assert_eq(raw_schema(), SCHEMA_NOW);
	cr_assert_eq(raw_entries("audit"), S6_AUDIT);
	expect_schema9_audit(S6_AUDIT, hashes);
	expect_converted_counts(S6_SIGNALS, S6_MATCHES, S6_AUDIT);
	must_register(wijk, 1, T0);
	cr_assert_eq(audit_good(), S6_AUDIT + 1, "the chain goes on");
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * The conversion keeps what the hashes of schema 6 tell: a record
 * changed in the old store shows at its checkpoint after it.
 */
Test(store_open, a_record_changed_before_the_conversion_still_shows)
{
	struct diag d;

	fixture_data(6, dbdir);
	tamper(1500, 1);
	cr_assert_not_null(st = open_migrating(dbdir, 0, 0, &d), "%s",
	    d.text);
	rd = store_reader_new(st);
	expect_broken(1025, 2048, 1024);
	stop();
	tamper(1500, 1);
	tamper(S6_AUDIT, 1);		/* the last one: its hash is the head */
	reopen();
	expect_broken(2049, S6_AUDIT, 2048);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * The steps of the migrations that convert the audit hashes (schema 9)
 * and the audit links (schema 10).
 */
#define STEP_AUDIT_HASHES	4
#define STEP_AUDIT_LINKS	5
/* And those of the indexes by id and by time (schema 11). */
#define STEP_SIGNAL_OWNERS	6
#define STEP_EXPIRY_DUE		7
/* And that of the matches beside the signals (schema 12). */
#define STEP_MATCHES_BESIDE	9
/* And that of the links kept in the signal records (schema 13). */
#define STEP_LINKS_KEPT		11

/*
 * The step under way as meta "migrate" holds it (its index in the
 * migrations), or -1 when none is.
 */
static int
raw_migrate_step(void)
{
	MDB_env *env = raw_open();
	MDB_val k = { 7, "migrate" }, v;
	MDB_txn *txn;
	MDB_dbi dbi;
	int step = -1;

	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	/* Only once a row of the step is done: its key follows the step. */
	if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size > 4)
		step = ((uint8_t *)v.mv_data)[3];
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return step;
}

/*
 * A vixd killed (SIGKILL) while converting a store of schema 6, in step
 * `step` (which marks the store `schema`): the next start goes on from
 * its last committed batch, and the store ends as one converted in one
 * go.
 */
static void
kill_while_converting(int step, int schema, const char *what)
{
	char *straight = support_path(dir, "straight");
	struct store *s;
	struct diag d;
	pid_t pid;
	int status, seen = -1;

	fixture_data(6, dbdir);
	fixture_data(6, straight);
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		/* 2 rows a transaction: hundreds of commits to kill in. */
		s = open_migrating(dbdir, 2, 0, &d);
		_exit(s != NULL ? 0 : 1);
	}
	for (int i = 0; i < 20000 && seen != step; i++) {
		cr_assert_eq(waitpid(pid, &status, WNOHANG), 0,
		    "the conversion ended before it could be killed");
		seen = raw_migrate_step();
		if (seen != step)
			usleep(500);
	}
	cr_assert_eq(seen, step, "never saw the %s' step under way", what);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	cr_assert_eq(raw_schema(), schema, "killed midway, it says schema %d",
	    schema);
	cr_assert_eq(raw_migrate_step(), step, "and where it goes on");

	cr_assert_not_null(s = open_migrating(dbdir, 0, 0, &d), "%s", d.text);
	store_close(s);
	cr_assert_eq(raw_migrate_step(), -1);
	expect_as_straight(straight);

	start(MAP_SIZE, 90);
	cr_assert_eq(storefix_counts(rd).signals, S6_SIGNALS);
	cr_assert_eq(audit_good(), S6_AUDIT);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(store_open, a_killed_conversion_resumes_where_it_stopped)
{
	kill_while_converting(STEP_AUDIT_HASHES, 9, "audit hashes");
}

Test(store_open, a_conversion_killed_among_the_links_resumes)
{
	kill_while_converting(STEP_AUDIT_LINKS, 10, "audit links");
}

Test(store_open, a_conversion_killed_among_the_signal_owners_resumes)
{
	kill_while_converting(STEP_SIGNAL_OWNERS, 11, "signal owners");
}

Test(store_open, a_conversion_killed_among_the_expiry_times_resumes)
{
	kill_while_converting(STEP_EXPIRY_DUE, 11, "expiry times");
}

Test(store_open, a_conversion_killed_among_the_matches_resumes)
{
	kill_while_converting(STEP_MATCHES_BESIDE, 12, "matches");
}

Test(store_open, a_conversion_killed_among_the_kept_links_resumes)
{
	kill_while_converting(STEP_LINKS_KEPT, 13, "kept links");
}

/* ---- audit links beside the signals (schema 10) ------------------------ */

#define LINKS_MAX	256

struct seqs {
	uint64_t	v[LINKS_MAX];
	size_t		n;
};

static int
seqs_add(void *arg, uint64_t seq)
{
	struct seqs *s = arg;

	cr_assert_lt(s->n, LINKS_MAX);
	s->v[s->n++] = seq;
	return 0;
}

static int
signals_count(void *arg, uint32_t org, const Vix__Store__V1__Signal *s)
{
	(void)org;
	(void)s;
	(*(size_t *)arg)++;
	return 0;
}

/* The seqs linked to youth, as the backend reads them; its error. */
static int
links_of(unsigned youth, struct seqs *out)
{
	struct store_txn *t = begin();
	uint8_t p[PSEUDONYM_LEN];
	int err;

	pseudonym(p, youth);
	out->n = 0;
	store_txn_backend(t)->youth_audit(t, p, seqs_add, out);
	err = store_txn_error(t);
	store_write_abort(t);
	return err;
}

static void
link_youth(struct store_txn *t, unsigned youth, uint64_t seq)
{
	uint8_t p[PSEUDONYM_LEN];

	pseudonym(p, youth);
	store_txn_backend(t)->import_audit_link(t, p, seq);
}

/* The most seqs one chunk of links holds, of its own or kept. */
static size_t
raw_links_most(void)
{
	struct raw_seqs seqs, kept;

	raw_signals_keyed(LINK_KEY, 0, &seqs);
	raw_kept(0, &kept);
	return seqs.most > kept.most ? seqs.most : kept.most;
}

TestSuite(store_links, .init = setup_started, .fini = teardown);

/* Seqs in order go at the end of the youth's last record until it is full. */
Test(store_links, links_in_order_fill_records_of_thirty_two)
{
	struct store_txn *t = begin();
	struct seqs s;
	struct raw_seqs seqs;

	for (uint64_t i = 0; i < 100; i++)
		link_youth(t, 7, 1000 + 3 * i);
	link_youth(t, 8, 1001);
	cr_assert_eq(store_write_commit(t), 0);
	cr_assert_eq(links_of(7, &s), 0);
	cr_assert_eq(s.n, 100);
	for (size_t i = 0; i < s.n; i++)
		cr_assert_eq(s.v[i], 1000 + 3 * i, "at %zu: %lu", i,
		    (unsigned long)s.v[i]);
	cr_assert_eq(links_of(8, &s), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.v[0], 1001);

	/* Linked again: nothing changes. */
	t = begin();
	link_youth(t, 7, 1000);
	link_youth(t, 7, 1000 + 3 * 50);
	link_youth(t, 7, 1000 + 3 * 99);
	cr_assert_eq(store_write_commit(t), 0);
	stop();
	cr_assert_eq(raw_signals_keyed(LINK_KEY, 0, &seqs), 4 + 1,
	    "32, 32, 32 and 4 seqs for youth 7, one for youth 8");
	cr_assert_eq(seqs.all, 101);
	cr_assert_eq(seqs.most, 32);
	cr_assert_eq(raw_entries("youth_audit"), 0);
	reopen_bound();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * Out of order and twice each (an import), beside a youth's signals: read
 * in order, once each, in records of at most 32, the signals untouched;
 * unlinking removes the youth's links alone.
 */
Test(store_links, links_in_any_order_beside_signals_read_in_order)
{
	struct store_txn *t;
	uint8_t p[PSEUDONYM_LEN];
	struct seqs s, before;
	size_t nsig = 0;

	must_register(wijk, 1, T0);
	must_register(jz, 1, T0 + 1);
	cr_assert_eq(links_of(1, &before), 0);
	cr_assert_gt(before.n, 0, "the registrations are linked");
	cr_assert_lt(before.v[before.n - 1], 5000);
	t = begin();
	link_youth(t, 8, 6000);
	for (unsigned round = 0; round < 2; round++)
		for (uint64_t i = 0; i < 200; i++)
			/* 7 and 13 are coprime to 200: each seq once a round. */
			link_youth(t, 1, 5000 + i * (round ? 13 : 7) % 200);
	cr_assert_eq(store_write_commit(t), 0);
	cr_assert_eq(links_of(1, &s), 0);
	cr_assert_eq(s.n, before.n + 200);
	for (size_t i = 0; i < before.n; i++)
		cr_assert_eq(s.v[i], before.v[i]);
	for (size_t i = 0; i < 200; i++)
		cr_assert_eq(s.v[before.n + i], 5000 + i, "at %zu: %lu", i,
		    (unsigned long)s.v[before.n + i]);

	t = begin();
	pseudonym(p, 1);
	store_txn_backend(t)->youth_signals(t, p, signals_count, &nsig);
	cr_assert_eq(nsig, 2, "the youth's signals, not its links");
	cr_assert(store_txn_backend(t)->youth_audited(t, p));
	store_txn_backend(t)->youth_audit_unlink(t, p);
	cr_assert(!store_txn_backend(t)->youth_audited(t, p));
	nsig = 0;
	store_txn_backend(t)->youth_signals(t, p, signals_count, &nsig);
	cr_assert_eq(nsig, 2, "unlinking keeps the signals");
	cr_assert_eq(store_write_commit(t), 0);
	cr_assert_eq(links_of(1, &s), 0);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(links_of(8, &s), 0);
	cr_assert_eq(s.n, 1, "another youth's links stay");
	stop();
	cr_assert_leq(raw_links_most(), 32);
	reopen_bound();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* The domain's view of a youth's signals: the kept links are not in it. */
static int
signals_unmarked(void *arg, uint32_t org, const Vix__Store__V1__Signal *s)
{
	(void)org;
	cr_assert_eq(s->audit_links.len, 0, "the backend's own field shown");
	(*(size_t *)arg)++;
	return 0;
}

/* The seqs s holds are ascending. */
static void
assert_ascending(const struct seqs *s)
{
	for (size_t i = 1; i < s->n; i++)
		cr_assert_gt(s->v[i], s->v[i - 1], "at %zu", i);
}

/*
 * A youth with a signal keeps its links in the signal's record (schema
 * 13), with no record of their own; a refresh that rewrites the record
 * keeps them; when the signal goes they move to a record of their own,
 * read in order as before; an erasure removes them wherever they are.
 */
Test(store_links, a_signal_keeps_its_youths_links_and_they_outlive_it)
{
	struct store_withdraw_out wo;
	struct raw_seqs own, kept;
	struct store_txn *t;
	uint8_t p[PSEUDONYM_LEN];
	size_t n = 0, removed, withdrawn;
	struct seqs s;
	uint64_t id;

	id = must_register(wijk, 1, T0);
	must_register(wijk, 1, T0 + 5);		/* a refresh: rewritten */
	must_register(wijk, 2, T0 + 6);
	cr_assert_eq(links_of(1, &s), 0);
	cr_assert_eq(s.n, 2, "%zu", s.n);
	stop();
	cr_assert_eq(raw_signals_keyed(LINK_KEY, 0, NULL), 0,
	    "no link record of its own");
	cr_assert_eq(raw_kept(0, &kept), 2, "a chunk kept for each youth");
	cr_assert_eq(kept.all, 3);
	reopen_bound();
	t = begin();
	pseudonym(p, 1);
	store_txn_backend(t)->youth_signals(t, p, signals_unmarked, &n);
	store_write_abort(t);
	cr_assert_eq(n, 1);

	cr_assert_eq(do_withdraw(wijk, id, 1, STORE_WITHDRAW_UNJUSTIFIED,
	    T0 + 7, &wo), 0);
	cr_assert_eq(links_of(1, &s), 0);
	cr_assert_eq(s.n, 3, "the withdrawal linked too: %zu", s.n);
	assert_ascending(&s);
	stop();
	cr_assert_eq(raw_signals_keyed(LINK_KEY, 0, &own), 1,
	    "youth 1's links outlive its signal");
	cr_assert_eq(own.all, 3);
	cr_assert_eq(raw_kept(0, &kept), 1, "youth 2's stay kept");
	reopen_bound();
	must_register(jz, 1, T0 + 8);
	cr_assert_eq(links_of(1, &s), 0);
	cr_assert_eq(s.n, 4);
	assert_ascending(&s);

	erase_youth(1, &removed, &withdrawn);
	cr_assert_eq(removed, 1);
	cr_assert_eq(links_of(1, &s), 0);
	cr_assert_eq(s.n, 0, "erased: no link left");
	cr_assert_eq(links_of(2, &s), 0);
	cr_assert_eq(s.n, 1, "another youth's links stay");
	stop();
	cr_assert_eq(raw_signals_keyed(LINK_KEY, 0, NULL), 0);
	cr_assert_eq(raw_kept(0, NULL), 1);
	reopen_bound();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * A store of schema 12 (every youth's links in records of their own)
 * gets them kept in a signal record where the youth has one: each youth
 * reads the same links, and a youth without a signal keeps its record.
 */
Test(store_links, a_schema_12_store_gets_its_links_kept_in_signals)
{
	struct store_withdraw_out wo;
	struct seqs before[4], after;
	struct raw_seqs kept;
	uint8_t v[8];
	uint64_t id;

	for (unsigned y = 1; y <= 3; y++) {
		must_register(wijk, y, T0 + y);
		must_register(jz, y, T0 + 10 + y);	/* matched */
	}
	id = must_register(vt, 4, T0 + 20);
	cr_assert_eq(do_withdraw(vt, id, 4, STORE_WITHDRAW_UNJUSTIFIED,
	    T0 + 21, &wo), 0);
	for (unsigned y = 1; y <= 4; y++) {
		cr_assert_eq(links_of(y, &before[y - 1]), 0);
		cr_assert_gt(before[y - 1].n, 0);
	}
	stop();
	raw_kept(1, NULL);
	be64(v, 12);
	raw_put("meta", "schema", 6, v, sizeof(v));
	cr_assert_eq(raw_signals_keyed(LINK_KEY, 0, NULL), 4);
	cr_assert_eq(raw_kept(0, NULL), 0, "schema 12 keeps none");

	reopen_bound();
	stop();
	cr_assert_eq(raw_schema(), SCHEMA_NOW);
	cr_assert_eq(raw_signals_keyed(LINK_KEY, 0, NULL), 1,
	    "youth 4's, who has no signal");
	cr_assert_eq(raw_kept(0, &kept), 3);
	reopen_bound();
	for (unsigned y = 1; y <= 4; y++) {
		cr_assert_eq(links_of(y, &after), 0);
		cr_assert_eq(after.n, before[y - 1].n, "youth %u", y);
		cr_assert_arr_eq(after.v, before[y - 1].v,
		    after.n * sizeof(*after.v), "youth %u", y);
	}
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* A link record that does not decode fails the read, naming no youth. */
Test(store_links, a_damaged_link_record_fails_the_read)
{
	uint8_t key[LINK_KEY], bad[] = { 0x05, 0x80 };
	struct seqs s;

	stop();
	pseudonym(key, 9);
	be64(key + PSEUDONYM_LEN, 77);
	raw_put("signals", key, sizeof(key), bad, sizeof(bad));
	reopen_bound();
	cr_assert_eq(links_of(9, &s), VIX_E_STORE);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- packed indexes by id and by time (schema 11) ---------------------- */

#define PACKED_YOUTHS	700

/* Keys of db, rows in all, and the most rows one key holds. */
static size_t
raw_dup_keys(const char *db, size_t *rows, size_t *most)
{
	MDB_env *env = raw_open();
	MDB_cursor *cur;
	MDB_txn *txn;
	MDB_val k, v;
	size_t keys = 0, n;

	*rows = *most = 0;
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_cursor_open(txn, raw_dbi(txn, db), &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT_NODUP) == 0) {
		cr_assert_eq(mdb_cursor_count(cur, &n), 0);
		*rows += n;
		*most = n > *most ? n : *most;
		keys++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return keys;
}

/* The active signals due for expiry, as the backend reads them. */
static size_t
due_all(enum store_due kind, struct store_due_item *out, size_t max, int *err)
{
	struct store_txn *t = begin();
	size_t n;

	n = store_txn_backend(t)->due_scan(t, kind, INT64_MAX, out, max);
	*err = store_txn_error(t);
	store_write_abort(t);
	return n;
}

TestSuite(store_packed, .init = setup_started, .fini = teardown);

/*
 * 700 signals of two organisations in batches, every third withdrawn:
 * each active one is found by its id with its youth and organisation, a
 * withdrawn one is not; the ids share buckets of at most 64, and the
 * expiry times (100 signals a second) their keys.
 */
Test(store_packed, signals_by_id_and_by_time_in_shared_keys)
{
	static uint64_t ids[PACKED_YOUTHS + 1];
	static struct store_due_item due[PACKED_YOUTHS + 1];
	struct store_register_out out;
	struct store_withdraw_out wo;
	uint8_t p[PSEUDONYM_LEN], want[PSEUDONYM_LEN];
	struct store_txn *t;
	size_t active = 0, rows, most, n;
	uint32_t org;
	int err;

	for (unsigned y = 1; y <= PACKED_YOUTHS; y += 50) {
		t = begin();
		for (unsigned i = y; i < y + 50; i++) {
			cr_assert_eq(job_register(t, i % 2 ? wijk : jz, i,
			    T0 + i / 100, 0, &out), 0);
			ids[i] = out.signal_id;
		}
		cr_assert_eq(store_write_commit(t), 0);
	}
	for (unsigned y = 3; y <= PACKED_YOUTHS; y += 3)
		cr_assert_eq(do_withdraw(y % 2 ? wijk : jz, ids[y], y,
		    STORE_WITHDRAW_RISK_RESOLVED, T0 + 1000, &wo), 0);

	t = begin();
	for (unsigned y = 1; y <= PACKED_YOUTHS; y++) {
		int found = store_txn_backend(t)->signal_locate(t, ids[y], p,
		    &org);

		if (y % 3 == 0) {
			cr_assert_eq(found, 0, "withdrawn signal %u found", y);
			continue;
		}
		active++;
		cr_assert_eq(found, 1, "signal %u of youth %u not found",
		    (unsigned)ids[y], y);
		pseudonym(want, y);
		cr_assert_arr_eq(p, want, PSEUDONYM_LEN);
		cr_assert_eq(org, (y % 2 ? wijk : jz)->sid);
	}
	cr_assert_eq(store_txn_backend(t)->signal_locate(t,
	    ids[PACKED_YOUTHS] + 1, p, &org), 0, "an id never given out");
	store_write_abort(t);

	n = due_all(STORE_DUE_EXPIRY, due, PACKED_YOUTHS + 1, &err);
	cr_assert_eq(err, 0);
	cr_assert_eq(n, active);
	for (size_t i = 1; i < n; i++)
		cr_assert(due[i - 1].when < due[i].when ||
		    (due[i - 1].when == due[i].when &&
		    due[i - 1].id < due[i].id), "expiry out of order at %zu",
		    i);
	for (size_t i = 0; i < n; i++) {
		unsigned y = 1;

		while (y <= PACKED_YOUTHS && ids[y] != due[i].id)
			y++;
		cr_assert(y <= PACKED_YOUTHS && y % 3 != 0,
		    "due %lu is no active signal", (unsigned long)due[i].id);
	}

	stop();
	cr_assert_eq(raw_dup_keys("signal_owner", &rows, &most),
	    (size_t)(ids[PACKED_YOUTHS] >> OWNER_BITS) -
	    (ids[1] >> OWNER_BITS) + 1, "one key a bucket of 64 ids");
	cr_assert_eq(rows, active);
	cr_assert_leq(most, 1 << OWNER_BITS);
	cr_assert_eq(raw_dup_keys("expiry_due", &rows, &most),
	    PACKED_YOUTHS / 100 + 1, "one key a second");
	cr_assert_eq(rows, active);
	cr_assert_geq(most, 60, "a second's signals share its key");
	reopen_bound();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* Of signals due in one second, a withdrawn one goes and the rest stay. */
Test(store_packed, one_of_a_seconds_expiries_goes_alone)
{
	struct store_due_item due[8];
	struct store_withdraw_out wo;
	uint64_t ids[6];
	size_t n;
	int err;

	for (unsigned y = 1; y <= 5; y++)
		ids[y] = must_register(wijk, y, T0);
	cr_assert_eq(do_withdraw(wijk, ids[3], 3,
	    STORE_WITHDRAW_RISK_RESOLVED, T0 + 1, &wo), 0);
	n = due_all(STORE_DUE_EXPIRY, due, 8, &err);
	cr_assert_eq(err, 0);
	cr_assert_eq(n, 4);
	for (size_t i = 0, y = 1; i < n; i++, y += y == 2 ? 2 : 1) {
		cr_assert_eq(due[i].when, T0 + YEAR);
		cr_assert_eq(due[i].id, ids[y], "at %zu: %lu, not %lu", i,
		    (unsigned long)due[i].id, (unsigned long)ids[y]);
	}
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* A row cut short fails the lookup or the scan, naming nothing. */
Test(store_packed, a_damaged_row_fails_the_read)
{
	uint8_t key[8], bad[4] = { 5, 0, 0, 1 };	/* id ...05, org cut */
	struct store_due_item due[4];
	uint8_t p[PSEUDONYM_LEN];
	struct store_txn *t;
	uint32_t org;
	int err;

	stop();
	be64(key, 0x7777);
	raw_put("signal_owner", key, sizeof(key), bad, sizeof(bad));
	be64(key, 1);
	raw_put("expiry_due", key, sizeof(key), bad, sizeof(bad));
	reopen_bound();
	t = begin();
	cr_assert_eq(store_txn_backend(t)->signal_locate(t,
	    (uint64_t)0x7777 << OWNER_BITS | 5, p, &org), -1);
	store_write_abort(t);
	due_all(STORE_DUE_EXPIRY, due, 4, &err);
	cr_assert_eq(err, VIX_E_STORE);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}
