/*
 * replay: reading the journal back into a task table.  The file is read
 * a line at a time (a journal of a million tasks is never held whole);
 * submissions are submitted again in their order, so every id comes out
 * as it was and the next one follows; ends are put back through
 * sched_restore_end, which releases or cancels dependents as the live
 * end did.  A task whose run had begun and not ended when the file ends
 * goes through replay_running, the one place that decides its fate.  The
 * pool's jobs are only collected (journal_jobs_apply): the pool adopts
 * from its own record.
 */
#include "journal/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "task/codec.h"
#include "util/vec.h"

/* --- reading --------------------------------------------------------------- */

static int check_header(json_t *h, struct journal_found *found,
			struct err *err)
{
	json_t *f = json_object_get(h, "format");
	json_t *v = json_object_get(h, "version");
	int major, minor;

	if (!json_is_string(f) || strcmp(json_string_value(f), JOURNAL_FORMAT))
		return errprintf(err, "journal:1: not a journal of cluster "
				 "(expected {\"format\": \"%s\", ...})",
				 JOURNAL_FORMAT);
	if (!json_is_string(v) ||
	    sscanf(json_string_value(v), "%d.%d", &major, &minor) != 2)
		return errprintf(err, "journal:1: field 'version': expected "
				 "\"MAJOR.MINOR\"");
	if (major < JOURNAL_MAJOR_OLDEST || major > JOURNAL_MAJOR)
		return errprintf(err, "journal:1: version %s is not read by "
				 "this cluster, which reads versions %d.x to "
				 "%d.x", json_string_value(v),
				 JOURNAL_MAJOR_OLDEST, JOURNAL_MAJOR);
	found->major = major;
	found->minor = minor;
	return 0;
}

static int truncate_file(const char *path, uint64_t len, struct err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)len) < 0 || fsync(fd) < 0) {
		errprintf(err, "cannot cut the torn last line off the journal "
			  "'%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int journal_read(const char *path, int truncate, journal_record_fn fn,
		 void *arg, struct journal_found *found, struct err *err)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long no = 0;
	uint64_t kept = 0;		/* bytes of whole records */
	int rc = -1;

	if (!f) {
		if (errno == ENOENT)
			return 0;
		return errprintf(err, "cannot read the journal '%s': %s", path,
				 strerror(errno));
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		json_error_t je;
		json_t *rec;

		no++;
		if (len == 0 || line[len - 1] != '\n') {
			/* cut short by a crash: what came before stands */
			found->torn = 1;
			found->torn_at = kept;
			break;
		}
		if (no > 1 && memchr(line, '\0', (size_t)len)) {
			if (!found->zeroed_lines++)
				found->zeroed_first = no;
			found->zeroed_bytes += (uint64_t)len;
			kept += (uint64_t)len;
			continue;
		}
		rec = json_loadb(line, (size_t)len, 0, &je);
		if (!rec || !json_is_object(rec)) {
			errprintf(err, "journal:%lu: %s", no,
				  rec ? "expected a JSON object" : je.text);
			json_decref(rec);
			goto out;
		}
		if (no == 1) {
			if (check_header(rec, found, err) < 0) {
				json_decref(rec);
				goto out;
			}
		} else {
			int r;
			if (!json_is_string(json_object_get(rec, "ev"))) {
				json_decref(rec);
				errprintf(err, "journal:%lu: field 'ev': expected "
					  "the event's name", no);
				goto out;
			}
			found->records++;
			r = fn ? fn(arg, no, rec, err) : 0;
			if (r) {
				json_decref(rec);
				goto out;
			}
		}
		json_decref(rec);
		kept += (uint64_t)len;
	}
	if (ferror(f)) {
		errprintf(err, "cannot read the journal '%s': %s", path,
			  strerror(errno));
		goto out;
	}
	if (found->torn && no == 1) {
		/* not even the header: the file is as good as empty */
		found->torn_at = 0;
	}
	if (found->torn && truncate && truncate_file(path, found->torn_at,
						     err) < 0)
		goto out;
	rc = 0;
out:
	free(line);
	fclose(f);
	return rc;
}

/* --- replay ------------------------------------------------------------------ */

/* A run that had begun: its task, its counts then, and its worker (an
 * index + 1 in struct replay's names; 0: none recorded). */
struct open_run {
	task_id_t id;
	unsigned attempt, failures, losses;
	size_t worker;
};

struct replay {
	struct sched *s;
	struct journal_found *found;
	struct open_run *runs;
	size_t nruns, aruns;
	json_t *byname;			/* worker name -> index + 1 */
	const char **names;		/* keys of byname, by index */
	size_t nnames, anames;
};

static int get_id(json_t *rec, const char *key, unsigned long line,
		  task_id_t *out, struct err *err)
{
	json_t *v = json_object_get(rec, key);

	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return errprintf(err, "journal:%lu: field '%s': expected a task "
				 "id", line, key);
	*out = (task_id_t)json_integer_value(v);
	return 0;
}

static unsigned get_uint(json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;

	return n > 0 && n <= UINT32_MAX ? (unsigned)n : 0;
}

static double get_real(json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	return json_is_number(v) ? json_number_value(v) : 0;
}

static char **strv_from(json_t *a)
{
	size_t n = json_array_size(a);
	char **v = calloc(n + 1, sizeof(*v));

	for (size_t i = 0; v && i < n; i++) {
		json_t *x = json_array_get(a, i);
		if (!json_is_string(x))
			return v;	/* ends early: checked by the caller */
		v[i] = strdup(json_string_value(x));
	}
	return v;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static int replay_submit(struct replay *r, unsigned long line, json_t *rec,
			 struct err *err)
{
	struct task_spec_buf b;
	struct err e2 = { "" };
	task_id_t id, first = 0;
	uint64_t count = 0;
	json_t *n = json_object_get(rec, "n");
	json_t *args = json_object_get(rec, "args");
	json_t *argvs = json_object_get(rec, "argvs");
	int rc = -1;

	if (get_id(rec, "id", line, &id, err) < 0)
		return -1;
	if (!json_is_integer(n) || json_integer_value(n) < 1)
		return errprintf(err, "journal:%lu: field 'n': expected the "
				 "number of tasks", line);
	if (id != sched_last_id(r->s) + 1)
		return errprintf(err, "journal:%lu: submission of task %" PRIu64
				 " where task %" PRIu64 " comes next", line, id,
				 sched_last_id(r->s) + 1);
	if (task_spec_from_json(json_object_get(rec, "spec"), &b, &e2) < 0) {
		task_spec_buf_release(&b);
		return errprintf(err, "journal:%lu: field 'spec': %s", line,
				 e2.text);
	}
	size_t k = 0, nargs = json_array_size(args ? args : argvs);
	if ((args || argvs) && nargs != (size_t)json_integer_value(n)) {
		errprintf(err, "journal:%lu: field '%s': expected %" PRId64
			  " items", line, args ? "args" : "argvs",
			  (int64_t)json_integer_value(n));
		goto out;
	}
	if (args) {
		const char **v = calloc(nargs + 1, sizeof(*v));
		for (k = 0; v && k < nargs; k++) {
			json_t *x = json_array_get(args, k);
			if (!json_is_string(x))
				break;
			v[k] = json_string_value(x);
		}
		if (!v || k < nargs)
			errprintf(err, "journal:%lu: field 'args': item %zu: "
				  "expected a string", line, k + 1);
		else if (sched_submit_each(r->s, &b.spec, v, nargs, &first,
					   &count, &e2) < 0)
			errprintf(err, "journal:%lu: %s", line, e2.text);
		else
			rc = 0;
		free(v);
	} else if (argvs) {
		char ***v = calloc(nargs + 1, sizeof(*v));
		for (k = 0; v && k < nargs; k++) {
			json_t *x = json_array_get(argvs, k);
			if (!json_is_array(x))
				break;
			v[k] = strv_from(x);
			if (!v[k] || json_array_size(x) == 0 ||
			    !v[k][json_array_size(x) - 1]) {
				k++;
				break;
			}
		}
		if (!v || k < nargs || (nargs && !v[nargs - 1]))
			errprintf(err, "journal:%lu: field 'argvs': item %zu: "
				  "expected an array of strings", line, k);
		else if (sched_submit_argvs(r->s, &b.spec,
					    (char *const *const *)v, nargs,
					    &first, &count, &e2) < 0)
			errprintf(err, "journal:%lu: %s", line, e2.text);
		else
			rc = 0;
		for (size_t i = 0; v && i < nargs; i++)
			strv_free(v[i]);
		free(v);
	} else if (sched_submit(r->s, &b.spec, &first, &count, &e2) < 0) {
		errprintf(err, "journal:%lu: %s", line, e2.text);
	} else {
		rc = 0;
	}
	if (rc == 0 && count != (uint64_t)json_integer_value(n)) {
		rc = errprintf(err, "journal:%lu: %" PRIu64 " tasks submitted "
			       "where the record says %" PRId64, line, count,
			       (int64_t)json_integer_value(n));
	}
	if (rc == 0) {
		r->found->tasks += count;
		sched_restore_submit_time(r->s, first, get_real(rec, "t"));
	}
out:
	task_spec_buf_release(&b);
	return rc;
}

/* The index + 1 of worker `name` among the names seen (0: none), each
 * name kept once however many runs name it. */
static size_t name_index(struct replay *r, const char *name)
{
	json_t *at;
	void *it;

	if (!name || !*name)
		return 0;
	if (!r->byname)
		r->byname = json_object();
	at = json_object_get(r->byname, name);
	if (at)
		return (size_t)json_integer_value(at);
	json_object_set_new(r->byname, name, json_integer(r->nnames + 1));
	it = json_object_iter_at(r->byname, name);
	r->names = vec_grow(r->names, &r->anames, r->nnames + 1,
			    sizeof(*r->names));
	r->names[r->nnames++] = json_object_iter_key(it);
	return r->nnames;
}

static int replay_run(struct replay *r, unsigned long line, json_t *rec,
		      struct err *err)
{
	task_id_t id, last;

	if (get_id(rec, "id", line, &id, err) < 0)
		return -1;
	last = id;
	if (json_object_get(rec, "last") &&
	    get_id(rec, "last", line, &last, err) < 0)
		return -1;
	if (last < id)
		return errprintf(err, "journal:%lu: field 'last': expected an "
				 "id from %" PRIu64 " on", line, id);
	if (last > sched_last_id(r->s))
		return errprintf(err, "journal:%lu: run of task %" PRIu64
				 ", never submitted", line, last);
	/* one worker ("worker"), or the k-th run on workers[on[k]] */
	json_t *ws = json_object_get(rec, "workers");
	json_t *on = json_object_get(rec, "on");
	size_t n = (size_t)(last - id + 1);
	size_t wi = name_index(r, json_string_value(json_object_get(rec,
								     "worker")));
	if ((ws || on) && (!json_is_array(ws) || !json_is_array(on) ||
			   json_array_size(on) != n))
		return errprintf(err, "journal:%lu: fields 'workers' and "
				 "'on': expected the workers and an index "
				 "into them for each of %zu runs", line, n);
	r->runs = vec_grow(r->runs, &r->aruns, r->nruns + n,
			   sizeof(*r->runs));
	for (size_t k = 0; k < n; k++) {
		if (ws) {
			json_t *x = json_array_get(on, k);
			json_t *name = json_is_integer(x) ?
				json_array_get(ws, (size_t)json_integer_value(x)) :
				NULL;
			if (!json_is_string(name))
				return errprintf(err, "journal:%lu: field 'on': "
						 "expected indexes into "
						 "'workers'", line);
			wi = name_index(r, json_string_value(name));
		}
		r->runs[r->nruns++] = (struct open_run){
			id + k, get_uint(rec, "attempt"), get_uint(rec, "failures"),
			get_uint(rec, "losses"), wi,
		};
	}
	return 0;
}

/* The value of array `key` (absent: all 0) for the k-th task of n;
 * -1 when it is not an array of n numbers. */
static int range_item(json_t *rec, const char *key, size_t k, size_t n,
		      double *out)
{
	json_t *a = json_object_get(rec, key), *x;

	*out = 0;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) != n)
		return -1;
	x = json_array_get(a, k);
	if (!json_is_number(x))
		return -1;
	*out = json_number_value(x);
	return 0;
}

/* The ends of ids..last (every step-th), one loop turn's, each as its
 * own record says. */
static int replay_end_range(struct replay *r, unsigned long line,
			    json_t *rec, task_id_t id, task_id_t last,
			    struct sched_end *e, struct err *err)
{
	json_t *st = json_object_get(rec, "step");
	task_id_t step = 1;
	size_t n;

	if (st) {
		if (!json_is_integer(st) || json_integer_value(st) < 1)
			return errprintf(err, "journal:%lu: field 'step': "
					 "expected a positive number", line);
		step = (task_id_t)json_integer_value(st);
	}
	if ((last - id) % step)
		return errprintf(err, "journal:%lu: field 'last': expected "
				 "%" PRIu64 " and a multiple of %" PRIu64
				 " after it", line, id, step);
	n = (size_t)((last - id) / step + 1);
	for (size_t k = 0; k < n; k++) {
		double mem;
		if (range_item(rec, "runtime", k, n, &e->runtime) < 0)
			return errprintf(err, "journal:%lu: field 'runtime': "
					 "expected an array of %zu numbers",
					 line, n);
		if (range_item(rec, "peak_memory", k, n, &mem) < 0)
			return errprintf(err, "journal:%lu: field "
					 "'peak_memory': expected an array of "
					 "%zu numbers", line, n);
		e->peak_memory = mem > 0 ? (uint64_t)mem : 0;
		task_id_t t = id + (task_id_t)k * step;
		if (sched_restore_end(r->s, t, e) < 0)
			return errprintf(err, "journal:%lu: task %" PRIu64
					 " cannot end here", line, t);
	}
	return 0;
}

static int replay_end(struct replay *r, unsigned long line, json_t *rec,
		      struct err *err)
{
	struct sched_end e = { 0 };
	json_t *st = json_object_get(rec, "state");
	json_t *reason = json_object_get(rec, "reason");
	task_id_t id, last;

	if (get_id(rec, "id", line, &id, err) < 0)
		return -1;
	last = id;
	if (json_object_get(rec, "last") &&
	    get_id(rec, "last", line, &last, err) < 0)
		return -1;
	if (!json_is_string(st) ||
	    task_state_parse(json_string_value(st), &e.state) < 0 ||
	    (e.state != TASK_DONE && e.state != TASK_FAILED &&
	     e.state != TASK_CANCELLED))
		return errprintf(err, "journal:%lu: field 'state': expected "
				 "done, failed or cancelled", line);
	if (last < id || last > sched_last_id(r->s))
		return errprintf(err, "journal:%lu: end of task %" PRIu64
				 ", never submitted", line, last);
	if (last > id && !json_object_get(rec, "runs")) {
		struct err e2 = { "" };
		if (e.state != TASK_CANCELLED)
			return errprintf(err, "journal:%lu: field 'last': only "
					 "for cancelled tasks without 'runs'",
					 line);
		if (sched_cancel_range(r->s, id, last, &e2) < 0)
			return errprintf(err, "journal:%lu: %s", line, e2.text);
		return 0;
	}
	e.exit_code = (int)get_real(rec, "exit");
	e.signal = (int)get_uint(rec, "signal");
	e.end_time = get_real(rec, "t");
	e.attempts = get_uint(rec, "runs");
	e.failures = get_uint(rec, "failures");
	e.worker_losses = get_uint(rec, "losses");
	e.reason = json_is_string(reason) ? json_string_value(reason) : NULL;
	if (last == id) {
		e.runtime = get_real(rec, "runtime");
		e.peak_memory = (uint64_t)get_real(rec, "peak_memory");
		if (sched_restore_end(r->s, id, &e) < 0)
			return errprintf(err, "journal:%lu: task %" PRIu64
					 " cannot end here", line, id);
		return 0;
	}
	return replay_end_range(r, line, rec, id, last, &e, err);
}

static int replay_pool(struct replay *r, const char *ev, json_t *rec)
{
	struct journal_found *f = r->found;

	if (!strcmp(ev, "pool-scale")) {
		f->has_target = 1;
		f->target = get_uint(rec, "target");
		return 0;
	}
	if (json_is_true(json_object_get(rec, "off"))) {
		f->has_adapt = -1;
		return 0;
	}
	f->has_adapt = 1;
	f->adapt_min = get_uint(rec, "min");
	f->adapt_max = get_uint(rec, "max");
	f->adapt_idle = get_real(rec, "idle");
	return 0;
}

/* --- the pool's jobs ------------------------------------------------------- */

void journal_found_release(struct journal_found *found)
{
	json_decref(found->jobs);
	found->jobs = NULL;
}

int journal_jobs_apply(json_t **jobs, json_t *rec, unsigned long line,
		       struct err *err)
{
	const char *ev = json_string_value(json_object_get(rec, "ev"));
	json_t *seq = json_object_get(rec, "seq");
	json_t *id = json_object_get(rec, "id");
	const char *field = !strcmp(ev, "job-end") ? "end" : "state";
	char key[24];
	json_t *entry;

	if (!json_is_integer(seq) || json_integer_value(seq) < 1)
		return errprintf(err, "journal:%lu: field 'seq': expected the "
				 "pool's number of the job", line);
	if (!json_is_string(id) || !*json_string_value(id))
		return errprintf(err, "journal:%lu: field 'id': expected the "
				 "job's batch id", line);
	if (strcmp(ev, "job-submit") &&
	    !json_is_string(json_object_get(rec, field)))
		return errprintf(err, "journal:%lu: field '%s': expected the "
				 "job's %s", line, field,
				 !strcmp(field, "end") ? "end" : "state");
	snprintf(key, sizeof(key), "%" PRId64,
		 (int64_t)json_integer_value(seq));
	if (!*jobs)
		*jobs = json_object();
	entry = json_object_get(*jobs, key);
	if (!strcmp(ev, "job-submit") || !strcmp(ev, "job-adopt")) {
		json_object_set_new(*jobs, key, json_pack("{s:O}", "first", rec));
	} else if (!strcmp(ev, "job-end")) {
		json_object_del(*jobs, key);
	} else if (entry) {
		json_object_set(entry, "last", rec);
	}
	/* else the state of a job the file never entered (the journal was
	 * off when it was submitted): nothing to keep */
	return 0;
}

static int replay_record(void *arg, unsigned long line, json_t *rec,
			 struct err *err)
{
	struct replay *r = arg;
	const char *ev = json_string_value(json_object_get(rec, "ev"));

	if (!strcmp(ev, "submit"))
		return replay_submit(r, line, rec, err);
	if (!strcmp(ev, "run"))
		return replay_run(r, line, rec, err);
	if (!strcmp(ev, "end"))
		return replay_end(r, line, rec, err);
	if (!strcmp(ev, "pool-scale") || !strcmp(ev, "pool-adapt"))
		return replay_pool(r, ev, rec);
	if (!strcmp(ev, "job-submit") || !strcmp(ev, "job-adopt") ||
	    !strcmp(ev, "job-state") || !strcmp(ev, "job-end"))
		return journal_jobs_apply(&r->found->jobs, rec, line, err);
	/* scheduler-start, scheduler-stop, and events of a later minor
	 * version: nothing to restore */
	return 0;
}

/* A task whose run had begun when the journal ends: its worker may still
 * have it.  It keeps the counts its run started with and stays RUNNING on
 * no worker ("unclaimed", sched_restore_running), so that a worker that
 * outlived the old scheduler claims it when it rejoins; the server
 * requeues what its recorded worker, once rejoined, did not claim, and
 * what no worker claims within scheduler.rejoin-grace.  A task
 * that cannot be held so (not QUEUED after its restore) is queued again. */
static void replay_running(struct replay *r, const struct open_run *run)
{
	if (sched_restore_runs(r->s, run->id, run->attempt, run->failures,
			       run->losses) < 0)
		return;
	if (run->attempt &&
	    sched_restore_running_on(r->s, run->id, run->attempt,
				     run->worker ? r->names[run->worker - 1] :
				     NULL) == 0)
		r->found->running++;
	else
		r->found->requeued++;
}

static int cmp_run(const void *a, const void *b)
{
	const struct open_run *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->attempt < y->attempt ? -1 : x->attempt > y->attempt;
}

int journal_replay(const char *path, struct sched *s,
		   struct journal_found *found, struct err *err)
{
	struct replay r = { .s = s, .found = found };
	struct sched_counts sc;
	int rc;

	memset(found, 0, sizeof(*found));
	rc = journal_read(path, 1, replay_record, &r, found, err);
	if (rc == 0 && r.nruns) {
		/* the latest run of each task that has not ended */
		qsort(r.runs, r.nruns, sizeof(*r.runs), cmp_run);
		for (size_t i = 0; i < r.nruns; i++) {
			struct task_info ti;
			if (i + 1 < r.nruns && r.runs[i + 1].id == r.runs[i].id)
				continue;
			if (sched_task(s, r.runs[i].id, &ti) == 0 &&
			    (ti.state == TASK_QUEUED || ti.state == TASK_WAITING))
				replay_running(&r, &r.runs[i]);
		}
	}
	free(r.runs);
	free(r.names);
	json_decref(r.byname);
	sched_counts(s, &sc);
	found->ended = sc.state[TASK_DONE] + sc.state[TASK_FAILED] +
		sc.state[TASK_CANCELLED];
	return rc;
}
