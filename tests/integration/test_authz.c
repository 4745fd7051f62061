/*
 * The authorisation matrix: every request type against every kind of
 * caller, asserting the exact status code. Callers: a registering
 * organisation (org-a: register, subscribe), another one (org-b), a partner
 * system (subscribe, delegated org-a and org-b), an administrator (admin
 * only), and a certificate whose OIN is not in orgs.conf.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

#define OK	VIX__V1__STATUS__CODE__OK
#define INVAL	VIX__V1__STATUS__CODE__INVALID_ARGUMENT
#define NOTF	VIX__V1__STATUS__CODE__NOT_FOUND
#define DENY	VIX__V1__STATUS__CODE__PERMISSION_DENIED
#define PRECOND	VIX__V1__STATUS__CODE__FAILED_PRECONDITION
#define UNAUTH	VIX__V1__STATUS__CODE__UNAUTHENTICATED

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
	R_SUB_ORG_A, R_ACK, R_COORDINATE, R_COUNT
};

static const char *const req_names[R_COUNT] = {
	"ping", "register", "withdraw", "involved", "list", "subscribe(self)",
	"subscribe(org-a)", "ack", "coordinate",
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
	case R_COUNT:
		break;
	}
	harness_send_request(ssl, &req);
}

/* The status of the answer to request kind r sent as name. */
static int
status_of(const char *name, enum req r)
{
	char cert[PATH_MAX], key[PATH_MAX], file[64], why[256];
	Vix__V1__ServerMessage *m;
	SSL *ssl;
	int code, end;

	snprintf(file, sizeof(file), "%s.pem", name);
	harness_dev_file(&vixd, file, cert, sizeof(cert));
	snprintf(file, sizeof(file), "%s.key", name);
	harness_dev_file(&vixd, file, key, sizeof(key));
	ssl = harness_tls_connect(&vixd, cert, key, why, sizeof(why));
	cr_assert_not_null(ssl, "handshake as %s: %s", name, why);
	send_req(ssl, r);
	for (;;) {
		m = harness_recv(ssl, &end);
		cr_assert_not_null(m, "%s %s: no answer", name, req_names[r]);
		if (m->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE)
			break;
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	code = m->response->status ? (int)m->response->status->code : 0;
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(ssl);
	return code;
}

Test(authz, every_request_against_every_caller)
{
	static const struct {
		const char	*caller;
		int		 expect[R_COUNT];
	} matrix[] = {
		/*		ping  reg   wd    inv   list  self  org-a ack     coord */
		{ "org-a",	{ OK, OK,   NOTF, DENY, OK,   OK,   OK,   PRECOND, NOTF } },
		{ "org-b",	{ OK, OK,   NOTF, DENY, OK,   OK,   DENY, PRECOND, NOTF } },
		{ "partner",	{ OK, DENY, DENY, DENY, DENY, OK,   OK,   PRECOND, DENY } },
		{ "admin",	{ OK, DENY, DENY, DENY, DENY, OK,   DENY, PRECOND, DENY } },
		{ "stranger",	{ UNAUTH, UNAUTH, UNAUTH, UNAUTH, UNAUTH, UNAUTH,
				  UNAUTH, UNAUTH, UNAUTH } },
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
