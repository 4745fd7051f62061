/*
 * OPRF(ristretto255, SHA-512) against RFC 9497's own test vectors
 * (appendix A.1.1, base mode: DeriveKeyPair, Blind with the given blind,
 * BlindEvaluate, Finalize, both vectors), expand_message_xmd(SHA-512)
 * against RFC 9380's (appendix K.3), and the refusals the RFC asks for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "oprf.h"

/* Hex to bytes; asserts the length. */
static void
unhex(const char *hex, uint8_t *out, size_t len)
{
	cr_assert_eq(strlen(hex), 2 * len, "test vector length");
	for (size_t i = 0; i < len; i++) {
		unsigned v;

		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void
assert_hex(const uint8_t *got, const char *want, const char *what)
{
	uint8_t w[256];
	size_t n = strlen(want) / 2;

	unhex(want, w, n);
	cr_assert_eq(memcmp(got, w, n), 0, "%s differs from the RFC", what);
}

/* RFC 9380, K.3: DST, messages (q128_ and a512_ are a prefix and 128 or
   512 repetitions of its first letter), lengths, uniform bytes. */
#define XMD_DST	"QUUX-V01-CS02-with-expander-SHA512-256"

static const struct {
	const char	*msg;		/* or a prefix to repeat */
	size_t		 repeat;
	size_t		 len;
	const char	*uniform;
} xmd[] = {
	{ "", 0, 32,
	    "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba" },
	{ "abc", 0, 32,
	    "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc" },
	{ "abcdef0123456789", 0, 32,
	    "087e45a86e2939ee8b91100af1583c4938e0f5fc6c9db4b107b83346bc967f58" },
	{ "q128_", 128, 32,
	    "7336234ee9983902440f6bc35b348352013becd88938d2afec44311caf8356b3" },
	{ "a512_", 512, 32,
	    "57b5f7e766d5be68a6bfe1768e3c2b7f1228b3e4b3134956dd73a59b954c66f4" },
	{ "", 0, 128,
	    "41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921"
	    "b052b62eaed99b46f72f2ef4cc96bfaf254ebbbec091e1a3b9e4fb5e5b619d2e"
	    "0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842cf5d13d7e"
	    "b00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961" },
	{ "abc", 0, 128,
	    "7f1dddd13c08b543f2e2037b14cefb255b44c83cc397c1786d975653e36a6b11"
	    "bdd7732d8b38adb4a0edc26a0cef4bb45217135456e58fbca1703cd6032cb134"
	    "7ee720b87972d63fbf232587043ed2901bce7f22610c0419751c065922b48843"
	    "1851041310ad659e4b23520e1772ab29dcdeb2002222a363f0c2b1c972b3efe1" },
	{ "abcdef0123456789", 0, 128,
	    "3f721f208e6199fe903545abc26c837ce59ac6fa45733f1baaf0222f8b7acb04"
	    "24814fcb5eecf6c1d38f06e9d0a6ccfbf85ae612ab8735dfdf9ce84c372a77c8"
	    "f9e1c1e952c3a61b7567dd0693016af51d2745822663d0c2367e3f4f0bed827f"
	    "eecc2aaf98c949b5ed0d35c3f1023d64ad1407924288d366ea159f46287e61ac" },
	{ "q128_", 128, 128,
	    "b799b045a58c8d2b4334cf54b78260b45eec544f9f2fb5bd12fb603eaee70db7"
	    "317bf807c406e26373922b7b8920fa29142703dd52bdf280084fb7ef69da78af"
	    "df80b3586395b433dc66cde048a258e476a561e9deba7060af40adf30c64249c"
	    "a7ddea79806ee5beb9a1422949471d267b21bc88e688e4014087a0b592b695ed" },
	{ "a512_", 512, 128,
	    "05b0bfef265dcee87654372777b7c44177e2ae4c13a27f103340d9cd11c86cb2"
	    "426ffcad5bd964080c2aee97f03be1ca18e30a1f14e27bc11ebbd650f305269c"
	    "c9fb1db08bf90bfc79b42a952b46daf810359e7bc36452684784a64952c343c5"
	    "2e5124cd1f71d474d5197fefc571a92929c9084ffe1112cf5eea5192ebff330b" },
};

Test(oprf, expand_message_xmd_sha512_rfc9380_k3)
{
	for (size_t i = 0; i < sizeof(xmd) / sizeof(xmd[0]); i++) {
		char msg[600];
		uint8_t out[128];
		size_t n = strlen(xmd[i].msg);

		memcpy(msg, xmd[i].msg, n);
		for (size_t k = 0; k < xmd[i].repeat; k++)
			msg[n++] = xmd[i].msg[0];
		cr_assert_eq(oprf_expand_xmd_sha512((const uint8_t *)msg, n,
		    (const uint8_t *)XMD_DST, strlen(XMD_DST), out,
		    xmd[i].len), 0);
		assert_hex(out, xmd[i].uniform, "uniform_bytes");
	}
}

/* RFC 9497, A.1.1: OPRF(ristretto255, SHA-512), base mode. */
#define SEED	"a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3"
#define KEYINFO	"74657374206b6579"	/* "test key" */
#define SKSM	"5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e"

static const struct {
	const char	*input, *blind, *blinded, *evaluated, *output;
} vec[] = {
	{ "00",
	  "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706",
	  "609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c",
	  "7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2d8cc917ea0869c7e",
	  "527759c3d9366f277d8c6020418d96bb393ba2afb20ff90df23fb7708264e2f3"
	  "ab9135e3bd69955851de4b1f9fe8a0973396719b7912ba9ee8aa7d0b5e24bcf6" },
	{ "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
	  "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706",
	  "da27ef466870f5f15296299850aa088629945a17d1f5b7f5ff043f76b3c06418",
	  "b4cbf5a4f1eeda5a63ce7b77c7d23f461db3fcab0dd28e4e17cecb5c90d02c25",
	  "f4a74c9c592497375e796aa837e907b1a045d34306a749db9f34221f7e750cb4"
	  "f2a6413a6bf6fa5e19ba6348eb673934a722a7ede2e7621306d18951e7cf2c73" },
};

Test(oprf, derive_blind_evaluate_finalize_rfc9497_a11)
{
	uint8_t seed[OPRF_SEED_LEN], info[8], sk[32], pk[32];

	unhex(SEED, seed, sizeof(seed));
	unhex(KEYINFO, info, sizeof(info));
	cr_assert_eq(oprf_derive_key_pair(seed, info, sizeof(info), sk, pk),
	    0);
	assert_hex(sk, SKSM, "skSm");
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		uint8_t input[32], given[32], blind[32], blinded[32];
		uint8_t evaluated[32], out[OPRF_OUTPUT_LEN];
		size_t n = strlen(vec[i].input) / 2;

		unhex(vec[i].input, input, n);
		unhex(vec[i].blind, given, sizeof(given));
		cr_assert_eq(oprf_blind(input, n, given, blind, blinded), 0);
		assert_hex(blinded, vec[i].blinded, "BlindedElement");
		cr_assert_eq(oprf_blind_evaluate(sk, blinded, evaluated), 0);
		assert_hex(evaluated, vec[i].evaluated, "EvaluationElement");
		cr_assert_eq(oprf_finalize(input, n, blind, evaluated, out), 0);
		assert_hex(out, vec[i].output, "Output");
	}
}

/* A random blind gives another blinded element and the same output. */
Test(oprf, a_random_blind_hides_the_input_and_keeps_the_output)
{
	uint8_t sk[32], pk[32], seed[OPRF_SEED_LEN] = { 1 };
	uint8_t b1[32], e1[32], v1[32], o1[64], b2[32], e2[32], v2[32], o2[64];
	const uint8_t input[] = "NL:bsn:999990019";

	cr_assert_eq(oprf_derive_key_pair(seed, NULL, 0, sk, pk), 0);
	cr_assert_eq(oprf_blind(input, sizeof(input) - 1, NULL, b1, e1), 0);
	cr_assert_eq(oprf_blind(input, sizeof(input) - 1, NULL, b2, e2), 0);
	cr_assert_neq(memcmp(e1, e2, 32), 0, "two blindings look alike");
	cr_assert_eq(oprf_blind_evaluate(sk, e1, v1), 0);
	cr_assert_eq(oprf_blind_evaluate(sk, e2, v2), 0);
	cr_assert_eq(oprf_finalize(input, sizeof(input) - 1, b1, v1, o1), 0);
	cr_assert_eq(oprf_finalize(input, sizeof(input) - 1, b2, v2, o2), 0);
	cr_assert_eq(memcmp(o1, o2, 64), 0, "the output depends on the blind");
}

/* Invalid or identity elements and a zero scalar are refused. */
Test(oprf, invalid_and_identity_elements_are_refused)
{
	uint8_t sk[32], pk[32], seed[OPRF_SEED_LEN] = { 2 }, out[64];
	uint8_t identity[32] = { 0 }, bad[32], v[32], blind[32] = { 1 };

	cr_assert_eq(oprf_derive_key_pair(seed, NULL, 0, sk, pk), 0);
	memset(bad, 0xff, sizeof(bad));		/* not canonical */
	cr_assert_eq(oprf_blind_evaluate(sk, identity, v), -1);
	cr_assert_eq(oprf_blind_evaluate(sk, bad, v), -1);
	cr_assert_eq(oprf_finalize((const uint8_t *)"x", 1, blind, identity,
	    out), -1);
	cr_assert_eq(oprf_finalize((const uint8_t *)"x", 1, blind, bad, out),
	    -1);
	memset(blind, 0, sizeof(blind));
	cr_assert_eq(oprf_blind((const uint8_t *)"x", 1, blind, blind, v), -1,
	    "a zero blind");
	cr_assert_eq(oprf_blind_evaluate(blind, pk, v), -1, "a zero key");
}
