/* Blocking client of vix-keyd: see keyclient.h. */
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "addr.h"
#include "frame.h"
#include "keyclient.h"
#include "keyd.pb-c.h"
#include "tlspolicy.h"

#define KEYCLIENT_TIMEOUT_MS	10000
#define KEYCLIENT_MAX_FRAME	FRAME_DEFAULT_MAX
#define KEYCLIENT_BUDGET	(256 * 1024)

typedef Vix__Keyd__V1__KeyRequest KeyRequest;
typedef Vix__Keyd__V1__KeyResponse KeyResponse;

struct keyclient {
	SSL_CTX		*ctx;
	SSL		*ssl;
	int		 fd;
	char		 host[256];
	char		 port[8];
	int		 timeout_ms;
	uint64_t	 next_id;
	struct frame_budget budget;
};

/* How a call failed: the connection (worth one more try) or not. */
enum kc_fail {
	KC_BROKEN = -2,		/* closed, reset: connect again */
	KC_FAILED = -1,		/* timeout, TLS refusal, bad answer */
};

static int __attribute__((format(printf, 3, 4)))
kc_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* As libvix: a library must not let SIGPIPE kill its host process. */
static void
sigpipe_block(sigset_t *old, int *pending_before)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	*pending_before = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

static void
sigpipe_restore(const sigset_t *old, int pending_before)
{
	struct timespec zero = { 0, 0 };
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!pending_before && sigismember(&pending, SIGPIPE))
		while (sigtimedwait(&set, NULL, &zero) == -1 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

static SSL_CTX *
kc_ctx(const char *cert, const char *key, const char *ca, char *err,
    size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char why[256] = "";

	ERR_clear_error();
	if (ctx == NULL || vix_tls_policy(ctx, TLS1_2_VERSION) == -1) {
		kc_err(err, errlen, "cannot set up TLS");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
		kc_err(err, errlen, "certificate %s or key %s: %s", cert, key,
		    why);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
		kc_err(err, errlen, "CA bundle %s: %s", ca, why);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ERR_clear_error();
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

static int
kc_tcp(struct keyclient *c, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res, *ai;
	struct timeval tv = { c->timeout_ms / 1000,
	    (c->timeout_ms % 1000) * 1000 };
	int fd = -1, rc, saved = 0, one = 1;
	struct pollfd pfd;
	socklen_t sl;

	if ((rc = getaddrinfo(c->host, c->port, &hints, &res)) != 0)
		return kc_err(err, errlen, "cannot resolve %s: %s", c->host,
		    gai_strerror(rc));
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1 || connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			continue;
		saved = errno;
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		sl = sizeof(saved);
		if (saved == EINPROGRESS && (rc = poll(&pfd, 1,
		    c->timeout_ms)) > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR,
		    &saved, &sl) == 0 && saved == 0)
			continue;
		if (saved == EINPROGRESS)
			saved = ETIMEDOUT;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return kc_err(err, errlen, "cannot connect to vix-keyd at %s "
		    "port %s: %s", c->host, c->port, strerror(saved));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	return 0;
}

static void
kc_disconnect(struct keyclient *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

/* TCP, then TLS with the key holder's name or address checked. */
static int
kc_connect(struct keyclient *c, char *err, size_t errlen)
{
	struct in6_addr a6;
	sigset_t old;
	char why[256] = "";
	long verify;
	int pend, rc;

	if (kc_tcp(c, err, errlen) == -1)
		return -1;
	if ((c->ssl = SSL_new(c->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		kc_disconnect(c);
		return kc_err(err, errlen, "cannot set up TLS");
	}
	if (inet_pton(AF_INET, c->host, &a6) == 1 ||
	    inet_pton(AF_INET6, c->host, &a6) == 1)
		rc = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
		    c->host);
	else
		rc = SSL_set_tlsext_host_name(c->ssl, c->host) == 1 &&
		    SSL_set1_host(c->ssl, c->host) == 1;
	ERR_clear_error();
	sigpipe_block(&old, &pend);
	if (rc)
		rc = SSL_connect(c->ssl) == 1;
	sigpipe_restore(&old, pend);
	if (rc)
		return 0;
	verify = SSL_get_verify_result(c->ssl);
	if (verify != X509_V_OK)
		snprintf(why, sizeof(why), "its certificate is not accepted: "
		    "%s", X509_verify_cert_error_string(verify));
	else
		ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
	ERR_clear_error();
	kc_disconnect(c);
	return kc_err(err, errlen, "TLS with vix-keyd at %s: %s", c->host,
	    why[0] ? why : "refused");
}

struct keyclient *
keyclient_open(const char *addr, const char *cert, const char *key,
    const char *ca, int timeout_ms, char *err, size_t errlen)
{
	struct keyclient *c;
	const char *why;
	uint16_t port;

	if (addr == NULL || cert == NULL || key == NULL || ca == NULL) {
		kc_err(err, errlen, "address, certificate, key and CA bundle "
		    "are all required");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		kc_err(err, errlen, "out of memory");
		return NULL;
	}
	c->fd = -1;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : KEYCLIENT_TIMEOUT_MS;
	if (addr_split(addr, c->host, sizeof(c->host), &port, &why) == -1) {
		kc_err(err, errlen, "vix-keyd address '%s': %s", addr, why);
		goto fail;
	}
	snprintf(c->port, sizeof(c->port), "%u", port);
	if ((c->ctx = kc_ctx(cert, key, ca, err, errlen)) == NULL ||
	    kc_connect(c, err, errlen) == -1)
		goto fail;
	return c;
fail:
	keyclient_close(c);
	return NULL;
}

void
keyclient_close(struct keyclient *c)
{
	sigset_t old;
	int pend;

	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		sigpipe_block(&old, &pend);
		SSL_shutdown(c->ssl);
		sigpipe_restore(&old, pend);
	}
	kc_disconnect(c);
	SSL_CTX_free(c->ctx);
	free(c);
}

/* Why an SSL_read or SSL_write failed: broken, or not worth a retry. */
static int
kc_io_failure(struct keyclient *c, int rc, const char *doing, char *err,
    size_t errlen)
{
	int e = SSL_get_error(c->ssl, rc), saved = errno;
	char why[256] = "";

	if (e == SSL_ERROR_SSL)
		ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
	ERR_clear_error();
	if ((e == SSL_ERROR_SYSCALL || e == SSL_ERROR_WANT_READ ||
	    e == SSL_ERROR_WANT_WRITE) && (saved == EAGAIN ||
	    saved == EWOULDBLOCK)) {
		kc_err(err, errlen, "vix-keyd did not answer within %d ms "
		    "while %s", c->timeout_ms, doing);
		return KC_FAILED;
	}
	kc_err(err, errlen, "connection to vix-keyd lost while %s: %s", doing,
	    e == SSL_ERROR_ZERO_RETURN ? "closed" : why[0] ? why :
	    saved ? strerror(saved) : "unexpected end of stream");
	return KC_BROKEN;
}

static int
kc_write(struct keyclient *c, const uint8_t *buf, size_t len, char *err,
    size_t errlen)
{
	sigset_t old;
	int pend, rc = 1;

	sigpipe_block(&old, &pend);
	while (len > 0 && rc > 0) {
		ERR_clear_error();
		if ((rc = SSL_write(c->ssl, buf, (int)len)) > 0) {
			buf += rc;
			len -= (size_t)rc;
		}
	}
	sigpipe_restore(&old, pend);
	return rc > 0 ? 0 : kc_io_failure(c, rc, "sending", err, errlen);
}

static int
kc_read(struct keyclient *c, uint8_t *buf, size_t len, char *err,
    size_t errlen)
{
	int rc;

	while (len > 0) {
		ERR_clear_error();
		if ((rc = SSL_read(c->ssl, buf, (int)len)) <= 0)
			return kc_io_failure(c, rc, "waiting for the answer",
			    err, errlen);
		buf += rc;
		len -= (size_t)rc;
	}
	return 0;
}

/* One framed KeyResponse into *out (free with kc_free_response). */
static int
kc_recv(struct keyclient *c, KeyResponse **out, char *err, size_t errlen)
{
	uint8_t hdr[FRAME_HEADER_MAX], *body;
	size_t have = 0, hlen, blen;
	enum frame_result fr;
	int rc;

	do {
		if ((rc = kc_read(c, hdr + have, 1, err, errlen)) != 0)
			return rc;
		fr = frame_decode_header(hdr, ++have, KEYCLIENT_MAX_FRAME,
		    &hlen, &blen);
	} while (fr == FRAME_NEED_MORE);
	if (fr != FRAME_OK) {
		kc_err(err, errlen, "vix-keyd's answer: %s", frame_strerror(fr));
		return KC_BROKEN;	/* the stream cannot be followed */
	}
	if ((body = malloc(blen ? blen : 1)) == NULL)
		return kc_err(err, errlen, "out of memory");
	if ((rc = kc_read(c, body, blen, err, errlen)) == 0) {
		frame_budget_init(&c->budget, KEYCLIENT_BUDGET);
		*out = (KeyResponse *)frame_unpack(
		    &vix__keyd__v1__key_response__descriptor, &c->budget, body,
		    blen);
		if (*out == NULL)
			rc = kc_err(err, errlen, "vix-keyd's answer does not "
			    "decode");
	}
	free(body);
	return rc;
}

static void
kc_free_response(struct keyclient *c, KeyResponse *r)
{
	if (r != NULL)
		frame_free_unpacked(&r->base, &c->budget);
}

/* Send req and read its answer, on a new connection if the old one broke. */
static int
kc_once(struct keyclient *c, KeyRequest *req, KeyResponse **out, char *err,
    size_t errlen)
{
	size_t len = frame_packed_size(&req->base);
	uint8_t *buf;
	int rc;

	if (c->ssl == NULL && kc_connect(c, err, errlen) == -1)
		return KC_FAILED;
	if ((buf = malloc(len)) == NULL)
		return kc_err(err, errlen, "out of memory");
	frame_pack(&req->base, buf);
	rc = kc_write(c, buf, len, err, errlen);
	free(buf);
	if (rc == 0)
		rc = kc_recv(c, out, err, errlen);
	if (rc == 0 && (*out)->id != req->id) {
		kc_free_response(c, *out);
		*out = NULL;
		rc = kc_err(err, errlen, "vix-keyd answered request %llu "
		    "with the id of another", (unsigned long long)req->id);
	}
	if (rc != 0)
		kc_disconnect(c);	/* its stream is no longer in step */
	return rc;
}

/*
 * One round trip; 0 with *out holding an OK answer with the body
 * expected, or -1 with err (and *code when vix-keyd refused).
 */
static int
kc_call(struct keyclient *c, KeyRequest *req, int body, KeyResponse **out,
    int *code, char *err, size_t errlen)
{
	const Vix__V1__Status *st;
	int rc;

	*code = 0;
	*out = NULL;
	req->id = ++c->next_id;
	if ((rc = kc_once(c, req, out, err, errlen)) == KC_BROKEN)
		rc = kc_once(c, req, out, err, errlen);
	if (rc != 0)
		return -1;
	st = (*out)->status;
	if (st != NULL && st->code != VIX__V1__STATUS__CODE__OK) {
		*code = st->code;
		if (st->code == VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED &&
		    st->retry_after_ms > 0)
			kc_err(err, errlen, "vix-keyd: %s (retry after %u ms)",
			    st->message, st->retry_after_ms);
		else
			kc_err(err, errlen, "vix-keyd: %s", st->message);
	} else if ((int)(*out)->body_case != body)
		kc_err(err, errlen, "vix-keyd answered with another kind of "
		    "reply");
	else
		return 0;
	kc_free_response(c, *out);
	*out = NULL;
	return -1;
}

int
keyclient_evaluate(struct keyclient *c, size_t n,
    const unsigned char (*blinded)[32], unsigned char (*evaluated)[32],
    uint32_t *version, unsigned char key_id[16], int *code, char *err,
    size_t errlen)
{
	ProtobufCBinaryData el[KEYCLIENT_BATCH_MAX];
	Vix__Keyd__V1__Evaluate ev = VIX__KEYD__V1__EVALUATE__INIT;
	KeyRequest req = VIX__KEYD__V1__KEY_REQUEST__INIT;
	const Vix__Keyd__V1__EvaluateReply *r;
	KeyResponse *resp;
	int rc = -1;

	*code = 0;
	if (n == 0 || n > KEYCLIENT_BATCH_MAX)
		return kc_err(err, errlen, "%zu elements; 1 to %d per call", n,
		    KEYCLIENT_BATCH_MAX);
	for (size_t i = 0; i < n; i++)
		el[i] = (ProtobufCBinaryData){ 32, (uint8_t *)blinded[i] };
	ev.n_blinded = n;
	ev.blinded = el;
	req.body_case = VIX__KEYD__V1__KEY_REQUEST__BODY_EVALUATE;
	req.evaluate = &ev;
	if (kc_call(c, &req, VIX__KEYD__V1__KEY_RESPONSE__BODY_EVALUATE, &resp,
	    code, err, errlen) == -1)
		return -1;
	r = resp->evaluate;
	if (r->n_evaluated != n || r->key_id.len != 16)
		kc_err(err, errlen, "vix-keyd answered %zu elements for %zu",
		    r->n_evaluated, n);
	else {
		rc = 0;
		for (size_t i = 0; i < n && rc == 0; i++)
			if (r->evaluated[i].len != 32)
				rc = kc_err(err, errlen, "evaluated[%zu]: %zu "
				    "bytes", i, r->evaluated[i].len);
			else
				memcpy(evaluated[i], r->evaluated[i].data, 32);
		*version = r->key_version;
		memcpy(key_id, r->key_id.data, 16);
	}
	kc_free_response(c, resp);
	return rc;
}

int
keyclient_info(struct keyclient *c, uint32_t *current, size_t max,
    uint32_t *versions, unsigned char (*ids)[16], int *active, size_t *n,
    int *code, char *err, size_t errlen)
{
	Vix__Keyd__V1__KeyInfo ki = VIX__KEYD__V1__KEY_INFO__INIT;
	KeyRequest req = VIX__KEYD__V1__KEY_REQUEST__INIT;
	const Vix__Keyd__V1__KeyInfoReply *r;
	KeyResponse *resp;
	int rc = 0;

	req.body_case = VIX__KEYD__V1__KEY_REQUEST__BODY_INFO;
	req.info = &ki;
	if (kc_call(c, &req, VIX__KEYD__V1__KEY_RESPONSE__BODY_INFO, &resp,
	    code, err, errlen) == -1)
		return -1;
	r = resp->info;
	*current = r->current;
	*n = r->n_keys;
	for (size_t i = 0; i < r->n_keys && i < max; i++) {
		if (r->keys[i]->key_id.len != 16) {
			rc = kc_err(err, errlen, "keys[%zu]: a key id of %zu "
			    "bytes", i, r->keys[i]->key_id.len);
			break;
		}
		versions[i] = r->keys[i]->version;
		memcpy(ids[i], r->keys[i]->key_id.data, 16);
		active[i] = r->keys[i]->active;
	}
	kc_free_response(c, resp);
	return rc;
}

int
keyclient_token(struct keyclient *c, uint32_t from, uint32_t to,
    unsigned char delta[32], unsigned char from_id[16],
    unsigned char to_id[16], int *code, char *err, size_t errlen)
{
	Vix__Keyd__V1__Token tok = VIX__KEYD__V1__TOKEN__INIT;
	KeyRequest req = VIX__KEYD__V1__KEY_REQUEST__INIT;
	const Vix__Keyd__V1__TokenReply *r;
	KeyResponse *resp;
	int rc = -1;

	tok.from = from;
	tok.to = to;
	req.body_case = VIX__KEYD__V1__KEY_REQUEST__BODY_TOKEN;
	req.token = &tok;
	if (kc_call(c, &req, VIX__KEYD__V1__KEY_RESPONSE__BODY_TOKEN, &resp,
	    code, err, errlen) == -1)
		return -1;
	r = resp->token;
	if (r->delta.len != 32 || r->from_key_id.len != 16 ||
	    r->to_key_id.len != 16)
		kc_err(err, errlen, "vix-keyd's token has fields of the "
		    "wrong size");
	else {
		memcpy(delta, r->delta.data, 32);
		memcpy(from_id, r->from_key_id.data, 16);
		memcpy(to_id, r->to_key_id.data, 16);
		rc = 0;
	}
	/* The delta is a secret of sorts: wipe the decoder's copy. */
	if (r->delta.data != NULL)
		OPENSSL_cleanse(r->delta.data, r->delta.len);
	kc_free_response(c, resp);
	return rc;
}
