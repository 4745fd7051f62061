/* vixd: the reference-index matching daemon. */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/crypto.h>

#include <curl/curl.h>

#include "control.h"
#include "devcert.h"
#include "devkeyd.h"
#include "log.h"
#include "orgs.h"
#include "pseudonym.h"
#include "orgstats.h"
#include "policyrec.h"
#include "ratelimit.h"
#include "rotate.h"
#include "sdnotify.h"
#include "server.h"
#include "status.h"
#include "store.h"
#include "sweep.h"
#include "tls.h"
#include "vix_version.h"
#include "vixd.h"
#include "webhook.h"
#include "writer.h"
#include "zone.h"

#define DEV_DIR_DEFAULT	"vix-dev"
/* Descriptors besides connections: listeners, wake pipes, LMDB, logs. */
#define NOFILE_SPARE	256

struct options {
	const char	*config;
	const char	*dev_dir;
	const char	*listen;
	const char	*admin_listen;
	const char	*control_socket;
	const char	*import;	/* --import-lmdb DIR */
	const char	*pseudonyms;	/* --pseudonyms server|blind */
	int		 dev;
	int		 check;
	int		 compact;
	int		 debug;
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: vixd [-dt] [-c FILE] [--listen HOST:PORT] "
	    "[--admin-listen HOST:PORT]\n"
	    "            [--control-socket PATH]\n"
	    "       vixd --dev [--data DIR] [-d] [--listen HOST:PORT]\n"
	    "            [--pseudonyms server|blind]\n"
	    "       vixd --compact [-c FILE | --dev [--data DIR]]\n"
	    "       vixd --import-lmdb DIR [-c FILE | --dev [--data DIR]]\n"
	    "  -c FILE            configuration (default %s if it exists)\n"
	    "  -t                 check the configuration and exit\n"
	    "  -d                 debug logging\n"
	    "  --dev              development mode: create or reuse a CA,\n"
	    "                     certificates, keys and orgs.conf in DIR\n"
	    "  --data DIR         development material folder (default ./%s)\n"
	    "  --listen A         client listener, overrides the configuration\n"
	    "  --admin-listen A   admin listener, overrides the configuration\n"
	    "  --pseudonyms K     server or blind, overrides the configuration\n"
	    "                     (--dev: blind, with a key holder of its own)\n"
	    "  --control-socket P vixctl's socket, overrides the configuration\n"
	    "                     (several vixd on one host)\n"
	    "  --compact          rewrite the store (data_dir) so that no free\n"
	    "                     page holds deleted or erased data, and exit;\n"
	    "                     only while vixd is stopped\n"
	    "  --import-lmdb DIR  copy the LMDB store in DIR into the empty\n"
	    "                     store the configuration names (postgresql),\n"
	    "                     verify the copy, and exit\n"
	    "  -V, --version      print the version\n", CONFIG_DEFAULT_PATH,
	    DEV_DIR_DEFAULT);
	exit(status);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_DEV = 256, OPT_DATA, OPT_LISTEN, OPT_ADMIN, OPT_COMPACT,
	    OPT_CONTROL, OPT_IMPORT, OPT_PSEUDONYMS };
	static const struct option longopts[] = {
		{ "dev", no_argument, NULL, OPT_DEV },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "admin-listen", required_argument, NULL, OPT_ADMIN },
		{ "control-socket", required_argument, NULL, OPT_CONTROL },
		{ "compact", no_argument, NULL, OPT_COMPACT },
		{ "import-lmdb", required_argument, NULL, OPT_IMPORT },
		{ "pseudonyms", required_argument, NULL, OPT_PSEUDONYMS },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:dthV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'd': o->debug = 1; break;
		case 't': o->check = 1; break;
		case 'V': printf("vixd %s\n", VIX_VERSION); exit(0);
		case 'h': usage(0);
		case OPT_DEV: o->dev = 1; break;
		case OPT_DATA: o->dev_dir = optarg; break;
		case OPT_LISTEN: o->listen = optarg; break;
		case OPT_ADMIN: o->admin_listen = optarg; break;
		case OPT_CONTROL: o->control_socket = optarg; break;
		case OPT_COMPACT: o->compact = 1; break;
		case OPT_IMPORT: o->import = optarg; break;
		case OPT_PSEUDONYMS: o->pseudonyms = optarg; break;
		default: usage(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vixd: unexpected argument '%s'\n", argv[optind]);
		usage(2);
	}
	if (o->dev_dir != NULL && !o->dev) {
		fprintf(stderr, "vixd: --data is only for --dev\n");
		usage(2);
	}
	if (o->pseudonyms != NULL && strcmp(o->pseudonyms, "server") != 0 &&
	    strcmp(o->pseudonyms, "blind") != 0) {
		fprintf(stderr, "vixd: --pseudonyms must be server or blind\n");
		usage(2);
	}
}

/* Development mode: everything under one folder, created on first start. */
static void
dev_config(struct vixd_config *c, const char *dir)
{
	char path[PATH_MAX];

#define DEV_PATH(field, name) do {				\
	snprintf(path, sizeof(path), "%s/%s", dir, name);	\
	config_set(&c->field, path);				\
} while (0)
	DEV_PATH(tls_certificate, "server.pem");
	DEV_PATH(tls_private_key, "server.key");
	DEV_PATH(tls_ca_bundle, "ca.pem");
	DEV_PATH(orgs_file, "orgs.conf");
	DEV_PATH(pseudonym_key_file, "pseudonym.key");
	DEV_PATH(data_dir, "data");
	DEV_PATH(control_socket, "control.sock");
#undef DEV_PATH
	/* Blind, with a key holder of its own (devkeyd.c). */
	c->pseudonyms_blind = 1;
}

/* Built-in defaults, the configuration file, then the command line. */
static int
load_config(struct vixd *v, const struct options *o, struct diag *d)
{
	const char *file = o->config;

	config_defaults(&v->cfg);
	if (o->dev)
		dev_config(&v->cfg, v->dev_dir);
	if (file == NULL && !o->dev && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		file = CONFIG_DEFAULT_PATH;
	if (file != NULL && config_load(&v->cfg, file, d) == -1)
		return -1;
	if (o->listen != NULL)
		config_set(&v->cfg.listen, o->listen);
	if (o->admin_listen != NULL)
		config_set(&v->cfg.admin_listen, o->admin_listen);
	if (o->control_socket != NULL)
		config_set(&v->cfg.control_socket, o->control_socket);
	if (o->pseudonyms != NULL)
		v->cfg.pseudonyms_blind = strcmp(o->pseudonyms, "blind") == 0;
	/* --dev starts a key holder of its own (devkeyd.c), which sets it. */
	if (o->dev && v->cfg.pseudonyms_blind)
		return 0;
	return config_check_keyholder(&v->cfg, d);
}

static int
file_missing(const char *path, const char *key, int check_only)
{
	if (!check_only || access(path, F_OK) == 0)
		return 0;
	printf("note: %s (%s) does not exist yet; vixd will not start "
	    "without it\n", path, key);
	return 1;
}

/*
 * The pseudonym key's page: locked and out of core dumps. A page that
 * cannot be locked (RLIMIT_MEMLOCK) still serves, with a warning.
 */
static int
key_page(struct vixd *v, struct diag *d)
{
	int locked;

	if ((v->pseudonym_key = pseudonym_key_new(&locked)) == NULL) {
		diag_add(d, NULL, 0, "cannot map a page for the pseudonym key: "
		    "%s", strerror(errno));
		return -1;
	}
	if (!locked)
		log_warnx("cannot lock the pseudonym key in memory (mlock: %s); "
		    "it may be swapped out: raise LimitMEMLOCK= or ulimit -l",
		    strerror(errno));
	return 0;
}

/*
 * Load what the configuration names: the time zone, orgs.conf, the TLS
 * context and the pseudonym key. With check_only, files not yet installed
 * are noted rather than fatal, so a configuration can be checked before
 * deployment.
 */
static int
load_material(struct vixd *v, int check_only, struct diag *d)
{
	struct vixd_config *c = &v->cfg;
	char why[512];
	int missing_tls;

	/* Also the built-in one: without tzdata glibc would use UTC. */
	if (zone_check(c->zone, why, sizeof(why)) == -1)
		diag_add(d, NULL, 0, "[rules] timezone: %s", why);
	if (!file_missing(c->orgs_file, "orgs_file", check_only))
		v->orgs = orgs_load(c->orgs_file, d);
	missing_tls = file_missing(c->tls_certificate, "tls certificate",
	    check_only) + file_missing(c->tls_private_key, "tls private_key",
	    check_only) + file_missing(c->tls_ca_bundle, "tls ca_bundle",
	    check_only);
	if (!missing_tls) {
		v->ssl_ctx = tls_server_ctx(c, d);
		v->client_ctx = tls_client_ctx(c, d);
	}
	if (!c->pseudonyms_blind && !file_missing(c->pseudonym_key_file,
	    "pseudonym_key_file", check_only) && key_page(v, d) == 0)
		pseudonym_key_load(c->pseudonym_key_file, v->pseudonym_key, d);
	return d->count == 0 ? 0 : -1;
}

static int
org_differs(const struct org *a, const struct org *b)
{
	if (strcmp(a->id, b->id) != 0 || strcmp(a->name, b->name) != 0 ||
	    a->roles != b->roles || a->rank != b->rank ||
	    strcmp(a->municipality, b->municipality) != 0 ||
	    strcmp(a->type, b->type) != 0 || strcmp(a->push, b->push) != 0 ||
	    orgs_webhook_differs(a->webhook, b->webhook) ||
	    a->n_receives_for != b->n_receives_for)
		return 1;
	for (size_t k = 0; k < a->n_receives_for; k++)
		if (strcmp(a->receives_for[k]->oin, b->receives_for[k]->oin) != 0)
			return 1;
	return 0;
}

/* One line per organisation added, changed or removed (by OIN). */
static void
orgs_changes(const struct orgs *old, const struct orgs *nw, char *buf,
    size_t len)
{
	size_t n = strlen(buf);

	for (size_t i = 0; i < nw->n && n < len; i++) {
		const struct org *o = &nw->v[i], *was = orgs_by_oin(old, o->oin);

		if (was == NULL || org_differs(o, was))
			n += (size_t)snprintf(buf + n, len - n,
			    "organisation %s %s\n", o->id, was ? "changed" :
			    "added");
	}
	for (size_t i = 0; i < old->n && n < len; i++)
		if (orgs_by_oin(nw, old->v[i].oin) == NULL)
			n += (size_t)snprintf(buf + n, len - n, "organisation %s "
			    "removed; its open connections are closed\n",
			    old->v[i].id);
}

static void
log_lines(const char *text, int warn)
{
	char copy[4096], *save, *line;

	snprintf(copy, sizeof(copy), "%s", text);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (warn)
			log_warnx("reload: %s", line);
		else
			log_info("reload: %s", line);
}

/* Put the new registry and TLS contexts in place; the old ones go. */
static void
reload_swap(struct vixd *v, struct orgs *orgs, SSL_CTX *ctx, SSL_CTX *cctx,
    char *changes, size_t len)
{
	struct orgs *old_orgs = v->orgs;
	SSL_CTX *old_ctx = v->ssl_ctx, *old_cctx = v->client_ctx;
	size_t n;

	orgs_changes(old_orgs, orgs, changes, len);
	log_lines(changes, 0);
	pthread_mutex_lock(&v->lock);
	v->orgs = orgs;
	v->ssl_ctx = ctx;
	v->client_ctx = cctx;
	atomic_fetch_add(&v->generation, 1);
	pthread_mutex_unlock(&v->lock);
	log_info("reload: %zu organisations (was %zu), TLS material re-read; "
	    "open connections are checked again", orgs->n, old_orgs->n);
	n = strlen(changes);
	if (n < len)
		snprintf(changes + n, len - n, "%zu organisations (was %zu); "
		    "certificates, key, CA bundle and CRL re-read\n", orgs->n,
		    old_orgs->n);
	orgs_unref(old_orgs);
	SSL_CTX_free(old_ctx);
	SSL_CTX_free(old_cctx);
	server_orgs_changed(v);	/* what was taken away goes from open connections */
	webhook_reconcile(v->webhooks, orgs);
}

/*
 * Each connection is a descriptor: raise the soft open-file limit as far
 * as max_connections, max_handshakes and admin_max_connections need (the hard limit allows), and say so if it
 * cannot go that far, so that the limit is not found at 3 a.m. as
 * "Too many open files" on accept.
 */
static void
raise_nofile(const struct vixd_config *cfg)
{
	rlim_t want = (rlim_t)cfg->max_connections + cfg->max_handshakes +
	    cfg->admin_max_connections + NOFILE_SPARE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit(RLIMIT_NOFILE)");
		return;
	}
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit(RLIMIT_NOFILE, %llu)",
		    (unsigned long long)rl.rlim_cur);
	else if (rl.rlim_cur < want)
		log_warnx("max_connections %u, max_handshakes %u and "
		    "admin_max_connections %u need about %llu open files; the "
		    "hard limit allows %llu (raise LimitNOFILE= or ulimit -Hn)",
		    cfg->max_connections, cfg->max_handshakes,
		    cfg->admin_max_connections, (unsigned long long)want,
		    (unsigned long long)rl.rlim_cur);
}

/*
 * What the command line and --dev set rather than the file: the kind of
 * pseudonyms and the development key holder stay as vixd started.
 */
static void
reload_keep(const struct vixd *v, struct vixd_config *nc)
{
	if (v->pseudonyms_option != -1)
		nc->pseudonyms_blind = v->pseudonyms_option;
	if (!v->dev || v->dev_keyd <= 0)
		return;
	config_set(&nc->keyholder, v->cfg.keyholder);
	config_set(&nc->keyholder_certificate, v->cfg.keyholder_certificate);
	config_set(&nc->keyholder_private_key, v->cfg.keyholder_private_key);
	config_set(&nc->keyholder_ca_bundle, v->cfg.keyholder_ca_bundle);
}

/*
 * SIGHUP and vixctl reload: re-read vixd.conf's reloadable keys, orgs.conf,
 * the certificates and the CRL into new objects and swap them in. Returns
 * 0 with one line per change in changes, or -1 with every problem in d,
 * the running configuration kept.
 */
static int
reload(struct vixd *v, struct diag *d, char *changes, size_t len)
{
	struct vixd_config nc;
	struct orgs *orgs = NULL;
	SSL_CTX *ctx = NULL, *cctx = NULL;
	int64_t interval;
	uint32_t old_policy;

	changes[0] = '\0';
	config_defaults(&nc);
	if (v->dev)
		dev_config(&nc, v->dev_dir);
	if (v->cfg.path == NULL || config_load(&nc, v->cfg.path, d) == 0) {
		reload_keep(v, &nc);
		orgs = orgs_load(nc.orgs_file, d);
		ctx = tls_server_ctx(&nc, d);
		cctx = tls_client_ctx(&nc, d);
	}
	if (orgs == NULL || ctx == NULL || cctx == NULL ||
	    store_bind_orgs(v->store, orgs, d) == -1) {
		log_lines(d->text, 1);
		log_warnx("reload failed; the previous configuration stays "
		    "in force");
		orgs_unref(orgs);
		SSL_CTX_free(ctx);
		SSL_CTX_free(cctx);
		config_free(&nc);
		return -1;
	}
	interval = v->cfg.sweep_interval;
	old_policy = atomic_load(&v->policy_id);
	config_reload(&v->cfg, &nc, changes, len);
	config_free(&nc);
	policyrec_reloaded(v, old_policy);
	sweep_reloaded(v, interval);
	raise_nofile(&v->cfg);	/* max_connections may have grown */
	ratelimit_set(v->ratelimit, v->cfg.rate_limit, v->cfg.rate_burst);
	atomic_store(&v->max_new_per_day, v->cfg.max_new_signals_per_day);
	reload_swap(v, orgs, ctx, cctx, changes, len);
	return 0;
}

/* A reload as systemd should see it: RELOADING=1, then READY=1. */
static int
reload_notify(struct vixd *v, struct diag *d, char *changes, size_t len)
{
	int rc;

	sdnotify_reloading();
	rc = reload(v, d, changes, len);
	sdnotify_send("READY=1");
	return rc;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct vixd *v = arg;
	char changes[4096];
	struct diag d;

	if (sig == SIGHUP) {
		diag_init(&d);
		(void)reload_notify(v, &d, changes, sizeof(changes));
		return;
	}
	log_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	sdnotify_send("STOPPING=1");
	event_base_loopbreak(v->base);
}

static void
setup_signals(struct vixd *v)
{
	const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < 3; i++) {
		v->ev_signals[i] = evsignal_new(v->base, sigs[i], on_signal, v);
		if (v->ev_signals[i] == NULL ||
		    evsignal_add(v->ev_signals[i], NULL) == -1)
			fatalx("cannot install handler for signal %d", sigs[i]);
	}
}

/* s as one word for a POSIX shell: as it is, or in single quotes. */
static const char *
shell_word(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	if (*s != '\0' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	    "opqrstuvwxyz0123456789_./+-:,@%=") == strlen(s))
		return s;
	buf[n++] = '\'';
	for (; *s != '\0' && n + 5 < len; s++) {
		if (*s == '\'') {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else
			buf[n++] = *s;
	}
	buf[n++] = '\'';
	buf[n] = '\0';
	return buf;
}

/*
 * The hint is a command to paste, from the folder vixd runs in: with the
 * material elsewhere than ./vix-dev, vix needs --dev-dir to find it.
 */
static void
print_dev_banner(struct vixd *v, const char *addr)
{
	char abs[PATH_MAX], word[2 * PATH_MAX + 16];
	const char *dir = realpath(v->dev_dir, abs) ? abs : v->dev_dir;
	int other = strcmp(v->dev_dir, DEV_DIR_DEFAULT) != 0;

	log_info("development mode: CA, certificates, keys and orgs.conf in "
	    "%s", dir);
	log_info("organisations: org-a, org-b (register), partner "
	    "(subscribe for org-a, org-b), admin");
	log_info("try: build/client/vix --dev org-a%s%s --server %s ping",
	    other ? " --dev-dir " : "",
	    other ? shell_word(dir, word, sizeof(word)) : "", addr);
}

_Static_assert(CONFIG_REMIND_MAX == STORE_REMIND_MAX,
    "remind_after holds what the store follows up");

/* The follow-up of uncoordinated matches, as [rules] sets it. */
static struct store_followup
followup_of(const struct vixd_config *c)
{
	struct store_followup f = { .nremind = c->remind_after.n,
	    .reescalate_after = c->reescalate_after,
	    .reescalate_max = c->reescalate_max };

	memcpy(f.remind_after, c->remind_after.v, sizeof(f.remind_after));
	return f;
}

/* The store lives in data_dir; opened after start-up checks, never shared. */
static int
open_store(struct vixd *v, struct diag *d)
{
	struct store_options so = { .dir = v->cfg.data_dir,
	    .map_size = v->cfg.map_size,
	    .quota_percent = v->cfg.quota_percent,
	    .escalate_after = v->cfg.policy.escalate_after,
	    .followup = followup_of(&v->cfg),
	    .backend = v->cfg.store_backend,
	    .conninfo = v->cfg.store_conninfo,
	    .password_file = v->cfg.store_password_file };
	struct writer_hooks hooks = { server_published, v };
	char key_id[PSEUDONYM_KEY_ID_LEN];

	/*
	 * A store remembers which kind of pseudonyms it holds: "blind", or
	 * the server key's id. Mixing them would find no youth.
	 */
	if (v->cfg.pseudonyms_blind) {
		if ((v->store = store_open(&so, d)) == NULL ||
		    store_check_key(v->store, "blind", "(pseudonyms = blind)",
		    d) == -1 || store_bind_orgs(v->store, v->orgs, d) == -1 ||
		    rotate_open(v, d) == -1)
			return -1;
	} else if (pseudonym_key_id(v->pseudonym_key, key_id) == -1) {
		diag_add(d, NULL, 0, "pseudonym_key_file %s: cannot compute "
		    "the key id", v->cfg.pseudonym_key_file);
		return -1;
	} else if ((v->store = store_open(&so, d)) == NULL ||
	    store_check_key(v->store, key_id, v->cfg.pseudonym_key_file,
	    d) == -1 || store_bind_orgs(v->store, v->orgs, d) == -1)
		return -1;
	policyrec_start(v);	/* before the writer: its transaction alone */
	v->writer = writer_start(v->store, v->cfg.batch_max,
	    v->cfg.batch_wait_us, v->cfg.queue_max, &hooks);
	if (v->writer == NULL) {
		diag_add(d, NULL, 0, "cannot start the writer thread");
		return -1;
	}
	return 0;
}

static void
vixd_free(struct vixd *v)
{
	for (size_t i = 0; i < 3; i++)
		if (v->ev_signals[i] != NULL)
			event_free(v->ev_signals[i]);
	/*
	 * Freeing the events restored the default actions; shutting down
	 * already, a repeated SIGTERM must not cut the cleanup short.
	 */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	sweep_stop(v);
	ratelimit_free(v->ratelimit);
	orgstats_free(v->orgstats);
	writer_free(v->writer);
	rotate_free(v);		/* its step timer is an event of the base */
	if (v->base != NULL)
		event_base_free(v->base);
	devkeyd_stop(v);
	store_close(v->store);
	SSL_CTX_free(v->ssl_ctx);
	SSL_CTX_free(v->client_ctx);
	orgs_unref(v->orgs);
	pseudonym_key_free(v->pseudonym_key);
	v->pseudonym_key = NULL;
	pthread_mutex_destroy(&v->lock);
	config_free(&v->cfg);
}

/* Refuse to start, naming every problem found. */
static void __attribute__((noreturn))
fatal_diag(struct diag *d)
{
	char first[1024];

	if (d->count == 1)
		fatalx("%s", diag_first(d, first, sizeof(first)));
	for (char *line = strtok(d->text, "\n"); line != NULL;
	    line = strtok(NULL, "\n"))
		log_warnx("%s", line);
	fatalx("%d problems found; vixd not started", d->count);
}

/*
 * Who may register: the Act leaves it to whoever runs the index to admit
 * organisations; orgs.conf admits them with the role register.
 */
static void
print_registrants(const struct orgs *orgs)
{
	size_t n = 0;

	for (size_t i = 0; i < orgs->n; i++)
		n += (orgs->v[i].roles & ROLE_REGISTER) != 0;
	printf("  who may register (orgs.conf, role register): %zu "
	    "organisation%s%s", n, n == 1 ? "" : "s", n ? ":" : "");
	for (size_t i = 0, k = 0; i < orgs->n; i++)
		if (orgs->v[i].roles & ROLE_REGISTER)
			printf("%s %s", k++ ? "," : "", orgs->v[i].id);
	putchar('\n');
}

/* vixd -t: the policy in force, each rule marked law's or changed. */
static void
print_policy(const struct vixd *v)
{
	struct policy_rule r[POLICY_NRULES];
	size_t n = policy_rules(&v->cfg.policy, v->cfg.zone, r);
	char line[160];

	printf("policy %08" PRIx32 " in force (%s):\n",
	    policy_id(&v->cfg.policy, v->cfg.zone),
	    policy_is_law(&v->cfg.policy, v->cfg.zone) ?
	    "the Youth Act's values, Jeugdwet ch. 7.1" :
	    "changed from the Youth Act's values");
	for (size_t i = 0; i < n; i++) {
		policy_rule_line(&r[i], line, sizeof(line));
		printf("  %s (%s): %s\n", r[i].what, r[i].key, line);
	}
	printf("  family match on a shared parent (family_match): %s\n",
	    v->cfg.family_match ? "on" : "off (the default: the child match "
	    "only)");
	if (v->orgs != NULL)
		print_registrants(v->orgs);
}

static int
check_config(struct vixd *v, const struct options *o)
{
	struct diag d;

	diag_init(&d);
	if (load_config(v, o, &d) == 0)
		load_material(v, 1, &d);
	if (v->cfg.store_password_file != NULL)
		(void)config_check_secret(v->cfg.store_password_file,
		    "[store] password_file", &d);
	if (d.count > 0)
		fputs(d.text, stderr);
	else {
		printf("%s: configuration OK\n", v->cfg.path ? v->cfg.path :
		    "built-in defaults");
		print_policy(v);
	}
	vixd_free(v);
	return d.count > 0 ? 1 : 0;
}

/*
 * vixd --compact: the store rewritten in place, record by record, while
 * no vixd runs on it (the store's lock refuses otherwise).
 */
static int
compact_store(struct vixd *v, const struct options *o)
{
	struct store_options so;
	size_t before = 0, after = 0;
	struct diag d;
	int rc = 1;

	diag_init(&d);
	if (load_config(v, o, &d) == 0) {
		so = (struct store_options){ .dir = v->cfg.data_dir,
		    .map_size = v->cfg.map_size,
		    .quota_percent = v->cfg.quota_percent,
		    .escalate_after = v->cfg.policy.escalate_after };
		if (store_compact(&so, &d, &before, &after) == 0) {
			printf("store %s compacted: data.mdb %zu bytes, was "
			    "%zu; no free page holds deleted data\n",
			    v->cfg.data_dir, after, before);
			rc = 0;
		}
	}
	if (d.count > 0)
		fprintf(stderr, "vixd --compact: %s", d.text);
	vixd_free(v);
	return rc;
}

/* Whether dir holds an LMDB store (its data file). */
static int
import_has_store(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	return access(path, F_OK) == 0;
}

/*
 * vixd --import-lmdb DIR: an LMDB store (no vixd running on it) copied
 * into the configured store, which must be empty, and verified.
 */
static int
import_store(struct vixd *v, const struct options *o)
{
	struct store_options so;
	struct store_import_counts n;
	struct store *dst = NULL;
	struct diag d;
	char actor[32];
	int rc = 1;

	diag_init(&d);
	snprintf(actor, sizeof(actor), "admin:uid=%u", (unsigned)getuid());
	/* A folder without a store would be opened as a new, empty one. */
	if (access(o->import, F_OK) == 0 && !import_has_store(o->import))
		diag_add(&d, NULL, 0, "%s: no LMDB store (data.mdb) in this "
		    "folder; name the data_dir of the vixd being moved",
		    o->import);
	else if (load_config(v, o, &d) == 0) {
		so = (struct store_options){ .dir = v->cfg.data_dir,
		    .map_size = v->cfg.map_size,
		    .quota_percent = v->cfg.quota_percent,
		    .escalate_after = v->cfg.policy.escalate_after,
		    .backend = v->cfg.store_backend,
		    .conninfo = v->cfg.store_conninfo,
		    .password_file = v->cfg.store_password_file };
		dst = store_open(&so, &d);
		so.dir = o->import;
		so.backend = "lmdb";
	}
	if (dst != NULL && store_import(dst, &so, actor, &n, &d) == 0) {
		printf("imported %s into the %s store: %zu organisations, %zu "
		    "signals, %zu matches, %zu archived signals, %zu due "
		    "items, %zu outbox rows, %zu cursors, %zu audit records "
		    "(%zu youth links), %zu family links\n"
		    "verified: the counts agree and the audit trail verifies "
		    "(%" PRIu64 " records in %" PRIu64 " chain%s, with the "
		    "import's own)\n", o->import, store_backend_name(dst),
		    n.orgs, n.signals, n.matches, n.archived, n.due, n.outbox,
		    n.cursors, n.audit, n.links, n.family, n.dst_audit_good,
		    n.dst_chains,
		    n.dst_chains == 1 ? "" : "s");
		rc = 0;
	}
	store_close(dst);
	if (d.count > 0)
		fprintf(stderr, "vixd --import-lmdb: %s", d.text);
	vixd_free(v);
	return rc;
}

/*
 * Client listener and workers, admin HTTP, control socket, then push
 * dialling. Any listener that cannot start stops vixd, naming it.
 */
static struct control *
start_listeners(struct vixd *v)
{
	struct control *ctl = NULL;
	const char *what = NULL;
	struct diag d;

	if (server_start(v) == -1)
		what = v->cfg.listen;
	else if (admin_start(v) == -1)
		what = v->cfg.admin_listen;
	else if ((ctl = control_start(v, reload_notify)) == NULL)
		what = v->cfg.control_socket;
	if (what != NULL) {
		admin_stop(v);
		server_drain(v);
		status_stop(v->status);	/* it reads the writer and the gate */
		writer_stop(v->writer);
		server_free(v);
		fatalx("cannot listen on %s", what);
	}
	server_orgs_changed(v);	/* the workers start the push targets */
	webhook_reconcile(v->webhooks, v->orgs);	/* and threads webhooks */
	/* Other vixd on the same database: their commits wake ours too. */
	diag_init(&d);
	if (store_watch(v->store, server_published, v, &d) == -1)
		fatal_diag(&d);
	return ctl;
}

/* Where everything is, once it is. */
static void
announce(struct vixd *v)
{
	char addr[300];

	/* "listening on" comes last: scripts and tests wait for it. */
	log_info("admin HTTP (metrics, health) on %s", admin_address(v,
	    addr, sizeof(addr)));
	log_info("control socket (vixctl) %s", v->cfg.control_socket);
	server_bound_address(v, addr, sizeof(addr));
	if (v->dev)
		print_dev_banner(v, addr);
	log_info("vixd %s listening on %s with %u worker%s, %zu "
	    "organisations, store %s", VIX_VERSION, addr, v->nworkers,
	    v->nworkers == 1 ? "" : "s", v->orgs->n,
	    strcmp(store_backend_name(v->store), "lmdb") == 0 ?
	    v->cfg.data_dir : store_backend_name(v->store));
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct vixd v = { 0 };
	struct control *ctl;
	struct diag d;

	parse_options(argc, argv, &o);
	log_init("vixd", o.debug);
	/*
	 * No core dump, no ptrace by other processes of the same user: the
	 * memory holds the pseudonym key and, briefly, BSNs.
	 */
	if (prctl(PR_SET_DUMPABLE, 0) == -1)
		log_warn("prctl(PR_SET_DUMPABLE, 0)");
	pthread_mutex_init(&v.lock, NULL);
	v.dev = o.dev;
	v.pseudonyms_option = o.pseudonyms == NULL ? -1 :
	    strcmp(o.pseudonyms, "blind") == 0;
	v.dev_dir = (char *)(o.dev_dir ? o.dev_dir : DEV_DIR_DEFAULT);
	if (o.check)
		return check_config(&v, &o);
	if (o.compact)
		return compact_store(&v, &o);
	if (o.import != NULL)
		return import_store(&v, &o);

	diag_init(&d);
	if (o.dev && devcert_ensure(v.dev_dir, &d) == -1)
		fatal_diag(&d);
	if (load_config(&v, &o, &d) == -1 || load_material(&v, 0, &d) == -1)
		fatal_diag(&d);
	if (o.dev && v.cfg.pseudonyms_blind && devkeyd_start(&v, &d) == -1)
		fatal_diag(&d);
	if (o.dev && !v.cfg.pseudonyms_blind)
		devkeyd_forget(&v);	/* no key holder: vix --dev sends BSNs */
	/* Before the writer and the workers: TZ is never set again. */
	zone_use(v.cfg.zone);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("cannot set up libcurl for webhooks");
	if ((v.ratelimit = ratelimit_new()) == NULL ||
	    (v.orgstats = orgstats_new()) == NULL ||
	    (v.webhooks = webhook_new(&v)) == NULL)
		fatalx("out of memory");
	ratelimit_set(v.ratelimit, v.cfg.rate_limit, v.cfg.rate_burst);
	atomic_store(&v.max_new_per_day, v.cfg.max_new_signals_per_day);

	if (open_store(&v, &d) == -1)
		fatal_diag(&d);

	if (evthread_use_pthreads() == -1 || (v.base = event_base_new()) == NULL ||
	    server_jobs_init(&v) == -1)
		fatalx("cannot create the event loop");
	setup_signals(&v);
	sweep_start(&v);
	raise_nofile(&v.cfg);
	if ((v.status = status_start(&v)) == NULL)
		fatalx("cannot start the status thread");
	ctl = start_listeners(&v);
	rotate_resume(&v);
	announce(&v);
	sdnotify_send("READY=1");	/* store open, listeners up */

	event_base_dispatch(v.base);

	store_unwatch(v.store);	/* before the workers it wakes go */
	admin_stop(&v);
	server_drain(&v);
	webhook_stop(v.webhooks);	/* their cursors go through the writer */
	/* After the webhooks (a replay waiting for one gives up), before
	   the writer (a task's audit record goes through it). */
	control_quiesce(ctl);
	status_stop(v.status);	/* it reads the writer's counts */
	/*
	 * Every queued write committed and answered. From here a submit is
	 * refused (a key rotation's next step, when its last one came back
	 * after the main loop ended); vixd_free frees the writer.
	 */
	writer_stop(v.writer);
	server_jobs_finish(&v);	/* the main loop's, back after it ended */
	control_stop(ctl);	/* after the writer: an erase may have been queued */
	server_free(&v);	/* after the writer: it hands batches to workers */
	status_free(v.status);	/* after its askers: admin and control */
	webhook_free(v.webhooks);	/* after the writer, control, status */
	log_info("stopped");
	vixd_free(&v);
	curl_global_cleanup();
	return 0;
}
