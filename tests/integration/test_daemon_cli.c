/* vixd's command line: configuration checks, secrets, dev material reuse. */
#include <sys/stat.h>

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "devcert.h"
#include "harness.h"

static char tmp[512];

static void
make_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "%s/vix-cli-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(tmp));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
remove_tmp(void)
{
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(daemon_cli, .init = make_tmp, .fini = remove_tmp, .timeout = 60);

static const char *
write_file(const char *name, const char *text, char *path, size_t len)
{
	FILE *fp;

	snprintf(path, len, "%s/%s", tmp, name);
	fp = fopen(path, "w");
	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void
vixd_run(struct run_result *r, const char *const *args)
{
	const char *argv[16];
	size_t n = 0;

	argv[n++] = getenv("VIXD");
	for (; *args != NULL && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	harness_run(r, argv);
}

static void
read_whole(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
	fclose(fp);
}

Test(daemon_cli, example_configuration_checks_clean)
{
	char path[PATH_MAX];
	struct run_result r;

	snprintf(path, sizeof(path), "%s/conf/vixd.conf.example",
	    getenv("VIX_SOURCE_ROOT"));
	vixd_run(&r, (const char *[]){ "-t", "-c", path, NULL });
	cr_assert_eq(r.status, 0, "exit %d\nstdout: %s\nstderr: %s", r.status,
	    r.out, r.err);
	cr_assert_not_null(strstr(r.out, "configuration OK"), "%s", r.out);
}

Test(daemon_cli, example_orgs_conf_loads)
{
	char conf[PATH_MAX], orgs[PATH_MAX], text[PATH_MAX + 64];
	struct run_result r;

	snprintf(orgs, sizeof(orgs), "%s/conf/orgs.conf.example",
	    getenv("VIX_SOURCE_ROOT"));
	snprintf(text, sizeof(text), "[server]\norgs_file = %s\n", orgs);
	write_file("vixd.conf", text, conf, sizeof(conf));
	vixd_run(&r, (const char *[]){ "-t", "-c", conf, NULL });
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
}

Test(daemon_cli, check_reports_file_and_line)
{
	char conf[PATH_MAX], expect[PATH_MAX + 64];
	struct run_result r;

	write_file("bad.conf", "[server]\nworkers = 2\nlistne = 1.2.3.4:5\n"
	    "max_frame = 12\n[tls]\nmin_version = 1.1\n", conf, sizeof(conf));
	vixd_run(&r, (const char *[]){ "-t", "-c", conf, NULL });
	cr_assert_eq(r.status, 1, "exit %d", r.status);
	snprintf(expect, sizeof(expect), "%s:3: unknown key 'listne' in "
	    "[server]", conf);
	cr_assert_not_null(strstr(r.err, expect), "stderr: %s", r.err);
	snprintf(expect, sizeof(expect), "%s:4: max_frame:", conf);
	cr_assert_not_null(strstr(r.err, expect), "stderr: %s", r.err);
	snprintf(expect, sizeof(expect), "%s:6: min_version:", conf);
	cr_assert_not_null(strstr(r.err, expect), "stderr: %s", r.err);
}

Test(daemon_cli, check_reports_orgs_conf_errors)
{
	char conf[PATH_MAX], orgs[PATH_MAX], expect[PATH_MAX + 64];
	struct run_result r;

	write_file("orgs.conf", "[org a]\noin = 123\nname = A\n"
	    "roles = register\n", orgs, sizeof(orgs));
	/* A relative path is resolved against the config file's folder. */
	write_file("vixd.conf", "[server]\norgs_file = orgs.conf\n", conf,
	    sizeof(conf));
	vixd_run(&r, (const char *[]){ "-t", "-c", conf, NULL });
	cr_assert_eq(r.status, 1, "exit %d", r.status);
	snprintf(expect, sizeof(expect), "%s:2: oin: must be exactly 20 "
	    "digits", orgs);
	cr_assert_not_null(strstr(r.err, expect), "stderr: %s", r.err);
}

Test(daemon_cli, a_key_given_twice_is_refused_with_both_lines)
{
	char conf[PATH_MAX], orgs[PATH_MAX], text[PATH_MAX + 128];
	char expect[PATH_MAX + 128];
	struct run_result r;

	write_file("orgs.conf", "[org a]\noin = 00000009990000000001\n"
	    "name = A\nroles = register\nname = A again\n", orgs,
	    sizeof(orgs));
	snprintf(text, sizeof(text), "[server]\nworkers = 2\norgs_file = %s\n"
	    "[tls]\nmin_version = 1.3\n[server]\nworkers = 4\n", orgs);
	write_file("vixd.conf", text, conf, sizeof(conf));
	vixd_run(&r, (const char *[]){ "-t", "-c", conf, NULL });
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	snprintf(expect, sizeof(expect), "%s:7: workers: given twice in "
	    "[server] (lines 2 and 7); keep one", conf);
	cr_assert_not_null(strstr(r.err, expect), "stderr: %s", r.err);

	/* orgs.conf the same way. */
	snprintf(text, sizeof(text), "[server]\norgs_file = %s\n", orgs);
	write_file("vixd.conf", text, conf, sizeof(conf));
	vixd_run(&r, (const char *[]){ "-t", "-c", conf, NULL });
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	snprintf(expect, sizeof(expect), "%s:5: name: given twice in "
	    "[org a] (lines 3 and 5); keep one", orgs);
	cr_assert_not_null(strstr(r.err, expect), "stderr: %s", r.err);
}

Test(daemon_cli, every_problem_of_an_orgs_conf_section_is_reported)
{
	char conf[PATH_MAX], orgs[PATH_MAX], expect[PATH_MAX + 128];
	struct run_result r;
	const char *want[] = {
		":1: [org a]: name is required",
		":1: [org a]: roles is required",
		":2: oin: must be exactly 20 digits",
		":3: rank: 'many' is not a whole number",
		":4: receives_for: no organisation 'nobody'",
		":6: [municipality 0363]: escalation: no organisation 'gone'",
	};

	write_file("orgs.conf", "[org a]\noin = 123\nrank = many\n"
	    "receives_for = nobody\n\n[municipality 0363]\n"
	    "escalation = gone\n", orgs, sizeof(orgs));
	write_file("vixd.conf", "[server]\norgs_file = orgs.conf\n", conf,
	    sizeof(conf));
	vixd_run(&r, (const char *[]){ "-t", "-c", conf, NULL });
	cr_assert_eq(r.status, 1, "exit %d", r.status);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(expect, sizeof(expect), "%s%s", orgs, want[i]);
		cr_assert_not_null(strstr(r.err, expect), "%s missing from: %s",
		    want[i], r.err);
	}
	/* An oin given but wrong is not also reported as missing. */
	cr_assert_null(strstr(r.err, "oin is required"), "%s", r.err);
}

/*
 * vixd -t with the development material of dir and the private key
 * text (len bytes) in bad.key; returns its stderr in r.
 */
static void
check_with_key(struct run_result *r, const void *text, size_t len,
    char *key, size_t keylen)
{
	char dir[1024], conf[PATH_MAX], cfg[4 * PATH_MAX];
	struct diag d;
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/vix-dev", tmp);
	diag_init(&d);
	cr_assert_eq(devcert_ensure(dir, &d), 0, "%s", d.text);
	snprintf(key, keylen, "%s/bad.key", tmp);
	cr_assert_not_null(fp = fopen(key, "w"));
	cr_assert_eq(fwrite(text, 1, len, fp), len);
	fclose(fp);
	cr_assert_eq(chmod(key, 0600), 0);
	snprintf(cfg, sizeof(cfg), "[server]\norgs_file = %s/orgs.conf\n"
	    "pseudonym_key_file = %s/pseudonym.key\n[tls]\n"
	    "certificate = %s/server.pem\nprivate_key = %s\n"
	    "ca_bundle = %s/ca.pem\n", dir, dir, dir, key, dir);
	write_file("vixd.conf", cfg, conf, sizeof(conf));
	vixd_run(r, (const char *[]){ "-t", "-c", conf, NULL });
	cr_assert_eq(r->status, 1, "vixd -t accepted the key: %s", r->out);
	cr_assert_null(strstr(r->err, "PEM lib"), "%s", r->err);
	cr_assert_null(strstr(r->err, "error:"), "%s", r->err);
}

static void
assert_key_reason(const void *text, size_t len, const char *why)
{
	char key[PATH_MAX], expect[PATH_MAX + 128];
	struct run_result r;

	check_with_key(&r, text, len, key, sizeof(key));
	snprintf(expect, sizeof(expect), "tls private_key %s %s", key, why);
	cr_assert_not_null(strstr(r.err, expect), "expected '%s' in: %s",
	    expect, r.err);
	cr_assert_eq(harness_count(r.err, "tls private_key"), 1,
	    "reported once: %s", r.err);
}

Test(daemon_cli, a_garbage_private_key_is_named_with_what_is_wrong)
{
	char pem[8192], path[PATH_MAX], *p;
	EVP_PKEY *k = devcert_key();
	unsigned char *der = NULL;
	BIO *b;
	int n;

	assert_key_reason("", 0, "is empty");
	assert_key_reason("garbage\n", 8, "holds no PEM block");
	snprintf(pem, sizeof(pem), "-----BEGIN PRIVATE KEY-----\nAAAA!!\n"
	    "-----END PRIVATE KEY-----\n");
	assert_key_reason(pem, strlen(pem), "cannot be decoded");
	/* A certificate where the key should be (made by the calls above). */
	snprintf(path, sizeof(path), "%s/vix-dev/server.pem", tmp);
	read_whole(path, pem, sizeof(pem));
	assert_key_reason(pem, strlen(pem), "holds a CERTIFICATE, not a "
	    "private key");
	/* Encrypted: refused without asking for a passphrase. */
	cr_assert_not_null(b = BIO_new(BIO_s_mem()));
	cr_assert_eq(PEM_write_bio_PrivateKey(b, k, EVP_aes_256_cbc(),
	    (unsigned char *)"secret", 6, NULL, NULL), 1);
	n = (int)BIO_get_mem_data(b, &p);
	assert_key_reason(p, (size_t)n, "is encrypted with a passphrase");
	BIO_free(b);
	/* DER instead of PEM. */
	cr_assert_gt(n = i2d_PrivateKey(k, &der), 0);
	assert_key_reason(der, (size_t)n, "is in DER (binary) form");
	OPENSSL_free(der);
	EVP_PKEY_free(k);
}

Test(daemon_cli, missing_config_file_is_named)
{
	struct run_result r;

	vixd_run(&r, (const char *[]){ "-t", "-c", "/nonexistent/vixd.conf",
	    NULL });
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "/nonexistent/vixd.conf: cannot "
	    "open"), "%s", r.err);
}

Test(daemon_cli, usage_errors_exit_2)
{
	struct run_result r;

	vixd_run(&r, (const char *[]){ "--data", tmp, NULL });
	cr_assert_eq(r.status, 2, "--data without --dev: %d", r.status);
	vixd_run(&r, (const char *[]){ "--no-such-option", NULL });
	cr_assert_eq(r.status, 2);
	vixd_run(&r, (const char *[]){ "extra", NULL });
	cr_assert_eq(r.status, 2);
}

static void
assert_refuses_secret(const char *file, mode_t mode)
{
	char dir[1024], path[PATH_MAX];
	struct run_result r;
	struct diag d;

	snprintf(dir, sizeof(dir), "%s/vix-dev", tmp);
	diag_init(&d);
	cr_assert_eq(devcert_ensure(dir, &d), 0, "%s", d.text);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	cr_assert_eq(chmod(path, mode), 0);
	vixd_run(&r, (const char *[]){ "--dev", "--data", dir, "--listen",
	    "127.0.0.1:0", "--pseudonyms", "server", NULL });
	cr_assert_eq(r.status, 1, "vixd started with %s mode %o", file, mode);
	cr_assert_not_null(strstr(r.err, path), "names the path: %s", r.err);
	cr_assert_not_null(strstr(r.err, "chmod 600"), "names the fix: %s",
	    r.err);
}

Test(daemon_cli, group_readable_tls_key_is_refused)
{
	assert_refuses_secret("server.key", 0640);
}

Test(daemon_cli, world_readable_pseudonym_key_is_refused)
{
	assert_refuses_secret("pseudonym.key", 0604);
}


Test(daemon_cli, dev_material_is_created_once_and_reused)
{
	struct vixd_proc p;
	struct run_result r;
	char ca[PATH_MAX], first[8192], again[8192], key[256];
	struct stat st;

	harness_start(&p, NULL);
	harness_dev_file(&p, "ca.pem", ca, sizeof(ca));
	read_whole(ca, first, sizeof(first));
	cr_assert_eq(stat(p.dev_dir, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700, "dev folder mode %o",
	    st.st_mode & 0777);
	harness_dev_file(&p, "pseudonym.key", key, sizeof(key));
	cr_assert_eq(stat(key, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(st.st_size, 32);

	/* Restart on the same folder: same CA, clients still work. */
	harness_restart(&p);
	read_whole(ca, again, sizeof(again));
	cr_assert_str_eq(first, again, "the CA was recreated");
	harness_vix(&r, &p, "org-a", (const char *[]){ "ping", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(harness_stop(&p), 0);
}

/* snprintf into an array, failing the test rather than cutting a path. */
#define FMT(buf, ...) cr_assert_lt(snprintf((buf), sizeof(buf), __VA_ARGS__), \
	(int)sizeof(buf), "path too long")

static void
shell(const char *script)
{
	struct run_result r;

	harness_run(&r, (const char *[]){ "/bin/sh", "-c", script, NULL });
	cr_assert_eq(r.status, 0, "%s: %s", script, r.err);
}

/* vixd on p's folder with its key; exits (or is stopped after 10 s). */
static void
vixd_try(struct run_result *r, struct vixd_proc *p)
{
	char script[4096];

	FMT(script, "cd '%s' && exec timeout 10 '%s' "
	    "--dev --data '%s' --listen 127.0.0.1:0 --admin-listen "
	    "127.0.0.1:0 --pseudonyms server", p->dir, getenv("VIXD"),
	    p->dev_dir);
	harness_run(r, (const char *[]){ "/bin/sh", "-c", script, NULL });
}

/*
 * A store knows the key it was written with: started with another key,
 * vixd refuses, naming the store, the key file and the fix, and never the
 * key. With its own key back, it runs and finds the youth again.
 */
Test(daemon_cli, another_pseudonym_key_is_refused)
{
	struct vixd_proc p;
	struct run_result r;
	char key[PATH_MAX], saved[PATH_MAX], data[PATH_MAX], script[8192];
	char log[16384];

	harness_start(&p, NULL);
	harness_vix(&r, &p, "org-a", (const char *[]){ "register", "--bsn",
	    "999990019", "--birth-date", "2015-03-01", "--contact-name", "A",
	    "--contact-phone", "0501234567", NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_not_null(strstr(harness_log(&p, log, sizeof(log)),
	    "pseudonym key id"), "the id is recorded at creation: %s", log);
	cr_assert_eq(harness_stop_keep(&p), 0);
	harness_dev_file(&p, "pseudonym.key", key, sizeof(key));
	FMT(saved, "%s.saved", key);
	FMT(data, "%s/data", p.dev_dir);
	FMT(script, "cp -p '%s' '%s' && head -c 32 "
	    "/dev/urandom > '%s' && chmod 600 '%s'", key, saved, key, key);
	shell(script);

	vixd_try(&r, &p);
	cr_assert_eq(r.status, 1, "refused at once (status %d): %s", r.status,
	    harness_redact(r.err));
	cr_assert_not_null(strstr(r.err, "another pseudonym key"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, data), "names the store: %s", r.err);
	cr_assert_not_null(strstr(r.err, key), "names the key file: %s", r.err);
	cr_assert_not_null(strstr(r.err, "key backup"), "the fix: %s", r.err);

	FMT(script, "mv '%s' '%s'", saved, key);
	shell(script);
	harness_restart(&p);
	harness_vix(&r, &p, "org-a", (const char *[]){ "involved", "--bsn",
	    "999990019", NULL });
	cr_assert_eq(r.status, 0, "the youth is found again: %s",
	    harness_redact(r.err));
	cr_assert_eq(harness_stop(&p), 0);
}

/*
 * A store from before the key id (none in meta) gets the id of the key it
 * is first started with; another key after that is refused.
 */
Test(daemon_cli, a_store_without_key_id_is_migrated)
{
	struct vixd_proc p;
	struct run_result r;
	char key[PATH_MAX], data[PATH_MAX], script[8192], log[16384];

	harness_start(&p, NULL);
	cr_assert_eq(harness_stop_keep(&p), 0);
	FMT(data, "%s/data", p.dev_dir);
	/* Rewrite the store without meta's "key_id" (hex 6b65795f6964). */
	FMT(script, "cd '%s' && mdb_dump -a data | "
	    "sed '/^ 6b65795f6964$/{N;d}' > dump && ! grep -q 6b65795f6964 "
	    "dump && rm -r data && mkdir -m 700 data && mdb_load -f dump data "
	    "&& rm dump", p.dev_dir);
	shell(script);
	harness_restart(&p);
	cr_assert_not_null(strstr(harness_log(&p, log, sizeof(log)),
	    "pseudonym key id"), "recorded on first start: %s", log);
	cr_assert_eq(harness_stop_keep(&p), 0);
	harness_dev_file(&p, "pseudonym.key", key, sizeof(key));
	FMT(script, "head -c 32 /dev/urandom > '%s'",
	    key);
	shell(script);
	vixd_try(&r, &p);
	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "another pseudonym key"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, data), "%s", r.err);
	(void)harness_stop(&p);
}

/*
 * The start-up hint is a command that works as printed: with --data
 * elsewhere than ./vix-dev it names the folder with --dev-dir. Run from
 * another folder, with the vix under test for build/client/vix.
 */
Test(daemon_cli, start_up_hint_works_as_printed)
{
	struct vixd_proc p;
	struct run_result r;
	char log[16384], hint[2048], script[4096];
	const char *at, *prog = "build/client/vix ";

	harness_start(&p, NULL);
	harness_log(&p, log, sizeof(log));
	cr_assert_not_null(at = strstr(log, "try: "), "no hint: %s", log);
	at += strlen("try: ");
	FMT(hint, "%.*s", (int)strcspn(at, "\n"), at);
	cr_assert_eq(strncmp(hint, prog, strlen(prog)), 0, "%s", hint);
	cr_assert_not_null(strstr(hint, "--dev-dir"), "%s", hint);
	FMT(script, "cd / && exec '%s' %s", getenv("VIX"),
	    hint + strlen(prog));
	harness_run(&r, (const char *[]){ "/bin/sh", "-c", script, NULL });
	cr_assert_eq(r.status, 0, "%s: %s", hint, r.err);
	cr_assert_not_null(strstr(r.out, "authenticated as"), "%s", r.out);
	cr_assert_eq(harness_stop(&p), 0);
}
