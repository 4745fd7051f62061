/*
 * Fuzz target: configuration files an administrator writes. The bytes go
 * through both parsers, vixd.conf and orgs.conf, as a file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "orgs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void
remove_input(void)
{
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vixd_config c;
	struct orgs *o;
	struct diag d;
	FILE *fp;

	if (path[0] == '\0') {
		int fd;

		snprintf(path, sizeof(path), "/tmp/vix-fuzz-ini-XXXXXX");
		if ((fd = mkstemp(path)) == -1)
			abort();
		close(fd);
		atexit(remove_input);	/* one file per run, gone after it */
	}
	if ((fp = fopen(path, "wb")) == NULL)
		abort();
	fwrite(data, 1, size, fp);
	fclose(fp);

	config_defaults(&c);
	diag_init(&d);
	(void)config_load(&c, path, &d);
	config_free(&c);
	diag_init(&d);
	if ((o = orgs_load(path, &d)) != NULL)
		orgs_unref(o);
	return 0;
}
