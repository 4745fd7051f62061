/* The policy in force: its id for the workers, its text in the store. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "log.h"
#include "policyrec.h"
#include "vixd.h"

static void
policyrec_name(uint32_t id, char name[POLICYREC_NAME_LEN])
{
	snprintf(name, POLICYREC_NAME_LEN, "policy:%08" PRIx32, id);
}

/* One line per rule that is not the law's value (or default). */
static void
policyrec_log(const struct vixd *v, uint32_t id)
{
	struct policy_rule r[POLICY_NRULES];
	size_t n = policy_rules(&v->cfg.policy, v->cfg.zone, r);
	char line[160];

	if (policy_is_law(&v->cfg.policy, v->cfg.zone)) {
		log_info("policy %08" PRIx32 ": the Youth Act's values "
		    "(Jeugdwet ch. 7.1)", id);
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (r[i].changed) {
			policy_rule_line(&r[i], line, sizeof(line));
			log_info("policy %08" PRIx32 ": %s = %s", id, r[i].key,
			    line);
		}
}

void
policyrec_start(struct vixd *v)
{
	char name[POLICYREC_NAME_LEN], text[STORE_META_VALUE_MAX + 1];
	uint32_t id = policy_id(&v->cfg.policy, v->cfg.zone);
	struct store_txn *t;
	int err;

	atomic_store(&v->policy_id, id);
	policyrec_log(v, id);
	policyrec_name(id, name);
	if (policy_text(&v->cfg.policy, v->cfg.zone, text, sizeof(text)) < 0)
		return;
	/* A failed commit has freed the transaction already. */
	if ((t = store_write_begin(v->store, &err)) == NULL)
		goto fail;
	if ((err = store_meta_put(t, name, text)) != 0) {
		store_write_abort(t);
		goto fail;
	}
	if ((err = store_write_commit(t)) != 0)
		goto fail;
	return;
fail:
	log_warnx("policy %08" PRIx32 ": cannot record its text in the store "
	    "(%s); subject reports will name it by its id only", id,
	    err_name(err));
}

struct policyrec_job {
	struct job	 j;
	uint32_t	 id;
	char		 name[POLICYREC_NAME_LEN];
	char		 text[STORE_META_VALUE_MAX + 1];
};

static int
policyrec_apply(struct store_txn *t, struct job *j)
{
	struct policyrec_job *pj = j->arg;

	return store_meta_put(t, pj->name, pj->text);
}

static void
policyrec_complete(struct job *j)
{
	struct policyrec_job *pj = j->arg;

	if (j->err != 0)
		log_warnx("policy %08" PRIx32 ": cannot record its text in "
		    "the store (%s); subject reports will name it by its id "
		    "only", pj->id, err_name(j->err));
}

static void
policyrec_free(struct job *j)
{
	free(j->arg);
}

static const struct job_ops policyrec_ops = {
	.apply = policyrec_apply,
	.complete = policyrec_complete,
	.free = policyrec_free,
};

void
policyrec_reloaded(struct vixd *v, uint32_t old_id)
{
	uint32_t id = policy_id(&v->cfg.policy, v->cfg.zone);
	struct policyrec_job *pj;

	if (id == old_id)
		return;
	policyrec_log(v, id);
	if ((pj = calloc(1, sizeof(*pj))) == NULL)
		goto fail;
	pj->j.ops = &policyrec_ops;
	pj->j.arg = pj;
	pj->j.now = time(NULL);
	pj->id = id;
	policyrec_name(id, pj->name);
	if (policy_text(&v->cfg.policy, v->cfg.zone, pj->text,
	    sizeof(pj->text)) < 0 || writer_submit(v->writer, &v->home,
	    &pj->j) != 0) {
		free(pj);
		goto fail;
	}
	/* Queued before any registration that carries the new id. */
	atomic_store(&v->policy_id, id);
	return;
fail:
	atomic_store(&v->policy_id, id);
	log_warnx("policy %08" PRIx32 ": cannot record its text in the "
	    "store; subject reports will name it by its id only", id);
}

int
policyrec_lookup(struct store_reader *r, uint32_t id, char *buf, size_t len)
{
	char name[POLICYREC_NAME_LEN];

	policyrec_name(id, name);
	return store_reader_meta_get(r, name, buf, len);
}
