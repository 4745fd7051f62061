/*
 * Time-driven rules with the real clock moved forward (libfaketime): a
 * signal past its chosen duration is archived, one that reaches the 23rd
 * birthday is deleted; the owner gets SIGNAL_EXPIRED, the others
 * MATCH_CLOSED. Nothing is waited for: vixd restarts two days later. Reloads
 * more frequent than sweep_interval do not hold the sweeps back.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "rules.h"
#include "store.h"


static struct vixd_proc vixd;

TestSuite(sweep, .timeout = 120);

static SSL *
subscribe_as(const char *name)
{
	char cert[PATH_MAX], key[PATH_MAX], file[64], why[256];
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__ServerMessage *m;
	SSL *ssl;
	int end;

	snprintf(file, sizeof(file), "%s.pem", name);
	harness_dev_file(&vixd, file, cert, sizeof(cert));
	snprintf(file, sizeof(file), "%s.key", name);
	harness_dev_file(&vixd, file, key, sizeof(key));
	cr_assert_not_null(ssl = harness_tls_connect(&vixd, cert, key, why,
	    sizeof(why)), "%s", why);
	req.id = 1;
	req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	harness_send_request(ssl, &req);
	cr_assert_not_null(m = harness_recv(ssl, &end));
	vix__v1__server_message__free_unpacked(m, NULL);
	return ssl;
}

/* Read until a notification of type comes; returns it. */
static Vix__V1__Notification *
wait_for(SSL *ssl, Vix__V1__Notification__Type type,
    Vix__V1__ServerMessage **m)
{
	int end;

	for (;;) {
		*m = harness_recv(ssl, &end);
		cr_assert_not_null(*m, "no notification of type %d came", type);
		if ((*m)->msg_case == VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION &&
		    (*m)->notification->type == type)
			return (*m)->notification;
		vix__v1__server_message__free_unpacked(*m, NULL);
	}
}

static void
register_youth(const char *org, const char *bsn, const char *birth,
    const char *days, const char *ref)
{
	struct run_result r;

	harness_vix(&r, &vixd, org, (const char *[]){ "register", "--bsn", bsn,
	    "--birth-date", birth, "--days", days, "--contact-name", "C",
	    "--contact-phone", "0501234567", "--ref", ref, NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
}

/* vixd.dir/sweep.conf with this sweep_interval; returns its path. */
static const char *
write_sweep_conf(const char *interval)
{
	static char conf[PATH_MAX];
	FILE *fp;

	snprintf(conf, sizeof(conf), "%s/sweep.conf", vixd.dir);
	cr_assert_not_null(fp = fopen(conf, "w"));
	fprintf(fp, "[store]\nsweep_interval = %s\n", interval);
	fclose(fp);
	return conf;
}

/* vixd again, with its clock two days ahead and this sweep_interval. */
static void
restart_two_days_later(const char *interval)
{
	const char *conf = write_sweep_conf(interval);

	harness_restart_faketime(&vixd, "+2d",
	    (const char *[]){ "-c", conf, NULL });
}

/* vixctl subject-report --bsn bsn, its output in r. */
static void
subject_report(struct run_result *r, const char *bsn)
{
	char sock[PATH_MAX];

	cr_assert_not_null(getenv("VIXCTL"), "VIXCTL must be set (run "
	    "through meson test)");
	harness_run(r, (const char *[]){ getenv("VIXCTL"), "-s",
	    harness_dev_file(&vixd, "control.sock", sock, sizeof(sock)),
	    "subject-report", "--bsn", bsn, NULL });
	cr_assert_eq(r->status, 0, "%s", harness_redact(r->err));
	cr_assert_null(strstr(r->out, bsn), "no BSN in the report");
}

static void
birth_date_turning_23_tomorrow(char *buf, size_t len)
{
	/* Days as vixd counts them: in the Netherlands. */
	int32_t today = harness_nl_day(time(NULL)), d;
	int y;
	unsigned m, day;

	rules_civil_from_days(today + 1, &y, &m, &day);
	d = rules_days_from_civil(y - 23, m, day);
	rules_civil_from_days(d, &y, &m, &day);
	snprintf(buf, len, "%04d-%02u-%02u", y, m, day);
}

Test(sweep, expiry_archives_by_duration_and_deletes_at_23)
{
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n;
	struct store_options so = { .map_size = 1UL << 30,
	    .quota_percent = 90, .escalate_after = 86400 };
	struct store_reader *rd;
	struct run_result r;
	struct store *s;
	size_t signals, matches, archived;
	char birth[16], dir[PATH_MAX];
	struct diag d;
	SSL *a, *b;

	harness_start(&vixd, NULL);
	/* One youth with a one-day signal by both; one turning 23 tomorrow. */
	register_youth("org-a", "999990019", "2015-03-01", "1", "ref-a");
	register_youth("org-b", "999990019", "2015-03-01", "1", "ref-b");
	birth_date_turning_23_tomorrow(birth, sizeof(birth));
	register_youth("org-a", "999990032", birth, "730", "ref-23");

	restart_two_days_later("1s");
	a = subscribe_as("org-a");
	b = subscribe_as("org-b");
	n = wait_for(a, VIX__V1__NOTIFICATION__TYPE__SIGNAL_EXPIRED, &m);
	cr_assert(strcmp(n->client_ref, "ref-a") == 0 ||
	    strcmp(n->client_ref, "ref-23") == 0, "its own reference");
	vix__v1__server_message__free_unpacked(m, NULL);
	n = wait_for(b, VIX__V1__NOTIFICATION__TYPE__SIGNAL_EXPIRED, &m);
	cr_assert_str_eq(n->client_ref, "ref-b");
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(a);
	harness_tls_close(b);

	/*
	 * The signal deleted at the 23rd birthday is gone, but what the
	 * index did concerning the youth is still in its report.
	 */
	for (int i = 0; i < 100; i++) {
		subject_report(&r, "999990032");
		if (strstr(r.out, "expire:age_23") != NULL)
			break;
		harness_sleep_ms(100);
	}
	cr_assert_not_null(strstr(r.out, "active signals: 0"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "archived signals: 0"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "audit events: 2"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "register signal"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "vixd expire:age_23"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, ": deleted\n"), "the law's: %s",
	    r.out);

	cr_assert_eq(harness_stop_keep(&vixd), 0);
	snprintf(dir, sizeof(dir), "%s/data", vixd.dev_dir);
	so.dir = dir;
	diag_init(&d);
	cr_assert_not_null(s = store_open(&so, &d), "%s", d.text);
	rd = store_reader_new(s);
	cr_assert_eq(store_counts(rd, &signals, &matches, &archived), 0);
	cr_assert_eq(signals, 0, "every signal expired");
	cr_assert_eq(matches, 0);
	cr_assert_eq(archived, 2, "the two duration-bound signals archived, "
	    "the one at 23 deleted");
	store_reader_free(rd);
	store_close(s);
	harness_stop(&vixd);
}


static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A reload must not restart the sweep timer (re-arming an EV_PERSIST
 * timer does): SIGHUPs more often than sweep_interval would otherwise
 * stop expiry, escalation and purging altogether.
 */
Test(sweep, sweeps_keep_running_under_frequent_reloads)
{
	static char log[1 << 20];
	const struct timespec pause = { 0, 300 * 1000000L };
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n;
	long long expired = 0;
	int64_t until;
	int hups = 0;
	SSL *a;

	harness_start(&vixd, NULL);
	register_youth("org-a", "999990044", "2015-03-01", "1", "ref-hup");
	/*
	 * No sweep before the reloads begin: an hour's interval, then 1 s
	 * from the first reload on, and a reload every 300 ms.
	 */
	restart_two_days_later("1h");
	write_sweep_conf("1s");
	until = mono_ms() + 10000;
	while (expired < 1 && mono_ms() < until) {
		cr_assert_eq(kill(vixd.pid, SIGHUP), 0);
		hups++;
		nanosleep(&pause, NULL);
		expired = harness_metric(&vixd, "vix_signals_expired_total");
	}
	harness_log(&vixd, log, sizeof(log));
	cr_assert_null(strstr(log, "reload failed"), "%s",
	    harness_redact(log));
	cr_assert_geq(harness_count(log, "TLS material re-read"), 2,
	    "the reloads did not happen:\n%s", harness_redact(log));
	cr_assert_eq(expired, 1, "no sweep in 10 s of %d reloads 300 ms "
	    "apart (sweep_interval 1 s)", hups);

	/* The sweep did its work: the owner was told. */
	a = subscribe_as("org-a");
	n = wait_for(a, VIX__V1__NOTIFICATION__TYPE__SIGNAL_EXPIRED, &m);
	cr_assert_str_eq(n->client_ref, "ref-hup");
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(a);
	harness_stop(&vixd);
}

/*
 * Two matches reach their escalation time; one of them was marked
 * coordinated. One escalation is made, and the log and
 * vix_escalations_total say one, not the two due entries the sweep read.
 */
Test(sweep, escalations_count_what_was_escalated)
{
	static char log[1 << 20];
	struct run_result r;
	long long escalated = 0, sweeps;
	int64_t until;

	harness_start(&vixd, NULL);
	register_youth("org-a", "999990019", "2015-03-01", "730", "x-a");
	register_youth("org-b", "999990019", "2015-03-01", "730", "x-b");
	register_youth("org-a", "999990032", "2015-03-01", "730", "y-a");
	register_youth("org-b", "999990032", "2015-03-01", "730", "y-b");
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "coordinate",
	    "--match", "2", "--done", NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));

	/* Past escalate_after (14 days by default). */
	harness_restart_faketime(&vixd, "+15d", (const char *[]){ "-c",
	    write_sweep_conf("1s"), NULL });
	until = mono_ms() + 10000;
	while (escalated < 1 && mono_ms() < until) {
		harness_sleep_ms(100);
		escalated = harness_metric(&vixd, "vix_escalations_total");
	}
	cr_assert_eq(escalated, 1, "%lld escalations counted within 10 s, "
	    "one made", escalated);
	/* Two more passes: nothing else is due, nothing else counted. */
	sweeps = harness_metric(&vixd, "vix_sweeps_total");
	until = mono_ms() + 10000;
	while (harness_metric(&vixd, "vix_sweeps_total") < sweeps + 2 &&
	    mono_ms() < until)
		harness_sleep_ms(100);
	cr_assert_eq(harness_metric(&vixd, "vix_escalations_total"), 1,
	    "match 2 was marked coordinated and is not escalated");
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, ", 1 escalations,"), "%s",
	    harness_redact(log));
	cr_assert_null(strstr(log, ", 2 escalations,"), "%s",
	    harness_redact(log));
	harness_stop(&vixd);
}
