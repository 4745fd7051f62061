/* Blind pseudonyms: the store's key versions, and moving them to the next. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <sodium.h>

#include "blind.h"
#include "diag.h"
#include "errors.h"
#include "keyclient.h"
#include "log.h"
#include "rotate.h"
#include "vixd.h"

#define KEYHOLDER_TIMEOUT_MS	5000
#define KEYHOLDER_VERSIONS_MAX	16
#define ROTATE_RETRY_SECS	5

struct rotate {
	struct vixd	*v;
	struct blind	 blind;		/* v->blind points here */
	struct event	*ev_step;	/* submit the next step */
	int		 stepping;	/* a step is at the writer */
	/* Progress, main loop only. */
	uint64_t	 moved, steps, conflicts;
	time_t		 started, finished;
	char		 last_error[256];
	/* The writer's: one step at a time. */
	uint8_t		 youths[ROTATE_BATCH][PSEUDONYM_LEN];
};

/* What the key holder holds. */
struct holder_keys {
	uint32_t	 current;
	uint32_t	 versions[KEYHOLDER_VERSIONS_MAX];
	uint8_t		 ids[KEYHOLDER_VERSIONS_MAX][BLIND_KEY_ID_LEN];
	int		 active[KEYHOLDER_VERSIONS_MAX];
	size_t		 n;
};

static struct keyclient *
holder_open(const struct vixd *v, char *why, size_t len)
{
	const struct vixd_config *c = &v->cfg;

	return keyclient_open(c->keyholder, c->keyholder_certificate,
	    c->keyholder_private_key, c->keyholder_ca_bundle ?
	    c->keyholder_ca_bundle : c->tls_ca_bundle, KEYHOLDER_TIMEOUT_MS,
	    why, len);
}

static int
holder_info(const struct vixd *v, struct holder_keys *h, char *why,
    size_t len)
{
	struct keyclient *kc;
	int code = 0, rc;

	if ((kc = holder_open(v, why, len)) == NULL)
		return -1;
	rc = keyclient_info(kc, &h->current, KEYHOLDER_VERSIONS_MAX,
	    h->versions, h->ids, h->active, &h->n, &code, why, len);
	keyclient_close(kc);
	return rc;
}

/* The key holder's id for version, or NULL if it does not hold it. */
static const uint8_t *
holder_id(const struct holder_keys *h, uint32_t version)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->versions[i] == version)
			return h->ids[i];
	return NULL;
}

/* Whether the key holder holds version under the same id. */
static int
holder_agrees(const struct holder_keys *h, uint32_t version,
    const uint8_t id[BLIND_KEY_ID_LEN], char *why, size_t len,
    const char *addr)
{
	const uint8_t *hid = holder_id(h, version);
	char want[2 * BLIND_KEY_ID_LEN + 1], got[2 * BLIND_KEY_ID_LEN + 1];

	blind_id_hex(id, want);
	if (hid == NULL) {
		snprintf(why, len, "the key holder at %s does not hold key "
		    "version %" PRIu32 " (key id %s), which the store's "
		    "pseudonyms are under", addr, version, want);
		return 0;
	}
	if (sodium_memcmp(hid, id, BLIND_KEY_ID_LEN) != 0) {
		blind_id_hex(hid, got);
		snprintf(why, len, "the key holder at %s holds another key as "
		    "version %" PRIu32 " (key id %s) than the store's "
		    "pseudonyms are under (key id %s)", addr, version, got,
		    want);
		return 0;
	}
	return 1;
}

/* Read (or, for a new store, record) the keys; in a write transaction. */
static int
keys_load(struct vixd *v, struct blind_keys *k, int *is_new, struct diag *d)
{
	char text[STORE_META_VALUE_MAX + 1];
	struct store_txn *t;
	int err;

	if ((t = store_write_begin(v->store, &err)) == NULL) {
		diag_add(d, NULL, 0, "store: cannot read the key versions: %s",
		    err_name(err));
		return -1;
	}
	err = store_meta_get(t, ROTATE_META_KEYS, text, sizeof(text));
	store_write_abort(t);
	*is_new = err == VIX_E_NOT_FOUND;
	if (*is_new)
		return 0;
	if (err != 0) {
		diag_add(d, NULL, 0, "store: cannot read the key versions: %s",
		    err_name(err));
		return -1;
	}
	if (blind_parse(text, k) == -1) {
		diag_add(d, NULL, 0, "store: its key versions (meta %s) are "
		    "not readable", ROTATE_META_KEYS);
		return -1;
	}
	return 0;
}

static int
keys_record(struct vixd *v, const struct blind_keys *k, struct diag *d)
{
	char text[STORE_META_VALUE_MAX + 1];
	struct store_txn *t;
	int err;

	blind_format(k, text, sizeof(text));
	if ((t = store_write_begin(v->store, &err)) != NULL) {
		if ((err = store_meta_put(t, ROTATE_META_KEYS, text)) != 0)
			store_write_abort(t);
		else	/* a failed commit has ended the transaction too */
			err = store_write_commit(t);
	}
	if (err != 0) {
		diag_add(d, NULL, 0, "store: cannot record the key version: %s",
		    err_name(err));
		return -1;
	}
	return 0;
}

int
rotate_open(struct vixd *v, struct diag *d)
{
	struct blind_keys k = { 0 };
	struct holder_keys h = { 0 };
	struct rotate *r;
	const char *addr = v->cfg.keyholder;
	const uint8_t *hid;
	char why[512], id[2 * BLIND_KEY_ID_LEN + 1];
	int is_new, reached;

	if (keys_load(v, &k, &is_new, d) == -1)
		return -1;
	reached = holder_info(v, &h, why, sizeof(why)) == 0;
	if (is_new) {
		if (!reached) {
			diag_add(d, NULL, 0, "pseudonyms = blind: a new store "
			    "takes the key holder's active key version, and the "
			    "key holder at %s cannot be asked: %s", addr, why);
			return -1;
		}
		if ((hid = holder_id(&h, h.current)) == NULL) {
			diag_add(d, NULL, 0, "the key holder at %s has no "
			    "active key version", addr);
			return -1;
		}
		k.version = h.current;
		memcpy(k.id, hid, BLIND_KEY_ID_LEN);
		if (keys_record(v, &k, d) == -1)
			return -1;
		blind_id_hex(k.id, id);
		log_info("store: blind pseudonyms under key version %" PRIu32
		    " (key id %s) of the key holder at %s", k.version, id,
		    addr);
	} else if (!reached) {
		log_warnx("the key holder at %s cannot be asked (%s): the "
		    "store's key versions are not checked against it now; "
		    "every request's key id still is", addr, why);
	} else if (!holder_agrees(&h, k.version, k.id, why, sizeof(why),
	    addr) || (k.rotating && !holder_agrees(&h, k.to_version, k.to_id,
	    why, sizeof(why), addr))) {
		diag_add(d, NULL, 0, "%s: this store and this key holder do "
		    "not belong together; give vixd the key holder the store "
		    "was written with ([key_holder] address)", why);
		return -1;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		diag_add(d, NULL, 0, "out of memory");
		return -1;
	}
	r->v = v;
	blind_init(&r->blind, &k);
	v->rotate = r;
	v->blind = &r->blind;
	return 0;
}

/* ---- the move, as writer jobs ---------------------------------------- */

static void step_submit(struct rotate *);

/*
 * One step: the next ROTATE_BATCH youths still under the old version move
 * to the new; the last step drops the token. The keys are read from the
 * store each time (a batch may run again), and set for the workers here,
 * on the writer, so that the jobs after it in the batch use them.
 */
static int
step_apply(struct store_txn *t, struct job *j)
{
	struct rotate *r = j->arg;
	struct store_youth_cursor cur = { 0 };
	struct blind_keys k;
	char text[STORE_META_VALUE_MAX + 1];
	uint8_t to[PSEUDONYM_LEN];
	size_t n = 0, moved;
	int err;

	j->out.rotate.moved = j->out.rotate.conflicts = 0;
	j->out.rotate.done = 0;	/* the batch may run again */
	if ((err = store_meta_get(t, ROTATE_META_KEYS, text,
	    sizeof(text))) != 0)
		return err;
	if (blind_parse(text, &k) == -1)
		return VIX_E_STORE;
	if (!k.rotating) {
		j->out.rotate.done = 1;
		return 0;
	}
	err = store_meta_get(t, ROTATE_META_CURSOR, text, sizeof(text));
	if (err == 0 && store_youth_cursor_parse(text, &cur) != 0)
		return VIX_E_STORE;
	if (err != 0 && err != VIX_E_NOT_FOUND)
		return err;
	if ((err = store_youth_scan(t, &cur, blind_parity(k.version),
	    r->youths, ROTATE_BATCH, &n)) != 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (blind_move(&k, r->youths[i], to) == -1)
			continue;	/* not an element: not ours to move */
		err = store_youth_move(t, r->youths[i], to, &moved);
		if (err == VIX_E_PRECONDITION) {
			j->out.rotate.conflicts++;
			continue;
		}
		if (err != 0)
			return err;
		j->out.rotate.moved += moved > 0;
	}
	if (!cur.done) {
		store_youth_cursor_text(&cur, text, sizeof(text));
		return store_meta_put(t, ROTATE_META_CURSOR, text);
	}
	blind_rotation_end(&k);
	blind_format(&k, text, sizeof(text));
	if ((err = store_meta_put(t, ROTATE_META_KEYS, text)) != 0 ||
	    (err = store_meta_put(t, ROTATE_META_CURSOR, NULL)) != 0)
		return err;
	blind_set(&r->blind, &k);
	j->out.rotate.done = 1;
	return 0;
}

static void
step_complete(struct job *j)
{
	struct rotate *r = j->arg;
	struct blind_keys k;
	struct timeval later = { ROTATE_RETRY_SECS, 0 };

	r->stepping = 0;
	if (j->err != 0) {
		snprintf(r->last_error, sizeof(r->last_error), "%s",
		    j->why[0] ? j->why : err_name(j->err));
		log_warnx("key rotation: a step failed (%s); trying again in "
		    "%d s", r->last_error, ROTATE_RETRY_SECS);
		/* Not committed: the keys are the store's, as before it. */
		blind_set(&r->blind, &j->out.rotate.prev);
		event_add(r->ev_step, &later);
		return;
	}
	r->steps++;
	r->moved += j->out.rotate.moved;
	r->conflicts += j->out.rotate.conflicts;
	if (j->out.rotate.conflicts > 0)
		log_warnx("key rotation: %zu youths already had records under "
		    "their new pseudonym and were left under the old one",
		    j->out.rotate.conflicts);
	if (!j->out.rotate.done) {
		step_submit(r);
		return;
	}
	r->finished = time(NULL);
	blind_get(&r->blind, &k);
	log_info("key rotation: done, %" PRIu64 " youths moved in %" PRIu64
	    " steps; the store is under key version %" PRIu32 " only: the "
	    "key holder may now destroy the old version", r->moved, r->steps,
	    k.version);
}

static void
step_free(struct job *j)
{
	sodium_memzero(&j->out.rotate.prev, sizeof(j->out.rotate.prev));
	free(j);
}

static const struct job_ops step_ops = {
	.apply = step_apply,
	.complete = step_complete,
	.free = step_free,
};

static void
step_submit(struct rotate *r)
{
	struct job *j;

	if (r->stepping || (j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->ops = &step_ops;
	j->arg = r;
	j->now = time(NULL);
	blind_get(&r->blind, &j->out.rotate.prev);
	r->stepping = 1;
	if (writer_submit(r->v->writer, &r->v->home, j) != 0) {
		r->stepping = 0;
		free(j);
	}
}

static void
step_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	step_submit(arg);
}

static int
step_timer(struct rotate *r)
{
	if (r->ev_step == NULL)
		r->ev_step = event_new(r->v->base, -1, 0, step_tick, r);
	return r->ev_step == NULL ? -1 : 0;
}

void
rotate_resume(struct vixd *v)
{
	struct rotate *r = v->rotate;
	struct blind_keys k;

	if (r == NULL)
		return;
	blind_get(&r->blind, &k);
	if (!k.rotating || step_timer(r) == -1)
		return;
	r->started = time(NULL);
	log_info("key rotation to version %" PRIu32 ": going on where it "
	    "stopped", k.to_version);
	step_submit(r);
}

/* ---- starting one ---------------------------------------------------- */

/* Record the rotation in the store; the first step follows. */
static int
begin_apply(struct store_txn *t, struct job *j)
{
	struct rotate *r = j->arg;
	char text[STORE_META_VALUE_MAX + 1];
	int err;

	blind_format(&j->in.rotate, text, sizeof(text));
	/* vixctl's request is audited by the control socket, with its uid. */
	if ((err = store_meta_put(t, ROTATE_META_KEYS, text)) != 0 ||
	    (err = store_meta_put(t, ROTATE_META_CURSOR, NULL)) != 0)
		return err;
	sodium_memzero(text, sizeof(text));
	blind_set(&r->blind, &j->in.rotate);
	return 0;
}

static void
begin_complete(struct job *j)
{
	struct rotate *r = j->arg;

	r->stepping = 0;
	if (j->err != 0) {
		/* Nothing was recorded: the keys are as they were. */
		blind_set(&r->blind, &j->out.rotate.prev);
		snprintf(r->last_error, sizeof(r->last_error), "%s",
		    j->why[0] ? j->why : err_name(j->err));
		log_warnx("key rotation could not start: %s", r->last_error);
		return;
	}
	log_info("key rotation to version %" PRIu32 " started: youths move "
	    "in steps of %d while vixd serves", j->in.rotate.to_version,
	    ROTATE_BATCH);
	step_submit(r);
}

static void
begin_free(struct job *j)
{
	sodium_memzero(&j->in.rotate, sizeof(j->in.rotate));
	sodium_memzero(&j->out.rotate.prev, sizeof(j->out.rotate.prev));
	free(j);
}

static const struct job_ops begin_ops = {
	.apply = begin_apply,
	.complete = begin_complete,
	.free = begin_free,
};

/* The version after the store's that the key holder holds, or 0. */
static uint32_t
next_version(const struct holder_keys *h, uint32_t after)
{
	uint32_t best = 0;

	for (size_t i = 0; i < h->n; i++)
		if (h->versions[i] > after && (best == 0 ||
		    h->versions[i] < best))
			best = h->versions[i];
	return best;
}

int
rotate_start(struct vixd *v, char *msg, size_t len)
{
	struct rotate *r = v->rotate;
	struct holder_keys h = { 0 };
	struct blind_keys k, nk;
	struct keyclient *kc;
	uint8_t delta[BLIND_DELTA_LEN], from_id[BLIND_KEY_ID_LEN],
	    to_id[BLIND_KEY_ID_LEN];
	uint32_t to;
	struct job *j;
	int code = 0, rc;

	if (r == NULL) {
		snprintf(msg, len, "pseudonyms = server: the pseudonym key "
		    "cannot be rotated without the BSNs (docs/pseudonyms.md)");
		return -1;
	}
	blind_get(&r->blind, &k);
	if (k.rotating || r->stepping) {
		snprintf(msg, len, "a rotation to key version %" PRIu32 " is "
		    "under way (%" PRIu64 " youths moved so far)",
		    k.to_version, r->moved);
		return -1;
	}
	if (holder_info(v, &h, msg, len) == -1)
		return -1;
	if ((to = next_version(&h, k.version)) == 0) {
		snprintf(msg, len, "the key holder at %s has no key version "
		    "after %" PRIu32 ": add one there (vix-keyd --add-key) and "
		    "reload it", v->cfg.keyholder, k.version);
		return -1;
	}
	if ((kc = holder_open(v, msg, len)) == NULL)
		return -1;
	rc = keyclient_token(kc, k.version, to, delta, from_id, to_id, &code,
	    msg, len);
	keyclient_close(kc);
	if (rc != 0)
		return -1;
	if (sodium_memcmp(from_id, k.id, BLIND_KEY_ID_LEN) != 0) {
		sodium_memzero(delta, sizeof(delta));
		snprintf(msg, len, "the key holder's version %" PRIu32 " is not "
		    "the key the store is under: not rotating", k.version);
		return -1;
	}
	nk = k;
	rc = blind_rotation_start(&nk, to, to_id, delta);
	sodium_memzero(delta, sizeof(delta));
	if (rc == -1 || step_timer(r) == -1 ||
	    (j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(msg, len, rc == -1 ? "the key holder's token is not "
		    "a usable scalar" : "out of memory");
		return -1;
	}
	j->ops = &begin_ops;
	j->arg = r;
	j->now = time(NULL);
	j->in.rotate = nk;
	j->out.rotate.prev = k;
	sodium_memzero(&nk, sizeof(nk));
	r->stepping = 1;
	r->moved = r->steps = r->conflicts = 0;
	r->started = time(NULL);
	r->finished = 0;
	r->last_error[0] = '\0';
	if (writer_submit(v->writer, &v->home, j) != 0) {
		r->stepping = 0;
		begin_free(j);
		snprintf(msg, len, "the writer's queue is full; try again");
		return -1;
	}
	snprintf(msg, len, "rotation from key version %" PRIu32 " to %" PRIu32
	    " started", k.version, to);
	return 0;
}

void
rotate_status(struct vixd *v, char *msg, size_t len)
{
	struct rotate *r = v->rotate;
	struct blind_keys k;
	char id[2 * BLIND_KEY_ID_LEN + 1];

	if (r == NULL) {
		snprintf(msg, len, "pseudonyms = server: no key versions");
		return;
	}
	blind_get(&r->blind, &k);
	blind_id_hex(k.id, id);
	if (k.rotating)
		snprintf(msg, len, "rotating from key version %" PRIu32 " to %"
		    PRIu32 ": %" PRIu64 " youths moved in %" PRIu64 " steps%s%s",
		    k.version, k.to_version, r->moved, r->steps,
		    r->last_error[0] ? "; last error: " : "", r->last_error);
	else
		snprintf(msg, len, "key version %" PRIu32 " (key id %s)%s",
		    k.version, id, r->finished ? "; the last rotation is done: "
		    "the old version may be destroyed" : "");
}

void
rotate_free(struct vixd *v)
{
	struct rotate *r = v->rotate;

	if (r == NULL)
		return;
	if (r->ev_step != NULL)
		event_free(r->ev_step);
	blind_destroy(&r->blind);
	free(r);
	v->rotate = NULL;
	v->blind = NULL;
}
