/* Pseudonym key loading. */
#include <sys/mman.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "config.h"
#include "pseudonym.h"
#include "rules.h"

/* The key's page: one, since mlock and madvise work on whole pages. */
static size_t
pseudonym_key_page(void)
{
	long n = sysconf(_SC_PAGESIZE);

	return n > 0 ? (size_t)n : 4096;
}

unsigned char *
pseudonym_key_new(int *locked)
{
	size_t len = pseudonym_key_page();
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	*locked = 0;
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, len, MADV_DONTDUMP);
	/*
	 * The system call itself: AddressSanitizer replaces mlock() by a
	 * no-op that reports success, and the sanitizer build must keep
	 * the key locked too.
	 */
	*locked = syscall(SYS_mlock, p, len) == 0;	/* errno says why not */
	return p;
}

void
pseudonym_key_free(unsigned char *key)
{
	size_t len = pseudonym_key_page();

	if (key == NULL)
		return;
	OPENSSL_cleanse(key, len);
	munmap(key, len);	/* which unlocks it */
}

int
pseudonym_key_load(const char *path, unsigned char key[PSEUDONYM_KEY_LEN],
    struct diag *d)
{
	unsigned char buf[PSEUDONYM_KEY_LEN + 1];
	ssize_t n;
	int fd;

	if (config_check_secret(path, "pseudonym_key_file", d) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		diag_add(d, NULL, 0, "pseudonym_key_file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != PSEUDONYM_KEY_LEN) {
		diag_add(d, NULL, 0, "pseudonym_key_file %s: must hold exactly "
		    "%d random bytes; create one with: head -c %d /dev/urandom "
		    "> %s && chmod 600 %s", path, PSEUDONYM_KEY_LEN,
		    PSEUDONYM_KEY_LEN, path, path);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	memcpy(key, buf, PSEUDONYM_KEY_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

#define PSEUDONYM_DOMAIN	"vix:bsn:v1:"
#define PSEUDONYM_KEY_LABEL	"vix:key-id:v1"

int
pseudonym_key_id(const unsigned char key[PSEUDONYM_KEY_LEN],
    char out[PSEUDONYM_KEY_ID_LEN])
{
	unsigned char mac[32];
	size_t n = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key,
	    PSEUDONYM_KEY_LEN, (const unsigned char *)PSEUDONYM_KEY_LABEL,
	    sizeof(PSEUDONYM_KEY_LABEL) - 1, mac, sizeof(mac), &n) == NULL ||
	    n != sizeof(mac))
		return -1;
	for (size_t i = 0; i < (PSEUDONYM_KEY_ID_LEN - 1) / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

struct pseudonym_ctx {
	EVP_MAC		*mac;
	EVP_MAC_CTX	*ctx;
};

struct pseudonym_ctx *
pseudonym_ctx_new(const unsigned char key[PSEUDONYM_KEY_LEN])
{
	struct pseudonym_ctx *p = calloc(1, sizeof(*p));
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	if (p == NULL)
		return NULL;
	if ((p->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (p->ctx = EVP_MAC_CTX_new(p->mac)) == NULL ||
	    !EVP_MAC_init(p->ctx, key, PSEUDONYM_KEY_LEN, params)) {
		pseudonym_ctx_free(p);
		return NULL;
	}
	return p;
}

void
pseudonym_ctx_free(struct pseudonym_ctx *p)
{
	if (p == NULL)
		return;
	EVP_MAC_CTX_free(p->ctx);
	EVP_MAC_free(p->mac);
	free(p);
}

int
pseudonym_compute(struct pseudonym_ctx *p, const char *bsn, size_t len,
    unsigned char out[32])
{
	size_t n = 0;

	/* A NULL key re-initialises with the key schedule already computed. */
	if (!EVP_MAC_init(p->ctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(p->ctx, (const unsigned char *)PSEUDONYM_DOMAIN,
	    sizeof(PSEUDONYM_DOMAIN) - 1) ||
	    !EVP_MAC_update(p->ctx, (const unsigned char *)bsn, len) ||
	    !EVP_MAC_final(p->ctx, out, &n, 32) || n != 32)
		return -1;
	return 0;
}

int
pseudonym_from_bsn(struct pseudonym_ctx *p, char *bsn, unsigned char out[32],
    const char **why)
{
	size_t len = bsn ? strlen(bsn) : 0;
	enum bsn_error e = rules_check_bsn(bsn ? bsn : "", len);
	int rc = 0;

	if (e != BSN_OK) {
		*why = rules_bsn_strerror(e);
		rc = -1;
	} else if (pseudonym_compute(p, bsn, len, out) == -1) {
		*why = "cannot compute the pseudonym";
		rc = -2;
	}
	if (len > 0)
		OPENSSL_cleanse(bsn, len);
	return rc;
}
