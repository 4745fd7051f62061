/*
 * libvix's contract with its callers, against the real vixd --dev: the
 * caller's error is reset by every call, result names match the header,
 * state errors come at once, and a vix_client fits in the caller's own
 * poll() loop through vix_fd(). BSNs come from tests/data/bsn-valid.txt and
 * are never printed.
 */
#include <dlfcn.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <vix/client.h>
#include "harness.h"

#define MAX_BSNS	64

static struct vixd_proc vixd;
static char bsns[MAX_BSNS][16];
static size_t nbsns;

static void
start(void)
{
	nbsns = harness_load_bsns(bsns, MAX_BSNS);
	cr_assert_gt(nbsns, 10);
	harness_start(&vixd, NULL);
}

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(libvix, .init = start, .fini = stop, .timeout = 120);

static vix_client *
connect_as(const char *org)
{
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], file[64];
	struct vix_options o = { vixd.addr, cert, key, ca, 0, NULL };
	struct vix_error err;
	vix_client *c;

	snprintf(file, sizeof(file), "%s.pem", org);
	harness_dev_file(&vixd, file, cert, sizeof(cert));
	snprintf(file, sizeof(file), "%s.key", org);
	harness_dev_file(&vixd, file, key, sizeof(key));
	harness_dev_file(&vixd, "ca.pem", ca, sizeof(ca));
	cr_assert_eq(vix_connect(&o, &c, &err), VIX_OK, "connect: %s",
	    err.message);
	return c;
}

static void
register_as(vix_client *c, const char *bsn, const char *ref)
{
	struct vix_register_req req = { .bsn = bsn,
	    .birth_date = "2015-03-01", .contact_name = "J. Jansen",
	    .contact_phone = "0501234567", .client_ref = ref };
	struct vix_register_result res;
	struct vix_error err;

	cr_assert_eq(vix_register(c, &req, &res, &err), VIX_OK,
	    "register %s: %s", ref, err.message);
	vix_register_result_free(&res);
}

Test(libvix, every_call_resets_the_callers_error)
{
	struct vix_ping_result ping;
	struct vix_list_result list;
	struct vix_involved_result inv;
	struct vix_error err;
	vix_client *c = connect_as("org-a");

	/* A refusal: org-a has no signal on this youth. */
	cr_assert_eq(vix_involved(c, bsns[1], &inv, &err), VIX_ERR_REFUSED);
	cr_assert_eq(err.status, VIX_STATUS_PERMISSION_DENIED);
	cr_assert_neq(err.message[0], '\0');

	cr_assert_eq(vix_ping(c, &ping, &err), VIX_OK, "%s", err.message);
	cr_assert_eq(err.kind, VIX_OK, "kind %d after a good ping", err.kind);
	cr_assert_eq(err.status, VIX_STATUS_OK, "status %d after a good ping",
	    err.status);
	cr_assert_str_empty(err.message, "old message kept: %s", err.message);
	cr_assert_eq(err.retry_after_ms, 0);

	/* Failing locally, then succeeding again. */
	cr_assert_eq(vix_involved(c, NULL, &inv, &err), VIX_ERR_ARGS);
	cr_assert_eq(vix_list(c, 0, 0, &list, &err), VIX_OK, "%s",
	    err.message);
	vix_list_result_free(&list);
	cr_assert_eq(err.kind, VIX_OK);
	cr_assert_str_empty(err.message, "old message kept: %s", err.message);

	/* A timeout is reported, then cleared by the next good call. */
	cr_assert_eq(vix_wait(c, 10, &err), VIX_ERR_TIMEOUT);
	cr_assert_eq(vix_ping(c, &ping, &err), VIX_OK, "%s", err.message);
	cr_assert_eq(err.kind, VIX_OK);
	cr_assert_str_empty(err.message);
	vix_close(c);
}

Test(libvix, result_names_are_the_documented_ones)
{
	static const struct { int r; const char *name; } want[] = {
		{ VIX_OK, "ok" },
		{ VIX_ERR_ARGS, "invalid arguments" },
		{ VIX_ERR_CONNECT, "connection failed" },
		{ VIX_ERR_TLS, "TLS failure" },
		{ VIX_ERR_REFUSED, "refused by server" },
		{ VIX_ERR_PROTOCOL, "protocol error" },
		{ VIX_ERR_NOMEM, "out of memory" },
		{ VIX_ERR_TIMEOUT, "timed out" },
		{ VIX_ERR_TIMEOUT + 1, "unknown error" },
		{ -1, "unknown error" },
	};
	char path[PATH_MAX], header[65536], *p;
	FILE *f;
	size_t i, n;

	/* The header documents each name; the code returns each. */
	snprintf(path, sizeof(path), "%s/client/include/vix/client.h",
	    getenv("VIX_SOURCE_ROOT"));
	cr_assert_not_null(f = fopen(path, "r"), "cannot read %s", path);
	n = fread(header, 1, sizeof(header) - 1, f);
	fclose(f);
	header[n] = '\0';
	cr_assert_not_null(p = strstr(header, "vix_result_name"));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char quoted[64];

		cr_assert_str_eq(vix_result_name(want[i].r), want[i].name,
		    "result %d", want[i].r);
		snprintf(quoted, sizeof(quoted), "\"%s\"", want[i].name);
		cr_assert_not_null(strstr(header, quoted),
		    "the header does not document %s", quoted);
	}
}
/*
 * A type this libvix does not know (a newer server's) has a name that says
 * so, not another type's; REMINDER and the relocations (0.4) have their
 * own.
 */
Test(libvix, notification_types_unknown_to_libvix_are_named_so)
{
	cr_assert_str_eq(vix_notification_type_name(VIX_NOTIFY_ESCALATION),
	    "ESCALATION");
	cr_assert_str_eq(vix_notification_type_name(VIX_NOTIFY_REMINDER),
	    "REMINDER");
	cr_assert_eq(VIX_NOTIFY_REMINDER,
	    VIX__V1__NOTIFICATION__TYPE__REMINDER);
	cr_assert_str_eq(vix_notification_type_name(VIX_NOTIFY_RELOCATED),
	    "RELOCATED");
	cr_assert_str_eq(vix_notification_type_name(VIX_NOTIFY_RELOCATED_AWAY),
	    "RELOCATED_AWAY");
	cr_assert_eq(VIX_NOTIFY_RELOCATED_AWAY,
	    VIX__V1__NOTIFICATION__TYPE__RELOCATED_AWAY);
	cr_assert_str_eq(vix_notification_type_name(VIX_NOTIFY_FAMILY_MATCH),
	    "FAMILY_MATCH");
	cr_assert_eq(VIX_NOTIFY_FAMILY_MATCH,
	    VIX__V1__NOTIFICATION__TYPE__FAMILY_MATCH);
	for (int t = VIX_NOTIFY_RELOCATED_AWAY + 1; t < 64; t++)
		cr_assert_str_eq(vix_notification_type_name(t), "UNKNOWN_TYPE",
		    "type %d", t);
	cr_assert_str_eq(vix_notification_type_name(-1), "UNKNOWN_TYPE");
}

Test(libvix, next_notification_without_subscription_fails_at_once)
{
	struct vix_subscribe_result sub;
	struct vix_notification n;
	struct vix_error err;
	vix_client *c = connect_as("org-a");
	long t0, took;
	int rc;

	t0 = harness_now_ms();
	rc = vix_next_notification(c, 2000, &n, &err);
	took = harness_now_ms() - t0;
	cr_assert_eq(rc, VIX_ERR_ARGS, "got %s: %s", vix_result_name(rc),
	    err.message);
	cr_assert_lt(took, 1000, "waited %ld ms for nothing", took);
	cr_assert_not_null(strstr(err.message, "vix_subscribe"),
	    "the message does not say what to do: %s", err.message);

	/* Subscribed, the same call waits and times out as documented. */
	cr_assert_eq(vix_subscribe(c, 0, NULL, 0, &sub, &err), VIX_OK, "%s",
	    err.message);
	vix_subscribe_result_free(&sub);
	cr_assert_eq(vix_next_notification(c, 50, &n, &err), VIX_ERR_TIMEOUT,
	    "%s", err.message);
	vix_close(c);
}

/*
 * The event loop the header documents: poll() vix_fd() for POLLIN, then
 * take notifications with timeout 0 until VIX_ERR_TIMEOUT. Two matches make
 * two notifications for org-a that may arrive in one TLS read; both must be
 * taken without another POLLIN.
 */
Test(libvix, notifications_in_a_poll_loop)
{
	struct vix_subscribe_result sub;
	struct vix_notification n;
	struct vix_error err;
	struct pollfd pfd;
	vix_client *a = connect_as("org-a"), *b = connect_as("org-b");
	int got = 0, polls = 0, rc;

	cr_assert_eq(vix_fd(NULL), -1);
	cr_assert_geq(vix_fd(a), 0);
	cr_assert_neq(vix_fd(a), vix_fd(b));
	cr_assert_eq(vix_subscribe(a, 0, NULL, 0, &sub, &err), VIX_OK, "%s",
	    err.message);
	vix_subscribe_result_free(&sub);

	register_as(a, bsns[2], "poll-a1");
	register_as(a, bsns[3], "poll-a2");
	register_as(b, bsns[2], "poll-b1");
	register_as(b, bsns[3], "poll-b2");

	while (got < 2 && polls < 50) {
		pfd = (struct pollfd){ .fd = vix_fd(a), .events = POLLIN };
		polls++;
		if (poll(&pfd, 1, 200) == 0)
			continue;
		cr_assert(pfd.revents & POLLIN, "revents %#x", pfd.revents);
		while ((rc = vix_next_notification(a, 0, &n, &err)) == VIX_OK) {
			cr_assert_eq(n.type, VIX_NOTIFY_MATCH_CREATED, "%s",
			    vix_notification_type_name(n.type));
			cr_assert_str_eq(n.recipient, "org-a");
			cr_assert_eq(vix_ack(a, n.recipient, n.seq, &err),
			    VIX_OK, "%s", err.message);
			vix_notification_free(&n);
			got++;
		}
		cr_assert_eq(rc, VIX_ERR_TIMEOUT, "%s", err.message);
	}
	cr_assert_eq(got, 2, "%d notifications after %d polls", got, polls);

	/* Nothing more: the descriptor stays quiet. */
	pfd = (struct pollfd){ .fd = vix_fd(a), .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, 100), 0);
	vix_close(a);
	vix_close(b);
}

/*
 * How public structs grow (client.h, "Growing structs"): within libvix.so.0
 * no struct changes size and no field moves; vix_error grows into its
 * reserved words, which libvix zeroes. The sizes of libvix 0.1 on LP64,
 * pinned so that a change that breaks callers fails here.
 */
#if defined(__LP64__)
Test(libvix, public_structs_keep_their_size_and_error_has_room)
{
	static const struct { const char *name; size_t size, want; } s[] = {
		{ "vix_error", sizeof(struct vix_error), 520 },
		/* 40 until 0.3: vix_connect@LIBVIX_0 reads that layout. */
		{ "vix_options", sizeof(struct vix_options), 48 },
		{ "vix_org", sizeof(struct vix_org), 183 },
		{ "vix_ping_result", sizeof(struct vix_ping_result), 215 },
		{ "vix_register_req", sizeof(struct vix_register_req), 64 },
		{ "vix_involvement", sizeof(struct vix_involvement), 592 },
		{ "vix_match", sizeof(struct vix_match), 208 },
		{ "vix_register_result", sizeof(struct vix_register_result), 240 },
		{ "vix_withdraw_result", sizeof(struct vix_withdraw_result), 32 },
		{ "vix_involved_result", sizeof(struct vix_involved_result), 224 },
		{ "vix_signal_summary", sizeof(struct vix_signal_summary), 112 },
		{ "vix_list_result", sizeof(struct vix_list_result), 24 },
		{ "vix_notification", sizeof(struct vix_notification), 936 },
		{ "vix_position", sizeof(struct vix_position), 56 },
		{ "vix_subscribe_result", sizeof(struct vix_subscribe_result), 16 },
		{ "vix_listen_options", sizeof(struct vix_listen_options), 56 },
		/* 0.4 */
		{ "vix_matches_req", sizeof(struct vix_matches_req), 40 },
		{ "vix_match_item", sizeof(struct vix_match_item), 304 },
		{ "vix_matches_result", sizeof(struct vix_matches_result), 48 },
		{ "vix_notification_more",
		    sizeof(struct vix_notification_more), 48 },
	};
	struct vix_involved_result inv;
	struct vix_error err;
	vix_client *c;
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		cr_assert_eq(s[i].size, s[i].want, "struct %s is %zu bytes, "
		    "was %zu: see \"Growing structs\" in client.h", s[i].name,
		    s[i].size, s[i].want);
	/* 0.1's fields where 0.1 had them; room reserved for new ones. */
	cr_assert_eq(offsetof(struct vix_error, message), 8);
	cr_assert_eq(offsetof(struct vix_error, retry_after_ms), 516);
	cr_assert_eq(sizeof(((struct vix_error *)0)->reserved), 12);
	cr_assert_eq(offsetof(struct vix_error, reserved) +
	    sizeof(((struct vix_error *)0)->reserved), 516);

	/* A refusal leaves the reserved words zero. */
	c = connect_as("org-a");
	memset(&err, 0xa5, sizeof(err));
	cr_assert_eq(vix_involved(c, bsns[4], &inv, &err), VIX_ERR_REFUSED);
	for (i = 0; i < sizeof(err.reserved) / sizeof(err.reserved[0]); i++)
		cr_assert_eq(err.reserved[i], 0, "reserved[%zu]", i);
	cr_assert_lt(strlen(err.message), sizeof(err.message));
	vix_close(c);
}
#endif

/*
 * A program built against libvix 0.2 passes the 40-byte struct vix_options
 * to vix_connect@LIBVIX_0, which must not read past it: here the bytes
 * after it are garbage, which the 0.3 vix_connect would take for a key
 * holder's address.
 */
Test(libvix, a_program_built_before_0_3_connects_with_the_old_layout)
{
	struct old_options {
		const char	*server, *cert_file, *key_file, *ca_file;
		int		 timeout_ms;
	};
	struct {
		struct old_options	o;
		const char		*after;
	} mem;
	int (*old_connect)(const struct old_options *, vix_client **,
	    struct vix_error *);
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
	struct vix_ping_result pr;
	struct vix_error err;
	vix_client *c = NULL;
	void *lib;

	cr_assert_eq(sizeof(struct old_options), 40);
	harness_dev_file(&vixd, "org-a.pem", cert, sizeof(cert));
	harness_dev_file(&vixd, "org-a.key", key, sizeof(key));
	harness_dev_file(&vixd, "ca.pem", ca, sizeof(ca));
	memset(&mem, 0, sizeof(mem));
	mem.o = (struct old_options){ vixd.addr, cert, key, ca, 0 };
	mem.after = "not an address";
	cr_assert_not_null(lib = dlopen("libvix.so.0", RTLD_NOW), "%s",
	    dlerror());
	*(void **)&old_connect = dlvsym(lib, "vix_connect", "LIBVIX_0");
	cr_assert_not_null(old_connect, "vix_connect@LIBVIX_0: %s", dlerror());
	cr_assert_neq((void *)old_connect, dlvsym(lib, "vix_connect",
	    "LIBVIX_0.3"), "two versions, two functions");
	cr_assert_eq(old_connect(&mem.o, &c, &err), VIX_OK, "%s", err.message);
	cr_assert_eq(vix_ping(c, &pr, &err), VIX_OK, "%s", err.message);
	cr_assert_str_eq(pr.org.id, "org-a");
	vix_close(c);
	dlclose(lib);
}

/*
 * vix_set_actor (LIBVIX_0.4): checked as the index checks it (a BSN is
 * refused without being repeated), kept until changed, sent with every
 * call; a refused one leaves the one before in place.
 */
Test(libvix, the_actor_is_checked_and_kept_until_changed)
{
	struct vix_ping_result pr;
	struct vix_error err;
	vix_client *c = connect_as("org-a");
	void *lib;

	cr_assert_eq(vix_set_actor(NULL, "mw-1", &err), VIX_ERR_ARGS);
	cr_assert_eq(vix_set_actor(c, bsns[2], &err), VIX_ERR_ARGS);
	cr_assert_not_null(strstr(err.message, "actor: must not contain a BSN"),
	    "the message names the field");
	cr_assert_null(strstr(err.message, bsns[2]), "the message repeats it");
	cr_assert_eq(vix_set_actor(c, "mw-1", &err), VIX_OK, "%s", err.message);
	cr_assert_str_empty(err.message);
	cr_assert_eq(vix_set_actor(c, " mw-1", &err), VIX_ERR_ARGS);
	register_as(c, bsns[3], "actor-1");
	cr_assert_eq(vix_set_actor(c, NULL, &err), VIX_OK, "%s", err.message);
	cr_assert_eq(vix_ping(c, &pr, &err), VIX_OK, "%s", err.message);
	vix_close(c);
	cr_assert_not_null(lib = dlopen("libvix.so.0", RTLD_NOW), "%s",
	    dlerror());
	cr_assert_not_null(dlvsym(lib, "vix_set_actor", "LIBVIX_0.4"),
	    "vix_set_actor@LIBVIX_0.4: %s", dlerror());
	dlclose(lib);
}
