/*
 * heartbeat: how often the scheduler and its workers exchange heartbeats,
 * whose turn it is, and the timer wheel that finds the silent ones.  Pure
 * state, no I/O: workers.c runs it on the loop.
 *
 * Interval.  Each side sends one heartbeat per interval, so N workers cost
 * the scheduler N/interval frames a second each way.  The scheduler keeps
 * that under a budget (heartbeats a second, each way) by scaling the
 * interval with N, as Dask does: worker.heartbeat times the least power of
 * two whose interval carries N within the budget.  It steps down again
 * only once N is at most half of what the shorter interval carries, so a
 * pool that hovers about a step does not retell every worker.
 *
 * Turns.  One sweep on the loop visits the workers in turn, each once per
 * round, at a pace that makes a round last one interval: T ms since the
 * last tick with N workers owe N*T/pace visits.  A visit sends the
 * heartbeat that tells the worker the interval.  A longer interval is
 * told for a whole round before the sweep slows down to it, so no worker
 * waits longer for the scheduler's heartbeat than the interval it was
 * last told allows; a shorter one takes effect at once (the workers only
 * hear more often).
 *
 * Wheel.  Liveness deadlines sit in a hashed timer wheel of one slot per
 * tick, and are checked lazily: a deadline is set when a worker joins and
 * looked at when it falls due; a worker heard from meanwhile goes back on
 * the wheel at its new deadline.  So a tick costs the deadlines that fall
 * in it, about N/(missed * interval) a second, not a look at every worker.
 */
#ifndef CLUSTER_SERVER_HEARTBEAT_H
#define CLUSTER_SERVER_HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

#define HEARTBEAT_BUDGET	1000	/* heartbeats a second, each way */
#define HEARTBEAT_MAX_MS	3600000u	/* the interval never passes an
						   hour */
#define HEARTBEAT_WHEEL_SLOTS	1024

/* The interval, in ms, for n workers: base_ms times a power of two, at
 * most HEARTBEAT_MAX_MS (and never below base_ms).  prev_ms is the one
 * in force (0: none), for the step down's margin.  budget 0: the
 * default. */
unsigned heartbeat_interval(unsigned base_ms, unsigned budget, size_t n,
			    unsigned prev_ms);

/* The sweep's tick for a base interval: a quarter of it, from 10 to
 * 250 ms. */
unsigned heartbeat_tick_ms(unsigned base_ms);

struct heartbeat_pace {
	unsigned base_ms, budget;
	unsigned pace_ms;		/* a round lasts this */
	unsigned tell_ms;		/* what visits and WELCOME tell: the
					   pace, or the longer one to come */
	double credit;			/* visits owed, below 1 */
};

void heartbeat_pace_init(struct heartbeat_pace *p, unsigned base_ms,
			 unsigned budget);
/* Visits owed with n workers, tick_ms after the last call (at most a
 * round's worth). */
size_t heartbeat_pace_visits(struct heartbeat_pace *p, size_t n,
			     unsigned tick_ms);
/* A round ended (every worker visited once since the last): take up what
 * was told, and choose what to tell next for n workers.  Returns 1 when
 * tell_ms changed. */
int heartbeat_pace_round(struct heartbeat_pace *p, size_t n);

/* A deadline on the wheel, embedded in its owner. */
struct heartbeat_timer {
	struct heartbeat_timer *prev, *next;
	uint64_t due;			/* tick */
	int linked;
};

struct heartbeat_wheel {
	struct heartbeat_timer *slot[HEARTBEAT_WHEEL_SLOTS];
	uint64_t tick;			/* the next tick to expire */
	size_t n;			/* timers on the wheel */
};

void heartbeat_wheel_init(struct heartbeat_wheel *w, uint64_t now);
/* Put t on the wheel at tick `due` (one already past fires at the next
 * expire); a t on the wheel moves. */
void heartbeat_wheel_add(struct heartbeat_wheel *w, struct heartbeat_timer *t,
			 uint64_t due);
/* Take t off the wheel; nothing when it is not on it. */
void heartbeat_wheel_del(struct heartbeat_wheel *w, struct heartbeat_timer *t);
/* Take one timer due at or before tick `now` off the wheel and return it;
 * NULL when none is left.  One at a time, so that what the caller does
 * with one may take others off the wheel. */
struct heartbeat_timer *heartbeat_wheel_next(struct heartbeat_wheel *w,
					     uint64_t now);

#endif
