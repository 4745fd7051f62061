/* libvix: one blocking, mutually authenticated TLS connection to vixd. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "addr.h"
#include "frame.h"
#include "vix.pb-c.h"
#include "vix/client.h"
#include "vix_version.h"

#define CLIENT_DEFAULT_TIMEOUT_MS	10000
#define CLIENT_MAX_FRAME		(4 * 1024 * 1024)

struct vix_client {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	int		 timeout_ms;
	uint64_t	 next_id;
	int		 dead;		/* connection unusable: fail fast */
	uint8_t		*rbuf;		/* bytes read, not yet consumed */
	size_t		 rlen, rcap;
};

static int
seterr(struct vix_error *err, enum vix_result kind, int status,
    const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->kind = kind;
		err->status = status;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return kind;
}

/* The first queued OpenSSL error (the cause), cleared after reading. */
static const char *
ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, len, "%s", r ? r : "unknown TLS error");
	ERR_clear_error();
	return buf;
}

/* Non-blocking connect bounded by the timeout, then blocking I/O with timeouts. */
static int
tcp_connect(const char *host, const char *port, int timeout_ms,
    struct vix_error *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res, *ai;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd = -1, rc, saved = 0;

	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return -seterr(err, VIX_ERR_CONNECT, 0, "cannot resolve %s: %s",
		    host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t sl = sizeof(saved);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			rc = poll(&pfd, 1, timeout_ms);
			if (rc == 0)
				saved = ETIMEDOUT;
			else if (rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR,
			    &saved, &sl) == 0 && saved == 0)
				break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return -seterr(err, VIX_ERR_CONNECT, 0, "cannot connect to "
		    "%s port %s: %s", host, port, strerror(saved));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int
unreadable(const char *path, const char *what, struct vix_error *err)
{
	if (access(path, R_OK) == 0)
		return 0;
	seterr(err, VIX_ERR_ARGS, 0, "cannot read %s %s: %s", what, path,
	    strerror(errno));
	return 1;
}

static SSL_CTX *
client_ctx(const struct vix_options *opt, struct vix_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char why[256];

	ERR_clear_error();
	if (ctx == NULL) {
		seterr(err, VIX_ERR_NOMEM, 0, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (unreadable(opt->cert_file, "certificate", err) ||
	    unreadable(opt->key_file, "private key", err) ||
	    unreadable(opt->ca_file, "CA bundle", err))
		;	/* err says which */
	else if (SSL_CTX_use_certificate_chain_file(ctx, opt->cert_file) != 1)
		seterr(err, VIX_ERR_ARGS, 0, "certificate %s: %s",
		    opt->cert_file, ssl_reason(why, sizeof(why)));
	else if (SSL_CTX_use_PrivateKey_file(ctx, opt->key_file,
	    SSL_FILETYPE_PEM) != 1)
		seterr(err, VIX_ERR_ARGS, 0, "private key %s: %s",
		    opt->key_file, ssl_reason(why, sizeof(why)));
	else if (SSL_CTX_check_private_key(ctx) != 1)
		seterr(err, VIX_ERR_ARGS, 0, "private key %s does not match "
		    "certificate %s", opt->key_file, opt->cert_file);
	else if (SSL_CTX_load_verify_locations(ctx, opt->ca_file, NULL) != 1)
		seterr(err, VIX_ERR_ARGS, 0, "CA bundle %s: %s", opt->ca_file,
		    ssl_reason(why, sizeof(why)));
	else
		return ctx;
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * Writing to a socket the server closed raises SIGPIPE; a library must not
 * kill its host process, nor change its signal handlers. Block SIGPIPE in
 * this thread around writes and swallow any that became pending.
 */
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

/* Why an SSL call failed, as an error kind and message. */
static int
ssl_failure(vix_client *c, int rc, const char *doing, struct vix_error *err)
{
	int e = SSL_get_error(c->ssl, rc), saved = errno;
	long verify;
	char why[256];

	c->dead = 1;
	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
		return seterr(err, VIX_ERR_CONNECT, 0, "server closed the "
		    "connection while %s", doing);
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (saved == EAGAIN || saved == EWOULDBLOCK)
			return seterr(err, VIX_ERR_CONNECT, 0, "timed out "
			    "after %d ms while %s", c->timeout_ms, doing);
		return seterr(err, VIX_ERR_CONNECT, 0, "connection lost while "
		    "%s: %s", doing, saved ? strerror(saved) :
		    "unexpected end of stream");
	case SSL_ERROR_SSL:
		verify = SSL_get_verify_result(c->ssl);
		if (verify != X509_V_OK)
			return seterr(err, VIX_ERR_TLS, 0, "server certificate "
			    "not accepted: %s",
			    X509_verify_cert_error_string(verify));
		ssl_reason(why, sizeof(why));
		if (strstr(why, "unexpected eof") != NULL)
			return seterr(err, VIX_ERR_CONNECT, 0, "server closed "
			    "the connection while %s", doing);
		if (strstr(why, "alert") != NULL)
			return seterr(err, VIX_ERR_TLS, 0, "TLS refused by the "
			    "server while %s: %s (is the client certificate "
			    "issued by a CA the server trusts?)", doing, why);
		return seterr(err, VIX_ERR_TLS, 0, "TLS failure while %s: %s",
		    doing, why);
	default:
		return seterr(err, VIX_ERR_TLS, 0, "TLS failure while %s "
		    "(SSL error %d)", doing, e);
	}
}

static int
client_handshake(vix_client *c, const char *host, struct vix_error *err)
{
	struct in6_addr a6;
	struct in_addr a4;
	sigset_t old;
	int pend, rc;

	if ((c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return seterr(err, VIX_ERR_NOMEM, 0, "cannot set up TLS");
	if (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1) {
		if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host))
			return seterr(err, VIX_ERR_ARGS, 0, "bad address %s",
			    host);
	} else if (SSL_set_tlsext_host_name(c->ssl, host) != 1 ||
	    SSL_set1_host(c->ssl, host) != 1)
		return seterr(err, VIX_ERR_ARGS, 0, "bad host name %s", host);
	ERR_clear_error();
	sigpipe_block(&old, &pend);
	rc = SSL_connect(c->ssl);
	sigpipe_restore(&old, pend);
	if (rc != 1)
		return ssl_failure(c, rc, "in the TLS handshake", err);
	return VIX_OK;
}

int
vix_connect(const struct vix_options *opt, vix_client **out,
    struct vix_error *err)
{
	char host[256], port[8];
	const char *why;
	uint16_t portnum;
	vix_client *c;
	int rc;

	*out = NULL;
	if (opt == NULL || opt->cert_file == NULL || opt->key_file == NULL ||
	    opt->ca_file == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "server, certificate, key "
		    "and CA bundle are all required");
	if (opt->server == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "server address is required");
	if (addr_split(opt->server, host, sizeof(host), &portnum, &why) == -1)
		return seterr(err, VIX_ERR_ARGS, 0, "server address '%s': %s",
		    opt->server, why);
	snprintf(port, sizeof(port), "%u", portnum);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return seterr(err, VIX_ERR_NOMEM, 0, "out of memory");
	c->fd = -1;
	c->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms :
	    CLIENT_DEFAULT_TIMEOUT_MS;
	if ((c->ctx = client_ctx(opt, err)) == NULL) {
		rc = err ? (int)err->kind : VIX_ERR_ARGS;
		goto fail;
	}
	if ((c->fd = tcp_connect(host, port, c->timeout_ms, err)) < 0) {
		rc = -c->fd;
		c->fd = -1;
		goto fail;
	}
	if ((rc = client_handshake(c, host, err)) != VIX_OK)
		goto fail;
	*out = c;
	return VIX_OK;
fail:
	c->dead = 1;
	vix_close(c);
	return rc;
}

void
vix_close(vix_client *c)
{
	sigset_t old;
	int pend;

	if (c == NULL)
		return;
	if (c->ssl != NULL && !c->dead && SSL_is_init_finished(c->ssl)) {
		sigpipe_block(&old, &pend);
		SSL_shutdown(c->ssl);
		sigpipe_restore(&old, pend);
	}
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd != -1)
		close(c->fd);
	free(c->rbuf);
	free(c);
}

static int
client_write(vix_client *c, const uint8_t *buf, size_t len,
    struct vix_error *err)
{
	sigset_t old;
	int pend, rc = 1;

	sigpipe_block(&old, &pend);
	while (len > 0) {
		ERR_clear_error();
		if ((rc = SSL_write(c->ssl, buf, (int)len)) <= 0)
			break;
		buf += rc;
		len -= (size_t)rc;
	}
	sigpipe_restore(&old, pend);
	return rc <= 0 ? ssl_failure(c, rc, "sending a request", err) : VIX_OK;
}

/* Read until one whole frame is buffered; returns its header and body sizes. */
static int
client_read_frame(vix_client *c, size_t *hlen, size_t *blen,
    struct vix_error *err)
{
	enum frame_result r;
	int n;

	for (;;) {
		r = frame_decode_header(c->rbuf, c->rlen, CLIENT_MAX_FRAME,
		    hlen, blen);
		if (r < 0) {
			c->dead = 1;
			return seterr(err, VIX_ERR_PROTOCOL, 0, "server sent "
			    "a bad frame: %s", frame_strerror(r));
		}
		if (r == FRAME_OK && c->rlen >= *hlen + *blen)
			return VIX_OK;
		if (c->rcap - c->rlen < 16384) {
			size_t cap = c->rcap ? c->rcap * 2 : 65536;
			uint8_t *p = realloc(c->rbuf, cap);

			if (p == NULL)
				return seterr(err, VIX_ERR_NOMEM, 0,
				    "out of memory reading a response");
			c->rbuf = p;
			c->rcap = cap;
		}
		ERR_clear_error();
		n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(c->rcap - c->rlen));
		if (n <= 0)
			return ssl_failure(c, n, "waiting for the response",
			    err);
		c->rlen += (size_t)n;
	}
}

/* Take one ServerMessage off the read buffer. */
static int
client_next_message(vix_client *c, struct frame_budget *b,
    Vix__V1__ServerMessage **out, struct vix_error *err)
{
	size_t hlen, blen;
	int rc;

	if ((rc = client_read_frame(c, &hlen, &blen, err)) != VIX_OK)
		return rc;
	*out = (Vix__V1__ServerMessage *)frame_unpack(
	    &vix__v1__server_message__descriptor, b, c->rbuf + hlen, blen);
	memmove(c->rbuf, c->rbuf + hlen + blen, c->rlen - hlen - blen);
	c->rlen -= hlen + blen;
	if (*out == NULL) {
		c->dead = 1;
		return seterr(err, VIX_ERR_PROTOCOL, 0, "server sent a message "
		    "that is not a vix.v1.ServerMessage");
	}
	return VIX_OK;
}

/*
 * Send req and wait for its response. A response with id 0 is the server
 * speaking before it closes (e.g. an unknown organisation): it answers
 * whatever we asked. On VIX_OK *out holds the response message; free it
 * with frame_free_unpacked(&(*msg)->base, b).
 */
static int
client_call(vix_client *c, Vix__V1__Request *req, struct frame_budget *b,
    Vix__V1__ServerMessage **msg, struct vix_error *err)
{
	Vix__V1__Response *resp;
	uint8_t stackbuf[1024], *buf = stackbuf;
	size_t n;
	int rc;

	if (c->dead)
		return seterr(err, VIX_ERR_CONNECT, 0, "connection is closed");
	req->id = ++c->next_id;
	if ((n = frame_packed_size(&req->base)) > sizeof(stackbuf) &&
	    (buf = malloc(n)) == NULL)
		return seterr(err, VIX_ERR_NOMEM, 0, "out of memory");
	frame_pack(&req->base, buf);
	rc = client_write(c, buf, n, err);
	if (buf != stackbuf)
		free(buf);
	while (rc == VIX_OK) {
		if ((rc = client_next_message(c, b, msg, err)) != VIX_OK)
			return rc;
		resp = (*msg)->response;
		if ((*msg)->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE &&
		    (resp->id == req->id || resp->id == 0))
			break;
		frame_free_unpacked(&(*msg)->base, b);	/* not ours */
	}
	if (rc != VIX_OK)
		return rc;
	if (resp->status != NULL && resp->status->code != 0) {
		if (resp->id == 0)
			c->dead = 1;
		rc = seterr(err, VIX_ERR_REFUSED, (int)resp->status->code,
		    "%s", resp->status->message);
		frame_free_unpacked(&(*msg)->base, b);
		*msg = NULL;
		return rc;
	}
	return VIX_OK;
}

/* Copy src into dst; if it does not fit, cut it at a UTF-8 character boundary. */
static void
copy_str(char *dst, size_t len, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n >= len) {
		n = len - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

int
vix_ping(vix_client *c, struct vix_ping_result *out, struct vix_error *err)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ping ping = VIX__V1__PING__INIT;
	Vix__V1__ServerMessage *msg;
	Vix__V1__PingReply *r;
	struct frame_budget b;
	int rc;

	if (c == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client and result are "
		    "required");
	req.body_case = VIX__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	frame_budget_init(&b, 2 * CLIENT_MAX_FRAME);
	if ((rc = client_call(c, &req, &b, &msg, err)) != VIX_OK)
		return rc;
	if (msg->response->body_case != VIX__V1__RESPONSE__BODY_PING ||
	    (r = msg->response->ping)->organisation == NULL) {
		frame_free_unpacked(&msg->base, &b);
		return seterr(err, VIX_ERR_PROTOCOL, 0, "server answered ping "
		    "without a ping reply");
	}
	memset(out, 0, sizeof(*out));
	copy_str(out->server_version, sizeof(out->server_version),
	    r->server_version);
	copy_str(out->org.id, sizeof(out->org.id), r->organisation->id);
	copy_str(out->org.name, sizeof(out->org.name), r->organisation->name);
	copy_str(out->org.oin, sizeof(out->org.oin), r->organisation->oin);
	frame_free_unpacked(&msg->base, &b);
	return VIX_OK;
}

/*
 * Send req and wait for a response with body want; on VIX_OK *msg holds it,
 * to free with frame_free_unpacked(&(*msg)->base, b).
 */
static int
client_request(vix_client *c, Vix__V1__Request *req,
    Vix__V1__Response__BodyCase want, const char *what,
    struct frame_budget *b, Vix__V1__ServerMessage **msg,
    struct vix_error *err)
{
	int rc;

	frame_budget_init(b, 2 * CLIENT_MAX_FRAME);
	if ((rc = client_call(c, req, b, msg, err)) != VIX_OK)
		return rc;
	if ((*msg)->response->body_case == want)
		return VIX_OK;
	frame_free_unpacked(&(*msg)->base, b);
	*msg = NULL;
	return seterr(err, VIX_ERR_PROTOCOL, 0, "server answered %s without "
	    "a %s reply", what, what);
}

static void
involvement_copy(struct vix_involvement *dst, const Vix__V1__Involvement *src)
{
	const Vix__V1__Contact *ct = src->contact;

	copy_str(dst->org_id, sizeof(dst->org_id), src->org_id);
	copy_str(dst->org_name, sizeof(dst->org_name), src->org_name);
	if (ct != NULL) {
		copy_str(dst->contact_name, sizeof(dst->contact_name),
		    ct->name);
		copy_str(dst->contact_phone, sizeof(dst->contact_phone),
		    ct->phone);
		copy_str(dst->contact_email, sizeof(dst->contact_email),
		    ct->email);
	}
	dst->since = src->since;
}

/* Copy src into the zeroed *dst; on failure dst holds nothing to free. */
static int
match_copy(struct vix_match *dst, const Vix__V1__Match *src,
    struct vix_error *err)
{
	dst->match_id = src->match_id;
	copy_str(dst->coordinator, sizeof(dst->coordinator), src->coordinator);
	copy_str(dst->coordinator_name, sizeof(dst->coordinator_name),
	    src->coordinator_name);
	dst->created = src->created;
	dst->coordinated = src->coordinated != 0;
	if (src->n_others == 0)
		return VIX_OK;
	if ((dst->others = calloc(src->n_others, sizeof(*dst->others))) == NULL)
		return seterr(err, VIX_ERR_NOMEM, 0, "out of memory reading "
		    "a match");
	dst->n_others = src->n_others;
	for (size_t i = 0; i < src->n_others; i++)
		if (src->others[i] != NULL)
			involvement_copy(&dst->others[i], src->others[i]);
	return VIX_OK;
}

/* Point reg at the caller's strings; required fields are named if missing. */
static int
register_fill(const struct vix_register_req *rq, Vix__V1__Register *reg,
    Vix__V1__Contact *ct, struct vix_error *err)
{
	const char *missing = rq->bsn == NULL ? "bsn" :
	    rq->birth_date == NULL ? "birth_date" :
	    rq->contact_name == NULL ? "contact_name" :
	    rq->contact_phone == NULL ? "contact_phone" : NULL;

	if (missing != NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "register: %s is required",
		    missing);
	reg->bsn = (char *)rq->bsn;
	reg->birth_date = (char *)rq->birth_date;
	reg->duration_days = rq->duration_days;
	ct->name = (char *)rq->contact_name;
	ct->phone = (char *)rq->contact_phone;
	if (rq->contact_email != NULL)
		ct->email = (char *)rq->contact_email;
	reg->contact = ct;
	if (rq->client_ref != NULL)
		reg->client_ref = (char *)rq->client_ref;
	if (rq->municipality != NULL)
		reg->municipality = (char *)rq->municipality;
	return VIX_OK;
}

int
vix_register(vix_client *c, const struct vix_register_req *rq,
    struct vix_register_result *out, struct vix_error *err)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register reg = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact ct = VIX__V1__CONTACT__INIT;
	Vix__V1__ServerMessage *msg;
	Vix__V1__RegisterReply *r;
	struct frame_budget b;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || rq == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client, request and result "
		    "are required");
	if ((rc = register_fill(rq, &reg, &ct, err)) != VIX_OK)
		return rc;
	req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req.register_ = &reg;
	if ((rc = client_request(c, &req, VIX__V1__RESPONSE__BODY_REGISTER,
	    "register", &b, &msg, err)) != VIX_OK)
		return rc;
	if ((r = msg->response->register_) != NULL) {
		out->signal_id = r->signal_id;
		out->status = (enum vix_signal_status)r->status;
		out->expires = r->expires;
		out->expiry_bound = (enum vix_expiry_bound)r->expiry_bound;
		if (r->match != NULL) {
			out->has_match = 1;
			rc = match_copy(&out->match, r->match, err);
		}
	}
	frame_free_unpacked(&msg->base, &b);
	if (rc != VIX_OK)
		vix_register_result_free(out);
	return rc;
}

int
vix_withdraw(vix_client *c, uint64_t signal_id, const char *bsn,
    enum vix_withdraw_reason reason, struct vix_withdraw_result *out,
    struct vix_error *err)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Withdraw wd = VIX__V1__WITHDRAW__INIT;
	Vix__V1__ServerMessage *msg;
	Vix__V1__WithdrawReply *r;
	struct frame_budget b;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client and result are "
		    "required");
	if ((signal_id != 0) == (bsn != NULL))
		return seterr(err, VIX_ERR_ARGS, 0, "withdraw: give exactly one "
		    "of signal_id and bsn");
	if (reason != VIX_WITHDRAW_UNJUSTIFIED &&
	    reason != VIX_WITHDRAW_RISK_RESOLVED)
		return seterr(err, VIX_ERR_ARGS, 0, "withdraw: reason %d is "
		    "neither UNJUSTIFIED nor RISK_RESOLVED", (int)reason);
	wd.signal_id = signal_id;
	if (bsn != NULL)
		wd.bsn = (char *)bsn;
	wd.reason = (Vix__V1__Withdraw__Reason)reason;
	req.body_case = VIX__V1__REQUEST__BODY_WITHDRAW;
	req.withdraw = &wd;
	if ((rc = client_request(c, &req, VIX__V1__RESPONSE__BODY_WITHDRAW,
	    "withdraw", &b, &msg, err)) != VIX_OK)
		return rc;
	if ((r = msg->response->withdraw) != NULL) {
		out->signal_id = r->signal_id;
		out->archived = r->archived != 0;
		out->match_id = r->match_id;
		out->match_closed = r->match_closed != 0;
	}
	frame_free_unpacked(&msg->base, &b);
	return VIX_OK;
}

int
vix_involved(vix_client *c, const char *bsn, struct vix_involved_result *out,
    struct vix_error *err)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Involved inv = VIX__V1__INVOLVED__INIT;
	Vix__V1__ServerMessage *msg;
	Vix__V1__InvolvedReply *r;
	struct frame_budget b;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client and result are "
		    "required");
	if (bsn == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "involved: bsn is required");
	inv.bsn = (char *)bsn;
	req.body_case = VIX__V1__REQUEST__BODY_INVOLVED;
	req.involved = &inv;
	if ((rc = client_request(c, &req, VIX__V1__RESPONSE__BODY_INVOLVED,
	    "involved", &b, &msg, err)) != VIX_OK)
		return rc;
	if ((r = msg->response->involved) != NULL) {
		out->signal_id = r->signal_id;
		if (r->match != NULL) {
			out->has_match = 1;
			rc = match_copy(&out->match, r->match, err);
		}
	}
	frame_free_unpacked(&msg->base, &b);
	if (rc != VIX_OK)
		vix_involved_result_free(out);
	return rc;
}

static void
summary_copy(struct vix_signal_summary *dst, const Vix__V1__SignalSummary *src)
{
	dst->signal_id = src->signal_id;
	copy_str(dst->client_ref, sizeof(dst->client_ref), src->client_ref);
	dst->created = src->created;
	dst->expires = src->expires;
	dst->match_id = src->match_id;
	dst->expiry_bound = (enum vix_expiry_bound)src->expiry_bound;
}

int
vix_list(vix_client *c, uint32_t page_size, uint64_t after,
    struct vix_list_result *out, struct vix_error *err)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__List list = VIX__V1__LIST__INIT;
	Vix__V1__ServerMessage *msg;
	Vix__V1__ListReply *r;
	struct frame_budget b;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client and result are "
		    "required");
	list.page_size = page_size;
	list.after = after;
	req.body_case = VIX__V1__REQUEST__BODY_LIST;
	req.list = &list;
	if ((rc = client_request(c, &req, VIX__V1__RESPONSE__BODY_LIST, "list",
	    &b, &msg, err)) != VIX_OK)
		return rc;
	if ((r = msg->response->list) != NULL && r->n_signals > 0) {
		out->signals = calloc(r->n_signals, sizeof(*out->signals));
		if (out->signals == NULL)
			rc = seterr(err, VIX_ERR_NOMEM, 0, "out of memory "
			    "reading a list");
		else
			out->n = r->n_signals;
		for (size_t i = 0; i < out->n; i++)
			if (r->signals[i] != NULL)
				summary_copy(&out->signals[i], r->signals[i]);
	}
	if (r != NULL && rc == VIX_OK)
		out->next_after = r->next_after;
	frame_free_unpacked(&msg->base, &b);
	return rc;
}

void
vix_match_free(struct vix_match *m)
{
	if (m == NULL)
		return;
	free(m->others);
	memset(m, 0, sizeof(*m));
}

void
vix_register_result_free(struct vix_register_result *r)
{
	if (r == NULL)
		return;
	vix_match_free(&r->match);
	memset(r, 0, sizeof(*r));
}

void
vix_involved_result_free(struct vix_involved_result *r)
{
	if (r == NULL)
		return;
	vix_match_free(&r->match);
	memset(r, 0, sizeof(*r));
}

void
vix_list_result_free(struct vix_list_result *r)
{
	if (r == NULL)
		return;
	free(r->signals);
	memset(r, 0, sizeof(*r));
}

const char *
vix_status_name(int status)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
		"PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
		"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
		"UNAUTHENTICATED",
	};

	if (status < 0 || (size_t)status >= sizeof(names) / sizeof(names[0]))
		return "UNKNOWN_STATUS";
	return names[status];
}

const char *
vix_result_name(int result)
{
	switch (result) {
	case VIX_OK:		return "ok";
	case VIX_ERR_ARGS:	return "invalid arguments";
	case VIX_ERR_CONNECT:	return "connection failed";
	case VIX_ERR_TLS:	return "TLS failure";
	case VIX_ERR_REFUSED:	return "refused by server";
	case VIX_ERR_PROTOCOL:	return "protocol error";
	case VIX_ERR_NOMEM:	return "out of memory";
	}
	return "unknown error";
}

const char *
vix_version(void)
{
	return VIX_VERSION;
}
