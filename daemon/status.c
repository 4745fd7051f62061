/*
 * The status snapshot (see status.h): the store's part is read on this
 * module's thread, with a store reader of its own, and swapped in under a
 * mutex; every status holds a reference to the part it shows.
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "errors.h"
#include "log.h"
#include "orgs.h"
#include "status.h"
#include "webhook.h"
#include "vixd.h"

/* The store's part of a status, shared by every status showing it. */
struct status_store {
	atomic_int		 refs;
	uint64_t		 commits;	/* the writer's, before reading */
	struct orgs		*orgs;		/* in force when read */
	int64_t			 taken;
	int			 err;		/* enum vix_err of store_stats */
	struct store_stats	 st;
};

struct status {
	struct vixd		*v;
	struct store_reader	*reader;	/* the thread's */
	pthread_t		 thread;
	int			 started;
	struct event		*ev_ready;	/* main loop: a part was taken */
	TAILQ_HEAD(, status_wait) waiting;	/* main loop only */

	pthread_mutex_t		 lock;		/* guards what follows */
	pthread_cond_t		 wake;		/* the thread: a ticket asked */
	pthread_cond_t		 taken;		/* askers: a part was taken */
	struct status_store	*latest;
	uint64_t		 asked;		/* tickets handed out */
	uint64_t		 served;	/* parts taken after this ticket */
	uint64_t		 refreshes;
	int			 stopping;
};

static void
part_unref(struct status_store *p)
{
	if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	if (p->err == 0)
		store_stats_free(&p->st);
	orgs_unref(p->orgs);
	free(p);
}

/* Read the store's part now (on the thread). NULL: out of memory. */
static struct status_store *
part_read(struct status *s)
{
	struct status_store *p = calloc(1, sizeof(*p));
	struct writer_stats ws;

	if (p == NULL)
		return NULL;
	atomic_init(&p->refs, 1);
	/* Counted first: a commit after it makes the part stale, not lost. */
	writer_get_stats(s->v->writer, &ws);
	p->commits = ws.commits;
	p->orgs = vixd_orgs(s->v);
	p->taken = time(NULL);
	if ((p->err = store_stats(s->reader, p->orgs, p->taken, &p->st)) != 0)
		log_warnx("status: cannot read the store for monitoring: %s",
		    err_name(p->err));
	return p;
}

/* Whether p still shows the store as it is (called with the lock held). */
static int
part_current(struct status *s, const struct status_store *p)
{
	struct writer_stats ws;
	struct orgs *orgs;
	int same;

	if (p == NULL || p->err != 0)
		return 0;
	writer_get_stats(s->v->writer, &ws);
	if (ws.commits != p->commits)
		return 0;
	orgs = vixd_orgs(s->v);
	same = orgs == p->orgs;
	orgs_unref(orgs);
	return same;
}

static void *
status_main(void *arg)
{
	struct status *s = arg;
	struct status_store *p, *old;
	uint64_t asked;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stopping && s->asked == s->served)
			pthread_cond_wait(&s->wake, &s->lock);
		if (s->stopping)
			break;
		asked = s->asked;
		pthread_mutex_unlock(&s->lock);
		p = part_read(s);
		pthread_mutex_lock(&s->lock);
		if (p != NULL) {
			old = s->latest;
			s->latest = p;
			s->refreshes++;
		} else
			old = NULL;	/* the askers get the last one */
		s->served = asked;
		pthread_cond_broadcast(&s->taken);
		pthread_mutex_unlock(&s->lock);
		part_unref(old);
		event_active(s->ev_ready, EV_TIMEOUT, 0);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* The counters kept in memory, and a reference to the part (lock held). */
static void
fill(struct status *s, struct vixd_status *out)
{
	struct vixd *v = s->v;
	struct vixd_stats *vs = &v->stats;
	struct status_store *p = s->latest;

	out->now = time(NULL);
	out->started = vs->started;
	out->ref = p;
	out->store_err = p == NULL ? VIX_E_STORE : p->err;
	if (p != NULL) {
		atomic_fetch_add(&p->refs, 1);
		out->st = &p->st;
		out->orgs = p->orgs;
		out->store_taken = p->taken;
	}
	out->refreshes = s->refreshes;
	out->webhooks = webhook_snapshot(v->webhooks, &out->nwebhooks);
	out->connections = atomic_load(&v->nconns);
	out->handshakes_pending = v->hsgate != NULL ?
	    hsgate_pending(v->hsgate) : 0;
	out->admin_connections = atomic_load(&vs->admin_conns);
	for (size_t i = 0; i < METRICS_SLOTS; i++)
		out->subscribers += atomic_load(
		    &vs->metrics.slot[i].subscribers);
	if (out->subscribers < 0)
		out->subscribers = 0;
	for (int i = 0; i < REFUSED_COUNT; i++)
		out->refused[i] = atomic_load(&vs->refused[i]);
	for (int i = 0; i < LISTENER_COUNT; i++)
		out->accept_errors[i] = atomic_load(&vs->accept_errors[i]);
	out->sweeps = atomic_load(&vs->sweeps);
	out->sweep_failures = atomic_load(&vs->sweep_failures);
	out->signals_expired = atomic_load(&vs->signals_expired);
	out->escalations = atomic_load(&vs->escalations);
	out->archive_purged = atomic_load(&vs->archive_purged);
	out->outbox_pruned_acked = atomic_load(&vs->outbox_pruned_acked);
	out->outbox_pruned_retention =
	    atomic_load(&vs->outbox_pruned_retention);
	if (!s->stopping)	/* else the writer may be stopping */
		writer_get_stats(v->writer, &out->writer);
	out->metrics = &vs->metrics;
	out->orgstats = v->orgstats;
}

/*
 * A ticket for a status: 0 when the latest part is current, else one the
 * thread serves with a part read after it was asked (lock held).
 */
static uint64_t
ticket(struct status *s)
{
	if (s->stopping || part_current(s, s->latest))
		return 0;
	if (s->asked == s->served)
		pthread_cond_signal(&s->wake);
	return ++s->asked;
}

/*
 * On the main loop: call the askers whose ticket was served. Tickets grow
 * in the order askers are queued, so they are the first ones.
 */
static void
status_ready(evutil_socket_t fd, short what, void *arg)
{
	struct status *s = arg;
	struct status_wait *w;
	struct vixd_status out;
	uint64_t served;

	pthread_mutex_lock(&s->lock);
	served = s->served;
	pthread_mutex_unlock(&s->lock);
	while ((w = TAILQ_FIRST(&s->waiting)) != NULL && w->ticket <= served) {
		status_cancel(w);
		memset(&out, 0, sizeof(out));
		pthread_mutex_lock(&s->lock);
		fill(s, &out);
		pthread_mutex_unlock(&s->lock);
		w->fn(w->arg, &out);
	}
}

void
status_ask(struct status *s, struct status_wait *w, status_ready_fn *fn,
    void *arg)
{
	struct vixd_status out;
	uint64_t t;

	memset(&out, 0, sizeof(out));
	pthread_mutex_lock(&s->lock);
	if ((t = ticket(s)) == 0)
		fill(s, &out);
	pthread_mutex_unlock(&s->lock);
	if (t == 0) {
		fn(arg, &out);
		return;
	}
	w->status = s;
	w->ticket = t;
	w->fn = fn;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&s->waiting, w, entry);
}

void
status_cancel(struct status_wait *w)
{
	if (w->status == NULL)
		return;
	TAILQ_REMOVE(&w->status->waiting, w, entry);
	w->status = NULL;
}

void
status_take(struct status *s, struct vixd_status *out)
{
	uint64_t t;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	if ((t = ticket(s)) != 0)
		while (s->served < t && !s->stopping)
			pthread_cond_wait(&s->taken, &s->lock);
	fill(s, out);
	pthread_mutex_unlock(&s->lock);
}

void
status_release(struct vixd_status *st)
{
	part_unref(st->ref);
	free(st->webhooks);
	st->webhooks = NULL;
	st->nwebhooks = 0;
	st->ref = NULL;
	st->st = NULL;
	st->orgs = NULL;
}

int64_t
status_oldest_age(const struct vixd_status *st, size_t i)
{
	const struct store_pending *p = &st->st->pending[i];

	/* Read at store_taken; an age grows with the clock, not commits. */
	if (p->pending == 0 || st->now <= st->store_taken)
		return p->oldest_age;
	return p->oldest_age + (st->now - st->store_taken);
}

struct status *
status_start(struct vixd *v)
{
	struct status *s = calloc(1, sizeof(*s));

	if (s == NULL)
		goto fail;
	s->v = v;
	TAILQ_INIT(&s->waiting);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->taken, NULL);
	if ((s->reader = store_reader_new(v->store)) == NULL ||
	    (s->ev_ready = event_new(v->base, -1, 0, status_ready, s)) ==
	    NULL)
		goto fail;
	if (pthread_create(&s->thread, NULL, status_main, s) != 0) {
		log_warnx("status_start: cannot start a thread");
		status_free(s);
		return NULL;
	}
	s->started = 1;
	return s;
fail:
	log_warnx("status_start: out of memory");
	status_free(s);
	return NULL;
}

void
status_stop(struct status *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_signal(&s->wake);
	pthread_cond_broadcast(&s->taken);
	pthread_mutex_unlock(&s->lock);
	if (s->started)
		pthread_join(s->thread, NULL);
	s->started = 0;
}

void
status_free(struct status *s)
{
	struct status_wait *w;

	if (s == NULL)
		return;
	status_stop(s);
	while ((w = TAILQ_FIRST(&s->waiting)) != NULL)
		status_cancel(w);
	part_unref(s->latest);
	if (s->ev_ready != NULL)
		event_free(s->ev_ready);
	store_reader_free(s->reader);
	pthread_cond_destroy(&s->taken);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
