/* One function per request type; dispatch by the request's body. */
#ifndef VIX_HANDLERS_H
#define VIX_HANDLERS_H

#include "session.h"

struct job;

/*
 * Serve one decoded request of an authenticated session. May wipe the BSN
 * in the request, which is why it is not const.
 */
void	handlers_dispatch(struct session *, Vix__V1__Request *);

/* A write came back from the writer (committed, or failed): answer it. */
void	handlers_complete(struct job *);

#endif
