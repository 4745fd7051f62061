/* Group commit: one LMDB write transaction per batch of queued requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "log.h"
#include "writer.h"

struct writer_item {
	struct job	*job;
	struct worker	*w;
};

struct writer {
	struct store		*store;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct writer_item	*queue;		/* ring buffer */
	unsigned		 cap, head, count;
	unsigned		 batch_max;
	unsigned		 batch_wait_us;
	int			 stopping;
	struct writer_hooks	 hooks;
	struct writer_stats	 stats;
	struct metrics_hist	 batch_sizes;	/* for /metrics */
	struct metrics_hist	 commit_times;
	atomic_uint		 inflight;	/* jobs of the batch being run */
	atomic_uint_fast64_t	 progress_ns;	/* a batch ended, or work came */
};

static const char *
job_action(const struct job *j)
{
	switch (j->kind) {
	case JOB_REGISTER:	return "register";
	case JOB_WITHDRAW:	return "withdraw";
	case JOB_INVOLVED:	return "involved";
	case JOB_ACK:		return "ack";
	case JOB_COORDINATE:	return "coordinate";
	case JOB_SWEEP:		return "sweep";
	case JOB_ERASE:		return "erase";
	}
	return "unknown";
}

static void
job_message(struct job *j)
{
	if (j->why[0] != '\0')
		return;
	switch (j->err) {
	case VIX_E_PRECONDITION:
		snprintf(j->why, sizeof(j->why), "match_id: you do not "
		    "coordinate match %llu, so you cannot release it",
		    (unsigned long long)j->in.coord.match_id);
		break;
	case VIX_E_INVALID:
		snprintf(j->why, sizeof(j->why), j->kind == JOB_ACK ? "seq: "
		    "beyond the last notification for this recipient" :
		    "invalid request");
		break;
	case VIX_E_NOT_FOUND:
		if (j->kind == JOB_COORDINATE) {
			snprintf(j->why, sizeof(j->why), "match_id: no open "
			    "match %llu", (unsigned long long)
			    j->in.coord.match_id);
			break;
		}
		snprintf(j->why, sizeof(j->why), "no active signal of yours "
		    "matches %s", j->kind == JOB_WITHDRAW &&
		    j->in.wd.signal_id ? "signal_id" : "bsn");
		break;
	case VIX_E_PERMISSION:
		if (j->kind == JOB_COORDINATE) {
			snprintf(j->why, sizeof(j->why), "match_id: you are "
			    "not involved in match %llu",
			    (unsigned long long)j->in.coord.match_id);
			break;
		}
		snprintf(j->why, sizeof(j->why), j->kind == JOB_INVOLVED ?
		    "bsn: you may ask who else is involved only while you have "
		    "an active signal on this youth" : "signal_id: the signal "
		    "was registered by another organisation; only its "
		    "registrant may withdraw it");
		break;
	case VIX_E_FULL:
		snprintf(j->why, sizeof(j->why), "the index store is full; "
		    "nothing was changed (administrator: raise map_size)");
		break;
	default:
		snprintf(j->why, sizeof(j->why), "the index could not store "
		    "the change; nothing was changed (%s)", err_name(j->err));
		break;
	}
}

static int
job_apply(struct store_txn *t, struct job *j)
{
	switch (j->kind) {
	case JOB_REGISTER:
		return store_register(t, &j->in.reg, &j->out.reg);
	case JOB_WITHDRAW:
		return store_withdraw(t, &j->in.wd, &j->out.wd);
	case JOB_INVOLVED:
		return store_involved(t, j->in.pseudonym, j->org, j->now,
		    &j->out.inv.signal_id, &j->out.inv.view);
	case JOB_ACK:
		return store_ack(t, j->org->sid, j->in.ack.recipient,
		    j->in.ack.seq, &j->out.acked);
	case JOB_COORDINATE:
		return store_coordinate(t, &j->in.coord, &j->out.coord);
	case JOB_SWEEP:
		return store_sweep(t, &j->in.sweep, &j->out.sweep);
	case JOB_ERASE:
		return store_erase(t, &j->in.erase, &j->out.erase);
	}
	return VIX_E_STORE;
}

/* One job in its own savepoint; a refusal is audited, not applied. */
static void
writer_run_job(struct writer *wr, struct store_txn *t, struct job *j)
{
	char why[256];

	if (j->kind == JOB_REGISTER && store_over_quota(t, why, sizeof(why))) {
		j->err = VIX_E_FULL;
		snprintf(j->why, sizeof(j->why), "%s", why);
		return;
	}
	if ((j->err = store_job_begin(t)) != 0)
		return;
	j->err = store_job_end(t, job_apply(t, j));
	if (j->org != NULL && (j->err == VIX_E_PERMISSION ||
	    j->err == VIX_E_NOT_FOUND || j->err == VIX_E_PRECONDITION)) {
		/* Who tried what, and that it was refused. */
		if (store_job_begin(t) == 0)
			(void)store_job_end(t, store_audit(t, j->now,
			    j->org->oin, job_action(j), j->kind == JOB_WITHDRAW ?
			    j->in.wd.signal_id : 0, 0, err_name(j->err)));
	}
}

static void
writer_batch(struct writer *wr, struct writer_item *items, unsigned n)
{
	struct store_txn *t;
	int err;

	uint32_t touched[64];
	size_t ntouched = 0;
	int all = 0;
	uint64_t t0 = metrics_now_ns();

	atomic_store(&wr->inflight, n);
	if ((t = store_write_begin(wr->store, &err)) != NULL) {
		for (unsigned i = 0; i < n; i++)
			writer_run_job(wr, t, items[i].job);
		ntouched = store_touched(t, touched, 64, &all);
		err = store_write_commit(t);
		metrics_observe(&wr->commit_times, METRICS_SECONDS,
		    metrics_now_ns() - t0);
		metrics_observe(&wr->batch_sizes, METRICS_SIZE, n);
	}
	for (unsigned i = 0; i < n; i++) {
		struct job *j = items[i].job;

		if (err != 0 && j->err == 0) {
			/* The commit failed: nothing of the batch is stored. */
			j->err = err;
			j->why[0] = '\0';
		}
		if (j->err != 0)
			job_message(j);
		if (j->done != NULL)
			j->done(j);
		else
			wr->hooks.done(wr->hooks.arg, items[i].w, j);
	}
	/* Only now are the new notifications durable: wake the subscribers. */
	if (err == 0 && (ntouched > 0 || all) && wr->hooks.published != NULL)
		wr->hooks.published(wr->hooks.arg, touched, ntouched, all);
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

static void *
writer_main(void *arg)
{
	struct writer *wr = arg;
	struct writer_item *batch;
	unsigned n;

	if ((batch = calloc(wr->batch_max, sizeof(*batch))) == NULL)
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
		writer_batch(wr, batch, n);
	}
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
writer_submit(struct writer *wr, struct worker *w, struct job *j)
{
	int err = 0;

	pthread_mutex_lock(&wr->lock);
	if (wr->stopping)
		err = VIX_E_UNAVAILABLE;
	else if (wr->count == wr->cap)
		err = VIX_E_FULL;
	else {
		/* The writer was idle: a stall is counted from now. */
		if (wr->count == 0 && atomic_load(&wr->inflight) == 0)
			atomic_store(&wr->progress_ns, metrics_now_ns());
		wr->queue[(wr->head + wr->count) % wr->cap] =
		    (struct writer_item){ j, w };
		wr->count++;
		pthread_cond_signal(&wr->cond);
	}
	pthread_mutex_unlock(&wr->lock);
	return err;
}

void
writer_stop(struct writer *wr)
{
	if (wr == NULL)
		return;
	pthread_mutex_lock(&wr->lock);
	wr->stopping = 1;
	pthread_cond_signal(&wr->cond);
	pthread_mutex_unlock(&wr->lock);
	pthread_join(wr->thread, NULL);
	pthread_mutex_destroy(&wr->lock);
	pthread_cond_destroy(&wr->cond);
	free(wr->queue);
	free(wr);
}

void
writer_get_stats(struct writer *wr, struct writer_stats *out)
{
	uint64_t now, progress;

	pthread_mutex_lock(&wr->lock);
	*out = wr->stats;
	out->waiting = wr->count + atomic_load(&wr->inflight);
	pthread_mutex_unlock(&wr->lock);
	metrics_hist_read(&wr->batch_sizes, &out->batch_sizes);
	metrics_hist_read(&wr->commit_times, &out->commit_times);
	now = metrics_now_ns();
	progress = atomic_load(&wr->progress_ns);
	out->since_progress_ms = now > progress ? (now - progress) / 1000000 :
	    0;
}
