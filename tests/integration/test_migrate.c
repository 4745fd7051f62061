/*
 * A store of an older schema opened by this vixd: tests/data/store-schema5
 * and store-schema6 (made by tests/data/make-store.sh with the vixd of
 * schema 5 and of schema 6) are converted at start, and keep their counts,
 * their audit chain and their youths: a new registration of one of them
 * matches, a migrated signal is withdrawn by its id, the subject report
 * and the erasure find them. Once converted, vixctl audit verify finds a
 * record changed, a tail removed or a head changed underneath vixd.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <lmdb.h>

#include "harness.h"

/* The fixtures' pseudonym key (test material, as the script writes it). */
#define FIXTURE_KEY	"vix-test-store-schema5-key-32byt"

static struct vixd_proc vixd;
static char bsns[300][16];

/* The bench organisations of the fixture: their signals stay theirs. */
static const char bench_orgs[] =
    "\n[org bench-001]\noin = 00000009991000000001\nname = Bench 1\n"
    "roles = register, subscribe\nrank = 101\nmunicipality = 0363\n"
    "\n[org bench-002]\noin = 00000009991000000002\nname = Bench 2\n"
    "roles = register, subscribe\nrank = 102\nmunicipality = 0363\n"
    "\n[org bench-003]\noin = 00000009991000000003\nname = Bench 3\n"
    "roles = register, subscribe\nrank = 103\nmunicipality = 0363\n";

static void
copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in, out;

	cr_assert_neq(in = open(from, O_RDONLY), -1, "%s: %s", from,
	    strerror(errno));
	cr_assert_neq(out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode), -1,
	    "%s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)n), n);
	close(in);
	cr_assert_eq(close(out), 0);
}

static void
write_bytes(const char *path, const char *s, mode_t mode)
{
	FILE *fp;

	unlink(path);
	cr_assert_neq(creat(path, mode), -1, "%s: %s", path, strerror(errno));
	cr_assert_not_null(fp = fopen(path, "a"));
	fputs(s, fp);
	cr_assert_eq(fclose(fp), 0);
}

/* vixd --dev on a copy of the schema-n store, its key and organisations. */
static void
start_on_schema(unsigned n)
{
	char path[PATH_MAX], from[PATH_MAX];
	FILE *fp;

	harness_load_bsns(bsns, sizeof(bsns) / sizeof(bsns[0]));
	harness_start(&vixd, NULL);
	cr_assert_eq(harness_signal_wait(&vixd, SIGTERM), 0);
	snprintf(from, sizeof(from), "%s/store-schema%u/data.mdb",
	    getenv("VIX_TESTDATA"), n);
	snprintf(path, sizeof(path), "%s/data/data.mdb", vixd.dev_dir);
	copy_file(from, path, 0600);
	snprintf(path, sizeof(path), "%s/data/lock.mdb", vixd.dev_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pseudonym.key", vixd.dev_dir);
	write_bytes(path, FIXTURE_KEY, 0600);
	snprintf(path, sizeof(path), "%s/orgs.conf", vixd.dev_dir);
	cr_assert_not_null(fp = fopen(path, "a"));
	fputs(bench_orgs, fp);
	cr_assert_eq(fclose(fp), 0);
	harness_restart(&vixd);
}

static void
stop(void)
{
	harness_stop(&vixd);
}

static void
vixctl(struct run_result *r, const char *const *args, const char *input)
{
	char sock[PATH_MAX];
	const char *argv[16] = { getenv("VIXCTL"), "-s", harness_dev_file(
	    &vixd, "control.sock", sock, sizeof(sock)) };
	size_t n = 3;

	cr_assert_not_null(argv[0], "VIXCTL must be set (run through meson "
	    "test)");
	for (; *args != NULL && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	harness_run_stdin(r, argv, input);
}

/* The number after key in json, or -1. */
static long long
json_count(const char *json, const char *key)
{
	const char *at = strstr(json, key);

	return at ? strtoll(at + strlen(key), NULL, 10) : -1;
}

static void
expect_counts(long long signals, long long matches)
{
	struct run_result r;

	vixctl(&r, (const char *[]){ "--json", "status", NULL }, NULL);
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_eq(json_count(r.out, "\"signals\":"), signals, "%s", r.out);
	cr_assert_eq(json_count(r.out, "\"matches\":"), matches, "%s", r.out);
	cr_assert_eq(json_count(r.out, "\"archived\":"), 1, "%s", r.out);
}

/* What a fixture's expected.txt has vixctl status show, once converted. */
struct fixture {
	long long	signals, matches, uncoordinated, audit;
	long long	pending_a, pending_b, pending_bench2;
};

static const struct fixture schema5 = { 439, 178, 177, 448, 183, 83, 92 };
static const struct fixture schema6 = { 939, 179, 178, 2318, 244, 83, 152 };

static void
expect_fixture(const struct fixture *f)
{
	static const char *const org[] = { "org-a", "org-b", "bench-002" };
	const long long pending[] = { f->pending_a, f->pending_b,
	    f->pending_bench2 };
	struct run_result r;
	char key[64];

	vixctl(&r, (const char *[]){ "--json", "status", NULL }, NULL);
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_eq(json_count(r.out, "\"signals\":"), f->signals, "%s",
	    r.out);
	cr_assert_eq(json_count(r.out, "\"matches\":"), f->matches, "%s",
	    r.out);
	cr_assert_eq(json_count(r.out, "\"matches_uncoordinated\":"),
	    f->uncoordinated, "%s", r.out);
	cr_assert_eq(json_count(r.out, "\"audit_records\":"), f->audit, "%s",
	    r.out);
	for (size_t i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "{\"org\":\"%s\",\"pending\":",
		    org[i]);
		cr_assert_eq(json_count(r.out, key), pending[i], "%s: %s",
		    org[i], r.out);
	}
}

static void
audit_verify(void)
{
	struct run_result r;

	vixctl(&r, (const char *[]){ "audit", "verify", NULL }, NULL);
	cr_assert_eq(r.status, 0, "audit verify: %s %s", r.out,
	    harness_redact(r.err));
}

TestSuite(migrate, .fini = stop);

Test(migrate, a_schema_5_store_keeps_its_counts_and_chain)
{
	struct run_result r;
	char log[16384], script[2 * PATH_MAX];

	start_on_schema(5);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, "converting from schema 5 to 13"), "%s",
	    log);
	expect_fixture(&schema5);
	audit_verify();

	/* Converted once: the next start finds schema 13. */
	harness_restart(&vixd);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_null(strstr(log, "converting from"), "%s", log);
	expect_counts(439, 178);
	audit_verify();

	/* A compaction copies the new indexes whole (org-a: 200 less 2). */
	cr_assert_eq(harness_signal_wait(&vixd, SIGTERM), 0);
	snprintf(script, sizeof(script), "cd '%s' && exec '%s' --compact "
	    "--dev --data '%s'", vixd.dir, getenv("VIXD"), vixd.dev_dir);
	harness_run(&r, (const char *[]){ "/bin/sh", "-c", script, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	harness_restart(&vixd);
	expect_counts(439, 178);
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "--json", "list",
	    "--all", NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_eq(harness_count(r.out, "\"signal_id\":"), 198, "%s",
	    r.out);
	audit_verify();
}

Test(migrate, a_migrated_youth_is_found_withdrawn_reported_and_erased)
{
	struct run_result r;
	char id[32] = "", *at;

	start_on_schema(5);
	/* Line 120: org-a's alone; org-b registering it makes a match. */
	harness_vix(&r, &vixd, "org-b", (const char *[]){ "register", "--bsn",
	    bsns[119], "--birth-date", "2012-03-04", "--contact-name", "B",
	    "--contact-phone", "0201234567", NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	harness_vix(&r, &vixd, "org-b", (const char *[]){ "--json",
	    "involved", "--bsn", bsns[119], NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_not_null(strstr(r.out, "\"org_id\":\"org-a\""),
	    "org-a is involved: %s", r.out);
	/* With the contact its migrated signal named (now interned). */
	cr_assert_not_null(strstr(r.out, "Contact org-a"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "0201234567"), "%s", r.out);
	expect_counts(440, 179);

	/* org-a's first signal, withdrawn by its id. */
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "--json", "list",
	    "--all", NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_not_null(at = strstr(r.out, "\"signal_id\":"), "%s", r.out);
	at += strlen("\"signal_id\":");
	at += strspn(at, " \"");
	snprintf(id, sizeof(id), "%.*s", (int)strspn(at, "0123456789"), at);
	harness_vix(&r, &vixd, "org-b", (const char *[]){ "withdraw",
	    "--signal", id, "--reason", "unjustified", NULL });
	cr_assert_neq(r.status, 0, "org-b may not withdraw org-a's signal");
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "withdraw",
	    "--signal", id, "--reason", "unjustified", NULL });
	cr_assert_eq(r.status, 0, "withdraw %s: %s", id,
	    harness_redact(r.err));
	expect_counts(439, 178);

	/* Line 50: org-a, org-b and bench-001. */
	vixctl(&r, (const char *[]){ "--json", "subject-report", "--bsn", "-",
	    NULL }, bsns[49]);
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_not_null(strstr(r.out, "bench-001"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "org-b"), "%s", r.out);
	vixctl(&r, (const char *[]){ "erase", "--bsn", "-", "--reason",
	    "gdpr-erasure", NULL }, bsns[49]);
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	expect_counts(436, 177);
	audit_verify();
}

/* ---- schema 6 to 13: audit hashes, links, packed indexes, matches beside */

/* Line 300: org-a's alone in the fixture of schema 6. */
Test(migrate, a_schema_6_store_keeps_its_counts_and_chain)
{
	/* Each step converts the rows of the fixture. */
	static const char *const steps[] = {
	    "schema 9: audit hashes kept at checkpoints: done, 2318 rows",
	    "schema 10: audit links beside the signals: done, 2318 rows",
	    "schema 11: signal owners in buckets: done, 939 rows",
	    "schema 11: expiry times as sorted duplicates: done, 939 rows",
	    "schema 11: escalation times as sorted duplicates: done, 181 rows",
	    "schema 12: matches beside the signals: done, 179 rows",
	    "schema 12: outbox index beside the signals: done",
	    "schema 13: audit links kept in the signal records: done" };
	struct run_result r;
	char log[16384], *at;

	start_on_schema(6);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, "converting from schema 6 to 13"), "%s",
	    log);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		cr_assert_not_null(strstr(log, steps[i]), "%s", log);
	expect_fixture(&schema6);
	vixctl(&r, (const char *[]){ "audit", "verify", NULL }, NULL);
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_not_null(strstr(r.out, "audit chain intact: 2318 records"),
	    "%s", r.out);
	/* Its records, found through the links moved beside the signals. */
	vixctl(&r, (const char *[]){ "--json", "subject-report", "--bsn", "-",
	    NULL }, bsns[299]);
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_not_null(at = strstr(r.out, "\"audit\":["), "%s",
	    harness_redact(r.out));
	cr_assert_gt(harness_count(at, "\"seq\":"), 0, "%s",
	    harness_redact(r.out));

	harness_restart(&vixd);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_null(strstr(log, "converting from"), "%s", log);
	harness_vix(&r, &vixd, "org-b", (const char *[]){ "register", "--bsn",
	    bsns[299], "--birth-date", "2012-03-04", "--contact-name", "B",
	    "--contact-phone", "0201234567", NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	vixctl(&r, (const char *[]){ "--json", "status", NULL }, NULL);
	cr_assert_eq(json_count(r.out, "\"matches\":"), 180, "%s", r.out);
	vixctl(&r, (const char *[]){ "audit", "verify", NULL }, NULL);
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	/* Its registration and the subject report's record after the 2318. */
	cr_assert_not_null(strstr(r.out, "audit chain intact: 2320 records"),
	    "%s", r.out);
}

typedef void (*store_edit)(MDB_txn *, MDB_dbi audit, MDB_dbi meta);

/* Stop vixd, change its store with edit, start it again. */
static void
edit_store(store_edit edit)
{
	char path[PATH_MAX];
	MDB_dbi audit, meta;
	MDB_env *env;
	MDB_txn *txn;

	cr_assert_eq(harness_signal_wait(&vixd, SIGTERM), 0);
	snprintf(path, sizeof(path), "%s/data", vixd.dev_dir);
	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 32), 0);
	cr_assert_eq(mdb_env_open(env, path, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "audit", 0, &audit), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	edit(txn, audit, meta);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	harness_restart(&vixd);
}

static void
be64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * (7 - i)));
}

/* Flip a byte at offset (from the end if < 0) of db's value under key. */
static void
flip(MDB_txn *txn, MDB_dbi db, const void *key, size_t klen, long offset)
{
	MDB_val k = { klen, (void *)key }, v;
	uint8_t buf[1024];

	cr_assert_eq(mdb_get(txn, db, &k, &v), 0);
	cr_assert_leq(v.mv_size, sizeof(buf));
	memcpy(buf, v.mv_data, v.mv_size);
	buf[offset < 0 ? (long)v.mv_size + offset : offset] ^= 0x20;
	v.mv_data = buf;
	cr_assert_eq(mdb_put(txn, db, &k, &v, 0), 0);
}

static void
flip_record(MDB_txn *txn, MDB_dbi audit, MDB_dbi meta)
{
	uint8_t key[8];

	(void)meta;
	be64(key, 1500);
	flip(txn, audit, key, sizeof(key), 1);	/* its time, still a varint */
}

static void
flip_checkpoint_hash(MDB_txn *txn, MDB_dbi audit, MDB_dbi meta)
{
	uint8_t key[8];

	(void)meta;
	be64(key, 2048);
	flip(txn, audit, key, sizeof(key), -1);
}

static void
drop_tail(MDB_txn *txn, MDB_dbi audit, MDB_dbi meta)
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key };

	(void)meta;
	be64(key, 2318);
	cr_assert_eq(mdb_del(txn, audit, &k, NULL), 0);
}

/* meta's "ahead:" . chain 0: the chain's last seq and hash. */
static void
flip_head(MDB_txn *txn, MDB_dbi audit, MDB_dbi meta)
{
	(void)audit;
	flip(txn, meta, "ahead:\0\0\0\0", 10, 20);
}

/*
 * After the conversion the chain keeps a hash every 1024 records and its
 * head in meta: a record changed shows at the next checkpoint, and
 * vixctl audit verify names the range; a changed checkpoint hash, a
 * removed tail and a changed head show too.
 */
Test(migrate, a_converted_chain_changed_underneath_fails_to_verify)
{
	static const struct {
		store_edit	 edit;
		const char	*says;
	} cases[] = {
		{ flip_record, "broken at record 1025 or after it, up to "
		    "record 2048" },
		{ flip_checkpoint_hash, "broken at record 1025 or after it, "
		    "up to record 2048" },
		{ drop_tail, "broken at record 2049 or after it" },
		{ flip_head, "broken at record 2049 or after it" },
	};
	char saved[PATH_MAX], data[PATH_MAX];
	struct run_result r;

	start_on_schema(6);
	cr_assert_eq(harness_signal_wait(&vixd, SIGTERM), 0);
	snprintf(data, sizeof(data), "%s/data/data.mdb", vixd.dev_dir);
	snprintf(saved, sizeof(saved), "%s/converted.mdb", vixd.dir);
	copy_file(data, saved, 0600);
	harness_restart(&vixd);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		edit_store(cases[i].edit);
		vixctl(&r, (const char *[]){ "audit", "verify", NULL }, NULL);
		cr_assert_eq(r.status, 1, "case %zu: %s%s", i, r.out, r.err);
		cr_assert_not_null(strstr(r.err, cases[i].says),
		    "case %zu: %s", i, r.err);
		cr_assert_eq(harness_signal_wait(&vixd, SIGTERM), 0);
		copy_file(saved, data, 0600);
		harness_restart(&vixd);
	}
	audit_verify();
}
