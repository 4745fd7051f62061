/*
 * The professional in the audit trail (issue 17), against a real vixd: a
 * request's actor reaches the audit export and the subject report, from
 * vix --actor and from VIX_ACTOR; one that could be a BSN, or is too long,
 * is refused by the server naming the field and not the value (and by
 * vix before it connects); require_actor = yes in orgs.conf refuses
 * requests without one from the next request after a reload, on a
 * connection already open. BSNs are synthetic and never printed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

#define BSN	"999990019"	/* synthetic test numbers */
#define BSN_2	"999990032"	/* sent as an actor: must be refused */

static struct vixd_proc vixd;

static void
start(void)
{
	harness_start(&vixd, NULL);
}

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(actor, .init = start, .fini = stop, .timeout = 120);

/* vixctl -s <the socket> args...; asserts success and no BSN. */
static void
vixctl_ok(struct run_result *r, const char *const *args)
{
	const char *argv[16];
	char sock[PATH_MAX];
	size_t n = 0;

	argv[n++] = getenv("VIXCTL");
	cr_assert_not_null(argv[0], "VIXCTL must be set (run through meson "
	    "test)");
	argv[n++] = "-s";
	argv[n++] = harness_dev_file(&vixd, "control.sock", sock, sizeof(sock));
	for (; *args != NULL && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	harness_run(r, argv);
	cr_assert_eq(r->status, 0, "vixctl %s: exit %d: %s", args[0],
	    r->status, harness_redact(r->err));
	cr_assert_null(strstr(r->out, BSN), "no BSN in vixctl's output");
	cr_assert_null(strstr(r->out, BSN_2), "no BSN in vixctl's output");
}

/* vix as org (global options first, then the command); its exit status. */
static int
vix(struct run_result *r, const char *org, const char *const *args)
{
	harness_vix(r, &vixd, org, args);
	cr_assert_null(strstr(r->out, BSN_2), "no BSN in vix's output");
	cr_assert_null(strstr(r->err, BSN_2), "no BSN in vix's errors");
	return r->status;
}

#define REGISTER_ARGS(bsn, ref) \
	"register", "--bsn", bsn, "--birth-date", "2015-03-01", \
	"--contact-name", "J. Jansen", "--contact-phone", "0501234567", \
	"--ref", ref

/* A request as a case system sends it: register, or ping. */
static void
send_req(SSL *ssl, uint64_t id, const char *actor, int ping)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register reg = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact contact = VIX__V1__CONTACT__INIT;
	Vix__V1__Ping p = VIX__V1__PING__INIT;
	char bsn[] = BSN, who[128];

	snprintf(who, sizeof(who), "%s", actor != NULL ? actor : "");
	req.id = id;
	req.actor = who;
	if (ping) {
		req.body_case = VIX__V1__REQUEST__BODY_PING;
		req.ping = &p;
	} else {
		contact.name = "J. Jansen";
		contact.phone = "0501234567";
		reg.bsn = bsn;
		reg.birth_date = "2015-03-01";
		reg.contact = &contact;
		reg.client_ref = "raw";
		req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
		req.register_ = &reg;
	}
	harness_send_request(ssl, &req);
}

/* The status of the answer to request id, its message in msg. */
static int
answer(SSL *ssl, uint64_t id, char *msg, size_t len)
{
	Vix__V1__ServerMessage *m = harness_next_response(ssl, "answer");
	int code;

	cr_assert_eq(m->response->id, id);
	code = m->response->status ? (int)m->response->status->code : 0;
	snprintf(msg, len, "%s", m->response->status &&
	    m->response->status->message ? m->response->status->message : "");
	vix__v1__server_message__free_unpacked(m, NULL);
	return code;
}

Test(actor, is_in_the_audit_export_and_the_subject_report)
{
	struct run_result r;

	cr_assert_eq(vix(&r, "org-a", (const char *[]){ "--actor",
	    "mw-jdevries", REGISTER_ARGS(BSN, "ra"), NULL }), 0, "%s",
	    harness_redact(r.err));
	cr_assert_eq(setenv("VIX_ACTOR", "pseudo:7f3a9c", 1), 0);
	cr_assert_eq(vix(&r, "org-b", (const char *[]){
	    REGISTER_ARGS(BSN, "rb"), NULL }), 0, "%s", harness_redact(r.err));
	cr_assert_eq(vix(&r, "org-b", (const char *[]){ "involved", "--bsn",
	    BSN, NULL }), 0, "%s", harness_redact(r.err));
	cr_assert_eq(unsetenv("VIX_ACTOR"), 0);
	/* Without one: no professional. */
	cr_assert_eq(vix(&r, "org-a", (const char *[]){ "list", NULL }), 0);

	vixctl_ok(&r, (const char *[]){ "audit", "verify", NULL });
	vixctl_ok(&r, (const char *[]){ "audit", "export", NULL });
	cr_assert_eq(harness_count(r.out, "\"professional\":\"mw-jdevries\""),
	    1, "%s", harness_redact(r.out));
	cr_assert_eq(harness_count(r.out,
	    "\"professional\":\"pseudo:7f3a9c\""), 2, "register and involved: "
	    "%s", harness_redact(r.out));
	cr_assert_geq(harness_count(r.out, "\"professional\":\"\""), 1,
	    "the export's own record names none: %s", harness_redact(r.out));

	vixctl_ok(&r, (const char *[]){ "--json", "subject-report", "--bsn",
	    BSN, NULL });
	cr_assert_eq(harness_count(r.out, "\"professional\":\"mw-jdevries\""),
	    1, "%s", harness_redact(r.out));
	cr_assert_eq(harness_count(r.out,
	    "\"professional\":\"pseudo:7f3a9c\""), 2, "%s",
	    harness_redact(r.out));
	vixctl_ok(&r, (const char *[]){ "subject-report", "--bsn", BSN, NULL });
	cr_assert_not_null(strstr(r.out, " professional mw-jdevries register "),
	    "%s", harness_redact(r.out));
	cr_assert_not_null(strstr(r.out, " professional pseudo:7f3a9c involved "),
	    "%s", harness_redact(r.out));
}

Test(actor, that_could_be_a_bsn_or_is_too_long_is_refused_unrepeated)
{
	char msg[512], log[65536], where[PATH_MAX], longer[80];
	struct run_result r;
	SSL *ssl;

	memset(longer, 'p', 65);
	longer[65] = '\0';
	ssl = harness_connect_as(&vixd, "org-a");
	send_req(ssl, 1, BSN_2, 0);
	cr_assert_eq(answer(ssl, 1, msg, sizeof(msg)), 3, "INVALID_ARGUMENT: "
	    "%s", harness_redact(msg));
	cr_assert_not_null(strstr(msg, "actor: must not contain a BSN"), "%s",
	    harness_redact(msg));
	cr_assert_null(strstr(msg, BSN_2), "the message repeats the actor");
	send_req(ssl, 2, "mw 9999.90.032", 1);	/* grouped, on a ping too */
	cr_assert_eq(answer(ssl, 2, msg, sizeof(msg)), 3, "%s",
	    harness_redact(msg));
	send_req(ssl, 3, longer, 0);
	cr_assert_eq(answer(ssl, 3, msg, sizeof(msg)), 3, "%s",
	    harness_redact(msg));
	cr_assert_not_null(strstr(msg, "actor: must be at most 64 bytes"),
	    "%s", harness_redact(msg));
	cr_assert_null(strstr(msg, "ppppp"), "the message repeats the actor");
	send_req(ssl, 4, "mw-ok", 0);
	cr_assert_eq(answer(ssl, 4, msg, sizeof(msg)), 0, "%s",
	    harness_redact(msg));
	harness_tls_close(ssl);

	/* vix refuses it before it connects, in the same words. */
	cr_assert_eq(vix(&r, "org-a", (const char *[]){ "--actor", BSN_2,
	    "ping", NULL }), 2);
	cr_assert_not_null(strstr(r.err, "actor: must not contain a BSN"),
	    "%s", harness_redact(r.err));
	cr_assert_eq(setenv("VIX_ACTOR", longer, 1), 0);
	cr_assert_eq(vix(&r, "org-a", (const char *[]){ "ping", NULL }), 2);
	cr_assert_not_null(strstr(r.err, "actor: must be at most 64 bytes "
	    "(from VIX_ACTOR)"), "%s", harness_redact(r.err));
	cr_assert_eq(unsetenv("VIX_ACTOR"), 0);

	/* Only the one good request is recorded, without a refused actor. */
	vixctl_ok(&r, (const char *[]){ "audit", "export", NULL });
	cr_assert_eq(harness_count(r.out, "\"action\":\"register\""), 1, "%s",
	    harness_redact(r.out));
	cr_assert_eq(harness_count(r.out, "\"professional\":\"mw-ok\""), 1,
	    "%s", harness_redact(r.out));
	cr_assert_null(strstr(r.out, "ppppp"));
	harness_log(&vixd, log, sizeof(log));
	cr_assert_null(strstr(log, BSN_2), "a BSN in vixd's log");
	cr_assert_null(strstr(log, "9999.90.032"), "a BSN in vixd's log");
	cr_assert_not(harness_dir_contains(vixd.dir, BSN_2, where,
	    sizeof(where)), "a BSN is in %s", where);
}

Test(actor, require_actor_applies_from_the_next_request_after_a_reload)
{
	char path[PATH_MAX], msg[512];
	struct run_result r;
	SSL *ssl;

	ssl = harness_connect_as(&vixd, "org-a");
	send_req(ssl, 1, NULL, 0);
	cr_assert_eq(answer(ssl, 1, msg, sizeof(msg)), 0, "%s",
	    harness_redact(msg));

	harness_edit_file(harness_dev_file(&vixd, "orgs.conf", path,
	    sizeof(path)), "rank = 10\n", "rank = 10\nrequire_actor = yes\n");
	harness_reload(&vixd);

	send_req(ssl, 2, NULL, 0);
	cr_assert_eq(answer(ssl, 2, msg, sizeof(msg)), 3, "INVALID_ARGUMENT: "
	    "%s", harness_redact(msg));
	cr_assert_not_null(strstr(msg, "actor: required for organisation "
	    "org-a (require_actor = yes in orgs.conf)"), "%s",
	    harness_redact(msg));
	send_req(ssl, 3, NULL, 1);	/* a ping names no youth: served */
	cr_assert_eq(answer(ssl, 3, msg, sizeof(msg)), 0, "%s", msg);
	send_req(ssl, 4, "mw-jdevries", 0);
	cr_assert_eq(answer(ssl, 4, msg, sizeof(msg)), 0, "%s",
	    harness_redact(msg));
	harness_tls_close(ssl);

	cr_assert_eq(vix(&r, "org-a", (const char *[]){ "involved", "--bsn",
	    BSN, NULL }), 1, "refused without --actor");
	cr_assert_not_null(strstr(r.err, "require_actor = yes"), "%s",
	    harness_redact(r.err));
	cr_assert_eq(vix(&r, "org-a", (const char *[]){ "--actor", "mw-2",
	    "involved", "--bsn", BSN, NULL }), 0, "%s", harness_redact(r.err));
	cr_assert_eq(vix(&r, "org-a", (const char *[]){ "relocate", "--bsn",
	    BSN, "--municipality", "0599", NULL }), 1, "refused without --actor");
	cr_assert_not_null(strstr(r.err, "require_actor = yes"), "%s",
	    harness_redact(r.err));
	cr_assert_eq(vix(&r, "org-a", (const char *[]){ "--actor", "mw-2",
	    "relocate", "--bsn", BSN, "--municipality", "0599", NULL }), 0,
	    "%s", harness_redact(r.err));
	/* Another organisation is not held to it. */
	cr_assert_eq(vix(&r, "org-b", (const char *[]){
	    REGISTER_ARGS(BSN, "rb"), NULL }), 0, "%s", harness_redact(r.err));
}
