/*
 * vix-portal: the organisation's web portal (see portal.h). Reads its
 * configuration, connects to the index, serves pages until SIGTERM.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "diag.h"
#include "http.h"
#include "index.h"
#include "log.h"
#include "portal.h"
#include "session.h"
#include "vix_version.h"

#define DEV_DIR_DEFAULT	"vix-dev"

struct options {
	const char	*conf_file;
	const char	*dev_dir;
	const char	*server, *listen, *static_dir;
	int		 check_only;
	int		 debug;
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: vix-portal [-dt] [-c FILE] [--listen HOST:PORT]\n"
	    "       vix-portal --dev --org NAME [--dev-dir DIR] "
	    "[--server HOST:PORT] [-c FILE]\n"
	    "  -c FILE              configuration (vix-portal(8))\n"
	    "  -t                   check the configuration and exit\n"
	    "  -d                   debug logging\n"
	    "  --dev                development mode: vixd --dev's material in\n"
	    "                       ./" DEV_DIR_DEFAULT ", test users on /login, "
	    "plain HTTP on loopback\n"
	    "  --org NAME           the organisation (with --dev: org-a, "
	    "org-b)\n"
	    "  --dev-dir DIR        development material folder\n"
	    "  --server HOST:PORT   vixd (overrides [index] server)\n"
	    "  --listen HOST:PORT   where to serve (port 0: any free one)\n"
	    "  --static-dir DIR     the NL Design System packages\n");
	exit(status);
}

enum { OPT_DEV = 256, OPT_ORG, OPT_DEV_DIR, OPT_SERVER, OPT_LISTEN,
	OPT_STATIC };

static void
parse_options(int argc, char **argv, struct options *o, struct portal_conf *c)
{
	static const struct option longopts[] = {
		{ "dev", no_argument, NULL, OPT_DEV },
		{ "org", required_argument, NULL, OPT_ORG },
		{ "dev-dir", required_argument, NULL, OPT_DEV_DIR },
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "static-dir", required_argument, NULL, OPT_STATIC },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:dth", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->conf_file = optarg; break;
		case 'd': o->debug = 1; break;
		case 't': o->check_only = 1; break;
		case 'h': usage(0);
		case OPT_DEV: c->dev = 1; break;
		case OPT_ORG: snprintf(c->org, sizeof(c->org), "%s", optarg);
			break;
		case OPT_DEV_DIR: o->dev_dir = optarg; break;
		case OPT_SERVER: o->server = optarg; break;
		case OPT_LISTEN: o->listen = optarg; break;
		case OPT_STATIC: o->static_dir = optarg; break;
		default: usage(2);
		}
	}
	if (optind != argc || (c->dev && c->org[0] == '\0') ||
	    (!c->dev && (c->org[0] != '\0' || o->dev_dir != NULL))) {
		fprintf(stderr, "vix-portal: %s\n", optind != argc ?
		    "unexpected arguments" : c->dev ? "--dev needs --org NAME" :
		    "--org and --dev-dir go with --dev");
		usage(2);
	}
}

/* The configuration file, then the command line, then --dev material. */
static int
load_conf(struct portal_conf *c, const struct options *o)
{
	struct diag d;

	diag_init(&d);
	if (portal_conf_load(c, o->conf_file, &d) == 0) {
		if (o->server != NULL)
			snprintf(c->server, sizeof(c->server), "%s", o->server);
		if (o->listen != NULL)
			snprintf(c->listen, sizeof(c->listen), "%s", o->listen);
		if (o->static_dir != NULL)
			snprintf(c->static_dir, sizeof(c->static_dir), "%s",
			    o->static_dir);
		if (c->dev)
			(void)portal_conf_dev(c, o->dev_dir ? o->dev_dir :
			    DEV_DIR_DEFAULT, &d);
	}
	if (d.count > 0) {
		fprintf(stderr, "%s", d.text);
		return -1;
	}
	return 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct portal *p = arg;

	log_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	event_base_loopbreak(p->base);
}

static int
run(struct portal *p)
{
	struct event *term, *intr;
	int rc = -1;

	term = evsignal_new(p->base, SIGTERM, on_signal, p);
	intr = evsignal_new(p->base, SIGINT, on_signal, p);
	if (term == NULL || intr == NULL || evsignal_add(term, NULL) == -1 ||
	    evsignal_add(intr, NULL) == -1 || http_start(p) == -1 ||
	    index_start(p) == -1)
		goto done;
	log_info("serving %s for %s", p->url, p->conf->dev ? p->conf->org :
	    p->ix.org.id);
	printf("vix-portal: %s\n", p->url);
	fflush(stdout);
	rc = event_base_dispatch(p->base) == -1 ? -1 : 0;
done:
	index_stop(p);
	http_stop(p);
	if (term != NULL)
		event_free(term);
	if (intr != NULL)
		event_free(intr);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	struct portal p = { 0 };
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if ((p.conf = calloc(1, sizeof(*p.conf))) == NULL ||
	    (p.sessions = calloc(1, sizeof(*p.sessions))) == NULL)
		fatal("calloc");
	parse_options(argc, argv, &o, p.conf);
	log_init("vix-portal", o.debug);
	if (load_conf(p.conf, &o) == -1)
		return 1;
	if (o.check_only) {
		printf("configuration OK\n");
		return 0;
	}
	p.sessions->idle = p.conf->session_idle;
	if ((p.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	rc = run(&p);
	event_base_free(p.base);
	free(p.sessions);
	free(p.conf);
	log_info("stopped");
	return rc == 0 ? 0 : 1;
}
