/*
 * check_output: task pipes into the worker log (worker/output), through
 * the executor with real child processes: what each task wrote lands
 * under its own id when its slot's pipes are reused from task to task,
 * a process that escaped a task cannot write into a later task's output,
 * tasks that write more than a pipe holds keep all of it (watched late,
 * then from their start), and running many tasks leaves no descriptor
 * behind.
 */
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "state/worklog.h"
#include "util/strbuf.h"
#include "worker/exec.h"
#include "worker/output.h"

static char tmp[64];
static struct event_base *base;
static struct exec *ex;
static int ndone, nfailed;

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void record(void *arg, task_id_t id, const struct task_result *res)
{
	(void)arg;
	(void)id;
	ndone++;
	nfailed += res->exit_code != 0 || res->signal != 0;
}

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/check_output.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ex = exec_create(base, "w1", record, NULL);
	ck_assert_ptr_nonnull(ex);
	ndone = nfailed = 0;
}

static void teardown(void)
{
	exec_destroy(ex);
	event_base_free(base);
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void start(task_id_t id, const char *script)
{
	char *const argv[] = { (char *)"/bin/sh", (char *)"-c",
			       (char *)script, NULL };
	struct exec_task t = { .id = id, .argv = argv, .log_dir = tmp,
			       .attempt = 1 };
	struct err err = { "" };

	ck_assert_msg(exec_start(ex, &t, &err) == 0, "%s", err.text);
}

static void wait_done(int want)
{
	while (ndone < want)
		event_base_loop(base, EVLOOP_ONCE);
}

/* What task `id` wrote on `s`, from the logs in tmp (a string to free). */
static char *logged(task_id_t id, enum task_stream s)
{
	struct strbuf sb = STRBUF_INIT;
	struct err err = { "" };

	ck_assert_msg(worklog_read(tmp, id, 0, s, &sb, NULL, NULL, &err) >= 0,
		      "%s", err.text);
	return strbuf_detach(&sb, NULL);
}

static void assert_logged(task_id_t id, enum task_stream s, const char *want)
{
	char *got = logged(id, s);

	ck_assert_msg(!strcmp(got, want), "task %llu %s: '%s', not '%s'",
		      (unsigned long long)id, s == TASK_STDERR ? "stderr" :
		      "stdout", got, want);
	free(got);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

START_TEST(test_one_slot_many_tasks)
{
	char script[128];
	int before;

	/* The first task makes the slot's pipes; the rest reuse them. */
	start(1, "echo warm-up");
	wait_done(1);
	before = open_fds();
	for (int i = 2; i <= 60; i++) {
		snprintf(script, sizeof(script),
			 "echo out-%d; echo err-%d >&2%s", i, i,
			 i % 3 ? "" : "; exec >&-; echo closed-early >&2");
		start((task_id_t)i, script);
		wait_done(i);
	}
	ck_assert_int_eq(nfailed, 0);
	ck_assert_int_eq(open_fds(), before);
	for (int i = 2; i <= 60; i++) {
		char out[64], err[64];
		snprintf(out, sizeof(out), "out-%d\n", i);
		snprintf(err, sizeof(err), "err-%d\n%s", i,
			 i % 3 ? "" : "closed-early\n");
		assert_logged((task_id_t)i, TASK_STDOUT, out);
		assert_logged((task_id_t)i, TASK_STDERR, err);
	}
}
END_TEST

START_TEST(test_two_slots_interleaved)
{
	char script[128];
	int started = 0;

	/* Two in flight, ends in any order: each output stays its task's. */
	for (int i = 1; i <= 40; i++) {
		snprintf(script, sizeof(script), "%secho task-%d; echo e%d >&2",
			 i % 2 ? "sleep 0.01; " : "", i, i);
		start((task_id_t)i, script);
		started++;
		if (started - ndone >= 2)
			wait_done(ndone + 1);
	}
	wait_done(40);
	ck_assert_int_eq(nfailed, 0);
	for (int i = 1; i <= 40; i++) {
		char out[32], err[32];
		snprintf(out, sizeof(out), "task-%d\n", i);
		snprintf(err, sizeof(err), "e%d\n", i);
		assert_logged((task_id_t)i, TASK_STDOUT, out);
		assert_logged((task_id_t)i, TASK_STDERR, err);
	}
}
END_TEST

START_TEST(test_escaped_writer)
{
	struct timespec ts = { 0, 600 * 1000 * 1000 };
	char script[512], mark[128];
	struct stat st;

	/* A process in a session of its own outlives task 1 and its group's
	 * kill, and still holds task 1's stdout: that pipe must not become
	 * task 2's, or "late" would be logged as task 2's output.  Task 1
	 * ends only once the process is out of its group. */
	snprintf(mark, sizeof(mark), "%s/escaped", tmp);
	snprintf(script, sizeof(script),
		 "setsid sh -c 'touch %s; sleep 0.3; echo late; sleep 0.3; "
		 "echo later' & while [ ! -e %s ]; do sleep 0.01; done; "
		 "echo early", mark, mark);
	start(1, script);
	wait_done(1);
	ck_assert_int_eq(stat(mark, &st), 0);
	start(2, "sleep 0.4; echo second");
	wait_done(2);
	nanosleep(&ts, NULL);
	start(3, "echo third");
	wait_done(3);
	ck_assert_int_eq(nfailed, 0);
	assert_logged(1, TASK_STDOUT, "early\n");
	assert_logged(2, TASK_STDOUT, "second\n");
	assert_logged(3, TASK_STDOUT, "third\n");
}
END_TEST

START_TEST(test_more_than_a_pipe)
{
	/* Written in the first moments, read only when the task ends (no
	 * watch yet), then past a pipe's worth while it runs. */
	start(1, "head -c 65536 /dev/zero | tr '\\0' a; sleep 0.05; "
		 "head -c 300000 /dev/zero | tr '\\0' b");
	start(2, "head -c 100000 /dev/zero | tr '\\0' c >&2");
	wait_done(2);
	ck_assert_int_eq(nfailed, 0);
	char *out = logged(1, TASK_STDOUT), *err = logged(2, TASK_STDERR);
	ck_assert_uint_eq(strlen(out), 65536 + 300000);
	ck_assert_uint_eq(strspn(out, "a"), 65536);
	ck_assert_uint_eq(strspn(out + 65536, "b"), 300000);
	ck_assert_uint_eq(strlen(err), 100000);
	ck_assert_uint_eq(strspn(err, "c"), 100000);
	free(out);
	free(err);
	/* And the slots' pipes work for the next tasks: tasks that write
	 * much (watched from their start after the first full pipe), then
	 * enough that write little for the watch to start late again, then
	 * much again. */
	for (int i = 3; i <= 6; i++)
		start((task_id_t)i, "head -c 150000 /dev/zero | tr '\\0' d");
	wait_done(6);
	for (int i = 7; i <= 7 + OUTPUT_QUIET; i++) {
		start((task_id_t)i, "echo after; echo after-too >&2");
		wait_done(i);
	}
	start(100, "head -c 150000 /dev/zero | tr '\\0' e");
	wait_done(8 + OUTPUT_QUIET);
	ck_assert_int_eq(nfailed, 0);
	for (int i = 3; i <= 6; i++) {
		out = logged((task_id_t)i, TASK_STDOUT);
		ck_assert_uint_eq(strlen(out), 150000);
		ck_assert_uint_eq(strspn(out, "d"), 150000);
		free(out);
	}
	for (int i = 7; i <= 7 + OUTPUT_QUIET; i++) {
		assert_logged((task_id_t)i, TASK_STDOUT, "after\n");
		assert_logged((task_id_t)i, TASK_STDERR, "after-too\n");
	}
	out = logged(100, TASK_STDOUT);
	ck_assert_uint_eq(strspn(out, "e"), 150000);
	ck_assert_uint_eq(strlen(out), 150000);
	free(out);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("output");
	TCase *tc = tcase_create("output");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_one_slot_many_tasks);
	tcase_add_test(tc, test_two_slots_interleaved);
	tcase_add_test(tc, test_escaped_writer);
	tcase_add_test(tc, test_more_than_a_pipe);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
