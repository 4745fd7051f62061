/*
 * The portal's pages, one function each, for GET and POST alike (q->post).
 * They run after the request is authenticated and, for a POST, its CSRF
 * token checked.
 */
#ifndef VIX_PORTAL_PAGES_H
#define VIX_PORTAL_PAGES_H

#include "http.h"

void	page_login(struct req *q);
void	page_logout(struct req *q);
void	page_register(struct req *q);
void	page_signals(struct req *q);
void	page_matches(struct req *q);
void	page_worklist(struct req *q);
void	page_notes(struct req *q);

/*
 * A file under /static/ from the allowlist: the NL Design System's CSS
 * from static_dir, and the portal's own. Anything else is 404.
 */
void	static_serve(struct portal *p, struct evhttp_request *r,
	    const char *path);

#endif
