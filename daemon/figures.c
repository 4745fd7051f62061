/* Regional figures: monthly counters in the store's meta (see figures.h). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "errors.h"
#include "figures.h"
#include "jsonw.h"
#include "orgs.h"
#include "store.h"
#include "store_backend.h"

/*
 * The record's first word: its layout. 1: five counts (no family
 * matches); 2: the six of enum figures_count.
 */
#define FIG_LAYOUT	2
#define FIG_COUNTS_V1	5

_Static_assert(FIG_TYPE_MAX == ORG_TYPE_MAX, "a type fits in the figures");
_Static_assert(FIG_TYPES_MAX >= ORG_TYPES_MAX, "every type of orgs.conf "
    "fits in a month's record");
_Static_assert(FIG_TYPE_COUNTS == 3, "a type's record: three counts");

static const char *const fig_names[FIG_COUNTS] = {
	[FIG_REGISTERED] = "registered",
	[FIG_WITHDRAWN_UNJUSTIFIED] = "withdrawn_unjustified",
	[FIG_WITHDRAWN_RISK_RESOLVED] = "withdrawn_risk_resolved",
	[FIG_MATCHES] = "matches",
	[FIG_ESCALATIONS] = "escalations",
	[FIG_FAMILY_MATCHES] = "family_matches",
};

/* "fig:0363:202612", or "fig:none:202612" without a municipality. */
static void
fig_key(char *key, size_t len, const char *muni, int year, int month)
{
	snprintf(key, len, "fig:%s:%04d%02d", muni != NULL &&
	    strlen(muni) == 4 ? muni : "none", year, month);
}

static void
fig_month_of(int64_t when, int *year, int *month)
{
	time_t t = (time_t)when;
	struct tm tm;

	localtime_r(&t, &tm);	/* the process's zone is the law's */
	*year = tm.tm_year + 1900;
	*month = tm.tm_mon + 1;
}

/* The characters of a type's name in a record (orgs_type_invalid). */
#define FIG_TYPE_CHARS	"abcdefghijklmnopqrstuvwxyz0123456789-"

/* The number at *p, and past the spaces after it: 0, or -1 if none. */
static int
fig_number(const char **p, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return -1;
	*v = strtoull(*p, &end, 10);
	*p = end + strspn(end, " ");
	return 0;
}

/* "NAME N N N" at *p into ty: 0, or -1 where the record holds no more. */
static int
fig_parse_type(const char **p, struct figures_type *ty)
{
	size_t len = strspn(*p, FIG_TYPE_CHARS);

	memset(ty, 0, sizeof(*ty));
	if (len == 0 || len > FIG_TYPE_MAX || !islower((unsigned char)**p) ||
	    (*p)[len] != ' ')
		return -1;
	memcpy(ty->name, *p, len);
	*p += len + 1;
	for (size_t c = 0; c < FIG_TYPE_COUNTS; c++)
		if (fig_number(p, &ty->count[c]) == -1)
			return -1;
	return 0;
}

/*
 * Text as the meta keeps it back into m: the layout, the counts and days,
 * then the types'. Unknown layouts read as zero.
 */
static void
fig_parse(const char *text, struct figures_month *m)
{
	uint64_t v[1 + FIG_COUNTS + FIG_DAYS] = { 0 };
	const char *p = text;
	size_t n = 0, counts;

	/* The numbers end where the types' names begin. */
	while (n < sizeof(v) / sizeof(v[0]) && fig_number(&p, &v[n]) == 0)
		n++;
	if (n == 0 || (v[0] != 1 && v[0] != FIG_LAYOUT))
		return;
	counts = v[0] == 1 ? FIG_COUNTS_V1 : FIG_COUNTS;
	memcpy(m->count, v + 1, counts * sizeof(m->count[0]));
	memcpy(m->days, v + 1 + counts, sizeof(m->days));
	while (m->ntypes < FIG_TYPES_MAX &&
	    fig_parse_type(&p, &m->types[m->ntypes]) == 0)
		m->ntypes++;
}

/*
 * m as the meta keeps it, in buf of STORE_META_VALUE_MAX + 1. Every number
 * is written, so that a reader knows where the types begin; a type that
 * would not fit any more is left out (16 types with counts below a million
 * a month do fit).
 */
static void
fig_format(const struct figures_month *m, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%d", FIG_LAYOUT);
	char one[FIG_TYPE_MAX + 3 * 24];

	for (size_t i = 0; i < FIG_COUNTS && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " %" PRIu64,
		    m->count[i]);
	for (size_t i = 0; i < FIG_DAYS && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " %" PRIu64, m->days[i]);
	for (size_t k = 0; k < m->ntypes; k++) {
		const struct figures_type *ty = &m->types[k];
		size_t w = (size_t)snprintf(one, sizeof(one), " %s %" PRIu64
		    " %" PRIu64 " %" PRIu64, ty->name, ty->count[0],
		    ty->count[1], ty->count[2]);

		if (n + w >= len)
			break;
		memcpy(buf + n, one, w + 1);
		n += w;
	}
}

/* One event counted, not yet written. */
struct fig_delta {
	char	key[40];	/* "fig:0363:202612" */
	int	slot;		/* a count, or FIG_COUNTS + a day */
	char	type[FIG_TYPE_MAX + 1];	/* counted also under it; "" */
};

static int
fig_add(struct store_txn *t, const char *muni, const char *type,
    int64_t when, int slot)
{
	struct fig_delta *d;
	int year, month;

	if (t->nfigs == t->capfigs) {
		size_t cap = t->capfigs ? t->capfigs * 2 : 16;

		if ((d = reallocarray(t->figs, cap, sizeof(*d))) == NULL) {
			store_txn_fail(t, VIX_E_STORE);
			return VIX_E_STORE;
		}
		t->figs = d;
		t->capfigs = cap;
	}
	d = &t->figs[t->nfigs++];
	fig_month_of(when, &year, &month);
	fig_key(d->key, sizeof(d->key), muni, year, month);
	d->slot = slot;
	snprintf(d->type, sizeof(d->type), "%s", type != NULL &&
	    slot < FIG_TYPE_COUNTS ? type : "");
	return store_txn_error(t);
}

int
figures_count(struct store_txn *t, const char *muni, const char *type,
    int64_t when, enum figures_count c)
{
	return fig_add(t, muni, type, when, (int)c);
}

int
figures_coordinated(struct store_txn *t, const char *muni, int64_t created,
    int64_t now)
{
	int64_t days = now > created ? (now - created) / 86400 : 0;

	return fig_add(t, muni, NULL, created, FIG_COUNTS + (days >= FIG_DAYS ?
	    FIG_DAYS - 1 : (int)days));
}

static int
fig_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fig_delta *)a)->key,
	    ((const struct fig_delta *)b)->key);
}

/*
 * The type name in m, added in its place by name if it is not there yet;
 * NULL if m holds FIG_TYPES_MAX others already.
 */
static struct figures_type *
fig_type_of(struct figures_month *m, const char *name)
{
	size_t k = 0;
	int cmp = 1;

	while (k < m->ntypes && (cmp = strcmp(m->types[k].name, name)) < 0)
		k++;
	if (k < m->ntypes && cmp == 0)
		return &m->types[k];
	if (m->ntypes == FIG_TYPES_MAX)
		return NULL;
	memmove(&m->types[k + 1], &m->types[k], (m->ntypes - k) *
	    sizeof(m->types[0]));
	m->ntypes++;
	memset(&m->types[k], 0, sizeof(m->types[k]));
	snprintf(m->types[k].name, sizeof(m->types[k].name), "%s", name);
	return &m->types[k];
}

static void
fig_apply(struct figures_month *m, const struct fig_delta *d)
{
	struct figures_type *ty;

	if (d->slot >= FIG_COUNTS) {
		m->days[d->slot - FIG_COUNTS]++;
		return;
	}
	m->count[d->slot]++;
	if (d->type[0] != '\0' && (ty = fig_type_of(m, d->type)) != NULL)
		ty->count[d->slot]++;
}

int
figures_flush(struct store_txn *t)
{
	char text[STORE_META_VALUE_MAX + 1];
	int err = store_txn_error(t);

	if (t->nfigs == 0)
		return err;
	qsort(t->figs, t->nfigs, sizeof(*t->figs), fig_cmp);
	for (size_t i = 0; i < t->nfigs && err == 0;) {
		struct figures_month m = { 0 };
		size_t j;

		/* Another front-end may count the same month at once. */
		if ((err = store_meta_lock(t, t->figs[i].key)) != 0)
			break;
		err = store_meta_get(t, t->figs[i].key, text, sizeof(text));
		if (err == 0)
			fig_parse(text, &m);
		else if (err != VIX_E_NOT_FOUND)
			break;
		for (j = i; j < t->nfigs && strcmp(t->figs[j].key,
		    t->figs[i].key) == 0; j++)
			fig_apply(&m, &t->figs[j]);
		fig_format(&m, text, sizeof(text));
		err = store_meta_put(t, t->figs[i].key, text);
		i = j;
	}
	return err;
}

void
figures_forget(struct store_txn *t)
{
	free(t->figs);
	t->figs = NULL;
	t->nfigs = t->capfigs = t->job_figs = 0;
}

int
figures_parse_month(const char *s, int *year, int *month)
{
	char extra;
	int y, m, d;

	if (strlen(s) == 7 && sscanf(s, "%4d-%2d%c", &y, &m, &extra) == 2)
		;
	else if (strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d,
	    &extra) == 3 && d >= 1 && d <= 31)
		;
	else
		return -1;
	if (y < 2000 || y > 9999 || m < 1 || m > 12 || s[4] != '-')
		return -1;
	*year = y;
	*month = m;
	return 0;
}

int
figures_read(struct store_reader *r, const char *muni, int y0, int m0,
    int y1, int m1, struct figures_month *out, size_t *n)
{
	char key[STORE_META_NAME_MAX + 1], text[STORE_META_VALUE_MAX + 1];
	int from = y0 * 12 + m0 - 1, to = y1 * 12 + m1 - 1, err = 0;
	const struct store_backend *be = store_reader_backend(r);
	struct store_txn *t;

	*n = 0;
	if (to < from || to - from + 1 > FIG_MONTHS_MAX)
		return VIX_E_INVALID;
	/* One read transaction: every month from the same moment. */
	if ((t = be->read_begin(r, &err)) == NULL)
		return err;
	for (int i = from; i <= to && err == 0; i++) {
		struct figures_month *m = &out[(*n)++];

		memset(m, 0, sizeof(*m));
		m->year = i / 12;
		m->month = i % 12 + 1;
		fig_key(key, sizeof(key), muni, m->year, m->month);
		err = store_meta_get(t, key, text, sizeof(text));
		if (err == 0)
			fig_parse(text, m);
		else if (err == VIX_E_NOT_FOUND)
			err = 0;
	}
	be->read_end(r);
	return err;
}

const char *
figures_query_parse(struct figures_query *q, const char *muni,
    const char *from, const char *to, enum figures_bad *bad)
{
	int a, b;

	memset(q, 0, sizeof(*q));
	if (strcmp(muni, "none") != 0 && (strlen(muni) != 4 ||
	    strspn(muni, "0123456789") != 4)) {
		*bad = FIGQ_MUNICIPALITY;
		return "a 4-digit CBS code or none";
	}
	if (strcmp(muni, "none") != 0)
		memcpy(q->muni, muni, 5);
	if (figures_parse_month(from, &q->y0, &q->m0) == -1) {
		*bad = FIGQ_FROM;
		return "YYYY-MM or YYYY-MM-DD";
	}
	if (figures_parse_month(to, &q->y1, &q->m1) == -1) {
		*bad = FIGQ_TO;
		return "YYYY-MM or YYYY-MM-DD";
	}
	a = q->y0 * 12 + q->m0;
	b = q->y1 * 12 + q->m1;
	if (b < a || b - a + 1 > FIG_MONTHS_MAX) {
		*bad = FIGQ_RANGE;
		return "no earlier than from and at most 120 months after it";
	}
	return NULL;
}

void
figures_report_json(struct jsonw *w, const struct figures_query *q,
    const struct figures_month *ms, size_t n, unsigned min)
{
	jsonw_object(w);
	jsonw_kbool(w, "ok", 1);
	jsonw_kstr(w, "municipality", q->muni[0] ? q->muni : "none");
	jsonw_kuint(w, "min_count", min);
	figures_json(w, ms, n, min);
	jsonw_end(w);
	jsonw_newline(w);
}

/* What one month shows, derived once for JSON and CSV alike. */
struct fig_row {
	char		 month[16];		/* "2026-01" */
	uint64_t	 coordinated;
	double		 within[2];		/* 14, 30 days; < 0: hidden */
	int		 median;		/* days; -1 hidden, FIG_DAYS-1:
						   more than 30 */
};

/* Whether count v may show (0, or at least min). */
static int
fig_shown(uint64_t v, unsigned min)
{
	return v == 0 || v >= min;
}

/*
 * A share shows only when the matches, those coordinated in time and
 * those not are each 0 or at least min: otherwise it would give a small
 * count away.
 */
static double
fig_share(uint64_t part, uint64_t matches, unsigned min)
{
	if (matches >= min && fig_shown(part, min) &&
	    fig_shown(matches - part, min) && part <= matches)
		return (double)part / (double)matches;
	return -1;
}

static void
fig_row(const struct figures_month *m, unsigned min, struct fig_row *r)
{
	uint64_t done = 0, in14 = 0, in30 = 0, half, seen = 0;
	int median = -1;

	for (int d = 0; d < FIG_DAYS; d++) {
		done += m->days[d];
		in14 += d <= 14 ? m->days[d] : 0;
		in30 += d <= 30 ? m->days[d] : 0;
	}
	half = (done + 1) / 2;
	for (int d = 0; d < FIG_DAYS && median < 0 && done > 0; d++)
		if ((seen += m->days[d]) >= half)
			median = d;
	snprintf(r->month, sizeof(r->month), "%04d-%02d", m->year, m->month);
	r->coordinated = done;
	r->within[0] = fig_share(in14, m->count[FIG_MATCHES], min);
	r->within[1] = fig_share(in30, m->count[FIG_MATCHES], min);
	r->median = done >= min ? median : -1;
}

/* A count as shown: the number, or "< min" for 1 .. min-1. */
static void
fig_kcount(struct jsonw *w, const char *name, uint64_t v, unsigned min)
{
	char small[16];

	if (fig_shown(v, min))
		jsonw_kuint(w, name, v);
	else {
		snprintf(small, sizeof(small), "< %u", min);
		jsonw_kstr(w, name, small);
	}
}

static void
fig_kshare(struct jsonw *w, const char *name, double share)
{
	jsonw_key(w, name);
	if (share >= 0)
		jsonw_fixed(w, share, 3);
	else
		jsonw_null(w);
}

/* The types counted in any month of a report, sorted, each once. */
struct fig_types {
	const char	*name[FIG_MONTHS_MAX * FIG_TYPES_MAX];
	size_t		 n;
};

static int
fig_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
fig_types(const struct figures_month *ms, size_t n, struct fig_types *ts)
{
	size_t all = 0;

	for (size_t i = 0; i < n && i < FIG_MONTHS_MAX; i++)
		for (size_t k = 0; k < ms[i].ntypes; k++)
			ts->name[all++] = ms[i].types[k].name;
	qsort(ts->name, all, sizeof(ts->name[0]), fig_name_cmp);
	ts->n = 0;
	for (size_t i = 0; i < all; i++)
		if (ts->n == 0 || strcmp(ts->name[ts->n - 1], ts->name[i]) != 0)
			ts->name[ts->n++] = ts->name[i];
}

/*
 * What month m shows of type name: its counts (zeros where it counted
 * nothing), and in withheld which kinds are not shown at all.
 */
static void
fig_type_row(const struct figures_month *m, const char *name, unsigned min,
    uint64_t *count, int *withheld)
{
	uint64_t rest;
	int small;

	memset(count, 0, FIG_TYPE_COUNTS * sizeof(*count));
	for (size_t k = 0; k < m->ntypes; k++)
		if (strcmp(m->types[k].name, name) == 0)
			memcpy(count, m->types[k].count, FIG_TYPE_COUNTS *
			    sizeof(*count));
	/*
	 * The regional count is the sum of the types' and what organisations
	 * without a type counted. With it shown, one small part alone would
	 * show through as the regional count minus the others.
	 */
	for (int c = 0; c < FIG_TYPE_COUNTS; c++) {
		rest = m->count[c];
		small = 0;
		for (size_t k = 0; k < m->ntypes; k++) {
			small += !fig_shown(m->types[k].count[c], min);
			rest -= rest < m->types[k].count[c] ? rest :
			    m->types[k].count[c];
		}
		small += !fig_shown(rest, min);
		withheld[c] = fig_shown(m->count[c], min) && small == 1;
	}
}

/* "by_type": {"NAME": {"registered": ..., ...}, ...} of month m. */
static void
fig_json_types(struct jsonw *w, const struct figures_month *m,
    const struct fig_types *ts, unsigned min)
{
	uint64_t count[FIG_TYPE_COUNTS];
	int withheld[FIG_TYPE_COUNTS];

	jsonw_key(w, "by_type");
	jsonw_object(w);
	for (size_t k = 0; k < ts->n; k++) {
		fig_type_row(m, ts->name[k], min, count, withheld);
		jsonw_key(w, ts->name[k]);
		jsonw_object(w);
		for (int c = 0; c < FIG_TYPE_COUNTS; c++)
			if (withheld[c]) {
				jsonw_key(w, fig_names[c]);
				jsonw_null(w);
			} else
				fig_kcount(w, fig_names[c], count[c], min);
		jsonw_end(w);
	}
	jsonw_end(w);
}

void
figures_json(struct jsonw *w, const struct figures_month *ms, size_t n,
    unsigned min)
{
	struct fig_types ts;	/* 15 KiB, where a malloc could fail */
	struct fig_row r;

	fig_types(ms, n, &ts);
	jsonw_key(w, "months");
	jsonw_array(w);
	for (size_t i = 0; i < n; i++) {
		fig_row(&ms[i], min, &r);
		jsonw_object(w);
		jsonw_kstr(w, "month", r.month);
		for (size_t c = 0; c < FIG_COUNTS; c++)
			fig_kcount(w, fig_names[c], ms[i].count[c], min);
		fig_kcount(w, "coordinated", r.coordinated, min);
		fig_kshare(w, "coordinated_within_14_days", r.within[0]);
		fig_kshare(w, "coordinated_within_30_days", r.within[1]);
		jsonw_key(w, "median_days_to_coordination");
		if (r.median >= 0 && r.median < FIG_DAYS - 1)
			jsonw_int(w, r.median);
		else if (r.median >= 0)
			jsonw_str(w, "> 30");
		else
			jsonw_null(w);
		fig_json_types(w, &ms[i], &ts, min);
		jsonw_end(w);
	}
	jsonw_end(w);
}

/* A count as a CSV cell: the number, or "< min" quoted. */
static void
fig_ccount(struct evbuffer *b, uint64_t v, unsigned min)
{
	if (fig_shown(v, min))
		evbuffer_add_printf(b, ",%" PRIu64, v);
	else
		evbuffer_add_printf(b, ",\"< %u\"", min);
}

/* The regional row of one month: type "all". */
static void
fig_csv_all(struct evbuffer *b, const struct figures_month *m, unsigned min)
{
	struct fig_row r;

	fig_row(m, min, &r);
	evbuffer_add_printf(b, "\"%s\",\"all\"", r.month);
	for (size_t c = 0; c < FIG_ESCALATIONS; c++)
		fig_ccount(b, m->count[c], min);
	fig_ccount(b, r.coordinated, min);
	for (size_t k = 0; k < 2; k++)
		if (r.within[k] >= 0)
			evbuffer_add_printf(b, ",%.3f", r.within[k]);
		else
			evbuffer_add_printf(b, ",");
	if (r.median >= 0 && r.median < FIG_DAYS - 1)
		evbuffer_add_printf(b, ",%d", r.median);
	else
		evbuffer_add_printf(b, r.median >= 0 ? ",\"> 30\"" : ",");
	fig_ccount(b, m->count[FIG_ESCALATIONS], min);
	fig_ccount(b, m->count[FIG_FAMILY_MATCHES], min);
	evbuffer_add_printf(b, "\n");
}

/* A type's row of one month: its counts, the regional-only columns empty. */
static void
fig_csv_type(struct evbuffer *b, const struct figures_month *m,
    const char *name, unsigned min)
{
	uint64_t count[FIG_TYPE_COUNTS];
	int withheld[FIG_TYPE_COUNTS];

	fig_type_row(m, name, min, count, withheld);
	evbuffer_add_printf(b, "\"%04d-%02d\",\"%s\"", m->year, m->month,
	    name);
	for (int c = 0; c < FIG_TYPE_COUNTS; c++)
		if (withheld[c])
			evbuffer_add_printf(b, ",");
		else
			fig_ccount(b, count[c], min);
	/*
	 * matches, coordinated, the two shares, the median, escalations,
	 * family matches
	 */
	evbuffer_add_printf(b, ",,,,,,,\n");
}

void
figures_csv(struct evbuffer *b, const struct figures_month *ms, size_t n,
    unsigned min)
{
	struct fig_types ts;

	fig_types(ms, n, &ts);
	evbuffer_add_printf(b, "month,type,registered,withdrawn_unjustified,"
	    "withdrawn_risk_resolved,matches,coordinated,"
	    "coordinated_within_14_days,coordinated_within_30_days,"
	    "median_days_to_coordination,escalations,family_matches\n");
	for (size_t i = 0; i < n; i++) {
		fig_csv_all(b, &ms[i], min);
		for (size_t k = 0; k < ts.n; k++)
			fig_csv_type(b, &ms[i], ts.name[k], min);
	}
}
