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
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, "TLS handshake failed: certificate "
	    "revoked"), "%s", log);

	/* A new CRL without the entry, then SIGHUP: org-b is back. */
	harness_write_crl(&vixd, crl, NULL);
	harness_reload(&vixd);
	cr_assert_eq(ping_as("org-b"), 0, "reloaded CRL took effect");
}
