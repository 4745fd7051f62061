/*
 * A BSN's blind pseudonym (docs/pseudonyms.md), as libvix and vixctl make
 * it: check it with the 11-test, blind its canonical encoding ("NL:bsn:"
 * and the nine digits), have the key holder evaluate it, unblind. Only the
 * blinded element leaves; the BSN and the blind are wiped here.
 */
#ifndef VIX_BLINDBSN_H
#define VIX_BLINDBSN_H

#include <stddef.h>
#include <stdint.h>

#include "keyclient.h"

#define BLINDBSN_ELEMENT_LEN	32
#define BLINDBSN_KEY_ID_LEN	16

enum blindbsn_result {
	BLINDBSN_OK = 0,
	BLINDBSN_INVALID = -1,	/* not a BSN: why says which rule */
	BLINDBSN_HOLDER = -2,	/* the key holder refused (*code) or failed */
	BLINDBSN_FAILED = -3,	/* blinding, or its answer, failed */
};

enum blindbsn_result blindbsn(struct keyclient *, const char *bsn,
	    uint8_t element[BLINDBSN_ELEMENT_LEN], uint32_t *version,
	    uint8_t key_id[BLINDBSN_KEY_ID_LEN], int *code, char *why,
	    size_t len);

#endif
