/*
 * Regional figures: counters per municipality and calendar month (in the
 * law's time zone), kept in the store's meta by the writer's transactions
 * that cause them, so that a report reads one record per month and never
 * walks the signals. No personal data: counts only, and a report shows a
 * count below the threshold as "< N" so that no small group stands out.
 *
 * A match counts in the month it was created, as does a family match (per
 * pair of organisations told, under the municipality of the youth whose
 * registration made it); when a match is marked
 * coordinated, the days it took go into that month's histogram, from which
 * the shares coordinated within 14 and 30 days and the median follow.
 *
 * Signals registered and withdrawn are counted also under the registrant's
 * type (orgs.conf), in the same month's record, so that a type removed from
 * orgs.conf keeps its history and a report still reads one record a month.
 */
#ifndef VIX_FIGURES_H
#define VIX_FIGURES_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct jsonw;
struct store_reader;
struct store_txn;

enum figures_count {
	FIG_REGISTERED,			/* new signals (not refreshes) */
	FIG_WITHDRAWN_UNJUSTIFIED,
	FIG_WITHDRAWN_RISK_RESOLVED,
	FIG_MATCHES,			/* matches created */
	FIG_ESCALATIONS,
	/* Pairs of organisations newly told of each other by a family match. */
	FIG_FAMILY_MATCHES,
	FIG_COUNTS
};

#define FIG_DAYS	32	/* days to coordination 0..30; the last: more */
#define FIG_MONTHS_MAX	120	/* months in one report, at most */

/*
 * What is counted per organisation type: the first FIG_TYPE_COUNTS kinds
 * (registered, withdrawn by reason); matches, coordination and escalations
 * involve several organisations and are regional only.
 */
#define FIG_TYPE_COUNTS	(FIG_WITHDRAWN_RISK_RESOLVED + 1)
#define FIG_TYPE_MAX	24	/* characters of a type (ORG_TYPE_MAX) */
/*
 * Types one month's record keeps (ORG_TYPES_MAX): a type beyond them in a
 * month is counted regionally only.
 */
#define FIG_TYPES_MAX	16

struct figures_type {
	char		name[FIG_TYPE_MAX + 1];
	uint64_t	count[FIG_TYPE_COUNTS];
};

struct figures_month {
	int		year, month;		/* 1..12 */
	uint64_t	count[FIG_COUNTS];
	uint64_t	days[FIG_DAYS];		/* coordinated after d days */
	size_t		ntypes;
	struct figures_type types[FIG_TYPES_MAX];	/* sorted by name */
};

/*
 * Count one event of kind c for municipality muni (4 digits, or NULL/"":
 * none given) at Unix time when, in the current job, and also under type
 * (NULL or "": none; used for the kinds below FIG_TYPE_COUNTS): kept with
 * the transaction, dropped if the job is rolled back, written by
 * figures_flush. Returns the transaction's error.
 */
int	figures_count(struct store_txn *, const char *muni, const char *type,
	    int64_t when, enum figures_count c);

/* A match created at created was marked coordinated at now. */
int	figures_coordinated(struct store_txn *, const char *muni,
	    int64_t created, int64_t now);

/*
 * Write what the transaction's jobs counted, one record at a time in key
 * order (store_write_commit, before the backend commits): 0 or an error.
 */
int	figures_flush(struct store_txn *);

/* Forget what was counted (the transaction ends either way). */
void	figures_forget(struct store_txn *);

/*
 * "YYYY-MM" or "YYYY-MM-DD" (the day is ignored): 0 and *year, *month, or
 * -1 if it is not one.
 */
int	figures_parse_month(const char *s, int *year, int *month);

/* What a report is asked for: where, from which month to which. */
struct figures_query {
	char		 muni[5];		/* 4 digits, or "" for none */
	int		 y0, m0, y1, m1;
};

/* Which part of a report's query is wrong. */
enum figures_bad {
	FIGQ_MUNICIPALITY,
	FIGQ_FROM,
	FIGQ_TO,
	FIGQ_RANGE,		/* to before from, or too far after it */
};

/*
 * The query of vixctl report and /v1/report: municipality (4 digits or
 * "none"), from and to (figures_parse_month). NULL, or what the part
 * *bad should be (the caller names it as its users know it).
 */
const char *figures_query_parse(struct figures_query *, const char *muni,
	    const char *from, const char *to, enum figures_bad *bad);

/*
 * The months from (y0, m0) to (y1, m1), both included, of muni (""
 * for youths without a municipality): out gets one element per month
 * (zeros where nothing was counted). 0 and *n, INVALID for a range of more
 * than FIG_MONTHS_MAX months or an end before its start, or a store error.
 * One read transaction of at most FIG_MONTHS_MAX lookups by key.
 */
int	figures_read(struct store_reader *, const char *muni, int y0, int m0,
	    int y1, int m1, struct figures_month *out, size_t *n);

/*
 * The months as JSON members of the current object ("months": [...]),
 * counts below min_count (but not 0) as the string "< min_count", shares
 * and medians only where the counts behind them are shown. Each month has
 * "by_type": every type counted in one of the months, with its counts; a
 * type's count is null where it would let the regional count minus the
 * others give a small count away.
 */
void	figures_json(struct jsonw *, const struct figures_month *, size_t n,
	    unsigned min_count);

/*
 * The whole report as one JSON object and a newline ("ok", "municipality",
 * "min_count", "months"), as vixctl report --json prints it.
 */
void	figures_report_json(struct jsonw *, const struct figures_query *,
	    const struct figures_month *, size_t n, unsigned min_count);

/*
 * The months as CSV, a header row first (month, type, the counts), then
 * per month its regional row (type "all") and one row per type as in
 * figures_json; small counts as "< min_count", hidden shares, medians and
 * type counts empty, as are the columns a type does not count.
 */
void	figures_csv(struct evbuffer *, const struct figures_month *, size_t n,
	    unsigned min_count);

#endif
