/*
 * Registration, matching, withdrawal and need-to-know end to end: the real
 * vixd --dev, the real vix CLI, raw TLS for what the CLI would not send,
 * libvix's pipelining calls, and the store read back after vixd stopped.
 * No BSN may appear in any output, log or file; assertion messages are
 * redacted.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include <vix/client.h>
#include "harness.h"
#include "store.h"

#define MAX_BSNS	1024

static struct vixd_proc vixd;
static char bsns[MAX_BSNS][16];
static size_t nbsns;

static void
load_valid_bsns(void)
{
	nbsns = harness_load_bsns(bsns, MAX_BSNS);
	cr_assert_gt(nbsns, 100);
}

static void
start(void)
{
	load_valid_bsns();
	harness_start(&vixd, NULL);
}

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(signals, .init = start, .fini = stop, .timeout = 120);

/*
 * vix --json as org with input on its standard input (NULL: none), checking
 * the exit status; output is redacted.
 */
static void
vix_in(struct run_result *r, const char *org, int want,
    const char *const *args, const char *input)
{
	const char *argv[24] = { "--json" };
	size_t n = 1;

	for (; *args != NULL && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	harness_vix_stdin(r, &vixd, org, argv, input);
	for (size_t i = 0; i < nbsns; i++) {
		cr_assert_null(strstr(r->out, bsns[i]), "vix printed test BSN "
		    "number %zu on stdout", i);
		cr_assert_null(strstr(r->err, bsns[i]), "vix printed test BSN "
		    "number %zu on stderr", i);
	}
	cr_assert_eq(r->status, want, "vix as %s: exit %d (want %d): %s %s",
	    org, r->status, want, harness_redact(r->out),
	    harness_redact(r->err));
}

static void
vix(struct run_result *r, const char *org, int want, const char *const *args)
{
	vix_in(r, org, want, args, NULL);
}

/* Register through the vix CLI (libvix's own vix_register is another). */
static void
cli_register(struct run_result *r, const char *org, const char *bsn,
    const char *name, int want)
{
	vix(r, org, want, (const char *[]){ "register", "--bsn", bsn,
	    "--birth-date", "2015-03-01", "--contact-name", name,
	    "--contact-phone", "0501234567", "--contact-email",
	    "contact@example.nl", "--ref", "dossier-1", NULL });
}

/* The number after "key": in a JSON text (the first occurrence). */
static unsigned long long
json_num(const char *json, const char *key)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	at = strstr(json, pat);
	cr_assert_not_null(at, "no %s in the output", key);
	return strtoull(at + strlen(pat), NULL, 10);
}

static int
has(const char *s, const char *needle)
{
	return strstr(s, needle) != NULL;
}

Test(signals, second_organisation_creates_a_match)
{
	const char *x = bsns[0];
	struct run_result r;
	unsigned long long sig_a, match;

	cli_register(&r, "org-a", x, "J. Jansen", 0);
	cr_assert(has(r.out, "\"status\":\"CREATED\""), "%s", r.out);
	cr_assert(has(r.out, "\"match\":null"), "no match yet: %s", r.out);
	sig_a = json_num(r.out, "signal_id");

	cli_register(&r, "org-b", x, "P. de Vries", 0);
	cr_assert(has(r.out, "\"status\":\"CREATED\""), "%s", r.out);
	cr_assert(has(r.out, "\"org_id\":\"org-a\""), "%s", r.out);
	cr_assert(has(r.out, "\"org_name\":\"Development organisation A\""));
	cr_assert(has(r.out, "\"contact\":{\"name\":\"J. Jansen\","
	    "\"phone\":\"0501234567\",\"email\":\"contact@example.nl\"}"),
	    "org-b sees org-a's contact: %s", r.out);
	cr_assert(has(r.out, "\"coordinator\":\"org-a\""), "rank 10 < 20: %s",
	    r.out);
	match = json_num(r.out, "match_id");
	cr_assert_gt(match, 0);

	/* org-a sees org-b, the same match and the same coordinator. */
	vix(&r, "org-a", 0, (const char *[]){ "involved", "--bsn", x, NULL });
	cr_assert_eq(json_num(r.out, "signal_id"), sig_a);
	cr_assert_eq(json_num(r.out, "match_id"), match);
	cr_assert(has(r.out, "\"org_id\":\"org-b\""), "%s", r.out);
	cr_assert(has(r.out, "\"name\":\"P. de Vries\""), "%s", r.out);
	cr_assert(has(r.out, "\"coordinator\":\"org-a\""), "%s", r.out);
	cr_assert(!has(r.out, "\"org_id\":\"org-a\""), "not itself: %s", r.out);

	/* Registering again refreshes: same signal, same match, no new one. */
	cli_register(&r, "org-a", x, "J. Jansen-Smit", 0);
	cr_assert(has(r.out, "\"status\":\"REFRESHED\""), "%s", r.out);
	cr_assert_eq(json_num(r.out, "signal_id"), sig_a);
	cr_assert_eq(json_num(r.out, "match_id"), match);
	vix(&r, "org-b", 0, (const char *[]){ "involved", "--bsn", x, NULL });
	cr_assert(has(r.out, "\"name\":\"J. Jansen-Smit\""),
	    "refreshed contact: %s", r.out);
}

Test(signals, third_organisation_joins)
{
	const char *x = bsns[1];
	struct run_result r;
	unsigned long long match;

	cli_register(&r, "org-a", x, "A", 0);
	cli_register(&r, "org-b", x, "B", 0);
	match = json_num(r.out, "match_id");
	harness_make_client_cert(&vixd, "org-c", "00000009990000000099");
	/* org-c is unknown to orgs.conf: refused before anything happens. */
	cli_register(&r, "org-c", x, "C", 1);
	cr_assert(has(r.err, "UNAUTHENTICATED"));
	vix(&r, "org-a", 0, (const char *[]){ "involved", "--bsn", x, NULL });
	cr_assert_eq(json_num(r.out, "match_id"), match);
}

Test(signals, only_the_registrant_may_withdraw)
{
	const char *x = bsns[2];
	struct run_result r;
	char id[32];

	cli_register(&r, "org-a", x, "A", 0);
	snprintf(id, sizeof(id), "%llu", json_num(r.out, "signal_id"));
	vix(&r, "org-b", 1, (const char *[]){ "withdraw", "--signal", id,
	    "--reason", "unjustified", NULL });
	cr_assert(has(r.err, "PERMISSION_DENIED"), "%s", r.err);
	cr_assert(has(r.err, "signal_id"), "names the field: %s", r.err);
	/* Still there. */
	vix(&r, "org-a", 0, (const char *[]){ "involved", "--bsn", x, NULL });
	vix(&r, "org-b", 1, (const char *[]){ "withdraw", "--bsn", x,
	    "--reason", "unjustified", NULL });
	cr_assert(has(r.err, "NOT_FOUND"), "%s", r.err);
	vix(&r, "org-a", 1, (const char *[]){ "withdraw", "--signal",
	    "987654", "--reason", "unjustified", NULL });
	cr_assert(has(r.err, "NOT_FOUND"), "%s", r.err);
}

Test(signals, involved_needs_an_own_signal)
{
	struct run_result r;

	cli_register(&r, "org-a", bsns[3], "A", 0);
	vix(&r, "org-b", 1, (const char *[]){ "involved", "--bsn", bsns[3],
	    NULL });
	cr_assert(has(r.err, "PERMISSION_DENIED"), "%s", r.err);
	cr_assert(has(r.err, "bsn"), "%s", r.err);
	/* A partner system has no register role at all. */
	vix(&r, "partner", 1, (const char *[]){ "involved", "--bsn", bsns[3],
	    NULL });
	cr_assert(has(r.err, "PERMISSION_DENIED"), "%s", r.err);
	cli_register(&r, "partner", bsns[3], "P", 1);
	cr_assert(has(r.err, "role 'register'"), "%s", r.err);
}

/*
 * --bsn - reads the BSN from standard input (kept out of argv): register,
 * involved and withdraw work on it as on --bsn B.
 */
Test(signals, bsn_from_standard_input)
{
	const char *reg[] = { "register", "--bsn", "-", "--birth-date",
	    "2015-03-01", "--contact-name", "A", "--contact-phone",
	    "0501234567", NULL };
	char line[32];
	struct run_result r;
	unsigned long long match;

	snprintf(line, sizeof(line), "%s\n", bsns[30]);
	vix_in(&r, "org-a", 0, reg, line);
	cr_assert(has(r.out, "\"status\":\"CREATED\""), "%s", r.out);
	vix_in(&r, "org-b", 0, reg, bsns[30]);	/* no line end: also read */
	match = json_num(r.out, "match_id");
	cr_assert_gt(match, 0, "the same youth as org-a's: %s", r.out);
	vix_in(&r, "org-a", 0, (const char *[]){ "involved", "--bsn", "-",
	    NULL }, line);
	cr_assert_eq(json_num(r.out, "match_id"), match);
	vix_in(&r, "org-b", 0, (const char *[]){ "withdraw", "--bsn", "-",
	    "--reason", "unjustified", NULL }, line);
	cr_assert(has(r.out, "\"match_closed\":true"), "%s", r.out);
	/* Nothing on standard input: a usage error naming --bsn -. */
	vix_in(&r, "org-a", 2, (const char *[]){ "involved", "--bsn", "-",
	    NULL }, "");
	cr_assert(has(r.err, "--bsn -: nothing on standard input"), "%s",
	    r.err);
}

/*
 * The index refuses what only it can judge (the date, the duration
 * against its maximum); vix itself refuses, with the index's own rules
 * and words, a contact, reference or municipality it would refuse.
 */
Test(signals, field_errors_name_the_field)
{
	static char ref[66];
	static const struct {
		const char *flag, *value, *field;
		int status;
	} cases[] = {
		{ "--birth-date", "1990-01-01", "birth_date", 1 },
		{ "--birth-date", "2099-01-01", "birth_date", 1 },
		{ "--birth-date", "2015-02-30", "birth_date", 1 },
		{ "--days", "731", "duration_days", 1 },
		{ "--municipality", "12345", "--municipality: municipality",
		    2 },
		{ "--contact-phone", "call me", "--contact-phone: "
		    "contact.phone", 2 },
		{ "--contact-email", "nobody", "--contact-email: "
		    "contact.email", 2 },
		{ "--ref", ref, "--ref: client_ref: must be at most 64 bytes",
		    2 },
	};
	struct run_result r;

	memset(ref, 'r', 65);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[] = { "register", "--bsn", bsns[4],
		    "--birth-date", "2015-03-01", "--contact-name", "A",
		    "--contact-phone", "0501234567", cases[i].flag,
		    cases[i].value, NULL };

		vix(&r, "org-a", cases[i].status, args);
		cr_assert(cases[i].status == 2 ||
		    has(r.err, "INVALID_ARGUMENT"), "case %zu: %s", i, r.err);
		cr_assert(has(r.err, cases[i].field), "case %zu names %s: %s",
		    i, cases[i].field, r.err);
	}
	/* Nothing was registered by any of these. */
	vix(&r, "org-a", 0, (const char *[]){ "list", NULL });
	cr_assert(has(r.out, "\"signals\":[]"), "%s", r.out);
}

/* Send a Register for bsn over raw TLS as request id. */
static void
send_register(SSL *ssl, uint64_t id, const char *bsn)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register reg = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact contact = VIX__V1__CONTACT__INIT;

	contact.name = "A";
	contact.phone = "0501234567";
	reg.bsn = (char *)bsn;
	reg.birth_date = "2015-03-01";
	reg.contact = &contact;
	req.id = id;
	req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req.register_ = &reg;
	harness_send_request(ssl, &req);
}

static SSL *
connect_org_a(void)
{
	char cert[PATH_MAX], key[PATH_MAX], why[256];
	SSL *ssl;

	harness_dev_file(&vixd, "org-a.pem", cert, sizeof(cert));
	harness_dev_file(&vixd, "org-a.key", key, sizeof(key));
	ssl = harness_tls_connect(&vixd, cert, key, why, sizeof(why));
	cr_assert_not_null(ssl, "%s", why);
	return ssl;
}

Test(signals, every_invalid_bsn_is_rejected_without_echo)
{
	char path[PATH_MAX], line[64], values[128][64];
	size_t n = 0;
	FILE *fp;
	SSL *ssl = connect_org_a();

	snprintf(path, sizeof(path), "%s/bsn-invalid.tsv",
	    getenv("VIX_TESTDATA"));
	cr_assert_not_null(fp = fopen(path, "r"));
	while (n < 128 && fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#')
			continue;
		line[strcspn(line, "\t")] = '\0';
		snprintf(values[n], sizeof(values[0]), "%.63s", line);
		send_register(ssl, n + 1, values[n]);
		n++;
	}
	fclose(fp);
	cr_assert_gt(n, 60);
	for (size_t i = 0; i < n; i++) {
		Vix__V1__ServerMessage *m;
		int end;

		m = harness_recv(ssl, &end);
		cr_assert_not_null(m, "no answer for line %zu", i + 1);
		cr_assert_eq(m->response->id, i + 1);
		cr_assert_eq(m->response->status->code,
		    VIX__V1__STATUS__CODE__INVALID_ARGUMENT, "line %zu", i + 1);
		cr_assert_eq(strncmp(m->response->status->message, "bsn: ", 5),
		    0, "line %zu: names the field", i + 1);
		cr_assert(values[i][0] == '\0' ||
		    !has(m->response->status->message, values[i]),
		    "line %zu: the message echoes the value", i + 1);
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	harness_tls_close(ssl);
}

/* Register over raw TLS with this contact; the status, message into msg. */
static int
register_contact(SSL *ssl, uint64_t id, const char *bsn, const char *name,
    const char *phone, const char *email, const char *ref, char *msg,
    size_t len)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register reg = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact contact = VIX__V1__CONTACT__INIT;
	Vix__V1__ServerMessage *m;
	int code;

	contact.name = (char *)name;
	contact.phone = (char *)phone;
	contact.email = (char *)email;
	reg.bsn = (char *)bsn;
	reg.birth_date = "2015-03-01";
	reg.contact = &contact;
	reg.client_ref = (char *)ref;
	req.id = id;
	req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req.register_ = &reg;
	harness_send_request(ssl, &req);
	m = harness_next_response(ssl, "register");
	cr_assert_eq(m->response->id, id);
	code = m->response->status ? (int)m->response->status->code : 0;
	snprintf(msg, len, "%s", m->response->status ?
	    m->response->status->message : "");
	vix__v1__server_message__free_unpacked(m, NULL);
	return code;
}

#define RLO	"\xe2\x80\xae"	/* U+202E RIGHT-TO-LEFT OVERRIDE */
#define LRI	"\xe2\x81\xa6"	/* U+2066 LEFT-TO-RIGHT ISOLATE */

/*
 * Contact and reference as the daemon checks them for every client: a
 * blank name, bidi formatting, a phone that is no number, an e-mail
 * domain without labels are refused naming the field; a name and e-mail
 * with space around them are kept without it.
 */
Test(signals, contact_text_is_checked_by_the_daemon)
{
	static const struct {
		const char *name, *phone, *email, *ref, *want;
	} bad[] = {
		{ "   ", "0501234567", "", "", "contact.name: must not be only "
		    "white space" },
		{ "\xc2\xa0\xe2\x80\x8b", "0501234567", "", "", "contact.name: "
		    "must not be only white space" },
		{ "J. " RLO "nesnaJ", "0501234567", "", "", "contact.name: must "
		    "not contain bidirectional formatting characters" },
		{ "J.\xc2\x85", "0501234567", "", "", "contact.name: must not "
		    "contain control characters" },
		{ "A", "1", "", "", "contact.phone: must start with 0" },
		{ "A", "((((1))))", "", "", "contact.phone: brackets" },
		{ "A", "05012345", "", "", "contact.phone: a Dutch number has "
		    "10 digits" },
		{ "A", "+3161234", "", "", "contact.phone: an international "
		    "number has 8 to 15 digits" },
		{ "A", "0501234567", "a@..", "", "contact.email: the domain" },
		{ "A", "0501234567", "a@b", "", "contact.email: the domain must "
		    "have a dot" },
		{ "A", "0501234567", "j@" LRI "example.nl", "", "contact.email: "
		    "must not contain bidirectional" },
		{ "A", "0501234567", "", "dossier " RLO "71", "client_ref: must "
		    "not contain bidirectional" },
	};
	SSL *ssl = connect_org_a();
	struct run_result r;
	char msg[512];
	int code;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		code = register_contact(ssl, i + 1, bsns[5], bad[i].name,
		    bad[i].phone, bad[i].email, bad[i].ref, msg, sizeof(msg));
		cr_assert_eq(code, VIX__V1__STATUS__CODE__INVALID_ARGUMENT,
		    "case %zu accepted (%d): %s", i, code, harness_redact(msg));
		cr_assert(strncmp(msg, bad[i].want, strlen(bad[i].want)) == 0,
		    "case %zu: '%s', want '%s...'", i, harness_redact(msg),
		    bad[i].want);
		cr_assert(!has(msg, RLO) && !has(msg, LRI),
		    "case %zu echoes the formatting character", i);
	}
	/* None of them registered anything. */
	vix(&r, "org-a", 0, (const char *[]){ "list", NULL });
	cr_assert(has(r.out, "\"signals\":[]"), "%s", r.out);

	/* Space around the name and e-mail is not kept. */
	code = register_contact(ssl, 100, bsns[5], "  J. Jansen \xc2\xa0",
	    " +31 (0)50 123 4567 ", " j.jansen@example.nl  ", "d-1", msg,
	    sizeof(msg));
	cr_assert_eq(code, 0, "%s", harness_redact(msg));
	harness_tls_close(ssl);
	cli_register(&r, "org-b", bsns[5], "P. de Vries", 0);
	cr_assert(has(r.out, "\"contact\":{\"name\":\"J. Jansen\","
	    "\"phone\":\"+31 (0)50 123 4567\",\"email\":"
	    "\"j.jansen@example.nl\"}"), "org-b sees the trimmed contact: %s",
	    harness_redact(r.out));
}

/*
 * Organisation ids in Subscribe and Ack are text too: a control or bidi
 * formatting character is refused naming the field, never echoed.
 */
Test(signals, recipient_text_is_checked)
{
	SSL *ssl = harness_connect_as(&vixd, "partner");
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__Ack ack = VIX__V1__ACK__INIT;
	Vix__V1__ServerMessage *m;
	char *recipients[] = { "org-a" RLO };

	ack.recipient = "partner\x1b[2J";
	ack.seq = 1;

	sub.n_recipients = 1;
	sub.recipients = recipients;
	req.id = 1;
	req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	harness_send_request(ssl, &req);
	m = harness_next_response(ssl, "subscribe");
	cr_assert_not_null(m->response->status);
	cr_assert_eq(m->response->status->code,
	    VIX__V1__STATUS__CODE__INVALID_ARGUMENT);
	cr_assert_str_eq(m->response->status->message, "recipients: must not "
	    "contain bidirectional formatting characters (U+061C, U+200E, "
	    "U+200F, U+202A-U+202E, U+2066-U+2069)");
	vix__v1__server_message__free_unpacked(m, NULL);

	/* Subscribed for itself, an Ack naming a recipient with escapes. */
	sub.n_recipients = 0;
	req.id = 2;
	harness_send_request(ssl, &req);
	m = harness_next_response(ssl, "subscribe");
	cr_assert(m->response->status == NULL ||
	    m->response->status->code == 0, "%s",
	    m->response->status->message);
	vix__v1__server_message__free_unpacked(m, NULL);
	req.id = 3;
	req.body_case = VIX__V1__REQUEST__BODY_ACK;
	req.ack = &ack;
	harness_send_request(ssl, &req);
	m = harness_next_response(ssl, "ack");
	cr_assert_not_null(m->response->status);
	cr_assert_str_eq(m->response->status->message, "recipient: must not "
	    "contain control characters");
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(ssl);
}

static void
open_store_after_stop(struct store **s, struct store_reader **r)
{
	char dir[PATH_MAX];
	struct store_options so = { .dir = dir, .map_size = 1UL << 30,
	    .quota_percent = 90 };
	struct diag d;

	snprintf(dir, sizeof(dir), "%s/data", vixd.dev_dir);
	diag_init(&d);
	*s = store_open(&so, &d);
	cr_assert_not_null(*s, "%s", d.text);
	*r = store_reader_new(*s);
}

Test(signals, withdraw_archives_or_deletes)
{
	struct run_result r;
	struct store *s;
	struct store_reader *rd;
	size_t signals, matches, archived;
	uint64_t count, bad;

	cli_register(&r, "org-a", bsns[5], "A", 0);
	cli_register(&r, "org-b", bsns[5], "B", 0);
	cli_register(&r, "org-a", bsns[6], "A", 0);
	vix(&r, "org-a", 0, (const char *[]){ "withdraw", "--bsn", bsns[6],
	    "--reason", "unjustified", NULL });
	cr_assert(has(r.out, "\"archived\":false"), "%s", r.out);
	vix(&r, "org-b", 0, (const char *[]){ "withdraw", "--bsn", bsns[5],
	    "--reason", "risk-resolved", NULL });
	cr_assert(has(r.out, "\"archived\":true"), "%s", r.out);
	cr_assert(has(r.out, "\"match_closed\":true"), "%s", r.out);

	cr_assert_eq(harness_signal_wait(&vixd, SIGTERM), 0);
	open_store_after_stop(&s, &rd);
	cr_assert_eq(store_counts(rd, &signals, &matches, &archived), 0);
	cr_assert_eq(signals, 1, "org-a's signal on the first youth remains");
	cr_assert_eq(matches, 0, "the match closed");
	cr_assert_eq(archived, 1, "risk-resolved archived, unjustified not");
	cr_assert_eq(store_audit_verify(rd, &count, NULL, &bad), 0);
	cr_assert_eq(bad, 0, "audit chain broken at %llu",
	    (unsigned long long)bad);
	cr_assert_eq(count, 5, "3 registrations and 2 withdrawals audited");
	store_reader_free(rd);
	store_close(s);
}

Test(signals, restart_keeps_signals_and_matches)
{
	struct run_result r;
	unsigned long long match;

	cli_register(&r, "org-a", bsns[7], "A", 0);
	cli_register(&r, "org-b", bsns[7], "B", 0);
	match = json_num(r.out, "match_id");
	cli_register(&r, "org-a", bsns[8], "A", 0);
	harness_restart(&vixd);
	vix(&r, "org-a", 0, (const char *[]){ "involved", "--bsn", bsns[7],
	    NULL });
	cr_assert_eq(json_num(r.out, "match_id"), match);
	cr_assert(has(r.out, "\"org_id\":\"org-b\""), "%s", r.out);
	vix(&r, "org-a", 0, (const char *[]){ "list", NULL });
	cr_assert_eq(harness_count(r.out, "\"signal_id\""), 2, "%s", r.out);
	/* A new registration continues the id sequence. */
	cli_register(&r, "org-b", bsns[9], "B", 0);
	cr_assert_eq(json_num(r.out, "signal_id"), 4);
}

Test(signals, no_bsn_in_data_folder_or_log)
{
	struct run_result r;
	char where[PATH_MAX];

	for (size_t i = 10; i < 20; i++) {
		cli_register(&r, "org-a", bsns[i], "A", 0);
		cli_register(&r, i % 2 ? "org-b" : "org-a", bsns[i], "B", 0);
		vix(&r, "org-a", 0, (const char *[]){ "involved", "--bsn",
		    bsns[i], NULL });
	}
	vix(&r, "org-a", 0, (const char *[]){ "withdraw", "--bsn", bsns[10],
	    "--reason", "risk-resolved", NULL });
	harness_restart(&vixd);
	vix(&r, "org-a", 0, (const char *[]){ "list", NULL });
	cr_assert_eq(harness_signal_wait(&vixd, SIGTERM), 0);
	for (size_t i = 10; i < 20; i++)
		cr_assert(!harness_dir_contains(vixd.dir, bsns[i], where,
		    sizeof(where)), "BSN number %zu of the test found in %s",
		    i, where);
	/* The search itself works: the test data's own file has them. */
	cr_assert(harness_dir_contains(getenv("VIX_TESTDATA"), bsns[10],
	    where, sizeof(where)));
}

Test(signals, full_store_is_resource_exhausted_and_intact)
{
	char conf[PATH_MAX];
	struct run_result r;
	size_t ok = 0, full = 0;
	FILE *fp;
	SSL *ssl;

	/* The same material, a tiny store. */
	snprintf(conf, sizeof(conf), "%s/tiny.conf", vixd.dir);
	cr_assert_not_null(fp = fopen(conf, "w"));
	/* rate_limit = 0: filling the store is the point, not the limit. */
	fprintf(fp, "[store]\nmap_size = 1048576\nquota_percent = 10\n"
	    "[server]\nrate_limit = 0\n");
	fclose(fp);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });

	ssl = connect_org_a();
	for (size_t i = 0; i < 400; i++)
		send_register(ssl, i + 1, bsns[i]);
	for (size_t i = 0; i < 400; i++) {
		Vix__V1__ServerMessage *m;
		int end, code;

		cr_assert_not_null(m = harness_recv(ssl, &end));
		code = m->response->status ? m->response->status->code : 0;
		if (code == 0)
			ok++;
		else {
			cr_assert_eq(code,
			    VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED);
			cr_assert(has(m->response->status->message, "map_size"),
			    "%s", m->response->status->message);
			full++;
		}
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	harness_tls_close(ssl);
	cr_assert_gt(full, 0, "the tiny store never filled up");
	cr_assert_gt(ok, 0);

	/* Everything acknowledged is there, before and after a restart. */
	vix(&r, "org-a", 0, (const char *[]){ "list", NULL });
	cr_assert_eq((size_t)harness_count(r.out, "\"signal_id\""), ok,
	    "listed %d, acknowledged %zu, refused %zu",
	    harness_count(r.out, "\"signal_id\""), ok, full);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	vix(&r, "org-a", 0, (const char *[]){ "list", NULL });
	cr_assert_eq((size_t)harness_count(r.out, "\"signal_id\""), ok,
	    "listed %d, acknowledged %zu, refused %zu",
	    harness_count(r.out, "\"signal_id\""), ok, full);
}

static vix_client *
libvix_connect_as(const char *org)
{
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], file[64];
	struct vix_options o = { vixd.addr, cert, key, ca, 0, NULL };
	struct vix_error err;
	vix_client *c;

	snprintf(file, sizeof(file), "%s.pem", org);
	harness_dev_file(&vixd, file, cert, sizeof(cert));
	snprintf(file, sizeof(file), "%s.key", org);
	harness_dev_file(&vixd, file, key, sizeof(key));
	harness_dev_file(&vixd, "ca.pem", ca, sizeof(ca));
	cr_assert_eq(vix_connect(&o, &c, &err), VIX_OK, "connect: %s",
	    err.message);
	return c;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(signals, vix_wait_times_out_when_idle_and_returns_when_answered)
{
	struct vix_register_req req = { .bsn = bsns[0],
	    .birth_date = "2015-03-01", .contact_name = "J. Jansen",
	    .contact_phone = "0501234567", .client_ref = "wait-1" };
	struct vix_register_result res;
	struct vix_error err = { .kind = VIX_OK };
	vix_client *c;
	uint64_t sent, got;
	int64_t t0, waited;
	int rc;

	c = libvix_connect_as("org-a");

	/* Nothing was asked: nothing comes, after about the timeout. */
	t0 = mono_ms();
	rc = vix_wait(c, 50, &err);
	waited = mono_ms() - t0;
	cr_assert_eq(rc, VIX_ERR_TIMEOUT, "idle wait: %d %s", rc, err.message);
	cr_assert_eq(err.kind, VIX_ERR_TIMEOUT);
	cr_assert_geq(waited, 40, "returned after %lld ms of 50",
	    (long long)waited);
	cr_assert_lt(waited, 5000, "returned after %lld ms of 50",
	    (long long)waited);

	/* A pipelined request: the wait ends when its answer comes. */
	cr_assert_eq(vix_register_send(c, &req, &sent, &err), VIX_OK, "send: %s",
	    err.message);
	cr_assert_neq(sent, 0);
	rc = vix_wait(c, 5000, &err);
	cr_assert_eq(rc, VIX_OK, "wait after send: %d %s", rc, err.message);
	rc = vix_register_recv(c, &got, &res, &err);
	cr_assert_eq(rc, VIX_OK, "recv: %d %s", rc, err.message);
	cr_assert_eq(got, sent);
	cr_assert_neq(res.signal_id, 0);
	cr_assert_eq(res.status, VIX_SIGNAL_CREATED);
	vix_register_result_free(&res);

	/* Answered and read: idle again. */
	cr_assert_eq(vix_wait(c, 50, &err), VIX_ERR_TIMEOUT, "%s", err.message);

	cr_assert_eq(vix_wait(NULL, 50, &err), VIX_ERR_ARGS);
	cr_assert_eq(err.kind, VIX_ERR_ARGS);
	vix_close(c);
}
