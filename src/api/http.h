/*
 * http: the HTTP side of the API, shared by its route files.  Answers in
 * JSON (errors as {"error": "..."}), the request body and query
 * parameters as a handler reads them, the type of the route table, and
 * the evhttp server that matches each request to its route.
 */
#ifndef CLUSTER_API_HTTP_H
#define CLUSTER_API_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api/api.h"
#include "task/task.h"
#include "util/err.h"

struct api;
struct event_base;

/* What a handler sees of one request. */
struct http_call {
	struct api *a;
	struct evhttp_request *req;
	struct evkeyvalq query;
	task_id_t id;			/* from /tasks/ID/... */
	const char *body;
	size_t body_len;
};

typedef void (*http_handler_fn)(struct http_call *c);

/* Who may call a route.  The token is the default: a line that says
 * nothing is not public by mistake. */
enum http_auth {
	HTTP_TOKEN = 0,			/* the bearer token or a signature */
	HTTP_PUBLIC,			/* anyone (static assets) */
};

/* One line of the route table; the table ends with a NULL pattern. */
struct http_route {
	const char *pattern;		/* the whole path; "#" is a task id */
	enum evhttp_cmd_type method;
	http_handler_fn fn;
	size_t max_body;		/* bytes; 0: takes none */
	enum http_auth auth;
};

/* Answer `code` with `j` (its reference is taken) and a newline. */
void http_reply_json(struct evhttp_request *req, int code, json_t *j);
/* Answer `code` with {"error": TEXT}. */
void http_reply_error(struct evhttp_request *req, int code,
		      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The body as JSON; NULL after answering 400 when there is none or it
 * does not parse.  The caller owns the result. */
json_t *http_body_json(struct http_call *c);

/* Query parameter `key` as a whole number in [min, max] into *out (left
 * alone when absent); -1 after answering 400. */
int http_query_uint(struct http_call *c, const char *key, uint64_t min,
		    uint64_t max, uint64_t *out);

/* GET /api/v1/auth/challenge?nonce=N: the server's proof that it knows
 * the token (proto/sign.h), for a client to check before it signs. */
void http_auth_challenge(struct http_call *c);

/* The server: listens on cfg's bind:port (0: ephemeral) and hands each
 * request to its route in `routes` (not copied: it must outlive the
 * server), with `a` in the call.  The token is checked once the route is
 * known, for the routes that need it, and before any body is read. */
struct http *http_create(struct event_base *base,
			 const struct http_route *routes, struct api *a,
			 const struct api_config *cfg, struct err *err);
void http_destroy(struct http *h);
uint16_t http_port(const struct http *h);

/* Call fn(arg) if the connection of `req` closes before `req` is answered
 * (a parked long-poll); fn NULL: no longer. */
void http_on_close(struct http *h, struct evhttp_request *req,
		   void (*fn)(void *), void *arg);

#endif
