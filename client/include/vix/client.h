/*
 * libvix: the client library of the vix reference index.
 *
 * A vix_client is one mutually authenticated TLS connection to vixd (or,
 * in push mode, from it: see vix_listen). It is not thread-safe: use one
 * per thread, or lock around calls. Every call
 * that can fail returns VIX_OK or a vix_result. It first resets the
 * caller's struct vix_error (which may be NULL) to all zero (kind VIX_OK,
 * status 0, an empty message), and on failure fills it with the kind of
 * failure, the server's status code where the server refused (with, over a
 * rate limit, when to try again), and a message that names what is wrong;
 * so after any call the error describes that call alone. Results are
 * returned in caller-owned structs with fixed size fields; libvix keeps no
 * pointer to them. The few results that hold arrays of variable length say
 * so below, with the function that frees them.
 */
#ifndef VIX_CLIENT_H
#define VIX_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(VIX_BUILDING_LIBRARY)
#define VIX_API __attribute__((visibility("default")))
#else
#define VIX_API
#endif

typedef struct vix_client vix_client;

/* What kind of failure a call met. */
enum vix_result {
	VIX_OK = 0,
	VIX_ERR_ARGS,		/* the caller's arguments are invalid */
	VIX_ERR_CONNECT,	/* cannot reach the server, or it went away */
	VIX_ERR_TLS,		/* TLS handshake or certificate failure */
	VIX_ERR_REFUSED,	/* the server answered with a status other than OK */
	VIX_ERR_PROTOCOL,	/* the server sent something libvix cannot read */
	VIX_ERR_NOMEM,		/* out of memory */
	VIX_ERR_TIMEOUT,	/* vix_next_notification, vix_accept: nothing
				   arrived in time; not a failure, wait again.
				   Also a request's wait for its answer cut
				   short by a caught signal (or VIX_ERR_CONNECT,
				   the connection lost, if a message had begun
				   to arrive): whether the request was applied
				   is not known */
};

/* Server status codes; the numbers are gRPC's. */
enum vix_status {
	VIX_STATUS_OK = 0,
	VIX_STATUS_CANCELLED = 1,
	VIX_STATUS_UNKNOWN = 2,
	VIX_STATUS_INVALID_ARGUMENT = 3,
	VIX_STATUS_DEADLINE_EXCEEDED = 4,
	VIX_STATUS_NOT_FOUND = 5,
	VIX_STATUS_ALREADY_EXISTS = 6,
	VIX_STATUS_PERMISSION_DENIED = 7,
	VIX_STATUS_RESOURCE_EXHAUSTED = 8,
	VIX_STATUS_FAILED_PRECONDITION = 9,
	VIX_STATUS_ABORTED = 10,
	VIX_STATUS_OUT_OF_RANGE = 11,
	VIX_STATUS_UNIMPLEMENTED = 12,
	VIX_STATUS_INTERNAL = 13,
	VIX_STATUS_UNAVAILABLE = 14,
	VIX_STATUS_DATA_LOSS = 15,
	VIX_STATUS_UNAUTHENTICATED = 16,
};

/*
 * Growing structs. libvix keeps one ABI for its soname, libvix.so.0: no
 * public struct changes its size, and no field moves, so a program built
 * against an older <vix/client.h> keeps working with a newer libvix (and the
 * sizes are pinned by the test suite). Within that rule:
 *
 * - struct vix_error has reserved words. A new field takes the last free
 *   reserved word(s), next to the fields added before it; libvix zeroes
 *   them, and zero in a new field means what an older libvix would have
 *   meant (no hint, nothing known). retry_after_ms, libvix 0.1's one
 *   addition, sits where 0.1 put it.
 * - The other structs have no room: nothing is added to them. A release
 *   that must return or accept more adds a new function (and, if needed, a
 *   new struct that begins with reserved room) in a new version node of
 *   the library, as vix_fd() came in LIBVIX_0.2; the old function and
 *   struct stay as they are.
 * - Or, for a struct a caller passes in, its function gets a new symbol
 *   version and the old version stays, reading the old layout: struct
 *   vix_options grew keyholder in 0.3, and vix_connect@LIBVIX_0.3 reads
 *   it, while programs built before link vix_connect@LIBVIX_0, which
 *   reads the five fields of 0.1.
 * - Callers zero every struct they pass in (designated initialisers or
 *   memset), so that fields they do not name are zero, the default.
 *
 * A change that cannot keep these rules waits for libvix.so.1 (1.0), which
 * is free to change layouts once, with room in every struct.
 */
struct vix_error {
	enum vix_result	 kind;
	int		 status;	/* enum vix_status, with VIX_ERR_REFUSED */
	char		 message[496];
	uint32_t	 reserved[3];	/* zero; for new fields, taken from
					   the end (libvix 0.1: message[508]) */
	/*
	 * With VIX_STATUS_RESOURCE_EXHAUSTED because the caller's
	 * organisation is over the server's rate limit, or the server's
	 * queue for the store is full: the request was not applied; try it
	 * again after this many milliseconds.
	 * 0: no hint (back off by your own rule). At the offset of libvix
	 * 0.1, taken from the end of what was message.
	 */
	uint32_t	 retry_after_ms;
};

struct vix_options {
	const char	*server;	/* "host:port" or "[v6]:port" */
	const char	*cert_file;	/* PEM client certificate (with chain) */
	const char	*key_file;	/* PEM private key */
	const char	*ca_file;	/* PEM CA bundle that signed the server */
	int		 timeout_ms;	/* connect and each call; 0: 10 s */
	/*
	 * The key holder's "host:port", for an index with blind pseudonyms
	 * (docs/pseudonyms.md): every call that takes a BSN checks it, blinds
	 * it, has the key holder evaluate it (with the same certificate and
	 * CA bundle) and sends the index only the pseudonym. NULL: the BSN
	 * goes to the index, which makes the pseudonym itself. Since 0.3
	 * (version node LIBVIX_0.3; a program built against an older libvix
	 * gets the old vix_connect, without this field).
	 */
	const char	*keyholder;
};

struct vix_org {
	char	id[33];		/* handle in the index, e.g. "org-a" */
	char	name[129];
	char	oin[21];
};

struct vix_ping_result {
	char		server_version[32];
	struct vix_org	org;		/* the caller, as the server knows it */
};

/*
 * Connect and complete the TLS handshake. The server checks the certificate
 * during the handshake and the organisation right after it; a refusal of
 * either is reported by the first call on the connection if the handshake
 * itself succeeded. On success *out is a client to free with vix_close().
 */
VIX_API int vix_connect(const struct vix_options *opt, vix_client **out,
    struct vix_error *err);

/* Ask the server who we are and what it runs. */
VIX_API int vix_ping(vix_client *c, struct vix_ping_result *out,
    struct vix_error *err);

/*
 * Signals, matches and listings.
 *
 * Requests take plain structs whose strings the caller owns; libvix does not
 * keep them. Results are caller-owned structs. Strings in results are fixed
 * size, NUL-terminated, and cut at a UTF-8 character boundary if the server
 * sent more than fits. Arrays in results (vix_match.others,
 * vix_list_result.signals) are allocated by libvix and belong to the
 * caller, who releases them with the result's free function; nothing else
 * in a result needs freeing. Every call zeroes its result first, so the
 * free function may be called after any return, failed or not, and a freed
 * result is zeroed again (freeing twice is harmless).
 *
 * BSNs are sent to the server only; libvix never puts one in an error
 * message.
 */

/* Whether Register created a new signal or refreshed the caller's own. */
enum vix_signal_status {
	VIX_SIGNAL_STATUS_UNSPECIFIED = 0,
	VIX_SIGNAL_CREATED = 1,
	VIX_SIGNAL_REFRESHED = 2,
};

/* Which limit set a signal's expiry: the chosen duration or age 23. */
enum vix_expiry_bound {
	VIX_EXPIRY_UNSPECIFIED = 0,
	VIX_EXPIRY_DURATION = 1,
	VIX_EXPIRY_AGE_23 = 2,
};

enum vix_withdraw_reason {
	VIX_WITHDRAW_UNJUSTIFIED = 1,	/* the signal was wrong: deleted */
	VIX_WITHDRAW_RISK_RESOLVED = 2,	/* archived */
};

/* Register: bsn, birth_date, contact_name and contact_phone are required. */
struct vix_register_req {
	const char	*bsn;		/* 9 digits */
	const char	*birth_date;	/* YYYY-MM-DD */
	unsigned	 duration_days;	/* 0: the server's maximum */
	const char	*contact_name;
	const char	*contact_phone;
	const char	*contact_email;	/* NULL: none */
	const char	*client_ref;	/* NULL: none; at most 64 bytes */
	const char	*municipality;	/* NULL: none; 4-digit CBS code */
};

/* Another organisation involved with the same youth. */
struct vix_involvement {
	char		 org_id[33];
	char		 org_name[129];
	char		 contact_name[129];
	char		 contact_phone[33];
	char		 contact_email[255];
	int64_t		 since;		/* its signal's registration, Unix s */
};

/*
 * A match: two or more organisations with an active signal on one youth.
 * others has n_others elements (NULL when 0), allocated by libvix; release
 * it with vix_match_free() or the free function of the enclosing result.
 */
struct vix_match {
	uint64_t		 match_id;
	char			 coordinator[33];	/* org id */
	char			 coordinator_name[129];
	int64_t			 created;		/* Unix seconds */
	int			 coordinated;		/* 0 or 1 */
	size_t			 n_others;		/* all but the caller */
	struct vix_involvement	*others;
};

struct vix_register_result {
	uint64_t		 signal_id;
	enum vix_signal_status	 status;
	int64_t			 expires;	/* Unix seconds */
	enum vix_expiry_bound	 expiry_bound;
	int			 has_match;	/* 0: match is all zero */
	struct vix_match	 match;
};

struct vix_withdraw_result {
	uint64_t	 signal_id;
	int		 archived;	/* 0: deleted */
	uint64_t	 match_id;	/* the match it was part of; 0: none */
	int		 match_closed;	/* fewer than two organisations remain */
};

struct vix_involved_result {
	uint64_t		 signal_id;	/* the caller's own signal */
	int			 has_match;	/* 0: nobody else involved */
	struct vix_match	 match;
};

struct vix_signal_summary {
	uint64_t		 signal_id;
	char			 client_ref[65];
	int64_t			 created;	/* Unix seconds */
	int64_t			 expires;	/* Unix seconds */
	uint64_t		 match_id;	/* 0: none */
	enum vix_expiry_bound	 expiry_bound;
};

/*
 * One page of the caller's active signals in signal id order. signals has
 * n elements (NULL when 0), allocated by libvix: vix_list_result_free().
 */
struct vix_list_result {
	size_t				 n;
	struct vix_signal_summary	*signals;
	uint64_t			 next_after;	/* next page's after; 0: done */
};

/*
 * Register involvement with a youth (role register), or refresh the caller's
 * own active signal on it. Free *out with vix_register_result_free().
 */
VIX_API int vix_register(vix_client *c, const struct vix_register_req *req,
    struct vix_register_result *out, struct vix_error *err);

/* Parents or guardians a registration may name, at most. */
#define VIX_PARENTS_MAX	4

/*
 * vix_register, naming the youth's parents or guardians by their BSNs (n
 * of them, at most VIX_PARENTS_MAX; pseudonymised as the youth's, blind
 * with a key holder): the family match. When another organisation has an
 * active signal on another youth with one of these parents, both are told
 * (VIX_NOTIFY_FAMILY_MATCH). Refused (FAILED_PRECONDITION) by an index
 * that does not match families. n 0 on a refresh keeps the signal's
 * parents; otherwise they replace them. Since LIBVIX_0.4.
 */
VIX_API int vix_register_parents(vix_client *c,
    const struct vix_register_req *req, const char *const *parents, size_t n,
    struct vix_register_result *out, struct vix_error *err);

/*
 * Withdraw the caller's own signal, named by signal_id or by bsn: exactly one
 * of signal_id (non-zero) and bsn (non-NULL). *out holds no allocations.
 */
VIX_API int vix_withdraw(vix_client *c, uint64_t signal_id, const char *bsn,
    enum vix_withdraw_reason reason, struct vix_withdraw_result *out,
    struct vix_error *err);

/*
 * Who else is involved with the youth; refused (PERMISSION_DENIED) unless
 * the caller has an active signal on it. Free *out with
 * vix_involved_result_free().
 */
VIX_API int vix_involved(vix_client *c, const char *bsn,
    struct vix_involved_result *out, struct vix_error *err);

/* What vix_relocate did. */
struct vix_relocate_result {
	int		moved;		/* 0: it was that municipality already */
	unsigned	signals;	/* active signals on the youth, all
					   in that municipality now */
	uint64_t	match_id;	/* the youth's open match, 0: none */
};

/*
 * Record that the youth moved to municipality (its 4-digit CBS code): every
 * active signal on it takes the new municipality and its match escalates
 * there; both municipalities' escalation organisations are told. Refused
 * (PERMISSION_DENIED) unless the caller has an active signal on the youth
 * or the role admin; to a caller with only the role admin *out stays all
 * zero, whatever happened (it learns nothing of who is in the index).
 * Since LIBVIX_0.4.
 */
VIX_API int vix_relocate(vix_client *c, const char *bsn,
    const char *municipality, struct vix_relocate_result *out,
    struct vix_error *err);

/*
 * One page of the caller's active signals with ids above after (0: from the
 * start); page_size 0 is the server's default (100, at most 1000). Free
 * *out with vix_list_result_free().
 */
VIX_API int vix_list(vix_client *c, uint32_t page_size, uint64_t after,
    struct vix_list_result *out, struct vix_error *err);

/*
 * Pipelined Register, for bulk loads: send many requests before reading
 * their responses, so that the round trip is paid once, not per request.
 * vix_register_send() sends one request without waiting and gives its id
 * (non-zero, unique on c). vix_register_recv() waits for the next Register
 * response, whichever request it answers (the server answers refusals at
 * once and the rest in commit order), and gives that request's id. Keep a
 * bounded number in flight (say 64): unread responses wait in the socket.
 * Until every request sent has been received, no call but these two and
 * vix_close() works on c.
 */
VIX_API int vix_register_send(vix_client *c, const struct vix_register_req *req,
    uint64_t *id, struct vix_error *err);

/*
 * The outcome of one pipelined request: *id is the request it answers, with
 * VIX_OK and *out as for vix_register(), or the refusal (VIX_ERR_REFUSED,
 * err->status) of that request alone; *id is 0 when the connection failed
 * and the requests still in flight are lost. Free *out with
 * vix_register_result_free().
 */
VIX_API int vix_register_recv(vix_client *c, uint64_t *id,
    struct vix_register_result *out, struct vix_error *err);

/*
 * Wait at most timeout_ms (-1: no limit) for the server to send something,
 * so that a pipelining caller can send on its own schedule and read only
 * what has arrived: VIX_OK when a whole response or notification is here
 * (the next vix_register_recv() or vix_next_notification() will not wait
 * for the server), VIX_ERR_TIMEOUT when none arrived in time.
 */
VIX_API int vix_wait(vix_client *c, int timeout_ms, struct vix_error *err);

/*
 * The connection's socket, for the caller's own event loop (poll, epoll,
 * libevent); -1 for NULL. It stays the same until vix_close(); only watch
 * it: do not read, write or close it. The loop, as libpq's with PQsocket():
 *
 *	wait until vix_fd(c) is readable (POLLIN, EV_READ), then
 *	while ((rc = vix_next_notification(c, 0, &n, &err)) == VIX_OK) {
 *		handle n; vix_ack(c, n.recipient, n.seq, &err);
 *		vix_notification_free(&n);
 *	}
 *	VIX_ERR_TIMEOUT: nothing more for now, wait for readable again;
 *	anything else: the connection failed (err says why), vix_close(c).
 *
 * Always drain until VIX_ERR_TIMEOUT: one read may bring several
 * notifications, and TLS may hold decrypted bytes that libvix has already
 * taken off the socket, so the descriptor does not become readable again
 * for them. Likewise after any other call, which may have kept
 * notifications that arrived while it waited for its response: drain before
 * waiting on the descriptor. The calls themselves still block (within the
 * timeout of struct vix_options) while they wait for a response. Since 0.2
 * (version node LIBVIX_0.2).
 */
VIX_API int vix_fd(const vix_client *c);

/*
 * The professional on whose behalf the following calls on c are made (the
 * actor: the organisation's own identifier of the person, or a pseudonym
 * of it), sent with every request until changed and kept by the index in
 * its audit records (NEN 7513's who, beside the organisation). NULL or
 * "": none, as at vix_connect(). At most 64 bytes of UTF-8 text without
 * control or bidirectional formatting characters or white space at either
 * end, and never a BSN: a number of 9 digits that passes the 11-test is
 * refused (VIX_ERR_ARGS, the message naming "actor", never the value), as
 * the index would refuse it. An index can require one per organisation
 * (require_actor in its orgs.conf). A program serving several users sets
 * it before each call; a call already sent (vix_register_send) keeps the
 * one it was sent with. Since 0.4 (version node LIBVIX_0.4).
 */
VIX_API int vix_set_actor(vix_client *c, const char *actor,
    struct vix_error *err);

/* Free m->others and zero *m. NULL is allowed. */
VIX_API void vix_match_free(struct vix_match *m);
/* Free what *r holds (its match) and zero it. NULL is allowed. */
VIX_API void vix_register_result_free(struct vix_register_result *r);
/* Free what *r holds (its match) and zero it. NULL is allowed. */
VIX_API void vix_involved_result_free(struct vix_involved_result *r);
/* Free r->signals and zero *r. NULL is allowed. */
VIX_API void vix_list_result_free(struct vix_list_result *r);

/*
 * The caller's worklist (since 0.4, version node LIBVIX_0.4): the matches
 * it is party to, that is on youths it has an active signal on, with the
 * others involved and their contacts as vix_involved() gives them, in the
 * order of the caller's signal ids, paged as vix_list(). Nothing about
 * other matches.
 */
struct vix_matches_req {
	uint32_t	 page_size;	/* 0: the server's default (100, at
					   most 1000) */
	uint64_t	 after;		/* continue after this signal id (the
					   last page's next_after); 0: start */
	int		 uncoordinated;	/* only those not marked coordinated */
	int		 escalated;	/* only those escalated at least once */
	uint32_t	 reserved[4];	/* zero */
};

struct vix_match_item {
	struct vix_match	 match;
	uint64_t		 signal_id;	/* the caller's own on the youth */
	char			 client_ref[65];	/* its reference */
	unsigned		 escalations;	/* 0: never escalated; 2 and
						   on: escalated again */
	uint32_t		 reserved[4];
};

/*
 * One page. items has n elements (NULL when 0), allocated by libvix:
 * vix_matches_result_free(). A page may hold fewer than page_size items
 * and still have a next one: the server passes over the caller's signals
 * without a match in bounded steps.
 */
struct vix_matches_result {
	size_t			 n;
	struct vix_match_item	*items;
	uint64_t		 next_after;	/* next page's after; 0: done */
	int64_t			 time;		/* the server's clock when it
						   answered: a match's age is
						   time - match.created */
	uint32_t		 reserved[4];
};

VIX_API int vix_matches(vix_client *c, const struct vix_matches_req *req,
    struct vix_matches_result *out, struct vix_error *err);
/* Free what *r holds (its items and their matches) and zero it. */
VIX_API void vix_matches_result_free(struct vix_matches_result *r);

/*
 * Coordination ("regie") of a match by an involved organisation: CLAIM makes
 * the caller the coordinator, RELEASE hands over by rank, MARK_COORDINATED
 * records that the organisations have agreed ("afgestemd").
 */
enum vix_coordinate_action {
	VIX_COORD_CLAIM = 1,
	VIX_COORD_RELEASE = 2,
	VIX_COORD_MARK_COORDINATED = 3,
};

/*
 * Change the coordination of match_id; *out is the match afterwards, seen
 * by the caller. Free *out with vix_match_free().
 */
VIX_API int vix_coordinate(vix_client *c, uint64_t match_id,
    enum vix_coordinate_action action, struct vix_match *out,
    struct vix_error *err);

/*
 * Notifications.
 *
 * vixd keeps an outbox per recipient organisation, numbered by seq (strictly
 * increasing per recipient), and delivers it at least once: after
 * vix_subscribe() notifications arrive on the connection, interleaved with
 * the responses to later calls. libvix keeps any that arrive while a call
 * waits for its response, in order, for vix_next_notification(). A
 * notification is done once acknowledged with vix_ack() (cumulative: seq and
 * everything before it for that recipient); a new subscription resumes after
 * the last acknowledged seq, so acknowledge only what has been handled.
 */

/* Why a notification was sent; the numbers are vix.v1.Notification.Type's. */
enum vix_notification_type {
	VIX_NOTIFY_UNSPECIFIED = 0,
	VIX_NOTIFY_MATCH_CREATED = 1,		/* a second organisation came */
	VIX_NOTIFY_MATCH_JOINED = 2,		/* subject joined */
	VIX_NOTIFY_MATCH_LEFT = 3,		/* subject left; two or more remain */
	VIX_NOTIFY_MATCH_CLOSED = 4,		/* fewer than two remain */
	VIX_NOTIFY_COORDINATOR_ASSIGNED = 5,	/* coordinator or coordinated changed */
	VIX_NOTIFY_ESCALATION = 6,		/* not coordinated in time */
	VIX_NOTIFY_SIGNAL_EXPIRED = 7,		/* the recipient's own signal */
	VIX_NOTIFY_SIGNAL_REMOVED = 8,		/* erased by an administrator */
	VIX_NOTIFY_REMINDER = 9,		/* still not coordinated (to the
						   coordinator); since 0.4 */
	VIX_NOTIFY_RELOCATED = 10,		/* the youth moved here (municipality) */
	VIX_NOTIFY_FAMILY_MATCH = 11,		/* another organisation is involved
						   with a sibling or child of the
						   same parent (others[0]) */
	VIX_NOTIFY_RELOCATED_AWAY = 12,		/* the youth moved away */
};

/*
 * One notification. others has n_others elements (NULL when 0), allocated
 * by libvix: vix_notification_free(). A server newer than libvix may send a
 * type not listed above: vix_notification_type_name() calls it
 * "UNKNOWN_TYPE", and a program that does not know a type acknowledges it
 * like any other and otherwise leaves it alone.
 */
struct vix_notification {
	uint64_t			 seq;		/* per recipient */
	char				 recipient[33];	/* org id it is for */
	enum vix_notification_type	 type;
	uint64_t			 match_id;
	uint64_t			 signal_id;	/* recipient's own; 0: none */
	char				 client_ref[65];	/* of that signal */
	int64_t				 time;		/* of the change, Unix s */
	char				 coordinator[33];	/* org id */
	char				 coordinator_name[129];
	int				 coordinated;	/* 0 or 1 */
	char				 municipality[5];	/* with ESCALATION,
						   RELOCATED(_AWAY): the new one */
	int				 has_subject;	/* 0: subject is all zero */
	struct vix_involvement		 subject;	/* who joined or left */
	size_t				 n_others;	/* everyone else involved */
	struct vix_involvement		*others;
};

/* Where a subscription starts for one recipient. */
struct vix_position {
	char		 recipient[33];	/* org id */
	uint64_t	 acked;		/* everything up to here is done */
	uint64_t	 last;		/* the newest seq in the outbox */
};

/*
 * One position per recipient subscribed for. positions has n elements
 * (NULL when 0), allocated by libvix: vix_subscribe_result_free().
 */
struct vix_subscribe_result {
	size_t			 n;
	struct vix_position	*positions;
};

/*
 * Subscribe to the notifications for recipients (n org ids; n 0: the caller
 * itself), from seq from_seq on (0: after the last acknowledged one).
 * Refused (PERMISSION_DENIED) for an organisation not delegated to the
 * caller. Free *out with vix_subscribe_result_free().
 */
VIX_API int vix_subscribe(vix_client *c, uint64_t from_seq,
    const char *const *recipients, size_t n,
    struct vix_subscribe_result *out, struct vix_error *err);

/*
 * The next notification: the oldest one libvix kept, else the next to
 * arrive, waiting at most timeout_ms (-1: without limit). VIX_ERR_TIMEOUT
 * when none came in time, or when a signal handler interrupted the wait:
 * the connection is still good, call again. Free *out with
 * vix_notification_free(). Also works on a connection from vix_accept().
 * On a connection from vix_connect() on which vix_subscribe() has not yet
 * succeeded nothing can come: VIX_ERR_ARGS at once, without waiting.
 */
VIX_API int vix_next_notification(vix_client *c, int timeout_ms,
    struct vix_notification *out, struct vix_error *err);

/*
 * Acknowledge seq and everything before it for recipient (the
 * notification's own recipient and seq), and wait for the server to confirm
 * that the acknowledgement is stored. On a connection from vix_accept()
 * (push mode) the acknowledgement is only sent: vixd sends no reply, so
 * VIX_OK means it was written, not that it was stored. A signal caught
 * during the wait ends it with VIX_ERR_TIMEOUT (or VIX_ERR_CONNECT, see
 * there): the acknowledgement may or may not be stored, and the
 * notification may come again. A program
 * that stops on a signal holds it around vix_ack() (sigprocmask), as
 * vix subscribe does, to stop only after the confirmation.
 */
VIX_API int vix_ack(vix_client *c, const char *recipient, uint64_t seq,
    struct vix_error *err);

/*
 * What a notification says beyond struct vix_notification (since 0.4,
 * version node LIBVIX_0.4): zero where the server sent nothing.
 */
struct vix_notification_more {
	unsigned	 escalation_round;	/* ESCALATION: 1 the first time,
						   2 and on: escalated again */
	unsigned	 reminder;		/* REMINDER: which reminder
						   point, 1 the first */
	int64_t		 escalates_at;		/* REMINDER: when the match is
						   escalated, Unix seconds */
	uint32_t	 reserved[8];
};

/*
 * vix_next_notification(), also filling *more (which may be NULL). Since
 * 0.4 (version node LIBVIX_0.4).
 */
VIX_API int vix_next_notification_more(vix_client *c, int timeout_ms,
    struct vix_notification *out, struct vix_notification_more *more,
    struct vix_error *err);

/* "MATCH_CREATED" etc.; "UNKNOWN_TYPE" for a number not listed. */
VIX_API const char *vix_notification_type_name(int type);

/* Free n->others and zero *n. NULL is allowed. */
VIX_API void vix_notification_free(struct vix_notification *n);
/* Free r->positions and zero *r. NULL is allowed. */
VIX_API void vix_subscribe_result_free(struct vix_subscribe_result *r);

/*
 * Push mode: instead of subscribing, a partner system can have vixd dial
 * it. A vix_listener accepts vixd's mutually authenticated TLS connections;
 * each accepted connection is a vix_client on which vixd sends
 * notifications, to take with vix_next_notification() and acknowledge with
 * vix_ack(). No other call works on it.
 */
typedef struct vix_listener vix_listener;

struct vix_listen_options {
	const char	*listen;	/* "host:port" or "[v6]:port" to bind */
	const char	*cert_file;	/* PEM server certificate (with chain) */
	const char	*key_file;	/* PEM private key */
	const char	*ca_file;	/* PEM CA bundle that signed vixd */
	const char	*peer_name;	/* vixd's certificate must be issued
					   for this host name or address */
	int		 timeout_ms;	/* handshake and each read or write;
					   0: 10 s */
	const char	*peer_sha256;	/* vixd's certificate must have this
					   SHA-256 fingerprint (64 hex digits,
					   colons allowed) */
};

/*
 * Bind and listen. On success *out is a listener for vix_listener_close().
 * At least one of peer_name and peer_sha256 is required (VIX_ERR_ARGS
 * otherwise): a certificate that merely chains to ca_file may be any
 * organisation's, and must not be able to push notifications.
 */
VIX_API int vix_listen(const struct vix_listen_options *opt,
    vix_listener **out, struct vix_error *err);

/*
 * Wait at most timeout_ms (-1: without limit) for vixd to connect and
 * complete the handshake; *out is then a client to free with vix_close().
 * VIX_ERR_TIMEOUT as with vix_next_notification(). A peer that fails the
 * handshake or its certificate check gives VIX_ERR_TLS or VIX_ERR_CONNECT
 * naming why; the listener stays usable.
 */
VIX_API int vix_accept(vix_listener *l, int timeout_ms, vix_client **out,
    struct vix_error *err);

/* Stop listening and free l; accepted clients live on. NULL is allowed. */
VIX_API void vix_listener_close(vix_listener *l);

/* Send close_notify, close the socket and free c. NULL is allowed. */
VIX_API void vix_close(vix_client *c);

/* "INVALID_ARGUMENT" etc.; "UNKNOWN_STATUS" for a code not listed. */
VIX_API const char *vix_status_name(int status);

/*
 * What a vix_result means, in words for a message: VIX_OK "ok",
 * VIX_ERR_ARGS "invalid arguments", VIX_ERR_CONNECT "connection failed",
 * VIX_ERR_TLS "TLS failure", VIX_ERR_REFUSED "refused by server",
 * VIX_ERR_PROTOCOL "protocol error", VIX_ERR_NOMEM "out of memory",
 * VIX_ERR_TIMEOUT "timed out"; "unknown error" for a number not listed.
 * The vix CLI prints it before err.message ("vix: refused by server: ...").
 */
VIX_API const char *vix_result_name(int result);

/* The library's version, e.g. "0.1.0". */
VIX_API const char *vix_version(void);

#ifdef __cplusplus
}
#endif

#endif
