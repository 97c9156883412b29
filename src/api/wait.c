/*
 * wait: long-polls (GET /api/v1/wait), parked requests woken by
 * api_task_ended.  That call comes from inside a sched hook, so it only
 * counts and marks; the replies are built from a deferred event (api's
 * `check`), outside sched.
 */
#include "api/routes.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>

#include "api/api.h"

#define WAIT_DEFAULT_TIMEOUT 30
#define WAIT_MAX_TIMEOUT 600

struct waiter {
	struct api *a;
	struct evhttp_request *req;
	struct event *timer;
	struct idset ids;		/* empty: every task */
	uint64_t remaining;		/* listed tasks not yet ended */
	int dirty;			/* something it waits on ended */
	struct waiter *next, *prev;
};

static int state_ended(enum task_state st)
{
	return st == TASK_DONE || st == TASK_FAILED || st == TASK_CANCELLED;
}

/* Counts per state of what `w` waits on; returns how many have not ended.
 * *assigned: of the running ones, how many their worker holds without
 * having started them. */
static uint64_t waiter_counts(struct waiter *w, uint64_t counts[TASK_NSTATES],
			      uint64_t *total, uint64_t *assigned)
{
	uint64_t open = 0, held = 0;

	memset(counts, 0, TASK_NSTATES * sizeof(counts[0]));
	*total = 0;
	*assigned = 0;
	if (!w->ids.n) {
		struct sched_counts sc;
		sched_counts(w->a->s, &sc);
		*assigned = sc.prefetched;
		for (int i = 0; i < TASK_NSTATES; i++) {
			counts[i] = sc.state[i];
			*total += sc.state[i];
			if (!state_ended((enum task_state)i))
				open += sc.state[i];
		}
		return open;
	}
	for (size_t i = 0; i < w->ids.n; i++) {
		for (task_id_t id = w->ids.r[i].first; id <= w->ids.r[i].last; id++) {
			struct task_info t;
			if (sched_task(w->a->s, id, &t) < 0)
				continue;
			counts[t.state]++;
			(*total)++;
			if (!state_ended(t.state))
				open++;
			if (t.state == TASK_RUNNING && t.start_time <= 0)
				held++;
		}
	}
	*assigned = held;
	return open;
}

static void waiter_unlink(struct waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		w->a->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->next = w->prev = NULL;
}

static void waiter_free(struct waiter *w)
{
	if (w->req)
		http_on_close(w->a->http, w->req, NULL, NULL);
	event_free(w->timer);
	idset_release(&w->ids);
	free(w);
}

static json_t *wait_answer(uint64_t counts[TASK_NSTATES], uint64_t total,
			   uint64_t open, uint64_t assigned)
{
	return json_pack("{s:b,s:I,s:o,s:I}", "done", open == 0, "total",
			 (json_int_t)total, "counts", counts_json(counts),
			 "assigned", (json_int_t)assigned);
}

static void waiter_reply(struct waiter *w, uint64_t counts[TASK_NSTATES],
			 uint64_t total, uint64_t open, uint64_t assigned)
{
	struct evhttp_request *req = w->req;

	waiter_unlink(w);
	waiter_free(w);
	http_reply_json(req, 200, wait_answer(counts, total, open, assigned));
}

static void waiter_finish(struct waiter *w)
{
	uint64_t counts[TASK_NSTATES], total, assigned;
	uint64_t open = waiter_counts(w, counts, &total, &assigned);

	waiter_reply(w, counts, total, open, assigned);
}

static void waiter_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	waiter_finish(arg);
}

/* The client went away (or the API is shutting down): drop the waiter
 * without replying; evhttp frees the request. */
static void waiter_closed(void *arg)
{
	struct waiter *w = arg;

	w->req = NULL;
	waiter_unlink(w);
	waiter_free(w);
}

void waiters_check(evutil_socket_t fd, short what, void *arg)
{
	struct api *a = arg;
	struct waiter *w, *next;

	(void)fd;
	(void)what;
	for (w = a->waiters; w; w = next) {
		uint64_t counts[TASK_NSTATES], total, open, assigned;
		next = w->next;
		if (!w->dirty)
			continue;
		w->dirty = 0;
		if (w->ids.n && w->remaining)
			continue;
		open = waiter_counts(w, counts, &total, &assigned);
		if (open == 0)
			waiter_reply(w, counts, total, open, assigned);
		else
			w->remaining = open;
	}
}

void wait_tasks(struct http_call *c)
{
	struct waiter *w = calloc(1, sizeof(*w));
	const char *ids = evhttp_find_header(&c->query, "ids");
	uint64_t timeout = WAIT_DEFAULT_TIMEOUT, counts[TASK_NSTATES], total,
		 assigned;
	struct err err = { "" };
	task_id_t bad;

	if (!w)
		abort();
	w->a = c->a;
	if (http_query_uint(c, "timeout", 0, WAIT_MAX_TIMEOUT, &timeout) < 0)
		goto fail;
	if (ids && *ids) {
		if (idset_parse(&w->ids, ids, 1, UINT64_MAX, &err) < 0) {
			http_reply_error(c->req, 400, "parameter 'ids': %s", err.text);
			goto fail;
		}
		if (tasks_known(c->a, &w->ids, &bad) < 0) {
			http_reply_error(c->req, 404, "no task %" PRIu64, bad);
			goto fail;
		}
	}
	w->remaining = waiter_counts(w, counts, &total, &assigned);
	if (w->remaining == 0 || timeout == 0) {
		w->req = c->req;
		http_reply_json(c->req, 200, wait_answer(counts, total, w->remaining,
							 assigned));
		goto fail;
	}
	w->req = c->req;
	w->timer = evtimer_new(c->a->base, waiter_timeout, w);
	struct timeval tv = { (time_t)timeout, 0 };
	evtimer_add(w->timer, &tv);
	http_on_close(c->a->http, c->req, waiter_closed, w);
	w->next = c->a->waiters;
	if (w->next)
		w->next->prev = w;
	c->a->waiters = w;
	return;
fail:
	idset_release(&w->ids);
	free(w);
}

void waiters_stop(struct api *a)
{
	/* Parked long-polls get their answer now rather than a reset. */
	while (a->waiters)
		waiter_finish(a->waiters);
}

void api_task_ended(struct api *a, task_id_t id)
{
	int any = 0;

	if (!a)
		return;
	for (struct waiter *w = a->waiters; w; w = w->next) {
		if (!w->ids.n) {
			w->dirty = any = 1;
		} else if (idset_has(&w->ids, id)) {
			if (w->remaining)
				w->remaining--;
			w->dirty = any = 1;
		}
	}
	if (any)
		event_active(a->check, EV_TIMEOUT, 1);
}
