/*
 * Webhooks: the Standard Webhooks signature (the specification's own
 * example), its verification and refusals, and notifications as
 * CloudEvents (NL GOV profile), byte for byte.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "cloudevent.h"
#include "webhook.h"
#include "webhooksig.h"

/* The example of the Standard Webhooks specification. */
#define SPEC_SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_ID		"msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TS		1614265330
#define SPEC_BODY	"{\"test\": 2432232314}"
#define SPEC_SIG	"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static struct webhook_key
spec_key(void)
{
	struct webhook_key k;
	char why[200];

	cr_assert_eq(webhook_key_parse(&k, SPEC_SECRET, why, sizeof(why)), 0,
	    "%s", why);
	return k;
}

Test(webhook, signature_is_the_specifications_example)
{
	struct webhook_key k = spec_key();
	char sig[WEBHOOK_SIG_LEN];

	cr_assert_eq(k.len, 24);
	cr_assert_eq(webhook_sign(&k, SPEC_ID, SPEC_TS, SPEC_BODY,
	    strlen(SPEC_BODY), sig), 0);
	cr_assert_str_eq(sig, SPEC_SIG);
}

static int
verify(const char *id, int64_t ts, const char *body, const char *header,
    int64_t now)
{
	struct webhook_key k = spec_key();
	char why[200];

	return webhook_verify(&k, id, ts, body, strlen(body), header, now, 300,
	    why, sizeof(why));
}

Test(webhook, verification_finds_the_signature_among_several)
{
	cr_assert_eq(verify(SPEC_ID, SPEC_TS, SPEC_BODY, SPEC_SIG, SPEC_TS),
	    0);
	cr_assert_eq(verify(SPEC_ID, SPEC_TS, SPEC_BODY, "v1,bm90IHRoaXM= "
	    SPEC_SIG, SPEC_TS + 299), 0, "a secret being replaced: two "
	    "signatures, the second ours");
	cr_assert_eq(verify(SPEC_ID, SPEC_TS, SPEC_BODY, "  " SPEC_SIG "  ",
	    SPEC_TS - 299), 0);
}

Test(webhook, verification_refuses_what_was_changed_or_is_old)
{
	cr_assert_eq(verify(SPEC_ID, SPEC_TS, "{\"test\": 2432232315}",
	    SPEC_SIG, SPEC_TS), -1, "body changed");
	cr_assert_eq(verify("msg_other", SPEC_TS, SPEC_BODY, SPEC_SIG,
	    SPEC_TS), -1, "id changed");
	cr_assert_eq(verify(SPEC_ID, SPEC_TS + 1, SPEC_BODY, SPEC_SIG,
	    SPEC_TS), -1, "timestamp changed");
	cr_assert_eq(verify(SPEC_ID, SPEC_TS, SPEC_BODY, SPEC_SIG,
	    SPEC_TS + 301), -1, "too old");
	cr_assert_eq(verify(SPEC_ID, SPEC_TS, SPEC_BODY, SPEC_SIG,
	    SPEC_TS - 301), -1, "from the future");
	cr_assert_eq(verify(SPEC_ID, SPEC_TS, SPEC_BODY, "", SPEC_TS), -1);
	cr_assert_eq(verify(SPEC_ID, SPEC_TS, SPEC_BODY, "v1,", SPEC_TS), -1);
	cr_assert_eq(verify(SPEC_ID, SPEC_TS, SPEC_BODY, SPEC_SIG "x",
	    SPEC_TS), -1, "a longer signature is not ours");
}

Test(webhook, secrets_refused_without_showing_them)
{
	const char *bad[] = {
		"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",	/* no prefix */
		"whsec_",				/* empty */
		"whsec_c2hvcnQ=",			/* 5 bytes */
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La!aSw", /* not base64 */
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",  /* length */
	};
	struct webhook_key k;
	char why[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(webhook_key_parse(&k, bad[i], why, sizeof(why)),
		    -1, "%s accepted", bad[i]);
		cr_assert_null(strstr(why, "MfKQ"), "%s", why);
		cr_assert_neq(why[0], '\0');
	}
}

/* ---- CloudEvents ------------------------------------------------------ */

struct sink {
	char	buf[4096];
	size_t	len;
};

static void
put(void *arg, const char *s, size_t n)
{
	struct sink *k = arg;

	cr_assert_lt(k->len + n, sizeof(k->buf));
	memcpy(k->buf + k->len, s, n);
	k->len += n;
	k->buf[k->len] = '\0';
}

static int
render(const Vix__V1__Notification *n, struct sink *k)
{
	struct jsonw w;

	k->len = 0;
	k->buf[0] = '\0';
	jsonw_init(&w, put, k);
	return cloudevent_write(&w, n, "00000001234567890000");
}

Test(cloudevent, match_created_as_the_profile_has_it)
{
	Vix__V1__Contact c = VIX__V1__CONTACT__INIT;
	Vix__V1__Involvement other = VIX__V1__INVOLVEMENT__INIT, *others[] =
	    { &other };
	Vix__V1__Notification n = VIX__V1__NOTIFICATION__INIT;
	struct sink k;

	c.name = "J. Jansen";
	c.phone = "0501234567";
	c.email = "";
	other.org_id = "org-a";
	other.org_name = "Jeugdzorg \"Noord\"";
	other.contact = &c;
	other.since = 1796558400;
	n.seq = 42;
	n.recipient = "org-b";
	n.type = VIX__V1__NOTIFICATION__TYPE__MATCH_CREATED;
	n.match_id = 7;
	n.signal_id = 12;
	n.client_ref = "dossier-7";
	n.n_others = 1;
	n.others = others;
	n.coordinator = "org-a";
	n.coordinator_name = "Jeugdzorg \"Noord\"";
	n.time = 1796558461;
	n.municipality = "";
	cr_assert_eq(render(&n, &k), 0);
	cr_assert_str_eq(k.buf, "{\"specversion\":\"1.0\","
	    "\"type\":\"nl.vix.match.created\","
	    "\"source\":\"urn:nld:oin:00000001234567890000:systeem:vix\","
	    "\"id\":\"org-b:42\",\"time\":\"2026-12-06T12:01:01Z\","
	    "\"subject\":\"7\",\"datacontenttype\":\"application/json\","
	    "\"data\":{\"seq\":42,\"recipient\":\"org-b\","
	    "\"type\":\"MATCH_CREATED\",\"match_id\":7,\"signal_id\":12,"
	    "\"client_ref\":\"dossier-7\",\"others\":[{\"org_id\":\"org-a\","
	    "\"org_name\":\"Jeugdzorg \\\"Noord\\\"\",\"contact\":{\"name\":"
	    "\"J. Jansen\",\"phone\":\"0501234567\",\"email\":\"\"},"
	    "\"since\":1796558400}],\"subject\":null,\"coordinator\":"
	    "\"org-a\",\"coordinator_name\":\"Jeugdzorg \\\"Noord\\\"\","
	    "\"coordinated\":false,\"time\":1796558461,"
	    "\"municipality\":\"\",\"previous_municipality\":\"\","
	    "\"escalation_round\":0,\"reminder\":0,\"escalates_at\":0}}");
}

Test(cloudevent, every_type_has_a_name_and_a_signal_event_no_subject)
{
	Vix__V1__Notification n = VIX__V1__NOTIFICATION__INIT;
	const char *seen[16] = { 0 };
	struct sink k;
	char id[CLOUDEVENT_ID_MAX];

	/* Every value the protocol defines, also one added later. */
	const ProtobufCEnumDescriptor *d =
	    &vix__v1__notification__type__descriptor;

	for (unsigned i = 0; i < d->n_values; i++) {
		int t = d->values[i].value;

		if (t == 0)
			continue;
		cr_assert_lt(t, 16);
		seen[t] = cloudevent_type(t);
		cr_assert_not_null(seen[t], "type %s has no event type",
		    d->values[i].name);
		cr_assert_eq(strncmp(seen[t], "nl.vix.", 7), 0, "%s", seen[t]);
		for (int u = 1; u < t; u++)
			cr_assert(seen[u] == NULL || strcmp(seen[t],
			    seen[u]) != 0, "%s twice", seen[t]);
	}
	cr_assert_null(cloudevent_type(0));
	cr_assert_null(cloudevent_type(99));
	cr_assert_str_eq(cloudevent_type(VIX__V1__NOTIFICATION__TYPE__REMINDER),
	    "nl.vix.match.reminder");
	cr_assert_str_eq(cloudevent_type(
	    VIX__V1__NOTIFICATION__TYPE__FAMILY_MATCH), "nl.vix.family.match");

	n.seq = 3;
	n.recipient = "org-c";
	n.type = VIX__V1__NOTIFICATION__TYPE__SIGNAL_EXPIRED;
	n.signal_id = 9;
	n.time = 1796558461;
	cr_assert_eq(render(&n, &k), 0);
	cr_assert_null(strstr(k.buf, "\"subject\":\""), "%s", k.buf);
	cr_assert_not_null(strstr(k.buf, "\"type\":\"nl.vix.signal.expired\""));
	cloudevent_id(&n, id);
	cr_assert_str_eq(id, "org-c:3");
	n.type = 99;
	cr_assert_eq(render(&n, &k), -1, "an unknown type is not sent");
}

Test(webhook_backoff, doubles_from_retry_min_up_to_retry_max)
{
	cr_assert_eq(webhook_backoff_ms(0, 1000, 300000, 0.0, 0), 1000);
	cr_assert_eq(webhook_backoff_ms(1, 1000, 300000, 0.0, 0), 2000);
	cr_assert_eq(webhook_backoff_ms(8, 1000, 300000, 0.0, 0), 256000);
	cr_assert_eq(webhook_backoff_ms(9, 1000, 300000, 0.0, 0), 300000);
	cr_assert_eq(webhook_backoff_ms(4000000000u, 1000, 300000, 0.0, 0),
	    300000, "no overflow after many failures");
	/* Jitter takes off at most half. */
	for (unsigned a = 0; a < 12; a++) {
		uint64_t full = webhook_backoff_ms(a, 1000, 300000, 0.0, 0);
		uint64_t least = webhook_backoff_ms(a, 1000, 300000, 0.999, 0);

		cr_assert_leq(least, full);
		cr_assert_geq(least, full / 2);
	}
	/* A max below min is min. */
	cr_assert_eq(webhook_backoff_ms(5, 2000, 1000, 0.0, 0), 2000);
}

Test(webhook_backoff, retry_after_lengthens_it_up_to_retry_max)
{
	cr_assert_eq(webhook_backoff_ms(0, 1000, 300000, 0.0, 30), 30000,
	    "the receiver asked for 30 s");
	cr_assert_eq(webhook_backoff_ms(5, 1000, 300000, 0.0, 1), 32000,
	    "a shorter Retry-After does not shorten the back-off");
	cr_assert_eq(webhook_backoff_ms(0, 1000, 300000, 0.0, 86400), 300000,
	    "not beyond retry_max");
}
