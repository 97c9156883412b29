/*
 * The pool manager's batch commands: status, submit, cancel and history,
 * each run asynchronously (backend/run.h), and what their output means
 * to the pool; see manager.h for the rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pool/internal.h"
#include "util/log.h"
#include "util/xalloc.h"

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

/* --- commands ----------------------------------------------------------- */

struct backend_run *manager_start_command(struct pool_manager *m,
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
		m->last_cmd = manager_now();
		m->tokens -= 1;
	}
	return r;
}

void manager_result_line(const struct pool_manager *m,
			 const struct backend_result *r, char *out, size_t size)
{
	const char *s = r->err.len ? r->err.buf : r->out.len ? r->out.buf : "";
	size_t n = strcspn(s, "\n");

	if (r->timed_out)
		snprintf(out, size, "timed out: no answer in %g s "
			 "(pool.command-timeout), killed", m->cfg.command_timeout);
	else if (!*s)
		snprintf(out, size, r->signal ? "killed by signal %d" :
			 "exit status %d", r->signal ? r->signal : r->status);
	else
		snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), s);
}

void manager_seen_from(const struct job_status *st, struct pool_seen *s)
{
	memset(s, 0, sizeof(*s));
	s->id = st->ref.id;
	s->index = st->ref.index;
	s->name = st->name[0] ? st->name : NULL;
	s->state = st->state;
	s->end = st->end;
	s->raw = st->raw[0] ? st->raw : NULL;
	s->reason = st->reason[0] ? st->reason : NULL;
	s->submitted = st->submit_time > 0 ? (double)st->submit_time : 0;
	s->started = st->state >= JOB_STATE_RUNNING && st->start_time > 0 ?
		(double)st->start_time : 0;
	s->deadline = st->state == JOB_STATE_RUNNING && st->end_time > 0 ?
		(double)st->end_time : 0;
}

static void observe_list(struct pool_manager *m, struct job_status_list *l)
{
	struct pool_seen *seen = xcalloc(l->n + 1, sizeof(*seen));

	for (size_t i = 0; i < l->n; i++)
		manager_seen_from(&l->v[i], &seen[i]);
	pool_observe(m->pool, seen, l->n, manager_job_name, m, manager_now());
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
	m->last_poll = manager_now();
	rc = m->cfg.backend->parse_status(r->out.buf ? r->out.buf : "", &list,
					  &err);
	if (r->timed_out || r->signal || (!list.n && (r->status || rc < 0))) {
		double back;
		manager_result_line(m, r, m->poll_error, sizeof(m->poll_error));
		if (!r->timed_out && rc < 0 && !r->status)
			snprintf(m->poll_error, sizeof(m->poll_error), "%s",
				 err.text);
		m->poll_failures++;
		m->npoll_errors++;
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
		manager_members_rejoin(m);
		manager_write_jobs(m);
	}
	job_status_list_release(&list);
	manager_schedule(m, 0);
}

static void submit_done(struct backend_result *r, void *arg)
{
	struct pool_manager *m = arg;
	struct job_ref ref;
	struct err err = { "" };
	double now = manager_now();

	m->run = NULL;
	m->kind = CMD_NONE;
	if (r->exited && !r->status &&
	    m->cfg.backend->parse_submit(r->out.buf ? r->out.buf : "", &ref,
					 &err) == 0) {
		pool_submit_done(m->pool, m->submit_seq, m->submit_n, ref.id,
				 m->submit_array, now);
		manager_members_rejoin(m);
		log_msg(LOG_INFO, "pool: submitted job %s (%u job%s)", ref.id,
			m->submit_n, m->submit_n == 1 ? "" : "s");
	} else {
		char msg[POOL_TEXT_LEN];
		manager_result_line(m, r, msg, sizeof(msg));
		if (r->exited && !r->status)
			snprintf(msg, sizeof(msg), "%s", err.text);
		enum pool_failure kind = pool_classify_submit(msg, r->timed_out);
		/* A transient failure ("Socket timed out", a wrapper that
		 * failed after the real command) may have made the job all
		 * the same: the next listing looks for it by name. */
		pool_submit_failed(m->pool, m->submit_seq, m->submit_n, kind,
				   r->timed_out || kind == POOL_FAIL_TRANSIENT,
				   msg, now);
		log_msg(LOG_WARNING, "pool: submit failed (%s): %s",
			kind == POOL_FAIL_LIMIT ? "a site limit" :
			kind == POOL_FAIL_PERMANENT ? "permanent" : "transient",
			msg);
	}
	manager_write_jobs(m);
	manager_schedule(m, 0);
}

static void cancel_done(struct backend_result *r, void *arg)
{
	struct pool_manager *m = arg;

	m->run = NULL;
	m->kind = CMD_NONE;
	if (!r->exited || r->status) {
		char msg[POOL_TEXT_LEN];
		manager_result_line(m, r, msg, sizeof(msg));
		/* the next listing tells which are gone */
		log_msg(LOG_WARNING, "pool: cancel: %s", msg);
	}
	manager_schedule(m, 0);
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
		seen = xcalloc(list.n + 1, sizeof(*seen));
		for (size_t i = 0; i < list.n; i++)
			manager_seen_from(&list.v[i], &seen[i]);
		pool_history(m->pool, m->asked, m->nasked, seen, list.n,
			     manager_now());
		free(seen);
		manager_write_jobs(m);
	}
	job_status_list_release(&list);
	manager_schedule(m, 0);
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

int manager_batch_status(struct pool_manager *m)
{
	size_t n = pool_njobs(m->pool), k = 0;
	struct job_ref *refs = xcalloc(n + 1, sizeof(*refs));
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct err err = { "" };

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
	m->run = manager_start_command(m, &argv, status_done, &err);
	backend_argv_release(&argv);
	if (!m->run) {
		snprintf(m->poll_error, sizeof(m->poll_error), "%s", err.text);
		m->next_poll = manager_now() + m->cfg.poll_interval;
		return -1;
	}
	m->kind = CMD_STATUS;
	return 0;
}

int manager_batch_submit(struct pool_manager *m, uint64_t first, unsigned n)
{
	struct backend_submit s = { 0 };
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct err err = { "" };

	s.script = m->script;
	s.name = manager_job_name(m, first);
	s.array = n > 1;
	s.first = 0;
	s.last = n - 1;
	if (m->cfg.backend->submit_argv(&s, &argv, &err) < 0) {
		pool_submit_started(m->pool, first, n, manager_now());
		pool_submit_failed(m->pool, first, n, POOL_FAIL_PERMANENT, 0,
				   err.text, manager_now());
		backend_argv_release(&argv);
		return -1;
	}
	pool_submit_started(m->pool, first, n, manager_now());
	m->submit_seq = first;
	m->submit_n = n;
	m->submit_array = n > 1;
	m->run = manager_start_command(m, &argv, submit_done, &err);
	backend_argv_release(&argv);
	if (!m->run) {
		pool_submit_failed(m->pool, first, n, POOL_FAIL_TRANSIENT, 0,
				   err.text, manager_now());
		return -1;
	}
	m->kind = CMD_SUBMIT;
	/* recorded as unanswered until it answers: a scheduler killed
	 * meanwhile leaves the next one its name to look for */
	manager_write_jobs(m);
	return 0;
}

int manager_batch_cancel(struct pool_manager *m)
{
	struct job_ref *refs = xcalloc(m->ncancel_q + 1, sizeof(*refs));
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct err err = { "" };
	size_t n;

	refs_of(m, m->cancel_q, m->ncancel_q, refs, &n);
	m->ncancel_q = 0;
	if (!n) {
		free(refs);
		return -1;
	}
	m->cfg.backend->cancel_argv(refs, n, &argv);
	free(refs);
	m->run = manager_start_command(m, &argv, cancel_done, &err);
	backend_argv_release(&argv);
	if (!m->run) {
		log_msg(LOG_WARNING, "pool: cancel: %s", err.text);
		return -1;
	}
	m->kind = CMD_CANCEL;
	return 0;
}

int manager_batch_history(struct pool_manager *m, const uint64_t *due,
			 size_t ndue)
{
	struct job_ref *refs = xcalloc(ndue + 1, sizeof(*refs));
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct err err = { "" };
	size_t n;

	refs_of(m, due, ndue, refs, &n);
	free(m->asked);
	m->asked = xmalloc((ndue + 1) * sizeof(*m->asked));
	memcpy(m->asked, due, ndue * sizeof(*due));
	m->nasked = ndue;
	if (!m->cfg.backend->history_argv || !n) {
		/* no history to ask: they are lost */
		pool_history(m->pool, m->asked, m->nasked, NULL, 0, manager_now());
		free(refs);
		return -1;
	}
	m->cfg.backend->history_argv(refs, n, &argv);
	free(refs);
	m->run = manager_start_command(m, &argv, history_done, &err);
	backend_argv_release(&argv);
	if (!m->run) {
		pool_history(m->pool, m->asked, m->nasked, NULL, 0, manager_now());
		return -1;
	}
	m->kind = CMD_HISTORY;
	return 0;
}
