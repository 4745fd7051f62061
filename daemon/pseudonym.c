/* Pseudonym key loading. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config.h"
#include "pseudonym.h"

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
