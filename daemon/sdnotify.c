/* sd_notify(3) for vixd: readiness, reloading and stopping. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"

/* The address in NOTIFY_SOCKET, or -1 if it is not one vixd can use. */
static int
sdnotify_addr(const char *name, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n = strlen(name);

	if ((name[0] != '/' && name[0] != '@') || n < 2 ||
	    n >= sizeof(sun->sun_path))
		return -1;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, name, n);
	if (name[0] == '@')
		sun->sun_path[0] = '\0';	/* abstract: no terminating NUL */
	else
		n++;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	return 0;
}

int
sdnotify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	ssize_t sent;
	int fd;

	if (name == NULL || name[0] == '\0')
		return 0;
	if (sdnotify_addr(name, &sun, &len) == -1) {
		log_warnx("sdnotify: NOTIFY_SOCKET '%s' is not a unix socket "
		    "path or abstract address", name);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("sdnotify: socket");
		return -1;
	}
	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	if (sent == -1)
		log_warn("sdnotify: cannot send to %s", name);
	close(fd);
	return sent == -1 ? -1 : 0;
}

int
sdnotify_reloading(void)
{
	struct timespec ts;
	char state[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	return sdnotify_send(state);
}
