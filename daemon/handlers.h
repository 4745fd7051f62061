/* One function per request type; dispatch by the request's body. */
#ifndef VIX_HANDLERS_H
#define VIX_HANDLERS_H

#include "session.h"
#include "writer.h"

struct job;

/*
 * Serve one decoded request of an authenticated session. May wipe the BSN
 * in the request, which is why it is not const.
 */
void	handlers_dispatch(struct session *, Vix__V1__Request *);

/*
 * The ops of a client's write (register, withdraw, involved, ack,
 * coordinate, by j->kind): applied by the writer, which posts the job to
 * its worker; completing it answers the client.
 */
extern const struct job_ops handlers_job_ops;

#endif
