/*
 * A notification as a CloudEvent (CloudEvents 1.0, structured JSON mode,
 * application/cloudevents+json) following the NL GOV profile: what vixd
 * POSTs to an organisation's webhook. docs/webhooks.md shows one of each
 * type. The data member holds the Notification's fields as the vix CLI
 * prints them with --json: never a BSN, never a pseudonym.
 */
#ifndef VIX_CLOUDEVENT_H
#define VIX_CLOUDEVENT_H

#include <stddef.h>

#include "jsonw.h"
#include "vix.pb-c.h"

#define CLOUDEVENT_ID_MAX	96	/* "<recipient>:<seq>" and its NUL */

/* The event type ("nl.vix.match.created", ...), or NULL for an unknown. */
const char	*cloudevent_type(Vix__V1__Notification__Type);

/*
 * The event's id, unique per source and the same on every retry: the
 * recipient's org id and the notification's seq ("org-b:42").
 */
void	cloudevent_id(const Vix__V1__Notification *, char out[CLOUDEVENT_ID_MAX]);

/*
 * The event onto w; index_oin is the index's own OIN (source
 * "urn:nld:oin:<OIN>:systeem:vix"). -1 for a type without a name.
 */
int	cloudevent_write(struct jsonw *, const Vix__V1__Notification *,
	    const char *index_oin);

#endif
