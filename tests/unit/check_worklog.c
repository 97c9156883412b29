/*
 * check_worklog: the per-worker log of task output, written and read
 * back on a real file system, and the executor writing its tasks'
 * output into it through pipes from real child processes.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "state/worklog.h"
#include "util/strbuf.h"
#include "worker/exec.h"

static char tmp[64];

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
	snprintf(tmp, sizeof(tmp), "/tmp/check_worklog.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void append(struct worklog *wl, task_id_t id, unsigned attempt,
		   enum task_stream s, const char *text)
{
	struct err err = { "" };

	ck_assert_msg(worklog_append(wl, id, attempt, s, text, strlen(text),
				     &err) == 0, "%s", err.text);
}

/* What the logs in tmp hold for the task; the chunk count in *n. */
static char *read_back(task_id_t id, unsigned attempt, enum task_stream s,
		       int *n, unsigned *found)
{
	struct strbuf sb = STRBUF_INIT;
	struct err err = { "" };

	*n = worklog_read(tmp, id, attempt, s, &sb, found, NULL, &err);
	ck_assert_msg(*n >= 0, "%s", err.text);
	return strbuf_detach(&sb, NULL);
}

static int exists(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	return access(path, F_OK) == 0;
}

static unsigned count_files(void)
{
	DIR *d = opendir(tmp);
	struct dirent *de;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

START_TEST(test_interleaved)
{
	struct err err = { "" };
	struct worklog *wl = worklog_open(tmp, "node1:rank1", 0, &err);
	unsigned found;
	int n;
	char *text;

	ck_assert_msg(wl != NULL, "%s", err.text);
	ck_assert(exists("worker-node1_rank1.log"));
	append(wl, 1, 1, TASK_STDOUT, "one ");
	append(wl, 2, 1, TASK_STDOUT, "two\n");
	append(wl, 1, 1, TASK_STDERR, "oops\n");
	append(wl, 1, 1, TASK_STDOUT, "more\n");
	append(wl, 3, 1, TASK_STDOUT, "");	/* nothing: no entry */

	text = read_back(1, 1, TASK_STDOUT, &n, &found);
	ck_assert_str_eq(text, "one more\n");
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(found, 1);
	free(text);
	text = read_back(1, 0, TASK_STDERR, &n, &found);
	ck_assert_str_eq(text, "oops\n");
	free(text);
	text = read_back(2, 0, TASK_STDOUT, &n, &found);
	ck_assert_str_eq(text, "two\n");
	free(text);
	text = read_back(3, 0, TASK_STDOUT, &n, &found);
	ck_assert_str_eq(text, "");
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(found, 0);
	free(text);
	worklog_close(wl);
}
END_TEST

START_TEST(test_attempts)
{
	struct worklog *wl = worklog_open(tmp, "w", 0, NULL);
	struct strbuf sb = STRBUF_INIT;
	unsigned found, earlier;

	ck_assert_ptr_nonnull(wl);
	append(wl, 7, 1, TASK_STDOUT, "first\n");
	append(wl, 7, 2, TASK_STDOUT, "second\n");
	append(wl, 7, 3, TASK_STDOUT, "third\n");
	ck_assert_int_eq(worklog_read(tmp, 7, 0, TASK_STDOUT, &sb, &found,
				      &earlier, NULL), 1);
	ck_assert_str_eq(sb.buf, "third\n");
	ck_assert_uint_eq(found, 3);
	ck_assert_uint_eq(earlier, 2);
	strbuf_reset(&sb);
	ck_assert_int_eq(worklog_read(tmp, 7, 2, TASK_STDOUT, &sb, &found,
				      &earlier, NULL), 1);
	ck_assert_str_eq(sb.buf, "second\n");
	/* A fourth run that wrote nothing reads as nothing, not as the
	 * third's output. */
	strbuf_reset(&sb);
	ck_assert_int_eq(worklog_read(tmp, 7, 4, TASK_STDOUT, &sb, &found,
				      NULL, NULL), 0);
	ck_assert_str_eq(sb.buf, "");
	strbuf_release(&sb);
	worklog_close(wl);
}
END_TEST

/* A worker restarted by its nanny: same name, the old one gone; a torn
 * last entry from its crash is cut off and the log goes on. */
START_TEST(test_restart_appends)
{
	struct worklog *wl = worklog_open(tmp, "w", 0, NULL);
	char path[256];
	int fd, n;
	unsigned found;
	char *text;

	append(wl, 1, 1, TASK_STDOUT, "before\n");
	worklog_close(wl);
	snprintf(path, sizeof(path), "%s/worker-w.idx", tmp);
	fd = open(path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "torn entry", 10), 10);
	close(fd);

	wl = worklog_open(tmp, "w", 0, NULL);
	ck_assert_ptr_nonnull(wl);
	append(wl, 1, 1, TASK_STDOUT, "after\n");
	worklog_close(wl);
	text = read_back(1, 1, TASK_STDOUT, &n, &found);
	ck_assert_str_eq(text, "before\nafter\n");
	free(text);
	ck_assert(!exists("worker-w.2.log"));
}
END_TEST

/* Two live workers of one name (two jobs on one node) get two logs. */
START_TEST(test_two_live_workers)
{
	struct worklog *a = worklog_open(tmp, "host:rank1", 0, NULL);
	struct worklog *b = worklog_open(tmp, "host:rank1", 0, NULL);
	int n;
	unsigned found;
	char *text;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert(exists("worker-host_rank1.log"));
	ck_assert(exists("worker-host_rank1.2.log"));
	append(a, 1, 1, TASK_STDOUT, "from a\n");
	append(b, 2, 1, TASK_STDOUT, "from b\n");
	text = read_back(2, 0, TASK_STDOUT, &n, &found);
	ck_assert_str_eq(text, "from b\n");
	free(text);
	worklog_close(a);
	worklog_close(b);
}
END_TEST

START_TEST(test_rotation_bounded)
{
	struct worklog *wl = worklog_open(tmp, "w", 100, NULL);
	char line[256];
	int n;
	unsigned found;
	char *text;

	/* 20 bytes a chunk: a new generation every few chunks. */
	for (int i = 0; i < 30; i++) {
		snprintf(line, sizeof(line), "task 5 line %6d\n", i);
		append(wl, (task_id_t)(i < 26 ? 9 : 5), 1, TASK_STDOUT, line);
	}
	ck_assert(exists("worker-w.log.1"));
	ck_assert(exists("worker-w.idx.1"));
	/* log, idx, their .1 and the lock: nothing else, however much
	 * was written. */
	ck_assert_uint_eq(count_files(), 5);
	struct stat st;
	snprintf(line, sizeof(line), "%s/worker-w.log", tmp);
	ck_assert_int_eq(stat(line, &st), 0);
	ck_assert_int_le(st.st_size, 100);
	/* The last four chunks straddle the two generations, in order. */
	text = read_back(5, 0, TASK_STDOUT, &n, &found);
	ck_assert_str_eq(text, "task 5 line     26\ntask 5 line     27\n"
			 "task 5 line     28\ntask 5 line     29\n");
	free(text);
	worklog_close(wl);
}
END_TEST

/* Reading one worker's logs: its own pairs, the ones its name took
 * past another live worker's (NAME.2), their older generation, and no
 * other worker's, even one holding a chunk of the same task. */
static char *read_worker(const char *worker, task_id_t id, int *n)
{
	struct strbuf sb = STRBUF_INIT;
	struct err err = { "" };

	*n = worklog_read_worker(tmp, worker, id, 0, TASK_STDOUT, &sb, NULL,
				 NULL, &err);
	ck_assert_msg(*n >= 0, "%s", err.text);
	return strbuf_detach(&sb, NULL);
}

START_TEST(test_read_one_worker)
{
	struct worklog *a = worklog_open(tmp, "node1:rank1", 60, NULL);
	struct worklog *a2 = worklog_open(tmp, "node1:rank1", 0, NULL);
	struct worklog *b = worklog_open(tmp, "node2:rank1", 0, NULL);
	struct strbuf sb = STRBUF_INIT;
	struct err err = { "" };
	int n;
	char *text;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(a2);
	ck_assert_ptr_nonnull(b);
	/* Task 3 ran on node1 (its log rotated under it), then a stale
	 * chunk of the same id and attempt sits in node2's log. */
	append(a, 3, 1, TASK_STDOUT, "a first chunk of task 3, long\n");
	append(a, 3, 1, TASK_STDOUT, "a second chunk of task 3, long\n");
	ck_assert(exists("worker-node1_rank1.log.1"));
	append(b, 3, 1, TASK_STDOUT, "not node1's\n");
	append(a2, 4, 1, TASK_STDOUT, "on node1, second name\n");

	text = read_worker("node1:rank1", 3, &n);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(text, "a first chunk of task 3, long\n"
			 "a second chunk of task 3, long\n");
	free(text);
	text = read_worker("node2:rank1", 3, &n);
	ck_assert_str_eq(text, "not node1's\n");
	free(text);
	text = read_worker("node1:rank1", 4, &n);
	ck_assert_str_eq(text, "on node1, second name\n");
	free(text);
	text = read_worker("node2:rank1", 4, &n);
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(text, "");
	free(text);
	/* No log of that name at all: nothing, not an error. */
	text = read_worker("node9:rank1", 3, &n);
	ck_assert_int_eq(n, 0);
	free(text);
	/* The whole directory, as before, has both workers' chunks. */
	text = read_back(3, 0, TASK_STDOUT, &n, NULL);
	ck_assert_int_eq(n, 3);
	free(text);
	ck_assert_int_eq(worklog_read_worker("/nonexistent/logs", "w", 1, 0,
					     TASK_STDOUT, &sb, NULL, NULL,
					     &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "/nonexistent/logs"));
	strbuf_release(&sb);
	worklog_close(a);
	worklog_close(a2);
	worklog_close(b);
}
END_TEST

/* An index entry past its log's end is not read. */
START_TEST(test_log_cut_short)
{
	struct worklog *wl = worklog_open(tmp, "w", 0, NULL);
	char path[256];
	int n;
	unsigned found;
	char *text;

	append(wl, 1, 1, TASK_STDOUT, "kept\n");
	append(wl, 1, 1, TASK_STDOUT, "cut off\n");
	worklog_close(wl);
	snprintf(path, sizeof(path), "%s/worker-w.log", tmp);
	ck_assert_int_eq(truncate(path, 16 + 5 + 3), 0);
	text = read_back(1, 1, TASK_STDOUT, &n, &found);
	ck_assert_str_eq(text, "kept\n");
	free(text);
}
END_TEST

START_TEST(test_not_a_directory)
{
	struct strbuf sb = STRBUF_INIT;
	struct err err = { "" };

	ck_assert_int_eq(worklog_read("/nonexistent/logs", 1, 0, TASK_STDOUT,
				      &sb, NULL, NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "cannot read '/nonexistent/logs'"));
	ck_assert_ptr_null(worklog_open("/proc/self/logs", "w", 0, &err));
	ck_assert_ptr_nonnull(strstr(err.text, "/proc/self/logs"));
	strbuf_release(&sb);
}
END_TEST

/* --- the executor into the log -------------------------------------------- */

static int ndone;

static void record(void *arg, task_id_t id, const struct task_result *res)
{
	char *const *logs = arg;
	struct strbuf sb = STRBUF_INIT;

	(void)res;
	/* The output is in the log when the task is reported. */
	if (id == 1) {
		ck_assert_int_eq(worklog_read(tmp, 1, 1, TASK_STDOUT, &sb,
					      NULL, NULL, NULL), 1);
		ck_assert_str_eq(sb.buf, logs[0]);
	}
	strbuf_release(&sb);
	ndone++;
}

START_TEST(test_exec_into_log)
{
	char *expect[] = { (char *)"hello out\n" };
	struct event_base *base = event_base_new();
	struct exec *ex = exec_create(base, "w1", record, expect);
	char *const say[] = { (char *)"/bin/sh", (char *)"-c",
		(char *)"printf 'hello out\\n'; printf 'hello err\\n' >&2",
		NULL };
	char *const quiet[] = { (char *)"/bin/true", NULL };
	char *const big[] = { (char *)"/bin/sh", (char *)"-c",
		(char *)"head -c 300000 /dev/zero | tr '\\0' x", NULL };
	char out_path[128];
	struct err err = { "" };
	struct strbuf sb = STRBUF_INIT;

	snprintf(out_path, sizeof(out_path), "%s/own.out", tmp);
	struct exec_task t1 = { .id = 1, .argv = say, .log_dir = tmp,
				.attempt = 1 };
	struct exec_task t2 = { .id = 2, .argv = quiet, .log_dir = tmp,
				.attempt = 1 };
	struct exec_task t3 = { .id = 3, .argv = say, .log_dir = tmp,
				.attempt = 1, .stdout_path = out_path };
	struct exec_task t4 = { .id = 4, .argv = big, .log_dir = tmp,
				.attempt = 2 };

	ndone = 0;
	ck_assert_msg(exec_start(ex, &t2, &err) == 0, "%s", err.text);
	while (ndone < 1)
		event_base_loop(base, EVLOOP_ONCE);
	/* A task that writes nothing leaves nothing. */
	ck_assert_uint_eq(count_files(), 0);
	ck_assert_msg(exec_start(ex, &t1, &err) == 0, "%s", err.text);
	ck_assert_msg(exec_start(ex, &t3, &err) == 0, "%s", err.text);
	ck_assert_msg(exec_start(ex, &t4, &err) == 0, "%s", err.text);
	while (ndone < 4)
		event_base_loop(base, EVLOOP_ONCE);

	ck_assert_int_eq(worklog_read(tmp, 1, 0, TASK_STDERR, &sb, NULL, NULL,
				      NULL), 1);
	ck_assert_str_eq(sb.buf, "hello err\n");
	strbuf_reset(&sb);
	/* Its own file for stdout, the log for stderr. */
	ck_assert_int_eq(worklog_read(tmp, 3, 0, TASK_STDOUT, &sb, NULL, NULL,
				      NULL), 0);
	ck_assert_int_eq(worklog_read(tmp, 3, 0, TASK_STDERR, &sb, NULL, NULL,
				      NULL), 1);
	ck_assert_str_eq(sb.buf, "hello err\n");
	strbuf_reset(&sb);
	ck_assert_int_eq(strbuf_read_file(&sb, out_path), 0);
	ck_assert_str_eq(sb.buf, "hello out\n");
	strbuf_reset(&sb);
	/* More than a pipe holds, read while the task runs. */
	unsigned found;
	ck_assert_int_ge(worklog_read(tmp, 4, 0, TASK_STDOUT, &sb, &found,
				      NULL, NULL), 1);
	ck_assert_uint_eq(sb.len, 300000);
	ck_assert_uint_eq(found, 2);
	ck_assert_ptr_null(memchr(sb.buf, 'y', sb.len));
	strbuf_release(&sb);
	exec_destroy(ex);
	event_base_free(base);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("worklog");
	TCase *tc = tcase_create("worklog");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_interleaved);
	tcase_add_test(tc, test_attempts);
	tcase_add_test(tc, test_restart_appends);
	tcase_add_test(tc, test_two_live_workers);
	tcase_add_test(tc, test_read_one_worker);
	tcase_add_test(tc, test_rotation_bounded);
	tcase_add_test(tc, test_log_cut_short);
	tcase_add_test(tc, test_not_a_directory);
	tcase_add_test(tc, test_exec_into_log);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
