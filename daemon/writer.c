/* Group commit: one LMDB write transaction per batch of queued requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "log.h"
#include "writer.h"

#define TOUCHED_REPORT	64	/* outboxes named to the published hook */

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
	atomic_uint_fast64_t	 commits;	/* transactions committed */
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
	case JOB_AUDIT:		return "audit";
	}
	return "unknown";
}

/* A registration over max_new_signals_per_day: the cap and its reset. */
static void
job_message_daily_cap(struct job *j)
{
	const struct store_register_in *in = &j->in.reg;
	time_t reset = (time_t)((in->now / 86400 + 1) * 86400);
	char when[32];
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
	    gmtime_r(&reset, &tm));
	snprintf(j->why, sizeof(j->why), "organisation %s has registered %u "
	    "new signals today, its maximum (max_new_signals_per_day); new "
	    "signals are accepted again from %s; refreshing its existing "
	    "signals is not limited", in->org->id, in->max_new_per_day, when);
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
	case VIX_E_LIMIT:
		job_message_daily_cap(j);
		break;
	case VIX_E_FULL:
		snprintf(j->why, sizeof(j->why), "the index store is full; "
		    "nothing was changed (administrator: raise map_size, or "
		    "free space on its disk, as the vixd log says)");
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
	case JOB_AUDIT:
		return store_audit_youth(t, j->in.audit.has_youth ?
		    j->in.audit.youth : NULL, j->now, j->in.audit.actor,
		    j->in.audit.action, j->in.audit.signal_id,
		    j->in.audit.match_id, j->in.audit.outcome);
	}
	return VIX_E_STORE;
}

/*
 * A refused request's audit record: who tried what on which signal or
 * match, linked to the youth it concerned (given, or found from them).
 */
static int
job_audit_refusal(struct store_txn *t, struct job *j)
{
	const uint8_t *youth = NULL;
	uint64_t signal_id = 0, match_id = 0;

	switch (j->kind) {
	case JOB_REGISTER:
		youth = j->in.reg.pseudonym;
		break;
	case JOB_WITHDRAW:
		signal_id = j->in.wd.signal_id;
		youth = signal_id ? NULL : j->in.wd.pseudonym;
		break;
	case JOB_INVOLVED:
		youth = j->in.pseudonym;
		break;
	case JOB_COORDINATE:
		match_id = j->in.coord.match_id;
		break;
	default:
		break;
	}
	return store_audit_youth(t, youth, j->now, j->org->oin, job_action(j),
	    signal_id, match_id, err_name(j->err));
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
	    j->err == VIX_E_NOT_FOUND || j->err == VIX_E_PRECONDITION ||
	    j->err == VIX_E_LIMIT)) {
		/* Who tried what, and that it was refused. */
		if (store_job_begin(t) == 0)
			(void)store_job_end(t, job_audit_refusal(t, j));
	}
}

/*
 * Apply the batch's jobs (all, or all but the registrations) in one
 * transaction and commit it. Returns the commit's error; touched gets the
 * outboxes it wrote to.
 */
static int
writer_run(struct writer *wr, struct writer_item *items, unsigned n,
    int skip_register, uint32_t *touched, size_t *ntouched, int *all)
{
	struct store_txn *t;
	uint64_t t0 = metrics_now_ns();
	int err;

	if ((t = store_write_begin(wr->store, &err)) == NULL)
		return err;
	for (unsigned i = 0; i < n; i++)
		if (!skip_register || items[i].job->kind != JOB_REGISTER)
			writer_run_job(wr, t, items[i].job);
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
	switch (j->kind) {
	case JOB_REGISTER:
		store_view_free(&j->out.reg.view);
		break;
	case JOB_INVOLVED:
		store_view_free(&j->out.inv.view);
		break;
	case JOB_COORDINATE:
		store_view_free(&j->out.coord);
		break;
	case JOB_ERASE:
		free(j->out.erase.orgs);
		break;
	default:
		break;
	}
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
writer_drop_registrations(struct writer_item *items, unsigned n)
{
	unsigned regs = 0;

	for (unsigned i = 0; i < n; i++)
		regs += items[i].job->kind == JOB_REGISTER;
	if (regs == 0 || regs == n)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		struct job *j = items[i].job;

		if (j->kind != JOB_REGISTER)
			job_reset(j);
		else if (j->err == 0)
			j->err = VIX_E_FULL;
	}
	return n - regs;
}

static void
writer_batch(struct writer *wr, struct writer_item *items, unsigned n)
{
	uint32_t touched[TOUCHED_REPORT];
	size_t ntouched = 0;
	unsigned again;
	int err, all = 0;

	atomic_store(&wr->inflight, n);
	err = writer_run(wr, items, n, 0, touched, &ntouched, &all);
	metrics_observe(&wr->batch_sizes, METRICS_SIZE, n);
	if (err == VIX_E_FULL && (again = writer_drop_registrations(items,
	    n)) > 0) {
		log_warnx("writer: the store is full: %u registrations refused, "
		    "the other %u requests of the batch run again without "
		    "them", n - again, again);
		all = 0;
		err = writer_run(wr, items, n, 1, touched, &ntouched, &all);
	}
	if (err == 0)	/* counted before any job of it is answered */
		atomic_fetch_add(&wr->commits, 1);
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
	out->commits = atomic_load(&wr->commits);
	metrics_hist_read(&wr->batch_sizes, &out->batch_sizes);
	metrics_hist_read(&wr->commit_times, &out->commit_times);
	now = metrics_now_ns();
	progress = atomic_load(&wr->progress_ns);
	out->since_progress_ms = now > progress ? (now - progress) / 1000000 :
	    0;
}
