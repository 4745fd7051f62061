/* Inline SVG line plots for the status page (see plot.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "plot.h"

/* Geometry of the drawing, in SVG user units. */
#define PLOT_W		640
#define PLOT_H		220
#define PLOT_LEFT	64	/* room for the y labels */
#define PLOT_RIGHT	12
#define PLOT_TOP	28	/* room for the legend */
#define PLOT_BOTTOM	44	/* room for the x labels */
/* Less than this on the x axis would spread two samples over it all. */
#define PLOT_SPAN_MIN	60

/*
 * Dark enough on white for WCAG AA text contrast, told apart by dash
 * pattern as well as colour.
 */
static const char *const colours[PLOT_SERIES_MAX] = {
	"#0b4f8a", "#a23c00", "#5b2a86", "#1d6b2f", "#8a1538", "#3d3d3d",
};
static const char *const dashes[PLOT_SERIES_MAX] = {
	"none", "6 3", "2 3", "8 3 2 3", "4 4", "1 2",
};

void
plot_escape(struct evbuffer *b, const char *s)
{
	size_t n;

	while (*s != '\0') {
		n = strcspn(s, "&<>\"'");
		evbuffer_add(b, s, n);
		s += n;
		switch (*s) {
		case '&':	evbuffer_add(b, "&amp;", 5); break;
		case '<':	evbuffer_add(b, "&lt;", 4); break;
		case '>':	evbuffer_add(b, "&gt;", 4); break;
		case '"':	evbuffer_add(b, "&quot;", 6); break;
		case '\'':	evbuffer_add(b, "&#39;", 5); break;
		default:	return;
		}
		s++;
	}
}

const char *
plot_value(double v, char *buf, size_t len)
{
	if (isnan(v))
		snprintf(buf, len, "no data");
	else if (fabs(v) >= 100 || v == floor(v))
		snprintf(buf, len, "%.0f", v);
	else if (fabs(v) >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (fabs(v) >= 0.01)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.2g", v);
	return buf;
}

double
plot_axis_max(double max)
{
	double p;

	if (!(max > 0) || isinf(max))
		return 1;
	p = pow(10, floor(log10(max)));
	if (max <= p)
		return p;
	if (max <= 2 * p)
		return 2 * p;
	if (max <= 5 * p)
		return 5 * p;
	return 10 * p;
}

/* The highest value of every series, NAN when there is none. */
static double
plot_max(const struct plot *p)
{
	double max = (double)NAN;

	for (size_t s = 0; s < p->nseries; s++)
		for (size_t i = 0; i < p->n; i++)
			if (!isnan(p->series[s].y[i]) &&
			    (isnan(max) || p->series[s].y[i] > max))
				max = p->series[s].y[i];
	return max;
}

/* Where time t and value y are drawn. */
struct frame {
	int64_t		 t0, span;
	double		 ymax;
};

static double
fx(const struct frame *f, int64_t t)
{
	return PLOT_LEFT + (double)(PLOT_W - PLOT_LEFT - PLOT_RIGHT) *
	    (double)(t - f->t0) / (double)f->span;
}

static double
fy(const struct frame *f, double y)
{
	return PLOT_H - PLOT_BOTTOM - (double)(PLOT_H - PLOT_TOP -
	    PLOT_BOTTOM) * y / f->ymax;
}

/* Axes, tick labels and the axes' names with their units. */
static void
plot_axes(struct evbuffer *b, const struct plot *p, const struct frame *f)
{
	char v[32];
	int x0 = PLOT_LEFT, x1 = PLOT_W - PLOT_RIGHT, y0 = PLOT_H - PLOT_BOTTOM;

	evbuffer_add_printf(b, "<g stroke=\"#595959\"><line x1=\"%d\" y1=\"%d\" "
	    "x2=\"%d\" y2=\"%d\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" "
	    "y2=\"%d\"/></g>\n", x0, PLOT_TOP, x0, y0, x0, y0, x1, y0);
	evbuffer_add_printf(b, "<g font-size=\"12\" fill=\"#1a1a1a\">");
	for (int i = 0; i <= 2; i++)
		evbuffer_add_printf(b, "<text x=\"%d\" y=\"%.1f\" "
		    "text-anchor=\"end\">%s</text>", x0 - 6,
		    fy(f, f->ymax * i / 2) + 4, plot_value(f->ymax * i / 2, v,
		    sizeof(v)));
	for (int i = 0; i <= 2; i++)
		evbuffer_add_printf(b, "<text x=\"%.1f\" y=\"%d\" "
		    "text-anchor=\"middle\">%s</text>", fx(f, f->t0 + f->span *
		    i / 2), y0 + 16, plot_value((double)(f->span - f->span * i /
		    2) / 60, v, sizeof(v)));
	evbuffer_add_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
	    "minutes before now</text>", (x0 + x1) / 2, PLOT_H - 6);
	evbuffer_add_printf(b, "<text transform=\"translate(14 %d) rotate(-90)"
	    "\" text-anchor=\"middle\">", (PLOT_TOP + y0) / 2);
	plot_escape(b, p->unit);
	evbuffer_add_printf(b, "</text></g>\n");
}

/* One series: a polyline per run of values, a dot for a lone value. */
static void
plot_line(struct evbuffer *b, const struct plot *p, const struct frame *f,
    size_t s)
{
	const double *y = p->series[s].y;
	size_t i = 0, j;

	while (i < p->n) {
		for (; i < p->n && isnan(y[i]); i++)
			;
		for (j = i; j < p->n && !isnan(y[j]); j++)
			;
		if (j == i + 1)
			evbuffer_add_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" "
			    "r=\"2.5\" fill=\"%s\"/>\n", fx(f, p->t[i]),
			    fy(f, y[i]), colours[s]);
		else if (j > i) {
			evbuffer_add_printf(b, "<polyline fill=\"none\" "
			    "stroke=\"%s\" stroke-width=\"2\" stroke-dasharray="
			    "\"%s\" points=\"", colours[s], dashes[s]);
			for (size_t k = i; k < j; k++)
				evbuffer_add_printf(b, "%s%.1f,%.1f", k > i ?
				    " " : "", fx(f, p->t[k]), fy(f, y[k]));
			evbuffer_add_printf(b, "\"/>\n");
		}
		i = j;
	}
}

static void
plot_legend(struct evbuffer *b, const struct plot *p)
{
	int x = PLOT_LEFT;

	for (size_t s = 0; s < p->nseries; s++) {
		evbuffer_add_printf(b, "<line x1=\"%d\" y1=\"12\" x2=\"%d\" "
		    "y2=\"12\" stroke=\"%s\" stroke-width=\"2\" "
		    "stroke-dasharray=\"%s\"/><text x=\"%d\" y=\"16\" "
		    "font-size=\"12\" fill=\"%s\">", x, x + 18, colours[s],
		    dashes[s], x + 22, colours[s]);
		plot_escape(b, p->series[s].name);
		evbuffer_add_printf(b, "</text>\n");
		x += 30 + 7 * (int)strlen(p->series[s].name);
	}
}

/*
 * Each series' value at the latest sample ("no data": nothing to measure
 * in its interval) and the highest drawn, for reading rather than seeing.
 */
static void
plot_table(struct evbuffer *b, const struct plot *p)
{
	char v[32];
	double last, max;

	evbuffer_add_printf(b, "<table><tr><th scope=\"col\">series</th>"
	    "<th scope=\"col\">latest sample (");
	plot_escape(b, p->unit);
	evbuffer_add_printf(b, ")</th><th scope=\"col\">highest shown</th>"
	    "</tr>\n");
	for (size_t s = 0; s < p->nseries; s++) {
		last = p->series[s].y[p->n - 1];
		max = (double)NAN;
		for (size_t i = 0; i < p->n; i++) {
			double y = p->series[s].y[i];

			if (!isnan(y) && (isnan(max) || y > max))
				max = y;
		}
		evbuffer_add_printf(b, "<tr><th scope=\"row\">");
		plot_escape(b, p->series[s].name);
		evbuffer_add_printf(b, "</th><td>%s</td>", plot_value(last, v,
		    sizeof(v)));
		evbuffer_add_printf(b, "<td>%s</td></tr>\n", plot_value(max, v,
		    sizeof(v)));
	}
	evbuffer_add_printf(b, "</table>\n");
}

void
plot_figure(struct evbuffer *b, const struct plot *p)
{
	double max = plot_max(p);
	struct frame f;
	size_t ns = p->nseries < PLOT_SERIES_MAX ? p->nseries :
	    PLOT_SERIES_MAX;
	struct plot q = *p;

	q.nseries = ns;
	evbuffer_add_printf(b, "<figure class=\"vix-plot\" data-samples=\"%zu"
	    "\"><figcaption>", p->n);
	plot_escape(b, p->title);
	evbuffer_add_printf(b, "</figcaption>\n<svg xmlns=\"http://www.w3.org/"
	    "2000/svg\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"%d\" "
	    "height=\"%d\"><title>", PLOT_W, PLOT_H, PLOT_W, PLOT_H);
	plot_escape(b, p->title);
	if (isnan(max)) {
		evbuffer_add_printf(b, ": no data yet</title><text x=\"%d\" "
		    "y=\"%d\" text-anchor=\"middle\" font-size=\"14\" fill=\""
		    "#1a1a1a\">No data yet</text></svg>\n<p>No data yet: a "
		    "sample is taken every status_interval, the first one "
		    "after two readings.</p></figure>\n", PLOT_W / 2,
		    PLOT_H / 2);
		return;
	}
	evbuffer_add_printf(b, " (");
	plot_escape(b, p->unit);
	evbuffer_add_printf(b, "), see the table below</title>\n");
	f.t0 = p->t[0];
	f.span = p->now - f.t0 < PLOT_SPAN_MIN ? PLOT_SPAN_MIN : p->now - f.t0;
	f.t0 = p->now - f.span;
	f.ymax = plot_axis_max(max);
	plot_axes(b, &q, &f);
	plot_legend(b, &q);
	for (size_t s = 0; s < ns; s++)
		plot_line(b, &q, &f, s);
	evbuffer_add_printf(b, "</svg>\n");
	plot_table(b, &q);
	evbuffer_add_printf(b, "</figure>\n");
}
