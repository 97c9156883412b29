/*
 * api: the scheduler's HTTP API (evhttp + jansson) on the event loop the
 * server runs.  Every route needs the token, as "Authorization: Bearer
 * <token>" or a signature made with it (proto/sign.h), unless its line
 * in the route table (api.c) says public; the routes are
 * documented in cluster-api(7).  The dashboard shares the port.
 */
#ifndef CLUSTER_API_H
#define CLUSTER_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sched/sched.h"
#include "util/err.h"

struct event_base;
struct api;

struct api_config {
	const char *bind;		/* "127.0.0.1", "0.0.0.0" */
	uint16_t port;			/* 0: ephemeral */
	int port_fallback;		/* port taken: take a free one instead
					   (api_port says which) */
	const char *token;		/* 64 hex chars */
	const char *log_dir;		/* task output, for /tasks/ID/log */
	int output;			/* enum task_output: where it is */
	/* Limits against slow or hostile peers; 0: the defaults of
	 * cluster-api(7). */
	unsigned head_timeout;		/* s for a request's line and headers */
	unsigned idle_timeout;		/* s a connection may stay silent */
	unsigned max_connections;	/* at once; more wait to be accepted */
};

struct api *api_create(struct event_base *base, struct sched *s,
		       const struct api_config *cfg, struct err *err);
void api_destroy(struct api *a);
uint16_t api_port(const struct api *a);

/* The server calls this from its sched `ended` hook so long-polls wake. */
void api_task_ended(struct api *a, task_id_t id);

/* The activity (activity.h) the dashboard's routes read, the caller's
 * for as long as the API runs; NULL: none (the routes answer empty). */
struct activity;
void api_set_activity(struct api *a, struct activity *act);

/* What the worker side knows of a worker beyond sched: where it runs and
 * its batch job, for GET /api/v1/workers.  Strings valid during the
 * call's answer only. */
struct api_worker_job {
	const char *host;		/* NULL: not known */
	const char *job_id;		/* "": not in a batch job */
	int64_t index;			/* array element, or -1 */
	double end;			/* Unix s the job ends; 0: not known */
};
/* 0 with *out filled, -1 when worker `w` is not connected. */
typedef int (*api_worker_job_fn)(void *arg, worker_id_t w,
				 struct api_worker_job *out);
/* The caller's for as long as the API runs; NULL (the default): the
 * workers' hosts and jobs are null. */
void api_set_worker_jobs(struct api *a, api_worker_job_fn fn, void *arg);

/* One file of the dashboard, built into the program (dashboard/). */
struct api_asset {
	const char *name;		/* "index.html"; NULL ends a table */
	const unsigned char *data;
	size_t len;
};

/* The dashboard's files, served by the public page routes; the table
 * must outlive the API.  NULL (the default): the pages answer 404. */
void api_set_assets(struct api *a, const struct api_asset *assets);

/* The scheduler's journal, for the answers that wait on it (submit,
 * cancel, scale, adapt: sent by `hold` once their records are on disk)
 * and for POST /api/v1/journal/compact.  Copied; hold NULL: no journal
 * (answers go at once, the compact route answers 409). */
struct http;
struct evhttp_request;
/* Whether the journal is written, for the status and /metrics. */
struct api_journal_health {
	const char *path;
	uint64_t bytes;			/* the file, and what waits for it */
	const char *error;		/* NULL: written; else why not */
	double failing_since;		/* Unix s, with `error` */
	uint64_t failures;		/* times writing it began to fail */
};
struct api_journal {
	void *arg;
	void (*hold)(void *arg, struct http *h, struct evhttp_request *req,
		     int code, json_t *reply, json_t *record);
	int (*compact)(void *arg, uint64_t *size, struct err *err);
	void (*health)(void *arg, struct api_journal_health *h);
};
void api_set_journal(struct api *a, const struct api_journal *j);

#endif
