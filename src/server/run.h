/*
 * run: the scheduler's run ladder, without MPI.  Whoever hosts the
 * scheduler (rank 0 of a head job, later a local daemon) calls
 *
 *	run_create -> run_start -> [tell the workers run_address] ->
 *	run_loop -> run_destroy
 *
 * run_start makes the event loop, starts the server from the config
 * (scheduler.*, worker.heartbeat, worker.prefetch) and, for a batch run,
 * submits the task file or the benchmark array; any other run with a
 * cluster name gets the pool (server/pool.h), with the head job (its id
 * from $CLUSTER_JOB_ID, its `expect_workers` workers) counted in it.  run_loop serves until
 * SIGTERM or SIGINT (a second one stops at once) or, for a batch run,
 * until every task has ended; then it asks the workers to leave, waits
 * for them a while, and for a batch run prints the summary on stdout and
 * a progress line on stderr while it runs: a live one when stderr is a
 * terminal, else a plain line every progress_interval seconds.
 *
 * A scheduler with a pool stops it on the way out (pool_manager_stop):
 * queued jobs cancelled, running ones drained for the timeout `cluster
 * stop` wrote to the state directory (state.h's stop file; else 30 s),
 * what is left cancelled in one command; the loop ends once that is done
 * and the workers have left.  The head job itself is never cancelled: it
 * ends when its ranks do.  Hosts: rank 0 of a head job (cluster-rank)
 * and the local daemon `cluster start` spawns.
 */
#ifndef CLUSTER_SERVER_RUN_H
#define CLUSTER_SERVER_RUN_H

#include <stdint.h>

struct config;
struct run;

struct run_opts {
	const char *name;		/* the cluster's; NULL: no pool */
	const char *config_file;	/* --config FILE (absolute) or NULL,
					   and --set KEY=VALUE as given
					   (NULL-terminated, or NULL): passed
					   on to the pool's workers */
	const char *const *sets;
	const char *run_file;		/* a task file to run, then end */
	uint64_t bench_array;		/* or an array of this many `true`s */
	int bench_rss;			/* print memory before and after the
					   array's submission, then end */
	/* the batch's tasks */
	unsigned task_cores;		/* >= 1 */
	uint64_t task_memory;		/* 0: none */
	uint64_t time_limit;		/* seconds, 0: none */
	long retries;			/* -1: task.retries */
	unsigned expect_workers;	/* workers that will join: wait for
					   them to leave */
	double t_start;			/* clock_monotonic() the run counts
					   its wall time from */
	int local_worker;		/* see run_set_local_worker */
	double progress_interval;	/* s between plain progress lines on
					   a stderr that is no terminal; 0:
					   none */
	int launcher;			/* pid of the process that started
					   this one (mpirun's): once it is
					   not the parent any more, the run
					   stops as on SIGTERM; 0: none */
};

/* Copies `o`; NULL when out of memory. */
struct run *run_create(const struct run_opts *o);
void run_destroy(struct run *r);

/* Start the scheduler, state under `state_dir`, and submit a batch's
 * tasks.  Returns the exit status: 0, 1 when the scheduler cannot start,
 * 2 when the batch cannot be submitted.  Errors are logged.  `cfg` need
 * only outlive this call. */
int run_start(struct run *r, const struct config *cfg, const char *state_dir);

/* "host:port" workers connect to; "" before a successful run_start. */
const char *run_address(const struct run *r);

/* The only worker of this run is `pid`, a child of this process (a batch
 * of one rank): run_loop reaps it, and a batch whose worker ended before
 * its tasks did stops then rather than wait for another. */
void run_set_local_worker(struct run *r, int pid);

/* Serve until told to stop, or until a batch run has ended.  Returns the
 * exit status: for a batch run 1 when a task failed or was cancelled, or
 * when the run stopped before every task ended; else 0. */
int run_loop(struct run *r);

#endif
