/* Development CA, certificates, pseudonym key and orgs.conf for --dev. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "devcert.h"

/*
 * Leaves within the 398 days browsers and scanners accept since 2020 (the
 * notBefore an hour back counts too); the CA lives longer. Material within
 * DEV_RENEW_DAYS of its end is made anew.
 */
#define DEV_DAYS	396
#define DEV_CA_DAYS	1650
#define DEV_RENEW_DAYS	30

const struct devcert_org devcert_orgs[] = {
	{ "org-a",	"00000009990000000001" },
	{ "org-b",	"00000009990000000002" },
	{ "partner",	"00000009990000000003" },
	{ "admin",	"00000009990000000004" },
};
const size_t devcert_norgs = sizeof(devcert_orgs) / sizeof(devcert_orgs[0]);

static const char devcert_orgs_conf[] =
"# Development organisations created by `vixd --dev`. Not for production.\n"
"# See conf/orgs.conf.example for every key.\n"
"\n"
"[org org-a]\n"
"oin = 00000009990000000001\n"
"name = Development organisation A\n"
"roles = register, subscribe\n"
"rank = 10\n"
"municipality = 0363\n"
"\n"
"[org org-b]\n"
"oin = 00000009990000000002\n"
"name = Development organisation B\n"
"roles = register, subscribe\n"
"rank = 20\n"
"municipality = 0599\n"
"\n"
"[org partner]\n"
"oin = 00000009990000000003\n"
"name = Development partner system\n"
"roles = subscribe\n"
"receives_for = org-a, org-b\n"
"\n"
"[org admin]\n"
"oin = 00000009990000000004\n"
"name = Development administrator\n"
"roles = admin\n"
"\n"
"[municipality 0363]\n"
"escalation = partner\n"
"\n"
"[escalation]\n"
"default = partner\n";

EVP_PKEY *
devcert_key(void)
{
	return EVP_EC_gen("P-256");
}

static int
devcert_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* Version, random serial, validity, subject, public key. */
static X509 *
devcert_base(EVP_PKEY *key, const char *cn, const char *oin, int days)
{
	unsigned char serial[16];
	X509 *x = X509_new();
	X509_NAME *name;
	BIGNUM *bn = NULL;

	if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) ||
	    !X509_set_pubkey(x, key))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"vix development", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0))
		goto fail;
	if (oin != NULL && !X509_NAME_add_entry_by_NID(name, NID_serialNumber,
	    MBSTRING_ASC, (const unsigned char *)oin, -1, -1, 0))
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

X509 *
devcert_ca(EVP_PKEY *key, const char *cn, int days)
{
	X509 *x = devcert_base(key, cn, NULL, days);

	if (x == NULL)
		return NULL;
	if (!X509_set_issuer_name(x, X509_get_subject_name(x)) ||
	    devcert_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") ||
	    devcert_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    devcert_ext(x, x, NID_subject_key_identifier, "hash") ||
	    !X509_sign(x, key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* The extended key usage of each use; only servers get names. */
static const char *
devcert_eku(enum devcert_use use)
{
	switch (use) {
	case DEVCERT_CLIENT:
		return "clientAuth";
	case DEVCERT_SERVER:
		/* vixd dials push targets with its own certificate. */
		return "serverAuth,clientAuth";
	case DEVCERT_LISTEN:
		return "serverAuth";
	}
	return "clientAuth";
}

X509 *
devcert_leaf(EVP_PKEY *key, const char *cn, const char *oin,
    enum devcert_use use, X509 *ca, EVP_PKEY *ca_key, int days)
{
	X509 *x = devcert_base(key, cn, oin, days);

	if (x == NULL)
		return NULL;
	if (!X509_set_issuer_name(x, X509_get_subject_name(ca)) ||
	    devcert_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    devcert_ext(x, ca, NID_key_usage,
	    "critical,digitalSignature,keyAgreement") ||
	    devcert_ext(x, ca, NID_ext_key_usage, devcert_eku(use)) ||
	    (use != DEVCERT_CLIENT && devcert_ext(x, ca, NID_subject_alt_name,
	    "DNS:localhost,IP:127.0.0.1,IP:::1")) ||
	    devcert_ext(x, ca, NID_authority_key_identifier, "keyid:always") ||
	    !X509_sign(x, ca_key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Write to path.tmp with mode, then rename, so a crash leaves no half file. */
static FILE *
devcert_open(const char *path, mode_t mode, char *tmp, size_t len)
{
	int fd;

	snprintf(tmp, len, "%s.tmp", path);
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) == -1)
		return NULL;
	return fdopen(fd, "w");
}

static int
devcert_close(FILE *fp, int ok, const char *tmp, const char *path)
{
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
		ok = 0;
	if (fclose(fp) != 0)
		ok = 0;
	if (ok && rename(tmp, path) == 0)
		return 0;
	unlink(tmp);
	return -1;
}

int
devcert_write_key(const char *path, EVP_PKEY *key)
{
	char tmp[4096];
	FILE *fp = devcert_open(path, 0600, tmp, sizeof(tmp));

	if (fp == NULL)
		return -1;
	return devcert_close(fp, PEM_write_PrivateKey(fp, key, NULL, NULL, 0,
	    NULL, NULL), tmp, path);
}

int
devcert_write_cert(const char *path, X509 *cert)
{
	char tmp[4096];
	FILE *fp = devcert_open(path, 0644, tmp, sizeof(tmp));

	if (fp == NULL)
		return -1;
	return devcert_close(fp, PEM_write_X509(fp, cert), tmp, path);
}

static int
devcert_write_bytes(const char *path, const void *buf, size_t len, mode_t mode)
{
	char tmp[4096];
	FILE *fp = devcert_open(path, mode, tmp, sizeof(tmp));

	if (fp == NULL)
		return -1;
	return devcert_close(fp, fwrite(buf, 1, len, fp) == len, tmp, path);
}

static int
devcert_exists(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/*
 * Whether an organisation's certificate is for clients only: those made
 * before were good for both ends (and named localhost), so that any of
 * them could pose as vixd to a partner's `vix listen`.
 */
static int
devcert_client_only(X509 *x)
{
	return (X509_get_extended_key_usage(x) & XKU_SSL_SERVER) == 0 &&
	    X509_get_ext_by_NID(x, NID_subject_alt_name, -1) < 0;
}

/*
 * Whether the certificate in path is good for DEV_RENEW_DAYS more and, for
 * a client, for clients only.
 */
static int
devcert_lasting(const char *path, int client)
{
	FILE *fp = fopen(path, "r");
	X509 *x = NULL;
	time_t t = time(NULL) + DEV_RENEW_DAYS * 86400L;
	int ok;

	if (fp != NULL) {
		x = PEM_read_X509(fp, NULL, NULL, NULL);
		fclose(fp);
	}
	ok = x != NULL && X509_cmp_time(X509_get0_notAfter(x), &t) > 0 &&
	    (!client || devcert_client_only(x));
	X509_free(x);
	return ok;
}

/*
 * Whether name.pem and name.key are both there, not about to expire and,
 * for a client, for clients only.
 */
static int
devcert_have_pair(const char *dir, const char *name, int client)
{
	char pem[64], key[64], path[4096];

	snprintf(pem, sizeof(pem), "%s.pem", name);
	snprintf(key, sizeof(key), "%s.key", name);
	snprintf(path, sizeof(path), "%s/%s", dir, pem);
	return devcert_exists(dir, pem) && devcert_exists(dir, key) &&
	    devcert_lasting(path, client);
}

/* Load the CA, or make a new one; *fresh tells whether it is new. */
static int
devcert_load_ca(const char *dir, X509 **ca, EVP_PKEY **key, int *fresh)
{
	char cpath[4096], kpath[4096];
	FILE *fp;

	snprintf(cpath, sizeof(cpath), "%s/ca.pem", dir);
	snprintf(kpath, sizeof(kpath), "%s/ca.key", dir);
	*fresh = !devcert_have_pair(dir, "ca", 0);
	if (*fresh) {
		if ((*key = devcert_key()) == NULL ||
		    (*ca = devcert_ca(*key, "vix development CA", DEV_CA_DAYS))
		    == NULL)
			return -1;
		return devcert_write_key(kpath, *key) == 0 &&
		    devcert_write_cert(cpath, *ca) == 0 ? 0 : -1;
	}
	if ((fp = fopen(cpath, "r")) == NULL)
		return -1;
	*ca = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if ((fp = fopen(kpath, "r")) == NULL)
		return -1;
	*key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	return *ca != NULL && *key != NULL ? 0 : -1;
}

static int
devcert_make_leaf(const char *dir, const char *name, const char *oin,
    enum devcert_use use, X509 *ca, EVP_PKEY *ca_key)
{
	char cpath[4096], kpath[4096];
	EVP_PKEY *key;
	X509 *x = NULL;
	int rc = -1;

	snprintf(cpath, sizeof(cpath), "%s/%s.pem", dir, name);
	snprintf(kpath, sizeof(kpath), "%s/%s.key", dir, name);
	if ((key = devcert_key()) != NULL &&
	    (x = devcert_leaf(key, name, oin, use, ca, ca_key, DEV_DAYS))
	    != NULL &&
	    devcert_write_key(kpath, key) == 0 &&
	    devcert_write_cert(cpath, x) == 0)
		rc = 0;
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

static int
devcert_leaves(const char *dir, int fresh, X509 *ca, EVP_PKEY *ca_key)
{
	if ((fresh || !devcert_have_pair(dir, "server", 0)) &&
	    devcert_make_leaf(dir, "server", NULL, DEVCERT_SERVER, ca,
	    ca_key) == -1)
		return -1;
	/* The partner's `vix --dev partner listen` serves with this one. */
	if ((fresh || !devcert_have_pair(dir, DEVCERT_LISTEN_NAME, 0)) &&
	    devcert_make_leaf(dir, DEVCERT_LISTEN_NAME, NULL, DEVCERT_LISTEN,
	    ca, ca_key) == -1)
		return -1;
	if ((fresh || !devcert_have_pair(dir, DEVCERT_INDEX_NAME, 1)) &&
	    devcert_make_leaf(dir, DEVCERT_INDEX_NAME, DEVCERT_INDEX_OIN,
	    DEVCERT_CLIENT, ca, ca_key) == -1)
		return -1;
	for (size_t i = 0; i < devcert_norgs; i++)
		if ((fresh || !devcert_have_pair(dir, devcert_orgs[i].id, 1)) &&
		    devcert_make_leaf(dir, devcert_orgs[i].id,
		    devcert_orgs[i].oin, DEVCERT_CLIENT, ca, ca_key) == -1)
			return -1;
	return 0;
}

static int
devcert_secrets(const char *dir)
{
	unsigned char key[32];
	char path[4096];
	int rc = 0;

	snprintf(path, sizeof(path), "%s/pseudonym.key", dir);
	if (!devcert_exists(dir, "pseudonym.key")) {
		if (RAND_bytes(key, sizeof(key)) != 1)
			return -1;
		rc = devcert_write_bytes(path, key, sizeof(key), 0600);
		OPENSSL_cleanse(key, sizeof(key));
	}
	snprintf(path, sizeof(path), "%s/orgs.conf", dir);
	if (rc == 0 && !devcert_exists(dir, "orgs.conf"))
		rc = devcert_write_bytes(path, devcert_orgs_conf,
		    sizeof(devcert_orgs_conf) - 1, 0644);
	return rc;
}

int
devcert_ensure(const char *dir, struct diag *d)
{
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	int fresh, rc = -1;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		diag_add(d, NULL, 0, "cannot create %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (devcert_load_ca(dir, &ca, &ca_key, &fresh) == -1)
		diag_add(d, NULL, 0, "%s: cannot load or create the "
		    "development CA (ca.pem, ca.key)", dir);
	else if (devcert_leaves(dir, fresh, ca, ca_key) == -1)
		diag_add(d, NULL, 0, "%s: cannot create development "
		    "certificates: %s", dir, strerror(errno));
	else if (devcert_secrets(dir) == -1)
		diag_add(d, NULL, 0, "%s: cannot create pseudonym.key or "
		    "orgs.conf: %s", dir, strerror(errno));
	else
		rc = 0;
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return rc;
}
