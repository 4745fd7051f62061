/*
 * vix-portal's HTTP server (libevent's evhttp): security headers on every
 * answer, the language, who is asking (a session in development mode, the
 * proxy's user header otherwise), the CSRF check of every POST, and the
 * routes to the pages.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>

#include "html.h"
#include "log.h"
#include "pages.h"
#include "rules.h"
#include "session.h"

#define BODY_MAX	16384	/* a form of the portal is far smaller */
#define COOKIE_SESSION	"vix_session"
#define COOKIE_LANG	"vix_lang"

struct route {
	const char	*path;
	void		(*page)(struct req *);
	int		 anonymous;	/* served without a user */
	int		 coordinator;	/* only for coordinators */
};

static const struct route routes[] = {
	{ "/login", page_login, 1, 0 },
	{ "/logout", page_logout, 0, 0 },
	{ "/register", page_register, 0, 0 },
	{ "/signals", page_signals, 0, 0 },
	{ "/matches", page_matches, 0, 0 },
	{ "/worklist", page_worklist, 0, 1 },
	{ "/notifications", page_notes, 0, 0 },
};

const char *
req_form(const struct req *q, const char *name)
{
	return q->post ? evhttp_find_header(&q->form, name) : NULL;
}

const char *
req_query(const struct req *q, const char *name)
{
	return evhttp_find_header(&q->query, name);
}

static void
req_cookie(struct req *q, const char *name, const char *value,
    int http_only)
{
	char line[256];

	snprintf(line, sizeof(line), "%s=%s; Path=/; SameSite=Strict%s%s%s",
	    name, value, http_only ? "; HttpOnly" : "",
	    q->p->conf->secure_cookie ? "; Secure" : "",
	    value[0] == '\0' ? "; Max-Age=0" : "");
	evhttp_add_header(evhttp_request_get_output_headers(q->r),
	    "Set-Cookie", line);
}

void
req_set_session_cookie(struct req *q, const char *id)
{
	req_cookie(q, COOKIE_SESSION, id, 1);
}

void
req_redirect(struct req *q, const char *path)
{
	evhttp_add_header(evhttp_request_get_output_headers(q->r),
	    "Location", path);
	evhttp_send_reply(q->r, 303, "See Other", q->b);
}

/* The value of cookie name from the Cookie header, into out ("" if none). */
static void
req_cookie_value(struct req *q, const char *name, char *out, size_t len)
{
	const char *h = evhttp_find_header(
	    evhttp_request_get_input_headers(q->r), "Cookie");
	size_t n = strlen(name);

	out[0] = '\0';
	while (h != NULL && *h != '\0') {
		h += strspn(h, " ;");
		if (strncmp(h, name, n) == 0 && h[n] == '=') {
			h += n + 1;
			snprintf(out, len, "%.*s", (int)strcspn(h, ";"), h);
			return;
		}
		h = strchr(h, ';');
	}
}

static void
req_security_headers(struct evhttp_request *r)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r);

	/* data: images: the NL Design System CSS draws icons that way. */
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'self'; "
	    "img-src 'self' data:; frame-ancestors 'none'; "
	    "form-action 'self'; base-uri 'none'");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Cache-Control", "no-store");
}

/* ?lang=, then the cookie, then Accept-Language, then the configuration. */
static void
req_lang(struct req *q)
{
	const char *v = req_query(q, "lang");
	const char *al;
	char c[8];

	q->lang = q->p->conf->lang;
	if (v != NULL && (strcmp(v, "nl") == 0 || strcmp(v, "en") == 0)) {
		q->lang = v[0] == 'e' ? LANG_EN : LANG_NL;
		req_cookie(q, COOKIE_LANG, v, 1);
		return;
	}
	req_cookie_value(q, COOKIE_LANG, c, sizeof(c));
	if (strcmp(c, "nl") == 0 || strcmp(c, "en") == 0) {
		q->lang = c[0] == 'e' ? LANG_EN : LANG_NL;
		return;
	}
	al = evhttp_find_header(evhttp_request_get_input_headers(q->r),
	    "Accept-Language");
	for (; al != NULL && *al != '\0'; al += strcspn(al, ",")) {
		al += strspn(al, " ,");
		if (strncasecmp(al, "nl", 2) == 0 || strncasecmp(al, "en", 2) == 0) {
			q->lang = (al[0] | 0x20) == 'e' ? LANG_EN : LANG_NL;
			return;
		}
	}
}

/* Whether the request comes from the configured proxy's address. */
static int
req_from_proxy(struct req *q)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(q->r);
	char *addr = NULL;
	ev_uint16_t port;

	if (conn == NULL)
		return 0;
	evhttp_connection_get_peer(conn, &addr, &port);
	return addr != NULL && strcmp(addr, q->p->conf->trusted_proxy) == 0;
}

/*
 * Production: the user is the proxy's header, trusted only from the
 * proxy. Its session (for the CSRF token) follows the user. -1: refused
 * (answered).
 */
static int
req_auth_proxy(struct req *q, const char *cookie)
{
	const char *name, *why;
	int64_t now = session_now();

	if (!req_from_proxy(q)) {
		log_warnx("refused a request not from the proxy %s",
		    q->p->conf->trusted_proxy);
		html_error_page(q, 403, "Forbidden", MSG_FORBIDDEN,
		    MSG_NOT_PROXY, NULL);
		return -1;
	}
	name = evhttp_find_header(evhttp_request_get_input_headers(q->r),
	    q->p->conf->user_header);
	if (name == NULL || name[0] == '\0' ||
	    rules_check_actor(name, &why) == -1) {
		log_warnx("refused a request: header %s %s",
		    q->p->conf->user_header, name == NULL || name[0] == '\0' ?
		    "missing" : "not a valid user name");
		html_error_page(q, 403, "Forbidden", MSG_FORBIDDEN,
		    MSG_NO_USER, NULL);
		return -1;
	}
	q->s = session_find(q->p->sessions, cookie, now, NULL);
	if (q->s == NULL || strcmp(q->s->user, name) != 0) {
		if (q->s != NULL)
			session_end(q->s);
		if ((q->s = session_new(q->p->sessions, now)) == NULL)
			return -1;
		snprintf(q->s->user, sizeof(q->s->user), "%s", name);
		req_set_session_cookie(q, q->s->id);
	}
	if ((q->u = portal_user_find(q->p->conf, name)) == NULL) {
		snprintf(q->unlisted.name, sizeof(q->unlisted.name), "%s", name);
		q->unlisted.role = ROLE_PROFESSIONAL;
		q->u = &q->unlisted;
	}
	return 0;
}

/* Development: the session from /login. *expired: it timed out. */
static void
req_auth_dev(struct req *q, const char *cookie, int *expired)
{
	q->s = session_find(q->p->sessions, cookie, session_now(), expired);
	if (q->s != NULL && q->s->user[0] != '\0')
		q->u = portal_user_find(q->p->conf, q->s->user);
}

/* The urlencoded body of a POST into q->form. -1: not a form. */
static int
req_read_form(struct req *q)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(q->r);
	size_t len = evbuffer_get_length(in);
	char *body, *pair, *next;
	int rc = 0;

	if (len > BODY_MAX || (body = malloc(len + 1)) == NULL)
		return -1;
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	for (pair = body; pair != NULL && rc == 0; pair = next) {
		char *eq, *k, *v;
		size_t kl, vl;

		if ((next = strchr(pair, '&')) != NULL)
			*next++ = '\0';
		if (*pair == '\0')
			continue;
		if ((eq = strchr(pair, '=')) != NULL)
			*eq++ = '\0';
		k = evhttp_uridecode(pair, 1, &kl);
		v = evhttp_uridecode(eq != NULL ? eq : "", 1, &vl);
		if (k == NULL || v == NULL || kl != strlen(k) ||
		    vl != strlen(v) || evhttp_add_header(&q->form, k, v) != 0)
			rc = -1;
		if (v != NULL)
			OPENSSL_cleanse(v, vl);
		free(k);
		free(v);
	}
	OPENSSL_cleanse(body, len);
	free(body);
	return rc;
}

static const struct route *
req_route(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].path, path) == 0)
			return &routes[i];
	return NULL;
}

/* Who asks; -1 when the request is answered already (refused, redirected). */
static int
req_auth(struct req *q, const struct route *rt)
{
	char cookie[PORTAL_TOKEN_LEN + 8];
	int expired = 0;

	req_cookie_value(q, COOKIE_SESSION, cookie, sizeof(cookie));
	if (!q->p->conf->dev)
		return req_auth_proxy(q, cookie);
	req_auth_dev(q, cookie, &expired);
	if (q->u == NULL && (rt == NULL || !rt->anonymous)) {
		req_redirect(q, expired ? "/login?expired=1" : "/login");
		return -1;
	}
	return 0;
}

/* A POST's form and its CSRF token; -1 when refused (answered). */
static int
req_check_post(struct req *q)
{
	if (req_read_form(q) == -1) {
		html_error_page(q, 400, "Bad Request", MSG_BAD_REQUEST,
		    MSG_BAD_REQUEST, NULL);
		return -1;
	}
	if (!session_csrf_ok(q->s, req_form(q, "csrf"))) {
		log_warnx("refused a POST to %s: CSRF token %s", q->path,
		    req_form(q, "csrf") == NULL ? "missing" : "wrong");
		html_error_page(q, 403, "Forbidden", MSG_FORBIDDEN, MSG_CSRF,
		    NULL);
		return -1;
	}
	return 0;
}

static void
req_dispatch(struct req *q)
{
	const struct route *rt = req_route(q->path);

	req_lang(q);
	if (req_auth(q, rt) == -1)
		return;
	if (strcmp(q->path, "/") == 0) {
		req_redirect(q, q->u != NULL ? "/matches" : "/login");
		return;
	}
	if (rt == NULL) {
		html_error_page(q, 404, "Not Found", MSG_NOT_FOUND,
		    MSG_NOT_FOUND, NULL);
		return;
	}
	if (q->post && req_check_post(q) == -1)
		return;
	if (rt->coordinator && q->u->role != ROLE_COORDINATOR) {
		html_error_page(q, 403, "Forbidden", MSG_FORBIDDEN,
		    MSG_COORD_ONLY, NULL);
		return;
	}
	rt->page(q);
}

/* The request's path, decoded; -1 if it is not one the portal serves. */
static int
req_path(struct evhttp_request *r, char *out, size_t len)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r);
	const char *raw = u != NULL ? evhttp_uri_get_path(u) : NULL;
	size_t n;
	char *dec;

	if (raw == NULL || raw[0] == '\0')
		raw = "/";
	if ((dec = evhttp_uridecode(raw, 0, &n)) == NULL)
		return -1;
	if (n != strlen(dec) || n >= len || dec[0] != '/') {
		free(dec);
		return -1;
	}
	memcpy(out, dec, n + 1);
	free(dec);
	return 0;
}

static void
http_request(struct evhttp_request *r, void *arg)
{
	struct req q = { .p = arg, .r = r };
	enum evhttp_cmd_type cmd = evhttp_request_get_command(r);
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(r);

	req_security_headers(r);
	TAILQ_INIT(&q.query);
	TAILQ_INIT(&q.form);
	if ((q.b = evbuffer_new()) == NULL) {
		evhttp_send_error(r, 500, NULL);
		return;
	}
	q.post = cmd == EVHTTP_REQ_POST;
	if (req_path(r, q.path, sizeof(q.path)) == -1) {
		snprintf(q.path, sizeof(q.path), "/");
		html_error_page(&q, 400, "Bad Request", MSG_BAD_REQUEST,
		    MSG_BAD_REQUEST, NULL);
	} else if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST &&
	    cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(r),
		    "Allow", "GET, HEAD, POST");
		evhttp_send_reply(r, 405, "Method Not Allowed", q.b);
	} else if (strncmp(q.path, "/static/", 8) == 0) {
		static_serve(q.p, r, q.path);
	} else {
		if (u != NULL && evhttp_uri_get_query(u) != NULL)
			evhttp_parse_query_str(evhttp_uri_get_query(u),
			    &q.query);
		req_dispatch(&q);
	}
	evhttp_clear_headers(&q.query);
	evhttp_clear_headers(&q.form);
	evbuffer_free(q.b);
}

int
http_start(struct portal *p)
{
	char host[256];
	const char *colon = strrchr(p->conf->listen, ':');
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[INET6_ADDRSTRLEN];
	int port;

	if (colon == NULL || (size_t)(colon - p->conf->listen) >= sizeof(host)) {
		log_warnx("listen: '%s' is not HOST:PORT", p->conf->listen);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - p->conf->listen),
	    p->conf->listen);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if ((p->http = evhttp_new(p->base)) == NULL)
		return -1;
	evhttp_set_max_body_size(p->http, BODY_MAX);
	evhttp_set_timeout(p->http, 30);
	evhttp_set_allowed_methods(p->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD);
	evhttp_set_gencb(p->http, http_request, p);
	bs = evhttp_bind_socket_with_handle(p->http, host,
	    (ev_uint16_t)atoi(colon + 1));
	if (bs == NULL) {
		log_warnx("listen: cannot bind %s", p->conf->listen);
		return -1;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	    &sl) == -1)
		return -1;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof(addr));
		port = ntohs(s6->sin6_port);
		snprintf(p->url, sizeof(p->url), "http://[%s]:%d/", addr, port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof(addr));
		port = ntohs(s4->sin_port);
		snprintf(p->url, sizeof(p->url), "http://%s:%d/", addr, port);
	}
	return 0;
}

void
http_stop(struct portal *p)
{
	if (p->http != NULL)
		evhttp_free(p->http);
	p->http = NULL;
}
