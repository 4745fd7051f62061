/* TLS connections: handshake, framing, back-pressure, teardown. */
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
#include "log.h"
#include "vixd.h"

#define CONN_CLOSE_TIMEOUT	5	/* seconds to drain output on close */
#define CONN_WRITE_TIMEOUT	60	/* seconds a peer may stall our output */
#define CONN_LINGER_TIMEOUT	2	/* seconds to read and discard after close */

enum conn_state {
	CONN_HANDSHAKE,		/* TLS handshake under way, or the peer checked */
	CONN_READY,		/* accepted by the layer above: frames are read */
	CONN_CLOSING,		/* output draining before close_notify */
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct worker		*w;
	uint64_t		 id;		/* serial, for logs */
	struct bufferevent	*bev;
	enum conn_state		 state;
	int			 broken;	/* transport failed: just free */
	int			 outbound;	/* we dialled */
	int			 streaming;	/* see conn_stream_mode */
	struct event		*ev_close;	/* bounds the drain on close */
	struct event		*ev_free;	/* deferred release */
	const struct conn_cb	*cb;		/* the layer above */
	void			*arg;		/* for cb */
	char			 peer[ORG_ID_MAX + 1];	/* for logs */
	char			 reason[256];	/* given to conn_teardown */
	unsigned		 jobs;		/* requests at the writer */
	int			 paused;	/* not read: max_inflight, or answers unsent */
	int			 release_wanted;	/* free when jobs == 0 */
	struct hsgate_addr	 addr;		/* source, for the hsgate */
	int			 in_hsgate;	/* counted as a handshake */
	int			 heard;		/* a frame came from the peer */
};


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

struct conn *
conn_accept(struct worker *w, int fd, SSL *ssl, const struct hsgate_addr *addr,
    const struct conn_cb *cb, void *arg)
{
	struct vixd *v = w->vixd;
	struct conn *c;

	if (ssl == NULL || (c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ev_free = evtimer_new(w->base, conn_release, c)) == NULL) {
		log_warnx("conn_accept: out of memory; connection dropped");
		if (ssl != NULL)
			free(c);	/* calloc'd, or NULL: no ev_free */
		SSL_free(ssl);
		hsgate_leave(v->hsgate, addr);
		close(fd);
		return NULL;
	}
	c->addr = *addr;
	c->in_hsgate = 1;
	c->w = w;
	c->cb = cb;
	c->arg = arg;
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
		return NULL;
	}
	conn_register(c);
	log_debug("conn %llu: accepted on worker %u",
	    (unsigned long long)c->id, w->idx);
	return c;
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
	c->cb->closed(c->arg, c->reason);
	if (c->ev_close != NULL)
		event_free(c->ev_close);
	event_free(c->ev_free);
	bufferevent_free(c->bev);
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
	int fd = event_get_fd(l->ev);

	TAILQ_REMOVE(&l->w->lingering, l, entry);
	/*
	 * Out of epoll first: once closed, the number may be another
	 * thread's descriptor, and this socket's file may live on in the
	 * connection's own descriptor, keeping a stale registration.
	 */
	event_free(l->ev);
	close(fd);
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
	    c->peer[0] ? " (" : "", c->peer, c->peer[0] ? ")" : "", reason);
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
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
conn_dial(struct worker *w, SSL *ssl, const char *host, uint16_t port,
    const struct conn_cb *cb, void *arg)
{
	struct vixd *v = w->vixd;
	struct conn *c = NULL;

	if (ssl == NULL || (c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ev_free = evtimer_new(w->base, conn_release, c)) == NULL ||
	    conn_expect_host(ssl, host) == -1)
		goto fail;
	c->w = w;
	c->cb = cb;
	c->arg = arg;
	c->id = atomic_fetch_add(&v->conn_serial, 1) + 1;
	c->state = CONN_HANDSHAKE;
	c->outbound = 1;
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
		return c;	/* released on the next loop: closed is called */
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
	return !c->streaming && !c->outbound &&
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
	    c->peer, c->jobs,
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

static void
conn_abort(struct conn *c)
{
	if (c->state != CONN_CLOSING) {
		log_info("conn %llu: closed: shutdown grace period over",
		    (unsigned long long)c->id);
		snprintf(c->reason, sizeof(c->reason), "shutdown grace period "
		    "over");
	}
	conn_release(-1, 0, c);
}

void
conn_abort_all(struct worker *w)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_abort(c);
	}
}

void
conn_teardown_all(struct worker *w, const char *reason)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_teardown(c, reason);
	}
}

int
conn_send(struct conn *c, const ProtobufCMessage *msg)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t n = frame_packed_size(msg);
	struct evbuffer_iovec vec;

	if (evbuffer_reserve_space(out, (ev_ssize_t)n, &vec, 1) != 1) {
		c->broken = 1;
		conn_teardown(c, "out of memory queueing a response");
		return -1;
	}
	vec.iov_len = frame_pack(msg, vec.iov_base);
	evbuffer_commit_space(out, &vec, 1);
	return 0;
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

void
conn_stream_mode(struct conn *c)
{
	c->streaming = 1;
	conn_set_timeouts(c, 0);
}

uint64_t
conn_id(const struct conn *c)
{
	return c->id;
}

SSL *
conn_ssl(struct conn *c)
{
	return bufferevent_openssl_get_ssl(c->bev);
}

void
conn_set_peer(struct conn *c, const char *label)
{
	snprintf(c->peer, sizeof(c->peer), "%s", label);
}

void
conn_serve(struct conn *c, unsigned idle_secs)
{
	c->state = CONN_READY;
	conn_set_timeouts(c, idle_secs);
}

/* Count an inbound handshake that failed, once, by its cause. */
static void
conn_handshake_failed(struct conn *c, enum metrics_tls why)
{
	if (!c->outbound && c->state == CONN_HANDSHAKE)
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

/* TLS is up: the layer above checks the peer (it calls conn_serve). */
static void
conn_connected(struct conn *c)
{
	conn_handshake_over(c);
	c->cb->ready(c->arg);
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
			c->cb->bad_frame(c->arg, r, blen, max);
			conn_teardown(c, frame_strerror(r));
			return;
		}
		if (avail - hlen < blen)
			return;
		evbuffer_drain(in, hlen);
		c->heard = 1;
		c->cb->frame(c->arg, blen ? evbuffer_pullup(in, (ev_ssize_t)blen)
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
	const char *peer = c->outbound ? "partner" : "peer";

	if (ERR_GET_LIB(e) != ERR_LIB_SSL || reason < 0 || reason > 255)
		return -1;
	if (c->state == CONN_HANDSHAKE || (c->outbound && !c->heard))
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
		conn_connected(c);
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
