/* Sessions: identity by OIN, the registry in force, rate limit, dispatch. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "handlers.h"
#include "log.h"
#include "push.h"
#include "ratelimit.h"
#include "session.h"
#include "tls.h"
#include "vixd.h"

static void session_ready(void *);
static void session_frame(void *, const uint8_t *, size_t);
static void session_closed(void *, const char *);

static const struct conn_cb session_cb = {
	session_ready, session_frame, session_bad_frame, session_closed
};

static struct session *
session_new(struct worker *w)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->w = w;
	TAILQ_INSERT_TAIL(&w->sessions, s, entry);
	return s;
}

void
session_accept(struct worker *w, int fd, const struct hsgate_addr *addr)
{
	struct session *s;

	if ((s = session_new(w)) == NULL) {
		log_warnx("session_accept: out of memory; connection dropped");
		hsgate_leave(w->vixd->hsgate, addr);
		close(fd);
		return;
	}
	s->conn = conn_accept(w, fd, vixd_ssl_new(w->vixd, &s->generation),
	    addr, &session_cb, s);
	if (s->conn == NULL)
		session_free(s);
}

struct session *
session_new_outbound(struct worker *w, struct pusher *p)
{
	struct session *s = session_new(w);

	if (s != NULL)
		s->pusher = p;
	return s;
}

void
session_free(struct session *s)
{
	struct worker *w = s->w;

	TAILQ_REMOVE(&w->sessions, s, entry);
	if (s->established)
		atomic_fetch_sub(&w->vixd->nestablished, 1);
	if (s->sub != NULL) {
		TAILQ_REMOVE(&w->subs, s->sub, entry);
		notify_free(s->sub);
		metrics_subscribers(&w->vixd->stats.metrics, w->idx, -1);
	}
	orgs_unref(s->orgs);
	free(s);
}

static void
session_closed(void *arg, const char *reason)
{
	session_free(arg);
}

void
session_attach_subscription(struct session *s, struct subscription *sub)
{
	s->sub = sub;
	TAILQ_INSERT_TAIL(&s->w->subs, sub, entry);
	metrics_subscribers(&s->w->vixd->stats.metrics, s->w->idx, 1);
}

/* ---- responses --------------------------------------------------------- */

void
session_request_begin(struct session *s, enum metrics_req type,
    uint64_t t0_ns)
{
	s->req_type = type;
	s->req_t0 = t0_ns;
}

void
session_send(struct session *s, const Vix__V1__ServerMessage *msg)
{
	if (conn_send(s->conn, &msg->base) == -1)
		return;
	if (msg->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE &&
	    s->req_type != METRICS_REQ_NONE) {
		metrics_request(&s->w->vixd->stats.metrics, s->w->idx,
		    s->req_type, msg->response->status ?
		    (int)msg->response->status->code : 0, s->req_t0);
		s->req_type = METRICS_REQ_NONE;
	}
}

static void __attribute__((format(printf, 5, 0)))
session_vrespond(struct session *s, uint64_t id, Vix__V1__Status__Code code,
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
	session_send(s, &msg);
}

void
session_respond_status(struct session *s, uint64_t id,
    Vix__V1__Status__Code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vrespond(s, id, code, 0, fmt, ap);
	va_end(ap);
}

void
session_respond_retry(struct session *s, uint64_t id, uint32_t retry_ms,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vrespond(s, id, VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED,
	    retry_ms, fmt, ap);
	va_end(ap);
}

void
session_respond_unavailable(struct session *s, uint64_t id,
    uint32_t retry_ms, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vrespond(s, id, VIX__V1__STATUS__CODE__UNAVAILABLE, retry_ms,
	    fmt, ap);
	va_end(ap);
}

/* ---- authentication ---------------------------------------------------- */

/*
 * Take a place among the max_connections established clients, or refuse:
 * the check at accept lets through handshakes that all finish at once.
 */
static int
session_establish(struct session *s)
{
	struct vixd *v = s->w->vixd;
	unsigned max = v->cfg.max_connections;

	if (atomic_fetch_add(&v->nestablished, 1) < max) {
		s->established = 1;
		return 0;
	}
	atomic_fetch_sub(&v->nestablished, 1);
	atomic_fetch_add(&v->stats.refused[REFUSED_MAX_CONNECTIONS], 1);
	session_respond_retry(s, 0, 1000, "max_connections (%u) reached; "
	    "retry after 1000 ms", max);
	conn_teardown(s->conn, "max_connections reached");
	return -1;
}

/* Handshake done: take the identity from the certificate, or refuse. */
static void
session_ready(void *arg)
{
	struct session *s = arg;
	struct vixd *v = s->w->vixd;
	SSL *ssl = conn_ssl(s->conn);
	X509 *peer = SSL_get0_peer_certificate(ssl);
	char oin[OIN_LEN + 1];
	enum oin_result r;

	r = peer ? tls_cert_oin(peer, oin) : OIN_MISSING;
	if (r != OIN_OK) {
		metrics_tls_failure(&v->stats.metrics, METRICS_TLS_NO_OIN);
		session_respond_status(s, 0,
		    VIX__V1__STATUS__CODE__UNAUTHENTICATED, "%s",
		    tls_oin_strerror(r));
		conn_teardown(s->conn, "client certificate without a valid OIN");
		return;
	}
	s->orgs = vixd_orgs(v);
	if ((s->org = orgs_by_oin(s->orgs, oin)) == NULL) {
		metrics_tls_failure(&v->stats.metrics,
		    METRICS_TLS_UNKNOWN_ORGANISATION);
		log_warnx("conn %llu: certificate OIN %s is not in %s",
		    (unsigned long long)conn_id(s->conn), oin, s->orgs->path);
		session_respond_status(s, 0,
		    VIX__V1__STATUS__CODE__UNAUTHENTICATED, "organisation with "
		    "OIN %s is not registered in this index", oin);
		conn_teardown(s->conn, "unknown organisation");
		return;
	}
	conn_set_peer(s->conn, s->org->id);
	if (session_establish(s) == -1)
		return;
	conn_serve(s->conn, v->cfg.idle_timeout);
	log_info("conn %llu (%s): authenticated, %s",
	    (unsigned long long)conn_id(s->conn), s->org->id,
	    SSL_get_version(ssl));
	/* The handshake may have used a context a reload has replaced. */
	(void)session_recheck(s);
}

/* ---- the registry in force --------------------------------------------- */

/*
 * Refuse s after a reload: a client is told why in a response with id 0
 * (a push target takes no responses), then the connection ends.
 */
static void __attribute__((format(printf, 3, 4)))
session_refuse(struct session *s, Vix__V1__Status__Code code,
    const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (s->pusher == NULL)
		session_respond_status(s, 0, code, "%s", why);
	conn_teardown(s->conn, why);
}

/*
 * The subscription of s under the registry now, where its organisation is
 * self: every recipient still allowed, and for a push target exactly the
 * recipients orgs.conf now gives it. Returns -1 after closing s.
 */
static int
session_recheck_sub(struct session *s, const struct orgs *now,
    const struct org *self)
{
	const struct sub_recipient *lost = notify_lost(s->sub, now, self);

	if (s->pusher != NULL && (lost != NULL ||
	    s->sub->n != 1 + self->n_receives_for)) {
		push_restart(s, "push recipients changed in orgs.conf; "
		    "redialling");
		return -1;
	}
	if (lost == NULL)
		return 0;
	if (!(self->roles & ROLE_SUBSCRIBE))
		session_refuse(s, VIX__V1__STATUS__CODE__PERMISSION_DENIED,
		    "subscription ended: organisation %s no longer has the "
		    "role 'subscribe' (orgs.conf changed)", self->id);
	else
		session_refuse(s, VIX__V1__STATUS__CODE__PERMISSION_DENIED,
		    "subscription ended: %s may no longer receive the "
		    "notifications of %s (receives_for in orgs.conf changed); "
		    "subscribe again for the others", self->id, lost->org->id);
	return -1;
}

int
session_recheck(struct session *s)
{
	struct vixd *v = s->w->vixd;
	const struct org *o;
	struct orgs *now;
	const char *why;
	SSL_CTX *ctx;
	uint64_t gen;
	int rc = -1;

	if (!conn_is_open(s->conn))
		return -1;
	if (s->generation == vixd_generation(v))
		return 0;
	now = vixd_current(v, s->pusher != NULL, &ctx, &gen);
	if (tls_recheck_peer(conn_ssl(s->conn), ctx, &why) == -1)
		session_refuse(s, VIX__V1__STATUS__CODE__UNAUTHENTICATED,
		    "%s certificate no longer accepted after a reload: %s",
		    s->pusher ? "push target's" : "client", why);
	else if ((o = orgs_by_oin(now, s->org->oin)) == NULL)
		session_refuse(s, VIX__V1__STATUS__CODE__UNAUTHENTICATED,
		    "organisation removed from orgs.conf (%s, OIN %s)",
		    s->org->id, s->org->oin);
	else if (s->sub == NULL || session_recheck_sub(s, now, o) == 0) {
		if (s->sub != NULL)
			notify_rebind(s->sub, now);
		orgs_unref(s->orgs);
		s->orgs = now;
		s->org = o;
		s->generation = gen;
		conn_set_peer(s->conn, o->id);
		now = NULL;
		rc = 0;
	}
	orgs_unref(now);
	SSL_CTX_free(ctx);
	return rc;
}

/* ---- requests ---------------------------------------------------------- */

void
session_bad_frame(void *arg, enum frame_result r, size_t len,
    size_t max_frame)
{
	struct session *s = arg;

	session_request_begin(s, METRICS_REQ_UNKNOWN, metrics_now_ns());
	if (r == FRAME_ERR_TOO_LARGE)
		session_respond_status(s, 0,
		    VIX__V1__STATUS__CODE__INVALID_ARGUMENT, "frame of %zu "
		    "bytes exceeds max_frame (%zu bytes)", len, max_frame);
	else
		session_respond_status(s, 0,
		    VIX__V1__STATUS__CODE__INVALID_ARGUMENT, "%s",
		    frame_strerror(r));
}

Vix__V1__Request *
session_decode(struct session *s, const uint8_t *buf, size_t len,
    struct frame_budget *budget)
{
	Vix__V1__Request *req;

	/* Served only as what the registry now in force allows. */
	if (session_recheck(s) == -1)
		return NULL;
	session_request_begin(s, METRICS_REQ_UNKNOWN, metrics_now_ns());
	frame_budget_init(budget, 4 * s->w->vixd->cfg.max_frame + 4096);
	req = (Vix__V1__Request *)frame_unpack(&vix__v1__request__descriptor,
	    budget, buf, len);
	if (req == NULL) {
		session_respond_status(s, 0,
		    VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
		    "malformed message: not a vix.v1.Request");
		return NULL;
	}
	s->req_type = metrics_req_of_body(req->body_case);
	return req;
}

void
session_request_free(struct session *s, Vix__V1__Request *req,
    struct frame_budget *budget)
{
	s->req_type = METRICS_REQ_NONE;	/* a write is answered later */
	frame_free_unpacked(&req->base, budget);
}

void
session_wipe_bsn(Vix__V1__Request *req)
{
	char *bsn = NULL;

	switch (req->body_case) {
	case VIX__V1__REQUEST__BODY_REGISTER:
		bsn = req->register_->bsn;
		break;
	case VIX__V1__REQUEST__BODY_WITHDRAW:
		bsn = req->withdraw->bsn;
		break;
	case VIX__V1__REQUEST__BODY_INVOLVED:
		bsn = req->involved->bsn;
		break;
	default:
		break;
	}
	if (bsn != NULL)
		OPENSSL_cleanse(bsn, strlen(bsn));
}

/*
 * Acks are not counted: they only confirm notifications the index sent
 * (at most the window). Anything else a push target sends is counted like
 * any request, though it is refused.
 */
int
session_rate_limited(struct session *s, Vix__V1__Request *req)
{
	struct vixd *v = s->w->vixd;
	struct ratelimit_refusal why;

	if (req->body_case == VIX__V1__REQUEST__BODY_ACK ||
	    ratelimit_take(v->ratelimit, s->org->sid, s->req_t0, &why) == 0)
		return 0;
	session_wipe_bsn(req);
	metrics_rate_limited(&v->stats.metrics);
	if (why.first)
		log_warnx("organisation %s is over its rate limit of %u "
		    "requests/s: refusing with RESOURCE_EXHAUSTED (said at most "
		    "once a minute)", s->org->id, why.rate);
	session_respond_retry(s, req->id, why.retry_ms, "organisation %s over "
	    "its rate limit of %u requests/s; retry after %" PRIu32 " ms",
	    s->org->id, why.rate, why.retry_ms);
	return 1;
}

/* A frame from an authenticated client: one request, served. */
static void
session_frame(void *arg, const uint8_t *buf, size_t len)
{
	struct session *s = arg;
	struct frame_budget budget;
	Vix__V1__Request *req;

	if ((req = session_decode(s, buf, len, &budget)) == NULL)
		return;
	if (!session_rate_limited(s, req))
		handlers_dispatch(s, req);
	session_request_free(s, req, &budget);
}
