/* Match rules: the coordinator's choice and every match transition. */
#include <stddef.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include "match.h"

#define NPARTY(a)	(sizeof(a) / sizeof((a)[0]))

Test(coordinator, single_party)
{
	struct match_party p[] = { { 7, 50, 1000, 3 } };

	cr_expect_eq(match_choose_coordinator(p, 1), 0);
}

Test(coordinator, lowest_rank_wins)
{
	struct match_party p[] = {
		{ 1, 20, 1000, 1 },
		{ 2, 10, 3000, 9 },	/* latest, but the lowest rank */
		{ 3, 30, 500, 0 },
		{ 4, 10, 4000, 10 },
	};

	cr_expect_eq(match_choose_coordinator(p, NPARTY(p)), 1);
	p[2].rank = 0;
	cr_expect_eq(match_choose_coordinator(p, NPARTY(p)), 2);
}

Test(coordinator, tie_goes_to_earliest)
{
	struct match_party p[] = {
		{ 1, 10, 3000, 1 },
		{ 2, 10, 1000, 9 },
		{ 3, 10, 2000, 2 },
		{ 4, 11, 0, 0 },
	};

	cr_expect_eq(match_choose_coordinator(p, NPARTY(p)), 1);
}

Test(coordinator, tie_on_time_goes_to_lowest_signal_id)
{
	struct match_party p[] = {
		{ 1, 10, 1000, 8 },
		{ 2, 10, 1000, 5 },
		{ 3, 10, 1000, 6 },
	};

	cr_expect_eq(match_choose_coordinator(p, NPARTY(p)), 1);
}

/* The choice does not depend on the order the parties are listed in. */
Test(coordinator, order_independent)
{
	static const struct match_party base[] = {
		{ 1, 10, 1000, 8 },
		{ 2, 10, 1000, 5 },
		{ 3, 10, 999, 9 },
		{ 4, 9, 5000, 20 },
		{ 5, 9, 5000, 19 },
	};
	struct match_party p[NPARTY(base)];
	size_t r, i, n = NPARTY(base), got;

	for (r = 0; r < n; r++) {
		for (i = 0; i < n; i++)
			p[i] = base[(i + r) % n];
		got = match_choose_coordinator(p, n);
		cr_expect_eq(p[got].org, 5, "rotation %zu", r);
	}
	for (i = 0; i < n; i++)
		p[i] = base[n - 1 - i];
	cr_expect_eq(p[match_choose_coordinator(p, n)].org, 5);
}

Test(coordinator, extremes)
{
	struct match_party p[] = {
		{ 1, UINT32_MAX, INT64_MIN, 0 },
		{ 2, 0, INT64_MAX, UINT64_MAX },
		{ 3, 0, INT64_MIN, UINT64_MAX },
	};

	cr_expect_eq(match_choose_coordinator(p, NPARTY(p)), 2);
}

Test(transitions, register)
{
	static const struct {
		size_t			others;
		int			refresh;
		enum match_change	want;
	} t[] = {
		{ 0, 0, MATCH_NONE },
		{ 1, 0, MATCH_CREATED },
		{ 2, 0, MATCH_JOINED },
		{ 5, 0, MATCH_JOINED },
		{ SIZE_MAX, 0, MATCH_JOINED },
		{ 0, 1, MATCH_NONE },
		{ 1, 1, MATCH_UNCHANGED },
		{ 2, 1, MATCH_UNCHANGED },
		{ 9, 1, MATCH_UNCHANGED },
	};
	size_t i;

	for (i = 0; i < NPARTY(t); i++)
		cr_expect_eq(match_on_register(t[i].others, t[i].refresh),
		    t[i].want, "row %zu: got %s, want %s", i,
		    match_change_name(match_on_register(t[i].others,
		    t[i].refresh)), match_change_name(t[i].want));
}

Test(transitions, remove)
{
	cr_expect_eq(match_on_remove(0), MATCH_CLOSED);
	cr_expect_eq(match_on_remove(1), MATCH_CLOSED);
	cr_expect_eq(match_on_remove(2), MATCH_LEFT);
	cr_expect_eq(match_on_remove(3), MATCH_LEFT);
	cr_expect_eq(match_on_remove(SIZE_MAX), MATCH_LEFT);
}

Test(transitions, names)
{
	cr_expect_str_eq(match_change_name(MATCH_NONE), "none");
	cr_expect_str_eq(match_change_name(MATCH_CREATED), "created");
	cr_expect_str_eq(match_change_name(MATCH_JOINED), "joined");
	cr_expect_str_eq(match_change_name(MATCH_LEFT), "left");
	cr_expect_str_eq(match_change_name(MATCH_CLOSED), "closed");
	cr_expect_str_eq(match_change_name(MATCH_UNCHANGED), "unchanged");
	cr_expect_str_eq(match_change_name((enum match_change)99), "unknown");
}

Test(coordinator, a_newcomer_takes_over_only_a_choice_by_rank)
{
	struct match_party co = { 1, 10, 1000, 1 };
	struct match_party low = { 2, 5, 2000, 2 }, same = { 3, 10, 2000, 3 };
	struct match_party high = { 4, 20, 2000, 4 };

	cr_expect(match_newcomer_coordinates(&low, &co, 0, 0));
	cr_expect(!match_newcomer_coordinates(&same, &co, 0, 0),
	    "a tie stays with the earlier registrant");
	cr_expect(!match_newcomer_coordinates(&high, &co, 0, 0));
	cr_expect(!match_newcomer_coordinates(&low, &co, 1, 0), "claimed");
	cr_expect(!match_newcomer_coordinates(&low, &co, 0, 1), "marked");
	cr_expect(!match_newcomer_coordinates(&low, &co, 1, 1));
}
