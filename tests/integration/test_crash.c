/*
 * Nothing acknowledged is ever lost, even on kill -9: pipelined
 * registrations, SIGKILL at a random moment, restart. Every acknowledged
 * signal must be there, every match it created must have reached both
 * organisations' outboxes, each outbox must be gapless and in order, and
 * the audit chain (its head kept apart from the records, in the same
 * transaction) must verify.
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

#define CYCLES		20
#define YOUTHS		200	/* per cycle, each registered by org-a and org-b */
#define MAX_BSNS	1024
#define MAX_MATCHES	(CYCLES * YOUTHS)

static struct vixd_proc vixd;
static char bsns[MAX_BSNS][16];
static size_t nbsns;

static void
load_bsns(void)
{
	nbsns = harness_load_bsns(bsns, MAX_BSNS);
	cr_assert_geq(nbsns, 900, "too few synthetic BSNs");
}

static void
send_register(SSL *ssl, uint64_t id, const char *bsn)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register reg = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact contact = VIX__V1__CONTACT__INIT;

	contact.name = "Contact";
	contact.phone = "0501234567";
	reg.bsn = (char *)bsn;
	reg.birth_date = "2015-03-01";
	reg.contact = &contact;
	req.id = id;
	req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req.register_ = &reg;
	harness_send_request(ssl, &req);
}

struct acked {
	uint64_t	signals[2][MAX_BSNS];	/* [org][youth]: signal id */
	uint64_t	matches[MAX_MATCHES];	/* acknowledged match ids */
	size_t		nmatches;
	size_t		count;
};

static void record(Vix__V1__ServerMessage *, int, size_t, struct acked *);

static char conf[PATH_MAX];
static const char *conf_args[] = { "-c", conf, NULL };

/* Every response that arrives is an acknowledgement of a commit. */
static void
collect(SSL *ssl, int org, size_t first, struct acked *a)
{
	Vix__V1__ServerMessage *m;
	int end;

	while ((m = harness_recv(ssl, &end)) != NULL)
		record(m, org, first, a);
}

static void
record(Vix__V1__ServerMessage *m, int org, size_t first, struct acked *a)
{
	Vix__V1__Response *r = m->response;

	cr_assert_eq(m->msg_case, VIX__V1__SERVER_MESSAGE__MSG_RESPONSE);
	cr_assert(r->status == NULL || r->status->code == 0,
	    "registration refused: %s", r->status->message);
	cr_assert_geq(r->id, 1);
	a->signals[org][(first + r->id - 1) % nbsns] = r->register_->signal_id;
	a->count++;
	if (r->register_->match != NULL && a->nmatches < MAX_MATCHES)
		a->matches[a->nmatches++] = r->register_->match->match_id;
	vix__v1__server_message__free_unpacked(m, NULL);
}

static void
one_cycle(int cycle, struct acked *a)
{
	SSL *ssl[2] = { harness_connect_as(&vixd, "org-a"), harness_connect_as(&vixd, "org-b") };
	size_t first = (size_t)cycle * YOUTHS;

	for (uint64_t i = 1; i <= YOUTHS; i++)
		for (int o = 0; o < 2; o++)
			send_register(ssl[o], i, bsns[(first + i - 1) % nbsns]);
	/*
	 * Somewhere after the first commit and before the last: wait for the
	 * first acknowledgement (however slow the machine), then a little.
	 */
	{
		Vix__V1__ServerMessage *m;
		int end;

		cr_assert_not_null(m = harness_recv(ssl[0], &end),
		    "no acknowledgement at all");
		record(m, 0, first, a);
	}
	usleep((useconds_t)(rand() % 30000));
	kill(vixd.pid, SIGKILL);
	for (int o = 0; o < 2; o++) {
		collect(ssl[o], o, first, a);
		harness_tls_close(ssl[o]);
	}
	cr_assert_eq(harness_signal_wait(&vixd, 0), 128 + SIGKILL);
	harness_restart_with(&vixd, conf_args);
}

/* org's whole outbox from seq 1: gapless, and the match ids it names. */
static size_t
read_outbox(const char *org, uint64_t *match_ids, size_t max)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__ServerMessage *m;
	uint64_t last, expect = 1;
	size_t n = 0;
	SSL *ssl = harness_connect_as(&vixd, org);
	int end;

	sub.from_seq = 1;
	req.id = 1;
	req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	harness_send_request(ssl, &req);
	cr_assert_not_null(m = harness_recv(ssl, &end));
	cr_assert_eq(m->msg_case, VIX__V1__SERVER_MESSAGE__MSG_RESPONSE);
	last = m->response->subscribe->positions[0]->last;
	vix__v1__server_message__free_unpacked(m, NULL);
	while (expect <= last) {
		cr_assert_not_null(m = harness_recv(ssl, &end),
		    "%s: seq %llu of %llu never came", org,
		    (unsigned long long)expect, (unsigned long long)last);
		if (m->msg_case != VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION) {
			vix__v1__server_message__free_unpacked(m, NULL);
			continue;
		}
		cr_assert_eq(m->notification->seq, expect, "%s: out of order",
		    org);
		if (m->notification->type ==
		    VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED && n < max)
			match_ids[n++] = m->notification->match_id;
		/* Keep the window open. */
		if (expect % 500 == 0) {
			Vix__V1__Request ar = VIX__V1__REQUEST__INIT;
			Vix__V1__Ack ack = VIX__V1__ACK__INIT;

			ack.recipient = (char *)org;
			ack.seq = expect;
			ar.id = 2;
			ar.body_case = VIX__V1__REQUEST__BODY_ACK;
			ar.ack = &ack;
			harness_send_request(ssl, &ar);
		}
		expect++;
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	harness_tls_close(ssl);
	return n;
}

static int
contains(const uint64_t *v, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

Test(crash, kill_9_loses_nothing_acknowledged, .timeout = 600)
{
	static struct acked a;
	static uint64_t created[2][MAX_MATCHES];
	size_t ncreated[2];
	struct run_result r;
	char id[48];

	signal(SIGPIPE, SIG_IGN);	/* the peer is killed mid-stream */
	srand((unsigned)time(NULL));
	load_bsns();
	harness_start(&vixd, NULL);
	/* Each cycle's burst is the point here, not the (default) rate limit. */
	snprintf(conf, sizeof(conf), "%s", harness_write_file(&vixd,
	    "crash.conf", "[server]\nrate_limit = 0\n"));
	harness_restart_with(&vixd, conf_args);
	for (int c = 0; c < CYCLES; c++)
		one_cycle(c, &a);
	cr_assert_gt(a.count, 0, "nothing was acknowledged in %d cycles",
	    CYCLES);

	/* Every acknowledged signal is there. */
	for (int o = 0; o < 2; o++) {
		harness_vix(&r, &vixd, o ? "org-b" : "org-a",
		    (const char *[]){ "--json", "list", NULL });
		cr_assert_eq(r.status, 0, "%s", harness_redact(r.err));
		for (size_t y = 0; y < nbsns; y++) {
			if (a.signals[o][y] == 0)
				continue;
			snprintf(id, sizeof(id), "\"signal_id\":%llu,",
			    (unsigned long long)a.signals[o][y]);
			cr_assert_not_null(strstr(r.out, id), "acknowledged "
			    "signal %llu is missing after kill -9",
			    (unsigned long long)a.signals[o][y]);
		}
	}
	/* Every acknowledged match reached both outboxes, in order. */
	ncreated[0] = read_outbox("org-a", created[0], MAX_MATCHES);
	ncreated[1] = read_outbox("org-b", created[1], MAX_MATCHES);
	for (size_t i = 0; i < a.nmatches; i++)
		for (int o = 0; o < 2; o++)
			cr_assert(contains(created[o], ncreated[o],
			    a.matches[i]), "match %llu has no MATCH_CREATED "
			    "for %s", (unsigned long long)a.matches[i],
			    o ? "org-b" : "org-a");
	harness_vixctl(&r, &vixd, (const char *[]){ "audit", "verify", NULL });
	cr_assert_eq(r.status, 0, "audit verify after the kills: %s%s", r.out,
	    r.err);
	cr_assert_not_null(strstr(r.out, "audit chain intact"), "%s", r.out);
	cr_log_info("%zu acknowledged registrations, %zu matches, %d kills; "
	    "%s", a.count, a.nmatches, CYCLES, r.out);
	harness_stop(&vixd);
}
