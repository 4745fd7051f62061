/*
 * Request handlers: one function per request type. A handler checks the
 * caller's role and the request's fields on the worker, pseudonymises the
 * BSN at once (and wipes it from the request), and hands writes to the
 * writer as a job whose ops (handlers_job_ops) apply it there, say why
 * the store refused it, and answer when it has committed.
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
#include "rules.h"
#include "session.h"
#include "vixd.h"
#include "vix_version.h"
#include "zone.h"

#define LIST_PAGE_DEFAULT	100
/* The hint for a full writer queue: about what a few commits take. */
#define QUEUE_FULL_RETRY_MS	100
#define LIST_PAGE_MAX		1000

/* Build a response around an optional body and send it. */
static void
respond(struct session *s, uint64_t id, Vix__V1__Response__BodyCase kind,
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
	session_send(s, &msg);
}

static int
require_role(struct session *s, uint64_t id, unsigned role, const char *name)
{
	if (s->org->roles & role)
		return 0;
	session_respond_status(s, id, VIX__V1__STATUS__CODE__PERMISSION_DENIED,
	    "organisation %s does not have the role '%s'", s->org->id, name);
	return -1;
}

static void __attribute__((format(printf, 3, 4)))
invalid(struct session *s, uint64_t id, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	session_respond_status(s, id, VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
	    "%s", msg);
}

/* How a pseudonym could not be made (pseudonym_make). */
enum pseudonym_fail {
	PSEUDONYM_OK,
	PSEUDONYM_INVALID,	/* the request's fault: INVALID_ARGUMENT */
	PSEUDONYM_STALE,	/* the key version moved on: FAILED_PRECONDITION */
	PSEUDONYM_INTERNAL,
};

/*
 * A pseudonym from a BSN (pseudonyms = server: checked and turned into its
 * keyed pseudonym, the BSN wiped from the request either way) or from the
 * client's blind pseudonym (pseudonyms = blind: a BSN is refused,
 * unread). msg names the field as "bsn: ..." or "pseudonym...: ...".
 */
static enum pseudonym_fail
pseudonym_make(struct session *s, char *bsn, const Vix__V1__Pseudonym *pb,
    struct job_blind *jb, uint8_t *out, char *msg, size_t len)
{
	struct blind *b = s->w->vixd->blind;
	struct blind_keys keys;
	const char *why;
	int rc;

	if (b == NULL && pb != NULL) {
		if (bsn != NULL)
			OPENSSL_cleanse(bsn, strlen(bsn));
		snprintf(msg, len, "pseudonym: this index makes its own "
		    "pseudonyms from the BSN (pseudonyms = server); send bsn, "
		    "and no key holder in the client");
		return PSEUDONYM_INVALID;
	}
	if (b == NULL) {
		rc = pseudonym_from_bsn(s->w->pseudonyms, bsn, out, &why);
		if (rc != 0)
			snprintf(msg, len, "%s", why);
		return rc == 0 ? PSEUDONYM_OK : rc == -1 ? PSEUDONYM_INVALID :
		    PSEUDONYM_INTERNAL;
	}
	if (bsn != NULL && bsn[0] != '\0') {
		OPENSSL_cleanse(bsn, strlen(bsn));
		snprintf(msg, len, "bsn: this index takes only blind pseudonyms "
		    "(pseudonyms = blind); configure the client with the key "
		    "holder's address and send pseudonym");
		return PSEUDONYM_INVALID;
	}
	if (pb == NULL) {
		snprintf(msg, len, "pseudonym: required (this index takes "
		    "blind pseudonyms from the key holder, never a BSN)");
		return PSEUDONYM_INVALID;
	}
	blind_get(b, &keys);
	rc = blind_pseudonym(&keys, pb->element.data, pb->element.len,
	    pb->key_version, pb->key_id.data, pb->key_id.len, out,
	    jb->old, &jb->has_old, msg, len);
	if (rc != 0)
		return rc == -1 ? PSEUDONYM_INVALID : PSEUDONYM_STALE;
	jb->keys = b;
	jb->gen = keys.gen;
	memcpy(jb->element, pb->element.data, BLIND_ELEMENT_LEN);
	jb->version = pb->key_version;
	memcpy(jb->key_id, pb->key_id.data, BLIND_KEY_ID_LEN);
	return PSEUDONYM_OK;
}

static void
pseudonym_refuse(struct session *s, uint64_t id, enum pseudonym_fail f,
    const char *msg)
{
	Vix__V1__Status__Code code = VIX__V1__STATUS__CODE__INVALID_ARGUMENT;

	if (f == PSEUDONYM_STALE)
		code = VIX__V1__STATUS__CODE__FAILED_PRECONDITION;
	else if (f == PSEUDONYM_INTERNAL)
		code = VIX__V1__STATUS__CODE__INTERNAL;
	session_respond_status(s, id, code, "%s", msg);
}

/* The youth's pseudonym (pseudonym_make). Returns 0, or -1 after answering. */
static int
pseudonymise(struct session *s, uint64_t id, char *bsn,
    const Vix__V1__Pseudonym *pb, struct job_blind *jb, uint8_t *out)
{
	char msg[256];
	enum pseudonym_fail f;

	if ((f = pseudonym_make(s, bsn, pb, jb, out, msg, sizeof(msg))) ==
	    PSEUDONYM_OK)
		return 0;
	pseudonym_refuse(s, id, f, msg);
	return -1;
}

static struct job *
job_new(struct session *s, const Vix__V1__Request *req, enum job_kind kind)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		session_respond_status(s, req->id,
		    VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	j->ops = &handlers_job_ops;
	j->kind = kind;
	j->sess = s;
	j->req_id = req->id;
	/* Checked by request_actor; the audit records of the job name it. */
	snprintf(j->professional, sizeof(j->professional), "%s",
	    req->actor != NULL ? req->actor : "");
	j->received_ns = s->req_t0;
	j->org = s->org;
	j->orgs = orgs_ref(s->orgs);	/* the registry j->org lives in */
	j->now = time(NULL);
	return j;
}

static void job_reset(struct job *);

static void
job_free(struct job *j)
{
	job_reset(j);
	OPENSSL_cleanse(&j->in, sizeof(j->in));
	orgs_unref(j->orgs);
	free(j);
}

static void
submit(struct session *s, struct job *j)
{
	int err = writer_submit(s->w->vixd->writer, &s->w->home, j);

	if (err == VIX_E_FULL)	/* a commit or two drains the queue */
		session_respond_retry(s, j->req_id, QUEUE_FULL_RETRY_MS,
		    "too many requests waiting for the store; retry after "
		    "%u ms", QUEUE_FULL_RETRY_MS);
	else if (err != 0)
		session_respond_status(s, j->req_id, err_to_status(err),
		    "the index is shutting down");
	if (err != 0) {
		job_free(j);
		return;
	}
	conn_job_submitted(s->conn);
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
register_fields(struct session *s, uint64_t id, Vix__V1__Register *r,
    struct store_register_in *in)
{
	const Vix__V1__Contact *ct = r->contact;
	const char *why;
	struct expiry exp;
	int32_t birth;

	if (rules_parse_date(r->birth_date, &birth) == -1) {
		invalid(s, id, "birth_date: must be a real date as YYYY-MM-DD");
		return -1;
	}
	if (rules_expiry(&zone_calendar, in->now, birth, r->duration_days,
	    s->w->vixd->cfg.policy.max_signal_days,
	    s->w->vixd->cfg.policy.max_age, &exp, &why) == -1 ||
	    rules_check_contact(ct ? ct->name : "", ct ? ct->phone : "",
	    ct ? ct->email : "", &why) == -1 ||
	    rules_check_client_ref(r->client_ref, &why) == -1 ||
	    rules_check_municipality(r->municipality, &why) == -1) {
		invalid(s, id, "%s", why);
		return -1;
	}
	register_trim(r);
	in->expires = exp.expires;
	in->bound = exp.bound;
	in->policy = atomic_load(&s->w->vixd->policy_id);
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
register_free_text(struct session *s, uint64_t id, Vix__V1__Register *r)
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
			invalid(s, id, "%s", why);
			return -1;
		}
	return 0;
}

/* Every parent BSN of r is wiped. */
static void
register_parents_wipe(Vix__V1__Register *r)
{
	for (size_t i = 0; i < r->n_parent_bsns; i++)
		if (r->parent_bsns[i] != NULL)
			OPENSSL_cleanse(r->parent_bsns[i],
			    strlen(r->parent_bsns[i]));
}

/* A parent's pseudonym could not be made: msg names parent i's field. */
static void
register_parent_refuse(struct session *s, uint64_t id, const char *field,
    size_t i, enum pseudonym_fail f, const char *msg)
{
	char named[320];
	const char *rest = msg;

	/* "bsn: ..." or "pseudonym.key_version: ..." of the youth's check */
	if (strncmp(msg, "bsn", 3) == 0)
		rest = msg + 3;
	else if (strncmp(msg, "pseudonym", 9) == 0)
		rest = msg + 9;
	snprintf(named, sizeof(named), "%s[%zu]%s", field, i, rest);
	pseudonym_refuse(s, id, f, named);
}

/*
 * The parents a registration names, for the family match: each made a
 * pseudonym as the youth is, distinct and none the youth. Every parent BSN
 * is wiped. Returns 0, or -1 after answering.
 */
static int
register_parents(struct session *s, uint64_t id, Vix__V1__Register *r,
    struct job *j)
{
	struct store_register_in *in = &j->in.reg;
	size_t n = r->n_parent_bsns + r->n_parent_pseudonyms;
	const char *field = r->n_parent_pseudonyms > 0 ? "parent_pseudonyms" :
	    "parent_bsns";
	enum pseudonym_fail f;
	char msg[256];
	int rc = -1;

	in->family = s->w->vixd->cfg.family_match;
	if (n == 0)
		return 0;
	if (!in->family) {
		session_respond_status(s, id,
		    VIX__V1__STATUS__CODE__FAILED_PRECONDITION, "%s: this index "
		    "does not match families ([rules] family_match = off); "
		    "register without parents", field);
		goto done;
	}
	if (r->n_parent_bsns > 0 && r->n_parent_pseudonyms > 0) {
		invalid(s, id, "parent_bsns, parent_pseudonyms: name the "
		    "parents one way, as the youth");
		goto done;
	}
	if (n > STORE_PARENTS_MAX) {
		invalid(s, id, "%s: at most %d parents or guardians", field,
		    STORE_PARENTS_MAX);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		f = pseudonym_make(s, r->n_parent_bsns > 0 ?
		    r->parent_bsns[i] : NULL, r->n_parent_pseudonyms > 0 ?
		    r->parent_pseudonyms[i] : NULL, &j->parent_blind[i],
		    in->parents[i], msg, sizeof(msg));
		if (f != PSEUDONYM_OK) {
			register_parent_refuse(s, id, field, i, f, msg);
			goto done;
		}
		if (memcmp(in->parents[i], in->pseudonym, PSEUDONYM_LEN) == 0) {
			invalid(s, id, "%s[%zu]: is the youth itself", field, i);
			goto done;
		}
		for (size_t k = 0; k < i; k++)
			if (memcmp(in->parents[k], in->parents[i],
			    PSEUDONYM_LEN) == 0) {
				invalid(s, id, "%s[%zu]: the same parent as "
				    "%s[%zu]", field, i, field, k);
				goto done;
			}
	}
	in->nparents = n;
	rc = 0;
done:
	register_parents_wipe(r);
	return rc;
}

static void
handle_register(struct session *s, Vix__V1__Request *req)
{
	Vix__V1__Register *r = req->register_;
	struct job *j;

	if (require_role(s, req->id, ROLE_REGISTER, "register") == -1 ||
	    register_free_text(s, req->id, r) == -1 ||
	    (j = job_new(s, req, JOB_REGISTER)) == NULL) {
		if (r->bsn != NULL)
			OPENSSL_cleanse(r->bsn, strlen(r->bsn));
		register_parents_wipe(r);
		return;
	}
	j->in.reg.org = s->org;
	j->in.reg.orgs = j->orgs;
	j->in.reg.now = j->now;
	j->in.reg.max_new_per_day = atomic_load(&s->w->vixd->max_new_per_day);
	if (pseudonymise(s, req->id, r->bsn, r->pseudonym, &j->blind,
	    j->in.reg.pseudonym) == -1 ||
	    register_parents(s, req->id, r, j) == -1 ||
	    register_fields(s, req->id, r, &j->in.reg) == -1) {
		register_parents_wipe(r);
		job_free(j);
		return;
	}
	submit(s, j);
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
handle_withdraw(struct session *s, Vix__V1__Request *req)
{
	Vix__V1__Withdraw *r = req->withdraw;
	int by_bsn = (r->bsn != NULL && r->bsn[0] != '\0') ||
	    r->pseudonym != NULL;
	enum store_withdraw_reason reason;
	struct job *j;

	if (require_role(s, req->id, ROLE_REGISTER, "register") == -1)
		goto wipe;
	if (by_bsn == (r->signal_id != 0)) {
		invalid(s, req->id, "signal_id, bsn: give exactly one of them "
		    "(bsn or pseudonym, as the index takes them)");
		goto wipe;
	}
	if ((reason = withdraw_reason(r->reason)) == 0) {
		invalid(s, req->id, "reason: must be UNJUSTIFIED or "
		    "RISK_RESOLVED");
		goto wipe;
	}
	if ((j = job_new(s, req, JOB_WITHDRAW)) == NULL)
		goto wipe;
	j->in.wd = (struct store_withdraw_in){ .org = s->org, .orgs = j->orgs,
	    .now = j->now, .signal_id = r->signal_id, .reason = reason };
	if (by_bsn && pseudonymise(s, req->id, r->bsn, r->pseudonym, &j->blind,
	    j->in.wd.pseudonym)) {
		job_free(j);
		return;
	}
	submit(s, j);
	return;
wipe:
	if (r->bsn != NULL)
		OPENSSL_cleanse(r->bsn, strlen(r->bsn));
}

static void
handle_involved(struct session *s, Vix__V1__Request *req)
{
	Vix__V1__Involved *r = req->involved;
	struct job *j;

	if (require_role(s, req->id, ROLE_REGISTER, "register") == -1 ||
	    (j = job_new(s, req, JOB_INVOLVED)) == NULL) {
		if (r->bsn != NULL)
			OPENSSL_cleanse(r->bsn, strlen(r->bsn));
		return;
	}
	if (pseudonymise(s, req->id, r->bsn, r->pseudonym, &j->blind,
	    j->in.pseudonym) == -1) {
		job_free(j);
		return;
	}
	submit(s, j);
}

static void
handle_relocate(struct session *s, Vix__V1__Request *req)
{
	Vix__V1__Relocate *r = req->relocate;
	struct job *j;

	if (!(s->org->roles & (ROLE_REGISTER | ROLE_ADMIN))) {
		session_respond_status(s, req->id,
		    VIX__V1__STATUS__CODE__PERMISSION_DENIED, "organisation %s "
		    "may not record a relocation: it needs the role register "
		    "(with a signal on the youth) or admin", s->org->id);
		goto wipe;
	}
	if (r->municipality == NULL || strlen(r->municipality) != 4 ||
	    strspn(r->municipality, "0123456789") != 4) {
		invalid(s, req->id, "municipality: must be the 4-digit CBS code "
		    "of the municipality the youth moved to");
		goto wipe;
	}
	if ((j = job_new(s, req, JOB_RELOCATE)) == NULL)
		goto wipe;
	j->in.reloc = (struct store_relocate_in){ .org = s->org,
	    .admin = (s->org->roles & ROLE_ADMIN) != 0, .orgs = j->orgs,
	    .now = j->now };
	memcpy(j->in.reloc.municipality, r->municipality, 5);
	if (pseudonymise(s, req->id, r->bsn, r->pseudonym, &j->blind,
	    j->in.reloc.pseudonym) == -1) {
		job_free(j);
		return;
	}
	submit(s, j);
	return;
wipe:
	if (r->bsn != NULL)
		OPENSSL_cleanse(r->bsn, strlen(r->bsn));
}

static void
handle_list(struct session *s, Vix__V1__Request *req)
{
	Vix__V1__ListReply reply = VIX__V1__LIST_REPLY__INIT;
	Vix__V1__SignalSummary *msgs = NULL, **ptrs = NULL;
	struct store_summary *rows = NULL;
	size_t max = req->list->page_size ? req->list->page_size :
	    LIST_PAGE_DEFAULT, n = 0;
	int err;

	if (require_role(s, req->id, ROLE_REGISTER, "register") == -1)
		return;
	if (max > LIST_PAGE_MAX) {
		invalid(s, req->id, "page_size: must be at most %d",
		    LIST_PAGE_MAX);
		return;
	}
	if ((rows = calloc(max, sizeof(*rows))) == NULL ||
	    (msgs = calloc(max, sizeof(*msgs))) == NULL ||
	    (ptrs = calloc(max, sizeof(*ptrs))) == NULL)
		err = VIX_E_STORE;
	else
		err = store_list(s->w->reader, s->org->sid, req->list->after,
		    rows, max, &n, &reply.next_after);
	if (err != 0) {
		session_respond_status(s, req->id, err_to_status(err),
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
	respond(s, req->id, VIX__V1__RESPONSE__BODY_LIST, &reply);
done:
	free(rows);
	free(msgs);
	free(ptrs);
}

#define SUBSCRIBE_MAX	1000	/* recipients on one subscription */

/* The recipients asked for, checked against the delegation in orgs.conf. */
static struct subscription *
subscription_new(struct session *s, uint64_t id, const Vix__V1__Subscribe *r)
{
	size_t n = r->n_recipients ? r->n_recipients : 1;
	struct subscription *sub = calloc(1, sizeof(*sub));

	if (sub == NULL || (sub->r = calloc(n, sizeof(*sub->r))) == NULL) {
		free(sub);
		session_respond_status(s, id,
		    VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	sub->conn = s->conn;
	sub->reader = s->w->reader;
	sub->window = s->w->vixd->cfg.subscribe_window;
	for (size_t i = 0; i < n; i++) {
		const struct org *o = s->org;
		const char *why;

		if (r->n_recipients && rules_check_text("recipients",
		    r->recipients[i], &why) == -1) {
			invalid(s, id, "%s", why);
			goto fail;
		}
		if (r->n_recipients)
			o = orgs_by_id(s->orgs, r->recipients[i]);
		if (o == NULL) {
			invalid(s, id, "recipients: no organisation '%.32s'",
			    r->recipients[i]);
			goto fail;
		}
		if (!orgs_may_receive_for(s->org, o)) {
			session_respond_status(s, id,
			    VIX__V1__STATUS__CODE__PERMISSION_DENIED,
			    "recipients: %s has not delegated its notifications "
			    "to %s (receives_for in orgs.conf)", o->id,
			    s->org->id);
			goto fail;
		}
		if (notify_find(sub, o->id) == NULL)
			sub->r[sub->n++].org = o;
	}
	return sub;
fail:
	notify_free(sub);
	return NULL;
}

static void
handle_subscribe(struct session *s, Vix__V1__Request *req)
{
	Vix__V1__Subscribe *r = req->subscribe;
	Vix__V1__SubscribeReply reply = VIX__V1__SUBSCRIBE_REPLY__INIT;
	Vix__V1__SubscribeReply__Position *pos = NULL, **ptrs = NULL;
	struct subscription *sub;
	uint64_t last;

	if (require_role(s, req->id, ROLE_SUBSCRIBE, "subscribe") == -1)
		return;
	if (s->sub != NULL) {
		session_respond_status(s, req->id,
		    VIX__V1__STATUS__CODE__FAILED_PRECONDITION,
		    "already subscribed on this connection");
		return;
	}
	if (r->n_recipients > SUBSCRIBE_MAX) {
		invalid(s, req->id, "recipients: at most %d", SUBSCRIBE_MAX);
		return;
	}
	if ((sub = subscription_new(s, req->id, r)) == NULL)
		return;
	if ((pos = calloc(sub->n, sizeof(*pos))) == NULL ||
	    (ptrs = calloc(sub->n, sizeof(*ptrs))) == NULL)
		goto fail;
	for (size_t i = 0; i < sub->n; i++) {
		struct sub_recipient *sr = &sub->r[i];

		if (store_position(s->w->reader, s->org->sid, sr->org->sid,
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
	reply.n_positions = sub->n;
	reply.positions = ptrs;
	respond(s, req->id, VIX__V1__RESPONSE__BODY_SUBSCRIBE, &reply);
	session_attach_subscription(s, sub);
	conn_stream_mode(s->conn);
	log_info("conn %llu (%s): subscribed for %zu recipient%s",
	    (unsigned long long)conn_id(s->conn), s->org->id, sub->n,
	    sub->n == 1 ? "" : "s");
	notify_pump(sub);
	free(pos);
	free(ptrs);
	return;
fail:
	session_respond_status(s, req->id, VIX__V1__STATUS__CODE__INTERNAL,
	    "cannot read subscription positions");
	notify_free(sub);
	free(pos);
	free(ptrs);
}

static void
handle_ack(struct session *s, Vix__V1__Request *req)
{
	Vix__V1__Ack *r = req->ack;
	struct sub_recipient *sr;
	const char *why;
	struct job *j;

	if (rules_check_text("recipient", r->recipient, &why) == -1) {
		invalid(s, req->id, "%s", why);
		return;
	}
	if (s->sub == NULL || (sr = notify_find(s->sub, r->recipient)) == NULL) {
		session_respond_status(s, req->id,
		    VIX__V1__STATUS__CODE__FAILED_PRECONDITION,
		    "recipient: not subscribed for '%.32s' on this connection",
		    r->recipient);
		return;
	}
	if (r->seq == 0 || r->seq > sr->sent) {
		invalid(s, req->id, "seq: %llu was not delivered on this "
		    "connection (last sent %llu)", (unsigned long long)r->seq,
		    (unsigned long long)sr->sent);
		return;
	}
	if ((j = job_new(s, req, JOB_ACK)) == NULL)
		return;
	j->in.ack.recipient = sr->org->sid;
	j->in.ack.seq = r->seq;
	submit(s, j);
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
handle_coordinate(struct session *s, Vix__V1__Request *req)
{
	Vix__V1__Coordinate *r = req->coordinate;
	enum store_coordinate_action action;
	struct job *j;

	if (require_role(s, req->id, ROLE_REGISTER, "register") == -1)
		return;
	if (r->match_id == 0) {
		invalid(s, req->id, "match_id: is required");
		return;
	}
	if ((action = coordinate_action(r->action)) == 0) {
		invalid(s, req->id, "action: must be CLAIM, RELEASE or "
		    "MARK_COORDINATED");
		return;
	}
	if ((j = job_new(s, req, JOB_COORDINATE)) == NULL)
		return;
	j->in.coord = (struct store_coordinate_in){ .org = s->org,
	    .orgs = j->orgs, .now = j->now, .match_id = r->match_id,
	    .action = action };
	submit(s, j);
}

static void
handle_ping(struct session *s, Vix__V1__Request *req)
{
	Vix__V1__PingReply reply = VIX__V1__PING_REPLY__INIT;
	Vix__V1__Organisation org = VIX__V1__ORGANISATION__INIT;

	org.id = (char *)s->org->id;
	org.name = (char *)s->org->name;
	org.oin = (char *)s->org->oin;
	reply.server_version = (char *)VIX_VERSION;
	reply.organisation = &org;
	respond(s, req->id, VIX__V1__RESPONSE__BODY_PING, &reply);
}

static void handle_matches(struct session *, Vix__V1__Request *);

/* The requests whose audit records name a youth or a match. */
static int
request_audited(const Vix__V1__Request *req)
{
	switch (req->body_case) {
	case VIX__V1__REQUEST__BODY_REGISTER:
	case VIX__V1__REQUEST__BODY_WITHDRAW:
	case VIX__V1__REQUEST__BODY_INVOLVED:
	case VIX__V1__REQUEST__BODY_COORDINATE:
	case VIX__V1__REQUEST__BODY_RELOCATE:
		return 1;
	default:
		return 0;
	}
}

/*
 * The professional a request names (any request, checked the same) and
 * whether the organisation must name one: require_actor in orgs.conf,
 * read from the registry the session holds, so that a reload applies to
 * the next request. Returns 0, or -1 after answering, the actor and any
 * BSN wiped; no message repeats the actor.
 */
static int
request_actor(struct session *s, Vix__V1__Request *req)
{
	const char *why;

	if (rules_check_actor(req->actor, &why) == -1) {
		OPENSSL_cleanse(req->actor, strlen(req->actor));
		invalid(s, req->id, "%s", why);
		return -1;
	}
	if ((req->actor == NULL || req->actor[0] == '\0') &&
	    s->org->require_actor && request_audited(req)) {
		invalid(s, req->id, "actor: required for organisation %s "
		    "(require_actor = yes in orgs.conf): name the professional "
		    "the request is sent for (vix --actor, VIX_ACTOR)",
		    s->org->id);
		return -1;
	}
	return 0;
}

void
handlers_dispatch(struct session *s, Vix__V1__Request *req)
{
	if (request_actor(s, req) == -1) {
		session_wipe_bsn(req);
		return;
	}
	switch (req->body_case) {
	case VIX__V1__REQUEST__BODY_PING:
		handle_ping(s, req);
		break;
	case VIX__V1__REQUEST__BODY_REGISTER:
		handle_register(s, req);
		break;
	case VIX__V1__REQUEST__BODY_WITHDRAW:
		handle_withdraw(s, req);
		break;
	case VIX__V1__REQUEST__BODY_INVOLVED:
		handle_involved(s, req);
		break;
	case VIX__V1__REQUEST__BODY_LIST:
		handle_list(s, req);
		break;
	case VIX__V1__REQUEST__BODY_SUBSCRIBE:
		handle_subscribe(s, req);
		break;
	case VIX__V1__REQUEST__BODY_ACK:
		handle_ack(s, req);
		break;
	case VIX__V1__REQUEST__BODY_COORDINATE:
		handle_coordinate(s, req);
		break;
	case VIX__V1__REQUEST__BODY_MATCHES:
		handle_matches(s, req);
		break;
	case VIX__V1__REQUEST__BODY_RELOCATE:
		handle_relocate(s, req);
		break;
	case VIX__V1__REQUEST__BODY__NOT_SET:
		if (req->base.n_unknown_fields > 0) {
			session_respond_status(s, req->id,
			    VIX__V1__STATUS__CODE__UNIMPLEMENTED,
			    "request type not known to this server "
			    "(version %s)", VIX_VERSION);
			break;
		}
		session_respond_status(s, req->id,
		    VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
		    "request has no body (expected one of: ping, register, "
		    "withdraw, involved, list, subscribe, ack, coordinate, "
		    "matches, relocate)");
		break;
	default:
		session_respond_status(s, req->id,
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

/*
 * Signals of the caller a worklist page visits at most, per match it may
 * hold: a page passes over the caller's signals without a match (or
 * filtered out) in bounded steps, and says where to go on, so that one
 * request holds the worker about as long as a List of the same size
 * (each visit a look-up of the match; on PostgreSQL a query).
 */
#define MATCHES_VISIT_PER_ITEM	4

/* The worklist page as MatchSummary messages, each with its Match. */
static int
matches_reply_build(Vix__V1__MatchesReply *reply, struct store_work *items,
    size_t n, struct match_msg *mm, Vix__V1__MatchSummary *sum,
    Vix__V1__MatchSummary **ptrs, const struct orgs *orgs)
{
	for (size_t i = 0; i < n; i++) {
		if (match_msg_build(&mm[i], &items[i].view, orgs) == -1)
			return -1;
		mm[i].match.escalations = (uint32_t)items[i].view.match.escalated;
		vix__v1__match_summary__init(&sum[i]);
		sum[i].match = &mm[i].match;
		sum[i].signal_id = items[i].signal_id;
		sum[i].client_ref = items[i].client_ref;
		ptrs[i] = &sum[i];
	}
	reply->n_matches = n;
	reply->matches = ptrs;
	return 0;
}

/*
 * The caller's worklist, from the worker's reader like List: only matches
 * on youths it has an active signal on, found through its own signals.
 */
static void
handle_matches(struct session *s, Vix__V1__Request *req)
{
	const Vix__V1__Matches *r = req->matches;
	Vix__V1__MatchesReply reply = VIX__V1__MATCHES_REPLY__INIT;
	size_t max = r->page_size ? r->page_size : LIST_PAGE_DEFAULT, n = 0;
	unsigned filter = (r->uncoordinated ? STORE_WORK_UNCOORDINATED : 0) |
	    (r->escalated ? STORE_WORK_ESCALATED : 0);
	struct store_work *items = NULL;
	struct match_msg *mm = NULL;
	Vix__V1__MatchSummary *sum = NULL, **ptrs = NULL;
	int err;

	if (require_role(s, req->id, ROLE_REGISTER, "register") == -1)
		return;
	if (max > LIST_PAGE_MAX) {
		invalid(s, req->id, "page_size: must be at most %d",
		    LIST_PAGE_MAX);
		return;
	}
	reply.time = time(NULL);
	if ((items = calloc(max, sizeof(*items))) == NULL ||
	    (mm = calloc(max, sizeof(*mm))) == NULL ||
	    (sum = calloc(max, sizeof(*sum))) == NULL ||
	    (ptrs = calloc(max, sizeof(*ptrs))) == NULL)
		err = VIX_E_STORE;
	else
		err = store_worklist(s->w->reader, s->org->sid, reply.time,
		    r->after, filter, max * MATCHES_VISIT_PER_ITEM, items, max,
		    &n, &reply.next_after);
	if (err != 0)
		session_respond_status(s, req->id, err_to_status(err),
		    "cannot list matches (%s)", err_name(err));
	else if (matches_reply_build(&reply, items, n, mm, sum, ptrs,
	    s->orgs) == -1)
		session_respond_status(s, req->id,
		    VIX__V1__STATUS__CODE__INTERNAL, "out of memory building "
		    "the answer");
	else
		respond(s, req->id, VIX__V1__RESPONSE__BODY_MATCHES, &reply);
	for (size_t i = 0; mm != NULL && i < n; i++)
		match_msg_free(&mm[i]);
	if (items != NULL)
		store_work_free(items, n);
	free(items);
	free(mm);
	free(sum);
	free(ptrs);
}

static void
complete_register(struct session *s, struct job *j, struct match_msg *m)
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
	respond(s, j->req_id, VIX__V1__RESPONSE__BODY_REGISTER, &reply);
}

static void
complete_withdraw(struct session *s, struct job *j)
{
	Vix__V1__WithdrawReply reply = VIX__V1__WITHDRAW_REPLY__INIT;

	reply.signal_id = j->out.wd.signal_id;
	reply.archived = j->out.wd.archived;
	reply.match_id = j->out.wd.match_id;
	reply.match_closed = j->out.wd.change == MATCH_CLOSED;
	respond(s, j->req_id, VIX__V1__RESPONSE__BODY_WITHDRAW, &reply);
}

static void
complete_involved(struct session *s, struct job *j, struct match_msg *m)
{
	Vix__V1__InvolvedReply reply = VIX__V1__INVOLVED_REPLY__INIT;

	reply.signal_id = j->out.inv.signal_id;
	if (j->out.inv.view.has_match)
		reply.match = &m->match;
	respond(s, j->req_id, VIX__V1__RESPONSE__BODY_INVOLVED, &reply);
}

static void
complete_ack(struct session *s, struct job *j)
{
	Vix__V1__AckReply reply = VIX__V1__ACK_REPLY__INIT;

	reply.acked = j->out.acked;
	if (s->pusher == NULL)	/* a push target sends acks, takes no replies */
		respond(s, j->req_id, VIX__V1__RESPONSE__BODY_ACK, &reply);
	else
		push_conn_acked(s);
	/* The window opened: send what waits. */
	for (size_t i = 0; s->sub != NULL && i < s->sub->n; i++)
		if (s->sub->r[i].org->sid == j->in.ack.recipient) {
			if (j->out.acked > s->sub->r[i].acked)
				s->sub->r[i].acked = j->out.acked;
			notify_pump(s->sub);
		}
}

/* Only an organisation involved with the youth hears what happened. */
static void
complete_relocate(struct session *s, struct job *j)
{
	Vix__V1__RelocateReply reply = VIX__V1__RELOCATE_REPLY__INIT;

	if (j->out.reloc.involved) {
		reply.moved = j->out.reloc.moved;
		reply.signals = j->out.reloc.signals;
		reply.match_id = j->out.reloc.match_id;
	}
	respond(s, j->req_id, VIX__V1__RESPONSE__BODY_RELOCATE, &reply);
}

static void
complete_coordinate(struct session *s, struct job *j, struct match_msg *m)
{
	Vix__V1__CoordinateReply reply = VIX__V1__COORDINATE_REPLY__INIT;

	reply.match = &m->match;
	respond(s, j->req_id, VIX__V1__RESPONSE__BODY_COORDINATE, &reply);
}

static void
complete_ok(struct session *s, struct job *j)
{
	const struct store_view *v = j->kind == JOB_REGISTER ?
	    &j->out.reg.view : j->kind == JOB_COORDINATE ? &j->out.coord :
	    &j->out.inv.view;
	struct match_msg m;

	if (j->kind == JOB_WITHDRAW) {
		complete_withdraw(s, j);
		return;
	}
	if (j->kind == JOB_ACK) {
		complete_ack(s, j);
		return;
	}
	if (j->kind == JOB_RELOCATE) {
		complete_relocate(s, j);
		return;
	}
	if (match_msg_build(&m, v, j->orgs) == -1)
		session_respond_status(s, j->req_id, VIX__V1__STATUS__CODE__INTERNAL,
		    "out of memory building the answer; the change was stored");
	else if (j->kind == JOB_REGISTER)
		complete_register(s, j, &m);
	else if (j->kind == JOB_COORDINATE)
		complete_coordinate(s, j, &m);
	else
		complete_involved(s, j, &m);
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
	case JOB_RELOCATE:	return METRICS_REQ_RELOCATE;
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

/* From the commit of j's batch to its response queued on the connection. */
static void
job_answer_wait(struct session *s, const struct job *j)
{
	uint64_t now = metrics_now_ns();

	if (j->committed_ns != 0 && now > j->committed_ns)
		metrics_observe(&s->w->vixd->stats.metrics.answer_wait,
		    METRICS_SECONDS, now - j->committed_ns);
}

/* A write came back from the writer (committed, or refused): answer it. */
static void
job_complete_request(struct job *j)
{
	struct session *s = j->sess;

	job_orgstats(s->w->vixd->orgstats, j);
	if (conn_is_open(s->conn)) {
		session_request_begin(s, job_metrics_type(j), j->received_ns);
		if (j->err == VIX_E_UNAVAILABLE || j->err == VIX_E_CONFLICT)
			/* Not applied (or not known to be): send it again. */
			session_respond_unavailable(s, j->req_id,
			    STORE_RETRY_MS, "%s", j->why);
		else if (j->err != 0)
			session_respond_status(s, j->req_id, err_to_status(j->err),
			    "%s", j->why);
		else
			complete_ok(s, j);
		session_request_begin(s, METRICS_REQ_NONE, 0);
		job_answer_wait(s, j);
	}
	conn_job_returned(s->conn);
}

/* ---- writes, on the writer thread ------------------------------------ */

static const char *
job_action(const struct job *j)
{
	switch (j->kind) {
	case JOB_REGISTER:	return "register";
	case JOB_WITHDRAW:	return "withdraw";
	case JOB_INVOLVED:	return "involved";
	case JOB_ACK:		return "ack";
	case JOB_COORDINATE:	return "coordinate";
	case JOB_RELOCATE:	return "relocate";
	}
	return "unknown";
}

/* A registration over max_new_signals_per_day: the cap and its reset. */
static void
refused_daily_cap(struct job *j)
{
	const struct store_register_in *in = &j->in.reg;
	time_t reset = (time_t)((in->now / 86400 + 1) * 86400);
	char when[32];
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
	    gmtime_r(&reset, &tm));
	snprintf(j->why, sizeof(j->why), "organisation %s has registered %u "
	    "new signals today, its maximum (max_new_signals_per_day); new "
	    "signals are accepted again from %s; refreshing its existing "
	    "signals is not limited", in->org->id, in->max_new_per_day, when);
}

/*
 * Why the store refused the request of j with err, for the client. Other
 * errors are failures, not refusals: the writer says those.
 */
static void
refused(struct job *j, int err)
{
	switch (err) {
	case VIX_E_PRECONDITION:
		snprintf(j->why, sizeof(j->why), "match_id: you do not "
		    "coordinate match %llu, so you cannot release it",
		    (unsigned long long)j->in.coord.match_id);
		break;
	case VIX_E_INVALID:
		snprintf(j->why, sizeof(j->why), j->kind == JOB_ACK ? "seq: "
		    "beyond the last notification for this recipient" :
		    "invalid request");
		break;
	case VIX_E_NOT_FOUND:
		if (j->kind == JOB_COORDINATE) {
			snprintf(j->why, sizeof(j->why), "match_id: no open "
			    "match %llu", (unsigned long long)
			    j->in.coord.match_id);
			break;
		}
		if (j->kind == JOB_RELOCATE) {
			snprintf(j->why, sizeof(j->why), "bsn: no active "
			    "signal on this youth");
			break;
		}
		snprintf(j->why, sizeof(j->why), "no active signal of yours "
		    "matches %s", j->kind == JOB_WITHDRAW &&
		    j->in.wd.signal_id ? "signal_id" : "bsn");
		break;
	case VIX_E_PERMISSION:
		if (j->kind == JOB_COORDINATE) {
			snprintf(j->why, sizeof(j->why), "match_id: you are "
			    "not involved in match %llu",
			    (unsigned long long)j->in.coord.match_id);
			break;
		}
		if (j->kind == JOB_RELOCATE) {
			snprintf(j->why, sizeof(j->why), "bsn: you may record "
			    "that a youth moved only while you have an active "
			    "signal on it (or with the role admin)");
			break;
		}
		snprintf(j->why, sizeof(j->why), j->kind == JOB_INVOLVED ?
		    "bsn: you may ask who else is involved only while you have "
		    "an active signal on this youth" : "signal_id: the signal "
		    "was registered by another organisation; only its "
		    "registrant may withdraw it");
		break;
	case VIX_E_LIMIT:
		refused_daily_cap(j);
		break;
	default:
		break;
	}
}

/*
 * A blind pseudonym p as the store has it now: made again if the keys
 * changed since the worker made it, and during a rotation moved from its
 * old form if it is stored only under that.
 */
static int
blind_settle(struct store_txn *t, struct job_blind *jb, uint8_t *p,
    char *why, size_t whylen)
{
	struct blind_keys keys;
	int rc, known;

	if (jb->keys == NULL)
		return 0;
	blind_get(jb->keys, &keys);
	if (keys.gen != jb->gen) {
		rc = blind_pseudonym(&keys, jb->element, BLIND_ELEMENT_LEN,
		    jb->version, jb->key_id, BLIND_KEY_ID_LEN, p, jb->old,
		    &jb->has_old, why, whylen);
		if (rc != 0)
			return rc == -1 ? VIX_E_INVALID : VIX_E_PRECONDITION;
		jb->gen = keys.gen;
	}
	if (!jb->has_old)
		return 0;
	if ((known = store_youth_known(t, p)) < 0)
		return VIX_E_STORE;
	if (known)
		return 0;
	if ((known = store_youth_known(t, jb->old)) < 0)
		return VIX_E_STORE;
	return known ? store_youth_move(t, jb->old, p, NULL) : 0;
}

int
handlers_blind_youth(struct store_txn *t, struct job *j, uint8_t *youth)
{
	int err = blind_settle(t, &j->blind, youth, j->why, sizeof(j->why));

	for (size_t i = 0; err == 0 && j->kind == JOB_REGISTER &&
	    i < j->in.reg.nparents; i++)
		err = blind_settle(t, &j->parent_blind[i], j->in.reg.parents[i],
		    j->why, sizeof(j->why));
	return err;
}

/* Where the job keeps the youth's pseudonym, if it names a youth. */
static uint8_t *
job_youth(struct job *j)
{
	switch (j->kind) {
	case JOB_REGISTER:
		return j->in.reg.pseudonym;
	case JOB_WITHDRAW:
		return j->in.wd.signal_id ? NULL : j->in.wd.pseudonym;
	case JOB_INVOLVED:
		return j->in.pseudonym;
	case JOB_RELOCATE:
		return j->in.reloc.pseudonym;
	default:
		return NULL;
	}
}

static int
job_apply(struct store_txn *t, struct job *j)
{
	uint8_t *youth = job_youth(j);
	int err = VIX_E_STORE;

	store_job_professional(t, j->professional);
	if (youth != NULL && (err = handlers_blind_youth(t, j, youth)) != 0)
		return err;

	switch (j->kind) {
	case JOB_REGISTER:
		err = store_register(t, &j->in.reg, &j->out.reg);
		break;
	case JOB_WITHDRAW:
		err = store_withdraw(t, &j->in.wd, &j->out.wd);
		break;
	case JOB_INVOLVED:
		err = store_involved(t, j->in.pseudonym, j->org, j->now,
		    &j->out.inv.signal_id, &j->out.inv.view);
		break;
	case JOB_ACK:
		err = store_ack(t, j->org->sid, j->in.ack.recipient,
		    j->in.ack.seq, &j->out.acked);
		break;
	case JOB_COORDINATE:
		err = store_coordinate(t, &j->in.coord, &j->out.coord);
		break;
	case JOB_RELOCATE:
		err = store_relocate(t, &j->in.reloc, &j->out.reloc);
		break;
	}
	if (err != 0)
		refused(j, err);
	return err;
}

/*
 * A refused request's audit record: who tried what on which signal or
 * match, linked to the youth it concerned (given, or found from them).
 */
static int
job_audit_refusal(struct store_txn *t, struct job *j)
{
	const uint8_t *youth = NULL;
	uint64_t signal_id = 0, match_id = 0;

	switch (j->kind) {
	case JOB_REGISTER:
		youth = j->in.reg.pseudonym;
		break;
	case JOB_WITHDRAW:
		signal_id = j->in.wd.signal_id;
		youth = signal_id ? NULL : j->in.wd.pseudonym;
		break;
	case JOB_INVOLVED:
		youth = j->in.pseudonym;
		break;
	case JOB_COORDINATE:
		match_id = j->in.coord.match_id;
		break;
	case JOB_RELOCATE:
		youth = j->in.reloc.pseudonym;
		break;
	default:
		break;
	}
	store_job_professional(t, j->professional);
	return store_audit_youth(t, youth, j->now, j->org->oin, job_action(j),
	    signal_id, match_id, err_name(j->err));
}

/* Registrations are what fills the store. */
static int
job_grows(const struct job *j)
{
	return j->kind == JOB_REGISTER;
}

static void
job_reset(struct job *j)
{
	if (j->kind == JOB_REGISTER)
		store_view_free(&j->out.reg.view);
	else if (j->kind == JOB_INVOLVED)
		store_view_free(&j->out.inv.view);
	else if (j->kind == JOB_COORDINATE)
		store_view_free(&j->out.coord);
}

const struct job_ops handlers_job_ops = {
	.apply = job_apply,
	.audit_refusal = job_audit_refusal,
	.grows = job_grows,
	.reset = job_reset,
	.complete = job_complete_request,
	.free = job_free,
};
