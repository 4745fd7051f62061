/*
 * The PostgreSQL peers of issues #6 and #16: the same workload as
 * vixd_driver.c, one register() call per registration, each its own
 * transaction, pipelined with libpq up to depth per connection. A LISTEN
 * connection measures register-to-notification latency from the send time
 * the client puts in client_ref.
 *
 * Driver pg (strict chain) calls bench/pg_schema.sql's register(), which
 * extends the audit chain inside the transaction. Driver pg-best calls
 * bench/pg_schema_best.sql's, which leaves chaining and outbox numbering to
 * a follower: one more connection calling follow() in a loop while the
 * workers run, then until nothing is left; the run fails when a record or
 * outbox row is left unchained or unnumbered.
 *
 * The conninfo (as printed by bench/pg_setup.sh) comes from VIX_BENCH_PG,
 * else from --server; with neither, libpq's own PG* environment applies.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "bench.h"

#define PG_CODE_INTERNAL	13	/* an SQL error */
#define PG_CODE_UNAVAILABLE	14	/* transport failure */
#define PG_EXPIRES_S		(180 * 86400)
#define PG_DRAIN_S		10.0
#define PG_FOLLOW_BATCH		"2000"	/* records and rows per follow() */
#define PG_FOLLOW_SMALL		64	/* a batch under this: pause */
#define PG_FOLLOW_PAUSE_MS	20
#define PG_FOLLOW_DRAIN_S	120.0	/* to catch up after the workers */
#define PG_DOMAIN		"vix:bsn:v1:"

static const char pg_register_sql[] =
    "SELECT signal_id, refreshed, match_id "
    "FROM register($1, $2, $3, $4, $5, $6, to_timestamp($7))";

struct pg_shared {
	const struct bench_opts	*opts;
	const char		*conninfo;
	struct bench_pool	*pool;
	double			 start, stop;
	volatile int		 listen_stop;
	int			 listen_ready;
	unsigned		 ready;		/* workers connected or failed */
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
};

/* pg-best: the follower's connection and what it did. */
struct pg_follower {
	struct pg_shared	*sh;
	pthread_t		 thread;
	_Atomic int		 drain;		/* workers done: catch up, stop */
	int			 caught_up;
	uint64_t		 rows, calls, largest;
	double			 drain_s;	/* from drain to caught up */
};

struct pg_worker {
	struct pg_shared	*sh;
	pthread_t		 thread;
	unsigned		 idx;
	struct bench_result	 res;
	double			*sent;		/* ring of send times, depth long */
	unsigned		 head, inflight;
	int			 status;	/* of the request at the head */
	EVP_MAC_CTX		*mac;
	uint64_t		 rng;
};

static EVP_MAC_CTX *
pg_mac_new(void)
{
	/* Any fixed key: the cost, not the value, is what is compared. */
	static const unsigned char key[32] = "vix bench pseudonym key 32 bytes";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;

	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return NULL;
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (ctx != NULL && !EVP_MAC_init(ctx, key, sizeof(key), params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int
pg_pseudonym(EVP_MAC_CTX *ctx, const char *bsn, unsigned char out[32])
{
	size_t n = 0;

	if (!EVP_MAC_init(ctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)PG_DOMAIN,
	    sizeof(PG_DOMAIN) - 1) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)bsn, strlen(bsn)) ||
	    !EVP_MAC_final(ctx, out, &n, 32) || n != 32)
		return -1;
	return 0;
}

static PGconn *
pg_connect(const char *conninfo, const char *who)
{
	PGconn *c = PQconnectdb(conninfo);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "pg_run: %s: connect: %s", who,
		    PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Queue one registration and its Sync: each is its own transaction. */
static int
pg_send(struct pg_worker *w, PGconn *c)
{
	const struct bench_opts *o = w->sh->opts;
	unsigned org = w->idx % (o->orgs ? o->orgs : 1);
	unsigned char ps[32];
	char bsn[10], orgs[12], ref[32], exp[24];
	const char *vals[7];
	int lens[7] = { 32, 0, 0, 0, 0, 0, 0 };
	int fmts[7] = { 1, 0, 0, 0, 0, 0, 0 };
	uint32_t youth;
	double now = bench_now();

	youth = bench_pool_pick(w->sh->pool, org, o->match_pct, &w->rng);
	bench_pool_bsn(w->sh->pool, youth, bsn);
	if (pg_pseudonym(w->mac, bsn, ps) == -1)
		return -1;
	snprintf(orgs, sizeof(orgs), "%u", org + 1);
	snprintf(ref, sizeof(ref), "%.9f", now);
	snprintf(exp, sizeof(exp), "%lld",
	    (long long)time(NULL) + PG_EXPIRES_S);
	vals[0] = (const char *)ps;
	vals[1] = orgs;
	vals[2] = "Bench Contact";
	vals[3] = "+31201234567";
	vals[4] = "bench@example.org";
	vals[5] = ref;
	vals[6] = exp;
	if (!PQsendQueryPrepared(c, "reg", 7, vals, lens, fmts, 0) ||
	    !PQpipelineSync(c))
		return -1;
	w->sent[(w->head + w->inflight) % o->depth] = now;
	w->inflight++;
	return 0;
}

static void
pg_result(struct pg_worker *w, PGresult *r)
{
	switch (PQresultStatus(r)) {
	case PGRES_TUPLES_OK:
		w->status = 0;
		if (PQntuples(r) == 1 && PQgetvalue(r, 0, 1)[0] == 'f' &&
		    !PQgetisnull(r, 0, 2))
			w->res.matches++;
		break;
	case PGRES_PIPELINE_SYNC:
		if (w->inflight == 0)
			break;
		if (w->status == 0) {
			w->res.ok++;
			bench_done_ok();
		} else
			w->res.errors_by_code[w->status]++;
		bench_hist_add(&w->res.req, bench_now() - w->sent[w->head]);
		w->head = (w->head + 1) % w->sh->opts->depth;
		w->inflight--;
		break;
	default:
		w->status = PG_CODE_INTERNAL;
		break;
	}
}

/* Read every complete result; -1 when the connection failed. */
static int
pg_read(struct pg_worker *w, PGconn *c)
{
	PGresult *r;

	if (!PQconsumeInput(c))
		return -1;
	while (w->inflight > 0 && !PQisBusy(c)) {
		if ((r = PQgetResult(c)) == NULL)
			continue;
		pg_result(w, r);
		PQclear(r);
	}
	return 0;
}

/* When the next send is due under the offered rate; now when flat out. */
static double
pg_next_due(const struct pg_worker *w, uint64_t sent, double now)
{
	const struct bench_opts *o = w->sh->opts;
	double per;

	if (o->rate == 0)
		return now;
	per = (double)o->conns / o->rate;
	return w->sh->start + per * ((double)sent + (double)w->idx / o->conns);
}

static int
pg_loop(struct pg_worker *w, PGconn *c)
{
	const struct bench_opts *o = w->sh->opts;
	struct pollfd pfd = { .fd = PQsocket(c) };
	uint64_t sent = 0;
	double now, due, deadline = w->sh->stop + PG_DRAIN_S;
	int timeout;

	for (;;) {
		now = bench_now();
		if (now >= w->sh->stop && w->inflight == 0)
			return 0;
		if (now >= deadline)
			return -1;
		while (now < w->sh->stop && w->inflight < o->depth &&
		    (due = pg_next_due(w, sent, now)) <= now) {
			if (pg_send(w, c) == -1)
				return -1;
			sent++;
		}
		pfd.events = POLLIN;
		if (PQflush(c) == 1)
			pfd.events |= POLLOUT;
		timeout = 100;
		if (o->rate != 0 && w->inflight < o->depth && now < w->sh->stop) {
			due = pg_next_due(w, sent, now);
			timeout = (int)((due - now) * 1000) + 1;
			if (timeout > 100)
				timeout = 100;
		}
		if (poll(&pfd, 1, timeout) == -1 && errno != EINTR)
			return -1;
		if ((pfd.revents & (POLLIN | POLLERR | POLLHUP)) &&
		    pg_read(w, c) == -1)
			return -1;
	}
}

static void *
pg_worker_main(void *arg)
{
	struct pg_worker *w = arg;
	PGconn *c;
	PGresult *r;
	int ok = 0;

	if ((c = pg_connect(w->sh->conninfo, "worker")) != NULL) {
		r = PQprepare(c, "reg", pg_register_sql, 0, NULL);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			fprintf(stderr, "pg_run: prepare: %s",
			    PQerrorMessage(c));
		PQclear(r);
	}
	if (ok && (!PQenterPipelineMode(c) || PQsetnonblocking(c, 1) == -1))
		ok = 0;
	/* All connected and prepared before the clock starts. */
	pthread_mutex_lock(&w->sh->mtx);
	w->sh->ready++;
	pthread_cond_broadcast(&w->sh->cond);
	while (w->sh->start == 0)
		pthread_cond_wait(&w->sh->cond, &w->sh->mtx);
	pthread_mutex_unlock(&w->sh->mtx);
	if (!ok)
		goto fail;
	if (pg_loop(w, c) == -1) {
		fprintf(stderr, "pg_run: worker %u: %s", w->idx,
		    PQerrorMessage(c));
		goto fail;
	}
	PQfinish(c);
	return NULL;
fail:
	w->res.errors_by_code[PG_CODE_UNAVAILABLE] += w->inflight + (ok ? 0 : 1);
	PQfinish(c);
	return NULL;
}

static void
pg_notified(struct bench_result *res, const char *payload)
{
	const char *p;
	double t;

	/* "recipient:match_id:sent" */
	if ((p = strchr(payload, ':')) == NULL ||
	    (p = strchr(p + 1, ':')) == NULL)
		return;
	t = strtod(p + 1, NULL);
	if (t > 0)
		bench_hist_add(&res->notify, bench_now() - t);
}

static void *
pg_listen_main(void *arg)
{
	struct pg_worker *w = arg;
	struct pg_shared *sh = w->sh;
	struct pollfd pfd;
	PGnotify *n;
	PGconn *c;
	PGresult *r;

	if ((c = pg_connect(sh->conninfo, "listener")) != NULL) {
		r = PQexec(c, "LISTEN vix");
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			fprintf(stderr, "pg_run: LISTEN: %s", PQerrorMessage(c));
		PQclear(r);
	}
	pthread_mutex_lock(&sh->mtx);
	sh->listen_ready = 1;
	pthread_cond_broadcast(&sh->cond);
	pthread_mutex_unlock(&sh->mtx);
	if (c == NULL)
		return NULL;
	pfd.fd = PQsocket(c);
	pfd.events = POLLIN;
	while (!sh->listen_stop) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (!PQconsumeInput(c))
			break;
		while ((n = PQnotifies(c)) != NULL) {
			pg_notified(&w->res, n->extra);
			PQfreemem(n);
		}
	}
	PQfinish(c);
	return NULL;
}

static void
pg_merge(struct bench_result *into, const struct bench_result *r)
{
	size_t i;

	into->ok += r->ok;
	into->matches += r->matches;
	for (i = 0; i < 17; i++)
		into->errors_by_code[i] += r->errors_by_code[i];
	bench_hist_merge(&into->req, &r->req);
	bench_hist_merge(&into->notify, &r->notify);
}

/* The parent pid of pid, from /proc; 0 when unknown. */
static long
pg_ppid(long pid)
{
	char path[64], buf[512], *p;
	long ppid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	/* "pid (comm) S ppid ...": comm may hold spaces, so from the ')' */
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && (p = strchr(p + 1, ' ')) != NULL &&
	    (p = strchr(p + 1, ' ')) != NULL)
		ppid = strtol(p + 1, NULL, 10);
	fclose(f);
	return ppid;
}

/*
 * CPU seconds and resident kB summed over the postmaster and its children
 * (backends, WAL writer, checkpointer). Resident kB counts shared buffers
 * once per process that touched them, so it overstates.
 */
static void
pg_server_stat(long postmaster, double *cpu_s, long *rss_kb)
{
	struct dirent *de;
	double cpu;
	long pid, rss;
	DIR *d;

	*cpu_s = 0;
	*rss_kb = 0;
	if (postmaster <= 0 || (d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if ((pid = strtol(de->d_name, NULL, 10)) <= 0)
			continue;
		if (pid != postmaster && pg_ppid(pid) != postmaster)
			continue;
		if (bench_proc_stat(pid, &cpu, &rss) == 0) {
			*cpu_s += cpu;
			*rss_kb += rss;
		}
	}
	closedir(d);
}

/* The postmaster: the given target, else the parent of our backend. */
static long
pg_postmaster(const struct bench_opts *o, const char *conninfo)
{
	long pid;
	PGconn *c;

	if (o->target_pid != 0)
		return o->target_pid;
	if ((c = pg_connect(conninfo, "stat")) == NULL)
		return 0;
	pid = pg_ppid(PQbackendPID(c));
	PQfinish(c);
	return pid;
}

/* One follow() call: the records and rows it did, -1 on an error. */
static long
pg_follow_once(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT follow(" PG_FOLLOW_BATCH ")");
	long n = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "pg_run: follow: %s", PQerrorMessage(c));
	PQclear(r);
	return n;
}

/*
 * Follow while the workers run, pausing when little was waiting; once they
 * are done (drain), until a call finds nothing: every registration has
 * committed by then, so nothing is left behind.
 */
static void *
pg_follow_main(void *arg)
{
	struct pg_follower *f = arg;
	struct timespec pause = { 0, PG_FOLLOW_PAUSE_MS * 1000L * 1000L };
	double t0 = 0, now;
	PGconn *c;
	long n;
	int drain;

	if ((c = pg_connect(f->sh->conninfo, "follower")) == NULL)
		return NULL;
	for (;;) {
		drain = atomic_load(&f->drain);
		if (drain && t0 == 0)
			t0 = bench_now();
		if ((n = pg_follow_once(c)) == -1)
			break;
		f->calls++;
		f->rows += (uint64_t)n;
		if ((uint64_t)n > f->largest)
			f->largest = (uint64_t)n;
		now = bench_now();
		if (drain && n == 0) {
			f->caught_up = 1;
			f->drain_s = now - t0;
			break;
		}
		if (drain && now - t0 > PG_FOLLOW_DRAIN_S) {
			fprintf(stderr, "pg_run: the follower did not catch up "
			    "in %.0f s\n", PG_FOLLOW_DRAIN_S);
			break;
		}
		if (!drain && n < PG_FOLLOW_SMALL)
			nanosleep(&pause, NULL);
	}
	PQfinish(c);
	return NULL;
}

/* 0 when every audit record is chained and every outbox row numbered. */
static int
pg_follow_check(const struct pg_follower *f)
{
	PGconn *c;
	PGresult *r;
	long left = -1;

	if (!f->caught_up ||
	    (c = pg_connect(f->sh->conninfo, "check")) == NULL)
		return -1;
	r = PQexec(c, "SELECT (SELECT count(*) FROM audit WHERE pos IS NULL) "
	    "+ (SELECT count(*) FROM outbox WHERE seq IS NULL)");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		left = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	fprintf(stderr, "pg-best: the follower chained or numbered %llu "
	    "records and rows in %llu calls (at most %llu in one), caught up "
	    "%.2f s after the workers; left behind: %ld\n",
	    (unsigned long long)f->rows, (unsigned long long)f->calls,
	    (unsigned long long)f->largest, f->drain_s, left);
	return left == 0 ? 0 : -1;
}

static int
pg_drive(const struct bench_opts *o, struct bench_result *res, int best)
{
	struct pg_shared sh = { .opts = o };
	struct pg_worker *w = NULL, lw = { .sh = &sh };
	struct pg_follower f = { .sh = &sh };
	pthread_t lt;
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	double cpu0 = 0, cpu1 = 0;
	long rss, pm;
	unsigned i, n = 0;
	int listening = 0, following = 0, rv = -1;

	memset(res, 0, sizeof(*res));
	if (o->conns == 0 || o->depth == 0)
		return -1;
	if ((sh.conninfo = getenv("VIX_BENCH_PG")) == NULL &&
	    (sh.conninfo = o->server) == NULL)
		sh.conninfo = "";
	pthread_mutex_init(&sh.mtx, NULL);
	pthread_cond_init(&sh.cond, NULL);
	if ((sh.pool = bench_pool_new(o->youths, o->orgs)) == NULL ||
	    (w = calloc(o->conns, sizeof(*w))) == NULL)
		goto out;
	pm = pg_postmaster(o, sh.conninfo);
	if (o->subscribers) {
		if (pthread_create(&lt, NULL, pg_listen_main, &lw) != 0)
			goto out;
		listening = 1;
		pthread_mutex_lock(&sh.mtx);
		while (!sh.listen_ready)
			pthread_cond_wait(&sh.cond, &sh.mtx);
		pthread_mutex_unlock(&sh.mtx);
	}
	if (best && pthread_create(&f.thread, NULL, pg_follow_main, &f) == 0)
		following = 1;
	/* Without its follower the best-effort peer does not run. */
	for (n = 0; n < o->conns && following == best; n++) {
		w[n].sh = &sh;
		w[n].idx = n;
		w[n].rng = 0x9e3779b97f4a7c15ULL * (n + 1);
		if ((w[n].sent = calloc(o->depth, sizeof(double))) == NULL ||
		    (w[n].mac = pg_mac_new()) == NULL ||
		    pthread_create(&w[n].thread, NULL, pg_worker_main,
		    &w[n]) != 0) {
			free(w[n].sent);
			EVP_MAC_CTX_free(w[n].mac);
			break;
		}
	}
	/* The clock starts for all workers at once, when all have connected. */
	pthread_mutex_lock(&sh.mtx);
	while (sh.ready < n)
		pthread_cond_wait(&sh.cond, &sh.mtx);
	pg_server_stat(pm, &cpu0, &rss);
	sh.start = bench_now();
	sh.stop = sh.start + o->duration_s;
	pthread_cond_broadcast(&sh.cond);
	pthread_mutex_unlock(&sh.mtx);
	for (i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
	res->seconds = bench_now() - sh.start;
	pg_server_stat(pm, &cpu1, &res->rss_kb);
	res->cpu_s = cpu1 - cpu0;
	if (following) {
		atomic_store(&f.drain, 1);
		pthread_join(f.thread, NULL);
	}
	if (listening) {
		/* Let the last notifications arrive. */
		nanosleep(&ts, NULL);
		sh.listen_stop = 1;
		pthread_join(lt, NULL);
	}
	for (i = 0; i < n; i++) {
		pg_merge(res, &w[i].res);
		free(w[i].sent);
		EVP_MAC_CTX_free(w[i].mac);
	}
	pg_merge(res, &lw.res);
	rv = n == o->conns ? 0 : -1;
	if (following && pg_follow_check(&f) == -1)
		rv = -1;
out:
	free(w);
	bench_pool_free(sh.pool);
	pthread_cond_destroy(&sh.cond);
	pthread_mutex_destroy(&sh.mtx);
	return rv;
}

int
pg_run(const struct bench_opts *o, struct bench_result *res)
{
	return pg_drive(o, res, 0);
}

int
pg_best_run(const struct bench_opts *o, struct bench_result *res)
{
	return pg_drive(o, res, 1);
}
