/*
 * Jobs through a real writer thread, for test_writer (conformance) and the
 * LMDB-only writer tests: hooks that count what came back, a gate that
 * holds the writer thread where it posts a job home, and jobs made up the way
 * the handlers make them.
 *
 * To make batches deterministic a test may close the gate: the next job to
 * come back then holds the writer thread where it posts the job home, so that
 * whatever the test submits meanwhile is queued, not yet taken.
 *
 * The helpers assert with Criterion, as storefix.h.
 */
#ifndef VIX_TEST_WRITERFIX_H
#define VIX_TEST_WRITERFIX_H

#include <stddef.h>
#include <stdint.h>

#include "orgs.h"
#include "store.h"
#include "writer.h"

/* The home the jobs are queued for, as a worker's would be. */
extern struct job_home	 writerfix_home;
#define WRITERFIX_WORKER (&writerfix_home)

/* Hooks counting the jobs that came back, and holding them at the gate. */
extern const struct writer_hooks writerfix_hooks;

/* Forget what came back and open the gate; call before each test. */
void		 writerfix_reset(void);
/* Wait (at most a minute) until n jobs came back in all. */
void		 writerfix_wait_done(size_t n);
size_t		 writerfix_done_count(void);

void		 writerfix_gate_close(void);
/* Wait until the writer thread is held at the gate. */
void		 writerfix_gate_wait(void);
void		 writerfix_gate_open(void);

/* Jobs as the handlers make them; pseudonyms filled with 0xB2. */
void		 writerfix_job_register(struct job *, struct orgs *,
		    const struct org *, unsigned youth, int64_t now);
void		 writerfix_job_withdraw(struct job *, struct orgs *,
		    const struct org *, uint64_t signal_id, int64_t now);
void		 writerfix_job_involved(struct job *, struct orgs *,
		    const struct org *, unsigned youth, int64_t now);

struct job	*writerfix_jobs_new(size_t n);
/* Free the views the register and involved jobs got back, then the jobs. */
void		 writerfix_jobs_free(struct job *, size_t n);

/*
 * Every one of the n register jobs succeeded with its own, new signal id,
 * and every job came back to WRITERFIX_WORKER.
 */
void		 writerfix_expect_registered(const struct job *, size_t n);

/* Active signals in the store, read afresh. */
size_t		 writerfix_signals_stored(struct store *);
/* Audit records in the store, all of which must verify. */
uint64_t	 writerfix_audit_good(struct store *);

#endif
