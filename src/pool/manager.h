/*
 * manager: the pool on the scheduler's event loop.  It holds a struct
 * pool (pool.h, the pure rules) and carries out its plans with the
 * backend's commands (backend.h) run asynchronously (backend/run.h):
 *
 *  - one status command per poll interval, never two in flight, each with
 *    a timeout; a failed poll changes no job, backs off (doubling, up to
 *    ten intervals) and is kept as the last poll error; no status
 *    command at all while no job of ours is live or unanswered;
 *  - one batch command at a time of any kind (status, submit, cancel,
 *    history), at most one per `min_gap` seconds on average (1 s), so a
 *    pool stays within a batch system's RPC rate limit;
 *  - submissions of the worker job script written once to the state
 *    directory, arrays when the plan asks, names "<cluster>-<seq>" so a
 *    submit that timed out is found again by name;
 *  - cancels of many jobs in one command; history lookups of jobs that
 *    left the listing;
 *  - adapt: before each reconcile the demand of runnable tasks is read
 *    (the hooks, sched_demand) and turned into a target (adapt_wanted,
 *    adapt_step) with workers of the profile's size; tasks no such worker
 *    could run (more cores, memory or GPUs than it has, a time limit past its
 *    job's walltime less the drain margin) are left out and shown in
 *    status instead, so no job is ever submitted for them;
 *  - worker joins and losses update jobs at once: the scheduler process
 *    hears of them (its own events) and tells pool_manager_worker_joined
 *    and _left; before each reconcile each job's busy workers are asked
 *    of it (the hooks).
 *
 * The manager knows the scheduler process only through the hooks it is
 * created with, so pool/ stays below server/: the process subscribes to
 * its own events and forwards them here.
 *
 * Drains: the workers of a drained job are told to drain (no new tasks).
 * A job the plan cancels has only idle workers (pool.h's removal order):
 * those are told to shut down first, so their loss is orderly ("left"),
 * then the job is cancelled in the same step.
 *
 * Backend local: jobs are process groups started with
 * backend_local_submit running the same job script; status is read from
 * the processes, ended ones are reaped, and a job past its walltime gets
 * SIGTERM (SIGKILL a poll later) and ends as "walltime".  No command runs
 * for local jobs, so the rate limit does not apply.
 *
 * The state directory keeps `jobs` (rewritten atomically whenever the
 * table changes) and `target` (state.h).  A manager created on a state
 * directory whose `jobs` lists live jobs (its scheduler was killed)
 * adopts them (record.c): they count at once, the next listing or the
 * processes say what became of each, and only those that ended are
 * replaced.
 */
#ifndef CLUSTER_POOL_MANAGER_H
#define CLUSTER_POOL_MANAGER_H

#include <jansson.h>

#include "backend/backend.h"
#include "pool/pool.h"
#include "sched/sched.h"
#include "util/err.h"

struct event_base;
struct pool_manager;

/* What the manager asks of the scheduler process it runs in.  Workers are
 * sched's ids, as pool_manager_worker_joined gave them.  Any hook may be
 * NULL: then every worker counts as idle, and drains and shutdowns do
 * nothing. */
struct pool_manager_hooks {
	void *arg;
	/* Whether worker `w` runs or holds tasks now. */
	int (*worker_busy)(void *arg, worker_id_t w);
	/* Worker `w` takes no new tasks; those it holds are still its. */
	void (*drain_worker)(void *arg, worker_id_t w);
	/* Worker `w` finishes its running tasks and leaves. */
	void (*shutdown_worker)(void *arg, worker_id_t w, const char *reason);
	/* What runnable tasks need, as sched_demand says with these bounds;
	 * NULL: nothing (adapt keeps to its minimum). */
	void (*demand)(void *arg, unsigned max_cores, uint64_t max_memory,
		       uint64_t max_time, unsigned max_gpus,
		       struct sched_demand *out);
	/* Job `j` (named `name`) changed, as the table says after a
	 * listing, a submission's answer, an adoption: once for each
	 * change, in seq order, never for the head job nor for a job whose
	 * id was never known.  The journal records these. */
	void (*job_changed)(void *arg, const struct pool_job *j,
			    enum pool_job_change what, const char *name);
};

struct pool_manager_config {
	const struct backend *backend;
	const char *cluster;		/* job names "<cluster>-<seq>" */
	const char *state_dir;		/* jobs, target, worker.sh; NULL: none */
	const char *script;		/* the worker job script to submit */
	const char *log_dir;		/* local jobs' output; NULL: /dev/null */
	struct pool_params params;
	const char *head_job;		/* the scheduler's own batch job, which
					   counts but is never removed; NULL:
					   none */
	unsigned head_workers;		/* its workers */
	unsigned worker_cores;		/* each worker's, for adapt; 0: 1 */
	uint64_t worker_memory;		/* bytes; 0: memory not counted */
	unsigned worker_gpus;		/* each worker's; 0: none, so no job
					   is submitted for a GPU task */
	unsigned min_workers;		/* pool.min-workers: the target is never
					   below (a kept one is raised) */
	unsigned max_workers;		/* pool.max-workers; 0: no bound */
	double idle_timeout;		/* adapt's default; 0: 60 s */
	double poll_interval;		/* seconds; 0: 10 */
	double command_timeout;		/* seconds; 0: 30 */
	double min_gap;			/* seconds between batch commands on
					   average; 0: 1 */
	/* The commands, for tests: argv[0] of every batch command is
	 * replaced by bin_dir/argv[0] when set. */
	const char *bin_dir;
};

/* `hooks` is copied; NULL (tests): no hooks at all.  NULL with err set
 * when the configuration lacks what a pool needs, or the state directory
 * records live jobs of another backend. */
struct pool_manager *pool_manager_create(struct event_base *base,
					 const struct pool_manager_hooks *hooks,
					 const struct pool_manager_config *cfg,
					 struct err *err);
/* Stops the timer and any command under way; leaves the jobs alone. */
void pool_manager_destroy(struct pool_manager *m);

/* Worker `w` passed the handshake, saying it runs in batch job `job_id`
 * (array element `index`, or -1) that ends at `end` (Unix seconds, 0
 * unknown); a worker in no job ("") is none of the pool's. */
void pool_manager_worker_joined(struct pool_manager *m, worker_id_t w,
				const char *job_id, int64_t index, double end);
/* Worker `w` of that job is gone, asked to or not. */
void pool_manager_worker_left(struct pool_manager *m, worker_id_t w,
			      const char *job_id, int64_t index);

/* The C-level interface for the API and the CLI. */
void pool_manager_scale(struct pool_manager *m, unsigned workers);
void pool_manager_adapt(struct pool_manager *m, unsigned min, unsigned max,
			double idle_timeout);
void pool_manager_adapt_off(struct pool_manager *m);
void pool_manager_resume(struct pool_manager *m);
/* {"target", "actual", "jobs": [{"id", "index", "state", "raw",
 * "reason", "submitted", "started", "joined", "expected",
 * "walltime_left", "draining", "adopted"}], "last_poll", "poll_error", "paused",
 * "waiting", "last_error", "unrunnable": [{"id", "needs", "limit"}] (a
 * few queued tasks no worker could run, "needs": "8 cores", "limit":
 * "4 cores"), "unrunnable_tasks" (how many in all), "workers_per_job",
 * "worker_cores", "worker_memory", "adapt_bounds": {"min", "max",
 * "idle_timeout"} or null}; a new reference. */
json_t *pool_manager_status(struct pool_manager *m);

/* Stop the pool for good: adapt off, the target 0 (the `target` file
 * is left as it was, for the next start), so queued jobs are cancelled
 * and idle ones removed while busy ones drain; then, when no worker of
 * the pool is busy or `timeout` seconds have passed, every job left but
 * the head job is cancelled in one command (local jobs: SIGTERM to their
 * groups, SIGKILL to what still runs 3 s later), `jobs` is rewritten
 * empty and `done(arg)` is called once.  Nothing is submitted from then
 * on; destroy the manager after the call. */
void pool_manager_stop(struct pool_manager *m, double timeout,
		       void (*done)(void *arg), void *arg);

/* A job's workers (>= 1), and each worker's cores and memory (bytes; 0: not
 * counted): what turns a size in jobs, cores or memory into workers. */
void pool_manager_sizes(const struct pool_manager *m, unsigned *per_job,
			unsigned *cores, uint64_t *memory);

/* pool.min-workers and pool.max-workers (0: no bound) as given at
 * create: scale and adapt keep within them. */
void pool_manager_bounds(const struct pool_manager *m, unsigned *min,
			 unsigned *max);

/* For tests and status. */
struct pool *pool_manager_pool(struct pool_manager *m);
unsigned long pool_manager_commands(const struct pool_manager *m,
				    unsigned long *polls);
/* Polls of the batch system that failed, ever (for /metrics). */
unsigned long pool_manager_poll_errors(const struct pool_manager *m);
/* Run one step now (reconcile and what it asks). */
void pool_manager_kick(struct pool_manager *m);

/* What a batch system's submit message says about the failure. */
enum pool_failure pool_classify_submit(const char *message, int timed_out);

#endif
