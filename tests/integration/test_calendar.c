/*
 * The days of the law are Dutch days (timezone, default Europe/Amsterdam):
 * at 00:30 in the Netherlands a youth born 23 years before that day is
 * refused and a child born that day accepted, although the UTC day is still
 * the one before; a signal bound by the 23rd birthday ends at the start of
 * that day in the Netherlands, the same across both clock changes. The
 * expected days and instants come from the harness's own EU rule, not from
 * vixd's code. vixd's clock is moved with libfaketime.
 */
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "rules.h"

static struct vixd_proc vixd;

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(calendar, .fini = stop, .timeout = 120);

/* Synthetic test numbers, one per registration (never printed). */
static const char *const bsns[] = { "999990007", "999990019", "999990020",
    "999990032", "999990044", "999990056", "999990068", "999990081" };

/*
 * Register a youth born on birth as org-a; the reply's status code (0 OK),
 * with *expires and *bound of an accepted signal, *why of a refusal.
 */
static int
reg(size_t youth, int32_t birth, const char *ref, int64_t *expires,
    int *bound, char *why, size_t len)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register r = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact c = VIX__V1__CONTACT__INIT;
	Vix__V1__ServerMessage *m;
	Vix__V1__Response *resp;
	SSL *ssl = harness_connect_as(&vixd, "org-a");
	char date[16];
	int code;

	cr_assert_lt(youth, sizeof(bsns) / sizeof(bsns[0]));
	c.name = "C. Calendar";
	c.phone = "0501234567";
	r.bsn = (char *)bsns[youth];
	r.birth_date = (char *)harness_date(birth, date, sizeof(date));
	r.contact = &c;
	r.client_ref = (char *)ref;
	req.id = 7;
	req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req.register_ = &r;
	harness_send_request(ssl, &req);
	m = harness_next_response(ssl, ref);
	resp = m->response;
	code = resp->status ? (int)resp->status->code : 0;
	if (code == 0) {
		cr_assert_not_null(resp->register_, "%s: no RegisterReply", ref);
		*expires = resp->register_->expires;
		*bound = (int)resp->register_->expiry_bound;
	}
	snprintf(why, len, "%s", resp->status ? resp->status->message : "");
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(ssl);
	return code;
}

/* A youth born on birth is accepted, its signal ending at expires. */
static void
accepted(size_t youth, int32_t birth, const char *ref, int64_t expires,
    int bound)
{
	char why[512], want[32], got[32];
	int64_t e = 0;
	int b = 0;
	time_t t;
	struct tm tm;

	cr_assert_eq(reg(youth, birth, ref, &e, &b, why, sizeof(why)), 0,
	    "%s: refused: %s", ref, why);
	t = (time_t)expires;
	strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	t = (time_t)e;
	strftime(got, sizeof(got), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	if (expires != 0)
		cr_assert_eq(e, expires, "%s: expires %s, want %s", ref, got,
		    want);
	if (bound != 0)
		cr_assert_eq(b, bound, "%s: bound %d, want %d", ref, b, bound);
}

/* A youth born on birth is refused, the message naming birth_date. */
static void
refused(size_t youth, int32_t birth, const char *ref, const char *reason)
{
	char why[512];
	int64_t e;
	int b;

	cr_assert_eq(reg(youth, birth, ref, &e, &b, why, sizeof(why)),
	    VIX__V1__STATUS__CODE__INVALID_ARGUMENT, "%s: accepted", ref);
	cr_assert_not_null(strstr(why, "birth_date"), "%s: %s", ref, why);
	cr_assert_not_null(strstr(why, reason), "%s: %s", ref, why);
}

/*
 * The first Dutch day that begins at least five minutes from now, and not
 * on 29 February (nobody turns 23 on it: 23 years before was no leap year).
 */
static int32_t
next_dutch_day(void)
{
	int64_t now = time(NULL);
	int32_t day = harness_nl_day(now) + 1;
	int y;
	unsigned m, d;

	if (harness_nl_midnight(day) < now + 300)
		day++;
	rules_civil_from_days(day, &y, &m, &d);
	return m == 2 && d == 29 ? day + 1 : day;
}

/* vixd restarted with its clock at the Unix time at (and running on). */
static void
restart_at(int64_t at, const char *const *extra)
{
	char offset[32];

	snprintf(offset, sizeof(offset), "+%lld",
	    (long long)(at - time(NULL)));
	harness_restart_faketime(&vixd, offset, extra);
}

Test(calendar, at_half_past_midnight_the_day_is_already_dutch)
{
	int32_t day = next_dutch_day();
	int64_t at = harness_nl_midnight(day) + 1800;

	/* 00:30 in the Netherlands; in UTC still the day before. */
	cr_assert_eq((int32_t)(at / 86400), day - 1);
	harness_start(&vixd, NULL);
	restart_at(at, NULL);
	refused(0, harness_years_before(day, 23), "turns-23-today",
	    "23 or older");
	accepted(1, day, "born-today", 0, 0);
	refused(2, day + 1, "born-tomorrow", "future");
	accepted(3, harness_years_before(day + 1, 23), "turns-23-tomorrow",
	    harness_nl_midnight(day + 1), VIX__V1__EXPIRY_BOUND__AGE_23);
}

/* The day after the last Sunday of month m that is still to come. */
static int32_t
next_change(unsigned month)
{
	int32_t today = harness_nl_day(time(NULL)), d;
	int y;
	unsigned m, dd;

	rules_civil_from_days(today, &y, &m, &dd);
	for (int k = 0; k < 2; k++, y++) {
		d = rules_days_from_civil(y, month, 31);
		d -= (d + 4) % 7;
		if (d > today + 1)
			return d;
	}
	cr_assert_fail("no last Sunday of month %u ahead", month);
	return 0;
}

Test(calendar, the_23rd_birthday_ends_a_signal_at_the_dutch_start_of_day)
{
	unsigned months[] = { 3, 10 };
	char ref[32];
	size_t youth = 0;

	harness_start(&vixd, NULL);
	for (size_t i = 0; i < 2; i++) {
		int32_t change = next_change(months[i]);

		/* The day before, of, and after the clocks change. */
		for (int32_t d = change - 1; d <= change + 1; d++) {
			snprintf(ref, sizeof(ref), "dst-%u-%d", months[i],
			    (int)(d - change));
			accepted(youth++, harness_years_before(d, 23), ref,
			    harness_nl_midnight(d),
			    VIX__V1__EXPIRY_BOUND__AGE_23);
		}
		/* That Sunday is 23 hours long in March, 25 in October. */
		cr_assert_eq(harness_nl_midnight(change + 1) -
		    harness_nl_midnight(change), months[i] == 3 ? 82800 : 90000);
	}
}

/* The sweep deletes a signal at 00:00 Dutch time of the 23rd birthday. */
Test(calendar, the_sweep_ends_a_signal_at_the_dutch_midnight)
{
	int32_t day = next_dutch_day();
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__ServerMessage *m;
	const char *conf;
	int end;
	SSL *a;

	harness_start(&vixd, NULL);
	accepted(0, harness_years_before(day, 23), "ends-at-midnight",
	    harness_nl_midnight(day), VIX__V1__EXPIRY_BOUND__AGE_23);
	conf = harness_write_file(&vixd, "sweep.conf",
	    "[store]\nsweep_interval = 1s\n");
	/* 00:30 Dutch time: in UTC the birthday has not begun. */
	restart_at(harness_nl_midnight(day) + 1800,
	    (const char *[]){ "-c", conf, NULL });
	a = harness_connect_as(&vixd, "org-a");
	req.id = 1;
	req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	harness_send_request(a, &req);
	for (;;) {
		m = harness_recv(a, &end);
		cr_assert_not_null(m, "no SIGNAL_EXPIRED at 00:30 Dutch time "
		    "on the 23rd birthday (connection %s)", end == 0 ?
		    "closed" : "timed out");
		if (m->msg_case == VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION &&
		    m->notification->type ==
		    VIX__V1__NOTIFICATION__TYPE__SIGNAL_EXPIRED)
			break;
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	cr_assert_str_eq(m->notification->client_ref, "ends-at-midnight");
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(a);
}

/* vixd does not fall back to UTC: an unknown zone stops it, named. */
Test(calendar, a_zone_not_in_the_tz_database_is_refused)
{
	static struct run_result r;
	char conf[256], want[512], empty[] =
	    "/tmp/vix-tzdir-XXXXXX";
	FILE *fp;

	cr_assert_not_null(mkdtemp(empty));
	snprintf(conf, sizeof(conf), "%s/vixd.conf", empty);
	cr_assert_not_null(fp = fopen(conf, "w"));
	fputs("[rules]\ntimezone = Europe/Atlantis\n", fp);
	fclose(fp);
	harness_run(&r, (const char *[]){ getenv("VIXD"), "-t", "-c", conf,
	    NULL });
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	snprintf(want, sizeof(want), "%s:2: timezone: no time zone "
	    "'Europe/Atlantis' in /usr/share/zoneinfo", conf);
	cr_assert_not_null(strstr(r.err, want), "%s", r.err);

	/* The default too, where the tz database lacks it. */
	unlink(conf);
	setenv("TZDIR", empty, 1);
	harness_run(&r, (const char *[]){ getenv("VIXD"), "-t", NULL });
	unsetenv("TZDIR");
	snprintf(want, sizeof(want), "[rules] timezone: no time zone "
	    "'Europe/Amsterdam' in %s (No such file or directory); install "
	    "the tzdata package", empty);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, want), "%s", r.err);
	rmdir(empty);
}
