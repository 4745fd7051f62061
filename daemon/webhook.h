/*
 * Webhook delivery: for each organisation with `webhook = https://...` in
 * orgs.conf, a thread of its own (never a worker's loop) POSTs its
 * notifications, one CloudEvent per request, signed as Standard Webhooks
 * says, in outbox order. Its cursor (STORE_WEBHOOK_CONSUMER) advances only
 * after a 2xx, through the writer, so a delivery is at least once: after a
 * crash the last ones are sent again with the same id. A failure is tried
 * again after an exponential back-off with jitter (or the receiver's
 * Retry-After, within bounds); failing for longer than failing_after marks
 * the recipient failing (log, metric, vixctl status) until a delivery
 * succeeds. Nothing is skipped, except a row of a type that has no event
 * name, which is logged.
 */
#ifndef VIX_WEBHOOK_H
#define VIX_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "orgs.h"

struct vixd;
struct webhooks;

/* What vixctl status and /metrics show of one webhook. */
struct webhook_state {
	char		org_id[ORG_ID_MAX + 1];
	char		url[ORG_WEBHOOK_URL_MAX + 1];
	uint64_t	acked;		/* cursor: delivered and committed */
	uint64_t	delivered;	/* 2xx since start */
	uint64_t	failed;		/* attempts that failed since start */
	uint64_t	missed;		/* gone from the outbox undelivered */
	int		failing;	/* failing for failing_after or more */
	int64_t		failing_since;	/* first failure of the run, 0: none */
	int64_t		last_success;	/* unix time, 0: none since start */
	int64_t		next_attempt;	/* unix time of a retry, 0: none */
	long		last_status;	/* HTTP status of the last attempt */
	char		last_error[256];	/* of the last failure */
};

/*
 * Back-off before retry number attempt (0: the first): min * 2^attempt,
 * at most max, then a random part of up to a half taken off (rnd in
 * [0, 1)); a receiver's Retry-After (seconds, 0: none) lengthens it, up
 * to max. Milliseconds. Pure, unit-tested.
 */
uint64_t	webhook_backoff_ms(unsigned attempt, uint64_t min_ms,
		    uint64_t max_ms, double rnd, uint64_t retry_after_s);

/* Set up (no thread yet); NULL if out of memory. Call curl_global_init first. */
struct webhooks	*webhook_new(struct vixd *);

/*
 * Make the delivering threads those of now: start one per new webhook,
 * give changed ones their new settings, stop those gone. Main thread.
 */
void		 webhook_reconcile(struct webhooks *, const struct orgs *now);

/* Writer thread (and store watchers): these outboxes grew. */
void		 webhook_published(struct webhooks *, const uint32_t *sids,
		    size_t n, int all);

/*
 * Deliver org_id's notifications again from seq from on: its cursor is set
 * back (or forward) through the writer, audited as actor's, then
 * delivery goes on from there.
 * Waits for it, at most a few seconds. 0 with msg saying from which seq
 * rows are still kept, or -1 with msg saying why not.
 */
int		 webhook_replay(struct webhooks *, const char *org_id,
		    uint64_t from, const char *actor, char *msg, size_t len);

/* A copy of every webhook's state (caller frees); *n set. */
struct webhook_state *webhook_snapshot(struct webhooks *, size_t *n);

struct jsonw;
struct evbuffer;

/* "webhooks": [...] in the current object of w (vixctl status, /v1/status). */
void		 webhook_json(struct jsonw *w, const struct webhook_state *,
		    size_t n);

/* The webhook families of /metrics. */
void		 webhook_metrics(struct evbuffer *b,
		    const struct webhook_state *, size_t n);

/*
 * Stop and join every thread, answering replays still waiting; then
 * published, replay and snapshot do nothing. Before the writer stops:
 * the threads' cursors go through it.
 */
void		 webhook_stop(struct webhooks *);

/* Free (stopping first if need be), once nobody can call in any more. */
void		 webhook_free(struct webhooks *);

#endif
