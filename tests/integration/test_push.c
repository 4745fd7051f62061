/*
 * Push mode end to end: the test is the partner's server. vixd dials it
 * over mutual TLS, streams notifications, takes acks, and after the
 * partner drops the connection redials and resumes after the last ack.
 */
#include <sys/socket.h>

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include <criterion/criterion.h>

#include "harness.h"

static struct vixd_proc vixd;

TestSuite(push, .timeout = 120);

/* Wait for vixd to dial in; returns the TLS session. */
static SSL *
accept_vixd(int lfd, SSL_CTX *ctx)
{
	SSL *ssl = harness_accept_vixd(lfd, ctx, 15000);

	cr_assert_not_null(ssl, "vixd did not dial the partner");
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
	lfd = harness_listen_loopback(&port);
	ctx = harness_partner_ctx(&vixd);
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

/*
 * Accept vixd's dials on lfd for ms milliseconds, each handshake refused
 * by ctx; returns how many dials came in.
 */
static int
refuse_dials(int lfd, SSL_CTX *ctx, long ms)
{
	long end = harness_now_ms() + ms, left;
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	struct timeval tv = { 5, 0 };
	int fd, n = 0;
	SSL *ssl;

	while ((left = end - harness_now_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) != 1)
			continue;
		cr_assert_geq(fd = accept(lfd, NULL, NULL), 0);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		cr_assert_neq(SSL_accept(ssl), 1,
		    "the partner was to refuse vixd's certificate");
		ERR_clear_error();
		SSL_free(ssl);
		close(fd);
		n++;
	}
	return n;
}

Test(push, a_partner_refusing_the_certificate_is_redialled_with_backoff)
{
	char orgs[PATH_MAX], log[65536];
	uint16_t port;
	SSL_CTX *ctx;
	FILE *fp;
	int lfd, n;

	harness_start(&vixd, NULL);
	lfd = harness_listen_loopback(&port);
	ctx = harness_partner_ctx(&vixd);
	/* A partner that trusts no CA: vixd's certificate is refused. */
	SSL_CTX_set_cert_store(ctx, X509_STORE_new());
	cr_assert_not_null(fp = fopen(harness_dev_file(&vixd, "orgs.conf",
	    orgs, sizeof(orgs)), "a"));
	fprintf(fp, "\n[org pusher]\noin = 00000009990000000077\n"
	    "name = Pushed partner\nroles = subscribe\n"
	    "receives_for = org-a\npush = 127.0.0.1:%u\n", port);
	fclose(fp);
	harness_restart(&vixd);

	/* 0.25-0.5 s, 0.5-1 s, 1-2 s, 2-4 s: at most 5 dials in 5 s. */
	n = refuse_dials(lfd, ctx, 5000);
	cr_assert_geq(n, 2, "vixd dialled %d times in 5 s", n);
	cr_assert_leq(n, 5, "vixd dialled %d times in 5 s: no back-off "
	    "after the partner refused its certificate", n);
	harness_log(&vixd, log, sizeof(log));
	cr_assert(strstr(log, "push: pusher: the partner refused the TLS "
	    "handshake (alert unknown CA): it does not accept vixd's certificate; next attempt in ") != NULL,
	    "the log names the partner's reason: %s", harness_redact(log));
	SSL_CTX_free(ctx);
	close(lfd);
	harness_stop(&vixd);
}
