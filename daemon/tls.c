/* Server SSL_CTX construction and OIN extraction. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"

/* TLS 1.2 only: forward secret AEAD suites. TLS 1.3 keeps OpenSSL's set. */
#define TLS12_CIPHERS	"ECDHE+AESGCM:ECDHE+CHACHA20"

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

static int
tls_load_crl(SSL_CTX *ctx, const char *path, struct diag *d)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_LOOKUP *lookup;
	char err[256];

	if ((lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file())) == NULL ||
	    X509_load_crl_file(lookup, path, X509_FILETYPE_PEM) <= 0) {
		diag_add(d, NULL, 0, "tls crl_file %s: %s", path,
		    tls_last_error("cannot load", err, sizeof(err)));
		return -1;
	}
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK |
	    X509_V_FLAG_CRL_CHECK_ALL);
	return 0;
}

static int
tls_load_identity(SSL_CTX *ctx, const struct vixd_config *c, struct diag *d)
{
	char err[256];

	if (config_check_secret(c->tls_private_key, "tls private_key", d) == -1)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_certificate) != 1) {
		diag_add(d, NULL, 0, "tls certificate %s: %s",
		    c->tls_certificate, tls_last_error("cannot load", err,
		    sizeof(err)));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_private_key,
	    SSL_FILETYPE_PEM) != 1) {
		diag_add(d, NULL, 0, "tls private_key %s: %s",
		    c->tls_private_key, tls_last_error("cannot load", err,
		    sizeof(err)));
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		diag_add(d, NULL, 0, "tls private_key %s does not match "
		    "certificate %s", c->tls_private_key, c->tls_certificate);
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
	SSL_CTX_set_min_proto_version(ctx, c->tls_min_version);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
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

SSL_CTX *
tls_client_ctx(const struct vixd_config *c, struct diag *d)
{
	SSL_CTX *ctx;
	char err[256];

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		diag_add(d, NULL, 0, "cannot create TLS client context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, c->tls_min_version);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    tls_load_identity(ctx, c, d) == -1)
		goto fail;
	if (SSL_CTX_load_verify_locations(ctx, c->tls_ca_bundle, NULL) != 1) {
		diag_add(d, NULL, 0, "tls ca_bundle %s: %s", c->tls_ca_bundle,
		    tls_last_error("no certificates found", err, sizeof(err)));
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}
