/*
 * format: the journal's records, built from the task table.  A spec goes
 * through task/codec.h, the one JSON writing of a task, so the journal
 * and the API mean the same thing by every field; fields left at their
 * default are omitted to keep a million records small.
 * Past 600 lines because it is one thing: every record the journal
 * writes, the runs and ends printed straight into the buffer (one
 * task's and ranges of them) sharing the same printing helpers.
 */
#include "journal/journal.h"

#include <stdlib.h>
#include <string.h>

#include "task/codec.h"
#include "util/clock.h"
#include "util/units.h"
#include "util/xalloc.h"

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
 * become '?', and times and run times, given to the microsecond.  Room
 * for the whole line is made once and the line printed into it through
 * a pointer: a strbuf call per byte cost more than the rest. */

/* Bytes a record may take besides its strings: keys, 64-bit numbers. */
#define FIXED_MAX 320

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

/* `s` quoted; room for 6 bytes a byte (\u00XX) was made. */
static char *put_string(char *p, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	*p++ = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			*p++ = '\\';
			*p++ = (char)*c;
		} else if (*c < 0x20 || *c == 0x7f) {
			p = put_str(p, "\\u00");
			*p++ = hex[*c >> 4];
			*p++ = hex[*c & 15];
		} else if (*c >= 0x80) {
			/* no check of UTF-8 here: a line that does not parse
			 * would stop the next start */
			*p++ = '?';
		} else {
			*p++ = (char)*c;
		}
	}
	*p++ = '"';
	return p;
}

/* Seconds to the microsecond, as a JSON real ("12.5", "0.000001"):
 * printf's %g costs more than the rest of a record. */
static char *put_real(char *p, double v)
{
	char frac[6];
	int n = 6;

	if (!(v >= 0 && v < 1e12))
		return p + snprintf(p, 32, "%.15g", v >= 0 || v < 0 ? v : 0.0);
	uint64_t us = (uint64_t)(v * 1e6 + 0.5);
	uint64_t f = us % 1000000;
	p = decimal_u64(p, us / 1000000);
	*p++ = '.';
	for (int i = 5; i >= 0; i--, f /= 10)
		frac[i] = (char)('0' + f % 10);
	while (n > 1 && frac[n - 1] == '0')
		n--;
	for (int i = 0; i < n; i++)
		*p++ = frac[i];
	return p;
}

static char *put_uint(char *p, const char *key, uint64_t v)
{
	if (!v)
		return p;
	*p++ = ',';
	*p++ = '"';
	p = put_str(p, key);
	*p++ = '"';
	*p++ = ':';
	return decimal_u64(p, v);
}

static char *put_head(char *p, const char *ev, double t)
{
	p = put_str(p, "{\"ev\":\"");
	p = put_str(p, ev);
	p = put_str(p, "\",\"t\":");
	return put_real(p, t);
}

/* Room for a record of FIXED_MAX bytes and string `s`, and its newline. */
static char *reserve(struct strbuf *sb, const char *s)
{
	strbuf_grow(sb, FIXED_MAX + (s ? 6 * strlen(s) : 0));
	return sb->buf + sb->len;
}

static void done(struct strbuf *sb, char *p)
{
	*p++ = '\n';
	*p = '\0';
	sb->len = (size_t)(p - sb->buf);
}

void journal_line_run(struct strbuf *sb, task_id_t id,
		      const struct task_info *ti, const char *worker)
{
	char *p = reserve(sb, worker);

	p = put_head(p, "run", ti->start_time > 0 ? ti->start_time :
		     clock_wall());
	p = put_str(p, ",\"id\":");
	p = decimal_u64(p, id);
	p = put_str(p, ",\"attempt\":");
	p = decimal_u64(p, ti->attempts);
	p = put_uint(p, "failures", ti->failures);
	p = put_uint(p, "losses", ti->worker_losses);
	if (worker) {
		p = put_str(p, ",\"worker\":");
		p = put_string(p, worker);
	}
	*p++ = '}';
	done(sb, p);
}

void journal_line_end(struct strbuf *sb, task_id_t id,
		      const struct task_info *ti)
{
	const char *reason = ti->reason && *ti->reason &&
		ti->state != TASK_DONE ? ti->reason : NULL;
	char *p = reserve(sb, reason);

	p = put_head(p, "end", ti->end_time > 0 ? ti->end_time : clock_wall());
	p = put_str(p, ",\"id\":");
	p = decimal_u64(p, id);
	p = put_str(p, ",\"state\":\"");
	p = put_str(p, task_state_name(ti->state));
	*p++ = '"';
	if (ti->exit_code) {
		p = put_str(p, ",\"exit\":");
		p = decimal_i64(p, ti->exit_code);
	}
	if (ti->signal) {
		p = put_str(p, ",\"signal\":");
		p = decimal_i64(p, ti->signal);
	}
	if (ti->attempts) {
		p = put_str(p, ",\"runtime\":");
		p = put_real(p, ti->runtime);
	}
	p = put_uint(p, "peak_memory", ti->peak_memory);
	p = put_uint(p, "runs", ti->attempts);
	p = put_uint(p, "failures", ti->failures);
	p = put_uint(p, "losses", ti->worker_losses);
	if (reason) {
		p = put_str(p, ",\"reason\":");
		p = put_string(p, reason);
	}
	*p++ = '}';
	done(sb, p);
}

/* The line without its newline, as the callers of these two expect. */
static void drop_newline(struct strbuf *sb)
{
	sb->buf[--sb->len] = '\0';
}

int journal_encode_run(struct strbuf *sb, struct sched *s, task_id_t id,
		       const char *worker)
{
	struct task_info ti;

	if (sched_task(s, id, &ti) < 0)
		return -1;
	journal_line_run(sb, id, &ti, worker);
	drop_newline(sb);
	return 0;
}

int journal_encode_end(struct strbuf *sb, struct sched *s, task_id_t id)
{
	struct task_info ti;

	if (sched_task(s, id, &ti) < 0)
		return -1;
	journal_line_end(sb, id, &ti);
	drop_newline(sb);
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

/* --- ranges of runs and ends ---------------------------------------------------
 *
 * With deep prefetch the scheduler hands out consecutive ids in one loop
 * turn (to its workers in turn: a range of runs names its workers once
 * and gives each task an index among them) and a worker reports its
 * tasks' ends in batches (every other id with two workers: a range of
 * ends may step).  One record for each such run of ids costs the kernel
 * a fraction of the bytes of a record a task. */

/* The largest step between the ids of a range of ends. */
#define RANGE_STEP_MAX 256

void journal_range_init(struct journal_range *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < JOURNAL_RANGE_WORKERS; i++)
		strbuf_init(&r->names[i], 0);
	strbuf_init(&r->reason, 0);
}

void journal_range_release(struct journal_range *r)
{
	for (int i = 0; i < JOURNAL_RANGE_WORKERS; i++)
		strbuf_release(&r->names[i]);
	strbuf_release(&r->reason);
	free(r->runtime);
	free(r->peak_memory);
	free(r->on);
	memset(r, 0, sizeof(*r));
}

/* Room for the k-th task's values. */
static void range_room(struct journal_range *r, size_t k)
{
	if (k < r->cap)
		return;
	r->cap = r->cap ? 2 * r->cap : 64;
	r->runtime = xrealloc(r->runtime, r->cap * sizeof(*r->runtime));
	r->peak_memory = xrealloc(r->peak_memory,
				  r->cap * sizeof(*r->peak_memory));
	r->on = xrealloc(r->on, r->cap * sizeof(*r->on));
}

/* `worker`'s index among the range's workers, added when new; -1 when
 * there is no room or it has none and they have. */
static int range_worker(struct journal_range *r, const char *worker)
{
	unsigned i;

	if (!worker != !r->has_worker)
		return -1;
	if (!worker)
		return 0;
	/* the caller's string of the last run first: a range's runs go to
	 * a few workers, most often the same one again */
	for (i = 0; i < r->nworkers; i++)
		if (r->seen[i] == worker)
			return (int)i;
	for (i = 0; i < r->nworkers; i++)
		if (!strcmp(r->names[i].buf, worker)) {
			r->seen[i] = worker;
			return (int)i;
		}
	if (i == JOURNAL_RANGE_WORKERS)
		return -1;
	strbuf_reset(&r->names[i]);
	strbuf_addstr(&r->names[i], worker);
	r->seen[i] = worker;
	r->nworkers++;
	return (int)i;
}

int journal_range_run(struct journal_range *r, task_id_t id,
		      const struct task_info *ti, const char *worker)
{
	int w;

	if (r->kind != JOURNAL_RANGE_NONE) {
		if (r->kind != JOURNAL_RANGE_RUN || id != r->last + 1 ||
		    r->last - r->first + 1 >= JOURNAL_RANGE_MAX ||
		    ti->attempts != r->attempts ||
		    ti->failures != r->failures ||
		    ti->worker_losses != r->losses ||
		    (w = range_worker(r, worker)) < 0)
			return 0;
		r->last = id;
	} else {
		r->kind = JOURNAL_RANGE_RUN;
		r->first = r->last = id;
		r->step = 1;
		r->t = ti->start_time > 0 ? ti->start_time : clock_wall();
		r->attempts = ti->attempts;
		r->failures = ti->failures;
		r->losses = ti->worker_losses;
		r->has_worker = worker != NULL;
		r->nworkers = 0;
		w = range_worker(r, worker);
	}
	range_room(r, (size_t)(id - r->first));
	r->on[id - r->first] = (unsigned char)w;
	return 1;
}

int journal_range_end(struct journal_range *r, task_id_t id,
		      const struct task_info *ti)
{
	const char *reason = ti->reason && *ti->reason &&
		ti->state != TASK_DONE ? ti->reason : NULL;
	size_t k;

	if (reason && strlen(reason) > JOURNAL_RANGE_REASON)
		return -1;
	if (r->kind != JOURNAL_RANGE_NONE) {
		task_id_t step = r->first == r->last ? id - r->last : r->step;
		if (r->kind != JOURNAL_RANGE_END || id <= r->last ||
		    step > RANGE_STEP_MAX || id != r->last + step ||
		    (r->last - r->first) / step + 1 >= JOURNAL_RANGE_MAX ||
		    ti->state != r->state || ti->exit_code != r->exit_code ||
		    ti->signal != r->signal || ti->attempts != r->attempts ||
		    ti->failures != r->failures ||
		    ti->worker_losses != r->losses ||
		    !reason != !r->has_reason ||
		    (reason && strcmp(reason, r->reason.buf)) ||
		    (r->spread > 0 && !(ti->end_time - r->t0 <= r->spread &&
					r->t0 - ti->end_time <= r->spread)))
			return 0;
		r->step = (unsigned)step;
		r->last = id;
	} else {
		r->kind = JOURNAL_RANGE_END;
		r->first = r->last = id;
		r->step = 1;
		r->state = ti->state;
		r->exit_code = ti->exit_code;
		r->signal = ti->signal;
		r->attempts = ti->attempts;
		r->failures = ti->failures;
		r->losses = ti->worker_losses;
		r->has_reason = reason != NULL;
		strbuf_reset(&r->reason);
		if (reason)
			strbuf_addstr(&r->reason, reason);
		r->t0 = ti->end_time;
	}
	k = (size_t)((r->last - r->first) / r->step);
	range_room(r, k);
	r->runtime[k] = ti->runtime;
	r->peak_memory[k] = ti->peak_memory;
	r->t = ti->end_time > 0 ? ti->end_time : clock_wall();
	return 1;
}

int journal_range_has(const struct journal_range *r, task_id_t id)
{
	return r->kind != JOURNAL_RANGE_NONE && id >= r->first &&
		id <= r->last && (id - r->first) % r->step == 0;
}

/* The task_info a single task of the range stands for; its worker's
 * name in *worker. */
static void range_info(const struct journal_range *r, task_id_t id,
		       struct task_info *ti, const char **worker)
{
	size_t k = (size_t)((id - r->first) / r->step);

	memset(ti, 0, sizeof(*ti));
	ti->id = id;
	ti->attempts = r->attempts;
	ti->failures = r->failures;
	ti->worker_losses = r->losses;
	if (r->kind == JOURNAL_RANGE_RUN) {
		ti->start_time = r->t;
		*worker = r->has_worker ? r->names[r->on[k]].buf : NULL;
		return;
	}
	ti->state = r->state;
	ti->end_time = r->t;
	ti->exit_code = r->exit_code;
	ti->signal = r->signal;
	ti->runtime = r->runtime[k];
	ti->peak_memory = r->peak_memory[k];
	ti->reason = r->has_reason ? r->reason.buf : NULL;
}

/* `key` and the array of `n` runtimes or memories, unless all are 0. */
static char *put_reals(char *p, const char *key, const double *v, size_t n)
{
	size_t i;

	for (i = 0; i < n && v[i] == 0; i++)
		;
	if (i == n)
		return p;
	p = put_str(p, key);
	for (i = 0; i < n; i++) {
		*p++ = i ? ',' : '[';
		p = put_real(p, v[i]);
	}
	*p++ = ']';
	return p;
}

static char *put_u64s(char *p, const char *key, const uint64_t *v, size_t n)
{
	size_t i;

	for (i = 0; i < n && v[i] == 0; i++)
		;
	if (i == n)
		return p;
	p = put_str(p, key);
	for (i = 0; i < n; i++) {
		*p++ = i ? ',' : '[';
		p = decimal_u64(p, v[i]);
	}
	*p++ = ']';
	return p;
}

void journal_range_line(struct strbuf *sb, const struct journal_range *r,
			task_id_t id)
{
	size_t n, names = 0;
	struct task_info ti;
	const char *worker;
	char *p;

	if (r->kind == JOURNAL_RANGE_NONE)
		return;
	if (id) {
		range_info(r, id, &ti, &worker);
		if (r->kind == JOURNAL_RANGE_RUN)
			journal_line_run(sb, id, &ti, worker);
		else
			journal_line_end(sb, id, &ti);
		return;
	}
	if (r->first == r->last) {
		journal_range_line(sb, r, r->first);
		return;
	}
	n = (size_t)((r->last - r->first) / r->step + 1);
	for (unsigned i = 0; i < r->nworkers; i++)
		names += r->names[i].len + 3;
	/* a task's runtime: at most 32 bytes (snprintf past 1e12 s), its
	 * memory 21, its worker's index 2 */
	strbuf_grow(sb, FIXED_MAX + 6 * (names + r->reason.len) +
		    (r->kind == JOURNAL_RANGE_END ? 56 * n : 4 * n));
	p = sb->buf + sb->len;
	p = put_head(p, r->kind == JOURNAL_RANGE_RUN ? "run" : "end", r->t);
	p = put_str(p, ",\"id\":");
	p = decimal_u64(p, r->first);
	p = put_str(p, ",\"last\":");
	p = decimal_u64(p, r->last);
	if (r->step > 1) {
		p = put_str(p, ",\"step\":");
		p = decimal_u64(p, r->step);
	}
	if (r->kind == JOURNAL_RANGE_RUN) {
		p = put_str(p, ",\"attempt\":");
		p = decimal_u64(p, r->attempts);
		p = put_uint(p, "failures", r->failures);
		p = put_uint(p, "losses", r->losses);
		if (r->has_worker && r->nworkers == 1) {
			p = put_str(p, ",\"worker\":");
			p = put_string(p, r->names[0].buf);
		} else if (r->has_worker) {
			p = put_str(p, ",\"workers\":");
			for (unsigned i = 0; i < r->nworkers; i++) {
				*p++ = i ? ',' : '[';
				p = put_string(p, r->names[i].buf);
			}
			p = put_str(p, "],\"on\":");
			for (size_t k = 0; k < n; k++) {
				*p++ = k ? ',' : '[';
				p = decimal_u64(p, r->on[k]);
			}
			*p++ = ']';
		}
	} else {
		p = put_str(p, ",\"state\":\"");
		p = put_str(p, task_state_name(r->state));
		*p++ = '"';
		if (r->exit_code) {
			p = put_str(p, ",\"exit\":");
			p = decimal_i64(p, r->exit_code);
		}
		if (r->signal) {
			p = put_str(p, ",\"signal\":");
			p = decimal_i64(p, r->signal);
		}
		if (r->attempts) {
			p = put_reals(p, ",\"runtime\":", r->runtime, n);
			p = put_u64s(p, ",\"peak_memory\":", r->peak_memory, n);
		}
		/* "runs" always: it tells this range from a range of
		 * cancels of tasks never started */
		p = put_str(p, ",\"runs\":");
		p = decimal_u64(p, r->attempts);
		p = put_uint(p, "failures", r->failures);
		p = put_uint(p, "losses", r->losses);
		if (r->has_reason) {
			p = put_str(p, ",\"reason\":");
			p = put_string(p, r->reason.buf);
		}
	}
	*p++ = '}';
	done(sb, p);
}
