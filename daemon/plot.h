/*
 * Plots for the status page, drawn here as inline SVG: no script, no
 * external resource, readable with styles off (each figure carries a
 * table of its latest and highest values for those who cannot see it).
 */
#ifndef VIX_PLOT_H
#define VIX_PLOT_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define PLOT_SERIES_MAX	6	/* lines in one plot, at most */

struct plot_series {
	const char	*name;		/* legend and table */
	const double	*y;		/* one value per time; NAN: none */
};

struct plot {
	const char		 *title;	/* caption and the SVG's title */
	const char		 *unit;		/* of the y axis: "ms", "per s" */
	const int64_t		 *t;		/* unix times, ascending */
	size_t			  n;
	int64_t			  now;		/* the right edge */
	const struct plot_series *series;
	size_t			  nseries;	/* at most PLOT_SERIES_MAX */
};

/* s with &, <, >, " and ' as character references. */
void	plot_escape(struct evbuffer *, const char *s);

/*
 * A value as the page shows it: three significant digits at most, "no
 * data" for NAN.
 */
const char *plot_value(double v, char *buf, size_t len);

/*
 * The top of a y axis from 0 that holds max: 1, 2 or 5 times a power of
 * ten (1 when max is 0 or less).
 */
double	plot_axis_max(double max);

/*
 * One <figure class="vix-plot"> with its caption, the plot as <svg
 * role="img"> with a <title>, and a table of each series' latest and
 * highest value. Without a value to draw, the figure says so.
 */
void	plot_figure(struct evbuffer *, const struct plot *);

#endif
