/*
 * dashboard: the routes the dashboard and `cluster top` poll, each
 * answer bounded whatever the cluster holds:
 *
 *	GET /api/v1/stream?since=CURSOR	task events after CURSOR (the ring)
 *	GET /api/v1/progress		tasks by state, per task name
 *	GET /api/v1/actions		seconds summed per action
 *	GET /api/v1/memory		memory per worker, or a histogram
 *
 * All read the activity (activity.h) the server keeps, or the workers'
 * few lines of sched; none walks the task table.
 */
#include "api/routes.h"

#include <inttypes.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "api/activity.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define STREAM_MAX 1000			/* events per answer, at most */
#define MEMORY_WORKERS 100		/* above: a histogram */
#define MEMORY_BINS 10

void api_set_activity(struct api *a, struct activity *act)
{
	if (a)
		a->activity = act;
}

/* No activity (a scheduler that keeps none): the same empty answers. */
static struct activity *activity_or_empty(struct api *a)
{
	static struct activity *empty;

	if (a->activity)
		return a->activity;
	if (!empty)
		empty = activity_create(1, 1);
	return empty;
}

/* The stream is the one answer that grows with the cluster's pace (up to
 * STREAM_MAX events a poll, per dashboard), so it is written as text in
 * one pass rather than built as jansson objects and dumped: each task
 * name is quoted once per answer. */
struct names_quoted {
	char **text;			/* by activity name index, NULL: not yet */
	size_t n;
};

static const char *quoted_name(struct names_quoted *q,
			       const struct activity *act, unsigned name)
{
	if (name >= q->n)
		name = 0;
	if (!q->text[name]) {
		json_t *j = json_string(activity_name_text(act, name));
		q->text[name] = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
		json_decref(j);
		if (!q->text[name])
			q->text[name] = xstrdup("\"" ACTIVITY_OTHER "\"");
	}
	return q->text[name];
}

static void add_event(struct strbuf *sb, struct names_quoted *q,
		      const struct activity *act, const struct activity_event *e)
{
	strbuf_addf(sb, "{\"seq\":%" PRIu64 ",\"kind\":\"%s\",\"time\":%.6f,"
		    "\"task\":%" PRIu64 ",\"worker\":%d,\"slot\":%u,\"name\":%s",
		    e->seq, e->kind == ACTIVITY_START ? "start" : "stop", e->time,
		    (uint64_t)e->id, (int)e->worker, e->slot,
		    quoted_name(q, act, e->name));
	if (e->kind == ACTIVITY_STOP) {
		strbuf_addf(sb, ",\"state\":\"%s\",\"start\":%.6f",
			    e->state == TASK_QUEUED ? "requeued" :
			    task_state_name(e->state), e->start);
		for (int i = 0; i < ACTION_COUNT; i++)
			strbuf_addf(sb, ",\"%s\":%.6f", activity_action_name(i),
				    e->action[i]);
	}
	strbuf_addch(sb, '}');
}

void dashboard_stream(struct http_call *c)
{
	struct activity *act = activity_or_empty(c->a);
	uint64_t since = 0, limit = STREAM_MAX, first, last, missed = 0;
	struct names_quoted q = { NULL, activity_nnames(act) };
	struct strbuf sb = STRBUF_INIT;
	struct evbuffer *out;
	int reset = 0;

	if (http_query_uint(c, "since", 0, UINT64_MAX, &since) < 0 ||
	    http_query_uint(c, "limit", 1, STREAM_MAX, &limit) < 0)
		return;
	first = activity_first(act);
	last = activity_last(act);
	/* A cursor from the future is another scheduler's: start over. */
	if (since > last) {
		since = 0;
		reset = 1;
	}
	if (since + 1 < first) {
		missed = first - since - 1;
		since = first - 1;
	}
	/* The latest events when too many: a dashboard shows what is now. */
	if (last - since > limit) {
		missed += last - since - limit;
		since = last - limit;
	}
	q.text = xcalloc(q.n ? q.n : 1, sizeof(*q.text));
	strbuf_addf(&sb, "{\"cursor\":%" PRIu64 ",\"missed\":%" PRIu64
		    ",\"reset\":%s,\"now\":%.6f,\"events\":[", last, missed,
		    reset ? "true" : "false", clock_wall());
	for (uint64_t s = since + 1; s <= last; s++) {
		if (s > since + 1)
			strbuf_addch(&sb, ',');
		add_event(&sb, &q, act, activity_event(act, s));
	}
	strbuf_addstr(&sb, "]}\n");
	for (size_t i = 0; i < q.n; i++)
		free(q.text[i]);
	free(q.text);
	out = evbuffer_new();
	evhttp_add_header(evhttp_request_get_output_headers(c->req),
			  "Content-Type", "application/json");
	evbuffer_add(out, sb.buf, sb.len);
	evhttp_send_reply(c->req, 200, NULL, out);
	evbuffer_free(out);
	strbuf_release(&sb);
}

void dashboard_progress(struct http_call *c)
{
	struct activity *act = activity_or_empty(c->a);
	json_t *names = json_array();
	struct sched_counts sc;

	for (size_t i = 0; i < activity_nnames(act); i++) {
		const uint64_t *n = activity_counts(act, (unsigned)i);
		uint64_t sum = 0;
		for (int k = 0; k < TASK_NSTATES; k++)
			sum += n[k];
		if (!sum)
			continue;
		json_t *j = counts_json(n);
		json_object_set_new(j, "name", json_string(
			activity_name_text(act, (unsigned)i)));
		json_array_append_new(names, j);
	}
	sched_counts(c->a->s, &sc);
	http_reply_json(c->req, 200, json_pack(
		"{s:o,s:o}", "names", names, "total", counts_json(sc.state)));
}

void dashboard_actions(struct http_call *c)
{
	struct activity *act = activity_or_empty(c->a);
	json_t *j = json_object();

	for (int i = 0; i < ACTION_COUNT; i++)
		json_object_set_new(j, activity_action_name(i), json_pack(
			"{s:f,s:I}", "seconds", activity_action_seconds(act, i),
			"runs", (json_int_t)activity_action_runs(act, i)));
	http_reply_json(c->req, 200, json_pack("{s:o}", "actions", j));
}

void dashboard_memory(struct http_call *c)
{
	json_t *list = json_array();
	uint64_t bins[MEMORY_BINS] = { 0 }, total = 0, used = 0, n = 0;

	for (worker_id_t id = sched_worker_next(c->a->s, -1); id >= 0;
	     id = sched_worker_next(c->a->s, id)) {
		struct worker_info wi;
		if (sched_worker(c->a->s, id, &wi) < 0 || !wi.alive)
			continue;
		n++;
		total += wi.memory;
		used += wi.memory_used;
		if (wi.memory) {
			uint64_t b = wi.memory_used * MEMORY_BINS / wi.memory;
			bins[b >= MEMORY_BINS ? MEMORY_BINS - 1 : b]++;
		} else {
			bins[0]++;
		}
		if (n <= MEMORY_WORKERS)
			json_array_append_new(list, json_pack(
				"{s:i,s:s,s:I,s:I,s:i,s:i,s:i}",
				"id", (int)wi.id, "name", wi.name ? wi.name : "",
				"memory", (json_int_t)wi.memory,
				"memory_used", (json_int_t)wi.memory_used,
				"cores", (int)wi.cores,
				"cores_used", (int)wi.cores_used,
				"running", (int)wi.running));
	}
	json_t *hist = json_array();
	for (int i = 0; i < MEMORY_BINS; i++)
		json_array_append_new(hist, json_integer((json_int_t)bins[i]));
	/* Past MEMORY_WORKERS the list would be a wall: the histogram
	 * (workers by tenth of their memory in use) says it in ten numbers. */
	if (n > MEMORY_WORKERS) {
		json_decref(list);
		list = json_array();
	}
	http_reply_json(c->req, 200, json_pack(
		"{s:I,s:I,s:I,s:o,s:o}", "count", (json_int_t)n,
		"memory", (json_int_t)total, "memory_used", (json_int_t)used,
		"workers", list, "histogram", hist));
}
