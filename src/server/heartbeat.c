/*
 * heartbeat: the interval rule, the sweep's pace and the liveness wheel.
 * The why is in heartbeat.h; this file keeps the arithmetic in one place
 * where a unit test can reach it without sockets.
 */
#include "server/heartbeat.h"

#include <string.h>

/* Workers an interval of iv ms carries within the budget. */
static uint64_t carries(unsigned budget, uint64_t iv)
{
	return (uint64_t)budget * iv / 1000;
}

unsigned heartbeat_interval(unsigned base_ms, unsigned budget, size_t n,
			    unsigned prev_ms)
{
	uint64_t iv = base_ms ? base_ms : 1;

	if (!budget)
		budget = HEARTBEAT_BUDGET;
	if (iv >= HEARTBEAT_MAX_MS)
		return base_ms;
	/* from the step in force, so that stepping down keeps its margin */
	while (iv < prev_ms && iv * 2 <= HEARTBEAT_MAX_MS)
		iv *= 2;
	while (carries(budget, iv) < n && iv * 2 <= HEARTBEAT_MAX_MS)
		iv *= 2;
	while (iv / 2 >= (base_ms ? base_ms : 1) &&
	       2 * (uint64_t)n <= carries(budget, iv / 2))
		iv /= 2;
	return (unsigned)iv;
}

unsigned heartbeat_tick_ms(unsigned base_ms)
{
	unsigned t = base_ms / 4;

	return t < 10 ? 10 : t > 250 ? 250 : t;
}

void heartbeat_pace_init(struct heartbeat_pace *p, unsigned base_ms,
			 unsigned budget)
{
	memset(p, 0, sizeof(*p));
	p->base_ms = base_ms ? base_ms : 1;
	p->budget = budget ? budget : HEARTBEAT_BUDGET;
	p->pace_ms = p->tell_ms = heartbeat_interval(p->base_ms, p->budget, 0, 0);
}

size_t heartbeat_pace_visits(struct heartbeat_pace *p, size_t n,
			     unsigned tick_ms)
{
	size_t v;

	p->credit += (double)n * tick_ms / p->pace_ms;
	v = (size_t)p->credit;
	p->credit -= (double)v;
	/* a round at most per tick: a worker hears once a tick at most */
	if (v > n) {
		v = n;
		p->credit = 0;
	}
	return v;
}

int heartbeat_pace_round(struct heartbeat_pace *p, size_t n)
{
	unsigned was = p->tell_ms;
	unsigned want = heartbeat_interval(p->base_ms, p->budget, n, was);

	/* every worker heard `was` during the round that ended */
	p->pace_ms = was;
	if (want < p->pace_ms)
		p->pace_ms = want;
	p->tell_ms = want;
	return want != was;
}

/* --- the wheel ------------------------------------------------------------ */

static size_t slot_of(uint64_t tick)
{
	return (size_t)(tick % HEARTBEAT_WHEEL_SLOTS);
}

static void unlink_timer(struct heartbeat_wheel *w, struct heartbeat_timer *t);

void heartbeat_wheel_init(struct heartbeat_wheel *w, uint64_t now)
{
	memset(w, 0, sizeof(*w));
	w->tick = now;
}

void heartbeat_wheel_del(struct heartbeat_wheel *w, struct heartbeat_timer *t)
{
	if (t->linked)
		unlink_timer(w, t);
}

void heartbeat_wheel_add(struct heartbeat_wheel *w, struct heartbeat_timer *t,
			 uint64_t due)
{
	heartbeat_wheel_del(w, t);
	/* A deadline already past waits in the next slot to expire.  So
	 * every timer on the wheel is due at w->tick or later, and sits in
	 * the slot of its `due`. */
	if (due < w->tick)
		due = w->tick;
	size_t k = slot_of(due);
	t->due = due;
	t->prev = NULL;
	t->next = w->slot[k];
	if (t->next)
		t->next->prev = t;
	w->slot[k] = t;
	t->linked = 1;
	w->n++;
}

static void unlink_timer(struct heartbeat_wheel *w, struct heartbeat_timer *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		w->slot[slot_of(t->due)] = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->prev = t->next = NULL;
	t->linked = 0;
	w->n--;
}

static struct heartbeat_timer *due_in(struct heartbeat_wheel *w, size_t k,
				      uint64_t now)
{
	for (struct heartbeat_timer *t = w->slot[k]; t; t = t->next)
		if (t->due <= now)	/* else a later turn of the wheel */
			return t;
	return NULL;
}

struct heartbeat_timer *heartbeat_wheel_next(struct heartbeat_wheel *w,
					     uint64_t now)
{
	struct heartbeat_timer *t = NULL;

	if (now < w->tick)
		return NULL;
	if (now - w->tick >= HEARTBEAT_WHEEL_SLOTS) {
		/* a stall of a whole turn: every slot may hold one due */
		for (size_t k = 0; k < HEARTBEAT_WHEEL_SLOTS && !t; k++)
			t = due_in(w, k, now);
		if (!t)
			w->tick = now + 1;
	} else {
		while (w->tick <= now && !(t = due_in(w, slot_of(w->tick), now)))
			w->tick++;
	}
	if (t)
		unlink_timer(w, t);
	return t;
}
