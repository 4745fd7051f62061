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
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "vix/client.h"

#include "bsnarg.h"
#include "csv.h"
#include "jsonw.h"
#include "rules.h"		/* the index's own checks, from daemon/ */
#include "webhook_listen.h"

#define DEV_DIR_DEFAULT		"vix-dev"
#define DEV_SERVER_DEFAULT	"127.0.0.1:7411"
#define LIST_PAGE_MAX		1000
#define LISTEN_HOST_DEFAULT	"127.0.0.1"
#define DEV_PEER_DEFAULT	"localhost"	/* the dev server certificate */
#define STREAM_WAIT_MS		1000	/* how often a stream checks for a stop */
#define ACCEPT_PAUSE_MS		200	/* after a failed accept: no busy loop */
#define STREAM_OUTPUT_FAILED	(-1)	/* stream(): stdout failed, reported */
#define IMPORT_COLUMNS		8
#define IMPORT_WINDOW		64	/* register requests in flight, at most */
#define IMPORT_RECORD_MAX	65536	/* bytes in one CSV row */
#define IMPORT_RETRIES		8	/* per row, while the server is busy */
/* Per row, waits the server asked for: a stuck server still ends it. */
#define IMPORT_HINTED_RETRIES	600
#define IMPORT_BACKOFF_MS	100	/* first pause when busy, then doubled */
#define LIST_HINTED_RETRIES	600	/* waits the server asked for, per list */
#define PROGRESS_EVERY_MS	250

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
	OPT_CONTACT_EMAIL, OPT_REF, OPT_MUNICIPALITY, OPT_PARENT_BSN, OPT_SIGNAL,
	OPT_REASON,
	OPT_ALL, OPT_PAGE_SIZE, OPT_AFTER, OPT_FROM, OPT_FOR, OPT_MATCH,
	OPT_CLAIM, OPT_RELEASE, OPT_DONE, OPT_PORT, OPT_HOST, OPT_PEER,
	OPT_PEER_SHA256, OPT_WEBHOOK, OPT_SECRET_FILE,
	OPT_KEYHOLDER, OPT_UNCOORDINATED, OPT_ESCALATED,
	OPT_ACTOR,
	OPT_FAILED = -2,	/* next_opt: the error is reported */
};

#define OPTS_COMMON \
	{ "json", no_argument, NULL, OPT_JSON }, \
	{ "help", no_argument, NULL, 'h' }

struct cli {
	const char	*server, *cert, *key, *ca, *keyholder;
	const char	*actor;		/* the professional; NULL: none */
	const char	*dev, *dev_dir;
	int		 json;
	int		 timeout_ms;
	char		 dev_paths[3][PATH_MAX];
	char		 dev_keyholder[300];
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
static int cmd_matches(struct cli *, int, char **);
static int cmd_listen(struct cli *, int, char **);
static int cmd_import(struct cli *, int, char **);
static int cmd_relocate(struct cli *, int, char **);

/* Set by SIGINT and SIGTERM: subscribe and listen stop cleanly. */
static volatile sig_atomic_t stopping;

static const struct command commands[] = {
	{ "ping", "", "check the connection and show who you are",
	    cmd_ping },
	{ "register", "--bsn B|- --birth-date YYYY-MM-DD [--days N]\n"
	    "           --contact-name S --contact-phone S [--contact-email S]\n"
	    "           [--ref S] [--municipality CODE] [--parent-bsn B]...",
	    "register involvement with a youth (or refresh your signal)",
	    cmd_register },
	{ "withdraw", "(--signal ID | --bsn B|-) --reason "
	    "unjustified|risk-resolved",
	    "withdraw your signal: unjustified deletes it, risk-resolved "
	    "archives it", cmd_withdraw },
	{ "involved", "--bsn B|-",
	    "show the other organisations involved with a youth you have "
	    "a signal on", cmd_involved },
	{ "relocate", "--bsn B|- --municipality CODE",
	    "record that a youth moved: your and others' signals on it take\n"
	    "      the new municipality, and its match escalates there",
	    cmd_relocate },
	{ "list", "[--all | --page-size N [--after ID]]",
	    "list your active signals (all pages unless --page-size or "
	    "--after)", cmd_list },
	{ "subscribe", "[--from SEQ] [--for ORG ...]",
	    "print notifications for you (or each ORG) as they come",
	    cmd_subscribe },
	{ "coordinate", "--match ID (--claim | --release | --done)",
	    "coordinate a match, hand coordination over by rank, or mark "
	    "it coordinated", cmd_coordinate },
	{ "matches", "[--uncoordinated] [--escalated]",
	    "your worklist: the matches you are party to, with their age,\n"
	    "      coordinator and state (only those not marked coordinated,\n"
	    "      or escalated)", cmd_matches },
	{ "listen", "--port P [--host H] (--peer NAME | --peer-sha256 HEX)\n"
	    "           [--webhook --secret-file F]",
	    "receive the notifications vixd pushes (push mode), or with\n"
	    "      --webhook the events it POSTs to a webhook (HTTPS)",
	    cmd_listen },
	{ "import", "FILE.csv",
	    "register every row of FILE.csv; rejected rows go to "
	    "FILE.errors.csv", cmd_import },
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
	    "options (also VIX_SERVER, VIX_CERT, VIX_KEY, VIX_CA, VIX_KEYHOLDER,\n"
	    "VIX_ACTOR):\n"
	    "  --server HOST:PORT   vixd address\n"
	    "  --actor ID           the professional you act as: your\n"
	    "                       organisation's user id for you (or a\n"
	    "                       pseudonym of it), at most 64 bytes, never\n"
	    "                       a BSN; kept in the index's audit trail\n"
	    "  --keyholder HOST:PORT  the key holder, for an index with blind\n"
	    "                       pseudonyms: BSNs are blinded and never\n"
	    "                       sent to vixd\n"
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
	    "(default\n" LISTEN_HOST_DEFAULT ") and accepts only vixd: a "
	    "certificate from --ca that is issued for\n--peer NAME "
	    "(VIX_PEER; with --dev: " DEV_PEER_DEFAULT ") or has the SHA-256 "
	    "fingerprint\n--peer-sha256 HEX (VIX_PEER_SHA256); with --dev it "
	    "serves with NAME-listen.pem.\nlisten --webhook serves HTTPS on "
	    "the same terms, checks each event's signature\nwith the secret "
	    "in --secret-file F (VIX_WEBHOOK_SECRET_FILE), prints it (--json:\n"
	    "the CloudEvent as received) and answers 204, or 401 if it does "
	    "not verify\n"
	    "import reads CSV (RFC 4180) with the header row bsn,birth_date,"
	    "days,\ncontact_name,contact_phone,contact_email,client_ref,"
	    "municipality; empty days:\nthe server's maximum; empty optional "
	    "fields: unset. Rejected rows go to\nFILE.errors.csv with their "
	    "line and the reason; running it again refreshes\nwhat was "
	    "imported. It exits 1 if a row was rejected, 3 if it stopped "
	    "early\n(the line it stopped at is shown)\n"
	    "--bsn -: read the BSN from standard input (recommended: it then "
	    "stays out of\nthe process list and the shell history)\n"
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

/*
 * What bounds an expiry: " (end of " duration ")" (the chosen days, the
 * maximum, or, when it is not known which, its duration), or the birthday.
 */
static const char *
bound_text(enum vix_expiry_bound b, const char *duration, char *buf,
    size_t len)
{
	switch (b) {
	case VIX_EXPIRY_DURATION:
		snprintf(buf, len, " (end of %s)", duration);
		return buf;
	case VIX_EXPIRY_AGE_23:
		return " (the age limit: by law the 23rd birthday)";
	default:
		return "";
	}
}

/* " (retry_after_ms=N)" when the server said when to try again, else "". */
static const char *
retry_hint(const struct vix_error *e, char *buf, size_t len)
{
	buf[0] = '\0';
	if (e->kind == VIX_ERR_REFUSED && e->retry_after_ms > 0)
		snprintf(buf, len, " (retry_after_ms=%" PRIu32 ")",
		    e->retry_after_ms);
	return buf;
}

static int
fail(const struct vix_error *e)
{
	char hint[40];

	if (e->kind == VIX_ERR_REFUSED) {
		fprintf(stderr, "vix: refused by server: %s: %s%s\n",
		    vix_status_name(e->status), e->message,
		    retry_hint(e, hint, sizeof(hint)));
		return EXIT_REFUSED;
	}
	fprintf(stderr, "vix: %s: %s\n", vix_result_name(e->kind), e->message);
	return e->kind == VIX_ERR_ARGS ? EXIT_USAGE : EXIT_CONNECT;
}

/*
 * Fill in what the command line left open: environment, then --dev. The
 * server address is needed unless vixd dials us (listening); then --dev
 * serves with NAME-listen.pem, a server certificate: NAME.pem is for
 * clients only.
 */
static int
resolve_options(struct cli *o, int listening)
{
	const char *dir = o->dev_dir ? o->dev_dir : DEV_DIR_DEFAULT;
	const char *use = listening ? "-listen" : "";
	int need_server = !listening;
	const char *why;

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
	if (o->keyholder == NULL)
		o->keyholder = getenv("VIX_KEYHOLDER");
	if (o->actor == NULL)
		o->actor = getenv("VIX_ACTOR");
	if (rules_check_actor(o->actor, &why) == -1) {
		fprintf(stderr, "vix: %s%s\n", why, getenv("VIX_ACTOR") ==
		    o->actor ? " (from VIX_ACTOR)" : "");
		return -1;
	}
	if (o->dev != NULL) {
		snprintf(o->dev_paths[0], PATH_MAX, "%s/%s%s.pem", dir, o->dev,
		    use);
		snprintf(o->dev_paths[1], PATH_MAX, "%s/%s%s.key", dir, o->dev,
		    use);
		snprintf(o->dev_paths[2], PATH_MAX, "%s/ca.pem", dir);
		o->cert = o->cert ? o->cert : o->dev_paths[0];
		o->key = o->key ? o->key : o->dev_paths[1];
		o->ca = o->ca ? o->ca : o->dev_paths[2];
		o->server = o->server ? o->server : DEV_SERVER_DEFAULT;
		if (o->keyholder == NULL && bsnarg_dev_keyholder(dir,
		    o->dev_keyholder, sizeof(o->dev_keyholder)) == 0)
			o->keyholder = o->dev_keyholder;
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

	if (resolve_options(o, 0) == -1)
		return EXIT_USAGE;
	opt = (struct vix_options){ .server = o->server, .cert_file = o->cert,
	    .key_file = o->key, .ca_file = o->ca, .timeout_ms = o->timeout_ms,
	    .keyholder = o->keyholder };
	if (vix_connect(&opt, c, &e) != VIX_OK)
		return fail(&e);
	if (vix_set_actor(*c, o->actor, &e) != VIX_OK) {
		vix_close(*c);
		*c = NULL;
		return fail(&e);
	}
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
	struct jsonw w;
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
		jsonw_file(&w, stdout);
		jsonw_object(&w);
		jsonw_kstr(&w, "server", o->server);
		jsonw_kstr(&w, "server_version", r.server_version);
		jsonw_key(&w, "organisation");
		jsonw_object(&w);
		jsonw_kstr(&w, "id", r.org.id);
		jsonw_kstr(&w, "name", r.org.name);
		jsonw_kstr(&w, "oin", r.org.oin);
		jsonw_end(&w);
		jsonw_end(&w);
		jsonw_newline(&w);
	} else {
		printf("vixd %s at %s\n", r.server_version, o->server);
		printf("authenticated as %s (OIN %s)\n", r.org.name, r.org.oin);
	}
	return EXIT_OK;
}

static void
json_involvement(struct jsonw *w, const struct vix_involvement *v)
{
	jsonw_object(w);
	jsonw_kstr(w, "org_id", v->org_id);
	jsonw_kstr(w, "org_name", v->org_name);
	jsonw_key(w, "contact");
	jsonw_object(w);
	jsonw_kstr(w, "name", v->contact_name);
	jsonw_kstr(w, "phone", v->contact_phone);
	jsonw_kstr(w, "email", v->contact_email);
	jsonw_end(w);
	jsonw_kint(w, "since", v->since);
	jsonw_end(w);
}

static void
json_involvements(struct jsonw *w, const struct vix_involvement *v, size_t n)
{
	jsonw_array(w);
	for (size_t i = 0; i < n; i++)
		json_involvement(w, &v[i]);
	jsonw_end(w);
}

static void
json_match(struct jsonw *w, const struct vix_match *m)
{
	jsonw_object(w);
	jsonw_kuint(w, "match_id", m->match_id);
	jsonw_kstr(w, "coordinator", m->coordinator);
	jsonw_kstr(w, "coordinator_name", m->coordinator_name);
	jsonw_kint(w, "created", m->created);
	jsonw_kbool(w, "coordinated", m->coordinated);
	jsonw_key(w, "others");
	json_involvements(w, m->others, m->n_others);
	jsonw_end(w);
}

/* "match":{...} or "match":null. */
static void
json_kmatch(struct jsonw *w, int has_match, const struct vix_match *m)
{
	jsonw_key(w, "match");
	if (has_match)
		json_match(w, m);
	else
		jsonw_null(w);
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

/*
 * --bsn -: the BSN from standard input into buf, and *bsn pointed at it
 * (the caller wipes buf). Other values are sent as given.
 */
static int
bsn_from_stdin(const char *cmd, const char **bsn, char *buf, size_t len)
{
	const char *why;

	if (*bsn == NULL || strcmp(*bsn, "-") != 0)
		return 0;
	if ((why = bsnarg_read(*bsn, buf, len)) != NULL) {
		explicit_bzero(buf, len);
		fprintf(stderr, "vix %s: %s\n", cmd, why);
		return -1;
	}
	*bsn = buf;
	return 0;
}

/*
 * --days: a whole number from 1; the maximum is the index's (its
 * max_signal_days, never above the law's), which it names when it refuses.
 */
static int
parse_days(const char *cmd, const char *arg, unsigned *days)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || !isdigit((unsigned char)*arg) ||
	    v < 1 || v > UINT32_MAX) {
		fprintf(stderr, "vix %s: --days must be a whole number of days, "
		    "at least 1; the index allows at most its max_signal_days "
		    "(%d or fewer)\n", cmd, RULES_MAX_SIGNAL_DAYS);
		return -1;
	}
	*days = (unsigned)v;
	return 0;
}

/* The option that gives a field the index names ("client_ref: ..."). */
static const char *
field_option(const char *why)
{
	static const struct { const char *field, *option; } map[] = {
		{ "contact.name:", "--contact-name" },
		{ "contact.phone:", "--contact-phone" },
		{ "contact.email:", "--contact-email" },
		{ "client_ref:", "--ref" },
		{ "municipality:", "--municipality" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(why, map[i].field, strlen(map[i].field)) == 0)
			return map[i].option;
	return "an option";
}

/*
 * The contact, reference and municipality as the index checks them, with
 * its own rules, before anything is sent (a value too long for one frame
 * is then named, not the frame): NULL, or why (naming the field, never
 * the value).
 */
static const char *
register_check(const struct vix_register_req *rq)
{
	const char *why = NULL;

	if (rules_check_contact(rq->contact_name, rq->contact_phone,
	    rq->contact_email, &why) == -1 ||
	    rules_check_client_ref(rq->client_ref, &why) == -1 ||
	    rules_check_municipality(rq->municipality, &why) == -1)
		return why;
	return NULL;
}

/* The parents a registration names (--parent-bsn, each once). */
struct parent_args {
	const char	*bsn[VIX_PARENTS_MAX];
	size_t		 n;
};

static int
register_opts(struct cli *o, int argc, char **argv,
    struct vix_register_req *rq, struct parent_args *pa)
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
		{ "parent-bsn", required_argument, NULL, OPT_PARENT_BSN },
		OPTS_COMMON, { NULL, 0, NULL, 0 },
	};
	const char *why;
	int ch;

	opts_begin();
	while ((ch = next_opt(o, argc, argv, lo)) != -1) {
		switch (ch) {
		case OPT_BSN: rq->bsn = optarg; break;
		case OPT_BIRTH_DATE: rq->birth_date = optarg; break;
		case OPT_DAYS:
			if (parse_days(argv[0], optarg,
			    &rq->duration_days) == -1)
				return -1;
			break;
		case OPT_CONTACT_NAME: rq->contact_name = optarg; break;
		case OPT_CONTACT_PHONE: rq->contact_phone = optarg; break;
		case OPT_CONTACT_EMAIL: rq->contact_email = optarg; break;
		case OPT_REF: rq->client_ref = optarg; break;
		case OPT_MUNICIPALITY: rq->municipality = optarg; break;
		case OPT_PARENT_BSN:
			if (pa->n == VIX_PARENTS_MAX) {
				fprintf(stderr, "vix %s: --parent-bsn: at most "
				    "%d parents or guardians\n", argv[0],
				    VIX_PARENTS_MAX);
				return -1;
			}
			pa->bsn[pa->n++] = optarg;
			break;
		default: return -1;
		}
	}
	if (opts_end(argc, argv) == -1 ||
	    required(argv[0], rq->bsn, "--bsn") == -1 ||
	    required(argv[0], rq->birth_date, "--birth-date") == -1 ||
	    required(argv[0], rq->contact_name, "--contact-name") == -1 ||
	    required(argv[0], rq->contact_phone, "--contact-phone") == -1)
		return -1;
	if ((why = register_check(rq)) != NULL) {
		fprintf(stderr, "vix %s: %s: %s\n", argv[0], field_option(why),
		    why);
		return -1;
	}
	return 0;
}

static int
cmd_register(struct cli *o, int argc, char **argv)
{
	struct vix_register_req rq = { 0 };
	struct parent_args pa = { .n = 0 };
	struct vix_register_result r;
	struct vix_error e;
	struct jsonw w;
	vix_client *c;
	char when[40], bsn[BSNARG_MAX], days[40], bound[64];
	int rc;

	if (register_opts(o, argc, argv, &rq, &pa) == -1 ||
	    bsn_from_stdin(argv[0], &rq.bsn, bsn, sizeof(bsn)) == -1)
		return EXIT_USAGE;
	if ((rc = open_client(o, &c)) != EXIT_OK) {
		explicit_bzero(bsn, sizeof(bsn));
		return rc;
	}
	rc = pa.n > 0 ? vix_register_parents(c, &rq, pa.bsn, pa.n, &r, &e) :
	    vix_register(c, &rq, &r, &e);
	vix_close(c);
	explicit_bzero(bsn, sizeof(bsn));
	if (rc != VIX_OK) {
		vix_register_result_free(&r);
		return fail(&e);
	}
	if (o->json) {
		jsonw_file(&w, stdout);
		jsonw_object(&w);
		jsonw_kuint(&w, "signal_id", r.signal_id);
		jsonw_kstr(&w, "status", r.status == VIX_SIGNAL_REFRESHED ?
		    "REFRESHED" : r.status == VIX_SIGNAL_CREATED ? "CREATED" :
		    "STATUS_UNSPECIFIED");
		jsonw_kint(&w, "expires", r.expires);
		jsonw_kstr(&w, "expiry_bound", bound_name(r.expiry_bound));
		json_kmatch(&w, r.has_match, &r.match);
		jsonw_end(&w);
		jsonw_newline(&w);
	} else {
		snprintf(days, sizeof(days), "the chosen %u day%s",
		    rq.duration_days, rq.duration_days == 1 ? "" : "s");
		printf("signal %" PRIu64 " %s, expires %s%s\n", r.signal_id,
		    r.status == VIX_SIGNAL_REFRESHED ? "refreshed" : "created",
		    fmt_time(r.expires, when, sizeof(when)),
		    bound_text(r.expiry_bound, rq.duration_days ? days :
		    "the maximum duration", bound, sizeof(bound)));
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
	struct jsonw w;
	char bsn[BSNARG_MAX];
	vix_client *c;
	int rc;

	if (withdraw_opts(o, argc, argv, &a) == -1 ||
	    bsn_from_stdin(argv[0], &a.bsn, bsn, sizeof(bsn)) == -1)
		return EXIT_USAGE;
	if ((rc = open_client(o, &c)) != EXIT_OK) {
		explicit_bzero(bsn, sizeof(bsn));
		return rc;
	}
	rc = vix_withdraw(c, a.signal_id, a.bsn, a.reason_code, &r, &e);
	vix_close(c);
	explicit_bzero(bsn, sizeof(bsn));
	if (rc != VIX_OK)
		return fail(&e);
	if (o->json) {
		jsonw_file(&w, stdout);
		jsonw_object(&w);
		jsonw_kuint(&w, "signal_id", r.signal_id);
		jsonw_kbool(&w, "archived", r.archived);
		jsonw_kuint(&w, "match_id", r.match_id);
		jsonw_kbool(&w, "match_closed", r.match_closed);
		jsonw_end(&w);
		jsonw_newline(&w);
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
	struct jsonw w;
	char buf[BSNARG_MAX];
	vix_client *c;
	int ch, rc;

	opts_begin();
	while ((ch = next_opt(o, argc, argv, lo)) != -1) {
		if (ch != OPT_BSN)
			return EXIT_USAGE;
		bsn = optarg;
	}
	if (opts_end(argc, argv) == -1 ||
	    required(argv[0], bsn, "--bsn") == -1 ||
	    bsn_from_stdin(argv[0], &bsn, buf, sizeof(buf)) == -1)
		return EXIT_USAGE;
	if ((rc = open_client(o, &c)) != EXIT_OK) {
		explicit_bzero(buf, sizeof(buf));
		return rc;
	}
	rc = vix_involved(c, bsn, &r, &e);
	vix_close(c);
	explicit_bzero(buf, sizeof(buf));
	if (rc != VIX_OK) {
		vix_involved_result_free(&r);
		return fail(&e);
	}
	if (o->json) {
		jsonw_file(&w, stdout);
		jsonw_object(&w);
		jsonw_kuint(&w, "signal_id", r.signal_id);
		json_kmatch(&w, r.has_match, &r.match);
		jsonw_end(&w);
		jsonw_newline(&w);
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

static int
cmd_relocate(struct cli *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bsn", required_argument, NULL, OPT_BSN },
		{ "municipality", required_argument, NULL, OPT_MUNICIPALITY },
		OPTS_COMMON, { NULL, 0, NULL, 0 },
	};
	struct vix_relocate_result r;
	const char *bsn = NULL, *muni = NULL, *why;
	struct vix_error e;
	struct jsonw w;
	char buf[BSNARG_MAX];
	vix_client *c;
	int ch, rc;

	opts_begin();
	while ((ch = next_opt(o, argc, argv, lo)) != -1) {
		if (ch == OPT_BSN)
			bsn = optarg;
		else if (ch == OPT_MUNICIPALITY)
			muni = optarg;
		else
			return EXIT_USAGE;
	}
	if (opts_end(argc, argv) == -1 ||
	    required(argv[0], bsn, "--bsn") == -1 ||
	    required(argv[0], muni, "--municipality") == -1)
		return EXIT_USAGE;
	if (rules_check_municipality(muni, &why) == -1 || muni[0] == '\0') {
		fprintf(stderr, "vix relocate: --municipality: %s\n",
		    muni[0] == '\0' ? "the 4-digit CBS code the youth moved "
		    "to is required" : why);
		return EXIT_USAGE;
	}
	if (bsn_from_stdin(argv[0], &bsn, buf, sizeof(buf)) == -1)
		return EXIT_USAGE;
	if ((rc = open_client(o, &c)) != EXIT_OK) {
		explicit_bzero(buf, sizeof(buf));
		return rc;
	}
	rc = vix_relocate(c, bsn, muni, &r, &e);
	vix_close(c);
	explicit_bzero(buf, sizeof(buf));
	if (rc != VIX_OK)
		return fail(&e);
	if (o->json) {
		jsonw_file(&w, stdout);
		jsonw_object(&w);
		jsonw_kbool(&w, "moved", r.moved);
		jsonw_kuint(&w, "signals", r.signals);
		jsonw_kuint(&w, "match_id", r.match_id);
		jsonw_end(&w);
		jsonw_newline(&w);
	} else if (r.moved) {
		printf("relocated to municipality %s: %u active signal%s on "
		    "the youth\n", muni, r.signals, r.signals == 1 ? "" : "s");
		if (r.match_id != 0)
			printf("match %" PRIu64 " escalates there now; the "
			    "escalation organisations of both municipalities "
			    "were told\n", r.match_id);
	} else if (r.signals == 0)	/* the role admin is told nothing */
		printf("recorded\n");
	else
		printf("the youth is in municipality %s already; nothing "
		    "changed\n", muni);
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

/*
 * A page refused with a hint (the organisation's rate limit, a full queue)
 * is asked for again after the wait the server named: every page of a large
 * organisation is more requests than the limit's burst allows at once.
 * Bounded, so that a server that keeps refusing still ends the listing.
 */
static int
list_wait(const struct vix_error *e, unsigned *hinted)
{
	struct timespec pause;

	if (e->status != VIX_STATUS_RESOURCE_EXHAUSTED ||
	    e->retry_after_ms == 0 || (*hinted)++ >= LIST_HINTED_RETRIES)
		return 0;
	pause.tv_sec = e->retry_after_ms / 1000;
	pause.tv_nsec = (long)(e->retry_after_ms % 1000) * 1000000L;
	while (nanosleep(&pause, &pause) == -1 && errno == EINTR)
		;
	return 1;
}

/* One page, or every page from a->after on, into *acc. */
static int
list_fetch(vix_client *c, const struct list_args *a,
    struct vix_list_result *acc, struct vix_error *e)
{
	struct vix_list_result page;
	uint64_t after = a->after;
	unsigned hinted = 0;
	int rc;

	for (;;) {
		rc = vix_list(c, (uint32_t)a->page_size, after, &page, e);
		if (rc == VIX_ERR_REFUSED && list_wait(e, &hinted)) {
			vix_list_result_free(&page);
			continue;	/* the same page again */
		}
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
		if (rc != VIX_OK || !a->all || after == 0)
			break;
	}
	return rc;
}

/* After the last page asked for: how to ask for the next one. */
static void
print_list_more(const struct vix_list_result *l, const struct list_args *a)
{
	if (l->next_after == 0)
		return;
	if (a->page_size != 0)
		printf("more: vix list --page-size %" PRIu64 " --after %" PRIu64
		    "\n", a->page_size, l->next_after);
	else
		printf("more: vix list --after %" PRIu64 "\n", l->next_after);
}

static void
json_list(const struct vix_list_result *l)
{
	const struct vix_signal_summary *s;
	struct jsonw w;

	jsonw_file(&w, stdout);
	jsonw_object(&w);
	jsonw_key(&w, "signals");
	jsonw_array(&w);
	for (size_t i = 0; i < l->n; i++) {
		s = &l->signals[i];
		jsonw_object(&w);
		jsonw_kuint(&w, "signal_id", s->signal_id);
		jsonw_kstr(&w, "client_ref", s->client_ref);
		jsonw_kint(&w, "created", s->created);
		jsonw_kint(&w, "expires", s->expires);
		jsonw_kuint(&w, "match_id", s->match_id);
		jsonw_kstr(&w, "expiry_bound", bound_name(s->expiry_bound));
		jsonw_end(&w);
	}
	jsonw_end(&w);
	jsonw_kuint(&w, "next_after", l->next_after);
	jsonw_end(&w);
	jsonw_newline(&w);
}

static void
print_list(const struct vix_list_result *l, const struct list_args *a,
    int json)
{
	const struct vix_signal_summary *s;
	char t1[40], t2[40], bound[64];

	if (json) {
		json_list(l);
		return;
	}
	if (l->n == 0 && a->after != 0)
		printf("no active signals after signal %" PRIu64 " (vix list "
		    "without --after shows all)\n", a->after);
	else if (l->n == 0)
		printf("no active signals\n");
	for (size_t i = 0; i < l->n; i++) {
		s = &l->signals[i];
		printf("signal %" PRIu64 ": created %s, expires %s%s",
		    s->signal_id, fmt_time(s->created, t1, sizeof(t1)),
		    fmt_time(s->expires, t2, sizeof(t2)),
		    bound_text(s->expiry_bound, "its duration", bound,
		    sizeof(bound)));
		if (s->match_id != 0)
			printf(", MATCH %" PRIu64, s->match_id);
		if (s->client_ref[0] != '\0') {
			printf(", ref ");
			put_text(stdout, s->client_ref);
		}
		printf("\n");
	}
	print_list_more(l, a);
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
		print_list(&acc, &a, o->json);
	vix_list_result_free(&acc);
	return rc == VIX_OK ? EXIT_OK : fail(&e);
}

/* The Notification fields in proto order; type by name, or its number. */
static void
json_notification(const struct vix_notification *n,
    const struct vix_notification_more *more)
{
	const char *type = vix_notification_type_name(n->type);
	struct jsonw w;

	jsonw_file(&w, stdout);
	jsonw_object(&w);
	jsonw_kuint(&w, "seq", n->seq);
	jsonw_kstr(&w, "recipient", n->recipient);
	if (strcmp(type, "UNKNOWN_TYPE") == 0)
		jsonw_kint(&w, "type", (int)n->type);
	else
		jsonw_kstr(&w, "type", type);
	jsonw_kuint(&w, "match_id", n->match_id);
	jsonw_kuint(&w, "signal_id", n->signal_id);
	jsonw_kstr(&w, "client_ref", n->client_ref);
	jsonw_key(&w, "others");
	json_involvements(&w, n->others, n->n_others);
	jsonw_key(&w, "subject");
	if (n->has_subject)
		json_involvement(&w, &n->subject);
	else
		jsonw_null(&w);
	jsonw_kstr(&w, "coordinator", n->coordinator);
	jsonw_kstr(&w, "coordinator_name", n->coordinator_name);
	jsonw_kbool(&w, "coordinated", n->coordinated);
	jsonw_kint(&w, "time", n->time);
	jsonw_kstr(&w, "municipality", n->municipality);
	jsonw_kuint(&w, "escalation_round", more->escalation_round);
	jsonw_kuint(&w, "reminder", more->reminder);
	jsonw_kint(&w, "escalates_at", more->escalates_at);
	jsonw_end(&w);
	jsonw_newline(&w);
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
print_notification(const struct vix_notification *n,
    const struct vix_notification_more *more)
{
	char when[40];

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
	if (n->type == VIX_NOTIFY_FAMILY_MATCH)
		printf(": with a sibling or child of the same parent,");
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
	if (more->escalation_round > 1)
		printf("; escalated again (round %u)", more->escalation_round);
	if (more->reminder != 0)
		printf("; reminder %u, escalates %s", more->reminder,
		    fmt_time(more->escalates_at, when, sizeof(when)));
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
 * Hold SIGINT and SIGTERM pending, so that they never cut a read short
 * (the connection would be lost, or an answer): while an import runs,
 * whose loop looks for them between responses, and while a printed
 * notification is acknowledged. *old is the mask to restore.
 */
static void
signals_hold(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, old);
}

/*
 * Print each notification on c, and acknowledge it once it is out of our
 * hands (flushed), until SIGINT or SIGTERM (VIX_OK) or a failure: its
 * vix_result with *e, or STREAM_OUTPUT_FAILED, already reported. A stop
 * waits for the acknowledgement of what was printed (within the client's
 * timeout), so that the next subscriber is not given it again.
 */
static int
stream(struct cli *o, vix_client *c, struct vix_error *e)
{
	struct vix_notification n;
	struct vix_notification_more more;
	sigset_t old;
	int rc;

	while (!stopping) {
		rc = vix_next_notification_more(c, STREAM_WAIT_MS, &n, &more,
		    e);
		if (rc == VIX_ERR_TIMEOUT)
			continue;
		if (rc == VIX_OK) {
			if (o->json)
				json_notification(&n, &more);
			else
				print_notification(&n, &more);
			if (fflush(stdout) == EOF) {
				fprintf(stderr, "vix: cannot write a "
				    "notification: %s; it is not acknowledged\n",
				    strerror(errno));
				rc = STREAM_OUTPUT_FAILED;
			} else {
				signals_hold(&old);
				rc = vix_ack(c, n.recipient, n.seq, e);
				/* A stop held meanwhile is taken now. */
				sigprocmask(SIG_SETMASK, &old, NULL);
				/* Not cut short by the stop: a failure. */
				if (rc != VIX_OK) {
					vix_notification_free(&n);
					return rc;
				}
			}
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
	char hint[40];

	if (e->kind == VIX_ERR_REFUSED)
		fprintf(stderr, "vix %s: connection ended: %s: %s%s\n", cmd,
		    vix_status_name(e->status), e->message,
		    retry_hint(e, hint, sizeof(hint)));
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
	struct jsonw w;
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
		jsonw_file(&w, stdout);
		json_match(&w, &m);
		jsonw_newline(&w);
	} else
		print_match(&m);
	vix_match_free(&m);
	return EXIT_OK;
}

struct matches_acc {
	struct vix_match_item	*items;
	size_t			 n;
	int64_t			 time;	/* the server's, of the last page */
};

static int
matches_opts(struct cli *o, int argc, char **argv, struct vix_matches_req *rq)
{
	static const struct option lo[] = {
		{ "uncoordinated", no_argument, NULL, OPT_UNCOORDINATED },
		{ "escalated", no_argument, NULL, OPT_ESCALATED },
		OPTS_COMMON, { NULL, 0, NULL, 0 },
	};
	int ch;

	opts_begin();
	while ((ch = next_opt(o, argc, argv, lo)) != -1) {
		switch (ch) {
		case OPT_UNCOORDINATED: rq->uncoordinated = 1; break;
		case OPT_ESCALATED: rq->escalated = 1; break;
		default: return -1;
		}
	}
	return opts_end(argc, argv);
}

/* Move page's items to the end of *acc (page keeps nothing to free). */
static int
matches_append(struct matches_acc *acc, struct vix_matches_result *page,
    struct vix_error *e)
{
	struct vix_match_item *p;

	acc->time = page->time;
	if (page->n == 0)
		return VIX_OK;
	if ((p = reallocarray(acc->items, acc->n + page->n,
	    sizeof(*p))) == NULL) {
		e->kind = VIX_ERR_NOMEM;
		snprintf(e->message, sizeof(e->message), "out of memory");
		return VIX_ERR_NOMEM;
	}
	memcpy(p + acc->n, page->items, page->n * sizeof(*p));
	acc->items = p;
	acc->n += page->n;
	free(page->items);
	page->items = NULL;
	page->n = 0;
	return VIX_OK;
}

/* Every page, each asked for after the one before (which must advance). */
static int
matches_fetch(vix_client *c, struct vix_matches_req *rq,
    struct matches_acc *acc, struct vix_error *e)
{
	struct vix_matches_result page;
	unsigned hinted = 0;
	int rc;

	for (;;) {
		rc = vix_matches(c, rq, &page, e);
		if (rc == VIX_ERR_REFUSED && list_wait(e, &hinted)) {
			vix_matches_result_free(&page);
			continue;
		}
		if (rc == VIX_OK)
			rc = matches_append(acc, &page, e);
		if (rc == VIX_OK && page.next_after != 0 &&
		    page.next_after <= rq->after) {
			e->kind = rc = VIX_ERR_PROTOCOL;
			snprintf(e->message, sizeof(e->message), "server's "
			    "next page does not advance (after %" PRIu64 ")",
			    rq->after);
		}
		rq->after = page.next_after;
		vix_matches_result_free(&page);
		if (rc != VIX_OK || rq->after == 0)
			return rc;
	}
}

static void
json_matches(const struct matches_acc *acc)
{
	const struct vix_match_item *it;
	struct jsonw w;

	jsonw_file(&w, stdout);
	jsonw_object(&w);
	jsonw_key(&w, "matches");
	jsonw_array(&w);
	for (size_t i = 0; i < acc->n; i++) {
		it = &acc->items[i];
		jsonw_object(&w);
		jsonw_kuint(&w, "signal_id", it->signal_id);
		jsonw_kstr(&w, "client_ref", it->client_ref);
		jsonw_kint(&w, "age", acc->time - it->match.created);
		jsonw_kuint(&w, "escalations", it->escalations);
		jsonw_key(&w, "match");
		json_match(&w, &it->match);
		jsonw_end(&w);
	}
	jsonw_end(&w);
	jsonw_kint(&w, "time", acc->time);
	jsonw_end(&w);
	jsonw_newline(&w);
}

/* "3d 4h", "2h 5m", "40s" */
static const char *
fmt_age(int64_t secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 86400)
		snprintf(buf, len, "%" PRId64 "d %" PRId64 "h", secs / 86400,
		    secs % 86400 / 3600);
	else if (secs >= 3600)
		snprintf(buf, len, "%" PRId64 "h %" PRId64 "m", secs / 3600,
		    secs % 3600 / 60);
	else
		snprintf(buf, len, "%" PRId64 "s", secs);
	return buf;
}

/*
 * "MATCH 7, 3d 4h old (created TIME): coordinator Name (org-a), not
 * coordinated, escalated 2 times; your signal 12, ref R" and the others.
 */
static void
print_matches(const struct matches_acc *acc, const struct vix_matches_req *rq)
{
	const struct vix_match_item *it;
	char age[40], when[40];

	if (acc->n == 0)
		printf("no matches%s%s%s\n", rq->uncoordinated ?
		    " not marked coordinated" : "", rq->uncoordinated &&
		    rq->escalated ? " and" : "", rq->escalated ?
		    " escalated" : "");
	for (size_t i = 0; i < acc->n; i++) {
		it = &acc->items[i];
		printf("MATCH %" PRIu64 ", %s old (created %s): coordinator ",
		    it->match.match_id, fmt_age(acc->time - it->match.created,
		    age, sizeof(age)), fmt_time(it->match.created, when,
		    sizeof(when)));
		put_text(stdout, it->match.coordinator_name);
		printf(" (");
		put_text(stdout, it->match.coordinator);
		printf("), %s", it->match.coordinated ? "marked coordinated" :
		    "not coordinated");
		if (it->escalations == 1)
			printf(", escalated");
		else if (it->escalations > 1)
			printf(", escalated %u times", it->escalations);
		printf("; your signal %" PRIu64, it->signal_id);
		if (it->client_ref[0] != '\0') {
			printf(", ref ");
			put_text(stdout, it->client_ref);
		}
		printf("\n");
		for (size_t k = 0; k < it->match.n_others; k++) {
			printf("  with ");
			put_involvement(&it->match.others[k]);
			printf("\n");
		}
	}
}

static int
cmd_matches(struct cli *o, int argc, char **argv)
{
	struct vix_matches_req rq = { 0 };
	struct matches_acc acc = { 0 };
	struct vix_error e;
	vix_client *c;
	int rc;

	if (matches_opts(o, argc, argv, &rq) == -1)
		return EXIT_USAGE;
	if ((rc = open_client(o, &c)) != EXIT_OK)
		return rc;
	rc = matches_fetch(c, &rq, &acc, &e);
	vix_close(c);
	if (rc == VIX_OK && o->json)
		json_matches(&acc);
	else if (rc == VIX_OK)
		print_matches(&acc, &rq);
	for (size_t i = 0; i < acc.n; i++)
		vix_match_free(&acc.items[i].match);
	free(acc.items);
	return rc == VIX_OK ? EXIT_OK : fail(&e);
}

struct listen_args {
	const char	*host;
	uint64_t	 port;
	int		 webhook;	/* HTTPS events, not vixd's push */
	const char	*secret_file;
	const char	*peer;		/* vixd's host name or address */
	const char	*peer_sha256;	/* or its certificate's fingerprint */
};

/*
 * Who may connect: --peer, --peer-sha256, VIX_PEER, VIX_PEER_SHA256, or with
 * --dev the dev server's name. Without any, refuse: any certificate from
 * the CA bundle, any organisation's, could push forged notifications.
 */
static int
listen_peer(const struct cli *o, const char *cmd, struct listen_args *a)
{
	if (a->peer == NULL && a->peer_sha256 == NULL) {
		a->peer = getenv("VIX_PEER");
		a->peer_sha256 = getenv("VIX_PEER_SHA256");
	}
	if (a->peer == NULL && a->peer_sha256 == NULL && o->dev != NULL)
		a->peer = DEV_PEER_DEFAULT;
	if (a->peer != NULL || a->peer_sha256 != NULL)
		return 0;
	fprintf(stderr, "vix %s: say which vixd may connect: --peer NAME (the "
	    "host name in vixd's certificate) or --peer-sha256 HEX (its "
	    "SHA-256 fingerprint), or VIX_PEER or VIX_PEER_SHA256; without "
	    "one any certificate from the CA bundle, any organisation's, "
	    "could push forged notifications\n", cmd);
	return -1;
}

static int
listen_opts(struct cli *o, int argc, char **argv, struct listen_args *a)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, OPT_PORT },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "peer", required_argument, NULL, OPT_PEER },
		{ "peer-sha256", required_argument, NULL, OPT_PEER_SHA256 },
		{ "webhook", no_argument, NULL, OPT_WEBHOOK },
		{ "secret-file", required_argument, NULL, OPT_SECRET_FILE },
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
		case OPT_PEER_SHA256: a->peer_sha256 = optarg; break;
		case OPT_WEBHOOK: a->webhook = 1; break;
		case OPT_SECRET_FILE: a->secret_file = optarg; break;
		default: return -1;
		}
	}
	if (opts_end(argc, argv) == -1)
		return -1;
	if (a->port == 0) {
		fprintf(stderr, "vix %s: --port is required\n", argv[0]);
		return -1;
	}
	if (a->secret_file == NULL)
		a->secret_file = getenv("VIX_WEBHOOK_SECRET_FILE");
	if (a->webhook && a->secret_file == NULL) {
		fprintf(stderr, "vix %s --webhook: --secret-file F is required "
		    "(the organisation's whsec_ secret, as vixd's "
		    "webhook_secret)\n", argv[0]);
		return -1;
	}
	if (!a->webhook && a->secret_file != NULL) {
		fprintf(stderr, "vix %s: --secret-file goes with --webhook\n",
		    argv[0]);
		return -1;
	}
	return listen_peer(o, argv[0], a);
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
	    resolve_options(o, 1) == -1)
		return EXIT_USAGE;
	if (a.webhook) {
		struct webhook_listen wl = { .host = a.host,
		    .port = (uint16_t)a.port, .cert = o->cert, .key = o->key,
		    .ca = o->ca, .peer = a.peer, .peer_sha256 = a.peer_sha256,
		    .secret_file = a.secret_file, .json = o->json,
		    .stopping = &stopping };

		stop_on_signals();
		return webhook_listen_run(&wl);
	}
	if (strchr(a.host, ':') != NULL)
		snprintf(addr, sizeof(addr), "[%s]:%" PRIu64, a.host, a.port);
	else
		snprintf(addr, sizeof(addr), "%s:%" PRIu64, a.host, a.port);
	opt = (struct vix_listen_options){ .listen = addr, .cert_file = o->cert,
	    .key_file = o->key, .ca_file = o->ca, .peer_name = a.peer,
	    .peer_sha256 = a.peer_sha256, .timeout_ms = o->timeout_ms };
	if (vix_listen(&opt, &l, &e) != VIX_OK)
		return fail(&e);
	stop_on_signals();
	if (!o->json)
		fprintf(stderr, "vix listen: waiting for vixd on %s\n", addr);
	rc = listen_run(o, l);
	vix_listener_close(l);
	return rc;
}

/*
 * vix import: a pipelined loop that registers each row csv.c reads and
 * records the rejected ones by line.
 */

static const char *const import_columns[IMPORT_COLUMNS] = {
	"bsn", "birth_date", "days", "contact_name", "contact_phone",
	"contact_email", "client_ref", "municipality",
};

_Static_assert(IMPORT_COLUMNS <= CSV_FIELDS, "csv keeps every column");

enum { COL_BSN, COL_BIRTH_DATE, COL_DAYS, COL_CONTACT_NAME, COL_CONTACT_PHONE,
	COL_CONTACT_EMAIL, COL_CLIENT_REF, COL_MUNICIPALITY };

/* A header field as it may appear in an error message: never with digits. */
static const char *
shown_field(const char *s, char *buf, size_t len)
{
	if (strpbrk(s, "0123456789") != NULL)
		return "a value with digits (is the header row missing?)";
	snprintf(buf, len, "'%s'", s);
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return buf;
}

static void
header_expected(void)
{
	fprintf(stderr, "the first line must be exactly:\n  ");
	for (size_t i = 0; i < IMPORT_COLUMNS; i++)
		fprintf(stderr, "%s%s", i ? "," : "", import_columns[i]);
	fprintf(stderr, "\n");
}

/* Read and check the header row; -1 after saying what is wrong. */
static int
import_header(struct csv *r, const char *path)
{
	char why[160], buf[80];
	unsigned long line;
	int rc;

	rc = csv_next(r, &line, why, sizeof(why));
	if (rc == 0)
		fprintf(stderr, "vix import: %s is empty; ", path);
	else if (rc == -1)
		fprintf(stderr, "vix import: %s line %lu: the header cannot be "
		    "read: %s; ", path, line, why);
	else if (r->n != IMPORT_COLUMNS)
		fprintf(stderr, "vix import: %s line %lu: the header has %zu "
		    "columns, not %d; ", path, line, r->n, IMPORT_COLUMNS);
	else {
		for (size_t i = 0; i < IMPORT_COLUMNS; i++) {
			if (strcmp(csv_field(r, i), import_columns[i]) == 0)
				continue;
			fprintf(stderr, "vix import: %s line %lu: header column "
			    "%zu is %s, not '%s'; ", path, line, i + 1,
			    shown_field(csv_field(r, i), buf, sizeof(buf)),
			    import_columns[i]);
			header_expected();
			return -1;
		}
		return 0;
	}
	header_expected();
	return -1;
}

/* One row at the server, or waiting to be sent again. */
struct import_slot {
	unsigned long		 line;		/* 0: the slot is free */
	uint64_t		 id;		/* 0: not in flight */
	unsigned		 tries;
	unsigned		 hinted;	/* retries after a retry hint */
	char			*buf;		/* the fields rq points into */
	size_t			 len;
	struct vix_register_req	 rq;
};

struct import {
	const char		*path;
	char			 errors_path[PATH_MAX];
	FILE			*errors;
	struct csv		 csv;
	int			 eof;
	vix_client		*c;
	struct import_slot	 slot[IMPORT_WINDOW];
	size_t			 inflight;	/* sent, not yet answered */
	size_t			 waiting;	/* to be sent again */
	size_t			 window;	/* in flight, at most, for now */
	size_t			 answered;	/* since the window last grew */
	int64_t			 pause_until;	/* the server is busy */
	unsigned long		 rows, created, refreshed, rejected;
	unsigned long		 total;		/* rows in the file; 0: unknown */
	int			 progress;	/* stderr is a terminal */
	int64_t			 started, shown;
	int			 json;
	int			 failed;	/* e says why the import stopped */
	struct vix_error	 e;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FILE.csv gives FILE.errors.csv; any other name gets .errors.csv added. */
static int
errors_path(const char *path, char *out, size_t len)
{
	size_t n = strlen(path);

	if (n > 4 && strcasecmp(path + n - 4, ".csv") == 0)
		n -= 4;
	if (n > INT_MAX || (size_t)snprintf(out, len, "%.*s.errors.csv",
	    (int)n, path) >= len) {
		fprintf(stderr, "vix import: the file name is too long\n");
		return -1;
	}
	return 0;
}

/* A reason as one CSV field, with control characters shown as '?'. */
static void
csv_write_field(FILE *fp, const char *s)
{
	int quote = strpbrk(s, ",\"") != NULL;

	if (quote)
		fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, fp);
	}
	if (quote)
		fputc('"', fp);
}

static void
import_reject(struct import *im, unsigned long line, const char *reason)
{
	im->rows++;
	im->rejected++;
	fprintf(im->errors, "%lu,", line);
	csv_write_field(im->errors, reason);
	fputc('\n', im->errors);
}

/* Free a slot, wiping the row it held. */
static void
slot_clear(struct import_slot *s)
{
	if (s->buf != NULL)
		explicit_bzero(s->buf, s->len);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* "" is unset for the optional columns, and 0 days the server's maximum. */
static int
slot_fill(struct import_slot *s, const struct csv *r, unsigned long line,
    char *why, size_t len)
{
	const char *days, *checked;
	char *end = NULL;
	unsigned long long v;

#define F(i)	(s->buf + r->field[i])
#define OPT(i)	(*F(i) != '\0' ? F(i) : NULL)
	if ((s->buf = malloc(r->len)) == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	memcpy(s->buf, r->buf, r->len);
	s->len = r->len;
	s->line = line;
	days = F(COL_DAYS);
	errno = 0;
	v = *days == '\0' ? 0 : strtoull(days, &end, 10);
	if (*days != '\0' && (errno || *end || !isdigit((unsigned char)*days) ||
	    v < 1 || v > UINT32_MAX)) {
		snprintf(why, len, "days: must be a whole number of days, at "
		    "least 1, or empty for the index's maximum (its "
		    "max_signal_days, %d or fewer)", RULES_MAX_SIGNAL_DAYS);
		return -1;
	}
	s->rq = (struct vix_register_req){ .bsn = F(COL_BSN),
	    .birth_date = F(COL_BIRTH_DATE), .duration_days = (unsigned)v,
	    .contact_name = F(COL_CONTACT_NAME),
	    .contact_phone = F(COL_CONTACT_PHONE),
	    .contact_email = OPT(COL_CONTACT_EMAIL),
	    .client_ref = OPT(COL_CLIENT_REF),
	    .municipality = OPT(COL_MUNICIPALITY) };
#undef OPT
#undef F
	if ((checked = register_check(&s->rq)) != NULL) {
		snprintf(why, len, "%s", checked);
		return -1;
	}
	return 0;
}

static struct import_slot *
slot_free(struct import *im)
{
	for (size_t i = 0; i < IMPORT_WINDOW; i++)
		if (im->slot[i].line == 0)
			return &im->slot[i];
	return NULL;
}

/* The connection is lost: keep why, and the rows at the server are lost. */
static int
import_failed(struct import *im, const struct vix_error *e)
{
	im->failed = 1;
	im->e = *e;
	return -1;
}

static int
slot_send(struct import *im, struct import_slot *s)
{
	struct vix_error e;

	if (vix_register_send(im->c, &s->rq, &s->id, &e) != VIX_OK)
		return import_failed(im, &e);
	im->inflight++;
	return 0;
}

/* Read the next row; send it, or record why it cannot be sent. */
static int
import_next_row(struct import *im)
{
	struct import_slot *s = slot_free(im);
	unsigned long line;
	char why[200];
	int rc;

	if ((rc = csv_next(&im->csv, &line, why, sizeof(why))) == 0) {
		im->eof = 1;
		return 0;
	}
	if (rc == 1 && im->csv.n != IMPORT_COLUMNS) {
		snprintf(why, sizeof(why), "%d columns expected, %zu found",
		    IMPORT_COLUMNS, im->csv.n);
		rc = -1;
	}
	if (rc == 1 && slot_fill(s, &im->csv, line, why, sizeof(why)) == -1)
		rc = -1;
	if (rc == -1) {
		slot_clear(s);
		import_reject(im, line, why);
		return 0;
	}
	return slot_send(im, s);
}

/* Whether SIGINT or SIGTERM is pending (then stopping is set). */
static int
stop_requested(void)
{
	sigset_t pending;

	if (sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) ||
	    sigismember(&pending, SIGTERM)))
		stopping = 1;
	return stopping;
}

/* Send again what the server was too busy for, then new rows, to the window. */
static int
import_fill(struct import *im)
{
	if (stop_requested() || mono_ms() < im->pause_until)
		return 0;
	for (size_t i = 0; i < IMPORT_WINDOW && im->waiting > 0 &&
	    im->inflight < im->window; i++) {
		if (im->slot[i].line == 0 || im->slot[i].id != 0)
			continue;
		im->waiting--;
		if (slot_send(im, &im->slot[i]) == -1)
			return -1;
	}
	while (!im->eof && im->inflight + im->waiting < im->window)
		if (import_next_row(im) == -1)
			return -1;
	return 0;
}

static struct import_slot *
slot_find(struct import *im, uint64_t id)
{
	for (size_t i = 0; i < IMPORT_WINDOW; i++)
		if (im->slot[i].line != 0 && im->slot[i].id == id)
			return &im->slot[i];
	return NULL;
}

/*
 * A busy server: halve the window, once for the responses of one burst,
 * pause, and send the row again later. When the server says how long to
 * pause (retry_ms: a rate limit, a full queue) that is no failure and uses
 * up none of the row's retries, so the import goes at the rate; only a
 * server that keeps asking (IMPORT_HINTED_RETRIES) ends it.
 */
static int
slot_retry(struct import *im, struct import_slot *s, uint32_t retry_ms)
{
	int64_t now = mono_ms(), pause;

	if (retry_ms == 0 ? s->tries >= IMPORT_RETRIES :
	    s->hinted++ >= IMPORT_HINTED_RETRIES)
		return 0;
	if (now >= im->pause_until && im->window > 1)
		im->window /= 2;
	im->answered = 0;
	pause = retry_ms ? (int64_t)retry_ms :
	    (int64_t)IMPORT_BACKOFF_MS << s->tries++;
	if (now + pause > im->pause_until)
		im->pause_until = now + pause;
	s->id = 0;
	im->waiting++;
	return 1;
}

/* Each window's worth of answers without a busy one widens it by one. */
static void
window_grow(struct import *im)
{
	if (im->window < IMPORT_WINDOW && ++im->answered >= im->window) {
		im->window++;
		im->answered = 0;
	}
}

/*
 * What the server said about one row. A server that stays busy (or full)
 * through every retry stops the import: the rows after it would fare no
 * better.
 */
static int
slot_done(struct import *im, struct import_slot *s, int rc,
    const struct vix_register_result *res, const struct vix_error *e)
{
	char why[sizeof(e->message) + 64];

	if (rc == VIX_ERR_REFUSED && e->status == VIX_STATUS_RESOURCE_EXHAUSTED)
		return slot_retry(im, s, e->retry_after_ms) ? 0 :
		    import_failed(im, e);
	window_grow(im);
	if (rc == VIX_OK) {
		im->rows++;
		if (res->status == VIX_SIGNAL_REFRESHED)
			im->refreshed++;
		else
			im->created++;
	} else if (rc == VIX_ERR_REFUSED) {
		snprintf(why, sizeof(why), "%s: %s", vix_status_name(e->status),
		    e->message);
		import_reject(im, s->line, why);
	} else {
		snprintf(why, sizeof(why), "%s: %s", vix_result_name(e->kind),
		    e->message);
		import_reject(im, s->line, why);
	}
	slot_clear(s);
	return 0;
}

/* Take one response. A server shutting down ends the import like a lost one. */
static int
import_take(struct import *im)
{
	struct vix_register_result res;
	struct import_slot *s;
	struct vix_error e;
	uint64_t id;
	int rc;

	rc = vix_register_recv(im->c, &id, &res, &e);
	if (id == 0 || (rc == VIX_ERR_REFUSED &&
	    e.status == VIX_STATUS_UNAVAILABLE)) {
		vix_register_result_free(&res);
		return import_failed(im, &e);
	}
	im->inflight--;
	if ((s = slot_find(im, id)) == NULL) {
		vix_register_result_free(&res);
		e.kind = VIX_ERR_PROTOCOL;
		snprintf(e.message, sizeof(e.message), "server answered "
		    "request %" PRIu64 ", which is not in flight", id);
		return import_failed(im, &e);
	}
	s->id = 0;
	rc = slot_done(im, s, rc, &res, &e);
	vix_register_result_free(&res);
	return rc;
}

/* "45 s", "12 min", "3 h 20 min" */
static const char *
fmt_duration(double secs, char *buf, size_t len)
{
	unsigned long s = secs < 1 ? 1 : (unsigned long)(secs + 0.5);

	if (s < 60)
		snprintf(buf, len, "%lu s", s);
	else if (s < 3600)
		snprintf(buf, len, "%lu min", (s + 30) / 60);
	else
		snprintf(buf, len, "%lu h %lu min", s / 3600, s % 3600 / 60);
	return buf;
}

/* On a terminal: rows done, rate and time left, in place; final: erased. */
static void
import_progress(struct import *im, int final)
{
	int64_t now = mono_ms();
	double rate;
	char left[40];

	if (!im->progress || (!final && now - im->shown < PROGRESS_EVERY_MS))
		return;
	im->shown = now;
	if (final) {
		fprintf(stderr, "\r\033[K");
		return;
	}
	rate = (double)im->rows * 1000.0 / (double)(now > im->started ?
	    now - im->started : 1);
	fprintf(stderr, "\r%lu", im->rows);
	if (im->total > 0)
		fprintf(stderr, " of %lu", im->total);
	fprintf(stderr, " rows, %.0f/s", rate);
	if (im->total > im->rows && rate > 0)
		fprintf(stderr, ", about %s left", fmt_duration((double)
		    (im->total - im->rows) / rate, left, sizeof(left)));
	fprintf(stderr, "\033[K");
	fflush(stderr);
}

/* Rows in the file after the header, for the progress line. */
static unsigned long
import_count(const char *path)
{
	struct csv r;
	unsigned long n = 0, line;
	FILE *fp;
	char why[200];

	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	if (csv_open(&r, fp, IMPORT_RECORD_MAX) == 0 && csv_next(&r, &line, why, sizeof(why)) != 0)
		while (csv_next(&r, &line, why, sizeof(why)) != 0)
			n++;
	csv_close(&r);
	return n;
}

/* Send and take until every row is done, the connection fails or SIGINT. */
static void
import_run(struct import *im)
{
	const struct timespec pause = { 0, 10 * 1000000L };

	im->started = im->shown = mono_ms();
	while (import_fill(im) == 0) {
		if (im->inflight > 0) {
			if (import_take(im) == -1)
				break;
		} else if (im->waiting > 0 && !stopping)
			nanosleep(&pause, NULL);
		else
			break;
		import_progress(im, 0);
	}
	import_progress(im, 1);
}

/* The first line not known to be done: in flight, waiting or unread; 0: none. */
static unsigned long
import_stopped_at(struct import *im)
{
	unsigned long first = im->eof || csv_at_end(&im->csv) ? 0 :
	    im->csv.line;

	for (size_t i = 0; i < IMPORT_WINDOW; i++)
		if (im->slot[i].line != 0 && (first == 0 ||
		    im->slot[i].line < first))
			first = im->slot[i].line;
	return first;
}

static void
json_import(const struct import *im, int kept, unsigned long stopped)
{
	struct jsonw w;

	jsonw_file(&w, stdout);
	jsonw_object(&w);
	jsonw_kuint(&w, "rows", im->rows);
	jsonw_kuint(&w, "accepted", im->created + im->refreshed);
	jsonw_kuint(&w, "created", im->created);
	jsonw_kuint(&w, "refreshed", im->refreshed);
	jsonw_kuint(&w, "rejected", im->rejected);
	jsonw_key(&w, "errors_file");
	if (kept)
		jsonw_str(&w, im->errors_path);
	else
		jsonw_null(&w);
	jsonw_key(&w, "stopped_at_line");
	if (stopped != 0)
		jsonw_uint(&w, stopped);
	else
		jsonw_null(&w);
	jsonw_end(&w);
	jsonw_newline(&w);
}

static void
import_summary(const struct import *im, int kept, unsigned long stopped)
{
	unsigned long accepted = im->created + im->refreshed;

	if (im->failed)
		fail(&im->e);
	if (stopped != 0)
		fprintf(stderr, "vix import: %sstopped at line %lu; that row "
		    "and later ones may not be imported; running the import "
		    "again is safe (imported rows are refreshed)\n",
		    im->failed ? "" : "interrupted: ", stopped);
	if (im->json) {
		json_import(im, kept, stopped);
		return;
	}
	printf("%lu rows: %lu accepted (%lu created, %lu refreshed), %lu "
	    "rejected\n", im->rows, accepted, im->created, im->refreshed,
	    im->rejected);
	if (kept)
		printf("rejected rows, by line: %s\n", im->errors_path);
}

static int
import_opts(struct cli *o, int argc, char **argv, const char **path)
{
	static const struct option lo[] = { OPTS_COMMON, { NULL, 0, NULL, 0 } };

	opts_begin();
	for (;;) {
		if (next_opt(o, argc, argv, lo) != -1)
			return -1;
		if (optind >= argc || *path != NULL)
			break;
		*path = argv[optind++];	/* options may follow the file */
	}
	if (opts_end(argc, argv) == -1)
		return -1;
	if (*path == NULL) {
		fprintf(stderr, "vix %s: FILE.csv is required\n", argv[0]);
		return -1;
	}
	return 0;
}

/* Open the file, check its header and create the errors file. */
static int
import_open(struct import *im)
{
	FILE *fp;

	if ((fp = fopen(im->path, "r")) == NULL) {
		fprintf(stderr, "vix import: cannot open %s: %s\n", im->path,
		    strerror(errno));
		return EXIT_USAGE;
	}
	if (csv_open(&im->csv, fp, IMPORT_RECORD_MAX) == -1) {
		if (im->csv.buf == NULL) {
			fprintf(stderr, "vix import: out of memory\n");
			return EXIT_CONNECT;
		}
		fprintf(stderr, "vix import: %s line 1: starts with bytes that "
		    "are neither the header nor a UTF-8 byte order mark; ",
		    im->path);
		header_expected();
		return EXIT_USAGE;
	}
	if (import_header(&im->csv, im->path) == -1 ||
	    errors_path(im->path, im->errors_path,
	    sizeof(im->errors_path)) == -1)
		return EXIT_USAGE;
	if ((im->errors = fopen(im->errors_path, "w")) == NULL) {
		fprintf(stderr, "vix import: cannot create %s: %s\n",
		    im->errors_path, strerror(errno));
		return EXIT_USAGE;
	}
	fprintf(im->errors, "line,reason\n");
	if ((im->progress = isatty(STDERR_FILENO)))
		im->total = import_count(im->path);
	return EXIT_OK;
}

/* Keep the errors file if a row was rejected, else remove it; 1: kept. */
static int
import_close_errors(struct import *im)
{
	int failed;

	if (im->errors == NULL)
		return 0;
	failed = fclose(im->errors) != 0;
	im->errors = NULL;
	if (failed)
		fprintf(stderr, "vix import: cannot write %s: %s\n",
		    im->errors_path, strerror(errno));
	if (im->rejected > 0)
		return 1;
	unlink(im->errors_path);
	return 0;
}

static int
import_finish(struct import *im)
{
	unsigned long stopped = import_stopped_at(im);
	int kept = import_close_errors(im);

	import_summary(im, kept, stopped);
	if (im->failed || stopped != 0)
		return EXIT_CONNECT;
	return im->rejected > 0 ? EXIT_REFUSED : EXIT_OK;
}

static void
import_free(struct import *im)
{
	import_close_errors(im);
	for (size_t i = 0; i < IMPORT_WINDOW; i++)
		slot_clear(&im->slot[i]);
	csv_close(&im->csv);
	vix_close(im->c);
	free(im);
}

static int
cmd_import(struct cli *o, int argc, char **argv)
{
	const char *path = NULL;
	struct import *im;
	sigset_t held;
	int rc;

	if (import_opts(o, argc, argv, &path) == -1)
		return EXIT_USAGE;
	if ((im = calloc(1, sizeof(*im))) == NULL) {
		fprintf(stderr, "vix import: out of memory\n");
		return EXIT_CONNECT;
	}
	im->path = path;
	im->json = o->json;
	im->window = IMPORT_WINDOW;
	if ((rc = import_open(im)) == EXIT_OK &&
	    (rc = open_client(o, &im->c)) == EXIT_OK) {
		stop_on_signals();
		signals_hold(&held);
		import_run(im);
		rc = import_finish(im);
		sigprocmask(SIG_SETMASK, &held, NULL);
	} else if (rc != EXIT_USAGE)
		fprintf(stderr, "vix import: stopped at line %lu: nothing was "
		    "sent\n", im->csv.line);
	import_free(im);
	return rc;
}

static int
parse_global(int argc, char **argv, struct cli *o)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "keyholder", required_argument, NULL, OPT_KEYHOLDER },
		{ "actor", required_argument, NULL, OPT_ACTOR },
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
		case OPT_KEYHOLDER: o->keyholder = optarg; break;
		case OPT_ACTOR: o->actor = optarg; break;
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
