/* taskfile: one task per line, comments, errors by line, all or nothing,
 * and which lines run directly and which through /bin/sh. */
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

static void free_argv(char **argv)
{
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

/* Task `id` runs through the shell: /bin/sh -c WANT. */
static void check_command(task_id_t id, const char *want)
{
	char **argv = sched_task_argv(s, id);

	ck_assert_ptr_nonnull(argv);
	ck_assert_str_eq(argv[0], "/bin/sh");
	ck_assert_str_eq(argv[1], "-c");
	ck_assert_str_eq(argv[2], want);
	ck_assert_ptr_null(argv[3]);
	free_argv(argv);
}

/* Task `id` runs directly: its argv is exactly the words of `want`, a
 * NULL-terminated list. */
static void check_direct(task_id_t id, const char *const *want)
{
	char **argv = sched_task_argv(s, id);
	size_t k;

	ck_assert_ptr_nonnull(argv);
	for (k = 0; want[k]; k++) {
		ck_assert_ptr_nonnull(argv[k]);
		ck_assert_str_eq(argv[k], want[k]);
	}
	ck_assert_ptr_null(argv[k]);
	free_argv(argv);
}

#define DIRECT(id, ...) \
	check_direct((id), (const char *const[]){ __VA_ARGS__, NULL })

/* Submit one line on its own; its task id. */
static task_id_t submit_line(const char *line)
{
	struct err err;
	task_id_t first;
	uint64_t count;

	ck_assert_msg(taskfile_submit(s, line, strlen(line), &defaults, &first,
				      &count, &err) == 0,
		      "'%s': %s", line, err.text);
	ck_assert_uint_eq(count, 1);
	return first;
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
	DIRECT(1, "echo", "one");
	check_command(2, "echo 'two' | tr a-z A-Z");
	DIRECT(3, "echo", "three");
	DIRECT(4, "echo", "four");
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
	DIRECT(3, "b");
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
	DIRECT(2, "sleep", "2");
	unlink(path);

	ck_assert_int_eq(taskfile_submit_path(s, path, &defaults, &first,
					      &count, &err), -1);
	snprintf(want, sizeof(want),
		 "cannot read task file '%s': no such file or directory",
		 path);
	ck_assert_str_eq(err.text, want);
}
END_TEST

START_TEST(simple_lines_run_directly)
{
	DIRECT(submit_line("/bin/true"), "/bin/true");
	DIRECT(submit_line("  prog\t-x  a=b\t c,d:e+f@g%h  ./x.y_Z-9 \r\n"),
	       "prog", "-x", "a=b", "c,d:e+f@g%h", "./x.y_Z-9");
	DIRECT(submit_line("dd if=/dev/zero of=out bs=1M count=1"),
	       "dd", "if=/dev/zero", "of=out", "bs=1M", "count=1");
	DIRECT(submit_line("python3 run.py --input data/part-17.csv"),
	       "python3", "run.py", "--input", "data/part-17.csv");
	/* the same as the programs of that name without quotes or escapes */
	DIRECT(submit_line("echo -n hello"), "echo", "-n", "hello");
	DIRECT(submit_line("printf %s,%d x 3"), "printf", "%s,%d", "x", "3");
	DIRECT(submit_line("true"), "true");
	DIRECT(submit_line("false"), "false");
	DIRECT(submit_line("test -f /etc/passwd"), "test", "-f", "/etc/passwd");
	/* builtin names later on the line are plain words */
	DIRECT(submit_line("sudo cd exit"), "sudo", "cd", "exit");
	/* a name that only starts like a builtin */
	DIRECT(submit_line("settle 1"), "settle", "1");
	DIRECT(submit_line("cdrecord"), "cdrecord");
	/* around both ends of the builtin list */
	DIRECT(submit_line("a b"), "a", "b");
	DIRECT(submit_line("zcat data.gz"), "zcat", "data.gz");
	DIRECT(submit_line("whiles"), "whiles");
	DIRECT(submit_line("./run"), "./run");
}
END_TEST

START_TEST(shell_syntax_goes_through_sh)
{
	static const char *const lines[] = {
		"echo $HOME", "prog > out", "prog < in", "a | b", "a && b",
		"a; b", "prog &", "prog 'quoted arg'", "prog \"quoted\"",
		"prog a\\ b", "ls *.c", "ls file?", "ls [ab]", "cat ~/x",
		"prog {a,b}", "prog # note", "(prog)", "prog `date`",
		"! prog", "prog a\vb", "prog caf\xc3\xa9",
		/* assignments */
		"FOO=1 prog", "A=b",
		/* keywords */
		"if true", "for x in a b", "while true", "until false",
		"case x in", "time prog", "function f",
		/* builtins that act on the shell itself */
		"cd /tmp", "export A", "exit 3", "set -e", "unset A",
		". ./env.sh", ": nothing", "source env.sh", "exec prog",
		"eval prog", "umask 077", "ulimit -n 10", "read x", "wait",
		"trap x INT", "shift", "alias a=b", "pwd", "kill -9 1",
		"command -v prog", "type prog", "local x", "return 1",
	};

	for (size_t k = 0; k < sizeof(lines) / sizeof(*lines); k++)
		check_command(submit_line(lines[k]), lines[k]);
}
END_TEST

START_TEST(mixed_file_keeps_line_order)
{
	const char *text =
		"/bin/true\n"
		"# comment\n"
		"echo a > out.1\n"
		"\n"
		"  run --n 2\n"
		"cd sub && make\r\n"
		"last";
	struct task_info ti;
	struct err err;
	task_id_t first, pre;
	uint64_t count;

	ck_assert_int_eq(taskfile_submit(s, "x\n", 2, &defaults, &pre, &count,
					 &err), 0);
	ck_assert_int_eq(taskfile_submit(s, text, strlen(text), &defaults,
					 &first, &count, &err), 0);
	ck_assert_uint_eq(first, 2);
	ck_assert_uint_eq(count, 5);
	DIRECT(2, "/bin/true");
	check_command(3, "echo a > out.1");
	DIRECT(4, "run", "--n", "2");
	check_command(5, "cd sub && make");
	DIRECT(6, "last");
	for (task_id_t id = 2; id <= 6; id++) {
		ck_assert_int_eq(sched_task(s, id, &ti), 0);
		ck_assert_str_eq(ti.spec->name, "line");
		ck_assert_int_eq(ti.has_index, 0);
		ck_assert_int_eq(ti.state, TASK_QUEUED);
	}
	ck_assert_uint_eq(sched_last_id(s), 6);

	/* all or nothing on this path too */
	defaults.cores = 0;
	ck_assert_int_eq(taskfile_submit(s, text, strlen(text), &defaults,
					 &first, &count, &err), -1);
	ck_assert_str_eq(err.text, "a task needs at least 1 core");
	ck_assert_uint_eq(sched_last_id(s), 6);
}
END_TEST

/* The table side of direct lines: each task's own argv, errors by task. */
START_TEST(submit_argvs)
{
	char *a[] = { (char *)"prog", (char *)"x", NULL };
	char *b[] = { (char *)"/bin/sh", (char *)"-c", (char *)"a | b", NULL };
	char *empty[] = { NULL };
	char *blank[] = { (char *)"", NULL };
	char *const *argvs[] = { a, b, empty };
	struct task_spec spec = { .cores = 1 };
	struct task_info ti;
	struct err err;
	task_id_t first;
	uint64_t count;

	ck_assert_int_eq(sched_submit_argvs(s, &spec, argvs, 3, &first, &count,
					    &err), -1);
	ck_assert_str_eq(err.text, "task 3 of 3: empty command");
	argvs[2] = blank;
	ck_assert_int_eq(sched_submit_argvs(s, &spec, argvs, 3, &first, &count,
					    &err), -1);
	ck_assert_str_eq(err.text, "task 3 of 3: empty command");
	ck_assert_uint_eq(sched_last_id(s), 0);

	ck_assert_int_eq(sched_submit_argvs(s, &spec, argvs, 2, &first, &count,
					    &err), 0);
	ck_assert_uint_eq(first, 1);
	ck_assert_uint_eq(count, 2);
	DIRECT(1, "prog", "x");
	check_command(2, "a | b");
	ck_assert_int_eq(sched_task(s, 2, &ti), 0);
	ck_assert_str_eq(ti.spec->name, "prog");	/* the first task's */

	ck_assert_int_eq(sched_submit_argvs(s, &spec, argvs, 0, &first, &count,
					    &err), 0);
	ck_assert_uint_eq(count, 0);
	ck_assert_uint_eq(first, 0);
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
	tcase_add_test(tc, simple_lines_run_directly);
	tcase_add_test(tc, shell_syntax_goes_through_sh);
	tcase_add_test(tc, mixed_file_keeps_line_order);
	tcase_add_test(tc, submit_argvs);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
