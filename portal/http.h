/*
 * One HTTP request to vix-portal as the pages see it: who asks (session,
 * user), in which language, with which form fields, and the page being
 * written.
 */
#ifndef VIX_PORTAL_HTTP_H
#define VIX_PORTAL_HTTP_H

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "msg.h"
#include "portal.h"

struct session;

struct req {
	struct portal			*p;
	struct evhttp_request		*r;
	struct evbuffer			*b;	/* the page */
	enum portal_lang		 lang;
	struct session			*s;
	const struct portal_user	*u;	/* NULL: nobody logged in */
	struct portal_user		 unlisted;	/* a user of the proxy
						   without a [user] section */
	struct evkeyvalq		 query;
	struct evkeyvalq		 form;	/* a POST's fields */
	char				 path[256];
	int				 post;
};

/* Start serving on p->conf->listen; fills p->url. */
int		 http_start(struct portal *p);
void		 http_stop(struct portal *p);

/* A form field of a POST, or a query parameter; NULL when absent. */
const char	*req_form(const struct req *q, const char *name);
const char	*req_query(const struct req *q, const char *name);
/* The session's cookie for q's answer (a new session, or none: ""). */
void		 req_set_session_cookie(struct req *q, const char *id);
/* Answer with a redirect (303 See Other) to path. */
void		 req_redirect(struct req *q, const char *path);

#endif
