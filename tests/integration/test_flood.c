/*
 * Flood: 2,000 connection attempts (plain TCP connects closed at once or
 * reset, TLS handshakes abandoned half way or left hanging, completed
 * mutual-TLS connections) and 100,000 garbage frames from many
 * authenticated connections at once (random bytes, lengths above max_frame,
 * broken varints, valid frames of garbage protobuf), while a legitimate
 * organisation keeps being served: a ping every 100 ms on its own
 * connection, and the vix CLI (ping, register) all along. Every one of
 * those must succeed. Afterwards vixd holds only the legitimate connection
 * and its memory is back near where it was before the flood.
 *
 * vixd runs with its defaults (max_connections 10000, handshake_timeout
 * 10 s) but for max_handshakes_per_address, raised to max_handshakes: the
 * flood and the legitimate clients all come from 127.0.0.1, and the flood
 * holds more than the default 128 handshakes of one address at its peak,
 * which the default would rightly refuse (it-hostile tests that cap). At
 * most about 100 flood connections are open at once.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/err.h>

#include "frame.h"
#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define FLOOD_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLOOD_ASAN	1
#endif
#endif
#ifndef FLOOD_ASAN
#define FLOOD_ASAN	0
#endif

#define CONN_ATTEMPTS	2000
#define GARBAGE_FRAMES	100000
#define CONN_THREADS	16
#define GARBAGE_THREADS	16
#define PARK_PER_THREAD	4	/* half handshakes left hanging, per thread */
#define IO_TIMEOUT_S	20

/* The flood organisations; org-a is the legitimate one. */
static const char *const flooders[] = { "org-b", "partner", "admin" };
#define N_FLOODERS	(sizeof(flooders) / sizeof(flooders[0]))

static struct vixd_proc vixd;

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(flood, .fini = stop, .timeout = 240);

struct target {
	struct sockaddr_in	 addr;
	SSL_CTX			*legit;			/* org-a */
	SSL_CTX			*flood[N_FLOODERS];
};

/* xorshift64*: each thread its own, seeded by its index. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* ---- sockets and TLS, without assertions (they run in threads) ---- */

static int
tcp_open(const struct target *t)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&t->addr,
	    sizeof(t->addr)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static SSL *
tls_open(const struct target *t, SSL_CTX *ctx)
{
	int fd = tcp_open(t);
	SSL *ssl;

	if (fd == -1)
		return NULL;
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		close(fd);
		ERR_clear_error();
		return NULL;
	}
	return ssl;
}

static void
tls_close(SSL *ssl, int clean)
{
	int fd = SSL_get_fd(ssl);

	if (clean)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	ERR_clear_error();
}

static int
tls_send(SSL *ssl, const void *buf, size_t len)
{
	return SSL_write(ssl, buf, (int)len) == (int)len ? 0 : -1;
}

static int
tls_read_exact(SSL *ssl, uint8_t *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		int n = SSL_read(ssl, buf + got, (int)(len - got));

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Read messages until the response to id; 0 if its status is OK. */
static int
tls_await(SSL *ssl, uint64_t id)
{
	for (;;) {
		uint8_t hdr[FRAME_HEADER_MAX], body[65536];
		size_t have = 0, hlen, blen;
		enum frame_result r = FRAME_NEED_MORE;
		Vix__V1__ServerMessage *m;
		int ok = -1, mine = 0;

		while (r == FRAME_NEED_MORE && have < sizeof(hdr)) {
			if (tls_read_exact(ssl, hdr + have, 1) == -1)
				return -1;
			r = frame_decode_header(hdr, ++have, sizeof(body),
			    &hlen, &blen);
		}
		if (r != FRAME_OK || tls_read_exact(ssl, body, blen) == -1 ||
		    (m = vix__v1__server_message__unpack(NULL, blen, body))
		    == NULL)
			return -1;
		if (m->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE &&
		    m->response->id == id) {
			mine = 1;
			ok = m->response->status == NULL ||
			    m->response->status->code == 0 ? 0 : -1;
		}
		vix__v1__server_message__free_unpacked(m, NULL);
		if (mine)
			return ok;
	}
}

static int
tls_ping(SSL *ssl, uint64_t id)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ping ping = VIX__V1__PING__INIT;
	uint8_t buf[64];

	req.id = id;
	req.body_case = VIX__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	if (tls_send(ssl, buf, frame_pack(&req.base, buf)) == -1)
		return -1;
	return tls_await(ssl, id);
}

/* What a garbage connection got back: whole messages counted. */
struct inbox {
	uint8_t	 buf[65536];
	size_t	 len;
	long	 messages;
};

/* One read (waiting for it if wait); -1 once the peer is gone. */
static int
inbox_read(SSL *ssl, struct inbox *in, int wait)
{
	struct pollfd p = { .fd = SSL_get_fd(ssl), .events = POLLIN };
	size_t hlen, blen;
	int n;

	if (!wait && SSL_pending(ssl) == 0 && poll(&p, 1, 0) <= 0)
		return 0;
	if ((n = SSL_read(ssl, in->buf + in->len, (int)(sizeof(in->buf) -
	    in->len))) <= 0)
		return -1;
	in->len += (size_t)n;
	while (frame_decode_header(in->buf, in->len, sizeof(in->buf) / 2,
	    &hlen, &blen) == FRAME_OK && in->len >= hlen + blen) {
		memmove(in->buf, in->buf + hlen + blen, in->len - hlen - blen);
		in->len -= hlen + blen;
		in->messages++;
	}
	return in->len < sizeof(in->buf) ? 0 : -1;
}

/* ---- the legitimate organisation ---- */

struct legit {
	const struct target	*t;
	atomic_int		 stop;
	atomic_int		 ok;		/* successes so far */
	int			 failures;
	long			 worst_ms;
	char			 first_failure[512];
};

static void
legit_failed(struct legit *l, const char *why)
{
	if (l->failures++ == 0)
		snprintf(l->first_failure, sizeof(l->first_failure), "%s", why);
}

/* A ping every 100 ms on one connection held open all along. */
static void *
legit_pings(void *arg)
{
	struct legit *l = arg;
	SSL *ssl = tls_open(l->t, l->t->legit);
	uint64_t id = 0;

	if (ssl == NULL) {
		legit_failed(l, "cannot connect as org-a");
		return NULL;
	}
	while (!atomic_load(&l->stop)) {
		long t0 = harness_now_ms(), took;

		if (tls_ping(ssl, ++id) == -1) {
			legit_failed(l, "a ping on the held connection failed");
			break;	/* the connection is what is being tested */
		}
		atomic_fetch_add(&l->ok, 1);
		if ((took = harness_now_ms() - t0) > l->worst_ms)
			l->worst_ms = took;
		if (took < 100)
			harness_sleep_ms(100 - took);
	}
	tls_close(ssl, 1);
	return NULL;
}

/* Run `vix --dev org-a ... args`; its stderr into err. */
static int
run_vix(const char *const *args, char *err, size_t errlen)
{
	const char *argv[24] = { getenv("VIX"), "--dev-dir", vixd.dev_dir,
	    "--dev", "org-a", "--server", vixd.addr };
	char errpath[] = "/tmp/vix-flood-err-XXXXXX";
	posix_spawn_file_actions_t fa;
	extern char **environ;
	size_t n = 7;
	int fd = mkstemp(errpath), status = -1;
	pid_t pid;

	for (; *args != NULL && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fd, 2);
	if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv,
	    environ) == 0)
		waitpid(pid, &status, 0);
	posix_spawn_file_actions_destroy(&fa);
	err[pread(fd, err, errlen - 1, 0) > 0 ? strcspn(err, "\n") : 0] = '\0';
	close(fd);
	unlink(errpath);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* vix ping and vix register, one after the other, all along. */
static void *
legit_cli(void *arg)
{
	static const char *const bsns[] = { "999990007", "999990019",
	    "999990020" };
	struct legit *l = arg;
	char err[300], why[400];

	for (unsigned i = 0; !atomic_load(&l->stop); i++) {
		long t0 = harness_now_ms(), took;
		const char *const ping[] = { "ping", NULL };
		const char *const reg[] = { "register", "--bsn", bsns[i % 3],
		    "--birth-date", "2015-03-01", "--contact-name", "Flood Test",
		    "--contact-phone", "0501234567", NULL };

		if (run_vix(i % 2 ? reg : ping, err, sizeof(err)) == -1) {
			snprintf(why, sizeof(why), "vix %s: %s", i % 2 ?
			    "register" : "ping", err);
			legit_failed(l, why);
		} else
			atomic_fetch_add(&l->ok, 1);
		if ((took = harness_now_ms() - t0) > l->worst_ms)
			l->worst_ms = took;
		harness_sleep_ms(100);
	}
	return NULL;
}

/* ---- 2,000 connection attempts ---- */

struct connflood {
	const struct target	*t;
	SSL_CTX			*hello;		/* makes ClientHellos */
	int			 index, attempts;
	int			 tcp, half, full;	/* by kind */
	int			 connect_failures, full_failures;
	int			 parked[PARK_PER_THREAD], nparked;
};

/* A TCP connection closed at once; every other one reset (linger 0). */
static void
flood_tcp(struct connflood *c, uint64_t r)
{
	struct linger lin = { 1, 0 };
	int fd = tcp_open(c->t);

	if (fd == -1) {
		c->connect_failures++;
		return;
	}
	if (r & 1)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
	close(fd);
	c->tcp++;
}

/*
 * A handshake abandoned: half a ClientHello, a whole one, a whole one and
 * the server's answer read; or left hanging (parked) until the flood ends.
 */
static void
flood_half(struct connflood *c, uint64_t r)
{
	SSL *ssl = SSL_new(c->hello);
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	char *hello, buf[16384];
	long len;
	int fd = tcp_open(c->t), how = (int)(r % 4);

	SSL_set_bio(ssl, rb, wb);
	SSL_connect(ssl);		/* wants to read; the hello is in wb */
	len = BIO_get_mem_data(wb, &hello);
	if (fd == -1) {
		c->connect_failures++;
		SSL_free(ssl);
		return;
	}
	c->half++;
	send(fd, hello, how == 0 ? (size_t)len / 2 : (size_t)len,
	    MSG_NOSIGNAL);
	if (how == 2)
		recv(fd, buf, sizeof(buf), 0);
	if (how == 3 && c->nparked < PARK_PER_THREAD)
		c->parked[c->nparked++] = fd;
	else
		close(fd);
	SSL_free(ssl);
	ERR_clear_error();
}

/* A completed mutual-TLS connection: closed cleanly, cut, or used once. */
static void
flood_full(struct connflood *c, uint64_t r)
{
	SSL *ssl = tls_open(c->t, c->t->flood[r % N_FLOODERS]);
	int how = (int)((r >> 8) % 3);

	if (ssl == NULL) {
		c->full_failures++;
		return;
	}
	c->full++;
	if (how == 2 && tls_ping(ssl, 1) == -1)
		c->full_failures++;
	tls_close(ssl, how != 1);
}

static void *
connflood_run(void *arg)
{
	struct connflood *c = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(c->index + 1);

	for (int i = 0; i < c->attempts; i++) {
		uint64_t r = rnd(&seed);

		switch (i % 10) {
		case 0: case 1: case 2: case 3:
			flood_tcp(c, r);
			break;
		case 4: case 5: case 6:
			flood_half(c, r);
			break;
		default:
			flood_full(c, r);
			break;
		}
	}
	for (int i = 0; i < c->nparked; i++)
		close(c->parked[i]);
	return NULL;
}

/* ---- 100,000 garbage frames ---- */

struct garbage {
	const struct target	*t;
	int			 index, reads;	/* reads: waits for answers */
	long			 quota, frames, answered, unanswered;
	int			 conns, connect_failures, cut_short;
	int			 kills, kills_survived;	/* ends vixd must close */
};

/*
 * One frame of garbage protobuf with a valid length prefix: random bytes,
 * an invalid wire type, a field longer than the message, a known field
 * with the wrong wire type, or a Request whose body is random bytes.
 */
static size_t
garbage_frame(uint8_t *out, uint64_t *seed)
{
	uint8_t body[512];
	size_t n = 1 + rnd(seed) % 300, h;

	for (size_t i = 0; i < n; i++)
		body[i] = (uint8_t)rnd(seed);
	switch (rnd(seed) % 5) {
	case 1:
		body[0] = 0x0f;			/* field 1, wire type 7 */
		break;
	case 2:
		body[0] = 0x12;			/* field 2, length-delimited */
		body[1] = 0x7f;			/* ... past the end */
		n = n < 3 ? 3 : n > 100 ? 100 : n;
		break;
	case 3:
		body[0] = 0x50;			/* field 10 (ping) as a varint */
		body[1] = 0x01;
		n = 2;
		break;
	case 4:
		body[0] = 0x08;			/* id = 1, then a Register */
		body[1] = 0x01;			/* (field 11) of random bytes */
		body[2] = 0x5a;
		n = n < 4 ? 4 : n > 130 ? 130 : n;
		body[3] = (uint8_t)(n - 4);
		break;
	}
	h = frame_encode_header(out, (uint32_t)n);
	memcpy(out + h, body, n);
	return h + n;
}

/*
 * What ends a connection: a length above max_frame, a varint above 32
 * bits, a varint too long (vixd must close the connection on each of
 * those), a run of random bytes, or a clean goodbye.
 */
static size_t
garbage_end(uint8_t *out, uint64_t *seed, int *kind)
{
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	static const uint8_t overlong[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x01 };
	size_t n;

	switch ((*kind = (int)(rnd(seed) % 5))) {
	case 0:
		return frame_encode_header(out, FRAME_DEFAULT_MAX + 1 +
		    (uint32_t)(rnd(seed) % 1000000));
	case 1:
		memcpy(out, huge, sizeof(huge));
		return sizeof(huge);
	case 2:
		memcpy(out, overlong, sizeof(overlong));
		return sizeof(overlong);
	case 3:
		n = 64 + rnd(seed) % 2000;
		for (size_t i = 0; i < n; i++)
			out[i] = (uint8_t)rnd(seed);
		return n;
	}
	return 0;
}

/* Send n garbage frames in batches, reading what comes back meanwhile. */
static int
garbage_send(struct garbage *g, SSL *ssl, long n, uint64_t *seed,
    struct inbox *in)
{
	uint8_t buf[32 * 512];
	size_t len = 0;

	for (long i = 0; i < n; i++) {
		len += garbage_frame(buf + len, seed);
		if (len > sizeof(buf) - 512 || i == n - 1) {
			if (tls_send(ssl, buf, len) == -1 ||
			    (g->reads && inbox_read(ssl, in, 0) == -1))
				return -1;
			len = 0;
		}
		g->frames++;
	}
	return 0;
}

/*
 * One authenticated connection: n garbage frames, every one answered
 * (when this one reads), then its end. A reading connection checks that
 * vixd closes it after a fatal frame.
 */
static void
garbage_conn(struct garbage *g, SSL *ssl, long n, uint64_t *seed)
{
	static __thread struct inbox in;
	uint8_t end[4096];
	size_t len;
	int kind;

	in.len = 0;
	in.messages = 0;
	if (garbage_send(g, ssl, n, seed, &in) == -1) {
		g->cut_short++;
		return;
	}
	while (g->reads && in.messages < n)
		if (inbox_read(ssl, &in, 1) == -1)
			break;
	if (g->reads) {
		g->answered += in.messages;
		g->unanswered += n - in.messages;
	}
	if ((len = garbage_end(end, seed, &kind)) > 0 &&
	    tls_send(ssl, end, len) == 0)
		g->frames++;
	if (!g->reads || kind > 2)
		return;
	g->kills++;
	errno = 0;
	while (inbox_read(ssl, &in, 1) == 0)
		;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		g->kills_survived++;	/* SO_RCVTIMEO passed: still open */
}

static void *
garbage_run(void *arg)
{
	struct garbage *g = arg;
	uint64_t seed = 0xd1b54a32d192ed03ULL * (uint64_t)(g->index + 1);

	while (g->frames < g->quota) {
		SSL *ssl = tls_open(g->t, g->t->flood[(unsigned)g->conns %
		    N_FLOODERS]);
		long n = 200 + (long)(rnd(&seed) % 600);

		g->conns++;
		if (ssl == NULL) {
			if (++g->connect_failures > 10)
				break;
			continue;
		}
		if (n > g->quota - g->frames)
			n = g->quota - g->frames;
		garbage_conn(g, ssl, n, &seed);
		tls_close(ssl, rnd(&seed) % 2);
	}
	return NULL;
}

/* ---- vixd seen from outside ---- */

struct sampler {
	pid_t		 pid;
	atomic_int	 stop;
	long		 peak;
};

static void *
sampler_run(void *arg)
{
	struct sampler *s = arg;

	while (!atomic_load(&s->stop)) {
		long kib = harness_rss_kib(s->pid);

		if (kib > s->peak)
			s->peak = kib;
		harness_sleep_ms(20);
	}
	return NULL;
}

/* vix_connections_open from /metrics. */
static long
connections_open(void)
{
	static char buf[1 << 20];
	const char *at;

	cr_assert_eq(harness_http_get(&vixd, "/metrics", buf, sizeof(buf)),
	    200);
	at = strstr(buf, "\nvix_connections_open ");
	cr_assert_not_null(at, "no vix_connections_open in /metrics");
	return atol(at + strlen("\nvix_connections_open "));
}

/* Wait (at most limit_ms) for vixd to hold exactly n connections. */
static long
await_connections(long n, int limit_ms)
{
	long open = -1;

	for (long t0 = harness_now_ms(); harness_now_ms() - t0 < limit_ms; harness_sleep_ms(100))
		if ((open = connections_open()) == n)
			break;
	return open;
}

static SSL_CTX *
org_ctx(const char *org)
{
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], file[64];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	cr_assert_not_null(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	cr_assert_eq(SSL_CTX_load_verify_locations(ctx, harness_dev_file(&vixd,
	    "ca.pem", ca, sizeof(ca)), NULL), 1);
	if (org != NULL) {
		snprintf(file, sizeof(file), "%s.pem", org);
		harness_dev_file(&vixd, file, cert, sizeof(cert));
		snprintf(file, sizeof(file), "%s.key", org);
		harness_dev_file(&vixd, file, key, sizeof(key));
		cr_assert_eq(SSL_CTX_use_certificate_chain_file(ctx, cert), 1);
		cr_assert_eq(SSL_CTX_use_PrivateKey_file(ctx, key,
		    SSL_FILETYPE_PEM), 1);
	}
	return ctx;
}

static void
target_init(struct target *t)
{
	char host[64];
	unsigned port;

	memset(t, 0, sizeof(*t));
	cr_assert_eq(sscanf(vixd.addr, "%63[^:]:%u", host, &port), 2);
	t->addr.sin_family = AF_INET;
	t->addr.sin_port = htons((uint16_t)port);
	cr_assert_eq(inet_pton(AF_INET, host, &t->addr.sin_addr), 1);
	t->legit = org_ctx("org-a");
	for (size_t i = 0; i < N_FLOODERS; i++)
		t->flood[i] = org_ctx(flooders[i]);
}

static void
target_free(struct target *t)
{
	SSL_CTX_free(t->legit);
	for (size_t i = 0; i < N_FLOODERS; i++)
		SSL_CTX_free(t->flood[i]);
}

struct totals {
	int	tcp, half, full, connect_failures, full_failures;
	long	frames, answered, unanswered;
	int	garbage_conns, garbage_failures, cut_short, kills,
		kills_survived;
};

/* Both floods at once; sums into tot. */
static void
flood(const struct target *t, struct totals *tot)
{
	struct connflood cf[CONN_THREADS];
	struct garbage gf[GARBAGE_THREADS];
	pthread_t ct[CONN_THREADS], gt[GARBAGE_THREADS];
	SSL_CTX *hello = org_ctx(NULL);

	memset(tot, 0, sizeof(*tot));
	for (int i = 0; i < CONN_THREADS; i++) {
		cf[i] = (struct connflood){ .t = t, .hello = hello, .index = i,
		    .attempts = CONN_ATTEMPTS / CONN_THREADS };
		cr_assert_eq(pthread_create(&ct[i], NULL, connflood_run,
		    &cf[i]), 0);
	}
	for (int i = 0; i < GARBAGE_THREADS; i++) {
		gf[i] = (struct garbage){ .t = t, .index = i, .reads = i % 4 != 0,
		    .quota = GARBAGE_FRAMES / GARBAGE_THREADS };
		cr_assert_eq(pthread_create(&gt[i], NULL, garbage_run,
		    &gf[i]), 0);
	}
	for (int i = 0; i < CONN_THREADS; i++) {
		pthread_join(ct[i], NULL);
		tot->tcp += cf[i].tcp;
		tot->half += cf[i].half;
		tot->full += cf[i].full;
		tot->connect_failures += cf[i].connect_failures;
		tot->full_failures += cf[i].full_failures;
	}
	for (int i = 0; i < GARBAGE_THREADS; i++) {
		pthread_join(gt[i], NULL);
		tot->frames += gf[i].frames;
		tot->answered += gf[i].answered;
		tot->unanswered += gf[i].unanswered;
		tot->kills += gf[i].kills;
		tot->kills_survived += gf[i].kills_survived;
		tot->garbage_conns += gf[i].conns;
		tot->garbage_failures += gf[i].connect_failures;
		tot->cut_short += gf[i].cut_short;
	}
	SSL_CTX_free(hello);
}

/* ---- the test ---- */

/*
 * Memory: VmRSS quiet (after a few legitimate requests), after a first
 * flood that only warms up, and after the flood measured, the same again.
 * glibc keeps memory freed by the first flood in its arenas for reuse, so
 * RSS rises to a working size and stays there (measured here: +3 to
 * +10 MiB, which malloc_trim(0) hands back); a leak of about 1 KiB per
 * connection or 20 bytes per frame would push the second flood's RSS
 * above LEAK_SLACK_KIB.
 */
#define LEAK_SLACK_KIB		2048
#define WORKING_SLACK_KIB	32768

/* Wait for the flood's connections to go; then vixd's RSS. */
static long
settled_rss(long conns)
{
	long open = await_connections(conns, 20000);

	cr_assert_eq(open, conns, "vixd holds %ld connections, expected %ld",
	    open, conns);
	harness_sleep_ms(1000);
	return harness_rss_kib(vixd.pid);
}

Test(flood, connections_and_garbage_while_clients_are_served)
{
	struct target t;
	struct legit pings = { .t = &t }, cli = { .t = &t };
	struct sampler smp;
	struct totals warm, tot;
	pthread_t pt, lt, st;
	long t0, took, quiet, base, after;
	char log[16384], err[300], conf[PATH_MAX];
	FILE *fp;

	signal(SIGPIPE, SIG_IGN);
	harness_start(&vixd, NULL);
	snprintf(conf, sizeof(conf), "%s/flood.conf", vixd.dir);
	cr_assert_not_null(fp = fopen(conf, "w"));
	fputs("[server]\nmax_handshakes_per_address = 1024\n", fp);
	fclose(fp);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	target_init(&t);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(run_vix((const char *[]){ "ping", NULL }, err,
		    sizeof(err)), 0, "%s", err);
	quiet = settled_rss(0);

	cr_assert_eq(pthread_create(&pt, NULL, legit_pings, &pings), 0);
	cr_assert_eq(pthread_create(&lt, NULL, legit_cli, &cli), 0);
	smp = (struct sampler){ .pid = vixd.pid, .peak = quiet };
	cr_assert_eq(pthread_create(&st, NULL, sampler_run, &smp), 0);
	while (atomic_load(&pings.ok) == 0 && pings.failures == 0)
		harness_sleep_ms(10);
	flood(&t, &warm);
	base = settled_rss(1);	/* the pinging connection (and a vix run) */

	t0 = harness_now_ms();
	flood(&t, &tot);
	took = harness_now_ms() - t0;
	atomic_store(&cli.stop, 1);
	pthread_join(lt, NULL);
	after = settled_rss(1);	/* the pinging connection */
	atomic_store(&pings.stop, 1);
	pthread_join(pt, NULL);
	atomic_store(&smp.stop, 1);
	pthread_join(st, NULL);
	target_free(&t);

	cr_log_info("flood: %d TCP, %d half handshakes, %d mutual TLS; "
	    "%ld garbage frames over %d connections, %ld of them answered as "
	    "they were sent, %d fatal frames; %ld ms", tot.tcp, tot.half,
	    tot.full, tot.frames, tot.garbage_conns, tot.answered, tot.kills,
	    took);
	cr_log_info("legitimate: %d pings (worst %ld ms), %d vix runs "
	    "(worst %ld ms)", atomic_load(&pings.ok), pings.worst_ms,
	    atomic_load(&cli.ok), cli.worst_ms);
	cr_log_info("vixd VmRSS: %ld KiB quiet, %ld KiB after the warm-up "
	    "flood, %ld KiB peak, %ld KiB after the flood%s", quiet, base,
	    smp.peak, after, FLOOD_ASAN ? " (AddressSanitizer: not judged)" :
	    "");

	cr_assert_eq(pings.failures, 0, "legitimate pings failed: %s",
	    pings.first_failure);
	cr_assert_eq(cli.failures, 0, "%d vix runs failed, first: %s",
	    cli.failures, cli.first_failure);
	cr_assert_geq(atomic_load(&pings.ok), took / 100 / 2, "too few pings "
	    "answered: %d in %ld ms", atomic_load(&pings.ok), took);
	cr_assert_gt(atomic_load(&cli.ok), 2);
	cr_assert_eq(tot.connect_failures, 0, "TCP connects refused");
	cr_assert_eq(tot.full_failures, 0, "mutual-TLS connections failed");
	cr_assert_eq(tot.tcp + tot.half + tot.full, CONN_ATTEMPTS);
	cr_assert_eq(tot.garbage_failures, 0, "garbage connections refused");
	cr_assert_eq(tot.cut_short, 0, "vixd closed %d connections in the "
	    "middle of garbage it should answer", tot.cut_short);
	cr_assert_geq(tot.frames, GARBAGE_FRAMES);
	cr_assert_eq(tot.unanswered, 0, "%ld garbage frames got no answer",
	    tot.unanswered);
	cr_assert_geq(tot.answered, GARBAGE_FRAMES / 2);
	cr_assert_eq(tot.kills_survived, 0, "%d of %d connections stayed open "
	    "after a fatal frame", tot.kills_survived, tot.kills);
	cr_assert_eq(await_connections(0, 5000), 0);
	cr_assert_eq(harness_metric(&vixd, "vix_handshakes_pending"), 0,
	    "handshakes still counted with no connection open");
	/*
	 * Under AddressSanitizer freed memory waits in a quarantine and
	 * allocations carry redzones: RSS says nothing about leaks there
	 * (LeakSanitizer in vixd does, at exit).
	 */
	if (!FLOOD_ASAN) {
		cr_assert_leq(after, base + LEAK_SLACK_KIB, "vixd kept memory: "
		    "%ld KiB before the flood, %ld KiB after", base, after);
		cr_assert_leq(after, quiet + WORKING_SLACK_KIB, "vixd grew "
		    "from %ld KiB to %ld KiB", quiet, after);
	}
	cr_assert_eq(harness_stop_keep(&vixd), 0, "vixd did not stop cleanly; "
	    "its log:\n%s", harness_log(&vixd, log, sizeof(log)));
}
