/*
 * Batch systems behind one ops table: local, slurm, pbs (PBS Professional)
 * and torque.  Everything that differs between them lives here, so that
 * the rest of the program asks a `struct backend` instead of comparing
 * the `backend` key's value.
 *
 * Backends take values, not a struct config: jobscript/ and pool/ read
 * the configuration, check it, and pass what the backend needs.  The
 * tables are constant and live for the whole program.
 */
#ifndef CLUSTER_BACKEND_H
#define CLUSTER_BACKEND_H

#include <stdint.h>

#include "util/strbuf.h"

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
	uint64_t memory;		/* per node, bytes */
	int head;			/* the first node also runs the scheduler
					   rank (a head or batch job) */
	char *const *skip;		/* job.skip: leave out every directive
					   that contains one of these; NULL-
					   terminated, or NULL */
};

struct backend {
	const char *name;		/* the `backend` key's value */
	int is_batch;			/* 0 for local: no batch system, jobs
					   are processes on this machine */
	const char *prefix;		/* "#SBATCH ", "#PBS ", NULL for local */
	const char *account_env;	/* the variable naming the project to
					   charge when job.account is unset:
					   SLURM_ACCOUNT, PBS_ACCOUNT; NULL */
	int scheduler_slot;		/* a head job's allocation has a slot of
					   its own for the scheduler rank (PBS
					   Pro's select line); elsewhere that
					   rank oversubscribes the workers' */

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

#endif
