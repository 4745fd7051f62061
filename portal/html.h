/*
 * Writing the portal's pages: escaping, the frame every page shares (with
 * its skip link, navigation and language switch), alerts and form fields
 * marked up with the NL Design System's (Utrecht) class names.
 */
#ifndef VIX_PORTAL_HTML_H
#define VIX_PORTAL_HTML_H

#include <stdint.h>

#include "http.h"

/* Text into HTML (element content or a quoted attribute value). */
void	html_esc(struct evbuffer *b, const char *s);
/* msg(q->lang, m), escaped. */
void	html_msg(struct req *q, enum msg m);

/* The head, the skip link and navigation (current: the page's path). */
void	html_begin(struct req *q, enum msg title, const char *current);
void	html_end(struct req *q);
/* Send the page with status code; the security headers are already set. */
void	html_send(struct req *q, int code, const char *reason);

/* A whole page with one alert: an error page (403, 404, ...). */
void	html_error_page(struct req *q, int code, const char *reason,
	    enum msg title, enum msg text, const char *detail);

enum alert_kind { ALERT_OK, ALERT_INFO, ALERT_ERROR };
/* An alert box: text, then detail (may be NULL) as it is, escaped. */
void	html_alert(struct req *q, enum alert_kind k, enum msg text,
	    const char *detail, const char *id);

/* The hidden CSRF field of the session's forms. */
void	html_csrf(struct req *q);

/* A date (Unix seconds, local time) as YYYY-MM-DD. */
void	html_date(struct evbuffer *b, int64_t t);

/* One labelled text input with its hint and error (each may be absent). */
struct html_field {
	const char	*name;		/* also its id */
	enum msg	 label;
	int		 hint;		/* enum msg, or -1: none */
	const char	*type;		/* "text", "date", "email", "tel" */
	const char	*value;		/* NULL: empty */
	const char	*error;		/* NULL: none */
	const char	*autocomplete;	/* NULL: "off" */
	int		 required;
};
void	html_field(struct req *q, const struct html_field *f);
/* The opening of a form field's wrapper and its label (for selects). */
void	html_field_open(struct req *q, const char *name, enum msg label,
	    const char *error);
void	html_field_close(struct req *q);

#endif
