/*
 * format: the journal's records, built from the task table.  A spec goes
 * through task/codec.h, the one JSON writing of a task, so the journal
 * and the API mean the same thing by every field; fields left at their
 * default are omitted to keep a million records small.
 */
#include "journal/journal.h"

#include <stdlib.h>

#include "task/codec.h"
#include "util/clock.h"

json_t *journal_record(const char *ev)
{
	json_t *r = json_object();

	json_object_set_new(r, "ev", json_string(ev));
	json_object_set_new(r, "t", json_real(clock_wall()));
	return r;
}

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();

	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

json_t *journal_record_submit(struct sched *s, task_id_t id)
{
	struct sched_submission sub;
	json_t *r, *list;

	if (sched_submission(s, id, &sub) < 0)
		return NULL;
	r = journal_record("submit");
	json_object_set_new(r, "t", json_real(sub.submit_time));
	json_object_set_new(r, "id", json_integer((json_int_t)sub.first));
	json_object_set_new(r, "n", json_integer((json_int_t)sub.n));
	json_object_set_new(r, "spec", task_spec_json(sub.spec));
	if (sub.kind == SCHED_SUBMIT_SPEC)
		return r;
	list = json_array();
	for (uint64_t k = 0; k < sub.n; k++) {
		task_id_t t = sub.first + k;
		if (sub.kind == SCHED_SUBMIT_EACH) {
			json_array_append_new(list,
				json_string(sched_submission_arg(s, t)));
		} else {
			char **argv = sched_task_argv(s, t);
			json_array_append_new(list, strv_json(argv));
			for (char **p = argv; p && *p; p++)
				free(*p);
			free(argv);
		}
	}
	json_object_set_new(r, sub.kind == SCHED_SUBMIT_EACH ? "args" : "argvs",
			    list);
	return r;
}

static void set_uint(json_t *r, const char *key, uint64_t v)
{
	if (v)
		json_object_set_new(r, key, json_integer((json_int_t)v));
}

json_t *journal_record_run(struct sched *s, task_id_t id, const char *worker)
{
	struct task_info ti;
	json_t *r;

	if (sched_task(s, id, &ti) < 0)
		return NULL;
	r = journal_record("run");
	json_object_set_new(r, "id", json_integer((json_int_t)id));
	json_object_set_new(r, "attempt", json_integer((json_int_t)ti.attempts));
	set_uint(r, "failures", ti.failures);
	set_uint(r, "losses", ti.worker_losses);
	if (worker)
		json_object_set_new(r, "worker", json_string(worker));
	return r;
}

json_t *journal_record_end(struct sched *s, task_id_t id)
{
	struct task_info ti;
	json_t *r;

	if (sched_task(s, id, &ti) < 0)
		return NULL;
	r = journal_record("end");
	if (ti.end_time > 0)
		json_object_set_new(r, "t", json_real(ti.end_time));
	json_object_set_new(r, "id", json_integer((json_int_t)id));
	json_object_set_new(r, "state", json_string(task_state_name(ti.state)));
	if (ti.exit_code)
		json_object_set_new(r, "exit", json_integer(ti.exit_code));
	if (ti.signal)
		json_object_set_new(r, "signal", json_integer(ti.signal));
	if (ti.attempts)
		json_object_set_new(r, "runtime", json_real(ti.runtime));
	set_uint(r, "peak_memory", ti.peak_memory);
	set_uint(r, "runs", ti.attempts);
	set_uint(r, "failures", ti.failures);
	set_uint(r, "losses", ti.worker_losses);
	if (ti.reason && *ti.reason && ti.state != TASK_DONE)
		json_object_set_new(r, "reason", json_string(ti.reason));
	return r;
}

json_t *journal_record_cancelled(task_id_t first, task_id_t last)
{
	json_t *r = journal_record("end");

	json_object_set_new(r, "id", json_integer((json_int_t)first));
	if (last > first)
		json_object_set_new(r, "last", json_integer((json_int_t)last));
	json_object_set_new(r, "state", json_string("cancelled"));
	return r;
}

int journal_cancelled_unstarted(struct sched *s, task_id_t id)
{
	struct task_info ti;

	return sched_task(s, id, &ti) == 0 && ti.state == TASK_CANCELLED &&
		!ti.attempts;
}

static int dump_cb(const char *buf, size_t len, void *data)
{
	strbuf_add(data, buf, len);
	return 0;
}

void journal_encode(struct strbuf *out, const json_t *rec)
{
	json_dump_callback(rec, dump_cb, out,
			   JSON_COMPACT | JSON_REAL_PRECISION(15));
}
