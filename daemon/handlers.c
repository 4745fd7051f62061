/*
 * Request handlers: one function per request type. A handler checks the
 * caller's role and the request's fields on the worker, pseudonymises the
 * BSN at once (and wipes it from the request), and hands writes to the
 * writer; handlers_complete answers when the write has committed.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "errors.h"
#include "handlers.h"
#include "log.h"
#include "orgstats.h"
#include "push.h"
#include "ratelimit.h"
#include "rules.h"
#include "server.h"
#include "vix_version.h"
#include "zone.h"

#define LIST_PAGE_DEFAULT	100
/* The hint for a full writer queue: about what a few commits take. */
#define QUEUE_FULL_RETRY_MS	100
#define LIST_PAGE_MAX		1000

/* Build a response around an optional body and send it. */
static void
respond(struct conn *c, uint64_t id, Vix__V1__Response__BodyCase kind,
    void *body)
{
	Vix__V1__ServerMessage msg = VIX__V1__SERVER_MESSAGE__INIT;
	Vix__V1__Response resp = VIX__V1__RESPONSE__INIT;
	Vix__V1__Status status = VIX__V1__STATUS__INIT;

	status.code = VIX__V1__STATUS__CODE__OK;
	resp.id = id;
	resp.status = &status;
	resp.body_case = kind;
	resp.ping = body;	/* every body member shares the union */
	msg.msg_case = VIX__V1__SERVER_MESSAGE__MSG_RESPONSE;
	msg.response = &resp;
	conn_send(c, &msg);
}

static int
require_role(struct conn *c, uint64_t id, unsigned role, const char *name)
{
	if (c->org->roles & role)
		return 0;
	conn_respond_status(c, id, VIX__V1__STATUS__CODE__PERMISSION_DENIED,
	    "organisation %s does not have the role '%s'", c->org->id, name);
	return -1;
}

static void __attribute__((format(printf, 3, 4)))
invalid(struct conn *c, uint64_t id, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conn_respond_status(c, id, VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
	    "%s", msg);
}

/*
 * Check a BSN and turn it into its pseudonym; the BSN is wiped from the
 * request either way. Returns 0, or -1 after answering.
 */
static int
pseudonymise(struct conn *c, uint64_t id, char *bsn, uint8_t *out)
{
	const char *why;
	int rc = pseudonym_from_bsn(c->w->pseudonyms, bsn, out, &why);

	if (rc == -1)
		invalid(c, id, "%s", why);
	else if (rc == -2)
		conn_respond_status(c, id, VIX__V1__STATUS__CODE__INTERNAL,
		    "%s", why);
	return rc == 0 ? 0 : -1;
}

static struct job *
job_new(struct conn *c, uint64_t id, enum job_kind kind)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		conn_respond_status(c, id, VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED,
		    "out of memory");
		return NULL;
	}
	j->kind = kind;
	j->conn = c;
	j->req_id = id;
	j->received_ns = c->req_t0;
	j->org = c->org;
	j->orgs = orgs_ref(c->orgs);	/* the registry j->org lives in */
	j->now = time(NULL);
	return j;
}

static void
job_free(struct job *j)
{
	if (j->kind == JOB_REGISTER)
		store_view_free(&j->out.reg.view);
	else if (j->kind == JOB_INVOLVED)
		store_view_free(&j->out.inv.view);
	else if (j->kind == JOB_COORDINATE)
		store_view_free(&j->out.coord);
	OPENSSL_cleanse(&j->in, sizeof(j->in));
	orgs_unref(j->orgs);
	free(j);
}

static void
submit(struct conn *c, struct job *j)
{
	int err = writer_submit(c->w->vixd->writer, c->w, j);

	if (err == VIX_E_FULL)	/* a commit or two drains the queue */
		conn_respond_retry(c, j->req_id, QUEUE_FULL_RETRY_MS,
		    "too many requests waiting for the store; retry after "
		    "%u ms", QUEUE_FULL_RETRY_MS);
	else if (err != 0)
		conn_respond_status(c, j->req_id, err_to_status(err),
		    "the index is shutting down");
	if (err != 0) {
		job_free(j);
		return;
	}
	conn_job_submitted(c);
}

/* The contact is stored without white space around its fields. */
static void
register_trim(Vix__V1__Register *r)
{
	if (r->contact == NULL)
		return;
	if (r->contact->name != NULL)
		rules_trim(r->contact->name);
	if (r->contact->phone != NULL)
		rules_trim(r->contact->phone);
	if (r->contact->email != NULL)
		rules_trim(r->contact->email);
}

static int
register_fields(struct conn *c, uint64_t id, Vix__V1__Register *r,
    struct store_register_in *in)
{
	const Vix__V1__Contact *ct = r->contact;
	const char *why;
	struct expiry exp;
	int32_t birth;

	if (rules_parse_date(r->birth_date, &birth) == -1) {
		invalid(c, id, "birth_date: must be a real date as YYYY-MM-DD");
		return -1;
	}
	if (rules_expiry(&zone_calendar, in->now, birth, r->duration_days,
	    c->w->vixd->cfg.max_signal_days, &exp, &why) == -1 ||
	    rules_check_contact(ct ? ct->name : "", ct ? ct->phone : "",
	    ct ? ct->email : "", &why) == -1 ||
	    rules_check_client_ref(r->client_ref, &why) == -1 ||
	    rules_check_municipality(r->municipality, &why) == -1) {
		invalid(c, id, "%s", why);
		return -1;
	}
	register_trim(r);
	in->expires = exp.expires;
	in->bound = exp.bound;
	snprintf(in->contact.name, sizeof(in->contact.name), "%s", ct->name);
	snprintf(in->contact.phone, sizeof(in->contact.phone), "%s", ct->phone);
	snprintf(in->contact.email, sizeof(in->contact.email), "%s", ct->email);
	snprintf(in->client_ref, sizeof(in->client_ref), "%s", r->client_ref);
	snprintf(in->municipality, sizeof(in->municipality), "%s",
	    r->municipality);
	return 0;
}

/*
 * No BSN in the free text of a registration (its own, or any other): the
 * index stores and sends these fields to other organisations. Checked
 * before the BSN is wiped; a refused field is wiped too. Returns 0, or -1
 * after answering.
 */
static int
register_free_text(struct conn *c, uint64_t id, Vix__V1__Register *r)
{
	Vix__V1__Contact *ct = r->contact;
	struct { const char *field; char *text; } f[] = {
		{ "client_ref", r->client_ref },
		{ "contact.name", ct ? ct->name : NULL },
		{ "contact.phone", ct ? ct->phone : NULL },
		{ "contact.email", ct ? ct->email : NULL },
	};
	const char *why;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (rules_check_no_bsn(f[i].field, f[i].text, r->bsn,
		    &why) == -1) {
			OPENSSL_cleanse(f[i].text, strlen(f[i].text));
			invalid(c, id, "%s", why);
			return -1;
		}
	return 0;
}

static void
handle_register(struct conn *c, Vix__V1__Request *req)
{
	Vix__V1__Register *r = req->register_;
	struct job *j;

	if (require_role(c, req->id, ROLE_REGISTER, "register") == -1 ||
	    register_free_text(c, req->id, r) == -1 ||
	    (j = job_new(c, req->id, JOB_REGISTER)) == NULL) {
		if (r->bsn != NULL)
			OPENSSL_cleanse(r->bsn, strlen(r->bsn));
		return;
	}
	j->in.reg.org = c->org;
	j->in.reg.orgs = j->orgs;
	j->in.reg.now = j->now;
	j->in.reg.max_new_per_day = atomic_load(&c->w->vixd->max_new_per_day);
	if (pseudonymise(c, req->id, r->bsn, j->in.reg.pseudonym) == -1 ||
	    register_fields(c, req->id, r, &j->in.reg) == -1) {
		job_free(j);
		return;
	}
	submit(c, j);
}

/* The store's reason for a vix.v1.Withdraw.Reason; 0 for another. */
static enum store_withdraw_reason
withdraw_reason(Vix__V1__Withdraw__Reason r)
{
	switch (r) {
	case VIX__V1__WITHDRAW__REASON__UNJUSTIFIED:
		return STORE_WITHDRAW_UNJUSTIFIED;
	case VIX__V1__WITHDRAW__REASON__RISK_RESOLVED:
		return STORE_WITHDRAW_RISK_RESOLVED;
	default:
		return 0;
	}
}

static void
handle_withdraw(struct conn *c, Vix__V1__Request *req)
{
	Vix__V1__Withdraw *r = req->withdraw;
	int by_bsn = r->bsn != NULL && r->bsn[0] != '\0';
	enum store_withdraw_reason reason;
	struct job *j;

	if (require_role(c, req->id, ROLE_REGISTER, "register") == -1)
		goto wipe;
	if (by_bsn == (r->signal_id != 0)) {
		invalid(c, req->id, "signal_id, bsn: give exactly one of them");
		goto wipe;
	}
	if ((reason = withdraw_reason(r->reason)) == 0) {
		invalid(c, req->id, "reason: must be UNJUSTIFIED or "
		    "RISK_RESOLVED");
		goto wipe;
	}
	if ((j = job_new(c, req->id, JOB_WITHDRAW)) == NULL)
		goto wipe;
	j->in.wd = (struct store_withdraw_in){ .org = c->org, .orgs = j->orgs,
	    .now = j->now, .signal_id = r->signal_id, .reason = reason };
	if (by_bsn && pseudonymise(c, req->id, r->bsn, j->in.wd.pseudonym)) {
		job_free(j);
		return;
	}
	submit(c, j);
	return;
wipe:
	if (r->bsn != NULL)
		OPENSSL_cleanse(r->bsn, strlen(r->bsn));
}

static void
handle_involved(struct conn *c, Vix__V1__Request *req)
{
	Vix__V1__Involved *r = req->involved;
	struct job *j;

	if (require_role(c, req->id, ROLE_REGISTER, "register") == -1 ||
	    (j = job_new(c, req->id, JOB_INVOLVED)) == NULL) {
		if (r->bsn != NULL)
			OPENSSL_cleanse(r->bsn, strlen(r->bsn));
		return;
	}
	if (pseudonymise(c, req->id, r->bsn, j->in.pseudonym) == -1) {
		job_free(j);
		return;
	}
	submit(c, j);
}

static void
handle_list(struct conn *c, Vix__V1__Request *req)
{
	Vix__V1__ListReply reply = VIX__V1__LIST_REPLY__INIT;
	Vix__V1__SignalSummary *msgs = NULL, **ptrs = NULL;
	struct store_summary *rows = NULL;
	size_t max = req->list->page_size ? req->list->page_size :
	    LIST_PAGE_DEFAULT, n = 0;
	int err;

	if (require_role(c, req->id, ROLE_REGISTER, "register") == -1)
		return;
	if (max > LIST_PAGE_MAX) {
		invalid(c, req->id, "page_size: must be at most %d",
		    LIST_PAGE_MAX);
		return;
	}
	if ((rows = calloc(max, sizeof(*rows))) == NULL ||
	    (msgs = calloc(max, sizeof(*msgs))) == NULL ||
	    (ptrs = calloc(max, sizeof(*ptrs))) == NULL)
		err = VIX_E_STORE;
	else
		err = store_list(c->w->reader, c->org->sid, req->list->after,
		    rows, max, &n, &reply.next_after);
	if (err != 0) {
		conn_respond_status(c, req->id, err_to_status(err),
		    "cannot list signals (%s)", err_name(err));
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		vix__v1__signal_summary__init(&msgs[i]);
		msgs[i].signal_id = rows[i].signal_id;
		msgs[i].client_ref = rows[i].client_ref;
		msgs[i].created = rows[i].created;
		msgs[i].expires = rows[i].expires;
		msgs[i].match_id = rows[i].match_id;
		msgs[i].expiry_bound = rows[i].bound;
		ptrs[i] = &msgs[i];
	}
	reply.n_signals = n;
	reply.signals = ptrs;
	respond(c, req->id, VIX__V1__RESPONSE__BODY_LIST, &reply);
done:
	free(rows);
	free(msgs);
	free(ptrs);
}

#define SUBSCRIBE_MAX	1000	/* recipients on one subscription */

/* The recipients asked for, checked against the delegation in orgs.conf. */
static struct subscription *
subscription_new(struct conn *c, uint64_t id, const Vix__V1__Subscribe *r)
{
	size_t n = r->n_recipients ? r->n_recipients : 1;
	struct subscription *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->r = calloc(n, sizeof(*s->r))) == NULL) {
		free(s);
		conn_respond_status(c, id, VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED,
		    "out of memory");
		return NULL;
	}
	s->conn = c;
	s->window = c->w->vixd->cfg.subscribe_window;
	for (size_t i = 0; i < n; i++) {
		const struct org *o = c->org;
		const char *why;

		if (r->n_recipients && rules_check_text("recipients",
		    r->recipients[i], &why) == -1) {
			invalid(c, id, "%s", why);
			goto fail;
		}
		if (r->n_recipients)
			o = orgs_by_id(c->orgs, r->recipients[i]);
		if (o == NULL) {
			invalid(c, id, "recipients: no organisation '%.32s'",
			    r->recipients[i]);
			goto fail;
		}
		if (!orgs_may_receive_for(c->org, o)) {
			conn_respond_status(c, id,
			    VIX__V1__STATUS__CODE__PERMISSION_DENIED,
			    "recipients: %s has not delegated its notifications "
			    "to %s (receives_for in orgs.conf)", o->id,
			    c->org->id);
			goto fail;
		}
		if (notify_find(s, o->id) == NULL)
			s->r[s->n++].org = o;
	}
	return s;
fail:
	notify_free(s);
	return NULL;
}

static void
handle_subscribe(struct conn *c, Vix__V1__Request *req)
{
	Vix__V1__Subscribe *r = req->subscribe;
	Vix__V1__SubscribeReply reply = VIX__V1__SUBSCRIBE_REPLY__INIT;
	Vix__V1__SubscribeReply__Position *pos = NULL, **ptrs = NULL;
	struct subscription *s;
	uint64_t last;

	if (require_role(c, req->id, ROLE_SUBSCRIBE, "subscribe") == -1)
		return;
	if (c->sub != NULL) {
		conn_respond_status(c, req->id,
		    VIX__V1__STATUS__CODE__FAILED_PRECONDITION,
		    "already subscribed on this connection");
		return;
	}
	if (r->n_recipients > SUBSCRIBE_MAX) {
		invalid(c, req->id, "recipients: at most %d", SUBSCRIBE_MAX);
		return;
	}
	if ((s = subscription_new(c, req->id, r)) == NULL)
		return;
	if ((pos = calloc(s->n, sizeof(*pos))) == NULL ||
	    (ptrs = calloc(s->n, sizeof(*ptrs))) == NULL)
		goto fail;
	for (size_t i = 0; i < s->n; i++) {
		struct sub_recipient *sr = &s->r[i];

		if (store_position(c->w->reader, c->org->sid, sr->org->sid,
		    &sr->acked, &last) != 0)
			goto fail;
		sr->base = r->from_seq ? r->from_seq - 1 : sr->acked;
		sr->sent = sr->base;
		vix__v1__subscribe_reply__position__init(&pos[i]);
		pos[i].recipient = (char *)sr->org->id;
		pos[i].acked = sr->acked;
		pos[i].last = last;
		ptrs[i] = &pos[i];
	}
	reply.n_positions = s->n;
	reply.positions = ptrs;
	respond(c, req->id, VIX__V1__RESPONSE__BODY_SUBSCRIBE, &reply);
	c->sub = s;
	TAILQ_INSERT_TAIL(&c->w->subs, s, entry);
	metrics_subscribers(&c->w->vixd->stats.metrics, c->w->idx, 1);
	conn_stream_mode(c);
	log_info("conn %llu (%s): subscribed for %zu recipient%s",
	    (unsigned long long)c->id, c->org->id, s->n, s->n == 1 ? "" : "s");
	notify_pump(s);
	free(pos);
	free(ptrs);
	return;
fail:
	conn_respond_status(c, req->id, VIX__V1__STATUS__CODE__INTERNAL,
	    "cannot read subscription positions");
	notify_free(s);
	free(pos);
	free(ptrs);
}

static void
handle_ack(struct conn *c, Vix__V1__Request *req)
{
	Vix__V1__Ack *r = req->ack;
	struct sub_recipient *sr;
	const char *why;
	struct job *j;

	if (rules_check_text("recipient", r->recipient, &why) == -1) {
		invalid(c, req->id, "%s", why);
		return;
	}
	if (c->sub == NULL || (sr = notify_find(c->sub, r->recipient)) == NULL) {
		conn_respond_status(c, req->id,
		    VIX__V1__STATUS__CODE__FAILED_PRECONDITION,
		    "recipient: not subscribed for '%.32s' on this connection",
		    r->recipient);
		return;
	}
	if (r->seq == 0 || r->seq > sr->sent) {
		invalid(c, req->id, "seq: %llu was not delivered on this "
		    "connection (last sent %llu)", (unsigned long long)r->seq,
		    (unsigned long long)sr->sent);
		return;
	}
	if ((j = job_new(c, req->id, JOB_ACK)) == NULL)
		return;
	j->in.ack.recipient = sr->org->sid;
	j->in.ack.seq = r->seq;
	submit(c, j);
}

/* The store's action for a vix.v1.Coordinate.Action; 0 for another. */
static enum store_coordinate_action
coordinate_action(Vix__V1__Coordinate__Action a)
{
	switch (a) {
	case VIX__V1__COORDINATE__ACTION__CLAIM:
		return STORE_COORDINATE_CLAIM;
	case VIX__V1__COORDINATE__ACTION__RELEASE:
		return STORE_COORDINATE_RELEASE;
	case VIX__V1__COORDINATE__ACTION__MARK_COORDINATED:
		return STORE_COORDINATE_DONE;
	default:
		return 0;
	}
}

static void
handle_coordinate(struct conn *c, Vix__V1__Request *req)
{
	Vix__V1__Coordinate *r = req->coordinate;
	enum store_coordinate_action action;
	struct job *j;

	if (require_role(c, req->id, ROLE_REGISTER, "register") == -1)
		return;
	if (r->match_id == 0) {
		invalid(c, req->id, "match_id: is required");
		return;
	}
	if ((action = coordinate_action(r->action)) == 0) {
		invalid(c, req->id, "action: must be CLAIM, RELEASE or "
		    "MARK_COORDINATED");
		return;
	}
	if ((j = job_new(c, req->id, JOB_COORDINATE)) == NULL)
		return;
	j->in.coord = (struct store_coordinate_in){ .org = c->org,
	    .orgs = j->orgs, .now = j->now, .match_id = r->match_id,
	    .action = action };
	submit(c, j);
}

static void
handle_ping(struct conn *c, Vix__V1__Request *req)
{
	Vix__V1__PingReply reply = VIX__V1__PING_REPLY__INIT;
	Vix__V1__Organisation org = VIX__V1__ORGANISATION__INIT;

	org.id = (char *)c->org->id;
	org.name = (char *)c->org->name;
	org.oin = (char *)c->org->oin;
	reply.server_version = (char *)VIX_VERSION;
	reply.organisation = &org;
	respond(c, req->id, VIX__V1__RESPONSE__BODY_PING, &reply);
}

/* The BSN a request carries, if any, to wipe when it is not handled. */
static char *
request_bsn(Vix__V1__Request *req)
{
	switch (req->body_case) {
	case VIX__V1__REQUEST__BODY_REGISTER:	return req->register_->bsn;
	case VIX__V1__REQUEST__BODY_WITHDRAW:	return req->withdraw->bsn;
	case VIX__V1__REQUEST__BODY_INVOLVED:	return req->involved->bsn;
	default:				return NULL;
	}
}

/*
 * Over its organisation's rate_limit, a request is refused with a retry
 * hint and not applied. Acks are not counted: they only confirm
 * notifications the index sent (at most the window). Anything else a push
 * target sends is counted like any request, though it is refused.
 */
static int
rate_limited(struct conn *c, Vix__V1__Request *req)
{
	struct ratelimit_refusal why;
	char *bsn;

	if (req->body_case == VIX__V1__REQUEST__BODY_ACK ||
	    ratelimit_take(c->w->vixd->ratelimit, c->org->sid, c->req_t0,
	    &why) == 0)
		return 0;
	if ((bsn = request_bsn(req)) != NULL)
		OPENSSL_cleanse(bsn, strlen(bsn));
	metrics_rate_limited(&c->w->vixd->stats.metrics);
	if (why.first)
		log_warnx("organisation %s is over its rate limit of %u "
		    "requests/s: refusing with RESOURCE_EXHAUSTED (said at most "
		    "once a minute)", c->org->id, why.rate);
	conn_respond_retry(c, req->id, why.retry_ms, "organisation %s over "
	    "its rate limit of %u requests/s; retry after %" PRIu32 " ms",
	    c->org->id, why.rate, why.retry_ms);
	return 1;
}

/*
 * A connection vixd dialled (push) delivers notifications: the partner
 * answers with Acks and may ask nothing else on it. Returns 1 after
 * refusing.
 */
static int
push_refused(struct conn *c, Vix__V1__Request *req)
{
	char *bsn;

	if (c->pusher == NULL || req->body_case == VIX__V1__REQUEST__BODY_ACK)
		return 0;
	if ((bsn = request_bsn(req)) != NULL)
		OPENSSL_cleanse(bsn, strlen(bsn));
	conn_respond_status(c, req->id, VIX__V1__STATUS__CODE__PERMISSION_DENIED,
	    "this connection was dialled by the index to push notifications "
	    "to %s: only Ack is accepted on it (connect to the index to send "
	    "other requests)", c->org->id);
	return 1;
}

void
handlers_dispatch(struct conn *c, Vix__V1__Request *req)
{
	if (rate_limited(c, req) || push_refused(c, req))
		return;
	switch (req->body_case) {
	case VIX__V1__REQUEST__BODY_PING:
		handle_ping(c, req);
		break;
	case VIX__V1__REQUEST__BODY_REGISTER:
		handle_register(c, req);
		break;
	case VIX__V1__REQUEST__BODY_WITHDRAW:
		handle_withdraw(c, req);
		break;
	case VIX__V1__REQUEST__BODY_INVOLVED:
		handle_involved(c, req);
		break;
	case VIX__V1__REQUEST__BODY_LIST:
		handle_list(c, req);
		break;
	case VIX__V1__REQUEST__BODY_SUBSCRIBE:
		handle_subscribe(c, req);
		break;
	case VIX__V1__REQUEST__BODY_ACK:
		handle_ack(c, req);
		break;
	case VIX__V1__REQUEST__BODY_COORDINATE:
		handle_coordinate(c, req);
		break;
	case VIX__V1__REQUEST__BODY__NOT_SET:
		if (req->base.n_unknown_fields > 0) {
			conn_respond_status(c, req->id,
			    VIX__V1__STATUS__CODE__UNIMPLEMENTED,
			    "request type not known to this server "
			    "(version %s)", VIX_VERSION);
			break;
		}
		conn_respond_status(c, req->id,
		    VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
		    "request has no body (expected one of: ping, register, "
		    "withdraw, involved, list, subscribe, ack, coordinate)");
		break;
	default:
		conn_respond_status(c, req->id,
		    VIX__V1__STATUS__CODE__UNIMPLEMENTED,
		    "request type %d is not known to this server",
		    (int)req->body_case);
		break;
	}
}

/* Storage for a Match message built from a store view. */
struct match_msg {
	Vix__V1__Match		  match;
	Vix__V1__Involvement	 *inv;
	Vix__V1__Involvement	**ptrs;
	Vix__V1__Contact	 *contacts;
};

static const char *
org_name(const struct orgs *orgs, uint32_t sid, const char **id)
{
	const struct org *o = orgs_by_sid(orgs, sid);

	*id = o ? o->id : "";
	return o ? o->name : "(no longer registered)";
}

static int
match_msg_build(struct match_msg *m, const struct store_view *v,
    const struct orgs *orgs)
{
	size_t n = v->n_others;
	const char *id;

	memset(m, 0, sizeof(*m));
	vix__v1__match__init(&m->match);
	if (n > 0 && ((m->inv = calloc(n, sizeof(*m->inv))) == NULL ||
	    (m->ptrs = calloc(n, sizeof(*m->ptrs))) == NULL ||
	    (m->contacts = calloc(n, sizeof(*m->contacts))) == NULL))
		return -1;
	m->match.match_id = v->match.id;
	m->match.created = v->match.created;
	m->match.coordinated = v->match.coordinated;
	m->match.coordinator_name = (char *)org_name(orgs,
	    v->match.coordinator, &id);
	m->match.coordinator = (char *)id;
	for (size_t i = 0; i < n; i++) {
		const struct store_party *p = &v->others[i];

		vix__v1__involvement__init(&m->inv[i]);
		vix__v1__contact__init(&m->contacts[i]);
		m->contacts[i].name = (char *)p->contact.name;
		m->contacts[i].phone = (char *)p->contact.phone;
		m->contacts[i].email = (char *)p->contact.email;
		m->inv[i].org_name = (char *)org_name(orgs, p->org, &id);
		m->inv[i].org_id = (char *)id;
		m->inv[i].contact = &m->contacts[i];
		m->inv[i].since = p->since;
		m->ptrs[i] = &m->inv[i];
	}
	m->match.n_others = n;
	m->match.others = m->ptrs;
	return 0;
}

static void
match_msg_free(struct match_msg *m)
{
	free(m->inv);
	free(m->ptrs);
	free(m->contacts);
}

static void
complete_register(struct conn *c, struct job *j, struct match_msg *m)
{
	Vix__V1__RegisterReply reply = VIX__V1__REGISTER_REPLY__INIT;
	const struct store_register_out *o = &j->out.reg;

	reply.signal_id = o->signal_id;
	reply.status = o->refreshed ? VIX__V1__REGISTER_REPLY__STATUS__REFRESHED
	    : VIX__V1__REGISTER_REPLY__STATUS__CREATED;
	reply.expires = j->in.reg.expires;
	reply.expiry_bound = j->in.reg.bound;
	if (o->view.has_match)
		reply.match = &m->match;
	respond(c, j->req_id, VIX__V1__RESPONSE__BODY_REGISTER, &reply);
}

static void
complete_withdraw(struct conn *c, struct job *j)
{
	Vix__V1__WithdrawReply reply = VIX__V1__WITHDRAW_REPLY__INIT;

	reply.signal_id = j->out.wd.signal_id;
	reply.archived = j->out.wd.archived;
	reply.match_id = j->out.wd.match_id;
	reply.match_closed = j->out.wd.change == MATCH_CLOSED;
	respond(c, j->req_id, VIX__V1__RESPONSE__BODY_WITHDRAW, &reply);
}

static void
complete_involved(struct conn *c, struct job *j, struct match_msg *m)
{
	Vix__V1__InvolvedReply reply = VIX__V1__INVOLVED_REPLY__INIT;

	reply.signal_id = j->out.inv.signal_id;
	if (j->out.inv.view.has_match)
		reply.match = &m->match;
	respond(c, j->req_id, VIX__V1__RESPONSE__BODY_INVOLVED, &reply);
}

static void
complete_ack(struct conn *c, struct job *j)
{
	Vix__V1__AckReply reply = VIX__V1__ACK_REPLY__INIT;

	reply.acked = j->out.acked;
	if (c->pusher == NULL)	/* a push target sends acks, takes no replies */
		respond(c, j->req_id, VIX__V1__RESPONSE__BODY_ACK, &reply);
	else
		push_conn_acked(c);
	/* The window opened: send what waits. */
	for (size_t i = 0; c->sub != NULL && i < c->sub->n; i++)
		if (c->sub->r[i].org->sid == j->in.ack.recipient) {
			if (j->out.acked > c->sub->r[i].acked)
				c->sub->r[i].acked = j->out.acked;
			notify_pump(c->sub);
		}
}

static void
complete_coordinate(struct conn *c, struct job *j, struct match_msg *m)
{
	Vix__V1__CoordinateReply reply = VIX__V1__COORDINATE_REPLY__INIT;

	reply.match = &m->match;
	respond(c, j->req_id, VIX__V1__RESPONSE__BODY_COORDINATE, &reply);
}

static void
complete_ok(struct conn *c, struct job *j)
{
	const struct store_view *v = j->kind == JOB_REGISTER ?
	    &j->out.reg.view : j->kind == JOB_COORDINATE ? &j->out.coord :
	    &j->out.inv.view;
	struct match_msg m;

	if (j->kind == JOB_WITHDRAW) {
		complete_withdraw(c, j);
		return;
	}
	if (j->kind == JOB_ACK) {
		complete_ack(c, j);
		return;
	}
	if (match_msg_build(&m, v, j->orgs) == -1)
		conn_respond_status(c, j->req_id, VIX__V1__STATUS__CODE__INTERNAL,
		    "out of memory building the answer; the change was stored");
	else if (j->kind == JOB_REGISTER)
		complete_register(c, j, &m);
	else if (j->kind == JOB_COORDINATE)
		complete_coordinate(c, j, &m);
	else
		complete_involved(c, j, &m);
	match_msg_free(&m);
}

/* The type label a write is counted under in /metrics. */
static enum metrics_req
job_metrics_type(const struct job *j)
{
	switch (j->kind) {
	case JOB_REGISTER:	return METRICS_REQ_REGISTER;
	case JOB_WITHDRAW:	return METRICS_REQ_WITHDRAW;
	case JOB_INVOLVED:	return METRICS_REQ_INVOLVED;
	case JOB_ACK:		return METRICS_REQ_ACK;
	case JOB_COORDINATE:	return METRICS_REQ_COORDINATE;
	default:		return METRICS_REQ_NONE;
	}
}

/*
 * What a finished write adds to its organisation's churn counters. The
 * first refusal at the daily cap of a day is logged (the message says the
 * rest); later ones are counted and audited.
 */
static void
job_orgstats(struct orgstats *s, const struct job *j)
{
	int64_t day = j->now / 86400;
	uint32_t sid = j->org->sid;

	if (j->kind == JOB_REGISTER && j->err == VIX_E_LIMIT &&
	    orgstats_add(s, sid, ORGSTAT_DAILY_CAP, day))
		log_warnx("%s (said once a day)", j->why);
	if (j->err != 0)
		return;
	if (j->kind == JOB_REGISTER && !j->out.reg.refreshed)
		(void)orgstats_add(s, sid, ORGSTAT_CREATED, day);
	if (j->kind != JOB_WITHDRAW ||
	    j->in.wd.reason != STORE_WITHDRAW_UNJUSTIFIED)
		return;
	(void)orgstats_add(s, sid, ORGSTAT_UNJUSTIFIED, day);
	if (j->now - j->out.wd.created < ORGSTATS_QUICK_SECONDS)
		(void)orgstats_add(s, sid, ORGSTAT_UNJUSTIFIED_QUICK, day);
}

void
handlers_complete(struct job *j)
{
	struct conn *c = j->conn;

	job_orgstats(c->w->vixd->orgstats, j);
	if (conn_is_open(c)) {
		conn_request_begin(c, job_metrics_type(j), j->received_ns);
		if (j->err != 0)
			conn_respond_status(c, j->req_id, err_to_status(j->err),
			    "%s", j->why);
		else
			complete_ok(c, j);
		conn_request_begin(c, METRICS_REQ_NONE, 0);
	}
	job_free(j);
	conn_job_returned(c);
}

/* A job without a connection (the sweep) is back; on the writer thread. */
void
handlers_complete_detached(void *arg, struct job *j)
{
	const struct store_sweep_out *o = &j->out.sweep;
	struct vixd_stats *st = &((struct vixd *)arg)->stats;

	atomic_fetch_add(&st->sweeps, 1);
	if (j->err == 0) {
		atomic_fetch_add(&st->signals_expired, o->expired);
		atomic_fetch_add(&st->escalations, o->escalated);
		atomic_fetch_add(&st->archive_purged, o->purged);
		atomic_fetch_add(&st->outbox_pruned_acked, o->pruned);
		atomic_fetch_add(&st->outbox_pruned_retention, o->pruned_unacked);
	} else
		atomic_fetch_add(&st->sweep_failures, 1);
	if (j->err != 0)
		log_warnx("sweep failed: %s", j->why);
	else if (o->expired || o->escalated || o->purged || o->pruned ||
	    o->pruned_unacked)
		log_info("sweep: %zu signals expired, %zu escalations, %zu "
		    "archived signals purged, %zu delivered and %zu "
		    "undelivered outbox rows pruned", o->expired, o->escalated,
		    o->purged, o->pruned, o->pruned_unacked);
	if (o->pruned_unacked > 0)
		log_warnx("sweep: %zu notifications were never acknowledged "
		    "within outbox_retention and are gone", o->pruned_unacked);
	job_free(j);
}
