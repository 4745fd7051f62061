/*
 * vix-keyd against its client (client/keyclient.c): a real vix-keyd
 * process on certificates the test makes (devcert, as vixd --dev does),
 * with organisations of each role. Evaluations are checked against the
 * key read from the key file: the client blinds x, unblinds what vix-keyd
 * answers and must get k·HashToGroup(x). The inputs are synthetic
 * strings, not BSNs.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "devcert.h"
#include "frame.h"
#include "harness.h"
#include "keyclient.h"
#include "keyd.pb-c.h"
#include "keys.h"
#include "oprf.h"
#include "vix.pb-c.h"

#define CODE_INVALID	VIX__V1__STATUS__CODE__INVALID_ARGUMENT
#define CODE_DENIED	VIX__V1__STATUS__CODE__PERMISSION_DENIED
#define CODE_EXHAUSTED	VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED
#define CODE_UNAUTH	VIX__V1__STATUS__CODE__UNAUTHENTICATED

/* org-a evaluates, org-b may only ask for info, partner is the index. */
static const char orgs_conf[] =
"[org org-a]\n"
"oin = 00000009990000000001\n"
"name = A\n"
"roles = register\n"
"\n"
"[org org-b]\n"
"oin = 00000009990000000002\n"
"name = B\n"
"roles = subscribe\n"
"\n"
"[org partner]\n"
"oin = 00000009990000000003\n"
"name = The index\n"
"roles = index\n"
"\n"
"[org admin]\n"
"oin = 00000009990000000004\n"
"name = Admin\n"
"roles = admin\n";

static struct {
	char	dir[256];
	char	dev[512];
	char	conf[512];
	char	keys[512];
	char	orgs[512];
	char	audit[512];
	char	log[512];
	char	addr[64];
	pid_t	pid;
} kd;

static const char *
keyd_bin(void)
{
	const char *p = getenv("VIX_KEYD");

	cr_assert_not_null(p, "VIX_KEYD is not set");
	return p;
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp, "%s: %s", path, strerror(errno));
	fputs(text, fp);
	cr_assert_eq(fclose(fp), 0);
	chmod(path, mode);
}

/* The file's text (at most len - 1 bytes) into buf, which it returns. */
static const char *
read_text(const char *path, char *buf, size_t len)
{
	harness_read_text(path, buf, len);
	return buf;
}

static void
write_conf(unsigned rate, unsigned burst)
{
	char text[4096];

	snprintf(text, sizeof(text),
	    "[keyd]\n"
	    "listen = 127.0.0.1:0\n"
	    "orgs_file = orgs.conf\n"
	    "key_file = keyd.keys\n"
	    "audit_file = audit.jsonl\n"
	    "rate = %u\n"
	    "burst = %u\n"
	    "[tls]\n"
	    "certificate = dev/server.pem\n"
	    "private_key = dev/server.key\n"
	    "ca_bundle = dev/ca.pem\n", rate, burst);
	write_text(kd.conf, text, 0644);
}

/* Run vix-keyd with args (NULL-terminated) to completion. */
static void
keyd_run4(struct run_result *r, const char *a1, const char *a2,
    const char *a3, const char *a4)
{
	const char *argv[] = { keyd_bin(), a1, a2, a3, a4, NULL };

	harness_run(r, argv);
}

static void
keyd_run(struct run_result *r, const char *a1, const char *a2,
    const char *a3)
{
	keyd_run4(r, a1, a2, a3, NULL);
}

static void
setup(void)
{
	struct run_result *r = calloc(1, sizeof(*r));
	struct diag d;

	snprintf(kd.dir, sizeof(kd.dir), "/tmp/vix-keyd-XXXXXX");
	cr_assert_not_null(mkdtemp(kd.dir));
	snprintf(kd.dev, sizeof(kd.dev), "%s/dev", kd.dir);
	snprintf(kd.conf, sizeof(kd.conf), "%s/keyd.conf", kd.dir);
	snprintf(kd.keys, sizeof(kd.keys), "%s/keyd.keys", kd.dir);
	snprintf(kd.orgs, sizeof(kd.orgs), "%s/orgs.conf", kd.dir);
	snprintf(kd.audit, sizeof(kd.audit), "%s/audit.jsonl", kd.dir);
	snprintf(kd.log, sizeof(kd.log), "%s/keyd.log", kd.dir);
	diag_init(&d);
	cr_assert_eq(devcert_ensure(kd.dev, &d), 0, "%s", d.text);
	write_text(kd.orgs, orgs_conf, 0644);
	write_conf(0, 0);
	keyd_run(r, "--key-file", kd.keys, "--init");
	cr_assert_eq(r->status, 0, "--init: %s", r->err);
	cr_assert(strstr(r->out, "version 1 key id ") != NULL);
	free(r);
}

/* Start vix-keyd -c conf; returns its exit status if it stops at once. */
static int
keyd_start(void)
{
	char text[65536], *at;
	struct stat st;
	size_t from;
	int status;

	kd.addr[0] = '\0';
	/* The log is kept across restarts: read what this start writes. */
	from = stat(kd.log, &st) == 0 ? (size_t)st.st_size : 0;
	kd.pid = fork();
	cr_assert_geq(kd.pid, 0);
	if (kd.pid == 0) {
		int fd = open(kd.log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int null = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execl(keyd_bin(), keyd_bin(), "-c", kd.conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if (waitpid(kd.pid, &status, WNOHANG) == kd.pid) {
			kd.pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		}
		read_text(kd.log, text, sizeof(text));
		if (strlen(text) >= from &&
		    (at = strstr(text + from, "serving on ")) != NULL &&
		    sscanf(at, "serving on %63s", kd.addr) == 1)
			return 0;
		usleep(20000);
	}
	cr_assert_fail("vix-keyd did not come up");
	return -1;
}

/*
 * SIGTERM and wait: vix-keyd must exit 0, and (in the sanitizer build)
 * with nothing to report.
 */
static void
keyd_stop(void)
{
	static char text[1 << 16];
	int status;

	if (kd.pid <= 0)
		return;
	kill(kd.pid, SIGTERM);
	waitpid(kd.pid, &status, 0);
	kd.pid = 0;
	read_text(kd.log, text, sizeof(text));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "vix-keyd exited with status %d:\n%s", status, text);
	cr_assert_null(strstr(text, "Sanitizer"), "%s", text);
	cr_assert_null(strstr(text, "runtime error"), "%s", text);
}

static void
teardown(void)
{
	char cmd[600];

	keyd_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", kd.dir);
	(void)system(cmd);
}

TestSuite(keyd, .init = setup, .fini = teardown, .timeout = 120);

static void
started(void)
{
	cr_assert_eq(keyd_start(), 0, "vix-keyd did not start");
}

static struct keyclient *
connect_as(const char *org)
{
	char cert[600], key[600], ca[600], err[512];
	struct keyclient *c;

	snprintf(cert, sizeof(cert), "%s/%s.pem", kd.dev, org);
	snprintf(key, sizeof(key), "%s/%s.key", kd.dev, org);
	snprintf(ca, sizeof(ca), "%s/ca.pem", kd.dev);
	c = keyclient_open(kd.addr, cert, key, ca, 5000, err, sizeof(err));
	cr_assert_not_null(c, "connect as %s: %s", org, err);
	return c;
}

/* The key file as vix-keyd has it. */
static struct keys *
file_keys(void)
{
	struct keys *ks;
	struct diag d;
	int locked;

	cr_assert_not_null(ks = keys_new(&locked));
	diag_init(&d);
	cr_assert_eq(keys_load(kd.keys, ks, &d), 0, "%s", d.text);
	return ks;
}

static void
input_of(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "vix-test:keyd:input:%zu", i);
}

/* k·HashToGroup(input i), computed here with the key. */
static void
expected(const unsigned char k[32], size_t i, unsigned char out[32])
{
	unsigned char p[32];
	char in[64];

	input_of(i, in, sizeof(in));
	cr_assert_eq(oprf_hash_to_group((const uint8_t *)in, strlen(in), p), 0);
	cr_assert_eq(crypto_scalarmult_ristretto255(out, k, p), 0);
}

/*
 * Blind inputs 0..n-1, have vix-keyd evaluate them, unblind into n_out:
 * the pseudonym elements k·HashToGroup(x) of the active version.
 */
static int
evaluate(struct keyclient *c, size_t n, unsigned char (*n_out)[32],
    uint32_t *version, unsigned char id[16], int *code, char *err,
    size_t errlen)
{
	unsigned char (*blind)[32] = calloc(n, 32), (*b)[32] = calloc(n, 32),
	    (*e)[32] = calloc(n, 32);
	char in[64];
	int rc;

	for (size_t i = 0; i < n; i++) {
		input_of(i, in, sizeof(in));
		cr_assert_eq(oprf_blind((const uint8_t *)in, strlen(in), NULL,
		    blind[i], b[i]), 0);
	}
	rc = keyclient_evaluate(c, n, (const unsigned char (*)[32])b, e,
	    version, id, code, err, errlen);
	for (size_t i = 0; rc == 0 && i < n; i++)
		cr_assert_eq(oprf_unblind(blind[i], e[i], n_out[i]), 0);
	free(blind);
	free(b);
	free(e);
	return rc;
}

Test(keyd, evaluate_matches_the_key_in_the_file)
{
	unsigned char n[1][32], want[32], id[16];
	struct keyclient *c;
	struct keys *ks;
	uint32_t version = 0;
	char err[512];
	int code = -1;

	started();
	c = connect_as("org-a");
	cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(code, 0);
	ks = file_keys();
	cr_assert_eq(version, 1);
	cr_assert_eq(memcmp(id, keys_active(ks)->id, 16), 0);
	expected(keys_active(ks)->k, 0, want);
	cr_assert_eq(memcmp(n[0], want, 32), 0, "unblinded element differs "
	    "from k·HashToGroup(x)");
	/* A second blinding of the same input unblinds to the same element. */
	cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(memcmp(n[0], want, 32), 0);
	keys_free(ks);
	keyclient_close(c);
}

Test(keyd, batch_of_256)
{
	unsigned char (*n)[32] = calloc(257, 32), want[32], id[16];
	unsigned char b[257][32] = { { 0 } }, e[257][32];
	struct keyclient *c;
	struct keys *ks;
	uint32_t version;
	char err[512];
	int code;

	started();
	c = connect_as("admin");	/* admin may evaluate too */
	cr_assert_eq(evaluate(c, 256, n, &version, id, &code, err,
	    sizeof(err)), 0, "%s", err);
	ks = file_keys();
	for (size_t i = 0; i < 256; i++) {
		expected(keys_active(ks)->k, i, want);
		cr_assert_eq(memcmp(n[i], want, 32), 0, "element %zu", i);
	}
	/* 257 is refused before it is sent. */
	cr_assert_eq(keyclient_evaluate(c, 257, (const unsigned char (*)[32])b,
	    e, &version, id, &code, err, sizeof(err)), -1);
	keys_free(ks);
	free(n);
	keyclient_close(c);
}

Test(keyd, invalid_element_refused_by_index)
{
	unsigned char b[3][32], e[3][32], id[16], blind[32];
	struct keyclient *c;
	uint32_t version;
	char err[512];
	int code;

	started();
	c = connect_as("org-a");
	cr_assert_eq(oprf_blind((const uint8_t *)"x", 1, NULL, blind, b[0]), 0);
	memcpy(b[2], b[0], 32);
	memset(b[1], 0xff, 32);		/* not a canonical encoding */
	cr_assert_eq(keyclient_evaluate(c, 3, (const unsigned char (*)[32])b,
	    e, &version, id, &code, err, sizeof(err)), -1);
	cr_assert_eq(code, CODE_INVALID, "code %d: %s", code, err);
	cr_assert(strstr(err, "blinded[1]") != NULL, "%s", err);
	memset(b[2], 0, 32);		/* the identity */
	memcpy(b[1], b[0], 32);
	cr_assert_eq(keyclient_evaluate(c, 3, (const unsigned char (*)[32])b,
	    e, &version, id, &code, err, sizeof(err)), -1);
	cr_assert_eq(code, CODE_INVALID);
	cr_assert(strstr(err, "blinded[2]") != NULL, "%s", err);
	/* The connection goes on. */
	cr_assert_eq(keyclient_evaluate(c, 1, (const unsigned char (*)[32])b,
	    e, &version, id, &code, err, sizeof(err)), 0, "%s", err);
	keyclient_close(c);
}

Test(keyd, roles_are_enforced)
{
	unsigned char n[1][32], id[16], delta[32], fid[16], tid[16], ids[4][16];
	uint32_t version, current, versions[4];
	struct keyclient *c;
	int code, active[4];
	char err[512];
	size_t nv;

	started();
	c = connect_as("org-b");
	cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err, sizeof(err)),
	    -1);
	cr_assert_eq(code, CODE_DENIED, "code %d: %s", code, err);
	/* Any known organisation may ask which versions exist. */
	cr_assert_eq(keyclient_info(c, &current, 4, versions, ids, active, &nv,
	    &code, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(nv, 1);
	cr_assert_eq(current, 1);
	keyclient_close(c);
	/* Only the index gets a token. */
	c = connect_as("org-a");
	cr_assert_eq(keyclient_token(c, 1, 1, delta, fid, tid, &code, err,
	    sizeof(err)), -1);
	cr_assert_eq(code, CODE_DENIED, "code %d: %s", code, err);
	/* The index may not evaluate. */
	keyclient_close(c);
	c = connect_as("partner");
	cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err, sizeof(err)),
	    -1);
	cr_assert_eq(code, CODE_DENIED);
	keyclient_close(c);
}

Test(keyd, unknown_certificates_refused)
{
	char cert[600], key[600], ca[600], err[512], path[600];
	unsigned char n[1][32], id[16];
	struct keyclient *c;
	EVP_PKEY *ca_key, *leaf_key;
	X509 *other_ca, *leaf;
	uint32_t version;
	int code;

	started();
	/* A certificate from the right CA with an OIN orgs.conf lacks. */
	struct vixd_proc p = { 0 };
	snprintf(p.dev_dir, sizeof(p.dev_dir), "%s", kd.dev);
	harness_make_client_cert(&p, "stranger", "00000009990000000099");
	c = connect_as("stranger");
	cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err, sizeof(err)),
	    -1);
	cr_assert_eq(code, CODE_UNAUTH, "code %d: %s", code, err);
	keyclient_close(c);
	/* A certificate from another CA: no handshake. */
	cr_assert_not_null(ca_key = devcert_key());
	cr_assert_not_null(other_ca = devcert_ca(ca_key, "other CA", 30));
	cr_assert_not_null(leaf_key = devcert_key());
	cr_assert_not_null(leaf = devcert_leaf(leaf_key, "org-a",
	    "00000009990000000001", DEVCERT_CLIENT, other_ca, ca_key, 30));
	snprintf(cert, sizeof(cert), "%s/forged.pem", kd.dev);
	snprintf(key, sizeof(key), "%s/forged.key", kd.dev);
	cr_assert_eq(devcert_write_cert(cert, leaf), 0);
	cr_assert_eq(devcert_write_key(key, leaf_key), 0);
	snprintf(ca, sizeof(ca), "%s/ca.pem", kd.dev);
	c = keyclient_open(kd.addr, cert, key, ca, 5000, err, sizeof(err));
	if (c != NULL) {	/* TLS 1.3: the refusal comes with the first read */
		cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err,
		    sizeof(err)), -1);
		keyclient_close(c);
	}
	/* The client refuses a key holder whose certificate it cannot verify. */
	snprintf(path, sizeof(path), "%s/other-ca.pem", kd.dev);
	cr_assert_eq(devcert_write_cert(path, other_ca), 0);
	snprintf(cert, sizeof(cert), "%s/org-a.pem", kd.dev);
	snprintf(key, sizeof(key), "%s/org-a.key", kd.dev);
	cr_assert_null(keyclient_open(kd.addr, cert, key, path, 5000, err,
	    sizeof(err)));
	cr_assert(strstr(err, "certificate") != NULL, "%s", err);
	X509_free(leaf);
	X509_free(other_ca);
	EVP_PKEY_free(leaf_key);
	EVP_PKEY_free(ca_key);
}

Test(keyd, rate_limit_answers_retry_after)
{
	unsigned char (*n)[32] = calloc(256, 32), id[16];
	struct keyclient *c;
	uint32_t version;
	char err[512];
	int code;

	write_conf(1, 256);	/* one evaluation a second, 256 at once */
	started();
	c = connect_as("org-a");
	cr_assert_eq(evaluate(c, 256, n, &version, id, &code, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(evaluate(c, 2, n, &version, id, &code, err, sizeof(err)),
	    -1);
	cr_assert_eq(code, CODE_EXHAUSTED, "code %d: %s", code, err);
	cr_assert(strstr(err, "retry after ") != NULL, "%s", err);
	/* Another organisation has a bucket of its own. */
	keyclient_close(c);
	c = connect_as("admin");
	cr_assert_eq(evaluate(c, 2, n, &version, id, &code, err, sizeof(err)),
	    0, "%s", err);
	keyclient_close(c);
	free(n);
}

/* SIGHUP, and wait until vix-keyd says it reloaded (or why not). */
static void
keyd_reload(void)
{
	char text[65536];
	int before, now = 0;

	read_text(kd.log, text, sizeof(text));
	before = harness_count(text, "reloaded") +
	    harness_count(text, "reload failed");
	kill(kd.pid, SIGHUP);
	for (int i = 0; i < 250 && now <= before; i++) {
		usleep(20000);
		read_text(kd.log, text, sizeof(text));
		now = harness_count(text, "reloaded") +
		    harness_count(text, "reload failed");
	}
	cr_assert_gt(now, before, "vix-keyd did not reload");
}

static size_t
info(struct keyclient *c, uint32_t *current, uint32_t *versions, int *active)
{
	unsigned char ids[8][16];
	char err[512];
	size_t nv;
	int code;

	cr_assert_eq(keyclient_info(c, current, 8, versions, ids, active, &nv,
	    &code, err, sizeof(err)), 0, "%s", err);
	return nv;
}

Test(keyd, sighup_after_add_key_shows_the_version)
{
	uint32_t current, versions[8];
	struct run_result *r = calloc(1, sizeof(*r));
	struct keyclient *c;
	int active[8];

	started();
	c = connect_as("org-b");
	cr_assert_eq(info(c, &current, versions, active), 1);
	keyd_run(r, "--key-file", kd.keys, "--add-key");
	cr_assert_eq(r->status, 0, "%s", r->err);
	cr_assert(strstr(r->out, "version 2 key id ") != NULL, "%s", r->out);
	cr_assert(strstr(r->out, "standby") != NULL, "%s", r->out);
	keyd_reload();
	cr_assert_eq(info(c, &current, versions, active), 2);
	cr_assert_eq(current, 1);
	cr_assert_eq(versions[1], 2);
	cr_assert_eq(active[0], 1);
	cr_assert_eq(active[1], 0);
	keyclient_close(c);
	free(r);
}

Test(keyd, token_moves_pseudonyms_and_activates_the_version)
{
	unsigned char n1[4][32], n2[4][32], moved[32], want[32], id[16],
	    delta[32], fid[16], tid[16];
	struct run_result *r = calloc(1, sizeof(*r));
	struct keyclient *a, *ix;
	uint32_t version, current, versions[8];
	int code, active[8];
	struct keys *ks;
	char err[512];

	started();
	a = connect_as("org-a");
	cr_assert_eq(evaluate(a, 4, n1, &version, id, &code, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(version, 1);
	keyd_run(r, "--key-file", kd.keys, "--add-key");
	cr_assert_eq(r->status, 0, "%s", r->err);
	keyd_reload();
	ix = connect_as("partner");
	cr_assert_eq(keyclient_token(ix, 1, 2, delta, fid, tid, &code, err,
	    sizeof(err)), 0, "%s", err);
	ks = file_keys();
	cr_assert_eq(memcmp(fid, keys_find(ks, 1)->id, 16), 0);
	cr_assert_eq(memcmp(tid, keys_find(ks, 2)->id, 16), 0);
	/* The key file says so, and vix-keyd evaluates under version 2. */
	cr_assert_eq(keys_active(ks)->version, 2);
	cr_assert_eq(evaluate(a, 4, n2, &version, id, &code, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(version, 2);
	cr_assert_eq(memcmp(id, tid, 16), 0);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(crypto_scalarmult_ristretto255(moved, delta,
		    n1[i]), 0);
		cr_assert_eq(memcmp(moved, n2[i], 32), 0, "delta·N_v1 != N_v2 "
		    "for input %zu", i);
		expected(keys_find(ks, 2)->k, i, want);
		cr_assert_eq(memcmp(n2[i], want, 32), 0);
	}
	cr_assert_eq(info(ix, &current, versions, active), 2);
	cr_assert_eq(current, 2);
	/* Version 1 is standby now: it may go. */
	keyd_run4(r, "--key-file", kd.keys, "--destroy-key", "1");
	cr_assert_eq(r->status, 0, "%s", r->err);
	keys_free(ks);
	keyclient_close(a);
	keyclient_close(ix);
	free(r);
}

Test(keyd, key_file_readable_by_others_refused)
{
	char text[8192];

	chmod(kd.keys, 0644);
	cr_assert_neq(keyd_start(), 0, "vix-keyd started on a 0644 key file");
	read_text(kd.log, text, sizeof(text));
	cr_assert(strstr(text, "chmod 600") != NULL, "%s", text);
}

Test(keyd, destroy_key_keeps_the_active_version)
{
	struct run_result *r = calloc(1, sizeof(*r));

	keyd_run4(r, "--key-file", kd.keys, "--destroy-key", "1");
	cr_assert_neq(r->status, 0);
	cr_assert(strstr(r->err, "active") != NULL, "%s", r->err);
	keyd_run(r, "--key-file", kd.keys, "--add-key");
	cr_assert_eq(r->status, 0, "%s", r->err);
	keyd_run4(r, "--key-file", kd.keys, "--destroy-key", "2");
	cr_assert_eq(r->status, 0, "%s", r->err);
	keyd_run(r, "--key-file", kd.keys, "--key-info");
	cr_assert_eq(r->status, 0, "%s", r->err);
	cr_assert(strstr(r->out, "version 1 ") != NULL);
	cr_assert(strstr(r->out, "version 2 ") == NULL, "%s", r->out);
	/* Never the key itself. */
	cr_assert(strlen(r->out) < 80, "%s", r->out);
	free(r);
}

/* Whether the file at path holds the 32 bytes, raw or in hex. */
static int
file_holds(const char *path, const unsigned char el[32])
{
	static char text[1 << 20];
	char hex[65];
	size_t n;
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	sodium_bin2hex(hex, sizeof(hex), el, 32);
	return memmem(text, n, el, 32) != NULL || strstr(text, hex) != NULL ||
	    strcasestr(text, hex) != NULL;
}

Test(keyd, audit_lines_per_org_without_elements)
{
	unsigned char b[2][32], e[2][32], blind[2][32], n[1][32], id[16];
	struct keyclient *a, *o;
	uint32_t version;
	char text[65536], err[512];
	int code;

	started();
	a = connect_as("org-a");
	o = connect_as("org-b");
	cr_assert_eq(oprf_blind((const uint8_t *)"p", 1, NULL, blind[0], b[0]),
	    0);
	cr_assert_eq(oprf_blind((const uint8_t *)"q", 1, NULL, blind[1], b[1]),
	    0);
	cr_assert_eq(keyclient_evaluate(a, 2, (const unsigned char (*)[32])b,
	    e, &version, id, &code, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(evaluate(o, 1, n, &version, id, &code, err, sizeof(err)),
	    -1);
	keyclient_close(a);
	keyclient_close(o);
	keyd_stop();
	read_text(kd.audit, text, sizeof(text));
	cr_assert(strstr(text, "\"org\":\"org-a\",\"oin\":\"00000009990000000001"
	    "\",\"action\":\"evaluate\",\"count\":2,\"outcome\":\"ok\"") != NULL,
	    "%s", text);
	cr_assert(strstr(text, "\"org\":\"org-b\"") != NULL, "%s", text);
	cr_assert(strstr(text, "\"outcome\":\"permission_denied\"") != NULL,
	    "%s", text);
	for (int i = 0; i < 2; i++) {
		cr_assert_not(file_holds(kd.audit, b[i]));
		cr_assert_not(file_holds(kd.audit, e[i]));
		cr_assert_not(file_holds(kd.log, b[i]));
		cr_assert_not(file_holds(kd.log, e[i]));
	}
	/* Counters per organisation in the log at exit. */
	read_text(kd.log, text, sizeof(text));
	cr_assert(strstr(text, "exit: org org-a: 1 requests, 2 evaluations, "
	    "0 refused") != NULL, "%s", text);
}

Test(keyd, reload_takes_a_role_away_for_the_next_request)
{
	unsigned char n[1][32], id[16];
	struct keyclient *c;
	uint32_t version;
	char err[512], moved[600], text[4096];
	int code;

	started();
	c = connect_as("org-a");
	cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err, sizeof(err)),
	    0, "%s", err);
	/* As logrotate would: the audit goes on in a new file. */
	snprintf(moved, sizeof(moved), "%s.1", kd.audit);
	cr_assert_eq(rename(kd.audit, moved), 0);
	harness_edit_file(kd.orgs, "roles = register\n", "roles = subscribe\n");
	keyd_reload();
	cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err, sizeof(err)),
	    -1);
	cr_assert_eq(code, CODE_DENIED, "code %d: %s", code, err);
	keyclient_close(c);
	keyd_stop();
	cr_assert(strstr(read_text(kd.audit, text, sizeof(text)),
	    "\"outcome\":\"permission_denied\"") != NULL, "%s", text);
	cr_assert(strstr(read_text(moved, text, sizeof(text)),
	    "\"outcome\":\"ok\"") != NULL, "%s", text);
}

Test(keyd, failed_reload_keeps_serving)
{
	unsigned char n[1][32], id[16];
	struct keyclient *c;
	uint32_t version;
	char err[512], text[65536];
	int code;

	started();
	c = connect_as("org-a");
	chmod(kd.keys, 0640);
	kill(kd.pid, SIGHUP);
	cr_assert(harness_wait_for_text(kd.log, "reload failed", 5000));
	read_text(kd.log, text, sizeof(text));
	cr_assert(strstr(text, "chmod 600") != NULL, "%s", text);
	cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err, sizeof(err)),
	    0, "%s", err);
	keyclient_close(c);
}

Test(keyd, check_configuration)
{
	struct run_result *r = calloc(1, sizeof(*r));

	keyd_run(r, "-t", "-c", kd.conf);
	cr_assert_eq(r->status, 0, "%s", r->err);
	write_conf(10, 5);
	keyd_run(r, "-t", "-c", kd.conf);
	cr_assert_neq(r->status, 0);
	cr_assert(strstr(r->err, "burst 5 is below 256") != NULL, "%s", r->err);
	free(r);
}

/* A raw TLS connection as org, for what keyclient never sends. */
static SSL *
raw_connect(const char *org)
{
	struct vixd_proc p = { 0 };
	char cert[600], key[600], why[256];
	SSL *ssl;

	snprintf(p.dev_dir, sizeof(p.dev_dir), "%s", kd.dev);
	snprintf(p.addr, sizeof(p.addr), "%s", kd.addr);
	snprintf(cert, sizeof(cert), "%s/%s.pem", kd.dev, org);
	snprintf(key, sizeof(key), "%s/%s.key", kd.dev, org);
	ssl = harness_tls_connect(&p, cert, key, why, sizeof(why));
	cr_assert_not_null(ssl, "%s", why);
	return ssl;
}

/* One framed KeyResponse, or NULL when the connection ends first. */
static Vix__Keyd__V1__KeyResponse *
raw_recv(SSL *ssl)
{
	uint8_t hdr[FRAME_HEADER_MAX], body[65536];
	size_t have = 0, hlen, blen, got = 0;
	enum frame_result fr;
	int n;

	do {
		if (SSL_read(ssl, hdr + have, 1) != 1)
			return NULL;
		fr = frame_decode_header(hdr, ++have, sizeof(body), &hlen, &blen);
	} while (fr == FRAME_NEED_MORE);
	cr_assert_eq(fr, FRAME_OK);
	while (got < blen) {
		if ((n = SSL_read(ssl, body + got, (int)(blen - got))) <= 0)
			return NULL;
		got += (size_t)n;
	}
	return vix__keyd__v1__key_response__unpack(NULL, blen, body);
}

Test(keyd, pipelined_requests_answered_in_order)
{
	Vix__Keyd__V1__KeyRequest req = VIX__KEYD__V1__KEY_REQUEST__INIT;
	Vix__Keyd__V1__KeyInfo ki = VIX__KEYD__V1__KEY_INFO__INIT;
	Vix__Keyd__V1__KeyResponse *r;
	uint8_t buf[64 * 40];
	size_t len = 0;
	SSL *ssl;

	started();
	ssl = raw_connect("org-b");
	req.body_case = VIX__KEYD__V1__KEY_REQUEST__BODY_INFO;
	req.info = &ki;
	for (uint64_t id = 1; id <= 40; id++) {
		req.id = id;
		len += frame_pack(&req.base, buf + len);
	}
	harness_send_raw(ssl, buf, len);	/* one write, forty requests */
	for (uint64_t id = 1; id <= 40; id++) {
		cr_assert_not_null(r = raw_recv(ssl), "answer %llu",
		    (unsigned long long)id);
		cr_assert_eq(r->id, id);
		cr_assert_eq(r->status->code, 0);
		cr_assert_eq(r->info->current, 1);
		vix__keyd__v1__key_response__free_unpacked(r, NULL);
	}
	harness_tls_close(ssl);
}

Test(keyd, oversized_frame_closes_the_connection)
{
	uint8_t prefix[FRAME_HEADER_MAX];
	size_t n = frame_encode_header(prefix, 1u << 20);
	SSL *ssl;

	started();
	ssl = raw_connect("org-a");
	harness_send_raw(ssl, prefix, n);
	cr_assert_null(raw_recv(ssl), "an answer to a 1 MiB frame");
	harness_tls_close(ssl);
	/* vix-keyd itself goes on. */
	ssl = raw_connect("org-a");
	harness_tls_close(ssl);
}

Test(keyd, client_reconnects_once_after_a_restart)
{
	unsigned char n[1][32], id[16];
	struct keyclient *c;
	uint32_t version;
	char err[512], text[4096], port[16];
	int code;

	started();
	c = connect_as("org-a");
	cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err, sizeof(err)),
	    0, "%s", err);
	/* Stop it and start it again on the same port. */
	snprintf(port, sizeof(port), "%s", strrchr(kd.addr, ':') + 1);
	keyd_stop();
	read_text(kd.conf, text, sizeof(text));
	harness_edit_file(kd.conf, "listen = 127.0.0.1:0",
	    strcat(strcpy(text, "listen = 127.0.0.1:"), port));
	started();
	cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err, sizeof(err)),
	    0, "after the restart: %s", err);
	keyclient_close(c);
}

Test(keyd, host_name_verified)
{
	char cert[600], key[600], ca[600], err[512], addr[80];
	struct keyclient *c;

	started();
	snprintf(cert, sizeof(cert), "%s/org-a.pem", kd.dev);
	snprintf(key, sizeof(key), "%s/org-a.key", kd.dev);
	snprintf(ca, sizeof(ca), "%s/ca.pem", kd.dev);
	/* The dev server certificate names localhost and 127.0.0.1 ... */
	snprintf(addr, sizeof(addr), "localhost:%s", strrchr(kd.addr, ':') + 1);
	c = keyclient_open(addr, cert, key, ca, 5000, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	keyclient_close(c);
	/* ... and not 127.0.0.2 (loopback too, on Linux). */
	harness_edit_file(kd.conf, "listen = 127.0.0.1:0",
	    "listen = 127.0.0.2:0");
	keyd_stop();
	started();
	c = keyclient_open(kd.addr, cert, key, ca, 5000, err, sizeof(err));
	cr_assert_null(c, "connected to a name the certificate lacks");
	cr_assert(strstr(err, "certificate") != NULL, "%s", err);
}

Test(keyd, client_times_out_without_a_second_try)
{
	char cert[600], key[600], ca[600], err[512];
	unsigned char n[1][32], id[16];
	struct keyclient *c;
	uint32_t version;
	struct timespec t0, t1;
	long ms;
	int code;

	started();
	snprintf(cert, sizeof(cert), "%s/org-a.pem", kd.dev);
	snprintf(key, sizeof(key), "%s/org-a.key", kd.dev);
	snprintf(ca, sizeof(ca), "%s/ca.pem", kd.dev);
	c = keyclient_open(kd.addr, cert, key, ca, 300, err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	kill(kd.pid, SIGSTOP);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err, sizeof(err)),
	    -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kill(kd.pid, SIGCONT);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000;
	cr_assert_eq(code, 0);
	cr_assert(strstr(err, "did not answer within 300 ms") != NULL, "%s",
	    err);
	cr_assert_lt(ms, 1000, "%ld ms: tried again after a timeout", ms);
	/* The next call connects again. */
	cr_assert_eq(evaluate(c, 1, n, &version, id, &code, err, sizeof(err)),
	    0, "%s", err);
	keyclient_close(c);
}

/*
 * Back-pressure over TLS: a client that sends without reading. vix-keyd
 * must stop reading once its answers pile up (the client's writes stall),
 * instead of buffering without bound; once the client reads, every answer
 * comes, in order.
 */
#define BP_CHUNK	1000			/* KeyInfo requests per write */
#define BP_CAP		(64u * 1024 * 1024)	/* bytes sent, at most */

struct bp_reader {
	uint8_t		 buf[1 << 16];
	size_t		 have;
	uint64_t	 answers;		/* whole answers read */
};

/* Read what is there (non-blocking) and count the answers, checking ids. */
static void
bp_read(SSL *ssl, struct bp_reader *r)
{
	size_t off, hlen, blen;
	int n;

	while ((n = SSL_read(ssl, r->buf + r->have, (int)(sizeof(r->buf) -
	    r->have))) > 0) {
		r->have += (size_t)n;
		for (off = 0; frame_decode_header(r->buf + off, r->have - off,
		    4096, &hlen, &blen) == FRAME_OK &&
		    r->have - off - hlen >= blen; off += hlen + blen) {
			Vix__Keyd__V1__KeyResponse *m =
			    vix__keyd__v1__key_response__unpack(NULL, blen,
			    r->buf + off + hlen);

			cr_assert_not_null(m);
			cr_assert_eq(m->id, r->answers + 1, "answer %llu out "
			    "of order", (unsigned long long)m->id);
			r->answers++;
			vix__keyd__v1__key_response__free_unpacked(m, NULL);
		}
		memmove(r->buf, r->buf + off, r->have - off);
		r->have -= off;
	}
	cr_assert_eq(SSL_get_error(ssl, n), SSL_ERROR_WANT_READ,
	    "connection ended after %llu answers",
	    (unsigned long long)r->answers);
}

Test(keyd, stops_reading_a_client_that_does_not_read)
{
	Vix__Keyd__V1__KeyRequest req = VIX__KEYD__V1__KEY_REQUEST__INIT;
	Vix__Keyd__V1__KeyInfo ki = VIX__KEYD__V1__KEY_INFO__INIT;
	static uint8_t chunk[BP_CHUNK * 16];
	static struct bp_reader rd;
	size_t len = 0, sent = 0;
	uint64_t id = 0, acked;
	struct pollfd pfd;
	int fd, n, stalled = 0;
	SSL *ssl;

	started();
	ssl = raw_connect("org-b");
	fd = SSL_get_fd(ssl);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	req.body_case = VIX__KEYD__V1__KEY_REQUEST__BODY_INFO;
	req.info = &ki;
	/* Write without reading until writes stall for 2 s. */
	while (!stalled && sent < BP_CAP) {
		if (len == 0)
			for (int i = 0; i < BP_CHUNK; i++) {
				req.id = ++id;
				len += frame_pack(&req.base, chunk + len);
			}
		if ((n = SSL_write(ssl, chunk, (int)len)) > 0) {
			sent += len;
			len = 0;
			continue;
		}
		cr_assert_eq(SSL_get_error(ssl, n), SSL_ERROR_WANT_WRITE);
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		stalled = poll(&pfd, 1, 2000) == 0;
	}
	cr_assert(stalled, "vix-keyd read %zu bytes of requests without the "
	    "client reading an answer", sent);
	/* Now read, finishing the write that stalled. */
	acked = id;
	while (rd.answers < acked) {
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN |
		    (len ? POLLOUT : 0) };
		cr_assert_gt(poll(&pfd, 1, 10000), 0, "no answer after %llu",
		    (unsigned long long)rd.answers);
		if (len > 0 && (n = SSL_write(ssl, chunk, (int)len)) > 0)
			len = 0;
		bp_read(ssl, &rd);
	}
	cr_assert_eq(rd.answers, id);
	harness_tls_close(ssl);
}
