/*
 * activity: the ring keeps the latest events and numbers them for
 * cursors; names, states and actions add up; a run takes the lowest free
 * slot of its worker.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api/activity.h"

START_TEST(test_ring_bounds)
{
	struct activity *a = activity_create(4, 0);
	unsigned n = activity_name(a, "sim");

	ck_assert_uint_eq(activity_last(a), 0);
	ck_assert_uint_gt(activity_first(a), activity_last(a));
	ck_assert_ptr_null(activity_event(a, 0));
	ck_assert_ptr_null(activity_event(a, 1));
	for (task_id_t id = 1; id <= 10; id++)
		activity_run_start(a, (double)id, id, 0, n);
	ck_assert_uint_eq(activity_last(a), 10);
	ck_assert_uint_eq(activity_first(a), 7);
	ck_assert_ptr_null(activity_event(a, 6));
	ck_assert_ptr_null(activity_event(a, 11));
	for (uint64_t seq = 7; seq <= 10; seq++) {
		const struct activity_event *e = activity_event(a, seq);
		ck_assert_ptr_nonnull(e);
		ck_assert_uint_eq(e->seq, seq);
		ck_assert_uint_eq(e->id, seq);
		ck_assert_int_eq(e->kind, ACTIVITY_START);
	}
	activity_destroy(a);
}
END_TEST

START_TEST(test_cursor_follows)
{
	struct activity *a = activity_create(8, 0);
	uint64_t cursor = activity_last(a), seen = 0;

	for (task_id_t id = 1; id <= 5; id++)
		activity_run_start(a, 1, id, 1, 0);
	/* A reader takes what follows its cursor, in order. */
	for (uint64_t s = cursor + 1; s <= activity_last(a); s++) {
		ck_assert_uint_eq(activity_event(a, s)->id, s);
		seen++;
	}
	cursor = activity_last(a);
	ck_assert_uint_eq(seen, 5);
	/* Nothing new: nothing after the cursor. */
	ck_assert_ptr_null(activity_event(a, cursor + 1));
	activity_run_stop(a, 2, 3, 1, TASK_DONE, NULL);
	ck_assert_uint_eq(activity_last(a), cursor + 1);
	ck_assert_int_eq(activity_event(a, cursor + 1)->kind, ACTIVITY_STOP);
	activity_destroy(a);
}
END_TEST

START_TEST(test_slots)
{
	struct activity *a = activity_create(0, 0);
	unsigned n = activity_name(a, "x");
	size_t k;
	const struct activity_run *r;

	ck_assert_uint_eq(activity_run_start(a, 1, 1, 2, n), 0);
	ck_assert_uint_eq(activity_run_start(a, 1, 2, 2, n), 1);
	ck_assert_uint_eq(activity_run_start(a, 1, 3, 2, n), 2);
	ck_assert_uint_eq(activity_run_start(a, 1, 4, 0, n), 0);
	ck_assert_int_eq(activity_nworkers(a), 3);
	ck_assert_int_eq(activity_run_stop(a, 2, 2, 2, TASK_DONE, NULL), 0);
	/* Freed slot 1 is the lowest free one again. */
	ck_assert_uint_eq(activity_run_start(a, 3, 5, 2, n), 1);
	ck_assert_int_eq(activity_run_stop(a, 4, 3, 2, TASK_DONE, NULL), 0);
	r = activity_runs(a, 2, &k);
	ck_assert_uint_eq(k, 2);
	ck_assert_uint_eq(r[0].id, 1);
	ck_assert_uint_eq(r[1].id, 5);
	/* Unknown runs record nothing. */
	uint64_t last = activity_last(a);
	ck_assert_int_eq(activity_run_stop(a, 5, 99, 2, TASK_DONE, NULL), -1);
	ck_assert_int_eq(activity_run_stop(a, 5, 1, 7, TASK_DONE, NULL), -1);
	ck_assert_int_eq(activity_run_stop(a, 5, 1, -1, TASK_DONE, NULL), -1);
	ck_assert_uint_eq(activity_last(a), last);
	r = activity_runs(a, 9, &k);
	ck_assert_uint_eq(k, 0);
	activity_destroy(a);
}
END_TEST

START_TEST(test_stop_event_and_actions)
{
	struct activity *a = activity_create(0, 0);
	unsigned n = activity_name(a, "render");
	double t1[ACTION_COUNT] = { [ACTION_QUEUE_WAIT] = 1.5,
		[ACTION_DISPATCH] = 0.25, [ACTION_RUN] = 10 };
	double t2[ACTION_COUNT] = { [ACTION_QUEUE_WAIT] = 0.5,
		[ACTION_DISPATCH] = -3, [ACTION_RUN] = 2 };	/* negative: 0 */
	const struct activity_event *e;

	activity_run_start(a, 100, 7, 0, n);
	activity_run_start(a, 100, 8, 0, n);
	ck_assert_int_eq(activity_run_stop(a, 111, 7, 0, TASK_FAILED, t1), 0);
	e = activity_event(a, activity_last(a));
	ck_assert_int_eq(e->kind, ACTIVITY_STOP);
	ck_assert_int_eq(e->state, TASK_FAILED);
	ck_assert_uint_eq(e->slot, 0);
	ck_assert_uint_eq(e->name, n);
	ck_assert(e->start == 100 && e->time == 111);
	ck_assert(e->action[ACTION_RUN] == 10);
	ck_assert_int_eq(activity_run_stop(a, 112, 8, 0, TASK_DONE, t2), 0);
	ck_assert(activity_action_seconds(a, ACTION_QUEUE_WAIT) == 2.0);
	ck_assert(activity_action_seconds(a, ACTION_DISPATCH) == 0.25);
	ck_assert(activity_action_seconds(a, ACTION_RUN) == 12);
	ck_assert_uint_eq(activity_action_runs(a, ACTION_RUN), 2);
	ck_assert_str_eq(activity_action_name(ACTION_QUEUE_WAIT), "queue_wait");
	activity_destroy(a);
}
END_TEST

/* Five actions, in the order every view lists them. */
START_TEST(test_action_names)
{
	static const char *const want[] = {
		"queue_wait", "dispatch", "spawn", "run", "output",
	};

	ck_assert_int_eq(ACTION_COUNT, 5);
	for (int i = 0; i < ACTION_COUNT; i++)
		ck_assert_str_eq(activity_action_name(i), want[i]);
	ck_assert_str_eq(activity_action_name(ACTION_COUNT), "?");
}
END_TEST

/* A run its worker reported: the time from its assignment to its end is
 * split into the worker's spawn, run and output and the dispatch left. */
START_TEST(test_reported_split)
{
	struct activity *a = activity_create(0, 0);
	unsigned n = activity_name(a, "sim");
	/* assigned at 100, ended at 110: 10 s, the scheduler saw a 9 s run */
	double seen[ACTION_COUNT] = { [ACTION_QUEUE_WAIT] = 4,
		[ACTION_DISPATCH] = 1, [ACTION_RUN] = 9 };
	const struct activity_event *e;

	activity_run_start(a, 100, 1, 0, n);
	ck_assert_int_eq(activity_run_report(a, 1, 0, 0.25, 9, 0.5), 0);
	ck_assert_int_eq(activity_run_stop(a, 110, 1, 0, TASK_DONE, seen), 0);
	e = activity_event(a, activity_last(a));
	ck_assert(e->action[ACTION_QUEUE_WAIT] == 4);
	ck_assert(e->action[ACTION_SPAWN] == 0.25);
	ck_assert(e->action[ACTION_RUN] == 9);
	ck_assert(e->action[ACTION_OUTPUT] == 0.5);
	ck_assert(e->action[ACTION_DISPATCH] == 0.25);

	/* A run the scheduler timed itself (it went back to the queue: all
	 * of it counted as run) has the worker's run and the rest as
	 * dispatch. */
	double requeued[ACTION_COUNT] = { [ACTION_RUN] = 3 };
	activity_run_start(a, 200, 2, 0, n);
	ck_assert_int_eq(activity_run_report(a, 2, 0, 0.5, 2, 0.25), 0);
	ck_assert_int_eq(activity_run_stop(a, 203, 2, 0, TASK_QUEUED,
					   requeued), 0);
	e = activity_event(a, activity_last(a));
	ck_assert(e->action[ACTION_RUN] == 2);
	ck_assert(e->action[ACTION_DISPATCH] == 0.25);

	/* Worker times longer than the scheduler saw: no dispatch below 0. */
	activity_run_start(a, 300, 3, 1, n);
	ck_assert_int_eq(activity_run_report(a, 3, 1, 1, 2, -1), 0);
	ck_assert_int_eq(activity_run_stop(a, 301, 3, 1, TASK_DONE, NULL), 0);
	e = activity_event(a, activity_last(a));
	ck_assert(e->action[ACTION_DISPATCH] == 0);
	ck_assert(e->action[ACTION_OUTPUT] == 0);

	/* Without a report the scheduler's own view stands. */
	activity_run_start(a, 400, 4, 1, n);
	ck_assert_int_eq(activity_run_stop(a, 401, 4, 1, TASK_DONE, seen), 0);
	e = activity_event(a, activity_last(a));
	ck_assert(e->action[ACTION_RUN] == 9 && e->action[ACTION_SPAWN] == 0);

	ck_assert(activity_action_seconds(a, ACTION_QUEUE_WAIT) == 8);
	ck_assert(activity_action_seconds(a, ACTION_DISPATCH) == 1.5);
	ck_assert(activity_action_seconds(a, ACTION_SPAWN) == 1.75);
	ck_assert(activity_action_seconds(a, ACTION_RUN) == 22);
	ck_assert(activity_action_seconds(a, ACTION_OUTPUT) == 0.75);
	for (int i = 0; i < ACTION_COUNT; i++)
		ck_assert_uint_eq(activity_action_runs(a, i), 4);

	/* A report of a run not under way keeps nothing. */
	ck_assert_int_eq(activity_run_report(a, 4, 1, 1, 1, 1), -1);
	ck_assert_int_eq(activity_run_report(a, 9, 7, 1, 1, 1), -1);
	/* A slot taken again starts with no report. */
	activity_run_start(a, 500, 5, 1, n);
	ck_assert_int_eq(activity_run_stop(a, 501, 5, 1, TASK_DONE, seen), 0);
	e = activity_event(a, activity_last(a));
	ck_assert(e->action[ACTION_SPAWN] == 0 && e->action[ACTION_RUN] == 9);
	activity_destroy(a);
}
END_TEST

START_TEST(test_names_bounded)
{
	struct activity *a = activity_create(0, 3);
	unsigned x = activity_name(a, "x");

	ck_assert_uint_ne(x, 0);
	ck_assert_uint_eq(activity_name(a, "x"), x);
	ck_assert_uint_eq(activity_name(a, NULL), 0);
	ck_assert_uint_eq(activity_name(a, ""), 0);
	activity_name(a, "y");
	activity_name(a, "z");
	/* Full: later names are counted as ACTIVITY_OTHER. */
	ck_assert_uint_eq(activity_name(a, "w"), 0);
	ck_assert_uint_eq(activity_nnames(a), 4);
	ck_assert_str_eq(activity_name_text(a, 0), ACTIVITY_OTHER);
	ck_assert_str_eq(activity_name_text(a, x), "x");
	ck_assert_uint_eq(activity_name(a, "z"), 3);
	activity_destroy(a);
}
END_TEST

START_TEST(test_counts)
{
	struct activity *a = activity_create(0, 0);
	unsigned x = activity_name(a, "x"), y = activity_name(a, "y");
	const uint64_t *c;

	for (int i = 0; i < 3; i++)
		activity_count(a, x, -1, TASK_QUEUED);
	activity_count(a, x, -1, TASK_WAITING);
	activity_count(a, y, -1, TASK_QUEUED);
	activity_count(a, x, TASK_QUEUED, TASK_RUNNING);
	activity_count(a, x, TASK_RUNNING, TASK_DONE);
	activity_count(a, x, TASK_QUEUED, TASK_RUNNING);
	activity_count(a, x, TASK_RUNNING, TASK_FAILED);
	activity_count(a, x, TASK_WAITING, TASK_QUEUED);
	c = activity_counts(a, x);
	ck_assert_uint_eq(c[TASK_WAITING], 0);
	ck_assert_uint_eq(c[TASK_QUEUED], 2);
	ck_assert_uint_eq(c[TASK_RUNNING], 0);
	ck_assert_uint_eq(c[TASK_DONE], 1);
	ck_assert_uint_eq(c[TASK_FAILED], 1);
	ck_assert_uint_eq(activity_counts(a, y)[TASK_QUEUED], 1);
	/* Never below zero. */
	activity_count(a, y, TASK_RUNNING, TASK_DONE);
	ck_assert_uint_eq(activity_counts(a, y)[TASK_RUNNING], 0);
	ck_assert_uint_eq(activity_counts(a, y)[TASK_DONE], 1);
	activity_destroy(a);
}
END_TEST

/* Many runs on a few workers, stopped in a shuffled order: each is found
 * by its id (its report lands, its stop names its slot), and
 * nothing is left once all stopped; a task started again before its
 * first run stopped keeps both runs apart. */
START_TEST(test_many_runs_found)
{
	struct activity *a = activity_create(1 << 16, 0);
	unsigned n = activity_name(a, "x");
	enum { N = 5000, W = 8 };
	static task_id_t order[N], tid[N + 1];
	static unsigned slot[N + 1];
	uint64_t seed = 12345;

	/* ids at random (an arithmetic run spreads without a collision) */
	for (task_id_t id = 1; id <= N; id++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		tid[id] = (seed >> 20) | 1;
		slot[id] = activity_run_start(a, 1, tid[id], (worker_id_t)(id % W), n);
		order[id - 1] = id;
	}
	for (size_t i = N - 1; i > 0; i--) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		size_t j = (size_t)(seed >> 33) % (i + 1);
		task_id_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < N; i++) {
		task_id_t id = order[i];
		worker_id_t w = (worker_id_t)(id % W);
		ck_assert_int_eq(activity_run_report(a, tid[id], w, 0.1, 0.2, 0), 0);
		ck_assert_int_eq(activity_run_stop(a, 2, tid[id], w, TASK_DONE,
						   NULL), 0);
		const struct activity_event *e = activity_event(a, activity_last(a));
		ck_assert_uint_eq(e->slot, slot[id]);
		ck_assert_int_eq(e->worker, w);
		ck_assert_int_eq(activity_run_stop(a, 2, tid[id], w, TASK_DONE,
						   NULL), -1);	/* once */
	}
	/* a task's id runs again on worker 5 while its run on 1 goes on;
	 * either may stop first */
	for (int newer_first = 0; newer_first < 2; newer_first++) {
		unsigned first = activity_run_start(a, 1, 42, 1, n);
		unsigned again = activity_run_start(a, 1, 42, 5, n);
		worker_id_t w1 = newer_first ? 5 : 1, w2 = newer_first ? 1 : 5;
		ck_assert_int_eq(activity_run_stop(a, 3, 42, w1, TASK_DONE, NULL), 0);
		ck_assert_uint_eq(activity_event(a, activity_last(a))->slot,
				  newer_first ? again : first);
		ck_assert_int_eq(activity_run_stop(a, 3, 42, w2, TASK_DONE, NULL), 0);
		ck_assert_uint_eq(activity_event(a, activity_last(a))->slot,
				  newer_first ? first : again);
	}
	for (worker_id_t w = 0; w < W; w++) {
		size_t k;
		activity_runs(a, w, &k);
		ck_assert_uint_eq(k, 0);
	}
	activity_destroy(a);
}
END_TEST

static Suite *activity_suite(void)
{
	Suite *s = suite_create("activity");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ring_bounds);
	tcase_add_test(tc, test_cursor_follows);
	tcase_add_test(tc, test_slots);
	tcase_add_test(tc, test_stop_event_and_actions);
	tcase_add_test(tc, test_action_names);
	tcase_add_test(tc, test_reported_split);
	tcase_add_test(tc, test_names_bounded);
	tcase_add_test(tc, test_counts);
	tcase_add_test(tc, test_many_runs_found);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(activity_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
