/*
 * Key rotation with blind pseudonyms (docs/pseudonyms.md, "Rotation"):
 * vixd asks the key holder for the token Δ from the store's key version to
 * the next, records it in the store, and moves every youth to its new
 * pseudonym in bounded writer jobs while it serves; requests meanwhile
 * find a youth under either pseudonym (handlers_blind_youth). When every
 * youth is moved the token is dropped and the store is under the new
 * version only: then the key holder may destroy the old key.
 */
#ifndef VIX_ROTATE_H
#define VIX_ROTATE_H

#include <stddef.h>
#include <stdint.h>

struct vixd;
struct store;
struct diag;

/* Youths moved per writer job. */
#define ROTATE_BATCH	256

/* Names of the store meta values (the keys, and where the move is). */
#define ROTATE_META_KEYS	"blind.keys"
#define ROTATE_META_CURSOR	"blind.cursor"

/*
 * At start, with pseudonyms = blind: the keys the store is under (meta
 * "blind.keys"), checked against what the key holder holds; a store
 * without them (new) takes the key holder's active version. A key holder
 * that cannot be reached is tolerated for a store that has its keys (a
 * warning: every request still names its key id, which is checked); one
 * that holds other keys is refused. Sets up v->blind. 0, or -1 after
 * adding to d.
 */
int	rotate_open(struct vixd *, struct diag *d);

/* After the writer started: go on with a rotation the store was in. */
void	rotate_resume(struct vixd *);

/*
 * vixctl rotate: get the token for the key holder's next version and
 * start moving. 0 with msg saying what started, or -1 with msg why not.
 */
int	rotate_start(struct vixd *, char *msg, size_t len);

/* vixctl rotate --status, one line: the state and how far the move is. */
void	rotate_status(struct vixd *, char *msg, size_t len);

void	rotate_free(struct vixd *);

#endif
