/*
 * Replays a fuzz target's committed corpus: every file in the folder named
 * by FUZZ_CORPUS goes through LLVMFuzzerTestOneInput once. Built without
 * libFuzzer, so the ordinary test run exercises every target; a crash or a
 * sanitizer report fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(void)
{
	const char *dir = getenv("FUZZ_CORPUS");
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	if (dir == NULL || (d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: FUZZ_CORPUS must name the corpus folder\n");
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		uint8_t *buf;
		long len;
		FILE *fp;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((fp = fopen(path, "rb")) == NULL)
			continue;
		fseek(fp, 0, SEEK_END);
		len = ftell(fp);
		rewind(fp);
		buf = malloc(len > 0 ? (size_t)len : 1);
		if (buf == NULL || fread(buf, 1, (size_t)len, fp) != (size_t)len) {
			fprintf(stderr, "replay: cannot read %s\n", path);
			return 1;
		}
		fclose(fp);
		LLVMFuzzerTestOneInput(buf, (size_t)len);
		free(buf);
		n++;
	}
	closedir(d);
	if (n == 0) {
		fprintf(stderr, "replay: %s holds no inputs\n", dir);
		return 1;
	}
	printf("%zu passed, 0 failed\n", n);
	return 0;
}
