/* A real vixd, the real CLI, raw TLS clients. */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "devcert.h"
#include "frame.h"
#include "harness.h"
#include "rules.h"

static const char *
env_or_die(const char *name)
{
	const char *v = getenv(name);

	cr_assert_not_null(v, "%s must be set (run through meson test)", name);
	return v;
}

void
harness_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

long
harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t
harness_load_bsns(char bsns[][16], size_t max)
{
	char path[PATH_MAX], line[128];
	const char *dir = getenv("VIX_TESTDATA");
	size_t n = 0;
	FILE *fp;

	cr_assert_not_null(dir, "VIX_TESTDATA is not set");
	snprintf(path, sizeof(path), "%s/bsn-valid.txt", dir);
	cr_assert_not_null(fp = fopen(path, "r"), "the synthetic BSNs: %s: %s",
	    path, strerror(errno));
	while (n < max && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '#' && line[0] != '\0')
			snprintf(bsns[n++], 16, "%.15s", line);
	}
	fclose(fp);
	return n;
}

const char *
harness_log(struct vixd_proc *p, char *buf, size_t len)
{
	FILE *fp = fopen(p->log, "r");
	size_t n = 0;

	if (fp != NULL) {
		n = fread(buf, 1, len - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	return buf;
}

/* vixd logs "listening on HOST:PORT" once it serves. */
static int
harness_wait_ready(struct vixd_proc *p)
{
	char log[16384];
	const char *at;
	int status;

	for (int i = 0; i < 1500; i++) {
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			return -1;
		}
		harness_log(p, log, sizeof(log));
		if ((at = strstr(log, "listening on ")) != NULL &&
		    sscanf(at, "listening on %63s", p->addr) == 1)
			return 0;
		harness_sleep_ms(10);
	}
	return -1;
}

/*
 * Start vixd with a fresh log. It dies with the test process (a failed
 * assertion must not leave a daemon holding the test runner's pipes).
 */
static void
harness_spawn(struct vixd_proc *p, const char *const *argv)
{
	int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	cr_assert(fd >= 0, "%s: %s", p->log, strerror(errno));
	p->addr[0] = '\0';
	if ((p->pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, STDERR_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (chdir(p->dir) == -1)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd);
	cr_assert_gt(p->pid, 0, "fork: %s", strerror(errno));
}

/*
 * The caller's extra arguments after argv[0..n), at most max in all; and
 * unless they choose, --pseudonyms server: vixd --dev is blind by default,
 * and the tests of the blind pseudonyms ask for it (test_blind.c).
 */
static size_t
harness_extra(const char **argv, size_t n, size_t max,
    const char *const *extra)
{
	int chosen = 0;

	for (; extra != NULL && *extra != NULL && n < max; extra++) {
		chosen |= strcmp(*extra, "--pseudonyms") == 0;
		argv[n++] = *extra;
	}
	if (!chosen && n + 2 <= max) {
		argv[n++] = "--pseudonyms";
		argv[n++] = "server";
	}
	return n;
}

/*
 * Start vixd --dev in a new folder; with uid != 0 as that user (through
 * setpriv, from util-linux), in a folder the user owns; with first, on
 * first's dev material with a control socket of its own.
 */
static void
harness_start_uid(struct vixd_proc *p, unsigned uid,
    const struct vixd_proc *first, const char *const *extra)
{
	const char *vixd = env_or_die("VIXD");
	const char *argv[40];
	char log[16384], reuid[32], regid[32], sock[PATH_MAX];
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "%s/vix-it-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(p->dir), "mkdtemp: %s", strerror(errno));
	if (first != NULL)	/* the first one's material, a socket of its own */
		snprintf(p->dev_dir, sizeof(p->dev_dir), "%s", first->dev_dir);
	else
		snprintf(p->dev_dir, sizeof(p->dev_dir), "%s/vix-dev", p->dir);
	snprintf(p->log, sizeof(p->log), "%s/vixd.log", p->dir);

	if (uid != 0) {
		cr_assert_eq(chown(p->dir, uid, uid), 0, "chown %s: %s",
		    p->dir, strerror(errno));
		snprintf(reuid, sizeof(reuid), "--reuid=%u", uid);
		snprintf(regid, sizeof(regid), "--regid=%u", uid);
		argv[n++] = "/usr/bin/setpriv";
		argv[n++] = reuid;
		argv[n++] = regid;
		argv[n++] = "--clear-groups";
	}
	argv[n++] = vixd;
	argv[n++] = "--dev";
	argv[n++] = "--data";
	argv[n++] = p->dev_dir;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--admin-listen";
	argv[n++] = "127.0.0.1:0";
	if (first != NULL) {
		snprintf(sock, sizeof(sock), "%s/control.sock", p->dir);
		argv[n++] = "--control-socket";
		argv[n++] = sock;
	}
	n = harness_extra(argv, n, 38, extra);
	argv[n] = NULL;

	harness_spawn(p, argv);
	if (harness_wait_ready(p) == -1) {
		harness_kill(p);
		cr_assert_fail("vixd did not come up; its log:\n%s",
		    harness_log(p, log, sizeof(log)));
	}
}

void
harness_start(struct vixd_proc *p, const char *const *extra)
{
	harness_start_uid(p, 0, NULL, extra);
}

void
harness_start_peer(struct vixd_proc *p, const struct vixd_proc *first,
    const char *const *extra)
{
	harness_start_uid(p, 0, first, extra);
}

void
harness_start_as(struct vixd_proc *p, unsigned uid)
{
	cr_assert_neq(uid, 0);
	harness_start_uid(p, uid, NULL, NULL);
}

void
harness_restart(struct vixd_proc *p)
{
	harness_restart_with(p, NULL);
}

void
harness_restart_with(struct vixd_proc *p, const char *const *extra)
{
	const char *argv[32] = { env_or_die("VIXD"), "--dev", "--data",
	    p->dev_dir, "--listen", "127.0.0.1:0", "--admin-listen",
	    "127.0.0.1:0" };
	char log[16384];
	size_t n = 8;

	n = harness_extra(argv, n, 31, extra);
	argv[n] = NULL;
	if (p->pid > 0)
		cr_assert_eq(harness_signal_wait(p, SIGTERM), 0, "vixd did not "
		    "stop cleanly");
	harness_spawn(p, argv);
	if (harness_wait_ready(p) == -1) {
		harness_kill(p);
		cr_assert_fail("vixd did not come back; its log:\n%s",
		    harness_log(p, log, sizeof(log)));
	}
}


static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
wait_exit(pid_t pid, int timeout_ms)
{
	int status;

	for (int i = 0; i < timeout_ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
		harness_sleep_ms(10);
	}
	return -1;
}

/*
 * Why vixd did not stop cleanly, and the end of its log, on stderr: a
 * test that fails on the status alone would leave nothing to go on.
 */
static void
stop_report(struct vixd_proc *p, int sig, int status)
{
	static char log[1 << 20];
	const char *tail;
	size_t n;

	if (status == -1)
		fprintf(stderr, "harness: vixd (pid %ld) did not exit within "
		    "15 s of signal %d; killed\n", (long)p->pid, sig);
	else
		fprintf(stderr, "harness: vixd (pid %ld) exited with status "
		    "%d after signal %d\n", (long)p->pid, status, sig);
	harness_log(p, log, sizeof(log));
	n = strlen(log);
	tail = n > 6000 ? log + n - 6000 : log;
	fprintf(stderr, "harness: the end of its log:\n%s\n", tail);
}

int
harness_signal_wait(struct vixd_proc *p, int sig)
{
	int status = -1;

	if (p->pid > 0) {
		if (sig != 0)
			kill(p->pid, sig);
		if ((status = wait_exit(p->pid, 15000)) == -1) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
		}
		if (status != 0 && sig == SIGTERM)
			stop_report(p, sig, status);
		p->pid = 0;
	}
	return status;
}

int
harness_stop_keep(struct vixd_proc *p)
{
	return harness_signal_wait(p, SIGTERM);
}

int
harness_stop(struct vixd_proc *p)
{
	int status = harness_signal_wait(p, SIGTERM);

	if (p->dir[0] != '\0' && getenv("VIX_KEEP_TEST_DIRS") == NULL)
		nftw(p->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return status;
}

void
harness_kill(struct vixd_proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
}

/* The whole file into buf; a test must never judge a cut output. */
static void
slurp(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n = 0;
	int more = 0;

	if (fp != NULL) {
		n = fread(buf, 1, len - 1, fp);
		more = fgetc(fp) != EOF;
		fclose(fp);
	}
	buf[n] = '\0';
	unlink(path);
	cr_assert(!more, "output larger than the harness buffer (%zu bytes)",
	    len);
}

void
harness_run(struct run_result *r, const char *const *argv)
{
	harness_run_stdin(r, argv, NULL);
}

/* A file holding input, open for reading and already unlinked. */
static int
stdin_file(const char *input)
{
	char path[] = "/tmp/vix-run-in-XXXXXX";
	size_t len = strlen(input);
	int fd = mkstemp(path);

	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	unlink(path);
	cr_assert_eq(write(fd, input, len), (ssize_t)len);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

void
harness_run_stdin(struct run_result *r, const char *const *argv,
    const char *input)
{
	char out[] = "/tmp/vix-run-out-XXXXXX", err[] = "/tmp/vix-run-err-XXXXXX";
	int fo = mkstemp(out), fe = mkstemp(err), status;
	int in = input != NULL ? stdin_file(input) : -1;
	pid_t pid;

	cr_assert(fo >= 0 && fe >= 0, "mkstemp: %s", strerror(errno));
	if ((pid = fork()) == 0) {
		int null = in != -1 ? in : open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, STDIN_FILENO);
		dup2(fo, STDOUT_FILENO);
		dup2(fe, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fo);
	close(fe);
	if (in != -1)
		close(in);
	cr_assert_gt(pid, 0, "fork: %s", strerror(errno));
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

void
harness_vix(struct run_result *r, struct vixd_proc *p, const char *name,
    const char *const *args)
{
	harness_vix_stdin(r, p, name, args, NULL);
}

void
harness_vix_stdin(struct run_result *r, struct vixd_proc *p, const char *name,
    const char *const *args, const char *input)
{
	const char *argv[32];
	size_t n = 0;

	argv[n++] = env_or_die("VIX");
	argv[n++] = "--dev-dir";
	argv[n++] = p->dev_dir;
	argv[n++] = "--dev";
	argv[n++] = name;
	argv[n++] = "--server";
	argv[n++] = p->addr;
	for (; args != NULL && *args != NULL && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	harness_run_stdin(r, argv, input);
}

const char *
harness_write_file(struct vixd_proc *p, const char *name, const char *text)
{
	static char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", p->dir, name);
	cr_assert_not_null(fp = fopen(path, "w"), "%s: %s", path,
	    strerror(errno));
	fputs(text, fp);
	cr_assert_eq(fclose(fp), 0, "%s: %s", path, strerror(errno));
	return path;
}

const char *
harness_dev_file(struct vixd_proc *p, const char *file, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", p->dev_dir, file);
	return buf;
}

static void *
read_pem(const char *path, int key)
{
	FILE *fp = fopen(path, "r");
	void *obj;

	cr_assert_not_null(fp, "open %s: %s", path, strerror(errno));
	obj = key ? (void *)PEM_read_PrivateKey(fp, NULL, NULL, NULL) :
	    (void *)PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	cr_assert_not_null(obj, "cannot parse %s", path);
	return obj;
}

void
harness_make_client_cert(struct vixd_proc *p, const char *name, const char *oin)
{
	harness_make_short_cert(p, name, oin, 0);
}

void
harness_make_short_cert(struct vixd_proc *p, const char *name,
    const char *oin, long secs)
{
	char path[PATH_MAX];
	X509 *ca, *leaf;
	EVP_PKEY *ca_key, *key;

	ca = read_pem(harness_dev_file(p, "ca.pem", path, sizeof(path)), 0);
	ca_key = read_pem(harness_dev_file(p, "ca.key", path, sizeof(path)), 1);
	key = devcert_key();
	leaf = devcert_leaf(key, name, oin, DEVCERT_CLIENT, ca, ca_key, 30);
	cr_assert_not_null(leaf, "cannot make a certificate for %s", name);
	if (secs > 0) {
		cr_assert_not_null(X509_gmtime_adj(X509_getm_notAfter(leaf),
		    secs));
		cr_assert(X509_sign(leaf, ca_key, EVP_sha256()) > 0);
	}
	snprintf(path, sizeof(path), "%s/%s.key", p->dev_dir, name);
	cr_assert_eq(devcert_write_key(path, key), 0);
	snprintf(path, sizeof(path), "%s/%s.pem", p->dev_dir, name);
	cr_assert_eq(devcert_write_cert(path, leaf), 0);
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
}

static int
tcp_connect(const char *addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char host[64];
	unsigned port;
	int fd;

	cr_assert_eq(sscanf(addr, "%63[^:]:%u", host, &port), 2);
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0,
	    "connect %s: %s", addr, strerror(errno));
	return fd;
}

SSL *
harness_tls_connect(struct vixd_proc *p, const char *cert, const char *key,
    char *why, size_t whylen)
{
	struct timeval tv = { 10, 0 };
	char ca[PATH_MAX];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	int fd;

	cr_assert_not_null(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	cr_assert_eq(SSL_CTX_load_verify_locations(ctx,
	    harness_dev_file(p, "ca.pem", ca, sizeof(ca)), NULL), 1);
	if (cert != NULL) {
		cr_assert_eq(SSL_CTX_use_certificate_chain_file(ctx, cert), 1);
		cr_assert_eq(SSL_CTX_use_PrivateKey_file(ctx, key,
		    SSL_FILETYPE_PEM), 1);
	}
	fd = tcp_connect(p->addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);	/* the SSL keeps its reference */
	SSL_set_fd(ssl, fd);
	ERR_clear_error();
	if (SSL_connect(ssl) != 1) {
		ERR_error_string_n(ERR_peek_last_error(), why, whylen);
		harness_tls_close(ssl);
		return NULL;
	}
	return ssl;
}

void
harness_tls_close(SSL *ssl)
{
	int fd = SSL_get_fd(ssl);

	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
}

void
harness_send_raw(SSL *ssl, const void *buf, size_t len)
{
	cr_assert_eq(SSL_write(ssl, buf, (int)len), (int)len,
	    "SSL_write failed");
}

void
harness_send_request(SSL *ssl, Vix__V1__Request *req)
{
	uint8_t buf[4096];
	size_t n = frame_packed_size(&req->base);

	cr_assert_leq(n, sizeof(buf));
	frame_pack(&req->base, buf);
	harness_send_raw(ssl, buf, n);
}

/* Read exactly len bytes; 0 on success, else the SSL_get_error code. */
static int
read_exact(SSL *ssl, uint8_t *buf, size_t len)
{
	size_t got = 0;
	int n;

	while (got < len) {
		if ((n = SSL_read(ssl, buf + got, (int)(len - got))) <= 0)
			return SSL_get_error(ssl, n);
		got += (size_t)n;
	}
	return 0;
}

Vix__V1__ServerMessage *
harness_recv(SSL *ssl, int *end)
{
	uint8_t hdr[FRAME_HEADER_MAX], *body;
	size_t hlen = 0, blen = 0, have = 0;
	Vix__V1__ServerMessage *m;
	enum frame_result r = FRAME_NEED_MORE;
	int e;

	while (r == FRAME_NEED_MORE) {
		if ((e = read_exact(ssl, hdr + have, 1)) != 0) {
			*end = e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
			return NULL;
		}
		have++;
		r = frame_decode_header(hdr, have, FRAME_LIMIT, &hlen, &blen);
	}
	cr_assert_eq(r, FRAME_OK, "server sent a bad frame header");
	body = malloc(blen + 1);
	cr_assert_not_null(body);
	if ((e = read_exact(ssl, body, blen)) != 0) {
		free(body);
		*end = e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
		return NULL;
	}
	m = vix__v1__server_message__unpack(NULL, blen, body);
	free(body);
	cr_assert_not_null(m, "server sent a message that does not decode");
	return m;
}

int
harness_count(const char *haystack, const char *needle)
{
	int n = 0;

	for (const char *at = haystack; (at = strstr(at, needle)) != NULL;
	    at += strlen(needle))
		n++;
	return n;
}

char *
harness_redact(char *s)
{
	size_t run = 0;

	for (size_t i = 0;; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			run++;
			continue;
		}
		if (run >= 9)
			memset(s + i - run, '#', run);
		run = 0;
		if (s[i] == '\0')
			return s;
	}
}

static int
file_contains(const char *path, const char *needle)
{
	size_t nl = strlen(needle), n, keep = 0;
	char buf[65536 + 64];
	FILE *fp = fopen(path, "rb");
	int hit = 0;

	if (fp == NULL)
		return 0;
	while (!hit && (n = fread(buf + keep, 1, 65536, fp)) > 0) {
		n += keep;
		hit = memmem(buf, n, needle, nl) != NULL;
		keep = n < nl - 1 ? n : nl - 1;
		memmove(buf, buf + n - keep, keep);
	}
	fclose(fp);
	return hit;
}

static const char *search_needle;
static char *search_where;
static size_t search_len;

static int
search_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	if (flag == FTW_F && S_ISREG(st->st_mode) &&
	    file_contains(path, search_needle)) {
		snprintf(search_where, search_len, "%s", path);
		return 1;
	}
	return 0;
}

int
harness_dir_contains(const char *dir, const char *needle, char *where,
    size_t wherelen)
{
	search_needle = needle;
	search_where = where;
	search_len = wherelen;
	return nftw(dir, search_entry, 16, FTW_PHYS) == 1;
}

pid_t
harness_spawn_bg(const char *const *argv, const char *out_path)
{
	pid_t pid = fork();

	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int null = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

int
harness_stop_bg(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void
harness_vixctl(struct run_result *r, struct vixd_proc *p,
    const char *const *args)
{
	const char *argv[32];
	char sock[PATH_MAX];
	size_t n = 0;

	argv[n++] = env_or_die("VIXCTL");
	argv[n++] = "-s";
	argv[n++] = harness_dev_file(p, "control.sock", sock, sizeof(sock));
	for (; args != NULL && *args != NULL && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	harness_run(r, argv);
}

void
harness_read_text(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	if (fp != NULL) {
		n = fread(buf, 1, len - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
}

int
harness_wait_for_text(const char *path, const char *needle, int timeout_ms)
{
	char buf[65536];

	for (int i = 0; i < timeout_ms / 20; i++) {
		FILE *fp = fopen(path, "r");
		size_t n = 0;

		if (fp != NULL) {
			n = fread(buf, 1, sizeof(buf) - 1, fp);
			fclose(fp);
		}
		buf[n] = '\0';
		if (strstr(buf, needle) != NULL)
			return 1;
		harness_sleep_ms(20);
	}
	return 0;
}

int
harness_http_get(struct vixd_proc *p, const char *path, char *buf, size_t len)
{
	char log[16384], addr[64], req[256];
	const char *at;
	size_t n = 0;
	ssize_t got;
	int fd;

	harness_log(p, log, sizeof(log));
	at = strstr(log, "admin HTTP (metrics, health) on ");
	cr_assert_not_null(at, "no admin address in the log");
	cr_assert_eq(sscanf(at, "admin HTTP (metrics, health) on %63s", addr),
	    1);
	fd = tcp_connect(addr);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n",
	    path);
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (n < len - 1 && (got = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)got;
	buf[n] = '\0';
	close(fd);
	return strncmp(buf, "HTTP/1.", 7) == 0 ? atoi(buf + 9) : -1;
}

SSL *
harness_connect_as(struct vixd_proc *p, const char *name)
{
	char cert[PATH_MAX], key[PATH_MAX], file[64], why[256];
	SSL *ssl;

	snprintf(file, sizeof(file), "%s.pem", name);
	harness_dev_file(p, file, cert, sizeof(cert));
	snprintf(file, sizeof(file), "%s.key", name);
	harness_dev_file(p, file, key, sizeof(key));
	ssl = harness_tls_connect(p, cert, key, why, sizeof(why));
	cr_assert_not_null(ssl, "handshake as %s: %s", name, why);
	return ssl;
}

#define FAKETIME_LIB	"/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

void
harness_restart_faketime(struct vixd_proc *p, const char *offset,
    const char *const *extra)
{
	const char *asan = getenv("ASAN_OPTIONS");
	char *saved = asan ? strdup(asan) : NULL, opts[512];

	cr_assert_eq(access(FAKETIME_LIB, R_OK), 0, "libfaketime is needed "
	    "(Debian package libfaketime; ./scripts/test installs it)");
	/* Under AddressSanitizer a preloaded library must be allowed. */
	snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0",
	    asan ? asan : "", asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	setenv("LD_PRELOAD", FAKETIME_LIB, 1);
	setenv("FAKETIME", offset, 1);
	harness_restart_with(p, extra);
	unsetenv("LD_PRELOAD");
	unsetenv("FAKETIME");
	if (saved != NULL)
		setenv("ASAN_OPTIONS", saved, 1);
	else
		unsetenv("ASAN_OPTIONS");
	free(saved);
}

long long
harness_metric(struct vixd_proc *p, const char *series)
{
	static char page[1 << 18];
	char needle[256];
	const char *at;

	cr_assert_eq(harness_http_get(p, "/metrics", page, sizeof(page)), 200);
	snprintf(needle, sizeof(needle), "\n%s ", series);
	if ((at = strstr(page, needle)) == NULL)
		return -1;
	return strtoll(at + strlen(needle), NULL, 10);
}

void
harness_reload(struct vixd_proc *p)
{
	static char log[1 << 18];
	int done, failed;

	harness_log(p, log, sizeof(log));
	done = harness_count(log, "TLS material re-read");
	failed = harness_count(log, "reload failed");
	kill(p->pid, SIGHUP);
	for (int i = 0; i < 1000; i++) {
		harness_log(p, log, sizeof(log));
		cr_assert_eq(harness_count(log, "reload failed"), failed,
		    "the reload failed: %s", log);
		if (harness_count(log, "TLS material re-read") > done)
			return;
		harness_sleep_ms(10);
	}
	cr_assert_fail("no reload within 10 s: %s", log);
}

void
harness_edit_file(const char *path, const char *from, const char *to)
{
	char buf[65536], *at;
	size_t n;
	FILE *fp;

	cr_assert_not_null(fp = fopen(path, "r"), "%s: %s", path,
	    strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	cr_assert_not_null(at = strstr(buf, from), "%s has no '%s'", path,
	    from);
	cr_assert_not_null(fp = fopen(path, "w"));
	fprintf(fp, "%.*s%s%s", (int)(at - buf), buf, to, at + strlen(from));
	cr_assert_eq(fclose(fp), 0);
}

void
harness_write_crl(struct vixd_proc *p, const char *path, const char *revoked)
{
	harness_write_crl_until(p, path, revoked, 7);
}

void
harness_write_crl_until(struct vixd_proc *p, const char *path,
    const char *revoked, int next_days)
{
	char file[PATH_MAX];
	X509 *ca = read_pem(harness_dev_file(p, "ca.pem", file, sizeof(file)),
	    0);
	EVP_PKEY *key = read_pem(harness_dev_file(p, "ca.key", file,
	    sizeof(file)), 1);
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *now = ASN1_TIME_adj(NULL, time(NULL),
	    next_days < 0 ? next_days - 1 : 0, -60);
	ASN1_TIME *next = ASN1_TIME_adj(NULL, time(NULL), next_days, 0);
	FILE *fp;

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
	X509_CRL_set1_lastUpdate(crl, now);
	X509_CRL_set1_nextUpdate(crl, next);
	if (revoked != NULL) {
		char name[64];
		X509 *victim;
		X509_REVOKED *r = X509_REVOKED_new();

		snprintf(name, sizeof(name), "%s.pem", revoked);
		victim = read_pem(harness_dev_file(p, name, file,
		    sizeof(file)), 0);
		X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(victim));
		X509_REVOKED_set_revocationDate(r, now);
		X509_CRL_add0_revoked(crl, r);
		X509_free(victim);
	}
	X509_CRL_sort(crl);
	cr_assert(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	cr_assert_not_null(fp = fopen(path, "w"), "%s: %s", path,
	    strerror(errno));
	PEM_write_X509_CRL(fp, crl);
	cr_assert_eq(fclose(fp), 0);
	X509_CRL_free(crl);
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	X509_free(ca);
	EVP_PKEY_free(key);
}

int
harness_listen_loopback(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	*port = ntohs(sin.sin_port);
	return fd;
}

SSL_CTX *
harness_partner_ctx(struct vixd_proc *p)
{
	char path[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *ca_key, *k = devcert_key();
	X509 *ca, *leaf;

	ca = read_pem(harness_dev_file(p, "ca.pem", path, sizeof(path)), 0);
	ca_key = read_pem(harness_dev_file(p, "ca.key", path, sizeof(path)), 1);
	leaf = devcert_leaf(k, "partner listener", NULL, DEVCERT_LISTEN, ca, ca_key, 30);
	snprintf(cert, sizeof(cert), "%s/partner.srv.pem", p->dir);
	snprintf(key, sizeof(key), "%s/partner.srv.key", p->dir);
	cr_assert_eq(devcert_write_cert(cert, leaf), 0);
	cr_assert_eq(devcert_write_key(key, k), 0);
	cr_assert_eq(SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
	cr_assert_eq(SSL_CTX_load_verify_locations(ctx,
	    harness_dev_file(p, "ca.pem", path, sizeof(path)), NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(k);
	return ctx;
}

SSL *
harness_accept_vixd(int lfd, SSL_CTX *ctx, int timeout_ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	struct timeval tv = { 10, 0 };
	char cn[64] = "";
	SSL *ssl;
	int fd;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return NULL;
	cr_assert_geq(fd = accept(lfd, NULL, NULL), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	cr_assert_eq(SSL_accept(ssl), 1, "TLS with vixd failed: %s",
	    ERR_reason_error_string(ERR_peek_last_error()));
	X509_NAME_get_text_by_NID(X509_get_subject_name(
	    SSL_get0_peer_certificate(ssl)), NID_commonName, cn, sizeof(cn));
	cr_assert_str_eq(cn, "server", "vixd presents its own certificate");
	return ssl;
}

Vix__V1__ServerMessage *
harness_next_response(SSL *ssl, const char *what)
{
	Vix__V1__ServerMessage *m;
	int end;

	for (;;) {
		m = harness_recv(ssl, &end);
		cr_assert_not_null(m, "%s: the connection ended (%s) before the "
		    "answer", what ? what : "request",
		    end == 0 ? "close_notify" : "error");
		if (m->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE)
			return m;
		vix__v1__server_message__free_unpacked(m, NULL);
	}
}

long
harness_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(fp);
	return kib;
}

/* The day number of the last Sunday of month m (31 days) of year y. */
static int32_t
nl_last_sunday(int y, unsigned m)
{
	int32_t d = rules_days_from_civil(y, m, 31);

	return d - (d + 4) % 7;		/* 1970-01-01 was a Thursday */
}

/* Seconds the Netherlands are ahead of UTC at t (the EU rule). */
static int64_t
nl_offset(int64_t t)
{
	int y;
	unsigned m, d;

	rules_civil_from_days((int32_t)(t / 86400), &y, &m, &d);
	if (t >= (int64_t)nl_last_sunday(y, 3) * 86400 + 3600 &&
	    t < (int64_t)nl_last_sunday(y, 10) * 86400 + 3600)
		return 7200;
	return 3600;
}

int32_t
harness_nl_day(int64_t t)
{
	return (int32_t)((t + nl_offset(t)) / 86400);
}

int64_t
harness_nl_midnight(int32_t day)
{
	/* Clocks change at 01:00 UTC, never near a Dutch midnight. */
	return (int64_t)day * 86400 - nl_offset((int64_t)day * 86400 - 7200);
}

const char *
harness_date(int32_t day, char *buf, size_t len)
{
	int y;
	unsigned m, d;

	rules_civil_from_days(day, &y, &m, &d);
	snprintf(buf, len, "%04d-%02u-%02u", y, m, d);
	return buf;
}

int32_t
harness_years_before(int32_t day, int years)
{
	int y;
	unsigned m, d;

	rules_civil_from_days(day, &y, &m, &d);
	if (m == 2 && d == 29)
		d = 28;
	return rules_days_from_civil(y - years, m, d);
}
