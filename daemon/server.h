/* Listener and worker threads. */
#ifndef VIX_SERVER_H
#define VIX_SERVER_H

#include "vixd.h"

/* Start the workers and listen on cfg.listen. Returns 0, or -1 (logged). */
int	server_start(struct vixd *);

/*
 * A connection was refused (why, with an optional detail such as "for
 * ADDRESS"): counted, and logged at most once per ACCEPTOR_LOG_MS. Main
 * thread only.
 */
void	server_refused(struct vixd *, enum vixd_refusal why,
	    const char *detail);

/*
 * Listen on addr (HOST:PORT) on the main event base; cb gets v. Returns
 * the listener, or NULL (logged).
 */
struct evconnlistener *server_bind(struct vixd *, const char *addr,
	    evconnlistener_cb cb, int backlog);

/* The address actually bound (for port 0), as HOST:PORT. */
const char *server_bound_address(struct vixd *, char *buf, size_t len);

/*
 * The main loop as a home for jobs (v->home): a job posted there is
 * completed on the main loop. Call after the event base is made.
 */
int	server_jobs_init(struct vixd *);

/*
 * After the writer stopped: complete the jobs that came back once the
 * main loop had ended, and free what server_jobs_init made.
 */
void	server_jobs_finish(struct vixd *);

/*
 * A new registry or TLS material is in place (or the workers just
 * started): every worker checks its connections and push targets again.
 */
void	server_orgs_changed(struct vixd *);

/* The writer's publish hook: outboxes of sids grew; wake every worker. */
void	server_published(void *vixd, const uint32_t *sids, size_t n, int all);

/*
 * Stop accepting, close every connection with close_notify (forcing those
 * still open after shutdown_grace), and join the workers.
 */
void	server_drain(struct vixd *);

/*
 * Free the workers joined by server_drain. Only after writer_stop: until
 * then the writer may still be handing the last batch to a worker (its
 * flush and the publish hook touch the worker after the answers that let
 * its loop end).
 */
void	server_free(struct vixd *);

#endif
