/*
 * The writer thread: group commit. Workers (and the main loop, and the
 * control socket) queue jobs; the writer takes every queued job (up to
 * batch_max), applies each in its own savepoint of one write transaction,
 * commits once, and only then posts the jobs back home, where they are
 * completed (a worker answers its client). Nothing is acknowledged before
 * its transaction is durable.
 */
#ifndef VIX_WRITER_H
#define VIX_WRITER_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdint.h>

#include "blind.h"
#include "metrics.h"
#include "store.h"

/*
 * The retry hint of a request answered UNAVAILABLE because the store could
 * not be written (a database without a primary): not applied, or not
 * known to be, and safe to send again.
 */
#define STORE_RETRY_MS	1000

struct job;
struct session;
struct writer;

/* The requests of clients (handlers.c); what the job is, for its ops. */
enum job_kind {
	JOB_REGISTER,
	JOB_WITHDRAW,
	JOB_INVOLVED,
	JOB_ACK,
	JOB_COORDINATE,
	JOB_RELOCATE,
};

/*
 * What a job does, given by whoever makes it: the writer need not know
 * any kind of job. apply, audit_refusal, grows and reset run on the
 * writer thread; complete and free on the owner's (see job_complete).
 */
struct job_ops {
	/*
	 * The change, in the job's own savepoint: 0, or an enum vix_err. A
	 * refusal by a rule comes with its message in j->why.
	 */
	int	(*apply)(struct store_txn *, struct job *);
	/*
	 * Optional: after a refusal by a rule (VIX_E_PERMISSION, NOT_FOUND,
	 * PRECONDITION, LIMIT), record who tried what, in its own savepoint.
	 */
	int	(*audit_refusal)(struct store_txn *, struct job *);
	/*
	 * Optional: whether j adds to the store. Such a job is refused over
	 * the quota, and left out first from a batch that did not fit.
	 */
	int	(*grows)(const struct job *);
	/* Optional: free what a run left in j->out, so that j can run again. */
	void	(*reset)(struct job *);
	/* Optional, at home: answer, count, log what came back. */
	void	(*complete)(struct job *);
	/* Release j (also one that was never submitted). */
	void	(*free)(struct job *);
};

/*
 * Where a job returns when the writer is done with it: a worker's loop,
 * the main loop, a thread waiting for it. post runs on the writer thread
 * and only hands the job over (queue it, wake the owner); the owner calls
 * job_complete on its own thread.
 */
struct job_home {
	void	(*post)(struct job_home *, struct job *);
	/*
	 * Optional: when set, post only queues and the writer calls flush
	 * once per home after a batch's jobs are posted and its subscribers
	 * told, so that the owner wakes once for the whole batch and answers
	 * it (responses and notifications) in one pass of its loop.
	 */
	void	(*flush)(struct job_home *);
};

/*
 * With blind pseudonyms: the pseudonym as the client sent it and the
 * generation of the keys the worker turned it into the store's with (the
 * writer does it again if the keys changed since), and during a rotation
 * the old form it may still be stored under.
 */
struct job_blind {
	struct blind	*keys;		/* NULL: not a blind pseudonym */
	uint64_t	 gen;
	uint8_t		 element[BLIND_ELEMENT_LEN];
	uint32_t	 version;
	uint8_t		 key_id[BLIND_KEY_ID_LEN];
	int		 has_old;
	uint8_t		 old[BLIND_ELEMENT_LEN];
};

struct job {
	TAILQ_ENTRY(job)	 entry;
	const struct job_ops	*ops;
	struct job_home		*home;		/* set by writer_submit */
	enum job_kind		 kind;
	struct session		*sess;		/* waiting for the answer */
	uint64_t		 req_id;
	uint64_t		 received_ns;	/* decoded (metrics_now_ns) */
	uint64_t		 committed_ns;	/* its batch ended (writer) */
	const struct org	*org;
	struct orgs		*orgs;		/* reference held by the job */
	int64_t			 now;
	int			 err;		/* enum vix_err */
	char			 why[256];	/* message when err != 0 */
	char			 professional[65]; /* the request's actor, checked;
						    "" if none */
	void			*arg;		/* for the ops */
	struct job_blind	 blind;		/* the youth's */
	/* The same for the parents a registration names (in.reg.parents). */
	struct job_blind	 parent_blind[STORE_PARENTS_MAX];
	union {
		struct store_register_in reg;
		struct store_withdraw_in wd;
		uint8_t		 pseudonym[PSEUDONYM_LEN];
		struct {
			uint32_t	 recipient;	/* store id */
			uint64_t	 seq;
		} ack;
		struct store_coordinate_in coord;
		struct store_relocate_in reloc;
		struct store_sweep_in sweep;
		struct store_erase_in erase;
		struct blind_keys rotate;	/* rotate.c: the keys to set */
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
		struct store_relocate_out reloc;
		struct store_sweep_out	 sweep;
		struct store_erase_out	 erase;
		struct {
			size_t		 moved, conflicts;
			int		 done;
			struct blind_keys prev;	/* if it fails */
		} rotate;
	} out;
};

TAILQ_HEAD(job_list, job);

struct writer_stats {
	uint64_t	batches;
	uint64_t	jobs;
	uint64_t	max_batch;
	/* Committed, counted before their jobs return: a read begun after
	   this count is read sees every write acknowledged before. */
	uint64_t	commits;
	/* Batches run again after losing to another writer (a deadlock). */
	uint64_t	conflicts;
	struct metrics_hist_snap batch_sizes;	/* jobs per commit */
	struct metrics_hist_snap commit_times;	/* begin to commit, ns */
	struct metrics_hist_snap queue_times;	/* received to batched, ns */
	uint64_t	waiting;	/* jobs queued or in the current batch */
	uint64_t	since_progress_ms; /* since a batch ended or work came */
};

/* Where the writer reports to besides the jobs' homes. */
struct writer_hooks {
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
 * Queue j (its ops set) to come back to home. Returns 0, or an enum
 * vix_err when the writer is stopping (UNAVAILABLE) or its queue is full
 * (FULL); then j stays the caller's.
 */
int		 writer_submit(struct writer *, struct job_home *home,
		    struct job *j);

/* On the owner's thread, for a job back from the writer: complete, free. */
void		 job_complete(struct job *);

/*
 * Finish every queued job, then stop and join the thread. The writer stays
 * until writer_free: whoever still holds it (a job completed after the
 * stop that would queue its next step) is refused with UNAVAILABLE, and
 * can still read its stats.
 */
void		 writer_stop(struct writer *);

/* Stop (if not yet) and free. After everyone that could submit is gone. */
void		 writer_free(struct writer *);

void		 writer_get_stats(struct writer *, struct writer_stats *);

#endif
