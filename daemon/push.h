/*
 * Push mode: for each organisation with `push = HOST:PORT` in orgs.conf,
 * vixd dials that address over mutual TLS (its own certificate; the
 * partner's verified against the CA bundle) and streams the same
 * notifications a subscription would, taking Acks back. A lost connection
 * is redialled with exponential backoff and jitter.
 */
#ifndef VIX_PUSH_H
#define VIX_PUSH_H

#include <stdint.h>

struct conn;
struct pusher;
struct vixd;

#define PUSH_BACKOFF_BASE_MS	500
#define PUSH_BACKOFF_MAX_MS	60000

/*
 * Delay before redial number attempt (0: first retry): base * 2^attempt,
 * capped at max, then a random part of up to half of it taken off
 * (rnd is uniform in [0, 1)) so that partners are not hit in step.
 */
unsigned	push_backoff_ms(unsigned attempt, unsigned base_ms,
		    unsigned max_ms, double rnd);

/* Start dialling every push target of the current registry. */
int		push_start(struct vixd *);
void		push_stop(struct vixd *);

/* The outbound connection of a push target ended; schedule a redial. */
void		push_conn_closed(struct conn *);
void		push_conn_closed_pusher(struct pusher *);

/* The organisation a push target delivers to. */
const char	*push_org_id(const struct pusher *);

/* The outbound connection completed its handshake: start streaming. */
void		push_conn_ready(struct conn *);

#endif
