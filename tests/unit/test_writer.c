/*
 * The store conformance suite, the writer thread end to end: group commit
 * over a real store of the backend VIX_TEST_BACKEND names, the batch
 * limit, a full queue, refusals inside a batch, and stopping with work
 * still queued. The quota and a map that runs full are LMDB's, tested in
 * test_writer_lmdb.c.
 *
 * To make batches deterministic a test may close a gate (writerfix.h):
 * whatever the test submits meanwhile is queued, not yet taken.
 *
 * Youths are known here only by fixed pseudonym byte patterns; no BSN.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "errors.h"
#include "handlers.h"
#include "orgs.h"
#include "store.h"
#include "store_backend.h"
#include "storefix.h"
#include "support.h"
#include "vix.pb-c.h"
#include "writer.h"
#include "writerfix.h"

#define OIN_WIJK	STOREFIX_OIN_WIJK
#define OIN_JZ		STOREFIX_OIN_JZ

#define MAP_SIZE	STOREFIX_MAP_SIZE
#define T0		STOREFIX_T0
#define YEAR		(365 * 86400)

static const char orgs_conf[] = STOREFIX_ORGS_CONF_WIJK_JZ;

#include "writer_tests.h"

static void
setup(void)
{
	setup_common();
	open_store(MAP_SIZE, 90);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	orgs_unref(orgs);
	orgs = NULL;
	storefix_tmpdir_remove(dir, dbdir);
	dir = NULL;
	dbdir = NULL;
}

TestSuite(writer, .init = setup, .fini = teardown);

Test(writer, every_job_comes_back_committed)
{
	enum { N = 50 };
	struct job *jobs = writerfix_jobs_new(N);
	struct writer_stats ws;
	struct writer *wr;

	wr = writer_start(st, 8, 1000, 64, hooks);
	cr_assert_not_null(wr);
	for (unsigned i = 0; i < N; i++) {
		writerfix_job_register(&jobs[i], orgs, i % 2 ? jz : wijk, i,
		    T0 + i);
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0);
	}
	writerfix_wait_done(N);
	writer_get_stats(wr, &ws);
	writer_free(wr);

	writerfix_expect_registered(jobs, N);
	cr_assert_eq(ws.jobs, N);
	cr_assert_geq(ws.batches, (N + 7) / 8);
	cr_assert_leq(ws.batches, N);
	cr_assert_geq(ws.max_batch, 1);
	cr_assert_leq(ws.max_batch, 8);
	cr_assert_eq(writerfix_signals_stored(st), N);
	cr_assert_eq(writerfix_audit_good(st), N);
	writerfix_jobs_free(jobs, N);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(writer, a_batch_takes_at_most_batch_max)
{
	enum { N = 100 };
	struct job *jobs = writerfix_jobs_new(N);
	struct writer_stats ws;
	struct writer *wr;

	wr = writer_start(st, 4, 0, 128, hooks);
	cr_assert_not_null(wr);
	writerfix_gate_close();
	writerfix_job_register(&jobs[0], orgs, wijk, 0, T0);
	cr_assert_eq(writer_submit(wr, WORKER, &jobs[0]), 0);
	writerfix_gate_wait();
	/* The other 99 are all queued before the writer takes any. */
	for (unsigned i = 1; i < N; i++) {
		writerfix_job_register(&jobs[i], orgs, wijk, i, T0 + i);
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0);
	}
	writerfix_gate_open();
	writerfix_wait_done(N);
	writer_get_stats(wr, &ws);
	writer_free(wr);

	writerfix_expect_registered(jobs, N);
	cr_assert_eq(ws.jobs, N);
	cr_assert_eq(ws.max_batch, 4);
	/* One for the first job, then 99 in batches of at most 4. */
	cr_assert_eq(ws.batches, 1 + 25);
	cr_assert_eq(writerfix_signals_stored(st), N);
	writerfix_jobs_free(jobs, N);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(writer, a_full_queue_refuses_more)
{
	enum { QUEUE = 16, N = QUEUE + 3 };
	struct job *jobs = writerfix_jobs_new(N);
	struct writer *wr;

	wr = writer_start(st, 4, 0, QUEUE, hooks);
	cr_assert_not_null(wr);
	writerfix_gate_close();
	writerfix_job_register(&jobs[0], orgs, wijk, 0, T0);
	cr_assert_eq(writer_submit(wr, WORKER, &jobs[0]), 0);
	writerfix_gate_wait();
	for (unsigned i = 1; i <= QUEUE; i++) {
		writerfix_job_register(&jobs[i], orgs, wijk, i, T0 + i);
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0, "job %u",
		    i);
	}
	for (unsigned i = QUEUE + 1; i < N; i++) {
		writerfix_job_register(&jobs[i], orgs, wijk, i, T0 + i);
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), VIX_E_FULL,
		    "job %u", i);
	}
	writerfix_gate_open();
	writer_free(wr);

	/* Exactly the accepted ones came back; the refused never did. */
	cr_assert_eq(writerfix_done_count(), QUEUE + 1);
	writerfix_expect_registered(jobs, QUEUE + 1);
	cr_assert_eq(writerfix_signals_stored(st), QUEUE + 1);
	writerfix_jobs_free(jobs, N);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

struct stopper {
	struct writer	*wr;
	struct job	*extra;
	size_t		 max;
	size_t		 accepted;	/* submitted before stopping began */
	int		 last;		/* the submission that was refused */
};

/*
 * While the writer is held at the gate and writer_stop() waits for it,
 * submit until refused as UNAVAILABLE (giving up after some seconds of
 * a full queue); then let the writer go on.
 */
static void *
stopper_main(void *arg)
{
	struct stopper *s = arg;
	struct timespec ms = { 0, 1000000 };
	int full = 0;

	for (;;) {
		if (s->accepted == s->max || full == 5000)
			break;
		writerfix_job_register(&s->extra[s->accepted], orgs, jz,
		    (unsigned)(1000 + s->accepted), T0);
		s->last = writer_submit(s->wr, WORKER,
		    &s->extra[s->accepted]);
		if (s->last == 0)
			s->accepted++;
		else if (s->last == VIX_E_FULL)
			full++;
		else
			break;
		nanosleep(&ms, NULL);
	}
	writerfix_gate_open();
	return NULL;
}

Test(writer, stop_finishes_every_queued_job)
{
	enum { N = 21, EXTRA = 4000 };
	struct job *jobs = writerfix_jobs_new(N);
	struct stopper s = { .max = EXTRA };
	struct writer_stats ws;
	struct writer *wr;
	pthread_t thread;
	size_t back;

	s.extra = writerfix_jobs_new(EXTRA);
	wr = writer_start(st, 2, 0, 64, hooks);
	cr_assert_not_null(wr);
	s.wr = wr;
	writerfix_gate_close();
	writerfix_job_register(&jobs[0], orgs, wijk, 0, T0);
	cr_assert_eq(writer_submit(wr, WORKER, &jobs[0]), 0);
	writerfix_gate_wait();
	for (unsigned i = 1; i < N; i++) {
		writerfix_job_register(&jobs[i], orgs, wijk, i, T0 + i);
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0);
	}
	cr_assert_eq(pthread_create(&thread, NULL, stopper_main, &s), 0);
	writer_stop(wr);
	/* No waiting: all are back by the time writer_stop returns. */
	back = writerfix_done_count();
	cr_assert_eq(pthread_join(thread, NULL), 0);
	cr_assert_eq(back, N + s.accepted);
	cr_assert_eq(s.last, VIX_E_UNAVAILABLE,
	    "a stopping writer must refuse new jobs");
	/*
	 * Stopped, not freed: a job completed after the stop that queues its
	 * next step (a key rotation's) is refused, and the stats still read.
	 */
	writerfix_job_register(&s.extra[s.accepted], orgs, jz, 999, T0);
	cr_assert_eq(writer_submit(wr, WORKER, &s.extra[s.accepted]),
	    VIX_E_UNAVAILABLE);
	writer_get_stats(wr, &ws);
	cr_assert_eq(ws.jobs, N + s.accepted);
	writer_stop(wr);	/* a second stop does nothing */
	writer_free(wr);

	writerfix_expect_registered(jobs, N);
	for (size_t i = 0; i < s.accepted; i++)
		cr_assert_eq(s.extra[i].err, 0);
	cr_assert_eq(writerfix_signals_stored(st), N + s.accepted);
	writerfix_jobs_free(s.extra, EXTRA);
	writerfix_jobs_free(jobs, N);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

#define AUDIT_MAX	8

struct audit_log {
	struct store_audit_record	r[AUDIT_MAX];
	size_t				n;
};

static int
collect(void *arg, const struct store_audit_record *r)
{
	struct audit_log *log = arg;

	if (log->n < AUDIT_MAX)
		log->r[log->n] = *r;
	log->n++;
	return 0;
}

static void
expect_record(const struct audit_log *log, size_t i, const char *actor,
    const char *action, uint64_t signal_id, const char *outcome)
{
	const struct store_audit_record *r = &log->r[i];

	/* One writer's chain: places 1, 2, ... (store_backend.h). */
	cr_assert_eq(STORE_AUDIT_PLACE(r->seq), i + 1, "record %zu", i);
	cr_assert_eq(STORE_AUDIT_CHAIN(r->seq), STORE_AUDIT_CHAIN(log->r[0].seq),
	    "record %zu", i);
	cr_assert_str_eq(r->actor, actor, "record %zu", i);
	cr_assert_str_eq(r->action, action, "record %zu", i);
	cr_assert_eq(r->signal_id, signal_id, "record %zu", i);
	cr_assert_str_eq(r->outcome, outcome, "record %zu", i);
}

Test(writer, refusals_in_a_batch_are_audited_and_leave_the_rest)
{
	enum { N = 5 };
	struct job *jobs = writerfix_jobs_new(N);
	struct audit_log log = { .n = 0 };
	struct store_reader *r;
	struct writer_stats ws;
	struct writer *wr;
	uint64_t first;

	wr = writer_start(st, 8, 0, 16, hooks);
	cr_assert_not_null(wr);
	writerfix_gate_close();
	writerfix_job_register(&jobs[0], orgs, wijk, 1, T0);
	cr_assert_eq(writer_submit(wr, WORKER, &jobs[0]), 0);
	writerfix_gate_wait();
	first = jobs[0].out.reg.signal_id;
	cr_assert_eq(jobs[0].err, 0);

	/* One batch: a refusal, a registration, two more refusals. */
	writerfix_job_withdraw(&jobs[1], orgs, jz, first, T0 + 1);
	writerfix_job_register(&jobs[2], orgs, jz, 2, T0 + 2);
	writerfix_job_involved(&jobs[3], orgs, jz, 1, T0 + 3);
	writerfix_job_withdraw(&jobs[4], orgs, wijk, first + 1000, T0 + 4);
	for (unsigned i = 1; i < N; i++)
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0);
	writerfix_gate_open();
	writerfix_wait_done(N);
	writer_get_stats(wr, &ws);
	writer_free(wr);
	cr_assert_eq(ws.batches, 2);

	cr_assert_eq(jobs[1].err, VIX_E_PERMISSION);
	cr_assert_not_null(strstr(jobs[1].why, "signal_id"), "%s",
	    jobs[1].why);
	cr_assert_eq(jobs[2].err, 0, "%s", jobs[2].why);
	cr_assert_eq(jobs[2].why[0], '\0');
	cr_assert_eq(jobs[3].err, VIX_E_PERMISSION);
	cr_assert_not_null(strstr(jobs[3].why, "active signal"), "%s",
	    jobs[3].why);
	cr_assert_eq(jobs[4].err, VIX_E_NOT_FOUND);
	cr_assert_not_null(strstr(jobs[4].why, "signal_id"), "%s",
	    jobs[4].why);
	/* The refused withdrawal left wijk's signal alone. */
	cr_assert_eq(writerfix_signals_stored(st), 2);

	cr_assert_eq(writerfix_audit_good(st), 5);
	r = store_reader_new(st);
	cr_assert_eq(store_audit_foreach(r, collect, &log), 0);
	store_reader_free(r);
	cr_assert_eq(log.n, 5);
	expect_record(&log, 0, OIN_WIJK, "register", first, "ok");
	expect_record(&log, 1, OIN_JZ, "withdraw", first, "permission_denied");
	expect_record(&log, 2, OIN_JZ, "register", jobs[2].out.reg.signal_id,
	    "ok");
	expect_record(&log, 3, OIN_JZ, "involved", 0, "permission_denied");
	expect_record(&log, 4, OIN_WIJK, "withdraw", first + 1000,
	    "not_found");
	writerfix_jobs_free(jobs, N);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* A home that wants one wake-up per batch, as a worker's. */
struct flush_home {
	struct job_home	 home;
	size_t		 posted;	/* jobs handed over */
	size_t		 flushes;
	size_t		 posted_at_flush;	/* at the last flush */
};

static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flush_cond = PTHREAD_COND_INITIALIZER;

static void
flush_home_post(struct job_home *home, struct job *j)
{
	struct flush_home *h = (struct flush_home *)(void *)home;

	(void)j;
	pthread_mutex_lock(&flush_lock);
	h->posted++;
	pthread_mutex_unlock(&flush_lock);
}

static void
flush_home_flush(struct job_home *home)
{
	struct flush_home *h = (struct flush_home *)(void *)home;

	pthread_mutex_lock(&flush_lock);
	h->flushes++;
	h->posted_at_flush = h->posted;
	pthread_cond_broadcast(&flush_cond);
	pthread_mutex_unlock(&flush_lock);
}

/* Wait (at most a minute) until both homes were flushed. */
static void
flush_wait(struct flush_home *a, struct flush_home *b)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	pthread_mutex_lock(&flush_lock);
	while ((a->flushes == 0 || b->flushes == 0) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&flush_cond, &flush_lock, &until);
	pthread_mutex_unlock(&flush_lock);
}

Test(writer, a_home_with_flush_is_woken_once_per_batch)
{
	enum { N = 11 };
	struct flush_home a = { { flush_home_post, flush_home_flush }, 0, 0,
	    0 };
	struct flush_home b = { { flush_home_post, flush_home_flush }, 0, 0,
	    0 };
	struct job *jobs = writerfix_jobs_new(N);
	struct writer_stats ws;
	struct writer *wr;
	uint64_t t0 = metrics_now_ns(), waited = 0;

	wr = writer_start(st, 64, 0, 128, hooks);
	cr_assert_not_null(wr);
	writerfix_gate_close();
	writerfix_job_register(&jobs[0], orgs, wijk, 0, T0);
	cr_assert_eq(writer_submit(wr, WORKER, &jobs[0]), 0);
	writerfix_gate_wait();
	/* Ten more, queued while the writer is held: one batch, two homes. */
	for (unsigned i = 1; i < N; i++) {
		writerfix_job_register(&jobs[i], orgs, i % 2 ? wijk : jz, i,
		    T0 + i);
		jobs[i].received_ns = t0;
		cr_assert_eq(writer_submit(wr, i % 3 ? &a.home : &b.home,
		    &jobs[i]), 0);
	}
	writerfix_gate_open();
	flush_wait(&a, &b);
	writer_get_stats(wr, &ws);
	writer_free(wr);

	cr_assert_eq(ws.batches, 2);
	cr_assert_eq(a.posted + b.posted, N - 1);
	/* One wake-up each, after every job of the batch was handed over. */
	cr_assert_eq(a.flushes, 1);
	cr_assert_eq(b.flushes, 1);
	cr_assert_eq(a.posted_at_flush, a.posted);
	cr_assert_eq(b.posted_at_flush, b.posted);
	for (unsigned i = 1; i < N; i++) {
		cr_assert_eq(jobs[i].err, 0, "%s", jobs[i].why);
		cr_assert_geq(jobs[i].committed_ns, t0);
	}
	/* The ten with a time of arrival were counted waiting for a batch. */
	for (unsigned i = 0; i < METRICS_BUCKETS; i++)
		waited += ws.queue_times.bucket[i];
	cr_assert_eq(waited, N - 1);
	cr_assert_geq(ws.queue_times.sum, 1);
	writerfix_jobs_free(jobs, N);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}
