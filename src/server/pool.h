/*
 * pool: the pool manager (pool/manager.h) in the scheduler process.  The
 * manager sits below server/ and knows the process only by its hooks;
 * this side gives them (a worker's tasks from sched, drains through
 * sched, SHUTDOWN through the workers side) and forwards the server's
 * worker events with their batch jobs to pool_manager_worker_joined and
 * _left.
 */
#ifndef CLUSTER_SERVER_POOL_H
#define CLUSTER_SERVER_POOL_H

#include "pool/manager.h"

struct server;

/* The hooks a manager on `srv` is created with; valid for srv's life. */
void server_pool_hooks(struct server *srv, struct pool_manager_hooks *out);

/* Tell `m` of srv's workers joining and leaving, until detached (before
 * either is destroyed). */
void server_pool_attach(struct server *srv, struct pool_manager *m);
void server_pool_detach(struct server *srv, struct pool_manager *m);

#endif
