/*
 * The status snapshot (daemon/status.c) over a real store and writer: the
 * store's part is read on the status thread, never by the main loop's
 * asker, read again only after a commit, and every write acknowledged
 * before a status was asked for is in it.
 *
 * Youths are known here only by fixed pseudonym byte patterns; no BSN.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "errors.h"
#include "handlers.h"
#include "orgs.h"
#include "status.h"
#include "storefix.h"
#include "store.h"
#include "support.h"
#include "vixd.h"
#include "writer.h"

#define OIN_WIJK	"00000009876543210001"
#define MAP_SIZE	(16u << 20)
#define YEAR		(365 * 86400)
#define WAIT_SECONDS	60

static const char orgs_conf[] =
    "[org wijk]\n"
    "oin = " OIN_WIJK "\n"
    "name = Wijkteam Noord\n"
    "roles = register, subscribe\n"
    "rank = 20\n";

static char *dir;
static struct vixd v;

/* Jobs come back on the writer thread. */
static struct {
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	size_t		done;
} cb = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

static void
on_done(struct job_home *h, struct job *j)
{
	pthread_mutex_lock(&cb.lock);
	cb.done++;
	pthread_cond_broadcast(&cb.cond);
	pthread_mutex_unlock(&cb.lock);
}

static struct job_home home = { on_done, NULL };
static const struct writer_hooks hooks = { NULL, NULL };

/* What the main loop's asker was given. */
struct answer {
	int		called;
	int		store_err;
	uint64_t	signals;
	uint64_t	refreshes;
	uint64_t	commits;
};

static void
on_status(void *arg, struct vixd_status *s)
{
	struct answer *a = arg;

	a->called++;
	a->store_err = s->store_err;
	a->signals = s->store_err == 0 ? s->st->signals : 0;
	a->refreshes = s->refreshes;
	a->commits = s->writer.commits;
	status_release(s);
}

static void
setup(void)
{
	char *dbdir, *conf;
	struct diag d;

	dir = support_tmpdir("status");
	dbdir = support_path(dir, "db");
	conf = support_path(dir, "orgs.conf");
	memset(&v, 0, sizeof(v));
	diag_init(&d);
	v.store = storefix_open(dbdir, MAP_SIZE, 90, 14 * 86400);
	support_write_file(conf, orgs_conf, 0644);
	v.orgs = orgs_load(conf, &d);
	cr_assert_not_null(v.orgs, "orgs_load: %s", d.text);
	cr_assert_eq(store_bind_orgs(v.store, v.orgs, &d), 0, "%s", d.text);
	free(dbdir);
	free(conf);
	pthread_mutex_init(&v.lock, NULL);
	cr_assert_eq(evthread_use_pthreads(), 0);
	cr_assert_not_null(v.base = event_base_new());
	v.writer = writer_start(v.store, 16, 0, 64, &hooks);
	cr_assert_not_null(v.writer);
	v.status = status_start(&v);
	cr_assert_not_null(v.status);
	cb.done = 0;
}

static void
teardown(void)
{
	status_stop(v.status);
	writer_free(v.writer);
	status_free(v.status);
	event_base_free(v.base);
	orgs_unref(v.orgs);
	store_close(v.store);
	pthread_mutex_destroy(&v.lock);
	support_tmpdir_remove(dir);
	dir = NULL;
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

TestSuite(status, .init = setup, .fini = teardown);

/* Register youth for wijk and wait until the writer acknowledged it. */
static void
register_youth(unsigned youth)
{
	const struct org *o = orgs_by_id(v.orgs, "wijk");
	struct store_register_in *in;
	struct timespec until;
	struct job j;
	size_t want;
	int rc = 0;

	memset(&j, 0, sizeof(j));
	j.kind = JOB_REGISTER;
	j.ops = &handlers_job_ops;
	j.org = o;
	j.orgs = v.orgs;
	j.now = time(NULL);
	in = &j.in.reg;
	memset(in->pseudonym, 0xC3, PSEUDONYM_LEN);
	in->pseudonym[0] = (uint8_t)youth;
	in->org = o;
	in->orgs = v.orgs;
	in->now = j.now;
	in->expires = j.now + YEAR;
	in->bound = 1;
	snprintf(in->contact.name, sizeof(in->contact.name), "Contact");
	pthread_mutex_lock(&cb.lock);
	want = cb.done + 1;
	pthread_mutex_unlock(&cb.lock);
	cr_assert_eq(writer_submit(v.writer, &home, &j), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_SECONDS;
	pthread_mutex_lock(&cb.lock);
	while (cb.done < want && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&cb.cond, &cb.lock, &until);
	pthread_mutex_unlock(&cb.lock);
	cr_assert_geq(cb.done, want, "the writer never answered");
	cr_assert_eq(j.err, 0, "register: %s", j.why);
	store_view_free(&j.out.reg.view);
}

/* Run the main loop until the asker was called, for at most a minute. */
static void
loop_until_called(const struct answer *a)
{
	struct timespec pause = { 0, 1000000 };
	time_t until = time(NULL) + WAIT_SECONDS;

	while (a->called == 0 && time(NULL) < until) {
		event_base_loop(v.base, EVLOOP_NONBLOCK);
		nanosleep(&pause, NULL);
	}
	cr_assert_eq(a->called, 1, "the status never came");
}

Test(status, the_main_loop_waits_for_the_status_thread)
{
	struct status_wait w = { 0 };
	struct answer a = { 0 };

	/* Nothing read yet: the asker is called back, not at once. */
	status_ask(v.status, &w, on_status, &a);
	cr_assert_eq(a.called, 0, "the store was read on the main loop");
	loop_until_called(&a);
	cr_assert_eq(a.store_err, 0);
	cr_assert_eq(a.signals, 0);
	cr_assert_eq(a.refreshes, 1);

	/* Nothing committed since: the same part, at once, not read again. */
	memset(&a, 0, sizeof(a));
	status_ask(v.status, &w, on_status, &a);
	cr_assert_eq(a.called, 1);
	cr_assert_eq(a.refreshes, 1, "read again with nothing committed");

	/* A write acknowledged before asking is in the status. */
	register_youth(1);
	memset(&a, 0, sizeof(a));
	status_ask(v.status, &w, on_status, &a);
	cr_assert_eq(a.called, 0, "the store was read on the main loop");
	loop_until_called(&a);
	cr_assert_eq(a.signals, 1);
	cr_assert_eq(a.refreshes, 2);
	cr_assert_eq(a.commits, 1);
}

Test(status, an_asker_gone_is_not_called)
{
	struct status_wait w = { 0 }, wb = { 0 };
	struct answer a = { 0 }, b = { 0 };

	status_ask(v.status, &w, on_status, &a);
	status_cancel(&w);
	status_cancel(&w);	/* harmless twice */
	status_ask(v.status, &wb, on_status, &b);
	if (b.called == 0)
		loop_until_called(&b);
	cr_assert_eq(b.store_err, 0);
	cr_assert_eq(a.called, 0);
}

Test(status, another_thread_takes_a_fresh_status)
{
	struct vixd_status s;

	register_youth(1);
	register_youth(2);
	status_take(v.status, &s);
	cr_assert_eq(s.store_err, 0);
	cr_assert_eq(s.st->signals, 2);
	cr_assert_eq(s.refreshes, 1);
	cr_assert_eq(s.writer.commits, 2);
	status_release(&s);

	register_youth(3);
	status_take(v.status, &s);
	cr_assert_eq(s.st->signals, 3);
	cr_assert_eq(s.refreshes, 2);
	status_release(&s);

	/* Stopped (shutdown): the last part, without reading the writer. */
	status_stop(v.status);
	status_take(v.status, &s);
	cr_assert_eq(s.store_err, 0);
	cr_assert_eq(s.st->signals, 3);
	cr_assert_eq(s.writer.commits, 0);
	status_release(&s);
}

/*
 * A reload (a new registry published) makes the part stale with nothing
 * committed: the pending rows are per organisation of the registry shown.
 */
Test(status, a_reload_is_read_again)
{
	static const char more[] =
	    "[org buurt]\n"
	    "oin = 00000009876543210002\n"
	    "name = Buurtteam Zuid\n"
	    "roles = register, subscribe\n"
	    "rank = 30\n";
	struct status_wait w = { 0 };
	struct answer a = { 0 };
	struct vixd_status s;
	struct orgs *old, *orgs;
	char *conf, *text;
	struct diag d;
	int found = 0;

	status_take(v.status, &s);
	cr_assert_eq(s.refreshes, 1);
	cr_assert_eq(s.st->npending, 1);
	status_release(&s);

	conf = support_path(dir, "orgs.conf");
	cr_assert_not_null(text = malloc(sizeof(orgs_conf) + sizeof(more)));
	snprintf(text, sizeof(orgs_conf) + sizeof(more), "%s%s", orgs_conf,
	    more);
	support_write_file(conf, text, 0644);
	diag_init(&d);
	orgs = orgs_load(conf, &d);
	cr_assert_not_null(orgs, "orgs_load: %s", d.text);
	cr_assert_eq(store_bind_orgs(v.store, orgs, &d), 0, "%s", d.text);
	free(text);
	free(conf);
	pthread_mutex_lock(&v.lock);
	old = v.orgs;
	v.orgs = orgs;
	pthread_mutex_unlock(&v.lock);
	orgs_unref(old);

	status_ask(v.status, &w, on_status, &a);
	cr_assert_eq(a.called, 0, "the part of the old registry was shown");
	loop_until_called(&a);
	cr_assert_eq(a.refreshes, 2);
	cr_assert_eq(a.commits, 0, "nothing was committed");

	status_take(v.status, &s);
	cr_assert_eq(s.refreshes, 2, "read again with nothing new");
	cr_assert_eq(s.orgs, orgs);
	cr_assert_eq(s.st->npending, 2);
	for (size_t i = 0; i < s.st->npending; i++)
		found += strcmp(s.st->pending[i].org->id, "buurt") == 0;
	cr_assert_eq(found, 1, "no pending row for the organisation added");
	status_release(&s);
}
