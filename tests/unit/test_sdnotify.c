/* sd_notify without libsystemd: datagrams to $NOTIFY_SOCKET. */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "sdnotify.h"
#include "support.h"

static char *dir;

static void
setup(void)
{
	dir = support_tmpdir("sdnotify");
	unsetenv("NOTIFY_SOCKET");
}

static void
teardown(void)
{
	support_tmpdir_remove(dir);
	dir = NULL;
}

TestSuite(sdnotify, .init = setup, .fini = teardown, .timeout = 20);

/* A datagram socket bound to name (a path, or "@abstract"). */
static int
bind_dgram(const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { 2, 0 };
	size_t n = strlen(name);
	socklen_t len;
	int fd;

	cr_assert_lt(n, sizeof(sun.sun_path));
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		n++;
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, len), 0, "bind %s",
	    name);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The next datagram on fd, NUL-terminated; asserts one arrives. */
static void
recv_state(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, 0);

	cr_assert_gt(n, 0, "no datagram arrived");
	buf[n] = '\0';
}

Test(sdnotify, unset_is_a_no_op)
{
	cr_assert_eq(sdnotify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	cr_assert_eq(sdnotify_send("READY=1"), 0);
}

Test(sdnotify, path_socket_receives_each_state)
{
	char *path = support_path(dir, "notify.sock"), buf[256];
	int fd = bind_dgram(path);

	setenv("NOTIFY_SOCKET", path, 1);
	cr_assert_eq(sdnotify_send("READY=1"), 0);
	recv_state(fd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "READY=1");
	cr_assert_eq(sdnotify_send("STOPPING=1"), 0);
	recv_state(fd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "STOPPING=1");
	close(fd);
	free(path);
}

Test(sdnotify, abstract_socket)
{
	char name[64], buf[256];
	int fd;

	snprintf(name, sizeof(name), "@vix-test-sdnotify-%ld", (long)getpid());
	fd = bind_dgram(name);
	setenv("NOTIFY_SOCKET", name, 1);
	cr_assert_eq(sdnotify_send("READY=1"), 0);
	recv_state(fd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "READY=1");
	close(fd);
}

Test(sdnotify, reloading_carries_monotonic_time)
{
	char *path = support_path(dir, "notify.sock"), buf[256];
	unsigned long long usec = 0;
	struct timespec ts;
	int fd = bind_dgram(path);

	setenv("NOTIFY_SOCKET", path, 1);
	cr_assert_eq(sdnotify_reloading(), 0);
	recv_state(fd, buf, sizeof(buf));
	cr_assert_eq(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27), 0,
	    "sent: %s", buf);
	cr_assert_eq(sscanf(buf + 27, "%llu", &usec), 1);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	cr_assert_leq(usec, (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	cr_assert_gt(usec, 0);
	close(fd);
	free(path);
}

Test(sdnotify, unusable_addresses_fail)
{
	char *path = support_path(dir, "nobody-listens.sock");
	char longname[200];

	setenv("NOTIFY_SOCKET", "relative/notify.sock", 1);
	cr_assert_eq(sdnotify_send("READY=1"), -1);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	cr_assert_eq(sdnotify_send("READY=1"), -1);
	setenv("NOTIFY_SOCKET", path, 1);
	cr_assert_eq(sdnotify_send("READY=1"), -1);
	free(path);
}
