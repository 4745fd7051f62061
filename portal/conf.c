/*
 * vix-portal's configuration: an INI file (inih, as vixd's), with a
 * built-in default for every key, and the development material of
 * vixd --dev in --dev mode.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bsnarg.h"
#include "diag.h"
#include "inifile.h"
#include "portal.h"
#include "rules.h"

#define DEV_SERVER	"127.0.0.1:7411"
#define DEV_LISTEN	"127.0.0.1:0"
#define PROD_LISTEN	"127.0.0.1:8080"
#define IDLE_MIN	1
#define IDLE_MAX	86400
#define TIMEOUT_MAX	120000

struct conf_ctx {
	struct portal_conf	*c;
	const char		*path;
	struct diag		*d;
	struct portal_user	*user;	/* the [user NAME] being read */
};

/* A key that holds a string; the fields all live in struct portal_conf. */
struct conf_key {
	const char	*section;
	const char	*name;
	size_t		 offset;
	size_t		 size;
};

#define KEY(s, n, f) { s, n, offsetof(struct portal_conf, f), \
	sizeof(((struct portal_conf *)0)->f) }
static const struct conf_key conf_keys[] = {
	KEY("portal", "listen", listen),
	KEY("portal", "static_dir", static_dir),
	KEY("index", "server", server),
	KEY("index", "certificate", cert),
	KEY("index", "private_key", key),
	KEY("index", "ca_bundle", ca),
	KEY("index", "keyholder", keyholder),
	KEY("login", "user_header", user_header),
	KEY("login", "trusted_proxy", trusted_proxy),
};
#undef KEY

/*
 * Test users of development mode, per organisation of vixd --dev's
 * material: a professional and a coordinator each.
 */
static const struct portal_user dev_users[][2] = {
	{ { "a.jansen", ROLE_PROFESSIONAL, "A. Jansen", "0501234567",
	    "a.jansen@org-a.example" },
	  { "a.smit", ROLE_COORDINATOR, "A. Smit", "0501234568",
	    "a.smit@org-a.example" } },
	{ { "b.devries", ROLE_PROFESSIONAL, "B. de Vries", "0201234567",
	    "b.devries@org-b.example" },
	  { "b.visser", ROLE_COORDINATOR, "B. Visser", "0201234568",
	    "b.visser@org-b.example" } },
};

static void
conf_defaults(struct portal_conf *c)
{
	snprintf(c->listen, sizeof(c->listen), "%s",
	    c->dev ? DEV_LISTEN : PROD_LISTEN);
	snprintf(c->static_dir, sizeof(c->static_dir), "%s",
	    c->dev ? VIX_PORTAL_DEV_STATIC : VIX_PORTAL_STATIC);
	snprintf(c->user_header, sizeof(c->user_header), "X-Remote-User");
	snprintf(c->trusted_proxy, sizeof(c->trusted_proxy), "127.0.0.1");
	c->session_idle = PORTAL_IDLE_DEFAULT;
	c->secure_cookie = !c->dev;
	c->lang = LANG_NL;
	c->timeout_ms = 10000;
}

static int
conf_number(struct conf_ctx *x, int line, const char *key, const char *v,
    unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 ||
	    n < lo || n > hi) {
		diag_add(x->d, x->path, line, "%s: '%s' is not a number from "
		    "%u to %u", key, v, lo, hi);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

static int
conf_bool(struct conf_ctx *x, int line, const char *key, const char *v,
    int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
		*out = strcmp(v, "yes") == 0;
		return 0;
	}
	diag_add(x->d, x->path, line, "%s: '%s' is not yes or no", key, v);
	return -1;
}

static int
conf_lang(struct conf_ctx *x, int line, const char *v)
{
	if (strcmp(v, "nl") == 0 || strcmp(v, "en") == 0) {
		x->c->lang = strcmp(v, "en") == 0 ? LANG_EN : LANG_NL;
		return 0;
	}
	diag_add(x->d, x->path, line, "language: '%s' is not nl or en", v);
	return -1;
}

static int
conf_string(struct conf_ctx *x, const char *section, const char *key,
    const char *v, int line, int *found)
{
	size_t i;

	for (i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++) {
		const struct conf_key *k = &conf_keys[i];

		if (strcmp(k->section, section) != 0 ||
		    strcmp(k->name, key) != 0)
			continue;
		*found = 1;
		if (strlen(v) >= k->size) {
			diag_add(x->d, x->path, line, "%s: too long", key);
			return -1;
		}
		memcpy((char *)x->c + k->offset, v, strlen(v) + 1);
		return 0;
	}
	return 0;
}

static int
conf_other(struct conf_ctx *x, const char *section, const char *key,
    const char *v, int line)
{
	if (strcmp(section, "portal") == 0 && strcmp(key, "language") == 0)
		return conf_lang(x, line, v);
	if (strcmp(section, "portal") == 0 && strcmp(key, "session_idle") == 0)
		return conf_number(x, line, key, v, IDLE_MIN, IDLE_MAX,
		    &x->c->session_idle);
	if (strcmp(section, "portal") == 0 &&
	    strcmp(key, "secure_cookie") == 0)
		return conf_bool(x, line, key, v, &x->c->secure_cookie);
	if (strcmp(section, "index") == 0 && strcmp(key, "timeout_ms") == 0)
		return conf_number(x, line, key, v, 1, TIMEOUT_MAX,
		    &x->c->timeout_ms);
	diag_add(x->d, x->path, line, "unknown key '%s' in [%s]", key, section);
	return -1;
}

/* Field of a [user NAME] section: its role and contact defaults. */
static int
conf_user_key(struct conf_ctx *x, const char *key, const char *v, int line)
{
	struct portal_user *u = x->user;
	char *dst = NULL;
	size_t size = 0;

	if (strcmp(key, "role") == 0) {
		if (strcmp(v, "professional") == 0 ||
		    strcmp(v, "coordinator") == 0) {
			u->role = v[0] == 'c' ? ROLE_COORDINATOR :
			    ROLE_PROFESSIONAL;
			return 0;
		}
		diag_add(x->d, x->path, line, "role: '%s' is not professional "
		    "or coordinator", v);
		return -1;
	}
	if (strcmp(key, "contact_name") == 0) {
		dst = u->contact_name;
		size = sizeof(u->contact_name);
	} else if (strcmp(key, "contact_phone") == 0) {
		dst = u->contact_phone;
		size = sizeof(u->contact_phone);
	} else if (strcmp(key, "contact_email") == 0) {
		dst = u->contact_email;
		size = sizeof(u->contact_email);
	}
	if (dst == NULL || strlen(v) >= size) {
		diag_add(x->d, x->path, line, dst == NULL ? "unknown key '%s' "
		    "in [user]" : "%s: too long", key);
		return -1;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int
conf_user_section(struct conf_ctx *x, const char *name, int line)
{
	const char *why;
	struct portal_user *u;

	x->user = NULL;
	if (rules_check_actor(name, &why) == -1 || name[0] == '\0') {
		diag_add(x->d, x->path, line, "[user NAME]: the name is not "
		    "one the index takes as an actor (%s)", name[0] == '\0' ?
		    "empty" : why);
		return -1;
	}
	if (portal_user_find(x->c, name) != NULL ||
	    x->c->nusers == PORTAL_USERS_MAX) {
		diag_add(x->d, x->path, line, x->c->nusers == PORTAL_USERS_MAX ?
		    "more than %d users" : "user given twice", PORTAL_USERS_MAX);
		return -1;
	}
	u = &x->c->users[x->c->nusers++];
	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->role = ROLE_PROFESSIONAL;
	x->user = u;
	return 0;
}

static int
conf_handler(void *ctx, const char *section, const char *key,
    const char *value, int line, int continued)
{
	struct conf_ctx *x = ctx;
	int found = 0;

	if (strncmp(section, "user ", 5) == 0 && key == NULL)
		return conf_user_section(x, section + 5, line);
	if (key == NULL) {
		x->user = NULL;
		if (strcmp(section, "portal") == 0 ||
		    strcmp(section, "index") == 0 ||
		    strcmp(section, "login") == 0)
			return 0;
		diag_add(x->d, x->path, line, "unknown section [%s]", section);
		return -1;
	}
	if (continued) {
		diag_add(x->d, x->path, line, "%s: a value is one line", key);
		return -1;
	}
	if (strncmp(section, "user ", 5) == 0)
		return x->user == NULL ? -1 : conf_user_key(x, key, value, line);
	if (conf_string(x, section, key, value, line, &found) == -1 || found)
		return found ? 0 : -1;
	return conf_other(x, section, key, value, line);
}

int
portal_conf_load(struct portal_conf *c, const char *path, struct diag *d)
{
	struct conf_ctx x = { .c = c, .path = path, .d = d };

	conf_defaults(c);
	if (path != NULL && inifile_parse(path, conf_handler, &x, d) != 0 &&
	    d->count == 0)
		diag_add(d, path, 0, "cannot be read");
	if (!c->dev && (c->server[0] == '\0' || c->cert[0] == '\0' ||
	    c->key[0] == '\0' || c->ca[0] == '\0'))
		diag_add(d, path, 0, "[index] needs server, certificate, "
		    "private_key and ca_bundle (or run with --dev)");
	return d->count == 0 ? 0 : -1;
}

static void
conf_dev_users(struct portal_conf *c)
{
	size_t which = strcmp(c->org, "org-b") == 0 ? 1 : 0;
	size_t i;

	if (c->nusers > 0)
		return;
	for (i = 0; i < 2; i++)
		c->users[i] = dev_users[which][i];
	if (strcmp(c->org, "org-a") != 0 && strcmp(c->org, "org-b") != 0) {
		snprintf(c->users[0].name, sizeof(c->users[0].name),
		    "professional.%s", c->org);
		snprintf(c->users[1].name, sizeof(c->users[1].name),
		    "coordinator.%s", c->org);
	}
	c->nusers = 2;
}

int
portal_conf_dev(struct portal_conf *c, const char *dir, struct diag *d)
{
	if (c->server[0] == '\0')
		snprintf(c->server, sizeof(c->server), "%s", DEV_SERVER);
	if (c->cert[0] == '\0')
		snprintf(c->cert, sizeof(c->cert), "%s/%s.pem", dir, c->org);
	if (c->key[0] == '\0')
		snprintf(c->key, sizeof(c->key), "%s/%s.key", dir, c->org);
	if (c->ca[0] == '\0')
		snprintf(c->ca, sizeof(c->ca), "%s/ca.pem", dir);
	if (c->keyholder[0] == '\0')
		(void)bsnarg_dev_keyholder(dir, c->keyholder,
		    sizeof(c->keyholder));
	conf_dev_users(c);
	if (access(c->cert, R_OK) != 0)
		diag_add(d, NULL, 0, "--dev: %s: %s (start vixd --dev first, "
		    "or give --dev-dir)", c->cert, strerror(errno));
	return d->count == 0 ? 0 : -1;
}

const struct portal_user *
portal_user_find(const struct portal_conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nusers; i++)
		if (strcmp(c->users[i].name, name) == 0)
			return &c->users[i];
	return NULL;
}
