/*
 * conn: the API's HTTP connections, each request head judged before
 * evhttp reads a byte of its body; conn.c says why and how.  Used by
 * http.c only.
 */
#ifndef CLUSTER_API_CONN_H
#define CLUSTER_API_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>

#include "util/strbuf.h"

struct conns;
struct event_base;
struct evconnlistener;

/* What a complete request head says, as far as judging it goes; valid
 * during the judge call. */
struct conn_head {
	enum evhttp_cmd_type method;	/* 0: not a method evhttp knows */
	const char *method_name;	/* as sent */
	const char *target;		/* as sent */
	const char *path;		/* of the target */
	const char *authorization;	/* the first such header; NULL: none */
	uint64_t length;		/* Content-Length; 0 without one */
	int chunked;			/* has a Transfer-Encoding header */
	const char *peer;		/* "host:port" */
};

/* A refused head is answered `code` with {"error": text} (http_reply_error)
 * and, for 405, an Allow header. */
struct conn_refusal {
	int code;
	struct strbuf text;
	struct strbuf allow;
};

/* head.c: read the complete head `text` (cut up in place, which `h`
 * points into) into h's method, target, authorization, length and
 * chunked, and whether the client waits for 100 Continue; -1 with the
 * reason in `why` when it is malformed. */
int head_parse(char *text, struct conn_head *h, int *expect,
	       struct strbuf *why);

/* 0 lets the request through; else fill *r (code, text, allow) and
 * return -1.  Called once per request head. */
typedef int (*conn_judge_fn)(void *arg, const struct conn_head *head,
			     struct conn_refusal *r);

struct conn_limits {
	unsigned head_timeout;		/* seconds for a head from its first byte */
	unsigned max_connections;	/* 0: no limit */
	size_t head_max;		/* bytes of a head */
};

/* Judge every connection `evhttp` accepts (it takes the bufferevents from
 * here: evhttp_set_bevcb). */
struct conns *conns_create(struct event_base *base, struct evhttp *evhttp,
			   const struct conn_limits *lim, conn_judge_fn judge,
			   void *arg);
/* The listener to pause at max_connections; NULL before evhttp_free, which
 * frees it. */
void conns_listener(struct conns *cs, struct evconnlistener *lev);
/* Whether the listener may accept: 0 while paused at max_connections. */
int conns_accepting(void *cs);
/* After evhttp_free. */
void conns_destroy(struct conns *cs);

/* For each request evhttp hands to the server: 1 when it stands for a
 * refused head and was answered here, else 0 (it is counted in flight
 * until answered). */
int conns_take(struct conns *cs, struct evhttp_request *req);

/* Call fn(arg) when the connection of `req` closes before it is answered
 * (fn NULL: no longer). */
void conns_on_close(struct conns *cs, struct evhttp_request *req,
		    void (*fn)(void *), void *arg);

#endif
