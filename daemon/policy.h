/*
 * The policy: each rule of the Youth Act (Jeugdwet chapter 7.1) the index
 * enforces, as a [rules] setting of vixd.conf with the law's value as its
 * default, so that a region under a covenant can change it within bounds
 * and the law can change without a new vixd. Pure: no I/O, no clock.
 */
#ifndef VIX_POLICY_H
#define VIX_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"

/* The law's values, and the defaults of what the law leaves open. */
#define POLICY_LAW_MAX_SIGNAL_DAYS	RULES_MAX_SIGNAL_DAYS	/* 2 years */
#define POLICY_LAW_MAX_AGE		RULES_AGE_LIMIT
#define POLICY_LAW_ARCHIVE_RETENTION	(1826 * INT64_C(86400))	/* 5 years */
#define POLICY_DEFAULT_ESCALATE_AFTER	(14 * INT64_C(86400))

/* Bounds a covenant may set (vixd.conf(5) says why). */
#define POLICY_MAX_AGE_MIN		RULES_AGE_MIN
#define POLICY_MAX_AGE_MAX		RULES_AGE_MAX

/* What becomes of a signal when it ends by itself. */
enum policy_disposal {
	POLICY_ARCHIVE = 1,	/* kept archive_retention for subject access */
	POLICY_DELETE = 2,	/* gone at once */
};

struct policy {
	unsigned	max_signal_days;	/* longest duration */
	unsigned	max_age;		/* the index is for youths under */
	int64_t		archive_retention;	/* seconds */
	int		at_expiry;		/* enum policy_disposal */
	int		at_age_limit;		/* enum policy_disposal */
	int64_t		escalate_after;		/* seconds */
};

/* The law's policy. */
void		 policy_law(struct policy *);

/* "archive" or "delete"; 0 and the value, or -1 if it is neither. */
int		 policy_disposal_parse(const char *s, int *out);
const char	*policy_disposal_name(int disposal);

/* One rule as vixd -t and the subject report state it. */
struct policy_rule {
	const char	*key;		/* its [rules] key */
	const char	*what;		/* "longest a signal runs" */
	char		 value[48];	/* "730 days" */
	char		 dflt[48];	/* the default, in the same words */
	int		 changed;	/* value is not the default */
	int		 of_law;	/* the default is the law's value */
};

#define POLICY_NRULES	7

/*
 * The rules of p, with zone the [rules] timezone, in a fixed order.
 * Returns POLICY_NRULES.
 */
size_t		 policy_rules(const struct policy *p, const char *zone,
		    struct policy_rule out[POLICY_NRULES]);

/* "730 days (the law's value, Jeugdwet ch. 7.1)" or "... (changed from ...)". */
void		 policy_rule_line(const struct policy_rule *, char *buf,
		    size_t len);

/* Whether every rule of p is the law's value (or its default). */
int		 policy_is_law(const struct policy *p, const char *zone);

/*
 * The policy as one line of "key=value" words, the same for the same
 * values, e.g. for the store's record of the policies that applied.
 * Returns its length, or -1 if len is too small.
 */
int		 policy_text(const struct policy *p, const char *zone,
		    char *buf, size_t len);

/*
 * A short id of the policy, never 0: the first 32 bits of SHA-256 of its
 * text (written as 8 hex digits, "%08" PRIx32). The same values give the
 * same id on every vixd.
 */
uint32_t	 policy_id(const struct policy *p, const char *zone);

#endif
