/*
 * vix-bench: load generator for vixd and, side by side, PostgreSQL.
 *   vix-bench orgs DIR M         make --dev material in DIR with M extra
 *                                organisations bench-001..bench-M
 *   vix-bench run [options]      run one workload against one driver
 *   vix-bench drivers            list the drivers built in
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "bench.h"
#include "devcert.h"
#include "devkeyd.h"
#include "rules.h"

struct bench_pool {
	uint32_t		*bsn;		/* the 9-digit numbers */
	_Atomic uint16_t	*owner;		/* org + 1 that took it; 0: none */
	unsigned		 youths;
	_Atomic uint32_t	 next;		/* youths handed out so far */
};

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct {
	atomic_uint_fast64_t	 claimed, ok;
	uint64_t		 total;
	unsigned		 every_s;
	atomic_int		 stop;
	pthread_t		 tid;
	int			 running;
} progress;

int
bench_claim(void)
{
	if (progress.total == 0)
		return 1;
	return atomic_fetch_add(&progress.claimed, 1) < progress.total;
}

void
bench_done_ok(void)
{
	atomic_fetch_add_explicit(&progress.ok, 1, memory_order_relaxed);
}

static void *
progress_main(void *arg)
{
	double t0 = bench_now(), last_t = t0, next = t0;
	uint64_t last_ok = 0;

	(void)arg;
	while (!atomic_load(&progress.stop)) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		double now;
		uint64_t ok;

		nanosleep(&ts, NULL);
		if ((now = bench_now()) < next + progress.every_s)
			continue;
		next = now;
		ok = atomic_load(&progress.ok);
		fprintf(stderr, "progress t=%.0f ok=%llu interval_regs_per_s=%.0f\n",
		    now - t0, (unsigned long long)ok,
		    (double)(ok - last_ok) / (now - last_t));
		last_ok = ok;
		last_t = now;
	}
	return NULL;
}

void
bench_progress_start(const struct bench_opts *o)
{
	progress.total = o->total;
	progress.every_s = o->progress_s;
	if (o->progress_s > 0 &&
	    pthread_create(&progress.tid, NULL, progress_main, NULL) == 0)
		progress.running = 1;
}

void
bench_progress_stop(void)
{
	atomic_store(&progress.stop, 1);
	if (progress.running)
		pthread_join(progress.tid, NULL);
	progress.running = 0;
}

uint64_t
bench_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static int
hist_index(double seconds)
{
	double us = seconds * 1e6;
	int i;

	if (us <= 1.0)
		return 0;
	i = (int)(log2(us) * BENCH_HIST_SUB) + 1;
	return i >= BENCH_HIST_BUCKETS ? BENCH_HIST_BUCKETS - 1 : i;
}

void
bench_hist_add(struct bench_hist *h, double seconds)
{
	h->buckets[hist_index(seconds)]++;
	h->n++;
	if (seconds > h->max)
		h->max = seconds;
}

void
bench_hist_merge(struct bench_hist *into, const struct bench_hist *h)
{
	for (int i = 0; i < BENCH_HIST_BUCKETS; i++)
		into->buckets[i] += h->buckets[i];
	into->n += h->n;
	if (h->max > into->max)
		into->max = h->max;
}

double
bench_hist_pct(const struct bench_hist *h, double p)
{
	uint64_t want, seen = 0;
	double upper;

	if (h->n == 0)
		return 0;
	want = (uint64_t)ceil((double)h->n * p / 100.0);
	if (want == 0)
		want = 1;
	for (int i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= want) {
			upper = pow(2.0, (double)i / BENCH_HIST_SUB) / 1e6;
			return upper < h->max ? upper : h->max;
		}
	}
	return h->max;
}

void
bench_print_row(const char *name, const struct bench_opts *o,
    const struct bench_result *r)
{
	uint64_t errors = 0;
	char codes[256] = "";
	size_t len = 0;

	for (int c = 1; c < 17; c++) {
		if (r->errors_by_code[c] == 0)
			continue;
		errors += r->errors_by_code[c];
		len += (size_t)snprintf(codes + len, sizeof(codes) - len, "%s%d:%llu",
		    len ? "," : "", c, (unsigned long long)r->errors_by_code[c]);
		if (len >= sizeof(codes))
			len = sizeof(codes) - 1;
	}
	printf("%-6s conns=%u orgs=%u depth=%u youths=%u match_pct=%u rate=%u "
	    "seconds=%.1f ok=%llu regs_per_s=%.0f "
	    "req_ms_p50=%.2f req_ms_p90=%.2f req_ms_p99=%.2f req_ms_max=%.2f "
	    "notify_n=%llu notify_ms_p50=%.2f notify_ms_p99=%.2f "
	    "notify_ms_max=%.2f matches=%llu errors=%llu codes=%s "
	    "cpu_s=%.1f rss_kb=%ld\n", name, o->conns, o->orgs, o->depth,
	    o->youths, o->match_pct, o->rate, r->seconds,
	    (unsigned long long)r->ok,
	    r->seconds > 0 ? (double)r->ok / r->seconds : 0.0,
	    bench_hist_pct(&r->req, 50) * 1e3, bench_hist_pct(&r->req, 90) * 1e3,
	    bench_hist_pct(&r->req, 99) * 1e3, r->req.max * 1e3,
	    (unsigned long long)r->notify.n,
	    bench_hist_pct(&r->notify, 50) * 1e3,
	    bench_hist_pct(&r->notify, 99) * 1e3, r->notify.max * 1e3,
	    (unsigned long long)r->matches, (unsigned long long)errors,
	    len ? codes : "-", r->cpu_s, r->rss_kb);
	fflush(stdout);
}

/* 9 + seven digits + the check digit the 11-test asks for, when it is one. */
static int
bsn_complete(uint32_t prefix, uint32_t *out)
{
	unsigned sum = 0, w = 2;
	uint32_t p = prefix;

	for (; p != 0; p /= 10, w++)
		sum += (p % 10) * w;
	if (sum % 11 == 10)
		return -1;
	*out = prefix * 10 + sum % 11;
	return 0;
}

struct bench_pool *
bench_pool_new(unsigned youths, unsigned orgs)
{
	struct bench_pool *pl;
	uint32_t prefix = 90000000, n = 0;
	char buf[10];

	if (orgs >= UINT16_MAX || (pl = calloc(1, sizeof(*pl))) == NULL)
		return NULL;
	pl->bsn = calloc(youths, sizeof(*pl->bsn));
	pl->owner = calloc(youths, sizeof(*pl->owner));
	pl->youths = youths;
	if (pl->bsn == NULL || pl->owner == NULL)
		goto fail;
	for (; n < youths && prefix < 100000000; prefix++)
		if (bsn_complete(prefix, &pl->bsn[n]) == 0)
			n++;
	if (n < youths) {
		fprintf(stderr, "vix-bench: at most %u youths fit the 9xxxxxxxx "
		    "range\n", n);
		goto fail;
	}
	bench_pool_bsn(pl, 0, buf);
	if (rules_check_bsn(buf, 9) != 0) {
		fprintf(stderr, "vix-bench: generated BSNs fail the 11-test\n");
		goto fail;
	}
	return pl;
fail:
	bench_pool_free(pl);
	return NULL;
}

void
bench_pool_start_at(struct bench_pool *pl, unsigned first)
{
	atomic_store_explicit(&pl->next, first % pl->youths,
	    memory_order_relaxed);
}

void
bench_pool_free(struct bench_pool *pl)
{
	if (pl == NULL)
		return;
	free(pl->bsn);
	free((void *)pl->owner);
	free(pl);
}

void
bench_pool_bsn(const struct bench_pool *pl, uint32_t i, char out[10])
{
	snprintf(out, 10, "%09u", pl->bsn[i % pl->youths]);
}

uint32_t
bench_pool_pick(struct bench_pool *pl, unsigned org, unsigned match_pct,
    uint64_t *rng)
{
	uint32_t taken = atomic_load_explicit(&pl->next, memory_order_relaxed);
	uint32_t i;
	uint16_t who;

	if (taken > pl->youths)
		taken = pl->youths;
	if (taken > 0 && bench_rand(rng) % 100 < match_pct) {
		for (int tries = 0; tries < 8; tries++) {
			i = (uint32_t)(bench_rand(rng) % taken);
			who = atomic_load_explicit(&pl->owner[i],
			    memory_order_relaxed);
			if (who != 0 && who != org + 1)
				return i;
		}
	}
	/* Past the pool's end the youths come round again. */
	i = atomic_fetch_add_explicit(&pl->next, 1, memory_order_relaxed) %
	    pl->youths;
	atomic_store_explicit(&pl->owner[i], (uint16_t)(org + 1),
	    memory_order_relaxed);
	return i;
}

int
bench_proc_stat(long pid, double *cpu_s, long *rss_kb)
{
	char path[64], line[256], buf[4096], *p;
	unsigned long ut, st;
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* Fields 14 and 15 (utime, stime) follow the ")" of the name. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	*cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld", rss_kb) == 1)
			break;
	fclose(fp);
	return 0;
}

static X509 *
read_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	if (fp == NULL)
		return NULL;
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	return x;
}

static EVP_PKEY *
read_key(const char *path)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *k;

	if (fp == NULL)
		return NULL;
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	return k;
}

/* Certificate, key and orgs.conf section of bench-NNN, OIN 9991 + NNN. */
static int
make_org(const char *dir, unsigned i, X509 *ca, EVP_PKEY *ca_key, FILE *conf,
    FILE *kconf)
{
	char name[32], oin[24], path[4096];
	EVP_PKEY *key = devcert_key();
	X509 *leaf = NULL;
	int rc = -1;

	snprintf(name, sizeof(name), "bench-%03u", i);
	snprintf(oin, sizeof(oin), "0000000999100000%04u", i);
	if (key == NULL || (leaf = devcert_leaf(key, name, oin, 0, ca, ca_key,
	    30)) == NULL)
		goto done;
	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	if (devcert_write_key(path, key) == -1)
		goto done;
	snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
	if (devcert_write_cert(path, leaf) == -1)
		goto done;
	fprintf(conf, "\n[org %s]\noin = %s\nname = Bench organisation %u\n"
	    "roles = register, subscribe\nrank = %u\nmunicipality = 0363\n",
	    name, oin, i, 100 + i);
	fprintf(kconf, "\n[org %s]\noin = %s\nname = Bench organisation %u\n"
	    "roles = register\n", name, oin, i);
	rc = 0;
done:
	X509_free(leaf);
	EVP_PKEY_free(key);
	return rc;
}

static int
cmd_orgs(const char *dir, unsigned orgs)
{
	char path[4096];
	struct diag d;
	EVP_PKEY *ca_key;
	X509 *ca;
	FILE *conf, *kconf = NULL;
	int rc = 0;

	diag_init(&d);
	/* The key holder vixd --dev starts knows them too, unlimited. */
	if (orgs == 0 || orgs > 9999 || devcert_ensure(dir, &d) == -1 ||
	    devkeyd_material(dir, 0, &d) == -1) {
		fprintf(stderr, "vix-bench orgs: %s\n", d.count ? d.text :
		    "between 1 and 9999 organisations");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	ca = read_cert(path);
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	ca_key = read_key(path);
	snprintf(path, sizeof(path), "%s/orgs.conf", dir);
	if (ca == NULL || ca_key == NULL || (conf = fopen(path, "a")) == NULL) {
		fprintf(stderr, "vix-bench orgs: cannot read the CA or open %s\n",
		    path);
		rc = 1;
		goto done;
	}
	snprintf(path, sizeof(path), "%s/keyd-orgs.conf", dir);
	if ((kconf = fopen(path, "a")) == NULL) {
		fprintf(stderr, "vix-bench orgs: cannot open %s\n", path);
		fclose(conf);
		rc = 1;
		goto done;
	}
	for (unsigned i = 1; i <= orgs && rc == 0; i++)
		if (make_org(dir, i, ca, ca_key, conf, kconf) == -1) {
			fprintf(stderr, "vix-bench orgs: cannot make bench-%03u\n",
			    i);
			rc = 1;
		}
	if (fclose(conf) != 0 || fclose(kconf) != 0)
		rc = 1;
done:
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vix-bench orgs DIR M\n"
	    "       vix-bench oprf\n"
	    "       vix-bench drivers\n"
	    "       vix-bench idle --server HOST:PORT --dev-dir DIR --pid PID\n"
	    "           [--conns N] [--orgs M]\n"
	    "       vix-bench run [--driver vixd|store|pg|pg-best]\n"
	    "           [--server HOST:PORT|CONNINFO] [--pg-conns N]\n"
	    "           [--dev-dir DIR] [--pid PID] [--conns N] [--orgs M]\n"
	    "           [--depth D] [--youths K] [--first F] [--match-pct P]\n"
	    "           [--duration S] [--rate R] [--subscribers]\n"
	    "           [--total N] [--progress S] [--data DIR] [--map-gib G]\n"
	    "           [--loops L]\n"
	    "  --total: vixd and store drivers; --data, --map-gib: store;\n"
	    "  --loops: vixd driver, the registering connections on L threads\n"
	    "  with a poll loop each (default 0: one thread per connection);\n"
	    "  --pg-conns: pg drivers, N connections instead of --conns\n");
	exit(2);
}

static unsigned
parse_uint(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > UINT32_MAX)
		usage();
	return (unsigned)v;
}

static void
parse_run(int argc, char **argv, struct bench_opts *o, const char **driver)
{
	static const struct option longopts[] = {
		{ "driver", required_argument, NULL, 'D' },
		{ "server", required_argument, NULL, 's' },
		{ "keyholder", required_argument, NULL, 'K' },
		{ "dev-dir", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'c' },
		{ "orgs", required_argument, NULL, 'o' },
		{ "depth", required_argument, NULL, 'q' },
		{ "youths", required_argument, NULL, 'k' },
		{ "first", required_argument, NULL, 'f' },
		{ "match-pct", required_argument, NULL, 'm' },
		{ "duration", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "subscribers", no_argument, NULL, 'S' },
		{ "loops", required_argument, NULL, 'L' },
		{ "total", required_argument, NULL, 'T' },
		{ "progress", required_argument, NULL, 'P' },
		{ "data", required_argument, NULL, 'a' },
		{ "map-gib", required_argument, NULL, 'g' },
		{ "pg-conns", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D': *driver = optarg; break;
		case 's': o->server = optarg; break;
		case 'K': o->keyholder = optarg; break;
		case 'd': o->dev_dir = optarg; break;
		case 'p': o->target_pid = (long)parse_uint(optarg); break;
		case 'c': o->conns = parse_uint(optarg); break;
		case 'o': o->orgs = parse_uint(optarg); break;
		case 'q': o->depth = parse_uint(optarg); break;
		case 'k': o->youths = parse_uint(optarg); break;
		case 'f': o->first = parse_uint(optarg); break;
		case 'm': o->match_pct = parse_uint(optarg); break;
		case 't': o->duration_s = (double)parse_uint(optarg); break;
		case 'r': o->rate = parse_uint(optarg); break;
		case 'S': o->subscribers = 1; break;
		case 'L': o->loops = parse_uint(optarg); break;
		case 'T': o->total = parse_uint(optarg); break;
		case 'P': o->progress_s = parse_uint(optarg); break;
		case 'a': o->data_dir = optarg; break;
		case 'g': o->map_gib = parse_uint(optarg); break;
		case 'C': o->pg_conns = parse_uint(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || o->conns == 0 || o->orgs == 0 || o->depth == 0 ||
	    o->depth > 1024 || o->youths == 0 || o->match_pct > 100 ||
	    o->duration_s <= 0 || o->map_gib == 0 || o->map_gib > 1024)
		usage();
}

int
main(int argc, char **argv)
{
	struct bench_opts o = { .conns = 16, .orgs = 8, .depth = 16,
	    .youths = 1000000, .match_pct = 10, .duration_s = 10,
	    .map_gib = 4 };
	struct bench_result r;
	const char *driver = "vixd";
	int rc;

	if (argc == 2 && strcmp(argv[1], "drivers") == 0) {
#ifdef BENCH_HAVE_PG
		printf("vixd store pg pg-best\n");
#else
		printf("vixd store\n");
#endif
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "oprf") == 0)
		return bench_oprf(3.0);
	if (argc == 4 && strcmp(argv[1], "orgs") == 0)
		return cmd_orgs(argv[2], parse_uint(argv[3]));
	if (argc >= 2 && strcmp(argv[1], "idle") == 0) {
		parse_run(argc - 1, argv + 1, &o, &driver);
		return bench_idle(&o) == 0 ? 0 : 1;
	}
	if (argc < 2 || strcmp(argv[1], "run") != 0)
		usage();
	parse_run(argc - 1, argv + 1, &o, &driver);
	memset(&r, 0, sizeof(r));
	bench_progress_start(&o);
	if (strcmp(driver, "vixd") == 0)
		rc = driver_run(&o, &r);
	else if (strcmp(driver, "store") == 0)
		rc = store_driver_run(&o, &r);
#ifdef BENCH_HAVE_PG
	else if (strcmp(driver, "pg") == 0 || strcmp(driver, "pg-best") == 0) {
		/* PostgreSQL may need more connections than vixd to do its best. */
		if (o.pg_conns != 0)
			o.conns = o.pg_conns;
		rc = strcmp(driver, "pg") == 0 ? pg_run(&o, &r) :
		    pg_best_run(&o, &r);
	}
#endif
	else {
		fprintf(stderr, "vix-bench: driver %s is not built in\n", driver);
		return 2;
	}
	bench_progress_stop();
	if (rc == -1)
		return 1;
	bench_print_row(driver, &o, &r);
	return 0;
}
