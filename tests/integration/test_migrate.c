/*
 * A store of an older schema opened by this vixd: tests/data/store-schema5
 * (made by tests/data/make-store-schema5.sh with the vixd of schema 5) is
 * converted at start, and keeps its counts, its audit chain and its
 * youths: a new registration of one of them matches, a migrated signal is
 * withdrawn by its id, the subject report and the erasure find them.
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

#include "harness.h"

/* The fixture's pseudonym key (test material, as the script writes it). */
#define S5_KEY		"vix-test-store-schema5-key-32byt"

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

/* vixd --dev on a copy of the schema-5 store, its key and organisations. */
static void
start_on_schema5(void)
{
	char path[PATH_MAX], from[PATH_MAX];
	FILE *fp;

	harness_load_bsns(bsns, sizeof(bsns) / sizeof(bsns[0]));
	harness_start(&vixd, NULL);
	cr_assert_eq(harness_signal_wait(&vixd, SIGTERM), 0);
	snprintf(from, sizeof(from), "%s/store-schema5/data.mdb",
	    getenv("VIX_TESTDATA"));
	snprintf(path, sizeof(path), "%s/data/data.mdb", vixd.dev_dir);
	copy_file(from, path, 0600);
	snprintf(path, sizeof(path), "%s/data/lock.mdb", vixd.dev_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pseudonym.key", vixd.dev_dir);
	write_bytes(path, S5_KEY, 0600);
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

	start_on_schema5();
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, "converting from schema 5 to 8"), "%s",
	    log);
	/* As tests/data/store-schema5/expected.txt has them. */
	vixctl(&r, (const char *[]){ "--json", "status", NULL }, NULL);
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_eq(json_count(r.out, "\"signals\":"), 439, "%s", r.out);
	cr_assert_eq(json_count(r.out, "\"matches\":"), 178, "%s", r.out);
	cr_assert_eq(json_count(r.out, "\"matches_uncoordinated\":"), 177);
	cr_assert_eq(json_count(r.out, "\"audit_records\":"), 448);
	cr_assert_eq(json_count(r.out, "{\"org\":\"org-a\",\"pending\":"),
	    183, "%s", r.out);
	cr_assert_eq(json_count(r.out, "{\"org\":\"org-b\",\"pending\":"),
	    83, "%s", r.out);
	cr_assert_eq(json_count(r.out, "{\"org\":\"bench-002\",\"pending\":"),
	    92, "%s", r.out);
	audit_verify();

	/* Converted once: the next start finds schema 8. */
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

	start_on_schema5();
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
