/*
 * Certificate revocation: with crl_file set, a client certificate the CA
 * revoked is refused in the handshake while the others keep working, and a
 * new CRL takes effect on SIGHUP.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

static struct vixd_proc vixd;

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(crl, .fini = stop, .timeout = 120);

static int
ping_as(const char *org)
{
	struct run_result r;

	harness_vix(&r, &vixd, org, (const char *[]){ "ping", NULL });
	return r.status;
}

Test(crl, a_revoked_certificate_is_refused_and_crls_reload)
{
	char crl[PATH_MAX], conf[PATH_MAX], log[65536];
	FILE *fp;

	harness_start(&vixd, NULL);
	snprintf(crl, sizeof(crl), "%s/ca.crl", vixd.dir);
	snprintf(conf, sizeof(conf), "%s/crl.conf", vixd.dir);
	harness_write_crl(&vixd, crl, "org-b");
	cr_assert_not_null(fp = fopen(conf, "w"));
	fprintf(fp, "[tls]\ncrl_file = %s\n", crl);
	fclose(fp);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });

	cr_assert_eq(ping_as("org-a"), 0, "a certificate not revoked works");
	cr_assert_eq(ping_as("org-b"), 3, "the revoked one is refused in TLS");
	/* vixd logs it after the client has seen the alert: give it time. */
	for (int i = 0; i < 50; i++) {
		harness_log(&vixd, log, sizeof(log));
		if (strstr(log, "TLS handshake failed: certificate revoked"))
			break;
		usleep(100000);
	}
	cr_assert_not_null(strstr(log, "TLS handshake failed: certificate "
	    "revoked"), "%s", log);

	/* A new CRL without the entry, then SIGHUP: org-b is back. */
	harness_write_crl(&vixd, crl, NULL);
	harness_reload(&vixd);
	cr_assert_eq(ping_as("org-b"), 0, "reloaded CRL took effect");
}

/* vixd on p's dev material with conf, bounded by timeout(1) in case it runs. */
static void
vixd_once(struct run_result *r, const char *conf, int check)
{
	const char *argv[16] = { "/usr/bin/timeout", "20", getenv("VIXD"),
	    "--dev", "--data", vixd.dev_dir, "--listen", "127.0.0.1:0",
	    "--admin-listen", "127.0.0.1:0", "-c", conf };
	size_t n = 12;

	if (check)
		argv[n++] = "-t";
	argv[n] = NULL;
	harness_run(r, argv);
}

/*
 * A CRL past its nextUpdate would make OpenSSL refuse every client ("CRL
 * has expired"): vixd refuses it at start, in -t, and on reload (keeping
 * the CRL it has), naming the file and its nextUpdate.
 */
Test(crl, an_expired_crl_is_refused_at_start_check_and_reload)
{
	char crl[PATH_MAX], conf[PATH_MAX], log[65536], want[PATH_MAX + 32];
	struct run_result r;
	FILE *fp;

	harness_start(&vixd, NULL);
	snprintf(crl, sizeof(crl), "%s/ca.crl", vixd.dir);
	snprintf(conf, sizeof(conf), "%s/crl.conf", vixd.dir);
	snprintf(want, sizeof(want), "tls crl_file %s: ", crl);
	harness_write_crl(&vixd, crl, "org-b");
	cr_assert_not_null(fp = fopen(conf, "w"));
	fprintf(fp, "[tls]\ncrl_file = %s\n", crl);
	fclose(fp);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	cr_assert_eq(ping_as("org-a"), 0);

	/* Reload: refused, the week-long CRL stays (org-b still revoked). */
	harness_write_crl_until(&vixd, crl, NULL, -1);
	kill(vixd.pid, SIGHUP);
	usleep(500000);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, want), "%s", log);
	cr_assert_not_null(strstr(log, "expired: its nextUpdate was "), "%s",
	    log);
	cr_assert_not_null(strstr(log, "reload failed"), "%s", log);
	cr_assert_eq(ping_as("org-a"), 0, "the previous CRL stays in force");
	cr_assert_eq(ping_as("org-b"), 3, "the previous CRL stays in force");

	/* -t and a start: refused with the same message. */
	cr_assert_eq(harness_stop_keep(&vixd), 0);
	vixd_once(&r, conf, 1);
	cr_assert_neq(r.status, 0, "vixd -t accepted an expired CRL");
	cr_assert_not_null(strstr(r.err, want), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "nextUpdate"), "%s", r.err);
	vixd_once(&r, conf, 0);
	cr_assert_neq(r.status, 124, "vixd started on an expired CRL");
	cr_assert_neq(r.status, 0);
	cr_assert_not_null(strstr(r.err, want), "%s", r.err);
}
