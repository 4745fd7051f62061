/*
 * The notification commands of the vix CLI against the real daemon:
 * `vix subscribe --json` prints and acks, `vix listen` receives push mode,
 * `vix coordinate` changes the coordinator; and what `vix register` and
 * `vix list` say about durations, limits and pages. No BSN is ever printed.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "devcert.h"
#include "frame.h"
#include "harness.h"

#define BSN	"999990019"	/* a synthetic test number */

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

TestSuite(cli_notify, .init = start, .fini = stop, .timeout = 120);

static void
vix_ok(struct run_result *r, const char *org, const char *const *args)
{
	harness_vix(r, &vixd, org, args);
	cr_assert_eq(r->status, 0, "vix as %s: %s", org,
	    harness_redact(r->err));
}

static void
register_youth(const char *org, const char *contact, const char *ref)
{
	struct run_result r;

	vix_ok(&r, org, (const char *[]){ "register", "--bsn", BSN,
	    "--birth-date", "2015-03-01", "--contact-name", contact,
	    "--contact-phone", "0501234567", "--ref", ref, NULL });
}

/* vix as org in the background with args, stdout to out. */
static pid_t
vix_bg(const char *org, const char *const *args, const char *out)
{
	const char *argv[24];
	size_t n = 0;

	argv[n++] = getenv("VIX");
	argv[n++] = "--dev-dir";
	argv[n++] = vixd.dev_dir;
	argv[n++] = "--dev";
	argv[n++] = org;
	argv[n++] = "--server";
	argv[n++] = vixd.addr;
	for (; *args != NULL && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	return harness_spawn_bg(argv, out);
}

static int
stop_bg(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}


Test(cli_notify, subscriber_prints_match_created_and_acks)
{
	char out[PATH_MAX], text[65536];
	struct run_result r;
	pid_t sub;

	snprintf(out, sizeof(out), "%s/sub.out", vixd.dir);
	sub = vix_bg("org-b", (const char *[]){ "--json", "subscribe", NULL },
	    out);
	usleep(300000);	/* subscribed before the match happens */
	register_youth("org-a", "J. Jansen", "dossier-a");
	register_youth("org-b", "P. de Vries", "dossier-b");
	cr_assert(harness_wait_for_text(out, "MATCH_CREATED", 10000),
	    "the subscriber printed no MATCH_CREATED");
	cr_assert_eq(stop_bg(sub), 0, "SIGTERM ends subscribe with 0");
	harness_read_text(out, text, sizeof(text));
	cr_assert_null(strstr(text, BSN), "no BSN in the output");
	cr_assert_not_null(strstr(text, "\"type\":\"MATCH_CREATED\""), "%s",
	    text);
	cr_assert_not_null(strstr(text, "\"recipient\":\"org-b\""), "%s", text);
	cr_assert_not_null(strstr(text, "\"client_ref\":\"dossier-b\""), "%s",
	    text);
	cr_assert_not_null(strstr(text, "\"org_id\":\"org-a\""), "%s", text);
	cr_assert_not_null(strstr(text, "\"name\":\"J. Jansen\""), "%s", text);
	cr_assert_eq(harness_count(text, "\n"), 1, "one line: %s", text);

	/* It acked after printing: a new subscriber gets nothing old. */
	sub = vix_bg("org-b", (const char *[]){ "--json", "subscribe", NULL },
	    out);
	vix_ok(&r, "org-a", (const char *[]){ "withdraw", "--bsn", BSN,
	    "--reason", "unjustified", NULL });
	cr_assert(harness_wait_for_text(out, "MATCH_CLOSED", 10000));
	cr_assert_eq(stop_bg(sub), 0);
	harness_read_text(out, text, sizeof(text));
	cr_assert_null(strstr(text, "MATCH_CREATED"), "acked, not repeated: %s",
	    text);
}

Test(cli_notify, partner_subscription_is_limited_to_delegation)
{
	struct run_result r;

	harness_vix(&r, &vixd, "partner", (const char *[]){ "subscribe",
	    "--for", "admin", NULL });
	cr_assert_eq(r.status, 1, "refused by the server: %s", r.err);
	cr_assert_not_null(strstr(r.err, "PERMISSION_DENIED"), "%s", r.err);
}

Test(cli_notify, coordinate_claims_the_match)
{
	char match[32];
	const char *at;
	struct run_result r;

	register_youth("org-a", "A", "ra");
	harness_vix(&r, &vixd, "org-b", (const char *[]){ "--json", "register",
	    "--bsn", BSN, "--birth-date", "2015-03-01", "--contact-name", "B",
	    "--contact-phone", "0501234567", NULL });
	cr_assert_eq(r.status, 0);
	cr_assert_not_null(at = strstr(r.out, "\"match_id\":"));
	snprintf(match, sizeof(match), "%llu",
	    strtoull(at + 11, NULL, 10));
	harness_vix(&r, &vixd, "org-b", (const char *[]){ "--json",
	    "coordinate", "--match", match, "--claim", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "\"coordinator\":\"org-b\""), "%s",
	    r.out);
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "coordinate",
	    "--match", match, "--release", NULL });
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "FAILED_PRECONDITION"), "%s", r.err);
}

static uint16_t
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	close(fd);
	return ntohs(sin.sin_port);
}

/* Point the dev partner's push at 127.0.0.1:port (takes a restart). */
static void
push_partner_to(const char *port)
{
	char orgs[PATH_MAX];
	FILE *fp;

	harness_dev_file(&vixd, "orgs.conf", orgs, sizeof(orgs));
	{
		char conf[8192];
		size_t n;

		cr_assert_not_null(fp = fopen(orgs, "r"));
		n = fread(conf, 1, sizeof(conf) - 1, fp);
		conf[n] = '\0';
		fclose(fp);
		cr_assert_not_null(fp = fopen(orgs, "w"));
		for (char *line = strtok(conf, "\n"); line != NULL;
		    line = strtok(NULL, "\n")) {
			fprintf(fp, "%s\n", line);
			if (strncmp(line, "receives_for = org-a, org-b", 27) == 0)
				fprintf(fp, "push = 127.0.0.1:%s\n", port);
		}
		fclose(fp);
	}
}

Test(cli_notify, listen_receives_push_mode)
{
	char out[PATH_MAX], port[8], text[65536];
	pid_t l;

	snprintf(port, sizeof(port), "%u", free_port());
	snprintf(out, sizeof(out), "%s/listen.out", vixd.dir);
	/* With --dev, vixd is the dev server certificate's localhost. */
	l = vix_bg("partner", (const char *[]){ "--json", "listen", "--port",
	    port, NULL }, out);
	push_partner_to(port);
	harness_restart(&vixd);
	register_youth("org-a", "A", "ref-a");
	register_youth("org-b", "B", "ref-b");
	cr_assert(harness_wait_for_text(out, "\"recipient\":\"org-b\"", 15000),
	    "vix listen received nothing");
	cr_assert_eq(stop_bg(l), 0);
	harness_read_text(out, text, sizeof(text));
	cr_assert_null(strstr(text, BSN));
	cr_assert_not_null(strstr(text, "\"type\":\"MATCH_CREATED\""), "%s",
	    text);
	cr_assert_not_null(strstr(text, "\"recipient\":\"org-a\""), "%s", text);
}

/* Wait (at most 5 s) until something listens on 127.0.0.1:port. */
static void
wait_listening(const char *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, ok = 0;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)atoi(port));
	for (int i = 0; i < 100 && !ok; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(fd);
		if (!ok)
			usleep(50000);
	}
	cr_assert(ok, "vix listen did not listen on port %s", port);
	usleep(300000);	/* past the pause after that empty connection */
}

/*
 * Connect to a listener on port with org's certificate (from the same dev
 * CA as vixd's) and push a forged MATCH_CREATED. Returns whether anything
 * came back (an ack: it was taken for vixd).
 */
static int
forge_notification(const char *port, const char *org)
{
	Vix__V1__ServerMessage m = VIX__V1__SERVER_MESSAGE__INIT;
	Vix__V1__Notification n = VIX__V1__NOTIFICATION__INIT;
	struct vixd_proc peer = vixd;
	char cert[PATH_MAX], key[PATH_MAX], file[64], why[256];
	uint8_t buf[512], back[64];
	size_t len;
	SSL *ssl;
	int got;

	snprintf(peer.addr, sizeof(peer.addr), "127.0.0.1:%s", port);
	snprintf(file, sizeof(file), "%s.pem", org);
	harness_dev_file(&vixd, file, cert, sizeof(cert));
	snprintf(file, sizeof(file), "%s.key", org);
	harness_dev_file(&vixd, file, key, sizeof(key));
	n.seq = 1;
	n.recipient = (char *)"org-a";
	n.type = VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED;
	n.match_id = 4242;
	m.msg_case = VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION;
	m.notification = &n;
	if ((ssl = harness_tls_connect(&peer, cert, key, why, sizeof(why))) ==
	    NULL)
		return 0;
	cr_assert_leq(frame_packed_size(&m.base), sizeof(buf));
	len = frame_pack(&m.base, buf);
	signal(SIGPIPE, SIG_IGN);	/* the listener may have hung up */
	(void)SSL_write(ssl, buf, (int)len);
	got = SSL_read(ssl, back, sizeof(back));
	harness_tls_close(ssl);
	return got > 0;
}

/* The SHA-256 fingerprint of the dev server certificate, as openssl shows it. */
static void
server_fingerprint(char *hex, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char path[PATH_MAX];
	unsigned int n = 0;
	X509 *x;
	FILE *fp;

	cr_assert_not_null(fp = fopen(harness_dev_file(&vixd, "server.pem",
	    path, sizeof(path)), "r"));
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	cr_assert_not_null(x);
	cr_assert_eq(X509_digest(x, EVP_sha256(), md, &n), 1);
	cr_assert_eq(n, 32);
	cr_assert_geq(len, 3 * n);
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 3 * i, len - 3 * i, "%02X%s", md[i],
		    i + 1 < n ? ":" : "");
	X509_free(x);
}

/*
 * vix listen takes notifications from vixd only: without a way to tell
 * vixd it does not start; a certificate of an organisation from the same
 * CA is refused (--dev default, and --peer-sha256), nothing printed or
 * acknowledged; vixd itself still delivers to the pinned listener.
 */
Test(cli_notify, listen_accepts_only_vixd)
{
	char out[PATH_MAX], out2[PATH_MAX], port[8], port2[8], pin[128];
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], text[65536];
	struct run_result r;
	pid_t l, l2;

	snprintf(port, sizeof(port), "%u", free_port());
	harness_run(&r, (const char *[]){ "/usr/bin/timeout", "10",
	    getenv("VIX"), "--cert", harness_dev_file(&vixd,
	    "partner-listen.pem", cert, sizeof(cert)), "--key",
	    harness_dev_file(&vixd, "partner-listen.key", key, sizeof(key)),
	    "--ca", harness_dev_file(&vixd, "ca.pem", ca, sizeof(ca)),
	    "listen", "--port", port, NULL });
	cr_assert_eq(r.status, 2, "exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, "say which vixd may connect"), "%s",
	    r.err);

	server_fingerprint(pin, sizeof(pin));
	snprintf(out, sizeof(out), "%s/pinned.out", vixd.dir);
	l = vix_bg("partner", (const char *[]){ "--json", "listen", "--port",
	    port, "--peer-sha256", pin, NULL }, out);
	snprintf(port2, sizeof(port2), "%u", free_port());
	snprintf(out2, sizeof(out2), "%s/dev.out", vixd.dir);
	l2 = vix_bg("partner", (const char *[]){ "--json", "listen", "--port",
	    port2, NULL }, out2);
	wait_listening(port);
	wait_listening(port2);
	cr_assert(!forge_notification(port, "org-a"), "pinned listener took "
	    "org-a's certificate for vixd's");
	cr_assert(!forge_notification(port2, "org-a"), "--dev listener took "
	    "org-a's certificate for vixd's");
	cr_assert(!forge_notification(port2, "partner"), "--dev listener took "
	    "the partner's own client certificate for vixd's");
	cr_assert_eq(stop_bg(l2), 0);
	harness_read_text(out2, text, sizeof(text));
	cr_assert_eq(text[0], '\0', "printed a forged notification: %s", text);

	push_partner_to(port);
	harness_restart(&vixd);
	register_youth("org-a", "A", "ref-a");
	register_youth("org-b", "B", "ref-b");
	cr_assert(harness_wait_for_text(out, "\"recipient\":\"org-b\"", 15000),
	    "the pinned listener received nothing from vixd");
	cr_assert_eq(stop_bg(l), 0);
	harness_read_text(out, text, sizeof(text));
	cr_assert_null(strstr(text, "4242"), "forged notification printed: %s",
	    text);
	cr_assert_not_null(strstr(text, "\"type\":\"MATCH_CREATED\""), "%s",
	    text);
}

static void *
dev_pem(const char *file, int key)
{
	char path[PATH_MAX];
	void *obj;
	FILE *fp;

	cr_assert_not_null(fp = fopen(harness_dev_file(&vixd, file, path,
	    sizeof(path)), "r"), "%s", path);
	obj = key ? (void *)PEM_read_PrivateKey(fp, NULL, NULL, NULL) :
	    (void *)PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	cr_assert_not_null(obj, "%s", file);
	return obj;
}

/*
 * A dev folder from before, whose org-a.pem was good for both ends and
 * named localhost (so it passed for vixd at a partner's listener): vixd
 * --dev issues org-a a client-only certificate, which then serves and no
 * longer passes for vixd.
 */
Test(cli_notify, old_style_dev_client_certificate_is_reissued)
{
	char path[PATH_MAX], port[8], out[PATH_MAX];
	X509 *ca = dev_pem("ca.pem", 0), *x;
	EVP_PKEY *ca_key = dev_pem("ca.key", 1), *k = dev_pem("org-a.key", 1);
	struct run_result r;
	pid_t l;

	x = devcert_leaf(k, "org-a", "00000009990000000001", DEVCERT_SERVER,
	    ca, ca_key, 300);
	harness_dev_file(&vixd, "org-a.pem", path, sizeof(path));
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(devcert_write_cert(path, x), 0);
	X509_free(x);
	harness_restart(&vixd);
	x = dev_pem("org-a.pem", 0);
	cr_assert_eq(X509_get_extended_key_usage(x), XKU_SSL_CLIENT,
	    "org-a.pem was not issued anew for clients only");
	X509_free(x);
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "ping", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);

	snprintf(port, sizeof(port), "%u", free_port());
	snprintf(out, sizeof(out), "%s/listen.out", vixd.dir);
	l = vix_bg("partner", (const char *[]){ "listen", "--port", port,
	    NULL }, out);
	wait_listening(port);
	cr_assert(!forge_notification(port, "org-a"));
	cr_assert_eq(stop_bg(l), 0);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(k);
}

/* vix as org, with a BSN on standard input; output redacted. */
static void
vix_bsn(struct run_result *r, const char *org, const char *bsn,
    const char *const *args)
{
	char input[24];

	snprintf(input, sizeof(input), "%.15s\n", bsn);
	harness_vix_stdin(r, &vixd, org, args, input);
	harness_redact(r->out);
	harness_redact(r->err);
}

/*
 * --days: the CLI leaves the maximum to the index and does not make one
 * up; the index names its configured max_signal_days. A reference too
 * long to send is named with its limit, not as a frame size. Without
 * --days the expiry is the end of the maximum duration, not of a chosen
 * one.
 */
Test(cli_notify, register_names_the_real_limits)
{
	static char ref[100 * 1024 + 1];
	const char *conf;
	struct run_result r;

	conf = harness_write_file(&vixd, "max365.conf",
	    "[rules]\nmax_signal_days = 365\n");
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });

	vix_bsn(&r, "org-a", BSN, (const char *[]){ "register", "--bsn", "-",
	    "--birth-date", "2015-03-01", "--contact-name", "A",
	    "--contact-phone", "0501234567", "--days", "99999999999", NULL });
	cr_assert_eq(r.status, 2, "%s", r.err);
	cr_assert_null(strstr(r.err, "4294967295"), "a made-up bound: %s",
	    r.err);
	cr_assert_not_null(strstr(r.err, "--days"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "max_signal_days"), "%s", r.err);

	vix_bsn(&r, "org-a", BSN, (const char *[]){ "register", "--bsn", "-",
	    "--birth-date", "2015-03-01", "--contact-name", "A",
	    "--contact-phone", "0501234567", "--days", "400", NULL });
	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "duration_days: must be at most 365"),
	    "the index names its maximum: %s", r.err);

	memset(ref, 'r', sizeof(ref) - 1);
	vix_bsn(&r, "org-a", BSN, (const char *[]){ "register", "--bsn", "-",
	    "--birth-date", "2015-03-01", "--contact-name", "A",
	    "--contact-phone", "0501234567", "--ref", ref, NULL });
	cr_assert_eq(r.status, 2, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "client_ref: must be at most 64 "
	    "bytes"), "%s", r.err);
	cr_assert_null(strstr(r.err, "frame"), "%s", r.err);

	vix_bsn(&r, "org-a", BSN, (const char *[]){ "register", "--bsn", "-",
	    "--birth-date", "2015-03-01", "--contact-name", "A",
	    "--contact-phone", "0501234567", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_null(strstr(r.out, "chosen"), "no duration was chosen: %s",
	    r.out);
	cr_assert_not_null(strstr(r.out, "(end of the maximum duration)"),
	    "%s", r.out);
	vix_bsn(&r, "org-a", BSN, (const char *[]){ "register", "--bsn", "-",
	    "--birth-date", "2015-03-01", "--contact-name", "A",
	    "--contact-phone", "0501234567", "--days", "30", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "(end of the chosen 30 days)"), "%s",
	    r.out);
}

/*
 * A page past the last signal says so, not that there are none; the hint
 * for the next page gives the page size asked for, not a literal N; list
 * does not claim a duration was chosen.
 */
Test(cli_notify, list_pages_are_described_as_they_are)
{
	static const char hint[] = "more: vix list --page-size 2 --after ";
	char bsns[3][16], after[32];
	struct run_result r;
	const char *at;

	cr_assert_eq(harness_load_bsns(bsns, 3), 3);
	for (size_t i = 0; i < 3; i++) {
		vix_bsn(&r, "org-a", bsns[i], (const char *[]){ "register",
		    "--bsn", "-", "--birth-date", "2015-03-01",
		    "--contact-name", "A", "--contact-phone", "0501234567",
		    NULL });
		cr_assert_eq(r.status, 0, "%s", r.err);
	}
	vix_ok(&r, "org-a", (const char *[]){ "list", "--after", "999999",
	    NULL });
	cr_assert_null(strstr(r.out, "no active signals\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "no active signals after signal "
	    "999999"), "%s", r.out);

	vix_ok(&r, "org-a", (const char *[]){ "list", "--page-size", "2",
	    NULL });
	cr_assert_not_null(at = strstr(r.out, hint), "%s", r.out);
	cr_assert_eq(harness_count(r.out, "signal "), 2, "%s", r.out);
	cr_assert_null(strstr(r.out, "chosen"), "%s", r.out);
	at += strlen(hint);
	snprintf(after, sizeof(after), "%.*s", (int)strcspn(at, "\n"), at);
	vix_ok(&r, "org-a", (const char *[]){ "list", "--after", after, NULL });
	cr_assert_eq(harness_count(r.out, "signal "), 1, "the third: %s",
	    r.out);
	cr_assert_null(strstr(r.out, "more:"), "the last page: %s", r.out);
}
