/* vix-portal's connections to the index (see index.h). */
#include <string.h>

#include <event2/event.h>

#include "index.h"
#include "log.h"

#define SUBSCRIBE_RETRY_S	5

static void	index_subscribe(struct portal *p);

static int
index_connect(struct portal *p, vix_client **c, struct vix_error *e)
{
	struct vix_ping_result me;

	if (vix_connect(&p->ix.opt, c, e) != VIX_OK)
		return e->kind;
	if (vix_ping(*c, &me, e) != VIX_OK) {
		vix_close(*c);
		*c = NULL;
		return e->kind;
	}
	p->ix.org = me.org;
	return VIX_OK;
}

int
index_client(struct portal *p, const char *actor, vix_client **c,
    struct vix_error *e)
{
	if (p->ix.c == NULL && index_connect(p, &p->ix.c, e) != VIX_OK) {
		log_warnx("index %s: %s: %s", p->conf->server,
		    vix_result_name(e->kind), e->message);
		return e->kind;
	}
	if (vix_set_actor(p->ix.c, actor, e) != VIX_OK)
		return e->kind;
	*c = p->ix.c;
	return VIX_OK;
}

void
index_failed(struct portal *p, const struct vix_error *e)
{
	if (e->kind == VIX_ERR_REFUSED || e->kind == VIX_ERR_ARGS ||
	    p->ix.c == NULL)
		return;
	log_warnx("index %s: %s: %s; connecting again at the next request",
	    p->conf->server, vix_result_name(e->kind), e->message);
	vix_close(p->ix.c);
	p->ix.c = NULL;
}

static void
index_keep(struct portal *p, struct vix_notification *n)
{
	struct portal_index *ix = &p->ix;

	vix_notification_free(&ix->notes[ix->next]);
	ix->notes[ix->next] = *n;
	memset(n, 0, sizeof(*n));
	ix->next = (ix->next + 1) % PORTAL_NOTES_MAX;
	if (ix->nnotes < PORTAL_NOTES_MAX)
		ix->nnotes++;
}

static void
index_sub_lost(struct portal *p, const struct vix_error *e)
{
	struct timeval tv = { SUBSCRIBE_RETRY_S, 0 };

	log_warnx("index %s: notifications: %s: %s; subscribing again in "
	    "%d s", p->conf->server, vix_result_name(e->kind), e->message,
	    SUBSCRIBE_RETRY_S);
	if (p->ix.ev_sub != NULL)
		event_free(p->ix.ev_sub);
	p->ix.ev_sub = NULL;
	vix_close(p->ix.sub);
	p->ix.sub = NULL;
	evtimer_add(p->ix.ev_retry, &tv);
}

/* Take every notification that has arrived (see vix_fd in client.h). */
static void
index_sub_read(evutil_socket_t fd, short what, void *arg)
{
	struct portal *p = arg;
	struct vix_notification n;
	struct vix_error e;
	int rc;

	while ((rc = vix_next_notification(p->ix.sub, 0, &n, &e)) == VIX_OK)
		index_keep(p, &n);
	vix_notification_free(&n);
	if (rc != VIX_ERR_TIMEOUT)
		index_sub_lost(p, &e);
}

static void
index_retry(evutil_socket_t fd, short what, void *arg)
{
	index_subscribe(arg);
}

static void
index_subscribe(struct portal *p)
{
	struct portal_index *ix = &p->ix;
	struct vix_subscribe_result sr;
	struct vix_error e;

	if (ix->sub_refused || index_connect(p, &ix->sub, &e) != VIX_OK) {
		if (!ix->sub_refused)
			index_sub_lost(p, &e);
		return;
	}
	if (vix_subscribe(ix->sub, 0, NULL, 0, &sr, &e) != VIX_OK) {
		vix_subscribe_result_free(&sr);
		if (e.kind == VIX_ERR_REFUSED) {
			log_warnx("index %s: notifications refused: %s; the "
			    "notifications page stays empty", p->conf->server,
			    e.message);
			ix->sub_refused = 1;
			vix_close(ix->sub);
			ix->sub = NULL;
			return;
		}
		index_sub_lost(p, &e);
		return;
	}
	vix_subscribe_result_free(&sr);
	ix->ev_sub = event_new(p->base, vix_fd(ix->sub), EV_READ | EV_PERSIST,
	    index_sub_read, p);
	if (ix->ev_sub == NULL || event_add(ix->ev_sub, NULL) == -1) {
		e = (struct vix_error){ .kind = VIX_ERR_NOMEM };
		snprintf(e.message, sizeof(e.message), "cannot watch it");
		index_sub_lost(p, &e);
		return;
	}
	/* What came with the answer is already taken off the socket. */
	index_sub_read(-1, EV_READ, p);
}

int
index_start(struct portal *p)
{
	struct portal_conf *c = p->conf;
	struct vix_error e;

	p->ix.opt = (struct vix_options){ .server = c->server,
	    .cert_file = c->cert, .key_file = c->key, .ca_file = c->ca,
	    .timeout_ms = (int)c->timeout_ms,
	    .keyholder = c->keyholder[0] != '\0' ? c->keyholder : NULL };
	p->ix.ev_retry = evtimer_new(p->base, index_retry, p);
	if (p->ix.ev_retry == NULL)
		return -1;
	if (index_connect(p, &p->ix.c, &e) != VIX_OK)
		log_warnx("index %s: %s: %s; trying again at the first request",
		    c->server, vix_result_name(e.kind), e.message);
	else
		log_info("index %s: connected as %s (%s)", c->server,
		    p->ix.org.id, p->ix.org.name);
	index_subscribe(p);
	return 0;
}

void
index_stop(struct portal *p)
{
	struct portal_index *ix = &p->ix;
	size_t i;

	if (ix->ev_sub != NULL)
		event_free(ix->ev_sub);
	if (ix->ev_retry != NULL)
		event_free(ix->ev_retry);
	vix_close(ix->sub);
	vix_close(ix->c);
	for (i = 0; i < PORTAL_NOTES_MAX; i++)
		vix_notification_free(&ix->notes[i]);
	memset(ix, 0, sizeof(*ix));
}

const struct vix_notification *
index_note(const struct portal *p, size_t i)
{
	const struct portal_index *ix = &p->ix;

	if (i >= ix->nnotes)
		return NULL;
	return &ix->notes[(ix->next + PORTAL_NOTES_MAX - 1 - i) %
	    PORTAL_NOTES_MAX];
}
