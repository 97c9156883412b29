/*
 * pool: the pool manager's hooks and events, from the server's side; see
 * pool.h.  Nothing but this file ties the two together, so the manager
 * can be run and tested with hooks of its own.
 */
#include "server/pool.h"

#include "server/events.h"
#include "server/server.h"

static int hook_busy(void *arg, worker_id_t w)
{
	struct worker_info wi;

	return sched_worker(server_sched(arg), w, &wi) == 0 &&
		(wi.running || wi.prefetched);
}

static void hook_drain(void *arg, worker_id_t w)
{
	sched_worker_drain(server_sched(arg), w);
	server_kick(arg);
}

static void hook_shutdown(void *arg, worker_id_t w, const char *reason)
{
	server_shutdown_worker(arg, w, reason);
	server_kick(arg);
}

void server_pool_hooks(struct server *srv, struct pool_manager_hooks *out)
{
	out->arg = srv;
	out->worker_busy = hook_busy;
	out->drain_worker = hook_drain;
	out->shutdown_worker = hook_shutdown;
}

static void on_joined(void *arg, worker_id_t w, const struct events_job *job)
{
	pool_manager_worker_joined(arg, w, job->id, job->index, job->end);
}

static void on_lost(void *arg, worker_id_t w, const struct events_job *job,
		    int left, const char *why)
{
	(void)left;
	(void)why;
	pool_manager_worker_left(arg, w, job->id, job->index);
}

static const struct events_ops pool_events = {
	.worker_joined_job = on_joined,
	.worker_lost_job = on_lost,
};

void server_pool_attach(struct server *srv, struct pool_manager *m)
{
	events_subscribe(server_events(srv), &pool_events, m);
}

void server_pool_detach(struct server *srv, struct pool_manager *m)
{
	events_unsubscribe(server_events(srv), &pool_events, m);
}
