/*
 * The session layer: who is on a connection and what it may ask. A
 * session sits over one conn (transport): it authenticates the peer by
 * the OIN in its certificate, keeps it bound to the registry in force,
 * decodes requests, applies the rate limit and hands requests to the
 * handlers; responses go out through it. Push targets (push.c) are
 * sessions too, with their own frame handler.
 */
#ifndef VIX_SESSION_H
#define VIX_SESSION_H

#include <sys/queue.h>

#include <stdint.h>

#include "conn.h"
#include "metrics.h"
#include "vix.pb-c.h"

struct hsgate_addr;
struct org;
struct orgs;
struct pusher;
struct subscription;
struct worker;

struct session {
	TAILQ_ENTRY(session)	 entry;		/* on the worker */
	struct worker		*w;
	struct conn		*conn;
	struct orgs		*orgs;		/* registry the identity is from */
	const struct org	*org;		/* its entry there */
	uint64_t		 generation;	/* of orgs and the TLS context */
	struct subscription	*sub;		/* after a Subscribe */
	struct pusher		*pusher;	/* outbound: a push target */
	int			 established;	/* counted in nestablished */
	enum metrics_req	 req_type;	/* being answered, for metrics */
	uint64_t		 req_t0;	/* when it was decoded, ns */
};

/*
 * Take over an accepted socket on worker w and start the TLS handshake
 * (counted in the hsgate for addr until it ends).
 */
void	session_accept(struct worker *w, int fd, const struct hsgate_addr *addr);

/*
 * A session on worker w for push target p, before its connection is
 * dialled; NULL if out of memory. Free with session_free.
 */
struct session *session_new_outbound(struct worker *w, struct pusher *p);

/* Forget s: its subscription, its registry, its place (conn closed). */
void	session_free(struct session *);

/*
 * If the registry or TLS material was replaced since s was last checked:
 * verify its peer certificate again (CA bundle, CRL, expiry), find its
 * organisation in the new registry and its subscription's recipients,
 * and move it there; or tear it down, telling the client why. Returns 0
 * if s may still be served, -1 if not.
 */
int	session_recheck(struct session *);

/*
 * Decode one frame as a Request: checked against the registry first, and
 * counted. Returns the request (free with session_request_free), or NULL
 * after answering or closing.
 */
Vix__V1__Request *session_decode(struct session *, const uint8_t *body,
	    size_t len, struct frame_budget *);

void	session_request_free(struct session *, Vix__V1__Request *,
	    struct frame_budget *);

/*
 * Over its organisation's rate_limit, a request is refused with a retry
 * hint and not applied (its BSN wiped). Returns 1 after refusing.
 */
int	session_rate_limited(struct session *, Vix__V1__Request *);

/* Wipe the BSN a request carries, if any (it will not be handled). */
void	session_wipe_bsn(Vix__V1__Request *);

/* The conn callbacks' bad_frame of every session: say why, with id 0. */
void	session_bad_frame(void *arg, enum frame_result r, size_t len,
	    size_t max_frame);

/* A subscription starts streaming on s. */
void	session_attach_subscription(struct session *, struct subscription *);

/*
 * The response queued next answers a request of this type decoded at t0_ns
 * (metrics_now_ns): it is counted in vix_requests_total and its latency.
 */
void	session_request_begin(struct session *, enum metrics_req,
	    uint64_t t0_ns);

/* Queue one server message (a response is counted, see above). */
void	session_send(struct session *, const Vix__V1__ServerMessage *);

/* Queue a response with a status code and printf-style message. */
void	session_respond_status(struct session *, uint64_t id,
	    Vix__V1__Status__Code code, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* Queue RESOURCE_EXHAUSTED with a hint: the request fits after retry_ms. */
void	session_respond_retry(struct session *, uint64_t id, uint32_t retry_ms,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* UNAVAILABLE with a hint: not applied (or not known to be), send again. */
void	session_respond_unavailable(struct session *, uint64_t id,
	    uint32_t retry_ms, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

#endif
