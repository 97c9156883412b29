/*
 * sched: worker deadlines.  A worker whose batch job ends soon takes no
 * task whose time limit would outlive it (less the margin); tasks with no
 * limit still go anywhere; a task that fits no worker's remaining life
 * waits until a worker that has the time joins.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "sched/sched.h"
#include "util/clock.h"

struct rec {
	worker_id_t w[64];
	task_id_t id[64];
	size_t n;
};

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct rec *r = arg;

	if (r->n < 64) {
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

static task_id_t submit(uint64_t time_limit)
{
	struct task_spec sp = { 0 };
	struct err err = { "" };
	task_id_t first = 0;
	uint64_t count = 0;

	sp.argv = argv_true;
	sp.cores = 1;
	sp.time_limit = time_limit;
	ck_assert_msg(sched_submit(s, &sp, &first, &count, &err) == 0, "%s",
		      err.text);
	return first;
}

static worker_id_t assigned_to(task_id_t id)
{
	for (size_t i = 0; i < rec.n; i++)
		if (rec.id[i] == id)
			return rec.w[i];
	return -1;
}

START_TEST(short_life_takes_only_what_fits)
{
	double now = clock_wall();
	worker_id_t w = sched_worker_add(s, "short", 4, 0);
	task_id_t fits, too_long, unlimited;

	/* 60 s left: a 30 s task fits, a 55 s one not within the margin */
	sched_worker_set_deadline(s, w, now + 60);
	fits = submit(30);
	too_long = submit(55);
	unlimited = submit(0);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(fits), w);
	ck_assert_int_eq(assigned_to(too_long), -1);
	ck_assert_int_eq(assigned_to(unlimited), w);

	/* a worker with the time joins: the long task goes there */
	worker_id_t w2 = sched_worker_add(s, "long", 4, 0);
	sched_worker_set_deadline(s, w2, now + 3600);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(too_long), w2);
}
END_TEST

START_TEST(placement_prefers_a_worker_with_the_time)
{
	double now = clock_wall();
	worker_id_t a = sched_worker_add(s, "ending", 1, 0);
	worker_id_t b = sched_worker_add(s, "fresh", 1, 0);
	task_id_t t;

	sched_worker_set_deadline(s, a, now + 20);
	sched_worker_set_deadline(s, b, now + 600);
	t = submit(100);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(t), b);
}
END_TEST

START_TEST(no_deadline_and_past_deadline)
{
	double now = clock_wall();
	worker_id_t a = sched_worker_add(s, "none", 1, 0);
	task_id_t t;

	/* no deadline known (0): anything goes */
	sched_worker_set_deadline(s, a, 0);
	t = submit(86400);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(t), a);

	/* a job that already ended: nothing with a limit starts */
	worker_id_t b = sched_worker_add(s, "past", 1, 0);
	sched_worker_set_deadline(s, b, now - 5);
	t = submit(1);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(t), -1);
	/* an unknown worker id is ignored */
	sched_worker_set_deadline(s, 999, now + 60);
}
END_TEST

START_TEST(margin_is_kept)
{
	double now = clock_wall();
	worker_id_t w = sched_worker_add(s, "w", 2, 0);
	task_id_t edge, over;

	sched_worker_set_deadline(s, w, now + 100);
	edge = submit((uint64_t)(100 - SCHED_DEADLINE_MARGIN - 2));
	over = submit((uint64_t)(100 - SCHED_DEADLINE_MARGIN + 2));
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(edge), w);
	ck_assert_int_eq(assigned_to(over), -1);
}
END_TEST

static Suite *deadline_suite(void)
{
	Suite *su = suite_create("sched_deadline");
	TCase *tc = tcase_create("deadline");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, short_life_takes_only_what_fits);
	tcase_add_test(tc, placement_prefers_a_worker_with_the_time);
	tcase_add_test(tc, no_deadline_and_past_deadline);
	tcase_add_test(tc, margin_is_kept);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(deadline_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
