/*
 * tasks: the task routes of the API: submit one task or an array, submit
 * a task file, list, show and cancel tasks, and a task's output file.
 */
#include "api/routes.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "proto/proto.h"
#include "sched/taskfile.h"
#include "state/worklog.h"
#include "task/codec.h"
#include "util/clock.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define LIST_DEFAULT_LIMIT 1000
#define LIST_MAX_LIMIT 10000

/* ---- ids and task JSON --------------------------------------------------- */

/* Every id must name a task: the first unknown one is reported. */
int tasks_known(struct api *a, const struct idset *set, task_id_t *bad)
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
	/* A cancelled run was ended by a signal, or never started: it has
	 * no exit code. */
	if (t->state == TASK_CANCELLED) {
		int ran = t->signal || t->runtime > 0;
		json_object_set_new(j, "exit_code", json_null());
		json_object_set_new(j, "signal", ran ?
				    json_integer(t->signal) : json_null());
		json_object_set_new(j, "runtime", ran ?
				    json_real(t->runtime) : json_null());
		json_object_set_new(j, "peak_memory", ran ?
				    json_integer((json_int_t)t->peak_memory) :
				    json_null());
	}
	/* Its worker holds it until it has the cores: not running yet. */
	if (t->state == TASK_RUNNING && t->start_time <= 0)
		json_object_set_new(j, "state", json_string("assigned"));
	/* By the scheduler's clock, which the client's may not match. */
	if (t->state == TASK_RUNNING && t->start_time > 0) {
		double now = clock_wall();
		json_object_set_new(j, "elapsed", json_real(now > t->start_time ?
							  now - t->start_time : 0));
	} else {
		json_object_set_new(j, "elapsed", json_null());
	}
	return j;
}

json_t *counts_json(const uint64_t counts[TASK_NSTATES])
{
	json_t *j = json_object();

	for (int i = 0; i < TASK_NSTATES; i++)
		json_object_set_new(j, task_state_name((enum task_state)i),
				    json_integer((json_int_t)counts[i]));
	return j;
}

/* ---- what a worker can be sent ------------------------------------------- */

/* A task file line is one string of a RUN frame, as its own command or
 * the argument of sh -c; with the batch route's other fields (paths of at
 * most TASK_STRING_MAX bytes) such a frame always fits. */
_Static_assert(TASKFILE_MAX_LINE <= PROTO_MAX_STRING,
	       "a task file line fits in one protocol string");

/*
 * Refuse now a task the worker protocol cannot carry, rather than have
 * every worker it is sent to drop the frame.  The field table bounds the
 * counts and the paths; the length of each argv and env string, and of
 * the whole frame, only the protocol does.  So build the largest RUN
 * frame the spec makes (the array index with the most digits in every
 * "{}", a 20-digit task id in the output paths) and ask proto_validate.
 */
static int spec_fits_frame(struct api *a, const struct task_spec *spec,
			   struct err *err)
{
	struct proto_msg m = { .type = PROTO_RUN };
	struct proto_run *r = &m.u.run;
	struct strbuf op = STRBUF_INIT, ep = STRBUF_INIT;
	char index[24] = "", last[24];
	size_t argc = 0;
	int rc;

	if (spec->is_array) {
		snprintf(index, sizeof(index), "%" PRId64, spec->array_first);
		snprintf(last, sizeof(last), "%" PRId64, spec->array_last);
		r->has_index = 1;
		r->array_index = spec->array_first;
		if (strlen(last) > strlen(index)) {
			memcpy(index, last, sizeof(index));
			r->array_index = spec->array_last;
		}
	}
	while (spec->argv && spec->argv[argc])
		argc++;
	r->argv = xcalloc(argc + 1, sizeof(*r->argv));
	for (size_t k = 0; k < argc; k++) {
		struct strbuf sb = STRBUF_INIT;
		if (spec->is_array)
			task_substitute_index(&sb, spec->argv[k], index);
		else
			strbuf_addstr(&sb, spec->argv[k]);
		r->argv[k] = strbuf_detach(&sb, NULL);
	}
	r->task_id = UINT64_MAX;
	r->env = (char **)spec->env;
	r->cwd = (char *)spec->cwd;
	task_output_path(&op, a->log_dir, r->task_id, r->has_index,
			 r->array_index, TASK_STDOUT, spec);
	task_output_path(&ep, a->log_dir, r->task_id, r->has_index,
			 r->array_index, TASK_STDERR, spec);
	r->stdout_path = op.buf;
	r->stderr_path = ep.buf;
	r->log_dir = a->log_dir;
	rc = proto_validate(&m, PROTO_MAX_FRAME, err);
	if (rc < 0)
		errprefix(err, "task too large to send to a worker");
	for (size_t k = 0; k < argc; k++)
		free(r->argv[k]);
	free(r->argv);
	strbuf_release(&op);
	strbuf_release(&ep);
	return rc;
}

/* ---- handlers ----------------------------------------------------------- */

static void reply_submitted(struct http_call *c, task_id_t first, uint64_t count)
{
	api_reply_durable(c, 201, json_pack("{s:I,s:I}", "first", (json_int_t)first,
					    "count", (json_int_t)count), NULL);
}

void tasks_submit(struct http_call *c)
{
	struct task_spec_buf b;
	struct err err = { "" };
	task_id_t first;
	uint64_t count;
	json_t *j = http_body_json(c);

	if (!j)
		return;
	if (task_spec_from_json(j, &b, &err) < 0 ||
	    spec_fits_frame(c->a, &b.spec, &err) < 0 ||
	    sched_submit(c->a->s, &b.spec, &first, &count, &err) < 0)
		http_reply_error(c->req, 400, "%s", err.text);
	else
		reply_submitted(c, first, count);
	task_spec_buf_release(&b);
	json_decref(j);
}

void tasks_batch(struct http_call *c)
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
		http_reply_error(c->req, 400, "%s", err.text);
	else
		reply_submitted(c, first, count);
	task_spec_buf_release(&b);
}

/* "assigned" in a state filter: running tasks their worker holds
 * without having started them; "running" is then the started ones. */
#define ASSIGNED_BIT (1u << TASK_NSTATES)

static int query_states(struct http_call *c, unsigned *mask)
{
	const char *v = evhttp_find_header(&c->query, "state");
	struct strbuf item = STRBUF_INIT;
	int ret = 0;

	*mask = (1u << TASK_NSTATES) - 1;
	if (!v || !*v) {
		*mask |= ASSIGNED_BIT;
		return 0;
	}
	*mask = 0;
	while (ret == 0) {
		const char *comma = strchr(v, ',');
		enum task_state st;
		strbuf_reset(&item);
		strbuf_add(&item, v, comma ? (size_t)(comma - v) : strlen(v));
		if (!strcmp(item.buf, "assigned")) {
			*mask |= ASSIGNED_BIT;
		} else if (task_state_parse(item.buf, &st) < 0) {
			http_reply_error(c->req, 400, "parameter 'state': unknown state '%s' "
					 "(waiting, queued, assigned, running, done, failed, cancelled)",
					 item.buf);
			ret = -1;
			break;
		} else {
			*mask |= 1u << st;
		}
		if (!comma)
			break;
		v = comma + 1;
	}
	strbuf_release(&item);
	return ret;
}

/* Does `mask` take task `t`: a running task by whether it has started. */
static int state_wanted(unsigned mask, const struct task_info *t)
{
	if (t->state != TASK_RUNNING)
		return 1;
	return t->start_time > 0 ? !!(mask & (1u << TASK_RUNNING)) :
		!!(mask & ASSIGNED_BIT);
}

void tasks_list(struct http_call *c)
{
	uint64_t after = 0, limit = LIST_DEFAULT_LIMIT, n = 0;
	const char *name = evhttp_find_header(&c->query, "name");
	unsigned mask, states;
	task_id_t id, last = 0;
	json_t *tasks;

	if (query_states(c, &mask) < 0 ||
	    http_query_uint(c, "after", 0, UINT64_MAX, &after) < 0 ||
		 http_query_uint(c, "limit", 1, LIST_MAX_LIMIT, &limit) < 0)
		     return;
	/* sched knows running tasks as one state */
	states = mask & ((1u << TASK_NSTATES) - 1);
	if (mask & ASSIGNED_BIT)
		states |= 1u << TASK_RUNNING;
	tasks = json_array();
	for (id = sched_next(c->a->s, after, states); id && n < limit;
	     id = sched_next(c->a->s, id, states)) {
		struct task_info t;
		if (sched_task(c->a->s, id, &t) < 0)
			continue;
		last = id;
		if ((name && strcmp(name, task_name(t.spec))) ||
		    !state_wanted(mask, &t))
			continue;
		json_array_append_new(tasks, task_json(c->a, &t));
		n++;
	}
	/* `next` is where the following page starts; null when this one
	 * reached the end. */
	http_reply_json(c->req, 200, json_pack("{s:o,s:o}", "tasks", tasks, "next",
					       id ? json_integer((json_int_t)last) :
					       json_null()));
}

static int find_task(struct http_call *c, struct task_info *t)
{
	if (sched_task(c->a->s, c->id, t) < 0) {
		http_reply_error(c->req, 404, "no task %" PRIu64, c->id);
		return -1;
	}
	return 0;
}

void tasks_show(struct http_call *c)
{
	struct task_info t;

	if (find_task(c, &t) == 0)
		http_reply_json(c->req, 200, task_json(c->a, &t));
}

void tasks_cancel(struct http_call *c)
{
	struct task_info t;
	struct err err = { "" };

	if (find_task(c, &t) < 0)
		return;
	if (sched_cancel(c->a->s, c->id, &err) < 0) {
		http_reply_error(c->req, 400, "%s", err.text);
		return;
	}
	if (sched_task(c->a->s, c->id, &t) < 0) {
		http_reply_error(c->req, 404, "no task %" PRIu64, c->id);
		return;
	}
	api_reply_durable(c, 200, task_json(c->a, &t), NULL);
}

/* Waiting tasks above `after`: the only ones a cancel can take with it
 * (dependencies are earlier tasks, and only waiting ones are cancelled
 * by theirs). */
static void waiting_above(struct sched *s, task_id_t after, struct idset *out)
{
	for (task_id_t id = sched_next(s, after, 1u << TASK_WAITING); id;
	     id = sched_next(s, id, 1u << TASK_WAITING))
		idset_add(out, id, id);
}

/* Of `waiting`, those now cancelled and not asked for: the dependents
 * a cancel took with it. */
static void dependents_cancelled(struct sched *s, const struct idset *waiting,
				 const struct idset *asked, struct idset *out)
{
	for (size_t i = 0; i < waiting->n; i++) {
		for (task_id_t id = waiting->r[i].first; id <= waiting->r[i].last;
		     id++) {
			struct task_info t;
			if (!idset_has(asked, id) && sched_task(s, id, &t) == 0 &&
			    t.state == TASK_CANCELLED)
				idset_add(out, id, id);
		}
	}
}

void tasks_cancel_many(struct http_call *c)
{
	struct idset set = IDSET_INIT, one = IDSET_INIT, waiting = IDSET_INIT,
		     deps = IDSET_INIT;
	struct strbuf deps_text = STRBUF_INIT;
	struct err err = { "" };
	json_t *j = http_body_json(c), *ids, *x;
	uint64_t n = 0, ended = 0;
	task_id_t bad;
	size_t i;

	if (!j)
		return;
	ids = json_object_get(j, "ids");
	if (!json_is_object(j) || json_object_size(j) != 1 ||
	    !(json_is_array(ids) || json_is_string(ids))) {
		http_reply_error(c->req, 400, "field 'ids': expected {\"ids\": [ID or \"A-B\", ...]} "
				 "or {\"ids\": \"A-B,C,...\"}");
		goto out;
	}
	/* A list as text: a million ids in a few bytes. */
	if (json_is_string(ids) &&
	    idset_parse(&set, json_string_value(ids), 1, UINT64_MAX, &err) < 0) {
		http_reply_error(c->req, 400, "field 'ids': %s", err.text);
		goto out;
	}
	json_array_foreach(ids, i, x) {
		if (json_is_integer(x) && json_integer_value(x) >= 1) {
			idset_add(&set, (task_id_t)json_integer_value(x),
				  (task_id_t)json_integer_value(x));
		} else if (!json_is_string(x)) {
			http_reply_error(c->req, 400, "field 'ids': element %zu: expected a task id or \"A-B\"",
					 i);
			goto out;
		} else if (idset_parse(&one, json_string_value(x), 1, UINT64_MAX,
				       &err) < 0) {
			http_reply_error(c->req, 400, "field 'ids': element %zu: %s", i,
					 err.text);
			goto out;
		}
		/* Normalized once below, not per element. */
		for (size_t k = 0; k < one.n; k++)
			idset_add(&set, one.r[k].first, one.r[k].last);
		idset_release(&one);
	}
	idset_normalize(&set);
	if (tasks_known(c->a, &set, &bad) < 0) {
		http_reply_error(c->req, 404, "no task %" PRIu64, bad);
		goto out;
	}
	if (set.n)
		waiting_above(c->a->s, set.r[0].first, &waiting);
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
	dependents_cancelled(c->a->s, &waiting, &set, &deps);
	idset_format(&deps_text, &deps);
	api_reply_durable(c, 200, json_pack("{s:I,s:I,s:I,s:s}", "cancelled",
					       (json_int_t)n, "already_ended",
					       (json_int_t)ended, "dependents",
					       (json_int_t)idset_count(&deps),
					       "dependent_ids", deps_text.buf),
			  NULL);
out:
	idset_release(&one);
	idset_release(&set);
	idset_release(&waiting);
	idset_release(&deps);
	strbuf_release(&deps_text);
	json_decref(j);
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

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "a special file";
}

static void free_text(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* The latest run's chunks, from the logs of the worker that ran it
 * when sched still knows which (a task's record keeps its worker until
 * it is compacted; a journal's replay does not know it), else from
 * every worker log. */
static int read_worker_log(struct api *a, const struct task_info *t,
			   enum task_stream stream, struct strbuf *text,
			   struct err *err)
{
	struct worker_info wi;

	if (t->worker >= 0 && sched_worker(a->s, t->worker, &wi) == 0 &&
	    wi.name)
		return worklog_read_worker(a->log_dir, wi.name, t->id,
					   t->attempts, stream, text, NULL,
					   NULL, err);
	return worklog_read(a->log_dir, t->id, t->attempts, stream, text,
			    NULL, NULL, err);
}

/* A stream without a path of its own, in the worker logs: what the
 * task's latest run wrote, empty when it wrote nothing. */
static void worker_log(struct http_call *c, const struct task_info *t,
		       int err_stream)
{
	const char *what = err_stream ? "stderr" : "stdout";
	struct strbuf text = STRBUF_INIT;
	struct err err = { "" };

	if (c->a->output == TASK_OUTPUT_DISCARD || !c->a->log_dir) {
		http_reply_error(c->req, 404, "task %" PRIu64 " has no %s log: "
				 "%s", c->id, what, c->a->log_dir ?
				 "its output was discarded (task.output is discard)" :
				 "the scheduler has no log directory");
		return;
	}
	if (!t->attempts) {
		http_reply_error(c->req, 404, "task %" PRIu64 " has no %s log: "
				 "it has not run", c->id, what);
	} else if (read_worker_log(c->a, t, err_stream ? TASK_STDERR :
				   TASK_STDOUT, &text, &err) < 0) {
		http_reply_error(c->req, 500, "task %" PRIu64 ": %s", c->id,
				 err.text);
	} else {
		struct evbuffer *out = evbuffer_new();
		evhttp_add_header(evhttp_request_get_output_headers(c->req),
				  "Content-Type", "text/plain; charset=utf-8");
		size_t len;
		char *data = strbuf_detach(&text, &len);
		/* Handed over, not copied: a task's output may be large. */
		if (!len ||
		    evbuffer_add_reference(out, data, len, free_text, NULL) < 0)
			free(data);
		evhttp_send_reply(c->req, 200, NULL, out);
		evbuffer_free(out);
	}
	strbuf_release(&text);
}

void tasks_log(struct http_call *c)
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
		http_reply_error(c->req, 400, "parameter 'stream': expected stdout or stderr, got '%s'",
				 stream);
		return;
	}
	if (find_task(c, &t) < 0)
		return;
	if (!(err_stream ? t.spec->stderr_path : t.spec->stdout_path) &&
	    c->a->output != TASK_OUTPUT_FILES) {
		worker_log(c, &t, err_stream);
		return;
	}
	log_path(c->a, &t, err_stream, &path);
	/* O_NONBLOCK: opening a FIFO without a writer would block the event
	 * loop; a regular file reads the same either way. */
	fd = open(path.buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		http_reply_error(c->req, 404, "task %" PRIu64 " has no %s log at '%s'",
				 c->id, err_stream ? "stderr" : "stdout", path.buf);
		if (fd >= 0)
			close(fd);
	} else if (!S_ISREG(st.st_mode)) {
		http_reply_error(c->req, 404, "task %" PRIu64 " has no %s log: '%s' is %s, "
				 "not a regular file", c->id,
				 err_stream ? "stderr" : "stdout", path.buf,
				 file_kind(st.st_mode));
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
