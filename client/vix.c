/* vix: the command-line client of the vix reference index. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vix/client.h"

#define DEV_DIR_DEFAULT		"vix-dev"
#define DEV_SERVER_DEFAULT	"127.0.0.1:7411"

enum exit_status {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,	/* the server said no */
	EXIT_USAGE = 2,
	EXIT_CONNECT = 3,	/* cannot connect, TLS or protocol failure */
};

struct cli {
	const char	*server, *cert, *key, *ca;
	const char	*dev, *dev_dir;
	int		 json;
	int		 timeout_ms;
	char		 dev_paths[3][PATH_MAX];
};

struct command {
	const char	*name;
	const char	*summary;
	int		(*run)(struct cli *, int argc, char **argv);
};

static int cmd_ping(struct cli *, int, char **);

static const struct command commands[] = {
	{ "ping", "check the connection and show who you are", cmd_ping },
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: vix [options] COMMAND\n"
	    "options (also VIX_SERVER, VIX_CERT, VIX_KEY, VIX_CA):\n"
	    "  --server HOST:PORT   vixd address\n"
	    "  --cert FILE          client certificate (PEM)\n"
	    "  --key FILE           client private key (PEM)\n"
	    "  --ca FILE            CA bundle for the server certificate\n"
	    "  --dev NAME           use NAME's development material in ./%s\n"
	    "                       and %s\n"
	    "  --dev-dir DIR        development material folder\n"
	    "  --json               one JSON object per result on stdout\n"
	    "  --timeout SECONDS    connect and request timeout (default 10)\n"
	    "commands:\n", DEV_DIR_DEFAULT, DEV_SERVER_DEFAULT);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-20s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(fp, "exit status: 0 ok, 1 refused by the server, 2 usage, "
	    "3 cannot connect or TLS failure\n");
}

static void
json_string(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(fp, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(fp, "\\u%04x", ch);
		else
			fputc(ch, fp);
	}
	fputc('"', fp);
}

static int
fail(const struct vix_error *e)
{
	if (e->kind == VIX_ERR_REFUSED) {
		fprintf(stderr, "vix: refused by server: %s: %s\n",
		    vix_status_name(e->status), e->message);
		return EXIT_REFUSED;
	}
	fprintf(stderr, "vix: %s: %s\n", vix_result_name(e->kind), e->message);
	return e->kind == VIX_ERR_ARGS ? EXIT_USAGE : EXIT_CONNECT;
}

/* Fill in what the command line left open: environment, then --dev. */
static int
resolve_options(struct cli *o)
{
	const char *dir = o->dev_dir ? o->dev_dir : DEV_DIR_DEFAULT;

	if (o->server == NULL)
		o->server = getenv("VIX_SERVER");
	if (o->cert == NULL)
		o->cert = getenv("VIX_CERT");
	if (o->key == NULL)
		o->key = getenv("VIX_KEY");
	if (o->ca == NULL)
		o->ca = getenv("VIX_CA");
	if (o->dev != NULL) {
		snprintf(o->dev_paths[0], PATH_MAX, "%s/%s.pem", dir, o->dev);
		snprintf(o->dev_paths[1], PATH_MAX, "%s/%s.key", dir, o->dev);
		snprintf(o->dev_paths[2], PATH_MAX, "%s/ca.pem", dir);
		o->cert = o->cert ? o->cert : o->dev_paths[0];
		o->key = o->key ? o->key : o->dev_paths[1];
		o->ca = o->ca ? o->ca : o->dev_paths[2];
		o->server = o->server ? o->server : DEV_SERVER_DEFAULT;
	}
	if (o->server == NULL || o->cert == NULL || o->key == NULL ||
	    o->ca == NULL) {
		fprintf(stderr, "vix: missing %s: give --server, --cert, --key "
		    "and --ca (or VIX_SERVER, VIX_CERT, VIX_KEY, VIX_CA, or "
		    "--dev NAME)\n", o->server == NULL ? "--server" :
		    o->cert == NULL ? "--cert" : o->key == NULL ? "--key" :
		    "--ca");
		return -1;
	}
	return 0;
}

static int
connect_client(struct cli *o, vix_client **c, struct vix_error *e)
{
	struct vix_options opt = { .server = o->server, .cert_file = o->cert,
	    .key_file = o->key, .ca_file = o->ca, .timeout_ms = o->timeout_ms };

	return vix_connect(&opt, c, e);
}

static int
cmd_ping(struct cli *o, int argc, char **argv)
{
	struct vix_ping_result r;
	struct vix_error e;
	vix_client *c;

	if (argc > 1) {
		fprintf(stderr, "vix ping: unexpected argument '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	if (connect_client(o, &c, &e) != VIX_OK)
		return fail(&e);
	if (vix_ping(c, &r, &e) != VIX_OK) {
		vix_close(c);
		return fail(&e);
	}
	vix_close(c);
	if (o->json) {
		printf("{\"server\":");
		json_string(stdout, o->server);
		printf(",\"server_version\":");
		json_string(stdout, r.server_version);
		printf(",\"organisation\":{\"id\":");
		json_string(stdout, r.org.id);
		printf(",\"name\":");
		json_string(stdout, r.org.name);
		printf(",\"oin\":");
		json_string(stdout, r.org.oin);
		printf("}}\n");
	} else {
		printf("vixd %s at %s\n", r.server_version, o->server);
		printf("authenticated as %s (OIN %s)\n", r.org.name, r.org.oin);
	}
	return EXIT_OK;
}

static int
parse_global(int argc, char **argv, struct cli *o)
{
	enum { OPT_SERVER = 256, OPT_CERT, OPT_KEY, OPT_CA, OPT_DEV,
	    OPT_DEV_DIR, OPT_JSON, OPT_TIMEOUT };
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "dev", required_argument, NULL, OPT_DEV },
		{ "dev-dir", required_argument, NULL, OPT_DEV_DIR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long secs;
	int ch;

	/* '+': stop at the command; its own options come after it. */
	while ((ch = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_SERVER: o->server = optarg; break;
		case OPT_CERT: o->cert = optarg; break;
		case OPT_KEY: o->key = optarg; break;
		case OPT_CA: o->ca = optarg; break;
		case OPT_DEV: o->dev = optarg; break;
		case OPT_DEV_DIR: o->dev_dir = optarg; break;
		case OPT_JSON: o->json = 1; break;
		case OPT_TIMEOUT:
			errno = 0;
			secs = strtol(optarg, &end, 10);
			if (errno || *end || secs < 1 || secs > 3600) {
				fprintf(stderr, "vix: --timeout: '%s' is not a "
				    "number of seconds from 1 to 3600\n", optarg);
				return -1;
			}
			o->timeout_ms = (int)secs * 1000;
			break;
		case 'h': usage(stdout); exit(EXIT_OK);
		case 'V': printf("vix %s\n", vix_version()); exit(EXIT_OK);
		default: usage(stderr); return -1;
		}
	}
	return optind;
}

int
main(int argc, char **argv)
{
	struct cli o = { 0 };
	int first;

	if ((first = parse_global(argc, argv, &o)) < 0)
		return EXIT_USAGE;
	if (first == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[first], commands[i].name) != 0)
			continue;
		if (o.dev_dir != NULL && o.dev == NULL) {
			fprintf(stderr, "vix: --dev-dir needs --dev NAME\n");
			return EXIT_USAGE;
		}
		if (resolve_options(&o) == -1)
			return EXIT_USAGE;
		return commands[i].run(&o, argc - first, argv + first);
	}
	fprintf(stderr, "vix: unknown command '%s'\n", argv[first]);
	usage(stderr);
	return EXIT_USAGE;
}
