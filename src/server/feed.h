/*
 * feed: the dashboard's activity (api/activity.h), fed from the fan-out
 * of task events.  It learns of new tasks when sched says tasks were
 * queued (or at the next event), counts them per name and state, and
 * turns each assignment and end into the ring's START and STOP events,
 * and each run that went back to the queue (a lost worker, a retry) into
 * a STOP as it is requeued.  The server creates it with the API and
 * hands the activity to the API's routes.
 */
#ifndef CLUSTER_SERVER_FEED_H
#define CLUSTER_SERVER_FEED_H

#include "sched/sched.h"

struct activity;
struct events;
struct feed;

/* Subscribes to `ev` at once; both must outlive the feed. */
struct feed *feed_create(struct sched *s, struct events *ev);
/* Unsubscribes; not from inside a delivery. */
void feed_destroy(struct feed *f);
struct activity *feed_activity(struct feed *f);

#endif
