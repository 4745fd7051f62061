/*
 * Fuzz target: bytes a client sends vix-keyd. Each whole frame goes
 * through kserve_answer, as a connection's read callback does, from an
 * organisation with the roles register and admin (an Evaluate runs; a
 * Token is refused before the key file is touched), with one key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "frame.h"
#include "keyd.h"

#define FUZZ_OIN	"00000009990000000001"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct keyd *
fuzz_keyd(void)
{
	static struct keyd k;
	static int ready;
	char path[] = "/tmp/vix-fuzz-keyd-XXXXXX";
	struct diag d;
	FILE *fp;
	int fd, locked;

	if (ready)
		return &k;
	if (sodium_init() == -1 || (fd = mkstemp(path)) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL)
		abort();
	fputs("[org a]\noin = " FUZZ_OIN "\nname = A\nroles = register, "
	    "admin\n", fp);
	fclose(fp);
	diag_init(&d);
	k.orgs = orgs_load(path, &d);
	unlink(path);
	if (k.orgs == NULL || (k.keys = keys_new(&locked)) == NULL ||
	    keys_add(k.keys, 1) == NULL || (k.rl = ratelimit_new()) == NULL)
		abort();
	ready = 1;	/* no audit file: kaudit_record only counts */
	return &k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyd *k = fuzz_keyd();
	size_t off = 0, hlen, blen, outlen;
	uint8_t *out;

	while (off < size) {
		enum frame_result r = frame_decode_header(data + off,
		    size - off, FRAME_DEFAULT_MAX, &hlen, &blen);

		if (r != FRAME_OK || size - off - hlen < blen)
			break;
		if (kserve_answer(k, FUZZ_OIN, data + off + hlen, blen, &out,
		    &outlen) == -1)
			__builtin_trap();
		/* The answer is one whole frame. */
		if (frame_decode_header(out, outlen, FRAME_DEFAULT_MAX, &hlen,
		    &blen) != FRAME_OK || hlen + blen != outlen)
			__builtin_trap();
		free(out);
		off += hlen + blen;
	}
	return 0;
}
