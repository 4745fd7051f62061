/*
 * The writer thread: group commit. Workers queue jobs; the writer takes
 * every queued job (up to batch_max), applies each in its own savepoint of
 * one write transaction, commits once, and only then hands the jobs back
 * to their workers, which answer the clients. Nothing is acknowledged
 * before its transaction is durable.
 */
#ifndef VIX_WRITER_H
#define VIX_WRITER_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdint.h>

#include "metrics.h"
#include "store.h"

struct session;
struct worker;
struct writer;

enum job_kind {
	JOB_REGISTER,
	JOB_WITHDRAW,
	JOB_INVOLVED,
	JOB_ACK,
	JOB_COORDINATE,
	JOB_SWEEP,		/* no connection: from the sweep timer */
	JOB_ERASE,		/* no connection: from vixctl, via j->done */
	JOB_AUDIT,		/* an audit record of vixctl's, via j->done */
};

struct job {
	TAILQ_ENTRY(job)	 entry;
	enum job_kind		 kind;
	struct session		*sess;		/* waiting for the answer */
	uint64_t		 req_id;
	uint64_t		 received_ns;	/* decoded (metrics_now_ns) */
	const struct org	*org;
	struct orgs		*orgs;		/* reference held by the job */
	int64_t			 now;
	int			 err;		/* enum vix_err */
	char			 why[256];	/* message when err != 0 */
	/* Set: called on the writer thread instead of the done hook. */
	void			(*done)(struct job *);
	void			*arg;		/* for done */
	union {
		struct store_register_in reg;
		struct store_withdraw_in wd;
		uint8_t		 pseudonym[PSEUDONYM_LEN];
		struct {
			uint32_t	 recipient;	/* store id */
			uint64_t	 seq;
		} ack;
		struct store_coordinate_in coord;
		struct store_sweep_in sweep;
		struct store_erase_in erase;
		struct {
			char		 actor[32];
			char		 action[32];
			uint64_t	 signal_id;
			uint64_t	 match_id;
			char		 outcome[32];
			int		 has_youth;	/* about youth: */
			uint8_t		 youth[PSEUDONYM_LEN];
		} audit;
	} in;
	union {
		struct store_register_out reg;
		struct store_withdraw_out wd;
		struct {
			uint64_t		signal_id;
			struct store_view	view;
		} inv;
		uint64_t		 acked;
		struct store_view	 coord;
		struct store_sweep_out	 sweep;
		struct store_erase_out	 erase;
	} out;
};

TAILQ_HEAD(job_list, job);

struct writer_stats {
	uint64_t	batches;
	uint64_t	jobs;
	uint64_t	max_batch;
	struct metrics_hist_snap batch_sizes;	/* jobs per commit */
	struct metrics_hist_snap commit_times;	/* begin to commit, ns */
	uint64_t	waiting;	/* jobs queued or in the current batch */
	uint64_t	since_progress_ms; /* since a batch ended or work came */
};

/* Where the writer reports to: finished jobs, and outboxes that grew. */
struct writer_hooks {
	/* A job is back (w NULL for jobs without a connection). */
	void	(*done)(void *arg, struct worker *w, struct job *j);
	/* After a commit: these recipients' outboxes grew (all: any). */
	void	(*published)(void *arg, const uint32_t *recipients, size_t n,
		    int all);
	void	 *arg;
};

/*
 * Start the thread. A batch takes at most batch_max jobs and waits at most
 * batch_wait_us for more to arrive.
 */
struct writer	*writer_start(struct store *, unsigned batch_max,
		    unsigned batch_wait_us, unsigned queue_max,
		    const struct writer_hooks *);

/*
 * Queue a job for the worker w. Returns 0, or an enum vix_err when the
 * writer is stopping (UNAVAILABLE) or its queue is full (FULL).
 */
int		 writer_submit(struct writer *, struct worker *w, struct job *);

/* Finish every queued job, then stop and join the thread. */
void		 writer_stop(struct writer *);

void		 writer_get_stats(struct writer *, struct writer_stats *);

#endif
