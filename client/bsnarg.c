/* --bsn B or --bsn - (standard input), for vix and vixctl. */
#include <stdio.h>
#include <string.h>

#include "bsnarg.h"

const char *
bsnarg_read(const char *arg, char *out, size_t len)
{
	if (strcmp(arg, "-") != 0)
		snprintf(out, len, "%s", arg);
	else if (fgets(out, (int)len, stdin) == NULL)
		return "--bsn -: nothing on standard input";
	else
		out[strcspn(out, "\r\n")] = '\0';
	if (out[0] == '\0' || strchr(out, ' ') != NULL)
		return "--bsn: a BSN is 9 digits";
	return NULL;
}

int
bsnarg_dev_keyholder(const char *dir, char *out, size_t len)
{
	char path[4096];
	FILE *fp;
	int ok;

	snprintf(path, sizeof(path), "%s/keyholder", dir);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	ok = fgets(out, (int)len, fp) != NULL;
	fclose(fp);
	if (!ok)
		return -1;
	out[strcspn(out, "\r\n")] = '\0';
	return out[0] != '\0' ? 0 : -1;
}
