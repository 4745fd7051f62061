/* orgs.conf: the organisations the index knows, their roles and delegation. */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "addr.h"
#include "inifile.h"
#include "orgs.h"

#define ORGS_MAX	100000
#define RANK_DEFAULT	100
#define RANK_MAX	1000000

/* The keys of each kind of section: one given twice in one is refused. */
enum { ORG_OIN, ORG_NAME, ORG_ROLES };
static const char *const org_keys[] = { "oin", "name", "roles", "rank",
    "municipality", "push", "receives_for", "webhook", "webhook_secret",
    "webhook_ca", "require_actor", "type", NULL };
static const char *const muni_keys[] = { "escalation", NULL };

#define ORGS_SECTION_KEYS	12	/* the most keys a kind of section has */

struct orgs_ctx {
	struct orgs	*o;
	struct diag	*d;
	struct org	*cur;		/* section being read, if [org ...] */
	struct municipality *muni;	/* section being read, if [municipality ...] */
	char		 section[128];	/* last section seen */
	int		 section_ok;
	const char *const *keys;	/* of the section being read */
	int		 key_line[ORGS_SECTION_KEYS];	/* where each was given */
};

int
orgs_valid_oin(const char *s)
{
	size_t i;

	for (i = 0; i < OIN_LEN; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[i] == '\0';
}

static int
orgs_valid_handle(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ORG_ID_MAX || !(islower((unsigned char)s[0]) ||
	    isdigit((unsigned char)s[0])))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && strchr("._-", s[i]) == NULL)
			return 0;
	return 1;
}

const char *
orgs_type_invalid(const char *s)
{
	size_t n = strlen(s);

	/* A letter first: the figures' records tell it from a count. */
	if (n == 0 || n > ORG_TYPE_MAX || !islower((unsigned char)s[0]) ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return "must be 1-24 of a-z 0-9 - starting with a letter "
		    "(e.g. jeugdzorg, wijkteam)";
	if (strcmp(s, "all") == 0)
		return "all names the regional figures in a report; choose "
		    "another name";
	return NULL;
}

static int
orgs_valid_muni(const char *s)
{
	for (size_t i = 0; i < MUNI_LEN; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[MUNI_LEN] == '\0';
}

static int
orgs_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ORG_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static void *
xreallocarray(void *p, size_t n, size_t size)
{
	if ((p = reallocarray(p, n, size)) == NULL)
		abort();
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		abort();
	return p;
}

static int
orgs_parse_roles(const char *value, unsigned *roles, char *bad, size_t badlen)
{
	char buf[256], *tok, *save = NULL;

	*roles = 0;
	snprintf(buf, sizeof(buf), "%s", value);
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(tok, "register") == 0)
			*roles |= ROLE_REGISTER;
		else if (strcmp(tok, "subscribe") == 0)
			*roles |= ROLE_SUBSCRIBE;
		else if (strcmp(tok, "admin") == 0)
			*roles |= ROLE_ADMIN;
		else if (strcmp(tok, "index") == 0)
			*roles |= ROLE_INDEX;
		else {
			snprintf(bad, badlen, "%s", tok);
			return -1;
		}
	}
	return 0;
}

const char *
orgs_roles_string(unsigned roles, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s",
	    roles & ROLE_REGISTER ? "register," : "",
	    roles & ROLE_SUBSCRIBE ? "subscribe," : "",
	    roles & ROLE_ADMIN ? "admin," : "",
	    roles & ROLE_INDEX ? "index," : "",
	    roles == 0 ? "none" : "");
	if (roles != 0 && strlen(buf) > 0)
		buf[strlen(buf) - 1] = '\0';
	return buf;
}

/* The section read so far has ended: report the keys it lacks. */
static void
orgs_end_section(struct orgs_ctx *x)
{
	const struct org *g = x->cur;
	const char *path = x->o->path;

	if (g == NULL)
		return;
	if (x->key_line[ORG_OIN] == 0)
		diag_add(x->d, path, g->line, "[org %s]: oin is required",
		    g->id);
	if (x->key_line[ORG_NAME] == 0)
		diag_add(x->d, path, g->line, "[org %s]: name is required",
		    g->id);
	if (x->key_line[ORG_ROLES] == 0)
		diag_add(x->d, path, g->line, "[org %s]: roles is required "
		    "(register, subscribe, admin)", g->id);
}

/* A key given before in this section: report both lines. */
static int
orgs_repeated_key(struct orgs_ctx *x, const char *key, int line)
{
	for (size_t i = 0; x->keys != NULL && x->keys[i] != NULL; i++) {
		if (strcmp(x->keys[i], key) != 0)
			continue;
		if (x->key_line[i] == 0) {
			x->key_line[i] = line;
			return 0;
		}
		diag_add(x->d, x->o->path, line, "%s: given twice in [%s] "
		    "(lines %d and %d); keep one", key, x->section,
		    x->key_line[i], line);
		return 1;
	}
	return 0;
}

/* A new [org ID] or [municipality CODE] section starts. */
static int
orgs_begin_section(struct orgs_ctx *x, const char *section, int line)
{
	const char *path = x->o->path;

	orgs_end_section(x);
	memset(x->key_line, 0, sizeof(x->key_line));
	x->keys = NULL;
	x->cur = NULL;
	x->muni = NULL;
	x->section_ok = 0;
	snprintf(x->section, sizeof(x->section), "%s", section);
	if (strncmp(section, "org ", 4) == 0) {
		const char *id = section + 4;

		if (!orgs_valid_handle(id)) {
			diag_add(x->d, path, line, "[%s]: organisation id must "
			    "be 1-%d of a-z 0-9 . _ - starting with a letter "
			    "or digit", section, ORG_ID_MAX);
			return -1;
		}
		if (orgs_by_id(x->o, id) != NULL) {
			diag_add(x->d, path, line, "[%s]: organisation '%s' "
			    "is defined twice", section, id);
			return -1;
		}
		if (x->o->n == ORGS_MAX) {
			diag_add(x->d, path, line, "more than %d organisations",
			    ORGS_MAX);
			return -1;
		}
		x->o->v = xreallocarray(x->o->v, x->o->n + 1, sizeof(struct org));
		x->cur = &x->o->v[x->o->n++];
		memset(x->cur, 0, sizeof(*x->cur));
		snprintf(x->cur->id, sizeof(x->cur->id), "%s", id);
		x->cur->rank = RANK_DEFAULT;
		x->cur->line = line;
		x->keys = org_keys;
	} else if (strncmp(section, "municipality ", 13) == 0) {
		const char *code = section + 13;

		if (!orgs_valid_muni(code)) {
			diag_add(x->d, path, line, "[%s]: municipality code "
			    "must be 4 digits (CBS code)", section);
			return -1;
		}
		for (size_t i = 0; i < x->o->nmunis; i++)
			if (strcmp(x->o->munis[i].code, code) == 0) {
				diag_add(x->d, path, line, "[%s]: defined "
				    "twice", section);
				return -1;
			}
		x->o->munis = xreallocarray(x->o->munis, x->o->nmunis + 1,
		    sizeof(struct municipality));
		x->muni = &x->o->munis[x->o->nmunis++];
		memset(x->muni, 0, sizeof(*x->muni));
		snprintf(x->muni->code, sizeof(x->muni->code), "%s", code);
		x->muni->line = line;
		x->keys = muni_keys;
	} else if (strcmp(section, "escalation") != 0) {
		diag_add(x->d, path, line, "unknown section [%s] (expected "
		    "[org ID], [municipality CODE] or [escalation])", section);
		return -1;
	}
	x->section_ok = 1;
	return 0;
}

/* A path relative to the directory of orgs.conf. */
static char *
orgs_resolve(const char *orgs_path, const char *value)
{
	const char *slash;
	char *out;
	int n;

	if (value[0] == '/' || (slash = strrchr(orgs_path, '/')) == NULL)
		return xstrdup(value);
	n = (int)(slash - orgs_path);
	if (asprintf(&out, "%.*s/%s", n, orgs_path, value) == -1)
		abort();
	return out;
}

/*
 * "https://" then a host (a name, an IPv4 address or one in brackets), an
 * optional port, then a path: printable, no spaces, no user part. NULL,
 * or why not.
 */
const char *
orgs_webhook_url_invalid(const char *url)
{
	const char *host, *end;

	if (strlen(url) > ORG_WEBHOOK_URL_MAX)
		return "longer than 500 characters";
	if (strncmp(url, "https://", 8) != 0)
		return "must start with https:// (notifications go over TLS "
		    "only)";
	for (const char *c = url; *c != '\0'; c++)
		if (*c <= ' ' || *c >= 0x7f)
			return "must not contain spaces or control or non-ASCII "
			    "characters (percent-encode them)";
	host = url + 8;
	end = host + strcspn(host, "/?#");
	if (end == host || *host == ':')
		return "has no host name";
	if (memchr(host, '@', (size_t)(end - host)) != NULL)
		return "must not carry a user name or password (the secret "
		    "signs each request)";
	return NULL;
}

static int
orgs_webhook_key(struct orgs_ctx *x, const char *key, const char *value,
    int line)
{
	struct org *g = x->cur;
	const char *path = x->o->path, *why;

	if (g->webhook == NULL && (g->webhook = calloc(1,
	    sizeof(*g->webhook))) == NULL)
		abort();
	if (strcmp(key, "webhook") == 0) {
		g->webhook->line = line;
		if ((why = orgs_webhook_url_invalid(value)) != NULL) {
			diag_add(x->d, path, line, "webhook: %s", why);
			return -1;
		}
		free(g->webhook->url);
		g->webhook->url = xstrdup(value);
		g->webhook->line = line;
	} else if (strcmp(key, "webhook_secret") == 0) {
		free(g->webhook->secret_file);
		g->webhook->secret_file = orgs_resolve(path, value);
		g->webhook->secret_line = line;
	} else if (strcmp(key, "webhook_ca") == 0) {
		free(g->webhook->ca);
		g->webhook->ca = orgs_resolve(path, value);
		g->webhook->ca_line = line;
	} else {
		diag_add(x->d, path, line, "unknown key '%s' in [%s] (expected "
		    "webhook, webhook_secret or webhook_ca)", key, x->section);
		return -1;
	}
	return 0;
}

static int
orgs_org_key(struct orgs_ctx *x, const char *key, const char *value, int line)
{
	struct org *g = x->cur;
	const char *path = x->o->path;
	char bad[64];
	char *end;
	unsigned long v;

	if (strcmp(key, "oin") == 0) {
		if (!orgs_valid_oin(value)) {
			diag_add(x->d, path, line, "oin: must be exactly %d "
			    "digits", OIN_LEN);
			return -1;
		}
		memcpy(g->oin, value, OIN_LEN + 1);
	} else if (strcmp(key, "name") == 0) {
		if (!orgs_valid_name(value)) {
			diag_add(x->d, path, line, "name: must be 1-%d "
			    "characters without control characters",
			    ORG_NAME_MAX);
			return -1;
		}
		snprintf(g->name, sizeof(g->name), "%s", value);
	} else if (strcmp(key, "roles") == 0) {
		if (orgs_parse_roles(value, &g->roles, bad, sizeof(bad)) == -1) {
			diag_add(x->d, path, line, "roles: unknown role '%s' "
			    "(expected register, subscribe, admin, index)", bad);
			return -1;
		}
		if (g->roles == 0) {
			diag_add(x->d, path, line, "roles: at least one of "
			    "register, subscribe, admin, index is required");
			return -1;
		}
	} else if (strcmp(key, "rank") == 0) {
		v = strtoul(value, &end, 10);
		if (!isdigit((unsigned char)value[0]) || *end != '\0' ||
		    v > RANK_MAX) {
			diag_add(x->d, path, line, "rank: '%s' is not a whole "
			    "number from 0 to %d", value, RANK_MAX);
			return -1;
		}
		g->rank = (unsigned)v;
	} else if (strcmp(key, "municipality") == 0) {
		if (!orgs_valid_muni(value)) {
			diag_add(x->d, path, line, "municipality: must be 4 "
			    "digits (CBS code)");
			return -1;
		}
		memcpy(g->municipality, value, MUNI_LEN + 1);
	} else if (strcmp(key, "push") == 0) {
		char host[256];
		uint16_t port;
		const char *why;

		if (addr_split(value, host, sizeof(host), &port, &why) == -1) {
			diag_add(x->d, path, line, "push: %s", why);
			return -1;
		}
		if (port == 0) {
			diag_add(x->d, path, line, "push: port must not be 0");
			return -1;
		}
		snprintf(g->push, sizeof(g->push), "%s", value);
		g->push_line = line;
	} else if (strcmp(key, "webhook") == 0 ||
	    strcmp(key, "webhook_secret") == 0 ||
	    strcmp(key, "webhook_ca") == 0) {
		return orgs_webhook_key(x, key, value, line);
	} else if (strcmp(key, "require_actor") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
			diag_add(x->d, path, line, "require_actor: must be yes "
			    "or no");
			return -1;
		}
		g->require_actor = strcmp(value, "yes") == 0;
	} else if (strcmp(key, "type") == 0) {
		const char *why;

		if ((why = orgs_type_invalid(value)) != NULL) {
			diag_add(x->d, path, line, "[org %s] type: %s", g->id,
			    why);
			return -1;
		}
		memcpy(g->type, value, strlen(value) + 1);
	} else if (strcmp(key, "receives_for") == 0) {
		free(g->receives_for_names);
		g->receives_for_names = xstrdup(value);
		g->receives_for_line = line;
	} else {
		diag_add(x->d, path, line, "unknown key '%s' in [%s]", key,
		    x->section);
		return -1;
	}
	return 0;
}

/*
 * An indented line after a key: the lists of an organisation (roles,
 * receives_for) go on there; any other value is one line.
 */
static int
orgs_continued(struct orgs_ctx *x, const char *key, const char *value,
    int line)
{
	struct org *g = x->cur;
	char bad[64], *joined;
	unsigned more;

	if (g != NULL && strcmp(key, "roles") == 0) {
		if (orgs_parse_roles(value, &more, bad, sizeof(bad)) == -1) {
			diag_add(x->d, x->o->path, line, "roles: unknown role "
			    "'%s' (expected register, subscribe, admin)", bad);
			return -1;
		}
		g->roles |= more;
		return 0;
	}
	if (g != NULL && strcmp(key, "receives_for") == 0 &&
	    g->receives_for_names != NULL) {
		if (asprintf(&joined, "%s,%s", g->receives_for_names,
		    value) == -1)
			abort();
		free(g->receives_for_names);
		g->receives_for_names = joined;
		return 0;
	}
	if (value[0] == '[')
		diag_add(x->d, x->o->path, line, "%s: %s", key,
		    inifile_indent_hint(value));
	else
		diag_add(x->d, x->o->path, line, "%s: the value goes on over "
		    "an indented line, as only the lists roles and "
		    "receives_for may; write it on one line (or do not indent "
		    "this one)", key);
	return -1;
}

static int
orgs_handler(void *ctx, const char *section, const char *key,
    const char *value, int line, int continued)
{
	struct orgs_ctx *x = ctx;
	const char *path = x->o->path;

	/* Every header starts a section, also one that repeats the last. */
	if (key == NULL)
		return orgs_begin_section(x, section, line);
	if (section[0] == '\0') {
		diag_add(x->d, path, line, "key '%s' outside any section", key);
		return -1;
	}
	if (!x->section_ok)
		return 0;	/* the section header was reported already */
	if (continued)
		return orgs_continued(x, key, value, line);
	if (orgs_repeated_key(x, key, line))
		return -1;
	if (x->cur != NULL)
		return orgs_org_key(x, key, value, line);
	if (x->muni != NULL && strcmp(key, "escalation") == 0) {
		free(x->muni->escalation_name);
		x->muni->escalation_name = xstrdup(value);
		return 0;
	}
	if (x->muni == NULL && strcmp(key, "default") == 0) {
		if (x->o->default_escalation_name != NULL) {
			diag_add(x->d, path, line, "default: given twice in "
			    "[escalation] (lines %d and %d); keep one",
			    x->o->default_escalation_line, line);
			return -1;
		}
		free(x->o->default_escalation_name);
		x->o->default_escalation_name = xstrdup(value);
		x->o->default_escalation_line = line;
		return 0;
	}
	diag_add(x->d, path, line, "unknown key '%s' in [%s]", key, section);
	return -1;
}

static int
orgs_cmp_oin(const void *a, const void *b)
{
	const struct org *const *x = a, *const *y = b;

	return strcmp((*x)->oin, (*y)->oin);
}

static void
orgs_resolve_delegation(struct orgs *o, struct org *g, struct diag *d)
{
	char *copy = xstrdup(g->receives_for_names), *tok, *save = NULL;
	const struct org *r;

	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if ((r = orgs_by_id(o, tok)) == NULL) {
			diag_add(d, o->path, g->receives_for_line,
			    "receives_for: no organisation '%s'", tok);
			continue;
		}
		g->receives_for = xreallocarray(g->receives_for,
		    g->n_receives_for + 1, sizeof(*g->receives_for));
		g->receives_for[g->n_receives_for++] = r;
	}
	free(copy);
	if (g->n_receives_for > 0 && !(g->roles & ROLE_SUBSCRIBE))
		diag_add(d, o->path, g->receives_for_line, "receives_for: "
		    "[org %s] needs the role 'subscribe' to receive for "
		    "others", g->id);
}

/*
 * The secret of a webhook: "whsec_" and base64 in a file only its owner
 * may read. Its bytes are wiped once parsed; messages never show them.
 */
static void
orgs_webhook_secret(struct orgs *o, struct org *g, struct diag *d)
{
	struct org_webhook *h = g->webhook;
	char buf[256], why[128];
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(h->secret_file, O_RDONLY | O_CLOEXEC)) == -1) {
		diag_add(d, o->path, h->secret_line, "webhook_secret: %s: %s",
		    h->secret_file, strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		diag_add(d, o->path, h->secret_line, "webhook_secret: %s: not "
		    "a regular file", h->secret_file);
		close(fd);
		return;
	}
	if ((st.st_mode & 077) != 0) {
		diag_add(d, o->path, h->secret_line, "webhook_secret: %s: must "
		    "be readable by its owner only (chmod 600)",
		    h->secret_file);
		close(fd);
		return;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0 || n == (ssize_t)sizeof(buf) - 1) {
		diag_add(d, o->path, h->secret_line, "webhook_secret: %s: %s",
		    h->secret_file, n < 0 ? strerror(errno) : "too long for a "
		    "secret (whsec_ and base64 of 24 to 64 bytes)");
		OPENSSL_cleanse(buf, sizeof(buf));
		return;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (webhook_key_parse(&h->key, buf, why, sizeof(why)) == -1)
		diag_add(d, o->path, h->secret_line, "webhook_secret: %s: %s",
		    h->secret_file, why);
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* The receiver's CA bundle: at least one PEM certificate, or why not. */
static void
orgs_webhook_ca(struct orgs *o, const struct org_webhook *h, struct diag *d)
{
	FILE *fp = fopen(h->ca, "r");
	X509 *x = NULL;

	if (fp == NULL) {
		diag_add(d, o->path, h->ca_line, "webhook_ca: %s: %s", h->ca,
		    strerror(errno));
		return;
	}
	if ((x = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL)
		diag_add(d, o->path, h->ca_line, "webhook_ca: %s: no PEM "
		    "certificate in it", h->ca);
	X509_free(x);
	fclose(fp);
	ERR_clear_error();
}

static void
orgs_check_webhook(struct orgs *o, struct org *g, struct diag *d)
{
	struct org_webhook *h = g->webhook;
	int line = h->line ? h->line : h->secret_line ? h->secret_line :
	    h->ca_line;

	if (h->url == NULL && h->line != 0)
		return;		/* the url was refused, and said so */
	if (h->url == NULL) {
		diag_add(d, o->path, line, "[org %s]: webhook_secret and "
		    "webhook_ca need webhook = https://...", g->id);
		return;
	}
	if (!(g->roles & ROLE_SUBSCRIBE))
		diag_add(d, o->path, h->line, "webhook: [org %s] needs the "
		    "role 'subscribe' to be sent notifications", g->id);
	if (h->secret_file == NULL)
		diag_add(d, o->path, h->line, "webhook: [org %s] needs "
		    "webhook_secret = FILE (its signing secret, whsec_...)",
		    g->id);
	else
		orgs_webhook_secret(o, g, d);
	if (h->ca != NULL)
		orgs_webhook_ca(o, h, d);
}

static void
orgs_check_org(struct orgs *o, struct org *g, struct diag *d)
{
	if (g->receives_for_names != NULL)
		orgs_resolve_delegation(o, g, d);
	if (g->push[0] != '\0' && !(g->roles & ROLE_SUBSCRIBE))
		diag_add(d, o->path, g->push_line, "push: [org %s] needs the "
		    "role 'subscribe' to be sent notifications", g->id);
	if (g->webhook != NULL)
		orgs_check_webhook(o, g, d);
}

/*
 * At most ORG_TYPES_MAX distinct types, so that a month's figures keep
 * every type given (figures.h); the organisation giving one more is named.
 */
static void
orgs_check_types(struct orgs *o, struct diag *d)
{
	const char *seen[ORG_TYPES_MAX];
	size_t n = 0, k;

	for (size_t i = 0; i < o->n; i++) {
		const struct org *g = &o->v[i];

		if (g->type[0] == '\0')
			continue;
		for (k = 0; k < n && strcmp(seen[k], g->type) != 0; k++)
			;
		if (k < n)
			continue;
		if (n == ORG_TYPES_MAX) {
			diag_add(d, o->path, g->line, "[org %s] type: %s is "
			    "type number %d; orgs.conf may give at most %d "
			    "different types", g->id, g->type,
			    ORG_TYPES_MAX + 1, ORG_TYPES_MAX);
			return;
		}
		seen[n++] = g->type;
	}
}

/* Cross-references and uniqueness, once every section is read. */
static void
orgs_check(struct orgs *o, struct diag *d)
{
	for (size_t i = 0; i < o->n; i++)
		orgs_check_org(o, &o->v[i], d);
	orgs_check_types(o, d);

	o->by_oin = xreallocarray(NULL, o->n + 1, sizeof(*o->by_oin));
	for (size_t i = 0; i < o->n; i++)
		o->by_oin[i] = &o->v[i];
	qsort(o->by_oin, o->n, sizeof(*o->by_oin), orgs_cmp_oin);
	for (size_t i = 1; i < o->n; i++)
		if (o->by_oin[i]->oin[0] != '\0' &&
		    strcmp(o->by_oin[i]->oin, o->by_oin[i - 1]->oin) == 0)
			diag_add(d, o->path, o->by_oin[i]->line, "[org %s]: "
			    "OIN %s is already used by [org %s]",
			    o->by_oin[i]->id, o->by_oin[i]->oin,
			    o->by_oin[i - 1]->id);

	for (size_t i = 0; i < o->nmunis; i++) {
		struct municipality *m = &o->munis[i];

		if (m->escalation_name == NULL)
			diag_add(d, o->path, m->line, "[municipality %s]: "
			    "escalation is required", m->code);
		else if ((m->escalation = orgs_by_id(o, m->escalation_name))
		    == NULL)
			diag_add(d, o->path, m->line, "[municipality %s]: "
			    "escalation: no organisation '%s'", m->code,
			    m->escalation_name);
	}
	if (o->default_escalation_name != NULL &&
	    (o->default_escalation = orgs_by_id(o,
	    o->default_escalation_name)) == NULL)
		diag_add(d, o->path, o->default_escalation_line, "default: no "
		    "organisation '%s'", o->default_escalation_name);
}

struct orgs *
orgs_load(const char *path, struct diag *d)
{
	struct orgs_ctx x = { 0 };
	int before = d->count;

	if ((x.o = calloc(1, sizeof(*x.o))) == NULL)
		abort();
	atomic_init(&x.o->refs, 1);
	x.o->path = xstrdup(path);
	x.d = d;
	/* Every problem, also those a wrong line hides: check after errors. */
	inifile_parse(path, orgs_handler, &x, d);
	orgs_end_section(&x);
	orgs_check(x.o, d);
	if (d->count != before) {
		orgs_unref(x.o);
		return NULL;
	}
	return x.o;
}

struct orgs *
orgs_ref(struct orgs *o)
{
	atomic_fetch_add(&o->refs, 1);
	return o;
}

void
orgs_unref(struct orgs *o)
{
	if (o == NULL || atomic_fetch_sub(&o->refs, 1) != 1)
		return;
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].receives_for);
		free(o->v[i].receives_for_names);
		if (o->v[i].webhook != NULL) {
			free(o->v[i].webhook->url);
			free(o->v[i].webhook->ca);
			free(o->v[i].webhook->secret_file);
			OPENSSL_cleanse(&o->v[i].webhook->key,
			    sizeof(o->v[i].webhook->key));
			free(o->v[i].webhook);
		}
	}
	for (size_t i = 0; i < o->nmunis; i++)
		free(o->munis[i].escalation_name);
	free(o->munis);
	free(o->by_oin);
	free(o->by_sid);
	free(o->v);
	free(o->default_escalation_name);
	free(o->path);
	free(o);
}

static int
orgs_str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

int
orgs_webhook_differs(const struct org_webhook *a, const struct org_webhook *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return orgs_str_differs(a->url, b->url) ||
	    orgs_str_differs(a->ca, b->ca) || a->key.len != b->key.len ||
	    CRYPTO_memcmp(a->key.key, b->key.key, a->key.len) != 0;
}

const struct org *
orgs_by_oin(const struct orgs *o, const char *oin)
{
	size_t lo = 0, hi = o->n;

	if (o->by_oin == NULL)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(oin, o->by_oin[mid]->oin);

		if (c == 0)
			return o->by_oin[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct org *
orgs_by_id(const struct orgs *o, const char *id)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->v[i].id, id) == 0)
			return &o->v[i];
	return NULL;
}

static int
orgs_cmp_sid(const void *a, const void *b)
{
	const struct org *const *x = a, *const *y = b;

	return (*x)->sid < (*y)->sid ? -1 : (*x)->sid > (*y)->sid;
}

void
orgs_index_sids(struct orgs *o)
{
	free(o->by_sid);
	o->by_sid = xreallocarray(NULL, o->n + 1, sizeof(*o->by_sid));
	for (size_t i = 0; i < o->n; i++)
		o->by_sid[i] = &o->v[i];
	qsort(o->by_sid, o->n, sizeof(*o->by_sid), orgs_cmp_sid);
}

/* On every notification and reply: a binary search, not a scan. */
const struct org *
orgs_by_sid(const struct orgs *o, uint32_t sid)
{
	size_t lo = 0, hi = o->n;

	if (o->by_sid == NULL)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->by_sid[mid]->sid == sid)
			return o->by_sid[mid];
		if (o->by_sid[mid]->sid < sid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct org *
orgs_escalation(const struct orgs *o, const char *municipality)
{
	for (size_t i = 0; municipality != NULL && i < o->nmunis; i++)
		if (strcmp(o->munis[i].code, municipality) == 0)
			return o->munis[i].escalation;
	return o->default_escalation;
}

int
orgs_may_receive_for(const struct org *org, const struct org *recipient)
{
	if (!(org->roles & ROLE_SUBSCRIBE))
		return 0;
	if (org == recipient)
		return 1;
	for (size_t i = 0; i < org->n_receives_for; i++)
		if (org->receives_for[i] == recipient)
			return 1;
	return 0;
}
