/*
 * check_exec_times: the three spans exec reports for a run, with real
 * child processes on a real event loop: spawn (exec_start to the child
 * running), runtime (the child's own run) and output (its exit seen to
 * its output in the worker log).  Each is above zero, the run holds what
 * the command itself waited, the three fit in the time the test saw, and
 * the output they time is in the log when the run is reported.  Apart
 * from check_exec so the times are one suite of their own.
 */
#include <check.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>

#include "state/worklog.h"
#include "util/strbuf.h"
#include "worker/exec.h"

static struct event_base *base;
static struct exec *ex;
static char tmp[64];

static struct {
	int done;
	task_id_t id;
	struct task_result res;
	double wall;			/* exec_start to the callback, s */
	size_t logged;			/* stdout in the log at the callback */
} seen;
static struct timespec started;

static double since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void record(void *arg, task_id_t id, const struct task_result *res)
{
	struct strbuf out = STRBUF_INIT;
	struct err err = { "" };

	(void)arg;
	seen.wall = since(&started);
	seen.done = 1;
	seen.id = id;
	seen.res = *res;
	seen.res.reason = NULL;
	if (worklog_read(tmp, id, 1, TASK_STDOUT, &out, NULL, NULL, &err) > 0)
		seen.logged = out.len;
	strbuf_release(&out);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ex = exec_create(base, "w1", record, NULL);
	ck_assert_ptr_nonnull(ex);
	memset(&seen, 0, sizeof(seen));
	snprintf(tmp, sizeof(tmp), "/tmp/check_exec_times.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
	exec_destroy(ex);
	ex = NULL;
	event_base_free(base);
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Start `t` and run the loop until it is reported (or 20 s pass). */
static void run_one(const struct exec_task *t)
{
	struct err err = { "" };
	int expired = 0;
	struct timeval tv = { 20, 0 };
	struct event *timer = evtimer_new(base, on_timeout, &expired);

	clock_gettime(CLOCK_MONOTONIC, &started);
	ck_assert_msg(exec_start(ex, t, &err) == 0, "exec_start: %s", err.text);
	evtimer_add(timer, &tv);
	while (!seen.done && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(timer);
	ck_assert_msg(seen.done, "task %llu not reported",
		      (unsigned long long)t->id);
	ck_assert_uint_eq(seen.id, t->id);
}

/* The three spans are each there and together no longer than the run
 * took as the test saw it. */
static void spans_fit(void)
{
	const struct task_result *r = &seen.res;

	ck_assert_msg(r->spawn > 0, "spawn %g s", r->spawn);
	ck_assert_msg(r->runtime > 0, "runtime %g s", r->runtime);
	ck_assert_msg(r->output > 0, "output %g s", r->output);
	ck_assert_msg(r->spawn + r->runtime + r->output <= seen.wall,
		      "spawn %g + runtime %g + output %g s > %g s seen",
		      r->spawn, r->runtime, r->output, seen.wall);
}

START_TEST(test_run_holds_the_command)
{
	char *argv[] = { (char *)"sleep", (char *)"0.3", NULL };
	struct exec_task t = { .id = 1, .argv = argv, .attempt = 1 };

	run_one(&t);
	ck_assert_int_eq(seen.res.exit_code, 0);
	spans_fit();
	/* The child may exec and start its sleep before the worker reads
	 * the clock after posix_spawn (a busy machine): only spawn and run
	 * together are sure to hold the whole sleep. */
	ck_assert_msg(seen.res.spawn + seen.res.runtime >= 0.3,
		      "spawn %g + runtime %g s", seen.res.spawn,
		      seen.res.runtime);
	ck_assert_msg(seen.res.runtime >= 0.2, "runtime %g s",
		      seen.res.runtime);
}
END_TEST

/* Output left in the pipe when the task exits is read into the worker
 * log within the output span: the log holds it at the report. */
START_TEST(test_output_in_place)
{
	char *argv[] = { (char *)"head", (char *)"-c", (char *)"60000",
			 (char *)"/dev/zero", NULL };
	struct exec_task t = { .id = 2, .argv = argv, .attempt = 1,
			       .log_dir = tmp };

	run_one(&t);
	ck_assert_int_eq(seen.res.exit_code, 0);
	spans_fit();
	ck_assert_uint_eq(seen.logged, 60000);
}
END_TEST

/* Files of its own: no worker log, the spans are there all the same. */
START_TEST(test_files)
{
	char *argv[] = { (char *)"sh", (char *)"-c",
			 (char *)"echo out; echo err >&2", NULL };
	char out[128], err[128];
	struct exec_task t = { .id = 3, .argv = argv, .attempt = 1,
			       .stdout_path = out, .stderr_path = err };

	snprintf(out, sizeof(out), "%s/new/3.out", tmp);
	snprintf(err, sizeof(err), "%s/new/3.err", tmp);
	run_one(&t);
	ck_assert_int_eq(seen.res.exit_code, 0);
	spans_fit();
}
END_TEST

static Suite *exec_times_suite(void)
{
	Suite *s = suite_create("exec_times");
	TCase *tc = tcase_create("spans");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_run_holds_the_command);
	tcase_add_test(tc, test_output_in_place);
	tcase_add_test(tc, test_files);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(exec_times_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
