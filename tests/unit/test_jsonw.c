/*
 * The JSON writer shared by vixd and the vix CLI (common/jsonw.c):
 * escaping, commas and keys at every depth, and misuse refused.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "jsonw.h"

struct out {
	char	buf[4096];
	size_t	len;
};

static void
put_out(void *arg, const char *s, size_t n)
{
	struct out *o = arg;

	cr_assert_lt(o->len + n, sizeof(o->buf));
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static struct out out;
static struct jsonw w;

static void
setup(void)
{
	memset(&out, 0, sizeof(out));
	jsonw_init(&w, put_out, &out);
}

TestSuite(jsonw, .init = setup);

static void
expect(const char *want)
{
	cr_assert_str_eq(out.buf, want);
}

Test(jsonw, plain_string_as_is)
{
	jsonw_str(&w, "org-a / Jeugdzorg Noord, é");
	expect("\"org-a / Jeugdzorg Noord, é\"");
}

Test(jsonw, quotes_backslashes_and_controls_escaped)
{
	jsonw_str(&w, "a\"b\\c\nd\te\x01" "f\x1f" "g\x7fh");
	expect("\"a\\\"b\\\\c\\u000ad\\u0009e\\u0001f\\u001fg\\u007fh\"");
}

Test(jsonw, null_is_the_empty_string)
{
	jsonw_str(&w, NULL);
	expect("\"\"");
}

Test(jsonw, strn_stops_at_n_or_at_a_nul)
{
	jsonw_array(&w);
	jsonw_strn(&w, "abc\"def", 4);
	jsonw_strn(&w, "ab\0cd", 5);
	jsonw_strn(&w, "xyz", 0);
	jsonw_end(&w);
	expect("[\"abc\\\"\",\"ab\",\"\"]");
}

Test(jsonw, keys_are_escaped_too)
{
	jsonw_object(&w);
	jsonw_kstr(&w, "k\"1", "v");
	jsonw_end(&w);
	expect("{\"k\\\"1\":\"v\"}");
}

Test(jsonw, numbers_booleans_null)
{
	jsonw_array(&w);
	jsonw_int(&w, INT64_MIN);
	jsonw_uint(&w, UINT64_MAX);
	jsonw_int(&w, 0);
	jsonw_bool(&w, 1);
	jsonw_bool(&w, 0);
	jsonw_null(&w);
	jsonw_fixed(&w, 2.5, 3);
	jsonw_fixed(&w, 41.6, 0);
	jsonw_end(&w);
	expect("[-9223372036854775808,18446744073709551615,0,true,false,null,"
	    "2.500,42]");
	cr_assert_eq(jsonw_done(&w), 0);
}

Test(jsonw, commas_and_keys_at_every_depth)
{
	jsonw_object(&w);
	jsonw_kbool(&w, "ok", 1);
	jsonw_key(&w, "empty");
	jsonw_object(&w);
	jsonw_end(&w);
	jsonw_key(&w, "list");
	jsonw_array(&w);
	jsonw_array(&w);
	jsonw_end(&w);
	jsonw_object(&w);
	jsonw_kuint(&w, "a", 1);
	jsonw_kint(&w, "b", -2);
	jsonw_key(&w, "c");
	jsonw_array(&w);
	jsonw_str(&w, "x");
	jsonw_str(&w, "y");
	jsonw_end(&w);
	jsonw_end(&w);
	jsonw_null(&w);
	jsonw_end(&w);
	jsonw_kstr(&w, "last", "z");
	jsonw_end(&w);
	jsonw_newline(&w);
	expect("{\"ok\":true,\"empty\":{},\"list\":[[],{\"a\":1,\"b\":-2,"
	    "\"c\":[\"x\",\"y\"]},null],\"last\":\"z\"}\n");
	cr_assert_eq(jsonw_done(&w), 0);
}

Test(jsonw, json_lines_have_no_commas_between_values)
{
	for (int i = 0; i < 3; i++) {
		jsonw_object(&w);
		jsonw_kint(&w, "n", i);
		jsonw_end(&w);
		jsonw_newline(&w);
	}
	expect("{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n");
	cr_assert_eq(jsonw_done(&w), 0);
}

Test(jsonw, a_value_without_its_key_in_an_object_is_refused)
{
	jsonw_object(&w);
	jsonw_str(&w, "lonely");
	jsonw_kstr(&w, "k", "v");
	jsonw_end(&w);
	expect("{");
	cr_assert_eq(jsonw_done(&w), -1);
}

Test(jsonw, a_key_outside_an_object_is_refused)
{
	jsonw_array(&w);
	jsonw_key(&w, "k");
	cr_assert_eq(jsonw_done(&w), -1);
	expect("[");
	setup();
	jsonw_key(&w, "k");
	cr_assert_eq(jsonw_done(&w), -1);
	expect("");
}

Test(jsonw, a_key_without_its_value_is_refused)
{
	jsonw_object(&w);
	jsonw_key(&w, "k");
	jsonw_end(&w);
	cr_assert_eq(jsonw_done(&w), -1);
	setup();
	jsonw_object(&w);
	jsonw_key(&w, "k");
	jsonw_key(&w, "l");
	cr_assert_eq(jsonw_done(&w), -1);
	expect("{\"k\":");
}

Test(jsonw, unbalanced_is_refused)
{
	jsonw_end(&w);
	cr_assert_eq(jsonw_done(&w), -1);
	setup();
	jsonw_array(&w);
	cr_assert_eq(jsonw_done(&w), -1);
	jsonw_newline(&w);
	expect("[");
}

Test(jsonw, nesting_deeper_than_the_limit_is_refused)
{
	for (int i = 0; i < JSONW_DEPTH; i++)
		jsonw_array(&w);
	cr_assert_eq(out.len, JSONW_DEPTH);
	for (int i = 0; i < JSONW_DEPTH; i++)
		jsonw_end(&w);
	cr_assert_eq(jsonw_done(&w), 0);
	setup();
	for (int i = 0; i <= JSONW_DEPTH; i++)
		jsonw_array(&w);
	cr_assert_eq(out.len, JSONW_DEPTH);
	cr_assert_eq(jsonw_done(&w), -1);
}

Test(jsonw, not_a_finite_number_is_refused)
{
	jsonw_array(&w);
	jsonw_fixed(&w, 1.0 / 0.0, 0);
	cr_assert_eq(jsonw_done(&w), -1);
	expect("[");
}

Test(jsonw, onto_a_file)
{
	char buf[64] = "";
	FILE *fp = fmemopen(buf, sizeof(buf), "w");

	cr_assert_not_null(fp);
	jsonw_file(&w, fp);
	jsonw_object(&w);
	jsonw_kstr(&w, "a", "b\n");
	jsonw_end(&w);
	jsonw_newline(&w);
	fclose(fp);
	cr_assert_str_eq(buf, "{\"a\":\"b\\u000a\"}\n");
}
