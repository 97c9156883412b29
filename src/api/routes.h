/*
 * routes: what the API's files share.  api.c owns struct api and lists
 * every route in one table; the handlers live by resource in tasks.c,
 * wait.c and workers.c.  Handlers run on the event loop and answer
 * through http.h (a long-poll answers later, from wait.c).
 */
#ifndef CLUSTER_API_ROUTES_H
#define CLUSTER_API_ROUTES_H

#include <stdint.h>

#include <event2/util.h>
#include <jansson.h>

#include "api/api.h"
#include "api/http.h"
#include "sched/sched.h"
#include "util/idset.h"

struct event;
struct event_base;
struct waiter;
struct pool_manager;
struct activity;

struct api {
	struct event_base *base;
	struct sched *s;
	struct http *http;
	char *log_dir;
	int output;			/* enum task_output */
	double started;
	struct waiter *waiters;
	struct event *check;		/* deferred wake-up of waiters */
	struct pool_manager *pool;	/* api_set_pool's; NULL: none */
	char *address;			/* the workers' address, for status */
	struct activity *activity;	/* api_set_activity's; NULL: none */
	const struct api_asset *assets;	/* api_set_assets'; NULL: none */
	api_worker_job_fn worker_job;	/* api_set_worker_jobs'; NULL: none */
	void *worker_job_arg;
	struct api_journal journal;	/* api_set_journal's; hold NULL: none */
};

/* Answer a change once its record is on disk (the journal's hold), or at
 * once when there is no journal; `reply` and `record` (NULL: the table
 * says it all) are taken. */
void api_reply_durable(struct http_call *c, int code, json_t *reply,
		       json_t *record);

/* tasks.c: submission, listing, one task, cancel, logs */
void tasks_submit(struct http_call *c);
void tasks_batch(struct http_call *c);
void tasks_list(struct http_call *c);
void tasks_show(struct http_call *c);
void tasks_cancel(struct http_call *c);
void tasks_cancel_many(struct http_call *c);
void tasks_log(struct http_call *c);

/* Every id must name a task: -1 with the first unknown one in *bad. */
int tasks_known(struct api *a, const struct idset *set, task_id_t *bad);
/* {"waiting": N, ...} for counts per state. */
json_t *counts_json(const uint64_t counts[TASK_NSTATES]);

/* wait.c: long-polls parked until their tasks end */
void wait_tasks(struct http_call *c);
/* The callback of api->check: answers the waiters whose tasks ended. */
void waiters_check(evutil_socket_t fd, short what, void *arg);
/* Answer every parked long-poll now (the API is going away). */
void waiters_stop(struct api *a);

/* journal.c: POST /api/v1/journal/compact */
void journal_compact_route(struct http_call *c);
/* What the journal says of itself; all zero with no journal. */
void journal_health(const struct api *a, struct api_journal_health *h);
/* {"path", "bytes", "error", "failing_since", "failures"}, or null with
 * no journal. */
json_t *journal_health_json(const struct api *a);

/* workers.c: workers and counters */
void workers_list(struct http_call *c);
void workers_counters(struct http_call *c);

/* dashboard.c: the task stream, progress, actions, memory */
void dashboard_stream(struct http_call *c);
void dashboard_progress(struct http_call *c);
void dashboard_actions(struct http_call *c);
void dashboard_memory(struct http_call *c);

/* metrics.c: GET /metrics, Prometheus' text format */
void metrics_show(struct http_call *c);

/* static.c: the dashboard's pages, script and style; "/" to "status" */
void static_page(struct http_call *c);
void static_script(struct http_call *c);
void static_style(struct http_call *c);
void static_root(struct http_call *c);

#endif
