/*
 * pool: the batch jobs that bring workers, as pure state and one
 * reconcile step.  No I/O and no clock of its own: the caller (the pool
 * manager on the scheduler's loop) feeds it what it saw, with the time,
 * and carries out the plan reconcile returns.  So every rule below is a
 * unit test away, without a batch system.
 *
 * Units.  The target is in workers; a job brings `workers_per_job` of them
 * (nodes x processes).  Jobs are only ever added or removed whole, so a
 * job of four processes is never cut to three (the cause of endless
 * submit/cancel loops when the pool counts workers but cancels jobs).
 *
 * Capacity.  A job counts toward the target from the moment its submission
 * starts until it ends, we cancel it, or it is drained; a job near its
 * walltime stops counting a little before it is drained, so its
 * replacement is queued in time and the pool does not dip.  Queued and
 * held jobs count: they are capacity on its way.  The head job (the one
 * the scheduler runs in) counts with its workers and is never removed.
 *
 * Removal order.  Jobs still waiting in the queue go first, newest first;
 * then running jobs whose workers are all idle, newest first; then busy
 * jobs are drained (they take no new tasks and are cancelled once their
 * tasks end).  No running task is ever killed to shrink the pool.
 *
 * Submission.  At most one submission is in flight.  Its jobs enter the
 * table before the command runs, so they count at once and a second
 * reconcile cannot submit them again.  A submission that failed in a way
 * that may still have created the job (a timeout, or any failure not
 * known as a refusal) leaves its jobs "uncertain": the next listing
 * adopts them by name (an array's elements by its first job's name and
 * their index) or drops them, and only then may the pool submit again,
 * so a lost answer yields one job, not two.  Failures are told apart: transient ones back off, a site limit
 * waits until one of our jobs ends, a permanent one pauses the pool until
 * pool_resume.  Jobs that end before any of their workers joined count in
 * a row; `max_nojoin` of them pause the pool too.
 *
 * Jobs missing from a listing.  A job just submitted may not be listed
 * yet: it gets `missing_grace` seconds.  After that it is due for a
 * history lookup (pool_history_due), and a job the history does not know
 * either has ended, lost.  One such job never holds up the others.
 */
#ifndef CLUSTER_POOL_H
#define CLUSTER_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

struct pool_params {
	unsigned workers_per_job;	/* nodes x processes, >= 1 */
	unsigned max_queued;		/* our jobs waiting at most; 0: any */
	int arrays;			/* submit >= 2 jobs as one array */
	unsigned max_array_size;	/* elements per array; 0: no limit */
	double walltime;		/* a job's life in seconds; 0: none */
	double drain_margin;		/* drain this long before walltime */
	double replace_lead;		/* stop counting a job this long before
					   its drain, so its replacement waits
					   in the queue meanwhile */
	double missing_grace;		/* seconds a new job may be unlisted */
	unsigned max_nojoin;		/* pause after this many jobs in a row
					   ended with no worker joined; 0: 5 */
	double backoff_min, backoff_max;	/* transient submit failures;
					   0: 10 s and 600 s */
};

#define POOL_ID_LEN 64
#define POOL_TEXT_LEN 256

struct pool_job {
	uint64_t seq;			/* ours, from 1; in the job's name */
	char id[POOL_ID_LEN];		/* batch id (of the array for an
					   element); "" until known */
	int64_t index;			/* array element, or -1 */
	enum job_state state;
	enum job_end end;		/* when state is ENDED */
	char raw[16];			/* the batch system's own code */
	char reason[POOL_TEXT_LEN];	/* pending reason, why it ended */
	unsigned expected;		/* workers it brings */
	unsigned joined;		/* workers connected now */
	unsigned busy;			/* of those, running tasks */
	int ever_joined;
	int head;			/* the scheduler's own job */
	int uncertain;			/* submission answer lost */
	int cancelling;			/* we asked the batch system */
	int draining;			/* no new tasks; cancel when idle */
	double submitted, started, ended;
	double deadline;		/* walltime end; 0: unknown or none */
	double unlisted_since;		/* absent from listings since; 0 */
	int history_asked;
	int adopted;			/* recorded by an earlier scheduler */
	uint64_t proc_start;		/* backend local: when its group's
					   leader started (backend_local_started),
					   so a reused pid is not taken for it;
					   0: unknown */
};

/* How a job changed, as the manager tells it (pool_manager_hooks's
 * job_changed). */
enum pool_job_change {
	POOL_JOB_SUBMITTED,		/* its batch id became known */
	POOL_JOB_ADOPTED,		/* an earlier scheduler's, taken back */
	POOL_JOB_STATE,			/* its state or reason changed */
	POOL_JOB_ENDED,			/* it ended (end, raw, reason) */
};

enum pool_failure {
	POOL_FAIL_TRANSIENT,		/* timed out, server busy: back off */
	POOL_FAIL_LIMIT,		/* a site limit: wait for a job to end */
	POOL_FAIL_PERMANENT,		/* bad account, partition...: pause */
};
#define POOL_NFAILURES (POOL_FAIL_PERMANENT + 1)

/* What one listing line (or history line) says of one job. */
struct pool_seen {
	const char *id;			/* batch id, array id for an element */
	int64_t index;			/* element, or -1 */
	const char *name;		/* job name, or NULL */
	enum job_state state;		/* UNKNOWN: keep what we had */
	enum job_end end;
	const char *raw;		/* NULL or the raw code */
	const char *reason;		/* NULL or the pending/end reason */
	double submitted;		/* 0: not given */
	double started;			/* 0: not given */
	double deadline;		/* 0: not given */
};

struct pool_plan {
	unsigned submit;		/* jobs to submit now */
	unsigned array_size;		/* > 1: as arrays of at most this */
	uint64_t first_seq;		/* seq of the first job to submit */
	uint64_t *cancel;		/* seqs of jobs to cancel */
	size_t ncancel;
	uint64_t *drain;		/* seqs of jobs to drain */
	size_t ndrain;
	size_t cancel_alloc, drain_alloc;
};

struct pool;

struct pool *pool_create(const struct pool_params *params);
void pool_destroy(struct pool *p);
const struct pool_params *pool_params(const struct pool *p);

/* The desired size, in workers. */
void pool_set_target(struct pool *p, unsigned workers);
unsigned pool_target(const struct pool *p);
/* Workers the target asks for in whole jobs: jobs = ceil(workers /
 * workers_per_job). */
unsigned pool_jobs_for(const struct pool *p, unsigned workers);

/* The head job, which the pool counts but never removes. */
struct pool_job *pool_add_head(struct pool *p, const char *id,
			       unsigned workers, double now);

/* Jobs, in seq order; ended jobs stay listed (the most recent
 * POOL_KEEP_ENDED of them) so status can say what became of them. */
#define POOL_KEEP_ENDED 64
size_t pool_njobs(const struct pool *p);
struct pool_job *pool_job_at(struct pool *p, size_t i);
struct pool_job *pool_find_seq(struct pool *p, uint64_t seq);
struct pool_job *pool_find(struct pool *p, const char *id, int64_t index);

/* A job an earlier scheduler of the cluster recorded (the state
 * directory's `jobs`): it enters the table as `rec` says (seq, id, index,
 * state, times, expected, ever_joined, cancelling, draining, uncertain,
 * proc_start), marked adopted, with no worker joined; seqs from then on
 * follow it.  NULL, and nothing added, when its seq is 0 or already in
 * the table.  The next listing (or history, or the processes of local
 * jobs) says what became of it; a job that ended meanwhile is replaced
 * like any other. */
struct pool_job *pool_adopt(struct pool *p, const struct pool_job *rec);
/* Seqs from `seq` on at least: an earlier scheduler's next one, so the
 * names of its jobs are not given again. */
void pool_seq_from(struct pool *p, uint64_t seq);
uint64_t pool_next_seq(const struct pool *p);

/* Decide what to do now.  The plan's arrays are reused by the next call
 * and freed with pool_plan_release.  Drains are recorded in the table at
 * once; cancels and submissions when the caller reports them. */
void pool_reconcile(struct pool *p, double now, struct pool_plan *plan);
void pool_plan_release(struct pool_plan *plan);

/* Submission of `n` jobs from `first_seq` (the plan's) has started: they
 * enter the table as queued. */
void pool_submit_started(struct pool *p, uint64_t first_seq, unsigned n,
			 double now);
/* It succeeded: the jobs are `id` (an array when `array`: elements
 * 0..n-1 in seq order). */
void pool_submit_done(struct pool *p, uint64_t first_seq, unsigned n,
		      const char *id, int array, double now);
/* It failed.  `maybe_created`: the command may have made the job all the
 * same (it timed out); the next listing decides.  `message` is the batch
 * system's, for status. */
void pool_submit_failed(struct pool *p, uint64_t first_seq, unsigned n,
			enum pool_failure kind, int maybe_created,
			const char *message, double now);
/* We asked the batch system to cancel the job. */
void pool_cancel_sent(struct pool *p, uint64_t seq);

/* A complete listing of our jobs: every job not ended and absent from it
 * starts (or keeps) its missing clock.  `names` of uncertain jobs are
 * matched with `name_of` (the caller's naming rule).  A name may be
 * listed more than once (an earlier scheduler of the same cluster used
 * it, and its ended job is still listed): a job still in the queue beats
 * an ended one, then the newest; one submitted well before our submission
 * began (POOL_NAME_SKEW) is never taken. */
#define POOL_NAME_SKEW 60.0
void pool_observe(struct pool *p, const struct pool_seen *seen, size_t n,
		  const char *(*name_of)(void *arg, uint64_t seq), void *arg,
		  double now);
/* Jobs due for a history lookup: fills `seqs` (up to `max`), returns how
 * many. */
size_t pool_history_due(struct pool *p, uint64_t *seqs, size_t max,
			double now);
/* What the history said of the jobs just asked; those it did not name
 * have ended, lost. */
void pool_history(struct pool *p, const uint64_t *asked, size_t nasked,
		  const struct pool_seen *seen, size_t n, double now);

/* Workers say which job they belong to. */
void pool_worker_joined(struct pool *p, const char *id, int64_t index,
			double now);
void pool_worker_left(struct pool *p, const char *id, int64_t index,
		      double now);
/* How many of a job's workers run tasks now (before each reconcile). */
void pool_set_busy(struct pool *p, const char *id, int64_t index,
		   unsigned busy);

/* Why the pool submits nothing now: NULL when it would. */
const char *pool_paused(const struct pool *p);
/* Why it waits (backoff, a site limit), or NULL. */
const char *pool_waiting(const struct pool *p, double now);
/* The last submit error, kept for status (NULL when none). */
const char *pool_last_error(const struct pool *p);
void pool_resume(struct pool *p);

struct pool_counts {
	unsigned jobs[JOB_STATE_ENDED + 1];	/* live jobs per state */
	unsigned capacity_jobs;		/* jobs counting toward the target */
	unsigned capacity_workers;
	unsigned workers_joined;
	unsigned draining;
	uint64_t submitted, ended, replaced_ended;
	uint64_t submit_failures[POOL_NFAILURES];	/* submissions failed,
							   by kind, ever */
};
void pool_counts(const struct pool *p, double now, struct pool_counts *out);

/* Adapt: a pure estimator that turns demand into a target.  It grows at
 * once; it shrinks only after demand stayed lower for `idle_timeout`
 * seconds over at least `low_readings` readings, and then to the highest
 * of those readings, so two bursts closer together than the idle timeout
 * cause neither a cancel nor a resubmit between them. */
struct adapt {
	unsigned min, max;		/* bounds in workers */
	double idle_timeout;		/* seconds; 0: 60 */
	unsigned low_readings;		/* 0: 3 */
	unsigned current;		/* the target it last gave */
	double low_since;		/* 0: not low */
	unsigned low_count, low_peak;
};

struct adapt_demand {
	uint64_t cores;			/* of runnable tasks: queued + running */
	uint64_t memory;		/* bytes, same tasks */
	uint64_t gpus;			/* same tasks */
};

void adapt_init(struct adapt *a, unsigned min, unsigned max,
		double idle_timeout);
/* Workers the demand needs: enough cores and enough memory, with workers
 * of `worker_cores` and `worker_memory` (0: memory not counted). */
unsigned adapt_wanted(const struct adapt_demand *d, unsigned worker_cores,
		      uint64_t worker_memory, unsigned worker_gpus);
/* One reading; returns the target. */
unsigned adapt_step(struct adapt *a, unsigned wanted, double now);

#endif
