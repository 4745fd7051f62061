/*
 * vix-portal's connections to vixd through libvix: one for requests,
 * opened when first needed and again after it failed, and one subscribed
 * to the organisation's notifications, watched by the event loop. The
 * portal only looks at notifications and never acknowledges them: the
 * organisation's own subscriber (its case system) does that.
 */
#ifndef VIX_PORTAL_INDEX_H
#define VIX_PORTAL_INDEX_H

#include "portal.h"

/* Set up from p->conf; connect (and subscribe) if the index answers. */
int	index_start(struct portal *p);
void	index_stop(struct portal *p);

/*
 * The request connection with actor as the professional, connecting if
 * needed. VIX_OK, or the failure in *e.
 */
int	index_client(struct portal *p, const char *actor, vix_client **c,
	    struct vix_error *e);

/*
 * After a call on the request connection failed with e: drop a connection
 * that failed (not one the server merely refused a request on), so that
 * the next request connects again.
 */
void	index_failed(struct portal *p, const struct vix_error *e);

/* The i-th newest notification kept (0: the newest), or NULL. */
const struct vix_notification *index_note(const struct portal *p, size_t i);

#endif
