/* Admin HTTP: Prometheus metrics, health, readiness and status. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "addr.h"
#include "admin.h"
#include "json.h"
#include "errors.h"
#include "log.h"
#include "orgstats.h"
#include "server.h"
#include "status.h"
#include "statuspage.h"
#include "figures.h"
#include "vix_version.h"
#include "vixd.h"
#include "webhook.h"

/* Jobs waiting this long with no batch finished: the writer is stalled. */
#define ADMIN_STALL_MS	10000
/* A request line and headers, together, at most (a GET needs a few hundred). */
#define ADMIN_HEADERS_MAX	8192

/* What a handler answers; body is the transport's, empty to begin with. */
struct admin_answer {
	int		 code;
	const char	*reason;
	const char	*type;
	struct evbuffer	*body;
	const char	*headers;	/* more header lines, each CRLF-ended */
};

/*
 * The status page: nothing from anywhere else, no script; its styles are
 * inline, in the page.
 */
#define ADMIN_PAGE_HEADERS \
	"Content-Security-Policy: default-src 'none'; style-src " \
	"'unsafe-inline'; base-uri 'none'; form-action 'none'; " \
	"frame-ancestors 'none'\r\nCache-Control: no-store\r\n"

/* What a route answers from a status snapshot. */
typedef void	admin_render_fn(struct admin_answer *, struct vixd *,
		    const struct vixd_status *);

/* One connection on admin_listen: one request, one answer, closed. */
struct admin_conn {
	LIST_ENTRY(admin_conn)	 entry;
	struct vixd		*v;
	struct bufferevent	*bev;
	struct status_wait	 wait;		/* for the status snapshot */
	admin_render_fn		*render;	/* once it is there */
};

static void
admin_text(struct admin_answer *a, int code, const char *reason,
    const char *text)
{
	a->code = code;
	a->reason = reason;
	a->type = "text/plain; charset=utf-8";
	evbuffer_drain(a->body, evbuffer_get_length(a->body));
	evbuffer_add_printf(a->body, "%s\n", text);
}

static const char *const refusal_names[REFUSED_COUNT] = {
	[REFUSED_MAX_CONNECTIONS] = "max_connections",
	[REFUSED_MAX_HANDSHAKES] = "max_handshakes",
	[REFUSED_MAX_HANDSHAKES_PER_ADDRESS] = "max_handshakes_per_address",
	[REFUSED_ADMIN_MAX_CONNECTIONS] = "admin_max_connections",
};

const char *
admin_refusal_name(enum vixd_refusal why)
{
	return refusal_names[why];
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
admin_metrics_store(struct evbuffer *b, const struct vixd_status *s)
{
	const struct store_stats *st = s->st;

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
	for (size_t i = 0; i < st->ngauges; i++)
		metric(b, st->gauges[i].name, "gauge", st->gauges[i].help, "",
		    st->gauges[i].value);
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
		    (long long)status_oldest_age(s, i));
	webhook_metrics(b, s->webhooks, s->nwebhooks);
	metric(b, "vix_status_refreshes_total", "counter", "Times the "
	    "store's counts were read for monitoring (again only after a "
	    "commit or a reload).", "", s->refreshes);
	metric(b, "vix_status_store_age_seconds", "gauge", "Since the "
	    "store's counts shown were read (nothing was committed since).",
	    "", (uint64_t)(s->now > s->store_taken ? s->now - s->store_taken :
	    0));
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
	metric(b, "vix_commit_conflicts_total", "counter",
	    "Batches run again after losing to another vixd's transaction "
	    "on the same database (a deadlock on a youth).", "",
	    ws->conflicts);
	metrics_family(b, "vix_commit_batch_size", "histogram",
	    "Writes per committed transaction.");
	metrics_hist_write(b, "vix_commit_batch_size", "", &ws->batch_sizes,
	    METRICS_SIZE);
	metrics_family(b, "vix_commit_duration_seconds", "histogram",
	    "Time from a write transaction begun to committed (durable).");
	metrics_hist_write(b, "vix_commit_duration_seconds", "",
	    &ws->commit_times, METRICS_SECONDS);
	metrics_family(b, "vix_commit_queue_wait_seconds", "histogram",
	    "Time from a write request decoded to the writer taking it into "
	    "a batch (waiting for the batch before it to commit).");
	metrics_hist_write(b, "vix_commit_queue_wait_seconds", "",
	    &ws->queue_times, METRICS_SECONDS);
}

static void
admin_metrics_sweep(struct evbuffer *b, const struct vixd_status *s)
{
	metric(b, "vix_sweeps_total", "counter", "Sweep passes run.", "",
	    s->sweeps);
	metric(b, "vix_sweep_failures_total", "counter",
	    "Sweep passes that failed.", "", s->sweep_failures);
	metric(b, "vix_signals_expired_total", "counter",
	    "Signals removed at their expiry.", "", s->signals_expired);
	metric(b, "vix_escalations_total", "counter",
	    "Matches escalated for want of coordination.", "", s->escalations);
	metric(b, "vix_archive_purged_total", "counter",
	    "Archived signals purged after archive_retention.", "",
	    s->archive_purged);
	metrics_family(b, "vix_outbox_pruned_total", "counter", "Outbox rows "
	    "removed: acked by every consumer, or dropped unacknowledged after "
	    "outbox_retention.");
	evbuffer_add_printf(b, "vix_outbox_pruned_total{reason=\"acked\"} "
	    "%llu\nvix_outbox_pruned_total{reason=\"retention\"} %llu\n",
	    (unsigned long long)s->outbox_pruned_acked,
	    (unsigned long long)s->outbox_pruned_retention);
}

static void
admin_metrics_connections(struct evbuffer *b, const struct vixd_status *s)
{
	static const char *const listeners[LISTENER_COUNT] = {
		[LISTENER_CLIENT] = "listen",
		[LISTENER_ADMIN] = "admin_listen",
	};

	metric(b, "vix_connections_open", "gauge", "Client connections open.",
	    "", s->connections);
	metric(b, "vix_handshakes_pending", "gauge", "Client connections "
	    "accepted whose TLS handshake is not done (max_handshakes).", "",
	    s->handshakes_pending);
	metric(b, "vix_admin_connections_open", "gauge", "Connections open "
	    "on admin_listen (admin_max_connections).", "",
	    s->admin_connections);
	metrics_family(b, "vix_connections_refused_total", "counter",
	    "Connections closed at once, by the limit that was reached.");
	for (int i = 0; i < REFUSED_COUNT; i++)
		evbuffer_add_printf(b, "vix_connections_refused_total{reason="
		    "\"%s\"} %llu\n", refusal_names[i],
		    (unsigned long long)s->refused[i]);
	metrics_family(b, "vix_accept_errors_total", "counter", "Failed "
	    "accept() calls, by listener; each pauses that listener for a "
	    "second (EMFILE: out of descriptors).");
	for (int i = 0; i < LISTENER_COUNT; i++)
		evbuffer_add_printf(b, "vix_accept_errors_total{listener="
		    "\"%s\"} %llu\n", listeners[i],
		    (unsigned long long)s->accept_errors[i]);
}

static void
admin_metrics(struct admin_answer *a, struct vixd *v,
    const struct vixd_status *s)
{
	struct evbuffer *b = a->body;
	char labels[64];

	snprintf(labels, sizeof(labels), "{version=\"%s\"}", VIX_VERSION);
	metric(b, "vix_build_info", "gauge", "vixd build.", labels, 1);
	metric(b, "vix_start_time_seconds", "gauge",
	    "When vixd started serving, in seconds since the epoch.", "",
	    (uint64_t)s->started);
	admin_metrics_connections(b, s);
	metrics_write(b, s->metrics);
	admin_metrics_writer(b, &s->writer);
	metric(b, "vix_store_reachable", "gauge", "1 when the store could "
	    "be written at the last attempt; 0 while its database has no "
	    "primary this vixd can reach (requests are answered UNAVAILABLE).",
	    "", (uint64_t)store_reachable(v->store));
	/* The store may be out of reach (a database failing over): the rest
	   of the page is what an operator needs then. */
	metric(b, "vix_status_store_readable", "gauge", "1 when the store's "
	    "counts below could be read for this page; 0 when they could not "
	    "(see vix_store_reachable and the log).", "",
	    (uint64_t)(s->store_err == 0));
	if (s->store_err == 0)
		admin_metrics_store(b, s);
	admin_metrics_sweep(b, s);
	orgstats_write(s->orgstats, b, s->orgs);
	a->type = "text/plain; version=0.0.4; charset=utf-8";
}

static void
admin_healthz(struct admin_answer *a, struct vixd *v, char *query)
{
	admin_text(a, 200, "OK", "ok");
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
	if (!store_reachable(v->store))
		return "store not reachable for writing (no primary)";
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
admin_readyz(struct admin_answer *a, struct vixd *v, char *query)
{
	char buf[128];
	const char *why = admin_not_ready(v, buf, sizeof(buf));

	if (why == NULL)
		admin_text(a, 200, "OK", "ready");
	else
		admin_text(a, 503, "Service Unavailable", why);
}

/* The configuration that shapes behaviour; no secrets, no key paths. */
static void
admin_status_config(struct jsonw *w, struct vixd *v, size_t norgs)
{
	const struct vixd_config *c = &v->cfg;
	char addr[300];

	jsonw_key(w, "config");
	jsonw_object(w);
	jsonw_kstr(w, "listen", v->listener != NULL ?
	    server_bound_address(v, addr, sizeof(addr)) : c->listen);
	jsonw_kstr(w, "admin_listen", admin_address(v, addr, sizeof(addr)));
	jsonw_kuint(w, "workers", v->nworkers);
	jsonw_kuint(w, "max_frame", c->max_frame);
	jsonw_kuint(w, "max_connections", c->max_connections);
	jsonw_kuint(w, "max_handshakes", c->max_handshakes);
	jsonw_kuint(w, "max_handshakes_per_address",
	    c->max_handshakes_per_address);
	jsonw_kuint(w, "admin_max_connections", c->admin_max_connections);
	jsonw_kuint(w, "admin_timeout", c->admin_timeout);
	jsonw_kuint(w, "max_signal_days", c->policy.max_signal_days);
	jsonw_kuint(w, "max_age", c->policy.max_age);
	jsonw_kstr(w, "at_expiry", policy_disposal_name(c->policy.at_expiry));
	jsonw_kstr(w, "at_age_limit",
	    policy_disposal_name(c->policy.at_age_limit));
	jsonw_kint(w, "archive_retention", c->policy.archive_retention);
	jsonw_kint(w, "escalate_after", c->policy.escalate_after);
	jsonw_key(w, "remind_after");
	jsonw_array(w);
	for (size_t i = 0; i < c->remind_after.n; i++)
		jsonw_int(w, c->remind_after.v[i]);
	jsonw_end(w);
	jsonw_kint(w, "reescalate_after", c->reescalate_after);
	jsonw_kuint(w, "reescalate_max", c->reescalate_max);
	jsonw_kstr(w, "data_dir", c->data_dir);
	jsonw_kuint(w, "map_size", c->map_size);
	jsonw_kuint(w, "quota_percent", c->quota_percent);
	jsonw_kuint(w, "max_inflight", c->max_inflight);
	jsonw_kuint(w, "rate_limit", c->rate_limit);
	jsonw_kuint(w, "rate_burst", c->rate_burst);
	jsonw_kuint(w, "max_new_signals_per_day", c->max_new_signals_per_day);
	jsonw_kuint(w, "queue_max", c->queue_max);
	jsonw_kuint(w, "orgs", norgs);
	jsonw_kbool(w, "dev", v->dev);
	jsonw_end(w);
}

static void
admin_status(struct admin_answer *a, struct vixd *v,
    const struct vixd_status *s)
{
	struct jsonw w;

	json_evbuffer(&w, a->body);
	jsonw_object(&w);
	jsonw_kstr(&w, "version", VIX_VERSION);
	jsonw_kint(&w, "uptime_seconds", s->now - s->started);
	jsonw_key(&w, "counts");
	jsonw_object(&w);
	jsonw_kuint(&w, "signals", s->st->signals);
	jsonw_kuint(&w, "matches", s->st->matches);
	jsonw_kuint(&w, "matches_uncoordinated", s->st->matches_uncoordinated);
	jsonw_kuint(&w, "archived", s->st->archived);
	jsonw_kuint(&w, "connections", s->connections);
	jsonw_kint(&w, "subscribers", s->subscribers);
	jsonw_end(&w);
	webhook_json(&w, s->webhooks, s->nwebhooks);
	admin_status_config(&w, v, s->orgs->n);
	jsonw_end(&w);
	jsonw_newline(&w);
	a->type = "application/json";
}

/* GET /: the operator's status page (statuspage.h). */
static void
admin_page(struct admin_answer *a, struct vixd *v,
    const struct vixd_status *s)
{
	char buf[128];

	statuspage_html(a->body, v->stats.page, s, admin_not_ready(v, buf,
	    sizeof(buf)));
	a->type = "text/html; charset=utf-8";
	a->headers = ADMIN_PAGE_HEADERS;
}

static void
admin_bad_parameter(struct admin_answer *a, const char *name,
    const char *why)
{
	char msg[256];

	/* The value is not repeated: whatever was typed stays out of it. */
	snprintf(msg, sizeof(msg), "query parameter %s: %s", name, why);
	admin_text(a, 400, "Bad Request", msg);
}

/* The report's query parameters; 0, or -1 after answering 400. */
static int
admin_report_query(struct admin_answer *a, char *query, const char **p)
{
	static const char *const names[] = { "municipality", "from", "to",
	    "format" };
	char *pair, *val, *rest = query;

	while ((pair = strsep(&rest, "&")) != NULL) {
		size_t i;

		if (*pair == '\0')
			continue;
		if ((val = strchr(pair, '=')) != NULL)
			*val++ = '\0';
		for (i = 0; i < 4 && strcmp(pair, names[i]) != 0; i++)
			;
		if (i == 4) {
			admin_text(a, 400, "Bad Request", "unknown query "
			    "parameter; /v1/report takes municipality, from, "
			    "to and format");
			return -1;
		}
		if (val == NULL || p[i] != NULL) {
			admin_bad_parameter(a, names[i], val == NULL ?
			    "needs a value (name=value)" : "given twice");
			return -1;
		}
		p[i] = val;
	}
	for (size_t i = 0; i < 3; i++)
		if (p[i] == NULL) {
			admin_bad_parameter(a, names[i], "required "
			    "(municipality=CODE|none&from=YYYY-MM&to=YYYY-MM)");
			return -1;
		}
	if (p[3] != NULL && strcmp(p[3], "json") != 0 &&
	    strcmp(p[3], "csv") != 0) {
		admin_bad_parameter(a, "format", "json or csv");
		return -1;
	}
	return 0;
}

/*
 * GET /v1/report?municipality=CODE|none&from=YYYY-MM&to=YYYY-MM
 * [&format=json|csv]: the regional figures of vixctl report. Read here,
 * on the main loop, because the read is bounded: one read transaction of
 * at most FIG_MONTHS_MAX lookups of one meta record by key (figures_read),
 * whatever the size of the store; with the store out of reach it answers
 * 503 at once rather than wait for a database.
 */
static void
admin_report(struct admin_answer *a, struct vixd *v, char *query)
{
	static const char *const names[] = { [FIGQ_MUNICIPALITY] =
	    "municipality", [FIGQ_FROM] = "from", [FIGQ_TO] = "to",
	    [FIGQ_RANGE] = "to" };
	const char *p[4] = { NULL };
	struct figures_month *ms;
	struct figures_query q;
	enum figures_bad bad;
	const char *why;
	struct jsonw w;
	size_t n;

	if (admin_report_query(a, query != NULL ? query : (char[]){ "" },
	    p) == -1)
		return;
	if ((why = figures_query_parse(&q, p[0], p[1], p[2], &bad)) != NULL) {
		admin_bad_parameter(a, names[bad], why);
		return;
	}
	if (!store_reachable(v->store)) {
		admin_text(a, 503, "Service Unavailable", "the store is not "
		    "reachable; try again");
		return;
	}
	if ((ms = calloc(FIG_MONTHS_MAX, sizeof(*ms))) == NULL ||
	    (v->stats.reader == NULL && (v->stats.reader =
	    store_reader_new(v->store)) == NULL) ||
	    figures_read(v->stats.reader, q.muni, q.y0, q.m0, q.y1, q.m1, ms,
	    &n) != 0) {
		admin_text(a, 500, "Internal Server Error", "cannot read the "
		    "store");
		free(ms);
		return;
	}
	if (p[3] != NULL && strcmp(p[3], "csv") == 0) {
		figures_csv(a->body, ms, n, v->cfg.report_min_count);
		a->type = "text/csv; charset=utf-8; header=present";
	} else {
		json_evbuffer(&w, a->body);
		figures_report_json(&w, &q, ms, n, v->cfg.report_min_count);
		a->type = "application/json";
	}
	free(ms);
}

static void
admin_not_found(struct admin_answer *a, struct vixd *v)
{
	admin_text(a, 404, "Not Found", "not found; try /, /metrics, "
	    "/healthz, /readyz, /v1/status or /v1/report");
}

static const struct {
	const char	*path;
	void		(*fn)(struct admin_answer *, struct vixd *,
			    char *query);
	admin_render_fn	*render;	/* instead, from the status snapshot */
} admin_routes[] = {
	{ "/", NULL, admin_page },
	{ "/metrics", NULL, admin_metrics },
	{ "/healthz", admin_healthz, NULL },
	{ "/readyz", admin_readyz, NULL },
	{ "/v1/status", NULL, admin_status },
	{ "/v1/report", admin_report, NULL },
};

/* A header line's value if line is that header (any case), else NULL. */
static const char *
admin_header(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	return line + n + 1 + strspn(line + n + 1, " \t");
}

/*
 * Answer the request whose head (request line and header lines, each
 * ended by CRLF, NUL-terminated) is head. Only GET, never a body. Returns
 * NULL, or how to answer once the status snapshot is there.
 */
static admin_render_fn *
admin_route(struct vixd *v, char *head, struct admin_answer *a)
{
	char method[16], target[1024], version[16], *line, *eol, *q;
	const char *val;

	if ((eol = strstr(head, "\r\n")) == NULL) {	/* a NUL in it */
		admin_text(a, 400, "Bad Request", "malformed request line");
		return NULL;
	}
	*eol = '\0';
	if (sscanf(head, "%15s %1023s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7) != 0) {
		admin_text(a, 400, "Bad Request", "malformed request line");
		return NULL;
	}
	for (line = eol + 2; *line != '\0'; line = eol + 2) {
		if ((eol = strstr(line, "\r\n")) == NULL)
			break;
		*eol = '\0';
		if (admin_header(line, "Transfer-Encoding") != NULL ||
		    ((val = admin_header(line, "Content-Length")) != NULL &&
		    strtoull(val, NULL, 10) != 0)) {
			admin_text(a, 413, "Payload Too Large", "no request "
			    "body is accepted here");
			return NULL;
		}
	}
	if (strcmp(method, "GET") != 0) {
		admin_text(a, 405, "Method Not Allowed", "only GET");
		return NULL;
	}
	if ((q = strchr(target, '?')) != NULL)
		*q++ = '\0';
	for (size_t i = 0; i < sizeof(admin_routes) / sizeof(admin_routes[0]);
	    i++)
		if (strcmp(target, admin_routes[i].path) == 0) {
			if (admin_routes[i].render != NULL)
				return admin_routes[i].render;
			admin_routes[i].fn(a, v, q);
			return NULL;
		}
	admin_not_found(a, v);
	return NULL;
}

static void
admin_conn_free(struct admin_conn *ac)
{
	status_cancel(&ac->wait);
	LIST_REMOVE(ac, entry);
	ac->v->stats.admin_conns--;
	bufferevent_free(ac->bev);
	free(ac);
}

/* Timeout, EOF or error: nothing more to say. */
static void
admin_conn_event(struct bufferevent *bev, short what, void *arg)
{
	admin_conn_free(arg);
}

static void
admin_conn_sent(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		admin_conn_free(arg);
}

/* Send the answer and close once it is written (one request each). */
static void
admin_send(struct admin_conn *ac, struct admin_answer *a)
{
	struct evbuffer *out = bufferevent_get_output(ac->bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\n%sContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", a->code, a->reason, a->type,
	    a->headers != NULL ? a->headers : "",
	    evbuffer_get_length(a->body));
	evbuffer_add_buffer(out, a->body);
	bufferevent_disable(ac->bev, EV_READ);
	bufferevent_setcb(ac->bev, NULL, admin_conn_sent, admin_conn_event, ac);
	bufferevent_enable(ac->bev, EV_WRITE);
}

/* The status snapshot is there: render it and send the answer. */
static void
admin_status_ready(void *arg, struct vixd_status *s)
{
	struct admin_conn *ac = arg;
	struct admin_answer a = { 200, "OK", "text/plain; charset=utf-8",
	    evbuffer_new(), NULL };

	if (a.body == NULL) {
		status_release(s);
		admin_conn_free(ac);
		return;
	}
	/* /metrics and / say themselves what could not be read. */
	if (s->store_err != 0 && ac->render != admin_metrics &&
	    ac->render != admin_page)
		admin_text(&a, 500, "Internal Server Error",
		    "cannot read the store");
	else
		ac->render(&a, ac->v, s);
	status_release(s);
	admin_send(ac, &a);
	evbuffer_free(a.body);
}

static void
admin_conn_read(struct bufferevent *bev, void *arg)
{
	struct admin_conn *ac = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	struct admin_answer a = { 200, "OK", "text/plain; charset=utf-8",
	    NULL, NULL };
	char head[ADMIN_HEADERS_MAX + 1];
	size_t n;

	if (end.pos == -1 && evbuffer_get_length(in) <= ADMIN_HEADERS_MAX)
		return;		/* the head is not all here yet */
	if ((a.body = evbuffer_new()) == NULL) {
		admin_conn_free(ac);
		return;
	}
	if (end.pos == -1 || (size_t)end.pos + 4 > ADMIN_HEADERS_MAX)
		admin_text(&a, 431, "Request Header Fields Too Large", "the "
		    "request line and headers exceed 8192 bytes");
	else {
		n = (size_t)end.pos + 2;
		evbuffer_remove(in, head, n);
		head[n] = '\0';
		ac->render = admin_route(ac->v, head, &a);
	}
	if (ac->render != NULL) {
		/*
		 * Nothing more is read (a client that half-closed after its
		 * request still gets the answer); the wait is for one read
		 * of the store, on the status thread.
		 */
		evbuffer_free(a.body);
		bufferevent_disable(bev, EV_READ);
		bufferevent_setcb(bev, NULL, NULL, admin_conn_event, ac);
		status_ask(ac->v->status, &ac->wait, admin_status_ready, ac);
		return;
	}
	admin_send(ac, &a);
	evbuffer_free(a.body);
}

/*
 * One connection on admin_listen, or refused at once beyond
 * admin_max_connections. It has admin_timeout to send its request and to
 * read the answer, and ADMIN_HEADERS_MAX for its request line and headers
 * (reading stops there); a request body is refused: an unauthenticated
 * client cannot take memory, the main thread or descriptors.
 */
static void
admin_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct vixd *v = arg;
	struct timeval tv = { v->cfg.admin_timeout, 0 };
	struct admin_conn *ac;

	if (v->stats.admin_conns >= v->cfg.admin_max_connections) {
		server_refused(v, REFUSED_ADMIN_MAX_CONNECTIONS, NULL);
		close(fd);
		return;
	}
	if ((ac = calloc(1, sizeof(*ac))) == NULL || (ac->bev =
	    bufferevent_socket_new(v->base, fd, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL) {
		log_warnx("admin_accept: out of memory; connection dropped");
		free(ac);
		close(fd);
		return;
	}
	ac->v = v;
	LIST_INSERT_HEAD(&v->stats.admin_list, ac, entry);
	v->stats.admin_conns++;
	bufferevent_set_timeouts(ac->bev, &tv, &tv);
	bufferevent_setwatermark(ac->bev, EV_READ, 0, ADMIN_HEADERS_MAX + 1);
	bufferevent_setcb(ac->bev, admin_conn_read, NULL, admin_conn_event, ac);
	bufferevent_enable(ac->bev, EV_READ);
}

static void
admin_accept_error(struct evconnlistener *l, void *arg)
{
	struct vixd *v = arg;

	acceptor_failed(&v->acceptors[LISTENER_ADMIN]);
}

int
admin_start(struct vixd *v)
{
	LIST_INIT(&v->stats.admin_list);
	if ((v->admin = server_bind(v, v->cfg.admin_listen, admin_accept,
	    16)) == NULL)
		return -1;
	if (acceptor_init(&v->acceptors[LISTENER_ADMIN], v->admin,
	    "admin_listen", &v->stats.accept_errors[LISTENER_ADMIN]) == -1)
		return -1;
	evconnlistener_set_error_cb(v->admin, admin_accept_error);
	v->stats.started = time(NULL);
	if ((v->stats.page = statuspage_start(v)) == NULL)
		return -1;
	return 0;
}

void
admin_stop(struct vixd *v)
{
	acceptor_free(&v->acceptors[LISTENER_ADMIN]);
	if (v->admin != NULL) {
		while (!LIST_EMPTY(&v->stats.admin_list))
			admin_conn_free(LIST_FIRST(&v->stats.admin_list));
		evconnlistener_free(v->admin);
	}
	v->admin = NULL;
	statuspage_free(v->stats.page);
	v->stats.page = NULL;
	store_reader_free(v->stats.reader);
	v->stats.reader = NULL;
}

const char *
admin_address(struct vixd *v, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64];
	int fd = evconnlistener_get_fd(v->admin);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    ss.ss_family != AF_INET)
		return v->cfg.admin_listen;
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
	    sizeof(host));
	snprintf(buf, len, "%s:%u", host,
	    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	return buf;
}
