/*
 * What only the PostgreSQL store has, beside the conformance suite: several
 * vixd on one database (the lock on a youth, outbox seqs, audit chains,
 * commits seen by another's watcher), its schema version, the password
 * file's mode, and a connection lost under it. Run by tests/support/
 * pgtest.sh against a throw-away server (VIX_TEST_BACKEND=postgresql,
 * VIX_TEST_PG); each test's folder names a schema of its own (storefix.c).
 *
 * Youths are known here only by fixed pseudonym byte patterns; no BSN.
 */
#include <sys/stat.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "diag.h"
#include "errors.h"
#include "match.h"
#include "orgs.h"
#include "store.h"
#include "store_backend.h"
#include "storefix.h"
#include "support.h"

#define MAP_SIZE	STOREFIX_MAP_SIZE
#define T0		STOREFIX_T0
#define FILL		0xC3		/* of this file's pseudonyms */

static const char orgs_conf[] = STOREFIX_ORGS_CONF;

#include "store_tests.h"

/* A second vixd on the same database, with the same organisations. */
static struct store *st2;

static void
open_second(void)
{
	st2 = open_store(MAP_SIZE, 90);
	storefix_bind(st2, orgs);
}

/* An SQL statement on the test's schema, from a connection of our own. */
static PGresult *
sql(const char *text)
{
	struct store_options o;
	PGconn *c;
	PGresult *r;

	storefix_options(&o, dbdir, MAP_SIZE, 90, 0);
	c = PQconnectdb(o.conninfo);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, text);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", text,
	    PQerrorMessage(c));
	PQfinish(c);
	return r;
}

static void
reg_job(struct store_txn *t, const struct org *o, unsigned youth, int64_t now,
    struct store_register_out *out)
{
	struct store_register_in in;

	storefix_reg_in(&in, orgs, o, FILL, youth, now);
	cr_assert_eq(storefix_job_register(t, &in, 0, out), 0);
}

struct racer {
	struct store_register_out out;
	atomic_int done;
};

/* The second vixd registers youth 1 for jz: it waits for the first. */
static void *
racer_main(void *arg)
{
	struct racer *r = arg;
	struct store_txn *t = storefix_begin(st2);

	reg_job(t, jz, 1, T0 + 1, &r->out);
	storefix_commit(t);
	atomic_store(&r->done, 1);
	return NULL;
}

static void
must_register_pg(const struct org *o, unsigned youth, int64_t now)
{
	struct store_register_out out;
	struct store_register_in in;

	storefix_reg_in(&in, orgs, o, FILL, youth, now);
	cr_assert_eq(storefix_register(st, &in, &out), 0);
	store_view_free(&out.view);
}

TestSuite(store_pg, .init = setup_started, .fini = teardown);

/*
 * Two vixd register one youth at once: the second waits on the youth's
 * row lock until the first commits, then sees its signal and makes the
 * one match; outbox seqs stay dense; each vixd has its own audit chain
 * and both chains verify.
 */
Test(store_pg, two_writers_on_one_youth_make_one_match)
{
	struct store_register_out out;
	struct racer rc = { .done = 0 };
	uint8_t p[PSEUDONYM_LEN];
	struct store_txn *t;
	struct storefix_counts c;
	pthread_t tid;
	uint64_t count, chains, bad;
	PGresult *r;

	open_second();
	t = storefix_begin(st);
	reg_job(t, wijk, 1, T0, &out);
	cr_assert_eq(pthread_create(&tid, NULL, racer_main, &rc), 0);
	usleep(300 * 1000);
	cr_assert_eq(atomic_load(&rc.done), 0, "the second writer did not "
	    "wait for the youth's lock");
	storefix_commit(t);
	pthread_join(tid, NULL);
	cr_assert_eq(rc.out.change, MATCH_CREATED);
	pseudonym(p, 1);
	cr_assert_eq(storefix_match_seen_by(st, wijk, p, T0 + 2).id,
	    rc.out.view.match.id, "both vixd see the one match");
	c = storefix_counts(rd);
	cr_assert_eq(c.signals, 2);
	cr_assert_eq(c.matches, 1);
	r = sql("SELECT recipient, count(*), max(seq) FROM outbox GROUP BY "
	    "recipient HAVING count(*) <> max(seq)");
	cr_assert_eq(PQntuples(r), 0, "outbox seqs have gaps");
	PQclear(r);
	r = sql("SELECT count(DISTINCT seq >> 40) FROM audit");
	cr_assert_str_eq(PQgetvalue(r, 0, 0), "2", "one chain per vixd");
	PQclear(r);
	cr_assert_eq(store_audit_verify(rd, &count, &chains, &bad), 0);
	cr_assert_eq(count, 3);	/* two registrations and the lookup */
	cr_assert_eq(chains, 2, "verify counts one chain per vixd");
	cr_assert_eq(bad, 0);
	store_close(st2);
}

struct heard {
	pthread_mutex_t	lock;
	uint32_t	ids[8];
	size_t		n;
	int		all;
};

static void
published(void *arg, const uint32_t *ids, size_t n, int all)
{
	struct heard *h = arg;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < n && h->n < 8; i++)
		h->ids[h->n++] = ids[i];
	h->all |= all;
	pthread_mutex_unlock(&h->lock);
}

static int
heard_both(struct heard *h)
{
	int a = 0, b = 0;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n; i++) {
		a |= h->ids[i] == wijk->sid;
		b |= h->ids[i] == jz->sid;
	}
	pthread_mutex_unlock(&h->lock);
	return a && b;
}

static void
must_register2(const struct org *o, unsigned youth, int64_t now)
{
	struct store_register_out out;
	struct store_register_in in;

	storefix_reg_in(&in, orgs, o, FILL, youth, now);
	cr_assert_eq(storefix_register(st2, &in, &out), 0);
	store_view_free(&out.view);
}

/* The first vixd's watcher hears which outboxes the second one grew. */
Test(store_pg, a_watcher_hears_another_writers_commit)
{
	struct heard h = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct diag d;
	int ok = 0;

	open_second();
	diag_init(&d);
	cr_assert_eq(store_watch(st, published, &h, &d), 0, "%s", d.text);
	must_register2(wijk, 2, T0);
	must_register2(jz, 2, T0 + 1);	/* a match: both are told */
	for (int i = 0; i < 50 && !(ok = heard_both(&h)); i++)
		usleep(100 * 1000);
	store_unwatch(st);
	cr_assert(ok, "the watcher heard %zu ids, all %d", h.n, h.all);
	store_close(st2);
}

/* A schema newer than this vixd's is refused at open, naming both. */
Test(store_pg, a_newer_schema_is_refused)
{
	struct store_options o;
	struct diag d;

	PQclear(sql("UPDATE meta SET value = '99' WHERE key = "
	    "'schema_version'"));
	storefix_options(&o, dbdir, MAP_SIZE, 90, 0);
	diag_init(&d);
	cr_assert_null(store_open(&o, &d));
	cr_assert_not_null(strstr(d.text, "schema version 99, newer"), "%s",
	    d.text);
}

/* A password file others may read is refused, with the fix. */
Test(store_pg, a_readable_password_file_is_refused)
{
	char *path = support_path(dir, "pgpass");
	struct store_options o;
	struct diag d;

	support_write_file(path, "secret\n", 0644);
	storefix_options(&o, dbdir, MAP_SIZE, 90, 0);
	o.password_file = path;
	diag_init(&d);
	cr_assert_null(store_open(&o, &d));
	cr_assert_not_null(strstr(d.text, "chmod 600"), "%s", d.text);
	cr_assert_null(strstr(d.text, "secret"), "%s", d.text);
	/* Private, it is read (trust: the server does not ask for it). */
	chmod(path, 0600);
	diag_init(&d);
	store_close(store_open(&o, &d));
	cr_assert_eq(d.len, 0, "%s", d.text);
	free(path);
}

/*
 * The writer's connection is cut: the batch fails as UNAVAILABLE, not
 * as a store fault, and the next batch reconnects.
 */
Test(store_pg, a_lost_connection_is_unavailable_then_reconnected)
{
	struct store_register_out out;
	struct store_register_in in;
	struct store_txn *t;
	int err;

	must_register_pg(wijk, 1, T0);
	t = storefix_begin(st);
	/* This test's connections are named for its schema (storefix.c). */
	PQclear(sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
	    "WHERE application_name = current_schema() AND "
	    "pid <> pg_backend_pid()"));
	usleep(100 * 1000);
	storefix_reg_in(&in, orgs, jz, FILL, 1, T0 + 1);
	err = storefix_job_register(t, &in, 0, &out);
	cr_assert(err == VIX_E_UNAVAILABLE || err == 0, "job: %d", err);
	cr_assert_eq(store_write_commit(t), VIX_E_UNAVAILABLE);
	must_register_pg(jz, 1, T0 + 2);
	cr_assert_eq(storefix_counts(rd).matches, 1);
}

struct crosser {
	atomic_int	 holds;		/* it has locked its first youth */
	int		 err;		/* its commit's */
};

/* One job: o registers youth; the job's outcome. */
static int
try_register(struct store_txn *t, const struct org *o, unsigned youth,
    int64_t now)
{
	struct store_register_out out;
	struct store_register_in in;
	int err;

	storefix_reg_in(&in, orgs, o, FILL, youth, now);
	if ((err = store_job_begin(t)) != 0)
		return err;
	err = store_register(t, &in, &out);
	if (err == 0)
		store_view_free(&out.view);
	return store_job_end(t, err);
}

/* The second vixd: youth 11, then youth 10, which the first holds. */
static void *
crosser_main(void *arg)
{
	struct crosser *c = arg;
	struct store_txn *t = storefix_begin(st2);

	(void)try_register(t, jz, 11, T0);
	atomic_store(&c->holds, 1);
	(void)try_register(t, jz, 10, T0 + 1);
	c->err = store_write_commit(t);
	return NULL;
}

/*
 * Two vixd each lock a youth the other then needs: the server finds the
 * deadlock, one batch fails as VIX_E_CONFLICT (the writer runs it again)
 * and the other commits.
 */
Test(store_pg, a_deadlock_between_writers_is_a_conflict)
{
	struct crosser c = { .holds = 0 };
	struct store_txn *t;
	pthread_t tid;
	int err;

	open_second();
	t = storefix_begin(st);
	cr_assert_eq(try_register(t, wijk, 10, T0), 0);
	cr_assert_eq(pthread_create(&tid, NULL, crosser_main, &c), 0);
	for (int i = 0; i < 100 && !atomic_load(&c.holds); i++)
		usleep(20 * 1000);
	usleep(200 * 1000);	/* it now waits for youth 10 */
	(void)try_register(t, wijk, 11, T0 + 2);
	err = store_write_commit(t);
	pthread_join(tid, NULL);
	cr_assert((err == VIX_E_CONFLICT && c.err == 0) ||
	    (err == 0 && c.err == VIX_E_CONFLICT), "commits: %d and %d", err,
	    c.err);
	store_close(st2);
}

/*
 * Sweeps: one vixd at a time. While one vixd's sweep transaction is open,
 * another's finds the right taken and does nothing, not even the expiry
 * that is due; once the first has committed, the next sweep may run.
 */
Test(store_pg, one_vixd_sweeps_at_a_time)
{
	struct store_sweep_in in = { .max = 100, .archive_secs = 86400,
	    .outbox_retention = 86400 };
	struct store_sweep_out out;
	struct store_txn *t1, *t2;

	open_second();
	must_register_pg(wijk, 1, T0);
	in.orgs = orgs;
	in.now = T0 + 3 * 365 * 86400;	/* the signal is long expired */
	t1 = storefix_begin(st);
	cr_assert(store_txn_backend(t1)->exclusive(t1, "sweep"),
	    "the first vixd takes the sweep");
	t2 = storefix_begin(st2);
	cr_assert_eq(store_sweep(t2, &in, &out), 0);
	cr_assert_eq(out.expired, 0, "a second vixd swept at the same time");
	storefix_commit(t2);
	storefix_commit(t1);
	t2 = storefix_begin(st2);
	cr_assert_eq(store_sweep(t2, &in, &out), 0);
	cr_assert_eq(out.expired, 1, "the sweep's right did not come back");
	storefix_commit(t2);
	store_close(st2);
}

/*
 * What every writer shares (an organisation's outbox counter, its daily
 * count) is taken only at commit, in one order: two vixd whose batches
 * make matches for the same organisations in opposite orders neither wait
 * for each other's batch nor deadlock, and afterwards the outboxes are
 * dense and the daily counts hold both batches' registrations.
 */
Test(store_pg, shared_rows_wait_only_for_a_commit, .timeout = 30)
{
	struct store_register_out out;
	struct store_txn *a, *b;
	PGresult *r;
	char q[160];

	open_second();
	must_register_pg(wijk, 20, T0);
	must_register_pg(jz, 21, T0);
	/* a: jz joins youth 20 (rows for wijk, jz); b: wijk joins 21. */
	a = storefix_begin(st);
	reg_job(a, jz, 20, T0 + 1, &out);
	cr_assert_eq(out.change, MATCH_CREATED);
	store_view_free(&out.view);
	b = storefix_begin(st2);
	reg_job(b, wijk, 21, T0 + 1, &out);	/* would wait on a's counters */
	cr_assert_eq(out.change, MATCH_CREATED);
	store_view_free(&out.view);
	cr_assert_eq(store_write_commit(b), 0);
	cr_assert_eq(store_write_commit(a), 0);
	r = sql("SELECT recipient, count(*), max(seq) FROM outbox GROUP BY "
	    "recipient HAVING count(*) <> max(seq) OR count(*) <> 2");
	cr_assert_eq(PQntuples(r), 0, "outbox seqs not 1 and 2 for each");
	PQclear(r);
	snprintf(q, sizeof(q), "SELECT count FROM new_signals WHERE org = %u",
	    wijk->sid);
	r = sql(q);
	cr_assert_eq(PQntuples(r), 1);
	cr_assert_str_eq(PQgetvalue(r, 0, 0), "2", "wijk's count of the day "
	    "lost a registration");
	PQclear(r);
	store_close(st2);
}

/* ---- a key rotation leaves nothing of the old pseudonym ------------------ */

/* Rows of table whose p is the pseudonym p. */
static long
rows_naming(const char *table, const uint8_t *p)
{
	char text[160];
	PGresult *r;
	long n;
	int w;

	w = snprintf(text, sizeof(text), "SELECT count(*) FROM %s WHERE "
	    "p = '\\x", table);
	for (size_t i = 0; i < PSEUDONYM_LEN; i++)
		w += snprintf(text + w, sizeof(text) - (size_t)w, "%02x", p[i]);
	snprintf(text + w, sizeof(text) - (size_t)w, "'::bytea");
	r = sql(text);
	n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return n;
}

/* Every table with a youth's pseudonym in it (column p). */
Test(store_pg, no_table_names_the_old_pseudonym)
{
	static const char *const tables[] = { "youths", "signals", "matches",
	    "archive", "youth_audit", "outbox" };
	uint8_t p[PSEUDONYM_LEN], q[PSEUDONYM_LEN];
	size_t moved;

	pseudonym(p, 1);
	pseudonym(q, 2);
	q[0] |= 1;
	storefix_youth_everywhere(st, orgs, p, 1, T0);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		cr_assert_gt(rows_naming(tables[i], p), 0, "%s", tables[i]);
	cr_assert_eq(storefix_move(st, p, q, &moved), 0);
	cr_assert_gt(moved, 0);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		cr_assert_eq(rows_naming(tables[i], p), 0, "%s", tables[i]);
		cr_assert_gt(rows_naming(tables[i], q), 0, "%s", tables[i]);
	}
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/*
 * An erasure leaves nothing that names the youth, not even the lock row
 * in youths every writer takes its lock on: the pseudonym is nowhere in
 * the database (and a rotation's scan has nothing of it to find).
 */
Test(store_pg, an_erased_youth_leaves_no_row_naming_it)
{
	static const char *const tables[] = { "youths", "signals", "matches",
	    "archive", "youth_audit", "outbox" };
	uint8_t p[PSEUDONYM_LEN], found[4][PSEUDONYM_LEN];
	struct store_youth_cursor cur;
	struct store_txn *t;
	size_t n, total = 0, removed, withdrawn;

	pseudonym(p, 3);
	must_register_pg(wijk, 3, T0);
	cr_assert_eq(rows_naming("youths", p), 1);
	storefix_erase(st, orgs, p, T0 + 1, &removed, &withdrawn);
	cr_assert_eq(removed, 1);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		cr_assert_eq(rows_naming(tables[i], p), 0, "%s", tables[i]);
	t = storefix_begin(st);
	memset(&cur, 0, sizeof(cur));
	while (!cur.done) {
		cr_assert_eq(store_youth_scan(t, &cur, 0, found, 4, &n), 0);
		total += n;
	}
	store_write_abort(t);
	cr_assert_eq(total, 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

struct mover {
	int		 err;
	size_t		 moved;
	atomic_int	 done;
};

/* The second vixd moves youth 1 onto youth 2's pseudonym. */
static void *
mover_main(void *arg)
{
	struct mover *m = arg;
	uint8_t from[PSEUDONYM_LEN], to[PSEUDONYM_LEN];

	pseudonym(from, 1);
	pseudonym(to, 2);
	m->err = storefix_move(st2, from, to, &m->moved);
	atomic_store(&m->done, 1);
	return NULL;
}

/*
 * A move waits for the lock of the pseudonym it moves to: a registration
 * under it that another vixd has not committed yet is seen, and the move
 * refused, instead of two youths ending up under one pseudonym.
 */
Test(store_pg, a_move_waits_for_a_registration_under_its_target)
{
	struct store_register_out out;
	struct mover mv = { .done = 0 };
	uint8_t p[PSEUDONYM_LEN];
	struct store_txn *t;
	pthread_t tid;

	must_register_pg(wijk, 1, T0);
	open_second();
	t = storefix_begin(st);
	reg_job(t, jz, 2, T0 + 1, &out);
	cr_assert_eq(pthread_create(&tid, NULL, mover_main, &mv), 0);
	usleep(300 * 1000);
	cr_assert_eq(atomic_load(&mv.done), 0, "the move did not wait for "
	    "the target's lock");
	storefix_commit(t);
	pthread_join(tid, NULL);
	cr_assert_eq(mv.err, VIX_E_PRECONDITION);
	cr_assert_eq(mv.moved, 0);
	pseudonym(p, 1);
	cr_assert_eq(store_reader_youth_known(rd, p), 1);
	store_close(st2);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}
