/*
 * The Jeugdwet rules as pure functions.
 *
 * Dates are day numbers since 1970-01-01 in the proleptic Gregorian
 * calendar, converted with Howard Hinnant's days_from_civil and
 * civil_from_days: eras of 400 years (146097 days) that start on 1 March,
 * so that the leap day is the last day of the shifted year. Which day it is
 * now, and when a day begins, the caller's calendar says (the law's time
 * zone, zone.h).
 */
#include <stdio.h>
#include <string.h>

#include "rules.h"

#define SECONDS_PER_DAY	86400
#define DATE_LEN	10	/* YYYY-MM-DD */
#define DATE_MIN_YEAR	1900
#define DATE_MAX_YEAR	9999
#define BSN_LEN		9

enum text_error {
	TEXT_OK = 0,
	TEXT_CONTROL,		/* C0, DEL, C1, U+2028 or U+2029 */
	TEXT_BIDI,		/* bidirectional formatting character */
	TEXT_UTF8,		/* invalid, overlong or surrogate sequence */
};

enum bsn_error
rules_check_bsn(const char *s, size_t len)
{
	unsigned sum = 0, zeros = 0;
	size_t i;

	if (s == NULL || len == 0)
		return BSN_EMPTY;
	if (len != 9)
		return BSN_LENGTH;
	for (i = 0; i < 9; i++) {
		if (s[i] < '0' || s[i] > '9')
			return BSN_NOT_DIGITS;
		zeros += s[i] == '0';
	}
	if (zeros == 9)
		return BSN_ALL_ZEROS;
	/* 9*d1 + 8*d2 + ... + 2*d8 - d9, kept non-negative with d9 <= 9 < 11. */
	for (i = 0; i < 8; i++)
		sum += (unsigned)(9 - i) * (unsigned)(s[i] - '0');
	sum += 11 - (unsigned)(s[8] - '0');
	return sum % 11 == 0 ? BSN_OK : BSN_CHECKSUM;
}

const char *
rules_bsn_strerror(enum bsn_error e)
{
	switch (e) {
	case BSN_OK:
		return "bsn: ok";
	case BSN_EMPTY:
		return "bsn: is required";
	case BSN_LENGTH:
		return "bsn: must be exactly 9 digits";
	case BSN_NOT_DIGITS:
		return "bsn: must contain only the digits 0-9";
	case BSN_ALL_ZEROS:
		return "bsn: must not be all zeros";
	case BSN_CHECKSUM:
		return "bsn: is not a valid BSN (fails the 11-test)";
	}
	return "bsn: is not valid";
}

int32_t
rules_days_from_civil(int y, unsigned m, unsigned d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	uint64_t yoe = (uint64_t)(yy - era * 400);		/* [0, 399] */
	uint64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	/* [0, 146096] */

	return (int32_t)(era * 146097 + (int64_t)doe - 719468);
}

void
rules_civil_from_days(int32_t days, int *y, unsigned *m, unsigned *d)
{
	int64_t z = (int64_t)days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	uint64_t doe = (uint64_t)(z - era * 146097);		/* [0, 146096] */
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);	/* [0, 365] */
	uint64_t mp = (5 * doy + 2) / 153;			/* [0, 11] */
	unsigned month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = month;
	*y = (int)((int64_t)yoe + era * 400 + (month <= 2));
}

static int
is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
	static const unsigned char mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2 && is_leap(y))
		return 29;
	return mdays[m - 1];
}

/* n ASCII digits as a number, or -1. */
static int
parse_digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
rules_parse_date(const char *s, int32_t *days)
{
	int y, m, d;

	if (s == NULL || strlen(s) != DATE_LEN || s[4] != '-' || s[7] != '-')
		return -1;
	y = parse_digits(s, 4);
	m = parse_digits(s + 5, 2);
	d = parse_digits(s + 8, 2);
	if (y < DATE_MIN_YEAR || y > DATE_MAX_YEAR || m < 1 || m > 12 ||
	    d < 1 || (unsigned)d > days_in_month(y, (unsigned)m))
		return -1;
	*days = rules_days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

int32_t
rules_birthday(int32_t birth, int years)
{
	int y;
	unsigned m, d;

	rules_civil_from_days(birth, &y, &m, &d);
	y += years;
	if (m == 2 && d == 29 && !is_leap(y))
		d = 28;
	return rules_days_from_civil(y, m, d);
}

/*
 * The messages name the configured maximum and age, so they are built per
 * call; a per-thread buffer keeps rules_expiry free of locks and
 * allocation.
 */
static _Thread_local char expiry_buf[96];

static const char *
duration_message(unsigned max_days)
{
	snprintf(expiry_buf, sizeof(expiry_buf), "duration_days: must be at "
	    "most %u", max_days);
	return expiry_buf;
}

static const char *
age_message(unsigned max_age)
{
	snprintf(expiry_buf, sizeof(expiry_buf), "birth_date: the youth is %u "
	    "or older; the index is for youths under %u", max_age, max_age);
	return expiry_buf;
}

int
rules_expiry(const struct rules_calendar *cal, int64_t now, int32_t birth,
    unsigned duration_days, unsigned max_days, unsigned max_age,
    struct expiry *out, const char **why)
{
	const char *msg;
	int64_t today = cal->day(now), by_duration, by_age;
	int32_t birthday;

	if (max_days > RULES_MAX_SIGNAL_DAYS)
		max_days = RULES_MAX_SIGNAL_DAYS;
	if (max_days == 0)
		max_days = 1;
	if (max_age < RULES_AGE_MIN)
		max_age = RULES_AGE_MIN;
	if (max_age > RULES_AGE_MAX)
		max_age = RULES_AGE_MAX;
	if (birth > today) {
		msg = "birth_date: must not be in the future";
		goto fail;
	}
	birthday = rules_birthday(birth, (int)max_age);
	if (birthday <= today) {
		msg = age_message(max_age);
		goto fail;
	}
	if (duration_days == 0)
		duration_days = max_days;
	if (duration_days > max_days) {
		msg = duration_message(max_days);
		goto fail;
	}
	by_duration = now + (int64_t)duration_days * SECONDS_PER_DAY;
	by_age = cal->day_start(birthday);
	if (by_age <= by_duration) {
		out->expires = by_age;
		out->bound = EXPIRY_AGE_23;
	} else {
		out->expires = by_duration;
		out->bound = EXPIRY_DURATION;
	}
	return 0;
fail:
	if (why != NULL)
		*why = msg;
	return -1;
}

/*
 * One UTF-8 sequence at s[*i] (RFC 3629: no overlong forms, surrogates or
 * code points above U+10FFFF), advancing *i. Returns the code point or -1.
 */
static int32_t
utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	unsigned char lo = 0x80, hi = 0xbf;
	int32_t cp;
	size_t n, k;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;		/* overlong */
		else if (c == 0xed)
			hi = 0x9f;		/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;		/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;		/* above U+10FFFF */
	} else
		return -1;
	if (len - *i <= n)
		return -1;
	for (k = 1; k <= n; k++) {
		c = s[*i + k];
		if (c < lo || c > hi)
			return -1;
		lo = 0x80;
		hi = 0xbf;
		cp = (cp << 6) | (c & 0x3f);
	}
	*i += n + 1;
	return cp;
}

/* Line and paragraph separators break a line as a control character does. */
static int
is_control(int32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 ||
	    cp == 0x2029;
}

/*
 * Characters that reorder the text around them when it is shown: a name
 * or reference with U+202E can read as something else than it is.
 */
static int
is_bidi_format(int32_t cp)
{
	return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* White space and zero-width characters: nothing a reader can see. */
static int
is_blank(int32_t cp)
{
	return cp == 0x20 || cp == 0xa0 || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200d) || cp == 0x202f || cp == 0x205f ||
	    cp == 0x2060 || cp == 0x3000 || cp == 0xfeff;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static enum text_error
text_check(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	int32_t cp;

	while (i < len) {
		if ((cp = utf8_next(u, len, &i)) < 0)
			return TEXT_UTF8;
		if (is_control(cp))
			return TEXT_CONTROL;
		if (is_bidi_format(cp))
			return TEXT_BIDI;
	}
	return TEXT_OK;
}

/*
 * "field: must ..." for a text error, in per-thread storage (the field is
 * the caller's), valid until this thread builds another.
 */
static const char *
text_message(const char *field, enum text_error e)
{
	static _Thread_local char buf[160];
	const char *what;

	switch (e) {
	case TEXT_CONTROL:
		what = "must not contain control characters";
		break;
	case TEXT_BIDI:
		what = "must not contain bidirectional formatting characters "
		    "(U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069)";
		break;
	case TEXT_UTF8:
	default:
		what = "must be valid UTF-8";
		break;
	}
	snprintf(buf, sizeof(buf), "%.32s: %s", field, what);
	return buf;
}

int
rules_check_text(const char *field, const char *text, const char **why)
{
	enum text_error e;

	if (text == NULL || (e = text_check(text, strlen(text))) == TEXT_OK)
		return 0;
	if (why != NULL)
		*why = text_message(field, e);
	return -1;
}

/*
 * s[0..len) without blanks at either end: [*from, *to). Stops at an invalid
 * sequence, keeping it and the rest (the text check refuses it).
 */
static void
trim_span(const char *s, size_t len, size_t *from, size_t *to)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, at;
	int32_t cp;
	int seen = 0;

	*from = *to = 0;
	while (i < len) {
		at = i;
		if ((cp = utf8_next(u, len, &i)) < 0) {
			*from = seen ? *from : at;
			*to = len;
			return;
		}
		if (is_blank(cp))
			continue;
		*from = seen ? *from : at;
		seen = 1;
		*to = i;
	}
}

size_t
rules_trim(char *s)
{
	size_t from, to;

	trim_span(s, strlen(s), &from, &to);
	if (from > 0)
		memmove(s, s + from, to - from);
	if (s[to - from] != '\0')	/* "" may be read-only: no write */
		s[to - from] = '\0';
	return to - from;
}

static int
check_name(const char *name, const char **why)
{
	size_t len = name == NULL ? 0 : strlen(name), from, to;
	enum text_error e;

	if (len == 0) {
		*why = "contact.name: is required";
		return -1;
	}
	if ((e = text_check(name, len)) != TEXT_OK) {
		*why = text_message("contact.name", e);
		return -1;
	}
	trim_span(name, len, &from, &to);
	if (from == to)
		*why = "contact.name: must not be only white space";
	else if (to - from > RULES_CONTACT_NAME_MAX)
		*why = "contact.name: must be at most 128 bytes";
	else
		return 0;
	return -1;
}

#define PHONE_INTL_MIN	8	/* digits after + or 00 (E.164: at most 15) */
#define PHONE_INTL_MAX	15
#define PHONE_DUTCH	10	/* a Dutch number with its leading 0 */

/* The digits of a phone number. */
struct phone_digits {
	int	all;
	int	trunk;		/* of a "(0)": the trunk prefix, as "+31 (0)6" */
	char	lead[5];	/* the first four */
};

static void
phone_count(const char *p, size_t n, struct phone_digits *d)
{
	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			continue;
		if (d->all < 4)
			d->lead[d->all] = p[i];
		d->all++;
		if (p[i] == '0' && i > 0 && p[i - 1] == '(' && i + 1 < n &&
		    p[i + 1] == ')')
			d->trunk++;
	}
}

/* Brackets balanced, not nested, each holding one or more digits only. */
static int
phone_brackets_ok(const char *p, size_t n)
{
	size_t inside = 0;
	int open = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '(') {
			if (open)
				return 0;
			open = 1;
			inside = 0;
		} else if (p[i] == ')') {
			if (!open || inside == 0)
				return 0;
			open = 0;
		} else if (open) {
			if (!is_digit(p[i]))
				return 0;
			inside++;
		}
	}
	return !open;
}

static int
is_phone_sep(char c)
{
	return c == '-' || c == '.';
}

/*
 * The form of a phone number p[0..n) made of digits, spaces and "+-().",
 * with a digit: NULL, or what is wrong with it.
 */
static const char *
phone_form(const char *p, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		if (p[i] == '+')
			return "contact.phone: + may stand only at the start";
		if (is_phone_sep(p[i]) && is_phone_sep(p[i - 1]))
			return "contact.phone: no two separators (- .) in a row";
	}
	if (!phone_brackets_ok(p, n))
		return "contact.phone: brackets must be balanced, not nested, "
		    "and hold only digits";
	if ((p[0] != '+' && p[0] != '(' && !is_digit(p[0])) ||
	    !is_digit(p[n - 1]))
		return "contact.phone: must start with a digit, + or ( and end "
		    "with a digit";
	return NULL;
}

/* 0800, 0900, 0906 and 0909 numbers have 8 or 11 digits, not 10. */
static int
is_service_number(const char *lead)
{
	return strcmp(lead, "0800") == 0 || strcmp(lead, "0900") == 0 ||
	    strcmp(lead, "0906") == 0 || strcmp(lead, "0909") == 0;
}

/*
 * How many digits a number has, by how it starts: + or 00, international
 * (E.164 length); 0, Dutch; 140, a municipality's "14 020" number.
 */
static const char *
phone_length(const char *p, const struct phone_digits *d)
{
	int n;

	if (p[0] == '+' || strncmp(d->lead, "00", 2) == 0) {
		n = d->all - d->trunk - (p[0] == '+' ? 0 : 2);
		if (n >= PHONE_INTL_MIN && n <= PHONE_INTL_MAX)
			return NULL;
		return "contact.phone: an international number has 8 to 15 "
		    "digits after the + or 00";
	}
	if (d->lead[0] == '0') {
		if (is_service_number(d->lead) ? d->all == 8 || d->all == 11 :
		    d->all == PHONE_DUTCH)
			return NULL;
		return "contact.phone: a Dutch number has 10 digits (0800 and "
		    "090x numbers: 8 or 11)";
	}
	if (strncmp(d->lead, "140", 3) == 0 && (d->all == 5 || d->all == 6))
		return NULL;
	return "contact.phone: must start with 0 (a Dutch number), + or 00 "
	    "(an international one), or be a municipality's 14 number";
}

static int
check_phone(const char *phone, const char **why)
{
	size_t len = phone == NULL ? 0 : strlen(phone), from, to, n;
	struct phone_digits d;
	const char *p;

	if (len > 0)
		trim_span(phone, len, &from, &to);
	if (len == 0 || from == to) {
		*why = "contact.phone: is required";
		return -1;
	}
	p = phone + from;
	n = to - from;
	if (n > RULES_CONTACT_PHONE_MAX) {
		*why = "contact.phone: must be at most 32 bytes";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_digit(p[i]) && strchr(" +-().", p[i]) == NULL) {
			*why = "contact.phone: may contain only digits, "
			    "spaces and + - ( ) .";
			return -1;
		}
	phone_count(p, n, &d);
	if (d.all == 0)
		*why = "contact.phone: must contain a digit";
	else if ((*why = phone_form(p, n)) == NULL &&
	    (*why = phone_length(p, &d)) == NULL)
		return 0;
	return -1;
}

static int
is_ascii_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* A dot at the start or the end of s[0..n), or two in a row. */
static int
has_stray_dot(const char *s, size_t n)
{
	if (s[0] == '.' || s[n - 1] == '.')
		return 1;
	for (size_t i = 1; i < n; i++)
		if (s[i] == '.' && s[i - 1] == '.')
			return 1;
	return 0;
}

/*
 * The part before the @: a dot-atom (RFC 5322) of ASCII letters, digits
 * and its punctuation, or UTF-8 (RFC 6531). Quoted names are refused.
 */
static const char *
email_local(const char *l, size_t n)
{
	if (n > 64)
		return "contact.email: the name before the @ must be at most "
		    "64 bytes";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if (c < 0x80 && !is_ascii_alnum(c) &&
		    strchr(".!#$%&'*+/=?^_`{|}~-", c) == NULL)
			return "contact.email: the name before the @ may hold "
			    "only letters, digits and . ! # $ % & ' * + / = ? "
			    "^ _ ` { | } ~ -";
	}
	if (has_stray_dot(l, n))
		return "contact.email: the name before the @ must not start "
		    "or end with a dot or have two in a row";
	return NULL;
}

#define EMAIL_DOMAIN_CHARS "contact.email: the domain may hold only " \
	"letters, digits, dots and hyphens (a hyphen not first or last in " \
	"a part)"

/* One part of a domain: letters, digits, hyphens inside, UTF-8 (IDN). */
static const char *
email_label(const char *s, size_t n, int *numeric)
{
	*numeric = 1;
	if (n > 63)
		return "contact.email: each part of the domain must be at most "
		    "63 bytes";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		*numeric = *numeric && is_digit(s[i]);
		if (c < 0x80 && !is_ascii_alnum(c) && c != '-')
			return EMAIL_DOMAIN_CHARS;
	}
	if (s[0] == '-' || s[n - 1] == '-')
		return EMAIL_DOMAIN_CHARS;
	return NULL;
}

/* A dotted domain name with no empty part, not ending in a number. */
static const char *
email_domain(const char *d, size_t n)
{
	const char *why;
	size_t start, end;
	int numeric = 0;

	if (memchr(d, '.', n) == NULL)
		return "contact.email: the domain must have a dot, as "
		    "example.nl";
	if (has_stray_dot(d, n))
		return "contact.email: the domain must not start or end with a "
		    "dot or have two in a row";
	for (start = 0; start < n; start = end + 1) {
		for (end = start; end < n && d[end] != '.'; end++)
			;
		if ((why = email_label(d + start, end - start, &numeric)))
			return why;
	}
	if (numeric)
		return "contact.email: the domain must end in a name, as .nl, "
		    "not a number";
	return NULL;
}

/* A practical check of e[0..n), not all of RFC 5322. */
static const char *
email_form(const char *e, size_t n)
{
	const unsigned char *u = (const unsigned char *)e;
	const char *at, *why;
	size_t i = 0;

	while (i < n)
		if (is_blank(utf8_next(u, n, &i)))
			return "contact.email: must not contain spaces";
	at = memchr(e, '@', n);
	if (at == NULL || at == e || at == e + n - 1 ||
	    memchr(at + 1, '@', (size_t)(e + n - at - 1)) != NULL)
		return "contact.email: must have the form name@domain";
	if ((why = email_local(e, (size_t)(at - e))) != NULL)
		return why;
	return email_domain(at + 1, (size_t)(e + n - at - 1));
}

static int
check_email(const char *email, const char **why)
{
	size_t len = email == NULL ? 0 : strlen(email), from, to;
	enum text_error e;

	if (len == 0)
		return 0;
	if ((e = text_check(email, len)) != TEXT_OK) {
		*why = text_message("contact.email", e);
		return -1;
	}
	trim_span(email, len, &from, &to);
	if (to - from > RULES_CONTACT_EMAIL_MAX)
		*why = "contact.email: must be at most 254 bytes";
	else if (from == to ||
	    (*why = email_form(email + from, to - from)) == NULL)
		return 0;
	return -1;
}

int
rules_check_contact(const char *name, const char *phone, const char *email,
    const char **why)
{
	const char *msg = NULL;

	if (check_name(name, &msg) == -1 || check_phone(phone, &msg) == -1 ||
	    check_email(email, &msg) == -1) {
		if (why != NULL)
			*why = msg;
		return -1;
	}
	return 0;
}

int
rules_check_client_ref(const char *ref, const char **why)
{
	size_t len = ref == NULL ? 0 : strlen(ref);
	enum text_error e = TEXT_OK;
	const char *msg;

	if (len > RULES_CLIENT_REF_MAX)
		msg = "client_ref: must be at most 64 bytes";
	else if ((e = text_check(ref, len)) == TEXT_OK)
		return 0;
	else
		msg = text_message("client_ref", e);
	if (why != NULL)
		*why = msg;
	return -1;
}

/* What may group the digits of one number: "1234.56.782", "(0)6 1234". */
static int
is_digit_group_sep(char c)
{
	return c != '\0' && strchr(" .-/()", c) != NULL;
}

/* Whether bsn's digits stand in a row among the digits of text. */
static int
holds_own_bsn(const char *text, const char *bsn)
{
	char win[BSN_LEN] = { 0 };
	size_t n = 0;
	int found = 0;

	if (bsn == NULL || rules_check_bsn(bsn, strlen(bsn)) != BSN_OK)
		return 0;
	for (; *text != '\0' && !found; text++) {
		if (!is_digit(*text))
			continue;
		memmove(win, win + 1, BSN_LEN - 1);
		win[BSN_LEN - 1] = *text;
		found = ++n >= BSN_LEN && memcmp(win, bsn, BSN_LEN) == 0;
	}
	explicit_bzero(win, sizeof(win));
	return found;
}

/*
 * The number starting at *p (a digit): its digits, the first BSN_LEN of
 * them into d. Advances *p past it. Returns the number of digits.
 */
static size_t
number_take(const char **p, char *d)
{
	const char *s = *p, *q;
	size_t n = 0;

	for (;;) {
		for (; is_digit(*s); s++, n++)
			if (n < BSN_LEN)
				d[n] = *s;
		for (q = s; is_digit_group_sep(*q); q++)
			;
		if (q == s || !is_digit(*q))
			break;
		s = q;
	}
	*p = s;
	return n;
}

/* Whether text holds a number of exactly 9 digits passing the 11-test. */
static int
holds_bsn_number(const char *text)
{
	char d[BSN_LEN];
	int found = 0;

	while (*text != '\0' && !found) {
		if (!is_digit(*text)) {
			text++;
			continue;
		}
		found = number_take(&text, d) == BSN_LEN &&
		    rules_check_bsn(d, BSN_LEN) == BSN_OK;
	}
	explicit_bzero(d, sizeof(d));
	return found;
}

int
rules_check_no_bsn(const char *field, const char *text, const char *bsn,
    const char **why)
{
	static _Thread_local char buf[192];

	if (text == NULL || (!holds_own_bsn(text, bsn) &&
	    !holds_bsn_number(text)))
		return 0;
	snprintf(buf, sizeof(buf), "%.32s: must not contain a BSN, or a "
	    "number that could be one (case systems that use the BSN as "
	    "their file number: send another reference)", field);
	if (why != NULL)
		*why = buf;
	return -1;
}

int
rules_check_actor(const char *actor, const char **why)
{
	size_t len = actor == NULL ? 0 : strlen(actor), from, to;
	enum text_error e;
	const char *msg;

	if (len == 0)
		return 0;
	trim_span(actor, len, &from, &to);
	if (len > RULES_ACTOR_MAX)
		msg = "actor: must be at most 64 bytes";
	else if ((e = text_check(actor, len)) != TEXT_OK)
		msg = text_message("actor", e);
	else if (from != 0 || to != len)
		msg = "actor: must not begin or end with white space";
	else if (rules_check_no_bsn("actor", actor, NULL, &msg) == 0)
		return 0;
	if (why != NULL)
		*why = msg;
	return -1;
}

int
rules_check_municipality(const char *code, const char **why)
{
	if (code == NULL || code[0] == '\0' ||
	    (strlen(code) == 4 && parse_digits(code, 4) >= 0))
		return 0;
	if (why != NULL)
		*why = "municipality: must be a 4-digit CBS code";
	return -1;
}
