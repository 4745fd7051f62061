/* Client connections: handshake, identity, framing, teardown. */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "conn.h"
#include "frame.h"
#include "handlers.h"
#include "log.h"
#include "push.h"
#include "tls.h"

#define CONN_CLOSE_TIMEOUT	5	/* seconds to drain output on close */
#define CONN_WRITE_TIMEOUT	60	/* seconds a peer may stall our output */
#define CONN_LINGER_TIMEOUT	2	/* seconds to read and discard after close */


/* Unsent answers beyond which a connection is not read (see conn_full). */
#define CONN_OUTPUT_HIGH(max_frame)	(4 * (size_t)(max_frame) + 65536)

static void conn_readcb(struct bufferevent *, void *);
static void conn_writecb(struct bufferevent *, void *);
static void conn_eventcb(struct bufferevent *, short, void *);
static void conn_release(evutil_socket_t, short, void *);

static void
conn_set_timeouts(struct conn *c, unsigned read_secs)
{
	struct timeval rd = { read_secs, 0 }, wr = { CONN_WRITE_TIMEOUT, 0 };

	bufferevent_set_timeouts(c->bev, read_secs ? &rd : NULL, &wr);
}

/* Callbacks, handshake timeout, and the worker's list for a new connection. */
static void
conn_register(struct conn *c)
{
	struct worker *w = c->w;

	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, conn_readcb, conn_writecb, conn_eventcb, c);
	conn_set_timeouts(c, w->vixd->cfg.handshake_timeout);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	w->nconns++;
	atomic_fetch_add(&w->vixd->nconns, 1);
}

/* The handshake is over (done, failed or cut): leave the hsgate once. */
static void
conn_handshake_over(struct conn *c)
{
	if (!c->in_hsgate)
		return;
	c->in_hsgate = 0;
	hsgate_leave(c->w->vixd->hsgate, &c->addr);
}

void
conn_accept(struct worker *w, int fd, const struct hsgate_addr *addr)
{
	struct vixd *v = w->vixd;
	struct conn *c;
	SSL *ssl;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ev_free = evtimer_new(w->base, conn_release, c)) == NULL ||
	    (ssl = vixd_ssl_new(v, &c->generation)) == NULL) {
		log_warnx("conn_accept: out of memory; connection dropped");
		if (c != NULL && c->ev_free != NULL)
			event_free(c->ev_free);
		free(c);
		hsgate_leave(v->hsgate, addr);
		close(fd);
		return;
	}
	c->addr = *addr;
	c->in_hsgate = 1;
	c->w = w;
	c->id = atomic_fetch_add(&v->conn_serial, 1) + 1;
	c->state = CONN_HANDSHAKE;
	/* On failure this frees ssl and closes fd (CLOSE_ON_FREE). */
	c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		log_warnx("conn_accept: cannot create TLS buffer; connection "
		    "dropped");
		conn_handshake_over(c);
		event_free(c->ev_free);
		free(c);
		return;
	}
	conn_register(c);
	log_debug("conn %llu: accepted on worker %u",
	    (unsigned long long)c->id, w->idx);
}

static void
conn_release(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct worker *w = c->w;

	/* A job at the writer still points here: free when it is back. */
	if (c->jobs > 0) {
		c->release_wanted = 1;
		return;
	}

	TAILQ_REMOVE(&w->conns, c, entry);
	w->nconns--;
	atomic_fetch_sub(&w->vixd->nconns, 1);
	conn_handshake_over(c);
	if (c->established)
		atomic_fetch_sub(&w->vixd->nestablished, 1);
	if (c->sub != NULL) {
		TAILQ_REMOVE(&w->subs, c->sub, entry);
		notify_free(c->sub);
		metrics_subscribers(&w->vixd->stats.metrics, w->idx, -1);
	}
	if (c->pusher != NULL)
		push_conn_closed(c);
	if (c->ev_close != NULL)
		event_free(c->ev_close);
	event_free(c->ev_free);
	bufferevent_free(c->bev);
	orgs_unref(c->orgs);
	free(c);
	if (w->draining && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

/*
 * Silence the connection now and free it on the next loop iteration, so
 * that no caller up the stack (a read callback in the middle of a batch of
 * frames) touches freed memory.
 */
static void
conn_free(struct conn *c)
{
	struct timeval now = { 0, 0 };

	c->state = CONN_CLOSING;
	c->broken = 1;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	if (c->ev_close != NULL)
		evtimer_del(c->ev_close);
	evtimer_add(c->ev_free, &now);
}

/* A closed connection's socket, read and discarded until the peer closes. */
struct conn_linger_sock {
	TAILQ_ENTRY(conn_linger_sock)	 entry;
	struct worker		*w;
	struct event		*ev;
	struct timeval		 deadline;
};

static void
linger_end(struct conn_linger_sock *l)
{
	TAILQ_REMOVE(&l->w->lingering, l, entry);
	close(event_get_fd(l->ev));
	event_free(l->ev);
	free(l);
}

static void
linger_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn_linger_sock *l = arg;
	struct timeval now;
	char scratch[4096];
	ssize_t n;

	gettimeofday(&now, NULL);
	if (!(what & EV_TIMEOUT) && timercmp(&now, &l->deadline, <)) {
		n = read(fd, scratch, sizeof(scratch));
		if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EINTR)))
			return;
	}
	linger_end(l);
}

/*
 * Closing a socket with unread input makes the kernel send a reset, which
 * can destroy what we sent last (an alert, an UNAUTHENTICATED response)
 * before the peer reads it. So half-close a duplicate of the socket and
 * read and discard until the peer closes too, for at most
 * CONN_LINGER_TIMEOUT seconds.
 */
static void
conn_linger(struct conn *c)
{
	struct timeval limit = { CONN_LINGER_TIMEOUT, 0 };
	struct conn_linger_sock *l;
	int fd = bufferevent_getfd(c->bev);

	if (fd < 0 || (l = calloc(1, sizeof(*l))) == NULL)
		return;
	if ((fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1 ||
	    (l->ev = event_new(c->w->base, fd, EV_READ | EV_PERSIST,
	    linger_read, l)) == NULL) {
		if (fd != -1)
			close(fd);
		free(l);
		return;
	}
	shutdown(fd, SHUT_WR);
	l->w = c->w;
	gettimeofday(&l->deadline, NULL);
	timeradd(&l->deadline, &limit, &l->deadline);
	TAILQ_INSERT_TAIL(&c->w->lingering, l, entry);
	event_add(l->ev, &limit);
}

void
conn_linger_free_all(struct worker *w)
{
	struct conn_linger_sock *l;

	while ((l = TAILQ_FIRST(&w->lingering)) != NULL)
		linger_end(l);
}

/* Output drained (or gave up waiting): send close_notify, linger, free. */
static void
conn_finish(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	if (!c->broken && ssl != NULL && SSL_is_init_finished(ssl)) {
		ERR_clear_error();
		SSL_shutdown(ssl);
	}
	conn_linger(c);
	conn_free(c);
}

static void
conn_close_drained(struct bufferevent *bev, void *arg)
{
	conn_finish(arg);
}

static void
conn_close_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	c->broken = 1;
	conn_finish(c);
}

static void
conn_close_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	c->broken = 1;	/* the peer is not reading: do not write more */
	conn_finish(c);
}

void
conn_teardown(struct conn *c, const char *reason)
{
	struct timeval tv = { CONN_CLOSE_TIMEOUT, 0 };

	if (c->state == CONN_CLOSING)
		return;
	conn_handshake_over(c);
	log_info("conn %llu%s%s%s: closed: %s", (unsigned long long)c->id,
	    c->org ? " (" : "", c->org ? c->org->id : "", c->org ? ")" : "",
	    reason);
	if (c->pusher != NULL)
		push_conn_ending(c, reason);
	c->state = CONN_CLOSING;
	if (c->broken ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_finish(c);
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(c->bev, NULL, conn_close_drained, conn_close_event, c);
	c->ev_close = evtimer_new(c->w->base, conn_close_timeout, c);
	if (c->ev_close == NULL) {
		conn_finish(c);
		return;
	}
	evtimer_add(c->ev_close, &tv);
}

void
conn_attach_subscription(struct conn *c, struct subscription *s)
{
	c->sub = s;
	TAILQ_INSERT_TAIL(&c->w->subs, s, entry);
	metrics_subscribers(&c->w->vixd->stats.metrics, c->w->idx, 1);
}

/* Expect the partner's certificate to name host (DNS name or address). */
static int
conn_expect_host(SSL *ssl, const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    host) == 1 ? 0 : -1;
	return SSL_set_tlsext_host_name(ssl, host) == 1 &&
	    SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

struct conn *
conn_dial(struct worker *w, const char *host, uint16_t port, struct pusher *p)
{
	struct vixd *v = w->vixd;
	struct conn *c;
	SSL *ssl = NULL;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ev_free = evtimer_new(w->base, conn_release, c)) == NULL ||
	    (ssl = vixd_client_ssl_new(v, &c->generation)) == NULL ||
	    conn_expect_host(ssl, host) == -1)
		goto fail;
	c->w = w;
	c->id = atomic_fetch_add(&v->conn_serial, 1) + 1;
	c->state = CONN_HANDSHAKE;
	c->pusher = p;
	c->bev = bufferevent_openssl_socket_new(w->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	ssl = NULL;	/* the bufferevent owns it now, or freed it */
	if (c->bev == NULL)
		goto fail;
	conn_register(c);
	if (bufferevent_socket_connect_hostname(c->bev, w->dns, AF_UNSPEC,
	    host, port) == -1) {
		c->broken = 1;
		conn_teardown(c, "cannot start connecting");
		return c;	/* the release schedules the redial */
	}
	return c;
fail:
	log_warnx("conn_dial: cannot set up a connection to %s", host);
	SSL_free(ssl);
	if (c != NULL && c->ev_free != NULL)
		event_free(c->ev_free);
	free(c);
	return NULL;
}

/*
 * As many requests at the writer as max_inflight allows, or more answers
 * waiting to be sent than a client that reads would ever leave: one that
 * pipelines without reading is not read from either, so that its answers
 * cannot pile up in our memory. Not for a subscription or a push target:
 * its output is mostly notifications, bounded by the window, and its acks
 * are what opens the window again, so they must always be read.
 */
static int
conn_full(const struct conn *c)
{
	if (c->jobs >= c->w->vixd->cfg.max_inflight)
		return 1;
	return c->sub == NULL && c->pusher == NULL &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) >
	    CONN_OUTPUT_HIGH(c->w->vixd->cfg.max_frame);
}

/*
 * Back-pressure in our own code, not with a read watermark: bytes OpenSSL
 * has already decrypted would stall behind one (PITFALLS). Frames already
 * read stay in the input buffer until conn_resume.
 */
static void
conn_pause(struct conn *c)
{
	c->paused = 1;
	bufferevent_disable(c->bev, EV_READ);
	/* Resume at half the high mark, not only once everything is sent. */
	bufferevent_setwatermark(c->bev, EV_WRITE,
	    CONN_OUTPUT_HIGH(c->w->vixd->cfg.max_frame) / 2, 0);
	metrics_read_paused(&c->w->vixd->stats.metrics);
	log_debug("conn %llu (%s): %u requests in flight, %zu bytes unsent: "
	    "not reading until there is room", (unsigned long long)c->id,
	    c->org->id, c->jobs,
	    evbuffer_get_length(bufferevent_get_output(c->bev)));
}

static void
conn_resume(struct conn *c)
{
	c->paused = 0;
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_READ);
	/* Frames may wait whole in the input buffer: no byte would come. */
	bufferevent_trigger(c->bev, EV_READ, BEV_OPT_DEFER_CALLBACKS);
}

void
conn_job_submitted(struct conn *c)
{
	c->jobs++;
	metrics_inflight(&c->w->vixd->stats.metrics, c->jobs);
	if (c->state == CONN_READY && !c->paused && conn_full(c))
		conn_pause(c);
}

/* The output drained below the low write watermark: read again. */
static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->paused && c->state == CONN_READY && !conn_full(c))
		conn_resume(c);
}

void
conn_job_returned(struct conn *c)
{
	if (--c->jobs == 0 && c->release_wanted) {
		conn_release(-1, 0, c);
		return;
	}
	if (c->paused && c->state == CONN_READY && !conn_full(c))
		conn_resume(c);
}

int
conn_is_open(const struct conn *c)
{
	return c->state == CONN_READY;
}

void
conn_abort(struct conn *c)
{
	if (c->state != CONN_CLOSING)
		log_info("conn %llu: closed: shutdown grace period over",
		    (unsigned long long)c->id);
	conn_release(-1, 0, c);
}

void
conn_send(struct conn *c, const Vix__V1__ServerMessage *msg)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t n = frame_packed_size(&msg->base);
	struct evbuffer_iovec vec;

	if (evbuffer_reserve_space(out, (ev_ssize_t)n, &vec, 1) != 1) {
		c->broken = 1;
		conn_teardown(c, "out of memory queueing a response");
		return;
	}
	vec.iov_len = frame_pack(&msg->base, vec.iov_base);
	evbuffer_commit_space(out, &vec, 1);
	if (msg->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE &&
	    c->req_type != METRICS_REQ_NONE) {
		metrics_request(&c->w->vixd->stats.metrics, c->w->idx,
		    c->req_type, msg->response->status ?
		    (int)msg->response->status->code : 0, c->req_t0);
		c->req_type = METRICS_REQ_NONE;
	}
}

void
conn_request_begin(struct conn *c, enum metrics_req type, uint64_t t0_ns)
{
	c->req_type = type;
	c->req_t0 = t0_ns;
}

int
conn_send_bytes(struct conn *c, const void *a, size_t al, const void *b,
    size_t bl, const void *d, size_t dl)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (evbuffer_add(out, a, al) == -1 || evbuffer_add(out, b, bl) == -1 ||
	    evbuffer_add(out, d, dl) == -1) {
		c->broken = 1;
		conn_teardown(c, "out of memory queueing a notification");
		return -1;
	}
	return 0;
}

size_t
conn_output_length(struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

struct store_reader *
conn_reader(struct conn *c)
{
	return c->w->reader;
}

void
conn_stream_mode(struct conn *c)
{
	conn_set_timeouts(c, 0);
}

static void __attribute__((format(printf, 5, 0)))
conn_vrespond(struct conn *c, uint64_t id, Vix__V1__Status__Code code,
    uint32_t retry_ms, const char *fmt, va_list ap)
{
	Vix__V1__ServerMessage msg = VIX__V1__SERVER_MESSAGE__INIT;
	Vix__V1__Response resp = VIX__V1__RESPONSE__INIT;
	Vix__V1__Status status = VIX__V1__STATUS__INIT;
	char text[512];

	vsnprintf(text, sizeof(text), fmt, ap);
	status.code = code;
	status.message = text;
	status.retry_after_ms = retry_ms;
	resp.id = id;
	resp.status = &status;
	msg.msg_case = VIX__V1__SERVER_MESSAGE__MSG_RESPONSE;
	msg.response = &resp;
	conn_send(c, &msg);
}

void
conn_respond_status(struct conn *c, uint64_t id, Vix__V1__Status__Code code,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vrespond(c, id, code, 0, fmt, ap);
	va_end(ap);
}

void
conn_respond_retry(struct conn *c, uint64_t id, uint32_t retry_ms,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vrespond(c, id, VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED,
	    retry_ms, fmt, ap);
	va_end(ap);
}

/* Count an inbound handshake that failed, once, by its cause. */
static void
conn_handshake_failed(struct conn *c, enum metrics_tls why)
{
	if (c->pusher == NULL && c->state == CONN_HANDSHAKE)
		metrics_tls_failure(&c->w->vixd->stats.metrics, why);
}

/* Which certificate check, if any, a TLS error in the handshake is. */
static enum metrics_tls
conn_tls_failure(struct conn *c, unsigned long e)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	if (ERR_GET_LIB(e) != ERR_LIB_SSL)
		return METRICS_TLS_OTHER;
	if (ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		return METRICS_TLS_NO_CERTIFICATE;
	if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return METRICS_TLS_CLOSED;
	if (ERR_GET_REASON(e) != SSL_R_CERTIFICATE_VERIFY_FAILED || ssl == NULL)
		return METRICS_TLS_OTHER;
	switch (SSL_get_verify_result(ssl)) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return METRICS_TLS_UNKNOWN_CA;
	default:
		return METRICS_TLS_BAD_CERTIFICATE;
	}
}

/* We dialled a push target and its certificate checked out. */
static void
conn_outbound_ready(struct conn *c)
{
	c->orgs = vixd_orgs(c->w->vixd);
	if ((c->org = orgs_by_oin(c->orgs, push_org_oin(c->pusher))) == NULL) {
		conn_teardown(c, "push target no longer in orgs.conf");
		return;
	}
	c->state = CONN_READY;
	conn_set_timeouts(c, 0);
	if (conn_recheck(c) == 0)
		push_conn_ready(c);
}

/*
 * Take a place among the max_connections established clients, or refuse:
 * the check at accept lets through handshakes that all finish at once.
 */
static int
conn_establish(struct conn *c)
{
	struct vixd *v = c->w->vixd;
	unsigned max = v->cfg.max_connections;

	if (atomic_fetch_add(&v->nestablished, 1) < max) {
		c->established = 1;
		return 0;
	}
	atomic_fetch_sub(&v->nestablished, 1);
	atomic_fetch_add(&v->stats.refused[REFUSED_MAX_CONNECTIONS], 1);
	conn_respond_retry(c, 0, 1000, "max_connections (%u) reached; "
	    "retry after 1000 ms", max);
	conn_teardown(c, "max_connections reached");
	return -1;
}

/* Handshake done: take the identity from the certificate, or refuse. */
static void
conn_authenticate(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *peer = SSL_get0_peer_certificate(ssl);
	char oin[OIN_LEN + 1];
	enum oin_result r;

	if (c->pusher != NULL) {
		conn_outbound_ready(c);
		return;
	}
	conn_handshake_over(c);
	r = peer ? tls_cert_oin(peer, oin) : OIN_MISSING;
	if (r != OIN_OK) {
		conn_handshake_failed(c, METRICS_TLS_NO_OIN);
		conn_respond_status(c, 0, VIX__V1__STATUS__CODE__UNAUTHENTICATED,
		    "%s", tls_oin_strerror(r));
		conn_teardown(c, "client certificate without a valid OIN");
		return;
	}
	c->orgs = vixd_orgs(c->w->vixd);
	if ((c->org = orgs_by_oin(c->orgs, oin)) == NULL) {
		conn_handshake_failed(c, METRICS_TLS_UNKNOWN_ORGANISATION);
		log_warnx("conn %llu: certificate OIN %s is not in %s",
		    (unsigned long long)c->id, oin, c->orgs->path);
		conn_respond_status(c, 0, VIX__V1__STATUS__CODE__UNAUTHENTICATED,
		    "organisation with OIN %s is not registered in this index",
		    oin);
		conn_teardown(c, "unknown organisation");
		return;
	}
	if (conn_establish(c) == -1)
		return;
	c->state = CONN_READY;
	conn_set_timeouts(c, c->w->vixd->cfg.idle_timeout);
	log_info("conn %llu (%s): authenticated, %s", (unsigned long long)c->id,
	    c->org->id, SSL_get_version(ssl));
	/* The handshake may have used a context a reload has replaced. */
	(void)conn_recheck(c);
}

/*
 * Refuse c after a reload: a client is told why in a response with id 0
 * (a push target takes no responses), then the connection ends.
 */
static void __attribute__((format(printf, 3, 4)))
conn_refuse(struct conn *c, Vix__V1__Status__Code code, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (c->pusher == NULL)
		conn_respond_status(c, 0, code, "%s", why);
	conn_teardown(c, why);
}

/*
 * The subscription of c under the registry now, where its organisation is
 * self: every recipient still allowed, and for a push target exactly the
 * recipients orgs.conf now gives it. Returns -1 after closing c.
 */
static int
conn_recheck_sub(struct conn *c, const struct orgs *now,
    const struct org *self)
{
	const struct sub_recipient *lost = notify_lost(c->sub, now, self);

	if (c->pusher != NULL && (lost != NULL ||
	    c->sub->n != 1 + self->n_receives_for)) {
		push_restart(c, "push recipients changed in orgs.conf; "
		    "redialling");
		return -1;
	}
	if (lost == NULL)
		return 0;
	if (!(self->roles & ROLE_SUBSCRIBE))
		conn_refuse(c, VIX__V1__STATUS__CODE__PERMISSION_DENIED,
		    "subscription ended: organisation %s no longer has the "
		    "role 'subscribe' (orgs.conf changed)", self->id);
	else
		conn_refuse(c, VIX__V1__STATUS__CODE__PERMISSION_DENIED,
		    "subscription ended: %s may no longer receive the "
		    "notifications of %s (receives_for in orgs.conf changed); "
		    "subscribe again for the others", self->id, lost->org->id);
	return -1;
}

int
conn_recheck(struct conn *c)
{
	struct vixd *v = c->w->vixd;
	const struct org *o;
	struct orgs *now;
	const char *why;
	SSL_CTX *ctx;
	uint64_t gen;
	int rc = -1;

	if (c->state != CONN_READY)
		return -1;
	if (c->generation == vixd_generation(v))
		return 0;
	now = vixd_current(v, c->pusher != NULL, &ctx, &gen);
	if (tls_recheck_peer(bufferevent_openssl_get_ssl(c->bev), ctx,
	    &why) == -1)
		conn_refuse(c, VIX__V1__STATUS__CODE__UNAUTHENTICATED,
		    "%s certificate no longer accepted after a reload: %s",
		    c->pusher ? "push target's" : "client", why);
	else if ((o = orgs_by_oin(now, c->org->oin)) == NULL)
		conn_refuse(c, VIX__V1__STATUS__CODE__UNAUTHENTICATED,
		    "organisation removed from orgs.conf (%s, OIN %s)",
		    c->org->id, c->org->oin);
	else if (c->sub == NULL || conn_recheck_sub(c, now, o) == 0) {
		if (c->sub != NULL)
			notify_rebind(c->sub, now);
		orgs_unref(c->orgs);
		c->orgs = now;
		c->org = o;
		c->generation = gen;
		now = NULL;
		rc = 0;
	}
	orgs_unref(now);
	SSL_CTX_free(ctx);
	return rc;
}

static void
conn_handle_frame(struct conn *c, const uint8_t *buf, size_t len)
{
	struct frame_budget budget;
	Vix__V1__Request *req;

	c->heard = 1;
	/* Served only as what the registry now in force allows. */
	if (conn_recheck(c) == -1)
		return;
	conn_request_begin(c, METRICS_REQ_UNKNOWN, metrics_now_ns());
	frame_budget_init(&budget, 4 * c->w->vixd->cfg.max_frame + 4096);
	req = (Vix__V1__Request *)frame_unpack(&vix__v1__request__descriptor,
	    &budget, buf, len);
	if (req == NULL) {
		conn_respond_status(c, 0, VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
		    "malformed message: not a vix.v1.Request");
		return;
	}
	c->req_type = metrics_req_of_body(req->body_case);
	handlers_dispatch(c, req);
	c->req_type = METRICS_REQ_NONE;	/* a write is answered later */
	frame_free_unpacked(&req->base, &budget);
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t max = c->w->vixd->cfg.max_frame, avail, hlen, blen;
	uint8_t hdr[FRAME_HEADER_MAX];
	enum frame_result r;

	while (c->state == CONN_READY && !c->paused &&
	    (avail = evbuffer_get_length(in)) > 0) {
		ev_ssize_t n = evbuffer_copyout(in, hdr,
		    avail < sizeof(hdr) ? avail : sizeof(hdr));

		r = frame_decode_header(hdr, (size_t)n, max, &hlen, &blen);
		if (r == FRAME_NEED_MORE)
			return;
		if (r != FRAME_OK) {
			conn_request_begin(c, METRICS_REQ_UNKNOWN,
			    metrics_now_ns());
			if (r == FRAME_ERR_TOO_LARGE)
				conn_respond_status(c, 0, VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
				    "frame of %zu bytes exceeds max_frame "
				    "(%zu bytes)", blen, max);
			else
				conn_respond_status(c, 0, VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
				    "%s", frame_strerror(r));
			conn_teardown(c, frame_strerror(r));
			return;
		}
		if (avail - hlen < blen)
			return;
		evbuffer_drain(in, hlen);
		conn_handle_frame(c, blen ? evbuffer_pullup(in, (ev_ssize_t)blen)
		    : hdr, blen);
		evbuffer_drain(in, blen);
		if (c->state == CONN_READY && !c->paused && conn_full(c))
			conn_pause(c);
	}
}

/* Whether a TLS alert says the peer would not take our certificate. */
static int
conn_alert_is_certificate(int alert)
{
	switch (alert) {
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_ACCESS_DENIED:
	case SSL_AD_CERTIFICATE_REQUIRED:
		return 1;
	default:
		return 0;
	}
}

/*
 * A TLS alert the peer sent, in words, into buf; -1 if e is not one. In
 * TLS 1.3 a client finishes its handshake before the server has checked
 * the client's certificate, so the refusal of a push target that has not
 * yet sent anything is a refused handshake too.
 */
static int
conn_alert_reason(struct conn *c, unsigned long e, char *buf, size_t len)
{
	int reason = ERR_GET_REASON(e) - SSL_AD_REASON_OFFSET;
	const char *peer = c->pusher != NULL ? "partner" : "peer";

	if (ERR_GET_LIB(e) != ERR_LIB_SSL || reason < 0 || reason > 255)
		return -1;
	if (c->state == CONN_HANDSHAKE || (c->pusher != NULL && !c->heard))
		snprintf(buf, len, "the %s refused the TLS handshake (alert "
		    "%s)%s", peer, SSL_alert_desc_string_long(reason),
		    conn_alert_is_certificate(reason) ? ": it does not accept "
		    "vixd's certificate" : "");
	else
		snprintf(buf, len, "the %s ended the connection with TLS "
		    "alert %s", peer, SSL_alert_desc_string_long(reason));
	return 0;
}

/* Why the transport failed, in words for the log. */
static const char *
conn_error_reason(struct conn *c, char *buf, size_t len)
{
	unsigned long e, last = 0;

	/* libevent also queues SSL_get_error() codes, which have no library. */
	while ((e = bufferevent_get_openssl_error(c->bev)) != 0)
		if (ERR_GET_LIB(e) != 0 && last == 0)
			last = e;
	if (last != 0) {
		const char *why = ERR_reason_error_string(last);

		conn_handshake_failed(c, conn_tls_failure(c, last));
		if (ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			return "peer closed the connection";
		if (conn_alert_reason(c, last, buf, len) == 0)
			return buf;
		if (ERR_GET_REASON(last) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
			/* Say why: revoked, expired, unknown issuer, ... */
			SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
			long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

			if (v != X509_V_OK)
				why = X509_verify_cert_error_string(v);
		}
		snprintf(buf, len, "%s: %s", c->state == CONN_HANDSHAKE ?
		    "TLS handshake failed" : "TLS error", why ? why : "unknown");
		return buf;
	}
	conn_handshake_failed(c, errno == 0 || errno == ECONNRESET ||
	    errno == EPIPE ? METRICS_TLS_CLOSED : METRICS_TLS_OTHER);
	if (errno == 0 || errno == ECONNRESET || errno == EPIPE)
		return "peer closed the connection";
	snprintf(buf, len, "connection error: %s", strerror(errno));
	return buf;
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char buf[256];

	if (what & BEV_EVENT_CONNECTED) {
		conn_authenticate(c);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && c->state == CONN_READY &&
	    (what & BEV_EVENT_READING)) {
		conn_teardown(c, "idle timeout");	/* still say goodbye */
		return;
	}
	c->broken = 1;
	if (what & (BEV_EVENT_TIMEOUT | BEV_EVENT_EOF))
		conn_handshake_failed(c, what & BEV_EVENT_TIMEOUT ?
		    METRICS_TLS_TIMEOUT : METRICS_TLS_CLOSED);
	if (what & BEV_EVENT_TIMEOUT)
		conn_teardown(c, c->state == CONN_HANDSHAKE ?
		    "TLS handshake timed out" : "peer stopped reading");
	else if (what & BEV_EVENT_EOF)
		conn_teardown(c, c->state == CONN_HANDSHAKE ?
		    "peer closed the connection during the TLS handshake" :
		    "peer closed the connection");
	else
		conn_teardown(c, conn_error_reason(c, buf, sizeof(buf)));
}
