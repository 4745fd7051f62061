/*
 * Webhook delivery end to end: the test runs the partner's HTTPS receiver
 * (a thread with its own TLS listener, mutual TLS required) that checks
 * every signature with its own HMAC, and can be told to answer 500 with
 * Retry-After, to redirect, to answer too late, or to hold an answer
 * while vixd is killed. vixd must deliver in order, advance only on a
 * 2xx, retry, mark the recipient failing, deliver again after kill -9
 * with the same id, replay on request, and refuse a receiver whose
 * certificate its CA bundle does not vouch for.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include <criterion/criterion.h>

#include "harness.h"

#define BSN		"999990019"
#define SECRET		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define WAIT_MS		20000
#define EVENTS_MAX	256

static struct vixd_proc vixd;

TestSuite(webhook, .timeout = 180);

enum mode { ANSWER_OK, ANSWER_500, ANSWER_REDIRECT, ANSWER_LATE, ANSWER_HOLD };

struct event {
	char		id[96];
	char		type[64];
	int		answered;	/* 2xx sent */
	struct timespec	at;		/* when it came (monotonic) */
};

/* The partner's receiver: what it saw, and how it answers. */
struct receiver {
	int		 lfd;
	uint16_t	 port;
	SSL_CTX		*ctx;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	int		 stop;
	enum mode	 mode;
	struct event	 seen[EVENTS_MAX];	/* every request, in order */
	size_t		 nseen;
	size_t		 bad;			/* requests failing a check */
	char		 why[256];		/* the first such failure */
	int		 bsn_seen;
	uint8_t		 key[64];
	int		 keylen;
};

static struct receiver rx;

static enum mode
rx_mode(void)
{
	enum mode m;

	pthread_mutex_lock(&rx.lock);
	m = rx.mode;
	pthread_mutex_unlock(&rx.lock);
	return m;
}

static void
rx_set_mode(enum mode m)
{
	pthread_mutex_lock(&rx.lock);
	rx.mode = m;
	pthread_mutex_unlock(&rx.lock);
}

static void
rx_bad(const char *why)
{
	if (rx.bad++ == 0)
		snprintf(rx.why, sizeof(rx.why), "%s", why);
}

/* The value of header name (lower case) in the request head, or "". */
static void
header(const char *head, const char *name, char *out, size_t len)
{
	const char *p = head;
	size_t n = strlen(name);

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, len, "%.*s", (int)(e ? e - v : 0), v);
			return;
		}
	}
}

/* Standard Webhooks, done here with OpenSSL alone: v1,base64(HMAC). */
static int
signature_ok(const char *id, const char *ts, const char *body, size_t blen,
    const char *sigs)
{
	unsigned char mac[32], b64[64];
	unsigned int maclen = sizeof(mac);
	char *msg;
	size_t mlen;
	int ok;

	mlen = strlen(id) + strlen(ts) + blen + 2;
	cr_assert_not_null(msg = malloc(mlen + 1));
	snprintf(msg, mlen + 1, "%s.%s.", id, ts);
	memcpy(msg + strlen(id) + strlen(ts) + 2, body, blen);
	HMAC(EVP_sha256(), rx.key, rx.keylen, (unsigned char *)msg, mlen, mac,
	    &maclen);
	free(msg);
	EVP_EncodeBlock(b64, mac, (int)maclen);
	ok = strncmp(sigs, "v1,", 3) == 0 && strcmp(sigs + 3, (char *)b64) == 0;
	return ok;
}

/* Read one request (head and body) from ssl; -1 if it did not come whole. */
static int
read_request(SSL *ssl, char *buf, size_t cap, char **body, size_t *blen)
{
	size_t n = 0;
	char *end, len[32];
	int r;

	for (;;) {
		if (n + 1 >= cap)
			return -1;
		if ((r = SSL_read(ssl, buf + n, (int)(cap - 1 - n))) <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		header(buf, "content-length", len, sizeof(len));
		*body = end + 4;
		*blen = (size_t)atol(len);
		if ((size_t)(buf + n - *body) >= *blen)
			return 0;
	}
}

static void
rx_serve(SSL *ssl)
{
	static char buf[65536];
	char id[96], ts[32], sig[256], ctype[128], *body, *t;
	const char *answer;
	size_t blen;
	struct event *e;
	enum mode m;

	if (read_request(ssl, buf, sizeof(buf), &body, &blen) == -1)
		return;
	header(buf, "webhook-id", id, sizeof(id));
	header(buf, "webhook-timestamp", ts, sizeof(ts));
	header(buf, "webhook-signature", sig, sizeof(sig));
	header(buf, "content-type", ctype, sizeof(ctype));
	pthread_mutex_lock(&rx.lock);
	if (strncmp(buf, "POST /hook HTTP/1.1\r\n", 21) != 0)
		rx_bad("not a POST to /hook");
	else if (strcmp(ctype, "application/cloudevents+json") != 0)
		rx_bad("wrong content type");
	else if (llabs(atoll(ts) - (long long)time(NULL)) > 300)
		rx_bad("timestamp more than five minutes off");
	else if (!signature_ok(id, ts, body, blen, sig))
		rx_bad("signature does not verify");
	if (memmem(body, blen, BSN, strlen(BSN)) != NULL)
		rx.bsn_seen = 1;
	e = rx.nseen < EVENTS_MAX ? &rx.seen[rx.nseen++] : NULL;
	if (e == NULL)
		rx_bad("more requests than the receiver records");
	else {
		clock_gettime(CLOCK_MONOTONIC, &e->at);
		snprintf(e->id, sizeof(e->id), "%s", id);
		if ((t = strstr(body, "\"type\":\"")) != NULL)
			snprintf(e->type, sizeof(e->type), "%.*s",
			    (int)strcspn(t + 8, "\""), t + 8);
		if (strstr(body, "\"id\":\"") == NULL ||
		    strstr(body, id) == NULL)
			rx_bad("the event's id is not webhook-id");
	}
	m = rx.mode;
	pthread_mutex_unlock(&rx.lock);

	switch (m) {
	case ANSWER_500:
		answer = "HTTP/1.1 500 Internal Server Error\r\nRetry-After: 3"
		    "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		break;
	case ANSWER_REDIRECT:
		answer = "HTTP/1.1 307 Temporary Redirect\r\nLocation: "
		    "https://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n";
		break;
	case ANSWER_LATE:
		usleep(3500000);	/* vixd's timeout is 2 s */
		return;
	case ANSWER_HOLD:
		/* Until the test lets go (vixd is killed meanwhile). */
		for (int i = 0; i < 300 && rx_mode() == ANSWER_HOLD; i++)
			usleep(100000);
		answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n";
		break;
	default:
		answer = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
		break;
	}
	if (SSL_write(ssl, answer, (int)strlen(answer)) > 0 && m != ANSWER_500 &&
	    m != ANSWER_REDIRECT && e != NULL) {
		pthread_mutex_lock(&rx.lock);
		e->answered = 1;
		pthread_mutex_unlock(&rx.lock);
	}
}

static void *
rx_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd pfd = { .fd = rx.lfd, .events = POLLIN };
		struct timeval tv = { 5, 0 };
		SSL *ssl;
		int fd, stop;

		pthread_mutex_lock(&rx.lock);
		stop = rx.stop;
		pthread_mutex_unlock(&rx.lock);
		if (stop)
			return NULL;
		if (poll(&pfd, 1, 100) != 1 ||
		    (fd = accept(rx.lfd, NULL, NULL)) == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		ssl = SSL_new(rx.ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1) {
			rx_serve(ssl);
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(fd);
	}
}

static void
rx_start(SSL_CTX *ctx)
{
	unsigned char raw[64];
	int n;

	signal(SIGPIPE, SIG_IGN);	/* an answer to a killed vixd */
	memset(&rx, 0, sizeof(rx));
	pthread_mutex_init(&rx.lock, NULL);
	rx.lfd = harness_listen_loopback(&rx.port);
	rx.ctx = ctx;
	n = EVP_DecodeBlock(raw, (const unsigned char *)SECRET + 6,
	    (int)strlen(SECRET) - 6);
	cr_assert_gt(n, 0);
	/* EVP_DecodeBlock counts the padding's zero bytes in. */
	rx.keylen = n - (SECRET[strlen(SECRET) - 1] == '=') -
	    (SECRET[strlen(SECRET) - 2] == '=');
	memcpy(rx.key, raw, (size_t)rx.keylen);
	cr_assert_eq(pthread_create(&rx.thread, NULL, rx_main, NULL), 0);
}

static void
rx_stop(void)
{
	pthread_mutex_lock(&rx.lock);
	rx.stop = 1;
	pthread_mutex_unlock(&rx.lock);
	pthread_join(rx.thread, NULL);
	close(rx.lfd);
	SSL_CTX_free(rx.ctx);
}

/* How many requests for id came, and how many of them were answered 2xx. */
static int
rx_count(const char *id, int *answered)
{
	int n = 0, a = 0;

	pthread_mutex_lock(&rx.lock);
	for (size_t i = 0; i < rx.nseen; i++)
		if (strcmp(rx.seen[i].id, id) == 0) {
			n++;
			a += rx.seen[i].answered;
		}
	pthread_mutex_unlock(&rx.lock);
	if (answered != NULL)
		*answered = a;
	return n;
}

static size_t
rx_bad_count(char *why, size_t len)
{
	size_t n;

	pthread_mutex_lock(&rx.lock);
	n = rx.bad;
	snprintf(why, len, "%s", rx.why);
	pthread_mutex_unlock(&rx.lock);
	return n;
}

/* Milliseconds between the first two requests for id (-1: not two). */
static long
rx_gap_ms(const char *id)
{
	struct timespec t[2];
	int k = 0;

	pthread_mutex_lock(&rx.lock);
	for (size_t i = 0; i < rx.nseen && k < 2; i++)
		if (strcmp(rx.seen[i].id, id) == 0)
			t[k++] = rx.seen[i].at;
	pthread_mutex_unlock(&rx.lock);
	if (k < 2)
		return -1;
	return (t[1].tv_sec - t[0].tv_sec) * 1000 +
	    (t[1].tv_nsec - t[0].tv_nsec) / 1000000;
}

static size_t
rx_nseen(void)
{
	size_t n;

	pthread_mutex_lock(&rx.lock);
	n = rx.nseen;
	pthread_mutex_unlock(&rx.lock);
	return n;
}

/* Wait until id was answered 2xx (at least times times). */
static void
wait_delivered(const char *id, int times)
{
	int answered = 0;

	for (int i = 0; i < WAIT_MS / 50; i++) {
		rx_count(id, &answered);
		if (answered >= times)
			return;
		usleep(50000);
	}
	cr_assert_fail("%s was not delivered %d time(s) (%d)", id, times,
	    answered);
}

/* Wait until requests in all came (answered or not). */
static void
wait_requests(size_t n)
{
	for (int i = 0; i < WAIT_MS / 50 && rx_nseen() < n; i++)
		usleep(50000);
	cr_assert_geq(rx_nseen(), n, "only %zu requests came", rx_nseen());
}

static void
wait_metric(const char *series, long long want)
{
	long long v = -1;

	for (int i = 0; i < WAIT_MS / 100; i++) {
		if ((v = harness_metric(&vixd, series)) == want)
			return;
		usleep(100000);
	}
	cr_assert_fail("%s is %lld, not %lld", series, v, want);
}

static void
vix_ok(const char *org, const char *const *args)
{
	struct run_result r;

	harness_vix(&r, &vixd, org, args);
	cr_assert_eq(r.status, 0, "vix %s: %s", args[0], harness_redact(r.err));
}

static void
register_youth(const char *org)
{
	vix_ok(org, (const char *[]){ "register", "--bsn", BSN,
	    "--birth-date", "2015-03-01", "--contact-name", org,
	    "--contact-phone", "0501234567", NULL });
}

static void
vixctl(struct run_result *r, const char *const *args)
{
	harness_vixctl(r, &vixd, args);
}

static char conf_path[PATH_MAX];

/*
 * vixd --dev with org-b's notifications going to the receiver, its
 * certificate checked against ca (a file of the dev material), and quick
 * retries.
 */
static void
start_with_webhook(const char *ca)
{
	char orgs[PATH_MAX], secret[PATH_MAX], capath[PATH_MAX];
	char lines[3 * PATH_MAX];
	FILE *fp;

	harness_start(&vixd, NULL);
	rx_start(harness_partner_ctx(&vixd));
	snprintf(secret, sizeof(secret), "%s/org-b.whsec", vixd.dir);
	cr_assert_not_null(fp = fopen(secret, "w"));
	fprintf(fp, "%s\n", SECRET);
	fclose(fp);
	cr_assert_eq(chmod(secret, 0600), 0);
	snprintf(lines, sizeof(lines), "[org org-b]\nwebhook = "
	    "https://127.0.0.1:%u/hook\nwebhook_secret = %s\nwebhook_ca = %s\n",
	    rx.port, secret, harness_dev_file(&vixd, ca, capath,
	    sizeof(capath)));
	harness_edit_file(harness_dev_file(&vixd, "orgs.conf", orgs,
	    sizeof(orgs)), "[org org-b]\n", lines);
	snprintf(conf_path, sizeof(conf_path), "%s", harness_write_file(&vixd,
	    "webhook.conf", "[webhook]\nconnect_timeout = 2s\ntimeout = 2s\n"
	    "retry_min = 1s\nretry_max = 4s\nfailing_after = 3s\n"));
	harness_restart_with(&vixd, (const char *[]){ "-c", conf_path, NULL });
}

/* Wait until id came at least n times (answered or not). */
static void
wait_sent(const char *id, int n)
{
	for (int i = 0; i < WAIT_MS / 50 && rx_count(id, NULL) < n; i++)
		usleep(50000);
	cr_assert_geq(rx_count(id, NULL), n, "%s came %d times, not %d", id,
	    rx_count(id, NULL), n);
}

Test(webhook, delivers_in_order_retries_and_survives_kill_9)
{
	struct run_result r;
	char log[262144], why[256];

	start_with_webhook("ca.pem");

	/* A match: org-b is told, signed, as a CloudEvent. */
	register_youth("org-a");
	register_youth("org-b");
	wait_delivered("org-b:1", 1);
	cr_assert_eq(rx_bad_count(why, sizeof(why)), 0, "%s", why);
	cr_assert_str_eq(rx.seen[0].type, "nl.vix.match.created");
	wait_metric("vix_webhook_acked_seq{recipient=\"org-b\"}", 1);

	/* 500 with Retry-After: tried again, the cursor stays. */
	rx_set_mode(ANSWER_500);
	vix_ok("org-a", (const char *[]){ "withdraw", "--bsn", BSN,
	    "--reason", "unjustified", NULL });
	wait_requests(3);
	cr_assert_geq(rx_count("org-b:2", NULL), 2, "retried after a 500");
	cr_assert_geq(rx_gap_ms("org-b:2"), 2900, "Retry-After: 3 was not "
	    "honoured (the first back-off is 0.5-1 s)");
	cr_assert_eq(harness_metric(&vixd, "vix_webhook_acked_seq{recipient="
	    "\"org-b\"}"), 1, "no advance on a failure");
	/* Failing for longer than failing_after: said in metric and status. */
	wait_metric("vix_webhook_failing{recipient=\"org-b\"}", 1);
	vixctl(&r, (const char *[]){ "status", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "webhook org-b: failing"), "%s",
	    harness_redact(r.out));
	cr_assert_not_null(strstr(r.out, "HTTP 500"), "%s", harness_redact(r.out));

	/* A redirect is not followed; a late answer is a timeout. */
	rx_set_mode(ANSWER_REDIRECT);
	wait_requests(rx_nseen() + 1);
	rx_set_mode(ANSWER_LATE);
	wait_requests(rx_nseen() + 1);
	usleep(2500000);	/* past vixd's 2 s timeout */
	cr_assert_eq(harness_metric(&vixd, "vix_webhook_acked_seq{recipient="
	    "\"org-b\"}"), 1, "no advance after a timeout");
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, "redirects are not followed"), "%s",
	    harness_redact(log));
	cr_assert_not_null(strstr(log, "FAILING"), "%s", harness_redact(log));

	/* The receiver is back: 2 comes, after 1, and failing ends. */
	rx_set_mode(ANSWER_OK);
	wait_delivered("org-b:2", 1);
	wait_metric("vix_webhook_failing{recipient=\"org-b\"}", 0);
	wait_metric("vix_webhook_acked_seq{recipient=\"org-b\"}", 2);

	/* kill -9 while the receiver holds its answer to 3: sent again. */
	rx_set_mode(ANSWER_HOLD);
	register_youth("org-a");	/* org-b hears of the new match: 3 */
	wait_sent("org-b:3", 1);
	harness_signal_wait(&vixd, SIGKILL);
	rx_set_mode(ANSWER_OK);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf_path, NULL });
	wait_sent("org-b:3", 2);	/* at least once, with the same id */
	wait_metric("vix_webhook_acked_seq{recipient=\"org-b\"}", 3);

	/* Replay from 2: 2 and 3 come again, in order. */
	{
		int was2, was3;

		rx_count("org-b:2", &was2);
		rx_count("org-b:3", &was3);
		vixctl(&r, (const char *[]){ "webhook", "replay", "--org",
		    "org-b", "--from", "2", NULL });
		cr_assert_eq(r.status, 0, "%s", r.err);
		cr_assert_not_null(strstr(r.out, "replaying from seq 2"), "%s",
		    r.out);
		wait_delivered("org-b:2", was2 + 1);
		wait_delivered("org-b:3", was3 + 1);
	}
	{
		size_t n = rx_nseen(), last2 = 0, last3 = 0;

		pthread_mutex_lock(&rx.lock);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(rx.seen[i].id, "org-b:2") == 0)
				last2 = i;
			if (strcmp(rx.seen[i].id, "org-b:3") == 0)
				last3 = i;
		}
		pthread_mutex_unlock(&rx.lock);
		cr_assert_lt(last2, last3, "order kept in the replay");
	}
	vixctl(&r, (const char *[]){ "webhook", "replay", "--org", "org-a",
	    "--from", "1", NULL });
	cr_assert_neq(r.status, 0);
	cr_assert_not_null(strstr(r.err, "has no webhook"), "%s", r.err);
	vixctl(&r, (const char *[]){ "audit", "export", NULL });
	cr_assert_not_null(strstr(r.out, "webhook_replay"), "the replay is "
	    "audited");

	cr_assert_eq(rx_bad_count(why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(rx.bsn_seen, 0, "no BSN in any event");
	cr_assert_eq(harness_stop(&vixd), 0);
	rx_stop();
}

Test(webhook, a_receiver_the_ca_does_not_vouch_for_gets_nothing)
{
	char log[262144];

	/* The receiver's certificate is from the dev CA; vixd trusts a leaf. */
	start_with_webhook("server.pem");
	register_youth("org-a");
	register_youth("org-b");
	for (int i = 0; i < 200; i++) {
		harness_log(&vixd, log, sizeof(log));
		if (strstr(log, "notification 1 not delivered") != NULL)
			break;
		usleep(100000);
	}
	cr_assert_not_null(strstr(log, "notification 1 not delivered"), "%s",
	    harness_redact(log));
	cr_assert_eq(rx_nseen(), 0, "no request reached the receiver");
	cr_assert_eq(harness_metric(&vixd, "vix_webhook_acked_seq{recipient="
	    "\"org-b\"}"), 0);
	cr_assert_eq(harness_stop(&vixd), 0);
	rx_stop();
}

static pid_t
vix_listen_bg(const char *secret, const char *port, const char *out)
{
	const char *argv[] = { getenv("VIX"), "--dev-dir", vixd.dev_dir,
	    "--dev", "partner", "--json", "listen", "--webhook", "--port", port,
	    "--secret-file", secret, NULL };

	cr_assert_not_null(argv[0], "VIX must be set (run through meson test)");
	return harness_spawn_bg(argv, out);
}

/*
 * The receiver a partner can try locally: vix listen --webhook, serving
 * with the dev material's listener certificate (partner-listen.pem).
 */
Test(webhook, vix_listen_webhook_prints_what_verifies)
{
	char orgs[PATH_MAX], secret[PATH_MAX], wrong[PATH_MAX], ca[PATH_MAX];
	char out[PATH_MAX], out2[PATH_MAX], port[8], lines[3 * PATH_MAX];
	uint16_t p;
	FILE *fp;
	pid_t l;
	int lfd;

	harness_start(&vixd, NULL);
	lfd = harness_listen_loopback(&p);
	close(lfd);
	snprintf(port, sizeof(port), "%u", p);
	snprintf(secret, sizeof(secret), "%s/org-b.whsec", vixd.dir);
	snprintf(wrong, sizeof(wrong), "%s/wrong.whsec", vixd.dir);
	cr_assert_not_null(fp = fopen(secret, "w"));
	fprintf(fp, "%s\n", SECRET);
	fclose(fp);
	cr_assert_not_null(fp = fopen(wrong, "w"));
	fprintf(fp, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
	fclose(fp);
	cr_assert_eq(chmod(secret, 0600), 0);
	cr_assert_eq(chmod(wrong, 0600), 0);
	snprintf(lines, sizeof(lines), "[org org-b]\nwebhook = "
	    "https://localhost:%s/\nwebhook_secret = %s\nwebhook_ca = %s\n",
	    port, secret, harness_dev_file(&vixd, "ca.pem", ca, sizeof(ca)));
	harness_edit_file(harness_dev_file(&vixd, "orgs.conf", orgs,
	    sizeof(orgs)), "[org org-b]\n", lines);
	snprintf(conf_path, sizeof(conf_path), "%s", harness_write_file(&vixd,
	    "webhook.conf", "[webhook]\nretry_min = 1s\nretry_max = 1s\n"));
	snprintf(out, sizeof(out), "%s/listen.out", vixd.dir);
	l = vix_listen_bg(secret, port, out);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf_path, NULL });

	register_youth("org-a");
	register_youth("org-b");
	cr_assert(harness_wait_for_text(out, "\"type\":\"nl.vix.match.created\"",
	    WAIT_MS), "vix listen --webhook printed nothing");
	wait_metric("vix_webhook_acked_seq{recipient=\"org-b\"}", 1);
	cr_assert_eq(harness_stop_bg(l), 0);
	cr_assert_eq(harness_dir_contains(vixd.dir, BSN, NULL, 0), 0,
	    "no BSN in vixd's folder, its log or what vix printed");

	/* With the wrong secret nothing verifies: refused, not taken. */
	snprintf(out2, sizeof(out2), "%s/listen2.out", vixd.dir);
	l = vix_listen_bg(wrong, port, out2);
	vix_ok("org-a", (const char *[]){ "withdraw", "--bsn", BSN,
	    "--reason", "unjustified", NULL });
	for (int i = 0; i < WAIT_MS / 100 && harness_metric(&vixd,
	    "vix_webhook_deliveries_total{recipient=\"org-b\",result="
	    "\"failed\"}") < 2; i++)
		usleep(100000);
	{
		char log[262144];

		for (int i = 0; i < WAIT_MS / 100; i++) {
			harness_log(&vixd, log, sizeof(log));
			if (strstr(log, "notification 2 not delivered: HTTP "
			    "401") != NULL)
				break;
			usleep(100000);
		}
		cr_assert_not_null(strstr(log, "notification 2 not delivered: "
		    "HTTP 401"), "the receiver refused it: %s",
		    harness_redact(log));
	}
	cr_assert_eq(harness_metric(&vixd, "vix_webhook_acked_seq{recipient="
	    "\"org-b\"}"), 1, "an event the receiver refused is not taken");
	cr_assert_eq(harness_stop_bg(l), 0);
	cr_assert(!harness_wait_for_text(out2, "nl.vix", 100),
	    "nothing printed that did not verify");
	cr_assert_eq(harness_stop(&vixd), 0);
}

/* Stopping while a replay waits for a request the receiver holds. */
Test(webhook, stops_cleanly_with_a_replay_waiting)
{
	char out[PATH_MAX], sock[PATH_MAX];
	struct timespec t0, t1;
	pid_t ctl;

	start_with_webhook("ca.pem");
	register_youth("org-a");
	register_youth("org-b");
	wait_delivered("org-b:1", 1);
	rx_set_mode(ANSWER_HOLD);
	vix_ok("org-a", (const char *[]){ "withdraw", "--bsn", BSN,
	    "--reason", "unjustified", NULL });
	wait_sent("org-b:2", 1);	/* vixd waits for its answer */
	snprintf(out, sizeof(out), "%s/replay.out", vixd.dir);
	ctl = harness_spawn_bg((const char *[]){ getenv("VIXCTL"), "-s",
	    harness_dev_file(&vixd, "control.sock", sock, sizeof(sock)),
	    "webhook", "replay", "--org", "org-b", "--from", "1", NULL }, out);
	usleep(300000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(harness_stop(&vixd), 0, "vixd stopped cleanly");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 10, "the held request did not "
	    "hold up the stop");
	cr_assert_neq(harness_stop_bg(ctl), 0, "the replay was not done");
	rx_set_mode(ANSWER_OK);
	rx_stop();
}
