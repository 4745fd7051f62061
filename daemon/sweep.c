/* The sweep timer and what a sweep job reports when it is back. */
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "sweep.h"
#include "vixd.h"

static void
sweep_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vixd *v = arg;
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return;
	j->kind = JOB_SWEEP;
	j->orgs = vixd_orgs(v);
	j->now = time(NULL);
	j->in.sweep = (struct store_sweep_in){ .orgs = j->orgs, .now = j->now,
	    .max = v->cfg.sweep_chunk,
	    .archive_secs = v->cfg.archive_retention,
	    .outbox_retention = v->cfg.outbox_retention };
	if (writer_submit(v->writer, NULL, j) != 0) {
		orgs_unref(j->orgs);
		free(j);
	}
}

void
sweep_start(struct vixd *v)
{
	struct timeval tv = { v->cfg.sweep_interval, 0 };

	v->ev_sweep = event_new(v->base, -1, EV_PERSIST, sweep_tick, v);
	if (v->ev_sweep == NULL || event_add(v->ev_sweep, &tv) == -1)
		fatalx("cannot set up the sweep timer");
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
}

/* A sweep is back; on the writer thread. */
void
sweep_done(void *arg, struct job *j)
{
	const struct store_sweep_out *o = &j->out.sweep;
	struct vixd_stats *st = &((struct vixd *)arg)->stats;

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
	    o->pruned_unacked)
		log_info("sweep: %zu signals expired, %zu escalations, %zu "
		    "archived signals purged, %zu delivered and %zu "
		    "undelivered outbox rows pruned", o->expired, o->escalated,
		    o->purged, o->pruned, o->pruned_unacked);
	if (o->pruned_unacked > 0)
		log_warnx("sweep: %zu notifications were never acknowledged "
		    "within outbox_retention and are gone", o->pruned_unacked);
	orgs_unref(j->orgs);
	free(j);
}
