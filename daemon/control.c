/*
 * The control socket: vixctl's requests, one per connection. Requests
 * that only look at memory (reload, orgs) are answered on the main thread;
 * walks over the store run in a detached thread that writes the answer
 * and closes; erase is a writer job that comes back through an event.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>

#include <sodium.h>

#include "control.h"
#include "handlers.h"
#include "json.h"
#include "errors.h"
#include "figures.h"
#include "log.h"
#include "policyrec.h"
#include "rotate.h"
#include "rules.h"
#include "server.h"
#include "status.h"
#include "vix_version.h"
#include "vixd.h"
#include "webhook.h"

#define CTL_LINE_MAX	(PATH_MAX + 64)
#define CTL_CONNS_MAX	32	/* connections open at once */
#define CTL_TASKS_MAX	8	/* requests running in threads at once */
#define CTL_READ_SECS	10	/* to send the request line */
#define CTL_WRITE_SECS	60	/* to take the answer */
#define CTL_FLUSH	65536	/* audit export goes out in pieces this big */

enum ctl_cmd {
	CTL_STATUS,
	CTL_BACKUP,
	CTL_AUDIT_VERIFY,
	CTL_AUDIT_EXPORT,
	CTL_SUBJECT,
	CTL_WEBHOOK_REPLAY,
	CTL_REPORT,
};

/* A connection while its request is read and, unless in a thread, answered. */
struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	struct control		*ctl;
	struct bufferevent	*bev;
	struct job		*job;		/* an erase at the writer */
	uid_t			 uid;		/* of the caller (SO_PEERCRED) */
	pid_t			 pid;
	char			 actor[32];	/* in audit records: admin:uid=N */
};

/* A request that walks the store, in a thread of its own. */
struct ctl_task {
	struct control	*ctl;
	int		 fd;		/* a dup of the connection's socket */
	enum ctl_cmd	 cmd;
	char		 path[PATH_MAX];
	int64_t		 since;
	uint8_t		 pseudonym[PSEUDONYM_LEN];
	int		 has_old;	/* rotating: the youth may be */
	uint8_t		 old[PSEUDONYM_LEN];	/* under old instead */
	uid_t		 uid;
	char		 actor[32];
	char		 org[ORG_ID_MAX + 1];	/* webhook replay: whose */
	uint64_t	 seq;			/* and from which seq */
	struct figures_query report;		/* report: what, */
	int		 csv;			/* and as CSV */
	struct policy	 policy;		/* subject report: in force */
	char		 zone[64];		/* when it was asked for */
};

struct control {
	struct vixd		*v;
	control_reload_fn	 reload;
	struct evconnlistener	*listener;
	char			*path;
	dev_t			 dev;		/* of the socket we bound */
	ino_t			 ino;
	struct pseudonym_ctx	*pseudonyms;	/* main thread only */
	struct timespec		 started;
	char			 listen[300];	/* the address bound */
	TAILQ_HEAD(, ctl_conn)	 conns;
	unsigned		 nconns;
	pthread_mutex_t		 lock;		/* guards running */
	pthread_cond_t		 idle;
	unsigned		 running;	/* tasks in threads */
	int			 quiet;		/* control_quiesce: no new tasks */
};

/* ---- JSON ------------------------------------------------------------ */

/* The lines of text as an array of strings (each cut at 1023 bytes). */
static void
json_lines(struct jsonw *w, const char *text)
{
	const char *at = text, *nl;

	jsonw_array(w);
	for (; *at != '\0'; at = *nl ? nl + 1 : nl) {
		nl = at + strcspn(at, "\n");
		if (nl != at)
			jsonw_strn(w, at, (size_t)(nl - at) < 1023 ?
			    (size_t)(nl - at) : 1023);
	}
	jsonw_end(w);
}

/* {"ok":false,"error":msg} and a newline. */
static void
json_error(struct evbuffer *b, const char *msg)
{
	struct jsonw w;

	json_evbuffer(&w, b);
	jsonw_object(&w);
	jsonw_kbool(&w, "ok", 0);
	jsonw_kstr(&w, "error", msg);
	jsonw_end(&w);
	jsonw_newline(&w);
}

/* "key":"id","key_name":"name" for a store id. */
static void
json_org(struct jsonw *w, const char *key, const struct orgs *orgs,
    uint32_t sid)
{
	const struct org *o = orgs_by_sid(orgs, sid);
	char name[64];

	jsonw_kstr(w, key, o ? o->id : "");
	snprintf(name, sizeof(name), "%s_name", key);
	jsonw_kstr(w, name, o ? o->name : "(no longer registered)");
}

static void
json_audit(struct jsonw *w, const struct store_audit_record *a,
    const struct orgs *orgs)
{
	const struct org *o = orgs ? orgs_by_oin(orgs, a->actor) : NULL;

	jsonw_object(w);
	jsonw_kuint(w, "seq", a->seq);
	jsonw_kint(w, "time", a->time);
	jsonw_kstr(w, "actor", a->actor);
	if (o != NULL)
		jsonw_kstr(w, "actor_org", o->id);
	jsonw_kstr(w, "action", a->action);
	jsonw_kuint(w, "signal_id", a->signal_id);
	jsonw_kuint(w, "match_id", a->match_id);
	jsonw_kstr(w, "outcome", a->outcome);
	jsonw_kstr(w, "professional", a->professional);
	jsonw_end(w);
}

/* ---- connections (main thread) --------------------------------------- */

static void
ctl_job_free(struct job *j)
{
	free(j->out.erase.orgs);
	orgs_unref(j->orgs);
	OPENSSL_cleanse(j->in.erase.pseudonym, PSEUDONYM_LEN);
	free(j);
}

/* The one way a connection ends. */
static void
ctl_close(struct ctl_conn *c, const char *reason)
{
	struct control *ctl = c->ctl;

	log_debug("control: connection closed: %s", reason);
	TAILQ_REMOVE(&ctl->conns, c, entry);
	ctl->nconns--;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->job != NULL)	/* at the writer: freed when it is back */
		c->job->arg = NULL;
	free(c);
}

static void
ctl_written(struct bufferevent *bev, void *arg)
{
	ctl_close(arg, "answered");
}

static void
ctl_event(struct bufferevent *bev, short what, void *arg)
{
	ctl_close(arg, what & BEV_EVENT_TIMEOUT ? "timed out" :
	    what & BEV_EVENT_EOF ? "closed by the client" : "socket error");
}

/* Send the answer in b (drained) and close once it is written. */
static void
ctl_send(struct ctl_conn *c, struct evbuffer *b)
{
	bufferevent_write_buffer(c->bev, b);
	bufferevent_setcb(c->bev, NULL, ctl_written, ctl_event, c);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void __attribute__((format(printf, 2, 3)))
ctl_error(struct ctl_conn *c, const char *fmt, ...)
{
	struct evbuffer *b = evbuffer_new();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b == NULL) {
		ctl_close(c, "out of memory");
		return;
	}
	json_error(b, msg);
	ctl_send(c, b);
	evbuffer_free(b);
}

/* ---- audit records of the control socket ------------------------------ */

/* A task's thread waiting for its audit record: the job's home. */
struct ctl_wait {
	struct job_home	home;
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	int		done;
};

static int
ctl_audit_apply(struct store_txn *t, struct job *j)
{
	return store_audit_youth(t, j->in.audit.has_youth ?
	    j->in.audit.youth : NULL, j->now, j->in.audit.actor,
	    j->in.audit.action, j->in.audit.signal_id, j->in.audit.match_id,
	    j->in.audit.outcome);
}

static void
ctl_audit_free(struct job *j)
{
	free(j);
}

static const struct job_ops ctl_audit_ops = {
	.apply = ctl_audit_apply,
	.free = ctl_audit_free,
};

static struct job *
ctl_audit_job(const char *actor, const char *action, uint64_t signal_id,
    uint64_t match_id, const char *outcome)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->ops = &ctl_audit_ops;
	j->now = time(NULL);
	snprintf(j->in.audit.actor, sizeof(j->in.audit.actor), "%s", actor);
	snprintf(j->in.audit.action, sizeof(j->in.audit.action), "%s", action);
	snprintf(j->in.audit.outcome, sizeof(j->in.audit.outcome), "%s",
	    outcome);
	j->in.audit.signal_id = signal_id;
	j->in.audit.match_id = match_id;
	return j;
}

/* On the writer thread: the record is committed (or failed). */
static void
ctl_audit_waited(struct job_home *home, struct job *j)
{
	struct ctl_wait *w = (struct ctl_wait *)(void *)home;

	pthread_mutex_lock(&w->lock);
	w->done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/*
 * In a task's thread: append an audit record and wait until it is
 * committed. Returns 0, or -1 when it could not be stored.
 */
static int
task_audit(struct ctl_task *t, const char *action, uint64_t signal_id,
    uint64_t match_id, const char *outcome)
{
	struct ctl_wait w = { { ctl_audit_waited, NULL }, PTHREAD_MUTEX_INITIALIZER,
	    PTHREAD_COND_INITIALIZER, 0 };
	struct job *j = ctl_audit_job(t->actor, action, signal_id, match_id,
	    outcome);
	int err;

	if (j == NULL)
		return -1;
	if (t->cmd == CTL_SUBJECT) {	/* in the youth's own report */
		j->in.audit.has_youth = 1;
		memcpy(j->in.audit.youth, t->pseudonym, PSEUDONYM_LEN);
	}
	if (writer_submit(t->ctl->v->writer, &w.home, j) != 0) {
		free(j);
		return -1;
	}
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	err = j->err;
	job_complete(j);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	if (err != 0)
		log_warnx("control: %s by %s: the audit record could not be "
		    "stored", action, t->actor);
	return err == 0 ? 0 : -1;
}

/* On the main thread: append an audit record without waiting for it. */
static void
ctl_audit_async(struct ctl_conn *c, const char *action, const char *outcome)
{
	struct job *j = ctl_audit_job(c->actor, action, 0, 0, outcome);

	if (j == NULL)
		return;
	if (writer_submit(c->ctl->v->writer, &c->ctl->v->home, j) != 0) {
		log_warnx("control: %s by %s: the audit record could not be "
		    "queued", action, c->actor);
		free(j);
	}
}

/* ---- requests answered on the main thread ---------------------------- */

/*
 * rotate: start moving the store to the key holder's next key version
 * (asking the key holder blocks the main loop for at most its timeout);
 * "rotate status": how far it is.
 */
static void
ctl_rotate(struct ctl_conn *c, const char *arg)
{
	struct evbuffer *b;
	struct jsonw w;
	char msg[512];
	int rc = 0;

	if (strcmp(arg, "status") == 0)
		rotate_status(c->ctl->v, msg, sizeof(msg));
	else if (*arg == '\0') {
		rc = rotate_start(c->ctl->v, msg, sizeof(msg));
		ctl_audit_async(c, "key-rotation", rc == 0 ? "ok" : "refused");
	} else {
		ctl_error(c, "rotate: expected nothing or status");
		return;
	}
	if (rc != 0) {
		ctl_error(c, "rotate: %s", msg);
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		ctl_close(c, "out of memory");
		return;
	}
	json_evbuffer(&w, b);
	jsonw_object(&w);
	jsonw_kbool(&w, "ok", 1);
	jsonw_kstr(&w, "rotation", msg);
	jsonw_end(&w);
	jsonw_newline(&w);
	ctl_send(c, b);
	evbuffer_free(b);
}

static void
ctl_reload(struct ctl_conn *c)
{
	struct evbuffer *b = evbuffer_new();
	char changes[4096];
	struct jsonw w;
	struct diag d;

	if (b == NULL) {
		ctl_close(c, "out of memory");
		return;
	}
	diag_init(&d);
	json_evbuffer(&w, b);
	jsonw_object(&w);
	if (c->ctl->reload(c->ctl->v, &d, changes, sizeof(changes)) == 0) {
		ctl_audit_async(c, "reload", "ok");
		jsonw_kbool(&w, "ok", 1);
		jsonw_key(&w, "changes");
		json_lines(&w, changes);
	} else {
		ctl_audit_async(c, "reload", "failed");
		jsonw_kbool(&w, "ok", 0);
		jsonw_kstr(&w, "error", "reload failed; the previous "
		    "configuration stays in force");
		jsonw_key(&w, "errors");
		json_lines(&w, d.text);
	}
	jsonw_end(&w);
	jsonw_newline(&w);
	ctl_send(c, b);
	evbuffer_free(b);
}

static void
json_roles(struct jsonw *w, unsigned roles)
{
	static const struct { unsigned bit; const char *name; } r[] = {
		{ ROLE_REGISTER, "register" }, { ROLE_SUBSCRIBE, "subscribe" },
		{ ROLE_ADMIN, "admin" }, { ROLE_INDEX, "index" },
	};

	jsonw_key(w, "roles");
	jsonw_array(w);
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (roles & r[i].bit)
			jsonw_str(w, r[i].name);
	jsonw_end(w);
}

static void
json_one_org(struct jsonw *w, const struct org *o)
{
	jsonw_object(w);
	jsonw_kstr(w, "id", o->id);
	jsonw_kstr(w, "name", o->name);
	jsonw_kstr(w, "oin", o->oin);
	json_roles(w, o->roles);
	jsonw_kuint(w, "rank", o->rank);
	jsonw_kstr(w, "municipality", o->municipality);
	jsonw_kstr(w, "type", o->type);
	jsonw_key(w, "receives_for");
	jsonw_array(w);
	for (size_t k = 0; k < o->n_receives_for; k++)
		jsonw_str(w, o->receives_for[k]->id);
	jsonw_end(w);
	jsonw_kstr(w, "push", o->push);
	jsonw_end(w);
}

static void
ctl_orgs(struct ctl_conn *c)
{
	struct orgs *orgs = vixd_orgs(c->ctl->v);
	struct evbuffer *b = evbuffer_new();
	struct jsonw w;

	if (b == NULL) {
		orgs_unref(orgs);
		ctl_close(c, "out of memory");
		return;
	}
	json_evbuffer(&w, b);
	jsonw_object(&w);
	jsonw_kbool(&w, "ok", 1);
	jsonw_kstr(&w, "file", orgs->path);
	jsonw_key(&w, "organisations");
	jsonw_array(&w);
	for (size_t i = 0; i < orgs->n; i++)
		json_one_org(&w, &orgs->v[i]);
	jsonw_end(&w);
	jsonw_end(&w);
	jsonw_newline(&w);
	orgs_unref(orgs);
	ctl_send(c, b);
	evbuffer_free(b);
}

/*
 * The youth vixctl names. With pseudonyms = server: a BSN, checked and
 * turned into its pseudonym at once, wiped either way and never in an
 * answer or a log line. With pseudonyms = blind: "p:ELEMENT:VERSION:KEYID"
 * (hex), the pseudonym vixctl had the key holder make; a BSN is refused.
 * The blind pseudonym's parts go to j (if given) for the writer, and the
 * old form during a rotation to old. Returns 0, or -1 after answering.
 */
static int
ctl_pseudonymise(struct ctl_conn *c, char *arg, uint8_t *out, struct job *j,
    int *has_old, uint8_t *old)
{
	struct blind *b = c->ctl->v->blind;
	struct blind_keys keys;
	uint8_t element[BLIND_ELEMENT_LEN], key_id[BLIND_KEY_ID_LEN];
	unsigned long version;
	const char *why, *end;
	char msg[256], *colon;
	size_t n;
	int rc;

	*has_old = 0;
	if (b == NULL) {
		if (pseudonym_from_bsn(c->ctl->pseudonyms, arg, out, &why) == 0)
			return 0;
		ctl_error(c, "%s", why);
		return -1;
	}
	if (strncmp(arg, "p:", 2) != 0) {
		OPENSSL_cleanse(arg, strlen(arg));
		ctl_error(c, "bsn: this index takes only blind pseudonyms "
		    "(pseudonyms = blind): run vixctl with the key holder "
		    "(--keyholder and an admin certificate), which sends the "
		    "pseudonym, never the BSN");
		return -1;
	}
	if (sodium_hex2bin(element, sizeof(element), arg + 2,
	    strlen(arg + 2), NULL, &n, &end) != 0 || n != sizeof(element) ||
	    *end != ':' || (version = strtoul(end + 1, &colon, 10)) == 0 ||
	    version > UINT32_MAX || *colon != ':' || sodium_hex2bin(key_id,
	    sizeof(key_id), colon + 1, strlen(colon + 1), NULL, &n,
	    &end) != 0 || n != sizeof(key_id) || *end != '\0') {
		ctl_error(c, "pseudonym: expected p:ELEMENT:VERSION:KEYID in hex, "
		    "as vixctl sends it");
		return -1;
	}
	blind_get(b, &keys);
	rc = blind_pseudonym(&keys, element, sizeof(element), (uint32_t)version,
	    key_id, sizeof(key_id), out, old, has_old, msg, sizeof(msg));
	if (rc != 0) {
		ctl_error(c, "%s", msg);
		return -1;
	}
	if (j != NULL) {
		j->blind.keys = b;
		j->blind.gen = keys.gen;
		memcpy(j->blind.element, element, sizeof(element));
		j->blind.version = (uint32_t)version;
		memcpy(j->blind.key_id, key_id, sizeof(key_id));
		j->blind.has_old = *has_old;
		memmove(j->blind.old, old, BLIND_ELEMENT_LEN);
	}
	return 0;
}

/* ---- writer jobs on a youth vixctl names ----------------------------- */

/*
 * A job with ops for the youth arg names, its pseudonym made at youth_off
 * in the job (and the blind parts, if any, kept for the writer), or NULL
 * after answering; arg is wiped either way.
 */
static struct job *
ctl_youth_job(struct ctl_conn *c, char *arg, const struct job_ops *ops,
    size_t youth_off)
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		OPENSSL_cleanse(arg, strlen(arg));
		ctl_error(c, "out of memory");
		return NULL;
	}
	if (ctl_pseudonymise(c, arg, (uint8_t *)j + youth_off, j,
	    &j->blind.has_old, j->blind.old) == -1) {
		free(j);
		return NULL;
	}
	j->ops = ops;
	j->orgs = vixd_orgs(c->ctl->v);
	j->now = time(NULL);
	j->arg = c;
	return j;
}

/* Hand j to the writer; its answer comes back to c (or c is told why not). */
static void
ctl_job_submit(struct ctl_conn *c, struct job *j)
{
	struct vixd *v = c->ctl->v;
	int err;

	c->job = j;
	if ((err = writer_submit(v->writer, &v->home, j)) != 0) {
		c->job = NULL;
		ctl_job_free(j);
		ctl_error(c, "%s", err == VIX_E_FULL ? "the writer's queue is "
		    "full; try again" : "vixd is shutting down");
	}
}

/* ---- erase: a writer job --------------------------------------------- */

static int
ctl_erase_apply(struct store_txn *t, struct job *j)
{
	int err = handlers_blind_youth(t, j, j->in.erase.pseudonym);

	return err != 0 ? err : store_erase(t, &j->in.erase, &j->out.erase);
}

/* Back on the main loop: answer, unless the client went away meanwhile. */
static void
ctl_erase_answer(struct job *j)
{
	struct ctl_conn *c = j->arg;
	const struct store_erase_out *o = &j->out.erase;
	struct evbuffer *b;
	struct jsonw w;

	if (c == NULL)
		return;
	c->job = NULL;	/* freed after this */
	b = evbuffer_new();

	if (j->err != 0) {
		log_warnx("control: erase failed: %s", j->why);
		ctl_error(c, "erase failed: %s", j->why);
		if (b != NULL)
			evbuffer_free(b);
		return;
	}
	log_info("control: %s: %zu active and %zu archived signals removed, "
	    "%zu notifications about them withdrawn (by uid %u)",
	    j->in.erase.action, o->removed, o->archived, o->withdrawn,
	    (unsigned)c->uid);
	if (b == NULL) {
		ctl_close(c, "out of memory");
		return;
	}
	json_evbuffer(&w, b);
	jsonw_object(&w);
	jsonw_kbool(&w, "ok", 1);
	jsonw_kuint(&w, "removed", o->removed);
	jsonw_kuint(&w, "archived", o->archived);
	jsonw_kuint(&w, "withdrawn", o->withdrawn);
	jsonw_kuint(&w, "parent_links", o->parent_links);
	jsonw_key(&w, "notified");
	jsonw_array(&w);
	for (size_t i = 0; i < o->norgs; i++) {
		jsonw_object(&w);
		json_org(&w, "org", j->orgs, o->orgs[i]);
		jsonw_end(&w);
	}
	jsonw_end(&w);
	jsonw_end(&w);
	jsonw_newline(&w);
	ctl_send(c, b);
	evbuffer_free(b);
}

/* A batch that did not fit runs the erase again: forget the first run's. */
static void
ctl_erase_reset(struct job *j)
{
	free(j->out.erase.orgs);
	j->out.erase.orgs = NULL;
}

static const struct job_ops ctl_erase_ops = {
	.apply = ctl_erase_apply,
	.reset = ctl_erase_reset,
	.complete = ctl_erase_answer,
	.free = ctl_job_free,
};

/* "BSN REASON" */
static void
ctl_erase(struct ctl_conn *c, char *arg)
{
	char *reason = strchr(arg, ' ');
	const char *action;
	struct job *j;

	if (reason != NULL)
		*reason++ = '\0';
	action = reason == NULL ? NULL : strcmp(reason, "death") == 0 ?
	    "erase:death" : strcmp(reason, "gdpr-erasure") == 0 ?
	    "erase:gdpr" : NULL;
	if (action == NULL) {
		OPENSSL_cleanse(arg, strlen(arg));
		ctl_error(c, "reason: must be death or gdpr-erasure");
		return;
	}
	if ((j = ctl_youth_job(c, arg, &ctl_erase_ops, offsetof(struct job,
	    in.erase.pseudonym))) == NULL)
		return;
	j->in.erase.orgs = j->orgs;
	j->in.erase.now = j->now;
	j->in.erase.action = action;
	j->in.erase.actor = c->actor;
	ctl_job_submit(c, j);
}

/* ---- relocate: a writer job ----------------------------------------- */

static int
ctl_relocate_apply(struct store_txn *t, struct job *j)
{
	int err = handlers_blind_youth(t, j, j->in.reloc.pseudonym);

	return err != 0 ? err : store_relocate(t, &j->in.reloc, &j->out.reloc);
}

static void
ctl_relocate_answer(struct job *j)
{
	struct ctl_conn *c = j->arg;
	const struct store_relocate_out *o = &j->out.reloc;
	struct evbuffer *b;
	struct jsonw w;

	if (c == NULL)
		return;
	c->job = NULL;	/* freed after this */
	if (j->err != 0) {
		ctl_error(c, "relocate: %s", j->err == VIX_E_NOT_FOUND ?
		    "bsn: no active signal on this youth" : err_name(j->err));
		return;
	}
	log_info("control: relocate to municipality %s by uid %u: %u "
	    "signals%s", j->in.reloc.municipality, (unsigned)c->uid,
	    o->signals, o->moved ? "" : " (it was there already)");
	if ((b = evbuffer_new()) == NULL) {
		ctl_close(c, "out of memory");
		return;
	}
	json_evbuffer(&w, b);
	jsonw_object(&w);
	jsonw_kbool(&w, "ok", 1);
	jsonw_kbool(&w, "moved", o->moved);
	jsonw_kuint(&w, "signals", o->signals);
	jsonw_kuint(&w, "match_id", o->match_id);
	jsonw_kstr(&w, "municipality", j->in.reloc.municipality);
	jsonw_end(&w);
	jsonw_newline(&w);
	ctl_send(c, b);
	evbuffer_free(b);
}

static const struct job_ops ctl_relocate_ops = {
	.apply = ctl_relocate_apply,
	.complete = ctl_relocate_answer,
	.free = ctl_job_free,
};

/* "BSN CODE" */
static void
ctl_relocate(struct ctl_conn *c, char *arg)
{
	char *muni = strchr(arg, ' ');
	struct job *j;

	if (muni != NULL)
		*muni++ = '\0';
	if (muni == NULL || strlen(muni) != 4 ||
	    strspn(muni, "0123456789") != 4) {
		OPENSSL_cleanse(arg, strlen(arg));
		ctl_error(c, "municipality: must be the 4-digit CBS code of "
		    "the municipality the youth moved to");
		return;
	}
	if ((j = ctl_youth_job(c, arg, &ctl_relocate_ops, offsetof(struct job,
	    in.reloc.pseudonym))) == NULL)
		return;
	j->in.reloc.orgs = j->orgs;
	j->in.reloc.now = j->now;
	j->in.reloc.actor = c->actor;
	memcpy(j->in.reloc.municipality, muni, 5);
	ctl_job_submit(c, j);
}

/* ---- requests in a thread -------------------------------------------- */

/* Write out all of b; 0, or -1 when the client is gone. */
static int
task_flush(struct ctl_task *t, struct evbuffer *b)
{
	while (evbuffer_get_length(b) > 0)
		if (evbuffer_write(b, t->fd) <= 0)
			return -1;
	return 0;
}

static double
elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

static void
task_status(struct ctl_task *t, struct evbuffer *b)
{
	struct vixd *v = t->ctl->v;
	struct vixd_status s;
	const struct store_stats *st;
	struct jsonw w;

	status_take(v->status, &s);
	if (s.store_err != 0) {
		status_release(&s);
		json_error(b, "cannot read the store");
		return;
	}
	st = s.st;
	json_evbuffer(&w, b);
	jsonw_object(&w);
	jsonw_kbool(&w, "ok", 1);
	jsonw_kstr(&w, "version", VIX_VERSION);
	jsonw_kint(&w, "pid", getpid());
	jsonw_key(&w, "uptime");
	jsonw_fixed(&w, elapsed(&t->ctl->started), 0);
	jsonw_kuint(&w, "connections", s.connections);
	jsonw_kuint(&w, "workers", v->nworkers);
	jsonw_kuint(&w, "organisations", s.orgs->n);
	jsonw_kstr(&w, "listen", t->ctl->listen);
	jsonw_kstr(&w, "data_dir", v->cfg.data_dir);
	jsonw_kuint(&w, "signals", st->signals);
	jsonw_kuint(&w, "matches", st->matches);
	jsonw_kuint(&w, "matches_uncoordinated", st->matches_uncoordinated);
	jsonw_kuint(&w, "archived", st->archived);
	jsonw_kuint(&w, "audit_records", st->audit_records);
	jsonw_kuint(&w, "map_used", st->bytes_used);
	jsonw_kuint(&w, "map_size", st->bytes_reserved);
	jsonw_kuint(&w, "quota", st->quota);
	jsonw_key(&w, "pending");
	jsonw_array(&w);
	for (size_t i = 0; i < st->npending; i++) {
		jsonw_object(&w);
		jsonw_kstr(&w, "org", st->pending[i].org->id);
		jsonw_kuint(&w, "pending", st->pending[i].pending);
		jsonw_kint(&w, "oldest_age", status_oldest_age(&s, i));
		jsonw_end(&w);
	}
	jsonw_end(&w);
	webhook_json(&w, s.webhooks, s.nwebhooks);
	jsonw_end(&w);
	jsonw_newline(&w);
	status_release(&s);
}

static void
task_backup(struct ctl_task *t, struct evbuffer *b)
{
	struct timespec start;
	char file[PATH_MAX + 16];
	struct jsonw w;
	struct diag d;
	struct stat st;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &start);
	diag_init(&d);
	if (store_backup(t->ctl->v->store, t->path, &d) == -1) {
		char first[1024];

		diag_first(&d, first, sizeof(first));
		log_warnx("control: %s", first);
		(void)task_audit(t, "backup", 0, 0, "failed");
		json_error(b, first);
		return;
	}
	if (task_audit(t, "backup", 0, 0, "ok") == -1) {
		json_error(b, "the backup was written but its audit record "
		    "could not be stored; see the vixd log");
		return;
	}
	secs = elapsed(&start);
	snprintf(file, sizeof(file), "%s/data.mdb", t->path);
	if (stat(file, &st) == -1)
		st.st_size = 0;
	log_info("control: backup by uid %u written to %s (%lld bytes in "
	    "%.1f s)", (unsigned)t->uid, t->path, (long long)st.st_size, secs);
	json_evbuffer(&w, b);
	jsonw_object(&w);
	jsonw_kbool(&w, "ok", 1);
	jsonw_kstr(&w, "path", t->path);
	jsonw_kint(&w, "bytes", st.st_size);
	jsonw_key(&w, "seconds");
	jsonw_fixed(&w, secs, 3);
	jsonw_end(&w);
	jsonw_newline(&w);
}

/* {"ok":B,"records":N} and a newline; bad and error only when not ok. */
static void
json_records(struct evbuffer *b, uint64_t count, uint64_t chains,
    uint64_t bad, const char *error)
{
	struct jsonw w;

	json_evbuffer(&w, b);
	jsonw_object(&w);
	jsonw_kbool(&w, "ok", error == NULL);
	jsonw_kuint(&w, "records", count);
	jsonw_kuint(&w, "chains", chains);
	if (error != NULL) {
		jsonw_kuint(&w, "bad", bad);
		jsonw_kstr(&w, "error", error);
	}
	jsonw_end(&w);
	jsonw_newline(&w);
}

/*
 * Where the chain broke, into msg: at a record, or in the records up to
 * the next hash kept (LMDB keeps one every 1024 records and the last's),
 * any of which may be the changed, removed or added one.
 */
static void
audit_broken_text(const struct store_audit_result *res, char *msg,
    size_t len)
{
	char where[64] = "";
	int n;

	if (STORE_AUDIT_CHAIN(res->bad) != 0)
		snprintf(where, sizeof(where), " %" PRIu64,
		    (uint64_t)STORE_AUDIT_CHAIN(res->bad));
	n = snprintf(msg, len, "audit chain%s broken at %srecord %" PRIu64,
	    where, *where ? "its " : "", (uint64_t)STORE_AUDIT_PLACE(res->bad));
	if (res->found > res->bad && n > 0 && (size_t)n < len)
		n += snprintf(msg + n, len - (size_t)n, " or after it, up to "
		    "record %" PRIu64 " (hashes are kept at checkpoints, so a "
		    "record changed, removed or added in that range shows at "
		    "the next)", (uint64_t)STORE_AUDIT_PLACE(res->found));
	if (n > 0 && (size_t)n < len)
		snprintf(msg + n, len - (size_t)n, "; the %" PRIu64 " records "
		    "before it verify", res->count);
}

static void
task_audit_verify(struct store_reader *r, struct evbuffer *b)
{
	struct store_audit_result res;
	char msg[384];

	if (store_audit_check(r, &res) != 0) {
		json_error(b, "cannot read the audit records");
		return;
	}
	if (res.bad != 0) {
		audit_broken_text(&res, msg, sizeof(msg));
		log_warnx("control: %s", msg);
		json_records(b, res.count, res.chains, res.bad, msg);
		return;
	}
	json_records(b, res.count, res.chains, 0, NULL);
}

struct export {
	struct ctl_task	*t;
	struct evbuffer	*b;
	uint64_t	 n;
	int		 gone;		/* the client went away */
};

static int
export_one(void *arg, const struct store_audit_record *a)
{
	struct export *x = arg;
	struct jsonw w;

	if (a->time < x->t->since)
		return 0;
	json_evbuffer(&w, x->b);
	json_audit(&w, a, NULL);
	jsonw_newline(&w);
	x->n++;
	if (evbuffer_get_length(x->b) >= CTL_FLUSH &&
	    task_flush(x->t, x->b) == -1) {
		x->gone = 1;
		return -1;
	}
	return 0;
}

/* JSON lines, one per record, then {"ok":true,"records":N}. */
static void
task_audit_export(struct ctl_task *t, struct store_reader *r,
    struct evbuffer *b)
{
	struct export x = { t, b, 0, 0 };

	/* Reading the trail is itself recorded, first. */
	if (task_audit(t, "audit-export", 0, 0, "ok") == -1) {
		json_error(b, "the export's audit record could not be stored; "
		    "nothing is exported");
		return;
	}
	if (store_audit_foreach(r, export_one, &x) != 0) {
		if (!x.gone)
			json_error(b, "cannot read the audit records");
		return;
	}
	json_records(b, x.n, 0, 0, NULL);
}

static const char *
archive_reason(enum store_archive_reason reason)
{
	switch (reason) {
	case STORE_ARCHIVE_RISK_RESOLVED:	return "risk_resolved";
	case STORE_ARCHIVE_EXPIRED:		return "expired";
	case STORE_ARCHIVE_AGE_LIMIT:		return "age_limit";
	}
	return "unknown";
}

static void
json_subject_signal(struct jsonw *w, const struct store_subject_signal *s,
    const struct orgs *orgs)
{
	char id[16];

	jsonw_object(w);
	jsonw_kuint(w, "signal_id", s->signal_id);
	json_org(w, "org", orgs, s->org);
	jsonw_kint(w, "created", s->created);
	jsonw_kint(w, "updated", s->updated);
	jsonw_kint(w, "expires", s->expires);
	jsonw_kstr(w, "bound", s->bound == EXPIRY_AGE_23 ? "age_23" :
	    "duration");
	jsonw_kstr(w, "client_ref", s->client_ref);
	jsonw_kstr(w, "municipality", s->municipality);
	/* How many parents it names (the family match), never who. */
	jsonw_kuint(w, "parents", s->parents);
	if (s->policy != 0) {
		snprintf(id, sizeof(id), "%08" PRIx32, s->policy);
		jsonw_kstr(w, "policy", id);
	}
	jsonw_key(w, "contact");
	jsonw_object(w);
	jsonw_kstr(w, "name", s->contact.name);
	jsonw_kstr(w, "phone", s->contact.phone);
	jsonw_kstr(w, "email", s->contact.email);
	jsonw_end(w);
	if (s->archived != 0) {
		jsonw_kint(w, "archived", s->archived);
		jsonw_kstr(w, "reason", archive_reason(s->reason));
	}
	jsonw_end(w);
}

/* "key":[...] of the active (archived 0) or archived signals. */
static void
json_subject_signals(struct jsonw *w, const char *key,
    const struct store_subject *s, const struct orgs *orgs, int archived)
{
	jsonw_key(w, key);
	jsonw_array(w);
	for (size_t i = 0; i < s->nsignals; i++)
		if ((s->signals[i].archived != 0) == archived)
			json_subject_signal(w, &s->signals[i], orgs);
	jsonw_end(w);
}

static void
json_subject_match(struct jsonw *w, const struct store_subject *s,
    const struct orgs *orgs)
{
	jsonw_key(w, "match");
	if (!s->has_match) {
		jsonw_null(w);
		return;
	}
	jsonw_object(w);
	jsonw_kuint(w, "match_id", s->match.id);
	jsonw_kint(w, "created", s->match.created);
	json_org(w, "coordinator", orgs, s->match.coordinator);
	jsonw_kbool(w, "coordinated", s->match.coordinated);
	jsonw_kbool(w, "escalated", s->match.escalated);
	jsonw_kuint(w, "escalations", (uint64_t)s->match.escalated);
	jsonw_kuint(w, "reminded", s->match.reminded);
	jsonw_end(w);
}

/*
 * "policy": the policy in force as the report is made, each rule with its
 * value and whether it is the law's, and who may register.
 */
static void
json_policy(struct jsonw *w, const struct ctl_task *t,
    const struct orgs *orgs)
{
	struct policy_rule r[POLICY_NRULES];
	size_t n = policy_rules(&t->policy, t->zone, r);
	char id[16], line[160];

	snprintf(id, sizeof(id), "%08" PRIx32, policy_id(&t->policy, t->zone));
	jsonw_key(w, "policy");
	jsonw_object(w);
	jsonw_kstr(w, "id", id);
	jsonw_kbool(w, "law", policy_is_law(&t->policy, t->zone));
	jsonw_key(w, "rules");
	jsonw_array(w);
	for (size_t i = 0; i < n; i++) {
		policy_rule_line(&r[i], line, sizeof(line));
		jsonw_object(w);
		jsonw_kstr(w, "key", r[i].key);
		jsonw_kstr(w, "what", r[i].what);
		jsonw_kstr(w, "value", r[i].value);
		jsonw_kstr(w, "default", r[i].dflt);
		jsonw_kbool(w, "changed", r[i].changed);
		jsonw_kbool(w, "of_law", r[i].of_law);
		jsonw_kstr(w, "text", line);
		jsonw_end(w);
	}
	jsonw_end(w);
	jsonw_key(w, "registrants");
	jsonw_array(w);
	for (size_t i = 0; i < orgs->n; i++)
		if (orgs->v[i].roles & ROLE_REGISTER)
			jsonw_str(w, orgs->v[i].id);
	jsonw_end(w);
	jsonw_end(w);
}

/*
 * "policies_applied": each policy a signal of the subject was registered
 * under, with the text the store recorded for it (null: not recorded).
 */
static void
json_policies_applied(struct jsonw *w, const struct store_subject *s,
    struct store_reader *rd)
{
	char id[16], text[STORE_META_VALUE_MAX + 1];

	jsonw_key(w, "policies_applied");
	jsonw_array(w);
	for (size_t i = 0; i < s->nsignals; i++) {
		uint32_t p = s->signals[i].policy;
		size_t k;

		for (k = 0; k < i && s->signals[k].policy != p; k++)
			;
		if (p == 0 || k < i)
			continue;	/* none, or listed already */
		snprintf(id, sizeof(id), "%08" PRIx32, p);
		jsonw_object(w);
		jsonw_kstr(w, "id", id);
		jsonw_key(w, "text");
		if (policyrec_lookup(rd, p, text, sizeof(text)) == 0)
			jsonw_str(w, text);
		else
			jsonw_null(w);
		jsonw_end(w);
	}
	jsonw_end(w);
}

static void
json_subject(struct evbuffer *b, const struct store_subject *s,
    const struct orgs *orgs, const struct ctl_task *t,
    struct store_reader *rd)
{
	struct jsonw w;

	json_evbuffer(&w, b);
	jsonw_object(&w);
	jsonw_kbool(&w, "ok", 1);
	json_policy(&w, t, orgs);
	json_policies_applied(&w, s, rd);
	json_subject_signals(&w, "signals", s, orgs, 0);
	json_subject_signals(&w, "archived", s, orgs, 1);
	json_subject_match(&w, s, orgs);
	jsonw_key(&w, "closed_matches");
	jsonw_array(&w);
	for (size_t i = 0; i < s->nclosed; i++) {
		jsonw_object(&w);
		jsonw_kuint(&w, "match_id", s->closed[i].id);
		jsonw_kint(&w, "first", s->closed[i].first);
		jsonw_kint(&w, "closed", s->closed[i].last);
		jsonw_end(&w);
	}
	jsonw_end(&w);
	jsonw_key(&w, "audit");
	jsonw_array(&w);
	for (size_t i = 0; i < s->naudit; i++)
		json_audit(&w, &s->audit[i], orgs);
	jsonw_end(&w);
	/* Named as a parent by others' signals: how many, never whose. */
	jsonw_kuint(&w, "named_as_parent", s->parent_links);
	jsonw_end(&w);
	jsonw_newline(&w);
}

static void
task_subject(struct ctl_task *t, struct store_reader *r, struct evbuffer *b)
{
	struct orgs *orgs = vixd_orgs(t->ctl->v);
	struct store_subject s;
	const uint8_t *youth = t->pseudonym;

	/* Rotating: the youth is under one of its two pseudonyms. */
	if (t->has_old && store_reader_youth_known(r, youth) == 0 &&
	    store_reader_youth_known(r, t->old) == 1)
		youth = t->old;
	if (store_subject_report(r, youth, &s) != 0) {
		orgs_unref(orgs);
		json_error(b, "cannot read the store");
		return;
	}
	/* The lookup is audited before anything of it is shown. */
	if (task_audit(t, "subject-report", s.nsignals > 0 ?
	    s.signals[0].signal_id : 0, s.has_match ? s.match.id : 0,
	    "ok") == -1) {
		store_subject_free(&s);
		orgs_unref(orgs);
		json_error(b, "the report's audit record could not be stored; "
		    "the report is withheld");
		return;
	}
	json_subject(b, &s, orgs, t, r);
	log_info("control: subject-report by uid %u: %zu signals, %zu audit "
	    "records", (unsigned)t->uid, s.nsignals, s.naudit);
	store_subject_free(&s);
	orgs_unref(orgs);
}

/* Waits for the delivering thread to set its cursor: in a thread of its own. */
static void
task_webhook_replay(struct ctl_task *t, struct evbuffer *b)
{
	char msg[256];
	struct jsonw w;

	if (webhook_replay(t->ctl->v->webhooks, t->org, t->seq, t->actor, msg,
	    sizeof(msg)) == -1) {
		json_error(b, msg);
		return;
	}
	json_evbuffer(&w, b);
	jsonw_object(&w);
	jsonw_kbool(&w, "ok", 1);
	jsonw_kstr(&w, "replay", msg);
	jsonw_end(&w);
	jsonw_newline(&w);
}

/*
 * Regional figures: one meta record per month, no personal data. As CSV
 * the same text /v1/report?format=csv answers, in the member "csv".
 */
static void
task_report(struct ctl_task *t, struct store_reader *r, struct evbuffer *b)
{
	struct figures_month *ms = calloc(FIG_MONTHS_MAX, sizeof(*ms));
	unsigned min = t->ctl->v->cfg.report_min_count;
	const struct figures_query *q = &t->report;
	struct evbuffer *csv = NULL;
	struct jsonw w;
	size_t n;

	if (ms == NULL || (t->csv && (csv = evbuffer_new()) == NULL))
		json_error(b, "out of memory");
	else if (figures_read(r, q->muni, q->y0, q->m0, q->y1, q->m1, ms,
	    &n) != 0)
		json_error(b, "cannot read the store");
	else if (csv == NULL) {
		json_evbuffer(&w, b);
		figures_report_json(&w, q, ms, n, min);
	} else {
		figures_csv(csv, ms, n, min);
		json_evbuffer(&w, b);
		jsonw_object(&w);
		jsonw_kbool(&w, "ok", 1);
		jsonw_key(&w, "csv");
		jsonw_strn(&w, (const char *)evbuffer_pullup(csv, -1),
		    evbuffer_get_length(csv));
		jsonw_end(&w);
		jsonw_newline(&w);
	}
	if (csv != NULL)
		evbuffer_free(csv);
	free(ms);
}

static void
task_run(struct ctl_task *t, struct store_reader *r, struct evbuffer *b)
{
	switch (t->cmd) {
	case CTL_STATUS:	task_status(t, b); break;
	case CTL_BACKUP:	task_backup(t, b); break;
	case CTL_AUDIT_VERIFY:	task_audit_verify(r, b); break;
	case CTL_AUDIT_EXPORT:	task_audit_export(t, r, b); break;
	case CTL_SUBJECT:	task_subject(t, r, b); break;
	case CTL_WEBHOOK_REPLAY: task_webhook_replay(t, b); break;
	case CTL_REPORT:	task_report(t, r, b); break;
	}
}

static void *
task_main(void *arg)
{
	struct ctl_task *t = arg;
	struct control *ctl = t->ctl;
	struct store_reader *r = store_reader_new(ctl->v->store);
	struct evbuffer *b = evbuffer_new();
	struct timeval tv = { CTL_WRITE_SECS, 0 };

	/* The main loop let go of the socket: block, but not forever. */
	fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (r != NULL && b != NULL) {
		task_run(t, r, b);
		(void)task_flush(t, b);
	}
	close(t->fd);
	store_reader_free(r);
	if (b != NULL)
		evbuffer_free(b);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
	pthread_mutex_lock(&ctl->lock);
	ctl->running--;
	pthread_cond_signal(&ctl->idle);
	pthread_mutex_unlock(&ctl->lock);
	return NULL;
}

/*
 * Hand the request to a detached thread with its own descriptor of the
 * socket (blocking, with a send timeout); the connection is done here.
 */
static void
ctl_spawn(struct ctl_conn *c, struct ctl_task *t)
{
	struct control *ctl = c->ctl;
	pthread_attr_t attr;
	pthread_t tid;
	int busy, rc;

	t->ctl = ctl;
	t->uid = c->uid;
	snprintf(t->actor, sizeof(t->actor), "%s", c->actor);
	if ((t->fd = fcntl(bufferevent_getfd(c->bev), F_DUPFD_CLOEXEC,
	    0)) == -1) {
		free(t);
		ctl_error(c, "cannot take the request: %s", strerror(errno));
		return;
	}
	pthread_mutex_lock(&ctl->lock);
	if (ctl->quiet) {
		pthread_mutex_unlock(&ctl->lock);
		close(t->fd);
		free(t);
		ctl_error(c, "vixd is stopping");
		return;
	}
	if (!(busy = ctl->running >= CTL_TASKS_MAX))
		ctl->running++;
	pthread_mutex_unlock(&ctl->lock);
	rc = -1;
	if (!busy && pthread_attr_init(&attr) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&tid, &attr, task_main, t);
		pthread_attr_destroy(&attr);
	}
	if (rc == 0) {
		ctl_close(c, "handed to a thread");
		return;
	}
	if (!busy) {
		pthread_mutex_lock(&ctl->lock);
		ctl->running--;
		pthread_mutex_unlock(&ctl->lock);
	}
	close(t->fd);
	free(t);
	if (busy)
		ctl_error(c, "busy: %u control requests are running; try "
		    "again", CTL_TASKS_MAX);
	else
		ctl_error(c, "cannot start a thread");
}

/* ---- dispatch -------------------------------------------------------- */

static struct ctl_task *
task_new(struct ctl_conn *c, enum ctl_cmd cmd)
{
	struct ctl_task *t = calloc(1, sizeof(*t));

	if (t == NULL)
		ctl_error(c, "out of memory");
	else
		t->cmd = cmd;
	return t;
}

static void
ctl_backup(struct ctl_conn *c, const char *path)
{
	struct ctl_task *t;

	if (path[0] != '/') {
		ctl_error(c, "backup: the path must be absolute");
		return;
	}
	if ((t = task_new(c, CTL_BACKUP)) == NULL)
		return;
	snprintf(t->path, sizeof(t->path), "%s", path);
	log_info("control: backup to %s requested by uid %u", path,
	    (unsigned)c->uid);
	ctl_spawn(c, t);
}

static void
ctl_audit(struct ctl_conn *c, char *arg)
{
	struct ctl_task *t;
	char *end;
	long long since = 0;

	if (strcmp(arg, "verify") == 0) {
		if ((t = task_new(c, CTL_AUDIT_VERIFY)) != NULL)
			ctl_spawn(c, t);
		return;
	}
	if (strncmp(arg, "export", 6) != 0 || (arg[6] != '\0' &&
	    arg[6] != ' ')) {
		ctl_error(c, "audit: verify or export [SINCE]");
		return;
	}
	if (arg[6] == ' ') {
		errno = 0;
		since = strtoll(arg + 7, &end, 10);
		if (errno != 0 || end == arg + 7 || *end != '\0' || since < 0) {
			ctl_error(c, "audit export: SINCE must be Unix seconds");
			return;
		}
	}
	if ((t = task_new(c, CTL_AUDIT_EXPORT)) != NULL) {
		t->since = since;
		ctl_spawn(c, t);
	}
}

static void
ctl_subject(struct ctl_conn *c, char *bsn)
{
	struct ctl_task *t;

	if ((t = task_new(c, CTL_SUBJECT)) == NULL) {
		OPENSSL_cleanse(bsn, strlen(bsn));
		return;
	}
	if (ctl_pseudonymise(c, bsn, t->pseudonym, NULL, &t->has_old,
	    t->old) == -1) {
		free(t);
		return;
	}
	/* Copied here: a reload changes cfg on this thread, not the task's. */
	t->policy = c->ctl->v->cfg.policy;
	snprintf(t->zone, sizeof(t->zone), "%s", c->ctl->v->cfg.zone);
	ctl_spawn(c, t);
}

/* "webhook replay ORG SEQ": deliver ORG's notifications again from SEQ. */
static void
ctl_webhook(struct ctl_conn *c, const char *arg)
{
	char org[ORG_ID_MAX + 2], rest[32], *end;
	unsigned long long seq;
	struct ctl_task *t;

	if (sscanf(arg, "replay %33s %31s", org, rest) != 2 ||
	    strlen(org) > ORG_ID_MAX) {
		ctl_error(c, "webhook: expected replay ORG SEQ");
		return;
	}
	errno = 0;
	seq = strtoull(rest, &end, 10);
	if (errno != 0 || *end != '\0' || seq == 0 || rest[0] == '-') {
		ctl_error(c, "webhook replay: SEQ must be a notification seq "
		    "(1 or more)");
		return;
	}
	if ((t = task_new(c, CTL_WEBHOOK_REPLAY)) == NULL)
		return;
	memcpy(t->org, org, strlen(org) + 1);	/* at most ORG_ID_MAX */
	t->seq = seq;
	ctl_spawn(c, t);
}

/* "report MUNI|none FROM TO [csv]" (months: YYYY-MM or YYYY-MM-DD). */
static void
ctl_report(struct ctl_conn *c, const char *arg)
{
	static const char *const opts[] = {
		[FIGQ_MUNICIPALITY] = "--municipality",
		[FIGQ_FROM] = "--from", [FIGQ_TO] = "--to",
		[FIGQ_RANGE] = "--to",
	};
	char muni[8], from[16], to[16], fmt[8] = "";
	struct figures_query q;
	enum figures_bad bad;
	const char *why;
	struct ctl_task *t;
	int n = sscanf(arg, "%7s %15s %15s %7s", muni, from, to, fmt);

	if (n < 3 || (n == 4 && strcmp(fmt, "csv") != 0)) {
		ctl_error(c, "report: expected MUNICIPALITY FROM TO [csv] (a "
		    "4-digit CBS code or none, and months as YYYY-MM)");
		return;
	}
	if ((why = figures_query_parse(&q, muni, from, to, &bad)) != NULL) {
		ctl_error(c, "report: %s must be %s", opts[bad], why);
		return;
	}
	if ((t = task_new(c, CTL_REPORT)) == NULL)
		return;
	t->report = q;
	t->csv = n == 4;
	ctl_spawn(c, t);
}

static const char *const ctl_commands[] = {
	"status", "reload", "orgs", "backup", "audit", "subject-report",
	"erase", "rotate", "webhook", "relocate", "report",
};

/*
 * Who asks for what: only known command names reach the log (the line may
 * hold a BSN), with the caller's uid and pid.
 */
static void
ctl_log_request(const struct ctl_conn *c, const char *cmd, const char *arg)
{
	for (size_t i = 0; i < sizeof(ctl_commands) /
	    sizeof(ctl_commands[0]); i++)
		if (strcmp(cmd, ctl_commands[i]) == 0) {
			log_info("control: %s%s%s requested by uid %u (pid %ld)",
			    cmd, strcmp(cmd, "audit") == 0 ? " " : "",
			    strcmp(cmd, "audit") == 0 ? (strncmp(arg, "export",
			    6) == 0 ? "export" : "verify") : "",
			    (unsigned)c->uid, (long)c->pid);
			return;
		}
}

static void
ctl_dispatch(struct ctl_conn *c, char *line)
{
	char *arg = strchr(line, ' ');

	if (arg != NULL)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	if (strcmp(line, "backup") != 0)
		ctl_log_request(c, line, arg);
	if (strcmp(line, "status") == 0 && *arg == '\0') {
		struct ctl_task *t = task_new(c, CTL_STATUS);

		if (t != NULL)
			ctl_spawn(c, t);
	} else if (strcmp(line, "reload") == 0 && *arg == '\0') {
		ctl_reload(c);
	} else if (strcmp(line, "orgs") == 0 && *arg == '\0')
		ctl_orgs(c);
	else if (strcmp(line, "backup") == 0 && *arg != '\0')
		ctl_backup(c, arg);
	else if (strcmp(line, "audit") == 0)
		ctl_audit(c, arg);
	else if (strcmp(line, "subject-report") == 0)
		ctl_subject(c, arg);
	else if (strcmp(line, "erase") == 0)
		ctl_erase(c, arg);
	else if (strcmp(line, "rotate") == 0)
		ctl_rotate(c, arg);
	else if (strcmp(line, "webhook") == 0)
		ctl_webhook(c, arg);
	else if (strcmp(line, "relocate") == 0)
		ctl_relocate(c, arg);
	else if (strcmp(line, "report") == 0)
		ctl_report(c, arg);
	else
		ctl_error(c, "unknown request; expected status, reload, orgs, "
		    "backup, audit, subject-report, erase, rotate, webhook, "
		    "relocate or report");
}

/*
 * The request line; its bytes are wiped from libevent's buffer as they
 * are taken, since the line may carry a BSN.
 */
static void
ctl_read(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[CTL_LINE_MAX + 1];
	struct evbuffer_ptr eol;
	unsigned char *p;
	size_t n, eol_len;

	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos < 0 || (size_t)eol.pos > CTL_LINE_MAX) {
		if (evbuffer_get_length(in) > CTL_LINE_MAX || eol.pos >= 0) {
			bufferevent_disable(bev, EV_READ);
			ctl_error(c, "request line too long");
		}
		return;
	}
	n = (size_t)eol.pos;
	p = evbuffer_pullup(in, (ev_ssize_t)(n + eol_len));
	memcpy(line, p, n);
	line[n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[n - 1] = '\0';
	OPENSSL_cleanse(p, n + eol_len);
	evbuffer_drain(in, n + eol_len);
	bufferevent_disable(bev, EV_READ);
	ctl_dispatch(c, line);
	OPENSSL_cleanse(line, sizeof(line));
}

/* The caller's uid and pid, from the kernel (SO_PEERCRED). */
static int
ctl_peer(struct ctl_conn *c, evutil_socket_t fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED; connection refused");
		return -1;
	}
	c->uid = cred.uid;
	c->pid = cred.pid;
	snprintf(c->actor, sizeof(c->actor), "admin:uid=%u",
	    (unsigned)cred.uid);
	return 0;
}

static void
ctl_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct control *ctl = arg;
	struct timeval rt = { CTL_READ_SECS, 0 }, wt = { CTL_WRITE_SECS, 0 };
	struct ctl_conn *c;

	if (ctl->nconns >= CTL_CONNS_MAX || (c = calloc(1,
	    sizeof(*c))) == NULL) {
		log_warnx("control: %u connections open; one refused",
		    ctl->nconns);
		evutil_closesocket(fd);
		return;
	}
	c->ctl = ctl;
	if (ctl_peer(c, fd) == -1) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	if ((c->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&ctl->conns, c, entry);
	ctl->nconns++;
	bufferevent_setcb(c->bev, ctl_read, NULL, ctl_event, c);
	bufferevent_set_timeouts(c->bev, &rt, &wt);
	/* Reading stops past one line's worth; ctl_read then refuses it. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_LINE_MAX + 2);
	bufferevent_enable(c->bev, EV_READ);
}

/* ---- the socket ------------------------------------------------------ */

/*
 * A socket left at path by a vixd that died is removed; one that answers
 * belongs to a running vixd and is refused, as is anything not a socket.
 */
static int
ctl_clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : (log_warn("control_socket %s",
		    path), -1);
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("control_socket %s exists and is not a socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("control_socket: socket");
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0) {
		log_warnx("control_socket %s is in use by a running vixd", path);
		return -1;
	}
	if (unlink(path) == -1) {
		log_warn("control_socket %s: cannot remove the stale socket",
		    path);
		return -1;
	}
	return 0;
}

/* The socket's directory (one level) is created if missing. */
static void
ctl_make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0750) == 0)
		log_info("control: created %s", dir);
}

static int
ctl_bind(struct control *ctl)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = ctl->path;
	struct stat st;
	mode_t mask;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("control_socket %s: longer than the %zu bytes a unix "
		    "socket path may have", path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (ctl_clear_stale(path, &sun) == -1)
		return -1;
	ctl_make_parent(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control_socket: socket");
		return -1;
	}
	mask = umask(0117);		/* born 0660: no window with more */
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(mask);
	if (rc == -1 || chmod(path, 0660) == -1 || stat(path, &st) == -1) {
		log_warn("control_socket %s", path);
		close(fd);
		return -1;
	}
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	if ((ctl->listener = evconnlistener_new(ctl->v->base, ctl_accept, ctl,
	    LEV_OPT_CLOSE_ON_FREE, 16, fd)) == NULL) {
		log_warnx("control_socket %s: cannot listen", path);
		close(fd);
		unlink(path);
		return -1;
	}
	return 0;
}

struct control *
control_start(struct vixd *v, control_reload_fn reload)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	char addr[300];

	if (ctl == NULL)
		return NULL;
	ctl->v = v;
	ctl->reload = reload;
	clock_gettime(CLOCK_MONOTONIC, &ctl->started);
	snprintf(ctl->listen, sizeof(ctl->listen), "%s",
	    server_bound_address(v, addr, sizeof(addr)));
	TAILQ_INIT(&ctl->conns);
	pthread_mutex_init(&ctl->lock, NULL);
	pthread_cond_init(&ctl->idle, NULL);
	if ((ctl->path = strdup(v->cfg.control_socket)) == NULL ||
	    (v->blind == NULL && (ctl->pseudonyms =
	    pseudonym_ctx_new(v->pseudonym_key)) == NULL) ||
	    ctl_bind(ctl) == -1) {
		control_stop(ctl);
		return NULL;
	}
	return ctl;
}

void
control_quiesce(struct control *ctl)
{
	struct stat st;

	if (ctl == NULL)
		return;
	if (ctl->listener != NULL) {
		evconnlistener_free(ctl->listener);
		ctl->listener = NULL;
		/* Only our own socket: another vixd may have taken the path. */
		if (stat(ctl->path, &st) == 0 && st.st_dev == ctl->dev &&
		    st.st_ino == ctl->ino)
			unlink(ctl->path);
	}
	pthread_mutex_lock(&ctl->lock);
	ctl->quiet = 1;
	if (ctl->running > 0)
		log_info("control: waiting for %u request%s to finish",
		    ctl->running, ctl->running == 1 ? "" : "s");
	while (ctl->running > 0)
		pthread_cond_wait(&ctl->idle, &ctl->lock);
	pthread_mutex_unlock(&ctl->lock);
}

void
control_stop(struct control *ctl)
{
	struct ctl_conn *c;

	if (ctl == NULL)
		return;
	control_quiesce(ctl);
	while ((c = TAILQ_FIRST(&ctl->conns)) != NULL)
		ctl_close(c, "vixd is stopping");
	pseudonym_ctx_free(ctl->pseudonyms);
	pthread_cond_destroy(&ctl->idle);
	pthread_mutex_destroy(&ctl->lock);
	free(ctl->path);
	free(ctl);
}
