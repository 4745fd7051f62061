/*
 * Development material for `vixd --dev`: a CA, a server certificate for
 * localhost, client certificates with distinct OINs, a listener certificate
 * for the partner (push mode), a pseudonym key and an orgs.conf. The building blocks are also used by the tests to make
 * certificates of their own (another CA, an unknown OIN).
 */
#ifndef VIX_DEVCERT_H
#define VIX_DEVCERT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "diag.h"

/* The organisations --dev creates, and their OINs. */
struct devcert_org {
	const char	*id;
	const char	*oin;
};
extern const struct devcert_org devcert_orgs[];
extern const size_t devcert_norgs;

/*
 * The partner's listener certificate (push mode), NAME.pem and NAME.key:
 * `vix --dev partner listen` serves with it.
 */
#define DEVCERT_LISTEN_NAME	"partner-listen"

/*
 * vixd's own client certificate towards its development key holder
 * (devkeyd.c), with role index there; not an organisation of the index.
 */
#define DEVCERT_INDEX_NAME	"index"
#define DEVCERT_INDEX_OIN	"00000009990000000005"

/* A new ECDSA P-256 key. */
EVP_PKEY	*devcert_key(void);

/* A self-signed CA certificate valid for days. */
X509		*devcert_ca(EVP_PKEY *key, const char *cn, int days);

/* What a leaf certificate is for: its extended key usage and names. */
enum devcert_use {
	DEVCERT_CLIENT,	/* an organisation: clientAuth only, no SANs */
	DEVCERT_SERVER,	/* vixd: serverAuth, and clientAuth to dial push
			   targets; SANs localhost, 127.0.0.1, ::1 */
	DEVCERT_LISTEN,	/* a partner's `vix listen`: serverAuth only, the
			   same SANs */
};

/*
 * A leaf certificate for key signed by ca/ca_key, for use. oin (may be
 * NULL) goes into the subject serialNumber as given, unchecked, so tests
 * can make malformed ones.
 */
X509		*devcert_leaf(EVP_PKEY *key, const char *cn, const char *oin,
		    enum devcert_use use, X509 *ca, EVP_PKEY *ca_key, int days);

/* Write PEM files atomically: keys with mode 0600, certificates 0644. */
int		 devcert_write_key(const char *path, EVP_PKEY *key);
int		 devcert_write_cert(const char *path, X509 *cert);

/*
 * Create what is missing under dir (and dir itself, mode 0700), reusing
 * what is there. Returns 0, or -1 after adding the problem to d.
 */
int		 devcert_ensure(const char *dir, struct diag *d);

#endif
