/* Test helpers: temporary folders, files and certificates. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/objects.h>
#include <openssl/pem.h>

#include "devcert.h"
#include "support.h"

#if defined(__SANITIZE_ADDRESS__)
#define SUPPORT_LSAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SUPPORT_LSAN	1
#endif
#endif
#ifdef SUPPORT_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define SUPPORT_DAYS	30

static void support_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
support_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "test support: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

char *
support_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (asprintf(&dir, "%s/vix-%s-XXXXXX", base, tag) == -1)
		support_die("support_tmpdir: out of memory");
	if (mkdtemp(dir) == NULL)
		support_die("support_tmpdir: mkdtemp %s: %s", dir,
		    strerror(errno));
	return dir;
}

static int
support_remove_one(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	if (remove(path) == -1 && errno != ENOENT)
		fprintf(stderr, "test support: remove %s: %s\n", path,
		    strerror(errno));
	return 0;
}

void
support_tmpdir_remove(char *dir)
{
	if (dir == NULL)
		return;
	nftw(dir, support_remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

char *
support_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) == -1)
		support_die("support_path: out of memory");
	return p;
}

void
support_write_file(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text);
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600))
	    == -1)
		support_die("open %s: %s", path, strerror(errno));
	if (write(fd, text, len) != (ssize_t)len)
		support_die("write %s: %s", path, strerror(errno));
	if (fchmod(fd, mode) == -1)
		support_die("fchmod %s: %s", path, strerror(errno));
	if (close(fd) == -1)
		support_die("close %s: %s", path, strerror(errno));
}

char *
support_read_file(const char *path, size_t *len)
{
	FILE *fp;
	char *buf;
	long n;

	if ((fp = fopen(path, "rb")) == NULL)
		support_die("fopen %s: %s", path, strerror(errno));
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1)
		support_die("seek %s: %s", path, strerror(errno));
	if ((buf = malloc((size_t)n + 1)) == NULL)
		support_die("support_read_file: out of memory");
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n)
		support_die("read %s: short read", path);
	fclose(fp);
	buf[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

mode_t
support_file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		support_die("stat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

int
support_leaks(void)
{
#ifdef SUPPORT_LSAN
	return __lsan_do_recoverable_leak_check();
#else
	return 0;
#endif
}

void
support_ca_make(struct support_ca *ca, const char *cn)
{
	if ((ca->key = devcert_key()) == NULL ||
	    (ca->cert = devcert_ca(ca->key, cn, SUPPORT_DAYS)) == NULL)
		support_die("cannot make CA '%s'", cn);
}

void
support_ca_free(struct support_ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	ca->cert = NULL;
	ca->key = NULL;
}

X509 *
support_leaf(const struct support_ca *ca, const char *cn, const char *oin,
    int server, EVP_PKEY **key)
{
	X509 *x;

	if ((*key = devcert_key()) == NULL ||
	    (x = devcert_leaf(*key, cn, oin, server, ca->cert, ca->key,
	    SUPPORT_DAYS)) == NULL)
		support_die("cannot make certificate '%s'", cn);
	return x;
}

void
support_write_key(const char *path, EVP_PKEY *key)
{
	if (devcert_write_key(path, key) == -1)
		support_die("cannot write key %s: %s", path, strerror(errno));
}

void
support_write_cert(const char *path, X509 *cert)
{
	if (devcert_write_cert(path, cert) == -1)
		support_die("cannot write certificate %s: %s", path,
		    strerror(errno));
}

X509 *
support_read_cert(const char *path)
{
	FILE *fp;
	X509 *x;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	return x;
}

const char *
support_cert_serial_number(X509 *cert, char *buf, size_t len)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int idx = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
	ASN1_STRING *v;

	buf[0] = '\0';
	if (idx < 0)
		return buf;
	v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	snprintf(buf, len, "%.*s", ASN1_STRING_length(v),
	    (const char *)ASN1_STRING_get0_data(v));
	return buf;
}
