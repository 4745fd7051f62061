/*
 * Blind pseudonyms end to end (docs/pseudonyms.md): vixd --dev with
 * pseudonyms = blind and the key holder it starts. Clients reach vixd
 * through a relay in this test that ends their TLS and starts its own to
 * vixd with the same organisation's certificate, keeping every byte vixd
 * receives: no test BSN may be among them, while every request that takes
 * a BSN works. The same relay in front of a vixd with server pseudonyms
 * sees the BSNs, which shows that it would see them.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include <vix/client.h>
#include "harness.h"
#include "oprf.h"

#define RELAY_MAX_CONNS	32
#define CAPTURE_MAX	(8u << 20)

/* ---- a relay that keeps what vixd receives ---------------------------- */

struct capture {
	pthread_mutex_t	 lock;
	char		*buf;
	size_t		 len;
};

static void
capture_add(struct capture *c, const void *p, size_t n)
{
	pthread_mutex_lock(&c->lock);
	if (c->len + n <= CAPTURE_MAX) {
		if (c->buf == NULL)
			c->buf = malloc(CAPTURE_MAX);
		if (c->buf != NULL) {
			memcpy(c->buf + c->len, p, n);
			c->len += n;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

/* Whether needle occurs in what was captured. */
static int
capture_has(struct capture *c, const char *needle)
{
	int found;

	pthread_mutex_lock(&c->lock);
	found = c->len > 0 && memmem(c->buf, c->len, needle,
	    strlen(needle)) != NULL;
	pthread_mutex_unlock(&c->lock);
	return found;
}

/* One side of a relayed connection: a socket, with TLS or without. */
struct end {
	int	 fd;
	SSL	*ssl;
};

struct relay {
	int		 lfd;
	int		 unix_socket;	/* vixctl's control socket */
	char		 upstream[PATH_MAX];	/* host:port, or a path */
	SSL_CTX		*sctx, *cctx;	/* TLS towards the client, vixd */
	struct capture	*cap;		/* what goes towards vixd */
	volatile int	 stop;
	pthread_t	 thread;
	pthread_t	 conns[RELAY_MAX_CONNS];
	size_t		 nconns;
};

struct pair {
	struct relay	*r;
	int		 fd;
};

/* Read what there is: >0 bytes, 0 nothing now, -1 closed or failed. */
static ssize_t
end_read(struct end *e, void *buf, size_t len)
{
	ssize_t n;
	int rc;

	if (e->ssl == NULL) {
		n = read(e->fd, buf, len);
		return n > 0 ? n : n == -1 && errno == EAGAIN ? 0 : -1;
	}
	rc = SSL_read(e->ssl, buf, (int)len);
	if (rc > 0)
		return rc;
	rc = SSL_get_error(e->ssl, rc);
	return rc == SSL_ERROR_WANT_READ || rc == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

static int
end_write(struct end *e, const char *buf, size_t len)
{
	struct pollfd p = { e->fd, POLLOUT, 0 };
	ssize_t n;
	int rc;

	for (int tries = 0; len > 0 && tries < 1000; tries++) {
		if (e->ssl == NULL) {
			n = write(e->fd, buf, len);
			rc = n > 0 ? 0 : errno == EAGAIN ? 1 : -1;
		} else {
			n = SSL_write(e->ssl, buf, (int)len);
			rc = n > 0 ? 0 : SSL_get_error(e->ssl, (int)n) ==
			    SSL_ERROR_WANT_WRITE || SSL_get_error(e->ssl,
			    (int)n) == SSL_ERROR_WANT_READ ? 1 : -1;
		}
		if (rc == -1)
			return -1;
		if (rc == 1) {
			poll(&p, 1, 100);
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return len == 0 ? 0 : -1;
}

static int
connect_upstream(struct relay *r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char *colon;
	int fd;

	if (r->unix_socket) {
		if (strlen(r->upstream) >= sizeof(sun.sun_path))
			return -1;
		memcpy(sun.sun_path, r->upstream, strlen(r->upstream) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd != -1 && connect(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == -1) {
			close(fd);
			return -1;
		}
		return fd;
	}
	colon = strrchr(r->upstream, ':');
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd != -1 && connect(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One client: its TLS ended here, a new one to vixd, bytes both ways. */
static void *
relay_conn(void *arg)
{
	struct pair *pr = arg;
	struct relay *r = pr->r;
	struct end in = { pr->fd, NULL }, out = { -1, NULL };
	char buf[16384];
	int open = 1;

	free(pr);
	if ((out.fd = connect_upstream(r)) == -1)
		goto done;
	if (!r->unix_socket) {
		in.ssl = SSL_new(r->sctx);
		out.ssl = SSL_new(r->cctx);
		SSL_set_fd(in.ssl, in.fd);
		SSL_set_fd(out.ssl, out.fd);
		if (SSL_accept(in.ssl) != 1 || SSL_connect(out.ssl) != 1)
			goto done;
	}
	fcntl(in.fd, F_SETFL, O_NONBLOCK);
	fcntl(out.fd, F_SETFL, O_NONBLOCK);
	while (open && !r->stop) {
		struct pollfd p[2] = { { in.fd, POLLIN, 0 },
		    { out.fd, POLLIN, 0 } };
		ssize_t n;

		if ((in.ssl == NULL || SSL_pending(in.ssl) == 0) &&
		    (out.ssl == NULL || SSL_pending(out.ssl) == 0))
			poll(p, 2, 100);
		while (open && (n = end_read(&in, buf, sizeof(buf))) != 0) {
			if (n < 0 || end_write(&out, buf, (size_t)n) == -1)
				open = 0;
			else
				capture_add(r->cap, buf, (size_t)n);
		}
		while (open && (n = end_read(&out, buf, sizeof(buf))) != 0)
			if (n < 0 || end_write(&in, buf, (size_t)n) == -1)
				open = 0;
	}
done:
	if (in.ssl != NULL)
		SSL_free(in.ssl);
	if (out.ssl != NULL)
		SSL_free(out.ssl);
	close(in.fd);
	if (out.fd != -1)
		close(out.fd);
	return NULL;
}

static void *
relay_accept(void *arg)
{
	struct relay *r = arg;

	while (!r->stop) {
		struct pollfd p = { r->lfd, POLLIN, 0 };
		struct pair *pr;
		int fd;

		if (poll(&p, 1, 100) <= 0 || (fd = accept(r->lfd, NULL,
		    NULL)) == -1)
			continue;
		if (r->nconns == RELAY_MAX_CONNS ||
		    (pr = malloc(sizeof(*pr))) == NULL) {
			close(fd);
			continue;
		}
		pr->r = r;
		pr->fd = fd;
		if (pthread_create(&r->conns[r->nconns], NULL, relay_conn,
		    pr) == 0)
			r->nconns++;
		else {
			free(pr);
			close(fd);
		}
	}
	return NULL;
}

/*
 * A relay on a loopback port to vixd, as organisation org (its dev
 * certificate towards vixd; towards the client the dev server
 * certificate, which names 127.0.0.1); *addr is where clients go.
 */
static void
relay_tls(struct relay *r, struct vixd_proc *p, const char *org,
    struct capture *cap, char *addr, size_t len)
{
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], file[64];
	uint16_t port;

	memset(r, 0, sizeof(*r));
	r->cap = cap;
	snprintf(r->upstream, sizeof(r->upstream), "%s", p->addr);
	cr_assert_not_null(r->sctx = SSL_CTX_new(TLS_server_method()));
	harness_dev_file(p, "server.pem", cert, sizeof(cert));
	harness_dev_file(p, "server.key", key, sizeof(key));
	cr_assert_eq(SSL_CTX_use_certificate_chain_file(r->sctx, cert), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey_file(r->sctx, key,
	    SSL_FILETYPE_PEM), 1);
	cr_assert_not_null(r->cctx = SSL_CTX_new(TLS_client_method()));
	snprintf(file, sizeof(file), "%s.pem", org);
	harness_dev_file(p, file, cert, sizeof(cert));
	snprintf(file, sizeof(file), "%s.key", org);
	harness_dev_file(p, file, key, sizeof(key));
	harness_dev_file(p, "ca.pem", ca, sizeof(ca));
	cr_assert_eq(SSL_CTX_use_certificate_chain_file(r->cctx, cert), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey_file(r->cctx, key,
	    SSL_FILETYPE_PEM), 1);
	cr_assert_eq(SSL_CTX_load_verify_locations(r->cctx, ca, NULL), 1);
	SSL_CTX_set_verify(r->cctx, SSL_VERIFY_PEER, NULL);
	r->lfd = harness_listen_loopback(&port);
	snprintf(addr, len, "127.0.0.1:%u", port);
	cr_assert_eq(pthread_create(&r->thread, NULL, relay_accept, r), 0);
}

/* A relay on a unix socket at path to vixd's control socket. */
static void
relay_unix(struct relay *r, struct vixd_proc *p, struct capture *cap,
    const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(r, 0, sizeof(*r));
	r->cap = cap;
	r->unix_socket = 1;
	harness_dev_file(p, "control.sock", r->upstream, sizeof(r->upstream));
	cr_assert_lt(strlen(path), sizeof(sun.sun_path), "%s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	cr_assert_neq(r->lfd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	cr_assert_eq(bind(r->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0,
	    "bind %s: %s", path, strerror(errno));
	cr_assert_eq(listen(r->lfd, 8), 0);
	cr_assert_eq(pthread_create(&r->thread, NULL, relay_accept, r), 0);
}

static void
relay_stop(struct relay *r)
{
	r->stop = 1;
	pthread_join(r->thread, NULL);
	for (size_t i = 0; i < r->nconns; i++)
		pthread_join(r->conns[i], NULL);
	close(r->lfd);
	SSL_CTX_free(r->sctx);
	SSL_CTX_free(r->cctx);
}

/* ---- the test's youths and clients ------------------------------------ */

#define NBSN	300

static char bsns[NBSN][10];

static void
load_bsns(void)
{
	char path[PATH_MAX], line[64];
	FILE *fp;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/bsn-valid.txt", getenv("VIX_TESTDATA"));
	cr_assert_not_null(fp = fopen(path, "r"), "%s", path);
	while (n < NBSN && fgets(line, sizeof(line), fp) != NULL)
		if (line[0] >= '0' && line[0] <= '9' && strlen(line) >= 9) {
			memcpy(bsns[n], line, 9);
			bsns[n++][9] = '\0';
		}
	fclose(fp);
	cr_assert_eq(n, NBSN);
}

/* The key holder vixd --dev started, as vix --dev finds it. */
static void
keyholder_of(struct vixd_proc *p, char *out, size_t len)
{
	char path[PATH_MAX];
	FILE *fp;

	harness_dev_file(p, "keyholder", path, sizeof(path));
	cr_assert_not_null(fp = fopen(path, "r"), "%s", path);
	cr_assert_not_null(fgets(out, (int)len, fp));
	fclose(fp);
	out[strcspn(out, "\n")] = '\0';
}

/* A libvix client as org, to server (a relay, or vixd), blind if kh. */
static vix_client *
connect_to(struct vixd_proc *p, const char *org, const char *server,
    const char *kh)
{
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], file[64];
	struct vix_options o = { 0 };
	struct vix_error err;
	vix_client *c;

	snprintf(file, sizeof(file), "%s.pem", org);
	harness_dev_file(p, file, cert, sizeof(cert));
	snprintf(file, sizeof(file), "%s.key", org);
	harness_dev_file(p, file, key, sizeof(key));
	harness_dev_file(p, "ca.pem", ca, sizeof(ca));
	o.server = server;
	o.cert_file = cert;
	o.key_file = key;
	o.ca_file = ca;
	o.keyholder = kh;
	cr_assert_eq(vix_connect(&o, &c, &err), VIX_OK, "connect %s: %s",
	    org, err.message);
	return c;
}

/* Register, waiting out a rate limit (vixd's or the key holder's). */
static int
reg(vix_client *c, const char *bsn, const char *contact,
    struct vix_register_result *out)
{
	struct vix_register_req rq = { .bsn = bsn, .birth_date = "2015-03-01",
	    .contact_name = contact, .contact_phone = "0501234567" };
	struct vix_error err;
	struct timespec pause = { 0, 50 * 1000000L };

	for (int tries = 0; tries < 400; tries++) {
		if (vix_register(c, &rq, out, &err) == VIX_OK)
			return 0;
		if (err.kind != VIX_ERR_REFUSED ||
		    err.status != VIX_STATUS_RESOURCE_EXHAUSTED)
			cr_assert_fail("register: %s", err.message);
		if (err.retry_after_ms > 0)
			pause.tv_nsec = (long)(err.retry_after_ms < 900 ?
			    err.retry_after_ms : 900) * 1000000L;
		nanosleep(&pause, NULL);
	}
	return -1;
}

static void
vixctl_via(struct run_result *r, const char *sock, struct vixd_proc *p,
    const char *const *args, const char *in)
{
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], kh[300];
	const char *argv[24] = { getenv("VIXCTL"), "-s", sock };
	size_t n = 3;

	keyholder_of(p, kh, sizeof(kh));
	harness_dev_file(p, "admin.pem", cert, sizeof(cert));
	harness_dev_file(p, "admin.key", key, sizeof(key));
	harness_dev_file(p, "ca.pem", ca, sizeof(ca));
	argv[n++] = "--keyholder";
	argv[n++] = kh;
	argv[n++] = "--cert";
	argv[n++] = cert;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = "--ca";
	argv[n++] = ca;
	for (; *args != NULL && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	harness_run_stdin(r, argv, in);
}

static void
init(void)
{
	signal(SIGPIPE, SIG_IGN);
	load_bsns();
}

TestSuite(blind, .init = init, .timeout = 240);

/*
 * Every request that takes a BSN, through the relay: register (and the
 * match both hear of), involved, list, withdraw, a subscriber's
 * notification, subject report and erase through vixctl. Then no test
 * BSN is in anything vixd received, on either socket.
 */
Test(blind, no_bsn_reaches_vixd_and_everything_works)
{
	struct vixd_proc p;
	struct relay ra, rb, rc;
	struct capture cap = { PTHREAD_MUTEX_INITIALIZER, NULL, 0 };
	struct vix_register_result rr;
	struct vix_involved_result ir;
	struct vix_withdraw_result wr;
	struct vix_list_result lr;
	struct vix_subscribe_result sr;
	struct vix_notification nt;
	struct vix_error err;
	struct run_result r;
	char aaddr[64], baddr[64], kh[300], sock[PATH_MAX];
	vix_client *a, *b, *sub;
	uint64_t sig_a;

	harness_start(&p, (const char *[]){ "--pseudonyms", "blind", NULL });
	keyholder_of(&p, kh, sizeof(kh));
	relay_tls(&ra, &p, "org-a", &cap, aaddr, sizeof(aaddr));
	relay_tls(&rb, &p, "org-b", &cap, baddr, sizeof(baddr));
	snprintf(sock, sizeof(sock), "%s/relay.sock", p.dir);
	relay_unix(&rc, &p, &cap, sock);

	a = connect_to(&p, "org-a", aaddr, kh);
	b = connect_to(&p, "org-b", baddr, kh);
	sub = connect_to(&p, "org-b", baddr, kh);
	cr_assert_eq(vix_subscribe(sub, 0, NULL, 0, &sr, &err), VIX_OK, "%s",
	    err.message);
	vix_subscribe_result_free(&sr);

	for (int i = 0; i < 3; i++) {
		cr_assert_eq(reg(a, bsns[i], "A", &rr), 0);
		cr_assert(!rr.has_match);
		if (i == 0)
			sig_a = rr.signal_id;
		vix_register_result_free(&rr);
	}
	cr_assert_eq(reg(b, bsns[0], "B", &rr), 0);
	cr_assert(rr.has_match, "org-b's registration matches org-a's");
	cr_assert_str_eq(rr.match.others[0].org_id, "org-a");
	vix_register_result_free(&rr);
	cr_assert_eq(vix_next_notification(sub, 10000, &nt, &err), VIX_OK,
	    "%s", err.message);
	cr_assert_eq(nt.type, VIX_NOTIFY_MATCH_CREATED);
	vix_notification_free(&nt);

	cr_assert_eq(vix_involved(a, bsns[0], &ir, &err), VIX_OK, "%s",
	    err.message);
	cr_assert_eq(ir.signal_id, sig_a);
	cr_assert(ir.has_match);
	vix_involved_result_free(&ir);
	cr_assert_eq(vix_list(a, 0, 0, &lr, &err), VIX_OK, "%s", err.message);
	cr_assert_eq(lr.n, 3);
	vix_list_result_free(&lr);
	cr_assert_eq(vix_withdraw(a, 0, bsns[1], VIX_WITHDRAW_RISK_RESOLVED,
	    &wr, &err), VIX_OK, "%s", err.message);
	cr_assert(wr.archived);
	/* A BSN that fails the 11-test is refused by libvix, never sent. */
	cr_assert_eq(vix_involved(a, "123456789", &ir, &err), VIX_ERR_ARGS);

	vixctl_via(&r, sock, &p, (const char *[]){ "--json",
	    "subject-report", "--bsn", "-", NULL }, bsns[0]);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(harness_count(r.out, "\"org\":\"org-"), 2, "both "
	    "organisations' signals: %s", r.out);
	vixctl_via(&r, sock, &p, (const char *[]){ "erase", "--bsn", "-",
	    "--reason", "death", NULL }, bsns[2]);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(vix_involved(a, bsns[2], &ir, &err), VIX_ERR_REFUSED,
	    "erased: org-a has no signal on it any more");

	vix_close(a);
	vix_close(b);
	vix_close(sub);
	relay_stop(&ra);
	relay_stop(&rb);
	relay_stop(&rc);
	/* The relays carried the requests, in the clear: */
	cr_assert(capture_has(&cap, "2015-03-01"), "registrations' birth date");
	cr_assert(capture_has(&cap, "subject-report p:"), "vixctl's line");
	for (int i = 0; i < NBSN; i++)
		cr_assert(!capture_has(&cap, bsns[i]), "a test BSN reached vixd");
	cr_assert_eq(harness_dir_contains(p.dir, bsns[0], NULL, 0), 0,
	    "no BSN in vixd's or the key holder's files");
	free(cap.buf);
	cr_assert_eq(harness_stop(&p), 0);
}

/* The relay sees a BSN when there is one to see: server pseudonyms. */
Test(blind, the_relay_sees_bsns_sent_to_a_server_pseudonym_index)
{
	struct vixd_proc p;
	struct relay ra;
	struct capture cap = { PTHREAD_MUTEX_INITIALIZER, NULL, 0 };
	struct vix_register_result rr;
	char aaddr[64];
	vix_client *a;

	harness_start(&p, NULL);
	relay_tls(&ra, &p, "org-a", &cap, aaddr, sizeof(aaddr));
	a = connect_to(&p, "org-a", aaddr, NULL);
	cr_assert_eq(reg(a, bsns[5], "A", &rr), 0);
	vix_register_result_free(&rr);
	vix_close(a);
	relay_stop(&ra);
	cr_assert(capture_has(&cap, bsns[5]), "the capture holds the BSN");
	free(cap.buf);
	cr_assert_eq(harness_stop(&p), 0);
}

/* vix-keyd's pid, from the line vixd --dev logs about it. */
static pid_t
keyd_pid(struct vixd_proc *p)
{
	char log[65536];
	const char *at;
	long pid = 0;

	harness_log(p, log, sizeof(log));
	at = strstr(log, "development key holder (pid ");
	cr_assert_not_null(at, "%s", log);
	cr_assert_eq(sscanf(at, "development key holder (pid %ld)", &pid), 1);
	return (pid_t)pid;
}

static void
keyd_command(struct vixd_proc *p, const char *const *args)
{
	char keyfile[PATH_MAX];
	const char *argv[8] = { getenv("VIX_KEYD_BIN"), "--key-file" };
	struct run_result r;
	size_t n = 2;

	argv[n++] = harness_dev_file(p, "keyd.key", keyfile, sizeof(keyfile));
	for (; *args != NULL && n < 7; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	harness_run(&r, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
}

struct during {
	struct vixd_proc *p;
	const char	*kh;
	int		 matched, done;
	volatile int	 started;
};

/* org-b registers youths 0 .. NBSN/2 while the rotation runs. */
static void *
register_during(void *arg)
{
	struct during *d = arg;
	struct vix_register_result rr;
	vix_client *b = connect_to(d->p, "org-b", d->p->addr, d->kh);

	for (int i = 0; i < NBSN / 2; i++) {
		if (reg(b, bsns[i], "B", &rr) == 0) {
			d->done++;
			d->matched += rr.has_match;
		}
		vix_register_result_free(&rr);
		if (i == 20)
			d->started = 1;
	}
	vix_close(b);
	return NULL;
}

/*
 * Register under key version 1, rotate to 2 while another organisation
 * registers the same youths (each matches, whichever version its
 * pseudonym came under and wherever its youth is), then register the
 * rest under version 2: every one matches. The old key then goes.
 */
Test(blind, rotation_while_registering_keeps_every_match)
{
	struct vixd_proc p;
	struct vix_register_result rr;
	struct during d = { 0 };
	struct run_result r;
	char kh[300], log[65536];
	vix_client *a, *b;
	pthread_t t;
	int matched = 0;

	harness_start(&p, (const char *[]){ "--pseudonyms", "blind", NULL });
	keyholder_of(&p, kh, sizeof(kh));
	a = connect_to(&p, "org-a", p.addr, kh);
	for (int i = 0; i < NBSN; i++) {
		cr_assert_eq(reg(a, bsns[i], "A", &rr), 0);
		vix_register_result_free(&rr);
	}
	keyd_command(&p, (const char *[]){ "--add-key", NULL });
	cr_assert_eq(kill(keyd_pid(&p), SIGHUP), 0);

	d.p = &p;
	d.kh = kh;
	cr_assert_eq(pthread_create(&t, NULL, register_during, &d), 0);
	for (int i = 0; i < 600 && !d.started; i++)
		usleep(10000);
	harness_run(&r, (const char *[]){ getenv("VIXCTL"), "-s",
	    harness_dev_file(&p, "control.sock", log, sizeof(log)), "rotate",
	    NULL });
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	for (int i = 0; i < 300; i++) {
		harness_run(&r, (const char *[]){ getenv("VIXCTL"), "-s",
		    harness_dev_file(&p, "control.sock", log, sizeof(log)),
		    "rotate", "--status", NULL });
		if (strstr(r.out, "the last rotation is done") != NULL)
			break;
		usleep(100000);
	}
	cr_assert_not_null(strstr(r.out, "key version 2"), "%s", r.out);
	pthread_join(t, NULL);
	cr_assert_eq(d.done, NBSN / 2);
	cr_assert_eq(d.matched, NBSN / 2, "every registration during the "
	    "rotation matched org-a's under version 1");

	b = connect_to(&p, "org-b", p.addr, kh);
	for (int i = NBSN / 2; i < NBSN; i++) {
		cr_assert_eq(reg(b, bsns[i], "B", &rr), 0);
		matched += rr.has_match;
		vix_register_result_free(&rr);
	}
	cr_assert_eq(matched, NBSN / 2, "under version 2, every youth "
	    "registered under version 1 is found");
	cr_assert_not_null(strstr(harness_log(&p, log, sizeof(log)),
	    "key rotation: done"), "%s", log);

	/* The old key goes; the store no longer needs it. */
	keyd_command(&p, (const char *[]){ "--destroy-key", "1", NULL });
	cr_assert_eq(kill(keyd_pid(&p), SIGHUP), 0);
	usleep(200000);
	cr_assert_eq(reg(a, bsns[0], "A", &rr), 0);
	cr_assert_eq(rr.status, VIX_SIGNAL_REFRESHED);
	cr_assert(rr.has_match);
	vix_register_result_free(&rr);
	harness_run(&r, (const char *[]){ getenv("VIXCTL"), "-s",
	    harness_dev_file(&p, "control.sock", log, sizeof(log)), "audit",
	    "verify", NULL });
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	vix_close(a);
	vix_close(b);
	cr_assert_eq(harness_stop(&p), 0);
}

/*
 * vixd stopped right after a rotation began (its steps at the writer, or
 * back and wanting the next): it stops cleanly, and after the restart the
 * rotation goes on where it stopped and every youth is still found.
 */
Test(blind, a_stop_during_a_rotation_resumes_it_after_the_restart)
{
	const char *const blind[] = { "--pseudonyms", "blind", NULL };
	struct vixd_proc p;
	struct vix_register_result rr;
	struct run_result r;
	char kh[300], sock[PATH_MAX], log[65536];
	vix_client *a, *b;
	int status, matched = 0;

	harness_start(&p, blind);
	keyholder_of(&p, kh, sizeof(kh));
	a = connect_to(&p, "org-a", p.addr, kh);
	for (int i = 0; i < NBSN; i++) {
		cr_assert_eq(reg(a, bsns[i], "A", &rr), 0);
		vix_register_result_free(&rr);
	}
	vix_close(a);
	keyd_command(&p, (const char *[]){ "--add-key", NULL });
	cr_assert_eq(kill(keyd_pid(&p), SIGHUP), 0);
	harness_dev_file(&p, "control.sock", sock, sizeof(sock));
	/* The key holder reads its new key from its own loop, a moment on. */
	for (int i = 0; i < 50; i++) {
		harness_run(&r, (const char *[]){ getenv("VIXCTL"), "-s", sock,
		    "rotate", NULL });
		if (r.status == 0 || (strstr(r.err, "has no key version "
		    "after") == NULL && strstr(r.out, "has no key version "
		    "after") == NULL))
			break;
		usleep(100000);
	}
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	status = harness_signal_wait(&p, SIGTERM);
	cr_assert_eq(status, 0, "vixd exited with %d when stopped during a "
	    "rotation", status);

	harness_restart_with(&p, blind);
	cr_log_info("the rotation was %s when vixd stopped",
	    strstr(harness_log(&p, log, sizeof(log)), "going on where it "
	    "stopped") != NULL ? "under way" : "done or not begun");
	for (int i = 0; i < 300; i++) {
		harness_run(&r, (const char *[]){ getenv("VIXCTL"), "-s", sock,
		    "rotate", "--status", NULL });
		if (strstr(r.out, "the last rotation is done") != NULL)
			break;
		usleep(100000);
	}
	cr_assert_not_null(strstr(r.out, "the last rotation is done"), "%s",
	    r.out);
	cr_assert_not_null(strstr(r.out, "key version 2"), "%s", r.out);
	keyholder_of(&p, kh, sizeof(kh));
	b = connect_to(&p, "org-b", p.addr, kh);
	for (int i = 0; i < NBSN; i += 10) {
		cr_assert_eq(reg(b, bsns[i], "B", &rr), 0);
		matched += rr.has_match;
		vix_register_result_free(&rr);
	}
	vix_close(b);
	cr_assert_eq(matched, NBSN / 10, "after the stop and the rotation, "
	    "%d of %d youths are found", matched, NBSN / 10);
	harness_run(&r, (const char *[]){ getenv("VIXCTL"), "-s", sock,
	    "audit", "verify", NULL });
	cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_assert_eq(harness_stop(&p), 0);
}

/* A Register with this pseudonym, sent as it is; the answer's status. */
static Vix__V1__ServerMessage *
register_raw(SSL *ssl, uint8_t element[32], uint32_t version,
    uint8_t key_id[16])
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register reg = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact ct = VIX__V1__CONTACT__INIT;
	Vix__V1__Pseudonym pb = VIX__V1__PSEUDONYM__INIT;

	pb.element.data = element;
	pb.element.len = 32;
	pb.key_version = version;
	pb.key_id.data = key_id;
	pb.key_id.len = 16;
	reg.pseudonym = &pb;
	reg.birth_date = "2015-03-01";
	ct.name = "A";
	ct.phone = "0501234567";
	reg.contact = &ct;
	req.id = 1;
	req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req.register_ = &reg;
	harness_send_request(ssl, &req);
	return harness_next_response(ssl, "register");
}

/*
 * A pseudonym under a version the index does not keep, or made by another
 * key holder (another key, same version), is refused naming the field; a
 * BSN is refused by a blind index; and a key holder that holds another key
 * than the store's keeps vixd from starting.
 */
Test(blind, foreign_keys_and_raw_bsns_are_refused)
{
	struct vixd_proc p;
	Vix__V1__ServerMessage *m;
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Involved inv = VIX__V1__INVOLVED__INIT;
	uint8_t sk[32], pk[32], seed[32], id[16], element[32], r[32];
	uint8_t blinded[32], evaluated[32];
	char kf[PATH_MAX], script[3 * PATH_MAX + 256], log[65536];
	struct run_result rr;
	SSL *ssl;

	harness_start(&p, (const char *[]){ "--pseudonyms", "blind", NULL });
	ssl = harness_connect_as(&p, "org-a");
	/* Another key holder's key: a pseudonym the index never saw made. */
	randombytes_buf(seed, sizeof(seed));
	cr_assert_eq(oprf_derive_key_pair(seed, (const uint8_t *)"x", 1, sk,
	    pk), 0);
	cr_assert_eq(oprf_blind((const uint8_t *)"NL:bsn:999990019", 16, NULL,
	    r, blinded), 0);
	cr_assert_eq(oprf_blind_evaluate(sk, blinded, evaluated), 0);
	cr_assert_eq(oprf_unblind(r, evaluated, element), 0);
	randombytes_buf(id, sizeof(id));

	m = register_raw(ssl, element, 1, id);
	cr_assert_eq(m->response->status->code,
	    VIX__V1__STATUS__CODE__FAILED_PRECONDITION);
	cr_assert_not_null(strstr(m->response->status->message,
	    "pseudonym.key_id"), "%s", m->response->status->message);
	cr_assert_not_null(strstr(m->response->status->message,
	    "another key holder"), "%s", m->response->status->message);
	vix__v1__server_message__free_unpacked(m, NULL);

	m = register_raw(ssl, element, 7, id);
	cr_assert_eq(m->response->status->code,
	    VIX__V1__STATUS__CODE__FAILED_PRECONDITION);
	cr_assert_not_null(strstr(m->response->status->message,
	    "pseudonym.key_version: 7"), "%s", m->response->status->message);
	vix__v1__server_message__free_unpacked(m, NULL);

	element[0] |= 1;	/* negative: not a canonical encoding */
	m = register_raw(ssl, element, 1, id);
	cr_assert_eq(m->response->status->code,
	    VIX__V1__STATUS__CODE__INVALID_ARGUMENT);
	cr_assert_not_null(strstr(m->response->status->message,
	    "pseudonym.element"), "%s", m->response->status->message);
	vix__v1__server_message__free_unpacked(m, NULL);

	inv.bsn = (char *)"999990019";
	req.id = 2;
	req.body_case = VIX__V1__REQUEST__BODY_INVOLVED;
	req.involved = &inv;
	harness_send_request(ssl, &req);
	m = harness_next_response(ssl, "involved");
	cr_assert_eq(m->response->status->code,
	    VIX__V1__STATUS__CODE__INVALID_ARGUMENT);
	cr_assert_not_null(strstr(m->response->status->message,
	    "only blind pseudonyms"), "%s", m->response->status->message);
	cr_assert_null(strstr(m->response->status->message, "999990019"));
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(ssl);

	/* Another key holder's key file under the store: vixd refuses. */
	cr_assert_eq(harness_stop_keep(&p), 0);
	harness_dev_file(&p, "keyd.key", kf, sizeof(kf));
	snprintf(script, sizeof(script), "rm -f '%s' && '%s' --key-file '%s' "
	    "--init", kf, getenv("VIX_KEYD_BIN"), kf);
	harness_run(&rr, (const char *[]){ "/bin/sh", "-c", script, NULL });
	cr_assert_eq(rr.status, 0, "%s", rr.err);
	snprintf(script, sizeof(script), "cd '%s' && exec timeout 20 '%s' "
	    "--dev --data '%s' --listen 127.0.0.1:0 --admin-listen "
	    "127.0.0.1:0 --pseudonyms blind", p.dir, getenv("VIXD"),
	    p.dev_dir);
	harness_run(&rr, (const char *[]){ "/bin/sh", "-c", script, NULL });
	cr_assert_eq(rr.status, 1, "refused at start: %s", rr.err);
	cr_assert_not_null(strstr(rr.err, "do not belong together"), "%s",
	    rr.err);
	(void)log;
	harness_stop(&p);	/* stopped already: its folder goes */
}

/*
 * The command line against a blind index, as the README's tour uses it:
 * vix --dev finds the key holder vixd --dev started; vix import registers
 * a file's youths blind, and a second organisation's vix register matches
 * them; nothing printed names a BSN.
 */
Test(blind, vix_and_vix_import_find_the_key_holder)
{
	struct vixd_proc p;
	struct run_result r;
	char csv[PATH_MAX];
	FILE *fp;

	harness_start(&p, (const char *[]){ "--pseudonyms", "blind", NULL });
	snprintf(csv, sizeof(csv), "%s/signals.csv", p.dir);
	cr_assert_not_null(fp = fopen(csv, "w"));
	fprintf(fp, "bsn,birth_date,days,contact_name,contact_phone,"
	    "contact_email,client_ref,municipality\n");
	for (int i = 100; i < 120; i++)
		fprintf(fp, "%s,2015-03-01,30,A,0501234567,,ref-%d,\n",
		    bsns[i], i);
	cr_assert_eq(fclose(fp), 0);
	harness_vix(&r, &p, "org-a", (const char *[]){ "import", csv, NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	harness_vix_stdin(&r, &p, "org-b", (const char *[]){ "register",
	    "--bsn", "-", "--birth-date", "2015-03-01", "--contact-name", "B",
	    "--contact-phone", "0201234567", NULL }, bsns[110]);
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_not_null(strstr(r.out, "MATCH"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "org-a"), "%s", r.out);
	for (int i = 100; i < 120; i++)
		cr_assert_null(strstr(r.out, bsns[i]));
	harness_vix_stdin(&r, &p, "org-a", (const char *[]){ "involved",
	    "--bsn", "-", NULL }, bsns[110]);
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_not_null(strstr(r.out, "org-b"), "%s", r.out);
	cr_assert_eq(harness_stop(&p), 0);
}
