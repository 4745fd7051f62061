/*
 * Days in the configured time zone, through the C library's tz database
 * reader: localtime_r for the day of an instant, mktime for the start of a
 * day, checked and, where midnight falls in a clock change of some zone,
 * searched for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zone.h"

#define SECONDS_PER_DAY	86400
#define ZONE_NAME_MAX	128
#define TZIF_MAGIC	"TZif"

/* Letters, digits and "/_+-", in parts that are not "." or "..". */
static int
zone_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > ZONE_NAME_MAX || name[0] == '/' ||
	    name[n - 1] == '/' || strstr(name, "//") != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strncmp(name, "../", 3) == 0 || strstr(name, "/../") != NULL ||
	    strstr(name, "/./") != NULL || strncmp(name, "./", 2) == 0)
		return 0;
	if (n >= 3 && strcmp(name + n - 3, "/..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789/_+-.", name[i]) == NULL)
			return 0;
	return 1;
}

int
zone_check(const char *name, char *why, size_t len)
{
	const char *dir = getenv("TZDIR");
	char path[512], magic[4];
	ssize_t got;
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	if (!zone_name_ok(name)) {
		snprintf(why, len, "'%s' is not a time zone name; name one of "
		    "the tz database, such as %s", name, ZONE_DEFAULT);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(why, len, "no time zone '%s' in %s (%s); install the "
		    "tzdata package, or name a zone that is there, such as %s",
		    name, dir, strerror(errno), ZONE_DEFAULT);
		return -1;
	}
	got = read(fd, magic, sizeof(magic));
	close(fd);
	if (got != (ssize_t)sizeof(magic) || memcmp(magic, TZIF_MAGIC,
	    sizeof(magic)) != 0) {
		snprintf(why, len, "%s is not a time zone file (TZif); name a "
		    "zone such as %s", path, ZONE_DEFAULT);
		return -1;
	}
	return 0;
}

void
zone_use(const char *name)
{
	if (setenv("TZ", name, 1) == -1)
		abort();
	tzset();
}

/* Floor division: the UTC day of a Unix time, also before 1970. */
static int32_t
utc_day(int64_t t)
{
	int64_t q = t / SECONDS_PER_DAY;

	return (int32_t)((t % SECONDS_PER_DAY < 0) ? q - 1 : q);
}

int32_t
zone_day(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return utc_day(t);
	return rules_days_from_civil(tm.tm_year + 1900,
	    (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
}

int64_t
zone_day_start(int32_t day)
{
	struct tm tm = { 0 };
	int64_t lo, hi, mid, t;
	unsigned m, d;
	int y;

	rules_civil_from_days(day, &y, &m, &d);
	tm.tm_year = y - 1900;
	tm.tm_mon = (int)m - 1;
	tm.tm_mday = (int)d;
	tm.tm_isdst = -1;
	t = (int64_t)mktime(&tm);
	if (t != -1 && zone_day(t) == day && zone_day(t - 1) < day)
		return t;
	/*
	 * Midnight does not exist or repeats (a clock change at 00:00 in
	 * some zones): the first second whose day is day. UTC offsets stay
	 * within a day, so it lies in (lo, hi].
	 */
	lo = (int64_t)day * SECONDS_PER_DAY - SECONDS_PER_DAY;
	hi = (int64_t)day * SECONDS_PER_DAY + SECONDS_PER_DAY;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (zone_day(mid) >= day)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

const struct rules_calendar zone_calendar = { zone_day, zone_day_start };
