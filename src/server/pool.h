/*
 * pool: the pool manager (pool/manager.h) in the scheduler process.  The
 * manager sits below server/ and knows the process only by its hooks;
 * this side gives them (a worker's tasks and the demand of runnable tasks
 * from sched, drains through sched, SHUTDOWN through the workers side)
 * and forwards the server's worker events with their batch jobs to
 * pool_manager_worker_joined and _left, and new tasks as a kick.
 *
 * server_pool_start makes the pool of a scheduler that has a state
 * directory and a configuration: it renders the worker job script once,
 * as `cluster job-script --role worker` would, into the state directory
 * (state.h's worker.sh), reads the pool.* and job.* keys, counts the head
 * job's workers toward the target, and applies a target a `scale` left in
 * the state directory before the scheduler started.
 */
#ifndef CLUSTER_SERVER_POOL_H
#define CLUSTER_SERVER_POOL_H

#include "pool/manager.h"

struct config;
struct event_base;
struct server;

struct server_pool_opts {
	const struct config *cfg;	/* need only outlive the call */
	const char *cluster;		/* the cluster's name */
	const char *state_dir;		/* its state directory */
	const char *config_file;	/* --config FILE (absolute), or NULL */
	const char *const *sets;	/* --set KEY=VALUE as given,
					   NULL-terminated, or NULL */
	const char *head_job;		/* the head job's batch id
					   (CLUSTER_JOB_ID); NULL: none */
	unsigned head_workers;		/* its worker ranks */
	/* Where cluster-rank and the templates are; NULL:
	 * paths_bindir()/cluster-rank and paths_templates_dir(). */
	const char *rank_path;
	const char *templates_dir;
};

/* Start srv's pool on `base`: server_pool(srv) returns it from then on
 * and server_destroy ends it.  -1 (and no pool) when the job script
 * cannot be rendered or written, or the backend cannot submit jobs. */
int server_pool_start(struct server *srv, struct event_base *base,
		      const struct server_pool_opts *o, struct err *err);

/* For server_destroy: detach and destroy srv's pool, if any. */
void server_pool_stop(struct server *srv);

#endif
