/*
 * Notifications end to end over raw TLS: fan-out for every match
 * transition, delegation to partners, at-least-once delivery with
 * cumulative acks across reconnects, coordination and escalation.
 */
#include <sys/socket.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "harness.h"

#define BSN_X	"999990019"	/* synthetic test numbers */
#define BSN_Y	"999990032"

static struct vixd_proc vixd;

static void
start(void)
{
	harness_start(&vixd, NULL);
}

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(notify, .init = start, .fini = stop, .timeout = 120);

/* The next message that is a Response (notifications go to *pending). */
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

static Vix__V1__Status__Code
subscribe(SSL *ssl, uint64_t from, const char *const *recipients)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Subscribe sub = VIX__V1__SUBSCRIBE__INIT;
	Vix__V1__ServerMessage *m;
	Vix__V1__Status__Code code;
	size_t n = 0;

	while (recipients != NULL && recipients[n] != NULL)
		n++;
	sub.from_seq = from;
	sub.n_recipients = n;
	sub.recipients = (char **)recipients;
	req.id = 1;
	req.body_case = VIX__V1__REQUEST__BODY_SUBSCRIBE;
	req.subscribe = &sub;
	harness_send_request(ssl, &req);
	code = response(ssl, &m)->status ? m->response->status->code : 0;
	vix__v1__server_message__free_unpacked(m, NULL);
	return code;
}

static SSL *
subscriber(const char *name, const char *const *recipients)
{
	SSL *ssl = harness_connect_as(&vixd, name);

	cr_assert_eq(subscribe(ssl, 0, recipients), 0, "subscribe as %s",
	    name);
	return ssl;
}

/* The next notification; fails the test if none comes within 10 s. */
static Vix__V1__Notification *
next_note(SSL *ssl, Vix__V1__ServerMessage **m)
{
	int end;

	for (;;) {
		*m = harness_recv(ssl, &end);
		cr_assert_not_null(*m, "no notification (connection %s)",
		    end == 0 ? "closed" : "timed out or failed");
		if ((*m)->msg_case == VIX__V1__SERVER_MESSAGE__MSG_NOTIFICATION)
			return (*m)->notification;
		vix__v1__server_message__free_unpacked(*m, NULL);
	}
}

static void
ack(SSL *ssl, const char *recipient, uint64_t seq)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ack a = VIX__V1__ACK__INIT;
	Vix__V1__ServerMessage *m;

	a.recipient = (char *)recipient;
	a.seq = seq;
	req.id = 2;
	req.body_case = VIX__V1__REQUEST__BODY_ACK;
	req.ack = &a;
	harness_send_request(ssl, &req);
	cr_assert(response(ssl, &m)->status == NULL ||
	    m->response->status->code == 0, "ack refused: %s",
	    m->response->status->message);
	cr_assert_eq(m->response->ack->acked, seq);
	vix__v1__server_message__free_unpacked(m, NULL);
}

static void
vix_ok(const char *org, const char *const *args)
{
	struct run_result r;

	harness_vix(&r, &vixd, org, args);
	cr_assert_eq(r.status, 0, "vix as %s: %s", org, harness_redact(r.err));
}

static void
register_youth(const char *org, const char *bsn, const char *contact,
    const char *ref)
{
	vix_ok(org, (const char *[]){ "register", "--bsn", bsn, "--birth-date",
	    "2015-03-01", "--contact-name", contact, "--contact-phone",
	    "0501234567", "--ref", ref, "--municipality", "0363", NULL });
}

static const Vix__V1__Involvement *
other(const Vix__V1__Notification *n, const char *org)
{
	for (size_t i = 0; i < n->n_others; i++)
		if (strcmp(n->others[i]->org_id, org) == 0)
			return n->others[i];
	return NULL;
}

/* No part of a notification may carry a BSN. */
static void
assert_no_bsn(const Vix__V1__ServerMessage *m)
{
	uint8_t buf[8192];
	size_t n = vix__v1__server_message__get_packed_size(m);

	cr_assert_leq(n, sizeof(buf));
	vix__v1__server_message__pack(m, buf);
	cr_assert_null(memmem(buf, n, BSN_X, 9), "a notification carries a BSN");
	cr_assert_null(memmem(buf, n, BSN_Y, 9), "a notification carries a BSN");
}

Test(notify, match_created_reaches_both_with_the_others_contact)
{
	SSL *a = subscriber("org-a", NULL), *b = subscriber("org-b", NULL);
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n;
	const Vix__V1__Involvement *o;

	register_youth("org-a", BSN_X, "J. Jansen", "dossier-a");
	register_youth("org-b", BSN_X, "P. de Vries", "dossier-b");

	n = next_note(b, &m);
	assert_no_bsn(m);
	cr_assert_eq(n->type, VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED);
	cr_assert_str_eq(n->recipient, "org-b");
	cr_assert_eq(n->seq, 1);
	cr_assert_str_eq(n->client_ref, "dossier-b", "org-b's own reference");
	cr_assert_eq(n->signal_id, 2, "org-b's own signal");
	cr_assert_not_null(o = other(n, "org-a"));
	cr_assert_str_eq(o->org_name, "Development organisation A");
	cr_assert_str_eq(o->contact->name, "J. Jansen");
	cr_assert_str_eq(o->contact->phone, "0501234567");
	cr_assert_str_eq(n->coordinator, "org-a");
	cr_assert_gt(n->match_id, 0);
	vix__v1__server_message__free_unpacked(m, NULL);

	n = next_note(a, &m);
	assert_no_bsn(m);
	cr_assert_eq(n->type, VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED);
	cr_assert_str_eq(n->client_ref, "dossier-a");
	cr_assert_not_null(o = other(n, "org-b"));
	cr_assert_str_eq(o->contact->name, "P. de Vries");
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(a);
	harness_tls_close(b);
}

Test(notify, withdraw_closes_and_refresh_is_silent)
{
	SSL *a = subscriber("org-a", NULL);
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n;

	register_youth("org-a", BSN_X, "A", "ref-a");
	register_youth("org-b", BSN_X, "B", "ref-b");
	n = next_note(a, &m);
	cr_assert_eq(n->type, VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED);
	vix__v1__server_message__free_unpacked(m, NULL);
	/* A refresh is no event; the withdrawal that follows is. */
	register_youth("org-b", BSN_X, "B2", "ref-b");
	vix_ok("org-b", (const char *[]){ "withdraw", "--bsn", BSN_X,
	    "--reason", "risk-resolved", NULL });
	n = next_note(a, &m);
	assert_no_bsn(m);
	cr_assert_eq(n->type, VIX__V1__NOTIFICATION__TYPE__MATCH_CLOSED,
	    "got type %d", n->type);
	cr_assert_eq(n->seq, 2, "nothing in between");
	cr_assert_not_null(n->subject);
	cr_assert_str_eq(n->subject->org_id, "org-b");
	cr_assert_eq(n->n_others, 0);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(a);
}

Test(notify, partner_receives_for_delegating_organisations_only)
{
	SSL *p = harness_connect_as(&vixd, "partner");
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n;

	cr_assert_eq(subscribe(p, 0, (const char *[]){ "admin", NULL }),
	    VIX__V1__STATUS__CODE__PERMISSION_DENIED);
	harness_tls_close(p);
	p = subscriber("partner", (const char *[]){ "org-a", NULL });
	register_youth("org-a", BSN_Y, "A", "ref-a");
	register_youth("org-b", BSN_Y, "B", "ref-b");
	n = next_note(p, &m);
	cr_assert_str_eq(n->recipient, "org-a");
	cr_assert_str_eq(n->client_ref, "ref-a");
	cr_assert_eq(n->type, VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(p);
	/* org-b may not read org-a's notifications. */
	p = harness_connect_as(&vixd, "org-b");
	cr_assert_eq(subscribe(p, 0, (const char *[]){ "org-a", NULL }),
	    VIX__V1__STATUS__CODE__PERMISSION_DENIED);
	harness_tls_close(p);
}

Test(notify, unacked_notifications_come_again_acked_ones_do_not)
{
	SSL *a = subscriber("org-a", NULL);
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n;

	register_youth("org-a", BSN_X, "A", "r1");
	register_youth("org-b", BSN_X, "B", "r2");
	vix_ok("org-b", (const char *[]){ "withdraw", "--bsn", BSN_X,
	    "--reason", "unjustified", NULL });
	n = next_note(a, &m);
	cr_assert_eq(n->seq, 1);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(a);	/* gone without an ack */

	a = subscriber("org-a", NULL);
	n = next_note(a, &m);
	cr_assert_eq(n->seq, 1, "delivered again after reconnecting");
	vix__v1__server_message__free_unpacked(m, NULL);
	n = next_note(a, &m);
	cr_assert_eq(n->seq, 2, "in seq order");
	vix__v1__server_message__free_unpacked(m, NULL);
	ack(a, "org-a", 1);
	harness_tls_close(a);

	a = subscriber("org-a", NULL);
	n = next_note(a, &m);
	cr_assert_eq(n->seq, 2, "the acked one is not repeated");
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(a);

	/* The cursor is durable: a restart changes nothing. */
	harness_restart(&vixd);
	a = subscriber("org-a", NULL);
	n = next_note(a, &m);
	cr_assert_eq(n->seq, 2);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(a);
}

Test(notify, ack_of_what_was_not_delivered_is_refused)
{
	SSL *a = subscriber("org-a", NULL);
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ack x = VIX__V1__ACK__INIT;
	Vix__V1__ServerMessage *m;

	x.recipient = "org-a";
	x.seq = 5;
	req.id = 9;
	req.body_case = VIX__V1__REQUEST__BODY_ACK;
	req.ack = &x;
	harness_send_request(a, &req);
	cr_assert_eq(response(a, &m)->status->code,
	    VIX__V1__STATUS__CODE__INVALID_ARGUMENT);
	cr_assert(strstr(m->response->status->message, "seq") != NULL);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(a);
}

static Vix__V1__Response *
coordinate(SSL *ssl, uint64_t match, Vix__V1__Coordinate__Action action,
    Vix__V1__ServerMessage **m)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Coordinate c = VIX__V1__COORDINATE__INIT;

	c.match_id = match;
	c.action = action;
	req.id = 3;
	req.body_case = VIX__V1__REQUEST__BODY_COORDINATE;
	req.coordinate = &c;
	harness_send_request(ssl, &req);
	return response(ssl, m);
}

Test(notify, coordination_changes_reach_everyone)
{
	SSL *a = subscriber("org-a", NULL), *b = subscriber("org-b", NULL);
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n;
	Vix__V1__Response *r;
	uint64_t match;

	register_youth("org-a", BSN_X, "A", "r1");
	register_youth("org-b", BSN_X, "B", "r2");
	n = next_note(b, &m);
	match = n->match_id;
	cr_assert_str_eq(n->coordinator, "org-a");
	vix__v1__server_message__free_unpacked(m, NULL);
	n = next_note(a, &m);
	vix__v1__server_message__free_unpacked(m, NULL);

	r = coordinate(b, match, VIX__V1__COORDINATE__ACTION__RELEASE, &m);
	cr_assert_eq(r->status->code,
	    VIX__V1__STATUS__CODE__FAILED_PRECONDITION, "org-b does not "
	    "coordinate");
	vix__v1__server_message__free_unpacked(m, NULL);
	r = coordinate(b, match, VIX__V1__COORDINATE__ACTION__CLAIM, &m);
	cr_assert(r->status == NULL || r->status->code == 0);
	cr_assert_str_eq(r->coordinate->match->coordinator, "org-b");
	vix__v1__server_message__free_unpacked(m, NULL);
	for (int i = 0; i < 2; i++) {
		n = next_note(i ? a : b, &m);
		cr_assert_eq(n->type,
		    VIX__V1__NOTIFICATION__TYPE__COORDINATOR_ASSIGNED);
		cr_assert_str_eq(n->coordinator, "org-b");
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	r = coordinate(a, match, VIX__V1__COORDINATE__ACTION__MARK_COORDINATED,
	    &m);
	cr_assert(r->coordinate->match->coordinated);
	vix__v1__server_message__free_unpacked(m, NULL);
	n = next_note(b, &m);
	cr_assert(n->coordinated);
	vix__v1__server_message__free_unpacked(m, NULL);
	/* Not involved: the partner has no signal, and no register role. */
	harness_tls_close(a);
	harness_tls_close(b);
}

Test(notify, an_uncoordinated_match_escalates_once)
{
	char conf[PATH_MAX];
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n;
	FILE *fp;
	SSL *p;

	snprintf(conf, sizeof(conf), "%s/fast.conf", vixd.dir);
	cr_assert_not_null(fp = fopen(conf, "w"));
	fprintf(fp, "[store]\nsweep_interval = 1s\n[rules]\n"
	    "escalate_after = 2s\n");
	fclose(fp);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	/* partner is the escalation organisation of 0363 in dev mode. */
	p = subscriber("partner", (const char *[]){ "partner", NULL });
	register_youth("org-a", BSN_X, "A", "r1");
	register_youth("org-b", BSN_X, "B", "r2");
	n = next_note(p, &m);
	assert_no_bsn(m);
	cr_assert_eq(n->type, VIX__V1__NOTIFICATION__TYPE__ESCALATION);
	cr_assert_str_eq(n->municipality, "0363");
	cr_assert_eq(n->n_others, 2, "both organisations involved");
	cr_assert_not_null(other(n, "org-a"));
	cr_assert_not_null(other(n, "org-b"));
	ack(p, "partner", n->seq);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(p);
}

/* A third registering organisation, added to orgs.conf and reloaded. */
static void
add_org_c(void)
{
	char orgs[PATH_MAX], log[65536];
	FILE *fp;

	harness_make_client_cert(&vixd, "org-c", "00000009990000000055");
	cr_assert_not_null(fp = fopen(harness_dev_file(&vixd, "orgs.conf",
	    orgs, sizeof(orgs)), "a"));
	fprintf(fp, "\n[org org-c]\noin = 00000009990000000055\n"
	    "name = Development organisation C\nroles = register, subscribe\n"
	    "rank = 30\n");
	fclose(fp);
	kill(vixd.pid, SIGHUP);
	for (int i = 0; i < 200 && !strstr(harness_log(&vixd, log,
	    sizeof(log)), "reload: 5 organisations"); i++)
		usleep(20000);
	cr_assert_not_null(strstr(log, "reload: 5 organisations"), "%s", log);
}

Test(notify, a_third_organisation_joins_and_everyone_hears)
{
	SSL *a = subscriber("org-a", NULL), *b = subscriber("org-b", NULL);
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n;
	SSL *c;

	register_youth("org-a", BSN_X, "A", "ra");
	register_youth("org-b", BSN_X, "B", "rb");
	n = next_note(a, &m);
	vix__v1__server_message__free_unpacked(m, NULL);
	n = next_note(b, &m);
	vix__v1__server_message__free_unpacked(m, NULL);

	add_org_c();
	c = subscriber("org-c", NULL);
	register_youth("org-c", BSN_X, "C. Claes", "rc");
	n = next_note(c, &m);
	cr_assert_eq(n->type, VIX__V1__NOTIFICATION__TYPE__MATCH_JOINED);
	cr_assert_str_eq(n->client_ref, "rc");
	cr_assert_eq(n->n_others, 2, "the newcomer is told of all others");
	cr_assert_not_null(other(n, "org-a"));
	cr_assert_not_null(other(n, "org-b"));
	vix__v1__server_message__free_unpacked(m, NULL);
	for (int i = 0; i < 2; i++) {
		n = next_note(i ? b : a, &m);
		assert_no_bsn(m);
		cr_assert_eq(n->type, VIX__V1__NOTIFICATION__TYPE__MATCH_JOINED);
		cr_assert_not_null(n->subject);
		cr_assert_str_eq(n->subject->org_id, "org-c");
		cr_assert_str_eq(n->subject->contact->name, "C. Claes");
		cr_assert_eq(n->n_others, 2);
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	/* One leaves: the two others hear MATCH_LEFT. */
	vix_ok("org-c", (const char *[]){ "withdraw", "--bsn", BSN_X,
	    "--reason", "unjustified", NULL });
	for (int i = 0; i < 2; i++) {
		n = next_note(i ? b : a, &m);
		cr_assert_eq(n->type, VIX__V1__NOTIFICATION__TYPE__MATCH_LEFT);
		cr_assert_str_eq(n->subject->org_id, "org-c");
		cr_assert_eq(n->n_others, 1);
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	harness_tls_close(a);
	harness_tls_close(b);
	harness_tls_close(c);
}

/* Whether a notification arrives within ms (without failing the test). */
static Vix__V1__ServerMessage *
poll_note(SSL *ssl, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 }, old;
	socklen_t sl = sizeof(old);
	Vix__V1__ServerMessage *m;
	int fd = SSL_get_fd(ssl), end;

	getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &old, &sl);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	m = SSL_pending(ssl) > 0 || ms > 0 ? harness_recv(ssl, &end) : NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &old, sizeof(old));
	return m;
}

Test(notify, a_stalled_subscriber_gets_only_its_window)
{
	char conf[PATH_MAX];
	Vix__V1__ServerMessage *m;
	FILE *fp;
	SSL *a, *pinger;
	struct run_result r;

	snprintf(conf, sizeof(conf), "%s/window.conf", vixd.dir);
	cr_assert_not_null(fp = fopen(conf, "w"));
	fprintf(fp, "[notify]\nwindow = 5\n");
	fclose(fp);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	a = subscriber("org-a", NULL);
	/* 20 events for org-a: match created and closed, ten times. */
	for (int i = 0; i < 10; i++) {
		register_youth("org-a", BSN_X, "A", "ra");
		register_youth("org-b", BSN_X, "B", "rb");
		vix_ok("org-b", (const char *[]){ "withdraw", "--bsn", BSN_X,
		    "--reason", "unjustified", NULL });
		vix_ok("org-a", (const char *[]){ "withdraw", "--bsn", BSN_X,
		    "--reason", "unjustified", NULL });
	}
	/* Others are served meanwhile. */
	pinger = harness_connect_as(&vixd, "org-b");
	harness_tls_close(pinger);
	harness_vix(&r, &vixd, "org-b", (const char *[]){ "ping", NULL });
	cr_assert_eq(r.status, 0);

	for (uint64_t seq = 1; seq <= 5; seq++) {
		cr_assert_not_null(m = poll_note(a, 5000), "seq %llu within "
		    "the window", (unsigned long long)seq);
		cr_assert_eq(m->notification->seq, seq);
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	cr_assert_null(m = poll_note(a, 500), "more than the window in flight");
	ack(a, "org-a", 3);
	for (uint64_t seq = 6; seq <= 8; seq++) {
		cr_assert_not_null(m = poll_note(a, 5000));
		cr_assert_eq(m->notification->seq, seq, "the ack opened room "
		    "for exactly three");
		vix__v1__server_message__free_unpacked(m, NULL);
	}
	cr_assert_null(m = poll_note(a, 500));
	harness_tls_close(a);
}

/* The value of a metric line in Prometheus text, or -1. */
static long
metric_value(const char *text, const char *series)
{
	char pat[128];
	const char *at;

	snprintf(pat, sizeof(pat), "\n%s ", series);
	at = strstr(text, pat);
	return at ? strtol(at + strlen(pat), NULL, 10) : -1;
}

Test(notify, pruned_outbox_rows_show_in_metrics)
{
	char conf[PATH_MAX], text[1 << 18];
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n;
	FILE *fp;
	SSL *a, *p;

	snprintf(conf, sizeof(conf), "%s/prune.conf", vixd.dir);
	cr_assert_not_null(fp = fopen(conf, "w"));
	fprintf(fp, "[store]\nsweep_interval = 1s\n[notify]\n"
	    "outbox_retention = 2s\n");
	fclose(fp);
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	cr_assert_eq(harness_http_get(&vixd, "/healthz", text, sizeof(text)),
	    200);
	/*
	 * Every consumer of org-a's outbox (org-a, and the partner it
	 * delegates to) acks its MATCH_CREATED; nobody acks org-b's.
	 */
	a = subscriber("org-a", NULL);
	p = subscriber("partner", (const char *[]){ "org-a", NULL });
	register_youth("org-a", BSN_X, "A", "ra");
	register_youth("org-b", BSN_X, "B", "rb");
	n = next_note(a, &m);
	ack(a, "org-a", n->seq);
	vix__v1__server_message__free_unpacked(m, NULL);
	n = next_note(p, &m);
	ack(p, "org-a", n->seq);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(a);
	harness_tls_close(p);
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(harness_http_get(&vixd, "/metrics", text,
		    sizeof(text)), 200);
		if (metric_value(text, "vix_outbox_pruned_total{reason="
		    "\"retention\"}") >= 1 && metric_value(text,
		    "vix_outbox_pruned_total{reason=\"acked\"}") >= 1)
			break;
		usleep(100000);
	}
	cr_assert_eq(metric_value(text, "vix_outbox_pruned_total{reason="
	    "\"acked\"}"), 1, "org-a's acked row: %s", text);
	cr_assert_eq(metric_value(text, "vix_outbox_pruned_total{reason="
	    "\"retention\"}"), 1, "org-b's unacked row: %s", text);
	cr_assert_not_null(strstr(text, "# TYPE vix_outbox_pruned_total "
	    "counter"));
}

/* The connection still answers: a ping round trip. */
static void
ack_nothing_pending(SSL *ssl)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ping ping = VIX__V1__PING__INIT;
	Vix__V1__ServerMessage *m;

	req.id = 77;
	req.body_case = VIX__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	harness_send_request(ssl, &req);
	cr_assert_eq(response(ssl, &m)->id, 77);
	vix__v1__server_message__free_unpacked(m, NULL);
}

Test(notify, a_removed_organisation_loses_its_connections_at_reload)
{
	char orgs[PATH_MAX], conf[8192], log[65536];
	SSL *b = subscriber("org-b", NULL), *a = subscriber("org-a", NULL);
	Vix__V1__ServerMessage *m;
	size_t n;
	int skip = 0, end = 1;
	FILE *fp;

	/* orgs.conf without [org org-b] and without it in receives_for. */
	cr_assert_not_null(fp = fopen(harness_dev_file(&vixd, "orgs.conf",
	    orgs, sizeof(orgs)), "r"));
	n = fread(conf, 1, sizeof(conf) - 1, fp);
	conf[n] = '\0';
	fclose(fp);
	cr_assert_not_null(fp = fopen(orgs, "w"));
	for (char *line = strtok(conf, "\n"); line != NULL;
	    line = strtok(NULL, "\n")) {
		if (line[0] == '[')
			skip = strcmp(line, "[org org-b]") == 0;
		if (skip)
			continue;
		if (strncmp(line, "receives_for", 12) == 0)
			line = "receives_for = org-a";
		fprintf(fp, "%s\n", line);
	}
	fclose(fp);
	kill(vixd.pid, SIGHUP);

	/* Told why (a response with id 0), then closed. */
	m = harness_recv(b, &end);
	cr_assert_not_null(m, "org-b is told why its connection ends");
	cr_assert_eq(m->msg_case, VIX__V1__SERVER_MESSAGE__MSG_RESPONSE);
	cr_assert_eq(m->response->id, 0);
	cr_assert_eq(m->response->status->code,
	    VIX__V1__STATUS__CODE__UNAUTHENTICATED);
	vix__v1__server_message__free_unpacked(m, NULL);
	m = harness_recv(b, &end);
	cr_assert_null(m, "org-b's connection must be closed");
	cr_assert_eq(end, 0, "with close_notify");
	harness_tls_close(b);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, "(org-b): closed: organisation removed "
	    "from orgs.conf"), "%s", log);
	/* org-a is untouched, and org-b cannot come back. */
	ack_nothing_pending(a);
	harness_tls_close(a);
	{
		struct run_result r;

		harness_vix(&r, &vixd, "org-b", (const char *[]){ "ping", NULL });
		cr_assert_eq(r.status, 1);
		cr_assert_not_null(strstr(r.err, "UNAUTHENTICATED"), "%s", r.err);
	}
}

/*
 * Issue 12 item 1: an organisation that may receive its notifications and
 * acks them is their consumer. org-c (register, subscribe; no partner
 * receives for it) acks everything: nothing of it is pending.
 */
Test(notify, acks_of_the_only_consumer_leave_nothing_pending)
{
	char text[1 << 18];
	Vix__V1__ServerMessage *m;
	Vix__V1__Notification *n;
	long long pending = -1;
	SSL *c;

	add_org_c();
	c = subscriber("org-c", NULL);
	register_youth("org-c", BSN_X, "C", "rc");
	register_youth("org-a", BSN_X, "A", "ra");
	n = next_note(c, &m);
	cr_assert_eq(n->type, VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED);
	ack(c, "org-c", n->seq);
	vix__v1__server_message__free_unpacked(m, NULL);
	harness_tls_close(c);
	for (int i = 0; i < 50 && pending != 0; i++) {
		cr_assert_eq(harness_http_get(&vixd, "/metrics", text,
		    sizeof(text)), 200);
		pending = (long long)metric_value(text,
		    "vix_notifications_pending{recipient=\"org-c\"}");
		if (pending != 0)
			usleep(100000);
	}
	cr_assert_eq(pending, 0, "org-c acked its only notification: %s",
	    text);
}
