/*
 * Push mode end to end: the test is the partner's server. vixd dials it
 * over mutual TLS, streams notifications, takes acks, and after the
 * partner drops the connection redials and resumes after the last ack.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "devcert.h"
#include "frame.h"
#include "harness.h"

static struct vixd_proc vixd;

TestSuite(push, .timeout = 120);

static int
listen_loopback(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A server certificate for 127.0.0.1 from the dev CA, as partner.srv.*. */
static SSL_CTX *
partner_server_ctx(void)
{
	char path[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *ca_key, *k = devcert_key();
	X509 *ca, *leaf;
	FILE *fp;

	cr_assert_not_null(fp = fopen(harness_dev_file(&vixd, "ca.pem", path,
	    sizeof(path)), "r"));
	ca = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	cr_assert_not_null(fp = fopen(harness_dev_file(&vixd, "ca.key", path,
	    sizeof(path)), "r"));
	ca_key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	leaf = devcert_leaf(k, "partner listener", NULL, DEVCERT_LISTEN, ca,
	    ca_key, 30);
	snprintf(cert, sizeof(cert), "%s/partner.srv.pem", vixd.dir);
	snprintf(key, sizeof(key), "%s/partner.srv.key", vixd.dir);
	cr_assert_eq(devcert_write_cert(cert, leaf), 0);
	cr_assert_eq(devcert_write_key(key, k), 0);
	cr_assert_eq(SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
	cr_assert_eq(SSL_CTX_load_verify_locations(ctx,
	    harness_dev_file(&vixd, "ca.pem", path, sizeof(path)), NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(k);
	return ctx;
}

/* Wait for vixd to dial in; returns the TLS session. */
static SSL *
accept_vixd(int lfd, SSL_CTX *ctx)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	struct timeval tv = { 10, 0 };
	char cn[64] = "";
	SSL *ssl;
	int fd;

	cr_assert_eq(poll(&pfd, 1, 15000), 1, "vixd did not dial the partner");
	cr_assert_geq(fd = accept(lfd, NULL, NULL), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	cr_assert_eq(SSL_accept(ssl), 1, "TLS with vixd failed: %s",
	    ERR_reason_error_string(ERR_peek_last_error()));
	X509_NAME_get_text_by_NID(X509_get_subject_name(
	    SSL_get0_peer_certificate(ssl)), NID_commonName, cn, sizeof(cn));
	cr_assert_str_eq(cn, "server", "vixd presents its own certificate");
	return ssl;
}

static Vix__V1__Notification *
next_note(SSL *ssl, Vix__V1__ServerMessage **m)
{
	int end;

	*m = harness_recv(ssl, &end);
	cr_assert_not_null(*m, "no notification pushed");
	cr_assert_eq((*m)->msg_case, VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION,
	    "push mode sends notifications only");
	return (*m)->notification;
}

static void
send_ack(SSL *ssl, const char *recipient, uint64_t seq)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ack a = VIX__V1__ACK__INIT;

	a.recipient = (char *)recipient;
	a.seq = seq;
	req.id = seq;
	req.body_case = VIX__V1__REQUEST__BODY_ACK;
	req.ack = &a;
	harness_send_request(ssl, &req);
}

static void
register_youth(const char *org, const char *contact)
{
	struct run_result r;

	harness_vix(&r, &vixd, org, (const char *[]){ "register", "--bsn",
	    "999990019", "--birth-date", "2015-03-01", "--contact-name",
	    contact, "--contact-phone", "0501234567", NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
}

Test(push, partner_is_dialled_and_resumes_after_its_last_ack)
{
	char orgs[PATH_MAX], line[64];
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n;
	uint16_t port;
	SSL_CTX *ctx;
	FILE *fp;
	SSL *ssl;
	int lfd;

	harness_start(&vixd, NULL);
	lfd = listen_loopback(&port);
	ctx = partner_server_ctx();
	/* Give the partner a push address, then restart to dial it. */
	cr_assert_not_null(fp = fopen(harness_dev_file(&vixd, "orgs.conf",
	    orgs, sizeof(orgs)), "a"));
	fprintf(fp, "\n[org pusher]\noin = 00000009990000000077\n"
	    "name = Pushed partner\nroles = subscribe\n"
	    "receives_for = org-a\npush = 127.0.0.1:%u\n", port);
	fclose(fp);
	harness_restart(&vixd);

	ssl = accept_vixd(lfd, ctx);
	register_youth("org-a", "A");
	register_youth("org-b", "B");
	n = next_note(ssl, &m);
	cr_assert_str_eq(n->recipient, "org-a");
	cr_assert_eq(n->type, VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED);
	cr_assert_eq(n->seq, 1);
	vix__v1__server_message__free_unpacked(m, NULL);
	send_ack(ssl, "org-a", 1);
	/* A second event after the ack, then the partner drops the line. */
	register_youth("org-a", "A");	/* refresh: no event */
	{
		struct run_result r;

		harness_vix(&r, &vixd, "org-b", (const char *[]){ "withdraw",
		    "--bsn", "999990019", "--reason", "unjustified", NULL });
		cr_assert_eq(r.status, 0);
	}
	n = next_note(ssl, &m);
	cr_assert_eq(n->seq, 2);
	cr_assert_eq(n->type, VIX__V1__NOTIFICATION__TYPE__MATCH_CLOSED);
	vix__v1__server_message__free_unpacked(m, NULL);
	usleep(300000);	/* let the ack of 1 commit */
	harness_tls_close(ssl);	/* the partner drops the connection */

	/* vixd redials and sends what was not acked: seq 2, not 1. */
	ssl = accept_vixd(lfd, ctx);
	n = next_note(ssl, &m);
	cr_assert_eq(n->seq, 2, "resumes after the last ack");
	vix__v1__server_message__free_unpacked(m, NULL);
	snprintf(line, sizeof(line), "push: streaming to pusher");
	harness_tls_close(ssl);
	SSL_CTX_free(ctx);
	close(lfd);
	{
		char log[65536];

		harness_log(&vixd, log, sizeof(log));
		cr_assert_geq(harness_count(log, line), 2, "%s", log);
	}
	harness_stop(&vixd);
}
