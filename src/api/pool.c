/*
 * pool: the pool's routes (api/pool.h).  A scale names exactly one unit;
 * jobs, cores and memory become whole jobs rounded up, as dask-jobqueue
 * rounds (`scale --cores 10` with 4-core jobs is 3 jobs), and the answer
 * says the target both in workers and in jobs.  Every refusal names the
 * field; a target outside pool.min-workers and pool.max-workers is
 * refused, and adapt's bounds are kept within them.  The status is the
 * manager's own (pool_manager_status) with the
 * scheduler and its tasks by state added, the one document `cluster
 * status --json` prints and cluster-api(7) describes.
 */
#include "api/pool.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pool/manager.h"
#include "task/task.h"
#include "util/units.h"

#define MAX_WORKERS 1000000u		/* as pool.max-workers */

static int error(json_t **reply, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int error(json_t **reply, int code, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	*reply = json_pack("{s:s}", "error", text);
	return code;
}

static int no_pool(json_t **reply, int code)
{
	return error(reply, code, "this scheduler has no pool: it runs "
		     "without a state directory, or its pool could not start "
		     "(its log says why)");
}

/* The body as a JSON object; NULL after setting a 400. */
static json_t *body_object(const struct api_pool_request *r, json_t **reply)
{
	json_error_t jerr;
	json_t *j;

	if (!r->body_len) {
		error(reply, 400, "request body: expected a JSON object, got nothing");
		return NULL;
	}
	j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		error(reply, 400, "request body: invalid JSON at line %d column %d: %s",
		      jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		error(reply, 400, "request body: expected a JSON object");
		return NULL;
	}
	return j;
}

/* Field `key` as a whole number in [0, max]. */
static int field_count(json_t *v, const char *key, uint64_t max,
		       uint64_t *out, json_t **reply)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return error(reply, 400, "field '%s': expected an integer from 0 "
			     "to %llu", key, (unsigned long long)max), -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* Field `key` as seconds: a number, or a duration such as "5m". */
static int field_seconds(json_t *v, const char *key, double *out,
			 json_t **reply)
{
	struct err err = { "" };
	uint64_t s;

	if (json_is_number(v) && json_number_value(v) >= 0) {
		*out = json_number_value(v);
		return 0;
	}
	if (json_is_string(v) && duration_parse(json_string_value(v), &s,
						&err) == 0) {
		*out = (double)s;
		return 0;
	}
	return error(reply, 400, "field '%s': expected seconds or a duration "
		     "such as \"90s\" or \"5m\"%s%s", key, err.text[0] ? ": " : "",
		     err.text), -1;
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* --- status ----------------------------------------------------------------- */

/* Where the scheduler runs: in the pool's head job, or on its own. */
static json_t *scheduler_json(const struct api_pool_request *r, json_t *st)
{
	json_t *jobs = json_object_get(st, "jobs"), *j, *head = NULL;
	size_t i;
	char host[256] = "";

	json_array_foreach(jobs, i, j)
		if (json_is_true(json_object_get(j, "head")))
			head = json_object_get(j, "id");
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	return json_pack("{s:s,s:o,s:s,s:s,s:i,s:I,s:f}",
			 "where", head ? "job" : "local",
			 "job", head ? json_incref(head) : json_null(),
			 "host", host,
			 "address", r->address ? r->address : "",
			 "http_port", (int)r->http_port,
			 "pid", (json_int_t)getpid(),
			 "since", r->since);
}

static json_t *tasks_json(struct sched *s)
{
	struct sched_counts sc;
	json_t *o = json_object();

	if (!s)
		return o;
	sched_counts(s, &sc);
	for (int i = 0; i < TASK_NSTATES; i++)
		json_object_set_new(o, task_state_name((enum task_state)i),
				    json_integer((json_int_t)sc.state[i]));
	/* of the running ones, as in /api/v1/wait */
	json_object_set_new(o, "assigned", json_integer((json_int_t)sc.prefetched));
	return o;
}

int api_pool_status(const struct api_pool_request *r, json_t **reply)
{
	json_t *st;

	if (!r->m)
		return no_pool(reply, 404);
	st = pool_manager_status(r->m);
	json_object_set_new(st, "scheduler", scheduler_json(r, st));
	json_object_set_new(st, "tasks", tasks_json(r->s));
	*reply = st;
	return 200;
}

/* --- scale ------------------------------------------------------------------ */

static const char *const units[] = { "workers", "jobs", "cores", "memory" };

int api_pool_scale(const struct api_pool_request *r, json_t **reply)
{
	unsigned per_job, cores, bmin, bmax;
	uint64_t memory, value = 0, jobs, workers;
	const char *key, *unit = NULL;
	json_t *body, *v;
	int rc = 400;

	if (!r->m)
		return no_pool(reply, 409);
	body = body_object(r, reply);
	if (!body)
		return 400;
	pool_manager_sizes(r->m, &per_job, &cores, &memory);
	json_object_foreach(body, key, v) {
		size_t k;
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
			if (!strcmp(key, units[k]))
				break;
		if (k == sizeof(units) / sizeof(units[0])) {
			error(reply, 400, "field '%s': unknown (a scale takes one of "
			      "workers, jobs, cores, memory)", key);
			goto out;
		}
		if (unit) {
			error(reply, 400, "field '%s': give one of workers, jobs, "
			      "cores, memory, not both '%s' and '%s'", key, unit,
			      key);
			goto out;
		}
		unit = units[k];
	}
	if (!unit) {
		error(reply, 400, "request body: give one of workers, jobs, cores, "
		      "memory");
		goto out;
	}
	v = json_object_get(body, unit);
	if (!strcmp(unit, "memory") && json_is_string(v)) {
		struct err err = { "" };
		if (size_parse(json_string_value(v), &value, &err) < 0) {
			error(reply, 400, "field 'memory': %s", err.text);
			goto out;
		}
	} else if (field_count(v, unit, strcmp(unit, "memory") ? MAX_WORKERS *
			       (uint64_t)(strcmp(unit, "cores") ? 1 : cores) :
			       UINT64_MAX >> 1, &value, reply) < 0) {
		goto out;
	}
	if (!strcmp(unit, "workers")) {
		workers = value;
		jobs = ceil_div(workers, per_job);
	} else if (!strcmp(unit, "jobs")) {
		jobs = value;
		workers = jobs * per_job;
	} else if (!strcmp(unit, "cores")) {
		jobs = ceil_div(value, (uint64_t)per_job * cores);
		workers = jobs * per_job;
	} else {
		if (!memory) {
			error(reply, 400, "field 'memory': the pool's workers have "
			      "no memory size (set job.memory)");
			goto out;
		}
		jobs = ceil_div(value, (uint64_t)per_job * memory);
		workers = jobs * per_job;
	}
	if (workers > MAX_WORKERS) {
		error(reply, 400, "field '%s': %llu workers is more than %u", unit,
		      (unsigned long long)workers, MAX_WORKERS);
		goto out;
	}
	pool_manager_bounds(r->m, &bmin, &bmax);
	if (bmax && workers > bmax) {
		error(reply, 400, "field '%s': %llu worker%s is more than "
		      "pool.max-workers (%u)", unit, (unsigned long long)workers,
		      workers == 1 ? "" : "s", bmax);
		goto out;
	}
	if (workers < bmin) {
		error(reply, 400, "field '%s': %llu worker%s is fewer than "
		      "pool.min-workers (%u); 'cluster stop' ends the pool", unit,
		      (unsigned long long)workers, workers == 1 ? "" : "s", bmin);
		goto out;
	}
	pool_manager_scale(r->m, (unsigned)workers);
	*reply = json_pack("{s:I,s:I,s:I}", "workers", (json_int_t)workers,
			   "jobs", (json_int_t)jobs,
			   "workers_per_job", (json_int_t)per_job);
	rc = 200;
out:
	json_decref(body);
	return rc;
}

/* --- adapt ------------------------------------------------------------------ */

int api_pool_adapt(const struct api_pool_request *r, json_t **reply)
{
	uint64_t min = 0, max = 0;
	double idle = 0;
	unsigned per_job, cores, bmin, bmax;
	uint64_t memory;
	int in_jobs = 0, have_max = 0, rc = 400;
	const char *key;
	json_t *body, *v;

	if (!r->m)
		return no_pool(reply, 409);
	body = body_object(r, reply);
	if (!body)
		return 400;
	pool_manager_sizes(r->m, &per_job, &cores, &memory);
	v = json_object_get(body, "off");
	if (v) {
		if (!json_is_true(v)) {
			error(reply, 400, "field 'off': expected true");
			goto out;
		}
		if (json_object_size(body) > 1) {
			error(reply, 400, "field 'off': takes no other field");
			goto out;
		}
		pool_manager_adapt_off(r->m);
		*reply = json_pack("{s:b}", "adapt", 0);
		rc = 200;
		goto out;
	}
	json_object_foreach(body, key, v) {
		if (!strcmp(key, "min")) {
			if (field_count(v, key, MAX_WORKERS, &min, reply) < 0)
				goto out;
		} else if (!strcmp(key, "max")) {
			if (field_count(v, key, MAX_WORKERS, &max, reply) < 0)
				goto out;
			have_max = 1;
		} else if (!strcmp(key, "idle_timeout")) {
			if (field_seconds(v, key, &idle, reply) < 0)
				goto out;
		} else if (!strcmp(key, "jobs")) {
			if (!json_is_boolean(v)) {
				error(reply, 400, "field 'jobs': expected true or false");
				goto out;
			}
			in_jobs = json_is_true(v);
		} else {
			error(reply, 400, "field '%s': unknown (adapt takes min, max, "
			      "idle_timeout, jobs, or off)", key);
			goto out;
		}
	}
	if (!have_max) {
		error(reply, 400, "field 'max': missing");
		goto out;
	}
	if (max < min) {
		error(reply, 400, "field 'max': %llu is less than min %llu",
		      (unsigned long long)max, (unsigned long long)min);
		goto out;
	}
	if (in_jobs) {
		min *= per_job;
		max *= per_job;
		if (max > MAX_WORKERS) {
			error(reply, 400, "field 'max': %llu workers is more than %u",
			      (unsigned long long)max, MAX_WORKERS);
			goto out;
		}
	}
	/* within the configuration's bounds: a lower min is raised to
	 * pool.min-workers; a max past pool.max-workers is refused */
	pool_manager_bounds(r->m, &bmin, &bmax);
	if (bmax && max > bmax) {
		error(reply, 400, "field 'max': %llu workers is more than "
		      "pool.max-workers (%u)", (unsigned long long)max, bmax);
		goto out;
	}
	if (min < bmin)
		min = bmin;
	if (max < min) {
		error(reply, 400, "field 'max': %llu workers is fewer than "
		      "pool.min-workers (%u)", (unsigned long long)max, bmin);
		goto out;
	}
	pool_manager_adapt(r->m, (unsigned)min, (unsigned)max, idle);
	*reply = json_pack("{s:b,s:I,s:I,s:I,s:I}", "adapt", 1,
			   "min", (json_int_t)min, "max", (json_int_t)max,
			   "min_jobs", (json_int_t)ceil_div(min, per_job),
			   "max_jobs", (json_int_t)ceil_div(max, per_job));
	json_object_set_new(*reply, "idle_timeout", idle > 0 ? json_real(idle) :
			    json_null());
	rc = 200;
out:
	json_decref(body);
	return rc;
}

/* --- resume ----------------------------------------------------------------- */

int api_pool_resume(const struct api_pool_request *r, json_t **reply)
{
	const char *was;

	if (!r->m)
		return no_pool(reply, 409);
	if (r->body_len) {
		json_t *body = body_object(r, reply);
		if (!body)
			return 400;
		if (json_object_size(body)) {
			const char *key = json_object_iter_key(json_object_iter(body));
			error(reply, 400, "field '%s': unknown (resume takes none)", key);
			json_decref(body);
			return 400;
		}
		json_decref(body);
	}
	was = pool_paused(pool_manager_pool(r->m));
	*reply = json_pack("{s:o}", "was_paused", was ? json_string(was) :
			   json_null());
	pool_manager_resume(r->m);
	return 200;
}
