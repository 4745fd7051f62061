/*
 * The last hours in memory, for the status page: one sample per
 * status_interval in a ring of fixed size (allocated once, nothing per
 * sample). A sample turns what vixd keeps anyway (counters since start,
 * histograms, gauges) into rates and percentiles over the interval since
 * the reading before, so nothing is added to the request path.
 *
 * Main thread only: the sampler and the page both run on the main loop.
 */
#ifndef VIX_HISTORY_H
#define VIX_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "orgs.h"

#define HISTORY_LEN	2160	/* samples kept: 6 hours at 10 s */
#define HISTORY_TOP	4	/* recipients with the most pending, each */

/* A recipient and the notifications it has not acknowledged. */
struct history_top {
	char		 org[ORG_ID_MAX + 1];
	uint64_t	 pending;
};

/* What vixd keeps, read at one moment. */
struct history_input {
	int64_t			 t;		/* unix time */
	uint64_t		 mono_ns;	/* CLOCK_MONOTONIC, for rates */
	uint64_t		 registrations;	/* Register answered OK */
	uint64_t		 requests;	/* every request answered */
	struct metrics_hist_snap req_latency;	/* every type, ns */
	struct metrics_hist_snap commit_latency; /* begin to commit, ns */
	unsigned		 connections;
	int			 has_pending;	/* the store could be read */
	uint64_t		 pending_total;
	struct history_top	 top[HISTORY_TOP];	/* most first */
	size_t			 ntop;
};

/* One point of every plot; NAN where there is nothing to show. */
struct history_sample {
	int64_t			 t;
	double			 registrations;	/* per second */
	double			 requests;	/* per second */
	double			 req_p50, req_p99;	/* seconds */
	double			 commit_p50, commit_p99;	/* seconds */
	double			 connections;
	double			 pending_total;
	struct history_top	 top[HISTORY_TOP];
	size_t			 ntop;
};

struct history {
	struct history_sample	 ring[HISTORY_LEN];
	size_t			 next;		/* where the next one goes */
	size_t			 n;		/* held, at most HISTORY_LEN */
	struct history_input	 last;		/* the reading before */
	int			 has_last;
};

void	history_init(struct history *);

/*
 * A reading: a sample of what changed since the reading before (the first
 * reading only sets the start), the oldest one dropped when the ring is
 * full.
 */
void	history_add(struct history *, const struct history_input *);

/* The i-th sample held, oldest first; i < h->n. */
const struct history_sample *history_get(const struct history *, size_t i);

/*
 * The q-quantile (0 < q < 1), in seconds, of what was observed between
 * the readings before and now of a nanosecond histogram, interpolated in
 * its bucket as Prometheus's histogram_quantile does; NAN when nothing was.
 */
double	history_quantile(const struct metrics_hist_snap *now,
	    const struct metrics_hist_snap *before, double q);

#endif
