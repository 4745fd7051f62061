/* Line-at-a-time logging to stderr with syslog priority prefixes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "vixd";
static int log_verbose;
static int log_prefix = 1;	/* syslog "<N>" prefixes rather than timestamps */

void
log_init(const char *progname, int debug)
{
	log_progname = progname;
	log_verbose = debug;
	log_prefix = !isatty(STDERR_FILENO) || getenv("JOURNAL_STREAM") != NULL;
}

int
log_debug_enabled(void)
{
	return log_verbose;
}

static const char *
log_level_name(int pri)
{
	switch (pri) {
	case LOG_CRIT:
		return "fatal";
	case LOG_WARNING:
		return "warning";
	case LOG_DEBUG:
		return "debug";
	default:
		return "info";
	}
}

/* Format the whole line first and write it once, so threads never interleave. */
static void __attribute__((format(printf, 3, 0)))
log_vwrite(int pri, int with_errno, const char *fmt, va_list ap)
{
	char line[2048];
	int saved = errno, n, m;

	if (log_prefix) {
		n = snprintf(line, sizeof(line), "<%d>", pri);
	} else {
		char stamp[32];
		struct tm tm;
		time_t now = time(NULL);

		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S",
		    localtime_r(&now, &tm));
		n = snprintf(line, sizeof(line), "%s %s %s: ", stamp,
		    log_progname, log_level_name(pri));
	}
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m > 0)
		n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (with_errno) {
		m = snprintf(line + n, sizeof(line) - (size_t)n, ": %s",
		    strerror(saved));
		if (m > 0)
			n += m;
		if ((size_t)n > sizeof(line) - 2)
			n = (int)sizeof(line) - 2;
	}
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
	errno = saved;
}

#define LOG_BODY(pri, with_errno) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	log_vwrite(pri, with_errno, fmt, ap);	\
	va_end(ap);				\
} while (0)

void log_warn(const char *fmt, ...)  { LOG_BODY(LOG_WARNING, 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_WARNING, 0); }
void log_info(const char *fmt, ...)  { LOG_BODY(LOG_INFO, 0); }

void
log_debug(const char *fmt, ...)
{
	if (log_verbose)
		LOG_BODY(LOG_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	exit(1);
}

int
log_limit_pass(struct log_limit *l, unsigned interval_ms, uint64_t *quiet)
{
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (l->next_ms != 0 && now < l->next_ms) {
		l->quiet++;
		return 0;
	}
	*quiet = l->quiet;
	l->quiet = 0;
	l->next_ms = now + interval_ms;
	return 1;
}
