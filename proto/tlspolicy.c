/* The TLS settings vixd and libvix share: see tlspolicy.h. */
#include "tlspolicy.h"

/*
 * Only what the NCSC TLS guidelines (ICT-beveiligingsrichtlijnen voor TLS,
 * v2.1) rate "good". TLS 1.2, when configured: ephemeral ECDH with AEAD,
 * strongest first. TLS 1.3: the three standard AEAD suites. Groups: the
 * elliptic curves rated good, so no finite-field DH below 3072 bits (nor
 * above: clients offer an ECDHE group anyway). Signatures: SHA-2 only.
 */
#define TLS12_CIPHERS	"ECDHE-ECDSA-AES256-GCM-SHA384:"		\
			"ECDHE-ECDSA-CHACHA20-POLY1305:"		\
			"ECDHE-ECDSA-AES128-GCM-SHA256:"		\
			"ECDHE-RSA-AES256-GCM-SHA384:"			\
			"ECDHE-RSA-CHACHA20-POLY1305:"			\
			"ECDHE-RSA-AES128-GCM-SHA256"
#define TLS13_SUITES	"TLS_AES_256_GCM_SHA384:"			\
			"TLS_CHACHA20_POLY1305_SHA256:"			\
			"TLS_AES_128_GCM_SHA256"
#define TLS_GROUPS	"X25519:P-256:X448:P-384"
#define TLS_SIGALGS	"ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:"	\
			"rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:"	\
			"rsa_pss_rsae_sha512:rsa_pss_pss_sha256:"	\
			"rsa_pss_pss_sha384:rsa_pss_pss_sha512:"	\
			"RSA+SHA256:RSA+SHA384:RSA+SHA512:ed25519:ed448"
/* OpenSSL's level 2 (112 bits) at least, whatever openssl.cnf says. */
#define TLS_SECURITY_LEVEL	2

int
vix_tls_policy(SSL_CTX *ctx, int min_version)
{
	if (SSL_CTX_get_security_level(ctx) < TLS_SECURITY_LEVEL)
		SSL_CTX_set_security_level(ctx, TLS_SECURITY_LEVEL);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
	SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
	if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1 ||
	    SSL_CTX_set1_sigalgs_list(ctx, TLS_SIGALGS) != 1)
		return -1;
	return 0;
}
