/*
 * Counters and histograms for /metrics, updated on the hot paths without
 * locks. Each worker writes its own slot (relaxed atomics, so the scrape on
 * the main thread may read them); the scrape sums the slots.
 */
#ifndef VIX_METRICS_H
#define VIX_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

struct evbuffer;

/* The type label of vix_requests_total. NONE: no request is being answered. */
enum metrics_req {
	METRICS_REQ_NONE,
	METRICS_REQ_PING,
	METRICS_REQ_REGISTER,
	METRICS_REQ_WITHDRAW,
	METRICS_REQ_INVOLVED,
	METRICS_REQ_LIST,
	METRICS_REQ_SUBSCRIBE,
	METRICS_REQ_ACK,
	METRICS_REQ_COORDINATE,
	METRICS_REQ_MATCHES,
	METRICS_REQ_RELOCATE,
	METRICS_REQ_UNKNOWN,	/* malformed, or of a type not known here */
	METRICS_REQ_COUNT,
};

/* The reason label of vix_tls_handshake_failures_total. */
enum metrics_tls {
	METRICS_TLS_NO_CERTIFICATE,
	METRICS_TLS_UNKNOWN_CA,
	METRICS_TLS_BAD_CERTIFICATE,	/* expired, revoked, wrong purpose */
	METRICS_TLS_NO_OIN,
	METRICS_TLS_UNKNOWN_ORGANISATION,
	METRICS_TLS_TIMEOUT,
	METRICS_TLS_CLOSED,		/* the peer went away mid-handshake */
	METRICS_TLS_OTHER,
	METRICS_TLS_COUNT,
};

/* What a histogram counts: nanoseconds shown as seconds, or plain counts. */
enum metrics_scale {
	METRICS_SECONDS,
	METRICS_SIZE,
};

#define METRICS_CODES	17	/* vix.v1.Status.Code values */
#define METRICS_BUCKETS	16	/* upper bounds, the last one +Inf */
#define METRICS_SLOTS	16	/* workers beyond this share slots */

struct metrics_hist {
	atomic_uint_fast64_t	 bucket[METRICS_BUCKETS];  /* not cumulative */
	atomic_uint_fast64_t	 sum;	/* nanoseconds, or counts */
};

/* A histogram as read at one moment, or several added up. */
struct metrics_hist_snap {
	uint64_t		 bucket[METRICS_BUCKETS];
	uint64_t		 sum;
};

struct metrics_slot {
	atomic_uint_fast64_t	 requests[METRICS_REQ_COUNT][METRICS_CODES];
	struct metrics_hist	 latency[METRICS_REQ_COUNT];
	atomic_int_fast64_t	 subscribers;	/* connections subscribed */
	char			 pad[64];	/* no cache line shared */
};

struct metrics {
	struct metrics_slot	 slot[METRICS_SLOTS];
	atomic_uint_fast64_t	 tls_failures[METRICS_TLS_COUNT];
	atomic_uint_fast64_t	 inflight_peak;	/* most on one connection */
	atomic_uint_fast64_t	 read_pauses;	/* max_inflight reached */
	atomic_uint_fast64_t	 rate_limited;	/* refused over rate_limit */
	/*
	 * Where a write waits after its commit: until its worker queued the
	 * response, and until the worker started queueing the notifications
	 * of the commit to its subscribers.
	 */
	struct metrics_hist	 answer_wait;
	struct metrics_hist	 publish_wait;
};

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t	metrics_now_ns(void);

/* The type label for a vix.v1.Request body case. */
enum metrics_req metrics_req_of_body(int body_case);

/* A response with status code was queued for a request decoded at t0_ns. */
void	metrics_request(struct metrics *, unsigned worker, enum metrics_req,
	    int code, uint64_t t0_ns);

/* A connection of worker started (+1) or stopped (-1) being a subscriber. */
void	metrics_subscribers(struct metrics *, unsigned worker, int delta);

/*
 * A connection now has n requests in flight (at the writer): keeps the
 * highest n seen, so that max_inflight can be checked from outside.
 */
void	metrics_inflight(struct metrics *, unsigned n);

/* A connection stopped reading: it had max_inflight requests in flight. */
void	metrics_read_paused(struct metrics *);

/* A request was refused because its organisation was over rate_limit. */
void	metrics_rate_limited(struct metrics *);

/* An inbound TLS handshake failed, or its certificate was refused. */
void	metrics_tls_failure(struct metrics *, enum metrics_tls);

void	metrics_observe(struct metrics_hist *, enum metrics_scale,
	    uint64_t value);
void	metrics_hist_read(const struct metrics_hist *,
	    struct metrics_hist_snap *add_to);
/* The upper bound of bucket i (ns, or a count); UINT64_MAX for the last. */
uint64_t metrics_bucket_bound(enum metrics_scale, size_t i);

/*
 * Requests answered since start, summed over the workers: of one type
 * (METRICS_REQ_NONE: every type) with one status code (-1: any).
 */
uint64_t metrics_requests_total(const struct metrics *, enum metrics_req,
	    int code);
/* The latency histograms of every request type, summed into add_to. */
void	metrics_latency_read(const struct metrics *,
	    struct metrics_hist_snap *add_to);

/* "# HELP" and "# TYPE" lines for one metric family. */
void	metrics_family(struct evbuffer *, const char *name, const char *type,
	    const char *help);
/* The _bucket, _sum and _count series of one histogram; labels may be "". */
void	metrics_hist_write(struct evbuffer *, const char *name,
	    const char *labels, const struct metrics_hist_snap *,
	    enum metrics_scale);

/* Requests, latencies, subscribers, limits and handshake failures, summed. */
void	metrics_write(struct evbuffer *, const struct metrics *);

#endif
