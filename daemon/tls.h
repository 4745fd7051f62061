/* TLS contexts and the organisation identity carried in a certificate. */
#ifndef VIX_TLS_H
#define VIX_TLS_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "diag.h"
#include "orgs.h"

enum oin_result {
	OIN_OK = 0,
	OIN_MISSING,		/* no serialNumber in the subject */
	OIN_MALFORMED,		/* serialNumber is not 20 digits */
	OIN_MULTIPLE,		/* more than one serialNumber */
};

/*
 * Build the server context from the [tls] settings: certificate chain (its
 * key checked with tls_check_key), private key (refused if group/world
 * readable), CA bundle for client certificates (required), optional CRL,
 * minimum version. Suites, groups and options are the NCSC "good" set;
 * no renegotiation, compression, session resumption or early data.
 * Returns NULL after adding the problems to d.
 */
SSL_CTX		*tls_server_ctx(const struct vixd_config *, struct diag *d);

/*
 * The context vixd dials push targets with: its own certificate and key as
 * the client certificate, the CA bundle to verify the partner's server, the
 * same versions, suites and options as the server context. A problem d
 * already names (the server context loads the same identity) is not added
 * again.
 */
SSL_CTX		*tls_client_ctx(const struct vixd_config *, struct diag *d);

/*
 * Whether cert's key is one vixd may present: ECDSA P-256 or P-384, or RSA
 * of at least 3072 bits. Returns 0, or -1 after adding to d a problem that
 * names path, the key found and what to use instead.
 */
int		 tls_check_key(X509 *cert, const char *path, struct diag *d);

/* The OIN in the subject serialNumber of cert, into oin (21 bytes). */
enum oin_result	 tls_cert_oin(X509 *cert, char oin[OIN_LEN + 1]);
const char	*tls_oin_strerror(enum oin_result);

/* The reason for the most recent OpenSSL error on this thread, or fallback. */
/*
 * Verify the peer of an established ssl again, against ctx (a newer
 * context: its CA bundle, CRL and the time now), as the handshake did.
 * Returns 0, or -1 with the reason (revoked, expired, ...) in *why.
 */
int		 tls_recheck_peer(SSL *ssl, SSL_CTX *ctx, const char **why);

const char	*tls_last_error(const char *fallback, char *buf, size_t len);

#endif
