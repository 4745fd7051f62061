/*
 * The pages: login (development mode), register, my signals, matches, the
 * coordinator's worklist and notifications. Every form POSTs (no BSN in a
 * URL) with the session's CSRF token; a BSN is never written back into a
 * page, and free text that holds one is not either.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "html.h"
#include "index.h"
#include "log.h"
#include "pages.h"
#include "rules.h"
#include "session.h"

#define PAGE_SIZE		25
#define EXPIRING_DAYS		30
#define EXPIRING_PAGES		20	/* of 1000 signals each, at most */
#define SECONDS_PER_DAY		86400

static const unsigned durations[] = { 30, 90, 180, 365 };

/* A page the index could not serve: why, as an alert. */
static void
page_index_error(struct req *q, const struct vix_error *e)
{
	if (e->kind == VIX_ERR_REFUSED || e->kind == VIX_ERR_ARGS)
		html_alert(q, ALERT_ERROR, MSG_INDEX_REFUSED, e->message, NULL);
	else
		html_alert(q, ALERT_ERROR, MSG_INDEX_DOWN, NULL, NULL);
}

/* A number from a form or query; 0 when absent or not a number. */
static uint64_t
page_number(const char *s)
{
	char *end;
	unsigned long long n;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return 0;
	n = strtoull(s, &end, 10);
	return *end == '\0' ? n : 0;
}

/* A table with id, its header row of n columns, and its body opened. */
static void
page_table_head(struct req *q, const char *id, const enum msg *cols,
    size_t n)
{
	size_t i;

	evbuffer_add_printf(q->b, "<table class=\"utrecht-table\" id=\"%s\">"
	    "<thead class=\"utrecht-table__header\"><tr class=\"utrecht-table"
	    "__row\">", id);
	for (i = 0; i < n; i++) {
		evbuffer_add_printf(q->b, "<th class=\"utrecht-table__header-"
		    "cell\" scope=\"col\">");
		html_msg(q, cols[i]);
		evbuffer_add_printf(q->b, "</th>");
	}
	evbuffer_add_printf(q->b, "</tr></thead><tbody class=\"utrecht-table__"
	    "body\">");
}

/* ---- login (development mode) ---- */

static void
page_login_form(struct req *q)
{
	size_t i;

	html_alert(q, ALERT_INFO, MSG_LOGIN_INTRO, NULL, NULL);
	evbuffer_add_printf(q->b, "<form id=\"login-form\" method=\"post\" "
	    "action=\"/login\" class=\"utrecht-form\">");
	html_csrf(q);
	html_field_open(q, "user", MSG_USER, NULL);
	evbuffer_add_printf(q->b, "<div class=\"utrecht-form-field__input\">"
	    "<select class=\"utrecht-select utrecht-select--html-select\" "
	    "id=\"user\" name=\"user\">");
	for (i = 0; i < q->p->conf->nusers; i++) {
		const struct portal_user *u = &q->p->conf->users[i];

		evbuffer_add_printf(q->b, "<option value=\"");
		html_esc(q->b, u->name);
		evbuffer_add_printf(q->b, "\">");
		html_esc(q->b, u->name);
		evbuffer_add_printf(q->b, " &#8211; ");
		html_esc(q->b, u->contact_name);
		evbuffer_add_printf(q->b, " (");
		html_msg(q, u->role == ROLE_COORDINATOR ? MSG_ROLE_COORDINATOR :
		    MSG_ROLE_PROFESSIONAL);
		evbuffer_add_printf(q->b, ")</option>");
	}
	evbuffer_add_printf(q->b, "</select></div>");
	html_field_close(q);
	evbuffer_add_printf(q->b, "<button type=\"submit\" class=\"utrecht-"
	    "button utrecht-button--primary-action\">");
	html_msg(q, MSG_LOGIN);
	evbuffer_add_printf(q->b, "</button></form>");
}

/* A fresh session for the user: a new id after login (no fixation). */
static void
page_login_as(struct req *q, const struct portal_user *u)
{
	struct session *s;

	session_end(q->s);
	if ((s = session_new(q->p->sessions, session_now())) == NULL) {
		evhttp_send_error(q->r, 500, NULL);
		return;
	}
	snprintf(s->user, sizeof(s->user), "%s", u->name);
	req_set_session_cookie(q, s->id);
	log_info("login: %s", u->name);
	req_redirect(q, "/matches");
}

void
page_login(struct req *q)
{
	const struct portal_user *u;

	if (!q->p->conf->dev) {
		html_begin(q, MSG_LOGIN, "/login");
		html_alert(q, ALERT_INFO, MSG_LOGIN_SSO, NULL, NULL);
		html_end(q);
		html_send(q, 200, "OK");
		return;
	}
	if (q->post) {
		u = portal_user_find(q->p->conf, req_form(q, "user") ?
		    req_form(q, "user") : "");
		if (u != NULL) {
			page_login_as(q, u);
			return;
		}
	}
	if (q->s == NULL) {
		if ((q->s = session_new(q->p->sessions, session_now())) == NULL) {
			evhttp_send_error(q->r, 500, NULL);
			return;
		}
		req_set_session_cookie(q, q->s->id);
	}
	html_begin(q, MSG_LOGIN, "/login");
	if (req_query(q, "expired") != NULL)
		html_alert(q, ALERT_ERROR, MSG_EXPIRED, NULL, "expired");
	page_login_form(q);
	html_end(q);
	html_send(q, q->post ? 400 : 200, q->post ? "Bad Request" : "OK");
}

void
page_logout(struct req *q)
{
	if (q->post && q->s != NULL) {
		log_info("logout: %s", q->s->user);
		session_end(q->s);
		req_set_session_cookie(q, "");
	}
	req_redirect(q, "/login");
}

/* ---- register ---- */

enum reg_field { F_BSN, F_BIRTH, F_DURATION, F_NAME, F_PHONE, F_EMAIL,
	F_REF, F_COUNT };

/* Form name, and the name the index's messages give the field. */
static const char *const reg_names[F_COUNT][2] = {
	{ "bsn", "bsn" }, { "birth_date", "birth_date" },
	{ "duration", "duration_days" }, { "contact_name", "contact.name" },
	{ "contact_phone", "contact.phone" },
	{ "contact_email", "contact.email" }, { "reference", "client_ref" },
};

struct reg_form {
	const char	*v[F_COUNT];	/* as sent; the BSN is never shown */
	const char	*err[F_COUNT];
	char		 msgbuf[F_COUNT][512];
	int		 nerr;
};

static void
reg_error(struct reg_form *f, enum reg_field i, const char *text)
{
	snprintf(f->msgbuf[i], sizeof(f->msgbuf[i]), "%s", text);
	f->err[i] = f->msgbuf[i];
	f->nerr++;
}

static void
reg_check_bsn(struct req *q, struct reg_form *f)
{
	const char *b = f->v[F_BSN];

	switch (rules_check_bsn(b, strlen(b))) {
	case BSN_OK:
		return;
	case BSN_EMPTY:
		reg_error(f, F_BSN, msg(q->lang, MSG_REQUIRED));
		return;
	case BSN_LENGTH:
		reg_error(f, F_BSN, msg(q->lang, MSG_BSN_BAD_LENGTH));
		return;
	case BSN_NOT_DIGITS:
		reg_error(f, F_BSN, msg(q->lang, MSG_BSN_BAD_DIGITS));
		return;
	default:
		reg_error(f, F_BSN, msg(q->lang, MSG_BSN_BAD_CHECK));
	}
}

static int
reg_duration_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return 1;
	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++)
		if (page_number(s) == durations[i])
			return 1;
	return 0;
}

/* What the portal checks itself, in the page's language. */
static void
reg_check(struct req *q, struct reg_form *f)
{
	int32_t day;
	const char *why;
	int i;

	reg_check_bsn(q, f);
	if (f->v[F_BIRTH][0] == '\0')
		reg_error(f, F_BIRTH, msg(q->lang, MSG_REQUIRED));
	else if (rules_parse_date(f->v[F_BIRTH], &day) == -1)
		reg_error(f, F_BIRTH, msg(q->lang, MSG_DATE_BAD));
	if (!reg_duration_ok(f->v[F_DURATION]))
		reg_error(f, F_DURATION, msg(q->lang, MSG_DURATION_BAD));
	if (f->v[F_NAME][0] == '\0')
		reg_error(f, F_NAME, msg(q->lang, MSG_REQUIRED));
	if (f->v[F_PHONE][0] == '\0')
		reg_error(f, F_PHONE, msg(q->lang, MSG_REQUIRED));
	for (i = F_NAME; i < F_COUNT; i++)
		if (f->err[i] == NULL && rules_check_no_bsn(reg_names[i][1],
		    f->v[i], f->v[F_BSN], &why) == -1)
			reg_error(f, (enum reg_field)i, why);
}

/* A refusal naming a field ("contact_phone: ...") goes next to it. */
static int
reg_refusal(struct reg_form *f, const char *message)
{
	size_t i, n;

	for (i = 0; i < F_COUNT; i++) {
		n = strlen(reg_names[i][1]);
		if (strncmp(message, reg_names[i][1], n) == 0 &&
		    message[n] == ':') {
			reg_error(f, (enum reg_field)i, message);
			return 0;
		}
	}
	return -1;
}

static void
reg_duration_select(struct req *q, const struct reg_form *f)
{
	const char *cur = f->v[F_DURATION] != NULL ? f->v[F_DURATION] : "";
	size_t i;

	html_field_open(q, "duration", MSG_DURATION, f->err[F_DURATION]);
	evbuffer_add_printf(q->b, "<div class=\"utrecht-form-field__input\">"
	    "<select class=\"utrecht-select utrecht-select--html-select\" "
	    "id=\"duration\" name=\"duration\"%s><option value=\"\">",
	    f->err[F_DURATION] ? " aria-invalid=\"true\" "
	    "aria-describedby=\"duration-error\"" : "");
	html_msg(q, MSG_DURATION_MAX);
	evbuffer_add_printf(q->b, "</option>");
	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		evbuffer_add_printf(q->b, "<option value=\"%u\"%s>%u ",
		    durations[i], page_number(cur) == durations[i] ?
		    " selected" : "", durations[i]);
		html_msg(q, MSG_DAYS);
		evbuffer_add_printf(q->b, "</option>");
	}
	evbuffer_add_printf(q->b, "</select></div>");
	html_field_close(q);
}

/* A value to write back into the form: never the BSN, nor one with an error. */
static const char *
reg_echo(const struct reg_form *f, enum reg_field i)
{
	if (i == F_BSN || f->v[i] == NULL || f->err[i] != NULL)
		return NULL;
	return f->v[i];
}

static void
reg_form_html(struct req *q, const struct reg_form *f)
{
	const struct html_field fields[] = {
	    { "bsn", MSG_BSN, MSG_BSN_HINT, "text", NULL, f->err[F_BSN],
		NULL, 1 },
	    { "birth_date", MSG_BIRTH, MSG_BIRTH_HINT, "date",
		reg_echo(f, F_BIRTH), f->err[F_BIRTH], NULL, 1 },
	    { "contact_name", MSG_CONTACT_NAME, -1, "text",
		reg_echo(f, F_NAME), f->err[F_NAME], "name", 1 },
	    { "contact_phone", MSG_CONTACT_PHONE, -1, "tel",
		reg_echo(f, F_PHONE), f->err[F_PHONE], "tel", 1 },
	    { "contact_email", MSG_CONTACT_EMAIL, -1, "email",
		reg_echo(f, F_EMAIL), f->err[F_EMAIL], "email", 0 },
	    { "reference", MSG_REFERENCE, MSG_REFERENCE_HINT, "text",
		reg_echo(f, F_REF), f->err[F_REF], NULL, 0 },
	};
	size_t i;

	evbuffer_add_printf(q->b, "<form id=\"register-form\" method=\"post\" "
	    "action=\"/register\" class=\"utrecht-form\" novalidate>");
	html_csrf(q);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		html_field(q, &fields[i]);
		if (i == 1)
			reg_duration_select(q, f);
	}
	evbuffer_add_printf(q->b, "<button type=\"submit\" class=\"utrecht-"
	    "button utrecht-button--primary-action\">");
	html_msg(q, MSG_SUBMIT_REGISTER);
	evbuffer_add_printf(q->b, "</button></form>");
}

/* The others involved with their contacts: a table (id may be NULL). */
static void
page_others(struct req *q, const struct vix_match *m)
{
	size_t i;

	evbuffer_add_printf(q->b, "<ul class=\"utrecht-unordered-list "
	    "portal-others\">");
	for (i = 0; i < m->n_others; i++) {
		const struct vix_involvement *o = &m->others[i];

		evbuffer_add_printf(q->b, "<li class=\"utrecht-unordered-list__"
		    "item\" data-org=\"");
		html_esc(q->b, o->org_id);
		evbuffer_add_printf(q->b, "\"><strong>");
		html_esc(q->b, o->org_name);
		evbuffer_add_printf(q->b, "</strong>: ");
		html_esc(q->b, o->contact_name);
		evbuffer_add_printf(q->b, ", ");
		html_esc(q->b, o->contact_phone);
		if (o->contact_email[0] != '\0') {
			evbuffer_add_printf(q->b, ", ");
			html_esc(q->b, o->contact_email);
		}
		evbuffer_add_printf(q->b, " (");
		html_msg(q, MSG_SINCE);
		evbuffer_add_printf(q->b, " ");
		html_date(q->b, o->since);
		evbuffer_add_printf(q->b, ")</li>");
	}
	evbuffer_add_printf(q->b, "</ul>");
}

static void
reg_done(struct req *q, const struct vix_register_result *res)
{
	html_alert(q, ALERT_OK, res->status == VIX_SIGNAL_REFRESHED ?
	    MSG_REGISTERED_REFRESH : MSG_REGISTERED_NEW, NULL, "registered");
	evbuffer_add_printf(q->b, "<p class=\"utrecht-paragraph\">");
	html_msg(q, MSG_SIGNAL);
	evbuffer_add_printf(q->b, " %llu. ", (unsigned long long)res->signal_id);
	html_msg(q, MSG_EXPIRES);
	evbuffer_add_printf(q->b, " ");
	html_date(q->b, res->expires);
	evbuffer_add_printf(q->b, " ");
	html_msg(q, res->expiry_bound == VIX_EXPIRY_AGE_23 ? MSG_BOUND_AGE :
	    MSG_BOUND_DURATION);
	evbuffer_add_printf(q->b, "</p><p class=\"utrecht-paragraph\">");
	html_msg(q, res->has_match ? MSG_MATCH_FOUND : MSG_NO_MATCH);
	evbuffer_add_printf(q->b, "</p>");
	if (res->has_match)
		page_others(q, &res->match);
}

/* Send the registration; 0 when it was registered (and shown). */
static int
reg_send(struct req *q, struct reg_form *f)
{
	struct vix_register_req rr = { .bsn = f->v[F_BSN],
	    .birth_date = f->v[F_BIRTH],
	    .duration_days = (unsigned)page_number(f->v[F_DURATION]),
	    .contact_name = f->v[F_NAME], .contact_phone = f->v[F_PHONE],
	    .contact_email = f->v[F_EMAIL][0] ? f->v[F_EMAIL] : NULL,
	    .client_ref = f->v[F_REF][0] ? f->v[F_REF] : NULL };
	struct vix_register_result res;
	struct vix_error e;
	vix_client *c;

	if (index_client(q->p, q->u->name, &c, &e) == VIX_OK &&
	    vix_register(c, &rr, &res, &e) == VIX_OK) {
		log_info("register: signal %llu by %s",
		    (unsigned long long)res.signal_id, q->u->name);
		reg_done(q, &res);
		vix_register_result_free(&res);
		return 0;
	}
	vix_register_result_free(&res);
	index_failed(q->p, &e);
	if ((e.kind != VIX_ERR_REFUSED && e.kind != VIX_ERR_ARGS) ||
	    reg_refusal(f, e.message) == -1)
		page_index_error(q, &e);
	else
		html_alert(q, ALERT_ERROR, MSG_FORM_ERRORS, NULL, "form-errors");
	return -1;
}

static void
reg_defaults(struct req *q, struct reg_form *f)
{
	f->v[F_NAME] = q->u->contact_name;
	f->v[F_PHONE] = q->u->contact_phone;
	f->v[F_EMAIL] = q->u->contact_email;
}

void
page_register(struct req *q)
{
	struct reg_form f;
	int code = 200;
	size_t i;

	memset(&f, 0, sizeof(f));
	html_begin(q, MSG_REGISTER, "/register");
	if (q->post) {
		for (i = 0; i < F_COUNT; i++)
			if ((f.v[i] = req_form(q, reg_names[i][0])) == NULL)
				f.v[i] = "";
		reg_check(q, &f);
		if (f.nerr > 0)
			html_alert(q, ALERT_ERROR, MSG_FORM_ERRORS, NULL,
			    "form-errors");
		if (f.nerr > 0 || reg_send(q, &f) == -1)
			code = 422;
		else
			memset(&f, 0, sizeof(f));
	}
	if (code == 200)
		reg_defaults(q, &f);
	reg_form_html(q, &f);
	html_end(q);
	html_send(q, code, code == 200 ? "OK" : "Unprocessable Entity");
}

/* ---- my signals ---- */

static void
sig_withdraw(struct req *q)
{
	const char *why = req_form(q, "reason");
	uint64_t id = page_number(req_form(q, "signal"));
	struct vix_withdraw_result res;
	struct vix_error e;
	vix_client *c;
	int reason;

	if (id == 0 || why == NULL || (strcmp(why, "risk-resolved") != 0 &&
	    strcmp(why, "unjustified") != 0)) {
		html_alert(q, ALERT_ERROR, MSG_BAD_REQUEST, "signal, reason",
		    NULL);
		return;
	}
	reason = why[0] == 'u' ? VIX_WITHDRAW_UNJUSTIFIED :
	    VIX_WITHDRAW_RISK_RESOLVED;
	if (index_client(q->p, q->u->name, &c, &e) != VIX_OK ||
	    vix_withdraw(c, id, NULL, reason, &res, &e) != VIX_OK) {
		index_failed(q->p, &e);
		page_index_error(q, &e);
		return;
	}
	log_info("withdraw: signal %llu by %s", (unsigned long long)id,
	    q->u->name);
	html_alert(q, ALERT_OK, res.archived ? MSG_WITHDRAWN_ARCHIVED :
	    MSG_WITHDRAWN_DELETED, NULL, "withdrawn");
}

static void
sig_withdraw_form(struct req *q, uint64_t id)
{
	evbuffer_add_printf(q->b, "<form method=\"post\" action=\"/signals\" "
	    "class=\"portal-inline\">");
	html_csrf(q);
	evbuffer_add_printf(q->b, "<input type=\"hidden\" name=\"signal\" "
	    "value=\"%llu\"><label class=\"utrecht-form-label\" "
	    "for=\"reason-%llu\">", (unsigned long long)id,
	    (unsigned long long)id);
	html_msg(q, MSG_REASON);
	evbuffer_add_printf(q->b, "</label> <select class=\"utrecht-select "
	    "utrecht-select--html-select\" id=\"reason-%llu\" name=\"reason\">"
	    "<option value=\"risk-resolved\">", (unsigned long long)id);
	html_msg(q, MSG_RISK_RESOLVED);
	evbuffer_add_printf(q->b, "</option><option value=\"unjustified\">");
	html_msg(q, MSG_UNJUSTIFIED);
	evbuffer_add_printf(q->b, "</option></select> <button type=\"submit\" "
	    "name=\"action\" value=\"withdraw\" class=\"utrecht-button "
	    "utrecht-button--secondary-action\">");
	html_msg(q, MSG_WITHDRAW);
	evbuffer_add_printf(q->b, "</button></form>");
}

static void
sig_head(struct req *q, const char *id, int actions)
{
	static const enum msg cols[] = { MSG_SIGNAL, MSG_REF_SHORT,
	    MSG_CREATED, MSG_EXPIRES, MSG_MATCH, MSG_ACTIONS };

	page_table_head(q, id, cols, sizeof(cols) / sizeof(cols[0]) -
	    (actions ? 0 : 1));
}

static void
sig_row(struct req *q, const struct vix_signal_summary *s, int actions)
{
	evbuffer_add_printf(q->b, "<tr class=\"utrecht-table__row\" "
	    "data-signal=\"%llu\"><td class=\"utrecht-table__cell\">%llu</td>"
	    "<td class=\"utrecht-table__cell\">",
	    (unsigned long long)s->signal_id, (unsigned long long)s->signal_id);
	html_esc(q->b, s->client_ref);
	evbuffer_add_printf(q->b, "</td><td class=\"utrecht-table__cell\">");
	html_date(q->b, s->created);
	evbuffer_add_printf(q->b, "</td><td class=\"utrecht-table__cell\">");
	html_date(q->b, s->expires);
	evbuffer_add_printf(q->b, "</td><td class=\"utrecht-table__cell\">");
	if (s->match_id != 0)
		evbuffer_add_printf(q->b, "<a class=\"utrecht-link\" href=\""
		    "/matches#match-%llu\">%llu</a>",
		    (unsigned long long)s->match_id,
		    (unsigned long long)s->match_id);
	else
		html_msg(q, MSG_NONE);
	evbuffer_add_printf(q->b, "</td>");
	if (actions) {
		evbuffer_add_printf(q->b, "<td class=\"utrecht-table__cell\">");
		sig_withdraw_form(q, s->signal_id);
		evbuffer_add_printf(q->b, "</td>");
	}
	evbuffer_add_printf(q->b, "</tr>");
}

static void
sig_table(struct req *q, uint64_t after)
{
	struct vix_list_result res;
	struct vix_error e;
	vix_client *c;
	size_t i;

	if (index_client(q->p, q->u->name, &c, &e) != VIX_OK ||
	    vix_list(c, PAGE_SIZE, after, &res, &e) != VIX_OK) {
		vix_list_result_free(&res);
		index_failed(q->p, &e);
		page_index_error(q, &e);
		return;
	}
	if (res.n == 0) {
		evbuffer_add_printf(q->b, "<p class=\"utrecht-paragraph\">");
		html_msg(q, MSG_NO_SIGNALS);
		evbuffer_add_printf(q->b, "</p>");
	} else {
		sig_head(q, "signals", 1);
		for (i = 0; i < res.n; i++)
			sig_row(q, &res.signals[i], 1);
		evbuffer_add_printf(q->b, "</tbody></table>");
	}
	evbuffer_add_printf(q->b, "<p class=\"utrecht-paragraph portal-pages\">");
	if (after != 0) {
		evbuffer_add_printf(q->b, "<a class=\"utrecht-link\" "
		    "href=\"/signals\">");
		html_msg(q, MSG_FIRST_PAGE);
		evbuffer_add_printf(q->b, "</a> ");
	}
	if (res.next_after != 0) {
		evbuffer_add_printf(q->b, "<a class=\"utrecht-link\" rel=\"next\" "
		    "href=\"/signals?after=%llu\">",
		    (unsigned long long)res.next_after);
		html_msg(q, MSG_NEXT_PAGE);
		evbuffer_add_printf(q->b, "</a>");
	}
	evbuffer_add_printf(q->b, "</p>");
	vix_list_result_free(&res);
}

void
page_signals(struct req *q)
{
	html_begin(q, MSG_SIGNALS, "/signals");
	if (q->post)
		sig_withdraw(q);
	sig_table(q, q->post ? 0 : page_number(req_query(q, "after")));
	html_end(q);
	html_send(q, 200, "OK");
}

/* ---- matches and the worklist ---- */

static int
match_ours(struct req *q, const struct vix_match *m)
{
	return strcmp(m->coordinator, q->p->ix.org.id) == 0;
}

static void
match_button(struct req *q, const char *action, enum msg m)
{
	evbuffer_add_printf(q->b, "<button type=\"submit\" name=\"action\" "
	    "value=\"%s\" class=\"utrecht-button utrecht-button--secondary-"
	    "action\">", action);
	html_msg(q, m);
	evbuffer_add_printf(q->b, "</button> ");
}

static void
match_actions(struct req *q, const struct vix_match *m)
{
	evbuffer_add_printf(q->b, "<td class=\"utrecht-table__cell\">");
	if (q->u->role == ROLE_COORDINATOR) {
		evbuffer_add_printf(q->b, "<form method=\"post\" action=\""
		    "/matches\" class=\"portal-inline\">");
		html_csrf(q);
		evbuffer_add_printf(q->b, "<input type=\"hidden\" name=\"match\" "
		    "value=\"%llu\">", (unsigned long long)m->match_id);
		if (!match_ours(q, m))
			match_button(q, "claim", MSG_CLAIM);
		else
			match_button(q, "release", MSG_RELEASE);
		if (!m->coordinated)
			match_button(q, "coordinated", MSG_MARK);
		evbuffer_add_printf(q->b, "</form>");
	}
	evbuffer_add_printf(q->b, "</td>");
}

static void
match_state(struct req *q, const struct vix_match_item *it)
{
	evbuffer_add_printf(q->b, "<td class=\"utrecht-table__cell\" "
	    "data-state=\"%s\">", it->match.coordinated ? "coordinated" :
	    "uncoordinated");
	html_msg(q, it->match.coordinated ? MSG_COORDINATED :
	    MSG_UNCOORDINATED);
	if (it->escalations > 0) {
		evbuffer_add_printf(q->b, ", ");
		html_msg(q, MSG_ESCALATED);
		evbuffer_add_printf(q->b, " (%u %s)", it->escalations,
		    msg(q->lang, MSG_ESCALATIONS));
	}
	evbuffer_add_printf(q->b, "</td>");
}

static void
match_row(struct req *q, const struct vix_match_item *it, int64_t now)
{
	const struct vix_match *m = &it->match;

	evbuffer_add_printf(q->b, "<tr class=\"utrecht-table__row\" "
	    "id=\"match-%llu\" data-match=\"%llu\"><td class=\"utrecht-table__"
	    "cell\">%llu</td><td class=\"utrecht-table__cell\">",
	    (unsigned long long)m->match_id, (unsigned long long)m->match_id,
	    (unsigned long long)m->match_id);
	html_esc(q->b, it->client_ref);
	evbuffer_add_printf(q->b, "</td><td class=\"utrecht-table__cell\">");
	page_others(q, m);
	evbuffer_add_printf(q->b, "</td><td class=\"utrecht-table__cell\" "
	    "data-coordinator=\"");
	html_esc(q->b, m->coordinator);
	evbuffer_add_printf(q->b, "\">");
	html_esc(q->b, m->coordinator_name);
	if (match_ours(q, m)) {
		evbuffer_add_printf(q->b, " (");
		html_msg(q, MSG_US);
		evbuffer_add_printf(q->b, ")");
	}
	evbuffer_add_printf(q->b, "</td>");
	match_state(q, it);
	evbuffer_add_printf(q->b, "<td class=\"utrecht-table__cell\">%lld %s"
	    "</td>", (long long)((now - m->created) / SECONDS_PER_DAY),
	    msg(q->lang, MSG_DAYS));
	match_actions(q, m);
	evbuffer_add_printf(q->b, "</tr>");
}

static void
match_head(struct req *q, const char *id)
{
	static const enum msg cols[] = { MSG_MATCH, MSG_REF_SHORT, MSG_OTHERS,
	    MSG_COORDINATOR, MSG_STATE, MSG_AGE, MSG_ACTIONS };

	page_table_head(q, id, cols, sizeof(cols) / sizeof(cols[0]));
}

/* One page of the caller's matches as a table with id; next_after to *next. */
static void
match_table(struct req *q, const char *id, struct vix_matches_req *mr,
    uint64_t *next)
{
	struct vix_matches_result res;
	struct vix_error e;
	vix_client *c;
	size_t i;

	*next = 0;
	if (index_client(q->p, q->u->name, &c, &e) != VIX_OK ||
	    vix_matches(c, mr, &res, &e) != VIX_OK) {
		vix_matches_result_free(&res);
		index_failed(q->p, &e);
		page_index_error(q, &e);
		return;
	}
	match_head(q, id);
	for (i = 0; i < res.n; i++)
		match_row(q, &res.items[i], res.time);
	evbuffer_add_printf(q->b, "</tbody></table>");
	if (res.n == 0) {
		evbuffer_add_printf(q->b, "<p class=\"utrecht-paragraph\">");
		html_msg(q, MSG_NO_MATCHES);
		evbuffer_add_printf(q->b, "</p>");
	}
	*next = res.next_after;
	vix_matches_result_free(&res);
}

static void
match_coordinate(struct req *q)
{
	const char *a = req_form(q, "action");
	uint64_t id = page_number(req_form(q, "match"));
	struct vix_match m;
	struct vix_error e;
	vix_client *c;
	int act;

	act = a == NULL ? 0 : strcmp(a, "claim") == 0 ? VIX_COORD_CLAIM :
	    strcmp(a, "release") == 0 ? VIX_COORD_RELEASE :
	    strcmp(a, "coordinated") == 0 ? VIX_COORD_MARK_COORDINATED : 0;
	if (q->u->role != ROLE_COORDINATOR) {
		html_alert(q, ALERT_ERROR, MSG_COORD_ONLY, NULL, NULL);
		return;
	}
	if (id == 0 || act == 0) {
		html_alert(q, ALERT_ERROR, MSG_BAD_REQUEST, "match, action",
		    NULL);
		return;
	}
	if (index_client(q->p, q->u->name, &c, &e) != VIX_OK ||
	    vix_coordinate(c, id, act, &m, &e) != VIX_OK) {
		vix_match_free(&m);
		index_failed(q->p, &e);
		page_index_error(q, &e);
		return;
	}
	log_info("coordinate: match %llu %s by %s", (unsigned long long)id, a,
	    q->u->name);
	vix_match_free(&m);
	html_alert(q, ALERT_OK, MSG_COORD_DONE, NULL, "coordinated");
}

void
page_matches(struct req *q)
{
	struct vix_matches_req mr = { .page_size = PAGE_SIZE };
	uint64_t next;

	html_begin(q, MSG_MATCHES, "/matches");
	if (q->post)
		match_coordinate(q);
	else
		mr.after = page_number(req_query(q, "after"));
	match_table(q, "matches", &mr, &next);
	if (next != 0) {
		evbuffer_add_printf(q->b, "<p class=\"utrecht-paragraph\"><a "
		    "class=\"utrecht-link\" rel=\"next\" href=\"/matches?"
		    "after=%llu\">", (unsigned long long)next);
		html_msg(q, MSG_NEXT_PAGE);
		evbuffer_add_printf(q->b, "</a></p>");
	}
	html_end(q);
	html_send(q, 200, "OK");
}

static void
page_h2(struct req *q, enum msg m)
{
	evbuffer_add_printf(q->b, "<h2 class=\"utrecht-heading-2\">");
	html_msg(q, m);
	evbuffer_add_printf(q->b, "</h2>");
}

/* The caller's signals that expire within EXPIRING_DAYS. */
static void
worklist_expiring(struct req *q)
{
	struct vix_list_result res;
	struct vix_error e;
	vix_client *c;
	uint64_t after = 0;
	int64_t soon = (int64_t)time(NULL) + EXPIRING_DAYS * SECONDS_PER_DAY;
	int pages = 0;
	size_t i;

	sig_head(q, "worklist-expiring", 0);
	do {
		if (index_client(q->p, q->u->name, &c, &e) != VIX_OK ||
		    vix_list(c, 1000, after, &res, &e) != VIX_OK) {
			vix_list_result_free(&res);
			index_failed(q->p, &e);
			break;
		}
		for (i = 0; i < res.n; i++)
			if (res.signals[i].expires <= soon)
				sig_row(q, &res.signals[i], 0);
		after = res.next_after;
		vix_list_result_free(&res);
	} while (after != 0 && ++pages < EXPIRING_PAGES);
	evbuffer_add_printf(q->b, "</tbody></table>");
}

void
page_worklist(struct req *q)
{
	struct vix_matches_req uncoord = { .page_size = PAGE_SIZE,
	    .uncoordinated = 1 };
	struct vix_matches_req escalated = { .page_size = PAGE_SIZE,
	    .escalated = 1, .uncoordinated = 1 };
	uint64_t next;

	html_begin(q, MSG_WORKLIST, "/worklist");
	page_h2(q, MSG_WL_UNCOORD);
	match_table(q, "worklist", &uncoord, &next);
	page_h2(q, MSG_WL_ESCALATED);
	match_table(q, "worklist-escalated", &escalated, &next);
	page_h2(q, MSG_WL_EXPIRING);
	worklist_expiring(q);
	html_end(q);
	html_send(q, 200, "OK");
}

/* ---- notifications ---- */

static enum msg
note_type(int type)
{
	switch (type) {
	case VIX_NOTIFY_MATCH_CREATED: return MSG_MATCH_CREATED;
	case VIX_NOTIFY_MATCH_JOINED: return MSG_MATCH_JOINED;
	case VIX_NOTIFY_MATCH_LEFT: return MSG_MATCH_LEFT;
	case VIX_NOTIFY_MATCH_CLOSED: return MSG_MATCH_CLOSED;
	case VIX_NOTIFY_COORDINATOR_ASSIGNED: return MSG_COORDINATOR_ASSIGNED;
	case VIX_NOTIFY_ESCALATION: return MSG_ESCALATION;
	case VIX_NOTIFY_SIGNAL_EXPIRED: return MSG_SIGNAL_EXPIRED;
	case VIX_NOTIFY_SIGNAL_REMOVED: return MSG_SIGNAL_REMOVED;
	case VIX_NOTIFY_REMINDER: return MSG_REMINDER;
	case VIX_NOTIFY_RELOCATED: return MSG_RELOCATED;
	case VIX_NOTIFY_RELOCATED_AWAY: return MSG_RELOCATED;
	default: return MSG_OTHER_TYPE;
	}
}

static void
note_row(struct req *q, const struct vix_notification *n)
{
	evbuffer_add_printf(q->b, "<tr class=\"utrecht-table__row\" "
	    "data-seq=\"%llu\" data-type=\"%s\"><td class=\"utrecht-table__"
	    "cell\">", (unsigned long long)n->seq,
	    vix_notification_type_name(n->type));
	html_date(q->b, n->time);
	evbuffer_add_printf(q->b, "</td><td class=\"utrecht-table__cell\">");
	html_msg(q, note_type(n->type));
	evbuffer_add_printf(q->b, "</td><td class=\"utrecht-table__cell\">");
	if (n->match_id != 0)
		evbuffer_add_printf(q->b, "<a class=\"utrecht-link\" href=\""
		    "/matches#match-%llu\">%llu</a>",
		    (unsigned long long)n->match_id,
		    (unsigned long long)n->match_id);
	evbuffer_add_printf(q->b, "</td><td class=\"utrecht-table__cell\">");
	html_esc(q->b, n->client_ref);
	evbuffer_add_printf(q->b, "</td><td class=\"utrecht-table__cell\">");
	html_esc(q->b, n->coordinator_name);
	evbuffer_add_printf(q->b, "</td></tr>");
}

void
page_notes(struct req *q)
{
	static const enum msg cols[] = { MSG_TIME, MSG_TYPE, MSG_MATCH,
	    MSG_REF_SHORT, MSG_COORDINATOR };
	const struct vix_notification *n;
	size_t i;

	html_begin(q, MSG_NOTES, "/notifications");
	evbuffer_add_printf(q->b, "<p class=\"utrecht-paragraph\">");
	html_msg(q, q->p->ix.nnotes > 0 ? MSG_NOTES_INTRO : MSG_NO_NOTES);
	evbuffer_add_printf(q->b, "</p>");
	page_table_head(q, "notifications", cols, sizeof(cols) /
	    sizeof(cols[0]));
	for (i = 0; (n = index_note(q->p, i)) != NULL; i++)
		note_row(q, n);
	evbuffer_add_printf(q->b, "</tbody></table>");
	html_end(q);
	html_send(q, 200, "OK");
}
