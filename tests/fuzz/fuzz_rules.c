/*
 * Fuzz target: the validators of what registrants type. The input is cut
 * at NUL bytes into BSN, birth date, contact name, phone, e-mail, client
 * reference and municipality; the free fields are also checked for the
 * BSN field's digits (and any other BSN) in them, and as any text. The
 * contact is judged the same before and after trimming (the daemon
 * stores it trimmed), and trimming twice changes nothing more.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The contact checked as given and as the daemon stores it. */
static void
check_trimmed(const char *name, const char *phone, const char *email)
{
	char *f[3] = { strdup(name), strdup(phone), strdup(email) };
	const char *why;
	size_t n;
	int before;

	if (f[0] == NULL || f[1] == NULL || f[2] == NULL)
		goto out;
	before = rules_check_contact(name, phone, email, &why);
	for (int i = 0; i < 3; i++) {
		n = rules_trim(f[i]);
		if (n != strlen(f[i]) || rules_trim(f[i]) != n)
			abort();
	}
	if (rules_check_contact(f[0], f[1], f[2], &why) != before)
		abort();
out:
	for (int i = 0; i < 3; i++)
		free(f[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 8), *field[7];
	const char *why;
	struct expiry exp;
	int32_t birth;
	size_t f = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	memset(buf + size, 0, 8);
	field[f++] = buf;
	for (size_t i = 0; i < size && f < 7; i++)
		if (buf[i] == '\0')
			field[f++] = buf + i + 1;
	while (f < 7)
		field[f++] = buf + size;

	(void)rules_check_bsn(field[0], strlen(field[0]));
	(void)rules_bsn_strerror(rules_check_bsn(field[0], strlen(field[0])));
	if (rules_parse_date(field[1], &birth) == 0) {
		(void)rules_birthday(birth, 23);
		(void)rules_expiry(&zone_calendar, 1795000000, birth,
		    (unsigned)size, 730, 23, &exp, &why);
	}
	(void)rules_check_contact(field[2], field[3], field[4], &why);
	(void)rules_check_client_ref(field[5], &why);
	(void)rules_check_municipality(field[6], &why);
	check_trimmed(field[2], field[3], field[4]);
	for (int i = 2; i <= 5; i++)
		if (rules_check_text("field", field[i], &why) == -1 &&
		    strncmp(why, "field: ", 7) != 0)
			abort();
	/* No BSN in free text: every free field against the BSN field. */
	for (int i = 2; i <= 5; i++)
		if (rules_check_no_bsn("field", field[i], field[0], &why) == -1 &&
		    strncmp(why, "field: ", 7) != 0)
			abort();
	free(buf);
	return 0;
}
