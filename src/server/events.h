/*
 * events: the one fan-out of task, worker and batch job events in the
 * scheduler process.  The server feeds it from sched's hooks (tasks
 * queued, assigned, ended), the workers side from its connections (a
 * worker joined, left or was lost, a run's end as its worker reported
 * it) and the pool's side from the pool manager's hooks (a job changed);
 * whoever wants to know subscribes here and nowhere else: nothing but the
 * server hooks sched.  Subscribers today: the API's waiters, a batch run
 * (run.h), the pool manager (pool.h), the dashboard's feed (feed.h) and
 * the journal (journal.h).
 *
 * Delivery is synchronous, in the order the events happen, to the
 * subscribers in the order they subscribed.  While an event is being
 * delivered a subscriber may subscribe or unsubscribe anyone, itself
 * included: one unsubscribed gets nothing more, not even the rest of the
 * event under way; one subscribed gets the events after it.  An event
 * raised from inside a callback is delivered at once, in full, before the
 * outer delivery goes on.  Task events come from inside sched's hooks, so
 * a subscriber may call sched as a hook may (sched.h).
 */
#ifndef CLUSTER_SERVER_EVENTS_H
#define CLUSTER_SERVER_EVENTS_H

#include <stdint.h>

#include "pool/pool.h"
#include "sched/sched.h"

struct events;

/* The batch job a worker runs in, as it said in its handshake. */
struct events_job {
	const char *id;			/* base id; "" when in no job */
	int64_t index;			/* array element, or -1 */
	double end;			/* Unix seconds it ends; 0 unknown */
};

/* What a subscriber wants to hear; any callback may be NULL. */
struct events_ops {
	/* Tasks became QUEUED: a submission, a retry, a released
	 * dependency, the tasks of a lost worker; at most once per
	 * outermost sched call.  Which ones: tasks_released and
	 * task_requeued below (a submission's are new ids). */
	void (*tasks_queued)(void *arg);
	/* Task `id` was assigned to worker `w`, which starts it (at once,
	 * or when its cores free up if it was prefetched). */
	void (*task_assigned)(void *arg, task_id_t id, worker_id_t w);
	/* Task `id` reached DONE, FAILED or CANCELLED. */
	void (*task_ended)(void *arg, task_id_t id);
	/* Worker `w` reported how its run of task `id` ended (its DONE),
	 * told just before sched hears of it; sched may still take no
	 * notice (a run cancelled meanwhile). */
	void (*task_reported)(void *arg, task_id_t id, worker_id_t w,
			      const struct task_result *res);
	/* Worker `w` passed the handshake. */
	void (*worker_joined)(void *arg, worker_id_t w);
	/* Worker `w` is gone, its connection closed and its tasks requeued:
	 * `left` when it went after being asked to (SHUTDOWN), else lost;
	 * `why` in words ("missed heartbeats", ...). */
	void (*worker_lost)(void *arg, worker_id_t w, int left,
			    const char *why);
	/* The same two events with the worker's batch job (never NULL),
	 * told right after the two above; a subscriber that wants the job
	 * sets these instead. */
	void (*worker_joined_job)(void *arg, worker_id_t w,
				  const struct events_job *job);
	void (*worker_lost_job)(void *arg, worker_id_t w,
				const struct events_job *job, int left,
				const char *why);
	/* Which tasks a tasks_queued is about, each told before it:
	 * tasks of first..last released by their dependencies (those of
	 * the range that were not WAITING stay as they were), and task
	 * `id` back from a run on worker `w` (-1: a restored run no worker
	 * claimed).  As sched's released and requeued hooks say. */
	void (*tasks_released)(void *arg, task_id_t first, task_id_t last);
	void (*task_requeued)(void *arg, task_id_t id, worker_id_t w);
	/* A batch job of the pool changed (pool/manager.h's job_changed):
	 * `j` is only valid during the call. */
	void (*pool_job)(void *arg, const struct pool_job *j,
			 enum pool_job_change what, const char *name);
};

struct events *events_create(void);
/* Not from inside a delivery. */
void events_destroy(struct events *ev);

/* `ops` (not NULL) is not copied: it must outlive the subscription (a
 * static const table, typically).  The same pair may subscribe twice and
 * is then told twice.  Aborts when memory runs out, like strbuf. */
void events_subscribe(struct events *ev, const struct events_ops *ops,
		      void *arg);
/* Drops the first live subscription of this pair; no-op when none. */
void events_unsubscribe(struct events *ev, const struct events_ops *ops,
			void *arg);

/* For the server and the workers side: tell every subscriber. */
void events_tasks_queued(struct events *ev);
void events_task_assigned(struct events *ev, task_id_t id, worker_id_t w);
void events_task_ended(struct events *ev, task_id_t id);
void events_task_reported(struct events *ev, task_id_t id, worker_id_t w,
			  const struct task_result *res);
void events_worker_joined(struct events *ev, worker_id_t w);
void events_worker_lost(struct events *ev, worker_id_t w, int left,
			const char *why);
void events_tasks_released(struct events *ev, task_id_t first,
			   task_id_t last);
void events_task_requeued(struct events *ev, task_id_t id, worker_id_t w);
/* The same with the worker's job; NULL: in no job. */
void events_worker_joined_job(struct events *ev, worker_id_t w,
			      const struct events_job *job);
void events_worker_lost_job(struct events *ev, worker_id_t w,
			    const struct events_job *job, int left,
			    const char *why);
/* For the pool's side. */
void events_pool_job(struct events *ev, const struct pool_job *j,
		     enum pool_job_change what, const char *name);

#endif
