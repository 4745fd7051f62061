/*
 * vix-bench: shared definitions of the load generator. The workload options,
 * the youth pool and the per-registration choice of youth, the latency
 * histogram and the printing of a result row are common to every driver
 * (vixd in vixd_driver.c, PostgreSQL in pg.c), so that both sides run the
 * same workload through the same client code path.
 */
#ifndef VIX_BENCH_H
#define VIX_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Log-spaced buckets: 16 per power of two from 1 us to about 2^27 us. */
#define BENCH_HIST_SUB		16
#define BENCH_HIST_BUCKETS	(28 * BENCH_HIST_SUB)

struct bench_hist {
	uint64_t	 n;
	double		 max;		/* seconds */
	uint64_t	 buckets[BENCH_HIST_BUCKETS];
};

struct bench_opts {
	unsigned	 conns;		/* registering connections */
	unsigned	 orgs;		/* organisations they are spread over */
	unsigned	 depth;		/* requests in flight per connection */
	unsigned	 youths;	/* K: size of the youth pool */
	unsigned	 first;		/* the first new youth handed out */
	unsigned	 match_pct;	/* % of registrations that reuse a youth
					   another organisation registered */
	double		 duration_s;
	unsigned	 rate;		/* offered registrations/s; 0: flat out */
	int		 subscribers;	/* one notification reader per org */
	unsigned	 loops;		/* vixd driver: registering
					   connections served by this many
					   poll loops (0: a thread each) */
	/* Where the drivers find their target; fields after the workload. */
	const char	*server;	/* vixd "host:port" */
	const char	*keyholder;	/* blind pseudonyms: the key holder */
	const char	*dev_dir;	/* vixd --dev material with bench orgs */
	long		 target_pid;	/* daemon to read CPU and RSS of; 0: none */
	unsigned	 total;		/* stop after this many registrations
					   (0: at the end of the duration) */
	unsigned	 progress_s;	/* print a progress line every S s */
	const char	*data_dir;	/* store driver: its own store folder */
	unsigned	 map_gib;	/* store driver: LMDB map size */
	unsigned	 pg_conns;	/* pg drivers: registering connections
					   instead of conns (0: conns) */
};

struct bench_result {
	uint64_t	 ok;
	uint64_t	 errors_by_code[17];	/* status codes; transport
						   failures count as 14 */
	double		 seconds;
	struct bench_hist req, notify;
	uint64_t	 matches;		/* registrations that made or
						   joined a match */
	double		 cpu_s;			/* the target's, during the run */
	long		 rss_kb;		/* the target's, at the end */
};

void	 bench_hist_add(struct bench_hist *, double seconds);
void	 bench_hist_merge(struct bench_hist *into, const struct bench_hist *);
/* The p-th percentile (0..100) in seconds: a bucket's upper bound. */
double	 bench_hist_pct(const struct bench_hist *, double p);

/* One line of key=value fields, for people and for scripts/bench. */
void	 bench_print_row(const char *name, const struct bench_opts *,
	    const struct bench_result *);

/*
 * Progress and the --total budget, shared by all threads of a run:
 * bench_claim() says whether one more registration may be sent,
 * bench_done_ok() counts one acknowledged; with --progress a thread prints
 * "progress t=S ok=N interval_regs_per_s=R" to stderr every S seconds.
 */
void	 bench_progress_start(const struct bench_opts *);
void	 bench_progress_stop(void);
int	 bench_claim(void);
void	 bench_done_ok(void);

/* Monotonic clock in seconds. */
double	 bench_now(void);

/*
 * The youth pool: K synthetic BSNs, 9 digits starting with 9 that pass the
 * 11-test, the same for every driver. Never print one.
 */
struct bench_pool;
struct bench_pool *bench_pool_new(unsigned youths, unsigned orgs);
/* vix-bench oprf: the costs of blind pseudonyms on one core (oprf_bench.c). */
int	 bench_oprf(double seconds);

/* New youths from index first on (several generators, disjoint youths). */
void	 bench_pool_start_at(struct bench_pool *, unsigned first);
void	 bench_pool_free(struct bench_pool *);
/* The BSN of youth i into out[10]. */
void	 bench_pool_bsn(const struct bench_pool *, uint32_t i, char out[10]);

/*
 * The youth the next registration of org (0-based) is about: with
 * probability match_pct/100 one that another organisation registered
 * already, else a youth nobody registered yet. Thread-safe; *rng is the
 * caller's per-thread state (seed it non-zero).
 */
uint32_t bench_pool_pick(struct bench_pool *, unsigned org,
	    unsigned match_pct, uint64_t *rng);

uint64_t bench_rand(uint64_t *rng);

/* CPU seconds (user + system) and resident kB of pid, from /proc. */
int	 bench_proc_stat(long pid, double *cpu_s, long *rss_kb);

/* Driver entry points; 0 when the run happened, -1 when it could not. */
int	 driver_run(const struct bench_opts *, struct bench_result *);
/* Memory per idle connection of the daemon at target_pid (idle.c). */
int	 bench_idle(const struct bench_opts *);
/* The storage ceiling: vixd's writer and store, no network (store_driver.c). */
int	 store_driver_run(const struct bench_opts *, struct bench_result *);
/* PostgreSQL, strict chain: bench/pg_schema.sql (pg.c). */
int	 pg_run(const struct bench_opts *, struct bench_result *);
/*
 * PostgreSQL, best effort: bench/pg_schema_best.sql and its follower; fails
 * when the follower has not chained and numbered every row at the end.
 */
int	 pg_best_run(const struct bench_opts *, struct bench_result *);

#endif
