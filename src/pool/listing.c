/*
 * pool: what the pool learns about its jobs from outside.  A listing of
 * the batch system's queue, its history for a job the listing lost, and
 * workers joining, leaving and busy: each updates jobs of the table
 * (table.h) for the next reconcile in pool.c to act on.
 *
 * Listings are matched against the table through a sorted index built per
 * call, so a poll over thousands of jobs costs n log n, not n squared; so
 * are the names of unanswered submissions.  A name can be listed twice:
 * Slurm lists ended jobs for MinJobAge (an hour at some sites), and an
 * earlier scheduler of the same cluster may have used it.  The job in the
 * queue, and the newest, is ours; a job ended long before we submitted
 * never is.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/table.h"

static void prune_ended(struct pool *p)
{
	size_t ended = 0;

	for (size_t i = 0; i < p->njobs; i++)
		ended += !pool_job_is_live(&p->jobs[i]);
	for (size_t i = 0; i < p->njobs && ended > POOL_KEEP_ENDED;) {
		if (!pool_job_is_live(&p->jobs[i])) {
			pool_remove_at(p, i);
			ended--;
		} else {
			i++;
		}
	}
}

static void job_ended(struct pool *p, struct pool_job *j, enum job_end end,
		      const char *reason, double now)
{
	if (!pool_job_is_live(j))
		return;
	j->state = JOB_STATE_ENDED;
	j->end = end;
	j->ended = now;
	j->joined = j->busy = 0;
	if (reason && *reason)
		pool_copy_text(j->reason, sizeof(j->reason), reason);
	else if (end == JOB_END_CANCELLED && !j->cancelling)
		pool_copy_text(j->reason, sizeof(j->reason),
			       "cancelled outside the pool");
	else if (end == JOB_END_WALLTIME)
		pool_copy_text(j->reason, sizeof(j->reason), "reached its walltime");
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
		pool_copy_text(j->raw, sizeof(j->raw), s->raw);
	if (s->started > 0)
		j->started = s->started;
	if (s->deadline > 0)
		j->deadline = s->deadline;
	if (s->state == JOB_STATE_UNKNOWN || !pool_job_is_live(j))
		return;		/* unknown or transitional code: keep ours */
	if (s->state == JOB_STATE_ENDED) {
		job_ended(p, j, s->end, s->reason, now);
		return;
	}
	/* Workers' joins and losses are fresher than a listing; a listing
	 * that still says queued does not undo a join. */
	if (!(pool_state_in_queue(s->state) && j->joined > 0 &&
				  j->state == JOB_STATE_RUNNING))
		j->state = s->state;
	if (s->reason)
		pool_copy_text(j->reason, sizeof(j->reason), s->reason);
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

/* --- unanswered submissions found by name ---------------------------------- */

struct named {
	const char *name;		/* name_of(seq), owned here */
	uint64_t seq;
};

static int named_cmp(const void *x, const void *y)
{
	return strcmp(((const struct named *)x)->name,
		      ((const struct named *)y)->name);
}

/* Whether listing line `s` is a better match for uncertain job `u` than
 * `best` (NULL: none yet). */
static int better(const struct pool_job *u, const struct pool_seen *s,
		  const struct pool_seen *best)
{
	int live = s->state != JOB_STATE_ENDED;

	if (s->submitted > 0 && u->submitted > 0 &&
	    s->submitted < u->submitted - POOL_NAME_SKEW)
		return 0;	/* an earlier job of the same name */
	if (!best)
		return 1;
	if (live != (best->state != JOB_STATE_ENDED))
		return live;
	return s->submitted > best->submitted;
}

/* For each uncertain job (table position), the listing line that is its
 * job, or SIZE_MAX.  A line of index k > 0 carries the name of its
 * array's first job, k seqs before its own; a table of the uncertain
 * jobs' names sorted once keeps this n log n. */
static void match_names(struct pool *p, const struct pool_seen *seen, size_t n,
			const unsigned char *taken,
			const char *(*name_of)(void *arg, uint64_t seq), void *arg,
			size_t *best)
{
	struct named *names = calloc(p->njobs ? p->njobs : 1, sizeof(*names));
	size_t nn = 0;

	if (!names)
		return;
	for (size_t k = 0; k < p->njobs; k++) {
		const struct pool_job *u = &p->jobs[k];
		const char *nm;
		if (!u->uncertain || u->id[0] || !(nm = name_of(arg, u->seq)))
			continue;
		names[nn].name = strdup(nm);
		names[nn].seq = u->seq;
		if (names[nn].name)
			nn++;
	}
	qsort(names, nn, sizeof(*names), named_cmp);
	for (size_t i = 0; nn && i < n; i++) {
		struct named key = { seen[i].name, 0 }, *hit;
		struct pool_job *u;
		uint64_t seq;
		if (taken[i] || !seen[i].name || !seen[i].id)
			continue;
		hit = bsearch(&key, names, nn, sizeof(*names), named_cmp);
		if (!hit)
			continue;
		seq = hit->seq + (seen[i].index > 0 ? (uint64_t)seen[i].index : 0);
		u = pool_find_seq(p, seq);
		if (!u || !u->uncertain || u->id[0])
			continue;
		size_t at = (size_t)(u - p->jobs);
		if (better(u, &seen[i], best[at] == SIZE_MAX ? NULL :
			   &seen[best[at]]))
			best[at] = i;
	}
	for (size_t k = 0; k < nn; k++)
		free((char *)names[k].name);
	free(names);
}

void pool_observe(struct pool *p, const struct pool_seen *seen, size_t n,
		  const char *(*name_of)(void *arg, uint64_t seq), void *arg,
		  double now)
{
	size_t nkeys;
	struct key *keys = index_jobs(p, &nkeys);
	unsigned char *listed = calloc(p->njobs ? p->njobs : 1, 1);
	unsigned char *taken = calloc(n ? n : 1, 1);
	size_t *best = NULL;

	if (!keys || !listed || !taken)
		goto out;	/* nothing changes; the next poll tries again */
	for (size_t i = 0; i < n; i++) {
		struct pool_job *j = lookup(p, keys, nkeys, &seen[i]);
		if (!j)
			continue;	/* not one of ours, or found by name */
		taken[i] = 1;
		listed[j - p->jobs] = 1;
		apply_seen(p, j, &seen[i], now);
	}
	/* Unanswered submissions found by their name. */
	if (name_of && (best = malloc((p->njobs ? p->njobs : 1) *
				      sizeof(*best)))) {
		for (size_t k = 0; k < p->njobs; k++)
			best[k] = SIZE_MAX;
		match_names(p, seen, n, taken, name_of, arg, best);
		for (size_t k = 0; k < p->njobs; k++) {
			struct pool_job *u = &p->jobs[k];
			const struct pool_seen *s;
			if (best[k] == SIZE_MAX)
				continue;
			s = &seen[best[k]];
			pool_copy_text(u->id, sizeof(u->id), s->id);
			u->index = s->index;
			u->uncertain = 0;
			listed[k] = 1;
			apply_seen(p, u, s, now);
		}
	}
	/* Uncertain submissions the listing did not show were not made. */
	for (size_t i = p->njobs; i-- > 0;) {
		struct pool_job *j = &p->jobs[i];
		if (j->uncertain && !listed[i]) {
			pool_remove_at(p, i);
			memmove(&listed[i], &listed[i + 1], p->njobs - i);
		}
	}
	for (size_t i = 0; i < p->njobs; i++) {
		struct pool_job *j = &p->jobs[i];
		if (pool_job_is_live(j) && !j->head && j->id[0] && !listed[i] &&
				     !j->unlisted_since)
			j->unlisted_since = now;
	}
	prune_ended(p);
out:
	free(keys);
	free(listed);
	free(taken);
	free(best);
}

size_t pool_history_due(struct pool *p, uint64_t *seqs, size_t max,
			double now)
{
	size_t n = 0;

	for (size_t i = 0; i < p->njobs && n < max; i++) {
		struct pool_job *j = &p->jobs[i];
		if (pool_job_is_live(j) && j->unlisted_since > 0 && !j->history_asked &&
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
		if (!j || !pool_job_is_live(j))
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

	if (!j || !pool_job_is_live(j))
		return;
	j->joined++;
	j->ever_joined = 1;
	j->unlisted_since = 0;
	p->nojoin = 0;
	if (pool_job_in_queue(j) || j->state == JOB_STATE_STARTING ||
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
	if (!j || !pool_job_is_live(j))
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
		pool_copy_text(j->reason, sizeof(j->reason), "its workers left");
	}
}

void pool_set_busy(struct pool *p, const char *id, int64_t index,
		   unsigned busy)
{
	struct pool_job *j = pool_find(p, id, index);

	if (j)
		j->busy = busy;
}
