/*
 * vixd.conf: INI, every key with a built-in default. Relative paths are
 * resolved against the directory of the file that names them.
 */
#ifndef VIX_CONFIG_H
#define VIX_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "policy.h"

#define CONFIG_DEFAULT_LISTEN		"127.0.0.1:7411"
#define CONFIG_DEFAULT_ADMIN_LISTEN	"127.0.0.1:7412"
#define CONFIG_DEFAULT_PATH		"/etc/vix/vixd.conf"
#define CONFIG_DEFAULT_CONTROL_SOCKET	"/run/vix/control.sock"
#define CONFIG_DEFAULT_RATE_LIMIT	100	/* requests/s per organisation */
#define CONFIG_DEFAULT_MAX_NEW_PER_DAY	2000	/* new signals per organisation */

/* Reminder points in remind_after, at most (STORE_REMIND_MAX). */
#define CONFIG_REMIND_MAX		8

/* A list of durations, ascending: remind_after. */
struct config_durations {
	int64_t		 v[CONFIG_REMIND_MAX];	/* seconds */
	size_t		 n;		/* no padding: compared with memcmp */
};

struct vixd_config {
	char		*path;			/* file read, NULL for defaults */

	/* [server] */
	char		*listen;		/* HOST:PORT */
	char		*admin_listen;
	unsigned	 workers;		/* 0: cores - 1, at least 1 */
	size_t		 max_frame;
	unsigned	 max_connections;
	unsigned	 max_handshakes;	/* accepted, TLS not done */
	unsigned	 max_handshakes_per_address;
	unsigned	 handshake_timeout;	/* seconds */
	unsigned	 admin_max_connections;
	unsigned	 admin_timeout;		/* seconds */
	unsigned	 idle_timeout;		/* seconds, 0: none */
	unsigned	 max_inflight;		/* writes per connection not yet
						   answered; then it is not read */
	unsigned	 rate_limit;		/* requests/s per organisation,
						   0: none */
	unsigned	 rate_burst;		/* 0: rate_limit */
	unsigned	 max_new_signals_per_day; /* per organisation,
						   0: none */
	unsigned	 shutdown_grace;	/* seconds */
	char		*orgs_file;
	char		*pseudonym_key_file;	/* pseudonyms = server */
	int		 pseudonyms_blind;	/* pseudonyms = blind */
	char		*data_dir;
	char		*control_socket;	/* unix socket for vixctl */

	/*
	 * [key_holder]: with pseudonyms = blind, the key holder vixd asks for
	 * its key versions (at start) and rotation tokens, as the
	 * organisation with role index that its client certificate names.
	 */
	char		*keyholder;		/* HOST:PORT, NULL: none */
	char		*keyholder_certificate;
	char		*keyholder_private_key;
	char		*keyholder_ca_bundle;

	/* [store] */
	char		*store_backend;		/* lmdb (default), postgresql */
	char		*store_conninfo;	/* postgresql: libpq string */
	char		*store_password_file;	/* postgresql: NULL, or 0600 */
	size_t		 map_size;		/* bytes */
	unsigned	 quota_percent;
	unsigned	 batch_max;		/* writes per commit */
	unsigned	 batch_wait_us;		/* wait for more, at most */
	unsigned	 queue_max;		/* writes waiting, at most */

	unsigned	 sweep_chunk;		/* rows per sweep pass */
	int64_t		 sweep_interval;	/* seconds */

	/* [rules]: the policy (policy.h), and whose days are the law's */
	struct policy	 policy;
	char		*zone;
	/* [rules]: following a match up until it is coordinated */
	struct config_durations remind_after;	/* each below escalate_after */
	int64_t		 reescalate_after;	/* seconds */
	unsigned	 reescalate_max;	/* 0: escalate once */
	/* [rules]: youths sharing a named parent match (1: on; default 0) */
	int		 family_match;

	/* [notify] */
	unsigned	 subscribe_window;	/* unacked per recipient */
	int64_t		 outbox_retention;	/* seconds */

	/* [report] */
	unsigned	 report_min_count;	/* smaller counts: "< N" */

	/* [webhook]: delivery to organisations' webhooks, in seconds */
	int64_t		 webhook_connect_timeout;
	int64_t		 webhook_timeout;	/* a whole request, at most */
	int64_t		 webhook_retry_min;	/* first back-off */
	int64_t		 webhook_retry_max;	/* longest back-off */
	int64_t		 webhook_failing_after;	/* failing this long: "failing" */

	/* [tls] */
	char		*tls_certificate;
	char		*tls_private_key;
	char		*tls_ca_bundle;
	char		*tls_crl_file;		/* NULL: no CRL */
	int		 tls_min_version;	/* TLS1_2_VERSION or TLS1_3_VERSION */
};

/* Fill every key with its built-in default (production paths). */
void	config_defaults(struct vixd_config *);

/*
 * Read path over the current values. Every problem is added to d as
 * "path:line: problem"; returns 0 if there was none.
 */
int	config_load(struct vixd_config *, const char *path, struct diag *d);
/*
 * pseudonyms = blind has a key holder to ask, and a key holder has the
 * client certificate to ask with. 0, or -1 after adding to d.
 */
int	config_check_keyholder(const struct vixd_config *, struct diag *d);

/* Replace a string setting (used for command-line overrides and dev mode). */
void	config_set(char **field, const char *value);

void	config_free(struct vixd_config *);

/*
 * A reload: take from nc the keys that may change while vixd runs
 * (orgs_file, [tls], sweeps, retention, at_expiry, at_age_limit,
 * max_connections, rate_limit, rate_burst and max_new_signals_per_day)
 * into cur, and
 * append one line per changed key to buf, saying so for those that need a
 * restart. listen and admin_listen are left out: the command line may
 * override them.
 */
void	config_reload(struct vixd_config *cur, struct vixd_config *nc,
	    char *buf, size_t len);

/*
 * A file holding a secret must exist, be a regular file and not be group or
 * world accessible. Returns 0, or -1 after adding a problem (with the fix)
 * to d.
 */
int	config_check_secret(const char *path, const char *what, struct diag *d);

#endif
