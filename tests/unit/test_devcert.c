/* vixd --dev material: what devcert_ensure creates, reuses and repairs. */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "devcert.h"
#include "orgs.h"
#include "support.h"
#include "tls.h"

/* Every file devcert_ensure makes, with its mode. */
static const struct {
	const char	*name;
	mode_t		 mode;
} dev_files[] = {
	{ "ca.pem", 0644 },		{ "ca.key", 0600 },
	{ "server.pem", 0644 },		{ "server.key", 0600 },
	{ "org-a.pem", 0644 },		{ "org-a.key", 0600 },
	{ "org-b.pem", 0644 },		{ "org-b.key", 0600 },
	{ "partner.pem", 0644 },	{ "partner.key", 0600 },
	{ "admin.pem", 0644 },		{ "admin.key", 0600 },
	{ "partner-listen.pem", 0644 },	{ "partner-listen.key", 0600 },
	{ "index.pem", 0644 },		{ "index.key", 0600 },
	{ "pseudonym.key", 0600 },	{ "orgs.conf", 0644 },
};
#define N_DEV_FILES	(sizeof(dev_files) / sizeof(dev_files[0]))

static char *top, *dev;

static void
setup(void)
{
	top = support_tmpdir("devcert");
	dev = support_path(top, "vix-dev");
}

static void
teardown(void)
{
	free(dev);
	dev = NULL;
	support_tmpdir_remove(top);
	top = NULL;
}

TestSuite(devcert, .init = setup, .fini = teardown);

static void
ensure(void)
{
	struct diag d;

	diag_init(&d);
	cr_assert_eq(devcert_ensure(dev, &d), 0, "%s", d.text);
	cr_assert_eq(d.count, 0);
}

static X509 *
cert(const char *name)
{
	char *p = support_path(dev, name);
	X509 *x = support_read_cert(p);

	cr_assert_not_null(x, "%s: no certificate", p);
	free(p);
	return x;
}

static EVP_PKEY *
key(const char *name)
{
	char *p = support_path(dev, name);
	FILE *fp = fopen(p, "r");
	EVP_PKEY *k;

	cr_assert_not_null(fp, "%s", p);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	cr_assert_not_null(k, "%s: no key", p);
	free(p);
	return k;
}

static char *
contents(const char *name, size_t *len)
{
	char *p = support_path(dev, name), *s = support_read_file(p, len);

	free(p);
	return s;
}

/* name.pem is issued by ca.pem, verifies as a chain, and matches name.key. */
static void
check_leaf(const char *name, int purpose)
{
	char pem[64], k[64];
	X509 *ca = cert("ca.pem"), *x;
	EVP_PKEY *pk;
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();

	snprintf(pem, sizeof(pem), "%s.pem", name);
	snprintf(k, sizeof(k), "%s.key", name);
	x = cert(pem);
	pk = key(k);
	cr_assert_eq(X509_verify(x, X509_get0_pubkey(ca)), 1,
	    "%s not signed by the CA", pem);
	cr_assert_eq(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(ca)), 0);
	cr_assert_eq(X509_check_private_key(x, pk), 1,
	    "%s does not match %s", k, pem);
	cr_assert_eq(X509_check_purpose(x, purpose, 0), 1, "%s purpose", pem);

	cr_assert_eq(X509_STORE_add_cert(store, ca), 1);
	cr_assert_eq(X509_STORE_CTX_init(sctx, store, x, NULL), 1);
	cr_assert_eq(X509_verify_cert(sctx), 1, "%s: %s", pem,
	    X509_verify_cert_error_string(X509_STORE_CTX_get_error(sctx)));
	X509_STORE_CTX_free(sctx);
	X509_STORE_free(store);
	EVP_PKEY_free(pk);
	X509_free(x);
	X509_free(ca);
}

Test(devcert, creates_every_file_with_its_mode)
{
	size_t len;
	char *s;
	mode_t old = umask(022);

	ensure();
	umask(old);
	cr_assert_eq(support_file_mode(dev), 0700);
	for (size_t i = 0; i < N_DEV_FILES; i++) {
		char *p = support_path(dev, dev_files[i].name);

		cr_assert_eq(access(p, F_OK), 0, "%s missing", p);
		cr_assert_eq(support_file_mode(p), dev_files[i].mode,
		    "%s: mode %04o", p, (unsigned)support_file_mode(p));
		free(p);
	}
	s = contents("pseudonym.key", &len);
	cr_assert_eq(len, 32);
	free(s);
}

Test(devcert, leaves_nothing_else_behind)
{
	DIR *dp;
	struct dirent *e;
	size_t n = 0;

	ensure();
	cr_assert_not_null(dp = opendir(dev));
	while ((e = readdir(dp)) != NULL) {
		size_t i;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		for (i = 0; i < N_DEV_FILES; i++)
			if (strcmp(e->d_name, dev_files[i].name) == 0)
				break;
		cr_assert_lt(i, N_DEV_FILES, "unexpected file %s", e->d_name);
		n++;
	}
	closedir(dp);
	cr_assert_eq(n, N_DEV_FILES);
}

Test(devcert, certificates_chain_to_the_ca)
{
	ensure();
	check_leaf("server", X509_PURPOSE_SSL_SERVER);
	check_leaf(DEVCERT_INDEX_NAME, X509_PURPOSE_SSL_CLIENT);
	for (size_t i = 0; i < devcert_norgs; i++)
		check_leaf(devcert_orgs[i].id, X509_PURPOSE_SSL_CLIENT);
}

Test(devcert, server_certificate_names_localhost)
{
	X509 *x;
	char oin[OIN_LEN + 1];

	ensure();
	x = cert("server.pem");
	cr_assert_eq(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	cr_assert_eq(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	cr_assert_eq(X509_check_ip_asc(x, "::1", 0), 1);
	cr_assert_eq(tls_cert_oin(x, oin), OIN_MISSING);
	X509_free(x);
}

Test(devcert, orgs_conf_matches_the_client_certificates)
{
	char *path, oin[OIN_LEN + 1];
	const struct org *g;
	struct orgs *o;
	struct diag d;

	ensure();
	cr_assert_eq(devcert_norgs, 4);
	path = support_path(dev, "orgs.conf");
	diag_init(&d);
	o = orgs_load(path, &d);
	cr_assert_not_null(o, "%s", d.text);
	cr_assert_eq(o->n, devcert_norgs);
	for (size_t i = 0; i < devcert_norgs; i++) {
		char pem[64];
		X509 *x;

		cr_assert_eq(orgs_valid_oin(devcert_orgs[i].oin), 1);
		g = orgs_by_id(o, devcert_orgs[i].id);
		cr_assert_not_null(g, "no [org %s]", devcert_orgs[i].id);
		cr_assert_str_eq(g->oin, devcert_orgs[i].oin);

		snprintf(pem, sizeof(pem), "%s.pem", devcert_orgs[i].id);
		x = cert(pem);
		cr_assert_eq(tls_cert_oin(x, oin), OIN_OK, "%s", pem);
		cr_assert_str_eq(oin, devcert_orgs[i].oin, "%s", pem);
		cr_assert_eq(orgs_by_oin(o, oin), g);
		X509_free(x);
	}
	cr_assert_not_null(orgs_by_id(o, "org-a"));
	cr_assert_not_null(orgs_by_id(o, "org-b"));
	cr_assert_eq(orgs_by_id(o, "admin")->roles, ROLE_ADMIN);
	g = orgs_by_id(o, "partner");
	cr_assert(orgs_may_receive_for(g, orgs_by_id(o, "org-a")));
	cr_assert(orgs_may_receive_for(g, orgs_by_id(o, "org-b")));
	cr_assert(orgs_by_id(o, "org-a")->roles & ROLE_REGISTER);
	cr_assert(orgs_by_id(o, "org-b")->roles & ROLE_REGISTER);
	orgs_unref(o);
	free(path);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* The contents of every dev file, to compare before and after. */
struct snapshot {
	char	*data[N_DEV_FILES];
	size_t	 len[N_DEV_FILES];
};

static void
snapshot_take(struct snapshot *s)
{
	for (size_t i = 0; i < N_DEV_FILES; i++)
		s->data[i] = contents(dev_files[i].name, &s->len[i]);
}

static void
snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < N_DEV_FILES; i++)
		free(s->data[i]);
}

static int
snapshot_same(const struct snapshot *a, const struct snapshot *b, size_t i)
{
	return a->len[i] == b->len[i] &&
	    memcmp(a->data[i], b->data[i], a->len[i]) == 0;
}

/* Every file is as before except those named in changed (NULL-ended). */
static void
expect_changed(const struct snapshot *before, const char *const *changed)
{
	struct snapshot after;

	snapshot_take(&after);
	for (size_t i = 0; i < N_DEV_FILES; i++) {
		int expect = 0;

		for (const char *const *c = changed; *c != NULL; c++)
			if (strcmp(*c, dev_files[i].name) == 0)
				expect = 1;
		cr_assert_eq(!snapshot_same(before, &after, i), expect,
		    "%s %s", dev_files[i].name, expect ? "not replaced" :
		    "changed");
	}
	snapshot_free(&after);
}

Test(devcert, second_call_reuses_everything)
{
	static const char *const none[] = { NULL };
	struct snapshot before;

	ensure();
	snapshot_take(&before);
	ensure();
	expect_changed(&before, none);
	snapshot_free(&before);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(devcert, lost_client_certificate_is_reissued_by_the_same_ca)
{
	static const char *const changed[] = { "org-b.pem", "org-b.key",
	    NULL };
	struct snapshot before;
	char *p;

	ensure();
	snapshot_take(&before);
	p = support_path(dev, "org-b.pem");
	cr_assert_eq(unlink(p), 0);
	free(p);
	ensure();
	expect_changed(&before, changed);
	check_leaf("org-b", X509_PURPOSE_SSL_CLIENT);
	snapshot_free(&before);
}

Test(devcert, lost_client_key_is_reissued_with_its_certificate)
{
	static const char *const changed[] = { "partner.pem", "partner.key",
	    NULL };
	struct snapshot before;
	char *p;

	ensure();
	snapshot_take(&before);
	p = support_path(dev, "partner.key");
	cr_assert_eq(unlink(p), 0);
	free(p);
	ensure();
	expect_changed(&before, changed);
	check_leaf("partner", X509_PURPOSE_SSL_CLIENT);
	snapshot_free(&before);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(devcert, lost_ca_key_reissues_every_certificate)
{
	static const char *const changed[] = { "ca.pem", "ca.key",
	    "server.pem", "server.key", "org-a.pem", "org-a.key", "org-b.pem",
	    "org-b.key", "partner.pem", "partner.key", "admin.pem",
	    "admin.key", "partner-listen.pem", "partner-listen.key", "index.pem",
	    "index.key", NULL };
	struct snapshot before;
	char *p;

	ensure();
	snapshot_take(&before);
	p = support_path(dev, "ca.key");
	cr_assert_eq(unlink(p), 0);
	free(p);
	ensure();
	expect_changed(&before, changed);
	check_leaf("server", X509_PURPOSE_SSL_SERVER);
	check_leaf(DEVCERT_INDEX_NAME, X509_PURPOSE_SSL_CLIENT);
	for (size_t i = 0; i < devcert_norgs; i++)
		check_leaf(devcert_orgs[i].id, X509_PURPOSE_SSL_CLIENT);
	snapshot_free(&before);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(devcert, directory_that_cannot_be_created_is_named)
{
	char *bad = support_path(top, "missing/vix-dev"), *want;
	struct diag d;

	diag_init(&d);
	cr_assert_eq(devcert_ensure(bad, &d), -1);
	cr_assert_eq(d.count, 1);
	cr_assert_neq(asprintf(&want, "cannot create %s: No such file or "
	    "directory\n", bad), -1);
	cr_assert_str_eq(d.text, want);
	free(want);
	free(bad);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(devcert, write_key_and_cert_set_their_modes)
{
	EVP_PKEY *k = devcert_key();
	X509 *x = devcert_ca(k, "mode test", 1);
	char *kp = support_path(top, "k.pem"), *cp = support_path(top, "c.pem");
	mode_t old = umask(0);

	/* Under no umask at all, keys are still private. */
	cr_assert_not_null(x);
	cr_assert_eq(devcert_write_key(kp, k), 0);
	cr_assert_eq(devcert_write_cert(cp, x), 0);
	umask(old);
	cr_assert_eq(support_file_mode(kp), 0600);
	cr_assert_eq(support_file_mode(cp), 0644);
	X509_free(x);
	EVP_PKEY_free(k);
	free(kp);
	free(cp);
}

/*
 * Every key --dev makes is ECDSA P-256 and every certificate is signed with
 * ECDSA and SHA-256 (NCSC TLS guidelines: good); vixd accepts the server's.
 */
Test(devcert, keys_are_ecdsa_p256_signed_with_sha256)
{
	char pem[64], curve[64];
	struct diag d;

	ensure();
	for (size_t i = 0; i < devcert_norgs + 2; i++) {
		X509 *x;
		EVP_PKEY *pk;

		snprintf(pem, sizeof(pem), "%s.pem", i == 0 ? "ca" : i == 1 ?
		    "server" : devcert_orgs[i - 2].id);
		x = cert(pem);
		pk = X509_get0_pubkey(x);
		cr_assert_eq(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC, "%s", pem);
		cr_assert_eq(EVP_PKEY_get_group_name(pk, curve, sizeof(curve),
		    NULL), 1);
		cr_assert_str_eq(curve, "prime256v1", "%s", pem);
		cr_assert_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256,
		    "%s", pem);
		diag_init(&d);
		cr_assert_eq(tls_check_key(x, pem, &d), 0, "%s", d.text);
		X509_free(x);
	}
}

/* Lifetime of x in days, from notBefore to notAfter. */
static int
lifetime_days(X509 *x)
{
	int days, secs;

	cr_assert_eq(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)), 1);
	return days + (secs > 0);
}

/* Leaves stay within the 398 days scanners accept (testssl: > 825 MEDIUM). */
Test(devcert, leaves_live_less_than_398_days)
{
	X509 *x;

	ensure();
	x = cert("server.pem");
	cr_assert_leq(lifetime_days(x), 397);
	X509_free(x);
	for (size_t i = 0; i < devcert_norgs; i++) {
		char pem[64];

		snprintf(pem, sizeof(pem), "%s.pem", devcert_orgs[i].id);
		x = cert(pem);
		cr_assert_leq(lifetime_days(x), 397, "%s", pem);
		X509_free(x);
	}
}

/* Replace name.pem with a certificate of key good for days more. */
static void
write_short_lived(const char *name, int days)
{
	X509 *ca = cert("ca.pem"), *x;
	EVP_PKEY *ca_key = key("ca.key"), *k;
	char file[64], *p;

	snprintf(file, sizeof(file), "%s.key", name);
	k = key(file);
	if (strcmp(name, "ca") == 0)
		x = devcert_ca(k, "vix development CA", days);
	else
		x = devcert_leaf(k, name, NULL, DEVCERT_SERVER, ca, ca_key,
		    days);
	cr_assert_not_null(x);
	snprintf(file, sizeof(file), "%s.pem", name);
	p = support_path(dev, file);
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(devcert_write_cert(p, x), 0);
	free(p);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ca_key);
}

Test(devcert, certificate_about_to_expire_is_reissued)
{
	static const char *const changed[] = { "server.pem", "server.key",
	    NULL };
	struct snapshot before;

	ensure();
	write_short_lived("server", 10);
	snapshot_take(&before);
	ensure();
	expect_changed(&before, changed);
	check_leaf("server", X509_PURPOSE_SSL_SERVER);
	snapshot_free(&before);
}

Test(devcert, ca_about_to_expire_reissues_every_certificate)
{
	static const char *const changed[] = { "ca.pem", "ca.key",
	    "server.pem", "server.key", "org-a.pem", "org-a.key", "org-b.pem",
	    "org-b.key", "partner.pem", "partner.key", "admin.pem",
	    "admin.key", "partner-listen.pem", "partner-listen.key", "index.pem",
	    "index.key", NULL };
	struct snapshot before;

	ensure();
	write_short_lived("ca", 10);
	snapshot_take(&before);
	ensure();
	expect_changed(&before, changed);
	for (size_t i = 0; i < devcert_norgs; i++)
		check_leaf(devcert_orgs[i].id, X509_PURPOSE_SSL_CLIENT);
	snapshot_free(&before);
}

/* Whether x has a subjectAltName extension. */
static int
has_san(X509 *x)
{
	GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);

	GENERAL_NAMES_free(san);
	return san != NULL;
}

/*
 * An organisation's certificate is for clients only (clientAuth, no server
 * names), so that it cannot stand in for vixd or for a partner's listener;
 * vixd's serves and dials out (push); the partner's listener only serves.
 */
Test(devcert, each_certificate_has_only_its_own_use)
{
	X509 *x;

	ensure();
	for (size_t i = 0; i < devcert_norgs; i++) {
		char pem[64];

		snprintf(pem, sizeof(pem), "%s.pem", devcert_orgs[i].id);
		x = cert(pem);
		cr_assert_eq(X509_get_extended_key_usage(x), XKU_SSL_CLIENT,
		    "%s: only clientAuth", pem);
		cr_assert(!has_san(x), "%s: no server names", pem);
		cr_assert_eq(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0),
		    0, "%s must not serve", pem);
		cr_assert_neq(X509_check_host(x, "localhost", 0, 0, NULL), 1);
		X509_free(x);
	}
	x = cert("server.pem");
	cr_assert_eq(X509_get_extended_key_usage(x),
	    XKU_SSL_SERVER | XKU_SSL_CLIENT, "vixd serves and dials out");
	X509_free(x);
	check_leaf("partner-listen", X509_PURPOSE_SSL_SERVER);
	x = cert("partner-listen.pem");
	cr_assert_eq(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	cr_assert_eq(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	X509_free(x);
}

/*
 * A dev folder from before: its organisation certificates were good for
 * both ends. They are issued anew (same CA), the rest is kept.
 */
Test(devcert, old_style_client_certificate_is_reissued)
{
	static const char *const changed[] = { "org-a.pem", "org-a.key",
	    NULL };
	X509 *ca, *x;
	EVP_PKEY *ca_key, *k;
	struct snapshot before;
	char *p;

	ensure();
	ca = cert("ca.pem");
	ca_key = key("ca.key");
	k = key("org-a.key");
	x = devcert_leaf(k, "org-a", devcert_orgs[0].oin, DEVCERT_SERVER, ca,
	    ca_key, 300);
	p = support_path(dev, "org-a.pem");
	cr_assert_eq(unlink(p), 0);
	cr_assert_eq(devcert_write_cert(p, x), 0);
	free(p);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(k);
	snapshot_take(&before);
	ensure();
	expect_changed(&before, changed);
	check_leaf("org-a", X509_PURPOSE_SSL_CLIENT);
	x = cert("org-a.pem");
	cr_assert_eq(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	X509_free(x);
	snapshot_free(&before);
}
