/* JSON for the admin HTTP and control interfaces: the writer onto an evbuffer. */
#ifndef VIX_JSON_H
#define VIX_JSON_H

#include "jsonw.h"

struct evbuffer;

/* A writer (common/jsonw.h) whose bytes are added to b. */
void	json_evbuffer(struct jsonw *, struct evbuffer *b);

#endif
