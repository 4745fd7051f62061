/* The pages' HTML (html.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "html.h"
#include "session.h"

void
html_esc(struct evbuffer *b, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *e = NULL;

		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		}
		if (e == NULL)
			continue;
		evbuffer_add(b, run, (size_t)(s - run));
		evbuffer_add(b, e, strlen(e));
		run = s + 1;
	}
	evbuffer_add(b, run, (size_t)(s - run));
}

void
html_msg(struct req *q, enum msg m)
{
	html_esc(q->b, msg(q->lang, m));
}

static void
html_nav_item(struct req *q, const char *path, enum msg m,
    const char *current)
{
	evbuffer_add_printf(q->b, "<li class=\"portal-nav__item\"><a "
	    "class=\"utrecht-link utrecht-link--html-a\" href=\"%s\"%s>", path,
	    strcmp(path, current) == 0 ? " aria-current=\"page\"" : "");
	html_msg(q, m);
	evbuffer_add_printf(q->b, "</a></li>");
}

static void
html_nav(struct req *q, const char *current)
{
	if (q->u == NULL)
		return;
	evbuffer_add_printf(q->b, "<nav class=\"portal-nav\" aria-label=\"");
	html_msg(q, MSG_NAV);
	evbuffer_add_printf(q->b, "\"><ul class=\"portal-nav__list\">");
	html_nav_item(q, "/register", MSG_REGISTER, current);
	html_nav_item(q, "/signals", MSG_SIGNALS, current);
	html_nav_item(q, "/matches", MSG_MATCHES, current);
	if (q->u->role == ROLE_COORDINATOR)
		html_nav_item(q, "/worklist", MSG_WORKLIST, current);
	html_nav_item(q, "/notifications", MSG_NOTES, current);
	evbuffer_add_printf(q->b, "</ul></nav>");
}

/* Who is logged in, the logout button (development mode) and the language. */
static void
html_user_bar(struct req *q, const char *current)
{
	evbuffer_add_printf(q->b, "<div class=\"portal-user\">");
	if (q->u != NULL) {
		evbuffer_add_printf(q->b, "<p class=\"utrecht-paragraph\">");
		html_esc(q->b, q->u->name);
		evbuffer_add_printf(q->b, " (");
		html_msg(q, q->u->role == ROLE_COORDINATOR ?
		    MSG_ROLE_COORDINATOR : MSG_ROLE_PROFESSIONAL);
		evbuffer_add_printf(q->b, ")</p>");
	}
	if (q->u != NULL && q->p->conf->dev) {
		evbuffer_add_printf(q->b, "<form method=\"post\" "
		    "action=\"/logout\" class=\"portal-inline\">");
		html_csrf(q);
		evbuffer_add_printf(q->b, "<button type=\"submit\" "
		    "class=\"utrecht-button utrecht-button--secondary-action\">");
		html_msg(q, MSG_LOGOUT);
		evbuffer_add_printf(q->b, "</button></form>");
	}
	evbuffer_add_printf(q->b, "<a class=\"utrecht-link utrecht-link--html-a"
	    "\" href=\"");
	html_esc(q->b, current);
	evbuffer_add_printf(q->b, "?lang=%s\" lang=\"%s\" hreflang=\"%s\">",
	    msg(q->lang, MSG_OTHER_LANG_CODE), msg(q->lang, MSG_OTHER_LANG_CODE),
	    msg(q->lang, MSG_OTHER_LANG_CODE));
	html_msg(q, MSG_OTHER_LANG);
	evbuffer_add_printf(q->b, "</a></div>");
}

void
html_begin(struct req *q, enum msg title, const char *current)
{
	evbuffer_add_printf(q->b, "<!DOCTYPE html>\n<html lang=\"%s\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\""
	    "width=device-width, initial-scale=1\"><title>",
	    msg(q->lang, MSG_LANG_CODE));
	html_msg(q, title);
	evbuffer_add_printf(q->b, " &#8211; ");
	html_msg(q, MSG_PORTAL);
	/*
	 * An empty icon of its own, or every browser asks for /favicon.ico
	 * on every page and reports the 404 as an error in it.
	 */
	evbuffer_add_printf(q->b, "</title><link rel=\"icon\" href=\"data:,\">"
	    "<link rel=\"stylesheet\" href=\"/static/utrecht.css\">"
	    "<link rel=\"stylesheet\" href=\"/static/theme.css\">"
	    "<link rel=\"stylesheet\" href=\"/static/portal.css\">"
	    "</head><body class=\"voorbeeld-theme utrecht-page-body "
	    "utrecht-body\"><a class=\"portal-skip utrecht-link\" "
	    "href=\"#main\">");
	html_msg(q, MSG_SKIP);
	evbuffer_add_printf(q->b, "</a><div class=\"utrecht-page\">"
	    "<header class=\"utrecht-page-header portal-header\">"
	    "<p class=\"portal-brand\">");
	html_msg(q, MSG_PORTAL);
	if (q->p->ix.org.name[0] != '\0') {
		evbuffer_add_printf(q->b, " &#183; ");
		html_esc(q->b, q->p->ix.org.name);
	}
	evbuffer_add_printf(q->b, "</p>");
	html_user_bar(q, current);
	html_nav(q, current);
	evbuffer_add_printf(q->b, "</header><main id=\"main\" "
	    "class=\"utrecht-page-content\" tabindex=\"-1\">"
	    "<h1 class=\"utrecht-heading-1\">");
	html_msg(q, title);
	evbuffer_add_printf(q->b, "</h1>");
}

void
html_end(struct req *q)
{
	evbuffer_add_printf(q->b, "</main></div></body></html>\n");
}

void
html_send(struct req *q, int code, const char *reason)
{
	evhttp_add_header(evhttp_request_get_output_headers(q->r),
	    "Content-Type", "text/html; charset=utf-8");
	evhttp_send_reply(q->r, code, reason, q->b);
}

void
html_error_page(struct req *q, int code, const char *reason, enum msg title,
    enum msg text, const char *detail)
{
	html_begin(q, title, q->path);
	html_alert(q, ALERT_ERROR, text, detail, NULL);
	html_end(q);
	html_send(q, code, reason);
}

void
html_alert(struct req *q, enum alert_kind k, enum msg text,
    const char *detail, const char *id)
{
	static const char *const kinds[] = { "ok", "info", "error" };

	evbuffer_add_printf(q->b, "<div class=\"utrecht-alert "
	    "utrecht-alert--%s\" role=\"%s\"%s%s%s><div "
	    "class=\"utrecht-alert__message\"><p class=\"utrecht-paragraph\">",
	    kinds[k], k == ALERT_ERROR ? "alert" : "status",
	    id != NULL ? " id=\"" : "", id != NULL ? id : "",
	    id != NULL ? "\"" : "");
	html_msg(q, text);
	if (detail != NULL) {
		evbuffer_add_printf(q->b, " ");
		html_esc(q->b, detail);
	}
	evbuffer_add_printf(q->b, "</p></div></div>");
}

void
html_csrf(struct req *q)
{
	if (q->s == NULL)
		return;
	evbuffer_add_printf(q->b, "<input type=\"hidden\" name=\"csrf\" "
	    "value=\"%s\">", q->s->csrf);
}

void
html_date(struct evbuffer *b, int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d", &tm) == 0)
		snprintf(buf, sizeof(buf), "-");
	evbuffer_add_printf(b, "%s", buf);
}

void
html_field_open(struct req *q, const char *name, enum msg label,
    const char *error)
{
	evbuffer_add_printf(q->b, "<div class=\"utrecht-form-field "
	    "utrecht-form-field--text%s\"><div class=\"utrecht-form-field__label"
	    "\"><label class=\"utrecht-form-label\" for=\"%s\">",
	    error != NULL ? " utrecht-form-field--invalid" : "", name);
	html_msg(q, label);
	evbuffer_add_printf(q->b, "</label></div>");
	if (error == NULL)
		return;
	evbuffer_add_printf(q->b, "<div class=\"utrecht-form-field__description "
	    "utrecht-form-field-description utrecht-form-field-description--"
	    "invalid\" id=\"%s-error\">", name);
	html_esc(q->b, error);
	evbuffer_add_printf(q->b, "</div>");
}

void
html_field_close(struct req *q)
{
	evbuffer_add_printf(q->b, "</div>");
}

/* aria-describedby of a field: its hint and its error, as there are. */
static void
html_described_by(struct req *q, const struct html_field *f)
{
	if (f->hint < 0 && f->error == NULL)
		return;
	evbuffer_add_printf(q->b, " aria-describedby=\"%s%s%s%s%s\"",
	    f->hint >= 0 ? f->name : "", f->hint >= 0 ? "-hint" : "",
	    f->hint >= 0 && f->error != NULL ? " " : "",
	    f->error != NULL ? f->name : "", f->error != NULL ? "-error" : "");
}

void
html_field(struct req *q, const struct html_field *f)
{
	html_field_open(q, f->name, f->label, f->error);
	if (f->hint >= 0) {
		evbuffer_add_printf(q->b, "<div class=\"utrecht-form-field__"
		    "description utrecht-form-field-description\" "
		    "id=\"%s-hint\">", f->name);
		html_msg(q, (enum msg)f->hint);
		evbuffer_add_printf(q->b, "</div>");
	}
	evbuffer_add_printf(q->b, "<div class=\"utrecht-form-field__input\">"
	    "<input class=\"utrecht-textbox utrecht-textbox--html-input%s\" "
	    "id=\"%s\" name=\"%s\" type=\"%s\" autocomplete=\"%s\"%s%s",
	    f->error != NULL ? " utrecht-textbox--invalid" : "", f->name,
	    f->name, f->type, f->autocomplete ? f->autocomplete : "off",
	    f->required ? " required aria-required=\"true\"" : "",
	    f->error != NULL ? " aria-invalid=\"true\"" : "");
	html_described_by(q, f);
	evbuffer_add_printf(q->b, " value=\"");
	html_esc(q->b, f->value != NULL ? f->value : "");
	evbuffer_add_printf(q->b, "\"></div>");
	html_field_close(q);
}
