/*
 * The admin HTTP listener against a real vixd: health, readiness, status
 * without secrets, and /metrics counting what clients did, in a form
 * `promtool check metrics` accepts without a word; the status page's
 * plots after some load, and /v1/report as vixctl report gives it.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	get("/index.html", 404);
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

/* ---- the status page and /v1/report ---------------------------------- */

/* Restart with a sample every second, so the plots fill within the test. */
static void
restart_sampling_every_second(void)
{
	const char *conf = harness_write_file(&vixd, "vixd.conf",
	    "[server]\nstatus_interval = 1\n");

	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
}

/*
 * The value in the row named row of the figure captioned caption; -1 when
 * it has none yet.
 */
static double
figure_cell(const char *page, const char *caption, const char *row, int col)
{
	char pat[256];
	const char *fig, *at;

	snprintf(pat, sizeof(pat), "<figcaption>%s</figcaption>", caption);
	cr_assert_not_null(fig = strstr(page, pat), "no figure %s", caption);
	snprintf(pat, sizeof(pat), "<tr><th scope=\"row\">%s</th><td>", row);
	/* A plot with no sample yet has no table: nothing to read yet. */
	if ((at = strstr(fig, pat)) == NULL)
		return -1;
	at += strlen(pat);
	if (col == 1)
		at = strstr(at, "<td>") + 4;
	return strncmp(at, "no data", 7) == 0 ? -1 : strtod(at, NULL);
}

Test(admin, status_page_plots_the_load)
{
	char bsn[8][16], *page = NULL, *html;
	double peak = -1;

	cr_assert_eq(harness_load_bsns(bsn, 6), 6);
	restart_sampling_every_second();
	for (int i = 0; i < 6; i++) {
		register_youth("org-a", bsn[i], 0);
		register_youth("org-b", bsn[i], 0);
	}
	/* Two readings make a sample: at most 10 s for one with the load. */
	for (int i = 0; i < 100 && peak <= 0; i++) {
		page = get("/", 200);
		peak = figure_cell(page, "Registrations and requests per second",
		    "registrations (OK)", 1);
		if (peak <= 0)
			usleep(100000);
	}
	cr_assert_gt(peak, 0, "no registration plotted:\n%s", page);
	cr_assert_leq(peak, 12, "12 registrations in all, at most 12/s");
	cr_assert_not_null(strstr(text, "\r\nContent-Type: text/html; "
	    "charset=utf-8\r\n"));
	cr_assert_not_null(strstr(text, "\r\nContent-Security-Policy: "
	    "default-src 'none'; style-src 'unsafe-inline';"));
	cr_assert_not_null(strstr(text, "\r\nX-Content-Type-Options: "
	    "nosniff\r\n"));
	html = page;
	cr_assert_not_null(strstr(html, "<html lang=\"en\">"));
	cr_assert_not_null(strstr(html, "<title>vix status</title>"));
	cr_assert_null(strstr(html, "<script"), "no script");
	cr_assert_null(strstr(html, " src="), "nothing from elsewhere");
	cr_assert_null(strstr(html, "<link"), "nothing from elsewhere");
	for (const char *const *id = (const char *[]){ "health", "store",
	    "plots", NULL }; *id != NULL; id++) {
		char pat[64];

		snprintf(pat, sizeof(pat), "<section id=\"%s\"", *id);
		cr_assert_not_null(strstr(html, pat), "%s", pat);
	}
	cr_assert_eq(harness_count(html, "<figure class=\"vix-plot\""), 5);
	cr_assert_eq(harness_count(html, "<figcaption>"), 5);
	cr_assert_eq(harness_count(html, "role=\"img\""), 5);
	cr_assert_eq(harness_count(html, "<title>"), 1 + 5, "the page's, and "
	    "one in each plot");
	cr_assert_not_null(strstr(html, "Signals active</th><td>12</td>"),
	    "%s", html);
	cr_assert_not_null(strstr(html, "Matches open</th><td>6 (6 not "
	    "coordinated)</td>"), "%s", html);
	cr_assert_not_null(strstr(html, "Readiness</th><td class=\"good\">"
	    "ready</td>"));
	/* Each registration was answered, so its latency was plotted. */
	cr_assert_gt(figure_cell(html, "Request latency (decoded to answered)",
	    "p99", 1), 0);
	for (int i = 0; i < 6; i++)
		cr_assert_null(strstr(html, bsn[i]), "no BSN on the page");
}

/* Months around now as the report takes them (40 days either side). */
static void
report_range(char *from, char *to, size_t len)
{
	time_t now = time(NULL), t0 = now - 40 * 86400, t1 = now + 40 * 86400;
	struct tm tm;

	localtime_r(&t0, &tm);
	strftime(from, len, "%Y-%m", &tm);
	localtime_r(&t1, &tm);
	strftime(to, len, "%Y-%m", &tm);
}

Test(admin, report_is_what_vixctl_report_gives)
{
	char bsn[8][16], from[8], to[8], path[128];
	struct run_result r;
	char *body;

	cr_assert_eq(harness_load_bsns(bsn, 6), 6);
	for (int i = 0; i < 6; i++) {
		register_youth("org-a", bsn[i], 0);
		register_youth("org-b", bsn[i], 0);
	}
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "withdraw", "--bsn",
	    bsn[0], "--reason", "unjustified", NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	report_range(from, to, sizeof(from));

	snprintf(path, sizeof(path), "/v1/report?municipality=none&from=%s"
	    "&to=%s", from, to);
	body = get(path, 200);
	cr_assert_not_null(strstr(text, "\r\nContent-Type: application/json"
	    "\r\n"));
	harness_vixctl(&r, &vixd, (const char *[]){ "--json", "report",
	    "--municipality", "none", "--from", from, "--to", to, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(body, r.out);
	/* 12 registered, 6 matches shown; the one withdrawal is hidden. */
	cr_assert_not_null(strstr(body, "\"registered\":12,"
	    "\"withdrawn_unjustified\":\"< 5\",\"withdrawn_risk_resolved\""
	    ":0,\"matches\":6,"), "%s", body);

	snprintf(path, sizeof(path), "/v1/report?from=%s&to=%s&format=csv&"
	    "municipality=none", from, to);
	body = get(path, 200);
	cr_assert_not_null(strstr(text, "\r\nContent-Type: text/csv"));
	harness_vixctl(&r, &vixd, (const char *[]){ "report", "--csv",
	    "--municipality", "none", "--from", from, "--to", to, NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(body, r.out);
	cr_assert_not_null(strstr(body, ",\"all\",12,\"< 5\",0,6,0,"), "%s",
	    body);
	cr_assert_eq(strncmp(body, "month,type,registered,", 22), 0, "%s",
	    body);
}

/* GET path answers 400 naming what, and never repeats the value. */
static void
bad_report(const char *query, const char *what)
{
	char path[256], *body;

	snprintf(path, sizeof(path), "/v1/report?%s", query);
	body = get(path, 400);
	cr_assert_not_null(strstr(body, what), "%s: %s", query, body);
	cr_assert_null(strstr(body, BSN), "%s: %s", query, body);
}

Test(admin, report_refuses_bad_parameters)
{
	bad_report("municipality=036&from=2026-01&to=2026-02",
	    "parameter municipality:");
	bad_report("municipality=" BSN "&from=2026-01&to=2026-02",
	    "parameter municipality:");
	bad_report("municipality=0363&from=2026-13&to=2026-02",
	    "parameter from:");
	bad_report("municipality=0363&from=2026-01&to=" BSN, "parameter to:");
	bad_report("municipality=0363&from=2026-03&to=2026-02",
	    "parameter to: no earlier than from");
	bad_report("municipality=0363&from=2010-01&to=2026-02",
	    "at most 120 months");
	bad_report("municipality=0363&from=2026-01", "parameter to: required");
	bad_report("municipality=0363&from=2026-01&to=2026-02&format=xml",
	    "parameter format: json or csv");
	bad_report("municipality=0363&from=2026-01&to=2026-02&from=2026-01",
	    "parameter from: given twice");
	bad_report("municipality=0363&from=2026-01&to=2026-02&bsn=" BSN,
	    "unknown query parameter");
	bad_report("", "parameter municipality: required");
}
