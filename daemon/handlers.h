/* One function per request type; dispatch by the request's body. */
#ifndef VIX_HANDLERS_H
#define VIX_HANDLERS_H

#include "conn.h"

/* Serve one decoded request from an authenticated connection. */
void	handlers_dispatch(struct conn *, const Vix__V1__Request *);

#endif
