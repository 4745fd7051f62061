/*
 * The audit trail: records (who: the organisation and, when the request
 * named one, the professional; when, what, outcome) built here and
 * chained by hash, stored and scanned by the backend. The chain's head is
 * read inside the writing transaction, never remembered, so that a
 * record follows the one before it whoever wrote that.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit.h"
#include "errors.h"
#include "store.h"
#include "store_backend.h"
#include "store.pb-c.h"

int
audit_decode(const void *record, size_t len, struct store_audit_record *rec)
{
	Vix__Store__V1__Audit *a;

	if (len == 0 || (a = vix__store__v1__audit__unpack(NULL, len,
	    record)) == NULL)
		return VIX_E_STORE;
	memset(rec, 0, sizeof(*rec));
	rec->seq = a->seq;
	rec->time = a->time;
	snprintf(rec->actor, sizeof(rec->actor), "%s", a->actor);
	snprintf(rec->action, sizeof(rec->action), "%s", a->action);
	rec->signal_id = a->signal_id;
	rec->match_id = a->match_id;
	snprintf(rec->outcome, sizeof(rec->outcome), "%s", a->outcome);
	snprintf(rec->professional, sizeof(rec->professional), "%s",
	    a->professional);
	vix__store__v1__audit__free_unpacked(a, NULL);
	return 0;
}

/* hash = SHA-256(prev . record); 0 or -1. */
static int
chain_hash(const uint8_t *prev, const void *record, size_t len,
    uint8_t *hash)
{
	EVP_MD_CTX *md;
	int ok;

	ok = (md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(md, prev, STORE_HASH_LEN) &&
	    EVP_DigestUpdate(md, record, len) &&
	    EVP_DigestFinal_ex(md, hash, NULL);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

int
audit_append(struct store_txn *t, const uint8_t *youth, int64_t now,
    const char *actor, const char *action, uint64_t signal_id,
    uint64_t match_id, const char *outcome)
{
	const struct store_backend *be = store_txn_backend(t);
	Vix__Store__V1__Audit rec = VIX__STORE__V1__AUDIT__INIT;
	uint8_t buf[1024], hash[STORE_HASH_LEN], prev[STORE_HASH_LEN];
	uint64_t head;
	size_t n;

	be->audit_head(t, &head, prev);
	if (store_txn_error(t))
		return store_txn_error(t);
	rec.seq = head + 1;
	rec.time = now;
	rec.actor = (char *)actor;
	rec.action = (char *)action;
	rec.signal_id = signal_id;
	rec.match_id = match_id;
	rec.outcome = (char *)outcome;
	rec.professional = t->professional;
	/* The backend may keep record and hash together: room for both. */
	if ((n = protobuf_c_message_get_packed_size(&rec.base)) >
	    sizeof(buf) - STORE_HASH_LEN)
		return store_txn_fail(t, VIX_E_STORE);
	protobuf_c_message_pack(&rec.base, buf);
	if (chain_hash(prev, buf, n, hash) == -1)
		return store_txn_fail(t, VIX_E_STORE);
	be->audit_append(t, rec.seq, buf, n, hash, youth);
	return store_txn_error(t);
}

int
store_audit(struct store_txn *t, int64_t now, const char *actor,
    const char *action, uint64_t signal_id, uint64_t match_id,
    const char *outcome)
{
	return audit_append(t, NULL, now, actor, action, signal_id, match_id,
	    outcome);
}

int
store_audit_youth(struct store_txn *t, const uint8_t *youth, int64_t now,
    const char *actor, const char *action, uint64_t signal_id,
    uint64_t match_id, const char *outcome)
{
	const struct store_backend *be = store_txn_backend(t);
	uint8_t p[PSEUDONYM_LEN];
	int found = 0;

	if (youth != NULL) {
		memcpy(p, youth, PSEUDONYM_LEN);
		found = be->youth_audited(t, p);
	}
	if (!found && signal_id != 0)
		found = be->signal_locate(t, signal_id, p, NULL) == 1;
	if (!found && match_id != 0)
		found = be->match_youth(t, match_id, p);
	return audit_append(t, found ? p : NULL, now, actor, action,
	    signal_id, match_id, outcome);
}

int
audit_chain_follow(struct audit_chain *c, uint64_t seq, const void *record,
    size_t len, const uint8_t *given)
{
	uint8_t calc[STORE_HASH_LEN];

	if (STORE_AUDIT_CHAIN(seq) > STORE_AUDIT_CHAIN(c->expect)) {
		/* The next writer's chain: it starts at place 1 from zeroes. */
		c->expect = (STORE_AUDIT_CHAIN(seq) <<
		    STORE_AUDIT_CHAIN_SHIFT) | 1;
		memset(c->hash, 0, sizeof(c->hash));
	}
	if (seq != c->expect || len == 0 ||
	    chain_hash(c->hash, record, len, calc) == -1 ||
	    (given != NULL && memcmp(calc, given, STORE_HASH_LEN) != 0))
		return -1;
	memcpy(c->hash, calc, STORE_HASH_LEN);
	c->expect++;
	return 0;
}

/*
 * The records followed since the last kept hash (pending, the first of
 * them from) are confirmed by the next one; until then they are not
 * counted.
 */
struct verify {
	struct audit_chain	 c;
	struct store_audit_result *res;
	uint64_t		 from, pending;
};

/* The walk ends: broken where found, the unconfirmed records first bad. */
static int
verify_fail(struct verify *vf, uint64_t found)
{
	vf->res->bad = vf->pending != 0 ? vf->from : vf->c.expect;
	vf->res->found = found;
	return 1;
}

static int
verify_one(void *arg, uint64_t seq, const void *record, size_t len,
    const uint8_t *hash)
{
	struct verify *vf = arg;

	/* A chain that ends with no hash kept for its last records. */
	if (vf->pending != 0 &&
	    STORE_AUDIT_CHAIN(seq) > STORE_AUDIT_CHAIN(vf->c.expect))
		return verify_fail(vf, vf->c.expect);
	if (audit_chain_follow(&vf->c, seq, record, len, hash) == -1)
		return verify_fail(vf, seq);
	if (STORE_AUDIT_PLACE(seq) == 1)
		vf->res->chains++;
	if (vf->pending++ == 0)
		vf->from = seq;
	if (hash != NULL) {
		vf->res->count += vf->pending;
		vf->pending = 0;
	}
	return 0;
}

int
store_audit_check(struct store_reader *r, struct store_audit_result *res)
{
	struct verify vf = { .c = AUDIT_CHAIN_INIT, .res = res };
	int err;

	memset(res, 0, sizeof(*res));
	err = store_reader_backend(r)->audit_scan(r, verify_one, &vf);
	if (err == 0 && vf.pending != 0)
		verify_fail(&vf, vf.c.expect);
	return err == 1 ? 0 : err;
}

int
store_audit_verify(struct store_reader *r, uint64_t *count, uint64_t *chains,
    uint64_t *bad)
{
	struct store_audit_result res;
	int err = store_audit_check(r, &res);

	*count = res.count;
	*bad = res.bad;
	if (chains != NULL)
		*chains = res.chains;
	return err;
}

struct foreach {
	int	(*fn)(void *, const struct store_audit_record *);
	void	*arg;
};

static int
foreach_one(void *arg, uint64_t seq, const void *record, size_t len,
    const uint8_t *hash)
{
	struct foreach *fe = arg;
	struct store_audit_record rec;
	int err;

	if ((err = audit_decode(record, len, &rec)) != 0)
		return err;
	return fe->fn(fe->arg, &rec);
}

int
store_audit_foreach(struct store_reader *r,
    int (*fn)(void *arg, const struct store_audit_record *), void *arg)
{
	struct foreach fe = { fn, arg };

	return store_reader_backend(r)->audit_scan(r, foreach_one, &fe);
}
