/*
 * sched: what the task table costs in memory.  Cancelling tasks that never
 * started costs O(1) per range, not per task; ended tasks' records are
 * bounded; a request that cannot be allocated is refused, not an abort.
 * Memory is read as the process's VmRSS, so these run in their own suite,
 * each test in a process of its own (Check's fork mode).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sched/sched.h"

#define MiB (1024ULL * 1024)
/* what "costs nothing per task" may still cost */
#define SMALL (4 * MiB)

struct rec {
	uint64_t ended, killed;
	task_id_t last_ended;
	int in_order;
	task_id_t assigned[1024];
	size_t nassigned;
};

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct rec *r = arg;

	(void)w;
	if (r->nassigned < sizeof(r->assigned) / sizeof(*r->assigned))
		r->assigned[r->nassigned++] = id;
}

static void on_kill(void *arg, worker_id_t w, task_id_t id)
{
	struct rec *r = arg;

	(void)w;
	(void)id;
	r->killed++;
}

static void on_ended(void *arg, task_id_t id)
{
	struct rec *r = arg;

	if (id <= r->last_ended)
		r->in_order = 0;
	r->last_ended = id;
	r->ended++;
}

static struct rec rec;
static struct sched *s;

static void setup(void)
{
	struct sched_hooks h = { 0 };

	memset(&rec, 0, sizeof(rec));
	rec.in_order = 1;
	h.arg = &rec;
	h.assign = on_assign;
	h.kill = on_kill;
	h.ended = on_ended;
	s = sched_create(&h);
	ck_assert_ptr_nonnull(s);
}

static void teardown(void)
{
	sched_destroy(s);
}

/* A field of /proc/self/status in bytes ("VmRSS", "VmSize"). */
static uint64_t status_bytes(const char *field)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	size_t len = strlen(field);
	unsigned long long kb = 0;

	ck_assert_ptr_nonnull(fp);
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, field, len) && line[len] == ':')
			sscanf(line + len + 1, "%llu", &kb);
	fclose(fp);
	ck_assert_uint_gt(kb, 0);
	return kb * 1024;
}

static char *const argv_true[] = { (char *)"/bin/true", NULL };

static task_id_t submit_array(uint64_t n)
{
	struct task_spec sp = { .argv = argv_true, .cores = 1, .is_array = 1,
				.array_first = 0,
				.array_last = (int64_t)n - 1 };
	task_id_t first;
	uint64_t count;
	struct err err;

	ck_assert_msg(sched_submit(s, &sp, &first, &count, &err) == 0, "%s",
		      err.text);
	ck_assert_uint_eq(count, n);
	return first;
}

static task_id_t submit_one(void)
{
	struct task_spec sp = { .argv = argv_true, .cores = 1 };
	task_id_t first;
	struct err err;

	ck_assert_msg(sched_submit(s, &sp, &first, NULL, &err) == 0, "%s",
		      err.text);
	return first;
}

static void finish(task_id_t id, worker_id_t w, int code, int sig,
		   double runtime, const char *reason)
{
	struct task_result res = { .exit_code = code, .signal = sig,
				   .runtime = runtime, .reason = reason };

	sched_task_finished(s, id, w, &res);
}

static struct task_info info(task_id_t id)
{
	struct task_info ti;

	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	return ti;
}

static uint64_t count_of(enum task_state st)
{
	struct sched_counts c;

	sched_counts(s, &c);
	return c.state[st];
}

#if defined(__SANITIZE_ADDRESS__)
#define NO_RLIMIT_AS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_RLIMIT_AS 1
#endif
#endif

#ifndef NO_RLIMIT_AS
/* Lower the soft address-space limit to what is mapped now plus `room`;
 * returns the old limit.  Sanitizers map far more than they use, so
 * their builds skip the tests that need this. */
static struct rlimit limit_memory(uint64_t room)
{
	struct rlimit old, rl;

	ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
	rl = old;
	rl.rlim_cur = status_bytes("VmSize") + room;
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
	return old;
}
#endif

/* --- cancelling ---------------------------------------------------------- */

START_TEST(cancel_range_of_an_array_costs_no_memory_per_task)
{
	const uint64_t n = 100000000;
	task_id_t first = submit_array(n);
	uint64_t before = status_bytes("VmRSS");
	struct err err;

	ck_assert_int_eq(sched_cancel_range(s, first, first + n - 1, &err),
			 (int64_t)n);
	uint64_t grew = status_bytes("VmRSS") - before;
	ck_assert_msg(grew < SMALL, "cancelling %llu tasks took %llu KiB",
		      (unsigned long long)n, (unsigned long long)(grew >> 10));
	ck_assert_uint_eq(count_of(TASK_CANCELLED), n);
	ck_assert_uint_eq(rec.ended, n);
	ck_assert(rec.in_order);
	ck_assert_int_eq(sched_idle(s), 1);

	struct task_info ti = info(first + n / 2);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_str_eq(ti.reason, "cancelled");
	ck_assert(ti.end_time > 0);
	ck_assert_uint_eq(ti.attempts, 0);
	ck_assert_int_eq(ti.worker, -1);
	ck_assert_int_eq(ti.array_index, (int64_t)(n / 2));
	/* once more: all ended, nothing to do */
	ck_assert_int_eq(sched_cancel_range(s, first, first + n - 1, &err), 0);
	ck_assert_uint_eq(rec.ended, n);
}
END_TEST

START_TEST(cancel_one_by_one_costs_no_memory_per_task)
{
	const uint64_t n = 10000000;
	task_id_t first = submit_array(n);
	uint64_t before = status_bytes("VmRSS"), refused = 0;
	struct err err;

	/* no assertion per call: Check records each one, which a sanitizer's
	 * quarantine would count */
	for (uint64_t i = 0; i < n; i++)
		refused += sched_cancel(s, first + i, &err) != 0;
	uint64_t grew = status_bytes("VmRSS") - before;
	ck_assert_uint_eq(refused, 0);
	ck_assert_msg(grew < SMALL, "cancelling %llu tasks took %llu KiB",
		      (unsigned long long)n, (unsigned long long)(grew >> 10));
	ck_assert_uint_eq(count_of(TASK_CANCELLED), n);
	ck_assert_uint_eq(rec.ended, n);
	for (uint64_t i = 0; i < n; i += n / 7) {
		struct task_info ti = info(first + i);
		ck_assert_int_eq(ti.state, TASK_CANCELLED);
		ck_assert_str_eq(ti.reason, "cancelled");
		ck_assert(ti.end_time > 0);
	}
}
END_TEST

START_TEST(cancel_range_keeps_what_started)
{
	task_id_t first = submit_array(1000);
	worker_id_t w = sched_worker_add(s, "w", 10, 0);
	struct worker_info wi;
	struct err err;

	sched_dispatch(s);
	ck_assert_uint_eq(rec.nassigned, 10);
	for (task_id_t id = first; id < first + 4; id++)
		finish(id, w, 0, 0, 2.5, NULL);
	finish(first + 4, w, 2, 0, 1.0, NULL);
	double before = info(first + 20).submit_time;

	/* a range in the middle first, then all of it */
	ck_assert_int_eq(sched_cancel_range(s, first + 500, first + 599, &err),
			 100);
	ck_assert_int_eq(info(first + 499).state, TASK_QUEUED);
	ck_assert_int_eq(info(first + 600).state, TASK_QUEUED);
	double mid_time = info(first + 550).end_time;
	ck_assert(mid_time >= before);
	ck_assert_int_eq(sched_cancel_range(s, first, first + 999, &err),
			 1000 - 5 - 100);
	ck_assert_uint_eq(rec.killed, 5);
	ck_assert_uint_eq(rec.ended, 1000);
	ck_assert_uint_eq(count_of(TASK_DONE), 4);
	ck_assert_uint_eq(count_of(TASK_FAILED), 1);
	ck_assert_uint_eq(count_of(TASK_CANCELLED), 995);
	ck_assert_int_eq(sched_worker(s, w, &wi), 0);
	ck_assert_uint_eq(wi.cores_used, 0);
	ck_assert_uint_eq(wi.running, 0);

	/* ran: results kept */
	struct task_info ti = info(first + 1);
	ck_assert_int_eq(ti.state, TASK_DONE);
	ck_assert_int_eq(ti.worker, w);
	ck_assert_uint_eq(ti.attempts, 1);
	ck_assert(fabs(ti.runtime - 2.5) < 1e-9);
	ti = info(first + 4);
	ck_assert_int_eq(ti.state, TASK_FAILED);
	ck_assert_int_eq(ti.exit_code, 2);
	ck_assert_str_eq(ti.reason, "exit code 2");
	/* running when cancelled: its run is kept, its report ignored */
	ti = info(first + 7);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_int_eq(ti.worker, w);
	ck_assert_uint_eq(ti.attempts, 1);
	ck_assert(ti.end_time > 0);
	finish(first + 7, w, 0, 0, 1.0, NULL);
	ck_assert_int_eq(info(first + 7).state, TASK_CANCELLED);
	/* never started: the time of the cancel that took it */
	ti = info(first + 550);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_uint_eq(ti.attempts, 0);
	ck_assert_int_eq(ti.worker, -1);
	ck_assert(ti.end_time == mid_time);
	ti = info(first + 999);
	ck_assert_str_eq(ti.reason, "cancelled");
	ck_assert(ti.end_time >= mid_time);
	sched_dispatch(s);
	ck_assert_uint_eq(rec.nassigned, 10);
	ck_assert_int_eq(sched_idle(s), 1);
}
END_TEST

START_TEST(cancel_range_over_several_submissions)
{
	struct task_spec sp = { .argv = argv_true, .cores = 1 };
	task_id_t a = submit_one(), b = submit_array(5), c = submit_one();
	task_id_t dep, first;
	struct err err;

	sp.after = &c;
	sp.nafter = 1;
	ck_assert_int_eq(sched_submit(s, &sp, &dep, NULL, &err), 0);
	sp.after = NULL;
	sp.nafter = 0;
	sp.is_array = 1;
	sp.array_first = 1;
	sp.array_last = 3;
	ck_assert_int_eq(sched_submit(s, &sp, &first, NULL, &err), 0);

	ck_assert_int_eq(sched_cancel_range(s, 0, 3, &err), -1);
	ck_assert_str_eq(err.text, "unknown task 0");
	ck_assert_int_eq(sched_cancel_range(s, 3, 2, &err), -1);
	ck_assert_str_eq(err.text, "empty task range 3-2");
	ck_assert_int_eq(sched_cancel_range(s, a, first + 3, &err), -1);
	ck_assert_str_eq(err.text, "unknown task 12");
	ck_assert_int_eq(sched_cancel_range(s, 12, 20, &err), -1);
	ck_assert_str_eq(err.text, "unknown task 12");
	ck_assert_uint_eq(rec.ended, 0);

	ck_assert_int_eq(sched_cancel_range(s, a, c, &err), 7);
	ck_assert_int_eq(b, a + 1);
	ck_assert_uint_eq(count_of(TASK_CANCELLED), 8);
	ck_assert_str_eq(info(dep).reason, "dependency 7 cancelled");
	ck_assert_int_eq(info(first).state, TASK_QUEUED);
	ck_assert_uint_eq(rec.ended, 8);
	ck_assert(rec.in_order);
	ck_assert_int_eq(sched_cancel_range(s, first + 1, first + 1, &err), 1);
	ck_assert_int_eq(info(first).state, TASK_QUEUED);
	ck_assert_int_eq(info(first + 2).state, TASK_QUEUED);
}
END_TEST

START_TEST(cancel_refuses_what_it_cannot_allocate)
{
#ifdef NO_RLIMIT_AS
	return;
#else
	const uint64_t n = 10000000;
	task_id_t first = submit_array(n);
	struct rlimit old = limit_memory(32 * MiB);
	struct err err = { "" };
	uint64_t done = 0, i;

	/* every other task: a cancel run each, until none fits */
	for (i = 0; i < n; i += 2) {
		if (sched_cancel(s, first + i, &err) < 0)
			break;
		done++;
	}
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);
	ck_assert_msg(i < n, "memory never ran out");
	char want[64];
	snprintf(want, sizeof(want), "cannot cancel task %llu: out of memory",
		 (unsigned long long)(first + i));
	ck_assert_str_eq(err.text, want);
	ck_assert_int_eq(info(first + i).state, TASK_QUEUED);
	ck_assert_uint_eq(count_of(TASK_CANCELLED), done);
	ck_assert_uint_eq(rec.ended, done);
	ck_assert_int_eq(sched_cancel(s, first + i, &err), 0);
	ck_assert_int_eq(info(first + i).state, TASK_CANCELLED);
#endif
}
END_TEST

START_TEST(submit_refuses_what_it_cannot_allocate)
{
#ifdef NO_RLIMIT_AS
	return;
#else
	struct task_spec sp = { .argv = argv_true, .cores = 1 };
	struct rlimit old = limit_memory(32 * MiB);
	struct err err = { "" };
	uint64_t done = 0;
	task_id_t id;
	int rc;

	while ((rc = sched_submit(s, &sp, &id, NULL, &err)) == 0)
		done++;
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);
	ck_assert_str_eq(err.text, "cannot allocate 1 task");
	ck_assert_uint_eq(sched_last_id(s), done);
	ck_assert_uint_eq(count_of(TASK_QUEUED), done);
	ck_assert_int_eq(sched_submit(s, &sp, &id, NULL, &err), 0);
	ck_assert_uint_eq(id, done + 1);
#endif
}
END_TEST

/* --- ended tasks --------------------------------------------------------- */

static task_id_t run_one(worker_id_t w, int code, int sig, double runtime,
			 const char *reason)
{
	task_id_t id = submit_one();

	sched_dispatch(s);
	ck_assert_int_eq(info(id).state, TASK_RUNNING);
	finish(id, w, code, sig, runtime, reason);
	return id;
}

START_TEST(ended_records_are_compacted_past_the_limit)
{
	struct task_spec sp = { .argv = argv_true, .cores = 1,
				.max_worker_losses = 1 };
	worker_id_t w = sched_worker_add(s, "w", 1, 0), w2;
	struct task_info ti;
	task_id_t ok, code, sig, tl, spawn, lost, cancelled, last;
	struct err err;

	sched_set_detail_limit(s, 2);
	ok = run_one(w, 0, 0, 1.5, NULL);
	code = run_one(w, 3, 0, 0.25, NULL);
	sig = run_one(w, 0, 9, 100000.0, NULL);
	tl = run_one(w, 0, 15, 60.0, "time limit");
	spawn = run_one(w, 127, 0, 0.0, "spawn failed: no such file");
	ck_assert_int_eq(sched_submit(s, &sp, &lost, NULL, &err), 0);
	sched_dispatch(s);
	sched_worker_lost(s, w);
	w2 = sched_worker_add(s, "w2", 1, 0);
	cancelled = submit_one();
	sched_dispatch(s);
	ck_assert_int_eq(sched_cancel(s, cancelled, &err), 0);
	last = run_one(w2, 0, 0, 2.0, NULL);

	/* the last two keep everything */
	ti = info(last);
	ck_assert_int_eq(ti.worker, w2);
	ck_assert(ti.end_time > 0);
	ti = info(cancelled);
	ck_assert_int_eq(ti.worker, w2);
	ck_assert_str_eq(ti.reason, "cancelled");
	/* older ones: state, runs, exit status, runtime, reason */
	ti = info(ok);
	ck_assert_int_eq(ti.state, TASK_DONE);
	ck_assert_uint_eq(ti.attempts, 1);
	ck_assert_int_eq(ti.exit_code, 0);
	ck_assert_int_eq(ti.signal, 0);
	ck_assert(fabs(ti.runtime - 1.5) < 0.001);
	ck_assert_ptr_null(ti.reason);
	ck_assert_int_eq(ti.worker, -1);
	ti = info(code);
	ck_assert_int_eq(ti.state, TASK_FAILED);
	ck_assert_int_eq(ti.exit_code, 3);
	ck_assert(fabs(ti.runtime - 0.25) < 0.001);
	ck_assert_str_eq(ti.reason, "exit code 3");
	ti = info(sig);
	ck_assert_int_eq(ti.signal, 9);
	ck_assert(fabs(ti.runtime - 100000.0) < 100000.0 * 0.0005);
	ck_assert_str_eq(ti.reason, "killed by signal 9");
	ck_assert_str_eq(info(tl).reason, "time limit");
	ck_assert_str_eq(info(spawn).reason, "spawn failed");
	ti = info(lost);
	ck_assert_int_eq(ti.state, TASK_FAILED);
	ck_assert_str_eq(ti.reason, "lost 1 worker");

	/* a limit of 0 compacts every ended task at once */
	sched_set_detail_limit(s, 0);
	ti = info(cancelled);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_uint_eq(ti.attempts, 1);
	ck_assert_str_eq(ti.reason, "cancelled");
	ck_assert_int_eq(info(last).worker, -1);
	last = run_one(w2, 0, 0, 3.0, NULL);
	ti = info(last);
	ck_assert_int_eq(ti.state, TASK_DONE);
	ck_assert(fabs(ti.runtime - 3.0) < 0.002);
	ck_assert_uint_eq(count_of(TASK_DONE), 3);
	ck_assert_uint_eq(count_of(TASK_FAILED), 5);
}
END_TEST

START_TEST(ended_records_are_bounded)
{
	const uint64_t n = 1000000;
	task_id_t first = submit_array(n);
	worker_id_t w = sched_worker_add(s, "w", 1000, 0);
	uint64_t before = status_bytes("VmRSS"), ran = 0;

	sched_set_detail_limit(s, 1000);
	while (ran < n) {
		rec.nassigned = 0;
		sched_dispatch(s);
		ck_assert_uint_gt(rec.nassigned, 0);
		for (size_t k = 0; k < rec.nassigned; k++)
			finish(rec.assigned[k], w, 0, 0, 1.0, NULL);
		ran += rec.nassigned;
	}
	/* the 4-byte slot every task has had since its submission now
	 * holds its compact result: touched, not allocated */
	uint64_t grew = status_bytes("VmRSS") - before;
	ck_assert_msg(grew < SMALL + 4 * n,
		      "%llu tasks that ended took %llu KiB",
		      (unsigned long long)n, (unsigned long long)(grew >> 10));
	ck_assert_uint_eq(count_of(TASK_DONE), n);
	ck_assert_uint_eq(info(first).attempts, 1);
	ck_assert_int_eq(info(first).worker, -1);
	ck_assert_int_eq(info(first + n - 1).worker, w);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("sched_memory");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, cancel_range_of_an_array_costs_no_memory_per_task);
	tcase_add_test(tc, cancel_one_by_one_costs_no_memory_per_task);
	tcase_add_test(tc, cancel_range_keeps_what_started);
	tcase_add_test(tc, cancel_range_over_several_submissions);
	tcase_add_test(tc, cancel_refuses_what_it_cannot_allocate);
	tcase_add_test(tc, submit_refuses_what_it_cannot_allocate);
	tcase_add_test(tc, ended_records_are_compacted_past_the_limit);
	tcase_add_test(tc, ended_records_are_bounded);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
