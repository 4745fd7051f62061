/*
 * Match rules: who coordinates, and what a registration or removal does to
 * the set of organisations with an active signal on one youth.
 */
#include "match.h"

/* Whether a should coordinate rather than b. */
static int
match_before(const struct match_party *a, const struct match_party *b)
{
	if (a->rank != b->rank)
		return a->rank < b->rank;
	if (a->since != b->since)
		return a->since < b->since;
	return a->signal_id < b->signal_id;
}

size_t
match_choose_coordinator(const struct match_party *p, size_t n)
{
	size_t best = 0, i;

	for (i = 1; i < n; i++)
		if (match_before(&p[i], &p[best]))
			best = i;
	return best;
}

int
match_newcomer_coordinates(const struct match_party *newcomer,
    const struct match_party *coordinator, int claimed, int coordinated)
{
	if (claimed || coordinated)
		return 0;
	return match_before(newcomer, coordinator);
}

enum match_change
match_on_register(size_t others, int refresh)
{
	if (refresh)
		return others >= 1 ? MATCH_UNCHANGED : MATCH_NONE;
	if (others == 0)
		return MATCH_NONE;
	return others == 1 ? MATCH_CREATED : MATCH_JOINED;
}

enum match_change
match_on_remove(size_t remaining)
{
	return remaining >= 2 ? MATCH_LEFT : MATCH_CLOSED;
}

const char *
match_change_name(enum match_change c)
{
	switch (c) {
	case MATCH_NONE:
		return "none";
	case MATCH_CREATED:
		return "created";
	case MATCH_JOINED:
		return "joined";
	case MATCH_LEFT:
		return "left";
	case MATCH_CLOSED:
		return "closed";
	case MATCH_UNCHANGED:
		return "unchanged";
	}
	return "unknown";
}
