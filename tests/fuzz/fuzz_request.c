/*
 * Fuzz target: bytes from the network. The framing decoder, then the
 * budgeted unpacking of a vix.v1.Request, then the field checks a handler
 * applies to each request type.
 */
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "rules.h"
#include "vix.pb-c.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_register(const Vix__V1__Register *r)
{
	const char *why;
	struct expiry exp;
	int32_t birth;

	if (r->bsn != NULL)
		(void)rules_check_bsn(r->bsn, strlen(r->bsn));
	if (rules_parse_date(r->birth_date, &birth) == 0)
		(void)rules_expiry(&zone_calendar, 1795000000, birth,
		    r->duration_days, 730, 23, &exp, &why);
	if (r->contact != NULL)
		(void)rules_check_contact(r->contact->name, r->contact->phone,
		    r->contact->email, &why);
	(void)rules_check_client_ref(r->client_ref, &why);
	(void)rules_check_municipality(r->municipality, &why);
}

static void
check_request(const Vix__V1__Request *req)
{
	switch (req->body_case) {
	case VIX__V1__REQUEST__BODY_REGISTER:
		check_register(req->register_);
		break;
	case VIX__V1__REQUEST__BODY_WITHDRAW:
		if (req->withdraw->bsn != NULL)
			(void)rules_check_bsn(req->withdraw->bsn,
			    strlen(req->withdraw->bsn));
		break;
	case VIX__V1__REQUEST__BODY_INVOLVED:
		if (req->involved->bsn != NULL)
			(void)rules_check_bsn(req->involved->bsn,
			    strlen(req->involved->bsn));
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0, hlen, blen;

	/* As many frames as the bytes hold, like one read of a connection. */
	while (off < size) {
		struct frame_budget b;
		Vix__V1__Request *req;
		enum frame_result r = frame_decode_header(data + off,
		    size - off, FRAME_DEFAULT_MAX, &hlen, &blen);

		if (r != FRAME_OK || size - off - hlen < blen)
			break;
		frame_budget_init(&b, 4 * FRAME_DEFAULT_MAX + 4096);
		req = (Vix__V1__Request *)frame_unpack(
		    &vix__v1__request__descriptor, &b, data + off + hlen, blen);
		if (req != NULL) {
			check_request(req);
			frame_free_unpacked(&req->base, &b);
		}
		if (b.used != 0)
			__builtin_trap();	/* the budget must balance */
		off += hlen + blen;
	}
	return 0;
}
