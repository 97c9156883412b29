/*
 * The pool manager's stop (pool_manager_stop in manager.h): the target
 * goes to 0 so queued jobs are cancelled and idle ones removed while busy
 * ones drain, then, when no worker of the pool is busy or the timeout has
 * passed, whatever is left but the head job is cancelled in one command
 * (local jobs: SIGTERM to their groups, SIGKILL 3 s later) and `jobs` is
 * rewritten empty.  A local job is gone once its leader has ended and no
 * process carries its variables: the launcher puts each rank in a group
 * of its own, out of reach of the signal to the job's group, and the
 * leader (the job script) may end before they do.  Apart from the step
 * (manager.c), since it runs on a timer of its own and ends with no step
 * at all.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "pool/internal.h"
#include "state/state.h"
#include "util/log.h"
#include "util/procfs.h"
#include "util/xalloc.h"

static void stop_finish(struct pool_manager *m, size_t cancelled)
{
	void (*done)(void *) = m->stop_done;
	struct err err = { "" };

	if (!done)
		return;
	m->stop_done = NULL;
	event_del(m->stop_ev);
	manager_tell_stopped(m);
	if (m->state_dir) {
		json_t *doc = manager_jobs_doc(m, 1);
		if (state_pool_jobs_write(m->state_dir, doc, &err) < 0)
			log_msg(LOG_WARNING, "pool: %s", err.text);
		json_decref(doc);
	}
	log_msg(LOG_INFO, "pool: stopped; %zu job%s cancelled at the end",
		cancelled, cancelled == 1 ? "" : "s");
	done(m->stop_arg);
}

static void stop_cancel_done(struct backend_result *r, void *arg)
{
	struct pool_manager *m = arg;
	char msg[POOL_TEXT_LEN];

	m->stop_run = NULL;
	if (!r->exited || r->status) {
		manager_result_line(m, r, msg, sizeof(msg));
		log_msg(LOG_WARNING, "pool: the last cancel: %s", msg);
	}
	stop_finish(m, m->nstop_pids);
}

#define STOP_REAPED ((uint64_t)1 << 63)

struct leftovers {
	size_t n;
	int sig;
};

static void signal_leftover(void *arg, pid_t pid)
{
	struct leftovers *l = arg;

	l->n++;
	kill(pid, l->sig);
}

/* The processes of job i still alive once its leader has gone: told to
 * end, killed after 3 s; how many. */
static size_t stop_leftovers(struct pool_manager *m, size_t i, int late)
{
	char id[48], name[200];
	struct leftovers l = { 0, late ? SIGKILL : SIGTERM };

	snprintf(id, sizeof(id), "CLUSTER_JOB_ID=%llu",
		 (unsigned long long)m->stop_pids[i]);
	snprintf(name, sizeof(name), "CLUSTER_JOB_NAME=%s",
		 manager_job_name(m, m->stop_seqs[i] & ~STOP_REAPED));
	procfs_with_env(id, name, signal_leftover, &l);
	return l.n;
}

/* Local jobs signalled at the end: reap them, SIGKILL what still runs
 * after 3 s, leaders and the processes left after them; 1 when none is
 * left. */
static int stop_local_gone(struct pool_manager *m, double now)
{
	size_t left = 0;
	int late = now - m->stop_killed > 3;

	for (size_t i = 0; i < m->nstop_pids; i++) {
		pid_t pid = (pid_t)m->stop_pids[i];
		struct job_status st;
		if (!pid)
			continue;
		/* once collected, its pid may be another's: never looked at */
		if (!(m->stop_seqs[i] & STOP_REAPED)) {
			backend_local_status(pid, &st);
			if (st.state != JOB_STATE_ENDED) {
				if (late)
					backend_local_cancel(pid, SIGKILL);
				left++;
				continue;
			}
			backend_local_reap(pid);
			m->stop_seqs[i] |= STOP_REAPED;
		}
		if (stop_leftovers(m, i, late)) {
			left++;
			continue;
		}
		m->stop_pids[i] = 0;
	}
	return left == 0;
}

/* The last step: cancel whatever is left but the head job. */
static void stop_final(struct pool_manager *m)
{
	size_t n = pool_njobs(m->pool), k = 0;
	struct job_ref *refs = xcalloc(n + 1, sizeof(*refs));
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct err err = { "" };

	m->stop_final = 1;
	event_del(m->timer);
	free(m->stop_pids);
	free(m->stop_seqs);
	m->stop_pids = xcalloc(n + 1, sizeof(*m->stop_pids));
	m->stop_seqs = xcalloc(n + 1, sizeof(*m->stop_seqs));
	m->nstop_pids = m->nstop_cancelled = 0;
	for (size_t i = 0; i < n; i++) {
		struct pool_job *j = pool_job_at(m->pool, i);
		if (!j->id[0] || j->head)
			continue;
		if (!m->cfg.backend->is_batch && j->state == JOB_STATE_ENDED) {
			/* a leader gone (a scale-down's cancel): its ranks may
			 * still be ending */
			m->stop_seqs[m->nstop_pids] = j->seq | STOP_REAPED;
			m->stop_pids[m->nstop_pids++] = (uint64_t)atol(j->id);
			continue;
		}
		if (j->state == JOB_STATE_ENDED)
			continue;
		if (!m->cfg.backend->is_batch) {
			pid_t pid = (pid_t)atol(j->id);
			if (pid > 0 && manager_local_signal(j, SIGTERM) == 0) {
				m->stop_seqs[m->nstop_pids] = j->seq;
				m->stop_pids[m->nstop_pids++] = (uint64_t)pid;
				m->nstop_cancelled++;
			}
			continue;
		}
		if (k && !strcmp(refs[k - 1].id, j->id) && refs[k - 1].index < 0)
			continue;		/* the whole array already */
		snprintf(refs[k].id, sizeof(refs[k].id), "%s", j->id);
		refs[k].array = j->index >= 0;
		refs[k].index = j->index >= 0 ? (long)j->index : -1;
		k++;
	}
	if (!m->cfg.backend->is_batch) {
		m->stop_killed = manager_now();
		free(refs);
		if (stop_local_gone(m, m->stop_killed))
			stop_finish(m, m->nstop_cancelled);
		return;
	}
	m->nstop_pids = k;
	if (!k) {
		free(refs);
		stop_finish(m, 0);
		return;
	}
	m->cfg.backend->cancel_argv(refs, k, &argv);
	free(refs);
	m->stop_run = manager_start_command(m, &argv, stop_cancel_done, &err);
	backend_argv_release(&argv);
	if (!m->stop_run) {
		log_msg(LOG_WARNING, "pool: the last cancel: %s", err.text);
		stop_finish(m, 0);
		return;
	}
	m->ncommands++;
}

static void on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pool_manager *m = arg;
	const struct pool_manager_hooks *h = &m->hooks;
	double now = manager_now();
	int busy = 0;

	(void)fd;
	(void)what;
	if (m->stop_final) {
		if (!m->cfg.backend->is_batch && m->stop_done &&
		    stop_local_gone(m, now))
			stop_finish(m, m->nstop_cancelled);
		return;
	}
	if (m->run)
		return;			/* a command of the pool is under way */
	for (size_t k = 0; h->worker_busy && k < m->nmembers; k++)
		if (h->worker_busy(h->arg, m->members[k].w))
			busy = 1;
	if (busy && now < m->stop_deadline)
		return;
	stop_final(m);
}

void pool_manager_stop(struct pool_manager *m, double timeout,
		       void (*done)(void *arg), void *arg)
{
	struct timeval tv = { 0, 200000 };

	if (m->stopping)
		return;
	m->stopping = 1;
	m->adapt_on = 0;
	m->stop_done = done;
	m->stop_arg = arg;
	m->stop_deadline = manager_now() + (timeout > 0 ? timeout : 0);
	pool_set_target(m->pool, 0);
	m->stop_ev = event_new(m->base, -1, EV_PERSIST, on_stop_timer, m);
	if (!m->stop_ev)
		abort();
	event_add(m->stop_ev, &tv);
	log_msg(LOG_INFO, "pool: stopping; running jobs drain for up to %.0f s",
		timeout);
	manager_schedule(m, 0);
}
