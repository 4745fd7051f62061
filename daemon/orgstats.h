/*
 * Per-organisation counters for /metrics: new signals, unjustified
 * withdrawals (all, and those soon after the signal's creation) and
 * refusals at the daily cap. Register-then-withdraw churn is how one
 * organisation could learn who else is involved with many youths; these
 * make it visible. Kept by store id (like the rate limiter), shared by the
 * workers, counted since start.
 */
#ifndef VIX_ORGSTATS_H
#define VIX_ORGSTATS_H

#include <stdint.h>

/* An unjustified withdrawal this soon after creation counts as quick. */
#define ORGSTATS_QUICK_SECONDS	3600

enum orgstat {
	ORGSTAT_CREATED,		/* new signals (not refreshes) */
	ORGSTAT_UNJUSTIFIED,		/* withdrawn as UNJUSTIFIED */
	ORGSTAT_UNJUSTIFIED_QUICK,	/* ... within ORGSTATS_QUICK_SECONDS */
	ORGSTAT_DAILY_CAP,		/* refused at max_new_signals_per_day */
	ORGSTAT_COUNT,
};

struct evbuffer;
struct orgs;
struct orgstats;

/* NULL when out of memory. */
struct orgstats	*orgstats_new(void);
void		 orgstats_free(struct orgstats *);

/*
 * Count one event of organisation sid (dropped when out of memory).
 * Returns 1 when it is the first of its kind for sid on UTC day `day`
 * (worth a log line), else 0.
 */
int	orgstats_add(struct orgstats *, uint32_t sid, enum orgstat,
	    int64_t day);

/* The families, one series per organisation of orgs (0 when none yet). */
void	orgstats_write(struct orgstats *, struct evbuffer *,
	    const struct orgs *);

#endif
