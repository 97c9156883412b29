/* taskfile: one task per line, comments, errors by line, all or nothing. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/taskfile.h"

static struct sched *s;
static struct task_spec defaults;

static void setup(void)
{
	s = sched_create(NULL);
	ck_assert_ptr_nonnull(s);
	memset(&defaults, 0, sizeof(defaults));
	defaults.cores = 1;
}

static void teardown(void)
{
	sched_destroy(s);
}

/* The command of task `id` (argv[2] of /bin/sh -c). */
static void check_command(task_id_t id, const char *want)
{
	char **argv = sched_task_argv(s, id);

	ck_assert_ptr_nonnull(argv);
	ck_assert_str_eq(argv[0], "/bin/sh");
	ck_assert_str_eq(argv[1], "-c");
	ck_assert_str_eq(argv[2], want);
	ck_assert_ptr_null(argv[3]);
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

START_TEST(lines_comments_and_blanks)
{
	const char *text =
		"# a comment\n"
		"echo one\n"
		"\n"
		"   \t\n"
		"   # indented comment\n"
		"echo 'two' | tr a-z A-Z\r\n"
		"  echo three  \n"
		"echo four";			/* no final newline */
	struct task_info ti;
	struct err err;
	task_id_t first;
	uint64_t count;

	ck_assert_int_eq(taskfile_submit(s, text, strlen(text), &defaults,
					 &first, &count, &err), 0);
	ck_assert_uint_eq(first, 1);
	ck_assert_uint_eq(count, 4);
	check_command(1, "echo one");
	check_command(2, "echo 'two' | tr a-z A-Z");
	check_command(3, "  echo three  ");
	check_command(4, "echo four");
	ck_assert_int_eq(sched_task(s, 4, &ti), 0);
	ck_assert_str_eq(ti.spec->name, "line");
	ck_assert_int_eq(ti.has_index, 0);
	ck_assert_int_eq(ti.state, TASK_QUEUED);
}
END_TEST

START_TEST(defaults_apply_to_every_line)
{
	const char *text = "a\nb\n";
	char *ignored[] = { (char *)"ignored", NULL };
	task_id_t dep, first;
	uint64_t count;
	struct task_info ti;

	ck_assert_int_eq(taskfile_submit(s, "x\n", 2, &defaults, &dep, &count,
					 NULL), 0);
	defaults.argv = ignored;
	defaults.name = "stage2";
	defaults.cores = 3;
	defaults.memory = 1000;
	defaults.retries = 2;
	defaults.time_limit = 60;
	defaults.after = &dep;
	defaults.nafter = 1;
	defaults.is_array = 1;			/* ignored too */
	defaults.array_first = 1;
	defaults.array_last = 100;
	ck_assert_int_eq(taskfile_submit(s, text, strlen(text), &defaults,
					 &first, &count, NULL), 0);
	ck_assert_uint_eq(first, 2);
	ck_assert_uint_eq(count, 2);
	for (task_id_t id = 2; id <= 3; id++) {
		ck_assert_int_eq(sched_task(s, id, &ti), 0);
		ck_assert_str_eq(ti.spec->name, "stage2");
		ck_assert_uint_eq(ti.spec->cores, 3);
		ck_assert_uint_eq(ti.spec->memory, 1000);
		ck_assert_uint_eq(ti.spec->retries, 2);
		ck_assert_uint_eq(ti.spec->time_limit, 60);
		ck_assert_int_eq(ti.state, TASK_WAITING);
	}
	check_command(3, "b");
}
END_TEST

START_TEST(errors_name_the_line)
{
	struct err err;
	task_id_t first;
	uint64_t count;
	const char nul[] = "echo a\n# fine\necho b\0c\necho d\n";

	ck_assert_int_eq(taskfile_submit(s, nul, sizeof(nul) - 1, &defaults,
					 &first, &count, &err), -1);
	ck_assert_str_eq(err.text, "line 3: contains a NUL byte");

	size_t big = TASKFILE_MAX_LINE + 1;
	char *text = malloc(big + 64);
	strcpy(text, "echo ok\necho ok\n");
	size_t off = strlen(text);
	memset(text + off, 'x', big);
	strcpy(text + off + big, "\necho after\n");
	ck_assert_int_eq(taskfile_submit(s, text, strlen(text), &defaults,
					 &first, &count, &err), -1);
	ck_assert_str_eq(err.text, "line 3: longer than 64 KiB");

	/* exactly 64 KiB is fine */
	memset(text + off, 'x', big - 1);
	strcpy(text + off + big - 1, "\n");
	ck_assert_int_eq(taskfile_submit(s, text, strlen(text), &defaults,
					 &first, &count, &err), 0);
	ck_assert_uint_eq(count, 3);
	free(text);
}
END_TEST

START_TEST(all_or_nothing)
{
	struct err err;
	struct sched_counts c;
	task_id_t first, dep = 5;
	uint64_t count;
	const char *good = "a\nb\nc\n";

	ck_assert_int_eq(taskfile_submit(s, "a\nb\n\0\n", 6, &defaults,
					 &first, &count, &err), -1);
	defaults.cores = 0;
	ck_assert_int_eq(taskfile_submit(s, good, strlen(good), &defaults,
					 &first, &count, &err), -1);
	ck_assert_str_eq(err.text, "a task needs at least 1 core");
	defaults.cores = 1;
	defaults.after = &dep;
	defaults.nafter = 1;
	ck_assert_int_eq(taskfile_submit(s, good, strlen(good), &defaults,
					 &first, &count, &err), -1);
	ck_assert_str_eq(err.text, "dependency 5 is not an earlier task");
	sched_counts(s, &c);
	ck_assert_uint_eq(c.submitted, 0);
	ck_assert_uint_eq(sched_last_id(s), 0);

	/* only comments: nothing to submit, not an error */
	defaults.nafter = 0;
	ck_assert_int_eq(taskfile_submit(s, "# x\n\n", 5, &defaults, &first,
					 &count, &err), 0);
	ck_assert_uint_eq(count, 0);
	ck_assert_uint_eq(first, 0);
}
END_TEST

START_TEST(from_a_path)
{
	char path[] = "/tmp/check_taskfile_XXXXXX";
	int fd = mkstemp(path);
	struct err err;
	task_id_t first;
	uint64_t count;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "sleep 1\n\x01\0\n", 11), 11);
	close(fd);
	ck_assert_int_eq(taskfile_submit_path(s, path, &defaults, &first,
					      &count, &err), -1);
	char want[300];
	snprintf(want, sizeof(want), "'%s': line 2: contains a NUL byte",
		 path);
	ck_assert_str_eq(err.text, want);

	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, "sleep 1\nsleep 2\n", 16), 16);
	close(fd);
	ck_assert_int_eq(taskfile_submit_path(s, path, &defaults, &first,
					      &count, &err), 0);
	ck_assert_uint_eq(count, 2);
	check_command(2, "sleep 2");
	unlink(path);

	ck_assert_int_eq(taskfile_submit_path(s, path, &defaults, &first,
					      &count, &err), -1);
	snprintf(want, sizeof(want),
		 "cannot read task file '%s': no such file or directory",
		 path);
	ck_assert_str_eq(err.text, want);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("taskfile");
	TCase *tc = tcase_create("taskfile");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lines_comments_and_blanks);
	tcase_add_test(tc, defaults_apply_to_every_line);
	tcase_add_test(tc, errors_name_the_line);
	tcase_add_test(tc, all_or_nothing);
	tcase_add_test(tc, from_a_path);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
