/* Regional figures: month parsing and what a report shows or hides. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include <event2/buffer.h>

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

/* Month month of 2026 with nothing counted. */
static struct figures_month
empty_month(int month)
{
	return (struct figures_month){ .year = 2026, .month = month };
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
	m = empty_month(12);
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

/* Month m's type name with its three counts (types sorted by the caller). */
static void
type_counts(struct figures_month *m, const char *name, uint64_t reg,
    uint64_t unjustified, uint64_t resolved)
{
	struct figures_type *ty = &m->types[m->ntypes++];

	cr_assert_leq(m->ntypes, FIG_TYPES_MAX);
	snprintf(ty->name, sizeof(ty->name), "%s", name);
	ty->count[FIG_REGISTERED] = reg;
	ty->count[FIG_WITHDRAWN_UNJUSTIFIED] = unjustified;
	ty->count[FIG_WITHDRAWN_RISK_RESOLVED] = resolved;
}

static const char *
render_csv(const struct figures_month *m, size_t n, unsigned min)
{
	static char text[8192];
	struct evbuffer *b = evbuffer_new();
	size_t len;

	cr_assert_not_null(b);
	figures_csv(b, m, n, min);
	len = evbuffer_get_length(b);
	cr_assert_lt(len, sizeof(text));
	evbuffer_remove(b, text, len);
	text[len] = '\0';
	evbuffer_free(b);
	return text;
}

Test(figures, each_month_shows_every_type_of_the_report)
{
	struct figures_month m[2] = { { .year = 2026, .month = 11 },
	    { .year = 2026, .month = 12 } };
	const char *j;

	m[0].count[FIG_REGISTERED] = 30;
	m[0].count[FIG_WITHDRAWN_RISK_RESOLVED] = 12;
	type_counts(&m[0], "jeugdzorg", 12, 0, 6);
	type_counts(&m[0], "wijkteam", 18, 0, 6);
	m[1].count[FIG_REGISTERED] = 7;
	type_counts(&m[1], "onderwijs", 7, 0, 0);
	j = render(m, 2, 5);
	cr_assert_not_null(strstr(j, "\"median_days_to_coordination\":null,"
	    "\"by_type\":{\"jeugdzorg\":{\"registered\":12,"
	    "\"withdrawn_unjustified\":0,\"withdrawn_risk_resolved\":6},"
	    "\"onderwijs\":{\"registered\":0,\"withdrawn_unjustified\":0,"
	    "\"withdrawn_risk_resolved\":0},"
	    "\"wijkteam\":{\"registered\":18,\"withdrawn_unjustified\":0,"
	    "\"withdrawn_risk_resolved\":6}}}"), "%s", j);
	cr_assert_not_null(strstr(j, "\"month\":\"2026-12\""), "%s", j);
	cr_assert_not_null(strstr(j, "\"by_type\":{\"jeugdzorg\":{"
	    "\"registered\":0,\"withdrawn_unjustified\":0,"
	    "\"withdrawn_risk_resolved\":0},\"onderwijs\":{\"registered\":7,"), "%s", j);

	/* No type anywhere: an empty object. */
	m[0] = empty_month(1);
	j = render(m, 1, 5);
	cr_assert_not_null(strstr(j, "\"by_type\":{}}]"), "%s", j);
}

Test(figures, small_type_counts_are_hidden_and_not_given_away)
{
	struct figures_month m = { .year = 2026, .month = 11 };
	const char *j;

	/* 20 = 10 + 3 + 7 without a type: 20 - 10 - 7 would give 3 away. */
	m.count[FIG_REGISTERED] = 20;
	type_counts(&m, "jeugdzorg", 10, 0, 0);
	type_counts(&m, "wijkteam", 3, 0, 0);
	j = render(&m, 1, 5);
	cr_assert_not_null(strstr(j, "\"registered\":20,"), "%s", j);
	cr_assert_not_null(strstr(j, "\"jeugdzorg\":{\"registered\":null,"
	    "\"withdrawn_unjustified\":0,"), "%s", j);
	cr_assert_not_null(strstr(j, "\"wijkteam\":{\"registered\":null,"),
	    "%s", j);

	/* 16 = 10 + 3 + 3 without a type: two small parts, neither shows. */
	m.count[FIG_REGISTERED] = 16;
	j = render(&m, 1, 5);
	cr_assert_not_null(strstr(j, "\"jeugdzorg\":{\"registered\":10,"
	    "\"withdrawn_unjustified\":0,\"withdrawn_risk_resolved\":0},"
	    "\"wijkteam\":{\"registered\":\"< 5\","), "%s", j);

	/* 13 = 10 + 3, all typed: the same as one small part. */
	m.count[FIG_REGISTERED] = 13;
	cr_assert_not_null(strstr(render(&m, 1, 5), "\"wijkteam\":{"
	    "\"registered\":null,"));

	/* A hidden regional count: its parts are small too, and shown so. */
	m = empty_month(11);
	m.count[FIG_REGISTERED] = 3;
	type_counts(&m, "huisarts", 3, 0, 0);
	j = render(&m, 1, 5);
	cr_assert_not_null(strstr(j, "\"registered\":\"< 5\","), "%s", j);
	cr_assert_not_null(strstr(j, "\"huisarts\":{\"registered\":\"< 5\","),
	    "%s", j);
	/* A threshold of 1 shows everything. */
	m.count[FIG_REGISTERED] = 5;
	j = render(&m, 1, 1);
	cr_assert_not_null(strstr(j, "\"huisarts\":{\"registered\":3,"), "%s",
	    j);
}

Test(figures, csv_has_a_row_per_type_after_the_regional_one)
{
	struct figures_month m = { .year = 2026, .month = 11 };
	const char *c;

	m.count[FIG_REGISTERED] = 20;
	m.count[FIG_WITHDRAWN_UNJUSTIFIED] = 2;
	m.count[FIG_MATCHES] = 6;
	m.count[FIG_FAMILY_MATCHES] = 3;
	type_counts(&m, "jeugdzorg", 10, 2, 0);
	type_counts(&m, "wijkteam", 10, 0, 0);
	c = render_csv(&m, 1, 5);
	cr_assert_str_eq(c, "month,type,registered,withdrawn_unjustified,"
	    "withdrawn_risk_resolved,matches,coordinated,"
	    "coordinated_within_14_days,coordinated_within_30_days,"
	    "median_days_to_coordination,escalations,family_matches\n"
	    "\"2026-11\",\"all\",20,\"< 5\",0,6,0,0.000,0.000,,0,\"< 5\"\n"
	    "\"2026-11\",\"jeugdzorg\",10,\"< 5\",0,,,,,,,\n"
	    "\"2026-11\",\"wijkteam\",10,0,0,,,,,,,\n");
	/* 12 = 10 + 2 without a type: jeugdzorg's 10 would give 2 away. */
	m.count[FIG_REGISTERED] = 22;
	m.count[FIG_WITHDRAWN_UNJUSTIFIED] = 0;
	m.types[0].count[FIG_WITHDRAWN_UNJUSTIFIED] = 0;
	c = render_csv(&m, 1, 5);
	cr_assert_not_null(strstr(c, "\"2026-11\",\"jeugdzorg\",,0,0,,,,,,,\n"
	    "\"2026-11\",\"wijkteam\",,0,0,,,,,,,\n"), "%s", c);
}
