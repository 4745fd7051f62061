/* The policy: the Youth Act's rules as settings, and how to state them. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "policy.h"
#include "zone.h"

void
policy_law(struct policy *p)
{
	p->max_signal_days = POLICY_LAW_MAX_SIGNAL_DAYS;
	p->max_age = POLICY_LAW_MAX_AGE;
	p->archive_retention = POLICY_LAW_ARCHIVE_RETENTION;
	p->at_expiry = POLICY_ARCHIVE;
	p->at_age_limit = POLICY_DELETE;
	p->escalate_after = POLICY_DEFAULT_ESCALATE_AFTER;
}

int
policy_disposal_parse(const char *s, int *out)
{
	if (strcmp(s, "archive") == 0)
		*out = POLICY_ARCHIVE;
	else if (strcmp(s, "delete") == 0)
		*out = POLICY_DELETE;
	else
		return -1;
	return 0;
}

const char *
policy_disposal_name(int disposal)
{
	return disposal == POLICY_DELETE ? "delete" : "archive";
}

/* A duration in the largest unit that states it exactly. */
static void
duration_words(int64_t secs, char *buf, size_t len)
{
	static const struct { int64_t scale; const char *one, *many; } u[] = {
		{ 86400, "day", "days" }, { 3600, "hour", "hours" },
		{ 60, "minute", "minutes" }, { 1, "second", "seconds" },
	};

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (secs % u[i].scale == 0 || u[i].scale == 1) {
			snprintf(buf, len, "%" PRId64 " %s", secs / u[i].scale,
			    secs / u[i].scale == 1 ? u[i].one : u[i].many);
			return;
		}
}

static void
rule_uint(struct policy_rule *r, const char *key, const char *what,
    unsigned v, unsigned dflt, const char *unit, int of_law)
{
	r->key = key;
	r->what = what;
	snprintf(r->value, sizeof(r->value), "%u %s", v, unit);
	snprintf(r->dflt, sizeof(r->dflt), "%u %s", dflt, unit);
	r->changed = v != dflt;
	r->of_law = of_law;
}

static void
rule_duration(struct policy_rule *r, const char *key, const char *what,
    int64_t v, int64_t dflt, int of_law)
{
	r->key = key;
	r->what = what;
	duration_words(v, r->value, sizeof(r->value));
	duration_words(dflt, r->dflt, sizeof(r->dflt));
	r->changed = v != dflt;
	r->of_law = of_law;
}

static void
rule_text(struct policy_rule *r, const char *key, const char *what,
    const char *v, const char *dflt, int of_law)
{
	r->key = key;
	r->what = what;
	snprintf(r->value, sizeof(r->value), "%s", v);
	snprintf(r->dflt, sizeof(r->dflt), "%s", dflt);
	r->changed = strcmp(v, dflt) != 0;
	r->of_law = of_law;
}

size_t
policy_rules(const struct policy *p, const char *zone,
    struct policy_rule out[POLICY_NRULES])
{
	struct policy law;

	policy_law(&law);
	rule_uint(&out[0], "max_signal_days", "longest a signal runs",
	    p->max_signal_days, law.max_signal_days, "days", 1);
	rule_uint(&out[1], "max_age", "the index is for youths under",
	    p->max_age, law.max_age, "years", 1);
	rule_text(&out[2], "at_expiry", "a signal whose duration ran out is",
	    p->at_expiry == POLICY_DELETE ? "deleted" : "archived",
	    "archived", 1);
	rule_text(&out[3], "at_age_limit", "a signal at the age limit is",
	    p->at_age_limit == POLICY_DELETE ? "deleted" : "archived",
	    "deleted", 1);
	rule_duration(&out[4], "archive_retention",
	    "archived signals are kept", p->archive_retention,
	    law.archive_retention, 1);
	rule_duration(&out[5], "escalate_after",
	    "a match not coordinated is escalated after", p->escalate_after,
	    law.escalate_after, 0);
	rule_text(&out[6], "timezone", "the days of the law are days in",
	    zone != NULL ? zone : ZONE_DEFAULT, ZONE_DEFAULT, 1);
	return POLICY_NRULES;
}

void
policy_rule_line(const struct policy_rule *r, char *buf, size_t len)
{
	if (!r->changed)
		snprintf(buf, len, "%s (%s)", r->value, r->of_law ?
		    "the law's value, Jeugdwet ch. 7.1" : "default");
	else
		snprintf(buf, len, "%s (changed from the %s %s)", r->value,
		    r->of_law ? "law's" : "default", r->dflt);
}

int
policy_is_law(const struct policy *p, const char *zone)
{
	struct policy_rule r[POLICY_NRULES];
	size_t n = policy_rules(p, zone, r);

	for (size_t i = 0; i < n; i++)
		if (r[i].changed)
			return 0;
	return 1;
}

int
policy_text(const struct policy *p, const char *zone, char *buf, size_t len)
{
	int n = snprintf(buf, len, "max_signal_days=%u max_age=%u "
	    "at_expiry=%s at_age_limit=%s archive_retention=%" PRId64 " "
	    "escalate_after=%" PRId64 " timezone=%s", p->max_signal_days,
	    p->max_age, policy_disposal_name(p->at_expiry),
	    policy_disposal_name(p->at_age_limit), p->archive_retention,
	    p->escalate_after, zone != NULL ? zone : ZONE_DEFAULT);

	return n < 0 || (size_t)n >= len ? -1 : n;
}

uint32_t
policy_id(const struct policy *p, const char *zone)
{
	char text[512];
	unsigned char md[SHA256_DIGEST_LENGTH];
	int n = policy_text(p, zone, text, sizeof(text));
	uint32_t id;

	SHA256((const unsigned char *)text, n < 0 ? 0 : (size_t)n, md);
	id = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 |
	    (uint32_t)md[2] << 8 | md[3];
	return id != 0 ? id : 1;	/* 0 is "not recorded" */
}
