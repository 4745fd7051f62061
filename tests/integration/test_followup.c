/*
 * Following a match up until it is coordinated, against a real vixd whose
 * clock libfaketime moves forward: the coordinator is reminded at each
 * point of remind_after (and nobody else), the escalation comes as before
 * and is repeated after reescalate_after at most reescalate_max times; a
 * match marked coordinated tells every party and is left alone; the
 * worklist (vix matches) shows each organisation its own matches only.
 *
 * The youths are synthetic test numbers; no output is shown unredacted.
 */
#include <sys/wait.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "harness.h"

#define YOUTH_X		"999990019"	/* org-a and org-b; left alone */
#define YOUTH_Y		"999990032"	/* org-a and org-b; coordinated */
#define YOUTH_Z		"999990044"	/* org-a only */
#define MATCH_X		1
#define MATCH_Y		2

#define T_REMINDER	VIX__V1__NOTIFICATION__TYPE__REMINDER
#define T_ESCALATION	VIX__V1__NOTIFICATION__TYPE__ESCALATION
#define T_ASSIGNED	VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED

#define ROWS_MAX	64

static struct vixd_proc vixd;
static char conf[PATH_MAX];

TestSuite(followup, .timeout = 180);

/* What an organisation's outbox holds, from its first row. */
struct outbox {
	size_t		n;
	struct {
		int		type;
		uint64_t	match_id;
		uint32_t	reminder;
		uint32_t	round;
		int64_t		escalates_at;
		int		coordinated;
		char		coordinator[33];
	} row[ROWS_MAX];
};

static SSL *
connect_as(const char *name)
{
	char cert[PATH_MAX], key[PATH_MAX], file[64], why[256];
	SSL *ssl;

	snprintf(file, sizeof(file), "%s.pem", name);
	harness_dev_file(&vixd, file, cert, sizeof(cert));
	snprintf(file, sizeof(file), "%s.key", name);
	harness_dev_file(&vixd, file, key, sizeof(key));
	cr_assert_not_null(ssl = harness_tls_connect(&vixd, cert, key, why,
	    sizeof(why)), "%s", why);
	return ssl;
}

/*
 * Every row of name's own outbox (nothing is acknowledged here, so a
 * subscription starts at the first): as many as the subscription's
 * position says there are.
 */
static void
read_outbox(const char *name, struct outbox *o)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__ServerMessage *m;
	uint64_t want;
	SSL *ssl = connect_as(name);
	char *self = (char *)name;
	int end;

	memset(o, 0, sizeof(*o));
	sub.n_recipients = 1;
	sub.recipients = &self;
	req.id = 1;
	req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	harness_send_request(ssl, &req);
	m = harness_next_response(ssl, "subscribe");
	cr_assert_not_null(m->response->subscribe);
	cr_assert_eq(m->response->subscribe->n_positions, 1);
	want = m->response->subscribe->positions[0]->last -
	    m->response->subscribe->positions[0]->acked;
	vix__v1__server_message__free_unpacked(m, NULL);
	cr_assert_leq(want, ROWS_MAX);
	while (o->n < want) {
		Vix__V1__Notification *n;

		if ((m = harness_recv(ssl, &end)) == NULL) {
			static char log[1 << 16];

			cr_assert_fail("%s: %zu of %llu rows came (end %d): %s",
			    name, o->n, (unsigned long long)want, end,
			    harness_redact((char *)harness_log(&vixd, log,
			    sizeof(log))));
		}
		if (m->msg_case != VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION) {
			vix__v1__server_message__free_unpacked(m, NULL);
			continue;
		}
		n = m->notification;
		o->row[o->n].type = n->type;
		o->row[o->n].match_id = n->match_id;
		o->row[o->n].reminder = n->reminder;
		o->row[o->n].round = n->escalation_round;
		o->row[o->n].escalates_at = n->escalates_at;
		o->row[o->n].coordinated = n->coordinated;
		snprintf(o->row[o->n].coordinator,
		    sizeof(o->row[o->n].coordinator), "%s", n->coordinator);
		o->n++;
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	harness_tls_close(ssl);
}

/* How many rows of type about match (0: any) o holds. */
static size_t
count(const struct outbox *o, int type, uint64_t match)
{
	size_t k = 0;

	for (size_t i = 0; i < o->n; i++)
		k += o->row[i].type == type && (match == 0 ||
		    o->row[i].match_id == match);
	return k;
}

/* The last row of type about match in o (asserted present). */
static size_t
last_of(const struct outbox *o, int type, uint64_t match)
{
	for (size_t i = o->n; i > 0; i--)
		if (o->row[i - 1].type == type &&
		    o->row[i - 1].match_id == match)
			return i - 1;
	cr_assert_fail("no row of type %d about match %llu", type,
	    (unsigned long long)match);
	return 0;
}

static void
register_youth(const char *org, const char *bsn)
{
	struct run_result r;

	harness_vix(&r, &vixd, org, (const char *[]){ "register", "--bsn", bsn,
	    "--birth-date", "2015-03-01", "--contact-name", "C", "--contact-phone",
	    "0501234567", "--ref", org, NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
}

/*
 * Reminders 3 and 10 days after a match was made, escalation after 14
 * (the default), once more 7 days later; a sweep every second.
 */
static void
start(void)
{
	harness_start(&vixd, NULL);
	snprintf(conf, sizeof(conf), "%s", harness_write_file(&vixd,
	    "followup.conf", "[store]\nsweep_interval = 1s\n"
	    "[rules]\nremind_after = 3d, 10d\nreescalate_after = 7d\n"
	    "reescalate_max = 1\n"));
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
}

static void
stop(void)
{
	harness_stop(&vixd);
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

/* vix subscribe as org (with json: --json) in the background, to out. */
static pid_t
subscribe_bg(const char *org, const char *json, const char *out)
{
	const char *argv[] = { getenv("VIX"), "--dev-dir", vixd.dev_dir,
	    "--dev", org, "--server", vixd.addr, "subscribe", json, NULL };

	cr_assert_not_null(argv[0], "VIX must be set (run through meson "
	    "test)");
	return harness_spawn_bg(argv, out);
}

static void
stop_bg(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* vixd with its clock offset ahead, then until name holds n rows of type. */
static void
later(const char *offset, const char *name, int type, size_t n,
    struct outbox *o)
{
	harness_restart_faketime(&vixd, offset, (const char *[]){ "-c", conf,
	    NULL });
	for (int i = 0; i < 100; i++) {
		read_outbox(name, o);
		if (count(o, type, MATCH_X) >= n)
			return;
		harness_sleep_ms(100);
	}
	cr_assert_fail("%s: no %zu rows of type %d within 10 s at %s", name,
	    n, type, offset);
}

/* Two more sweeps than now have run. */
static void
two_sweeps(void)
{
	long long sweeps = harness_metric(&vixd, "vix_sweeps_total");

	for (int i = 0; i < 100 && harness_metric(&vixd,
	    "vix_sweeps_total") < sweeps + 2; i++)
		harness_sleep_ms(100);
	cr_assert_geq(harness_metric(&vixd, "vix_sweeps_total"), sweeps + 2);
}

Test(followup, reminders_go_to_the_coordinator_and_escalation_repeats,
    .init = start, .fini = stop)
{
	char out_a[PATH_MAX], out_p[PATH_MAX];
	struct outbox a, b, p;
	struct run_result r;
	pid_t pid_a, pid_p;
	size_t i;

	/* org-a coordinates both by rank (10 before org-b's 20). */
	register_youth("org-a", YOUTH_X);
	register_youth("org-b", YOUTH_X);
	register_youth("org-a", YOUTH_Y);
	register_youth("org-b", YOUTH_Y);
	harness_vix(&r, &vixd, "org-b", (const char *[]){ "coordinate",
	    "--match", "2", "--done", NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));

	/* Marked coordinated: both parties are told, org-b too. */
	read_outbox("org-a", &a);
	read_outbox("org-b", &b);
	i = last_of(&a, T_ASSIGNED, MATCH_Y);
	cr_assert(a.row[i].coordinated);
	cr_assert_str_eq(a.row[i].coordinator, "org-a");
	i = last_of(&b, T_ASSIGNED, MATCH_Y);
	cr_assert(b.row[i].coordinated);

	/* Day 4: the first reminder, to org-a only, for match X only. */
	later("+4d", "org-a", T_REMINDER, 1, &a);
	i = last_of(&a, T_REMINDER, MATCH_X);
	cr_assert_eq(a.row[i].reminder, 1);
	/* 14 days after the match was made (on the real clock, just now). */
	cr_assert_gt(a.row[i].escalates_at, time(NULL) + 13 * 86400);
	cr_assert_leq(a.row[i].escalates_at, time(NULL) + 14 * 86400);
	two_sweeps();
	read_outbox("org-a", &a);
	read_outbox("org-b", &b);
	cr_assert_eq(count(&a, T_REMINDER, 0), 1, "once per point");
	cr_assert_eq(count(&b, T_REMINDER, 0), 0, "org-b does not coordinate");

	/* Day 11: the second. */
	later("+11d", "org-a", T_REMINDER, 2, &a);
	cr_assert_eq(a.row[last_of(&a, T_REMINDER, MATCH_X)].reminder, 2);

	/* Day 15: escalated to the partner system, round 1. */
	later("+15d", "partner", T_ESCALATION, 1, &p);
	cr_assert_eq(p.row[last_of(&p, T_ESCALATION, MATCH_X)].round, 1);

	/* Day 23: once more, round 2; then never again (reescalate_max 1). */
	later("+23d", "partner", T_ESCALATION, 2, &p);
	cr_assert_eq(p.row[last_of(&p, T_ESCALATION, MATCH_X)].round, 2);
	/* (Before outbox_retention, 30 days, prunes what is not acked.) */
	later("+29d", "partner", T_ESCALATION, 2, &p);
	two_sweeps();
	read_outbox("partner", &p);
	read_outbox("org-a", &a);
	read_outbox("org-b", &b);
	cr_assert_eq(count(&p, T_ESCALATION, MATCH_X), 2);
	cr_assert_eq(count(&p, T_ESCALATION, MATCH_Y), 0, "coordinated");
	cr_assert_eq(count(&a, T_REMINDER, 0), 2);
	cr_assert_eq(count(&a, T_REMINDER, MATCH_Y), 0, "coordinated");
	cr_assert_eq(count(&b, T_REMINDER, 0), 0);
	cr_assert_eq(count(&a, T_ESCALATION, 0) + count(&b, T_ESCALATION, 0),
	    0, "escalations go to the escalation organisation only");

	/* Audited, and in the youth's report. */
	subject_report(&r, YOUTH_X);
	cr_assert_eq(harness_count(r.out, "vixd remind"), 2, "%s",
	    harness_redact(r.out));
	cr_assert_eq(harness_count(r.out, "vixd escalate"), 1);
	cr_assert_eq(harness_count(r.out, "vixd reescalate"), 1);
	cr_assert_not_null(strstr(r.out, ", escalated 2 times\n"), "%s",
	    harness_redact(r.out));
	subject_report(&r, YOUTH_Y);
	cr_assert_null(strstr(r.out, "vixd remind"), "%s",
	    harness_redact(r.out));

	/* vix subscribe shows what the new fields say (and acks them). */
	snprintf(out_a, sizeof(out_a), "%s/sub-a.out", vixd.dir);
	snprintf(out_p, sizeof(out_p), "%s/sub-p.out", vixd.dir);
	pid_a = subscribe_bg("org-a", NULL, out_a);
	pid_p = subscribe_bg("partner", "--json", out_p);
	cr_assert(harness_wait_for_text(out_a, ": REMINDER match 1 (your signal "
	    "1, ref org-a) with Development organisation B (org-b)", 10000));
	cr_assert(harness_wait_for_text(out_a, "; coordinator org-a; reminder "
	    "2, escalates ", 10000));
	cr_assert(harness_wait_for_text(out_p, "\"type\":\"ESCALATION\","
	    "\"match_id\":1,", 10000));
	cr_assert(harness_wait_for_text(out_p, "\"municipality\":\"\","
	    "\"escalation_round\":2,\"reminder\":0,\"escalates_at\":0}",
	    10000));
	stop_bg(pid_a);
	stop_bg(pid_p);
}

/* vixd offset ahead; then until org-b's vix matches --escalated says want. */
static void
worklist_at(const char *offset, const char *want, struct run_result *r)
{
	harness_restart_faketime(&vixd, offset, (const char *[]){ "-c", conf,
	    NULL });
	for (int i = 0; i < 100; i++) {
		harness_vix(r, &vixd, "org-b", (const char *[]){ "matches",
		    "--escalated", NULL });
		cr_assert_eq(r->status, 0, "%s", harness_redact(r->err));
		if (strstr(r->out, want) != NULL)
			return;
		harness_sleep_ms(100);
	}
	cr_assert_fail("at %s, no '%s' within 10 s: %s", offset, want,
	    harness_redact(r->out));
}

Test(followup, the_worklist_shows_each_organisation_its_own_matches,
    .init = start, .fini = stop)
{
	struct run_result r;

	register_youth("org-a", YOUTH_X);
	register_youth("org-b", YOUTH_X);
	register_youth("org-a", YOUTH_Y);
	register_youth("org-b", YOUTH_Y);
	register_youth("org-a", YOUTH_Z);
	harness_vix(&r, &vixd, "org-b", (const char *[]){ "coordinate",
	    "--match", "2", "--done", NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));

	/* Both matches, nothing for the youth org-a alone registered. */
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "matches", "--json",
	    NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_eq(harness_count(r.out, "\"match_id\":"), 2, "%s",
	    harness_redact(r.out));
	cr_assert_not_null(strstr(r.out, "\"client_ref\":\"org-a\""));
	cr_assert_not_null(strstr(r.out, "\"org_id\":\"org-b\""));
	cr_assert_null(strstr(r.out, "\"org_id\":\"org-a\""), "only the "
	    "others are listed");
	cr_assert_eq(harness_count(r.out, "\"escalations\":0"), 2);

	harness_vix(&r, &vixd, "org-a", (const char *[]){ "matches",
	    "--uncoordinated", "--json", NULL });
	cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
	cr_assert_eq(harness_count(r.out, "\"match_id\":"), 1);
	cr_assert_not_null(strstr(r.out, "\"match_id\":1,"), "%s",
	    harness_redact(r.out));

	/*
	 * After its escalation (day 15) and the one after that (7 days
	 * later), with its age.
	 */
	worklist_at("+15d", "escalated; your signal", &r);
	worklist_at("+23d", "escalated 2 times", &r);
	cr_assert_not_null(strstr(r.out, "MATCH 1, 23d 0h old"), "%s",
	    harness_redact(r.out));
	cr_assert_not_null(strstr(r.out, "coordinator Development "
	    "organisation A (org-a), not coordinated"), "%s",
	    harness_redact(r.out));
	cr_assert_not_null(strstr(r.out, "  with Development organisation A "
	    "(org-a): C, 0501234567"), "%s", harness_redact(r.out));
	cr_assert_null(strstr(r.out, "MATCH 2"), "%s", harness_redact(r.out));

	/* Only organisations that register have a worklist. */
	harness_vix(&r, &vixd, "partner", (const char *[]){ "matches", NULL });
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(strstr(r.err, "PERMISSION_DENIED"), "%s",
	    harness_redact(r.err));
}
