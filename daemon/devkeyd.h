/*
 * vixd --dev with blind pseudonyms starts a key holder of its own: vix-keyd
 * as a child process, with its configuration, orgs.conf and key file in
 * the development folder (made if missing), listening on a free loopback
 * port that it writes to DIR/keyholder, where `vix --dev` looks for it.
 */
#ifndef VIX_DEVKEYD_H
#define VIX_DEVKEYD_H

#include "diag.h"

struct vixd;

/*
 * Its configuration and orgs.conf in dir, unless there: rate, evaluations
 * per second per organisation (0: no limit, for benchmarks; -1: the key
 * holder's default). 0, or -1 after adding to d.
 */
int	devkeyd_material(const char *dir, int rate, struct diag *d);
/* Start it and point [key_holder] at it. 0, or -1 after adding to d. */
int	devkeyd_start(struct vixd *, struct diag *d);
/* --dev without one: DIR/keyholder goes, so vix --dev sends BSNs. */
void	devkeyd_forget(struct vixd *);
/* Stop it (SIGTERM, then wait); nothing if none runs. */
void	devkeyd_stop(struct vixd *);

#endif
