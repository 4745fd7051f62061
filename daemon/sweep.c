/* The sweep timer, and the sweep as a job of the main loop. */
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "sweep.h"
#include "vixd.h"

static int
sweep_apply(struct store_txn *t, struct job *j)
{
	return store_sweep(t, &j->in.sweep, &j->out.sweep);
}

/* Back on the main loop: count and log what the sweep did. */
static void
sweep_complete(struct job *j)
{
	const struct store_sweep_out *o = &j->out.sweep;
	struct vixd_stats *st = &((struct vixd *)j->arg)->stats;

	atomic_fetch_add(&st->sweeps, 1);
	if (j->err == 0) {
		atomic_fetch_add(&st->signals_expired, o->expired);
		atomic_fetch_add(&st->escalations, o->escalated);
		atomic_fetch_add(&st->archive_purged, o->purged);
		atomic_fetch_add(&st->outbox_pruned_acked, o->pruned);
		atomic_fetch_add(&st->outbox_pruned_retention, o->pruned_unacked);
	} else
		atomic_fetch_add(&st->sweep_failures, 1);
	if (j->err != 0)
		log_warnx("sweep failed: %s", j->why);
	else if (o->expired || o->escalated || o->purged || o->pruned ||
	    o->pruned_unacked || o->reminded || o->reescalated)
		log_info("sweep: %zu signals expired, %zu reminders, %zu "
		    "escalations, %zu escalated again, %zu archived signals "
		    "purged, %zu delivered and %zu undelivered outbox rows "
		    "pruned", o->expired, o->reminded, o->escalated,
		    o->reescalated, o->purged, o->pruned, o->pruned_unacked);
	if (o->pruned_unacked > 0)
		log_warnx("sweep: %zu notifications were never acknowledged "
		    "within outbox_retention and are gone", o->pruned_unacked);
}

static void
sweep_free(struct job *j)
{
	orgs_unref(j->orgs);
	free(j);
}

static const struct job_ops sweep_ops = {
	.apply = sweep_apply,
	.complete = sweep_complete,
	.free = sweep_free,
};

static void
sweep_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vixd *v = arg;
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return;
	j->ops = &sweep_ops;
	j->arg = v;
	j->orgs = vixd_orgs(v);
	j->now = time(NULL);
	j->in.sweep = (struct store_sweep_in){ .orgs = j->orgs, .now = j->now,
	    .max = v->cfg.sweep_chunk,
	    .archive_secs = v->cfg.policy.archive_retention,
	    .at_expiry = v->cfg.policy.at_expiry,
	    .at_age_limit = v->cfg.policy.at_age_limit,
	    .outbox_retention = v->cfg.outbox_retention };
	if (writer_submit(v->writer, &v->home, j) != 0)
		sweep_free(j);
}

/*
 * A store that can lose its database (PostgreSQL): while it cannot be
 * written, an empty write every PROBE_SECS, whose commit is what finds
 * the primary again and makes /readyz say ready; and one after PROBE_IDLE_MS
 * without any commit, so that a front-end without requests notices the
 * loss as well. An empty transaction writes nothing to the database.
 */
#define PROBE_SECS	1
#define PROBE_IDLE_MS	5000

static int
probe_apply(struct store_txn *t, struct job *j)
{
	(void)t;
	(void)j;
	return 0;
}

static void
probe_complete(struct job *j)
{
	struct vixd *v = j->arg;

	v->probing = 0;
}

static void
probe_free(struct job *j)
{
	free(j);
}

static const struct job_ops probe_ops = {
	.apply = probe_apply,
	.complete = probe_complete,
	.free = probe_free,
};

static void
probe_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vixd *v = arg;
	struct job *j;

	struct writer_stats ws;

	if (v->probing || !store_may_be_unreachable(v->store))
		return;
	writer_get_stats(v->writer, &ws);
	if ((store_reachable(v->store) && ws.since_progress_ms <
	    PROBE_IDLE_MS) || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->ops = &probe_ops;
	j->arg = v;
	j->now = time(NULL);
	v->probing = 1;
	if (writer_submit(v->writer, &v->home, j) != 0) {
		v->probing = 0;
		free(j);
	}
}

void
sweep_start(struct vixd *v)
{
	struct timeval tv = { v->cfg.sweep_interval, 0 };
	struct timeval probe = { PROBE_SECS, 0 };

	v->ev_sweep = event_new(v->base, -1, EV_PERSIST, sweep_tick, v);
	if (v->ev_sweep == NULL || event_add(v->ev_sweep, &tv) == -1)
		fatalx("cannot set up the sweep timer");
	v->ev_probe = event_new(v->base, -1, EV_PERSIST, probe_tick, v);
	if (v->ev_probe == NULL || event_add(v->ev_probe, &probe) == -1)
		fatalx("cannot set up the store probe timer");
}

void
sweep_reloaded(struct vixd *v, int64_t interval)
{
	struct timeval tv = { v->cfg.sweep_interval, 0 };

	if (v->cfg.sweep_interval != interval)
		event_add(v->ev_sweep, &tv);
}

void
sweep_stop(struct vixd *v)
{
	if (v->ev_sweep != NULL)
		event_free(v->ev_sweep);
	v->ev_sweep = NULL;
	if (v->ev_probe != NULL)
		event_free(v->ev_probe);
	v->ev_probe = NULL;
}
