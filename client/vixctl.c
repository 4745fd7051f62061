/*
 * vixctl: the administrator's tool, speaking to vixd's control socket.
 * One request per connection: a text line out, JSON back. Human output by
 * default; --json prints the JSON as received.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "blindbsn.h"
#include "bsnarg.h"

#define SOCKET_DEFAULT		"/run/vix/control.sock"
#define SOCKET_DEV		"vix-dev/control.sock"
#define REPLY_MAX		(64UL << 20)

enum exit_status {
	EXIT_OK = 0,
	EXIT_FAILED = 1,	/* refused, or the request failed */
	EXIT_USAGE = 2,
	EXIT_CONNECT = 3,	/* cannot connect, or no answer */
};

struct cli {
	const char	*socket;
	int		 json;
	/*
	 * The key holder, for an index with blind pseudonyms: the BSN is
	 * blinded here and vixd gets only the pseudonym. The certificate is
	 * an organisation's with role admin in the key holder's orgs.conf.
	 */
	const char	*keyholder, *cert, *key, *ca;
	char		 dev[4][PATH_MAX];
};

/* ---- a small JSON reader --------------------------------------------- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype	 t;
	int		 b;
	double		 num;
	char		*s;
	char		**k;		/* object keys */
	struct jv	*v;		/* array items, object values */
	size_t		 n;
};

struct jparse {
	const char	*p;
	int		 depth;
};

static int jparse_value(struct jparse *, struct jv *);

static void
jskip(struct jparse *x)
{
	while (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r')
		x->p++;
}

static void
utf8_put(char **o, unsigned cp)
{
	char *out = *o;

	if (cp < 0x80)
		*out++ = (char)cp;
	else if (cp < 0x800) {
		*out++ = (char)(0xc0 | cp >> 6);
		*out++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*out++ = (char)(0xe0 | cp >> 12);
		*out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*out++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = out;
}

static int
jparse_string(struct jparse *x, char **out)
{
	const char *p = x->p + 1;
	char *s = malloc(strlen(p) + 1), *o = s;
	unsigned cp;

	if (s == NULL)
		return -1;
	for (; *p != '"'; p++) {
		if (*p == '\0')
			goto fail;
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		switch (*++p) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'u':
			if (sscanf(p + 1, "%4x", &cp) != 1)
				goto fail;
			utf8_put(&o, cp);
			p += 4;
			break;
		case '\0':
			goto fail;
		default: *o++ = *p; break;
		}
	}
	*o = '\0';
	x->p = p + 1;
	*out = s;
	return 0;
fail:
	free(s);
	return -1;
}

/* Items of an array or members of an object, up to the closing bracket. */
static int
jparse_items(struct jparse *x, struct jv *out, char close)
{
	x->p++;
	jskip(x);
	if (*x->p == close) {
		x->p++;
		return 0;
	}
	for (;;) {
		struct jv *v = realloc(out->v, (out->n + 1) * sizeof(*v));
		char **k;

		if (v == NULL)
			return -1;
		out->v = v;
		memset(&v[out->n], 0, sizeof(*v));
		if (close == '}') {
			if ((k = realloc(out->k, (out->n + 1) *
			    sizeof(*k))) == NULL)
				return -1;
			out->k = k;
			k[out->n] = NULL;
			jskip(x);
			if (*x->p != '"' || jparse_string(x, &k[out->n]) == -1)
				return -1;
			jskip(x);
			if (*x->p++ != ':')
				return -1;
		}
		if (jparse_value(x, &out->v[out->n++]) == -1)
			return -1;
		jskip(x);
		if (*x->p == ',') {
			x->p++;
			continue;
		}
		if (*x->p++ != close)
			return -1;
		return 0;
	}
}

static int
jparse_value(struct jparse *x, struct jv *out)
{
	char *end;

	memset(out, 0, sizeof(*out));
	jskip(x);
	if (++x->depth > 64)
		return -1;
	switch (*x->p) {
	case '{':
		out->t = J_OBJ;
		return x->depth--, jparse_items(x, out, '}');
	case '[':
		out->t = J_ARR;
		return x->depth--, jparse_items(x, out, ']');
	case '"':
		out->t = J_STR;
		x->depth--;
		return jparse_string(x, &out->s);
	}
	x->depth--;
	if (strncmp(x->p, "true", 4) == 0 || strncmp(x->p, "false", 5) == 0) {
		out->t = J_BOOL;
		out->b = *x->p == 't';
		x->p += out->b ? 4 : 5;
		return 0;
	}
	if (strncmp(x->p, "null", 4) == 0) {
		x->p += 4;
		return 0;
	}
	out->t = J_NUM;
	out->num = strtod(x->p, &end);
	if (end == x->p)
		return -1;
	x->p = end;
	return 0;
}

static void
jfree(struct jv *v)
{
	for (size_t i = 0; i < v->n; i++) {
		jfree(&v->v[i]);
		if (v->k != NULL)
			free(v->k[i]);
	}
	free(v->v);
	free(v->k);
	free(v->s);
	memset(v, 0, sizeof(*v));
}

static int
jparse(const char *text, struct jv *out)
{
	struct jparse x = { text, 0 };

	if (jparse_value(&x, out) == -1 || out->t != J_OBJ) {
		jfree(out);
		return -1;
	}
	return 0;
}

static const struct jv *
jget(const struct jv *o, const char *key)
{
	for (size_t i = 0; o != NULL && o->t == J_OBJ && i < o->n; i++)
		if (o->k[i] != NULL && strcmp(o->k[i], key) == 0)
			return &o->v[i];
	return NULL;
}

static const char *
jstr(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v != NULL && v->t == J_STR ? v->s : "";
}

static long long
jint(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v != NULL && v->t == J_NUM ? (long long)v->num : 0;
}

static int
jbool(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v != NULL && v->t == J_BOOL && v->b;
}

/* ---- the socket ------------------------------------------------------ */

static int
ctl_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "vixctl: %s: socket path too long\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "vixctl: cannot connect to %s: %s (is vixd "
		    "running? another socket: -s PATH)\n", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* Send the request line; the copy in memory is wiped after. */
static int
ctl_request(const char *path, char *line)
{
	size_t len = strlen(line), off = 0;
	ssize_t n;
	int fd;

	if ((fd = ctl_connect(path)) == -1)
		return -1;
	while (off < len) {
		if ((n = send(fd, line + off, len - off, MSG_NOSIGNAL)) <= 0) {
			fprintf(stderr, "vixctl: %s: %s\n", path,
			    strerror(errno));
			close(fd);
			fd = -1;
			break;
		}
		off += (size_t)n;
	}
	explicit_bzero(line, len);
	return fd;
}

/* The whole answer, NUL-terminated (malloc'd), or NULL. */
static char *
ctl_read_all(int fd, const char *path)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	while (buf != NULL) {
		if (len + 1 == cap) {
			if (cap >= REPLY_MAX || (grown = realloc(buf,
			    cap * 2)) == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
			cap *= 2;
		}
		if ((n = read(fd, buf + len, cap - len - 1)) < 0 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf == NULL || len == 0) {
		fprintf(stderr, "vixctl: no answer from %s\n", path);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* ---- output ---------------------------------------------------------- */

static const char *
fmt_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "-");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

static const char *
fmt_bytes(double n, char *buf, size_t len)
{
	const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	while (n >= 1024 && u < 4) {
		n /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", n, units[u]);
	return buf;
}

/* Text from the daemon for a terminal: control characters become '?'. */
static void
put_text(FILE *fp, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, fp);
}

static void
put_lines(FILE *fp, const struct jv *arr, const char *prefix)
{
	for (size_t i = 0; arr != NULL && arr->t == J_ARR && i < arr->n; i++)
		if (arr->v[i].t == J_STR) {
			fputs(prefix, fp);
			put_text(fp, arr->v[i].s);
			fputc('\n', fp);
		}
}

/* One line per webhook; a failing one with why and when it is tried again. */
static void
print_webhooks(const struct jv *hooks)
{
	for (size_t i = 0; hooks != NULL && i < hooks->n; i++) {
		const struct jv *h = &hooks->v[i];
		long long next = jint(h, "next_attempt");
		time_t now = time(NULL);

		printf("webhook %s: %s, delivered up to seq %lld (%lld since "
		    "start, %lld failed attempts) to ", jstr(h, "org"),
		    jstr(h, "state"), jint(h, "acked"), jint(h, "delivered"),
		    jint(h, "failed"));
		put_text(stdout, jstr(h, "url"));
		fputc('\n', stdout);
		if (strcmp(jstr(h, "state"), "ok") == 0)
			continue;
		printf("  failing for %llds: ", (long long)now -
		    jint(h, "failing_since"));
		put_text(stdout, jstr(h, "last_error"));
		printf("; next attempt in %llds\n", next > now ?
		    next - (long long)now : 0);
	}
}

/* One cell of a report: a count, "< N", a share, a median or "-". */
static void
put_cell(FILE *fp, const struct jv *v, int share)
{
	if (v == NULL || v->t == J_NULL)
		fputs("-", fp);
	else if (v->t == J_STR)
		put_text(fp, v->s);
	else if (share)
		fprintf(fp, "%.1f%%", v->num * 100);
	else
		fprintf(fp, "%lld", (long long)v->num);
}

static const char *const report_cols[] = { "registered",
    "withdrawn_unjustified", "withdrawn_risk_resolved", "matches",
    "coordinated", "coordinated_within_14_days",
    "coordinated_within_30_days", "median_days_to_coordination",
    "escalations", "family_matches" };

/* One row of the table: month, type, then the cells of row ("-": none). */
static void
print_report_row(const char *month, const char *type, const struct jv *row)
{
	size_t nc = sizeof(report_cols) / sizeof(report_cols[0]);

	put_text(stdout, month);
	fputc('\t', stdout);
	put_text(stdout, type);
	for (size_t c = 0; c < nc; c++) {
		fputc('\t', stdout);
		put_cell(stdout, jget(row, report_cols[c]),
		    strstr(report_cols[c], "_within_") != NULL);
	}
	printf("\n");
}

/*
 * The months as an aligned table, each month's regional row (type "all")
 * followed by its organisation types'; as CSV the daemon's own text, the
 * same that /v1/report?format=csv answers.
 */
static void
print_report(const struct jv *r, int csv)
{
	const struct jv *months = jget(r, "months");
	size_t nc = sizeof(report_cols) / sizeof(report_cols[0]);

	if (csv) {
		fputs(jstr(r, "csv"), stdout);
		return;
	}
	printf("regional figures for municipality %s (counts below %lld "
	    "shown as \"< %lld\")\n", jstr(r, "municipality"),
	    jint(r, "min_count"), jint(r, "min_count"));
	printf("month\ttype");
	for (size_t c = 0; c < nc; c++)
		printf("\t%s", report_cols[c]);
	printf("\n");
	for (size_t i = 0; months != NULL && i < months->n; i++) {
		const struct jv *m = &months->v[i], *types = jget(m, "by_type");

		print_report_row(jstr(m, "month"), "all", m);
		for (size_t k = 0; types != NULL && types->t == J_OBJ &&
		    k < types->n; k++)
			print_report_row(jstr(m, "month"), types->k[k] != NULL ?
			    types->k[k] : "", &types->v[k]);
	}
}

static void
print_status(const struct jv *r)
{
	const struct jv *pending = jget(r, "pending");
	long long up = jint(r, "uptime");
	char used[32], size[32], quota[32];

	printf("vixd %s (pid %lld), up %lldd %02lld:%02lld:%02lld\n",
	    jstr(r, "version"), jint(r, "pid"), up / 86400, up / 3600 % 24,
	    up / 60 % 60, up % 60);
	printf("listening on %s with %lld workers; %lld connections open\n",
	    jstr(r, "listen"), jint(r, "workers"), jint(r, "connections"));
	printf("organisations: %lld\n", jint(r, "organisations"));
	printf("signals: %lld active, %lld archived\n", jint(r, "signals"),
	    jint(r, "archived"));
	printf("matches: %lld (%lld not coordinated)\n", jint(r, "matches"),
	    jint(r, "matches_uncoordinated"));
	printf("audit records: %lld\n", jint(r, "audit_records"));
	printf("store %s: %s of %s map used (quota %s)\n", jstr(r, "data_dir"),
	    fmt_bytes((double)jint(r, "map_used"), used, sizeof(used)),
	    fmt_bytes((double)jint(r, "map_size"), size, sizeof(size)),
	    fmt_bytes((double)jint(r, "quota"), quota, sizeof(quota)));
	for (size_t i = 0; pending != NULL && i < pending->n; i++) {
		const struct jv *p = &pending->v[i];

		if (jint(p, "pending") == 0)
			continue;
		printf("pending for %s: %lld (oldest %llds)\n", jstr(p, "org"),
		    jint(p, "pending"), jint(p, "oldest_age"));
	}
	print_webhooks(jget(r, "webhooks"));
}

static void
print_orgs(const struct jv *r)
{
	const struct jv *list = jget(r, "organisations");

	printf("%s\n", jstr(r, "file"));
	printf("%-16s %-20s %-4s %-4s %-24s %s\n", "ID", "OIN", "RANK",
	    "MUNI", "ROLES", "NAME");
	for (size_t i = 0; list != NULL && i < list->n; i++) {
		const struct jv *o = &list->v[i], *roles = jget(o, "roles"),
		    *rf = jget(o, "receives_for");
		char rs[64] = "";

		for (size_t k = 0; roles != NULL && k < roles->n; k++)
			if (roles->v[k].t == J_STR)
				snprintf(rs + strlen(rs), sizeof(rs) - strlen(rs),
				    "%s%s", k ? "," : "", roles->v[k].s);
		printf("%-16s %-20s %-4lld %-4s %-24s ", jstr(o, "id"),
		    jstr(o, "oin"), jint(o, "rank"),
		    *jstr(o, "municipality") ? jstr(o, "municipality") : "-",
		    rs);
		put_text(stdout, jstr(o, "name"));
		putchar('\n');
		if (*jstr(o, "type") != '\0')
			printf("%16s of type %s\n", "", jstr(o, "type"));
		for (size_t k = 0; rf != NULL && k < rf->n; k++)
			if (rf->v[k].t == J_STR)
				printf("%16s receives for %s\n", "",
				    rf->v[k].s);
		if (*jstr(o, "push") != '\0')
			printf("%16s push to %s\n", "", jstr(o, "push"));
	}
}

static void
print_signal(const struct jv *s)
{
	const struct jv *c = jget(s, "contact");
	char t1[32], t2[32];

	printf("  signal %lld of %s (", jint(s, "signal_id"), jstr(s, "org"));
	put_text(stdout, jstr(s, "org_name"));
	printf(")\n    registered %s, expires %s (%s)\n",
	    fmt_time(jint(s, "created"), t1, sizeof(t1)),
	    fmt_time(jint(s, "expires"), t2, sizeof(t2)), jstr(s, "bound"));
	if (jget(s, "archived") != NULL)
		printf("    archived %s (%s)\n", fmt_time(jint(s, "archived"),
		    t1, sizeof(t1)), jstr(s, "reason"));
	printf("    contact: ");
	put_text(stdout, jstr(c, "name"));
	printf(", ");
	put_text(stdout, jstr(c, "phone"));
	if (*jstr(c, "email") != '\0') {
		printf(", ");
		put_text(stdout, jstr(c, "email"));
	}
	printf("\n    reference: ");
	put_text(stdout, *jstr(s, "client_ref") ? jstr(s, "client_ref") : "-");
	printf(", municipality: %s\n", *jstr(s, "municipality") ?
	    jstr(s, "municipality") : "-");
	printf("    policy at registration: %s\n", *jstr(s, "policy") ?
	    jstr(s, "policy") : "not recorded (registered before vix "
	    "recorded it)");
}

/*
 * The policy in force as the report was made, rule by rule, and the
 * recorded text of each policy the subject's signals were registered
 * under.
 */
static void
print_policy(const struct jv *r)
{
	const struct jv *p = jget(r, "policy"), *rules = jget(p, "rules");
	const struct jv *regs = jget(p, "registrants");
	const struct jv *applied = jget(r, "policies_applied");

	if (p == NULL || p->t != J_OBJ)
		return;
	printf("policy in force: %s (%s)\n", jstr(p, "id"), jbool(p, "law") ?
	    "the Youth Act's values, Jeugdwet ch. 7.1" :
	    "changed from the Youth Act's values");
	for (size_t i = 0; rules != NULL && i < rules->n; i++)
		printf("  %s (%s): %s\n", jstr(&rules->v[i], "what"),
		    jstr(&rules->v[i], "key"), jstr(&rules->v[i], "text"));
	printf("  who may register (orgs.conf, role register):");
	for (size_t i = 0; regs != NULL && i < regs->n; i++)
		if (regs->v[i].t == J_STR)
			printf("%s %s", i ? "," : "", regs->v[i].s);
	putchar('\n');
	for (size_t i = 0; applied != NULL && i < applied->n; i++) {
		const struct jv *a = &applied->v[i];

		if (strcmp(jstr(a, "id"), jstr(p, "id")) == 0)
			continue;
		printf("policy %s, under which a signal below was registered: ",
		    jstr(a, "id"));
		put_text(stdout, *jstr(a, "text") ? jstr(a, "text") :
		    "its values were not recorded");
		putchar('\n');
	}
}

static void
print_subject(const struct jv *r)
{
	const struct jv *active = jget(r, "signals"), *arch = jget(r, "archived");
	const struct jv *m = jget(r, "match"), *audit = jget(r, "audit");
	const struct jv *closed = jget(r, "closed_matches");
	char t[32], t2[32];

	print_policy(r);
	printf("active signals: %zu\n", active ? active->n : 0);
	for (size_t i = 0; active != NULL && i < active->n; i++)
		print_signal(&active->v[i]);
	printf("archived signals: %zu\n", arch ? arch->n : 0);
	for (size_t i = 0; arch != NULL && i < arch->n; i++)
		print_signal(&arch->v[i]);
	if (m != NULL && m->t == J_OBJ)
		printf("match %lld since %s, coordinator %s%s%s",
		    jint(m, "match_id"), fmt_time(jint(m, "created"), t,
		    sizeof(t)), jstr(m, "coordinator"), jbool(m,
		    "coordinated") ? ", coordinated" : "", jbool(m, "escalated") ?
		    ", escalated" : "");
	if (m != NULL && m->t == J_OBJ && jint(m, "escalations") > 1)
		printf(" %lld times", jint(m, "escalations"));
	if (m != NULL && m->t == J_OBJ)
		printf("\n");
	if (jint(r, "named_as_parent") > 0)
		printf("named as a parent or guardian by %lld active signal%s "
		    "(family match)\n", jint(r, "named_as_parent"),
		    jint(r, "named_as_parent") == 1 ? "" : "s");
	for (size_t i = 0; closed != NULL && i < closed->n; i++) {
		const struct jv *c = &closed->v[i];

		printf("match %lld closed %s (first recorded %s)\n",
		    jint(c, "match_id"), fmt_time(jint(c, "closed"), t,
		    sizeof(t)), fmt_time(jint(c, "first"), t2, sizeof(t2)));
	}
	if ((m == NULL || m->t != J_OBJ) && (closed == NULL || closed->n == 0))
		printf("match: none\n");
	printf("audit events: %zu\n", audit ? audit->n : 0);
	for (size_t i = 0; audit != NULL && i < audit->n; i++) {
		const struct jv *a = &audit->v[i];

		const char *pro = jstr(a, "professional");

		printf("  #%lld %s %s%s%s %s signal %lld match %lld: %s\n",
		    jint(a, "seq"), fmt_time(jint(a, "time"), t, sizeof(t)),
		    *jstr(a, "actor_org") ? jstr(a, "actor_org") :
		    jstr(a, "actor"), *pro ? " professional " : "", pro,
		    jstr(a, "action"), jint(a, "signal_id"),
		    jint(a, "match_id"), jstr(a, "outcome"));
	}
}

static void
print_erase(const struct jv *r)
{
	const struct jv *n = jget(r, "notified");

	printf("erased %lld active and %lld archived signal%s\n",
	    jint(r, "removed"), jint(r, "archived"), jint(r, "removed") +
	    jint(r, "archived") == 1 ? "" : "s");
	printf("%lld notification%s about the youth withdrawn from the "
	    "outboxes\n", jint(r, "withdrawn"), jint(r, "withdrawn") == 1 ?
	    "" : "s");
	for (size_t i = 0; n != NULL && i < n->n; i++)
		printf("SIGNAL_REMOVED sent to %s\n", jstr(&n->v[i], "org"));
	if (jint(r, "parent_links") > 0)
		printf("%lld signal%s named the person as a parent; they name "
		    "them no longer\n", jint(r, "parent_links"),
		    jint(r, "parent_links") == 1 ? "" : "s");
	printf("the audit records are kept; freed pages of the store and "
	    "earlier backups\nstill hold the erased data: see vixctl(8), "
	    "ERASURE\n");
}

/* Print the answer of cmd as the user asked; the exit status. */
static int
answer(const struct cli *o, const char *cmd, const char *text)
{
	struct jv r;
	int ok;

	if (jparse(text, &r) == -1) {
		fprintf(stderr, "vixctl: the answer is not JSON\n");
		return EXIT_CONNECT;
	}
	ok = jbool(&r, "ok");
	if (o->json)
		fputs(text, stdout);
	if (!ok) {
		fprintf(stderr, "vixctl: ");
		put_text(stderr, *jstr(&r, "error") ? jstr(&r, "error") :
		    "failed");
		fputc('\n', stderr);
		put_lines(stderr, jget(&r, "errors"), "  ");
	} else if (!o->json) {
		if (strcmp(cmd, "status") == 0)
			print_status(&r);
		else if (strcmp(cmd, "reload") == 0) {
			printf("reloaded\n");
			put_lines(stdout, jget(&r, "changes"), "  ");
		} else if (strcmp(cmd, "orgs") == 0)
			print_orgs(&r);
		else if (strcmp(cmd, "backup") == 0)
			printf("backup written to %s (%lld bytes); check it "
			    "with: mdb_stat -a %s\n", jstr(&r, "path"),
			    jint(&r, "bytes"), jstr(&r, "path"));
		else if (strcmp(cmd, "audit verify") == 0 &&
		    jint(&r, "chains") > 1)
			printf("audit chains intact: %lld records in %lld "
			    "chains (one per vixd that wrote)\n",
			    jint(&r, "records"), jint(&r, "chains"));
		else if (strcmp(cmd, "audit verify") == 0)
			printf("audit chain intact: %lld records\n",
			    jint(&r, "records"));
		else if (strcmp(cmd, "subject-report") == 0)
			print_subject(&r);
		else if (strcmp(cmd, "erase") == 0)
			print_erase(&r);
		else if (strcmp(cmd, "rotate") == 0)
			printf("%s\n", jstr(&r, "rotation"));
		else if (strcmp(cmd, "webhook") == 0)
			printf("%s\n", jstr(&r, "replay"));
		else if (strcmp(cmd, "report") == 0 || strcmp(cmd,
		    "report-csv") == 0)
			print_report(&r, strcmp(cmd, "report-csv") == 0);
		else if (strcmp(cmd, "relocate") == 0 && jbool(&r, "moved"))
			printf("relocated to municipality %s: %lld active "
			    "signals on the youth%s\n", jstr(&r, "municipality"),
			    jint(&r, "signals"), jint(&r, "match_id") ?
			    "; its match escalates there now, and both "
			    "municipalities' escalation organisations were told" :
			    "");
		else if (strcmp(cmd, "relocate") == 0)
			printf("the youth is in municipality %s already; nothing "
			    "changed\n", jstr(&r, "municipality"));
	}
	jfree(&r);
	return ok ? EXIT_OK : EXIT_FAILED;
}

static int
run(const struct cli *o, const char *cmd, char *line)
{
	char *text;
	int fd, rc;

	if ((fd = ctl_request(o->socket, line)) == -1)
		return EXIT_CONNECT;
	text = ctl_read_all(fd, o->socket);
	close(fd);
	if (text == NULL)
		return EXIT_CONNECT;
	rc = answer(o, cmd, text);
	free(text);
	return rc;
}

/*
 * audit export: records stream out as JSON lines; the last line is
 * {"ok":...} and says whether all of them came.
 */
static int
run_export(const struct cli *o, char *line)
{
	FILE *fp;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	int fd, rc = -1;

	if ((fd = ctl_request(o->socket, line)) == -1)
		return EXIT_CONNECT;
	if ((fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return EXIT_CONNECT;
	}
	while ((n = getline(&buf, &cap, fp)) > 0) {
		if (strncmp(buf, "{\"ok\":", 6) == 0) {
			struct cli quiet = *o;

			quiet.json = 0;

			rc = answer(&quiet, "audit export", buf);
			break;
		}
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			fprintf(stderr, "vixctl: audit export: %s\n",
			    strerror(errno));
			rc = EXIT_FAILED;
			break;
		}
	}
	free(buf);
	fclose(fp);
	if (rc == -1) {
		fprintf(stderr, "vixctl: audit export: the answer ended early\n");
		return EXIT_CONNECT;
	}
	return rc;
}

/* ---- commands -------------------------------------------------------- */

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: vixctl [-s SOCKET] [--json] COMMAND [ARGS]\n"
	    "  -s, --socket PATH   vixd's control socket (default ./%s if it\n"
	    "                      exists, else %s)\n"
	    "  --json              print vixd's JSON answer as received\n"
	    "commands:\n"
	    "  status                      version, uptime, connections, "
	    "store counts\n"
	    "  reload                      as SIGHUP: re-read vixd.conf, "
	    "orgs.conf,\n"
	    "                              certificates and CRL\n"
	    "  orgs                        the organisation registry as "
	    "loaded\n"
	    "  backup PATH                 hot copy of the store into a new "
	    "folder, or an\n"
	    "                              empty one only its owner may enter\n"
	    "  audit verify                walk the audit hash chain\n"
	    "  audit export [--since T]    audit records as JSON lines "
	    "(T: Unix seconds)\n"
	    "  subject-report --bsn B      everything held on one youth "
	    "(GDPR art. 15)\n"
	    "  erase --bsn B --reason death|gdpr-erasure\n"
	    "                              remove a youth's active and "
	    "archived signals\n"
	    "  rotate [--status]           move every pseudonym to the key "
	    "holder's next\n"
	    "                              key version (pseudonyms = blind)\n"
	    "  report --municipality CODE|none --from DATE --to DATE [--csv]\n"
	    "                              regional figures per month, small "
	    "counts hidden\n"
	    "  relocate --bsn B --municipality CODE\n"
	    "                              the youth moved: its signals take "
	    "CODE and its\n"
	    "                              match escalates there\n"
	    "  webhook replay --org ID --from SEQ\n"
	    "                              deliver ID's notifications to its "
	    "webhook again\n"
	    "                              from SEQ on (as still kept)\n"
	    "with pseudonyms = blind, subject-report and erase blind the BSN "
	    "with the key\nholder: --keyholder HOST:PORT --cert F --key F --ca F "
	    "(an admin organisation's;\nalso VIX_KEYHOLDER, VIX_CERT, VIX_KEY, "
	    "VIX_CA; beside a vixd --dev socket, its own)\n"
	    "--bsn -: read the BSN from standard input (kept out of the "
	    "process list)\n"
	    "a BSN is never printed or logged\n"
	    "exit status: 0 ok, 1 refused or failed, 2 usage, 3 cannot "
	    "connect\n", SOCKET_DEV, SOCKET_DEFAULT);
}

static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vixctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(vixctl --help for usage)\n");
	return EXIT_USAGE;
}

/* A command-line word fit for an error message: none with digits (a BSN?). */
static const char *
shown(const char *word)
{
	return strpbrk(word, "0123456789") ? "(not shown: it has digits)" :
	    word;
}

/* "p:ELEMENT:VERSION:KEYID" in hex, as vixd's control socket takes it. */
#define BLIND_ARG_MAX	(2 + 2 * BLINDBSN_ELEMENT_LEN + 12 + \
			    2 * BLINDBSN_KEY_ID_LEN + 1)

/*
 * Replace the BSN in b by its blind pseudonym, made with the key holder;
 * an exit status.
 */
static int
blind_arg(const struct cli *o, const char *cmd, char *b, size_t len)
{
	uint8_t element[BLINDBSN_ELEMENT_LEN], key_id[BLINDBSN_KEY_ID_LEN];
	char why[256], ehex[2 * BLINDBSN_ELEMENT_LEN + 1],
	    ihex[2 * BLINDBSN_KEY_ID_LEN + 1];
	struct keyclient *kc;
	uint32_t version;
	int code, rc;

	if ((kc = keyclient_open(o->keyholder, o->cert, o->key, o->ca, 10000,
	    why, sizeof(why))) == NULL) {
		fprintf(stderr, "vixctl: %s: key holder %s: %s\n", cmd,
		    o->keyholder, why);
		return EXIT_CONNECT;
	}
	rc = blindbsn(kc, b, element, &version, key_id, &code, why,
	    sizeof(why));
	keyclient_close(kc);
	explicit_bzero(b, len);
	if (rc == BLINDBSN_INVALID)
		return usage_error("%s: %s", cmd, why);
	if (rc != BLINDBSN_OK) {
		fprintf(stderr, "vixctl: %s: key holder %s: %s\n", cmd,
		    o->keyholder, why);
		return code != 0 ? EXIT_FAILED : EXIT_CONNECT;
	}
	sodium_bin2hex(ehex, sizeof(ehex), element, sizeof(element));
	sodium_bin2hex(ihex, sizeof(ihex), key_id, sizeof(key_id));
	snprintf(b, len, "p:%s:%" PRIu32 ":%s", ehex, version, ihex);
	return EXIT_OK;
}

/* subject-report and erase: --bsn B [--reason R] */
static int
cmd_bsn(const struct cli *o, const char *cmd, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bsn", required_argument, NULL, 'b' },
		{ "reason", required_argument, NULL, 'r' },
		{ "municipality", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c = *o;
	const char *bsn = NULL, *reason = NULL, *muni = NULL, *extra;
	char b[BLIND_ARG_MAX], line[256];
	const char *why;
	int ch, rc, erase = strcmp(cmd, "erase") == 0;
	int relocate = strcmp(cmd, "relocate") == 0;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (ch) {
		case 'b': bsn = optarg; break;
		case 'r': reason = optarg; break;
		case 'm': muni = optarg; break;
		case 'j': c.json = 1; break;
		default:
			return usage_error("%s: unknown option or missing "
			    "value", cmd);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument %s",
		    shown(argv[optind]));
	if (bsn == NULL)
		return usage_error("%s: --bsn is required", cmd);
	if (o->keyholder != NULL && (o->cert == NULL || o->key == NULL ||
	    o->ca == NULL))
		return usage_error("%s: --keyholder needs --cert, --key and "
		    "--ca (an admin organisation's)", cmd);
	if (erase && (reason == NULL || (strcmp(reason, "death") != 0 &&
	    strcmp(reason, "gdpr-erasure") != 0)))
		return usage_error("%s: --reason must be death or "
		    "gdpr-erasure", cmd);
	if (relocate && (muni == NULL || strlen(muni) != 4 ||
	    strspn(muni, "0123456789") != 4))
		return usage_error("%s: --municipality must be the 4-digit CBS "
		    "code of the municipality the youth moved to", cmd);
	if (!relocate && muni != NULL)
		return usage_error("%s: --municipality goes with relocate", cmd);
	if (!erase && reason != NULL)
		return usage_error("%s: --reason goes with erase", cmd);
	if ((why = bsnarg_read(bsn, b, sizeof(b))) != NULL) {
		explicit_bzero(b, sizeof(b));
		return usage_error("%s", why);
	}
	if (o->keyholder != NULL && (rc = blind_arg(o, cmd, b, sizeof(b))) !=
	    EXIT_OK) {
		explicit_bzero(b, sizeof(b));
		return rc;
	}
	extra = erase ? reason : relocate ? muni : NULL;
	snprintf(line, sizeof(line), "%s %s%s%s\n", cmd, b, extra ? " " : "",
	    extra ? extra : "");
	explicit_bzero(b, sizeof(b));
	rc = run(&c, cmd, line);
	explicit_bzero(line, sizeof(line));
	return rc;
}

static int
cmd_audit(const struct cli *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c = *o;
	const char *since = NULL, *sub;
	char line[128], *end;
	int ch;

	if (argc < 2 || (strcmp(argv[1], "verify") != 0 &&
	    strcmp(argv[1], "export") != 0))
		return usage_error("audit: verify or export%s", "");
	sub = argv[1];
	argc--;
	argv++;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (ch) {
		case 's': since = optarg; break;
		case 'j': c.json = 1; break;
		default:
			return usage_error("audit %s: unknown option or "
			    "missing value", sub);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument %s",
		    shown(argv[optind]));
	if (strcmp(sub, "verify") == 0) {
		if (since != NULL)
			return usage_error("--since is for audit export%s", "");
		snprintf(line, sizeof(line), "audit verify\n");
		return run(&c, "audit verify", line);
	}
	if (since != NULL && (strtoll(since, &end, 10) < 0 || end == since ||
	    *end != '\0'))
		return usage_error("--since: Unix seconds, e.g. %s",
		    "1700000000");
	snprintf(line, sizeof(line), "audit export%s%s\n", since ? " " : "",
	    since ? since : "");
	return run_export(&c, line);
}

/* status, reload, orgs, backup PATH: plain words. */
static int
cmd_plain(const struct cli *o, const char *cmd, int argc, char **argv)
{
	struct cli c = *o;
	char path[PATH_MAX], cwd[PATH_MAX], *line;
	const char *arg = NULL;
	int rc, backup = strcmp(cmd, "backup") == 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c.json = 1;
		else if (backup && arg == NULL && argv[i][0] != '-')
			arg = argv[i];
		else
			return usage_error("unexpected argument %s",
			    shown(argv[i]));
	}
	if (backup && arg == NULL)
		return usage_error("backup: a PATH (a new or empty "
		    "directory) is required%s", "");
	if (backup && arg[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			fprintf(stderr, "vixctl: getcwd: %s\n", strerror(errno));
			return EXIT_FAILED;
		}
		if (snprintf(path, sizeof(path), "%s/%s", cwd, arg) >=
		    (int)sizeof(path))
			return usage_error("backup: the path is too long%s", "");
		arg = path;
	}
	if (arg != NULL && strchr(arg, '\n') != NULL)
		return usage_error("backup: PATH must not hold a newline%s", "");
	if (asprintf(&line, "%s%s%s\n", cmd, arg ? " " : "", arg ? arg :
	    "") == -1)
		return EXIT_FAILED;
	rc = run(&c, cmd, line);
	free(line);
	return rc;
}

static const char *
default_socket(void)
{
	return access(SOCKET_DEV, F_OK) == 0 ? SOCKET_DEV : SOCKET_DEFAULT;
}

/*
 * The key holder from the environment, or, next to a development vixd's
 * socket, the one vixd --dev started (DIR/keyholder) with the development
 * administrator's certificate.
 */
static void
keyholder_options(struct cli *o)
{
	char dir[PATH_MAX - 16], *slash;

	if (o->keyholder == NULL)
		o->keyholder = getenv("VIX_KEYHOLDER");
	if (o->cert == NULL)
		o->cert = getenv("VIX_CERT");
	if (o->key == NULL)
		o->key = getenv("VIX_KEY");
	if (o->ca == NULL)
		o->ca = getenv("VIX_CA");
	if (o->keyholder != NULL)
		return;
	snprintf(dir, sizeof(dir), "%s", o->socket);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		*slash = '\0';
	if (bsnarg_dev_keyholder(dir, o->dev[0], PATH_MAX) == -1)
		return;
	o->keyholder = o->dev[0];
	snprintf(o->dev[1], PATH_MAX, "%s/admin.pem", dir);
	snprintf(o->dev[2], PATH_MAX, "%s/admin.key", dir);
	snprintf(o->dev[3], PATH_MAX, "%s/ca.pem", dir);
	o->cert = o->cert ? o->cert : o->dev[1];
	o->key = o->key ? o->key : o->dev[2];
	o->ca = o->ca ? o->ca : o->dev[3];
}

/* rotate [--status] */
static int
cmd_rotate(const struct cli *o, int argc, char **argv)
{
	struct cli c = *o;
	char line[32];
	int status = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c.json = 1;
		else if (strcmp(argv[i], "--status") == 0)
			status = 1;
		else
			return usage_error("unexpected argument %s",
			    shown(argv[i]));
	}
	snprintf(line, sizeof(line), "%s\n", status ? "rotate status" :
	    "rotate");
	return run(&c, "rotate", line);
}

/* report --municipality CODE|none --from DATE --to DATE [--csv] */
static int
cmd_report(const struct cli *o, int argc, char **argv)
{
	const char *muni = NULL, *from = NULL, *to = NULL;
	struct cli c = *o;
	char line[128];
	int csv = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c.json = 1;
		else if (strcmp(argv[i], "--csv") == 0)
			csv = 1;
		else if (strcmp(argv[i], "--municipality") == 0 && i + 1 < argc)
			muni = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			to = argv[++i];
		else
			return usage_error("report: unexpected argument %s",
			    shown(argv[i]));
	}
	if (muni == NULL || from == NULL || to == NULL)
		return usage_error("report: --municipality CODE, --from DATE "
		    "and --to DATE are required");
	if (strlen(muni) > 4 || strlen(from) > 10 || strlen(to) > 10 ||
	    strpbrk(muni, " \n") || strpbrk(from, " \n") || strpbrk(to, " \n"))
		return usage_error("report: --municipality is a 4-digit code or "
		    "none, --from and --to YYYY-MM or YYYY-MM-DD");
	snprintf(line, sizeof(line), "report %s %s %s%s\n", muni, from, to,
	    csv ? " csv" : "");
	return run(&c, csv ? "report-csv" : "report", line);
}

/* webhook replay --org ID --from SEQ */
static int
cmd_webhook(const struct cli *o, int argc, char **argv)
{
	const char *org = NULL, *from = NULL;
	struct cli c = *o;
	char line[128], *end;
	unsigned long long seq;

	if (argc < 2 || strcmp(argv[1], "replay") != 0)
		return usage_error("webhook: expected replay --org ID --from "
		    "SEQ");
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c.json = 1;
		else if (strcmp(argv[i], "--org") == 0 && i + 1 < argc)
			org = argv[++i];
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			from = argv[++i];
		else
			return usage_error("webhook replay: unexpected argument "
			    "%s", shown(argv[i]));
	}
	if (org == NULL || from == NULL)
		return usage_error("webhook replay: --org ID and --from SEQ are "
		    "required");
	if (strlen(org) > 32 || strpbrk(org, " \t\r\n") != NULL)
		return usage_error("webhook replay: --org: not an organisation "
		    "id");
	errno = 0;
	seq = strtoull(from, &end, 10);
	if (errno != 0 || *end != '\0' || seq == 0 || from[0] == '-')
		return usage_error("webhook replay: --from: a notification seq "
		    "(1 or more), not %s", shown(from));
	snprintf(line, sizeof(line), "webhook replay %s %llu\n", org, seq);
	return run(&c, "webhook", line);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "keyholder", required_argument, NULL, 'K' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli o = { 0 };
	const char *cmd;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+s:h", lo, NULL)) != -1) {
		switch (ch) {
		case 's': o.socket = optarg; break;
		case 'j': o.json = 1; break;
		case 'K': o.keyholder = optarg; break;
		case 'C': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'A': o.ca = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.socket == NULL)
		o.socket = default_socket();
	keyholder_options(&o);
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "reload") == 0 ||
	    strcmp(cmd, "orgs") == 0 || strcmp(cmd, "backup") == 0)
		return cmd_plain(&o, cmd, argc, argv);
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(&o, argc, argv);
	if (strcmp(cmd, "subject-report") == 0 || strcmp(cmd, "erase") == 0 ||
	    strcmp(cmd, "relocate") == 0)
		return cmd_bsn(&o, cmd, argc, argv);
	if (strcmp(cmd, "rotate") == 0)
		return cmd_rotate(&o, argc, argv);
	if (strcmp(cmd, "webhook") == 0)
		return cmd_webhook(&o, argc, argv);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(&o, argc, argv);
	return usage_error("unknown command %s", shown(cmd));
}
