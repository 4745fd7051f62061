/* The store under test: its backend, its folder, its organisations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#ifdef VIX_HAVE_PG
#include <libpq-fe.h>
#endif

#include "diag.h"
#include "errors.h"
#include "storefix.h"
#include "support.h"

/*
 * The backends the conformance suite runs against; tests/unit/meson.build
 * registers the suite once for each. A second backend joins both lists.
 */
static const char *const storefix_backends[] = { "lmdb", "postgresql",
    NULL };

const char *
storefix_backend(void)
{
	const char *b = getenv("VIX_TEST_BACKEND");

	return b == NULL || b[0] == '\0' ? "lmdb" : b;
}

#ifdef VIX_HAVE_PG
/*
 * The PostgreSQL store of dbdir: a schema of its own in the server
 * VIX_TEST_PG names (tests/support/pgtest.sh starts one), named for the
 * folder, so that each test (its own folder) starts empty and a reopened
 * store finds its rows again. Returns the conninfo that selects it.
 */
static const char *
storefix_pg_conninfo(const char *dbdir)
{
	static char conninfo[2048];
	const char *base = getenv("VIX_TEST_PG");
	char schema[32], sql[96];
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a of the folder */
	PGresult *r;
	PGconn *c;

	if (base == NULL || base[0] == '\0')
		cr_assert_fail("VIX_TEST_BACKEND=postgresql needs VIX_TEST_PG, "
		    "a conninfo (tests/support/pgtest.sh sets both)");
	for (const char *p = dbdir; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	snprintf(schema, sizeof(schema), "t_%016llx", (unsigned long long)h);
	c = PQconnectdb(base);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "VIX_TEST_PG: %s",
	    PQerrorMessage(c));
	snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", schema);
	r = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	snprintf(conninfo, sizeof(conninfo), "%s options='-c search_path=%s' "
	    "application_name=%s", base, schema, schema);
	return conninfo;
}
#endif

/*
 * The one place the backend under test is chosen: a name the tests know
 * (storefix_backends), passed to store_open, which refuses one it was not
 * built with.
 */
void
storefix_options(struct store_options *o, const char *dbdir, size_t map_size,
    unsigned quota_percent, int64_t escalate_after)
{
	const char *b = storefix_backend();
	size_t i;

	for (i = 0; storefix_backends[i] != NULL; i++)
		if (strcmp(storefix_backends[i], b) == 0)
			break;
	if (storefix_backends[i] == NULL)
		cr_assert_fail("VIX_TEST_BACKEND=%s: no such store backend",
		    b);
	memset(o, 0, sizeof(*o));
	o->dir = dbdir;
	o->map_size = map_size;
	o->quota_percent = quota_percent;
	o->escalate_after = escalate_after;
	o->backend = b;
#ifdef VIX_HAVE_PG
	if (strcmp(b, "postgresql") == 0)
		o->conninfo = storefix_pg_conninfo(dbdir);
#endif
}

struct store *
storefix_open(const char *dbdir, size_t map_size, unsigned quota_percent,
    int64_t escalate_after)
{
	struct store_options o;
	struct store *s;
	struct diag d;

	storefix_options(&o, dbdir, map_size, quota_percent, escalate_after);
	diag_init(&d);
	s = store_open(&o, &d);
	cr_assert_not_null(s, "store_open (%s): %s", storefix_backend(),
	    d.text);
	return s;
}

char *
storefix_tmpdir(const char *tag, char **dbdir)
{
	char *dir = support_tmpdir(tag);

	*dbdir = support_path(dir, "db");
	return dir;
}

void
storefix_tmpdir_remove(char *dir, char *dbdir)
{
	free(dbdir);
	support_tmpdir_remove(dir);
}

struct orgs *
storefix_orgs_load(const char *dir, const char *text)
{
	char *path = support_path(dir, "orgs.conf");
	struct orgs *o;
	struct diag d;

	support_write_file(path, text, 0644);
	diag_init(&d);
	o = orgs_load(path, &d);
	cr_assert_not_null(o, "orgs_load: %s", d.text);
	free(path);
	return o;
}

void
storefix_bind(struct store *s, struct orgs *o)
{
	struct diag d;

	diag_init(&d);
	cr_assert_eq(store_bind_orgs(s, o, &d), 0, "bind: %s", d.text);
}

const struct org *
storefix_org(const struct orgs *orgs, const char *id)
{
	const struct org *o = orgs_by_id(orgs, id);

	cr_assert_not_null(o, "no organisation %s", id);
	return o;
}

void
storefix_pseudonym(uint8_t *p, uint8_t fill, unsigned youth)
{
	memset(p, fill, PSEUDONYM_LEN);
	p[0] = (uint8_t)(youth >> 8);
	p[1] = (uint8_t)youth;
}

void
storefix_reg_in(struct store_register_in *in, const struct orgs *orgs,
    const struct org *o, uint8_t fill, unsigned youth, int64_t now)
{
	memset(in, 0, sizeof(*in));
	storefix_pseudonym(in->pseudonym, fill, youth);
	in->org = o;
	in->orgs = orgs;
	in->now = now;
	in->expires = now + 365 * 86400;
	in->bound = 1;		/* vix.v1 ExpiryBound DURATION */
	snprintf(in->contact.name, sizeof(in->contact.name), "Contact %s",
	    o->id);
	snprintf(in->contact.phone, sizeof(in->contact.phone), "030-%u",
	    o->sid);
	snprintf(in->contact.email, sizeof(in->contact.email),
	    "%s@example.org", o->id);
	snprintf(in->client_ref, sizeof(in->client_ref), "ref-%s-%u", o->id,
	    youth);
	snprintf(in->municipality, sizeof(in->municipality), "0344");
}

void
storefix_contact(struct store_contact *c, const char *name)
{
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->phone, sizeof(c->phone), "06-%zu", strlen(name));
	snprintf(c->email, sizeof(c->email), "%.8s@example.org", name);
}

struct store_txn *
storefix_begin(struct store *s)
{
	struct store_txn *t;
	int err = -99;

	t = store_write_begin(s, &err);
	cr_assert_not_null(t, "store_write_begin: %d", err);
	cr_assert_eq(err, 0);
	return t;
}

void
storefix_commit(struct store_txn *t)
{
	cr_assert_eq(store_write_commit(t), 0);
}

int
storefix_register(struct store *s, const struct store_register_in *in,
    struct store_register_out *out)
{
	struct store_txn *t = storefix_begin(s);
	int err;

	cr_assert_eq(store_job_begin(t), 0);
	err = store_job_end(t, store_register(t, in, out));
	storefix_commit(t);
	return err;
}

int
storefix_withdraw(struct store *s, const struct store_withdraw_in *in,
    struct store_withdraw_out *out)
{
	struct store_txn *t = storefix_begin(s);
	int err;

	cr_assert_eq(store_job_begin(t), 0);
	err = store_job_end(t, store_withdraw(t, in, out));
	storefix_commit(t);
	return err;
}

int
storefix_job_register(struct store_txn *t, const struct store_register_in *in,
    int end_err, struct store_register_out *out)
{
	int err;

	if ((err = store_job_begin(t)) != 0)
		return err;
	err = store_register(t, in, out);
	cr_assert_eq(store_job_end(t, err ? err : end_err),
	    err ? err : end_err);
	if (err == 0)
		store_view_free(&out->view);
	return err;
}

size_t
storefix_list_all(struct store_reader *rd, uint32_t sid,
    struct store_summary *out, size_t max)
{
	size_t n = 0, got;
	uint64_t after = 0, next;

	do {
		cr_assert_eq(store_list(rd, sid, after, out + n,
		    max - n < 64 ? max - n : 64, &got, &next), 0);
		n += got;
		after = next;
	} while (next != 0 && n < max);
	cr_assert_eq(next, 0, "more than %zu signals", max);
	return n;
}

struct storefix_counts
storefix_counts(struct store_reader *rd)
{
	struct storefix_counts c;

	cr_assert_eq(store_counts(rd, &c.signals, &c.matches, &c.archived),
	    0);
	return c;
}

uint64_t
storefix_audit_good(struct store_reader *rd)
{
	uint64_t count, bad;

	cr_assert_eq(store_audit_verify(rd, &count, NULL, &bad), 0);
	cr_assert_eq(bad, 0, "audit record %llu fails",
	    (unsigned long long)bad);
	return count;
}

void
storefix_audit_many(struct store *s, unsigned n, int64_t t0)
{
	struct store_txn *t = storefix_begin(s);
	int err = 0;

	/* One job: a savepoint each would cost more than the records. */
	cr_assert_eq(store_job_begin(t), 0);
	for (unsigned i = 1; i <= n && err == 0; i++)
		err = store_audit(t, t0 + i, STOREFIX_OIN_WIJK, "register", i,
		    0, "ok");
	cr_assert_eq(store_job_end(t, err), 0);
	storefix_commit(t);
}

struct store_match
storefix_match_seen_by(struct store *s, const struct org *o, const uint8_t *p,
    int64_t now)
{
	struct store_txn *t = storefix_begin(s);
	struct store_view v;
	uint64_t id;

	cr_assert_eq(store_job_begin(t), 0);
	cr_assert_eq(store_job_end(t, store_involved(t, p, o, now, &id, &v)),
	    0);
	storefix_commit(t);
	cr_assert(v.has_match);
	store_view_free(&v);
	return v.match;
}

int
storefix_coordinate(struct store *s, const struct store_coordinate_in *in,
    int keep)
{
	struct store_txn *t = storefix_begin(s);
	struct store_view v;
	int err;

	cr_assert_eq(store_job_begin(t), 0);
	err = store_coordinate(t, in, &v);
	if (err == 0)
		store_view_free(&v);
	err = store_job_end(t, err != 0 ? err : keep ? 0 : VIX_E_INVALID);
	storefix_commit(t);
	return err;
}

void
storefix_erase(struct store *s, const struct orgs *orgs, const uint8_t *p,
    int64_t now, size_t *removed, size_t *withdrawn)
{
	struct store_erase_in in = { .orgs = orgs, .now = now,
	    .action = "erase:gdpr", .actor = "admin:uid=0" };
	struct store_erase_out out;
	struct store_txn *t = storefix_begin(s);

	memcpy(in.pseudonym, p, PSEUDONYM_LEN);
	cr_assert_eq(store_job_begin(t), 0);
	cr_assert_eq(store_job_end(t, store_erase(t, &in, &out)), 0);
	storefix_commit(t);
	*removed = out.removed;
	*withdrawn = out.withdrawn;
	free(out.orgs);
}

void
storefix_stats(struct store_reader *r, const struct orgs *orgs, int64_t now,
    size_t *matches, size_t *uncoordinated)
{
	struct store_stats st;

	cr_assert_eq(store_stats(r, orgs, now, &st), 0);
	*matches = st.matches;
	*uncoordinated = st.matches_uncoordinated;
	store_stats_free(&st);
}

/* A registration of youth under p, which must be accepted. */
static void
register_as(struct store *s, const struct orgs *orgs, const char *org,
    const uint8_t *p, unsigned youth, int64_t now)
{
	struct store_register_in in;
	struct store_register_out out;

	storefix_reg_in(&in, orgs, storefix_org(orgs, org), 0, youth, now);
	memcpy(in.pseudonym, p, PSEUDONYM_LEN);
	cr_assert_eq(storefix_register(s, &in, &out), 0);
	store_view_free(&out.view);
}

void
storefix_youth_everywhere(struct store *s, const struct orgs *orgs,
    const uint8_t *p, unsigned youth, int64_t now)
{
	struct store_withdraw_in in = { .org = storefix_org(orgs, "vt"),
	    .orgs = orgs, .now = now + 3,
	    .reason = STORE_WITHDRAW_RISK_RESOLVED };
	struct store_withdraw_out out;

	register_as(s, orgs, "wijk", p, youth, now);
	register_as(s, orgs, "jz", p, youth, now + 1);
	register_as(s, orgs, "vt", p, youth, now + 2);
	memcpy(in.pseudonym, p, PSEUDONYM_LEN);
	cr_assert_eq(storefix_withdraw(s, &in, &out), 0);
	storefix_match_seen_by(s, storefix_org(orgs, "jz"), p, now + 4);
}

int
storefix_move(struct store *s, const uint8_t *from, const uint8_t *to,
    size_t *moved)
{
	struct store_txn *t = storefix_begin(s);
	int err;

	cr_assert_eq(store_job_begin(t), 0);
	err = store_job_end(t, store_youth_move(t, from, to, moved));
	storefix_commit(t);
	return err;
}

struct figures_month
storefix_month(struct store_reader *rd, const char *muni, int64_t when)
{
	struct figures_month m[1];
	time_t t = (time_t)when;
	struct tm tm;
	size_t n;

	localtime_r(&t, &tm);
	cr_assert_eq(figures_read(rd, muni, tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_year + 1900, tm.tm_mon + 1, m, &n), 0);
	cr_assert_eq(n, 1);
	return m[0];
}
