/*
 * The framing codec: varint length prefixes, split reads, limits, and
 * bounded decoding of untrusted protobuf.
 *
 * Buffers handed to the decoder are copied to allocations of exactly their
 * length, so that a read past the end shows up under AddressSanitizer.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "frame.h"
#include "support.h"
#include "vix.pb-c.h"

/* A copy of buf in an allocation of exactly len bytes. */
static uint8_t *
exact_copy(const uint8_t *buf, size_t len)
{
	uint8_t *p = malloc(len > 0 ? len : 1);

	cr_assert_not_null(p);
	if (len > 0)
		memcpy(p, buf, len);
	return p;
}

static enum frame_result
decode(const uint8_t *buf, size_t len, size_t max_frame, size_t *header,
    size_t *body)
{
	uint8_t *copy = exact_copy(buf, len);
	enum frame_result r;

	r = frame_decode_header(copy, len, max_frame, header, body);
	free(copy);
	return r;
}

/* ---- length prefixes ---- */

struct prefix_case {
	uint32_t	len;
	size_t		size;
	uint8_t		bytes[FRAME_HEADER_MAX];
};

static const struct prefix_case prefix_cases[] = {
	{ 0,		1, { 0x00 } },
	{ 1,		1, { 0x01 } },
	{ 127,		1, { 0x7f } },
	{ 128,		2, { 0x80, 0x01 } },
	{ 300,		2, { 0xac, 0x02 } },
	{ 16383,	2, { 0xff, 0x7f } },
	{ 16384,	3, { 0x80, 0x80, 0x01 } },
	{ 2097151,	3, { 0xff, 0xff, 0x7f } },
	{ 2097152,	4, { 0x80, 0x80, 0x80, 0x01 } },
	{ 268435455,	4, { 0xff, 0xff, 0xff, 0x7f } },
	{ 268435456,	5, { 0x80, 0x80, 0x80, 0x80, 0x01 } },
	{ UINT32_MAX,	5, { 0xff, 0xff, 0xff, 0xff, 0x0f } },
};

Test(prefix, encodes_exact_bytes)
{
	for (size_t i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]);
	    i++) {
		const struct prefix_case *c = &prefix_cases[i];
		uint8_t out[FRAME_HEADER_MAX];
		size_t n;

		memset(out, 0xaa, sizeof(out));
		n = frame_encode_header(out, c->len);
		cr_assert_eq(n, c->size, "length %u: prefix of %zu bytes, "
		    "expected %zu", c->len, n, c->size);
		cr_assert_arr_eq(out, c->bytes, n, "length %u: wrong bytes",
		    c->len);
	}
}

Test(prefix, round_trips)
{
	for (size_t i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]);
	    i++) {
		const struct prefix_case *c = &prefix_cases[i];
		uint8_t out[FRAME_HEADER_MAX];
		size_t n = frame_encode_header(out, c->len), header = 0,
		    body = 0;

		cr_assert_eq(decode(out, n, SIZE_MAX, &header, &body),
		    FRAME_OK, "length %u", c->len);
		cr_assert_eq(header, n, "length %u: header %zu", c->len,
		    header);
		cr_assert_eq(body, c->len, "length %u: decoded %zu", c->len,
		    body);
	}
}

Test(prefix, ignores_bytes_after_the_prefix)
{
	const uint8_t buf[] = { 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t header = 0, body = 0;

	cr_assert_eq(decode(buf, sizeof(buf), FRAME_DEFAULT_MAX, &header,
	    &body), FRAME_OK);
	cr_assert_eq(header, 2);
	cr_assert_eq(body, 300);
}

Test(prefix, every_truncation_needs_more)
{
	for (size_t i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]);
	    i++) {
		const struct prefix_case *c = &prefix_cases[i];
		size_t header, body;

		for (size_t cut = 0; cut < c->size; cut++)
			cr_assert_eq(decode(c->bytes, cut, SIZE_MAX, &header,
			    &body), FRAME_NEED_MORE, "length %u cut at %zu",
			    c->len, cut);
	}
}

Test(prefix, truncated_varint_needs_more)
{
	const uint8_t one[] = { 0x80 }, two[] = { 0x80, 0x80 },
	    four[] = { 0xff, 0xff, 0xff, 0xff };
	size_t header, body;

	cr_assert_eq(decode(one, 0, FRAME_DEFAULT_MAX, &header, &body),
	    FRAME_NEED_MORE);
	cr_assert_eq(decode(one, sizeof(one), FRAME_DEFAULT_MAX, &header,
	    &body), FRAME_NEED_MORE);
	cr_assert_eq(decode(two, sizeof(two), FRAME_DEFAULT_MAX, &header,
	    &body), FRAME_NEED_MORE);
	cr_assert_eq(decode(four, sizeof(four), FRAME_DEFAULT_MAX, &header,
	    &body), FRAME_NEED_MORE);
}

Test(prefix, overlong_varint_is_malformed)
{
	const uint8_t five_cont[] = { 0x80, 0x80, 0x80, 0x80, 0x80 },
	    six[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 },
	    two_pow_32[] = { 0x80, 0x80, 0x80, 0x80, 0x10 },
	    high_bits[] = { 0xff, 0xff, 0xff, 0xff, 0x7f },
	    all_ff[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t header, body;

	cr_assert_eq(decode(five_cont, sizeof(five_cont), SIZE_MAX, &header,
	    &body), FRAME_ERR_VARINT);
	cr_assert_eq(decode(six, sizeof(six), SIZE_MAX, &header, &body),
	    FRAME_ERR_VARINT);
	cr_assert_eq(decode(two_pow_32, sizeof(two_pow_32), SIZE_MAX, &header,
	    &body), FRAME_ERR_VARINT);
	cr_assert_eq(decode(high_bits, sizeof(high_bits), SIZE_MAX, &header,
	    &body), FRAME_ERR_VARINT);
	cr_assert_eq(decode(all_ff, sizeof(all_ff), SIZE_MAX, &header,
	    &body), FRAME_ERR_VARINT);
}

Test(prefix, above_max_frame_is_too_large_and_names_the_size)
{
	uint8_t out[FRAME_HEADER_MAX];
	size_t n, header, body;

	n = frame_encode_header(out, 1024);
	cr_assert_eq(decode(out, n, 1024, &header, &body), FRAME_OK);
	cr_assert_eq(body, 1024);

	n = frame_encode_header(out, 1025);
	header = body = 0;
	cr_assert_eq(decode(out, n, 1024, &header, &body),
	    FRAME_ERR_TOO_LARGE);
	cr_assert_eq(header, 2);
	cr_assert_eq(body, 1025);

	n = frame_encode_header(out, UINT32_MAX);
	header = body = 0;
	cr_assert_eq(decode(out, n, FRAME_DEFAULT_MAX, &header, &body),
	    FRAME_ERR_TOO_LARGE);
	cr_assert_eq(header, 5);
	cr_assert_eq(body, UINT32_MAX);

	n = frame_encode_header(out, FRAME_DEFAULT_MAX + 1);
	cr_assert_eq(decode(out, n, FRAME_DEFAULT_MAX, &header, &body),
	    FRAME_ERR_TOO_LARGE);
	cr_assert_eq(body, FRAME_DEFAULT_MAX + 1);
}

Test(prefix, strerror_names_each_result)
{
	const enum frame_result all[] = { FRAME_OK, FRAME_NEED_MORE,
	    FRAME_ERR_TOO_LARGE, FRAME_ERR_VARINT };

	for (size_t i = 0; i < 4; i++) {
		cr_assert_not_null(frame_strerror(all[i]));
		cr_assert_gt(strlen(frame_strerror(all[i])), 0);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(frame_strerror(all[i]),
			    frame_strerror(all[j]));
	}
}

/* ---- packing ---- */

Test(pack, request_has_exact_bytes)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ping ping = VIX__V1__PING__INIT;
	const uint8_t want[] = { 0x05, 0x08, 0xac, 0x02, 0x52, 0x00 };
	uint8_t out[sizeof(want) + 4];

	req.id = 300;
	req.body_case = VIX__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	cr_assert_eq(frame_packed_size(&req.base), sizeof(want));
	memset(out, 0xaa, sizeof(out));
	cr_assert_eq(frame_pack(&req.base, out), sizeof(want));
	cr_assert_arr_eq(out, want, sizeof(want));
	cr_assert_eq(out[sizeof(want)], 0xaa, "wrote past the frame");
}

Test(pack, empty_request_is_one_zero_byte)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	uint8_t out[4] = { 0xaa, 0xaa, 0xaa, 0xaa };

	cr_assert_eq(frame_packed_size(&req.base), 1);
	cr_assert_eq(frame_pack(&req.base, out), 1);
	cr_assert_eq(out[0], 0x00);
	cr_assert_eq(out[1], 0xaa);
}

/* ---- a stream of several frames ---- */

enum kind { KIND_REQUEST, KIND_SERVER };

struct frame_info {
	enum kind	kind;
	uint64_t	id;
	int		ping;
	size_t		msg_len;	/* status message length, KIND_SERVER */
	size_t		offset, header, body;	/* filled by build_stream */
};

#define STREAM_FRAMES	5

static struct frame_info stream_frames[STREAM_FRAMES] = {
	{ KIND_REQUEST, 1, 1, 0, 0, 0, 0 },
	{ KIND_REQUEST, 0, 0, 0, 0, 0, 0 },		/* zero-length */
	{ KIND_SERVER, 7, 0, 300, 0, 0, 0 },		/* two-byte prefix */
	{ KIND_REQUEST, UINT64_MAX, 1, 0, 0, 0, 0 },
	{ KIND_SERVER, 8, 0, 20000, 0, 0, 0 },	/* three-byte prefix */
};

static char *
status_text(size_t len, char c)
{
	char *s = malloc(len + 1);

	cr_assert_not_null(s);
	memset(s, c, len);
	s[len] = '\0';
	return s;
}

static size_t
pack_one(struct frame_info *f, uint8_t *out)
{
	Vix__V1__Request req = VIX__V1__REQUEST__INIT;
	Vix__V1__Ping ping = VIX__V1__PING__INIT;
	Vix__V1__ServerMessage sm = VIX__V1__SERVER_MESSAGE__INIT;
	Vix__V1__Response resp = VIX__V1__RESPONSE__INIT;
	Vix__V1__Status st = VIX__V1__STATUS__INIT;
	ProtobufCMessage *m;
	size_t n;

	if (f->kind == KIND_REQUEST) {
		req.id = f->id;
		if (f->ping) {
			req.body_case = VIX__V1__REQUEST__BODY_PING;
			req.ping = &ping;
		}
		m = &req.base;
	} else {
		st.code = VIX__V1__STATUS__CODE__INVALID_ARGUMENT;
		st.message = status_text(f->msg_len, 'm');
		resp.id = f->id;
		resp.status = &st;
		sm.msg_case = VIX__V1__SERVER_MESSAGE__MSG_RESPONSE;
		sm.response = &resp;
		m = &sm.base;
	}
	f->body = protobuf_c_message_get_packed_size(m);
	f->header = frame_packed_size(m) - f->body;
	n = out != NULL ? frame_pack(m, out) : f->header + f->body;
	if (f->kind == KIND_SERVER)
		free(st.message);
	return n;
}

/* Pack every stream frame; returns the buffer and its length in *len. */
static uint8_t *
build_stream(size_t *len)
{
	size_t total = 0, off = 0;
	uint8_t *buf;

	for (size_t i = 0; i < STREAM_FRAMES; i++)
		total += pack_one(&stream_frames[i], NULL);
	buf = malloc(total);
	cr_assert_not_null(buf);
	for (size_t i = 0; i < STREAM_FRAMES; i++) {
		stream_frames[i].offset = off;
		off += pack_one(&stream_frames[i], buf + off);
	}
	cr_assert_eq(off, total);
	cr_assert_eq(stream_frames[1].body, 0);
	cr_assert_eq(stream_frames[2].header, 2);
	cr_assert_eq(stream_frames[4].header, 3);
	*len = total;
	return buf;
}

/* Unpack a body and check it is the message stream_frames[i] describes. */
static void
check_body(size_t i, const uint8_t *body, size_t len)
{
	const struct frame_info *f = &stream_frames[i];
	struct frame_budget b;
	ProtobufCMessage *m;

	frame_budget_init(&b, FRAME_DEFAULT_MAX * 2);
	if (f->kind == KIND_REQUEST) {
		Vix__V1__Request *req;

		m = frame_unpack(&vix__v1__request__descriptor, &b, body, len);
		cr_assert_not_null(m, "frame %zu does not unpack", i);
		req = (Vix__V1__Request *)m;
		cr_assert_eq(req->id, f->id, "frame %zu: id", i);
		cr_assert_eq(req->body_case, f->ping ?
		    VIX__V1__REQUEST__BODY_PING :
		    VIX__V1__REQUEST__BODY__NOT_SET, "frame %zu: body", i);
	} else {
		Vix__V1__ServerMessage *sm;
		char *want = status_text(f->msg_len, 'm');

		m = frame_unpack(&vix__v1__server_message__descriptor, &b,
		    body, len);
		cr_assert_not_null(m, "frame %zu does not unpack", i);
		sm = (Vix__V1__ServerMessage *)m;
		cr_assert_eq(sm->msg_case,
		    VIX__V1__SERVER_MESSAGE__MSG_RESPONSE);
		cr_assert_eq(sm->response->id, f->id);
		cr_assert_eq(sm->response->status->code,
		    VIX__V1__STATUS__CODE__INVALID_ARGUMENT);
		cr_assert_str_eq(sm->response->status->message, want);
		free(want);
	}
	frame_free_unpacked(m, &b);
	cr_assert_eq(b.used, 0, "frame %zu: budget not returned", i);
}

/*
 * A reader that has received the first len bytes of the stream: consume
 * every frame that is complete, checking the decoder's answer for the first
 * one that is not. *next is the index of the next frame expected, *done the
 * bytes consumed so far.
 */
static void
consume(const uint8_t *stream, size_t len, size_t *next, size_t *done)
{
	for (;;) {
		const struct frame_info *f;
		size_t have = len - *done, header = 0, body = 0;
		uint8_t *copy;
		enum frame_result r;

		if (*next == STREAM_FRAMES) {
			cr_assert_eq(have, 0, "bytes after the last frame");
			return;
		}
		f = &stream_frames[*next];
		cr_assert_eq(*done, f->offset, "frame %zu starts at %zu, "
		    "reader is at %zu", *next, f->offset, *done);
		copy = exact_copy(stream + *done, have);
		r = frame_decode_header(copy, have, FRAME_DEFAULT_MAX, &header,
		    &body);
		if (have < f->header) {
			free(copy);
			cr_assert_eq(r, FRAME_NEED_MORE, "frame %zu with %zu "
			    "of %zu prefix bytes: %d", *next, have, f->header,
			    r);
			return;
		}
		cr_assert_eq(r, FRAME_OK, "frame %zu with %zu bytes: %d",
		    *next, have, r);
		cr_assert_eq(header, f->header, "frame %zu: header", *next);
		cr_assert_eq(body, f->body, "frame %zu: body", *next);
		if (have - header < body) {
			free(copy);
			return;
		}
		check_body(*next, copy + header, body);
		free(copy);
		*done += header + body;
		(*next)++;
	}
}

Test(stream, frames_complete_exactly_when_their_last_byte_arrives)
{
	size_t total, next = 0, done = 0;
	uint8_t *stream = build_stream(&total);

	for (size_t len = 0; len <= total; len++) {
		size_t before = next;

		consume(stream, len, &next, &done);
		for (size_t i = before; i < next; i++) {
			const struct frame_info *f = &stream_frames[i];

			/* A frame ends where the bytes so far end. */
			cr_assert_eq(f->offset + f->header + f->body, len,
			    "frame %zu completed at %zu bytes", i, len);
		}
	}
	cr_assert_eq(next, STREAM_FRAMES);
	cr_assert_eq(done, total);
	free(stream);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(stream, split_into_two_reads_at_every_boundary)
{
	size_t total;
	uint8_t *stream = build_stream(&total);

	for (size_t cut = 0; cut <= total; cut++) {
		size_t next = 0, done = 0, expect = 0;

		consume(stream, cut, &next, &done);
		while (expect < STREAM_FRAMES &&
		    stream_frames[expect].offset + stream_frames[expect].header +
		    stream_frames[expect].body <= cut)
			expect++;
		cr_assert_eq(next, expect, "cut at %zu: %zu frames", cut,
		    next);
		consume(stream, total, &next, &done);
		cr_assert_eq(next, STREAM_FRAMES, "cut at %zu", cut);
		cr_assert_eq(done, total, "cut at %zu", cut);
	}
	free(stream);
}

Test(stream, several_frames_in_one_buffer)
{
	size_t total, next = 0, done = 0;
	uint8_t *stream = build_stream(&total);

	consume(stream, total, &next, &done);
	cr_assert_eq(next, STREAM_FRAMES);
	cr_assert_eq(done, total);
	free(stream);
}

/* ---- bounded decoding ---- */

Test(unpack, zero_length_frame_is_an_empty_request)
{
	const uint8_t buf[] = { 0x00 };
	struct frame_budget b;
	Vix__V1__Request *req;
	size_t header = 9, body = 9;
	uint8_t *copy;

	cr_assert_eq(decode(buf, sizeof(buf), FRAME_DEFAULT_MAX, &header,
	    &body), FRAME_OK);
	cr_assert_eq(header, 1);
	cr_assert_eq(body, 0);

	frame_budget_init(&b, 4096);
	copy = exact_copy(buf + header, body);
	req = (Vix__V1__Request *)frame_unpack(&vix__v1__request__descriptor,
	    &b, copy, body);
	free(copy);
	cr_assert_not_null(req);
	cr_assert_eq(req->id, 0);
	cr_assert_eq(req->body_case, VIX__V1__REQUEST__BODY__NOT_SET);
	cr_assert_eq(req->base.n_unknown_fields, 0);
	frame_free_unpacked(&req->base, &b);
	cr_assert_eq(b.used, 0);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

struct garbage {
	const char	*what;
	size_t		 len;
	uint8_t		 bytes[8];
};

static const struct garbage garbage[] = {
	{ "field number 0", 2, { 0x00, 0x01 } },
	{ "wire type 7", 2, { 0x0f, 0x01 } },
	{ "truncated id varint", 2, { 0x08, 0x80 } },
	{ "truncated tag", 1, { 0x80 } },
	{ "ping longer than the buffer", 3, { 0x52, 0x05, 0x00 } },
	{ "eleven-byte varint", 8,
	    { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
	{ "all ones", 4, { 0xff, 0xff, 0xff, 0xff } },
	{ "unknown group never ended", 2, { 0x0b, 0x00 } },
};

Test(unpack, garbage_is_refused_and_returns_its_memory)
{
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		struct frame_budget b;
		uint8_t *copy = exact_copy(garbage[i].bytes, garbage[i].len);
		ProtobufCMessage *m;

		frame_budget_init(&b, 65536);
		m = frame_unpack(&vix__v1__request__descriptor, &b, copy,
		    garbage[i].len);
		free(copy);
		cr_assert_null(m, "%s: decoded", garbage[i].what);
		cr_assert_eq(b.used, 0, "%s: %zu bytes still counted",
		    garbage[i].what, b.used);
	}
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

/* A Request whose body is n unknown varint fields (field 100 = 1). */
static uint8_t *
unknown_fields(size_t n, size_t *len)
{
	uint8_t *buf = malloc(n * 3);

	cr_assert_not_null(buf);
	for (size_t i = 0; i < n; i++) {
		buf[3 * i] = 0xa0;	/* (100 << 3) | 0, as a varint */
		buf[3 * i + 1] = 0x06;
		buf[3 * i + 2] = 0x01;
	}
	*len = n * 3;
	return buf;
}

Test(budget, refuses_many_unknown_fields_under_a_small_limit)
{
	struct frame_budget b;
	ProtobufCMessage *m;
	size_t len;
	uint8_t *buf = unknown_fields(2000, &len);

	frame_budget_init(&b, 4096);
	m = frame_unpack(&vix__v1__request__descriptor, &b, buf, len);
	cr_assert_null(m);
	cr_assert_eq(b.used, 0);

	frame_budget_init(&b, 1024 * 1024);
	m = frame_unpack(&vix__v1__request__descriptor, &b, buf, len);
	cr_assert_not_null(m);
	cr_assert_eq(m->n_unknown_fields, 2000);
	cr_assert_gt(b.used, 2000 * sizeof(ProtobufCMessageUnknownField));
	cr_assert_leq(b.used, b.limit);
	frame_free_unpacked(m, &b);
	cr_assert_eq(b.used, 0);
	free(buf);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(budget, refuses_a_large_string_under_a_small_limit)
{
	struct frame_info f = { KIND_SERVER, 5, 0, 20000, 0, 0, 0 };
	struct frame_budget b;
	ProtobufCMessage *m;
	uint8_t *buf;
	size_t n;

	n = pack_one(&f, NULL);
	buf = malloc(n);
	cr_assert_not_null(buf);
	cr_assert_eq(pack_one(&f, buf), n);

	frame_budget_init(&b, 8192);
	m = frame_unpack(&vix__v1__server_message__descriptor, &b,
	    buf + f.header, f.body);
	cr_assert_null(m);
	cr_assert_eq(b.used, 0);

	frame_budget_init(&b, 65536);
	m = frame_unpack(&vix__v1__server_message__descriptor, &b,
	    buf + f.header, f.body);
	cr_assert_not_null(m);
	cr_assert_eq(strlen(((Vix__V1__ServerMessage *)m)->response->status->
	    message), 20000);
	cr_assert_geq(b.used, 20000);
	frame_free_unpacked(m, &b);
	cr_assert_eq(b.used, 0);
	free(buf);
	cr_assert_eq(support_leaks(), 0, "leaks, see above");
}

Test(budget, allocator_never_exceeds_its_limit)
{
	struct frame_budget b;
	ProtobufCAllocator *a = &b.allocator;
	void *blocks[256];
	size_t n = 0;

	frame_budget_init(&b, 1000);
	cr_assert_null(a->alloc(a->allocator_data, SIZE_MAX));
	cr_assert_null(a->alloc(a->allocator_data, SIZE_MAX - 8));
	cr_assert_null(a->alloc(a->allocator_data, 1000));
	cr_assert_eq(b.used, 0);

	while (n < 256 && (blocks[n] = a->alloc(a->allocator_data, 24))
	    != NULL) {
		cr_assert_eq((uintptr_t)blocks[n] % alignof(max_align_t), 0);
		memset(blocks[n], 0x5a, 24);
		cr_assert_leq(b.used, 1000);
		n++;
	}
	cr_assert_gt(n, 10, "only %zu blocks of 24 bytes in 1000", n);
	cr_assert_lt(n, 1000 / 24 + 1);
	while (n > 0)
		a->free(a->allocator_data, blocks[--n]);
	cr_assert_eq(b.used, 0);
	a->free(a->allocator_data, NULL);
	cr_assert_eq(b.used, 0);
}
