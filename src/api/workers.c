/*
 * workers: the workers the scheduler knows (GET /api/v1/workers) and the
 * counters of the whole cluster (GET /api/v1/counters).
 */
#include "api/routes.h"

#include "pool/manager.h"
#include "util/clock.h"

void api_set_worker_jobs(struct api *a, api_worker_job_fn fn, void *arg)
{
	if (!a)
		return;
	a->worker_job = fn;
	a->worker_job_arg = arg;
}

/* Where the worker runs and its batch job: null when not known. */
static void add_job(struct api *a, json_t *o, const struct worker_info *wi,
		    double now)
{
	struct api_worker_job j = { NULL, NULL, -1, 0 };
	int known = wi->alive && a->worker_job &&
		a->worker_job(a->worker_job_arg, wi->id, &j) == 0;

	/* A worker that cannot tell its job's end (local jobs, a PBS job
	 * without one in its environment): the pool's listing may. */
	if (known && j.end <= 0 && j.job_id && *j.job_id && a->pool) {
		const struct pool_job *pj = pool_find(pool_manager_pool(a->pool),
						      j.job_id, j.index);
		if (pj && pj->deadline > 0)
			j.end = pj->deadline;
	}

	json_object_set_new(o, "host", known && j.host ? json_string(j.host) :
			    json_null());
	json_object_set_new(o, "job", known && j.job_id && *j.job_id ?
			    json_string(j.job_id) : json_null());
	json_object_set_new(o, "job_index", json_integer(known ? j.index : -1));
	json_object_set_new(o, "job_end", known && j.end > 0 ?
			    json_real(j.end) : json_null());
	json_object_set_new(o, "walltime_left", known && j.end > 0 ?
			    json_real(j.end > now ? j.end - now : 0) : json_null());
}

void workers_list(struct http_call *c)
{
	json_t *list = json_array();
	double now = clock_wall();

	for (worker_id_t id = sched_worker_next(c->a->s, -1); id >= 0;
	     id = sched_worker_next(c->a->s, id)) {
		struct worker_info wi;
		if (sched_worker(c->a->s, id, &wi) < 0)
			continue;
		json_t *o = json_pack(
			"{s:i,s:s,s:i,s:i,s:i,s:i,s:I,s:I,s:i,s:I,s:b,s:b}",
			"id", (int)wi.id, "name", wi.name ? wi.name : "",
			"cores", (int)wi.cores, "cores_used", (int)wi.cores_used,
			"gpus", (int)wi.gpus, "gpus_used", (int)wi.gpus_used,
			"memory", (json_int_t)wi.memory,
			"memory_used", (json_int_t)wi.memory_used,
			"running", (int)wi.running, "done", (json_int_t)wi.done,
			"alive", wi.alive, "draining", wi.draining);
		add_job(c->a, o, &wi, now);
		json_array_append_new(list, o);
	}
	http_reply_json(c->req, 200, json_pack("{s:o}", "workers", list));
}

void workers_counters(struct http_call *c)
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
	http_reply_json(c->req, 200, json_pack(
		"{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:f}",
		"states", counts_json(sc.state),
		"submitted", (json_int_t)sc.submitted,
		"retried", (json_int_t)sc.retried,
		"last_id", (json_int_t)sched_last_id(c->a->s),
		"workers", (json_int_t)workers, "cores", (json_int_t)cores,
		"cores_used", (json_int_t)cores_used,
		"uptime", clock_wall() - c->a->started));
}
