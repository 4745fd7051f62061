/*
 * vix-keyd's audit trail: one JSON line per request to audit_file (time,
 * org id, OIN, action, count, outcome), flushed at once and fsync'd in
 * batches; and counters per organisation, logged at reload and exit.
 * Never an element, blinded or evaluated.
 */
#ifndef VIX_KEYD_KAUDIT_H
#define VIX_KEYD_KAUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "orgs.h"

struct kaudit_org {
	char		 id[ORG_ID_MAX + 1];
	uint64_t	 requests;
	uint64_t	 evaluations;	/* elements evaluated */
	uint64_t	 refused;	/* requests answered with an error */
};

struct kaudit {
	FILE			*fp;
	int			 dirty;		/* written since the last fsync */
	struct kaudit_org	*orgs;		/* by slot, never shrinks */
	size_t			 n;
};

/* Open path for appending (created 0600). 0, or -1 with the reason in d. */
int		 kaudit_open(struct kaudit *, const char *path, struct diag *d);
void		 kaudit_close(struct kaudit *);
/*
 * Open path again (after logrotate moved it), keeping the counters; on
 * failure the old file stays in use. 0, or -1 with the reason in d.
 */
int		 kaudit_reopen(struct kaudit *, const char *path, struct diag *d);

/*
 * The slot of organisation id: the same number for the same id for the
 * life of the process, across reloads of orgs.conf (the rate limiter's
 * buckets are kept by it). UINT32_MAX when out of memory.
 */
uint32_t	 kaudit_slot(struct kaudit *, const char *id);

/*
 * One request: org NULL for a certificate whose OIN orgs.conf does not
 * know. count is the elements evaluated (or asked for, when refused);
 * outcome "ok" or the status's name.
 */
void		 kaudit_record(struct kaudit *, const struct org *org,
		    const char *oin, const char *action, size_t count,
		    const char *outcome);

/* fsync what was written since the last call. */
void		 kaudit_sync(struct kaudit *);

/* One log line per organisation seen, with why ("reload", "exit"). */
void		 kaudit_log_counters(const struct kaudit *, const char *why);

#endif
