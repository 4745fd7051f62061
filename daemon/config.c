/* vixd.conf: defaults, parsing and checking. */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "config.h"
#include "addr.h"
#include "frame.h"
#include "inifile.h"
#include "zone.h"

enum key_type { KEY_ADDR, KEY_PATH, KEY_OPTPATH, KEY_UINT, KEY_SIZE, KEY_TLSVER,
    KEY_BACKEND, KEY_CONNINFO, KEY_PSEUDONYMS, KEY_OPTADDR,
    KEY_DURATION, KEY_DURATIONS, KEY_ZONE, KEY_DISPOSAL, KEY_ONOFF };

struct config_key {
	const char	*section;
	const char	*name;
	enum key_type	 type;
	size_t		 offset;
	unsigned long	 min, max;
};

#define K(sec, name, type, field, min, max) \
	{ sec, name, type, offsetof(struct vixd_config, field), min, max }

static const struct config_key config_keys[] = {
	K("server", "listen", KEY_ADDR, listen, 0, 0),
	K("server", "admin_listen", KEY_ADDR, admin_listen, 0, 0),
	K("server", "workers", KEY_UINT, workers, 0, 256),
	K("server", "max_frame", KEY_SIZE, max_frame, 1024, FRAME_LIMIT),
	K("server", "max_connections", KEY_UINT, max_connections, 1, 1000000),
	K("server", "max_handshakes", KEY_UINT, max_handshakes, 1, 1000000),
	K("server", "max_handshakes_per_address", KEY_UINT,
	    max_handshakes_per_address, 1, 1000000),
	K("server", "handshake_timeout", KEY_UINT, handshake_timeout, 1, 3600),
	K("server", "admin_max_connections", KEY_UINT, admin_max_connections,
	    1, 10000),
	K("server", "admin_timeout", KEY_UINT, admin_timeout, 1, 3600),
	K("server", "idle_timeout", KEY_UINT, idle_timeout, 0, 86400 * 7),
	K("server", "max_inflight", KEY_UINT, max_inflight, 1, 100000),
	K("server", "rate_limit", KEY_UINT, rate_limit, 0, 1000000),
	K("server", "rate_burst", KEY_UINT, rate_burst, 0, 1000000),
	K("server", "max_new_signals_per_day", KEY_UINT,
	    max_new_signals_per_day, 0, 100000000),
	K("server", "shutdown_grace", KEY_UINT, shutdown_grace, 0, 3600),
	K("server", "orgs_file", KEY_PATH, orgs_file, 0, 0),
	K("server", "pseudonym_key_file", KEY_PATH, pseudonym_key_file, 0, 0),
	K("server", "pseudonyms", KEY_PSEUDONYMS, pseudonyms_blind, 0, 0),
	K("server", "data_dir", KEY_PATH, data_dir, 0, 0),
	K("server", "control_socket", KEY_PATH, control_socket, 0, 0),
	K("key_holder", "address", KEY_OPTADDR, keyholder, 0, 0),
	K("key_holder", "certificate", KEY_OPTPATH, keyholder_certificate, 0, 0),
	K("key_holder", "private_key", KEY_OPTPATH, keyholder_private_key, 0, 0),
	K("key_holder", "ca_bundle", KEY_OPTPATH, keyholder_ca_bundle, 0, 0),
	K("store", "backend", KEY_BACKEND, store_backend, 0, 0),
	K("store", "conninfo", KEY_CONNINFO, store_conninfo, 0, 0),
	K("store", "password_file", KEY_OPTPATH, store_password_file, 0, 0),
	K("store", "map_size", KEY_SIZE, map_size, 1048576, 1UL << 40),
	K("store", "quota_percent", KEY_UINT, quota_percent, 10, 99),
	K("store", "batch_max", KEY_UINT, batch_max, 1, 100000),
	K("store", "batch_wait_us", KEY_UINT, batch_wait_us, 0, 100000),
	K("store", "queue_max", KEY_UINT, queue_max, 16, 1000000),
	K("store", "sweep_chunk", KEY_UINT, sweep_chunk, 1, 1000000),
	K("store", "sweep_interval", KEY_DURATION, sweep_interval, 1, 86400),
	K("rules", "max_signal_days", KEY_UINT, policy.max_signal_days, 1,
	    POLICY_LAW_MAX_SIGNAL_DAYS),
	K("rules", "max_age", KEY_UINT, policy.max_age, POLICY_MAX_AGE_MIN,
	    POLICY_MAX_AGE_MAX),
	K("rules", "at_expiry", KEY_DISPOSAL, policy.at_expiry, 0, 0),
	K("rules", "at_age_limit", KEY_DISPOSAL, policy.at_age_limit, 0, 0),
	K("rules", "escalate_after", KEY_DURATION, policy.escalate_after, 1,
	    86400UL * 365),
	K("rules", "remind_after", KEY_DURATIONS, remind_after, 1,
	    86400UL * 365),
	K("rules", "reescalate_after", KEY_DURATION, reescalate_after, 1,
	    86400UL * 365),
	K("rules", "reescalate_max", KEY_UINT, reescalate_max, 0, 100),
	K("rules", "archive_retention", KEY_DURATION, policy.archive_retention,
	    1, 86400UL * 3660),
	K("rules", "timezone", KEY_ZONE, zone, 0, 0),
	K("rules", "family_match", KEY_ONOFF, family_match, 0, 0),
	K("notify", "window", KEY_UINT, subscribe_window, 1, 100000),
	K("notify", "outbox_retention", KEY_DURATION, outbox_retention, 1,
	    86400UL * 3660),
	K("report", "min_count", KEY_UINT, report_min_count, 1, 100),
	K("webhook", "connect_timeout", KEY_DURATION, webhook_connect_timeout,
	    1, 300),
	K("webhook", "timeout", KEY_DURATION, webhook_timeout, 1, 3600),
	K("webhook", "retry_min", KEY_DURATION, webhook_retry_min, 1, 3600),
	K("webhook", "retry_max", KEY_DURATION, webhook_retry_max, 1, 86400),
	K("webhook", "failing_after", KEY_DURATION, webhook_failing_after, 1,
	    86400UL * 30),
	K("tls", "certificate", KEY_PATH, tls_certificate, 0, 0),
	K("tls", "private_key", KEY_PATH, tls_private_key, 0, 0),
	K("tls", "ca_bundle", KEY_PATH, tls_ca_bundle, 0, 0),
	K("tls", "crl_file", KEY_OPTPATH, tls_crl_file, 0, 0),
	K("tls", "min_version", KEY_TLSVER, tls_min_version, 0, 0),
};

void
config_set(char **field, const char *value)
{
	char *copy = NULL;

	if (value != NULL && (copy = strdup(value)) == NULL)
		abort();
	free(*field);
	*field = copy;
}

void
config_defaults(struct vixd_config *c)
{
	memset(c, 0, sizeof(*c));
	config_set(&c->listen, CONFIG_DEFAULT_LISTEN);
	config_set(&c->admin_listen, CONFIG_DEFAULT_ADMIN_LISTEN);
	c->workers = 0;
	c->max_frame = FRAME_DEFAULT_MAX;
	c->max_connections = 10000;
	c->max_handshakes = 1024;
	c->max_handshakes_per_address = 128;
	c->handshake_timeout = 10;
	c->admin_max_connections = 32;
	c->admin_timeout = 10;
	c->idle_timeout = 600;
	c->max_inflight = 256;
	/*
	 * Far above what one organisation's case system or a `vix import`
	 * needs, far below an enumeration: see vixd.conf(5).
	 */
	c->rate_limit = CONFIG_DEFAULT_RATE_LIMIT;
	c->rate_burst = 0;
	c->max_new_signals_per_day = CONFIG_DEFAULT_MAX_NEW_PER_DAY;
	c->shutdown_grace = 10;
	config_set(&c->orgs_file, "/etc/vix/orgs.conf");
	config_set(&c->pseudonym_key_file, "/etc/vix/pseudonym.key");
	config_set(&c->data_dir, "/var/lib/vix");
	config_set(&c->control_socket, CONFIG_DEFAULT_CONTROL_SOCKET);
	c->map_size = 4UL << 30;
	c->quota_percent = 90;
	c->batch_max = 512;
	c->queue_max = 10000;
	policy_law(&c->policy);
	c->sweep_chunk = 1000;
	c->sweep_interval = 60;
	c->reescalate_after = 14 * 86400;
	c->reescalate_max = 0;
	config_set(&c->zone, ZONE_DEFAULT);
	c->subscribe_window = 1000;
	c->outbox_retention = 30 * 86400;
	c->report_min_count = 5;
	c->webhook_connect_timeout = 5;
	c->webhook_timeout = 15;
	c->webhook_retry_min = 1;
	c->webhook_retry_max = 300;
	c->webhook_failing_after = 900;
	config_set(&c->tls_certificate, "/etc/vix/tls/server.pem");
	config_set(&c->tls_private_key, "/etc/vix/tls/server.key");
	config_set(&c->tls_ca_bundle, "/etc/vix/tls/ca.pem");
	c->tls_min_version = TLS1_3_VERSION;
}

void
config_free(struct vixd_config *c)
{
	char **strings[] = { &c->path, &c->listen, &c->admin_listen,
	    &c->orgs_file, &c->pseudonym_key_file, &c->data_dir,
	    &c->control_socket,
	    &c->tls_certificate, &c->tls_private_key, &c->tls_ca_bundle,
	    &c->tls_crl_file, &c->zone, &c->store_backend,
	    &c->store_conninfo, &c->store_password_file, &c->keyholder,
	    &c->keyholder_certificate, &c->keyholder_private_key,
	    &c->keyholder_ca_bundle };

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		config_set(strings[i], NULL);
}

int
config_check_secret(const char *path, const char *what, struct diag *d)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		diag_add(d, NULL, 0, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		diag_add(d, NULL, 0, "%s %s: not a regular file", what, path);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		diag_add(d, NULL, 0, "%s %s is accessible by group or others "
		    "(mode %04o); fix with: chmod 600 %s", what, path,
		    (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* A path relative to the directory of the config file that names it. */
static char *
config_resolve(const char *conf_path, const char *value)
{
	const char *slash;
	char *out;
	int n;

	if (value[0] == '/' || (slash = strrchr(conf_path, '/')) == NULL)
		return strdup(value);
	n = (int)(slash - conf_path);
	if (asprintf(&out, "%.*s/%s", n, conf_path, value) == -1)
		return NULL;
	return out;
}

static int
config_parse_uint(const char *value, unsigned long min, unsigned long max,
    unsigned long *out)
{
	char *end;
	unsigned long v;

	if (value[0] < '0' || value[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

struct config_unit {
	char		 suffix;
	unsigned long	 scale;
};

/* Durations in seconds: "90", "90s", "15m", "12h" or "14d". */
static const struct config_unit duration_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 0, 0 },
};

/* Sizes in bytes: "65536", "64K", "512M", "8G" or "1T" (powers of 1024). */
static const struct config_unit size_units[] = {
	{ 'K', 1UL << 10 }, { 'M', 1UL << 20 }, { 'G', 1UL << 30 },
	{ 'T', 1UL << 40 }, { 0, 0 },
};

/* A whole number with an optional one-letter unit from units. */
static int
config_parse_scaled(const char *value, const struct config_unit *units,
    unsigned long min, unsigned long max, unsigned long *out)
{
	char num[32], *end;
	unsigned long v, unit = 1;
	size_t n = strlen(value);

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, value, n + 1);
	for (const struct config_unit *u = units; u->suffix != 0; u++)
		if (num[n - 1] == u->suffix) {
			unit = u->scale;
			num[--n] = '\0';
			break;
		}
	if (n == 0 || num[0] < '0' || num[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(num, &end, 10);
	if (errno != 0 || *end != '\0' || v > ULONG_MAX / unit)
		return -1;
	v *= unit;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

#define CONFIG_NKEYS	(sizeof(config_keys) / sizeof(config_keys[0]))

struct config_ctx {
	struct vixd_config	*c;
	struct diag		*d;
	int			 line[CONFIG_NKEYS];	/* where each key was given */
};

/*
 * A list of durations ("3d, 10d"; empty: none), ascending, at most
 * CONFIG_REMIND_MAX.
 */
static int
config_set_durations(struct config_ctx *x, const struct config_key *k,
    struct config_durations *out, const char *value, int line)
{
	struct config_durations l = { 0 };
	char copy[256], *word, *save = NULL;
	unsigned long v;

	if (strlen(value) >= sizeof(copy)) {
		diag_add(x->d, x->c->path, line, "%s: too long", k->name);
		return -1;
	}
	memcpy(copy, value, strlen(value) + 1);
	for (word = strtok_r(copy, ", \t", &save); word != NULL;
	    word = strtok_r(NULL, ", \t", &save)) {
		if (config_parse_scaled(word, duration_units, k->min, k->max,
		    &v) == -1) {
			diag_add(x->d, x->c->path, line, "%s: '%s' is not a "
			    "duration from %lus to %lus (a number with s, m, h "
			    "or d)", k->name, word, k->min, k->max);
			return -1;
		}
		if (l.n == CONFIG_REMIND_MAX) {
			diag_add(x->d, x->c->path, line, "%s: at most %d "
			    "durations", k->name, CONFIG_REMIND_MAX);
			return -1;
		}
		if (l.n > 0 && (int64_t)v <= l.v[l.n - 1]) {
			diag_add(x->d, x->c->path, line, "%s: '%s' is not after "
			    "the duration before it; list them in ascending "
			    "order, each once", k->name, word);
			return -1;
		}
		l.v[l.n++] = (int64_t)v;
	}
	memcpy(out, &l, sizeof(l));
	return 0;
}

static int
config_set_key(struct config_ctx *x, const struct config_key *k,
    const char *value, int line)
{
	void *field = (char *)x->c + k->offset;
	const char *path = x->c->path, *why;
	unsigned long v;
	char host[256], zwhy[512];
	uint16_t port;

	switch (k->type) {
	case KEY_OPTADDR:
		if (value[0] == '\0') {
			config_set(field, NULL);
			return 0;
		}
		/* FALLTHROUGH */
	case KEY_ADDR:
		if (addr_split(value, host, sizeof(host), &port,
		    &why) == -1) {
			diag_add(x->d, path, line, "%s: %s", k->name, why);
			return -1;
		}
		config_set(field, value);
		return 0;
	case KEY_OPTPATH:
		if (value[0] == '\0') {
			config_set(field, NULL);
			return 0;
		}
		/* FALLTHROUGH */
	case KEY_PATH:
		if (value[0] == '\0') {
			diag_add(x->d, path, line, "%s: a path is required",
			    k->name);
			return -1;
		}
		free(*(char **)field);
		if ((*(char **)field = config_resolve(path, value)) == NULL)
			abort();
		return 0;
	case KEY_UINT:
		if (config_parse_uint(value, k->min, k->max, &v) == -1) {
			diag_add(x->d, path, line, "%s: '%s' is not a whole "
			    "number from %lu to %lu", k->name, value, k->min,
			    k->max);
			return -1;
		}
		*(unsigned *)field = (unsigned)v;
		return 0;
	case KEY_SIZE:
		if (config_parse_scaled(value, size_units, k->min, k->max,
		    &v) == -1) {
			diag_add(x->d, path, line, "%s: '%s' is not a size from "
			    "%lu to %lu bytes (a number, or one with K, M, G or "
			    "T for powers of 1024)", k->name, value, k->min,
			    k->max);
			return -1;
		}
		*(size_t *)field = v;
		return 0;
	case KEY_DURATION:
		if (config_parse_scaled(value, duration_units, k->min, k->max,
		    &v) == -1) {
			diag_add(x->d, path, line, "%s: '%s' is not a duration "
			    "from %lus to %lus (a number with s, m, h or d)",
			    k->name, value, k->min, k->max);
			return -1;
		}
		*(int64_t *)field = (int64_t)v;
		return 0;
	case KEY_DURATIONS:
		return config_set_durations(x, k, field, value, line);
	case KEY_ZONE:
		if (zone_check(value, zwhy, sizeof(zwhy)) == -1) {
			diag_add(x->d, path, line, "%s: %s", k->name, zwhy);
			return -1;
		}
		config_set(field, value);
		return 0;
	case KEY_DISPOSAL:
		if (policy_disposal_parse(value, (int *)field) == -1) {
			diag_add(x->d, path, line, "%s: '%s' is not what may "
			    "become of a signal (archive: kept for "
			    "archive_retention; delete: gone at once)", k->name,
			    value);
			return -1;
		}
		return 0;
	case KEY_BACKEND:
		if (strcmp(value, "lmdb") != 0 &&
		    strcmp(value, "postgresql") != 0) {
			diag_add(x->d, path, line, "%s: '%s' is not a storage "
			    "backend (lmdb or postgresql)", k->name, value);
			return -1;
		}
		config_set(field, value);
		return 0;
	case KEY_CONNINFO:
		/* A secret has its own file, never the configuration. */
		if (strstr(value, "password") != NULL) {
			diag_add(x->d, path, line, "%s: has a password; put it "
			    "in the file password_file names (mode 0600) instead",
			    k->name);
			return -1;
		}
		config_set(field, value[0] == '\0' ? NULL : value);
		return 0;
	case KEY_ONOFF:
		if (strcmp(value, "on") == 0)
			*(int *)field = 1;
		else if (strcmp(value, "off") == 0)
			*(int *)field = 0;
		else {
			diag_add(x->d, path, line, "%s: '%s' is neither on nor "
			    "off", k->name, value);
			return -1;
		}
		return 0;
	case KEY_PSEUDONYMS:
		if (strcmp(value, "server") == 0)
			*(int *)field = 0;
		else if (strcmp(value, "blind") == 0)
			*(int *)field = 1;
		else {
			diag_add(x->d, path, line, "%s: '%s' is not a kind of "
			    "pseudonym (server: vixd computes them from the BSN "
			    "with pseudonym_key_file; blind: clients send them "
			    "from the key holder)", k->name, value);
			return -1;
		}
		return 0;
	case KEY_TLSVER:
		if (strcmp(value, "1.3") == 0)
			*(int *)field = TLS1_3_VERSION;
		else if (strcmp(value, "1.2") == 0)
			*(int *)field = TLS1_2_VERSION;
		else {
			diag_add(x->d, path, line, "%s: '%s' is not a TLS "
			    "version vixd accepts (1.2 or 1.3)", k->name, value);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* conninfo's indented continuation: its words joined with a space. */
static int
config_conninfo_more(struct config_ctx *x, const struct config_key *k,
    const char *value, int line)
{
	char **field = (char **)((char *)x->c + k->offset), *joined;

	if (strstr(value, "password") != NULL) {
		diag_add(x->d, x->c->path, line, "%s: has a password; put it "
		    "in the file password_file names (mode 0600) instead",
		    k->name);
		return -1;
	}
	if (*field == NULL)
		return config_set_key(x, k, value, line);
	if (asprintf(&joined, "%s %s", *field, value) == -1)
		abort();
	free(*field);
	*field = joined;
	return 0;
}

static int
config_handler(void *ctx, const char *section, const char *key,
    const char *value, int line, int continued)
{
	struct config_ctx *x = ctx;
	int known_section = 0;

	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];

		if (strcmp(k->section, section) != 0)
			continue;
		known_section = 1;
		if (key == NULL || strcmp(k->name, key) != 0)
			continue;
		/* A long connection string goes on over indented lines. */
		if (continued && k->type == KEY_CONNINFO && x->line[i] != 0)
			return config_conninfo_more(x, k, value, line);
		if (continued) {
			diag_add(x->d, x->c->path, line, "%s: %s", key,
			    inifile_indent_hint(value));
			return -1;
		}
		if (x->line[i] != 0) {
			diag_add(x->d, x->c->path, line, "%s: given twice in "
			    "[%s] (lines %d and %d); keep one", key, section,
			    x->line[i], line);
			return -1;
		}
		x->line[i] = line;
		return config_set_key(x, k, value, line);
	}
	if (known_section && key == NULL)
		return 0;
	if (key == NULL)
		diag_add(x->d, x->c->path, line, "unknown section [%s]",
		    section);
	else if (section[0] == '\0')
		diag_add(x->d, x->c->path, line, "key '%s' outside any section "
		    "(expected [server], [store], [rules], [notify] or [tls])", key);
	else if (known_section)
		diag_add(x->d, x->c->path, line, "unknown key '%s' in [%s]",
		    key, section);
	/* A key of an unknown section: reported at the section header. */
	return -1;
}

int
config_check_keyholder(const struct vixd_config *c, struct diag *d)
{
	int before = d->count;

	if (c->pseudonyms_blind && c->keyholder == NULL)
		diag_add(d, c->path, 0, "pseudonyms = blind needs [key_holder] "
		    "address: vixd asks the key holder for its key versions at "
		    "start and for rotation tokens");
	else if (c->keyholder != NULL && (c->keyholder_certificate == NULL ||
	    c->keyholder_private_key == NULL))
		diag_add(d, c->path, 0, "[key_holder] needs certificate and "
		    "private_key: the client certificate of the organisation "
		    "with role index in the key holder's orgs.conf");
	return d->count == before ? 0 : -1;
}

int
config_load(struct vixd_config *c, const char *path, struct diag *d)
{
	struct config_ctx x = { .c = c, .d = d };
	int before = d->count;
	unsigned per_address = c->max_handshakes_per_address;

	config_set(&c->path, path);
	c->max_handshakes_per_address = 0;	/* not in the file: its minimum is 1 */
	inifile_parse(path, config_handler, &x, d);
	if (c->max_handshakes_per_address == 0)	/* follows a lower total */
		c->max_handshakes_per_address = per_address < c->max_handshakes ?
		    per_address : c->max_handshakes;
	else if (c->max_handshakes_per_address > c->max_handshakes)
		diag_add(d, path, 0, "max_handshakes_per_address (%u) is above "
		    "max_handshakes (%u): one address could hold every "
		    "handshake place; lower it or raise max_handshakes",
		    c->max_handshakes_per_address, c->max_handshakes);
	if (c->remind_after.n > 0 && c->remind_after.v[c->remind_after.n - 1]
	    >= c->policy.escalate_after)
		diag_add(d, path, 0, "remind_after: every reminder must come "
		    "before escalate_after (%llds); the last is at %llds",
		    (long long)c->policy.escalate_after,
		    (long long)c->remind_after.v[c->remind_after.n - 1]);
	if (d->count == before && c->store_backend != NULL &&
	    strcmp(c->store_backend, "postgresql") == 0 &&
	    c->store_conninfo == NULL)
		diag_add(d, path, 0, "[store] backend = postgresql needs "
		    "conninfo (a libpq connection string: host=... dbname=... "
		    "target_session_attrs=read-write)");
	return d->count == before ? 0 : -1;
}

/* Keys a reload applies; every other key needs a restart. */
static int
config_key_reloadable(const struct config_key *k)
{
	static const char *const names[] = { "orgs_file", "max_connections",
	    "max_handshakes", "max_handshakes_per_address",
	    "admin_max_connections",
	    "sweep_chunk", "sweep_interval", "archive_retention",
	    "at_expiry", "at_age_limit", "outbox_retention", "certificate", "private_key", "ca_bundle",
	    "crl_file", "min_version", "rate_limit", "rate_burst",
	    "max_new_signals_per_day" };

	/* [key_holder]'s certificate, key and bundle are read at start. */
	if (strcmp(k->section, "key_holder") == 0)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(k->name, names[i]) == 0)
			return 1;
	return 0;
}

static size_t
config_key_size(const struct config_key *k)
{
	switch (k->type) {
	case KEY_ADDR:
	case KEY_OPTADDR:
	case KEY_PATH:
	case KEY_OPTPATH:
	case KEY_ZONE:
	case KEY_BACKEND:
	case KEY_CONNINFO:	return sizeof(char *);
	case KEY_UINT:		return sizeof(unsigned);
	case KEY_SIZE:		return sizeof(size_t);
	case KEY_DURATION:	return sizeof(int64_t);
	case KEY_DURATIONS:	return sizeof(struct config_durations);
	case KEY_TLSVER:
	case KEY_DISPOSAL:
	case KEY_ONOFF:
	case KEY_PSEUDONYMS:	return sizeof(int);
	}
	return 0;
}

static int
config_key_is_string(const struct config_key *k)
{
	return k->type == KEY_ADDR || k->type == KEY_OPTADDR ||
	    k->type == KEY_PATH ||
	    k->type == KEY_OPTPATH || k->type == KEY_ZONE ||
	    k->type == KEY_BACKEND || k->type == KEY_CONNINFO;
}

static int
config_key_differs(const struct config_key *k, const struct vixd_config *a,
    const struct vixd_config *b)
{
	const char *fa = (const char *)a + k->offset;
	const char *fb = (const char *)b + k->offset;
	const char *sa, *sb;

	if (!config_key_is_string(k))
		return memcmp(fa, fb, config_key_size(k)) != 0;
	memcpy(&sa, fa, sizeof(sa));
	memcpy(&sb, fb, sizeof(sb));
	if (sa == NULL || sb == NULL)
		return sa != sb;
	return strcmp(sa, sb) != 0;
}

void
config_reload(struct vixd_config *cur, struct vixd_config *nc, char *buf,
    size_t len)
{
	size_t n = strlen(buf);

	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]);
	    i++) {
		const struct config_key *k = &config_keys[i];
		char *fc = (char *)cur + k->offset, *fn = (char *)nc + k->offset;
		char tmp[sizeof(size_t) > sizeof(int64_t) ? sizeof(size_t) :
		    sizeof(int64_t)];
		size_t sz = config_key_size(k);

		if (k->type == KEY_ADDR || !config_key_differs(k, cur, nc))
			continue;
		if (config_key_reloadable(k)) {
			/* Swap, so that nc's config_free frees the old value. */
			memcpy(tmp, fc, sz);
			memcpy(fc, fn, sz);
			memcpy(fn, tmp, sz);
		}
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, "[%s] %s changed%s\n",
			    k->section, k->name, config_key_reloadable(k) ? "" :
			    " (takes effect at the next restart)");
	}
}
