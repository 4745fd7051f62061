/* vix-keyd's key file and the locked page holding its keys. */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "keys.h"

#define KEYS_ID_LABEL	"vix:oprf-key-id:v1"

_Static_assert(sizeof(struct keys) <= 4096, "the keys fit in one page");

static size_t
keys_page(void)
{
	long n = sysconf(_SC_PAGESIZE);

	return n > 0 ? (size_t)n : 4096;
}

struct keys *
keys_new(int *locked)
{
	size_t len = keys_page();
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	*locked = 0;
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, len, MADV_DONTDUMP);
	/* The system call: AddressSanitizer's mlock() is a no-op. */
	*locked = syscall(SYS_mlock, p, len) == 0;
	return p;
}

void
keys_free(struct keys *ks)
{
	if (ks == NULL)
		return;
	sodium_memzero(ks, keys_page());
	munmap(ks, keys_page());
}

int
keys_id(const unsigned char k[KEYS_SCALAR_LEN], unsigned char id[KEYS_ID_LEN])
{
	unsigned char pk[crypto_core_ristretto255_BYTES];
	unsigned char h[crypto_hash_sha512_BYTES];
	crypto_hash_sha512_state st;

	if (crypto_scalarmult_ristretto255_base(pk, k) != 0)
		return -1;
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, (const unsigned char *)KEYS_ID_LABEL,
	    sizeof(KEYS_ID_LABEL) - 1);
	crypto_hash_sha512_update(&st, pk, sizeof(pk));
	crypto_hash_sha512_final(&st, h);
	memcpy(id, h, KEYS_ID_LEN);
	return 0;
}

int
keys_delta(const unsigned char from[KEYS_SCALAR_LEN],
    const unsigned char to[KEYS_SCALAR_LEN], unsigned char delta[KEYS_SCALAR_LEN])
{
	unsigned char inv[KEYS_SCALAR_LEN];

	if (crypto_core_ristretto255_scalar_invert(inv, from) != 0)
		return -1;
	crypto_core_ristretto255_scalar_mul(delta, to, inv);
	sodium_memzero(inv, sizeof(inv));
	return sodium_is_zero(delta, KEYS_SCALAR_LEN) ? -1 : 0;
}

const char *
keys_id_hex(const unsigned char id[KEYS_ID_LEN], char out[KEYS_ID_HEX])
{
	return sodium_bin2hex(out, KEYS_ID_HEX, id, KEYS_ID_LEN);
}

/* Whether k is a scalar below L and not zero, as the RFC's keys are. */
static int
keys_scalar_ok(const unsigned char k[KEYS_SCALAR_LEN])
{
	unsigned char wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES] =
	    { 0 }, red[KEYS_SCALAR_LEN];
	int ok;

	memcpy(wide, k, KEYS_SCALAR_LEN);
	crypto_core_ristretto255_scalar_reduce(red, wide);
	ok = sodium_memcmp(red, k, KEYS_SCALAR_LEN) == 0 &&
	    !sodium_is_zero(k, KEYS_SCALAR_LEN);
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(red, sizeof(red));
	return ok;
}

/* A line's version (new, with room for it) and state, in words. */
static int
keys_parse_version(const char *ver, const char *state, const char *path,
    int lineno, const struct keys *ks, unsigned long long *n, struct diag *d)
{
	char *end;

	errno = 0;
	*n = strtoull(ver, &end, 10);
	if (*end != '\0' || errno != 0 || *n == 0 || *n > UINT32_MAX ||
	    ver[0] < '1' || ver[0] > '9') {
		diag_add(d, path, lineno, "version '%.20s' is not a whole "
		    "number from 1 to %u", ver, UINT32_MAX);
		return -1;
	}
	if (keys_find(ks, (uint32_t)*n) != NULL) {
		diag_add(d, path, lineno, "version %llu given twice", *n);
		return -1;
	}
	if (ks->n == KEYS_MAX) {
		diag_add(d, path, lineno, "more than %d versions; destroy "
		    "old ones with vix-keyd --destroy-key", KEYS_MAX);
		return -1;
	}
	if (strcmp(state, "active") != 0 && strcmp(state, "standby") != 0) {
		diag_add(d, path, lineno, "state '%.20s': expected active or "
		    "standby", state);
		return -1;
	}
	return 0;
}

/* One line "VERSION HEX STATE" into v; the problem in d, never the key. */
static int
keys_parse_line(char *line, const char *path, int lineno, struct keys *ks,
    struct diag *d)
{
	char *ver, *hex, *state, *extra, *save = NULL;
	struct keys_version *v;
	unsigned long long n;
	size_t binlen = 0;

	ver = strtok_r(line, " \t", &save);
	hex = strtok_r(NULL, " \t", &save);
	state = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (hex == NULL || state == NULL || extra != NULL) {
		diag_add(d, path, lineno, "expected VERSION HEX-KEY "
		    "active|standby");
		return -1;
	}
	if (keys_parse_version(ver, state, path, lineno, ks, &n, d) == -1)
		return -1;
	v = &ks->v[ks->n];
	if (strlen(hex) != 2 * KEYS_SCALAR_LEN || sodium_hex2bin(v->k,
	    KEYS_SCALAR_LEN, hex, strlen(hex), NULL, &binlen, NULL) != 0 ||
	    binlen != KEYS_SCALAR_LEN || !keys_scalar_ok(v->k)) {
		sodium_memzero(v, sizeof(*v));
		diag_add(d, path, lineno, "version %llu: the key is not 64 hex "
		    "digits of a scalar below the group order, not zero", n);
		return -1;
	}
	v->version = (uint32_t)n;
	v->active = strcmp(state, "active") == 0;
	if (v->active && keys_active(ks) != NULL) {
		sodium_memzero(v, sizeof(*v));
		diag_add(d, path, lineno, "version %llu: a second active "
		    "version (only one may be)", n);
		return -1;
	}
	(void)keys_id(v->k, v->id);
	ks->n++;
	return 0;
}

int
keys_parse(const char *text, size_t len, const char *path, struct keys *ks,
    struct diag *d)
{
	char line[256];
	size_t i = 0, start, l;
	int lineno = 0, rc = 0;

	sodium_memzero(ks, sizeof(*ks));
	while (i < len) {
		start = i;
		while (i < len && text[i] != '\n')
			i++;
		l = i - start;
		i++;
		lineno++;
		while (l > 0 && (text[start + l - 1] == ' ' ||
		    text[start + l - 1] == '\t' || text[start + l - 1] == '\r'))
			l--;
		if (l == 0 || text[start] == '#')
			continue;
		if (l >= sizeof(line)) {
			diag_add(d, path, lineno, "line too long");
			rc = -1;
			continue;
		}
		memcpy(line, text + start, l);
		line[l] = '\0';
		if (keys_parse_line(line, path, lineno, ks, d) == -1)
			rc = -1;
	}
	sodium_memzero(line, sizeof(line));
	return rc;
}

int
keys_load(const char *path, struct keys *ks, struct diag *d)
{
	char buf[KEYS_FILE_MAX];
	ssize_t n;
	int fd, rc;

	if (config_check_secret(path, "key_file", d) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		diag_add(d, NULL, 0, "key_file %s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || (size_t)n == sizeof(buf)) {
		diag_add(d, NULL, 0, "key_file %s: %s", path, n < 0 ?
		    strerror(errno) : "larger than 8 KiB; not a key file");
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	rc = keys_parse(buf, (size_t)n, path, ks, d);
	sodium_memzero(buf, sizeof(buf));
	if (rc == 0 && keys_active(ks) == NULL) {
		diag_add(d, NULL, 0, "key_file %s: no active version; create "
		    "one with vix-keyd --key-file %s --init", path, path);
		rc = -1;
	}
	if (rc == -1)
		sodium_memzero(ks, sizeof(*ks));
	return rc;
}

/* The file's text into buf (secret: the caller wipes it); its length. */
static size_t
keys_format(const struct keys *ks, char *buf, size_t len)
{
	char hex[2 * KEYS_SCALAR_LEN + 1];
	size_t off;
	int n;

	n = snprintf(buf, len, "# vix-keyd OPRF keys: VERSION KEY "
	    "active|standby. Secret; mode 0600.\n");
	off = n > 0 ? (size_t)n : 0;
	for (size_t i = 0; i < ks->n && off < len; i++) {
		sodium_bin2hex(hex, sizeof(hex), ks->v[i].k, KEYS_SCALAR_LEN);
		n = snprintf(buf + off, len - off, "%u %s %s\n",
		    ks->v[i].version, hex, ks->v[i].active ? "active" :
		    "standby");
		off += n > 0 ? (size_t)n : 0;
	}
	sodium_memzero(hex, sizeof(hex));
	return off < len ? off : len;
}

/* fsync the folder holding path, so that the rename is durable. */
static int
keys_sync_dir(const char *path)
{
	char copy[4096];
	int fd, rc;

	snprintf(copy, sizeof(copy), "%s", path);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
keys_save(const char *path, const struct keys *ks, char *err, size_t errlen)
{
	char buf[KEYS_FILE_MAX], tmp[4096];
	size_t len = keys_format(ks, buf, sizeof(buf));
	int fd = -1, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	(void)unlink(tmp);	/* left by a crash: never holds the live keys */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto done;
	}
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto done;
	}
	if (close(fd) == -1 || (fd = -1, rename(tmp, path) == -1)) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (keys_sync_dir(path) == -1) {
		snprintf(err, errlen, "folder of %s: %s", path,
		    strerror(errno));
		goto done;
	}
	rc = 0;
done:
	if (fd != -1) {
		close(fd);
		(void)unlink(tmp);
	}
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* The folder of path, locked exclusively; its descriptor, or -1. */
static int
keys_lock_dir(const char *path, struct diag *d)
{
	char copy[4096];
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || flock(fd, LOCK_EX) == -1) {
		diag_add(d, NULL, 0, "key_file %s: cannot lock its folder: %s",
		    path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

int
keys_modify(const char *path, int create, keys_change_fn *fn, void *arg,
    struct diag *d)
{
	struct keys *ks = NULL;
	char err[512];
	int dfd, locked, rc = -1;

	if ((dfd = keys_lock_dir(path, d)) == -1)
		return -1;
	if ((ks = keys_new(&locked)) == NULL) {
		diag_add(d, NULL, 0, "cannot map a page for the keys: %s",
		    strerror(errno));
		goto done;
	}
	if (create && access(path, F_OK) == 0) {
		diag_add(d, NULL, 0, "key_file %s exists already; it is left "
		    "as it is", path);
		goto done;
	}
	if (!create && keys_load(path, ks, d) == -1)
		goto done;
	if ((rc = fn(ks, arg, d)) != 0)
		goto done;
	if ((rc = keys_save(path, ks, err, sizeof(err))) == -1)
		diag_add(d, NULL, 0, "key_file %s", err);
done:
	keys_free(ks);
	close(dfd);	/* which unlocks the folder */
	return rc;
}

const struct keys_version *
keys_active(const struct keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		if (ks->v[i].active)
			return &ks->v[i];
	return NULL;
}

const struct keys_version *
keys_find(const struct keys *ks, uint32_t version)
{
	for (size_t i = 0; i < ks->n; i++)
		if (ks->v[i].version == version)
			return &ks->v[i];
	return NULL;
}

struct keys_version *
keys_add(struct keys *ks, int active)
{
	struct keys_version *v;
	uint32_t top = 0;

	for (size_t i = 0; i < ks->n; i++)
		if (ks->v[i].version > top)
			top = ks->v[i].version;
	if (ks->n == KEYS_MAX || top == UINT32_MAX || sodium_init() == -1)
		return NULL;
	v = &ks->v[ks->n];
	do
		crypto_core_ristretto255_scalar_random(v->k);
	while (keys_id(v->k, v->id) != 0);
	v->version = top + 1;
	if (active)
		for (size_t i = 0; i < ks->n; i++)
			ks->v[i].active = 0;
	v->active = active;
	ks->n++;
	return v;
}

int
keys_remove(struct keys *ks, uint32_t version)
{
	for (size_t i = 0; i < ks->n; i++) {
		if (ks->v[i].version != version)
			continue;
		if (ks->v[i].active)
			return -1;
		memmove(&ks->v[i], &ks->v[i + 1],
		    (ks->n - i - 1) * sizeof(ks->v[0]));
		ks->n--;
		sodium_memzero(&ks->v[ks->n], sizeof(ks->v[0]));
		return 0;
	}
	return -1;
}

int
keys_activate(struct keys *ks, uint32_t version)
{
	if (keys_find(ks, version) == NULL)
		return -1;
	for (size_t i = 0; i < ks->n; i++)
		ks->v[i].active = ks->v[i].version == version;
	return 0;
}
