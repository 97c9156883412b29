/*
 * feed: sched's hooks carry no task names, so the feed keeps two cursors
 * of its own: the last task id it counted (new ids are read once, with
 * their name and state, before any event about them is applied) and the
 * ids it counted as WAITING.  A task leaves WAITING by an end or by a
 * release its dependencies cause, and a run goes back to QUEUED without
 * an end by a requeue (a retry, a lost worker); both are told with their
 * ids, so each costs what it moves, never what else waits or runs.
 */
#include "server/feed.h"

#include <stdlib.h>
#include <string.h>

#include "api/activity.h"
#include "server/events.h"
#include "util/clock.h"
#include "util/vec.h"
#include "util/xalloc.h"

struct feed {
	struct sched *s;
	struct events *ev;
	struct activity *act;
	task_id_t seen;			/* tasks counted: 1..seen */
	task_id_t *waiting;		/* ascending; GONE set: no longer */
	size_t nwaiting, walloc;
	size_t ngone;			/* GONE entries in waiting */
};

static unsigned name_of(struct feed *f, const struct task_info *ti)
{
	return activity_name(f->act, ti->spec ? ti->spec->name : NULL);
}

static int is_end(enum task_state st)
{
	return st == TASK_DONE || st == TASK_FAILED || st == TASK_CANCELLED;
}

/* Count the tasks submitted since the last look; returns the old cursor.
 * A task already running is counted QUEUED: its assignment is yet to be
 * told. */
static task_id_t catch_up(struct feed *f)
{
	task_id_t old = f->seen, last = sched_last_id(f->s);
	struct task_info ti;

	for (task_id_t id = old + 1; id <= last; id++) {
		if (sched_task(f->s, id, &ti) < 0)
			continue;
		enum task_state st = ti.state;
		if (st == TASK_WAITING) {
			f->waiting = vec_grow(f->waiting, &f->walloc,
					      f->nwaiting + 1, sizeof(*f->waiting));
			f->waiting[f->nwaiting++] = id;
		} else if (!is_end(st)) {
			st = TASK_QUEUED;
		}
		activity_count(f->act, name_of(f, &ti), -1, st);
	}
	f->seen = last;
	return old;
}

/* A waiting id no longer waiting keeps its place, so the array stays
 * sorted, until more than half of it is gone. */
#define GONE ((task_id_t)1 << 63)

/* The index of the first entry not below `id`. */
static size_t waiting_from(const struct feed *f, task_id_t id)
{
	size_t lo = 0, hi = f->nwaiting;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((f->waiting[mid] & ~GONE) < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void compact_waiting(struct feed *f)
{
	size_t k = 0;

	for (size_t i = 0; i < f->nwaiting; i++)
		if (!(f->waiting[i] & GONE))
			f->waiting[k++] = f->waiting[i];
	f->nwaiting = k;
	f->ngone = 0;
}

static void mark_gone(struct feed *f, size_t i)
{
	f->waiting[i] |= GONE;
	if (++f->ngone * 2 > f->nwaiting)
		compact_waiting(f);
}

/* Was `id` counted WAITING?  It is not any more after this. */
static int take_waiting(struct feed *f, task_id_t id)
{
	size_t i = waiting_from(f, id);

	if (i == f->nwaiting || f->waiting[i] != id)
		return 0;
	mark_gone(f, i);
	return 1;
}

/* The seconds of the run of `ti` that began at `start`, ending now. */
static void run_actions(const struct task_info *ti, double start, double now,
			double act[ACTION_COUNT])
{
	memset(act, 0, sizeof(double) * ACTION_COUNT);
	if (ti->attempts <= 1 && ti->submit_time > 0 && start > ti->submit_time)
		act[ACTION_QUEUE_WAIT] = start - ti->submit_time;
	if (ti->runtime > 0 && ti->end_time >= start) {
		act[ACTION_RUN] = ti->runtime;
		act[ACTION_DISPATCH] = ti->end_time - start - ti->runtime;
	} else {
		act[ACTION_RUN] = now - start;
	}
}

/* A run that ended has the table's time of its end; one requeued, the
 * clock's. */
static void stop_run(struct feed *f, const struct task_info *ti,
		     worker_id_t w, double start, enum task_state how)
{
	double now = how != TASK_QUEUED && ti->end_time >= start ?
		ti->end_time : clock_wall();
	double act[ACTION_COUNT];

	run_actions(ti, start, now, act);
	activity_run_stop(f->act, now, ti->id, w, how, act);
}

/* ---- the events --------------------------------------------------------- */

/* New tasks are counted here at the latest. */
static void on_queued(void *arg)
{
	catch_up(arg);
}

/* Of first..last, those counted WAITING are QUEUED now; the others were
 * counted as they are, or have ended. */
static void on_released(void *arg, task_id_t first, task_id_t last)
{
	struct feed *f = arg;
	struct task_info ti;

	catch_up(f);
	for (size_t i = waiting_from(f, first); i < f->nwaiting; i++) {
		task_id_t id = f->waiting[i];
		if ((id & ~GONE) > last)
			break;
		if ((id & GONE) || sched_task(f->s, id, &ti) < 0)
			continue;
		activity_count(f->act, name_of(f, &ti), TASK_WAITING,
			       TASK_QUEUED);
		f->waiting[i] |= GONE;
		f->ngone++;
	}
	if (f->ngone * 2 > f->nwaiting)
		compact_waiting(f);
}

/* The run of `id` on `w` went back to the queue: lost with its worker or
 * failed with retries left. */
static void on_requeued(void *arg, task_id_t id, worker_id_t w)
{
	struct feed *f = arg;
	struct task_info ti;
	const struct activity_run *r;

	if (w < 0 || id > catch_up(f) || sched_task(f->s, id, &ti) < 0 ||
	    !(r = activity_run_find(f->act, id, w)))
		return;
	unsigned name = r->name;
	stop_run(f, &ti, w, r->start, TASK_QUEUED);
	activity_count(f->act, name, TASK_RUNNING, TASK_QUEUED);
}

static void on_assigned(void *arg, task_id_t id, worker_id_t w)
{
	struct feed *f = arg;
	struct task_info ti;
	int from;
	unsigned name;

	catch_up(f);
	if (sched_task(f->s, id, &ti) < 0)
		return;
	from = take_waiting(f, id) ? TASK_WAITING : TASK_QUEUED;
	name = name_of(f, &ti);
	activity_run_start(f->act, clock_wall(), id, w, name);
	activity_count(f->act, name, from, TASK_RUNNING);
}

static void on_ended(void *arg, task_id_t id)
{
	struct feed *f = arg;
	struct task_info ti;
	const struct activity_run *r;
	int from = TASK_QUEUED;
	unsigned name;

	if (id > catch_up(f) || sched_task(f->s, id, &ti) < 0)
		return;		/* new: counted as it ended */
	/* a run keeps its name's index: no lookup of the name again */
	if ((r = activity_run_find(f->act, id, ti.worker))) {
		name = r->name;
		stop_run(f, &ti, ti.worker, r->start, ti.state);
		from = TASK_RUNNING;
	} else {
		name = name_of(f, &ti);
		if (take_waiting(f, id))
			from = TASK_WAITING;
	}
	activity_count(f->act, name, from, ti.state);
}

/* The worker's own times of the run, for its stop that follows. */
static void on_reported(void *arg, task_id_t id, worker_id_t w,
			const struct task_result *res)
{
	struct feed *f = arg;

	activity_run_report(f->act, id, w, res->spawn, res->runtime,
			    res->output);
}

static const struct events_ops feed_ops = {
	.tasks_queued = on_queued,
	.task_assigned = on_assigned,
	.task_ended = on_ended,
	.task_reported = on_reported,
	.tasks_released = on_released,
	.task_requeued = on_requeued,
};

struct feed *feed_create(struct sched *s, struct events *ev)
{
	struct feed *f = xcalloc(1, sizeof(*f));

	f->s = s;
	f->ev = ev;
	f->act = activity_create(0, 0);
	events_subscribe(ev, &feed_ops, f);
	return f;
}

void feed_destroy(struct feed *f)
{
	if (!f)
		return;
	events_unsubscribe(f->ev, &feed_ops, f);
	activity_destroy(f->act);
	free(f->waiting);
	free(f);
}

struct activity *feed_activity(struct feed *f)
{
	return f->act;
}
