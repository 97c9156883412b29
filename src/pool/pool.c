/*
 * pool: the job table and the reconcile step (see pool.h for the rules).
 *
 * The table is a vector in seq order.  Listings are matched against it
 * through a sorted index built per call, so a poll over thousands of jobs
 * costs n log n, not n squared.  Ended jobs are kept, the most recent
 * POOL_KEEP_ENDED, for `cluster status`; older ones are dropped, so a pool
 * that runs for months holds a bounded table.
 */
#include "pool/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"

struct pool {
	struct pool_params prm;
	unsigned target;
	struct pool_job *jobs;
	size_t njobs, alloc;
	uint64_t next_seq;
	int in_flight;			/* a submission runs */
	int paused;
	char pause_reason[POOL_TEXT_LEN];
	unsigned nojoin;		/* jobs in a row ended unjoined */
	double backoff, next_submit_at;
	int limit_wait;			/* a site limit: until a job ends */
	char last_error[POOL_TEXT_LEN];
	char waiting[POOL_TEXT_LEN];
	uint64_t submitted, ended, replaced_ended;
};

static void copy_text(char *dst, size_t size, const char *src)
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

	copy_text(j->id, sizeof(j->id), id);
	j->head = 1;
	j->expected = workers;
	j->state = JOB_STATE_RUNNING;
	j->started = now;
	return j;
}

static int is_live(const struct pool_job *j)
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
	return is_live(j) && !j->cancelling && !j->draining &&
	       j->state != JOB_STATE_ENDING && !near_end(p, j, now);
}

static int state_in_queue(enum job_state st)
{
	return st == JOB_STATE_QUEUED || st == JOB_STATE_HELD ||
	       st == JOB_STATE_UNKNOWN;
}

static int in_queue(const struct pool_job *j)
{
	return state_in_queue(j->state);
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
		copy_text(p->waiting, sizeof(p->waiting),
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
	if (in_queue(j) || j->state == JOB_STATE_STARTING)
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
				copy_text(j->reason, sizeof(j->reason),
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
		if (!is_live(j) || j->cancelling)
			continue;
		/* Walltime: drain before the end, so no task is killed. */
		if (!j->head && !j->draining && j->deadline > 0 &&
		    now >= drain_time(p, j)) {
			j->draining = 1;
			copy_text(j->reason, sizeof(j->reason),
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
			waiting += in_queue(j);
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
		copy_text(j->reason, sizeof(j->reason), "being submitted");
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
		copy_text(j->id, sizeof(j->id), id);
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

static void remove_at(struct pool *p, size_t i)
{
	memmove(&p->jobs[i], &p->jobs[i + 1],
		(p->njobs - i - 1) * sizeof(*p->jobs));
	p->njobs--;
}

static void remove_seq(struct pool *p, uint64_t seq)
{
	struct pool_job *j = pool_find_seq(p, seq);

	if (j)
		remove_at(p, (size_t)(j - p->jobs));
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
				copy_text(j->reason, sizeof(j->reason),
					  "submission unanswered: looking for "
					  "it by name");
			}
		} else {
			remove_seq(p, first_seq + k);
		}
	}
	p->in_flight = 0;
	copy_text(p->last_error, sizeof(p->last_error), message);
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

static void prune_ended(struct pool *p)
{
	size_t ended = 0;

	for (size_t i = 0; i < p->njobs; i++)
		ended += !is_live(&p->jobs[i]);
	for (size_t i = 0; i < p->njobs && ended > POOL_KEEP_ENDED;) {
		if (!is_live(&p->jobs[i])) {
			remove_at(p, i);
			ended--;
		} else {
			i++;
		}
	}
}

static void job_ended(struct pool *p, struct pool_job *j, enum job_end end,
		      const char *reason, double now)
{
	if (!is_live(j))
		return;
	j->state = JOB_STATE_ENDED;
	j->end = end;
	j->ended = now;
	j->joined = j->busy = 0;
	if (reason && *reason)
		copy_text(j->reason, sizeof(j->reason), reason);
	else if (end == JOB_END_CANCELLED && !j->cancelling)
		copy_text(j->reason, sizeof(j->reason),
			  "cancelled outside the pool");
	else if (end == JOB_END_WALLTIME)
		copy_text(j->reason, sizeof(j->reason), "reached its walltime");
	else
		j->reason[0] = '\0';
	p->ended++;
	if (!j->cancelling && !j->head)
		p->replaced_ended++;
	p->limit_wait = 0;
	/* A job that never brought a worker: once is bad luck, several in a
	 * row is a profile the site runs but the workers cannot start in. */
	if (!j->ever_joined && !j->cancelling && !j->head &&
	    end != JOB_END_WALLTIME && end != JOB_END_PREEMPTED &&
	    ++p->nojoin >= p->prm.max_nojoin && !p->paused) {
		p->paused = 1;
		snprintf(p->pause_reason, sizeof(p->pause_reason),
			 "%u jobs in a row ended before any worker joined%s%.160s",
			 p->nojoin, j->reason[0] ? "; the last: " : "",
			 j->reason);
	}
}

static void apply_seen(struct pool *p, struct pool_job *j,
		       const struct pool_seen *s, double now)
{
	j->unlisted_since = 0;
	j->history_asked = 0;
	if (s->raw)
		copy_text(j->raw, sizeof(j->raw), s->raw);
	if (s->started > 0)
		j->started = s->started;
	if (s->deadline > 0)
		j->deadline = s->deadline;
	if (s->state == JOB_STATE_UNKNOWN || !is_live(j))
		return;		/* unknown or transitional code: keep ours */
	if (s->state == JOB_STATE_ENDED) {
		job_ended(p, j, s->end, s->reason, now);
		return;
	}
	/* Workers' joins and losses are fresher than a listing; a listing
	 * that still says queued does not undo a join. */
	if (!(state_in_queue(s->state) && j->joined > 0 &&
	      j->state == JOB_STATE_RUNNING))
		j->state = s->state;
	if (s->reason)
		copy_text(j->reason, sizeof(j->reason), s->reason);
	else if (!j->draining)
		j->reason[0] = '\0';
	if (j->state == JOB_STATE_RUNNING && !j->started)
		j->started = now;
	if (j->started > 0 && j->deadline <= 0 && p->prm.walltime > 0)
		j->deadline = j->started + p->prm.walltime;
}

struct key {
	const char *id;
	int64_t index;
	size_t at;
};

static int key_cmp(const void *x, const void *y)
{
	const struct key *a = x, *b = y;
	int c = strcmp(a->id, b->id);

	if (c)
		return c;
	return (a->index > b->index) - (a->index < b->index);
}

/* A sorted index of the jobs with a batch id. */
static struct key *index_jobs(struct pool *p, size_t *n)
{
	struct key *keys = malloc((p->njobs ? p->njobs : 1) * sizeof(*keys));

	*n = 0;
	if (!keys)
		return NULL;
	for (size_t i = 0; i < p->njobs; i++)
		if (p->jobs[i].id[0])
			keys[(*n)++] = (struct key){ p->jobs[i].id,
						     p->jobs[i].index, i };
	qsort(keys, *n, sizeof(*keys), key_cmp);
	return keys;
}

static struct pool_job *lookup(struct pool *p, const struct key *keys,
			       size_t nkeys, const struct pool_seen *s)
{
	struct key k = { s->id, s->index, 0 };
	const struct key *hit;

	if (!s->id || !keys)
		return NULL;
	hit = bsearch(&k, keys, nkeys, sizeof(*keys), key_cmp);
	return hit ? &p->jobs[hit->at] : NULL;
}

void pool_observe(struct pool *p, const struct pool_seen *seen, size_t n,
		  const char *(*name_of)(void *arg, uint64_t seq), void *arg,
		  double now)
{
	size_t nkeys;
	struct key *keys = index_jobs(p, &nkeys);
	unsigned char *listed = calloc(p->njobs ? p->njobs : 1, 1);

	if (!keys || !listed)
		goto out;	/* nothing changes; the next poll tries again */
	for (size_t i = 0; i < n; i++) {
		struct pool_job *j = lookup(p, keys, nkeys, &seen[i]);
		if (!j && seen[i].name && name_of) {
			/* An unanswered submission found by its name. */
			for (size_t k = 0; k < p->njobs; k++) {
				struct pool_job *u = &p->jobs[k];
				const char *nm;
				if (!u->uncertain || u->id[0])
					continue;
				nm = name_of(arg, u->seq);
				if (nm && !strcmp(nm, seen[i].name)) {
					copy_text(u->id, sizeof(u->id),
						  seen[i].id);
					u->index = seen[i].index;
					u->uncertain = 0;
					j = u;
					break;
				}
			}
		}
		if (!j)
			continue;	/* not one of ours */
		listed[j - p->jobs] = 1;
		apply_seen(p, j, &seen[i], now);
	}
	/* Uncertain submissions the listing did not show were not made. */
	for (size_t i = p->njobs; i-- > 0;) {
		struct pool_job *j = &p->jobs[i];
		if (j->uncertain && !listed[i]) {
			remove_at(p, i);
			memmove(&listed[i], &listed[i + 1], p->njobs - i);
		}
	}
	for (size_t i = 0; i < p->njobs; i++) {
		struct pool_job *j = &p->jobs[i];
		if (is_live(j) && !j->head && j->id[0] && !listed[i] &&
		    !j->unlisted_since)
			j->unlisted_since = now;
	}
	prune_ended(p);
out:
	free(keys);
	free(listed);
}

size_t pool_history_due(struct pool *p, uint64_t *seqs, size_t max,
			double now)
{
	size_t n = 0;

	for (size_t i = 0; i < p->njobs && n < max; i++) {
		struct pool_job *j = &p->jobs[i];
		if (is_live(j) && j->unlisted_since > 0 && !j->history_asked &&
		    now - j->submitted >= p->prm.missing_grace) {
			j->history_asked = 1;
			seqs[n++] = j->seq;
		}
	}
	return n;
}

void pool_history(struct pool *p, const uint64_t *asked, size_t nasked,
		  const struct pool_seen *seen, size_t n, double now)
{
	for (size_t a = 0; a < nasked; a++) {
		struct pool_job *j = pool_find_seq(p, asked[a]);
		const struct pool_seen *s = NULL;
		if (!j || !is_live(j))
			continue;
		for (size_t i = 0; i < n && !s; i++)
			if (seen[i].id && seen[i].index == j->index &&
			    !strcmp(seen[i].id, j->id))
				s = &seen[i];
		if (s)
			apply_seen(p, j, s, now);
		else
			job_ended(p, j, JOB_END_LOST,
				  "gone from the batch system's listing and "
				  "history", now);
	}
	prune_ended(p);
}

void pool_worker_joined(struct pool *p, const char *id, int64_t index,
			double now)
{
	struct pool_job *j = pool_find(p, id, index);

	if (!j || !is_live(j))
		return;
	j->joined++;
	j->ever_joined = 1;
	j->unlisted_since = 0;
	p->nojoin = 0;
	if (in_queue(j) || j->state == JOB_STATE_STARTING ||
	    j->state == JOB_STATE_ENDING) {
		j->state = JOB_STATE_RUNNING;
		if (!j->draining)
			j->reason[0] = '\0';
	}
	if (!j->started)
		j->started = now;
	if (j->deadline <= 0 && p->prm.walltime > 0)
		j->deadline = j->started + p->prm.walltime;
}

void pool_worker_left(struct pool *p, const char *id, int64_t index,
		      double now)
{
	struct pool_job *j = pool_find(p, id, index);

	(void)now;
	if (!j || !is_live(j))
		return;
	if (j->joined)
		j->joined--;
	if (j->busy > j->joined)
		j->busy = j->joined;
	/* All its workers gone: the job is ending whatever the next listing
	 * says, and its replacement need not wait for that listing. */
	if (!j->joined && !j->head && j->state == JOB_STATE_RUNNING &&
	    !j->cancelling && !j->draining) {
		j->state = JOB_STATE_ENDING;
		copy_text(j->reason, sizeof(j->reason), "its workers left");
	}
}

void pool_set_busy(struct pool *p, const char *id, int64_t index,
		   unsigned busy)
{
	struct pool_job *j = pool_find(p, id, index);

	if (j)
		j->busy = busy;
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
		if (!is_live(j))
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
}
