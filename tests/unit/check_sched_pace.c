/*
 * sched: the prefetch depth.  The rule on its own (pace.h): unknown and
 * long runs get worker.prefetch, short ones a deeper queue, capped; one
 * long run makes a submission long at once.  Then in the table: a
 * worker of one slot running short tasks holds PACE_MAX_DEPTH of them,
 * long tasks spread over every worker and never queue deeper than
 * prefetch, behind short ones or long ones, short ones never queue deep
 * behind a long one, a worker stuck on a long one gets no deeper, and
 * deep queues stay even over many workers.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/pace.h"
#include "sched/sched.h"

/* --- the rule ------------------------------------------------------------- */

START_TEST(unknown_and_off)
{
	struct pace p = { 0 };

	ck_assert_uint_eq(pace_depth(&p, 1), 1);
	ck_assert_uint_eq(pace_depth(&p, 3), 3);
	pace_note(&p, 0, 1);
	ck_assert_uint_eq(pace_depth(&p, 0), 0);	/* off stays off */
	ck_assert_uint_eq(pace_depth(&p, 1), PACE_MAX_DEPTH);
}
END_TEST

START_TEST(depth_by_runtime)
{
	struct pace p = { 0 };

	pace_note(&p, PACE_BUDGET / 10, 1);
	ck_assert_uint_eq(pace_depth(&p, 1), 10);
	ck_assert_uint_eq(pace_depth(&p, 20), 20);	/* never below */
	p = (struct pace){ 0 };
	pace_note(&p, PACE_BUDGET / 2, 1);
	ck_assert_uint_eq(pace_depth(&p, 1), 2);
	p = (struct pace){ 0 };
	pace_note(&p, PACE_BUDGET * 0.9, 1);
	ck_assert_uint_eq(pace_depth(&p, 1), 2);
	p = (struct pace){ 0 };
	pace_note(&p, PACE_BUDGET, 1);			/* long: prefetch */
	ck_assert_uint_eq(pace_depth(&p, 1), 1);
	p = (struct pace){ 0 };
	pace_note(&p, PACE_BUDGET / 1000, 1);		/* capped */
	ck_assert_uint_eq(pace_depth(&p, 1), PACE_MAX_DEPTH);
	/* a prefetch set above the cap is kept */
	ck_assert_uint_eq(pace_depth(&p, PACE_MAX_DEPTH + 5),
			  PACE_MAX_DEPTH + 5);
}
END_TEST

START_TEST(long_at_once_short_slowly)
{
	struct pace p = { 0 };
	int n = 0;

	pace_note(&p, 0, 1);
	ck_assert_uint_eq(pace_depth(&p, 1), PACE_MAX_DEPTH);
	pace_note(&p, 30.0, 1);				/* one long run */
	ck_assert_uint_eq(pace_depth(&p, 1), 1);
	pace_note(&p, 0, 1);				/* one short: still long */
	ck_assert_uint_eq(pace_depth(&p, 1), 1);
	while (pace_depth(&p, 1) == 1 && n < 1000) {
		pace_note(&p, 0, 1);
		n++;
	}
	/* back to short only after a long run of short ones */
	ck_assert_int_gt(n, 50);
	ck_assert_int_lt(n, 1000);
}
END_TEST

START_TEST(failed_spawns_do_not_make_it_short)
{
	struct pace p = { 0 };

	pace_note(&p, 0, 0);			/* spawn failed: nothing known */
	ck_assert_uint_eq(pace_depth(&p, 1), 1);
	pace_note(&p, 5.0, 0);			/* killed at its limit: long */
	ck_assert_uint_eq(pace_depth(&p, 1), 1);
	for (int i = 0; i < 1000; i++)
		pace_note(&p, 0, 0);		/* never lowers */
	ck_assert_uint_eq(pace_depth(&p, 1), 1);
	ck_assert(p.runtime == 5.0);
	p = (struct pace){ 0 };
	pace_note(&p, -1, 1);			/* a bad report counts as 0 */
	ck_assert(p.runtime == 0);
	pace_note(&p, NAN, 1);
	ck_assert(p.runtime == 0);
}
END_TEST

/* --- in the table ------------------------------------------------------------ */

static unsigned nassigned;
static struct sched *s;
static char *const argv_true[] = { (char *)"/bin/true", NULL };

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	(void)arg;
	(void)w;
	(void)id;
	nassigned++;
}

static void setup(void)
{
	struct sched_hooks h = { 0 };

	nassigned = 0;
	h.assign = on_assign;
	s = sched_create(&h);
	ck_assert_ptr_nonnull(s);
}

static void teardown(void)
{
	sched_destroy(s);
}

static task_id_t submit_array(uint64_t n)
{
	struct task_spec sp = { 0 };
	struct err err = { "" };
	task_id_t first = 0;
	uint64_t count = 0;

	sp.argv = argv_true;
	sp.cores = 1;
	sp.is_array = 1;
	sp.array_first = 1;
	sp.array_last = (int64_t)n;
	ck_assert_msg(sched_submit(s, &sp, &first, &count, &err) == 0, "%s",
		      err.text);
	ck_assert_uint_eq(count, n);
	return first;
}

static struct worker_info worker_of(worker_id_t w)
{
	struct worker_info wi;

	ck_assert_int_eq(sched_worker(s, w, &wi), 0);
	return wi;
}

static struct task_info info_of(task_id_t id)
{
	struct task_info ti;

	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	return ti;
}

static void end_run(task_id_t id, double runtime)
{
	struct task_result res = { 0 };
	struct task_info ti = info_of(id);

	ck_assert_int_eq(ti.state, TASK_RUNNING);
	res.runtime = runtime;
	sched_task_finished(s, id, ti.worker, &res);
}

/* The task a worker runs now (started, not held). */
static task_id_t running_on(worker_id_t w)
{
	for (task_id_t id = sched_next(s, 0, 1u << TASK_RUNNING); id;
	     id = sched_next(s, id, 1u << TASK_RUNNING)) {
		struct task_info ti = info_of(id);
		if (ti.worker == w && ti.start_time > 0)
			return id;
	}
	return 0;
}

START_TEST(one_slot_holds_deep_for_short_tasks)
{
	sched_set_prefetch(s, 1);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t first = submit_array(1000);

	sched_dispatch(s);
	/* nothing known yet: one to run, one held */
	ck_assert_uint_eq(worker_of(w).running, 1);
	ck_assert_uint_eq(worker_of(w).prefetched, 1);

	/* Short now, but the held one was sent before that was known: the
	 * worker holds one more only, until that one has run too. */
	end_run(first, 0.00001);
	sched_dispatch(s);
	ck_assert_uint_eq(worker_of(w).prefetched, 1);
	end_run(first + 1, 0.00001);
	sched_dispatch(s);
	ck_assert_uint_eq(worker_of(w).running, 1);
	ck_assert_uint_eq(worker_of(w).prefetched, PACE_MAX_DEPTH);

	/* and it stays that deep as they end, in order */
	for (int k = 0; k < 200; k++) {
		end_run(running_on(w), 0.00001);
		sched_dispatch(s);
	}
	ck_assert_uint_eq(worker_of(w).prefetched, PACE_MAX_DEPTH);
	ck_assert_uint_eq(worker_of(w).done, 202);
	ck_assert_uint_eq(nassigned, 202 + 1 + PACE_MAX_DEPTH);
}
END_TEST

START_TEST(long_tasks_spread_and_hold_prefetch)
{
	worker_id_t w[4];

	sched_set_prefetch(s, 1);
	for (int k = 0; k < 4; k++)
		w[k] = sched_worker_add(s, "w", 1, 0);
	submit_array(40);
	sched_dispatch(s);
	for (int round = 0; round < 30; round++) {
		for (int k = 0; k < 4; k++) {
			/* every worker runs one, none holds more than one */
			struct worker_info wi = worker_of(w[k]);
			ck_assert_uint_eq(wi.running, 1);
			ck_assert_uint_le(wi.prefetched, 1);
		}
		end_run(running_on(w[round % 4]), 60.0);
		sched_dispatch(s);
	}
}
END_TEST

/* How many tasks of ids first..last are on w, started or held. */
static unsigned on_worker(worker_id_t w, task_id_t first, task_id_t last)
{
	unsigned n = 0;

	for (task_id_t id = first; id <= last; id++) {
		struct task_info ti = info_of(id);
		n += ti.state == TASK_RUNNING && ti.worker == w;
	}
	return n;
}

START_TEST(long_tasks_wait_here_not_behind_short_ones)
{
	sched_set_prefetch(s, 1);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t shorts = submit_array(10);

	sched_dispatch(s);
	end_run(shorts, 0);
	sched_dispatch(s);
	end_run(shorts + 1, 0);
	sched_dispatch(s);
	ck_assert_uint_eq(worker_of(w).prefetched, 7);	/* all the rest */

	/* Long tasks of unknown runtime: none goes behind the short ones;
	 * one is held once the worker holds nothing else. */
	task_id_t longs = submit_array(10);
	sched_dispatch(s);
	ck_assert_int_eq(info_of(longs).state, TASK_QUEUED);
	while (running_on(w) != longs) {
		ck_assert_uint_le(on_worker(w, longs, longs + 9), 1);
		end_run(running_on(w), 0);
		sched_dispatch(s);
	}
	ck_assert_uint_eq(worker_of(w).prefetched, 1);
	end_run(longs, 120.0);
	sched_dispatch(s);
	ck_assert_uint_eq(running_on(w), longs + 1);
	ck_assert_uint_eq(worker_of(w).prefetched, 1);
	ck_assert_int_eq(info_of(longs + 3).state, TASK_QUEUED);
}
END_TEST

START_TEST(short_tasks_do_not_queue_deep_behind_a_long_one)
{
	sched_set_prefetch(s, 1);
	worker_id_t w0 = sched_worker_add(s, "w0", 1, 0);
	worker_id_t w1 = sched_worker_add(s, "w1", 1, 0);
	task_id_t lng = submit_array(1);
	task_id_t shorts = submit_array(500);

	sched_dispatch(s);
	ck_assert_int_eq(running_on(w0), lng);
	for (int k = 0; k < 100; k++) {
		end_run(running_on(w1), 0);
		sched_dispatch(s);
		/* w0 runs a task that may be long: it holds `prefetch` */
		ck_assert_uint_le(worker_of(w0).prefetched, 1);
	}
	ck_assert_int_eq(running_on(w0), lng);
	ck_assert_uint_eq(worker_of(w1).prefetched, PACE_MAX_DEPTH);
	ck_assert_uint_eq(on_worker(w0, shorts, shorts + 499), 1);
}
END_TEST

/* A task of a short submission that runs on and on: its worker takes no
 * more, and the submission is long from then on, before the task ends. */
START_TEST(a_stalled_worker_gets_no_deeper)
{
	struct timespec pause = { 0, 150 * 1000 * 1000 };	/* > DEEP_STALL */
	struct err err = { "" };

	sched_set_prefetch(s, 1);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t first = submit_array(1000);

	sched_dispatch(s);
	end_run(first, 0);
	end_run(first + 1, 0);
	sched_dispatch(s);
	ck_assert_uint_eq(worker_of(w).prefetched, PACE_MAX_DEPTH);
	task_id_t stuck = running_on(w);

	/* room for one more, and no start since */
	ck_assert_int_eq(sched_cancel(s, stuck + PACE_MAX_DEPTH, &err), 0);
	ck_assert_uint_eq(worker_of(w).prefetched, PACE_MAX_DEPTH - 1);
	nanosleep(&pause, NULL);
	unsigned before = nassigned;
	sched_dispatch(s);
	ck_assert_uint_eq(nassigned, before);
	ck_assert_uint_eq(worker_of(w).prefetched, PACE_MAX_DEPTH - 1);

	/* long now: a worker that joins gets one to run and one to hold */
	worker_id_t w2 = sched_worker_add(s, "w2", 1, 0);
	sched_dispatch(s);
	ck_assert_uint_eq(worker_of(w2).running, 1);
	ck_assert_uint_eq(worker_of(w2).prefetched, 1);

	/* once w starts again it is no longer stalled, but the submission
	 * stays long until a run of short ones */
	end_run(stuck, 0);
	sched_dispatch(s);
	ck_assert_uint_eq(worker_of(w).prefetched, PACE_MAX_DEPTH - 2);
}
END_TEST

START_TEST(prefetch_off_stays_off_for_short_tasks)
{
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t first = submit_array(100);

	sched_set_prefetch(s, 0);
	for (int k = 0; k < 10; k++) {
		sched_dispatch(s);
		end_run(first + k, 0);
	}
	sched_dispatch(s);
	ck_assert_uint_eq(worker_of(w).running, 1);
	ck_assert_uint_eq(worker_of(w).prefetched, 0);
}
END_TEST

START_TEST(deep_queues_stay_even)
{
	enum { N = 50 };
	unsigned lo = ~0u, hi = 0;

	sched_set_prefetch(s, 1);
	for (int k = 0; k < N; k++)
		sched_worker_add(s, "w", 1, 0);
	submit_array(N * 2 + N + N * 10);
	sched_dispatch(s);
	/* each ends the two it got before the tasks were known short */
	for (worker_id_t k = 0; k < N; k++) {
		end_run(running_on(k), 0);
		end_run(running_on(k), 0);
	}
	sched_dispatch(s);
	for (worker_id_t k = 0; k < N; k++) {
		unsigned held = worker_of(k).prefetched;
		ck_assert_uint_eq(worker_of(k).running, 1);
		lo = held < lo ? held : lo;
		hi = held > hi ? held : hi;
	}
	ck_assert_uint_eq(nassigned, N * 2 + N + N * 10);
	ck_assert_msg(lo >= 8 && hi <= 12, "held %u to %u", lo, hi);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("sched_pace");
	TCase *rule = tcase_create("rule");
	TCase *tc = tcase_create("table");
	SRunner *sr;
	int failed;

	tcase_add_test(rule, unknown_and_off);
	tcase_add_test(rule, depth_by_runtime);
	tcase_add_test(rule, long_at_once_short_slowly);
	tcase_add_test(rule, failed_spawns_do_not_make_it_short);
	suite_add_tcase(su, rule);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, one_slot_holds_deep_for_short_tasks);
	tcase_add_test(tc, long_tasks_spread_and_hold_prefetch);
	tcase_add_test(tc, long_tasks_wait_here_not_behind_short_ones);
	tcase_add_test(tc, short_tasks_do_not_queue_deep_behind_a_long_one);
	tcase_add_test(tc, a_stalled_worker_gets_no_deeper);
	tcase_add_test(tc, prefetch_off_stays_off_for_short_tasks);
	tcase_add_test(tc, deep_queues_stay_even);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
