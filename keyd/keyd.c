/*
 * vix-keyd: the key holder of blind pseudonyms (docs/pseudonyms.md). It
 * answers BlindEvaluate for organisations with the role register or admin,
 * tells anyone known which key versions exist, and gives the index (role
 * index) the token that moves its pseudonyms to a new version. It never
 * sees a BSN or anything the index stores.
 */
#include <sys/prctl.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <sodium.h>

#include "keyd.h"
#include "log.h"
#include "tls.h"
#include "vix_version.h"

#define AUDIT_SYNC_S	1	/* the audit file is fsync'd this often */

struct options {
	const char	*config;
	const char	*key_file;
	const char	*address_file;	/* --address-file F */
	int		 debug;
	int		 check;
	enum { CMD_SERVE, CMD_INIT, CMD_ADD, CMD_DESTROY, CMD_INFO } cmd;
	uint32_t	 destroy;
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: vix-keyd [-dt] [-c FILE]\n"
	    "       vix-keyd [-c FILE | --key-file F] --init | --add-key |\n"
	    "                --destroy-key V | --key-info\n"
	    "  -c FILE            configuration (default %s)\n"
	    "  -t                 check the configuration and exit\n"
	    "  -d                 debug logging\n"
	    "  --key-file F       the key file (default: key_file of -c)\n"
	    "  --init             create the key file with version 1 active\n"
	    "  --add-key          add the next version, standby; prints its\n"
	    "                     version and key id (SIGHUP vix-keyd then)\n"
	    "  --destroy-key V    remove standby version V for good\n"
	    "  --key-info         print versions, key ids and states\n"
	    "  --address-file F   once listening, write the address bound\n"
	    "                     to F (for listen = ...:0)\n"
	    "  -V, --version      print the version\n", KCONF_DEFAULT_PATH);
	exit(status);
}

static void
set_cmd(struct options *o, int cmd)
{
	if (o->cmd != CMD_SERVE) {
		fprintf(stderr, "vix-keyd: one of --init, --add-key, "
		    "--destroy-key, --key-info at a time\n");
		usage(2);
	}
	o->cmd = cmd;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_KEYFILE = 256, OPT_INIT, OPT_ADD, OPT_DESTROY, OPT_INFO,
	    OPT_ADDRFILE };
	static const struct option longopts[] = {
		{ "key-file", required_argument, NULL, OPT_KEYFILE },
		{ "init", no_argument, NULL, OPT_INIT },
		{ "add-key", no_argument, NULL, OPT_ADD },
		{ "destroy-key", required_argument, NULL, OPT_DESTROY },
		{ "key-info", no_argument, NULL, OPT_INFO },
		{ "address-file", required_argument, NULL, OPT_ADDRFILE },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:dthV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case OPT_ADDRFILE: o->address_file = optarg; break;
		case 'd': o->debug = 1; break;
		case 't': o->check = 1; break;
		case 'V': printf("vix-keyd %s\n", VIX_VERSION); exit(0);
		case 'h': usage(0);
		case OPT_KEYFILE: o->key_file = optarg; break;
		case OPT_INIT: set_cmd(o, CMD_INIT); break;
		case OPT_ADD: set_cmd(o, CMD_ADD); break;
		case OPT_INFO: set_cmd(o, CMD_INFO); break;
		case OPT_DESTROY:
			set_cmd(o, CMD_DESTROY);
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (*end != '\0' || errno != 0 || v == 0 ||
			    v > UINT32_MAX || optarg[0] < '1' || optarg[0] > '9') {
				fprintf(stderr, "vix-keyd: --destroy-key: '%s' "
				    "is not a key version\n", optarg);
				usage(2);
			}
			o->destroy = (uint32_t)v;
			break;
		default: usage(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vix-keyd: unexpected argument '%s'\n",
		    argv[optind]);
		usage(2);
	}
	if (o->cmd == CMD_SERVE && o->key_file != NULL) {
		fprintf(stderr, "vix-keyd: --key-file is for the key commands; "
		    "the daemon takes key_file from its configuration\n");
		usage(2);
	}
}

static void __attribute__((noreturn))
fatal_diag(const struct diag *d)
{
	fprintf(stderr, "%s", d->text);
	fatalx("%d problem%s; not started", d->count, d->count == 1 ? "" :
	    "s");
}

/* Key commands ---------------------------------------------------------- */

static void
print_version(const struct keys_version *v)
{
	char hex[KEYS_ID_HEX];

	printf("version %u key id %s %s\n", v->version, keys_id_hex(v->id, hex),
	    v->active ? "active" : "standby");
}

static int
cmd_init(struct keys *ks, void *arg, struct diag *d)
{
	struct keys_version *v = keys_add(ks, 1);

	if (v == NULL) {
		diag_add(d, NULL, 0, "cannot create a key");
		return -1;
	}
	print_version(v);
	return 0;
}

static int
cmd_add(struct keys *ks, void *arg, struct diag *d)
{
	struct keys_version *v = keys_add(ks, 0);

	if (v == NULL) {
		diag_add(d, NULL, 0, "no room for another version (at most "
		    "%d, or the highest is %u); destroy an old one first",
		    KEYS_MAX, UINT32_MAX);
		return -1;
	}
	print_version(v);
	return 0;
}

static int
cmd_destroy(struct keys *ks, void *arg, struct diag *d)
{
	uint32_t version = *(uint32_t *)arg;
	const struct keys_version *v = keys_find(ks, version);

	if (v == NULL) {
		diag_add(d, NULL, 0, "there is no version %u", version);
		return -1;
	}
	if (v->active) {
		diag_add(d, NULL, 0, "version %u is the active one and is "
		    "kept; make another active first (the index's Token does)",
		    version);
		return -1;
	}
	keys_remove(ks, version);
	printf("version %u destroyed\n", version);
	return 0;
}

static int
key_command(const struct options *o, const char *path)
{
	struct keys *ks;
	struct diag d;
	uint32_t destroy = o->destroy;
	int locked, rc = -1;

	diag_init(&d);
	switch (o->cmd) {
	case CMD_INIT:
		rc = keys_modify(path, 1, cmd_init, NULL, &d);
		break;
	case CMD_ADD:
		rc = keys_modify(path, 0, cmd_add, NULL, &d);
		break;
	case CMD_DESTROY:
		rc = keys_modify(path, 0, cmd_destroy, &destroy, &d);
		break;
	case CMD_INFO:
		if ((ks = keys_new(&locked)) == NULL)
			fatal("keys_new");
		if ((rc = keys_load(path, ks, &d)) == 0)
			for (size_t i = 0; i < ks->n; i++)
				print_version(&ks->v[i]);
		keys_free(ks);
		break;
	case CMD_SERVE:
		break;
	}
	if (rc != 0)
		fprintf(stderr, "vix-keyd: %s", d.text);
	return rc == 0 ? 0 : 1;
}

/* Loading ---------------------------------------------------------------- */

/*
 * What a start or a reload loads: orgs.conf, the key file, the TLS
 * context. All or nothing, so that a reload that fails keeps what runs.
 */
struct material {
	struct orgs	*orgs;
	struct keys	*keys;
	int		 locked;
	SSL_CTX		*ctx;
};

static int
load_material(const struct kconf *c, struct material *m, struct diag *d)
{
	memset(m, 0, sizeof(*m));
	m->orgs = orgs_load(c->orgs_file, d);
	if ((m->keys = keys_new(&m->locked)) == NULL)
		diag_add(d, NULL, 0, "cannot map a page for the keys: %s",
		    strerror(errno));
	else if (keys_load(c->key_file, m->keys, d) == -1) {
		keys_free(m->keys);
		m->keys = NULL;
	}
	m->ctx = tls_server_ctx(&c->tls, d);
	if (m->orgs != NULL && m->keys != NULL && m->ctx != NULL)
		return 0;
	if (m->orgs != NULL)
		orgs_unref(m->orgs);
	keys_free(m->keys);
	SSL_CTX_free(m->ctx);
	memset(m, 0, sizeof(*m));
	return -1;
}

static void
swap_material(struct keyd *k, struct material *m)
{
	if (k->orgs != NULL)
		orgs_unref(k->orgs);
	keys_free(k->keys);
	SSL_CTX_free(k->ctx);	/* connections keep their own reference */
	k->orgs = m->orgs;
	k->keys = m->keys;
	k->keys_locked = m->locked;
	k->ctx = m->ctx;
}

static void
log_keys(const struct keyd *k)
{
	const struct keys_version *a = keys_active(k->keys);
	char hex[KEYS_ID_HEX];

	log_info("%zu key version%s, version %u active (key id %s), %zu "
	    "organisations", k->keys->n, k->keys->n == 1 ? "" : "s",
	    a->version, keys_id_hex(a->id, hex), k->orgs->n);
	if (!k->keys_locked)
		log_warnx("the keys could not be locked in memory (mlock: "
		    "RLIMIT_MEMLOCK?); they may be swapped out");
}

static int
check_config(const char *path)
{
	struct material m;
	struct kconf c;
	struct diag d;
	int rc;

	diag_init(&d);
	if ((rc = kconf_load(&c, path, &d)) == 0 &&
	    (rc = load_material(&c, &m, &d)) == 0) {
		orgs_unref(m.orgs);
		keys_free(m.keys);
		SSL_CTX_free(m.ctx);
	}
	kconf_free(&c);
	if (rc == 0) {
		printf("%s: configuration OK\n", path);
		return 0;
	}
	fprintf(stderr, "%s", d.text);
	return 1;
}

/* The loop ----------------------------------------------------------------- */

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct keyd *k = arg;
	struct material m;
	struct diag d;
	char first[512];

	diag_init(&d);
	kaudit_log_counters(&k->audit, "reload");
	if (kaudit_reopen(&k->audit, k->conf.audit_file, &d) == -1)
		log_warnx("%s; still writing to the file open before",
		    diag_first(&d, first, sizeof(first)));
	diag_init(&d);
	if (load_material(&k->conf, &m, &d) == -1) {
		log_warnx("reload failed, still running on what was loaded: %s",
		    diag_first(&d, first, sizeof(first)));
		return;
	}
	swap_material(k, &m);
	log_info("reloaded");
	log_keys(k);
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct keyd *k = arg;

	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(k->base);
}

static void
on_sync(evutil_socket_t fd, short what, void *arg)
{
	kaudit_sync(&((struct keyd *)arg)->audit);
}

/*
 * Where it listens, for whoever started it on port 0 (vixd --dev): written
 * whole under another name, then renamed, so a reader never sees half.
 */
static int
write_address(struct keyd *k, const char *path)
{
	char bound[80], tmp[PATH_MAX];
	FILE *fp;
	int ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    (fp = fopen(tmp, "w")) == NULL) {
		log_warn("--address-file %s", path);
		return -1;
	}
	ok = fprintf(fp, "%s\n", kserve_bound(k, bound, sizeof(bound))) > 0;
	if (fclose(fp) != 0 || !ok || rename(tmp, path) == -1) {
		log_warn("--address-file %s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
serve(struct keyd *k, const char *address_file)
{
	struct event *ev[4];
	struct timeval sync = { AUDIT_SYNC_S, 0 };

	if ((k->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	signal(SIGPIPE, SIG_IGN);
	ev[0] = evsignal_new(k->base, SIGHUP, on_hup, k);
	ev[1] = evsignal_new(k->base, SIGTERM, on_term, k);
	ev[2] = evsignal_new(k->base, SIGINT, on_term, k);
	ev[3] = event_new(k->base, -1, EV_PERSIST, on_sync, k);
	for (int i = 0; i < 4; i++)
		if (ev[i] == NULL || (i < 3 ? event_add(ev[i], NULL) :
		    event_add(ev[i], &sync)) == -1)
			fatalx("cannot set up events");
	if (kserve_listen(k) == -1 || (address_file != NULL &&
	    write_address(k, address_file) == -1))
		return 1;
	event_base_dispatch(k->base);
	kserve_stop(k);
	/*
	 * A bufferevent freed with its callbacks deferred is finalized by
	 * the loop: one more pass, so that none is left when the base goes.
	 */
	event_base_loop(k->base, EVLOOP_NONBLOCK);
	for (int i = 0; i < 4; i++)
		event_free(ev[i]);
	event_base_free(k->base);
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct keyd k = { 0 };
	struct material m;
	struct diag d;
	int rc;

	parse_options(argc, argv, &o);
	log_init("vix-keyd", o.debug);
	/* No core dump, no ptrace by the same user: the memory holds keys. */
	if (prctl(PR_SET_DUMPABLE, 0) == -1)
		log_warn("prctl(PR_SET_DUMPABLE, 0)");
	if (sodium_init() == -1)
		fatalx("libsodium cannot start");
	if (o.config == NULL)
		o.config = KCONF_DEFAULT_PATH;
	if (o.check)
		return check_config(o.config);
	diag_init(&d);
	if (o.cmd != CMD_SERVE && o.key_file != NULL)
		return key_command(&o, o.key_file);
	if (kconf_load(&k.conf, o.config, &d) == -1)
		fatal_diag(&d);
	if (o.cmd != CMD_SERVE) {
		rc = key_command(&o, k.conf.key_file);
		kconf_free(&k.conf);
		return rc;
	}
	if (load_material(&k.conf, &m, &d) == -1 ||
	    kaudit_open(&k.audit, k.conf.audit_file, &d) == -1)
		fatal_diag(&d);
	swap_material(&k, &m);
	TAILQ_INIT(&k.conns);
	if ((k.rl = ratelimit_new()) == NULL)
		fatalx("out of memory");
	ratelimit_set(k.rl, k.conf.rate, k.conf.burst);
	log_info("vix-keyd %s starting: rate %u evaluations/s per organisation, "
	    "burst %u", VIX_VERSION, k.conf.rate, k.conf.burst);
	log_keys(&k);
	rc = serve(&k, o.address_file);
	kaudit_log_counters(&k.audit, "exit");
	kaudit_close(&k.audit);
	ratelimit_free(k.rl);
	orgs_unref(k.orgs);
	keys_free(k.keys);
	SSL_CTX_free(k.ctx);
	kconf_free(&k.conf);
	return rc;
}
