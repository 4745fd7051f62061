/* Jobs through a real writer thread, counted as they come back. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "handlers.h"
#include "storefix.h"
#include "vix.pb-c.h"
#include "writerfix.h"

#define WRITERFIX_WAIT_SECONDS	60
#define WRITERFIX_FILL		0xB2
#define WRITERFIX_YEAR		(365 * 86400)

static void writerfix_on_done(struct job_home *, struct job *);

/* The home the jobs are queued for, as a worker's would be. */
struct job_home	writerfix_home = { writerfix_on_done, NULL };

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
writerfix_on_done(struct job_home *w, struct job *j)
{
	pthread_mutex_lock(&cb.lock);
	cb.done++;
	if (w != WRITERFIX_WORKER)
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

const struct writer_hooks writerfix_hooks = { NULL, NULL };

void
writerfix_reset(void)
{
	cb.done = 0;
	cb.wrong_worker = 0;
	cb.gate_closed = 0;
	cb.at_gate = 0;
}

static void
writerfix_deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += WRITERFIX_WAIT_SECONDS;
}

void
writerfix_wait_done(size_t n)
{
	struct timespec until;
	int rc = 0;

	writerfix_deadline(&until);
	pthread_mutex_lock(&cb.lock);
	while (cb.done < n && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cb.cond, &cb.lock, &until);
	pthread_mutex_unlock(&cb.lock);
	cr_assert_geq(cb.done, n, "only %zu of %zu jobs came back", cb.done,
	    n);
}

size_t
writerfix_done_count(void)
{
	size_t n;

	pthread_mutex_lock(&cb.lock);
	n = cb.done;
	pthread_mutex_unlock(&cb.lock);
	return n;
}

void
writerfix_gate_close(void)
{
	pthread_mutex_lock(&cb.lock);
	cb.gate_closed = 1;
	pthread_mutex_unlock(&cb.lock);
}

void
writerfix_gate_wait(void)
{
	struct timespec until;
	int rc = 0;

	writerfix_deadline(&until);
	pthread_mutex_lock(&cb.lock);
	while (!cb.at_gate && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cb.cond, &cb.lock, &until);
	pthread_mutex_unlock(&cb.lock);
	cr_assert(cb.at_gate, "the writer never reached the gate");
}

void
writerfix_gate_open(void)
{
	pthread_mutex_lock(&cb.lock);
	cb.gate_closed = 0;
	pthread_cond_broadcast(&cb.cond);
	pthread_mutex_unlock(&cb.lock);
}

void
writerfix_job_register(struct job *j, struct orgs *orgs, const struct org *o,
    unsigned youth, int64_t now)
{
	struct store_register_in *in = &j->in.reg;

	memset(j, 0, sizeof(*j));
	j->ops = &handlers_job_ops;
	j->kind = JOB_REGISTER;
	j->org = o;
	j->orgs = orgs;
	j->now = now;
	storefix_pseudonym(in->pseudonym, WRITERFIX_FILL, youth);
	in->org = o;
	in->orgs = orgs;
	in->now = now;
	in->expires = now + WRITERFIX_YEAR;
	in->bound = 1;		/* vix.v1 ExpiryBound DURATION */
	snprintf(in->contact.name, sizeof(in->contact.name), "Contact %s",
	    o->id);
	snprintf(in->contact.phone, sizeof(in->contact.phone), "030-1234567");
	snprintf(in->contact.email, sizeof(in->contact.email),
	    "%s@example.org", o->id);
}

void
writerfix_job_withdraw(struct job *j, struct orgs *orgs, const struct org *o,
    uint64_t signal_id, int64_t now)
{
	memset(j, 0, sizeof(*j));
	j->ops = &handlers_job_ops;
	j->kind = JOB_WITHDRAW;
	j->org = o;
	j->orgs = orgs;
	j->now = now;
	j->in.wd = (struct store_withdraw_in){ .org = o, .orgs = orgs,
	    .now = now, .signal_id = signal_id,
	    .reason = STORE_WITHDRAW_UNJUSTIFIED };
}

void
writerfix_job_involved(struct job *j, struct orgs *orgs, const struct org *o,
    unsigned youth, int64_t now)
{
	memset(j, 0, sizeof(*j));
	j->ops = &handlers_job_ops;
	j->kind = JOB_INVOLVED;
	j->org = o;
	j->orgs = orgs;
	j->now = now;
	storefix_pseudonym(j->in.pseudonym, WRITERFIX_FILL, youth);
}

struct job *
writerfix_jobs_new(size_t n)
{
	struct job *jobs = calloc(n, sizeof(*jobs));

	cr_assert_not_null(jobs);
	return jobs;
}

void
writerfix_jobs_free(struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].kind == JOB_REGISTER)
			store_view_free(&jobs[i].out.reg.view);
		else if (jobs[i].kind == JOB_INVOLVED)
			store_view_free(&jobs[i].out.inv.view);
	}
	free(jobs);
}

void
writerfix_expect_registered(const struct job *jobs, size_t n)
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

size_t
writerfix_signals_stored(struct store *st)
{
	struct store_reader *r = store_reader_new(st);
	struct storefix_counts c;

	cr_assert_not_null(r);
	c = storefix_counts(r);
	store_reader_free(r);
	return c.signals;
}

uint64_t
writerfix_audit_good(struct store *st)
{
	struct store_reader *r = store_reader_new(st);
	uint64_t count;

	cr_assert_not_null(r);
	count = storefix_audit_good(r);
	store_reader_free(r);
	return count;
}
