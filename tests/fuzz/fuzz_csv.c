/*
 * Fuzz target: vix import's CSV reader. The input is a file; every record
 * is read with a small record limit (so the overflow paths run), and each
 * result is checked: fields lie inside the record, line numbers never go
 * back, a reason is set for every refusal, and the reader ends.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long line, last = 0;
	struct csv r;
	char why[200];
	FILE *fp;
	int rc;

	if (size == 0 || (fp = fmemopen((void *)(uintptr_t)data, size,
	    "r")) == NULL)
		return 0;
	if (csv_open(&r, fp, 64) == -1) {
		csv_close(&r);
		return 0;
	}
	/* Every call reads at least one byte, or ends: size + 1 calls. */
	for (size_t i = 0; i <= size + 1; i++) {
		why[0] = '\0';
		if ((rc = csv_next(&r, &line, why, sizeof(why))) == 0)
			break;
		if (line < last || line > size + 1)
			abort();
		last = line;
		if (rc == -1 && why[0] == '\0')
			abort();
		if (rc == 1) {
			if (r.n == 0 || r.len > r.max)
				abort();
			for (size_t f = 0; f < r.n && f < CSV_FIELDS; f++)
				if (r.field[f] >= r.len ||
				    strlen(csv_field(&r, f)) >= r.len - r.field[f])
					abort();
		}
		if (i == size + 1)
			abort();	/* the reader did not end */
	}
	csv_close(&r);
	return 0;
}
