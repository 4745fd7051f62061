/*
 * Faults against the real daemon: the store's map fills up, the disk under
 * it fills up, vixd is stopped with registrations in flight, and it is
 * killed with -9 while sweeps and reloads run with its clock two days
 * ahead. Whatever fails must fail with a clear answer, nothing
 * acknowledged may be lost, reads go on, and the audit chain and the
 * outboxes stay whole. Randomness is seeded with a printed seed
 * (VIX_TEST_SEED repeats a run); no BSN is ever printed.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"
#include "orgs.h"
#include "pseudonym.h"
#include "rules.h"
#include "store.h"

#define MAX_BSNS	1024
#define WINDOW		16	/* registrations in flight per connection */
#define FULL_STREAK	5	/* refusals in a row: the store is full */

static struct vixd_proc vixd;
static char bsns[MAX_BSNS][16];
static size_t nbsns;
static char mounted[PATH_MAX];	/* a tmpfs to unmount, even on failure */

/* snprintf into an array, failing the test rather than cutting a path. */
#define FMT(buf, ...) cr_assert_lt(snprintf((buf), sizeof(buf), __VA_ARGS__), \
	(int)sizeof(buf), "path too long")

static void
load_bsns(void)
{
	nbsns = harness_load_bsns(bsns, MAX_BSNS);
	cr_assert_geq(nbsns, 900, "too few synthetic BSNs");
}

static void
fini(void)
{
	harness_stop_keep(&vixd);
	if (mounted[0] != '\0') {
		if (umount2(mounted, 0) == -1 &&
		    umount2(mounted, MNT_DETACH) == -1)
			cr_log_error("cannot unmount %s: %s", mounted,
			    strerror(errno));
		mounted[0] = '\0';
	}
	harness_stop(&vixd);
}

TestSuite(faults, .init = load_bsns, .fini = fini, .timeout = 240);

/* ---- helpers -------------------------------------------------------- */

static const char *
write_conf(const char *name, const char *text)
{
	static char path[PATH_MAX];
	FILE *fp;

	FMT(path, "%s/%s", vixd.dir, name);
	cr_assert_not_null(fp = fopen(path, "w"), "%s: %s", path,
	    strerror(errno));
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* The next Response (notifications are dropped), or NULL at the end. */
static Vix__V1__ServerMessage *
next_response(SSL *ssl)
{
	Vix__V1__ServerMessage *m;
	int end;

	while ((m = harness_recv(ssl, &end)) != NULL) {
		if (m->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE)
			return m;
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	return NULL;
}

static int
status_of(const Vix__V1__Response *r)
{
	return r->status == NULL ? 0 : (int)r->status->code;
}

static const char *
message_of(const Vix__V1__Response *r)
{
	return r->status == NULL || r->status->message == NULL ? "" :
	    r->status->message;
}

/* One registration and what became of it. */
struct reg {
	size_t		youth;		/* index into bsns */
	int		org;		/* 0 org-a, 1 org-b */
	int		answered;
	int		code;		/* vix.v1.Status.Code */
	uint64_t	signal_id;
	int64_t		expires;
	int		bound;
	uint64_t	match_id;
	char		message[256];
};

static const char *const org_names[] = { "org-a", "org-b" };

/* Acknowledged, and not withdrawn since. */
static int
acked(const struct reg *g)
{
	return g->answered && g->code == 0 && g->signal_id != 0;
}

static void
send_register(SSL *ssl, uint64_t id, const struct reg *g, const char *birth,
    uint32_t days)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register r = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact contact = VIX__V1__CONTACT__INIT;
	char ref[65];

	/* Records of a realistic size, at the upper end. */
	snprintf(ref, sizeof(ref), "y%zu-%s-dossier-%048d", g->youth,
	    org_names[g->org], 0);
	contact.name = "Contactpersoon van het wijkteam jeugd en gezin, "
	    "regio Noord, team Oost";
	contact.phone = "+31 (0)50 123 4567";
	contact.email = "contactpersoon.wijkteam.jeugd.en.gezin@"
	    "regio-noord.gemeente.example.org";
	r.bsn = bsns[g->youth];
	r.birth_date = (char *)birth;
	r.duration_days = days;
	r.contact = &contact;
	r.client_ref = ref;
	r.municipality = "0363";
	req.id = id;
	req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req.register_ = &r;
	harness_send_request(ssl, &req);
}

static void
record_answer(struct reg *g, const Vix__V1__Response *r)
{
	g->answered = 1;
	g->code = status_of(r);
	snprintf(g->message, sizeof(g->message), "%s", message_of(r));
	harness_redact(g->message);
	if (g->code != 0 || r->body_case != VIX__V1__RESPONSE__BODY_REGISTER)
		return;
	g->signal_id = r->register_->signal_id;
	g->expires = r->register_->expires;
	g->bound = (int)r->register_->expiry_bound;
	if (r->register_->match != NULL)
		g->match_id = r->register_->match->match_id;
}

/*
 * Register regs[0..n) over ssl with at most window in flight (request id:
 * index + 1). Returns how many were answered: all, unless the connection
 * ended first.
 */
static size_t
register_all(SSL *ssl, struct reg *regs, size_t n, size_t window,
    const char *birth, uint32_t days)
{
	Vix__V1__ServerMessage *m;
	size_t sent = 0, answered = 0;

	while (answered < n) {
		while (sent < n && sent - answered < window) {
			send_register(ssl, sent + 1, &regs[sent], birth, days);
			sent++;
		}
		if ((m = next_response(ssl)) == NULL)
			break;
		cr_assert(m->response->id >= 1 && m->response->id <= n,
		    "an answer to a request never sent: %llu",
		    (unsigned long long)m->response->id);
		record_answer(&regs[m->response->id - 1], m->response);
		vix__v1__server_message__free_unpacked(m, NULL);
		answered++;
	}
	return answered;
}

static void
vixctl(struct run_result *r, const char *const *args)
{
	const char *argv[16];
	char sock[PATH_MAX];
	size_t n = 0;

	cr_assert_not_null(argv[n++] = getenv("VIXCTL"), "VIXCTL must be "
	    "set (run through meson test)");
	argv[n++] = "-s";
	argv[n++] = harness_dev_file(&vixd, "control.sock", sock, sizeof(sock));
	for (; *args != NULL && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	harness_run(r, argv);
	harness_redact(r->out);
	harness_redact(r->err);
}

static void
audit_verifies(const char *when)
{
	struct run_result r;

	vixctl(&r, (const char *[]){ "audit", "verify", NULL });
	cr_assert_eq(r.status, 0, "%s: vixctl audit verify exits %d: %s%s",
	    when, r.status, r.out, r.err);
	cr_assert_not_null(strstr(r.out, "audit chain intact"), "%s: %s",
	    when, r.out);
}

/* vix as org; the output is redacted before anyone sees it. */
static void
vix(struct run_result *r, const char *org, const char *const *args)
{
	harness_vix(r, &vixd, org, args);
	harness_redact(r->out);
	harness_redact(r->err);
}

static void
vix_ok(struct run_result *r, const char *org, const char *const *args)
{
	vix(r, org, args);
	cr_assert_eq(r->status, 0, "vix %s as %s: exit %d: %s", args[0], org,
	    r->status, r->err);
}

static int
vixd_alive(void)
{
	int status;

	return vixd.pid > 0 && waitpid(vixd.pid, &status, WNOHANG) == 0;
}

static void
assert_alive(const char *when)
{
	char log[65536];

	cr_assert(vixd_alive(), "%s: vixd died; its log:\n%s", when,
	    harness_redact((char *)harness_log(&vixd, log, sizeof(log))));
}

/*
 * The load is the point of these tests, not the rate limit and the daily
 * cap (on by default): both off, explicitly.
 */
#define UNLIMITED	"[server]\nrate_limit = 0\nmax_new_signals_per_day = 0\n"

/* ---- filling the store up ------------------------------------------- */

struct fill {
	struct reg	regs[2][MAX_BSNS];	/* [org][youth] */
	struct reg	retry[MAX_BSNS];
	size_t		acked[2];
	size_t		refused;
	size_t		withdrawn;	/* while full */
	char		first_refusal[256];
	const char	*limit;		/* what a refusal must name */
	const char	*log_says;	/* what vixd's log must say, or NULL */
};

/* Refused: RESOURCE_EXHAUSTED naming the limit, and nothing else. */
static void
check_answer(struct fill *f, const struct reg *g)
{
	cr_assert(g->answered, "registration of youth %zu by %s was never "
	    "answered", g->youth, org_names[g->org]);
	if (g->code == 0) {
		cr_assert_gt(g->signal_id, 0);
		f->acked[g->org]++;
		return;
	}
	cr_assert_eq(g->code, VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED,
	    "a registration failed with code %d, not RESOURCE_EXHAUSTED: %s",
	    g->code, g->message);
	cr_assert_not_null(strstr(g->message, f->limit), "the refusal does "
	    "not name %s: %s", f->limit, g->message);
	cr_assert_not_null(strstr(g->message, "nothing was changed"),
	    "the refusal does not say nothing was stored: %s", g->message);
	if (f->refused++ == 0)
		snprintf(f->first_refusal, sizeof(f->first_refusal), "%s",
		    g->message);
}

/*
 * Both organisations register every youth, a chunk at a time (org-a's,
 * then org-b's, so that matches and notifications grow too), pipelined,
 * until the store refuses; then one at a time until FULL_STREAK refusals
 * in a row.
 */
static void
fill_store(struct fill *f)
{
	SSL *ssl[2] = { harness_connect_as(&vixd, "org-a"), harness_connect_as(&vixd, "org-b") };
	size_t streak = 0;

	for (int o = 0; o < 2; o++)
		for (size_t y = 0; y < nbsns; y++)
			f->regs[o][y] = (struct reg){ .youth = y, .org = o };
	for (size_t y = 0; y < nbsns && f->refused == 0; y += WINDOW) {
		size_t n = nbsns - y < WINDOW ? nbsns - y : WINDOW;

		for (int o = 0; o < 2; o++) {
			register_all(ssl[o], &f->regs[o][y], n, WINDOW,
			    "2015-03-01", 0);
			for (size_t i = 0; i < n; i++)
				check_answer(f, &f->regs[o][y + i]);
		}
	}
	cr_assert_gt(f->refused, 0, "all %zu registrations fit: the store "
	    "never filled up", f->acked[0] + f->acked[1]);
	/* The rest one at a time: a small commit may still fit for a while. */
	for (size_t y = 0; y < nbsns && streak < FULL_STREAK; y++)
		for (int o = 0; o < 2 && streak < FULL_STREAK; o++) {
			struct reg *g = &f->regs[o][y];

			if (acked(g))
				continue;
			*g = (struct reg){ .youth = y, .org = o };
			register_all(ssl[o], g, 1, 1, "2015-03-01", 0);
			check_answer(f, g);
			streak = g->code == 0 ? 0 : streak + 1;
		}
	cr_assert_eq(streak, FULL_STREAK, "the store did not stay full");
	harness_tls_close(ssl[0]);
	harness_tls_close(ssl[1]);
	cr_log_info("%s: %zu + %zu registrations acknowledged, %zu refused; "
	    "first refusal: %s", f->limit, f->acked[0], f->acked[1],
	    f->refused, f->first_refusal);
}

/* ---- what must keep working ----------------------------------------- */

/* A youth both organisations registered (so there is a match). */
static size_t
matched_youth(const struct fill *f, size_t skip)
{
	for (size_t y = 0; y < nbsns; y++)
		if (acked(&f->regs[0][y]) && acked(&f->regs[1][y]) &&
		    skip-- == 0)
			return y;
	cr_assert_fail("no youth was registered by both organisations");
	return 0;
}

/* g's signal is in list, the output of vix --json list as g's org. */
static void
assert_in_list(const char *list, const struct reg *g, const char *when)
{
	char id[48];

	snprintf(id, sizeof(id), "\"signal_id\":%llu,",
	    (unsigned long long)g->signal_id);
	cr_assert_not_null(strstr(list, id), "%s: acknowledged signal %llu of "
	    "%s is not listed", when, (unsigned long long)g->signal_id,
	    org_names[g->org]);
}

static void
assert_listed(const struct fill *f, int o, const char *when)
{
	struct run_result r;
	size_t want = 0;

	vix_ok(&r, org_names[o], (const char *[]){ "--json", "list", NULL });
	for (size_t y = 0; y < nbsns; y++) {
		const struct reg *g = &f->regs[o][y];

		if (!acked(g))
			continue;
		want++;
		assert_in_list(r.out, g, when);
	}
	cr_assert_eq((size_t)harness_count(r.out, "\"signal_id\":"), want,
	    "%s: %s lists %d signals, %zu were acknowledged", when,
	    org_names[o], harness_count(r.out, "\"signal_id\":"), want);
}

static Vix__V1__ServerMessage *
request(SSL *ssl, Vix__V1__Request *req)
{
	Vix__V1__ServerMessage *m;

	harness_send_request(ssl, req);
	cr_assert_not_null(m = next_response(ssl), "no answer to request "
	    "%llu", (unsigned long long)req->id);
	cr_assert_eq(m->response->id, req->id);
	return m;
}

/*
 * Subscribe as org-a from the start, receive the first notification and
 * acknowledge it. want_ack: the ack must succeed (else it must at least be
 * answered clearly).
 */
static void
subscribe_and_ack(int want_ack, const char *when)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__Ack ack = VIX__V1__ACK__INIT;
	Vix__V1__ServerMessage *m;
	SSL *ssl = harness_connect_as(&vixd, "org-a");
	int end, code;

	sub.from_seq = 1;
	req.id = 1;
	req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	m = request(ssl, &req);
	cr_assert_eq(status_of(m->response), 0, "%s: subscribe: %s", when,
	    message_of(m->response));
	cr_assert_gt(m->response->subscribe->positions[0]->last, 0,
	    "%s: org-a has no notifications at all", when);
	vix__v1__server_message__free_unpacked(m, NULL);
	cr_assert_not_null(m = harness_recv(ssl, &end), "%s: no "
	    "notification came", when);
	cr_assert_eq(m->msg_case, VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION);
	cr_assert_eq(m->notification->seq, 1);
	vix__v1__server_message__free_unpacked(m, NULL);

	ack.recipient = "org-a";
	ack.seq = 1;
	req.id = 2;
	req.body_case = VIX__V1__REQUEST__BODY_ACK;
	req.ack = &ack;
	m = request(ssl, &req);
	code = status_of(m->response);
	if (want_ack) {
		cr_assert_eq(code, 0, "%s: ack refused: %s", when,
		    message_of(m->response));
		cr_assert_eq(m->response->ack->acked, 1);
	} else
		cr_assert(code == 0 ||
		    code == VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED,
		    "%s: ack: code %d: %s", when, code,
		    message_of(m->response));
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(ssl);
}

static void
send_withdraw(SSL *ssl, uint64_t id, uint64_t signal_id)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Withdraw wd = VIX__V1__WITHDRAW__INIT;

	wd.signal_id = signal_id;
	wd.reason = VIX__V1__WITHDRAW__REASON__UNJUSTIFIED;
	req.id = id;
	req.body_case = VIX__V1__REQUEST__BODY_WITHDRAW;
	req.withdraw = &wd;
	harness_send_request(ssl, &req);
}

#define BURST	8
#define REG_ID	1000	/* request ids of the burst's registrations */

static void
burst_withdrawal(const Vix__V1__Response *r, struct reg *g, int want_ok,
    const char *when, size_t *withdrawn)
{
	int code = status_of(r);

	if (want_ok)
		cr_assert_eq(code, 0, "%s: a withdrawal failed while the store "
		    "is full: %s", when, message_of(r));
	else
		cr_assert(code == 0 ||
		    code == VIX__V1__STATUS__CODE__RESOURCE_EXHAUSTED,
		    "%s: withdrawal: code %d: %s", when, code, message_of(r));
	if (code == 0) {
		g->signal_id = 0;	/* gone */
		(*withdrawn)++;
	}
}

/*
 * Withdrawals and registrations that do not fit, interleaved on one
 * connection, so that they share commits. The withdrawals must succeed
 * (want_ok) or at least be answered clearly; withdrawn signals are marked
 * in f, registrations that fit after all are recorded.
 */
static void
withdraw_while_registering(struct fill *f, int want_ok, const char *when)
{
	SSL *a = harness_connect_as(&vixd, "org-a");
	struct reg *regs[BURST], burst[BURST], *wd[BURST];
	Vix__V1__ServerMessage *m;
	size_t nr = 0, nw = 0;
	uint64_t id;

	for (size_t y = 0; y < nbsns && nr < BURST; y++)
		if (!acked(&f->regs[0][y]))
			regs[nr++] = &f->regs[0][y];
	/* org-a's newest signals: some alone, some in a match. */
	for (size_t y = nbsns; y-- > 0 && nw < BURST;)
		if (acked(&f->regs[0][y]))
			wd[nw++] = &f->regs[0][y];
	cr_assert_eq(nr, BURST);
	cr_assert_eq(nw, BURST);
	for (size_t i = 0; i < BURST; i++) {
		burst[i] = (struct reg){ .youth = regs[i]->youth, .org = 0 };
		send_register(a, REG_ID + i, &burst[i], "2015-03-01", 0);
		send_withdraw(a, 1 + i, wd[i]->signal_id);
	}
	for (size_t i = 0; i < 2 * BURST; i++) {
		cr_assert_not_null(m = next_response(a), "%s: %zu of %d "
		    "requests answered", when, i, 2 * BURST);
		id = m->response->id;
		if (id >= REG_ID && id < REG_ID + BURST)
			record_answer(&burst[id - REG_ID], m->response);
		else {
			cr_assert(id >= 1 && id <= BURST);
			burst_withdrawal(m->response, wd[id - 1], want_ok,
			    when, &f->withdrawn);
		}
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	for (size_t i = 0; i < BURST; i++) {
		check_answer(f, &burst[i]);
		*regs[i] = burst[i];
	}
	harness_tls_close(a);
}

/* Every read, and (want_writes) every other write, while the store is full. */
static void
still_serving(struct fill *f, int want_writes, const char *when)
{
	static char log[1 << 20];
	char bsn[16];
	struct run_result r;

	harness_log(&vixd, log, sizeof(log));
	if (f->log_says != NULL)
		cr_assert_not_null(strstr(log, f->log_says), "%s: the log does "
		    "not say '%s':\n%s", when, f->log_says, harness_redact(log));

	vix_ok(&r, "org-a", (const char *[]){ "ping", NULL });
	vix_ok(&r, "org-b", (const char *[]){ "ping", NULL });
	assert_listed(f, 0, when);
	assert_listed(f, 1, when);
	snprintf(bsn, sizeof(bsn), "%s", bsns[matched_youth(f, 0)]);
	vix(&r, "org-a", (const char *[]){ "involved", "--bsn", bsn, NULL });
	if (want_writes || r.status == 0) {
		cr_assert_eq(r.status, 0, "%s: involved: %s", when, r.err);
		cr_assert_not_null(strstr(r.out, "org-b"), "%s: %s", when,
		    r.out);
	} else
		cr_assert_not_null(strstr(r.err, "RESOURCE_EXHAUSTED"), "%s: "
		    "involved: %s", when, r.err);
	subscribe_and_ack(want_writes, when);
	withdraw_while_registering(f, want_writes, when);
	assert_alive(when);
	cr_log_info("%s: %zu of %d withdrawals done, %d commits ran again "
	    "without their registrations", when, f->withdrawn, BURST,
	    harness_count(harness_log(&vixd, log, sizeof(log)),
	    "run again without them"));
}

/* After the limit was raised: everything is there and new work fits. */
static void
after_raising(struct fill *f, const char *when)
{
	char data[PATH_MAX], tool[] = "/usr/bin/mdb_stat";
	struct run_result r;
	SSL *b;
	size_t n = 0;

	assert_listed(f, 0, when);
	assert_listed(f, 1, when);
	audit_verifies(when);
	FMT(data, "%s/data", vixd.dev_dir);
	cr_assert_eq(access(tool, X_OK), 0, "mdb_stat is needed (Debian "
	    "package lmdb-utils)");
	harness_run(&r, (const char *[]){ tool, "-ef", data, NULL });
	cr_assert_eq(r.status, 0, "%s: mdb_stat: %s", when, r.err);
	cr_assert_not_null(strstr(r.out, "Freelist Status"), "%s", r.out);

	/* Every youth org-b could not register now fits. */
	for (size_t y = 0; y < nbsns; y++)
		if (!acked(&f->regs[1][y]))
			f->retry[n++] = (struct reg){ .youth = y, .org = 1 };
	cr_assert_gt(n, 0);
	b = harness_connect_as(&vixd, "org-b");
	cr_assert_eq(register_all(b, f->retry, n, WINDOW, "2015-03-01", 0), n);
	harness_tls_close(b);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(f->retry[i].code, 0, "%s: a registration is "
		    "refused after the limit was raised: %s", when,
		    f->retry[i].message);
		f->regs[1][f->retry[i].youth] = f->retry[i];
	}
	assert_listed(f, 1, when);
	audit_verifies(when);
}

/* ---- 1: the map fills up -------------------------------------------- */

Test(faults, a_full_map_refuses_registrations_and_serves_the_rest)
{
	static struct fill f = { .limit = "map_size" };

	harness_start(&vixd, NULL);
	harness_restart_with(&vixd, (const char *[]){ "-c", write_conf(
	    "small.conf", "[store]\nmap_size = 2097152\n" UNLIMITED), NULL });
	fill_store(&f);
	still_serving(&f, 1, "map full");

	cr_assert_eq(harness_stop_keep(&vixd), 0, "vixd did not stop cleanly "
	    "with a full store");
	harness_restart_with(&vixd, (const char *[]){ "-c", write_conf(
	    "big.conf", "[store]\nmap_size = 16777216\n" UNLIMITED), NULL });
	after_raising(&f, "map_size raised");
}

/* ---- 2: the disk fills up ------------------------------------------- */

static void
copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	cr_assert(in >= 0, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert(out >= 0, "%s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert_eq(write(out, buf, (size_t)n), n, "%s: %s", to,
		    strerror(errno));
	cr_assert_eq(n, 0, "%s: %s", from, strerror(errno));
	cr_assert_eq(close(out), 0, "%s: %s", to, strerror(errno));
	close(in);
}

/* Put the (stopped) vixd's store on a tmpfs of the given size. */
static void
store_on_tmpfs(const char *size)
{
	char data[PATH_MAX], orig[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
	char opts[64];

	FMT(data, "%s/data", vixd.dev_dir);
	FMT(orig, "%s/data.orig", vixd.dev_dir);
	cr_assert_eq(rename(data, orig), 0, "%s: %s", data, strerror(errno));
	cr_assert_eq(mkdir(data, 0700), 0, "%s: %s", data, strerror(errno));
	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (mount("vix-test", data, "tmpfs", MS_NOSUID | MS_NODEV, opts) == -1)
		cr_assert_fail("mount -t tmpfs -o %s on %s failed: %s; this "
		    "test needs root (CAP_SYS_ADMIN) to put the store on a "
		    "small file system", opts, data, strerror(errno));
	snprintf(mounted, sizeof(mounted), "%s", data);
	FMT(from, "%s/data.mdb", orig);
	FMT(to, "%s/data.mdb", data);
	copy_file(from, to);
}

static void
resize_tmpfs(const char *size)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	cr_assert_eq(mount("vix-test", mounted, "tmpfs", MS_REMOUNT | MS_NOSUID |
	    MS_NODEV, opts), 0, "remount %s with %s: %s", mounted, opts,
	    strerror(errno));
}

Test(faults, a_full_disk_refuses_registrations_and_loses_nothing)
{
	static struct fill f = { .limit = "disk",
	    .log_says = "free space on" };

	harness_start(&vixd, NULL);
	cr_assert_eq(harness_stop_keep(&vixd), 0);
	store_on_tmpfs("512k");
	harness_restart_with(&vixd, (const char *[]){ "-c", write_conf(
	    "unlimited.conf", UNLIMITED), NULL });
	fill_store(&f);
	assert_alive("disk full");
	still_serving(&f, 0, "disk full");

	resize_tmpfs("16m");
	cr_assert_eq(harness_stop_keep(&vixd), 0, "vixd did not stop cleanly "
	    "after the disk was full");
	harness_restart_with(&vixd, (const char *[]){ "-c", write_conf(
	    "unlimited.conf", UNLIMITED), NULL });
	after_raising(&f, "disk space freed");
}

/* ---- 2b: a stop with registrations in flight ---------------------- */

#define STOP_ROUNDS	6
#define STOP_CONNS	4	/* org-a, org-b, org-a, org-b */

/* Every acknowledged registration of org o is listed, and no more than sent. */
static void
assert_kept(struct reg regs[][STOP_CONNS][WINDOW], int o)
{
	struct run_result r;
	char when[32];
	size_t acks = 0, sent = 0;

	vix_ok(&r, org_names[o], (const char *[]){ "--json", "list", NULL });
	for (int k = 0; k < STOP_ROUNDS; k++) {
		snprintf(when, sizeof(when), "after stop %d", k);
		for (int c = o; c < STOP_CONNS; c += 2)
			for (int i = 0; i < WINDOW; i++) {
				const struct reg *g = &regs[k][c][i];

				sent++;
				if (!acked(g))
					continue;
				acks++;
				assert_in_list(r.out, g, when);
			}
	}
	cr_assert_geq((size_t)harness_count(r.out, "\"signal_id\":"), acks);
	cr_assert_leq((size_t)harness_count(r.out, "\"signal_id\":"), sent,
	    "%s lists more signals than it sent", org_names[o]);
}

/*
 * SIGTERM while connections have registrations on their way to the writer:
 * each is answered (stored, or refused because the index shuts down) or
 * goes with its connection unanswered; vixd exits 0, and after a restart
 * every acknowledged one is there. The rounds give the signal a little
 * more time each, so that it meets the requests at different points.
 */
Test(faults, a_stop_with_registrations_in_flight_keeps_what_it_acknowledged)
{
	static struct reg regs[STOP_ROUNDS][STOP_CONNS][WINDOW];
	const char *conf;
	Vix__V1__ServerMessage *m;
	SSL *ssl[STOP_CONNS];
	size_t answered = 0, acks = 0;
	int status;

	harness_start(&vixd, NULL);
	conf = write_conf("unlimited.conf", UNLIMITED);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	signal(SIGPIPE, SIG_IGN);	/* the stop may close a connection */
	for (int k = 0; k < STOP_ROUNDS; k++) {
		for (int c = 0; c < STOP_CONNS; c++) {
			ssl[c] = harness_connect_as(&vixd, org_names[c % 2]);
			for (int i = 0; i < WINDOW; i++) {
				struct reg *g = &regs[k][c][i];

				/* Both organisations register each youth. */
				*g = (struct reg){ .youth = (size_t)((2 * k +
				    c / 2) * WINDOW + i), .org = c % 2 };
				send_register(ssl[c], (uint64_t)i + 1, g,
				    "2015-03-01", 0);
			}
		}
		/*
		 * Odd rounds: the first answer is in, the rest on their way.
		 * Even rounds: a moment after sending, 0 to 8 ms.
		 */
		if (k % 2 == 1) {
			cr_assert_not_null(m = next_response(ssl[0]), "round "
			    "%d: no answer before the stop", k);
			cr_assert(m->response->id >= 1 &&
			    m->response->id <= WINDOW);
			record_answer(&regs[k][0][m->response->id - 1],
			    m->response);
			vix__v1__server_message__free_unpacked(m, NULL);
		} else
			harness_sleep_ms(k * 2);
		kill(vixd.pid, SIGTERM);
		for (int c = 0; c < STOP_CONNS; c++) {
			while ((m = next_response(ssl[c])) != NULL) {
				uint64_t id = m->response->id;

				cr_assert(id >= 1 && id <= WINDOW, "round %d: an "
				    "answer to a request never sent: %llu", k,
				    (unsigned long long)id);
				record_answer(&regs[k][c][id - 1], m->response);
				vix__v1__server_message__free_unpacked(m, NULL);
			}
			harness_tls_close(ssl[c]);
		}
		status = harness_signal_wait(&vixd, 0);
		cr_assert_eq(status, 0, "round %d: vixd exited with %d after "
		    "SIGTERM with requests in flight", k, status);
		for (int c = 0; c < STOP_CONNS; c++)
			for (int i = 0; i < WINDOW; i++) {
				const struct reg *g = &regs[k][c][i];

				if (!g->answered)
					continue;
				answered++;
				acks += acked(g);
				cr_assert(g->code == 0 || g->code ==
				    VIX__V1__STATUS__CODE__UNAVAILABLE, "round "
				    "%d: a registration answered %d during the "
				    "stop: %s", k, g->code, g->message);
			}
		harness_restart_with(&vixd, (const char *[]){ "-c", conf,
		    NULL });
	}
	assert_kept(regs, 0);
	assert_kept(regs, 1);
	audit_verifies("after the stops");
	cr_log_info("stops with requests in flight: %zu of %d registrations "
	    "answered, %zu acknowledged", answered, STOP_ROUNDS * STOP_CONNS *
	    WINDOW, acks);
}

/* ---- 3: kill -9 while sweeps and reloads run ------------------------ */

#define AHEAD		(2 * 86400)	/* vixd's clock runs this far ahead */
#define CYCLES		12
#define PAGE		1000		/* rows read from the store at a time */

/*
 * Youths by what happens to them: a one-day signal (archived as expired
 * once vixd's clock is ahead), one that reaches the 23rd birthday (deleted
 * then), one withdrawn as risk resolved before (archived, then purged after
 * archive_retention), one that stays (its match escalates), and the youths
 * registered while vixd is killed again and again.
 */
enum group { G_DURATION, G_AGE, G_WITHDRAWN, G_STAYS, G_NEW };
static const size_t group_end[] = { 240, 270, 300, 330, MAX_BSNS };

static enum group
group_of(size_t youth)
{
	enum group g = G_DURATION;

	while (youth >= group_end[g])
		g++;
	return g;
}

struct crash {
	struct reg	regs[2][MAX_BSNS];	/* [org][youth] */
	int		swept[2][MAX_BSNS];	/* found gone and checked */
	uint64_t	withdrawn[MAX_BSNS];	/* G_WITHDRAWN: org-a's signal */
	size_t		next_new;		/* next youth of G_NEW */
	size_t		loop_acked;
	int		reloads, aimed, sweeps;
	unsigned	seed;
	int		cycle;
	char		when[64];
	const char	*conf;
};

static const char *
crash_conf(struct crash *c, unsigned chunk)
{
	char text[256];

	snprintf(text, sizeof(text), "[store]\nsweep_interval = 1s\n"
	    "sweep_chunk = %u\n[rules]\nescalate_after = 1d\n"
	    "archive_retention = 1d\n" UNLIMITED, chunk);
	return c->conf = write_conf("crash.conf", text);
}

/* Start (or restart) vixd with its clock two days ahead. */
static void
start_ahead(const char *conf)
{
	harness_restart_faketime(&vixd, "+2d",
	    (const char *[]){ "-c", conf, NULL });
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

/* Register youths [from, to) by org o with birth and days; all must pass. */
static void
register_group(struct crash *c, SSL *ssl, int o, size_t from, size_t to,
    const char *birth, uint32_t days, int bound)
{
	struct reg *g = &c->regs[o][from];

	for (size_t y = from; y < to; y++)
		c->regs[o][y] = (struct reg){ .youth = y, .org = o };
	cr_assert_eq(register_all(ssl, g, to - from, WINDOW, birth, days),
	    to - from);
	for (size_t y = from; y < to; y++) {
		cr_assert_eq(c->regs[o][y].code, 0, "youth %zu by %s: %s", y,
		    org_names[o], c->regs[o][y].message);
		cr_assert_eq(c->regs[o][y].bound, bound, "youth %zu: bound %d",
		    y, c->regs[o][y].bound);
	}
}

/* Before the clock jumps: every group but the new one, withdrawals done. */
static void
crash_prepare(struct crash *c)
{
	SSL *ssl[2] = { harness_connect_as(&vixd, "org-a"), harness_connect_as(&vixd, "org-b") };
	Vix__V1__ServerMessage *m;
	char birth[16];

	birth_date_turning_23_tomorrow(birth, sizeof(birth));
	for (int o = 0; o < 2; o++) {
		register_group(c, ssl[o], o, 0, group_end[G_DURATION],
		    "2015-03-01", 1, VIX__V1__EXPIRY_BOUND__DURATION);
		register_group(c, ssl[o], o, group_end[G_DURATION],
		    group_end[G_AGE], birth, 0, VIX__V1__EXPIRY_BOUND__AGE_23);
		register_group(c, ssl[o], o, group_end[G_WITHDRAWN],
		    group_end[G_STAYS], "2015-03-01", 0,
		    VIX__V1__EXPIRY_BOUND__DURATION);
	}
	register_group(c, ssl[0], 0, group_end[G_AGE], group_end[G_WITHDRAWN],
	    "2015-03-01", 0, VIX__V1__EXPIRY_BOUND__DURATION);
	for (size_t y = group_end[G_AGE]; y < group_end[G_WITHDRAWN]; y++) {
		Vix__V1__Request req = VIX__V1__REQUEST__INIT;
		Vix__V1__Withdraw wd = VIX__V1__WITHDRAW__INIT;

		wd.signal_id = c->regs[0][y].signal_id;
		wd.reason = VIX__V1__WITHDRAW__REASON__RISK_RESOLVED;
		req.id = y + 1;
		req.body_case = VIX__V1__REQUEST__BODY_WITHDRAW;
		req.withdraw = &wd;
		m = request(ssl[0], &req);
		cr_assert_eq(status_of(m->response), 0, "withdraw: %s",
		    message_of(m->response));
		cr_assert(m->response->withdraw->archived);
		vix__v1__server_message__free_unpacked(m, NULL);
		c->withdrawn[y] = c->regs[0][y].signal_id;
		c->regs[0][y].signal_id = 0;
	}
	harness_tls_close(ssl[0]);
	harness_tls_close(ssl[1]);
	c->next_new = group_end[G_STAYS];
}

static uint64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Send the next k new youths, by both organisations (request id: youth + 1). */
static size_t
send_new(struct crash *c, SSL *ssl[2], size_t k)
{
	size_t n = 0;

	for (; n < k && c->next_new < nbsns; n++, c->next_new++)
		for (int o = 0; o < 2; o++) {
			struct reg *g = &c->regs[o][c->next_new];

			*g = (struct reg){ .youth = c->next_new, .org = o };
			send_register(ssl[o], c->next_new + 1, g, "2015-03-01",
			    0);
		}
	return n;
}

static int
take_answer(struct crash *c, SSL *ssl, int o)
{
	Vix__V1__ServerMessage *m = next_response(ssl);
	uint64_t id;

	if (m == NULL)
		return -1;
	id = m->response->id;
	cr_assert(id >= 1 && id <= nbsns && group_of(id - 1) == G_NEW,
	    "%s: an answer to a request never sent", c->when);
	record_answer(&c->regs[o][id - 1], m->response);
	cr_assert_eq(c->regs[o][id - 1].code, 0, "%s: registration refused: "
	    "%s", c->when, c->regs[o][id - 1].message);
	c->loop_acked++;
	vix__v1__server_message__free_unpacked(m, NULL);
	return 0;
}

static void
reload(struct crash *c)
{
	crash_conf(c, c->reloads++ % 2 ? 16 : 24);
	kill(vixd.pid, SIGHUP);
}

/*
 * One life of vixd: registrations trickle in (answers read), at the
 * deadline a last burst goes out unanswered and vixd is killed: at a
 * random moment (after a reload at another random moment, or none), just
 * after a reload, or when the next sweep should be running. A reload
 * starts the sweep timer again (see the report), so the cycles that aim at
 * a sweep do not reload.
 */
static void
crash_cycle(struct crash *c)
{
	static char log[1 << 20];
	SSL *ssl[2] = { harness_connect_as(&vixd, "org-a"), harness_connect_as(&vixd, "org-b") };
	uint64_t ready = ms_now(), deadline, reload_at = 0;
	int mode = rand() % 3;

	if (mode == 1) {
		/* Sweeps run every second after the start. */
		deadline = ready + 1000 * (1 + (uint64_t)(rand() % 2)) +
		    (uint64_t)(rand() % 40);
		c->aimed++;
	} else {
		deadline = ready + 150 + (uint64_t)(rand() % 1850);
		if (mode == 0 && rand() % 2)
			reload_at = ready + (uint64_t)(rand() % 1500);
	}
	while (ms_now() < deadline) {
		size_t n = send_new(c, ssl, 1 + (size_t)(rand() % 2));

		for (size_t i = 0; i < n; i++)
			for (int o = 0; o < 2; o++)
				cr_assert_eq(take_answer(c, ssl[o], o), 0,
				    "%s: the connection ended", c->when);
		if (reload_at != 0 && ms_now() >= reload_at) {
			reload(c);
			reload_at = 0;
		}
		usleep((useconds_t)(20000 + rand() % 40000));
	}
	send_new(c, ssl, 1 + (size_t)(rand() % 4));
	if (mode == 2)
		reload(c);
	usleep((useconds_t)(rand() % 5000));
	kill(vixd.pid, SIGKILL);
	for (int o = 0; o < 2; o++) {
		while (take_answer(c, ssl[o], o) == 0)
			;
		harness_tls_close(ssl[o]);
	}
	cr_assert_eq(harness_signal_wait(&vixd, 0), 128 + SIGKILL,
	    "%s: vixd was already gone before the kill", c->when);
	c->sweeps += harness_count(harness_log(&vixd, log, sizeof(log)),
	    "sweep: ");
}

/* ---- the store as vixd left it (read while vixd is down) ------------- */

struct inspect {
	struct store		*s;
	struct store_reader	*rd;
	struct orgs		*orgs;
	struct pseudonym_ctx	*pc;
	uint32_t		 sid[3];	/* org-a, org-b, partner */
};

static void
inspect_open(struct inspect *in)
{
	char dir[PATH_MAX], path[PATH_MAX];
	unsigned char key[PSEUDONYM_KEY_LEN];
	struct store_options so = { .map_size = 1UL << 30,
	    .quota_percent = 90, .escalate_after = 86400 };
	const char *ids[] = { "org-a", "org-b", "partner" };
	struct diag d;

	FMT(dir, "%s/data", vixd.dev_dir);
	so.dir = dir;
	diag_init(&d);
	cr_assert_not_null(in->s = store_open(&so, &d), "%s", d.text);
	cr_assert_not_null(in->orgs = orgs_load(harness_dev_file(&vixd,
	    "orgs.conf", path, sizeof(path)), &d), "%s", d.text);
	cr_assert_eq(store_bind_orgs(in->s, in->orgs, &d), 0, "%s", d.text);
	for (int i = 0; i < 3; i++) {
		const struct org *o = orgs_by_id(in->orgs, ids[i]);

		cr_assert_not_null(o, "%s is not in orgs.conf", ids[i]);
		in->sid[i] = o->sid;
	}
	cr_assert_eq(pseudonym_key_load(harness_dev_file(&vixd,
	    "pseudonym.key", path, sizeof(path)), key, &d), 0, "%s", d.text);
	cr_assert_not_null(in->pc = pseudonym_ctx_new(key));
	cr_assert_not_null(in->rd = store_reader_new(in->s));
}

static void
inspect_close(struct inspect *in)
{
	store_reader_free(in->rd);
	pseudonym_ctx_free(in->pc);
	orgs_unref(in->orgs);
	store_close(in->s);
}

/* Every active signal of an organisation. */
static size_t
active_signals(struct inspect *in, uint32_t sid, struct store_summary *out,
    size_t max)
{
	uint64_t after = 0, next;
	size_t total = 0, n;

	do {
		cr_assert_lt(total, max, "more active signals than youths");
		cr_assert_eq(store_list(in->rd, sid, after, out + total,
		    max - total < PAGE ? max - total : PAGE, &n, &next), 0);
		total += n;
		after = next;
	} while (next != 0);
	return total;
}

static const struct store_summary *
find_signal(const struct store_summary *v, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].signal_id == id)
			return &v[i];
	return NULL;
}

static void
subject(struct inspect *in, size_t youth, struct store_subject *out)
{
	unsigned char p[PSEUDONYM_LEN];

	cr_assert_eq(pseudonym_compute(in->pc, bsns[youth], 9, p), 0);
	cr_assert_eq(store_subject_report(in->rd, p, out), 0);
}

static const struct store_subject_signal *
subject_signal(const struct store_subject *s, uint64_t id)
{
	for (size_t i = 0; i < s->nsignals; i++)
		if (s->signals[i].signal_id == id)
			return &s->signals[i];
	return NULL;
}

#define ARCHIVE_EXPIRED	3	/* archive reason: expired by duration */

/*
 * A signal that is no longer active went as the rules say: past its
 * expiry; archived as expired if its duration ran out, deleted (not in
 * the archive) at the 23rd birthday; and its match is closed.
 */
static void
check_swept(struct crash *c, struct inspect *in, const struct reg *g,
    int64_t now)
{
	const struct store_subject_signal *a;
	struct store_subject s;

	cr_assert_leq(g->expires, now, "%s: acknowledged signal %llu of %s "
	    "(youth %zu) is gone before its expiry", c->when,
	    (unsigned long long)g->signal_id, org_names[g->org], g->youth);
	subject(in, g->youth, &s);
	a = subject_signal(&s, g->signal_id);
	if (g->bound == VIX__V1__EXPIRY_BOUND__AGE_23)
		cr_assert_null(a, "%s: signal %llu reached the 23rd birthday "
		    "but is still held", c->when,
		    (unsigned long long)g->signal_id);
	else {
		cr_assert_not_null(a, "%s: signal %llu expired but is neither "
		    "active nor archived", c->when,
		    (unsigned long long)g->signal_id);
		cr_assert_neq(a->archived, 0, "%s: signal %llu is active in "
		    "the report but not listed", c->when,
		    (unsigned long long)g->signal_id);
		cr_assert_eq(a->reason, ARCHIVE_EXPIRED, "%s: signal %llu "
		    "archived with reason %d", c->when,
		    (unsigned long long)g->signal_id, a->reason);
	}
	cr_assert_not(s.has_match, "%s: youth %zu still has a match with "
	    "one of its signals gone", c->when, g->youth);
	store_subject_free(&s);
}

struct outbox_scan {
	uint64_t	next;		/* the seq expected next */
	size_t		expired;	/* SIGNAL_EXPIRED rows */
	uint64_t	created[2 * MAX_BSNS];	/* MATCH_CREATED match ids */
	size_t		ncreated;
	uint64_t	escalated[MAX_BSNS];	/* ESCALATION match ids */
	size_t		nescalated;
	const char	*when;
	const char	*org;
};

static int
outbox_row(void *arg, uint64_t seq, const void *msg, size_t len)
{
	struct outbox_scan *x = arg;
	Vix__V1__Notification *n;

	cr_assert_eq(seq, x->next, "%s: %s's outbox: seq %llu where %llu "
	    "was due (a gap)", x->when, x->org, (unsigned long long)seq,
	    (unsigned long long)x->next);
	n = vix__v1__notification__unpack(NULL, len, msg);
	cr_assert_not_null(n, "%s: %s's outbox row %llu does not decode",
	    x->when, x->org, (unsigned long long)seq);
	cr_assert_eq(n->seq, seq);
	if (n->type == VIX__V1__NOTIFICATION__TYPE__SIGNAL_EXPIRED)
		x->expired++;
	else if (n->type == VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED &&
	    x->ncreated < 2 * MAX_BSNS)
		x->created[x->ncreated++] = n->match_id;
	else if (n->type == VIX__V1__NOTIFICATION__TYPE__ESCALATION) {
		for (size_t i = 0; i < x->nescalated; i++)
			cr_assert_neq(x->escalated[i], n->match_id, "%s: match "
			    "%llu escalated twice", x->when,
			    (unsigned long long)n->match_id);
		cr_assert_lt(x->nescalated, MAX_BSNS);
		x->escalated[x->nescalated++] = n->match_id;
	}
	vix__v1__notification__free_unpacked(n, NULL);
	x->next++;
	return 0;
}

/* The whole outbox of a recipient: seq 1 to the last, no gap. */
static void
scan_outbox(struct inspect *in, uint32_t sid, struct outbox_scan *x)
{
	uint64_t acked, last, before;

	x->next = 1;
	cr_assert_eq(store_position(in->rd, sid, sid, &acked, &last), 0);
	do {
		before = x->next;
		cr_assert_eq(store_outbox_read(in->rd, sid, x->next - 1, PAGE,
		    outbox_row, x), 0);
	} while (x->next != before && x->next <= last);
	cr_assert_eq(x->next, last + 1, "%s: %s's outbox ends at %llu, its "
	    "last seq is %llu", x->when, x->org,
	    (unsigned long long)x->next - 1, (unsigned long long)last);
}

static int
contains_id(const uint64_t *v, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return 1;
	return 0;
}

static struct store_summary active[2][MAX_BSNS];
static struct outbox_scan scans[3];

/*
 * Every acknowledged signal is active or was swept as the rules say; no
 * withdrawn one is back. gone[o]: how many of o's are swept.
 */
static void
check_signals(struct crash *c, struct inspect *in, int64_t now,
    size_t gone[2])
{
	size_t nactive[2];

	for (int o = 0; o < 2; o++)
		nactive[o] = active_signals(in, in->sid[o], active[o],
		    MAX_BSNS);
	for (int o = 0; o < 2; o++)
		for (size_t y = 0; y < nbsns; y++) {
			const struct reg *g = &c->regs[o][y];

			if (!acked(g))
				continue;
			if (find_signal(active[o], nactive[o],
			    g->signal_id) != NULL) {
				cr_assert(!c->swept[o][y], "%s: signal %llu is "
				    "back", c->when,
				    (unsigned long long)g->signal_id);
				continue;
			}
			gone[o]++;
			if (!c->swept[o][y])
				check_swept(c, in, g, now);
			c->swept[o][y] = 1;
		}
	for (size_t y = 0; y < nbsns; y++)
		cr_assert(c->withdrawn[y] == 0 || find_signal(active[0],
		    nactive[0], c->withdrawn[y]) == NULL, "%s: withdrawn signal "
		    "%llu is active", c->when,
		    (unsigned long long)c->withdrawn[y]);
}

/*
 * Every outbox is gapless; each swept signal told its owner (in the same
 * commit); no match was escalated twice (scan_outbox); every acknowledged
 * match reached both organisations.
 */
static void
check_outboxes(struct crash *c, struct inspect *in, const size_t gone[2])
{
	for (int i = 0; i < 3; i++) {
		memset(&scans[i], 0, sizeof(scans[i]));
		scans[i].when = c->when;
		scans[i].org = i < 2 ? org_names[i] : "partner";
		scan_outbox(in, in->sid[i], &scans[i]);
	}
	for (int o = 0; o < 2; o++)
		cr_assert_eq(scans[o].expired, gone[o], "%s: %zu of %s's "
		    "signals were swept, it was told of %zu", c->when, gone[o],
		    org_names[o], scans[o].expired);
	for (int o = 0; o < 2; o++)
		for (size_t y = group_end[G_STAYS]; y < nbsns; y++) {
			const struct reg *g = &c->regs[o][y];

			if (!acked(g) || g->match_id == 0)
				continue;
			for (int r = 0; r < 2; r++)
				cr_assert(contains_id(scans[r].created,
				    scans[r].ncreated, g->match_id), "%s: match "
				    "%llu has no MATCH_CREATED for %s", c->when,
				    (unsigned long long)g->match_id,
				    org_names[r]);
		}
}

/* The store after a kill (vixd is down): the audit chain, then the rest. */
static void
check_store(struct crash *c, int64_t now)
{
	struct inspect in;
	size_t gone[2] = { 0, 0 };
	uint64_t count, bad;

	inspect_open(&in);
	cr_assert_eq(store_audit_verify(in.rd, &count, NULL, &bad), 0);
	cr_assert_eq(bad, 0, "%s: audit record %llu breaks the chain",
	    c->when, (unsigned long long)bad);
	check_signals(c, &in, now, gone);
	check_outboxes(c, &in, gone);
	cr_log_info("%s: %zu + %zu signals swept, %zu escalations, %llu "
	    "audit records", c->when, gone[0], gone[1], scans[2].nescalated,
	    (unsigned long long)count);
	inspect_close(&in);
}

/* vixctl --json status: the value of a count, or -1. */
static long
status_count(const char *key)
{
	struct run_result r;
	char pat[64];
	const char *at;

	vixctl(&r, (const char *[]){ "--json", "status", NULL });
	cr_assert_eq(r.status, 0, "vixctl status: %s", r.err);
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	at = strstr(r.out, pat);
	return at ? strtol(at + strlen(pat), NULL, 10) : -1;
}

/*
 * A vixd with a fast sweep: one pass does what is left. Wait two passes'
 * time at least: withdrawn signals not yet purged could make up for
 * expired ones not yet archived in the count.
 */
static void
sweep_out(struct crash *c, long want)
{
	uint64_t start;
	long archived = -1;

	start_ahead(crash_conf(c, 1000));
	start = ms_now();
	audit_verifies(c->when);
	while (ms_now() - start < 15000 && (ms_now() - start < 2500 ||
	    archived != want)) {
		usleep(100000);
		archived = status_count("archived");
	}
	cr_assert_eq(archived, want, "%s: %ld archived signals, want the %ld "
	    "expired ones (the withdrawn ones purged)", c->when, archived,
	    want);
	cr_assert_eq(harness_stop_keep(&vixd), 0);
}

/* After the loop: every rule applied in full, and nothing else changed. */
static void
crash_final(struct crash *c)
{
	long want = (long)group_end[G_DURATION] * 2;
	struct inspect in;
	struct store_subject s;
	size_t signals, matches, archived;

	snprintf(c->when, sizeof(c->when), "seed %u, after the loop", c->seed);
	sweep_out(c, want);
	check_store(c, time(NULL) + AHEAD);
	inspect_open(&in);
	cr_assert_eq(store_counts(in.rd, &signals, &matches, &archived), 0);
	cr_assert_eq(archived, (size_t)want);
	for (size_t y = 0; y < group_end[G_STAYS]; y++) {
		enum group g = group_of(y);

		subject(&in, y, &s);
		if (g == G_DURATION || g == G_AGE)
			cr_assert(c->swept[0][y] && c->swept[1][y], "%s: youth "
			    "%zu was not swept", c->when, y);
		else if (g == G_WITHDRAWN)
			cr_assert_eq(s.nsignals, 0, "%s: a withdrawn signal "
			    "outlived archive_retention", c->when);
		else {
			cr_assert(s.has_match && s.match.escalated, "%s: the "
			    "match of youth %zu was not escalated", c->when, y);
			cr_assert(contains_id(scans[2].escalated,
			    scans[2].nescalated, s.match.id), "%s: match %llu "
			    "escalated without telling the partner", c->when,
			    (unsigned long long)s.match.id);
			cr_assert(!c->swept[0][y] && !c->swept[1][y]);
		}
		store_subject_free(&s);
	}
	inspect_close(&in);
}

Test(faults, kill_9_during_sweeps_and_reloads_keeps_everything_consistent,
    .timeout = 300)
{
	static struct crash c;
	const char *seed = getenv("VIX_TEST_SEED");

	signal(SIGPIPE, SIG_IGN);	/* the peer is killed mid-stream */
	c.seed = seed ? (unsigned)strtoul(seed, NULL, 10) :
	    (unsigned)time(NULL);
	srand(c.seed);
	fprintf(stderr, "faults: kill -9 loop with seed %u (VIX_TEST_SEED=%u "
	    "repeats it)\n", c.seed, c.seed);
	harness_start(&vixd, NULL);
	harness_restart_with(&vixd, (const char *[]){ "-c", crash_conf(&c, 16),
	    NULL });
	crash_prepare(&c);
	cr_assert_eq(harness_stop_keep(&vixd), 0);

	for (c.cycle = 0; c.cycle < CYCLES; c.cycle++) {
		snprintf(c.when, sizeof(c.when), "seed %u, cycle %d", c.seed,
		    c.cycle);
		start_ahead(c.conf);
		audit_verifies(c.when);
		crash_cycle(&c);
		check_store(&c, time(NULL) + AHEAD);
	}
	cr_assert_gt(c.sweeps, 0, "seed %u: no sweep ran in the kill loop",
	    c.seed);
	cr_log_info("seed %u: %d kills (%d aimed at a sweep), %d sweeps that "
	    "did work, %d reloads, %zu registrations acknowledged", c.seed,
	    CYCLES, c.aimed, c.sweeps, c.reloads, c.loop_acked);
	crash_final(&c);
}
