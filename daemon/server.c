/* The listener on the main thread and the worker threads it feeds. */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>

#include "addr.h"
#include "conn.h"
#include "push.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "webhook.h"

#define WAKE_NEW	'c'	/* fds are pending */
#define WAKE_DRAIN	'd'	/* close everything and stop */
#define WAKE_DONE	'r'	/* jobs are back from the writer */
#define WAKE_PUBLISH	'p'	/* outboxes grew */
#define WAKE_ORGS	'o'	/* the organisation registry was replaced */

struct orgs *
vixd_orgs(struct vixd *v)
{
	struct orgs *o;

	pthread_mutex_lock(&v->lock);
	o = orgs_ref(v->orgs);
	pthread_mutex_unlock(&v->lock);
	return o;
}

SSL *
vixd_client_ssl_new(struct vixd *v, uint64_t *gen)
{
	SSL *ssl;

	pthread_mutex_lock(&v->lock);
	ssl = SSL_new(v->client_ctx);
	*gen = atomic_load(&v->generation);
	pthread_mutex_unlock(&v->lock);
	return ssl;
}

SSL *
vixd_ssl_new(struct vixd *v, uint64_t *gen)
{
	SSL *ssl;

	pthread_mutex_lock(&v->lock);
	ssl = SSL_new(v->ssl_ctx);
	*gen = atomic_load(&v->generation);
	pthread_mutex_unlock(&v->lock);
	return ssl;
}

struct orgs *
vixd_current(struct vixd *v, int outbound, SSL_CTX **ctx, uint64_t *gen)
{
	struct orgs *o;

	pthread_mutex_lock(&v->lock);
	o = orgs_ref(v->orgs);
	*ctx = outbound ? v->client_ctx : v->ssl_ctx;
	SSL_CTX_up_ref(*ctx);
	*gen = atomic_load(&v->generation);
	pthread_mutex_unlock(&v->lock);
	return o;
}

uint64_t
vixd_generation(struct vixd *v)
{
	return atomic_load(&v->generation);
}

static void
worker_grace_over(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	/* A connection with a request at the writer waits for its answer. */
	conn_abort_all(w);
	if (w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

/* Drain requested: close every connection gracefully, bounded by the grace. */
static void
worker_begin_drain(struct worker *w)
{
	struct timeval grace = { w->vixd->cfg.shutdown_grace, 0 };

	if (w->draining)
		return;
	w->draining = 1;
	if (w->nconns == 0) {
		event_base_loopexit(w->base, NULL);
		return;
	}
	conn_teardown_all(w, "server shutting down");
	if (w->nconns > 0 && (w->ev_grace = evtimer_new(w->base,
	    worker_grace_over, w)) != NULL)
		evtimer_add(w->ev_grace, &grace);
}

/* Committed notifications arrived: pump the subscriptions they concern. */
static void
worker_publish(struct worker *w)
{
	struct subscription *sub;
	uint32_t *sids;
	uint64_t t0, now;
	size_t n;
	int all;

	pthread_mutex_lock(&w->lock);
	sids = w->published;
	n = w->npublished;
	all = w->published_all;
	t0 = w->published_ns;
	w->published = NULL;
	w->npublished = w->pubcap = 0;
	w->published_all = 0;
	w->published_ns = 0;
	pthread_mutex_unlock(&w->lock);
	if (t0 != 0 && (now = metrics_now_ns()) > t0)
		metrics_observe(&w->vixd->stats.metrics.publish_wait,
		    METRICS_SECONDS, now - t0);
	if (n > 0 || all)
		TAILQ_FOREACH(sub, &w->subs, entry)
			notify_pump_touched(sub, sids, n, all);
	free(sids);
}

/*
 * The registry or TLS material was replaced (or the worker just started):
 * push targets follow orgs.conf, and every open connection is checked
 * against what is now in force (session_recheck), so that what the reload
 * took away is gone at once.
 */
static void
worker_check_orgs(struct worker *w)
{
	struct orgs *now = vixd_orgs(w->vixd);
	struct session *s, *next;

	push_reconcile(w, now);
	orgs_unref(now);
	for (s = TAILQ_FIRST(&w->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		(void)session_recheck(s);
	}
}

static void
worker_wake(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	char buf[64];
	struct job_list done;
	struct job *j;
	struct accepted *fds;
	int drain, orgs_changed;
	size_t n;

	/*
	 * Drain the pipe, then clear the flag, then take the queues: whoever
	 * queues after the flag is cleared writes a byte again, and what was
	 * queued before it is taken below.
	 */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	atomic_store(&w->wake_pending, 0);
	TAILQ_INIT(&done);
	pthread_mutex_lock(&w->lock);
	fds = w->pending;
	n = w->npending;
	w->pending = NULL;
	w->npending = w->cap = 0;
	TAILQ_CONCAT(&done, &w->done, entry);
	drain = w->drain;
	orgs_changed = w->orgs_changed;
	w->orgs_changed = 0;
	pthread_mutex_unlock(&w->lock);
	if (orgs_changed)
		worker_check_orgs(w);

	while ((j = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, j, entry);
		job_complete(j);
	}
	worker_publish(w);

	for (size_t i = 0; i < n; i++) {
		if (drain || w->draining) {
			hsgate_leave(w->vixd->hsgate, &fds[i].addr);
			close(fds[i].fd);
		} else
			session_accept(w, fds[i].fd, &fds[i].addr);
	}
	free(fds);
	if (drain)
		worker_begin_drain(w);
}

/*
 * Wake worker w, whose queues (guarded by its lock) have something new for
 * it. One byte in the pipe is enough until the worker has read it: a batch
 * of answers and its notifications cost one write and one wake-up, not one
 * per job.
 */
static void
worker_notify(struct worker *w, char what)
{
	ssize_t n;

	if (atomic_exchange(&w->wake_pending, 1) != 0)
		return;
	do {
		n = write(w->wake[1], &what, 1);
	} while (n == -1 && errno == EINTR);
	/* EAGAIN: the pipe is full, so a wake-up is already pending. */
}

static struct worker *
worker_of_home(struct job_home *home)
{
	return (struct worker *)(void *)((char *)home -
	    offsetof(struct worker, home));
}

/* On the writer thread: hand a finished job to its worker (worker_flush). */
static void
worker_post(struct job_home *home, struct job *j)
{
	struct worker *w = worker_of_home(home);

	pthread_mutex_lock(&w->lock);
	TAILQ_INSERT_TAIL(&w->done, j, entry);
	pthread_mutex_unlock(&w->lock);
}

/* On the writer thread: the batch's jobs for this worker are posted. */
static void
worker_flush(struct job_home *home)
{
	worker_notify(worker_of_home(home), WAKE_DONE);
}

/* Complete every job back on the main loop. */
static void
main_jobs_back(evutil_socket_t fd, short what, void *arg)
{
	struct vixd *v = arg;
	struct job_list done;
	struct job *j;

	TAILQ_INIT(&done);
	pthread_mutex_lock(&v->done_lock);
	TAILQ_CONCAT(&done, &v->done, entry);
	pthread_mutex_unlock(&v->done_lock);
	while ((j = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, j, entry);
		job_complete(j);
	}
}

/* On the writer thread: hand a finished job to the main loop. */
static void
main_post(struct job_home *home, struct job *j)
{
	struct vixd *v = (struct vixd *)(void *)((char *)home -
	    offsetof(struct vixd, home));

	pthread_mutex_lock(&v->done_lock);
	TAILQ_INSERT_TAIL(&v->done, j, entry);
	pthread_mutex_unlock(&v->done_lock);
	event_active(v->ev_done, EV_READ, 0);
}

int
server_jobs_init(struct vixd *v)
{
	v->home.post = main_post;
	TAILQ_INIT(&v->done);
	pthread_mutex_init(&v->done_lock, NULL);
	if ((v->ev_done = event_new(v->base, -1, 0, main_jobs_back,
	    v)) == NULL) {
		log_warnx("server_jobs_init: out of memory");
		return -1;
	}
	return 0;
}

void
server_jobs_finish(struct vixd *v)
{
	if (v->ev_done == NULL)
		return;
	main_jobs_back(-1, 0, v);
	event_free(v->ev_done);
	v->ev_done = NULL;
	pthread_mutex_destroy(&v->done_lock);
}

void
server_orgs_changed(struct vixd *v)
{
	for (unsigned i = 0; i < v->nworkers; i++) {
		struct worker *w = &v->workers[i];

		pthread_mutex_lock(&w->lock);
		w->orgs_changed = 1;
		pthread_mutex_unlock(&w->lock);
		worker_notify(w, WAKE_ORGS);
	}
}

/* Called on the writer thread after a commit: tell every worker. */
void
server_published(void *arg, const uint32_t *sids, size_t n, int all)
{
	struct vixd *v = arg;

	webhook_published(v->webhooks, sids, n, all);

	for (unsigned i = 0; i < v->nworkers; i++) {
		struct worker *w = &v->workers[i];

		pthread_mutex_lock(&w->lock);
		for (size_t k = 0; k < n && !w->published_all; k++) {
			size_t j;

			for (j = 0; j < w->npublished; j++)
				if (w->published[j] == sids[k])
					break;
			if (j < w->npublished)
				continue;
			if (w->npublished == w->pubcap) {
				size_t cap = w->pubcap ? w->pubcap * 2 : 16;
				uint32_t *p = reallocarray(w->published, cap,
				    sizeof(*p));

				if (p == NULL) {
					w->published_all = 1;
					break;
				}
				w->published = p;
				w->pubcap = cap;
			}
			w->published[w->npublished++] = sids[k];
		}
		w->published_all |= all;
		if (w->published_ns == 0)
			w->published_ns = metrics_now_ns();
		pthread_mutex_unlock(&w->lock);
		worker_notify(w, WAKE_PUBLISH);
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

static int
worker_init(struct vixd *v, struct worker *w, unsigned idx)
{
	w->vixd = v;
	w->idx = idx;
	if (pipe2(w->wake, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_warn("worker_init: pipe");
		return -1;
	}
	if ((v->blind == NULL && (w->pseudonyms =
	    pseudonym_ctx_new(v->pseudonym_key)) == NULL) ||
	    (w->reader = store_reader_new(v->store)) == NULL) {
		log_warnx("worker_init: cannot set up the pseudonym MAC or "
		    "store reader");
		return -1;
	}
	if ((w->base = event_base_new()) == NULL ||
	    ((w->dns = evdns_base_new(w->base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL &&
	    (w->dns = evdns_base_new(w->base, 0)) == NULL) ||
	    (w->ev_wake = event_new(w->base, w->wake[0], EV_READ | EV_PERSIST,
	    worker_wake, w)) == NULL || event_add(w->ev_wake, NULL) == -1) {
		log_warnx("worker_init: cannot set up the event loop");
		return -1;
	}
	if ((errno = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
		log_warn("worker_init: pthread_create");
		return -1;
	}
	w->started = 1;
	return 0;
}

static void
worker_handoff(struct worker *w, int fd, const struct hsgate_addr *addr)
{
	struct accepted *grown;

	pthread_mutex_lock(&w->lock);
	if (w->npending == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;

		if ((grown = reallocarray(w->pending, cap, sizeof(*grown))) ==
		    NULL) {
			pthread_mutex_unlock(&w->lock);
			log_warnx("worker_handoff: out of memory; connection "
			    "dropped");
			hsgate_leave(w->vixd->hsgate, addr);
			close(fd);
			return;
		}
		w->pending = grown;
		w->cap = cap;
	}
	w->pending[w->npending++] = (struct accepted){ fd, *addr };
	pthread_mutex_unlock(&w->lock);
	worker_notify(w, WAKE_NEW);
}

/* Count a refusal; log it, at most once per ACCEPTOR_LOG_MS. */
void
server_refused(struct vixd *v, enum vixd_refusal why, const char *detail)
{
	uint64_t quiet;

	atomic_fetch_add(&v->stats.refused[why], 1);
	if (log_limit_pass(&v->refusal_log, ACCEPTOR_LOG_MS, &quiet))
		log_warnx("connection refused: %s reached%s%s (%llu more "
		    "refused since the last report; see "
		    "vix_connections_refused_total)", admin_refusal_name(why),
		    detail != NULL ? " " : "", detail != NULL ? detail : "",
		    (unsigned long long)quiet);
}

/*
 * Room for one more handshake? Established clients count against
 * max_connections, handshakes under way against max_handshakes and, per
 * source address, max_handshakes_per_address: silent sockets cannot take
 * the places of organisations that finished their handshake.
 */
static int
server_admit(struct vixd *v, const struct sockaddr *sa, struct hsgate_addr *a)
{
	const struct vixd_config *c = &v->cfg;
	char host[INET6_ADDRSTRLEN + 8] = "";

	if (atomic_load(&v->nestablished) >= c->max_connections) {
		server_refused(v, REFUSED_MAX_CONNECTIONS, NULL);
		return -1;
	}
	hsgate_addr_of(sa, a);
	switch (hsgate_enter(v->hsgate, a, c->max_handshakes,
	    c->max_handshakes_per_address)) {
	case HSGATE_OK:
		return 0;
	case HSGATE_TOTAL:
		server_refused(v, REFUSED_MAX_HANDSHAKES, NULL);
		return -1;
	case HSGATE_PER_ADDRESS:
		snprintf(host, sizeof(host), "for ");
		if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
			    (const void *)sa)->sin6_addr, host + 4,
			    sizeof(host) - 4);
		else if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)
			    (const void *)sa)->sin_addr, host + 4,
			    sizeof(host) - 4);
		server_refused(v, REFUSED_MAX_HANDSHAKES_PER_ADDRESS, host);
		return -1;
	case HSGATE_NOMEM:
		log_warnx("server_accept: out of memory; connection dropped");
		return -1;
	}
	return -1;
}

static void
server_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct vixd *v = arg;
	struct hsgate_addr addr;
	struct worker *w;
	int one = 1;

	if (server_admit(v, sa, &addr) == -1) {
		close(fd);
		return;
	}
	/*
	 * Every response and notification is one write that should leave at
	 * once; with Nagle a small write behind an unacknowledged one (a
	 * response right after a notification or another response) waits
	 * for the peer's delayed ACK, 40 ms on Linux.
	 */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		log_warn("server_accept: TCP_NODELAY");
	w = &v->workers[v->next_worker++ % v->nworkers];
	worker_handoff(w, fd, &addr);
}

static void
server_accept_error(struct evconnlistener *l, void *arg)
{
	struct vixd *v = arg;

	acceptor_failed(&v->acceptors[LISTENER_CLIENT]);
}

struct evconnlistener *
server_bind(struct vixd *v, const char *addr, evconnlistener_cb cb,
    int backlog)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE |
	    AI_NUMERICSERV }, *res;
	struct evconnlistener *l;
	char host[256], portstr[8];
	const char *why;
	uint16_t port;
	int rc;

	if (addr_split(addr, host, sizeof(host), &port, &why) == -1) {
		log_warnx("listen %s: %s", addr, why);
		return NULL;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		log_warnx("listen %s: %s", addr, gai_strerror(rc));
		return NULL;
	}
	l = evconnlistener_new_bind(v->base, cb, v,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    backlog, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (l == NULL) {
		log_warn("listen %s", addr);
		return NULL;
	}
	return l;
}

static unsigned
server_worker_count(const struct vixd_config *c)
{
	long cores;

	if (c->workers > 0)
		return c->workers;
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores > 2 ? (unsigned)cores - 1 : 1;
}

int
server_start(struct vixd *v)
{
	unsigned n = server_worker_count(&v->cfg);

	if ((v->hsgate = hsgate_new()) == NULL) {
		log_warnx("server_start: out of memory");
		return -1;
	}
	if ((v->workers = calloc(n, sizeof(*v->workers))) == NULL) {
		log_warnx("server_start: out of memory");
		return -1;
	}
	v->nworkers = n;	/* only now: server_drain walks them */
	for (unsigned i = 0; i < v->nworkers; i++) {
		struct worker *w = &v->workers[i];

		w->wake[0] = w->wake[1] = -1;
		TAILQ_INIT(&w->conns);
		TAILQ_INIT(&w->sessions);
		TAILQ_INIT(&w->lingering);
		TAILQ_INIT(&w->done);
		w->home.post = worker_post;
		w->home.flush = worker_flush;
		TAILQ_INIT(&w->subs);
		TAILQ_INIT(&w->pushers);
		pthread_mutex_init(&w->lock, NULL);
	}
	for (unsigned i = 0; i < v->nworkers; i++)
		if (worker_init(v, &v->workers[i], i) == -1)
			return -1;
	if ((v->listener = server_bind(v, v->cfg.listen, server_accept,
	    512)) == NULL)
		return -1;
	if (acceptor_init(&v->acceptors[LISTENER_CLIENT], v->listener,
	    "listen", &v->stats.accept_errors[LISTENER_CLIENT]) == -1)
		return -1;
	evconnlistener_set_error_cb(v->listener, server_accept_error);
	return 0;
}

const char *
server_bound_address(struct vixd *v, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	int fd = evconnlistener_get_fd(v->listener);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return v->cfg.listen;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	}
	return buf;
}

static void
worker_free(struct worker *w)
{
	conn_linger_free_all(w);
	push_free_all(w);	/* its timers live on the worker's base */
	pseudonym_ctx_free(w->pseudonyms);
	store_reader_free(w->reader);
	for (size_t i = 0; i < w->npending; i++) {
		hsgate_leave(w->vixd->hsgate, &w->pending[i].addr);
		close(w->pending[i].fd);
	}
	free(w->pending);
	free(w->published);
	if (w->ev_grace != NULL)
		event_free(w->ev_grace);
	if (w->ev_wake != NULL)
		event_free(w->ev_wake);
	if (w->dns != NULL)
		evdns_base_free(w->dns, 0);
	if (w->base != NULL)
		event_base_free(w->base);
	if (w->wake[0] != -1)
		close(w->wake[0]);
	if (w->wake[1] != -1)
		close(w->wake[1]);
	pthread_mutex_destroy(&w->lock);
}

void
server_drain(struct vixd *v)
{
	if (v->listener != NULL) {
		acceptor_free(&v->acceptors[LISTENER_CLIENT]);
		evconnlistener_free(v->listener);
		v->listener = NULL;
	}
	for (unsigned i = 0; i < v->nworkers; i++) {
		struct worker *w = &v->workers[i];

		if (!w->started)
			continue;
		pthread_mutex_lock(&w->lock);
		w->drain = 1;
		pthread_mutex_unlock(&w->lock);
		worker_notify(w, WAKE_DRAIN);
	}
	for (unsigned i = 0; i < v->nworkers; i++)
		if (v->workers[i].started)
			pthread_join(v->workers[i].thread, NULL);
}

void
server_free(struct vixd *v)
{
	struct job *j;

	for (unsigned i = 0; i < v->nworkers; i++) {
		struct worker *w = &v->workers[i];

		/* None: a connection waits for its answers before it goes. */
		while ((j = TAILQ_FIRST(&w->done)) != NULL) {
			TAILQ_REMOVE(&w->done, j, entry);
			log_warnx("worker %u: an answer came back after its "
			    "connection went", i);
			j->ops->free(j);
		}
		worker_free(w);
	}
	free(v->workers);
	v->workers = NULL;
	v->nworkers = 0;
	hsgate_free(v->hsgate);
	v->hsgate = NULL;
}
