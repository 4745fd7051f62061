/* Webhook delivery: a thread per organisation's webhook, libcurl for HTTPS. */
#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "audit.h"
#include "cloudevent.h"
#include "errors.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "tls.h"
#include "vix_version.h"
#include "vixd.h"
#include "webhook.h"
#include "webhooksig.h"

#define HOOK_CHUNK		32	/* rows read, delivered, then acked */
#define HOOK_IDLE_MS		1000	/* look at the outbox at least this often */
#define HOOK_RESPONSE_MAX	65536	/* bytes of a response body read */
#define HOOK_REPLAY_WAIT_S	5	/* beyond the request timeout */

/* What a thread delivers with; copied from the registry under the lock. */
struct hook_settings {
	char			org_id[ORG_ID_MAX + 1];
	char			url[ORG_WEBHOOK_URL_MAX + 1];
	char			ca[PATH_MAX];		/* "": the system's */
	char			cert[PATH_MAX];		/* vixd's, for mutual TLS */
	char			key_file[PATH_MAX];
	struct webhook_key	key;
	long			tls_min;	/* CURL_SSLVERSION_* */
};

struct hook {
	TAILQ_ENTRY(hook)	 entry;
	struct webhooks		*ws;
	pthread_t		 thread;
	pthread_cond_t		 cond;		/* with ws->lock */
	struct job_home		 home;		/* its writer jobs come back */
	struct job		*done;		/* the job back from the writer */
	char			 oin[OIN_LEN + 1];
	uint32_t		 sid;

	/* Under ws->lock: from the registry, and requests to the thread. */
	struct hook_settings	 set;
	int			 changed;	/* set is new */
	int			 stop;
	int			 wake;		/* the outbox grew */
	int			 replay;	/* replay_from is asked for */
	uint64_t		 replay_from;
	char			 replay_actor[64];
	int			 replay_rc;	/* 0, or -1 with replay_msg */
	int			 waiters;	/* replay askers waiting on cond */
	uint64_t		 replay_serial;	/* bumped when one is done */
	char			 replay_msg[256];
	struct webhook_state	 state;		/* for status and metrics */
};

TAILQ_HEAD(hook_list, hook);

struct webhooks {
	struct vixd		*v;
	pthread_mutex_t		 lock;
	struct hook_list	 hooks;
	int			 stopped;	/* webhook_stop: no more work */
	char			 source_oin[OIN_LEN + 1];	/* the index's */
};

/* A thread's own: its connection cache, its reader, its position. */
struct hook_run {
	struct hook		*h;
	CURL			*curl;
	struct store_reader	*reader;
	struct hook_settings	 set;
	uint64_t		 acked;		/* committed cursor */
	uint64_t		 sent;		/* delivered (2xx) */
	unsigned		 attempt;	/* failures in a row */
	int			 positioned;	/* acked read from the store */
	char			 errbuf[CURL_ERROR_SIZE];
	size_t			 response;	/* body bytes of the answer */
};

uint64_t
webhook_backoff_ms(unsigned attempt, uint64_t min_ms, uint64_t max_ms,
    double rnd, uint64_t retry_after_s)
{
	uint64_t d = min_ms;

	if (max_ms < min_ms)
		max_ms = min_ms;
	for (unsigned i = 0; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	d -= (uint64_t)((double)d / 2 * rnd);
	if (retry_after_s > 0 && retry_after_s * 1000 > d)
		d = retry_after_s * 1000 < max_ms ? retry_after_s * 1000 :
		    max_ms;
	return d;
}

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* ---- writer jobs: the cursor moves only in a committed transaction ---- */

struct hook_job {
	struct job	 j;
	uint64_t	 seq;
	int		 replay;	/* set the cursor back: store_cursor_set */
	uint64_t	 first;		/* replay: first row kept after seq */
	char		 actor[64];
	char		 outcome[64];	/* replay: whose, from where */
};

static int
hook_job_apply(struct store_txn *t, struct job *j)
{
	struct hook_job *hj = (struct hook_job *)j;
	struct hook *h = j->arg;
	uint64_t acked;
	int err;

	if (!hj->replay)
		return store_ack(t, STORE_WEBHOOK_CONSUMER, h->sid, hj->seq,
		    &acked);
	if ((err = store_cursor_set(t, STORE_WEBHOOK_CONSUMER, h->sid,
	    hj->seq, &hj->first)) != 0)
		return err;
	return audit_append(t, NULL, j->now, hj->actor, "webhook_replay", 0,
	    0, hj->outcome);
}

static void
hook_job_free(struct job *j)
{
	free(j);
}

static const struct job_ops hook_job_ops = {
	.apply = hook_job_apply,
	.free = hook_job_free,
};

/* Writer thread: hand the job back to its hook's thread. */
static void
hook_post(struct job_home *home, struct job *j)
{
	struct hook *h = j->arg;

	(void)home;
	pthread_mutex_lock(&h->ws->lock);
	h->done = j;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->ws->lock);
}

/*
 * Run a job moving the webhook's cursor to seq and wait until it is
 * committed (the writer always gives it back). 0, or an enum vix_err.
 */
static int
hook_cursor(struct hook_run *r, uint64_t seq, int replay, const char *actor,
    uint64_t *first)
{
	struct hook *h = r->h;
	struct hook_job *hj = calloc(1, sizeof(*hj));
	struct job *j;
	int err;

	if (hj == NULL)
		return VIX_E_STORE;
	j = &hj->j;
	j->ops = &hook_job_ops;
	j->arg = h;
	j->now = now_s();
	hj->seq = seq;
	hj->replay = replay;
	snprintf(hj->actor, sizeof(hj->actor), "%s", actor ? actor : "");
	snprintf(hj->outcome, sizeof(hj->outcome), "ok: %s from seq %" PRIu64,
	    r->set.org_id, seq + 1);
	if ((err = writer_submit(h->ws->v->writer, &h->home, j)) != 0) {
		free(hj);
		return err;
	}
	pthread_mutex_lock(&h->ws->lock);
	while (h->done == NULL)
		pthread_cond_wait(&h->cond, &h->ws->lock);
	h->done = NULL;
	pthread_mutex_unlock(&h->ws->lock);
	err = j->err;
	if (first != NULL)
		*first = hj->first;
	job_complete(j);
	return err;
}

/* ---- one HTTPS POST ---------------------------------------------------- */

static size_t
hook_discard(char *data, size_t size, size_t n, void *arg)
{
	struct hook_run *r = arg;

	(void)data;
	r->response += size * n;
	/* A receiver answering without end is not read without end. */
	return r->response > HOOK_RESPONSE_MAX ? 0 : size * n;
}

/* libcurl asks now and then: a stopping vixd does not wait out a timeout. */
static int
hook_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct hook *h = arg;
	int stop;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	pthread_mutex_lock(&h->ws->lock);
	stop = h->stop;
	pthread_mutex_unlock(&h->ws->lock);
	return stop;
}

struct body {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

static void
body_put(void *arg, const char *s, size_t n)
{
	struct body *b = arg;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static struct curl_slist *
hook_headers(const char *id, int64_t ts, const char *sig)
{
	struct curl_slist *l = NULL, *n;
	char line[3][160];
	const char *fixed[] = { "Content-Type: application/cloudevents+json",
	    "Expect:", "User-Agent: vixd/" VIX_VERSION };

	snprintf(line[0], sizeof(line[0]), "webhook-id: %s", id);
	snprintf(line[1], sizeof(line[1]), "webhook-timestamp: %" PRId64, ts);
	snprintf(line[2], sizeof(line[2]), "webhook-signature: %s", sig);
	for (size_t i = 0; i < 3; i++)
		if ((n = curl_slist_append(l, fixed[i])) == NULL)
			goto oom;
		else
			l = n;
	for (size_t i = 0; i < 3; i++)
		if ((n = curl_slist_append(l, line[i])) == NULL)
			goto oom;
		else
			l = n;
	return l;
oom:
	curl_slist_free_all(l);
	return NULL;
}

/*
 * POST body as event id. 0 on a 2xx; -1 with why, the HTTP status (0:
 * none) and the receiver's Retry-After (seconds, 0: none).
 */
static int
hook_post_event(struct hook_run *r, const char *id, const struct body *b,
    long *status, uint64_t *retry_after, char *why, size_t whylen)
{
	const struct vixd_config *cfg = &r->h->ws->v->cfg;
	CURL *c = r->curl;
	struct curl_slist *hdr;
	char sig[WEBHOOK_SIG_LEN];
	int64_t ts = now_s();
	curl_off_t ra = 0;
	CURLcode rc;

	*status = 0;
	*retry_after = 0;
	if (webhook_sign(&r->set.key, id, ts, b->p, b->len, sig) == -1 ||
	    (hdr = hook_headers(id, ts, sig)) == NULL) {
		snprintf(why, whylen, "cannot sign the request (out of "
		    "memory)");
		return -1;
	}
	curl_easy_reset(c);	/* keeps its connections and TLS sessions */
	r->errbuf[0] = '\0';
	r->response = 0;
	curl_easy_setopt(c, CURLOPT_URL, r->set.url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, b->p);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)cfg->webhook_connect_timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->webhook_timeout);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, r->set.tls_min);
	curl_easy_setopt(c, CURLOPT_PROXY, "");	/* not from the environment */
	if (r->set.ca[0] != '\0') {
		/* That bundle only, not the system's too. */
		curl_easy_setopt(c, CURLOPT_CAINFO, r->set.ca);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	curl_easy_setopt(c, CURLOPT_SSLCERT, r->set.cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, r->set.key_file);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hook_discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, hook_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, r->h);
	rc = curl_easy_perform(c);
	curl_slist_free_all(hdr);
	OPENSSL_cleanse(sig, sizeof(sig));
	/* An answer cut off at HOOK_RESPONSE_MAX still has its status. */
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR &&
	    r->response > HOOK_RESPONSE_MAX)) {
		snprintf(why, whylen, "%s", r->errbuf[0] != '\0' ? r->errbuf :
		    curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (*status >= 200 && *status <= 299)
		return 0;
	if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
	    ra > 0)
		*retry_after = (uint64_t)ra;
	if (*status >= 300 && *status <= 399)
		snprintf(why, whylen, "HTTP %ld: redirects are not followed "
		    "(set webhook in orgs.conf to where it points)", *status);
	else
		snprintf(why, whylen, "HTTP %ld%s", *status, *retry_after > 0 ?
		    " with Retry-After" : "");
	return -1;
}

/* ---- the thread --------------------------------------------------------- */

struct row {
	uint64_t	 seq;
	uint8_t		*msg;
	size_t		 len;
};

struct rows {
	struct row	 v[HOOK_CHUNK];
	size_t		 n;
	int		 oom;
};

static int
rows_take(void *arg, uint64_t seq, const void *msg, size_t len)
{
	struct rows *rs = arg;
	struct row *r = &rs->v[rs->n];

	if ((r->msg = malloc(len ? len : 1)) == NULL) {
		rs->oom = 1;
		return 1;
	}
	memcpy(r->msg, msg, len);
	r->len = len;
	r->seq = seq;
	rs->n++;
	return 0;
}

static void
rows_free(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].msg);
	rs->n = 0;
}

/* Under the lock: take new settings and note what the thread should do. */
static void
hook_take_settings(struct hook_run *r)
{
	if (!r->h->changed)
		return;
	r->set = r->h->set;
	r->h->changed = 0;
	r->attempt = 0;
}

static void
hook_state(struct hook_run *r, void (*fn)(struct webhook_state *, void *),
    void *arg)
{
	pthread_mutex_lock(&r->h->ws->lock);
	fn(&r->h->state, arg);
	pthread_mutex_unlock(&r->h->ws->lock);
}

static void
state_delivered(struct webhook_state *s, void *arg)
{
	struct hook_run *r = arg;

	s->delivered++;
	s->last_status = 200;
	s->last_success = now_s();
	s->acked = r->acked;
	s->next_attempt = 0;
	if (s->failing)
		log_info("webhook: %s: delivering again after failing since "
		    "%" PRId64 " (%" PRId64 " s)", s->org_id, s->failing_since,
		    now_s() - s->failing_since);
	s->failing = 0;
	s->failing_since = 0;
	s->last_error[0] = '\0';
}

struct failure {
	long		 status;
	const char	*why;
	uint64_t	 delay_ms;
	int64_t		 failing_after;
};

static void
state_failed(struct webhook_state *s, void *arg)
{
	struct failure *f = arg;
	int64_t now = now_s();

	s->failed++;
	s->last_status = f->status;
	snprintf(s->last_error, sizeof(s->last_error), "%s", f->why);
	if (s->failing_since == 0)
		s->failing_since = now;
	s->next_attempt = now + (int64_t)((f->delay_ms + 999) / 1000);
	if (!s->failing && now - s->failing_since >= f->failing_after) {
		s->failing = 1;
		log_warnx("webhook: %s FAILING: no delivery since %" PRId64
		    " s ago (%s); notifications are kept and sent once %s "
		    "answers 2xx", s->org_id, now - s->failing_since, f->why,
		    s->url);
	}
}

/* now + ms on the clock the hooks' condition variables use. */
static struct timespec
deadline(uint64_t ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(ms / 1000);
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	return until;
}

/* Whether the thread has something to do besides delivering. Lock held. */
static int
hook_interrupted(const struct hook *h)
{
	return h->stop || h->replay || h->changed;
}

/*
 * Wait for ms, or until the thread is stopped, asked to replay or given
 * new settings (or, when wake_on_publish, the outbox grew). Lock held.
 */
static void
hook_wait(struct hook *h, uint64_t ms, int wake_on_publish)
{
	struct timespec until = deadline(ms);

	while (!hook_interrupted(h) && !(wake_on_publish && h->wake))
		if (pthread_cond_timedwait(&h->cond, &h->ws->lock,
		    &until) == ETIMEDOUT)
			break;
	if (wake_on_publish)
		h->wake = 0;
}

/* A replay asked for: set the cursor, answer the asker. Lock not held. */
static void
hook_do_replay(struct hook_run *r, uint64_t from, const char *actor)
{
	struct hook *h = r->h;
	uint64_t seq = from > 0 ? from - 1 : 0, first = 0;
	char msg[256];
	int err, rc = -1;

	err = hook_cursor(r, seq, 1, actor, &first);
	if (err == VIX_E_INVALID)
		snprintf(msg, sizeof(msg), "seq %" PRIu64 " is beyond the last "
		    "notification written for %s", from, r->set.org_id);
	else if (err != 0)
		snprintf(msg, sizeof(msg), "the cursor could not be set (%s)",
		    err_name(err));
	else {
		rc = 0;
		r->acked = r->sent = seq;
		r->attempt = 0;
		if (first == 0)
			snprintf(msg, sizeof(msg), "nothing kept from seq %"
			    PRIu64 " on; new notifications follow",
			    from);
		else if (first > from)
			snprintf(msg, sizeof(msg), "replaying from seq %"
			    PRIu64 ": rows before it were pruned (acked by "
			    "every consumer, or past outbox_retention)", first);
		else
			snprintf(msg, sizeof(msg), "replaying from seq %"
			    PRIu64, first);
		log_info("webhook: %s: replay from seq %" PRIu64 " asked by "
		    "%s: %s", r->set.org_id, from, actor, msg);
	}
	pthread_mutex_lock(&h->ws->lock);
	h->replay_rc = rc;
	snprintf(h->replay_msg, sizeof(h->replay_msg), "%s", msg);
	h->replay_serial++;
	if (rc == 0)
		h->state.acked = seq;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->ws->lock);
}

static void
state_gap(struct webhook_state *s, void *arg)
{
	s->missed += *(uint64_t *)arg;
}

/*
 * Rows after the cursor that are no longer there were pruned undelivered
 * (outbox_retention) or erased with their youth: say so, never silently.
 */
static void
hook_gap(struct hook_run *r, uint64_t first)
{
	uint64_t n;

	if (r->sent == 0 || first <= r->sent + 1)
		return;
	n = first - r->sent - 1;
	log_warnx("webhook: %s: notifications %" PRIu64 " to %" PRIu64 " are "
	    "no longer in the outbox and were not delivered (kept longer than "
	    "outbox_retention while the webhook failed, or erased with their "
	    "youth)", r->set.org_id, r->sent + 1, first - 1);
	hook_state(r, state_gap, &n);
}

/* One event: 0 after a 2xx, -1 with f and why filled in. */
static int
hook_one(struct hook_run *r, const struct row *row, struct failure *f,
    char *why, size_t whylen, uint64_t *retry_after)
{
	Vix__V1__Notification *n = vix__v1__notification__unpack(NULL,
	    row->len, row->msg);
	char id[CLOUDEVENT_ID_MAX];
	struct body b = { 0 };
	struct jsonw w;
	int rc = -1;

	f->status = 0;
	if (n == NULL)
		snprintf(why, whylen, "notification %" PRIu64 " cannot be "
		    "decoded (out of memory, or a damaged row)", row->seq);
	else if (cloudevent_type(n->type) == NULL)
		/* Not skipped: a newer vixd wrote it; upgrade this one. */
		snprintf(why, whylen, "notification %" PRIu64 " is of a type "
		    "(%d) this vixd has no event type for; run the vixd "
		    "version that wrote it", row->seq, (int)n->type);
	else {
		jsonw_init(&w, body_put, &b);
		if (cloudevent_write(&w, n, r->h->ws->source_oin) == -1 ||
		    w.err || b.oom)
			snprintf(why, whylen, "cannot build the event (out of "
			    "memory)");
		else {
			cloudevent_id(n, id);
			rc = hook_post_event(r, id, &b, &f->status, retry_after,
			    why, whylen);
			if (rc == 0)
				log_debug("webhook: %s: delivered %s",
				    r->set.org_id, id);
		}
	}
	vix__v1__notification__free_unpacked(n, NULL);
	free(b.p);
	return rc;
}

/*
 * Deliver rows in order until one fails or the thread is wanted for
 * something else; then commit the cursor after the last one delivered.
 * Returns 0, or -1 after a failure (f filled in).
 */
static int
hook_deliver(struct hook_run *r, struct rows *rs, struct failure *f,
    char *why, size_t whylen, uint64_t *retry_after)
{
	struct hook *h = r->h;
	int rc = 0, stop = 0;

	if (rs->n > 0)
		hook_gap(r, rs->v[0].seq);
	for (size_t i = 0; i < rs->n && rc == 0 && !stop; i++) {
		if ((rc = hook_one(r, &rs->v[i], f, why, whylen,
		    retry_after)) == 0)
			r->sent = rs->v[i].seq;
		pthread_mutex_lock(&h->ws->lock);
		stop = hook_interrupted(h);
		pthread_mutex_unlock(&h->ws->lock);
	}
	if (r->sent > r->acked) {
		int err = hook_cursor(r, r->sent, 0, NULL, NULL);

		if (err == 0) {
			r->acked = r->sent;
			hook_state(r, state_delivered, r);
		} else
			/* Delivered, not recorded: sent again later, same id. */
			log_warnx("webhook: %s: delivered up to %" PRIu64 " but "
			    "the cursor could not be stored (%s)",
			    r->set.org_id, r->sent, err_name(err));
	}
	return rc;
}

static void
state_broken(struct webhook_state *s, void *arg)
{
	s->failing = 1;
	s->failing_since = now_s();
	snprintf(s->last_error, sizeof(s->last_error), "%s",
	    (const char *)arg);
}

static void *
hook_main(void *arg)
{
	struct hook_run run = { .h = arg };
	struct hook *h = run.h;
	struct webhooks *ws = h->ws;
	const struct vixd_config *cfg = &ws->v->cfg;
	struct rows rs = { 0 };
	char why[512];
	uint64_t last, retry_after, ms;
	struct failure f;
	int stop = 0;

	pthread_mutex_lock(&ws->lock);
	hook_take_settings(&run);
	pthread_mutex_unlock(&ws->lock);
	if ((run.curl = curl_easy_init()) == NULL ||
	    (run.reader = store_reader_new(ws->v->store)) == NULL) {
		log_warnx("webhook: %s: cannot start (out of memory); not "
		    "delivered until vixd restarts", run.set.org_id);
		hook_state(&run, state_broken, "cannot start delivering (out "
		    "of memory); restart vixd");
		goto done;
	}
	while (!stop) {
		pthread_mutex_lock(&ws->lock);
		hook_take_settings(&run);
		if ((stop = h->stop)) {
			pthread_mutex_unlock(&ws->lock);
			break;
		}
		if (h->replay) {
			uint64_t from = h->replay_from;
			char actor[64];

			snprintf(actor, sizeof(actor), "%s", h->replay_actor);
			h->replay = 0;
			pthread_mutex_unlock(&ws->lock);
			hook_do_replay(&run, from, actor);
			continue;
		}
		pthread_mutex_unlock(&ws->lock);

		retry_after = 0;
		f.status = 0;
		if (!run.positioned) {
			if (store_position(run.reader, STORE_WEBHOOK_CONSUMER,
			    h->sid, &run.acked, &last) != 0) {
				snprintf(why, sizeof(why), "cannot read the "
				    "webhook's cursor from the store");
				goto failed;
			}
			run.sent = run.acked;
			run.positioned = 1;
			pthread_mutex_lock(&ws->lock);
			h->state.acked = run.acked;
			pthread_mutex_unlock(&ws->lock);
		}
		rs.oom = 0;
		if (store_outbox_read(run.reader, h->sid, run.sent, HOOK_CHUNK,
		    rows_take, &rs) != 0 || rs.oom) {
			rows_free(&rs);
			snprintf(why, sizeof(why), "cannot read the outbox");
			goto failed;
		}
		if (rs.n == 0) {
			pthread_mutex_lock(&ws->lock);
			hook_wait(h, HOOK_IDLE_MS, 1);
			pthread_mutex_unlock(&ws->lock);
			continue;
		}
		if (hook_deliver(&run, &rs, &f, why, sizeof(why),
		    &retry_after) == 0) {
			run.attempt = 0;
			rows_free(&rs);
			continue;
		}
		rows_free(&rs);
failed:
		pthread_mutex_lock(&ws->lock);
		stop = h->stop;		/* cut short by stopping: no failure */
		pthread_mutex_unlock(&ws->lock);
		if (stop)
			break;
		ms = webhook_backoff_ms(run.attempt++,
		    (uint64_t)cfg->webhook_retry_min * 1000,
		    (uint64_t)cfg->webhook_retry_max * 1000,
		    (double)arc4random_uniform(1000000) / 1e6, retry_after);
		f.why = why;
		f.delay_ms = ms;
		f.failing_after = cfg->webhook_failing_after;
		hook_state(&run, state_failed, &f);
		log_warnx("webhook: %s: notification %" PRIu64 " not delivered: "
		    "%s; next attempt in %" PRIu64 " ms", run.set.org_id,
		    run.sent + 1, why, ms);
		pthread_mutex_lock(&ws->lock);
		hook_wait(h, ms, 0);
		pthread_mutex_unlock(&ws->lock);
	}
done:
	if (run.curl != NULL)
		curl_easy_cleanup(run.curl);
	store_reader_free(run.reader);
	OPENSSL_cleanse(&run.set.key, sizeof(run.set.key));
	return NULL;
}

/* ---- the registry's webhooks ------------------------------------------ */

/* The index's own OIN, for the events' source: from vixd's certificate. */
static void
webhook_source(struct webhooks *ws)
{
	const char *path = ws->v->cfg.tls_certificate;
	FILE *fp = fopen(path, "r");
	X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;

	if (fp != NULL)
		fclose(fp);
	if (x == NULL || tls_cert_oin(x, ws->source_oin) != OIN_OK) {
		memset(ws->source_oin, '0', OIN_LEN);
		ws->source_oin[OIN_LEN] = '\0';
		log_warnx("webhook: %s names no OIN; events say source "
		    "urn:nld:oin:%s:systeem:vix", path, ws->source_oin);
	}
	X509_free(x);
}

struct webhooks *
webhook_new(struct vixd *v)
{
	struct webhooks *ws = calloc(1, sizeof(*ws));

	if (ws == NULL)
		return NULL;
	ws->v = v;
	pthread_mutex_init(&ws->lock, NULL);
	TAILQ_INIT(&ws->hooks);
	return ws;
}

static void
hook_settings_of(struct webhooks *ws, const struct org *o,
    struct hook_settings *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->org_id, sizeof(s->org_id), "%s", o->id);
	snprintf(s->url, sizeof(s->url), "%s", o->webhook->url);
	snprintf(s->ca, sizeof(s->ca), "%s", o->webhook->ca ?
	    o->webhook->ca : "");
	snprintf(s->cert, sizeof(s->cert), "%s", ws->v->cfg.tls_certificate);
	snprintf(s->key_file, sizeof(s->key_file), "%s",
	    ws->v->cfg.tls_private_key);
	s->key = o->webhook->key;
	s->tls_min = ws->v->cfg.tls_min_version == TLS1_3_VERSION ?
	    (long)CURL_SSLVERSION_TLSv1_3 : (long)CURL_SSLVERSION_TLSv1_2;
}

/*
 * Stop h's thread and free h: a replay still asked for is answered with
 * why, and h goes once no asker waits on it any more.
 */
static void
hook_join(struct hook *h, const char *why)
{
	struct webhooks *ws = h->ws;

	pthread_mutex_lock(&ws->lock);
	h->stop = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&ws->lock);
	pthread_join(h->thread, NULL);
	pthread_mutex_lock(&ws->lock);
	if (h->replay) {
		h->replay = 0;
		h->replay_rc = -1;
		snprintf(h->replay_msg, sizeof(h->replay_msg), "%s", why);
		h->replay_serial++;
		pthread_cond_broadcast(&h->cond);
	}
	while (h->waiters > 0)
		pthread_cond_wait(&h->cond, &ws->lock);
	pthread_mutex_unlock(&ws->lock);
	pthread_cond_destroy(&h->cond);
	OPENSSL_cleanse(&h->set, sizeof(h->set));
	free(h);
}

static void
hook_add(struct webhooks *ws, const struct org *o)
{
	struct hook *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		log_warnx("webhook: %s: out of memory; not delivered", o->id);
		return;
	}
	if (ws->source_oin[0] == '\0')
		webhook_source(ws);
	h->ws = ws;
	h->home.post = hook_post;
	h->sid = o->sid;
	snprintf(h->oin, sizeof(h->oin), "%s", o->oin);
	snprintf(h->state.org_id, sizeof(h->state.org_id), "%s", o->id);
	snprintf(h->state.url, sizeof(h->state.url), "%s", o->webhook->url);
	hook_settings_of(ws, o, &h->set);
	h->changed = 1;
	{
		pthread_condattr_t ca;

		/* Back-offs on a clock that is not stepped. */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&h->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (pthread_create(&h->thread, NULL, hook_main, h) != 0) {
		log_warnx("webhook: %s: cannot start a thread; not delivered",
		    o->id);
		pthread_cond_destroy(&h->cond);
		free(h);
		return;
	}
	pthread_mutex_lock(&ws->lock);
	TAILQ_INSERT_TAIL(&ws->hooks, h, entry);
	pthread_mutex_unlock(&ws->lock);
	log_info("webhook: delivering to %s at %s", o->id, o->webhook->url);
}

void
webhook_reconcile(struct webhooks *ws, const struct orgs *now)
{
	struct hook *h, *next;
	const struct org *o;

	if (ws == NULL)
		return;
	for (h = TAILQ_FIRST(&ws->hooks); h != NULL; h = next) {
		next = TAILQ_NEXT(h, entry);
		o = orgs_by_oin(now, h->oin);
		if (o != NULL && o->webhook != NULL) {
			struct hook_settings s;

			hook_settings_of(ws, o, &s);
			pthread_mutex_lock(&ws->lock);
			snprintf(h->state.org_id, sizeof(h->state.org_id),
			    "%s", o->id);
			if (memcmp(&s, &h->set, sizeof(s)) != 0) {
				h->set = s;
				h->changed = 1;
				snprintf(h->state.url, sizeof(h->state.url),
				    "%s", s.url);
				pthread_cond_broadcast(&h->cond);
			}
			pthread_mutex_unlock(&ws->lock);
			OPENSSL_cleanse(&s, sizeof(s));
			continue;
		}
		log_info("webhook: %s: %s; delivery stopped", h->state.org_id,
		    o == NULL ? "organisation removed from orgs.conf" :
		    "webhook removed from orgs.conf");
		pthread_mutex_lock(&ws->lock);
		TAILQ_REMOVE(&ws->hooks, h, entry);
		pthread_mutex_unlock(&ws->lock);
		hook_join(h, "the webhook was removed from orgs.conf");
	}
	for (size_t i = 0; i < now->n; i++) {
		o = &now->v[i];
		if (o->webhook == NULL)
			continue;
		TAILQ_FOREACH(h, &ws->hooks, entry)
			if (strcmp(h->oin, o->oin) == 0)
				break;
		if (h == NULL)
			hook_add(ws, o);
	}
}

void
webhook_published(struct webhooks *ws, const uint32_t *sids, size_t n,
    int all)
{
	struct hook *h;

	if (ws == NULL)
		return;
	pthread_mutex_lock(&ws->lock);
	TAILQ_FOREACH(h, &ws->hooks, entry) {
		int hit = all;

		for (size_t i = 0; i < n && !hit; i++)
			hit = sids[i] == h->sid;
		if (hit) {
			h->wake = 1;
			pthread_cond_broadcast(&h->cond);
		}
	}
	pthread_mutex_unlock(&ws->lock);
}

int
webhook_replay(struct webhooks *ws, const char *org_id, uint64_t from,
    const char *actor, char *msg, size_t len)
{
	struct timespec until;
	struct hook *h;
	uint64_t serial;
	int rc = -1;

	if (ws == NULL) {
		snprintf(msg, len, "no webhooks are delivered");
		return -1;
	}
	until = deadline(((uint64_t)ws->v->cfg.webhook_timeout +
	    HOOK_REPLAY_WAIT_S) * 1000);
	pthread_mutex_lock(&ws->lock);
	TAILQ_FOREACH(h, &ws->hooks, entry)
		if (strcmp(h->state.org_id, org_id) == 0)
			break;
	if (ws->stopped)
		snprintf(msg, len, "vixd is stopping");
	else if (h == NULL)
		snprintf(msg, len, "organisation '%.32s' has no webhook in "
		    "orgs.conf", org_id);
	else if (h->stop)
		snprintf(msg, len, "delivery to %s is stopping", org_id);
	else if (h->replay)
		snprintf(msg, len, "a replay for %s is already waiting; ask "
		    "again once it is done", org_id);
	else {
		serial = h->replay_serial;
		h->replay = 1;
		h->replay_from = from;
		snprintf(h->replay_actor, sizeof(h->replay_actor), "%s",
		    actor);
		h->waiters++;
		pthread_cond_broadcast(&h->cond);
		while (h->replay_serial == serial)
			if (pthread_cond_timedwait(&h->cond, &ws->lock,
			    &until) == ETIMEDOUT)
				break;
		if (h->replay_serial == serial)
			snprintf(msg, len, "the delivery thread of %s did not "
			    "take the replay in time (a request to %s is "
			    "still running); it will set the cursor once that "
			    "request ends", org_id, h->state.url);
		else {
			rc = h->replay_rc;
			snprintf(msg, len, "%s", h->replay_msg);
		}
		if (--h->waiters == 0)
			pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&ws->lock);
	return rc;
}

struct webhook_state *
webhook_snapshot(struct webhooks *ws, size_t *n)
{
	struct webhook_state *out = NULL;
	struct hook *h;
	size_t k = 0;

	*n = 0;
	if (ws == NULL)
		return NULL;
	pthread_mutex_lock(&ws->lock);
	TAILQ_FOREACH(h, &ws->hooks, entry)
		k++;
	if (k > 0 && (out = calloc(k, sizeof(*out))) != NULL)
		TAILQ_FOREACH(h, &ws->hooks, entry)
			out[(*n)++] = h->state;
	pthread_mutex_unlock(&ws->lock);
	return out;
}

void
webhook_stop(struct webhooks *ws)
{
	struct hook *h;

	if (ws == NULL)
		return;
	pthread_mutex_lock(&ws->lock);
	ws->stopped = 1;
	pthread_mutex_unlock(&ws->lock);
	for (;;) {
		pthread_mutex_lock(&ws->lock);
		if ((h = TAILQ_FIRST(&ws->hooks)) != NULL)
			TAILQ_REMOVE(&ws->hooks, h, entry);
		pthread_mutex_unlock(&ws->lock);
		if (h == NULL)
			break;
		hook_join(h, "vixd is stopping");
	}
}

void
webhook_free(struct webhooks *ws)
{
	if (ws == NULL)
		return;
	webhook_stop(ws);
	pthread_mutex_destroy(&ws->lock);
	free(ws);
}

void
webhook_json(struct jsonw *w, const struct webhook_state *st, size_t n)
{
	jsonw_key(w, "webhooks");
	jsonw_array(w);
	for (size_t i = 0; i < n; i++) {
		const struct webhook_state *s = &st[i];

		jsonw_object(w);
		jsonw_kstr(w, "org", s->org_id);
		jsonw_kstr(w, "url", s->url);
		jsonw_kstr(w, "state", s->failing ? "failing" :
		    s->failing_since != 0 ? "retrying" : "ok");
		jsonw_kuint(w, "acked", s->acked);
		jsonw_kuint(w, "delivered", s->delivered);
		jsonw_kuint(w, "failed", s->failed);
		jsonw_kuint(w, "missed", s->missed);
		jsonw_kint(w, "failing_since", s->failing_since);
		jsonw_kint(w, "last_success", s->last_success);
		jsonw_kint(w, "next_attempt", s->next_attempt);
		jsonw_kint(w, "last_status", s->last_status);
		jsonw_kstr(w, "last_error", s->last_error);
		jsonw_end(w);
	}
	jsonw_end(w);
}

void
webhook_metrics(struct evbuffer *b, const struct webhook_state *st, size_t n)
{
	metrics_family(b, "vix_webhook_deliveries_total", "counter",
	    "Notifications delivered to an organisation's webhook (2xx) and "
	    "attempts that failed, by recipient.");
	for (size_t i = 0; i < n; i++) {
		evbuffer_add_printf(b, "vix_webhook_deliveries_total{recipient="
		    "\"%s\",result=\"delivered\"} %llu\n", st[i].org_id,
		    (unsigned long long)st[i].delivered);
		evbuffer_add_printf(b, "vix_webhook_deliveries_total{recipient="
		    "\"%s\",result=\"failed\"} %llu\n", st[i].org_id,
		    (unsigned long long)st[i].failed);
	}
	metrics_family(b, "vix_webhook_missed_total", "counter",
	    "Notifications gone from an organisation's outbox before its "
	    "webhook took them (outbox_retention passed, or erased).");
	for (size_t i = 0; i < n; i++)
		evbuffer_add_printf(b, "vix_webhook_missed_total{recipient="
		    "\"%s\"} %llu\n", st[i].org_id,
		    (unsigned long long)st[i].missed);
	metrics_family(b, "vix_webhook_failing", "gauge", "1 while an "
	    "organisation's webhook has not taken a notification for "
	    "[webhook] failing_after or longer.");
	for (size_t i = 0; i < n; i++)
		evbuffer_add_printf(b, "vix_webhook_failing{recipient=\"%s\"} "
		    "%d\n", st[i].org_id, st[i].failing);
	metrics_family(b, "vix_webhook_acked_seq", "gauge", "The last "
	    "notification seq an organisation's webhook took (its cursor).");
	for (size_t i = 0; i < n; i++)
		evbuffer_add_printf(b, "vix_webhook_acked_seq{recipient=\"%s\"} "
		    "%llu\n", st[i].org_id, (unsigned long long)st[i].acked);
	metrics_family(b, "vix_webhook_last_success_timestamp_seconds",
	    "gauge", "When an organisation's webhook last took a "
	    "notification (0: not since vixd started).");
	for (size_t i = 0; i < n; i++)
		evbuffer_add_printf(b, "vix_webhook_last_success_timestamp_"
		    "seconds{recipient=\"%s\"} %lld\n", st[i].org_id,
		    (long long)st[i].last_success);
}
