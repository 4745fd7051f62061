/*
 * vix-keyd's pure parts: the key file's parser and writer, key ids and
 * tokens, keyd.conf, the rate limit counted in evaluations, and answers
 * to requests (kserve_answer) without a connection.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "frame.h"
#include "kconf.h"
#include "keyd.h"
#include "keyd.pb-c.h"
#include "keys.h"
#include "oprf.h"
#include "ratelimit.h"

static char dir[] = "/tmp/vix-keyd-unit-XXXXXX";

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_neq(sodium_init(), -1);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
}

TestSuite(keyd, .init = setup, .fini = teardown);

/* A scalar's hex for a key line: k = 1 + i (little-endian), below L. */
static const char *
hex_of(unsigned i, char out[65])
{
	unsigned char k[32] = { 0 };

	k[0] = (unsigned char)(1 + i);
	return sodium_bin2hex(out, 65, k, 32);
}

/* tmpl with K1 and K2 replaced by the two keys' hex. */
static void
with_keys(const char *tmpl, const char *h1, const char *h2, char *out,
    size_t len)
{
	size_t o = 0;

	for (const char *p = tmpl; *p != '\0' && o + 65 < len; p++) {
		if (p[0] == 'K' && (p[1] == '1' || p[1] == '2')) {
			memcpy(out + o, p[1] == '1' ? h1 : h2, 64);
			o += 64;
			p++;
		} else
			out[o++] = *p;
	}
	out[o] = '\0';
}

static int
parse(const char *text, struct keys *ks, struct diag *d)
{
	diag_init(d);
	return keys_parse(text, strlen(text), "k", ks, d);
}

Test(keyd, key_file_lines)
{
	struct keys *ks;
	struct diag d;
	char line[512], h1[65], h2[65];
	int locked;

	cr_assert_not_null(ks = keys_new(&locked));
	snprintf(line, sizeof(line), "# comment\n\n1 %s standby\n7 %s active\n",
	    hex_of(0, h1), hex_of(1, h2));
	cr_assert_eq(parse(line, ks, &d), 0, "%s", d.text);
	cr_assert_eq(ks->n, 2);
	cr_assert_eq(keys_active(ks)->version, 7);
	cr_assert_eq(keys_find(ks, 1)->k[0], 1);
	cr_assert_null(keys_find(ks, 2));
	keys_free(ks);
}

Test(keyd, key_file_refusals_never_show_the_key)
{
	static const char *const bad[] = {
		"1 K1 active\n2 K2 active\n",	/* two active */
		"1 K1 active\n1 K2 standby\n",	/* version twice */
		"0 K1 active\n",			/* version 0 */
		"x K1 active\n",			/* not a number */
		"1 K1 on\n",				/* state */
		"1 K1\n",				/* fields */
		"1 K1 active extra\n",
	};
	struct keys *ks;
	struct diag d;
	char text[512], h1[65], h2[65];
	int locked;

	cr_assert_not_null(ks = keys_new(&locked));
	hex_of(0, h1);
	hex_of(1, h2);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		with_keys(bad[i], h1, h2, text, sizeof(text));
		cr_assert_eq(parse(text, ks, &d), -1, "accepted: case %zu", i);
		cr_assert_null(strstr(d.text, h1), "%s", d.text);
		cr_assert_null(strstr(d.text, h2), "%s", d.text);
	}
	/* Zero, L itself, and hex of the wrong length. */
	cr_assert_eq(parse("1 0000000000000000000000000000000000000000000000000"
	    "000000000000000 active\n", ks, &d), -1);
	cr_assert_eq(parse("1 edd3f55c1a631258d69cf7a2def9de14000000000000000000"
	    "00000000000010 active\n", ks, &d), -1);
	cr_assert_eq(parse("1 0102 active\n", ks, &d), -1);
	cr_assert(strstr(d.text, "k:1: version 1: the key is not") != NULL,
	    "%s", d.text);
	keys_free(ks);
}

Test(keyd, key_id_is_sha512_of_the_public_key)
{
	unsigned char k[32] = { 5 }, pk[32], h[64], id[16];
	crypto_hash_sha512_state st;

	cr_assert_eq(keys_id(k, id), 0);
	cr_assert_eq(crypto_scalarmult_ristretto255_base(pk, k), 0);
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, (const unsigned char *)
	    "vix:oprf-key-id:v1", 18);
	crypto_hash_sha512_update(&st, pk, 32);
	crypto_hash_sha512_final(&st, h);
	cr_assert_eq(memcmp(id, h, 16), 0);
	memset(k, 0, sizeof(k));
	cr_assert_eq(keys_id(k, id), -1);
}

Test(keyd, delta_moves_an_evaluation)
{
	unsigned char k1[32], k2[32], d[32], p[32], n1[32], n2[32], m[32];

	crypto_core_ristretto255_scalar_random(k1);
	crypto_core_ristretto255_scalar_random(k2);
	cr_assert_eq(oprf_hash_to_group((const uint8_t *)"x", 1, p), 0);
	cr_assert_eq(crypto_scalarmult_ristretto255(n1, k1, p), 0);
	cr_assert_eq(crypto_scalarmult_ristretto255(n2, k2, p), 0);
	cr_assert_eq(keys_delta(k1, k2, d), 0);
	cr_assert_eq(crypto_scalarmult_ristretto255(m, d, n1), 0);
	cr_assert_eq(memcmp(m, n2, 32), 0);
}

Test(keyd, save_load_add_remove)
{
	struct keys *ks, *back;
	char path[128], err[256];
	struct diag d;
	struct stat st;
	int locked;

	snprintf(path, sizeof(path), "%s/keys", dir);
	cr_assert_not_null(ks = keys_new(&locked));
	cr_assert_not_null(back = keys_new(&locked));
	cr_assert_not_null(keys_add(ks, 1));
	cr_assert_not_null(keys_add(ks, 0));
	cr_assert_eq(keys_active(ks)->version, 1);
	cr_assert_eq(keys_save(path, ks, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	diag_init(&d);
	cr_assert_eq(keys_load(path, back, &d), 0, "%s", d.text);
	cr_assert_eq(back->n, 2);
	cr_assert_eq(memcmp(back->v[1].k, ks->v[1].k, 32), 0);
	cr_assert_eq(memcmp(back->v[1].id, ks->v[1].id, 16), 0);
	cr_assert_eq(keys_remove(ks, 1), -1, "the active version went");
	cr_assert_eq(keys_activate(ks, 2), 0);
	cr_assert_eq(keys_remove(ks, 1), 0);
	cr_assert_eq(ks->n, 1);
	cr_assert_eq(keys_active(ks)->version, 2);
	/* Group readable: refused with the fix. */
	chmod(path, 0640);
	diag_init(&d);
	cr_assert_eq(keys_load(path, back, &d), -1);
	cr_assert(strstr(d.text, "chmod 600") != NULL, "%s", d.text);
	keys_free(ks);
	keys_free(back);
}

Test(keyd, rate_counts_evaluations)
{
	struct ratelimit *rl = ratelimit_new();
	struct ratelimit_refusal why;
	uint64_t t = 1000000000ULL;

	ratelimit_set(rl, 100, 256);
	cr_assert_eq(ratelimit_take_n(rl, 0, 256, t, &why), 0);
	cr_assert_eq(ratelimit_take_n(rl, 0, 1, t, &why), -1);
	/* 10 ms gives one evaluation back, 50 ms five. */
	cr_assert_eq(ratelimit_take_n(rl, 0, 5, t + 10000000ULL, &why), -1);
	cr_assert_geq(why.retry_ms, 39);
	cr_assert_leq(why.retry_ms, 41);
	cr_assert_eq(ratelimit_take_n(rl, 0, 5, t + 50000000ULL, &why), 0);
	/* Above the burst: never. */
	cr_assert_eq(ratelimit_take_n(rl, 1, 257, t, &why), -1);
	cr_assert_eq(ratelimit_take_n(rl, 1, 256, t, &why), 0);
	ratelimit_free(rl);
}

static void
write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
}

Test(keyd, conf_reports_every_problem)
{
	struct kconf c;
	struct diag d;
	char path[128];

	snprintf(path, sizeof(path), "%s/keyd.conf", dir);
	write_text(path, "[keyd]\nrate = 10\nburst = 5\ncolour = blue\n"
	    "[tls]\nmin_version = 1.1\n[other]\n");
	diag_init(&d);
	cr_assert_eq(kconf_load(&c, path, &d), -1);
	cr_assert(strstr(d.text, ":4: [keyd]: unknown key 'colour'") != NULL,
	    "%s", d.text);
	cr_assert(strstr(d.text, ":6: min_version") != NULL, "%s", d.text);
	cr_assert(strstr(d.text, ":7: unknown section [other]") != NULL,
	    "%s", d.text);
	cr_assert(strstr(d.text, "[keyd] key_file is required") != NULL,
	    "%s", d.text);
	cr_assert(strstr(d.text, "burst 5 is below 256") != NULL, "%s",
	    d.text);
	kconf_free(&c);
	write_text(path, "[keyd]\norgs_file = o\nkey_file = /k\naudit_file = a\n"
	    "[tls]\ncertificate = c\nprivate_key = k\nca_bundle = ca\n");
	diag_init(&d);
	cr_assert_eq(kconf_load(&c, path, &d), 0, "%s", d.text);
	cr_assert_eq(c.burst, 1000);
	cr_assert_str_eq(c.key_file, "/k");
	cr_assert(strstr(c.orgs_file, "/o") != NULL);
	cr_assert_eq(strncmp(c.orgs_file, dir, strlen(dir)), 0);
	kconf_free(&c);
}

/* A struct keyd without a loop: orgs, one key, an audit file. */
static void
make_keyd(struct keyd *k)
{
	char path[128];
	struct diag d;
	int locked;

	memset(k, 0, sizeof(*k));
	snprintf(path, sizeof(path), "%s/orgs.conf", dir);
	write_text(path, "[org a]\noin = 00000009990000000001\nname = A\n"
	    "roles = register\n");
	diag_init(&d);
	cr_assert_not_null(k->orgs = orgs_load(path, &d), "%s", d.text);
	cr_assert_not_null(k->keys = keys_new(&locked));
	cr_assert_not_null(keys_add(k->keys, 1));
	cr_assert_not_null(k->rl = ratelimit_new());
	snprintf(path, sizeof(path), "%s/audit", dir);
	cr_assert_eq(kaudit_open(&k->audit, path, &d), 0);
}

static void
free_keyd(struct keyd *k)
{
	kaudit_close(&k->audit);
	ratelimit_free(k->rl);
	keys_free(k->keys);
	orgs_unref(k->orgs);
}

static Vix__Keyd__V1__KeyResponse *
answer(struct keyd *k, const char *oin, const uint8_t *req, size_t len)
{
	Vix__Keyd__V1__KeyResponse *r;
	size_t outlen, hdr, body;
	uint8_t *out;

	cr_assert_eq(kserve_answer(k, oin, req, len, &out, &outlen), 0);
	cr_assert_eq(frame_decode_header(out, outlen, FRAME_DEFAULT_MAX, &hdr,
	    &body), FRAME_OK);
	cr_assert_eq(hdr + body, outlen);
	r = vix__keyd__v1__key_response__unpack(NULL, body, out + hdr);
	cr_assert_not_null(r);
	free(out);
	return r;
}

Test(keyd, answers_without_a_connection)
{
	Vix__Keyd__V1__KeyRequest req = VIX__KEYD__V1__KEY_REQUEST__INIT;
	Vix__Keyd__V1__Evaluate ev = VIX__KEYD__V1__EVALUATE__INIT;
	Vix__Keyd__V1__KeyResponse *r;
	ProtobufCBinaryData el[1];
	uint8_t buf[256], blind[32], b[32], short_el[31] = { 0 };
	struct keyd k;
	size_t len;

	make_keyd(&k);
	/* Garbage: INVALID_ARGUMENT, not a crash. */
	r = answer(&k, "00000009990000000001", (const uint8_t *)"\xff\xff", 2);
	cr_assert_eq(r->status->code, VIX__V1__STATUS__CODE__INVALID_ARGUMENT);
	vix__keyd__v1__key_response__free_unpacked(r, NULL);
	/* No body. */
	req.id = 9;
	len = vix__keyd__v1__key_request__pack(&req, buf);
	r = answer(&k, "00000009990000000001", buf, len);
	cr_assert_eq(r->id, 9);
	cr_assert_eq(r->status->code, VIX__V1__STATUS__CODE__INVALID_ARGUMENT);
	vix__keyd__v1__key_response__free_unpacked(r, NULL);
	/* An element of 31 bytes is named. */
	el[0] = (ProtobufCBinaryData){ sizeof(short_el), short_el };
	ev.n_blinded = 1;
	ev.blinded = el;
	req.body_case = VIX__KEYD__V1__KEY_REQUEST__BODY_EVALUATE;
	req.evaluate = &ev;
	len = vix__keyd__v1__key_request__pack(&req, buf);
	r = answer(&k, "00000009990000000001", buf, len);
	cr_assert_eq(r->status->code, VIX__V1__STATUS__CODE__INVALID_ARGUMENT);
	cr_assert(strstr(r->status->message, "blinded[0]") != NULL);
	vix__keyd__v1__key_response__free_unpacked(r, NULL);
	/* A good one, and the same from an unknown OIN. */
	cr_assert_eq(oprf_blind((const uint8_t *)"x", 1, NULL, blind, b), 0);
	el[0] = (ProtobufCBinaryData){ 32, b };
	len = vix__keyd__v1__key_request__pack(&req, buf);
	r = answer(&k, "00000009990000000001", buf, len);
	cr_assert_eq(r->status->code, 0, "%s", r->status->message);
	cr_assert_eq(r->evaluate->n_evaluated, 1);
	cr_assert_eq(r->evaluate->key_version, 1);
	vix__keyd__v1__key_response__free_unpacked(r, NULL);
	r = answer(&k, "00000009990000000077", buf, len);
	cr_assert_eq(r->status->code, VIX__V1__STATUS__CODE__UNAUTHENTICATED);
	vix__keyd__v1__key_response__free_unpacked(r, NULL);
	free_keyd(&k);
}
