/*
 * The LMDB backend (DESIGN.md section 8): the environment and its
 * databases, the sticky-error wrapper, transactions and savepoints, the
 * allocation of ids and sequence numbers, counters, schema checks and
 * migrations, quota, backup and compaction. Big-endian composite keys so
 * that prefix scans follow the key order; records are protobuf
 * (store.proto). Every write goes through a sticky-error transaction: each
 * step returns at once once an earlier one failed, and the caller checks
 * once at the end.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "errors.h"
#include "log.h"
#include "audit.h"
#include "rotate.h"
#include "store.h"
#include "store_backend.h"
#include "store_lmdb.h"
#include "store.pb-c.h"
#include "vix.pb-c.h"

/* The store's life and transactions, in the backend table below. */
static struct store_impl *lmdb_open(const struct store_options *,
		    struct diag *);
static void	 lmdb_close(struct store_impl *);
static int	 lmdb_backup(struct store_impl *, const char *,
		    struct diag *);
static int	 lmdb_compact(const struct store_options *, struct diag *,
		    size_t *, size_t *);

/* ---- the sticky-error wrapper ---------------------------------------- */

int
mdb_to_err(int rc, const char *what)
{
	if (rc == MDB_MAP_FULL) {
		log_warnx("store: %s: database map is full; raise map_size",
		    what);
		return VIX_E_FULL;
	}
	if (rc == ENOSPC || rc == EDQUOT) {
		log_warnx("store: %s: %s; free space on the disk that holds "
		    "the store", what, mdb_strerror(rc));
		return VIX_E_FULL;
	}
	log_warnx("store: %s: %s", what, mdb_strerror(rc));
	return VIX_E_STORE;
}

/*
 * Why a commit failed. LMDB writes the pages of a transaction only at
 * commit, and turns a short write (the disk filled up in the middle) into
 * EIO: on a disk with no room left that is a full disk, not a fault.
 */
static int
commit_to_err(struct store_impl *s, int rc)
{
	struct statvfs vfs;
	unsigned long long avail;

	if (rc != EIO || statvfs(s->dir, &vfs) == -1)
		return mdb_to_err(rc, "commit");
	avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	if (avail >= DISK_LOW)
		return mdb_to_err(rc, "commit");
	log_warnx("store: commit: a write was cut short and the disk that "
	    "holds %s has %llu bytes left: it is full; nothing of the batch "
	    "was stored; free space on it", s->dir, avail);
	return VIX_E_FULL;
}

void
st_fail(struct store_txn *t, int rc, const char *what)
{
	if (t->err == 0)
		t->err = mdb_to_err(rc, what);
}

/* 0 found, MDB_NOTFOUND, or -1 after recording an error. */
int
st_get(struct store_txn *t, MDB_dbi db, struct key *k, MDB_val *v)
{
	MDB_val kv = key_val(k);
	int rc;

	if (t->err)
		return -1;
	if ((rc = mdb_get(LT(t)->txn, db, &kv, v)) == 0 || rc == MDB_NOTFOUND)
		return rc;
	st_fail(t, rc, "get");
	return -1;
}

void
st_put(struct store_txn *t, MDB_dbi db, struct key *k, const void *p,
    size_t n)
{
	MDB_val kv = key_val(k), vv = { .mv_size = n, .mv_data = (void *)p };
	int rc;

	if (t->err == 0 && (rc = mdb_put(LT(t)->txn, db, &kv, &vv, 0)) != 0)
		st_fail(t, rc, "put");
}

/* Pack a record straight into the database's page (MDB_RESERVE). */
void
st_put_msg(struct store_txn *t, MDB_dbi db, struct key *k,
    const ProtobufCMessage *m)
{
	MDB_val kv = key_val(k), vv;
	int rc;

	if (t->err)
		return;
	vv.mv_size = protobuf_c_message_get_packed_size(m);
	if ((rc = mdb_put(LT(t)->txn, db, &kv, &vv, MDB_RESERVE)) != 0) {
		st_fail(t, rc, "put");
		return;
	}
	protobuf_c_message_pack(m, vv.mv_data);
}

void
st_del(struct store_txn *t, MDB_dbi db, struct key *k)
{
	MDB_val kv = key_val(k);
	int rc;

	if (t->err == 0 && (rc = mdb_del(LT(t)->txn, db, &kv, NULL)) != 0 &&
	    rc != MDB_NOTFOUND)
		st_fail(t, rc, "del");
}

MDB_cursor *
st_cursor(struct store_txn *t, MDB_dbi db)
{
	MDB_cursor *c = NULL;
	int rc;

	if (t->err == 0 && (rc = mdb_cursor_open(LT(t)->txn, db, &c)) != 0)
		st_fail(t, rc, "cursor");
	return c;
}

/* ---- ids, sequence numbers and counters ------------------------------ */

/*
 * Identifiers are allocated here and nowhere else, one kind at a time: a
 * relational backend implements id_alloc as one sequence per kind (unique
 * across writers, a gap left by a rolled-back transaction harmless). LMDB
 * keeps the next value in meta, big-endian; its single writer makes the
 * read and the write one step.
 */
static const char *const id_names[] = {
	[STORE_ID_SIGNAL] = "next_signal",
	[STORE_ID_MATCH] = "next_match",
	[STORE_ID_ORG] = "next_org",
};

static uint64_t
id_alloc(struct store_txn *t, enum store_id kind)
{
	const char *name = id_names[kind];
	struct key k;
	uint8_t buf[8];
	uint64_t next = 1;
	MDB_val v;

	key_bytes(key_start(&k), name, strlen(name));
	if (st_get(t, t->s->meta, &k, &v) == 0 && v.mv_size == 8)
		next = get_u64(v.mv_data);
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)((next + 1) >> (8 * (7 - i)));
	st_put(t, t->s->meta, &k, buf, sizeof(buf));
	return next;
}

static void
meta_put_u64(struct store_txn *t, struct key *k, uint64_t v)
{
	uint8_t buf[8];

	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(v >> (8 * (7 - i)));
	st_put(t, t->s->meta, k, buf, sizeof(buf));
}

uint64_t
count_get(struct store_txn *t, const char *name)
{
	struct key k;
	MDB_val v;

	key_bytes(key_start(&k), name, strlen(name));
	if (st_get(t, t->s->meta, &k, &v) == 0 && v.mv_size == 8)
		return get_u64(v.mv_data);
	return 0;
}

/* Add delta to the counter name in meta (absent: 0). */
void
count_add(struct store_txn *t, const char *name, int64_t delta)
{
	struct key k;

	key_bytes(key_start(&k), name, strlen(name));
	meta_put_u64(t, &k, count_get(t, name) + (uint64_t)delta);
}

static void
oseq_key(struct key *k, uint32_t recipient)
{
	key_u32(key_bytes(key_start(k), "oseq:", 5), recipient);
}

/*
 * The next seq of recipient's outbox, allocated here and nowhere else (a
 * relational backend: a counter row per recipient, updated under its row
 * lock, so that seqs stay dense per recipient across writers). LMDB keeps
 * it in meta as "oseq:" . recipient -> the next seq.
 */
static uint64_t
outbox_seq_alloc(struct store_txn *t, uint32_t recipient)
{
	struct key k;
	uint64_t seq = 1;
	MDB_val v;

	oseq_key(&k, recipient);
	if (st_get(t, t->s->meta, &k, &v) == 0 && v.mv_size == 8)
		seq = get_u64(v.mv_data);
	meta_put_u64(t, &k, seq + 1);
	return seq;
}

/*
 * The outbox rows about a youth are indexed both ways, so that an erasure
 * finds every row that carries the youth's data (the youth's side:
 * pseudonym . recipient . seq, OUTBOX_KEY_LEN, in db) and the pruning of
 * a row drops its index entry (outbox_youth: recipient . seq ->
 * pseudonym). The youth's side is in signals from schema 12, beside the
 * youth's signals; the conversion to schema 2 alone writes it where
 * schemas 2 to 11 had it, in youth_outbox, and schema 12 moves it.
 */
static void
outbox_index_in(struct store_txn *t, MDB_dbi db, const uint8_t *p,
    uint32_t recipient, uint64_t seq)
{
	struct key k;

	key_u64(key_u32(key_bytes(key_start(&k), p, PSEUDONYM_LEN),
	    recipient), seq);
	st_put(t, db, &k, "", 0);
	key_u64(key_u32(key_start(&k), recipient), seq);
	st_put(t, t->s->outbox_youth, &k, p, PSEUDONYM_LEN);
}

static void
outbox_index(struct store_txn *t, const uint8_t *p, uint32_t recipient,
    uint64_t seq)
{
	outbox_index_in(t, t->s->signals, p, recipient, seq);
}

/*
 * youth_audit, schemas 3 to 9: pseudonym . audit seq -> empty. Written
 * only by the conversion to schema 3; schema 10 moves the rows beside
 * the signals (audit_link).
 */
static void
audit_link_v3(struct store_txn *t, const uint8_t *p, uint64_t seq)
{
	struct key k;

	key_u64(key_bytes(key_start(&k), p, PSEUDONYM_LEN), seq);
	st_put(t, t->s->youth_audit, &k, "", 0);
}

/*
 * Unsigned LEB128: the audit links' seqs, the compact audit records'
 * numbers.
 */
static size_t
varint_put(uint8_t *b, uint64_t v)
{
	size_t n = 0;

	for (; v >= 0x80; v >>= 7)
		b[n++] = (uint8_t)(v | 0x80);
	b[n++] = (uint8_t)v;
	return n;
}

static int
varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t c = *(*p)++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

static void	signal_keys(struct key *, const uint8_t *, uint32_t);
static Vix__Store__V1__Signal *signal_unpack(struct store_txn *,
    const MDB_val *);

/*
 * Audit links, from schema 10: signals: pseudonym . first seq -> the
 * further seqs, each as the LEB128 varint of its distance from the one
 * before. They link an audit record to the youth it concerns, apart from
 * the record (the chain cannot change): the subject report finds the
 * records after the signals are gone, and an erasure removes the links
 * while the chain keeps the records.
 *
 * The keys sit beside the youth's signals (pseudonym . org, four bytes
 * shorter), so that the link a registration writes dirties the page its
 * signal does: a separate index of random keys cost a commit a second
 * page per registration (docs/BENCHMARKS.md).
 *
 * From schema 13 a chunk of links may instead be kept in one of the
 * youth's signal records (Signal.audit_links, the first seq a varint
 * too). A youth's new chunk goes into a signal record that keeps none,
 * so that a youth with a signal needs no record of its own for its
 * links: such a record, a node of about 50 bytes, was a third of what a
 * registration added to signals. A kept chunk whose signal goes becomes
 * a record of its own (lmdb_signal_delete).
 *
 * A chunk holds at most LINK_CHUNK seqs and a youth's chunks do not
 * overlap, so its chunks ordered by their first seq give its seqs in
 * order.
 */
struct link_chunk {
	uint64_t	seq[LINK_CHUNK];
	size_t		n;
	int		kept;	/* in org's signal record; 0: its own */
	uint32_t	org;
};

/* An encoded chunk, at most: LINK_CHUNK varints of 10 bytes. */
#define LINK_BUF	(LINK_CHUNK * 10)

/* c->seq[0]'s successors from their distances in b..end; -1: damaged. */
static int
link_deltas(const uint8_t *b, const uint8_t *end, struct link_chunk *c)
{
	uint64_t d;

	while (b < end) {
		if (varint_get(&b, end, &d) != 0 || d == 0 ||
		    c->n == LINK_CHUNK || c->seq[c->n - 1] > UINT64_MAX - d)
			return -1;
		c->seq[c->n] = c->seq[c->n - 1] + d;
		c->n++;
	}
	return 0;
}

/* The record under key k (LINK_KEY_LEN bytes), value v; -1: damaged. */
static int
link_decode(const MDB_val *k, const MDB_val *v, struct link_chunk *c)
{
	const uint8_t *b = v->mv_data;

	c->seq[0] = get_u64((const uint8_t *)k->mv_data + PSEUDONYM_LEN);
	c->n = 1;
	c->kept = 0;
	return link_deltas(b, b + v->mv_size, c);
}

/* The chunk kept in org's signal record (b->len > 0); -1: damaged. */
static int
link_decode_kept(const ProtobufCBinaryData *b, uint32_t org,
    struct link_chunk *c)
{
	const uint8_t *p = b->data, *end = p + b->len;

	c->n = 1;
	c->kept = 1;
	c->org = org;
	if (varint_get(&p, end, &c->seq[0]) != 0)
		return -1;
	return link_deltas(p, end, c);
}

/* seq[0..n) into buf: the distances, after the first itself if first. */
static size_t
link_encode(uint8_t *buf, const uint64_t *seq, size_t n, int first)
{
	size_t len = first ? varint_put(buf, seq[0]) : 0;

	for (size_t i = 1; i < n; i++)
		len += varint_put(buf + len, seq[i] - seq[i - 1]);
	return len;
}

/* seq[0..n), ascending, as youth p's record keyed by seq[0]. */
static void
link_put(struct store_txn *t, const uint8_t *p, const uint64_t *seq,
    size_t n)
{
	uint8_t buf[LINK_BUF];
	size_t len = link_encode(buf, seq, n, 0);
	struct key k;

	key_u64(key_bytes(key_start(&k), p, PSEUDONYM_LEN), seq[0]);
	st_put(t, t->s->signals, &k, buf, len);
}

/* seq[0..n) kept in org's signal record of youth p (n 0: none kept). */
static void
link_keep(struct store_txn *t, const uint8_t *p, uint32_t org,
    const uint64_t *seq, size_t n)
{
	Vix__Store__V1__Signal *rec;
	ProtobufCBinaryData was;
	uint8_t buf[LINK_BUF];
	struct key k;
	MDB_val v;
	int rc;

	signal_keys(&k, p, org);
	if ((rc = st_get(t, t->s->signals, &k, &v)) != 0) {
		if (rc == MDB_NOTFOUND)
			store_txn_fail(t, VIX_E_STORE);
		return;
	}
	if ((rec = signal_unpack(t, &v)) == NULL)
		return;
	was = rec->audit_links;
	rec->audit_links.data = buf;
	rec->audit_links.len = n > 0 ? link_encode(buf, seq, n, 1) : 0;
	st_put_msg(t, t->s->signals, &k, &rec->base);
	rec->audit_links = was;
	vix__store__v1__signal__free_unpacked(rec, NULL);
}

/* The chunk c's seqs become seq[0..n), where c is. */
static void
link_write(struct store_txn *t, const uint8_t *p, const struct link_chunk *c,
    const uint64_t *seq, size_t n)
{
	if (c->kept)
		link_keep(t, p, c->org, seq, n);
	else
		link_put(t, p, seq, n);
}

/* A youth's chunks by their first seq, and a signal record keeping none. */
struct youth_links {
	struct link_chunk	*c;
	size_t			 n;
	int			 has_free;
	uint32_t		 free_org;
};

static int
link_chunk_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct link_chunk *)a)->seq[0];
	uint64_t y = ((const struct link_chunk *)b)->seq[0];

	return (x > y) - (x < y);
}

/* Youth p's chunks into l (l->c malloc'd); -1 after failing t. */
static int
youth_links(struct store_txn *t, const uint8_t *p, struct youth_links *l)
{
	MDB_cursor *cur = st_cursor(t, t->s->signals);
	struct key prefix;
	MDB_val k, v;
	int rc;

	memset(l, 0, sizeof(*l));
	if (cur == NULL)
		return -1;
	key_bytes(key_start(&prefix), p, PSEUDONYM_LEN);
	PREFIX_FOREACH(cur, &prefix, k, v, rc) {
		Vix__Store__V1__Signal *rec = NULL;
		uint32_t org = 0;
		struct link_chunk *grown;
		int bad;

		if (k.mv_size == SIGNAL_KEY_LEN) {
			if ((rec = signal_unpack(t, &v)) == NULL)
				break;
			org = get_u32((uint8_t *)k.mv_data + PSEUDONYM_LEN);
			if (rec->audit_links.len == 0) {
				if (!l->has_free) {
					l->has_free = 1;
					l->free_org = org;
				}
				vix__store__v1__signal__free_unpacked(rec,
				    NULL);
				continue;
			}
		} else if (k.mv_size != LINK_KEY_LEN)
			continue;	/* the match, the outbox index */
		if ((grown = reallocarray(l->c, l->n + 1, sizeof(*l->c))) ==
		    NULL) {
			vix__store__v1__signal__free_unpacked(rec, NULL);
			store_txn_fail(t, VIX_E_STORE);
			break;
		}
		l->c = grown;
		bad = rec != NULL ? link_decode_kept(&rec->audit_links, org,
		    &l->c[l->n]) : link_decode(&k, &v, &l->c[l->n]);
		vix__store__v1__signal__free_unpacked(rec, NULL);
		if (bad) {
			log_warnx("store: an audit link record does not "
			    "decode");
			store_txn_fail(t, VIX_E_STORE);
			break;
		}
		l->n++;
	}
	if (t->err == 0 && rc != 0 && rc != MDB_NOTFOUND)
		st_fail(t, rc, "audit links");
	mdb_cursor_close(cur);
	if (t->err != 0) {
		free(l->c);
		memset(l, 0, sizeof(*l));
		return -1;
	}
	if (l->n > 1)
		qsort(l->c, l->n, sizeof(*l->c), link_chunk_cmp);
	return 0;
}

/* seq[0..n) as a new chunk: kept where none is, if anywhere. */
static void
link_new(struct store_txn *t, const uint8_t *p, struct youth_links *l,
    const uint64_t *seq, size_t n)
{
	if (!l->has_free) {
		link_put(t, p, seq, n);
		return;
	}
	link_keep(t, p, l->free_org, seq, n);
	l->has_free = 0;
}

/*
 * Link audit record seq to youth p (once: linking it again changes
 * nothing). Seqs mostly come in order and go at the end of the youth's
 * last chunk, or begin a new one when it is full; one that falls inside
 * a full chunk (an import in another order) splits it in two. A new
 * chunk is kept in a signal record only with keep: the conversion to
 * schema 10 writes records of their own, as that schema had them, so
 * that a store it leaves half converted holds nothing a vixd of schema
 * 10 to 12 (which would open it) does not know.
 */
static void
audit_link(struct store_txn *t, const uint8_t *p, uint64_t seq, int keep)
{
	uint64_t all[LINK_CHUNK + 1];
	struct link_chunk *c = NULL;
	struct youth_links l;
	size_t i, half;

	if (youth_links(t, p, &l) != 0)
		return;
	if (!keep)
		l.has_free = 0;
	/* The chunk seq belongs in: the last beginning at or before it. */
	for (i = 0; i < l.n && l.c[i].seq[0] <= seq; i++)
		c = &l.c[i];
	for (i = 0; c != NULL && i < c->n && c->seq[i] < seq; i++)
		continue;
	if (c == NULL || (i == c->n && c->n == LINK_CHUNK))
		link_new(t, p, &l, &seq, 1);
	else if (i == c->n || c->seq[i] != seq) {
		memcpy(all, c->seq, i * sizeof(*all));
		all[i] = seq;
		memcpy(all + i + 1, c->seq + i, (c->n - i) * sizeof(*all));
		if (c->n < LINK_CHUNK)
			link_write(t, p, c, all, c->n + 1);
		else {
			half = (LINK_CHUNK + 1) / 2;
			link_write(t, p, c, all, half);
			link_new(t, p, &l, all + half, LINK_CHUNK + 1 - half);
		}
	}
	free(l.c);
}

/*
 * Put v (n bytes) among k's sorted duplicates in db. Rows mostly come in
 * order (new ids are the highest yet), and one greater than the key's
 * last row is appended (MDB_APPENDDUP: the pages fill, where a split in
 * the middle would leave two half full); any other is put in its place.
 * A row that is there already stays as it is.
 */
static void
dup_put(struct store_txn *t, MDB_dbi db, struct key *k, const void *v,
    size_t n, const char *what)
{
	MDB_cursor *cur = st_cursor(t, db);
	MDB_val kv = key_val(k), vv, last;
	unsigned flags = 0;
	int rc;

	if (cur == NULL)
		return;
	if (mdb_cursor_get(cur, &kv, &last, MDB_SET) == 0 &&
	    mdb_cursor_get(cur, &kv, &last, MDB_LAST_DUP) == 0 &&
	    last.mv_size == n && memcmp(v, last.mv_data, n) > 0)
		flags = MDB_APPENDDUP;
	kv = key_val(k);
	vv = (MDB_val){ .mv_size = n, .mv_data = (void *)v };
	/* MDB_KEYEXIST: the row is there already. */
	if ((rc = mdb_cursor_put(cur, &kv, &vv, flags)) != 0 &&
	    rc != MDB_KEYEXIST)
		st_fail(t, rc, what);
	mdb_cursor_close(cur);
}

/* Delete the row v (n bytes) of k's sorted duplicates in db, if there. */
static void
dup_del(struct store_txn *t, MDB_dbi db, struct key *k, const void *v,
    size_t n, const char *what)
{
	MDB_val kv = key_val(k);
	MDB_val vv = { .mv_size = n, .mv_data = (void *)v };
	int rc;

	if (t->err == 0 && (rc = mdb_del(LT(t)->txn, db, &kv, &vv)) != 0 &&
	    rc != MDB_NOTFOUND)
		st_fail(t, rc, what);
}

/*
 * org_signals: org -> signal id . pseudonym, sorted duplicates of one
 * size (40 bytes a row, no header each), appended as dup_put says; an
 * older id (an import, a rotation) is put in its place.
 */
static void
org_signal_row(struct key *k, struct key *row, uint32_t org, uint64_t id,
    const uint8_t *p)
{
	key_u32(key_start(k), org);
	key_bytes(key_u64(key_start(row), id), p, PSEUDONYM_LEN);
}

static void
org_signal_put(struct store_txn *t, uint32_t org, uint64_t id,
    const uint8_t *p)
{
	struct key k, row;

	org_signal_row(&k, &row, org, id, p);
	dup_put(t, t->s->org_signals, &k, row.b, row.n, "put org_signals");
}

static void
org_signal_del(struct store_txn *t, uint32_t org, uint64_t id,
    const uint8_t *p)
{
	struct key k, row;

	org_signal_row(&k, &row, org, id, p);
	dup_del(t, t->s->org_signals, &k, row.b, row.n, "del org_signals");
}

/*
 * cur at org's first row of org_signals whose id is id or higher (an
 * 8-byte value sorts before the 40-byte rows it begins), *v that row:
 * 1; 0 if there is none; -1 if the row is damaged.
 */
static int
org_signal_seek(struct store_txn *t, MDB_cursor *cur, uint32_t org,
    uint64_t id, MDB_val *v)
{
	struct key k, from;
	MDB_val kv;
	int rc;

	key_u32(key_start(&k), org);
	key_u64(key_start(&from), id);
	kv = key_val(&k);
	*v = key_val(&from);
	if ((rc = mdb_cursor_get(cur, &kv, v, MDB_GET_BOTH_RANGE)) != 0) {
		if (rc != MDB_NOTFOUND)
			st_fail(t, rc, "get org_signals");
		*v = (MDB_val){ 0, NULL };
		return 0;
	}
	return v->mv_size == ORG_SIGNAL_LEN ? 1 : -1;
}

/*
 * signal_owner (schema 11): signal id -> org, in buckets of 64 ids: the
 * key is the id's other bits (id >> OWNER_BITS), and each row of its
 * sorted duplicates the id's low bits . org (OWNER_LEN bytes, no header
 * each). Ids are given out in order, so a bucket's rows are appended and
 * its node, then its page, fills: about 6 bytes a signal, where a row of
 * its own (8-byte key, 4-byte value, node header) took 22. A bucket is
 * small enough that its node, rewritten as it grows, is a few hundred
 * bytes (of 256 ids, the last node of a page was often moved whole to a
 * new one, leaving the page a third empty).
 */
#define OWNER_BITS	6
#define OWNER_LEN	5

static void
owner_row(struct key *k, struct key *row, uint64_t id, uint32_t org)
{
	uint8_t low = (uint8_t)(id & ((1U << OWNER_BITS) - 1));

	key_u64(key_start(k), id >> OWNER_BITS);
	key_u32(key_bytes(key_start(row), &low, 1), org);
}

/*
 * The org of signal id: 1, *org set; 0 if the store has none (or reading
 * failed: t->err); -1 if the row is damaged.
 */
static int
signal_owner_get(struct store_txn *t, uint64_t id, uint32_t *org)
{
	MDB_cursor *cur = st_cursor(t, t->s->signal_owner);
	struct key k, row;
	MDB_val kv, vv;
	int rc, found = 0;

	if (cur == NULL)
		return 0;
	owner_row(&k, &row, id, 0);
	kv = key_val(&k);
	vv = key_val(&row);
	if ((rc = mdb_cursor_get(cur, &kv, &vv, MDB_GET_BOTH_RANGE)) == 0) {
		if (vv.mv_size != OWNER_LEN)
			found = -1;
		else if (((uint8_t *)vv.mv_data)[0] == row.b[0]) {
			*org = get_u32((uint8_t *)vv.mv_data + 1);
			found = 1;
		}
	} else if (rc != MDB_NOTFOUND)
		st_fail(t, rc, "get signal_owner");
	mdb_cursor_close(cur);
	return found;
}

static void
signal_owner_del(struct store_txn *t, uint64_t id)
{
	struct key k, row;
	uint32_t org;

	if (signal_owner_get(t, id, &org) != 1)
		return;
	owner_row(&k, &row, id, org);
	dup_del(t, t->s->signal_owner, &k, row.b, row.n, "del signal_owner");
}

/*
 * An id is given out once, to one organisation, so its row is new (or,
 * converted again after a kill, the same row, which stays as it is): no
 * lookup before the put.
 */
static void
signal_owner_put(struct store_txn *t, uint64_t id, uint32_t org)
{
	struct key k, row;

	owner_row(&k, &row, id, org);
	dup_put(t, t->s->signal_owner, &k, row.b, row.n, "put signal_owner");
}

/*
 * Audit records, compact (schema 6). The chain hashes the protobuf record
 * audit.c builds; this backend keeps it in fewer bytes and rebuilds those
 * exact bytes to read it: AUDIT_COMPACT, then as varints the time, signal
 * id, match id and the codes of actor, action and outcome, texts kept
 * once in meta ("atext:" text -> code, "acode:" code -> text, a few dozen
 * in all: organisations' OINs, "vixd", admin uids, actions, outcomes). A
 * record that would not come back byte for byte is kept as it came, as
 * are those written before schema 6 and those that name a professional
 * (the compact form has no place for one, and a person's identifier is
 * not a text to intern). No protobuf record begins with
 * AUDIT_COMPACT (its wire type, 7, does not exist).
 */
#define AUDIT_COMPACT	0xFF
#define AUDIT_NEXT_CODE	"next_atext"

/* The code of text, given one the first time it is seen. */
static uint64_t
audit_code(struct store_txn *t, const char *text)
{
	struct key k, c;
	MDB_val v;
	uint64_t code;

	/* 58: as when keys were at most 64 bytes, so codes stay as they were. */
	if (strlen(text) > 58)
		return 0;
	key_bytes(key_bytes(key_start(&k), "atext:", 6), text, strlen(text));
	if (st_get(t, t->s->meta, &k, &v) == 0 && v.mv_size == 8)
		return get_u64(v.mv_data);
	count_add(t, AUDIT_NEXT_CODE, 1);
	code = count_get(t, AUDIT_NEXT_CODE);
	meta_put_u64(t, &k, code);
	key_u64(key_bytes(key_start(&c), "acode:", 6), code);
	st_put(t, t->s->meta, &c, text, strlen(text));
	return code;
}

/* The text of code into buf (len bytes): 0, or -1 if it is not known. */
static int
audit_text(MDB_txn *txn, MDB_dbi meta, uint64_t code, char *buf,
    size_t len)
{
	struct key k;
	MDB_val kv, v;

	key_u64(key_bytes(key_start(&k), "acode:", 6), code);
	kv = key_val(&k);
	if (mdb_get(txn, meta, &kv, &v) != 0 || v.mv_size >= len)
		return -1;
	memcpy(buf, v.mv_data, v.mv_size);
	buf[v.mv_size] = '\0';
	return 0;
}

/* The protobuf record of a compact one (seq's, n bytes) into buf: length. */
static size_t
audit_rebuild(MDB_txn *txn, MDB_dbi meta, uint64_t seq, const uint8_t *p,
    size_t n, uint8_t *buf)
{
	Vix__Store__V1__Audit rec = VIX__STORE__V1__AUDIT__INIT;
	const uint8_t *end = p + n;
	char text[3][sizeof(((struct store_audit_record *)0)->actor)];
	uint64_t f[6];
	size_t len;

	if (n == 0 || *p++ != AUDIT_COMPACT)
		return 0;
	for (int i = 0; i < 6; i++)
		if (varint_get(&p, end, &f[i]) != 0)
			return 0;
	for (int i = 0; i < 3; i++)
		if (audit_text(txn, meta, f[3 + i], text[i], sizeof(text[i])) !=
		    0)
			return 0;
	if (p != end)
		return 0;
	rec.seq = seq;
	rec.time = (int64_t)f[0];
	rec.signal_id = f[1];
	rec.match_id = f[2];
	rec.actor = text[0];
	rec.action = text[1];
	rec.outcome = text[2];
	if ((len = protobuf_c_message_get_packed_size(&rec.base)) > AUDIT_MAX)
		return 0;
	return protobuf_c_message_pack(&rec.base, buf);
}

/*
 * Whether a, as seq's record, can be kept compact: its fields are the
 * ones a compact record has, packed as they were, and its texts are of a
 * few known kinds. Checked before any text is interned, so that a record
 * kept as it is leaves nothing in meta; an outcome with a number in it
 * (a sweep's counts) would intern a new text at every sweep.
 */
static int
audit_compactable(const Vix__Store__V1__Audit *a, uint64_t seq,
    const void *record, size_t len)
{
	Vix__Store__V1__Audit rec = VIX__STORE__V1__AUDIT__INIT;
	uint8_t buf[AUDIT_MAX];
	const size_t max = sizeof(((struct store_audit_record *)0)->actor);

	if (a->seq != seq || strlen(a->actor) >= max ||
	    strlen(a->action) >= max || strlen(a->outcome) >= max ||
	    strpbrk(a->outcome, "0123456789") != NULL)
		return 0;
	rec.seq = a->seq;
	rec.time = a->time;
	rec.signal_id = a->signal_id;
	rec.match_id = a->match_id;
	rec.actor = a->actor;
	rec.action = a->action;
	rec.outcome = a->outcome;
	return protobuf_c_message_get_packed_size(&rec.base) == len &&
	    protobuf_c_message_pack(&rec.base, buf) == len &&
	    memcmp(buf, record, len) == 0;
}

/*
 * The compact form of seq's record into out, if it rebuilds to the same
 * bytes: its length; 0 to keep the record as it is.
 */
static size_t
audit_compact(struct store_txn *t, uint64_t seq, const void *record,
    size_t len, uint8_t *out)
{
	Vix__Store__V1__Audit *a = vix__store__v1__audit__unpack(NULL, len,
	    record);
	uint8_t again[AUDIT_MAX];
	size_t n = 0;

	if (a == NULL)
		return 0;
	if (audit_compactable(a, seq, record, len)) {
		out[n++] = AUDIT_COMPACT;
		n += varint_put(out + n, (uint64_t)a->time);
		n += varint_put(out + n, a->signal_id);
		n += varint_put(out + n, a->match_id);
		n += varint_put(out + n, audit_code(t, a->actor));
		n += varint_put(out + n, audit_code(t, a->action));
		n += varint_put(out + n, audit_code(t, a->outcome));
	}
	vix__store__v1__audit__free_unpacked(a, NULL);
	if (n == 0 || t->err != 0 || n >= len || audit_rebuild(LT(t)->txn,
	    t->s->meta, seq, out, n, again) != len ||
	    memcmp(again, record, len) != 0)
		return 0;
	return n;
}

/*
 * Schema 9 keeps a record's chain hash after the record only at
 * checkpoints (places that are multiples of AUDIT_CHECKPOINT); the hash of
 * each chain's last record is in meta as the chain's head, put with the
 * record: so that a record is chained to the one before it without the
 * hash of every record, and a removed tail shows. A store of an older
 * schema keeps the hash of every record until converted; the conversion
 * puts each record's chain's head as it goes, so a record after its
 * chain's head is one not converted yet (audit_converted).
 */
struct audit_head {
	uint64_t	seq;		/* 0: the chain has none */
	uint8_t		hash[HASH_LEN];
};

static int
audit_checkpoint(uint64_t seq)
{
	return STORE_AUDIT_PLACE(seq) % AUDIT_CHECKPOINT == 0;
}

static void
audit_head_key(struct key *k, uint32_t chain)
{
	key_u32(key_bytes(key_start(k), AUDIT_HEAD, strlen(AUDIT_HEAD)),
	    chain);
}

/* Whether meta key k is a chain's head's. */
static int
audit_head_is(const MDB_val *k)
{
	return k->mv_size == strlen(AUDIT_HEAD) + 4 &&
	    memcmp(k->mv_data, AUDIT_HEAD, strlen(AUDIT_HEAD)) == 0;
}

/* A head's meta value into h: 0, or -1 if it is not one. */
static int
audit_head_decode(const MDB_val *v, struct audit_head *h)
{
	if (v->mv_size != 8 + HASH_LEN)
		return -1;
	h->seq = get_u64(v->mv_data);
	memcpy(h->hash, (uint8_t *)v->mv_data + 8, HASH_LEN);
	return 0;
}

/* The head of chain into h (none, or not one: seq 0); 0 or LMDB's error. */
static int
audit_head_read(MDB_txn *txn, MDB_dbi meta, uint32_t chain,
    struct audit_head *h)
{
	struct key k;
	MDB_val kv, v;
	int rc;

	memset(h, 0, sizeof(*h));
	audit_head_key(&k, chain);
	kv = key_val(&k);
	if ((rc = mdb_get(txn, meta, &kv, &v)) == 0 &&
	    audit_head_decode(&v, h) == -1)
		memset(h, 0, sizeof(*h));
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static void
audit_head_put(struct store_txn *t, uint64_t seq, const uint8_t *hash)
{
	uint8_t v[8 + HASH_LEN];
	struct key k;

	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(seq >> (8 * (7 - i)));
	memcpy(v + 8, hash, HASH_LEN);
	audit_head_key(&k, (uint32_t)STORE_AUDIT_CHAIN(seq));
	st_put(t, t->s->meta, &k, v, sizeof(v));
}

/* An audit value read: the record's bytes, and its hash if it keeps one. */
struct audit_value {
	const uint8_t	*record;
	size_t		 len;
	const uint8_t	*hash;		/* NULL: none kept */
	uint8_t		 buf[AUDIT_MAX];	/* a compact record rebuilt */
};

/*
 * Audit value v (seq's), with its hash after the record if hashed: 0, or
 * -1 if the value is damaged.
 */
static int
audit_value_read(MDB_txn *txn, MDB_dbi meta, uint64_t seq, const MDB_val *v,
    int hashed, struct audit_value *out)
{
	const uint8_t *p = v->mv_data;
	size_t keep = hashed ? HASH_LEN : 0;

	if (v->mv_size <= keep)
		return -1;
	out->len = v->mv_size - keep;
	out->record = p;
	out->hash = hashed ? p + out->len : NULL;
	if (p[0] != AUDIT_COMPACT)
		return 0;
	out->record = out->buf;
	out->len = audit_rebuild(txn, meta, seq, p, out->len, out->buf);
	return out->len != 0 ? 0 : -1;
}

/* Audit value v (seq's) decoded, hashed as above; VIX_E_STORE if it is not. */
static int
audit_value_rec(struct store_txn *t, uint64_t seq, const MDB_val *v,
    int hashed, struct store_audit_record *rec)
{
	struct audit_value av;

	if (audit_value_read(LT(t)->txn, t->s->meta, seq, v, hashed, &av) != 0)
		return VIX_E_STORE;
	return audit_decode(av.record, av.len, rec);
}

/* In a store of schema 9 (a converted one). */
int
audit_value_decode(struct store_txn *t, uint64_t seq, const MDB_val *v,
    struct store_audit_record *rec)
{
	return audit_value_rec(t, seq, v, audit_checkpoint(seq), rec);
}

/*
 * While converting: whether audit record k (8 bytes) is in the layout of
 * schema 9 already (its chain's head covers it), e.g. in a store a test
 * made with an older schema number. Never converted again.
 */
static int
audit_converted(struct store_txn *t, const MDB_val *k)
{
	struct audit_head h;
	uint64_t seq = get_u64(k->mv_data);
	int rc;

	if ((rc = audit_head_read(LT(t)->txn, t->s->meta,
	    (uint32_t)STORE_AUDIT_CHAIN(seq), &h)) != 0)
		st_fail(t, rc, "audit head");
	return seq <= h.seq;
}

/* ---- transactions ---------------------------------------------------- */

static struct store_txn *
lmdb_write_begin(struct store_impl *s, int *err)
{
	struct lmdb_txn *lt = calloc(1, sizeof(*lt));
	struct store_txn *t = &lt->base;
	int rc;

	if (lt == NULL) {
		*err = VIX_E_STORE;
		return NULL;
	}
	store_txn_init(t, &store_backend_lmdb, s, s->escalate_after);
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &LT(t)->root)) != 0) {
		*err = mdb_to_err(rc, "begin write transaction");
		free(t);
		return NULL;
	}
	LT(t)->txn = LT(t)->root;
	*err = 0;
	return t;
}

static int
lmdb_write_commit(struct store_txn *t)
{
	int rc, err = 0;

	/* A failed commit frees the transaction: never abort it again. */
	if ((rc = mdb_txn_commit(LT(t)->root)) != 0) {
		err = commit_to_err(t->s, rc);
	}
	free(t);
	return err;
}

static void
lmdb_write_abort(struct store_txn *t)
{
	mdb_txn_abort(LT(t)->root);
	free(t);
}

static int
lmdb_job_begin(struct store_txn *t)
{
	int rc;

	store_txn_job_mark(t);
	if ((rc = mdb_txn_begin(t->s->env, LT(t)->root, 0, &LT(t)->txn)) != 0) {
		LT(t)->txn = LT(t)->root;
		return t->err = mdb_to_err(rc, "begin nested transaction");
	}
	return 0;
}

static int
lmdb_job_end(struct store_txn *t, int err)
{
	int rc;

	if (err == 0)
		err = t->err;
	if (err != 0) {
		mdb_txn_abort(LT(t)->txn);
		store_txn_job_undo(t);	/* its rows are gone too */
	} else if ((rc = mdb_txn_commit(LT(t)->txn)) != 0) {
		/* A failed commit frees the child; the batch goes on. */
		err = mdb_to_err(rc, "commit nested transaction");
		store_txn_job_undo(t);
	}
	LT(t)->txn = LT(t)->root;
	t->err = 0;
	return err;
}

/* ---- readers --------------------------------------------------------- */

static struct store_reader *
lmdb_reader_new(struct store_impl *s)
{
	struct lmdb_reader *lr = calloc(1, sizeof(*lr));

	if (lr == NULL)
		return NULL;
	lr->base.be = &store_backend_lmdb;
	lr->base.s = s;
	return &lr->base;
}

static void
lmdb_reader_free(struct store_reader *r)
{
	if (r == NULL)
		return;
	if (LR(r)->txn != NULL)
		mdb_txn_abort(LR(r)->txn);
	free(r);
}

/* Renew the reader's snapshot; reset it again with reader_end. */
int
reader_begin(struct store_reader *r)
{
	int rc;

	rc = LR(r)->txn == NULL ? mdb_txn_begin(r->s->env, NULL, MDB_RDONLY,
	    &LR(r)->txn) : mdb_txn_renew(LR(r)->txn);
	if (rc == MDB_READERS_FULL) {
		int dead = 0;

		mdb_reader_check(r->s->env, &dead);
		rc = LR(r)->txn == NULL ? mdb_txn_begin(r->s->env, NULL,
		    MDB_RDONLY, &LR(r)->txn) : mdb_txn_renew(LR(r)->txn);
	}
	return rc == 0 ? 0 : mdb_to_err(rc, "begin read transaction");
}

void
reader_end(struct store_reader *r)
{
	mdb_txn_reset(LR(r)->txn);
}


/* ---- usage and quota ------------------------------------------------- */

/* Pages of every database as the transaction sees them; *psize their size. */
static size_t
live_pages(struct store_txn *t, size_t *psize)
{
	struct store_impl *s = t->s;
	MDB_dbi dbs[] = { s->signals, s->org_signals, s->signal_owner,
	    s->expiry_due, s->matches, s->archive, s->audit, s->meta,
	    s->outbox, s->cursors, s->match_ids, s->escalate_due,
	    s->archive_time, s->youth_outbox, s->outbox_youth, s->family };
	size_t pages = 4;	/* two meta pages, two roots */
	size_t row;
	MDB_stat st;

	*psize = 4096;
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		if (mdb_stat(LT(t)->txn, dbs[i], &st) != 0)
			continue;
		pages += st.ms_branch_pages + st.ms_leaf_pages +
		    st.ms_overflow_pages;
		*psize = st.ms_psize;
		/*
		 * mdb_stat leaves out the pages of sorted duplicates; appended,
		 * their rows fill them: about so many.
		 */
		row = dbs[i] == s->org_signals ? ORG_SIGNAL_LEN :
		    dbs[i] == s->expiry_due || dbs[i] == s->escalate_due ? 8 : 0;
		if (row != 0 && st.ms_psize > 16)
			pages += st.ms_entries * row / (st.ms_psize - 16);
	}
	return pages;
}

/*
 * The map in use: every page up to the highest the last commit wrote
 * (free ones among them too: LMDB cannot always reuse them, for instance
 * those a reader still sees, and counting them as room let a batch run
 * into MDB_MAP_FULL; this is the "map used" vixctl status shows), plus
 * what this batch added since it first asked, so that a large batch
 * cannot run past the quota before it commits.
 */
static int
lmdb_over_quota(struct store_txn *t, char *why, size_t len)
{
	struct store_impl *s = t->s;
	size_t live, psize, used, limit;
	MDB_envinfo info;

	live = live_pages(t, &psize);
	if (LT(t)->quota_base == 0) {
		mdb_env_info(s->env, &info);
		LT(t)->quota_base = info.me_last_pgno + 1;
		LT(t)->quota_live = live;
	}
	used = (LT(t)->quota_base + (live > LT(t)->quota_live ?
	    live - LT(t)->quota_live : 0)) * psize;
	limit = s->map_size / 100 * s->quota_percent;
	if (used < limit)
		return 0;
	snprintf(why, len, "the index store is full (%zu of %zu bytes "
	    "allowed by quota_percent); nothing was changed; ask the "
	    "administrator to raise map_size or compact the store", used,
	    limit);
	return 1;
}

/* ---- opening, schema and migrations ---------------------------------- */

/* Sorted duplicates of one size: a key's rows packed, no header each. */
#define DB_DUPFIXED	(MDB_DUPSORT | MDB_DUPFIXED)

/* The named databases, as open_dbs and the copy know them. */
static const struct store_db {
	const char	*name;
	size_t		 field;		/* of its MDB_dbi in struct store_impl */
	unsigned	 flags;
} store_dbs[] = {
	{ "signals", offsetof(struct store_impl, signals), 0 },
	{ "org_signals", offsetof(struct store_impl, org_signals),
	    DB_DUPFIXED },
	{ "signal_owner", offsetof(struct store_impl, signal_owner),
	    DB_DUPFIXED },
	{ "expiry_due", offsetof(struct store_impl, expiry_due), DB_DUPFIXED },
	{ "matches", offsetof(struct store_impl, matches), 0 },
	{ "archive", offsetof(struct store_impl, archive), 0 },
	{ "audit", offsetof(struct store_impl, audit), 0 },
	{ "meta", offsetof(struct store_impl, meta), 0 },
	{ "outbox", offsetof(struct store_impl, outbox), 0 },
	{ "cursors", offsetof(struct store_impl, cursors), 0 },
	{ "match_ids", offsetof(struct store_impl, match_ids), 0 },
	{ "escalate_due", offsetof(struct store_impl, escalate_due),
	    DB_DUPFIXED },
	{ "archive_time", offsetof(struct store_impl, archive_time), 0 },
	{ "youth_outbox", offsetof(struct store_impl, youth_outbox), 0 },
	{ "outbox_youth", offsetof(struct store_impl, outbox_youth), 0 },
	{ "youth_audit", offsetof(struct store_impl, youth_audit), 0 },
	{ "family", offsetof(struct store_impl, family), 0 },
	{ "contacts", offsetof(struct store_impl, contacts), 0 },
	{ "contact_index", offsetof(struct store_impl, contact_index),
	    DB_DUPFIXED },
};
#define STORE_NDBS	(sizeof(store_dbs) / sizeof(store_dbs[0]))

/*
 * The indexes of earlier schemas, each while the store still has it
 * (until migrated); 0 (the free pages' handle, never a named database's)
 * if not.
 */
static const struct store_db legacy_dbs[] = {
	{ "by_org", offsetof(struct store_impl, v5_by_org), 0 },
	{ "sigid", offsetof(struct store_impl, v5_sigid), 0 },
	{ "signal_org", offsetof(struct store_impl, v10_signal_org), 0 },
	{ "expiry", offsetof(struct store_impl, v10_expiry), 0 },
	{ "escalate", offsetof(struct store_impl, v10_escalate), 0 },
};
#define LEGACY_NDBS	(sizeof(legacy_dbs) / sizeof(legacy_dbs[0]))

static int
open_legacy_dbs(struct store_impl *s, MDB_txn *txn, const char **which)
{
	MDB_dbi *dbi;
	int rc;

	for (size_t i = 0; i < LEGACY_NDBS; i++) {
		dbi = (MDB_dbi *)((char *)s + legacy_dbs[i].field);
		*which = legacy_dbs[i].name;
		if ((rc = mdb_dbi_open(txn, legacy_dbs[i].name, 0, dbi)) ==
		    MDB_NOTFOUND)
			*dbi = 0;
		else if (rc != 0)
			return rc;
	}
	return 0;
}

static int
open_dbs(struct store_impl *s, struct diag *d)
{
	const char *which = NULL;
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) {
		diag_add(d, NULL, 0, "store: %s", mdb_strerror(rc));
		return -1;
	}
	for (size_t i = 0; i < STORE_NDBS; i++)
		if ((rc = mdb_dbi_open(txn, store_dbs[i].name, MDB_CREATE |
		    store_dbs[i].flags, (MDB_dbi *)((char *)s +
		    store_dbs[i].field))) != 0) {
			mdb_txn_abort(txn);
			diag_add(d, NULL, 0, "store: database %s: %s",
			    store_dbs[i].name, mdb_strerror(rc));
			return -1;
		}
	if ((rc = open_legacy_dbs(s, txn, &which)) != 0) {
		mdb_txn_abort(txn);
		diag_add(d, NULL, 0, "store: database %s: %s", which,
		    mdb_strerror(rc));
		return -1;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		diag_add(d, NULL, 0, "store: %s", mdb_strerror(rc));
		return -1;
	}
	return 0;
}

static int	lmdb_signal_locate(struct store_txn *, uint64_t, uint8_t *,
    uint32_t *);

/*
 * The youth of active signal id (0: none), for the migrations before
 * schema 6: from schema 5's sigid while the store has it.
 */
static int
legacy_signal_youth(struct store_txn *t, uint64_t id, uint8_t *p)
{
	struct key k;
	MDB_val v;

	if (id == 0)
		return 0;
	if (t->s->v5_sigid == 0)
		return lmdb_signal_locate(t, id, p, NULL) == 1;
	key_u64(key_start(&k), id);
	if (st_get(t, t->s->v5_sigid, &k, &v) != 0 ||
	    v.mv_size != PSEUDONYM_LEN + 4)
		return 0;
	memcpy(p, v.mv_data, PSEUDONYM_LEN);
	return 1;
}

/* The youth an outbox row is about, if the store still knows it. */
static int
row_youth(struct store_txn *t, const MDB_val *row, uint8_t *p)
{
	Vix__V1__Notification *n = vix__v1__notification__unpack(NULL,
	    row->mv_size, row->mv_data);
	struct key k;
	MDB_val v;
	int found = 0;

	if (n == NULL)
		return 0;
	key_u64(key_start(&k), n->match_id);
	if (n->match_id != 0 && st_get(t, t->s->match_ids, &k, &v) == 0 &&
	    v.mv_size == PSEUDONYM_LEN) {
		memcpy(p, v.mv_data, PSEUDONYM_LEN);
		found = 1;
	}
	if (!found)
		found = legacy_signal_youth(t, n->signal_id, p);
	vix__v1__notification__free_unpacked(n, NULL);
	return found;
}

/*
 * From schema 1: index the outbox rows already there by the youth they
 * are about, where its match or the recipient's signal still exists.
 */
static void
migrate_outbox_index(struct store_txn *t)
{
	MDB_cursor *cur = st_cursor(t, t->s->outbox);
	uint8_t p[PSEUDONYM_LEN];
	size_t n = 0, all = 0;
	MDB_val k, v;
	int rc;

	if (cur == NULL)
		return;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 &&
	    t->err == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), all++)
		if (k.mv_size == 12 && row_youth(t, &v, p)) {
			outbox_index_in(t, t->s->youth_outbox, p,
			    get_u32(k.mv_data),
			    get_u64((uint8_t *)k.mv_data + 4));
			n++;
		}
	mdb_cursor_close(cur);
	log_info("store: schema 2: %zu of %zu outbox rows indexed by youth "
	    "(for erasure)", n, all);
}

/* An id (signal or match) and the youth it belongs to, for the migration. */
struct id_youth {
	uint64_t	id;
	uint8_t		p[PSEUDONYM_LEN];
};

struct id_map {
	struct id_youth	*v;
	size_t		 n;
};

static int
id_youth_cmp(const void *a, const void *b)
{
	const struct id_youth *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void
id_map_add(struct store_txn *t, struct id_map *m, uint64_t id,
    const uint8_t *p)
{
	struct id_youth *grown;

	if ((grown = reallocarray(m->v, m->n + 1, sizeof(*grown))) == NULL) {
		t->err = t->err ? t->err : VIX_E_STORE;
		return;
	}
	m->v = grown;
	m->v[m->n].id = id;
	memcpy(m->v[m->n++].p, p, PSEUDONYM_LEN);
}

static const uint8_t *
id_map_find(const struct id_map *m, uint64_t id)
{
	struct id_youth key = { .id = id }, *hit;

	if (id == 0 || m->n == 0)
		return NULL;
	hit = bsearch(&key, m->v, m->n, sizeof(*m->v), id_youth_cmp);
	return hit ? hit->p : NULL;
}

/* The archived signals' ids and youths, sorted by id. */
static void
migrate_archived_ids(struct store_txn *t, struct id_map *m)
{
	MDB_cursor *cur = st_cursor(t, t->s->archive);
	Vix__Store__V1__Archived *a;
	MDB_val k, v;
	int rc;

	if (cur == NULL)
		return;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 &&
	    t->err == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < PSEUDONYM_LEN || (a =
		    vix__store__v1__archived__unpack(NULL, v.mv_size,
		    v.mv_data)) == NULL)
			continue;
		if (a->signal != NULL)
			id_map_add(t, m, a->signal->id, k.mv_data);
		vix__store__v1__archived__free_unpacked(a, NULL);
	}
	mdb_cursor_close(cur);
	/* qsort must not be given the NULL of an empty map. */
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), id_youth_cmp);
}

/* The youth of an audit record's signal (active or archived), if known. */
static const uint8_t *
migrate_signal_youth(struct store_txn *t, const struct id_map *archived,
    uint64_t id, uint8_t *buf)
{
	if (legacy_signal_youth(t, id, buf))
		return buf;
	return id_map_find(archived, id);
}

/* The youth of an audit record's match: open, or named beside a signal. */
static const uint8_t *
migrate_match_youth(struct store_txn *t, const struct id_map *matches,
    uint64_t id)
{
	struct key k;
	MDB_val v;

	key_u64(key_start(&k), id);
	if (id != 0 && st_get(t, t->s->match_ids, &k, &v) == 0 &&
	    v.mv_size == PSEUDONYM_LEN)
		return v.mv_data;
	return id_map_find(matches, id);
}

/*
 * One pass over the audit chain: learn (pass 0) the matches named beside
 * a known signal, or link (pass 1) each record to its youth.
 */
static size_t
migrate_audit_pass(struct store_txn *t, int pass, const struct id_map *arch,
    struct id_map *matches, size_t *all)
{
	struct store_audit_record rec;
	MDB_cursor *cur = st_cursor(t, t->s->audit);
	uint8_t youth[PSEUDONYM_LEN], active[PSEUDONYM_LEN];
	const uint8_t *p;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	if (cur == NULL)
		return 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 &&
	    t->err == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || audit_value_rec(t, get_u64(k.mv_data), &v,
		    !audit_converted(t, &k) || audit_checkpoint(get_u64(
		    k.mv_data)), &rec) != 0)
			continue;
		p = migrate_signal_youth(t, arch, rec.signal_id, active);
		if (pass == 0) {
			if (p != NULL && rec.match_id != 0)
				id_map_add(t, matches, rec.match_id, p);
			continue;
		}
		(*all)++;
		if (p == NULL)
			p = migrate_match_youth(t, matches, rec.match_id);
		if (p != NULL) {
			/* p may point into a page; the put may move it. */
			memcpy(youth, p, PSEUDONYM_LEN);
			audit_link_v3(t, youth, rec.seq);
			n++;
		}
	}
	mdb_cursor_close(cur);
	if (pass == 0 && matches->n > 1)	/* v is NULL while empty */
		qsort(matches->v, matches->n, sizeof(*matches->v),
		    id_youth_cmp);
	return n;
}

/*
 * To schema 3: link the audit records already there to their youth, where
 * the signal they name (active or archived) or their match (open, or named
 * beside such a signal) still tells which youth it was. Records of signals
 * deleted before the upgrade, with no match left to tell, stay unlinked.
 */
static void
migrate_audit_index(struct store_txn *t)
{
	struct id_map arch = { 0 }, matches = { 0 };
	size_t n, all = 0;

	migrate_archived_ids(t, &arch);
	migrate_audit_pass(t, 0, &arch, &matches, &all);
	n = migrate_audit_pass(t, 1, &arch, &matches, &all);
	free(arch.v);
	free(matches.v);
	log_info("store: schema 3: %zu of %zu audit records linked to their "
	    "youth (for the subject report)", n, all);
}

/*
 * Schema 4: count the uncoordinated matches once (the one walk of the
 * matches; from now on every write that changes one keeps the count).
 */
static void
migrate_count_uncoordinated(struct store_txn *t)
{
	MDB_cursor *cur = st_cursor(t, t->s->matches);
	uint64_t n = 0;
	struct key k;
	MDB_val kv, v;
	int rc;

	if (cur == NULL)
		return;
	for (rc = mdb_cursor_get(cur, &kv, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &kv, &v, MDB_NEXT)) {
		Vix__Store__V1__Match *m = vix__store__v1__match__unpack(NULL,
		    v.mv_size, v.mv_data);

		if (m != NULL && !m->coordinated)
			n++;
		vix__store__v1__match__free_unpacked(m, NULL);
	}
	mdb_cursor_close(cur);
	key_bytes(key_start(&k), COUNT_UNCOORDINATED,
	    strlen(COUNT_UNCOORDINATED));
	meta_put_u64(t, &k, n);
	log_info("store: schema 4: %llu uncoordinated matches counted",
	    (unsigned long long)n);
}

/*
 * Schema 5: count the active signals and the matches once; LMDB knows
 * how many entries a database holds, so no walk is needed.
 */
static void
migrate_count_records(struct store_txn *t)
{
	MDB_stat st;
	struct key k;
	int rc;

	if ((rc = mdb_stat(LT(t)->txn, t->s->signals, &st)) != 0) {
		st_fail(t, rc, "stat signals");
		return;
	}
	key_bytes(key_start(&k), COUNT_SIGNALS, strlen(COUNT_SIGNALS));
	meta_put_u64(t, &k, st.ms_entries);
	log_info("store: schema 5: %zu active signals counted",
	    (size_t)st.ms_entries);
	if ((rc = mdb_stat(LT(t)->txn, t->s->matches, &st)) != 0) {
		st_fail(t, rc, "stat matches");
		return;
	}
	key_bytes(key_start(&k), COUNT_MATCHES, strlen(COUNT_MATCHES));
	meta_put_u64(t, &k, st.ms_entries);
	log_info("store: schema 5: %zu matches counted",
	    (size_t)st.ms_entries);
}

/* ---- schema 6 on: migrations in bounded batches ----------------------- */

/*
 * A step converts the rows of one database into another, at most
 * migrate_batch rows in a write transaction of its own. Meta "migrate"
 * holds the step (its index in migrations[], which only grows) and the
 * key of the last row converted, put in the batch's transaction: a vixd
 * stopped or killed midway resumes after the last committed batch and
 * converts no row twice. The schema number is the step's from its first
 * batch, so that an older vixd refuses a store in the middle of it.
 */
/* What becomes of a step's database once its rows are converted. */
enum migrate_from {
	MIGRATE_DROPPED,	/* the database is dropped */
	MIGRATE_IN_PLACE,	/* converted where it is: it stays */
	MIGRATE_EMPTIED,	/* moved elsewhere: it stays, empty */
};

struct migration {
	unsigned	 schema;
	const char	*what;
	size_t		 from;	/* its MDB_dbi in struct store_impl */
	enum migrate_from after;
	/* One row of from, put into the new layout (a sticky failure if bad). */
	void		(*convert)(struct store_txn *, const MDB_val *k,
			    const MDB_val *v);
};

#define MIGRATE_KEY	"migrate"

/* by_org: org . signal id -> pseudonym. */
static void
convert_by_org(struct store_txn *t, const MDB_val *k, const MDB_val *v)
{
	uint8_t p[PSEUDONYM_LEN];

	if (k->mv_size != 12 || v->mv_size != PSEUDONYM_LEN) {
		log_warnx("store: a by_org row has the wrong size");
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	memcpy(p, v->mv_data, PSEUDONYM_LEN);
	org_signal_put(t, get_u32(k->mv_data),
	    get_u64((uint8_t *)k->mv_data + 4), p);
}

/* sigid: signal id -> pseudonym . org. */
static void
convert_sigid(struct store_txn *t, const MDB_val *k, const MDB_val *v)
{
	if (k->mv_size != 8 || v->mv_size != PSEUDONYM_LEN + 4) {
		log_warnx("store: a sigid row has the wrong size");
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	signal_owner_put(t, get_u64(k->mv_data),
	    get_u32((uint8_t *)v->mv_data + PSEUDONYM_LEN));
}

/*
 * audit: a record as it came, made compact where it can be; its pages
 * are as full as before until a compaction (vixd --compact) packs them.
 */
static void
convert_audit(struct store_txn *t, const MDB_val *k, const MDB_val *v)
{
	uint8_t record[AUDIT_MAX], buf[AUDIT_MAX + HASH_LEN];
	struct key key;
	size_t len, n;

	if (k->mv_size != 8 || v->mv_size <= HASH_LEN ||
	    v->mv_size > AUDIT_MAX || ((uint8_t *)v->mv_data)[0] ==
	    AUDIT_COMPACT || audit_converted(t, k))
		return;
	/* k and v are in the page the put rewrites. */
	key_bytes(key_start(&key), k->mv_data, 8);
	len = v->mv_size - HASH_LEN;
	memcpy(record, v->mv_data, len);
	memcpy(buf + AUDIT_MAX, (uint8_t *)v->mv_data + len, HASH_LEN);
	if ((n = audit_compact(t, get_u64(key.b), record, len, buf)) == 0)
		return;
	memmove(buf + n, buf + AUDIT_MAX, HASH_LEN);
	st_put(t, t->s->audit, &key, buf, n + HASH_LEN);
}

static void	signal_store(struct store_txn *, struct key *,
    const Vix__Store__V1__Signal *, uint64_t, const uint8_t *, size_t);

/*
 * signals: a record's contact interned (contacts), the record rewritten
 * naming it by number, smaller, in place.
 */
static void
convert_contact(struct store_txn *t, const MDB_val *k, const MDB_val *v)
{
	Vix__Store__V1__Signal *rec;
	struct key key;

	if (k->mv_size != PSEUDONYM_LEN + 4) {
		log_warnx("store: a signals key has the wrong size");
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	if ((rec = signal_unpack(t, v)) == NULL)
		return;
	/* k is in the page the put rewrites. */
	key_bytes(key_start(&key), k->mv_data, k->mv_size);
	if (rec->contact == 0)
		signal_store(t, &key, rec, 0, rec->audit_links.data,
		    rec->audit_links.len);
	vix__store__v1__signal__free_unpacked(rec, NULL);
}

/*
 * audit, to schema 9: a record's hash dropped unless it is a checkpoint,
 * and put as its chain's head, the last record's staying there. A value
 * too short to hold a hash is left as it is, for audit verify to name.
 */
static void
convert_audit_hash(struct store_txn *t, const MDB_val *k, const MDB_val *v)
{
	uint8_t buf[AUDIT_MAX + HASH_LEN], hash[HASH_LEN];
	struct key key;
	uint64_t seq;
	size_t len;

	if (k->mv_size != 8 || v->mv_size <= HASH_LEN ||
	    v->mv_size > sizeof(buf) || audit_converted(t, k))
		return;
	/* k and v are in the page the put rewrites. */
	seq = get_u64(k->mv_data);
	key_u64(key_start(&key), seq);
	len = v->mv_size - HASH_LEN;
	memcpy(hash, (uint8_t *)v->mv_data + len, HASH_LEN);
	if (!audit_checkpoint(seq)) {
		memcpy(buf, v->mv_data, len);
		st_put(t, t->s->audit, &key, buf, len);
	}
	audit_head_put(t, seq, hash);
}

/*
 * youth_audit, to schema 10: a row (pseudonym . seq) linked beside the
 * youth's signals; the database is emptied when the step is done.
 */
static void
convert_audit_link(struct store_txn *t, const MDB_val *k, const MDB_val *v)
{
	uint8_t p[PSEUDONYM_LEN];

	if (k->mv_size != PSEUDONYM_LEN + 8) {
		log_warnx("store: a youth_audit key has the wrong size");
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	memcpy(p, k->mv_data, PSEUDONYM_LEN);
	audit_link(t, p, get_u64((uint8_t *)k->mv_data + PSEUDONYM_LEN), 0);
}

/* signal_org, to schema 11: id -> org as a row of signal_owner. */
static void
convert_signal_org(struct store_txn *t, const MDB_val *k, const MDB_val *v)
{
	if (k->mv_size != 8 || v->mv_size != 4) {
		log_warnx("store: a signal_org row has the wrong size");
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	signal_owner_put(t, get_u64(k->mv_data), get_u32(v->mv_data));
}

static void	lmdb_due_put(struct store_txn *, enum store_due, int64_t,
    uint64_t);

/* expiry and escalate, to schema 11: time . id as a row of id under time. */
static void
convert_due(struct store_txn *t, const MDB_val *k, enum store_due kind)
{
	if (k->mv_size != 16) {
		log_warnx("store: an %s key has the wrong size",
		    kind == STORE_DUE_EXPIRY ? "expiry" : "escalate");
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	lmdb_due_put(t, kind, (int64_t)get_u64(k->mv_data),
	    get_u64((uint8_t *)k->mv_data + 8));
}

static void
convert_expiry(struct store_txn *t, const MDB_val *k, const MDB_val *v)
{
	convert_due(t, k, STORE_DUE_EXPIRY);
}

static void
convert_escalate(struct store_txn *t, const MDB_val *k, const MDB_val *v)
{
	convert_due(t, k, STORE_DUE_ESCALATE);
}

/* matches, to schema 12: a youth's match beside its signals. */
static void
convert_match(struct store_txn *t, const MDB_val *k, const MDB_val *v)
{
	struct key key;

	if (k->mv_size != MATCH_KEY_LEN) {
		log_warnx("store: a matches key has the wrong size");
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	key_bytes(key_start(&key), k->mv_data, k->mv_size);
	st_put(t, t->s->signals, &key, v->mv_data, v->mv_size);
}

/* youth_outbox, to schema 12: the entry beside the youth's signals. */
static void
convert_outbox_index(struct store_txn *t, const MDB_val *k,
    const MDB_val *v)
{
	struct key key;

	if (k->mv_size != OUTBOX_KEY_LEN) {
		log_warnx("store: a youth_outbox key has the wrong size");
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	key_bytes(key_start(&key), k->mv_data, k->mv_size);
	st_put(t, t->s->signals, &key, "", 0);
}

/*
 * signals, to schema 13: an audit link record of its own (k, v) kept in
 * a signal record of its youth that keeps none, if there is one.
 */
static void
convert_keep_link(struct store_txn *t, const MDB_val *k, const MDB_val *v)
{
	uint8_t p[PSEUDONYM_LEN];
	struct youth_links l;
	struct link_chunk c;
	struct key key;

	if (k->mv_size != LINK_KEY_LEN)
		return;		/* a signal, a match, an outbox index entry */
	if (link_decode(k, v, &c) != 0) {
		log_warnx("store: an audit link record does not decode");
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	/* k and v are in the pages the writes below change. */
	key_bytes(key_start(&key), k->mv_data, k->mv_size);
	memcpy(p, key.b, PSEUDONYM_LEN);
	if (youth_links(t, p, &l) != 0)
		return;
	if (l.has_free) {
		link_keep(t, p, l.free_org, c.seq, c.n);
		st_del(t, t->s->signals, &key);
	}
	free(l.c);
}

static const struct migration migrations[] = {
	{ 6, "by_org into org_signals", offsetof(struct store_impl,
	    v5_by_org), MIGRATE_DROPPED, convert_by_org },
	{ 6, "sigid into signal_org", offsetof(struct store_impl, v5_sigid),
	    MIGRATE_DROPPED, convert_sigid },
	{ 6, "audit records made compact", offsetof(struct store_impl, audit),
	    MIGRATE_IN_PLACE, convert_audit },
	{ 8, "contacts interned", offsetof(struct store_impl, signals),
	    MIGRATE_IN_PLACE, convert_contact },
	{ 9, "audit hashes kept at checkpoints", offsetof(struct store_impl,
	    audit), MIGRATE_IN_PLACE, convert_audit_hash },
	{ 10, "audit links beside the signals", offsetof(struct store_impl,
	    youth_audit), MIGRATE_EMPTIED, convert_audit_link },
	{ 11, "signal owners in buckets", offsetof(struct store_impl,
	    v10_signal_org), MIGRATE_DROPPED, convert_signal_org },
	{ 11, "expiry times as sorted duplicates", offsetof(struct store_impl,
	    v10_expiry), MIGRATE_DROPPED, convert_expiry },
	{ 11, "escalation times as sorted duplicates", offsetof(struct
	    store_impl, v10_escalate), MIGRATE_DROPPED, convert_escalate },
	{ 12, "matches beside the signals", offsetof(struct store_impl,
	    matches), MIGRATE_EMPTIED, convert_match },
	{ 12, "outbox index beside the signals", offsetof(struct store_impl,
	    youth_outbox), MIGRATE_EMPTIED, convert_outbox_index },
	{ 13, "audit links kept in the signal records", offsetof(struct
	    store_impl, signals), MIGRATE_IN_PLACE, convert_keep_link },
};
#define NMIGRATIONS	(sizeof(migrations) / sizeof(migrations[0]))

static MDB_dbi *
migration_db(struct store_impl *s, const struct migration *m)
{
	return (MDB_dbi *)((char *)s + m->from);
}

/*
 * At most max rows of db after *last (n 0: from the first), each
 * converted; *last becomes the last one. 1 when no row is left.
 */
static int
migrate_rows(struct store_txn *t, const struct migration *m,
    struct key *last, size_t max, size_t *n)
{
	MDB_dbi db = *migration_db(t->s, m);
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if (db == 0)
		return 1;	/* never there, or dropped */
	if ((cur = st_cursor(t, db)) == NULL)
		return 0;
	k = key_val(last);
	rc = mdb_cursor_get(cur, &k, &v, last->n ? MDB_SET_RANGE : MDB_FIRST);
	if (rc == 0 && last->n != 0 && k.mv_size == last->n &&
	    memcmp(k.mv_data, last->b, last->n) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	for (; rc == 0 && *n < max && t->err == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size > KEY_MAX) {
			store_txn_fail(t, VIX_E_STORE);
			break;
		}
		key_bytes(key_start(last), k.mv_data, k.mv_size);
		m->convert(t, &k, &v);
		(*n)++;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		st_fail(t, rc, "migrate");
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND;
}

/* The step under way (meta "migrate"), else the first after the schema. */
static unsigned
migrate_where(struct store_txn *t, struct key *last)
{
	struct key k;
	MDB_val v;
	unsigned step = 0;
	uint64_t version = 0;

	key_start(last);
	key_bytes(key_start(&k), MIGRATE_KEY, strlen(MIGRATE_KEY));
	if (st_get(t, t->s->meta, &k, &v) == 0 && v.mv_size >= 4 &&
	    v.mv_size - 4 <= KEY_MAX) {
		key_bytes(last, (uint8_t *)v.mv_data + 4, v.mv_size - 4);
		return get_u32(v.mv_data);
	}
	key_bytes(key_start(&k), "schema", 6);
	if (st_get(t, t->s->meta, &k, &v) == 0 && v.mv_size == 8)
		version = get_u64(v.mv_data);
	while (step < NMIGRATIONS && migrations[step].schema <= version)
		step++;
	return step;
}

static void
schema_put(struct store_txn *t, uint64_t version)
{
	struct key k;

	key_bytes(key_start(&k), "schema", 6);
	meta_put_u64(t, &k, version);
}

/*
 * After a batch: where the next one starts, or, the step done, its old
 * database dropped and, the schema's last step done, the schema number.
 */
static void
migrate_mark(struct store_txn *t, unsigned step, int done,
    const struct key *last)
{
	const struct migration *m = &migrations[step];
	MDB_dbi *db = migration_db(t->s, m);
	struct key k, v;
	int rc;

	/*
	 * The step's schema from its first batch on: an older vixd refuses
	 * a store half converted, as it refuses one converted whole.
	 */
	schema_put(t, m->schema);
	key_bytes(key_start(&k), MIGRATE_KEY, strlen(MIGRATE_KEY));
	if (!done) {
		key_bytes(key_u32(key_start(&v), step), last->b, last->n);
		st_put(t, t->s->meta, &k, v.b, v.n);
		return;
	}
	if (m->after != MIGRATE_IN_PLACE && *db != 0 && t->err == 0 &&
	    (rc = mdb_drop(LT(t)->txn, *db, m->after == MIGRATE_DROPPED)) !=
	    0)
		st_fail(t, rc, "drop");
	/*
	 * A step that moved records into signals moved them into the
	 * rotation's first table: a key rotation under way, whose scan may
	 * be past it, starts its scan again (the youths it moved already
	 * are under the new key's parity, which the scan passes over).
	 */
	if (m->after == MIGRATE_EMPTIED) {
		key_bytes(key_start(&v), STORE_META_PREFIX ROTATE_META_CURSOR,
		    strlen(STORE_META_PREFIX ROTATE_META_CURSOR));
		st_del(t, t->s->meta, &v);
	}
	if (step + 1 < NMIGRATIONS) {
		key_u32(key_start(&v), step + 1);
		st_put(t, t->s->meta, &k, v.b, v.n);
	} else
		st_del(t, t->s->meta, &k);
}

/* One batch in a write transaction of its own; -1 if it failed. */
static int
migrate_batch(struct store_impl *s, unsigned *step,
    size_t *rows, struct diag *d)
{
	struct lmdb_txn t = { .base = { .s = s } };
	struct key last;
	size_t n = 0;
	int rc, done;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &t.root)) != 0) {
		diag_add(d, NULL, 0, "store %s: migration: %s", s->dir,
		    mdb_strerror(rc));
		return -1;
	}
	t.txn = t.root;
	if ((*step = migrate_where(&t.base, &last)) >= NMIGRATIONS) {
		mdb_txn_abort(t.root);
		return 0;
	}
	done = migrate_rows(&t.base, &migrations[*step], &last,
	    s->migrate_batch, &n);
	migrate_mark(&t.base, *step, done, &last);
	if (t.base.err != 0 || (rc = mdb_txn_commit(t.root)) != 0) {
		if (t.base.err != 0)
			mdb_txn_abort(t.root);
		diag_add(d, NULL, 0, "store %s: migration to schema %u (%s) "
		    "failed; nothing of this batch was written, vixd resumes "
		    "it at the next start", s->dir, migrations[*step].schema,
		    migrations[*step].what);
		return -1;
	}
	*rows += n;
	log_debug("store: schema %u: %s: %zu rows so far",
	    migrations[*step].schema, migrations[*step].what, *rows);
	if (done) {
		log_info("store: schema %u: %s: done, %zu rows by this start",
		    migrations[*step].schema, migrations[*step].what, *rows);
		*rows = 0;
		if (migrations[*step].after == MIGRATE_DROPPED)
			*migration_db(s, &migrations[*step]) = 0; /* dropped */
	}
	return 1;
}

/*
 * Every step after the store's schema, batch by batch. With migrate_stop
 * (tests) it gives up after that many batches, as a kill would.
 */
static int
migrate_run(struct store_impl *s, struct diag *d)
{
	unsigned step = 0, batches = 0;
	size_t rows = 0;
	int rc;

	while ((rc = migrate_batch(s, &step, &rows, d)) == 1)
		if (s->migrate_stop != 0 && ++batches == s->migrate_stop) {
			diag_add(d, NULL, 0, "store %s: migration stopped "
			    "after %u batches (migrate_stop)", s->dir,
			    batches);
			return -1;
		}
	return rc;
}

/* The schema version, migrating an older store. */
static int
check_schema(struct store_impl *s, const char *dir, struct diag *d)
{
	struct lmdb_txn t = { .base = { .s = s } };
	struct key k;
	MDB_val v;
	uint64_t version = 0;
	int pending;

	if (mdb_txn_begin(s->env, NULL, 0, &t.root) != 0)
		return -1;
	t.txn = t.root;
	key_bytes(key_start(&k), "schema", 6);
	if (st_get(&t.base, s->meta, &k, &v) == 0 && v.mv_size == 8)
		version = get_u64(v.mv_data);
	if (version > STORE_SCHEMA) {
		mdb_txn_abort(t.root);
		diag_add(d, NULL, 0, "store %s has schema version %llu, newer "
		    "than this vixd supports (%d); run a newer vixd", dir,
		    (unsigned long long)version, STORE_SCHEMA);
		return -1;
	}
	if (version == 1)
		migrate_outbox_index(&t.base);
	if (version >= 1 && version < 3)
		migrate_audit_index(&t.base);
	if (version >= 1 && version < 4)
		migrate_count_uncoordinated(&t.base);
	if (version >= 1 && version < 5)
		migrate_count_records(&t.base);
	/* A new store has the newest layout; an older one goes on below. */
	version = version == 0 ? STORE_SCHEMA : version < 5 ? 5 : version;
	schema_put(&t.base, version);
	key_bytes(key_start(&k), MIGRATE_KEY, strlen(MIGRATE_KEY));
	pending = st_get(&t.base, s->meta, &k, &v) == 0;
	if (t.base.err || mdb_txn_commit(t.root) != 0) {
		diag_add(d, NULL, 0, "store %s: cannot write its schema "
		    "version", dir);
		return -1;
	}
	if (version == STORE_SCHEMA && !pending)
		return 0;
	if (pending)
		log_info("store %s: resuming the conversion to schema %d where "
		    "it stopped, %zu rows a transaction", dir, STORE_SCHEMA,
		    s->migrate_batch);
	else
		log_info("store %s: converting from schema %llu to %d, %zu "
		    "rows a transaction; a stopped conversion resumes at the "
		    "next start", dir, (unsigned long long)version,
		    STORE_SCHEMA, s->migrate_batch);
	return migrate_run(s, d);
}

/*
 * One process per store: LMDB would let a second one in (its write lock
 * would keep ids, sequence numbers and the audit chain right, as they are
 * read inside the transaction), but a compaction must not pull the file
 * from under a running vixd.
 */
static int
store_lock(struct store_impl *s, struct diag *d)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/vixd.lock", s->dir) >=
	    (int)sizeof(path)) {
		diag_add(d, NULL, 0, "store %s: path too long", s->dir);
		return -1;
	}
	if ((s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		diag_add(d, NULL, 0, "store %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		diag_add(d, NULL, 0, "store %s is in use by another process "
		    "(a running vixd, or vixd --compact); stop it first",
		    s->dir);
		return -1;
	}
	return 0;
}


static struct store_impl *
lmdb_open(const struct store_options *o, struct diag *d)
{
	struct store_impl *s;
	int rc, dead;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->map_size = o->map_size;
	s->quota_percent = o->quota_percent;
	s->escalate_after = o->escalate_after;
	s->migrate_batch = o->migrate_batch ? o->migrate_batch : MIGRATE_BATCH;
	s->migrate_stop = o->migrate_stop;
	s->lock_fd = -1;
	snprintf(s->dir, sizeof(s->dir), "%s", o->dir);
	if (mkdir(o->dir, 0700) == -1 && errno != EEXIST) {
		diag_add(d, NULL, 0, "store %s: %s", o->dir, strerror(errno));
		free(s);
		return NULL;
	}
	if (store_lock(s, d) == -1) {
		lmdb_close(s);
		return NULL;
	}
	if ((rc = mdb_env_create(&s->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(s->env, 32)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, o->map_size)) != 0 ||
	    (rc = mdb_env_set_maxreaders(s->env, 512)) != 0 ||
	    (rc = mdb_env_open(s->env, o->dir, MDB_NOTLS, 0600)) != 0) {
		if (rc == MDB_INVALID || rc == MDB_CORRUPTED ||
		    rc == MDB_VERSION_MISMATCH)
			diag_add(d, NULL, 0, "store %s: %s; the data file is "
			    "damaged or not a vix store, and was left as it is: "
			    "restore it from a backup (vixctl backup)", o->dir,
			    mdb_strerror(rc));
		else
			diag_add(d, NULL, 0, "store %s: %s", o->dir,
			    mdb_strerror(rc));
		lmdb_close(s);
		return NULL;
	}
	mdb_reader_check(s->env, &dead);
	if (open_dbs(s, d) == -1 || check_schema(s, o->dir, d) == -1) {
		lmdb_close(s);
		return NULL;
	}
	return s;
}

static void
lmdb_close(struct store_impl *s)
{
	if (s == NULL)
		return;
	if (s->env != NULL)
		mdb_env_close(s->env);
	if (s->lock_fd != -1)
		close(s->lock_fd);
	free(s);
}

static int
key_id_record(struct store_impl *s, const char *key_id, struct diag *d)
{
	struct lmdb_txn t = { .base = { .s = s } };
	struct key k;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &t.root)) != 0) {
		diag_add(d, NULL, 0, "store %s: %s", s->dir, mdb_strerror(rc));
		return -1;
	}
	t.txn = t.root;
	key_bytes(key_start(&k), "key_id", 6);
	st_put(&t.base, s->meta, &k, key_id, strlen(key_id));
	if (t.base.err != 0 || (rc = mdb_txn_commit(t.root)) != 0) {
		if (t.base.err != 0)
			mdb_txn_abort(t.root);
		diag_add(d, NULL, 0, "store %s: cannot record the pseudonym "
		    "key id", s->dir);
		return -1;
	}
	log_info("store %s: pseudonym key id %s recorded; from now on vixd "
	    "refuses to run it with another key", s->dir, key_id);
	return 0;
}

static int
lmdb_check_key(struct store_impl *s, const char *key_id, const char *key_file,
    struct diag *d)
{
	char have[80] = "";
	MDB_txn *txn;
	MDB_val kv = { 6, (void *)"key_id" }, v;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0) {
		diag_add(d, NULL, 0, "store %s: %s", s->dir, mdb_strerror(rc));
		return -1;
	}
	if ((rc = mdb_get(txn, s->meta, &kv, &v)) == 0)
		snprintf(have, sizeof(have), "%.*s", (int)(v.mv_size <
		    sizeof(have) ? v.mv_size : sizeof(have) - 1),
		    (const char *)v.mv_data);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return key_id_record(s, key_id, d);
	if (rc != 0) {
		diag_add(d, NULL, 0, "store %s: %s", s->dir, mdb_strerror(rc));
		return -1;
	}
	if (strcmp(have, key_id) == 0)
		return 0;
	diag_add(d, NULL, 0, "store %s was written with another pseudonym key "
	    "than pseudonym_key_file %s (key id %s in the store, %s for the "
	    "file): with it no youth in the store would be found. Start vixd "
	    "with the key file the store was made with (restore it from your "
	    "key backup), or set data_dir to a new, empty folder to begin a "
	    "new store with this key", s->dir, key_file, have, key_id);
	return -1;
}

/* meta "org:<OIN>" -> store id; new OINs get the next id. */
static int
lmdb_bind_orgs(struct store_impl *s, struct orgs *orgs, struct diag *d)
{
	struct lmdb_txn t = { .base = { .s = s } };
	struct key k;
	uint8_t buf[4];
	MDB_val v;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &t.root)) != 0) {
		diag_add(d, NULL, 0, "store: %s", mdb_strerror(rc));
		return -1;
	}
	t.txn = t.root;
	for (size_t i = 0; i < orgs->n && t.base.err == 0; i++) {
		struct org *o = &orgs->v[i];

		key_bytes(key_bytes(key_start(&k), "org:", 4), o->oin, OIN_LEN);
		if (st_get(&t.base, s->meta, &k, &v) == 0 && v.mv_size == 4) {
			o->sid = get_u32(v.mv_data);
			continue;
		}
		o->sid = (uint32_t)id_alloc(&t.base, STORE_ID_ORG);
		for (int b = 0; b < 4; b++)
			buf[b] = (uint8_t)(o->sid >> (8 * (3 - b)));
		st_put(&t.base, s->meta, &k, buf, sizeof(buf));
	}
	if (t.base.err) {
		mdb_txn_abort(t.root);
		diag_add(d, NULL, 0, "store: cannot record organisation ids");
		return -1;
	}
	if ((rc = mdb_txn_commit(t.root)) != 0) {
		diag_add(d, NULL, 0, "store: %s", mdb_strerror(rc));
		return -1;
	}
	orgs_index_sids(orgs);
	return 0;
}

uint64_t
last_seq(struct store_txn *t, uint32_t recipient)
{
	struct key k;
	MDB_val v;

	oseq_key(&k, recipient);
	if (st_get(t, t->s->meta, &k, &v) == 0 && v.mv_size == 8)
		return get_u64(v.mv_data) - 1;
	return 0;
}

/* The keys of db under the youth's prefix (malloc'd, *n of them). */
struct key *
youth_keys(struct store_txn *t, MDB_dbi db, const uint8_t *p, size_t *n)
{
	MDB_cursor *cur = st_cursor(t, db);
	struct key prefix, *keys = NULL, *grown;
	MDB_val k, v;
	int rc;

	*n = 0;
	if (cur == NULL)
		return NULL;
	key_bytes(key_start(&prefix), p, PSEUDONYM_LEN);
	PREFIX_FOREACH(cur, &prefix, k, v, rc) {
		if (k.mv_size > KEY_MAX || (grown = reallocarray(keys, *n + 1,
		    sizeof(*keys))) == NULL) {
			t->err = t->err ? t->err : VIX_E_STORE;
			break;
		}
		keys = grown;
		key_bytes(key_start(&keys[(*n)++]), k.mv_data, k.mv_size);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		st_fail(t, rc, "scan");
	mdb_cursor_close(cur);
	return keys;
}


/* ---- reads, subscriptions and outbox rows ------------------------------ */

static struct store_txn *
lmdb_read_begin(struct store_reader *r, int *err)
{
	if ((*err = reader_begin(r)) != 0)
		return NULL;
	memset(&LR(r)->rt, 0, sizeof(LR(r)->rt));
	store_txn_init(&LR(r)->rt.base, &store_backend_lmdb, r->s,
	    r->s->escalate_after);
	LR(r)->rt.txn = LR(r)->txn;
	return &LR(r)->rt.base;
}

static void
lmdb_read_end(struct store_reader *r)
{
	reader_end(r);
}

static void
cursor_key(struct key *k, uint32_t consumer, uint32_t recipient)
{
	key_u32(key_u32(key_start(k), consumer), recipient);
}

/* cursors: consumer . recipient -> the last seq it acked. */
static uint64_t
lmdb_cursor_get(struct store_txn *t, uint32_t consumer, uint32_t recipient)
{
	struct key k;
	MDB_val v;

	cursor_key(&k, consumer, recipient);
	if (st_get(t, t->s->cursors, &k, &v) == 0 && v.mv_size == 8)
		return get_u64(v.mv_data);
	return 0;
}

static void
lmdb_cursor_put(struct store_txn *t, uint32_t consumer, uint32_t recipient,
    uint64_t seq)
{
	uint8_t buf[8];
	struct key k;

	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(seq >> (8 * (7 - i)));
	cursor_key(&k, consumer, recipient);
	st_put(t, t->s->cursors, &k, buf, sizeof(buf));
}

static void
lmdb_outbox_scan(struct store_txn *t, uint32_t recipient, uint64_t after,
    size_t max, int (*fn)(void *, uint64_t, const void *, size_t), void *arg)
{
	MDB_cursor *cur = st_cursor(t, t->s->outbox);
	struct key start;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	if (cur == NULL)
		return;
	key_u64(key_u32(key_start(&start), recipient), after + 1);
	k = key_val(&start);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	    rc == 0 && n < max && k.mv_size == 12 &&
	    get_u32(k.mv_data) == recipient;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++)
		if (fn(arg, get_u64((uint8_t *)k.mv_data + 4), v.mv_data,
		    v.mv_size) != 0)
			break;
	mdb_cursor_close(cur);
}

/* Delete the outbox row recipient . seq with its index entries. */
static void
lmdb_outbox_delete(struct store_txn *t, uint32_t recipient, uint64_t seq)
{
	struct key k, yk;
	MDB_val v;

	key_u64(key_u32(key_start(&k), recipient), seq);
	if (st_get(t, t->s->outbox_youth, &k, &v) == 0 &&
	    v.mv_size == PSEUDONYM_LEN) {
		key_u64(key_u32(key_bytes(key_start(&yk), v.mv_data,
		    PSEUDONYM_LEN), recipient), seq);
		st_del(t, t->s->signals, &yk);
		st_del(t, t->s->outbox_youth, &k);
	}
	st_del(t, t->s->outbox, &k);
}


/* Every outbox row about youth p goes; returns how many. */
static size_t
lmdb_outbox_erase(struct store_txn *t, const uint8_t *p)
{
	struct key *keys;
	size_t n, gone = 0;

	keys = youth_keys(t, t->s->signals, p, &n);
	for (size_t i = 0; i < n && t->err == 0; i++) {
		if (keys[i].n != OUTBOX_KEY_LEN)
			continue;
		lmdb_outbox_delete(t, get_u32(keys[i].b + PSEUDONYM_LEN),
		    get_u64(keys[i].b + PSEUDONYM_LEN + 4));
		gone++;
	}
	free(keys);
	return gone;
}

static const char *const count_names[] = {
	[STORE_COUNT_SIGNALS] = COUNT_SIGNALS,
	[STORE_COUNT_MATCHES] = COUNT_MATCHES,
	[STORE_COUNT_UNCOORDINATED] = COUNT_UNCOORDINATED,
};

static uint64_t
lmdb_count_get(struct store_txn *t, enum store_count c)
{
	return count_get(t, count_names[c]);
}

static void
lmdb_count_add(struct store_txn *t, enum store_count c, int64_t delta)
{
	count_add(t, count_names[c], delta);
}

/* What LMDB knows without a walk: entries of a database, pages in use. */
static void
lmdb_usage(struct store_txn *t, struct store_stats *out)
{
	struct store_impl *s = t->s;
	MDB_envinfo info;
	MDB_stat st;

	mdb_stat(LT(t)->txn, s->archive, &st);
	out->archived = st.ms_entries;
	mdb_stat(LT(t)->txn, s->audit, &st);
	out->audit_records = st.ms_entries;
	mdb_env_info(s->env, &info);
	mdb_env_stat(s->env, &st);
	out->bytes_used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
	out->bytes_reserved = info.me_mapsize;
	out->quota = s->map_size / 100 * s->quota_percent;
	out->gauges[0] = (struct store_gauge){ "vix_lmdb_map_used_bytes",
	    "Bytes of the LMDB map in use.", out->bytes_used };
	out->gauges[1] = (struct store_gauge){ "vix_lmdb_map_size_bytes",
	    "Bytes reserved for the LMDB map (map_size).",
	    out->bytes_reserved };
	out->gauges[2] = (struct store_gauge){ "vix_lmdb_quota_bytes",
	    "Map bytes in use beyond which new registrations are refused "
	    "(quota_percent).", out->quota };
	out->ngauges = 3;
}

/* ---- signals -------------------------------------------------------- */

static void
signal_keys(struct key *sk, const uint8_t *p, uint32_t org)
{
	key_u32(key_bytes(key_start(sk), p, PSEUDONYM_LEN), org);
}

/* The kept audit links out of a record: the backend's own. */
static void
signal_unkeep(Vix__Store__V1__Signal *s)
{
	free(s->audit_links.data);
	s->audit_links.data = NULL;
	s->audit_links.len = 0;
}

/* The record as stored, its contact (if interned) a number. */
static Vix__Store__V1__Signal *
signal_unpack(struct store_txn *t, const MDB_val *v)
{
	Vix__Store__V1__Signal *s = vix__store__v1__signal__unpack(NULL,
	    v->mv_size, v->mv_data);

	if (s == NULL && t != NULL && t->err == 0) {
		log_warnx("store: a signal record does not decode");
		t->err = VIX_E_STORE;
	}
	return s;
}

/* org's record as the domain sees it: its contact in its three fields. */
static Vix__Store__V1__Signal *
signal_decode(struct store_txn *t, uint32_t org, const MDB_val *v)
{
	Vix__Store__V1__Signal *s = signal_unpack(t, v);

	if (s != NULL)
		signal_unkeep(s);
	if (s != NULL && contact_expand(LT(t)->txn, t->s->contacts, org,
	    s) == -1) {
		vix__store__v1__signal__free_unpacked(s, NULL);
		store_txn_fail(t, VIX_E_STORE);
		return NULL;
	}
	return s;
}

/*
 * What the record at key k holds that the domain does not write: the
 * number of its contact (returned; 0: none) and its kept audit links
 * (links, LINK_BUF bytes, filled to *len; 0: none).
 */
static uint64_t
signal_held(struct store_txn *t, struct key *k, uint8_t *links, size_t *len)
{
	Vix__Store__V1__Signal *s;
	uint64_t number;
	MDB_val v;

	*len = 0;
	if (st_get(t, t->s->signals, k, &v) != 0 ||
	    (s = signal_unpack(t, &v)) == NULL)
		return 0;
	number = s->contact;
	if (s->audit_links.len == 0)
		;	/* none kept */
	else if (s->audit_links.len <= LINK_BUF) {
		memcpy(links, s->audit_links.data, s->audit_links.len);
		*len = s->audit_links.len;
	} else {
		log_warnx("store: a signal record keeps audit links that do "
		    "not decode");
		store_txn_fail(t, VIX_E_STORE);
	}
	vix__store__v1__signal__free_unpacked(s, NULL);
	return number;
}

/*
 * rec under key k (pseudonym . org) with its contact interned: the
 * record names it by number, and the reference moves from contact old
 * (0: none) if the contact changed. It keeps the audit links links (len
 * bytes, as signal_held gives them).
 */
static void
signal_store(struct store_txn *t, struct key *k,
    const Vix__Store__V1__Signal *rec, uint64_t old, const uint8_t *links,
    size_t len)
{
	Vix__Store__V1__Signal stored = *rec;

	stored.contact = contact_refer(t, get_u32(k->b + PSEUDONYM_LEN), old,
	    rec->contact_name, rec->contact_phone, rec->contact_email);
	stored.contact_name = (char *)protobuf_c_empty_string;
	stored.contact_phone = (char *)protobuf_c_empty_string;
	stored.contact_email = (char *)protobuf_c_empty_string;
	stored.audit_links.data = (uint8_t *)links;
	stored.audit_links.len = len;
	st_put_msg(t, t->s->signals, k, &stored.base);
}

/* signals: pseudonym . org -> the signal. */
static Vix__Store__V1__Signal *
lmdb_signal_get(struct store_txn *t, const uint8_t *p, uint32_t org)
{
	struct key k;
	MDB_val v;

	signal_keys(&k, p, org);
	if (st_get(t, t->s->signals, &k, &v) != 0)
		return NULL;
	return signal_decode(t, org, &v);
}

/*
 * A new one (created: no record of org on p before) is indexed by org
 * (org_signals) and by id (signal_owner).
 */
static void
lmdb_signal_put(struct store_txn *t, const uint8_t *p, uint32_t org,
    const Vix__Store__V1__Signal *rec, int created)
{
	uint8_t links[LINK_BUF];
	size_t len = 0;
	uint64_t contact = 0;
	struct key k;

	signal_keys(&k, p, org);
	if (!created)
		contact = signal_held(t, &k, links, &len);
	signal_store(t, &k, rec, contact, len > 0 ? links : NULL, len);
	if (!created)
		return;
	org_signal_put(t, org, rec->id, p);
	signal_owner_put(t, rec->id, org);
}

static void
lmdb_signal_delete(struct store_txn *t, const uint8_t *p, uint32_t org,
    uint64_t id)
{
	uint8_t links[LINK_BUF];
	ProtobufCBinaryData kept;
	struct link_chunk c;
	struct key k;
	uint64_t contact;

	signal_keys(&k, p, org);
	contact = signal_held(t, &k, links, &kept.len);
	st_del(t, t->s->signals, &k);
	if (contact != 0)
		contact_release(t, org, contact);
	/* The links it kept outlive it, in a record of their own. */
	kept.data = links;
	if (kept.len > 0 && link_decode_kept(&kept, org, &c) != 0) {
		log_warnx("store: a signal record keeps audit links that do "
		    "not decode");
		store_txn_fail(t, VIX_E_STORE);
	} else if (kept.len > 0)
		link_put(t, p, c.seq, c.n);
	org_signal_del(t, org, id, p);
	signal_owner_del(t, id);
}

static void
lmdb_youth_signals(struct store_txn *t, const uint8_t *p,
    int (*fn)(void *, uint32_t, const Vix__Store__V1__Signal *), void *arg)
{
	MDB_cursor *cur = st_cursor(t, t->s->signals);
	struct key prefix;
	MDB_val k, v;
	int rc, stop = 0;

	if (cur == NULL)
		return;
	key_bytes(key_start(&prefix), p, PSEUDONYM_LEN);
	PREFIX_FOREACH(cur, &prefix, k, v, rc) {
		uint32_t org = get_u32((uint8_t *)k.mv_data + PSEUDONYM_LEN);
		Vix__Store__V1__Signal *s;

		if (k.mv_size != SIGNAL_KEY_LEN)
			continue;	/* audit links */
		if ((s = signal_decode(t, org, &v)) == NULL)
			break;
		stop = fn(arg, org, s);
		vix__store__v1__signal__free_unpacked(s, NULL);
		if (stop)
			break;
	}
	if (!stop && rc != 0 && rc != MDB_NOTFOUND)
		st_fail(t, rc, "scan signals");
	mdb_cursor_close(cur);
}

/*
 * archive: pseudonym . org . time . signal id (the id keeps two
 * archivings by one organisation within one second apart);
 * archive_time: time . archive key, for the purge after archive_days.
 */
static void
lmdb_archive_put(struct store_txn *t, const uint8_t *p,
    const Vix__Store__V1__Archived *rec)
{
	struct key k;

	key_u64(key_u64(key_u32(key_bytes(key_start(&k), p, PSEUDONYM_LEN),
	    rec->org), (uint64_t)rec->archived), rec->signal->id);
	st_put_msg(t, t->s->archive, &k, &rec->base);
	memmove(k.b + 8, k.b, k.n);
	k.n += 8;
	for (int i = 0; i < 8; i++)
		k.b[i] = (uint8_t)((uint64_t)rec->archived >> (8 * (7 - i)));
	st_put(t, t->s->archive_time, &k, "", 0);
}

/* fn for org's signals with an id after after, in id order (org_signals). */
static void
lmdb_org_signals(struct store_txn *t, uint32_t org, uint64_t after,
    int (*fn)(void *, const uint8_t *, const Vix__Store__V1__Signal *),
    void *arg)
{
	MDB_cursor *cur = st_cursor(t, t->s->org_signals);
	uint8_t p[PSEUDONYM_LEN];
	MDB_val k, v;
	int rc;

	if (cur == NULL || after == UINT64_MAX) {
		if (cur != NULL)
			mdb_cursor_close(cur);
		return;
	}
	rc = org_signal_seek(t, cur, org, after + 1, &v) ? 0 : MDB_NOTFOUND;
	for (; rc == 0 && t->err == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
		Vix__Store__V1__Signal *sig;
		int stop;

		/* The row's page may move under the callback's writes. */
		if (v.mv_size == ORG_SIGNAL_LEN)
			memcpy(p, (uint8_t *)v.mv_data + 8, PSEUDONYM_LEN);
		if (v.mv_size != ORG_SIGNAL_LEN ||
		    (sig = lmdb_signal_get(t, p, org)) == NULL) {
			store_txn_fail(t, VIX_E_STORE);
			break;
		}
		stop = fn(arg, p, sig);
		vix__store__v1__signal__free_unpacked(sig, NULL);
		if (stop)
			break;
	}
	mdb_cursor_close(cur);
}

/* fn for every archived signal of youth p (NULL: one that does not decode). */
static void
lmdb_youth_archive(struct store_txn *t, const uint8_t *p,
    int (*fn)(void *, const Vix__Store__V1__Archived *), void *arg)
{
	MDB_cursor *cur = st_cursor(t, t->s->archive);
	struct key prefix;
	MDB_val k, v;
	int rc, stop = 0;

	if (cur == NULL)
		return;
	key_bytes(key_start(&prefix), p, PSEUDONYM_LEN);
	PREFIX_FOREACH(cur, &prefix, k, v, rc) {
		Vix__Store__V1__Archived *a;

		if (k.mv_size < PSEUDONYM_LEN + 4)
			continue;
		a = vix__store__v1__archived__unpack(NULL, v.mv_size,
		    v.mv_data);
		stop = fn(arg, a);
		vix__store__v1__archived__free_unpacked(a, NULL);
		if (stop)
			break;
	}
	if (!stop && rc != 0 && rc != MDB_NOTFOUND)
		st_fail(t, rc, "scan");
	mdb_cursor_close(cur);
}

/* Every archived signal of youth p goes; fn learns each one's id. */
static void
lmdb_archive_erase(struct store_txn *t, const uint8_t *p,
    int (*fn)(void *, uint64_t), void *arg)
{
	struct key *keys, tk;
	size_t n;

	keys = youth_keys(t, t->s->archive, p, &n);
	for (size_t i = 0; i < n && t->err == 0; i++) {
		struct key *k = &keys[i];
		Vix__Store__V1__Archived *a;
		uint64_t id = 0;
		MDB_val v;

		if (k->n < PSEUDONYM_LEN + 12 ||
		    st_get(t, t->s->archive, k, &v) != 0)
			continue;
		if ((a = vix__store__v1__archived__unpack(NULL, v.mv_size,
		    v.mv_data)) != NULL && a->signal != NULL)
			id = a->signal->id;
		vix__store__v1__archived__free_unpacked(a, NULL);
		key_bytes(key_bytes(key_start(&tk), k->b + PSEUDONYM_LEN + 4,
		    8), k->b, k->n);
		st_del(t, t->s->archive_time, &tk);
		st_del(t, t->s->archive, k);
		if (fn(arg, id) != 0)
			break;
	}
	free(keys);
}

/* fn for the seq of every audit record linked to youth p, in order. */
static void
lmdb_youth_audit(struct store_txn *t, const uint8_t *p,
    int (*fn)(void *, uint64_t), void *arg)
{
	struct youth_links l;
	int stop = 0;

	if (youth_links(t, p, &l) != 0)
		return;
	for (size_t i = 0; i < l.n && !stop; i++)
		for (size_t j = 0; j < l.c[i].n && !stop; j++)
			stop = fn(arg, l.c[i].seq[j]);
	free(l.c);
}

/* Youth p's links go, those of their own and those its signals keep. */
static void
lmdb_youth_audit_unlink(struct store_txn *t, const uint8_t *p)
{
	struct youth_links l;
	struct key k;

	if (youth_links(t, p, &l) != 0)
		return;
	for (size_t i = 0; i < l.n && t->err == 0; i++) {
		if (l.c[i].kept) {
			link_keep(t, p, l.c[i].org, NULL, 0);
			continue;
		}
		key_u64(key_bytes(key_start(&k), p, PSEUDONYM_LEN),
		    l.c[i].seq[0]);
		st_del(t, t->s->signals, &k);
	}
	free(l.c);
}

/* The audit record seq: 1 and rec filled, or 0 (none; damaged: error). */
static int
lmdb_audit_get(struct store_txn *t, uint64_t seq,
    struct store_audit_record *rec)
{
	struct key k;
	MDB_val v;

	key_u64(key_start(&k), seq);
	if (st_get(t, t->s->audit, &k, &v) != 0)
		return 0;
	if (audit_value_decode(t, seq, &v, rec) != 0) {
		store_txn_fail(t, VIX_E_STORE);
		return 0;
	}
	return 1;
}

/* meta "newsig:" . org -> day . count (big-endian u64s). */
static int
lmdb_new_signals_get(struct store_txn *t, uint32_t org, uint64_t *day,
    uint64_t *count)
{
	struct key k;
	MDB_val v;

	key_u32(key_bytes(key_start(&k), "newsig:", 7), org);
	if (st_get(t, t->s->meta, &k, &v) != 0 || v.mv_size != 16)
		return 0;
	*day = get_u64(v.mv_data);
	*count = get_u64((const uint8_t *)v.mv_data + 8);
	return 1;
}

static void
lmdb_new_signals_put(struct store_txn *t, uint32_t org, uint64_t day,
    uint64_t count)
{
	uint8_t buf[16];
	struct key k;

	key_u32(key_bytes(key_start(&k), "newsig:", 7), org);
	for (int i = 0; i < 8; i++) {
		buf[i] = (uint8_t)(day >> (8 * (7 - i)));
		buf[8 + i] = (uint8_t)(count >> (8 * (7 - i)));
	}
	st_put(t, t->s->meta, &k, buf, sizeof(buf));
}

/* ---- matches and due items ------------------------------------------ */

/*
 * A youth's open match, from schema 12 in signals beside its signals
 * under the pseudonym alone (MATCH_KEY_LEN); match_ids: its id ->
 * pseudonym.
 */
static int
lmdb_match_get(struct store_txn *t, const uint8_t *p, struct store_match *m)
{
	Vix__Store__V1__Match *rec;
	struct key k;
	MDB_val v;

	key_bytes(key_start(&k), p, MATCH_KEY_LEN);
	if (st_get(t, t->s->signals, &k, &v) != 0)
		return 0;
	if ((rec = vix__store__v1__match__unpack(NULL, v.mv_size,
	    v.mv_data)) == NULL) {
		t->err = VIX_E_STORE;
		return 0;
	}
	store_match_from_record(m, rec);
	vix__store__v1__match__free_unpacked(rec, NULL);
	return 1;
}

static void
lmdb_match_put(struct store_txn *t, const uint8_t *p,
    const struct store_match *m, int created)
{
	Vix__Store__V1__Match rec = VIX__STORE__V1__MATCH__INIT;
	struct key k;

	store_match_to_record(&rec, m);
	key_bytes(key_start(&k), p, MATCH_KEY_LEN);
	st_put_msg(t, t->s->signals, &k, &rec.base);
	if (created) {
		key_u64(key_start(&k), m->id);
		st_put(t, t->s->match_ids, &k, p, PSEUDONYM_LEN);
	}
}

static void
lmdb_match_delete(struct store_txn *t, const uint8_t *p, uint64_t id)
{
	struct key k;

	key_bytes(key_start(&k), p, MATCH_KEY_LEN);
	st_del(t, t->s->signals, &k);
	key_u64(key_start(&k), id);
	st_del(t, t->s->match_ids, &k);
}

/*
 * expiry_due, escalate_due (schema 11): time -> id, sorted duplicates of
 * 8 bytes, so in time then id order. The signals registered in one
 * second expire in one second too, and their ids share a key: 8 bytes a
 * signal under load, where time . id -> empty took 26 a row.
 */
static MDB_dbi
due_db(struct store_txn *t, enum store_due kind)
{
	return kind == STORE_DUE_EXPIRY ? t->s->expiry_due : t->s->escalate_due;
}

static void
lmdb_due_put(struct store_txn *t, enum store_due kind, int64_t when,
    uint64_t id)
{
	struct key k, v;

	key_u64(key_start(&k), (uint64_t)when);
	key_u64(key_start(&v), id);
	dup_put(t, due_db(t, kind), &k, v.b, v.n, "put due");
}

static void
lmdb_due_delete(struct store_txn *t, enum store_due kind, int64_t when,
    uint64_t id)
{
	struct key k, v;

	key_u64(key_start(&k), (uint64_t)when);
	key_u64(key_start(&v), id);
	dup_del(t, due_db(t, kind), &k, v.b, v.n, "del due");
}

static size_t
lmdb_due_scan(struct store_txn *t, enum store_due kind, int64_t until,
    struct store_due_item *out, size_t max)
{
	MDB_cursor *cur = st_cursor(t, due_db(t, kind));
	MDB_val k, v;
	size_t n = 0;
	int rc;

	if (cur == NULL)
		return 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	    rc == 0 && n < max && k.mv_size == 8 && v.mv_size == 8 &&
	    get_u64(k.mv_data) <= (uint64_t)until;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
		out[n].when = (int64_t)get_u64(k.mv_data);
		out[n].id = get_u64(v.mv_data);
	}
	if (rc == 0 && n < max && (k.mv_size != 8 || v.mv_size != 8)) {
		log_warnx("store: a due row has the wrong size");
		store_txn_fail(t, VIX_E_STORE);
	}
	mdb_cursor_close(cur);
	return n;
}

/* The keys of db (time . rest) due by until, at most max, into out. */
static size_t
due_keys(struct store_txn *t, MDB_dbi db, uint64_t until, struct key *out,
    size_t max)
{
	MDB_cursor *cur = st_cursor(t, db);
	MDB_val k, v;
	size_t n = 0;
	int rc;

	if (cur == NULL)
		return 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	    rc == 0 && n < max && k.mv_size >= 8 && k.mv_size <= KEY_MAX &&
	    get_u64(k.mv_data) <= until;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), n++) {
		memcpy(out[n].b, k.mv_data, k.mv_size);
		out[n].n = k.mv_size;
	}
	mdb_cursor_close(cur);
	return n;
}

/* archive_time: archived time . archive key -> empty. */
static size_t
lmdb_archive_purge(struct store_txn *t, int64_t cutoff, size_t max, int *more)
{
	struct key *keys = calloc(max, sizeof(*keys)), ak;
	size_t n;

	if (keys == NULL || cutoff < 0) {
		free(keys);
		t->err = keys == NULL ? VIX_E_STORE : t->err;
		return 0;
	}
	n = due_keys(t, t->s->archive_time, (uint64_t)cutoff, keys, max);
	for (size_t i = 0; i < n && t->err == 0; i++) {
		key_bytes(key_start(&ak), keys[i].b + 8, keys[i].n - 8);
		st_del(t, t->s->archive, &ak);
		st_del(t, t->s->archive_time, &keys[i]);
	}
	*more |= n == max;
	free(keys);
	return n;
}


/* ---- outbox rows ----------------------------------------------------- */


/* outbox: recipient . seq -> the notification, indexed by its youth. */
static void
lmdb_outbox_put(struct store_txn *t, uint32_t recipient, uint64_t seq,
    const void *row, size_t len, const uint8_t *youth)
{
	struct key k;

	key_u64(key_u32(key_start(&k), recipient), seq);
	st_put(t, t->s->outbox, &k, row, len);
	if (youth != NULL)
		outbox_index(t, youth, recipient, seq);
	store_txn_touch(t, recipient);
}

/* ---- the audit chain's records --------------------------------------- */

/*
 * The head of the last chain (this writer's) as the transaction sees it,
 * from meta (seq 0 and a zero hash when empty): read, not remembered, so
 * that a record is chained to the one before it in the same transaction,
 * whoever wrote that.
 */
static void
lmdb_audit_head(struct store_txn *t, uint64_t *seq, uint8_t *hash)
{
	MDB_cursor *cur = st_cursor(t, t->s->meta);
	struct audit_head h = { 0 };
	struct key k;
	MDB_val kv, v;
	int rc;

	if (cur != NULL) {
		/* Past every head's key (chains are below 2^24), then back. */
		audit_head_key(&k, UINT32_MAX);
		kv = key_val(&k);
		rc = mdb_cursor_get(cur, &kv, &v, MDB_SET_RANGE);
		if (rc == 0 || rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(cur, &kv, &v, rc == 0 ? MDB_PREV :
			    MDB_LAST);
		if (rc == 0 && audit_head_is(&kv) &&
		    audit_head_decode(&v, &h) == -1)
			memset(&h, 0, sizeof(h));
		else if (rc != 0 && rc != MDB_NOTFOUND)
			st_fail(t, rc, "audit head");
		mdb_cursor_close(cur);
	}
	*seq = h.seq;
	memcpy(hash, h.hash, HASH_LEN);
}

/*
 * audit: seq -> record (compact where it comes back byte for byte), at a
 * checkpoint . hash; meta: the chain's head; signals: the youth's link
 * to it (audit_link). Appended: seqs only grow, so the pages fill, and a
 * seq that is there already (a head in meta behind its records) is
 * refused.
 */
static void
lmdb_audit_append(struct store_txn *t, uint64_t seq, const void *record,
    size_t len, const uint8_t *hash, const uint8_t *youth)
{
	uint8_t buf[AUDIT_MAX + HASH_LEN];
	struct key k;
	MDB_val kv, vv;
	size_t n;
	int rc;

	if (len > AUDIT_MAX) {
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	if ((n = audit_compact(t, seq, record, len, buf)) == 0) {
		memcpy(buf, record, len);
		n = len;
	}
	if (audit_checkpoint(seq)) {
		memcpy(buf + n, hash, HASH_LEN);
		n += HASH_LEN;
	}
	key_u64(key_start(&k), seq);
	kv = key_val(&k);
	vv = (MDB_val){ .mv_size = n, .mv_data = buf };
	if (t->err == 0 && (rc = mdb_put(LT(t)->txn, t->s->audit, &kv, &vv,
	    MDB_APPEND)) != 0) {
		if (rc == MDB_KEYEXIST)
			log_warnx("store: audit record %llu is there already: "
			    "the chain's head in meta is behind its records "
			    "(vixctl audit verify names where)",
			    (unsigned long long)seq);
		st_fail(t, rc, "put audit");
	}
	audit_head_put(t, seq, hash);
	if (youth != NULL)
		audit_link(t, youth, seq, 1);
}

/*
 * A walk of the audit records in seq order with the heads of their
 * chains (meta, in chain order), for audit_scan and the export: each
 * record is given its kept hash, the last of a chain its head's; where
 * the records and the heads disagree (a tail removed, a record added
 * after the head, a chain without a head or a head without records)
 * fn is given a record it cannot read (len 0), so that the chain fails.
 */
struct audit_walk {
	MDB_txn			*txn;
	struct store_impl	*s;
	int			(*fn)(void *, uint64_t, const void *, size_t,
				    const uint8_t *);
	void			*arg;
	MDB_cursor		*heads;		/* meta */
	int			 have;		/* head is the next chain's */
	uint32_t		 chain;		/* head's */
	struct audit_head	 head;
	uint64_t		 last;		/* the chain's last record so far */
};

/* The next head after the cursor (first: the first one). */
static void
walk_head_next(struct audit_walk *w, int first)
{
	struct key k;
	MDB_val kv, v;
	int rc;

	audit_head_key(&k, 0);
	kv = key_val(&k);
	rc = mdb_cursor_get(w->heads, &kv, &v, first ? MDB_SET_RANGE :
	    MDB_NEXT);
	/* A head's key with a value that is not one: as if it had none. */
	while (rc == 0 && audit_head_is(&kv) && audit_head_decode(&v,
	    &w->head) == -1)
		rc = mdb_cursor_get(w->heads, &kv, &v, MDB_NEXT);
	w->have = rc == 0 && audit_head_is(&kv);
	if (w->have)
		w->chain = get_u32((uint8_t *)kv.mv_data + strlen(AUDIT_HEAD));
}

/* Heads of chains before chain (all: every one left) with no records. */
static int
walk_orphans(struct audit_walk *w, uint32_t chain, int all)
{
	int err = 0;

	while (err == 0 && w->have && (all || w->chain < chain)) {
		err = w->fn(w->arg, w->head.seq, NULL, 0, NULL);
		walk_head_next(w, 0);
	}
	return err;
}

/* The chain of w->last ends there: its head must be that record's. */
static int
walk_chain_end(struct audit_walk *w)
{
	uint64_t head = 0;

	if (w->have && w->chain == STORE_AUDIT_CHAIN(w->last)) {
		head = w->head.seq;
		walk_head_next(w, 0);
	}
	if (head == w->last)
		return 0;
	return w->fn(w->arg, head > w->last ? head : w->last + 1, NULL, 0,
	    NULL);
}

static int
walk_record(struct audit_walk *w, uint64_t seq, const MDB_val *v)
{
	int mine = w->have && w->chain == STORE_AUDIT_CHAIN(seq);
	struct audit_value av;
	const uint8_t *given;

	if (audit_value_read(w->txn, w->s->meta, seq, v, audit_checkpoint(seq),
	    &av) != 0)
		return w->fn(w->arg, seq, v->mv_data, 0, NULL);
	given = av.hash;
	if (mine && seq == w->head.seq) {
		/* A checkpoint that is the head: the two must agree. */
		if (given != NULL && memcmp(given, w->head.hash, HASH_LEN) != 0)
			return w->fn(w->arg, seq, av.record, 0, NULL);
		given = w->head.hash;
	}
	return w->fn(w->arg, seq, av.record, av.len, given);
}

static int
audit_walk(struct audit_walk *w)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, err = 0;

	if ((rc = mdb_cursor_open(w->txn, w->s->meta, &w->heads)) != 0)
		return mdb_to_err(rc, "cursor");
	if ((rc = mdb_cursor_open(w->txn, w->s->audit, &cur)) != 0) {
		mdb_cursor_close(w->heads);
		return mdb_to_err(rc, "cursor");
	}
	walk_head_next(w, 1);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && err == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		/* A damaged key: seq 0, which no chain expects. */
		uint64_t seq = k.mv_size == 8 ? get_u64(k.mv_data) : 0;

		if (w->last != 0 && STORE_AUDIT_CHAIN(seq) !=
		    STORE_AUDIT_CHAIN(w->last))
			err = walk_chain_end(w);
		if (err == 0)
			err = walk_orphans(w, (uint32_t)STORE_AUDIT_CHAIN(seq),
			    0);
		if (err == 0)
			err = walk_record(w, seq, &v);
		w->last = seq;
	}
	if (err == 0 && rc != MDB_NOTFOUND)
		err = mdb_to_err(rc, "audit scan");
	if (err == 0 && w->last != 0)
		err = walk_chain_end(w);
	if (err == 0)
		err = walk_orphans(w, 0, 1);
	mdb_cursor_close(cur);
	mdb_cursor_close(w->heads);
	return err;
}

static int
lmdb_audit_scan(struct store_reader *r, int (*fn)(void *, uint64_t,
    const void *, size_t, const uint8_t *), void *arg)
{
	struct audit_walk w = { .s = r->s, .fn = fn, .arg = arg };
	int err;

	if ((err = reader_begin(r)) != 0)
		return err;
	w.txn = LR(r)->txn;
	err = audit_walk(&w);
	reader_end(r);
	return err;
}

/* Whether db has a key beginning with youth p. */
static int
prefix_held(struct store_txn *t, MDB_dbi db, const uint8_t *p)
{
	MDB_cursor *cur = st_cursor(t, db);
	struct key prefix;
	MDB_val k, v;
	int rc, found = 0;

	if (cur == NULL)
		return 0;
	key_bytes(key_start(&prefix), p, PSEUDONYM_LEN);
	PREFIX_FOREACH(cur, &prefix, k, v, rc) {
		found = 1;
		break;
	}
	if (!found && rc != 0 && rc != MDB_NOTFOUND)
		st_fail(t, rc, "scan");
	mdb_cursor_close(cur);
	return found;
}

/* Whether any audit record is linked to youth p. */
static int
lmdb_youth_audited(struct store_txn *t, const uint8_t *p)
{
	struct youth_links l;

	if (youth_links(t, p, &l) != 0)
		return 0;
	free(l.c);
	return l.n > 0;
}

/* signal_owner: signal id -> org; then the youth from org's org_signals. */
static int
lmdb_signal_locate(struct store_txn *t, uint64_t id, uint8_t *p,
    uint32_t *org)
{
	MDB_cursor *cur;
	MDB_val v;
	uint32_t owner;
	int found;

	if ((found = signal_owner_get(t, id, &owner)) != 1)
		return found;
	if ((cur = st_cursor(t, t->s->org_signals)) == NULL)
		return -1;
	found = org_signal_seek(t, cur, owner, id, &v);
	if (found == 1 && get_u64(v.mv_data) == id) {
		memcpy(p, (uint8_t *)v.mv_data + 8, PSEUDONYM_LEN);
		if (org != NULL)
			*org = owner;
	} else
		found = -1;	/* signal_owner names a row that is not there */
	mdb_cursor_close(cur);
	return found;
}

static int
lmdb_match_youth(struct store_txn *t, uint64_t match_id, uint8_t *p)
{
	struct key k;
	MDB_val v;

	key_u64(key_start(&k), match_id);
	if (st_get(t, t->s->match_ids, &k, &v) != 0 ||
	    v.mv_size != PSEUDONYM_LEN)
		return 0;
	memcpy(p, v.mv_data, PSEUDONYM_LEN);
	return 1;
}

/* ---- moving a youth (key rotation) ------------------------------------ */

/*
 * The databases whose keys begin with the youth, in the order the
 * rotation's scan visits them. The others name it in their values or
 * behind a time (org_signals, match_ids, outbox_youth, archive_time):
 * those follow a moved record (move_fix_*).
 */
#define LMDB_YOUTH_TABLES	5
/*
 * The rotation's scan visits the family index too, whose keys begin with
 * a parent: the domain moves its entries (store_youth_move).
 */
#define LMDB_SCAN_TABLES	(LMDB_YOUTH_TABLES + 1)

/*
 * youth_audit is empty from schema 10 (its links are in signals), matches
 * and youth_outbox from schema 12 (likewise); each keeps its place, so
 * that the table numbers of a rotation's cursor keep their meaning (the
 * conversion that fills signals from them restarts a rotation under way:
 * migrate_mark).
 */
static MDB_dbi
youth_db(const struct store_impl *s, unsigned table)
{
	const MDB_dbi dbs[LMDB_SCAN_TABLES] = { s->signals, s->matches,
	    s->archive, s->youth_audit, s->youth_outbox, s->family };

	return dbs[table];
}

static int
lmdb_youth_held(struct store_txn *t, const uint8_t *p)
{
	for (unsigned i = 0; i < LMDB_YOUTH_TABLES && t->err == 0; i++)
		if (prefix_held(t, youth_db(t->s, i), p))
			return 1;
	return 0;
}

/* After a record moved from key `from` to key `to` (value v). */
typedef void (*move_fix)(struct store_txn *, const struct key *from,
    const struct key *to, const MDB_val *v);

/* org_signals: org -> id . youth (signal_owner names no youth). */
static void
move_fix_signal(struct store_txn *t, const struct key *from,
    const struct key *to, const MDB_val *v)
{
	Vix__Store__V1__Signal *rec;
	uint32_t org = get_u32(to->b + PSEUDONYM_LEN);

	if ((rec = signal_unpack(t, v)) == NULL)
		return;
	org_signal_del(t, org, rec->id, from->b);
	org_signal_put(t, org, rec->id, to->b);
	vix__store__v1__signal__free_unpacked(rec, NULL);
}

/* match_ids: id -> youth. */
static void
move_fix_match(struct store_txn *t, const struct key *from,
    const struct key *to, const MDB_val *v)
{
	Vix__Store__V1__Match *rec = vix__store__v1__match__unpack(NULL,
	    v->mv_size, v->mv_data);
	struct key k;

	if (rec == NULL) {
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	key_u64(key_start(&k), rec->id);
	st_put(t, t->s->match_ids, &k, to->b, PSEUDONYM_LEN);
	vix__store__v1__match__free_unpacked(rec, NULL);
}

/* archive_time: time . archive key, the time behind youth . org. */
static void
move_fix_archived(struct store_txn *t, const struct key *from,
    const struct key *to, const MDB_val *v)
{
	struct key k;

	if (from->n < PSEUDONYM_LEN + 12)
		return;
	key_bytes(key_bytes(key_start(&k), from->b + PSEUDONYM_LEN + 4, 8),
	    from->b, from->n);
	st_del(t, t->s->archive_time, &k);
	key_bytes(key_bytes(key_start(&k), to->b + PSEUDONYM_LEN + 4, 8),
	    to->b, to->n);
	st_put(t, t->s->archive_time, &k, "", 0);
}

/* outbox_youth: recipient . seq -> youth. */
static void
move_fix_outbox(struct store_txn *t, const struct key *from,
    const struct key *to, const MDB_val *v)
{
	struct key k;

	if (to->n != OUTBOX_KEY_LEN)
		return;
	key_bytes(key_start(&k), to->b + PSEUDONYM_LEN, 12);
	st_put(t, t->s->outbox_youth, &k, to->b, PSEUDONYM_LEN);
}

/*
 * signals holds a youth's signals and, beside them, its match, its outbox
 * index and its audit links (nothing names a link's key): each kind by
 * the size of its key.
 */
static void
move_fix_beside(struct store_txn *t, const struct key *from,
    const struct key *to, const MDB_val *v)
{
	if (to->n == SIGNAL_KEY_LEN)
		move_fix_signal(t, from, to, v);
	else if (to->n == MATCH_KEY_LEN)
		move_fix_match(t, from, to, v);
	else if (to->n == OUTBOX_KEY_LEN)
		move_fix_outbox(t, from, to, v);
}

/* db's records under from go under to, each fixed up by fix. */
static size_t
move_prefixed(struct store_txn *t, MDB_dbi db, const uint8_t *from,
    const uint8_t *to, move_fix fix)
{
	struct key *keys, nk;
	size_t n, moved = 0;
	MDB_val v;

	keys = youth_keys(t, db, from, &n);
	for (size_t i = 0; i < n && t->err == 0; i++) {
		uint8_t *copy;

		if (st_get(t, db, &keys[i], &v) != 0)
			continue;
		/* v is in a page that the puts below may move. */
		if ((copy = malloc(v.mv_size ? v.mv_size : 1)) == NULL) {
			store_txn_fail(t, VIX_E_STORE);
			break;
		}
		memcpy(copy, v.mv_data, v.mv_size);
		v.mv_data = copy;
		key_bytes(key_bytes(key_start(&nk), to, PSEUDONYM_LEN),
		    keys[i].b + PSEUDONYM_LEN, keys[i].n - PSEUDONYM_LEN);
		st_del(t, db, &keys[i]);
		st_put(t, db, &nk, copy, v.mv_size);
		if (fix != NULL)
			fix(t, &keys[i], &nk, &v);
		free(copy);
		moved++;
	}
	free(keys);
	return moved;
}

static size_t
lmdb_youth_move(struct store_txn *t, const uint8_t *from, const uint8_t *to)
{
	const move_fix fixes[LMDB_YOUTH_TABLES] = { move_fix_beside,
	    move_fix_match, move_fix_archived, NULL, move_fix_outbox };
	size_t moved = 0;

	if (to == NULL)
		return 0;	/* nothing names a youth without records */
	for (unsigned i = 0; i < LMDB_YOUTH_TABLES && t->err == 0; i++)
		moved += move_prefixed(t, youth_db(t->s, i), from, to,
		    fixes[i]);
	return moved;
}

/* p becomes the next pseudonym in byte order; 0 if p was the last. */
static int
youth_successor(uint8_t *p)
{
	for (int i = PSEUDONYM_LEN - 1; i >= 0; i--)
		if (++p[i] != 0)
			return 1;
	return 0;
}

/* One seek per youth: a youth's many keys cost one visit. */
static int
lmdb_youth_next(struct store_txn *t, unsigned table, const uint8_t *after,
    uint8_t (*out)[PSEUDONYM_LEN], size_t max, size_t *n, size_t *visited)
{
	uint8_t next[PSEUDONYM_LEN] = { 0 };
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, end = 0;

	*n = *visited = 0;
	if (table >= LMDB_SCAN_TABLES)
		return 1;
	if ((cur = st_cursor(t, youth_db(t->s, table))) == NULL)
		return 0;
	if (after != NULL) {
		memcpy(next, after, PSEUDONYM_LEN);
		end = !youth_successor(next);
	}
	while (!end && *n < max) {
		k = (MDB_val){ .mv_size = PSEUDONYM_LEN, .mv_data = next };
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) != 0) {
			if (rc != MDB_NOTFOUND)
				st_fail(t, rc, "scan youths");
			end = rc == MDB_NOTFOUND;
			break;
		}
		(*visited)++;
		if (k.mv_size < PSEUDONYM_LEN) {
			store_txn_fail(t, VIX_E_STORE);
			break;
		}
		memcpy(out[(*n)++], k.mv_data, PSEUDONYM_LEN);
		memcpy(next, k.mv_data, PSEUDONYM_LEN);
		end = !youth_successor(next);
	}
	mdb_cursor_close(cur);
	return end;
}

/* ---- the family index ------------------------------------------------- */

/* family: parent . youth . org -> signal id. */
static struct key *
family_key(struct key *k, const uint8_t *parent, const uint8_t *youth,
    uint32_t org)
{
	return key_u32(key_bytes(key_bytes(key_start(k), parent,
	    PSEUDONYM_LEN), youth, PSEUDONYM_LEN), org);
}

static void
lmdb_family_put(struct store_txn *t, const uint8_t *parent,
    const uint8_t *youth, uint32_t org, uint64_t signal_id)
{
	struct key k, v;

	key_u64(key_start(&v), signal_id);
	st_put(t, t->s->family, family_key(&k, parent, youth, org), v.b, v.n);
}

static void
lmdb_family_delete(struct store_txn *t, const uint8_t *parent,
    const uint8_t *youth, uint32_t org)
{
	struct key k;

	st_del(t, t->s->family, family_key(&k, parent, youth, org));
}

static void
lmdb_family_scan(struct store_txn *t, const uint8_t *parent,
    int (*fn)(void *, const uint8_t *, uint32_t, uint64_t), void *arg)
{
	MDB_cursor *cur = st_cursor(t, t->s->family);
	struct key prefix;
	MDB_val k, v;
	int rc, stop = 0;

	if (cur == NULL)
		return;
	key_bytes(key_start(&prefix), parent, PSEUDONYM_LEN);
	PREFIX_FOREACH(cur, &prefix, k, v, rc) {
		const uint8_t *b = k.mv_data;

		if (k.mv_size != 2 * PSEUDONYM_LEN + 4 || v.mv_size != 8) {
			store_txn_fail(t, VIX_E_STORE);
			stop = 1;
			break;
		}
		if ((stop = fn(arg, b + PSEUDONYM_LEN, get_u32(b + 2 *
		    PSEUDONYM_LEN), get_u64(v.mv_data))) != 0)
			break;
	}
	if (!stop && rc != 0 && rc != MDB_NOTFOUND)
		st_fail(t, rc, "scan");
	mdb_cursor_close(cur);
}

/* meta: the caller's values, under keys the domain gave a prefix of its own. */
static int
lmdb_meta_get(struct store_txn *t, const char *key, char *buf, size_t len)
{
	struct key k;
	MDB_val v;

	key_bytes(key_start(&k), key, strlen(key));
	if (st_get(t, t->s->meta, &k, &v) != 0)
		return 0;
	if (v.mv_size >= len)
		return -1;
	memcpy(buf, v.mv_data, v.mv_size);
	buf[v.mv_size] = '\0';
	return 1;
}

static void
lmdb_meta_put(struct store_txn *t, const char *key, const char *value)
{
	struct key k;

	key_bytes(key_start(&k), key, strlen(key));
	if (value == NULL)
		st_del(t, t->s->meta, &k);
	else
		st_put(t, t->s->meta, &k, value, strlen(value));
}

/* ---- the backend table ----------------------------------------------- */

/* ---- copying a whole store (store_import) ----------------------------- */

struct walk {
	MDB_txn			*txn;
	const struct store_sink	*sink;
	void			*arg;
	struct store_impl	*s;
};

/* fn for every entry of db, until it returns non-zero (returned). */
static int
walk_db(struct walk *w, MDB_dbi db, int (*fn)(struct walk *, MDB_val *,
    MDB_val *))
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, err = 0;

	if ((rc = mdb_cursor_open(w->txn, db, &cur)) != 0)
		return mdb_to_err(rc, "export: cursor");
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && err == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		err = fn(w, &k, &v);
	mdb_cursor_close(cur);
	if (err == 0 && rc != MDB_NOTFOUND)
		err = mdb_to_err(rc, "export: scan");
	return err;
}

static int
key_is(const MDB_val *k, const char *prefix, size_t rest)
{
	size_t n = strlen(prefix);

	return k->mv_size == n + rest && memcmp(k->mv_data, prefix, n) == 0;
}

/* A caller's value (store_meta_put), as text. */
static int
export_caller_meta(struct walk *w, MDB_val *k, MDB_val *v)
{
	char key[KEY_MAX + 1], value[STORE_META_VALUE_MAX + 1];

	if (k->mv_size > KEY_MAX || v->mv_size > STORE_META_VALUE_MAX) {
		log_warnx("export: a meta value is longer than a caller's");
		return VIX_E_STORE;
	}
	memcpy(key, k->mv_data, k->mv_size);
	key[k->mv_size] = '\0';
	memcpy(value, v->mv_data, v->mv_size);
	value[v->mv_size] = '\0';
	return w->sink->meta(w->arg, key, value);
}

/*
 * meta: the key id, organisations, allocators, outbox seqs, counts, caps,
 * the caller's values.
 */
static int
export_meta(struct walk *w, MDB_val *k, MDB_val *v)
{
	const struct store_sink *sk = w->sink;
	const uint8_t *kb = k->mv_data, *vb = v->mv_data;
	char text[OIN_LEN + 1 > 65 ? OIN_LEN + 1 : 65];

	if (key_is(k, "key_id", 0) && v->mv_size < sizeof(text)) {
		memcpy(text, vb, v->mv_size);
		text[v->mv_size] = '\0';
		return sk->key_id(w->arg, text);
	}
	if (key_is(k, "org:", OIN_LEN) && v->mv_size == 4) {
		memcpy(text, kb + 4, OIN_LEN);
		text[OIN_LEN] = '\0';
		return sk->org(w->arg, text, get_u32(vb));
	}
	for (int i = 0; i < 3; i++)
		if (key_is(k, id_names[i], 0) && v->mv_size == 8)
			return sk->id_next(w->arg, (enum store_id)i,
			    get_u64(vb));
	for (int i = 0; i < 3; i++)
		if (key_is(k, count_names[i], 0) && v->mv_size == 8)
			return sk->count(w->arg, (enum store_count)i,
			    get_u64(vb));
	if (key_is(k, "oseq:", 4) && v->mv_size == 8)
		return sk->outbox_next(w->arg, get_u32(kb + 5), get_u64(vb));
	if (key_is(k, "newsig:", 4) && v->mv_size == 16)
		return sk->new_signals(w->arg, get_u32(kb + 7), get_u64(vb),
		    get_u64(vb + 8));
	if (k->mv_size > strlen(STORE_META_PREFIX) && memcmp(kb,
	    STORE_META_PREFIX, strlen(STORE_META_PREFIX)) == 0)
		return export_caller_meta(w, k, v);
	return 0;	/* the schema version: the target has its own */
}

static int
export_signal(struct walk *w, MDB_val *k, MDB_val *v)
{
	Vix__Store__V1__Signal *rec;
	uint32_t org;
	int err;

	if (k->mv_size == LINK_KEY_LEN || k->mv_size == MATCH_KEY_LEN ||
	    k->mv_size == OUTBOX_KEY_LEN)
		return 0;	/* the links after the chain, matches after */
	if (k->mv_size != SIGNAL_KEY_LEN || (rec = signal_unpack(NULL,
	    v)) == NULL) {
		log_warnx("export: a signal record does not decode");
		return VIX_E_STORE;
	}
	/* Written expanded: the target interns it again, or keeps rows. */
	org = get_u32((uint8_t *)k->mv_data + PSEUDONYM_LEN);
	signal_unkeep(rec);	/* the links after the chain */
	if (contact_expand(w->txn, w->s->contacts, org, rec) == -1) {
		vix__store__v1__signal__free_unpacked(rec, NULL);
		return VIX_E_STORE;
	}
	err = w->sink->signal(w->arg, k->mv_data, org, rec);
	vix__store__v1__signal__free_unpacked(rec, NULL);
	return err;
}

static int
export_match(struct walk *w, MDB_val *k, MDB_val *v)
{
	Vix__Store__V1__Match *rec;
	struct store_match m;

	if (k->mv_size != MATCH_KEY_LEN)
		return 0;	/* the youth's other records beside it */
	if ((rec = vix__store__v1__match__unpack(NULL, v->mv_size,
	    v->mv_data)) == NULL) {
		log_warnx("export: a match record does not decode");
		return VIX_E_STORE;
	}
	store_match_from_record(&m, rec);
	vix__store__v1__match__free_unpacked(rec, NULL);
	return w->sink->match(w->arg, k->mv_data, &m);
}

static int
export_archived(struct walk *w, MDB_val *k, MDB_val *v)
{
	Vix__Store__V1__Archived *rec;
	int err;

	if (k->mv_size < PSEUDONYM_LEN || (rec =
	    vix__store__v1__archived__unpack(NULL, v->mv_size,
	    v->mv_data)) == NULL || rec->signal == NULL) {
		log_warnx("export: an archived signal does not decode");
		return VIX_E_STORE;
	}
	err = w->sink->archived(w->arg, k->mv_data, rec);
	vix__store__v1__archived__free_unpacked(rec, NULL);
	return err;
}

static int
export_due(struct walk *w, MDB_val *k, MDB_val *v, enum store_due kind)
{
	if (k->mv_size != 8 || v->mv_size != 8)
		return VIX_E_STORE;
	return w->sink->due(w->arg, kind, (int64_t)get_u64(k->mv_data),
	    get_u64(v->mv_data));
}

static int
export_expiry(struct walk *w, MDB_val *k, MDB_val *v)
{
	return export_due(w, k, v, STORE_DUE_EXPIRY);
}

static int
export_escalate(struct walk *w, MDB_val *k, MDB_val *v)
{
	return export_due(w, k, v, STORE_DUE_ESCALATE);
}

/* An outbox row, with the youth its index names (if any). */
static int
export_outbox(struct walk *w, MDB_val *k, MDB_val *v)
{
	const uint8_t *kb = k->mv_data, *youth = NULL;
	MDB_val yk = *k, yv;

	if (k->mv_size != 12)
		return VIX_E_STORE;
	if (mdb_get(w->txn, w->s->outbox_youth, &yk, &yv) == 0 &&
	    yv.mv_size == PSEUDONYM_LEN)
		youth = yv.mv_data;
	return w->sink->outbox(w->arg, get_u32(kb), get_u64(kb + 4),
	    v->mv_data, v->mv_size, youth);
}

static int
export_cursor(struct walk *w, MDB_val *k, MDB_val *v)
{
	const uint8_t *kb = k->mv_data;

	if (k->mv_size != 8 || v->mv_size != 8)
		return VIX_E_STORE;
	return w->sink->cursor(w->arg, get_u32(kb), get_u32(kb + 4),
	    get_u64(v->mv_data));
}

/*
 * The audit records with the hash of each, computed while walking (a
 * record keeps its own only at a checkpoint) and compared with every
 * hash kept: a broken chain is not copied.
 */
struct export_chain {
	struct walk		*w;
	struct audit_chain	 c;
};

static int
export_audit_one(void *arg, uint64_t seq, const void *record, size_t len,
    const uint8_t *hash)
{
	struct export_chain *x = arg;

	if (audit_chain_follow(&x->c, seq, record, len, hash) == -1) {
		log_warnx("export: the audit chain is broken at record %llu "
		    "or before it (vixctl audit verify)",
		    (unsigned long long)seq);
		return VIX_E_STORE;
	}
	return x->w->sink->audit(x->w->arg, seq, record, len, x->c.hash);
}

static int
export_audit(struct walk *w)
{
	struct export_chain x = { .w = w, .c = AUDIT_CHAIN_INIT };
	struct audit_walk aw = { .txn = w->txn, .s = w->s,
	    .fn = export_audit_one, .arg = &x };

	return audit_walk(&aw);
}

static int
export_family(struct walk *w, MDB_val *k, MDB_val *v)
{
	const uint8_t *b = k->mv_data;

	if (k->mv_size != 2 * PSEUDONYM_LEN + 4 || v->mv_size != 8)
		return VIX_E_STORE;
	return w->sink->family(w->arg, b, b + PSEUDONYM_LEN,
	    get_u32(b + 2 * PSEUDONYM_LEN), get_u64(v->mv_data));
}

/*
 * signals' audit links, a link each (the signals are out): the records
 * of their own and the chunks the signal records keep.
 */
static int
export_audit_links(struct walk *w, MDB_val *k, MDB_val *v)
{
	Vix__Store__V1__Signal *rec = NULL;
	struct link_chunk c;
	int err = 0, bad;

	if (k->mv_size == SIGNAL_KEY_LEN) {
		if ((rec = signal_unpack(NULL, v)) == NULL)
			return VIX_E_STORE;
		if (rec->audit_links.len == 0) {
			vix__store__v1__signal__free_unpacked(rec, NULL);
			return 0;
		}
		bad = link_decode_kept(&rec->audit_links, 0, &c);
		vix__store__v1__signal__free_unpacked(rec, NULL);
	} else if (k->mv_size == LINK_KEY_LEN)
		bad = link_decode(k, v, &c);
	else
		return 0;
	if (bad) {
		log_warnx("export: an audit link record does not decode");
		return VIX_E_STORE;
	}
	for (size_t i = 0; i < c.n && err == 0; i++)
		err = w->sink->audit_link(w->arg, k->mv_data, c.seq[i]);
	return err;
}

/*
 * Every record from one read transaction: meta first (the organisations
 * and allocators the records refer to), the audit chain last.
 */
static int
lmdb_export(struct store_impl *s, const struct store_sink *sink, void *arg)
{
	struct walk w = { .sink = sink, .arg = arg, .s = s };
	int rc, err;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &w.txn)) != 0)
		return mdb_to_err(rc, "export: begin");
	if ((err = walk_db(&w, s->meta, export_meta)) == 0 &&
	    (err = walk_db(&w, s->signals, export_signal)) == 0 &&
	    (err = walk_db(&w, s->family, export_family)) == 0 &&
	    (err = walk_db(&w, s->signals, export_match)) == 0 &&
	    (err = walk_db(&w, s->archive, export_archived)) == 0 &&
	    (err = walk_db(&w, s->expiry_due, export_expiry)) == 0 &&
	    (err = walk_db(&w, s->escalate_due, export_escalate)) == 0 &&
	    (err = walk_db(&w, s->outbox, export_outbox)) == 0 &&
	    (err = walk_db(&w, s->cursors, export_cursor)) == 0 &&
	    (err = export_audit(&w)) == 0)
		err = walk_db(&w, s->signals, export_audit_links);
	mdb_txn_abort(w.txn);
	return err;
}

static void
lmdb_import_org(struct store_txn *t, const char *oin, uint32_t sid)
{
	uint8_t buf[4];
	struct key k;

	for (int b = 0; b < 4; b++)
		buf[b] = (uint8_t)(sid >> (8 * (3 - b)));
	key_bytes(key_bytes(key_start(&k), "org:", 4), oin, OIN_LEN);
	st_put(t, t->s->meta, &k, buf, sizeof(buf));
}

static void
lmdb_import_id_next(struct store_txn *t, enum store_id kind, uint64_t next)
{
	struct key k;

	key_bytes(key_start(&k), id_names[kind], strlen(id_names[kind]));
	meta_put_u64(t, &k, next);
}

static void
lmdb_import_outbox_next(struct store_txn *t, uint32_t recipient,
    uint64_t next)
{
	struct key k;

	oseq_key(&k, recipient);
	meta_put_u64(t, &k, next);
}

static void
lmdb_import_audit_link(struct store_txn *t, const uint8_t *youth,
    uint64_t seq)
{
	audit_link(t, youth, seq, 1);
}

const struct store_backend store_backend_lmdb = {
	.name = STORE_BACKEND_LMDB,
	.open = lmdb_open,
	.close = lmdb_close,
	.check_key = lmdb_check_key,
	.bind_orgs = lmdb_bind_orgs,
	.write_begin = lmdb_write_begin,
	.write_commit = lmdb_write_commit,
	.write_abort = lmdb_write_abort,
	.job_begin = lmdb_job_begin,
	.job_end = lmdb_job_end,
	.reader_new = lmdb_reader_new,
	.reader_free = lmdb_reader_free,
	.over_quota = lmdb_over_quota,
	.backup = lmdb_backup,
	.compact = lmdb_compact,
	.export = lmdb_export,
	.import_org = lmdb_import_org,
	.import_id_next = lmdb_import_id_next,
	.import_outbox_next = lmdb_import_outbox_next,
	.import_audit_link = lmdb_import_audit_link,
	.audit_head = lmdb_audit_head,
	.audit_append = lmdb_audit_append,
	.audit_scan = lmdb_audit_scan,
	.youth_audited = lmdb_youth_audited,
	.signal_locate = lmdb_signal_locate,
	.match_youth = lmdb_match_youth,
	.outbox_seq = outbox_seq_alloc,
	.outbox_put = lmdb_outbox_put,
	.read_begin = lmdb_read_begin,
	.read_end = lmdb_read_end,
	.outbox_last = last_seq,
	.cursor_get = lmdb_cursor_get,
	.cursor_put = lmdb_cursor_put,
	.outbox_scan = lmdb_outbox_scan,
	.outbox_delete = lmdb_outbox_delete,
	.outbox_erase = lmdb_outbox_erase,
	.count_get = lmdb_count_get,
	.count_add = lmdb_count_add,
	.usage = lmdb_usage,
	.id_alloc = id_alloc,
	.match_get = lmdb_match_get,
	.match_put = lmdb_match_put,
	.match_delete = lmdb_match_delete,
	.due_put = lmdb_due_put,
	.due_delete = lmdb_due_delete,
	.due_scan = lmdb_due_scan,
	.archive_purge = lmdb_archive_purge,
	.signal_get = lmdb_signal_get,
	.signal_put = lmdb_signal_put,
	.signal_delete = lmdb_signal_delete,
	.youth_signals = lmdb_youth_signals,
	.archive_put = lmdb_archive_put,
	.new_signals_get = lmdb_new_signals_get,
	.new_signals_put = lmdb_new_signals_put,
	.org_signals = lmdb_org_signals,
	.youth_archive = lmdb_youth_archive,
	.archive_erase = lmdb_archive_erase,
	.youth_audit = lmdb_youth_audit,
	.youth_audit_unlink = lmdb_youth_audit_unlink,
	.family_put = lmdb_family_put,
	.family_delete = lmdb_family_delete,
	.family_scan = lmdb_family_scan,
	.audit_get = lmdb_audit_get,
	.youth_held = lmdb_youth_held,
	.youth_move = lmdb_youth_move,
	.youth_tables = LMDB_SCAN_TABLES,
	.youth_next = lmdb_youth_next,
	.meta_get = lmdb_meta_get,
	.meta_put = lmdb_meta_put,
};

/* ---- backup and compaction ------------------------------------------- */

#define COPY_CHUNK	20000	/* puts per transaction of a logical copy */

/* 1 if dir has no entries, 0 if it has, -1 (errno) if it cannot be read. */
static int
dir_is_empty(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	int empty = 1;

	if (dp == NULL)
		return -1;
	while (empty && (de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(dp);
	return empty;
}

/*
 * Every record of database name, from rtx into the environment dst, with
 * its flags; appended, so that the copy's pages are full (a key's further
 * duplicates appended to it).
 */
static int
copy_db(MDB_txn *rtx, MDB_env *dst, const char *name)
{
	MDB_txn *wtx = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi from, to;
	MDB_val k, v;
	unsigned flags;
	size_t n = 0;
	int rc;

	if ((rc = mdb_dbi_open(rtx, name, 0, &from)) != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;
	if ((rc = mdb_dbi_flags(rtx, from, &flags)) != 0 ||
	    (rc = mdb_txn_begin(dst, NULL, 0, &wtx)) != 0 ||
	    (rc = mdb_dbi_open(wtx, name, MDB_CREATE | (flags & DB_DUPFIXED),
	    &to)) != 0 ||
	    (rc = mdb_cursor_open(rtx, from, &cur)) != 0)
		goto done;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if ((rc = mdb_put(wtx, to, &k, &v, MDB_APPEND)) == MDB_KEYEXIST &&
		    (flags & MDB_DUPSORT))
			rc = mdb_put(wtx, to, &k, &v, MDB_APPENDDUP);
		if (rc != 0)
			goto done;
		if (++n % COPY_CHUNK == 0) {
			rc = mdb_txn_commit(wtx);
			wtx = NULL;
			if (rc != 0 || (rc = mdb_txn_begin(dst, NULL, 0,
			    &wtx)) != 0)
				goto done;
		}
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
done:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (wtx != NULL && rc == 0) {
		rc = mdb_txn_commit(wtx);
		wtx = NULL;
	}
	if (wtx != NULL)
		mdb_txn_abort(wtx);
	return rc;
}

/*
 * A logical copy of the store into the new file `file`, mode 0600: every
 * record put afresh into a new environment, so that the file holds live
 * records only. A page copy (mdb_env_copy2, even compacting) carries the
 * stale bytes LMDB leaves in the unused part of live pages, and so what
 * an erasure removed. Synced to disk once, before it returns.
 */
static int
copy_logical(struct store_impl *s, const char *file, struct diag *d)
{
	MDB_env *dst = NULL;
	MDB_txn *rtx = NULL;
	int rc;

	if ((rc = mdb_env_create(&dst)) != 0 ||
	    (rc = mdb_env_set_maxdbs(dst, 32)) != 0 ||
	    (rc = mdb_env_set_mapsize(dst, s->map_size)) != 0 ||
	    (rc = mdb_env_open(dst, file, MDB_NOSUBDIR | MDB_NOLOCK |
	    MDB_NOSYNC, 0600)) != 0 ||
	    (rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &rtx)) != 0)
		goto done;
	for (size_t i = 0; i < STORE_NDBS && rc == 0; i++)
		rc = copy_db(rtx, dst, store_dbs[i].name);
	if (rc == 0)
		rc = mdb_env_sync(dst, 1);
done:
	if (rtx != NULL)
		mdb_txn_abort(rtx);
	if (dst != NULL)
		mdb_env_close(dst);
	if (rc != 0)
		diag_add(d, NULL, 0, "%s: %s", file, mdb_strerror(rc));
	return rc == 0 ? 0 : -1;
}

/* fsync a file or folder by name; 0, or -1 with errno. */
static int
sync_path(const char *path)
{
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * The copy goes to a temporary name and is renamed to data.mdb only once
 * it is whole and on disk (file and folder synced): a crash leaves no
 * data.mdb that is not a complete store.
 */
static int
copy_into(struct store_impl *s, const char *dir, struct diag *d)
{
	char tmp[PATH_MAX], file[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s/%s", dir, STORE_PARTIAL) >=
	    (int)sizeof(tmp) || snprintf(file, sizeof(file), "%s/data.mdb",
	    dir) >= (int)sizeof(file)) {
		diag_add(d, NULL, 0, "%s: path too long", dir);
		return -1;
	}
	if (copy_logical(s, tmp, d) == -1) {
		unlink(tmp);
		return -1;
	}
	if (sync_path(tmp) == -1 || rename(tmp, file) == -1 ||
	    sync_path(dir) == -1) {
		diag_add(d, NULL, 0, "%s: %s", file, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* An existing backup folder: a folder, private, and empty. */
static int
backup_check_dir(const char *path, const struct stat *st, struct diag *d)
{
	int rc;

	if (!S_ISDIR(st->st_mode)) {
		diag_add(d, NULL, 0, "backup %s: exists and is not a "
		    "directory; name a new or empty directory", path);
		return -1;
	}
	if (st->st_mode & 077) {
		diag_add(d, NULL, 0, "backup %s: the folder is accessible to "
		    "its group or others (mode %03o): a backup holds personal "
		    "data; make it private (chmod 700 %s) or name a new folder",
		    path, (unsigned)(st->st_mode & 0777), path);
		return -1;
	}
	if ((rc = dir_is_empty(path)) != 1) {
		diag_add(d, NULL, 0, "backup %s: %s", path, rc == 0 ?
		    "directory is not empty; name a new or empty directory" :
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
lmdb_backup(struct store_impl *s, const char *path, struct diag *d)
{
	struct stat st;
	int made = 0;

	if (stat(path, &st) == 0) {
		if (backup_check_dir(path, &st, d) == -1)
			return -1;
	} else if (errno != ENOENT || mkdir(path, 0700) == -1) {
		diag_add(d, NULL, 0, "backup %s: %s", path, strerror(errno));
		return -1;
	} else
		made = 1;
	if (copy_into(s, path, d) == -1) {
		if (made)
			rmdir(path);
		return -1;
	}
	return 0;
}

static int
lmdb_compact(const struct store_options *o, struct diag *d,
    size_t *before, size_t *after)
{
	char file[PATH_MAX + 16];
	struct store_impl *s;
	struct stat st;
	int rc;

	if ((s = lmdb_open(o, d)) == NULL)
		return -1;
	snprintf(file, sizeof(file), "%s/data.mdb", s->dir);
	*before = stat(file, &st) == 0 ? (size_t)st.st_size : 0;
	/* Renamed over data.mdb while this process alone has it open. */
	rc = copy_into(s, s->dir, d);
	*after = stat(file, &st) == 0 ? (size_t)st.st_size : 0;
	lmdb_close(s);
	return rc;
}
