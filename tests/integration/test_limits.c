/*
 * Limits and faults against the real daemon: max_connections refuses the
 * surplus of authenticated connections quickly and keeps serving; a client silent in the handshake is
 * cut after handshake_timeout, a silent connection after idle_timeout; a
 * frame over max_frame is refused; a pipelining client is slowed down at
 * max_inflight without losing anything; an organisation over rate_limit is
 * refused with a retry hint, others are not; a damaged data file is refused
 * at start, with a clear message, and left exactly as it was.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/crypto.h>

#include "frame.h"
#include "harness.h"

#define OK		VIX__V1__STATUS__CODE__OK
#define EXHAUSTED	VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED

static struct vixd_proc vixd;

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(limits, .fini = stop, .timeout = 120);

/* VmRSS of vixd in KiB. */
static long
rss(void)
{
	long kib = harness_rss_kib(vixd.pid);

	cr_assert_gt(kib, 0, "cannot read vixd's VmRSS");
	return kib;
}

static const char *
write_conf(const char *name, const char *text)
{
	static char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", vixd.dir, name);
	cr_assert_not_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	return path;
}

static int
tcp_to(const char *addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char host[64];
	unsigned port;
	int fd;

	cr_assert_eq(sscanf(addr, "%63[^:]:%u", host, &port), 2);
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Milliseconds until the peer closes fd (reads and discards), or -1. */
static long
ms_until_closed(int fd, int limit_ms)
{
	struct timeval tv = { limit_ms / 1000, (limit_ms % 1000) * 1000 };
	struct timespec a, b;
	char buf[256];
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	clock_gettime(CLOCK_MONOTONIC, &a);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (n < 0)
		return -1;	/* still open when the limit passed */
	return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

/*
 * max_connections counts organisations that finished their handshake
 * (silent sockets are handshakes, under max_handshakes: see it-hostile).
 */
Test(limits, max_connections_refuses_the_surplus_and_keeps_serving)
{
	struct run_result r;
	SSL *held[2];
	long ms;

	harness_start(&vixd, NULL);
	harness_restart_with(&vixd, (const char *[]){ "-c", write_conf(
	    "max.conf", "[server]\nmax_connections = 2\n"), NULL });
	held[0] = harness_connect_as(&vixd, "org-a");
	held[1] = harness_connect_as(&vixd, "org-b");
	usleep(200000);
	ms = ms_until_closed(tcp_to(vixd.addr), 3000);
	cr_assert_geq(ms, 0, "the third connection was not refused");
	cr_assert_lt(ms, 1000, "refused quickly, took %ld ms", ms);
	cr_assert_eq(harness_metric(&vixd, "vix_connections_refused_total"
	    "{reason=\"max_connections\"}"), 1);
	harness_tls_close(held[0]);
	harness_tls_close(held[1]);
	usleep(300000);
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "ping", NULL });
	cr_assert_eq(r.status, 0, "served again once below the limit: %s",
	    r.err);
}

Test(limits, a_silent_handshake_is_cut_after_handshake_timeout)
{
	char log[16384];
	long ms;
	int fd;

	harness_start(&vixd, NULL);
	harness_restart_with(&vixd, (const char *[]){ "-c", write_conf(
	    "hs.conf", "[server]\nhandshake_timeout = 1\n"), NULL });
	fd = tcp_to(vixd.addr);
	write(fd, "\x16\x03\x01", 3);	/* the start of a record, then nothing */
	ms = ms_until_closed(fd, 5000);
	close(fd);
	cr_assert_geq(ms, 800, "cut too early: %ld ms", ms);
	cr_assert_lt(ms, 3000, "not cut within the timeout: %ld ms", ms);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, "TLS handshake timed out"), "%s", log);
}

static unsigned long
checksum(const char *path, off_t *size)
{
	unsigned long h = 5381;
	struct stat st;
	FILE *fp;
	int c;

	cr_assert_eq(stat(path, &st), 0);
	*size = st.st_size;
	cr_assert_not_null(fp = fopen(path, "rb"));
	while ((c = fgetc(fp)) != EOF)
		h = h * 33 + (unsigned long)c;
	fclose(fp);
	return h;
}

Test(limits, a_damaged_data_file_is_refused_and_left_untouched)
{
	char data[PATH_MAX];
	const char *argv[12];
	struct run_result r;
	unsigned long before, after;
	off_t size, size_after;

	harness_start(&vixd, NULL);
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "register", "--bsn",
	    "999990019", "--birth-date", "2015-03-01", "--contact-name", "A",
	    "--contact-phone", "0501234567", NULL });
	cr_assert_eq(r.status, 0);
	cr_assert_eq(harness_stop_keep(&vixd), 0);

	/* Truncate the data file to one page: its meta pages are gone. */
	snprintf(data, sizeof(data), "%s/data/data.mdb", vixd.dev_dir);
	cr_assert_eq(truncate(data, 100), 0);
	before = checksum(data, &size);
	argv[0] = getenv("VIXD");
	argv[1] = "--dev";
	argv[2] = "--data";
	argv[3] = vixd.dev_dir;
	argv[4] = "--listen";
	argv[5] = "127.0.0.1:0";
	argv[6] = "--admin-listen";
	argv[7] = "127.0.0.1:0";
	argv[8] = NULL;
	harness_run(&r, argv);
	cr_assert_eq(r.status, 1, "vixd started on a damaged store");
	cr_assert_not_null(strstr(r.err, "store"), "names the store: %s", r.err);
	after = checksum(data, &size_after);
	cr_assert_eq(size_after, size, "the data file was resized");
	cr_assert_eq(after, before, "the data file was written to");
}

/* Restart vixd with a vixd.conf of text (over the dev defaults). */
static const char *
start_with(const char *text)
{
	const char *conf;

	harness_start(&vixd, NULL);
	conf = write_conf("limits.conf", text);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	return conf;
}

/* Append a framed Ping with id to buf (room for it is asserted). */
static size_t
pack_ping(uint8_t *buf, size_t len, size_t cap, uint64_t id)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ping ping = VIX__V1__PING__INIT;

	req.id = id;
	req.body_case = VIX__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	cr_assert_leq(len + frame_packed_size(&req.base), cap);
	return len + frame_pack(&req.base, buf + len);
}

static int
code_of(const Vix__V1__ServerMessage *m)
{
	return m->response->status ? (int)m->response->status->code : OK;
}

/* Ping with id and return the status code; *retry_ms gets the hint. */
static int
ping(SSL *ssl, uint64_t id, uint32_t *retry_ms)
{
	Vix__V1__ServerMessage *m;
	uint8_t buf[64];
	int code;

	harness_send_raw(ssl, buf, pack_ping(buf, 0, sizeof(buf), id));
	m = harness_next_response(ssl, "ping");
	cr_assert_eq(m->response->id, id);
	code = code_of(m);
	*retry_ms = m->response->status ?
	    m->response->status->retry_after_ms : 0;
	vix__v1__server_message__free_unpacked(m, NULL);
	return code;
}


Test(limits, a_silent_connection_is_closed_after_idle_timeout_a_pinging_one_is_not)
{
	SSL *silent, *busy;
	struct pollfd pfd;
	long t0, closed_at = -1;
	uint32_t hint;
	char log[16384];
	int end = 1;

	start_with("[server]\nidle_timeout = 2\n");
	silent = harness_connect_as(&vixd, "org-a");
	busy = harness_connect_as(&vixd, "org-b");
	/* Both are READY (and the session tickets are read). */
	cr_assert_eq(ping(silent, 1, &hint), OK);
	cr_assert_eq(ping(busy, 1, &hint), OK);
	t0 = harness_now_ms();
	pfd = (struct pollfd){ .fd = SSL_get_fd(silent), .events = POLLIN };
	for (uint64_t id = 2; harness_now_ms() - t0 < 5000; id++) {
		harness_sleep_ms(400);
		cr_assert_eq(ping(busy, id, &hint), OK, "a connection that "
		    "keeps pinging was refused %ld ms in", harness_now_ms() - t0);
		if (closed_at < 0 && poll(&pfd, 1, 0) == 1)
			closed_at = harness_now_ms() - t0;
	}
	cr_assert_null(harness_recv(silent, &end), "the silent connection "
	    "got a message instead of being closed");
	cr_assert_eq(end, 0, "the silent connection was not closed with "
	    "close_notify");
	cr_assert(closed_at < 0 || closed_at >= 1500, "closed after %ld ms, "
	    "before idle_timeout (2 s)", closed_at);
	harness_tls_close(silent);
	harness_tls_close(busy);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_eq(harness_count(log, "closed: idle timeout"), 1, "%s", log);
}

/* A Ping of exactly size bytes (size >= 200), padded by an unknown field. */
static size_t
pack_padded_ping(uint8_t *buf, size_t size)
{
	size_t pad = size - 8, n;

	n = frame_encode_header(buf, (uint32_t)size);
	memcpy(buf + n, "\x08\x01" "\x52\x00" "\xa2\x06", 6);	/* id 1, ping, field 100 */
	n += 6;
	buf[n++] = (uint8_t)(0x80 | (pad & 0x7f));	/* 2-byte varint */
	buf[n++] = (uint8_t)(pad >> 7);
	memset(buf + n, 'x', pad);
	return n + pad;
}

Test(limits, a_frame_over_max_frame_is_refused_and_closed_one_at_it_works)
{
	Vix__V1__ServerMessage *m;
	const char *msg;
	uint8_t buf[4096];
	SSL *ssl;
	int end = 1;

	start_with("[server]\nmax_frame = 2048\n");
	ssl = harness_connect_as(&vixd, "org-a");
	harness_send_raw(ssl, buf, pack_padded_ping(buf, 2048));
	m = harness_next_response(ssl, "a frame of max_frame bytes");
	cr_assert_eq(code_of(m), OK, "a frame of exactly max_frame: %s",
	    m->response->status->message);
	cr_assert_eq(m->response->id, 1);
	vix__v1__server_message__free_unpacked(m, NULL);

	harness_send_raw(ssl, buf, pack_padded_ping(buf, 2049));
	m = harness_next_response(ssl, "a frame of max_frame + 1 bytes");
	cr_assert_eq(code_of(m), VIX__V1__STATUS__CODE__INVALID_ARGUMENT);
	msg = m->response->status->message;
	cr_assert(strstr(msg, "max_frame") && strstr(msg, "2048") &&
	    strstr(msg, "2049"), "names the limit and the size: %s", msg);
	vix__v1__server_message__free_unpacked(m, NULL);
	cr_assert_null(harness_recv(ssl, &end));
	cr_assert_eq(end, 0, "expected close_notify after the refusal");
	harness_tls_close(ssl);
}

#define PIPELINED	200

/* Append a framed Register with id for bsn to buf. */
static size_t
pack_register(uint8_t *buf, size_t len, size_t cap, uint64_t id, char *bsn)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register reg = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact contact = VIX__V1__CONTACT__INIT;

	contact.name = "Contact";
	contact.phone = "0501234567";
	reg.bsn = bsn;
	reg.birth_date = "2015-03-01";
	reg.contact = &contact;
	req.id = id;
	req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req.register_ = &reg;
	cr_assert_leq(len + frame_packed_size(&req.base), cap);
	return len + frame_pack(&req.base, buf + len);
}

Test(limits, max_inflight_slows_a_pipelining_client_and_loses_nothing)
{
	static char bsns[PIPELINED][16];
	static uint8_t buf[PIPELINED * 128];
	Vix__V1__ServerMessage *m;
	long long peak, pauses;
	size_t len = 0;
	SSL *ssl;

	cr_assert_eq(harness_load_bsns(bsns, PIPELINED), PIPELINED,
	    "bsn-valid.txt has too few numbers");
	/* rate_limit = 0: the load is the point here, not the limit. */
	start_with("[server]\nmax_inflight = 4\nrate_limit = 0\n");
	ssl = harness_connect_as(&vixd, "org-a");
	/*
	 * All in one write: vixd reads many frames at once, and must leave
	 * the surplus waiting in its buffer while no more bytes arrive.
	 */
	for (uint64_t i = 0; i < PIPELINED; i++)
		len = pack_register(buf, len, sizeof(buf), i + 1, bsns[i]);
	harness_send_raw(ssl, buf, len);
	OPENSSL_cleanse(buf, len);
	for (uint64_t i = 0; i < PIPELINED; i++) {
		m = harness_next_response(ssl, "a pipelined registration");
		cr_assert_eq(m->response->id, i + 1, "answered out of order: "
		    "%llu where %llu was next",
		    (unsigned long long)m->response->id,
		    (unsigned long long)i + 1);
		cr_assert_eq(code_of(m), OK, "registration %llu: %s",
		    (unsigned long long)i + 1, m->response->status->message);
		cr_assert_eq(m->response->body_case,
		    VIX__V1__RESPONSE__BODY_REGISTER);
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	harness_tls_close(ssl);
	peak = harness_metric(&vixd, "vix_connection_inflight_peak");
	pauses = harness_metric(&vixd, "vix_connection_read_pauses_total");
	cr_assert(peak >= 1 && peak <= 4, "at most max_inflight (4) in "
	    "flight on the connection, saw %lld", peak);
	cr_assert_gt(pauses, 0, "the connection was never paused");
	cr_assert_eq(harness_metric(&vixd, "vix_requests_total{type=\"register\","
	    "code=\"OK\"}"), PIPELINED);
}

#define IMPORT_ROWS	150

/* vix import slows down to the rate limit and brings every row in. */
Test(limits, vix_import_keeps_to_the_rate_limit_and_loses_nothing)
{
	static char bsns[IMPORT_ROWS][16];
	struct run_result r;
	char path[PATH_MAX];
	long t0, elapsed;
	FILE *fp;

	cr_assert_eq(harness_load_bsns(bsns, IMPORT_ROWS), IMPORT_ROWS,
	    "bsn-valid.txt has too few numbers");
	start_with("[server]\nrate_limit = 50\nrate_burst = 10\n");
	snprintf(path, sizeof(path), "%s/rows.csv", vixd.dir);
	cr_assert_not_null(fp = fopen(path, "w"));
	fputs("bsn,birth_date,days,contact_name,contact_phone,contact_email,"
	    "client_ref,municipality\n", fp);
	for (size_t i = 0; i < IMPORT_ROWS; i++)
		fprintf(fp, "%s,2015-03-01,,Contact,0501234567,,,\n", bsns[i]);
	fclose(fp);
	t0 = harness_now_ms();
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "import", path,
	    "--json", NULL });
	elapsed = harness_now_ms() - t0;
	cr_assert_eq(r.status, 0, "vix import: %s", harness_redact(r.err));
	cr_assert_not_null(strstr(r.out, "\"accepted\":150,"), "%s",
	    harness_redact(r.out));
	cr_assert_not_null(strstr(r.out, "\"rejected\":0,"), "%s",
	    harness_redact(r.out));
	cr_assert_gt(harness_metric(&vixd, "vix_rate_limited_total"), 0, "the import never "
	    "met the limit");
	/* 10 at once, then 50/s: the other 140 take 2.8 s at least. */
	cr_assert_geq(elapsed, 2800, "150 rows in %ld ms: faster than the "
	    "limit", elapsed);
}

/* A refusal over the rate limit, as the protocol promises it. */
static void
check_refusal(const Vix__V1__ServerMessage *m, const char *org, unsigned rate)
{
	const Vix__V1__Status *st = m->response->status;
	char want[128];

	snprintf(want, sizeof(want), "organisation %s over its rate limit "
	    "of %u requests/s; retry after ", org, rate);
	cr_assert_eq(st->code, EXHAUSTED);
	cr_assert_not_null(strstr(st->message, want), "%s", st->message);
	cr_assert_gt(st->retry_after_ms, 0, "no retry hint: %s", st->message);
	cr_assert_leq(st->retry_after_ms, 1000 / rate, "hint %u ms for %u/s",
	    st->retry_after_ms, rate);
}

Test(limits, an_organisation_over_rate_limit_is_refused_with_a_retry_hint)
{
	Vix__V1__ServerMessage *m;
	uint8_t buf[1024];
	size_t len = 0;
	uint32_t hint = 0;
	int ok = 0, refused = 0;
	long t0, elapsed;
	char log[16384];
	SSL *a, *b;

	start_with("[server]\nrate_limit = 5\nrate_burst = 5\n");
	a = harness_connect_as(&vixd, "org-a");
	for (uint64_t id = 1; id <= 20; id++)
		len = pack_ping(buf, len, sizeof(buf), id);
	t0 = harness_now_ms();
	harness_send_raw(a, buf, len);
	for (uint64_t id = 1; id <= 20; id++) {
		m = harness_next_response(a, "a ping of the burst");
		cr_assert_eq(m->response->id, id);
		if (id <= 5 || code_of(m) == OK) {
			cr_assert_eq(code_of(m), OK, "ping %llu of the burst: "
			    "%s", (unsigned long long)id,
			    m->response->status->message);
			ok++;
		} else {
			check_refusal(m, "org-a", 5);
			hint = m->response->status->retry_after_ms;
			refused++;
		}
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	/* One more fits per 200 ms that the burst took to answer. */
	elapsed = harness_now_ms() - t0;
	cr_assert_leq(ok, 5 + elapsed / 200, "%d of 20 served in %ld ms",
	    ok, elapsed);
	cr_assert_gt(refused, 0);

	/* Another organisation has a bucket of its own. */
	b = harness_connect_as(&vixd, "org-b");
	len = 0;
	for (uint64_t id = 1; id <= 5; id++)
		len = pack_ping(buf, len, sizeof(buf), id);
	harness_send_raw(b, buf, len);
	for (int i = 0; i < 5; i++) {
		m = harness_next_response(b, "org-b's ping");
		cr_assert_eq(code_of(m), OK, "org-b was limited: %s",
		    m->response->status->message);
		vix__v1__server_message__free_unpacked(m, NULL);
	}

	/* The hint holds: once it has passed, org-a is served again. */
	harness_sleep_ms(hint + 10);
	cr_assert_eq(ping(a, 21, &hint), OK, "still refused after the hint");
	harness_tls_close(a);
	harness_tls_close(b);

	cr_assert_eq(harness_metric(&vixd, "vix_rate_limited_total"), refused);
	cr_assert_eq(harness_metric(&vixd, "vix_requests_total{type=\"ping\","
	    "code=\"RESOURCE_EXHAUSTED\"}"), refused);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_eq(harness_count(log, "organisation org-a is over its rate "
	    "limit of 5 requests/s"), 1, "logged once: %s", log);
}

/* SIGHUP, and wait until vixd says the reload is done. */
static void
reload(void)
{
	harness_reload(&vixd);
}

/*
 * Take org-a's one token, reload, and ask again from the old connection
 * and a new one: both are refused if vixd kept the bucket. Returns 0 if
 * that took so long (a second) that a new token was due anyway.
 */
static int
refused_across_reload(SSL *old)
{
	uint32_t hint;
	long t0;
	int code_old, code_new;
	SSL *fresh;

	for (;;) {
		t0 = harness_now_ms();	/* before the token is taken */
		if (ping(old, 1, &hint) == OK)
			break;
		harness_sleep_ms(hint + 10);
	}
	reload();
	fresh = harness_connect_as(&vixd, "org-a");
	code_new = ping(fresh, 3, &hint);
	code_old = ping(old, 4, &hint);
	harness_tls_close(fresh);
	if (harness_now_ms() - t0 >= 900)
		return 0;
	cr_assert_eq(code_new, EXHAUSTED, "a reload refilled the bucket (new "
	    "connection)");
	cr_assert_eq(code_old, EXHAUSTED, "a reload refilled the bucket (old "
	    "connection)");
	return 1;
}

Test(limits, a_reload_keeps_the_buckets_and_can_lift_the_limit)
{
	char conf[PATH_MAX];
	uint8_t buf[1024];
	size_t len = 0;
	int judged = 0;
	SSL *a;

	snprintf(conf, sizeof(conf), "%s",
	    start_with("[server]\nrate_limit = 1\nrate_burst = 1\n"));
	a = harness_connect_as(&vixd, "org-a");
	/* A reload takes milliseconds; ten slow ones in a row is a fault. */
	for (int i = 0; i < 10 && !judged; i++)
		judged = refused_across_reload(a);
	cr_assert(judged, "ten reloads in a row took a second or more each: "
	    "too slow to tell a kept bucket from a refilled one");

	/* The same file, which vixd reads again on SIGHUP. */
	cr_assert_str_eq(write_conf("limits.conf", "[server]\nrate_limit = 0\n"),
	    conf);
	reload();
	for (uint64_t id = 1; id <= 20; id++)
		len = pack_ping(buf, len, sizeof(buf), id);
	harness_send_raw(a, buf, len);
	for (int i = 0; i < 20; i++) {
		Vix__V1__ServerMessage *m = harness_next_response(a, "after lifting");

		cr_assert_eq(code_of(m), OK, "limited after rate_limit = 0 was "
		    "reloaded: %s", m->response->status->message);
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	harness_tls_close(a);
}

Test(limits, the_cli_prints_the_retry_hint)
{
	struct run_result r;
	uint32_t hint;
	SSL *hold;
	int refused = 0;

	start_with("[server]\nrate_limit = 1\nrate_burst = 1\n");
	hold = harness_connect_as(&vixd, "org-a");
	/* Take the token, then run vix within the second it takes to return. */
	for (int i = 0; i < 10 && !refused; i++) {
		ping(hold, (uint64_t)i + 1, &hint);
		harness_vix(&r, &vixd, "org-a", (const char *[]){ "ping",
		    NULL });
		refused = r.status != 0;
	}
	harness_tls_close(hold);
	cr_assert(refused, "vix ping was never refused");
	cr_assert_eq(r.status, 1, "exit status for a refusal: %s", r.err);
	cr_assert_not_null(strstr(r.err, "RESOURCE_EXHAUSTED"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "retry_after_ms="), "%s", r.err);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN	1
#endif
#endif

/* Pings as fast as TLS takes them, never reading, until a write fails. */
static void *
ping_without_reading(void *arg)
{
	static uint8_t buf[16384];
	SSL *ssl = arg;
	size_t len = 0;
	uint64_t id = 1;

	while (len + 16 < sizeof(buf))
		len = pack_ping(buf, len, sizeof(buf), id++);
	while (SSL_write(ssl, buf, (int)len) > 0)
		;
	return NULL;
}

Test(limits, a_client_that_never_reads_is_not_read_from_either)
{
	long long pauses0, pauses = 0;
	long rss0, rss1;
	struct run_result r;
	pthread_t tid;
	SSL *ssl;

	signal(SIGPIPE, SIG_IGN);	/* the writer's end, at shutdown */
	harness_start(&vixd, NULL);
	pauses0 = harness_metric(&vixd, "vix_connection_read_pauses_total");
	rss0 = rss();
	ssl = harness_connect_as(&vixd, "org-a");
	cr_assert_eq(pthread_create(&tid, NULL, ping_without_reading, ssl), 0);
	for (int i = 0; i < 100 && pauses <= pauses0; i++) {
		harness_sleep_ms(100);
		pauses = harness_metric(&vixd, "vix_connection_read_pauses_total");
	}
	cr_assert_gt(pauses, pauses0, "vixd kept reading a client that never "
	    "reads its answers");
	/* Given time, answers would pile up at a few MB/s if it still read. */
	harness_sleep_ms(3000);
	rss1 = rss();
	harness_vix(&r, &vixd, "org-b", (const char *[]){ "ping", NULL });
	cr_assert_eq(r.status, 0, "another organisation was not served: %s",
	    r.err);
	shutdown(SSL_get_fd(ssl), SHUT_RDWR);
	pthread_join(tid, NULL);
	harness_tls_close(ssl);
#ifndef UNDER_ASAN	/* ASan's quarantine holds freed frames for a while */
	cr_assert_lt(rss1 - rss0, 16 * 1024, "vixd grew from %ld to %ld KiB "
	    "while a client did not read", rss0, rss1);
#endif
	(void)rss0;
	(void)rss1;
}

/* A full writer queue refuses with a hint; what it took is stored. */
Test(limits, a_full_writer_queue_refuses_with_a_retry_hint)
{
	static char bsns[PIPELINED][16];
	static uint8_t buf[PIPELINED * 128];
	Vix__V1__ServerMessage *m;
	unsigned ok = 0, full = 0;
	size_t len = 0;
	SSL *ssl;

	cr_assert_eq(harness_load_bsns(bsns, PIPELINED), PIPELINED,
	    "bsn-valid.txt has too few numbers");
	start_with("[store]\nqueue_max = 16\n[server]\nmax_inflight = 1000\n"
	    "rate_limit = 0\n");
	ssl = harness_connect_as(&vixd, "org-a");
	/* Decoded in one go, far faster than commits drain 16 places. */
	for (uint64_t i = 0; i < PIPELINED; i++)
		len = pack_register(buf, len, sizeof(buf), i + 1, bsns[i]);
	harness_send_raw(ssl, buf, len);
	OPENSSL_cleanse(buf, len);
	for (uint64_t i = 0; i < PIPELINED; i++) {
		m = harness_next_response(ssl, "a pipelined registration");
		if (code_of(m) == OK)
			ok++;
		else {
			cr_assert_eq(code_of(m), EXHAUSTED, "%s",
			    m->response->status->message);
			cr_assert_eq(m->response->status->retry_after_ms, 100);
			cr_assert_not_null(strstr(m->response->status->message,
			    "retry after 100 ms"), "%s",
			    m->response->status->message);
			full++;
		}
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	harness_tls_close(ssl);
	cr_assert_gt(full, 0, "%u registrations never filled a queue of 16",
	    PIPELINED);
	cr_assert_eq(harness_metric(&vixd, "vix_requests_total{type=\"register\","
	    "code=\"OK\"}"), ok);
}
