/*
 * The pool's record in the state directory (`jobs`), and its adoption by
 * the next scheduler.
 *
 * Why: a scheduler killed with SIGKILL (or whose node went away) leaves
 * its jobs in the queue.  The next scheduler of the cluster must neither
 * forget them (they would run unseen and unused, and a scale would submit
 * beside them) nor trust them blindly (some ended meanwhile).  So every
 * change to the table is written out, and a manager that starts on a
 * record takes its live jobs back into its table as they were: the next
 * listing (Slurm, PBS) or the processes themselves (local) tell what
 * became of each, and only those that ended are replaced, as any job
 * that ends is.  Nothing is cancelled or submitted twice.
 *
 * What is kept per job: its batch id and element, seq (so names stay
 * unique: the record's next_seq carries on), state, submit and start
 * times and walltime end (a local job's walltime runs from its submit),
 * workers expected, whether any ever joined (a restart does not make it
 * a job that never brought a worker), whether it was being cancelled or
 * drained, and for local jobs the start time of the group's leader, so a
 * pid that a stranger got meanwhile is not taken for the job.  A
 * submission under way is kept with no id, as unanswered: the next
 * listing finds it by name, or it was not made.
 *
 * A record of another backend's live jobs (the profile changed) stops
 * the pool from starting: taken for its own, or written over, they would
 * be lost to `cluster stop --force` too.
 *
 * Each time the record may change, the job_changed hook is told first
 * what changed since the last time (the journal's job records): this
 * file is the one place that sees every change of the table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/internal.h"
#include "state/state.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/vec.h"

static json_t *time_or_null(double t)
{
	return t > 0 ? json_real(t) : json_null();
}

static json_t *job_record(const struct pool_job *j)
{
	json_t *o = json_pack("{s:s,s:I,s:I,s:s,s:I}", "id", j->id,
			      "index", (json_int_t)j->index,
			      "seq", (json_int_t)j->seq,
			      "state", job_state_name(j->state),
			      "expected", (json_int_t)j->expected);

	json_object_set_new(o, "submitted", time_or_null(j->submitted));
	json_object_set_new(o, "started", time_or_null(j->started));
	json_object_set_new(o, "deadline", time_or_null(j->deadline));
	if (j->ever_joined)
		json_object_set_new(o, "joined", json_true());
	if (!j->id[0])
		json_object_set_new(o, "uncertain", json_true());
	if (j->cancelling)
		json_object_set_new(o, "cancelling", json_true());
	if (j->draining)
		json_object_set_new(o, "draining", json_true());
	if (j->proc_start)
		json_object_set_new(o, "proc_start",
				    json_integer((json_int_t)j->proc_start));
	return o;
}

json_t *manager_jobs_doc(struct pool_manager *m, int none)
{
	json_t *jobs = json_array();

	for (size_t i = 0; !none && i < pool_njobs(m->pool); i++) {
		struct pool_job *j = pool_job_at(m->pool, i);
		if (j->head || j->state == JOB_STATE_ENDED)
			continue;
		json_array_append_new(jobs, job_record(j));
	}
	return json_pack("{s:s,s:I,s:o}", "backend", m->cfg.backend->name,
			 "next_seq", (json_int_t)pool_next_seq(m->pool),
			 "jobs", jobs);
}

/* --- what changed, told ----------------------------------------------------- */

static const struct told *told_find(const struct pool_manager *m, uint64_t seq)
{
	size_t lo = 0, hi = m->ntold;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->told[mid].seq == seq)
			return &m->told[mid];
		if (m->told[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void tell(struct pool_manager *m, const struct pool_job *j,
		 enum pool_job_change what)
{
	m->hooks.job_changed(m->hooks.arg, j, what, manager_job_name(m, j->seq));
}

/* Each job's changes since the last call, to the job_changed hook: a job
 * is told first when its id is known (submitted, or adopted), then at
 * each change of its state or reason, and last when it ends.  The table
 * is in seq order, and so is what was told. */
static void tell_jobs(struct pool_manager *m)
{
	struct told *now = NULL;
	size_t n = 0, alloc = 0;

	if (!m->hooks.job_changed)
		return;
	for (size_t i = 0; i < pool_njobs(m->pool); i++) {
		const struct pool_job *j = pool_job_at(m->pool, i);
		const struct told *t = told_find(m, j->seq);
		enum job_state was = JOB_STATE_QUEUED;
		const char *why = "";

		if (j->head)
			continue;
		if (t) {
			was = t->state;
			why = t->reason;
		} else if (!j->id[0]) {
			continue;	/* unanswered: told once it is known */
		} else if (!j->adopted) {
			tell(m, j, POOL_JOB_SUBMITTED);
		} else if (j->state != JOB_STATE_ENDED) {
			tell(m, j, POOL_JOB_ADOPTED);
			was = j->state;
			why = j->reason;
		} else {
			was = JOB_STATE_UNKNOWN;	/* ended meanwhile */
		}
		if (j->state == JOB_STATE_ENDED) {
			if (was != JOB_STATE_ENDED)
				tell(m, j, POOL_JOB_ENDED);
		} else if (j->state != was || strcmp(j->reason, why)) {
			tell(m, j, POOL_JOB_STATE);
		}
		now = vec_grow(now, &alloc, n + 1, sizeof(*now));
		now[n].seq = j->seq;
		now[n].state = j->state;
		snprintf(now[n].reason, sizeof(now[n].reason), "%s", j->reason);
		n++;
	}
	free(m->told);
	m->told = now;
	m->ntold = n;
	m->told_alloc = alloc;
}

void manager_tell_stopped(struct pool_manager *m)
{
	for (size_t i = 0; m->hooks.job_changed && i < pool_njobs(m->pool); i++) {
		struct pool_job j = *pool_job_at(m->pool, i);
		const struct told *t = told_find(m, j.seq);

		if (!t || t->state == JOB_STATE_ENDED)
			continue;
		j.state = JOB_STATE_ENDED;
		j.end = JOB_END_CANCELLED;
		j.raw[0] = '\0';
		snprintf(j.reason, sizeof(j.reason), "cancelled at the pool's stop");
		tell(m, &j, POOL_JOB_ENDED);
	}
	m->ntold = 0;
}

void manager_write_jobs(struct pool_manager *m)
{
	json_t *doc;
	struct err err = { "" };
	char *text;

	tell_jobs(m);
	if (!m->state_dir)
		return;
	doc = manager_jobs_doc(m, 0);
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

/* --- adoption -------------------------------------------------------------- */

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : 0;
}

static enum job_state state_named(const char *name)
{
	for (int s = JOB_STATE_UNKNOWN; s <= JOB_STATE_ENDED; s++)
		if (name && !strcmp(name, job_state_name((enum job_state)s)))
			return (enum job_state)s;
	return JOB_STATE_UNKNOWN;
}

/* One recorded job as a table entry; -1 when the record is unreadable. */
static int job_from(json_t *o, struct pool_job *j)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	json_t *index = json_object_get(o, "index");
	double seq = num(o, "seq");

	memset(j, 0, sizeof(*j));
	if (!json_is_object(o) || !id || seq < 1 || seq > 1e15 ||
	    strlen(id) >= sizeof(j->id))
		return -1;
	j->seq = (uint64_t)seq;
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->index = json_is_integer(index) && json_integer_value(index) >= 0 ?
		   (int64_t)json_integer_value(index) : -1;
	j->state = state_named(json_string_value(json_object_get(o, "state")));
	if (j->state == JOB_STATE_ENDED)
		return -1;		/* never recorded; not ours to judge */
	if (j->state == JOB_STATE_UNKNOWN)
		j->state = JOB_STATE_QUEUED;
	j->expected = (unsigned)num(o, "expected");
	j->submitted = num(o, "submitted");
	j->started = num(o, "started");
	j->deadline = num(o, "deadline");
	j->ever_joined = json_is_true(json_object_get(o, "joined"));
	j->uncertain = json_is_true(json_object_get(o, "uncertain")) || !id[0];
	j->cancelling = json_is_true(json_object_get(o, "cancelling"));
	j->draining = json_is_true(json_object_get(o, "draining"));
	j->proc_start = (uint64_t)num(o, "proc_start");
	return 0;
}

/* A local job is ours while its leader runs with the start time recorded;
 * else it ended while no scheduler watched it. */
static int local_alive(const struct pool_job *j)
{
	uint64_t start;
	long pid = atol(j->id);

	return pid > 1 && backend_local_started((pid_t)pid, &start) == 0 &&
	       (!j->proc_start || start == j->proc_start);
}

int manager_adopt(struct pool_manager *m, struct err *err)
{
	json_t *doc = NULL, *jobs, *o;
	const char *bname;
	struct strbuf kept = STRBUF_INIT, gone = STRBUF_INIT;
	size_t i, nkept = 0, ngone = 0, nbad = 0;
	int local = !m->cfg.backend->is_batch;

	if (!m->state_dir || state_pool_jobs_read(m->state_dir, &doc, NULL) < 0)
		return 0;
	bname = json_string_value(json_object_get(doc, "backend"));
	jobs = json_object_get(doc, "jobs");
	if (bname && strcmp(bname, m->cfg.backend->name) &&
	    json_array_size(jobs)) {
		/* taking them for ours would lose them: cancel them first */
		errprintf(err, "'%s/%s' lists %zu job%s of backend %s, and the "
			  "backend is now %s: 'cluster stop --force' cancels "
			  "them first", m->state_dir, STATE_POOL_JOBS,
			  json_array_size(jobs),
			  json_array_size(jobs) == 1 ? "" : "s", bname,
			  m->cfg.backend->name);
		json_decref(doc);
		return -1;
	}
	if (num(doc, "next_seq") >= 1 && num(doc, "next_seq") < 1e15)
		pool_seq_from(m->pool, (uint64_t)num(doc, "next_seq"));
	json_array_foreach(jobs, i, o) {
		struct pool_job rec, *j;
		if (job_from(o, &rec) < 0) {
			nbad++;
			continue;
		}
		if (local && (rec.uncertain || !local_alive(&rec))) {
			/* a local submit is never left unanswered */
			rec.state = JOB_STATE_ENDED;
			rec.end = JOB_END_LOST;
			snprintf(rec.reason, sizeof(rec.reason), "ended while no "
				 "scheduler watched it");
		}
		j = pool_adopt(m->pool, &rec);
		if (!j) {
			nbad++;
			continue;
		}
		if (j->state == JOB_STATE_ENDED) {
			strbuf_addf(&gone, " %s", j->id);
			ngone++;
			continue;
		}
		if (j->uncertain)
			strbuf_addf(&kept, " (unanswered %s)",
				    manager_job_name(m, j->seq));
		else if (j->index >= 0)
			strbuf_addf(&kept, " %s[%lld]", j->id, (long long)j->index);
		else
			strbuf_addf(&kept, " %s", j->id);
		if (j->cancelling) {
			/* the cancel may not have gone out: again */
			m->cancel_q = vec_grow(m->cancel_q, &m->cancel_alloc,
					       m->ncancel_q + 1,
					       sizeof(*m->cancel_q));
			m->cancel_q[m->ncancel_q++] = j->seq;
		}
		nkept++;
	}
	if (nkept || ngone)
		log_msg(LOG_INFO, "pool: adopted %zu job%s an earlier scheduler "
			"recorded:%s%s%s", nkept, nkept == 1 ? "" : "s",
			nkept ? kept.buf : " none", ngone ? "; ended meanwhile:" : "",
			gone.buf);
	if (nbad)
		log_msg(LOG_WARNING, "pool: %zu record%s in '%s/%s' unreadable or "
			"repeated: left out", nbad, nbad == 1 ? "" : "s",
			m->state_dir, STATE_POOL_JOBS);
	strbuf_release(&kept);
	strbuf_release(&gone);
	json_decref(doc);
	manager_write_jobs(m);
	return 0;
}
