/*
 * Accept errors on a listener. When accept() fails for want of descriptors
 * or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) the listening socket stays
 * readable, and retrying at once would spin the event loop and log without
 * end: the listener is paused for ACCEPTOR_PAUSE_MS instead, the error
 * counted, and logged at most once per ACCEPTOR_LOG_MS.
 */
#ifndef VIX_ACCEPTOR_H
#define VIX_ACCEPTOR_H

#include <stdatomic.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"

#define ACCEPTOR_PAUSE_MS	1000
#define ACCEPTOR_LOG_MS		10000

struct acceptor {
	struct evconnlistener	*listener;
	struct event		*ev_resume;
	const char		*name;		/* the config key, for the log */
	atomic_uint_fast64_t	*errors;	/* the metric */
	struct log_limit	 log;
};

/*
 * Set up the pause timer of l (on l's event base, whose thread alone may
 * call these). Returns 0, or -1 (logged).
 */
int	acceptor_init(struct acceptor *, struct evconnlistener *l,
	    const char *name, atomic_uint_fast64_t *errors);

/* From l's error callback: accept() failed; pause, count, maybe log. */
void	acceptor_failed(struct acceptor *);

/* Before the listener is freed. */
void	acceptor_free(struct acceptor *);

#endif
