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
 * Build the server context from the [tls] settings: certificate chain,
 * private key (refused if group/world readable), CA bundle for client
 * certificates (required), optional CRL, minimum version. Returns NULL after
 * adding the problems to d.
 */
SSL_CTX		*tls_server_ctx(const struct vixd_config *, struct diag *d);

/*
 * The context vixd dials push targets with: its own certificate and key as
 * the client certificate, the CA bundle to verify the partner's server.
 */
SSL_CTX		*tls_client_ctx(const struct vixd_config *, struct diag *d);

/* The OIN in the subject serialNumber of cert, into oin (21 bytes). */
enum oin_result	 tls_cert_oin(X509 *cert, char oin[OIN_LEN + 1]);
const char	*tls_oin_strerror(enum oin_result);

/* The reason for the most recent OpenSSL error on this thread, or fallback. */
const char	*tls_last_error(const char *fallback, char *buf, size_t len);

#endif
