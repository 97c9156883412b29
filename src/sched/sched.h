/*
 * sched: the scheduler's task table and placement.  No I/O: the server
 * (network, workers) and the HTTP API drive it and are told what to do
 * through hooks.  Single-threaded; everything runs on the event loop.
 *
 * Ids: tasks are numbered from 1 in submission order; an array of n
 * elements takes n consecutive ids and is stored once (one template + a
 * range), so a million-element array costs a few bytes per element.
 *
 * Memory: a task that runs gets a detail record (64 bytes); cancelling
 * tasks that never started costs O(1) per range cancelled, not per task.
 * The latest ended tasks keep their whole record, up to
 * sched_set_detail_limit; older ones keep their state, runs, exit status,
 * runtime and the kind of their reason, not their worker, times or peak
 * memory.
 * Submissions and cancels that cannot be allocated fail with an error and
 * change nothing.
 *
 * States: WAITING (dependencies not yet done) -> QUEUED -> RUNNING ->
 * DONE | FAILED, or CANCELLED from any state before an end.  A failed run
 * goes back to QUEUED while retries remain; a run lost with its worker goes
 * back to QUEUED unless the task has taken down max_worker_losses workers.
 * A dependency in `after` that ends FAILED or CANCELLED cancels its
 * dependents ("dependency 8 failed", "dependency 8 cancelled"); one in
 * `after_any` releases them whatever its end.  A waiting task's reason
 * names the dependencies it still waits for.
 *
 * Prefetch (sched_set_prefetch): a worker may hold a few tasks beyond what
 * its free cores and memory can start now, queued on the worker, which
 * starts them in the order it got them, each as soon as its cores, GPUs
 * and memory allow.  Such a task is RUNNING (it is the worker's) with
 * start_time 0 until sched reckons it has started; worker_info.prefetched
 * and sched_counts.prefetched count them.  Prefetch slots are filled only
 * with tasks that no worker can start at once.  A worker running tasks of
 * a submission whose runs take less than a round trip may hold more of
 * them, up to PACE_MAX_DEPTH (pace.h), so one slot is not round-trip
 * bound; for tasks of unknown or long runs it holds `prefetch`.
 */
#ifndef CLUSTER_SCHED_H
#define CLUSTER_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "task/task.h"
#include "util/err.h"
#include "util/strbuf.h"

struct sched_counts {
	uint64_t state[TASK_NSTATES];	/* tasks per state */
	uint64_t submitted;
	uint64_t retried;		/* runs re-queued after failure or loss */
	uint64_t lost;			/* runs lost with their worker */
	uint64_t prefetched;		/* RUNNING tasks still held, not
					   started, by their worker */
};

struct worker_info {
	worker_id_t id;
	const char *name;		/* "host:pid" or the rank's name */
	unsigned cores, cores_used;
	uint64_t memory, memory_used;
	unsigned gpus, gpus_used;
	unsigned running;		/* tasks running now */
	uint64_t done;			/* runs finished on it */
	int alive;
	int draining;			/* takes no new tasks */
	unsigned prefetched;		/* sent to it, waiting there for its
					   cores or memory (not in running) */
};

/* Hooks run after the table has changed, in the order the changes
 * happened, just before the outermost sched call returns.  A hook may call
 * any sched function except sched_destroy; the hooks that its own calls
 * cause run after it returns.  assign runs once per placement, ended once
 * per task. */
struct sched_hooks {
	void *arg;
	/* Run task `id` on `worker` (the server sends it). */
	void (*assign)(void *arg, worker_id_t worker, task_id_t id);
	/* Stop task `id` running on `worker` (it was cancelled). */
	void (*kill)(void *arg, worker_id_t worker, task_id_t id);
	/* Task `id` reached DONE, FAILED or CANCELLED. */
	void (*ended)(void *arg, task_id_t id);
	/* Tasks became QUEUED (a submission, a dependency done, a retry or
	 * a lost worker): time for a sched_dispatch.  At most once per
	 * outermost sched call. */
	void (*queued)(void *arg);
	/* Which tasks those were, each told before the queued call they
	 * cause, so a listener need not look at every waiting or running
	 * task to find them.  released: tasks of first..last left WAITING,
	 * their dependencies done (elements of the range that were not
	 * WAITING, cancelled ones, stay as they were).  requeued: task `id`
	 * went back from a run on `worker` (a retry, a lost worker, a task
	 * the worker held and never started; -1: a restored run no worker
	 * claimed). */
	void (*released)(void *arg, task_id_t first, task_id_t last);
	void (*requeued)(void *arg, task_id_t id, worker_id_t worker);
};

struct sched;

struct sched *sched_create(const struct sched_hooks *hooks);
void sched_destroy(struct sched *s);

/* Submit one task or one array; on success *first is the first id and
 * *count the number of tasks.  Unknown or later dependency ids, zero
 * cores, empty argv are errors. */
int sched_submit(struct sched *s, const struct task_spec *spec,
		 task_id_t *first, uint64_t *count, struct err *err);

/* Submit `n` specs at once, all or nothing: consecutive ids, *first the
 * first id and *count the number of tasks over all specs (0 and 0 when n
 * is 0).  A spec may depend on tasks of earlier specs in the same call.
 * Errors name the failing spec ("task 3 of 10: ..."). */
int sched_submit_many(struct sched *s, const struct task_spec *specs,
		      size_t n, task_id_t *first, uint64_t *count,
		      struct err *err);

/* Submit `n` tasks that share `spec` and differ by one last argument:
 * task k runs spec->argv followed by args[k] (a task file is
 * {"/bin/sh", "-c"} + one line each).  Stored like an array, a few bytes
 * per task plus its argument; task_info.spec is the shared template, so
 * use sched_task_argv for a task's command.  The array fields of `spec`
 * are ignored.  n == 0 submits nothing (*first = *count = 0). */
int sched_submit_each(struct sched *s, const struct task_spec *spec,
		      const char *const *args, size_t n, task_id_t *first,
		      uint64_t *count, struct err *err);

/* Like sched_submit_each, but task k runs argvs[k] (NULL-terminated, a
 * non-empty first word) in place of spec->argv, which is ignored.  Stored
 * the same way: a few bytes per task plus its words.  task_info.spec->argv
 * is the first task's; use sched_task_argv.  Errors name the task ("task
 * 3 of 10: empty command"). */
int sched_submit_argvs(struct sched *s, const struct task_spec *spec,
		       char *const *const *argvs, size_t n, task_id_t *first,
		       uint64_t *count, struct err *err);

/* Cancel one task (queued, waiting or running: kill hook). -1 + err when
 * the id is unknown or memory runs out (nothing changed then);
 * cancelling an ended task is a no-op returning 0.  A running task's
 * cores and memory are free again at once.  A task that had started
 * shows signal SIGTERM and the time it ran until its worker reports the
 * run, whose signal, runtime and peak memory it then takes (nothing
 * else); one its worker held without starting it shows no run. */
int sched_cancel(struct sched *s, task_id_t id, struct err *err);

/* Cancel every task with an id in first..last that has not ended, as
 * sched_cancel does one; ended tasks are left as they are.  Returns how
 * many it cancelled, or -1 + err when an id is unknown, first > last, or
 * memory runs out, with nothing changed.  Tasks that never started cost
 * no memory per task, however many. */
int64_t sched_cancel_range(struct sched *s, task_id_t first, task_id_t last,
			   struct err *err);

/* -1 when the id is unknown.  out->spec is the stored copy: its name is
 * filled in (basename of argv[0] when none was given) and
 * max_worker_losses holds the limit in force. */
int sched_task(struct sched *s, task_id_t id, struct task_info *out);

/* The argv of one task with the array index substituted; caller frees
 * each string and the array. */
char **sched_task_argv(struct sched *s, task_id_t id);

/* The same without copies, for a caller that reads it at once: argv's
 * words point into the table, or into `buf` where an array's index was
 * put in for {}; valid until the table changes or the next call with the
 * same view.  Zero one before its first use and keep it: it keeps its
 * memory between calls.  -1 when the id is unknown. */
struct sched_argv {
	const char **argv;		/* NULL-terminated */
	size_t alloc;
	size_t *off;			/* where in buf a substituted word is */
	struct strbuf buf;
};
int sched_task_argv_view(struct sched *s, task_id_t id, struct sched_argv *v);
void sched_argv_release(struct sched_argv *v);

/* The old name of task_range_parse. */
static inline int sched_parse_range(const char *text, int64_t *first,
				    int64_t *last)
{
	return task_range_parse(text, first, last);
}

/* The next task id after `after` (0 = from the start) whose state is in
 * the bit mask `states` (1 << TASK_x); 0 when none. */
task_id_t sched_next(struct sched *s, task_id_t after, unsigned states);

void sched_counts(struct sched *s, struct sched_counts *out);
task_id_t sched_last_id(struct sched *s);

/* How many tasks each worker may hold beyond what it can start now
 * (default 0: none), more for short tasks (see Prefetch above; 0 turns
 * that off too).  Takes effect at the next dispatch. */
void sched_set_prefetch(struct sched *s, unsigned n);

/* How many ended tasks keep their whole detail record (default
 * SCHED_DETAIL_LIMIT, about 64 MB); the records of older ones are
 * compacted at once, to what "Memory" above says they keep. */
#define SCHED_DETAIL_LIMIT 1000000
void sched_set_detail_limit(struct sched *s, size_t n);

/* Workers.  Ids are never reused; memory 0 means not accounted (any
 * task's memory fits).  sched_worker_next lists lost workers too (alive
 * 0). */
worker_id_t sched_worker_add(struct sched *s, const char *name,
			     unsigned cores, uint64_t memory);
/* The worker's GPUs (0 until said), right after sched_worker_add: a
 * task of N GPUs runs only where N are free, and no worker with fewer
 * takes it.  sched counts them; the worker names which devices. */
void sched_worker_set_gpus(struct sched *s, worker_id_t w, unsigned gpus);
/* Connection closed or heartbeats missed: its running tasks go back to
 * QUEUED (or FAILED past max_worker_losses); the worker is gone.  Tasks
 * it held without starting them go back to QUEUED, counting neither as a
 * loss nor as an attempt. */
void sched_worker_lost(struct sched *s, worker_id_t w);
/* Orderly end: no new tasks go to it (drain); those it holds are still
 * its to start. */
void sched_worker_drain(struct sched *s, worker_id_t w);
int sched_worker(struct sched *s, worker_id_t w, struct worker_info *out);
/* Worker `w`'s name alone (NULL: no such worker); it lasts as long as
 * the table. */
const char *sched_worker_name(const struct sched *s, worker_id_t w);
worker_id_t sched_worker_next(struct sched *s, worker_id_t after); /* -1 start, -1 end */

/* A run reported by its worker.  Exit 0 (no signal) -> DONE; else retry
 * or FAILED. Reports for tasks not running on that worker are ignored.
 * The worker then starts what it holds, as far as its cores allow. */
void sched_task_finished(struct sched *s, task_id_t id, worker_id_t w,
			 const struct task_result *res);

/* Place queued tasks on workers with enough free cores, GPUs and memory, in id
 * order with backfill, calling hooks->assign for each placement; tasks
 * that no worker can start now fill free prefetch slots on workers that
 * could ever run them (the one holding fewest of a few first). */
void sched_dispatch(struct sched *s);

/* Nothing waiting, queued or running. */
int sched_idle(struct sched *s);

/* What runnable tasks (queued or running) need, for a pool that sizes
 * itself to them.  Tasks past a bound (more than `max_cores` cores, more
 * than `max_memory` bytes, a time limit over `max_time` seconds; each 0:
 * none; more than `max_gpus` GPUs, 0 meaning a worker has none) are
 * left out: `over` counts those still queued, and the first
 * SCHED_DEMAND_SAMPLES submissions holding some are named by their first
 * queued task.  Read-only, one pass over the submissions, not the tasks. */
#define SCHED_DEMAND_SAMPLES 4
struct sched_demand {
	uint64_t tasks;			/* runnable within the bounds */
	uint64_t cores, memory;		/* what they need in all */
	uint64_t gpus;
	uint64_t over;			/* queued past a bound */
	struct sched_demand_over {
		task_id_t id;
		unsigned cores, gpus;
		uint64_t memory, time_limit;
	} sample[SCHED_DEMAND_SAMPLES];
	size_t nsample;
};
void sched_demand(struct sched *s, unsigned max_cores, uint64_t max_memory,
		  uint64_t max_time, unsigned max_gpus,
		  struct sched_demand *out);

/* The worker's batch job ends at `end` (Unix seconds; 0: not known).
 * From then on no task with a time limit starts on it unless the limit
 * ends SCHED_DEADLINE_MARGIN seconds before `end` (time to report the
 * result and leave); tasks without a time limit are placed as before.  A
 * task no live worker has the time left for waits, as one too big for
 * every worker does, until a worker that has joins. */
#define SCHED_DEADLINE_MARGIN 10.0
void sched_worker_set_deadline(struct sched *s, worker_id_t w, double end);

/* Runs kept across a scheduler restart.  Workers outlive a scheduler
 * that dies and rejoin the next one with the tasks they still run (or
 * ran and have not reported); the journal's replay says which tasks
 * were running.
 *
 * sched_restore_running: QUEUED task `id` becomes RUNNING as attempt
 * `attempt` (>= 1) on no worker, "unclaimed", until a worker claims it
 * or sched_requeue_unclaimed.  No hook runs.  -1 + errno ENOENT for an
 * unknown id, EINVAL for attempt 0 or a task not QUEUED.
 * sched_restore_running_on: the same, for a run the journal records on
 * the worker named `worker` (NULL or "": none named).
 *
 * sched_worker_claim: worker `w` says it runs `attempt` of task `id`,
 * started `running` seconds ago.  1: the run is w's from now on (an
 * unclaimed task of that attempt that fits w's free cores and memory,
 * or one w already claimed); its end is w's next report of it, and a
 * report that came with the rejoin (it ended while the scheduler was
 * away) counts as that attempt's end.  0: anything else (unknown,
 * ended, requeued, running elsewhere or as another attempt, a worker
 * lost or unknown): the table is unchanged and the caller tells the
 * worker to stop that run.
 *
 * sched_worker_claiming: while `on`, worker `w` takes no new task, so a
 * rejoining worker is not handed work for cores its kept runs hold
 * before it has claimed them all.
 *
 * sched_requeue_unclaimed: the server waited long enough (its grace
 * period): every task still unclaimed goes back to QUEUED, its reason
 * saying so, as a retry but not as a worker loss; returns how many.
 * sched_requeue_unclaimed_of: the worker named `worker` has rejoined
 * and its claims are all in: the tasks restored on that name that it
 * did not claim will not be claimed (it dropped them unstarted when its
 * link was lost) and go back to QUEUED at once, as
 * sched_requeue_unclaimed does; returns how many.  The grace then waits
 * only for the others.
 * sched_unclaimed: how many tasks are unclaimed now (0: nothing left to
 * wait for). */
int sched_restore_running(struct sched *s, task_id_t id, unsigned attempt);
int sched_restore_running_on(struct sched *s, task_id_t id, unsigned attempt,
			     const char *worker);
int sched_worker_claim(struct sched *s, worker_id_t w, task_id_t id,
		       unsigned attempt, double running);
void sched_worker_claiming(struct sched *s, worker_id_t w, int on);
uint64_t sched_requeue_unclaimed(struct sched *s);
uint64_t sched_requeue_unclaimed_of(struct sched *s, const char *worker);
uint64_t sched_unclaimed(struct sched *s);


/* Restoring a table from a journal (journal/): what one submission was,
 * and putting back what its tasks had done.  Replay submits what was
 * submitted in the same order, so ids come out the same and continue
 * from there. */
enum sched_submit_kind {
	SCHED_SUBMIT_SPEC,		/* sched_submit: one task or an array */
	SCHED_SUBMIT_EACH,		/* sched_submit_each: one last argument
					   each (sched_submission_arg) */
	SCHED_SUBMIT_ARGVS,		/* sched_submit_argvs: an argv each
					   (sched_task_argv) */
};
struct sched_submission {
	task_id_t first;
	uint64_t n;
	enum sched_submit_kind kind;
	const struct task_spec *spec;	/* the stored copy, as sched_task's */
	double submit_time;
};
/* The submission task `id` belongs to; -1 when the id is unknown.
 * Pointers valid until the next sched call. */
int sched_submission(struct sched *s, task_id_t id,
		     struct sched_submission *out);
/* The last argument of task `id` of a SCHED_SUBMIT_EACH submission, else
 * NULL.  Valid for the table's life. */
const char *sched_submission_arg(struct sched *s, task_id_t id);

/* How a task ended, for sched_restore_end. */
struct sched_end {
	enum task_state state;		/* DONE, FAILED or CANCELLED */
	int exit_code, signal;
	double runtime, end_time;	/* end_time 0: now */
	uint64_t peak_memory;
	unsigned attempts, failures, worker_losses;
	const char *reason;		/* copied; NULL: none */
};
/* Task `id`, waiting or queued, ends as `e` says, as a report would end
 * it (ended hook; dependents released or cancelled).  A task that has
 * ended already (a dependency cancelled it) is left alone, 0.  -1 when
 * the id is unknown, the task is running, or e->state is no end. */
int sched_restore_end(struct sched *s, task_id_t id,
		      const struct sched_end *e);
/* A waiting or queued task's run counts, as they were when its last run
 * started: retries and worker losses go on counting from there.  -1
 * when the id is unknown or the task is running or ended. */
int sched_restore_runs(struct sched *s, task_id_t id, unsigned attempts,
		       unsigned failures, unsigned worker_losses);

/* The submission holding task `id` was made at `t` (Unix seconds), not
 * at its replay. */
void sched_restore_submit_time(struct sched *s, task_id_t id, double t);

#endif
