/* The handshake gate: counts in total and per source address. */
#include <netinet/in.h>

#include <arpa/inet.h>
#include <string.h>

#include <criterion/criterion.h>

#include "hsgate.h"
#include "support.h"

static struct hsgate_addr
v4(const char *ip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct hsgate_addr a;

	cr_assert_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	hsgate_addr_of((struct sockaddr *)&sin, &a);
	return a;
}

Test(hsgate, per_address_cap_leaves_room_for_other_addresses)
{
	struct hsgate *g = hsgate_new();
	struct hsgate_addr a = v4("192.0.2.1"), b = v4("192.0.2.2");

	for (int i = 0; i < 3; i++)
		cr_assert_eq(hsgate_enter(g, &a, 10, 3), HSGATE_OK);
	cr_assert_eq(hsgate_enter(g, &a, 10, 3), HSGATE_PER_ADDRESS);
	cr_assert_eq(hsgate_enter(g, &b, 10, 3), HSGATE_OK);
	cr_assert_eq(hsgate_pending(g), 4);
	cr_assert_eq(hsgate_pending_from(g, &a), 3);
	hsgate_leave(g, &a);
	cr_assert_eq(hsgate_enter(g, &a, 10, 3), HSGATE_OK);
	hsgate_free(g);
	cr_assert_eq(support_leaks(), 0);
}

Test(hsgate, total_cap_counts_every_address)
{
	struct hsgate *g = hsgate_new();
	struct hsgate_addr a[3] = { v4("192.0.2.1"), v4("192.0.2.2"),
	    v4("192.0.2.3") };

	cr_assert_eq(hsgate_enter(g, &a[0], 2, 2), HSGATE_OK);
	cr_assert_eq(hsgate_enter(g, &a[1], 2, 2), HSGATE_OK);
	cr_assert_eq(hsgate_enter(g, &a[2], 2, 2), HSGATE_TOTAL);
	cr_assert_eq(hsgate_pending_from(g, &a[2]), 0);
	hsgate_leave(g, &a[0]);
	cr_assert_eq(hsgate_pending_from(g, &a[0]), 0);
	cr_assert_eq(hsgate_enter(g, &a[2], 2, 2), HSGATE_OK);
	hsgate_leave(g, &a[1]);
	hsgate_leave(g, &a[2]);
	cr_assert_eq(hsgate_pending(g), 0);
	hsgate_free(g);
	cr_assert_eq(support_leaks(), 0);
}

/* IPv4 and its IPv4-mapped IPv6 form are one address. */
Test(hsgate, mapped_ipv6_is_the_ipv4_address)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct hsgate_addr a = v4("192.0.2.7"), m;

	cr_assert_eq(inet_pton(AF_INET6, "::ffff:192.0.2.7", &s6.sin6_addr), 1);
	hsgate_addr_of((struct sockaddr *)&s6, &m);
	cr_assert_eq(memcmp(&a, &m, sizeof(a)), 0);
}

/* Many addresses in few buckets: each keeps its own count. */
Test(hsgate, many_addresses)
{
	struct hsgate *g = hsgate_new();
	struct hsgate_addr a[1000];
	char ip[32];

	for (int i = 0; i < 1000; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, i % 250);
		a[i] = v4(ip);
		cr_assert_eq(hsgate_enter(g, &a[i], 5000, 2), HSGATE_OK);
		cr_assert_eq(hsgate_enter(g, &a[i], 5000, 2), HSGATE_OK);
	}
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(hsgate_enter(g, &a[i], 5000, 2),
		    HSGATE_PER_ADDRESS);
	for (int i = 0; i < 1000; i += 2) {
		hsgate_leave(g, &a[i]);
		hsgate_leave(g, &a[i]);
	}
	cr_assert_eq(hsgate_pending(g), 1000);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(hsgate_pending_from(g, &a[i]), i % 2 ? 2 : 0);
	hsgate_free(g);
	cr_assert_eq(support_leaks(), 0);
}
