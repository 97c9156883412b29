/*
 * events: subscribers in an array, in subscription order.  A delivery
 * walks the entries that were there when it began, by index, so a
 * subscription made meanwhile (which may move the array) is safe and
 * waits for the next event.  Unsubscribing while any delivery is under
 * way only clears the entry, and the array is compacted when the
 * outermost delivery ends; indices never shift under a delivery, and an
 * entry cleared is skipped at once.
 */
#include "server/events.h"

#include <stdlib.h>

#include "util/vec.h"

struct sub {
	const struct events_ops *ops;	/* NULL: unsubscribed */
	void *arg;
};

struct events {
	struct sub *subs;
	size_t n, alloc;
	unsigned depth;			/* deliveries under way */
	int cleared;			/* entries to compact */
};

struct events *events_create(void)
{
	return calloc(1, sizeof(struct events));
}

void events_destroy(struct events *ev)
{
	if (!ev)
		return;
	free(ev->subs);
	free(ev);
}

void events_subscribe(struct events *ev, const struct events_ops *ops,
		      void *arg)
{
	ev->subs = vec_grow(ev->subs, &ev->alloc, ev->n + 1, sizeof(*ev->subs));
	ev->subs[ev->n].ops = ops;
	ev->subs[ev->n].arg = arg;
	ev->n++;
}

static void compact(struct events *ev)
{
	size_t k = 0;

	for (size_t i = 0; i < ev->n; i++)
		if (ev->subs[i].ops)
			ev->subs[k++] = ev->subs[i];
	ev->n = k;
	ev->cleared = 0;
}

void events_unsubscribe(struct events *ev, const struct events_ops *ops,
			void *arg)
{
	for (size_t i = 0; i < ev->n; i++) {
		struct sub *s = &ev->subs[i];
		if (s->ops && s->ops == ops && s->arg == arg) {
			s->ops = NULL;
			ev->cleared = 1;
			break;
		}
	}
	if (ev->cleared && !ev->depth)
		compact(ev);
}

/* A delivery walks the entries there at its start, looking each up again
 * for every call since a callback may move the array. */
static size_t deliver_begin(struct events *ev)
{
	ev->depth++;
	return ev->n;
}

static void deliver_end(struct events *ev)
{
	if (--ev->depth == 0 && ev->cleared)
		compact(ev);
}

void events_tasks_queued(struct events *ev)
{
	size_t n = deliver_begin(ev);

	for (size_t i = 0; i < n; i++) {
		const struct sub *s = &ev->subs[i];
		if (s->ops && s->ops->tasks_queued)
			s->ops->tasks_queued(s->arg);
	}
	deliver_end(ev);
}

void events_task_assigned(struct events *ev, task_id_t id, worker_id_t w)
{
	size_t n = deliver_begin(ev);

	for (size_t i = 0; i < n; i++) {
		const struct sub *s = &ev->subs[i];
		if (s->ops && s->ops->task_assigned)
			s->ops->task_assigned(s->arg, id, w);
	}
	deliver_end(ev);
}

void events_tasks_released(struct events *ev, task_id_t first,
			   task_id_t last)
{
	size_t n = deliver_begin(ev);

	for (size_t i = 0; i < n; i++) {
		const struct sub *s = &ev->subs[i];
		if (s->ops && s->ops->tasks_released)
			s->ops->tasks_released(s->arg, first, last);
	}
	deliver_end(ev);
}

void events_task_requeued(struct events *ev, task_id_t id, worker_id_t w)
{
	size_t n = deliver_begin(ev);

	for (size_t i = 0; i < n; i++) {
		const struct sub *s = &ev->subs[i];
		if (s->ops && s->ops->task_requeued)
			s->ops->task_requeued(s->arg, id, w);
	}
	deliver_end(ev);
}

void events_task_ended(struct events *ev, task_id_t id)
{
	size_t n = deliver_begin(ev);

	for (size_t i = 0; i < n; i++) {
		const struct sub *s = &ev->subs[i];
		if (s->ops && s->ops->task_ended)
			s->ops->task_ended(s->arg, id);
	}
	deliver_end(ev);
}

void events_task_reported(struct events *ev, task_id_t id, worker_id_t w,
			  const struct task_result *res)
{
	size_t n = deliver_begin(ev);

	for (size_t i = 0; i < n; i++) {
		const struct sub *s = &ev->subs[i];
		if (s->ops && s->ops->task_reported)
			s->ops->task_reported(s->arg, id, w, res);
	}
	deliver_end(ev);
}

static const struct events_job no_job = { "", -1, 0 };

void events_worker_joined(struct events *ev, worker_id_t w)
{
	events_worker_joined_job(ev, w, NULL);
}

void events_worker_lost(struct events *ev, worker_id_t w, int left,
			const char *why)
{
	events_worker_lost_job(ev, w, NULL, left, why);
}

void events_worker_joined_job(struct events *ev, worker_id_t w,
			      const struct events_job *job)
{
	size_t n = deliver_begin(ev);

	if (!job)
		job = &no_job;
	for (size_t i = 0; i < n; i++) {
		const struct sub *s = &ev->subs[i];
		if (s->ops && s->ops->worker_joined)
			s->ops->worker_joined(s->arg, w);
		s = &ev->subs[i];	/* the call may have moved it */
		if (s->ops && s->ops->worker_joined_job)
			s->ops->worker_joined_job(s->arg, w, job);
	}
	deliver_end(ev);
}

void events_worker_lost_job(struct events *ev, worker_id_t w,
			    const struct events_job *job, int left,
			    const char *why)
{
	size_t n = deliver_begin(ev);

	if (!job)
		job = &no_job;
	for (size_t i = 0; i < n; i++) {
		const struct sub *s = &ev->subs[i];
		if (s->ops && s->ops->worker_lost)
			s->ops->worker_lost(s->arg, w, left, why);
		s = &ev->subs[i];
		if (s->ops && s->ops->worker_lost_job)
			s->ops->worker_lost_job(s->arg, w, job, left, why);
	}
	deliver_end(ev);
}

void events_pool_job(struct events *ev, const struct pool_job *j,
		     enum pool_job_change what, const char *name)
{
	size_t n = deliver_begin(ev);

	for (size_t i = 0; i < n; i++) {
		const struct sub *s = &ev->subs[i];
		if (s->ops && s->ops->pool_job)
			s->ops->pool_job(s->arg, j, what, name);
	}
	deliver_end(ev);
}
