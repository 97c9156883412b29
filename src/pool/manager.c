/*
 * The pool manager: pool.h's plans carried out on the event loop.  See
 * manager.h for the rules; this file is the loop, the workers that join
 * and leave, and status; the commands are in commands.c and local jobs in
 * local.c.
 */
#include "pool/manager.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "pool/internal.h"
#include "state/state.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/units.h"
#include "util/vec.h"
#include "util/xalloc.h"

double manager_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* --- names ---------------------------------------------------------- */

const char *manager_job_name(void *arg, uint64_t seq)
{
	struct pool_manager *m = arg;

	/* PBS wants a name that starts with a letter */
	snprintf(m->name_buf, sizeof(m->name_buf), "%s%s-%llu",
		 (m->cluster[0] >= 'A' && m->cluster[0] <= 'Z') ||
		 (m->cluster[0] >= 'a' && m->cluster[0] <= 'z') ? "" : "c",
		 m->cluster, (unsigned long long)seq);
	return m->name_buf;
}

/* --- members: which connected worker belongs to which job ---------------- */

static struct member *member_add(struct pool_manager *m, worker_id_t w,
				  const char *job_id, int64_t index, double end)
{
	struct member *x;

	m->members = vec_grow(m->members, &m->members_alloc, m->nmembers + 1,
			      sizeof(*m->members));
	x = &m->members[m->nmembers++];
	memset(x, 0, sizeof(*x));
	x->w = w;
	snprintf(x->id, sizeof(x->id), "%s", job_id);
	x->index = index;
	x->end = end;
	return x;
}

/* Removes w; whether its job had counted it. */
static int member_del(struct pool_manager *m, worker_id_t w)
{
	for (size_t i = 0; i < m->nmembers; i++)
		if (m->members[i].w == w) {
			int counted = m->members[i].counted;
			m->members[i] = m->members[--m->nmembers];
			return counted;
		}
	return 0;
}

/* Worker x joins its job in the table, if the table knows the job. */
static void member_count(struct pool_manager *m, struct member *x)
{
	struct pool_job *j = pool_find(m->pool, x->id, x->index);

	if (!j || j->state == JOB_STATE_ENDED)
		return;
	x->counted = 1;
	pool_worker_joined(m->pool, x->id, x->index, manager_now());
	if (x->end > 0 && j->deadline <= 0)
		j->deadline = x->end;
	if ((j->draining || j->cancelling) && m->hooks.drain_worker)
		m->hooks.drain_worker(m->hooks.arg, x->w);
}

void manager_members_rejoin(struct pool_manager *m)
{
	for (size_t i = 0; i < m->nmembers; i++)
		if (!m->members[i].counted)
			member_count(m, &m->members[i]);
}

static int member_of(const struct member *x, const struct pool_job *j)
{
	return j->id[0] && !strcmp(x->id, j->id) && x->index == j->index;
}

/* --- the step ------------------------------------------------------------- */

static void set_busy(struct pool_manager *m)
{
	const struct pool_manager_hooks *h = &m->hooks;

	for (size_t i = 0; i < pool_njobs(m->pool); i++) {
		struct pool_job *j = pool_job_at(m->pool, i);
		unsigned busy = 0;
		if (!j->id[0] || !j->joined)
			continue;
		for (size_t k = 0; h->worker_busy && k < m->nmembers; k++)
			if (member_of(&m->members[k], j) &&
			    h->worker_busy(h->arg, m->members[k].w))
				busy++;
		pool_set_busy(m->pool, j->id, j->index, busy);
	}
}

/* The longest task time limit a worker of ours can see through: its
 * job's walltime less the drain margin; 0: no bound. */
static uint64_t task_time_max(const struct pool_manager *m)
{
	double t = m->cfg.params.walltime - m->cfg.params.drain_margin;

	return m->cfg.params.walltime > 0 && t >= 1 ? (uint64_t)t : 0;
}

/* Read the demand (status shows what no worker could run) and, when
 * adapting, turn it into the target. */
static void read_demand(struct pool_manager *m, double now)
{
	const struct pool_manager_hooks *h = &m->hooks;
	unsigned cores = m->cfg.worker_cores ? m->cfg.worker_cores : 1;
	struct adapt_demand d;

	memset(&m->demand, 0, sizeof(m->demand));
	if (h->demand)
		h->demand(h->arg, cores, m->cfg.worker_memory, task_time_max(m),
			  m->cfg.worker_gpus, &m->demand);
	if (!m->adapt_on)
		return;
	d.cores = m->demand.cores;
	d.memory = m->demand.memory;
	d.gpus = m->demand.gpus;
	pool_set_target(m->pool, adapt_step(&m->adapt,
		adapt_wanted(&d, cores, m->cfg.worker_memory,
			     m->cfg.worker_gpus), now));
}

static void drain_workers(struct pool_manager *m, struct pool_job *j,
			  int shutdown)
{
	const struct pool_manager_hooks *h = &m->hooks;

	for (size_t k = 0; k < m->nmembers; k++) {
		if (!member_of(&m->members[k], j))
			continue;
		if (shutdown && h->shutdown_worker)
			h->shutdown_worker(h->arg, m->members[k].w,
					   "the pool removes its job");
		else if (!shutdown && h->drain_worker)
			h->drain_worker(h->arg, m->members[k].w);
	}
}

/* Whether a status command has anything to tell: a job of ours not
 * known to have ended (an unanswered submission among them).  With none,
 * no poll runs: PBS's status command with no ids would list every job on
 * the server, and Slurm's is a call against the rate limit for nothing. */
static int poll_wanted(struct pool_manager *m)
{
	for (size_t i = 0; i < pool_njobs(m->pool); i++) {
		const struct pool_job *j = pool_job_at(m->pool, i);
		if (j->state != JOB_STATE_ENDED && (j->id[0] || j->uncertain))
			return 1;
	}
	return 0;
}

static void step(struct pool_manager *m)
{
	double now = manager_now();
	int local = !m->cfg.backend->is_batch;

	if (m->run || m->stop_final)
		return;			/* its callback steps again */
	/* refill the bucket: one command per min_gap, a burst of 5 */
	m->tokens += (now - m->last_cmd) / m->cfg.min_gap;
	if (m->tokens > 5)
		m->tokens = 5;
	m->last_cmd = now;

	if (local && now >= m->next_poll)
		manager_local_poll(m);
	set_busy(m);
	read_demand(m, now);
	pool_reconcile(m->pool, now, &m->plan);
	for (size_t i = 0; i < m->plan.ndrain; i++) {
		struct pool_job *j = pool_find_seq(m->pool, m->plan.drain[i]);
		if (j)
			drain_workers(m, j, 0);
	}
	for (size_t i = 0; i < m->plan.ncancel; i++) {
		struct pool_job *j = pool_find_seq(m->pool, m->plan.cancel[i]);
		if (!j)
			continue;
		drain_workers(m, j, 1);
		pool_cancel_sent(m->pool, j->seq);
		m->cancel_q = vec_grow(m->cancel_q, &m->cancel_alloc,
				       m->ncancel_q + 1, sizeof(*m->cancel_q));
		m->cancel_q[m->ncancel_q++] = j->seq;
	}
	if (local) {
		manager_local_cancel(m);
		if (m->plan.submit)
			manager_local_submit(m, m->plan.first_seq, m->plan.submit);
		manager_write_jobs(m);
		/* no batch system to spare: the next job on the next turn */
		manager_schedule(m, m->plan.submit ? 0 :
				 m->next_poll - manager_now());
		return;
	}

	if (m->tokens < 1) {
		manager_schedule(m, (1 - m->tokens) * m->cfg.min_gap);
		return;
	}
	if (m->ncancel_q && manager_batch_cancel(m) == 0)
		return;
	/* a poll that is due goes before further submissions: a pool that
	 * submits job after job (arrays off) still sees its jobs change */
	if (now >= m->next_poll && poll_wanted(m) && m->plan.submit &&
	    manager_batch_status(m) == 0)
		return;
	if (m->plan.submit) {
		unsigned n = m->plan.submit;
		if (m->plan.array_size > 1) {
			if (n > m->plan.array_size)
				n = m->plan.array_size;
		} else {
			n = 1;
		}
		if (manager_batch_submit(m, m->plan.first_seq, n) == 0)
			return;
	}
	uint64_t due[256];
	size_t ndue = pool_history_due(m->pool, due, 256, now);
	if (ndue && manager_batch_history(m, due, ndue) == 0)
		return;
	if (now >= m->next_poll) {
		if (!poll_wanted(m))
			m->next_poll = now + m->cfg.poll_interval;
		else if (manager_batch_status(m) == 0)
			return;
	}
	manager_write_jobs(m);
	manager_schedule(m, m->next_poll > now ? m->next_poll - now : m->cfg.min_gap);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	step(arg);
}

void manager_schedule(struct pool_manager *m, double delay)
{
	struct timeval tv;

	if (delay < 0)
		delay = 0;
	if (delay > m->cfg.poll_interval)
		delay = m->cfg.poll_interval;
	tv.tv_sec = (time_t)delay;
	tv.tv_usec = (suseconds_t)((delay - (double)tv.tv_sec) * 1e6);
	event_del(m->timer);
	event_add(m->timer, &tv);
}

void pool_manager_kick(struct pool_manager *m)
{
	manager_schedule(m, 0);
}

/* --- workers joining and leaving ------------------------------------------ */

void pool_manager_worker_joined(struct pool_manager *m, worker_id_t w,
				const char *job_id, int64_t index, double end)
{
	if (!job_id || !job_id[0])
		return;
	member_count(m, member_add(m, w, job_id, index, end));
	manager_schedule(m, 0);
}

void pool_manager_worker_left(struct pool_manager *m, worker_id_t w,
			      const char *job_id, int64_t index)
{
	if (!job_id || !job_id[0])
		return;
	if (member_del(m, w))
		pool_worker_left(m->pool, job_id, index, manager_now());
	manager_schedule(m, 0);
}

/* --- life ------------------------------------------------------------------ */

/* A kept target within pool.min-workers and pool.max-workers, which may
 * have changed since it was kept. */
static unsigned bounded(const struct pool_manager *m, unsigned target)
{
	unsigned t = target;

	if (t < m->cfg.min_workers)
		t = m->cfg.min_workers;
	if (m->cfg.max_workers && t > m->cfg.max_workers)
		t = m->cfg.max_workers;
	if (t != target)
		log_msg(LOG_INFO, "pool: the kept target of %u workers is %s "
			"pool.%s-workers: %u", target, t > target ? "below" :
			"above", t > target ? "min" : "max", t);
	return t;
}

struct pool_manager *pool_manager_create(struct event_base *base,
					 const struct pool_manager_hooks *hooks,
					 const struct pool_manager_config *cfg,
					 struct err *err)
{
	struct pool_manager *m;

	if (!cfg->backend || !cfg->script || !cfg->cluster)
		return errprintf(err, "the pool needs a backend, a job script and a name"),
		       NULL;
	if (cfg->backend->is_batch && (!cfg->backend->submit_argv ||
				       !cfg->backend->status_argv))
		return errprintf(err, "backend '%s' cannot submit jobs",
				 cfg->backend->name), NULL;
	if (cfg->max_workers && cfg->min_workers > cfg->max_workers)
		return errprintf(err, "pool.min-workers (%u) is more than "
				 "pool.max-workers (%u)", cfg->min_workers,
				 cfg->max_workers), NULL;
	m = xcalloc(1, sizeof(*m));
	m->base = base;
	if (hooks)
		m->hooks = *hooks;
	m->cfg = *cfg;
	if (m->cfg.poll_interval <= 0)
		m->cfg.poll_interval = 10;
	if (m->cfg.command_timeout <= 0)
		m->cfg.command_timeout = 30;
	if (m->cfg.min_gap <= 0)
		m->cfg.min_gap = 1;
	m->cluster = strdup(cfg->cluster);
	m->script = strdup(cfg->script);
	m->state_dir = dup_or_null(cfg->state_dir);
	m->log_dir = dup_or_null(cfg->log_dir);
	m->bin_dir = dup_or_null(cfg->bin_dir);
	m->cfg.cluster = m->cluster;
	m->cfg.script = m->script;
	m->cfg.state_dir = m->state_dir;
	m->cfg.log_dir = m->log_dir;
	m->cfg.bin_dir = m->bin_dir;
	m->pool = pool_create(&cfg->params);
	m->timer = evtimer_new(base, on_timer, m);
	if (!m->pool || !m->timer)
		abort();
	m->tokens = 5;
	m->last_cmd = manager_now();
	/* an earlier scheduler's jobs first: the head job's seq follows
	 * theirs */
	if (manager_adopt(m, err) < 0) {
		pool_manager_destroy(m);
		return NULL;
	}
	if (cfg->head_job)
		pool_add_head(m->pool, cfg->head_job, cfg->head_workers,
			      manager_now());
	m->cfg.head_job = NULL;		/* not kept */
	pool_set_target(m->pool, cfg->min_workers);
	if (m->state_dir) {
		unsigned target;
		struct err e2 = { "" };
		if (state_pool_target_read(m->state_dir, &target, &e2) == 0)
			pool_set_target(m->pool, bounded(m, target));
	}
	manager_schedule(m, 0);
	return m;
}

void pool_manager_destroy(struct pool_manager *m)
{
	if (!m)
		return;
	if (m->run)
		backend_run_cancel(m->run);
	if (m->stop_run)
		backend_run_cancel(m->stop_run);
	if (m->stop_ev)
		event_free(m->stop_ev);
	free(m->stop_pids);
	free(m->stop_seqs);
	event_free(m->timer);
	pool_plan_release(&m->plan);
	pool_destroy(m->pool);
	free(m->cluster);
	free(m->script);
	free(m->state_dir);
	free(m->log_dir);
	free(m->bin_dir);
	free(m->asked);
	free(m->cancel_q);
	free(m->told);
	free(m->members);
	free(m->kills);
	free(m->jobs_written);
	free(m);
}

struct pool *pool_manager_pool(struct pool_manager *m)
{
	return m->pool;
}

void pool_manager_bounds(const struct pool_manager *m, unsigned *min,
			 unsigned *max)
{
	*min = m->cfg.min_workers;
	*max = m->cfg.max_workers;
}

void pool_manager_sizes(const struct pool_manager *m, unsigned *per_job,
			unsigned *cores, uint64_t *memory)
{
	*per_job = pool_params(m->pool)->workers_per_job;
	*cores = m->cfg.worker_cores ? m->cfg.worker_cores : 1;
	*memory = m->cfg.worker_memory;
}

unsigned long pool_manager_commands(const struct pool_manager *m,
				    unsigned long *polls)
{
	if (polls)
		*polls = m->npolls;
	return m->ncommands;
}

unsigned long pool_manager_poll_errors(const struct pool_manager *m)
{
	return m->npoll_errors;
}

void pool_manager_scale(struct pool_manager *m, unsigned workers)
{
	struct err err = { "" };

	m->adapt_on = 0;
	pool_set_target(m->pool, workers);
	if (m->state_dir &&
	    state_pool_target_write(m->state_dir, workers, &err) < 0)
		log_msg(LOG_WARNING, "pool: %s", err.text);
	manager_schedule(m, 0);
}

void pool_manager_adapt(struct pool_manager *m, unsigned min, unsigned max,
			double idle_timeout)
{
	adapt_init(&m->adapt, min, max, idle_timeout > 0 ? idle_timeout :
		   m->cfg.idle_timeout);
	m->adapt_on = 1;
	/* until demand is read, keep the target within the bounds; a pool
	 * larger than demand shrinks from there after the idle timeout */
	unsigned t = pool_target(m->pool);
	t = t < m->adapt.min ? m->adapt.min : t > m->adapt.max ? m->adapt.max : t;
	m->adapt.current = t;
	pool_set_target(m->pool, t);
	manager_schedule(m, 0);
}

void pool_manager_adapt_off(struct pool_manager *m)
{
	m->adapt_on = 0;
}

void pool_manager_resume(struct pool_manager *m)
{
	pool_resume(m->pool);
	manager_schedule(m, 0);
}

/* What a task no worker could run needs, against what a worker has:
 * the first bound it passes. */
static json_t *unrunnable(const struct pool_manager *m)
{
	unsigned cores = m->cfg.worker_cores ? m->cfg.worker_cores : 1;
	uint64_t memory = m->cfg.worker_memory, time = task_time_max(m);
	json_t *a = json_array();

	for (size_t i = 0; i < m->demand.nsample; i++) {
		const struct sched_demand_over *x = &m->demand.sample[i];
		struct strbuf needs = STRBUF_INIT, limit = STRBUF_INIT;
		if (x->cores > cores) {
			strbuf_addf(&needs, "%u cores", x->cores);
			strbuf_addf(&limit, "%u core%s", cores, cores == 1 ? "" : "s");
		} else if (x->gpus > m->cfg.worker_gpus) {
			strbuf_addf(&needs, "%u GPU%s", x->gpus,
				    x->gpus == 1 ? "" : "s");
			strbuf_addf(&limit, "%u GPU%s", m->cfg.worker_gpus,
				    m->cfg.worker_gpus == 1 ? "" : "s");
		} else if (memory && x->memory > memory) {
			size_format(&needs, x->memory);
			strbuf_addstr(&needs, " memory");
			size_format(&limit, memory);
			strbuf_addstr(&limit, " memory");
		} else {
			duration_format_hms(&needs, x->time_limit);
			strbuf_addstr(&needs, " time limit");
			duration_format_hms(&limit, time);
			strbuf_addstr(&limit, " time limit");
		}
		json_array_append_new(a, json_pack("{s:I,s:s,s:s}",
			"id", (json_int_t)x->id, "needs", needs.buf,
			"limit", limit.buf));
		strbuf_release(&needs);
		strbuf_release(&limit);
	}
	return a;
}

json_t *pool_manager_status(struct pool_manager *m)
{
	double now = manager_now();
	struct pool_counts c;
	json_t *jobs = json_array(), *o;
	const char *s;

	pool_counts(m->pool, now, &c);
	for (size_t i = 0; i < pool_njobs(m->pool); i++) {
		struct pool_job *j = pool_job_at(m->pool, i);
		json_t *x = json_pack("{s:s,s:I,s:I,s:s,s:s,s:s,s:I,s:I,s:b,s:b}",
			"id", j->id, "index", (json_int_t)j->index,
			"seq", (json_int_t)j->seq,
			"state", j->state == JOB_STATE_ENDED ?
				job_end_name(j->end) : job_state_name(j->state),
			"raw", j->raw, "reason", j->reason,
			"joined", (json_int_t)j->joined,
			"expected", (json_int_t)j->expected,
			"draining", j->draining, "head", j->head);
		json_object_set_new(x, "adopted", json_boolean(j->adopted));
		json_object_set_new(x, "submitted", j->submitted > 0 ?
				    json_real(j->submitted) : json_null());
		json_object_set_new(x, "started", j->started > 0 ?
				    json_real(j->started) : json_null());
		json_object_set_new(x, "walltime_left", j->deadline > 0 &&
				    j->state != JOB_STATE_ENDED ?
				    json_real(fmax(0, j->deadline - now)) :
				    json_null());
		json_array_append_new(jobs, x);
	}
	o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:o}",
		      "backend", m->cfg.backend->name,
		      "target", (json_int_t)pool_target(m->pool),
		      "actual", (json_int_t)c.workers_joined,
		      "target_jobs", (json_int_t)pool_jobs_for(m->pool,
							      pool_target(m->pool)),
		      "actual_jobs", (json_int_t)c.capacity_jobs,
		      "jobs", jobs);
	json_object_set_new(o, "adapt", json_boolean(m->adapt_on));
	json_object_set_new(o, "last_poll", m->last_poll > 0 ?
			    json_real(m->last_poll) : json_null());
	json_object_set_new(o, "poll_error", m->poll_error[0] ?
			    json_string(m->poll_error) : json_null());
	s = pool_paused(m->pool);
	json_object_set_new(o, "paused", s ? json_string(s) : json_null());
	s = pool_waiting(m->pool, now);
	json_object_set_new(o, "waiting", s ? json_string(s) : json_null());
	s = pool_last_error(m->pool);
	json_object_set_new(o, "last_error", s ? json_string(s) : json_null());
	json_object_set_new(o, "unrunnable", unrunnable(m));
	json_object_set_new(o, "unrunnable_tasks",
			    json_integer((json_int_t)m->demand.over));
	json_object_set_new(o, "workers_per_job", json_integer(
		(json_int_t)pool_params(m->pool)->workers_per_job));
	json_object_set_new(o, "worker_cores", json_integer(
		(json_int_t)(m->cfg.worker_cores ? m->cfg.worker_cores : 1)));
	json_object_set_new(o, "worker_memory",
			    json_integer((json_int_t)m->cfg.worker_memory));
	json_object_set_new(o, "adapt_bounds", !m->adapt_on ? json_null() :
		json_pack("{s:I,s:I,s:f}", "min", (json_int_t)m->adapt.min,
			  "max", (json_int_t)m->adapt.max,
			  "idle_timeout", m->adapt.idle_timeout));
	return o;
}
