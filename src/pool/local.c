/*
 * The pool manager's local jobs: process groups on this machine
 * (backend_local_submit), their status read from the processes and their
 * walltime kept as a batch system would; see manager.h.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "pool/internal.h"
#include "util/xalloc.h"
#include "util/strbuf.h"
#include "util/vec.h"

/* --- local jobs ------------------------------------------------------------ */

void manager_local_submit(struct pool_manager *m, uint64_t first, unsigned n)
{
	double now = manager_now();

	pool_submit_started(m->pool, first, n, now);
	for (unsigned i = 0; i < n; i++) {
		struct strbuf out = STRBUF_INIT;
		struct err err = { "" };
		struct backend_local_job job = {
			.script = m->script, .name = manager_job_name(m, first + i),
			.index = -1,
		};
		char id[32];
		pid_t pid;

		if (m->log_dir) {
			strbuf_addf(&out, "%s/%s.out", m->log_dir,
				    manager_job_name(m, first + i));
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
		/* a child of ours, so its pid is not reused before we reap
		 * it; its start time is for the next scheduler */
		struct pool_job *j = pool_find_seq(m->pool, first + i);
		uint64_t start;
		if (j && backend_local_started(pid, &start) == 0)
			j->proc_start = start;
	}
}

int manager_local_signal(const struct pool_job *j, int sig)
{
	pid_t pid = (pid_t)atol(j->id);
	uint64_t start;

	/* an adopted job's leader must still be the one recorded; once it
	 * has gone, what is left of its group is signalled only while no
	 * stranger leads a group of that number */
	if (j->proc_start && backend_local_started(pid, &start) == 0 &&
	    start != j->proc_start)
		return -1;
	return backend_local_cancel(pid, sig);
}

static int killed_at_walltime(struct pool_manager *m, uint64_t seq)
{
	for (size_t i = 0; i < m->nkills; i++)
		if (m->kills[i].seq == seq)
			return 1;
	return 0;
}

void manager_local_poll(struct pool_manager *m)
{
	size_t n = pool_njobs(m->pool), k = 0;
	struct job_status *st = xcalloc(n + 1, sizeof(*st));
	struct pool_seen *seen = xcalloc(n + 1, sizeof(*seen));
	double now = manager_now();
	double walltime = m->cfg.params.walltime;

	for (size_t i = 0; i < n; i++) {
		struct pool_job *j = pool_job_at(m->pool, i);
		pid_t pid;
		if (!j->id[0] || j->head || j->state == JOB_STATE_ENDED)
			continue;
		pid = (pid_t)atol(j->id);
		backend_local_status_of(pid, j->proc_start, &st[k]);
		if (st[k].state == JOB_STATE_ENDED &&
		    killed_at_walltime(m, j->seq))
			st[k].end = JOB_END_WALLTIME;
		if (st[k].state == JOB_STATE_RUNNING && walltime > 0 &&
		    j->submitted > 0 && now >= j->submitted + walltime) {
			/* its walltime is up: what a batch system does */
			int again = killed_at_walltime(m, j->seq);
			manager_local_signal(j, again ? SIGKILL : SIGTERM);
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
		manager_seen_from(&st[i], &seen[i]);
	pool_observe(m->pool, seen, k, NULL, NULL, now);
	for (size_t i = 0; i < k; i++)
		if (st[i].state == JOB_STATE_ENDED)
			backend_local_reap((pid_t)atol(st[i].ref.id));
	m->npolls++;
	m->last_poll = now;
	m->next_poll = now + m->cfg.poll_interval;
	free(st);
	free(seen);
	manager_write_jobs(m);
}

void manager_local_cancel(struct pool_manager *m)
{
	for (size_t i = 0; i < m->ncancel_q; i++) {
		struct pool_job *j = pool_find_seq(m->pool, m->cancel_q[i]);
		if (j && j->id[0])
			manager_local_signal(j, SIGTERM);
	}
	m->ncancel_q = 0;
}
