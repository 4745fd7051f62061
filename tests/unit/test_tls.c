/* The OIN in a client certificate, and building the server TLS context. */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "config.h"
#include "devcert.h"
#include "support.h"
#include "tls.h"

#define OIN	"00000001234567890001"

static struct support_ca ca;
static char *dir;

static void
setup(void)
{
	dir = support_tmpdir("tls");
	support_ca_make(&ca, "vix test CA");
}

static void
teardown(void)
{
	support_ca_free(&ca);
	support_tmpdir_remove(dir);
	dir = NULL;
}

TestSuite(oin, .init = setup, .fini = teardown);
TestSuite(server_ctx, .init = setup, .fini = teardown);

/* tls_cert_oin for a client certificate with serialNumber oin. */
static enum oin_result
oin_of(const char *oin, char out[OIN_LEN + 1])
{
	EVP_PKEY *key;
	X509 *x = support_leaf(&ca, "client", oin, 0, &key);
	enum oin_result r;

	memset(out, 'z', OIN_LEN + 1);
	r = tls_cert_oin(x, out);
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

Test(oin, twenty_digits)
{
	char out[OIN_LEN + 1];

	cr_assert_eq(oin_of(OIN, out), OIN_OK);
	cr_assert_str_eq(out, OIN);
	cr_assert_eq(oin_of("99999999999999999999", out), OIN_OK);
	cr_assert_str_eq(out, "99999999999999999999");
}

Test(oin, missing)
{
	char out[OIN_LEN + 1];

	cr_assert_eq(oin_of(NULL, out), OIN_MISSING);
}

Test(oin, malformed)
{
	static const char *bad[] = {
		"0000000123456789000",		/* 19 digits */
		"000000012345678900011",	/* 21 digits */
		"0000000123456789000A",
		"ABCDEFGHIJKLMNOPQRST",
		"0000000123456789000 ",
		" 0000000123456789000",
		"00000001234567890001 00000001234567890002",
		"1",
	};
	char out[OIN_LEN + 1];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(oin_of(bad[i], out), OIN_MALFORMED, "'%s'",
		    bad[i]);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* A client certificate whose subject has the given serialNumber entries. */
static X509 *
cert_with_serials(const unsigned char *const *values, const int *lens,
    int type, size_t n)
{
	EVP_PKEY *key;
	X509 *x = support_leaf(&ca, "client", NULL, 0, &key);
	X509_NAME *name = X509_get_subject_name(x);

	for (size_t i = 0; i < n; i++)
		cr_assert_eq(X509_NAME_add_entry_by_NID(name, NID_serialNumber,
		    type, values[i], lens[i], -1, 0), 1);
	cr_assert_gt(X509_sign(x, ca.key, EVP_sha256()), 0);
	EVP_PKEY_free(key);
	return x;
}

Test(oin, two_serial_numbers)
{
	const unsigned char *same[] = { (const unsigned char *)OIN,
	    (const unsigned char *)OIN };
	const unsigned char *diff[] = { (const unsigned char *)OIN,
	    (const unsigned char *)"00000001234567890002" };
	const int lens[] = { -1, -1 };
	char out[OIN_LEN + 1];
	X509 *x;

	x = cert_with_serials(same, lens, MBSTRING_ASC, 2);
	cr_assert_eq(tls_cert_oin(x, out), OIN_MULTIPLE);
	X509_free(x);
	x = cert_with_serials(diff, lens, MBSTRING_ASC, 2);
	cr_assert_eq(tls_cert_oin(x, out), OIN_MULTIPLE);
	X509_free(x);

	/* One serialNumber built the same way is fine. */
	x = cert_with_serials(same, lens, MBSTRING_ASC, 1);
	cr_assert_eq(tls_cert_oin(x, out), OIN_OK);
	cr_assert_str_eq(out, OIN);
	X509_free(x);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(oin, embedded_nul_is_malformed)
{
	static const unsigned char nul[OIN_LEN] =
	    "0000000123456789000\0";
	const unsigned char *values[] = { nul };
	const int lens[] = { OIN_LEN };
	char out[OIN_LEN + 1];
	X509 *x = cert_with_serials(values, lens, V_ASN1_PRINTABLESTRING, 1);

	cr_assert_eq(tls_cert_oin(x, out), OIN_MALFORMED);
	X509_free(x);
}

Test(oin, strerror_for_each_result)
{
	const enum oin_result all[] = { OIN_OK, OIN_MISSING, OIN_MALFORMED,
	    OIN_MULTIPLE };

	for (size_t i = 0; i < 4; i++) {
		const char *s = tls_oin_strerror(all[i]);

		cr_assert_not_null(s);
		cr_assert_gt(strlen(s), 0);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(s, tls_oin_strerror(all[j]));
	}
	cr_assert_str_eq(tls_oin_strerror(OIN_OK), "ok");
	cr_assert_not_null(strstr(tls_oin_strerror(OIN_MISSING),
	    "serialNumber"));
	cr_assert_not_null(strstr(tls_oin_strerror(OIN_MALFORMED), "20"));
}

/* ---- server context ---- */

struct material {
	struct vixd_config	 c;
	X509			*server;
	EVP_PKEY		*key;
};

/* A server certificate, its key (0600) and the CA bundle, in a config. */
static void
material_make(struct material *m)
{
	char *p;

	config_defaults(&m->c);
	m->server = support_leaf(&ca, "localhost", NULL, 1, &m->key);
	p = support_path(dir, "server.pem");
	support_write_cert(p, m->server);
	config_set(&m->c.tls_certificate, p);
	free(p);
	p = support_path(dir, "server.key");
	support_write_key(p, m->key);
	config_set(&m->c.tls_private_key, p);
	free(p);
	p = support_path(dir, "ca.pem");
	support_write_cert(p, ca.cert);
	config_set(&m->c.tls_ca_bundle, p);
	free(p);
}

static void
material_free(struct material *m)
{
	X509_free(m->server);
	EVP_PKEY_free(m->key);
	config_free(&m->c);
}

/* tls_server_ctx must fail with one problem that starts with want. */
static void
expect_failure(const struct vixd_config *c, const char *want)
{
	struct diag d;
	SSL_CTX *ctx;

	diag_init(&d);
	ctx = tls_server_ctx(c, &d);
	cr_assert_null(ctx, "accepted; expected: %s", want);
	cr_assert_eq(d.count, 1, "%s", d.text);
	cr_assert_eq(strncmp(d.text, want, strlen(want)), 0,
	    "got: %s\nwant: %s", d.text, want);
	cr_assert_eq(ERR_peek_error(), 0, "OpenSSL errors left queued");
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(server_ctx, builds_with_valid_material)
{
	struct material m;
	STACK_OF(X509_NAME) *cas;
	struct diag d;
	SSL_CTX *ctx;

	material_make(&m);
	diag_init(&d);
	ctx = tls_server_ctx(&m.c, &d);
	cr_assert_not_null(ctx, "%s", d.text);
	cr_assert_eq(d.count, 0);
	cr_assert_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
	cr_assert_eq(SSL_CTX_get_verify_mode(ctx),
	    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
	cr_assert_eq(X509_cmp(SSL_CTX_get0_certificate(ctx), m.server), 0);
	cas = SSL_CTX_get_client_CA_list(ctx);
	cr_assert_eq(sk_X509_NAME_num(cas), 1);
	cr_assert_eq(X509_NAME_cmp(sk_X509_NAME_value(cas, 0),
	    X509_get_subject_name(ca.cert)), 0);
	SSL_CTX_free(ctx);
	material_free(&m);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(server_ctx, min_version_1_2)
{
	struct material m;
	struct diag d;
	SSL_CTX *ctx;

	material_make(&m);
	m.c.tls_min_version = TLS1_2_VERSION;
	diag_init(&d);
	ctx = tls_server_ctx(&m.c, &d);
	cr_assert_not_null(ctx, "%s", d.text);
	cr_assert_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	SSL_CTX_free(ctx);
	material_free(&m);
}

Test(server_ctx, key_readable_by_others_is_refused)
{
	struct material m;
	char *want;

	material_make(&m);
	cr_assert_eq(chmod(m.c.tls_private_key, 0644), 0);
	cr_assert_neq(asprintf(&want, "tls private_key %s is accessible by "
	    "group or others (mode 0644); fix with: chmod 600 %s\n",
	    m.c.tls_private_key, m.c.tls_private_key), -1);
	expect_failure(&m.c, want);
	free(want);
	material_free(&m);
}

Test(server_ctx, missing_key_is_named)
{
	struct material m;
	char *want;

	material_make(&m);
	cr_assert_eq(unlink(m.c.tls_private_key), 0);
	cr_assert_neq(asprintf(&want, "tls private_key %s: No such file or "
	    "directory\n", m.c.tls_private_key), -1);
	expect_failure(&m.c, want);
	free(want);
	material_free(&m);
}

Test(server_ctx, missing_ca_bundle_is_named)
{
	struct material m;
	char *want;

	material_make(&m);
	cr_assert_eq(unlink(m.c.tls_ca_bundle), 0);
	cr_assert_neq(asprintf(&want, "tls ca_bundle %s: ",
	    m.c.tls_ca_bundle), -1);
	expect_failure(&m.c, want);
	free(want);
	material_free(&m);
}

Test(server_ctx, ca_bundle_without_certificates_is_named)
{
	struct material m;
	char *want;

	material_make(&m);
	support_write_file(m.c.tls_ca_bundle, "not a certificate\n", 0644);
	cr_assert_neq(asprintf(&want, "tls ca_bundle %s: ",
	    m.c.tls_ca_bundle), -1);
	expect_failure(&m.c, want);
	free(want);
	material_free(&m);
}

Test(server_ctx, missing_certificate_is_named)
{
	struct material m;
	char *want;

	material_make(&m);
	cr_assert_eq(unlink(m.c.tls_certificate), 0);
	cr_assert_neq(asprintf(&want, "tls certificate %s: ",
	    m.c.tls_certificate), -1);
	expect_failure(&m.c, want);
	free(want);
	material_free(&m);
}

Test(server_ctx, missing_crl_is_named)
{
	struct material m;
	char *p = support_path(dir, "crl.pem"), *want;

	material_make(&m);
	config_set(&m.c.tls_crl_file, p);
	cr_assert_neq(asprintf(&want, "tls crl_file %s: ", p), -1);
	expect_failure(&m.c, want);
	free(want);
	free(p);
	material_free(&m);
}

/* Replace the private key file with another key. */
static void
swap_key(struct material *m, EVP_PKEY *other)
{
	cr_assert_eq(unlink(m->c.tls_private_key), 0);
	support_write_key(m->c.tls_private_key, other);
	EVP_PKEY_free(other);
}

/* OpenSSL itself refuses a key of the same type that does not match. */
Test(server_ctx, key_of_another_certificate_is_refused)
{
	struct material m;
	char *want;
	struct diag d;

	material_make(&m);
	swap_key(&m, devcert_key());
	cr_assert_neq(asprintf(&want, "tls private_key %s: ",
	    m.c.tls_private_key), -1);
	expect_failure(&m.c, want);
	diag_init(&d);
	cr_assert_null(tls_server_ctx(&m.c, &d));
	cr_assert_not_null(strstr(d.text, "mismatch"), "%s", d.text);
	free(want);
	material_free(&m);
}

Test(server_ctx, key_of_another_type_is_refused)
{
	struct material m;
	char *want;

	material_make(&m);
	swap_key(&m, EVP_RSA_gen(2048));
	cr_assert_neq(asprintf(&want, "tls private_key %s does not match "
	    "certificate %s\n", m.c.tls_private_key, m.c.tls_certificate), -1);
	expect_failure(&m.c, want);
	free(want);
	material_free(&m);
}
