/*
 * Sessions of vix-portal: a random id in a cookie, a CSRF token for the
 * forms of the session, the user, and an idle timeout. Kept in memory
 * only: a restart logs everyone out.
 */
#ifndef VIX_PORTAL_SESSION_H
#define VIX_PORTAL_SESSION_H

#include <stdint.h>

#include "portal.h"

struct session {
	int		 in_use;
	char		 id[PORTAL_TOKEN_LEN + 1];	/* hex, the cookie */
	char		 csrf[PORTAL_TOKEN_LEN + 1];	/* hex, the forms' */
	char		 user[PORTAL_NAME_MAX];		/* "": not logged in */
	int64_t		 last;		/* monotonic seconds of its last use */
};

struct sessions {
	unsigned	 idle;		/* seconds without use before it ends */
	struct session	 s[PORTAL_SESSIONS_MAX];
};

/* Monotonic seconds. */
int64_t		 session_now(void);

/*
 * The live session with id at now (and its use recorded), or NULL; a
 * session idle for too long is ended and *expired set (which may be NULL).
 */
struct session	*session_find(struct sessions *, const char *id, int64_t now,
		    int *expired);

/*
 * A new session with fresh random id and token (the longest idle one is
 * ended when all are taken); NULL if no random bytes could be had.
 */
struct session	*session_new(struct sessions *, int64_t now);

/* Forget the session. */
void		 session_end(struct session *);

/* Whether token is the session's CSRF token (compared in constant time). */
int		 session_csrf_ok(const struct session *, const char *token);

#endif
