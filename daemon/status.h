/*
 * One status snapshot, rendered by /metrics, /v1/status and vixctl status.
 *
 * The store's part (counts, notifications pending per recipient, map use)
 * is taken by a thread of its own, never on the main loop, and published
 * as a reference-counted snapshot. It is reused for as long as nothing was
 * committed and the organisations were not reloaded since; otherwise the
 * asker waits for the thread to take a new one (the main loop does not
 * wait: its asker is called back). Either way a status reflects every write
 * acknowledged before it was asked for. The counters kept in memory
 * (connections, sweeps, the writer's) are read when the status is taken.
 */
#ifndef VIX_STATUS_H
#define VIX_STATUS_H

#include <sys/queue.h>

#include <stdint.h>

#include "admin.h"
#include "store.h"
#include "writer.h"

struct metrics;
struct orgs;
struct orgstats;
struct status;
struct status_store;
struct vixd;
struct webhook_state;

struct vixd_status {
	int64_t			 now;		/* unix time it was taken */
	int64_t			 started;	/* when vixd started serving */

	/* The store's part; store_err: it could not be read (no counts). */
	int			 store_err;
	const struct store_stats *st;
	const struct orgs	*orgs;		/* st's pending rows point here */
	int64_t			 store_taken;	/* unix time the part was read */
	uint64_t		 refreshes;	/* parts read since start */

	/* Connections. */
	unsigned		 connections;
	unsigned		 handshakes_pending;
	unsigned		 admin_connections;
	int64_t			 subscribers;
	uint64_t		 refused[REFUSED_COUNT];
	uint64_t		 accept_errors[LISTENER_COUNT];

	/* Sweeps. */
	uint64_t		 sweeps;
	uint64_t		 sweep_failures;
	uint64_t		 signals_expired;
	uint64_t		 escalations;
	uint64_t		 archive_purged;
	uint64_t		 outbox_pruned_acked;
	uint64_t		 outbox_pruned_retention;

	/* Writes, and requests (their counters are summed when rendered). */
	struct writer_stats	 writer;
	const struct metrics	*metrics;
	struct orgstats		*orgstats;
	struct webhook_state	*webhooks;	/* a copy, when taken */
	size_t			 nwebhooks;

	struct status_store	*ref;		/* held until status_release */
};

/* On the main loop: a status is ready for the asker. */
typedef void	status_ready_fn(void *arg, struct vixd_status *);

/* An asker waiting on the main loop; owned by the asker. */
struct status_wait {
	TAILQ_ENTRY(status_wait)  entry;
	struct status		 *status;	/* NULL: not waiting */
	uint64_t		  ticket;
	status_ready_fn		 *fn;
	void			 *arg;
};

/* Start the thread (after the writer). NULL: logged. */
struct status	*status_start(struct vixd *);
/*
 * Stop the thread, before the writer: it reads the writer's counts. A
 * status taken afterwards shows the last store's part as it was, without
 * the writer's counts (a control request still running at shutdown).
 */
void		 status_stop(struct status *);
/* Free it, after every asker is done (admin_stop, control_stop). */
void		 status_free(struct status *);

/*
 * On the main loop: fn(arg, status) now, or later from the main loop once
 * the store's part is taken again; w is the asker's until then.
 */
void	status_ask(struct status *, struct status_wait *w, status_ready_fn *fn,
	    void *arg);
/* The asker is gone: fn is not called. Harmless when w is not waiting. */
void	status_cancel(struct status_wait *w);

/* On any other thread: take a status, waiting for the store's part. */
void	status_take(struct status *, struct vixd_status *);

/* Drop what a status holds; every status is released once. */
void	status_release(struct vixd_status *);

/* The age now of the oldest notification pending for st->pending[i]. */
int64_t	status_oldest_age(const struct vixd_status *, size_t i);

#endif
