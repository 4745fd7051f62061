/*
 * libvix: the client library of the vix reference index.
 *
 * A vix_client is one mutually authenticated TLS connection to vixd. It is
 * not thread-safe: use one per thread, or lock around calls. Every call
 * that can fail returns VIX_OK or a vix_result, and fills the caller's
 * struct vix_error (which may be NULL) with the kind of failure, the
 * server's status code where the server refused, and a message that names
 * what is wrong. Results are returned in caller-owned structs with fixed
 * size fields; libvix keeps no pointer to them.
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

struct vix_error {
	enum vix_result	 kind;
	int		 status;	/* enum vix_status, with VIX_ERR_REFUSED */
	char		 message[512];
};

struct vix_options {
	const char	*server;	/* "host:port" or "[v6]:port" */
	const char	*cert_file;	/* PEM client certificate (with chain) */
	const char	*key_file;	/* PEM private key */
	const char	*ca_file;	/* PEM CA bundle that signed the server */
	int		 timeout_ms;	/* connect and each call; 0: 10 s */
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

/* Send close_notify, close the socket and free c. NULL is allowed. */
VIX_API void vix_close(vix_client *c);

/* "INVALID_ARGUMENT" etc.; "UNKNOWN_STATUS" for a code not listed. */
VIX_API const char *vix_status_name(int status);

/* "connect", "tls", "refused", ... */
VIX_API const char *vix_result_name(int result);

/* The library's version, e.g. "0.1.0". */
VIX_API const char *vix_version(void);

#ifdef __cplusplus
}
#endif

#endif
