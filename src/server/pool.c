/*
 * pool: the pool manager's hooks and events, from the server's side, and
 * the pool's start from the configuration; see pool.h.  Nothing but this
 * file ties the two together, so the manager can be run and tested with
 * hooks of its own.
 */
#include "server/pool.h"

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "jobscript/jobscript.h"
#include "server/events.h"
#include "server/server.h"
#include "state/state.h"
#include "util/log.h"
#include "util/paths.h"
#include "util/strbuf.h"

static int hook_busy(void *arg, worker_id_t w)
{
	struct worker_info wi;

	return sched_worker(server_sched(arg), w, &wi) == 0 &&
		(wi.running || wi.prefetched);
}

static void hook_drain(void *arg, worker_id_t w)
{
	sched_worker_drain(server_sched(arg), w);
	server_kick(arg);
}

static void hook_shutdown(void *arg, worker_id_t w, const char *reason)
{
	server_shutdown_worker(arg, w, reason);
	server_kick(arg);
}

static void hook_demand(void *arg, unsigned max_cores, uint64_t max_memory,
			uint64_t max_time, unsigned max_gpus,
			struct sched_demand *out)
{
	sched_demand(server_sched(arg), max_cores, max_memory, max_time,
		     max_gpus, out);
}

static void hook_job_changed(void *arg, const struct pool_job *j,
			     enum pool_job_change what, const char *name)
{
	events_pool_job(server_events(arg), j, what, name);
}

static void give_hooks(struct server *srv, struct pool_manager_hooks *out)
{
	out->arg = srv;
	out->worker_busy = hook_busy;
	out->drain_worker = hook_drain;
	out->shutdown_worker = hook_shutdown;
	out->demand = hook_demand;
	out->job_changed = hook_job_changed;
}

/* New demand: the pool grows on the next loop turn, not a poll later. */
static void on_queued(void *arg)
{
	pool_manager_kick(arg);
}

static void on_joined(void *arg, worker_id_t w, const struct events_job *job)
{
	pool_manager_worker_joined(arg, w, job->id, job->index, job->end);
}

static void on_lost(void *arg, worker_id_t w, const struct events_job *job,
		    int left, const char *why)
{
	(void)left;
	(void)why;
	pool_manager_worker_left(arg, w, job->id, job->index);
}

static const struct events_ops pool_events = {
	.tasks_queued = on_queued,
	.worker_joined_job = on_joined,
	.worker_lost_job = on_lost,
};

static void attach(struct server *srv, struct pool_manager *m)
{
	events_subscribe(server_events(srv), &pool_events, m);
}

static void detach(struct server *srv, struct pool_manager *m)
{
	events_unsubscribe(server_events(srv), &pool_events, m);
}

/* --- start ---------------------------------------------------------------- */

/* The worker job script, rendered once and written to the state
 * directory; its path in `path`. */
static int write_script(const struct server_pool_opts *o, struct strbuf *path,
			struct err *err)
{
	struct strbuf rank = STRBUF_INIT, script = STRBUF_INIT;
	struct job_script_opts so = {
		.role = JOB_WORKER,
		.cluster_name = o->cluster,
		.rank_path = o->rank_path,
		.state_dir = o->state_dir,
		.templates_dir = o->templates_dir ? o->templates_dir :
			paths_templates_dir(),
		.config_file = o->config_file,
		.sets = o->sets,
	};
	int rc = -1;

	if (!so.rank_path) {
		strbuf_addf(&rank, "%s/cluster-rank", paths_bindir());
		so.rank_path = rank.buf;
	}
	if (job_script_render(o->cfg, &so, &script, err) < 0)
		goto out;
	strbuf_addf(path, "%s/%s", o->state_dir, STATE_POOL_SCRIPT);
	if (state_write_atomic(path->buf, script.buf, script.len, 0755, err) < 0)
		goto out;
	rc = 0;
out:
	strbuf_release(&rank);
	strbuf_release(&script);
	return rc;
}

/* The pool's rules from the job.* and pool.* keys. */
static void pool_params_from(const struct config *cfg, const struct backend *b,
			     const struct job_size *js, struct pool_params *p)
{
	const struct config_value *arrays = config_get(cfg, "pool.arrays");
	double walltime = (double)js->walltime;
	double margin = (double)config_get_num(cfg, "pool.drain-margin");

	memset(p, 0, sizeof(*p));
	p->workers_per_job = js->nodes * js->processes;
	p->max_queued = (unsigned)config_get_num(cfg, "pool.max-queued");
	p->arrays = arrays && arrays->set ? arrays->num != 0 :
		!strcmp(b->name, "slurm") || !strcmp(b->name, "pbs");
	p->max_array_size = (unsigned)config_get_num(cfg, "pool.max-array-size");
	p->walltime = walltime;
	/* Drains are staggered over up to 1.75 margins before the end, and
	 * a job stops counting half a margin before that: a margin past a
	 * quarter of the walltime would leave jobs that never count, and a
	 * pool that submits for ever. */
	if (walltime > 0 && margin > walltime / 4) {
		log_msg(LOG_WARNING, "pool: pool.drain-margin is more than a "
			"quarter of job.walltime; using %.0f s", walltime / 4);
		margin = walltime / 4;
	}
	p->drain_margin = margin;
	p->replace_lead = margin / 2;
	p->missing_grace = (double)config_get_num(cfg, "pool.missing-grace");
}

int server_pool_start(struct server *srv, struct event_base *base,
		      const struct server_pool_opts *o, struct err *err)
{
	const char *name = config_get_str(o->cfg, "backend");
	const struct backend *b = backend_find(name ? name : "local");
	struct strbuf script = STRBUF_INIT, logs = STRBUF_INIT;
	struct pool_manager_hooks hooks;
	struct pool_manager_config mc = { 0 };
	struct pool_manager *m;
	struct job_size js;
	int rc = -1;

	if (!b) {
		errprintf(err, "backend = '%s' is unknown", name);
		goto out;
	}
	if (job_size_from_config(o->cfg, &js, err) < 0 ||
	    write_script(o, &script, err) < 0)
		goto out;
	mc.backend = b;
	mc.cluster = o->cluster;
	mc.state_dir = o->state_dir;
	mc.script = script.buf;
	if (!b->is_batch) {
		/* local jobs' output: a batch system's would go where the
		 * script's directives say */
		const char *dir = config_get_str(o->cfg, "job.log-directory");
		if (dir)
			strbuf_addstr(&logs, dir);
		else
			strbuf_addf(&logs, "%s/logs", o->state_dir);
		mc.log_dir = logs.buf;
	}
	pool_params_from(o->cfg, b, &js, &mc.params);
	mc.min_workers = (unsigned)config_get_num(o->cfg, "pool.min-workers");
	mc.max_workers = (unsigned)config_get_num(o->cfg, "pool.max-workers");
	mc.idle_timeout = (double)config_get_num(o->cfg, "pool.idle-timeout");
	mc.poll_interval = (double)config_get_num(o->cfg, "pool.poll-interval");
	mc.command_timeout =
		(double)config_get_num(o->cfg, "pool.command-timeout");
	mc.head_job = o->head_job && *o->head_job ? o->head_job : NULL;
	mc.head_workers = o->head_workers;
	mc.worker_cores = js.threads;
	mc.worker_memory = js.worker_memory;
	/* a share of job.gpus that does not divide is at least this much */
	mc.worker_gpus = js.processes ? js.gpus / js.processes : js.gpus;
	give_hooks(srv, &hooks);
	m = pool_manager_create(base, &hooks, &mc, err);
	if (!m)
		goto out;
	attach(srv, m);
	server_set_pool(srv, m);
	log_msg(LOG_INFO, "pool: backend %s, %u worker%s a job, job script '%s'",
		b->name, mc.params.workers_per_job,
		mc.params.workers_per_job == 1 ? "" : "s", script.buf);
	rc = 0;
out:
	strbuf_release(&script);
	strbuf_release(&logs);
	return rc;
}

void server_pool_stop(struct server *srv)
{
	struct pool_manager *m = server_pool(srv);

	if (!m)
		return;
	server_set_pool(srv, NULL);
	detach(srv, m);
	pool_manager_destroy(m);
}
