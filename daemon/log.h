/*
 * Logging to stderr, one line per event. Under systemd (or whenever stderr
 * is not a terminal) each line starts with a syslog priority prefix such as
 * "<4>" so that journald keeps the level. Never pass a BSN or a pseudonym.
 */
#ifndef VIX_LOG_H
#define VIX_LOG_H

#include <stdarg.h>
#include <stdint.h>

void	log_init(const char *progname, int debug);
int	log_debug_enabled(void);

/* log_warn appends ": " and strerror(errno); the x variants do not. */
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * At most one line per interval for an event that can repeat without end
 * (an accept error, a refused connection). One thread only.
 */
struct log_limit {
	int64_t		next_ms;	/* monotonic; 0: log the next one */
	uint64_t	quiet;		/* events not logged since the last line */
};

/*
 * Whether to log this event now; if so, *quiet says how many were kept
 * quiet since the last line (and the count starts again).
 */
int	log_limit_pass(struct log_limit *, unsigned interval_ms,
	    uint64_t *quiet);

#endif
