/* Server SSL_CTX construction and OIN extraction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "tlspolicy.h"

#define TLS_RSA_MIN_BITS	3072

const char *
tls_last_error(const char *fallback, char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0) {
		snprintf(buf, len, "%s", fallback);
		return buf;
	}
	ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/*
 * A CRL past its nextUpdate makes OpenSSL refuse every client ("CRL has
 * expired"), which clients see as a certificate problem: refuse it here,
 * naming the file and the date.
 */
static int
tls_crl_current(X509_CRL *crl, const char *path, struct diag *d)
{
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	char when[64] = "", issuer[256];
	BIO *b;

	if (next == NULL || X509_cmp_current_time(next) > 0)
		return 0;
	if ((b = BIO_new(BIO_s_mem())) != NULL &&
	    ASN1_TIME_print(b, next) == 1)
		BIO_read(b, when, sizeof(when) - 1);
	BIO_free(b);
	X509_NAME_oneline(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
	diag_add(d, NULL, 0, "tls crl_file %s: the CRL of %s has expired: its "
	    "nextUpdate was %s; install the CA's current CRL (with an expired "
	    "CRL every client would be refused)", path, issuer, when);
	return -1;
}

/* Every CRL in the PEM file at path, each checked, into the context's store. */
static int
tls_load_crl(SSL_CTX *ctx, const char *path, struct diag *d)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_CRL *crl;
	char err[256];
	int n = 0, rc = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		diag_add(d, NULL, 0, "tls crl_file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (rc == 0 && (crl = PEM_read_X509_CRL(fp, NULL, NULL, NULL)) !=
	    NULL) {
		n++;
		if (tls_crl_current(crl, path, d) == -1)
			rc = -1;
		else if (X509_STORE_add_crl(store, crl) != 1) {
			diag_add(d, NULL, 0, "tls crl_file %s: CRL number %d: %s",
			    path, n, tls_last_error("cannot add it", err,
			    sizeof(err)));
			rc = -1;
		}
		X509_CRL_free(crl);
	}
	fclose(fp);
	if (rc == 0 && n == 0) {
		diag_add(d, NULL, 0, "tls crl_file %s: %s", path,
		    tls_last_error("no CRL found", err, sizeof(err)));
		return -1;
	}
	ERR_clear_error();	/* the end of the file */
	if (rc == -1)
		return -1;
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK |
	    X509_V_FLAG_CRL_CHECK_ALL);
	return 0;
}

/* The name of an EC key's curve, or "explicit parameters". */
static const char *
tls_curve_name(EVP_PKEY *pk, char *buf, size_t len)
{
	size_t n;

	if (EVP_PKEY_get_group_name(pk, buf, len, &n) != 1 || n == 0)
		snprintf(buf, len, "explicit parameters");
	return buf;
}

/*
 * The certificate vixd presents must carry a key the NCSC guidelines rate
 * good: ECDSA on P-256 or P-384, or RSA of at least 3072 bits.
 */
int
tls_check_key(X509 *cert, const char *path, struct diag *d)
{
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	char curve[64];
	int nid;

	if (pk == NULL) {
		diag_add(d, NULL, 0, "tls certificate %s: no public key", path);
		return -1;
	}
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
		if (EVP_PKEY_get_bits(pk) >= TLS_RSA_MIN_BITS)
			return 0;
		diag_add(d, NULL, 0, "tls certificate %s: an RSA key of %d "
		    "bits is too weak; use RSA of at least %d bits or ECDSA "
		    "P-256 (NCSC TLS guidelines)", path, EVP_PKEY_get_bits(pk),
		    TLS_RSA_MIN_BITS);
		return -1;
	case EVP_PKEY_EC:
		nid = OBJ_txt2nid(tls_curve_name(pk, curve, sizeof(curve)));
		if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1)
			return 0;
		diag_add(d, NULL, 0, "tls certificate %s: an ECDSA key on "
		    "curve %s is not accepted; use P-256 or P-384, or RSA of "
		    "at least %d bits (NCSC TLS guidelines)", path, curve,
		    TLS_RSA_MIN_BITS);
		return -1;
	}
	diag_add(d, NULL, 0, "tls certificate %s: a key of type %s is not "
	    "accepted; use ECDSA P-256 or P-384, or RSA of at least %d bits "
	    "(NCSC TLS guidelines)", path, EVP_PKEY_get0_type_name(pk),
	    TLS_RSA_MIN_BITS);
	return -1;
}

#define TLS_KEY_FILE_MAX	(64 * 1024)	/* far above any private key */

/* Never prompt on a terminal for a passphrase: note that one was wanted. */
static int
tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	*(int *)u = 1;
	return -1;
}

/* Whether every PEM block in text (len bytes) is whole, base64 intact. */
static int
tls_pem_readable(const char *text, size_t len)
{
	BIO *b = BIO_new_mem_buf(text, (int)len);
	unsigned long e;
	unsigned char *data;
	char *name, *header;
	long n;
	int ok = 0, blocks = 0;

	while (b != NULL && PEM_read_bio(b, &name, &header, &data, &n) == 1) {
		OPENSSL_cleanse(data, (size_t)n);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		blocks++;
	}
	/* The loop ends at the end of the text, or at a broken block. */
	e = ERR_peek_last_error();
	if (b != NULL && blocks > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		ok = 1;
	BIO_free(b);
	ERR_clear_error();
	return ok;
}

/* What is wrong with the key file text (len bytes), in words. */
static void
tls_key_problem(const char *text, size_t len, int encrypted, char *buf,
    size_t buflen)
{
	const char *begin = memmem(text, len, "-----BEGIN ", 11), *label, *end;

	if (len == 0)
		snprintf(buf, buflen, "is empty");
	else if (encrypted)
		snprintf(buf, buflen, "is encrypted with a passphrase, which "
		    "vixd cannot ask for: store it decrypted (openssl pkey -in "
		    "KEY -out NEW), mode 0600, owned by vixd's user");
	else if (begin == NULL && (unsigned char)text[0] == 0x30)
		snprintf(buf, buflen, "is in DER (binary) form; vixd reads PEM: "
		    "convert it with openssl pkey -inform DER -in KEY -out NEW");
	else if (begin == NULL)
		snprintf(buf, buflen, "holds no PEM block; expected a PEM "
		    "private key (-----BEGIN PRIVATE KEY-----)");
	else if (memmem(text, len, "PRIVATE KEY-----", 16) == NULL) {
		label = begin + 11;
		end = memmem(label, len - (size_t)(label - text), "-----", 5);
		snprintf(buf, buflen, "holds a %.*s, not a private key: "
		    "expected -----BEGIN PRIVATE KEY-----", end == NULL ||
		    end - label > 40 ? 5 : (int)(end - label),
		    end == NULL || end - label > 40 ? "block" : label);
	} else if (!tls_pem_readable(text, len))
		snprintf(buf, buflen, "cannot be decoded: its PEM block is "
		    "damaged (bad base64, or no -----END line); install the key "
		    "again");
	else
		snprintf(buf, buflen, "cannot be decoded: its PEM block holds "
		    "no private key vixd can read (cut short or damaged); "
		    "install the key again");
}

/*
 * The private key at path, or NULL with the file and what is wrong with
 * it in d (OpenSSL alone would say "PEM lib").
 */
static EVP_PKEY *
tls_read_key(const char *path, struct diag *d)
{
	char *text = NULL, why[512];
	EVP_PKEY *key = NULL;
	int encrypted = 0;
	size_t len = 0;
	FILE *fp;
	BIO *b;

	if ((fp = fopen(path, "r")) == NULL) {
		diag_add(d, NULL, 0, "tls private_key %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((text = malloc(TLS_KEY_FILE_MAX)) != NULL)
		len = fread(text, 1, TLS_KEY_FILE_MAX, fp);
	fclose(fp);
	if (text == NULL || len == TLS_KEY_FILE_MAX) {
		diag_add(d, NULL, 0, "tls private_key %s: %s", path, text ?
		    "larger than 64 KiB; not a private key" : "out of memory");
		free(text);
		return NULL;
	}
	ERR_clear_error();
	if ((b = BIO_new_mem_buf(text, (int)len)) != NULL)
		key = PEM_read_bio_PrivateKey(b, NULL, tls_no_passphrase,
		    &encrypted);
	BIO_free(b);
	if (key == NULL) {
		tls_key_problem(text, len, encrypted, why, sizeof(why));
		diag_add(d, NULL, 0, "tls private_key %s %s", path, why);
	}
	OPENSSL_cleanse(text, len);
	free(text);
	ERR_clear_error();
	return key;
}

static int
tls_load_identity(SSL_CTX *ctx, const struct vixd_config *c, struct diag *d)
{
	EVP_PKEY *key;
	char err[256];

	if (config_check_secret(c->tls_private_key, "tls private_key", d) == -1)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_certificate) != 1) {
		diag_add(d, NULL, 0, "tls certificate %s: %s",
		    c->tls_certificate, tls_last_error("cannot load", err,
		    sizeof(err)));
		return -1;
	}
	if (tls_check_key(SSL_CTX_get0_certificate(ctx), c->tls_certificate,
	    d) == -1)
		return -1;
	if ((key = tls_read_key(c->tls_private_key, d)) == NULL)
		return -1;
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		diag_add(d, NULL, 0, "tls private_key %s: %s",
		    c->tls_private_key, tls_last_error("cannot load", err,
		    sizeof(err)));
		EVP_PKEY_free(key);
		return -1;
	}
	EVP_PKEY_free(key);
	if (SSL_CTX_check_private_key(ctx) != 1) {
		diag_add(d, NULL, 0, "tls private_key %s does not match "
		    "certificate %s", c->tls_private_key, c->tls_certificate);
		return -1;
	}
	return 0;
}

/*
 * What both ends share: protocol versions, suites, groups, signature
 * algorithms; no renegotiation, no compression, no session tickets.
 */
static int
tls_policy(SSL_CTX *ctx, const struct vixd_config *c, struct diag *d)
{
	char err[256];

	if (c->tls_min_version != TLS1_2_VERSION &&
	    c->tls_min_version != TLS1_3_VERSION) {
		diag_add(d, NULL, 0, "tls min_version: only 1.2 or 1.3");
		return -1;
	}
	if (vix_tls_policy(ctx, c->tls_min_version) == -1) {
		diag_add(d, NULL, 0, "cannot apply the TLS settings: %s",
		    tls_last_error("refused by OpenSSL", err, sizeof(err)));
		return -1;
	}
	return 0;
}

static int
tls_load_ca(SSL_CTX *ctx, const char *path, struct diag *d)
{
	STACK_OF(X509_NAME) *names;
	char err[256];

	if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(path)) == NULL) {
		diag_add(d, NULL, 0, "tls ca_bundle %s: %s", path,
		    tls_last_error("no certificates found", err, sizeof(err)));
		return -1;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	return 0;
}

SSL_CTX *
tls_server_ctx(const struct vixd_config *c, struct diag *d)
{
	static const unsigned char sid_ctx[] = "vixd";
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		diag_add(d, NULL, 0, "cannot create TLS context");
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	/*
	 * No resumption: every connection proves its certificate against the
	 * current CA bundle and CRL, and no ticket key or session cache lives
	 * in memory. No early data either.
	 */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_max_early_data(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (tls_policy(ctx, c, d) == -1 ||
	    tls_load_identity(ctx, c, d) == -1 ||
	    tls_load_ca(ctx, c->tls_ca_bundle, d) == -1 ||
	    (c->tls_crl_file != NULL &&
	    tls_load_crl(ctx, c->tls_crl_file, d) == -1)) {
		/* Leave no stale error to confuse SSL_get_error later. */
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

enum oin_result
tls_cert_oin(X509 *cert, char oin[OIN_LEN + 1])
{
	X509_NAME *subject = X509_get_subject_name(cert);
	const unsigned char *data;
	ASN1_STRING *value;
	int idx, len;

	if (subject == NULL ||
	    (idx = X509_NAME_get_index_by_NID(subject, NID_serialNumber, -1)) < 0)
		return OIN_MISSING;
	if (X509_NAME_get_index_by_NID(subject, NID_serialNumber, idx) >= 0)
		return OIN_MULTIPLE;
	value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
	data = ASN1_STRING_get0_data(value);
	len = ASN1_STRING_length(value);
	if (len != OIN_LEN)
		return OIN_MALFORMED;
	for (int i = 0; i < OIN_LEN; i++)
		if (data[i] < '0' || data[i] > '9')
			return OIN_MALFORMED;
	memcpy(oin, data, OIN_LEN);
	oin[OIN_LEN] = '\0';
	return OIN_OK;
}

const char *
tls_oin_strerror(enum oin_result r)
{
	switch (r) {
	case OIN_OK:
		return "ok";
	case OIN_MISSING:
		return "client certificate has no serialNumber (OIN) in its "
		    "subject";
	case OIN_MALFORMED:
		return "client certificate subject serialNumber is not a "
		    "20-digit OIN";
	case OIN_MULTIPLE:
		return "client certificate subject has more than one "
		    "serialNumber";
	}
	return "unknown OIN error";
}

/*
 * Add to d the problems in mine it does not hold yet: the client context
 * loads the same identity as the server context, and a configuration
 * checked with both should name each problem once.
 */
static void
tls_diag_merge(struct diag *d, const struct diag *mine)
{
	char copy[sizeof(mine->text)], *save, *line;

	snprintf(copy, sizeof(copy), "%s", mine->text);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strstr(d->text, line) == NULL)
			diag_add(d, NULL, 0, "%s", line);
}

SSL_CTX *
tls_client_ctx(const struct vixd_config *c, struct diag *d)
{
	struct diag mine;
	SSL_CTX *ctx;
	char err[256];

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		diag_add(d, NULL, 0, "cannot create TLS client context");
		return NULL;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	diag_init(&mine);
	if (tls_policy(ctx, c, &mine) == -1 ||
	    tls_load_identity(ctx, c, &mine) == -1)
		goto fail;
	if (SSL_CTX_load_verify_locations(ctx, c->tls_ca_bundle, NULL) != 1) {
		diag_add(&mine, NULL, 0, "tls ca_bundle %s: %s",
		    c->tls_ca_bundle, tls_last_error("no certificates found",
		    err, sizeof(err)));
		goto fail;
	}
	return ctx;
fail:
	tls_diag_merge(d, &mine);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

int
tls_recheck_peer(SSL *ssl, SSL_CTX *ctx, const char **why)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	X509_STORE_CTX *xs;
	int ok;

	*why = "no peer certificate";
	if (peer == NULL)
		return -1;
	*why = "out of memory checking the certificate";
	if ((xs = X509_STORE_CTX_new()) == NULL)
		return -1;
	ERR_clear_error();
	if (X509_STORE_CTX_init(xs, SSL_CTX_get_cert_store(ctx), peer,
	    SSL_get_peer_cert_chain(ssl)) != 1) {
		X509_STORE_CTX_free(xs);
		return -1;
	}
	/* What the handshake used: the purpose, and ssl's host name if any. */
	X509_STORE_CTX_set_default(xs, SSL_is_server(ssl) ? "ssl_client" :
	    "ssl_server");
	X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(xs),
	    SSL_get0_param(ssl));
	ok = X509_verify_cert(xs) == 1;
	if (!ok)
		*why = X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(xs));
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
	return ok ? 0 : -1;
}
