/*
 * The status page's pieces without a daemon: the ring of samples (rates
 * and percentiles from counters, wrap-around) and the SVG plots
 * (escaping, empty data, scaling).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <event2/buffer.h>

#include "history.h"
#include "plot.h"

/* A reading at second sec with n registrations and requests so far. */
static struct history_input
reading(int64_t sec, uint64_t regs, uint64_t reqs)
{
	struct history_input in;

	memset(&in, 0, sizeof(in));
	in.t = 1700000000 + sec;
	in.mono_ns = (uint64_t)sec * 1000000000u;
	in.registrations = regs;
	in.requests = reqs;
	return in;
}

Test(history, first_reading_only_starts)
{
	static struct history h;
	struct history_input in = reading(0, 5, 9);

	history_init(&h);
	history_add(&h, &in);
	cr_assert_eq(h.n, 0);
}

Test(history, rates_from_counters)
{
	static struct history h;
	struct history_input a = reading(0, 100, 1000), b = reading(10, 150,
	    1200);
	const struct history_sample *s;

	history_init(&h);
	history_add(&h, &a);
	history_add(&h, &b);
	cr_assert_eq(h.n, 1);
	s = history_get(&h, 0);
	cr_assert_float_eq(s->registrations, 5.0, 1e-9);
	cr_assert_float_eq(s->requests, 20.0, 1e-9);
	cr_assert_eq(s->t, 1700000010);
	/* Nothing observed: no latency, not zero. */
	cr_assert(isnan(s->req_p50) && isnan(s->commit_p99));
	/* The store was not read: no pending count, not zero. */
	cr_assert(isnan(s->pending_total));
}

Test(history, wraps_around_keeping_the_newest)
{
	static struct history h;
	struct history_input in;

	history_init(&h);
	for (int64_t i = 0; i <= HISTORY_LEN + 5; i++) {
		in = reading(i, (uint64_t)(i * i), 0);
		history_add(&h, &in);
	}
	cr_assert_eq(h.n, HISTORY_LEN);
	/* Oldest first: sample k covers seconds k+5 .. k+6 now. */
	for (size_t k = 0; k < HISTORY_LEN; k += 97) {
		int64_t i = (int64_t)k + 6;

		cr_assert_eq(history_get(&h, k)->t, 1700000000 + i);
		cr_assert_float_eq(history_get(&h, k)->registrations,
		    (double)(i * i - (i - 1) * (i - 1)), 1e-9);
	}
	cr_assert_eq(history_get(&h, HISTORY_LEN - 1)->t,
	    1700000000 + HISTORY_LEN + 5);
}

Test(history, percentiles_from_histogram_differences)
{
	struct metrics_hist_snap before, now;
	double p50, p99;

	memset(&before, 0, sizeof(before));
	/* Before: 1000 fast ones that must not count. */
	before.bucket[0] = 1000;
	now = before;
	/* Now: 100 more between 1 and 2.5 ms (bucket 4), one in 250..500. */
	now.bucket[4] += 99;
	now.bucket[11] += 1;
	p50 = history_quantile(&now, &before, 0.5);
	p99 = history_quantile(&now, &before, 0.99);
	cr_assert(p50 > 0.001 && p50 <= 0.0025, "p50 %g", p50);
	cr_assert(p99 > 0.001 && p99 <= 0.0025, "p99 %g", p99);
	cr_assert(history_quantile(&now, &before, 0.999) > 0.25);
	/* Beyond the last bound: the last bound, nothing invented. */
	memset(&now, 0, sizeof(now));
	now.bucket[METRICS_BUCKETS - 1] = 3;
	memset(&before, 0, sizeof(before));
	cr_assert_float_eq(history_quantile(&now, &before, 0.5), 5.0, 1e-9);
	cr_assert(isnan(history_quantile(&before, &before, 0.5)));
}

Test(history, pending_and_top_recipients_kept)
{
	static struct history h;
	struct history_input a = reading(0, 0, 0), b = reading(10, 0, 0);

	history_init(&h);
	history_add(&h, &a);
	b.has_pending = 1;
	b.pending_total = 12;
	b.ntop = 2;
	snprintf(b.top[0].org, sizeof(b.top[0].org), "org-b");
	b.top[0].pending = 8;
	snprintf(b.top[1].org, sizeof(b.top[1].org), "org-a");
	b.top[1].pending = 4;
	history_add(&h, &b);
	cr_assert_float_eq(history_get(&h, 0)->pending_total, 12.0, 1e-9);
	cr_assert_eq(history_get(&h, 0)->ntop, 2);
	cr_assert_str_eq(history_get(&h, 0)->top[0].org, "org-b");
}

/* The figure plot_figure writes, as a string the test frees. */
static char *
draw(const struct plot *p)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	plot_figure(b, p);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

Test(plot, escapes_names_and_titles)
{
	int64_t t[2] = { 100, 110 };
	double y[2] = { 1, 2 };
	struct plot_series s = { "<org&\"x'>", y };
	struct plot p = { "a < b & c", "per <s>", t, 2, 110, &s, 1 };
	char *html = draw(&p);

	cr_assert_null(strstr(html, "<org"), "%s", html);
	cr_assert_not_null(strstr(html, "&lt;org&amp;&quot;x&#39;&gt;"), "%s",
	    html);
	cr_assert_not_null(strstr(html, "<figcaption>a &lt; b &amp; c"
	    "</figcaption>"), "%s", html);
	cr_assert_not_null(strstr(html, "per &lt;s&gt;"), "%s", html);
	free(html);
}

Test(plot, empty_data_says_so)
{
	int64_t t[3] = { 100, 110, 120 };
	double y[3] = { NAN, NAN, NAN };
	struct plot_series s = { "p50", y };
	struct plot p = { "Latency", "ms", t, 3, 120, &s, 1 };
	char *html = draw(&p);

	cr_assert_not_null(strstr(html, "class=\"vix-plot\""), "%s", html);
	cr_assert_not_null(strstr(html, "role=\"img\""), "%s", html);
	cr_assert_not_null(strstr(html, "<title>Latency: no data yet</title>"),
	    "%s", html);
	cr_assert_null(strstr(html, "<polyline"), "%s", html);
	free(html);
	p.n = 0;
	html = draw(&p);
	cr_assert_not_null(strstr(html, "No data yet"), "%s", html);
	free(html);
}

Test(plot, scales_to_the_highest_value)
{
	int64_t t[3] = { 1000, 1030, 1060 };
	double y[3] = { 0, 7, 3.5 };
	struct plot_series s = { "regs", y };
	struct plot p = { "Registrations", "per second", t, 3, 1060, &s, 1 };
	char *html = draw(&p);

	/*
	 * The axis goes to 10; the plot area is x 64..628, y 176 (0) to 28
	 * (10): 7 is drawn at 176 - 148 * 0.7 = 72.4, the last point at the
	 * right edge, the first at the left (60 s shown).
	 */
	cr_assert_not_null(strstr(html, "points=\"64.0,176.0 346.0,72.4 "
	    "628.0,124.2\""), "%s", html);
	cr_assert_not_null(strstr(html, ">10</text>"), "%s", html);
	cr_assert_not_null(strstr(html, "<td>3.50</td><td>7</td>"), "%s",
	    html);
	free(html);
	cr_assert_float_eq(plot_axis_max(0), 1, 1e-9);
	cr_assert_float_eq(plot_axis_max(0.3), 0.5, 1e-9);
	cr_assert_float_eq(plot_axis_max(1.5), 2, 1e-9);
	cr_assert_float_eq(plot_axis_max(20), 20, 1e-9);
	cr_assert_float_eq(plot_axis_max(21), 50, 1e-9);
	cr_assert_float_eq(plot_axis_max(501), 1000, 1e-9);
}

Test(plot, gaps_split_the_line)
{
	int64_t t[5] = { 0, 10, 20, 30, 40 };
	double y[5] = { 1, 2, NAN, 4, NAN };
	struct plot_series s = { "a", y };
	struct plot p = { "Gaps", "n", t, 5, 40, &s, 1 };
	char *html = draw(&p);

	cr_assert_eq(strstr(html, "<polyline") != NULL, 1);
	cr_assert_null(strstr(strstr(html, "<polyline") + 1, "<polyline"),
	    "one run of two: %s", html);
	cr_assert_not_null(strstr(html, "<circle"), "the lone 4: %s", html);
	cr_assert_not_null(strstr(html, "<td>no data</td>"), "latest: %s",
	    html);
	free(html);
}
