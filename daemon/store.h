/*
 * The store, in the words of the domain. Handlers and the writer use only
 * these operations, never the database underneath, so that another backend
 * is an added file. Every operation that changes state also appends its
 * audit record in the same transaction. Errors are enum vix_err values.
 */
#ifndef VIX_STORE_H
#define VIX_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "match.h"
#include "orgs.h"

#define PSEUDONYM_LEN	32

struct store;
struct store_txn;
struct store_reader;

/* Reminder points a match may have before its escalation, at most. */
#define STORE_REMIND_MAX	8

/*
 * Following a match up until it is coordinated: reminders to its
 * coordinator before escalation, and escalation repeated while it stays
 * uncoordinated. Zeroed: neither (escalation once, as before).
 */
struct store_followup {
	/* Seconds after the match was made, ascending, each below
	   escalate_after. */
	int64_t		 remind_after[STORE_REMIND_MAX];
	size_t		 nremind;
	int64_t		 reescalate_after; /* seconds after an escalation */
	unsigned	 reescalate_max;   /* escalations after the first */
};

struct store_options {
	const char	*dir;
	size_t		 map_size;	/* bytes reserved for the database */
	unsigned	 quota_percent;	/* writes refused above this use */
	int64_t		 escalate_after; /* seconds a match may stay uncoordinated */
	struct store_followup followup;	/* reminders, escalating again */
	/*
	 * The storage backend by name: NULL or "lmdb", or "postgresql" when
	 * this vixd was built with it; store_open refuses any other, naming
	 * it.
	 */
	const char	*backend;
	/*
	 * postgresql: the libpq connection string (several hosts with
	 * target_session_attrs=read-write follow the primary), and the file
	 * holding the password (mode 0600 or stricter), NULL: none.
	 */
	const char	*conninfo;
	const char	*password_file;
	/*
	 * lmdb, for tests: rows a schema migration converts per transaction
	 * (0: MIGRATE_BATCH), and the batches after which the open gives up
	 * as a kill would (0: never).
	 */
	size_t		 migrate_batch;
	unsigned	 migrate_stop;
};

/*
 * Open (or create) the store in o->dir; one process at a time (an
 * exclusive lock on vixd.lock in it). Returns NULL after adding the
 * problem to d.
 */
struct store	*store_open(const struct store_options *, struct diag *d);
void		 store_close(struct store *);

/*
 * The store remembers the identifier of the pseudonym key it was written
 * with (meta "key_id"). A store without one (new, or from a vixd before
 * this check) gets key_id recorded; one with another is refused: with
 * another key no youth in it would be found. key_file is for the message.
 * Returns 0, or -1 after adding the problem to d.
 */
int		 store_check_key(struct store *, const char *key_id,
		    const char *key_file, struct diag *d);

/*
 * Give every organisation of the registry its permanent store id (org->sid),
 * allocating ids for new OINs. Call before the registry is published.
 */
int		 store_bind_orgs(struct store *, struct orgs *, struct diag *d);

/*
 * Another vixd may write to the same store (a shared database): call
 * published(arg, recipients, n, all) on a thread of the store's whenever
 * its commits grew outboxes, as the writer does for this vixd's own. 0 (also
 * when the backend has no other writers), or -1 after adding to d.
 * store_unwatch stops it; call it before what published touches goes.
 */
int		 store_watch(struct store *, void (*published)(void *arg,
		    const uint32_t *recipients, size_t n, int all), void *arg,
		    struct diag *d);
void		 store_unwatch(struct store *);

/* Whether the store could be written at the last attempt (1: yes). */
int		 store_reachable(struct store *);
/* Whether the backend can become unreachable (a database server). */
int		 store_may_be_unreachable(struct store *);
/* The backend's name, for logs and status ("lmdb", "postgresql"). */
const char	*store_backend_name(const struct store *);

/*
 * What store_import copied, and what the two stores hold after it: active
 * signals, open matches, archived signals, outbox rows, cursors, audit
 * records (those verified, and the chains they make).
 */
struct store_import_counts {
	size_t		 orgs, signals, matches, archived, due, outbox,
			 cursors, audit, links, family;
	size_t		 src_signals, src_matches, src_archived;
	size_t		 dst_signals, dst_matches, dst_archived;
	uint64_t	 src_audit_good, dst_audit_good, dst_chains;
};

/*
 * Copy every record of the store src (another backend's: closed by every
 * vixd, it is opened here) into dst, which must be empty: signals,
 * matches, archive, due items, outbox rows and their seqs, cursors, daily
 * counts, audit records with their hashes and links, organisation ids and
 * allocators, the caller's meta values (store_meta_put). Then compare the counts and verify both audit trails, and
 * record the import (actor) in dst's. 0, or -1 after adding to d.
 */
int		 store_import(struct store *dst, const struct store_options *src,
		    const char *actor, struct store_import_counts *,
		    struct diag *d);

/* One write transaction: begun and committed by the writer only. */
struct store_txn *store_write_begin(struct store *, int *err);
/* Commit; on failure everything in it is gone and the error says why. */
int		 store_write_commit(struct store_txn *);
void		 store_write_abort(struct store_txn *);

/*
 * A savepoint around one request inside the batch: store_job_end(t, 0)
 * keeps its changes, a non-zero error undoes them and leaves the batch
 * usable for the others. Returns the job's outcome: err, or why keeping
 * its changes failed (then they are undone too).
 */
int		 store_job_begin(struct store_txn *);
int		 store_job_end(struct store_txn *, int err);

/*
 * The professional the current job is done for (a request's actor,
 * checked by rules_check_actor; NULL or "": none), named in every audit
 * record the job appends. store_job_begin forgets it.
 */
void		 store_job_professional(struct store_txn *,
		    const char *professional);

/*
 * Append an audit record (who, when, what, outcome) to the hash chain in
 * the current job. Used by the writer for requests that were refused.
 */
int		 store_audit(struct store_txn *, int64_t now, const char *actor,
		    const char *action, uint64_t signal_id, uint64_t match_id,
		    const char *outcome);

/*
 * store_audit for a record concerning a youth: youth (NULL: the one of the
 * active signal signal_id, else of the open match match_id), so that the
 * youth's subject report shows it. Linked only to a youth the store
 * already links records to: a lookup of a youth nobody registered does
 * not put its pseudonym in the store.
 */
int		 store_audit_youth(struct store_txn *, const uint8_t *youth,
		    int64_t now, const char *actor, const char *action,
		    uint64_t signal_id, uint64_t match_id, const char *outcome);

struct store_contact {
	char	name[129];
	char	phone[33];
	char	email[255];
};

/* Another organisation with an active signal on the same youth. */
struct store_party {
	uint32_t		org;
	uint64_t		signal_id;
	int64_t			since;
	struct store_contact	contact;
	char			client_ref[65];
	char			municipality[5];
	int64_t			expires;
};

struct store_match {
	uint64_t	id;
	int64_t		created;
	uint32_t	coordinator;	/* store id */
	int		coordinated;
	int		escalated;	/* times: 0 never, 1 once, 2.. again */
	int		claimed;	/* coordinator by claim, not by rank */
	unsigned	reminded;	/* reminder points passed */
};

/* The match on a youth as one organisation sees it. */
struct store_view {
	int			 has_match;
	struct store_match	 match;
	struct store_party	*others;	/* malloc'd; store_view_free */
	size_t			 n_others;
};

void		 store_view_free(struct store_view *);

/* Parents or guardians a registration may name, at most. */
#define STORE_PARENTS_MAX	4

struct store_register_in {
	uint8_t			 pseudonym[PSEUDONYM_LEN];
	const struct org	*org;
	const struct orgs	*orgs;		/* ranks, for the coordinator */
	int64_t			 now;
	int64_t			 expires;
	int			 bound;		/* enum expiry_bound */
	struct store_contact	 contact;
	char			 client_ref[65];
	char			 municipality[5];
	unsigned		 max_new_per_day; /* new signals of org per
						    UTC day; 0: no cap */
	uint32_t		 policy;	/* policy_id in force; 0: none */
	/*
	 * The youth's parents as named (pseudonyms, distinct, none the
	 * youth's): they replace the signal's; none on a refresh keeps the
	 * ones it had. family: look for the family match ([rules]
	 * family_match); off, no parents may be named.
	 */
	uint8_t			 parents[STORE_PARENTS_MAX][PSEUDONYM_LEN];
	size_t			 nparents;
	int			 family;
};

struct store_register_out {
	uint64_t		signal_id;
	int			refreshed;
	enum match_change	change;
	struct store_view	view;
	unsigned		family;		/* organisations told of a
						   family match (both ways) */
};

/*
 * A new signal (not a refresh) counts against in->max_new_per_day for the
 * UTC day of in->now; the count is kept in the store, so a restart does
 * not reset it. LIMIT when the day's are used up.
 */
int	store_register(struct store_txn *, const struct store_register_in *,
	    struct store_register_out *);

/* Why an organisation withdraws its signal. */
enum store_withdraw_reason {
	STORE_WITHDRAW_UNJUSTIFIED = 1,	/* it was wrong: deleted */
	STORE_WITHDRAW_RISK_RESOLVED,	/* archived */
};

/* Why a signal was archived; kept with it, so the values never change. */
enum store_archive_reason {
	STORE_ARCHIVE_RISK_RESOLVED = 2,
	STORE_ARCHIVE_EXPIRED = 3,	/* its duration ran out */
	STORE_ARCHIVE_AGE_LIMIT = 4,	/* at the age limit (at_age_limit) */
};

enum store_coordinate_action {
	STORE_COORDINATE_CLAIM = 1,	/* the caller coordinates */
	STORE_COORDINATE_RELEASE,	/* the caller stops; handed over by rank */
	STORE_COORDINATE_DONE,		/* the involved have agreed */
};

struct store_withdraw_in {
	const struct org	*org;
	const struct orgs	*orgs;
	int64_t			 now;
	uint64_t		 signal_id;	/* 0: by pseudonym */
	uint8_t			 pseudonym[PSEUDONYM_LEN];
	enum store_withdraw_reason reason;
};

struct store_withdraw_out {
	uint64_t		signal_id;
	int64_t			created;	/* when the signal was first
						   registered */
	int			archived;
	uint64_t		match_id;
	enum match_change	change;		/* NONE, LEFT or CLOSED */
};

int	store_withdraw(struct store_txn *, const struct store_withdraw_in *,
	    struct store_withdraw_out *);

/* Who else is involved; PERMISSION unless org has an active signal. */
int	store_involved(struct store_txn *, const uint8_t *pseudonym,
	    const struct org *org, int64_t now, uint64_t *signal_id,
	    struct store_view *out);

struct store_relocate_in {
	uint8_t			 pseudonym[PSEUDONYM_LEN];
	const struct org	*org;		/* asked by; NULL: an administrator */
	int			 admin;		/* org asks by its role admin */
	const struct orgs	*orgs;
	int64_t			 now;
	char			 municipality[5];	/* the new one */
	const char		*actor;		/* audit actor when org is NULL */
};

struct store_relocate_out {
	int		involved;	/* the asker has a signal on the youth (or
					   is an administrator): may see the rest */
	int		moved;		/* 0: it was that municipality already */
	unsigned	signals;	/* active signals on the youth, all
					   in that municipality now */
	uint64_t	match_id;	/* the youth's open match, 0: none */
};

/*
 * The youth moved to in->municipality: every active signal on it takes
 * it, so that its match escalates there; the new municipality's
 * escalation organisation is told RELOCATED (with every party), the old
 * one's RELOCATED_AWAY, when the youth has an open match. An organisation
 * without the role admin must have an active signal on the youth
 * (PERMISSION otherwise); with it, a youth nobody has a signal on is no
 * error (it learns nothing). An administrator (org NULL) gets NOT_FOUND
 * then. Audited.
 */
int	store_relocate(struct store_txn *, const struct store_relocate_in *,
	    struct store_relocate_out *);

struct store_summary {
	uint64_t	signal_id;
	char		client_ref[65];
	int64_t		created;
	int64_t		expires;
	uint64_t	match_id;
	int		bound;
};

/* A read handle for one thread, renewed per request. */
struct store_reader *store_reader_new(struct store *);
void		 store_reader_free(struct store_reader *);

/*
 * Up to max of org's active signals with an id above after, in id order.
 * *next is the id to continue after, 0 when there are no more.
 */
int	store_list(struct store_reader *, uint32_t org, uint64_t after,
	    struct store_summary *out, size_t max, size_t *n, uint64_t *next);

/* One match of an organisation's worklist, with its own signal on the youth. */
struct store_work {
	uint64_t		signal_id;
	char			client_ref[65];
	struct store_view	view;		/* has_match; store_view_free */
};

/* Which of its matches an organisation asks for (store_worklist). */
enum store_work_filter {
	STORE_WORK_UNCOORDINATED = 1 << 0,	/* not marked coordinated */
	STORE_WORK_ESCALATED = 1 << 1,		/* escalated at least once */
};

/*
 * The matches org is party to (an active signal of its own on the youth
 * at now), through its signals with an id above after in id order: up to
 * max of them that pass filter (enum store_work_filter bits), each with
 * the others involved, visiting at most visit of org's signals. *next is
 * the signal id to continue after, 0 when there are no more. Free the
 * items with store_work_free.
 */
int	store_worklist(struct store_reader *, uint32_t org, int64_t now,
	    uint64_t after, unsigned filter, size_t visit,
	    struct store_work *out, size_t max, size_t *n, uint64_t *next);
void	store_work_free(struct store_work *, size_t n);

/*
 * Whether the store, as the transaction sees it, is above its quota; why
 * says so for the client.
 */
int	store_over_quota(struct store_txn *, char *why, size_t len);

struct store_audit_record {
	uint64_t	seq;
	int64_t		time;
	char		actor[32];
	char		action[32];
	uint64_t	signal_id;
	uint64_t	match_id;
	char		outcome[32];
	char		professional[65];	/* "" if none */
};

/*
 * An audit record's seq is its chain in the high bits and its place in
 * the chain (from 1) in the low STORE_AUDIT_CHAIN_SHIFT: a backend with
 * one writer has one chain, 0; one with several writers gives each its
 * own chain, so that no lock is held across every commit. Each chain is
 * verified on its own, from a zero hash.
 */
#define STORE_AUDIT_CHAIN_SHIFT	40
#define STORE_AUDIT_CHAIN(seq)	((seq) >> STORE_AUDIT_CHAIN_SHIFT)
#define STORE_AUDIT_PLACE(seq)	((seq) & ((UINT64_C(1) << \
				    STORE_AUDIT_CHAIN_SHIFT) - 1))

/*
 * What store_audit_check found. A backend may keep a record's hash only
 * at some records (LMDB: every 1024th of a chain and its last); the
 * chain is recomputed over every record and compared wherever a hash is
 * kept, so a change shows at the next kept hash: bad is the first record
 * not confirmed by one, found where the chain was found broken (bad
 * itself when every record keeps its hash). 0 and 0: intact.
 */
struct store_audit_result {
	uint64_t	count;		/* records confirmed, before bad */
	uint64_t	chains;		/* chains they make */
	uint64_t	bad;
	uint64_t	found;
};

/*
 * Recompute the audit hash chains (one per writer that ever wrote: one
 * for LMDB). 0 and *res filled, or an error if they cannot be read.
 * STORE_AUDIT_CHAIN and _PLACE tell which chain a bad record is in.
 */
int	store_audit_check(struct store_reader *, struct store_audit_result *);

/*
 * store_audit_check's count, chains (unless NULL) and bad: the records
 * that verify, and the sequence number of the first that does not (0:
 * none).
 */
int	store_audit_verify(struct store_reader *, uint64_t *count,
	    uint64_t *chains, uint64_t *bad);

/* Call fn for every audit record in order; a non-zero return stops. */
int	store_audit_foreach(struct store_reader *,
	    int (*fn)(void *arg, const struct store_audit_record *), void *arg);

struct store_coordinate_in {
	const struct org	*org;
	const struct orgs	*orgs;
	int64_t			 now;
	uint64_t		 match_id;
	enum store_coordinate_action action;
};

/*
 * Claim, release or mark a match coordinated; only an involved
 * organisation. Every change tells all involved COORDINATOR_ASSIGNED.
 * out is the match as the caller sees it.
 */
int	store_coordinate(struct store_txn *, const struct store_coordinate_in *,
	    struct store_view *out);

/*
 * Cumulative ack of consumer for recipient's outbox up to seq (at most the
 * last seq written). *acked is the cursor after it.
 */
int	store_ack(struct store_txn *, uint32_t consumer, uint32_t recipient,
	    uint64_t seq, uint64_t *acked);

/*
 * The consumer whose cursor is an organisation's webhook: (0, its store
 * id). Store ids of organisations start at 1.
 */
#define STORE_WEBHOOK_CONSUMER	0

/*
 * Set consumer's cursor on recipient to seq, back or forward (a replay):
 * INVALID beyond the last seq written. *first is the first row still
 * kept after seq (0: none).
 */
int	store_cursor_set(struct store_txn *, uint32_t consumer,
	    uint32_t recipient, uint64_t seq, uint64_t *first);

/* The outboxes this batch wrote to (at most max; *all if more). */
size_t	store_touched(struct store_txn *, uint32_t *out, size_t max, int *all);

/* consumer's cursor on recipient, and the newest seq in the outbox. */
int	store_position(struct store_reader *, uint32_t consumer,
	    uint32_t recipient, uint64_t *acked, uint64_t *last);

/*
 * Up to max encoded vix.v1.Notification rows of recipient with seq above
 * after, in order; fn returning non-zero stops early.
 */
int	store_outbox_read(struct store_reader *, uint32_t recipient,
	    uint64_t after, size_t max,
	    int (*fn)(void *arg, uint64_t seq, const void *msg, size_t len),
	    void *arg);

struct store_sweep_in {
	const struct orgs	*orgs;
	int64_t			 now;
	size_t			 max;		/* rows per kind, at most */
	int64_t			 archive_secs;	/* keep archived signals this long */
	int64_t			 outbox_retention; /* drop undelivered rows after */
	/*
	 * enum policy_disposal of a signal whose duration ran out, and of
	 * one at the age limit; 0 is the law's: archived, deleted.
	 */
	int			 at_expiry;
	int			 at_age_limit;
};

struct store_sweep_out {
	size_t	expired;		/* signals archived or deleted */
	size_t	escalated;		/* matches escalated (not entries of
					   matches closed or coordinated) */
	size_t	reminded;		/* REMINDERs sent (one per match) */
	size_t	reescalated;		/* matches escalated again */
	size_t	purged;			/* archived signals past archive_secs */
	size_t	pruned;			/* outbox rows every consumer acked */
	size_t	pruned_unacked;		/* outbox rows past the retention */
	int	more;			/* a limit was hit: sweep again soon */
};

/*
 * Time-driven work in one bounded pass: expire signals (as at_expiry and
 * at_age_limit say: by law archived when the duration ran out, deleted at
 * the age limit; SIGNAL_EXPIRED to the owner, MATCH_LEFT / MATCH_CLOSED to
 * the others), follow up matches not coordinated (a REMINDER to the
 * coordinator at each reminder point, escalation when escalate_after ran
 * out, and again every reescalate_after at most reescalate_max times:
 * store_followup), purge the archive, prune the outboxes.
 */
int	store_sweep(struct store_txn *, const struct store_sweep_in *,
	    struct store_sweep_out *);

struct store_pending {
	const struct org	*org;		/* recipient */
	uint64_t		 pending;	/* rows not acked by every consumer */
	int64_t			 oldest_age;	/* seconds, of the oldest of them */
};

/*
 * A gauge the backend names itself (the LMDB map's bytes, say), rendered
 * by /metrics as it comes: what a backend's room is differs by backend.
 */
struct store_gauge {
	const char	*name;		/* a Prometheus metric name */
	const char	*help;
	uint64_t	 value;
};

#define STORE_GAUGES_MAX	4

struct store_stats {
	size_t			 signals;	/* active */
	size_t			 matches;
	size_t			 matches_uncoordinated;
	size_t			 archived;
	size_t			 audit_records;
	size_t			 bytes_used;	/* of the room reserved */
	size_t			 bytes_reserved;
	size_t			 quota;		/* bytes allowed for new signals */
	struct store_pending	*pending;	/* per organisation; malloc'd */
	size_t			 npending;
	/* The same room in the backend's own terms, for /metrics. */
	struct store_gauge	 gauges[STORE_GAUGES_MAX];
	size_t			 ngauges;
};

/*
 * A snapshot for monitoring (one read transaction): counts kept by the
 * writes that change them and, per organisation, its outbox position; its
 * cost does not grow with the store. Free with store_stats_free.
 */
int	store_stats(struct store_reader *, const struct orgs *, int64_t now,
	    struct store_stats *);
void	store_stats_free(struct store_stats *);

/* Testing and inspection: counts of active signals, matches, archive rows. */
int	store_counts(struct store_reader *, size_t *signals, size_t *matches,
	    size_t *archived);

/*
 * A hot copy of the store into path: a new directory (made 0700), or an
 * existing empty one that only its owner may enter. Writers go on
 * meanwhile; the copy is one consistent snapshot, written record by record
 * (so it holds no free or stale bytes) to data.mdb.partial, mode 0600,
 * synced, and renamed to data.mdb only when whole. Returns 0, or -1 after
 * adding the problem to d.
 */
int	store_backup(struct store *, const char *path, struct diag *d);

/*
 * Rewrite the store in o->dir record by record (as store_backup does) and
 * put the new file in place of data.mdb, so that no free page or unused
 * part of a page holds what was deleted or erased. Only while no vixd has
 * the store open (refused otherwise). *before and *after: data.mdb's size.
 * Returns 0, or -1 after adding the problem to d (data.mdb unchanged).
 */
int	store_compact(const struct store_options *o, struct diag *d,
	    size_t *before, size_t *after);

/* One signal on a youth, active or archived, for a subject report. */
struct store_subject_signal {
	uint32_t		org;		/* store id */
	uint64_t		signal_id;
	int64_t			created;
	int64_t			updated;
	int64_t			expires;
	int			bound;		/* enum expiry_bound */
	struct store_contact	contact;
	char			client_ref[65];
	char			municipality[5];
	int64_t			archived;	/* when; 0: active */
	enum store_archive_reason reason;	/* why archived */
	uint32_t		policy;		/* policy_id at registration or
						   last refresh; 0: not recorded */
	unsigned		parents;	/* parents it names (family
						   match); 0 once archived */
};

/* A match of the youth that was closed, as its audit records show it. */
struct store_closed_match {
	uint64_t	id;
	int64_t		first;	/* time of the first record naming it */
	int64_t		last;	/* of the last: the one that closed it */
};

struct store_subject {
	struct store_subject_signal	*signals;	/* active first; malloc'd */
	size_t				 nsignals;
	int				 has_match;
	struct store_match		 match;
	struct store_closed_match	*closed;	/* malloc'd */
	size_t				 nclosed;
	struct store_audit_record	*audit;		/* malloc'd */
	size_t				 naudit;
	size_t				 parent_links;	/* active signals naming
							   the person as a parent */
};

/*
 * Everything the store holds on the youth with this pseudonym (GDPR art.
 * 15): active and archived signals, the open match, the closed ones, and
 * every audit record linked to the youth (youth_audit: registrations,
 * withdrawals, lookups, refusals, coordination, expiry, escalation, subject
 * reports), also after its signals were deleted. Free with
 * store_subject_free.
 */
int	store_subject_report(struct store_reader *, const uint8_t *pseudonym,
	    struct store_subject *out);
void	store_subject_free(struct store_subject *);

struct store_erase_in {
	uint8_t			 pseudonym[PSEUDONYM_LEN];
	const struct orgs	*orgs;
	int64_t			 now;
	const char		*action;	/* audit action: "erase:death" ... */
	const char		*actor;		/* audit actor: "admin:uid=N" */
};

struct store_erase_out {
	size_t		 removed;	/* active signals */
	size_t		 withdrawn;	/* outbox rows about the youth deleted */
	size_t		 archived;	/* archived signals deleted */
	uint32_t	*orgs;		/* owners of the removed signals; malloc'd */
	size_t		 norgs;
	size_t		 parent_links;	/* signals that named the person as a
					   parent, no longer naming them */
};

/*
 * Erase a youth (death, GDPR art. 17): every outbox row about it goes from
 * every organisation's outbox (delivered or not), every active signal and
 * the match are deleted, each owner hears SIGNAL_REMOVED (signal and match
 * id only), and every archived signal is deleted. One audit record (by
 * in->actor) per signal; the audit chain itself is kept, but no record is
 * linked to the youth any more (its subject report is then empty). The
 * pseudonym is a person's, who may also be a parent named by others'
 * signals (the family match): those signals name them no longer. Freed
 * pages still hold the bytes until the store is rewritten (vixd
 * --compact).
 */
int	store_erase(struct store_txn *, const struct store_erase_in *,
	    struct store_erase_out *);

/* ---- moving youths to new pseudonyms (a key rotation) ------------------ */

/*
 * Move every record of youth `from` to the pseudonym `to`, in the current
 * job: its signals, match, archived signals, audit links and the outbox
 * rows about it, with their ids, seqs and the audit records unchanged, so
 * that afterwards `to` finds exactly what `from` found and `from` nothing.
 * No audit record is written (the caller records the rotation once).
 * PRECONDITION if the store holds anything under `to` (nothing moved),
 * INVALID if from equals to. *moved (unless NULL): how many records moved;
 * 0 when from holds nothing (not an error, whatever to holds: the youth
 * was moved before).
 */
int	store_youth_move(struct store_txn *, const uint8_t *from,
	    const uint8_t *to, size_t *moved);

/*
 * Whether the store holds any record under pseudonym p (a signal, an
 * archived signal, a match, an audit link, an outbox row about it): 1,
 * 0 if none, or a negative error. In a write transaction a backend with
 * several writers locks the youth for the rest of the batch, so that the
 * answer holds until commit.
 */
int	store_youth_known(struct store_txn *, const uint8_t *p);
int	store_reader_youth_known(struct store_reader *, const uint8_t *p);

/*
 * Where store_youth_scan goes on: bytes only (no pointers, no padding, no
 * byte order), so that the caller can keep it between batches, in store
 * meta say (store_youth_cursor_text and _parse). Zeroed: from the start.
 */
struct store_youth_cursor {
	uint8_t	table;			/* the backend's tables, in order */
	uint8_t	started;		/* last is set */
	uint8_t	done;			/* every youth was visited */
	uint8_t	last[PSEUDONYM_LEN];	/* the last youth visited in table */
};

/* Visited per store_youth_scan call, at most, per youth it may return. */
#define STORE_YOUTH_SCAN_VISITS	16

/*
 * Up to max distinct pseudonyms p with (p[0] & 1) == parity that the store
 * holds records under, from where *cur stopped, into out (*n of them);
 * visits at most STORE_YOUTH_SCAN_VISITS * max keys or rows, so that a
 * write batch stays short, and sets cur->done once every youth was
 * visited. A youth is visited once per table it has records in: moving it
 * the second time finds nothing. Youths moved meanwhile to the other
 * parity are not returned. A backend may return pseudonyms it keeps
 * without records (PostgreSQL's lock rows): their move deletes them.
 */
int	store_youth_scan(struct store_txn *, struct store_youth_cursor *cur,
	    int parity, uint8_t (*out)[PSEUDONYM_LEN], size_t max, size_t *n);

/* The cursor as text for store_meta_put (len >= STORE_YOUTH_CURSOR_TEXT). */
#define STORE_YOUTH_CURSOR_TEXT	(2 * sizeof(struct store_youth_cursor) + 1)
void	store_youth_cursor_text(const struct store_youth_cursor *, char *buf,
	    size_t len);
/* Back from that text: 0, or INVALID (*cur unchanged) if it is not one. */
int	store_youth_cursor_parse(const char *text, struct store_youth_cursor *);

/* ---- the caller's own small values, kept with the data ------------------ */

#define STORE_META_NAME_MAX	48	/* characters of a name */
#define STORE_META_VALUE_MAX	1023	/* of a value */

/*
 * A small text value (printable ASCII, at most STORE_META_VALUE_MAX) under
 * name (letters, digits, '.', '-', '_', ':'; at most STORE_META_NAME_MAX),
 * in the store's meta, apart from the backend's own keys. get: 0 and buf
 * filled, NOT_FOUND, INVALID (a bad name, or buf too small), or an error.
 * put: 0 or an error; value NULL deletes it (absent: 0 too).
 */
int	store_meta_get(struct store_txn *, const char *name, char *buf,
	    size_t len);
int	store_reader_meta_get(struct store_reader *, const char *name,
	    char *buf, size_t len);
int	store_meta_put(struct store_txn *, const char *name, const char *value);
/*
 * The value under name is this transaction's to read, change and put until
 * it ends, whatever other writers share the store (with several writers
 * the lock makes an absent value "", which reads as empty); 0 or an error.
 */
int	store_meta_lock(struct store_txn *, const char *name);

#endif
