/*
 * The admin HTTP listener (admin_listen): GET /metrics in the Prometheus
 * text format, GET /healthz, /readyz and /v1/status (JSON), GET / (the
 * operator's status page, statuspage.h) and /v1/report (the regional
 * figures vixctl report gives, JSON or CSV). Runs on the
 * main thread's event base; /metrics and /v1/status render the status
 * snapshot (status.h), read off the main loop, so a scrape never blocks
 * request handling. Its HTTP is its own and
 * minimal (one GET per connection, no body, 8 KiB of head, admin_timeout,
 * admin_max_connections): libevent 2.1's evhttp cannot cap connections.
 */
#ifndef VIX_ADMIN_H
#define VIX_ADMIN_H

#include <sys/queue.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct admin_conn;
struct statuspage;
struct store_reader;
struct vixd;

/* Why a connection was closed as soon as it was accepted (or authenticated). */
enum vixd_refusal {
	REFUSED_MAX_CONNECTIONS,
	REFUSED_MAX_HANDSHAKES,
	REFUSED_MAX_HANDSHAKES_PER_ADDRESS,
	REFUSED_ADMIN_MAX_CONNECTIONS,
	REFUSED_COUNT,
};

/* The listeners, for vix_accept_errors_total. */
enum vixd_listener {
	LISTENER_CLIENT,	/* listen */
	LISTENER_ADMIN,		/* admin_listen */
	LISTENER_COUNT,
};

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
	atomic_uint_fast64_t	refused[REFUSED_COUNT];
	atomic_uint_fast64_t	accept_errors[LISTENER_COUNT];
	atomic_uint		admin_conns;	/* open on admin_listen (the
						   main thread changes it) */

	/* Main thread only, set up by admin_start. */
	int64_t			started;	/* unix time, for uptime */
	LIST_HEAD(, admin_conn)	admin_list;
	struct statuspage	*page;		/* GET /: its samples */
	struct store_reader	*reader;	/* /v1/report */
};

/* The label of a refusal in vix_connections_refused_total (a config key). */
const char *admin_refusal_name(enum vixd_refusal);

/* Listen on cfg.admin_listen. Returns 0, or -1 (logged). */
int	admin_start(struct vixd *);
void	admin_stop(struct vixd *);

/* The address the admin listener is bound to (for port 0), as HOST:PORT. */
const char *admin_address(struct vixd *, char *buf, size_t len);

#endif
