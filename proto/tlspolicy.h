/*
 * The TLS settings vixd and libvix share, so that both ends of every
 * connection (vixd's listener and its push dialler, libvix's clients and
 * vix listen) offer only what the NCSC TLS guidelines (ICT-
 * beveiligingsrichtlijnen voor TLS, v2.1) rate "good".
 */
#ifndef VIX_TLSPOLICY_H
#define VIX_TLSPOLICY_H

#include <openssl/ssl.h>

/*
 * Apply the policy to ctx with min_version TLS1_2_VERSION or
 * TLS1_3_VERSION: suites, groups, signature algorithms, security level,
 * no renegotiation, compression or tickets. Returns 0, or -1 with the
 * reason on OpenSSL's error queue.
 */
int	vix_tls_policy(SSL_CTX *ctx, int min_version);

#endif
