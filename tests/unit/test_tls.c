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

/* ---- the server certificate's key (NCSC: ECDSA P-256/P-384, RSA >= 3072) ---- */

/* Replace the server certificate and key with ones for key (consumed). */
static void
material_rekey(struct material *m, EVP_PKEY *key)
{
	cr_assert_not_null(key);
	X509_free(m->server);
	EVP_PKEY_free(m->key);
	m->key = key;
	m->server = devcert_leaf(key, "localhost", NULL, 1, ca.cert, ca.key,
	    30);
	cr_assert_not_null(m->server);
	cr_assert_eq(unlink(m->c.tls_certificate), 0);
	cr_assert_eq(unlink(m->c.tls_private_key), 0);
	support_write_cert(m->c.tls_certificate, m->server);
	support_write_key(m->c.tls_private_key, m->key);
}

/* With key as the server's, tls_server_ctx fails naming the certificate. */
static void
expect_key_refused(EVP_PKEY *key, const char *why)
{
	struct material m;
	char *want;

	material_make(&m);
	material_rekey(&m, key);
	cr_assert_neq(asprintf(&want, "tls certificate %s: %s",
	    m.c.tls_certificate, why), -1);
	expect_failure(&m.c, want);
	free(want);
	material_free(&m);
}

static void
expect_key_accepted(EVP_PKEY *key)
{
	struct material m;
	struct diag d;
	SSL_CTX *ctx, *cctx;

	material_make(&m);
	material_rekey(&m, key);
	diag_init(&d);
	ctx = tls_server_ctx(&m.c, &d);
	cr_assert_not_null(ctx, "%s", d.text);
	cctx = tls_client_ctx(&m.c, &d);
	cr_assert_not_null(cctx, "%s", d.text);
	SSL_CTX_free(ctx);
	SSL_CTX_free(cctx);
	material_free(&m);
}

Test(server_ctx, rsa_2048_server_key_is_refused_naming_its_size)
{
	expect_key_refused(EVP_RSA_gen(2048), "an RSA key of 2048 bits is too "
	    "weak; use RSA of at least 3072 bits or ECDSA P-256 (NCSC TLS "
	    "guidelines)\n");
}

Test(server_ctx, rsa_3072_server_key_is_accepted)
{
	expect_key_accepted(EVP_RSA_gen(3072));
}

Test(server_ctx, ecdsa_p256_and_p384_server_keys_are_accepted)
{
	expect_key_accepted(EVP_EC_gen("P-256"));
	expect_key_accepted(EVP_EC_gen("P-384"));
}

Test(server_ctx, ecdsa_on_other_curves_is_refused_naming_the_curve)
{
	expect_key_refused(EVP_EC_gen("P-521"), "an ECDSA key on curve "
	    "secp521r1 is not accepted; use P-256 or P-384, or RSA of at "
	    "least 3072 bits (NCSC TLS guidelines)\n");
	expect_key_refused(EVP_EC_gen("secp256k1"), "an ECDSA key on curve "
	    "secp256k1 is not accepted");
}

Test(server_ctx, other_key_types_are_refused_naming_the_type)
{
	expect_key_refused(EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"),
	    "a key of type ED25519 is not accepted; use ECDSA P-256 or P-384, "
	    "or RSA of at least 3072 bits (NCSC TLS guidelines)\n");
}

/* vixd -t builds both contexts: a weak key is named once, not twice. */
Test(server_ctx, weak_key_is_named_once_by_both_contexts)
{
	struct material m;
	struct diag d;

	material_make(&m);
	material_rekey(&m, EVP_RSA_gen(2048));
	diag_init(&d);
	cr_assert_null(tls_server_ctx(&m.c, &d));
	cr_assert_null(tls_client_ctx(&m.c, &d));
	cr_assert_eq(d.count, 1, "%s", d.text);
	cr_assert_eq(strchr(d.text, '\n'), strrchr(d.text, '\n'), "%s",
	    d.text);
	material_free(&m);

	/* The client context alone still says why. */
	material_make(&m);
	material_rekey(&m, EVP_RSA_gen(2048));
	diag_init(&d);
	cr_assert_null(tls_client_ctx(&m.c, &d));
	cr_assert_eq(d.count, 1, "%s", d.text);
	cr_assert_not_null(strstr(d.text, "2048 bits is too weak"), "%s",
	    d.text);
	material_free(&m);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- the protocol policy, proven by handshakes in memory ---- */

TestSuite(policy, .init = setup, .fini = teardown);

/* What a test client offers; NULL or 0 leaves OpenSSL's default. */
struct offer {
	int		 min, max;
	const char	*ciphers;	/* TLS 1.2 */
	const char	*suites;	/* TLS 1.3 */
	const char	*groups;
	const char	*sigalgs;
	EVP_PKEY	*key;		/* the client's, NULL: a new P-256 one */
};

/*
 * A client with a certificate vixd accepts, that verifies vixd's, and may
 * offer anything OpenSSL can: security level 0, so that a weak offer is
 * refused by the server and not by the client itself.
 */
static SSL_CTX *
offer_ctx(const struct offer *o)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	EVP_PKEY *key = o->key;
	X509 *x;

	if (key == NULL)
		x = support_leaf(&ca, "client", OIN, 0, &key);
	else {
		x = devcert_leaf(key, "client", OIN, 0, ca.cert, ca.key, 30);
		EVP_PKEY_up_ref(key);
	}

	cr_assert_not_null(ctx);
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	cr_assert_eq(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca.cert),
	    1);
	cr_assert_eq(SSL_CTX_use_certificate(ctx, x), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
	X509_free(x);
	EVP_PKEY_free(key);
	cr_assert_eq(SSL_CTX_set_min_proto_version(ctx, o->min), 1);
	cr_assert_eq(SSL_CTX_set_max_proto_version(ctx, o->max), 1);
	if (o->ciphers != NULL)
		cr_assert_eq(SSL_CTX_set_cipher_list(ctx, o->ciphers), 1);
	if (o->suites != NULL)
		cr_assert_eq(SSL_CTX_set_ciphersuites(ctx, o->suites), 1);
	if (o->groups != NULL)
		cr_assert_eq(SSL_CTX_set1_groups_list(ctx, o->groups), 1,
		    "%s", o->groups);
	if (o->sigalgs != NULL)
		cr_assert_eq(SSL_CTX_set1_sigalgs_list(ctx, o->sigalgs), 1);
	return ctx;
}

struct pair {
	SSL	*c, *s;
};

/* One step of each side; -1 on a hard error, 1 when both are done. */
static int
pump_step(SSL *ssl, int *done)
{
	int r, e;

	if (*done)
		return 0;
	if ((r = SSL_do_handshake(ssl)) == 1) {
		*done = 1;
		return 0;
	}
	e = SSL_get_error(ssl, r);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/* Drive both handshakes over a memory BIO pair; 0 when both complete. */
static int
pump(struct pair *p)
{
	int cd = 0, sd = 0;

	for (int i = 0; i < 64 && !(cd && sd); i++)
		if (pump_step(p->c, &cd) == -1 || pump_step(p->s, &sd) == -1)
			return -1;
	return cd && sd ? 0 : -1;
}

static int
connect_pair(SSL_CTX *server, SSL_CTX *client, SSL_SESSION *resume,
    struct pair *p)
{
	BIO *cb, *sb;

	cr_assert_eq(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
	cr_assert_not_null(p->c = SSL_new(client));
	cr_assert_not_null(p->s = SSL_new(server));
	SSL_set_bio(p->c, cb, cb);
	SSL_set_bio(p->s, sb, sb);
	SSL_set_connect_state(p->c);
	SSL_set_accept_state(p->s);
	if (resume != NULL)
		cr_assert_eq(SSL_set_session(p->c, resume), 1);
	return pump(p);
}

static void
pair_free(struct pair *p)
{
	SSL_free(p->c);
	SSL_free(p->s);
	ERR_clear_error();
}

/* Whether a client offering o completes a handshake with server. */
static int
handshake_ok(SSL_CTX *server, const struct offer *o)
{
	SSL_CTX *client = offer_ctx(o);
	struct pair p;
	int ok = connect_pair(server, client, NULL, &p) == 0;

	pair_free(&p);
	SSL_CTX_free(client);
	return ok;
}

/* vixd's server context for m with min_version min. */
static SSL_CTX *
server_for(struct material *m, int min)
{
	struct diag d;
	SSL_CTX *ctx;

	material_make(m);
	m->c.tls_min_version = min;
	diag_init(&d);
	ctx = tls_server_ctx(&m->c, &d);
	cr_assert_not_null(ctx, "%s", d.text);
	return ctx;
}

Test(policy, tls_1_3_only_by_default)
{
	struct material m;
	SSL_CTX *ctx = server_for(&m, TLS1_3_VERSION);
	const struct offer any = { 0 }, old[] = {
		{ .max = TLS1_2_VERSION },
		{ .max = TLS1_1_VERSION },
		{ .max = TLS1_VERSION },
	};
	SSL_CTX *client = offer_ctx(&any);
	struct pair p;

	cr_assert_eq(connect_pair(ctx, client, NULL, &p), 0);
	cr_assert_eq(SSL_version(p.s), TLS1_3_VERSION);
	pair_free(&p);
	SSL_CTX_free(client);
	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++)
		cr_assert(!handshake_ok(ctx, &old[i]), "max version %x accepted",
		    old[i].max);
	SSL_CTX_free(ctx);
	material_free(&m);
}

Test(policy, tls_1_2_when_configured_then_ecdhe_with_aead)
{
	struct material m;
	SSL_CTX *ctx = server_for(&m, TLS1_2_VERSION);
	const struct offer v12 = { .max = TLS1_2_VERSION };
	SSL_CTX *client = offer_ctx(&v12);
	const SSL_CIPHER *cipher;
	struct pair p;

	cr_assert_eq(connect_pair(ctx, client, NULL, &p), 0);
	cr_assert_eq(SSL_version(p.s), TLS1_2_VERSION);
	cipher = SSL_get_current_cipher(p.s);
	cr_assert_eq(SSL_CIPHER_get_kx_nid(cipher), NID_kx_ecdhe);
	cr_assert(SSL_CIPHER_is_aead(cipher), "%s", SSL_CIPHER_get_name(cipher));
	/* The server's preference: the strongest suite the client offers. */
	cr_assert_str_eq(SSL_CIPHER_get_name(cipher),
	    "ECDHE-ECDSA-AES256-GCM-SHA384");
	pair_free(&p);
	SSL_CTX_free(client);
	cr_assert(!handshake_ok(ctx, &(struct offer){ .max = TLS1_1_VERSION }));
	SSL_CTX_free(ctx);
	material_free(&m);
}

Test(policy, tls_1_2_refuses_every_suite_but_ecdhe_aead)
{
	static const char *refused[] = {
		"ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384",
		"ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-GCM-SHA256:"
		"ECDHE-RSA-AES256-SHA384",	/* RSA suites need an RSA key */
		"DHE-RSA-AES128-GCM-SHA256", "AES128-GCM-SHA256",
		"AES256-SHA256", "ECDHE-ECDSA-AES128-CCM",
		"ECDHE-ECDSA-CAMELLIA128-SHA256", "ECDHE-ECDSA-NULL-SHA",
		"AECDH-AES128-SHA", "ECDHE-ECDSA-ARIA128-GCM-SHA256",
		"ECDHE-ECDSA-AES128-CCM8",
	};
	static const char *accepted[] = {
		"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256",
		"ECDHE-ECDSA-CHACHA20-POLY1305",
	};
	struct material m;
	SSL_CTX *ctx = server_for(&m, TLS1_2_VERSION);
	struct offer o = { .max = TLS1_2_VERSION };

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		o.ciphers = refused[i];
		cr_assert(!handshake_ok(ctx, &o), "%s accepted", refused[i]);
	}
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		o.ciphers = accepted[i];
		cr_assert(handshake_ok(ctx, &o), "%s refused", accepted[i]);
	}
	SSL_CTX_free(ctx);
	material_free(&m);
}

/* The full list: six ECDHE AEAD suites for 1.2, the three standard 1.3. */
Test(policy, suite_lists_hold_only_good_suites)
{
	static const char *tls13[] = { "TLS_AES_256_GCM_SHA384",
	    "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256" };
	struct material m;
	SSL_CTX *ctx = server_for(&m, TLS1_2_VERSION);
	STACK_OF(SSL_CIPHER) *list = SSL_CTX_get_ciphers(ctx);
	int n13 = 0, n12 = 0;

	for (int i = 0; i < sk_SSL_CIPHER_num(list); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(list, i);
		const char *name = SSL_CIPHER_get_name(c);
		int cnid = SSL_CIPHER_get_cipher_nid(c);
		int auth = SSL_CIPHER_get_auth_nid(c);

		if (strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0) {
			cr_assert_lt(n13, 3, "extra 1.3 suite %s", name);
			cr_assert_str_eq(name, tls13[n13]);
			n13++;
			continue;
		}
		n12++;
		cr_assert_eq(SSL_CIPHER_get_kx_nid(c), NID_kx_ecdhe, "%s", name);
		cr_assert(auth == NID_auth_ecdsa || auth == NID_auth_rsa, "%s",
		    name);
		cr_assert(SSL_CIPHER_is_aead(c), "%s", name);
		cr_assert(cnid == NID_aes_128_gcm || cnid == NID_aes_256_gcm ||
		    cnid == NID_chacha20_poly1305, "%s", name);
	}
	cr_assert_eq(n13, 3);
	cr_assert_eq(n12, 6);
	SSL_CTX_free(ctx);
	material_free(&m);
}

Test(policy, tls_1_3_suites_all_three_work)
{
	static const char *tls13[] = { "TLS_AES_256_GCM_SHA384",
	    "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256" };
	struct material m;
	SSL_CTX *ctx = server_for(&m, TLS1_3_VERSION);

	for (size_t i = 0; i < 3; i++)
		cr_assert(handshake_ok(ctx, &(struct offer){ .suites =
		    tls13[i] }), "%s refused", tls13[i]);
	cr_assert(!handshake_ok(ctx, &(struct offer){ .suites =
	    "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256" }));
	SSL_CTX_free(ctx);
	material_free(&m);
}

/*
 * With client offering only group o->groups, the handshake completes on
 * that group (nid), or fails (nid 0).
 */
static void
expect_group(SSL_CTX *ctx, const struct offer *o, int nid)
{
	SSL_CTX *client = offer_ctx(o);
	struct pair p;
	int rc = connect_pair(ctx, client, NULL, &p);

	if (nid == 0)
		cr_assert_eq(rc, -1, "%s accepted (TLS %x)", o->groups, o->max);
	else {
		cr_assert_eq(rc, 0, "%s refused (TLS %x)", o->groups, o->max);
		cr_assert_eq(SSL_get_negotiated_group(p.s), nid, "%s", o->groups);
	}
	pair_free(&p);
	SSL_CTX_free(client);
}

/*
 * X25519, P-256, X448, P-384; no finite-field groups, no other curves. For
 * TLS 1.2 both ends have RSA keys: there the groups a client offers also
 * bound the curves of ECDSA certificates, its own included.
 */
Test(policy, key_exchange_groups)
{
	static const struct { const char *name; int nid; } groups[] = {
		{ "X25519", NID_X25519 }, { "P-256", NID_X9_62_prime256v1 },
		{ "X448", NID_X448 }, { "P-384", NID_secp384r1 },
		{ "P-521", 0 }, { "ffdhe2048", 0 }, { "ffdhe3072", 0 },
		{ "ffdhe4096", 0 },
		{ "ffdhe2048:ffdhe3072:ffdhe4096:ffdhe6144:ffdhe8192", 0 },
	};
	const int versions[] = { TLS1_3_VERSION, TLS1_2_VERSION };
	struct material m;
	SSL_CTX *ctx;

	material_make(&m);
	m.c.tls_min_version = TLS1_2_VERSION;
	for (size_t v = 0; v < 2; v++) {
		struct offer o = { .min = versions[v], .max = versions[v] };
		struct diag d;

		if (versions[v] == TLS1_2_VERSION) {
			material_rekey(&m, EVP_RSA_gen(3072));
			o.key = EVP_RSA_gen(2048);
		}
		diag_init(&d);
		cr_assert_not_null(ctx = tls_server_ctx(&m.c, &d), "%s", d.text);
		for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]);
		    i++) {
			o.groups = groups[i].name;
			expect_group(ctx, &o, groups[i].nid);
		}
		EVP_PKEY_free(o.key);
		SSL_CTX_free(ctx);
	}
	material_free(&m);
}

/* A client that can only verify SHA-1 signatures is refused. */
Test(policy, signatures_use_sha2)
{
	struct material m;
	SSL_CTX *ctx = server_for(&m, TLS1_2_VERSION);

	cr_assert(!handshake_ok(ctx, &(struct offer){ .max = TLS1_2_VERSION,
	    .sigalgs = "ECDSA+SHA1" }));
	cr_assert(!handshake_ok(ctx, &(struct offer){ .max = TLS1_2_VERSION,
	    .sigalgs = "ECDSA+SHA224" }));
	cr_assert(handshake_ok(ctx, &(struct offer){ .max = TLS1_2_VERSION,
	    .sigalgs = "ECDSA+SHA256" }));
	SSL_CTX_free(ctx);
	material_free(&m);
}

/* The server refuses renegotiation; the same exchange works without it. */
static int
renegotiates(SSL_CTX *ctx)
{
	SSL_CTX *client = offer_ctx(&(struct offer){ .max = TLS1_2_VERSION });
	unsigned char byte;
	struct pair p;
	int ok;

	cr_assert_eq(connect_pair(ctx, client, NULL, &p), 0);
	cr_assert_eq(SSL_renegotiate(p.c), 1);
	for (int i = 0; i < 8; i++) {
		SSL_do_handshake(p.c);
		SSL_read(p.s, &byte, 1);	/* the server sees the hello */
	}
	ok = SSL_do_handshake(p.c) == 1 && !SSL_renegotiate_pending(p.c);
	pair_free(&p);
	SSL_CTX_free(client);
	return ok;
}

Test(policy, no_renegotiation)
{
	struct material m;
	SSL_CTX *ctx = server_for(&m, TLS1_2_VERSION);

	cr_assert(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
	cr_assert(!(SSL_CTX_get_options(ctx) &
	    SSL_OP_ALLOW_CLIENT_RENEGOTIATION));
	cr_assert(!renegotiates(ctx), "renegotiation was accepted");
	SSL_CTX_clear_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
	cr_assert(renegotiates(ctx), "the test cannot see renegotiation");
	SSL_CTX_free(ctx);
	material_free(&m);
}

Test(policy, no_compression_and_server_preference)
{
	struct material m;
	SSL_CTX *ctx = server_for(&m, TLS1_2_VERSION);
	struct pair p;
	SSL_CTX *client = offer_ctx(&(struct offer){ .max = TLS1_2_VERSION });

	cr_assert(SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION);
	cr_assert(SSL_CTX_get_options(ctx) & SSL_OP_CIPHER_SERVER_PREFERENCE);
	cr_assert_eq(connect_pair(ctx, client, NULL, &p), 0);
	cr_assert_null(SSL_get_current_compression(p.s));
	pair_free(&p);
	SSL_CTX_free(client);
	SSL_CTX_free(ctx);
	material_free(&m);
}

/*
 * Whether a second connection resumes the first one's session; the
 * client reads one byte first so that TLS 1.3 tickets arrive.
 */
static int
resumes(SSL_CTX *ctx, int version)
{
	SSL_CTX *client = offer_ctx(&(struct offer){ .min = version,
	    .max = version });
	SSL_SESSION *sess;
	unsigned char byte = 'x';
	struct pair p;
	int reused;

	SSL_CTX_set_session_cache_mode(client, SSL_SESS_CACHE_CLIENT);
	cr_assert_eq(connect_pair(ctx, client, NULL, &p), 0);
	cr_assert_eq(SSL_write(p.s, &byte, 1), 1);
	cr_assert_eq(SSL_read(p.c, &byte, 1), 1);
	sess = SSL_get1_session(p.c);
	/* A connection freed unclosed would spoil its session. */
	SSL_set_shutdown(p.c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_set_shutdown(p.s, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	pair_free(&p);
	cr_assert_eq(connect_pair(ctx, client, sess, &p), 0);
	reused = SSL_session_reused(p.c);
	pair_free(&p);
	SSL_SESSION_free(sess);
	SSL_CTX_free(client);
	return reused;
}

Test(policy, no_session_resumption_nor_early_data)
{
	struct material m;
	SSL_CTX *ctx = server_for(&m, TLS1_2_VERSION);

	cr_assert(SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET);
	cr_assert_eq(SSL_CTX_get_num_tickets(ctx), 0);
	cr_assert_eq(SSL_CTX_get_session_cache_mode(ctx), SSL_SESS_CACHE_OFF);
	cr_assert_eq(SSL_CTX_get_max_early_data(ctx), 0);
	cr_assert(!resumes(ctx, TLS1_3_VERSION), "TLS 1.3 resumed");
	cr_assert(!resumes(ctx, TLS1_2_VERSION), "TLS 1.2 resumed");
	/* The check itself works: OpenSSL's defaults resume. */
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 2);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	cr_assert(resumes(ctx, TLS1_3_VERSION), "the test cannot see resumption");
	cr_assert(resumes(ctx, TLS1_2_VERSION), "the test cannot see resumption");
	SSL_CTX_free(ctx);
	material_free(&m);
}

Test(policy, security_level_at_least_2)
{
	struct material m;
	SSL_CTX *ctx = server_for(&m, TLS1_3_VERSION);

	cr_assert_geq(SSL_CTX_get_security_level(ctx), 2);
	SSL_CTX_free(ctx);
	material_free(&m);
}

/* The context vixd dials push targets with keeps the same policy. */
Test(policy, push_client_context_has_the_same_policy)
{
	struct material m;
	struct diag d;
	SSL_CTX *cctx;
	long opts;

	material_make(&m);
	diag_init(&d);
	cr_assert_not_null(cctx = tls_client_ctx(&m.c, &d), "%s", d.text);
	opts = SSL_CTX_get_options(cctx);
	cr_assert_eq(SSL_CTX_get_min_proto_version(cctx), TLS1_3_VERSION);
	cr_assert(opts & SSL_OP_NO_RENEGOTIATION);
	cr_assert(opts & SSL_OP_NO_COMPRESSION);
	cr_assert(opts & SSL_OP_NO_TICKET);
	cr_assert_geq(SSL_CTX_get_security_level(cctx), 2);
	cr_assert_eq(sk_SSL_CIPHER_num(SSL_CTX_get_ciphers(cctx)), 9);
	SSL_CTX_free(cctx);
	m.c.tls_min_version = TLS1_2_VERSION;
	cr_assert_not_null(cctx = tls_client_ctx(&m.c, &d), "%s", d.text);
	cr_assert_eq(SSL_CTX_get_min_proto_version(cctx), TLS1_2_VERSION);
	SSL_CTX_free(cctx);
	material_free(&m);
}

/* A push target offering only TLS 1.2, or only CBC suites, is refused. */
Test(policy, push_client_refuses_weak_servers)
{
	struct material m;
	struct diag d;
	SSL_CTX *cctx, *srv;
	struct pair p;

	material_make(&m);
	diag_init(&d);
	cr_assert_not_null(cctx = tls_client_ctx(&m.c, &d), "%s", d.text);
	cr_assert_not_null(srv = SSL_CTX_new(TLS_server_method()));
	SSL_CTX_set_security_level(srv, 0);
	cr_assert_eq(SSL_CTX_use_certificate(srv, m.server), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey(srv, m.key), 1);
	cr_assert_eq(connect_pair(srv, cctx, NULL, &p), 0, "control");
	pair_free(&p);
	SSL_CTX_set_max_proto_version(srv, TLS1_2_VERSION);
	cr_assert_eq(connect_pair(srv, cctx, NULL, &p), -1, "TLS 1.2 server");
	pair_free(&p);
	SSL_CTX_free(cctx);

	m.c.tls_min_version = TLS1_2_VERSION;
	cr_assert_not_null(cctx = tls_client_ctx(&m.c, &d), "%s", d.text);
	cr_assert_eq(connect_pair(srv, cctx, NULL, &p), 0, "ECDHE AEAD 1.2");
	pair_free(&p);
	cr_assert_eq(SSL_CTX_set_cipher_list(srv, "ECDHE-ECDSA-AES128-SHA256:"
	    "ECDHE-ECDSA-AES256-SHA"), 1);
	cr_assert_eq(connect_pair(srv, cctx, NULL, &p), -1, "CBC suites");
	pair_free(&p);
	SSL_CTX_free(cctx);
	SSL_CTX_free(srv);
	material_free(&m);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}
