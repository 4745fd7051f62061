/*
 * Inside the LMDB backend: the layout of the store (its databases, keys
 * and counters), the sticky-error wrapper and the transactions. Private
 * to store_lmdb.c; the domain sees only store_backend.h.
 */
#ifndef VIX_STORE_LMDB_H
#define VIX_STORE_LMDB_H

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>

#include "store.h"
#include "store_backend.h"
#include "store.pb-c.h"

/*
 * 2: outbox rows indexed by youth (youth_outbox, outbox_youth)
 * 3: audit records indexed by youth (youth_audit), for the subject report
 * 4: the count of uncoordinated matches kept in meta (COUNT_UNCOORDINATED)
 * 5: the counts of active signals and of matches kept in meta too
 * 6: denser (issue 16): org_signals (org -> signal id . pseudonym, sorted
 *    duplicates of one size) for by_org, signal_org (signal id -> org) for
 *    sigid; converted in batches at start (migrate_run); audit records
 *    written compact (audit_compact), those already there kept as they are
 * 7: not used
 * 8: contacts interned per organisation (issue 16): contacts (org . number
 *    -> references . Contact) and contact_index (org . hash -> numbers);
 *    a signal record names its contact by number (Signal.contact);
 *    converted in batches at start
 * 9: an audit record's chain hash kept only at checkpoints (every
 *    AUDIT_CHECKPOINT-th record of a chain), and the head of each chain
 *    (its last seq and hash) in meta (AUDIT_HEAD); converted in batches
 *    at start
 * 10: an audit record's link to its youth kept beside the youth's signals
 *    (signals: pseudonym . first seq -> the further seqs, LINK_KEY_LEN),
 *    not in youth_audit, so that a registration dirties one random page
 *    where it dirtied two; converted in batches at start, youth_audit
 *    left empty
 * 11: indexes by id and by time as sorted duplicates of one size (issue
 *    16): signal_owner (id >> OWNER_BITS -> the id's low bits . org) for
 *    signal_org, expiry_due and escalate_due (time -> id) for expiry and
 *    escalate; converted in batches at start, the old ones dropped
 * 12: a youth's match (signals: pseudonym, MATCH_KEY_LEN) and its outbox
 *    index entries (signals: pseudonym . recipient . seq, OUTBOX_KEY_LEN)
 *    kept beside its signals, not in matches and youth_outbox, so that a
 *    registration that matches dirties no further random page; converted
 *    in batches at start, matches and youth_outbox left empty
 * 13: a youth's audit links kept in one of its signal records
 *    (Signal.audit_links) where it has one, not in a record of their own
 *    (issue 16), which a signal's removal writes them back to; converted
 *    in batches at start
 */
#define STORE_SCHEMA	13
/* Rows a migration converts in one write transaction, unless told. */
#define MIGRATE_BATCH	65536
/* org_signals' value: signal id (8, big-endian) . pseudonym. */
#define ORG_SIGNAL_LEN	(8 + PSEUDONYM_LEN)
/*
 * Matches not marked coordinated, kept by every write that puts or deletes
 * a match (in its transaction), so that monitoring reads one value.
 */
#define COUNT_UNCOORDINATED	"count:uncoordinated"
/* Active signals and matches, kept the same way (a scan is not needed). */
#define COUNT_SIGNALS		"count:signals"
#define COUNT_MATCHES		"count:matches"
/* A copy being written, renamed to data.mdb once whole. */
#define STORE_PARTIAL	"data.mdb.partial"
/*
 * signals' keys: a signal (pseudonym . org), audit links (. first seq)
 * that no signal record keeps.
 */
#define SIGNAL_KEY_LEN	(PSEUDONYM_LEN + 4)
#define LINK_KEY_LEN	(PSEUDONYM_LEN + 8)
/* Beside them from schema 12: the youth's match, its outbox index. */
#define MATCH_KEY_LEN	PSEUDONYM_LEN
#define OUTBOX_KEY_LEN	(PSEUDONYM_LEN + 12)
/* The seqs an audit link record holds, at most. */
#define LINK_CHUNK	32
/* The longest key: the family index's, parent . youth . org. */
#define KEY_MAX		(2 * 32 + 4)
#define HASH_LEN	32
/* An audit record's protobuf bytes, at most (audit.c packs into 1 KiB). */
#define AUDIT_MAX	(1024 - HASH_LEN)
/* The places of a chain whose records keep their hash (schema 9). */
#define AUDIT_CHECKPOINT	1024
/* meta: AUDIT_HEAD . chain (4) -> the chain's last seq (8) . its hash. */
#define AUDIT_HEAD	"ahead:"
#define STORE_BACKEND_LMDB	"lmdb"
/* A failed write with less room than this left: the disk is full. */
#define DISK_LOW	(1UL << 20)

struct store_impl {
	MDB_env		*env;
	MDB_dbi		 signals, org_signals, signal_owner, expiry_due,
			 matches, archive, audit, meta, outbox, cursors,
			 match_ids, escalate_due, archive_time, youth_outbox,
			 outbox_youth, youth_audit, family, contacts,
			 contact_index;
	/* Schema 5's by_org and sigid until migrated (0: not there). */
	MDB_dbi		 v5_by_org, v5_sigid;
	/* Schema 10's signal_org, expiry and escalate, likewise. */
	MDB_dbi		 v10_signal_org, v10_expiry, v10_escalate;
	size_t		 migrate_batch;
	unsigned	 migrate_stop;	/* tests: batches before giving up */
	size_t		 map_size;
	unsigned	 quota_percent;
	int64_t		 escalate_after;
	char		 dir[PATH_MAX];
	int		 lock_fd;	/* vixd.lock, held while open */
};

/* An LMDB write transaction: the common part first (store_backend.h). */
struct lmdb_txn {
	struct store_txn	 base;
	MDB_txn			*root;		/* the batch */
	MDB_txn			*txn;		/* root, or the job's child */
	size_t			 quota_base;	/* map pages in use; 0: not yet */
	size_t			 quota_live;	/* live pages at that moment */
};

/* The LMDB transaction of a store_txn this backend began. */
#define LT(t)	((struct lmdb_txn *)(t))

struct lmdb_reader {
	struct store_reader	 base;
	MDB_txn			*txn;
	struct lmdb_txn		 rt;	/* txn, for the backend's operations */
};

#define LR(r)	((struct lmdb_reader *)(r))

struct key {
	uint8_t	b[KEY_MAX];
	size_t	n;
};

/* ---- keys ------------------------------------------------------------ */

static inline struct key *
key_start(struct key *k)
{
	k->n = 0;
	return k;
}

static inline struct key *
key_bytes(struct key *k, const void *p, size_t n)
{
	memcpy(k->b + k->n, p, n);
	k->n += n;
	return k;
}

static inline struct key *
key_u32(struct key *k, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
		k->b[k->n++] = (uint8_t)(v >> (8 * i));
	return k;
}

static inline struct key *
key_u64(struct key *k, uint64_t v)
{
	for (int i = 7; i >= 0; i--)
		k->b[k->n++] = (uint8_t)(v >> (8 * i));
	return k;
}

static inline uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static inline MDB_val
key_val(struct key *k)
{
	return (MDB_val){ .mv_size = k->n, .mv_data = k->b };
}

/* Iterate the entries of db whose key starts with prefix. */
#define PREFIX_FOREACH(cur, prefix, k, v, rc)				\
	for ((k) = key_val(prefix),					\
	    (rc) = mdb_cursor_get((cur), &(k), &(v), MDB_SET_RANGE);	\
	    (rc) == 0 && (k).mv_size >= (prefix)->n &&			\
	    memcmp((k).mv_data, (prefix)->b, (prefix)->n) == 0;		\
	    (rc) = mdb_cursor_get((cur), &(k), &(v), MDB_NEXT))


/* In store_lmdb.c. */
int	mdb_to_err(int rc, const char *what);
void	st_fail(struct store_txn *t, int rc, const char *what);
int	st_get(struct store_txn *t, MDB_dbi db, struct key *k, MDB_val *v);
void	st_put(struct store_txn *t, MDB_dbi db, struct key *k, const void *p,
    size_t n);
void	st_put_msg(struct store_txn *t, MDB_dbi db, struct key *k, const
    ProtobufCMessage *m);
void	st_del(struct store_txn *t, MDB_dbi db, struct key *k);
MDB_cursor *	st_cursor(struct store_txn *t, MDB_dbi db);
uint64_t	count_get(struct store_txn *t, const char *name);
void	count_add(struct store_txn *t, const char *name, int64_t delta);
int	reader_begin(struct store_reader *r);
void	reader_end(struct store_reader *r);
uint64_t	last_seq(struct store_txn *t, uint32_t recipient);
struct key	*youth_keys(struct store_txn *t, MDB_dbi db, const uint8_t *p,
    size_t *n);
int	audit_value_decode(struct store_txn *t, uint64_t seq, const MDB_val *v,
    struct store_audit_record *rec);

/*
 * In store_contacts.c: the contacts of each organisation, kept once and
 * counted. contact_refer moves a signal's reference from contact old (0:
 * none) to the one holding name, phone and email, found or made, and
 * returns its number (0: all three empty, which needs no entry).
 */
uint64_t	contact_refer(struct store_txn *t, uint32_t org, uint64_t old,
    const char *name, const char *phone, const char *email);
/* One reference to contact number of org less; at none it is deleted. */
void	contact_release(struct store_txn *t, uint32_t org, uint64_t number);
/*
 * The contact of org's signal rec put back into its three fields
 * (rec->contact becomes 0); 0, or -1 if it is missing or damaged.
 */
int	contact_expand(MDB_txn *txn, MDB_dbi contacts, uint32_t org,
    Vix__Store__V1__Signal *rec);

#endif
