/* Regional figures: month parsing and what a report shows or hides. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "figures.h"
#include "jsonw.h"

struct sink {
	char	buf[8192];
	size_t	len;
};

static void
put(void *arg, const char *s, size_t n)
{
	struct sink *k = arg;

	cr_assert_lt(k->len + n, sizeof(k->buf));
	memcpy(k->buf + k->len, s, n);
	k->len += n;
	k->buf[k->len] = '\0';
}

static const char *
render(const struct figures_month *m, size_t n, unsigned min)
{
	static struct sink k;
	struct jsonw w;

	k.len = 0;
	k.buf[0] = '\0';
	jsonw_init(&w, put, &k);
	jsonw_object(&w);
	figures_json(&w, m, n, min);
	jsonw_end(&w);
	cr_assert_eq(w.err, 0);
	return k.buf;
}

Test(figures, months_are_parsed_strictly)
{
	int y, m;

	cr_assert_eq(figures_parse_month("2026-12", &y, &m), 0);
	cr_assert_eq(y, 2026);
	cr_assert_eq(m, 12);
	cr_assert_eq(figures_parse_month("2026-02-28", &y, &m), 0);
	cr_assert_eq(m, 2);
	cr_assert_eq(figures_parse_month("2026-13", &y, &m), -1);
	cr_assert_eq(figures_parse_month("2026-00", &y, &m), -1);
	cr_assert_eq(figures_parse_month("2026-1", &y, &m), -1);
	cr_assert_eq(figures_parse_month("2026-12x", &y, &m), -1);
	cr_assert_eq(figures_parse_month("2026-12-32", &y, &m), -1);
	cr_assert_eq(figures_parse_month("1999-12", &y, &m), -1);
}

Test(figures, small_counts_and_what_they_would_give_away_are_hidden)
{
	struct figures_month m = { .year = 2026, .month = 11 };
	const char *j;

	m.count[FIG_REGISTERED] = 20;
	m.count[FIG_WITHDRAWN_UNJUSTIFIED] = 2;
	m.count[FIG_MATCHES] = 10;
	m.days[0] = 3;
	m.days[3] = 2;		/* 5 coordinated, median 0 */
	j = render(&m, 1, 5);
	cr_assert_not_null(strstr(j, "\"month\":\"2026-11\""), "%s", j);
	cr_assert_not_null(strstr(j, "\"registered\":20"), "%s", j);
	cr_assert_not_null(strstr(j, "\"withdrawn_unjustified\":\"< 5\""),
	    "%s", j);
	cr_assert_not_null(strstr(j, "\"withdrawn_risk_resolved\":0"), "%s", j);
	cr_assert_not_null(strstr(j, "\"coordinated\":5"), "%s", j);
	cr_assert_not_null(strstr(j, "\"coordinated_within_14_days\":0.500"),
	    "%s", j);
	cr_assert_not_null(strstr(j, "\"median_days_to_coordination\":0"),
	    "%s", j);

	/*
	 * 6 of 10 within 30 days: the 4 not would show through that share;
	 * 5 of 10 within 14 days hides nothing.
	 */
	m.days[20] = 1;
	j = render(&m, 1, 5);
	cr_assert_not_null(strstr(j, "\"coordinated_within_14_days\":0.500"),
	    "%s", j);
	cr_assert_not_null(strstr(j, "\"coordinated_within_30_days\":null"),
	    "%s", j);

	/* Most after a month: the median is only "> 30". */
	memset(m.days, 0, sizeof(m.days));
	m.days[40 < FIG_DAYS ? 40 : FIG_DAYS - 1] = 6;
	j = render(&m, 1, 5);
	cr_assert_not_null(strstr(j, "\"median_days_to_coordination\":\"> 30\""),
	    "%s", j);

	/* Below the threshold: no share, no median. */
	memset(&m, 0, sizeof(m));
	m.year = 2026;
	m.month = 12;
	m.count[FIG_MATCHES] = 3;
	m.days[1] = 3;
	j = render(&m, 1, 5);
	cr_assert_not_null(strstr(j, "\"matches\":\"< 5\""), "%s", j);
	cr_assert_not_null(strstr(j, "\"coordinated_within_14_days\":null"),
	    "%s", j);
	cr_assert_not_null(strstr(j, "\"median_days_to_coordination\":null"),
	    "%s", j);
	/* A threshold of 1 shows everything. */
	j = render(&m, 1, 1);
	cr_assert_not_null(strstr(j, "\"matches\":3"), "%s", j);
	cr_assert_not_null(strstr(j, "\"median_days_to_coordination\":1"),
	    "%s", j);
}
