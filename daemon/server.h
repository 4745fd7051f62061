/* Listener and worker threads. */
#ifndef VIX_SERVER_H
#define VIX_SERVER_H

#include "vixd.h"

/* Start the workers and listen on cfg.listen. Returns 0, or -1 (logged). */
int	server_start(struct vixd *);

/* The address actually bound (for port 0), as HOST:PORT. */
const char *server_bound_address(struct vixd *, char *buf, size_t len);

/* The writer's completion callback: queue j for worker w and wake it. */
void	server_job_done(struct worker *w, struct job *j);

/*
 * Stop accepting, close every connection with close_notify (forcing those
 * still open after shutdown_grace), and join the workers.
 */
void	server_drain(struct vixd *);

#endif
