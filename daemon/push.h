/*
 * Push mode: for each organisation with `push = HOST:PORT` in orgs.conf,
 * vixd dials that address over mutual TLS (its own certificate; the
 * partner's verified against the CA bundle) and streams the same
 * notifications a subscription would, taking Acks back. A lost connection
 * is redialled with exponential backoff and jitter; the backoff starts
 * again from its base only after the partner acknowledged a notification
 * or kept the connection open PUSH_STABLE_MS (a partner refusing vixd's
 * certificate does so after vixd's side of a TLS 1.3 handshake). Each push target
 * belongs to one worker (by its OIN), which starts, moves and stops it
 * whenever the registry is replaced.
 */
#ifndef VIX_PUSH_H
#define VIX_PUSH_H

#include <stdint.h>

struct orgs;
struct pusher;
struct session;
struct worker;

#define PUSH_BACKOFF_BASE_MS	500
#define PUSH_BACKOFF_MAX_MS	60000
/* A connection open this long was accepted: the next redial is quick. */
#define PUSH_STABLE_MS		10000

/*
 * Delay before redial number attempt (0: first retry): base * 2^attempt,
 * capped at max, then a random part of up to half of it taken off
 * (rnd is uniform in [0, 1)) so that partners are not hit in step.
 */
unsigned	push_backoff_ms(unsigned attempt, unsigned base_ms,
		    unsigned max_ms, double rnd);

/*
 * On worker w, make its push targets those of now: dial the new ones,
 * close and redial those whose address changed, close and forget those
 * gone (or no longer pushed to). Worker thread only.
 */
void		push_reconcile(struct worker *w, const struct orgs *now);

/* Forget every push target of w (its loop has ended). */
void		push_free_all(struct worker *w);

/* The partner acknowledged a notification: it accepts us; reset backoff. */
void		push_conn_acked(struct session *);

/* Close the push session s for reason and redial at once. */
void		push_restart(struct session *s, const char *reason);

#endif
