/*
 * The authorisation matrix: every request type against every kind of
 * caller, asserting the exact status code. Callers: a registering
 * organisation (org-a: register, subscribe), another one (org-b), a partner
 * system (subscribe, delegated org-a and org-b), an administrator (admin
 * only: it may not even subscribe for itself), a certificate whose OIN is
 * not in orgs.conf, and a partner vixd dialled (push), which may only Ack.
 * Then what a reload takes away is gone from open connections at once: a
 * role, a delegation, an organisation, a certificate the new CRL revokes,
 * a push target.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define OK	VIX__V1__STATUS__CODE__OK
#define INVAL	VIX__V1__STATUS__CODE__INVALID_ARGUMENT
#define NOTF	VIX__V1__STATUS__CODE__NOT_FOUND
#define DENY	VIX__V1__STATUS__CODE__PERMISSION_DENIED
#define PRECOND	VIX__V1__STATUS__CODE__FAILED_PRECONDITION
#define UNAUTH	VIX__V1__STATUS__CODE__UNAUTHENTICATED
#define EXHAUST	VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED

static struct vixd_proc vixd;

static void
start(void)
{
	harness_start(&vixd, NULL);
	harness_make_client_cert(&vixd, "stranger", "00000009990000000666");
}

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(authz, .init = start, .fini = stop, .timeout = 120);

enum req {
	R_PING, R_REGISTER, R_WITHDRAW, R_INVOLVED, R_LIST, R_SUB_SELF,
	R_SUB_ORG_A, R_ACK, R_COORDINATE, R_MATCHES, R_COUNT
};

static const char *const req_names[R_COUNT] = {
	"ping", "register", "withdraw", "involved", "list", "subscribe(self)",
	"subscribe(org-a)", "ack", "coordinate", "matches",
};

/* One request of kind r with id 1. BSN: a synthetic test number. */
static void
send_req(SSL *ssl, enum req r)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ping ping = VIX__V1__PING__INIT;
	Vix__V1__Register reg = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact contact = VIX__V1__CONTACT__INIT;
	Vix__V1__Withdraw wd = VIX__V1__WITHDRAW__INIT;
	Vix__V1__Involved inv = VIX__V1__INVOLVED__INIT;
	Vix__V1__List list = VIX__V1__LIST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__Ack ack = VIX__V1__ACK__INIT;
	Vix__V1__Coordinate co = VIX__V1__COORDINATE__INIT;
	Vix__V1__Matches mat = VIX__V1__MATCHES__INIT;
	char bsn[] = "999990032", *org_a = "org-a";

	req.id = 1;
	switch (r) {
	case R_PING:
		req.body_case = VIX__V1__REQUEST__BODY_PING;
		req.ping = &ping;
		break;
	case R_REGISTER:
		contact.name = "Contact";
		contact.phone = "0501234567";
		reg.bsn = bsn;
		reg.birth_date = "2015-03-01";
		reg.contact = &contact;
		req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
		req.register_ = &reg;
		break;
	case R_WITHDRAW:
		wd.bsn = bsn;
		wd.reason = VIX__V1__WITHDRAW__REASON__UNJUSTIFIED;
		req.body_case = VIX__V1__REQUEST__BODY_WITHDRAW;
		req.withdraw = &wd;
		break;
	case R_INVOLVED:
		inv.bsn = bsn;
		req.body_case = VIX__V1__REQUEST__BODY_INVOLVED;
		req.involved = &inv;
		break;
	case R_LIST:
		req.body_case = VIX__V1__REQUEST__BODY_LIST;
		req.list = &list;
		break;
	case R_SUB_ORG_A:
		sub.n_recipients = 1;
		sub.recipients = &org_a;
		/* FALLTHROUGH */
	case R_SUB_SELF:
		req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
		req.subscribe = &sub;
		break;
	case R_ACK:
		ack.recipient = org_a;
		ack.seq = 1;
		req.body_case = VIX__V1__REQUEST__BODY_ACK;
		req.ack = &ack;
		break;
	case R_COORDINATE:
		co.match_id = 424242;
		co.action = VIX__V1__COORDINATE__ACTION__CLAIM;
		req.body_case = VIX__V1__REQUEST__BODY_COORDINATE;
		req.coordinate = &co;
		break;
	case R_MATCHES:
		req.body_case = VIX__V1__REQUEST__BODY_MATCHES;
		req.matches = &mat;
		break;
	case R_COUNT:
		break;
	}
	harness_send_request(ssl, &req);
}

/*
 * The status of the next response on ssl (notifications skipped), with
 * its message in msg; -1 if the connection ended first.
 */
static int
next_status(SSL *ssl, char *msg, size_t len)
{
	Vix__V1__ServerMessage *m;
	int code, end;

	for (;;) {
		if ((m = harness_recv(ssl, &end)) == NULL)
			return -1;
		if (m->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE)
			break;
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	code = m->response->status ? (int)m->response->status->code : 0;
	snprintf(msg, len, "%s", m->response->status &&
	    m->response->status->message ? m->response->status->message : "");
	vix__v1__server_message__free_unpacked(m, NULL);
	return code;
}

/* The status of the answer to request kind r on an open connection. */
static int
ask(SSL *ssl, enum req r, char *msg, size_t len)
{
	send_req(ssl, r);
	return next_status(ssl, msg, len);
}

/* The status of the answer to request kind r sent as name. */
static int
status_of(const char *name, enum req r)
{
	char cert[PATH_MAX], key[PATH_MAX], file[64], why[256], msg[512];
	SSL *ssl;
	int code;

	snprintf(file, sizeof(file), "%s.pem", name);
	harness_dev_file(&vixd, file, cert, sizeof(cert));
	snprintf(file, sizeof(file), "%s.key", name);
	harness_dev_file(&vixd, file, key, sizeof(key));
	ssl = harness_tls_connect(&vixd, cert, key, why, sizeof(why));
	cr_assert_not_null(ssl, "handshake as %s: %s", name, why);
	code = ask(ssl, r, msg, sizeof(msg));
	cr_assert_neq(code, -1, "%s %s: no answer", name, req_names[r]);
	harness_tls_close(ssl);
	return code;
}

Test(authz, every_request_against_every_caller)
{
	static const struct {
		const char	*caller;
		int		 expect[R_COUNT];
	} matrix[] = {
		/*		ping  reg   wd    inv   list  self  org-a ack     coord matches */
		{ "org-a",	{ OK, OK,   NOTF, DENY, OK,   OK,   OK,   PRECOND, NOTF, OK } },
		{ "org-b",	{ OK, OK,   NOTF, DENY, OK,   OK,   DENY, PRECOND, NOTF, OK } },
		{ "partner",	{ OK, DENY, DENY, DENY, DENY, OK,   OK,   PRECOND, DENY, DENY } },
		{ "admin",	{ OK, DENY, DENY, DENY, DENY, DENY, DENY, PRECOND, DENY, DENY } },
		{ "stranger",	{ UNAUTH, UNAUTH, UNAUTH, UNAUTH, UNAUTH, UNAUTH,
				  UNAUTH, UNAUTH, UNAUTH, UNAUTH } },
	};

	for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++)
		for (int r = 0; r < R_COUNT; r++) {
			int got;

			/*
			 * A registration by a registering organisation is
			 * real: withdraw it again so every cell starts from
			 * the same state.
			 */
			got = status_of(matrix[i].caller, (enum req)r);
			cr_expect_eq(got, matrix[i].expect[r], "%s %s: got %d, "
			    "expected %d", matrix[i].caller, req_names[r], got,
			    matrix[i].expect[r]);
			if (r == R_REGISTER && got == OK)
				cr_assert_eq(status_of(matrix[i].caller,
				    R_WITHDRAW), OK);
		}
}

static const char *
orgs_conf(char *buf, size_t len)
{
	return harness_dev_file(&vixd, "orgs.conf", buf, len);
}

/* The dev orgs.conf with a push target for org-a (and itself) added. */
static void
add_push_target(uint16_t port)
{
	char path[PATH_MAX];
	FILE *fp;

	cr_assert_not_null(fp = fopen(orgs_conf(path, sizeof(path)), "a"));
	fprintf(fp, "\n[org pusher]\noin = 00000009990000000077\n"
	    "name = Pushed partner\nroles = subscribe\n"
	    "receives_for = org-a\npush = 127.0.0.1:%u\n", port);
	cr_assert_eq(fclose(fp), 0);
}

/* org-a and org-b register the same youth: a match for both. */
static void
make_match(const char *bsn)
{
	const char *orgs[] = { "org-a", "org-b" };
	struct run_result r;

	for (size_t i = 0; i < 2; i++) {
		harness_vix(&r, &vixd, orgs[i], (const char *[]){ "register",
		    "--bsn", bsn, "--birth-date", "2015-03-01",
		    "--contact-name", "C", "--contact-phone", "0501234567",
		    NULL });
		cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	}
}

/* A push target (the test is the partner) may send Acks and nothing else. */
Test(authz, a_push_connection_takes_only_acks)
{
	static const enum req others[] = { R_PING, R_REGISTER, R_WITHDRAW,
	    R_INVOLVED, R_LIST, R_SUB_SELF, R_SUB_ORG_A, R_COORDINATE };
	char conf[PATH_MAX], msg[512];
	uint16_t port;
	SSL_CTX *ctx;
	SSL *ssl;
	FILE *fp;
	int lfd, code;

	lfd = harness_listen_loopback(&port);
	ctx = harness_partner_ctx(&vixd);
	add_push_target(port);
	snprintf(conf, sizeof(conf), "%s/authz.conf", vixd.dir);
	cr_assert_not_null(fp = fopen(conf, "w"));
	fprintf(fp, "[server]\nrate_limit = 1\nrate_burst = %zu\n",
	    sizeof(others) / sizeof(others[0]));
	cr_assert_eq(fclose(fp), 0);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	cr_assert_not_null(ssl = harness_accept_vixd(lfd, ctx, 15000),
	    "vixd did not dial the push target");

	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		code = ask(ssl, others[i], msg, sizeof(msg));
		cr_expect_eq(code, DENY, "push connection, %s: got %d (%s), "
		    "expected PERMISSION_DENIED", req_names[others[i]], code,
		    msg);
	}
	/* An Ack is served: seq 1 was never sent on this connection. */
	code = ask(ssl, R_ACK, msg, sizeof(msg));
	cr_expect_eq(code, INVAL, "push connection, ack: got %d (%s)", code,
	    msg);
	/* The burst is spent: refused requests count like any other. */
	code = ask(ssl, R_PING, msg, sizeof(msg));
	cr_expect_eq(code, EXHAUST, "push connection, ping over the rate "
	    "limit: got %d (%s)", code, msg);
	harness_tls_close(ssl);
	SSL_CTX_free(ctx);
	close(lfd);
}

/*
 * Roles taken away by a reload are gone from open connections: org-b
 * loses register (its requests are refused), org-a loses subscribe (its
 * open subscription ends with the reason).
 */
Test(authz, a_reload_takes_roles_from_open_connections)
{
	char path[PATH_MAX], msg[512];
	SSL *b, *a_sub;
	int code;

	b = harness_connect_as(&vixd, "org-b");
	cr_assert_eq(ask(b, R_REGISTER, msg, sizeof(msg)), OK, "%s", msg);
	a_sub = harness_connect_as(&vixd, "org-a");
	cr_assert_eq(ask(a_sub, R_SUB_SELF, msg, sizeof(msg)), OK, "%s", msg);

	orgs_conf(path, sizeof(path));
	harness_edit_file(path, "roles = register, subscribe\nrank = 20",
	    "roles = subscribe\nrank = 20");
	harness_edit_file(path, "roles = register, subscribe\nrank = 10",
	    "roles = register\nrank = 10");
	harness_reload(&vixd);

	code = ask(b, R_REGISTER, msg, sizeof(msg));
	cr_expect_eq(code, DENY, "register after losing the role: %d (%s)",
	    code, msg);
	cr_expect_not_null(strstr(msg, "role 'register'"), "%s", msg);
	code = ask(b, R_INVOLVED, msg, sizeof(msg));
	cr_expect_eq(code, DENY, "involved after losing the role: %d (%s)",
	    code, msg);
	cr_expect_not_null(strstr(msg, "role 'register'"), "%s", msg);
	cr_expect_eq(ask(b, R_LIST, msg, sizeof(msg)), DENY, "%s", msg);
	cr_expect_eq(ask(b, R_PING, msg, sizeof(msg)), OK, "%s", msg);

	/* The subscription says why it ends, then the connection closes. */
	code = next_status(a_sub, msg, sizeof(msg));
	cr_expect_eq(code, DENY, "open subscription after losing subscribe: "
	    "%d (%s)", code, msg);
	cr_expect_not_null(strstr(msg, "subscribe"), "%s", msg);
	cr_expect_eq(next_status(a_sub, msg, sizeof(msg)), -1,
	    "the subscription is closed");
	harness_tls_close(b);
	harness_tls_close(a_sub);
	cr_expect_eq(status_of("org-a", R_SUB_SELF), DENY);
}

/*
 * A delegation removed by a reload: the partner's open subscription for
 * org-a ends with PERMISSION_DENIED and never carries org-a's
 * notifications again.
 */
Test(authz, a_reload_takes_a_delegation_from_an_open_subscription)
{
	char path[PATH_MAX], msg[512];
	Vix__V1__ServerMessage *m;
	SSL *p;
	int end;

	p = harness_connect_as(&vixd, "partner");
	cr_assert_eq(ask(p, R_SUB_ORG_A, msg, sizeof(msg)), OK, "%s", msg);
	harness_edit_file(orgs_conf(path, sizeof(path)),
	    "receives_for = org-a, org-b", "receives_for = org-b");
	harness_reload(&vixd);
	make_match("999990019");

	while ((m = harness_recv(p, &end)) != NULL) {
		cr_expect_neq(m->msg_case,
		    VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION, "org-a's "
		    "notification (%s) reached a partner it no longer "
		    "delegates to", m->notification->recipient);
		if (m->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE) {
			cr_expect_eq(m->response->status->code, DENY);
			cr_expect_not_null(strstr(m->response->status->message,
			    "org-a"), "%s", m->response->status->message);
		}
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	cr_expect_eq(end, 0, "closed with close_notify, not a timeout");
	harness_tls_close(p);
	cr_expect_eq(status_of("partner", R_SUB_ORG_A), DENY);
}

/* An organisation removed by a reload loses its open connections. */
Test(authz, a_reload_closes_connections_of_a_removed_organisation)
{
	char path[PATH_MAX], msg[512];
	SSL *b;

	b = harness_connect_as(&vixd, "org-b");
	cr_assert_eq(ask(b, R_PING, msg, sizeof(msg)), OK, "%s", msg);
	orgs_conf(path, sizeof(path));
	harness_edit_file(path, "[org org-b]\noin = 00000009990000000002\n",
	    "[org org-gone]\noin = 00000009990000000999\n");
	harness_edit_file(path, "receives_for = org-a, org-b",
	    "receives_for = org-a");
	harness_reload(&vixd);
	cr_expect_eq(next_status(b, msg, sizeof(msg)), UNAUTH, "%s", msg);
	cr_expect_eq(next_status(b, msg, sizeof(msg)), -1, "closed");
	harness_tls_close(b);
	cr_expect_eq(status_of("org-b", R_PING), UNAUTH);
}

/* A certificate the new CRL revokes stops working on its open connection. */
Test(authz, a_reload_closes_a_connection_whose_certificate_was_revoked)
{
	char crl[PATH_MAX], conf[PATH_MAX], msg[512], log[65536];
	FILE *fp;
	SSL *a, *b;

	snprintf(crl, sizeof(crl), "%s/ca.crl", vixd.dir);
	snprintf(conf, sizeof(conf), "%s/crl.conf", vixd.dir);
	harness_write_crl(&vixd, crl, NULL);
	cr_assert_not_null(fp = fopen(conf, "w"));
	fprintf(fp, "[tls]\ncrl_file = %s\n", crl);
	cr_assert_eq(fclose(fp), 0);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });

	a = harness_connect_as(&vixd, "org-a");
	b = harness_connect_as(&vixd, "org-b");
	cr_assert_eq(ask(b, R_PING, msg, sizeof(msg)), OK, "%s", msg);
	harness_write_crl(&vixd, crl, "org-b");
	harness_reload(&vixd);

	cr_expect_eq(next_status(b, msg, sizeof(msg)), UNAUTH, "the revoked "
	    "certificate's open connection: %s", msg);
	cr_expect_not_null(strstr(msg, "revoked"), "%s", msg);
	cr_expect_eq(next_status(b, msg, sizeof(msg)), -1, "closed");
	cr_expect_eq(ask(a, R_PING, msg, sizeof(msg)), OK, "the others stay: "
	    "%s", msg);
	harness_log(&vixd, log, sizeof(log));
	cr_expect_eq(harness_count(log, "certificate revoked"), 1, "said "
	    "once: %s", log);
	harness_tls_close(a);
	harness_tls_close(b);
}

/* A certificate that expired while its connection was open goes at a reload. */
Test(authz, a_reload_closes_a_connection_whose_certificate_expired)
{
	char msg[512];
	SSL *b, *a;

	harness_make_short_cert(&vixd, "org-b-brief", "00000009990000000002",
	    2);
	b = harness_connect_as(&vixd, "org-b-brief");
	a = harness_connect_as(&vixd, "org-a");
	cr_assert_eq(ask(b, R_PING, msg, sizeof(msg)), OK, "%s", msg);
	sleep(3);
	harness_reload(&vixd);
	cr_expect_eq(next_status(b, msg, sizeof(msg)), UNAUTH, "%s", msg);
	cr_expect_not_null(strstr(msg, "expired"), "%s", msg);
	cr_expect_eq(next_status(b, msg, sizeof(msg)), -1, "closed");
	cr_expect_eq(ask(a, R_PING, msg, sizeof(msg)), OK, "%s", msg);
	harness_tls_close(a);
	harness_tls_close(b);
}

/* Push targets added, moved and removed take effect at the reload. */
Test(authz, a_reload_starts_moves_and_stops_push_targets)
{
	char path[PATH_MAX], from[64], to[64];
	Vix__V1__ServerMessage *m;
	uint16_t port1, port2;
	int lfd1, lfd2, end;
	SSL_CTX *ctx;
	SSL *s1, *s2;

	lfd1 = harness_listen_loopback(&port1);
	lfd2 = harness_listen_loopback(&port2);
	ctx = harness_partner_ctx(&vixd);

	add_push_target(port1);
	harness_reload(&vixd);
	cr_assert_not_null(s1 = harness_accept_vixd(lfd1, ctx, 10000),
	    "a push target added by a reload is not dialled");
	/* A reload that changes nothing for it keeps the stream. */
	harness_reload(&vixd);
	make_match("999990019");
	cr_assert_not_null(m = harness_recv(s1, &end), "the stream ended at "
	    "a reload that did not concern it");
	cr_assert_eq(m->msg_case, VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION);
	cr_assert_str_eq(m->notification->recipient, "org-a");
	vix__v1__server_message__free_unpacked(m, NULL);

	snprintf(from, sizeof(from), "push = 127.0.0.1:%u", port1);
	snprintf(to, sizeof(to), "push = 127.0.0.1:%u", port2);
	harness_edit_file(orgs_conf(path, sizeof(path)), from, to);
	harness_reload(&vixd);
	cr_assert_null(harness_recv(s1, &end), "the old address keeps the "
	    "stream");
	cr_expect_eq(end, 0, "closed with close_notify");
	cr_assert_not_null(s2 = harness_accept_vixd(lfd2, ctx, 10000),
	    "a moved push target is not dialled at its new address");
	/* Not acked on the old connection: sent again on the new one. */
	cr_assert_not_null(m = harness_recv(s2, &end));
	cr_assert_eq(m->msg_case, VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION);
	cr_assert_eq(m->notification->seq, 1);
	vix__v1__server_message__free_unpacked(m, NULL);

	harness_edit_file(path, "[org pusher]", "[org pusher-gone]");
	harness_edit_file(path, "oin = 00000009990000000077",
	    "oin = 00000009990000000078");
	harness_edit_file(path, to, "");
	harness_reload(&vixd);
	make_match("999990044");
	m = harness_recv(s2, &end);
	cr_expect_null(m, "a removed organisation's push stream still "
	    "delivers (%s)", m && m->notification ? m->notification->recipient
	    : "a response");
	if (m != NULL)
		vix__v1__server_message__free_unpacked(m, NULL);
	cr_expect_null(harness_accept_vixd(lfd1, ctx, 1500), "redialled");
	cr_expect_null(harness_accept_vixd(lfd2, ctx, 1500), "redialled");
	harness_tls_close(s1);
	harness_tls_close(s2);
	SSL_CTX_free(ctx);
	close(lfd1);
	close(lfd2);
}
