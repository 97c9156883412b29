/*
 * Batch systems behind one ops table: local, slurm, pbs (PBS Professional
 * and OpenPBS) and torque.  Everything that differs between them lives
 * here, so that the rest of the program asks a `struct backend` instead
 * of comparing the `backend` key's value.
 *
 * Backends take values, not a struct config: jobscript/ and pool/ read
 * the configuration, check it, and pass what the backend needs.  The
 * tables are constant and live for the whole program.
 *
 * Talking to a batch system is split in two halves that never touch a
 * process themselves: one builds the argv of a command (submit, cancel,
 * status of many jobs, history), the other parses what that command
 * printed.  backend/run.h runs the argv; the tests feed recorded output
 * to the parsers.  Every command takes many jobs at once, so that a pool
 * of thousands of jobs costs one call per poll, not one per job.
 */
#ifndef CLUSTER_BACKEND_H
#define CLUSTER_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"
#include "util/strbuf.h"

/* --- jobs and their states ----------------------------------------------- */

/* The pool's vocabulary for a job, whatever the batch system calls it. */
enum job_state {
	JOB_STATE_UNKNOWN,		/* a code not known here, or a Slurm
					   transitional one: keep the state
					   the job had */
	JOB_STATE_QUEUED,		/* waiting for resources or its start
					   time: capacity */
	JOB_STATE_STARTING,		/* nodes allocated, booting: capacity */
	JOB_STATE_HELD,			/* held by the user or the system */
	JOB_STATE_RUNNING,
	JOB_STATE_SUSPENDED,		/* capacity: do not replace */
	JOB_STATE_ENDING,		/* completing or exiting: replace now */
	JOB_STATE_ENDED,		/* see enum job_end */
};

/* How an ended job ended. */
enum job_end {
	JOB_END_NONE,			/* not ended */
	JOB_END_COMPLETED,		/* exited 0 */
	JOB_END_WALLTIME,		/* time limit or deadline: not a failure */
	JOB_END_PREEMPTED,		/* not a failure */
	JOB_END_CANCELLED,		/* cancelled, or killed by SIGTERM or
					   SIGKILL (as a cancel does) */
	JOB_END_FAILED,			/* non-zero exit, node or boot failure,
					   out of memory, another signal */
	JOB_END_LOST,			/* ended with no word of how */
};

/* "queued", "running", ...; "completed", "walltime", ... */
const char *job_state_name(enum job_state state);
const char *job_end_name(enum job_end end);

#define JOB_ID_MAX 64

/* A job as the batch system knows it.  `id` is the base id: Slurm's
 * number without ";cluster", PBS's without ".server" (commands take the
 * short form and reach the default server), local's process id. */
struct job_ref {
	char id[JOB_ID_MAX];
	int array;			/* an array job or one of its elements */
	long index;			/* the element, or -1: the job itself
					   (for an array, all of it) */
};

struct job_status {
	struct job_ref ref;
	enum job_state state;
	enum job_end end;		/* JOB_END_NONE unless JOB_STATE_ENDED */
	int transitional;		/* Slurm RQ, RH, RF, RS, SI, SO: state
					   is UNKNOWN, keep the previous one */
	char raw[24];			/* the state code as printed: "PD",
					   "RUNNING", "F" */
	char reason[160];		/* why pending or held, or why it ended
					   (Slurm's reason, PBS's comment); "" */
	int has_exit;			/* exit_status and signal are known */
	int exit_status;		/* the job script's exit status, or the
					   batch system's own code (PBS -29) */
	int signal;			/* killed by this signal, or 0 */
	int64_t submit_time;		/* Unix seconds; 0 when not shown */
	int64_t start_time;		/* actual or expected; 0 when not shown */
	int64_t end_time;		/* actual or expected; 0 when not shown */
	int64_t time_limit;		/* seconds; 0 not shown, -1 unlimited */
	char name[128];			/* job name, "" when not shown */
};

/* A growable array of status records; zero-initialise, then release. */
struct job_status_list {
	struct job_status *v;
	size_t n, alloc;
};

void job_status_list_release(struct job_status_list *list);

/* --- commands -------------------------------------------------------------- */

/* A NULL-terminated argv that owns its strings; zero-initialise (or
 * BACKEND_ARGV_INIT), then release.  v is NULL until something is added. */
struct backend_argv {
	char **v;
	size_t n, alloc;
};
#define BACKEND_ARGV_INIT { NULL, 0, 0 }

void backend_argv_push(struct backend_argv *argv, const char *arg);
void backend_argv_pushf(struct backend_argv *argv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void backend_argv_release(struct backend_argv *argv);

/* One submission. */
struct backend_submit {
	const char *script;		/* path of the job script */
	const char *name;		/* job name on the command line, which
					   beats the script's; a name unique to
					   this submission lets the pool find
					   the job again when the submit timed
					   out (it may have been created); NULL */
	int hold;			/* submit held */
	int dry_run;			/* check without running: Slurm
					   --test-only; where the batch system
					   has none (dry_run_holds) the job is
					   submitted held and the caller cancels
					   it */
	int array;			/* an array job of first..last */
	unsigned first, last;
};

/* What one job asks of the batch system, for its header directives.
 * Strings are checked by the caller (single words, plain paths); the
 * backend writes them as they are. */
struct backend_job {
	const char *name;		/* job name */
	const char *queue;		/* queue or partition, or NULL */
	const char *account;		/* project to charge, or NULL */
	const char *priority;		/* PBS Pro job_priority, or NULL */
	const char *log_dir;		/* where the job's output files go */
	uint64_t walltime;		/* seconds */
	unsigned nodes;
	unsigned cores;			/* per node */
	unsigned processes;		/* worker ranks per node */
	unsigned threads;		/* cores per worker */
	unsigned gpus;			/* per node */
	const char *gpu_type;		/* GPU model (PBS Pro gpu_type, Slurm
					   gres type), or NULL; only with gpus */
	uint64_t memory;		/* per node, bytes */
	int head;			/* the first node also runs the scheduler
					   rank (a head or batch job) */
	char *const *skip;		/* job.skip: leave out every directive
					   that contains one of these; NULL-
					   terminated, or NULL */
};

/*
 * The ops table.  Function pointers a backend lacks are NULL: local has
 * no commands (see the backend_local_* functions below), torque no
 * history.  The argv builders append to `argv`; the parsers append one
 * record per job they can read to `list` and return 0, or -1 with err
 * naming the first thing they could not read (records read before and
 * after it are still appended).  A parser reads standard output whatever
 * the command's exit status: qstat exits non-zero when one id of many is
 * unknown but still prints the others.
 */
struct backend {
	const char *name;		/* the `backend` key's value */
	int is_batch;			/* 0 for local: no batch system, jobs
					   are processes on this machine */
	const char *prefix;		/* "#SBATCH ", "#PBS ", NULL for local */
	const char *account_env;	/* the variable naming the project to
					   charge when job.account is unset:
					   SLURM_ACCOUNT, PBS_ACCOUNT; NULL */
	const char *job_id_env;		/* set in the job: SLURM_JOB_ID, PBS_JOBID */
	const char *array_index_env;	/* SLURM_ARRAY_TASK_ID, PBS_ARRAY_INDEX,
					   PBS_ARRAYID, CLUSTER_JOB_INDEX */
	const char *const *command_env;	/* NAME=value set for every command
					   (Slurm's time format), or NULL */
	int scheduler_slot;		/* a head job's allocation has a slot of
					   its own for the scheduler rank (PBS
					   Pro's select line); elsewhere that
					   rank oversubscribes the workers' */
	int dry_run_holds;		/* a dry run leaves a held job behind
					   for the caller to cancel (PBS) */
	int slots_per_core;		/* the node list names each node once
					   per core (Torque's ppn), not once
					   per rank: mpirun must spread the
					   ranks over the nodes itself */

	/* 0 when the batch system takes `name` as a job name, else -1 with
	 * err saying its rule; NULL: any word will do. */
	int (*check_name)(const char *name, struct err *err);
	/* The memory figure in the batch system's units, rounded up. */
	void (*memory)(uint64_t bytes, struct strbuf *out);
	/* The memory request as the directives write it, from job->memory
	 * and job->nodes: "--mem=3815M", "mem=3815MB" (Torque's is the whole
	 * job's); NULL for local. */
	void (*memory_request)(const struct backend_job *job, struct strbuf *out);
	/* The generated header directives, one line each, prefix included;
	 * NULL for local. */
	void (*directives)(const struct backend *b, const struct backend_job *job,
			   struct strbuf *out);

	/* The array option as argv words: "--array=0-9", "-J" "0-9", "-t"
	 * "0-9".  -1 when the batch system cannot take that range (PBS Pro
	 * refuses a one-element array: submit a plain job instead). */
	int (*array_args)(unsigned first, unsigned last, struct backend_argv *argv,
			  struct err *err);
	/* A job id as commands take it: "123", "123_7"; "123[]", "123[7]". */
	void (*format_ref)(const struct job_ref *ref, struct strbuf *out);

	/* sbatch --parsable ... / qsub ... script */
	int (*submit_argv)(const struct backend_submit *s, struct backend_argv *argv,
			   struct err *err);
	/* The job a submission made, from what it printed: "123" or
	 * "123;cluster"; "123.server" or "123[].server". */
	int (*parse_submit)(const char *out, struct job_ref *ref, struct err *err);

	/* scancel / qdel with every id at once. */
	void (*cancel_argv)(const struct job_ref *refs, size_t n,
			    struct backend_argv *argv);

	/* The status of many jobs in one call.  Slurm lists all of the
	 * user's jobs rather than naming ids (squeue fails as a whole when
	 * one id is no longer known); the caller picks its own from the
	 * records.  A job missing from the output is not known to the batch
	 * system (yet, or any more). */
	void (*status_argv)(const struct job_ref *refs, size_t n,
			    struct backend_argv *argv);
	int (*parse_status)(const char *out, struct job_status_list *list,
			    struct err *err);

	/* What became of jobs that left the status output: sacct, qstat -x.
	 * NULL where the batch system keeps no history (torque).  Slurm's
	 * needs accounting, PBS Pro's job history on the server; without it
	 * the command fails or prints nothing. */
	void (*history_argv)(const struct job_ref *refs, size_t n,
			     struct backend_argv *argv);
	int (*parse_history)(const char *out, struct job_status_list *list,
			     struct err *err);
};

extern const struct backend backend_local;
extern const struct backend backend_slurm;
extern const struct backend backend_pbs;
extern const struct backend backend_torque;

/* Every backend's name, in the order messages list them; NULL-terminated.
 * The `backend` key's choices. */
extern const char *const backend_names[];

/* The backend called `name`, or NULL. */
const struct backend *backend_find(const char *name);

/* --- local jobs -------------------------------------------------------------- */

/*
 * A local job is a process group on this machine: the job script runs as
 * the leader of a new group, and the group's id (the leader's pid, as
 * decimal text in job_ref.id) is the job's id.  These calls are what the
 * pool uses in place of submit, cancel and status commands.
 */
struct backend_local_job {
	const char *script;		/* executable job script, run directly */
	const char *name;		/* CLUSTER_JOB_NAME, or NULL */
	long index;			/* CLUSTER_JOB_INDEX (array_index_env),
					   or -1 for none */
	const char *output;		/* stdout and stderr are appended to this
					   file, or NULL for /dev/null */
};

/* Start the script in its own process group with stdin from /dev/null,
 * every signal at its default and the caller's environment plus the
 * variables above.  The caller owns the child: it must call
 * backend_local_reap once the job has ended. */
int backend_local_submit(const struct backend_local_job *job, pid_t *pid,
			 struct err *err);

/* Send `sig` to the job's whole group; 0, or -1 with errno (ESRCH: no
 * such group any more). */
int backend_local_cancel(pid_t pid, int sig);

/* The job's state, without reaping it: a child of this process that has
 * ended is ENDED with its exit status or signal until reaped; a process
 * that is no child of ours (started before a restart) is read from /proc
 * and, once gone, is ENDED with JOB_END_LOST. */
void backend_local_status(pid_t pid, struct job_status *st);

/* The same for a job whose leader started at `start` (as
 * backend_local_started said then; 0: not known): a leader started at
 * another time is a stranger that got the pid, and the job is gone. */
void backend_local_status_of(pid_t pid, uint64_t start, struct job_status *st);

/* When `pid`, leading its own process group and not yet ended, started:
 * clock ticks since boot (/proc/PID/stat); -1 with errno ESRCH when no
 * such process leads a group. */
int backend_local_started(pid_t pid, uint64_t *start);

/* Collect an ended child without waiting: 0 when collected, 1 when it
 * still runs, -1 with errno (ECHILD: not ours, or already collected). */
int backend_local_reap(pid_t pid);

#endif
