/*
 * Delivery of outbox rows to subscribed connections. A subscription keeps,
 * per recipient, what was sent and what was acked; at most `window`
 * notifications are in flight per recipient, so a slow subscriber costs
 * bounded memory and never holds up anyone else. Rows are read from the
 * store after their transaction committed, so only durable notifications
 * are ever sent.
 */
#ifndef VIX_NOTIFY_H
#define VIX_NOTIFY_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

struct conn;
struct org;
struct store_reader;
struct worker;

struct sub_recipient {
	const struct org	*org;
	uint64_t		 base;	/* the stream started after this seq */
	uint64_t		 sent;	/* last seq sent */
	uint64_t		 acked;	/* last seq acked (durable) */
};

struct subscription {
	TAILQ_ENTRY(subscription) entry;	/* on the worker */
	struct conn		*conn;
	struct store_reader	*reader;	/* the worker's */
	unsigned		 window;
	size_t			 n;
	struct sub_recipient	*r;
};

TAILQ_HEAD(subscription_list, subscription);

/* Window arithmetic: how many more may be sent now (pure, unit-tested). */
uint64_t notify_room(const struct sub_recipient *, unsigned window);

/* Send what the window allows of every recipient of s. */
void	notify_pump(struct subscription *s);

/* The same, only for recipients among sids (all: every recipient). */
void	notify_pump_touched(struct subscription *s, const uint32_t *sids,
	    size_t n, int all);

/* The recipient entry for org id, or NULL. */
struct sub_recipient *notify_find(struct subscription *, const char *org_id);

struct orgs;

/*
 * The first recipient of s that self may no longer receive for under the
 * registry now (gone from it, or no longer delegated), or NULL.
 */
const struct sub_recipient *notify_lost(const struct subscription *s,
	    const struct orgs *now, const struct org *self);

/* Point every recipient at its entry in now (none lost: notify_lost). */
void	notify_rebind(struct subscription *s, const struct orgs *now);

void	notify_free(struct subscription *);

#endif
