/*
 * The status page and its sampler (see statuspage.h). Everything here
 * runs on the main loop: the sampler asks for a status snapshot (the
 * store's part is read on the status thread) and adds what it shows to
 * the ring; the page reads the ring. Nothing is done per request.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "history.h"
#include "log.h"
#include "orgs.h"
#include "plot.h"
#include "status.h"
#include "statuspage.h"
#include "vix.pb-c.h"
#include "vix_version.h"
#include "vixd.h"

struct statuspage {
	struct vixd		*v;
	struct event		*ev;		/* every status_interval */
	struct status_wait	 wait;		/* a reading under way */
	unsigned		 interval;
	struct history		 hist;
	/* The page's scratch: the plots' times and values. */
	int64_t			 t[HISTORY_LEN];
	double			 y[PLOT_SERIES_MAX][HISTORY_LEN];
};

/* The recipients with the most pending, most first, into in->top. */
static void
sp_top(struct history_input *in, const struct store_stats *st)
{
	for (size_t i = 0; i < st->npending; i++) {
		const struct store_pending *p = &st->pending[i];
		size_t at = in->ntop;

		in->pending_total += p->pending;
		if (p->pending == 0)
			continue;
		while (at > 0 && in->top[at - 1].pending < p->pending)
			at--;
		if (at >= HISTORY_TOP)
			continue;
		if (in->ntop < HISTORY_TOP)
			in->ntop++;
		memmove(&in->top[at + 1], &in->top[at], (in->ntop - at - 1) *
		    sizeof(in->top[0]));
		snprintf(in->top[at].org, sizeof(in->top[at].org), "%s",
		    p->org->id);
		in->top[at].pending = p->pending;
	}
}

/*
 * The next reading status_interval after this one: each sample covers at
 * least the interval. A persistent timer would keep to its schedule, and
 * after a late tick (a busy loop) the next would come soon after it, its
 * sample a fraction of a second long and its rates jumping.
 */
static void
sp_arm(struct statuspage *sp)
{
	struct timeval tv = { sp->interval, 0 };

	if (event_add(sp->ev, &tv) == -1)
		log_warnx("status page: cannot schedule the next sample");
}

static void
sp_read(void *arg, struct vixd_status *s)
{
	struct statuspage *sp = arg;
	struct history_input in;

	memset(&in, 0, sizeof(in));
	in.t = s->now;
	in.mono_ns = metrics_now_ns();
	in.registrations = metrics_requests_total(s->metrics,
	    METRICS_REQ_REGISTER, VIX__V1__STATUS__CODE__OK);
	in.requests = metrics_requests_total(s->metrics, METRICS_REQ_NONE, -1);
	metrics_latency_read(s->metrics, &in.req_latency);
	in.commit_latency = s->writer.commit_times;
	in.connections = s->connections;
	if ((in.has_pending = s->store_err == 0))
		sp_top(&in, s->st);
	status_release(s);
	history_add(&sp->hist, &in);
	sp_arm(sp);
}

static void
sp_tick(evutil_socket_t fd, short what, void *arg)
{
	struct statuspage *sp = arg;

	if (sp->wait.status != NULL)
		return;		/* the last reading is still on its way */
	status_ask(sp->v->status, &sp->wait, sp_read, sp);
}

struct statuspage *
statuspage_start(struct vixd *v)
{
	struct statuspage *sp = calloc(1, sizeof(*sp));

	if (sp == NULL || (sp->ev = event_new(v->base, -1, 0, sp_tick,
	    sp)) == NULL) {
		log_warnx("statuspage_start: out of memory");
		statuspage_free(sp);
		return NULL;
	}
	sp->v = v;
	sp->interval = v->cfg.status_interval;
	history_init(&sp->hist);
	sp_tick(-1, 0, sp);	/* the start the first sample counts from */
	return sp;
}

void
statuspage_free(struct statuspage *sp)
{
	if (sp == NULL)
		return;
	status_cancel(&sp->wait);
	if (sp->ev != NULL)
		event_free(sp->ev);
	free(sp);
}

/* ---- the page --------------------------------------------------------- */

/* Short enough to read at a glance; dark on white (WCAG AA contrast). */
static const char sp_style[] =
	"body{font-family:system-ui,sans-serif;color:#1a1a1a;"
	"background:#fff;margin:1rem auto;max-width:60rem;padding:0 1rem;"
	"line-height:1.4}"
	"table{border-collapse:collapse;margin:.5rem 0}"
	"th,td{border:1px solid #767676;padding:.2rem .6rem;text-align:left}"
	"td{font-variant-numeric:tabular-nums}"
	"figure{margin:1rem 0}figcaption{font-weight:bold}"
	"svg{max-width:100%;height:auto}"
	".bad{color:#a00000;font-weight:bold}.good{color:#1d6b2f}";

/* One row of a two-column table: a heading, and text escaped. */
static void
sp_row(struct evbuffer *b, const char *name, const char *cls,
    const char *text)
{
	evbuffer_add_printf(b, "<tr><th scope=\"row\">%s</th><td%s%s%s>", name,
	    cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
	plot_escape(b, text);
	evbuffer_add_printf(b, "</td></tr>\n");
}

static void
sp_health(struct evbuffer *b, const struct vixd_status *s,
    const char *not_ready)
{
	char buf[256], when[64];
	time_t now = (time_t)s->now;
	struct tm tm;
	int64_t up = s->now - s->started;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
	evbuffer_add_printf(b, "<section id=\"health\" aria-labelledby=\""
	    "h-health\"><h2 id=\"h-health\">Health</h2>\n<table>\n");
	sp_row(b, "Health", "good", "ok: vixd answers");
	if (not_ready == NULL)
		sp_row(b, "Readiness", "good", "ready");
	else {
		snprintf(buf, sizeof(buf), "not ready: %s", not_ready);
		sp_row(b, "Readiness", "bad", buf);
	}
	sp_row(b, "Version", NULL, VIX_VERSION);
	snprintf(buf, sizeof(buf), "%lldd %02lld:%02lld:%02lld",
	    (long long)(up / 86400), (long long)(up / 3600 % 24),
	    (long long)(up / 60 % 60), (long long)(up % 60));
	sp_row(b, "Up for", NULL, buf);
	snprintf(buf, sizeof(buf), "%u", s->connections);
	sp_row(b, "Client connections", NULL, buf);
	sp_row(b, "Page made at", NULL, when);
	evbuffer_add_printf(b, "</table></section>\n");
}

/* The recipients waiting longest to acknowledge, as the store has them. */
static void
sp_pending(struct evbuffer *b, const struct vixd_status *s)
{
	const struct store_stats *st = s->st;
	size_t shown = 0;

	evbuffer_add_printf(b, "<h3>Notifications pending by recipient</h3>\n");
	for (size_t i = 0; i < st->npending; i++) {
		if (st->pending[i].pending == 0)
			continue;
		if (shown++ == 0)
			evbuffer_add_printf(b, "<table><tr><th scope=\"col\">"
			    "recipient</th><th scope=\"col\">pending</th><th "
			    "scope=\"col\">oldest (s)</th></tr>\n");
		evbuffer_add_printf(b, "<tr><th scope=\"row\">");
		plot_escape(b, st->pending[i].org->id);
		evbuffer_add_printf(b, "</th><td>%llu</td><td>%lld</td></tr>\n",
		    (unsigned long long)st->pending[i].pending,
		    (long long)status_oldest_age(s, i));
	}
	evbuffer_add_printf(b, shown ? "</table>\n" : "<p>None: every "
	    "recipient has acknowledged every notification.</p>\n");
}

static void
sp_store(struct evbuffer *b, const struct vixd_status *s)
{
	const struct store_stats *st = s->st;
	char buf[160];
	uint64_t pending = 0;

	evbuffer_add_printf(b, "<section id=\"store\" aria-labelledby=\""
	    "h-store\"><h2 id=\"h-store\">Store</h2>\n");
	if (s->store_err != 0) {
		evbuffer_add_printf(b, "<p class=\"bad\">The store could not be "
		    "read for this page; see the log.</p></section>\n");
		return;
	}
	for (size_t i = 0; i < st->npending; i++)
		pending += st->pending[i].pending;
	evbuffer_add_printf(b, "<table>\n");
	/* One unit for both, so that they compare at a glance. */
	snprintf(buf, sizeof(buf), "%.1f MiB of %.1f MiB (%.0f%%)",
	    (double)st->bytes_used / 1048576, (double)st->bytes_reserved /
	    1048576, st->bytes_reserved ? 100.0 * (double)st->bytes_used /
	    (double)st->bytes_reserved : 0.0);
	sp_row(b, "Space used", NULL, buf);
	snprintf(buf, sizeof(buf), "%zu", st->signals);
	sp_row(b, "Signals active", NULL, buf);
	snprintf(buf, sizeof(buf), "%zu (%zu not coordinated)", st->matches,
	    st->matches_uncoordinated);
	sp_row(b, "Matches open", NULL, buf);
	snprintf(buf, sizeof(buf), "%zu", st->archived);
	sp_row(b, "Signals archived", NULL, buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)pending);
	sp_row(b, "Notifications pending", NULL, buf);
	evbuffer_add_printf(b, "</table>\n");
	sp_pending(b, s);
	evbuffer_add_printf(b, "</section>\n");
}

/* Series k of the plots: one field of every sample, times scale. */
static void
sp_series(struct statuspage *sp, size_t k, size_t field, double scale)
{
	for (size_t i = 0; i < sp->hist.n; i++) {
		const struct history_sample *h = history_get(&sp->hist, i);

		sp->t[i] = h->t;
		sp->y[k][i] = *(const double *)(const void *)((const char *)h +
		    field) * scale;
	}
}

/* One plot of up to two fields of the samples. */
static void
sp_plot2(struct evbuffer *b, struct statuspage *sp, int64_t now,
    const char *title, const char *unit, double scale, const char *n0,
    size_t f0, const char *n1, size_t f1)
{
	struct plot_series ser[2] = { { n0, sp->y[0] }, { n1, sp->y[1] } };
	struct plot p = { title, unit, sp->t, sp->hist.n, now, ser,
	    n1 != NULL ? 2 : 1 };

	sp_series(sp, 0, f0, scale);
	if (n1 != NULL)
		sp_series(sp, 1, f1, scale);
	plot_figure(b, &p);
}

/*
 * Pending notifications: the total, and each recipient among the most
 * pending at the latest sample (shown where it was among them).
 */
static void
sp_plot_pending(struct evbuffer *b, struct statuspage *sp, int64_t now)
{
	struct plot_series ser[1 + HISTORY_TOP];
	const struct history_sample *last = sp->hist.n ?
	    history_get(&sp->hist, sp->hist.n - 1) : NULL;
	struct plot p = { "Notifications pending", "notifications", sp->t,
	    sp->hist.n, now, ser, 1 };

	sp_series(sp, 0, offsetof(struct history_sample, pending_total), 1);
	ser[0] = (struct plot_series){ "all recipients", sp->y[0] };
	for (size_t k = 0; last != NULL && k < last->ntop; k++) {
		for (size_t i = 0; i < sp->hist.n; i++) {
			const struct history_sample *h = history_get(&sp->hist,
			    i);

			sp->y[k + 1][i] = (double)NAN;
			for (size_t j = 0; j < h->ntop; j++)
				if (strcmp(h->top[j].org, last->top[k].org) == 0)
					sp->y[k + 1][i] = (double)h->top[j].pending;
		}
		ser[k + 1] = (struct plot_series){ last->top[k].org,
		    sp->y[k + 1] };
		p.nseries++;
	}
	plot_figure(b, &p);
}

static void
sp_plots(struct evbuffer *b, struct statuspage *sp, int64_t now)
{
	unsigned span = (unsigned)(sp->hist.n * sp->interval);

	evbuffer_add_printf(b, "<section id=\"plots\" aria-labelledby=\""
	    "h-plots\"><h2 id=\"h-plots\">The last hours</h2>\n<p>One sample "
	    "every %u s (status_interval), each over the interval before it; "
	    "%zu samples held (%uh %02um), at most %u.</p>\n", sp->interval,
	    sp->hist.n, span / 3600, span / 60 % 60, HISTORY_LEN);
	sp_plot2(b, sp, now, "Registrations and requests per second",
	    "per second", 1, "registrations (OK)",
	    offsetof(struct history_sample, registrations), "requests (all)",
	    offsetof(struct history_sample, requests));
	sp_plot2(b, sp, now, "Request latency (decoded to answered)", "ms",
	    1000, "p50", offsetof(struct history_sample, req_p50), "p99",
	    offsetof(struct history_sample, req_p99));
	sp_plot2(b, sp, now, "Commit latency (write transaction begun to "
	    "durable)", "ms", 1000, "p50",
	    offsetof(struct history_sample, commit_p50), "p99",
	    offsetof(struct history_sample, commit_p99));
	sp_plot_pending(b, sp, now);
	sp_plot2(b, sp, now, "Client connections open", "connections", 1,
	    "connections", offsetof(struct history_sample, connections), NULL,
	    0);
	evbuffer_add_printf(b, "</section>\n");
}

void
statuspage_html(struct evbuffer *b, struct statuspage *sp,
    const struct vixd_status *s, const char *not_ready)
{
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\""
	    "width=device-width, initial-scale=1\"><title>vix status</title>"
	    "<style>%s</style></head>\n<body><main>\n<h1>vix status</h1>\n",
	    sp_style);
	sp_health(b, s, not_ready);
	sp_store(b, s);
	sp_plots(b, sp, s->now);
	evbuffer_add_printf(b, "<p>The same in numbers: <a href=\"/metrics\">"
	    "/metrics</a>, <a href=\"/v1/status\">/v1/status</a>.</p>\n"
	    "</main></body></html>\n");
}
