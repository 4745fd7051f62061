/* vix listen --webhook: receive, verify and print vixd's webhook events. */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "webhook_listen.h"
#include "webhooksig.h"

#define WL_HEAD_MAX	16384		/* request line and headers */
#define WL_BODY_MAX	(1 << 20)	/* an event, at most */
#define WL_IO_SECS	10		/* to send a request, to take the answer */
#define WL_TOLERANCE	300		/* seconds a timestamp may be off */

struct wl_request {
	char	 head[WL_HEAD_MAX + 1];
	char	*body;
	size_t	 len;
};

static int
wl_secret(const char *path, struct webhook_key *key)
{
	char buf[256], why[128];
	struct stat st;
	ssize_t n;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "vix listen: --secret-file %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
		fprintf(stderr, "vix listen: warning: %s can be read by others "
		    "(chmod 600)\n", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0 || n == (ssize_t)sizeof(buf) - 1) {
		fprintf(stderr, "vix listen: %s: %s\n", path, n < 0 ?
		    strerror(errno) : "too long for a secret (whsec_ and "
		    "base64 of 24 to 64 bytes)");
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	rc = webhook_key_parse(key, buf, why, sizeof(why));
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc == -1)
		fprintf(stderr, "vix listen: --secret-file %s: %s\n", path, why);
	return rc;
}

static SSL_CTX *
wl_ctx(const struct webhook_listen *o)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
		char err[256];

		ERR_error_string_n(ERR_get_error(), err, sizeof(err));
		fprintf(stderr, "vix listen: cannot load %s, %s or %s: %s\n",
		    o->cert, o->key, o->ca, err);
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Mutual TLS: only a certificate from the CA bundle gets in. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return ctx;
}

/* Whether the client is vixd: the name, or the fingerprint, it was given. */
static int
wl_is_vixd(SSL *ssl, const struct webhook_listen *o, char *why, size_t len)
{
	X509 *x = SSL_get1_peer_certificate(ssl);
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	char hex[65];
	int ok = 0;

	if (x == NULL) {
		snprintf(why, len, "no client certificate");
		return 0;
	}
	if (o->peer != NULL)
		ok = X509_check_host(x, o->peer, 0, 0, NULL) == 1 ||
		    X509_check_ip_asc(x, o->peer, 0) == 1;
	else if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1) {
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		ok = strcasecmp(hex, o->peer_sha256) == 0;
	}
	X509_free(x);
	if (!ok)
		snprintf(why, len, "the client certificate is not vixd's (not "
		    "issued for %s)", o->peer ? o->peer : "--peer-sha256");
	return ok;
}

/* The value of header name in head (case-insensitive), or "". */
static void
wl_header(const char *head, const char *name, char *out, size_t len)
{
	const char *p = head, *v, *e;
	size_t n = strlen(name);

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) != 0 || p[n] != ':')
			continue;
		for (v = p + n + 1; *v == ' ' || *v == '\t'; v++)
			;
		e = strstr(v, "\r\n");
		snprintf(out, len, "%.*s", (int)(e ? e - v : 0), v);
		return;
	}
}

/* One request, whole; -1 with why if it is not one. */
static int
wl_read(SSL *ssl, struct wl_request *rq, char *why, size_t len)
{
	size_t n = 0, have, want;
	char *end, clen[32];
	int r;

	rq->body = NULL;
	for (;;) {
		if (n >= WL_HEAD_MAX) {
			snprintf(why, len, "request head over %d bytes",
			    WL_HEAD_MAX);
			return -1;
		}
		if ((r = SSL_read(ssl, rq->head + n, (int)(WL_HEAD_MAX -
		    n))) <= 0) {
			snprintf(why, len, "the request did not come whole");
			return -1;
		}
		n += (size_t)r;
		rq->head[n] = '\0';
		if ((end = strstr(rq->head, "\r\n\r\n")) != NULL)
			break;
	}
	wl_header(rq->head, "content-length", clen, sizeof(clen));
	want = (size_t)strtoul(clen, NULL, 10);
	if (clen[0] == '\0' || want > WL_BODY_MAX) {
		snprintf(why, len, "a Content-Length up to %d is required",
		    WL_BODY_MAX);
		return -1;
	}
	if ((rq->body = malloc(want + 1)) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	have = n - (size_t)(end + 4 - rq->head);
	if (have > want)
		have = want;
	memcpy(rq->body, end + 4, have);
	*(end + 2) = '\0';	/* the head ends with its last header's CRLF */
	while (have < want) {
		if ((r = SSL_read(ssl, rq->body + have, (int)(want -
		    have))) <= 0) {
			snprintf(why, len, "the body did not come whole");
			return -1;
		}
		have += (size_t)r;
	}
	rq->body[want] = '\0';
	rq->len = want;
	return 0;
}

static void
wl_answer(SSL *ssl, const char *status)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "HTTP/1.1 %s\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", status);
	(void)SSL_write(ssl, buf, (int)strlen(buf));
}

/* A string member of the event (the first of that name), or "". */
static void
wl_member(const char *body, const char *name, char *out, size_t len)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\":\"", name);
	out[0] = '\0';
	if ((p = strstr(body, key)) != NULL)
		snprintf(out, len, "%.*s", (int)strcspn(p + strlen(key), "\""),
		    p + strlen(key));
}

static void
wl_serve(SSL *ssl, const struct webhook_listen *o,
    const struct webhook_key *key)
{
	struct wl_request *rq = calloc(1, sizeof(*rq));
	char id[128], ts[32], sig[512], why[256], type[64], subject[32];

	if (rq == NULL)
		return;
	if (wl_read(ssl, rq, why, sizeof(why)) == -1) {
		fprintf(stderr, "vix listen: %s\n", why);
		wl_answer(ssl, "400 Bad Request");
		goto done;
	}
	if (strncmp(rq->head, "POST ", 5) != 0) {
		fprintf(stderr, "vix listen: only POST is served\n");
		wl_answer(ssl, "405 Method Not Allowed");
		goto done;
	}
	wl_header(rq->head, "webhook-id", id, sizeof(id));
	/* Not verified yet: shown only as printable ASCII. */
	for (char *c = id; *c != '\0'; c++)
		if (*c < ' ' || *c > '~')
			*c = '?';
	wl_header(rq->head, "webhook-timestamp", ts, sizeof(ts));
	wl_header(rq->head, "webhook-signature", sig, sizeof(sig));
	if (id[0] == '\0' || ts[0] == '\0' || sig[0] == '\0') {
		fprintf(stderr, "vix listen: refused: webhook-id, "
		    "webhook-timestamp and webhook-signature are required\n");
		wl_answer(ssl, "401 Unauthorized");
		goto done;
	}
	if (webhook_verify(key, id, strtoll(ts, NULL, 10), rq->body, rq->len,
	    sig, (int64_t)time(NULL), WL_TOLERANCE, why, sizeof(why)) == -1) {
		fprintf(stderr, "vix listen: refused event %s: %s\n", id, why);
		wl_answer(ssl, "401 Unauthorized");
		goto done;
	}
	if (o->json)
		printf("%s\n", rq->body);
	else {
		wl_member(rq->body, "type", type, sizeof(type));
		wl_member(rq->body, "subject", subject, sizeof(subject));
		printf("%s %s%s%s (signature verified)\n", id, type,
		    subject[0] ? " match " : "", subject);
	}
	if (fflush(stdout) == EOF) {
		/* Not printed: not taken, so that vixd sends it again. */
		wl_answer(ssl, "503 Service Unavailable");
		goto done;
	}
	wl_answer(ssl, "204 No Content");
done:
	free(rq->body);
	free(rq);
}

static int
wl_bind(const struct webhook_listen *o)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE |
	    AI_NUMERICSERV }, *ai;
	char port[8];
	int fd, one = 1, rc;

	snprintf(port, sizeof(port), "%u", o->port);
	if ((rc = getaddrinfo(o->host, port, &hints, &ai)) != 0) {
		fprintf(stderr, "vix listen: %s: %s\n", o->host,
		    gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 || bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, 16) == -1) {
		fprintf(stderr, "vix listen: cannot listen on %s port %s: %s\n",
		    o->host, port, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int
webhook_listen_run(const struct webhook_listen *o)
{
	struct timeval tv = { WL_IO_SECS, 0 };
	struct webhook_key key;
	SSL_CTX *ctx;
	int lfd;

	if (wl_secret(o->secret_file, &key) == -1)
		return 2;
	if ((ctx = wl_ctx(o)) == NULL || (lfd = wl_bind(o)) == -1) {
		SSL_CTX_free(ctx);
		OPENSSL_cleanse(&key, sizeof(key));
		return 3;
	}
	if (!o->json)
		fprintf(stderr, "vix listen: waiting for webhook events on "
		    "https://%s:%u/\n", o->host, o->port);
	while (!*o->stopping) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		char why[256];
		SSL *ssl;
		int fd;

		if (poll(&pfd, 1, 200) != 1 ||
		    (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if ((ssl = SSL_new(ctx)) != NULL && SSL_set_fd(ssl, fd) == 1 &&
		    SSL_accept(ssl) == 1) {
			if (wl_is_vixd(ssl, o, why, sizeof(why)))
				wl_serve(ssl, o, &key);
			else {
				fprintf(stderr, "vix listen: refused: %s\n", why);
				wl_answer(ssl, "403 Forbidden");
			}
			SSL_shutdown(ssl);
		} else {
			unsigned long e = ERR_peek_last_error();

			ERR_error_string_n(e, why, sizeof(why));
			fprintf(stderr, "vix listen: TLS handshake failed: %s "
			    "(vixd's client certificate, from %s, is "
			    "required)\n", e != 0 ? why : "the client went "
			    "away", o->ca);
		}
		SSL_free(ssl);
		close(fd);
		ERR_clear_error();
	}
	close(lfd);
	SSL_CTX_free(ctx);
	OPENSSL_cleanse(&key, sizeof(key));
	return 0;
}
