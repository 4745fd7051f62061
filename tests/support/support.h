/*
 * Helpers shared by the unit and integration tests: temporary folders,
 * files with a given mode, and certificates made with daemon/devcert.h.
 *
 * A helper that cannot do its job (no disk space, OpenSSL refuses) prints
 * what failed and aborts: the test then fails as a crash, and callers need
 * not check results.
 */
#ifndef VIX_TEST_SUPPORT_H
#define VIX_TEST_SUPPORT_H

#include <sys/types.h>

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* A new empty directory (mode 0700) under $TMPDIR or /tmp, named for tag. */
char		*support_tmpdir(const char *tag);
/* Remove dir and everything under it, then free the string. NULL is fine. */
void		 support_tmpdir_remove(char *dir);

/* dir/name, allocated. */
char		*support_path(const char *dir, const char *name);

/* Replace path with text and set exactly mode (umask does not apply). */
void		 support_write_file(const char *path, const char *text,
		    mode_t mode);
/* The whole file, NUL-terminated, with its length in *len (may be NULL). */
char		*support_read_file(const char *path, size_t *len);
/* Permission bits of path (mode & 07777). */
mode_t		 support_file_mode(const char *path);

/*
 * Memory no longer reachable, as LeakSanitizer finds it now: the number of
 * leaks (reported on stderr), or 0, also when not built with AddressSanitizer.
 * Criterion ignores leaks found when a test process exits, so tests that
 * care call this at their end: cr_assert_eq(support_leaks(), 0).
 */
int		 support_leaks(void);

/* A certificate authority made with devcert_ca. */
struct support_ca {
	EVP_PKEY	*key;
	X509		*cert;
};

void		 support_ca_make(struct support_ca *, const char *cn);
void		 support_ca_free(struct support_ca *);

/*
 * A leaf certificate signed by ca for a new key, returned in *key. oin goes
 * into the subject serialNumber unchecked (NULL: none); server selects
 * serverAuth with localhost SANs, otherwise clientAuth.
 */
X509		*support_leaf(const struct support_ca *ca, const char *cn,
		    const char *oin, int server, EVP_PKEY **key);

/* PEM files: the key with mode 0600, the certificate 0644. */
void		 support_write_key(const char *path, EVP_PKEY *key);
void		 support_write_cert(const char *path, X509 *cert);
/* The first certificate in a PEM file, or NULL if there is none. */
X509		*support_read_cert(const char *path);

/* The subject serialNumber of cert, or "" if it has none. */
const char	*support_cert_serial_number(X509 *cert, char *buf, size_t len);

#endif
