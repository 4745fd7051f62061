/*
 * `vix import FILE.csv` against the real daemon: pipelined registration of
 * every row, FILE.errors.csv naming each rejected line and why, a second run
 * that refreshes, a resumed import, and the usage errors. The BSNs are
 * synthetic ones from tests/data; none is ever printed, here or
 * by vix.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define HEADER	"bsn,birth_date,days,contact_name,contact_phone," \
		"contact_email,client_ref,municipality"
#define MAX_BSNS	1000

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

TestSuite(import, .init = start, .fini = stop, .timeout = 180);

/* The synthetic BSNs of bsn-valid.txt, or the first of bsn-invalid.tsv. */
static size_t
load_bsns(const char *file, char bsns[][16], size_t max)
{
	char path[PATH_MAX], line[256];
	const char *dir = getenv("VIX_TESTDATA");
	size_t n = 0;
	FILE *fp;

	cr_assert_not_null(dir, "VIX_TESTDATA is not set");
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	cr_assert_not_null(fp = fopen(path, "r"), "open %s: %s", path,
	    strerror(errno));
	while (n < max && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\t\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		cr_assert_lt(strlen(line), 16);
		strcpy(bsns[n++], line);
	}
	fclose(fp);
	return n;
}

static char valid[MAX_BSNS][16];

static size_t
load_valid(size_t need)
{
	size_t n = load_bsns("bsn-valid.txt", valid, MAX_BSNS);

	cr_assert_geq(n, need, "bsn-valid.txt has %zu numbers, %zu needed",
	    n, need);
	return n;
}

/* Append to a growing text. */
static void
add(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	cr_assert_not_null(*buf = realloc(*buf, *len + (size_t)n + 1));
	va_start(ap, fmt);
	vsnprintf(*buf + *len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*len += (size_t)n;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp, "create %s: %s", path, strerror(errno));
	cr_assert_eq(fputs(text, fp) >= 0 && fclose(fp) == 0, 1);
}

static char *
read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	cr_assert_not_null(fp, "open %s: %s", path, strerror(errno));
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	cr_assert_not_null(buf = calloc(1, (size_t)n + 1));
	cr_assert_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

static int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/*
 * A file of rows first..first+n-1 of the valid BSNs, all acceptable, with
 * the optional columns alternately empty; crlf and bom as the import must
 * tolerate them.
 */
static char *
valid_rows(size_t first, size_t n, int crlf, int bom)
{
	const char *nl = crlf ? "\r\n" : "\n";
	char *buf = NULL;
	size_t len = 0;

	add(&buf, &len, "%s%s%s", bom ? "\xef\xbb\xbf" : "", HEADER, nl);
	for (size_t i = first; i < first + n; i++) {
		if (i % 2)
			add(&buf, &len, "%s,2015-03-01,,Contact %zu,050-1234567"
			    ",,,%s", valid[i], i, nl);
		else
			add(&buf, &len, "%s,2014-11-20,365,Contact %zu,"
			    "0501234567,c%zu@example.org,dossier-%zu,0363%s",
			    valid[i], i, i, i, nl);
	}
	return buf;
}

static void
csv_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", vixd.dir, name);
}

/* vix's output and the errors file hold none of the BSNs first..first+n-1. */
static void
assert_no_bsn(const struct run_result *r, const char *errors,
    char bsns[][16], size_t first, size_t n)
{
	for (size_t i = first; i < first + n; i++) {
		cr_assert_null(strstr(r->out, bsns[i]), "a BSN (row %zu) is on "
		    "stdout", i - first + 1);
		cr_assert_null(strstr(r->err, bsns[i]), "a BSN (row %zu) is on "
		    "stderr", i - first + 1);
		if (errors != NULL)
			cr_assert_null(strstr(errors, bsns[i]), "a BSN (row %zu) "
			    "is in the errors file", i - first + 1);
	}
}

static int
count_signals(void)
{
	struct run_result r;

	harness_vix(&r, &vixd, "org-a", (const char *[]){ "--json", "list",
	    NULL });
	cr_assert_eq(r.status, 0, "vix list: %s", harness_redact(r.err));
	return harness_count(r.out, "\"signal_id\"");
}

static void
import(struct run_result *r, const char *path, int json)
{
	harness_vix(r, &vixd, "org-a", json ?
	    (const char *[]){ "import", path, "--json", NULL } :
	    (const char *[]){ "import", path, NULL });
}

Test(import, valid_rows_then_refresh)
{
	char path[PATH_MAX], errors[PATH_MAX];
	struct run_result r;
	char *text;

	load_valid(200);
	csv_path(path, sizeof(path), "youths.csv");
	csv_path(errors, sizeof(errors), "youths.errors.csv");
	write_file(path, text = valid_rows(0, 200, 1, 1));
	free(text);

	import(&r, path, 0);
	cr_assert_eq(r.status, 0, "first import: exit %d: %s", r.status,
	    harness_redact(r.err));
	cr_assert_not_null(strstr(r.out, "200 rows: 200 accepted (200 "
	    "created, 0 refreshed), 0 rejected"), "summary: %s",
	    harness_redact(r.out));
	cr_assert(!exists(errors), "an errors file without errors");
	assert_no_bsn(&r, NULL, valid, 0, 200);
	cr_assert_eq(count_signals(), 200);

	import(&r, path, 1);
	cr_assert_eq(r.status, 0, "second import: exit %d: %s", r.status,
	    harness_redact(r.err));
	cr_assert_not_null(strstr(r.out, "{\"rows\":200,\"accepted\":200,"
	    "\"created\":0,\"refreshed\":200,\"rejected\":0,"
	    "\"errors_file\":null"), "summary: %s", harness_redact(r.out));
	assert_no_bsn(&r, NULL, valid, 0, 200);
	cr_assert_eq(count_signals(), 200);
}

/* The reason on line `line` of the errors file, which must be there once. */
static const char *
reason_of(const char *errors, int line, char *buf, size_t len)
{
	char key[32];
	const char *p, *hit = NULL;

	snprintf(key, sizeof(key), "\n%d,", line);
	for (p = errors; (p = strstr(p, key)) != NULL; p++) {
		cr_assert_null(hit, "line %d is in the errors file twice", line);
		hit = p;
	}
	cr_assert_not_null(hit, "line %d is not in the errors file", line);
	hit += strlen(key);
	snprintf(buf, len, "%.*s", (int)strcspn(hit, "\n"), hit);
	return buf;
}

static void
assert_reason(const char *errors, int line, const char *want)
{
	char reason[512];

	reason_of(errors, line, reason, sizeof(reason));
	cr_assert_not_null(strstr(reason, want), "line %d: reason '%s' does "
	    "not say '%s'", line, harness_redact(reason), want);
}

Test(import, rejected_rows_by_line)
{
	char invalid[4][16], path[PATH_MAX], errors[PATH_MAX];
	struct run_result r;
	char *text = NULL, *out;
	size_t len = 0;

	load_valid(300);
	cr_assert_geq(load_bsns("bsn-invalid.tsv", invalid, 1), 1);
	add(&text, &len, HEADER "\n");
	/* line 2 */ add(&text, &len, "%s,2015-03-01,,A,050-1234501,,,\n",
	    valid[200]);
	/* line 3 */ add(&text, &len, "%s,2015-03-01,,B,050-1234502,,,\n",
	    invalid[0]);
	/* line 4 */ add(&text, &len, "%s,2015-03-01,,C,050-1234503,,,\n",
	    valid[201]);
	/* line 5 */ add(&text, &len, "%s,2015-02-30,,D,050-1234504,,,\n",
	    valid[202]);
	/* line 6 */ add(&text, &len, "%s,2015-03-01,,E,,,,\n", valid[203]);
	/* line 7 */ add(&text, &len, "%s,2015-03-01,,F,050-1234506\n",
	    valid[204]);
	/* line 8 */ add(&text, &len, "%s,2015-03-01,,\"de Vries, Jan\","
	    "050-1234507,,,\n", valid[205]);
	/* lines 9-10: a line break inside a quoted name */
	add(&text, &len, "%s,2015-03-01,,\"G\nH\",050-1234508,,,\n",
	    valid[206]);
	/* line 11 */ add(&text, &len, "%s,2015-03-01,,\"Jan \"\"JJ\"\" "
	    "Jansen\",050-1234509,j@example.org,ref-11,0363\n", valid[207]);
	/* line 12 */ add(&text, &len, "%s,2015-03-01,many,I,050-1234510,,,"
	    "\n", valid[208]);
	/* line 13 */ add(&text, &len, "%s,2015-03-01,,J,050-1234511,,,0363,"
	    "x\n", valid[209]);
	/* line 14 */ add(&text, &len, "%s,2015-03-01,,K\"L,050-1234512,,,\n",
	    valid[210]);
	/* line 15 */ add(&text, &len, "%s,2015-03-01,,M,050-1234513,nobody,,"
	    "\n", valid[211]);
	/* line 17, after an empty line */ add(&text, &len,
	    "\n%s,2015-03-01,30,N,050-1234514,,,\n", valid[212]);
	csv_path(path, sizeof(path), "mixed.csv");
	csv_path(errors, sizeof(errors), "mixed.errors.csv");
	write_file(path, text);
	free(text);

	import(&r, path, 1);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status,
	    harness_redact(r.err));
	cr_assert_not_null(strstr(r.out, "{\"rows\":14,\"accepted\":5,"
	    "\"created\":5,\"refreshed\":0,\"rejected\":9,\"errors_file\":"),
	    "summary: %s", harness_redact(r.out));
	cr_assert_not_null(strstr(r.out, "mixed.errors.csv\""), "summary: %s",
	    harness_redact(r.out));
	cr_assert(exists(errors), "no errors file");
	out = read_file(errors);
	assert_no_bsn(&r, out, valid, 200, 13);
	assert_no_bsn(&r, out, invalid, 0, 1);
	cr_assert_eq(strncmp(out, "line,reason\n", 12), 0, "errors file "
	    "header: %s", harness_redact(out));
	cr_assert_eq(harness_count(out, "\n"), 10, "errors file: %s",
	    harness_redact(out));
	assert_reason(out, 3, "INVALID_ARGUMENT: bsn:");
	assert_reason(out, 5, "INVALID_ARGUMENT: birth_date:");
	assert_reason(out, 6, "contact.phone: is required");
	assert_reason(out, 7, "8 columns expected, 5 found");
	assert_reason(out, 9, "contact.name:");
	assert_reason(out, 12, "days:");
	assert_reason(out, 13, "8 columns expected, 9 found");
	assert_reason(out, 14, "column 4: a quote inside an unquoted field");
	assert_reason(out, 15, "contact.email:");
	free(out);
	cr_assert_eq(count_signals(), 5);
}

Test(import, bad_header_is_usage)
{
	char path[PATH_MAX], errors[PATH_MAX], text[512];
	struct run_result r;

	load_valid(1);
	csv_path(path, sizeof(path), "header.csv");
	csv_path(errors, sizeof(errors), "header.errors.csv");
	write_file(path, "bsn,birth_date,duration,contact_name,contact_phone,"
	    "contact_email,client_ref,municipality\n");
	import(&r, path, 0);
	cr_assert_eq(r.status, 2, "exit %d: %s", r.status,
	    harness_redact(r.err));
	cr_assert_not_null(strstr(r.err, "header column 3 is 'duration', not "
	    "'days'"), "stderr: %s", harness_redact(r.err));
	cr_assert_not_null(strstr(r.err, HEADER), "stderr: %s",
	    harness_redact(r.err));
	cr_assert(!exists(errors), "an errors file for a bad header");

	write_file(path, "bsn,birth_date,days\n");
	import(&r, path, 0);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "the header has 3 columns, not 8"),
	    "stderr: %s", harness_redact(r.err));

	/* No header: the first row is taken for it, and not shown. */
	snprintf(text, sizeof(text), "%s,2015-03-01,,A,0501,,,\n", valid[0]);
	write_file(path, text);
	import(&r, path, 0);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "header column 1 is a value with "
	    "digits (is the header row missing?)"), "stderr: %s",
	    harness_redact(r.err));
	assert_no_bsn(&r, NULL, valid, 0, 1);

	write_file(path, "");
	import(&r, path, 0);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "is empty"), "stderr: %s",
	    harness_redact(r.err));

	csv_path(path, sizeof(path), "missing.csv");
	import(&r, path, 0);
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "cannot open"), "stderr: %s",
	    harness_redact(r.err));

	harness_vix(&r, &vixd, "org-a", (const char *[]){ "import", NULL });
	cr_assert_eq(r.status, 2);
	cr_assert_not_null(strstr(r.err, "FILE.csv is required"));
}

Test(import, interrupted_import_resumed)
{
	char half[PATH_MAX], whole[PATH_MAX];
	struct run_result r;
	char *text;

	load_valid(500);
	csv_path(half, sizeof(half), "half.csv");
	csv_path(whole, sizeof(whole), "whole.csv");
	write_file(half, text = valid_rows(300, 100, 0, 0));
	free(text);
	write_file(whole, text = valid_rows(300, 200, 0, 0));
	free(text);

	import(&r, half, 0);
	cr_assert_eq(r.status, 0, "first half: %s", harness_redact(r.err));
	cr_assert_eq(count_signals(), 100);
	import(&r, whole, 0);
	cr_assert_eq(r.status, 0, "whole file: %s", harness_redact(r.err));
	cr_assert_not_null(strstr(r.out, "200 rows: 200 accepted (100 "
	    "created, 100 refreshed), 0 rejected"), "summary: %s",
	    harness_redact(r.out));
	assert_no_bsn(&r, NULL, valid, 300, 200);
	cr_assert_eq(count_signals(), 200);
}

Test(import, unreachable_server_says_where_it_stopped)
{
	char path[PATH_MAX];
	struct run_result r;
	char *text;

	load_valid(10);
	csv_path(path, sizeof(path), "nowhere.csv");
	write_file(path, text = valid_rows(0, 10, 0, 0));
	free(text);
	harness_run(&r, (const char *[]){ getenv("VIX"), "--dev-dir",
	    vixd.dev_dir, "--dev", "org-a", "--server", "127.0.0.1:1",
	    "import", path, NULL });
	cr_assert_eq(r.status, 3, "exit %d: %s", r.status,
	    harness_redact(r.err));
	cr_assert_not_null(strstr(r.err, "stopped at line 2"), "stderr: %s",
	    harness_redact(r.err));
	assert_no_bsn(&r, NULL, valid, 0, 10);
}

/* A writer queue of 16 and a window of 64: vix narrows its window and retries. */
Test(import, busy_server_is_waited_for)
{
	char conf[PATH_MAX], path[PATH_MAX];
	struct run_result r;
	char *text;

	load_valid(900);
	csv_path(conf, sizeof(conf), "busy.conf");
	write_file(conf, "[store]\nqueue_max = 16\nbatch_max = 16\n"
	    "batch_wait_us = 20000\n");
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	csv_path(path, sizeof(path), "busy.csv");
	write_file(path, text = valid_rows(500, 400, 0, 0));
	free(text);
	import(&r, path, 0);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status,
	    harness_redact(r.err));
	cr_assert_not_null(strstr(r.out, "400 rows: 400 accepted (400 "
	    "created, 0 refreshed), 0 rejected"), "summary: %s",
	    harness_redact(r.out));
	cr_assert_eq(count_signals(), 400);
}

/*
 * Every page of a large organisation is more requests than the rate limit's
 * burst: vix list waits as the server says between pages instead of failing
 * half-way.
 */
Test(import, list_of_many_pages_waits_out_the_rate_limit)
{
	char conf[PATH_MAX], path[PATH_MAX];
	struct run_result r;
	char *text;

	load_valid(300);
	csv_path(conf, sizeof(conf), "limit.conf");
	write_file(conf, "[server]\nrate_limit = 0\n");
	harness_restart_with(&vixd, (const char *[]){ "-c", conf, NULL });
	csv_path(path, sizeof(path), "pages.csv");
	write_file(path, text = valid_rows(0, 300, 0, 0));
	free(text);
	import(&r, path, 0);
	cr_assert_eq(r.status, 0, "exit %d: %s", r.status,
	    harness_redact(r.err));
	/* Three pages of 100 at 20 requests/s and a burst of one. */
	write_file(conf, "[server]\nrate_limit = 20\nrate_burst = 1\n");
	harness_reload(&vixd);
	cr_assert_eq(count_signals(), 300);
}
