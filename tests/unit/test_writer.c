/*
 * The writer thread end to end: group commit over a real store, the batch
 * limit, a full queue, refusals inside a batch, the quota, a commit that
 * failed for lack of room, and stopping with work still queued.
 *
 * To make batches deterministic a test may close a gate: the next job to
 * come back then holds the writer thread in the done callback, so that
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
#include "orgs.h"
#include "store.h"
#include "support.h"
#include "vix.pb-c.h"
#include "writer.h"

#define OIN_WIJK	"00000009876543210001"
#define OIN_JZ		"00000009876543210002"

#define MAP_SIZE	(16u << 20)
#define TINY_MAP	(64u * 4096u)
#define T0		1700000000
#define YEAR		(365 * 86400)
#define WAIT_SECONDS	60

static const char orgs_conf[] =
    "[org wijk]\n"
    "oin = " OIN_WIJK "\n"
    "name = Wijkteam Noord\n"
    "roles = register, subscribe\n"
    "rank = 20\n"
    "\n"
    "[org jz]\n"
    "oin = " OIN_JZ "\n"
    "name = Jeugdzorg Test\n"
    "roles = register, subscribe\n"
    "rank = 10\n";

static char *dir;
static struct store *st;
static struct orgs *orgs;
static const struct org *wijk, *jz;

/* The worker the jobs are queued for; only its address matters. */
static char worker_marker;
#define WORKER	((struct worker *)(void *)&worker_marker)

/* What came back, shared with the writer thread. */
static struct {
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	size_t		done;
	size_t		wrong_worker;
	int		gate_closed;	/* the next callback waits */
	int		at_gate;	/* a callback is waiting */
} cb = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0 };

static void
on_done(void *arg, struct worker *w, struct job *j)
{
	pthread_mutex_lock(&cb.lock);
	cb.done++;
	if (w != WORKER)
		cb.wrong_worker++;
	if (cb.gate_closed) {
		cb.at_gate = 1;
		pthread_cond_broadcast(&cb.cond);
		while (cb.gate_closed)
			pthread_cond_wait(&cb.cond, &cb.lock);
		cb.at_gate = 0;
	}
	pthread_cond_broadcast(&cb.cond);
	pthread_mutex_unlock(&cb.lock);
}

static const struct writer_hooks hooks = { on_done, NULL, NULL };

static void
deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += WAIT_SECONDS;
}

/* Wait until n jobs came back in all. */
static void
wait_done(size_t n)
{
	struct timespec until;
	int rc = 0;

	deadline(&until);
	pthread_mutex_lock(&cb.lock);
	while (cb.done < n && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cb.cond, &cb.lock, &until);
	pthread_mutex_unlock(&cb.lock);
	cr_assert_geq(cb.done, n, "only %zu of %zu jobs came back", cb.done,
	    n);
}

static void
gate_close(void)
{
	pthread_mutex_lock(&cb.lock);
	cb.gate_closed = 1;
	pthread_mutex_unlock(&cb.lock);
}

/* Wait until the writer thread is held at the gate. */
static void
gate_wait(void)
{
	struct timespec until;
	int rc = 0;

	deadline(&until);
	pthread_mutex_lock(&cb.lock);
	while (!cb.at_gate && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cb.cond, &cb.lock, &until);
	pthread_mutex_unlock(&cb.lock);
	cr_assert(cb.at_gate, "the writer never reached the gate");
}

static void
gate_open(void)
{
	pthread_mutex_lock(&cb.lock);
	cb.gate_closed = 0;
	pthread_cond_broadcast(&cb.cond);
	pthread_mutex_unlock(&cb.lock);
}

static size_t
done_count(void)
{
	size_t n;

	pthread_mutex_lock(&cb.lock);
	n = cb.done;
	pthread_mutex_unlock(&cb.lock);
	return n;
}

static void
open_store(size_t map_size, unsigned quota)
{
	char *dbdir = support_path(dir, "db"), *conf;
	struct store_options o = { dbdir, map_size, quota, 14 * 86400, NULL };
	struct diag d;

	diag_init(&d);
	st = store_open(&o, &d);
	cr_assert_not_null(st, "store_open: %s", d.text);
	free(dbdir);

	conf = support_path(dir, "orgs.conf");
	support_write_file(conf, orgs_conf, 0644);
	orgs = orgs_load(conf, &d);
	cr_assert_not_null(orgs, "orgs_load: %s", d.text);
	free(conf);
	cr_assert_eq(store_bind_orgs(st, orgs, &d), 0, "bind: %s", d.text);
	wijk = orgs_by_id(orgs, "wijk");
	jz = orgs_by_id(orgs, "jz");
	cr_assert(wijk && jz);
}

static void
setup_common(void)
{
	dir = support_tmpdir("writer");
	cb.done = 0;
	cb.wrong_worker = 0;
	cb.gate_closed = 0;
	cb.at_gate = 0;
}

static void
setup(void)
{
	setup_common();
	open_store(MAP_SIZE, 90);
}

static void
setup_tiny(void)
{
	setup_common();
	open_store(TINY_MAP, 50);
}

static void
setup_full(void)
{
	setup_common();
	open_store(TINY_MAP, 100);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	orgs_unref(orgs);
	orgs = NULL;
	support_tmpdir_remove(dir);
	dir = NULL;
}

TestSuite(writer, .init = setup, .fini = teardown);

static void
pseudonym(uint8_t *p, unsigned youth)
{
	memset(p, 0xB2, PSEUDONYM_LEN);
	p[0] = (uint8_t)(youth >> 8);
	p[1] = (uint8_t)youth;
}

static void
job_register(struct job *j, const struct org *o, unsigned youth,
    int64_t now)
{
	struct store_register_in *in = &j->in.reg;

	memset(j, 0, sizeof(*j));
	j->kind = JOB_REGISTER;
	j->org = o;
	j->orgs = orgs;
	j->now = now;
	pseudonym(in->pseudonym, youth);
	in->org = o;
	in->orgs = orgs;
	in->now = now;
	in->expires = now + YEAR;
	in->bound = 1;
	snprintf(in->contact.name, sizeof(in->contact.name), "Contact %s",
	    o->id);
	snprintf(in->contact.phone, sizeof(in->contact.phone), "030-1234567");
	snprintf(in->contact.email, sizeof(in->contact.email),
	    "%s@example.org", o->id);
}

static void
job_withdraw(struct job *j, const struct org *o, uint64_t signal_id,
    int64_t now)
{
	memset(j, 0, sizeof(*j));
	j->kind = JOB_WITHDRAW;
	j->org = o;
	j->orgs = orgs;
	j->now = now;
	j->in.wd = (struct store_withdraw_in){ .org = o, .orgs = orgs,
	    .now = now, .signal_id = signal_id,
	    .reason = STORE_WITHDRAW_UNJUSTIFIED };
}

static void
job_involved(struct job *j, const struct org *o, unsigned youth,
    int64_t now)
{
	memset(j, 0, sizeof(*j));
	j->kind = JOB_INVOLVED;
	j->org = o;
	j->orgs = orgs;
	j->now = now;
	pseudonym(j->in.pseudonym, youth);
}

static struct job *
jobs_new(size_t n)
{
	struct job *jobs = calloc(n, sizeof(*jobs));

	cr_assert_not_null(jobs);
	return jobs;
}

/* Free the views the register jobs got back, then the jobs. */
static void
jobs_free(struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].kind == JOB_REGISTER)
			store_view_free(&jobs[i].out.reg.view);
		else if (jobs[i].kind == JOB_INVOLVED)
			store_view_free(&jobs[i].out.inv.view);
	}
	free(jobs);
}

/* Every register job succeeded with its own, new signal id. */
static void
expect_registered(const struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(jobs[i].err, 0, "job %zu: %d %s", i, jobs[i].err,
		    jobs[i].why);
		cr_assert_eq(jobs[i].out.reg.refreshed, 0, "job %zu", i);
		cr_assert_neq(jobs[i].out.reg.signal_id, 0, "job %zu", i);
		for (size_t k = 0; k < i; k++)
			cr_assert_neq(jobs[i].out.reg.signal_id,
			    jobs[k].out.reg.signal_id, "jobs %zu and %zu", k, i);
	}
	cr_assert_eq(cb.wrong_worker, 0);
}

static size_t
signals_stored(void)
{
	struct store_reader *r = store_reader_new(st);
	size_t signals, matches, archived;

	cr_assert_not_null(r);
	cr_assert_eq(store_counts(r, &signals, &matches, &archived), 0);
	store_reader_free(r);
	return signals;
}

static uint64_t
audit_good(void)
{
	struct store_reader *r = store_reader_new(st);
	uint64_t count, bad;

	cr_assert_not_null(r);
	cr_assert_eq(store_audit_verify(r, &count, &bad), 0);
	store_reader_free(r);
	cr_assert_eq(bad, 0, "audit record %llu fails",
	    (unsigned long long)bad);
	return count;
}

Test(writer, every_job_comes_back_committed)
{
	enum { N = 50 };
	struct job *jobs = jobs_new(N);
	struct writer_stats ws;
	struct writer *wr;

	wr = writer_start(st, 8, 1000, 64, &hooks);
	cr_assert_not_null(wr);
	for (unsigned i = 0; i < N; i++) {
		job_register(&jobs[i], i % 2 ? jz : wijk, i, T0 + i);
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0);
	}
	wait_done(N);
	writer_get_stats(wr, &ws);
	writer_stop(wr);

	expect_registered(jobs, N);
	cr_assert_eq(ws.jobs, N);
	cr_assert_geq(ws.batches, (N + 7) / 8);
	cr_assert_leq(ws.batches, N);
	cr_assert_geq(ws.max_batch, 1);
	cr_assert_leq(ws.max_batch, 8);
	cr_assert_eq(signals_stored(), N);
	cr_assert_eq(audit_good(), N);
	jobs_free(jobs, N);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(writer, a_batch_takes_at_most_batch_max)
{
	enum { N = 100 };
	struct job *jobs = jobs_new(N);
	struct writer_stats ws;
	struct writer *wr;

	wr = writer_start(st, 4, 0, 128, &hooks);
	cr_assert_not_null(wr);
	gate_close();
	job_register(&jobs[0], wijk, 0, T0);
	cr_assert_eq(writer_submit(wr, WORKER, &jobs[0]), 0);
	gate_wait();
	/* The other 99 are all queued before the writer takes any. */
	for (unsigned i = 1; i < N; i++) {
		job_register(&jobs[i], wijk, i, T0 + i);
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0);
	}
	gate_open();
	wait_done(N);
	writer_get_stats(wr, &ws);
	writer_stop(wr);

	expect_registered(jobs, N);
	cr_assert_eq(ws.jobs, N);
	cr_assert_eq(ws.max_batch, 4);
	/* One for the first job, then 99 in batches of at most 4. */
	cr_assert_eq(ws.batches, 1 + 25);
	cr_assert_eq(signals_stored(), N);
	jobs_free(jobs, N);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(writer, a_full_queue_refuses_more)
{
	enum { QUEUE = 16, N = QUEUE + 3 };
	struct job *jobs = jobs_new(N);
	struct writer *wr;

	wr = writer_start(st, 4, 0, QUEUE, &hooks);
	cr_assert_not_null(wr);
	gate_close();
	job_register(&jobs[0], wijk, 0, T0);
	cr_assert_eq(writer_submit(wr, WORKER, &jobs[0]), 0);
	gate_wait();
	for (unsigned i = 1; i <= QUEUE; i++) {
		job_register(&jobs[i], wijk, i, T0 + i);
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0, "job %u",
		    i);
	}
	for (unsigned i = QUEUE + 1; i < N; i++) {
		job_register(&jobs[i], wijk, i, T0 + i);
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), VIX_E_FULL,
		    "job %u", i);
	}
	gate_open();
	writer_stop(wr);

	/* Exactly the accepted ones came back; the refused never did. */
	cr_assert_eq(done_count(), QUEUE + 1);
	expect_registered(jobs, QUEUE + 1);
	cr_assert_eq(signals_stored(), QUEUE + 1);
	jobs_free(jobs, N);
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
		job_register(&s->extra[s->accepted], jz,
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
	gate_open();
	return NULL;
}

Test(writer, stop_finishes_every_queued_job)
{
	enum { N = 21, EXTRA = 4000 };
	struct job *jobs = jobs_new(N);
	struct stopper s = { .max = EXTRA };
	struct writer *wr;
	pthread_t thread;
	size_t back;

	s.extra = jobs_new(EXTRA);
	wr = writer_start(st, 2, 0, 64, &hooks);
	cr_assert_not_null(wr);
	s.wr = wr;
	gate_close();
	job_register(&jobs[0], wijk, 0, T0);
	cr_assert_eq(writer_submit(wr, WORKER, &jobs[0]), 0);
	gate_wait();
	for (unsigned i = 1; i < N; i++) {
		job_register(&jobs[i], wijk, i, T0 + i);
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0);
	}
	cr_assert_eq(pthread_create(&thread, NULL, stopper_main, &s), 0);
	writer_stop(wr);
	/* No waiting: all are back by the time writer_stop returns. */
	back = done_count();
	cr_assert_eq(pthread_join(thread, NULL), 0);
	cr_assert_eq(back, N + s.accepted);
	cr_assert_eq(s.last, VIX_E_UNAVAILABLE,
	    "a stopping writer must refuse new jobs");

	expect_registered(jobs, N);
	for (size_t i = 0; i < s.accepted; i++)
		cr_assert_eq(s.extra[i].err, 0);
	cr_assert_eq(signals_stored(), N + s.accepted);
	jobs_free(s.extra, EXTRA);
	jobs_free(jobs, N);
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

	cr_assert_eq(r->seq, i + 1, "record %zu", i);
	cr_assert_str_eq(r->actor, actor, "record %zu", i);
	cr_assert_str_eq(r->action, action, "record %zu", i);
	cr_assert_eq(r->signal_id, signal_id, "record %zu", i);
	cr_assert_str_eq(r->outcome, outcome, "record %zu", i);
}

Test(writer, refusals_in_a_batch_are_audited_and_leave_the_rest)
{
	enum { N = 5 };
	struct job *jobs = jobs_new(N);
	struct audit_log log = { .n = 0 };
	struct store_reader *r;
	struct writer_stats ws;
	struct writer *wr;
	uint64_t first;

	wr = writer_start(st, 8, 0, 16, &hooks);
	cr_assert_not_null(wr);
	gate_close();
	job_register(&jobs[0], wijk, 1, T0);
	cr_assert_eq(writer_submit(wr, WORKER, &jobs[0]), 0);
	gate_wait();
	first = jobs[0].out.reg.signal_id;
	cr_assert_eq(jobs[0].err, 0);

	/* One batch: a refusal, a registration, two more refusals. */
	job_withdraw(&jobs[1], jz, first, T0 + 1);
	job_register(&jobs[2], jz, 2, T0 + 2);
	job_involved(&jobs[3], jz, 1, T0 + 3);
	job_withdraw(&jobs[4], wijk, first + 1000, T0 + 4);
	for (unsigned i = 1; i < N; i++)
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0);
	gate_open();
	wait_done(N);
	writer_get_stats(wr, &ws);
	writer_stop(wr);
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
	cr_assert_eq(signals_stored(), 2);

	cr_assert_eq(audit_good(), 5);
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
	jobs_free(jobs, N);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

TestSuite(writer_quota, .init = setup_tiny, .fini = teardown);

Test(writer_quota, registrations_stop_at_the_quota)
{
	enum { N = 2000 };
	struct job *jobs = jobs_new(N + 1);
	struct store_txn *t;
	struct writer *wr;
	char why[512];
	unsigned i;
	int err;

	wr = writer_start(st, 1, 0, 8, &hooks);
	cr_assert_not_null(wr);
	for (i = 0; i < N; i++) {
		job_register(&jobs[i], wijk, i, T0 + i);
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0);
		wait_done(i + 1);
		if (jobs[i].err != 0)
			break;
	}
	cr_assert_lt(i, N, "the quota was never reached");
	cr_assert_gt(i, 0);
	cr_assert_eq(jobs[i].err, VIX_E_FULL, "%d %s", jobs[i].err,
	    jobs[i].why);
	/* Refused by the quota, before the map itself ran full. */
	cr_assert_not_null(strstr(jobs[i].why, "quota_percent"), "%s",
	    jobs[i].why);
	cr_assert_not_null(strstr(jobs[i].why, "map_size"), "%s", jobs[i].why);
	cr_assert_eq(signals_stored(), i);
	/* The writer is idle: a batch of the test's own sees the same. */
	t = store_write_begin(st, &err);
	cr_assert_not_null(t);
	cr_assert_eq(store_over_quota(t, why, sizeof(why)), 1);
	store_write_abort(t);

	/* Above the quota a withdrawal still goes through. */
	job_withdraw(&jobs[N], wijk, jobs[0].out.reg.signal_id, T0 + N);
	cr_assert_eq(writer_submit(wr, WORKER, &jobs[N]), 0);
	wait_done(i + 2);
	writer_stop(wr);
	cr_assert_eq(jobs[N].err, 0, "%s", jobs[N].why);
	cr_assert_eq(signals_stored(), i - 1);
	cr_assert_eq(audit_good(), i + 1);
	jobs_free(jobs, N + 1);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

TestSuite(writer_full, .init = setup_full, .fini = teardown);

/*
 * With no quota to stop them, bursts of registrations run the map itself
 * full; with_ref gives each a client reference, which (as LMDB lays out
 * the pages) moves the failure from a put to the commit.
 */
static void
fill_through_writer(unsigned batch, int with_ref)
{
	enum { N = 4000 };
	struct job *jobs = jobs_new(N);
	struct store_summary sum[64];
	struct store_reader *r;
	size_t ok = 0, n, at = 0;
	uint64_t after = 0, next;
	struct writer *wr;
	unsigned i = 0;
	int failed = 0;

	/* Lingering 20 ms lets each burst go into one batch. */
	wr = writer_start(st, batch, 20000, 2 * batch, &hooks);
	cr_assert_not_null(wr);
	while (i + batch <= N && !failed) {
		unsigned first = i;

		for (; i < first + batch; i++) {
			job_register(&jobs[i], wijk, i, T0 + i);
			if (with_ref)
				snprintf(jobs[i].in.reg.client_ref,
				    sizeof(jobs[i].in.reg.client_ref),
				    "ref-%u", i);
			cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0);
		}
		wait_done(i);
		for (unsigned k = first; k < i; k++)
			if (jobs[k].err != 0)
				failed = jobs[k].err;
	}
	writer_stop(wr);
	cr_assert_eq(failed, VIX_E_FULL, "the map never filled, or not FULL");

	for (unsigned k = 0; k < i; k++) {
		if (jobs[k].err == 0) {
			cr_assert_neq(jobs[k].out.reg.signal_id, 0);
			ok++;
		} else
			cr_assert_eq(jobs[k].err, VIX_E_FULL, "job %u: %d %s", k,
			    jobs[k].err, jobs[k].why);
	}
	cr_assert_gt(ok, 0);
	/* Every acknowledged signal is there, in order, and nothing else. */
	cr_assert_eq(signals_stored(), ok);
	cr_assert_eq(audit_good(), ok);
	r = store_reader_new(st);
	do {
		cr_assert_eq(store_list(r, wijk->sid, after, sum, 64, &n, &next),
		    0);
		for (size_t k = 0; k < n; k++, at++) {
			while (at < i && jobs[at].err != 0)
				at++;
			cr_assert_lt(at, i);
			cr_assert_eq(sum[k].signal_id, jobs[at].out.reg.signal_id);
		}
		after = next;
	} while (next != 0);
	store_reader_free(r);
	jobs_free(jobs, N);
}

Test(writer_full, a_full_map_in_a_job_acknowledges_only_what_was_stored)
{
	fill_through_writer(8, 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(writer_full, a_full_map_at_commit_acknowledges_only_what_was_stored)
{
	fill_through_writer(1, 1);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * A batch whose commit fails for lack of room, found by growing the store
 * with batches the way the writer runs them: k registrations (each with a
 * client reference) and the withdrawal of the oldest signal. Where the
 * failure lands (a put, or the commit) depends on how LMDB lays out the
 * pages, but for a given k it is always the same.
 */
#define FULL_K_MAX	8
#define SEARCH_STEPS	3000

struct full_batch {
	struct job	jobs[FULL_K_MAX + 1];
	size_t		n;
	unsigned	k;		/* registrations, then the withdrawal */
	uint64_t	withdrawn;	/* the signal the batch withdraws */
	size_t		signals;	/* stored before the batch */
	uint64_t	audited;	/* audit records before the batch */
};

/* k registrations (youths from youth on), then withdraw signal_id (0: none). */
static size_t
batch_build(struct job *jobs, unsigned k, unsigned youth, uint64_t signal_id,
    int64_t now)
{
	for (unsigned i = 0; i < k; i++) {
		job_register(&jobs[i], wijk, youth + i, now);
		snprintf(jobs[i].in.reg.client_ref,
		    sizeof(jobs[i].in.reg.client_ref), "ref-%u", youth + i);
	}
	if (signal_id == 0)
		return k;
	job_withdraw(&jobs[k], wijk, signal_id, now);
	return k + 1;
}

static void
batch_views_free(struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (jobs[i].kind == JOB_REGISTER)
			store_view_free(&jobs[i].out.reg.view);
}

/*
 * The batch by hand, as writer_run runs it: each job in its savepoint, the
 * registrations behind the quota check. Returns the commit's error, or 1
 * if a job was refused (then nothing is committed).
 */
static int
batch_by_hand(struct job *jobs, size_t n)
{
	struct store_txn *t;
	char why[512];
	int err;

	t = store_write_begin(st, &err);
	cr_assert_not_null(t, "begin: %d", err);
	for (size_t i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		if (j->kind == JOB_REGISTER &&
		    store_over_quota(t, why, sizeof(why)))
			err = VIX_E_FULL;
		else if ((err = store_job_begin(t)) == 0)
			err = store_job_end(t, j->kind == JOB_REGISTER ?
			    store_register(t, &j->in.reg, &j->out.reg) :
			    store_withdraw(t, &j->in.wd, &j->out.wd));
		if (err != 0) {
			store_write_abort(t);
			return 1;
		}
	}
	return store_write_commit(t);
}

/*
 * Grow the store until a batch of k registrations and a withdrawal fails
 * at its commit for lack of room; the store is left as it was before that
 * batch, and b gets it afresh. Returns 0 if the map filled up inside a job
 * instead.
 */
static int
find_full_commit(unsigned k, struct full_batch *b)
{
	uint64_t *ids = calloc(SEARCH_STEPS * k, sizeof(*ids));
	size_t nid = 0, oldest = 0;
	unsigned step, youth = 0;
	int rc = 0;

	cr_assert_not_null(ids);
	for (step = 0; step < SEARCH_STEPS; step++, youth += k) {
		b->n = batch_build(b->jobs, k, youth, nid > oldest ?
		    ids[oldest] : 0, T0 + step);
		rc = batch_by_hand(b->jobs, b->n);
		for (unsigned i = 0; rc == 0 && i < k; i++)
			ids[nid++] = b->jobs[i].out.reg.signal_id;
		if (rc == 0 && b->n > k)
			oldest++;
		batch_views_free(b->jobs, b->n);
		if (rc != 0)
			break;
	}
	if (rc == VIX_E_FULL && b->n > k) {
		b->k = k;
		b->withdrawn = ids[oldest];
		b->signals = nid - oldest;
		b->n = batch_build(b->jobs, k, youth, b->withdrawn, T0 + step);
	}
	free(ids);
	return rc == VIX_E_FULL && b->n > k;
}

/* Close the store and open it again from its files. */
static void
reopen(void)
{
	store_close(st);
	orgs_unref(orgs);
	open_store(TINY_MAP, 100);
}

/* b through a writer of its own, as one batch, in its order. */
static void
batch_through_writer(struct full_batch *b)
{
	struct writer_stats ws;
	struct writer *wr;

	/* Lingering until batch_max jobs are queued keeps them together. */
	wr = writer_start(st, (unsigned)b->n, 10 * 1000 * 1000, 16, &hooks);
	cr_assert_not_null(wr);
	for (size_t i = 0; i < b->n; i++)
		cr_assert_eq(writer_submit(wr, WORKER, &b->jobs[i]), 0);
	wait_done(b->n);
	writer_get_stats(wr, &ws);
	writer_stop(wr);
	cr_assert_eq(ws.batches, 1, "the jobs did not go in one batch");
}

/* The store holds b's withdrawal and none of its registrations. */
static void
expect_withdrawal_alone(const struct full_batch *b)
{
	struct store_summary sum[64];
	struct store_reader *r;
	uint64_t after = 0, next;
	size_t found = 0, n;

	cr_assert_eq(signals_stored(), b->signals - 1);
	cr_assert_eq(audit_good(), b->audited + 1);
	r = store_reader_new(st);
	cr_assert_not_null(r);
	do {
		cr_assert_eq(store_list(r, wijk->sid, after, sum, 64, &n,
		    &next), 0);
		for (size_t i = 0; i < n; i++, found++) {
			cr_assert_neq(sum[i].signal_id, b->withdrawn,
			    "the withdrawn signal is still listed");
			for (unsigned k = 0; k < b->k; k++)
				cr_assert_str_neq(sum[i].client_ref,
				    b->jobs[k].in.reg.client_ref,
				    "a refused registration was stored");
		}
		after = next;
	} while (next != 0);
	store_reader_free(r);
	cr_assert_eq(found, b->signals - 1);
}

Test(writer_full, a_full_commit_refuses_the_registrations_and_runs_the_rest)
{
	static const unsigned ks[] = { 3, 4, 6, 8, 2, 1 };
	struct full_batch b = { .n = 0 };
	int ok = 0;

	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]) && !ok; i++) {
		if (i > 0) {
			teardown();
			setup_full();
		}
		ok = find_full_commit(ks[i], &b);
	}
	cr_assert(ok, "no batch of registrations and a withdrawal failed at "
	    "its commit: LMDB lays out pages differently here");
	b.audited = audit_good();

	batch_through_writer(&b);
	for (unsigned i = 0; i < b.k; i++) {
		cr_assert_eq(b.jobs[i].err, VIX_E_FULL, "registration %u: %d "
		    "%s", i, b.jobs[i].err, b.jobs[i].why);
		cr_assert_eq(err_to_status(b.jobs[i].err),
		    VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED);
		cr_assert_not_null(strstr(b.jobs[i].why, "full"), "%s",
		    b.jobs[i].why);
	}
	cr_assert_eq(b.jobs[b.k].err, 0, "the withdrawal: %d %s",
	    b.jobs[b.k].err, b.jobs[b.k].why);
	cr_assert_eq(b.jobs[b.k].out.wd.signal_id, b.withdrawn);

	/* Durable: what the store holds after it is opened again. */
	reopen();
	expect_withdrawal_alone(&b);
	batch_views_free(b.jobs, b.n);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}
