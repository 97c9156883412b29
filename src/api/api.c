/*
 * api: the scheduler's HTTP API.  Routes and their JSON are documented in
 * cluster-api(7); this file keeps to what that page says.
 *
 * Long-polls (/api/v1/wait) are parked requests woken by api_task_ended.
 * That call comes from inside a sched hook, so it only counts and marks;
 * the replies are built from a deferred event, outside sched.
 */
#include "api/api.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "sched/taskfile.h"
#include "task/codec.h"
#include "task/fields.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/units.h"
#include "util/clock.h"
#include "util/idset.h"
#include "util/xalloc.h"

#define API_PREFIX "/api/v1"
#define MAX_BODY_BATCH ((size_t)64 << 20)	/* task files */
#define MAX_BODY_JSON ((size_t)1 << 20)		/* everything else */
#define LIST_DEFAULT_LIMIT 1000
#define LIST_MAX_LIMIT 10000
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

struct api {
	struct event_base *base;
	struct sched *s;
	struct evhttp *http;
	uint16_t port;
	char token[65];
	size_t token_len;
	char *log_dir;
	double started;
	struct waiter *waiters;
	struct event *check;		/* deferred wake-up of waiters */
};

/* What a handler sees of one request. */
struct call {
	struct api *a;
	struct evhttp_request *req;
	struct evkeyvalq query;
	task_id_t id;			/* from /tasks/ID/... */
	const char *body;
	size_t body_len;
};

typedef void (*handler_fn)(struct call *c);

/* ---- replies ------------------------------------------------------------ */

static void reply_json(struct evhttp_request *req, int code, json_t *j)
{
	struct evbuffer *out = evbuffer_new();
	char *text = json_dumps(j, JSON_COMPACT);

	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "application/json");
	if (text) {
		evbuffer_add(out, text, strlen(text));
		evbuffer_add(out, "\n", 1);
	}
	evhttp_send_reply(req, code, NULL, out);
	evbuffer_free(out);
	free(text);
	json_decref(j);
}

static void reply_error(struct evhttp_request *req, int code,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_error(struct evhttp_request *req, int code,
			const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	reply_json(req, code, json_pack("{s:s}", "error", text));
}

static const char *method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "?";
	}
}

/* ---- id sets ------------------------------------------------------------ */

/* Every id must name a task: the first unknown one is reported. */
static int idset_check(struct api *a, const struct idset *set, task_id_t *bad)
{
	task_id_t last = sched_last_id(a->s);

	for (size_t i = 0; i < set->n; i++) {
		if (set->r[i].last > last) {
			*bad = set->r[i].first > last ? set->r[i].first : last + 1;
			return -1;
		}
	}
	return 0;
}

/* ---- task JSON ---------------------------------------------------------- */

static json_t *task_json(struct api *a, const struct task_info *t)
{
	char **argv = sched_task_argv(a->s, t->id);
	struct worker_info wi;
	const char *worker_name = NULL;
	json_t *j;

	if (t->worker >= 0 && sched_worker(a->s, t->worker, &wi) == 0)
		worker_name = wi.name;
	j = task_info_json(t, argv, worker_name);
	for (char **p = argv; p && *p; p++)
		free(*p);
	free(argv);
	return j;
}

/* ---- handlers ----------------------------------------------------------- */

static json_t *parse_body(struct call *c)
{
	json_error_t jerr;
	json_t *j;

	if (!c->body_len) {
		reply_error(c->req, 400, "request body: expected JSON, got nothing");
		return NULL;
	}
	j = json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		reply_error(c->req, 400, "request body: invalid JSON at line %d column %d: %s",
			    jerr.line, jerr.column, jerr.text);
	return j;
}

static void reply_submitted(struct call *c, task_id_t first, uint64_t count)
{
	reply_json(c->req, 201, json_pack("{s:I,s:I}", "first", (json_int_t)first,
					  "count", (json_int_t)count));
}

static void h_submit(struct call *c)
{
	struct task_spec_buf b;
	struct err err = { "" };
	task_id_t first;
	uint64_t count;
	json_t *j = parse_body(c);

	if (!j)
		return;
	if (task_spec_from_json(j, &b, &err) < 0 ||
	    sched_submit(c->a->s, &b.spec, &first, &count, &err) < 0)
		reply_error(c->req, 400, "%s", err.text);
	else
		reply_submitted(c, first, count);
	task_spec_buf_release(&b);
	json_decref(j);
}

static void h_batch(struct call *c)
{
	struct task_spec_buf b;
	struct err err = { "" };
	struct evkeyval *kv;
	task_id_t first = 0;
	uint64_t count = 0;
	int ret = 0;

	task_spec_buf_init(&b);
	TAILQ_FOREACH(kv, &c->query, next) {
		json_t *v = json_string(kv->value);
		ret = v ? task_spec_set(&b, kv->key, v, 1, &err) :
			errprintf(&err, "field '%s': not valid UTF-8", kv->key);
		json_decref(v);
		if (ret < 0)
			break;
	}
	if (ret == 0)
		ret = taskfile_submit(c->a->s, c->body, c->body_len, &b.spec,
				      &first, &count, &err);
	if (ret < 0)
		reply_error(c->req, 400, "%s", err.text);
	else
		reply_submitted(c, first, count);
	task_spec_buf_release(&b);
}

static int query_uint(struct call *c, const char *key, uint64_t min,
		      uint64_t max, uint64_t *out)
{
	const char *v = evhttp_find_header(&c->query, key);

	if (!v)
		return 0;
	if (count_parse(v, min, max, out) < 0) {
		reply_error(c->req, 400, "parameter '%s': expected an integer from %"
			    PRIu64 " to %" PRIu64 ", got '%s'", key, min, max, v);
		return -1;
	}
	return 0;
}

static int query_states(struct call *c, unsigned *mask)
{
	const char *v = evhttp_find_header(&c->query, "state");
	struct strbuf item = STRBUF_INIT;
	int ret = 0;

	*mask = (1u << TASK_NSTATES) - 1;
	if (!v || !*v)
		return 0;
	*mask = 0;
	while (ret == 0) {
		const char *comma = strchr(v, ',');
		enum task_state st;
		strbuf_reset(&item);
		strbuf_add(&item, v, comma ? (size_t)(comma - v) : strlen(v));
		if (task_state_parse(item.buf, &st) < 0) {
			reply_error(c->req, 400, "parameter 'state': unknown state '%s' "
				    "(waiting, queued, running, done, failed, cancelled)",
				    item.buf);
			ret = -1;
			break;
		}
		*mask |= 1u << st;
		if (!comma)
			break;
		v = comma + 1;
	}
	strbuf_release(&item);
	return ret;
}

static void h_list(struct call *c)
{
	uint64_t after = 0, limit = LIST_DEFAULT_LIMIT, n = 0;
	const char *name = evhttp_find_header(&c->query, "name");
	unsigned mask;
	task_id_t id, last = 0;
	json_t *tasks;

	if (query_states(c, &mask) < 0 ||
	    query_uint(c, "after", 0, UINT64_MAX, &after) < 0 ||
	    query_uint(c, "limit", 1, LIST_MAX_LIMIT, &limit) < 0)
		return;
	tasks = json_array();
	for (id = sched_next(c->a->s, after, mask); id && n < limit;
	     id = sched_next(c->a->s, id, mask)) {
		struct task_info t;
		if (sched_task(c->a->s, id, &t) < 0)
			continue;
		last = id;
		if (name && strcmp(name, task_name(t.spec)))
			continue;
		json_array_append_new(tasks, task_json(c->a, &t));
		n++;
	}
	/* `next` is where the following page starts; null when this one
	 * reached the end. */
	reply_json(c->req, 200, json_pack("{s:o,s:o}", "tasks", tasks, "next",
					  id ? json_integer((json_int_t)last) :
					  json_null()));
}

static int find_task(struct call *c, struct task_info *t)
{
	if (sched_task(c->a->s, c->id, t) < 0) {
		reply_error(c->req, 404, "no task %" PRIu64, c->id);
		return -1;
	}
	return 0;
}

static void h_task(struct call *c)
{
	struct task_info t;

	if (find_task(c, &t) == 0)
		reply_json(c->req, 200, task_json(c->a, &t));
}

static void h_cancel_one(struct call *c)
{
	struct task_info t;
	struct err err = { "" };

	if (find_task(c, &t) < 0)
		return;
	if (sched_cancel(c->a->s, c->id, &err) < 0) {
		reply_error(c->req, 400, "%s", err.text);
		return;
	}
	if (sched_task(c->a->s, c->id, &t) < 0) {
		reply_error(c->req, 404, "no task %" PRIu64, c->id);
		return;
	}
	reply_json(c->req, 200, task_json(c->a, &t));
}

static void h_cancel_many(struct call *c)
{
	struct idset set = IDSET_INIT, one = IDSET_INIT;
	struct err err = { "" };
	json_t *j = parse_body(c), *ids, *x;
	uint64_t n = 0, ended = 0;
	task_id_t bad;
	size_t i;

	if (!j)
		return;
	ids = json_object_get(j, "ids");
	if (!json_is_object(j) || json_object_size(j) != 1 || !json_is_array(ids)) {
		reply_error(c->req, 400, "field 'ids': expected {\"ids\": [ID or \"A-B\", ...]}");
		goto out;
	}
	json_array_foreach(ids, i, x) {
		if (json_is_integer(x) && json_integer_value(x) >= 1) {
			idset_add(&set, (task_id_t)json_integer_value(x),
				  (task_id_t)json_integer_value(x));
		} else if (!json_is_string(x)) {
			reply_error(c->req, 400, "field 'ids': element %zu: expected a task id or \"A-B\"",
				    i);
			goto out;
		} else if (idset_parse(&one, json_string_value(x), 1, UINT64_MAX,
				       &err) < 0) {
			reply_error(c->req, 400, "field 'ids': element %zu: %s", i,
				    err.text);
			goto out;
		}
		/* Normalized once below, not per element. */
		for (size_t k = 0; k < one.n; k++)
			idset_add(&set, one.r[k].first, one.r[k].last);
		idset_release(&one);
	}
	idset_normalize(&set);
	if (idset_check(c->a, &set, &bad) < 0) {
		reply_error(c->req, 404, "no task %" PRIu64, bad);
		goto out;
	}
	for (i = 0; i < set.n; i++) {
		for (task_id_t id = set.r[i].first; id <= set.r[i].last; id++) {
			struct task_info t;
			if (sched_task(c->a->s, id, &t) == 0 &&
			    (t.state == TASK_DONE || t.state == TASK_FAILED ||
			     t.state == TASK_CANCELLED)) {
				ended++;
				continue;
			}
			if (sched_cancel(c->a->s, id, &err) == 0)
				n++;
		}
	}
	reply_json(c->req, 200, json_pack("{s:I,s:I}", "cancelled", (json_int_t)n,
					  "already_ended", (json_int_t)ended));
out:
	idset_release(&one);
	idset_release(&set);
	json_decref(j);
}

static int state_ended(enum task_state st)
{
	return st == TASK_DONE || st == TASK_FAILED || st == TASK_CANCELLED;
}

/* Counts per state of what `w` waits on; returns how many have not ended. */
static uint64_t waiter_counts(struct waiter *w, uint64_t counts[TASK_NSTATES],
			      uint64_t *total)
{
	uint64_t open = 0;

	memset(counts, 0, TASK_NSTATES * sizeof(counts[0]));
	*total = 0;
	if (!w->ids.n) {
		struct sched_counts sc;
		sched_counts(w->a->s, &sc);
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
		}
	}
	return open;
}

static json_t *counts_json(const uint64_t counts[TASK_NSTATES])
{
	json_t *j = json_object();

	for (int i = 0; i < TASK_NSTATES; i++)
		json_object_set_new(j, task_state_name((enum task_state)i),
				    json_integer((json_int_t)counts[i]));
	return j;
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
		evhttp_connection_set_closecb(evhttp_request_get_connection(w->req),
					      NULL, NULL);
	event_free(w->timer);
	idset_release(&w->ids);
	free(w);
}

static void waiter_reply(struct waiter *w, uint64_t counts[TASK_NSTATES],
			 uint64_t total, uint64_t open)
{
	struct evhttp_request *req = w->req;

	waiter_unlink(w);
	waiter_free(w);
	reply_json(req, 200, json_pack("{s:b,s:I,s:o}", "done", open == 0,
				       "total", (json_int_t)total,
				       "counts", counts_json(counts)));
}

static void waiter_finish(struct waiter *w)
{
	uint64_t counts[TASK_NSTATES], total;
	uint64_t open = waiter_counts(w, counts, &total);

	waiter_reply(w, counts, total, open);
}

static void waiter_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	waiter_finish(arg);
}

/* The client went away (or the API is shutting down): drop the waiter
 * without replying; evhttp frees the request. */
static void waiter_closed(struct evhttp_connection *conn, void *arg)
{
	struct waiter *w = arg;

	(void)conn;
	w->req = NULL;
	waiter_unlink(w);
	waiter_free(w);
}

static void check_waiters(evutil_socket_t fd, short what, void *arg)
{
	struct api *a = arg;
	struct waiter *w, *next;

	(void)fd;
	(void)what;
	for (w = a->waiters; w; w = next) {
		uint64_t counts[TASK_NSTATES], total, open;
		next = w->next;
		if (!w->dirty)
			continue;
		w->dirty = 0;
		if (w->ids.n && w->remaining)
			continue;
		open = waiter_counts(w, counts, &total);
		if (open == 0)
			waiter_reply(w, counts, total, open);
		else
			w->remaining = open;
	}
}

static void h_wait(struct call *c)
{
	struct waiter *w = calloc(1, sizeof(*w));
	const char *ids = evhttp_find_header(&c->query, "ids");
	uint64_t timeout = WAIT_DEFAULT_TIMEOUT, counts[TASK_NSTATES], total;
	struct err err = { "" };
	task_id_t bad;

	if (!w)
		abort();
	w->a = c->a;
	if (query_uint(c, "timeout", 0, WAIT_MAX_TIMEOUT, &timeout) < 0)
		goto fail;
	if (ids && *ids) {
		if (idset_parse(&w->ids, ids, 1, UINT64_MAX, &err) < 0) {
			reply_error(c->req, 400, "parameter 'ids': %s", err.text);
			goto fail;
		}
		if (idset_check(c->a, &w->ids, &bad) < 0) {
			reply_error(c->req, 404, "no task %" PRIu64, bad);
			goto fail;
		}
	}
	w->remaining = waiter_counts(w, counts, &total);
	if (w->remaining == 0 || timeout == 0) {
		w->req = c->req;
		reply_json(c->req, 200, json_pack("{s:b,s:I,s:o}", "done",
						  w->remaining == 0, "total",
						  (json_int_t)total, "counts",
						  counts_json(counts)));
		goto fail;
	}
	w->req = c->req;
	w->timer = evtimer_new(c->a->base, waiter_timeout, w);
	struct timeval tv = { (time_t)timeout, 0 };
	evtimer_add(w->timer, &tv);
	evhttp_connection_set_closecb(evhttp_request_get_connection(c->req),
				      waiter_closed, w);
	w->next = c->a->waiters;
	if (w->next)
		w->next->prev = w;
	c->a->waiters = w;
	return;
fail:
	idset_release(&w->ids);
	free(w);
}

static void h_workers(struct call *c)
{
	json_t *list = json_array();

	for (worker_id_t id = sched_worker_next(c->a->s, -1); id >= 0;
	     id = sched_worker_next(c->a->s, id)) {
		struct worker_info wi;
		if (sched_worker(c->a->s, id, &wi) < 0)
			continue;
		json_array_append_new(list, json_pack(
			"{s:i,s:s,s:i,s:i,s:I,s:I,s:i,s:I,s:b}",
			"id", (int)wi.id, "name", wi.name ? wi.name : "",
			"cores", (int)wi.cores, "cores_used", (int)wi.cores_used,
			"memory", (json_int_t)wi.memory,
			"memory_used", (json_int_t)wi.memory_used,
			"running", (int)wi.running, "done", (json_int_t)wi.done,
			"alive", wi.alive));
	}
	reply_json(c->req, 200, json_pack("{s:o}", "workers", list));
}

static void h_counters(struct call *c)
{
	struct sched_counts sc;
	uint64_t workers = 0, cores = 0, cores_used = 0;

	sched_counts(c->a->s, &sc);
	for (worker_id_t id = sched_worker_next(c->a->s, -1); id >= 0;
	     id = sched_worker_next(c->a->s, id)) {
		struct worker_info wi;
		if (sched_worker(c->a->s, id, &wi) < 0 || !wi.alive)
			continue;
		workers++;
		cores += wi.cores;
		cores_used += wi.cores_used;
	}
	reply_json(c->req, 200, json_pack(
		"{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:f}",
		"states", counts_json(sc.state),
		"submitted", (json_int_t)sc.submitted,
		"retried", (json_int_t)sc.retried,
		"last_id", (json_int_t)sched_last_id(c->a->s),
		"workers", (json_int_t)workers, "cores", (json_int_t)cores,
		"cores_used", (json_int_t)cores_used,
		"uptime", clock_wall() - c->a->started));
}

/* A task's output file, by the one rule (task_output_path); without a
 * log directory, relative to the scheduler's. */
static void log_path(struct api *a, const struct task_info *t, int err_stream,
		     struct strbuf *sb)
{
	task_output_path(sb, a->log_dir ? a->log_dir : ".", t->id, t->has_index,
			 t->array_index, err_stream ? TASK_STDERR : TASK_STDOUT,
			 t->spec);
}

static void h_log(struct call *c)
{
	const char *stream = evhttp_find_header(&c->query, "stream");
	struct strbuf path = STRBUF_INIT;
	struct task_info t;
	struct stat st;
	int err_stream, fd;

	if (!stream || !strcmp(stream, "stdout")) {
		err_stream = 0;
	} else if (!strcmp(stream, "stderr")) {
		err_stream = 1;
	} else {
		reply_error(c->req, 400, "parameter 'stream': expected stdout or stderr, got '%s'",
			    stream);
		return;
	}
	if (find_task(c, &t) < 0)
		return;
	log_path(c->a, &t, err_stream, &path);
	fd = open(path.buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		reply_error(c->req, 404, "task %" PRIu64 " has no %s log at '%s'",
			    c->id, err_stream ? "stderr" : "stdout", path.buf);
		if (fd >= 0)
			close(fd);
	} else {
		struct evbuffer *out = evbuffer_new();
		evhttp_add_header(evhttp_request_get_output_headers(c->req),
				  "Content-Type", "text/plain; charset=utf-8");
		/* evbuffer_add_file takes the descriptor. */
		if (st.st_size == 0 || evbuffer_add_file(out, fd, 0, st.st_size) < 0)
			close(fd);
		evhttp_send_reply(c->req, 200, NULL, out);
		evbuffer_free(out);
	}
	strbuf_release(&path);
}

/* ---- routing ------------------------------------------------------------ */

struct route {
	const char *pattern;		/* after /api/v1; "#" is a task id */
	enum evhttp_cmd_type method;
	handler_fn fn;
	size_t max_body;
};

static const struct route routes[] = {
	{ "/tasks", EVHTTP_REQ_POST, h_submit, MAX_BODY_JSON },
	{ "/tasks", EVHTTP_REQ_GET, h_list, 0 },
	{ "/tasks/batch", EVHTTP_REQ_POST, h_batch, MAX_BODY_BATCH },
	{ "/tasks/#", EVHTTP_REQ_GET, h_task, 0 },
	{ "/tasks/#/cancel", EVHTTP_REQ_POST, h_cancel_one, MAX_BODY_JSON },
	{ "/tasks/#/log", EVHTTP_REQ_GET, h_log, 0 },
	{ "/cancel", EVHTTP_REQ_POST, h_cancel_many, MAX_BODY_JSON },
	{ "/wait", EVHTTP_REQ_GET, h_wait, 0 },
	{ "/workers", EVHTTP_REQ_GET, h_workers, 0 },
	{ "/counters", EVHTTP_REQ_GET, h_counters, 0 },
	{ NULL, 0, NULL, 0 },
};

/* Does `path` match `pattern`?  A "#" segment takes a task id. */
static int route_match(const char *pattern, const char *path, task_id_t *id)
{
	while (*pattern && *path) {
		if (*pattern == '#') {
			const char *e;
			if (idset_scan_id(path, &e, id) < 0 || !*id)
				return 0;
			path = e;
			pattern++;
		} else if (*pattern++ != *path++) {
			return 0;
		}
	}
	return !*pattern && (!*path || !strcmp(path, "/"));
}

static int authorized(struct api *a, struct evhttp_request *req,
		      const char **why)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
					   "Authorization");

	if (!h) {
		*why = "no token";
		return 0;
	}
	if (strncasecmp(h, "Bearer ", 7)) {
		*why = "not a bearer token";
		return 0;
	}
	h += 7;
	while (*h == ' ')
		h++;
	if (strlen(h) != a->token_len || CRYPTO_memcmp(h, a->token, a->token_len)) {
		*why = "wrong token";
		return 0;
	}
	return 1;
}

static void log_rejected(struct evhttp_request *req, const char *why)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	char *host = NULL;
	ev_uint16_t port = 0;

	if (conn)
		evhttp_connection_get_peer(conn, &host, &port);
	log_msg(LOG_WARNING, "api: refused '%s %s' from %s:%u: %s",
		method_name(evhttp_request_get_command(req)),
		evhttp_request_get_uri(req), host ? host : "?", port, why);
}

static void handle(struct evhttp_request *req, void *arg)
{
	struct api *a = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	const struct route *r, *match = NULL;
	struct call c = { .a = a, .req = req };
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct strbuf allow = STRBUF_INIT;
	const char *why;

	TAILQ_INIT(&c.query);
	if (!authorized(a, req, &why)) {
		log_rejected(req, why);
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "WWW-Authenticate", "Bearer");
		reply_error(req, 401, "unauthorized: %s; send 'Authorization: Bearer TOKEN' "
			    "with the cluster's token", why);
		return;
	}
	if (!path || strncmp(path, API_PREFIX, strlen(API_PREFIX))) {
		reply_error(req, 404, "no such resource '%s'", path ? path : "");
		return;
	}
	path += strlen(API_PREFIX);
	for (r = routes; r->pattern; r++) {
		task_id_t id = 0;
		if (!route_match(r->pattern, path, &id))
			continue;
		if (r->method == method) {
			match = r;
			c.id = id;
			break;
		}
		strbuf_addf(&allow, "%s%s", allow.len ? ", " : "",
			    method_name(r->method));
	}
	if (!match) {
		if (allow.len) {
			evhttp_add_header(evhttp_request_get_output_headers(req),
					  "Allow", allow.buf);
			reply_error(req, 405, "method %s not allowed on '%s%s' (allowed: %s)",
				    method_name(method), API_PREFIX, path, allow.buf);
		} else {
			reply_error(req, 404, "no such resource '%s%s'", API_PREFIX,
				    path);
		}
		goto out;
	}
	c.body_len = evbuffer_get_length(in);
	if (c.body_len > match->max_body) {
		if (match->max_body == 0)
			reply_error(req, 400, "request body: %s %s%s takes none",
				    method_name(method), API_PREFIX, match->pattern);
		else
			reply_error(req, 413, "request body: larger than %zu bytes",
				    match->max_body);
		goto out;
	}
	c.body = c.body_len ? (const char *)evbuffer_pullup(in, -1) : "";
	if (query && evhttp_parse_query_str(query, &c.query) < 0) {
		reply_error(req, 400, "query string: cannot parse '%s'", query);
		goto out;
	}
	match->fn(&c);
out:
	evhttp_clear_headers(&c.query);
	strbuf_release(&allow);
}

/* ---- life cycle --------------------------------------------------------- */

struct api *api_create(struct event_base *base, struct sched *s,
		       const struct api_config *cfg, struct err *err)
{
	struct api *a = calloc(1, sizeof(*a));
	struct evhttp_bound_socket *sock;
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
	strcpy(a->token, cfg->token);
	a->token_len = strlen(a->token);
	a->log_dir = cfg->log_dir ? xstrdup(cfg->log_dir) : NULL;
	a->http = evhttp_new(base);
	a->check = event_new(base, -1, 0, check_waiters, a);
	if (!a->http || !a->check) {
		errprintf(err, "cannot create the HTTP server");
		goto fail;
	}
	evhttp_set_max_body_size(a->http, MAX_BODY_BATCH);
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
				   EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
				   EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
				   EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(a->http, handle, a);
	sock = evhttp_bind_socket_with_handle(a->http, bind, cfg->port);
	if (!sock) {
		errprintf(err, "cannot listen on '%s' port %u: %s", bind,
			  (unsigned)cfg->port, strerror(errno));
		goto fail;
	}
	{
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		evutil_socket_t fd = evhttp_bound_socket_get_fd(sock);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
			if (ss.ss_family == AF_INET)
				a->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			else if (ss.ss_family == AF_INET6)
				a->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
	}
	return a;
fail:
	api_destroy(a);
	return NULL;
}

void api_destroy(struct api *a)
{
	if (!a)
		return;
	/* Parked long-polls get their answer now rather than a reset. */
	while (a->waiters)
		waiter_finish(a->waiters);
	if (a->http)
		evhttp_free(a->http);
	if (a->check)
		event_free(a->check);
	free(a->log_dir);
	OPENSSL_cleanse(a->token, sizeof(a->token));
	free(a);
}

uint16_t api_port(const struct api *a)
{
	return a->port;
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
