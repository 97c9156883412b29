/*
 * worker: one worker process.  Connects to the scheduler, proves it knows
 * the token and checks the scheduler's proof (proto.h), announces its
 * cores, GPUs and memory, runs what it is sent with exec.h, reports each end,
 * and exchanges heartbeats.  While the scheduler is unreachable it keeps
 * trying to reconnect, its running tasks running on and the ends of those
 * that finish kept, and gives up (killing them) after `death_timeout`
 * seconds, or at once when the scheduler has removed its address file
 * (it ended in order).  One that never joined a scheduler in that time
 * says so in its exit status (WORKER_EXIT_NEVER).
 *
 * Rejoining: before each reconnect it reads the state directory's address
 * and token files anew, as far as they named the scheduler and token it
 * was given (follow.h), so it finds a scheduler restarted with a new port
 * and token.  It tells the scheduler it joins which tasks it runs, and
 * reports the ends it kept; the scheduler takes back the runs it knows
 * (after a restart, from its journal) and has the others killed (worker.c
 * and cluster-protocol(7) say how).  Tasks it held without starting them
 * are dropped with the link.
 *
 * SHUTDOWN from the scheduler, or SIGTERM: no new tasks, the running ones
 * finish, then the worker leaves and exits 0.  A second SIGTERM kills the
 * running tasks.
 */
#ifndef CLUSTER_WORKER_H
#define CLUSTER_WORKER_H

#include <stdint.h>

/* Exit codes, which the nanny reads. */
enum worker_exit {
	WORKER_EXIT_OK = 0,		/* orderly end (SHUTDOWN, SIGTERM) */
	WORKER_EXIT_ERROR = 1,		/* unexpected failure: worth a restart */
	WORKER_EXIT_USAGE = 2,		/* bad options or refused token:
					   a restart would fail the same way */
	WORKER_EXIT_GONE = 3,		/* scheduler gone past death_timeout */
	WORKER_EXIT_NEVER = 4,		/* no scheduler answered within
					   death_timeout of the start */
};

struct worker_opts {
	const char *host;		/* scheduler host */
	uint16_t port;
	const char *name;		/* NULL: "host:pid" */
	const char *token;		/* 64 hex characters */
	unsigned cores;			/* >= 1 */
	uint64_t memory;		/* bytes */
	const char *gpus;		/* "auto" (NULL too) or a count, as
					   gpus_detect takes it */
	double death_timeout;		/* seconds; 0: 60 */
	const char *state_dir;		/* the cluster's; NULL: unknown.  A
					   worker that cannot reach its
					   scheduler and finds no address file
					   there (the scheduler ended in order)
					   exits 0 at once */
	uint64_t log_size;		/* worker log rotation size; 0: default */
	int bench_noop;			/* report each RUN done at once, exit 0,
					   without spawning (benchmarks only) */
	int say_joined;			/* log its first join at LOG_INFO, for
					   a worker started by hand */
};

/* Runs until the end; returns an enum worker_exit value. */
int worker_run(const struct worker_opts *o);

#endif
