/*
 * pool: the job table and the reconcile step (see pool.h for the rules).
 *
 * The table is a vector in seq order (table.h).  Ended jobs are kept,
 * the most recent POOL_KEEP_ENDED, for `cluster status`; older ones are
 * dropped, so a pool that runs for months holds a bounded table.  What
 * listings, history and workers say about the jobs is applied in
 * listing.c.
 */
#include "pool/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"

void pool_copy_text(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

struct pool *pool_create(const struct pool_params *params)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->prm = *params;
	if (!p->prm.workers_per_job)
		p->prm.workers_per_job = 1;
	if (!p->prm.max_nojoin)
		p->prm.max_nojoin = 5;
	if (p->prm.backoff_min <= 0)
		p->prm.backoff_min = 10;
	if (p->prm.backoff_max < p->prm.backoff_min)
		p->prm.backoff_max = p->prm.backoff_min > 600 ?
				     p->prm.backoff_min : 600;
	p->next_seq = 1;
	return p;
}

void pool_destroy(struct pool *p)
{
	if (!p)
		return;
	free(p->jobs);
	free(p);
}

const struct pool_params *pool_params(const struct pool *p)
{
	return &p->prm;
}

void pool_set_target(struct pool *p, unsigned workers)
{
	p->target = workers;
}

unsigned pool_target(const struct pool *p)
{
	return p->target;
}

unsigned pool_jobs_for(const struct pool *p, unsigned workers)
{
	unsigned w = p->prm.workers_per_job;

	return workers / w + (workers % w != 0);
}

size_t pool_njobs(const struct pool *p)
{
	return p->njobs;
}

struct pool_job *pool_job_at(struct pool *p, size_t i)
{
	return i < p->njobs ? &p->jobs[i] : NULL;
}

struct pool_job *pool_find_seq(struct pool *p, uint64_t seq)
{
	size_t lo = 0, hi = p->njobs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->jobs[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->njobs && p->jobs[lo].seq == seq ? &p->jobs[lo] : NULL;
}

struct pool_job *pool_find(struct pool *p, const char *id, int64_t index)
{
	if (!id || !*id)
		return NULL;
	for (size_t i = 0; i < p->njobs; i++)
		if (p->jobs[i].index == index && !strcmp(p->jobs[i].id, id))
			return &p->jobs[i];
	return NULL;
}

static struct pool_job *add_job(struct pool *p, uint64_t seq, double now)
{
	p->jobs = vec_grow(p->jobs, &p->alloc, p->njobs + 1, sizeof(*p->jobs));
	struct pool_job *j = &p->jobs[p->njobs++];
	memset(j, 0, sizeof(*j));
	j->seq = seq;
	j->index = -1;
	j->state = JOB_STATE_QUEUED;
	j->expected = p->prm.workers_per_job;
	j->submitted = now;
	return j;
}

struct pool_job *pool_add_head(struct pool *p, const char *id,
			       unsigned workers, double now)
{
	struct pool_job *j = add_job(p, p->next_seq++, now);

	pool_copy_text(j->id, sizeof(j->id), id);
	j->head = 1;
	j->expected = workers;
	j->state = JOB_STATE_RUNNING;
	j->started = now;
	return j;
}

struct pool_job *pool_adopt(struct pool *p, const struct pool_job *rec)
{
	size_t at = p->njobs;
	struct pool_job *j;

	if (!rec->seq || pool_find_seq(p, rec->seq))
		return NULL;
	while (at > 0 && p->jobs[at - 1].seq > rec->seq)
		at--;
	p->jobs = vec_grow(p->jobs, &p->alloc, p->njobs + 1, sizeof(*p->jobs));
	memmove(&p->jobs[at + 1], &p->jobs[at],
		(p->njobs - at) * sizeof(*p->jobs));
	p->njobs++;
	j = &p->jobs[at];
	*j = *rec;
	j->joined = j->busy = 0;
	j->head = 0;
	j->unlisted_since = 0;
	j->history_asked = 0;
	j->adopted = 1;
	if (!j->expected)
		j->expected = p->prm.workers_per_job;
	if (j->state == JOB_STATE_ENDED && j->end == JOB_END_NONE)
		j->end = JOB_END_LOST;
	if (j->state != JOB_STATE_ENDED && j->uncertain)
		j->id[0] = '\0';
	pool_seq_from(p, rec->seq + 1);
	return j;
}

void pool_seq_from(struct pool *p, uint64_t seq)
{
	if (seq > p->next_seq)
		p->next_seq = seq;
}

uint64_t pool_next_seq(const struct pool *p)
{
	return p->next_seq;
}

int pool_job_is_live(const struct pool_job *j)
{
	return j->state != JOB_STATE_ENDED;
}

/* Drains, staggered by seq over a margin's worth of time, so jobs that
 * started together do not all leave (and get replaced) at once. */
static double stagger(const struct pool *p, const struct pool_job *j)
{
	return (double)(j->seq % 4) * p->prm.drain_margin / 4;
}

static double drain_time(const struct pool *p, const struct pool_job *j)
{
	return j->deadline - p->prm.drain_margin - stagger(p, j);
}

static int near_end(const struct pool *p, const struct pool_job *j,
		    double now)
{
	if (j->head || j->deadline <= 0)
		return 0;
	return now >= drain_time(p, j) - p->prm.replace_lead;
}

static int counts(const struct pool *p, const struct pool_job *j,
		  double now)
{
	return pool_job_is_live(j) && !j->cancelling && !j->draining &&
	       j->state != JOB_STATE_ENDING && !near_end(p, j, now);
}

int pool_state_in_queue(enum job_state st)
{
	return st == JOB_STATE_QUEUED || st == JOB_STATE_HELD ||
	       st == JOB_STATE_UNKNOWN;
}

int pool_job_in_queue(const struct pool_job *j)
{
	return pool_state_in_queue(j->state);
}

static int any_uncertain(const struct pool *p)
{
	for (size_t i = 0; i < p->njobs; i++)
		if (p->jobs[i].uncertain)
			return 1;
	return 0;
}

static void plan_add(uint64_t **v, size_t *n, size_t *alloc, uint64_t seq)
{
	*v = vec_grow(*v, alloc, *n + 1, sizeof(**v));
	(*v)[(*n)++] = seq;
}

void pool_plan_release(struct pool_plan *plan)
{
	free(plan->cancel);
	free(plan->drain);
	memset(plan, 0, sizeof(*plan));
}

static int can_submit(struct pool *p, double now)
{
	p->waiting[0] = '\0';
	if (p->paused || p->in_flight || any_uncertain(p))
		return 0;
	if (p->limit_wait) {
		pool_copy_text(p->waiting, sizeof(p->waiting),
			       "a site limit: waiting for one of our jobs to end");
		return 0;
	}
	if (now < p->next_submit_at) {
		snprintf(p->waiting, sizeof(p->waiting),
			 "backing off after a failed submission: %.0f s left",
			 p->next_submit_at - now);
		return 0;
	}
	return 1;
}

/* Removal candidates in order: class 0 waiting in the queue, 1 running
 * idle, 2 running busy (drained); newest first within a class. */
static int removal_class(const struct pool_job *j)
{
	if (pool_job_in_queue(j) || j->state == JOB_STATE_STARTING)
		return 0;
	return j->busy ? 2 : 1;
}

static void shrink(struct pool *p, unsigned surplus, double now,
		   struct pool_plan *plan)
{
	for (int cls = 0; cls < 3 && surplus; cls++) {
		for (size_t i = p->njobs; i-- > 0 && surplus;) {
			struct pool_job *j = &p->jobs[i];
			if (j->head || !counts(p, j, now) ||
			    removal_class(j) != cls || j->expected > surplus)
				continue;
			surplus -= j->expected;
			if (cls == 2) {
				j->draining = 1;
				pool_copy_text(j->reason, sizeof(j->reason),
					       "draining: the pool shrinks");
				plan_add(&plan->drain, &plan->ndrain,
					 &plan->drain_alloc, j->seq);
			} else {
				plan_add(&plan->cancel, &plan->ncancel,
					 &plan->cancel_alloc, j->seq);
			}
		}
	}
}

void pool_reconcile(struct pool *p, double now, struct pool_plan *plan)
{
	unsigned capacity = 0, waiting = 0;

	plan->submit = 0;
	plan->array_size = 0;
	plan->first_seq = p->next_seq;
	plan->ncancel = plan->ndrain = 0;

	for (size_t i = 0; i < p->njobs; i++) {
		struct pool_job *j = &p->jobs[i];
		if (!pool_job_is_live(j) || j->cancelling)
			continue;
		/* Walltime: drain before the end, so no task is killed. */
		if (!j->head && !j->draining && j->deadline > 0 &&
		    now >= drain_time(p, j)) {
			j->draining = 1;
			pool_copy_text(j->reason, sizeof(j->reason),
				       "draining before its walltime");
			plan_add(&plan->drain, &plan->ndrain,
				 &plan->drain_alloc, j->seq);
		}
		/* A drained job goes once its workers are idle; one still
		 * in the queue has none to wait for. */
		if (j->draining && !j->busy)
			plan_add(&plan->cancel, &plan->ncancel,
				 &plan->cancel_alloc, j->seq);
		if (counts(p, j, now)) {
			capacity += j->expected;
			waiting += pool_job_in_queue(j);
		}
	}

	if (p->target > capacity) {
		if (!can_submit(p, now))
			return;
		unsigned need = pool_jobs_for(p, p->target - capacity);
		if (p->prm.max_queued) {
			unsigned room = p->prm.max_queued > waiting ?
					p->prm.max_queued - waiting : 0;
			if (need > room) {
				snprintf(p->waiting, sizeof(p->waiting),
					 "%u of our jobs wait in the queue "
					 "(pool.max-queued)", waiting);
				need = room;
			}
		}
		if (need >= 2 && p->prm.arrays) {
			if (p->prm.max_array_size && need > p->prm.max_array_size)
				need = p->prm.max_array_size;
			plan->array_size = need;
		} else if (need > 1) {
			need = 1;	/* one job per command */
		}
		plan->submit = need;
	} else if (p->target < capacity) {
		p->waiting[0] = '\0';
		shrink(p, capacity - p->target, now, plan);
	} else {
		p->waiting[0] = '\0';
	}
}

void pool_submit_started(struct pool *p, uint64_t first_seq, unsigned n,
			 double now)
{
	if (first_seq < p->next_seq)
		first_seq = p->next_seq;
	for (unsigned k = 0; k < n; k++) {
		struct pool_job *j = add_job(p, first_seq + k, now);
		pool_copy_text(j->reason, sizeof(j->reason), "being submitted");
	}
	p->next_seq = first_seq + n;
	p->in_flight = 1;
}

void pool_submit_done(struct pool *p, uint64_t first_seq, unsigned n,
		      const char *id, int array, double now)
{
	(void)now;
	for (unsigned k = 0; k < n; k++) {
		struct pool_job *j = pool_find_seq(p, first_seq + k);
		if (!j)
			continue;
		pool_copy_text(j->id, sizeof(j->id), id);
		j->index = array ? (int64_t)k : -1;
		j->uncertain = 0;
		j->reason[0] = '\0';
	}
	p->submitted += n;
	p->in_flight = 0;
	p->backoff = 0;
	p->next_submit_at = 0;
	p->last_error[0] = '\0';
}

void pool_remove_at(struct pool *p, size_t i)
{
	memmove(&p->jobs[i], &p->jobs[i + 1],
		(p->njobs - i - 1) * sizeof(*p->jobs));
	p->njobs--;
}

static void remove_seq(struct pool *p, uint64_t seq)
{
	struct pool_job *j = pool_find_seq(p, seq);

	if (j)
		pool_remove_at(p, (size_t)(j - p->jobs));
}

void pool_submit_failed(struct pool *p, uint64_t first_seq, unsigned n,
			enum pool_failure kind, int maybe_created,
			const char *message, double now)
{
	for (unsigned k = 0; k < n; k++) {
		if (maybe_created) {
			struct pool_job *j = pool_find_seq(p, first_seq + k);
			if (j) {
				j->uncertain = 1;
				pool_copy_text(j->reason, sizeof(j->reason),
					       "submission unanswered: looking for "
					       "it by name");
			}
		} else {
			remove_seq(p, first_seq + k);
		}
	}
	p->in_flight = 0;
	pool_copy_text(p->last_error, sizeof(p->last_error), message);
	if ((unsigned)kind < POOL_NFAILURES)
		p->submit_failures[kind]++;
	switch (kind) {
	case POOL_FAIL_TRANSIENT:
		p->backoff = p->backoff > 0 ? p->backoff * 2 : p->prm.backoff_min;
		if (p->backoff > p->prm.backoff_max)
			p->backoff = p->prm.backoff_max;
		p->next_submit_at = now + p->backoff;
		break;
	case POOL_FAIL_LIMIT:
		p->limit_wait = 1;
		break;
	case POOL_FAIL_PERMANENT:
		p->paused = 1;
		snprintf(p->pause_reason, sizeof(p->pause_reason),
			 "submission refused: %s", message ? message : "");
		break;
	}
}

void pool_cancel_sent(struct pool *p, uint64_t seq)
{
	struct pool_job *j = pool_find_seq(p, seq);

	if (j)
		j->cancelling = 1;
}

const char *pool_paused(const struct pool *p)
{
	return p->paused ? p->pause_reason : NULL;
}

const char *pool_waiting(const struct pool *p, double now)
{
	(void)now;
	return p->waiting[0] ? p->waiting : NULL;
}

const char *pool_last_error(const struct pool *p)
{
	return p->last_error[0] ? p->last_error : NULL;
}

void pool_resume(struct pool *p)
{
	p->paused = 0;
	p->pause_reason[0] = '\0';
	p->nojoin = 0;
	p->backoff = 0;
	p->next_submit_at = 0;
	p->limit_wait = 0;
}

void pool_counts(const struct pool *p, double now, struct pool_counts *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < p->njobs; i++) {
		const struct pool_job *j = &p->jobs[i];
		if (!pool_job_is_live(j))
			continue;
		out->jobs[j->state]++;
		out->workers_joined += j->joined;
		out->draining += j->draining;
		if (counts(p, j, now)) {
			out->capacity_jobs++;
			out->capacity_workers += j->expected;
		}
	}
	out->submitted = p->submitted;
	out->ended = p->ended;
	out->replaced_ended = p->replaced_ended;
	memcpy(out->submit_failures, p->submit_failures,
	       sizeof(out->submit_failures));
}
