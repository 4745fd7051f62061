/*
 * The operator's status page (GET / on admin_listen): health, readiness,
 * version, the store's use and plots of the last hours, from a sampler
 * that reads the status snapshot every status_interval on the main loop.
 */
#ifndef VIX_STATUSPAGE_H
#define VIX_STATUSPAGE_H

struct evbuffer;
struct statuspage;
struct vixd;
struct vixd_status;

/* Start sampling (after the status thread). NULL: logged. */
struct statuspage *statuspage_start(struct vixd *);
/* Stop sampling and free it, before the status thread goes. */
void	statuspage_free(struct statuspage *);

/*
 * The page as HTML into b, from the snapshot s and the samples held;
 * not_ready: why vixd is not ready, or NULL.
 */
void	statuspage_html(struct evbuffer *b, struct statuspage *,
	    const struct vixd_status *s, const char *not_ready);

#endif
