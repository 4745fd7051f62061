/* Accept errors: pause the listener, count, log at a bounded rate. */
#include <errno.h>
#include <string.h>

#include "acceptor.h"

static void
acceptor_resume(evutil_socket_t fd, short what, void *arg)
{
	struct acceptor *a = arg;

	evconnlistener_enable(a->listener);
}

void
acceptor_failed(struct acceptor *a)
{
	struct timeval tv = { ACCEPTOR_PAUSE_MS / 1000,
	    (ACCEPTOR_PAUSE_MS % 1000) * 1000 };
	int err = EVUTIL_SOCKET_ERROR();
	uint64_t quiet;

	atomic_fetch_add(a->errors, 1);
	/* Any other error is as likely to repeat at once: pause for all. */
	evconnlistener_disable(a->listener);
	evtimer_add(a->ev_resume, &tv);
	if (!log_limit_pass(&a->log, ACCEPTOR_LOG_MS, &quiet))
		return;
	log_warnx("%s: accept: %s; not accepting for %d ms%s (%llu more "
	    "accept errors since the last report)", a->name, strerror(err),
	    ACCEPTOR_PAUSE_MS, err == EMFILE || err == ENFILE ? "; out of "
	    "descriptors: raise LimitNOFILE= or lower max_connections, "
	    "max_handshakes or admin_max_connections" : "",
	    (unsigned long long)quiet);
}

int
acceptor_init(struct acceptor *a, struct evconnlistener *l, const char *name,
    atomic_uint_fast64_t *errors)
{
	memset(a, 0, sizeof(*a));
	a->listener = l;
	a->name = name;
	a->errors = errors;
	a->ev_resume = evtimer_new(evconnlistener_get_base(l), acceptor_resume,
	    a);
	if (a->ev_resume == NULL) {
		log_warnx("%s: cannot set up the accept error timer", name);
		return -1;
	}
	return 0;
}

void
acceptor_free(struct acceptor *a)
{
	if (a->ev_resume != NULL)
		event_free(a->ev_resume);
	a->ev_resume = NULL;
	a->listener = NULL;
}
