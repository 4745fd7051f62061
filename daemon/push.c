/* Push mode: vixd dials partner systems and streams their notifications. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "addr.h"
#include "conn.h"
#include "handlers.h"
#include "log.h"
#include "push.h"
#include "session.h"
#include "vixd.h"

struct pusher {
	TAILQ_ENTRY(pusher)	 entry;		/* on its worker, unless gone */
	struct worker	*w;
	char		 oin[OIN_LEN + 1];	/* whom it delivers to */
	char		 org_id[ORG_ID_MAX + 1];	/* for the log */
	char		 push[256];	/* as in orgs.conf */
	char		 host[256];
	uint16_t	 port;
	unsigned	 attempt;	/* failures since the last success */
	uint64_t	 ready_ms;	/* handshake done (0: not yet) */
	char		 why[256];	/* why the last connection ended */
	int		 gone;		/* removed: free once conn is released */
	int		 at_once;	/* redial without waiting */
	struct event	*timer;
	struct session	*sess;		/* while dialled */
};

unsigned
push_backoff_ms(unsigned attempt, unsigned base_ms, unsigned max_ms,
    double rnd)
{
	uint64_t d = base_ms;

	for (unsigned i = 0; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	return (unsigned)(d - (uint64_t)((double)d / 2 * rnd));
}

static void push_closed(struct pusher *);
static void push_ready(void *);
static void push_frame(void *, const uint8_t *, size_t);
static void push_conn_closed(void *, const char *);

/* A push connection: its own frame handler, session's last word. */
static const struct conn_cb push_cb = {
	push_ready, push_frame, session_bad_frame, push_conn_closed
};

static uint64_t
push_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
push_dial(evutil_socket_t fd, short what, void *arg)
{
	struct pusher *p = arg;
	struct session *s;

	if (p->w->draining)
		return;
	log_debug("push: dialling %s at %s:%u", p->org_id, p->host, p->port);
	p->ready_ms = 0;
	snprintf(p->why, sizeof(p->why), "cannot set up a connection");
	if ((s = session_new_outbound(p->w, p)) == NULL) {
		log_warnx("conn_dial: cannot set up a connection to %s",
		    p->host);
		push_closed(p);
		return;
	}
	s->conn = conn_dial(p->w, vixd_client_ssl_new(p->w->vixd,
	    &s->generation), p->host, p->port, &push_cb, s);
	if (s->conn == NULL) {
		session_free(s);
		push_closed(p);
		return;
	}
	p->sess = s;
}

static void
push_schedule(struct pusher *p, unsigned delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	evtimer_add(p->timer, &tv);
}

static void
push_free(struct pusher *p)
{
	if (p->timer != NULL)
		event_free(p->timer);
	free(p);
}

static void
push_closed(struct pusher *p)
{
	unsigned delay;

	p->sess = NULL;
	/* A partner that kept the line open a while had taken us. */
	if (p->ready_ms != 0 && push_now_ms() - p->ready_ms >= PUSH_STABLE_MS)
		p->attempt = 0;
	if (p->gone) {
		push_free(p);
		return;
	}
	if (p->w->draining)
		return;
	if (p->at_once) {
		p->at_once = 0;
		p->attempt = 0;
		push_schedule(p, 0);
		return;
	}
	delay = push_backoff_ms(p->attempt++, PUSH_BACKOFF_BASE_MS,
	    PUSH_BACKOFF_MAX_MS, (double)arc4random_uniform(1000000) / 1e6);
	log_warnx("push: %s: %s; next attempt in %u ms", p->org_id, p->why,
	    delay);
	push_schedule(p, delay);
}

/* The connection of a push target was released: redial (or forget). */
static void
push_conn_closed(void *arg, const char *reason)
{
	struct session *s = arg;
	struct pusher *p = s->pusher;

	snprintf(p->why, sizeof(p->why), "%s", reason);
	session_free(s);
	push_closed(p);
}

void
push_conn_acked(struct session *s)
{
	s->pusher->attempt = 0;
}

void
push_restart(struct session *s, const char *reason)
{
	s->pusher->at_once = 1;
	conn_teardown(s->conn, reason);
}

/*
 * The partner answers notifications with Acks and may ask nothing else on
 * a connection vixd dialled; anything else is counted against the rate
 * limit like any request, and refused.
 */
static void
push_frame(void *arg, const uint8_t *buf, size_t len)
{
	struct session *s = arg;
	struct frame_budget budget;
	Vix__V1__Request *req;

	if ((req = session_decode(s, buf, len, &budget)) == NULL)
		return;
	if (session_rate_limited(s, req))
		goto done;
	if (req->body_case == VIX__V1__REQUEST__BODY_ACK)
		handlers_dispatch(s, req);
	else {
		session_wipe_bsn(req);
		session_respond_status(s, req->id,
		    VIX__V1__STATUS__CODE__PERMISSION_DENIED, "this connection "
		    "was dialled by the index to push notifications to %s: "
		    "only Ack is accepted on it (connect to the index to send "
		    "other requests)", s->org->id);
	}
done:
	session_request_free(s, req, &budget);
}

/* Handshake done: the partner gets what it may receive, from its cursor. */
static void
push_stream(struct session *ss)
{
	struct pusher *p = ss->pusher;
	const struct org *o = ss->org;
	struct conn *c = ss->conn;
	struct subscription *s = calloc(1, sizeof(*s));
	uint64_t last;

	/*
	 * Not yet a success: in TLS 1.3 the partner checks our certificate
	 * after our side of the handshake is done, and may still refuse it.
	 */
	p->ready_ms = push_now_ms();
	if (s == NULL || (s->r = calloc(o->n_receives_for + 1,
	    sizeof(*s->r))) == NULL) {
		free(s);
		conn_teardown(c, "out of memory starting a push stream");
		return;
	}
	s->conn = c;
	s->reader = ss->w->reader;
	s->window = ss->w->vixd->cfg.subscribe_window;
	s->r[s->n++].org = o;
	for (size_t i = 0; i < o->n_receives_for; i++)
		s->r[s->n++].org = o->receives_for[i];
	for (size_t i = 0; i < s->n; i++) {
		if (store_position(s->reader, o->sid, s->r[i].org->sid,
		    &s->r[i].acked, &last) != 0) {
			notify_free(s);
			conn_teardown(c, "cannot read the push cursor");
			return;
		}
		s->r[i].base = s->r[i].sent = s->r[i].acked;
	}
	session_attach_subscription(ss, s);
	log_info("push: streaming to %s at %s:%u for %zu recipient%s",
	    p->org_id, p->host, p->port, s->n, s->n == 1 ? "" : "s");
	notify_pump(s);
}

/* We dialled a push target and its certificate checked out. */
static void
push_ready(void *arg)
{
	struct session *s = arg;

	s->orgs = vixd_orgs(s->w->vixd);
	if ((s->org = orgs_by_oin(s->orgs, s->pusher->oin)) == NULL) {
		conn_teardown(s->conn, "push target no longer in orgs.conf");
		return;
	}
	conn_set_peer(s->conn, s->org->id);
	conn_serve(s->conn, 0);
	if (session_recheck(s) == 0)
		push_stream(s);
}

/* Which worker serves the push target of an OIN: the same on every reload. */
static unsigned
push_worker_of(const char *oin, unsigned nworkers)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *oin != '\0'; oin++)
		h = (h ^ (unsigned char)*oin) * 16777619u;
	return h % nworkers;
}

/* Stop delivering to p: close its connection, forget it once released. */
static void
push_remove(struct pusher *p, const char *reason)
{
	TAILQ_REMOVE(&p->w->pushers, p, entry);
	if (p->sess == NULL) {
		log_info("push: %s: %s", p->org_id, reason);
		push_free(p);
		return;
	}
	p->gone = 1;
	conn_teardown(p->sess->conn, reason);
}

/* Take the address of o; a connection to the old one is closed. */
static int
push_set_target(struct pusher *p, const struct org *o)
{
	const char *why;

	snprintf(p->org_id, sizeof(p->org_id), "%s", o->id);
	if (strcmp(p->push, o->push) == 0)
		return 0;
	if (addr_split(o->push, p->host, sizeof(p->host), &p->port,
	    &why) == -1) {
		log_warnx("push: %s: %s: %s", o->id, o->push, why);
		return -1;
	}
	snprintf(p->push, sizeof(p->push), "%s", o->push);
	p->attempt = 0;
	if (p->sess != NULL)
		push_restart(p->sess, "push address changed in orgs.conf");
	else
		push_schedule(p, 0);
	return 0;
}

static void
push_add(struct worker *w, const struct org *o)
{
	struct pusher *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->timer = evtimer_new(w->base, push_dial,
	    p)) == NULL) {
		log_warnx("push: %s: out of memory; not dialled", o->id);
		free(p);
		return;
	}
	p->w = w;
	snprintf(p->oin, sizeof(p->oin), "%s", o->oin);
	TAILQ_INSERT_TAIL(&w->pushers, p, entry);
	if (push_set_target(p, o) == -1)
		push_remove(p, "not dialled");
	else
		log_info("push: delivering to %s at %s", o->id, o->push);
}

void
push_reconcile(struct worker *w, const struct orgs *now)
{
	struct pusher *p, *next;
	const struct org *o;

	for (p = TAILQ_FIRST(&w->pushers); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		o = orgs_by_oin(now, p->oin);
		if (o == NULL)
			push_remove(p, "organisation removed from orgs.conf; "
			    "push stopped");
		else if (o->push[0] == '\0')
			push_remove(p, "push removed from orgs.conf; push "
			    "stopped");
		else if (push_set_target(p, o) == -1)
			push_remove(p, "push stopped");
	}
	for (size_t i = 0; i < now->n; i++) {
		o = &now->v[i];
		if (o->push[0] == '\0' ||
		    push_worker_of(o->oin, w->vixd->nworkers) != w->idx)
			continue;
		TAILQ_FOREACH(p, &w->pushers, entry)
			if (strcmp(p->oin, o->oin) == 0)
				break;
		if (p == NULL)
			push_add(w, o);
	}
}

void
push_free_all(struct worker *w)
{
	struct pusher *p;

	while ((p = TAILQ_FIRST(&w->pushers)) != NULL) {
		TAILQ_REMOVE(&w->pushers, p, entry);
		push_free(p);
	}
}
