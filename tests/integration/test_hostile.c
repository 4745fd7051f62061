/*
 * Hostile clients of the listeners, against the real daemon: the admin
 * listener refuses a request body and oversized headers, closes idle
 * connections after admin_timeout and holds at most admin_max_connections;
 * both listeners pause on EMFILE instead of spinning and logging without
 * end; silent TCP sockets are handshakes, counted apart from the
 * max_connections of organisations and capped per source address, so that
 * they cannot lock organisations out. Refusals are counted in
 * vix_connections_refused_total and logged at a bounded rate.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN	1
#endif
#endif

static struct vixd_proc vixd;

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(hostile, .fini = stop, .timeout = 120);

/* VmRSS of vixd in KiB. */
static long
rss(void)
{
	long kib = harness_rss_kib(vixd.pid);

	cr_assert_gt(kib, 0, "cannot read vixd's VmRSS");
	return kib;
}

/* Start vixd with a vixd.conf of text (over the dev defaults); NULL: none. */
static void
start_with(const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	harness_start(&vixd, NULL);
	if (text == NULL)
		return;
	snprintf(path, sizeof(path), "%s/hostile.conf", vixd.dir);
	cr_assert_not_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	harness_restart_with(&vixd, (const char *[]){ "-c", path, NULL });
}

/* The admin listener's HOST:PORT, from vixd's log. */
static const char *
admin_addr(void)
{
	static char addr[64];
	char log[16384];
	const char *at;

	harness_log(&vixd, log, sizeof(log));
	at = strstr(log, "admin HTTP (metrics, health) on ");
	cr_assert_not_null(at, "no admin address in the log");
	cr_assert_eq(sscanf(at, "admin HTTP (metrics, health) on %63s", addr),
	    1);
	return addr;
}

/* A TCP connection to addr from the loopback address src (NULL: any). */
static int
tcp_from(const char *src, const char *addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET }, from = {
	    .sin_family = AF_INET };
	char host[64];
	unsigned port;
	int fd;

	cr_assert_eq(sscanf(addr, "%63[^:]:%u", host, &port), 2);
	sin.sin_port = htons((uint16_t)port);
	cr_assert_eq(inet_pton(AF_INET, host, &sin.sin_addr), 1);
	cr_assert_geq(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	if (src != NULL) {
		cr_assert_eq(inet_pton(AF_INET, src, &from.sin_addr), 1);
		cr_assert_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)),
		    0, "bind %s: %s", src, strerror(errno));
	}
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0,
	    "connect %s: %s", addr, strerror(errno));
	return fd;
}

/* Milliseconds until the peer closes fd (reads and discards), or -1. */
static long
ms_until_closed(int fd, int limit_ms)
{
	struct timeval tv = { limit_ms / 1000, (limit_ms % 1000) * 1000 };
	long t0 = harness_now_ms();
	char buf[256];
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0 && errno != ECONNRESET)
		return -1;	/* still open when the limit passed */
	return harness_now_ms() - t0;
}

/* Read what fd answers until it closes or limit_ms passes. */
static size_t
read_answer(int fd, char *buf, size_t len, int limit_ms)
{
	struct timeval tv = { limit_ms / 1000, (limit_ms % 1000) * 1000 };
	size_t n = 0;
	ssize_t got;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n < len - 1 && (got = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)got;
	buf[n] = '\0';
	return n;
}

/* vixd's open descriptors. */
static int
vixd_fds(void)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)vixd.pid);
	cr_assert_not_null(d = opendir(path));
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* CPU time vixd has used, in ms (user and system). */
static long
vixd_cpu_ms(void)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)vixd.pid);
	cr_assert_not_null(fp = fopen(path, "r"));
	cr_assert_not_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	cr_assert_not_null(p = strrchr(buf, ')'));
	cr_assert_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
	    "%*u %lu %lu", &ut, &st), 2);
	return (long)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}

/* Size of vixd's log now, to count lines written after it. */
static long
log_size(void)
{
	struct stat sb;

	cr_assert_eq(stat(vixd.log, &sb), 0);
	return (long)sb.st_size;
}

/* Lines of vixd's log after offset that contain needle. */
static int
log_lines_since(long offset, const char *needle)
{
	char line[4096];
	FILE *fp;
	int n = 0;

	cr_assert_not_null(fp = fopen(vixd.log, "r"));
	fseek(fp, offset, SEEK_SET);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(fp);
	return n;
}

static void
ping_as(const char *org)
{
	struct run_result r;

	harness_vix(&r, &vixd, org, (const char *[]){ "ping", NULL });
	cr_assert_eq(r.status, 0, "%s could not ping: %s", org, r.err);
}

/* ---- the admin listener ---- */

Test(hostile, admin_refuses_a_request_body_and_stays_small)
{
	static char chunk[1 << 20];
	const char *head = "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 1073741824\r\n\r\n";
	struct timeval tv = { 2, 0 };
	char answer[1024];
	size_t sent = 0;
	long rss0, rss1;
	ssize_t n;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	start_with(NULL);
	rss0 = rss();

	/* Announced, not sent: the refusal comes before any of the body. */
	fd = tcp_from(NULL, admin_addr());
	cr_assert_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	read_answer(fd, answer, sizeof(answer), 2000);
	close(fd);
	cr_assert_eq(strncmp(answer, "HTTP/1.1 413", 12), 0, "a 1 GiB body "
	    "was not refused at once: '%.40s'", answer);

	/* Sent anyway: vixd stops reading long before 64 MiB. */
	fd = tcp_from(NULL, admin_addr());
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(chunk, 'x', sizeof(chunk));
	cr_assert_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	while (sent < 64 * sizeof(chunk) &&
	    (n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL)) > 0)
		sent += (size_t)n;
	close(fd);
	rss1 = rss();
	cr_assert_lt(sent, 64 * sizeof(chunk), "vixd took a 64 MiB body");
#ifndef UNDER_ASAN
	cr_assert_lt(rss1 - rss0, 16 * 1024, "vixd grew from %ld to %ld KiB "
	    "on a request body", rss0, rss1);
#endif
	(void)rss0;
	(void)rss1;
	cr_assert_eq(harness_http_get(&vixd, "/healthz", answer,
	    sizeof(answer)), 200);
}

Test(hostile, admin_refuses_oversized_headers_quickly)
{
	static char chunk[65536];
	const char *head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: ";
	struct timeval tv = { 2, 0 };
	char answer[1024];
	size_t sent = 0;
	long t0, ms;
	ssize_t n;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	start_with(NULL);
	fd = tcp_from(NULL, admin_addr());
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(chunk, 'a', sizeof(chunk));
	t0 = harness_now_ms();
	cr_assert_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	/* One header line of up to 16 MiB, never ended. */
	while (sent < 256 * sizeof(chunk) &&
	    (n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL)) > 0)
		sent += (size_t)n;
	ms = ms_until_closed(fd, 3000);
	close(fd);
	cr_assert_lt(sent, 256 * sizeof(chunk), "vixd read a 16 MiB header "
	    "line");
	cr_assert_geq(ms, 0, "a connection with an oversized header was not "
	    "closed");
	cr_assert_lt(harness_now_ms() - t0, 3000, "refused slowly: %ld ms",
	    harness_now_ms() - t0);
	cr_assert_eq(harness_http_get(&vixd, "/healthz", answer,
	    sizeof(answer)), 200);
}

Test(hostile, an_idle_admin_connection_is_closed_after_admin_timeout)
{
	long ms;
	int fd;

	start_with("[server]\nadmin_timeout = 1\n");
	fd = tcp_from(NULL, admin_addr());
	ms = ms_until_closed(fd, 5000);
	close(fd);
	cr_assert_geq(ms, 0, "an idle admin connection was still open after "
	    "5 s");
	cr_assert_geq(ms, 700, "closed too early: %ld ms", ms);
	cr_assert_lt(ms, 3000, "closed late: %ld ms", ms);
}

Test(hostile, admin_connections_beyond_the_cap_are_refused)
{
	enum { CAP = 4, EXTRA = 40 };
	int held[CAP], fds0, fds1;
	char answer[4096];
	long ms, t0;
	int fd;

	start_with("[server]\nadmin_max_connections = 4\n"
	    "admin_timeout = 60\n");
	fds0 = vixd_fds();
	for (int i = 0; i < CAP; i++)
		held[i] = tcp_from(NULL, admin_addr());
	harness_sleep_ms(200);
	t0 = harness_now_ms();
	for (int i = 0; i < EXTRA; i++) {
		fd = tcp_from(NULL, admin_addr());
		ms = ms_until_closed(fd, 3000);
		close(fd);
		cr_assert_geq(ms, 0, "admin connection %d over the cap of %d "
		    "was not refused", i + 1, CAP);
	}
	cr_assert_lt(harness_now_ms() - t0, 5000, "refusals were slow");
	fds1 = vixd_fds();
	cr_assert_leq(fds1 - fds0, CAP + 2, "vixd holds %d more descriptors",
	    fds1 - fds0);
	ping_as("org-a");	/* clients are served all along */
	for (int i = 0; i < CAP; i++)
		close(held[i]);
	harness_sleep_ms(300);
	cr_assert_eq(harness_http_get(&vixd, "/metrics", answer,
	    sizeof(answer)), 200);
	cr_assert_geq(harness_metric(&vixd, "vix_connections_refused_total"
	    "{reason=\"admin_max_connections\"}"), EXTRA);
	cr_assert_eq(harness_metric(&vixd, "vix_admin_connections_open"), 1,
	    "the scrape's own connection only");
}

/* ---- out of descriptors ---- */

/* Hold n connections to addr from src; returns how many connected. */
static int
hold(int *fds, int n, const char *src, const char *addr)
{
	for (int i = 0; i < n; i++)
		fds[i] = tcp_from(src, addr);
	return n;
}

Test(hostile, out_of_descriptors_pauses_every_listener_quietly)
{
	enum { HELD = 60 };
	struct rlimit rl, low;
	int held[HELD], admin[8], fds;
	long off, cpu0, cpu1, t0, wall;
	char answer[1024];
	int lines;

	signal(SIGPIPE, SIG_IGN);
	start_with(NULL);
	off = log_size();
	fds = vixd_fds();
	cr_assert_eq(prlimit(vixd.pid, RLIMIT_NOFILE, NULL, &rl), 0);
	low = (struct rlimit){ (rlim_t)fds + 10, rl.rlim_max };
	cr_assert_eq(prlimit(vixd.pid, RLIMIT_NOFILE, &low, NULL), 0);

	/* The kernel completes these; vixd can accept only the first 10. */
	cpu0 = vixd_cpu_ms();
	t0 = harness_now_ms();
	hold(held, HELD, "127.0.0.2", vixd.addr);
	hold(admin, 8, NULL, admin_addr());
	harness_sleep_ms(3000);
	cpu1 = vixd_cpu_ms();
	wall = harness_now_ms() - t0;
	lines = log_lines_since(off, "Too many open files");
	for (int i = 0; i < HELD; i++)
		close(held[i]);
	for (int i = 0; i < 8; i++)
		close(admin[i]);
	cr_assert_eq(prlimit(vixd.pid, RLIMIT_NOFILE, &rl, NULL), 0);
	cr_assert_leq(lines, 4, "%d lines about accept errors in %ld ms",
	    lines, wall);
	cr_assert_geq(lines, 1, "the accept errors were not logged at all");
	cr_assert_lt(cpu1 - cpu0, wall / 2, "vixd used %ld ms of CPU in %ld ms "
	    "out of descriptors", cpu1 - cpu0, wall);
	harness_sleep_ms(1500);		/* the pause is over: both listeners accept */
	ping_as("org-a");
	cr_assert_eq(harness_http_get(&vixd, "/healthz", answer,
	    sizeof(answer)), 200);
	cr_assert_gt(harness_metric(&vixd, "vix_accept_errors_total"
	    "{listener=\"listen\"}"), 0);
	cr_assert_gt(harness_metric(&vixd, "vix_accept_errors_total"
	    "{listener=\"admin_listen\"}"), 0);
}

/* ---- handshakes ---- */

Test(hostile, silent_sockets_do_not_lock_out_organisations)
{
	enum { SILENT = 40 };
	int silent[SILENT];

	start_with("[server]\nmax_connections = 30\n");
	hold(silent, SILENT, "127.0.0.2", vixd.addr);
	harness_sleep_ms(300);
	ping_as("org-a");
	ping_as("org-b");
	cr_assert_eq(harness_metric(&vixd, "vix_handshakes_pending"), SILENT);
	for (int i = 0; i < SILENT; i++)
		close(silent[i]);
}

Test(hostile, handshakes_are_capped_per_source_address)
{
	enum { CAP = 8, SILENT = 40 };
	int silent[SILENT], other;
	long off, ms;
	int lines;

	start_with("[server]\nmax_connections = 30\n"
	    "max_handshakes_per_address = 8\n");
	off = log_size();
	hold(silent, SILENT, "127.0.0.2", vixd.addr);
	for (int i = CAP; i < SILENT; i++) {
		ms = ms_until_closed(silent[i], 3000);
		cr_assert_geq(ms, 0, "handshake %d from one address was not "
		    "refused", i + 1);
	}
	/* The first CAP stay in their handshake; another address is let in. */
	other = tcp_from("127.0.0.3", vixd.addr);
	cr_assert_lt(ms_until_closed(other, 500), 0, "a socket from another "
	    "address was refused");
	ping_as("org-a");
	cr_assert_eq(harness_metric(&vixd, "vix_connections_refused_total"
	    "{reason=\"max_handshakes_per_address\"}"), SILENT - CAP);
	cr_assert_eq(harness_metric(&vixd, "vix_handshakes_pending"), CAP + 1);
	lines = log_lines_since(off, "connection refused");
	cr_assert_geq(lines, 1, "the refusals were not logged");
	cr_assert_leq(lines, 2, "%d log lines for %d refusals", lines,
	    SILENT - CAP);
	for (int i = 0; i < SILENT; i++)
		close(silent[i]);
	close(other);
}

Test(hostile, max_handshakes_bounds_handshakes_from_every_address)
{
	const char *srcs[] = { "127.0.0.2", "127.0.0.3", "127.0.0.4" };
	int silent[3][4];
	long ms;

	start_with("[server]\nmax_handshakes = 6\n"
	    "max_handshakes_per_address = 4\n");
	for (int a = 0; a < 3; a++)
		hold(silent[a], 4, srcs[a], vixd.addr);
	/* 4 from the first, 2 from the second; the rest refused. */
	for (int i = 2; i < 4; i++) {
		ms = ms_until_closed(silent[1][i], 3000);
		cr_assert_geq(ms, 0, "handshake over max_handshakes let in");
	}
	cr_assert_eq(harness_metric(&vixd, "vix_connections_refused_total"
	    "{reason=\"max_handshakes\"}"), 6);
	for (int a = 0; a < 3; a++)
		for (int i = 0; i < 4; i++)
			close(silent[a][i]);
	harness_sleep_ms(300);
	ping_as("org-a");
}
