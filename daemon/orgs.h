/*
 * The organisation registry loaded from orgs.conf. A loaded registry is
 * immutable and reference counted: a reload builds a new one and swaps it;
 * each connection moves to the new one (or is closed) when it is next
 * checked.
 */
#ifndef VIX_ORGS_H
#define VIX_ORGS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "webhooksig.h"

#define ORG_ID_MAX	32
#define ORG_NAME_MAX	128
#define OIN_LEN		20
#define MUNI_LEN	4
#define ORG_TYPE_MAX	24	/* characters of an organisation type */
/*
 * Distinct types one orgs.conf may give: the regional figures keep each
 * month's counts per type in one record of bounded size (figures.h).
 */
#define ORG_TYPES_MAX	16

enum org_role {
	ROLE_REGISTER	= 1 << 0,	/* may register and withdraw signals */
	ROLE_SUBSCRIBE	= 1 << 1,	/* may receive notifications */
	ROLE_ADMIN	= 1 << 2,	/* administrative requests */
	ROLE_INDEX	= 1 << 3,	/* the index itself, to vix-keyd:
					   rotation tokens */
};

/* Where and how vixd POSTs an organisation's notifications (webhook.c). */
struct org_webhook {
	char			*url;		/* https://HOST[:PORT]/PATH */
	char			*ca;		/* CA bundle; NULL: the system's */
	char			*secret_file;	/* as resolved, for messages */
	struct webhook_key	 key;		/* from the secret file */
	int			 line, secret_line, ca_line;
};

struct org {
	char		  id[ORG_ID_MAX + 1];	/* handle: [a-z0-9][a-z0-9._-]* */
	char		  name[ORG_NAME_MAX + 1];
	char		  oin[OIN_LEN + 1];
	unsigned	  roles;
	unsigned	  rank;			/* coordination: lower wins */
	uint32_t	  sid;			/* permanent id in the store */
	char		  municipality[MUNI_LEN + 1];	/* "" if none */
	char		  type[ORG_TYPE_MAX + 1];	/* for the figures; "" */
	const struct org **receives_for;	/* partner delegation */
	size_t		  n_receives_for;
	int		  line;			/* first line of its section */
	char		 *receives_for_names;	/* as written, until resolved */
	int		  require_actor;	/* requests name the professional */
	char		  push[256];		/* HOST:PORT vixd dials, or "" */
	int		  push_line;
	struct org_webhook *webhook;		/* NULL: none */
	int		  receives_for_line;
};

struct municipality {
	char		  code[MUNI_LEN + 1];
	const struct org *escalation;
	char		 *escalation_name;
	int		  line;
};

struct orgs {
	atomic_int		  refs;
	char			 *path;
	struct org		 *v;
	size_t			  n;
	const struct org	**by_oin;	/* sorted by OIN */
	const struct org	**by_sid;	/* sorted by store id, once bound */
	struct municipality	 *munis;
	size_t			  nmunis;
	const struct org	 *default_escalation;
	char			 *default_escalation_name;
	int			  default_escalation_line;
};

/*
 * Load and check path. Returns a registry with one reference, or NULL after
 * adding every problem to d as "path:line: problem".
 */
struct orgs	*orgs_load(const char *path, struct diag *d);
struct orgs	*orgs_ref(struct orgs *);
void		 orgs_unref(struct orgs *);

const struct org *orgs_by_oin(const struct orgs *, const char *oin);
const struct org *orgs_by_id(const struct orgs *, const char *id);
/* By store id (set by store_bind_orgs); NULL if no longer in orgs.conf. */
const struct org *orgs_by_sid(const struct orgs *, uint32_t sid);

/* Index the store ids once they are all set (store_bind_orgs does it). */
void		 orgs_index_sids(struct orgs *);
/* The escalation organisation for a municipality code, or the default; may be NULL. */
const struct org *orgs_escalation(const struct orgs *, const char *municipality);
/*
 * Whether org may receive notifications meant for recipient: only with the
 * role 'subscribe', its own, or by delegation (receives_for).
 */
int		 orgs_may_receive_for(const struct org *org,
		    const struct org *recipient);

/* "register,subscribe" etc. into buf. */
const char	*orgs_roles_string(unsigned roles, char *buf, size_t len);

/*
 * NULL if s may be an organisation type (1-24 of a-z 0-9 - starting with
 * a letter, not "all", which names a report's regional row), else why not.
 */
const char	*orgs_type_invalid(const char *s);
/* True if s is exactly 20 ASCII digits. */
int		 orgs_valid_oin(const char *s);
/* NULL if url may be an organisation's webhook, else why not. */
#define ORG_WEBHOOK_URL_MAX	500
const char	*orgs_webhook_url_invalid(const char *url);
/* Whether two webhooks (either may be NULL) deliver differently. */
int		 orgs_webhook_differs(const struct org_webhook *,
		    const struct org_webhook *);

#endif
