/*
 * pool: the pool's routes of the API (cluster-api(7), "The pool"):
 *
 *	GET  /api/v1/pool		status of the pool and the scheduler
 *	POST /api/v1/pool/scale		{"workers"|"jobs"|"cores"|"memory"}
 *	POST /api/v1/pool/adapt		{"min", "max", "idle_timeout", "jobs"}
 *					or {"off": true}
 *	POST /api/v1/pool/resume	clear a paused pool's failures
 *
 * Each route takes its request as values and gives back the HTTP status
 * and the JSON to send, so api.c's route table only wraps them and the
 * rules are tested without a socket.  The API is below server/: the
 * server hands it its pool with api_set_pool once the pool runs.
 */
#ifndef CLUSTER_API_POOL_H
#define CLUSTER_API_POOL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sched/sched.h"

struct api;
struct pool_manager;

/* What a pool route sees of one request. */
struct api_pool_request {
	struct pool_manager *m;		/* NULL: this scheduler has no pool */
	struct sched *s;		/* for tasks by state; may be NULL */
	const char *address;		/* host:port workers connect to */
	uint16_t http_port;
	double since;			/* when the scheduler started, Unix s */
	const char *body;		/* the request body, body_len bytes */
	size_t body_len;
};

/* Each answers one route: returns the HTTP status and sets *reply to the
 * JSON to send (a new reference; {"error": TEXT} when it is not 2xx).
 * No pool: 404 for the status, 409 for the others. */
int api_pool_status(const struct api_pool_request *r, json_t **reply);
int api_pool_scale(const struct api_pool_request *r, json_t **reply);
int api_pool_adapt(const struct api_pool_request *r, json_t **reply);
int api_pool_resume(const struct api_pool_request *r, json_t **reply);

/* The server's pool from now on (NULL: none any more), and the address
 * its workers connect to (copied). */
void api_set_pool(struct api *a, struct pool_manager *m, const char *address);

#endif
