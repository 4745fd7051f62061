/* Admin HTTP: Prometheus metrics, health, readiness and status. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "addr.h"
#include "admin.h"
#include "json.h"
#include "errors.h"
#include "log.h"
#include "orgstats.h"
#include "server.h"
#include "vix_version.h"
#include "vixd.h"

/* Jobs waiting this long with no batch finished: the writer is stalled. */
#define ADMIN_STALL_MS	10000

static void
admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *b)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evhttp_send_reply(req, code, reason, b);
}

static void
metric(struct evbuffer *b, const char *name, const char *type,
    const char *help, const char *labels, uint64_t value)
{
	metrics_family(b, name, type, help);
	evbuffer_add_printf(b, "%s%s %llu\n", name, labels,
	    (unsigned long long)value);
}

static void
admin_metrics_store(struct evbuffer *b, const struct store_stats *st)
{
	metric(b, "vix_signals_active", "gauge", "Active signals.", "",
	    st->signals);
	metric(b, "vix_matches_active", "gauge", "Open matches.", "",
	    st->matches);
	metric(b, "vix_matches_uncoordinated", "gauge",
	    "Open matches that nobody has marked coordinated yet.", "",
	    st->matches_uncoordinated);
	metric(b, "vix_archive_signals", "gauge",
	    "Signals in the archive (withdrawn or expired).", "",
	    st->archived);
	metric(b, "vix_audit_records", "gauge", "Records in the audit chain.",
	    "", st->audit_records);
	metric(b, "vix_lmdb_map_used_bytes", "gauge",
	    "Bytes of the LMDB map in use.", "", st->map_used);
	metric(b, "vix_lmdb_map_size_bytes", "gauge",
	    "Bytes reserved for the LMDB map (map_size).", "", st->map_size);
	metric(b, "vix_lmdb_quota_bytes", "gauge", "Map bytes in use beyond "
	    "which new registrations are refused (quota_percent).", "",
	    st->quota);
	metrics_family(b, "vix_notifications_pending", "gauge",
	    "Notifications not yet acknowledged by every consumer, by "
	    "recipient.");
	for (size_t i = 0; i < st->npending; i++)
		evbuffer_add_printf(b, "vix_notifications_pending{recipient="
		    "\"%s\"} %llu\n", st->pending[i].org->id,
		    (unsigned long long)st->pending[i].pending);
	metrics_family(b, "vix_notifications_oldest_pending_age_seconds",
	    "gauge", "Age of the oldest unacknowledged notification, by "
	    "recipient (0: none pending).");
	for (size_t i = 0; i < st->npending; i++)
		evbuffer_add_printf(b, "vix_notifications_oldest_pending_age_"
		    "seconds{recipient=\"%s\"} %lld\n", st->pending[i].org->id,
		    (long long)st->pending[i].oldest_age);
}

static void
admin_metrics_writer(struct evbuffer *b, const struct writer_stats *ws)
{
	metric(b, "vix_commit_batches_total", "counter",
	    "Write transactions committed by the writer.", "", ws->batches);
	metric(b, "vix_commit_jobs_total", "counter",
	    "Requests applied by the writer.", "", ws->jobs);
	metric(b, "vix_writer_jobs_waiting", "gauge",
	    "Writes queued or in the batch being committed.", "", ws->waiting);
	metrics_family(b, "vix_commit_batch_size", "histogram",
	    "Writes per committed transaction.");
	metrics_hist_write(b, "vix_commit_batch_size", "", &ws->batch_sizes,
	    METRICS_SIZE);
	metrics_family(b, "vix_commit_duration_seconds", "histogram",
	    "Time from a write transaction begun to committed (durable).");
	metrics_hist_write(b, "vix_commit_duration_seconds", "",
	    &ws->commit_times, METRICS_SECONDS);
}

static void
admin_metrics_sweep(struct evbuffer *b, struct vixd_stats *s)
{
	metric(b, "vix_sweeps_total", "counter", "Sweep passes run.", "",
	    atomic_load(&s->sweeps));
	metric(b, "vix_sweep_failures_total", "counter",
	    "Sweep passes that failed.", "", atomic_load(&s->sweep_failures));
	metric(b, "vix_signals_expired_total", "counter",
	    "Signals removed at their expiry.", "",
	    atomic_load(&s->signals_expired));
	metric(b, "vix_escalations_total", "counter",
	    "Matches escalated for want of coordination.", "",
	    atomic_load(&s->escalations));
	metric(b, "vix_archive_purged_total", "counter",
	    "Archived signals purged after archive_retention.", "",
	    atomic_load(&s->archive_purged));
	metrics_family(b, "vix_outbox_pruned_total", "counter", "Outbox rows "
	    "removed: acked by every consumer, or dropped unacknowledged after "
	    "outbox_retention.");
	evbuffer_add_printf(b, "vix_outbox_pruned_total{reason=\"acked\"} "
	    "%llu\nvix_outbox_pruned_total{reason=\"retention\"} %llu\n",
	    (unsigned long long)atomic_load(&s->outbox_pruned_acked),
	    (unsigned long long)atomic_load(&s->outbox_pruned_retention));
}

/*
 * One store snapshot (scans the matches: the one costly part of a scrape).
 * The pending rows point into *orgs, which the caller drops afterwards.
 */
static int
admin_snapshot(struct vixd *v, struct store_stats *st, struct orgs **orgs)
{
	int err;

	*orgs = vixd_orgs(v);
	if ((err = store_stats(v->stats.reader, *orgs, time(NULL), st)) != 0) {
		log_warnx("admin: cannot read the store for monitoring: %s",
		    err_name(err));
		orgs_unref(*orgs);
		*orgs = NULL;
		return -1;
	}
	return 0;
}

static void
admin_metrics(struct evhttp_request *req, void *arg)
{
	struct vixd *v = arg;
	struct evbuffer *b;
	struct writer_stats ws;
	struct store_stats st;
	struct orgs *orgs;
	char labels[64];

	if (admin_snapshot(v, &st, &orgs) == -1) {
		evhttp_send_error(req, HTTP_INTERNAL, "cannot read the store");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		goto done;
	}
	writer_get_stats(v->writer, &ws);
	snprintf(labels, sizeof(labels), "{version=\"%s\"}", VIX_VERSION);
	metric(b, "vix_build_info", "gauge", "vixd build.", labels, 1);
	metric(b, "vix_start_time_seconds", "gauge",
	    "When vixd started serving, in seconds since the epoch.", "",
	    (uint64_t)v->stats.started);
	metric(b, "vix_connections_open", "gauge", "Client connections open.",
	    "", atomic_load(&v->nconns));
	metrics_write(b, &v->stats.metrics);
	admin_metrics_writer(b, &ws);
	admin_metrics_store(b, &st);
	admin_metrics_sweep(b, &v->stats);
	orgstats_write(v->orgstats, b, orgs);
	admin_reply(req, HTTP_OK, "OK",
	    "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
done:
	store_stats_free(&st);
	orgs_unref(orgs);
}

static void
admin_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	evbuffer_add_printf(b, "%s\n", text);
	admin_reply(req, code, reason, "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

static void
admin_healthz(struct evhttp_request *req, void *arg)
{
	admin_text(req, HTTP_OK, "OK", "ok");
}

/* Why vixd should not be sent traffic now, or NULL when it is ready. */
static const char *
admin_not_ready(struct vixd *v, char *buf, size_t len)
{
	struct writer_stats ws;

	if (v->store == NULL || v->writer == NULL)
		return "store not open";
	if (v->listener == NULL)
		return "client listener not up";
	writer_get_stats(v->writer, &ws);
	if (ws.waiting > 0 && ws.since_progress_ms > ADMIN_STALL_MS) {
		snprintf(buf, len, "writer stalled: %llu writes waiting, no "
		    "commit for %llu s", (unsigned long long)ws.waiting,
		    (unsigned long long)ws.since_progress_ms / 1000);
		return buf;
	}
	return NULL;
}

static void
admin_readyz(struct evhttp_request *req, void *arg)
{
	char buf[128];
	const char *why = admin_not_ready(arg, buf, sizeof(buf));

	if (why == NULL)
		admin_text(req, HTTP_OK, "OK", "ready");
	else
		admin_text(req, HTTP_SERVUNAVAIL, "Service Unavailable", why);
}

/* The configuration that shapes behaviour; no secrets, no key paths. */
static void
admin_status_config(struct evbuffer *b, struct vixd *v, size_t norgs)
{
	const struct vixd_config *c = &v->cfg;
	char addr[300];

	evbuffer_add_printf(b, "\"config\":{\"listen\":");
	json_string(b, v->listener != NULL ? server_bound_address(v, addr,
	    sizeof(addr)) : c->listen);
	evbuffer_add_printf(b, ",\"admin_listen\":");
	json_string(b, admin_address(v, addr, sizeof(addr)));
	evbuffer_add_printf(b, ",\"workers\":%u,\"max_frame\":%zu,"
	    "\"max_connections\":%u,\"max_signal_days\":%u,"
	    "\"escalate_after\":%lld,\"data_dir\":", v->nworkers, c->max_frame,
	    c->max_connections, c->max_signal_days,
	    (long long)c->escalate_after);
	json_string(b, c->data_dir);
	evbuffer_add_printf(b, ",\"map_size\":%zu,\"quota_percent\":%u,"
	    "\"max_inflight\":%u,\"rate_limit\":%u,\"rate_burst\":%u,"
	    "\"max_new_signals_per_day\":%u,"
	    "\"queue_max\":%u,\"orgs\":%zu,\"dev\":%s}", c->map_size,
	    c->quota_percent, c->max_inflight, c->rate_limit, c->rate_burst,
	    c->max_new_signals_per_day,
	    c->queue_max, norgs, v->dev ? "true" : "false");
}

static void
admin_status(struct evhttp_request *req, void *arg)
{
	struct vixd *v = arg;
	struct evbuffer *b;
	struct store_stats st;
	struct orgs *orgs;
	int64_t subs = 0;

	if (admin_snapshot(v, &st, &orgs) == -1) {
		evhttp_send_error(req, HTTP_INTERNAL, "cannot read the store");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < METRICS_SLOTS; i++)
		subs += atomic_load(&v->stats.metrics.slot[i].subscribers);
	evbuffer_add_printf(b, "{\"version\":\"%s\",\"uptime_seconds\":%lld,"
	    "\"counts\":{\"signals\":%zu,\"matches\":%zu,"
	    "\"matches_uncoordinated\":%zu,\"archived\":%zu,"
	    "\"connections\":%u,\"subscribers\":%lld},", VIX_VERSION,
	    (long long)(time(NULL) - v->stats.started), st.signals, st.matches,
	    st.matches_uncoordinated, st.archived, atomic_load(&v->nconns),
	    (long long)(subs > 0 ? subs : 0));
	admin_status_config(b, v, orgs->n);
	evbuffer_add_printf(b, "}\n");
	admin_reply(req, HTTP_OK, "OK", "application/json", b);
	evbuffer_free(b);
done:
	store_stats_free(&st);
	orgs_unref(orgs);
}

static void
admin_not_found(struct evhttp_request *req, void *arg)
{
	admin_text(req, HTTP_NOTFOUND, "Not Found", "not found; try /metrics, "
	    "/healthz, /readyz or /v1/status");
}

int
admin_start(struct vixd *v)
{
	char host[256];
	uint16_t port;
	const char *why;

	if (addr_split(v->cfg.admin_listen, host, sizeof(host), &port,
	    &why) == -1) {
		log_warnx("admin_listen %s: %s", v->cfg.admin_listen, why);
		return -1;
	}
	if ((v->stats.reader = store_reader_new(v->store)) == NULL) {
		log_warnx("admin_start: out of memory");
		return -1;
	}
	if ((v->admin = evhttp_new(v->base)) == NULL ||
	    (v->admin_sock = evhttp_bind_socket_with_handle(v->admin, host,
	    port)) == NULL) {
		log_warn("admin_listen %s", v->cfg.admin_listen);
		return -1;
	}
	v->stats.started = time(NULL);
	evhttp_set_allowed_methods(v->admin, EVHTTP_REQ_GET);
	evhttp_set_cb(v->admin, "/metrics", admin_metrics, v);
	evhttp_set_cb(v->admin, "/healthz", admin_healthz, v);
	evhttp_set_cb(v->admin, "/readyz", admin_readyz, v);
	evhttp_set_cb(v->admin, "/v1/status", admin_status, v);
	evhttp_set_gencb(v->admin, admin_not_found, v);
	return 0;
}

void
admin_stop(struct vixd *v)
{
	if (v->admin != NULL)
		evhttp_free(v->admin);
	v->admin = NULL;
	store_reader_free(v->stats.reader);
	v->stats.reader = NULL;
}

const char *
admin_address(struct vixd *v, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64];
	int fd = evhttp_bound_socket_get_fd(v->admin_sock);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    ss.ss_family != AF_INET)
		return v->cfg.admin_listen;
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
	    sizeof(host));
	snprintf(buf, len, "%s:%u", host,
	    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	return buf;
}
