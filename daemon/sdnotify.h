/*
 * systemd's readiness protocol without libsystemd: one datagram with
 * newline-separated VAR=VALUE assignments to the unix socket named by
 * $NOTIFY_SOCKET (a path, or an abstract address when it starts with '@').
 */
#ifndef VIX_SDNOTIFY_H
#define VIX_SDNOTIFY_H

/*
 * Send state (e.g. "READY=1") to the service manager. Returns 0 when sent
 * or when NOTIFY_SOCKET is unset (not run by systemd), -1 after logging a
 * warning when the socket is unusable.
 */
int	sdnotify_send(const char *state);

/* "RELOADING=1" with the MONOTONIC_USEC= that systemd 253 asks for. */
int	sdnotify_reloading(void);

#endif
