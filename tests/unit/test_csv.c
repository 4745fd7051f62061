/*
 * vix import's CSV reader (client/csv.c): RFC 4180 quoting, line endings,
 * line numbers, the byte order mark, and the refusals, each naming the
 * column without quoting what was read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "csv.h"

static struct csv r;
static char why[200];
static unsigned long line;

/* A reader over the bytes of s (len bytes; -1: strlen). */
static int
open_text(const char *s, long len, size_t max)
{
	size_t n = len < 0 ? strlen(s) : (size_t)len;
	FILE *fp = fmemopen(NULL, n + 1, "w+");

	cr_assert_not_null(fp);
	cr_assert_eq(fwrite(s, 1, n, fp), n);
	rewind(fp);
	/* fmemopen's "w+" ends the stream at what was written. */
	return csv_open(&r, fp, max);
}

static void
finish(void)
{
	csv_close(&r);
}

TestSuite(csv, .fini = finish);

static void
expect_record(unsigned long at, size_t n, const char *const *fields)
{
	why[0] = '\0';
	cr_assert_eq(csv_next(&r, &line, why, sizeof(why)), 1,
	    "record on line %lu: %s", at, why);
	cr_assert_eq(line, at, "record starts on line %lu, not %lu", line, at);
	cr_assert_eq(r.n, n, "%zu fields, not %zu", r.n, n);
	for (size_t i = 0; i < n && i < CSV_FIELDS; i++)
		cr_assert_str_eq(csv_field(&r, i), fields[i], "field %zu", i);
}

static void
expect_refused(unsigned long at, const char *reason)
{
	why[0] = '\0';
	cr_assert_eq(csv_next(&r, &line, why, sizeof(why)), -1);
	cr_assert_eq(line, at, "bad record on line %lu, not %lu", line, at);
	cr_assert(strstr(why, reason) != NULL, "reason '%s' lacks '%s'", why,
	    reason);
}

static void
expect_end(void)
{
	cr_assert_eq(csv_next(&r, &line, why, sizeof(why)), 0);
	cr_assert(csv_at_end(&r));
}

Test(csv, plain_fields_and_line_endings)
{
	cr_assert_eq(open_text("a,b,c\nd,,f\r\ng,h\r\n\n\r\nlast", -1, 64), 0);
	expect_record(1, 3, (const char *[]){ "a", "b", "c" });
	expect_record(2, 3, (const char *[]){ "d", "", "f" });
	expect_record(3, 2, (const char *[]){ "g", "h" });
	/* Empty lines are skipped; the line count goes on. */
	expect_record(6, 1, (const char *[]){ "last" });
	expect_end();
}

Test(csv, a_lone_carriage_return_ends_a_line)
{
	cr_assert_eq(open_text("a\rb\r", -1, 64), 0);
	expect_record(1, 1, (const char *[]){ "a" });
	expect_record(2, 1, (const char *[]){ "b" });
	expect_end();
}

Test(csv, quoted_fields_hold_commas_quotes_and_line_breaks)
{
	cr_assert_eq(open_text("\"x,y\",\"say \"\"hi\"\"\",\"two\r\nlines\"\n"
	    "\"\",z\n", -1, 64), 0);
	expect_record(1, 3, (const char *[]){ "x,y", "say \"hi\"",
	    "two\nlines" });
	/* The quoted line break counted: the next record is on line 3. */
	expect_record(3, 2, (const char *[]){ "", "z" });
	expect_end();
}

Test(csv, a_trailing_comma_is_an_empty_last_field)
{
	cr_assert_eq(open_text("a,\n", -1, 64), 0);
	expect_record(1, 2, (const char *[]){ "a", "" });
	expect_end();
}

Test(csv, fields_past_the_kept_ones_are_counted)
{
	char text[128] = "";

	for (int i = 0; i < CSV_FIELDS + 4; i++)
		strcat(text, i ? ",f" : "f");
	cr_assert_eq(open_text(text, -1, 256), 0);
	cr_assert_eq(csv_next(&r, &line, why, sizeof(why)), 1);
	cr_assert_eq(r.n, CSV_FIELDS + 4);
	cr_assert_str_eq(csv_field(&r, CSV_FIELDS - 1), "f");
}

Test(csv, byte_order_mark_is_skipped)
{
	cr_assert_eq(open_text("\xef\xbb\xbf" "a,b\n", -1, 64), 0);
	expect_record(1, 2, (const char *[]){ "a", "b" });
	expect_end();
}

Test(csv, part_of_a_byte_order_mark_is_refused)
{
	cr_assert_eq(open_text("\xef\xbb" "a,b\n", -1, 64), -1);
	cr_assert_not_null(r.buf, "refused for the mark, not for memory");
}

Test(csv, text_after_a_closing_quote_skips_the_line)
{
	cr_assert_eq(open_text("a,\"b\"c,d\nnext\n", -1, 64), 0);
	expect_refused(1, "column 2: text after the closing quote");
	expect_record(2, 1, (const char *[]){ "next" });
	expect_end();
}

Test(csv, a_quote_inside_an_unquoted_field_skips_the_line)
{
	cr_assert_eq(open_text("ab\"c\nnext\n", -1, 64), 0);
	expect_refused(1, "column 1: a quote inside an unquoted field");
	expect_record(2, 1, (const char *[]){ "next" });
	expect_end();
}

Test(csv, an_unclosed_quote_runs_to_the_end)
{
	cr_assert_eq(open_text("a,\"b\nc\n", -1, 64), 0);
	expect_refused(1, "column 2: the quoted field is not closed");
	expect_end();
}

Test(csv, a_record_longer_than_the_maximum_is_refused)
{
	char text[200];

	memset(text, 'x', 100);
	strcpy(text + 100, "\nshort\n");
	cr_assert_eq(open_text(text, -1, 32), 0);
	expect_refused(1, "longer than 32 bytes");
	expect_record(2, 1, (const char *[]){ "short" });
	expect_end();
}

Test(csv, a_quoted_record_longer_than_the_maximum_is_refused)
{
	char text[200] = "\"";

	memset(text + 1, 'x', 100);
	strcpy(text + 101, "\"\nshort\n");
	cr_assert_eq(open_text(text, -1, 32), 0);
	expect_refused(1, "longer than 32 bytes");
	expect_record(2, 1, (const char *[]){ "short" });
	expect_end();
}

Test(csv, reasons_never_quote_the_row)
{
	/* A BSN-shaped value in each bad row: the reasons hold no digit run. */
	const char *bad[] = { "123456782\"x\n", "\"123456782\"9\n",
	    "\"123456782\n" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(open_text(bad[i], -1, 64), 0);
		cr_assert_eq(csv_next(&r, &line, why, sizeof(why)), -1);
		cr_assert(strstr(why, "12345") == NULL, "case %zu quotes the "
		    "row", i);
		csv_close(&r);
	}
}

Test(csv, nul_bytes_are_kept_inside_a_field)
{
	/* A NUL ends the C string early; the record is still one field. */
	cr_assert_eq(open_text("a\0b,c\n", 6, 64), 0);
	cr_assert_eq(csv_next(&r, &line, why, sizeof(why)), 1);
	cr_assert_eq(r.n, 2);
	cr_assert_str_eq(csv_field(&r, 1), "c");
}

Test(csv, close_wipes_the_buffer)
{
	cr_assert_eq(open_text("secret\n", -1, 64), 0);
	cr_assert_eq(csv_next(&r, &line, why, sizeof(why)), 1);
	csv_close(&r);
	cr_assert_null(r.buf);
	cr_assert_null(r.fp);
	csv_close(&r);	/* twice is harmless */
}
