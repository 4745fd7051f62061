/*
 * The sweep: time-driven work (expiry, escalation, purging the archive,
 * pruning outboxes) goes to the writer as one bounded job per tick of a
 * timer on the main loop, and comes back there to be counted and logged.
 */
#ifndef VIX_SWEEP_H
#define VIX_SWEEP_H

#include <stdint.h>

struct vixd;

/*
 * Arm the sweep timer for cfg.sweep_interval, and the timer that tries
 * an unreachable store every second; fatal if they cannot be.
 */
void	sweep_start(struct vixd *);

/*
 * The configuration was reloaded; interval was the sweep_interval before.
 * The timer is re-armed only when it changed: re-arming restarts it, so
 * reloads more frequent than the interval would stop the sweeps.
 */
void	sweep_reloaded(struct vixd *, int64_t interval);

/* Free the timers (after the main loop ended). */
void	sweep_stop(struct vixd *);

#endif
