/* The redial schedule of push mode. */
#include <criterion/criterion.h>

#include "push.h"

Test(push_backoff, doubles_from_the_base_up_to_the_cap)
{
	/* rnd 0: no jitter taken off. */
	cr_assert_eq(push_backoff_ms(0, 500, 60000, 0.0), 500);
	cr_assert_eq(push_backoff_ms(1, 500, 60000, 0.0), 1000);
	cr_assert_eq(push_backoff_ms(2, 500, 60000, 0.0), 2000);
	cr_assert_eq(push_backoff_ms(6, 500, 60000, 0.0), 32000);
	cr_assert_eq(push_backoff_ms(7, 500, 60000, 0.0), 60000);
	cr_assert_eq(push_backoff_ms(50, 500, 60000, 0.0), 60000,
	    "no overflow for many attempts");
	cr_assert_eq(push_backoff_ms(4000000000u, 500, 60000, 0.0), 60000);
}

Test(push_backoff, jitter_takes_off_at_most_half)
{
	for (unsigned a = 0; a < 12; a++) {
		unsigned full = push_backoff_ms(a, 500, 60000, 0.0);

		for (double r = 0.0; r < 1.0; r += 0.125) {
			unsigned d = push_backoff_ms(a, 500, 60000, r);

			cr_assert_leq(d, full);
			cr_assert_geq(d, full / 2, "attempt %u rnd %f: %u < %u",
			    a, r, d, full / 2);
		}
	}
	cr_assert_lt(push_backoff_ms(3, 500, 60000, 0.9),
	    push_backoff_ms(3, 500, 60000, 0.1), "more jitter, shorter wait");
}
