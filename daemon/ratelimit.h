/*
 * The per-organisation request rate limit ([server] rate_limit and
 * rate_burst), shared by every worker thread. A token bucket, kept as the
 * generic cell rate algorithm: one "theoretical arrival time" per
 * organisation. Buckets are keyed by the organisation's permanent store id,
 * not by a struct org, so that a reload of orgs.conf (which builds new
 * org objects while old connections keep theirs) neither refills nor
 * duplicates them.
 */
#ifndef VIX_RATELIMIT_H
#define VIX_RATELIMIT_H

#include <stdint.h>

struct ratelimit;

/* An unlimited limiter; NULL when out of memory. */
struct ratelimit *ratelimit_new(void);
void	ratelimit_free(struct ratelimit *);

/*
 * Allow rate requests per second per organisation, in bursts of at most
 * burst (0: rate); rate 0 lifts the limit. Safe while workers take; the
 * buckets keep their state.
 */
void	ratelimit_set(struct ratelimit *, unsigned rate, unsigned burst);

struct ratelimit_refusal {
	unsigned	 rate;		/* the limit in force, requests/s */
	uint32_t	 retry_ms;	/* until the next request is allowed */
	int		 first;		/* first refusal of this organisation
					   for a minute: worth a log line */
};

/*
 * Count one request of organisation sid at now_ns (CLOCK_MONOTONIC).
 * Returns 0 if it is allowed, or -1 with *why filled if it is over the
 * limit (and then it is not counted).
 */
int	ratelimit_take(struct ratelimit *, uint32_t sid, uint64_t now_ns,
	    struct ratelimit_refusal *why);

/*
 * The same for n units at once (vix-keyd counts evaluations, not
 * requests): all of them are allowed or none. n above the burst is never
 * allowed.
 */
int	ratelimit_take_n(struct ratelimit *, uint32_t sid, unsigned n,
	    uint64_t now_ns, struct ratelimit_refusal *why);

#endif
