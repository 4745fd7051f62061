/*
 * vix-portal: the organisation's web portal for professionals and
 * coordinators. One process serves one organisation: it speaks to vixd
 * through libvix with the organisation's certificate, so it can do no more
 * than libvix lets that organisation do, and names the person behind each
 * request as the actor in the index's audit trail.
 */
#ifndef VIX_PORTAL_H
#define VIX_PORTAL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "vix/client.h"

#define PORTAL_USERS_MAX	256
#define PORTAL_SESSIONS_MAX	1024
#define PORTAL_NOTES_MAX	50	/* notifications kept for the page */
#define PORTAL_NAME_MAX		65	/* a user name: an actor, 64 bytes */
#define PORTAL_TOKEN_LEN	64	/* hex digits of a session id or token */
#define PORTAL_IDLE_DEFAULT	900	/* seconds: 15 minutes */

enum portal_role {
	ROLE_PROFESSIONAL = 1,	/* register, withdraw, own signals, matches */
	ROLE_COORDINATOR = 2,	/* also the worklist and coordination */
};

enum portal_lang {
	LANG_NL = 0,		/* the default */
	LANG_EN = 1,
	LANG_COUNT
};

/* A person who may use the portal, with the contact a form starts with. */
struct portal_user {
	char			name[PORTAL_NAME_MAX];	/* the actor */
	enum portal_role	role;
	char			contact_name[129];
	char			contact_phone[33];
	char			contact_email[255];
};

struct portal_conf {
	int		 dev;			/* --dev: test users, /login */
	char		 org[33];		/* --dev: the organisation */
	char		 listen[300];		/* HOST:PORT of the HTTP server */
	char		 server[300];		/* vixd */
	char		 cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
	char		 keyholder[300];	/* "": none */
	char		 static_dir[PATH_MAX];	/* the NL Design System CSS */
	char		 user_header[64];	/* set by the proxy */
	char		 trusted_proxy[64];	/* the only address it may come from */
	unsigned	 session_idle;		/* seconds */
	int		 secure_cookie;		/* the browser speaks HTTPS */
	enum portal_lang lang;			/* default language */
	unsigned	 timeout_ms;		/* each call to vixd */
	size_t		 nusers;
	struct portal_user users[PORTAL_USERS_MAX];
};

/*
 * Read path (NULL: none) into c after the built-in defaults (with c->dev
 * already set: the development ones). Returns 0, or -1 with every problem
 * added to d ("file:line: problem").
 */
struct diag;
int	portal_conf_load(struct portal_conf *c, const char *path,
	    struct diag *d);
/* Fill in what development mode takes from dir (vixd --dev's material). */
int	portal_conf_dev(struct portal_conf *c, const char *dir,
	    struct diag *d);
/* The user named name, or NULL. */
const struct portal_user *portal_user_find(const struct portal_conf *c,
	    const char *name);

/* The connection to the index, and the notifications kept for the page. */
struct portal_index {
	struct vix_options	 opt;
	vix_client		*c;	/* requests; NULL: connect at next use */
	vix_client		*sub;	/* the subscription; NULL: none */
	struct event		*ev_sub;	/* sub readable */
	struct event		*ev_retry;	/* subscribe again */
	int			 sub_refused;	/* the index said no: stop */
	struct vix_org		 org;	/* who we are, from ping */
	size_t			 nnotes;	/* kept, at most PORTAL_NOTES_MAX */
	size_t			 next;	/* where the next one goes */
	struct vix_notification	 notes[PORTAL_NOTES_MAX];
};

struct sessions;
struct event_base;
struct evhttp;

struct portal {
	struct portal_conf	*conf;
	struct sessions		*sessions;
	struct event_base	*base;
	struct evhttp		*http;
	struct portal_index	 ix;
	char			 url[320];	/* where it listens */
};

#endif
