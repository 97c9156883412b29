/*
 * feed: sched tells which tasks its dependencies released and which runs
 * went back to the queue, and the dashboard's feed counts each task in
 * the state it is in, through chains, fan-ins, cancels, retries and lost
 * workers, from those events alone.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "api/activity.h"
#include "sched/sched.h"
#include "server/events.h"
#include "server/feed.h"

#define MAX_SEEN 64

/* The server's wiring of sched to the fan-out, and what sched said. */
struct rig {
	struct events *ev;
	struct sched *s;
	struct feed *f;
	task_id_t released[MAX_SEEN][2];
	size_t nreleased;
	task_id_t requeued[MAX_SEEN];
	worker_id_t requeued_on[MAX_SEEN];
	size_t nrequeued;
	int queued_after_release;	/* queued came after the last release */
};

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	events_task_assigned(((struct rig *)arg)->ev, id, w);
}

static void on_ended(void *arg, task_id_t id)
{
	events_task_ended(((struct rig *)arg)->ev, id);
}

static void on_queued(void *arg)
{
	struct rig *r = arg;

	r->queued_after_release = 1;
	events_tasks_queued(r->ev);
}

static void on_released(void *arg, task_id_t first, task_id_t last)
{
	struct rig *r = arg;

	if (r->nreleased < MAX_SEEN) {
		r->released[r->nreleased][0] = first;
		r->released[r->nreleased][1] = last;
	}
	r->nreleased++;
	r->queued_after_release = 0;
	events_tasks_released(r->ev, first, last);
}

static void on_requeued(void *arg, task_id_t id, worker_id_t w)
{
	struct rig *r = arg;

	if (r->nrequeued < MAX_SEEN) {
		r->requeued[r->nrequeued] = id;
		r->requeued_on[r->nrequeued] = w;
	}
	r->nrequeued++;
	events_task_requeued(r->ev, id, w);
}

static struct rig *rig_create(void)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct sched_hooks h = { 0 };

	r->ev = events_create();
	h.arg = r;
	h.assign = on_assign;
	h.ended = on_ended;
	h.queued = on_queued;
	h.released = on_released;
	h.requeued = on_requeued;
	r->s = sched_create(&h);
	r->f = feed_create(r->s, r->ev);
	return r;
}

static void rig_destroy(struct rig *r)
{
	feed_destroy(r->f);
	sched_destroy(r->s);
	events_destroy(r->ev);
	free(r);
}

/* Tasks named `name` per state, as the feed counted them. */
static const uint64_t *counts(struct rig *r, const char *name)
{
	struct activity *a = feed_activity(r->f);

	return activity_counts(a, activity_name(a, name));
}

static void check_counts(struct rig *r, const char *name, uint64_t waiting,
			 uint64_t queued, uint64_t running, uint64_t done)
{
	const uint64_t *c = counts(r, name);

	ck_assert_uint_eq(c[TASK_WAITING], waiting);
	ck_assert_uint_eq(c[TASK_QUEUED], queued);
	ck_assert_uint_eq(c[TASK_RUNNING], running);
	ck_assert_uint_eq(c[TASK_DONE], done);
}

static task_id_t submit(struct rig *r, const char *name, task_id_t after,
			int64_t array_last)
{
	char *argv[] = { (char *)"/bin/true", NULL };
	struct task_spec sp = { 0 };
	task_id_t first;
	uint64_t count;

	sp.argv = argv;
	sp.name = (char *)name;
	sp.cores = 1;
	sp.retries = 1;
	if (after) {
		sp.after = &after;
		sp.nafter = 1;
	}
	if (array_last >= 0) {
		sp.is_array = 1;
		sp.array_first = 0;
		sp.array_last = array_last;
	}
	ck_assert_int_eq(sched_submit(r->s, &sp, &first, &count, NULL), 0);
	return first;
}

static void finish(struct rig *r, task_id_t id, worker_id_t w, int code)
{
	struct task_result res = { 0 };

	res.exit_code = code;
	sched_task_finished(r->s, id, w, &res);
}

START_TEST(test_chain_releases_one_at_a_time)
{
	struct rig *r = rig_create();
	worker_id_t w = sched_worker_add(r->s, "w", 1, 0);
	task_id_t a = submit(r, "step", 0, -1);
	task_id_t b = submit(r, "step", a, -1);
	task_id_t c = submit(r, "step", b, -1);

	sched_dispatch(r->s);
	check_counts(r, "step", 2, 0, 1, 0);
	finish(r, a, w, 0);
	ck_assert_uint_eq(r->nreleased, 1);
	ck_assert_uint_eq(r->released[0][0], b);
	ck_assert_uint_eq(r->released[0][1], b);
	ck_assert_int_eq(r->queued_after_release, 1);
	check_counts(r, "step", 1, 1, 0, 1);
	sched_dispatch(r->s);
	finish(r, b, w, 0);
	ck_assert_uint_eq(r->nreleased, 2);
	ck_assert_uint_eq(r->released[1][0], c);
	check_counts(r, "step", 0, 1, 0, 2);
	sched_dispatch(r->s);
	finish(r, c, w, 0);
	check_counts(r, "step", 0, 0, 0, 3);
	rig_destroy(r);
}
END_TEST

START_TEST(test_array_released_as_one_range)
{
	struct rig *r = rig_create();
	worker_id_t w = sched_worker_add(r->s, "w", 1, 0);
	task_id_t a = submit(r, "first", 0, -1);
	task_id_t arr = submit(r, "sweep", a, 9);
	struct err err;

	sched_dispatch(r->s);
	check_counts(r, "sweep", 10, 0, 0, 0);
	/* Two elements cancelled while they wait: they are not released. */
	ck_assert_int_eq(sched_cancel(r->s, arr + 3, &err), 0);
	ck_assert_int_eq(sched_cancel(r->s, arr + 4, &err), 0);
	ck_assert_uint_eq(counts(r, "sweep")[TASK_CANCELLED], 2);
	finish(r, a, w, 0);
	ck_assert_uint_eq(r->nreleased, 1);
	ck_assert_uint_eq(r->released[0][0], arr);
	ck_assert_uint_eq(r->released[0][1], arr + 9);
	check_counts(r, "sweep", 0, 8, 0, 0);
	ck_assert_uint_eq(counts(r, "sweep")[TASK_CANCELLED], 2);
	rig_destroy(r);
}
END_TEST

START_TEST(test_fan_in_released_by_the_last_end)
{
	struct rig *r = rig_create();
	worker_id_t w = sched_worker_add(r->s, "w", 4, 0);
	char *argv[] = { (char *)"/bin/true", NULL };
	struct task_spec sp[2];
	task_id_t deps[4] = { 1, 2, 3, 4 }, first;
	uint64_t count;

	memset(sp, 0, sizeof(sp));
	sp[0].argv = sp[1].argv = argv;
	sp[0].cores = sp[1].cores = 1;
	sp[0].name = (char *)"part";
	sp[1].name = (char *)"reduce";
	sp[0].is_array = 1;
	sp[0].array_last = 3;
	sp[1].after = deps;
	sp[1].nafter = 4;
	ck_assert_int_eq(sched_submit_many(r->s, sp, 2, &first, &count, NULL),
			 0);
	sched_dispatch(r->s);
	check_counts(r, "part", 0, 0, 4, 0);
	check_counts(r, "reduce", 1, 0, 0, 0);
	for (task_id_t id = 1; id <= 3; id++)
		finish(r, id, w, 0);
	ck_assert_uint_eq(r->nreleased, 0);
	check_counts(r, "reduce", 1, 0, 0, 0);
	finish(r, 4, w, 0);
	ck_assert_uint_eq(r->nreleased, 1);
	ck_assert_uint_eq(r->released[0][0], 5);
	check_counts(r, "reduce", 0, 1, 0, 0);
	check_counts(r, "part", 0, 0, 0, 4);
	rig_destroy(r);
}
END_TEST

START_TEST(test_retry_is_a_requeue_from_its_worker)
{
	struct rig *r = rig_create();
	worker_id_t w = sched_worker_add(r->s, "w", 1, 0);
	task_id_t a = submit(r, "flaky", 0, -1);
	struct activity *act = feed_activity(r->f);

	sched_dispatch(r->s);
	check_counts(r, "flaky", 0, 0, 1, 0);
	finish(r, a, w, 3);		/* one retry left */
	ck_assert_uint_eq(r->nrequeued, 1);
	ck_assert_uint_eq(r->requeued[0], a);
	ck_assert_int_eq(r->requeued_on[0], w);
	check_counts(r, "flaky", 0, 1, 0, 0);
	const struct activity_event *e = activity_event(act, activity_last(act));
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->kind, ACTIVITY_STOP);
	ck_assert_uint_eq(e->id, a);
	ck_assert_int_eq(e->state, TASK_QUEUED);
	size_t n;
	const struct activity_run *runs = activity_runs(act, w, &n);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(runs[i].id, 0);
	sched_dispatch(r->s);
	finish(r, a, w, 0);
	check_counts(r, "flaky", 0, 0, 0, 1);
	rig_destroy(r);
}
END_TEST

START_TEST(test_lost_worker_requeues_its_runs)
{
	struct rig *r = rig_create();
	worker_id_t w = sched_worker_add(r->s, "w", 2, 0);
	task_id_t arr = submit(r, "sim", 0, 2);

	sched_dispatch(r->s);
	check_counts(r, "sim", 0, 1, 2, 0);
	sched_worker_lost(r->s, w);
	ck_assert_uint_eq(r->nrequeued, 2);
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(r->requeued_on[i], w);
		ck_assert(r->requeued[i] == arr || r->requeued[i] == arr + 1);
	}
	check_counts(r, "sim", 0, 3, 0, 0);
	worker_id_t w2 = sched_worker_add(r->s, "w2", 3, 0);
	sched_dispatch(r->s);
	check_counts(r, "sim", 0, 0, 3, 0);
	for (task_id_t id = arr; id <= arr + 2; id++)
		finish(r, id, w2, 0);
	check_counts(r, "sim", 0, 0, 0, 3);
	rig_destroy(r);
}
END_TEST

/* Many waiting, released in turn: the count stays right across the
 * compactions of the feed's waiting list. */
START_TEST(test_long_chain_counts)
{
	struct rig *r = rig_create();
	worker_id_t w = sched_worker_add(r->s, "w", 1, 0);
	task_id_t prev = 0;
	const int n = 500;

	for (int k = 0; k < n; k++)
		prev = submit(r, "link", prev, -1);
	/* and a bystander that waits on the last link all along */
	submit(r, "tail", prev, -1);
	for (int k = 1; k <= n; k++) {
		sched_dispatch(r->s);
		check_counts(r, "link", (uint64_t)(n - k), 0, 1,
			     (uint64_t)(k - 1));
		check_counts(r, "tail", 1, 0, 0, 0);
		finish(r, (task_id_t)k, w, 0);
	}
	check_counts(r, "link", 0, 0, 0, (uint64_t)n);
	check_counts(r, "tail", 0, 1, 0, 0);
	ck_assert_uint_eq(r->nreleased, (size_t)n);
	rig_destroy(r);
}
END_TEST

static Suite *feed_suite(void)
{
	Suite *s = suite_create("feed");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_chain_releases_one_at_a_time);
	tcase_add_test(tc, test_array_released_as_one_range);
	tcase_add_test(tc, test_fan_in_released_by_the_last_end);
	tcase_add_test(tc, test_retry_is_a_requeue_from_its_worker);
	tcase_add_test(tc, test_lost_worker_requeues_its_runs);
	tcase_add_test(tc, test_long_chain_counts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(feed_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
