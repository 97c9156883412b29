/* taskfile syntax: barriers, per-line options, arrays, dependencies by
 * name (after success, after any end), errors by line and column. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sched/taskfile.h"

static struct sched *s;
static struct task_spec defaults;
static worker_id_t w;

static void setup(void)
{
	s = sched_create(NULL);
	ck_assert_ptr_nonnull(s);
	memset(&defaults, 0, sizeof(defaults));
	defaults.cores = 1;
	w = sched_worker_add(s, "n1:1", 64, 0);
}

static void teardown(void)
{
	sched_destroy(s);
}

static struct taskplan *parse(const char *text)
{
	struct err err = { "" };
	struct taskplan *p = taskplan_parse(text, strlen(text), &defaults, &err);

	ck_assert_msg(p != NULL, "parse failed: %s", err.text);
	return p;
}

static void parse_error(const char *text, const char *want)
{
	struct err err = { "" };
	struct taskplan *p = taskplan_parse(text, strlen(text), &defaults, &err);

	ck_assert_ptr_null(p);
	ck_assert_str_eq(err.text, want);
}

static long long submit_ready(struct taskplan *p)
{
	struct err err = { "" };
	long long n = taskplan_submit_ready(p, s, &err);

	ck_assert_msg(n >= 0, "submit failed: %s", err.text);
	return n;
}

static enum task_state state(task_id_t id)
{
	struct task_info ti;

	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	return ti.state;
}

/* Start what can start and end task `id` with `code`. */
static void finish(task_id_t id, int code)
{
	struct task_result res = { 0 };

	sched_dispatch(s);
	ck_assert_int_eq(state(id), TASK_RUNNING);
	res.exit_code = code;
	sched_task_finished(s, id, w, &res);
}

START_TEST(syntax_is_detected)
{
	const char *plain = "echo a\n[ -f x ] && echo b\n[[ -n y ]]\n";
	const char *barrier = "echo a\n  ---  \necho b\n";
	const char *options = "[name=a] echo a\n";

	ck_assert_int_eq(taskfile_has_syntax(plain, strlen(plain)), 0);
	ck_assert_int_eq(taskfile_has_syntax(barrier, strlen(barrier)), 1);
	ck_assert_int_eq(taskfile_has_syntax(options, strlen(options)), 1);
}
END_TEST

START_TEST(options_shape_the_tasks)
{
	struct taskplan *p = parse("[name=big cores=4 gpus=2 memory=2GiB "
				   "time=10m retries=2] ./run a\n"
				   "# a comment\n"
				   "[array=3-5] ./sweep --seed {}\n"
				   "plain line\n");
	struct task_info ti;
	char **argv;

	ck_assert_uint_eq(taskplan_ntasks(p), 5);
	ck_assert_int_eq(submit_ready(p), 5);
	ck_assert_uint_eq(taskplan_pending(p), 0);
	ck_assert_int_eq(sched_task(s, 1, &ti), 0);
	ck_assert_str_eq(ti.spec->name, "big");
	ck_assert_uint_eq(ti.spec->cores, 4);
	ck_assert_uint_eq(ti.spec->gpus, 2);
	ck_assert_uint_eq(ti.spec->memory, 2ULL << 30);
	ck_assert_uint_eq(ti.spec->time_limit, 600);
	ck_assert_uint_eq(ti.spec->retries, 2);
	argv = sched_task_argv(s, 3);
	ck_assert_str_eq(argv[0], "/bin/sh");	/* braces need the shell */
	ck_assert_str_eq(argv[2], "./sweep --seed 4");
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
	ck_assert_int_eq(sched_task(s, 5, &ti), 0);
	ck_assert_str_eq(ti.spec->name, "line");
	ck_assert_uint_eq(ti.spec->cores, 1);
	taskplan_destroy(p);
}
END_TEST

START_TEST(barrier_orders_and_a_failure_cancels_below)
{
	struct taskplan *p = parse("prep\n---\n[array=1-2] sweep {}\n---\n"
				   "reduce\n");

	ck_assert_int_eq(submit_ready(p), 4);
	ck_assert_int_eq(state(1), TASK_QUEUED);
	ck_assert_int_eq(state(2), TASK_WAITING);
	ck_assert_int_eq(state(4), TASK_WAITING);
	finish(1, 0);
	ck_assert_int_eq(state(2), TASK_QUEUED);
	ck_assert_int_eq(state(4), TASK_WAITING);
	finish(2, 0);
	ck_assert_int_eq(state(4), TASK_WAITING);	/* 3 still runs */
	finish(3, 1);
	ck_assert_int_eq(state(4), TASK_CANCELLED);
	taskplan_destroy(p);
}
END_TEST

START_TEST(after_and_afterany_by_name)
{
	struct taskplan *p = parse("[name=a] one\n"
				   "[after=a] two\n"
				   "[afterany=a name=c] three\n"
				   "[after=c] four\n"
				   "free\n");

	/* three waits outside sched, four for three */
	ck_assert_int_eq(submit_ready(p), 3);
	ck_assert_uint_eq(taskplan_pending(p), 2);
	ck_assert_int_eq(state(2), TASK_WAITING);
	ck_assert_int_eq(submit_ready(p), 0);
	finish(1, 1);				/* a fails */
	ck_assert_int_eq(state(2), TASK_CANCELLED);
	ck_assert_int_eq(submit_ready(p), 2);	/* three, then four */
	ck_assert_uint_eq(taskplan_pending(p), 0);
	ck_assert_int_eq(state(4), TASK_QUEUED);
	ck_assert_int_eq(state(5), TASK_WAITING);
	finish(4, 0);
	ck_assert_int_eq(state(5), TASK_QUEUED);
	taskplan_destroy(p);
}
END_TEST

START_TEST(errors_name_line_and_column)
{
	parse_error("ok\n[core=2] x\n",
		    "line 2, column 2: unknown option 'core'; known: name, "
		    "cores, gpus, memory, time, retries, array, after, afterany");
	parse_error("[name=a] x\n\n[after=a,b] y\n",
		    "line 3, column 10: no task named 'b' above");
	parse_error("[array=5-1] x\n",
		    "line 1, column 8: array wants a range A-B (A <= B) or one "
		    "index");
	parse_error("[name=a x\n", "line 1, column 1: options have no closing ']'");
	parse_error("[name=a]   \n", "line 1, column 12: no command after the options");
	parse_error("[cores] x\n", "line 1, column 2: an option is KEY=VALUE");
	parse_error("[name=a/b] x\n",
		    "line 1, column 8: a task name has letters, digits and _.- only");
	parse_error("[name=x] x\n[after=x] y\n[name=z after=y] z\n",
		    "line 3, column 15: no task named 'y' above");
}
END_TEST

START_TEST(bad_values_come_from_the_field_table)
{
	struct err err = { "" };
	const char *text = "[cores=0] x\n";

	ck_assert_ptr_null(taskplan_parse(text, strlen(text), &defaults, &err));
	ck_assert_msg(!strncmp(err.text, "line 1, column 8: ", 18), "%s", err.text);
	text = "[gpus=65] x\n";
	ck_assert_ptr_null(taskplan_parse(text, strlen(text), &defaults, &err));
	ck_assert_msg(!strncmp(err.text, "line 1, column 7: ", 18), "%s", err.text);
	ck_assert_msg(strstr(err.text, "<= 64") != NULL, "%s", err.text);
	text = "[time=soon] x\n";
	ck_assert_ptr_null(taskplan_parse(text, strlen(text), &defaults, &err));
	ck_assert_msg(!strncmp(err.text, "line 1, column 7: ", 18), "%s", err.text);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("taskfile_syntax");
	TCase *tc = tcase_create("taskfile_syntax");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, syntax_is_detected);
	tcase_add_test(tc, options_shape_the_tasks);
	tcase_add_test(tc, barrier_orders_and_a_failure_cancels_below);
	tcase_add_test(tc, after_and_afterany_by_name);
	tcase_add_test(tc, errors_name_line_and_column);
	tcase_add_test(tc, bad_values_come_from_the_field_table);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
