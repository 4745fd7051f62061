/*
 * Integration test harness: a real vixd --dev in a temporary folder on a
 * port the kernel picks, the real vix CLI, and raw TLS clients.
 */
#ifndef VIX_HARNESS_H
#define VIX_HARNESS_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "vix.pb-c.h"

struct vixd_proc {
	pid_t	pid;
	char	dir[512];		/* temporary folder, removed on stop */
	char	dev_dir[1024];		/* dir/vix-dev */
	char	log[PATH_MAX];		/* vixd's stderr */
	char	addr[64];		/* 127.0.0.1:PORT */
};

struct run_result {
	int	status;			/* exit status, or 128 + signal */
	char	out[262144];
	char	err[16384];
};

/* Start vixd --dev with extra arguments (NULL-terminated); asserts it comes up. */
void	harness_start(struct vixd_proc *p, const char *const *extra);
/*
 * Another vixd --dev on the dev material of first (its CA, organisations
 * and pseudonym key) with a folder, log and control socket of its own:
 * front-ends sharing a PostgreSQL store. harness_stop(p) leaves first's
 * material alone.
 */
void	harness_start_peer(struct vixd_proc *p, const struct vixd_proc *first,
	    const char *const *extra);
/* The same as the user uid (not root), with no extra arguments. */
void	harness_start_as(struct vixd_proc *p, unsigned uid);

/*
 * SIGTERM, wait, and start again on the same folder (new port); if vixd is
 * not running (killed and reaped), just start it.
 */
void	harness_restart(struct vixd_proc *p);
/* The same with extra vixd arguments (NULL-terminated). */
void	harness_restart_with(struct vixd_proc *p, const char *const *extra);

/*
 * Send sig (0: none) and wait for exit (at most 15 s, then SIGKILL);
 * returns the exit status.
 */
int	harness_signal_wait(struct vixd_proc *p, int sig);

/* SIGTERM and wait (at most 15 s); returns the exit status. Removes the folder. */
int	harness_stop(struct vixd_proc *p);

/* SIGTERM and wait, keeping the folder; returns the exit status. */
int	harness_stop_keep(struct vixd_proc *p);

/* Kill with SIGKILL and reap (for tests that failed mid-way); the folder stays. */
void	harness_kill(struct vixd_proc *p);

/* The whole of vixd's log so far, into buf. */
const char *harness_log(struct vixd_proc *p, char *buf, size_t len);

/* Run a program (argv[0] is a path) to completion, capturing its output. */
void	harness_run(struct run_result *r, const char *const *argv);

/* The same with input (NULL: /dev/null) on its standard input. */
void	harness_run_stdin(struct run_result *r, const char *const *argv,
	    const char *input);

/* Run the vix CLI as organisation name of p's dev material, then args. */
void	harness_vix(struct run_result *r, struct vixd_proc *p, const char *name,
	    const char *const *args);
/* The same with input (NULL: /dev/null) on its standard input. */
void	harness_vix_stdin(struct run_result *r, struct vixd_proc *p,
	    const char *name, const char *const *args, const char *input);

/*
 * Write text to the file name in p's folder (a vixd.conf for "-c", say);
 * returns its path, valid until the next call.
 */
const char *harness_write_file(struct vixd_proc *p, const char *name,
	    const char *text);

/* Path of a file in p's dev material. */
const char *harness_dev_file(struct vixd_proc *p, const char *file, char *buf,
	    size_t len);

/*
 * Write a client certificate and key signed by the dev CA of p with the
 * given OIN (NULL: none), as dir/<name>.pem and .key.
 */
void	harness_make_client_cert(struct vixd_proc *p, const char *name,
	    const char *oin);
/* The same, valid for only secs seconds from now (0: 30 days). */
void	harness_make_short_cert(struct vixd_proc *p, const char *name,
	    const char *oin, long secs);

/*
 * A TLS client connection to p (cert and key may be NULL). Returns the SSL
 * with its socket, or NULL with the reason in why when the handshake fails.
 */
SSL	*harness_tls_connect(struct vixd_proc *p, const char *cert,
	    const char *key, char *why, size_t whylen);
void	harness_tls_close(SSL *ssl);
/* A TLS connection to p as organisation name of its dev material (asserted). */
SSL	*harness_connect_as(struct vixd_proc *p, const char *name);

/* Send bytes as they are. */
void	harness_send_raw(SSL *ssl, const void *buf, size_t len);
/* Send one framed request. */
void	harness_send_request(SSL *ssl, Vix__V1__Request *req);
/*
 * Read one framed ServerMessage (free with
 * vix__v1__server_message__free_unpacked(m, NULL)), or NULL when the
 * connection ends first; then *end says how: 0 close_notify, -1 error.
 */
Vix__V1__ServerMessage *harness_recv(SSL *ssl, int *end);
/*
 * The next Response on ssl, notifications dropped; fails the test naming
 * what (may be NULL) if the connection ends first. Free with
 * vix__v1__server_message__free_unpacked(m, NULL).
 */
Vix__V1__ServerMessage *harness_next_response(SSL *ssl, const char *what);
/* VmRSS of pid in KiB, or -1 if it cannot be read. */
long	harness_rss_kib(pid_t pid);

/*
 * Replace every run of 9 or more digits in s by '#', so that a failing
 * assertion can show output without ever printing a BSN. Returns s.
 */
char	*harness_redact(char *s);

/*
 * Whether any file under dir (recursively, binary files included)
 * contains needle. On a hit, the file's path goes to where.
 */
int	harness_dir_contains(const char *dir, const char *needle, char *where,
	    size_t wherelen);

/* Start argv in the background with stdout to out_path; dies with the test. */
pid_t	harness_spawn_bg(const char *const *argv, const char *out_path);
/* SIGTERM a process harness_spawn_bg started and reap it: its exit status. */
int	harness_stop_bg(pid_t pid);

/* Run vixctl (VIXCTL) on p's control socket with args (NULL-terminated). */
void	harness_vixctl(struct run_result *r, struct vixd_proc *p,
	    const char *const *args);

/*
 * The file's text into buf (at most len - 1 bytes, NUL-ended); "" when
 * it is not there (yet).
 */
void	harness_read_text(const char *path, char *buf, size_t len);

/* Whether the file comes to contain needle within timeout_ms. */
int	harness_wait_for_text(const char *path, const char *needle,
	    int timeout_ms);

/* GET path from vixd's admin listener; returns the HTTP status. */
int	harness_http_get(struct vixd_proc *p, const char *path, char *buf,
	    size_t len);

/*
 * Restart p (or start it, if stopped) with its clock `offset` ahead
 * (libfaketime, e.g. "+2d") and extra vixd arguments (NULL-terminated);
 * fails the test if libfaketime is not installed.
 */
void	harness_restart_faketime(struct vixd_proc *p, const char *offset,
	    const char *const *extra);

/* One series of p's /metrics ("name" or "name{labels}"); -1 if absent. */
long long harness_metric(struct vixd_proc *p, const char *series);

/* Count occurrences of needle in haystack. */
int	harness_count(const char *haystack, const char *needle);

/*
 * SIGHUP, and wait (at most 10 s) until vixd has put the new configuration
 * in place; fails the test if the reload failed.
 */
void	harness_reload(struct vixd_proc *p);

/* Replace the first `from` in file (asserted present) by `to`. */
void	harness_edit_file(const char *path, const char *from, const char *to);

/*
 * A CRL from p's dev CA revoking the certificate of dev material name
 * (NULL: none), written to path.
 */
void	harness_write_crl(struct vixd_proc *p, const char *path,
	    const char *revoked);
/* The same with its nextUpdate next_days from now (negative: expired). */
void	harness_write_crl_until(struct vixd_proc *p, const char *path,
	    const char *revoked, int next_days);

/* A socket listening on 127.0.0.1 on a port the kernel picks. */
int	harness_listen_loopback(uint16_t *port);

/*
 * The TLS context of a partner system's listener (push mode): a server
 * certificate for 127.0.0.1 from p's dev CA, client certificates required.
 */
SSL_CTX	*harness_partner_ctx(struct vixd_proc *p);

/*
 * Wait (at most timeout_ms) for vixd to dial the listener lfd; the TLS
 * session, or NULL if it did not dial.
 */
SSL	*harness_accept_vixd(int lfd, SSL_CTX *ctx, int timeout_ms);

/*
 * Up to max synthetic BSNs from tests/data/bsn-valid.txt into bsns; returns
 * how many. Never prints one.
 */
size_t	harness_load_bsns(char bsns[][16], size_t max);
/*
 * The Dutch calendar, worked out apart from vixd's own code so that tests
 * can check it: the day in the Netherlands of Unix time t (CEST from 01:00
 * UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
 * October, CET otherwise), the Unix time that day starts, and a date as
 * YYYY-MM-DD.
 */
int32_t	harness_nl_day(int64_t t);
int64_t	harness_nl_midnight(int32_t day);
const char *harness_date(int32_t day, char *buf, size_t len);
/* The day `years` before day, same month and day (28 Feb for 29 Feb). */
int32_t	harness_years_before(int32_t day, int years);
/* A monotonic clock in milliseconds, and a sleep of ms. */
long	harness_now_ms(void);
void	harness_sleep_ms(long ms);

#endif
