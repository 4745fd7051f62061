/*
 * Several vixd front-ends on one PostgreSQL database (vixd.conf(5),
 * POSTGRESQL): each serves every organisation, a notification written on
 * one reaches subscribers on the other, the same youth registered at once
 * on both makes one match that both organisations hear of, ids are unique,
 * a resuming subscriber misses nothing, the audit trail verifies with two
 * writers, and without a primary requests are answered UNAVAILABLE with a
 * retry hint and nothing is acknowledged.
 *
 * VIX_TEST_PG is the connection string of a throw-away server where
 * databases may be created (tests/support/with-pg.sh starts one); every
 * test gets a database of its own. VIX_TEST_PGSERVER is the script that
 * starts and stops such a server, for the test that stops its database.
 */
#include <sys/stat.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "harness.h"

#define NYOUTHS	12	/* youths registered at once on both front-ends */

static struct vixd_proc fe1, fe2;
static char conf[PATH_MAX];
static char dbdir[PATH_MAX];	/* a server of the test's own, or "" */
static unsigned dbcount;

static const char *
env_or_fail(const char *name)
{
	const char *v = getenv(name);

	cr_assert(v != NULL && v[0] != '\0', "%s is not set: run this test "
	    "through meson (tests/support/with-pg.sh starts a server)", name);
	return v;
}

/* A new empty database on the server of base; its connection string. */
static void
fresh_db(const char *base, char *out, size_t len)
{
	char name[64], sql[128];
	PGconn *c = PQconnectdb(base);
	PGresult *r;

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "test database server: %s",
	    PQerrorMessage(c));
	snprintf(name, sizeof(name), "vix_fe_%ld_%u", (long)getpid(),
	    ++dbcount);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	r = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	snprintf(out, len, "%s dbname=%s", base, name);
}

/* A vixd.conf naming the database, in a folder of the test's. */
static void
write_conf_sweep(const char *conninfo, const char *sweep)
{
	char dir[] = "/tmp/vix-fe-XXXXXX";
	FILE *fp;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/vixd.conf", dir);
	cr_assert_not_null(fp = fopen(conf, "w"));
	fprintf(fp, "[store]\nbackend = postgresql\nconninfo = %s\n"
	    "sweep_interval = %s\n", conninfo, sweep);
	fclose(fp);
}

static void
write_conf(const char *conninfo)
{
	write_conf_sweep(conninfo, "1s");
}

/* Two front-ends on conninfo, sharing their organisations and key. */
static void
start_both_sweep(const char *conninfo, const char *sweep)
{
	write_conf_sweep(conninfo, sweep);
	harness_start(&fe1, (const char *[]){ "-c", conf, NULL });
	harness_start_peer(&fe2, &fe1, (const char *[]){ "-c", conf, NULL });
}

static void
start_both(const char *conninfo)
{
	start_both_sweep(conninfo, "1s");
}

static void
start(void)
{
	char conninfo[1024];

	dbdir[0] = '\0';
	fresh_db(env_or_fail("VIX_TEST_PG"), conninfo, sizeof(conninfo));
	start_both(conninfo);
}

static void
stop(void)
{
	char dir[PATH_MAX];

	if (fe2.pid > 0)
		harness_stop(&fe2);
	if (fe1.pid > 0)
		harness_stop(&fe1);
	if (conf[0] != '\0') {
		snprintf(dir, sizeof(dir), "%s", conf);
		unlink(conf);
		*strrchr(dir, '/') = '\0';
		rmdir(dir);
		conf[0] = '\0';
	}
}

TestSuite(frontends, .timeout = 180);

/* Subscribe as name on p, from its last ack; asserts it worked. */
static SSL *
subscriber(struct vixd_proc *p, const char *name)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__ServerMessage *m;
	SSL *ssl = harness_connect_as(p, name);

	char *both[] = { "org-a", "org-b" };

	if (strcmp(name, "partner") == 0) {	/* delegated by both */
		sub.recipients = both;
		sub.n_recipients = 2;
	}
	req.id = 1;
	req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	harness_send_request(ssl, &req);
	m = harness_next_response(ssl, "subscribe");
	cr_assert(m->response->status == NULL ||
	    m->response->status->code == 0, "subscribe as %s", name);
	vix__v1__server_message__free_unpacked(m, NULL);
	return ssl;
}

/* The next notification (harness_recv's timeout bounds the wait). */
static Vix__V1__ServerMessage *
next_note(SSL *ssl, const char *who)
{
	Vix__V1__ServerMessage *m;
	int end;

	for (;;) {
		m = harness_recv(ssl, &end);
		cr_assert_not_null(m, "%s: no notification (connection %s)",
		    who, end == 0 ? "closed" : "timed out or failed");
		if (m->msg_case == VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION)
			return m;
		vix__v1__server_message__free_unpacked(m, NULL);
	}
}

static void
ack(SSL *ssl, const char *recipient, uint64_t seq)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ack a = VIX__V1__ACK__INIT;

	a.recipient = (char *)recipient;
	req.id = 1000 + seq;
	req.body_case = VIX__V1__REQUEST__BODY_ACK;
	a.seq = seq;
	req.ack = &a;
	harness_send_request(ssl, &req);
}

/* A registration request on ssl; its response status code, signal id. */
struct reg {
	SSL		*ssl;
	const char	*bsn;
	uint64_t	 req_id;
	int		 code;
	uint32_t	 retry_ms;
	char		 message[256];
	uint64_t	 signal_id;
	int		 match;		/* others involved, in the reply */
	pthread_barrier_t *go;
};

static void
reg_send(struct reg *r)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Register rg = VIX__V1__REGISTER__INIT;
	Vix__V1__Contact c = VIX__V1__CONTACT__INIT;

	c.name = "Front-end test";
	c.phone = "0501234567";
	rg.bsn = (char *)r->bsn;
	rg.birth_date = "2015-03-01";
	rg.contact = &c;
	rg.client_ref = "fe";
	req.id = r->req_id;
	req.body_case = VIX__V1__REQUEST__BODY_REGISTER;
	req.register_ = &rg;
	harness_send_request(r->ssl, &req);
}

/* The response to r, read without asserting (threads may not). */
static void
reg_read(struct reg *r)
{
	Vix__V1__ServerMessage *m;
	int end;

	r->code = -1;
	while ((m = harness_recv(r->ssl, &end)) != NULL) {
		if (m->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE &&
		    m->response->id == r->req_id) {
			Vix__V1__Response *resp = m->response;

			r->code = resp->status ? (int)resp->status->code : 0;
			r->retry_ms = resp->status ?
			    resp->status->retry_after_ms : 0;
			snprintf(r->message, sizeof(r->message), "%s",
			    resp->status ? resp->status->message : "");
			if (resp->body_case ==
			    VIX__V1__RESPONSE__BODY_REGISTER) {
				r->signal_id = resp->register_->signal_id;
				r->match = resp->register_->match != NULL;
			}
			vix__v1__server_message__free_unpacked(m, NULL);
			return;
		}
		vix__v1__server_message__free_unpacked(m, NULL);
	}
}

static void *
reg_thread(void *arg)
{
	struct reg *r = arg;

	pthread_barrier_wait(r->go);
	reg_send(r);
	reg_read(r);
	return NULL;
}

static int
register_on(struct vixd_proc *p, const char *org, const char *bsn,
    uint64_t *signal_id)
{
	struct reg r = { .bsn = bsn, .req_id = 7 };

	r.ssl = harness_connect_as(p, org);
	reg_send(&r);
	reg_read(&r);
	harness_tls_close(r.ssl);
	if (signal_id != NULL)
		*signal_id = r.signal_id;
	return r.code;
}

Test(frontends, a_notification_written_on_one_front_end_reaches_subscribers_on_the_other,
    .init = start, .fini = stop)
{
	char bsns[2][16];
	Vix__V1__ServerMessage *m;
	SSL *partner, *a;

	cr_assert_eq(harness_load_bsns(bsns, 2), 2);
	partner = subscriber(&fe2, "partner");
	a = subscriber(&fe2, "org-a");
	cr_assert_eq(register_on(&fe1, "org-a", bsns[0], NULL), 0);
	cr_assert_eq(register_on(&fe1, "org-b", bsns[0], NULL), 0);
	/* Written by fe1; fe2 is woken by the database, reads the rows. */
	m = next_note(a, "org-a on fe2");
	cr_assert_eq(m->notification->type,
	    VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED);
	vix__v1__server_message__free_unpacked(m, NULL);
	m = next_note(partner, "partner on fe2");
	cr_assert_eq(m->notification->type,
	    VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(a);
	harness_tls_close(partner);
}

/*
 * Two youths at once, one on each front-end, NYOUTHS times: the youths
 * after the first NYOUTHS of bsns, pairwise.
 */
static void
register_apart(char (*bsns)[16])
{
	struct reg ra, rb;
	pthread_barrier_t go;
	pthread_t ta, tb;

	for (unsigned i = 0; i < NYOUTHS; i++) {
		pthread_barrier_init(&go, NULL, 2);
		ra = (struct reg){ .ssl = harness_connect_as(&fe1, "org-a"),
		    .bsn = bsns[NYOUTHS + 2 * i], .req_id = 300 + i,
		    .go = &go };
		rb = (struct reg){ .ssl = harness_connect_as(&fe2, "org-b"),
		    .bsn = bsns[NYOUTHS + 2 * i + 1], .req_id = 400 + i,
		    .go = &go };
		pthread_create(&ta, NULL, reg_thread, &ra);
		pthread_create(&tb, NULL, reg_thread, &rb);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&go);
		harness_tls_close(ra.ssl);
		harness_tls_close(rb.ssl);
		cr_assert_eq(ra.code, 0, "status %d", ra.code);
		cr_assert_eq(rb.code, 0, "status %d", rb.code);
	}
}

/* vixctl report of this month, for youths without a municipality. */
static const char *
report_this_month(struct vixd_proc *p)
{
	static struct run_result r;
	char sock[2 * PATH_MAX], month[16];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(month, sizeof(month), "%Y-%m", &tm);
	snprintf(sock, sizeof(sock), "%s/control.sock", p->dev_dir);
	harness_run(&r, (const char *[]){ getenv("VIXCTL"), "--socket", sock,
	    "--json", "report", "--municipality", "none", "--from", month,
	    "--to", month, NULL });
	cr_assert_eq(r.status, 0, "vixctl report: %s%s", r.out, r.err);
	return r.out;
}

Test(frontends, the_same_youth_registered_at_once_on_two_front_ends_makes_one_match,
    .init = start, .fini = stop)
{
	char bsns[NYOUTHS][16];
	struct reg ra[NYOUTHS], rb[NYOUTHS];
	pthread_t ta, tb;
	pthread_barrier_t go;
	Vix__V1__ServerMessage *m;
	uint64_t ids[2 * NYOUTHS];
	size_t nids = 0;
	SSL *a, *b;
	unsigned matched;
	const char *text;
	char want[64];
	char more[3 * NYOUTHS][16];

	cr_assert_eq(harness_load_bsns(more, 3 * NYOUTHS), 3 * NYOUTHS);
	memcpy(bsns, more, sizeof(bsns));
	for (unsigned i = 0; i < NYOUTHS; i++) {
		pthread_barrier_init(&go, NULL, 2);
		ra[i] = (struct reg){ .ssl = harness_connect_as(&fe1, "org-a"),
		    .bsn = bsns[i], .req_id = 100 + i, .go = &go };
		rb[i] = (struct reg){ .ssl = harness_connect_as(&fe2, "org-b"),
		    .bsn = bsns[i], .req_id = 200 + i, .go = &go };
		pthread_create(&ta, NULL, reg_thread, &ra[i]);
		pthread_create(&tb, NULL, reg_thread, &rb[i]);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&go);
		harness_tls_close(ra[i].ssl);
		harness_tls_close(rb[i].ssl);
		cr_assert_eq(ra[i].code, 0, "org-a on fe1, youth %u: status %d",
		    i, ra[i].code);
		cr_assert_eq(rb[i].code, 0, "org-b on fe2, youth %u: status %d",
		    i, rb[i].code);
		/* Whoever committed second saw the first: one match. */
		cr_assert(ra[i].match || rb[i].match, "youth %u: neither reply "
		    "names the other organisation", i);
		ids[nids++] = ra[i].signal_id;
		ids[nids++] = rb[i].signal_id;
	}
	for (size_t i = 0; i < nids; i++)
		for (size_t j = i + 1; j < nids; j++)
			cr_assert_neq(ids[i], ids[j], "signal id %llu given "
			    "twice", (unsigned long long)ids[i]);
	cr_assert_eq(harness_metric(&fe1, "vix_matches_active"), NYOUTHS,
	    "open matches");
	/*
	 * The month's figures: every registration and match counted once,
	 * though both front-ends counted in the same record at once (for
	 * two youths, whose own locks do not keep them apart).
	 */
	register_apart(more);
	text = report_this_month(&fe1);
	snprintf(want, sizeof(want), "\"registered\":%d,", 4 * NYOUTHS);
	cr_assert_not_null(strstr(text, want), "%s in %s", want, text);
	snprintf(want, sizeof(want), "\"matches\":%d,", NYOUTHS);
	cr_assert_not_null(strstr(text, want), "%s in %s", want, text);

	/* Each organisation hears of each match exactly once. */
	a = subscriber(&fe2, "org-a");
	b = subscriber(&fe1, "org-b");
	for (SSL *ssl = a; ssl != NULL; ssl = ssl == a ? b : NULL) {
		matched = 0;
		for (unsigned i = 0; i < NYOUTHS; i++) {
			m = next_note(ssl, ssl == a ? "org-a" : "org-b");
			matched += m->notification->type ==
			    VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED;
			vix__v1__server_message__free_unpacked(m, NULL);
		}
		cr_assert_eq(matched, NYOUTHS, "%s: %u MATCH_CREATED of %d",
		    ssl == a ? "org-a" : "org-b", matched, NYOUTHS);
	}
	harness_tls_close(a);
	harness_tls_close(b);
}

Test(frontends, a_subscriber_resuming_on_the_other_front_end_misses_nothing,
    .init = start, .fini = stop)
{
	char bsns[6][16];
	Vix__V1__ServerMessage *m;
	uint64_t seqs[6], last;
	SSL *p;

	cr_assert_eq(harness_load_bsns(bsns, 6), 6);
	/* Matches written alternately by both front-ends. */
	for (unsigned i = 0; i < 6; i++) {
		struct vixd_proc *w = i % 2 ? &fe2 : &fe1;

		cr_assert_eq(register_on(w, "org-a", bsns[i], NULL), 0);
		cr_assert_eq(register_on(w, "org-b", bsns[i], NULL), 0);
	}
	/* org-a reads three on fe1 and acks them... */
	p = subscriber(&fe1, "org-a");
	for (unsigned i = 0; i < 3; i++) {
		m = next_note(p, "org-a on fe1");
		seqs[i] = m->notification->seq;
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	last = seqs[2];
	ack(p, "org-a", last);
	m = harness_next_response(p, "ack");
	cr_assert(m->response->status == NULL ||
	    m->response->status->code == 0, "ack: %s",
	    m->response->status ? m->response->status->message : "");
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(p);
	/* ...and resumes on fe2 with the next one, none skipped. */
	p = subscriber(&fe2, "org-a");
	for (unsigned i = 3; i < 6; i++) {
		m = next_note(p, "org-a on fe2");
		seqs[i] = m->notification->seq;
		vix__v1__server_message__free_unpacked(m, NULL);
		cr_assert_eq(seqs[i], seqs[i - 1] + 1, "after seq %llu came "
		    "%llu", (unsigned long long)seqs[i - 1],
		    (unsigned long long)seqs[i]);
	}
	harness_tls_close(p);
}

Test(frontends, the_audit_trail_of_two_writers_verifies, .init = start,
    .fini = stop)
{
	char bsns[4][16];
	struct run_result r;

	cr_assert_eq(harness_load_bsns(bsns, 4), 4);
	for (unsigned i = 0; i < 4; i++) {
		cr_assert_eq(register_on(i % 2 ? &fe2 : &fe1, "org-a", bsns[i],
		    NULL), 0);
		cr_assert_eq(register_on(i % 2 ? &fe1 : &fe2, "org-b", bsns[i],
		    NULL), 0);
	}
	for (struct vixd_proc *p = &fe1; p != NULL; p = p == &fe1 ? &fe2 :
	    NULL) {
		char sock[2 * PATH_MAX];

		snprintf(sock, sizeof(sock), "%s/control.sock", p == &fe1 ?
		    p->dev_dir : p->dir);
		harness_run(&r, (const char *[]){ getenv("VIXCTL"),
		    "--socket", sock, "audit", "verify", NULL });
		cr_assert_eq(r.status, 0, "audit verify: %s%s", r.out, r.err);
		cr_assert(strstr(r.out, "chains") != NULL ||
		    strstr(r.out, "OK") != NULL || strstr(r.out, "ok") != NULL,
		    "audit verify said: %s", r.out);
	}
}

/* A server of the test's own, to stop under the front-ends. */
static void
own_server(char *conninfo, size_t len)
{
	const char *script = env_or_fail("VIX_TEST_PGSERVER");
	struct run_result r;

	snprintf(dbdir, sizeof(dbdir), "/tmp/vix-fe-pg-XXXXXX");
	cr_assert_not_null(mkdtemp(dbdir));
	harness_run(&r, (const char *[]){ script, "start", dbdir, NULL });
	cr_assert_eq(r.status, 0, "%s start: %s", script, r.err);
	r.out[strcspn(r.out, "\n")] = '\0';
	cr_assert_lt(strlen(r.out), len, "conninfo too long");
	memcpy(conninfo, r.out, strlen(r.out) + 1);
}

static void
own_server_ctl(const char *verb)
{
	struct run_result r;

	harness_run(&r, (const char *[]){ getenv("VIX_TEST_PGSERVER"), verb,
	    dbdir, NULL });
	cr_assert_eq(r.status, 0, "%s %s: %s", getenv("VIX_TEST_PGSERVER"),
	    verb, r.err);
}

static void
stop_own(void)
{
	stop();
	if (dbdir[0] != '\0') {
		struct run_result r;

		harness_run(&r, (const char *[]){ getenv("VIX_TEST_PGSERVER"),
		    "stop", dbdir, NULL });
		dbdir[0] = '\0';
	}
}

Test(frontends, without_a_primary_requests_are_unavailable_with_a_retry_hint,
    .fini = stop_own)
{
	char conninfo[1024], bsns[3][16], body[512];
	uint64_t before;
	struct reg r;

	own_server(conninfo, sizeof(conninfo));
	/* No sweep in the test's time: only requests and the probe write. */
	start_both_sweep(conninfo, "1h");
	cr_assert_eq(harness_load_bsns(bsns, 3), 3);
	cr_assert_eq(register_on(&fe1, "org-a", bsns[0], &before), 0);
	cr_assert_eq(harness_http_get(&fe1, "/readyz", body, sizeof(body)),
	    200);

	own_server_ctl("kill");		/* the database goes away at once */
	r = (struct reg){ .ssl = harness_connect_as(&fe1, "org-a"),
	    .bsn = bsns[1], .req_id = 9 };
	reg_send(&r);
	reg_read(&r);
	harness_tls_close(r.ssl);
	cr_assert_eq(r.code, VIX__V1__STATUS__CODE__UNAVAILABLE, "status %d: "
	    "%s", r.code, r.message);
	cr_assert_gt(r.retry_ms, 0, "no retry hint");
	cr_assert_eq(harness_http_get(&fe1, "/readyz", body, sizeof(body)),
	    503, "/readyz: %s", body);
	cr_assert_eq(harness_metric(&fe1, "vix_store_reachable"), 0);
	/* fe2 serves nothing: its idle probe finds the database gone. */
	for (int i = 0; i < 75 && harness_http_get(&fe2, "/readyz", body,
	    sizeof(body)) != 503; i++)
		harness_sleep_ms(200);
	cr_assert_eq(harness_http_get(&fe2, "/readyz", body, sizeof(body)),
	    503, "/readyz of an idle fe2 15 s after the database went: %s",
	    body);

	own_server_ctl("restart");	/* the same data, back */
	/* The next request finds it again; what was acknowledged is there. */
	for (int i = 0; i < 50 && register_on(&fe1, "org-b", bsns[0],
	    NULL) != 0; i++)
		harness_sleep_ms(200);
	cr_assert_eq(harness_metric(&fe1, "vix_store_reachable"), 1);
	cr_assert_eq(harness_metric(&fe1, "vix_matches_active"), 1,
	    "the acknowledged registration was lost");
	/* fe2 served nothing meanwhile: its probe finds the database again. */
	for (int i = 0; i < 50 && harness_http_get(&fe2, "/readyz", body,
	    sizeof(body)) != 200; i++)
		harness_sleep_ms(200);
	cr_assert_eq(harness_http_get(&fe2, "/readyz", body, sizeof(body)),
	    200, "/readyz of fe2 10 s after the database came back: %s",
	    body);
}

/* An LMDB store as a one-node vixd left it, moved to PostgreSQL. */
Test(frontends, an_lmdb_store_imported_serves_on_postgresql, .fini = stop)
{
	char conninfo[1024], bsns[2][16], data[2 * PATH_MAX];
	Vix__V1__ServerMessage *m;
	struct run_result r;
	SSL *a;

	cr_assert_eq(harness_load_bsns(bsns, 2), 2);
	harness_start(&fe1, NULL);		/* LMDB, the default */
	cr_assert_eq(register_on(&fe1, "org-a", bsns[0], NULL), 0);
	cr_assert_eq(register_on(&fe1, "org-b", bsns[0], NULL), 0);
	cr_assert_eq(harness_stop_keep(&fe1), 0);

	fresh_db(env_or_fail("VIX_TEST_PG"), conninfo, sizeof(conninfo));
	write_conf(conninfo);
	/* A folder without a store is not taken for an empty one. */
	harness_run(&r, (const char *[]){ getenv("VIXD"), "--dev", "--data",
	    fe1.dev_dir, "-c", conf, "--import-lmdb", fe1.dir, NULL });
	cr_assert_neq(r.status, 0);
	cr_assert(strstr(r.err, "no LMDB store (data.mdb)") != NULL, "%s",
	    r.err);
	snprintf(data, sizeof(data), "%s/data.mdb", fe1.dir);
	cr_assert_neq(access(data, F_OK), 0, "a store was made in %s",
	    fe1.dir);
	snprintf(data, sizeof(data), "%s/data", fe1.dev_dir);
	harness_run(&r, (const char *[]){ getenv("VIXD"), "--dev", "--data",
	    fe1.dev_dir, "-c", conf, "--import-lmdb", data, NULL });
	cr_assert_eq(r.status, 0, "import: %s%s", r.out, r.err);
	cr_assert(strstr(r.out, "2 signals, 1 matches") != NULL &&
	    strstr(r.out, "verified") != NULL, "%s", r.out);
	/* Into a store that is not empty: refused, nothing changed. */
	harness_run(&r, (const char *[]){ getenv("VIXD"), "--dev", "--data",
	    fe1.dev_dir, "-c", conf, "--import-lmdb", data, NULL });
	cr_assert_neq(r.status, 0);
	cr_assert(strstr(r.err, "not empty") != NULL, "%s", r.err);

	harness_restart_with(&fe1, (const char *[]){ "-c", conf, NULL });
	cr_assert_eq(harness_metric(&fe1, "vix_matches_active"), 1);
	a = subscriber(&fe1, "org-a");
	m = next_note(a, "org-a after the import");
	cr_assert_eq(m->notification->type,
	    VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED);
	cr_assert_eq(m->notification->seq, 1, "seqs kept");
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(a);
	/* A new registration goes on from the copied ids and seqs. */
	cr_assert_eq(register_on(&fe1, "org-b", bsns[1], NULL), 0);
	cr_assert_eq(register_on(&fe1, "org-a", bsns[1], NULL), 0);
	cr_assert_eq(harness_metric(&fe1, "vix_matches_active"), 2);
	{
		char sock[2 * PATH_MAX];

		snprintf(sock, sizeof(sock), "%s/control.sock", fe1.dev_dir);
		harness_run(&r, (const char *[]){ getenv("VIXCTL"),
		    "--socket", sock, "audit", "verify", NULL });
		cr_assert_eq(r.status, 0, "audit verify: %s%s", r.out, r.err);
		cr_assert(strstr(r.out, "3 chains") != NULL, "the copied "
		    "chain, the import's record, this vixd's: %s", r.out);
	}
}
