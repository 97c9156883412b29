/*
 * workers: the workers the scheduler knows (GET /api/v1/workers) and the
 * counters of the whole cluster (GET /api/v1/counters).
 */
#include "api/routes.h"

#include "util/clock.h"

void workers_list(struct http_call *c)
{
	json_t *list = json_array();

	for (worker_id_t id = sched_worker_next(c->a->s, -1); id >= 0;
	     id = sched_worker_next(c->a->s, id)) {
		struct worker_info wi;
		if (sched_worker(c->a->s, id, &wi) < 0)
			continue;
		json_array_append_new(list, json_pack(
			"{s:i,s:s,s:i,s:i,s:i,s:i,s:I,s:I,s:i,s:I,s:b}",
			"id", (int)wi.id, "name", wi.name ? wi.name : "",
			"cores", (int)wi.cores, "cores_used", (int)wi.cores_used,
			"gpus", (int)wi.gpus, "gpus_used", (int)wi.gpus_used,
			"memory", (json_int_t)wi.memory,
			"memory_used", (json_int_t)wi.memory_used,
			"running", (int)wi.running, "done", (json_int_t)wi.done,
			"alive", wi.alive));
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
