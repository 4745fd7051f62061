/* One client connection: TLS, framing, identity, dispatch, teardown. */
#ifndef VIX_CONN_H
#define VIX_CONN_H

#include <sys/queue.h>

#include <stdint.h>

#include <event2/bufferevent.h>

#include "vix.pb-c.h"
#include "notify.h"
#include "vixd.h"

enum conn_state {
	CONN_HANDSHAKE,		/* TLS handshake under way */
	CONN_READY,		/* authenticated: requests are served */
	CONN_CLOSING,		/* output draining before close_notify */
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct worker		*w;
	uint64_t		 id;		/* serial, for logs */
	struct bufferevent	*bev;
	enum conn_state		 state;
	int			 broken;	/* transport failed: just free */
	struct event		*ev_close;	/* bounds the drain on close */
	struct event		*ev_free;	/* deferred release */
	struct orgs		*orgs;		/* registry the identity is from */
	const struct org	*org;		/* its entry there */
	uint64_t		 generation;	/* of orgs and the TLS context */
	unsigned		 jobs;		/* requests at the writer */
	int			 paused;	/* not read: max_inflight, or answers unsent */
	struct subscription	*sub;		/* after a Subscribe */
	struct pusher		*pusher;	/* outbound: a push target */
	int			 release_wanted;	/* free when jobs == 0 */
	enum metrics_req	 req_type;	/* being answered, for metrics */
	struct hsgate_addr	 addr;		/* source, for the hsgate */
	int			 in_hsgate;	/* counted as a handshake */
	int			 established;	/* counted in nestablished */
	uint64_t		 req_t0;	/* when it was decoded, ns */
	int			 heard;		/* a frame came from the peer */
};

/*
 * Take over an accepted socket on worker w and start the TLS handshake;
 * the handshake was counted in the hsgate for addr, and the connection
 * takes it out when the handshake ends.
 */
void	conn_accept(struct worker *w, int fd, const struct hsgate_addr *addr);

/* Dial host:port for push target p (DNS and connect are asynchronous). */
struct conn *conn_dial(struct worker *w, const char *host, uint16_t port,
	    struct pusher *p);

/*
 * If the registry or TLS material was replaced since c was last checked:
 * verify its peer certificate again (CA bundle, CRL, expiry), find its
 * organisation in the new registry and its subscription's recipients,
 * and move it there; or tear it down, telling the client why. Returns 0
 * if c may still be served, -1 if not.
 */
int	conn_recheck(struct conn *);

/* Start streaming s on c (push mode). */
void	conn_attach_subscription(struct conn *, struct subscription *s);

/*
 * The one way a connection ends. Logs reason once at info level, stops
 * reading, lets queued output drain, sends close_notify and frees.
 */
void	conn_teardown(struct conn *, const char *reason);

/* Close the sockets still lingering after their connections (worker exit). */
void	conn_linger_free_all(struct worker *w);

/* Free at once, without waiting for output (shutdown grace expired). */
void	conn_abort(struct conn *);

/*
 * A request of this connection went to the writer. At max_inflight of them
 * the connection is no longer read from until one comes back
 * (back-pressure: a pipelining client slows down, nothing is refused).
 */
void	conn_job_submitted(struct conn *);

/* A job of this connection came back from the writer. */
void	conn_job_returned(struct conn *);

/* Whether responses can still be sent. */
int	conn_is_open(const struct conn *);

/* Queue the concatenation of three byte ranges; -1 if the connection failed. */
int	conn_send_bytes(struct conn *, const void *a, size_t al, const void *b,
	    size_t bl, const void *c, size_t cl);

/* Bytes queued for the peer and not yet written. */
size_t	conn_output_length(struct conn *);

/* The worker's store reader. */
struct store_reader *conn_reader(struct conn *);

/* A subscriber may stay silent: no idle timeout from now on. */
void	conn_stream_mode(struct conn *);

/*
 * The response queued next answers a request of this type decoded at t0_ns
 * (metrics_now_ns): it is counted in vix_requests_total and its latency.
 */
void	conn_request_begin(struct conn *, enum metrics_req, uint64_t t0_ns);

/* Queue one framed server message. */
void	conn_send(struct conn *, const Vix__V1__ServerMessage *);

/* Queue a response with a status code and printf-style message. */
void	conn_respond_status(struct conn *, uint64_t id,
	    Vix__V1__Status__Code code, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* Queue RESOURCE_EXHAUSTED with a hint: the request fits after retry_ms. */
void	conn_respond_retry(struct conn *, uint64_t id, uint32_t retry_ms,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
