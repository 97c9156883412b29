/*
 * exec: runs a worker's tasks as child processes on a libevent loop.
 *
 * Each task is started with posix_spawn in its own process group, with the
 * worker's environment plus CLUSTER_TASK_ID, CLUSTER_ARRAY_INDEX (when the
 * task is an array element), CLUSTER_WORKER, CUDA_VISIBLE_DEVICES when
 * the worker names the task's GPUs, and the task's own additions,
 * stdout/stderr redirected to files or, through pipes, to the worker's
 * log (worker/output.h).  Past its time limit the group gets
 * SIGTERM, then SIGKILL after a grace period; over its memory limit
 * (resident set of the group, sampled) it is killed.  When it ends the
 * done callback gets exit status, runtime and peak memory, and the
 * seconds exec spent on either side of the run: spawn (exec_start's
 * call to the child running) and output (the leader's exit seen to the
 * task reaped, its pipes read into the worker log and closed).  Runtime
 * is the span between the two.
 *
 * The base environment is the worker's environ as it is at exec_create
 * (minus any inherited CLUSTER_TASK_ID, CLUSTER_ARRAY_INDEX and
 * CLUSTER_WORKER); argv[0] is looked up in the worker's PATH, and an
 * executable file that is neither a binary nor starts with #! runs as
 * `/bin/sh FILE ARGS...`, as execvp would run it.  stdin is
 * /dev/null, descriptors above 2 are closed, every signal starts at its
 * default and unblocked.  Missing parent directories of the output files
 * are created; one path for both streams is opened once.  When a task's
 * main process ends, whatever it left running in its process group is
 * killed.  Memory is sampled every 100 ms, only while tasks with a limit
 * run; peak memory is the larger of the samples and the leader's
 * ru_maxrss.  exec_create resets SIGCHLD to SIG_DFL if it was ignored (exit
 * statuses would be lost otherwise).
 */
#ifndef CLUSTER_EXEC_H
#define CLUSTER_EXEC_H

#include <stdint.h>
#include <sys/types.h>

#include "task/task.h"
#include "util/err.h"

struct event_base;

struct exec_task {
	task_id_t id;
	char *const *argv;		/* NULL-terminated, argv[0] looked up in PATH */
	char *const *env;		/* additions "NAME=value", may be NULL */
	const char *cwd;		/* NULL: inherit */
	int has_index;
	int64_t array_index;
	uint64_t memory_limit;		/* bytes, 0: none */
	uint64_t time_limit;		/* seconds, 0: none */
	const char *stdout_path;	/* file, created/truncated; NULL: the
					   worker log, or /dev/null */
	const char *stderr_path;
	const char *visible_gpus;	/* CUDA_VISIBLE_DEVICES for the task,
					   replacing the worker's ("" hides
					   every GPU); NULL: left as it is */
	const char *log_dir;		/* worker log (worker/output.h) for
					   the streams without a path; NULL:
					   those go to /dev/null */
	unsigned attempt;		/* the run, for the worker log */
};

/* res->reason points at static text or memory owned by exec, valid during
 * the callback only: NULL, "time limit", "memory limit", "cancelled" or
 * "exit status lost" (someone else reaped the process).  A task that exec
 * signalled but that exited on its own reports that signal in res->signal
 * too (with its exit code), so it never looks like a success. */
typedef void (*exec_done_fn)(void *arg, task_id_t id,
			     const struct task_result *res);

struct exec;

struct exec *exec_create(struct event_base *base, const char *worker_name,
			 exec_done_fn done, void *arg);
/* Kills every running task (SIGKILL to each group) and reaps them; the
 * done callback is not called for them.  Call before freeing the base;
 * may be called from inside the done callback. */
void exec_destroy(struct exec *ex);

/* Start one task.  -1 + err when it cannot even be spawned (the done
 * callback is not called then). */
int exec_start(struct exec *ex, const struct exec_task *t, struct err *err);
/* Stop a running task: TERM, then KILL after the grace period; the done
 * callback reports it. */
void exec_kill(struct exec *ex, task_id_t id);
/* Stop a running task at once (SIGKILL to its group) and reap it; the
 * done callback is not called.  For a run nobody will hear of, whose id
 * may be started again right after. */
void exec_discard(struct exec *ex, task_id_t id);
unsigned exec_running(const struct exec *ex);

/* The worker log's rotation size in bytes (0: the default); closes the
 * log, which the next output opens again (call it for each scheduler). */
void exec_set_log_size(struct exec *ex, uint64_t bytes);

/* Seconds between TERM and KILL (default 5). */
void exec_set_grace(struct exec *ex, double seconds);

/* The pid (= process group id) of a running task; 0 when not running. */
pid_t exec_pid(const struct exec *ex, task_id_t id);

/* Use the paths taken on older kernels even where the new ones exist (so
 * tests can cover them): EXEC_NO_PIDFD reaps with SIGCHLD (this exec then
 * owns the base's SIGCHLD event), EXEC_NO_CHILDREN_FILES samples memory
 * by scanning /proc for the task's process group.  Only while no task
 * runs; -1 + errno otherwise. */
#define EXEC_NO_PIDFD		1u
#define EXEC_NO_CHILDREN_FILES	2u
int exec_set_fallbacks(struct exec *ex, unsigned flags);

#endif
