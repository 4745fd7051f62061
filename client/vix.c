/* vix: the command-line client of the vix reference index. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vix/client.h"

#define DEV_DIR_DEFAULT		"vix-dev"
#define DEV_SERVER_DEFAULT	"127.0.0.1:7411"
#define LIST_PAGE_MAX		1000
#define LISTEN_HOST_DEFAULT	"127.0.0.1"
#define STREAM_WAIT_MS		1000	/* how often a stream checks for a stop */
#define ACCEPT_PAUSE_MS		200	/* after a failed accept: no busy loop */
#define STREAM_OUTPUT_FAILED	(-1)	/* stream(): stdout failed, reported */

enum exit_status {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,	/* the server said no */
	EXIT_USAGE = 2,
	EXIT_CONNECT = 3,	/* cannot connect, TLS or protocol failure */
};

/* Long options without a short form, global and per command. */
enum {
	OPT_SERVER = 256, OPT_CERT, OPT_KEY, OPT_CA, OPT_DEV, OPT_DEV_DIR,
	OPT_JSON, OPT_TIMEOUT,
	OPT_BSN, OPT_BIRTH_DATE, OPT_DAYS, OPT_CONTACT_NAME, OPT_CONTACT_PHONE,
	OPT_CONTACT_EMAIL, OPT_REF, OPT_MUNICIPALITY, OPT_SIGNAL, OPT_REASON,
	OPT_ALL, OPT_PAGE_SIZE, OPT_AFTER, OPT_FROM, OPT_FOR, OPT_MATCH,
	OPT_CLAIM, OPT_RELEASE, OPT_DONE, OPT_PORT, OPT_HOST, OPT_PEER,
	OPT_FAILED = -2,	/* next_opt: the error is reported */
};

#define OPTS_COMMON \
	{ "json", no_argument, NULL, OPT_JSON }, \
	{ "help", no_argument, NULL, 'h' }

struct cli {
	const char	*server, *cert, *key, *ca;
	const char	*dev, *dev_dir;
	int		 json;
	int		 timeout_ms;
	char		 dev_paths[3][PATH_MAX];
};

struct command {
	const char	*name;
	const char	*args;
	const char	*summary;
	int		(*run)(struct cli *, int argc, char **argv);
};

static int cmd_ping(struct cli *, int, char **);
static int cmd_register(struct cli *, int, char **);
static int cmd_withdraw(struct cli *, int, char **);
static int cmd_involved(struct cli *, int, char **);
static int cmd_list(struct cli *, int, char **);
static int cmd_subscribe(struct cli *, int, char **);
static int cmd_coordinate(struct cli *, int, char **);
static int cmd_listen(struct cli *, int, char **);

/* Set by SIGINT and SIGTERM: subscribe and listen stop cleanly. */
static volatile sig_atomic_t stopping;

static const struct command commands[] = {
	{ "ping", "", "check the connection and show who you are",
	    cmd_ping },
	{ "register", "--bsn B --birth-date YYYY-MM-DD [--days N]\n"
	    "           --contact-name S --contact-phone S [--contact-email S]\n"
	    "           [--ref S] [--municipality CODE]",
	    "register involvement with a youth (or refresh your signal)",
	    cmd_register },
	{ "withdraw", "(--signal ID | --bsn B) --reason "
	    "unjustified|risk-resolved",
	    "withdraw your signal: unjustified deletes it, risk-resolved "
	    "archives it", cmd_withdraw },
	{ "involved", "--bsn B",
	    "show the other organisations involved with a youth you have "
	    "a signal on", cmd_involved },
	{ "list", "[--all | --page-size N [--after ID]]",
	    "list your active signals (all pages unless --page-size or "
	    "--after)", cmd_list },
	{ "subscribe", "[--from SEQ] [--for ORG ...]",
	    "print notifications for you (or each ORG) as they come",
	    cmd_subscribe },
	{ "coordinate", "--match ID (--claim | --release | --done)",
	    "coordinate a match, hand coordination over by rank, or mark "
	    "it coordinated", cmd_coordinate },
	{ "listen", "--port P [--host H] [--peer NAME]",
	    "receive the notifications vixd pushes (push mode)", cmd_listen },
};

static void
command_usage(FILE *fp, const struct command *cmd)
{
	fprintf(fp, "  %s%s%s\n      %s\n", cmd->name, *cmd->args ? " " : "",
	    cmd->args, cmd->summary);
}

static void
command_help(const struct command *cmd)
{
	printf("usage: vix [options] %s%s%s [--json]\n%s\n", cmd->name,
	    *cmd->args ? " " : "", cmd->args, cmd->summary);
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: vix [options] COMMAND [command options]\n"
	    "options (also VIX_SERVER, VIX_CERT, VIX_KEY, VIX_CA):\n"
	    "  --server HOST:PORT   vixd address\n"
	    "  --cert FILE          client certificate (PEM)\n"
	    "  --key FILE           client private key (PEM)\n"
	    "  --ca FILE            CA bundle for vixd's certificate\n"
	    "  --dev NAME           use NAME's development material in ./%s\n"
	    "                       and %s\n"
	    "  --dev-dir DIR        development material folder\n"
	    "  --json               JSON on stdout: one object, or one per\n"
	    "                       line for subscribe and listen (also\n"
	    "                       accepted after the command)\n"
	    "  --timeout SECONDS    connect and request timeout (default 10)\n"
	    "commands:\n", DEV_DIR_DEFAULT, DEV_SERVER_DEFAULT);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		command_usage(fp, &commands[i]);
	fprintf(fp, "subscribe and listen acknowledge each notification once "
	    "it is printed, and\nrun until SIGINT or SIGTERM (exit 0); "
	    "subscribe exits 3 when the connection\nends. subscribe --from "
	    "SEQ starts at SEQ, not after the last acknowledged one;\n--for "
	    "ORG: an organisation that delegates to you. listen binds H "
	    "(default\n" LISTEN_HOST_DEFAULT ") and accepts vixd's "
	    "certificate from --ca; --peer NAME: only if issued\nfor NAME\n"
	    "times are shown in UTC; a BSN is never printed\n"
	    "exit status: 0 ok, 1 refused by the server, 2 usage, "
	    "3 cannot connect, TLS or protocol failure\n");
}

static const struct command *
command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

/*
 * A command-line word as it may appear in an error message: never one with
 * a digit in it (it could be a BSN), and only up to an '='.
 */
static const char *
shown(const char *word, char *buf, size_t len)
{
	size_t n = strcspn(word, "=");

	if (strpbrk(word, "0123456789") != NULL)
		return "(not shown: it contains digits)";
	snprintf(buf, len, "'%.*s'", (int)n, word);
	return buf;
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

/* Text from the server for a terminal: control characters become '?'. */
static void
put_text(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, fp);
}

/* "2027-03-01" at midnight UTC, else "2025-06-01 10:22 UTC". */
static const char *
fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "@%" PRId64, t);
	else if (tm.tm_hour == 0 && tm.tm_min == 0 && tm.tm_sec == 0)
		strftime(buf, len, "%Y-%m-%d", &tm);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

static const char *
bound_name(enum vix_expiry_bound b)
{
	switch (b) {
	case VIX_EXPIRY_DURATION:	return "DURATION";
	case VIX_EXPIRY_AGE_23:		return "AGE_23";
	default:			return "EXPIRY_BOUND_UNSPECIFIED";
	}
}

static const char *
bound_text(enum vix_expiry_bound b)
{
	switch (b) {
	case VIX_EXPIRY_DURATION:	return " (end of the chosen duration)";
	case VIX_EXPIRY_AGE_23:		return " (23rd birthday)";
	default:			return "";
	}
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

/*
 * Fill in what the command line left open: environment, then --dev. The
 * server address is needed unless vixd dials us (listen).
 */
static int
resolve_options(struct cli *o, int need_server)
{
	const char *dir = o->dev_dir ? o->dev_dir : DEV_DIR_DEFAULT;

	if (o->dev_dir != NULL && o->dev == NULL) {
		fprintf(stderr, "vix: --dev-dir needs --dev NAME\n");
		return -1;
	}
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
	if ((need_server && o->server == NULL) || o->cert == NULL ||
	    o->key == NULL || o->ca == NULL) {
		fprintf(stderr, "vix: missing %s: give %s--cert, --key and --ca "
		    "(or %sVIX_CERT, VIX_KEY, VIX_CA, or --dev NAME)\n",
		    need_server && o->server == NULL ? "--server" :
		    o->cert == NULL ? "--cert" : o->key == NULL ? "--key" :
		    "--ca",
		    need_server ? "--server, " : "",
		    need_server ? "VIX_SERVER, " : "");
		return -1;
	}
	return 0;
}

/* Resolve the connection options and connect; returns an exit status. */
static int
open_client(struct cli *o, vix_client **c)
{
	struct vix_options opt;
	struct vix_error e;

	if (resolve_options(o, 1) == -1)
		return EXIT_USAGE;
	opt = (struct vix_options){ .server = o->server, .cert_file = o->cert,
	    .key_file = o->key, .ca_file = o->ca, .timeout_ms = o->timeout_ms };
	if (vix_connect(&opt, c, &e) != VIX_OK)
		return fail(&e);
	return EXIT_OK;
}

/*
 * The next option of a command (argv[0] is its name). Handles --json and
 * --help itself; reports a bad option and returns OPT_FAILED; -1 at the end.
 */
static int
next_opt(struct cli *o, int argc, char **argv, const struct option *lo)
{
	const struct command *cmd;
	char buf[64];
	int ch;

	for (;;) {
		ch = getopt_long(argc, argv, "+:h", lo, NULL);
		if (ch == OPT_JSON) {
			o->json = 1;
			continue;
		}
		if (ch == 'h' && (cmd = command_find(argv[0])) != NULL) {
			command_help(cmd);
			exit(EXIT_OK);
		}
		if (ch == ':')
			fprintf(stderr, "vix %s: %s needs a value\n", argv[0],
			    shown(argv[optind - 1], buf, sizeof(buf)));
		else if (ch == '?' && optopt > 0 && optopt < 128 &&
		    isalpha(optopt))
			fprintf(stderr, "vix %s: unknown option '-%c'\n",
			    argv[0], optopt);
		else if (ch == '?')
			fprintf(stderr, "vix %s: unknown option %s\n", argv[0],
			    shown(argv[optind - 1], buf, sizeof(buf)));
		else
			return ch;
		fprintf(stderr, "try 'vix %s --help'\n", argv[0]);
		return OPT_FAILED;
	}
}

/* Start parsing a command's own argv; getopt is reset (glibc: optind 0). */
static void
opts_begin(void)
{
	optind = 0;
	opterr = 0;
}

/* After the options: anything left is an error. */
static int
opts_end(int argc, char **argv)
{
	char buf[64];

	if (optind >= argc)
		return 0;
	fprintf(stderr, "vix %s: unexpected argument %s\n", argv[0],
	    shown(argv[optind], buf, sizeof(buf)));
	return -1;
}

static int
required(const char *cmd, const char *value, const char *option)
{
	if (value != NULL)
		return 0;
	fprintf(stderr, "vix %s: %s is required\n", cmd, option);
	return -1;
}

static int
parse_u64(const char *cmd, const char *option, const char *arg,
    uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || !isdigit((unsigned char)*arg) ||
	    v < min || v > max) {
		fprintf(stderr, "vix %s: %s must be a whole number from %"
		    PRIu64 " to %" PRIu64 "\n", cmd, option, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int
cmd_ping(struct cli *o, int argc, char **argv)
{
	static const struct option lo[] = { OPTS_COMMON, { NULL, 0, NULL, 0 } };
	struct vix_ping_result r;
	struct vix_error e;
	vix_client *c;
	int rc;

	opts_begin();
	if (next_opt(o, argc, argv, lo) != -1 || opts_end(argc, argv) == -1)
		return EXIT_USAGE;
	if ((rc = open_client(o, &c)) != EXIT_OK)
		return rc;
	rc = vix_ping(c, &r, &e);
	vix_close(c);
	if (rc != VIX_OK)
		return fail(&e);
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

static void
json_involvement(const struct vix_involvement *v)
{
	printf("{\"org_id\":");
	json_string(stdout, v->org_id);
	printf(",\"org_name\":");
	json_string(stdout, v->org_name);
	printf(",\"contact\":{\"name\":");
	json_string(stdout, v->contact_name);
	printf(",\"phone\":");
	json_string(stdout, v->contact_phone);
	printf(",\"email\":");
	json_string(stdout, v->contact_email);
	printf("},\"since\":%" PRId64 "}", v->since);
}

static void
json_involvements(const struct vix_involvement *v, size_t n)
{
	printf("[");
	for (size_t i = 0; i < n; i++) {
		printf("%s", i ? "," : "");
		json_involvement(&v[i]);
	}
	printf("]");
}

static void
json_match(const struct vix_match *m)
{
	printf("{\"match_id\":%" PRIu64 ",\"coordinator\":", m->match_id);
	json_string(stdout, m->coordinator);
	printf(",\"coordinator_name\":");
	json_string(stdout, m->coordinator_name);
	printf(",\"created\":%" PRId64 ",\"coordinated\":%s,\"others\":",
	    m->created, m->coordinated ? "true" : "false");
	json_involvements(m->others, m->n_others);
	printf("}");
}

/* "Name (org-id): contact, phone[, email], since TIME" */
static void
put_involvement(const struct vix_involvement *v)
{
	char when[40];

	put_text(stdout, v->org_name);
	printf(" (");
	put_text(stdout, v->org_id);
	printf("): ");
	put_text(stdout, v->contact_name);
	printf(", ");
	put_text(stdout, v->contact_phone);
	if (v->contact_email[0] != '\0') {
		printf(", ");
		put_text(stdout, v->contact_email);
	}
	printf(", since %s", fmt_time(v->since, when, sizeof(when)));
}

static void
print_match(const struct vix_match *m)
{
	printf("MATCH %" PRIu64 " with:\n", m->match_id);
	for (size_t i = 0; i < m->n_others; i++) {
		printf("  ");
		put_involvement(&m->others[i]);
		printf("\n");
	}
	printf("coordinator: ");
	put_text(stdout, m->coordinator_name);
	printf(" (");
	put_text(stdout, m->coordinator);
	printf(")%s\n", m->coordinated ? ", marked coordinated" : "");
}

static int
register_opts(struct cli *o, int argc, char **argv,
    struct vix_register_req *rq)
{
	static const struct option lo[] = {
		{ "bsn", required_argument, NULL, OPT_BSN },
		{ "birth-date", required_argument, NULL, OPT_BIRTH_DATE },
		{ "days", required_argument, NULL, OPT_DAYS },
		{ "contact-name", required_argument, NULL, OPT_CONTACT_NAME },
		{ "contact-phone", required_argument, NULL, OPT_CONTACT_PHONE },
		{ "contact-email", required_argument, NULL, OPT_CONTACT_EMAIL },
		{ "ref", required_argument, NULL, OPT_REF },
		{ "municipality", required_argument, NULL, OPT_MUNICIPALITY },
		OPTS_COMMON, { NULL, 0, NULL, 0 },
	};
	uint64_t days;
	int ch;

	opts_begin();
	while ((ch = next_opt(o, argc, argv, lo)) != -1) {
		switch (ch) {
		case OPT_BSN: rq->bsn = optarg; break;
		case OPT_BIRTH_DATE: rq->birth_date = optarg; break;
		case OPT_DAYS:
			if (parse_u64(argv[0], "--days", optarg, 1, UINT32_MAX,
			    &days) == -1)
				return -1;
			rq->duration_days = (unsigned)days;
			break;
		case OPT_CONTACT_NAME: rq->contact_name = optarg; break;
		case OPT_CONTACT_PHONE: rq->contact_phone = optarg; break;
		case OPT_CONTACT_EMAIL: rq->contact_email = optarg; break;
		case OPT_REF: rq->client_ref = optarg; break;
		case OPT_MUNICIPALITY: rq->municipality = optarg; break;
		default: return -1;
		}
	}
	if (opts_end(argc, argv) == -1 ||
	    required(argv[0], rq->bsn, "--bsn") == -1 ||
	    required(argv[0], rq->birth_date, "--birth-date") == -1 ||
	    required(argv[0], rq->contact_name, "--contact-name") == -1 ||
	    required(argv[0], rq->contact_phone, "--contact-phone") == -1)
		return -1;
	return 0;
}

static int
cmd_register(struct cli *o, int argc, char **argv)
{
	struct vix_register_req rq = { 0 };
	struct vix_register_result r;
	struct vix_error e;
	vix_client *c;
	char when[40];
	int rc;

	if (register_opts(o, argc, argv, &rq) == -1)
		return EXIT_USAGE;
	if ((rc = open_client(o, &c)) != EXIT_OK)
		return rc;
	rc = vix_register(c, &rq, &r, &e);
	vix_close(c);
	if (rc != VIX_OK) {
		vix_register_result_free(&r);
		return fail(&e);
	}
	if (o->json) {
		printf("{\"signal_id\":%" PRIu64 ",\"status\":\"%s\","
		    "\"expires\":%" PRId64 ",\"expiry_bound\":\"%s\","
		    "\"match\":", r.signal_id,
		    r.status == VIX_SIGNAL_REFRESHED ? "REFRESHED" :
		    r.status == VIX_SIGNAL_CREATED ? "CREATED" :
		    "STATUS_UNSPECIFIED", r.expires,
		    bound_name(r.expiry_bound));
		if (r.has_match)
			json_match(&r.match);
		else
			printf("null");
		printf("}\n");
	} else {
		printf("signal %" PRIu64 " %s, expires %s%s\n", r.signal_id,
		    r.status == VIX_SIGNAL_REFRESHED ? "refreshed" : "created",
		    fmt_time(r.expires, when, sizeof(when)),
		    bound_text(r.expiry_bound));
		if (r.has_match)
			print_match(&r.match);
		else
			printf("no other organisation is involved\n");
	}
	vix_register_result_free(&r);
	return EXIT_OK;
}

struct withdraw_args {
	uint64_t		 signal_id;
	const char		*bsn;
	const char		*reason;
	enum vix_withdraw_reason reason_code;
};

static int
withdraw_check(const char *cmd, struct withdraw_args *a)
{
	if (a->signal_id == 0 && a->bsn == NULL) {
		fprintf(stderr, "vix %s: --signal ID or --bsn B is required\n",
		    cmd);
		return -1;
	}
	if (a->signal_id != 0 && a->bsn != NULL) {
		fprintf(stderr, "vix %s: give --signal or --bsn, not both\n",
		    cmd);
		return -1;
	}
	if (required(cmd, a->reason, "--reason") == -1)
		return -1;
	if (strcmp(a->reason, "unjustified") == 0)
		a->reason_code = VIX_WITHDRAW_UNJUSTIFIED;
	else if (strcmp(a->reason, "risk-resolved") == 0)
		a->reason_code = VIX_WITHDRAW_RISK_RESOLVED;
	else {
		fprintf(stderr, "vix %s: --reason must be unjustified or "
		    "risk-resolved\n", cmd);
		return -1;
	}
	return 0;
}

static int
withdraw_opts(struct cli *o, int argc, char **argv, struct withdraw_args *a)
{
	static const struct option lo[] = {
		{ "signal", required_argument, NULL, OPT_SIGNAL },
		{ "bsn", required_argument, NULL, OPT_BSN },
		{ "reason", required_argument, NULL, OPT_REASON },
		OPTS_COMMON, { NULL, 0, NULL, 0 },
	};
	int ch;

	opts_begin();
	while ((ch = next_opt(o, argc, argv, lo)) != -1) {
		switch (ch) {
		case OPT_SIGNAL:
			if (parse_u64(argv[0], "--signal", optarg, 1,
			    UINT64_MAX, &a->signal_id) == -1)
				return -1;
			break;
		case OPT_BSN: a->bsn = optarg; break;
		case OPT_REASON: a->reason = optarg; break;
		default: return -1;
		}
	}
	if (opts_end(argc, argv) == -1)
		return -1;
	return withdraw_check(argv[0], a);
}

static int
cmd_withdraw(struct cli *o, int argc, char **argv)
{
	struct withdraw_args a = { 0 };
	struct vix_withdraw_result r;
	struct vix_error e;
	vix_client *c;
	int rc;

	if (withdraw_opts(o, argc, argv, &a) == -1)
		return EXIT_USAGE;
	if ((rc = open_client(o, &c)) != EXIT_OK)
		return rc;
	rc = vix_withdraw(c, a.signal_id, a.bsn, a.reason_code, &r, &e);
	vix_close(c);
	if (rc != VIX_OK)
		return fail(&e);
	if (o->json) {
		printf("{\"signal_id\":%" PRIu64 ",\"archived\":%s,"
		    "\"match_id\":%" PRIu64 ",\"match_closed\":%s}\n",
		    r.signal_id, r.archived ? "true" : "false", r.match_id,
		    r.match_closed ? "true" : "false");
		return EXIT_OK;
	}
	printf("signal %" PRIu64 " withdrawn: %s\n", r.signal_id,
	    r.archived ? "archived" : "deleted, not archived");
	if (r.match_id != 0)
		printf("match %" PRIu64 " %s\n", r.match_id, r.match_closed ?
		    "closed: fewer than two organisations remain" :
		    "continues with the other organisations");
	return EXIT_OK;
}

static int
cmd_involved(struct cli *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bsn", required_argument, NULL, OPT_BSN },
		OPTS_COMMON, { NULL, 0, NULL, 0 },
	};
	struct vix_involved_result r;
	const char *bsn = NULL;
	struct vix_error e;
	vix_client *c;
	int ch, rc;

	opts_begin();
	while ((ch = next_opt(o, argc, argv, lo)) != -1) {
		if (ch != OPT_BSN)
			return EXIT_USAGE;
		bsn = optarg;
	}
	if (opts_end(argc, argv) == -1 ||
	    required(argv[0], bsn, "--bsn") == -1)
		return EXIT_USAGE;
	if ((rc = open_client(o, &c)) != EXIT_OK)
		return rc;
	rc = vix_involved(c, bsn, &r, &e);
	vix_close(c);
	if (rc != VIX_OK) {
		vix_involved_result_free(&r);
		return fail(&e);
	}
	if (o->json) {
		printf("{\"signal_id\":%" PRIu64 ",\"match\":", r.signal_id);
		if (r.has_match)
			json_match(&r.match);
		else
			printf("null");
		printf("}\n");
	} else {
		printf("your signal %" PRIu64 "\n", r.signal_id);
		if (r.has_match)
			print_match(&r.match);
		else
			printf("no other organisation is involved\n");
	}
	vix_involved_result_free(&r);
	return EXIT_OK;
}

struct list_args {
	int		 all;
	uint64_t	 page_size;	/* 0: the server's default */
	uint64_t	 after;
	int		 paged;		/* --page-size or --after given */
};

static int
list_opts(struct cli *o, int argc, char **argv, struct list_args *a)
{
	static const struct option lo[] = {
		{ "all", no_argument, NULL, OPT_ALL },
		{ "page-size", required_argument, NULL, OPT_PAGE_SIZE },
		{ "after", required_argument, NULL, OPT_AFTER },
		OPTS_COMMON, { NULL, 0, NULL, 0 },
	};
	int ch;

	opts_begin();
	while ((ch = next_opt(o, argc, argv, lo)) != -1) {
		switch (ch) {
		case OPT_ALL: a->all = 1; break;
		case OPT_PAGE_SIZE:
			a->paged = 1;
			if (parse_u64(argv[0], "--page-size", optarg, 1,
			    LIST_PAGE_MAX, &a->page_size) == -1)
				return -1;
			break;
		case OPT_AFTER:
			a->paged = 1;
			if (parse_u64(argv[0], "--after", optarg, 0,
			    UINT64_MAX, &a->after) == -1)
				return -1;
			break;
		default: return -1;
		}
	}
	if (opts_end(argc, argv) == -1)
		return -1;
	if (a->all && a->paged) {
		fprintf(stderr, "vix %s: --all fetches every page; leave out "
		    "--page-size and --after\n", argv[0]);
		return -1;
	}
	a->all = !a->paged;
	return 0;
}

/* Append one page to *acc (which owns its array); returns a vix_result. */
static int
list_append(struct vix_list_result *acc, const struct vix_list_result *page,
    struct vix_error *e)
{
	struct vix_signal_summary *p;

	if (page->n == 0)
		return VIX_OK;
	p = reallocarray(acc->signals, acc->n + page->n, sizeof(*p));
	if (p == NULL) {
		e->kind = VIX_ERR_NOMEM;
		snprintf(e->message, sizeof(e->message), "out of memory");
		return VIX_ERR_NOMEM;
	}
	memcpy(p + acc->n, page->signals, page->n * sizeof(*p));
	acc->signals = p;
	acc->n += page->n;
	return VIX_OK;
}

/* One page, or every page from a->after on, into *acc. */
static int
list_fetch(vix_client *c, const struct list_args *a,
    struct vix_list_result *acc, struct vix_error *e)
{
	struct vix_list_result page;
	uint64_t after = a->after;
	int rc;

	do {
		rc = vix_list(c, (uint32_t)a->page_size, after, &page, e);
		if (rc == VIX_OK)
			rc = list_append(acc, &page, e);
		acc->next_after = page.next_after;
		vix_list_result_free(&page);
		if (rc == VIX_OK && acc->next_after != 0 &&
		    acc->next_after <= after) {
			e->kind = rc = VIX_ERR_PROTOCOL;
			snprintf(e->message, sizeof(e->message), "server's "
			    "next page does not advance (after %" PRIu64 ")",
			    after);
		}
		after = acc->next_after;
	} while (rc == VIX_OK && a->all && after != 0);
	return rc;
}

static void
print_list(const struct vix_list_result *l, int json)
{
	const struct vix_signal_summary *s;
	char t1[40], t2[40];

	if (json) {
		printf("{\"signals\":[");
		for (size_t i = 0; i < l->n; i++) {
			s = &l->signals[i];
			printf("%s{\"signal_id\":%" PRIu64 ",\"client_ref\":",
			    i ? "," : "", s->signal_id);
			json_string(stdout, s->client_ref);
			printf(",\"created\":%" PRId64 ",\"expires\":%" PRId64
			    ",\"match_id\":%" PRIu64 ",\"expiry_bound\":\"%s\"}",
			    s->created, s->expires, s->match_id,
			    bound_name(s->expiry_bound));
		}
		printf("],\"next_after\":%" PRIu64 "}\n", l->next_after);
		return;
	}
	if (l->n == 0)
		printf("no active signals\n");
	for (size_t i = 0; i < l->n; i++) {
		s = &l->signals[i];
		printf("signal %" PRIu64 ": created %s, expires %s%s",
		    s->signal_id, fmt_time(s->created, t1, sizeof(t1)),
		    fmt_time(s->expires, t2, sizeof(t2)),
		    bound_text(s->expiry_bound));
		if (s->match_id != 0)
			printf(", MATCH %" PRIu64, s->match_id);
		if (s->client_ref[0] != '\0') {
			printf(", ref ");
			put_text(stdout, s->client_ref);
		}
		printf("\n");
	}
	if (l->next_after != 0)
		printf("more: vix list --page-size N --after %" PRIu64 "\n",
		    l->next_after);
}

static int
cmd_list(struct cli *o, int argc, char **argv)
{
	struct vix_list_result acc = { 0 };
	struct list_args a = { 0 };
	struct vix_error e;
	vix_client *c;
	int rc;

	if (list_opts(o, argc, argv, &a) == -1)
		return EXIT_USAGE;
	if ((rc = open_client(o, &c)) != EXIT_OK)
		return rc;
	rc = list_fetch(c, &a, &acc, &e);
	vix_close(c);
	if (rc == VIX_OK)
		print_list(&acc, o->json);
	vix_list_result_free(&acc);
	return rc == VIX_OK ? EXIT_OK : fail(&e);
}

/* The Notification fields in proto order; type by name, or its number. */
static void
json_notification(const struct vix_notification *n)
{
	const char *type = vix_notification_type_name(n->type);

	printf("{\"seq\":%" PRIu64 ",\"recipient\":", n->seq);
	json_string(stdout, n->recipient);
	if (strcmp(type, "UNKNOWN_TYPE") == 0)
		printf(",\"type\":%d", (int)n->type);
	else
		printf(",\"type\":\"%s\"", type);
	printf(",\"match_id\":%" PRIu64 ",\"signal_id\":%" PRIu64
	    ",\"client_ref\":", n->match_id, n->signal_id);
	json_string(stdout, n->client_ref);
	printf(",\"others\":");
	json_involvements(n->others, n->n_others);
	printf(",\"subject\":");
	if (n->has_subject)
		json_involvement(&n->subject);
	else
		printf("null");
	printf(",\"coordinator\":");
	json_string(stdout, n->coordinator);
	printf(",\"coordinator_name\":");
	json_string(stdout, n->coordinator_name);
	printf(",\"coordinated\":%s,\"time\":%" PRId64 ",\"municipality\":",
	    n->coordinated ? "true" : "false", n->time);
	json_string(stdout, n->municipality);
	printf("}\n");
}

/* The subject of a notification, as "Name (org-id) joined" and the like. */
static void
put_subject(const struct vix_notification *n)
{
	printf(": ");
	put_text(stdout, n->subject.org_name);
	printf(" (");
	put_text(stdout, n->subject.org_id);
	printf(")%s", n->type == VIX_NOTIFY_MATCH_JOINED ? " joined" :
	    n->type == VIX_NOTIFY_MATCH_LEFT ||
	    n->type == VIX_NOTIFY_MATCH_CLOSED ? " left" : "");
}

/*
 * "seq 3 for org-b: MATCH_CREATED match 1 (your signal 2, ref dossier-7)
 * with Name (org-a): contact, phone, since TIME; coordinator org-a"
 */
static void
print_notification(const struct vix_notification *n)
{
	const char *type = vix_notification_type_name(n->type);

	printf("seq %" PRIu64 " for ", n->seq);
	put_text(stdout, n->recipient);
	if (strcmp(type, "UNKNOWN_TYPE") == 0)
		printf(": type %d", (int)n->type);
	else
		printf(": %s", type);
	if (n->match_id != 0)
		printf(" match %" PRIu64, n->match_id);
	if (n->signal_id != 0) {
		printf(" (your signal %" PRIu64, n->signal_id);
		if (n->client_ref[0] != '\0') {
			printf(", ref ");
			put_text(stdout, n->client_ref);
		}
		printf(")");
	}
	if (n->has_subject)
		put_subject(n);
	for (size_t i = 0; i < n->n_others; i++) {
		printf("%s", i ? "; " : n->has_subject ? "; with " : " with ");
		put_involvement(&n->others[i]);
	}
	if (n->coordinator[0] != '\0') {
		printf("; coordinator ");
		put_text(stdout, n->coordinator);
		printf("%s", n->coordinated ? ", marked coordinated" : "");
	}
	if (n->municipality[0] != '\0') {
		printf("; municipality ");
		put_text(stdout, n->municipality);
	}
	printf("\n");
}

static void
on_stop(int sig)
{
	stopping = 1;
}

/*
 * SIGINT and SIGTERM set stopping. A wait for a notification or a
 * connection returns when interrupted, so the stream loops notice at once.
 */
static void
stop_on_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/*
 * Print each notification on c, and acknowledge it once it is out of our
 * hands (flushed), until SIGINT or SIGTERM (VIX_OK) or a failure: its
 * vix_result with *e, or STREAM_OUTPUT_FAILED, already reported.
 */
static int
stream(struct cli *o, vix_client *c, struct vix_error *e)
{
	struct vix_notification n;
	int rc;

	while (!stopping) {
		rc = vix_next_notification(c, STREAM_WAIT_MS, &n, e);
		if (rc == VIX_ERR_TIMEOUT)
			continue;
		if (rc == VIX_OK) {
			if (o->json)
				json_notification(&n);
			else
				print_notification(&n);
			if (fflush(stdout) == EOF) {
				fprintf(stderr, "vix: cannot write a "
				    "notification: %s; it is not acknowledged\n",
				    strerror(errno));
				rc = STREAM_OUTPUT_FAILED;
			} else
				rc = vix_ack(c, n.recipient, n.seq, e);
		}
		vix_notification_free(&n);
		if (rc != VIX_OK)
			return stopping ? VIX_OK : rc;
	}
	return VIX_OK;
}

/* Report why a stream's connection ended. */
static void
stream_ended(const char *cmd, const struct vix_error *e)
{
	if (e->kind == VIX_ERR_REFUSED)
		fprintf(stderr, "vix %s: connection ended: %s: %s\n", cmd,
		    vix_status_name(e->status), e->message);
	else
		fprintf(stderr, "vix %s: connection ended: %s: %s\n", cmd,
		    vix_result_name(e->kind), e->message);
}

struct subscribe_args {
	uint64_t	  from;		/* 0: after the last acknowledged */
	const char	**orgs;		/* room for one per argument */
	size_t		  n;
};

static int
subscribe_opts(struct cli *o, int argc, char **argv, struct subscribe_args *a)
{
	static const struct option lo[] = {
		{ "from", required_argument, NULL, OPT_FROM },
		{ "for", required_argument, NULL, OPT_FOR },
		OPTS_COMMON, { NULL, 0, NULL, 0 },
	};
	int ch;

	opts_begin();
	while ((ch = next_opt(o, argc, argv, lo)) != -1) {
		switch (ch) {
		case OPT_FROM:
			if (parse_u64(argv[0], "--from", optarg, 0,
			    UINT64_MAX, &a->from) == -1)
				return -1;
			break;
		case OPT_FOR:
			if (*optarg == '\0') {
				fprintf(stderr, "vix %s: --for needs an "
				    "organisation id\n", argv[0]);
				return -1;
			}
			a->orgs[a->n++] = optarg;
			break;
		default: return -1;
		}
	}
	return opts_end(argc, argv);
}

static void
print_positions(const struct vix_subscribe_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		fprintf(stderr, "subscribed for ");
		put_text(stderr, r->positions[i].recipient);
		fprintf(stderr, ": acknowledged up to seq %" PRIu64 ", newest %"
		    PRIu64 "\n", r->positions[i].acked, r->positions[i].last);
	}
}

/* Subscribe on c and stream; returns an exit status. */
static int
subscribe_run(struct cli *o, vix_client *c, const struct subscribe_args *a)
{
	struct vix_subscribe_result r;
	struct vix_error e;
	int rc;

	stop_on_signals();
	rc = vix_subscribe(c, a->from, a->orgs, a->n, &r, &e);
	if (rc != VIX_OK)
		return stopping ? EXIT_OK : fail(&e);
	if (!o->json)
		print_positions(&r);
	vix_subscribe_result_free(&r);
	if ((rc = stream(o, c, &e)) == VIX_OK)
		return EXIT_OK;
	if (rc != STREAM_OUTPUT_FAILED)
		stream_ended("subscribe", &e);
	return EXIT_CONNECT;
}

static int
cmd_subscribe(struct cli *o, int argc, char **argv)
{
	struct subscribe_args a = { 0 };
	vix_client *c;
	int rc;

	if ((a.orgs = calloc((size_t)argc, sizeof(*a.orgs))) == NULL) {
		fprintf(stderr, "vix: out of memory\n");
		return EXIT_CONNECT;
	}
	if (subscribe_opts(o, argc, argv, &a) == -1)
		rc = EXIT_USAGE;
	else if ((rc = open_client(o, &c)) == EXIT_OK) {
		rc = subscribe_run(o, c, &a);
		vix_close(c);
	}
	free(a.orgs);
	return rc;
}

static int
coordinate_opts(struct cli *o, int argc, char **argv, uint64_t *match,
    enum vix_coordinate_action *action)
{
	static const struct option lo[] = {
		{ "match", required_argument, NULL, OPT_MATCH },
		{ "claim", no_argument, NULL, OPT_CLAIM },
		{ "release", no_argument, NULL, OPT_RELEASE },
		{ "done", no_argument, NULL, OPT_DONE },
		OPTS_COMMON, { NULL, 0, NULL, 0 },
	};
	int ch, actions = 0;

	opts_begin();
	while ((ch = next_opt(o, argc, argv, lo)) != -1) {
		switch (ch) {
		case OPT_MATCH:
			if (parse_u64(argv[0], "--match", optarg, 1,
			    UINT64_MAX, match) == -1)
				return -1;
			break;
		case OPT_CLAIM: *action = VIX_COORD_CLAIM; actions++; break;
		case OPT_RELEASE: *action = VIX_COORD_RELEASE; actions++; break;
		case OPT_DONE:
			*action = VIX_COORD_MARK_COORDINATED;
			actions++;
			break;
		default: return -1;
		}
	}
	if (opts_end(argc, argv) == -1)
		return -1;
	if (*match == 0) {
		fprintf(stderr, "vix %s: --match is required\n", argv[0]);
		return -1;
	}
	if (actions != 1) {
		fprintf(stderr, "vix %s: give one of --claim, --release and "
		    "--done\n", argv[0]);
		return -1;
	}
	return 0;
}

static int
cmd_coordinate(struct cli *o, int argc, char **argv)
{
	enum vix_coordinate_action action = VIX_COORD_CLAIM;
	struct vix_match m;
	struct vix_error e;
	uint64_t match = 0;
	vix_client *c;
	int rc;

	if (coordinate_opts(o, argc, argv, &match, &action) == -1)
		return EXIT_USAGE;
	if ((rc = open_client(o, &c)) != EXIT_OK)
		return rc;
	rc = vix_coordinate(c, match, action, &m, &e);
	vix_close(c);
	if (rc != VIX_OK) {
		vix_match_free(&m);
		return fail(&e);
	}
	if (o->json) {
		json_match(&m);
		printf("\n");
	} else
		print_match(&m);
	vix_match_free(&m);
	return EXIT_OK;
}

struct listen_args {
	const char	*host;
	uint64_t	 port;
	const char	*peer;		/* NULL: any certificate from the CA */
};

static int
listen_opts(struct cli *o, int argc, char **argv, struct listen_args *a)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, OPT_PORT },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "peer", required_argument, NULL, OPT_PEER },
		OPTS_COMMON, { NULL, 0, NULL, 0 },
	};
	int ch;

	opts_begin();
	while ((ch = next_opt(o, argc, argv, lo)) != -1) {
		switch (ch) {
		case OPT_PORT:
			if (parse_u64(argv[0], "--port", optarg, 1, 65535,
			    &a->port) == -1)
				return -1;
			break;
		case OPT_HOST: a->host = optarg; break;
		case OPT_PEER: a->peer = optarg; break;
		default: return -1;
		}
	}
	if (opts_end(argc, argv) == -1)
		return -1;
	if (a->port == 0) {
		fprintf(stderr, "vix %s: --port is required\n", argv[0]);
		return -1;
	}
	return 0;
}

/* Accept vixd's connections one at a time and stream each until it ends. */
static int
listen_run(struct cli *o, vix_listener *l)
{
	const struct timespec pause = { 0, ACCEPT_PAUSE_MS * 1000000L };
	struct vix_error e;
	vix_client *c;
	int rc;

	while (!stopping) {
		rc = vix_accept(l, STREAM_WAIT_MS, &c, &e);
		if (rc == VIX_ERR_TIMEOUT || (rc != VIX_OK && stopping))
			continue;
		if (rc != VIX_OK) {
			fprintf(stderr, "vix listen: connection not accepted: "
			    "%s: %s\n", vix_result_name(e.kind), e.message);
			nanosleep(&pause, NULL);
			continue;
		}
		if (!o->json)
			fprintf(stderr, "vix listen: vixd connected\n");
		rc = stream(o, c, &e);
		vix_close(c);
		if (rc == STREAM_OUTPUT_FAILED)
			return EXIT_CONNECT;
		if (rc != VIX_OK)
			stream_ended("listen", &e);
	}
	return EXIT_OK;
}

static int
cmd_listen(struct cli *o, int argc, char **argv)
{
	struct listen_args a = { .host = LISTEN_HOST_DEFAULT };
	struct vix_listen_options opt;
	struct vix_error e;
	vix_listener *l;
	char addr[320];
	int rc;

	if (listen_opts(o, argc, argv, &a) == -1 ||
	    resolve_options(o, 0) == -1)
		return EXIT_USAGE;
	if (strchr(a.host, ':') != NULL)
		snprintf(addr, sizeof(addr), "[%s]:%" PRIu64, a.host, a.port);
	else
		snprintf(addr, sizeof(addr), "%s:%" PRIu64, a.host, a.port);
	opt = (struct vix_listen_options){ .listen = addr, .cert_file = o->cert,
	    .key_file = o->key, .ca_file = o->ca, .peer_name = a.peer,
	    .timeout_ms = o->timeout_ms };
	if (vix_listen(&opt, &l, &e) != VIX_OK)
		return fail(&e);
	stop_on_signals();
	if (!o->json)
		fprintf(stderr, "vix listen: waiting for vixd on %s\n", addr);
	rc = listen_run(o, l);
	vix_listener_close(l);
	return rc;
}

static int
parse_global(int argc, char **argv, struct cli *o)
{
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
	char *end, buf[64];
	long secs;
	int ch;

	/* '+': stop at the command; its own options come after it. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
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
				fprintf(stderr, "vix: --timeout must be a number "
				    "of seconds from 1 to 3600\n");
				return -1;
			}
			o->timeout_ms = (int)secs * 1000;
			break;
		case 'h': usage(stdout); exit(EXIT_OK);
		case 'V': printf("vix %s\n", vix_version()); exit(EXIT_OK);
		case ':':
			fprintf(stderr, "vix: %s needs a value\n",
			    shown(argv[optind - 1], buf, sizeof(buf)));
			return -1;
		default:
			if (optopt > 0 && optopt < 128 && isalpha(optopt))
				fprintf(stderr, "vix: unknown option '-%c'\n",
				    optopt);
			else
				fprintf(stderr, "vix: unknown option %s\n",
				    shown(argv[optind - 1], buf, sizeof(buf)));
			usage(stderr);
			return -1;
		}
	}
	return optind;
}

int
main(int argc, char **argv)
{
	const struct command *cmd;
	struct cli o = { 0 };
	char buf[64];
	int first;

	if ((first = parse_global(argc, argv, &o)) < 0)
		return EXIT_USAGE;
	if (first == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((cmd = command_find(argv[first])) == NULL) {
		fprintf(stderr, "vix: unknown command %s\n",
		    shown(argv[first], buf, sizeof(buf)));
		usage(stderr);
		return EXIT_USAGE;
	}
	return cmd->run(&o, argc - first, argv + first);
}
