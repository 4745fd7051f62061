/* Per-organisation counters, grown by store id, under one lock. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "metrics.h"
#include "orgs.h"
#include "orgstats.h"

/* Store ids are handed out once per OIN ever registered; see ratelimit.c. */
#define ORGSTATS_SID_MAX	(1u << 20)

struct orgstats_row {
	uint64_t	 count[ORGSTAT_COUNT];
	int64_t		 day[ORGSTAT_COUNT];	/* of the last one, + 1 */
};

struct orgstats {
	pthread_mutex_t		 lock;	/* guards all below */
	struct orgstats_row	*v;	/* indexed by store id */
	size_t			 n;
};

static const struct {
	const char	*name, *help;
} families[ORGSTAT_COUNT] = {
	[ORGSTAT_CREATED] = { "vix_signals_created_total",
	    "New signals (not refreshes) registered, by organisation." },
	[ORGSTAT_UNJUSTIFIED] = { "vix_unjustified_withdrawals_total",
	    "Signals withdrawn as UNJUSTIFIED by their registrant, by "
	    "organisation." },
	[ORGSTAT_UNJUSTIFIED_QUICK] = {
	    "vix_unjustified_withdrawals_quick_total",
	    "Signals withdrawn as UNJUSTIFIED within an hour of their "
	    "creation (register-then-withdraw churn), by organisation." },
	[ORGSTAT_DAILY_CAP] = { "vix_daily_cap_refusals_total",
	    "New signals refused because the organisation had registered "
	    "max_new_signals_per_day that UTC day, by organisation." },
};

struct orgstats *
orgstats_new(void)
{
	struct orgstats *s = calloc(1, sizeof(*s));

	if (s != NULL && pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void
orgstats_free(struct orgstats *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->v);
	free(s);
}

/* The row of sid, growing the table; NULL when that cannot be. */
static struct orgstats_row *
orgstats_row(struct orgstats *s, uint32_t sid)
{
	struct orgstats_row *v;
	size_t n;

	if (sid < s->n)
		return &s->v[sid];
	if (sid >= ORGSTATS_SID_MAX)
		return NULL;
	for (n = s->n ? s->n : 64; n <= sid; n *= 2)
		;
	if ((v = reallocarray(s->v, n, sizeof(*v))) == NULL)
		return NULL;
	memset(v + s->n, 0, (n - s->n) * sizeof(*v));
	s->v = v;
	s->n = n;
	return &v[sid];
}

int
orgstats_add(struct orgstats *s, uint32_t sid, enum orgstat what,
    int64_t day)
{
	struct orgstats_row *row;
	int first = 0;

	pthread_mutex_lock(&s->lock);
	if ((row = orgstats_row(s, sid)) != NULL) {
		row->count[what]++;
		first = row->day[what] != day + 1;
		row->day[what] = day + 1;
	}
	pthread_mutex_unlock(&s->lock);
	return first;
}

void
orgstats_write(struct orgstats *s, struct evbuffer *b, const struct orgs *orgs)
{
	pthread_mutex_lock(&s->lock);
	for (int f = 0; f < ORGSTAT_COUNT; f++) {
		metrics_family(b, families[f].name, "counter", families[f].help);
		for (size_t i = 0; i < orgs->n; i++) {
			const struct org *o = &orgs->v[i];

			evbuffer_add_printf(b, "%s{org=\"%s\"} %llu\n",
			    families[f].name, o->id, (unsigned long long)
			    (o->sid < s->n ? s->v[o->sid].count[f] : 0));
		}
	}
	pthread_mutex_unlock(&s->lock);
}
