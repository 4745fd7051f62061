/*
 * keyd.conf, INI as vixd.conf: [keyd] listen, orgs_file, key_file,
 * audit_file, rate, burst, max_connections; [tls] certificate,
 * private_key, ca_bundle, crl_file, min_version. Relative paths are taken
 * from the file's folder.
 */
#ifndef VIX_KEYD_KCONF_H
#define VIX_KEYD_KCONF_H

#include "config.h"
#include "diag.h"

#define KCONF_DEFAULT_PATH	"/etc/vix/keyd.conf"
#define KCONF_DEFAULT_LISTEN	"127.0.0.1:7413"
#define KCONF_DEFAULT_RATE	1000	/* evaluations/s per organisation */
#define KCONF_BATCH_MAX		256	/* elements in one Evaluate */

struct kconf {
	char		*path;
	char		*listen;
	char		*orgs_file;
	char		*key_file;
	char		*audit_file;
	unsigned	 rate;		/* 0: no limit */
	unsigned	 burst;		/* at least KCONF_BATCH_MAX */
	unsigned	 max_connections;
	/*
	 * [tls], in the shape tls_server_ctx takes: only its tls_* fields
	 * are set.
	 */
	struct vixd_config tls;
};

/*
 * Read path into c (defaults first). Every problem goes to d as
 * "path:line: problem"; returns 0 if there was none.
 */
int	kconf_load(struct kconf *c, const char *path, struct diag *d);
void	kconf_free(struct kconf *c);

#endif
