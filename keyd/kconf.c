/* keyd.conf. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "inifile.h"
#include "kconf.h"

struct kconf_ctx {
	struct kconf	*c;
	struct diag	*d;
	const char	*section;
};

/* A path relative to the folder of the configuration file. */
static void
kconf_path(char **field, const char *conf, const char *value)
{
	const char *slash = strrchr(conf, '/');
	char *out;

	if (value[0] == '/' || slash == NULL)
		out = strdup(value);
	else if (asprintf(&out, "%.*s/%s", (int)(slash - conf), conf,
	    value) == -1)
		out = NULL;
	if (out == NULL)
		abort();
	free(*field);
	*field = out;
}

static int
kconf_uint(struct kconf_ctx *x, const char *key, const char *value, int line,
    unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 ||
	    v > max) {
		diag_add(x->d, x->c->path, line, "%s: '%s' is not a whole "
		    "number from 0 to %u", key, value, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int
kconf_keyd(struct kconf_ctx *x, const char *key, const char *value, int line)
{
	struct kconf *c = x->c;

	if (strcmp(key, "listen") == 0) {
		free(c->listen);
		if ((c->listen = strdup(value)) == NULL)
			abort();
	} else if (strcmp(key, "orgs_file") == 0)
		kconf_path(&c->orgs_file, c->path, value);
	else if (strcmp(key, "key_file") == 0)
		kconf_path(&c->key_file, c->path, value);
	else if (strcmp(key, "audit_file") == 0)
		kconf_path(&c->audit_file, c->path, value);
	else if (strcmp(key, "rate") == 0)
		return kconf_uint(x, key, value, line, 10000000, &c->rate);
	else if (strcmp(key, "burst") == 0)
		return kconf_uint(x, key, value, line, 100000000, &c->burst);
	else if (strcmp(key, "max_connections") == 0)
		return kconf_uint(x, key, value, line, 100000,
		    &c->max_connections);
	else {
		diag_add(x->d, c->path, line, "[keyd]: unknown key '%s'", key);
		return -1;
	}
	return 0;
}

static int
kconf_tls(struct kconf_ctx *x, const char *key, const char *value, int line)
{
	struct vixd_config *t = &x->c->tls;

	if (strcmp(key, "certificate") == 0)
		kconf_path(&t->tls_certificate, x->c->path, value);
	else if (strcmp(key, "private_key") == 0)
		kconf_path(&t->tls_private_key, x->c->path, value);
	else if (strcmp(key, "ca_bundle") == 0)
		kconf_path(&t->tls_ca_bundle, x->c->path, value);
	else if (strcmp(key, "crl_file") == 0)
		kconf_path(&t->tls_crl_file, x->c->path, value);
	else if (strcmp(key, "min_version") == 0) {
		if (strcmp(value, "1.3") == 0)
			t->tls_min_version = TLS1_3_VERSION;
		else if (strcmp(value, "1.2") == 0)
			t->tls_min_version = TLS1_2_VERSION;
		else {
			diag_add(x->d, x->c->path, line, "min_version: '%s' "
			    "is not 1.2 or 1.3", value);
			return -1;
		}
	} else {
		diag_add(x->d, x->c->path, line, "[tls]: unknown key '%s'", key);
		return -1;
	}
	return 0;
}

static int
kconf_handler(void *arg, const char *section, const char *key,
    const char *value, int line, int continued)
{
	struct kconf_ctx *x = arg;

	if (key == NULL) {
		if (strcmp(section, "keyd") != 0 && strcmp(section, "tls") != 0) {
			diag_add(x->d, x->c->path, line, "unknown section "
			    "[%s] (expected [keyd] or [tls])", section);
			return -1;
		}
		return 0;
	}
	if (continued) {
		diag_add(x->d, x->c->path, line, "%s: %s", key,
		    inifile_indent_hint(value));
		return -1;
	}
	if (strcmp(section, "keyd") == 0)
		return kconf_keyd(x, key, value, line);
	return kconf_tls(x, key, value, line);
}

static void
kconf_require(struct kconf *c, const char *what, const char *v,
    struct diag *d)
{
	if (v == NULL)
		diag_add(d, c->path, 0, "%s is required", what);
}

int
kconf_load(struct kconf *c, const char *path, struct diag *d)
{
	struct kconf_ctx x = { c, d, NULL };
	int before = d->count;

	memset(c, 0, sizeof(*c));
	if ((c->path = strdup(path)) == NULL ||
	    (c->listen = strdup(KCONF_DEFAULT_LISTEN)) == NULL)
		abort();
	c->rate = KCONF_DEFAULT_RATE;
	c->max_connections = 1024;
	c->tls.tls_min_version = TLS1_3_VERSION;
	inifile_parse(path, kconf_handler, &x, d);
	kconf_require(c, "[keyd] orgs_file", c->orgs_file, d);
	kconf_require(c, "[keyd] key_file", c->key_file, d);
	kconf_require(c, "[keyd] audit_file", c->audit_file, d);
	kconf_require(c, "[tls] certificate", c->tls.tls_certificate, d);
	kconf_require(c, "[tls] private_key", c->tls.tls_private_key, d);
	kconf_require(c, "[tls] ca_bundle", c->tls.tls_ca_bundle, d);
	if (c->burst == 0)
		c->burst = c->rate > KCONF_BATCH_MAX ? c->rate : KCONF_BATCH_MAX;
	/* A batch above the burst could never be let through. */
	if (c->rate != 0 && c->burst < KCONF_BATCH_MAX)
		diag_add(d, path, 0, "burst %u is below %d, the largest "
		    "Evaluate batch, which would never be allowed; raise it",
		    c->burst, KCONF_BATCH_MAX);
	return d->count == before ? 0 : -1;
}

void
kconf_free(struct kconf *c)
{
	free(c->path);
	free(c->listen);
	free(c->orgs_file);
	free(c->key_file);
	free(c->audit_file);
	free(c->tls.tls_certificate);
	free(c->tls.tls_private_key);
	free(c->tls.tls_ca_bundle);
	free(c->tls.tls_crl_file);
	memset(c, 0, sizeof(*c));
}
