/*
 * The Jeugdwet rules: BSN 11-test over the synthetic test data in tests/data, dates and leap
 * years, the age limit, expiry, and contact details.
 *
 * No BSN may appear in test output: assertions about BSNs name the line of
 * the test data file, never the value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "rules.h"
#include "support.h"
#include "zone.h"

#define DAY	INT64_C(86400)

/* ---- BSN ---- */

static FILE *
open_testdata(const char *name)
{
	const char *dir = getenv("VIX_TESTDATA");
	char *path;
	FILE *fp;

	cr_assert_not_null(dir, "VIX_TESTDATA is not set");
	path = support_path(dir, name);
	fp = fopen(path, "r");
	cr_assert_not_null(fp, "cannot open %s", path);
	free(path);
	return fp;
}

/* A run of 8 or more digits: something that could be (part of) a BSN. */
static int
has_digit_run(const char *s)
{
	int run = 0;

	for (; *s != '\0'; s++) {
		run = (*s >= '0' && *s <= '9') ? run + 1 : 0;
		if (run >= 8)
			return 1;
	}
	return 0;
}

static void
expect_rejected(const char *value, size_t len, int line)
{
	enum bsn_error e = rules_check_bsn(value, len);
	const char *msg = rules_bsn_strerror(e);

	cr_expect_neq(e, BSN_OK, "bsn-invalid.tsv line %d accepted", line);
	cr_expect(strncmp(msg, "bsn: ", 5) == 0,
	    "bsn-invalid.tsv line %d: message does not start with 'bsn: '",
	    line);
	cr_expect(len == 0 || strstr(msg, value) == NULL,
	    "bsn-invalid.tsv line %d: message contains the value", line);
	cr_expect(!has_digit_run(msg),
	    "bsn-invalid.tsv line %d: message contains a digit run", line);
}

Test(bsn, accepts_every_valid_test_bsn)
{
	FILE *fp = open_testdata("bsn-valid.txt");
	char buf[256];
	size_t len;
	int line = 0, checked = 0;

	while (fgets(buf, sizeof(buf), fp) != NULL) {
		line++;
		len = strcspn(buf, "\r\n");
		buf[len] = '\0';
		if (buf[0] == '#')
			continue;
		cr_expect_eq(rules_check_bsn(buf, len), BSN_OK,
		    "bsn-valid.txt line %d rejected", line);
		checked++;
	}
	fclose(fp);
	cr_assert_gt(checked, 100, "only %d valid BSNs in the test data",
	    checked);
}

Test(bsn, rejects_every_invalid_test_value)
{
	FILE *fp = open_testdata("bsn-invalid.tsv");
	char buf[256], *tab;
	int line = 0, checked = 0, empty = 0;

	while (fgets(buf, sizeof(buf), fp) != NULL) {
		line++;
		buf[strcspn(buf, "\r\n")] = '\0';
		if (buf[0] == '#')
			continue;
		tab = strchr(buf, '\t');
		cr_assert_not_null(tab, "bsn-invalid.tsv line %d has no tab",
		    line);
		*tab = '\0';
		empty += buf[0] == '\0';
		expect_rejected(buf, (size_t)(tab - buf), line);
		checked++;
	}
	fclose(fp);
	cr_assert_gt(checked, 10, "only %d invalid values in the test data",
	    checked);
	cr_expect_eq(empty, 1, "expected one empty value in the test data");
}

/*
 * Values made here for the exact reason; the label, not the value, is
 * printed when one fails.
 */
Test(bsn, reasons)
{
	static const struct {
		const char	*label;
		const char	*value;
		size_t		 len;
		enum bsn_error	 want;
	} t[] = {
		{ "empty", "", 0, BSN_EMPTY },
		{ "NULL", NULL, 0, BSN_EMPTY },
		{ "8 digits", "99999001", 8, BSN_LENGTH },
		{ "10 digits", "9999900190", 10, BSN_LENGTH },
		{ "letter", "99999001a", 9, BSN_NOT_DIGITS },
		{ "leading space", " 99999001", 9, BSN_NOT_DIGITS },
		{ "sign", "-99999001", 9, BSN_NOT_DIGITS },
		{ "high byte", "9999\xff" "001", 9, BSN_NOT_DIGITS },
		{ "NUL", "9999\0" "001", 9, BSN_NOT_DIGITS },
		{ "all zeros", "000000000", 9, BSN_ALL_ZEROS },
		/* 9*9+8*9+7*9+6*9+5*9+4*0+3*0+2*0 = 315 = 11*28 + 7 */
		{ "11-test, check digit 7", "999990007", 9, BSN_OK },
		{ "11-test, check digit 8", "999990008", 9, BSN_CHECKSUM },
		{ "11-test, check digit 6", "999990006", 9, BSN_CHECKSUM },
		/* Only len bytes are looked at. */
		{ "len honoured", "9999900079", 9, BSN_OK },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(rules_check_bsn(t[i].value, t[i].len), t[i].want,
		    "%s", t[i].label);
}

Test(bsn, messages_name_the_field)
{
	enum bsn_error e;

	for (e = BSN_EMPTY; e <= BSN_CHECKSUM; e++) {
		cr_expect(strncmp(rules_bsn_strerror(e), "bsn: ", 5) == 0,
		    "reason %d", (int)e);
	}
	cr_expect_str_eq(rules_bsn_strerror(BSN_LENGTH),
	    "bsn: must be exactly 9 digits");
	cr_expect_str_eq(rules_bsn_strerror(BSN_CHECKSUM),
	    "bsn: is not a valid BSN (fails the 11-test)");
	cr_expect_str_eq(rules_bsn_strerror(BSN_EMPTY), "bsn: is required");
}

/* ---- dates ---- */

static int32_t
date(const char *s)
{
	int32_t d = INT32_MIN;

	cr_assert_eq(rules_parse_date(s, &d), 0, "%s refused", s);
	return d;
}

static void
expect_bad_date(const char *s)
{
	int32_t d = 12345;

	cr_expect_eq(rules_parse_date(s, &d), -1, "\"%s\" accepted", s);
	cr_expect_eq(d, 12345, "\"%s\": result changed on failure", s);
}

Test(dates, known_days)
{
	cr_expect_eq(rules_days_from_civil(1970, 1, 1), 0);
	cr_expect_eq(rules_days_from_civil(1969, 12, 31), -1);
	cr_expect_eq(rules_days_from_civil(2000, 1, 1), 10957);
	cr_expect_eq(rules_days_from_civil(2000, 3, 1), 11017);
	cr_expect_eq(rules_days_from_civil(1900, 1, 1), -25567);
	cr_expect_eq(rules_days_from_civil(9999, 12, 31), 2932896);
	cr_expect_eq(date("2024-02-29"), rules_days_from_civil(2024, 2, 29));
	cr_expect_eq(date("2024-03-01") - date("2024-02-28"), 2);
	cr_expect_eq(date("2023-03-01") - date("2023-02-28"), 1);
	cr_expect_eq(date("2001-01-01") - date("2000-01-01"), 366);
	cr_expect_eq(date("1901-01-01") - date("1900-01-01"), 365);
}

Test(dates, leap_days)
{
	date("2000-02-29");
	date("2024-02-29");
	date("1904-02-29");
	expect_bad_date("1900-02-29");
	expect_bad_date("2023-02-29");
	expect_bad_date("2100-02-29");
	expect_bad_date("2024-02-30");
}

Test(dates, malformed)
{
	static const char *bad[] = {
		"2015-3-01", "2015-03-01x", "", "abcd-ef-gh", "2015-13-01",
		"2015-04-31", "2015-00-10", "2015-01-00", "2015-01-32",
		"2015/03/01", "20150301", " 2015-03-01", "2015-03-01 ",
		"2015-03- 1", "+015-03-01", "-015-03-01", "1899-12-31",
		"10000-01-01", "0000-01-01", "2015-06-31", "2015-09-31",
		"2015-11-31", "2015--3-01", "2015-03-1\n",
	};
	int32_t d = 7;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad_date(bad[i]);
	cr_expect_eq(rules_parse_date(NULL, &d), -1);
}

Test(dates, range_ends)
{
	cr_expect_eq(date("1900-01-01"), rules_days_from_civil(1900, 1, 1));
	cr_expect_eq(date("9999-12-31"), rules_days_from_civil(9999, 12, 31));
	cr_expect_eq(date("2015-03-01"), rules_days_from_civil(2015, 3, 1));
	cr_expect_eq(date("2015-12-31"), rules_days_from_civil(2015, 12, 31));
}

/* Every day from 1600 to 2500 and back, consecutive and valid dates. */
Test(dates, round_trip)
{
	int32_t from = rules_days_from_civil(1600, 1, 1);
	int32_t to = rules_days_from_civil(2500, 12, 31);
	int32_t days;
	int y, py = 1599;
	unsigned m, d, pm = 12, pd = 31;

	for (days = from; days <= to; days++) {
		rules_civil_from_days(days, &y, &m, &d);
		cr_assert_eq(rules_days_from_civil(y, m, d), days, "day %d",
		    (int)days);
		cr_assert(m >= 1 && m <= 12 && d >= 1 && d <= 31, "day %d",
		    (int)days);
		if (d == 1)
			cr_assert(m == pm % 12 + 1 &&
			    y == py + (m == 1), "day %d", (int)days);
		else
			cr_assert(d == pd + 1 && m == pm && y == py, "day %d",
			    (int)days);
		py = y;
		pm = m;
		pd = d;
	}
}

Test(dates, round_trip_far)
{
	static const int32_t far[] = {
		INT32_MIN / 2, -1000000, -719469, -719468, -1, 0, 1,
		1000000, INT32_MAX / 2,
	};
	int y;
	unsigned m, d;
	size_t i;

	for (i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
		rules_civil_from_days(far[i], &y, &m, &d);
		cr_expect_eq(rules_days_from_civil(y, m, d), far[i], "day %d",
		    (int)far[i]);
	}
	rules_civil_from_days(-719468, &y, &m, &d);
	cr_expect(y == 0 && m == 3 && d == 1);
}

Test(dates, birthdays)
{
	cr_expect_eq(rules_birthday(date("2004-02-29"), 23),
	    date("2027-02-28"));
	cr_expect_eq(rules_birthday(date("2004-02-29"), 24),
	    date("2028-02-29"));
	cr_expect_eq(rules_birthday(date("2004-02-29"), 0),
	    date("2004-02-29"));
	cr_expect_eq(rules_birthday(date("2002-03-01"), 23),
	    date("2025-03-01"));
	cr_expect_eq(rules_birthday(date("2002-12-31"), 23),
	    date("2025-12-31"));
	cr_expect_eq(rules_birthday(date("2002-01-01"), 23),
	    date("2025-01-01"));
}

/* ---- expiry ---- */

/* The rules' arithmetic over UTC days; the Dutch day has its own suite. */
static int32_t
utc_day(int64_t t)
{
	return (int32_t)(t >= 0 ? t / DAY : (t + 1) / DAY - 1);
}

static int64_t
utc_day_start(int32_t day)
{
	return day * DAY;
}

static const struct rules_calendar utc_calendar = { utc_day,
    utc_day_start };
static const struct rules_calendar *cal = &utc_calendar;

static void
utc_days(void)
{
	cal = &utc_calendar;
}

TestSuite(expiry, .init = utc_days);

/* Noon UTC of a date, as Unix seconds. */
static int64_t
noon(const char *s)
{
	return date(s) * DAY + 12 * 3600;
}

static void
expect_refused(int64_t now, int32_t birth, unsigned duration, unsigned max,
    const char *want)
{
	struct expiry e = { .expires = 42, .bound = EXPIRY_DURATION };
	const char *why = NULL;

	cr_assert_eq(rules_expiry(cal, now, birth, duration, max, 23, &e,
	    &why), -1, "accepted, want: %s", want);
	cr_assert_not_null(why);
	cr_expect_str_eq(why, want);
	cr_expect_eq(e.expires, 42, "out changed on failure");
}

static struct expiry
expect_accepted(int64_t now, int32_t birth, unsigned duration, unsigned max)
{
	struct expiry e = { 0 };
	const char *why = NULL;

	cr_assert_eq(rules_expiry(cal, now, birth, duration, max, 23, &e,
	    &why), 0, "refused: %s", why != NULL ? why : "(no reason)");
	return e;
}

#define TOO_OLD	"birth_date: the youth is 23 or older; " \
		"the index is for youths under 23"

Test(expiry, twenty_third_birthday_today_is_refused)
{
	expect_refused(noon("2025-06-15"), date("2002-06-15"), 0, 730,
	    TOO_OLD);
	/* Also in the first and the last second of that day. */
	expect_refused(date("2025-06-15") * DAY, date("2002-06-15"), 0, 730,
	    TOO_OLD);
	expect_refused(date("2025-06-16") * DAY - 1, date("2002-06-15"), 0,
	    730, TOO_OLD);
}

Test(expiry, twenty_third_birthday_past_is_refused)
{
	expect_refused(noon("2025-06-15"), date("2002-06-14"), 0, 730,
	    TOO_OLD);
	expect_refused(noon("2025-06-15"), date("1990-01-01"), 0, 730,
	    TOO_OLD);
	expect_refused(noon("2025-06-15"), date("1900-01-01"), 0, 730,
	    TOO_OLD);
}

Test(expiry, twenty_third_birthday_tomorrow_is_accepted)
{
	struct expiry e;

	e = expect_accepted(noon("2025-06-15"), date("2002-06-16"), 0, 730);
	cr_expect_eq(e.bound, EXPIRY_AGE_23);
	cr_expect_eq(e.expires, date("2025-06-16") * DAY);
	/* One second before midnight: still the day before. */
	e = expect_accepted(date("2025-06-16") * DAY - 1, date("2002-06-16"),
	    1, 730);
	cr_expect_eq(e.bound, EXPIRY_AGE_23);
	cr_expect_eq(e.expires, date("2025-06-16") * DAY);
}

Test(expiry, leap_day_birth)
{
	struct expiry e;

	e = expect_accepted(noon("2027-02-27"), date("2004-02-29"), 0, 730);
	cr_expect_eq(e.bound, EXPIRY_AGE_23);
	cr_expect_eq(e.expires, date("2027-02-28") * DAY);
	expect_refused(noon("2027-02-28"), date("2004-02-29"), 0, 730,
	    TOO_OLD);
}

Test(expiry, duration_default_is_max)
{
	int64_t now = noon("2025-06-15");
	struct expiry e;

	e = expect_accepted(now, date("2020-01-01"), 0, 730);
	cr_expect_eq(e.bound, EXPIRY_DURATION);
	cr_expect_eq(e.expires, now + 730 * DAY);
	e = expect_accepted(now, date("2020-01-01"), 0, 365);
	cr_expect_eq(e.bound, EXPIRY_DURATION);
	cr_expect_eq(e.expires, now + 365 * DAY);
}

Test(expiry, duration_chosen)
{
	int64_t now = noon("2025-06-15");
	struct expiry e;

	e = expect_accepted(now, date("2020-01-01"), 1, 730);
	cr_expect_eq(e.bound, EXPIRY_DURATION);
	cr_expect_eq(e.expires, now + DAY);
	e = expect_accepted(now, date("2020-01-01"), 730, 730);
	cr_expect_eq(e.bound, EXPIRY_DURATION);
	cr_expect_eq(e.expires, now + 730 * DAY);
	e = expect_accepted(now, date("2020-01-01"), 365, 365);
	cr_expect_eq(e.expires, now + 365 * DAY);
}

Test(expiry, duration_capped)
{
	int64_t now = noon("2025-06-15");

	expect_refused(now, date("2020-01-01"), 731, 730,
	    "duration_days: must be at most 730");
	expect_refused(now, date("2020-01-01"), 366, 365,
	    "duration_days: must be at most 365");
	expect_refused(now, date("2020-01-01"), UINT32_MAX, 730,
	    "duration_days: must be at most 730");
}

/* The law's two years hold even if the caller passes more. */
Test(expiry, max_clamped_to_law)
{
	int64_t now = noon("2025-06-15");
	struct expiry e;

	expect_refused(now, date("2020-01-01"), 731, 1000,
	    "duration_days: must be at most 730");
	e = expect_accepted(now, date("2020-01-01"), 0, 1000);
	cr_expect_eq(e.expires, now + 730 * DAY);
}

Test(expiry, age_bound_when_earlier)
{
	int64_t now = noon("2025-06-15");
	struct expiry e;

	/* Turns 23 on 2026-01-10, before the two years are up. */
	e = expect_accepted(now, date("2003-01-10"), 0, 730);
	cr_expect_eq(e.bound, EXPIRY_AGE_23);
	cr_expect_eq(e.expires, date("2026-01-10") * DAY);
	/* A short duration ends first. */
	e = expect_accepted(now, date("2003-01-10"), 30, 730);
	cr_expect_eq(e.bound, EXPIRY_DURATION);
	cr_expect_eq(e.expires, now + 30 * DAY);
}

/* When both bounds fall on the same second, the age limit is the reason. */
Test(expiry, equal_bounds_are_age)
{
	int64_t now = date("2025-06-15") * DAY;
	struct expiry e;

	e = expect_accepted(now, date("2002-07-15"), 30, 730);
	cr_expect_eq(e.bound, EXPIRY_AGE_23);
	cr_expect_eq(e.expires, now + 30 * DAY);
	e = expect_accepted(now, date("2002-07-15"), 29, 730);
	cr_expect_eq(e.bound, EXPIRY_DURATION);
}

Test(expiry, birth_in_future_refused)
{
	expect_refused(noon("2025-06-15"), date("2025-06-16"), 0, 730,
	    "birth_date: must not be in the future");
	expect_refused(noon("2025-06-15"), date("2030-01-01"), 0, 730,
	    "birth_date: must not be in the future");
}

Test(expiry, birth_today_accepted)
{
	int64_t now = noon("2025-06-15");
	struct expiry e;

	e = expect_accepted(now, date("2025-06-15"), 0, 730);
	cr_expect_eq(e.bound, EXPIRY_DURATION);
	cr_expect_eq(e.expires, now + 730 * DAY);
}

Test(expiry, why_may_be_null)
{
	struct expiry e;

	cr_expect_eq(rules_expiry(cal, noon("2025-06-15"), date("2030-01-01"),
	    0, 730, 23, &e, NULL), -1);
}

/* ---- the Dutch day ---- */

/* Unix time of an ISO 8601 UTC time "YYYY-MM-DDTHH:MM:SSZ". */
static int64_t
utc(const char *s)
{
	char day[11];
	int h, m, sec;

	cr_assert_eq(sscanf(s, "%10[0-9-]T%d:%d:%dZ", day, &h, &m, &sec), 4,
	    "%s", s);
	return date(day) * DAY + h * 3600 + m * 60 + sec;
}

static void
amsterdam(void)
{
	zone_use("Europe/Amsterdam");
	cal = &zone_calendar;
}

TestSuite(dutch_day, .init = amsterdam);

Test(dutch_day, the_zone_is_checked)
{
	char why[512];

	cr_expect_eq(zone_check("Europe/Amsterdam", why, sizeof(why)), 0,
	    "%s", why);
	cr_expect_eq(zone_check("UTC", why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(zone_check("Europe/Amsterdan", why, sizeof(why)), -1);
	cr_expect(strstr(why, "no time zone 'Europe/Amsterdan'") != NULL &&
	    strstr(why, "tzdata") != NULL, "%s", why);
	cr_expect_eq(zone_check("../../etc/passwd", why, sizeof(why)), -1);
	cr_expect(strstr(why, "is not a time zone name") != NULL, "%s", why);
	cr_expect_eq(zone_check("/etc/localtime", why, sizeof(why)), -1);
	cr_expect_eq(zone_check("", why, sizeof(why)), -1);
	cr_expect_eq(zone_check("Europe", why, sizeof(why)), -1,
	    "a folder is no zone");
	cr_expect_eq(zone_check("CET-1CEST", why, sizeof(why)), -1,
	    "a POSIX rule is no tz database zone");
}

Test(dutch_day, days_begin_at_dutch_midnight)
{
	/* Winter: CET, UTC+1. */
	cr_expect_eq(zone_day(utc("2026-12-04T22:59:59Z")), date("2026-12-04"));
	cr_expect_eq(zone_day(utc("2026-12-04T23:00:00Z")), date("2026-12-05"));
	cr_expect_eq(zone_day_start(date("2026-12-05")),
	    utc("2026-12-04T23:00:00Z"));
	/* Summer: CEST, UTC+2. */
	cr_expect_eq(zone_day(utc("2027-07-01T21:59:59Z")), date("2027-07-01"));
	cr_expect_eq(zone_day(utc("2027-07-01T22:00:00Z")), date("2027-07-02"));
	cr_expect_eq(zone_day_start(date("2027-07-02")),
	    utc("2027-07-01T22:00:00Z"));
	/* New Year, and a day before 1970. */
	cr_expect_eq(zone_day_start(date("2027-01-01")),
	    utc("2026-12-31T23:00:00Z"));
	cr_expect_eq(zone_day(utc("1969-12-31T23:00:00Z")), date("1970-01-01"));
	cr_expect_eq(zone_day(utc("1969-12-31T22:59:59Z")), date("1969-12-31"));
}

Test(dutch_day, both_clock_changes)
{
	/* Sunday 28 March 2027: 02:00 CET becomes 03:00 CEST, a 23-hour day. */
	cr_expect_eq(zone_day_start(date("2027-03-28")),
	    utc("2027-03-27T23:00:00Z"));
	cr_expect_eq(zone_day_start(date("2027-03-29")),
	    utc("2027-03-28T22:00:00Z"));
	cr_expect_eq(zone_day(utc("2027-03-28T00:59:59Z")), date("2027-03-28"));
	cr_expect_eq(zone_day(utc("2027-03-28T01:00:00Z")), date("2027-03-28"));
	cr_expect_eq(zone_day(utc("2027-03-28T21:59:59Z")), date("2027-03-28"));
	/* Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET, 25 hours. */
	cr_expect_eq(zone_day_start(date("2026-10-25")),
	    utc("2026-10-24T22:00:00Z"));
	cr_expect_eq(zone_day_start(date("2026-10-26")),
	    utc("2026-10-25T23:00:00Z"));
	cr_expect_eq(zone_day(utc("2026-10-25T22:59:59Z")), date("2026-10-25"));
	cr_expect_eq(zone_day(utc("2026-10-25T23:00:00Z")), date("2026-10-26"));
}

Test(dutch_day, half_past_midnight_on_5_december)
{
	int64_t now = utc("2026-12-04T23:30:00Z");	/* 00:30 in NL */
	struct expiry e;

	/* 23 in the Netherlands although the UTC day is the 4th. */
	expect_refused(now, date("2003-12-05"), 0, 730, TOO_OLD);
	e = expect_accepted(now, date("2026-12-05"), 0, 730);
	cr_expect_eq(e.expires, now + 730 * DAY, "born today in NL");
	expect_refused(now, date("2026-12-06"), 0, 730,
	    "birth_date: must not be in the future");
	e = expect_accepted(now, date("2003-12-06"), 0, 730);
	cr_expect_eq(e.bound, EXPIRY_AGE_23);
	cr_expect_eq(e.expires, utc("2026-12-05T23:00:00Z"));

	/* At 23:59:59 on the 4th, one second before the 23rd birthday. */
	now = utc("2026-12-04T22:59:59Z");
	e = expect_accepted(now, date("2003-12-05"), 0, 730);
	cr_expect_eq(e.bound, EXPIRY_AGE_23);
	cr_expect_eq(e.expires, now + 1);
	expect_refused(now, date("2026-12-05"), 0, 730,
	    "birth_date: must not be in the future");
}

Test(dutch_day, around_midnight_of_both_clock_changes)
{
	struct expiry e;

	/* 00:30 CET on Sunday 28 March 2027. */
	expect_refused(utc("2027-03-27T23:30:00Z"), date("2004-03-28"), 0, 730,
	    TOO_OLD);
	expect_accepted(utc("2027-03-27T23:30:00Z"), date("2027-03-28"), 0,
	    730);
	e = expect_accepted(utc("2027-03-27T22:59:59Z"), date("2004-03-28"), 0,
	    730);
	cr_expect_eq(e.expires, utc("2027-03-27T23:00:00Z"));
	/* The next birthday begins at 00:00 CEST. */
	e = expect_accepted(utc("2027-03-27T23:30:00Z"), date("2004-03-29"), 0,
	    730);
	cr_expect_eq(e.expires, utc("2027-03-28T22:00:00Z"));

	/* 00:30 CEST on Sunday 31 October 2027. */
	expect_refused(utc("2027-10-30T22:30:00Z"), date("2004-10-31"), 0, 730,
	    TOO_OLD);
	expect_accepted(utc("2027-10-30T22:30:00Z"), date("2027-10-31"), 0,
	    730);
	e = expect_accepted(utc("2027-10-30T21:59:59Z"), date("2004-10-31"), 0,
	    730);
	cr_expect_eq(e.expires, utc("2027-10-30T22:00:00Z"));
	/* The next birthday begins at 00:00 CET. */
	e = expect_accepted(utc("2027-10-30T22:30:00Z"), date("2004-11-01"), 0,
	    730);
	cr_expect_eq(e.expires, utc("2027-10-31T23:00:00Z"));
}

/* A zone whose clocks change at midnight: the day begins at 01:00. */
Test(dutch_day, a_day_without_a_midnight)
{
	zone_use("America/Santiago");
	cr_expect_eq(zone_day_start(date("2022-09-11")),
	    utc("2022-09-11T04:00:00Z"), "01:00 -03");
	cr_expect_eq(zone_day(utc("2022-09-11T03:59:59Z")), date("2022-09-10"));
	cr_expect_eq(zone_day_start(date("2022-09-10")),
	    utc("2022-09-10T04:00:00Z"));
}

/* ---- contact, client_ref, municipality ---- */

static void
expect_contact(const char *name, const char *phone, const char *email,
    const char *want)
{
	const char *why = NULL;
	int r = rules_check_contact(name, phone, email, &why);

	if (want == NULL) {
		cr_expect_eq(r, 0, "refused: %s",
		    why != NULL ? why : "(no reason)");
		return;
	}
	cr_expect_eq(r, -1, "accepted, want: %s", want);
	if (r == -1) {
		cr_assert_not_null(why);
		cr_expect_str_eq(why, want);
	}
}

/* A string of n copies of c, then tail. */
static char *
repeat(char c, size_t n, const char *tail)
{
	size_t tl = strlen(tail);
	char *s = malloc(n + tl + 1);

	cr_assert_not_null(s);
	memset(s, c, n);
	memcpy(s + n, tail, tl + 1);
	return s;
}

#define PHONE	"+31 30 123 45 67"
#define EMAIL	"j.jansen@jz-utrecht.example"

Test(contact, good)
{
	expect_contact("J. Jansen", PHONE, EMAIL, NULL);
	expect_contact("J. Jansen", PHONE, NULL, NULL);
	expect_contact("J. Jansen", PHONE, "", NULL);
	expect_contact("José Müller-Øster 山田", "(030) 123-45.67", "a@b.nl",
	    NULL);
	expect_contact("A", "0501234567", NULL, NULL);
	expect_contact("Emoji \xf0\x9f\x98\x80", "0501234567", NULL, NULL);
	expect_contact("max U+10FFFF \xf4\x8f\xbf\xbf", "0501234567", NULL,
	    NULL);
	/* Right-to-left names need no formatting characters. */
	expect_contact("\xd7\x99\xd7\xa2\xd7\xa7\xd7\x91 "
	    "\xd7\x9b\xd7\x94\xd7\x9f", PHONE, EMAIL, NULL);
	expect_contact("\xd9\x81\xd8\xa7\xd8\xb7\xd9\x85\xd8\xa9", PHONE, EMAIL,
	    NULL);
}

Test(contact, name)
{
	char *s;
	size_t i;

	expect_contact(NULL, PHONE, EMAIL, "contact.name: is required");
	expect_contact("", PHONE, EMAIL, "contact.name: is required");
	s = repeat('x', 128, "");
	expect_contact(s, PHONE, EMAIL, NULL);
	free(s);
	s = repeat('x', 129, "");
	expect_contact(s, PHONE, EMAIL,
	    "contact.name: must be at most 128 bytes");
	free(s);
	/* The limit is in bytes: 64 two-byte characters fit, 65 do not. */
	s = malloc(131);
	cr_assert_not_null(s);
	for (i = 0; i < 65; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[130] = '\0';
	expect_contact(s, PHONE, EMAIL,
	    "contact.name: must be at most 128 bytes");
	s[128] = '\0';
	expect_contact(s, PHONE, EMAIL, NULL);
	free(s);
}

Test(contact, name_control_characters)
{
	static const char *bad[] = {
		"J.\nJansen", "J.\tJansen", "J.\rJansen", "J.\x1b[31m",
		"J.\x7f", "J.\x01", "J.\xc2\x85",	/* U+0085 NEL */
		"J.\xc2\x9f",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_contact(bad[i], PHONE, EMAIL,
		    "contact.name: must not contain control characters");
	expect_contact("J.\xc2\xa0Jansen", PHONE, EMAIL, NULL); /* NBSP */
}

Test(contact, name_utf8)
{
	static const char *bad[] = {
		"\x80", "J\xbf", "J\xc3", "J\xe2\x82", "J\xf0\x9f\x98",
		"\xc0\xaf", "\xc1\xbf",			/* overlong 2-byte */
		"\xe0\x80\xaf", "\xe0\x9f\xbf",		/* overlong 3-byte */
		"\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",	/* overlong 4-byte */
		"\xed\xa0\x80", "\xed\xbf\xbf",		/* surrogates */
		"\xf4\x90\x80\x80",			/* above U+10FFFF */
		"\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
		"J\xc3(", "J\xe2(\xa1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_contact(bad[i], PHONE, EMAIL,
		    "contact.name: must be valid UTF-8");
	expect_contact("\xed\x9f\xbf", PHONE, EMAIL, NULL);	/* U+D7FF */
	expect_contact("\xee\x80\x80", PHONE, EMAIL, NULL);	/* U+E000 */
}

/* What reorders text around it, as the U+202E "Trojan Source" trick. */
static const char *const bidi[] = {
	"\xd8\x9c",					/* U+061C ALM */
	"\xe2\x80\x8e", "\xe2\x80\x8f",		/* U+200E LRM, U+200F RLM */
	"\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac",	/* U+202A-202C */
	"\xe2\x80\xad", "\xe2\x80\xae",		/* U+202D LRO, U+202E RLO */
	"\xe2\x81\xa6", "\xe2\x81\xa7",		/* U+2066 LRI, U+2067 RLI */
	"\xe2\x81\xa8", "\xe2\x81\xa9",		/* U+2068 FSI, U+2069 PDI */
};

#define BIDI_WHY	": must not contain bidirectional formatting " \
	"characters (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069)"

/* s with bidi[i] in the middle of it, in buf. */
static const char *
with_bidi(char *buf, size_t len, const char *head, size_t i,
    const char *tail)
{
	snprintf(buf, len, "%s%s%s", head, bidi[i], tail);
	return buf;
}

static void expect_ref(const char *ref, const char *want);

Test(contact, bidi_formatting_is_refused_in_every_field)
{
	char buf[128];

	for (size_t i = 0; i < sizeof(bidi) / sizeof(bidi[0]); i++) {
		expect_contact(with_bidi(buf, sizeof(buf), "J. ", i, "Jansen"),
		    PHONE, EMAIL, "contact.name" BIDI_WHY);
		expect_contact(with_bidi(buf, sizeof(buf), "", i, "J. Jansen"),
		    PHONE, EMAIL, "contact.name" BIDI_WHY);
		expect_contact("J", PHONE, with_bidi(buf, sizeof(buf), "j@",
		    i, "example.nl"), "contact.email" BIDI_WHY);
		expect_ref(with_bidi(buf, sizeof(buf), "dossier ", i, "17"),
		    "client_ref" BIDI_WHY);
		/* Not a digit, space or separator: the phone's own rule. */
		expect_contact("J", with_bidi(buf, sizeof(buf), "050", i,
		    "1234567"), EMAIL, "contact.phone: may contain only "
		    "digits, spaces and + - ( ) .");
	}
}

Test(contact, line_separators_are_control_characters)
{
	expect_contact("J.\xe2\x80\xa8Jansen", PHONE, EMAIL,
	    "contact.name: must not contain control characters");
	expect_contact("J.\xe2\x80\xa9Jansen", PHONE, EMAIL,
	    "contact.name: must not contain control characters");
	expect_ref("a\xe2\x80\xa8", "client_ref: must not contain control "
	    "characters");
}

Test(contact, blank_name_is_refused)
{
	static const char *blank[] = {
		" ", "   ", "\xc2\xa0",				/* NBSP */
		" \xe2\x80\x83 \xe3\x80\x80 ",		/* em, ideographic */
		"\xe2\x80\x8b", "\xef\xbb\xbf",		/* ZWSP, BOM */
		"\xe2\x80\x8d\xe2\x81\xa0",		/* ZWJ, WJ */
	};
	char *s;

	for (size_t i = 0; i < sizeof(blank) / sizeof(blank[0]); i++)
		expect_contact(blank[i], PHONE, EMAIL,
		    "contact.name: must not be only white space");
	expect_contact("  J. Jansen  ", PHONE, EMAIL, NULL);
	/* The limit is on the name, not on the space around it. */
	s = repeat('x', 128, "  ");
	expect_contact(s, PHONE, EMAIL, NULL);
	free(s);
}

static void
expect_trim(const char *in, const char *want)
{
	char buf[64];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", in);
	n = rules_trim(buf);
	cr_expect_str_eq(buf, want);
	cr_expect_eq(n, strlen(want));
}

Test(contact, trim)
{
	expect_trim("", "");
	expect_trim("J", "J");
	expect_trim("  J. Jansen ", "J. Jansen");
	expect_trim("\xc2\xa0J  J\xe2\x80\x8b", "J  J");
	expect_trim("\xef\xbb\xbfJ", "J");
	expect_trim(" \xe2\x80\x83 ", "");
	/* Control characters are refused, not trimmed away. */
	expect_trim(" \tJ\n ", "\tJ\n");
	/* From an invalid sequence on, all stays as it is, to be refused. */
	expect_trim(" \xff ", "\xff ");
}

static void
expect_text(const char *field, const char *text, const char *want)
{
	const char *why = NULL;
	int r = rules_check_text(field, text, &why);

	if (want == NULL) {
		cr_expect_eq(r, 0, "refused: %s",
		    why != NULL ? why : "(no reason)");
		return;
	}
	cr_expect_eq(r, -1, "accepted, want: %s", want);
	if (r == -1)
		cr_expect_str_eq(why, want);
}

Test(contact, any_text_field)
{
	char buf[64];

	expect_text("recipients", NULL, NULL);
	expect_text("recipients", "", NULL);
	expect_text("recipients", "org-a", NULL);
	expect_text("recipients", "jz-utrecht \xc3\xa9", NULL);
	expect_text("recipients", "org\x1b[2J",
	    "recipients: must not contain control characters");
	expect_text("recipient", "org\xc2\x9b",
	    "recipient: must not contain control characters");
	expect_text("recipients", "org\xc3",
	    "recipients: must be valid UTF-8");
	for (size_t i = 0; i < sizeof(bidi) / sizeof(bidi[0]); i++)
		expect_text("recipients", with_bidi(buf, sizeof(buf), "a-",
		    i, "gro"), "recipients" BIDI_WHY);
	cr_expect_eq(rules_check_text("x", "\n", NULL), -1);
}

static void
expect_phone(const char *phone, const char *want)
{
	expect_contact("J", phone, EMAIL, want);
}

#define PHONE_START	"contact.phone: must start with 0 (a Dutch number), " \
	"+ or 00 (an international one), or be a municipality's 14 number"
#define PHONE_DUTCH	"contact.phone: a Dutch number has 10 digits " \
	"(0800 and 090x numbers: 8 or 11)"
#define PHONE_INTL	"contact.phone: an international number has 8 to " \
	"15 digits after the + or 00"
#define PHONE_BRACKETS	"contact.phone: brackets must be balanced, not " \
	"nested, and hold only digits"
#define PHONE_PLUS	"contact.phone: + may stand only at the start"
#define PHONE_EDGES	"contact.phone: must start with a digit, + or ( and " \
	"end with a digit"
#define PHONE_SEPS	"contact.phone: no two separators (- .) in a row"

Test(contact, phone)
{
	static const char *good[] = {
		"0501234567", "050-1234567", "050 123 45 67", "050.123.45.67",
		"(050) 123 45 67", "06-12345678", "06 1234 5678",
		"  0501234567 ", "+31 6 12345678", "+31612345678",
		"+31 (0)6 1234 5678", "+31 (0)50 123 4567", "0031612345678",
		"0031 (0)6 1234 5678", "+44 20 7946 0958",
		"+1 (202) 555-0123", "+299 123 456", "+12345678",
		"+123456789012345", "0800-2000", "0800 1234567", "0900-1234",
		"0900-1234567", "0906-1234", "0909-1234567", "14 020",
		"14 0591", "14020",
	};
	static const char *charset[] = {
		"030 123 45 67 ext 8", "030\t1234567", "030\n1234567",
		"030/1234567", "030#1", "\xef\xbc\x90\xef\xbc\x93", "0x30",
		"0501234567\xc2\xa0x",
	};
	static const struct { const char *phone, *why; } bad[] = {
		{ "1", PHONE_START }, { "112", PHONE_START },
		{ "123456789", PHONE_START }, { "14 0", PHONE_START },
		{ "14 02012", PHONE_START }, { "15 020", PHONE_START },
		{ "((((1))))", PHONE_BRACKETS }, { "(((0501234567)))",
		    PHONE_BRACKETS }, { "(0501234567", PHONE_BRACKETS },
		{ "050)1234567", PHONE_BRACKETS }, { "()0501234567",
		    PHONE_BRACKETS }, { "(050 1)234567", PHONE_BRACKETS },
		{ "(050)(1234567", PHONE_BRACKETS },
		{ "0501234567+", PHONE_PLUS }, { "++31612345678", PHONE_PLUS },
		{ "(+31) 612345678", PHONE_PLUS },
		{ "-0501234567", PHONE_EDGES }, { "0501234567-", PHONE_EDGES },
		{ ".0501234567", PHONE_EDGES }, { "050 1234567 (0)",
		    PHONE_EDGES },
		{ "050--1234567", PHONE_SEPS }, { "050.-1234567", PHONE_SEPS },
		{ "05012345", PHONE_DUTCH }, { "050123456789", PHONE_DUTCH },
		{ "0800-123", PHONE_DUTCH }, { "0800-123456", PHONE_DUTCH },
		{ "0", PHONE_DUTCH },
		{ "+3161234", PHONE_INTL }, { "+1234567", PHONE_INTL },
		{ "+1234567890123456", PHONE_INTL }, { "00316123",
		    PHONE_INTL }, { "0012345678901234567", PHONE_INTL },
		{ "+31 (0)612", PHONE_INTL },
	};
	char *s;
	size_t i;

	expect_phone(NULL, "contact.phone: is required");
	expect_phone("", "contact.phone: is required");
	expect_phone("   ", "contact.phone: is required");
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_phone(good[i], NULL);
	s = repeat(' ', 22, "0501234567");
	expect_phone(s, NULL);		/* 32 bytes */
	free(s);
	s = repeat('-', 23, "0501234567");
	expect_phone(s, "contact.phone: must be at most 32 bytes");
	free(s);
	for (i = 0; i < sizeof(charset) / sizeof(charset[0]); i++)
		expect_phone(charset[i], "contact.phone: may contain only "
		    "digits, spaces and + - ( ) .");
	expect_phone("+-()", "contact.phone: must contain a digit");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_phone(bad[i].phone, bad[i].why);
}

#define EMAIL_FORM	"contact.email: must have the form name@domain"
#define EMAIL_LOCAL	"contact.email: the name before the @ may hold " \
	"only letters, digits and . ! # $ % & ' * + / = ? ^ _ ` { | } ~ -"
#define EMAIL_DOTS	"contact.email: the name before the @ must not " \
	"start or end with a dot or have two in a row"
#define EMAIL_DOTTED	"contact.email: the domain must have a dot, as " \
	"example.nl"
#define EMAIL_LABEL	"contact.email: the domain must not start or end " \
	"with a dot or have two in a row"
#define EMAIL_DCHARS	"contact.email: the domain may hold only letters, " \
	"digits, dots and hyphens (a hyphen not first or last in a part)"
#define EMAIL_TOP	"contact.email: the domain must end in a name, " \
	"as .nl, not a number"

Test(contact, email)
{
	static const char *good[] = {
		EMAIL, "a@b.nl", "jösé@exämple.nl",
		"first.last+tag@sub.example.org", "o'brien@example.ie",
		"  j@example.nl ", "j_{x}|~@xn--bcher-kva.ch",
		"a@b-c.d-e.nl", "a@123.example", "!#$%&'*+/=?^_`{|}~-@x.nl",
	};
	static const struct { const char *email, *why; } bad[] = {
		{ "jansen", EMAIL_FORM }, { "@example.nl", EMAIL_FORM },
		{ "jansen@", EMAIL_FORM }, { "a@@b.nl", EMAIL_FORM },
		{ "a@b@c.nl", EMAIL_FORM }, { "@", EMAIL_FORM },
		{ "a@..", EMAIL_LABEL }, { "a@b.", EMAIL_LABEL },
		{ "a@.b.nl", EMAIL_LABEL }, { "a@b..nl", EMAIL_LABEL },
		{ "a@example.nl.", EMAIL_LABEL },
		{ "a@b", EMAIL_DOTTED }, { "jansen@example", EMAIL_DOTTED },
		{ ".a@b.nl", EMAIL_DOTS }, { "a.@b.nl", EMAIL_DOTS },
		{ "a..b@b.nl", EMAIL_DOTS },
		{ "a(b)@b.nl", EMAIL_LOCAL }, { "\"a\"@b.nl", EMAIL_LOCAL },
		{ "a,b@b.nl", EMAIL_LOCAL }, { "a\\b@b.nl", EMAIL_LOCAL },
		{ "a@-b.nl", EMAIL_DCHARS }, { "a@b-.nl", EMAIL_DCHARS },
		{ "a@b_c.nl", EMAIL_DCHARS }, { "a@[1.2.3.4]", EMAIL_DCHARS },
		{ "a@b.nl-", EMAIL_DCHARS },
		{ "a@1.2.3.4", EMAIL_TOP }, { "a@example.123", EMAIL_TOP },
	};
	char *s, *t;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		expect_contact("J", PHONE, good[i], NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_contact("J", PHONE, bad[i].email, bad[i].why);
	expect_contact("J", PHONE, "j jansen@example.nl",
	    "contact.email: must not contain spaces");
	expect_contact("J", PHONE, "j\xc2\xa0jansen@example.nl",
	    "contact.email: must not contain spaces");
	expect_contact("J", PHONE, "jansen@example.nl\n",
	    "contact.email: must not contain control characters");
	expect_contact("J", PHONE, "jansen@\x7f",
	    "contact.email: must not contain control characters");
	expect_contact("J", PHONE, "jansen@\xc0\xae",
	    "contact.email: must be valid UTF-8");
	/* 64 bytes before the @, 63 in a part of the domain, 254 in all. */
	s = repeat('a', 64, "@b.nl");
	expect_contact("J", PHONE, s, NULL);
	free(s);
	s = repeat('a', 65, "@b.nl");
	expect_contact("J", PHONE, s, "contact.email: the name before the @ "
	    "must be at most 64 bytes");
	free(s);
	s = repeat('d', 63, ".nl");
	t = malloc(strlen(s) + 3);
	cr_assert_not_null(t);
	snprintf(t, strlen(s) + 3, "a@%s", s);
	expect_contact("J", PHONE, t, NULL);
	free(t);
	free(s);
	s = repeat('d', 64, ".nl");
	t = malloc(strlen(s) + 3);
	cr_assert_not_null(t);
	snprintf(t, strlen(s) + 3, "a@%s", s);
	expect_contact("J", PHONE, t, "contact.email: each part of the "
	    "domain must be at most 63 bytes");
	free(t);
	free(s);
	/* 64 + 1 + 60 + 1 + 60 + 1 + 60 + 1 + 6 = 254 bytes. */
	s = repeat('a', 64, "@");
	t = malloc(300);
	cr_assert_not_null(t);
	snprintf(t, 300, "%s%060d.%060d.%060d.abcdef", s, 0, 0, 0);
	cr_assert_eq(strlen(t), 254);
	expect_contact("J", PHONE, t, NULL);
	snprintf(t, 300, "%s%060d.%060d.%060d.abcdefg", s, 0, 0, 0);
	expect_contact("J", PHONE, t, "contact.email: must be at most 254 "
	    "bytes");
	free(t);
	free(s);
}

/* The first field at fault is the one named. */
Test(contact, first_fault_named)
{
	expect_contact("", "", "x", "contact.name: is required");
	expect_contact("J", "", "x", "contact.phone: is required");
}

Test(contact, why_may_be_null)
{
	cr_expect_eq(rules_check_contact("", PHONE, NULL, NULL), -1);
	cr_expect_eq(rules_check_client_ref("\n", NULL), -1);
	cr_expect_eq(rules_check_municipality("1", NULL), -1);
}

static void
expect_ref(const char *ref, const char *want)
{
	const char *why = NULL;
	int r = rules_check_client_ref(ref, &why);

	if (want == NULL) {
		cr_expect_eq(r, 0, "refused: %s",
		    why != NULL ? why : "(no reason)");
		return;
	}
	cr_expect_eq(r, -1, "accepted, want: %s", want);
	if (r == -1) {
		cr_assert_not_null(why);
		cr_expect_str_eq(why, want);
	}
}

Test(client_ref, cases)
{
	char *s;

	expect_ref(NULL, NULL);
	expect_ref("", NULL);
	expect_ref("dossier 2025/17-b", NULL);
	expect_ref("zaak ü", NULL);
	s = repeat('r', 64, "");
	expect_ref(s, NULL);
	free(s);
	s = repeat('r', 65, "");
	expect_ref(s, "client_ref: must be at most 64 bytes");
	free(s);
	expect_ref("a\tb", "client_ref: must not contain control characters");
	expect_ref("a\x7f", "client_ref: must not contain control characters");
	expect_ref("a\x1b", "client_ref: must not contain control characters");
	expect_ref("a\xff", "client_ref: must be valid UTF-8");
}

static void
expect_municipality(const char *code, int ok)
{
	const char *why = NULL;

	if (ok) {
		cr_expect_eq(rules_check_municipality(code, &why), 0,
		    "\"%s\" refused", code != NULL ? code : "(null)");
		return;
	}
	cr_expect_eq(rules_check_municipality(code, &why), -1,
	    "\"%s\" accepted", code);
	cr_expect_str_eq(why, "municipality: must be a 4-digit CBS code");
}

Test(municipality, cases)
{
	static const char *bad[] = {
		"344", "03444", "03a4", " 344", "344 ", "-344", "0344\n",
		"\xef\xbc\x90\xef\xbc\x93\xef\xbc\x94\xef\xbc\x94",
	};
	size_t i;

	expect_municipality(NULL, 1);
	expect_municipality("", 1);
	expect_municipality("0344", 1);
	expect_municipality("1680", 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_municipality(bad[i], 0);
}

/* ---- no BSN in free text ---- */

#define OWN	"999990019"	/* synthetic test numbers */
#define OTHER	"999990032"
#define BAD	"999990018"	/* fails the 11-test */

/* Whether a digit is in s: the messages must show none of the value. */
static int
has_digit(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= '0' && *s <= '9')
			return 1;
	return 0;
}

/*
 * Check text (built from the pattern, where "O" stands for OWN and "X" for
 * OTHER, and other letters are themselves) as field; case names the case
 * in messages, never the value.
 */
static void
expect_free_text(int line, const char *field, const char *text,
    const char *own, int refused)
{
	const char *why = NULL;
	char want[64];
	int rc = rules_check_no_bsn(field, text, own, &why);

	if (!refused) {
		cr_expect_eq(rc, 0, "line %d: refused", line);
		return;
	}
	cr_expect_eq(rc, -1, "line %d: accepted", line);
	if (rc != -1)
		return;
	snprintf(want, sizeof(want), "%s: must not contain a BSN", field);
	cr_expect_eq(strncmp(why, want, strlen(want)), 0, "line %d: %s", line,
	    why);
	cr_expect_not_null(strstr(why, "another reference"), "line %d", line);
	cr_expect(!has_digit(why), "line %d: the message shows a digit", line);
}

#define REFUSED(field, text, own)	\
	expect_free_text(__LINE__, field, text, own, 1)
#define ACCEPTED(field, text, own)	\
	expect_free_text(__LINE__, field, text, own, 0)

Test(free_text, the_requests_own_bsn_anywhere_among_the_digits)
{
	REFUSED("client_ref", OWN, OWN);
	REFUSED("client_ref", "D-" OWN, OWN);
	REFUSED("client_ref", "dossier" OWN "b", OWN);
	REFUSED("client_ref", "2024" OWN "001", OWN);	/* a longer run */
	REFUSED("client_ref", "9999.90.019", OWN);	/* grouped as written */
	REFUSED("client_ref", "999 990 019", OWN);
	REFUSED("client_ref", "99-999/0019", OWN);
	REFUSED("client_ref", "ref 9999 a 90019", OWN);	/* whatever between */
	REFUSED("contact.name", "Jan " OWN, OWN);
	REFUSED("contact.phone", "+31 " OWN, OWN);	/* a phone that is one */
	REFUSED("contact.phone", OWN, OWN);
	REFUSED("contact.email", OWN "@example.nl", OWN);
	REFUSED("contact.email", "j." OWN "@example.nl", OWN);
	/* Not its own BSN: a longer run of another's is no BSN. */
	ACCEPTED("client_ref", "2024" OWN "001", OTHER);
	ACCEPTED("client_ref", "99999001", OWN);	/* 8 of its digits */
	ACCEPTED("client_ref", "99999.0.01", OWN);
}

Test(free_text, any_number_of_nine_digits_passing_the_11_test)
{
	REFUSED("client_ref", OTHER, OWN);
	REFUSED("client_ref", "sibling " OTHER, OWN);
	REFUSED("client_ref", "9999.90.032", NULL);
	REFUSED("client_ref", "(999) 990-032", NULL);
	REFUSED("client_ref", "a" OTHER "b", NULL);
	REFUSED("client_ref", "2015-03-01: " OTHER "!", NULL);
	REFUSED("contact.name", "J. de Vries, " OTHER, NULL);
	REFUSED("contact.email", OTHER "@example.nl", NULL);
	REFUSED("contact.email", "x@" OTHER ".nl", NULL);
	REFUSED("contact.phone", OTHER, NULL);
	/* The 11-test fails, all zeros, fewer or more digits: no BSN. */
	ACCEPTED("client_ref", BAD, NULL);
	ACCEPTED("client_ref", "000000000", NULL);
	ACCEPTED("client_ref", "99999003", NULL);
	ACCEPTED("client_ref", "1" OTHER, NULL);
	ACCEPTED("client_ref", OTHER "0", NULL);
	ACCEPTED("client_ref", "1.999.990.032", NULL);
	ACCEPTED("client_ref", "dossier 2025/17-b", NULL);
	ACCEPTED("client_ref", "2015-03-01", NULL);
	ACCEPTED("client_ref", "", NULL);
	ACCEPTED("client_ref", NULL, OWN);
	ACCEPTED("contact.name", "Jan de Vries", OWN);
	ACCEPTED("contact.email", "j.devries@example.nl", OWN);
	/* Numbers apart from each other are two numbers... */
	ACCEPTED("client_ref", "99999 + 0032", NULL);
	ACCEPTED("client_ref", "9999,90032", NULL);
	/* ...and grouped ones one: the rule is for mistakes, not disguise. */
	ACCEPTED("client_ref", "2015-03-01 " OTHER, NULL);
}

Test(free_text, phone_numbers_with_a_country_code_are_no_bsn)
{
	/* 31 and OTHER: 9 of the digits in a row pass, the number is longer. */
	ACCEPTED("contact.phone", "0031" OTHER, NULL);
	ACCEPTED("contact.phone", "+31" OTHER, NULL);
	ACCEPTED("contact.phone", "+31 " OTHER, NULL);
	ACCEPTED("contact.phone", "+31 (0)" OTHER, NULL);
	ACCEPTED("contact.phone", "0031612345678", OWN);
	ACCEPTED("contact.phone", "+31 (0)6 1234 5678", OWN);
	ACCEPTED("contact.phone", "+31 6 12345678", OWN);
	ACCEPTED("contact.phone", "06-12345678", OWN);
	ACCEPTED("contact.phone", "050 123 4567", OWN);
	ACCEPTED("contact.phone", "0800-1234", OWN);
	ACCEPTED("contact.phone", "14 020", OWN);
}

Test(free_text, every_synthetic_bsn_is_found)
{
	char line[256], text[300];
	int n = 0, lineno = 0;
	FILE *fp = open_testdata("bsn-valid.txt");

	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		snprintf(text, sizeof(text), "ref-%s", line);
		expect_free_text(lineno, "client_ref", text, NULL, 1);
		snprintf(text, sizeof(text), "%.4s.%.2s.%.3s", line, line + 4,
		    line + 6);
		expect_free_text(lineno, "client_ref", text, NULL, 1);
		snprintf(text, sizeof(text), "0031%s", line);
		expect_free_text(lineno, "contact.phone", text, NULL, 0);
		expect_free_text(lineno, "contact.phone", text, line, 1);
		n++;
	}
	fclose(fp);
	cr_assert_gt(n, 900);
}

/* ---- the age limit as policy (max_age) ---- */

Test(expiry, a_lower_max_age_refuses_and_bounds_earlier)
{
	int64_t now = noon("2025-06-15");
	struct expiry e;
	const char *why = NULL;

	/* 21 today: under the law's 23, not under a covenant's 21. */
	cr_assert_eq(rules_expiry(cal, now, date("2004-06-15"), 0, 730, 21,
	    &e, &why), -1);
	cr_expect_str_eq(why, "birth_date: the youth is 21 or older; the index "
	    "is for youths under 21");
	/* 20: the signal ends at the start of the 21st birthday. */
	cr_assert_eq(rules_expiry(cal, now, date("2005-01-10"), 0, 730, 21,
	    &e, &why), 0, "%s", why);
	cr_expect_eq(e.bound, EXPIRY_AGE_23);
	cr_expect_eq(e.expires, date("2026-01-10") * DAY);
	/* The same youth under the law runs its two years. */
	cr_assert_eq(rules_expiry(cal, now, date("2005-01-10"), 0, 730, 23,
	    &e, &why), 0, "%s", why);
	cr_expect_eq(e.bound, EXPIRY_DURATION);
}

Test(expiry, a_higher_max_age_admits_a_youth_of_23)
{
	int64_t now = noon("2025-06-15");
	struct expiry e;
	const char *why = NULL;

	cr_assert_eq(rules_expiry(cal, now, date("2002-06-15"), 0, 730, 27,
	    &e, &why), 0, "%s", why);
	cr_expect_eq(e.bound, EXPIRY_DURATION);
	cr_expect_eq(e.expires, now + 730 * DAY);
	cr_assert_eq(rules_expiry(cal, now, date("1998-06-15"), 0, 730, 27,
	    &e, &why), -1);
	cr_expect_str_eq(why, "birth_date: the youth is 27 or older; the index "
	    "is for youths under 27");
}

Test(expiry, max_age_is_clamped_to_its_bounds)
{
	int64_t now = noon("2025-06-15");
	struct expiry e;
	const char *why = NULL;

	/* 12 is read as 18, 99 as 27. */
	cr_assert_eq(rules_expiry(cal, now, date("2007-06-15"), 0, 730, 12,
	    &e, &why), -1);
	cr_expect_str_eq(why, "birth_date: the youth is 18 or older; the index "
	    "is for youths under 18");
	cr_assert_eq(rules_expiry(cal, now, date("1998-06-15"), 0, 730, 99,
	    &e, &why), -1);
	cr_expect_str_eq(why, "birth_date: the youth is 27 or older; the index "
	    "is for youths under 27");
}

/* ---- actor: the professional a request is sent for ---- */

/* Check actor; case names the case, never the value (it may be a BSN). */
static void
expect_actor(int line, const char *actor, const char *want_prefix)
{
	const char *why = NULL;
	int rc = rules_check_actor(actor, &why);

	if (want_prefix == NULL) {
		cr_expect_eq(rc, 0, "line %d: refused: %s", line,
		    why != NULL ? why : "(no reason)");
		return;
	}
	cr_expect_eq(rc, -1, "line %d: accepted", line);
	if (rc != -1)
		return;
	cr_assert_not_null(why);
	cr_expect_eq(strncmp(why, want_prefix, strlen(want_prefix)), 0,
	    "line %d: %s", line, why);
	cr_expect(!has_digit_run(why), "line %d: the message shows digits",
	    line);
}

#define ACTOR_OK(a)		expect_actor(__LINE__, a, NULL)
#define ACTOR_REFUSED(a, why)	expect_actor(__LINE__, a, why)

Test(actor, what_is_accepted)
{
	char *s;

	ACTOR_OK(NULL);
	ACTOR_OK("");
	ACTOR_OK("jdevries");
	ACTOR_OK("j.de.vries@jz-utrecht.example");
	ACTOR_OK("medewerker 17");
	ACTOR_OK("Zoë van Dijk");
	ACTOR_OK("u-12345678");			/* 8 digits: no BSN */
	ACTOR_OK("u-" BAD);			/* fails the 11-test */
	ACTOR_OK("9c1185a5c5e9fc54612808977ee8f548b2258d31");	/* a hash */
	s = repeat('p', 64, "");
	ACTOR_OK(s);
	free(s);
}

Test(actor, what_is_refused)
{
	char *s;

	s = repeat('p', 65, "");
	ACTOR_REFUSED(s, "actor: must be at most 64 bytes");
	free(s);
	s = repeat('p', 63, "\xc3\xab");	/* 65 bytes, 64 characters */
	ACTOR_REFUSED(s, "actor: must be at most 64 bytes");
	free(s);
	ACTOR_REFUSED("a\tb", "actor: must not contain control characters");
	ACTOR_REFUSED("a\nb", "actor: must not contain control characters");
	ACTOR_REFUSED("a\x7f", "actor: must not contain control characters");
	ACTOR_REFUSED("a\xff", "actor: must be valid UTF-8");
	ACTOR_REFUSED("a\xe2\x80\xae", "actor: must not contain bidirectional");
	ACTOR_REFUSED(" jdevries", "actor: must not begin or end with white");
	ACTOR_REFUSED("jdevries ", "actor: must not begin or end with white");
	ACTOR_REFUSED("jdevries\xc2\xa0", "actor: must not begin or end");
	ACTOR_REFUSED(" ", "actor: must not begin or end with white space");
	ACTOR_REFUSED(OTHER, "actor: must not contain a BSN");
	ACTOR_REFUSED("u" OTHER, "actor: must not contain a BSN");
	ACTOR_REFUSED("9999.90.032", "actor: must not contain a BSN");
	ACTOR_REFUSED("999 990 032", "actor: must not contain a BSN");
}

Test(actor, every_synthetic_bsn_is_refused)
{
	char line[256];
	int n = 0, lineno = 0;
	FILE *fp = open_testdata("bsn-valid.txt");

	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		expect_actor(lineno, line, "actor: must not contain a BSN");
		n++;
	}
	fclose(fp);
	cr_assert_gt(n, 900);
}
