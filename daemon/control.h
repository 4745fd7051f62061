/*
 * The control socket (control_socket, a unix socket of mode 0660) that
 * vixctl speaks to. One request per connection: a text line
 * "COMMAND [ARGS]\n", answered with JSON and closed. It is served on the
 * main thread's event base; walks over the store (status, backup, audit,
 * subject-report) run in a thread of their own and erase goes to the
 * writer, so the loop never waits on them.
 */
#ifndef VIX_CONTROL_H
#define VIX_CONTROL_H

#include <stddef.h>

#include "diag.h"

struct vixd;
struct control;

/*
 * What SIGHUP does: returns 0 with one line per change in changes, or -1
 * with every problem in d (the running configuration is kept).
 */
typedef int	(*control_reload_fn)(struct vixd *, struct diag *d,
		    char *changes, size_t len);

/*
 * Create the socket at cfg.control_socket (a stale one is replaced, one in
 * use refused) and serve it on v->base. Call after server_start (status
 * reports the address bound). Returns NULL after logging.
 */
struct control	*control_start(struct vixd *, control_reload_fn reload);

/*
 * Take no more requests, remove the socket, and wait for those running in
 * their threads. Call before writer_stop: a task's audit record goes
 * through the writer (stopped, it would refuse it).
 */
void		 control_quiesce(struct control *);

/*
 * Stop serving (quiescing first, if not yet): close the connections,
 * answer nothing more. Call after writer_stop and the main loop's jobs,
 * so that an erase queued for a connection is answered first, and before
 * server_free and writer_free.
 */
void		 control_stop(struct control *);

#endif
