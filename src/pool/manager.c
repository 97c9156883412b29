/*
 * The pool manager: pool.h's plans carried out on the event loop.  See
 * manager.h for the rules; this file is the loop, the commands and what
 * their output means to the pool.
 */
#include "pool/manager.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "backend/run.h"
#include "state/state.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/vec.h"

enum cmd_kind { CMD_NONE, CMD_STATUS, CMD_SUBMIT, CMD_CANCEL, CMD_HISTORY };

struct member {				/* a connected worker of ours */
	worker_id_t w;
	char id[POOL_ID_LEN];
	int64_t index;
};

struct local_kill {			/* local jobs we stopped at walltime */
	uint64_t seq;
	double at;
};

struct pool_manager {
	struct event_base *base;
	struct pool_manager_hooks hooks;
	struct pool_manager_config cfg;
	char *cluster, *state_dir, *script, *log_dir, *bin_dir;
	struct pool *pool;
	struct event *timer;
	struct pool_plan plan;

	struct backend_run *run;	/* the one command in flight */
	enum cmd_kind kind;
	uint64_t submit_seq;		/* CMD_SUBMIT: the first job's */
	unsigned submit_n;
	int submit_array;
	uint64_t *asked;		/* CMD_HISTORY */
	size_t nasked;

	double last_cmd;		/* when the last batch command began */
	double tokens;			/* rate-limit bucket */
	double next_poll;
	unsigned poll_failures;
	double last_poll;
	char poll_error[POOL_TEXT_LEN];
	unsigned long ncommands, npolls;

	uint64_t *cancel_q;		/* seqs due for a cancel command */
	size_t ncancel_q, cancel_alloc;

	struct member *members;
	size_t nmembers, members_alloc;
	struct local_kill *kills;
	size_t nkills, kills_alloc;

	int adapt_on;
	struct adapt adapt;
	char *jobs_written;		/* last `jobs` document written */
	char name_buf[160];
};

static double now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* --- failures -------------------------------------------------------------- */

enum pool_failure pool_classify_submit(const char *msg, int timed_out)
{
	static const char *const limit[] = {
		"AssocMaxSubmitJobLimit", "QOSMaxSubmitJobPerUserLimit",
		"MaxSubmitJobs", "would exceed", "job limit", "too many jobs",
		"Maximum number of jobs", NULL,
	};
	static const char *const permanent[] = {
		"Invalid account", "invalid partition", "Invalid qos",
		"Requested time limit", "Unknown queue", "Invalid credential",
		"illegal attribute", "Unauthorized Request", "not authorized",
		"Batch job submission failed: Invalid", "exceeds limit",
		"No such file", "Permission denied", "qsub: Unknown resource",
		"Illegal attribute or resource value", NULL,
	};

	if (timed_out || !msg)
		return POOL_FAIL_TRANSIENT;
	for (size_t i = 0; limit[i]; i++)
		if (strcasestr(msg, limit[i]))
			return POOL_FAIL_LIMIT;
	for (size_t i = 0; permanent[i]; i++)
		if (strcasestr(msg, permanent[i]))
			return POOL_FAIL_PERMANENT;
	/* "Socket timed out", "Unable to contact", server busy, anything
	 * not known: try again later */
	return POOL_FAIL_TRANSIENT;
}

/* --- names, files ---------------------------------------------------------- */

static const char *job_name(void *arg, uint64_t seq)
{
	struct pool_manager *m = arg;

	/* PBS wants a name that starts with a letter */
	snprintf(m->name_buf, sizeof(m->name_buf), "%s%s-%llu",
		 (m->cluster[0] >= 'A' && m->cluster[0] <= 'Z') ||
		 (m->cluster[0] >= 'a' && m->cluster[0] <= 'z') ? "" : "c",
		 m->cluster, (unsigned long long)seq);
	return m->name_buf;
}

static void write_jobs(struct pool_manager *m)
{
	json_t *doc, *jobs;
	struct err err = { "" };
	char *text;

	if (!m->state_dir)
		return;
	jobs = json_array();
	for (size_t i = 0; i < pool_njobs(m->pool); i++) {
		struct pool_job *j = pool_job_at(m->pool, i);
		if (!j->id[0] || j->head || j->state == JOB_STATE_ENDED)
			continue;
		json_array_append_new(jobs, json_pack("{s:s,s:I,s:I,s:s}",
			"id", j->id, "index", (json_int_t)j->index,
			"seq", (json_int_t)j->seq,
			"state", job_state_name(j->state)));
	}
	doc = json_pack("{s:s,s:o}", "backend", m->cfg.backend->name,
			"jobs", jobs);
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (text && (!m->jobs_written || strcmp(text, m->jobs_written))) {
		if (state_pool_jobs_write(m->state_dir, doc, &err) < 0)
			log_msg(LOG_WARNING, "pool: %s", err.text);
		free(m->jobs_written);
		m->jobs_written = text;
		text = NULL;
	}
	free(text);
	json_decref(doc);
}

/* --- members: which connected worker belongs to which job ---------------- */

static void member_add(struct pool_manager *m, worker_id_t w,
		       const char *job_id, int64_t index)
{
	struct member *x;

	m->members = vec_grow(m->members, &m->members_alloc, m->nmembers + 1,
			      sizeof(*m->members));
	x = &m->members[m->nmembers++];
	x->w = w;
	snprintf(x->id, sizeof(x->id), "%s", job_id);
	x->index = index;
}

static void member_del(struct pool_manager *m, worker_id_t w)
{
	for (size_t i = 0; i < m->nmembers; i++)
		if (m->members[i].w == w) {
			m->members[i] = m->members[--m->nmembers];
			return;
		}
}

static int member_of(const struct member *x, const struct pool_job *j)
{
	return j->id[0] && !strcmp(x->id, j->id) && x->index == j->index;
}

/* --- commands ----------------------------------------------------------- */

static void schedule(struct pool_manager *m, double delay);

static struct backend_run *start_cmd(struct pool_manager *m,
				     struct backend_argv *argv,
				     backend_run_fn done, struct err *err)
{
	struct backend_run_opts opts = {
		.env = m->cfg.backend->command_env,
		.timeout_ms = (unsigned)(m->cfg.command_timeout * 1000),
	};
	struct backend_run *r;

	if (m->bin_dir && argv->n) {
		char *full;
		if (asprintf(&full, "%s/%s", m->bin_dir, argv->v[0]) < 0)
			abort();
		free(argv->v[0]);
		argv->v[0] = full;
	}
	r = backend_run_start(m->base, argv->v, &opts, done, m, err);
	if (r) {
		m->ncommands++;
		m->last_cmd = now_wall();
		m->tokens -= 1;
	}
	return r;
}

/* One line of what a batch system said, for status and logs. */
static void first_line(const struct backend_result *r, char *out, size_t size)
{
	const char *s = r->err.len ? r->err.buf : r->out.len ? r->out.buf : "";
	size_t n = strcspn(s, "\n");

	if (r->timed_out)
		snprintf(out, size, "timed out");
	else if (!*s)
		snprintf(out, size, r->signal ? "killed by signal %d" :
			 "exit status %d", r->signal ? r->signal : r->status);
	else
		snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), s);
}

static void seen_from(const struct job_status *st, struct pool_seen *s)
{
	memset(s, 0, sizeof(*s));
	s->id = st->ref.id;
	s->index = st->ref.index;
	s->name = st->name[0] ? st->name : NULL;
	s->state = st->state;
	s->end = st->end;
	s->raw = st->raw[0] ? st->raw : NULL;
	s->reason = st->reason[0] ? st->reason : NULL;
	s->started = st->state >= JOB_STATE_RUNNING && st->start_time > 0 ?
		(double)st->start_time : 0;
	s->deadline = st->state == JOB_STATE_RUNNING && st->end_time > 0 ?
		(double)st->end_time : 0;
}

static void observe_list(struct pool_manager *m, struct job_status_list *l)
{
	struct pool_seen *seen = calloc(l->n + 1, sizeof(*seen));

	if (!seen)
		abort();
	for (size_t i = 0; i < l->n; i++)
		seen_from(&l->v[i], &seen[i]);
	pool_observe(m->pool, seen, l->n, job_name, m, now_wall());
	free(seen);
}

static void status_done(struct backend_result *r, void *arg)
{
	struct pool_manager *m = arg;
	struct job_status_list list = { 0 };
	struct err err = { "" };
	int rc;

	m->run = NULL;
	m->kind = CMD_NONE;
	m->npolls++;
	m->last_poll = now_wall();
	rc = m->cfg.backend->parse_status(r->out.buf ? r->out.buf : "", &list,
					  &err);
	if (r->timed_out || r->signal || (!list.n && (r->status || rc < 0))) {
		double back;
		first_line(r, m->poll_error, sizeof(m->poll_error));
		if (!r->timed_out && rc < 0 && !r->status)
			snprintf(m->poll_error, sizeof(m->poll_error), "%s",
				 err.text);
		m->poll_failures++;
		back = m->cfg.poll_interval *
			(double)(1u << (m->poll_failures < 4 ? m->poll_failures : 4));
		if (back > 10 * m->cfg.poll_interval)
			back = 10 * m->cfg.poll_interval;
		m->next_poll = m->last_poll + back;
		log_msg(LOG_WARNING, "pool: status poll failed: %s", m->poll_error);
	} else {
		m->poll_failures = 0;
		m->poll_error[0] = '\0';
		m->next_poll = m->last_poll + m->cfg.poll_interval;
		observe_list(m, &list);
		write_jobs(m);
	}
	job_status_list_release(&list);
	schedule(m, 0);
}

static void submit_done(struct backend_result *r, void *arg)
{
	struct pool_manager *m = arg;
	struct job_ref ref;
	struct err err = { "" };
	double now = now_wall();

	m->run = NULL;
	m->kind = CMD_NONE;
	if (r->exited && !r->status &&
	    m->cfg.backend->parse_submit(r->out.buf ? r->out.buf : "", &ref,
					 &err) == 0) {
		pool_submit_done(m->pool, m->submit_seq, m->submit_n, ref.id,
				 m->submit_array, now);
		log_msg(LOG_INFO, "pool: submitted job %s (%u job%s)", ref.id,
			m->submit_n, m->submit_n == 1 ? "" : "s");
	} else {
		char msg[POOL_TEXT_LEN];
		first_line(r, msg, sizeof(msg));
		if (r->exited && !r->status)
			snprintf(msg, sizeof(msg), "%s", err.text);
		enum pool_failure kind = pool_classify_submit(msg, r->timed_out);
		pool_submit_failed(m->pool, m->submit_seq, m->submit_n, kind,
				   r->timed_out, msg, now);
		log_msg(LOG_WARNING, "pool: submit failed (%s): %s",
			kind == POOL_FAIL_LIMIT ? "a site limit" :
			kind == POOL_FAIL_PERMANENT ? "permanent" : "transient",
			msg);
	}
	write_jobs(m);
	schedule(m, 0);
}

static void cancel_done(struct backend_result *r, void *arg)
{
	struct pool_manager *m = arg;

	m->run = NULL;
	m->kind = CMD_NONE;
	if (!r->exited || r->status) {
		char msg[POOL_TEXT_LEN];
		first_line(r, msg, sizeof(msg));
		/* the next listing tells which are gone */
		log_msg(LOG_WARNING, "pool: cancel: %s", msg);
	}
	schedule(m, 0);
}

static void history_done(struct backend_result *r, void *arg)
{
	struct pool_manager *m = arg;
	struct job_status_list list = { 0 };
	struct err err = { "" };

	m->run = NULL;
	m->kind = CMD_NONE;
	if (!r->timed_out) {
		struct pool_seen *seen;
		m->cfg.backend->parse_history(r->out.buf ? r->out.buf : "",
					      &list, &err);
		seen = calloc(list.n + 1, sizeof(*seen));
		if (!seen)
			abort();
		for (size_t i = 0; i < list.n; i++)
			seen_from(&list.v[i], &seen[i]);
		pool_history(m->pool, m->asked, m->nasked, seen, list.n,
			     now_wall());
		free(seen);
		write_jobs(m);
	}
	job_status_list_release(&list);
	schedule(m, 0);
}

static void refs_of(struct pool_manager *m, const uint64_t *seqs, size_t n,
		    struct job_ref *refs, size_t *nrefs)
{
	*nrefs = 0;
	for (size_t i = 0; i < n; i++) {
		struct pool_job *j = pool_find_seq(m->pool, seqs[i]);
		if (!j || !j->id[0])
			continue;
		struct job_ref *r = &refs[(*nrefs)++];
		memset(r, 0, sizeof(*r));
		snprintf(r->id, sizeof(r->id), "%s", j->id);
		r->array = j->index >= 0;
		r->index = j->index >= 0 ? (long)j->index : -1;
	}
}

static int batch_status(struct pool_manager *m)
{
	size_t n = pool_njobs(m->pool), k = 0;
	struct job_ref *refs = calloc(n + 1, sizeof(*refs));
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct err err = { "" };

	if (!refs)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct pool_job *j = pool_job_at(m->pool, i);
		if (!j->id[0] || j->state == JOB_STATE_ENDED)
			continue;
		/* an array's elements: ask for the array once */
		if (k && !strcmp(refs[k - 1].id, j->id))
			continue;
		snprintf(refs[k].id, sizeof(refs[k].id), "%s", j->id);
		refs[k].array = j->index >= 0;
		refs[k].index = -1;
		k++;
	}
	m->cfg.backend->status_argv(refs, k, &argv);
	free(refs);
	m->run = start_cmd(m, &argv, status_done, &err);
	backend_argv_release(&argv);
	if (!m->run) {
		snprintf(m->poll_error, sizeof(m->poll_error), "%s", err.text);
		m->next_poll = now_wall() + m->cfg.poll_interval;
		return -1;
	}
	m->kind = CMD_STATUS;
	return 0;
}

static int batch_submit(struct pool_manager *m, uint64_t first, unsigned n)
{
	struct backend_submit s = { 0 };
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct err err = { "" };

	s.script = m->script;
	s.name = job_name(m, first);
	s.array = n > 1;
	s.first = 0;
	s.last = n - 1;
	if (m->cfg.backend->submit_argv(&s, &argv, &err) < 0) {
		pool_submit_started(m->pool, first, n, now_wall());
		pool_submit_failed(m->pool, first, n, POOL_FAIL_PERMANENT, 0,
				   err.text, now_wall());
		backend_argv_release(&argv);
		return -1;
	}
	pool_submit_started(m->pool, first, n, now_wall());
	m->submit_seq = first;
	m->submit_n = n;
	m->submit_array = n > 1;
	m->run = start_cmd(m, &argv, submit_done, &err);
	backend_argv_release(&argv);
	if (!m->run) {
		pool_submit_failed(m->pool, first, n, POOL_FAIL_TRANSIENT, 0,
				   err.text, now_wall());
		return -1;
	}
	m->kind = CMD_SUBMIT;
	return 0;
}

static int batch_cancel(struct pool_manager *m)
{
	struct job_ref *refs = calloc(m->ncancel_q + 1, sizeof(*refs));
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct err err = { "" };
	size_t n;

	if (!refs)
		abort();
	refs_of(m, m->cancel_q, m->ncancel_q, refs, &n);
	m->ncancel_q = 0;
	if (!n) {
		free(refs);
		return -1;
	}
	m->cfg.backend->cancel_argv(refs, n, &argv);
	free(refs);
	m->run = start_cmd(m, &argv, cancel_done, &err);
	backend_argv_release(&argv);
	if (!m->run) {
		log_msg(LOG_WARNING, "pool: cancel: %s", err.text);
		return -1;
	}
	m->kind = CMD_CANCEL;
	return 0;
}

static int batch_history(struct pool_manager *m, const uint64_t *due,
			 size_t ndue)
{
	struct job_ref *refs = calloc(ndue + 1, sizeof(*refs));
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct err err = { "" };
	size_t n;

	if (!refs)
		abort();
	refs_of(m, due, ndue, refs, &n);
	free(m->asked);
	m->asked = malloc((ndue + 1) * sizeof(*m->asked));
	if (!m->asked)
		abort();
	memcpy(m->asked, due, ndue * sizeof(*due));
	m->nasked = ndue;
	if (!m->cfg.backend->history_argv || !n) {
		/* no history to ask: they are lost */
		pool_history(m->pool, m->asked, m->nasked, NULL, 0, now_wall());
		free(refs);
		return -1;
	}
	m->cfg.backend->history_argv(refs, n, &argv);
	free(refs);
	m->run = start_cmd(m, &argv, history_done, &err);
	backend_argv_release(&argv);
	if (!m->run) {
		pool_history(m->pool, m->asked, m->nasked, NULL, 0, now_wall());
		return -1;
	}
	m->kind = CMD_HISTORY;
	return 0;
}

/* --- local jobs ------------------------------------------------------------ */

static void local_submit(struct pool_manager *m, uint64_t first, unsigned n)
{
	double now = now_wall();

	pool_submit_started(m->pool, first, n, now);
	for (unsigned i = 0; i < n; i++) {
		struct strbuf out = STRBUF_INIT;
		struct err err = { "" };
		struct backend_local_job job = {
			.script = m->script, .name = job_name(m, first + i),
			.index = -1,
		};
		char id[32];
		pid_t pid;

		if (m->log_dir) {
			strbuf_addf(&out, "%s/%s.out", m->log_dir,
				    job_name(m, first + i));
			job.output = out.buf;
		}
		if (backend_local_submit(&job, &pid, &err) < 0) {
			pool_submit_failed(m->pool, first + i, n - i,
					   POOL_FAIL_PERMANENT, 0, err.text, now);
			strbuf_release(&out);
			return;
		}
		strbuf_release(&out);
		snprintf(id, sizeof(id), "%d", (int)pid);
		pool_submit_done(m->pool, first + i, 1, id, 0, now);
	}
}

static int killed_at_walltime(struct pool_manager *m, uint64_t seq)
{
	for (size_t i = 0; i < m->nkills; i++)
		if (m->kills[i].seq == seq)
			return 1;
	return 0;
}

static void local_poll(struct pool_manager *m)
{
	size_t n = pool_njobs(m->pool), k = 0;
	struct job_status *st = calloc(n + 1, sizeof(*st));
	struct pool_seen *seen = calloc(n + 1, sizeof(*seen));
	double now = now_wall();
	double walltime = m->cfg.params.walltime;

	if (!st || !seen)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct pool_job *j = pool_job_at(m->pool, i);
		pid_t pid;
		if (!j->id[0] || j->head || j->state == JOB_STATE_ENDED)
			continue;
		pid = (pid_t)atol(j->id);
		backend_local_status(pid, &st[k]);
		if (st[k].state == JOB_STATE_ENDED &&
		    killed_at_walltime(m, j->seq))
			st[k].end = JOB_END_WALLTIME;
		if (st[k].state == JOB_STATE_RUNNING && walltime > 0 &&
		    j->submitted > 0 && now >= j->submitted + walltime) {
			/* its walltime is up: what a batch system does */
			int again = killed_at_walltime(m, j->seq);
			backend_local_cancel(pid, again ? SIGKILL : SIGTERM);
			if (!again) {
				m->kills = vec_grow(m->kills, &m->kills_alloc,
						    m->nkills + 1, sizeof(*m->kills));
				m->kills[m->nkills].seq = j->seq;
				m->kills[m->nkills++].at = now;
			}
		}
		if (st[k].state == JOB_STATE_RUNNING)
			st[k].start_time = (int64_t)j->submitted;
		k++;
	}
	for (size_t i = 0; i < k; i++)
		seen_from(&st[i], &seen[i]);
	pool_observe(m->pool, seen, k, NULL, NULL, now);
	for (size_t i = 0; i < k; i++)
		if (st[i].state == JOB_STATE_ENDED)
			backend_local_reap((pid_t)atol(st[i].ref.id));
	m->npolls++;
	m->last_poll = now;
	m->next_poll = now + m->cfg.poll_interval;
	free(st);
	free(seen);
	write_jobs(m);
}

static void local_cancel(struct pool_manager *m)
{
	for (size_t i = 0; i < m->ncancel_q; i++) {
		struct pool_job *j = pool_find_seq(m->pool, m->cancel_q[i]);
		if (j && j->id[0])
			backend_local_cancel((pid_t)atol(j->id), SIGTERM);
	}
	m->ncancel_q = 0;
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

static void step(struct pool_manager *m)
{
	double now = now_wall();
	int local = !m->cfg.backend->is_batch;

	if (m->run)
		return;			/* its callback steps again */
	/* refill the bucket: one command per min_gap, a burst of 5 */
	m->tokens += (now - m->last_cmd) / m->cfg.min_gap;
	if (m->tokens > 5)
		m->tokens = 5;
	m->last_cmd = now;

	if (local && now >= m->next_poll)
		local_poll(m);
	set_busy(m);
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
		local_cancel(m);
		if (m->plan.submit)
			local_submit(m, m->plan.first_seq, m->plan.submit);
		write_jobs(m);
		schedule(m, m->next_poll - now_wall());
		return;
	}

	if (m->tokens < 1) {
		schedule(m, (1 - m->tokens) * m->cfg.min_gap);
		return;
	}
	if (m->ncancel_q && batch_cancel(m) == 0)
		return;
	if (m->plan.submit) {
		unsigned n = m->plan.submit;
		if (m->plan.array_size > 1) {
			if (n > m->plan.array_size)
				n = m->plan.array_size;
		} else {
			n = 1;
		}
		if (batch_submit(m, m->plan.first_seq, n) == 0)
			return;
	}
	uint64_t due[256];
	size_t ndue = pool_history_due(m->pool, due, 256, now);
	if (ndue && batch_history(m, due, ndue) == 0)
		return;
	if (now >= m->next_poll && batch_status(m) == 0)
		return;
	write_jobs(m);
	schedule(m, m->next_poll > now ? m->next_poll - now : m->cfg.min_gap);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	step(arg);
}

static void schedule(struct pool_manager *m, double delay)
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
	schedule(m, 0);
}

/* --- workers joining and leaving ------------------------------------------ */

void pool_manager_worker_joined(struct pool_manager *m, worker_id_t w,
				const char *job_id, int64_t index, double end)
{
	struct pool_job *j;

	if (!job_id || !job_id[0])
		return;
	member_add(m, w, job_id, index);
	pool_worker_joined(m->pool, job_id, index, now_wall());
	j = pool_find(m->pool, job_id, index);
	if (j && end > 0 && j->deadline <= 0)
		j->deadline = end;
	if (j && (j->draining || j->cancelling) && m->hooks.drain_worker)
		m->hooks.drain_worker(m->hooks.arg, w);
	schedule(m, 0);
}

void pool_manager_worker_left(struct pool_manager *m, worker_id_t w,
			      const char *job_id, int64_t index)
{
	if (!job_id || !job_id[0])
		return;
	member_del(m, w);
	pool_worker_left(m->pool, job_id, index, now_wall());
	schedule(m, 0);
}

/* --- life ------------------------------------------------------------------ */

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
	m = calloc(1, sizeof(*m));
	if (!m)
		abort();
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
	m->last_cmd = now_wall();
	if (m->state_dir) {
		unsigned target;
		struct err e2 = { "" };
		if (state_pool_target_read(m->state_dir, &target, &e2) == 0)
			pool_set_target(m->pool, target);
	}
	schedule(m, 0);
	return m;
}

void pool_manager_destroy(struct pool_manager *m)
{
	if (!m)
		return;
	if (m->run)
		backend_run_cancel(m->run);
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
	free(m->members);
	free(m->kills);
	free(m->jobs_written);
	free(m);
}

struct pool *pool_manager_pool(struct pool_manager *m)
{
	return m->pool;
}

unsigned long pool_manager_commands(const struct pool_manager *m,
				    unsigned long *polls)
{
	if (polls)
		*polls = m->npolls;
	return m->ncommands;
}

void pool_manager_scale(struct pool_manager *m, unsigned workers)
{
	struct err err = { "" };

	m->adapt_on = 0;
	pool_set_target(m->pool, workers);
	if (m->state_dir &&
	    state_pool_target_write(m->state_dir, workers, &err) < 0)
		log_msg(LOG_WARNING, "pool: %s", err.text);
	schedule(m, 0);
}

void pool_manager_adapt(struct pool_manager *m, unsigned min, unsigned max,
			double idle_timeout)
{
	adapt_init(&m->adapt, min, max, idle_timeout);
	m->adapt_on = 1;
	/* until demand is read, keep the target within the bounds */
	unsigned t = pool_target(m->pool);
	pool_set_target(m->pool, t < min ? min : max && t > max ? max : t);
	schedule(m, 0);
}

void pool_manager_adapt_off(struct pool_manager *m)
{
	m->adapt_on = 0;
}

void pool_manager_resume(struct pool_manager *m)
{
	pool_resume(m->pool);
	schedule(m, 0);
}

json_t *pool_manager_status(struct pool_manager *m)
{
	double now = now_wall();
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
	return o;
}
