/* vixd's error codes, and the one mapping to protocol status codes. */
#ifndef VIX_ERRORS_H
#define VIX_ERRORS_H

enum vix_err {
	VIX_E_OK = 0,
	VIX_E_INVALID = -1,	/* INVALID_ARGUMENT */
	VIX_E_NOT_FOUND = -2,	/* NOT_FOUND */
	VIX_E_PERMISSION = -3,	/* PERMISSION_DENIED */
	VIX_E_FULL = -4,	/* RESOURCE_EXHAUSTED: store quota or map full */
	VIX_E_STORE = -5,	/* INTERNAL: the store failed */
	VIX_E_UNAVAILABLE = -6,	/* UNAVAILABLE: shutting down */
	VIX_E_PRECONDITION = -7,	/* FAILED_PRECONDITION */
	VIX_E_LIMIT = -8,	/* RESOURCE_EXHAUSTED: an organisation's daily cap */
	/*
	 * Internal: the transaction lost to another writer's (a deadlock or
	 * a serialization failure); nothing of it is stored and it can run
	 * again. Answered as UNAVAILABLE if it still fails.
	 */
	VIX_E_CONFLICT = -9,
};

/* The vix.v1.Status.Code for an error. */
int		 err_to_status(int err);
/* "ok", "not_found", ... for logs and audit records. */
const char	*err_name(int err);

#endif
