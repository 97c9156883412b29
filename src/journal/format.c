/*
 * format: the journal's records, built from the task table.  A spec goes
 * through task/codec.h, the one JSON writing of a task, so the journal
 * and the API mean the same thing by every field; fields left at their
 * default are omitted to keep a million records small.
 */
#include "journal/journal.h"

#include <stdlib.h>
#include <string.h>

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

json_t *journal_record_job(const struct journal_job *j)
{
	json_t *r = journal_record(j->ev);

	json_object_set_new(r, "seq", json_integer((json_int_t)j->seq));
	if (j->name)
		json_object_set_new(r, "name", json_string(j->name));
	json_object_set_new(r, "id", json_string(j->id ? j->id : ""));
	if (j->index >= 0)
		json_object_set_new(r, "index", json_integer((json_int_t)j->index));
	if (j->state)
		json_object_set_new(r, !strcmp(j->ev, "job-end") ? "end" : "state",
				    json_string(j->state));
	if (j->raw && *j->raw)
		json_object_set_new(r, "raw", json_string(j->raw));
	if (j->reason && *j->reason)
		json_object_set_new(r, "reason", json_string(j->reason));
	return r;
}

/* --- the same records written straight into a buffer --------------------------
 *
 * Every run and every end passes here on the scheduler's loop, so these
 * two skip building a JSON object: they print the line journal_encode
 * would print of journal_record_run and _end (a unit test holds them to
 * it), but for bytes past ASCII in a worker's name or a reason, which
 * become '?', and times and run times, given to the microsecond. */

static void add_string(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, *p);
		} else if (*p < 0x20 || *p == 0x7f) {
			strbuf_addf(sb, "\\u%04x", *p);
		} else if (*p >= 0x80) {
			/* no check of UTF-8 here: a line that does not parse
			 * would stop the next start */
			strbuf_addch(sb, '?');
		} else {
			strbuf_addch(sb, *p);
		}
	}
	strbuf_addch(sb, '"');
}

static void add_u64(struct strbuf *sb, uint64_t v)
{
	char buf[24], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	strbuf_add(sb, p, (size_t)(buf + sizeof(buf) - p));
}

/* Seconds to the microsecond, as a JSON real ("12.5", "0.000001"):
 * printf's %g costs more than the rest of a record. */
static void add_real(struct strbuf *sb, double v)
{
	char frac[8];
	int n = 6;

	if (!(v >= 0 && v < 1e12)) {
		strbuf_addf(sb, "%.15g", v >= 0 || v < 0 ? v : 0.0);
		return;
	}
	uint64_t us = (uint64_t)(v * 1e6 + 0.5);
	uint64_t f = us % 1000000;
	add_u64(sb, us / 1000000);
	strbuf_addch(sb, '.');
	for (int i = 5; i >= 0; i--, f /= 10)
		frac[i] = (char)('0' + f % 10);
	while (n > 1 && frac[n - 1] == '0')
		n--;
	strbuf_add(sb, frac, (size_t)n);
}

static void add_uint(struct strbuf *sb, const char *key, uint64_t v)
{
	if (!v)
		return;
	strbuf_addf(sb, ",\"%s\":", key);
	add_u64(sb, v);
}

static void add_head(struct strbuf *sb, const char *ev, double t)
{
	strbuf_addstr(sb, "{\"ev\":\"");
	strbuf_addstr(sb, ev);
	strbuf_addstr(sb, "\",\"t\":");
	add_real(sb, t);
}

int journal_encode_run(struct strbuf *sb, struct sched *s, task_id_t id,
		       const char *worker)
{
	struct task_info ti;

	if (sched_task(s, id, &ti) < 0)
		return -1;
	add_head(sb, "run", clock_wall());
	strbuf_addstr(sb, ",\"id\":");
	add_u64(sb, id);
	strbuf_addstr(sb, ",\"attempt\":");
	add_u64(sb, ti.attempts);
	add_uint(sb, "failures", ti.failures);
	add_uint(sb, "losses", ti.worker_losses);
	if (worker) {
		strbuf_addstr(sb, ",\"worker\":");
		add_string(sb, worker);
	}
	strbuf_addch(sb, '}');
	return 0;
}

int journal_encode_end(struct strbuf *sb, struct sched *s, task_id_t id)
{
	struct task_info ti;

	if (sched_task(s, id, &ti) < 0)
		return -1;
	add_head(sb, "end", ti.end_time > 0 ? ti.end_time : clock_wall());
	strbuf_addstr(sb, ",\"id\":");
	add_u64(sb, id);
	strbuf_addstr(sb, ",\"state\":\"");
	strbuf_addstr(sb, task_state_name(ti.state));
	strbuf_addch(sb, '"');
	if (ti.exit_code)
		strbuf_addf(sb, ",\"exit\":%d", ti.exit_code);
	if (ti.signal)
		strbuf_addf(sb, ",\"signal\":%d", ti.signal);
	if (ti.attempts) {
		strbuf_addstr(sb, ",\"runtime\":");
		add_real(sb, ti.runtime);
	}
	add_uint(sb, "peak_memory", ti.peak_memory);
	add_uint(sb, "runs", ti.attempts);
	add_uint(sb, "failures", ti.failures);
	add_uint(sb, "losses", ti.worker_losses);
	if (ti.reason && *ti.reason && ti.state != TASK_DONE) {
		strbuf_addstr(sb, ",\"reason\":");
		add_string(sb, ti.reason);
	}
	strbuf_addch(sb, '}');
	return 0;
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
