/*
 * activity: what the dashboard and `cluster top` read, kept as it
 * happens so that no answer has to walk the task table.  A bounded ring
 * of recent task events (a run started on a worker slot, a run stopped
 * with its times) and running aggregates: tasks by state per task name,
 * seconds summed per action.  The actions split a run's time the way
 * Dask's "time per action" does, in the order views list them: queue
 * wait, dispatch, spawn, run, output.  No I/O and no sched: server/feed.c
 * feeds it from the fan-out of task events, the API's routes read it.
 *
 * Cursors: every event gets the next sequence number, from 1, so a
 * reader asks for what came after the last number it saw.  The ring
 * keeps the latest `ring` events; older ones are gone and a reader
 * behind them is told how many it missed.
 *
 * Names: the first `names` task names are counted apart, every later one
 * under ACTIVITY_OTHER, so the aggregates stay bounded whatever is
 * submitted.
 */
#ifndef CLUSTER_API_ACTIVITY_H
#define CLUSTER_API_ACTIVITY_H

#include <stddef.h>
#include <stdint.h>

#include "task/task.h"

#define ACTIVITY_RING 8192		/* events kept, by default */
#define ACTIVITY_NAMES 256		/* names counted apart, by default */
#define ACTIVITY_OTHER "(other)"

enum activity_kind {
	ACTIVITY_START,			/* a run began on worker/slot */
	ACTIVITY_STOP,			/* a run ended (or went back to the queue) */
};

/* Where a task's time goes, summed over runs, in the order views show
 * them. */
enum activity_action {
	ACTION_QUEUE_WAIT,		/* submitted -> assigned */
	ACTION_DISPATCH,		/* assigned -> ended, less what the
					   worker reports: sending the task,
					   waiting at the worker for its
					   cores, reporting its end */
	ACTION_SPAWN,			/* the worker starting it: taken off
					   its queue -> the process runs */
	ACTION_RUN,			/* the command's own run */
	ACTION_OUTPUT,			/* its exit -> its output in place */
	ACTION_COUNT
};

const char *activity_action_name(enum activity_action a);	/* "queue_wait" */

struct activity_event {
	uint64_t seq;			/* the cursor, from 1 */
	enum activity_kind kind;
	double time;			/* Unix s */
	task_id_t id;
	worker_id_t worker;
	unsigned slot;			/* row of the worker, from 0 */
	unsigned name;			/* activity_name_text's index */
	/* STOP only: */
	enum task_state state;		/* DONE, FAILED, CANCELLED; QUEUED: the
					   run is lost or will be retried */
	double start;			/* when the run began, Unix s */
	double action[ACTION_COUNT];	/* seconds of this run */
};

/* A run under way, as activity_runs lists it. */
struct activity_run {
	task_id_t id;
	unsigned slot;
	unsigned name;
	double start;
	int reported;			/* its worker told how it went: */
	double spawn, runtime, output;	/* seconds */
};

struct activity;

/* ring, names: 0 takes the defaults. */
struct activity *activity_create(size_t ring, size_t names);
void activity_destroy(struct activity *a);

/* The index of `name` (NULL or "" counts as ACTIVITY_OTHER), added when
 * new and there is room. */
unsigned activity_name(struct activity *a, const char *name);
const char *activity_name_text(const struct activity *a, unsigned name);
size_t activity_nnames(const struct activity *a);

/* One task of `name` goes from state `from` (-1: it is new) to `to`. */
void activity_count(struct activity *a, unsigned name, int from,
		    enum task_state to);
/* Tasks of `name` per state. */
const uint64_t *activity_counts(const struct activity *a, unsigned name);

/* Task `id` of `name` starts a run on worker `w` at `time`: it takes the
 * worker's lowest free slot (returned) and a START event. */
unsigned activity_run_start(struct activity *a, double time, task_id_t id,
			    worker_id_t w, unsigned name);
/* Worker `w` reported (its DONE) the seconds its run of `id` took to
 * start, ran and took to put its output in place, before the run is
 * stopped.  -1 (and nothing kept) when no such run is under way. */
int activity_run_report(struct activity *a, task_id_t id, worker_id_t w,
			double spawn, double runtime, double output);
/* The run of `id` on `w` ended at `time` in `state`: a STOP event with
 * the run's slot, name and start, its seconds added to the actions' sums.
 * `action` (NULL: all 0; a negative value counts as 0) is the run as the
 * scheduler saw it.  For a run its worker reported, the time from its
 * assignment to its end (action's dispatch, spawn, run and output
 * together) is split into the spawn, run and output reported and the
 * dispatch that remains (never below 0).  -1 (and nothing recorded) when
 * no such run is under way. */
int activity_run_stop(struct activity *a, double time, task_id_t id,
		      worker_id_t w, enum task_state state,
		      const double action[ACTION_COUNT]);
/* The run of `id` on `w`, or NULL.  Valid until the next change. */
const struct activity_run *activity_run_find(struct activity *a,
					     task_id_t id, worker_id_t w);
/* The slots of worker `w`, indexed by slot: those with id 0 are free.
 * Valid until the next change. */
const struct activity_run *activity_runs(const struct activity *a,
					 worker_id_t w, size_t *n);
/* One more than the highest worker id ever given a run. */
worker_id_t activity_nworkers(const struct activity *a);

/* Seconds summed, and runs counted, per action. */
double activity_action_seconds(const struct activity *a,
			       enum activity_action act);
uint64_t activity_action_runs(const struct activity *a,
			      enum activity_action act);

/* The ring: the first and last sequence numbers kept (first > last when
 * empty; last is 0 before any event), and one event by its number (NULL
 * when it is not kept). */
uint64_t activity_first(const struct activity *a);
uint64_t activity_last(const struct activity *a);
const struct activity_event *activity_event(const struct activity *a,
					    uint64_t seq);

#endif
