/* libvix: one blocking, mutually authenticated TLS connection to vixd. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "addr.h"
#include "frame.h"
#include "blindbsn.h"
#include "keyclient.h"
#include "oprf.h"
#include "rules.h"
#include "tlspolicy.h"
#include "vix.pb-c.h"
#include "vix/client.h"
#include "vix_version.h"

#define CLIENT_DEFAULT_TIMEOUT_MS	10000
#define CLIENT_MAX_FRAME		(4 * 1024 * 1024)
#define CLIENT_QUEUE_MAX		65536	/* notifications kept, untaken */
#define LISTEN_BACKLOG			16

/* A notification that arrived while a call waited for its response. */
struct queued {
	struct queued		*next;
	struct vix_notification	 n;
	struct vix_notification_more more;
};

struct vix_client {
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	int		 timeout_ms;
	uint64_t	 next_id;
	size_t		 pending;	/* vix_register_send()s not yet received */
	int		 dead;		/* connection unusable: fail fast */
	int		 server_role;	/* accepted from vixd (push mode) */
	int		 subscribed;	/* vix_subscribe() succeeded */
	uint8_t		*rbuf;		/* bytes read, not yet consumed */
	size_t		 rlen, rcap;
	struct queued	*qhead, **qtail;	/* for vix_next_notification */
	size_t		 qlen;
	/* Blind pseudonyms: where the key holder is, and how to reach it. */
	char		*kh_addr, *kh_cert, *kh_key, *kh_ca;
	struct keyclient *kh;		/* opened at the first BSN */
	char		 actor[RULES_ACTOR_MAX + 1];	/* vix_set_actor; "" none */
};

struct vix_listener {
	int		 fd;
	SSL_CTX		*ctx;
	int		 timeout_ms;	/* for each accepted client */
	int		 pinned;	/* peer_sha256 given */
	unsigned char	 pin[32];	/* SHA-256 of vixd's certificate */
};

static int __attribute__((format(printf, 4, 5)))
seterr(struct vix_error *err, enum vix_result kind, int status,
    const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->kind = kind;
		err->status = status;
		err->retry_after_ms = 0;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return kind;
}

/* Every call starts by resetting the caller's error: VIX_OK, no message. */
static void
errclear(struct vix_error *err)
{
	if (err != NULL)
		memset(err, 0, sizeof(*err));
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

/* Each blocking read or write on fd gives up after timeout_ms. */
static void
socket_timeouts(int fd, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * Requests are single writes that should leave at once: with Nagle, one
 * written behind an unacknowledged one waits for the server's delayed ACK.
 */
static void
socket_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Non-blocking connect bounded by the timeout, then blocking I/O with timeouts. */
static int
tcp_connect(const char *host, const char *port, int timeout_ms,
    struct vix_error *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res, *ai;
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
	socket_timeouts(fd, timeout_ms);
	socket_nodelay(fd);
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

/*
 * A TLS context with our certificate that verifies the peer against
 * ca_file; as a server (push mode) it also requires the peer to present one.
 */
static SSL_CTX *
tls_ctx(int server, const char *cert_file, const char *key_file,
    const char *ca_file, struct vix_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() :
	    TLS_client_method());
	char why[256];

	ERR_clear_error();
	if (ctx == NULL) {
		seterr(err, VIX_ERR_NOMEM, 0, "cannot create a TLS context");
		return NULL;
	}
	/* vixd's own policy; 1.2 still, for an index configured to allow it. */
	if (vix_tls_policy(ctx, TLS1_2_VERSION) == -1) {
		seterr(err, VIX_ERR_ARGS, 0, "cannot apply the TLS settings: %s",
		    ssl_reason(why, sizeof(why)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (server) {
		/* No resumption: every push connection proves its certificate. */
		SSL_CTX_set_num_tickets(ctx, 0);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	if (unreadable(cert_file, "certificate", err) ||
	    unreadable(key_file, "private key", err) ||
	    unreadable(ca_file, "CA bundle", err))
		;	/* err says which */
	else if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
		seterr(err, VIX_ERR_ARGS, 0, "certificate %s: %s", cert_file,
		    ssl_reason(why, sizeof(why)));
	else if (SSL_CTX_use_PrivateKey_file(ctx, key_file,
	    SSL_FILETYPE_PEM) != 1)
		seterr(err, VIX_ERR_ARGS, 0, "private key %s: %s", key_file,
		    ssl_reason(why, sizeof(why)));
	else if (SSL_CTX_check_private_key(ctx) != 1)
		seterr(err, VIX_ERR_ARGS, 0, "private key %s does not match "
		    "certificate %s", key_file, cert_file);
	else if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
		seterr(err, VIX_ERR_ARGS, 0, "CA bundle %s: %s", ca_file,
		    ssl_reason(why, sizeof(why)));
	else
		return ctx;
	SSL_CTX_free(ctx);
	return NULL;
}

static int
is_address(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1;
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

/*
 * Why an SSL call failed, as an error kind and message. The peer is the
 * server, or on a connection accepted in push mode whoever dialled in.
 */
static int
ssl_failure(vix_client *c, int rc, const char *doing, struct vix_error *err)
{
	int e = SSL_get_error(c->ssl, rc), saved = errno;
	const char *peer = c->server_role ? "peer" : "server";
	long verify;
	char why[256];

	c->dead = 1;
	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
		return seterr(err, VIX_ERR_CONNECT, 0, "%s closed the "
		    "connection while %s", peer, doing);
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		/* A blocking socket: its timeout ran out, or a signal came. */
		ERR_clear_error();
		if (saved == EINTR)
			return seterr(err, VIX_ERR_CONNECT, 0, "interrupted "
			    "while %s", doing);
		return seterr(err, VIX_ERR_CONNECT, 0, "timed out after %d ms "
		    "while %s", c->timeout_ms, doing);
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
			return seterr(err, VIX_ERR_TLS, 0, "%s certificate "
			    "not accepted: %s", peer,
			    X509_verify_cert_error_string(verify));
		ssl_reason(why, sizeof(why));
		if (strstr(why, "unexpected eof") != NULL)
			return seterr(err, VIX_ERR_CONNECT, 0, "%s closed "
			    "the connection while %s", peer, doing);
		if (strstr(why, "alert") != NULL)
			return seterr(err, VIX_ERR_TLS, 0, "TLS refused by the "
			    "%s while %s: %s (is %s certificate issued by a CA "
			    "the %s trusts?)", peer, doing, why, c->server_role ?
			    "this" : "the client", peer);
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
	sigset_t old;
	int pend, rc;

	if ((c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return seterr(err, VIX_ERR_NOMEM, 0, "cannot set up TLS");
	if (is_address(host)) {
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

static vix_client *
client_new(int timeout_ms)
{
	vix_client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = -1;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : CLIENT_DEFAULT_TIMEOUT_MS;
	c->qtail = &c->qhead;
	return c;
}

/* Remember the key holder; its connection opens at the first BSN. */
static int
keyholder_set(vix_client *c, const struct vix_options *opt,
    struct vix_error *err)
{
	if ((c->kh_addr = strdup(opt->keyholder)) == NULL ||
	    (c->kh_cert = strdup(opt->cert_file)) == NULL ||
	    (c->kh_key = strdup(opt->key_file)) == NULL ||
	    (c->kh_ca = strdup(opt->ca_file)) == NULL)
		return seterr(err, VIX_ERR_NOMEM, 0, "out of memory");
	return VIX_OK;
}

/*
 * The youth's blind pseudonym for the index, made with the key holder
 * (blindbsn.c): only the pseudonym, its key version and key id leave, in
 * *pb (pointing into element and key_id). doing names the call in messages.
 */
static int
client_pseudonym(vix_client *c, const char *bsn, const char *doing,
    Vix__V1__Pseudonym *pb, uint8_t element[OPRF_ELEMENT_LEN],
    uint8_t key_id[BLINDBSN_KEY_ID_LEN], struct vix_error *err)
{
	char why[256];
	uint32_t version = 0;
	int code = 0;

	if (rules_check_bsn(bsn, strlen(bsn)) != BSN_OK)
		return seterr(err, VIX_ERR_ARGS, 0, "%s: %s", doing,
		    rules_bsn_strerror(rules_check_bsn(bsn, strlen(bsn))));
	if (c->kh == NULL && (c->kh = keyclient_open(c->kh_addr, c->kh_cert,
	    c->kh_key, c->kh_ca, c->timeout_ms, why, sizeof(why))) == NULL)
		return seterr(err, VIX_ERR_CONNECT, 0, "%s: key holder %s: %s",
		    doing, c->kh_addr, why);
	switch (blindbsn(c->kh, bsn, element, &version, key_id, &code, why,
	    sizeof(why))) {
	case BLINDBSN_OK:
		break;
	case BLINDBSN_INVALID:
		return seterr(err, VIX_ERR_ARGS, 0, "%s: %s", doing, why);
	case BLINDBSN_HOLDER:
		return code != 0 ? seterr(err, VIX_ERR_REFUSED, code, "%s: key "
		    "holder %s: %s", doing, c->kh_addr, why) :
		    seterr(err, VIX_ERR_CONNECT, 0, "%s: key holder %s: %s",
		    doing, c->kh_addr, why);
	default:
		return seterr(err, VIX_ERR_PROTOCOL, 0, "%s: key holder %s: %s",
		    doing, c->kh_addr, why);
	}
	pb->element.data = element;
	pb->element.len = OPRF_ELEMENT_LEN;
	pb->key_version = version;
	pb->key_id.data = key_id;
	pb->key_id.len = BLINDBSN_KEY_ID_LEN;
	return VIX_OK;
}

/*
 * The youth in a request: the BSN itself, or with a key holder its blind
 * pseudonym (*bsn_field then stays empty). The Pseudonym and its bytes
 * are the caller's (struct youth_arg) and live until the request is sent.
 */
struct youth_arg {
	Vix__V1__Pseudonym	pb;
	uint8_t			element[OPRF_ELEMENT_LEN];
	uint8_t			key_id[BLINDBSN_KEY_ID_LEN];
};

static int
client_youth(vix_client *c, const char *bsn, const char *doing,
    char **bsn_field, Vix__V1__Pseudonym **pb_field, struct youth_arg *ya,
    struct vix_error *err)
{
	int rc;

	if (c->kh_addr == NULL) {
		*bsn_field = (char *)bsn;
		return VIX_OK;
	}
	vix__v1__pseudonym__init(&ya->pb);
	if ((rc = client_pseudonym(c, bsn, doing, &ya->pb, ya->element,
	    ya->key_id, err)) != VIX_OK)
		return rc;
	*pb_field = &ya->pb;
	return VIX_OK;
}

/*
 * vix_connect@@LIBVIX_0.3, the default: struct vix_options with keyholder.
 * vix_connect@LIBVIX_0 below keeps serving programs built before it.
 */
VIX_API int vix_connect_v3(const struct vix_options *opt, vix_client **out,
    struct vix_error *err);
__asm__(".symver vix_connect_v3,vix_connect@@LIBVIX_0.3");

int
vix_connect_v3(const struct vix_options *opt, vix_client **out,
    struct vix_error *err)
{
	char host[256], port[8];
	const char *why;
	uint16_t portnum;
	vix_client *c;
	int rc;

	errclear(err);
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
	if (opt->keyholder != NULL && addr_split(opt->keyholder, host,
	    sizeof(host), &portnum, &why) == -1)
		return seterr(err, VIX_ERR_ARGS, 0, "key holder address '%s': "
		    "%s", opt->keyholder, why);
	(void)addr_split(opt->server, host, sizeof(host), &portnum, &why);
	snprintf(port, sizeof(port), "%u", portnum);
	if ((c = client_new(opt->timeout_ms)) == NULL)
		return seterr(err, VIX_ERR_NOMEM, 0, "out of memory");
	if ((c->ctx = tls_ctx(0, opt->cert_file, opt->key_file, opt->ca_file,
	    err)) == NULL) {
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
	if (opt->keyholder != NULL && (rc = keyholder_set(c, opt,
	    err)) != VIX_OK)
		goto fail;
	*out = c;
	return VIX_OK;
fail:
	c->dead = 1;
	vix_close(c);
	return rc;
}

/* struct vix_options as libvix 0.1 and 0.2 knew it, before keyholder. */
struct vix_options_v0 {
	const char	*server;
	const char	*cert_file;
	const char	*key_file;
	const char	*ca_file;
	int		 timeout_ms;
};

VIX_API int vix_connect_v0(const struct vix_options_v0 *opt, vix_client **out,
    struct vix_error *err);
__asm__(".symver vix_connect_v0,vix_connect@LIBVIX_0");

int
vix_connect_v0(const struct vix_options_v0 *opt, vix_client **out,
    struct vix_error *err)
{
	struct vix_options o = { 0 };

	if (opt != NULL) {
		o.server = opt->server;
		o.cert_file = opt->cert_file;
		o.key_file = opt->key_file;
		o.ca_file = opt->ca_file;
		o.timeout_ms = opt->timeout_ms;
	}
	return vix_connect_v3(opt != NULL ? &o : NULL, out, err);
}

/* Take the oldest kept notification into *out (and *more); 0 if none. */
static int
queue_pop(vix_client *c, struct vix_notification *out,
    struct vix_notification_more *more)
{
	struct queued *q = c->qhead;

	if (q == NULL)
		return 0;
	if ((c->qhead = q->next) == NULL)
		c->qtail = &c->qhead;
	c->qlen--;
	*out = q->n;
	if (more != NULL)
		*more = q->more;
	free(q);
	return 1;
}

void
vix_close(vix_client *c)
{
	struct vix_notification n;
	sigset_t old;
	int pend;

	if (c == NULL)
		return;
	while (queue_pop(c, &n, NULL))
		vix_notification_free(&n);
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
	keyclient_close(c->kh);
	free(c->kh_addr);
	free(c->kh_cert);
	free(c->kh_key);
	free(c->kh_ca);
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

/*
 * Whether one whole frame is buffered (*ready), with its header and body
 * sizes; if not, make room in rbuf to read more.
 */
static int
client_frame_ready(vix_client *c, size_t *hlen, size_t *blen, int *ready,
    struct vix_error *err)
{
	enum frame_result r;

	r = frame_decode_header(c->rbuf, c->rlen, CLIENT_MAX_FRAME, hlen, blen);
	if (r < 0) {
		c->dead = 1;
		return seterr(err, VIX_ERR_PROTOCOL, 0, "server sent a bad "
		    "frame: %s", frame_strerror(r));
	}
	*ready = r == FRAME_OK && c->rlen >= *hlen + *blen;
	if (!*ready && c->rcap - c->rlen < 16384) {
		size_t cap = c->rcap ? c->rcap * 2 : 65536;
		uint8_t *p = realloc(c->rbuf, cap);

		if (p == NULL)
			return seterr(err, VIX_ERR_NOMEM, 0, "out of memory "
			    "reading a response");
		c->rbuf = p;
		c->rcap = cap;
	}
	return VIX_OK;
}

/* Read until one whole frame is buffered; returns its header and body sizes. */
static int
client_read_frame(vix_client *c, size_t *hlen, size_t *blen,
    struct vix_error *err)
{
	int n, rc, ready;

	for (;;) {
		rc = client_frame_ready(c, hlen, blen, &ready, err);
		if (rc != VIX_OK || ready)
			return rc;
		ERR_clear_error();
		n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(c->rcap - c->rlen));
		if (n <= 0)
			return ssl_failure(c, n, "waiting for the response",
			    err);
		c->rlen += (size_t)n;
	}
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds from now to deadline, for poll(); -1 for no deadline. */
static int
ms_left(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * Once something arrives, read it into rbuf; VIX_ERR_TIMEOUT if nothing did
 * by deadline (-1: none) or a signal interrupted the wait. Auto-retry is
 * off for the read, so a record without data (a session ticket) returns to
 * poll() instead of blocking; the read only blocks, within the socket
 * timeout, to complete a record that has begun to arrive.
 */
static int
client_wait_read(vix_client *c, int64_t deadline, struct vix_error *err)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int n, e;

	for (;;) {
		if (SSL_pending(c->ssl) == 0) {
			n = poll(&pfd, 1, ms_left(deadline));
			if (n == 0 || (n == -1 && errno == EINTR))
				return seterr(err, VIX_ERR_TIMEOUT, 0,
				    n == 0 ? "nothing arrived in time" :
				    "interrupted while waiting");
			if (n == -1)
				return seterr(err, VIX_ERR_CONNECT, 0, "cannot "
				    "wait for the connection: %s",
				    strerror(errno));
		}
		ERR_clear_error();
		SSL_clear_mode(c->ssl, SSL_MODE_AUTO_RETRY);
		n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(c->rcap - c->rlen));
		e = SSL_get_error(c->ssl, n);
		SSL_set_mode(c->ssl, SSL_MODE_AUTO_RETRY);
		if (n > 0) {
			c->rlen += (size_t)n;
			return VIX_OK;
		}
		if (e != SSL_ERROR_WANT_READ)
			return ssl_failure(c, n, "waiting for notifications",
			    err);
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

/* Give req the next id and send it. */
static int
client_send(vix_client *c, Vix__V1__Request *req, struct vix_error *err)
{
	uint8_t stackbuf[1024], *buf = stackbuf;
	size_t n;
	int rc;

	if (c->dead)
		return seterr(err, VIX_ERR_CONNECT, 0, "connection is closed");
	req->id = ++c->next_id;
	req->actor = c->actor;
	if ((n = frame_packed_size(&req->base)) > sizeof(stackbuf) &&
	    (buf = malloc(n)) == NULL)
		return seterr(err, VIX_ERR_NOMEM, 0, "out of memory");
	frame_pack(&req->base, buf);
	rc = client_write(c, buf, n, err);
	if (buf != stackbuf)
		free(buf);
	return rc;
}

static int notification_copy(struct vix_notification *,
    struct vix_notification_more *, const Vix__V1__Notification *,
    struct vix_error *);

/* Keep a notification that arrived during a call for vix_next_notification. */
static int
queue_push(vix_client *c, const Vix__V1__Notification *src,
    struct vix_error *err)
{
	struct queued *q;
	int rc;

	if (c->qlen >= CLIENT_QUEUE_MAX) {
		c->dead = 1;
		return seterr(err, VIX_ERR_PROTOCOL, 0, "more than %d "
		    "notifications arrived that were not taken with "
		    "vix_next_notification", CLIENT_QUEUE_MAX);
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return seterr(err, VIX_ERR_NOMEM, 0, "out of memory keeping "
		    "a notification");
	if ((rc = notification_copy(&q->n, &q->more, src, err)) != VIX_OK) {
		free(q);
		return rc;
	}
	*c->qtail = q;
	c->qtail = &q->next;
	c->qlen++;
	return VIX_OK;
}

/* Only notifications and acknowledgements work in push mode. */
static int
client_not_pushed(vix_client *c, struct vix_error *err)
{
	if (!c->server_role)
		return VIX_OK;
	return seterr(err, VIX_ERR_ARGS, 0, "on a connection from vixd only "
	    "notifications and acknowledgements work");
}

/* A pipeline in progress owns the responses: nothing else may read them. */
static int
client_not_pipelining(vix_client *c, struct vix_error *err)
{
	if (c->pending == 0)
		return VIX_OK;
	return seterr(err, VIX_ERR_ARGS, 0, "%zu pipelined register requests "
	    "still await vix_register_recv", c->pending);
}

/*
 * Read until the response to request id arrives (id 0: to any request),
 * keeping the notifications that arrive meanwhile. A response with id 0 is
 * the server speaking before it closes (e.g. an unknown organisation): it
 * answers whatever we asked. On VIX_OK *msg holds the response message;
 * free it with frame_free_unpacked(&(*msg)->base, b).
 */
static int
client_await(vix_client *c, uint64_t id, struct frame_budget *b,
    Vix__V1__ServerMessage **msg, struct vix_error *err)
{
	const Vix__V1__Response *resp;
	int rc = VIX_OK;

	while (rc == VIX_OK) {
		if ((rc = client_next_message(c, b, msg, err)) != VIX_OK)
			return rc;
		resp = (*msg)->response;
		if ((*msg)->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE &&
		    (id == 0 || resp->id == id || resp->id == 0))
			return VIX_OK;
		if ((*msg)->msg_case ==
		    VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION)
			rc = queue_push(c, (*msg)->notification, err);
		frame_free_unpacked(&(*msg)->base, b);	/* kept, or not ours */
	}
	return rc;
}

/* A refusal by the server, with its retry hint, into err. */
static int
refused(const Vix__V1__Status *st, struct vix_error *err)
{
	seterr(err, VIX_ERR_REFUSED, (int)st->code, "%s", st->message);
	if (err != NULL)
		err->retry_after_ms = st->retry_after_ms;
	return VIX_ERR_REFUSED;
}

/*
 * A response's status as a vix_result: a refusal is reported in err, and
 * one with id 0 (the server's last word) ends the connection.
 */
static int
client_status(vix_client *c, const Vix__V1__Response *resp,
    struct vix_error *err)
{
	if (resp->status == NULL || resp->status->code == 0)
		return VIX_OK;
	if (resp->id == 0)
		c->dead = 1;
	return refused(resp->status, err);
}

/*
 * Send req and wait for its response, keeping the notifications that
 * arrive meanwhile. On VIX_OK *msg holds the response message; free it
 * with frame_free_unpacked(&(*msg)->base, b).
 */
static int
client_call(vix_client *c, Vix__V1__Request *req, struct frame_budget *b,
    Vix__V1__ServerMessage **msg, struct vix_error *err)
{
	int rc;

	if ((rc = client_not_pushed(c, err)) != VIX_OK ||
	    (rc = client_not_pipelining(c, err)) != VIX_OK ||
	    (rc = client_send(c, req, err)) != VIX_OK ||
	    (rc = client_await(c, req->id, b, msg, err)) != VIX_OK)
		return rc;
	if ((rc = client_status(c, (*msg)->response, err)) != VIX_OK) {
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

	errclear(err);
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

/*
 * A request naming a youth (register, withdraw, involved). With blind
 * pseudonyms a key rotation can make the index and the client's pseudonym
 * disagree for a moment: the key holder moved to the new version just
 * before the index took it, or the index finished the move while the
 * request was under way. The index then names pseudonym.key_version, and
 * the pseudonym is made again and the request sent once more.
 */
static int
client_youth_request(vix_client *c, Vix__V1__Request *req,
    Vix__V1__Response__BodyCase want, const char *what,
    struct frame_budget *b, Vix__V1__ServerMessage **msg, const char *bsn,
    struct youth_arg *ya, struct vix_error *err)
{
	static const char stale[] = "pseudonym.key_version";
	struct timespec pause = { 0, 100 * 1000000L };
	struct vix_error e = { 0 };
	int rc;

	rc = client_request(c, req, want, what, b, msg, &e);
	if (rc == VIX_ERR_REFUSED && c->kh_addr != NULL && bsn != NULL &&
	    e.status == VIX_STATUS_FAILED_PRECONDITION &&
	    strncmp(e.message, stale, sizeof(stale) - 1) == 0) {
		nanosleep(&pause, NULL);
		if ((rc = client_pseudonym(c, bsn, what, &ya->pb, ya->element,
		    ya->key_id, &e)) == VIX_OK)
			rc = client_request(c, req, want, what, b, msg, &e);
	}
	if (err != NULL)
		*err = e;
	return rc;
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

/* Copy an array of n involvements into a new *dst (NULL when n is 0). */
static int
involvements_copy(struct vix_involvement **dst, size_t *ndst,
    Vix__V1__Involvement *const *src, size_t n, struct vix_error *err)
{
	if (n == 0)
		return VIX_OK;
	if ((*dst = calloc(n, sizeof(**dst))) == NULL)
		return seterr(err, VIX_ERR_NOMEM, 0, "out of memory reading "
		    "the organisations involved");
	*ndst = n;
	for (size_t i = 0; i < n; i++)
		if (src[i] != NULL)
			involvement_copy(&(*dst)[i], src[i]);
	return VIX_OK;
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
	return involvements_copy(&dst->others, &dst->n_others, src->others,
	    src->n_others, err);
}

/*
 * Copy src into the zeroed *dst and *more (unless NULL); on failure dst
 * holds nothing to free.
 */
static int
notification_copy(struct vix_notification *dst,
    struct vix_notification_more *more, const Vix__V1__Notification *src,
    struct vix_error *err)
{
	if (more != NULL) {
		more->escalation_round = src->escalation_round;
		more->reminder = src->reminder;
		more->escalates_at = src->escalates_at;
	}
	dst->seq = src->seq;
	copy_str(dst->recipient, sizeof(dst->recipient), src->recipient);
	dst->type = (enum vix_notification_type)src->type;
	dst->match_id = src->match_id;
	dst->signal_id = src->signal_id;
	copy_str(dst->client_ref, sizeof(dst->client_ref), src->client_ref);
	dst->time = src->time;
	copy_str(dst->coordinator, sizeof(dst->coordinator), src->coordinator);
	copy_str(dst->coordinator_name, sizeof(dst->coordinator_name),
	    src->coordinator_name);
	dst->coordinated = src->coordinated != 0;
	copy_str(dst->municipality, sizeof(dst->municipality),
	    src->municipality);
	if (src->subject != NULL) {
		dst->has_subject = 1;
		involvement_copy(&dst->subject, src->subject);
	}
	return involvements_copy(&dst->others, &dst->n_others, src->others,
	    src->n_others, err);
}

/* Point reg at the caller's strings; required fields are named if missing. */
static int
register_fill(vix_client *c, const struct vix_register_req *rq,
    Vix__V1__Register *reg, Vix__V1__Contact *ct, struct youth_arg *ya,
    struct vix_error *err)
{
	int rc;

	const char *missing = rq->bsn == NULL ? "bsn" :
	    rq->birth_date == NULL ? "birth_date" :
	    rq->contact_name == NULL ? "contact_name" :
	    rq->contact_phone == NULL ? "contact_phone" : NULL;

	if (missing != NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "register: %s is required",
		    missing);
	if ((rc = client_youth(c, rq->bsn, "register", &reg->bsn,
	    &reg->pseudonym, ya, err)) != VIX_OK)
		return rc;
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

/* Copy a Register reply into the zeroed *out; on failure *out is zeroed. */
static int
register_result_copy(struct vix_register_result *out,
    const Vix__V1__RegisterReply *r, struct vix_error *err)
{
	int rc = VIX_OK;

	if (r == NULL)
		return VIX_OK;
	out->signal_id = r->signal_id;
	out->status = (enum vix_signal_status)r->status;
	out->expires = r->expires;
	out->expiry_bound = (enum vix_expiry_bound)r->expiry_bound;
	if (r->match != NULL) {
		out->has_match = 1;
		rc = match_copy(&out->match, r->match, err);
	}
	if (rc != VIX_OK)
		vix_register_result_free(out);
	return rc;
}

int
vix_register(vix_client *c, const struct vix_register_req *rq,
    struct vix_register_result *out, struct vix_error *err)
{
	return vix_register_parents(c, rq, NULL, 0, out, err);
}

/* The parents of a registration, as the youth is sent (bsn or pseudonym). */
struct parents_arg {
	char			*bsns[VIX_PARENTS_MAX];
	Vix__V1__Pseudonym	*pbs[VIX_PARENTS_MAX];
	struct youth_arg	 ya[VIX_PARENTS_MAX];
};

static int
parents_fill(vix_client *c, const char *const *parents, size_t n,
    Vix__V1__Register *reg, struct parents_arg *pa, struct vix_error *err)
{
	int rc;

	if (n > VIX_PARENTS_MAX)
		return seterr(err, VIX_ERR_ARGS, 0, "register: at most %d "
		    "parents", VIX_PARENTS_MAX);
	for (size_t i = 0; i < n; i++) {
		if (parents[i] == NULL)
			return seterr(err, VIX_ERR_ARGS, 0, "register: parent "
			    "%zu is NULL", i);
		pa->bsns[i] = NULL;
		pa->pbs[i] = NULL;
		if ((rc = client_youth(c, parents[i], "register", &pa->bsns[i],
		    &pa->pbs[i], &pa->ya[i], err)) != VIX_OK)
			return rc;
	}
	if (c->kh_addr == NULL) {
		reg->parent_bsns = pa->bsns;
		reg->n_parent_bsns = n;
	} else {
		reg->parent_pseudonyms = pa->pbs;
		reg->n_parent_pseudonyms = n;
	}
	return VIX_OK;
}

/*
 * A refusal because a blind pseudonym of a parent was made under a key
 * version the index no longer takes ("parent_pseudonyms[i].key_version").
 */
static int
parent_stale(const struct vix_error *e)
{
	static const char field[] = "parent_pseudonyms[";

	return e->status == VIX_STATUS_FAILED_PRECONDITION &&
	    strncmp(e->message, field, sizeof(field) - 1) == 0 &&
	    strstr(e->message, "].key_version") != NULL;
}

int
vix_register_parents(vix_client *c, const struct vix_register_req *rq,
    const char *const *parents, size_t n, struct vix_register_result *out,
    struct vix_error *err)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register reg = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact ct = VIX__V1__CONTACT__INIT;
	Vix__V1__ServerMessage *msg;
	struct parents_arg pa;
	struct frame_budget b;
	struct youth_arg ya;
	struct vix_error e = { 0 };
	int rc;

	errclear(err);
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || rq == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client, request and result "
		    "are required");
	if (n > 0 && parents == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "register: %zu parents, "
		    "but none given", n);
	if ((rc = register_fill(c, rq, &reg, &ct, &ya, err)) != VIX_OK ||
	    (rc = parents_fill(c, parents, n, &reg, &pa, err)) != VIX_OK)
		return rc;
	req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req.register_ = &reg;
	rc = client_youth_request(c, &req, VIX__V1__RESPONSE__BODY_REGISTER,
	    "register", &b, &msg, rq->bsn, &ya, &e);
	/* The key holder moved on while the parents were made: once more. */
	if (rc == VIX_ERR_REFUSED && c->kh_addr != NULL && parent_stale(&e) &&
	    (rc = parents_fill(c, parents, n, &reg, &pa, &e)) == VIX_OK)
		rc = client_youth_request(c, &req,
		    VIX__V1__RESPONSE__BODY_REGISTER, "register", &b, &msg,
		    rq->bsn, &ya, &e);
	if (err != NULL)
		*err = e;
	if (rc != VIX_OK)
		return rc;
	rc = register_result_copy(out, msg->response->register_, err);
	frame_free_unpacked(&msg->base, &b);
	return rc;
}

int
vix_register_send(vix_client *c, const struct vix_register_req *rq,
    uint64_t *id, struct vix_error *err)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register reg = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact ct = VIX__V1__CONTACT__INIT;
	struct youth_arg ya;
	int rc;

	errclear(err);
	if (id != NULL)
		*id = 0;
	if (c == NULL || rq == NULL || id == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client, request and id "
		    "are required");
	if ((rc = client_not_pushed(c, err)) != VIX_OK ||
	    (rc = register_fill(c, rq, &reg, &ct, &ya, err)) != VIX_OK)
		return rc;
	req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req.register_ = &reg;
	if ((rc = client_send(c, &req, err)) != VIX_OK)
		return rc;
	c->pending++;
	*id = req.id;
	return VIX_OK;
}

/*
 * The response to one pipelined request: *id names it, unless the server
 * spoke for the whole connection (id 0) or answered a request never sent.
 */
static int
register_response(vix_client *c, const Vix__V1__Response *resp, uint64_t *id,
    struct vix_register_result *out, struct vix_error *err)
{
	int rc;

	if (resp->id > c->next_id) {
		c->dead = 1;
		return seterr(err, VIX_ERR_PROTOCOL, 0, "server answered "
		    "request %" PRIu64 ", which was never sent", resp->id);
	}
	if (resp->id != 0) {
		*id = resp->id;
		c->pending--;
	}
	if ((rc = client_status(c, resp, err)) != VIX_OK)
		return rc;
	if (resp->id == 0) {
		c->dead = 1;
		return seterr(err, VIX_ERR_PROTOCOL, 0, "server answered "
		    "without naming the request");
	}
	if (resp->body_case != VIX__V1__RESPONSE__BODY_REGISTER)
		return seterr(err, VIX_ERR_PROTOCOL, 0, "server answered "
		    "register without a register reply");
	return register_result_copy(out, resp->register_, err);
}

int
vix_register_recv(vix_client *c, uint64_t *id,
    struct vix_register_result *out, struct vix_error *err)
{
	Vix__V1__ServerMessage *msg;
	struct frame_budget b;
	int rc;

	errclear(err);
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (id != NULL)
		*id = 0;
	if (c == NULL || id == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client, id and result are "
		    "required");
	if (c->pending == 0)
		return seterr(err, VIX_ERR_ARGS, 0, "no register request sent "
		    "with vix_register_send awaits its response");
	if (c->dead)
		return seterr(err, VIX_ERR_CONNECT, 0, "connection is closed");
	frame_budget_init(&b, 2 * CLIENT_MAX_FRAME);
	if ((rc = client_await(c, 0, &b, &msg, err)) != VIX_OK)
		return rc;
	rc = register_response(c, msg->response, id, out, err);
	frame_free_unpacked(&msg->base, &b);
	return rc;
}

int
vix_wait(vix_client *c, int timeout_ms, struct vix_error *err)
{
	size_t hlen, blen;
	int64_t deadline;
	int rc, ready;

	errclear(err);
	if (c == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client is required");
	if (c->dead)
		return seterr(err, VIX_ERR_CONNECT, 0, "connection is closed");
	deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	/* Until one whole message is here: then the next read cannot wait. */
	for (;;) {
		if ((rc = client_frame_ready(c, &hlen, &blen, &ready,
		    err)) != VIX_OK || ready)
			return rc;
		if ((rc = client_wait_read(c, deadline, err)) != VIX_OK)
			return rc;
	}
}

int
vix_fd(const vix_client *c)
{
	return c == NULL ? -1 : c->fd;
}

int
vix_set_actor(vix_client *c, const char *actor, struct vix_error *err)
{
	const char *why;

	errclear(err);
	if (c == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "no client");
	if (rules_check_actor(actor, &why) == -1)
		return seterr(err, VIX_ERR_ARGS, 0, "%s", why);
	snprintf(c->actor, sizeof(c->actor), "%s", actor != NULL ? actor : "");
	return VIX_OK;
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
	struct youth_arg ya;
	int rc;

	errclear(err);
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
	if (bsn != NULL && (rc = client_youth(c, bsn, "withdraw", &wd.bsn,
	    &wd.pseudonym, &ya, err)) != VIX_OK)
		return rc;
	wd.reason = (Vix__V1__Withdraw__Reason)reason;
	req.body_case = VIX__V1__REQUEST__BODY_WITHDRAW;
	req.withdraw = &wd;
	if ((rc = client_youth_request(c, &req, VIX__V1__RESPONSE__BODY_WITHDRAW,
	    "withdraw", &b, &msg, bsn, &ya, err)) != VIX_OK)
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
	struct youth_arg ya;
	int rc;

	errclear(err);
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client and result are "
		    "required");
	if (bsn == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "involved: bsn is required");
	if ((rc = client_youth(c, bsn, "involved", &inv.bsn, &inv.pseudonym,
	    &ya, err)) != VIX_OK)
		return rc;
	req.body_case = VIX__V1__REQUEST__BODY_INVOLVED;
	req.involved = &inv;
	if ((rc = client_youth_request(c, &req, VIX__V1__RESPONSE__BODY_INVOLVED,
	    "involved", &b, &msg, bsn, &ya, err)) != VIX_OK)
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

	errclear(err);
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

/* A worklist page's items; on failure what was copied stays for the free. */
static int
matches_copy(struct vix_matches_result *out, const Vix__V1__MatchesReply *r,
    struct vix_error *err)
{
	int rc = VIX_OK;

	if (r->n_matches > 0 && (out->items = calloc(r->n_matches,
	    sizeof(*out->items))) == NULL)
		return seterr(err, VIX_ERR_NOMEM, 0, "out of memory reading "
		    "matches");
	for (size_t i = 0; i < r->n_matches && rc == VIX_OK; i++) {
		const Vix__V1__MatchSummary *m = r->matches[i];

		out->n = i + 1;
		if (m == NULL || m->match == NULL)
			return seterr(err, VIX_ERR_PROTOCOL, 0, "server answered "
			    "matches with an item without its match");
		out->items[i].signal_id = m->signal_id;
		copy_str(out->items[i].client_ref,
		    sizeof(out->items[i].client_ref), m->client_ref);
		out->items[i].escalations = m->match->escalations;
		rc = match_copy(&out->items[i].match, m->match, err);
	}
	out->next_after = r->next_after;
	out->time = r->time;
	return rc;
}

int
vix_matches(vix_client *c, const struct vix_matches_req *rq,
    struct vix_matches_result *out, struct vix_error *err)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Matches m = VIX__V1__MATCHES__INIT;
	Vix__V1__ServerMessage *msg;
	struct frame_budget b;
	int rc;

	errclear(err);
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client and result are "
		    "required");
	if (rq != NULL) {
		m.page_size = rq->page_size;
		m.after = rq->after;
		m.uncoordinated = rq->uncoordinated != 0;
		m.escalated = rq->escalated != 0;
	}
	req.body_case = VIX__V1__REQUEST__BODY_MATCHES;
	req.matches = &m;
	if ((rc = client_request(c, &req, VIX__V1__RESPONSE__BODY_MATCHES,
	    "matches", &b, &msg, err)) != VIX_OK)
		return rc;
	if (msg->response->matches != NULL)
		rc = matches_copy(out, msg->response->matches, err);
	frame_free_unpacked(&msg->base, &b);
	if (rc != VIX_OK)
		vix_matches_result_free(out);
	return rc;
}

int
vix_coordinate(vix_client *c, uint64_t match_id,
    enum vix_coordinate_action action, struct vix_match *out,
    struct vix_error *err)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Coordinate co = VIX__V1__COORDINATE__INIT;
	Vix__V1__ServerMessage *msg;
	Vix__V1__CoordinateReply *r;
	struct frame_budget b;
	int rc;

	errclear(err);
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client and result are "
		    "required");
	if (match_id == 0)
		return seterr(err, VIX_ERR_ARGS, 0, "coordinate: match_id is "
		    "required");
	if (action < VIX_COORD_CLAIM || action > VIX_COORD_MARK_COORDINATED)
		return seterr(err, VIX_ERR_ARGS, 0, "coordinate: action %d is "
		    "not CLAIM, RELEASE or MARK_COORDINATED", (int)action);
	co.match_id = match_id;
	co.action = (Vix__V1__Coordinate__Action)action;
	req.body_case = VIX__V1__REQUEST__BODY_COORDINATE;
	req.coordinate = &co;
	if ((rc = client_request(c, &req, VIX__V1__RESPONSE__BODY_COORDINATE,
	    "coordinate", &b, &msg, err)) != VIX_OK)
		return rc;
	if ((r = msg->response->coordinate) == NULL || r->match == NULL)
		rc = seterr(err, VIX_ERR_PROTOCOL, 0, "server answered "
		    "coordinate without the match");
	else
		rc = match_copy(out, r->match, err);
	frame_free_unpacked(&msg->base, &b);
	if (rc != VIX_OK)
		vix_match_free(out);
	return rc;
}

int
vix_relocate(vix_client *c, const char *bsn, const char *municipality,
    struct vix_relocate_result *out, struct vix_error *err)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Relocate rel = VIX__V1__RELOCATE__INIT;
	Vix__V1__ServerMessage *msg;
	Vix__V1__RelocateReply *r;
	struct frame_budget b;
	struct youth_arg ya;
	int rc;

	errclear(err);
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client and result are "
		    "required");
	if (bsn == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "relocate: bsn is required");
	if (municipality == NULL || strlen(municipality) != 4 ||
	    strspn(municipality, "0123456789") != 4)
		return seterr(err, VIX_ERR_ARGS, 0, "relocate: municipality "
		    "must be the 4-digit CBS code the youth moved to");
	if ((rc = client_youth(c, bsn, "relocate", &rel.bsn, &rel.pseudonym,
	    &ya, err)) != VIX_OK)
		return rc;
	rel.municipality = (char *)municipality;
	req.body_case = VIX__V1__REQUEST__BODY_RELOCATE;
	req.relocate = &rel;
	if ((rc = client_youth_request(c, &req, VIX__V1__RESPONSE__BODY_RELOCATE,
	    "relocate", &b, &msg, bsn, &ya, err)) != VIX_OK)
		return rc;
	if ((r = msg->response->relocate) != NULL) {
		out->moved = r->moved != 0;
		out->signals = r->signals;
		out->match_id = r->match_id;
	}
	frame_free_unpacked(&msg->base, &b);
	return VIX_OK;
}

static void
position_copy(struct vix_position *dst,
    const Vix__V1__SubscribeReply__Position *src)
{
	copy_str(dst->recipient, sizeof(dst->recipient), src->recipient);
	dst->acked = src->acked;
	dst->last = src->last;
}

int
vix_subscribe(vix_client *c, uint64_t from_seq,
    const char *const *recipients, size_t n,
    struct vix_subscribe_result *out, struct vix_error *err)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__ServerMessage *msg;
	Vix__V1__SubscribeReply *r;
	struct frame_budget b;
	int rc;

	errclear(err);
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || out == NULL || (n > 0 && recipients == NULL))
		return seterr(err, VIX_ERR_ARGS, 0, "client, result and the "
		    "recipients counted are required");
	for (size_t i = 0; i < n; i++)
		if (recipients[i] == NULL || recipients[i][0] == '\0')
			return seterr(err, VIX_ERR_ARGS, 0, "subscribe: "
			    "recipient %zu is empty", i + 1);
	sub.from_seq = from_seq;
	sub.n_recipients = n;
	sub.recipients = (char **)recipients;
	req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	if ((rc = client_request(c, &req, VIX__V1__RESPONSE__BODY_SUBSCRIBE,
	    "subscribe", &b, &msg, err)) != VIX_OK)
		return rc;
	c->subscribed = 1;	/* the server delivers from now on */
	if ((r = msg->response->subscribe) != NULL && r->n_positions > 0) {
		out->positions = calloc(r->n_positions, sizeof(*out->positions));
		if (out->positions == NULL)
			rc = seterr(err, VIX_ERR_NOMEM, 0, "out of memory "
			    "reading a subscription");
		else
			out->n = r->n_positions;
		for (size_t i = 0; i < out->n; i++)
			if (r->positions[i] != NULL)
				position_copy(&out->positions[i],
				    r->positions[i]);
	}
	frame_free_unpacked(&msg->base, &b);
	return rc;
}

/*
 * A message that no call waits for: a notification goes to *out (*got set);
 * a refusal is reported (from id 0, the server's last word before it
 * closes); anything else is dropped.
 */
static int
client_unasked(vix_client *c, const Vix__V1__ServerMessage *msg,
    struct vix_notification *out, struct vix_notification_more *more,
    int *got, struct vix_error *err)
{
	const Vix__V1__Response *resp = msg->response;

	switch (msg->msg_case) {
	case VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION:
		*got = 1;
		return notification_copy(out, more, msg->notification, err);
	case VIX__V1__SERVER_MESSAGE__MSG_RESPONSE:
		if (resp->status == NULL || resp->status->code == 0)
			return VIX_OK;
		if (resp->id == 0)
			c->dead = 1;
		return refused(resp->status, err);
	default:
		return VIX_OK;
	}
}

int
vix_next_notification(vix_client *c, int timeout_ms,
    struct vix_notification *out, struct vix_error *err)
{
	return vix_next_notification_more(c, timeout_ms, out, NULL, err);
}

int
vix_next_notification_more(vix_client *c, int timeout_ms,
    struct vix_notification *out, struct vix_notification_more *more,
    struct vix_error *err)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	Vix__V1__ServerMessage *msg;
	struct frame_budget b;
	size_t hlen, blen;
	int got = 0, rc = VIX_OK, ready;

	errclear(err);
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (more != NULL)
		memset(more, 0, sizeof(*more));
	if (c == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "client and result are "
		    "required");
	if (queue_pop(c, out, more))
		return VIX_OK;
	if (!c->subscribed && !c->server_role)
		return seterr(err, VIX_ERR_ARGS, 0, "no notifications can "
		    "come: call vix_subscribe() on this connection first");
	if ((rc = client_not_pipelining(c, err)) != VIX_OK)
		return rc;
	while (rc == VIX_OK && !got) {
		if (c->dead)
			return seterr(err, VIX_ERR_CONNECT, 0, "connection is "
			    "closed");
		if ((rc = client_frame_ready(c, &hlen, &blen, &ready,
		    err)) != VIX_OK)
			break;
		if (!ready) {
			rc = client_wait_read(c, deadline, err);
			continue;
		}
		frame_budget_init(&b, 2 * CLIENT_MAX_FRAME);
		if ((rc = client_next_message(c, &b, &msg, err)) != VIX_OK)
			break;
		rc = client_unasked(c, msg, out, more, &got, err);
		frame_free_unpacked(&msg->base, &b);
	}
	if (rc != VIX_OK)
		vix_notification_free(out);
	return rc;
}

int
vix_ack(vix_client *c, const char *recipient, uint64_t seq,
    struct vix_error *err)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ack ack = VIX__V1__ACK__INIT;
	Vix__V1__ServerMessage *msg;
	struct frame_budget b;
	int rc;

	errclear(err);
	if (c == NULL || recipient == NULL || recipient[0] == '\0')
		return seterr(err, VIX_ERR_ARGS, 0, "ack: client and recipient "
		    "are required");
	ack.recipient = (char *)recipient;
	ack.seq = seq;
	req.body_case = VIX__V1__REQUEST__BODY_ACK;
	req.ack = &ack;
	if (c->server_role)
		return client_send(c, &req, err);	/* push: no reply */
	if ((rc = client_request(c, &req, VIX__V1__RESPONSE__BODY_ACK, "ack",
	    &b, &msg, err)) != VIX_OK)
		return rc;
	frame_free_unpacked(&msg->base, &b);
	return VIX_OK;
}

/* Bind a non-blocking listening socket to host and port. */
static int
tcp_listen(const char *host, const char *port, struct vix_error *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE |
	    AI_NUMERICSERV }, *res;
	int fd, rc, on = 1, saved;

	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return -seterr(err, VIX_ERR_CONNECT, 0, "cannot resolve %s: %s",
		    host, gai_strerror(rc));
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, res->ai_protocol);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		saved = errno;
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -seterr(err, VIX_ERR_CONNECT, 0, "cannot listen on %s "
		    "port %s: %s", host, port, strerror(saved));
	}
	freeaddrinfo(res);
	return fd;
}

/* Accept only a peer certificate issued for name (NULL: no such check). */
static int
peer_name_require(SSL_CTX *ctx, const char *name, struct vix_error *err)
{
	X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
	int ok;

	if (name == NULL)
		return VIX_OK;
	if (is_address(name))
		ok = X509_VERIFY_PARAM_set1_ip_asc(param, name);
	else
		ok = X509_VERIFY_PARAM_set1_host(param, name, 0);
	return ok ? VIX_OK : seterr(err, VIX_ERR_ARGS, 0, "bad peer name %s",
	    name);
}

/* hex: 32 bytes as 64 hex digits, with or without colons between them. */
static int
peer_pin_parse(const char *hex, unsigned char pin[32])
{
	size_t n = 0;
	int hi = -1, v;

	for (; *hex != '\0'; hex++) {
		if (*hex == ':' && hi == -1)
			continue;
		if (*hex >= '0' && *hex <= '9')
			v = *hex - '0';
		else if (*hex >= 'a' && *hex <= 'f')
			v = *hex - 'a' + 10;
		else if (*hex >= 'A' && *hex <= 'F')
			v = *hex - 'A' + 10;
		else
			return -1;
		if (hi == -1) {
			hi = v;
			continue;
		}
		if (n == 32)
			return -1;
		pin[n++] = (unsigned char)(hi << 4 | v);
		hi = -1;
	}
	return n == 32 && hi == -1 ? 0 : -1;
}

/* The pinned fingerprint, if any: vixd's certificate must have it. */
static int
peer_pin_check(const vix_listener *l, vix_client *c, struct vix_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	X509 *x;

	if (!l->pinned)
		return VIX_OK;
	if ((x = SSL_get0_peer_certificate(c->ssl)) == NULL ||
	    !X509_digest(x, EVP_sha256(), md, &n) || n != sizeof(l->pin) ||
	    CRYPTO_memcmp(md, l->pin, sizeof(l->pin)) != 0)
		return seterr(err, VIX_ERR_TLS, 0, "peer certificate refused: "
		    "its SHA-256 fingerprint is not the pinned one "
		    "(peer_sha256), so it is not vixd's");
	return VIX_OK;
}

/* vixd's identity as opt gives it into l; at least one way is required. */
static int
peer_require(vix_listener *l, const struct vix_listen_options *opt,
    struct vix_error *err)
{
	if (opt->peer_name == NULL && opt->peer_sha256 == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "name vixd: a peer name "
		    "(the host name in vixd's certificate) or its SHA-256 "
		    "fingerprint; without one any certificate from the CA "
		    "bundle, any organisation's, could push notifications");
	if (opt->peer_sha256 != NULL) {
		if (peer_pin_parse(opt->peer_sha256, l->pin) == -1)
			return seterr(err, VIX_ERR_ARGS, 0, "peer SHA-256 "
			    "fingerprint: 64 hex digits expected, colons "
			    "allowed (openssl x509 -noout -fingerprint "
			    "-sha256 -in CERT)");
		l->pinned = 1;
	}
	return peer_name_require(l->ctx, opt->peer_name, err);
}

int
vix_listen(const struct vix_listen_options *opt, vix_listener **out,
    struct vix_error *err)
{
	char host[256], port[8];
	const char *why;
	uint16_t portnum;
	vix_listener *l;
	int rc;

	errclear(err);
	if (out == NULL || opt == NULL || opt->listen == NULL ||
	    opt->cert_file == NULL || opt->key_file == NULL ||
	    opt->ca_file == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "listen address, "
		    "certificate, key and CA bundle are all required");
	*out = NULL;
	if (addr_split(opt->listen, host, sizeof(host), &portnum, &why) == -1)
		return seterr(err, VIX_ERR_ARGS, 0, "listen address '%s': %s",
		    opt->listen, why);
	snprintf(port, sizeof(port), "%u", portnum);
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return seterr(err, VIX_ERR_NOMEM, 0, "out of memory");
	l->fd = -1;
	l->timeout_ms = opt->timeout_ms;
	if ((l->ctx = tls_ctx(1, opt->cert_file, opt->key_file, opt->ca_file,
	    err)) == NULL) {
		rc = err ? (int)err->kind : VIX_ERR_ARGS;
		goto fail;
	}
	if ((rc = peer_require(l, opt, err)) != VIX_OK)
		goto fail;
	if ((l->fd = tcp_listen(host, port, err)) < 0) {
		rc = -l->fd;
		l->fd = -1;
		goto fail;
	}
	*out = l;
	return VIX_OK;
fail:
	vix_listener_close(l);
	return rc;
}

static int
server_handshake(vix_client *c, struct vix_error *err)
{
	sigset_t old;
	int pend, rc;

	if ((c->ssl = SSL_new(c->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return seterr(err, VIX_ERR_NOMEM, 0, "cannot set up TLS");
	ERR_clear_error();
	sigpipe_block(&old, &pend);
	rc = SSL_accept(c->ssl);
	sigpipe_restore(&old, pend);
	if (rc != 1)
		return ssl_failure(c, rc, "in the TLS handshake", err);
	return VIX_OK;
}

int
vix_accept(vix_listener *l, int timeout_ms, vix_client **out,
    struct vix_error *err)
{
	struct pollfd pfd;
	vix_client *c;
	int fd, rc;

	errclear(err);
	if (l == NULL || out == NULL)
		return seterr(err, VIX_ERR_ARGS, 0, "listener and result are "
		    "required");
	*out = NULL;
	pfd = (struct pollfd){ .fd = l->fd, .events = POLLIN };
	if ((rc = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms)) == 0 ||
	    (rc == -1 && errno == EINTR))
		return seterr(err, VIX_ERR_TIMEOUT, 0, rc == 0 ? "nobody "
		    "connected in time" : "interrupted while waiting");
	/* The listening socket is non-blocking, the accepted one is not. */
	if (rc == -1 || (fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
		if (errno == EAGAIN || errno == ECONNABORTED || errno == EINTR)
			return seterr(err, VIX_ERR_TIMEOUT, 0, "the connection "
			    "went away before it was accepted");
		return seterr(err, VIX_ERR_CONNECT, 0, "cannot accept a "
		    "connection: %s", strerror(errno));
	}
	if ((c = client_new(l->timeout_ms)) == NULL) {
		close(fd);
		return seterr(err, VIX_ERR_NOMEM, 0, "out of memory");
	}
	c->fd = fd;
	c->server_role = 1;
	socket_timeouts(fd, c->timeout_ms);
	socket_nodelay(fd);
	SSL_CTX_up_ref(l->ctx);
	c->ctx = l->ctx;
	if ((rc = server_handshake(c, err)) != VIX_OK ||
	    (rc = peer_pin_check(l, c, err)) != VIX_OK) {
		c->dead = 1;
		vix_close(c);
		return rc;
	}
	*out = c;
	return VIX_OK;
}

void
vix_listener_close(vix_listener *l)
{
	if (l == NULL)
		return;
	if (l->fd != -1)
		close(l->fd);
	SSL_CTX_free(l->ctx);
	free(l);
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
vix_matches_result_free(struct vix_matches_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		vix_match_free(&r->items[i].match);
	free(r->items);
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

void
vix_subscribe_result_free(struct vix_subscribe_result *r)
{
	if (r == NULL)
		return;
	free(r->positions);
	memset(r, 0, sizeof(*r));
}

void
vix_notification_free(struct vix_notification *n)
{
	if (n == NULL)
		return;
	free(n->others);
	memset(n, 0, sizeof(*n));
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
	case VIX_ERR_TIMEOUT:	return "timed out";
	}
	return "unknown error";
}

const char *
vix_notification_type_name(int type)
{
	static const char *const names[] = {
		"TYPE_UNSPECIFIED", "MATCH_CREATED", "MATCH_JOINED",
		"MATCH_LEFT", "MATCH_CLOSED", "COORDINATOR_ASSIGNED",
		"ESCALATION", "SIGNAL_EXPIRED", "SIGNAL_REMOVED", "REMINDER",
		"RELOCATED", "FAMILY_MATCH", "RELOCATED_AWAY",
	};

	if (type < 0 || (size_t)type >= sizeof(names) / sizeof(names[0]) ||
	    names[type] == NULL)
		return "UNKNOWN_TYPE";
	return names[type];
}

const char *
vix_version(void)
{
	return VIX_VERSION;
}
