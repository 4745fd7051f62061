/*
 * The time zone whose days are the days of the law (timezone in vixd.conf,
 * Europe/Amsterdam by default): a youth is 23 from the start of the 23rd
 * birthday there. It is the process's zone (TZ), set once before any
 * thread starts and never again, so that localtime_r and mktime may be
 * called from every thread.
 */
#ifndef VIX_ZONE_H
#define VIX_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"

#define ZONE_DEFAULT	"Europe/Amsterdam"

/*
 * Whether name is a zone of the system's tz database ($TZDIR, else
 * /usr/share/zoneinfo). Returns 0, or -1 with why saying what is wrong and
 * the fix (glibc would silently use UTC for an unknown zone).
 */
int	zone_check(const char *name, char *why, size_t len);

/* Make name the process's zone. Only while no other thread runs. */
void	zone_use(const char *name);

/* The day (days since 1970-01-01) in the zone at Unix time t. */
int32_t	zone_day(int64_t t);

/* The Unix time at which day begins in the zone (its first second). */
int64_t	zone_day_start(int32_t day);

/* The two as the calendar of the rules (rules_expiry). */
extern const struct rules_calendar zone_calendar;

#endif
