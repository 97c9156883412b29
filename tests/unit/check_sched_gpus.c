/*
 * sched: GPUs as a task resource.  A worker's GPUs are counted like its
 * cores: a task of N GPUs runs only where N are free, so the GPUs held by
 * running tasks never add up to more than the worker has; one that asks
 * more than any worker has waits, with a reason, until such a worker
 * joins; the prefetch queue starts held tasks by GPUs too.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "sched/sched.h"

struct rec {
	worker_id_t w[256];
	task_id_t id[256];
	size_t n;
};

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct rec *r = arg;

	if (r->n < 256) {
		r->w[r->n] = w;
		r->id[r->n++] = id;
	}
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
	s = sched_create(&h);
	ck_assert_ptr_nonnull(s);
}

static void teardown(void)
{
	sched_destroy(s);
}

static task_id_t submit(unsigned cores, unsigned gpus, uint64_t n)
{
	struct task_spec sp = { 0 };
	struct err err = { "" };
	task_id_t first = 0;
	uint64_t count = 0;

	sp.argv = argv_true;
	sp.cores = cores;
	sp.gpus = gpus;
	if (n > 1) {
		sp.is_array = 1;
		sp.array_first = 1;
		sp.array_last = (int64_t)n;
	}
	ck_assert_msg(sched_submit(s, &sp, &first, &count, &err) == 0, "%s",
		      err.text);
	return first;
}

static worker_id_t add_worker(const char *name, unsigned cores, unsigned gpus)
{
	worker_id_t w = sched_worker_add(s, name, cores, 0);

	ck_assert_int_ge(w, 0);
	sched_worker_set_gpus(s, w, gpus);
	return w;
}

static struct task_info info(task_id_t id)
{
	struct task_info ti;

	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	return ti;
}

static void finish(task_id_t id, worker_id_t w)
{
	struct task_result res = { 0 };

	sched_task_finished(s, id, w, &res);
}

/* Started tasks on w hold no more GPUs than it has. */
static void check_used(worker_id_t w, unsigned want_used)
{
	struct worker_info wi;

	ck_assert_int_eq(sched_worker(s, w, &wi), 0);
	ck_assert_uint_eq(wi.gpus_used, want_used);
	ck_assert_uint_le(wi.gpus_used, wi.gpus);
}

START_TEST(two_one_gpu_tasks_run_a_third_waits)
{
	worker_id_t w;
	task_id_t a;

	sched_set_prefetch(s, 0);
	w = add_worker("w", 8, 2);
	a = submit(1, 1, 3);
	sched_dispatch(s);
	ck_assert_int_eq(info(a).state, TASK_RUNNING);
	ck_assert_int_eq(info(a + 1).state, TASK_RUNNING);
	ck_assert_int_eq(info(a + 2).state, TASK_QUEUED);
	ck_assert_ptr_null(info(a + 2).reason);	/* it fits, once one ends */
	check_used(w, 2);
	finish(a, w);
	sched_dispatch(s);
	ck_assert_int_eq(info(a + 2).state, TASK_RUNNING);
	check_used(w, 2);
	finish(a + 1, w);
	finish(a + 2, w);
	check_used(w, 0);
}
END_TEST

START_TEST(cpu_tasks_backfill_beside_gpu_tasks)
{
	worker_id_t w;
	task_id_t g, c;

	sched_set_prefetch(s, 0);
	w = add_worker("w", 4, 1);
	g = submit(1, 1, 2);
	c = submit(1, 0, 3);
	sched_dispatch(s);
	ck_assert_int_eq(info(g).state, TASK_RUNNING);
	ck_assert_int_eq(info(g + 1).state, TASK_QUEUED);
	for (task_id_t i = c; i < c + 3; i++)
		ck_assert_int_eq(info(i).state, TASK_RUNNING);
	check_used(w, 1);
}
END_TEST

START_TEST(too_many_gpus_wait_for_such_a_worker)
{
	worker_id_t w, big;
	task_id_t t, none;

	w = add_worker("w", 4, 2);
	t = submit(1, 4, 1);
	none = submit(1, 1, 1);
	sched_dispatch(s);
	ck_assert_int_eq(info(t).state, TASK_QUEUED);
	ck_assert_str_eq(info(t).reason,
			 "waiting for a worker with 1 core and 4 GPUs");
	ck_assert_int_eq(info(none).state, TASK_RUNNING);
	ck_assert_int_eq(info(none).worker, w);

	/* a worker with no GPUs is no help either */
	add_worker("cpu", 16, 0);
	sched_dispatch(s);
	ck_assert_int_eq(info(t).state, TASK_QUEUED);

	big = add_worker("big", 1, 4);
	sched_dispatch(s);
	ck_assert_int_eq(info(t).state, TASK_RUNNING);
	ck_assert_int_eq(info(t).worker, big);
	check_used(big, 4);
}
END_TEST

START_TEST(gpus_said_after_the_join_unpark)
{
	worker_id_t w;
	task_id_t t;

	w = sched_worker_add(s, "w", 2, 0);
	t = submit(1, 1, 1);
	sched_dispatch(s);
	ck_assert_int_eq(info(t).state, TASK_QUEUED);
	ck_assert_str_eq(info(t).reason,
			 "waiting for a worker with 1 core and 1 GPU");
	sched_worker_set_gpus(s, w, 1);
	sched_dispatch(s);
	ck_assert_int_eq(info(t).state, TASK_RUNNING);
}
END_TEST

START_TEST(prefetched_tasks_start_by_gpus)
{
	worker_id_t w;
	task_id_t a;

	sched_set_prefetch(s, 2);
	w = add_worker("w", 8, 1);
	a = submit(1, 1, 3);
	sched_dispatch(s);
	/* one started, two held: all three on w, one GPU in use */
	ck_assert_uint_eq(rec.n, 3);
	check_used(w, 1);
	ck_assert_double_gt(info(a).start_time, 0);
	ck_assert_double_eq(info(a + 1).start_time, 0);
	finish(a, w);
	check_used(w, 1);
	ck_assert_double_gt(info(a + 1).start_time, 0);
	ck_assert_double_eq(info(a + 2).start_time, 0);
}
END_TEST

START_TEST(lost_worker_frees_its_gpus)
{
	worker_id_t w, w2;
	task_id_t a;

	sched_set_prefetch(s, 0);
	w = add_worker("w", 4, 2);
	a = submit(1, 2, 1);
	sched_dispatch(s);
	check_used(w, 2);
	sched_worker_lost(s, w);
	check_used(w, 0);
	ck_assert_int_eq(info(a).state, TASK_QUEUED);
	w2 = add_worker("w2", 4, 2);
	sched_dispatch(s);
	ck_assert_int_eq(info(a).worker, w2);
	check_used(w2, 2);
}
END_TEST

static Suite *gpus_suite(void)
{
	Suite *su = suite_create("sched_gpus");
	TCase *tc = tcase_create("gpus");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, two_one_gpu_tasks_run_a_third_waits);
	tcase_add_test(tc, cpu_tasks_backfill_beside_gpu_tasks);
	tcase_add_test(tc, too_many_gpus_wait_for_such_a_worker);
	tcase_add_test(tc, gpus_said_after_the_join_unpark);
	tcase_add_test(tc, prefetched_tasks_start_by_gpus);
	tcase_add_test(tc, lost_worker_frees_its_gpus);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(gpus_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
