/* vix-keyd's connections and the answers to its three requests. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <sodium.h>

#include "addr.h"
#include "frame.h"
#include "keyd.h"
#include "keyd.pb-c.h"
#include "log.h"
#include "oprf.h"
#include "tls.h"

#define KSERVE_MAX_FRAME	FRAME_DEFAULT_MAX	/* 256 elements: ~9 KiB */
#define KSERVE_BUDGET		(256 * 1024)	/* decoder memory per request */
#define KSERVE_OUT_HIGH		(256 * 1024)	/* then stop reading */
#define KSERVE_HANDSHAKE_S	10
#define KSERVE_IDLE_S		600
#define KSERVE_LOG_MS		1000	/* refusals: a log line a second */

struct kconn {
	TAILQ_ENTRY(kconn)	 entry;
	struct keyd		*k;
	struct bufferevent	*bev;
	uint64_t		 id;
	char			 peer[64];
	char			 oin[OIN_LEN + 1];	/* "" until the handshake */
	int			 ready;		/* handshake done */
	int			 closing;	/* draining, then freed */
};

typedef Vix__Keyd__V1__KeyRequest KeyRequest;
typedef Vix__Keyd__V1__KeyResponse KeyResponse;

/* A status's name for the audit file: "ok", "permission_denied", ... */
static const char *
kserve_code_name(int code)
{
	static const char *const names[] = { "ok", "cancelled", "unknown",
	    "invalid_argument", "deadline_exceeded", "not_found",
	    "already_exists", "permission_denied", "resource_exhausted",
	    "failed_precondition", "aborted", "out_of_range",
	    "unimplemented", "internal", "unavailable", "data_loss",
	    "unauthenticated" };

	return code >= 0 && code < (int)(sizeof(names) / sizeof(names[0])) ?
	    names[code] : "unknown";
}

/* What one request leaves for its response. */
struct kanswer {
	KeyResponse		 resp;
	Vix__V1__Status		 status;
	char			 msg[256];
	/* Evaluate */
	Vix__Keyd__V1__EvaluateReply	 eval;
	ProtobufCBinaryData		*evaluated;
	uint8_t				(*ev_bytes)[OPRF_ELEMENT_LEN];
	/* KeyInfo */
	Vix__Keyd__V1__KeyInfoReply	 info;
	Vix__Keyd__V1__KeyVersion	 vers[KEYS_MAX];
	Vix__Keyd__V1__KeyVersion	*versp[KEYS_MAX];
	/* Token */
	Vix__Keyd__V1__TokenReply	 token;
	uint8_t				 delta[KEYS_SCALAR_LEN];
	uint8_t				 from_id[KEYS_ID_LEN];
	uint8_t				 to_id[KEYS_ID_LEN];
	uint8_t				 key_id[KEYS_ID_LEN];
};

static int __attribute__((format(printf, 3, 4)))
kserve_refuse(struct kanswer *a, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->msg, sizeof(a->msg), fmt, ap);
	va_end(ap);
	a->status.code = code;
	a->status.message = a->msg;
	return code;
}

static uint64_t
kserve_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* What refuses an Evaluate before any work: role, size, rate. */
static int
kserve_evaluate_allowed(struct keyd *k, const struct org *org,
    const Vix__Keyd__V1__Evaluate *e, struct kanswer *a)
{
	struct ratelimit_refusal why;
	size_t n = e->n_blinded;

	if (!(org->roles & (ROLE_REGISTER | ROLE_ADMIN)))
		return kserve_refuse(a, VIX__V1__STATUS__CODE__PERMISSION_DENIED,
		    "evaluate needs the role register or admin; organisation "
		    "%s has not got it", org->id);
	if (n == 0 || n > KCONF_BATCH_MAX)
		return kserve_refuse(a, VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
		    "blinded: %zu elements; 1 to %d per request", n,
		    KCONF_BATCH_MAX);
	for (size_t i = 0; i < n; i++)
		if (e->blinded[i].len != OPRF_ELEMENT_LEN)
			return kserve_refuse(a,
			    VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
			    "blinded[%zu]: %zu bytes; an element is %d", i,
			    e->blinded[i].len, OPRF_ELEMENT_LEN);
	if (ratelimit_take_n(k->rl, kaudit_slot(&k->audit, org->id),
	    (unsigned)n, kserve_now_ns(), &why) == -1) {
		if (why.first)
			log_warnx("org %s: over the rate limit (%u evaluations/s)",
			    org->id, why.rate);
		a->status.retry_after_ms = why.retry_ms;
		return kserve_refuse(a,
		    VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED, "over the "
		    "organisation's limit of %u evaluations per second; retry "
		    "after %u ms", why.rate, why.retry_ms);
	}
	return 0;
}

static int
kserve_evaluate(struct keyd *k, const struct org *org,
    const Vix__Keyd__V1__Evaluate *e, struct kanswer *a)
{
	const struct keys_version *kv = keys_active(k->keys);
	size_t n = e->n_blinded;
	int code;

	if ((code = kserve_evaluate_allowed(k, org, e, a)) != 0)
		return code;
	if ((a->evaluated = calloc(n, sizeof(*a->evaluated))) == NULL ||
	    (a->ev_bytes = calloc(n, sizeof(*a->ev_bytes))) == NULL)
		return kserve_refuse(a, VIX__V1__STATUS__CODE__INTERNAL,
		    "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (oprf_blind_evaluate(kv->k, e->blinded[i].data,
		    a->ev_bytes[i]) != 0)
			return kserve_refuse(a,
			    VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
			    "blinded[%zu]: not a valid ristretto255 element, "
			    "or the identity", i);
		a->evaluated[i].data = a->ev_bytes[i];
		a->evaluated[i].len = OPRF_ELEMENT_LEN;
	}
	memcpy(a->key_id, kv->id, KEYS_ID_LEN);
	a->eval.key_version = kv->version;
	a->eval.key_id.data = a->key_id;
	a->eval.key_id.len = KEYS_ID_LEN;
	a->eval.n_evaluated = n;
	a->eval.evaluated = a->evaluated;
	a->resp.body_case = VIX__KEYD__V1__KEY_RESPONSE__BODY_EVALUATE;
	a->resp.evaluate = &a->eval;
	return 0;
}

static int
kserve_info(struct keyd *k, struct kanswer *a)
{
	const struct keys *ks = k->keys;

	for (size_t i = 0; i < ks->n; i++) {
		vix__keyd__v1__key_version__init(&a->vers[i]);
		a->vers[i].version = ks->v[i].version;
		a->vers[i].key_id.data = (uint8_t *)ks->v[i].id;
		a->vers[i].key_id.len = KEYS_ID_LEN;
		a->vers[i].active = ks->v[i].active;
		a->versp[i] = &a->vers[i];
	}
	a->info.n_keys = ks->n;
	a->info.keys = a->versp;
	a->info.current = keys_active(ks)->version;
	a->resp.body_case = VIX__KEYD__V1__KEY_RESPONSE__BODY_INFO;
	a->resp.info = &a->info;
	return 0;
}

/* keys_modify's change for a Token: `to` becomes the active version. */
static int
kserve_activate(struct keys *ks, void *arg, struct diag *d)
{
	const struct keys_version *want = arg, *have;

	/* The file may have changed since the last reload: same key? */
	if ((have = keys_find(ks, want->version)) == NULL ||
	    sodium_memcmp(have->id, want->id, KEYS_ID_LEN) != 0) {
		diag_add(d, NULL, 0, "version %u in the key file is not the "
		    "one loaded; reload (SIGHUP) first", want->version);
		return -1;
	}
	if (have->active)
		return 1;	/* nothing to write */
	return keys_activate(ks, want->version);
}

static int
kserve_token(struct keyd *k, const struct org *org,
    const Vix__Keyd__V1__Token *t, struct kanswer *a)
{
	const struct keys_version *from, *to;
	char why[256];
	struct diag d;

	if (!(org->roles & ROLE_INDEX))
		return kserve_refuse(a, VIX__V1__STATUS__CODE__PERMISSION_DENIED,
		    "token needs the role index; organisation %s has not got "
		    "it", org->id);
	from = keys_find(k->keys, t->from);
	to = keys_find(k->keys, t->to);
	if (from == NULL || to == NULL)
		return kserve_refuse(a, VIX__V1__STATUS__CODE__NOT_FOUND,
		    "%s: no key version %u", from == NULL ? "from" : "to",
		    from == NULL ? t->from : t->to);
	if (keys_delta(from->k, to->k, a->delta) == -1)
		return kserve_refuse(a, VIX__V1__STATUS__CODE__INTERNAL,
		    "cannot compute the token");
	/* Persisted before the answer: after it, clients get only `to`. */
	diag_init(&d);
	if (keys_modify(k->conf.key_file, 0, kserve_activate, (void *)to,
	    &d) == -1) {
		log_warnx("token %u -> %u: %s", t->from, t->to,
		    diag_first(&d, why, sizeof(why)));
		sodium_memzero(a->delta, sizeof(a->delta));
		return kserve_refuse(a, VIX__V1__STATUS__CODE__UNAVAILABLE,
		    "cannot make version %u active in the key file: %s", t->to,
		    why);
	}
	if (!to->active && keys_activate(k->keys, t->to) == 0)
		log_info("key version %u is active (token from %u for %s)",
		    t->to, t->from, org->id);
	memcpy(a->from_id, from->id, KEYS_ID_LEN);
	memcpy(a->to_id, to->id, KEYS_ID_LEN);
	a->token.delta = (ProtobufCBinaryData){ KEYS_SCALAR_LEN, a->delta };
	a->token.from_key_id = (ProtobufCBinaryData){ KEYS_ID_LEN, a->from_id };
	a->token.to_key_id = (ProtobufCBinaryData){ KEYS_ID_LEN, a->to_id };
	a->resp.body_case = VIX__KEYD__V1__KEY_RESPONSE__BODY_TOKEN;
	a->resp.token = &a->token;
	return 0;
}

/* Run the request for org (NULL: not in orgs.conf); audit it. */
static void
kserve_dispatch(struct keyd *k, const char *oin, const struct org *org,
    const KeyRequest *req, struct kanswer *a)
{
	const char *action = "none";
	size_t count = 0;
	int code;

	switch (req->body_case) {
	case VIX__KEYD__V1__KEY_REQUEST__BODY_EVALUATE:
		action = "evaluate";
		count = req->evaluate->n_blinded;
		break;
	case VIX__KEYD__V1__KEY_REQUEST__BODY_INFO:
		action = "info";
		break;
	case VIX__KEYD__V1__KEY_REQUEST__BODY_TOKEN:
		action = "token";
		break;
	default:
		break;
	}
	if (org == NULL)
		code = kserve_refuse(a, VIX__V1__STATUS__CODE__UNAUTHENTICATED,
		    "the certificate's OIN %s is not in orgs.conf", oin);
	else if (req->body_case == VIX__KEYD__V1__KEY_REQUEST__BODY_EVALUATE)
		code = kserve_evaluate(k, org, req->evaluate, a);
	else if (req->body_case == VIX__KEYD__V1__KEY_REQUEST__BODY_INFO)
		code = kserve_info(k, a);
	else if (req->body_case == VIX__KEYD__V1__KEY_REQUEST__BODY_TOKEN)
		code = kserve_token(k, org, req->token, a);
	else
		code = kserve_refuse(a, VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
		    "the request has no body (evaluate, info or token)");
	kaudit_record(&k->audit, org, oin, action, count,
	    kserve_code_name(code));
}

int
kserve_answer(struct keyd *k, const char *oin, const uint8_t *buf, size_t len,
    uint8_t **out, size_t *outlen)
{
	struct frame_budget b;
	struct kanswer *a;
	KeyRequest *req;
	int rc = -1;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	vix__keyd__v1__key_response__init(&a->resp);
	vix__v1__status__init(&a->status);
	vix__keyd__v1__evaluate_reply__init(&a->eval);
	vix__keyd__v1__key_info_reply__init(&a->info);
	vix__keyd__v1__token_reply__init(&a->token);
	a->resp.status = &a->status;
	frame_budget_init(&b, KSERVE_BUDGET);
	req = (KeyRequest *)frame_unpack(&vix__keyd__v1__key_request__descriptor,
	    &b, buf, len);
	if (req == NULL) {
		kserve_refuse(a, VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
		    "malformed message");
		kaudit_record(&k->audit, orgs_by_oin(k->orgs, oin), oin,
		    "malformed", 0, "invalid_argument");
	} else {
		a->resp.id = req->id;
		kserve_dispatch(k, oin, orgs_by_oin(k->orgs, oin), req, a);
	}
	*outlen = frame_packed_size(&a->resp.base);
	if ((*out = malloc(*outlen)) != NULL) {
		frame_pack(&a->resp.base, *out);
		rc = 0;
	}
	if (req != NULL)
		frame_free_unpacked(&req->base, &b);
	sodium_memzero(a->delta, sizeof(a->delta));
	free(a->evaluated);
	free(a->ev_bytes);
	free(a);
	return rc;
}

static void kconn_event(struct bufferevent *, short, void *);
static void kconn_read(struct bufferevent *, void *);
static void kconn_write(struct bufferevent *, void *);

static void
kconn_free(struct kconn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	if (c->ready && ssl != NULL)
		SSL_shutdown(ssl);	/* close_notify, best effort */
	bufferevent_free(c->bev);
	TAILQ_REMOVE(&c->k->conns, c, entry);
	c->k->nconns--;
	free(c);
}

/*
 * The one way a connection ends, reason logged once. What is queued is
 * sent first (stop reading, wait at most 5 s for the output to drain),
 * unless the connection is broken; a second call (the drain failed or
 * timed out) frees it.
 */
static void
kconn_teardown(struct kconn *c, const char *reason, int broken)
{
	uint64_t quiet;

	if (c->closing) {
		kconn_free(c);
		return;
	}
	c->closing = 1;
	if (!c->ready) {
		if (log_limit_pass(&c->k->refusal_log, KSERVE_LOG_MS, &quiet))
			log_info("conn %llu (%s): TLS handshake failed: %s "
			    "(%llu more since the last report)",
			    (unsigned long long)c->id, c->peer, reason,
			    (unsigned long long)quiet);
	} else
		log_debug("conn %llu (%s, OIN %s): %s",
		    (unsigned long long)c->id, c->peer, c->oin, reason);
	bufferevent_disable(c->bev, EV_READ);
	if (broken || !c->ready ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		kconn_free(c);
		return;
	}
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(c->bev, NULL, &(struct timeval){ 5, 0 });
}

/* Answer every whole frame waiting, until the output is too full. */
static void
kconn_process(struct kconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t have, hdr, body, outlen;
	enum frame_result fr;
	uint8_t *p, *resp;

	while (!c->closing && evbuffer_get_length(out) < KSERVE_OUT_HIGH) {
		have = evbuffer_get_length(in);
		p = evbuffer_pullup(in, have < FRAME_HEADER_MAX ? (ssize_t)have :
		    FRAME_HEADER_MAX);
		fr = frame_decode_header(p, have < FRAME_HEADER_MAX ? have :
		    FRAME_HEADER_MAX, KSERVE_MAX_FRAME, &hdr, &body);
		if (fr == FRAME_NEED_MORE)
			return;
		if (fr != FRAME_OK) {
			kconn_teardown(c, frame_strerror(fr), 0);
			return;
		}
		if (have < hdr + body)
			return;
		p = evbuffer_pullup(in, (ssize_t)(hdr + body));
		if (kserve_answer(c->k, c->oin, p + hdr, body, &resp,
		    &outlen) == -1) {
			kconn_teardown(c, "out of memory", 0);
			return;
		}
		evbuffer_drain(in, hdr + body);
		evbuffer_add(out, resp, outlen);
		sodium_memzero(resp, outlen);	/* a Token's delta */
		free(resp);
	}
	/* Full: read again when the client has taken its answers. */
	if (!c->closing)
		bufferevent_disable(c->bev, EV_READ);
}

static void
kconn_read(struct bufferevent *bev, void *arg)
{
	kconn_process(arg);
}

static void
kconn_write(struct bufferevent *bev, void *arg)
{
	struct kconn *c = arg;

	if (c->closing) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			kconn_free(c);
		return;
	}
	if (!(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		kconn_process(c);
	}
}

/* The handshake is done: the certificate must carry an OIN. */
static void
kconn_ready(struct kconn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *peer = SSL_get0_peer_certificate(ssl);
	enum oin_result r;

	c->ready = 1;
	if (peer == NULL || (r = tls_cert_oin(peer, c->oin)) != OIN_OK) {
		c->oin[0] = '\0';
		log_warnx("conn %llu (%s): refused: %s",
		    (unsigned long long)c->id, c->peer, peer == NULL ?
		    "no client certificate" : tls_oin_strerror(r));
		kconn_teardown(c, "no OIN in the certificate", 0);
		return;
	}
	bufferevent_set_timeouts(c->bev, &(struct timeval){ KSERVE_IDLE_S, 0 },
	    NULL);
	log_debug("conn %llu (%s): OIN %s", (unsigned long long)c->id,
	    c->peer, c->oin);
}

static void
kconn_event(struct bufferevent *bev, short what, void *arg)
{
	struct kconn *c = arg;
	unsigned long e;
	char why[256];

	if (what & BEV_EVENT_CONNECTED) {
		kconn_ready(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		kconn_teardown(c, c->closing ? "could not send its answers" :
		    c->ready ? "idle" : "handshake timed out", 0);
		return;
	}
	snprintf(why, sizeof(why), "%s", what & BEV_EVENT_EOF ? "closed by "
	    "the client" : "connection error");
	/* OpenSSL 3 reports a client's plain close as this error. */
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (ERR_GET_REASON(e) != SSL_R_UNEXPECTED_EOF_WHILE_READING)
			ERR_error_string_n(e, why, sizeof(why));
	kconn_teardown(c, why, 1);
}

static void
kserve_peer(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	}
}

static void
kserve_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct keyd *k = arg;
	struct kconn *c;
	uint64_t quiet;
	SSL *ssl;

	if (k->nconns >= k->conf.max_connections) {
		if (log_limit_pass(&k->refusal_log, KSERVE_LOG_MS, &quiet))
			log_warnx("max_connections (%u) reached; connection "
			    "refused (%llu more since the last report)",
			    k->conf.max_connections, (unsigned long long)quiet);
		evutil_closesocket(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (ssl = SSL_new(k->ctx)) == NULL) {
		log_warnx("accept: out of memory; connection dropped");
		free(c);
		evutil_closesocket(fd);
		return;
	}
	/* On failure this frees ssl and closes fd (CLOSE_ON_FREE). */
	c->bev = bufferevent_openssl_socket_new(k->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		log_warnx("accept: cannot create a TLS buffer");
		free(c);
		return;
	}
	c->k = k;
	c->id = ++k->serial;
	kserve_peer(sa, c->peer, sizeof(c->peer));
	TAILQ_INSERT_TAIL(&k->conns, c, entry);
	k->nconns++;
	bufferevent_setcb(c->bev, kconn_read, kconn_write, kconn_event, c);
	bufferevent_set_timeouts(c->bev,
	    &(struct timeval){ KSERVE_HANDSHAKE_S, 0 }, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
kserve_accept_error(struct evconnlistener *l, void *arg)
{
	log_warn("accept");
}

const char *
kserve_bound(struct keyd *k, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(evconnlistener_get_fd(k->listener),
	    (struct sockaddr *)&ss, &sl) == -1)
		return k->conf.listen;
	kserve_peer((struct sockaddr *)&ss, buf, len);
	return buf;
}

int
kserve_listen(struct keyd *k)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE |
	    AI_NUMERICSERV }, *res;
	char host[256], portstr[8], bound[80];
	const char *why;
	uint16_t port;
	int rc;

	if (addr_split(k->conf.listen, host, sizeof(host), &port, &why) == -1) {
		log_warnx("listen %s: %s", k->conf.listen, why);
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		log_warnx("listen %s: %s", k->conf.listen, gai_strerror(rc));
		return -1;
	}
	k->listener = evconnlistener_new_bind(k->base, kserve_accept, k,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    128, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (k->listener == NULL) {
		log_warn("listen %s", k->conf.listen);
		return -1;
	}
	evconnlistener_set_error_cb(k->listener, kserve_accept_error);
	log_info("vix-keyd serving on %s", kserve_bound(k, bound,
	    sizeof(bound)));
	return 0;
}

void
kserve_stop(struct keyd *k)
{
	struct kconn *c;

	if (k->listener != NULL)
		evconnlistener_free(k->listener);
	k->listener = NULL;
	while ((c = TAILQ_FIRST(&k->conns)) != NULL)
		kconn_free(c);
}
