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

#include "api/routes.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define MAX_BODY_BATCH ((size_t)64 << 20)	/* task files */
#define MAX_BODY_JSON ((size_t)1 << 20)		/* everything else */

static const struct http_route routes[] = {
	{ "/tasks", EVHTTP_REQ_POST, tasks_submit, MAX_BODY_JSON },
	{ "/tasks", EVHTTP_REQ_GET, tasks_list, 0 },
	{ "/tasks/batch", EVHTTP_REQ_POST, tasks_batch, MAX_BODY_BATCH },
	{ "/tasks/#", EVHTTP_REQ_GET, tasks_show, 0 },
	{ "/tasks/#/cancel", EVHTTP_REQ_POST, tasks_cancel, MAX_BODY_JSON },
	{ "/tasks/#/log", EVHTTP_REQ_GET, tasks_log, 0 },
	{ "/cancel", EVHTTP_REQ_POST, tasks_cancel_many, MAX_BODY_JSON },
	{ "/wait", EVHTTP_REQ_GET, wait_tasks, 0 },
	{ "/workers", EVHTTP_REQ_GET, workers_list, 0 },
	{ "/counters", EVHTTP_REQ_GET, workers_counters, 0 },
	{ NULL, 0, NULL, 0 },
};

struct api *api_create(struct event_base *base, struct sched *s,
		       const struct api_config *cfg, struct err *err)
{
	struct api *a = calloc(1, sizeof(*a));
	const char *bind = cfg->bind ? cfg->bind : "127.0.0.1";

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
	a->check = event_new(base, -1, 0, waiters_check, a);
	if (!a->check) {
		errprintf(err, "cannot create the HTTP server");
		goto fail;
	}
	a->http = http_create(base, routes, a, bind, cfg->port, cfg->token, err);
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
	free(a);
}

uint16_t api_port(const struct api *a)
{
	return http_port(a->http);
}
