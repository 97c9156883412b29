/* pool: the job table, reconcile and adapt, without a batch system. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/pool.h"

static struct pool_params params(unsigned per_job)
{
	struct pool_params prm = {
		.workers_per_job = per_job,
		.arrays = 1,
		.missing_grace = 30,
		.drain_margin = 60,
		.replace_lead = 30,
	};
	return prm;
}

/* Carry out a plan's submission as a batch system that accepts it, with
 * ids 100, 101, ...; returns the number of jobs submitted. */
static unsigned next_id = 100;
static unsigned submit_ok(struct pool *p, struct pool_plan *plan, double now)
{
	char id[32];
	unsigned n = plan->submit;

	if (!n)
		return 0;
	snprintf(id, sizeof(id), "%u", next_id++);
	pool_submit_started(p, plan->first_seq, n, now);
	pool_submit_done(p, plan->first_seq, n, id, plan->array_size > 1, now);
	return n;
}

static void cancel_all(struct pool *p, struct pool_plan *plan)
{
	for (size_t i = 0; i < plan->ncancel; i++)
		pool_cancel_sent(p, plan->cancel[i]);
}

static unsigned live_jobs(struct pool *p)
{
	unsigned n = 0;

	for (size_t i = 0; i < pool_njobs(p); i++) {
		struct pool_job *j = pool_job_at(p, i);
		n += j->state != JOB_STATE_ENDED && !j->cancelling;
	}
	return n;
}

START_TEST(scale_in_whole_jobs)
{
	struct pool_params prm = params(4);
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };

	ck_assert_uint_eq(pool_jobs_for(p, 8), 2);
	ck_assert_uint_eq(pool_jobs_for(p, 9), 3);
	pool_set_target(p, 8);
	pool_reconcile(p, 0, &plan);
	ck_assert_uint_eq(plan.submit, 2);
	ck_assert_uint_eq(plan.array_size, 2);	/* one array of two */
	ck_assert_uint_eq(submit_ok(p, &plan, 0), 2);
	/* Repeating the same target submits nothing. */
	pool_reconcile(p, 1, &plan);
	ck_assert_uint_eq(plan.submit, 0);
	ck_assert_uint_eq(plan.ncancel, 0);
	/* 9 workers: one more whole job. */
	pool_set_target(p, 9);
	pool_reconcile(p, 2, &plan);
	ck_assert_uint_eq(plan.submit, 1);
	ck_assert_uint_eq(plan.array_size, 0);	/* never an array of one */
	submit_ok(p, &plan, 2);
	/* Down to 6: only whole jobs go, and never below the target: one
	 * job of 4 leaves 8 >= 6, a second would leave 4 < 6. */
	pool_set_target(p, 6);
	pool_reconcile(p, 3, &plan);
	ck_assert_uint_eq(plan.ncancel, 1);
	ck_assert_uint_eq(plan.submit, 0);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

START_TEST(arrays_off_one_job_per_command)
{
	struct pool_params prm = params(1);
	prm.arrays = 0;
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };
	unsigned commands = 0;

	pool_set_target(p, 5);
	for (int t = 0; t < 10; t++) {
		pool_reconcile(p, t, &plan);
		if (plan.submit) {
			ck_assert_uint_eq(plan.submit, 1);
			submit_ok(p, &plan, t);
			commands++;
		}
	}
	ck_assert_uint_eq(commands, 5);
	ck_assert_uint_eq(live_jobs(p), 5);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

START_TEST(array_chunks_within_limit)
{
	struct pool_params prm = params(1);
	prm.max_array_size = 100;
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };
	unsigned calls = 0;

	pool_set_target(p, 250);
	for (int t = 0; t < 10; t++) {
		pool_reconcile(p, t, &plan);
		if (plan.submit) {
			ck_assert_uint_le(plan.submit, 100);
			submit_ok(p, &plan, t);
			calls++;
		}
	}
	ck_assert_uint_eq(calls, 3);		/* 100 + 100 + 50 */
	ck_assert_uint_eq(live_jobs(p), 250);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

START_TEST(max_queued_caps_waiting_jobs)
{
	struct pool_params prm = params(1);
	prm.max_queued = 3;
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };

	pool_set_target(p, 10);
	pool_reconcile(p, 0, &plan);
	ck_assert_uint_eq(plan.submit, 3);
	submit_ok(p, &plan, 0);
	pool_reconcile(p, 1, &plan);
	ck_assert_uint_eq(plan.submit, 0);
	ck_assert_ptr_nonnull(pool_waiting(p, 1));
	/* Two start: two more may wait. */
	char id[32];
	snprintf(id, sizeof(id), "%u", next_id - 1);
	pool_worker_joined(p, id, 0, 2);
	pool_worker_joined(p, id, 1, 2);
	pool_reconcile(p, 3, &plan);
	ck_assert_uint_eq(plan.submit, 2);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

/* Queued first (newest first), then idle running, then busy running are
 * drained, never cancelled. */
START_TEST(scale_down_order)
{
	struct pool_params prm = params(1);
	prm.arrays = 0;
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };
	char ids[6][32];

	pool_set_target(p, 6);
	for (int k = 0; k < 6; k++) {
		pool_reconcile(p, k, &plan);
		snprintf(ids[k], sizeof(ids[k]), "%u", next_id);
		ck_assert_uint_eq(submit_ok(p, &plan, k), 1);
	}
	/* seq 1..4 run (1 and 2 busy), 5 and 6 wait. */
	for (int k = 0; k < 4; k++)
		pool_worker_joined(p, ids[k], -1, 10);
	pool_set_busy(p, ids[0], -1, 1);
	pool_set_busy(p, ids[1], -1, 1);

	pool_set_target(p, 3);
	pool_reconcile(p, 11, &plan);
	ck_assert_uint_eq(plan.ncancel, 3);
	ck_assert_uint_eq(plan.cancel[0], 6);	/* queued, newest first */
	ck_assert_uint_eq(plan.cancel[1], 5);
	ck_assert_uint_eq(plan.cancel[2], 4);	/* then idle running */
	ck_assert_uint_eq(plan.ndrain, 0);
	cancel_all(p, &plan);

	pool_set_target(p, 0);
	pool_reconcile(p, 12, &plan);
	ck_assert_uint_eq(plan.ncancel, 1);
	ck_assert_uint_eq(plan.cancel[0], 3);
	ck_assert_uint_eq(plan.ndrain, 2);	/* the busy ones */
	ck_assert_uint_eq(plan.drain[0], 2);
	ck_assert_uint_eq(plan.drain[1], 1);
	cancel_all(p, &plan);
	/* Their tasks end: now they are cancelled. */
	pool_set_busy(p, ids[1], -1, 0);
	pool_reconcile(p, 13, &plan);
	ck_assert_uint_eq(plan.ncancel, 1);
	ck_assert_uint_eq(plan.cancel[0], 2);
	ck_assert_uint_eq(plan.submit, 0);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

START_TEST(head_job_counts_and_stays)
{
	struct pool_params prm = params(2);
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };

	pool_add_head(p, "77", 3, 0);
	pool_set_target(p, 4);
	pool_reconcile(p, 1, &plan);
	ck_assert_uint_eq(plan.submit, 1);	/* 3 + 2 >= 4 */
	submit_ok(p, &plan, 1);
	pool_set_target(p, 0);
	pool_reconcile(p, 2, &plan);
	ck_assert_uint_eq(plan.ncancel, 1);
	ck_assert_uint_ne(plan.cancel[0], 1);	/* not the head job */
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

START_TEST(ended_jobs_are_replaced)
{
	struct pool_params prm = params(1);
	prm.arrays = 0;
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };
	char id[32];

	pool_set_target(p, 1);
	pool_reconcile(p, 0, &plan);
	snprintf(id, sizeof(id), "%u", next_id);
	submit_ok(p, &plan, 0);
	pool_worker_joined(p, id, -1, 5);
	/* Walltime in a listing: replaced, and not a failure. */
	struct pool_seen s = { .id = id, .index = -1,
			       .state = JOB_STATE_ENDED,
			       .end = JOB_END_WALLTIME, .raw = "TO" };
	pool_observe(p, &s, 1, NULL, NULL, 100);
	ck_assert_ptr_null(pool_paused(p));
	pool_reconcile(p, 101, &plan);
	ck_assert_uint_eq(plan.submit, 1);
	snprintf(id, sizeof(id), "%u", next_id);
	submit_ok(p, &plan, 101);
	/* Its workers drop: replaced at once, without a listing. */
	pool_worker_joined(p, id, -1, 102);
	pool_worker_left(p, id, -1, 150);
	pool_reconcile(p, 151, &plan);
	ck_assert_uint_eq(plan.submit, 1);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

START_TEST(requeued_job_not_counted_twice)
{
	struct pool_params prm = params(1);
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };
	char id[32];

	pool_set_target(p, 1);
	pool_reconcile(p, 0, &plan);
	snprintf(id, sizeof(id), "%u", next_id);
	submit_ok(p, &plan, 0);
	struct pool_seen s = { .id = id, .index = -1,
			       .state = JOB_STATE_RUNNING, .raw = "R" };
	pool_observe(p, &s, 1, NULL, NULL, 10);
	s.state = JOB_STATE_QUEUED;		/* requeued: same id */
	s.raw = "PD";
	pool_observe(p, &s, 1, NULL, NULL, 20);
	pool_reconcile(p, 21, &plan);
	ck_assert_uint_eq(plan.submit, 0);
	ck_assert_uint_eq(live_jobs(p), 1);
	/* An unknown code keeps the state and shows the raw code. */
	s.state = JOB_STATE_UNKNOWN;
	s.raw = "ZZ";
	pool_observe(p, &s, 1, NULL, NULL, 30);
	struct pool_job *j = pool_find(p, id, -1);
	ck_assert_int_eq(j->state, JOB_STATE_QUEUED);
	ck_assert_str_eq(j->raw, "ZZ");
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

static const char *name_of(void *arg, uint64_t seq)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s-%llu", (const char *)arg,
		 (unsigned long long)seq);
	return buf;
}

/* A submit that timed out but made the job: one job, not two. */
START_TEST(unanswered_submit_found_by_name)
{
	struct pool_params prm = params(1);
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };

	pool_set_target(p, 1);
	pool_reconcile(p, 0, &plan);
	ck_assert_uint_eq(plan.submit, 1);
	uint64_t seq = plan.first_seq;
	pool_submit_started(p, seq, 1, 0);
	pool_submit_failed(p, seq, 1, POOL_FAIL_TRANSIENT, 1,
			   "Socket timed out on send/recv operation", 0);
	/* Until a listing says, nothing more is submitted. */
	pool_reconcile(p, 100, &plan);
	ck_assert_uint_eq(plan.submit, 0);
	struct pool_seen s = { .id = "555", .index = -1, .name = "c-1",
			       .state = JOB_STATE_QUEUED, .raw = "PD" };
	pool_observe(p, &s, 1, name_of, (void *)"c", 101);
	struct pool_job *j = pool_find(p, "555", -1);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(j->seq, seq);
	pool_reconcile(p, 200, &plan);
	ck_assert_uint_eq(plan.submit, 0);
	ck_assert_uint_eq(live_jobs(p), 1);

	/* The same, when the listing does not show it: submit again. */
	pool_set_target(p, 2);
	pool_reconcile(p, 300, &plan);
	seq = plan.first_seq;
	pool_submit_started(p, seq, 1, 300);
	pool_submit_failed(p, seq, 1, POOL_FAIL_TRANSIENT, 1, "timed out",
			   300);
	pool_observe(p, &s, 1, name_of, (void *)"c", 301);
	ck_assert_uint_eq(live_jobs(p), 1);
	pool_reconcile(p, 400, &plan);
	ck_assert_uint_eq(plan.submit, 1);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

/* An unanswered submission whose name an earlier job of the cluster also
 * had (Slurm lists ended jobs for an hour): the job in the queue is
 * ours, the ended one is left alone, and nothing more is submitted.  The
 * same for an array's elements, which carry its first job's name. */
START_TEST(unanswered_submit_beside_an_old_name)
{
	struct pool_params prm = params(1);
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };
	double t = 5000;

	pool_set_target(p, 1);
	pool_reconcile(p, t, &plan);
	uint64_t seq = plan.first_seq;
	pool_submit_started(p, seq, 1, t);
	pool_submit_failed(p, seq, 1, POOL_FAIL_TRANSIENT, 1, "exit status 1", t);
	struct pool_seen s[] = {
		{ .id = "400", .index = -1, .name = "c-1", .submitted = 100,
		  .state = JOB_STATE_ENDED, .end = JOB_END_CANCELLED, .raw = "CA" },
		{ .id = "401", .index = -1, .name = "c-1", .submitted = t - 10,
		  .state = JOB_STATE_ENDED, .end = JOB_END_CANCELLED, .raw = "CA" },
		{ .id = "555", .index = -1, .name = "c-1", .submitted = t + 1,
		  .state = JOB_STATE_QUEUED, .raw = "PD" },
	};
	pool_observe(p, s, 3, name_of, (void *)"c", t + 2);
	ck_assert_ptr_nonnull(pool_find(p, "555", -1));
	ck_assert_ptr_null(pool_find(p, "400", -1));
	ck_assert_ptr_null(pool_find(p, "401", -1));
	ck_assert_uint_eq(live_jobs(p), 1);
	pool_reconcile(p, t + 100, &plan);
	ck_assert_uint_eq(plan.submit, 0);

	/* Only an ended one, submitted long before ours: not ours. */
	pool_set_target(p, 2);
	pool_reconcile(p, t + 200, &plan);
	seq = plan.first_seq;
	pool_submit_started(p, seq, 1, t + 200);
	pool_submit_failed(p, seq, 1, POOL_FAIL_TRANSIENT, 1, "timed out",
			   t + 200);
	struct pool_seen old = { .id = "300", .index = -1, .name = "c-2",
				 .submitted = 50, .state = JOB_STATE_ENDED,
				 .end = JOB_END_COMPLETED, .raw = "CD" };
	pool_observe(p, &old, 1, name_of, (void *)"c", t + 201);
	ck_assert_ptr_null(pool_find(p, "300", -1));
	ck_assert_ptr_null(pool_find_seq(p, seq));
	pool_plan_release(&plan);
	pool_destroy(p);

	/* An array of 2 whose answer was lost, beside an old job c-1. */
	p = pool_create(&prm);
	pool_set_target(p, 2);
	pool_reconcile(p, t, &plan);
	ck_assert_uint_eq(plan.submit, 2);
	seq = plan.first_seq;
	pool_submit_started(p, seq, 2, t);
	pool_submit_failed(p, seq, 2, POOL_FAIL_TRANSIENT, 1, "timed out", t);
	struct pool_seen a[] = {
		{ .id = "400", .index = -1, .name = "c-1", .submitted = 100,
		  .state = JOB_STATE_ENDED, .end = JOB_END_CANCELLED, .raw = "CA" },
		{ .id = "410", .index = 0, .name = "c-1", .submitted = 200,
		  .state = JOB_STATE_ENDED, .end = JOB_END_CANCELLED, .raw = "CA" },
		{ .id = "600", .index = 0, .name = "c-1", .submitted = t,
		  .state = JOB_STATE_RUNNING, .raw = "R" },
		{ .id = "600", .index = 1, .name = "c-1", .submitted = t,
		  .state = JOB_STATE_QUEUED, .raw = "PD" },
	};
	pool_observe(p, a, 4, name_of, (void *)"c", t + 1);
	ck_assert_uint_eq(pool_find(p, "600", 0)->seq, seq);
	ck_assert_uint_eq(pool_find(p, "600", 1)->seq, seq + 1);
	ck_assert_ptr_null(pool_find(p, "410", 0));
	ck_assert_uint_eq(live_jobs(p), 2);
	pool_reconcile(p, t + 100, &plan);
	ck_assert_uint_eq(plan.submit, 0);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

START_TEST(failure_classes)
{
	struct pool_params prm = params(1);
	prm.backoff_min = 10;
	prm.backoff_max = 40;
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };
	double t = 0;

	pool_set_target(p, 1);
	/* Transient: backs off 10, 20, 40, 40. */
	double waits[] = { 10, 20, 40, 40 };
	for (int k = 0; k < 4; k++) {
		pool_reconcile(p, t, &plan);
		ck_assert_uint_eq(plan.submit, 1);
		pool_submit_started(p, plan.first_seq, 1, t);
		pool_submit_failed(p, plan.first_seq, 1, POOL_FAIL_TRANSIENT,
				   0, "server busy", t);
		pool_reconcile(p, t + waits[k] - 1, &plan);
		ck_assert_uint_eq(plan.submit, 0);
		ck_assert_ptr_nonnull(pool_waiting(p, t));
		t += waits[k];
	}
	ck_assert_str_eq(pool_last_error(p), "server busy");
	/* A site limit: waits until one of our jobs ends. */
	pool_reconcile(p, t, &plan);
	ck_assert_uint_eq(plan.submit, 1);
	char id[32];
	snprintf(id, sizeof(id), "%u", next_id);
	submit_ok(p, &plan, t);
	pool_set_target(p, 2);
	pool_reconcile(p, t + 1, &plan);
	ck_assert_uint_eq(plan.submit, 1);
	pool_submit_started(p, plan.first_seq, 1, t + 1);
	pool_submit_failed(p, plan.first_seq, 1, POOL_FAIL_LIMIT, 0,
			   "AssocMaxSubmitJobLimit", t + 1);
	pool_reconcile(p, t + 1000, &plan);
	ck_assert_uint_eq(plan.submit, 0);
	struct pool_seen s = { .id = id, .index = -1,
			       .state = JOB_STATE_ENDED,
			       .end = JOB_END_COMPLETED };
	pool_observe(p, &s, 1, NULL, NULL, t + 1001);
	pool_reconcile(p, t + 1002, &plan);
	ck_assert_uint_ge(plan.submit, 1);
	/* Permanent: paused with the message until resumed. */
	pool_submit_started(p, plan.first_seq, plan.submit, t + 1002);
	pool_submit_failed(p, plan.first_seq, plan.submit,
			   POOL_FAIL_PERMANENT, 0,
			   "invalid partition specified: nope", t + 1002);
	ck_assert_ptr_nonnull(pool_paused(p));
	ck_assert_ptr_nonnull(strstr(pool_paused(p), "invalid partition"));
	pool_reconcile(p, t + 5000, &plan);
	ck_assert_uint_eq(plan.submit, 0);
	pool_resume(p);
	pool_reconcile(p, t + 5001, &plan);
	ck_assert_uint_ge(plan.submit, 1);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

START_TEST(pause_after_jobs_that_never_join)
{
	struct pool_params prm = params(1);
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };
	char id[32];

	pool_set_target(p, 1);
	for (int k = 0; k < 5; k++) {
		ck_assert_ptr_null(pool_paused(p));
		pool_reconcile(p, k * 10, &plan);
		ck_assert_uint_eq(plan.submit, 1);
		snprintf(id, sizeof(id), "%u", next_id);
		submit_ok(p, &plan, k * 10);
		struct pool_seen s = { .id = id, .index = -1,
				       .state = JOB_STATE_ENDED,
				       .end = JOB_END_FAILED,
				       .reason = "NonZeroExitCode" };
		pool_observe(p, &s, 1, NULL, NULL, k * 10 + 5);
	}
	ck_assert_ptr_nonnull(pool_paused(p));
	ck_assert_ptr_nonnull(strstr(pool_paused(p), "5 jobs in a row"));
	pool_reconcile(p, 100, &plan);
	ck_assert_uint_eq(plan.submit, 0);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

/* An unlisted job gets its grace, then a history lookup; one the history
 * does not know is lost and replaced, and does not hold up the others. */
START_TEST(missing_jobs)
{
	struct pool_params prm = params(1);
	prm.arrays = 0;
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };
	char a[32], b[32];
	uint64_t due[8];

	pool_set_target(p, 2);
	pool_reconcile(p, 0, &plan);
	snprintf(a, sizeof(a), "%u", next_id);
	submit_ok(p, &plan, 0);
	pool_reconcile(p, 0, &plan);
	snprintf(b, sizeof(b), "%u", next_id);
	submit_ok(p, &plan, 0);
	struct pool_seen s = { .id = b, .index = -1,
			       .state = JOB_STATE_RUNNING, .raw = "R" };
	pool_observe(p, &s, 1, NULL, NULL, 5);	/* a not listed yet */
	ck_assert_uint_eq(pool_history_due(p, due, 8, 5), 0);
	pool_observe(p, &s, 1, NULL, NULL, 40);
	ck_assert_uint_eq(pool_history_due(p, due, 8, 40), 1);
	ck_assert_uint_eq(pool_history_due(p, due + 1, 7, 41), 0);
	pool_history(p, due, 1, NULL, 0, 42);
	struct pool_job *ja = pool_find(p, a, -1);
	ck_assert_int_eq(ja->state, JOB_STATE_ENDED);
	ck_assert_int_eq(ja->end, JOB_END_LOST);
	ck_assert_int_eq(pool_find(p, b, -1)->state, JOB_STATE_RUNNING);
	pool_reconcile(p, 43, &plan);
	ck_assert_uint_eq(plan.submit, 1);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

/* Walltime: the replacement is queued before the drain, the drain comes
 * before the end, and the drained job is cancelled once idle. */
START_TEST(walltime_drain_and_replace)
{
	struct pool_params prm = params(1);
	prm.walltime = 600;
	prm.drain_margin = 60;
	prm.replace_lead = 120;
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };
	char id[32];

	pool_set_target(p, 1);
	pool_reconcile(p, 0, &plan);
	snprintf(id, sizeof(id), "%u", next_id);
	submit_ok(p, &plan, 0);
	pool_worker_joined(p, id, -1, 0);
	pool_set_busy(p, id, -1, 1);
	struct pool_job *j = pool_find(p, id, -1);
	ck_assert(j->deadline == 600);
	double drain_at = 600 - 60 - (double)(j->seq % 4) * 15;
	pool_reconcile(p, drain_at - 121, &plan);
	ck_assert_uint_eq(plan.submit, 0);
	pool_reconcile(p, drain_at - 119, &plan);
	ck_assert_uint_eq(plan.submit, 1);	/* replacement, in time */
	submit_ok(p, &plan, drain_at - 119);
	pool_reconcile(p, drain_at - 1, &plan);
	ck_assert_uint_eq(plan.ndrain, 0);
	pool_reconcile(p, drain_at, &plan);
	ck_assert_uint_eq(plan.ndrain, 1);
	ck_assert_uint_eq(plan.ncancel, 0);	/* busy: not killed */
	ck_assert_uint_eq(plan.submit, 0);
	pool_set_busy(p, id, -1, 0);
	pool_reconcile(p, drain_at + 10, &plan);
	ck_assert_uint_eq(plan.ncancel, 1);
	ck_assert_uint_eq(plan.submit, 0);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

START_TEST(ended_table_is_bounded)
{
	struct pool_params prm = params(1);
	prm.arrays = 0;
	struct pool *p = pool_create(&prm);
	struct pool_plan plan = { 0 };
	char id[32];

	pool_set_target(p, 1);
	for (int k = 0; k < 500; k++) {
		pool_reconcile(p, k, &plan);
		ck_assert_uint_eq(plan.submit, 1);
		snprintf(id, sizeof(id), "%u", next_id);
		submit_ok(p, &plan, k);
		pool_worker_joined(p, id, -1, k);
		struct pool_seen s = { .id = id, .index = -1,
				       .state = JOB_STATE_ENDED,
				       .end = JOB_END_WALLTIME };
		pool_observe(p, &s, 1, NULL, NULL, k + 0.5);
	}
	ck_assert_uint_le(pool_njobs(p), POOL_KEEP_ENDED + 1);
	pool_plan_release(&plan);
	pool_destroy(p);
}
END_TEST

START_TEST(adapt_hysteresis)
{
	struct adapt a;
	struct adapt_demand d = { .cores = 10, .memory = 0 };

	adapt_init(&a, 1, 8, 60);
	ck_assert_uint_eq(adapt_wanted(&d, 2, 0, 0), 5);
	d.memory = 7ull << 30;
	ck_assert_uint_eq(adapt_wanted(&d, 4, 1ull << 30, 0), 7);
	d.gpus = 18;			/* 9 workers of 2 GPUs */
	ck_assert_uint_eq(adapt_wanted(&d, 4, 1ull << 30, 2), 9);
	ck_assert_uint_eq(adapt_wanted(&d, 4, 1ull << 30, 4), 7);
	d.gpus = 0;
	ck_assert_uint_eq(adapt_step(&a, 0, 0), 1);	/* the lower bound */
	ck_assert_uint_eq(adapt_step(&a, 20, 1), 8);	/* grows at once, clamped */
	/* A lull shorter than the idle timeout: no shrink; a second burst
	 * finds the pool as it was. */
	ck_assert_uint_eq(adapt_step(&a, 0, 10), 8);
	ck_assert_uint_eq(adapt_step(&a, 0, 30), 8);
	ck_assert_uint_eq(adapt_step(&a, 6, 50), 8);
	ck_assert_uint_eq(adapt_step(&a, 8, 55), 8);
	/* A long lull: shrinks after the idle timeout and enough low
	 * readings, to the highest of them. */
	ck_assert_uint_eq(adapt_step(&a, 2, 100), 8);
	ck_assert_uint_eq(adapt_step(&a, 3, 130), 8);
	ck_assert_uint_eq(adapt_step(&a, 1, 159), 8);
	ck_assert_uint_eq(adapt_step(&a, 1, 161), 3);
	ck_assert_uint_eq(adapt_step(&a, 0, 300), 3);
	ck_assert_uint_eq(adapt_step(&a, 0, 330), 3);
	ck_assert_uint_eq(adapt_step(&a, 0, 361), 1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, scale_in_whole_jobs);
	tcase_add_test(tc, arrays_off_one_job_per_command);
	tcase_add_test(tc, array_chunks_within_limit);
	tcase_add_test(tc, max_queued_caps_waiting_jobs);
	tcase_add_test(tc, scale_down_order);
	tcase_add_test(tc, head_job_counts_and_stays);
	tcase_add_test(tc, ended_jobs_are_replaced);
	tcase_add_test(tc, requeued_job_not_counted_twice);
	tcase_add_test(tc, unanswered_submit_found_by_name);
	tcase_add_test(tc, unanswered_submit_beside_an_old_name);
	tcase_add_test(tc, failure_classes);
	tcase_add_test(tc, pause_after_jobs_that_never_join);
	tcase_add_test(tc, missing_jobs);
	tcase_add_test(tc, walltime_drain_and_replace);
	tcase_add_test(tc, ended_table_is_bounded);
	tcase_add_test(tc, adapt_hysteresis);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
