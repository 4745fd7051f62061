/*
 * The vixd driver: one vix_client per connection, each pipelining up to
 * depth registrations, and optionally one subscriber per organisation
 * timing register-to-notification latency through a table keyed by match
 * id (whichever of the response and the notification comes second
 * completes the sample). Each registering connection has a thread of its
 * own, or (--loops N) N threads each serve their share of them in one poll
 * loop: on a machine that the server shares, fewer runnable threads take
 * less CPU from it. Each connection keeps its own schedule either way, and
 * a response is timed when its connection is read.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vix/client.h>

#include "bench.h"

#define MATCH_SLOTS	(1u << 20)

struct match_slot {
	uint64_t	 match_id;
	double		 sent;		/* 0: not yet known */
	double		 notified;	/* 0: not yet known */
};

struct run {
	const struct bench_opts	*o;
	struct bench_pool	*pool;
	double			 end;		/* stop sending at */
	atomic_int		 stop;		/* subscribers: finish */
	pthread_mutex_t		 lock;
	struct match_slot	*slots;
};

struct worker {
	struct run		*run;
	unsigned		 index, org;
	pthread_t		 tid;
	struct bench_result	 res;
};

struct inflight {
	uint64_t	 id;
	double		 sent;
};

/* --loops: connections first..first+n-1 of w, served by one thread. */
struct loop {
	struct run		*run;
	struct worker		*w;
	unsigned		 first, n;
	pthread_t		 tid;
};

/* One registering connection of a loop. */
struct lconn {
	struct worker		*w;
	vix_client		*c;
	struct inflight		*fl;
	unsigned		 n;		/* in flight */
	double			 next;		/* the next send is due */
	uint64_t		 rng;
	int			 done;
};

/* Record one side of a match's timing; completes the sample if both. */
static void
match_time(struct run *run, uint64_t match_id, double sent, double notified,
    struct bench_hist *h)
{
	struct match_slot *s = &run->slots[match_id & (MATCH_SLOTS - 1)];

	pthread_mutex_lock(&run->lock);
	if (s->match_id != match_id) {
		s->match_id = match_id;
		s->sent = s->notified = 0;
	}
	if (sent > 0)
		s->sent = sent;
	if (notified > 0)
		s->notified = notified;
	if (s->sent > 0 && s->notified > 0) {
		bench_hist_add(h, s->notified - s->sent);
		s->match_id = 0;
	}
	pthread_mutex_unlock(&run->lock);
}

static int
connect_org(const struct bench_opts *o, unsigned org, vix_client **c)
{
	char cert[4096], key[4096], ca[4096];
	struct vix_options vo = { .server = o->server, .cert_file = cert,
	    .key_file = key, .ca_file = ca, .timeout_ms = 30000,
	    .keyholder = o->keyholder };
	struct vix_error err;

	snprintf(cert, sizeof(cert), "%s/bench-%03u.pem", o->dev_dir, org + 1);
	snprintf(key, sizeof(key), "%s/bench-%03u.key", o->dev_dir, org + 1);
	snprintf(ca, sizeof(ca), "%s/ca.pem", o->dev_dir);
	if (vix_connect(&vo, c, &err) != VIX_OK) {
		fprintf(stderr, "vix-bench: connect as bench-%03u: %s\n",
		    org + 1, err.message);
		return -1;
	}
	return 0;
}

static int
send_one(struct worker *w, vix_client *c, struct inflight *fl, uint64_t *rng)
{
	struct run *run = w->run;
	char bsn[10], ref[32];
	struct vix_register_req req = { .bsn = bsn, .birth_date = "2012-06-15",
	    .contact_name = "Bench Contact", .contact_phone = "0612345678",
	    .client_ref = ref };
	struct vix_error err;

	bench_pool_bsn(run->pool, bench_pool_pick(run->pool, w->org,
	    run->o->match_pct, rng), bsn);
	snprintf(ref, sizeof(ref), "bench-%u", w->index);
	fl->sent = bench_now();
	if (vix_register_send(c, &req, &fl->id, &err) != VIX_OK) {
		w->res.errors_by_code[VIX_STATUS_UNAVAILABLE]++;
		return -1;
	}
	return 0;
}

/* Take one response; -1 when the connection is gone. */
static int
recv_one(struct worker *w, vix_client *c, struct inflight *fl, unsigned *n)
{
	struct vix_register_result out;
	struct vix_error err;
	uint64_t id;
	double now, sent = 0;
	int rc;

	rc = vix_register_recv(c, &id, &out, &err);
	now = bench_now();
	if (id == 0) {
		w->res.errors_by_code[VIX_STATUS_UNAVAILABLE] += *n;
		vix_register_result_free(&out);
		return -1;
	}
	for (unsigned i = 0; i < *n; i++)
		if (fl[i].id == id) {
			sent = fl[i].sent;
			fl[i] = fl[--*n];
			break;
		}
	bench_hist_add(&w->res.req, now - sent);
	if (rc == VIX_OK) {
		w->res.ok++;
		bench_done_ok();
		if (out.has_match)
			w->res.matches++;
		if (out.has_match && out.status == VIX_SIGNAL_CREATED &&
		    out.match.n_others == 1 && w->run->o->subscribers)
			match_time(w->run, out.match.match_id, sent, 0,
			    &w->res.notify);
	} else if (rc == VIX_ERR_REFUSED && err.status > 0 && err.status < 17)
		w->res.errors_by_code[err.status]++;
	else
		w->res.errors_by_code[VIX_STATUS_UNKNOWN]++;
	vix_register_result_free(&out);
	return 0;
}

static void
sleep_until(double t)
{
	double d = t - bench_now();
	struct timespec ts;

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* Whether a response arrives before time t (bench_now()). */
static int
response_due(vix_client *c, double t)
{
	struct vix_error err;
	double left = t - bench_now();

	if (left <= 0)
		return 0;
	return vix_wait(c, (int)(left * 1e3) + 1, &err) != VIX_ERR_TIMEOUT;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	const struct bench_opts *o = w->run->o;
	double interval = o->rate ? (double)o->conns / o->rate : 0, next;
	uint64_t rng = (w->index + 1) * 0x9E3779B97F4A7C15ull;
	struct inflight *fl;
	vix_client *c = NULL;
	unsigned n = 0;

	if ((fl = calloc(o->depth, sizeof(*fl))) == NULL ||
	    connect_org(o, w->org, &c) == -1) {
		w->res.errors_by_code[VIX_STATUS_UNAVAILABLE]++;
		goto done;
	}
	next = bench_now();
	while (bench_now() < w->run->end) {
		while (n < o->depth && (interval == 0 || bench_now() >= next)) {
			if (!bench_claim())
				goto drain;
			if (send_one(w, c, &fl[n], &rng) == -1)
				goto done;
			n++;
			next += interval;
		}
		if (n == 0) {
			sleep_until(next);
			continue;
		}
		/*
		 * At a fixed rate, read only what has arrived before the next
		 * send is due, so that sends keep to the schedule instead of
		 * bunching up behind a blocking read.
		 */
		if (interval > 0 && n < o->depth && !response_due(c, next))
			continue;
		if (recv_one(w, c, fl, &n) == -1)
			goto done;
	}
drain:
	while (n > 0)
		if (recv_one(w, c, fl, &n) == -1)
			break;
done:
	vix_close(c);
	free(fl);
	return NULL;
}

/* Send what c's schedule has due by now; -1 when the connection failed. */
static int
loop_send(struct lconn *l, double now, double interval, int *sending)
{
	const struct bench_opts *o = l->w->run->o;

	while (*sending && l->n < o->depth && (interval == 0 ||
	    now >= l->next)) {
		if (!bench_claim()) {
			*sending = 0;
			break;
		}
		if (send_one(l->w, l->c, &l->fl[l->n], &l->rng) == -1)
			return -1;
		l->n++;
		l->next += interval;
	}
	return 0;
}

/* Take every response that has arrived; -1 when the connection failed. */
static int
loop_read(struct lconn *l)
{
	struct vix_error err;
	int rc;

	while (l->n > 0) {
		if ((rc = vix_wait(l->c, 0, &err)) == VIX_ERR_TIMEOUT)
			return 0;
		if (rc != VIX_OK) {
			l->w->res.errors_by_code[VIX_STATUS_UNAVAILABLE] +=
			    l->n;
			return -1;
		}
		if (recv_one(l->w, l->c, l->fl, &l->n) == -1)
			return -1;
	}
	return 0;
}

static void
loop_close(struct lconn *l, unsigned *live)
{
	vix_close(l->c);
	l->c = NULL;
	l->done = 1;
	(*live)--;
}

/* Wait for the first response or due send of the loop's connections. */
static void
loop_wait(struct lconn *lc, unsigned n, struct pollfd *pfd, unsigned *idx,
    double wake, unsigned *live)
{
	struct timespec ts;
	unsigned nfds = 0;
	double d;

	for (unsigned i = 0; i < n; i++)
		if (!lc[i].done && lc[i].n > 0) {
			pfd[nfds].fd = vix_fd(lc[i].c);
			pfd[nfds].events = POLLIN;
			pfd[nfds].revents = 0;
			idx[nfds++] = i;
		}
	d = wake - bench_now();
	if (d < 0)
		d = 0;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	if (ppoll(pfd, nfds, &ts, NULL) <= 0)
		return;
	for (unsigned k = 0; k < nfds; k++)
		if (pfd[k].revents != 0 && loop_read(&lc[idx[k]]) == -1)
			loop_close(&lc[idx[k]], live);
}

static void *
loop_main(void *arg)
{
	struct loop *lp = arg;
	const struct bench_opts *o = lp->run->o;
	double interval = o->rate ? (double)o->conns / o->rate : 0, now, wake;
	struct lconn *lc = calloc(lp->n, sizeof(*lc));
	struct pollfd *pfd = calloc(lp->n, sizeof(*pfd));
	unsigned *idx = calloc(lp->n, sizeof(*idx)), live = 0;
	int sending = 1;

	for (unsigned i = 0; lc != NULL && pfd != NULL && idx != NULL &&
	    i < lp->n; i++) {
		struct lconn *l = &lc[i];

		l->w = &lp->w[lp->first + i];
		l->rng = (l->w->index + 1) * 0x9E3779B97F4A7C15ull;
		if ((l->fl = calloc(o->depth, sizeof(*l->fl))) == NULL ||
		    connect_org(o, l->w->org, &l->c) == -1) {
			l->w->res.errors_by_code[VIX_STATUS_UNAVAILABLE]++;
			l->done = 1;
			continue;
		}
		l->next = bench_now();
		live++;
	}
	while (live > 0) {
		now = bench_now();
		if (now >= lp->run->end)
			sending = 0;
		wake = now + 0.1;
		for (unsigned i = 0; i < lp->n; i++) {
			struct lconn *l = &lc[i];

			if (l->done)
				continue;
			if (loop_send(l, now, interval, &sending) == -1) {
				loop_close(l, &live);
				continue;
			}
			if (!sending && l->n == 0)
				loop_close(l, &live);
			else if (sending && interval > 0 && l->n < o->depth &&
			    l->next < wake)
				wake = l->next;
		}
		if (live > 0)
			loop_wait(lc, lp->n, pfd, idx, wake, &live);
	}
	for (unsigned i = 0; lc != NULL && i < lp->n; i++)
		free(lc[i].fl);
	free(lc);
	free(pfd);
	free(idx);
	return NULL;
}

/*
 * Run the registering connections w[0..conns-1] on o->loops threads, each
 * a poll loop over its share; 0 when they ran, -1 when none could start.
 */
static int
run_loops(struct run *run, struct worker *w)
{
	const struct bench_opts *o = run->o;
	unsigned nloops = o->loops < o->conns ? o->loops : o->conns, started;
	struct loop *lp = calloc(nloops, sizeof(*lp));

	if (lp == NULL)
		return -1;
	for (unsigned i = 0; i < o->conns; i++) {
		w[i].run = run;
		w[i].index = i;
		w[i].org = i % o->orgs;
	}
	for (started = 0; started < nloops; started++) {
		struct loop *l = &lp[started];

		l->run = run;
		l->w = w;
		/* Contiguous shares, as even as conns allows. */
		l->first = o->conns * started / nloops;
		l->n = o->conns * (started + 1) / nloops - l->first;
		if (pthread_create(&l->tid, NULL, loop_main, l) != 0) {
			fprintf(stderr, "vix-bench: cannot start loop %u\n",
			    started);
			run->end = 0;
			break;
		}
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(lp[i].tid, NULL);
	free(lp);
	return started > 0 ? 0 : -1;
}

static void *
subscriber_main(void *arg)
{
	struct worker *s = arg;
	struct vix_subscribe_result sub;
	struct vix_notification nt;
	struct vix_error err;
	vix_client *c = NULL;
	uint64_t last = 0, acked = 0;
	char who[33] = "";
	int rc;

	if (connect_org(s->run->o, s->org, &c) == -1 ||
	    vix_subscribe(c, 0, NULL, 0, &sub, &err) != VIX_OK) {
		fprintf(stderr, "vix-bench: subscriber bench-%03u: cannot "
		    "subscribe\n", s->org + 1);
		vix_close(c);
		return NULL;
	}
	vix_subscribe_result_free(&sub);
	while (!atomic_load(&s->run->stop)) {
		rc = vix_next_notification(c, 100, &nt, &err);
		if (rc == VIX_OK) {
			if (nt.type == VIX_NOTIFY_MATCH_CREATED)
				match_time(s->run, nt.match_id, 0, bench_now(),
				    &s->res.notify);
			last = nt.seq;
			snprintf(who, sizeof(who), "%s", nt.recipient);
			vix_notification_free(&nt);
		} else if (rc != VIX_ERR_TIMEOUT)
			break;
		if (last > acked && (rc == VIX_ERR_TIMEOUT || last - acked >= 256)) {
			if (vix_ack(c, who, last, &err) != VIX_OK)
				break;
			acked = last;
		}
	}
	vix_close(c);
	return NULL;
}

static void
collect(struct bench_result *r, const struct worker *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		r->ok += w[i].res.ok;
		r->matches += w[i].res.matches;
		for (int c = 0; c < 17; c++)
			r->errors_by_code[c] += w[i].res.errors_by_code[c];
		bench_hist_merge(&r->req, &w[i].res.req);
		bench_hist_merge(&r->notify, &w[i].res.notify);
	}
}

static int
start_threads(struct run *run, struct worker *w, unsigned n, unsigned orgs,
    void *(*fn)(void *))
{
	for (unsigned i = 0; i < n; i++) {
		w[i].run = run;
		w[i].index = i;
		w[i].org = i % orgs;
		if (pthread_create(&w[i].tid, NULL, fn, &w[i]) != 0) {
			fprintf(stderr, "vix-bench: cannot start thread %u\n", i);
			atomic_store(&run->stop, 1);
			run->end = 0;
			for (unsigned j = 0; j < i; j++)
				pthread_join(w[j].tid, NULL);
			return -1;
		}
	}
	return 0;
}

int
driver_run(const struct bench_opts *o, struct bench_result *r)
{
	struct run run = { .o = o };
	struct worker *w = NULL, *subs = NULL;
	unsigned nsubs = o->subscribers ? o->orgs : 0;
	double t0, cpu0 = 0, cpu1 = 0;
	int rc = -1;

	if (o->server == NULL || o->dev_dir == NULL) {
		fprintf(stderr, "vix-bench: the vixd driver needs --server and "
		    "--dev-dir\n");
		return -1;
	}
	pthread_mutex_init(&run.lock, NULL);
	run.pool = bench_pool_new(o->youths, o->orgs);
	run.slots = calloc(MATCH_SLOTS, sizeof(*run.slots));
	w = calloc(o->conns, sizeof(*w));
	subs = calloc(nsubs + 1, sizeof(*subs));
	if (run.pool != NULL)
		bench_pool_start_at(run.pool, o->first);
	if (run.pool == NULL || run.slots == NULL || w == NULL || subs == NULL)
		goto done;
	if (o->target_pid > 0)
		bench_proc_stat(o->target_pid, &cpu0, &r->rss_kb);
	run.end = bench_now() + o->duration_s;
	if (start_threads(&run, subs, nsubs, o->orgs, subscriber_main) == -1)
		goto done;
	t0 = bench_now();
	run.end = t0 + o->duration_s;
	if (o->loops > 0) {
		if (run_loops(&run, w) == -1) {
			atomic_store(&run.stop, 1);
			for (unsigned i = 0; i < nsubs; i++)
				pthread_join(subs[i].tid, NULL);
			goto done;
		}
	} else {
		if (start_threads(&run, w, o->conns, o->orgs,
		    worker_main) == -1) {
			for (unsigned i = 0; i < nsubs; i++)
				pthread_join(subs[i].tid, NULL);
			goto done;
		}
		for (unsigned i = 0; i < o->conns; i++)
			pthread_join(w[i].tid, NULL);
	}
	r->seconds = bench_now() - t0;
	if (o->target_pid > 0 && bench_proc_stat(o->target_pid, &cpu1,
	    &r->rss_kb) == 0)
		r->cpu_s = cpu1 - cpu0;
	/* Give the last notifications a moment to arrive. */
	sleep_until(bench_now() + 1.0);
	atomic_store(&run.stop, 1);
	for (unsigned i = 0; i < nsubs; i++)
		pthread_join(subs[i].tid, NULL);
	collect(r, w, o->conns);
	collect(r, subs, nsubs);
	rc = 0;
done:
	free(w);
	free(subs);
	free(run.slots);
	bench_pool_free(run.pool);
	pthread_mutex_destroy(&run.lock);
	return rc;
}
