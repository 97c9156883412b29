/*
 * task: what a task is, in the words every part of the program shares.
 * The scheduler's table (sched/), the worker (worker/), the CLI and the
 * API all speak of tasks; they meet here rather than in sched/, so that a
 * worker or a command-line tool need not see the scheduler to name a
 * task, its state or its result.
 *
 * Ids: tasks are numbered from 1 in submission order; an array of n
 * elements takes n consecutive ids.  Workers are numbered from 0.
 *
 * States: WAITING (dependencies not yet done) -> QUEUED -> RUNNING ->
 * DONE | FAILED, or CANCELLED from any state before an end.
 */
#ifndef CLUSTER_TASK_H
#define CLUSTER_TASK_H

#include <stdint.h>

#include "util/strbuf.h"

enum task_state {
	TASK_WAITING,
	TASK_QUEUED,
	TASK_RUNNING,
	TASK_DONE,
	TASK_FAILED,
	TASK_CANCELLED,
};
#define TASK_NSTATES 6

const char *task_state_name(enum task_state st);	/* "waiting", ... */
int task_state_parse(const char *s, enum task_state *st);

typedef uint64_t task_id_t;
typedef int32_t worker_id_t;		/* >= 0; -1 = none */

/* What the submitter gives.  sched_submit copies everything. */
struct task_spec {
	char *const *argv;		/* NULL-terminated; in an array every
					   "{}" in an argument is replaced by the
					   element's index */
	char *const *env;		/* "NAME=value" additions, NULL-terminated,
					   may be NULL */
	const char *cwd;		/* NULL: the worker's */
	const char *name;		/* group name; NULL: basename of argv[0] */
	unsigned cores;			/* >= 1 */
	uint64_t memory;		/* bytes reserved and enforced; 0: none */
	unsigned gpus;			/* GPUs reserved, named to the task in
					   CUDA_VISIBLE_DEVICES; 0: none */
	uint64_t time_limit;		/* seconds; 0: none */
	unsigned retries;		/* extra runs after a failure */
	unsigned max_worker_losses;	/* >= 1; 0 means the default, 3 */
	int is_array;
	int64_t array_first, array_last;	/* inclusive, first <= last */
	const task_id_t *after;		/* dependencies: earlier task ids
					   that must end DONE */
	unsigned nafter;
	const task_id_t *after_any;	/* earlier task ids that must end,
					   in any state (Slurm's afterany) */
	unsigned nafter_any;
	const char *stdout_path;	/* NULL: the worker's log directory */
	const char *stderr_path;
};

/* An array range as people write it: "A-B" or a single "A" (A <= B,
 * either may be negative: "-3--1").  -1 on anything else. */
int task_range_parse(const char *text, int64_t *first, int64_t *last);

enum task_stream {
	TASK_STDOUT,
	TASK_STDERR,
};

/* The one rule for where a task's output goes, for the server that tells
 * the worker and the API that reads it back: the spec's own path for the
 * stream, with every "{}" replaced by the array index when the task has
 * one, else LOG_DIR/ID.out or LOG_DIR/ID.err.  Appended to sb; nothing
 * when the spec has no path and log_dir is NULL (the worker then picks). */
void task_output_path(struct strbuf *sb, const char *log_dir, task_id_t id,
		      int has_index, int64_t index, enum task_stream stream,
		      const struct task_spec *spec);

/* Where the output of a stream without a path of its own goes (the
 * task.output key): the worker's log (state/worklog.h), a file per task
 * and stream by the rule above, or nowhere. */
enum task_output {
	TASK_OUTPUT_WORKER_LOG,
	TASK_OUTPUT_FILES,
	TASK_OUTPUT_DISCARD,
};
extern const char *const task_output_names[];	/* NULL-terminated */
/* TASK_OUTPUT_WORKER_LOG for NULL or anything unknown. */
enum task_output task_output_parse(const char *name);

/* A retried task keeps the output of every attempt: the path above is
 * the latest attempt's, and attempt N's, once a later one starts, is the
 * same path with ".attempt-N" before the extension of its last component
 * ("logs/7.out" -> "logs/7.attempt-1.out"; no extension: at the end).
 * Appended to sb. */
void task_attempt_path(struct strbuf *sb, const char *path, unsigned attempt);

/* Before a task's next attempt writes `path` (relative to `cwd` when not
 * absolute), rename what attempt `attempt` wrote there to its attempt
 * name.  A missing or empty file is left as it is.  -1 and errno when the
 * rename fails. */
int task_output_keep(const char *path, const char *cwd, unsigned attempt);

/* How one run ended, as the worker reports it. */
struct task_result {
	int exit_code;			/* valid when signal == 0 */
	int signal;			/* killing signal, 0 if it exited */
	double runtime;			/* seconds the command ran */
	uint64_t peak_memory;		/* bytes */
	const char *reason;		/* NULL, "time limit", "memory limit",
					   "spawn failed: ..." */
	double spawn, output;		/* seconds the worker took to start
					   it and to put its output in place
					   after it exited */
};

/* A snapshot of one task, as sched_task gives it; pointers valid until
 * the next sched call. */
struct task_info {
	task_id_t id;
	enum task_state state;
	const struct task_spec *spec;	/* the template (arrays share it) */
	int has_index;
	int64_t array_index;
	unsigned attempts;		/* runs started */
	unsigned failures;		/* runs that ended non-zero */
	unsigned worker_losses;
	worker_id_t worker;		/* running on, or last ran on; -1 */
	double submit_time, start_time, end_time;	/* 0 = not yet; a
					   prefetched task starts when its
					   worker has the cores for it (when
					   the last event that freed them
					   reached sched, or end_time - runtime
					   when it ended before that) */
	int exit_code, signal;		/* of the last run */
	double runtime;
	uint64_t peak_memory;
	const char *reason;		/* why it failed or was cancelled; for a
					   queued task, why it cannot be placed
					   ("waiting for a worker with N cores")
					   or why its last run failed */
};

/* Append `arg` to sb with every "{}" replaced by `index` (an array
 * element's index as text). */
void task_substitute_index(struct strbuf *sb, const char *arg,
			   const char *index);

#endif
