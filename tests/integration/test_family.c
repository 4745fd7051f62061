/*
 * The family match against the real daemon: org-a and org-b register two children who share a parent,
 * and both are told of each other with the other's contact and nothing of
 * the other child; the parent's BSN is checked as the youth's and never
 * kept; erasure takes a child's links; an index with family_match off
 * refuses parents, naming the setting.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define WAIT_MS		20000

static struct vixd_proc vixd;
static char bsns[4][16];

static void
load(void)
{
	cr_assert_eq(harness_load_bsns(bsns, 4), 4);
}

TestSuite(family, .init = load, .timeout = 180);

/* vix as org; no BSN in what it printed. */
static void
vix_as(struct run_result *r, const char *org, const char *const *args)
{
	harness_vix(r, &vixd, org, args);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_null(strstr(r->out, bsns[i]), "a BSN in vix's output");
		cr_assert_null(strstr(r->err, bsns[i]), "a BSN in vix's errors");
	}
}

/* org registers youth naming parent (NULL: none); vix's exit status. */
static int
register_child(struct run_result *r, const char *org, const char *youth,
    const char *parent)
{
	const char *args[] = { "register", "--bsn", youth, "--birth-date",
	    "2014-05-01", "--contact-name", org, "--contact-phone",
	    strcmp(org, "org-a") == 0 ? "0301111111" : "0302222222",
	    "--ref", strcmp(org, "org-a") == 0 ? "dossier-a" : "dossier-b",
	    parent ? "--parent-bsn" : NULL, parent, NULL };

	vix_as(r, org, args);
	return r->status;
}


/* Whether the file comes to hold needle n times within ms (bounded). */
static int
wait_count(const char *path, const char *needle, int n, int ms)
{
	static char text[65536];

	for (int waited = 0; waited <= ms; waited += 50) {
		harness_read_text(path, text, sizeof(text));
		if (harness_count(text, needle) >= n)
			return 1;
		usleep(50 * 1000);
	}
	return 0;
}

/* The line of text holding needle, into line ("" if none). */
static void
line_with(const char *text, const char *needle, char *line, size_t len)
{
	const char *at = strstr(text, needle), *start, *end;

	line[0] = '\0';
	if (at == NULL)
		return;
	for (start = at; start > text && start[-1] != '\n'; start--)
		;
	if ((end = strchr(at, '\n')) == NULL)
		end = at + strlen(at);
	snprintf(line, len, "%.*s", (int)(end - start), start);
}

/* vixd --dev with family_match on; the config file's path. */
static void
start_family(void)
{
	static char conf[PATH_MAX];

	harness_start(&vixd, NULL);
	snprintf(conf, sizeof(conf), "%s", harness_write_file(&vixd,
	    "family.conf", "[rules]\nfamily_match = on\n"));
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
}

Test(family, two_organisations_on_siblings_are_told_of_each_other)
{
	char out[PATH_MAX], text[65536], line[4096];
	const char *sub[8];
	struct run_result r;
	pid_t sp;

	start_family();
	snprintf(out, sizeof(out), "%s/partner.out", vixd.dir);
	sub[0] = getenv("VIX");
	sub[1] = "--dev-dir";
	sub[2] = vixd.dev_dir;
	sub[3] = "--dev";
	sub[4] = "partner";
	sub[5] = "--server";
	sub[6] = vixd.addr;
	sp = harness_spawn_bg((const char *[]){ sub[0], sub[1], sub[2], sub[3],
	    sub[4], sub[5], sub[6], "--json", "subscribe", "--for", "org-a",
	    "--for", "org-b", NULL }, out);

	/* The parent is checked as the youth is, and named in the error. */
	cr_assert_eq(register_child(&r, "org-a", bsns[0], bsns[0]), 1);
	cr_assert_not_null(strstr(r.err, "[0]: is the youth itself"), "%s",
	    harness_redact(r.err));
	cr_assert_eq(register_child(&r, "org-a", bsns[0], "123456789"), 1);
	cr_assert_not_null(strstr(r.err, "11-test"), "%s", r.err);

	cr_assert_eq(register_child(&r, "org-a", bsns[0], bsns[2]), 0, "%s",
	    harness_redact(r.err));
	cr_assert_eq(register_child(&r, "org-b", bsns[1], bsns[2]), 0, "%s",
	    harness_redact(r.err));
	cr_assert(wait_count(out, "FAMILY_MATCH", 2, WAIT_MS),
	    "both organisations are told");
	harness_stop_bg(sp);
	harness_read_text(out, text, sizeof(text));
	/* org-a hears of org-b, with its contact and its own reference. */
	line_with(text, "\"recipient\":\"org-a\"", line, sizeof(line));
	cr_assert_not_null(strstr(line, "FAMILY_MATCH"), "%s", line);
	cr_assert_not_null(strstr(line, "\"org_id\":\"org-b\""), "%s", line);
	cr_assert_not_null(strstr(line, "0302222222"), "%s", line);
	cr_assert_not_null(strstr(line, "\"client_ref\":\"dossier-a\""), "%s",
	    line);
	cr_assert_null(strstr(line, "dossier-b"), "nothing of the other "
	    "child: %s", line);
	/* And org-b of org-a. */
	line_with(text, "\"recipient\":\"org-b\"", line, sizeof(line));
	cr_assert_not_null(strstr(line, "\"org_id\":\"org-a\""), "%s", line);
	cr_assert_not_null(strstr(line, "0301111111"), "%s", line);
	cr_assert_null(strstr(line, "dossier-a"), "%s", line);

	/* A third child of the family at org-a: told nothing new. */
	cr_assert_eq(register_child(&r, "org-a", bsns[3], bsns[2]), 0, "%s",
	    harness_redact(r.err));

	/* The subject report says that a link exists, never to whom. */
	harness_vixctl(&r, &vixd, (const char *[]){ "--json",
	    "subject-report", "--bsn", bsns[1], NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "\"parents\":1"), "%s",
	    harness_redact(r.out));
	cr_assert_eq(harness_count(r.out, "\"family_match\""), 1, "%s",
	    harness_redact(r.out));
	for (size_t i = 0; i < 4; i++)
		cr_assert_null(strstr(r.out, bsns[i]));

	/* Erased, the child's links go: org-b is no longer in the family. */
	harness_vixctl(&r, &vixd, (const char *[]){ "erase", "--bsn",
	    bsns[1], "--reason", "gdpr-erasure", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	harness_vixctl(&r, &vixd, (const char *[]){ "--json",
	    "subject-report", "--bsn", bsns[1], NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_null(strstr(r.out, "family_match"), "%s",
	    harness_redact(r.out));
	cr_assert_eq(register_child(&r, "org-b", bsns[1], bsns[2]), 0, "%s",
	    harness_redact(r.err));
	/* The parent's own report: named by three signals, never whose. */
	harness_vixctl(&r, &vixd, (const char *[]){ "--json",
	    "subject-report", "--bsn", bsns[2], NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "\"named_as_parent\":3"), "%s",
	    harness_redact(r.out));
	cr_assert_null(strstr(r.out, "dossier"), "%s", harness_redact(r.out));
	/* The parent erased (their own GDPR request): no signal names them. */
	harness_vixctl(&r, &vixd, (const char *[]){ "erase", "--bsn",
	    bsns[2], "--reason", "gdpr-erasure", NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "3 signals named the person as a "
	    "parent"), "%s", r.out);
	harness_vixctl(&r, &vixd, (const char *[]){ "--json",
	    "subject-report", "--bsn", bsns[0], NULL });
	cr_assert_not_null(strstr(r.out, "\"parents\":0"), "%s",
	    harness_redact(r.out));
	cr_assert_eq(harness_dir_contains(vixd.dir, bsns[2], NULL, 0), 0,
	    "no parent's BSN in vixd's folder or what was printed");
	cr_assert_eq(harness_dir_contains(vixd.dir, bsns[0], NULL, 0), 0);
	cr_assert_eq(harness_stop(&vixd), 0);
}

Test(family, an_index_without_family_match_refuses_parents)
{
	struct run_result r;

	harness_start(&vixd, NULL);
	cr_assert_eq(register_child(&r, "org-a", bsns[0], bsns[2]), 1);
	cr_assert_not_null(strstr(r.err, "family_match = off"), "%s",
	    harness_redact(r.err));
	/* Without parents it registers as ever. */
	cr_assert_eq(register_child(&r, "org-a", bsns[0], NULL), 0, "%s",
	    harness_redact(r.err));
	cr_assert_eq(harness_stop(&vixd), 0);
}

/*
 * With blind pseudonyms (vix --dev finds the key holder vixd --dev
 * started): the parents are blinded by the client as the youth is, and
 * the family is found all the same; vixd never sees their BSNs.
 */
Test(family, blind_pseudonyms_of_parents_find_the_family)
{
	static char conf[PATH_MAX];
	struct run_result r;

	harness_start(&vixd, (const char *[]){ "--pseudonyms", "blind",
	    NULL });
	snprintf(conf, sizeof(conf), "%s", harness_write_file(&vixd,
	    "family.conf", "[rules]\nfamily_match = on\n"));
	harness_restart_with(&vixd, (const char *[]){ "-c", conf,
	    "--pseudonyms", "blind", NULL });
	cr_assert_eq(register_child(&r, "org-a", bsns[0], bsns[0]), 1);
	cr_assert_not_null(strstr(r.err, "parent_pseudonyms[0]: is the youth "
	    "itself"), "%s", harness_redact(r.err));
	cr_assert_eq(register_child(&r, "org-a", bsns[0], bsns[2]), 0, "%s",
	    harness_redact(r.err));
	cr_assert_eq(register_child(&r, "org-b", bsns[1], bsns[2]), 0, "%s",
	    harness_redact(r.err));
	harness_vixctl(&r, &vixd, (const char *[]){ "--json",
	    "subject-report", "--bsn", bsns[1], NULL });
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_eq(harness_count(r.out, "\"family_match\""), 1, "%s",
	    harness_redact(r.out));
	harness_vixctl(&r, &vixd, (const char *[]){ "--json",
	    "subject-report", "--bsn", bsns[0], NULL });
	cr_assert_eq(harness_count(r.out, "\"family_match\""), 1, "%s",
	    harness_redact(r.out));
	cr_assert_eq(harness_dir_contains(vixd.dir, bsns[2], NULL, 0), 0,
	    "no parent's BSN in vixd's folder or what was printed");
	cr_assert_eq(harness_stop(&vixd), 0);
}
