/*
 * Who is told what when signals on one youth come and go, and who
 * coordinates: pure rules over the organisations with an active signal.
 */
#ifndef VIX_MATCH_H
#define VIX_MATCH_H

#include <stddef.h>
#include <stdint.h>

/* One organisation's active signal on a youth. */
struct match_party {
	uint32_t	org;		/* store id of the organisation */
	unsigned	rank;		/* orgs.conf rank: lower coordinates */
	int64_t		since;		/* when its signal was created */
	uint64_t	signal_id;	/* final tie-break: the earlier id */
};

/*
 * Index of the party that coordinates: lowest rank; on a tie the earliest
 * registrant (since, then signal_id). n must be at least 1.
 */
size_t	match_choose_coordinator(const struct match_party *p, size_t n);

/*
 * Whether an organisation joining a match takes over its coordination:
 * only while the coordinator was chosen by rank (nobody claimed it) and
 * the match is not marked coordinated, and only if the newcomer comes
 * before the coordinator by rank. The newcomer registered last, so an
 * equal rank keeps the coordinator.
 */
int	match_newcomer_coordinates(const struct match_party *newcomer,
	    const struct match_party *coordinator, int claimed,
	    int coordinated);

enum match_change {
	MATCH_NONE = 0,		/* no match before or after */
	MATCH_CREATED,		/* the second organisation arrived */
	MATCH_JOINED,		/* a further organisation joined */
	MATCH_LEFT,		/* one left, at least two remain */
	MATCH_CLOSED,		/* one left, fewer than two remain */
	MATCH_UNCHANGED,	/* a refresh of an existing signal */
};

/*
 * What an organisation's registration does, given how many *other*
 * organisations already have an active signal and whether it had one
 * itself (a refresh).
 */
enum match_change match_on_register(size_t others, int refresh);

/* What a removal does, given how many organisations remain after it. */
enum match_change match_on_remove(size_t remaining);

const char *match_change_name(enum match_change);

#endif
