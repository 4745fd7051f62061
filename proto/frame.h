/*
 * Framing codec shared by vixd and libvix: a varint length prefix followed by
 * that many bytes of protobuf (protobuf's delimited encoding), and bounded
 * decoding of untrusted messages.
 */
#ifndef VIX_FRAME_H
#define VIX_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#define FRAME_HEADER_MAX	5		/* a 32-bit varint */
#define FRAME_DEFAULT_MAX	(64 * 1024)
#define FRAME_LIMIT		(16 * 1024 * 1024)	/* highest max_frame accepted */

enum frame_result {
	FRAME_OK = 0,
	FRAME_NEED_MORE = 1,		/* prefix incomplete: read more */
	FRAME_ERR_TOO_LARGE = -1,	/* declared length above max_frame */
	FRAME_ERR_VARINT = -2,		/* prefix longer than 5 bytes or above 32 bits */
};

/*
 * Decode the length prefix at the start of buf. On FRAME_OK, *header is the
 * size of the prefix and *body the length of the message that follows (which
 * may not have arrived yet); on FRAME_ERR_TOO_LARGE both are set too, so the
 * error can name the size. Never reads past len.
 */
enum frame_result frame_decode_header(const uint8_t *buf, size_t len,
    size_t max_frame, size_t *header, size_t *body);

/* Write the prefix for a body of len bytes; returns its size (1..5). */
size_t frame_encode_header(uint8_t out[FRAME_HEADER_MAX], uint32_t len);

/* Human-readable text for a frame_result. */
const char *frame_strerror(enum frame_result r);

/* Size of msg framed: prefix plus packed message. */
size_t frame_packed_size(const ProtobufCMessage *msg);

/* Pack msg with its prefix into out (frame_packed_size bytes); returns bytes written. */
size_t frame_pack(const ProtobufCMessage *msg, uint8_t *out);

/*
 * An allocator that refuses to hand out more than limit bytes in total, so
 * that a hostile message cannot make the decoder allocate without bound.
 */
struct frame_budget {
	ProtobufCAllocator	 allocator;
	size_t			 used;
	size_t			 limit;
};

void frame_budget_init(struct frame_budget *b, size_t limit);

/*
 * Unpack and check one message of type desc from an untrusted buffer, with
 * memory from b. Returns NULL if it does not decode, exceeds the budget or
 * fails protobuf_c_message_check. Free with frame_free_unpacked(msg, b).
 */
ProtobufCMessage *frame_unpack(const ProtobufCMessageDescriptor *desc,
    struct frame_budget *b, const uint8_t *buf, size_t len);
void frame_free_unpacked(ProtobufCMessage *msg, struct frame_budget *b);

#endif
