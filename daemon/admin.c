/* Admin HTTP: Prometheus metrics and health. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "addr.h"
#include "admin.h"
#include "log.h"
#include "vix_version.h"
#include "vixd.h"

static void
metric(struct evbuffer *b, const char *name, const char *type,
    const char *help, const char *labels, uint64_t value)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s%s %llu\n",
	    name, help, name, type, name, labels, (unsigned long long)value);
}

static void
admin_metrics(struct evhttp_request *req, void *arg)
{
	struct vixd *v = arg;
	struct vixd_stats *s = &v->stats;
	struct evbuffer *b = evbuffer_new();
	struct writer_stats ws;
	char labels[64];

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	writer_get_stats(v->writer, &ws);
	snprintf(labels, sizeof(labels), "{version=\"%s\"}", VIX_VERSION);
	metric(b, "vix_build_info", "gauge", "vixd build.", labels, 1);
	metric(b, "vix_connections_open", "gauge", "Client connections open.",
	    "", atomic_load(&v->nconns));
	metric(b, "vix_commit_batches_total", "counter",
	    "Write transactions committed by the writer.", "", ws.batches);
	metric(b, "vix_commit_jobs_total", "counter",
	    "Requests applied by the writer.", "", ws.jobs);
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
	evbuffer_add_printf(b, "# HELP vix_outbox_pruned_total Outbox rows "
	    "removed: acked by every consumer, or dropped unacknowledged after "
	    "outbox_retention.\n# TYPE vix_outbox_pruned_total counter\n"
	    "vix_outbox_pruned_total{reason=\"acked\"} %llu\n"
	    "vix_outbox_pruned_total{reason=\"retention\"} %llu\n",
	    (unsigned long long)atomic_load(&s->outbox_pruned_acked),
	    (unsigned long long)atomic_load(&s->outbox_pruned_retention));
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

static void
admin_healthz(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	evbuffer_add_printf(b, "ok\n");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
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
	if ((v->admin = evhttp_new(v->base)) == NULL ||
	    (v->admin_sock = evhttp_bind_socket_with_handle(v->admin, host,
	    port)) == NULL) {
		log_warn("admin_listen %s", v->cfg.admin_listen);
		return -1;
	}
	evhttp_set_allowed_methods(v->admin, EVHTTP_REQ_GET);
	evhttp_set_cb(v->admin, "/metrics", admin_metrics, v);
	evhttp_set_cb(v->admin, "/healthz", admin_healthz, v);
	return 0;
}

void
admin_stop(struct vixd *v)
{
	if (v->admin != NULL)
		evhttp_free(v->admin);
	v->admin = NULL;
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
