/*
 * metrics: GET /metrics in Prometheus' text format (version 0.0.4), for
 * a Prometheus that scrapes the scheduler with its token (bearer_token in
 * the scrape config): the route needs the token like the JSON ones, since
 * the figures say what runs where.  Every family is written on every
 * scrape, zero when empty, so a query never meets a series that comes
 * and goes; labels are states, actions and failure kinds, never a task or a
 * worker, so the answer stays the same size however large the cluster.
 */
#include "api/routes.h"

#include <inttypes.h>
#include <stdarg.h>

#include <event2/buffer.h>

#include "api/activity.h"
#include "pool/manager.h"
#include "util/clock.h"
#include "util/strbuf.h"

static void family(struct strbuf *sb, const char *name, const char *type,
		   const char *help)
{
	strbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(struct strbuf *sb, const char *name, const char *label,
		   const char *value, double v)
{
	if (label)
		strbuf_addf(sb, "%s{%s=\"%s\"} %.17g\n", name, label, value, v);
	else
		strbuf_addf(sb, "%s %.17g\n", name, v);
}

static void tasks(struct strbuf *sb, struct sched *s)
{
	struct sched_counts sc;
	static const enum task_state ended[] = { TASK_DONE, TASK_FAILED,
						 TASK_CANCELLED };

	sched_counts(s, &sc);
	family(sb, "cluster_tasks", "gauge", "Tasks by state.");
	for (int i = 0; i < TASK_NSTATES; i++)
		sample(sb, "cluster_tasks", "state", task_state_name(i),
		       (double)sc.state[i]);
	family(sb, "cluster_tasks_ended_total", "counter",
	       "Tasks that ended, by how.");
	for (size_t i = 0; i < sizeof(ended) / sizeof(*ended); i++)
		sample(sb, "cluster_tasks_ended_total", "state",
		       task_state_name(ended[i]), (double)sc.state[ended[i]]);
	family(sb, "cluster_tasks_submitted_total", "counter", "Tasks submitted.");
	sample(sb, "cluster_tasks_submitted_total", NULL, NULL, (double)sc.submitted);
	family(sb, "cluster_tasks_retried_total", "counter",
	       "Runs requeued after a failure or a lost worker.");
	sample(sb, "cluster_tasks_retried_total", NULL, NULL, (double)sc.retried);
}

static void workers(struct strbuf *sb, struct sched *s)
{
	double n[4] = { 0 }, cores = 0, cores_used = 0, mem = 0, mem_used = 0;
	static const char *const names[4] = { "busy", "idle", "draining", "lost" };

	for (worker_id_t id = sched_worker_next(s, -1); id >= 0;
	     id = sched_worker_next(s, id)) {
		struct worker_info wi;
		if (sched_worker(s, id, &wi) < 0)
			continue;
		if (!wi.alive) {
			n[3]++;
			continue;
		}
		n[wi.draining ? 2 : wi.running || wi.prefetched ? 0 : 1]++;
		cores += wi.cores;
		cores_used += wi.cores_used;
		mem += (double)wi.memory;
		mem_used += (double)wi.memory_used;
	}
	family(sb, "cluster_workers", "gauge", "Workers by state.");
	for (int i = 0; i < 4; i++)
		sample(sb, "cluster_workers", "state", names[i], n[i]);
	family(sb, "cluster_cores", "gauge", "Cores of the live workers.");
	sample(sb, "cluster_cores", NULL, NULL, cores);
	family(sb, "cluster_cores_used", "gauge", "Cores running tasks.");
	sample(sb, "cluster_cores_used", NULL, NULL, cores_used);
	family(sb, "cluster_memory_bytes", "gauge",
	       "Memory of the live workers (0 where not counted).");
	sample(sb, "cluster_memory_bytes", NULL, NULL, mem);
	family(sb, "cluster_memory_used_bytes", "gauge",
	       "Memory reserved by running tasks.");
	sample(sb, "cluster_memory_used_bytes", NULL, NULL, mem_used);
}

static void actions(struct strbuf *sb, const struct activity *act)
{
	family(sb, "cluster_action_seconds_total", "counter",
	       "Seconds of task runs, summed by action.");
	for (int i = 0; i < ACTION_COUNT; i++)
		sample(sb, "cluster_action_seconds_total", "action",
		       activity_action_name(i),
		       act ? activity_action_seconds(act, i) : 0);
	family(sb, "cluster_task_runtime_seconds", "summary",
	       "Seconds the tasks' commands ran, per run.");
	sample(sb, "cluster_task_runtime_seconds_sum", NULL, NULL,
	       act ? activity_action_seconds(act, ACTION_RUN) : 0);
	sample(sb, "cluster_task_runtime_seconds_count", NULL, NULL,
	       act ? (double)activity_action_runs(act, ACTION_RUN) : 0);
}

static void pool(struct strbuf *sb, struct pool_manager *m)
{
	static const char *const kinds[POOL_NFAILURES] = {
		[POOL_FAIL_TRANSIENT] = "transient",
		[POOL_FAIL_LIMIT] = "limit",
		[POOL_FAIL_PERMANENT] = "permanent",
	};
	struct pool_counts pc = { 0 };
	struct pool *p = m ? pool_manager_pool(m) : NULL;
	double target = 0, paused = 0, poll_error = 0;
	unsigned long polls = 0, poll_errors = 0;

	if (p) {
		json_t *st = pool_manager_status(m);
		pool_counts(p, clock_wall(), &pc);
		target = pool_target(p);
		paused = pool_paused(p) ? 1 : 0;
		poll_error = json_is_string(json_object_get(st, "poll_error"));
		json_decref(st);
		pool_manager_commands(m, &polls);
		poll_errors = pool_manager_poll_errors(m);
	}
	family(sb, "cluster_pool_jobs", "gauge", "Live batch jobs of the pool by state.");
	for (int i = JOB_STATE_UNKNOWN; i < JOB_STATE_ENDED; i++)
		sample(sb, "cluster_pool_jobs", "state",
		       job_state_name((enum job_state)i), pc.jobs[i]);
	family(sb, "cluster_pool_target_workers", "gauge", "Workers the pool wants.");
	sample(sb, "cluster_pool_target_workers", NULL, NULL, target);
	family(sb, "cluster_pool_workers", "gauge", "Workers of the pool's jobs that joined.");
	sample(sb, "cluster_pool_workers", NULL, NULL, pc.workers_joined);
	family(sb, "cluster_pool_jobs_submitted_total", "counter",
	       "Batch jobs the pool submitted.");
	sample(sb, "cluster_pool_jobs_submitted_total", NULL, NULL,
	       (double)pc.submitted);
	family(sb, "cluster_pool_jobs_ended_total", "counter",
	       "Batch jobs of the pool that ended.");
	sample(sb, "cluster_pool_jobs_ended_total", NULL, NULL, (double)pc.ended);
	family(sb, "cluster_pool_paused", "gauge",
	       "1 when the pool stopped submitting after failures.");
	sample(sb, "cluster_pool_paused", NULL, NULL, paused);
	family(sb, "cluster_pool_submit_failures_total", "counter",
	       "Submissions that failed, by kind: transient (backed off), "
	       "limit (a site limit) or permanent (pauses the pool).");
	for (int i = 0; i < POOL_NFAILURES; i++)
		sample(sb, "cluster_pool_submit_failures_total", "kind", kinds[i],
		       (double)pc.submit_failures[i]);
	family(sb, "cluster_pool_polls_total", "counter",
	       "Polls of the batch system's job states.");
	sample(sb, "cluster_pool_polls_total", NULL, NULL, (double)polls);
	family(sb, "cluster_pool_poll_errors_total", "counter",
	       "Polls of the batch system that failed.");
	sample(sb, "cluster_pool_poll_errors_total", NULL, NULL,
	       (double)poll_errors);
	family(sb, "cluster_pool_poll_error", "gauge",
	       "1 when the last poll of the batch system failed.");
	sample(sb, "cluster_pool_poll_error", NULL, NULL, poll_error);
}

static void journal(struct strbuf *sb, const struct api *a)
{
	struct api_journal_health h;

	journal_health(a, &h);
	family(sb, "cluster_journal_bytes", "gauge",
	       "The journal's size, with what waits to be written.");
	sample(sb, "cluster_journal_bytes", NULL, NULL, (double)h.bytes);
	family(sb, "cluster_journal_failing", "gauge",
	       "1 while the journal cannot be written.");
	sample(sb, "cluster_journal_failing", NULL, NULL, h.error ? 1 : 0);
	family(sb, "cluster_journal_failures_total", "counter",
	       "Times writing the journal began to fail.");
	sample(sb, "cluster_journal_failures_total", NULL, NULL,
	       (double)h.failures);
}

void metrics_show(struct http_call *c)
{
	struct strbuf sb = STRBUF_INIT;
	struct evbuffer *out = evbuffer_new();

	tasks(&sb, c->a->s);
	workers(&sb, c->a->s);
	actions(&sb, c->a->activity);
	pool(&sb, c->a->pool);
	journal(&sb, c->a);
	family(&sb, "cluster_uptime_seconds", "gauge", "Seconds since the API started.");
	sample(&sb, "cluster_uptime_seconds", NULL, NULL, clock_wall() - c->a->started);
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evbuffer_add(out, sb.buf, sb.len);
	evhttp_send_reply(c->req, 200, "OK", out);
	evbuffer_free(out);
	strbuf_release(&sb);
}
