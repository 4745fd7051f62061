/*
 * Abuse of the index by an organisation that holds a valid certificate,
 * against the real daemon: no BSN in free text (client_ref, contact name,
 * phone, e-mail), the default rate limit against an enumeration burst, the
 * daily cap on new signals (kept across a restart), and register-then-
 * unjustified-withdraw churn counted per organisation in /metrics.
 * No BSN may appear in any output: assertion messages are redacted.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/crypto.h>

#include "frame.h"
#include "harness.h"

#define OK		VIX__V1__STATUS__CODE__OK
#define INVALID		VIX__V1__STATUS__CODE__INVALID_ARGUMENT
#define EXHAUSTED	VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED
#define NBSNS		400
#define BURST		400	/* pipelined registrations of an enumeration */

static struct vixd_proc vixd;
static char bsns[NBSNS][16];

static void
stop(void)
{
	harness_stop(&vixd);
}

static void
load_bsns(void)
{
	cr_assert_eq(harness_load_bsns(bsns, NBSNS), NBSNS,
	    "bsn-valid.txt has too few numbers");
}

TestSuite(abuse, .init = load_bsns, .fini = stop, .timeout = 120);

/* Start vixd with a vixd.conf of text over the dev defaults. */
static const char *
start_with(const char *text)
{
	static char path[PATH_MAX];

	harness_start(&vixd, NULL);
	snprintf(path, sizeof(path), "%s", harness_write_file(&vixd,
	    "abuse.conf", text));
	harness_restart_with(&vixd, (const char *[]){ "-c", path, NULL });
	return path;
}

struct reg {
	const char	*bsn;
	const char	*name, *phone, *email, *ref;
};

static void
pack_register(Vix__V1__Request *req, Vix__V1__Register *r,
    Vix__V1__Contact *ct, uint64_t id, const struct reg *in)
{
	vix__v1__request__init(req);
	vix__v1__register__init(r);
	vix__v1__contact__init(ct);
	ct->name = (char *)(in->name ? in->name : "Contact");
	ct->phone = (char *)(in->phone ? in->phone : "0501234567");
	ct->email = (char *)(in->email ? in->email : "");
	r->bsn = (char *)in->bsn;
	r->birth_date = "2015-03-01";
	r->client_ref = (char *)(in->ref ? in->ref : "");
	r->contact = ct;
	req->id = id;
	req->body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req->register_ = r;
}

static int
code_of(const Vix__V1__ServerMessage *m)
{
	return m->response->status ? (int)m->response->status->code : OK;
}

/* Register as in; the status code, and its message into msg. */
static int
reg(SSL *ssl, const struct reg *in, char *msg, size_t len)
{
	static uint64_t id;
	Vix__V1__Request req;
	Vix__V1__Register r;
	Vix__V1__Contact ct;
	Vix__V1__ServerMessage *m;
	int code;

	pack_register(&req, &r, &ct, ++id, in);
	harness_send_request(ssl, &req);
	m = harness_next_response(ssl, NULL);
	cr_assert_eq(m->response->id, id);
	code = code_of(m);
	snprintf(msg, len, "%s", m->response->status ?
	    m->response->status->message : "");
	vix__v1__server_message__free_unpacked(m, NULL);
	return code;
}

static int
withdraw(SSL *ssl, const char *bsn, int reason)
{
	static uint64_t id = 1000000;
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Withdraw w = VIX__V1__WITHDRAW__INIT;
	Vix__V1__ServerMessage *m;
	int code;

	w.bsn = (char *)bsn;
	w.reason = reason;
	req.id = ++id;
	req.body_case = VIX__V1__REQUEST__BODY_WITHDRAW;
	req.withdraw = &w;
	harness_send_request(ssl, &req);
	m = harness_next_response(ssl, NULL);
	code = code_of(m);
	vix__v1__server_message__free_unpacked(m, NULL);
	return code;
}

static int
has_digit(const char *s)
{
	for (; *s != '\0'; s++)
		if (isdigit((unsigned char)*s))
			return 1;
	return 0;
}

/* The refusal names field, says what to do, and shows no digit at all. */
static void
check_bsn_refusal(int code, char *msg, const char *field, const char *what)
{
	char want[64];

	snprintf(want, sizeof(want), "%s: ", field);
	cr_assert_eq(code, INVALID, "%s: not refused: %s", what,
	    harness_redact(msg));
	cr_assert_eq(strncmp(msg, want, strlen(want)), 0, "%s: does not "
	    "name %s first: %s", what, field, harness_redact(msg));
	cr_assert_not_null(strstr(msg, "BSN"), "%s: %s", what,
	    harness_redact(msg));
	cr_assert_not_null(strstr(msg, "another reference"), "%s: no "
	    "advice: %s", what, harness_redact(msg));
	cr_assert(!has_digit(msg), "%s: the message shows digits: %s", what,
	    harness_redact(msg));
}

Test(abuse, a_bsn_in_free_text_is_refused_naming_the_field)
{
	const char *own = bsns[0], *other = bsns[1];
	char ref[80], name[80], email[80], dotted[16], msg[512];
	struct run_result r;
	SSL *ssl;

	harness_start(&vixd, NULL);
	ssl = harness_connect_as(&vixd, "org-a");
	/* The youth's own BSN, as a case system's dossier number. */
	snprintf(ref, sizeof(ref), "D-%s", own);
	check_bsn_refusal(reg(ssl, &(struct reg){ .bsn = own, .ref = ref },
	    msg, sizeof(msg)), msg, "client_ref", "own BSN in client_ref");
	snprintf(name, sizeof(name), "Jan de Vries %s", own);
	check_bsn_refusal(reg(ssl, &(struct reg){ .bsn = own, .name = name },
	    msg, sizeof(msg)), msg, "contact.name", "own BSN in the name");
	check_bsn_refusal(reg(ssl, &(struct reg){ .bsn = own, .phone = own },
	    msg, sizeof(msg)), msg, "contact.phone", "own BSN as the phone");
	snprintf(email, sizeof(email), "j.%s@example.nl", own);
	check_bsn_refusal(reg(ssl, &(struct reg){ .bsn = own, .email = email },
	    msg, sizeof(msg)), msg, "contact.email", "own BSN in the e-mail");
	/* Written with dots, or inside a longer run of digits. */
	snprintf(dotted, sizeof(dotted), "%.4s.%.2s.%.3s", own, own + 4,
	    own + 6);
	check_bsn_refusal(reg(ssl, &(struct reg){ .bsn = own, .ref = dotted },
	    msg, sizeof(msg)), msg, "client_ref", "own BSN with dots");
	snprintf(ref, sizeof(ref), "2024%s01", own);
	check_bsn_refusal(reg(ssl, &(struct reg){ .bsn = own, .ref = ref },
	    msg, sizeof(msg)), msg, "client_ref", "own BSN in a longer run");
	/* Another youth's BSN. */
	snprintf(ref, sizeof(ref), "sibling %s", other);
	check_bsn_refusal(reg(ssl, &(struct reg){ .bsn = own, .ref = ref },
	    msg, sizeof(msg)), msg, "client_ref", "another BSN in client_ref");

	/* Phone numbers with a country code, and other references, pass. */
	cr_assert_eq(reg(ssl, &(struct reg){ .bsn = own,
	    .phone = "0031612345678", .ref = "dossier 2024-0815",
	    .email = "j.devries@example.nl" }, msg, sizeof(msg)), OK, "%s",
	    harness_redact(msg));
	cr_assert_eq(reg(ssl, &(struct reg){ .bsn = own,
	    .phone = "+31 (0)6 1234 5678" }, msg, sizeof(msg)), OK, "%s",
	    harness_redact(msg));
	/* A re-registration may not put one into the contact either. */
	check_bsn_refusal(reg(ssl, &(struct reg){ .bsn = own, .name = name },
	    msg, sizeof(msg)), msg, "contact.name", "own BSN on a refresh");
	harness_tls_close(ssl);

	/* The vix CLI says the same, without echoing the value. */
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "register", "--bsn",
	    own, "--birth-date", "2015-03-01", "--contact-name", "A",
	    "--contact-phone", "0501234567", "--ref", own, NULL });
	cr_assert_eq(r.status, 1, "vix register: %s", harness_redact(r.err));
	cr_assert_not_null(strstr(r.err, "client_ref: "), "%s",
	    harness_redact(r.err));
	cr_assert_null(strstr(r.err, own), "vix echoed the BSN: %s",
	    harness_redact(r.err));
	cr_assert_eq(harness_metric(&vixd, "vix_requests_total{type="
	    "\"register\",code=\"INVALID_ARGUMENT\"}"), 9);
}

/* Send count registrations in one write; returns how many were refused. */
static int
enumerate(SSL *ssl, size_t count, uint32_t *hint, char *msg, size_t len)
{
	static uint8_t buf[BURST * 128];
	Vix__V1__Request req;
	Vix__V1__Register r;
	Vix__V1__Contact ct;
	Vix__V1__ServerMessage *m;
	size_t n = 0;
	int refused = 0;

	for (size_t i = 0; i < count; i++) {
		pack_register(&req, &r, &ct, i + 1,
		    &(struct reg){ .bsn = bsns[i] });
		cr_assert_leq(n + frame_packed_size(&req.base), sizeof(buf));
		n += frame_pack(&req.base, buf + n);
	}
	harness_send_raw(ssl, buf, n);
	OPENSSL_cleanse(buf, n);
	for (size_t i = 0; i < count; i++) {
		m = harness_next_response(ssl, NULL);
		if (code_of(m) == EXHAUSTED) {
			refused++;
			*hint = m->response->status->retry_after_ms;
			snprintf(msg, len, "%s", m->response->status->message);
		} else
			cr_assert_eq(code_of(m), OK, "%s", harness_redact(
			    m->response->status->message));
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	return refused;
}

Test(abuse, the_default_rate_limit_refuses_an_enumeration_burst)
{
	char msg[512] = "", status[8192];
	uint32_t hint = 0;
	int refused;
	SSL *ssl;

	harness_start(&vixd, NULL);	/* no configuration: the defaults */
	cr_assert_eq(harness_http_get(&vixd, "/v1/status", status,
	    sizeof(status)), 200);
	cr_assert_null(strstr(status, "\"rate_limit\":0,"), "no rate limit "
	    "by default: %s", status);
	ssl = harness_connect_as(&vixd, "org-a");
	refused = enumerate(ssl, BURST, &hint, msg, sizeof(msg));
	harness_tls_close(ssl);
	cr_assert_gt(refused, BURST / 4, "only %d of %d registrations sent "
	    "at once were refused", refused, BURST);
	cr_assert_not_null(strstr(msg, "organisation org-a over its rate "
	    "limit of "), "%s", msg);
	cr_assert_gt(hint, 0, "no retry hint: %s", msg);
	cr_assert_eq(harness_metric(&vixd, "vix_rate_limited_total"), refused);
}

/* vix_..._total{org="org"} from /metrics. */
static long long
org_metric(const char *name, const char *org)
{
	char series[128];

	snprintf(series, sizeof(series), "%s{org=\"%s\"}", name, org);
	return harness_metric(&vixd, series);
}

Test(abuse, the_daily_cap_refuses_new_signals_with_a_clear_message)
{
	char msg[512], log[65536];
	const char *conf;
	SSL *a, *b;

	conf = start_with("[server]\nmax_new_signals_per_day = 3\n");
	a = harness_connect_as(&vixd, "org-a");
	for (int i = 0; i < 3; i++)
		cr_assert_eq(reg(a, &(struct reg){ .bsn = bsns[i] }, msg,
		    sizeof(msg)), OK, "new signal %d: %s", i,
		    harness_redact(msg));
	cr_assert_eq(reg(a, &(struct reg){ .bsn = bsns[3] }, msg,
	    sizeof(msg)), EXHAUSTED, "a fourth new signal: %s",
	    harness_redact(msg));
	cr_assert_not_null(strstr(msg, "organisation org-a has registered 3 "
	    "new signals today, its maximum (max_new_signals_per_day)"), "%s",
	    harness_redact(msg));
	cr_assert_not_null(strstr(msg, "T00:00:00Z"), "says when it resets: "
	    "%s", harness_redact(msg));
	/* A refresh is no new signal; a withdrawal gives nothing back. */
	cr_assert_eq(reg(a, &(struct reg){ .bsn = bsns[0], .name = "B" },
	    msg, sizeof(msg)), OK, "a refresh: %s", harness_redact(msg));
	cr_assert_eq(withdraw(a, bsns[1],
	    VIX__V1__WITHDRAW__REASON__UNJUSTIFIED), OK);
	cr_assert_eq(reg(a, &(struct reg){ .bsn = bsns[1] }, msg,
	    sizeof(msg)), EXHAUSTED, "registered again after a withdrawal: "
	    "%s", harness_redact(msg));
	/* Another organisation counts its own. */
	b = harness_connect_as(&vixd, "org-b");
	cr_assert_eq(reg(b, &(struct reg){ .bsn = bsns[3] }, msg,
	    sizeof(msg)), OK, "org-b: %s", harness_redact(msg));
	harness_tls_close(a);
	harness_tls_close(b);
	cr_assert_eq(org_metric("vix_daily_cap_refusals_total", "org-a"), 2);
	cr_assert_eq(harness_count(harness_log(&vixd, log, sizeof(log)),
	    "organisation org-a has registered 3 new signals today"), 1,
	    "logged once: %s", harness_redact(log));

	/* The count is in the store: a restart does not reset it. */
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	a = harness_connect_as(&vixd, "org-a");
	cr_assert_eq(reg(a, &(struct reg){ .bsn = bsns[4] }, msg,
	    sizeof(msg)), EXHAUSTED, "after a restart: %s",
	    harness_redact(msg));
	harness_tls_close(a);
}

Test(abuse, register_then_unjustified_withdraw_churn_is_counted_per_org)
{
	char msg[512];
	SSL *a, *b;

	harness_start(&vixd, NULL);
	a = harness_connect_as(&vixd, "org-a");
	b = harness_connect_as(&vixd, "org-b");
	for (int i = 0; i < 5; i++)
		cr_assert_eq(reg(a, &(struct reg){ .bsn = bsns[i] }, msg,
		    sizeof(msg)), OK, "%s", harness_redact(msg));
	cr_assert_eq(reg(b, &(struct reg){ .bsn = bsns[0] }, msg,
	    sizeof(msg)), OK, "%s", harness_redact(msg));
	for (int i = 0; i < 3; i++)
		cr_assert_eq(withdraw(a, bsns[i],
		    VIX__V1__WITHDRAW__REASON__UNJUSTIFIED), OK);
	cr_assert_eq(withdraw(a, bsns[3],
	    VIX__V1__WITHDRAW__REASON__RISK_RESOLVED), OK);
	cr_assert_eq(withdraw(b, bsns[0],
	    VIX__V1__WITHDRAW__REASON__RISK_RESOLVED), OK);
	harness_tls_close(a);
	harness_tls_close(b);
	cr_assert_eq(org_metric("vix_signals_created_total", "org-a"), 5);
	cr_assert_eq(org_metric("vix_signals_created_total", "org-b"), 1);
	cr_assert_eq(org_metric("vix_unjustified_withdrawals_total", "org-a"),
	    3);
	cr_assert_eq(org_metric("vix_unjustified_withdrawals_quick_total",
	    "org-a"), 3);
	cr_assert_eq(org_metric("vix_unjustified_withdrawals_total", "org-b"),
	    0);

	/* Withdrawn two hours after its creation: counted, but not quick. */
	harness_restart_faketime(&vixd, "+2h", NULL);
	a = harness_connect_as(&vixd, "org-a");
	cr_assert_eq(withdraw(a, bsns[4],
	    VIX__V1__WITHDRAW__REASON__UNJUSTIFIED), OK);
	harness_tls_close(a);
	cr_assert_eq(org_metric("vix_unjustified_withdrawals_total", "org-a"),
	    1, "counted since this start");
	cr_assert_eq(org_metric("vix_unjustified_withdrawals_quick_total",
	    "org-a"), 0);
}

/*
 * vix import of a migration: a row with a BSN in client_ref is rejected on
 * its own (the file of rejects shows no BSN); at the daily cap the import
 * stops with the server's message, and a second run the next day would
 * only refresh what is in.
 */
Test(abuse, vix_import_rejects_a_bsn_in_free_text_and_stops_at_the_daily_cap)
{
	char path[PATH_MAX], errors[PATH_MAX + 16], buf[8192];
	struct run_result r;
	size_t n;
	FILE *fp;

	start_with("[server]\nmax_new_signals_per_day = 5\n");
	snprintf(path, sizeof(path), "%s/rows.csv", vixd.dir);
	cr_assert_not_null(fp = fopen(path, "w"));
	fputs("bsn,birth_date,days,contact_name,contact_phone,contact_email,"
	    "client_ref,municipality\n", fp);
	fprintf(fp, "%s,2015-03-01,,Contact,0501234567,,%s,\n", bsns[0],
	    bsns[0]);
	for (int i = 1; i <= 4; i++)
		fprintf(fp, "%s,2015-03-01,,Contact,0501234567,,ref-%d,\n",
		    bsns[i], i);
	fclose(fp);
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "import", path,
	    "--json", NULL });
	cr_assert_eq(r.status, 1, "one row was refused: %s",
	    harness_redact(r.err));
	cr_assert_not_null(strstr(r.out, "\"accepted\":4,"), "%s",
	    harness_redact(r.out));
	snprintf(errors, sizeof(errors), "%s/rows.errors.csv", vixd.dir);
	cr_assert_not_null(fp = fopen(errors, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	cr_assert_not_null(strstr(buf, "client_ref: must not contain a BSN"),
	    "%s", harness_redact(buf));
	cr_assert_null(strstr(buf, bsns[0]), "the rejects show the BSN: %s",
	    harness_redact(buf));

	/* Four in, one more fits; the row after it meets the cap. */
	cr_assert_not_null(fp = fopen(path, "w"));
	fputs("bsn,birth_date,days,contact_name,contact_phone,contact_email,"
	    "client_ref,municipality\n", fp);
	for (int i = 1; i <= 6; i++)
		fprintf(fp, "%s,2015-03-01,,Contact,0501234567,,ref-%d,\n",
		    bsns[i], i);
	fclose(fp);
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "import", path,
	    NULL });
	cr_assert_neq(r.status, 0, "the import went past the cap");
	cr_assert_not_null(strstr(r.err, "has registered 5 new signals "
	    "today, its maximum (max_new_signals_per_day)"), "%s",
	    harness_redact(r.err));
	cr_assert_eq(org_metric("vix_signals_created_total", "org-a"), 5);
}
