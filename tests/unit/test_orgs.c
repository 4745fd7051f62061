/* orgs.conf: loading, look-ups, delegation, escalation and every error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "orgs.h"
#include "support.h"

#define OIN_JZ		"00000001234567890001"
#define OIN_WIJK	"00000001234567890002"
#define OIN_PARTNER	"00000001234567890003"
#define OIN_VT		"00000001234567890004"
#define OIN_GGD		"00000001234567890005"

static const char good_conf[] =
    "# Organisations known to the index\n"		/* 1 */
    "[org jz-utrecht]\n"				/* 2 */
    "oin = " OIN_JZ "\n"
    "name = Jeugdzorg Utrecht\n"
    "roles = register, subscribe\n"
    "rank = 10\n"
    "municipality = 0344\n"
    "\n"
    "[org wijkteam.zuid]\n"				/* 9 */
    "oin = " OIN_WIJK "\n"
    "name = Wijkteam Zuid\n"
    "roles = register\n"
    "municipality = 0344\n"
    "\n"
    "[org partner]\n"					/* 15 */
    "oin = " OIN_PARTNER "\n"
    "name = Partner system\n"
    "roles = subscribe\n"
    "receives_for = jz-utrecht, wijkteam.zuid\n"
    "\n"
    "[org veilig_thuis]\n"				/* 21 */
    "oin = " OIN_VT "\n"
    "name = Veilig Thuis Utrecht\n"
    "roles = subscribe,register,admin\n"
    "rank = 0\n"
    "\n"
    "[org 4ggd]\n"					/* 27 */
    "oin = " OIN_GGD "\n"
    "name = GGD regio Utrecht\n"
    "roles = register subscribe\n"
    "municipality = 0599\n"
    "\n"
    "[municipality 0344]\n"
    "escalation = veilig_thuis\n"
    "\n"
    "[escalation]\n"
    "default = partner\n";

static char *dir;

static void
setup(void)
{
	dir = support_tmpdir("orgs");
}

static void
teardown(void)
{
	support_tmpdir_remove(dir);
	dir = NULL;
}

TestSuite(orgs, .init = setup, .fini = teardown);

static char *
orgs_file(const char *text)
{
	char *path = support_path(dir, "orgs.conf");

	support_write_file(path, text, 0644);
	return path;
}

static struct orgs *
load_good(void)
{
	char *path = orgs_file(good_conf);
	struct orgs *o;
	struct diag d;

	diag_init(&d);
	o = orgs_load(path, &d);
	cr_assert_not_null(o, "%s", d.text);
	cr_assert_eq(d.count, 0);
	cr_assert_str_eq(o->path, path);
	free(path);
	return o;
}

/* The file must be refused with exactly the problems in want. */
static void
expect_errors(const char *text, int count, const char *want)
{
	char *path = orgs_file(text), *full = NULL, *p;
	const char *line = want;
	struct orgs *o;
	struct diag d;
	size_t len = 0;
	FILE *fp = open_memstream(&full, &len);

	cr_assert_not_null(fp);
	/* Every line of want is prefixed with "PATH:". */
	while (*line != '\0') {
		p = strchr(line, '\n');
		cr_assert_not_null(p, "want must end with a newline");
		fprintf(fp, "%s:%.*s", path, (int)(p - line + 1), line);
		line = p + 1;
	}
	fclose(fp);

	diag_init(&d);
	o = orgs_load(path, &d);
	cr_assert_null(o, "accepted:\n%s", text);
	cr_assert_str_eq(d.text, full);
	cr_assert_eq(d.count, count, "%d problems:\n%s", d.count, d.text);
	free(full);
	free(path);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* A valid organisation, to surround the one at fault. */
#define ORG_A \
    "[org a]\n" \
    "oin = 00000000000000000001\n" \
    "name = A\n" \
    "roles = register\n"

Test(orgs, loads_every_organisation)
{
	struct orgs *o = load_good();
	const struct org *jz, *wijk, *partner, *vt, *ggd;

	cr_assert_eq(o->n, 5);
	jz = orgs_by_id(o, "jz-utrecht");
	wijk = orgs_by_id(o, "wijkteam.zuid");
	partner = orgs_by_id(o, "partner");
	vt = orgs_by_id(o, "veilig_thuis");
	ggd = orgs_by_id(o, "4ggd");
	cr_assert(jz && wijk && partner && vt && ggd);

	cr_assert_str_eq(jz->oin, OIN_JZ);
	cr_assert_str_eq(jz->name, "Jeugdzorg Utrecht");
	cr_assert_eq(jz->roles, ROLE_REGISTER | ROLE_SUBSCRIBE);
	cr_assert_eq(jz->rank, 10);
	cr_assert_str_eq(jz->municipality, "0344");
	cr_assert_eq(jz->n_receives_for, 0);
	cr_assert_eq(jz->line, 2);

	cr_assert_str_eq(wijk->name, "Wijkteam Zuid");
	cr_assert_eq(wijk->roles, ROLE_REGISTER);
	cr_assert_eq(wijk->rank, 100, "default rank");
	cr_assert_eq(wijk->line, 9);

	cr_assert_eq(partner->roles, ROLE_SUBSCRIBE);
	cr_assert_str_eq(partner->municipality, "");
	cr_assert_eq(partner->rank, 100);

	cr_assert_eq(vt->roles, ROLE_REGISTER | ROLE_SUBSCRIBE | ROLE_ADMIN);
	cr_assert_eq(vt->rank, 0);

	cr_assert_eq(ggd->roles, ROLE_REGISTER | ROLE_SUBSCRIBE);
	cr_assert_str_eq(ggd->municipality, "0599");
	orgs_unref(o);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(orgs, receives_for_is_resolved_to_the_organisations)
{
	struct orgs *o = load_good();
	const struct org *partner = orgs_by_id(o, "partner");

	cr_assert_eq(partner->n_receives_for, 2);
	cr_assert_eq(partner->receives_for[0], orgs_by_id(o, "jz-utrecht"));
	cr_assert_eq(partner->receives_for[1], orgs_by_id(o, "wijkteam.zuid"));
	orgs_unref(o);
}

Test(orgs, by_oin_and_by_id)
{
	struct orgs *o = load_good();
	const char *oins[] = { OIN_JZ, OIN_WIJK, OIN_PARTNER, OIN_VT, OIN_GGD };
	const char *ids[] = { "jz-utrecht", "wijkteam.zuid", "partner",
	    "veilig_thuis", "4ggd" };

	for (size_t i = 0; i < 5; i++) {
		const struct org *g = orgs_by_oin(o, oins[i]);

		cr_assert_not_null(g, "%s not found", oins[i]);
		cr_assert_str_eq(g->id, ids[i]);
		cr_assert_eq(orgs_by_id(o, ids[i]), g);
	}
	cr_assert_null(orgs_by_oin(o, "00000001234567890006"));
	cr_assert_null(orgs_by_oin(o, "00000001234567890000"));
	cr_assert_null(orgs_by_oin(o, "99999999999999999999"));
	cr_assert_null(orgs_by_oin(o, "0000000123456789000"));
	cr_assert_null(orgs_by_oin(o, ""));
	cr_assert_null(orgs_by_id(o, "jz"));
	cr_assert_null(orgs_by_id(o, "Partner"));
	cr_assert_null(orgs_by_id(o, ""));
	orgs_unref(o);
}

Test(orgs, escalation_by_municipality_then_default)
{
	struct orgs *o = load_good();

	cr_assert_eq(orgs_escalation(o, "0344"), orgs_by_id(o, "veilig_thuis"));
	cr_assert_eq(orgs_escalation(o, "0599"), orgs_by_id(o, "partner"));
	cr_assert_eq(orgs_escalation(o, ""), orgs_by_id(o, "partner"));
	cr_assert_eq(orgs_escalation(o, NULL), orgs_by_id(o, "partner"));
	orgs_unref(o);
}

Test(orgs, no_escalation_section_means_none)
{
	char *path = orgs_file(ORG_A
	    "municipality = 0344\n"
	    "[municipality 0344]\n"
	    "escalation = a\n");
	struct diag d;
	struct orgs *o;

	diag_init(&d);
	o = orgs_load(path, &d);
	cr_assert_not_null(o, "%s", d.text);
	cr_assert_eq(orgs_escalation(o, "0344"), orgs_by_id(o, "a"));
	cr_assert_null(orgs_escalation(o, "0363"));
	cr_assert_null(orgs_escalation(o, NULL));
	orgs_unref(o);
	free(path);
}

Test(orgs, may_receive_for)
{
	struct orgs *o = load_good();
	const struct org *jz = orgs_by_id(o, "jz-utrecht"),
	    *wijk = orgs_by_id(o, "wijkteam.zuid"),
	    *partner = orgs_by_id(o, "partner"),
	    *vt = orgs_by_id(o, "veilig_thuis");

	/* Itself, with the role 'subscribe'. */
	cr_assert(orgs_may_receive_for(jz, jz));
	cr_assert_not(orgs_may_receive_for(wijk, wijk));
	cr_assert(orgs_may_receive_for(partner, partner));
	/* By delegation. */
	cr_assert(orgs_may_receive_for(partner, jz));
	cr_assert(orgs_may_receive_for(partner, wijk));
	/* Not for anyone else. */
	cr_assert_not(orgs_may_receive_for(partner, vt));
	cr_assert_not(orgs_may_receive_for(jz, wijk));
	cr_assert_not(orgs_may_receive_for(jz, partner));
	cr_assert_not(orgs_may_receive_for(vt, jz));
	orgs_unref(o);
}

Test(orgs, without_subscribe_role_nothing_is_received)
{
	struct org self = { .id = "self", .roles = ROLE_REGISTER };
	struct org other = { .id = "other", .roles = ROLE_REGISTER };
	const struct org *list[] = { &other };

	self.receives_for = list;
	self.n_receives_for = 1;
	cr_assert_not(orgs_may_receive_for(&self, &other));
	cr_assert_not(orgs_may_receive_for(&self, &self));
	self.roles |= ROLE_SUBSCRIBE;
	cr_assert(orgs_may_receive_for(&self, &other));
	cr_assert(orgs_may_receive_for(&self, &self));
}

Test(orgs, roles_string)
{
	char buf[64];

	cr_assert_str_eq(orgs_roles_string(0, buf, sizeof(buf)), "none");
	cr_assert_str_eq(orgs_roles_string(ROLE_REGISTER, buf, sizeof(buf)),
	    "register");
	cr_assert_str_eq(orgs_roles_string(ROLE_REGISTER | ROLE_SUBSCRIBE, buf,
	    sizeof(buf)), "register,subscribe");
	cr_assert_str_eq(orgs_roles_string(ROLE_SUBSCRIBE | ROLE_ADMIN, buf,
	    sizeof(buf)), "subscribe,admin");
	cr_assert_str_eq(orgs_roles_string(ROLE_REGISTER | ROLE_SUBSCRIBE |
	    ROLE_ADMIN, buf, sizeof(buf)), "register,subscribe,admin");
}

Test(orgs, valid_oin)
{
	cr_assert(orgs_valid_oin("00000001234567890001"));
	cr_assert(orgs_valid_oin("99999999999999999999"));
	cr_assert_not(orgs_valid_oin("0000000123456789000"));
	cr_assert_not(orgs_valid_oin("000000012345678900011"));
	cr_assert_not(orgs_valid_oin("0000000123456789000a"));
	cr_assert_not(orgs_valid_oin(" 0000000123456789000"));
	cr_assert_not(orgs_valid_oin(""));
}

Test(orgs, refcount_keeps_the_registry_until_the_last_unref)
{
	struct orgs *o = load_good();
	struct orgs *r = orgs_ref(o);
	const struct org *g;

	cr_assert_eq(r, o);
	cr_assert_eq(atomic_load(&o->refs), 2);
	orgs_unref(o);
	cr_assert_eq(atomic_load(&r->refs), 1);
	/* Still usable through the other reference (ASan checks this). */
	g = orgs_by_oin(r, OIN_PARTNER);
	cr_assert_not_null(g);
	cr_assert_str_eq(g->receives_for[1]->name, "Wijkteam Zuid");
	orgs_unref(r);
	orgs_unref(NULL);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* ---- errors ---- */

Test(orgs, missing_file)
{
	char *path = support_path(dir, "absent.conf"), *want;
	struct diag d;

	diag_init(&d);
	cr_assert_null(orgs_load(path, &d));
	cr_assert_neq(asprintf(&want, "%s: cannot open: No such file or "
	    "directory\n", path), -1);
	cr_assert_str_eq(d.text, want);
	free(want);
	free(path);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(orgs, oin_not_20_digits)
{
	expect_errors(ORG_A
	    "[org b]\n"
	    "oin = 0000000000000000002\n"
	    "name = B\n"
	    "roles = register\n", 1,
	    "6: oin: must be exactly 20 digits\n");
	expect_errors(ORG_A
	    "[org b]\n"
	    "name = B\n"
	    "oin = 000000000000000000002\n"
	    "roles = register\n", 1,
	    "7: oin: must be exactly 20 digits\n");
	expect_errors(ORG_A
	    "[org b]\n"
	    "oin = 0000000000000000000B\n"
	    "name = B\n"
	    "roles = register\n", 1,
	    "6: oin: must be exactly 20 digits\n");
}

Test(orgs, duplicate_oin_names_both_organisations)
{
	char *path = orgs_file(ORG_A
	    "\n"
	    "[org b]\n"
	    "oin = 00000000000000000001\n"
	    "name = B\n"
	    "roles = register\n");
	char *one, *other;
	struct diag d;

	diag_init(&d);
	cr_assert_null(orgs_load(path, &d));
	cr_assert_eq(d.count, 1, "%s", d.text);
	/* Either may be named first; both must be named, at their line. */
	cr_assert_neq(asprintf(&one, "%s:6: [org b]: OIN 00000000000000000001 "
	    "is already used by [org a]\n", path), -1);
	cr_assert_neq(asprintf(&other, "%s:1: [org a]: OIN "
	    "00000000000000000001 is already used by [org b]\n", path), -1);
	cr_assert(strcmp(d.text, one) == 0 || strcmp(d.text, other) == 0,
	    "%s", d.text);
	free(one);
	free(other);
	free(path);
}

Test(orgs, duplicate_org_id)
{
	expect_errors(ORG_A
	    "[org b]\n"
	    "oin = 00000000000000000002\n"
	    "name = B\n"
	    "roles = register\n"
	    "[org a]\n"
	    "oin = 00000000000000000003\n"
	    "name = A again\n"
	    "roles = register\n", 1,
	    "9: [org a]: organisation 'a' is defined twice\n");
}

Test(orgs, duplicate_org_id_in_consecutive_sections)
{
	expect_errors(ORG_A
	    "\n"
	    "[org a]\n"
	    "oin = 00000000000000000003\n"
	    "name = A again\n"
	    "roles = register\n", 1,
	    "6: [org a]: organisation 'a' is defined twice\n");
}

Test(orgs, duplicate_municipality_in_consecutive_sections)
{
	expect_errors(ORG_A
	    "[municipality 0344]\n"
	    "escalation = a\n"
	    "[municipality 0344]\n"
	    "escalation = a\n", 1,
	    "7: [municipality 0344]: defined twice\n");
}

Test(orgs, bad_handle)
{
	expect_errors(ORG_A
	    "[org Jeugdzorg]\n"
	    "oin = 00000000000000000002\n", 1,
	    "5: [org Jeugdzorg]: organisation id must be 1-32 of a-z 0-9 . _ - "
	    "starting with a letter or digit\n");
	expect_errors("[org -a]\n"
	    "oin = 00000000000000000002\n", 1,
	    "1: [org -a]: organisation id must be 1-32 of a-z 0-9 . _ - "
	    "starting with a letter or digit\n");
	expect_errors("[org a b]\n"
	    "oin = 00000000000000000002\n", 1,
	    "1: [org a b]: organisation id must be 1-32 of a-z 0-9 . _ - "
	    "starting with a letter or digit\n");
	expect_errors("[org abcdefghijabcdefghijabcdefghijabc]\n"
	    "oin = 00000000000000000002\n", 1,
	    "1: [org abcdefghijabcdefghijabcdefghijabc]: organisation id must be "
	    "1-32 of a-z 0-9 . _ - starting with a letter or digit\n");
}

Test(orgs, longest_handle_is_accepted)
{
	char *path = orgs_file("[org abcdefghijabcdefghijabcdefghijab]\n"
	    "oin = 00000000000000000001\n"
	    "name = Long\n"
	    "roles = admin\n");
	struct diag d;
	struct orgs *o;

	diag_init(&d);
	o = orgs_load(path, &d);
	cr_assert_not_null(o, "%s", d.text);
	cr_assert_not_null(orgs_by_id(o, "abcdefghijabcdefghijabcdefghijab"));
	orgs_unref(o);
	free(path);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(orgs, unknown_role)
{
	expect_errors("[org a]\n"
	    "oin = 00000000000000000001\n"
	    "name = A\n"
	    "roles = register, superuser\n", 1,
	    "4: roles: unknown role 'superuser' (expected register, subscribe, "
	    "admin, index)\n");
}

Test(orgs, unknown_key)
{
	expect_errors(ORG_A
	    "colour = blue\n", 1,
	    "5: unknown key 'colour' in [org a]\n");
	expect_errors(ORG_A
	    "[municipality 0344]\n"
	    "escalation = a\n"
	    "default = a\n", 1,
	    "7: unknown key 'default' in [municipality 0344]\n");
	expect_errors(ORG_A
	    "[escalation]\n"
	    "escalation = a\n", 1,
	    "6: unknown key 'escalation' in [escalation]\n");
}

Test(orgs, unknown_section)
{
	expect_errors(ORG_A
	    "[organisation b]\n"
	    "oin = 00000000000000000002\n", 1,
	    "5: unknown section [organisation b] (expected [org ID], "
	    "[municipality CODE] or [escalation])\n");
}

Test(orgs, key_outside_any_section)
{
	expect_errors("oin = 00000000000000000001\n" ORG_A, 1,
	    "1: key 'oin' outside any section\n");
}

Test(orgs, receives_for_naming_a_missing_org)
{
	expect_errors(ORG_A
	    "[org p]\n"
	    "oin = 00000000000000000002\n"
	    "name = P\n"
	    "roles = subscribe\n"
	    "receives_for = a, nobody\n", 1,
	    "9: receives_for: no organisation 'nobody'\n");
}

Test(orgs, receives_for_without_subscribe_role)
{
	expect_errors(ORG_A
	    "[org p]\n"
	    "oin = 00000000000000000002\n"
	    "name = P\n"
	    "receives_for = a\n"
	    "roles = register\n", 1,
	    "8: receives_for: [org p] needs the role 'subscribe' to receive for "
	    "others\n");
}

Test(orgs, push_without_subscribe_role)
{
	expect_errors(ORG_A
	    "[org p]\n"
	    "oin = 00000000000000000002\n"
	    "name = P\n"
	    "push = 127.0.0.1:7443\n"
	    "roles = register\n", 1,
	    "8: push: [org p] needs the role 'subscribe' to be sent "
	    "notifications\n");
}

Test(orgs, require_actor_yes_or_no)
{
	char *path = orgs_file(ORG_A
	    "[org b]\n"
	    "oin = 00000000000000000002\n"
	    "name = B\n"
	    "roles = register\n"
	    "require_actor = yes\n"
	    "[org c]\n"
	    "oin = 00000000000000000003\n"
	    "name = C\n"
	    "roles = register\n"
	    "require_actor = no\n");
	struct orgs *o;
	struct diag d;

	diag_init(&d);
	o = orgs_load(path, &d);
	cr_assert_not_null(o, "%s", d.text);
	cr_expect_eq(orgs_by_id(o, "a")->require_actor, 0, "default: no");
	cr_expect_eq(orgs_by_id(o, "b")->require_actor, 1);
	cr_expect_eq(orgs_by_id(o, "c")->require_actor, 0);
	orgs_unref(o);
	free(path);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(orgs, require_actor_not_yes_or_no)
{
	expect_errors(ORG_A
	    "[org p]\n"
	    "oin = 00000000000000000002\n"
	    "name = P\n"
	    "roles = register\n"
	    "require_actor = true\n", 1,
	    "9: require_actor: must be yes or no\n");
}

Test(orgs, type_is_optional)
{
	char *path = orgs_file(ORG_A
	    "[org b]\n"
	    "oin = 00000000000000000002\n"
	    "name = B\n"
	    "roles = register\n"
	    "type = jeugdzorg\n"
	    "[org c]\n"
	    "oin = 00000000000000000003\n"
	    "name = C\n"
	    "roles = register\n"
	    "type = zorg-0-23-jaar-regio-abc\n");	/* 24 characters */
	struct orgs *o;
	struct diag d;

	diag_init(&d);
	o = orgs_load(path, &d);
	cr_assert_not_null(o, "%s", d.text);
	cr_expect_str_eq(orgs_by_id(o, "a")->type, "", "default: none");
	cr_expect_str_eq(orgs_by_id(o, "b")->type, "jeugdzorg");
	cr_expect_str_eq(orgs_by_id(o, "c")->type, "zorg-0-23-jaar-regio-abc");
	orgs_unref(o);
	free(path);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* [org p] with type = value is refused at line 9 with why. */
static void
expect_bad_type(const char *value, const char *why)
{
	char text[512], want[256];

	snprintf(text, sizeof(text), ORG_A
	    "[org p]\n"
	    "oin = 00000000000000000002\n"
	    "name = P\n"
	    "roles = register\n"
	    "type = %s\n", value);
	snprintf(want, sizeof(want), "9: [org p] type: %s\n", why);
	expect_errors(text, 1, want);
}

Test(orgs, type_must_be_a_short_token)
{
	static const char form[] = "must be 1-24 of a-z 0-9 - starting with "
	    "a letter (e.g. jeugdzorg, wijkteam)";

	expect_bad_type("Jeugdzorg", form);
	expect_bad_type("jeugd zorg", form);
	expect_bad_type("jeugd_zorg", form);
	expect_bad_type("4jeugd", form);
	expect_bad_type("-jeugd", form);
	expect_bad_type("zorg-0-23-jaar-regio-abcd", form);	/* 25 */
	expect_bad_type("all", "all names the regional figures in a report; "
	    "choose another name");
}

Test(orgs, at_most_sixteen_types)
{
	char text[8192];
	size_t n = 0;

	for (int i = 0; i < ORG_TYPES_MAX + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "[org o%d]\n"
		    "oin = %020d\n"
		    "name = O%d\n"
		    "roles = register\n"
		    "type = t%d\n", i, i + 1, i, i);
	expect_errors(text, 1, "81: [org o16] type: t16 is type number 17; "
	    "orgs.conf may give at most 16 different types\n");
}

Test(orgs, municipality_escalation_naming_a_missing_org)
{
	expect_errors(ORG_A
	    "\n"
	    "[municipality 0344]\n"
	    "escalation = nobody\n", 1,
	    "6: [municipality 0344]: escalation: no organisation 'nobody'\n");
}

Test(orgs, municipality_without_escalation)
{
	expect_errors(ORG_A
	    "[municipality 0344]\n", 1,
	    "5: [municipality 0344]: escalation is required\n");
}

Test(orgs, default_escalation_naming_a_missing_org)
{
	expect_errors(ORG_A
	    "[escalation]\n"
	    "\n"
	    "default = nobody\n", 1,
	    "7: default: no organisation 'nobody'\n");
}

Test(orgs, a_key_given_twice_names_both_lines)
{
	expect_errors(ORG_A
	    "[org b]\n"
	    "oin = 00000000000000000002\n"
	    "name = B\n"
	    "roles = register\n"
	    "rank = 5\n"
	    "rank = 6\n", 1,
	    "10: rank: given twice in [org b] (lines 9 and 10); keep one\n");
	expect_errors(ORG_A
	    "[municipality 0363]\n"
	    "escalation = a\n"
	    "escalation = a\n", 1,
	    "7: escalation: given twice in [municipality 0363] (lines 6 and "
	    "7); keep one\n");
	expect_errors(ORG_A
	    "[escalation]\n"
	    "default = a\n"
	    "[escalation]\n"
	    "default = a\n", 1,
	    "8: default: given twice in [escalation] (lines 6 and 8); keep "
	    "one\n");
}

Test(orgs, every_problem_of_a_section_is_reported)
{
	expect_errors(ORG_A
	    "[org b]\n"
	    "oin = 12\n"
	    "roles = register, cook\n"
	    "rank = -1\n"
	    "receives_for = nobody\n", 5,
	    "6: oin: must be exactly 20 digits\n"
	    "7: roles: unknown role 'cook' (expected register, subscribe, "
	    "admin, index)\n"
	    "8: rank: '-1' is not a whole number from 0 to 1000000\n"
	    "5: [org b]: name is required\n"
	    "9: receives_for: no organisation 'nobody'\n");
}

Test(orgs, missing_oin_name_roles)
{
	expect_errors(ORG_A
	    "\n"
	    "[org b]\n"
	    "name = B\n"
	    "roles = register\n", 1,
	    "6: [org b]: oin is required\n");
	expect_errors(ORG_A
	    "[org b]\n"
	    "oin = 00000000000000000002\n"
	    "roles = register\n", 1,
	    "5: [org b]: name is required\n");
	expect_errors(ORG_A
	    "[org b]\n"
	    "oin = 00000000000000000002\n"
	    "name = B\n"
	    "roles =\n", 1,
	    "8: roles: at least one of register, subscribe, admin, index is "
	    "required\n");
	expect_errors(ORG_A
	    "[org b]\n", 3,
	    "5: [org b]: oin is required\n"
	    "5: [org b]: name is required\n"
	    "5: [org b]: roles is required (register, subscribe, admin)\n");
}

Test(orgs, bad_municipality_code)
{
	expect_errors(ORG_A
	    "municipality = 344\n", 1,
	    "5: municipality: must be 4 digits (CBS code)\n");
	expect_errors(ORG_A
	    "municipality = GM0344\n", 1,
	    "5: municipality: must be 4 digits (CBS code)\n");
	expect_errors(ORG_A
	    "[municipality 03440]\n"
	    "escalation = a\n", 1,
	    "5: [municipality 03440]: municipality code must be 4 digits (CBS "
	    "code)\n");
}

Test(orgs, rank_not_a_number)
{
	expect_errors(ORG_A "rank = high\n", 1,
	    "5: rank: 'high' is not a whole number from 0 to 1000000\n");
	expect_errors(ORG_A "rank = -1\n", 1,
	    "5: rank: '-1' is not a whole number from 0 to 1000000\n");
	expect_errors(ORG_A "rank = 1000001\n", 1,
	    "5: rank: '1000001' is not a whole number from 0 to 1000000\n");
	expect_errors(ORG_A "rank = 99999999999999999999999\n", 1,
	    "5: rank: '99999999999999999999999' is not a whole number from 0 "
	    "to 1000000\n");
	expect_errors(ORG_A "rank =\n", 1,
	    "5: rank: '' is not a whole number from 0 to 1000000\n");
}

Test(orgs, bad_name)
{
	expect_errors("[org a]\n"
	    "oin = 00000000000000000001\n"
	    "name =\n"
	    "roles = register\n", 1,
	    "3: name: must be 1-128 characters without control characters\n");
}

Test(orgs, syntax_error_after_a_refused_key_is_still_reported)
{
	expect_errors(ORG_A
	    "rank = high\n"
	    "this is not a key\n", 2,
	    "5: rank: 'high' is not a whole number from 0 to 1000000\n"
	    "6: syntax error: expected '[section]' or 'key = value'\n");
}

Test(orgs, several_problems_are_all_reported)
{
	expect_errors(
	    "[org a]\n"					/* 1 */
	    "oin = 123\n"				/* 2 */
	    "name = A\n"				/* 3 */
	    "roles = register, root\n"			/* 4 */
	    "[org B]\n"					/* 5 */
	    "oin = 00000000000000000002\n"		/* 6 */
	    "[org c]\n"					/* 7 */
	    "oin = 00000000000000000003\n"		/* 8 */
	    "name = C\n"				/* 9 */
	    "roles = subscribe\n", 3,			/* 10 */
	    "2: oin: must be exactly 20 digits\n"
	    "4: roles: unknown role 'root' (expected register, subscribe, "
	    "admin, index)\n"
	    "5: [org B]: organisation id must be 1-32 of a-z 0-9 . _ - "
	    "starting with a letter or digit\n");
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* The lists go on over indented lines; before, the last line replaced them. */
Test(orgs, lists_go_on_over_indented_lines)
{
	char *path = orgs_file(ORG_A
	    "[org b]\n"
	    "oin = 00000000000000000002\n"
	    "name = B\n"
	    "roles = register,\n"
	    "  subscribe\n"
	    "[org c]\n"
	    "oin = 00000000000000000003\n"
	    "name = C\n"
	    "roles = subscribe\n"
	    "receives_for = a,\n"
	    "    b\n");
	const struct org *b, *c;
	struct orgs *o;
	struct diag d;

	diag_init(&d);
	o = orgs_load(path, &d);
	cr_assert_not_null(o, "%s", d.text);
	b = orgs_by_id(o, "b");
	c = orgs_by_id(o, "c");
	cr_assert_eq(b->roles, ROLE_REGISTER | ROLE_SUBSCRIBE);
	cr_assert_eq(c->n_receives_for, 2);
	cr_assert_eq(c->receives_for[0], orgs_by_id(o, "a"));
	cr_assert_eq(c->receives_for[1], b);
	orgs_unref(o);
	free(path);
}

Test(orgs, other_values_do_not_go_on_over_indented_lines)
{
	expect_errors(ORG_A
	    "[org b]\n"
	    "oin = 00000000000000000002\n"
	    "name = Bureau\n"
	    "  Jeugdzorg\n"
	    "roles = register\n", 1,
	    "8: name: the value goes on over an indented line, as only the "
	    "lists roles and receives_for may; write it on one line (or do "
	    "not indent this one)\n");
}

#define ORG_HOOK \
    "[org h]\n" \
    "oin = 00000000000000000002\n" \
    "name = H\n" \
    "roles = subscribe\n"

Test(orgs, webhook_with_its_secret_is_loaded)
{
	char *secret = support_path(dir, "h.whsec"), *path, *text;
	const struct org *h;
	struct orgs *o;
	struct diag d;

	support_write_file(secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
	    0600);
	cr_assert_neq(asprintf(&text, ORG_HOOK "webhook = "
	    "https://partner.example:8443/vix/events\nwebhook_secret = "
	    "h.whsec\n"), -1);
	path = orgs_file(text);
	diag_init(&d);
	o = orgs_load(path, &d);
	cr_assert_not_null(o, "%s", d.text);
	cr_assert_not_null(h = orgs_by_id(o, "h"));
	cr_assert_not_null(h->webhook);
	cr_assert_str_eq(h->webhook->url,
	    "https://partner.example:8443/vix/events");
	cr_assert_null(h->webhook->ca, "no webhook_ca: the system's CAs");
	cr_assert_str_eq(h->webhook->secret_file, secret,
	    "relative to orgs.conf");
	cr_assert_eq(h->webhook->key.len, 24);
	orgs_unref(o);
	free(text);
	free(path);
	free(secret);
}

Test(orgs, webhook_errors)
{
	char *secret = support_path(dir, "open.whsec"), *text;

	expect_errors(ORG_HOOK "webhook = http://partner.example/hook\n", 1,
	    "5: webhook: must start with https:// (notifications go over TLS "
	    "only)\n");
	expect_errors(ORG_HOOK "webhook = https://user:pw@partner.example/\n", 1,
	    "5: webhook: must not carry a user name or password (the secret "
	    "signs each request)\n");
	expect_errors(ORG_HOOK "webhook = https:///hook\n", 1,
	    "5: webhook: has no host name\n");
	expect_errors(ORG_HOOK "webhook = https://partner.example/\n", 1,
	    "5: webhook: [org h] needs webhook_secret = FILE (its signing "
	    "secret, whsec_...)\n");
	expect_errors(ORG_HOOK "webhook_ca = ca.pem\n", 1,
	    "5: [org h]: webhook_secret and webhook_ca need webhook = "
	    "https://...\n");
	support_write_file(secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
	    0644);
	cr_assert_neq(asprintf(&text, ORG_HOOK "webhook = https://p.example/\n"
	    "webhook_secret = %s\n", secret), -1);
	{
		char want[1024];

		snprintf(want, sizeof(want), "6: webhook_secret: %s: must be "
		    "readable by its owner only (chmod 600)\n", secret);
		expect_errors(text, 1, want);
	}
	free(text);
	support_write_file(secret, "not-a-secret\n", 0600);
	cr_assert_neq(asprintf(&text, "[org h]\noin = 00000000000000000002\n"
	    "name = H\nroles = register\nwebhook = https://p.example/\n"
	    "webhook_secret = %s\n", secret), -1);
	{
		char want[1024];
		struct diag d;
		char *path = orgs_file(text);

		diag_init(&d);
		cr_assert_null(orgs_load(path, &d));
		snprintf(want, sizeof(want), "needs the role 'subscribe'");
		cr_assert_not_null(strstr(d.text, want), "%s", d.text);
		cr_assert_not_null(strstr(d.text, "whsec_"), "%s", d.text);
		cr_assert_null(strstr(d.text, "not-a-secret"), "the secret's "
		    "text is never shown");
		free(path);
	}
	free(text);
	free(secret);
}
