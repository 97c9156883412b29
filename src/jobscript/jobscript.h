/*
 * Batch job sizing and job scripts.
 *
 * A job has `nodes` and, per node, `cores`, `memory` and `processes`
 * (worker ranks per node).  Each worker gets cores/processes cores and
 * (memory - reserved)/processes bytes as its limit: job.reserved-memory
 * is left per node for what runs beside the workers (the scheduler rank,
 * a nanny per rank, the MPI daemons), which a cgroup limit on the job
 * counts too.  A head job runs one more rank, the scheduler, on its
 * first node; under PALS, which places the same number of ranks on every
 * node, the scheduler takes one worker's place instead.
 */
#ifndef CLUSTER_JOBSCRIPT_H
#define CLUSTER_JOBSCRIPT_H

#include <stdint.h>

#include "config/config.h"
#include "util/err.h"
#include "util/strbuf.h"

enum job_role { JOB_HEAD, JOB_WORKER, JOB_BATCH };

struct job_size {
	unsigned nodes;
	unsigned cores;			/* per node */
	unsigned processes;		/* worker ranks per node */
	unsigned threads;		/* cores per worker */
	unsigned gpus;			/* per node */
	unsigned worker_gpus;		/* per worker: gpus / processes, 0
					   when that is not whole */
	uint64_t memory;		/* per node, bytes as given */
	uint64_t reserved_memory;	/* per node, bytes no worker gets */
	uint64_t worker_memory;		/* per worker, bytes (the limit) */
	uint64_t walltime;		/* seconds */
};

/* Default worker count for `cores` when processes is unset: one worker per
 * core up to 4 cores, else the smallest divisor >= sqrt(cores). */
unsigned job_default_processes(unsigned cores);

/* Sizing from job.* keys; err names the value to change. */
int job_size_from_config(const struct config *cfg, struct job_size *js,
			 struct err *err);

struct job_script_opts {
	enum job_role role;
	const char *cluster_name;	/* --name */
	const char *batch_file;		/* JOB_BATCH: tasks file */
	const char *rank_path;		/* absolute path of cluster-rank */
	const char *state_dir;		/* $CLUSTER_HOME/<name>, where logs go
					   unless job.log-directory is set;
					   NULL when there is none yet */
	const char *templates_dir;	/* installed jobscripts/ */
	const char *config_file;	/* --config FILE (absolute), or NULL */
	const char *const *sets;	/* --set KEY=VALUE as the user gave
					   them, NULL-terminated, or NULL */
	int create_log_directory;	/* the script is to be submitted: make
					   job.log-directory (and its parents,
					   0700) when it is missing, as a batch
					   system fails a job whose log
					   directory is missing */
};

/* The launch line carries the job's configuration to every rank, so that
 * ranks size their workers as the job was sized and see the same keys:
 * cluster-rank gets --profile (the resolved profile), --config when one
 * was given, --cores and --memory (each worker's share) and every --set,
 * each value single-quoted. */

/* Render the whole script, exactly as it would be submitted.  Nothing is
 * created on failure. */
int job_script_render(const struct config *cfg,
		      const struct job_script_opts *opts,
		      struct strbuf *out, struct err *err);

/* The memory figure as the backend writes it ("3815MB" for PBS,
 * "3815M" for Slurm); rounded up, binary units. */
void job_memory_render(const char *backend, uint64_t bytes,
		       struct strbuf *out);

#endif
