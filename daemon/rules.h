/*
 * The Jeugdwet rules as pure functions: BSN, dates and age, expiry,
 * contact details. No I/O, no clock: the caller passes "now", and the
 * calendar that says which day that is.
 * Messages name the field at fault and never echo a BSN.
 */
#ifndef VIX_RULES_H
#define VIX_RULES_H

#include <stddef.h>
#include <stdint.h>

#define RULES_MAX_SIGNAL_DAYS	730	/* the law's two years; config may lower */
#define RULES_AGE_LIMIT		23	/* the law's; policy max_age may change */
#define RULES_AGE_MIN		18	/* the bounds of max_age */
#define RULES_AGE_MAX		27
#define RULES_CLIENT_REF_MAX	64
#define RULES_CONTACT_NAME_MAX	128
#define RULES_CONTACT_PHONE_MAX	32
#define RULES_CONTACT_EMAIL_MAX	254
#define RULES_ACTOR_MAX		64

enum bsn_error {
	BSN_OK = 0,
	BSN_EMPTY,		/* no value */
	BSN_LENGTH,		/* not exactly 9 characters */
	BSN_NOT_DIGITS,		/* a character other than ASCII 0-9 */
	BSN_ALL_ZEROS,
	BSN_CHECKSUM,		/* fails the 11-test */
};

/* Check a BSN: exactly 9 ASCII digits, not all zeros, passing the 11-test. */
enum bsn_error	rules_check_bsn(const char *s, size_t len);

/* "bsn: must be exactly 9 digits" etc.; never contains the value. */
const char	*rules_bsn_strerror(enum bsn_error);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int32_t		rules_days_from_civil(int y, unsigned m, unsigned d);
void		rules_civil_from_days(int32_t days, int *y, unsigned *m,
		    unsigned *d);

/*
 * Parse a strict YYYY-MM-DD that is a real calendar date (year 1900..9999).
 * Returns 0 and the day number, or -1.
 */
int		rules_parse_date(const char *s, int32_t *days);

/*
 * The day a youth born on birth turns `years`. Someone born on 29 February
 * turns a year older on 28 February in a year without one (the earlier
 * reading, so that a signal is never kept past the age limit).
 */
int32_t		rules_birthday(int32_t birth, int years);

enum expiry_bound {
	EXPIRY_DURATION = 1,	/* values match vix.v1.ExpiryBound */
	EXPIRY_AGE_23 = 2,	/* the age limit (max_age, 23 by law) */
};

struct expiry {
	int64_t			expires;	/* Unix seconds */
	enum expiry_bound	bound;
};

/*
 * The days of the law, which are days in one time zone (zone.h gives the
 * configured zone's): the day of a Unix time, and the Unix time a day
 * begins.
 */
struct rules_calendar {
	int32_t	(*day)(int64_t t);
	int64_t	(*day_start)(int32_t day);
};

/*
 * Validate a registration's dates and compute its expiry:
 * min(now + duration, the start of the max_age-th birthday in cal).
 * duration_days 0 means max_days; above max_days is refused. Refuses a
 * birth date after today and a youth aged max_age or more on today, today
 * being cal's day of now.
 * max_days is clamped to 1..RULES_MAX_SIGNAL_DAYS, max_age to
 * RULES_AGE_MIN..RULES_AGE_MAX. Returns 0, or -1 with *why naming the
 * field ("birth_date: ...", "duration_days: ..."); the message lives in
 * per-thread storage, valid until this thread calls rules_expiry again.
 * why may be NULL; *out is set only on success.
 */
int		rules_expiry(const struct rules_calendar *cal, int64_t now,
		    int32_t birth, unsigned duration_days, unsigned max_days,
		    unsigned max_age, struct expiry *out, const char **why);

/*
 * Text a client sends: valid UTF-8 (RFC 3629), no control characters (C0,
 * DEL, C1, U+2028, U+2029) and no bidirectional formatting characters
 * (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), which make text
 * read otherwise than it is. NULL and "" pass. Returns 0, or -1 with *why
 * naming field ("recipients: must be valid UTF-8").
 */
int		rules_check_text(const char *field, const char *text,
		    const char **why);

/*
 * Remove white space (U+0020, U+00A0 and the other Unicode spaces) and
 * zero-width characters (U+200B-U+200D, U+2060, U+FEFF) from both ends of
 * s, in place; writes nothing when there is nothing to remove. Returns
 * the new length. The contact checks below judge s as trimmed, so what a
 * client checks untrimmed is what the daemon stores trimmed.
 */
size_t		rules_trim(char *s);

/*
 * Contact, each field judged without white space around it, each as
 * rules_check_text besides what follows. name: required, not only white
 * space, at most 128 bytes. phone: required, at most 32 bytes of digits,
 * spaces and "-.()", + only at the start; brackets balanced, not nested,
 * holding digits ("(0)", "(030)"); a Dutch number (from 0) has 10 digits,
 * 0800/0900/0906/0909 numbers 8 or 11, a municipality's 14 number 5 or 6;
 * after + or 00, 8 to 15 digits (E.164; a trunk "(0)" not counted).
 * email: optional (NULL or ""), at most 254 bytes, no spaces, name@domain
 * with a dot-atom name of at most 64 bytes (UTF-8 allowed, no quoted
 * names) and a dotted domain of parts of 1 to 63 letters, digits or inner
 * hyphens, not ending in a number.
 * Returns 0, or -1 with *why naming the field ("contact.name: ..."); a
 * message may live in per-thread storage until this thread checks again.
 */
int		rules_check_contact(const char *name, const char *phone,
		    const char *email, const char **why);

/* client_ref: optional, at most 64 bytes, and as rules_check_text. */
int		rules_check_client_ref(const char *ref, const char **why);

/*
 * Free text (client_ref, contact name, phone, e-mail) must hold no BSN:
 * neither the request's own bsn, found wherever its 9 digits stand in a row
 * among the digits of text (whatever separates them, inside a longer
 * number too), nor any number of exactly 9 digits that passes the 11-test.
 * A number is a run of digits that may be grouped by spaces, dots, hyphens,
 * slashes and brackets ("1234.56.782", "123 456 782"); one of 10 or more
 * digits, such as a phone number with its country code, is not a BSN even
 * where 9 of its digits in a row would pass the 11-test (one window in 11
 * does by chance). bsn NULL, or not a valid BSN: only the second rule.
 * Returns 0, or -1 with *why naming field, never the value; the message
 * lives in per-thread storage until this thread calls this again.
 */
int		rules_check_no_bsn(const char *field, const char *text,
		    const char *bsn, const char **why);

/*
 * actor, the professional a request is sent for (an organisation's own
 * user id or a pseudonym of it): optional (NULL or ""), else at most 64
 * bytes, as rules_check_text, without white space at either end, and
 * holding no BSN as rules_check_no_bsn judges it (no number of 9 digits,
 * grouped or not, that passes the 11-test). Returns 0, or -1 with *why
 * naming the field "actor", never the value; the message may live in
 * per-thread storage until this thread checks again.
 */
int		rules_check_actor(const char *actor, const char **why);

/* municipality: optional (empty), else exactly 4 ASCII digits. */
int		rules_check_municipality(const char *code, const char **why);

#endif
