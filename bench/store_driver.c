/*
 * The store driver: the storage ceiling. The same workload as the vixd
 * driver, but each "connection" is a thread that builds Register jobs the
 * way a worker does (check the BSN, pseudonymise it with a reused MAC
 * context, compute the expiry) and hands them straight to vixd's own
 * writer thread, with vixd's default batch policy, on a store in a folder
 * of its own. No TLS, no framing, no protobuf on the wire: what is left is
 * the group commit into LMDB, which bounds what vixd can do end to end.
 * With VIX_BENCH_STORE_PG set (a conninfo), the same over the PostgreSQL
 * backend instead.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <vix/client.h>

#include "bench.h"
#include "config.h"
#include "diag.h"
#include "handlers.h"
#include "orgs.h"
#include "pseudonym.h"
#include "rules.h"
#include "store.h"
#include "writer.h"
#include "zone.h"

struct producer {
	struct job_home		 home;		/* the jobs come back here */
	const struct bench_opts	*o;
	struct bench_pool	*pool;
	struct writer		*wr;
	struct orgs		*orgs;
	const struct org	*org;
	unsigned		 index, org_index;
	const unsigned char	*key;
	unsigned		 max_days;
	double			 end;
	pthread_t		 tid;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct job_list		 done;		/* back from the writer */
	struct bench_result	 res;
};

/* A job with the time it was handed over, for the latency. */
struct timed_job {
	struct job	 job;
	double		 sent;
};

/* On the writer thread, after the commit: give the job back. */
static void
job_back(struct job_home *home, struct job *j)
{
	struct producer *p = (struct producer *)(void *)home;

	pthread_mutex_lock(&p->lock);
	TAILQ_INSERT_TAIL(&p->done, j, entry);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* Build one Register job as handle_register does; -1 if the BSN fails. */
static int
make_job(struct producer *p, struct pseudonym_ctx *mac, uint64_t *rng,
    struct timed_job *tj)
{
	struct store_register_in *in = &tj->job.in.reg;
	struct expiry exp;
	const char *why;
	int32_t birth;
	char bsn[10];

	memset(tj, 0, sizeof(*tj));
	tj->job.ops = &handlers_job_ops;
	tj->job.kind = JOB_REGISTER;
	tj->job.org = p->org;
	tj->job.orgs = p->orgs;
	tj->job.now = time(NULL);
	in->org = p->org;
	in->orgs = p->orgs;
	in->now = tj->job.now;
	bench_pool_bsn(p->pool, bench_pool_pick(p->pool, p->org_index,
	    p->o->match_pct, rng), bsn);
	if (pseudonym_from_bsn(mac, bsn, in->pseudonym, &why) != 0 ||
	    rules_parse_date("2012-06-15", &birth) == -1 ||
	    rules_expiry(&zone_calendar, in->now, birth, 0, p->max_days, 23,
	    &exp, &why) == -1)
		return -1;
	in->expires = exp.expires;
	in->bound = exp.bound;
	snprintf(in->contact.name, sizeof(in->contact.name), "Bench Contact");
	snprintf(in->contact.phone, sizeof(in->contact.phone), "0612345678");
	snprintf(in->client_ref, sizeof(in->client_ref), "bench-%u", p->index);
	return 0;
}

static void
account(struct producer *p, struct timed_job *tj, double now)
{
	struct job *j = &tj->job;

	bench_hist_add(&p->res.req, now - tj->sent);
	if (j->err == 0) {
		p->res.ok++;
		bench_done_ok();
		if (j->out.reg.view.has_match)
			p->res.matches++;
	} else
		p->res.errors_by_code[VIX_STATUS_UNKNOWN]++;
	store_view_free(&j->out.reg.view);
	OPENSSL_cleanse(&j->in, sizeof(j->in));
}

/* Take the finished jobs, waiting for one if none is back yet. */
static unsigned
reap(struct producer *p, struct timed_job **free_list, unsigned nfree)
{
	struct job_list back = TAILQ_HEAD_INITIALIZER(back);
	struct job *j;
	double now;

	pthread_mutex_lock(&p->lock);
	while (TAILQ_EMPTY(&p->done))
		pthread_cond_wait(&p->cond, &p->lock);
	TAILQ_CONCAT(&back, &p->done, entry);
	pthread_mutex_unlock(&p->lock);
	now = bench_now();
	while ((j = TAILQ_FIRST(&back)) != NULL) {
		TAILQ_REMOVE(&back, j, entry);
		account(p, (struct timed_job *)(void *)j, now);
		free_list[nfree++] = (struct timed_job *)(void *)j;
	}
	return nfree;
}

static void *
producer_main(void *arg)
{
	struct producer *p = arg;
	uint64_t rng = (p->index + 1) * 0x9E3779B97F4A7C15ull;
	struct pseudonym_ctx *mac = pseudonym_ctx_new(p->key);
	struct timed_job *jobs = calloc(p->o->depth, sizeof(*jobs));
	struct timed_job **idle = calloc(p->o->depth, sizeof(*idle));
	unsigned nidle = 0, busy = 0;

	if (mac == NULL || jobs == NULL || idle == NULL) {
		p->res.errors_by_code[VIX_STATUS_UNKNOWN]++;
		goto done;
	}
	for (unsigned i = 0; i < p->o->depth; i++)
		idle[nidle++] = &jobs[i];
	while (bench_now() < p->end) {
		while (nidle > 0) {
			struct timed_job *tj;

			if (!bench_claim())
				goto drain;
			tj = idle[--nidle];

			if (make_job(p, mac, &rng, tj) == -1) {
				p->res.errors_by_code[VIX_STATUS_INVALID_ARGUMENT]++;
				idle[nidle++] = tj;
				goto drain;
			}
			tj->sent = bench_now();
			if (writer_submit(p->wr, &p->home, &tj->job) != 0) {
				struct timespec ts = { 0, 1000 * 1000 };

				/* The queue is full: let the writer drain it. */
				p->res.errors_by_code[VIX_STATUS_RESOURCE_EXHAUSTED]++;
				idle[nidle++] = tj;
				if (busy == 0)
					nanosleep(&ts, NULL);
				break;
			}
			busy++;
		}
		if (busy > 0) {
			unsigned before = nidle;

			nidle = reap(p, idle, nidle);
			busy -= nidle - before;
		}
	}
drain:
	while (busy > 0) {
		unsigned before = nidle;

		nidle = reap(p, idle, nidle);
		busy -= nidle - before;
	}
done:
	free(idle);
	free(jobs);
	pseudonym_ctx_free(mac);
	return NULL;
}

/* The dev material's organisations, bound to a store of our own. */
static struct store *
open_bench_store(const struct bench_opts *o, struct orgs **orgs,
    unsigned char key[PSEUDONYM_KEY_LEN])
{
	struct store_options so = { .dir = o->data_dir,
	    .map_size = (size_t)o->map_gib << 30, .quota_percent = 100,
	    .escalate_after = 14 * 86400 };
	char path[4096];
	struct store *s = NULL;
	struct diag d;

	/* VIX_BENCH_STORE_PG: the PostgreSQL backend at that conninfo. */
	if ((so.conninfo = getenv("VIX_BENCH_STORE_PG")) != NULL)
		so.backend = "postgresql";
	diag_init(&d);
	snprintf(path, sizeof(path), "%s/orgs.conf", o->dev_dir);
	if ((*orgs = orgs_load(path, &d)) == NULL)
		goto fail;
	snprintf(path, sizeof(path), "%s/pseudonym.key", o->dev_dir);
	if (pseudonym_key_load(path, key, &d) == -1 ||
	    (s = store_open(&so, &d)) == NULL)
		goto fail;
	if (store_bind_orgs(s, *orgs, &d) == -1)
		goto fail;
	orgs_index_sids(*orgs);
	return s;
fail:
	if (d.len > 0)
		fprintf(stderr, "vix-bench: %s", d.text);
	if (s != NULL)
		store_close(s);
	if (*orgs != NULL)
		orgs_unref(*orgs);
	*orgs = NULL;
	return NULL;
}

static int
start_producers(struct producer *p, const struct bench_opts *o,
    struct orgs *orgs)
{
	char name[32];

	for (unsigned i = 0; i < o->conns; i++) {
		p[i].index = i;
		p[i].org_index = i % o->orgs;
		snprintf(name, sizeof(name), "bench-%03u", p[i].org_index + 1);
		if ((p[i].org = orgs_by_id(orgs, name)) == NULL) {
			fprintf(stderr, "vix-bench: %s is not in %s/orgs.conf "
			    "(run vix-bench orgs first)\n", name, o->dev_dir);
			return -1;
		}
		pthread_mutex_init(&p[i].lock, NULL);
		pthread_cond_init(&p[i].cond, NULL);
		TAILQ_INIT(&p[i].done);
		p[i].home.post = job_back;
	}
	for (unsigned i = 0; i < o->conns; i++)
		if (pthread_create(&p[i].tid, NULL, producer_main, &p[i]) != 0) {
			fprintf(stderr, "vix-bench: cannot start thread %u\n", i);
			for (unsigned j = 0; j < i; j++)
				pthread_join(p[j].tid, NULL);
			return -1;
		}
	return 0;
}

static void
collect_producers(struct bench_result *r, const struct producer *p,
    unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		r->ok += p[i].res.ok;
		r->matches += p[i].res.matches;
		for (int c = 0; c < 17; c++)
			r->errors_by_code[c] += p[i].res.errors_by_code[c];
		bench_hist_merge(&r->req, &p[i].res.req);
	}
}

int
store_driver_run(const struct bench_opts *o, struct bench_result *r)
{
	struct vixd_config cfg;
	struct writer_hooks hooks = { NULL, NULL };
	unsigned char key[PSEUDONYM_KEY_LEN];
	struct producer *p = NULL;
	struct bench_pool *pool = NULL;
	struct orgs *orgs = NULL;
	struct store *s;
	struct writer *wr = NULL;
	double t0, cpu0 = 0, cpu1 = 0;
	int rc = -1;

	if (o->dev_dir == NULL || o->data_dir == NULL) {
		fprintf(stderr, "vix-bench: the store driver needs --dev-dir "
		    "and --data\n");
		return -1;
	}
	config_defaults(&cfg);	/* vixd's batch policy */
	if ((s = open_bench_store(o, &orgs, key)) == NULL)
		goto done;
	pool = bench_pool_new(o->youths, o->orgs);
	p = calloc(o->conns, sizeof(*p));
	wr = writer_start(s, cfg.batch_max, cfg.batch_wait_us, cfg.queue_max,
	    &hooks);
	if (pool == NULL || p == NULL || wr == NULL)
		goto done;
	bench_proc_stat(getpid(), &cpu0, &r->rss_kb);
	t0 = bench_now();
	for (unsigned i = 0; i < o->conns; i++)
		p[i] = (struct producer){ .o = o, .pool = pool, .wr = wr,
		    .orgs = orgs, .key = key, .max_days = cfg.policy.max_signal_days,
		    .end = t0 + o->duration_s };
	if (start_producers(p, o, orgs) == -1)
		goto done;
	for (unsigned i = 0; i < o->conns; i++)
		pthread_join(p[i].tid, NULL);
	r->seconds = bench_now() - t0;
	if (bench_proc_stat(getpid(), &cpu1, &r->rss_kb) == 0)
		r->cpu_s = cpu1 - cpu0;
	collect_producers(r, p, o->conns);
	rc = 0;
done:
	writer_free(wr);
	if (s != NULL)
		store_close(s);
	if (orgs != NULL)
		orgs_unref(orgs);
	OPENSSL_cleanse(key, sizeof(key));
	if (p != NULL)
		for (unsigned i = 0; i < o->conns; i++) {
			pthread_mutex_destroy(&p[i].lock);
			pthread_cond_destroy(&p[i].cond);
		}
	free(p);
	bench_pool_free(pool);
	config_free(&cfg);
	return rc;
}
