/*
 * The PostgreSQL backend: the store's records in tables of one schema
 * (the first of the connection's search_path), reached with libpq, so that
 * several vixd can share one database. A write transaction is READ
 * COMMITTED with a savepoint per job; a youth's row in `youths` is locked
 * the first time a transaction touches the youth, so that two writers
 * registering one youth serialize. Ids come from sequences, outbox seqs
 * from a counter row per recipient updated under its lock (gap-free in
 * commit order), counts from rows per writer chain, and every vixd keeps
 * its own audit chain. Statements are prepared once per connection, their
 * parameters and results binary.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "audit.h"
#include "diag.h"
#include "errors.h"
#include "log.h"
#include "orgs.h"
#include "store.h"
#include "store_backend.h"
#include "store_pg.h"
#include "store.pb-c.h"

/* 1: the tables below but family; 2: family (added to a 1 at start). */
#define PG_SCHEMA		2
#define PG_CONNECT_TIMEOUT	"3"
#define PG_CHANNEL		"vix_outbox"
#define PG_PAGE			256	/* rows per fetch of a long scan */
#define PG_ID_BLOCK		32	/* signal and match ids taken at once */
#define PG_PIPE_MAX		256	/* statements in flight before a sync */
#define PG_LOCK_SCHEMA		1986623603	/* advisory: schema creation */
#define PG_STR_(x)		#x
#define PG_STR(x)		PG_STR_(x)

/* Counts kept per chain: the domain's three, then the backend's own. */
#define PG_COUNT_ARCHIVED	3
#define PG_COUNT_AUDIT		4
#define PG_NCOUNTS		5

static const char pg_schema_sql[] =
	"CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);"
	"CREATE SEQUENCE signal_ids;"
	"CREATE SEQUENCE match_ids;"
	"CREATE SEQUENCE org_ids;"
	"CREATE SEQUENCE chain_ids;"
	"CREATE TABLE chains (chain bigint PRIMARY KEY,"
	" started timestamptz NOT NULL DEFAULT now(), host text NOT NULL);"
	"CREATE TABLE orgs (oin text PRIMARY KEY, id integer NOT NULL UNIQUE);"
	"CREATE TABLE youths (p bytea PRIMARY KEY);"
	"CREATE TABLE signals (p bytea NOT NULL, org integer NOT NULL,"
	" id bigint NOT NULL UNIQUE, rec bytea NOT NULL,"
	" PRIMARY KEY (p, org));"
	"CREATE INDEX signals_by_org ON signals (org, id);"
	"CREATE TABLE matches (p bytea PRIMARY KEY, id bigint NOT NULL UNIQUE,"
	" rec bytea NOT NULL);"
	"CREATE TABLE due (kind smallint NOT NULL, at bigint NOT NULL,"
	" id bigint NOT NULL, PRIMARY KEY (kind, at, id));"
	"CREATE TABLE archive (p bytea NOT NULL, org integer NOT NULL,"
	" archived bigint NOT NULL, signal_id bigint NOT NULL,"
	" rec bytea NOT NULL, PRIMARY KEY (p, org, archived, signal_id));"
	"CREATE INDEX archive_by_time ON archive (archived);"
	"CREATE TABLE audit (seq bigint PRIMARY KEY, rec bytea NOT NULL,"
	" hash bytea NOT NULL);"
	"CREATE TABLE youth_audit (p bytea NOT NULL, seq bigint NOT NULL,"
	" PRIMARY KEY (p, seq));"
	"CREATE TABLE outbox (recipient integer NOT NULL, seq bigint NOT NULL,"
	" row bytea NOT NULL, p bytea, PRIMARY KEY (recipient, seq));"
	"CREATE INDEX outbox_by_youth ON outbox (p) WHERE p IS NOT NULL;"
	"CREATE TABLE outbox_heads (recipient integer PRIMARY KEY,"
	" last bigint NOT NULL);"
	"CREATE TABLE cursors (consumer integer NOT NULL,"
	" recipient integer NOT NULL, seq bigint NOT NULL,"
	" PRIMARY KEY (consumer, recipient));"
	"CREATE TABLE counts (chain bigint NOT NULL, kind smallint NOT NULL,"
	" n bigint NOT NULL, PRIMARY KEY (chain, kind));"
	"CREATE TABLE new_signals (org integer PRIMARY KEY, day bigint NOT NULL,"
	" count bigint NOT NULL);";

/* Schema 2's: the family index (parent, youth, org) -> signal id. */
static const char pg_schema2_sql[] =
	"CREATE TABLE family (parent bytea NOT NULL, p bytea NOT NULL,"
	" org integer NOT NULL, signal_id bigint NOT NULL,"
	" PRIMARY KEY (parent, p, org));";

/* The prepared statements, by number; each connection prepares on use. */
enum pg_stmt {
	Q_YOUTH_LOCK, Q_YOUTH_LOAD,
	Q_ID_SIGNAL, Q_ID_MATCH, Q_ID_ORG,
	Q_OUTBOX_HEADS, Q_OUTBOX_LAST, Q_OUTBOX_PUT, Q_OUTBOX_SCAN,
	Q_OUTBOX_DELETE, Q_OUTBOX_ERASE,
	Q_CURSOR_GET, Q_CURSOR_PUT,
	Q_COUNT_GET, Q_COUNT_ADD,
	Q_AUDIT_HEAD, Q_AUDIT_APPEND, Q_AUDIT_SCAN, Q_AUDIT_GET,
	Q_YOUTH_AUDITED, Q_YOUTH_AUDIT, Q_YOUTH_AUDIT_UNLINK,
	Q_SIGNAL_LOCATE, Q_SIGNAL_GET, Q_SIGNAL_PUT, Q_SIGNAL_DELETE,
	Q_YOUTH_SIGNALS, Q_ORG_SIGNALS,
	Q_MATCH_YOUTH, Q_MATCH_GET, Q_MATCH_PUT, Q_MATCH_DELETE,
	Q_DUE_PUT, Q_DUE_DELETE, Q_DUE_SCAN,
	Q_ARCHIVE_PUT, Q_ARCHIVE_PURGE, Q_YOUTH_ARCHIVE, Q_ARCHIVE_ERASE,
	Q_NEWSIG_GET, Q_NEWSIG_ADD,
	Q_EXCLUSIVE, Q_DB_SIZE, Q_NOTIFY,
	Q_IMPORT_ORG_FREE, Q_IMPORT_ORG, Q_IMPORT_ID, Q_IMPORT_OUTBOX,
	Q_IMPORT_LINK,
	Q_YOUTH_HELD, Q_YOUTH_MOVE, Q_YOUTH_FORGET,
	Q_NEXT_SIGNALS, Q_NEXT_MATCHES, Q_NEXT_ARCHIVE, Q_NEXT_AUDIT,
	Q_NEXT_OUTBOX, Q_NEXT_YOUTHS,
	Q_META_GET, Q_META_PUT, Q_META_DELETE,
	Q_FAMILY_PUT, Q_FAMILY_DELETE, Q_FAMILY_SCAN, Q_NEXT_FAMILY,
	Q_META_MAKE, Q_META_LOCK,
	Q_COUNT
};

static const struct {
	const char	*name;
	const char	*sql;
} pg_stmts[Q_COUNT] = {
	[Q_YOUTH_LOCK] = { "youth_lock",
	    "INSERT INTO youths (p) VALUES ($1::bytea) ON CONFLICT (p) "
	    "DO UPDATE SET p = EXCLUDED.p" },
	[Q_YOUTH_LOAD] = { "youth_load",
	    "SELECT org, rec FROM signals WHERE p = $1::bytea UNION ALL "
	    "SELECT -1, rec FROM matches WHERE p = $1::bytea ORDER BY 1" },
	[Q_ID_SIGNAL] = { "id_signal", "SELECT nextval('signal_ids') FROM "
	    "generate_series(1, " PG_STR(PG_ID_BLOCK) ")" },
	[Q_ID_MATCH] = { "id_match", "SELECT nextval('match_ids') FROM "
	    "generate_series(1, " PG_STR(PG_ID_BLOCK) ")" },
	[Q_ID_ORG] = { "id_org", "SELECT nextval('org_ids')" },
	/*
	 * At commit, the batch's rows counted per recipient, in recipient
	 * order (every writer locks the counters in the same order).
	 */
	[Q_OUTBOX_HEADS] = { "outbox_heads",
	    "INSERT INTO outbox_heads (recipient, last) SELECT r, n FROM "
	    "unnest($1::text::int4[], $2::text::int8[]) AS u (r, n) ORDER BY r "
	    "ON CONFLICT (recipient) DO UPDATE SET last = outbox_heads.last + "
	    "EXCLUDED.last RETURNING recipient, last" },
	[Q_OUTBOX_LAST] = { "outbox_last",
	    "SELECT last FROM outbox_heads WHERE recipient = $1::int4" },
	[Q_OUTBOX_PUT] = { "outbox_put",
	    "INSERT INTO outbox (recipient, seq, row, p) VALUES ($1::int4, "
	    "$2::int8, $3::bytea, $4::bytea)" },
	[Q_OUTBOX_SCAN] = { "outbox_scan",
	    "SELECT seq, row FROM outbox WHERE recipient = $1::int4 AND "
	    "seq > $2::int8 ORDER BY seq LIMIT $3::int8" },
	[Q_OUTBOX_DELETE] = { "outbox_delete",
	    "DELETE FROM outbox WHERE recipient = $1::int4 AND seq = $2::int8" },
	[Q_OUTBOX_ERASE] = { "outbox_erase",
	    "DELETE FROM outbox WHERE p = $1::bytea" },
	[Q_CURSOR_GET] = { "cursor_get",
	    "SELECT seq FROM cursors WHERE consumer = $1::int4 AND "
	    "recipient = $2::int4" },
	[Q_CURSOR_PUT] = { "cursor_put",
	    "INSERT INTO cursors (consumer, recipient, seq) VALUES ($1::int4, "
	    "$2::int4, $3::int8) ON CONFLICT (consumer, recipient) DO UPDATE "
	    "SET seq = EXCLUDED.seq" },
	[Q_COUNT_GET] = { "count_get",
	    "SELECT coalesce(sum(n), 0)::int8 FROM counts WHERE "
	    "kind = $1::int2" },
	[Q_COUNT_ADD] = { "count_add",
	    "INSERT INTO counts (chain, kind, n) VALUES ($1::int8, 0, "
	    "$2::int8), ($1, 1, $3::int8), ($1, 2, $4::int8), ($1, 3, "
	    "$5::int8), ($1, 4, $6::int8) ON CONFLICT (chain, kind) DO UPDATE "
	    "SET n = counts.n + EXCLUDED.n" },
	[Q_AUDIT_HEAD] = { "audit_head",
	    "SELECT seq, hash FROM audit WHERE seq > $1::int8 AND "
	    "seq < $2::int8 ORDER BY seq DESC LIMIT 1" },
	[Q_AUDIT_APPEND] = { "audit_append",
	    "WITH a AS (INSERT INTO audit (seq, rec, hash) VALUES ($1::int8, "
	    "$2::bytea, $3::bytea)) INSERT INTO youth_audit (p, seq) "
	    "SELECT $4::bytea, $1::int8 WHERE $4::bytea IS NOT NULL" },
	[Q_AUDIT_SCAN] = { "audit_scan",
	    "SELECT seq, rec, hash FROM audit WHERE seq > $1::int8 "
	    "ORDER BY seq LIMIT 256" },
	[Q_AUDIT_GET] = { "audit_get",
	    "SELECT rec FROM audit WHERE seq = $1::int8" },
	[Q_YOUTH_AUDITED] = { "youth_audited",
	    "SELECT 1 FROM youth_audit WHERE p = $1::bytea LIMIT 1" },
	[Q_YOUTH_AUDIT] = { "youth_audit",
	    "SELECT seq FROM youth_audit WHERE p = $1::bytea ORDER BY seq" },
	[Q_YOUTH_AUDIT_UNLINK] = { "youth_audit_unlink",
	    "DELETE FROM youth_audit WHERE p = $1::bytea" },
	[Q_SIGNAL_LOCATE] = { "signal_locate",
	    "SELECT p, org FROM signals WHERE id = $1::int8" },
	[Q_SIGNAL_GET] = { "signal_get",
	    "SELECT rec FROM signals WHERE p = $1::bytea AND org = $2::int4" },
	[Q_SIGNAL_PUT] = { "signal_put",
	    "INSERT INTO signals (p, org, id, rec) VALUES ($1::bytea, "
	    "$2::int4, $3::int8, $4::bytea) ON CONFLICT (p, org) DO UPDATE "
	    "SET id = EXCLUDED.id, rec = EXCLUDED.rec" },
	[Q_SIGNAL_DELETE] = { "signal_delete",
	    "DELETE FROM signals WHERE p = $1::bytea AND org = $2::int4" },
	[Q_YOUTH_SIGNALS] = { "youth_signals",
	    "SELECT org, rec FROM signals WHERE p = $1::bytea ORDER BY org" },
	[Q_ORG_SIGNALS] = { "org_signals",
	    "SELECT id, p, rec FROM signals WHERE org = $1::int4 AND "
	    "id > $2::int8 ORDER BY id LIMIT 256" },
	[Q_MATCH_YOUTH] = { "match_youth",
	    "SELECT p FROM matches WHERE id = $1::int8" },
	[Q_MATCH_GET] = { "match_get",
	    "SELECT rec FROM matches WHERE p = $1::bytea" },
	[Q_MATCH_PUT] = { "match_put",
	    "INSERT INTO matches (p, id, rec) VALUES ($1::bytea, $2::int8, "
	    "$3::bytea) ON CONFLICT (p) DO UPDATE SET id = EXCLUDED.id, "
	    "rec = EXCLUDED.rec" },
	[Q_MATCH_DELETE] = { "match_delete",
	    "DELETE FROM matches WHERE p = $1::bytea" },
	[Q_DUE_PUT] = { "due_put",
	    "INSERT INTO due (kind, at, id) VALUES ($1::int2, $2::int8, "
	    "$3::int8) ON CONFLICT DO NOTHING" },
	[Q_DUE_DELETE] = { "due_delete",
	    "DELETE FROM due WHERE kind = $1::int2 AND at = $2::int8 AND "
	    "id = $3::int8" },
	[Q_DUE_SCAN] = { "due_scan",
	    "SELECT at, id FROM due WHERE kind = $1::int2 AND at <= $2::int8 "
	    "ORDER BY at, id LIMIT $3::int8" },
	[Q_ARCHIVE_PUT] = { "archive_put",
	    "INSERT INTO archive (p, org, archived, signal_id, rec) VALUES "
	    "($1::bytea, $2::int4, $3::int8, $4::int8, $5::bytea) "
	    "ON CONFLICT (p, org, archived, signal_id) DO UPDATE SET "
	    "rec = EXCLUDED.rec" },
	[Q_ARCHIVE_PURGE] = { "archive_purge",
	    "WITH d AS (DELETE FROM archive WHERE ctid IN (SELECT ctid FROM "
	    "archive WHERE archived <= $1::int8 ORDER BY archived "
	    "LIMIT $2::int8) RETURNING 1) SELECT count(*)::int8 FROM d" },
	[Q_YOUTH_ARCHIVE] = { "youth_archive",
	    "SELECT rec FROM archive WHERE p = $1::bytea "
	    "ORDER BY org, archived, signal_id" },
	[Q_ARCHIVE_ERASE] = { "archive_erase",
	    "DELETE FROM archive WHERE p = $1::bytea RETURNING signal_id" },
	[Q_NEWSIG_GET] = { "newsig_get",
	    "SELECT day, count FROM new_signals WHERE org = $1::int4" },
	/*
	 * At commit: the batch's new signals of an organisation on day added
	 * to what other writers counted meanwhile (a later day is kept).
	 */
	[Q_NEWSIG_ADD] = { "newsig_add",
	    "INSERT INTO new_signals (org, day, count) VALUES ($1::int4, "
	    "$2::int8, $3::int8) ON CONFLICT (org) DO UPDATE SET count = CASE "
	    "WHEN new_signals.day = EXCLUDED.day THEN new_signals.count + "
	    "EXCLUDED.count ELSE EXCLUDED.count END, day = EXCLUDED.day "
	    "WHERE new_signals.day <= EXCLUDED.day" },
	[Q_EXCLUSIVE] = { "exclusive",
	    "SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), "
	    "hashtext($1::text))" },
	[Q_NOTIFY] = { "notify",
	    "SELECT pg_notify('" PG_CHANNEL "', $1::text)" },
	[Q_DB_SIZE] = { "db_size",
	    "SELECT pg_database_size(current_database())::int8" },
	/* vixd --import-lmdb, into an empty store: ids as they were. */
	[Q_IMPORT_ORG_FREE] = { "import_org_free",
	    "DELETE FROM orgs WHERE id = $2::int4 AND oin <> $1::text" },
	[Q_IMPORT_ORG] = { "import_org",
	    "INSERT INTO orgs (oin, id) VALUES ($1::text, $2::int4) "
	    "ON CONFLICT (oin) DO UPDATE SET id = EXCLUDED.id" },
	[Q_IMPORT_ID] = { "import_id",
	    "SELECT setval($1::text::regclass, greatest($2::int8 - 1, 1), "
	    "$2::int8 > 1)" },
	[Q_IMPORT_OUTBOX] = { "import_outbox",
	    "INSERT INTO outbox_heads (recipient, last) VALUES ($1::int4, "
	    "$2::int8) ON CONFLICT (recipient) DO UPDATE SET last = "
	    "greatest(outbox_heads.last, EXCLUDED.last)" },
	[Q_IMPORT_LINK] = { "import_link",
	    "INSERT INTO youth_audit (p, seq) VALUES ($1::bytea, $2::int8) "
	    "ON CONFLICT DO NOTHING" },
	/* A key rotation: every row under a youth's pseudonym moves. */
	[Q_YOUTH_HELD] = { "youth_held",
	    "SELECT (EXISTS (SELECT 1 FROM signals WHERE p = $1::bytea) OR "
	    "EXISTS (SELECT 1 FROM matches WHERE p = $1::bytea) OR "
	    "EXISTS (SELECT 1 FROM archive WHERE p = $1::bytea) OR "
	    "EXISTS (SELECT 1 FROM youth_audit WHERE p = $1::bytea) OR "
	    "EXISTS (SELECT 1 FROM outbox WHERE p = $1::bytea))::int4" },
	/* The old pseudonym's row in youths goes too: no row names it. */
	[Q_YOUTH_MOVE] = { "youth_move",
	    "WITH s AS (UPDATE signals SET p = $2::bytea WHERE p = $1::bytea "
	    "RETURNING 1), m AS (UPDATE matches SET p = $2::bytea WHERE "
	    "p = $1::bytea RETURNING 1), a AS (UPDATE archive SET "
	    "p = $2::bytea WHERE p = $1::bytea RETURNING 1), l AS (UPDATE "
	    "youth_audit SET p = $2::bytea WHERE p = $1::bytea RETURNING 1), "
	    "o AS (UPDATE outbox SET p = $2::bytea WHERE p = $1::bytea "
	    "RETURNING 1), y AS (DELETE FROM youths WHERE p = $1::bytea) "
	    "SELECT ((SELECT count(*) FROM s) + (SELECT count(*) FROM m) + "
	    "(SELECT count(*) FROM a) + (SELECT count(*) FROM l) + "
	    "(SELECT count(*) FROM o))::int8" },
	[Q_YOUTH_FORGET] = { "youth_forget",
	    "DELETE FROM youths WHERE p = $1::bytea" },
	/* The rotation's scan, table by table in the order of pg_youth_next. */
	[Q_NEXT_SIGNALS] = { "next_signals",
	    "SELECT p FROM signals WHERE p > $1::bytea ORDER BY p "
	    "LIMIT $2::int8" },
	[Q_NEXT_MATCHES] = { "next_matches",
	    "SELECT p FROM matches WHERE p > $1::bytea ORDER BY p "
	    "LIMIT $2::int8" },
	[Q_NEXT_ARCHIVE] = { "next_archive",
	    "SELECT p FROM archive WHERE p > $1::bytea ORDER BY p "
	    "LIMIT $2::int8" },
	[Q_NEXT_AUDIT] = { "next_audit",
	    "SELECT p FROM youth_audit WHERE p > $1::bytea ORDER BY p "
	    "LIMIT $2::int8" },
	[Q_NEXT_OUTBOX] = { "next_outbox",
	    "SELECT p FROM outbox WHERE p IS NOT NULL AND p > $1::bytea "
	    "ORDER BY p LIMIT $2::int8" },
	[Q_NEXT_YOUTHS] = { "next_youths",
	    "SELECT p FROM youths WHERE p > $1::bytea ORDER BY p "
	    "LIMIT $2::int8" },
	[Q_FAMILY_PUT] = { "family_put",
	    "INSERT INTO family (parent, p, org, signal_id) VALUES "
	    "($1::bytea, $2::bytea, $3::int4, $4::int8) ON CONFLICT "
	    "(parent, p, org) DO UPDATE SET signal_id = EXCLUDED.signal_id" },
	[Q_FAMILY_DELETE] = { "family_delete",
	    "DELETE FROM family WHERE parent = $1::bytea AND p = $2::bytea "
	    "AND org = $3::int4" },
	[Q_FAMILY_SCAN] = { "family_scan",
	    "SELECT p, org, signal_id FROM family WHERE parent = $1::bytea "
	    "ORDER BY p, org" },
	[Q_NEXT_FAMILY] = { "next_family",
	    "SELECT parent FROM family WHERE parent > $1::bytea ORDER BY "
	    "parent LIMIT $2::int8" },
	/* Two statements: the second's snapshot sees the other's insert. */
	[Q_META_MAKE] = { "meta_make",
	    "INSERT INTO meta (key, value) VALUES ($1::text, '') "
	    "ON CONFLICT (key) DO NOTHING" },
	[Q_META_LOCK] = { "meta_lock",
	    "SELECT 1 FROM meta WHERE key = $1::text FOR UPDATE" },
	[Q_META_GET] = { "meta_get",
	    "SELECT value FROM meta WHERE key = $1::text" },
	[Q_META_PUT] = { "meta_put",
	    "INSERT INTO meta (key, value) VALUES ($1::text, $2::text) "
	    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value" },
	[Q_META_DELETE] = { "meta_delete",
	    "DELETE FROM meta WHERE key = $1::text" },
};

/* ---- connections ------------------------------------------------------ */

/* One connection and which statements it has prepared. */
struct pg_conn {
	PGconn		*c;
	uint8_t		 prepared[Q_COUNT];
	int		 pipeline;	/* in pipeline mode (the writer's) */
	size_t		 pending;	/* statements sent since the last sync */
	const char	*names[PG_PIPE_MAX];
};

/* A youth this transaction holds the row lock of. */
struct pg_youth {
	uint8_t		 p[PSEUDONYM_LEN];
	/*
	 * Its signals (by org) and match as this transaction left them:
	 * read once when it is locked (nobody else can change them until
	 * commit), kept with every put and delete, dropped when a job rolls
	 * back. cached 0: read again on the next use.
	 */
	int		 cached;
	struct pg_sig	*sigs;
	size_t		 nsigs;
	uint8_t		*match;		/* packed; NULL: none */
	size_t		 match_len;
};

/*
 * An organisation's count of new signals as this batch sees it: as read
 * (base, not locked) and as the batch left it; the difference is added at
 * commit. job_: as the current job found it, for its rollback.
 */
struct pg_newsig {
	uint32_t	 org;
	int		 base_found;
	uint64_t	 base_day, base_count;
	int		 found;		/* 0: none kept */
	uint64_t	 day, count;
	int		 job_found;
	uint64_t	 job_day, job_count;
};

/*
 * An outbox row of the batch, numbered at commit: rel is the provisional
 * seq in the row, which orders the batch's rows.
 */
struct pg_out {
	uint32_t	 recipient;
	uint64_t	 rel;
	uint8_t		*row;
	size_t		 len;
	int		 has_youth;
	uint8_t		 youth[PSEUDONYM_LEN];
	int		 erased;	/* by an erasure later in the batch */
	int		 erased_by_job;	/* by the current job */
	int		 moved_by_job;	/* youth moved by the current job */
	uint8_t		 job_youth[PSEUDONYM_LEN];	/* before that */
};

struct pg_sig {
	uint32_t	 org;
	uint8_t		*rec;		/* packed */
	size_t		 len;
};

/* Savepoint states of a write transaction. */
enum pg_sp {
	SP_NONE,	/* no job open */
	SP_OPEN,	/* the job's savepoint is open */
	SP_KEEP,	/* the job ended well; its RELEASE not sent yet */
};

struct pg_txn {
	struct store_txn	 base;
	struct pg_conn		*conn;
	int			 write;
	int			 begun;		/* BEGIN sent */
	enum pg_sp		 sp;
	int			 fatal;		/* CONFLICT or UNAVAILABLE */
	struct pg_youth		*locked;
	size_t			 nlocked, cap_locked, job_nlocked;
	int64_t			 counts[PG_NCOUNTS];	/* unwritten deltas */
	int64_t			 job_counts[PG_NCOUNTS];
	struct pg_newsig	*newsig;	/* per org */
	size_t			 nnewsig, job_nnewsig;
	struct pg_out		*out;		/* rows numbered at commit */
	size_t			 nout, cap_out, job_nout;
	uint64_t		 next_rel;	/* the last provisional seq */
	int			 head_known, job_head_known;
	uint64_t		 head_seq, job_head_seq;
	uint8_t			 head_hash[STORE_HASH_LEN];
	uint8_t			 job_head_hash[STORE_HASH_LEN];
};

#define PT(t)	((struct pg_txn *)(void *)(t))

/* At commit: the rows and counts a batch keeps until then. */
static void	out_drop(struct pg_txn *, size_t from);
static void	out_flush(struct pg_txn *);
static void	newsig_flush(struct pg_txn *);

struct pg_reader {
	struct store_reader	 base;
	struct pg_conn		 conn;
	struct pg_txn		 rt;
};

#define PR(r)	((struct pg_reader *)(void *)(r))

struct store_impl {
	const char	*keys[12];	/* PQconnectdbParams, NULL-ended */
	const char	*vals[12];
	char		*conninfo;
	char		*password;
	int64_t		 escalate_after;
	struct pg_conn	 w;		/* the writer's */
	int		 reset;		/* reconnect before the next batch */
	uint64_t	 chain;
	int		 head_known;	/* head of our chain as committed */
	uint64_t	 head_seq;
	uint8_t		 head_hash[STORE_HASH_LEN];
	/* Ids taken from the sequences and not given out yet (writer's). */
	uint64_t	 ids[2][PG_ID_BLOCK];
	size_t		 nids[2];
	atomic_int	 reachable;
	atomic_int	 writer_pid;
	/* The watcher thread (watch/unwatch). */
	pthread_t	 watcher;
	int		 watching;
	atomic_int	 stop;
	void		(*published)(void *, const uint32_t *, size_t, int);
	void		*published_arg;
};

/* A new connection, or NULL with the reason logged. */
static PGconn *
pg_connect(struct store_impl *s, char *why, size_t len)
{
	PGconn *c = PQconnectdbParams(s->keys, s->vals, 1);

	if (c == NULL) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(why, len, "%s", PQerrorMessage(c));
		why[strcspn(why, "\n")] = '\0';
		PQfinish(c);
		return NULL;
	}
	/* Error messages without DETAIL: a key's value never reaches a log. */
	PQsetErrorVerbosity(c, PQERRORS_TERSE);
	return c;
}

static int
conn_open(struct store_impl *s, struct pg_conn *pc, const char *who)
{
	char why[256];

	if (pc->c != NULL && PQstatus(pc->c) == CONNECTION_OK)
		return 0;
	if (pc->c != NULL)
		PQfinish(pc->c);
	memset(pc, 0, sizeof(*pc));
	if ((pc->c = pg_connect(s, why, sizeof(why))) == NULL) {
		log_warnx("store: %s: cannot connect to PostgreSQL: %s", who,
		    why);
		return VIX_E_UNAVAILABLE;
	}
	return 0;
}

static void
conn_close(struct pg_conn *pc)
{
	if (pc->c != NULL)
		PQfinish(pc->c);
	memset(pc, 0, sizeof(*pc));
}

/* Whether an SQLSTATE (or a dead connection) means: try again elsewhere. */
static int
pg_unavailable(PGconn *c, const char *state)
{
	if (PQstatus(c) != CONNECTION_OK || state == NULL)
		return 1;
	return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0 ||
	    strcmp(state, "25006") == 0 || strcmp(state, "53300") == 0;
}

/* The store error for a failed statement (what names it), logged. */
static int
pg_error(PGconn *c, const PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char msg[256];

	snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
	msg[strcspn(msg, "\n")] = '\0';
	if (state != NULL && (strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0)) {
		log_info("store: %s: lost to another writer (%s); the batch "
		    "runs again", what, msg);
		return VIX_E_CONFLICT;
	}
	if (pg_unavailable(c, state)) {
		log_warnx("store: %s: the database cannot be written: %s", what,
		    msg);
		return VIX_E_UNAVAILABLE;
	}
	log_warnx("store: %s: %s", what, msg);
	return VIX_E_STORE;
}

/* A statement of plain text (transaction control): 0 or a store error. */
static int
pg_simple(PGconn *c, const char *sql, const char *what)
{
	PGresult *r = PQexec(c, sql);
	int err = 0;
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		err = pg_error(c, r, what);
	PQclear(r);
	return err;
}

/* ---- parameters and results ------------------------------------------- */

#define PG_MAXP	6

struct pg_params {
	const char	*v[PG_MAXP];
	int		 len[PG_MAXP];
	int		 fmt[PG_MAXP];
	uint8_t		 buf[PG_MAXP][8];
	int		 n;
};

static struct pg_params *
pp_int(struct pg_params *p, uint64_t v, int width)
{
	int i = p->n++;

	for (int b = 0; b < width; b++)
		p->buf[i][b] = (uint8_t)(v >> (8 * (width - 1 - b)));
	p->v[i] = (const char *)p->buf[i];
	p->len[i] = width;
	p->fmt[i] = 1;
	return p;
}

#define pp_i64(p, v)	pp_int((p), (uint64_t)(v), 8)
#define pp_i32(p, v)	pp_int((p), (uint64_t)(v), 4)
#define pp_i16(p, v)	pp_int((p), (uint64_t)(v), 2)

/* Bytes (NULL: an SQL NULL). */
static struct pg_params *
pp_bytes(struct pg_params *p, const void *b, size_t n)
{
	int i = p->n++;

	p->v[i] = b;
	p->len[i] = (int)n;
	p->fmt[i] = 1;
	return p;
}

static struct pg_params *
pp_text(struct pg_params *p, const char *s)
{
	int i = p->n++;

	p->v[i] = s;
	p->len[i] = 0;
	p->fmt[i] = 0;
	return p;
}

/* An integer column of a binary result (int2, int4 or int8). */
static int64_t
pg_int(const PGresult *r, int row, int col)
{
	const uint8_t *b = (const uint8_t *)PQgetvalue(r, row, col);
	int n = PQgetlength(r, row, col);
	uint64_t v = 0;

	if (PQgetisnull(r, row, col) || (n != 2 && n != 4 && n != 8))
		return 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | b[i];
	if (n == 2)
		return (int16_t)v;
	if (n == 4)
		return (int32_t)v;
	return (int64_t)v;
}

static const uint8_t *
pg_bytes(const PGresult *r, int row, int col, size_t *n)
{
	*n = (size_t)PQgetlength(r, row, col);
	return (const uint8_t *)PQgetvalue(r, row, col);
}

/* ---- statements in a transaction -------------------------------------- */

static int
pg_prepare(struct pg_conn *pc, enum pg_stmt q)
{
	PGresult *r;
	int err = 0;

	if (pc->prepared[q])
		return 0;
	r = PQprepare(pc->c, pg_stmts[q].name, pg_stmts[q].sql, 0, NULL);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK)
		err = pg_error(pc->c, r, pg_stmts[q].name);
	else
		pc->prepared[q] = 1;
	PQclear(r);
	return err;
}

static void
txn_fail(struct pg_txn *t, int err)
{
	store_txn_fail(&t->base, err);
	if ((err == VIX_E_CONFLICT || err == VIX_E_UNAVAILABLE) &&
	    t->fatal == 0)
		t->fatal = err;
	if (err == VIX_E_UNAVAILABLE && t->write) {
		t->base.s->reset = 1;
		atomic_store(&t->base.s->reachable, 0);
	}
}

/*
 * The writer's connection is in pipeline mode: a statement whose rows are
 * not needed is sent and not waited for; the next one that needs rows, the
 * end of a job and the commit send a sync and read every result up to it,
 * so that a failure shows there (sticky, as before) and a job's outcome is
 * known when it ends. Readers wait for each statement.
 */
static void
pipe_queue(struct pg_txn *t, int sent, const char *name)
{
	struct pg_conn *pc = t->conn;

	if (!sent) {
		txn_fail(t, pg_error(pc->c, NULL, name));
		return;
	}
	pc->names[pc->pending++] = name;
}

/* Send a statement of plain text without parameters (control). */
static void
pipe_send_sql(struct pg_txn *t, const char *sql, const char *name)
{
	pipe_queue(t, PQsendQueryParams(t->conn->c, sql, 0, NULL, NULL, NULL,
	    NULL, 0), name);
}

static void
pipe_send(struct pg_txn *t, enum pg_stmt q, const struct pg_params *p)
{
	pipe_queue(t, PQsendQueryPrepared(t->conn->c, pg_stmts[q].name,
	    p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
	    p ? p->fmt : NULL, 1), pg_stmts[q].name);
}

/*
 * Sync and read every result sent since the last sync: the first failure
 * (0: none) is the transaction's; *last gets the last statement's rows if
 * it succeeded. A connection that does not answer is given up.
 */
static int
pipe_sync(struct pg_txn *t, PGresult **last)
{
	struct pg_conn *pc = t->conn;
	size_t n = pc->pending;
	PGresult *r;
	int err = 0;

	if (last != NULL)
		*last = NULL;
	pc->pending = 0;
	if (PQpipelineSync(pc->c) != 1) {
		err = pg_error(pc->c, NULL, "sync");
		goto dead;
	}
	for (size_t i = 0; i < n; i++) {
		ExecStatusType st;

		if ((r = PQgetResult(pc->c)) == NULL) {
			err = pg_error(pc->c, NULL, pc->names[i]);
			goto dead;
		}
		st = PQresultStatus(r);
		if (st == PGRES_FATAL_ERROR && err == 0)
			err = pg_error(pc->c, r, pc->names[i]);
		if (last != NULL && i == n - 1 && err == 0 &&
		    (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK))
			*last = r;
		else
			PQclear(r);
		/* Each statement's results end with a NULL. */
		for (int extra = 0; extra < 4 && (r = PQgetResult(pc->c)) !=
		    NULL; extra++)
			PQclear(r);
	}
	if ((r = PQgetResult(pc->c)) == NULL ||
	    PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
		PQclear(r);
		err = err ? err : pg_error(pc->c, NULL, "sync");
		goto dead;
	}
	PQclear(r);
	if (err != 0)
		txn_fail(t, err);
	return err;
dead:
	if (last != NULL) {
		PQclear(*last);
		*last = NULL;
	}
	/* The results are out of step: this connection is done with. */
	t->base.s->reset = 1;
	if (err == VIX_E_STORE)
		err = VIX_E_UNAVAILABLE;
	txn_fail(t, err);
	return err;
}

static int
txn_ensure_begun(struct pg_txn *t)
{
	int err;

	if (t->begun)
		return 0;
	if (t->conn->pipeline) {
		pipe_send_sql(t, "BEGIN ISOLATION LEVEL READ COMMITTED",
		    "begin");
		t->begun = 1;
		return t->base.err;
	}
	if ((err = pg_simple(t->conn->c, "BEGIN ISOLATION LEVEL READ "
	    "COMMITTED", "begin")) != 0) {
		txn_fail(t, err);
		return err;
	}
	t->begun = 1;
	return 0;
}

/*
 * Run statement q in t: its rows (the caller clears them), or NULL once
 * the transaction has failed (sticky).
 */
static PGresult *
pg_run(struct pg_txn *t, enum pg_stmt q, const struct pg_params *p)
{
	PGresult *r;
	ExecStatusType st;
	int err;

	if (t->base.err != 0 || t->fatal != 0)
		return NULL;
	if ((err = txn_ensure_begun(t)) != 0)
		return NULL;
	if (t->conn->pipeline) {
		pipe_send(t, q, p);
		if (t->base.err != 0 || pipe_sync(t, &r) != 0)
			return NULL;
		return r;
	}
	if ((err = pg_prepare(t->conn, q)) != 0) {
		txn_fail(t, err);
		return NULL;
	}
	r = PQexecPrepared(t->conn->c, pg_stmts[q].name, p ? p->n : 0,
	    p ? p->v : NULL, p ? p->len : NULL, p ? p->fmt : NULL, 1);
	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	txn_fail(t, pg_error(t->conn->c, r, pg_stmts[q].name));
	PQclear(r);
	return NULL;
}

/* Run q for its effect only: in the writer's pipeline, not waited for. */
static void
pg_do(struct pg_txn *t, enum pg_stmt q, const struct pg_params *p)
{
	if (!t->conn->pipeline) {
		PQclear(pg_run(t, q, p));
		return;
	}
	if (t->base.err != 0 || t->fatal != 0 || txn_ensure_begun(t) != 0)
		return;
	pipe_send(t, q, p);
	if (t->conn->pending >= PG_PIPE_MAX - 8)
		pipe_sync(t, NULL);
}

/* Run q for one integer: 1 and *v, or 0 when there is no row. */
static int
pg_one_int(struct pg_txn *t, enum pg_stmt q, const struct pg_params *p,
    int64_t *v)
{
	PGresult *r = pg_run(t, q, p);
	int found = r != NULL && PQntuples(r) > 0;

	if (found)
		*v = pg_int(r, 0, 0);
	PQclear(r);
	return found;
}

static void
youth_uncache(struct pg_youth *y)
{
	for (size_t i = 0; i < y->nsigs; i++)
		free(y->sigs[i].rec);
	free(y->sigs);
	free(y->match);
	y->sigs = NULL;
	y->nsigs = 0;
	y->match = NULL;
	y->match_len = 0;
	y->cached = 0;
}

static uint8_t *
bytes_dup(const void *b, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	if (c != NULL)
		memcpy(c, b, n);
	return c;
}

/* The youth's rows from youth_load into its cache. */
static int
youth_fill(struct pg_youth *y, const PGresult *r)
{
	int rows = PQntuples(r);

	if (rows > 0 && (y->sigs = calloc((size_t)rows,
	    sizeof(*y->sigs))) == NULL)
		return -1;
	for (int i = 0; i < rows; i++) {
		size_t n;
		const uint8_t *b = pg_bytes(r, i, 1, &n);
		int64_t org = pg_int(r, i, 0);
		uint8_t *c = bytes_dup(b, n);

		if (c == NULL)
			return -1;
		if (org < 0) {
			free(y->match);
			y->match = c;
			y->match_len = n;
			continue;
		}
		y->sigs[y->nsigs++] = (struct pg_sig){ (uint32_t)org, c, n };
	}
	y->cached = 1;
	return 0;
}

/*
 * The youth p of a write transaction, locked and its rows read: the lock
 * (its row in youths) is taken the first time, in the same round trip as
 * the read. NULL once the transaction failed, or in a read transaction.
 */
static struct pg_youth *
youth_get(struct pg_txn *t, const uint8_t *p)
{
	struct pg_params pp = { 0 };
	struct pg_youth *y = NULL, *grown;
	PGresult *r;

	if (!t->write || t->base.err != 0 || t->fatal != 0)
		return NULL;
	for (size_t i = 0; i < t->nlocked && y == NULL; i++)
		if (memcmp(t->locked[i].p, p, PSEUDONYM_LEN) == 0)
			y = &t->locked[i];
	if (y == NULL) {
		if (t->nlocked == t->cap_locked) {
			size_t cap = t->cap_locked ? t->cap_locked * 2 : 16;

			if ((grown = reallocarray(t->locked, cap,
			    sizeof(*grown))) == NULL) {
				txn_fail(t, VIX_E_STORE);
				return NULL;
			}
			t->locked = grown;
			t->cap_locked = cap;
		}
		pg_do(t, Q_YOUTH_LOCK, pp_bytes(&pp, p, PSEUDONYM_LEN));
		if (t->base.err != 0)
			return NULL;
		y = &t->locked[t->nlocked++];
		memset(y, 0, sizeof(*y));
		memcpy(y->p, p, PSEUDONYM_LEN);
	}
	if (y->cached)
		return y;
	memset(&pp, 0, sizeof(pp));
	if ((r = pg_run(t, Q_YOUTH_LOAD, pp_bytes(&pp, p,
	    PSEUDONYM_LEN))) == NULL)
		return NULL;
	if (youth_fill(y, r) == -1) {
		youth_uncache(y);
		txn_fail(t, VIX_E_STORE);
		y = NULL;
	}
	PQclear(r);
	return y;
}

/* Lock youth p for the rest of the write transaction (see youth_get). */
static void
youth_lock(struct pg_txn *t, const uint8_t *p)
{
	(void)youth_get(t, p);
}

/* The cached signal of org on y, or NULL. */
static struct pg_sig *
youth_sig(struct pg_youth *y, uint32_t org)
{
	for (size_t i = 0; i < y->nsigs; i++)
		if (y->sigs[i].org == org)
			return &y->sigs[i];
	return NULL;
}

/* Keep org's packed signal (rec NULL: deleted) in y's cache, org order. */
static int
youth_sig_set(struct pg_youth *y, uint32_t org, const uint8_t *rec,
    size_t len)
{
	struct pg_sig *sig = youth_sig(y, org), *grown;
	uint8_t *c = NULL;
	size_t i;

	if (rec != NULL && (c = bytes_dup(rec, len)) == NULL)
		return -1;
	if (sig != NULL) {
		free(sig->rec);
		if (c != NULL) {
			sig->rec = c;
			sig->len = len;
			return 0;
		}
		i = (size_t)(sig - y->sigs);
		memmove(sig, sig + 1, (y->nsigs - i - 1) * sizeof(*sig));
		y->nsigs--;
		return 0;
	}
	if (c == NULL)
		return 0;
	if ((grown = reallocarray(y->sigs, y->nsigs + 1,
	    sizeof(*grown))) == NULL) {
		free(c);
		return -1;
	}
	y->sigs = grown;
	for (i = y->nsigs; i > 0 && y->sigs[i - 1].org > org; i--)
		y->sigs[i] = y->sigs[i - 1];
	y->sigs[i] = (struct pg_sig){ org, c, len };
	y->nsigs++;
	return 0;
}

/* ---- transactions ------------------------------------------------------ */

/*
 * The writer's connection: reconnected if it is gone or must move, its
 * statements prepared once, then in pipeline mode.
 */
static int
writer_conn(struct store_impl *s)
{
	int err;

	if (s->reset || (s->w.c != NULL && PQstatus(s->w.c) !=
	    CONNECTION_OK)) {
		conn_close(&s->w);
		s->reset = 0;
	}
	if ((err = conn_open(s, &s->w, "writer")) != 0) {
		atomic_store(&s->reachable, 0);
		return err;
	}
	if (!s->w.pipeline) {
		for (int q = 0; q < Q_COUNT && err == 0; q++)
			err = pg_prepare(&s->w, (enum pg_stmt)q);
		if (err == 0 && PQenterPipelineMode(s->w.c) != 1)
			err = pg_error(s->w.c, NULL, "pipeline mode");
		if (err != 0) {
			conn_close(&s->w);
			return err;
		}
		s->w.pipeline = 1;
	}
	atomic_store(&s->writer_pid, PQbackendPID(s->w.c));
	return 0;
}

static struct store_txn *
pg_write_begin(struct store_impl *s, int *err)
{
	struct pg_txn *t;

	if ((*err = writer_conn(s)) != 0)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		*err = VIX_E_STORE;
		return NULL;
	}
	store_txn_init(&t->base, &store_backend_postgresql, s,
	    s->escalate_after);
	t->conn = &s->w;
	t->write = 1;
	t->head_known = s->head_known;
	t->head_seq = s->head_seq;
	memcpy(t->head_hash, s->head_hash, STORE_HASH_LEN);
	/* BEGIN goes with the first statement or savepoint. */
	*err = 0;
	return &t->base;
}

static void
txn_free(struct pg_txn *t)
{
	for (size_t i = 0; i < t->nlocked; i++)
		youth_uncache(&t->locked[i]);
	free(t->locked);
	free(t->newsig);
	out_drop(t, 0);
	free(t->out);
	free(t);
}

/* The pending count deltas go into this chain's rows, in one statement. */
static void
counts_flush(struct pg_txn *t)
{
	struct pg_params pp = { 0 };
	int any = 0;

	pp_i64(&pp, t->base.s->chain);
	for (int k = 0; k < PG_NCOUNTS; k++) {
		pp_i64(&pp, t->counts[k]);
		any |= t->counts[k] != 0;
	}
	if (any)
		pg_do(t, Q_COUNT_ADD, &pp);
}

/* The notification's payload: the outboxes the batch grew, or "all". */
static void
notify_payload(struct pg_txn *t, char *buf, size_t len)
{
	size_t n = 0;

	if (t->base.touched_all) {
		snprintf(buf, len, "all");
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < t->base.ntouched && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%u", i ? "," : "",
		    t->base.touched[i]);
}

/* Roll back whatever the connection has open, and forget the batch. */
static int
txn_rollback(struct pg_txn *t, int err)
{
	struct store_impl *s = t->base.s;

	/* A connection about to be dropped rolls back on the server. */
	if (t->begun && !s->reset && PQstatus(t->conn->c) == CONNECTION_OK) {
		t->base.err = 0;
		t->fatal = 0;
		if (t->conn->pending > 0)
			(void)pipe_sync(t, NULL);
		t->base.err = 0;
		pipe_send_sql(t, "ROLLBACK", "rollback");
		if (t->base.err != 0 || pipe_sync(t, NULL) != 0)
			s->reset = 1;
	}
	if (err == VIX_E_UNAVAILABLE)
		s->reset = 1;
	txn_free(t);
	return err;
}

static int
pg_write_commit(struct store_txn *bt)
{
	struct pg_txn *t = PT(bt);
	struct store_impl *s = bt->s;
	char payload[STORE_TOUCHED_MAX * 11 + 8];
	struct pg_params pp = { 0 };
	PGresult *r = NULL;
	int err;

	if (t->fatal != 0)
		return txn_rollback(t, t->fatal);
	if (!t->begun) {
		txn_free(t);
		return 0;
	}
	/* A statement outside any job failed: the transaction is void. */
	if (t->conn->pending > 0)
		(void)pipe_sync(t, NULL);
	if ((err = t->fatal ? t->fatal : bt->err) != 0)
		return txn_rollback(t, err);
	/* The shared rows last, each kind in one order by every writer. */
	counts_flush(t);
	newsig_flush(t);
	out_flush(t);
	if (bt->ntouched > 0 || bt->touched_all) {
		notify_payload(t, payload, sizeof(payload));
		pg_do(t, Q_NOTIFY, pp_text(&pp, payload));
	}
	if (bt->err == 0)
		pipe_send_sql(t, "COMMIT", "commit");
	if (bt->err == 0 && pipe_sync(t, &r) == 0 &&
	    strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		log_warnx("store: commit: the server rolled the transaction "
		    "back (%s)", PQcmdStatus(r));
		txn_fail(t, VIX_E_STORE);
	}
	PQclear(r);
	if ((err = t->fatal ? t->fatal : bt->err) != 0) {
		/* Lost during COMMIT: the outcome is unknown. */
		s->head_known = 0;
		atomic_store(&s->reachable, err != VIX_E_UNAVAILABLE);
		return txn_rollback(t, err);
	}
	atomic_store(&s->reachable, 1);
	s->head_known = t->head_known;
	s->head_seq = t->head_seq;
	memcpy(s->head_hash, t->head_hash, STORE_HASH_LEN);
	txn_free(t);
	return 0;
}

static void
pg_write_abort(struct store_txn *bt)
{
	(void)txn_rollback(PT(bt), 0);
}

/* BEGIN, the last job's RELEASE and this one's SAVEPOINT: sent, not awaited. */
static int
pg_job_begin(struct store_txn *bt)
{
	struct pg_txn *t = PT(bt);

	store_txn_job_mark(bt);
	if (t->fatal != 0)
		return bt->err = t->fatal;
	if (txn_ensure_begun(t) != 0)
		return bt->err;
	if (t->sp == SP_KEEP)
		pipe_send_sql(t, "RELEASE SAVEPOINT job", "release savepoint");
	pipe_send_sql(t, "SAVEPOINT job", "savepoint");
	if (bt->err != 0)
		return bt->err;
	t->sp = SP_OPEN;
	t->job_nlocked = t->nlocked;
	t->job_nout = t->nout;
	for (size_t i = 0; i < t->nout; i++)
		t->out[i].erased_by_job = t->out[i].moved_by_job = 0;
	t->job_nnewsig = t->nnewsig;
	for (size_t i = 0; i < t->nnewsig; i++) {
		t->newsig[i].job_found = t->newsig[i].found;
		t->newsig[i].job_day = t->newsig[i].day;
		t->newsig[i].job_count = t->newsig[i].count;
	}
	memset(t->job_counts, 0, sizeof(t->job_counts));
	t->job_head_known = t->head_known;
	t->job_head_seq = t->head_seq;
	memcpy(t->job_head_hash, t->head_hash, STORE_HASH_LEN);
	return 0;
}

/* The job's rows, locks, counts and audit records are gone. */
static void
job_forget(struct pg_txn *t)
{
	store_txn_job_undo(&t->base);
	/* Its locks went with its savepoint; what it changed is read again. */
	for (size_t i = 0; i < t->nlocked; i++)
		youth_uncache(&t->locked[i]);
	t->nlocked = t->job_nlocked;
	/* Its rows, its erasure of earlier rows, its counts of the day. */
	out_drop(t, t->job_nout);
	for (size_t i = 0; i < t->nout; i++) {
		struct pg_out *o = &t->out[i];

		if (o->erased_by_job)
			o->erased = o->erased_by_job = 0;
		if (o->moved_by_job) {
			memcpy(o->youth, o->job_youth, PSEUDONYM_LEN);
			o->moved_by_job = 0;
		}
	}
	t->nnewsig = t->job_nnewsig;
	for (size_t i = 0; i < t->nnewsig; i++) {
		t->newsig[i].found = t->newsig[i].job_found;
		t->newsig[i].day = t->newsig[i].job_day;
		t->newsig[i].count = t->newsig[i].job_count;
	}
	memset(t->job_counts, 0, sizeof(t->job_counts));
	t->head_known = t->job_head_known;
	t->head_seq = t->job_head_seq;
	memcpy(t->head_hash, t->job_head_hash, STORE_HASH_LEN);
}

/*
 * The job's statements are all answered here (one sync), so that its
 * outcome is known: kept (its RELEASE goes with the next job or the
 * commit), or rolled back to its savepoint.
 */
static int
pg_job_end(struct store_txn *bt, int err)
{
	struct pg_txn *t = PT(bt);

	if (t->sp == SP_OPEN && t->fatal == 0 && t->conn->pending > 0)
		(void)pipe_sync(t, NULL);
	if (err == 0)
		err = bt->err;
	if (t->fatal != 0) {
		/* The whole batch goes: commit reports it. */
		job_forget(t);
		bt->err = 0;
		return t->fatal;
	}
	if (t->sp != SP_OPEN) {
		bt->err = 0;
		return err;
	}
	if (err == 0) {
		for (int k = 0; k < PG_NCOUNTS; k++)
			t->counts[k] += t->job_counts[k];
		memset(t->job_counts, 0, sizeof(t->job_counts));
		t->sp = SP_KEEP;
		return 0;
	}
	job_forget(t);
	t->sp = SP_NONE;
	bt->err = 0;
	pipe_send_sql(t, "ROLLBACK TO SAVEPOINT job", "rollback to savepoint");
	pipe_send_sql(t, "RELEASE SAVEPOINT job", "release savepoint");
	if (bt->err != 0 || pipe_sync(t, NULL) != 0) {
		if (t->fatal == 0)
			t->fatal = bt->err ? bt->err : VIX_E_STORE;
	}
	bt->err = 0;
	return err;
}

/* ---- readers ----------------------------------------------------------- */

static struct store_reader *
pg_reader_new(struct store_impl *s)
{
	struct pg_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->base.be = &store_backend_postgresql;
	r->base.s = s;
	return &r->base;
}

static void
pg_reader_free(struct store_reader *r)
{
	if (r == NULL)
		return;
	conn_close(&PR(r)->conn);
	free(r);
}

static struct store_txn *
pg_read_begin(struct store_reader *r, int *err)
{
	struct pg_reader *pr = PR(r);

	/* Nothing is lost by reading again: one retry on a new connection. */
	for (int tries = 0; tries < 2; tries++) {
		if ((*err = conn_open(r->s, &pr->conn, "reader")) != 0)
			return NULL;
		if ((*err = pg_simple(pr->conn.c, "BEGIN ISOLATION LEVEL "
		    "REPEATABLE READ READ ONLY", "begin read")) == 0)
			break;
		if (PQstatus(pr->conn.c) == CONNECTION_OK)
			return NULL;
		conn_close(&pr->conn);
	}
	if (*err != 0)
		return NULL;
	memset(&pr->rt, 0, sizeof(pr->rt));
	store_txn_init(&pr->rt.base, &store_backend_postgresql, r->s,
	    r->s->escalate_after);
	pr->rt.conn = &pr->conn;
	pr->rt.begun = 1;
	return &pr->rt.base;
}

static void
pg_read_end(struct store_reader *r)
{
	struct pg_reader *pr = PR(r);

	if (pr->conn.c == NULL)
		return;
	if (pg_simple(pr->conn.c, "COMMIT", "end read") != 0 &&
	    PQstatus(pr->conn.c) != CONNECTION_OK)
		conn_close(&pr->conn);
}

/* ---- ids, outbox seqs and counts --------------------------------------- */

/*
 * Signal and match ids are taken from their sequence a block at a time
 * (one round trip per PG_ID_BLOCK); the ids of a block unused when this
 * vixd stops are a gap, as a rolled-back transaction's are.
 */
static uint64_t
pg_id_alloc(struct store_txn *bt, enum store_id kind)
{
	struct store_impl *s = bt->s;
	int k = kind == STORE_ID_MATCH;
	uint64_t *ids = s->ids[k];
	PGresult *r;
	int64_t v = 0;

	if (kind == STORE_ID_ORG) {
		if (!pg_one_int(PT(bt), Q_ID_ORG, NULL, &v) && bt->err == 0)
			txn_fail(PT(bt), VIX_E_STORE);
		return (uint64_t)v;
	}
	if (s->nids[k] == 0) {
		if ((r = pg_run(PT(bt), k ? Q_ID_MATCH : Q_ID_SIGNAL,
		    NULL)) == NULL)
			return 0;
		/* Kept in reverse: the smallest is given out first. */
		for (int i = PQntuples(r) - 1; i >= 0 &&
		    s->nids[k] < PG_ID_BLOCK; i--)
			ids[s->nids[k]++] = (uint64_t)pg_int(r, i, 0);
		PQclear(r);
		if (s->nids[k] == 0) {
			txn_fail(PT(bt), VIX_E_STORE);
			return 0;
		}
	}
	return ids[--s->nids[k]];
}

/*
 * A provisional seq: increasing through the batch, whatever the recipient
 * (gaps left by a rolled-back job are harmless). The real ones are given
 * at commit (out_flush), dense per recipient in this order, when the
 * recipient's counter row is locked for the short time of the commit and
 * in the same order by every writer, so that seqs become visible in order
 * and two writers never deadlock on counters.
 */
static uint64_t
pg_outbox_seq(struct store_txn *bt, uint32_t recipient)
{
	return ++PT(bt)->next_rel;
}

static uint64_t
pg_outbox_last(struct store_txn *bt, uint32_t recipient)
{
	struct pg_params pp = { 0 };
	int64_t v = 0;

	pg_one_int(PT(bt), Q_OUTBOX_LAST, pp_i32(&pp, recipient), &v);
	return (uint64_t)v;
}

/* Kept in the batch (seq: pg_outbox_seq's), written at commit. */
static void
pg_outbox_put(struct store_txn *bt, uint32_t recipient, uint64_t seq,
    const void *row, size_t len, const uint8_t *youth)
{
	struct pg_txn *t = PT(bt);
	struct pg_out *o, *grown;

	if (bt->err != 0 || t->fatal != 0)
		return;
	if (t->nout == t->cap_out) {
		size_t cap = t->cap_out ? t->cap_out * 2 : 32;

		if ((grown = reallocarray(t->out, cap, sizeof(*grown))) ==
		    NULL) {
			txn_fail(t, VIX_E_STORE);
			return;
		}
		t->out = grown;
		t->cap_out = cap;
	}
	o = &t->out[t->nout];
	memset(o, 0, sizeof(*o));
	if ((o->row = malloc(len)) == NULL) {
		txn_fail(t, VIX_E_STORE);
		return;
	}
	memcpy(o->row, row, len);
	o->len = len;
	o->recipient = recipient;
	o->rel = seq;
	if ((o->has_youth = youth != NULL))
		memcpy(o->youth, youth, PSEUDONYM_LEN);
	t->nout++;
	store_txn_touch(bt, recipient);
}

/* The rows the batch kept, from index from on, go. */
static void
out_drop(struct pg_txn *t, size_t from)
{
	for (size_t i = from; i < t->nout; i++)
		free(t->out[i].row);
	if (from < t->nout)
		t->nout = from;
}

/*
 * A packed notification with its seq set: seq is field 1, a varint, and
 * the first field of the packed message (outbox.c packs it so).
 */
static uint8_t *
out_reseq(const struct pg_out *o, uint64_t seq, size_t *len)
{
	uint8_t v[10], *b;
	size_t i = 1, n = 0;

	if (o->len < 2 || o->row[0] != 0x08)
		return NULL;
	while (i < o->len && (o->row[i] & 0x80))
		i++;
	if (i++ >= o->len)
		return NULL;
	do {
		v[n++] = (uint8_t)((seq & 0x7f) | (seq > 0x7f ? 0x80 : 0));
		seq >>= 7;
	} while (seq != 0);
	*len = 1 + n + (o->len - i);
	if ((b = malloc(*len)) == NULL)
		return NULL;
	b[0] = 0x08;
	memcpy(b + 1, v, n);
	memcpy(b + 1 + n, o->row + i, o->len - i);
	return b;
}

static int
out_cmp(const void *a, const void *b)
{
	const struct pg_out *x = a, *y = b;

	if (x->recipient != y->recipient)
		return x->recipient < y->recipient ? -1 : 1;
	return x->rel < y->rel ? -1 : x->rel > y->rel;
}

/*
 * At commit: count the batch's rows per recipient into the counters, in
 * recipient order, then put each row with its real seq (base + its place
 * among the recipient's rows). Pipelined; the counters' answer is read.
 */
static void
out_flush(struct pg_txn *t)
{
	char *recips = NULL, *counts = NULL, *rs, *cs;
	size_t live = 0, nr = 0, rn, cn;
	struct pg_params pp = { 0 };
	PGresult *r;
	uint64_t base = 0, k = 0;
	uint32_t cur = 0;

	for (size_t i = 0; i < t->nout; i++)
		if (!t->out[i].erased)
			t->out[live++] = t->out[i];
		else
			free(t->out[i].row);
	t->nout = live;
	if (live == 0 || t->base.err != 0)
		return;
	qsort(t->out, live, sizeof(*t->out), out_cmp);
	/* The recipients and their row counts, as two array literals. */
	rn = 12 * live + 4;
	cn = 22 * live + 4;
	if ((rs = recips = malloc(rn)) == NULL ||
	    (cs = counts = malloc(cn)) == NULL) {
		free(recips);
		txn_fail(t, VIX_E_STORE);
		return;
	}
	for (size_t i = 0; i < live; i = k) {
		size_t w;

		for (k = i; k < live && t->out[k].recipient ==
		    t->out[i].recipient; k++)
			;
		w = (size_t)snprintf(rs, rn, "%s%u", nr ? "," : "{",
		    t->out[i].recipient);
		rs += w < rn ? w : rn;
		rn -= w < rn ? w : rn;
		w = (size_t)snprintf(cs, cn, "%s%zu", nr ? "," : "{", k - i);
		cs += w < cn ? w : cn;
		cn -= w < cn ? w : cn;
		nr++;
	}
	snprintf(rs, rn, "}");
	snprintf(cs, cn, "}");
	r = pg_run(t, Q_OUTBOX_HEADS, pp_text(pp_text(&pp, recips), counts));
	free(recips);
	free(counts);
	if (r == NULL)
		return;
	if ((size_t)PQntuples(r) != nr) {
		PQclear(r);
		txn_fail(t, VIX_E_STORE);
		return;
	}
	k = 0;
	for (size_t i = 0; i < live && t->base.err == 0; i++) {
		struct pg_out *o = &t->out[i];
		struct pg_params rp = { 0 };
		uint8_t *row;
		size_t len;

		if (i == 0 || o->recipient != cur) {
			size_t n = 0;

			cur = o->recipient;
			for (size_t j = i; j < live && t->out[j].recipient ==
			    cur; j++)
				n++;
			base = 0;
			for (int j = 0; j < PQntuples(r); j++)
				if ((uint32_t)pg_int(r, j, 0) == cur)
					base = (uint64_t)pg_int(r, j, 1) - n;
			k = 0;
		}
		if ((row = out_reseq(o, base + ++k, &len)) == NULL) {
			log_warnx("store: an outbox row does not begin with "
			    "its seq");
			txn_fail(t, VIX_E_STORE);
			break;
		}
		pp_i64(pp_i32(&rp, cur), base + k);
		pp_bytes(pp_bytes(&rp, row, len), o->has_youth ? o->youth :
		    NULL, o->has_youth ? PSEUDONYM_LEN : 0);
		pg_do(t, Q_OUTBOX_PUT, &rp);
		free(row);
	}
	PQclear(r);
}

static void
pg_outbox_scan(struct store_txn *bt, uint32_t recipient, uint64_t after,
    size_t max, int (*fn)(void *, uint64_t, const void *, size_t), void *arg)
{
	struct pg_params pp = { 0 };
	PGresult *r;
	size_t n;

	pp_i64(pp_i64(pp_i32(&pp, recipient), after), max);
	if ((r = pg_run(PT(bt), Q_OUTBOX_SCAN, &pp)) == NULL)
		return;
	for (int i = 0; i < PQntuples(r); i++) {
		const uint8_t *row = pg_bytes(r, i, 1, &n);

		if (fn(arg, (uint64_t)pg_int(r, i, 0), row, n) != 0)
			break;
	}
	PQclear(r);
}

static void
pg_outbox_delete(struct store_txn *bt, uint32_t recipient, uint64_t seq)
{
	struct pg_params pp = { 0 };

	pg_do(PT(bt), Q_OUTBOX_DELETE, pp_i64(pp_i32(&pp, recipient), seq));
}

/* How many rows a DELETE removed. */
static size_t
pg_affected(PGresult *r)
{
	return r == NULL ? 0 : (size_t)strtoull(PQcmdTuples(r), NULL, 10);
}

static size_t
pg_outbox_erase(struct store_txn *bt, const uint8_t *p)
{
	struct pg_params pp = { 0 };
	PGresult *r;
	size_t n;

	youth_lock(PT(bt), p);
	r = pg_run(PT(bt), Q_OUTBOX_ERASE, pp_bytes(&pp, p, PSEUDONYM_LEN));
	n = pg_affected(r);
	PQclear(r);
	/* And the batch's own rows about the youth, not written yet. */
	for (size_t i = 0; i < PT(bt)->nout; i++) {
		struct pg_out *o = &PT(bt)->out[i];

		if (o->has_youth && !o->erased &&
		    memcmp(o->youth, p, PSEUDONYM_LEN) == 0) {
			o->erased = o->erased_by_job = 1;
			n++;
		}
	}
	return n;
}

static uint64_t
pg_cursor_get(struct store_txn *bt, uint32_t consumer, uint32_t recipient)
{
	struct pg_params pp = { 0 };
	int64_t v = 0;

	pg_one_int(PT(bt), Q_CURSOR_GET, pp_i32(pp_i32(&pp, consumer),
	    recipient), &v);
	return (uint64_t)v;
}

static void
pg_cursor_put(struct store_txn *bt, uint32_t consumer, uint32_t recipient,
    uint64_t seq)
{
	struct pg_params pp = { 0 };

	pp_i64(pp_i32(pp_i32(&pp, consumer), recipient), seq);
	pg_do(PT(bt), Q_CURSOR_PUT, &pp);
}

/* A count as the transaction sees it, its unwritten deltas included. */
static int64_t
count_read(struct pg_txn *t, int kind)
{
	struct pg_params pp = { 0 };
	int64_t v = 0;

	pg_one_int(t, Q_COUNT_GET, pp_i16(&pp, kind), &v);
	return v + t->counts[kind] + t->job_counts[kind];
}

/* Kept in the transaction and written to this chain's row at commit. */
static void
count_change(struct pg_txn *t, int kind, int64_t delta)
{
	if (t->sp == SP_OPEN)
		t->job_counts[kind] += delta;
	else
		t->counts[kind] += delta;
}

static uint64_t
pg_count_get(struct store_txn *bt, enum store_count c)
{
	int64_t v = count_read(PT(bt), (int)c);

	return v < 0 ? 0 : (uint64_t)v;
}

static void
pg_count_add(struct store_txn *bt, enum store_count c, int64_t delta)
{
	count_change(PT(bt), (int)c, delta);
}

static void
pg_usage(struct store_txn *bt, struct store_stats *out)
{
	struct pg_txn *t = PT(bt);
	int64_t size = 0, v;

	v = count_read(t, PG_COUNT_ARCHIVED);
	out->archived = v < 0 ? 0 : (size_t)v;
	v = count_read(t, PG_COUNT_AUDIT);
	out->audit_records = v < 0 ? 0 : (size_t)v;
	pg_one_int(t, Q_DB_SIZE, NULL, &size);
	out->bytes_used = (size_t)size;
	out->bytes_reserved = 0;
	out->quota = 0;
	out->gauges[0] = (struct store_gauge){ "vix_pg_database_bytes",
	    "Bytes of the PostgreSQL database (pg_database_size).",
	    (uint64_t)size };
	out->gauges[1] = (struct store_gauge){ "vix_pg_connected",
	    "Whether the last write found a writable primary (1) or not (0).",
	    (uint64_t)atomic_load(&bt->s->reachable) };
	out->gauges[2] = (struct store_gauge){ "vix_pg_chain",
	    "This vixd's audit chain number.", bt->s->chain };
	out->ngauges = 3;
}

static int
pg_over_quota(struct store_txn *t, char *why, size_t len)
{
	(void)t;
	(void)why;
	(void)len;
	return 0;
}

/* ---- the audit chain ---------------------------------------------------- */

static void
pg_audit_head(struct store_txn *bt, uint64_t *seq, uint8_t *hash)
{
	struct pg_txn *t = PT(bt);
	uint64_t lo = bt->s->chain << STORE_AUDIT_CHAIN_SHIFT;
	struct pg_params pp = { 0 };
	PGresult *r;
	size_t n;

	if (!t->head_known) {
		t->head_seq = lo;
		memset(t->head_hash, 0, STORE_HASH_LEN);
		pp_i64(pp_i64(&pp, lo), lo + (UINT64_C(1) <<
		    STORE_AUDIT_CHAIN_SHIFT));
		if ((r = pg_run(t, Q_AUDIT_HEAD, &pp)) == NULL)
			return;
		if (PQntuples(r) == 1) {
			const uint8_t *h = pg_bytes(r, 0, 1, &n);

			t->head_seq = (uint64_t)pg_int(r, 0, 0);
			if (n == STORE_HASH_LEN)
				memcpy(t->head_hash, h, STORE_HASH_LEN);
		}
		PQclear(r);
		t->head_known = 1;
	}
	*seq = t->head_seq;
	memcpy(hash, t->head_hash, STORE_HASH_LEN);
}

static void
pg_audit_append(struct store_txn *bt, uint64_t seq, const void *record,
    size_t len, const uint8_t *hash, const uint8_t *youth)
{
	struct pg_txn *t = PT(bt);
	struct pg_params pp = { 0 };

	pp_bytes(pp_bytes(pp_i64(&pp, seq), record, len), hash,
	    STORE_HASH_LEN);
	pp_bytes(&pp, youth, youth ? PSEUDONYM_LEN : 0);
	pg_do(t, Q_AUDIT_APPEND, &pp);
	if (bt->err != 0)
		return;
	count_change(t, PG_COUNT_AUDIT, 1);
	/* Another chain's record (vixd --import-lmdb): not our head. */
	if (STORE_AUDIT_CHAIN(seq) != bt->s->chain)
		return;
	t->head_known = 1;
	t->head_seq = seq;
	memcpy(t->head_hash, hash, STORE_HASH_LEN);
}

static int
pg_audit_scan(struct store_reader *r, int (*fn)(void *, uint64_t,
    const void *, size_t, const uint8_t *), void *arg)
{
	struct store_txn *bt;
	uint64_t after = 0;
	int err, stop = 0, rows = PG_PAGE;

	if ((bt = pg_read_begin(r, &err)) == NULL)
		return err;
	while (stop == 0 && rows == PG_PAGE && bt->err == 0) {
		struct pg_params pp = { 0 };
		PGresult *res = pg_run(PT(bt), Q_AUDIT_SCAN, pp_i64(&pp,
		    after));

		rows = res ? PQntuples(res) : 0;
		for (int i = 0; i < rows && stop == 0; i++) {
			size_t n, hn;
			const uint8_t *rec = pg_bytes(res, i, 1, &n);
			const uint8_t *h = pg_bytes(res, i, 2, &hn);

			after = (uint64_t)pg_int(res, i, 0);
			stop = fn(arg, after, rec, hn == STORE_HASH_LEN ? n : 0,
			    hn == STORE_HASH_LEN ? h : NULL);
		}
		PQclear(res);
	}
	err = stop ? stop : bt->err;
	pg_read_end(r);
	return err;
}

static int
pg_youth_audited(struct store_txn *bt, const uint8_t *p)
{
	struct pg_params pp = { 0 };
	int64_t v;

	return pg_one_int(PT(bt), Q_YOUTH_AUDITED, pp_bytes(&pp, p,
	    PSEUDONYM_LEN), &v);
}

static void
pg_youth_audit(struct store_txn *bt, const uint8_t *p,
    int (*fn)(void *, uint64_t), void *arg)
{
	struct pg_params pp = { 0 };
	PGresult *r;

	if ((r = pg_run(PT(bt), Q_YOUTH_AUDIT, pp_bytes(&pp, p,
	    PSEUDONYM_LEN))) == NULL)
		return;
	for (int i = 0; i < PQntuples(r); i++)
		if (fn(arg, (uint64_t)pg_int(r, i, 0)) != 0)
			break;
	PQclear(r);
}

static void
pg_youth_audit_unlink(struct store_txn *bt, const uint8_t *p)
{
	struct pg_params pp = { 0 };

	youth_lock(PT(bt), p);
	pg_do(PT(bt), Q_YOUTH_AUDIT_UNLINK, pp_bytes(&pp, p, PSEUDONYM_LEN));
}

static int
pg_audit_get(struct store_txn *bt, uint64_t seq,
    struct store_audit_record *rec)
{
	struct pg_params pp = { 0 };
	PGresult *r;
	int found = 0;
	size_t n;

	if ((r = pg_run(PT(bt), Q_AUDIT_GET, pp_i64(&pp, seq))) == NULL)
		return 0;
	if (PQntuples(r) == 1) {
		const uint8_t *b = pg_bytes(r, 0, 0, &n);

		if (audit_decode(b, n, rec) != 0)
			txn_fail(PT(bt), VIX_E_STORE);
		else
			found = 1;
	}
	PQclear(r);
	return found;
}

/* ---- signals, matches, due items and the archive ----------------------- */

/* A record packed for a bytea parameter (malloc'd), or NULL and failed. */
static uint8_t *
pack_msg(struct pg_txn *t, const ProtobufCMessage *m, size_t *n)
{
	uint8_t *b;

	*n = protobuf_c_message_get_packed_size(m);
	if ((b = malloc(*n ? *n : 1)) == NULL) {
		txn_fail(t, VIX_E_STORE);
		return NULL;
	}
	protobuf_c_message_pack(m, b);
	return b;
}

static Vix__Store__V1__Signal *
signal_decode(struct pg_txn *t, const PGresult *r, int row, int col)
{
	size_t n;
	const uint8_t *b = pg_bytes(r, row, col, &n);
	Vix__Store__V1__Signal *s = vix__store__v1__signal__unpack(NULL, n, b);

	if (s == NULL && t->base.err == 0) {
		log_warnx("store: a signal record does not decode");
		txn_fail(t, VIX_E_STORE);
	}
	return s;
}

static int
pg_signal_locate(struct store_txn *bt, uint64_t id, uint8_t *p,
    uint32_t *org)
{
	struct pg_params pp = { 0 };
	PGresult *r;
	int found = 0;
	size_t n;

	if ((r = pg_run(PT(bt), Q_SIGNAL_LOCATE, pp_i64(&pp, id))) == NULL)
		return 0;
	if (PQntuples(r) == 1) {
		const uint8_t *b = pg_bytes(r, 0, 0, &n);

		found = n == PSEUDONYM_LEN ? 1 : -1;
		if (found == 1) {
			memcpy(p, b, PSEUDONYM_LEN);
			if (org != NULL)
				*org = (uint32_t)pg_int(r, 0, 1);
		}
	}
	PQclear(r);
	return found;
}

static int
pg_match_youth(struct store_txn *bt, uint64_t match_id, uint8_t *p)
{
	struct pg_params pp = { 0 };
	PGresult *r;
	int found = 0;
	size_t n;

	if ((r = pg_run(PT(bt), Q_MATCH_YOUTH, pp_i64(&pp,
	    match_id))) == NULL)
		return 0;
	if (PQntuples(r) == 1) {
		const uint8_t *b = pg_bytes(r, 0, 0, &n);

		if ((found = n == PSEUDONYM_LEN))
			memcpy(p, b, PSEUDONYM_LEN);
	}
	PQclear(r);
	return found;
}

static Vix__Store__V1__Signal *
sig_decode(struct pg_txn *t, const struct pg_sig *sig)
{
	Vix__Store__V1__Signal *s = vix__store__v1__signal__unpack(NULL,
	    sig->len, sig->rec);

	if (s == NULL && t->base.err == 0) {
		log_warnx("store: a signal record does not decode");
		txn_fail(t, VIX_E_STORE);
	}
	return s;
}

static Vix__Store__V1__Signal *
pg_signal_get(struct store_txn *bt, const uint8_t *p, uint32_t org)
{
	struct pg_params pp = { 0 };
	Vix__Store__V1__Signal *s = NULL;
	struct pg_youth *y;
	struct pg_sig *sig;
	PGresult *r;

	if (PT(bt)->write) {
		if ((y = youth_get(PT(bt), p)) == NULL ||
		    (sig = youth_sig(y, org)) == NULL)
			return NULL;
		return sig_decode(PT(bt), sig);
	}
	if ((r = pg_run(PT(bt), Q_SIGNAL_GET, pp_i32(pp_bytes(&pp, p,
	    PSEUDONYM_LEN), org))) == NULL)
		return NULL;
	if (PQntuples(r) == 1)
		s = signal_decode(PT(bt), r, 0, 0);
	PQclear(r);
	return s;
}

static void
pg_signal_put(struct store_txn *bt, const uint8_t *p, uint32_t org,
    const Vix__Store__V1__Signal *rec, int created)
{
	struct pg_params pp = { 0 };
	struct pg_youth *y;
	uint8_t *b;
	size_t n;

	(void)created;	/* the id is a column: one statement either way */
	if ((y = youth_get(PT(bt), p)) == NULL ||
	    (b = pack_msg(PT(bt), &rec->base, &n)) == NULL)
		return;
	pp_i64(pp_i32(pp_bytes(&pp, p, PSEUDONYM_LEN), org), rec->id);
	pg_do(PT(bt), Q_SIGNAL_PUT, pp_bytes(&pp, b, n));
	if (youth_sig_set(y, org, b, n) == -1)
		txn_fail(PT(bt), VIX_E_STORE);
	free(b);
}

static void
pg_signal_delete(struct store_txn *bt, const uint8_t *p, uint32_t org,
    uint64_t id)
{
	struct pg_params pp = { 0 };
	struct pg_youth *y;

	(void)id;
	if ((y = youth_get(PT(bt), p)) == NULL)
		return;
	pg_do(PT(bt), Q_SIGNAL_DELETE, pp_i32(pp_bytes(&pp, p, PSEUDONYM_LEN),
	    org));
	youth_sig_set(y, org, NULL, 0);
}

static void
pg_youth_signals(struct store_txn *bt, const uint8_t *p,
    int (*fn)(void *, uint32_t, const Vix__Store__V1__Signal *), void *arg)
{
	struct pg_params pp = { 0 };
	struct pg_youth *y;
	PGresult *r;

	if (PT(bt)->write) {
		/* Decoded first: fn may change the youth's signals. */
		Vix__Store__V1__Signal **sigs;
		uint32_t *orgs;
		size_t n, i;

		if ((y = youth_get(PT(bt), p)) == NULL || (n = y->nsigs) == 0)
			return;
		sigs = calloc(n, sizeof(*sigs));
		orgs = calloc(n, sizeof(*orgs));
		for (i = 0; sigs != NULL && orgs != NULL && i < n; i++) {
			orgs[i] = y->sigs[i].org;
			if ((sigs[i] = sig_decode(PT(bt), &y->sigs[i])) == NULL)
				break;
		}
		if (sigs == NULL || orgs == NULL)
			txn_fail(PT(bt), VIX_E_STORE);
		for (size_t j = 0; bt->err == 0 && j < i; j++)
			if (fn(arg, orgs[j], sigs[j]) != 0)
				break;
		for (size_t j = 0; sigs != NULL && j < n; j++)
			vix__store__v1__signal__free_unpacked(sigs[j], NULL);
		free(sigs);
		free(orgs);
		return;
	}
	if ((r = pg_run(PT(bt), Q_YOUTH_SIGNALS, pp_bytes(&pp, p,
	    PSEUDONYM_LEN))) == NULL)
		return;
	for (int i = 0; i < PQntuples(r); i++) {
		Vix__Store__V1__Signal *s = signal_decode(PT(bt), r, i, 1);
		int stop;

		if (s == NULL)
			break;
		stop = fn(arg, (uint32_t)pg_int(r, i, 0), s);
		vix__store__v1__signal__free_unpacked(s, NULL);
		if (stop)
			break;
	}
	PQclear(r);
}

/* In id order, a page at a time: the rows of one organisation may be many. */
static void
pg_org_signals(struct store_txn *bt, uint32_t org, uint64_t after,
    int (*fn)(void *, const uint8_t *, const Vix__Store__V1__Signal *),
    void *arg)
{
	int rows = PG_PAGE, stop = 0;

	while (rows == PG_PAGE && stop == 0 && bt->err == 0) {
		struct pg_params pp = { 0 };
		PGresult *r = pg_run(PT(bt), Q_ORG_SIGNALS, pp_i64(pp_i32(&pp,
		    org), after));

		rows = r ? PQntuples(r) : 0;
		for (int i = 0; i < rows && stop == 0; i++) {
			Vix__Store__V1__Signal *s;
			size_t n;
			const uint8_t *p = pg_bytes(r, i, 1, &n);

			after = (uint64_t)pg_int(r, i, 0);
			if (n != PSEUDONYM_LEN ||
			    (s = signal_decode(PT(bt), r, i, 2)) == NULL) {
				txn_fail(PT(bt), VIX_E_STORE);
				break;
			}
			stop = fn(arg, p, s);
			vix__store__v1__signal__free_unpacked(s, NULL);
		}
		PQclear(r);
	}
}

static int
match_decode(struct pg_txn *t, const uint8_t *b, size_t n,
    struct store_match *m)
{
	Vix__Store__V1__Match *rec = vix__store__v1__match__unpack(NULL, n, b);

	if (rec == NULL) {
		txn_fail(t, VIX_E_STORE);
		return 0;
	}
	store_match_from_record(m, rec);
	vix__store__v1__match__free_unpacked(rec, NULL);
	return 1;
}

static int
pg_match_get(struct store_txn *bt, const uint8_t *p, struct store_match *m)
{
	struct pg_params pp = { 0 };
	struct pg_youth *y;
	PGresult *r;
	const uint8_t *b;
	size_t n;
	int found = 0;

	if (PT(bt)->write) {
		if ((y = youth_get(PT(bt), p)) == NULL || y->match == NULL)
			return 0;
		return match_decode(PT(bt), y->match, y->match_len, m);
	}
	if ((r = pg_run(PT(bt), Q_MATCH_GET, pp_bytes(&pp, p,
	    PSEUDONYM_LEN))) == NULL)
		return 0;
	if (PQntuples(r) == 1) {
		b = pg_bytes(r, 0, 0, &n);
		found = match_decode(PT(bt), b, n, m);
	}
	PQclear(r);
	return found;
}

static void
pg_match_put(struct store_txn *bt, const uint8_t *p,
    const struct store_match *m, int created)
{
	Vix__Store__V1__Match rec = VIX__STORE__V1__MATCH__INIT;
	struct pg_params pp = { 0 };
	struct pg_youth *y;
	uint8_t *b;
	size_t n;

	(void)created;
	store_match_to_record(&rec, m);
	if ((y = youth_get(PT(bt), p)) == NULL ||
	    (b = pack_msg(PT(bt), &rec.base, &n)) == NULL)
		return;
	pp_i64(pp_bytes(&pp, p, PSEUDONYM_LEN), m->id);
	pg_do(PT(bt), Q_MATCH_PUT, pp_bytes(&pp, b, n));
	free(y->match);
	y->match = b;		/* the cache keeps the packed record */
	y->match_len = n;
}

static void
pg_match_delete(struct store_txn *bt, const uint8_t *p, uint64_t id)
{
	struct pg_params pp = { 0 };
	struct pg_youth *y;

	(void)id;
	if ((y = youth_get(PT(bt), p)) == NULL)
		return;
	pg_do(PT(bt), Q_MATCH_DELETE, pp_bytes(&pp, p, PSEUDONYM_LEN));
	free(y->match);
	y->match = NULL;
	y->match_len = 0;
}

static void
pg_due_put(struct store_txn *bt, enum store_due kind, int64_t when,
    uint64_t id)
{
	struct pg_params pp = { 0 };

	pg_do(PT(bt), Q_DUE_PUT, pp_i64(pp_i64(pp_i16(&pp, kind), when), id));
}

static void
pg_due_delete(struct store_txn *bt, enum store_due kind, int64_t when,
    uint64_t id)
{
	struct pg_params pp = { 0 };

	pg_do(PT(bt), Q_DUE_DELETE, pp_i64(pp_i64(pp_i16(&pp, kind), when),
	    id));
}

static size_t
pg_due_scan(struct store_txn *bt, enum store_due kind, int64_t until,
    struct store_due_item *out, size_t max)
{
	struct pg_params pp = { 0 };
	PGresult *r;
	size_t n = 0;

	pp_i64(pp_i64(pp_i16(&pp, kind), until), max);
	if ((r = pg_run(PT(bt), Q_DUE_SCAN, &pp)) == NULL)
		return 0;
	for (int i = 0; i < PQntuples(r) && n < max; i++, n++) {
		out[n].when = pg_int(r, i, 0);
		out[n].id = (uint64_t)pg_int(r, i, 1);
	}
	PQclear(r);
	return n;
}

static size_t
pg_archive_purge(struct store_txn *bt, int64_t cutoff, size_t max, int *more)
{
	struct pg_params pp = { 0 };
	int64_t n = 0;

	if (cutoff < 0)
		return 0;
	pg_one_int(PT(bt), Q_ARCHIVE_PURGE, pp_i64(pp_i64(&pp, cutoff), max),
	    &n);
	count_change(PT(bt), PG_COUNT_ARCHIVED, -n);
	*more |= (size_t)n == max;
	return (size_t)n;
}

static void
pg_archive_put(struct store_txn *bt, const uint8_t *p,
    const Vix__Store__V1__Archived *rec)
{
	struct pg_params pp = { 0 };
	PGresult *r;
	uint8_t *b;
	size_t n;

	youth_lock(PT(bt), p);
	if (bt->err != 0 || (b = pack_msg(PT(bt), &rec->base, &n)) == NULL)
		return;
	pp_i64(pp_i32(pp_bytes(&pp, p, PSEUDONYM_LEN), rec->org),
	    rec->archived);
	pp_i64(&pp, rec->signal ? rec->signal->id : 0);
	r = pg_run(PT(bt), Q_ARCHIVE_PUT, pp_bytes(&pp, b, n));
	if (r != NULL)
		count_change(PT(bt), PG_COUNT_ARCHIVED, 1);
	PQclear(r);
	free(b);
}

static void
pg_youth_archive(struct store_txn *bt, const uint8_t *p,
    int (*fn)(void *, const Vix__Store__V1__Archived *), void *arg)
{
	struct pg_params pp = { 0 };
	PGresult *r;

	youth_lock(PT(bt), p);
	if ((r = pg_run(PT(bt), Q_YOUTH_ARCHIVE, pp_bytes(&pp, p,
	    PSEUDONYM_LEN))) == NULL)
		return;
	for (int i = 0; i < PQntuples(r); i++) {
		size_t n;
		const uint8_t *b = pg_bytes(r, i, 0, &n);
		Vix__Store__V1__Archived *a =
		    vix__store__v1__archived__unpack(NULL, n, b);
		int stop = fn(arg, a);

		vix__store__v1__archived__free_unpacked(a, NULL);
		if (stop)
			break;
	}
	PQclear(r);
}

static void
pg_archive_erase(struct store_txn *bt, const uint8_t *p,
    int (*fn)(void *, uint64_t), void *arg)
{
	struct pg_params pp = { 0 };
	PGresult *r;

	youth_lock(PT(bt), p);
	if ((r = pg_run(PT(bt), Q_ARCHIVE_ERASE, pp_bytes(&pp, p,
	    PSEUDONYM_LEN))) == NULL)
		return;
	count_change(PT(bt), PG_COUNT_ARCHIVED, -(int64_t)PQntuples(r));
	for (int i = 0; i < PQntuples(r); i++)
		if (fn(arg, (uint64_t)pg_int(r, i, 0)) != 0)
			break;
	PQclear(r);
}

/* ---- moving a youth (key rotation) ------------------------------------- */

/* Whether one of the batch's rows not yet written is about youth p. */
static int
out_about(struct pg_txn *t, const uint8_t *p)
{
	for (size_t i = 0; i < t->nout; i++)
		if (t->out[i].has_youth && !t->out[i].erased &&
		    memcmp(t->out[i].youth, p, PSEUDONYM_LEN) == 0)
			return 1;
	return 0;
}

/*
 * In a write transaction the youth is locked first, so that what is
 * found stays so until commit: no other writer registers a youth under a
 * pseudonym a move has just found free. Its signals and match are then
 * known without asking again.
 */
static int
pg_youth_held(struct store_txn *bt, const uint8_t *p)
{
	struct pg_params pp = { 0 };
	struct pg_youth *y;
	int64_t v = 0;

	if (PT(bt)->write) {
		if ((y = youth_get(PT(bt), p)) == NULL)
			return 0;
		if (y->nsigs > 0 || y->match != NULL || out_about(PT(bt), p))
			return 1;
	}
	pg_one_int(PT(bt), Q_YOUTH_HELD, pp_bytes(&pp, p, PSEUDONYM_LEN), &v);
	return v != 0;
}

/*
 * One statement for the tables; the batch's unwritten rows here. A youth
 * without records keeps only its lock row, which goes (to NULL): no lock
 * row is taken for its new pseudonym.
 */
static size_t
pg_youth_move(struct store_txn *bt, const uint8_t *from, const uint8_t *to)
{
	struct pg_txn *t = PT(bt);
	struct pg_params pp = { 0 };
	int64_t n = 0;

	youth_lock(t, from);
	if (to == NULL) {
		pg_do(t, Q_YOUTH_FORGET, pp_bytes(&pp, from, PSEUDONYM_LEN));
		return 0;
	}
	youth_lock(t, to);
	pp_bytes(pp_bytes(&pp, from, PSEUDONYM_LEN), to, PSEUDONYM_LEN);
	pg_one_int(t, Q_YOUTH_MOVE, &pp, &n);
	if (bt->err != 0)
		return 0;
	/* Both caches are read again: the rows changed their youth. */
	for (size_t i = 0; i < t->nlocked; i++)
		if (memcmp(t->locked[i].p, from, PSEUDONYM_LEN) == 0 ||
		    memcmp(t->locked[i].p, to, PSEUDONYM_LEN) == 0)
			youth_uncache(&t->locked[i]);
	for (size_t i = 0; i < t->nout; i++) {
		struct pg_out *o = &t->out[i];

		if (!o->has_youth || o->erased ||
		    memcmp(o->youth, from, PSEUDONYM_LEN) != 0)
			continue;
		if (!o->moved_by_job && t->sp == SP_OPEN) {
			memcpy(o->job_youth, o->youth, PSEUDONYM_LEN);
			o->moved_by_job = 1;
		}
		memcpy(o->youth, to, PSEUDONYM_LEN);
		n++;
	}
	return n < 0 ? 0 : (size_t)n;
}

/*
 * The rotation's tables: those of the records, then youths, whose rows a
 * write transaction leaves for every youth it looked at (a lookup of one
 * nobody registered too): the move of such a pseudonym finds nothing to
 * move and deletes its row.
 */
static const enum pg_stmt pg_youth_tables[] = { Q_NEXT_SIGNALS,
    Q_NEXT_MATCHES, Q_NEXT_ARCHIVE, Q_NEXT_AUDIT, Q_NEXT_OUTBOX,
    Q_NEXT_FAMILY, Q_NEXT_YOUTHS };

#define PG_YOUTH_TABLES	(sizeof(pg_youth_tables) / sizeof(pg_youth_tables[0]))

/*
 * A page of a table's youths, one row each of their rows: a youth with
 * many rows (audit links) may take a page, and the next call goes on
 * after it, so no call reads more than max rows.
 */
static int
pg_youth_next(struct store_txn *bt, unsigned table, const uint8_t *after,
    uint8_t (*out)[PSEUDONYM_LEN], size_t max, size_t *n, size_t *visited)
{
	struct pg_params pp = { 0 };
	PGresult *r;
	int rows;

	*n = *visited = 0;
	if (table >= PG_YOUTH_TABLES)
		return 1;
	pp_bytes(&pp, after ? after : (const uint8_t *)"", after ?
	    PSEUDONYM_LEN : 0);
	if ((r = pg_run(PT(bt), pg_youth_tables[table], pp_i64(&pp,
	    max))) == NULL)
		return 0;
	rows = PQntuples(r);
	for (int i = 0; i < rows; i++) {
		size_t len;
		const uint8_t *p = pg_bytes(r, i, 0, &len);

		if (len != PSEUDONYM_LEN) {
			txn_fail(PT(bt), VIX_E_STORE);
			break;
		}
		if (*n == 0 || memcmp(out[*n - 1], p, PSEUDONYM_LEN) != 0)
			memcpy(out[(*n)++], p, PSEUDONYM_LEN);
	}
	*visited = (size_t)rows;
	PQclear(r);
	return (size_t)rows < max;
}

/* meta: the caller's values beside the schema version and the key id. */
static int
pg_meta_get(struct store_txn *bt, const char *key, char *buf, size_t len)
{
	struct pg_params pp = { 0 };
	const uint8_t *b;
	PGresult *r;
	int found = 0;
	size_t n;

	if ((r = pg_run(PT(bt), Q_META_GET, pp_text(&pp, key))) == NULL)
		return 0;
	if (PQntuples(r) == 1) {
		b = pg_bytes(r, 0, 0, &n);
		found = n < len ? 1 : -1;
		if (found == 1) {
			memcpy(buf, b, n);
			buf[n] = '\0';
		}
	}
	PQclear(r);
	return found;
}

/*
 * The row is made if absent (waiting for another writer making it), then
 * locked: a read after it sees the latest committed value, and no other
 * writer changes it before this transaction ends.
 */
static void
pg_meta_lock(struct store_txn *bt, const char *key)
{
	struct pg_params pp = { 0 };

	pg_do(PT(bt), Q_META_MAKE, pp_text(&pp, key));
	PQclear(pg_run(PT(bt), Q_META_LOCK, &pp));
}

static void
pg_meta_put(struct store_txn *bt, const char *key, const char *value)
{
	struct pg_params pp = { 0 };

	pp_text(&pp, key);
	if (value == NULL)
		pg_do(PT(bt), Q_META_DELETE, &pp);
	else
		pg_do(PT(bt), Q_META_PUT, pp_text(&pp, value));
}

/*
 * The daily count of an organisation in a write transaction: read once
 * (not locked: a row every writer of that organisation would wait on) and
 * kept for the batch, which adds what it counted at commit (newsig_flush).
 * Two vixd counting at once may each let one registration past the cap;
 * neither loses a count.
 */
static struct pg_newsig *
newsig_entry(struct pg_txn *t, uint32_t org)
{
	struct pg_params pp = { 0 };
	struct pg_newsig *e, *grown;
	PGresult *r;

	for (size_t i = 0; i < t->nnewsig; i++)
		if (t->newsig[i].org == org)
			return &t->newsig[i];
	if ((r = pg_run(t, Q_NEWSIG_GET, pp_i32(&pp, org))) == NULL)
		return NULL;
	if ((grown = reallocarray(t->newsig, t->nnewsig + 1,
	    sizeof(*grown))) == NULL) {
		PQclear(r);
		txn_fail(t, VIX_E_STORE);
		return NULL;
	}
	t->newsig = grown;
	e = &t->newsig[t->nnewsig++];
	memset(e, 0, sizeof(*e));
	e->org = org;
	if (PQntuples(r) == 1 && pg_int(r, 0, 0) >= 0) {
		e->base_found = 1;
		e->base_day = (uint64_t)pg_int(r, 0, 0);
		e->base_count = (uint64_t)pg_int(r, 0, 1);
	}
	PQclear(r);
	e->found = e->job_found = e->base_found;
	e->day = e->job_day = e->base_day;
	e->count = e->job_count = e->base_count;
	return e;
}

static int
pg_new_signals_get(struct store_txn *bt, uint32_t org, uint64_t *day,
    uint64_t *count)
{
	struct pg_params pp = { 0 };
	struct pg_newsig *e;
	PGresult *r;
	int found = 0;

	if (PT(bt)->write) {
		if ((e = newsig_entry(PT(bt), org)) == NULL || !e->found)
			return 0;
		*day = e->day;
		*count = e->count;
		return 1;
	}
	if ((r = pg_run(PT(bt), Q_NEWSIG_GET, pp_i32(&pp, org))) == NULL)
		return 0;
	if ((found = PQntuples(r) == 1 && pg_int(r, 0, 0) >= 0)) {
		*day = (uint64_t)pg_int(r, 0, 0);
		*count = (uint64_t)pg_int(r, 0, 1);
	}
	PQclear(r);
	return found;
}

static void
pg_new_signals_put(struct store_txn *bt, uint32_t org, uint64_t day,
    uint64_t count)
{
	struct pg_newsig *e;

	if (!PT(bt)->write) {
		txn_fail(PT(bt), VIX_E_STORE);	/* a reader writes nothing */
		return;
	}
	if ((e = newsig_entry(PT(bt), org)) != NULL) {
		e->found = 1;
		e->day = day;
		e->count = count;
	}
}

static int
newsig_cmp(const void *a, const void *b)
{
	const struct pg_newsig *x = a, *y = b;

	return x->org < y->org ? -1 : x->org > y->org;
}

/* At commit, in organisation order: what the batch counted, added. */
static void
newsig_flush(struct pg_txn *t)
{
	if (t->nnewsig > 1)
		qsort(t->newsig, t->nnewsig, sizeof(*t->newsig), newsig_cmp);
	for (size_t i = 0; i < t->nnewsig; i++) {
		struct pg_newsig *e = &t->newsig[i];
		struct pg_params pp = { 0 };
		uint64_t delta;

		if (!e->found || (e->base_found && e->day == e->base_day &&
		    e->count == e->base_count))
			continue;
		delta = e->base_found && e->day == e->base_day ?
		    e->count - e->base_count : e->count;
		pg_do(t, Q_NEWSIG_ADD, pp_i64(pp_i64(pp_i32(&pp, e->org),
		    e->day), delta));
	}
}

static int
pg_exclusive(struct store_txn *bt, const char *what)
{
	struct pg_params pp = { 0 };
	PGresult *r;
	int got = 0;

	if ((r = pg_run(PT(bt), Q_EXCLUSIVE, pp_text(&pp, what))) == NULL)
		return 0;
	got = PQntuples(r) == 1 && PQgetlength(r, 0, 0) == 1 &&
	    PQgetvalue(r, 0, 0)[0] == 1;
	PQclear(r);
	return got;
}

static int
pg_reachable(struct store_impl *s)
{
	return atomic_load(&s->reachable);
}

/* ---- opening and the schema -------------------------------------------- */

/*
 * The password file: a regular file only its owner reads, its first line
 * the password. 0, or -1 after adding the problem to d.
 */
static int
password_read(struct store_impl *s, const char *path, struct diag *d)
{
	char line[1024];
	struct stat st;
	FILE *f;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1 ||
	    fstat(fd, &st) == -1) {
		diag_add(d, NULL, 0, "store: password_file %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		diag_add(d, NULL, 0, "store: password_file %s is %s; it holds "
		    "the database password: make it a regular file only its "
		    "owner can read (chmod 600 %s)", path, S_ISREG(st.st_mode) ?
		    "readable by its group or others" : "not a regular file",
		    path);
		close(fd);
		return -1;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		diag_add(d, NULL, 0, "store: password_file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	s->password = strdup(line);
	explicit_bzero(line, sizeof(line));
	return s->password == NULL ? -1 : 0;
}

/*
 * The connection parameters, kept for every reconnection: defaults the
 * connection string may override (a connect timeout, and TCP keepalives
 * and a user timeout so that a statement to a server that vanished fails
 * instead of waiting forever), the string itself (expanded), and the
 * password, which nothing overrides.
 */
static void
params_make(struct store_impl *s)
{
	int n = 0;

	s->keys[n] = "connect_timeout";
	s->vals[n++] = PG_CONNECT_TIMEOUT;
	s->keys[n] = "keepalives_idle";
	s->vals[n++] = "10";
	s->keys[n] = "keepalives_interval";
	s->vals[n++] = "3";
	s->keys[n] = "keepalives_count";
	s->vals[n++] = "3";
	s->keys[n] = "tcp_user_timeout";
	s->vals[n++] = "20000";
	s->keys[n] = "application_name";
	s->vals[n++] = "vixd";
	s->keys[n] = "dbname";
	s->vals[n++] = s->conninfo;
	if (s->password != NULL) {
		s->keys[n] = "password";
		s->vals[n++] = s->password;
	}
	s->keys[n] = NULL;
	s->vals[n] = NULL;
}

/* A statement at open, text in and out: its rows, or NULL and d told. */
static PGresult *
pg_query(PGconn *c, const char *sql, int n, const char *const *vals,
    struct diag *d, const char *what)
{
	/* Without parameters: the simple protocol, several statements. */
	PGresult *r = n == 0 ? PQexec(c, sql) :
	    PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	char msg[256];

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
	msg[strcspn(msg, "\n")] = '\0';
	diag_add(d, NULL, 0, "store: PostgreSQL: %s: %s", what, msg);
	PQclear(r);
	return NULL;
}

static int
pg_query_do(PGconn *c, const char *sql, struct diag *d, const char *what)
{
	PGresult *r = pg_query(c, sql, 0, NULL, d, what);

	PQclear(r);
	return r == NULL ? -1 : 0;
}

/* The schema's version (creating the schema when there is none). */
static int
schema_check(PGconn *c, struct diag *d)
{
	PGresult *r;
	long version;
	int exists;

	if ((r = pg_query(c, "SELECT 1 FROM pg_tables WHERE schemaname = "
	    "current_schema() AND tablename = 'meta'", 0, NULL, d,
	    "look for the schema")) == NULL)
		return -1;
	exists = PQntuples(r) == 1;
	PQclear(r);
	if (!exists) {
		if (pg_query_do(c, pg_schema_sql, d, "create the schema") == -1 ||
		    pg_query_do(c, pg_schema2_sql, d, "create the schema") == -1)
			return -1;
		r = pg_query(c, "INSERT INTO meta (key, value) VALUES "
		    "('schema_version', '" PG_STR(PG_SCHEMA) "')", 0, NULL, d,
		    "schema version");
		PQclear(r);
		if (r != NULL)
			log_info("store: PostgreSQL schema %d created",
			    PG_SCHEMA);
		return r == NULL ? -1 : 0;
	}
	if ((r = pg_query(c, "SELECT value FROM meta WHERE key = "
	    "'schema_version'", 0, NULL, d, "schema version")) == NULL)
		return -1;
	version = PQntuples(r) == 1 ? strtol(PQgetvalue(r, 0, 0), NULL, 10) :
	    0;
	PQclear(r);
	if (version > PG_SCHEMA) {
		diag_add(d, NULL, 0, "store: the PostgreSQL database has schema "
		    "version %ld, newer than this vixd supports (%d); run a "
		    "newer vixd", version, PG_SCHEMA);
		return -1;
	}
	if (version < 1) {
		diag_add(d, NULL, 0, "store: the PostgreSQL schema has a meta "
		    "table without a schema_version; it is not a vix store");
		return -1;
	}
	if (version == 1) {
		if (pg_query_do(c, pg_schema2_sql, d, "upgrade the schema to "
		    "2") == -1 || pg_query_do(c, "UPDATE meta SET value = '"
		    PG_STR(PG_SCHEMA) "' WHERE key = 'schema_version'", d,
		    "schema version") == -1)
			return -1;
		log_info("store: PostgreSQL schema 1 upgraded to %d (the "
		    "family index)", PG_SCHEMA);
	}
	return 0;
}

/*
 * Under an advisory lock, so that two vixd starting at once do not both
 * create it: the schema, checked or created, and this process's chain.
 */
static int
schema_open(struct store_impl *s, struct diag *d)
{
	PGconn *c = s->w.c;
	char host[256] = "";
	const char *vals[1] = { host };
	PGresult *r;

	gethostname(host, sizeof(host) - 1);
	if (pg_query_do(c, "BEGIN", d, "begin") == -1)
		return -1;
	if (pg_query_do(c, "SELECT pg_advisory_xact_lock(hashtext("
	    "current_schema()), " PG_STR(PG_LOCK_SCHEMA) ")", d,
	    "lock the schema") == -1 ||
	    schema_check(c, d) == -1)
		goto fail;
	if ((r = pg_query(c, "INSERT INTO chains (chain, host) VALUES "
	    "(nextval('chain_ids'), $1) RETURNING chain", 1, vals, d,
	    "new audit chain")) == NULL)
		goto fail;
	s->chain = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (pg_query_do(c, "COMMIT", d, "commit") == -1)
		return -1;
	s->head_known = 1;
	s->head_seq = s->chain << STORE_AUDIT_CHAIN_SHIFT;
	return 0;
fail:
	(void)pg_simple(c, "ROLLBACK", "rollback");
	return -1;
}

static void pg_close(struct store_impl *);

static struct store_impl *
pg_open(const struct store_options *o, struct diag *d)
{
	struct store_impl *s;
	char why[256];

	if (o->conninfo == NULL || o->conninfo[0] == '\0') {
		diag_add(d, NULL, 0, "store: the postgresql backend needs a "
		    "connection string (conninfo)");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->conninfo = strdup(o->conninfo)) == NULL) {
		free(s);
		diag_add(d, NULL, 0, "store: out of memory");
		return NULL;
	}
	s->escalate_after = o->escalate_after;
	if (o->password_file != NULL && password_read(s, o->password_file,
	    d) == -1) {
		pg_close(s);
		return NULL;
	}
	params_make(s);
	if ((s->w.c = pg_connect(s, why, sizeof(why))) == NULL) {
		diag_add(d, NULL, 0, "store: cannot connect to PostgreSQL: %s",
		    why);
		pg_close(s);
		return NULL;
	}
	if (schema_open(s, d) == -1) {
		pg_close(s);
		return NULL;
	}
	atomic_store(&s->reachable, 1);
	atomic_store(&s->writer_pid, PQbackendPID(s->w.c));
	return s;
}

static void pg_unwatch(struct store_impl *);

static void
pg_close(struct store_impl *s)
{
	if (s == NULL)
		return;
	pg_unwatch(s);
	conn_close(&s->w);
	if (s->password != NULL)
		explicit_bzero(s->password, strlen(s->password));
	free(s->password);
	free(s->conninfo);
	free(s);
}

/*
 * A connection of its own for check_key and bind_orgs, which may run while
 * the writer thread has its own (bind_orgs on a reload).
 */
static PGconn *
side_conn(struct store_impl *s, struct diag *d)
{
	char why[256];
	PGconn *c = pg_connect(s, why, sizeof(why));

	if (c == NULL)
		diag_add(d, NULL, 0, "store: cannot connect to PostgreSQL: %s",
		    why);
	return c;
}

static int
key_check(PGconn *c, const char *key_id, const char *key_file,
    struct diag *d)
{
	const char *vals[1] = { key_id };
	char have[80] = "";
	PGresult *r;

	/* The first vixd records its key; any other reads it back. */
	if ((r = pg_query(c, "INSERT INTO meta (key, value) VALUES "
	    "('key_id', $1) ON CONFLICT (key) DO NOTHING", 1, vals, d,
	    "record the key id")) == NULL)
		return -1;
	if (strcmp(PQcmdTuples(r), "1") == 0)
		log_info("store: pseudonym key id %s recorded; from now on "
		    "vixd refuses to run this database with another key",
		    key_id);
	PQclear(r);
	if ((r = pg_query(c, "SELECT value FROM meta WHERE key = "
	    "'key_id'", 0, NULL, d, "read the key id")) == NULL)
		return -1;
	if (PQntuples(r) == 1)
		snprintf(have, sizeof(have), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	if (strcmp(have, key_id) == 0)
		return 0;
	diag_add(d, NULL, 0, "store: the PostgreSQL database was written with "
	    "another pseudonym key than pseudonym_key_file %s (key id %s in "
	    "the store, %s for the file): with it no youth in the store would "
	    "be found. Start vixd with the key file the store was made with "
	    "(restore it from your key backup), or point it at a new, empty "
	    "database to begin a new store with this key", key_file, have,
	    key_id);
	return -1;
}

static int
pg_check_key(struct store_impl *s, const char *key_id, const char *key_file,
    struct diag *d)
{
	PGconn *c;
	int rc;

	if ((c = side_conn(s, d)) == NULL)
		return -1;
	rc = key_check(c, key_id, key_file, d);
	PQfinish(c);
	return rc;
}

/* The id of one OIN: known, or new from the sequence (first one wins). */
static int
org_id(PGconn *c, const char *oin, uint32_t *sid, struct diag *d)
{
	const char *vals[1] = { oin };
	PGresult *r;

	for (int tries = 0; tries < 2; tries++) {
		if ((r = pg_query(c, "SELECT id FROM orgs WHERE oin = $1", 1,
		    vals, d, "organisation id")) == NULL)
			return -1;
		if (PQntuples(r) == 1) {
			*sid = (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
			PQclear(r);
			return 0;
		}
		PQclear(r);
		if ((r = pg_query(c, "INSERT INTO orgs (oin, id) VALUES ($1, "
		    "nextval('org_ids')) ON CONFLICT (oin) DO NOTHING", 1,
		    vals, d, "new organisation id")) == NULL)
			return -1;
		PQclear(r);
	}
	diag_add(d, NULL, 0, "store: organisation %s has no id", oin);
	return -1;
}

static int
pg_bind_orgs(struct store_impl *s, struct orgs *orgs, struct diag *d)
{
	PGconn *c;
	int rc = 0;

	if ((c = side_conn(s, d)) == NULL)
		return -1;
	for (size_t i = 0; i < orgs->n && rc == 0; i++)
		rc = org_id(c, orgs->v[i].oin, &orgs->v[i].sid, d);
	PQfinish(c);
	if (rc == 0)
		orgs_index_sids(orgs);
	return rc;
}

/* ---- watching other writers' commits ------------------------------------ */

/* A connection that listens on the channel, or NULL (why filled). */
static PGconn *
listen_conn(struct store_impl *s, char *why, size_t len)
{
	PGconn *c = pg_connect(s, why, len);
	PGresult *r;

	if (c == NULL)
		return NULL;
	r = PQexec(c, "LISTEN " PG_CHANNEL);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(why, len, "LISTEN: %s", PQerrorMessage(c));
		why[strcspn(why, "\n")] = '\0';
		PQclear(r);
		PQfinish(c);
		return NULL;
	}
	PQclear(r);
	return c;
}

/* One notification: "all", or recipient ids separated by commas. */
static void
notice_parse(struct store_impl *s, const char *payload)
{
	uint32_t ids[STORE_TOUCHED_MAX];
	size_t n = 0;
	const char *p = payload;
	char *end;

	if (strcmp(payload, "all") == 0) {
		s->published(s->published_arg, NULL, 0, 1);
		return;
	}
	while (*p != '\0' && n < STORE_TOUCHED_MAX) {
		unsigned long v = strtoul(p, &end, 10);

		if (end == p)
			break;
		ids[n++] = (uint32_t)v;
		p = *end == ',' ? end + 1 : end;
	}
	if (n > 0)
		s->published(s->published_arg, ids, n, 0);
}

/* Sleep ms in short steps, returning early once told to stop. */
static void
watch_sleep(struct store_impl *s, unsigned ms)
{
	for (unsigned slept = 0; slept < ms && !atomic_load(&s->stop);
	    slept += 100)
		usleep(100 * 1000);
}

/* Read what arrived on c; 0, or -1 when the connection is gone. */
static int
watch_read(struct store_impl *s, PGconn *c)
{
	struct pollfd pfd = { .fd = PQsocket(c), .events = POLLIN };
	PGnotify *nt;
	int budget = 1024;

	if (pfd.fd < 0)
		return -1;
	if (poll(&pfd, 1, 200) <= 0)
		return 0;
	if (PQconsumeInput(c) == 0)
		return -1;
	while (budget-- > 0 && (nt = PQnotifies(c)) != NULL) {
		if (nt->be_pid != atomic_load(&s->writer_pid))
			notice_parse(s, nt->extra);
		PQfreemem(nt);
	}
	return 0;
}

/*
 * The watcher's life: listen, and after a lost connection reconnect with
 * back-off and tell of every outbox, since notifications may be lost.
 */
static void *
watch_main(void *arg)
{
	struct store_impl *s = arg;
	PGconn *c = NULL;
	unsigned backoff = 100;
	int first = 1;
	char why[256];

	while (!atomic_load(&s->stop)) {
		if (c == NULL) {
			if ((c = listen_conn(s, why, sizeof(why))) == NULL) {
				log_warnx("store: watching commits: %s; "
				    "retrying in %u ms", why, backoff);
				watch_sleep(s, backoff);
				backoff = backoff < 5000 ? backoff * 2 : 5000;
				continue;
			}
			backoff = 100;
			if (!first) {
				log_info("store: watching commits again");
				s->published(s->published_arg, NULL, 0, 1);
			}
			first = 0;
		}
		if (watch_read(s, c) == -1) {
			log_warnx("store: watching commits: the connection was "
			    "lost");
			PQfinish(c);
			c = NULL;
		}
	}
	if (c != NULL)
		PQfinish(c);
	return NULL;
}

static int
pg_watch(struct store_impl *s, void (*published)(void *, const uint32_t *,
    size_t, int), void *arg, struct diag *d)
{
	char why[256];
	PGconn *c;

	if (s->watching) {
		diag_add(d, NULL, 0, "store: already watching commits");
		return -1;
	}
	if ((c = listen_conn(s, why, sizeof(why))) == NULL) {
		diag_add(d, NULL, 0, "store: cannot watch commits: %s", why);
		return -1;
	}
	PQfinish(c);
	s->published = published;
	s->published_arg = arg;
	atomic_store(&s->stop, 0);
	if (pthread_create(&s->watcher, NULL, watch_main, s) != 0) {
		diag_add(d, NULL, 0, "store: cannot start the commit watcher");
		return -1;
	}
	s->watching = 1;
	return 0;
}

static void
pg_unwatch(struct store_impl *s)
{
	if (!s->watching)
		return;
	atomic_store(&s->stop, 1);
	pthread_join(s->watcher, NULL);
	s->watching = 0;
}

/* ---- the backend table -------------------------------------------------- */

/* ---- vixd --import-lmdb: what the ordinary operations allocate ---------- */

static void
pg_import_org(struct store_txn *bt, const char *oin, uint32_t sid)
{
	struct pg_params pp = { 0 };

	pp_i32(pp_text(&pp, oin), sid);
	pg_do(PT(bt), Q_IMPORT_ORG_FREE, &pp);
	pg_do(PT(bt), Q_IMPORT_ORG, &pp);
}

static void
pg_import_id_next(struct store_txn *bt, enum store_id kind, uint64_t next)
{
	static const char *const seqs[] = {
		[STORE_ID_SIGNAL] = "signal_ids",
		[STORE_ID_MATCH] = "match_ids",
		[STORE_ID_ORG] = "org_ids",
	};
	struct pg_params pp = { 0 };
	PGresult *r;

	r = pg_run(PT(bt), Q_IMPORT_ID, pp_i64(pp_text(&pp, seqs[kind]),
	    next));
	PQclear(r);
	/* A block taken before is below the copied ids: give it up. */
	if (kind != STORE_ID_ORG)
		bt->s->nids[kind == STORE_ID_MATCH] = 0;
}

static void
pg_import_outbox_next(struct store_txn *bt, uint32_t recipient,
    uint64_t next)
{
	struct pg_params pp = { 0 };

	pg_do(PT(bt), Q_IMPORT_OUTBOX, pp_i64(pp_i32(&pp, recipient),
	    next > 0 ? next - 1 : 0));
}

/* A copied row keeps its seq (the counter is set by import_outbox_next). */
static void
pg_import_outbox_put(struct store_txn *bt, uint32_t recipient, uint64_t seq,
    const void *row, size_t len, const uint8_t *youth)
{
	struct pg_params pp = { 0 };

	pp_i64(pp_i32(&pp, recipient), seq);
	pp_bytes(pp_bytes(&pp, row, len), youth, youth ? PSEUDONYM_LEN : 0);
	pg_do(PT(bt), Q_OUTBOX_PUT, &pp);
}

static void
pg_import_audit_link(struct store_txn *bt, const uint8_t *youth,
    uint64_t seq)
{
	struct pg_params pp = { 0 };

	pg_do(PT(bt), Q_IMPORT_LINK, pp_i64(pp_bytes(&pp, youth,
	    PSEUDONYM_LEN), seq));
}

/* ---- the family index ------------------------------------------------- */

static void
pg_family_put(struct store_txn *bt, const uint8_t *parent,
    const uint8_t *youth, uint32_t org, uint64_t signal_id)
{
	struct pg_params pp = { 0 };

	pg_do(PT(bt), Q_FAMILY_PUT, pp_i64(pp_i32(pp_bytes(pp_bytes(&pp,
	    parent, PSEUDONYM_LEN), youth, PSEUDONYM_LEN), org), signal_id));
}

static void
pg_family_delete(struct store_txn *bt, const uint8_t *parent,
    const uint8_t *youth, uint32_t org)
{
	struct pg_params pp = { 0 };

	pg_do(PT(bt), Q_FAMILY_DELETE, pp_i32(pp_bytes(pp_bytes(&pp, parent,
	    PSEUDONYM_LEN), youth, PSEUDONYM_LEN), org));
}

/* The parent's row in youths is locked first: one writer per family. */
static void
pg_family_scan(struct store_txn *bt, const uint8_t *parent,
    int (*fn)(void *, const uint8_t *, uint32_t, uint64_t), void *arg)
{
	struct pg_params pp = { 0 };
	PGresult *r;

	youth_lock(PT(bt), parent);
	if (bt->err != 0 || (r = pg_run(PT(bt), Q_FAMILY_SCAN, pp_bytes(&pp,
	    parent, PSEUDONYM_LEN))) == NULL)
		return;
	for (int i = 0; i < PQntuples(r); i++) {
		size_t len;
		const uint8_t *p = pg_bytes(r, i, 0, &len);

		if (len != PSEUDONYM_LEN) {
			txn_fail(PT(bt), VIX_E_STORE);
			break;
		}
		if (fn(arg, p, (uint32_t)pg_int(r, i, 1),
		    (uint64_t)pg_int(r, i, 2)) != 0)
			break;
	}
	PQclear(r);
}

const struct store_backend store_backend_postgresql = {
	.name = STORE_BACKEND_PG,
	.open = pg_open,
	.close = pg_close,
	.check_key = pg_check_key,
	.bind_orgs = pg_bind_orgs,
	.write_begin = pg_write_begin,
	.write_commit = pg_write_commit,
	.write_abort = pg_write_abort,
	.job_begin = pg_job_begin,
	.job_end = pg_job_end,
	.reader_new = pg_reader_new,
	.reader_free = pg_reader_free,
	.over_quota = pg_over_quota,
	.backup = NULL,
	.compact = NULL,
	.watch = pg_watch,
	.unwatch = pg_unwatch,
	.exclusive = pg_exclusive,
	.reachable = pg_reachable,
	.audit_head = pg_audit_head,
	.audit_append = pg_audit_append,
	.audit_scan = pg_audit_scan,
	.youth_audited = pg_youth_audited,
	.signal_locate = pg_signal_locate,
	.match_youth = pg_match_youth,
	.outbox_seq = pg_outbox_seq,
	.outbox_put = pg_outbox_put,
	.outbox_last = pg_outbox_last,
	.outbox_scan = pg_outbox_scan,
	.outbox_delete = pg_outbox_delete,
	.outbox_erase = pg_outbox_erase,
	.cursor_get = pg_cursor_get,
	.cursor_put = pg_cursor_put,
	.import_org = pg_import_org,
	.import_id_next = pg_import_id_next,
	.import_outbox_next = pg_import_outbox_next,
	.import_audit_link = pg_import_audit_link,
	.import_outbox_put = pg_import_outbox_put,
	.count_get = pg_count_get,
	.count_add = pg_count_add,
	.usage = pg_usage,
	.read_begin = pg_read_begin,
	.read_end = pg_read_end,
	.id_alloc = pg_id_alloc,
	.match_get = pg_match_get,
	.match_put = pg_match_put,
	.match_delete = pg_match_delete,
	.due_put = pg_due_put,
	.due_delete = pg_due_delete,
	.due_scan = pg_due_scan,
	.archive_purge = pg_archive_purge,
	.signal_get = pg_signal_get,
	.signal_put = pg_signal_put,
	.signal_delete = pg_signal_delete,
	.youth_signals = pg_youth_signals,
	.archive_put = pg_archive_put,
	.new_signals_get = pg_new_signals_get,
	.new_signals_put = pg_new_signals_put,
	.org_signals = pg_org_signals,
	.youth_archive = pg_youth_archive,
	.archive_erase = pg_archive_erase,
	.youth_audit = pg_youth_audit,
	.youth_audit_unlink = pg_youth_audit_unlink,
	.audit_get = pg_audit_get,
	.youth_held = pg_youth_held,
	.youth_move = pg_youth_move,
	.family_put = pg_family_put,
	.family_delete = pg_family_delete,
	.family_scan = pg_family_scan,
	.meta_lock = pg_meta_lock,
	.youth_tables = PG_YOUTH_TABLES,
	.youth_next = pg_youth_next,
	.meta_get = pg_meta_get,
	.meta_put = pg_meta_put,
};
