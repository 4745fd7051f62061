/* Per-organisation request rate limit: GCRA buckets shared by the workers. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

#define NS_PER_S		1000000000ULL
#define NS_PER_MS		1000000ULL
#define RATELIMIT_WARN_NS	(60 * NS_PER_S)	/* one log line a minute */
/*
 * Store ids are handed out one by one, once per OIN ever registered, so a
 * table indexed by id stays as small as the registry's history. An id past
 * this (never seen in practice) is not limited rather than refused.
 */
#define RATELIMIT_SID_MAX	(1u << 20)

struct rl_bucket {
	uint64_t	 tat;		/* theoretical arrival time, ns */
	uint64_t	 warned;	/* last refusal logged, ns; 0: never */
};

struct ratelimit {
	atomic_uint		 rate;		/* 0: unlimited, skip the lock */
	pthread_mutex_t		 lock;		/* guards all below */
	unsigned		 burst;
	uint64_t		 interval;	/* ns between requests at rate */
	uint64_t		 tolerance;	/* ns a burst may run ahead */
	struct rl_bucket	*v;		/* indexed by store id */
	size_t			 n;
};

struct ratelimit *
ratelimit_new(void)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl != NULL && pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl);
		return NULL;
	}
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->v);
	free(rl);
}

void
ratelimit_set(struct ratelimit *rl, unsigned rate, unsigned burst)
{
	pthread_mutex_lock(&rl->lock);
	rl->burst = burst ? burst : rate;
	/* Rounded up, so that the rate is never exceeded. */
	rl->interval = rate ? (NS_PER_S + rate - 1) / rate : 0;
	rl->tolerance = rate ? (uint64_t)(rl->burst - 1) * rl->interval : 0;
	atomic_store(&rl->rate, rate);
	pthread_mutex_unlock(&rl->lock);
}

/* The bucket of sid, growing the table; NULL when that cannot be. */
static struct rl_bucket *
ratelimit_bucket(struct ratelimit *rl, uint32_t sid)
{
	struct rl_bucket *v;
	size_t n;

	if (sid < rl->n)
		return &rl->v[sid];
	if (sid >= RATELIMIT_SID_MAX)
		return NULL;
	for (n = rl->n ? rl->n : 64; n <= sid; n *= 2)
		;
	if ((v = reallocarray(rl->v, n, sizeof(*v))) == NULL)
		return NULL;
	memset(v + rl->n, 0, (n - rl->n) * sizeof(*v));
	rl->v = v;
	rl->n = n;
	return &v[sid];
}

/*
 * Over the limit: how long until a request fits, and whether to say so.
 * last is the arrival time its last unit would take.
 */
static void
ratelimit_refuse(struct ratelimit *rl, struct rl_bucket *b, uint64_t now,
    uint64_t last, struct ratelimit_refusal *why)
{
	uint64_t ms = (last - now - rl->tolerance + NS_PER_MS - 1) / NS_PER_MS;

	why->rate = atomic_load(&rl->rate);
	why->retry_ms = ms == 0 ? 1 : ms > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)ms;
	why->first = b->warned == 0 || now - b->warned >= RATELIMIT_WARN_NS;
	if (why->first)
		b->warned = now;
}

int
ratelimit_take(struct ratelimit *rl, uint32_t sid, uint64_t now,
    struct ratelimit_refusal *why)
{
	return ratelimit_take_n(rl, sid, 1, now, why);
}

int
ratelimit_take_n(struct ratelimit *rl, uint32_t sid, unsigned n,
    uint64_t now, struct ratelimit_refusal *why)
{
	struct rl_bucket *b;
	uint64_t tat, last;
	int rc = 0;

	if (atomic_load_explicit(&rl->rate, memory_order_relaxed) == 0)
		return 0;
	pthread_mutex_lock(&rl->lock);
	/*
	 * Without memory for a bucket the request is let through: a limit
	 * exists to share the index fairly, not to turn our own shortage
	 * into refusals.
	 */
	if (rl->interval != 0 && (b = ratelimit_bucket(rl, sid)) != NULL) {
		tat = b->tat > now ? b->tat : now;
		last = tat + (uint64_t)(n > 0 ? n - 1 : 0) * rl->interval;
		if (last - now > rl->tolerance) {
			ratelimit_refuse(rl, b, now, last, why);
			rc = -1;
		} else
			b->tat = last + rl->interval;
	}
	pthread_mutex_unlock(&rl->lock);
	return rc;
}
