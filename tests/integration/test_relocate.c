/*
 * Relocation against the real daemon: a youth with a match moves from
 * municipality 0363 (escalation organisation `partner`) to 0599 (a second
 * one, `gemeente-b`). Its signals take the new municipality, the new
 * place's escalation organisation is told with every party and contact,
 * the old one that the match left (without contacts), escalation follows
 * the youth, and who may ask is checked as the rules say: an organisation
 * with a signal on the youth, or one with the role admin (which learns
 * nothing back), and vixctl.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define WAIT_MS		20000

static struct vixd_proc vixd;
static char bsns[3][16];

static void
load(void)
{
	cr_assert_eq(harness_load_bsns(bsns, 3), 3);
}

TestSuite(relocate, .init = load, .timeout = 180);

static void
vix_as(struct run_result *r, const char *org, const char *const *args)
{
	harness_vix(r, &vixd, org, args);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_null(strstr(r->out, bsns[i]), "a BSN in vix's output");
		cr_assert_null(strstr(r->err, bsns[i]), "a BSN in vix's errors");
	}
}

static void
register_youth(const char *org, const char *bsn, const char *muni)
{
	struct run_result r;
	const char *args[] = { "register", "--bsn", bsn, "--birth-date",
	    "2015-03-01", "--contact-name", org, "--contact-phone",
	    "0501234567", muni ? "--municipality" : NULL, muni, NULL };

	vix_as(&r, org, args);
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
}

static void
vixctl(struct run_result *r, const char *const *args)
{
	harness_vixctl(r, &vixd, args);
}

/* vix subscribe --json as org, in the background, into out. */
static pid_t
subscribe_bg(const char *org, const char *out)
{
	const char *argv[] = { getenv("VIX"), "--dev-dir", vixd.dev_dir,
	    "--dev", org, "--server", vixd.addr, "--json", "subscribe", NULL };

	return harness_spawn_bg(argv, out);
}


/*
 * vixd --dev with a second escalation organisation, gemeente-b, for
 * municipality 0599 (its certificate in the dev material), sweeping
 * every second.
 */
static const char *
start(void)
{
	static char conf[PATH_MAX];
	char orgs[PATH_MAX];
	FILE *fp;

	harness_start(&vixd, NULL);
	harness_make_client_cert(&vixd, "gemeente-b", "00000009990000000099");
	cr_assert_not_null(fp = fopen(harness_dev_file(&vixd, "orgs.conf",
	    orgs, sizeof(orgs)), "a"));
	fprintf(fp, "\n[org gemeente-b]\noin = 00000009990000000099\n"
	    "name = Gemeente B (regie)\nroles = subscribe\n\n"
	    "[municipality 0599]\nescalation = gemeente-b\n");
	fclose(fp);
	snprintf(conf, sizeof(conf), "%s", harness_write_file(&vixd,
	    "relocate.conf", "[store]\nsweep_interval = 1s\n"));
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	return conf;
}

Test(relocate, the_match_follows_the_youth_to_its_new_municipality)
{
	char out_b[PATH_MAX], out_p[PATH_MAX], text[65536];
	struct run_result r;
	const char *conf;
	pid_t sb, sp;

	conf = start();
	register_youth("org-a", bsns[0], "0363");
	register_youth("org-b", bsns[0], NULL);	/* match 1 */

	snprintf(out_b, sizeof(out_b), "%s/gemeente-b.out", vixd.dir);
	snprintf(out_p, sizeof(out_p), "%s/partner.out", vixd.dir);
	sb = subscribe_bg("gemeente-b", out_b);
	sp = subscribe_bg("partner", out_p);

	/* Not involved with this youth: org-b has no signal on bsns[1]. */
	register_youth("org-a", bsns[1], "0363");
	vix_as(&r, "org-b", (const char *[]){ "relocate", "--bsn", bsns[1],
	    "--municipality", "0599", NULL });
	cr_assert_eq(r.status, 1, "refused: %s", r.err);
	cr_assert_not_null(strstr(r.err, "only while you have an active "
	    "signal"), "%s", r.err);
	/* Only register or admin may ask at all. */
	vix_as(&r, "partner", (const char *[]){ "relocate", "--bsn", bsns[0],
	    "--municipality", "0599", NULL });
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "needs the role register"), "%s",
	    r.err);
	/* A bad code is refused by the client, naming the option. */
	vix_as(&r, "org-a", (const char *[]){ "relocate", "--bsn", bsns[0],
	    "--municipality", "59", NULL });
	cr_assert_eq(r.status, 2, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "--municipality"), "%s", r.err);

	/* org-a records the move. */
	vix_as(&r, "org-a", (const char *[]){ "--json", "relocate", "--bsn",
	    bsns[0], "--municipality", "0599", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out,
	    "{\"moved\":true,\"signals\":2,\"match_id\":1}\n");
	/* The new place hears of the match with everyone's contact. */
	cr_assert(harness_wait_for_text(out_b, "\"type\":\"RELOCATED\"",
	    WAIT_MS), "gemeente-b was not told");
	harness_read_text(out_b, text, sizeof(text));
	cr_assert_not_null(strstr(text, "\"match_id\":1"), "%s", text);
	cr_assert_not_null(strstr(text, "\"org_id\":\"org-a\""), "%s", text);
	cr_assert_not_null(strstr(text, "\"org_id\":\"org-b\""), "%s", text);
	cr_assert_not_null(strstr(text, "\"phone\":\"0501234567\""), "%s",
	    text);
	cr_assert_not_null(strstr(text, "\"municipality\":\"0599\""), "%s",
	    text);
	/* The old place hears that it left, without contacts. */
	cr_assert(harness_wait_for_text(out_p, "RELOCATED_AWAY", WAIT_MS),
	    "partner (0363) was not told");
	harness_read_text(out_p, text, sizeof(text));
	cr_assert_not_null(strstr(text, "\"others\":[]"), "%s", text);
	cr_assert_null(strstr(text, "0501234567"), "no contacts to the old "
	    "place: %s", text);

	/* Again: nothing changes, nobody is told twice. */
	vix_as(&r, "org-b", (const char *[]){ "relocate", "--bsn", bsns[0],
	    "--municipality", "0599", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "already"), "%s", r.out);

	/* The role admin (a population register feed): told nothing back. */
	vix_as(&r, "admin", (const char *[]){ "--json", "relocate", "--bsn",
	    bsns[2], "--municipality", "0363", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out,
	    "{\"moved\":false,\"signals\":0,\"match_id\":0}\n",
	    "a youth nobody has: the same empty answer");
	/* vixctl, as the administrator. */
	vixctl(&r, (const char *[]){ "relocate", "--bsn", bsns[1],
	    "--municipality", "0599", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "relocated to municipality 0599"),
	    "%s", r.out);
	vixctl(&r, (const char *[]){ "relocate", "--bsn", bsns[2],
	    "--municipality", "0599", NULL });
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "no active signal"), "%s", r.err);

	/* Audited, in the subject report. */
	vixctl(&r, (const char *[]){ "--json", "subject-report", "--bsn",
	    bsns[0], NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(harness_count(r.out, "\"relocate\""), 2, "%s",
	    harness_redact(r.out));
	for (size_t i = 0; i < 3; i++)
		cr_assert_null(strstr(r.out, bsns[i]));

	/* Not coordinated in time: escalated to the new place. */
	harness_stop_bg(sb);
	harness_stop_bg(sp);
	harness_restart_faketime(&vixd, "+15d", (const char *[]){ "-c", conf,
	    NULL });
	sb = subscribe_bg("gemeente-b", out_b);
	cr_assert(harness_wait_for_text(out_b, "\"type\":\"ESCALATION\"",
	    WAIT_MS), "the escalation did not go to the new municipality");
	harness_stop_bg(sb);
	harness_read_text(out_b, text, sizeof(text));
	cr_assert_not_null(strstr(text, "\"municipality\":\"0599\""), "%s",
	    text);
	cr_assert_eq(harness_dir_contains(vixd.dir, bsns[0], NULL, 0), 0,
	    "no BSN in vixd's folder or what was printed");
	cr_assert_eq(harness_stop(&vixd), 0);
}

/* The months of a report around now (40 days either side), as --from, --to. */
static char report_from[8], report_to[8];

static void
report_range(void)
{
	time_t now = time(NULL), t0 = now - 40 * 86400, t1 = now + 40 * 86400;
	struct tm tm;

	localtime_r(&t0, &tm);
	strftime(report_from, sizeof(report_from), "%Y-%m", &tm);
	localtime_r(&t1, &tm);
	strftime(report_to, sizeof(report_to), "%Y-%m", &tm);
}

/* vixctl [--json] report [--csv] of muni over that range, which must work. */
static void
report(struct run_result *r, int json, int csv, const char *muni)
{
	const char *args[12];
	size_t n = 0;

	report_range();
	if (json)
		args[n++] = "--json";
	args[n++] = "report";
	if (csv)
		args[n++] = "--csv";
	args[n++] = "--municipality";
	args[n++] = muni;
	args[n++] = "--from";
	args[n++] = report_from;
	args[n++] = "--to";
	args[n++] = report_to;
	args[n] = NULL;
	vixctl(r, args);
	cr_assert_eq(r->status, 0, "%s", r->err);
}

/* /v1/report of 0363 over the range, with more (e.g. "&format=csv"): want. */
static void
http_report_is(const char *more, const char *want)
{
	static char http[65536];
	char path[160], *body;

	snprintf(path, sizeof(path), "/v1/report?municipality=0363&from=%s"
	    "&to=%s%s", report_from, report_to, more);
	cr_assert_eq(harness_http_get(&vixd, path, http, sizeof(http)), 200);
	cr_assert_not_null(body = strstr(http, "\r\n\r\n"));
	cr_assert_str_eq(body + 4, want);
}

/*
 * Regional figures from the real daemon: counted in the writer's
 * transactions per municipality and month, small counts hidden.
 */
Test(relocate, regional_figures_hide_small_counts)
{
	char bsn[16][16], m[16];
	struct run_result r;

	cr_assert_eq(harness_load_bsns(bsn, 12), 12);
	start();
	for (int i = 0; i < 10; i++) {
		register_youth("org-a", bsn[i], "0363");
		register_youth("org-b", bsn[i], NULL);	/* match i + 1 */
	}
	for (int i = 1; i <= 5; i++) {
		snprintf(m, sizeof(m), "%d", i);
		vix_as(&r, "org-a", (const char *[]){ "coordinate", "--match",
		    m, "--done", NULL });
		cr_assert_eq(r.status, 0, "%s", r.err);
	}
	for (int i = 8; i < 10; i++) {
		vix_as(&r, "org-b", (const char *[]){ "withdraw", "--bsn",
		    bsn[i], "--reason", "unjustified", NULL });
		cr_assert_eq(r.status, 0, "%s", r.err);
	}
	register_youth("org-b", bsn[11], "0599");

	report(&r, 1, 0, "0363");
	cr_assert_not_null(strstr(r.out, "\"registered\":20,"
	    "\"withdrawn_unjustified\":\"< 5\",\"withdrawn_risk_resolved\":0,"
	    "\"matches\":10,\"escalations\":0,\"family_matches\":0,"
	    "\"coordinated\":5,"
	    "\"coordinated_within_14_days\":0.500,"
	    "\"coordinated_within_30_days\":0.500,"
	    "\"median_days_to_coordination\":0,\"by_type\":{}}"), "%s", r.out);
	report(&r, 0, 1, "0599");
	cr_assert_eq(strncmp(r.out, "month,type,registered,"
	    "withdrawn_unjustified,", 44), 0, "%s", r.out);
	cr_assert_not_null(strstr(r.out, ",\"< 5\",0,0,0,0,,,,0,0\n"), "one "
	    "registration in 0599, hidden: %s", r.out);
	/* Bad ranges are refused, naming the option. */
	vixctl(&r, (const char *[]){ "report", "--municipality", "0363",
	    "--from", "2026-13", "--to", report_to, NULL });
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "--from must be"), "%s", r.err);
	vixctl(&r, (const char *[]){ "report", "--municipality", "0363",
	    "--from", "2010-01", "--to", "2026-01", NULL });
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "at most 120 months"), "%s", r.err);
	cr_assert_eq(harness_stop(&vixd), 0);
}

/*
 * The figures per organisation type: org-a "jeugdzorg", org-b "wijkteam"
 * (given on a reload), org-c none. Registrations and withdrawals count
 * under the registrant's type too, with the same threshold, and a type's
 * count that the regional one minus the others would give away is null.
 */
Test(relocate, figures_per_organisation_type)
{
	char bsn[12][16], orgs[PATH_MAX], conf[PATH_MAX + 32];
	struct run_result r;
	FILE *fp;

	cr_assert_eq(harness_load_bsns(bsn, 12), 12);
	harness_start(&vixd, NULL);
	harness_make_client_cert(&vixd, "org-c", "00000009990000000077");
	harness_dev_file(&vixd, "orgs.conf", orgs, sizeof(orgs));
	harness_edit_file(orgs, "municipality = 0363\n",
	    "municipality = 0363\ntype = jeugdzorg\n");
	harness_edit_file(orgs, "municipality = 0599\n",
	    "municipality = 0599\ntype = wijkteam\n");
	cr_assert_not_null(fp = fopen(orgs, "a"));
	fprintf(fp, "\n[org org-c]\noin = 00000009990000000077\n"
	    "name = Organisation C\nroles = register\n");
	fclose(fp);
	harness_reload(&vixd);
	vixctl(&r, (const char *[]){ "orgs", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, " of type wijkteam\n"), "%s", r.out);
	vixctl(&r, (const char *[]){ "--json", "orgs", NULL });
	cr_assert_not_null(strstr(r.out, "\"type\":\"jeugdzorg\""), "%s", r.out);

	/* 13 registered: jeugdzorg 6, wijkteam 3, without a type 4. */
	for (int i = 0; i < 6; i++)
		register_youth("org-a", bsn[i], "0363");
	for (int i = 0; i < 3; i++)
		register_youth("org-b", bsn[i], NULL);
	for (int i = 6; i < 10; i++)
		register_youth("org-c", bsn[i], "0363");
	/*
	 * Unjustified: wijkteam 1, jeugdzorg 5 (6 shows, so 6 - 5 would). The
	 * youth has org-a's signal in 0363 still when org-b withdraws.
	 */
	for (int i = -1; i < 5; i++) {
		vix_as(&r, i < 0 ? "org-b" : "org-a", (const char *[]){
		    "withdraw", "--bsn", bsn[i < 0 ? 0 : i], "--reason",
		    "unjustified", NULL });
		cr_assert_eq(r.status, 0, "%s", r.err);
	}
	/* Risk resolved: 2 without a type, hidden regionally. */
	for (int i = 6; i < 8; i++) {
		vix_as(&r, "org-c", (const char *[]){ "withdraw", "--bsn",
		    bsn[i], "--reason", "risk-resolved", NULL });
		cr_assert_eq(r.status, 0, "%s", r.err);
	}

	report(&r, 1, 0, "0363");
	cr_assert_not_null(strstr(r.out, "\"registered\":13,"
	    "\"withdrawn_unjustified\":6,\"withdrawn_risk_resolved\":\"< 5\","),
	    "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\"by_type\":{"
	    "\"jeugdzorg\":{\"registered\":6,\"withdrawn_unjustified\":null,"
	    "\"withdrawn_risk_resolved\":0},"
	    "\"wijkteam\":{\"registered\":\"< 5\",\"withdrawn_unjustified\":null,"
	    "\"withdrawn_risk_resolved\":0}}}"), "%s", r.out);
	/* The months around it show both types too, with zeros. */
	cr_assert_eq(harness_count(r.out, "\"by_type\":{\"jeugdzorg\":"),
	    harness_count(r.out, "\"month\":"), "%s", r.out);
	cr_assert_null(strstr(r.out, "org-c"), "%s", r.out);

	http_report_is("", r.out);	/* from the same code */
	report(&r, 0, 1, "0363");
	cr_assert_not_null(strstr(r.out, ",\"all\",13,6,\"< 5\","), "%s", r.out);
	cr_assert_not_null(strstr(r.out, ",\"jeugdzorg\",6,,0,,,,,,,\n"), "%s",
	    r.out);
	cr_assert_not_null(strstr(r.out, ",\"wijkteam\",\"< 5\",,0,,,,,,,\n"),
	    "%s", r.out);
	http_report_is("&format=csv", r.out);
	report(&r, 0, 0, "0363");
	cr_assert_not_null(strstr(r.out, "\tjeugdzorg\t6\t-\t0\t-\t"), "%s",
	    r.out);

	/* vixd -t refuses a bad type, naming the organisation and the key. */
	harness_edit_file(orgs, "name = Organisation C\n",
	    "name = Organisation C\ntype = Wijk Team\n");
	snprintf(conf, sizeof(conf), "[server]\norgs_file = %s\n", orgs);
	harness_run(&r, (const char *[]){ getenv("VIXD"), "-t", "-c",
	    harness_write_file(&vixd, "check.conf", conf), NULL });
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, "[org org-c] type: must be 1-24 of "
	    "a-z 0-9 - starting with a letter"), "%s", r.err);
	cr_assert_eq(harness_stop(&vixd), 0);
}
