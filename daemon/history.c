/* The status page's ring of samples (see history.h). */
#include <math.h>
#include <string.h>

#include "history.h"

void
history_init(struct history *h)
{
	memset(h, 0, sizeof(*h));
}

/* now - before, or 0 if the counter went back (it never should). */
static uint64_t
delta(uint64_t now, uint64_t before)
{
	return now > before ? now - before : 0;
}

double
history_quantile(const struct metrics_hist_snap *now,
    const struct metrics_hist_snap *before, double q)
{
	uint64_t n[METRICS_BUCKETS], total = 0, seen = 0, lo = 0, hi;
	double rank;
	size_t i;

	for (i = 0; i < METRICS_BUCKETS; i++)
		total += n[i] = delta(now->bucket[i], before->bucket[i]);
	if (total == 0)
		return (double)NAN;
	rank = q * (double)total;
	for (i = 0; i < METRICS_BUCKETS - 1; i++) {
		if ((double)(seen + n[i]) >= rank)
			break;
		seen += n[i];
	}
	if (i > 0)
		lo = metrics_bucket_bound(METRICS_SECONDS, i - 1);
	/* Beyond the last bound nothing is known but that it is more. */
	if (i == METRICS_BUCKETS - 1 || n[i] == 0)
		return (double)lo / 1e9;
	hi = metrics_bucket_bound(METRICS_SECONDS, i);
	return ((double)lo + (double)(hi - lo) * (rank - (double)seen) /
	    (double)n[i]) / 1e9;
}

/* Events per second between two readings; NAN without time between. */
static double
rate(uint64_t now, uint64_t before, uint64_t ns)
{
	if (ns == 0)
		return (double)NAN;
	return (double)delta(now, before) * 1e9 / (double)ns;
}

static void
sample(struct history_sample *s, const struct history_input *in,
    const struct history_input *last)
{
	uint64_t ns = delta(in->mono_ns, last->mono_ns);

	memset(s, 0, sizeof(*s));
	s->t = in->t;
	s->registrations = rate(in->registrations, last->registrations, ns);
	s->requests = rate(in->requests, last->requests, ns);
	s->req_p50 = history_quantile(&in->req_latency, &last->req_latency,
	    0.5);
	s->req_p99 = history_quantile(&in->req_latency, &last->req_latency,
	    0.99);
	s->commit_p50 = history_quantile(&in->commit_latency,
	    &last->commit_latency, 0.5);
	s->commit_p99 = history_quantile(&in->commit_latency,
	    &last->commit_latency, 0.99);
	s->connections = in->connections;
	s->pending_total = in->has_pending ? (double)in->pending_total :
	    (double)NAN;
	s->ntop = in->has_pending && in->ntop <= HISTORY_TOP ? in->ntop : 0;
	memcpy(s->top, in->top, s->ntop * sizeof(s->top[0]));
}

void
history_add(struct history *h, const struct history_input *in)
{
	if (h->has_last) {
		sample(&h->ring[h->next], in, &h->last);
		h->next = (h->next + 1) % HISTORY_LEN;
		if (h->n < HISTORY_LEN)
			h->n++;
	}
	h->last = *in;
	h->has_last = 1;
}

const struct history_sample *
history_get(const struct history *h, size_t i)
{
	return &h->ring[(h->next + HISTORY_LEN - h->n + i) % HISTORY_LEN];
}
