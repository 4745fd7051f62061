/*
 * vix-bench idle: what an idle mutual-TLS connection costs the daemon.
 * Reads the daemon's RSS, opens N connections with libvix (full handshake,
 * certificates of the bench organisations round-robin, each checked with
 * one ping so that the daemon has authenticated it), reads the RSS again
 * while all of them are open and idle, and prints the difference per
 * connection. Then closes them and reads the RSS a third time.
 */
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <vix/client.h>

#include "bench.h"

/* Room for n connections plus stdio and the like. */
static int
raise_nofile(unsigned n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur >= n + 64)
		return 0;
	rl.rlim_cur = rl.rlim_max;
	if (rl.rlim_cur < n + 64 || setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		fprintf(stderr, "vix-bench idle: %u connections need %u open "
		    "files; the limit is %llu (raise it with ulimit -n)\n", n,
		    n + 64, (unsigned long long)rl.rlim_max);
		return -1;
	}
	return 0;
}

static int
open_one(const struct bench_opts *o, unsigned i, vix_client **c)
{
	char cert[4096], key[4096], ca[4096];
	struct vix_options vo = { .server = o->server, .cert_file = cert,
	    .key_file = key, .ca_file = ca, .timeout_ms = 30000 };
	struct vix_ping_result pr;
	struct vix_error err;
	unsigned org = i % o->orgs + 1;

	snprintf(cert, sizeof(cert), "%s/bench-%03u.pem", o->dev_dir, org);
	snprintf(key, sizeof(key), "%s/bench-%03u.key", o->dev_dir, org);
	snprintf(ca, sizeof(ca), "%s/ca.pem", o->dev_dir);
	*c = NULL;
	if (vix_connect(&vo, c, &err) != VIX_OK ||
	    vix_ping(*c, &pr, &err) != VIX_OK) {
		fprintf(stderr, "vix-bench idle: connection %u as bench-%03u: "
		    "%s\n", i, org, err.message);
		vix_close(*c);
		*c = NULL;
		return -1;
	}
	return 0;
}

static long
rss_kb(long pid)
{
	double cpu;
	long kb = 0;

	return bench_proc_stat(pid, &cpu, &kb) == 0 ? kb : -1;
}

static void
settle(void)
{
	struct timespec ts = { 2, 0 };

	nanosleep(&ts, NULL);
}

int
bench_idle(const struct bench_opts *o)
{
	vix_client **c;
	long before, open_kb, after;
	unsigned n = 0;
	double t0, t1;
	int rc = -1;

	if (o->server == NULL || o->dev_dir == NULL || o->target_pid <= 0) {
		fprintf(stderr, "vix-bench idle: needs --server, --dev-dir and "
		    "--pid\n");
		return -1;
	}
	if (raise_nofile(o->conns) == -1 ||
	    (c = calloc(o->conns, sizeof(*c))) == NULL)
		return -1;
	before = rss_kb(o->target_pid);
	t0 = bench_now();
	for (n = 0; n < o->conns; n++)
		if (open_one(o, n, &c[n]) == -1)
			goto done;
	t1 = bench_now();
	settle();
	open_kb = rss_kb(o->target_pid);
	for (unsigned i = 0; i < n; i++)
		vix_close(c[i]);
	n = 0;
	settle();
	after = rss_kb(o->target_pid);
	printf("idle   conns=%u open_s=%.1f handshakes_per_s=%.0f "
	    "rss_kb_before=%ld rss_kb_open=%ld rss_kb_after=%ld "
	    "kib_per_conn=%.1f\n", o->conns, t1 - t0,
	    (double)o->conns / (t1 - t0), before, open_kb, after,
	    (double)(open_kb - before) / o->conns);
	rc = 0;
done:
	for (unsigned i = 0; i < n; i++)
		vix_close(c[i]);
	free(c);
	return rc;
}
