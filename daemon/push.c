/* Push mode: vixd dials partner systems and streams their notifications. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "addr.h"
#include "conn.h"
#include "log.h"
#include "push.h"
#include "vixd.h"

struct pusher {
	struct vixd	*v;
	struct worker	*w;
	char		 org_id[ORG_ID_MAX + 1];
	char		 host[256];
	uint16_t	 port;
	unsigned	 attempt;	/* failures since the last success */
	struct event	*timer;
	struct conn	*conn;
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

static void
push_dial(evutil_socket_t fd, short what, void *arg)
{
	struct pusher *p = arg;

	if (p->w->draining)
		return;
	log_debug("push: dialling %s at %s:%u", p->org_id, p->host, p->port);
	if ((p->conn = conn_dial(p->w, p->host, p->port, p)) == NULL)
		push_conn_closed_pusher(p);
}

static void
push_schedule(struct pusher *p, unsigned delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	evtimer_add(p->timer, &tv);
}

void
push_conn_closed_pusher(struct pusher *p)
{
	unsigned delay;

	p->conn = NULL;
	if (p->w->draining)
		return;
	delay = push_backoff_ms(p->attempt++, PUSH_BACKOFF_BASE_MS,
	    PUSH_BACKOFF_MAX_MS, (double)arc4random_uniform(1000000) / 1e6);
	log_info("push: %s unreachable or gone; next attempt in %u ms",
	    p->org_id, delay);
	push_schedule(p, delay);
}

void
push_conn_closed(struct conn *c)
{
	push_conn_closed_pusher(c->pusher);
}

const char *
push_org_id(const struct pusher *p)
{
	return p->org_id;
}

/* Handshake done: the partner gets what it may receive, from its cursor. */
void
push_conn_ready(struct conn *c)
{
	struct pusher *p = c->pusher;
	const struct org *o = c->org;
	struct subscription *s = calloc(1, sizeof(*s));
	uint64_t last;

	p->attempt = 0;
	if (s == NULL || (s->r = calloc(o->n_receives_for + 1,
	    sizeof(*s->r))) == NULL) {
		free(s);
		conn_teardown(c, "out of memory starting a push stream");
		return;
	}
	s->conn = c;
	s->window = p->v->cfg.subscribe_window;
	s->r[s->n++].org = o;
	for (size_t i = 0; i < o->n_receives_for; i++)
		s->r[s->n++].org = o->receives_for[i];
	for (size_t i = 0; i < s->n; i++) {
		if (store_position(conn_reader(c), o->sid, s->r[i].org->sid,
		    &s->r[i].acked, &last) != 0) {
			notify_free(s);
			conn_teardown(c, "cannot read the push cursor");
			return;
		}
		s->r[i].base = s->r[i].sent = s->r[i].acked;
	}
	conn_attach_subscription(c, s);
	log_info("push: streaming to %s at %s:%u for %zu recipient%s",
	    p->org_id, p->host, p->port, s->n, s->n == 1 ? "" : "s");
	notify_pump(s);
}

int
push_start(struct vixd *v)
{
	struct orgs *orgs = vixd_orgs(v);
	size_t n = 0;

	for (size_t i = 0; i < orgs->n; i++)
		n += orgs->v[i].push[0] != '\0';
	if (n > 0 && (v->pushers = calloc(n, sizeof(*v->pushers))) == NULL) {
		orgs_unref(orgs);
		return -1;
	}
	for (size_t i = 0; i < orgs->n; i++) {
		const struct org *o = &orgs->v[i];
		struct pusher *p;
		const char *why;

		if (o->push[0] == '\0')
			continue;
		p = &v->pushers[v->npushers++];
		p->v = v;
		p->w = &v->workers[v->npushers % v->nworkers];
		snprintf(p->org_id, sizeof(p->org_id), "%s", o->id);
		if (addr_split(o->push, p->host, sizeof(p->host), &p->port,
		    &why) == -1 || (p->timer = evtimer_new(p->w->base,
		    push_dial, p)) == NULL) {
			orgs_unref(orgs);
			return -1;
		}
		push_schedule(p, 0);
	}
	orgs_unref(orgs);
	return 0;
}

void
push_stop(struct vixd *v)
{
	for (size_t i = 0; i < v->npushers; i++)
		if (v->pushers[i].timer != NULL)
			event_free(v->pushers[i].timer);
	free(v->pushers);
	v->pushers = NULL;
	v->npushers = 0;
}
