/*
 * Limits and faults against the real daemon: max_connections refuses the
 * surplus quickly and keeps serving; a client silent in the handshake is
 * cut after handshake_timeout; a damaged data file is refused at start,
 * with a clear message, and left exactly as it was.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

static struct vixd_proc vixd;

static void
stop(void)
{
	harness_stop(&vixd);
}

TestSuite(limits, .fini = stop, .timeout = 120);

static const char *
write_conf(const char *name, const char *text)
{
	static char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", vixd.dir, name);
	cr_assert_not_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	return path;
}

static int
tcp_to(const char *addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char host[64];
	unsigned port;
	int fd;

	cr_assert_eq(sscanf(addr, "%63[^:]:%u", host, &port), 2);
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Milliseconds until the peer closes fd (reads and discards), or -1. */
static long
ms_until_closed(int fd, int limit_ms)
{
	struct timeval tv = { limit_ms / 1000, (limit_ms % 1000) * 1000 };
	struct timespec a, b;
	char buf[256];
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	clock_gettime(CLOCK_MONOTONIC, &a);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (n < 0)
		return -1;	/* still open when the limit passed */
	return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

Test(limits, max_connections_refuses_the_surplus_and_keeps_serving)
{
	struct run_result r;
	int held[2];
	long ms;

	harness_start(&vixd, NULL);
	harness_restart_with(&vixd, (const char *[]){ "-c", write_conf(
	    "max.conf", "[server]\nmax_connections = 2\n"), NULL });
	held[0] = tcp_to(vixd.addr);
	held[1] = tcp_to(vixd.addr);
	usleep(200000);
	ms = ms_until_closed(tcp_to(vixd.addr), 3000);
	cr_assert_geq(ms, 0, "the third connection was not refused");
	cr_assert_lt(ms, 1000, "refused quickly, took %ld ms", ms);
	close(held[0]);
	close(held[1]);
	usleep(300000);
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "ping", NULL });
	cr_assert_eq(r.status, 0, "served again once below the limit: %s",
	    r.err);
}

Test(limits, a_silent_handshake_is_cut_after_handshake_timeout)
{
	char log[16384];
	long ms;
	int fd;

	harness_start(&vixd, NULL);
	harness_restart_with(&vixd, (const char *[]){ "-c", write_conf(
	    "hs.conf", "[server]\nhandshake_timeout = 1\n"), NULL });
	fd = tcp_to(vixd.addr);
	write(fd, "\x16\x03\x01", 3);	/* the start of a record, then nothing */
	ms = ms_until_closed(fd, 5000);
	close(fd);
	cr_assert_geq(ms, 800, "cut too early: %ld ms", ms);
	cr_assert_lt(ms, 3000, "not cut within the timeout: %ld ms", ms);
	harness_log(&vixd, log, sizeof(log));
	cr_assert_not_null(strstr(log, "TLS handshake timed out"), "%s", log);
}

static unsigned long
checksum(const char *path, off_t *size)
{
	unsigned long h = 5381;
	struct stat st;
	FILE *fp;
	int c;

	cr_assert_eq(stat(path, &st), 0);
	*size = st.st_size;
	cr_assert_not_null(fp = fopen(path, "rb"));
	while ((c = fgetc(fp)) != EOF)
		h = h * 33 + (unsigned long)c;
	fclose(fp);
	return h;
}

Test(limits, a_damaged_data_file_is_refused_and_left_untouched)
{
	char data[PATH_MAX];
	const char *argv[12];
	struct run_result r;
	unsigned long before, after;
	off_t size, size_after;

	harness_start(&vixd, NULL);
	harness_vix(&r, &vixd, "org-a", (const char *[]){ "register", "--bsn",
	    "999990019", "--birth-date", "2015-03-01", "--contact-name", "A",
	    "--contact-phone", "0501234567", NULL });
	cr_assert_eq(r.status, 0);
	cr_assert_eq(harness_stop_keep(&vixd), 0);

	/* Truncate the data file to one page: its meta pages are gone. */
	snprintf(data, sizeof(data), "%s/data/data.mdb", vixd.dev_dir);
	cr_assert_eq(truncate(data, 100), 0);
	before = checksum(data, &size);
	argv[0] = getenv("VIXD");
	argv[1] = "--dev";
	argv[2] = "--data";
	argv[3] = vixd.dev_dir;
	argv[4] = "--listen";
	argv[5] = "127.0.0.1:0";
	argv[6] = "--admin-listen";
	argv[7] = "127.0.0.1:0";
	argv[8] = NULL;
	harness_run(&r, argv);
	cr_assert_eq(r.status, 1, "vixd started on a damaged store");
	cr_assert_not_null(strstr(r.err, "store"), "names the store: %s", r.err);
	after = checksum(data, &size_after);
	cr_assert_eq(size_after, size, "the data file was resized");
	cr_assert_eq(after, before, "the data file was written to");
}
