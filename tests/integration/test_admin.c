/*
 * The admin HTTP listener against a real vixd: health, readiness, status
 * without secrets, and /metrics counting what clients did, in a form
 * `promtool check metrics` accepts without a word.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devcert.h"
#include "harness.h"

#define BSN		"999990019"	/* synthetic test numbers */
#define BSN_BAD		"999996453"	/* fails the 11-test */

static struct vixd_proc vixd;
static char text[262144];

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

TestSuite(admin, .init = start, .fini = stop, .timeout = 120);

/* GET path; asserts the status; returns the body (after the headers). */
static char *
get(const char *path, int want)
{
	char *body;
	int code = harness_http_get(&vixd, path, text, sizeof(text));

	cr_assert_eq(code, want, "GET %s: %d", path, code);
	body = strstr(text, "\r\n\r\n");
	cr_assert_not_null(body, "GET %s: no end of headers", path);
	return body + 4;
}

/* The value of one series ("name{labels}"), or -1 when it is absent. */
static long long
value(const char *body, const char *series)
{
	char pat[256];
	const char *at;

	snprintf(pat, sizeof(pat), "\n%s ", series);
	at = strstr(body, pat);
	return at ? strtoll(at + strlen(pat), NULL, 10) : -1;
}

/* Scrape until series has the value wanted (at most 5 s). */
static char *
await(const char *series, long long want)
{
	char *body = NULL;

	for (int i = 0; i < 50; i++) {
		body = get("/metrics", 200);
		if (value(body, series) == want)
			break;
		usleep(100000);
	}
	cr_assert_eq(value(body, series), want, "%s:\n%s", series,
	    harness_redact(body));
	return body;
}

static void
register_youth(const char *org, const char *bsn, int want)
{
	struct run_result r;

	harness_vix(&r, &vixd, org, (const char *[]){ "register", "--bsn", bsn,
	    "--birth-date", "2015-03-01", "--contact-name", "A",
	    "--contact-phone", "0501234567", NULL });
	cr_assert_eq(r.status, want, "register as %s: exit %d: %s", org,
	    r.status, harness_redact(r.err));
}

/* A client with this certificate (NULL: none) gets no service. */
static void
connect_refused(const char *cert, const char *key)
{
	Vix__V1__ServerMessage *m;
	char why[256];
	int end;
	SSL *ssl = harness_tls_connect(&vixd, cert, key, why, sizeof(why));

	/* TLS 1.3: the client finishes first; the refusal arrives after. */
	if (ssl == NULL)
		return;
	SSL_write(ssl, "\x02\x52\x00", 3);	/* a ping */
	while ((m = harness_recv(ssl, &end)) != NULL) {
		cr_assert_eq(m->msg_case,
		    VIX__V1__SERVER_MESSAGE__MSG_RESPONSE);
		cr_assert_eq(m->response->status->code,
		    VIX__V1__STATUS__CODE__UNAUTHENTICATED);
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	harness_tls_close(ssl);
}

static void
connect_without_certificate(void)
{
	connect_refused(NULL, NULL);
}

/* Certificate and key of a leaf signed by a CA vixd does not know. */
static void
make_foreign_cert(char *cert, char *key, size_t len)
{
	EVP_PKEY *ca_key = devcert_key(), *leaf_key = devcert_key();
	X509 *ca = devcert_ca(ca_key, "someone else's CA", 30);
	X509 *leaf = devcert_leaf(leaf_key, "impostor",
	    "00000009990000000001", DEVCERT_CLIENT, ca, ca_key, 30);

	cr_assert_not_null(leaf);
	snprintf(cert, len, "%s/impostor.pem", vixd.dir);
	snprintf(key, len, "%s/impostor.key", vixd.dir);
	cr_assert_eq(devcert_write_cert(cert, leaf), 0);
	cr_assert_eq(devcert_write_key(key, leaf_key), 0);
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
}

Test(admin, healthz_and_readyz)
{
	cr_assert_str_eq(get("/healthz", 200), "ok\n");
	cr_assert_str_eq(get("/readyz", 200), "ready\n");
}

Test(admin, unknown_paths_are_not_found)
{
	get("/", 404);
	get("/metricsx", 404);
	get("/v1/secrets", 404);
}

Test(admin, status_has_counts_and_no_secrets)
{
	static const char *const keys[] = { "\"uptime_seconds\":",
	    "\"connections\":", "\"subscribers\":", "\"archived\":",
	    "\"listen\":\"127.0.0.1:", "\"admin_listen\":\"", "\"workers\":",
	    "\"max_frame\":", "\"max_signal_days\":", "\"escalate_after\":",
	    "\"data_dir\":\"", "\"orgs\":4", "\"quota_percent\":90,",
	    "\"max_inflight\":256,", "\"rate_limit\":100,",
	    "\"max_new_signals_per_day\":2000,",
	    "\"queue_max\":10000," };
	char path[PATH_MAX], hex[2 * 64 + 1] = "", *body;
	unsigned char key[64];
	size_t n;
	FILE *fp;

	register_youth("org-a", BSN, 0);
	body = get("/v1/status", 200);
	cr_assert_not_null(strstr(body, "\"version\":\"" VIX_EXPECTED_VERSION
	    "\""), "%s", harness_redact(body));
	cr_assert_not_null(strstr(body, "\"counts\":{\"signals\":1,"
	    "\"matches\":0,"), "%s", harness_redact(body));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_assert_not_null(strstr(body, keys[i]), "%s: %s", keys[i],
		    harness_redact(body));
	cr_assert_null(strstr(body, "pseudonym"), "%s", harness_redact(body));
	cr_assert_null(strstr(body, ".key"), "%s", harness_redact(body));

	/* Neither the key's bytes nor their hex. */
	fp = fopen(harness_dev_file(&vixd, "pseudonym.key", path,
	    sizeof(path)), "rb");
	cr_assert_not_null(fp);
	n = fread(key, 1, sizeof(key), fp);
	fclose(fp);
	cr_assert_geq(n, 16);
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	cr_assert_null(memmem(body, strlen(body), key, 8));
	hex[16] = '\0';
	cr_assert_null(strcasestr(body, hex));
}

Test(admin, metrics_count_what_clients_did)
{
	struct run_result r;
	char *body;

	register_youth("org-a", BSN, 0);
	register_youth("org-b", BSN, 0);
	register_youth("org-a", BSN_BAD, 1);
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "ping", NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	connect_without_certificate();

	body = await("vix_tls_handshake_failures_total"
	    "{reason=\"no_certificate\"}", 1);
	cr_assert_eq(value(body, "vix_signals_active"), 2);
	cr_assert_eq(value(body, "vix_matches_active"), 1);
	cr_assert_eq(value(body, "vix_matches_uncoordinated"), 1);
	cr_assert_eq(value(body, "vix_requests_total{type=\"register\","
	    "code=\"OK\"}"), 2, "%s", harness_redact(body));
	cr_assert_eq(value(body, "vix_requests_total{type=\"register\","
	    "code=\"INVALID_ARGUMENT\"}"), 1, "%s", harness_redact(body));
	cr_assert_eq(value(body, "vix_requests_total{type=\"ping\","
	    "code=\"OK\"}"), 1);
	cr_assert_eq(value(body, "vix_request_duration_seconds_count"
	    "{type=\"register\"}"), 3);
	cr_assert_eq(value(body, "vix_request_duration_seconds_bucket"
	    "{type=\"register\",le=\"+Inf\"}"), 3);
	cr_assert_eq(value(body, "vix_tls_handshake_failures_total"
	    "{reason=\"unknown_ca\"}"), 0);
	cr_assert_eq(value(body, "vix_build_info{version=\""
	    VIX_EXPECTED_VERSION "\"}"), 1);
	cr_assert_geq(value(body, "vix_notifications_pending"
	    "{recipient=\"org-a\"}"), 1);
	cr_assert_geq(value(body, "vix_lmdb_map_used_bytes"), 4096);
	cr_assert_gt(value(body, "vix_lmdb_map_size_bytes"),
	    value(body, "vix_lmdb_map_used_bytes"));
}

Test(admin, handshake_failures_by_reason)
{
	char cert[PATH_MAX], key[PATH_MAX];
	char *body;

	connect_without_certificate();
	make_foreign_cert(cert, key, sizeof(cert));
	connect_refused(cert, key);
	harness_make_client_cert(&vixd, "nooin", NULL);
	connect_refused(harness_dev_file(&vixd, "nooin.pem", cert,
	    sizeof(cert)), harness_dev_file(&vixd, "nooin.key", key,
	    sizeof(key)));
	harness_make_client_cert(&vixd, "stranger", "00000009990000000099");
	connect_refused(harness_dev_file(&vixd, "stranger.pem", cert,
	    sizeof(cert)), harness_dev_file(&vixd, "stranger.key", key,
	    sizeof(key)));
	body = await("vix_tls_handshake_failures_total"
	    "{reason=\"unknown_organisation\"}", 1);
	body = await("vix_tls_handshake_failures_total"
	    "{reason=\"unknown_ca\"}", 1);
	cr_assert_eq(value(body, "vix_tls_handshake_failures_total"
	    "{reason=\"no_certificate\"}"), 1, "%s", harness_redact(body));
	cr_assert_eq(value(body, "vix_tls_handshake_failures_total"
	    "{reason=\"no_oin\"}"), 1, "%s", harness_redact(body));
	cr_assert_eq(value(body, "vix_tls_handshake_failures_total"
	    "{reason=\"other\"}"), 0, "%s", harness_redact(body));
	/* The refusals are no requests. */
	cr_assert_eq(value(body, "vix_requests_total{type=\"ping\","
	    "code=\"OK\"}"), 0, "%s", harness_redact(body));
}

Test(admin, commit_histograms)
{
	char *body;

	register_youth("org-a", BSN, 0);
	body = get("/metrics", 200);
	cr_assert_not_null(strstr(body, "# TYPE vix_commit_batch_size "
	    "histogram\n"));
	cr_assert_not_null(strstr(body, "# TYPE vix_commit_duration_seconds "
	    "histogram\n"));
	cr_assert_geq(value(body, "vix_commit_batch_size_bucket{le=\"+Inf\"}"),
	    1);
	cr_assert_eq(value(body, "vix_commit_batch_size_bucket{le=\"+Inf\"}"),
	    value(body, "vix_commit_batch_size_count"));
	cr_assert_geq(value(body, "vix_commit_batch_size_sum"), 1);
	cr_assert_geq(value(body, "vix_commit_duration_seconds_count"), 1);
	cr_assert_not_null(strstr(body, "\nvix_commit_duration_seconds_sum "));
	cr_assert_not_null(strstr(body, "\nvix_commit_duration_seconds_bucket"
	    "{le=\"0.0001\"} "));
	/* Where the registration waited: for its batch, for its answer. */
	cr_assert_not_null(strstr(body, "# TYPE vix_commit_queue_wait_seconds "
	    "histogram\n"));
	cr_assert_geq(value(body, "vix_commit_queue_wait_seconds_count"), 1);
	cr_assert_not_null(strstr(body, "# TYPE vix_commit_answer_wait_seconds "
	    "histogram\n"));
	cr_assert_geq(value(body, "vix_commit_answer_wait_seconds_count"), 1);
	cr_assert_not_null(strstr(body, "# TYPE "
	    "vix_commit_publish_wait_seconds histogram\n"));
}

Test(admin, subscribers_are_counted_while_connected)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__ServerMessage *m;
	char cert[PATH_MAX], key[PATH_MAX], why[256];
	int end;
	SSL *ssl;

	ssl = harness_tls_connect(&vixd, harness_dev_file(&vixd, "org-a.pem",
	    cert, sizeof(cert)), harness_dev_file(&vixd, "org-a.key", key,
	    sizeof(key)), why, sizeof(why));
	cr_assert_not_null(ssl, "%s", why);
	req.id = 1;
	req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	harness_send_request(ssl, &req);
	m = harness_recv(ssl, &end);
	cr_assert_not_null(m);
	cr_assert_eq(m->response->status->code, VIX__V1__STATUS__CODE__OK);
	vix__v1__server_message__free_unpacked(m, NULL);
	await("vix_subscribers_connected", 1);
	await("vix_requests_total{type=\"subscribe\",code=\"OK\"}", 1);
	harness_tls_close(ssl);
	await("vix_subscribers_connected", 0);
}

Test(admin, promtool_finds_nothing_to_report)
{
	char file[PATH_MAX], cmd[PATH_MAX + 64], *body;
	struct run_result r;
	FILE *fp;

	cr_assert_eq(system("command -v promtool >/dev/null"), 0,
	    "promtool not found (Debian package prometheus)");
	register_youth("org-a", BSN, 0);
	register_youth("org-b", BSN, 0);
	register_youth("org-b", BSN_BAD, 1);
	connect_without_certificate();
	body = await("vix_tls_handshake_failures_total"
	    "{reason=\"no_certificate\"}", 1);
	snprintf(file, sizeof(file), "%s/metrics.txt", vixd.dir);
	cr_assert_not_null(fp = fopen(file, "w"));
	fputs(body, fp);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s'", file);
	harness_run(&r, (const char *[]){ "/bin/sh", "-c", cmd, NULL });
	cr_assert_eq(r.status, 0, "promtool: exit %d: %s%s", r.status,
	    harness_redact(r.out), harness_redact(r.err));
	cr_assert_str_empty(r.out, "%s", harness_redact(r.out));
	cr_assert_str_empty(r.err, "%s", harness_redact(r.err));
}

/* conf/NAME in the source tree. */
static void
conf_file(char *out, size_t len, const char *name)
{
	const char *root = getenv("VIX_SOURCE_ROOT");

	cr_assert_not_null(root, "VIX_SOURCE_ROOT must be set (run through "
	    "meson test)");
	snprintf(out, len, "%s/conf/%s", root, name);
}

/*
 * The alert rules load, and their unit tests (synthetic series: each
 * alert fires where it should and stays quiet beside) pass.
 */
Test(admin, alert_rules_pass_promtool)
{
	char rules[PATH_MAX], tests[PATH_MAX], cmd[2 * PATH_MAX + 64];
	struct run_result r;

	conf_file(rules, sizeof(rules), "prometheus/vix-alerts.yml");
	conf_file(tests, sizeof(tests), "prometheus/vix-alerts.test.yml");
	snprintf(cmd, sizeof(cmd), "promtool check rules '%s'", rules);
	harness_run(&r, (const char *[]){ "/bin/sh", "-c", cmd, NULL });
	cr_assert_eq(r.status, 0, "promtool check rules: %s%s", r.out, r.err);
	snprintf(cmd, sizeof(cmd), "promtool test rules '%s'", tests);
	harness_run(&r, (const char *[]){ "/bin/sh", "-c", cmd, NULL });
	cr_assert_eq(r.status, 0, "promtool test rules: %s%s", r.out, r.err);
	cr_assert_not_null(strstr(r.out, "SUCCESS"), "%s", r.out);
}

/*
 * Every vix_ metric the file reads is one vixd serves (a histogram's
 * _bucket, _sum and _count by its family): an alert or a panel on a
 * renamed metric would stay silent. At least min names.
 */
static void
served_names_only(const char *path, size_t min)
{
	static char file[262144];
	char name[128], family[160];
	const char *body, *p;
	size_t n, checked = 0;
	FILE *fp;

	cr_assert_not_null(fp = fopen(path, "r"), "%s: %s", path,
	    strerror(errno));
	n = fread(file, 1, sizeof(file) - 1, fp);
	cr_assert(feof(fp), "%s is larger than the test's buffer", path);
	fclose(fp);
	file[n] = '\0';
	body = get("/metrics", 200);
	for (p = strstr(file, "vix_"); p != NULL; p = strstr(p, "vix_")) {
		/* Only a name's start: not the vix_ inside another word. */
		if (p > file && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) {
			p += 4;
			continue;
		}
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
		cr_assert_lt(n, sizeof(name));
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		snprintf(family, sizeof(family), "# TYPE %s ", name);
		if (strstr(body, family) == NULL) {
			for (const char *suffix = "_bucket\0_count\0_sum\0";
			    *suffix != '\0'; suffix += strlen(suffix) + 1)
				if (n > strlen(suffix) && strcmp(name + n -
				    strlen(suffix), suffix) == 0) {
					snprintf(family, sizeof(family),
					    "# TYPE %.*s histogram", (int)(n -
					    strlen(suffix)), name);
					break;
				}
		}
		cr_assert_not_null(strstr(body, family), "%s reads %s, which "
		    "vixd does not serve (looked for \"%s\")", path, name,
		    family);
		checked++;
	}
	cr_assert_geq(checked, min, "only %zu metric names found in %s",
	    checked, path);
}

Test(admin, alert_rules_name_only_metrics_vixd_serves)
{
	char path[PATH_MAX];

	conf_file(path, sizeof(path), "prometheus/vix-alerts.yml");
	served_names_only(path, 16);
}

/*
 * The Grafana dashboard is JSON (checked by Python's parser, which meson
 * brings) and queries only what vixd serves.
 */
Test(admin, dashboard_is_json_and_queries_served_metrics)
{
	char path[PATH_MAX], cmd[PATH_MAX + 128];
	struct run_result r;

	conf_file(path, sizeof(path), "grafana/vix-dashboard.json");
	snprintf(cmd, sizeof(cmd), "python3 -c 'import json, sys; "
	    "d = json.load(open(sys.argv[1])); print(len(d[\"panels\"]))' "
	    "'%s'", path);
	harness_run(&r, (const char *[]){ "/bin/sh", "-c", cmd, NULL });
	cr_assert_eq(r.status, 0, "%s is not valid JSON: %s", path, r.err);
	cr_assert_geq(atoi(r.out), 10, "%s: %s panels", path, r.out);
	served_names_only(path, 25);
}

/* vixctl --json status's answer, in text. */
static void
vixctl_status(struct run_result *r)
{
	char sock[PATH_MAX];
	const char *argv[] = { getenv("VIXCTL"), "-s", harness_dev_file(&vixd,
	    "control.sock", sock, sizeof(sock)), "--json", "status", NULL };

	cr_assert_not_null(argv[0], "VIXCTL must be set (run through meson "
	    "test)");
	harness_run(r, argv);
	cr_assert_eq(r->status, 0, "vixctl status: %s", harness_redact(r->err));
}

/* The number after key in json, or -1. */
static long long
json_count(const char *json, const char *key)
{
	const char *at = strstr(json, key);

	return at ? strtoll(at + strlen(key), NULL, 10) : -1;
}

/*
 * /metrics, /v1/status and vixctl status show one status snapshot: the
 * store is read again only after a commit (vix_status_refreshes_total
 * stays put between scrapes with no write in between), and a write
 * acknowledged before a scrape is in it.
 */
Test(admin, one_status_snapshot_read_again_only_after_a_commit)
{
	long long refreshes = -1, batches, signals;
	struct run_result r;
	char *body;
	int same = 0;

	register_youth("org-a", BSN, 0);
	for (int i = 0; i < 20 && !same; i++) {
		body = get("/metrics", 200);
		refreshes = value(body, "vix_status_refreshes_total");
		batches = value(body, "vix_commit_batches_total");
		signals = value(body, "vix_signals_active");
		cr_assert_gt(refreshes, 0, "%s", harness_redact(body));
		cr_assert_eq(signals, 1);
		body = get("/v1/status", 200);
		cr_assert_eq(json_count(body, "\"counts\":{\"signals\":"),
		    signals, "%s", harness_redact(body));
		vixctl_status(&r);
		cr_assert_eq(json_count(r.out, "\"signals\":"), signals, "%s",
		    harness_redact(r.out));
		body = get("/metrics", 200);
		/* A sweep may have committed meanwhile: then try again. */
		same = value(body, "vix_commit_batches_total") == batches;
		if (same)
			cr_assert_eq(value(body, "vix_status_refreshes_total"),
			    refreshes, "read again with nothing committed: %s",
			    harness_redact(body));
	}
	cr_assert(same, "a commit between every two scrapes");
	cr_assert_geq(value(body, "vix_status_store_age_seconds"), 0);

	register_youth("org-b", BSN, 0);
	body = get("/metrics", 200);
	cr_assert_gt(value(body, "vix_status_refreshes_total"), refreshes);
	cr_assert_eq(value(body, "vix_signals_active"), 2, "the write "
	    "acknowledged before the scrape is in it");
	vixctl_status(&r);
	cr_assert_eq(json_count(r.out, "\"signals\":"), 2);
}
