/* Pumping committed outbox rows into subscribed connections. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "conn.h"
#include "frame.h"
#include "log.h"
#include "notify.h"
#include "orgs.h"
#include "store.h"

#define PUMP_CHUNK	64		/* rows read per store call */
#define OUTPUT_HIGH	(4 << 20)	/* stop queueing above this */

uint64_t
notify_room(const struct sub_recipient *r, unsigned window)
{
	uint64_t floor = r->acked > r->base ? r->acked : r->base;
	uint64_t inflight = r->sent > floor ? r->sent - floor : 0;

	return inflight >= window ? 0 : window - inflight;
}

struct pump_ctx {
	struct conn		*conn;
	struct sub_recipient	*r;
	int			 stop;
	uint64_t		 rows;		/* sent by this read */
};

/*
 * Wrap a stored Notification as ServerMessage{notification} without
 * decoding it: field 2, length-delimited, then the bytes as stored.
 */
static int
pump_row(void *arg, uint64_t seq, const void *msg, size_t len)
{
	struct pump_ctx *p = arg;
	uint8_t head[1 + FRAME_HEADER_MAX], prefix[FRAME_HEADER_MAX];
	size_t hl, pl;

	head[0] = 0x12;
	hl = 1 + frame_encode_header(head + 1, (uint32_t)len);
	pl = frame_encode_header(prefix, (uint32_t)(hl + len));
	if (conn_send_bytes(p->conn, prefix, pl, head, hl, msg, len) == -1) {
		p->stop = 1;
		return 1;
	}
	p->r->sent = seq;
	p->rows++;
	return 0;
}

static void
pump_one(struct subscription *s, struct sub_recipient *r)
{
	struct pump_ctx p = { s->conn, r, 0, 0 };
	uint64_t room, want;

	while (!p.stop && conn_is_open(s->conn) &&
	    conn_output_length(s->conn) < OUTPUT_HIGH &&
	    (room = notify_room(r, s->window)) > 0) {
		want = room < PUMP_CHUNK ? room : PUMP_CHUNK;
		p.rows = 0;
		if (store_outbox_read(s->reader, r->org->sid,
		    r->sent, want, pump_row, &p) != 0) {
			log_warnx("notify: cannot read the outbox of %s",
			    r->org->id);
			return;
		}
		/*
		 * Fewer rows than asked for: that was all there is (a commit
		 * adding more pumps again), so no second read to find nothing.
		 */
		if (p.rows < want)
			return;
	}
}

void
notify_pump(struct subscription *s)
{
	for (size_t i = 0; i < s->n; i++)
		pump_one(s, &s->r[i]);
}

void
notify_pump_touched(struct subscription *s, const uint32_t *sids, size_t n,
    int all)
{
	for (size_t i = 0; i < s->n; i++) {
		int hit = all;

		for (size_t j = 0; j < n && !hit; j++)
			hit = sids[j] == s->r[i].org->sid;
		if (hit)
			pump_one(s, &s->r[i]);
	}
}

struct sub_recipient *
notify_find(struct subscription *s, const char *org_id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->r[i].org->id, org_id) == 0)
			return &s->r[i];
	return NULL;
}

const struct sub_recipient *
notify_lost(const struct subscription *s, const struct orgs *now,
    const struct org *self)
{
	const struct org *o;

	for (size_t i = 0; i < s->n; i++)
		if ((o = orgs_by_oin(now, s->r[i].org->oin)) == NULL ||
		    !orgs_may_receive_for(self, o))
			return &s->r[i];
	return NULL;
}

void
notify_rebind(struct subscription *s, const struct orgs *now)
{
	for (size_t i = 0; i < s->n; i++)
		s->r[i].org = orgs_by_oin(now, s->r[i].org->oin);
}

void
notify_free(struct subscription *s)
{
	if (s == NULL)
		return;
	free(s->r);
	free(s);
}
