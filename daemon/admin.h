/*
 * The admin HTTP listener (admin_listen): GET /metrics in the Prometheus
 * text format, GET /healthz, /readyz and /v1/status (JSON). Runs on the
 * main thread's event base; it reads counters and one store snapshot per
 * scrape, so it never blocks request handling.
 */
#ifndef VIX_ADMIN_H
#define VIX_ADMIN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct store_reader;
struct vixd;

/* Counters written from any thread, read by /metrics. */
struct vixd_stats {
	atomic_uint_fast64_t	signals_expired;
	atomic_uint_fast64_t	escalations;
	atomic_uint_fast64_t	archive_purged;
	atomic_uint_fast64_t	outbox_pruned_acked;
	atomic_uint_fast64_t	outbox_pruned_retention;
	atomic_uint_fast64_t	sweeps;
	atomic_uint_fast64_t	sweep_failures;
	struct metrics		metrics;	/* requests, TLS, subscribers */

	/* Main thread only, set up by admin_start. */
	struct store_reader	*reader;	/* snapshots for the scrape */
	int64_t			started;	/* unix time, for uptime */
};

/* Listen on cfg.admin_listen. Returns 0, or -1 (logged). */
int	admin_start(struct vixd *);
void	admin_stop(struct vixd *);

/* The address the admin listener is bound to (for port 0), as HOST:PORT. */
const char *admin_address(struct vixd *, char *buf, size_t len);

#endif
