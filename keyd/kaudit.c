/* vix-keyd's audit file and per-organisation counters. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "jsonw.h"
#include "kaudit.h"
#include "log.h"

static FILE *
kaudit_file(const char *path, struct diag *d)
{
	FILE *fp = NULL;
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1 || (fp = fdopen(fd, "a")) == NULL) {
		diag_add(d, NULL, 0, "audit_file %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
	}
	return fp;
}

int
kaudit_open(struct kaudit *a, const char *path, struct diag *d)
{
	memset(a, 0, sizeof(*a));
	return (a->fp = kaudit_file(path, d)) != NULL ? 0 : -1;
}

int
kaudit_reopen(struct kaudit *a, const char *path, struct diag *d)
{
	FILE *fp;

	if ((fp = kaudit_file(path, d)) == NULL)
		return -1;
	kaudit_sync(a);
	if (a->fp != NULL)
		fclose(a->fp);
	a->fp = fp;
	return 0;
}

void
kaudit_close(struct kaudit *a)
{
	if (a->fp != NULL) {
		kaudit_sync(a);
		fclose(a->fp);
	}
	free(a->orgs);
	memset(a, 0, sizeof(*a));
}

uint32_t
kaudit_slot(struct kaudit *a, const char *id)
{
	struct kaudit_org *v;

	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->orgs[i].id, id) == 0)
			return (uint32_t)i;
	if ((v = reallocarray(a->orgs, a->n + 1, sizeof(*v))) == NULL)
		return UINT32_MAX;
	a->orgs = v;
	memset(&v[a->n], 0, sizeof(v[0]));
	snprintf(v[a->n].id, sizeof(v[0].id), "%s", id);
	return (uint32_t)a->n++;
}

static void
kaudit_count(struct kaudit *a, const struct org *org, size_t count, int ok)
{
	uint32_t slot;

	if (org == NULL || (slot = kaudit_slot(a, org->id)) == UINT32_MAX)
		return;
	a->orgs[slot].requests++;
	if (ok)
		a->orgs[slot].evaluations += count;
	else
		a->orgs[slot].refused++;
}

void
kaudit_record(struct kaudit *a, const struct org *org, const char *oin,
    const char *action, size_t count, const char *outcome)
{
	char stamp[40];
	struct timeval tv;
	struct jsonw w;
	struct tm tm;
	int ok = strcmp(outcome, "ok") == 0;

	kaudit_count(a, org, strcmp(action, "evaluate") == 0 ? count : 0, ok);
	if (a->fp == NULL)
		return;
	gettimeofday(&tv, NULL);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S",
	    gmtime_r(&tv.tv_sec, &tm));
	snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp),
	    ".%03dZ", (int)(tv.tv_usec / 1000));
	jsonw_file(&w, a->fp);
	jsonw_object(&w);
	jsonw_kstr(&w, "time", stamp);
	if (org != NULL)
		jsonw_kstr(&w, "org", org->id);
	else {
		jsonw_key(&w, "org");
		jsonw_null(&w);
	}
	jsonw_kstr(&w, "oin", oin);
	jsonw_kstr(&w, "action", action);
	jsonw_kuint(&w, "count", count);
	jsonw_kstr(&w, "outcome", outcome);
	jsonw_end(&w);
	jsonw_newline(&w);
	/* Flushed now, so that a crash loses at most what is not fsync'd. */
	if (fflush(a->fp) == EOF)
		log_warn("audit_file");
	a->dirty = 1;
}

void
kaudit_sync(struct kaudit *a)
{
	if (a->fp == NULL || !a->dirty)
		return;
	if (fflush(a->fp) == EOF || fsync(fileno(a->fp)) == -1)
		log_warn("audit_file: fsync");
	a->dirty = 0;
}

void
kaudit_log_counters(const struct kaudit *a, const char *why)
{
	for (size_t i = 0; i < a->n; i++)
		log_info("%s: org %s: %" PRIu64 " requests, %" PRIu64
		    " evaluations, %" PRIu64 " refused", why, a->orgs[i].id,
		    a->orgs[i].requests, a->orgs[i].evaluations,
		    a->orgs[i].refused);
}
