/*
 * The LMDB backend's contacts (schema 8, issue 16): the professional a
 * signal names (name, phone, e-mail) is the same in every signal that
 * person registers, so each organisation's contacts are kept once and
 * the signal record names one by number (Signal.contact).
 *
 *   contacts       org . number -> references (8, big-endian) . Contact
 *   contact_index  org . hash -> number (sorted duplicates of 8 bytes)
 *
 * The hash is FNV-1a (64 bits) of the packed Contact; contacts sharing a
 * hash are told apart by their bytes, so a collision costs a comparison,
 * never a wrong contact. Numbers are given out in order for the whole
 * store (meta CONTACT_LAST), so that each organisation's new contacts are
 * appended to its own. The references count the active signals naming a
 * contact; at none the contact and its index entry are deleted: a
 * professional's details are personal data and do not outlive the signals
 * that name them. Archived signals keep their contact in their own record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "errors.h"
#include "log.h"
#include "store_lmdb.h"
#include "store.pb-c.h"

/* The last contact number given out. */
#define CONTACT_LAST	"contact:last"
/* A packed Contact, at most: the request's limits (store.h) and tags. */
#define CONTACT_MAX	1024
/* A contact's value starts with its references, big-endian. */
#define REFS_LEN	8

static struct key *
contact_key(struct key *k, uint32_t org, uint64_t number)
{
	return key_u64(key_u32(key_start(k), org), number);
}

/* FNV-1a: it only narrows the search, the bytes decide. */
static uint64_t
contact_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static struct key *
index_key(struct key *k, uint32_t org, const uint8_t *packed, size_t n)
{
	return key_u64(key_u32(key_start(k), org), contact_hash(packed, n));
}

/* The three fields packed into buf; 0 when all are empty. */
static size_t
contact_pack(struct store_txn *t, const char *name, const char *phone,
    const char *email, uint8_t *buf)
{
	Vix__Store__V1__Contact c = VIX__STORE__V1__CONTACT__INIT;
	size_t n;

	c.name = (char *)name;
	c.phone = (char *)phone;
	c.email = (char *)email;
	if ((n = vix__store__v1__contact__get_packed_size(&c)) > CONTACT_MAX) {
		log_warnx("store: a contact of %zu bytes is longer than the "
		    "store keeps (%d)", n, CONTACT_MAX);
		store_txn_fail(t, VIX_E_STORE);
		return 0;
	}
	return vix__store__v1__contact__pack(&c, buf);
}

/* The number of org's contact packed as packed, or 0 if it has none. */
static uint64_t
contact_find(struct store_txn *t, uint32_t org, const uint8_t *packed,
    size_t n)
{
	MDB_cursor *cur = st_cursor(t, t->s->contact_index);
	struct key ik, ck;
	MDB_val k, v, cv;
	uint64_t number = 0;
	int rc;

	if (cur == NULL)
		return 0;
	index_key(&ik, org, packed, n);
	k = key_val(&ik);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
		if (v.mv_size != 8)
			break;
		contact_key(&ck, org, get_u64(v.mv_data));
		if (st_get(t, t->s->contacts, &ck, &cv) != 0)
			break;
		if (cv.mv_size == REFS_LEN + n && memcmp((uint8_t *)cv.mv_data +
		    REFS_LEN, packed, n) == 0) {
			number = get_u64(v.mv_data);
			break;
		}
	}
	if (number == 0 && rc == 0) {
		log_warnx("store: the contact index of organisation %u names "
		    "a contact that is not there", org);
		store_txn_fail(t, VIX_E_STORE);
	} else if (rc != 0 && rc != MDB_NOTFOUND)
		st_fail(t, rc, "contact index");
	mdb_cursor_close(cur);
	return number;
}

/* A new contact of org with one reference; its number. */
static uint64_t
contact_new(struct store_txn *t, uint32_t org, const uint8_t *packed,
    size_t n)
{
	uint8_t value[REFS_LEN + CONTACT_MAX] = { [REFS_LEN - 1] = 1 };
	uint64_t number = count_get(t, CONTACT_LAST) + 1;
	struct key k, num;

	count_add(t, CONTACT_LAST, 1);
	memcpy(value + REFS_LEN, packed, n);
	st_put(t, t->s->contacts, contact_key(&k, org, number), value,
	    REFS_LEN + n);
	key_u64(key_start(&num), number);
	st_put(t, t->s->contact_index, index_key(&k, org, packed, n), num.b,
	    num.n);
	return number;
}

/* The index entry of org's contact number, packed as packed, goes. */
static void
index_del(struct store_txn *t, uint32_t org, uint64_t number,
    const uint8_t *packed, size_t n)
{
	struct key k, num;
	MDB_val kv, nv;
	int rc;

	kv = key_val(index_key(&k, org, packed, n));
	nv = key_val(key_u64(key_start(&num), number));
	if (t->err == 0 && (rc = mdb_del(LT(t)->txn, t->s->contact_index,
	    &kv, &nv)) != 0)
		st_fail(t, rc, "contact index");
}

/*
 * delta references more on org's contact number; at none, the contact
 * and its index entry go.
 */
static void
contact_refs_add(struct store_txn *t, uint32_t org, uint64_t number,
    int delta)
{
	uint8_t value[REFS_LEN + CONTACT_MAX];
	struct key k;
	MDB_val v;
	uint64_t refs;
	int rc;

	contact_key(&k, org, number);
	if ((rc = st_get(t, t->s->contacts, &k, &v)) == -1)
		return;
	if (rc != 0 || v.mv_size < REFS_LEN || v.mv_size > sizeof(value) ||
	    ((refs = get_u64(v.mv_data)) == 0 && delta < 0)) {
		log_warnx("store: a signal of organisation %u names contact "
		    "%llu, which is not there", org,
		    (unsigned long long)number);
		store_txn_fail(t, VIX_E_STORE);
		return;
	}
	memcpy(value, v.mv_data, v.mv_size);	/* v's page moves on a put */
	if ((refs += (uint64_t)delta) == 0) {
		st_del(t, t->s->contacts, &k);
		index_del(t, org, number, value + REFS_LEN,
		    v.mv_size - REFS_LEN);
		return;
	}
	for (int i = 0; i < REFS_LEN; i++)
		value[i] = (uint8_t)(refs >> (8 * (REFS_LEN - 1 - i)));
	st_put(t, t->s->contacts, &k, value, v.mv_size);
}

uint64_t
contact_refer(struct store_txn *t, uint32_t org, uint64_t old,
    const char *name, const char *phone, const char *email)
{
	uint8_t packed[CONTACT_MAX];
	uint64_t number = 0;
	size_t n;

	if (t->err)
		return 0;
	if ((n = contact_pack(t, name, phone, email, packed)) != 0 &&
	    (number = contact_find(t, org, packed, n)) == 0)
		number = contact_new(t, org, packed, n);
	else if (number != 0 && number != old)
		contact_refs_add(t, org, number, 1);
	if (old != 0 && old != number)
		contact_release(t, org, old);
	return t->err ? 0 : number;
}

void
contact_release(struct store_txn *t, uint32_t org, uint64_t number)
{
	contact_refs_add(t, org, number, -1);
}

/* *field becomes value (malloc'd), the one it had freed. */
static void
field_take(char **field, char **value)
{
	if (*field != protobuf_c_empty_string)
		free(*field);
	*field = *value;
	*value = (char *)protobuf_c_empty_string;
}

int
contact_expand(MDB_txn *txn, MDB_dbi contacts, uint32_t org,
    Vix__Store__V1__Signal *rec)
{
	Vix__Store__V1__Contact *c;
	struct key k;
	MDB_val kv, v;

	if (rec->contact == 0)
		return 0;
	contact_key(&k, org, rec->contact);
	kv = key_val(&k);
	if (mdb_get(txn, contacts, &kv, &v) != 0 || v.mv_size < REFS_LEN ||
	    (c = vix__store__v1__contact__unpack(NULL, v.mv_size - REFS_LEN,
	    (uint8_t *)v.mv_data + REFS_LEN)) == NULL) {
		log_warnx("store: contact %llu of organisation %u is missing "
		    "or does not decode", (unsigned long long)rec->contact,
		    org);
		return -1;
	}
	field_take(&rec->contact_name, &c->name);
	field_take(&rec->contact_phone, &c->phone);
	field_take(&rec->contact_email, &c->email);
	rec->contact = 0;
	vix__store__v1__contact__free_unpacked(c, NULL);
	return 0;
}
