/*
 * The writer thread over an LMDB store that reaches its quota or runs its
 * map full: what is acknowledged is exactly what was stored. Not part of
 * the conformance suite (test_writer): map size and quota are LMDB's.
 * Always run against LMDB (meson sets VIX_TEST_BACKEND=lmdb).
 *
 * Youths are known here only by fixed pseudonym byte patterns; no BSN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "errors.h"
#include "orgs.h"
#include "store.h"
#include "storefix.h"
#include "support.h"
#include "vix.pb-c.h"
#include "writer.h"
#include "writerfix.h"

#define OIN_WIJK	STOREFIX_OIN_WIJK
#define OIN_JZ		STOREFIX_OIN_JZ

#define TINY_MAP	(128u * 4096u)
#define T0		STOREFIX_T0
#define YEAR		(365 * 86400)

static const char orgs_conf[] = STOREFIX_ORGS_CONF_WIJK_JZ;

#include "writer_tests.h"

static void
setup_tiny(void)
{
	setup_common();
	open_store(TINY_MAP, 50);
}

/* The map of setup_full, in pages: a_full_commit_... tries several. */
static unsigned full_pages = TINY_MAP / 4096u;

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void
setup_full(void)
{
	setup_common();
	open_store(full_pages * 4096u, 100);
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

TestSuite(writer_quota, .init = setup_tiny, .fini = teardown);

Test(writer_quota, registrations_stop_at_the_quota)
{
	enum { N = 2000 };
	struct job *jobs = writerfix_jobs_new(N + 1);
	struct store_txn *t;
	struct writer *wr;
	char why[512];
	unsigned i;
	int err;

	wr = writer_start(st, 1, 0, 8, hooks);
	cr_assert_not_null(wr);
	for (i = 0; i < N; i++) {
		writerfix_job_register(&jobs[i], orgs, wijk, i, T0 + i);
		cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0);
		writerfix_wait_done(i + 1);
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
	cr_assert_eq(writerfix_signals_stored(st), i);
	/* The writer is idle: a batch of the test's own sees the same. */
	t = store_write_begin(st, &err);
	cr_assert_not_null(t);
	cr_assert_eq(store_over_quota(t, why, sizeof(why)), 1);
	store_write_abort(t);

	/* Above the quota a withdrawal still goes through. */
	writerfix_job_withdraw(&jobs[N], orgs, wijk, jobs[0].out.reg.signal_id,
	    T0 + N);
	cr_assert_eq(writer_submit(wr, WORKER, &jobs[N]), 0);
	writerfix_wait_done(i + 2);
	writer_free(wr);
	cr_assert_eq(jobs[N].err, 0, "%s", jobs[N].why);
	cr_assert_eq(writerfix_signals_stored(st), i - 1);
	cr_assert_eq(writerfix_audit_good(st), i + 1);
	writerfix_jobs_free(jobs, N + 1);
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
	struct job *jobs = writerfix_jobs_new(N);
	struct store_summary sum[64];
	struct store_reader *r;
	size_t ok = 0, n, at = 0;
	uint64_t after = 0, next;
	struct writer *wr;
	unsigned i = 0;
	int failed = 0;

	/* Lingering 20 ms lets each burst go into one batch. */
	wr = writer_start(st, batch, 20000, 2 * batch, hooks);
	cr_assert_not_null(wr);
	while (i + batch <= N && !failed) {
		unsigned first = i;

		for (; i < first + batch; i++) {
			writerfix_job_register(&jobs[i], orgs, wijk, i, T0 + i);
			if (with_ref)
				snprintf(jobs[i].in.reg.client_ref,
				    sizeof(jobs[i].in.reg.client_ref),
				    "ref-%u", i);
			cr_assert_eq(writer_submit(wr, WORKER, &jobs[i]), 0);
		}
		writerfix_wait_done(i);
		for (unsigned k = first; k < i; k++)
			if (jobs[k].err != 0)
				failed = jobs[k].err;
	}
	writer_free(wr);
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
	cr_assert_eq(writerfix_signals_stored(st), ok);
	cr_assert_eq(writerfix_audit_good(st), ok);
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
	writerfix_jobs_free(jobs, N);
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
		writerfix_job_register(&jobs[i], orgs, wijk, youth + i, now);
		snprintf(jobs[i].in.reg.client_ref,
		    sizeof(jobs[i].in.reg.client_ref), "ref-%u", youth + i);
	}
	if (signal_id == 0)
		return k;
	writerfix_job_withdraw(&jobs[k], orgs, wijk, signal_id, now);
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
	open_store(full_pages * 4096u, 100);
}

/* b through a writer of its own, as one batch, in its order. */
static void
batch_through_writer(struct full_batch *b)
{
	struct writer_stats ws;
	struct writer *wr;

	/* Lingering until batch_max jobs are queued keeps them together. */
	wr = writer_start(st, (unsigned)b->n, 10 * 1000 * 1000, 16, hooks);
	cr_assert_not_null(wr);
	for (size_t i = 0; i < b->n; i++)
		cr_assert_eq(writer_submit(wr, WORKER, &b->jobs[i]), 0);
	writerfix_wait_done(b->n);
	writer_get_stats(wr, &ws);
	writer_free(wr);
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

	cr_assert_eq(writerfix_signals_stored(st), b->signals - 1);
	cr_assert_eq(writerfix_audit_good(st), b->audited + 1);
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
	static const unsigned maps[] = { 128, 112, 144, 96, 160 };
	struct full_batch b = { .n = 0 };
	int ok = 0, ran = 0;

	/*
	 * Where the map is this full, the withdrawal alone may not fit either
	 * (it depends on how the pages fall): then try another batch size,
	 * and another map size.
	 */
	for (size_t i = 0; i < NELEM(ks) * NELEM(maps) && !ok; i++) {
		if (i > 0) {
			full_pages = maps[i / NELEM(ks)];
			if (ran)
				batch_views_free(b.jobs, b.n);
			teardown();
			setup_full();
		}
		if (!(ran = find_full_commit(ks[i % NELEM(ks)], &b)))
			continue;
		b.audited = writerfix_audit_good(st);
		batch_through_writer(&b);
		ok = b.jobs[b.k].err != VIX_E_FULL;
	}
	cr_assert(ok, "no batch of registrations and a withdrawal failed at "
	    "its commit with room for the withdrawal alone: LMDB lays out "
	    "pages differently here");
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
