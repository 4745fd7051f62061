/*
 * Who coordinates when an organisation joins a match (vixd.conf(5), rank):
 * a newcomer with a lower rank takes over while the coordinator was chosen
 * by rank and nobody claimed the match or marked it coordinated; everyone
 * involved hears COORDINATOR_ASSIGNED. A claim or a mark keeps the
 * coordinator. org-a has rank 10, org-b 20, org-c (added here) 5.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

#define BSN_X	"999990019"	/* synthetic test number */

static struct vixd_proc vixd;

/* vixd with a third registering organisation of rank 5. */
static void
start(void)
{
	char orgs[PATH_MAX];
	FILE *fp;

	harness_start(&vixd, NULL);
	harness_make_client_cert(&vixd, "org-c", "00000009990000000055");
	cr_assert_not_null(fp = fopen(harness_dev_file(&vixd, "orgs.conf",
	    orgs, sizeof(orgs)), "a"));
	fprintf(fp, "\n[org org-c]\noin = 00000009990000000055\n"
	    "name = Development organisation C\nroles = register, subscribe\n"
	    "rank = 5\n");
	fclose(fp);
	harness_reload(&vixd);
}

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(coordinator, .init = start, .fini = stop, .timeout = 120);

/* The next Response; notifications before it are dropped. */
static Vix__V1__Response *
response(SSL *ssl, Vix__V1__ServerMessage **m)
{
	int end;

	for (;;) {
		*m = harness_recv(ssl, &end);
		cr_assert_not_null(*m, "connection ended (%d)", end);
		if ((*m)->msg_case == VIX__V1__SERVER_MESSAGE__MSG_RESPONSE)
			return (*m)->response;
		vix__v1__server_message__free_unpacked(*m, NULL);
	}
}

static SSL *
subscriber(const char *name)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__ServerMessage *m;
	SSL *ssl = harness_connect_as(&vixd, name);

	req.id = 1;
	req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	harness_send_request(ssl, &req);
	cr_assert(response(ssl, &m)->status == NULL ||
	    m->response->status->code == 0, "subscribe as %s", name);
	vix__v1__server_message__free_unpacked(m, NULL);
	return ssl;
}

/* The next notification, of the type expected; fails otherwise. */
static Vix__V1__Notification *
expect_note(SSL *ssl, Vix__V1__Notification__Type type, const char *who,
    Vix__V1__ServerMessage **m)
{
	int end;

	for (;;) {
		*m = harness_recv(ssl, &end);
		cr_assert_not_null(*m, "%s: no notification (connection %s)",
		    who, end == 0 ? "closed" : "timed out or failed");
		if ((*m)->msg_case == VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION)
			break;
		vix__v1__server_message__free_unpacked(*m, NULL);
	}
	cr_assert_eq((*m)->notification->type, type, "%s: notification type "
	    "%d, expected %d", who, (*m)->notification->type, type);
	return (*m)->notification;
}

/* Expect a notification of type naming coordinator; drop it. */
static void
expect(SSL *ssl, Vix__V1__Notification__Type type, const char *who,
    const char *coordinator)
{
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n = expect_note(ssl, type, who, &m);

	cr_assert_str_eq(n->coordinator, coordinator, "%s: coordinator in "
	    "notification type %d", who, type);
	vix__v1__server_message__free_unpacked(m, NULL);
}

static void
register_youth(const char *org, const char *ref)
{
	struct run_result r;

	harness_vix(&r, &vixd, org, (const char *[]){ "register", "--bsn",
	    BSN_X, "--birth-date", "2015-03-01", "--contact-name", "C",
	    "--contact-phone", "0501234567", "--ref", ref, NULL });
	cr_assert_eq(r.status, 0, "register as %s: %s", org,
	    harness_redact(r.err));
}

static void
withdraw(const char *org)
{
	struct run_result r;

	harness_vix(&r, &vixd, org, (const char *[]){ "withdraw", "--bsn",
	    BSN_X, "--reason", "unjustified", NULL });
	cr_assert_eq(r.status, 0, "withdraw as %s: %s", org,
	    harness_redact(r.err));
}

/*
 * Coordinate as org, on a connection of its own (a subscriber's would
 * drop notifications read before the response); expect coordinator after.
 */
static void
coordinate(const char *org, uint64_t match,
    Vix__V1__Coordinate__Action action, const char *coordinator)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Coordinate c = VIX__V1__COORDINATE__INIT;
	Vix__V1__ServerMessage *m;
	Vix__V1__Response *r;
	SSL *ssl = harness_connect_as(&vixd, org);

	c.match_id = match;
	c.action = action;
	req.id = 3;
	req.body_case = VIX__V1__REQUEST__BODY_COORDINATE;
	req.coordinate = &c;
	harness_send_request(ssl, &req);
	r = response(ssl, &m);
	cr_assert(r->status == NULL || r->status->code == 0, "coordinate "
	    "action %d: %s", action, r->status ? r->status->message : "");
	cr_assert_str_eq(r->coordinate->match->coordinator, coordinator);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(ssl);
}

/* org-a and org-b on one youth: the match, coordinated by org-a. */
static uint64_t
match_of_a_and_b(SSL *a, SSL *b)
{
	Vix__V1__ServerMessage *m;
	uint64_t id;

	register_youth("org-a", "ra");
	register_youth("org-b", "rb");
	expect(a, VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED, "org-a", "org-a");
	id = expect_note(b, VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED, "org-b",
	    &m)->match_id;
	cr_assert_str_eq(m->notification->coordinator, "org-a",
	    "rank 10 before 20");
	vix__v1__server_message__free_unpacked(m, NULL);
	return id;
}

/*
 * org-c joins and then leaves again: what everyone hears shows whether
 * the coordinator stayed (no COORDINATOR_ASSIGNED between JOINED and
 * LEFT).
 */
static void
join_and_leave_keeps(SSL *a, SSL *b, SSL *c, const char *coordinator)
{
	register_youth("org-c", "rc");
	expect(c, VIX__V1__NOTIFICATION__TYPE__MATCH_JOINED, "org-c",
	    coordinator);
	expect(a, VIX__V1__NOTIFICATION__TYPE__MATCH_JOINED, "org-a",
	    coordinator);
	expect(b, VIX__V1__NOTIFICATION__TYPE__MATCH_JOINED, "org-b",
	    coordinator);
	withdraw("org-c");
	expect(a, VIX__V1__NOTIFICATION__TYPE__MATCH_LEFT, "org-a",
	    coordinator);
	expect(b, VIX__V1__NOTIFICATION__TYPE__MATCH_LEFT, "org-b",
	    coordinator);
}

Test(coordinator, a_lower_ranked_newcomer_takes_over_an_automatic_choice)
{
	SSL *a = subscriber("org-a"), *b = subscriber("org-b");
	SSL *c = subscriber("org-c");
	SSL *all[] = { a, b, c };
	const char *names[] = { "org-a", "org-b", "org-c" };

	match_of_a_and_b(a, b);
	register_youth("org-c", "rc");
	for (size_t i = 0; i < 3; i++) {
		expect(all[i], VIX__V1__NOTIFICATION__TYPE__MATCH_JOINED,
		    names[i], "org-c");
		expect(all[i], VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED,
		    names[i], "org-c");
	}
	/* org-c leaves: coordination goes back by rank, to org-a. */
	withdraw("org-c");
	for (size_t i = 0; i < 2; i++) {
		expect(all[i], VIX__V1__NOTIFICATION__TYPE__MATCH_LEFT,
		    names[i], "org-a");
		expect(all[i], VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED,
		    names[i], "org-a");
	}
	harness_tls_close(a);
	harness_tls_close(b);
	harness_tls_close(c);
}

Test(coordinator, a_claimed_match_keeps_its_coordinator)
{
	SSL *a = subscriber("org-a"), *b = subscriber("org-b");
	SSL *c = subscriber("org-c");
	uint64_t id = match_of_a_and_b(a, b);

	coordinate("org-b", id, VIX__V1__COORDINATE__ACTION__CLAIM, "org-b");
	expect(a, VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED, "org-a",
	    "org-b");
	expect(b, VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED, "org-b",
	    "org-b");
	join_and_leave_keeps(a, b, c, "org-b");
	harness_tls_close(a);
	harness_tls_close(b);
	harness_tls_close(c);
}

Test(coordinator, a_claim_by_the_rank_choice_keeps_it_too)
{
	SSL *a = subscriber("org-a"), *b = subscriber("org-b");
	SSL *c = subscriber("org-c");
	uint64_t id = match_of_a_and_b(a, b);

	/* org-a confirms what rank gave it: nobody is told, it stays. */
	coordinate("org-a", id, VIX__V1__COORDINATE__ACTION__CLAIM, "org-a");
	join_and_leave_keeps(a, b, c, "org-a");
	harness_tls_close(a);
	harness_tls_close(b);
	harness_tls_close(c);
}

Test(coordinator, a_match_marked_coordinated_keeps_its_coordinator)
{
	SSL *a = subscriber("org-a"), *b = subscriber("org-b");
	SSL *c = subscriber("org-c");
	uint64_t id = match_of_a_and_b(a, b);

	coordinate("org-b", id, VIX__V1__COORDINATE__ACTION__MARK_COORDINATED,
	    "org-a");
	expect(a, VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED, "org-a",
	    "org-a");
	expect(b, VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED, "org-b",
	    "org-a");
	join_and_leave_keeps(a, b, c, "org-a");
	harness_tls_close(a);
	harness_tls_close(b);
	harness_tls_close(c);
}

Test(coordinator, after_a_release_rank_decides_again)
{
	SSL *a = subscriber("org-a"), *b = subscriber("org-b");
	SSL *c = subscriber("org-c");
	SSL *all[] = { a, b, c };
	const char *names[] = { "org-a", "org-b", "org-c" };
	uint64_t id = match_of_a_and_b(a, b);

	coordinate("org-b", id, VIX__V1__COORDINATE__ACTION__CLAIM, "org-b");
	coordinate("org-b", id, VIX__V1__COORDINATE__ACTION__RELEASE, "org-a");
	for (int k = 0; k < 2; k++) {
		expect(a, VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED,
		    "org-a", k ? "org-a" : "org-b");
		expect(b, VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED,
		    "org-b", k ? "org-a" : "org-b");
	}
	register_youth("org-c", "rc");
	for (size_t i = 0; i < 3; i++) {
		expect(all[i], VIX__V1__NOTIFICATION__TYPE__MATCH_JOINED,
		    names[i], "org-c");
		expect(all[i], VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED,
		    names[i], "org-c");
	}
	harness_tls_close(a);
	harness_tls_close(b);
	harness_tls_close(c);
}
