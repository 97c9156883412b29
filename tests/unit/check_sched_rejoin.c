/*
 * sched: runs kept across a scheduler restart.  A task restored as
 * running waits, unclaimed, for the worker that runs that very attempt;
 * every other claim is refused and changes nothing; a worker that claims
 * takes no new task until it is done claiming; what no worker claims goes
 * back to the queue without counting as a worker loss, and what the
 * journal recorded on a worker that rejoined without claiming it goes
 * back at once.  A worker that tells again of an end the journal had
 * changes nothing.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal/journal.h"
#include "sched/sched.h"
#include "util/strbuf.h"
#include "util/clock.h"

struct rec {
	worker_id_t w[64];
	task_id_t id[64];
	size_t n;
	task_id_t killed[64];
	size_t nkilled;
	task_id_t ended[64];
	size_t nended;
	unsigned queued;
};

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct rec *r = arg;

	if (r->n < 64) {
		r->w[r->n] = w;
		r->id[r->n++] = id;
	}
}

static void on_kill(void *arg, worker_id_t w, task_id_t id)
{
	struct rec *r = arg;

	(void)w;
	if (r->nkilled < 64)
		r->killed[r->nkilled++] = id;
}

static void on_ended(void *arg, task_id_t id)
{
	struct rec *r = arg;

	if (r->nended < 64)
		r->ended[r->nended++] = id;
}

static void on_queued(void *arg)
{
	struct rec *r = arg;

	r->queued++;
}

static struct rec rec;
static struct sched *s;
static char *const argv_true[] = { (char *)"/bin/true", NULL };

static void setup(void)
{
	struct sched_hooks h = { 0 };

	memset(&rec, 0, sizeof(rec));
	h.arg = &rec;
	h.assign = on_assign;
	h.kill = on_kill;
	h.ended = on_ended;
	h.queued = on_queued;
	s = sched_create(&h);
	ck_assert_ptr_nonnull(s);
}

static void teardown(void)
{
	sched_destroy(s);
}

static task_id_t submit(unsigned cores)
{
	struct task_spec sp = { 0 };
	struct err err = { "" };
	task_id_t first = 0;
	uint64_t count = 0;

	sp.argv = argv_true;
	sp.cores = cores;
	ck_assert_msg(sched_submit(s, &sp, &first, &count, &err) == 0, "%s",
		      err.text);
	return first;
}

static struct task_info info(task_id_t id)
{
	struct task_info ti;

	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	return ti;
}

static struct worker_info winfo(worker_id_t w)
{
	struct worker_info wi;

	ck_assert_int_eq(sched_worker(s, w, &wi), 0);
	return wi;
}

static size_t assignments(task_id_t id)
{
	size_t n = 0;

	for (size_t i = 0; i < rec.n; i++)
		n += rec.id[i] == id;
	return n;
}

static void restore(task_id_t id, unsigned attempt)
{
	ck_assert_int_eq(sched_restore_running(s, id, attempt), 0);
}

/* The worker kept the ends it sent lately and claims them after the
 * restart: the one the journal had is refused and its report changes
 * nothing; the one restored as running is claimed and its report ends
 * it; nothing recorded on the worker is requeued. */
START_TEST(repeated_end_changes_nothing)
{
	task_id_t done = submit(1), run = submit(1);
	struct sched_end e = { .state = TASK_DONE, .runtime = 2.0,
			       .end_time = 500, .attempts = 1 };

	ck_assert_int_eq(sched_restore_end(s, done, &e), 0);
	ck_assert_int_eq(sched_restore_running_on(s, run, 1, "w"), 0);
	rec.nended = 0;

	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	sched_worker_claiming(s, w, 1);
	ck_assert_int_eq(sched_worker_claim(s, w, done, 1, 2.0), 0);
	ck_assert_int_eq(sched_worker_claim(s, w, run, 1, 3.0), 1);
	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, "w"), 0);
	sched_worker_claiming(s, w, 0);

	struct task_result again = { .exit_code = 9, .runtime = 4.0 };
	sched_task_finished(s, done, w, &again);
	struct task_result ok = { .exit_code = 0, .runtime = 3.5 };
	sched_task_finished(s, run, w, &ok);

	struct task_info ti = info(done);
	ck_assert_int_eq(ti.state, TASK_DONE);
	ck_assert_int_eq(ti.exit_code, 0);
	ck_assert_double_eq(ti.runtime, 2.0);
	ck_assert_double_eq(ti.end_time, 500);
	ti = info(run);
	ck_assert_int_eq(ti.state, TASK_DONE);
	ck_assert_double_eq(ti.runtime, 3.5);
	ck_assert_uint_eq(ti.attempts, 1);
	ck_assert_uint_eq(ti.worker_losses, 0);
	ck_assert_uint_eq(rec.nended, 1);
	ck_assert_uint_eq(rec.ended[0], run);
	ck_assert_uint_eq(rec.nkilled, 0);
	ck_assert_uint_eq(rec.n, 0);		/* nothing run again */
	ck_assert_uint_eq(winfo(w).cores_used, 0);
	ck_assert_uint_eq(sched_unclaimed(s), 0);
}
END_TEST

START_TEST(restored_task_waits_unclaimed)
{
	task_id_t t = submit(1), other = submit(1);
	struct task_info ti;

	restore(t, 2);
	ti = info(t);
	ck_assert_int_eq(ti.state, TASK_RUNNING);
	ck_assert_int_eq(ti.worker, -1);
	ck_assert_uint_eq(ti.attempts, 2);
	ck_assert_uint_eq(sched_unclaimed(s), 1);
	ck_assert(!sched_idle(s));

	/* A worker that joins is given the other task, never this one. */
	worker_id_t w = sched_worker_add(s, "w", 4, 0);
	sched_dispatch(s);
	ck_assert_uint_eq(assignments(t), 0);
	ck_assert_uint_eq(assignments(other), 1);
	ck_assert_int_eq(info(t).worker, -1);
	ck_assert_uint_eq(winfo(w).cores_used, 1);

	/* What cannot be restored says why, and changes nothing. */
	errno = 0;
	ck_assert_int_eq(sched_restore_running(s, 99, 1), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(sched_restore_running(s, 0, 1), -1);
	ck_assert_int_eq(errno, ENOENT);
	task_id_t fresh = submit(1);
	ck_assert_int_eq(sched_restore_running(s, fresh, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sched_restore_running(s, t, 2), -1);
	ck_assert_int_eq(errno, EINVAL);	/* already running */
	ck_assert_int_eq(sched_restore_running(s, other, 1), -1);
	ck_assert_int_eq(errno, EINVAL);	/* running on w */
	ck_assert_int_eq(info(fresh).state, TASK_QUEUED);
	ck_assert_uint_eq(sched_unclaimed(s), 1);
}
END_TEST

START_TEST(claim_takes_the_run_back)
{
	task_id_t t = submit(2);
	struct task_info ti;
	double now = clock_wall();

	restore(t, 3);
	worker_id_t w = sched_worker_add(s, "w", 4, 0);
	sched_worker_claiming(s, w, 1);
	ck_assert_int_eq(sched_worker_claim(s, w, t, 3, 5.0), 1);
	ti = info(t);
	ck_assert_int_eq(ti.state, TASK_RUNNING);
	ck_assert_int_eq(ti.worker, w);
	ck_assert_uint_eq(ti.attempts, 3);	/* the same run, not a new one */
	ck_assert(ti.start_time > now - 6 && ti.start_time < now - 4);
	ck_assert_uint_eq(winfo(w).cores_used, 2);
	ck_assert_uint_eq(winfo(w).running, 1);
	ck_assert_uint_eq(sched_unclaimed(s), 0);

	/* A second claim of the same run by the same worker is harmless. */
	ck_assert_int_eq(sched_worker_claim(s, w, t, 3, 5.0), 1);
	ck_assert_uint_eq(winfo(w).cores_used, 2);
	sched_worker_claiming(s, w, 0);
	ck_assert_uint_eq(rec.n, 0);		/* no RUN for a kept run */

	/* Its report is that attempt's end. */
	struct task_result res = { .exit_code = 0, .runtime = 7.5 };
	sched_task_finished(s, t, w, &res);
	ti = info(t);
	ck_assert_int_eq(ti.state, TASK_DONE);
	ck_assert_uint_eq(ti.attempts, 3);
	ck_assert(ti.runtime == 7.5);
	ck_assert_uint_eq(winfo(w).cores_used, 0);
	ck_assert_uint_eq(winfo(w).done, 1);
	ck_assert_uint_eq(rec.nended, 1);
	ck_assert_uint_eq(rec.ended[0], t);
}
END_TEST

/* A run that ended while the scheduler was away: claimed, then its
 * report (a failure here) decides that attempt as any report would. */
START_TEST(ended_while_away_counts_as_that_attempt)
{
	struct task_spec sp = { 0 };
	struct err err = { "" };
	task_id_t t;
	uint64_t count;

	sp.argv = argv_true;
	sp.cores = 1;
	sp.retries = 1;
	ck_assert_int_eq(sched_submit(s, &sp, &t, &count, &err), 0);
	restore(t, 1);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	sched_worker_claiming(s, w, 1);
	ck_assert_int_eq(sched_worker_claim(s, w, t, 1, 3.0), 1);
	struct task_result res = { .exit_code = 3, .runtime = 3.0 };
	sched_task_finished(s, t, w, &res);
	struct task_info ti = info(t);
	ck_assert_int_eq(ti.state, TASK_QUEUED);	/* its one retry */
	ck_assert_uint_eq(ti.failures, 1);
	ck_assert_uint_eq(ti.worker_losses, 0);
	ck_assert_str_eq(ti.reason, "exit code 3");
	sched_worker_claiming(s, w, 0);
	sched_dispatch(s);
	ck_assert_uint_eq(assignments(t), 1);
	ck_assert_uint_eq(info(t).attempts, 2);
	res.exit_code = 0;
	sched_task_finished(s, t, w, &res);
	ck_assert_int_eq(info(t).state, TASK_DONE);
}
END_TEST

START_TEST(other_claims_are_refused_and_change_nothing)
{
	task_id_t t = submit(1), big = submit(3), done = submit(1);
	task_id_t queued = submit(1);
	worker_id_t a = sched_worker_add(s, "a", 2, 0);

	/* `done` runs on a and ends; `queued` waits behind a drain. */
	sched_dispatch(s);
	struct task_result ok = { 0 };
	for (size_t i = 0; i < rec.n; i++)
		if (rec.id[i] == done)
			sched_task_finished(s, done, a, &ok);
	ck_assert_int_eq(info(done).state, TASK_DONE);
	sched_worker_drain(s, a);
	sched_worker_lost(s, a);
	ck_assert_int_eq(info(t).state, TASK_QUEUED);
	restore(t, 2);
	restore(big, 1);

	worker_id_t w = sched_worker_add(s, "w", 2, 0);
	sched_worker_claiming(s, w, 1);
	ck_assert_int_eq(sched_worker_claim(s, w, t, 1, 1.0), 0);  /* attempt */
	ck_assert_int_eq(sched_worker_claim(s, w, t, 3, 1.0), 0);
	ck_assert_int_eq(sched_worker_claim(s, w, 1000, 1, 1.0), 0); /* unknown */
	ck_assert_int_eq(sched_worker_claim(s, w, 0, 1, 1.0), 0);
	ck_assert_int_eq(sched_worker_claim(s, w, done, 1, 1.0), 0); /* ended */
	ck_assert_int_eq(sched_worker_claim(s, w, queued, 1, 1.0), 0);
	ck_assert_int_eq(sched_worker_claim(s, w, big, 1, 1.0), 0); /* too big */
	ck_assert_int_eq(sched_worker_claim(s, 77, t, 2, 1.0), 0); /* no worker */
	ck_assert_int_eq(info(t).worker, -1);
	ck_assert_int_eq(info(big).worker, -1);
	ck_assert_int_eq(info(queued).state, TASK_QUEUED);
	ck_assert_int_eq(info(done).state, TASK_DONE);
	ck_assert_uint_eq(winfo(w).cores_used, 0);
	ck_assert_uint_eq(sched_unclaimed(s), 2);

	/* Taken by one worker, refused to the next; a lost worker claims
	 * nothing. */
	ck_assert_int_eq(sched_worker_claim(s, w, t, 2, 1.0), 1);
	worker_id_t x = sched_worker_add(s, "x", 8, 0);
	ck_assert_int_eq(sched_worker_claim(s, x, t, 2, 1.0), 0);
	ck_assert_int_eq(info(t).worker, w);
	sched_worker_lost(s, x);
	ck_assert_int_eq(sched_worker_claim(s, x, big, 1, 1.0), 0);
	ck_assert_uint_eq(sched_unclaimed(s), 1);
	ck_assert_uint_eq(rec.nkilled, 0);	/* refusals are the caller's */
}
END_TEST

START_TEST(claiming_worker_takes_no_new_task)
{
	task_id_t kept = submit(1), next = submit(1);
	struct task_info ti;

	sched_set_prefetch(s, 2);
	restore(kept, 1);
	worker_id_t w = sched_worker_add(s, "w", 2, 0);
	sched_worker_claiming(s, w, 1);
	sched_dispatch(s);
	ck_assert_uint_eq(rec.n, 0);		/* not even into prefetch */
	ck_assert_int_eq(sched_worker_claim(s, w, kept, 1, 0.5), 1);
	sched_dispatch(s);
	ck_assert_uint_eq(rec.n, 0);
	sched_worker_claiming(s, w, 0);
	sched_dispatch(s);
	ck_assert_uint_eq(assignments(next), 1);
	ti = info(next);
	ck_assert_int_eq(ti.worker, w);
	ck_assert_uint_eq(winfo(w).cores_used, 2);
	ck_assert_uint_eq(winfo(w).running, 2);

	/* A task that fits no other worker waits for the claiming one. */
	sched_set_prefetch(s, 0);
	task_id_t wide = submit(2);
	worker_id_t v = sched_worker_add(s, "v", 2, 0);
	sched_worker_claiming(s, v, 1);
	sched_dispatch(s);
	ck_assert_uint_eq(assignments(wide), 0);
	sched_worker_claiming(s, v, 0);
	sched_dispatch(s);
	ck_assert_uint_eq(assignments(wide), 1);
	ck_assert_int_eq(info(wide).worker, v);
}
END_TEST

START_TEST(unclaimed_runs_are_requeued_without_a_loss)
{
	task_id_t a = submit(1), b = submit(1);
	struct sched_counts c;

	restore(a, 1);
	restore(b, 4);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	sched_worker_claiming(s, w, 1);
	ck_assert_int_eq(sched_worker_claim(s, w, a, 1, 2.0), 1);
	sched_worker_claiming(s, w, 0);
	ck_assert_uint_eq(sched_unclaimed(s), 1);
	unsigned queued = rec.queued;

	ck_assert_uint_eq(sched_requeue_unclaimed(s), 1);
	ck_assert_uint_eq(sched_unclaimed(s), 0);
	ck_assert_uint_gt(rec.queued, queued);	/* time for a dispatch */
	struct task_info ti = info(b);
	ck_assert_int_eq(ti.state, TASK_QUEUED);
	ck_assert_uint_eq(ti.worker_losses, 0);
	ck_assert_uint_eq(ti.failures, 0);
	ck_assert_ptr_nonnull(strstr(ti.reason, "no worker claimed"));
	sched_counts(s, &c);
	ck_assert_uint_eq(c.lost, 0);
	ck_assert_uint_eq(c.retried, 1);
	ck_assert_int_eq(info(a).worker, w);	/* the claimed one stays */

	/* A late claim of the old run is refused; the next run is a new
	 * attempt. */
	worker_id_t late = sched_worker_add(s, "late", 4, 0);
	ck_assert_int_eq(sched_worker_claim(s, late, b, 4, 30.0), 0);
	sched_dispatch(s);
	ck_assert_uint_eq(assignments(b), 1);
	ck_assert_uint_eq(info(b).attempts, 5);
	ck_assert_uint_eq(sched_requeue_unclaimed(s), 0);
}
END_TEST

START_TEST(cancelled_while_unclaimed)
{
	task_id_t a = submit(1), b = submit(1), c = submit(1);
	struct err err = { "" };

	restore(a, 1);
	restore(b, 1);
	restore(c, 1);
	ck_assert_int_eq(sched_cancel(s, a, &err), 0);
	ck_assert_int_eq(info(a).state, TASK_CANCELLED);
	ck_assert_uint_eq(rec.nkilled, 0);	/* no worker to tell */
	ck_assert_uint_eq(sched_unclaimed(s), 2);
	ck_assert_int_eq(sched_cancel_range(s, b, c, &err), 2);
	ck_assert_uint_eq(sched_unclaimed(s), 0);
	ck_assert_int_eq(info(c).state, TASK_CANCELLED);

	worker_id_t w = sched_worker_add(s, "w", 4, 0);
	ck_assert_int_eq(sched_worker_claim(s, w, a, 1, 1.0), 0);
	ck_assert_uint_eq(sched_requeue_unclaimed(s), 0);
	ck_assert_int_eq(info(b).state, TASK_CANCELLED);
	ck_assert(sched_idle(s));
}
END_TEST

/* With the scheduler still running, a worker whose link dropped has its
 * runs requeued at once, as before; when it comes back as a new worker
 * its claims are refused. */
START_TEST(lost_worker_claims_are_refused)
{
	task_id_t t = submit(1);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);

	sched_dispatch(s);
	ck_assert_uint_eq(assignments(t), 1);
	sched_worker_lost(s, w);
	ck_assert_int_eq(info(t).state, TASK_QUEUED);
	ck_assert_uint_eq(info(t).worker_losses, 1);

	worker_id_t again = sched_worker_add(s, "w", 1, 0);
	sched_worker_claiming(s, again, 1);
	ck_assert_int_eq(sched_worker_claim(s, again, t, 1, 1.0), 0);
	ck_assert_int_eq(info(t).state, TASK_QUEUED);
	sched_worker_claiming(s, again, 0);
	sched_dispatch(s);
	ck_assert_int_eq(info(t).worker, again);
	ck_assert_uint_eq(info(t).attempts, 2);
	/* the old run's claim, now that attempt 2 runs here, is still no */
	ck_assert_int_eq(sched_worker_claim(s, again, t, 1, 1.0), 0);
}
END_TEST

/* The journal names each run's worker.  Once that worker has rejoined
 * and made its claims, what was recorded on it and not claimed (tasks it
 * held unstarted and dropped) goes back at once, attempt kept, no loss;
 * the runs of workers not back yet still wait. */
START_TEST(rejoined_worker_returns_what_it_did_not_claim)
{
	task_id_t a = submit(1), b = submit(1), c = submit(1), d = submit(1);
	struct sched_counts sc;

	ck_assert_int_eq(sched_restore_running_on(s, a, 1, "w1"), 0);
	ck_assert_int_eq(sched_restore_running_on(s, b, 2, "w1"), 0);
	ck_assert_int_eq(sched_restore_running_on(s, c, 1, "w2"), 0);
	ck_assert_int_eq(sched_restore_running_on(s, d, 1, NULL), 0);
	ck_assert_uint_eq(sched_unclaimed(s), 4);
	/* a name no run was recorded on, and no name: nothing to return */
	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, "w3"), 0);
	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, ""), 0);
	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, NULL), 0);
	ck_assert_uint_eq(sched_unclaimed(s), 4);

	worker_id_t w = sched_worker_add(s, "w1", 1, 0);
	sched_worker_claiming(s, w, 1);
	ck_assert_int_eq(sched_worker_claim(s, w, a, 1, 3.0), 1);
	unsigned queued = rec.queued;
	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, "w1"), 1);
	ck_assert_uint_gt(rec.queued, queued);	/* time for a dispatch */
	struct task_info ti = info(b);
	ck_assert_int_eq(ti.state, TASK_QUEUED);
	ck_assert_uint_eq(ti.attempts, 2);
	ck_assert_uint_eq(ti.worker_losses, 0);
	ck_assert_uint_eq(ti.failures, 0);
	ck_assert_ptr_nonnull(strstr(ti.reason, "its worker 'w1' rejoined"));
	ck_assert_int_eq(info(a).worker, w);	/* the claimed one stays */
	ck_assert_int_eq(info(c).state, TASK_RUNNING);	/* w2 not back */
	ck_assert_int_eq(info(d).state, TASK_RUNNING);
	ck_assert_uint_eq(sched_unclaimed(s), 2);
	sched_counts(s, &sc);
	ck_assert_uint_eq(sc.lost, 0);
	ck_assert_uint_eq(sc.retried, 1);
	/* asked again (the same name joins twice): nothing more */
	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, "w1"), 0);

	/* the returned task runs again, as the next attempt, once a core
	 * is free */
	sched_worker_claiming(s, w, 0);
	struct task_result res = { .exit_code = 0, .runtime = 4 };
	sched_task_finished(s, a, w, &res);
	sched_dispatch(s);
	ck_assert_uint_eq(assignments(b), 1);
	ck_assert_int_eq(info(b).worker, w);
	ck_assert_uint_eq(info(b).attempts, 3);

	/* a late claim of the returned run is refused */
	worker_id_t v = sched_worker_add(s, "w2", 2, 0);
	ck_assert_int_eq(sched_worker_claim(s, v, b, 2, 9.0), 0);
	ck_assert_int_eq(sched_worker_claim(s, v, c, 1, 9.0), 1);
	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, "w2"), 0);
	ck_assert_uint_eq(sched_unclaimed(s), 1);
	/* the grace takes the one no named worker had */
	ck_assert_uint_eq(sched_requeue_unclaimed(s), 1);
	ck_assert_int_eq(info(d).state, TASK_QUEUED);
	ck_assert_uint_eq(sched_unclaimed(s), 0);
}
END_TEST

/* What a named worker's return skips: tasks cancelled, claimed by
 * another worker, or requeued by the grace since. */
START_TEST(return_skips_what_changed_since)
{
	task_id_t a = submit(1), b = submit(1), c = submit(1), d = submit(1);
	struct err err = { "" };

	ck_assert_int_eq(sched_restore_running_on(s, a, 1, "w1"), 0);
	ck_assert_int_eq(sched_restore_running_on(s, b, 1, "w1"), 0);
	ck_assert_int_eq(sched_restore_running_on(s, c, 1, "w1"), 0);
	ck_assert_int_eq(sched_restore_running_on(s, d, 1, "w2"), 0);
	ck_assert_int_eq(sched_cancel(s, a, &err), 0);
	worker_id_t v = sched_worker_add(s, "other", 4, 0);
	ck_assert_int_eq(sched_worker_claim(s, v, b, 1, 1.0), 1);
	ck_assert_uint_eq(sched_unclaimed(s), 2);

	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, "w1"), 1);
	ck_assert_int_eq(info(a).state, TASK_CANCELLED);
	ck_assert_int_eq(info(b).worker, v);
	ck_assert_int_eq(info(c).state, TASK_QUEUED);
	ck_assert_uint_eq(sched_unclaimed(s), 1);

	ck_assert_uint_eq(sched_requeue_unclaimed(s), 1);
	ck_assert_int_eq(info(d).state, TASK_QUEUED);
	ck_assert_ptr_nonnull(strstr(info(d).reason, "no worker claimed"));
	/* after the grace, the worker that comes back has nothing left */
	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, "w2"), 0);
	ck_assert_uint_eq(sched_unclaimed(s), 0);
	ck_assert_int_eq(info(d).state, TASK_QUEUED);
}
END_TEST

/* A journal as the server writes it: each run recorded with its worker's
 * name. */
struct journaled {
	struct sched *s;
	struct journal *j;
};

static void journal_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct journaled *jd = arg;
	struct worker_info wi;

	ck_assert_int_eq(sched_worker(jd->s, w, &wi), 0);
	ck_assert_int_eq(journal_encode_run(journal_buffer(jd->j), jd->s, id,
					    wi.name), 0);
	strbuf_addch(journal_buffer(jd->j), '\n');
}

/* A table journalled into DIR/journal (path) with four tasks submitted,
 * their ids in ids[]; jd's table and journal stay open for the test. */
static void journal_four(struct journaled *jd, const struct sched_hooks *h,
			 char *dir, char *path, size_t size, task_id_t ids[4])
{
	struct err err = { "" };

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, size, "%s/journal", dir);
	jd->s = sched_create(h);
	jd->j = journal_open(path, &err);
	ck_assert_msg(jd->j != NULL, "%s", err.text);
	for (int k = 0; k < 4; k++) {
		struct task_spec sp = { .argv = argv_true, .cores = 1 };
		uint64_t n;
		ck_assert_int_eq(sched_submit(jd->s, &sp, &ids[k], &n, NULL), 0);
		json_t *r = journal_record_submit(jd->s, ids[k]);
		journal_append(jd->j, r);
		json_decref(r);
	}
}

/* Replay keeps the recorded worker of each run under way: the worker of
 * that name, back, returns what it does not claim. */
START_TEST(replay_keeps_the_recorded_worker)
{
	char dir[] = "/tmp/check_sched_rejoin.XXXXXX", path[64], cmd[96];
	struct journaled jd = { 0 };
	struct sched_hooks h = { .arg = &jd, .assign = journal_assign };
	struct journal_found f;
	struct err err = { "" };
	task_id_t ids[4];

	journal_four(&jd, &h, dir, path, sizeof(path), ids);
	sched_worker_add(jd.s, "alpha:1", 2, 0);
	sched_dispatch(jd.s);		/* 1, 2 on alpha */
	sched_worker_add(jd.s, "beta:2", 2, 0);
	sched_dispatch(jd.s);		/* 3, 4 on beta */
	ck_assert_int_eq(journal_write(jd.j, 1, &err), 0);
	journal_close(jd.j);
	sched_destroy(jd.s);

	ck_assert_msg(journal_replay(path, s, &f, &err) == 0, "%s", err.text);
	ck_assert_uint_eq(f.running, 4);
	ck_assert_uint_eq(sched_unclaimed(s), 4);
	worker_id_t w = sched_worker_add(s, "alpha:1", 2, 0);
	ck_assert_int_eq(sched_worker_claim(s, w, ids[1], 1, 1.0), 1);
	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, "alpha:1"), 1);
	ck_assert_int_eq(info(ids[0]).state, TASK_QUEUED);
	ck_assert_uint_eq(info(ids[0]).attempts, 1);
	ck_assert_int_eq(info(ids[2]).state, TASK_RUNNING);
	ck_assert_int_eq(info(ids[3]).state, TASK_RUNNING);
	ck_assert_uint_eq(sched_unclaimed(s), 2);
	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, "beta:2"), 2);
	ck_assert_uint_eq(sched_unclaimed(s), 0);
	journal_found_release(&f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A range of runs on workers in turn ("workers" and "on") restores each
 * run with its own worker. */
START_TEST(replay_keeps_each_worker_of_a_range)
{
	char dir[] = "/tmp/check_sched_rejoin.XXXXXX", path[64], cmd[96];
	struct journaled jd = { 0 };
	struct sched_hooks h = { .arg = &jd };
	struct journal_found f;
	struct err err = { "" };
	task_id_t ids[4];

	journal_four(&jd, &h, dir, path, sizeof(path), ids);
	strbuf_addf(journal_buffer(jd.j), "{\"ev\":\"run\",\"t\":1.5,"
		    "\"id\":%llu,\"last\":%llu,\"attempt\":1,"
		    "\"workers\":[\"alpha:1\",\"beta:2\"],\"on\":[0,1,0,1]}\n",
		    (unsigned long long)ids[0], (unsigned long long)ids[3]);
	ck_assert_int_eq(journal_write(jd.j, 1, &err), 0);
	journal_close(jd.j);
	sched_destroy(jd.s);

	ck_assert_msg(journal_replay(path, s, &f, &err) == 0, "%s", err.text);
	ck_assert_uint_eq(sched_unclaimed(s), 4);
	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, "alpha:1"), 2);
	ck_assert_int_eq(info(ids[0]).state, TASK_QUEUED);
	ck_assert_int_eq(info(ids[1]).state, TASK_RUNNING);
	ck_assert_int_eq(info(ids[2]).state, TASK_QUEUED);
	ck_assert_int_eq(info(ids[3]).state, TASK_RUNNING);
	ck_assert_uint_eq(sched_requeue_unclaimed_of(s, "beta:2"), 2);
	journal_found_release(&f);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *rejoin_suite(void)
{
	Suite *su = suite_create("sched_rejoin");
	TCase *tc = tcase_create("rejoin");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, restored_task_waits_unclaimed);
	tcase_add_test(tc, claim_takes_the_run_back);
	tcase_add_test(tc, ended_while_away_counts_as_that_attempt);
	tcase_add_test(tc, other_claims_are_refused_and_change_nothing);
	tcase_add_test(tc, claiming_worker_takes_no_new_task);
	tcase_add_test(tc, unclaimed_runs_are_requeued_without_a_loss);
	tcase_add_test(tc, cancelled_while_unclaimed);
	tcase_add_test(tc, lost_worker_claims_are_refused);
	tcase_add_test(tc, rejoined_worker_returns_what_it_did_not_claim);
	tcase_add_test(tc, return_skips_what_changed_since);
	tcase_add_test(tc, replay_keeps_the_recorded_worker);
	tcase_add_test(tc, replay_keeps_each_worker_of_a_range);
	tcase_add_test(tc, repeated_end_changes_nothing);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(rejoin_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
