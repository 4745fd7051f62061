/* Group commit: one write transaction per batch of queued requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "log.h"
#include "writer.h"

#define TOUCHED_REPORT	64	/* outboxes named to the published hook */
#define CONFLICT_TRIES	8	/* runs of a batch that loses to other writers */

struct writer {
	struct store		*store;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct job		**queue;		/* ring buffer */
	unsigned		 cap, head, count;
	unsigned		 batch_max;
	unsigned		 batch_wait_us;
	int			 stopping;
	int			 joined;	/* the thread has ended */
	struct writer_hooks	 hooks;
	struct writer_stats	 stats;
	struct metrics_hist	 batch_sizes;	/* for /metrics */
	struct metrics_hist	 commit_times;
	struct metrics_hist	 queue_times;	/* received to batched */
	struct job_home		**homes;	/* of the batch, to flush */
	atomic_uint		 inflight;	/* jobs of the batch being run */
	atomic_uint_fast64_t	 progress_ns;	/* a batch ended, or work came */
	atomic_uint_fast64_t	 commits;	/* transactions committed */
	atomic_uint_fast64_t	 conflicts;	/* batches run again */
};

/*
 * A job that failed without a refusal's message: the commit failed, or
 * the store could not do it.
 */
static void
job_message(struct job *j)
{
	if (j->why[0] != '\0')
		return;
	if (j->err == VIX_E_FULL)
		snprintf(j->why, sizeof(j->why), "the index store is full; "
		    "nothing was changed (administrator: raise map_size, or "
		    "free space on its disk, as the vixd log says)");
	else if (j->err == VIX_E_UNAVAILABLE || j->err == VIX_E_CONFLICT)
		snprintf(j->why, sizeof(j->why), "the index's database is not "
		    "reachable for writing (%s); the request may not have been "
		    "applied: send it again after %u ms", err_name(j->err),
		    STORE_RETRY_MS);
	else
		snprintf(j->why, sizeof(j->why), "the index could not store "
		    "the change; nothing was changed (%s)", err_name(j->err));
}

/* Whether err is a rule refusing the job (audited), not a failure. */
static int
job_refused(int err)
{
	return err == VIX_E_PERMISSION || err == VIX_E_NOT_FOUND ||
	    err == VIX_E_PRECONDITION || err == VIX_E_LIMIT;
}

/* Whether j adds to the store (see job_ops). */
static int
job_grows(const struct job *j)
{
	return j->ops->grows != NULL && j->ops->grows(j);
}

/* One job in its own savepoint; a refusal is audited, not applied. */
static void
writer_run_job(struct writer *wr, struct store_txn *t, struct job *j)
{
	char why[256];

	if (job_grows(j) && store_over_quota(t, why, sizeof(why))) {
		j->err = VIX_E_FULL;
		snprintf(j->why, sizeof(j->why), "%s", why);
		return;
	}
	if ((j->err = store_job_begin(t)) != 0)
		return;
	j->err = store_job_end(t, j->ops->apply(t, j));
	if (job_refused(j->err) && j->ops->audit_refusal != NULL &&
	    store_job_begin(t) == 0)	/* who tried what, and that it failed */
		(void)store_job_end(t, j->ops->audit_refusal(t, j));
}

/*
 * Apply the batch's jobs (all, or all but the registrations) in one
 * transaction and commit it. Returns the commit's error; touched gets the
 * outboxes it wrote to.
 */
static int
writer_run(struct writer *wr, struct job **jobs, unsigned n,
    int skip_growing, uint32_t *touched, size_t *ntouched, int *all)
{
	struct store_txn *t;
	uint64_t t0 = metrics_now_ns();
	int err;

	if ((t = store_write_begin(wr->store, &err)) == NULL)
		return err;
	for (unsigned i = 0; i < n; i++)
		if (!skip_growing || !job_grows(jobs[i]))
			writer_run_job(wr, t, jobs[i]);
	*ntouched = store_touched(t, touched, TOUCHED_REPORT, all);
	err = store_write_commit(t);
	metrics_observe(&wr->commit_times, METRICS_SECONDS,
	    metrics_now_ns() - t0);
	return err;
}

/* Forget what a run of the job left in it, so that it can run again. */
static void
job_reset(struct job *j)
{
	if (j->ops->reset != NULL)
		j->ops->reset(j);
	memset(&j->out, 0, sizeof(j->out));
	j->err = 0;
	j->why[0] = '\0';
}

/*
 * The batch did not fit in the store. Registrations are what fills it:
 * refuse them, and make the other jobs (withdrawals, acks, lookups, the
 * sweep: what frees room or must go on while the store is full) ready to
 * run again on their own. Returns how many will: none unless the batch
 * mixed the two.
 */
static unsigned
writer_drop_registrations(struct job **jobs, unsigned n)
{
	unsigned regs = 0;

	for (unsigned i = 0; i < n; i++)
		regs += job_grows(jobs[i]);
	if (regs == 0 || regs == n)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		struct job *j = jobs[i];

		if (!job_grows(j))
			job_reset(j);
		else if (j->err == 0)
			j->err = VIX_E_FULL;
	}
	return n - regs;
}

/*
 * Hand every job of the batch to its home, tell the subscribers, then wake
 * each home that wants one wake-up per batch: its owner finds the answers
 * and the notifications of the batch together.
 */
static void
writer_post_all(struct writer *wr, struct job **jobs, unsigned n, int err,
    const uint32_t *touched, size_t ntouched, int all)
{
	uint64_t now = metrics_now_ns();
	unsigned nhomes = 0, k;

	for (unsigned i = 0; i < n; i++) {
		struct job *j = jobs[i];

		if (err != 0 && j->err == 0) {
			/* The commit failed: nothing of the batch is stored. */
			j->err = err;
			j->why[0] = '\0';
		}
		if (j->err != 0)
			job_message(j);
		j->committed_ns = now;
		if (j->home->flush != NULL) {
			for (k = 0; k < nhomes && wr->homes[k] != j->home; k++)
				;
			if (k == nhomes)
				wr->homes[nhomes++] = j->home;
		}
		j->home->post(j->home, j);
	}
	/* Only now are the new notifications durable: wake the subscribers. */
	if (err == 0 && (ntouched > 0 || all) && wr->hooks.published != NULL)
		wr->hooks.published(wr->hooks.arg, touched, ntouched, all);
	for (k = 0; k < nhomes; k++)
		wr->homes[k]->flush(wr->homes[k]);
}

static void
writer_batch(struct writer *wr, struct job **jobs, unsigned n)
{
	uint32_t touched[TOUCHED_REPORT];
	size_t ntouched = 0;
	unsigned again;
	int err, all = 0;

	atomic_store(&wr->inflight, n);
	err = writer_run(wr, jobs, n, 0, touched, &ntouched, &all);
	/*
	 * Lost to another writer on the same database (a deadlock on two
	 * youths, say): nothing of the batch is stored; run it again.
	 */
	for (unsigned tries = 1; err == VIX_E_CONFLICT &&
	    tries < CONFLICT_TRIES; tries++) {
		atomic_fetch_add(&wr->conflicts, 1);
		for (unsigned i = 0; i < n; i++)
			job_reset(jobs[i]);
		all = 0;
		err = writer_run(wr, jobs, n, 0, touched, &ntouched, &all);
	}
	metrics_observe(&wr->batch_sizes, METRICS_SIZE, n);
	if (err == VIX_E_FULL && (again = writer_drop_registrations(jobs,
	    n)) > 0) {
		log_warnx("writer: the store is full: %u registrations refused, "
		    "the other %u requests of the batch run again without "
		    "them", n - again, again);
		all = 0;
		err = writer_run(wr, jobs, n, 1, touched, &ntouched, &all);
	}
	if (err == 0)	/* counted before any job of it is answered */
		atomic_fetch_add(&wr->commits, 1);
	writer_post_all(wr, jobs, n, err, touched, ntouched, all);
	atomic_store(&wr->progress_ns, metrics_now_ns());
	atomic_store(&wr->inflight, 0);
}

/*
 * Give more requests up to batch_wait_us to join the batch (called with
 * the lock held). Trades a little latency for fewer, larger commits.
 */
static void
writer_linger(struct writer *wr)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)wr->batch_wait_us * 1000;
	until.tv_sec += until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	while (wr->count < wr->batch_max && !wr->stopping &&
	    pthread_cond_timedwait(&wr->cond, &wr->lock, &until) == 0)
		;
}

/* How long the client requests just taken waited since they were decoded. */
static void
writer_queue_times(struct writer *wr, struct job **jobs, unsigned n)
{
	uint64_t now = metrics_now_ns(), t;

	for (unsigned i = 0; i < n; i++)
		if ((t = jobs[i]->received_ns) != 0)
			metrics_observe(&wr->queue_times, METRICS_SECONDS,
			    now > t ? now - t : 0);
}

static void *
writer_main(void *arg)
{
	struct writer *wr = arg;
	struct job **batch;
	unsigned n;

	if ((batch = calloc(wr->batch_max, sizeof(*batch))) == NULL ||
	    (wr->homes = calloc(wr->batch_max, sizeof(*wr->homes))) == NULL)
		fatalx("writer: out of memory");
	for (;;) {
		pthread_mutex_lock(&wr->lock);
		while (wr->count == 0 && !wr->stopping)
			pthread_cond_wait(&wr->cond, &wr->lock);
		if (wr->count == 0 && wr->stopping) {
			pthread_mutex_unlock(&wr->lock);
			break;
		}
		if (wr->batch_wait_us > 0 && wr->count < wr->batch_max &&
		    !wr->stopping)
			writer_linger(wr);
		for (n = 0; n < wr->batch_max && wr->count > 0; n++) {
			batch[n] = wr->queue[wr->head];
			wr->head = (wr->head + 1) % wr->cap;
			wr->count--;
		}
		wr->stats.batches++;
		wr->stats.jobs += n;
		if (n > wr->stats.max_batch)
			wr->stats.max_batch = n;
		pthread_mutex_unlock(&wr->lock);
		writer_queue_times(wr, batch, n);
		writer_batch(wr, batch, n);
	}
	free(wr->homes);
	wr->homes = NULL;
	free(batch);
	return NULL;
}

struct writer *
writer_start(struct store *store, unsigned batch_max, unsigned batch_wait_us,
    unsigned queue_max, const struct writer_hooks *hooks)
{
	struct writer *wr = calloc(1, sizeof(*wr));

	if (wr == NULL || (wr->queue = calloc(queue_max,
	    sizeof(*wr->queue))) == NULL) {
		free(wr);
		return NULL;
	}
	wr->store = store;
	wr->cap = queue_max;
	wr->batch_max = batch_max;
	wr->batch_wait_us = batch_wait_us;
	wr->hooks = *hooks;
	atomic_store(&wr->progress_ns, metrics_now_ns());
	pthread_mutex_init(&wr->lock, NULL);
	pthread_cond_init(&wr->cond, NULL);
	if (pthread_create(&wr->thread, NULL, writer_main, wr) != 0) {
		free(wr->queue);
		free(wr);
		return NULL;
	}
	return wr;
}

int
writer_submit(struct writer *wr, struct job_home *home, struct job *j)
{
	int err = 0;

	j->home = home;
	pthread_mutex_lock(&wr->lock);
	if (wr->stopping)
		err = VIX_E_UNAVAILABLE;
	else if (wr->count == wr->cap)
		err = VIX_E_FULL;
	else {
		/* The writer was idle: a stall is counted from now. */
		if (wr->count == 0 && atomic_load(&wr->inflight) == 0)
			atomic_store(&wr->progress_ns, metrics_now_ns());
		wr->queue[(wr->head + wr->count) % wr->cap] = j;
		wr->count++;
		pthread_cond_signal(&wr->cond);
	}
	pthread_mutex_unlock(&wr->lock);
	return err;
}

void
writer_stop(struct writer *wr)
{
	if (wr == NULL || wr->joined)
		return;
	pthread_mutex_lock(&wr->lock);
	wr->stopping = 1;
	pthread_cond_signal(&wr->cond);
	pthread_mutex_unlock(&wr->lock);
	pthread_join(wr->thread, NULL);
	wr->joined = 1;
}

void
writer_free(struct writer *wr)
{
	if (wr == NULL)
		return;
	writer_stop(wr);
	pthread_mutex_destroy(&wr->lock);
	pthread_cond_destroy(&wr->cond);
	free(wr->queue);
	free(wr);
}

void
job_complete(struct job *j)
{
	if (j->ops->complete != NULL)
		j->ops->complete(j);
	j->ops->free(j);
}

void
writer_get_stats(struct writer *wr, struct writer_stats *out)
{
	uint64_t now, progress;

	pthread_mutex_lock(&wr->lock);
	*out = wr->stats;
	out->waiting = wr->count + atomic_load(&wr->inflight);
	pthread_mutex_unlock(&wr->lock);
	out->commits = atomic_load(&wr->commits);
	out->conflicts = atomic_load(&wr->conflicts);
	metrics_hist_read(&wr->batch_sizes, &out->batch_sizes);
	metrics_hist_read(&wr->commit_times, &out->commit_times);
	metrics_hist_read(&wr->queue_times, &out->queue_times);
	now = metrics_now_ns();
	progress = atomic_load(&wr->progress_ns);
	out->since_progress_ms = now > progress ? (now - progress) / 1000000 :
	    0;
}
