/*
 * The storage backend under the store's domain: a table of operations on
 * records, not on keys, so that a relational backend can keep them in a
 * schema with its own indexes and row locks. The domain (store.c, audit.c,
 * outbox.c) reaches a backend only through this table; each backend is one
 * file (store_lmdb.c) that fills one; store_options.backend names it.
 *
 * Every operation on a transaction is sticky: once one failed the others
 * do nothing, and the error is read once at the end (store_txn_error).
 */
#ifndef VIX_STORE_BACKEND_H
#define VIX_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store.pb-c.h"

/* Length of an audit record's hash (SHA-256). */
#define STORE_HASH_LEN	32

/* What id_alloc allocates: one sequence each. */
enum store_id {
	STORE_ID_SIGNAL,
	STORE_ID_MATCH,
	STORE_ID_ORG,
};

/*
 * Items due at a time: a signal's expiry, a match's next follow-up (a
 * reminder, its escalation, escalating it again: one item per match).
 */
enum store_due {
	STORE_DUE_EXPIRY,		/* id: a signal id */
	STORE_DUE_ESCALATE,		/* id: a match id */
};

struct store_due_item {
	int64_t		when;
	uint64_t	id;
};

/* The counts monitoring reads, kept by the writes that change them. */
enum store_count {
	STORE_COUNT_SIGNALS,		/* active signals */
	STORE_COUNT_MATCHES,		/* open matches */
	STORE_COUNT_UNCOORDINATED,	/* of those, not marked coordinated */
};

/* A backend's open store: its own type, opaque to the domain. */
struct store_impl;

/* Outboxes a transaction remembers having written to (store_touched). */
#define STORE_TOUCHED_MAX	64

/*
 * The part of a transaction every backend shares and the domain reads: a
 * backend's own transaction begins with it (struct lmdb_txn, pg_txn), made
 * by store_txn_init, and the table's operations cast it back.
 */
struct store_txn {
	const struct store_backend *be;
	struct store_impl	*s;
	int64_t			 escalate_after; /* store_options */
	/* store_options' followup (store_write_begin); NULL: none. */
	const struct store_followup *followup;
	int			 err;		/* sticky: first failure */
	int64_t			 now;		/* of the current job: 0 unknown */
	char			 professional[65]; /* the current job's actor:
						    store_job_professional */
	size_t			 job_touched;	/* ntouched when the job began */
	uint32_t		 touched[STORE_TOUCHED_MAX];
	size_t			 ntouched;
	int			 touched_all;	/* more than STORE_TOUCHED_MAX */
	/*
	 * Regional figures counted by the transaction's jobs (figures.c),
	 * written just before the commit in one order by every writer, so
	 * that their shared rows are held only for the commit.
	 */
	struct fig_delta	*figs;
	size_t			 nfigs, capfigs;
	size_t			 job_figs;	/* nfigs when the job began */
};

/* The same for a reader: a backend's reader begins with it. */
struct store_reader {
	const struct store_backend *be;
	struct store_impl	*s;
};


/*
 * A whole store as records, for copying it to another backend
 * (store_import): what an exporting backend hands over, each call
 * returning 0 or an error that ends the export. Records keep their ids,
 * seqs and hashes; the allocators' next values come with them.
 */
struct store_sink {
	int	(*key_id)(void *, const char *key_id);
	int	(*org)(void *, const char *oin, uint32_t sid);
	int	(*id_next)(void *, enum store_id, uint64_t next);
	int	(*signal)(void *, const uint8_t *youth, uint32_t org,
		    const Vix__Store__V1__Signal *);
	int	(*match)(void *, const uint8_t *youth,
		    const struct store_match *);
	int	(*archived)(void *, const uint8_t *youth,
		    const Vix__Store__V1__Archived *);
	int	(*due)(void *, enum store_due, int64_t when, uint64_t id);
	int	(*outbox)(void *, uint32_t recipient, uint64_t seq,
		    const void *row, size_t len, const uint8_t *youth);
	int	(*outbox_next)(void *, uint32_t recipient, uint64_t next);
	int	(*cursor)(void *, uint32_t consumer, uint32_t recipient,
		    uint64_t seq);
	int	(*new_signals)(void *, uint32_t org, uint64_t day,
		    uint64_t count);
	int	(*audit)(void *, uint64_t seq, const void *record, size_t len,
		    const uint8_t *hash);
	int	(*audit_link)(void *, const uint8_t *youth, uint64_t seq);
	int	(*family)(void *, const uint8_t *parent, const uint8_t *youth,
		    uint32_t org, uint64_t signal_id);
	int	(*count)(void *, enum store_count, uint64_t value);
	/* A caller's meta value (store_meta_put), key with its prefix. */
	int	(*meta)(void *, const char *key, const char *value);
};

/*
 * The prefix of the caller's meta keys (store_meta_put): no key of a
 * backend's own begins with it, so that no name reaches those.
 */
#define STORE_META_PREFIX	"x."

struct store_backend {
	const char	*name;		/* as in store_options.backend */

	/*
	 * The store's life and its transactions, as store.h describes them
	 * under the names store_open ... store_compact (store.c calls these
	 * through the table). backup and compact may be NULL: the backend
	 * has no such copy, and the store.h calls refuse with a message.
	 */
	struct store_impl *(*open)(const struct store_options *,
		    struct diag *);
	void	(*close)(struct store_impl *);
	int	(*check_key)(struct store_impl *, const char *key_id,
		    const char *key_file, struct diag *);
	int	(*bind_orgs)(struct store_impl *, struct orgs *,
		    struct diag *);
	struct store_txn *(*write_begin)(struct store_impl *, int *err);
	int	(*write_commit)(struct store_txn *);
	void	(*write_abort)(struct store_txn *);
	int	(*job_begin)(struct store_txn *);
	int	(*job_end)(struct store_txn *, int err);
	struct store_reader *(*reader_new)(struct store_impl *);
	void	(*reader_free)(struct store_reader *);
	int	(*over_quota)(struct store_txn *, char *why, size_t len);
	int	(*backup)(struct store_impl *, const char *path,
		    struct diag *);
	int	(*compact)(const struct store_options *, struct diag *,
		    size_t *before, size_t *after);

	/*
	 * Optional, for a backend several vixd share (NULL: this vixd is the
	 * only writer). watch: from now on call published (on a thread of
	 * the backend's) when another writer's commit grew outboxes, as the
	 * writer's own hook is called; a wake-up only, the rows are the
	 * truth. unwatch stops it before close. exclusive: whether this
	 * transaction may do the named work that one writer at a time does
	 * (a sweep), held until it ends; 0 if another writer is doing it.
	 * reachable: whether the last attempt found the database writable.
	 */
	int	(*watch)(struct store_impl *, void (*published)(void *arg,
		    const uint32_t *recipients, size_t n, int all), void *arg,
		    struct diag *);
	void	(*unwatch)(struct store_impl *);
	int	(*exclusive)(struct store_txn *, const char *what);
	int	(*reachable)(struct store_impl *);

	/*
	 * Optional: copying a whole store. export hands every record of the
	 * store to sink, from one consistent view. The import_ entries put
	 * what the ordinary operations would allocate (an organisation's
	 * id, an allocator's next value, an outbox's next seq, a youth's link
	 * to an audit record) into an empty store, in a write transaction;
	 * the records themselves go through the ordinary puts.
	 */
	int	(*export)(struct store_impl *, const struct store_sink *,
		    void *arg);
	void	(*import_org)(struct store_txn *, const char *oin,
		    uint32_t sid);
	void	(*import_id_next)(struct store_txn *, enum store_id,
		    uint64_t next);
	void	(*import_outbox_next)(struct store_txn *, uint32_t recipient,
		    uint64_t next);
	void	(*import_audit_link)(struct store_txn *, const uint8_t *youth,
		    uint64_t seq);
	/* An outbox row under the seq it had (NULL: outbox_put keeps it). */
	void	(*import_outbox_put)(struct store_txn *, uint32_t recipient,
		    uint64_t seq, const void *row, size_t len,
		    const uint8_t *youth);

	/*
	 * The head of this writer's audit chain as the transaction sees
	 * it: its last record's seq and hash (when empty: the chain's seq
	 * with place 0, and zeroes). Read inside the transaction, so that
	 * records chain correctly whoever wrote the one before.
	 */
	void	(*audit_head)(struct store_txn *, uint64_t *seq,
		    uint8_t *hash);
	/*
	 * Store record (len bytes, packed) under seq with its hash; linked
	 * to youth for the subject report unless youth is NULL.
	 */
	void	(*audit_append)(struct store_txn *, uint64_t seq,
		    const void *record, size_t len, const uint8_t *hash,
		    const uint8_t *youth);
	/*
	 * Call fn for every audit record in seq order (chain by chain, each
	 * in order of place); a non-zero return
	 * stops the scan and is returned. A record the backend cannot read
	 * is passed with len 0.
	 */
	int	(*audit_scan)(struct store_reader *,
		    int (*fn)(void *, uint64_t seq, const void *record,
		    size_t len, const uint8_t *hash), void *arg);
	/* Whether any audit record is linked to youth. */
	int	(*youth_audited)(struct store_txn *, const uint8_t *youth);
	/*
	 * The youth (and org, unless NULL) of the active signal signal_id:
	 * 1 and filled, 0 if there is none, -1 if its index is damaged.
	 */
	int	(*signal_locate)(struct store_txn *, uint64_t signal_id,
		    uint8_t *youth, uint32_t *org);
	/* The youth of the open match match_id: 1 and filled, or 0. */
	int	(*match_youth)(struct store_txn *, uint64_t match_id,
		    uint8_t *youth);

	/*
	 * Outboxes. The next seq of recipient's outbox, dense per recipient
	 * (a relational backend: a counter row per recipient, updated under
	 * its lock); allocated before the row is put, as the row carries it.
	 */
	uint64_t (*outbox_seq)(struct store_txn *, uint32_t recipient);
	/*
	 * Put row (a packed notification) as recipient's seq, indexed by
	 * youth (unless NULL) so that an erasure finds it; the recipient
	 * counts as written by the current job (store_touched).
	 */
	void	(*outbox_put)(struct store_txn *, uint32_t recipient,
		    uint64_t seq, const void *row, size_t len,
		    const uint8_t *youth);
	/* The last seq given out in recipient's outbox (0: none). */
	uint64_t (*outbox_last)(struct store_txn *, uint32_t recipient);
	/*
	 * Call fn for recipient's rows after seq after, in seq order, at
	 * most max; a non-zero return stops.
	 */
	void	(*outbox_scan)(struct store_txn *, uint32_t recipient,
		    uint64_t after, size_t max,
		    int (*fn)(void *, uint64_t seq, const void *row,
		    size_t len), void *arg);
	/* The row recipient . seq goes, with its youth index. */
	void	(*outbox_delete)(struct store_txn *, uint32_t recipient,
		    uint64_t seq);
	/* Every row about youth goes (an erasure); returns how many. */
	size_t	(*outbox_erase)(struct store_txn *, const uint8_t *youth);
	/* The last seq of recipient's outbox that consumer acked (0). */
	uint64_t (*cursor_get)(struct store_txn *, uint32_t consumer,
		    uint32_t recipient);
	void	(*cursor_put)(struct store_txn *, uint32_t consumer,
		    uint32_t recipient, uint64_t seq);

	/* Monitoring counts: read, and changed in the writing transaction. */
	uint64_t (*count_get)(struct store_txn *, enum store_count);
	void	(*count_add)(struct store_txn *, enum store_count,
		    int64_t delta);
	/*
	 * What the backend knows of its size without a walk: archived,
	 * audit_records, bytes_used, bytes_reserved, quota, and gauges in
	 * its own terms, of out.
	 */
	void	(*usage)(struct store_txn *, struct store_stats *out);

	/*
	 * A read transaction on reader: one consistent view for the
	 * operations above that only read, until read_end. NULL and *err
	 * if it cannot begin.
	 */
	struct store_txn *(*read_begin)(struct store_reader *, int *err);
	void	(*read_end)(struct store_reader *);

	/*
	 * The next id of a kind, unique across writers (a relational
	 * backend: a sequence; a gap after a rollback is harmless).
	 */
	uint64_t (*id_alloc)(struct store_txn *, enum store_id);

	/*
	 * The match of a youth: 1 and *m filled, or 0. The youth's row is
	 * where a relational backend takes its lock on the youth.
	 */
	int	(*match_get)(struct store_txn *, const uint8_t *youth,
		    struct store_match *m);
	/* Put it; created: new, so that its id finds it (match_youth). */
	void	(*match_put)(struct store_txn *, const uint8_t *youth,
		    const struct store_match *m, int created);
	void	(*match_delete)(struct store_txn *, const uint8_t *youth,
		    uint64_t id);

	/* Due items: put, delete, and the first max due by until in order. */
	void	(*due_put)(struct store_txn *, enum store_due, int64_t when,
		    uint64_t id);
	void	(*due_delete)(struct store_txn *, enum store_due,
		    int64_t when, uint64_t id);
	size_t	(*due_scan)(struct store_txn *, enum store_due,
		    int64_t until, struct store_due_item *out, size_t max);
	/*
	 * Archived signals archived before cutoff go, at most max;
	 * *more set if there may be others. Returns how many went.
	 */
	size_t	(*archive_purge)(struct store_txn *, int64_t cutoff, size_t max,
		    int *more);

	/*
	 * Signals, as store.proto records. get: the active signal of org on
	 * youth, decoded (the caller frees it), or NULL. put: created says
	 * it is new, so that its id and its org find it.
	 */
	Vix__Store__V1__Signal *(*signal_get)(struct store_txn *,
		    const uint8_t *youth, uint32_t org);
	void	(*signal_put)(struct store_txn *, const uint8_t *youth,
		    uint32_t org, const Vix__Store__V1__Signal *, int created);
	void	(*signal_delete)(struct store_txn *, const uint8_t *youth,
		    uint32_t org, uint64_t id);
	/*
	 * Load a youth: fn for every signal on it (with its org), until fn
	 * returns non-zero. With match_get, where a relational backend
	 * takes its lock on the youth.
	 */
	void	(*youth_signals)(struct store_txn *, const uint8_t *youth,
		    int (*fn)(void *, uint32_t org,
		    const Vix__Store__V1__Signal *), void *arg);
	/* Keep a withdrawn or expired signal (rec->org, rec->archived). */
	void	(*archive_put)(struct store_txn *, const uint8_t *youth,
		    const Vix__Store__V1__Archived *rec);
	/* Signals org registered on day: 1 and filled, or 0 (none kept). */
	int	(*new_signals_get)(struct store_txn *, uint32_t org,
		    uint64_t *day, uint64_t *count);
	void	(*new_signals_put)(struct store_txn *, uint32_t org,
		    uint64_t day, uint64_t count);
	/*
	 * fn for org's signals with an id after after, in id order, with
	 * their youth, until fn returns non-zero.
	 */
	void	(*org_signals)(struct store_txn *, uint32_t org, uint64_t after,
		    int (*fn)(void *, const uint8_t *youth,
		    const Vix__Store__V1__Signal *), void *arg);
	/* fn for every archived signal of youth (NULL: undecodable). */
	void	(*youth_archive)(struct store_txn *, const uint8_t *youth,
		    int (*fn)(void *, const Vix__Store__V1__Archived *),
		    void *arg);
	/* Every archived signal of youth goes; fn learns each signal id. */
	void	(*archive_erase)(struct store_txn *, const uint8_t *youth,
		    int (*fn)(void *, uint64_t signal_id), void *arg);
	/* fn for the seq of each audit record linked to youth, in order. */
	void	(*youth_audit)(struct store_txn *, const uint8_t *youth,
		    int (*fn)(void *, uint64_t seq), void *arg);
	/* The links of youth's audit records go; the records stay. */
	void	(*youth_audit_unlink)(struct store_txn *,
		    const uint8_t *youth);
	/* Audit record seq: 1 and rec filled, or 0. */
	int	(*audit_get)(struct store_txn *, uint64_t seq,
		    struct store_audit_record *rec);

	/*
	 * Moving a youth to a new pseudonym (store_youth_move). youth_held:
	 * whether any record is kept under p (1, or 0). youth_move: every
	 * record under from is under to, and so are the indexes that name
	 * the youth (the caller made sure that to holds nothing); returns
	 * how many records moved. to NULL: from holds no record, and what
	 * still names it (a lock row) goes.
	 */
	int	(*youth_held)(struct store_txn *, const uint8_t *p);
	size_t	(*youth_move)(struct store_txn *, const uint8_t *from,
		    const uint8_t *to);
	/*
	 * The backend's youth_tables tables keyed by youth, for the
	 * rotation's scan. youth_next: the distinct youths of table table
	 * above after (NULL: from the first), in byte order, at most max
	 * into out (*n), visiting at most max keys or rows (*visited).
	 * Returns 1 when the table has none after them, else 0.
	 */
	unsigned youth_tables;
	int	(*youth_next)(struct store_txn *, unsigned table,
		    const uint8_t *after, uint8_t (*out)[PSEUDONYM_LEN],
		    size_t max, size_t *n, size_t *visited);
	/*
	 * The family index: one entry (parent, youth, org) -> signal id for
	 * each active signal that named the parent (store.proto
	 * Signal.parents). put and delete one; scan: fn for every entry of
	 * parent in (youth, org) order until fn returns non-zero. A backend
	 * several vixd share locks the parent in scan as it locks a youth,
	 * so that two writers naming one parent serialize. The rotation's
	 * scan (youth_next) visits the parents too, as one of youth_tables;
	 * youth_move leaves the entries to the domain (store_youth_move).
	 */
	void	(*family_put)(struct store_txn *, const uint8_t *parent,
		    const uint8_t *youth, uint32_t org, uint64_t signal_id);
	void	(*family_delete)(struct store_txn *, const uint8_t *parent,
		    const uint8_t *youth, uint32_t org);
	void	(*family_scan)(struct store_txn *, const uint8_t *parent,
		    int (*fn)(void *, const uint8_t *youth, uint32_t org,
		    uint64_t signal_id), void *arg);
	/*
	 * The caller's text values in meta, under key (the domain's prefix
	 * and name). get: 1 and buf filled (NUL-ended), 0 if absent, -1 if
	 * it does not fit in len. put: value NULL deletes.
	 */
	int	(*meta_get)(struct store_txn *, const char *key, char *buf,
		    size_t len);
	void	(*meta_put)(struct store_txn *, const char *key,
		    const char *value);
	/*
	 * Optional, for a backend several vixd share (NULL: one writer): key
	 * is this transaction's until it ends, made if it is not there (with
	 * the value ""), so that a read, change and put of it by two writers
	 * at once cannot lose one of the changes.
	 */
	void	(*meta_lock)(struct store_txn *, const char *key);
};

extern const struct store_backend store_backend_lmdb;

/* The backend of a transaction or a reader. */
const struct store_backend *store_txn_backend(const struct store_txn *);
const struct store_backend *store_reader_backend(const struct store_reader *);

/* Fill the common part of a new transaction of s. */
void	store_txn_init(struct store_txn *, const struct store_backend *,
	    struct store_impl *s, int64_t escalate_after);
/* Remember that the current job wrote to recipient's outbox. */
void	store_txn_touch(struct store_txn *, uint32_t recipient);
/* A job begins: what it touches can be forgotten with store_txn_undo. */
void	store_txn_job_mark(struct store_txn *);
/* The job's writes are gone: so are the outboxes it touched. */
void	store_txn_job_undo(struct store_txn *);

/*
 * A match record from and to its stored form (store.proto), the same for
 * every backend that keeps it so.
 */
void	store_match_from_record(struct store_match *,
	    const Vix__Store__V1__Match *);
void	store_match_to_record(Vix__Store__V1__Match *,
	    const struct store_match *);

/* A party from org's signal record s. */
void	store_party_fill(struct store_party *, uint32_t org,
	    const Vix__Store__V1__Signal *s);

/* Seconds a match may stay uncoordinated (store_options). */
int64_t	store_escalate_after(const struct store_txn *);

/*
 * The time of the current job (0: unknown), by which signals past their
 * expiry no longer count as active.
 */
int64_t	store_txn_now(const struct store_txn *);
void	store_txn_set_now(struct store_txn *, int64_t now);

/* The transaction's sticky error (0: none yet), and setting it. */
int	store_txn_error(const struct store_txn *);
int	store_txn_fail(struct store_txn *, int err);

#endif
