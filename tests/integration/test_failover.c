/*
 * Failover: two vixd front-ends on a three-member Patroni cluster
 * (scripts/cluster: etcd, PostgreSQL 15, synchronous_mode_strict). Clients
 * register, withdraw and acknowledge through both front-ends while the
 * primary's Patroni and PostgreSQL are killed with SIGKILL, again and
 * again; the front-ends find the new primary by themselves. Afterwards
 * every acknowledged registration, withdrawal and ack is there, every
 * notification owed for an acknowledged match reaches a resuming
 * subscriber with no gap, and both audit trails verify.
 *
 * A request whose answer did not come (or came UNAVAILABLE) is not
 * acknowledged: it may or may not have been applied, and either is right.
 *
 * VIX_CLUSTER is scripts/cluster; VIX_FAILOVER_KILLS the number of kills
 * (default 5; `scripts/failover 20` runs the long drill). Prints the
 * counts: acknowledged, lost (must be 0), duplicates delivered, seconds
 * without a primary per failover.
 */
#include <sys/socket.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define NBSN		900	/* youths at most */
#define ROUND_MS	4000	/* of requests before each kill */
#define RETRY_MS	300	/* a client's pause after UNAVAILABLE */
#define RECOVER_MS	90000	/* a failover may take, at most */

static struct vixd_proc fe[2];
static char cdir[PATH_MAX];	/* the cluster's folder */
static char conf[PATH_MAX + 16];
static const char *cluster;

/* What the clients were told. */
static char bsns[NBSN][16];
static unsigned char reg_a[NBSN], reg_b[NBSN], wd_b[NBSN];
static uint64_t acked_seq;		/* org-a's ack confirmed */
static uint64_t ack_maybe;		/* an ack sent, its answer lost */
static unsigned long lost_acks;
static uint64_t seen_max;		/* org-a's highest seq received */
static unsigned char seen_ref[NBSN];	/* MATCH_CREATED for a<i> seen */
static unsigned long duplicates, acked_regs, acked_wds, acked_acks;

static void
cluster_cmd(struct run_result *r, const char *verb, const char *arg)
{
	harness_run(r, (const char *[]){ cluster, verb, cdir, arg, NULL });
	cr_assert_eq(r->status, 0, "scripts/cluster %s: %s%s", verb, r->out,
	    r->err);
}

static void
start(void)
{
	struct run_result r;
	FILE *fp;

	cluster = getenv("VIX_CLUSTER");
	cr_assert(cluster != NULL, "VIX_CLUSTER is not set: run this test "
	    "through meson or scripts/failover");
	snprintf(cdir, sizeof(cdir), "/tmp/vix-failover-XXXXXX");
	cr_assert_not_null(mkdtemp(cdir));
	cluster_cmd(&r, "start", NULL);
	cluster_cmd(&r, "wait-healthy", "180");
	cluster_cmd(&r, "conninfo", NULL);
	r.out[strcspn(r.out, "\n")] = '\0';
	snprintf(conf, sizeof(conf), "%s/vixd.conf", cdir);
	cr_assert_not_null(fp = fopen(conf, "w"));
	/* A connection string with TLS is long: on indented lines. */
	fprintf(fp, "[store]\nbackend = postgresql\nconninfo =");
	for (char *w = strtok(r.out, " "); w != NULL; w = strtok(NULL, " "))
		fprintf(fp, "\n    %s", w);
	fprintf(fp, "\n");
	fclose(fp);
	harness_start(&fe[0], (const char *[]){ "-c", conf, NULL });
	harness_start_peer(&fe[1], &fe[0], (const char *[]){ "-c", conf,
	    NULL });
	cr_assert_eq(harness_load_bsns(bsns, NBSN), NBSN);
}

static void
stop(void)
{
	struct run_result r;

	if (fe[1].pid > 0)
		harness_stop(&fe[1]);
	if (fe[0].pid > 0)
		harness_stop(&fe[0]);
	if (cdir[0] != '\0') {
		harness_run(&r, (const char *[]){ cluster, "stop", cdir,
		    NULL });
		if (getenv("VIX_KEEP_TEST_DIRS") == NULL)
			harness_run(&r, (const char *[]){ "/bin/rm", "-rf",
			    cdir, NULL });
	}
}

/*
 * The cluster starts in the test, not in .init: a failure there must
 * still reach stop (.fini), which stops every process it started.
 */
TestSuite(failover, .fini = stop, .timeout = 1500);

/* The Response to id on ssl, notifications dropped: its status code, or
   -1 if none came (the connection ended or timed out). */
static int
answer(SSL *ssl, uint64_t id, Vix__V1__ServerMessage **keep)
{
	Vix__V1__ServerMessage *m;
	int end, code;

	while ((m = harness_recv(ssl, &end)) != NULL) {
		if (m->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE &&
		    m->response->id == id) {
			code = m->response->status ?
			    (int)m->response->status->code : 0;
			if (keep != NULL)
				*keep = m;
			else
				vix__v1__server_message__free_unpacked(m,
				    NULL);
			return code;
		}
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	return -1;
}

static SSL *
connect_as(struct vixd_proc *p, const char *org)
{
	char cert[PATH_MAX], key[PATH_MAX], why[256];
	char name[64];

	snprintf(name, sizeof(name), "%s.pem", org);
	harness_dev_file(p, name, cert, sizeof(cert));
	snprintf(name, sizeof(name), "%s.key", org);
	harness_dev_file(p, name, key, sizeof(key));
	return harness_tls_connect(p, cert, key, why, sizeof(why));
}

/* Register youth i as org (ref a<i> or b<i>) on p: 1 if acknowledged. */
static int
do_register(struct vixd_proc *p, const char *org, unsigned i)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register rg = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact c = VIX__V1__CONTACT__INIT;
	char ref[16];
	SSL *ssl;
	int code;

	if ((ssl = connect_as(p, org)) == NULL)
		return 0;
	snprintf(ref, sizeof(ref), "%c%u", org[4], i);
	c.name = "Failover";
	c.phone = "0501234567";
	rg.bsn = bsns[i];
	rg.birth_date = "2015-03-01";
	rg.contact = &c;
	rg.client_ref = ref;
	req.id = 1;
	req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req.register_ = &rg;
	harness_send_request(ssl, &req);
	code = answer(ssl, 1, NULL);
	harness_tls_close(ssl);
	return code == 0;
}

static int
do_withdraw(struct vixd_proc *p, const char *org, unsigned i)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Withdraw wd = VIX__V1__WITHDRAW__INIT;
	SSL *ssl;
	int code;

	if ((ssl = connect_as(p, org)) == NULL)
		return 0;
	wd.bsn = bsns[i];
	wd.reason = VIX__V1__WITHDRAW__REASON__RISK_RESOLVED;
	req.id = 2;
	req.body_case = VIX__V1__REQUEST__BODY_WITHDRAW;
	req.withdraw = &wd;
	harness_send_request(ssl, &req);
	code = answer(ssl, 2, NULL);
	harness_tls_close(ssl);
	return code == 0;
}

/*
 * org-a subscribes on p from its cursor, reads what is there (a short
 * wait ends it), checks that seqs follow each other, and acks the last.
 * With final, what it reads must start right after the confirmed ack.
 */
static void
subscribe_round(struct vixd_proc *p, int final)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__Ack ack = VIX__V1__ACK__INIT;
	Vix__V1__ServerMessage *m;
	struct timeval tv = { 0, 700000 };
	uint64_t prev = 0, first = 0;
	SSL *ssl;
	int end;

	if ((ssl = connect_as(p, "org-a")) == NULL)
		return;
	req.id = 3;
	req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	harness_send_request(ssl, &req);
	if (answer(ssl, 3, NULL) != 0) {
		harness_tls_close(ssl);
		return;
	}
	setsockopt(SSL_get_fd(ssl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while ((m = harness_recv(ssl, &end)) != NULL) {
		Vix__V1__Notification *n = m->notification;

		if (m->msg_case != VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION) {
			vix__v1__server_message__free_unpacked(m, NULL);
			continue;
		}
		if (first == 0)
			first = n->seq;
		cr_assert(prev == 0 || n->seq == prev + 1, "org-a's "
		    "notifications skip from seq %llu to %llu",
		    (unsigned long long)prev, (unsigned long long)n->seq);
		prev = n->seq;
		if (n->seq <= seen_max)
			duplicates++;
		else
			seen_max = n->seq;
		if (n->type == VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED &&
		    n->client_ref[0] == 'a') {
			unsigned i = (unsigned)strtoul(n->client_ref + 1, NULL,
			    10);

			if (i < NBSN)
				seen_ref[i] = 1;
		}
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	/*
	 * Nothing acknowledged comes again (the cursor kept the confirmed
	 * ack), nothing after it is skipped (an ack whose answer was lost
	 * may have moved the cursor further).
	 */
	if (first != 0 && first <= acked_seq) {
		lost_acks++;
		fprintf(stderr, "lost: ack of seq %llu (redelivered from "
		    "%llu)\n", (unsigned long long)acked_seq,
		    (unsigned long long)first);
	}
	cr_assert(first == 0 || first <= (ack_maybe > acked_seq ? ack_maybe :
	    acked_seq) + 1, "org-a resumed at seq %llu after acking %llu",
	    (unsigned long long)first, (unsigned long long)acked_seq);
	if (prev != 0 && !final) {
		tv = (struct timeval){ 10, 0 };
		setsockopt(SSL_get_fd(ssl), SOL_SOCKET, SO_RCVTIMEO, &tv,
		    sizeof(tv));
		req = (Vix__V1__Request)VIX__V1__REQUEST__INIT;
		req.id = 4;
		req.body_case = VIX__V1__REQUEST__BODY_ACK;
		ack.recipient = "org-a";
		ack.seq = prev;
		req.ack = &ack;
		harness_send_request(ssl, &req);
		if (answer(ssl, 4, NULL) == 0) {
			acked_seq = prev;
			acked_acks++;
		} else if (prev > ack_maybe)
			ack_maybe = prev;	/* applied or not: unknown */
	}
	harness_tls_close(ssl);
}

/* One step of the clients' work: youth i through both front-ends. */
static void
work(unsigned i)
{
	struct vixd_proc *p = &fe[i % 2], *q = &fe[(i + 1) % 2];

	if (do_register(p, "org-a", i)) {
		reg_a[i] = 1;
		acked_regs++;
	}
	if (do_register(q, "org-b", i)) {
		reg_b[i] = 1;
		acked_regs++;
	}
	if (i % 3 == 0 && reg_b[i] && do_withdraw(p, "org-b", i)) {
		wd_b[i] = 1;
		acked_wds++;
	}
	if (i % 4 == 0)
		subscribe_round(q, 0);
}

/* Every active signal of org, by client_ref index, through p. */
static void
list_signals(struct vixd_proc *p, const char *org, unsigned char *present)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__List ls = VIX__V1__LIST__INIT;
	Vix__V1__ServerMessage *m;
	uint64_t after = 0;
	SSL *ssl = connect_as(p, org);

	cr_assert_not_null(ssl, "connect as %s", org);
	memset(present, 0, NBSN);
	for (int page = 0; page < 100; page++) {
		req.id = 10 + (uint64_t)page;
		req.body_case = VIX__V1__REQUEST__BODY_LIST;
		ls.page_size = 1000;
		ls.after = after;
		req.list = &ls;
		harness_send_request(ssl, &req);
		cr_assert_eq(answer(ssl, req.id, &m), 0, "list as %s", org);
		for (size_t k = 0; k < m->response->list->n_signals; k++) {
			const char *ref = m->response->list->signals[k]->
			    client_ref;
			unsigned i = (unsigned)strtoul(ref + 1, NULL, 10);

			if (i < NBSN)
				present[i] = 1;
		}
		after = m->response->list->next_after;
		vix__v1__server_message__free_unpacked(m, NULL);
		if (after == 0)
			break;
	}
	harness_tls_close(ssl);
}

Test(failover, nothing_acknowledged_is_lost_over_repeated_kills)
{
	const char *env = getenv("VIX_FAILOVER_KILLS");
	int kills = env != NULL ? atoi(env) : 5;
	unsigned char present_a[NBSN], present_b[NBSN];
	double gaps[64], worst = 0, total = 0;
	unsigned i = 0, lost = 0;
	struct run_result r;
	char victim[64];

	cr_assert(kills > 0 && kills <= 64, "VIX_FAILOVER_KILLS 1 to 64");
	start();
	for (int k = 0; k < kills; k++) {
		long t0 = harness_now_ms(), tk;

		while (harness_now_ms() - t0 < ROUND_MS && i < NBSN)
			work(i++);
		cluster_cmd(&r, "kill-primary", NULL);
		snprintf(victim, sizeof(victim), "%.*s",
		    (int)strcspn(r.out, "\n"), r.out);
		tk = harness_now_ms();
		/* Work on; the first acknowledged registration ends the gap. */
		for (;;) {
			unsigned long before = acked_regs;

			cr_assert_lt(i, NBSN - 1, "out of youths");
			cr_assert_lt(harness_now_ms() - tk, RECOVER_MS, "no "
			    "primary %d s after kill %d", RECOVER_MS / 1000,
			    k + 1);
			/* Nothing acknowledged: the same youth again. */
			work(i);
			if (acked_regs > before) {
				i++;
				break;
			}
			harness_sleep_ms(RETRY_MS);
		}
		gaps[k] = (double)(harness_now_ms() - tk) / 1000.0;
		total += gaps[k];
		worst = gaps[k] > worst ? gaps[k] : worst;
		cluster_cmd(&r, "restart-member", victim);
		cluster_cmd(&r, "wait-healthy", "180");
	}
	/* Quiet now: check everything the clients were told. */
	list_signals(&fe[0], "org-a", present_a);
	list_signals(&fe[1], "org-b", present_b);
	for (unsigned j = 0; j < i; j++) {
		if (reg_a[j] && !present_a[j]) {
			lost++;
			fprintf(stderr, "lost: registration a%u\n", j);
		}
		if (reg_b[j] && !wd_b[j] && !present_b[j]) {
			lost++;
			fprintf(stderr, "lost: registration b%u\n", j);
		}
		if (wd_b[j] && present_b[j]) {
			lost++;
			fprintf(stderr, "lost: withdrawal b%u\n", j);
		}
	}
	subscribe_round(&fe[0], 1);
	lost += (unsigned)lost_acks;
	for (unsigned j = 0; j < i; j++)
		if (reg_a[j] && reg_b[j] && !seen_ref[j]) {
			lost++;
			fprintf(stderr, "lost: MATCH_CREATED for a%u\n", j);
		}
	for (int p = 0; p < 2; p++) {
		char sock[2 * PATH_MAX];

		snprintf(sock, sizeof(sock), "%s/control.sock", p == 0 ?
		    fe[0].dev_dir : fe[1].dir);
		harness_run(&r, (const char *[]){ getenv("VIXCTL"), "-s", sock,
		    "audit", "verify", NULL });
		cr_assert_eq(r.status, 0, "audit verify on front-end %d: %s%s",
		    p + 1, r.out, r.err);
	}
	printf("failover: %d kills, %u youths, acknowledged: %lu "
	    "registrations, %lu withdrawals, %lu acks; lost: %u; duplicates "
	    "delivered: %lu; without a primary: mean %.1f s, worst %.1f s "
	    "(", kills, i, acked_regs, acked_wds, acked_acks, lost,
	    duplicates, total / kills, worst);
	for (int k = 0; k < kills; k++)
		printf("%s%.1f", k ? " " : "", gaps[k]);
	printf(")\n");
	fflush(stdout);
	cr_assert_eq(lost, 0, "%u acknowledged changes lost", lost);
}
