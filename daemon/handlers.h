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

/*
 * On the writer, before a job touches the youth with blind pseudonym
 * youth (written there by the worker): if the keys changed since the
 * worker looked, turn the client's pseudonym into the youth's again; and
 * during a rotation, move the youth still stored under the old key to the
 * new one first, so that it is found and kept under one pseudonym only.
 * 0, or an error with j->why set (VIX_E_PRECONDITION: a key version the
 * index no longer accepts).
 */
int	handlers_blind_youth(struct store_txn *, struct job *, uint8_t *youth);

#endif
