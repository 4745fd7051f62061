/*
 * The store conformance suite, the notification outbox over a real store
 * of the backend VIX_TEST_BACKEND names (see storefix.h): who is told what
 * on every match transition and coordination change, acks and cursors per
 * consumer, the time-driven sweeps (expiry, escalation, archive purge,
 * outbox pruning) run with an explicit clock, and the window arithmetic
 * of a subscription.
 *
 * Youths are known here only by fixed pseudonym byte patterns; no BSN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "errors.h"
#include "notify.h"
#include "orgs.h"
#include "policy.h"
#include "store.h"
#include "storefix.h"
#include "support.h"
#include "vix.pb-c.h"

#define OIN_WIJK	"00000009876543210001"
#define OIN_JZ		"00000009876543210002"
#define OIN_VT		"00000009876543210003"
#define OIN_GGD		"00000009876543210004"
#define OIN_HA		"00000009876543210005"
#define OIN_CASUS	"00000009876543210006"
#define OIN_ESC		"00000009876543210007"

#define MAP_SIZE	STOREFIX_MAP_SIZE
#define T0		STOREFIX_T0
#define FILL		0xB2		/* of this file's pseudonyms */
#define DAY		86400
#define YEAR		(365 * DAY)
#define ROWS_MAX	1000

#define UNJUSTIFIED	STORE_WITHDRAW_UNJUSTIFIED
#define RISK_RESOLVED	STORE_WITHDRAW_RISK_RESOLVED
#define CLAIM		STORE_COORDINATE_CLAIM
#define RELEASE		STORE_COORDINATE_RELEASE
#define MARK_DONE	STORE_COORDINATE_DONE
#define BOUND_DURATION	VIX__V1__EXPIRY_BOUND__DURATION
#define BOUND_AGE_23	VIX__V1__EXPIRY_BOUND__AGE_23

#define N_CREATED	VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED
#define N_JOINED	VIX__V1__NOTIFICATION__TYPE__MATCH_JOINED
#define N_LEFT		VIX__V1__NOTIFICATION__TYPE__MATCH_LEFT
#define N_CLOSED	VIX__V1__NOTIFICATION__TYPE__MATCH_CLOSED
#define N_ASSIGNED	VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED
#define N_ESCALATION	VIX__V1__NOTIFICATION__TYPE__ESCALATION
#define N_EXPIRED	VIX__V1__NOTIFICATION__TYPE__SIGNAL_EXPIRED
#define N_REMINDER	VIX__V1__NOTIFICATION__TYPE__REMINDER

/*
 * Ranks: vt 5 < jz 10 < wijk 20 = ggd 20 < huisarts (default). casus is a
 * partner receiving for wijk; huisarts does not subscribe, so its outbox
 * has no consumer; esc handles escalations for municipality 0344.
 */
#define ORGS_CONF							\
    "[org wijk]\n"							\
    "oin = " OIN_WIJK "\n"						\
    "name = Wijkteam Noord\n"						\
    "roles = register, subscribe\n"					\
    "rank = 20\n"							\
    "\n"								\
    "[org jz]\n"							\
    "oin = " OIN_JZ "\n"						\
    "name = Jeugdzorg Test\n"						\
    "roles = register, subscribe\n"					\
    "rank = 10\n"							\
    "\n"								\
    "[org vt]\n"							\
    "oin = " OIN_VT "\n"						\
    "name = Veilig Thuis Test\n"					\
    "roles = register, subscribe\n"					\
    "rank = 5\n"							\
    "\n"								\
    "[org ggd]\n"							\
    "oin = " OIN_GGD "\n"						\
    "name = GGD Test\n"							\
    "roles = register, subscribe\n"					\
    "rank = 20\n"							\
    "\n"								\
    "[org huisarts]\n"							\
    "oin = " OIN_HA "\n"						\
    "name = Huisartsenpraktijk Test\n"					\
    "roles = register\n"						\
    "\n"								\
    "[org casus]\n"							\
    "oin = " OIN_CASUS "\n"						\
    "name = Casussysteem Test\n"					\
    "roles = subscribe\n"						\
    "receives_for = wijk\n"						\
    "\n"								\
    "[org esc]\n"							\
    "oin = " OIN_ESC "\n"						\
    "name = Escalatieteam Test\n"					\
    "roles = subscribe\n"						\
    "\n"								\
    "[municipality 0344]\n"						\
    "escalation = esc\n"

static const char orgs_conf[] = ORGS_CONF;
static const char orgs_conf_default[] = ORGS_CONF
    "\n"
    "[escalation]\n"
    "default = ggd\n";

static char *dir;		/* the test's temporary folder */
static char *dbdir;		/* the store inside it */
static struct store *st;
static struct orgs *orgs;
static struct store_reader *rd;
static const struct org *wijk, *jz, *vt, *ggd, *ha, *casus, *esc;
static const struct org **everyone;	/* NULL-terminated */

/* Rows of one outbox, decoded. */
struct rows {
	Vix__V1__Notification	**v;
	size_t			  n;
};

#define OTHERS(...)	((const struct org *const []){ __VA_ARGS__, NULL })
#define NOBODY		((const struct org *const []){ NULL })

/* ---- store and organisations ------------------------------------------ */

static void
open_store(int64_t escalate_after)
{
	st = storefix_open(dbdir, MAP_SIZE, 90, escalate_after);
	rd = store_reader_new(st);
	cr_assert_not_null(rd);
}

static const struct org *
org(const char *id)
{
	return storefix_org(orgs, id);
}

static void
load_orgs(const char *conf)
{
	size_t n = 0;

	orgs = storefix_orgs_load(dir, conf);
	storefix_bind(st, orgs);
	wijk = org("wijk");
	jz = org("jz");
	vt = org("vt");
	ggd = org("ggd");
	ha = org("huisarts");
	casus = org("casus");
	esc = org("esc");
	everyone = calloc(orgs->n + 1, sizeof(*everyone));
	cr_assert_not_null(everyone);
	for (size_t i = 0; i < orgs->n; i++)
		everyone[n++] = &orgs->v[i];
}

/* A store whose matches escalate after escalate_after, with conf bound. */
static void
start(const char *conf, int64_t escalate_after)
{
	open_store(escalate_after);
	load_orgs(conf);
}

static void
setup(void)
{
	dir = storefix_tmpdir("outbox", &dbdir);
}

static void
setup_started(void)
{
	setup();
	start(orgs_conf, 14 * DAY);
}

/* Matches escalate after 50 seconds. */
static void
setup_escalating(void)
{
	setup();
	start(orgs_conf, 50);
}

/*
 * Matches are reminded 10 s and 30 s after they were made, escalate after
 * 50 s, and are escalated again every 100 s, at most twice more.
 */
static void
setup_following(void)
{
	struct store_options o;
	struct diag d;

	setup();
	storefix_options(&o, dbdir, MAP_SIZE, 90, 50);
	o.followup = (struct store_followup){ .remind_after = { 10, 30 },
	    .nremind = 2, .reescalate_after = 100, .reescalate_max = 2 };
	diag_init(&d);
	st = store_open(&o, &d);
	cr_assert_not_null(st, "store_open: %s", d.text);
	rd = store_reader_new(st);
	cr_assert_not_null(rd);
	load_orgs(orgs_conf);
}

static void
setup_default_escalation(void)
{
	setup();
	start(orgs_conf_default, 50);
}

static void
teardown(void)
{
	store_reader_free(rd);
	rd = NULL;
	store_close(st);
	st = NULL;
	free(everyone);
	everyone = NULL;
	orgs_unref(orgs);
	orgs = NULL;
	storefix_tmpdir_remove(dir, dbdir);
	dir = NULL;
	dbdir = NULL;
}

/* ---- operations, each in a batch of its own as the writer runs them ---- */

/* A fixed pattern per youth number. */
static void
pseudonym(uint8_t *p, unsigned youth)
{
	storefix_pseudonym(p, FILL, youth);
}

/* A year's registration (bound DURATION) with contact, ref, 0344. */
static void
reg_in(struct store_register_in *in, const struct org *o, unsigned youth,
    int64_t now)
{
	storefix_reg_in(in, orgs, o, FILL, youth, now);
}

/* A batch with one job begun in it. */
static struct store_txn *
begin(void)
{
	struct store_txn *t = storefix_begin(st);

	cr_assert_eq(store_job_begin(t), 0);
	return t;
}

/* End the one job of t with err (or its own) and commit the batch. */
static int
finish(struct store_txn *t, int err)
{
	err = store_job_end(t, err);
	storefix_commit(t);
	return err;
}

/* Register as in; the signal id, and the match id in *match if asked. */
static uint64_t
register_in(const struct store_register_in *in, uint64_t *match)
{
	struct store_register_out out;
	struct store_txn *t = begin();

	cr_assert_eq(finish(t, store_register(t, in, &out)), 0);
	if (match != NULL)
		*match = out.view.has_match ? out.view.match.id : 0;
	store_view_free(&out.view);
	cr_assert_neq(out.signal_id, 0);
	return out.signal_id;
}

static uint64_t
must_register(const struct org *o, unsigned youth, int64_t now,
    uint64_t *match)
{
	struct store_register_in in;

	reg_in(&in, o, youth, now);
	return register_in(&in, match);
}

/* Register with a chosen expiry, bound and municipality. */
static uint64_t
register_until(const struct org *o, unsigned youth, int64_t now,
    int64_t expires, int bound, const char *muni)
{
	struct store_register_in in;

	reg_in(&in, o, youth, now);
	in.expires = expires;
	in.bound = bound;
	snprintf(in.municipality, sizeof(in.municipality), "%s", muni);
	return register_in(&in, NULL);
}

static void
must_withdraw(const struct org *o, unsigned youth, int reason, int64_t now)
{
	struct store_withdraw_in in = { .org = o, .orgs = orgs, .now = now,
	    .reason = reason };
	struct store_withdraw_out out;
	struct store_txn *t = begin();

	pseudonym(in.pseudonym, youth);
	cr_assert_eq(finish(t, store_withdraw(t, &in, &out)), 0);
}

/* Coordinate; on success *m is the match as o sees it afterwards. */
static int
coordinate(const struct org *o, uint64_t match, int action, int64_t now,
    struct store_match *m)
{
	struct store_coordinate_in in = { o, orgs, now, match, action };
	struct store_view v;
	struct store_txn *t = begin();
	int err;

	err = finish(t, store_coordinate(t, &in, &v));
	if (err == 0) {
		cr_assert(v.has_match);
		if (m != NULL)
			*m = v.match;
		store_view_free(&v);
	}
	return err;
}

static int
ack(const struct org *consumer, const struct org *recipient, uint64_t seq,
    uint64_t *acked)
{
	struct store_txn *t = begin();

	return finish(t, store_ack(t, consumer->sid, recipient->sid, seq,
	    acked));
}

static void
must_ack(const struct org *consumer, const struct org *recipient,
    uint64_t seq)
{
	uint64_t acked;

	cr_assert_eq(ack(consumer, recipient, seq, &acked), 0);
	cr_assert_eq(acked, seq);
}

static struct store_sweep_in
sweep_at(int64_t now, size_t max)
{
	return (struct store_sweep_in){ .orgs = orgs, .now = now, .max = max,
	    .archive_secs = 5 * YEAR, .outbox_retention = 30 * DAY };
}

static struct store_sweep_out
sweep_with(const struct store_sweep_in *in)
{
	struct store_sweep_out out;
	struct store_txn *t = begin();

	cr_assert_eq(finish(t, store_sweep(t, in, &out)), 0);
	return out;
}

static struct store_sweep_out
sweep(int64_t now, size_t max)
{
	struct store_sweep_in in = sweep_at(now, max);

	return sweep_with(&in);
}

/* The match on a youth as o sees it (o must have a signal on it). */
static struct store_match
match_seen_by(const struct org *o, unsigned youth)
{
	struct store_txn *t = begin();
	uint8_t p[PSEUDONYM_LEN];
	struct store_view v;
	uint64_t id;

	pseudonym(p, youth);
	cr_assert_eq(finish(t, store_involved(t, p, o, T0 + 9000, &id, &v)),
	    0);
	cr_assert(v.has_match);
	store_view_free(&v);
	return v.match;
}

static struct storefix_counts
counts(void)
{
	return storefix_counts(rd);
}

static void
audit_clean(void)
{
	cr_assert_gt(storefix_audit_good(rd), 0);
}

struct audit_match {
	const char	*action;
	size_t		 n;
	char		 outcome[32];	/* of the last one */
};

static int
audit_match_one(void *arg, const struct store_audit_record *r)
{
	struct audit_match *m = arg;

	if (strcmp(r->action, m->action) == 0) {
		m->n++;
		snprintf(m->outcome, sizeof(m->outcome), "%s", r->outcome);
	}
	return 0;
}

/* How many audit records have action; *outcome of the last of them. */
static size_t
audit_count(const char *action, char *outcome, size_t len)
{
	struct audit_match m = { action, 0, "" };

	cr_assert_eq(store_audit_foreach(rd, audit_match_one, &m), 0);
	if (outcome != NULL)
		snprintf(outcome, len, "%s", m.outcome);
	return m.n;
}

/* ---- reading outboxes ------------------------------------------------- */

static int
collect(void *arg, uint64_t seq, const void *msg, size_t len)
{
	struct rows *r = arg;
	Vix__V1__Notification *m, **grown;

	m = vix__v1__notification__unpack(NULL, len, msg);
	cr_assert_not_null(m, "outbox row %llu does not decode",
	    (unsigned long long)seq);
	cr_assert_eq(m->seq, seq, "row %llu says seq %llu",
	    (unsigned long long)seq, (unsigned long long)m->seq);
	grown = reallocarray(r->v, r->n + 1, sizeof(*grown));
	cr_assert_not_null(grown);
	r->v = grown;
	r->v[r->n++] = m;
	return 0;
}

static void
rows_free(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++)
		vix__v1__notification__free_unpacked(r->v[i], NULL);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static uint64_t
last_seq(const struct org *o)
{
	uint64_t acked, last;

	cr_assert_eq(store_position(rd, o->sid, o->sid, &acked, &last), 0);
	return last;
}

/* The rows of o after seq `after`: in order, each addressed to o. */
static struct rows
rows_after(const struct org *o, uint64_t after)
{
	struct rows r = { NULL, 0 };

	cr_assert_eq(store_outbox_read(rd, o->sid, after, ROWS_MAX, collect,
	    &r), 0);
	for (size_t i = 0; i < r.n; i++) {
		cr_assert_str_eq(r.v[i]->recipient, o->id);
		cr_assert_gt(r.v[i]->seq, i == 0 ? after : r.v[i - 1]->seq,
		    "%s: seq not increasing at row %zu", o->id, i);
	}
	return r;
}

/* Exactly n new rows of o after seq `after`, numbered after+1 .. after+n. */
static struct rows
rows_new(const struct org *o, uint64_t after, size_t n)
{
	struct rows r = rows_after(o, after);

	cr_assert_eq(r.n, n, "%s: %zu new rows, want %zu", o->id, r.n, n);
	for (size_t i = 0; i < r.n; i++)
		cr_assert_eq(r.v[i]->seq, after + 1 + i, "%s: row %zu has seq "
		    "%llu", o->id, i, (unsigned long long)r.v[i]->seq);
	cr_assert_eq(last_seq(o), after + n);
	return r;
}

/* The last seq of every organisation, to see who got what since. */
struct marks {
	uint64_t	v[16];
};

static size_t
org_index(const struct org *o)
{
	size_t i;

	for (i = 0; everyone[i] != NULL && everyone[i] != o; i++)
		;
	cr_assert_not_null(everyone[i]);
	cr_assert_lt(i, 16);
	return i;
}

static struct marks
mark(void)
{
	struct marks m = { { 0 } };

	for (size_t i = 0; everyone[i] != NULL; i++)
		m.v[i] = last_seq(everyone[i]);
	return m;
}

/* n rows for o since the mark. */
static struct rows
since(const struct marks *m, const struct org *o, size_t n)
{
	return rows_new(o, m->v[org_index(o)], n);
}

/* Nobody outside who got a row since the mark. */
static void
nothing_else(const struct marks *m, const struct org *const *who)
{
	for (size_t i = 0; everyone[i] != NULL; i++) {
		int listed = 0;

		for (size_t j = 0; who[j] != NULL; j++)
			listed |= who[j] == everyone[i];
		if (!listed)
			cr_assert_eq(last_seq(everyone[i]), m->v[i],
			    "%s got a notification", everyone[i]->id);
	}
}

/* ---- checking rows ----------------------------------------------------- */

static const Vix__V1__Involvement *
other(const Vix__V1__Notification *m, const struct org *o)
{
	for (size_t i = 0; i < m->n_others; i++)
		if (strcmp(m->others[i]->org_id, o->id) == 0)
			return m->others[i];
	return NULL;
}

/* When o's signal was registered, as m tells it. */
static int64_t
since_of(const Vix__V1__Notification *m, const struct org *o)
{
	const Vix__V1__Involvement *inv = other(m, o);

	cr_assert_not_null(inv, "%s is not among the others", o->id);
	return inv != NULL ? inv->since : -1;
}

/* inv is o with the contact reg_in gave it. */
static void
check_party(const Vix__V1__Involvement *inv, const struct org *o)
{
	char phone[33], email[255], name[129];

	cr_assert_not_null(inv, "%s is not among the others", o->id);
	snprintf(name, sizeof(name), "Contact %s", o->id);
	snprintf(phone, sizeof(phone), "030-%u", o->sid);
	snprintf(email, sizeof(email), "%s@example.org", o->id);
	cr_assert_str_eq(inv->org_id, o->id);
	cr_assert_str_eq(inv->org_name, o->name);
	cr_assert_not_null(inv->contact);
	cr_assert_str_eq(inv->contact->name, name);
	cr_assert_str_eq(inv->contact->phone, phone);
	cr_assert_str_eq(inv->contact->email, email);
}

/* The others of m are exactly who, each with name and contact. */
static void
check_others(const Vix__V1__Notification *m, const struct org *const *who)
{
	size_t n;

	for (n = 0; who[n] != NULL; n++)
		check_party(other(m, who[n]), who[n]);
	cr_assert_eq(m->n_others, n, "%s: %zu others, want %zu", m->recipient,
	    m->n_others, n);
}

/* m is a type row for o about o's own signal on youth. */
static void
check_own(const Vix__V1__Notification *m, int type, const struct org *o,
    uint64_t signal_id, unsigned youth)
{
	char ref[65];

	snprintf(ref, sizeof(ref), "ref-%s-%u", o->id, youth);
	cr_assert_eq((int)m->type, type, "%s: type %d, want %d", o->id,
	    (int)m->type, type);
	cr_assert_str_eq(m->recipient, o->id);
	cr_assert_eq(m->signal_id, signal_id, "%s: not its own signal", o->id);
	cr_assert_str_eq(m->client_ref, ref);
}

static void
check_match(const Vix__V1__Notification *m, uint64_t match,
    const struct org *coordinator, int coordinated)
{
	cr_assert_eq(m->match_id, match);
	cr_assert_str_eq(m->coordinator, coordinator->id);
	cr_assert_str_eq(m->coordinator_name, coordinator->name);
	cr_assert_eq(m->coordinated, coordinated);
}

/* The subject of m is o, or there is none when o is NULL. */
static void
check_subject(const Vix__V1__Notification *m, const struct org *o)
{
	if (o == NULL)
		cr_assert_null(m->subject, "%s: unexpected subject",
		    m->recipient);
	else
		check_party(m->subject, o);
}

/* ---- fan-out ----------------------------------------------------------- */

TestSuite(fanout, .init = setup_started, .fini = teardown);

Test(fanout, a_first_registration_and_refreshes_tell_nobody)
{
	struct marks m0 = mark();

	must_register(wijk, 1, T0, NULL);
	nothing_else(&m0, NOBODY);
	must_register(wijk, 1, T0 + 10, NULL);
	nothing_else(&m0, NOBODY);

	/* Nor does a refresh inside a match. */
	must_register(jz, 1, T0 + 20, NULL);
	m0 = mark();
	must_register(jz, 1, T0 + 30, NULL);
	must_register(wijk, 1, T0 + 40, NULL);
	nothing_else(&m0, NOBODY);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(fanout, the_second_organisation_creates_the_match_for_both)
{
	uint64_t a, b, match;
	struct marks m0;
	struct rows ra, rb;

	a = must_register(wijk, 1, T0, NULL);
	m0 = mark();
	b = must_register(jz, 1, T0 + 10, &match);
	cr_assert_neq(match, 0);

	ra = since(&m0, wijk, 1);
	check_own(ra.v[0], N_CREATED, wijk, a, 1);
	check_others(ra.v[0], OTHERS(jz));
	cr_assert_eq(since_of(ra.v[0], jz), T0 + 10);
	check_subject(ra.v[0], NULL);
	check_match(ra.v[0], match, jz, 0);
	cr_assert_eq(ra.v[0]->time, T0 + 10);
	cr_assert_str_eq(ra.v[0]->municipality, "");

	rb = since(&m0, jz, 1);
	check_own(rb.v[0], N_CREATED, jz, b, 1);
	check_others(rb.v[0], OTHERS(wijk));
	cr_assert_eq(since_of(rb.v[0], wijk), T0);
	check_subject(rb.v[0], NULL);
	check_match(rb.v[0], match, jz, 0);

	/* Each starts its own outbox at seq 1. */
	cr_assert_eq(ra.v[0]->seq, 1);
	cr_assert_eq(rb.v[0]->seq, 1);
	nothing_else(&m0, OTHERS(wijk, jz));
	rows_free(&ra);
	rows_free(&rb);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(fanout, a_third_organisation_joins_and_everyone_hears_of_it)
{
	uint64_t a, b, c, match;
	struct rows ra, rb, rc;
	struct marks m0;

	a = must_register(wijk, 1, T0, NULL);
	b = must_register(jz, 1, T0 + 10, &match);
	m0 = mark();
	c = must_register(vt, 1, T0 + 20, NULL);

	/*
	 * The newcomer learns of both others. jz coordinated by rank, not
	 * by a claim: vt, of a lower rank, takes over, and everyone hears.
	 */
	rc = since(&m0, vt, 2);
	check_own(rc.v[0], N_JOINED, vt, c, 1);
	check_others(rc.v[0], OTHERS(wijk, jz));
	check_match(rc.v[0], match, vt, 0);
	cr_assert_eq(rc.v[0]->seq, 1);
	check_own(rc.v[1], N_ASSIGNED, vt, c, 1);
	check_match(rc.v[1], match, vt, 0);
	check_subject(rc.v[1], NULL);

	/* The others learn of the newcomer, as subject and among the others. */
	ra = since(&m0, wijk, 2);
	check_own(ra.v[0], N_JOINED, wijk, a, 1);
	check_others(ra.v[0], OTHERS(jz, vt));
	check_subject(ra.v[0], vt);
	cr_assert_eq(ra.v[0]->subject->since, T0 + 20);
	check_match(ra.v[0], match, vt, 0);
	cr_assert_eq(ra.v[0]->seq, 2);
	check_own(ra.v[1], N_ASSIGNED, wijk, a, 1);
	check_match(ra.v[1], match, vt, 0);

	rb = since(&m0, jz, 2);
	check_own(rb.v[0], N_JOINED, jz, b, 1);
	check_others(rb.v[0], OTHERS(wijk, vt));
	check_subject(rb.v[0], vt);
	check_match(rb.v[0], match, vt, 0);
	cr_assert_eq(rb.v[0]->time, T0 + 20);
	check_own(rb.v[1], N_ASSIGNED, jz, b, 1);
	check_match(rb.v[1], match, vt, 0);

	nothing_else(&m0, OTHERS(wijk, jz, vt));
	rows_free(&ra);
	rows_free(&rb);
	rows_free(&rc);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(fanout, one_of_three_leaving_tells_the_two_others)
{
	uint64_t b, c, match;
	struct rows rb, rc;
	struct marks m0;

	must_register(wijk, 1, T0, NULL);
	b = must_register(jz, 1, T0 + 10, &match);
	c = must_register(vt, 1, T0 + 20, NULL);
	m0 = mark();
	must_withdraw(wijk, 1, UNJUSTIFIED, T0 + 30);

	/* wijk did not coordinate: no COORDINATOR_ASSIGNED. */
	rb = since(&m0, jz, 1);
	check_own(rb.v[0], N_LEFT, jz, b, 1);
	check_others(rb.v[0], OTHERS(vt));
	check_subject(rb.v[0], wijk);
	check_match(rb.v[0], match, vt, 0);
	cr_assert_eq(rb.v[0]->time, T0 + 30);

	rc = since(&m0, vt, 1);
	check_own(rc.v[0], N_LEFT, vt, c, 1);
	check_others(rc.v[0], OTHERS(jz));
	check_subject(rc.v[0], wijk);
	check_match(rc.v[0], match, vt, 0);

	/* The leaver is told nothing. */
	nothing_else(&m0, OTHERS(jz, vt));
	rows_free(&rb);
	rows_free(&rc);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(fanout, the_coordinator_leaving_hands_over_by_rank)
{
	uint64_t a, d, match;
	struct rows ra, rd_;
	struct marks m0;

	/* jz coordinates; wijk and ggd tie on rank, wijk came first. */
	a = must_register(wijk, 1, T0, NULL);
	must_register(jz, 1, T0 + 10, &match);
	d = must_register(ggd, 1, T0 + 20, NULL);
	m0 = mark();
	must_withdraw(jz, 1, RISK_RESOLVED, T0 + 30);

	ra = since(&m0, wijk, 2);
	check_own(ra.v[0], N_LEFT, wijk, a, 1);
	check_others(ra.v[0], OTHERS(ggd));
	check_subject(ra.v[0], jz);
	check_match(ra.v[0], match, wijk, 0);
	check_own(ra.v[1], N_ASSIGNED, wijk, a, 1);
	check_others(ra.v[1], OTHERS(ggd));
	check_subject(ra.v[1], NULL);
	check_match(ra.v[1], match, wijk, 0);

	rd_ = since(&m0, ggd, 2);
	check_own(rd_.v[0], N_LEFT, ggd, d, 1);
	check_others(rd_.v[0], OTHERS(wijk));
	check_subject(rd_.v[0], jz);
	check_own(rd_.v[1], N_ASSIGNED, ggd, d, 1);
	check_others(rd_.v[1], OTHERS(wijk));
	check_match(rd_.v[1], match, wijk, 0);
	cr_assert_eq(rd_.v[1]->time, T0 + 30);

	nothing_else(&m0, OTHERS(wijk, ggd));
	rows_free(&ra);
	rows_free(&rd_);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(fanout, the_last_but_one_leaving_closes_the_match)
{
	uint64_t a, match;
	struct marks m0;
	struct rows ra;

	a = must_register(wijk, 1, T0, NULL);
	must_register(jz, 1, T0 + 10, &match);
	m0 = mark();
	must_withdraw(jz, 1, UNJUSTIFIED, T0 + 30);

	ra = since(&m0, wijk, 1);
	check_own(ra.v[0], N_CLOSED, wijk, a, 1);
	check_others(ra.v[0], NOBODY);
	check_subject(ra.v[0], jz);
	cr_assert_eq(ra.v[0]->match_id, match);
	cr_assert_eq(counts().matches, 0);
	nothing_else(&m0, OTHERS(wijk));
	rows_free(&ra);

	/* The last one leaving has nobody left to tell. */
	m0 = mark();
	must_withdraw(wijk, 1, UNJUSTIFIED, T0 + 40);
	nothing_else(&m0, NOBODY);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* Every organisation of who got one COORDINATOR_ASSIGNED since m0. */
static void
expect_assigned(const struct marks *m0, const struct org *const *who,
    const uint64_t *signal_ids, uint64_t match, const struct org *coordinator,
    int coordinated, int64_t now)
{
	for (size_t i = 0; who[i] != NULL; i++) {
		struct rows r = since(m0, who[i], 1);
		const struct org *rest[4];
		size_t n = 0;

		for (size_t j = 0; who[j] != NULL; j++)
			if (j != i)
				rest[n++] = who[j];
		rest[n] = NULL;
		check_own(r.v[0], N_ASSIGNED, who[i], signal_ids[i], 1);
		check_others(r.v[0], rest);
		check_subject(r.v[0], NULL);
		check_match(r.v[0], match, coordinator, coordinated);
		cr_assert_eq(r.v[0]->time, now);
		rows_free(&r);
	}
	nothing_else(m0, who);
}

Test(fanout, coordination_changes_tell_everyone_involved)
{
	uint64_t ids[3], match;
	struct store_match m;
	struct marks m0;

	/* jz coordinates by rank. */
	ids[0] = must_register(jz, 1, T0, NULL);
	ids[1] = must_register(wijk, 1, T0 + 1, &match);
	ids[2] = must_register(ggd, 1, T0 + 2, NULL);
	must_register(vt, 2, T0 + 3, NULL);

	m0 = mark();
	cr_assert_eq(coordinate(wijk, match, CLAIM, T0 + 10, &m), 0);
	cr_assert_eq(m.coordinator, wijk->sid);
	expect_assigned(&m0, OTHERS(jz, wijk, ggd), ids, match, wijk, 0,
	    T0 + 10);

	/* Claiming what one has already changes nothing. */
	m0 = mark();
	cr_assert_eq(coordinate(wijk, match, CLAIM, T0 + 11, &m), 0);
	cr_assert_eq(m.coordinator, wijk->sid);
	nothing_else(&m0, NOBODY);

	/* Only the coordinator can release. */
	cr_assert_eq(coordinate(jz, match, RELEASE, T0 + 12, NULL),
	    VIX_E_PRECONDITION);
	nothing_else(&m0, NOBODY);

	/* Released, it goes to the best rank among the others: jz. */
	cr_assert_eq(coordinate(wijk, match, RELEASE, T0 + 13, &m), 0);
	cr_assert_eq(m.coordinator, jz->sid);
	expect_assigned(&m0, OTHERS(jz, wijk, ggd), ids, match, jz, 0,
	    T0 + 13);

	m0 = mark();
	cr_assert_eq(coordinate(ggd, match, MARK_DONE, T0 + 14, &m), 0);
	cr_assert_eq(m.coordinated, 1);
	cr_assert_eq(m.coordinator, jz->sid);
	expect_assigned(&m0, OTHERS(jz, wijk, ggd), ids, match, jz, 1,
	    T0 + 14);

	m0 = mark();
	cr_assert_eq(coordinate(wijk, match, MARK_DONE, T0 + 15, &m), 0);
	nothing_else(&m0, NOBODY);

	/* vt has a signal, but not on this youth. */
	cr_assert_eq(coordinate(vt, match, CLAIM, T0 + 16, NULL),
	    VIX_E_PERMISSION);
	cr_assert_eq(coordinate(casus, match, CLAIM, T0 + 16, NULL),
	    VIX_E_PERMISSION);
	cr_assert_eq(coordinate(wijk, match + 100, CLAIM, T0 + 17, NULL),
	    VIX_E_NOT_FOUND);
	nothing_else(&m0, NOBODY);
	cr_assert_eq(match_seen_by(wijk, 1).coordinator, jz->sid);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * A claim, also by the organisation rank chose, keeps coordination from a
 * lower-ranked newcomer; after a release rank decides again.
 */
Test(fanout, a_claimed_match_keeps_its_coordinator_when_one_joins)
{
	uint64_t match;
	struct store_match m;
	struct marks m0;
	char outcome[32];

	must_register(wijk, 1, T0, NULL);
	must_register(jz, 1, T0 + 1, &match);
	m0 = mark();
	cr_assert_eq(coordinate(jz, match, CLAIM, T0 + 2, &m), 0);
	cr_assert_eq(m.coordinator, jz->sid);
	cr_assert(m.claimed, "the claim is recorded");
	nothing_else(&m0, NOBODY);
	cr_assert_eq(audit_count("coordinate:claim", outcome,
	    sizeof(outcome)), 1);
	cr_assert_str_eq(outcome, "ok", "a claim that changed the record");
	must_register(vt, 1, T0 + 3, NULL);
	m = match_seen_by(vt, 1);
	cr_assert_eq(m.coordinator, jz->sid, "vt (rank 5) did not take over");

	cr_assert_eq(coordinate(jz, match, RELEASE, T0 + 4, &m), 0);
	cr_assert_eq(m.coordinator, vt->sid);
	cr_assert(!m.claimed);
	must_withdraw(vt, 1, UNJUSTIFIED, T0 + 5);
	cr_assert_eq(match_seen_by(wijk, 1).coordinator, jz->sid);
	must_register(vt, 1, T0 + 6, NULL);
	cr_assert_eq(match_seen_by(wijk, 1).coordinator, vt->sid,
	    "chosen by rank again: the newcomer takes over");
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(fanout, a_closed_match_cannot_be_coordinated)
{
	uint64_t match;

	must_register(wijk, 1, T0, NULL);
	must_register(jz, 1, T0 + 1, &match);
	must_withdraw(jz, 1, UNJUSTIFIED, T0 + 2);
	cr_assert_eq(coordinate(wijk, match, CLAIM, T0 + 3, NULL),
	    VIX_E_NOT_FOUND);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

static int
has(const uint32_t *v, size_t n, uint32_t sid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == sid)
			return 1;
	return 0;
}

/* Register o on youth inside the open batch t, as a job of its own. */
static void
job_register(struct store_txn *t, const struct org *o, unsigned youth,
    int64_t now)
{
	struct store_register_out out;
	struct store_register_in in;

	reg_in(&in, o, youth, now);
	cr_assert_eq(store_job_begin(t), 0);
	cr_assert_eq(store_job_end(t, store_register(t, &in, &out)), 0);
	store_view_free(&out.view);
}

Test(fanout, touched_names_exactly_the_outboxes_the_batch_wrote)
{
	struct store_txn *t;
	uint32_t sids[16];
	size_t n;
	int all = -1, err;

	t = store_write_begin(st, &err);
	cr_assert_not_null(t);
	job_register(t, wijk, 1, T0);
	n = store_touched(t, sids, 16, &all);
	cr_assert_eq(n, 0);
	cr_assert_eq(all, 0);
	job_register(t, jz, 1, T0 + 1);		/* wijk and jz */
	job_register(t, vt, 2, T0 + 2);		/* nobody */
	job_register(t, ggd, 3, T0 + 3);	/* nobody */
	job_register(t, jz, 1, T0 + 4);		/* a refresh: nobody */
	n = store_touched(t, sids, 16, &all);
	cr_assert_eq(n, 2);
	cr_assert_eq(all, 0);
	cr_assert(has(sids, n, wijk->sid));
	cr_assert(has(sids, n, jz->sid));

	/* Too small a buffer says so. */
	cr_assert_eq(store_touched(t, sids, 1, &all), 1);
	cr_assert_eq(all, 1);
	cr_assert_eq(store_write_commit(t), 0);

	/* A new batch starts with nothing touched. */
	t = store_write_begin(st, &err);
	cr_assert_not_null(t);
	job_register(t, vt, 1, T0 + 5);		/* wijk, jz and vt */
	n = store_touched(t, sids, 16, &all);
	cr_assert_eq(n, 3);
	cr_assert_eq(all, 0);
	cr_assert(has(sids, n, wijk->sid) && has(sids, n, jz->sid) &&
	    has(sids, n, vt->sid));
	cr_assert_eq(store_write_commit(t), 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- acks and positions ------------------------------------------------ */

TestSuite(cursor, .init = setup_started, .fini = teardown);

/* Three matches: three rows each for wijk and jz. */
static void
three_matches(void)
{
	for (unsigned y = 1; y <= 3; y++) {
		must_register(wijk, y, T0 + y, NULL);
		must_register(jz, y, T0 + y, NULL);
	}
	cr_assert_eq(last_seq(wijk), 3);
	cr_assert_eq(last_seq(jz), 3);
}

static void
expect_position(const struct org *consumer, const struct org *recipient,
    uint64_t acked, uint64_t last)
{
	uint64_t a, l;

	cr_assert_eq(store_position(rd, consumer->sid, recipient->sid, &a, &l),
	    0);
	cr_assert_eq(a, acked, "%s on %s: acked %llu, want %llu",
	    consumer->id, recipient->id, (unsigned long long)a,
	    (unsigned long long)acked);
	cr_assert_eq(l, last);
}

Test(cursor, acks_are_cumulative_and_bounded_by_the_last_seq)
{
	uint64_t acked = 99;

	three_matches();
	expect_position(wijk, wijk, 0, 3);
	cr_assert_eq(ack(wijk, wijk, 3, &acked), 0);
	cr_assert_eq(acked, 3);
	cr_assert_eq(ack(wijk, wijk, 2, &acked), 0);
	cr_assert_eq(acked, 3, "an older ack moved the cursor back");
	expect_position(wijk, wijk, 3, 3);

	cr_assert_eq(ack(wijk, wijk, 4, &acked), VIX_E_INVALID);
	expect_position(wijk, wijk, 3, 3);

	/* Nothing written yet: only 0 can be acked. */
	expect_position(vt, vt, 0, 0);
	cr_assert_eq(ack(vt, vt, 1, &acked), VIX_E_INVALID);
	cr_assert_eq(ack(vt, vt, 0, &acked), 0);
	cr_assert_eq(acked, 0);
	expect_position(vt, vt, 0, 0);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(cursor, every_consumer_has_its_own_cursor)
{
	three_matches();
	must_ack(wijk, wijk, 3);
	expect_position(casus, wijk, 0, 3);
	must_ack(casus, wijk, 1);
	expect_position(casus, wijk, 1, 3);
	expect_position(wijk, wijk, 3, 3);

	/* And every recipient: jz's outbox is untouched by acks on wijk's. */
	expect_position(jz, jz, 0, 3);
	expect_position(wijk, jz, 0, 3);
	must_ack(jz, jz, 2);
	expect_position(jz, jz, 2, 3);
	expect_position(wijk, wijk, 3, 3);
	expect_position(casus, wijk, 1, 3);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(cursor, cursors_survive_reopening_the_store)
{
	three_matches();
	must_ack(wijk, wijk, 2);
	must_ack(casus, wijk, 1);
	store_reader_free(rd);
	store_close(st);
	open_store(14 * DAY);
	expect_position(wijk, wijk, 2, 3);
	expect_position(casus, wijk, 1, 3);

	/* Seqs continue after the reopen. */
	must_register(wijk, 4, T0 + 10, NULL);
	must_register(ggd, 4, T0 + 11, NULL);
	expect_position(wijk, wijk, 2, 4);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

struct stop_after {
	size_t	n, max;
};

static int
count_and_stop(void *arg, uint64_t seq, const void *msg, size_t len)
{
	struct stop_after *s = arg;

	return ++s->n == s->max;
}

Test(cursor, reading_resumes_after_a_seq_and_stops_when_asked)
{
	struct stop_after s = { 0, 2 };
	struct rows r = { NULL, 0 };

	three_matches();
	r = rows_after(wijk, 1);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(r.v[0]->seq, 2);
	cr_assert_eq(r.v[1]->seq, 3);
	rows_free(&r);
	r = rows_after(wijk, 3);
	cr_assert_eq(r.n, 0);
	rows_free(&r);

	/* At most max rows, and never another recipient's. */
	cr_assert_eq(store_outbox_read(rd, wijk->sid, 0, 1, collect, &r), 0);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.v[0]->seq, 1);
	cr_assert_str_eq(r.v[0]->recipient, "wijk");
	rows_free(&r);

	cr_assert_eq(store_outbox_read(rd, wijk->sid, 0, ROWS_MAX,
	    count_and_stop, &s), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- expiry ------------------------------------------------------------ */

TestSuite(expiry, .init = setup_started, .fini = teardown);

Test(expiry, a_duration_expiry_archives_and_closes_the_match)
{
	char outcome[32];
	struct store_sweep_out out;
	struct rows ra, rb;
	struct marks m0;
	uint64_t a, b, match;
	struct storefix_counts c;

	a = register_until(wijk, 1, T0, T0 + 100, BOUND_DURATION, "0344");
	b = must_register(jz, 1, T0 + 10, &match);
	c = counts();
	cr_assert_eq(c.signals, 2);
	cr_assert_eq(c.matches, 1);
	cr_assert_eq(c.archived, 0);

	m0 = mark();
	out = sweep(T0 + 99, 100);
	cr_assert_eq(out.expired, 0);
	cr_assert_eq(counts().signals, 2);
	nothing_else(&m0, NOBODY);

	out = sweep(T0 + 101, 100);
	cr_assert_eq(out.expired, 1);
	cr_assert_eq(out.more, 0);
	c = counts();
	cr_assert_eq(c.signals, 1);
	cr_assert_eq(c.matches, 0);
	cr_assert_eq(c.archived, 1);

	ra = since(&m0, wijk, 1);
	check_own(ra.v[0], N_EXPIRED, wijk, a, 1);
	check_others(ra.v[0], NOBODY);
	cr_assert_eq(ra.v[0]->time, T0 + 101);

	rb = since(&m0, jz, 1);
	check_own(rb.v[0], N_CLOSED, jz, b, 1);
	check_others(rb.v[0], NOBODY);
	check_subject(rb.v[0], wijk);
	cr_assert_eq(rb.v[0]->match_id, match);
	nothing_else(&m0, OTHERS(wijk, jz));
	cr_assert_eq(audit_count("expire:duration", outcome, sizeof(outcome)),
	    1);
	cr_assert_str_eq(outcome, "archived");

	/* Done once: a later sweep finds nothing more. */
	m0 = mark();
	out = sweep(T0 + 200, 100);
	cr_assert_eq(out.expired, 0);
	nothing_else(&m0, NOBODY);
	rows_free(&ra);
	rows_free(&rb);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(expiry, the_expiring_coordinator_hands_over_to_the_rest)
{
	struct store_sweep_out out;
	uint64_t a, b, c, match;
	struct rows ra, rb, rc;
	struct marks m0;

	/* vt (rank 5) coordinates; wijk (20) and jz (10) join. */
	b = register_until(vt, 1, T0, T0 + 100, BOUND_DURATION, "0344");
	a = must_register(wijk, 1, T0 + 1, &match);
	c = must_register(jz, 1, T0 + 2, NULL);
	m0 = mark();
	out = sweep(T0 + 101, 100);
	cr_assert_eq(out.expired, 1);
	cr_assert_eq(counts().matches, 1);

	rb = since(&m0, vt, 1);
	check_own(rb.v[0], N_EXPIRED, vt, b, 1);

	/* jz has the best rank of the two left. */
	ra = since(&m0, wijk, 2);
	check_own(ra.v[0], N_LEFT, wijk, a, 1);
	check_others(ra.v[0], OTHERS(jz));
	check_subject(ra.v[0], vt);
	check_match(ra.v[0], match, jz, 0);
	check_own(ra.v[1], N_ASSIGNED, wijk, a, 1);
	check_match(ra.v[1], match, jz, 0);

	rc = since(&m0, jz, 2);
	check_own(rc.v[0], N_LEFT, jz, c, 1);
	check_others(rc.v[0], OTHERS(wijk));
	check_own(rc.v[1], N_ASSIGNED, jz, c, 1);
	check_match(rc.v[1], match, jz, 0);
	nothing_else(&m0, OTHERS(wijk, jz, vt));
	cr_assert_eq(match_seen_by(wijk, 1).coordinator, jz->sid);
	rows_free(&ra);
	rows_free(&rb);
	rows_free(&rc);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * The policy decides: at_expiry = delete removes a signal whose duration
 * ran out without archiving it, at_age_limit = archive keeps one at the
 * age limit (reason AGE_LIMIT); each record keeps the policy id it was
 * registered under, in the archive too.
 */
Test(expiry, the_policy_decides_archive_or_delete)
{
	struct store_sweep_in in = sweep_at(T0 + 101, 100);
	struct store_register_in r;
	struct store_sweep_out out;
	struct store_subject s;
	uint8_t p[PSEUDONYM_LEN];
	struct storefix_counts c;
	char outcome[32];

	register_until(wijk, 1, T0, T0 + 100, BOUND_DURATION, "0344");
	reg_in(&r, jz, 2, T0);
	r.expires = T0 + 100;
	r.bound = BOUND_AGE_23;
	r.policy = 0x12345678;
	register_in(&r, NULL);
	pseudonym(p, 2);
	cr_assert_eq(store_subject_report(rd, p, &s), 0);
	cr_assert_eq(s.nsignals, 1);
	cr_assert_eq(s.signals[0].policy, 0x12345678);
	store_subject_free(&s);

	in.at_expiry = POLICY_DELETE;
	in.at_age_limit = POLICY_ARCHIVE;
	out = sweep_with(&in);
	cr_assert_eq(out.expired, 2);
	c = counts();
	cr_assert_eq(c.signals, 0);
	cr_assert_eq(c.archived, 1, "only the one at the age limit");
	cr_assert_eq(audit_count("expire:duration", outcome, sizeof(outcome)),
	    1);
	cr_assert_str_eq(outcome, "deleted");
	cr_assert_eq(audit_count("expire:age_23", outcome, sizeof(outcome)), 1);
	cr_assert_str_eq(outcome, "archived");

	cr_assert_eq(store_subject_report(rd, p, &s), 0);
	cr_assert_eq(s.nsignals, 1);
	cr_assert_neq(s.signals[0].archived, 0);
	cr_assert_eq(s.signals[0].reason, STORE_ARCHIVE_AGE_LIMIT);
	cr_assert_eq(s.signals[0].policy, 0x12345678);
	store_subject_free(&s);
	pseudonym(p, 1);
	cr_assert_eq(store_subject_report(rd, p, &s), 0);
	cr_assert_eq(s.nsignals, 0, "deleted, not archived");
	store_subject_free(&s);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(expiry, the_23rd_birthday_deletes_without_archiving)
{
	struct store_sweep_out out;
	struct marks m0;
	struct rows ra, rb;
	uint64_t a, b;
	struct storefix_counts c;
	char outcome[32];

	a = register_until(wijk, 1, T0, T0 + 100, BOUND_AGE_23, "0344");
	b = must_register(jz, 1, T0 + 10, NULL);
	m0 = mark();
	out = sweep(T0 + 101, 100);
	cr_assert_eq(out.expired, 1);
	c = counts();
	cr_assert_eq(c.signals, 1);
	cr_assert_eq(c.matches, 0);
	cr_assert_eq(c.archived, 0);

	ra = since(&m0, wijk, 1);
	check_own(ra.v[0], N_EXPIRED, wijk, a, 1);
	rb = since(&m0, jz, 1);
	check_own(rb.v[0], N_CLOSED, jz, b, 1);
	check_subject(rb.v[0], wijk);
	nothing_else(&m0, OTHERS(wijk, jz));
	cr_assert_eq(audit_count("expire:age_23", outcome, sizeof(outcome)), 1);
	cr_assert_str_eq(outcome, "deleted");
	cr_assert_eq(audit_count("expire:duration", NULL, 0), 0);
	rows_free(&ra);
	rows_free(&rb);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(expiry, a_pass_expires_at_most_max_and_says_there_is_more)
{
	struct store_sweep_out out;
	uint64_t ids[5];
	struct rows r;
	struct storefix_counts c;

	for (unsigned y = 0; y < 5; y++)
		ids[y] = register_until(wijk, y + 1, T0, T0 + 100 + y,
		    BOUND_DURATION, "0344");
	must_register(wijk, 9, T0, NULL);	/* a year to go */

	out = sweep(T0 + 1000, 2);
	cr_assert_eq(out.expired, 2);
	cr_assert_eq(out.more, 1);
	cr_assert_eq(counts().signals, 4);
	out = sweep(T0 + 1000, 2);
	cr_assert_eq(out.expired, 2);
	cr_assert_eq(out.more, 1);
	out = sweep(T0 + 1000, 2);
	cr_assert_eq(out.expired, 1);
	cr_assert_eq(out.more, 0);
	c = counts();
	cr_assert_eq(c.signals, 1);
	cr_assert_eq(c.archived, 5);

	/* Earliest expiry first, one SIGNAL_EXPIRED each. */
	r = rows_new(wijk, 0, 5);
	for (unsigned y = 0; y < 5; y++)
		check_own(r.v[y], N_EXPIRED, wijk, ids[y], y + 1);
	rows_free(&r);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(expiry, a_refreshed_expiry_counts_not_the_old_one)
{
	struct store_sweep_out out;

	register_until(wijk, 1, T0, T0 + 100, BOUND_DURATION, "0344");
	register_until(wijk, 1, T0 + 50, T0 + 500, BOUND_DURATION, "0344");
	out = sweep(T0 + 101, 100);
	cr_assert_eq(out.expired, 0);
	cr_assert_eq(counts().signals, 1);
	cr_assert_eq(last_seq(wijk), 0);
	out = sweep(T0 + 501, 100);
	cr_assert_eq(out.expired, 1);
	cr_assert_eq(counts().signals, 0);
	cr_assert_eq(last_seq(wijk), 1);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- escalation -------------------------------------------------------- */

TestSuite(escalation, .init = setup_escalating, .fini = teardown);

Test(escalation, an_uncoordinated_match_is_escalated_once)
{
	struct store_sweep_out out;
	uint64_t match;
	struct marks m0;
	struct rows r;

	must_register(wijk, 1, T0 - 10, NULL);
	must_register(jz, 1, T0, &match);
	m0 = mark();
	out = sweep(T0 + 49, 100);
	cr_assert_eq(out.escalated, 0);
	nothing_else(&m0, NOBODY);

	out = sweep(T0 + 51, 100);
	cr_assert_eq(out.escalated, 1);
	r = since(&m0, esc, 1);
	cr_assert_eq(r.v[0]->type, N_ESCALATION);
	cr_assert_str_eq(r.v[0]->recipient, "esc");
	cr_assert_eq(r.v[0]->signal_id, 0);
	cr_assert_str_eq(r.v[0]->client_ref, "");
	check_others(r.v[0], OTHERS(wijk, jz));
	check_subject(r.v[0], NULL);
	check_match(r.v[0], match, jz, 0);
	cr_assert_str_eq(r.v[0]->municipality, "0344");
	cr_assert_eq(r.v[0]->time, T0 + 51);
	rows_free(&r);
	nothing_else(&m0, OTHERS(esc));
	cr_assert_eq(match_seen_by(wijk, 1).escalated, 1);

	/* Once: later sweeps leave it. */
	m0 = mark();
	out = sweep(T0 + 52, 100);
	cr_assert_eq(out.escalated, 0);
	out = sweep(T0 + 5000, 100);
	cr_assert_eq(out.escalated, 0);
	nothing_else(&m0, NOBODY);
	cr_assert_eq(audit_count("escalate", NULL, 0), 1);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(escalation, coordinated_and_closed_matches_are_not_escalated)
{
	uint64_t m1, m2;
	struct marks m0;
	struct rows r;

	must_register(wijk, 1, T0, NULL);
	must_register(jz, 1, T0, &m1);
	must_register(wijk, 2, T0, NULL);
	must_register(jz, 2, T0, &m2);
	must_register(wijk, 3, T0, NULL);
	must_register(jz, 3, T0, NULL);
	cr_assert_eq(coordinate(wijk, m2, MARK_DONE, T0 + 10, NULL), 0);
	must_withdraw(wijk, 3, UNJUSTIFIED, T0 + 20);

	m0 = mark();
	sweep(T0 + 51, 100);
	r = since(&m0, esc, 1);
	cr_assert_eq(r.v[0]->match_id, m1);
	rows_free(&r);
	nothing_else(&m0, OTHERS(esc));
	cr_assert_eq(match_seen_by(wijk, 1).escalated, 1);
	cr_assert_eq(match_seen_by(wijk, 2).escalated, 0);
	cr_assert_eq(audit_count("escalate", NULL, 0), 1);

	/* Nor later, however long it waits. */
	m0 = mark();
	sweep(T0 + 5000, 100);
	nothing_else(&m0, NOBODY);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(escalation, without_an_escalation_organisation_the_match_is_marked)
{
	struct store_sweep_out out;
	char outcome[32];
	struct marks m0;

	/* 0999 has no escalation organisation and there is no default. */
	register_until(wijk, 1, T0, T0 + YEAR, BOUND_DURATION, "0999");
	register_until(jz, 1, T0, T0 + YEAR, BOUND_DURATION, "0999");
	m0 = mark();
	out = sweep(T0 + 51, 100);
	cr_assert_eq(out.escalated, 1);
	nothing_else(&m0, NOBODY);
	cr_assert_eq(match_seen_by(jz, 1).escalated, 1);
	cr_assert_eq(audit_count("escalate", outcome, sizeof(outcome)), 1);
	cr_assert_str_eq(outcome, "no_escalation_organisation");

	/* No second attempt. */
	out = sweep(T0 + 5000, 100);
	cr_assert_eq(out.escalated, 0);
	nothing_else(&m0, NOBODY);
	cr_assert_eq(audit_count("escalate", NULL, 0), 1);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(escalation, the_municipality_is_the_earliest_one_given)
{
	struct marks m0;
	struct rows r;

	register_until(wijk, 1, T0 - 20, T0 + YEAR, BOUND_DURATION, "");
	register_until(jz, 1, T0 - 10, T0 + YEAR, BOUND_DURATION, "0344");
	register_until(vt, 1, T0, T0 + YEAR, BOUND_DURATION, "0999");
	m0 = mark();
	sweep(T0 + 100, 100);
	r = since(&m0, esc, 1);
	cr_assert_str_eq(r.v[0]->municipality, "0344");
	check_others(r.v[0], OTHERS(wijk, jz, vt));
	check_match(r.v[0], r.v[0]->match_id, vt, 0);
	rows_free(&r);
	nothing_else(&m0, OTHERS(esc));
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

TestSuite(escalation_default, .init = setup_default_escalation,
    .fini = teardown);

Test(escalation_default, an_unlisted_municipality_goes_to_the_default)
{
	struct marks m0;
	struct rows r;
	uint64_t match;

	must_register(wijk, 1, T0, NULL);
	must_register(jz, 1, T0, &match);
	register_until(wijk, 2, T0, T0 + YEAR, BOUND_DURATION, "0999");
	register_until(vt, 2, T0, T0 + YEAR, BOUND_DURATION, "0999");
	m0 = mark();
	sweep(T0 + 51, 100);

	/* 0344 still goes to its own organisation, 0999 to the default. */
	r = since(&m0, esc, 1);
	cr_assert_eq(r.v[0]->match_id, match);
	rows_free(&r);
	r = since(&m0, ggd, 1);
	cr_assert_eq(r.v[0]->type, N_ESCALATION);
	cr_assert_str_eq(r.v[0]->municipality, "0999");
	check_others(r.v[0], OTHERS(wijk, vt));
	cr_assert_eq(r.v[0]->signal_id, 0);
	rows_free(&r);
	nothing_else(&m0, OTHERS(esc, ggd));
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}


/* ---- following up until coordinated ------------------------------------ */

TestSuite(followup, .init = setup_following, .fini = teardown);

/* r is a REMINDER for o (signal id) at point `point`, sent at `now`. */
static void
check_reminder(const Vix__V1__Notification *r, const struct org *o,
    uint64_t signal_id, uint64_t match, unsigned point, int64_t now)
{
	check_own(r, N_REMINDER, o, signal_id, 1);
	check_match(r, match, o, 0);
	cr_assert_eq(r->reminder, point, "reminder %u, want %u", r->reminder,
	    point);
	cr_assert_eq(r->escalates_at, T0 + 50);
	cr_assert_eq(r->time, now);
	cr_assert_eq(r->escalation_round, 0);
}

Test(followup, the_coordinator_is_reminded_once_at_each_point)
{
	struct store_sweep_out out;
	uint64_t match, jz_signal;
	struct marks m0;
	struct rows r;

	/* jz coordinates by rank; wijk hears no reminder. */
	must_register(wijk, 1, T0 - 10, NULL);
	jz_signal = must_register(jz, 1, T0, &match);
	m0 = mark();
	out = sweep(T0 + 9, 100);
	cr_assert_eq(out.reminded, 0);
	nothing_else(&m0, NOBODY);

	out = sweep(T0 + 10, 100);
	cr_assert_eq(out.reminded, 1);
	cr_assert_eq(out.escalated, 0);
	r = since(&m0, jz, 1);
	check_reminder(r.v[0], jz, jz_signal, match, 1, T0 + 10);
	check_others(r.v[0], OTHERS(wijk));
	rows_free(&r);
	nothing_else(&m0, OTHERS(jz));

	/* Once per point. */
	m0 = mark();
	out = sweep(T0 + 11, 100);
	cr_assert_eq(out.reminded, 0);
	out = sweep(T0 + 29, 100);
	cr_assert_eq(out.reminded, 0);
	nothing_else(&m0, NOBODY);

	out = sweep(T0 + 30, 100);
	cr_assert_eq(out.reminded, 1);
	r = since(&m0, jz, 1);
	check_reminder(r.v[0], jz, jz_signal, match, 2, T0 + 30);
	rows_free(&r);
	nothing_else(&m0, OTHERS(jz));

	/* Then escalation as before: to esc, round 1, no reminder. */
	m0 = mark();
	out = sweep(T0 + 49, 100);
	cr_assert_eq(out.reminded + out.escalated, 0);
	out = sweep(T0 + 50, 100);
	cr_assert_eq(out.escalated, 1);
	cr_assert_eq(out.reminded, 0);
	cr_assert_eq(out.reescalated, 0);
	r = since(&m0, esc, 1);
	cr_assert_eq(r.v[0]->type, N_ESCALATION);
	cr_assert_eq(r.v[0]->escalation_round, 1);
	check_match(r.v[0], match, jz, 0);
	rows_free(&r);
	nothing_else(&m0, OTHERS(esc));
	cr_assert_eq(match_seen_by(wijk, 1).reminded, 2);
	cr_assert_eq(audit_count("remind", NULL, 0), 2);
	cr_assert_eq(audit_count("escalate", NULL, 0), 1);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(followup, a_claimed_match_reminds_the_claimant)
{
	uint64_t match, wijk_signal;
	struct marks m0;
	struct rows r;

	wijk_signal = must_register(wijk, 1, T0 - 10, NULL);
	must_register(jz, 1, T0, &match);
	cr_assert_eq(coordinate(wijk, match, CLAIM, T0 + 5, NULL), 0);
	m0 = mark();
	cr_assert_eq(sweep(T0 + 10, 100).reminded, 1);
	r = since(&m0, wijk, 1);
	check_own(r.v[0], N_REMINDER, wijk, wijk_signal, 1);
	check_match(r.v[0], match, wijk, 0);
	check_others(r.v[0], OTHERS(jz));
	rows_free(&r);
	nothing_else(&m0, OTHERS(wijk));
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(followup, a_late_sweep_sends_one_reminder_for_the_points_it_passed)
{
	struct store_sweep_out out;
	uint64_t match, jz_signal;
	struct marks m0;
	struct rows r;

	must_register(wijk, 1, T0 - 10, NULL);
	jz_signal = must_register(jz, 1, T0, &match);
	/* Youth 2's match is first swept after its escalation time. */
	must_register(wijk, 2, T0 - 10, NULL);
	must_register(jz, 2, T0, NULL);
	m0 = mark();
	out = sweep(T0 + 35, 1);	/* one item per pass */
	out = sweep(T0 + 35, 1);
	cr_assert_eq(out.reminded, 1);
	r = since(&m0, jz, 2);
	check_reminder(r.v[0], jz, jz_signal, match, 2, T0 + 35);
	cr_assert_eq(r.v[1]->reminder, 2);
	rows_free(&r);
	m0 = mark();
	cr_assert_eq(sweep(T0 + 40, 100).reminded, 0);
	nothing_else(&m0, NOBODY);

	out = sweep(T0 + 60, 100);
	cr_assert_eq(out.escalated, 2);
	cr_assert_eq(out.reminded, 0);
	r = since(&m0, esc, 2);
	rows_free(&r);
	nothing_else(&m0, OTHERS(esc));
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(followup, a_coordinated_match_is_neither_reminded_nor_escalated_again)
{
	uint64_t m1, m2;
	struct marks m0;

	must_register(wijk, 1, T0, NULL);
	must_register(jz, 1, T0, &m1);
	must_register(wijk, 2, T0, NULL);
	must_register(jz, 2, T0, &m2);
	cr_assert_eq(coordinate(wijk, m1, MARK_DONE, T0 + 5, NULL), 0);
	m0 = mark();
	for (int64_t at = T0 + 10; at <= T0 + 50; at += 10)
		sweep(at, 100);
	/* Only youth 2's: two reminders to jz, one escalation. */
	rows_free((struct rows[]){ since(&m0, jz, 2) });
	rows_free((struct rows[]){ since(&m0, esc, 1) });
	nothing_else(&m0, OTHERS(jz, esc));

	/* Marked coordinated after its escalation: not escalated again. */
	cr_assert_eq(coordinate(jz, m2, MARK_DONE, T0 + 60, NULL), 0);
	m0 = mark();
	for (int64_t at = T0 + 100; at <= T0 + 1000; at += 100)
		cr_assert_eq(sweep(at, 100).reescalated, 0);
	nothing_else(&m0, NOBODY);
	cr_assert_eq(audit_count("reescalate", NULL, 0), 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(followup, an_uncoordinated_match_is_escalated_again_at_most_max_times)
{
	struct store_sweep_out out;
	uint64_t match;
	struct marks m0;
	struct rows r;

	must_register(wijk, 1, T0, NULL);
	must_register(jz, 1, T0, &match);
	sweep(T0 + 10, 100);
	sweep(T0 + 30, 100);
	m0 = mark();
	cr_assert_eq(sweep(T0 + 50, 100).escalated, 1);
	cr_assert_eq(sweep(T0 + 149, 100).reescalated, 0);
	nothing_else(&m0, OTHERS(esc));

	out = sweep(T0 + 150, 100);
	cr_assert_eq(out.reescalated, 1);
	cr_assert_eq(out.escalated, 0);
	out = sweep(T0 + 250, 100);
	cr_assert_eq(out.reescalated, 1);
	r = since(&m0, esc, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(r.v[i]->type, N_ESCALATION);
		cr_assert_eq(r.v[i]->escalation_round, i + 1);
		check_others(r.v[i], OTHERS(wijk, jz));
		check_match(r.v[i], match, jz, 0);
		cr_assert_str_eq(r.v[i]->municipality, "0344");
	}
	cr_assert_eq(r.v[2]->time, T0 + 250);
	rows_free(&r);
	nothing_else(&m0, OTHERS(esc));
	cr_assert_eq(match_seen_by(wijk, 1).escalated, 3);

	/* Two more at most: then never again. */
	m0 = mark();
	for (int64_t at = T0 + 350; at <= T0 + 2000; at += 100)
		cr_assert_eq(sweep(at, 100).reescalated, 0);
	nothing_else(&m0, NOBODY);
	cr_assert_eq(audit_count("escalate", NULL, 0), 1);
	cr_assert_eq(audit_count("reescalate", NULL, 0), 2);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}


/* org's worklist from after: its match ids into ids, *next. */
static size_t
worklist(const struct org *o, uint64_t after, unsigned filter, size_t visit,
    size_t max, uint64_t *ids, uint64_t *next)
{
	struct store_work items[8];
	size_t n;

	cr_assert_leq(max, 8);
	cr_assert_eq(store_worklist(rd, o->sid, T0 + 100, after, filter, visit,
	    items, max, &n, next), 0);
	for (size_t i = 0; i < n; i++) {
		cr_assert(items[i].view.has_match);
		ids[i] = items[i].view.match.id;
	}
	store_work_free(items, n);
	return n;
}

Test(followup, the_worklist_holds_the_callers_matches_filtered_and_paged)
{
	uint64_t a, b, c, d, s1, s2, s3, ids[8], next;
	struct store_work items[8];
	size_t n;

	s1 = must_register(wijk, 1, T0 - 10, NULL);
	must_register(jz, 1, T0, &a);
	s2 = must_register(wijk, 2, T0 - 10, NULL);
	must_register(vt, 2, T0, &b);
	s3 = must_register(wijk, 3, T0 - 10, NULL);	/* nobody else */
	must_register(jz, 4, T0 - 10, NULL);		/* not wijk's */
	must_register(ggd, 4, T0, &c);
	must_register(wijk, 5, T0 - 10, NULL);
	must_register(ggd, 5, T0, &d);
	cr_assert_eq(coordinate(ggd, d, MARK_DONE, T0 + 5, NULL), 0);
	sweep(T0 + 50, 100);

	/* Everything of wijk's, with the others, their contacts and state. */
	cr_assert_eq(store_worklist(rd, wijk->sid, T0 + 100, 0, 0, 100, items,
	    8, &n, &next), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(next, 0);
	cr_assert_eq(items[0].signal_id, s1);
	cr_assert_str_eq(items[0].client_ref, "ref-wijk-1");
	cr_assert_eq(items[0].view.match.id, a);
	cr_assert_eq(items[0].view.match.coordinator, jz->sid);
	cr_assert_eq(items[0].view.match.escalated, 1);
	cr_assert_eq(items[0].view.match.coordinated, 0);
	cr_assert_eq(items[0].view.match.created, T0);
	cr_assert_eq(items[0].view.n_others, 1);
	cr_assert_eq(items[0].view.others[0].org, jz->sid);
	cr_assert_str_eq(items[0].view.others[0].contact.name, "Contact jz");
	cr_assert_eq(items[1].view.match.id, b);
	cr_assert_eq(items[1].view.others[0].org, vt->sid);
	cr_assert_eq(items[2].view.match.id, d);
	cr_assert_eq(items[2].view.match.coordinated, 1);
	cr_assert_eq(items[2].view.match.escalated, 0);
	store_work_free(items, n);

	/* Filters. */
	cr_assert_eq(worklist(wijk, 0, STORE_WORK_UNCOORDINATED, 100, 8, ids,
	    &next), 2);
	cr_assert_eq(ids[0], a);
	cr_assert_eq(ids[1], b);
	cr_assert_eq(worklist(wijk, 0, STORE_WORK_ESCALATED, 100, 8, ids,
	    &next), 2);
	cr_assert_eq(worklist(wijk, 0, STORE_WORK_ESCALATED |
	    STORE_WORK_UNCOORDINATED, 100, 8, ids, &next), 2);

	/* Pages of one, and a bounded visit that goes on where it stopped. */
	cr_assert_eq(worklist(wijk, 0, 0, 100, 1, ids, &next), 1);
	cr_assert_eq(ids[0], a);
	cr_assert_eq(next, s1);
	cr_assert_eq(worklist(wijk, next, 0, 100, 1, ids, &next), 1);
	cr_assert_eq(ids[0], b);
	cr_assert_eq(next, s2);
	cr_assert_eq(worklist(wijk, s1, 0, 2, 8, ids, &next), 1);
	cr_assert_eq(ids[0], b);
	cr_assert_eq(next, s3, "stopped after visiting two signals");
	cr_assert_eq(worklist(wijk, next, 0, 2, 8, ids, &next), 1);
	cr_assert_eq(ids[0], d);
	cr_assert_eq(next, 0);

	/* Need to know: jz sees its own two, nothing of wijk's others. */
	cr_assert_eq(worklist(jz, 0, 0, 100, 8, ids, &next), 2);
	cr_assert_eq(ids[0], a);
	cr_assert_eq(ids[1], c);
	cr_assert_eq(worklist(esc, 0, 0, 100, 8, ids, &next), 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- archive purge ----------------------------------------------------- */

TestSuite(purge, .init = setup_started, .fini = teardown);

Test(purge, archived_signals_are_purged_after_archive_secs)
{
	struct store_sweep_out out;
	struct store_sweep_in in;
	char outcome[32];

	must_register(wijk, 1, T0 - 10, NULL);
	must_register(jz, 2, T0 - 10, NULL);
	must_register(vt, 3, T0 - 10, NULL);
	must_withdraw(wijk, 1, RISK_RESOLVED, T0);
	must_withdraw(jz, 2, RISK_RESOLVED, T0 + 500);
	must_withdraw(vt, 3, UNJUSTIFIED, T0 + 500);
	cr_assert_eq(counts().archived, 2);

	in = sweep_at(T0 + 999, 100);
	in.archive_secs = 1000;
	out = sweep_with(&in);
	cr_assert_eq(out.purged, 0);
	cr_assert_eq(counts().archived, 2);
	cr_assert_eq(audit_count("purge", NULL, 0), 0);

	/* The one archived at T0 is older than 1000 s; the other is kept. */
	in.now = T0 + 1200;
	out = sweep_with(&in);
	cr_assert_eq(out.purged, 1);
	cr_assert_eq(out.more, 0);
	cr_assert_eq(counts().archived, 1);
	cr_assert_eq(audit_count("purge", outcome, sizeof(outcome)), 1);
	cr_assert_str_eq(outcome, "archive:1 outbox_unacked:0");

	in.now = T0 + 1600;
	out = sweep_with(&in);
	cr_assert_eq(out.purged, 1);
	cr_assert_eq(counts().archived, 0);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(purge, a_pass_purges_at_most_max)
{
	struct store_sweep_out out;
	struct store_sweep_in in;

	for (unsigned y = 1; y <= 3; y++) {
		must_register(wijk, y, T0 - 10, NULL);
		must_withdraw(wijk, y, RISK_RESOLVED, T0);
	}
	in = sweep_at(T0 + 2000, 2);
	in.archive_secs = 1000;
	out = sweep_with(&in);
	cr_assert_eq(out.purged, 2);
	cr_assert_eq(out.more, 1);
	out = sweep_with(&in);
	cr_assert_eq(out.purged, 1);
	cr_assert_eq(out.more, 0);
	cr_assert_eq(counts().archived, 0);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- outbox pruning ---------------------------------------------------- */

TestSuite(prune, .init = setup_started, .fini = teardown);

/* The seqs still in o's outbox, as a number with one digit per row. */
static uint64_t
kept(const struct org *o)
{
	struct rows r = rows_after(o, 0);
	uint64_t digits = 0;

	for (size_t i = 0; i < r.n; i++)
		digits = digits * 10 + r.v[i]->seq;
	rows_free(&r);
	return digits;
}

Test(prune, rows_go_when_every_consumer_acked_or_retention_ran_out)
{
	struct store_sweep_out out;
	struct store_sweep_in in;
	char outcome[32];

	/* wijk and jz: rows 1-3 at T0+1..3; vt and huisarts: row 1 at T0+4. */
	three_matches();
	must_register(ha, 4, T0, NULL);
	must_register(vt, 4, T0 + 4, NULL);
	in = sweep_at(T0 + 100, 100);
	in.outbox_retention = 1000;

	/* wijk acked all, its partner nothing; jz acked two. */
	must_ack(wijk, wijk, 3);
	must_ack(jz, jz, 2);
	out = sweep_with(&in);
	cr_assert_eq(out.pruned, 2);
	cr_assert_eq(out.pruned_unacked, 0);
	cr_assert_eq(kept(wijk), 123);
	cr_assert_eq(kept(jz), 3);
	cr_assert_eq(kept(ha), 1);
	cr_assert_eq(kept(vt), 1);
	audit_clean();

	/* The partner catches up to 2. */
	must_ack(casus, wijk, 2);
	out = sweep_with(&in);
	cr_assert_eq(out.pruned, 2);
	cr_assert_eq(kept(wijk), 3);
	cr_assert_eq(audit_count("purge", NULL, 0), 0);

	/* Newer rows at T0+500: wijk 4, jz 4. */
	must_register(wijk, 5, T0 + 500, NULL);
	must_register(jz, 5, T0 + 500, NULL);

	/* At T0+1004 rows from before T0+4 are past the retention. */
	in.now = T0 + 1004;
	out = sweep_with(&in);
	cr_assert_eq(out.pruned, 0);
	cr_assert_eq(out.pruned_unacked, 2);
	cr_assert_eq(kept(wijk), 4);
	cr_assert_eq(kept(jz), 4);
	cr_assert_eq(kept(ha), 1);
	cr_assert_eq(kept(vt), 1);
	cr_assert_eq(audit_count("purge", outcome, sizeof(outcome)), 1);
	cr_assert_str_eq(outcome, "archive:0 outbox_unacked:2");
	audit_clean();

	/* Nobody consumes huisarts' outbox: retention alone removes it. */
	in.now = T0 + 1005;
	out = sweep_with(&in);
	cr_assert_eq(out.pruned_unacked, 2);
	cr_assert_eq(kept(ha), 0);
	cr_assert_eq(kept(vt), 0);

	/* Pruning never reuses a seq. */
	must_register(wijk, 6, T0 + 1100, NULL);
	must_register(jz, 6, T0 + 1100, NULL);
	cr_assert_eq(kept(wijk), 45);
	expect_position(wijk, wijk, 3, 5);
	expect_position(casus, wijk, 2, 5);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(prune, a_pass_prunes_at_most_max)
{
	struct store_sweep_out out;

	three_matches();
	must_ack(wijk, wijk, 3);
	must_ack(casus, wijk, 3);
	out = sweep(T0 + 100, 2);
	cr_assert_eq(out.pruned, 2);
	cr_assert_eq(out.more, 1);
	out = sweep(T0 + 100, 2);
	cr_assert_eq(out.pruned, 1);
	cr_assert_eq(out.more, 0);
	cr_assert_eq(kept(wijk), 0);
	cr_assert_eq(kept(jz), 123);
	audit_clean();
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- the subscription window ------------------------------------------- */

static uint64_t
room(uint64_t base, uint64_t acked, uint64_t sent, unsigned window)
{
	struct sub_recipient r = { NULL, base, sent, acked };

	return notify_room(&r, window);
}

Test(window, nothing_in_flight_leaves_the_whole_window)
{
	cr_assert_eq(room(0, 0, 0, 1000), 1000);
	cr_assert_eq(room(7, 7, 7, 10), 10);
	cr_assert_eq(room(0, 5, 5, 10), 10);
	cr_assert_eq(room(0, 0, 0, 1), 1);
}

Test(window, what_is_sent_and_not_acked_takes_room)
{
	cr_assert_eq(room(0, 0, 3, 10), 7);
	cr_assert_eq(room(0, 2, 5, 10), 7);
	cr_assert_eq(room(0, 4, 13, 10), 1);
	cr_assert_eq(room(0, 3, 13, 10), 0);
	/* More in flight than the window (it was made smaller): none. */
	cr_assert_eq(room(0, 0, 50, 10), 0);
	cr_assert_eq(room(0, 0, 5, 0), 0);
}

Test(window, acks_from_before_the_stream_count_from_its_base)
{
	/* Resumed after 100: rows up to 100 were never sent on this stream. */
	cr_assert_eq(room(100, 0, 100, 10), 10);
	cr_assert_eq(room(100, 40, 104, 10), 6);
	cr_assert_eq(room(100, 40, 110, 10), 0);
	/* An ack past the base moves the floor. */
	cr_assert_eq(room(100, 105, 110, 10), 5);
}

Test(window, acks_beyond_what_was_sent_leave_the_whole_window)
{
	/* Another connection acked further than this one has sent. */
	cr_assert_eq(room(0, 9, 4, 10), 10);
	cr_assert_eq(room(5, 0, 3, 10), 10);
	cr_assert_eq(room(0, UINT64_MAX - 1, UINT64_MAX, 10), 9);
}
