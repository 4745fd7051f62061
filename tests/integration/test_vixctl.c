/*
 * vixctl against a real vixd: every command of the control socket, reload
 * adding an organisation and refusing a broken orgs.conf, a hot backup
 * that mdb_stat opens and a second vixd serves, audit verify and export,
 * subject report and erase. No BSN is ever printed, logged or stored.
 */
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define BSN	"999990019"	/* synthetic test numbers */
#define BSN_2	"999990032"
#define BSN_BAD	"999990018"	/* fails the 11-test */

/* snprintf into an array, failing the test rather than cutting a path. */
#define FMT(buf, ...) cr_assert_lt(snprintf((buf), sizeof(buf), __VA_ARGS__), \
	(int)sizeof(buf), "path too long")

static struct vixd_proc vixd;

static void
start(void)
{
	harness_start(&vixd, NULL);
}

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(vixctl, .init = start, .fini = stop, .timeout = 120);

/* vixctl -s <the socket of p> args... */
static void
vixctl_on(struct run_result *r, struct vixd_proc *p, const char *const *args)
{
	const char *argv[32];
	char sock[PATH_MAX];
	size_t n = 0;

	argv[n++] = getenv("VIXCTL");
	cr_assert_not_null(argv[0], "VIXCTL must be set (run through meson "
	    "test)");
	argv[n++] = "-s";
	argv[n++] = harness_dev_file(p, "control.sock", sock, sizeof(sock));
	for (; *args != NULL && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	harness_run(r, argv);
}

static void
vixctl(struct run_result *r, const char *const *args)
{
	vixctl_on(r, &vixd, args);
}

static void
vixctl_ok(struct run_result *r, const char *const *args)
{
	vixctl(r, args);
	cr_assert_eq(r->status, 0, "vixctl %s: exit %d: %s", args[0],
	    r->status, harness_redact(r->err));
	cr_assert_null(strstr(r->out, BSN), "no BSN in vixctl's output");
}

static void
vix_ok(const char *org, const char *const *args)
{
	struct run_result r;

	harness_vix(&r, &vixd, org, args);
	cr_assert_eq(r.status, 0, "vix as %s: %s", org, harness_redact(r.err));
}

static void
register_youth(const char *org, const char *bsn, const char *ref)
{
	vix_ok(org, (const char *[]){ "register", "--bsn", bsn,
	    "--birth-date", "2015-03-01", "--contact-name", "J. Jansen",
	    "--contact-phone", "0501234567", "--ref", ref, NULL });
}

static void
assert_no_bsn_anywhere(const char *dir)
{
	char where[PATH_MAX];

	cr_assert_not(harness_dir_contains(dir, BSN, where, sizeof(where)),
	    "a BSN is in %s", where);
	cr_assert_not(harness_dir_contains(dir, BSN_2, where, sizeof(where)),
	    "a BSN is in %s", where);
}

/* A program on PATH, for harness_run (which takes a path). */
static const char *
on_path(const char *name, char *buf, size_t len)
{
	char path[4096], *save, *dir;

	snprintf(path, sizeof(path), "%s", getenv("PATH") ? getenv("PATH") :
	    "/usr/bin:/bin");
	for (dir = strtok_r(path, ":", &save); dir != NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", dir, name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	cr_assert_fail("%s is not installed (package lmdb-utils; "
	    "./scripts/test installs it)", name);
	return NULL;
}

static void
sh(const char *script)
{
	struct run_result r;

	harness_run(&r, (const char *[]){ "/bin/sh", "-c", script, NULL });
	cr_assert_eq(r.status, 0, "%s: %s", script, r.err);
}

Test(vixctl, status_reports_version_and_counts)
{
	struct run_result r;

	register_youth("org-a", BSN, "ra");
	vixctl_ok(&r, (const char *[]){ "status", NULL });
	cr_assert_not_null(strstr(r.out, "vixd " VIX_EXPECTED_VERSION),
	    "%s", r.out);
	cr_assert_not_null(strstr(r.out, "signals: 1 active"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, vixd.addr), "the address bound: %s",
	    r.out);
	vixctl_ok(&r, (const char *[]){ "--json", "status", NULL });
	cr_assert_not_null(strstr(r.out, "\"ok\":true"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"signals\":1,"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"uptime\":"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"connections\":"), "%s", r.out);
	/* --json is accepted after the command too. */
	vixctl_ok(&r, (const char *[]){ "status", "--json", NULL });
	cr_assert_eq(r.out[0], '{', "%s", r.out);
}

Test(vixctl, socket_is_0660_and_usage_errors_exit_2)
{
	struct run_result r;
	char sock[PATH_MAX];
	struct stat st;

	cr_assert_eq(stat(harness_dev_file(&vixd, "control.sock", sock,
	    sizeof(sock)), &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0660, "mode %o", st.st_mode & 07777);
	vixctl(&r, (const char *[]){ "frobnicate", NULL });
	cr_assert_eq(r.status, 2, "%s", r.err);
	vixctl(&r, (const char *[]){ "erase", "--bsn", BSN, NULL });
	cr_assert_eq(r.status, 2, "--reason is required: %s", r.err);
	cr_assert_null(strstr(r.err, BSN));
	vixctl(&r, (const char *[]){ "subject-report", "--bsn", BSN, "extra",
	    NULL });
	cr_assert_eq(r.status, 2);
	vixctl(&r, (const char *[]){ "subject-report", BSN, NULL });
	cr_assert_eq(r.status, 2);
	cr_assert_null(strstr(r.err, BSN), "never echoed: %s", r.err);
	/* Refused by vixd: exit 1, the message names the field, not the BSN. */
	vixctl(&r, (const char *[]){ "subject-report", "--bsn", BSN_BAD, NULL });
	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "bsn:"), "%s", r.err);
	cr_assert_null(strstr(r.err, BSN_BAD));
	{
		const char *argv[] = { getenv("VIXCTL"), "-s",
		    "/nonexistent/control.sock", "status", NULL };

		harness_run(&r, argv);
		cr_assert_eq(r.status, 3, "cannot connect: %s", r.err);
	}
}

Test(vixctl, orgs_lists_the_registry)
{
	struct run_result r;
	const char *names[] = { "org-a", "org-b", "partner", "admin" };

	vixctl_ok(&r, (const char *[]){ "orgs", NULL });
	for (size_t i = 0; i < 4; i++)
		cr_assert_not_null(strstr(r.out, names[i]), "%s: %s", names[i],
		    r.out);
	cr_assert_not_null(strstr(r.out, "receives for org-a"), "%s", r.out);
	vixctl_ok(&r, (const char *[]){ "--json", "orgs", NULL });
	cr_assert_not_null(strstr(r.out, "{\"id\":\"org-a\",\"name\":"
	    "\"Development organisation A\",\"oin\":\"00000009990000000001\","
	    "\"roles\":[\"register\",\"subscribe\"],\"rank\":10,"), "%s",
	    r.out);
	cr_assert_not_null(strstr(r.out, "\"receives_for\":[\"org-a\","
	    "\"org-b\"]"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"roles\":[\"admin\"]"), "%s", r.out);
}

static void
append_org_c(void)
{
	char path[PATH_MAX];
	FILE *fp = fopen(harness_dev_file(&vixd, "orgs.conf", path,
	    sizeof(path)), "a");

	cr_assert_not_null(fp);
	fprintf(fp, "\n[org org-c]\noin = 00000009990000000055\n"
	    "name = Development organisation C\nroles = register, subscribe\n"
	    "rank = 30\n");
	fclose(fp);
}

Test(vixctl, reload_lets_a_new_organisation_connect)
{
	struct run_result r;

	harness_make_client_cert(&vixd, "org-c", "00000009990000000055");
	harness_vix(&r, &vixd, "org-c", (const char *[]){ "ping", NULL });
	cr_assert_eq(r.status, 1, "not yet known: %s", r.err);
	append_org_c();
	vixctl_ok(&r, (const char *[]){ "reload", NULL });
	cr_assert_not_null(strstr(r.out, "organisation org-c added"), "%s",
	    r.out);
	cr_assert_not_null(strstr(r.out, "5 organisations (was 4)"), "%s",
	    r.out);
	harness_vix(&r, &vixd, "org-c", (const char *[]){ "ping", NULL });
	cr_assert_eq(r.status, 0, "org-c connects after the reload: %s", r.err);
	vixctl_ok(&r, (const char *[]){ "--json", "reload", NULL });
	cr_assert_not_null(strstr(r.out, "\"changes\":[\"5 organisations "
	    "(was 5)"), "nothing else changed: %s", r.out);
}

Test(vixctl, broken_orgs_conf_is_refused_and_the_old_one_kept)
{
	char path[PATH_MAX], log[65536];
	struct run_result r;
	FILE *fp;

	harness_dev_file(&vixd, "orgs.conf", path, sizeof(path));
	fp = fopen(path, "a");
	cr_assert_not_null(fp);
	fprintf(fp, "\n[org broken]\nroles = register\nrank = many\n");
	fclose(fp);
	vixctl(&r, (const char *[]){ "reload", NULL });
	cr_assert_eq(r.status, 1, "%s", r.out);
	cr_assert_not_null(strstr(r.err, "orgs.conf:"), "file:line: %s", r.err);
	cr_assert_not_null(strstr(r.err, "previous configuration stays"),
	    "%s", r.err);
	cr_assert_eq(r.out[0], '\0', "nothing on stdout: %s", r.out);
	vixctl(&r, (const char *[]){ "--json", "reload", NULL });
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.out, "\"ok\":false"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"errors\":[\""), "%s", r.out);
	/* The old registry is still in force. */
	vix_ok("org-a", (const char *[]){ "ping", NULL });
	vixctl_ok(&r, (const char *[]){ "orgs", NULL });
	cr_assert_null(strstr(r.out, "broken"), "%s", r.out);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, "reload failed"), "%s", log);
}

Test(vixctl, a_garbage_private_key_is_refused_on_reload_naming_the_file)
{
	char path[PATH_MAX], expect[PATH_MAX + 64], log[65536];
	struct run_result r;
	FILE *fp;

	harness_dev_file(&vixd, "server.key", path, sizeof(path));
	cr_assert_not_null(fp = fopen(path, "w"));	/* keeps mode 0600 */
	fputs("not a key\n", fp);
	fclose(fp);
	vixctl(&r, (const char *[]){ "reload", NULL });
	cr_assert_eq(r.status, 1, "%s", r.out);
	FMT(expect, "tls private_key %s holds no PEM block", path);
	cr_assert_not_null(strstr(r.err, expect), "%s", r.err);
	cr_assert_null(strstr(r.err, "PEM lib"), "%s", r.err);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, expect), "%s", log);
	/* The old key still serves. */
	vix_ok("org-a", (const char *[]){ "ping", NULL });
}

/* Start vixd on dir's dev material; its log goes to dir/vixd.log. */
static pid_t
start_second(const char *dir, char addr[64])
{
	char script[4096], log[PATH_MAX], text[16384];
	const char *at;
	FILE *fp;
	size_t n;
	pid_t pid;

	FMT(log, "%s/vixd.log", dir);
	FMT(script, "cd '%s' && exec '%s' --dev --data "
	    "'%s/vix-dev' --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 "
	    "--pseudonyms server 2>'%s'", dir, getenv("VIXD"), dir, log);
	pid = harness_spawn_bg((const char *[]){ "/bin/sh", "-c", script,
	    NULL }, "/dev/null");
	cr_assert(harness_wait_for_text(log, "listening on ", 10000),
	    "the second vixd did not come up");
	fp = fopen(log, "r");
	cr_assert_not_null(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	at = strstr(text, "listening on ");
	cr_assert_eq(sscanf(at, "listening on %63s", addr), 1);
	return pid;
}

static void
list_as(struct run_result *r, const char *dev_dir, const char *addr,
    const char *org)
{
	harness_run(r, (const char *[]){ getenv("VIX"), "--dev-dir", dev_dir,
	    "--dev", org, "--server", addr, "--json", "list", NULL });
	cr_assert_eq(r->status, 0, "vix list as %s: %s", org, r->err);
}

Test(vixctl, backup_opens_with_mdb_stat_and_serves_the_same_data)
{
	char bk[PATH_MAX], copy[PATH_MAX], dev[PATH_MAX], script[8192];
	char addr[64], tool[PATH_MAX], sock[PATH_MAX];
	struct run_result r, before_a, before_b, after;
	const char *mdb_stat = on_path("mdb_stat", tool, sizeof(tool));
	pid_t pid;
	int status;

	register_youth("org-a", BSN, "ra");
	register_youth("org-b", BSN, "rb");
	register_youth("org-a", BSN_2, "ra2");
	vix_ok("org-a", (const char *[]){ "withdraw", "--bsn", BSN_2,
	    "--reason", "risk-resolved", NULL });
	FMT(bk, "%s/backup", vixd.dir);
	vixctl_ok(&r, (const char *[]){ "backup", bk, NULL });
	cr_assert_not_null(strstr(r.out, "backup written to"), "%s", r.out);

	harness_run(&r, (const char *[]){ mdb_stat, "-a", bk, NULL });
	cr_assert_eq(r.status, 0, "mdb_stat: %s", r.err);
	cr_assert_not_null(strstr(r.out, "Status of signals"), "%s", r.out);

	/* Not over a directory that holds something. */
	vixctl(&r, (const char *[]){ "backup", bk, NULL });
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "not empty"), "%s", r.err);

	/* A copy of the dev folder with the backup as its store. */
	FMT(copy, "%s/restored", vixd.dir);
	FMT(dev, "%s/vix-dev", copy);
	FMT(script, "mkdir -p '%s' && cd '%s' && cp -p "
	    "*.pem *.key orgs.conf '%s' && mv '%s' '%s/data'", dev,
	    vixd.dev_dir, dev, bk, dev);
	sh(script);
	pid = start_second(copy, addr);

	list_as(&before_a, vixd.dev_dir, vixd.addr, "org-a");
	list_as(&before_b, vixd.dev_dir, vixd.addr, "org-b");
	list_as(&after, dev, addr, "org-a");
	cr_assert_str_eq(after.out, before_a.out, "org-a's signals");
	list_as(&after, dev, addr, "org-b");
	cr_assert_str_eq(after.out, before_b.out, "org-b's signals");
	/* The archive and the audit chain came along. */
	FMT(sock, "%s/control.sock", dev);
	harness_run(&r, (const char *[]){ getenv("VIXCTL"), "-s", sock,
	    "subject-report", "--bsn", BSN_2, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "archived signals: 1"), "%s", r.out);
	harness_run(&r, (const char *[]){ getenv("VIXCTL"), "-s", sock,
	    "audit", "verify", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);

	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_neq(access(sock, F_OK), 0, "the socket is removed at exit");
}

Test(vixctl, audit_verify_and_export)
{
	struct run_result r;
	char want[64];
	int records;
	const char *at;

	register_youth("org-a", BSN, "ra");
	register_youth("org-b", BSN, "rb");
	vix_ok("org-b", (const char *[]){ "withdraw", "--bsn", BSN,
	    "--reason", "unjustified", NULL });
	vixctl_ok(&r, (const char *[]){ "audit", "verify", NULL });
	cr_assert_not_null(strstr(r.out, "audit chain intact: 3 records"),
	    "%s", r.out);
	vixctl_ok(&r, (const char *[]){ "--json", "audit", "verify", NULL });
	cr_assert_not_null(at = strstr(r.out, "\"records\":"), "%s", r.out);
	records = atoi(at + 10);

	/* The export is itself audited, first: one record more. */
	vixctl_ok(&r, (const char *[]){ "audit", "export", NULL });
	records++;
	cr_assert_eq(harness_count(r.out, "\n"), records, "one line per "
	    "record: %s", r.out);
	cr_assert_eq(harness_count(r.out, "{\"seq\":"), records, "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"action\":\"withdraw:unjustified\""),
	    "%s", r.out);
	snprintf(want, sizeof(want), "\"seq\":%d,", records);
	cr_assert_not_null(strstr(r.out, want), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"signal_id\":"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"match_id\":"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"outcome\":\"ok\""), "%s", r.out);
	cr_assert_null(strstr(r.out, "\"ok\":"), "the trailer is not "
	    "printed: %s", r.out);
	vixctl_ok(&r, (const char *[]){ "audit", "export", "--since",
	    "4000000000", NULL });
	cr_assert_eq(r.out[0], '\0', "nothing that new: %s", r.out);
	vixctl(&r, (const char *[]){ "audit", "export", "--since", "soon",
	    NULL });
	cr_assert_eq(r.status, 2);
}

Test(vixctl, subject_report_shows_active_archived_match_and_audit)
{
	struct run_result r;

	register_youth("org-a", BSN, "ra");
	register_youth("org-b", BSN, "rb");
	register_youth("org-a", BSN_2, "someone else");
	vix_ok("org-a", (const char *[]){ "withdraw", "--bsn", BSN,
	    "--reason", "risk-resolved", NULL });
	register_youth("org-a", BSN, "ra again");
	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn", BSN, NULL });
	cr_assert_not_null(strstr(r.out, "active signals: 2"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "archived signals: 1"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "(risk_resolved)"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "match 2 since"), "%s", r.out);
	cr_assert_null(strstr(r.out, "someone else"), "another youth: %s",
	    r.out);

	vixctl_ok(&r, (const char *[]){ "--json", "subject-report", "--bsn",
	    BSN, NULL });
	cr_assert_not_null(strstr(r.out, "\"org\":\"org-a\",\"org_name\":"
	    "\"Development organisation A\""), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"org\":\"org-b\""), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"client_ref\":\"ra again\""), "%s",
	    r.out);
	cr_assert_not_null(strstr(r.out, "\"reason\":\"risk_resolved\""), "%s",
	    r.out);
	cr_assert_not_null(strstr(r.out, "\"match\":{\"match_id\":2,"), "%s",
	    r.out);
	/*
	 * register, register (match 1), withdraw, register (match 2), and
	 * the subject report just before this one.
	 */
	cr_assert_eq(harness_count(r.out, "{\"seq\":"), 5, "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"action\":\"subject-report\""),
	    "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"action\":\"withdraw:risk_resolved\""),
	    "%s", r.out);
	cr_assert_null(strstr(r.out, BSN_2));

	/* Nobody known by that number: an empty report. */
	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn",
	    "999990044", NULL });
	cr_assert_not_null(strstr(r.out, "active signals: 0"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "match: none"), "%s", r.out);
}

/* vix --json subscribe as org in the background, stdout to path. */
static pid_t
subscriber(const char *org, const char *path)
{
	return harness_spawn_bg((const char *[]){ getenv("VIX"), "--dev-dir",
	    vixd.dev_dir, "--dev", org, "--server", vixd.addr, "--json",
	    "subscribe", NULL }, path);
}

static void
stop_bg(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

Test(vixctl, erase_notifies_removes_everything_and_keeps_the_audit)
{
	char out_a[PATH_MAX], out_b[PATH_MAX], log[65536], want[128];
	struct run_result r;
	pid_t sa, sb;

	FMT(out_a, "%s/sub-a.out", vixd.dir);
	FMT(out_b, "%s/sub-b.out", vixd.dir);
	sa = subscriber("org-a", out_a);
	sb = subscriber("org-b", out_b);
	register_youth("org-a", BSN, "ra");
	vix_ok("org-a", (const char *[]){ "withdraw", "--bsn", BSN,
	    "--reason", "risk-resolved", NULL });
	register_youth("org-a", BSN, "ra again");
	register_youth("org-b", BSN, "rb");
	register_youth("org-b", BSN_2, "stays");
	cr_assert(harness_wait_for_text(out_a, "MATCH_CREATED", 10000));
	cr_assert(harness_wait_for_text(out_b, "MATCH_CREATED", 10000));

	vixctl_ok(&r, (const char *[]){ "erase", "--bsn", BSN, "--reason",
	    "death", NULL });
	cr_assert_not_null(strstr(r.out, "erased 2 active and 1 archived"),
	    "%s", r.out);
	cr_assert_not_null(strstr(r.out, "SIGNAL_REMOVED sent to org-a"), "%s",
	    r.out);
	cr_assert_not_null(strstr(r.out, "SIGNAL_REMOVED sent to org-b"), "%s",
	    r.out);

	/* Each owner hears of its own signal; the match goes with them. */
	cr_assert(harness_wait_for_text(out_a, "\"type\":\"SIGNAL_REMOVED\"",
	    10000), "org-a hears SIGNAL_REMOVED");
	cr_assert(harness_wait_for_text(out_b, "\"type\":\"SIGNAL_REMOVED\"",
	    10000), "org-b hears SIGNAL_REMOVED");
	stop_bg(sa);
	stop_bg(sb);

	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn", BSN, NULL });
	cr_assert_not_null(strstr(r.out, "active signals: 0"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "archived signals: 0"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "match: none"), "%s", r.out);
	vixctl_ok(&r, (const char *[]){ "--json", "subject-report", "--bsn",
	    BSN, NULL });
	cr_assert_not_null(strstr(r.out, "\"signals\":[],\"archived\":[],"
	    "\"match\":null"), "%s", r.out);
	/* The other youth is untouched. */
	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn", BSN_2,
	    NULL });
	cr_assert_not_null(strstr(r.out, "active signals: 1"), "%s", r.out);

	/* The audit is kept, extended and still verifies. */
	vixctl_ok(&r, (const char *[]){ "audit", "verify", NULL });
	vixctl_ok(&r, (const char *[]){ "audit", "export", NULL });
	snprintf(want, sizeof(want), "\"actor\":\"admin:uid=%u\",\"action\":"
	    "\"erase:death\"", (unsigned)getuid());
	cr_assert_eq(harness_count(r.out, want), 3, "one per signal: %s",
	    r.out);
	cr_assert_not_null(strstr(r.out, "\"action\":\"register\""), "%s",
	    r.out);

	/* Erasing again finds nothing; gdpr-erasure is the other reason. */
	vixctl_ok(&r, (const char *[]){ "erase", "--bsn", BSN, "--reason",
	    "gdpr-erasure", NULL });
	cr_assert_not_null(strstr(r.out, "erased 0 active and 0 archived"),
	    "%s", r.out);

	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, "erase:death: 2 active and 1 archived"),
	    "%s", harness_redact(log));
	assert_no_bsn_anywhere(vixd.dir);
}

Test(vixctl, bsn_from_standard_input)
{
	char script[4096];
	struct run_result r;
	char sock[PATH_MAX];

	register_youth("org-a", BSN, "ra");
	FMT(script, "echo %s | '%s' -s '%s' "
	    "subject-report --bsn -", BSN, getenv("VIXCTL"),
	    harness_dev_file(&vixd, "control.sock", sock, sizeof(sock)));
	harness_run(&r, (const char *[]){ "/bin/sh", "-c", script, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "active signals: 1"), "%s", r.out);
	assert_no_bsn_anywhere(vixd.dir);
}

static void
write_conf(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
}

Test(vixctl, reload_rereads_vixd_conf)
{
	char conf[PATH_MAX];
	struct run_result r;

	FMT(conf, "%s/vixd.conf", vixd.dir);
	write_conf(conf, "[store]\nsweep_interval = 60\n");
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	write_conf(conf, "[server]\nworkers = 3\n[store]\nsweep_interval = 30\n");
	vixctl_ok(&r, (const char *[]){ "reload", NULL });
	cr_assert_not_null(strstr(r.out, "[store] sweep_interval changed\n"),
	    "%s", r.out);
	cr_assert_not_null(strstr(r.out, "[server] workers changed (takes "
	    "effect at the next restart)"), "%s", r.out);
	vixctl_ok(&r, (const char *[]){ "reload", NULL });
	cr_assert_null(strstr(r.out, "sweep_interval"), "applied: %s", r.out);
	cr_assert_not_null(strstr(r.out, "workers"), "still waiting: %s",
	    r.out);
	/* A broken vixd.conf: file:line, exit 1, nothing changed. */
	write_conf(conf, "[store]\nsweep_interval = often\n");
	vixctl(&r, (const char *[]){ "reload", NULL });
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "vixd.conf:2: sweep_interval"), "%s",
	    r.err);
	vix_ok("org-a", (const char *[]){ "ping", NULL });
}

Test(vixctl, backup_is_private_and_refuses_an_open_folder)
{
	char bk[PATH_MAX], file[PATH_MAX], open_dir[PATH_MAX];
	const mode_t modes[] = { 0755, 0777, 0750 };
	struct run_result r;
	struct stat st;

	register_youth("org-a", BSN, "ra");
	FMT(bk, "%s/private", vixd.dir);
	vixctl_ok(&r, (const char *[]){ "backup", bk, NULL });
	FMT(file, "%s/data.mdb", bk);
	cr_assert_eq(stat(file, &st), 0, "%s", file);
	cr_assert_eq(st.st_mode & 07777, 0600, "data.mdb mode %o",
	    st.st_mode & 07777);
	cr_assert_eq(stat(bk, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0700, "folder mode %o",
	    st.st_mode & 07777);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		FMT(open_dir, "%s/open-%zu", vixd.dir, i);
		cr_assert_eq(mkdir(open_dir, 0700), 0);
		cr_assert_eq(chmod(open_dir, modes[i]), 0);
		vixctl(&r, (const char *[]){ "backup", open_dir, NULL });
		cr_assert_eq(r.status, 1, "mode %o is refused: %s", modes[i],
		    r.out);
		cr_assert_not_null(strstr(r.err, "chmod 700"), "the fix: %s",
		    r.err);
		cr_assert_not_null(strstr(r.err, open_dir), "the folder: %s",
		    r.err);
		FMT(file, "%s/data.mdb", open_dir);
		cr_assert_neq(access(file, F_OK), 0, "nothing written");
	}
}

/*
 * Start a backup into bk and kill vixd (SIGKILL, as sudden as a power cut)
 * the moment the backup file is created. Returns 1 if the kill landed during
 * the copy (the partial file is there), 0 if the copy had already finished;
 * either way no cut copy may lie under the final name.
 */
static int
backup_and_kill(const char *bk)
{
	char file[PATH_MAX], partial[PATH_MAX], sock[PATH_MAX], out[PATH_MAX];
	char tool[PATH_MAX], ev[4096];
	struct run_result r;
	struct pollfd pfd;
	pid_t ctl;
	int status;

	FMT(out, "%s/backup.out", vixd.dir);
	FMT(file, "%s/data.mdb", bk);
	FMT(partial, "%s/data.mdb.partial", bk);
	pfd.fd = inotify_init1(IN_CLOEXEC);
	pfd.events = POLLIN;
	cr_assert_geq(pfd.fd, 0, "inotify: %s", strerror(errno));
	cr_assert_geq(inotify_add_watch(pfd.fd, bk, IN_CREATE), 0);
	ctl = harness_spawn_bg((const char *[]){ getenv("VIXCTL"), "-s",
	    harness_dev_file(&vixd, "control.sock", sock, sizeof(sock)),
	    "backup", bk, NULL }, out);
	cr_assert_eq(poll(&pfd, 1, 10000), 1, "the backup never started");
	kill(vixd.pid, SIGKILL);
	cr_assert_gt(read(pfd.fd, ev, sizeof(ev)), 0);
	close(pfd.fd);
	status = harness_signal_wait(&vixd, 0);
	cr_assert_eq(status, 128 + SIGKILL, "status %d", status);
	waitpid(ctl, NULL, 0);
	harness_restart(&vixd);
	if (access(partial, F_OK) == 0) {
		cr_assert_neq(access(file, F_OK), 0, "a cut copy under the "
		    "final name data.mdb");
		cr_assert_eq(unlink(partial), 0);
		return 1;
	}
	/* Too late: the copy was renamed, so it must be whole. */
	harness_run(&r, (const char *[]){ on_path("mdb_stat", tool,
	    sizeof(tool)), "-a", bk, NULL });
	cr_assert_eq(r.status, 0, "data.mdb under the final name does not "
	    "open: %s", r.err);
	cr_assert_eq(unlink(file), 0);
	return 0;
}

/*
 * A backup cut short by a crash leaves no data.mdb, only the partial file,
 * and vixd starts again. On a busy machine the kill may come after the
 * copy is done; the experiment is repeated until it lands during the copy.
 */
Test(vixctl, backup_cut_short_by_a_crash_leaves_no_data_mdb)
{
	char bk[PATH_MAX], file[PATH_MAX], partial[PATH_MAX];
	struct run_result r;
	int cut = 0;

	for (int i = 0; i < 20; i++) {
		char ref[32];

		snprintf(ref, sizeof(ref), "ref-%d", i);
		register_youth(i % 2 ? "org-b" : "org-a", i < 10 ? BSN : BSN_2,
		    ref);
	}
	FMT(bk, "%s/cut", vixd.dir);
	cr_assert_eq(mkdir(bk, 0700), 0);
	for (int attempt = 0; attempt < 8 && !cut; attempt++)
		cut = backup_and_kill(bk);
	cr_assert(cut, "in 8 attempts the kill never landed during the copy");
	FMT(file, "%s/data.mdb", bk);
	FMT(partial, "%s/data.mdb.partial", bk);
	vixctl_ok(&r, (const char *[]){ "backup", bk, NULL });
	cr_assert_eq(access(file, F_OK), 0);
	cr_assert_neq(access(partial, F_OK), 0, "renamed");
}

/* The number of records audit verify counts. */
static int
audit_records(void)
{
	struct run_result r;
	const char *at;

	vixctl_ok(&r, (const char *[]){ "--json", "audit", "verify", NULL });
	cr_assert_not_null(at = strstr(r.out, "\"records\":"), "%s", r.out);
	return atoi(at + 10);
}

/*
 * Looking a youth up is itself audited, with the caller's uid, before the
 * report is shown; every control request is logged with the uid; the
 * chain still verifies.
 */
Test(vixctl, subject_report_is_audited_with_the_callers_uid)
{
	char actor[64], want[128], log[65536];
	struct run_result r;
	int before;

	register_youth("org-a", BSN, "ra");
	register_youth("org-b", BSN, "rb");
	snprintf(actor, sizeof(actor), "\"actor\":\"admin:uid=%u\"",
	    (unsigned)getuid());
	before = audit_records();
	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn", BSN, NULL });
	cr_assert_eq(audit_records(), before + 1, "one record for the lookup");
	vixctl_ok(&r, (const char *[]){ "--json", "subject-report", "--bsn",
	    BSN, NULL });
	snprintf(want, sizeof(want), "%s,\"action\":\"subject-report\"",
	    actor);
	cr_assert_not_null(strstr(r.out, want), "the earlier lookup is in the "
	    "youth's report: %s", r.out);
	vixctl_ok(&r, (const char *[]){ "audit", "export", NULL });
	cr_assert_eq(harness_count(r.out, want), 2, "%s", r.out);
	snprintf(want, sizeof(want), "%s,\"action\":\"audit-export\"", actor);
	cr_assert_eq(harness_count(r.out, want), 1, "the export itself: %s",
	    r.out);
	vixctl_ok(&r, (const char *[]){ "audit", "verify", NULL });

	harness_log(&vixd, log, sizeof(log));
	snprintf(want, sizeof(want), "control: subject-report requested by "
	    "uid %u (pid ", (unsigned)getuid());
	cr_assert_eq(harness_count(log, want), 2, "%s", harness_redact(log));
	snprintf(want, sizeof(want), "control: audit verify requested by "
	    "uid %u", (unsigned)getuid());
	cr_assert_not_null(strstr(log, want), "%s", harness_redact(log));
	snprintf(want, sizeof(want), "control: subject-report by uid %u:",
	    (unsigned)getuid());
	cr_assert_not_null(strstr(log, want), "%s", harness_redact(log));
	assert_no_bsn_anywhere(vixd.dir);
}

/* Erase, backup and reload are audited with the uid too. */
Test(vixctl, erase_backup_and_reload_are_audited_with_the_uid)
{
	char bk[PATH_MAX], want[128], log[65536];
	struct run_result r;

	register_youth("org-a", BSN, "ra");
	vixctl_ok(&r, (const char *[]){ "erase", "--bsn", BSN, "--reason",
	    "gdpr-erasure", NULL });
	FMT(bk, "%s/audited", vixd.dir);
	vixctl_ok(&r, (const char *[]){ "backup", bk, NULL });
	vixctl_ok(&r, (const char *[]){ "reload", NULL });
	vixctl_ok(&r, (const char *[]){ "audit", "export", NULL });
	snprintf(want, sizeof(want), "\"actor\":\"admin:uid=%u\",\"action\":"
	    "\"erase:gdpr\"", (unsigned)getuid());
	cr_assert_eq(harness_count(r.out, want), 1, "%s", r.out);
	snprintf(want, sizeof(want), "\"actor\":\"admin:uid=%u\",\"action\":"
	    "\"backup\"", (unsigned)getuid());
	cr_assert_eq(harness_count(r.out, want), 1, "%s", r.out);
	snprintf(want, sizeof(want), "\"actor\":\"admin:uid=%u\",\"action\":"
	    "\"reload\"", (unsigned)getuid());
	cr_assert_eq(harness_count(r.out, want), 1, "%s", r.out);
	vixctl_ok(&r, (const char *[]){ "audit", "verify", NULL });
	harness_log(&vixd, log, sizeof(log));
	snprintf(want, sizeof(want), "control: erase requested by uid %u",
	    (unsigned)getuid());
	cr_assert_not_null(strstr(log, want), "%s", harness_redact(log));
	snprintf(want, sizeof(want), "control: reload requested by uid %u",
	    (unsigned)getuid());
	cr_assert_not_null(strstr(log, want), "%s", harness_redact(log));
	{
		char line[PATH_MAX + 64];

		FMT(line, "control: backup to %s requested by uid %u", bk,
		    (unsigned)getuid());
		cr_assert_not_null(strstr(log, line), "%s", log);
	}
}

static void
register_contact(const char *org, const char *bsn, const char *name,
    const char *ref)
{
	vix_ok(org, (const char *[]){ "register", "--bsn", bsn,
	    "--birth-date", "2015-03-01", "--contact-name", name,
	    "--contact-phone", "0501234567", "--contact-email",
	    "someone@example.org", "--ref", ref, NULL });
}

/* vix --json subscribe as org (extra arguments after), stdout to path. */
static pid_t
subscriber_with(const char *org, const char *path, const char *from)
{
	return harness_spawn_bg((const char *[]){ getenv("VIX"), "--dev-dir",
	    vixd.dev_dir, "--dev", org, "--server", vixd.addr, "--json",
	    "subscribe", from ? "--from" : NULL, from, NULL }, path);
}

/* The text of a file (at most len - 1 bytes). */
static void
read_text(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	cr_assert_not_null(fp, "%s", path);
	n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
	fclose(fp);
}

static void
assert_not_in(const char *dir, const char *needle)
{
	char where[PATH_MAX];

	cr_assert_not(harness_dir_contains(dir, needle, where, sizeof(where)),
	    "\"%s\" is still in %s", needle, where);
}

/*
 * After an erasure nothing of the youth is delivered any more: not to the
 * erased signal's own organisation (its reference, the others' contacts),
 * not to the others (the erased organisation's contact), not from seq 1.
 * Subscribers skip the gaps and resume across them. The operator's
 * compaction (vixd --compact, refused while vixd runs) leaves no byte of
 * the erased data in the data folder, and a backup taken after the
 * erasure holds none either.
 */
Test(vixctl, erasure_withdraws_notifications_and_compaction_scrubs_the_store)
{
	char out_a[PATH_MAX], out_b[PATH_MAX], out_p[PATH_MAX], data[PATH_MAX];
	char bk[PATH_MAX], script[8192], text[65536];
	struct run_result r;
	pid_t sa, sb, sp;

	register_contact("org-a", BSN, "Erased Contact Alpha", "dossier-erased-a");
	register_contact("org-b", BSN, "Erased Contact Beta", "dossier-erased-b");
	register_contact("org-a", BSN_2, "Kept Contact Gamma", "dossier-kept-a");
	register_contact("org-b", BSN_2, "Kept Contact Delta", "dossier-kept-b");
	vixctl_ok(&r, (const char *[]){ "erase", "--bsn", BSN, "--reason",
	    "gdpr-erasure", NULL });
	cr_assert_not_null(strstr(r.out, "erased 2 active"), "%s", r.out);
	/* MATCH_CREATED in org-a's and in org-b's outbox. */
	cr_assert_not_null(strstr(r.out, "2 notifications about the youth "
	    "withdrawn"), "%s", r.out);

	/* The erased bytes may linger in free pages until compaction. */
	FMT(data, "%s/data", vixd.dev_dir);
	FMT(bk, "%s/after-erasure", vixd.dir);
	vixctl_ok(&r, (const char *[]){ "backup", bk, NULL });
	assert_not_in(bk, "Erased Contact");
	assert_not_in(bk, "dossier-erased");
	FMT(script, "cd '%s' && exec '%s' --compact --dev --data '%s'",
	    vixd.dir, getenv("VIXD"), vixd.dev_dir);
	harness_run(&r, (const char *[]){ "/bin/sh", "-c", script, NULL });
	cr_assert_eq(r.status, 1, "refused while vixd runs: %s", r.out);
	cr_assert_not_null(strstr(r.err, "in use by another process"), "%s",
	    r.err);
	cr_assert_eq(harness_stop_keep(&vixd), 0);
	cr_assert(harness_dir_contains(data, "Erased Contact", text,
	    sizeof(text)), "the freed pages hold the erased contact");
	harness_run(&r, (const char *[]){ "/bin/sh", "-c", script, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "compacted"), "%s", r.out);
	assert_not_in(data, "Erased Contact");
	assert_not_in(data, "dossier-erased");
	harness_restart(&vixd);

	FMT(out_a, "%s/erased-a.out", vixd.dir);
	FMT(out_b, "%s/erased-b.out", vixd.dir);
	FMT(out_p, "%s/erased-p.out", vixd.dir);
	sa = subscriber_with("org-a", out_a, NULL);	/* after the last ack */
	sb = subscriber_with("org-b", out_b, "1");
	sp = harness_spawn_bg((const char *[]){ getenv("VIX"), "--dev-dir",
	    vixd.dev_dir, "--dev", "partner", "--server", vixd.addr, "--json",
	    "subscribe", "--from", "1", "--for", "org-a", "--for", "org-b",
	    NULL }, out_p);
	cr_assert(harness_wait_for_text(out_a, "SIGNAL_REMOVED", 10000));
	cr_assert(harness_wait_for_text(out_b, "SIGNAL_REMOVED", 10000));
	cr_assert(harness_wait_for_text(out_p, "Kept Contact Gamma", 10000));
	cr_assert(harness_wait_for_text(out_p, "SIGNAL_REMOVED", 10000));
	/* A row written after the gap arrives on the open streams too. */
	register_contact("org-a", "999990044", "Later Contact", "later-a");
	register_contact("org-b", "999990044", "Later Contact", "later-b");
	cr_assert(harness_wait_for_text(out_a, "later-a", 10000));
	cr_assert(harness_wait_for_text(out_b, "later-b", 10000));
	stop_bg(sa);
	stop_bg(sb);
	stop_bg(sp);
	for (const char **f = (const char *[]){ out_a, out_b, out_p, NULL };
	    *f != NULL; f++) {
		read_text(*f, text, sizeof(text));
		cr_assert_null(strstr(text, "Erased Contact"), "%s", text);
		cr_assert_null(strstr(text, "dossier-erased"), "%s", text);
		cr_assert_null(strstr(text, "\"seq\":1,"), "seq 1 was erased: "
		    "%s", text);
		cr_assert_not_null(strstr(text, "\"seq\":2,"), "%s", text);
	}
	read_text(out_a, text, sizeof(text));
	cr_assert_not_null(strstr(text, "Kept Contact Delta"), "%s", text);
	harness_log(&vixd, text, sizeof(text));
	cr_assert_null(strstr(text, "Erased"), "%s", harness_redact(text));

	/* Resuming after the last ack, across the gap: what is new comes. */
	sa = subscriber_with("org-a", out_a, NULL);
	register_contact("org-a", "999990056", "Resumed Contact", "resumed-a");
	register_contact("org-b", "999990056", "Resumed Contact", "resumed-b");
	cr_assert(harness_wait_for_text(out_a, "resumed-a", 10000),
	    "a resumed subscriber gets new rows");
	stop_bg(sa);

	/* The compacted store serves what was kept, and verifies. */
	harness_restart(&vixd);
	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn", BSN_2, NULL });
	cr_assert_not_null(strstr(r.out, "active signals: 2"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "Kept Contact Gamma"), "%s", r.out);
	vixctl_ok(&r, (const char *[]){ "audit", "verify", NULL });
	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn", BSN, NULL });
	cr_assert_not_null(strstr(r.out, "active signals: 0"), "%s", r.out);
	assert_no_bsn_anywhere(vixd.dir);
}

/* vix as org with args, expecting it to be refused (exit status not 0). */
static void
vix_refused(const char *org, const char *const *args)
{
	struct run_result r;

	harness_vix(&r, &vixd, org, args);
	cr_assert_neq(r.status, 0, "vix as %s %s was not refused", org,
	    args[0]);
}

/*
 * A refused claim or release is audited with the match it was about, and
 * shows in the subject report of the youth; a coordinate on a match that
 * does not exist names the id asked for.
 */
Test(vixctl, refused_coordination_is_audited_with_its_match)
{
	struct run_result r;

	register_youth("org-a", BSN, "ra");
	register_youth("org-b", BSN, "rb");
	/* org-a coordinates match 1 (equal rank, earliest registrant). */
	vix_refused("org-b", (const char *[]){ "coordinate", "--match", "1",
	    "--release", NULL });
	vix_refused("org-a", (const char *[]){ "coordinate", "--match", "7",
	    "--claim", NULL });
	vixctl_ok(&r, (const char *[]){ "audit", "export", NULL });
	cr_assert_not_null(strstr(r.out, "\"action\":\"coordinate\","
	    "\"signal_id\":0,\"match_id\":1,\"outcome\":\"failed_precondition\""),
	    "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"action\":\"coordinate\","
	    "\"signal_id\":0,\"match_id\":7,\"outcome\":\"not_found\""),
	    "%s", r.out);
	cr_assert_null(strstr(r.out, "\"match_id\":0,\"outcome\":\"failed_"),
	    "%s", r.out);
	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn", BSN, NULL });
	cr_assert_not_null(strstr(r.out, "coordinate signal 0 match 1: "
	    "failed_precondition"), "%s", r.out);
}

/*
 * After both signals were withdrawn as unjustified (deleted, no archive),
 * the report still shows what the index did concerning the youth: the
 * registrations, the withdrawals, a lookup refused to an organisation
 * without a signal, and the closed match. Erasure removes that link.
 */
Test(vixctl, subject_report_keeps_the_audit_after_deletion)
{
	struct run_result r;

	register_youth("org-a", BSN, "ra");
	register_youth("org-b", BSN, "rb");
	register_youth("org-a", BSN_2, "someone else");
	vix_ok("org-b", (const char *[]){ "withdraw", "--bsn", BSN,
	    "--reason", "unjustified", NULL });
	vix_refused("org-b", (const char *[]){ "involved", "--bsn", BSN,
	    NULL });
	vix_ok("org-a", (const char *[]){ "withdraw", "--bsn", BSN,
	    "--reason", "unjustified", NULL });
	/* Nobody registered this one: a refused lookup is not linked. */
	vix_refused("org-b", (const char *[]){ "involved", "--bsn",
	    "999990044", NULL });

	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn", BSN, NULL });
	cr_assert_not_null(strstr(r.out, "active signals: 0"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "archived signals: 0"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "match 1 closed"), "%s", r.out);
	cr_assert_null(strstr(r.out, "match: none"), "%s", r.out);
	/* register x2, withdraw, refused involved, withdraw. */
	cr_assert_not_null(strstr(r.out, "audit events: 5"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "org-b involved signal 0 match 0: "
	    "permission_denied"), "%s", r.out);
	cr_assert_eq(harness_count(r.out, "withdraw:unjustified"), 2, "%s",
	    r.out);
	cr_assert_null(strstr(r.out, "someone else"), "%s", r.out);

	vixctl_ok(&r, (const char *[]){ "--json", "subject-report", "--bsn",
	    BSN, NULL });
	cr_assert_not_null(strstr(r.out, "\"match\":null,\"closed_matches\":"
	    "[{\"match_id\":1,"), "%s", r.out);

	/* The unknown youth's report shows nothing, not even the lookup. */
	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn",
	    "999990044", NULL });
	cr_assert_not_null(strstr(r.out, "audit events: 0"), "%s", r.out);

	/* Erasure unlinks the records (they stay in the chain). */
	vixctl_ok(&r, (const char *[]){ "erase", "--bsn", BSN, "--reason",
	    "gdpr-erasure", NULL });
	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn", BSN, NULL });
	cr_assert_not_null(strstr(r.out, "audit events: 0"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "match: none"), "%s", r.out);
	vixctl_ok(&r, (const char *[]){ "audit", "verify", NULL });
	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn", BSN_2,
	    NULL });
	cr_assert_not_null(strstr(r.out, "audit events: 1"), "%s", r.out);
}
