/*
 * The policy against the real daemon: vixd -t states it, each rule marked
 * the law's or changed; a lower max_age refuses an older youth and ends a
 * signal earlier; at_expiry = delete deletes what the law archives and
 * at_age_limit = archive archives what it deletes (with the clock moved
 * forward by libfaketime); the subject report states the policy in force
 * and the one each signal was registered under. Synthetic BSNs from
 * tests/data only, never printed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "harness.h"

static struct vixd_proc vixd;
static char bsns[4][16];

static void
setup(void)
{
	cr_assert_eq(harness_load_bsns(bsns, 4), 4, "tests/data BSNs");
}

TestSuite(policy, .init = setup, .timeout = 120);

static void
vixd_check(struct run_result *r, const char *conf)
{
	cr_assert_not_null(getenv("VIXD"), "VIXD must be set (run through "
	    "meson test)");
	harness_run(r, (const char *[]){ getenv("VIXD"), "-t", "-c", conf,
	    NULL });
}

/* A birth date: `years` before today (Dutch days), plus `days` later. */
static const char *
birth_date(int years, int days, char *buf, size_t len)
{
	int32_t today = harness_nl_day(time(NULL));

	return harness_date(harness_years_before(today, years) + days, buf,
	    len);
}

static void
register_youth(struct run_result *r, const char *org, const char *bsn,
    const char *birth, const char *days, const char *ref)
{
	harness_vix(r, &vixd, org, (const char *[]){ "register", "--bsn", bsn,
	    "--birth-date", birth, "--days", days, "--contact-name", "C",
	    "--contact-phone", "0501234567", "--ref", ref, NULL });
	harness_redact(r->out);
	harness_redact(r->err);
}

static void
subject_report(struct run_result *r, const char *bsn)
{
	char sock[PATH_MAX];

	cr_assert_not_null(getenv("VIXCTL"), "VIXCTL must be set (run "
	    "through meson test)");
	harness_run(r, (const char *[]){ getenv("VIXCTL"), "-s",
	    harness_dev_file(&vixd, "control.sock", sock, sizeof(sock)),
	    "subject-report", "--bsn", bsn, NULL });
	cr_assert_null(strstr(r->out, bsn), "no BSN in the report");
	harness_redact(r->out);
	harness_redact(r->err);
	cr_assert_eq(r->status, 0, "%s", r->err);
}

/* The line of text holding action ends in ": outcome". */
static void
audit_outcome(const char *text, const char *action, const char *outcome)
{
	const char *at = strstr(text, action), *nl;
	char want[64];

	cr_assert_not_null(at, "no %s in:\n%s", action, text);
	nl = at + strcspn(at, "\n");
	snprintf(want, sizeof(want), ": %s", outcome);
	cr_assert((size_t)(nl - at) >= strlen(want) &&
	    strncmp(nl - strlen(want), want, strlen(want)) == 0,
	    "%s not %s in:\n%s", action, outcome, text);
}

/* The 8 hex digits after "policy " in text (the first such line). */
static void
policy_id_after(const char *text, const char *lead, char id[9])
{
	const char *at = strstr(text, lead);

	cr_assert_not_null(at, "no '%s' in:\n%s", lead, text);
	at += strlen(lead);
	cr_assert_eq(strspn(at, "0123456789abcdef"), 8, "%s", at);
	memcpy(id, at, 8);
	id[8] = '\0';
}

/* Stop vixd and assert it exited 0 (under ASan: no leak, no error). */
static void
stop_clean(void)
{
	static char log[1 << 18];
	int rc = harness_stop_keep(&vixd);

	if (rc != 0) {
		harness_log(&vixd, log, sizeof(log));
		harness_redact(log);
	}
	cr_assert_eq(rc, 0, "vixd exited %d: %s", rc, rc != 0 ? log : "");
	harness_stop(&vixd);
}

Test(policy, check_mode_prints_the_policy_with_changes_marked)
{
	char conf[PATH_MAX], orgs[PATH_MAX], text[PATH_MAX + 128];
	struct run_result r;

	harness_start(&vixd, NULL);
	snprintf(orgs, sizeof(orgs), "%s/conf/orgs.conf.example",
	    getenv("VIX_SOURCE_ROOT"));
	snprintf(text, sizeof(text), "[server]\norgs_file = %s\n[rules]\n"
	    "max_signal_days = 365\nat_expiry = delete\n", orgs);
	snprintf(conf, sizeof(conf), "%s", harness_write_file(&vixd,
	    "covenant.conf", text));
	vixd_check(&r, conf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "configuration OK\npolicy "), "%s",
	    r.out);
	cr_assert_not_null(strstr(r.out, " in force (changed from the Youth "
	    "Act's values):\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "longest a signal runs "
	    "(max_signal_days): 365 days (changed from the law's 730 days)\n"),
	    "%s", r.out);
	cr_assert_not_null(strstr(r.out, "the index is for youths under "
	    "(max_age): 23 years (the law's value, Jeugdwet ch. 7.1)\n"), "%s",
	    r.out);
	cr_assert_not_null(strstr(r.out, "(at_expiry): deleted (changed from "
	    "the law's archived)\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "(at_age_limit): deleted (the law's "
	    "value, Jeugdwet ch. 7.1)\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "(archive_retention): 1826 days (the "
	    "law's value, Jeugdwet ch. 7.1)\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "(escalate_after): 14 days "
	    "(default)\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "who may register (orgs.conf, role "
	    "register): "), "%s", r.out);

	/* The law's own: said so in the heading. */
	snprintf(text, sizeof(text), "[server]\norgs_file = %s\n", orgs);
	snprintf(conf, sizeof(conf), "%s", harness_write_file(&vixd,
	    "law.conf", text));
	vixd_check(&r, conf);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, " in force (the Youth Act's values, "
	    "Jeugdwet ch. 7.1):\n"), "%s", r.out);
	cr_assert_null(strstr(r.out, "changed"), "%s", r.out);

	/* Out of bounds: refused, naming the key and the bounds. */
	snprintf(conf, sizeof(conf), "%s", harness_write_file(&vixd,
	    "bad.conf", "[rules]\nmax_age = 30\nat_age_limit = keep\n"));
	vixd_check(&r, conf);
	cr_assert_eq(r.status, 1, "%s", r.out);
	cr_assert_not_null(strstr(r.err, ":2: max_age: '30' is not a whole "
	    "number from 18 to 27"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, ":3: at_age_limit: 'keep' is not "
	    "what may become of a signal"), "%s", r.err);
	stop_clean();
}

Test(policy, a_lower_max_age_refuses_an_older_youth_and_ends_earlier)
{
	const char *conf;
	struct run_result r;
	char birth[16];

	harness_start(&vixd, NULL);
	conf = harness_write_file(&vixd, "age18.conf", "[rules]\nmax_age = 18\n");
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });

	/* 19: welcome under the law, not under this covenant. */
	register_youth(&r, "org-a", bsns[0], birth_date(19, 0, birth,
	    sizeof(birth)), "30", "ref-19");
	cr_assert_eq(r.status, 1, "accepted: %s", r.out);
	cr_assert_not_null(strstr(r.err, "birth_date: the youth is 18 or "
	    "older; the index is for youths under 18"), "%s", r.err);
	/* 18 today: refused too. */
	register_youth(&r, "org-a", bsns[0], birth_date(18, 0, birth,
	    sizeof(birth)), "30", "ref-18");
	cr_assert_eq(r.status, 1, "accepted: %s", r.out);

	/* 18 in 100 days: accepted, ending at the 18th birthday. */
	register_youth(&r, "org-a", bsns[1], birth_date(18, 100, birth,
	    sizeof(birth)), "730", "ref-17");
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "the age limit"), "bound by the age: "
	    "%s", r.out);
	stop_clean();
}

/*
 * Two youths under at_expiry = delete and at_age_limit = archive: the
 * signal whose day ran out is gone without an archive, the one at the
 * age limit is archived (reason age_limit); the reports say so and state
 * the policy.
 */
Test(policy, at_expiry_delete_and_at_age_limit_archive)
{
	static const char rules[] = "[rules]\nat_expiry = delete\n"
	    "at_age_limit = archive\n";
	char conf[PATH_MAX], text[256], birth[16], law_id[9], id[9];
	struct run_result r;

	harness_start(&vixd, NULL);
	snprintf(conf, sizeof(conf), "%s", harness_write_file(&vixd,
	    "covenant.conf", rules));
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	register_youth(&r, "org-a", bsns[0], "2015-03-01", "1", "ref-day");
	cr_assert_eq(r.status, 0, "%s", r.err);
	register_youth(&r, "org-a", bsns[1], birth_date(23, 1, birth,
	    sizeof(birth)), "730", "ref-23");
	cr_assert_eq(r.status, 0, "%s", r.err);
	subject_report(&r, bsns[0]);
	policy_id_after(r.out, "policy in force: ", id);
	snprintf(text, sizeof(text), "policy at registration: %s\n", id);
	cr_assert_not_null(strstr(r.out, text), "%s", r.out);

	snprintf(text, sizeof(text), "%s[store]\nsweep_interval = 1s\n",
	    rules);
	snprintf(conf, sizeof(conf), "%s", harness_write_file(&vixd,
	    "covenant-sweep.conf", text));
	harness_restart_faketime(&vixd, "+2d", (const char *[]){ "-c", conf,
	    NULL });
	for (int i = 0; i < 100; i++) {
		subject_report(&r, bsns[1]);
		if (strstr(r.out, "expire:age_23") != NULL)
			break;
		harness_sleep_ms(100);
	}
	cr_assert_not_null(strstr(r.out, "vixd expire:age_23"), "%s", r.out);
	audit_outcome(r.out, "vixd expire:age_23", "archived");
	cr_assert_not_null(strstr(r.out, "active signals: 0"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "archived signals: 1"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "(age_limit)"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "policy in force: "), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "(changed from the Youth Act's "
	    "values)"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "(at_expiry): deleted (changed from "
	    "the law's archived)\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "(at_age_limit): archived (changed "
	    "from the law's deleted)\n"), "%s", r.out);

	for (int i = 0; i < 100; i++) {
		subject_report(&r, bsns[0]);
		if (strstr(r.out, "expire:duration") != NULL)
			break;
		harness_sleep_ms(100);
	}
	cr_assert_not_null(strstr(r.out, "vixd expire:duration"), "%s", r.out);
	audit_outcome(r.out, "vixd expire:duration", "deleted");
	cr_assert_not_null(strstr(r.out, "active signals: 0"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "archived signals: 0"), "deleted, "
	    "not archived: %s", r.out);

	/* Back under the law: the archived signal names the covenant's. */
	harness_restart_faketime(&vixd, "+2d", NULL);
	subject_report(&r, bsns[1]);
	policy_id_after(r.out, "policy in force: ", law_id);
	cr_assert_str_neq(law_id, id);
	cr_assert_not_null(strstr(r.out, "(the Youth Act's values, Jeugdwet "
	    "ch. 7.1)"), "%s", r.out);
	snprintf(text, sizeof(text), "policy at registration: %s\n", id);
	cr_assert_not_null(strstr(r.out, text), "%s", r.out);
	snprintf(text, sizeof(text), "policy %s, under which a signal below "
	    "was registered: max_signal_days=730 max_age=23 at_expiry=delete "
	    "at_age_limit=archive ", id);
	cr_assert_not_null(strstr(r.out, text), "%s", r.out);
	stop_clean();
}

/*
 * A reload that changes at_expiry: the log names the change, signals
 * registered after it carry the new policy's id, and its values are in
 * the store for the reports made after a restart under another policy.
 */
Test(policy, a_reload_changes_the_policy_and_records_it)
{
	char conf[PATH_MAX], text[256], law_id[9], id[9];
	static char log[1 << 18];
	struct run_result r;

	harness_start(&vixd, NULL);
	snprintf(conf, sizeof(conf), "%s", harness_write_file(&vixd,
	    "reload.conf", "[rules]\nat_expiry = archive\n"));
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	register_youth(&r, "org-a", bsns[2], "2015-03-01", "30", "ref-before");
	cr_assert_eq(r.status, 0, "%s", r.err);
	subject_report(&r, bsns[2]);
	policy_id_after(r.out, "policy in force: ", law_id);
	cr_assert_not_null(strstr(r.out, "(the Youth Act's values, Jeugdwet "
	    "ch. 7.1)"), "%s", r.out);

	harness_edit_file(conf, "at_expiry = archive", "at_expiry = delete");
	harness_reload(&vixd);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, ": at_expiry = deleted (changed from "
	    "the law's archived)"), "%s", log);
	cr_assert_not_null(strstr(log, "[rules] at_expiry changed"), "%s",
	    log);
	register_youth(&r, "org-a", bsns[3], "2015-03-01", "30", "ref-after");
	cr_assert_eq(r.status, 0, "%s", r.err);
	subject_report(&r, bsns[3]);
	policy_id_after(r.out, "policy in force: ", id);
	cr_assert_str_neq(id, law_id);
	snprintf(text, sizeof(text), "policy at registration: %s\n", id);
	cr_assert_not_null(strstr(r.out, text), "%s", r.out);

	/* The signal of before keeps the id it was registered under. */
	subject_report(&r, bsns[2]);
	snprintf(text, sizeof(text), "policy at registration: %s\n", law_id);
	cr_assert_not_null(strstr(r.out, text), "%s", r.out);

	/* Under the law again: the reloaded policy's values were recorded. */
	harness_restart_with(&vixd, NULL);
	subject_report(&r, bsns[3]);
	snprintf(text, sizeof(text), "policy %s, under which a signal below "
	    "was registered: max_signal_days=730 max_age=23 at_expiry=delete "
	    "at_age_limit=delete ", id);
	cr_assert_not_null(strstr(r.out, text), "%s", r.out);
	stop_clean();
}
