/* Varint-delimited framing and bounded protobuf decoding. */
#include <stdlib.h>

#include "frame.h"

enum frame_result
frame_decode_header(const uint8_t *buf, size_t len, size_t max_frame,
    size_t *header, size_t *body)
{
	uint64_t value = 0;
	size_t i;

	for (i = 0; i < FRAME_HEADER_MAX; i++) {
		if (i == len)
			return FRAME_NEED_MORE;
		value |= (uint64_t)(buf[i] & 0x7f) << (7 * i);
		if ((buf[i] & 0x80) == 0)
			break;
	}
	if (i == FRAME_HEADER_MAX || value > UINT32_MAX)
		return FRAME_ERR_VARINT;
	*header = i + 1;
	*body = (size_t)value;
	return value > max_frame ? FRAME_ERR_TOO_LARGE : FRAME_OK;
}

size_t
frame_encode_header(uint8_t out[FRAME_HEADER_MAX], uint32_t len)
{
	size_t n = 0;

	while (len >= 0x80) {
		out[n++] = (uint8_t)(len | 0x80);
		len >>= 7;
	}
	out[n++] = (uint8_t)len;
	return n;
}

const char *
frame_strerror(enum frame_result r)
{
	switch (r) {
	case FRAME_OK:
		return "ok";
	case FRAME_NEED_MORE:
		return "incomplete length prefix";
	case FRAME_ERR_TOO_LARGE:
		return "frame larger than max_frame";
	case FRAME_ERR_VARINT:
		return "malformed length prefix";
	}
	return "unknown framing error";
}

size_t
frame_packed_size(const ProtobufCMessage *msg)
{
	uint8_t hdr[FRAME_HEADER_MAX];
	size_t n = protobuf_c_message_get_packed_size(msg);

	return frame_encode_header(hdr, (uint32_t)n) + n;
}

size_t
frame_pack(const ProtobufCMessage *msg, uint8_t *out)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	size_t h = frame_encode_header(out, (uint32_t)n);

	return h + protobuf_c_message_pack(msg, out + h);
}

/*
 * Each block carries its size in front so that free can return it to the
 * budget; the header is max_align_t sized to keep the payload aligned.
 */
union budget_hdr {
	size_t		size;
	max_align_t	align;
};

static void *
budget_alloc(void *data, size_t size)
{
	struct frame_budget *b = data;
	union budget_hdr *h;

	if (size > b->limit - b->used ||
	    sizeof(*h) > b->limit - b->used - size)
		return NULL;
	if ((h = malloc(sizeof(*h) + size)) == NULL)
		return NULL;
	h->size = sizeof(*h) + size;
	b->used += h->size;
	return h + 1;
}

static void
budget_free(void *data, void *ptr)
{
	struct frame_budget *b = data;
	union budget_hdr *h;

	if (ptr == NULL)
		return;
	h = (union budget_hdr *)ptr - 1;
	b->used -= h->size;
	free(h);
}

void
frame_budget_init(struct frame_budget *b, size_t limit)
{
	b->allocator.alloc = budget_alloc;
	b->allocator.free = budget_free;
	b->allocator.allocator_data = b;
	b->used = 0;
	b->limit = limit;
}

ProtobufCMessage *
frame_unpack(const ProtobufCMessageDescriptor *desc, struct frame_budget *b,
    const uint8_t *buf, size_t len)
{
	ProtobufCMessage *msg;

	msg = protobuf_c_message_unpack(desc, &b->allocator, len, buf);
	if (msg == NULL)
		return NULL;
	if (!protobuf_c_message_check(msg)) {
		protobuf_c_message_free_unpacked(msg, &b->allocator);
		return NULL;
	}
	return msg;
}

void
frame_free_unpacked(ProtobufCMessage *msg, struct frame_budget *b)
{
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, &b->allocator);
}
