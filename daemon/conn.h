/*
 * One TLS connection: handshake, framing, back-pressure, teardown. It
 * knows nothing of requests or identities: it calls the layer above only
 * through the callbacks it was made with (session.c for clients, push.c
 * for the partners vixd dials).
 */
#ifndef VIX_CONN_H
#define VIX_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <protobuf-c/protobuf-c.h>

#include "frame.h"

struct conn;
struct hsgate_addr;
struct worker;

/* The layer above; every callback gets the arg given with it. */
struct conn_cb {
	/* The TLS handshake is done: decide whether to serve (conn_serve). */
	void	(*ready)(void *arg);
	/* One whole frame came: its body, len bytes (valid during the call). */
	void	(*frame)(void *arg, const uint8_t *body, size_t len);
	/*
	 * The peer sent a frame header that cannot be (r; a length of len
	 * bytes over max_frame for FRAME_ERR_TOO_LARGE): the last word to
	 * the peer. The connection ends after.
	 */
	void	(*bad_frame)(void *arg, enum frame_result r, size_t len,
		    size_t max_frame);
	/*
	 * The connection is released; the last call, after every job it
	 * held came back. reason is what conn_teardown was given.
	 */
	void	(*closed)(void *arg, const char *reason);
};

/*
 * Take over an accepted socket on worker w with ssl (a new SSL object of
 * the server context) and start the TLS handshake; the handshake was
 * counted in the hsgate for addr, and the connection takes it out when the
 * handshake ends. NULL if it could not be set up (logged; the socket is
 * closed, ssl freed, the hsgate left).
 */
struct conn *conn_accept(struct worker *w, int fd, SSL *ssl,
	    const struct hsgate_addr *addr, const struct conn_cb *, void *arg);

/*
 * Dial host:port with ssl (a new SSL object of the client context; the
 * peer's certificate must name host). DNS and connect are asynchronous.
 * NULL if it could not be set up (logged; ssl freed).
 */
struct conn *conn_dial(struct worker *w, SSL *ssl, const char *host,
	    uint16_t port, const struct conn_cb *, void *arg);

/* Who the peer is, for the log lines of c (an organisation's id). */
void	conn_set_peer(struct conn *, const char *label);

/*
 * The layer above accepted the peer: requests are read from now on, and a
 * connection silent for idle_secs (0: never) is closed.
 */
void	conn_serve(struct conn *, unsigned idle_secs);

/*
 * Output is mostly a stream the peer acknowledges (a subscription, a push
 * target): no idle timeout, and no limit on unsent bytes that would stop
 * reading the acknowledgements.
 */
void	conn_stream_mode(struct conn *);

/*
 * The one way a connection ends. Logs reason once at info level, stops
 * reading, lets queued output drain, sends close_notify and frees.
 */
void	conn_teardown(struct conn *, const char *reason);

/* Close the sockets still lingering after their connections (worker exit). */
void	conn_linger_free_all(struct worker *w);

/* conn_teardown every connection of worker w. */
void	conn_teardown_all(struct worker *w, const char *reason);

/*
 * Free every connection of w at once, without waiting for output (the
 * shutdown grace expired); one with a job at the writer is freed when the
 * job is back.
 */
void	conn_abort_all(struct worker *w);

/*
 * A request of this connection went to the writer. At max_inflight of them
 * the connection is no longer read from until one comes back
 * (back-pressure: a pipelining client slows down, nothing is refused).
 */
void	conn_job_submitted(struct conn *);

/* A job of this connection came back from the writer. */
void	conn_job_returned(struct conn *);

/* Whether the peer is served (accepted and not closing). */
int	conn_is_open(const struct conn *);

/* Queue one framed message; -1 if the connection failed (torn down). */
int	conn_send(struct conn *, const ProtobufCMessage *);

/* Queue the concatenation of three byte ranges; -1 if the connection failed. */
int	conn_send_bytes(struct conn *, const void *a, size_t al, const void *b,
	    size_t bl, const void *c, size_t cl);

/* Bytes queued for the peer and not yet written. */
size_t	conn_output_length(struct conn *);

/* The serial number of c, for logs. */
uint64_t conn_id(const struct conn *);

/* The TLS object of c (the peer's certificate, the version). */
SSL	*conn_ssl(struct conn *);

#endif
