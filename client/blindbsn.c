/* A BSN's blind pseudonym, made with the key holder. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "blindbsn.h"
#include "oprf.h"
#include "rules.h"

#define BSN_INPUT_PREFIX	"NL:bsn:"
#define BSN_INPUT_LEN		(sizeof(BSN_INPUT_PREFIX) - 1 + 9)

enum blindbsn_result
blindbsn(struct keyclient *kc, const char *bsn,
    uint8_t element[BLINDBSN_ELEMENT_LEN], uint32_t *version,
    uint8_t key_id[BLINDBSN_KEY_ID_LEN], int *code, char *why, size_t len)
{
	uint8_t input[BSN_INPUT_LEN], r[OPRF_SCALAR_LEN],
	    blinded[1][OPRF_ELEMENT_LEN], evaluated[1][OPRF_ELEMENT_LEN];
	enum bsn_error be;
	enum blindbsn_result rc = BLINDBSN_OK;

	*code = 0;
	if ((be = rules_check_bsn(bsn, strlen(bsn))) != BSN_OK) {
		snprintf(why, len, "%s", rules_bsn_strerror(be));
		return BLINDBSN_INVALID;
	}
	memcpy(input, BSN_INPUT_PREFIX, sizeof(BSN_INPUT_PREFIX) - 1);
	memcpy(input + sizeof(BSN_INPUT_PREFIX) - 1, bsn, 9);
	if (oprf_blind(input, sizeof(input), NULL, r, blinded[0]) != 0) {
		snprintf(why, len, "cannot blind the BSN");
		rc = BLINDBSN_FAILED;
	} else if (keyclient_evaluate(kc, 1,
	    (const unsigned char (*)[32])blinded, evaluated, version, key_id,
	    code, why, len) != 0)
		rc = BLINDBSN_HOLDER;
	else if (oprf_unblind(r, evaluated[0], element) != 0) {
		snprintf(why, len, "the key holder answered with an invalid "
		    "element");
		rc = BLINDBSN_FAILED;
	}
	sodium_memzero(input, sizeof(input));
	sodium_memzero(r, sizeof(r));
	return rc;
}
