/*
 * api: the scheduler's HTTP API.  Routes and their JSON are documented in
 * cluster-api(7); the files here keep to what that page says.
 *
 * This file owns struct api and lists every route in one table; the
 * handlers live by resource (tasks.c, wait.c, workers.c), the HTTP side
 * (replies, bodies, routing, the token) in http.c.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "api/pool.h"
#include "api/routes.h"
#include "journal/journal.h"
#include "util/clock.h"
#include "util/xalloc.h"

/* Body caps: task files for the batch route, JSON for the others. */
#define TASKFILE ((size_t)64 << 20)	/* task files */
#define JSON ((size_t)1 << 20)		/* everything else */

#define GET EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST

/* The pool's routes (api/pool.c) answer with a status and a document. */
static void pool_route(struct http_call *c,
		       int (*fn)(const struct api_pool_request *, json_t **))
{
	struct api_pool_request r = {
		.m = c->a->pool, .s = c->a->s, .address = c->a->address,
		.http_port = api_port(c->a), .since = c->a->started,
		.body = c->body, .body_len = c->body_len,
	};
	json_t *reply = NULL, *record = NULL;
	int code = fn(&r, &reply);

	if (code == 200 && fn == api_pool_status)
		json_object_set_new(json_object_get(reply, "scheduler"),
				    "journal", journal_health_json(c->a));
	/* a new target or new bounds are journalled before the answer */
	if (code == 200 && fn == api_pool_scale) {
		record = journal_record("pool-scale");
		json_object_set(record, "target", json_object_get(reply, "workers"));
	} else if (code == 200 && fn == api_pool_adapt) {
		record = journal_record("pool-adapt");
		if (json_is_false(json_object_get(reply, "adapt"))) {
			json_object_set_new(record, "off", json_true());
		} else {
			json_object_set(record, "min", json_object_get(reply, "min"));
			json_object_set(record, "max", json_object_get(reply, "max"));
			json_object_set(record, "idle",
					json_object_get(reply, "idle_timeout"));
		}
	}
	if (record)
		api_reply_durable(c, code, reply, record);
	else
		http_reply_json(c->req, code, reply);
}

static void pool_show(struct http_call *c) { pool_route(c, api_pool_status); }
static void pool_scale(struct http_call *c) { pool_route(c, api_pool_scale); }
static void pool_adapt(struct http_call *c) { pool_route(c, api_pool_adapt); }
static void pool_resume(struct http_call *c) { pool_route(c, api_pool_resume); }

/* Every route; cluster-api(7) documents each. */
static const struct http_route routes[] = {
	/* path                     method handler           body cap  who */
	{ "/api/v1/tasks",          POST, tasks_submit,      JSON,     HTTP_TOKEN },
	{ "/api/v1/tasks",          GET,  tasks_list,        0,        HTTP_TOKEN },
	{ "/api/v1/tasks/batch",    POST, tasks_batch,       TASKFILE, HTTP_TOKEN },
	{ "/api/v1/tasks/#",        GET,  tasks_show,        0,        HTTP_TOKEN },
	{ "/api/v1/tasks/#/cancel", POST, tasks_cancel,      JSON,     HTTP_TOKEN },
	{ "/api/v1/tasks/#/log",    GET,  tasks_log,         0,        HTTP_TOKEN },
	{ "/api/v1/cancel",         POST, tasks_cancel_many, JSON,     HTTP_TOKEN },
	{ "/api/v1/wait",           GET,  wait_tasks,        0,        HTTP_TOKEN },
	{ "/api/v1/workers",        GET,  workers_list,      0,        HTTP_TOKEN },
	{ "/api/v1/counters",       GET,  workers_counters,  0,        HTTP_TOKEN },
	{ "/api/v1/pool",           GET,  pool_show,         0,        HTTP_TOKEN },
	{ "/api/v1/pool/scale",     POST, pool_scale,        JSON,     HTTP_TOKEN },
	{ "/api/v1/pool/adapt",     POST, pool_adapt,        JSON,     HTTP_TOKEN },
	{ "/api/v1/pool/resume",    POST, pool_resume,       JSON,     HTTP_TOKEN },
	{ "/api/v1/journal/compact", POST, journal_compact_route, JSON, HTTP_TOKEN },
	{ "/api/v1/stream",         GET,  dashboard_stream,  0,        HTTP_TOKEN },
	{ "/api/v1/progress",       GET,  dashboard_progress, 0,       HTTP_TOKEN },
	{ "/api/v1/actions",        GET,  dashboard_actions, 0,        HTTP_TOKEN },
	{ "/api/v1/memory",         GET,  dashboard_memory,  0,        HTTP_TOKEN },
	{ "/api/v1/auth/challenge", GET,  http_auth_challenge, 0,      HTTP_PUBLIC },
	{ "/metrics",               GET,  metrics_show,      0,        HTTP_TOKEN },
	/* the dashboard's files: no data in them, so public */
	{ "/",                      GET,  static_root,       0,        HTTP_PUBLIC },
	{ "/status",                GET,  static_page,       0,        HTTP_PUBLIC },
	{ "/individual-task-stream", GET, static_page,       0,        HTTP_PUBLIC },
	{ "/individual-progress",   GET,  static_page,       0,        HTTP_PUBLIC },
	{ "/individual-workers-memory", GET, static_page,    0,        HTTP_PUBLIC },
	{ "/individual-aggregate-time-per-action", GET, static_page, 0, HTTP_PUBLIC },
	{ "/workers",               GET,  static_page,       0,        HTTP_PUBLIC },
	{ "/pool",                  GET,  static_page,       0,        HTTP_PUBLIC },
	{ "/dashboard.js",          GET,  static_script,     0,        HTTP_PUBLIC },
	{ "/dashboard.css",         GET,  static_style,      0,        HTTP_PUBLIC },
	{ NULL, 0, NULL, 0, 0 },
};

struct api *api_create(struct event_base *base, struct sched *s,
		       const struct api_config *cfg, struct err *err)
{
	struct api *a = calloc(1, sizeof(*a));

	if (!a)
		return errprintf(err, "out of memory"), NULL;
	a->base = base;
	a->s = s;
	a->started = clock_wall();
	if (!cfg->token || strlen(cfg->token) < 16 || strlen(cfg->token) > 64) {
		errprintf(err, "api token: expected 16 to 64 characters");
		goto fail;
	}
	a->log_dir = cfg->log_dir ? xstrdup(cfg->log_dir) : NULL;
	a->output = cfg->output;
	a->check = event_new(base, -1, 0, waiters_check, a);
	if (!a->check) {
		errprintf(err, "cannot create the HTTP server");
		goto fail;
	}
	a->http = http_create(base, routes, a, cfg, err);
	if (!a->http)
		goto fail;
	return a;
fail:
	api_destroy(a);
	return NULL;
}

void api_destroy(struct api *a)
{
	if (!a)
		return;
	waiters_stop(a);
	http_destroy(a->http);
	if (a->check)
		event_free(a->check);
	free(a->log_dir);
	free(a->address);
	free(a);
}

void api_set_pool(struct api *a, struct pool_manager *m, const char *address)
{
	if (!a)
		return;
	a->pool = m;
	free(a->address);
	a->address = address ? xstrdup(address) : NULL;
}

uint16_t api_port(const struct api *a)
{
	return http_port(a->http);
}

void api_set_journal(struct api *a, const struct api_journal *j)
{
	if (a)
		a->journal = *j;
}

void api_reply_durable(struct http_call *c, int code, json_t *reply,
		       json_t *record)
{
	const struct api_journal *j = &c->a->journal;

	if (j->hold) {
		j->hold(j->arg, c->a->http, c->req, code, reply, record);
		return;
	}
	json_decref(record);
	http_reply_json(c->req, code, reply);
}
