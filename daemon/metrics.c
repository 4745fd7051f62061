/* Lock-free counters and histograms, and their Prometheus text form. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "metrics.h"
#include "vix.pb-c.h"

/* Upper bounds in nanoseconds (1 ms = 1e6), as written in the le label. */
static const uint64_t seconds_bounds[METRICS_BUCKETS - 1] = {
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
	25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
	2500000000, 5000000000,
};
static const char *const seconds_le[METRICS_BUCKETS - 1] = {
	"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
	"0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
};
static const uint64_t size_bounds[METRICS_BUCKETS - 1] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
	16384,
};
static const char *const size_le[METRICS_BUCKETS - 1] = {
	"1", "2", "4", "8", "16", "32", "64", "128", "256", "512", "1024",
	"2048", "4096", "8192", "16384",
};

static const char *const req_names[METRICS_REQ_COUNT] = {
	[METRICS_REQ_PING] = "ping",
	[METRICS_REQ_REGISTER] = "register",
	[METRICS_REQ_WITHDRAW] = "withdraw",
	[METRICS_REQ_INVOLVED] = "involved",
	[METRICS_REQ_LIST] = "list",
	[METRICS_REQ_SUBSCRIBE] = "subscribe",
	[METRICS_REQ_ACK] = "ack",
	[METRICS_REQ_COORDINATE] = "coordinate",
	[METRICS_REQ_MATCHES] = "matches",
	[METRICS_REQ_RELOCATE] = "relocate",
	[METRICS_REQ_UNKNOWN] = "unknown",
};

static const char *const tls_names[METRICS_TLS_COUNT] = {
	[METRICS_TLS_NO_CERTIFICATE] = "no_certificate",
	[METRICS_TLS_UNKNOWN_CA] = "unknown_ca",
	[METRICS_TLS_BAD_CERTIFICATE] = "bad_certificate",
	[METRICS_TLS_NO_OIN] = "no_oin",
	[METRICS_TLS_UNKNOWN_ORGANISATION] = "unknown_organisation",
	[METRICS_TLS_TIMEOUT] = "timeout",
	[METRICS_TLS_CLOSED] = "closed",
	[METRICS_TLS_OTHER] = "other",
};

uint64_t
metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum metrics_req
metrics_req_of_body(int body_case)
{
	switch (body_case) {
	case VIX__V1__REQUEST__BODY_PING:	return METRICS_REQ_PING;
	case VIX__V1__REQUEST__BODY_REGISTER:	return METRICS_REQ_REGISTER;
	case VIX__V1__REQUEST__BODY_WITHDRAW:	return METRICS_REQ_WITHDRAW;
	case VIX__V1__REQUEST__BODY_INVOLVED:	return METRICS_REQ_INVOLVED;
	case VIX__V1__REQUEST__BODY_LIST:	return METRICS_REQ_LIST;
	case VIX__V1__REQUEST__BODY_SUBSCRIBE:	return METRICS_REQ_SUBSCRIBE;
	case VIX__V1__REQUEST__BODY_ACK:	return METRICS_REQ_ACK;
	case VIX__V1__REQUEST__BODY_COORDINATE:	return METRICS_REQ_COORDINATE;
	case VIX__V1__REQUEST__BODY_MATCHES:	return METRICS_REQ_MATCHES;
	case VIX__V1__REQUEST__BODY_RELOCATE:	return METRICS_REQ_RELOCATE;
	default:				return METRICS_REQ_UNKNOWN;
	}
}

static void
add(atomic_uint_fast64_t *a, uint64_t n)
{
	atomic_fetch_add_explicit(a, n, memory_order_relaxed);
}

static uint64_t
load(const atomic_uint_fast64_t *a)
{
	return atomic_load_explicit((atomic_uint_fast64_t *)a,
	    memory_order_relaxed);
}

void
metrics_observe(struct metrics_hist *h, enum metrics_scale scale,
    uint64_t value)
{
	const uint64_t *bounds = scale == METRICS_SECONDS ? seconds_bounds :
	    size_bounds;
	size_t i = 0;

	while (i < METRICS_BUCKETS - 1 && value > bounds[i])
		i++;
	add(&h->bucket[i], 1);
	add(&h->sum, value);
}

void
metrics_hist_read(const struct metrics_hist *h, struct metrics_hist_snap *s)
{
	for (size_t i = 0; i < METRICS_BUCKETS; i++)
		s->bucket[i] += load(&h->bucket[i]);
	s->sum += load(&h->sum);
}

uint64_t
metrics_bucket_bound(enum metrics_scale scale, size_t i)
{
	if (i >= METRICS_BUCKETS - 1)
		return UINT64_MAX;
	return scale == METRICS_SECONDS ? seconds_bounds[i] : size_bounds[i];
}

void
metrics_request(struct metrics *m, unsigned worker, enum metrics_req type,
    int code, uint64_t t0_ns)
{
	struct metrics_slot *s = &m->slot[worker % METRICS_SLOTS];
	uint64_t now = metrics_now_ns();

	if (type <= METRICS_REQ_NONE || type >= METRICS_REQ_COUNT)
		return;
	if (code < 0 || code >= METRICS_CODES)
		code = VIX__V1__STATUS__CODE__UNKNOWN;
	add(&s->requests[type][code], 1);
	metrics_observe(&s->latency[type], METRICS_SECONDS,
	    now > t0_ns ? now - t0_ns : 0);
}

void
metrics_subscribers(struct metrics *m, unsigned worker, int delta)
{
	atomic_fetch_add_explicit(&m->slot[worker % METRICS_SLOTS].subscribers,
	    delta, memory_order_relaxed);
}

void
metrics_inflight(struct metrics *m, unsigned n)
{
	uint_fast64_t peak = load(&m->inflight_peak);

	while (n > peak && !atomic_compare_exchange_weak_explicit(
	    &m->inflight_peak, &peak, n, memory_order_relaxed,
	    memory_order_relaxed))
		;
}

void
metrics_read_paused(struct metrics *m)
{
	add(&m->read_pauses, 1);
}

void
metrics_rate_limited(struct metrics *m)
{
	add(&m->rate_limited, 1);
}

void
metrics_tls_failure(struct metrics *m, enum metrics_tls why)
{
	if (why < METRICS_TLS_COUNT)
		add(&m->tls_failures[why], 1);
}

uint64_t
metrics_requests_total(const struct metrics *m, enum metrics_req type,
    int code)
{
	uint64_t n = 0;

	for (int t = METRICS_REQ_NONE + 1; t < METRICS_REQ_COUNT; t++)
		for (int c = 0; c < METRICS_CODES; c++) {
			if ((type != METRICS_REQ_NONE && t != (int)type) ||
			    (code >= 0 && c != code))
				continue;
			for (size_t s = 0; s < METRICS_SLOTS; s++)
				n += load(&m->slot[s].requests[t][c]);
		}
	return n;
}

void
metrics_latency_read(const struct metrics *m, struct metrics_hist_snap *h)
{
	for (int t = METRICS_REQ_NONE + 1; t < METRICS_REQ_COUNT; t++)
		for (size_t s = 0; s < METRICS_SLOTS; s++)
			metrics_hist_read(&m->slot[s].latency[t], h);
}

void
metrics_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

void
metrics_hist_write(struct evbuffer *b, const char *name, const char *labels,
    const struct metrics_hist_snap *h, enum metrics_scale scale)
{
	const char *const *le = scale == METRICS_SECONDS ? seconds_le : size_le;
	const char *sep = labels[0] != '\0' ? "," : "";
	uint64_t total = 0;

	for (size_t i = 0; i < METRICS_BUCKETS; i++) {
		total += h->bucket[i];
		evbuffer_add_printf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name,
		    labels, sep, i < METRICS_BUCKETS - 1 ? le[i] : "+Inf",
		    (unsigned long long)total);
	}
	if (scale == METRICS_SECONDS)
		evbuffer_add_printf(b, "%s_sum%s%s%s %llu.%09llu\n", name,
		    labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
		    (unsigned long long)(h->sum / 1000000000u),
		    (unsigned long long)(h->sum % 1000000000u));
	else
		evbuffer_add_printf(b, "%s_sum%s%s%s %llu\n", name,
		    labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
		    (unsigned long long)h->sum);
	evbuffer_add_printf(b, "%s_count%s%s%s %llu\n", name,
	    labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
	    (unsigned long long)total);
}

static void
write_requests(struct evbuffer *b, const struct metrics *m)
{
	const ProtobufCEnumValue *v;
	uint64_t n;

	metrics_family(b, "vix_requests_total", "counter", "Requests answered, "
	    "by request type and status code.");
	for (int t = METRICS_REQ_NONE + 1; t < METRICS_REQ_COUNT; t++)
		for (int code = 0; code < METRICS_CODES; code++) {
			n = 0;
			for (size_t s = 0; s < METRICS_SLOTS; s++)
				n += load(&m->slot[s].requests[t][code]);
			v = protobuf_c_enum_descriptor_get_value(
			    &vix__v1__status__code__descriptor, code);
			/* Always show one series per type, even at 0. */
			if (v == NULL || (n == 0 && code != (t ==
			    METRICS_REQ_UNKNOWN ?
			    VIX__V1__STATUS__CODE__INVALID_ARGUMENT :
			    VIX__V1__STATUS__CODE__OK)))
				continue;
			evbuffer_add_printf(b, "vix_requests_total{type=\"%s\","
			    "code=\"%s\"} %llu\n", req_names[t], v->name,
			    (unsigned long long)n);
		}
}

static void
write_latency(struct evbuffer *b, const struct metrics *m)
{
	struct metrics_hist_snap h;
	char labels[64];

	metrics_family(b, "vix_request_duration_seconds", "histogram",
	    "Time from a request decoded to its response queued (for writes: "
	    "committed), by request type.");
	for (int t = METRICS_REQ_NONE + 1; t < METRICS_REQ_COUNT; t++) {
		memset(&h, 0, sizeof(h));
		for (size_t s = 0; s < METRICS_SLOTS; s++)
			metrics_hist_read(&m->slot[s].latency[t], &h);
		snprintf(labels, sizeof(labels), "type=\"%s\"", req_names[t]);
		metrics_hist_write(b, "vix_request_duration_seconds", labels,
		    &h, METRICS_SECONDS);
	}
}

static void
write_limits(struct evbuffer *b, const struct metrics *m)
{
	metrics_family(b, "vix_connection_inflight_peak", "gauge",
	    "Most requests one connection has had waiting for the writer at "
	    "once since start (at most max_inflight).");
	evbuffer_add_printf(b, "vix_connection_inflight_peak %llu\n",
	    (unsigned long long)load(&m->inflight_peak));
	metrics_family(b, "vix_connection_read_pauses_total", "counter",
	    "Times a connection was not read from because it had max_inflight "
	    "requests in flight (back-pressure).");
	evbuffer_add_printf(b, "vix_connection_read_pauses_total %llu\n",
	    (unsigned long long)load(&m->read_pauses));
	metrics_family(b, "vix_rate_limited_total", "counter",
	    "Requests refused with RESOURCE_EXHAUSTED because their "
	    "organisation was over rate_limit.");
	evbuffer_add_printf(b, "vix_rate_limited_total %llu\n",
	    (unsigned long long)load(&m->rate_limited));
}

static void
write_waits(struct evbuffer *b, const struct metrics *m)
{
	struct metrics_hist_snap h;

	metrics_family(b, "vix_commit_answer_wait_seconds", "histogram",
	    "Time from a write's commit to its response queued by its worker "
	    "(the hand-off back from the writer).");
	memset(&h, 0, sizeof(h));
	metrics_hist_read(&m->answer_wait, &h);
	metrics_hist_write(b, "vix_commit_answer_wait_seconds", "", &h,
	    METRICS_SECONDS);
	metrics_family(b, "vix_commit_publish_wait_seconds", "histogram",
	    "Time from a commit that grew outboxes to a worker pumping them "
	    "into its subscriptions.");
	memset(&h, 0, sizeof(h));
	metrics_hist_read(&m->publish_wait, &h);
	metrics_hist_write(b, "vix_commit_publish_wait_seconds", "", &h,
	    METRICS_SECONDS);
}

void
metrics_write(struct evbuffer *b, const struct metrics *m)
{
	int64_t subs = 0;

	write_requests(b, m);
	write_latency(b, m);
	for (size_t s = 0; s < METRICS_SLOTS; s++)
		subs += atomic_load_explicit((atomic_int_fast64_t *)
		    &m->slot[s].subscribers, memory_order_relaxed);
	metrics_family(b, "vix_subscribers_connected", "gauge",
	    "Connections with a subscription (pull or push).");
	evbuffer_add_printf(b, "vix_subscribers_connected %lld\n",
	    (long long)(subs > 0 ? subs : 0));
	write_limits(b, m);
	write_waits(b, m);
	metrics_family(b, "vix_tls_handshake_failures_total", "counter",
	    "Inbound TLS handshakes that failed or whose certificate was "
	    "refused, by reason.");
	for (int r = 0; r < METRICS_TLS_COUNT; r++)
		evbuffer_add_printf(b, "vix_tls_handshake_failures_total"
		    "{reason=\"%s\"} %llu\n", tls_names[r],
		    (unsigned long long)load(&m->tls_failures[r]));
}
