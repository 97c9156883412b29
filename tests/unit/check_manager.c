/*
 * The pool manager against the real local backend (process groups running
 * a small job script on this machine) on a real libevent loop, and
 * against a fake batch system: shell scripts in a temp directory standing
 * in for squeue/sbatch/scancel that print recorded output or fail.
 * Poll intervals are a fraction of a second, so the whole suite takes a
 * few seconds.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "pool/manager.h"

static char tmp[] = "/tmp/check_manager.XXXXXX";

static void write_exec(const char *name, const char *body)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "#!/bin/sh\n%s", body);
	fclose(fp);
	ck_assert_int_eq(chmod(path, 0755), 0);
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	(void)system(cmd);
	strcpy(tmp, "/tmp/check_manager.XXXXXX");
}

/* Run the loop for `secs`. */
static void run_for(struct event_base *base, double secs)
{
	struct timeval tv = { (time_t)secs,
			      (suseconds_t)((secs - (long)secs) * 1e6) };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static unsigned live_jobs(struct pool_manager *m, pid_t *pids, size_t max)
{
	struct pool *p = pool_manager_pool(m);
	unsigned n = 0;

	for (size_t i = 0; i < pool_njobs(p); i++) {
		struct pool_job *j = pool_job_at(p, i);
		if (j->state == JOB_STATE_ENDED || !j->id[0])
			continue;
		if (n < max)
			pids[n] = (pid_t)atol(j->id);
		n++;
	}
	return n;
}

static struct pool_manager *local_manager(struct event_base *base)
{
	char script[512];
	struct pool_manager_config cfg = { 0 };
	struct err err = { "" };
	struct pool_manager *m;

	write_exec("job.sh", "exec sleep 60\n");
	snprintf(script, sizeof(script), "%s/job.sh", tmp);
	cfg.backend = &backend_local;
	cfg.cluster = "test";
	cfg.state_dir = tmp;
	cfg.script = script;
	cfg.params.workers_per_job = 1;
	cfg.params.missing_grace = 0.2;
	cfg.poll_interval = 0.2;
	m = pool_manager_create(base, NULL, &cfg, &err);
	ck_assert_msg(m != NULL, "%s", err.text);
	return m;
}

START_TEST(local_scale_replace_and_empty)
{
	struct event_base *base = event_base_new();
	struct pool_manager *m = local_manager(base);
	pid_t pids[8], after[8];
	unsigned n;

	pool_manager_scale(m, 3);
	run_for(base, 0.5);
	n = live_jobs(m, pids, 8);
	ck_assert_uint_eq(n, 3);
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(kill(pids[i], 0), 0);

	/* kill -9 one job's group: replaced within one poll interval */
	ck_assert_int_eq(kill(-pids[0], SIGKILL), 0);
	run_for(base, 0.5);
	n = live_jobs(m, after, 8);
	ck_assert_uint_eq(n, 3);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_ne(after[i], pids[0]);
		ck_assert_int_eq(kill(after[i], 0), 0);
	}

	/* the jobs file names them */
	{
		char path[600], buf[4096];
		FILE *fp;
		size_t got;
		snprintf(path, sizeof(path), "%s/jobs", tmp);
		fp = fopen(path, "r");
		ck_assert_ptr_nonnull(fp);
		got = fread(buf, 1, sizeof(buf) - 1, fp);
		buf[got] = '\0';
		fclose(fp);
		for (unsigned i = 0; i < n; i++) {
			char id[32];
			snprintf(id, sizeof(id), "\"%d\"", (int)after[i]);
			ck_assert_msg(strstr(buf, id), "%s not in %s", id, buf);
		}
	}

	pool_manager_scale(m, 0);
	run_for(base, 0.6);
	ck_assert_uint_eq(live_jobs(m, pids, 8), 0);
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(kill(after[i], 0) == -1 && errno == ESRCH, 1);

	json_t *st = pool_manager_status(m);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "target")), 0);
	json_decref(st);
	pool_manager_destroy(m);
	event_base_free(base);
}
END_TEST

START_TEST(classify_messages)
{
	ck_assert_int_eq(pool_classify_submit(
		"sbatch: error: Batch job submission failed: Socket timed out on send/recv operation", 0),
		POOL_FAIL_TRANSIENT);
	ck_assert_int_eq(pool_classify_submit(
		"qsub: Unable to contact the server", 0), POOL_FAIL_TRANSIENT);
	ck_assert_int_eq(pool_classify_submit(
		"sbatch: error: AssocMaxSubmitJobLimit", 0), POOL_FAIL_LIMIT);
	ck_assert_int_eq(pool_classify_submit(
		"sbatch: error: QOSMaxSubmitJobPerUserLimit", 0), POOL_FAIL_LIMIT);
	ck_assert_int_eq(pool_classify_submit(
		"qsub: would exceed queue generic's per-user limit", 0),
		POOL_FAIL_LIMIT);
	ck_assert_int_eq(pool_classify_submit(
		"sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified", 0),
		POOL_FAIL_PERMANENT);
	ck_assert_int_eq(pool_classify_submit(
		"sbatch: error: invalid partition specified: nope", 0),
		POOL_FAIL_PERMANENT);
	ck_assert_int_eq(pool_classify_submit(
		"sbatch: error: Batch job submission failed: Requested time limit is invalid (missing or exceeds some limit)", 0),
		POOL_FAIL_PERMANENT);
	ck_assert_int_eq(pool_classify_submit("anything", 1), POOL_FAIL_TRANSIENT);
}
END_TEST

static struct pool_manager *fake_manager(struct event_base *base,
					 double poll, double timeout)
{
	char script[512];
	struct pool_manager_config cfg = { 0 };
	struct err err = { "" };
	struct pool_manager *m;

	write_exec("job.sh", "exit 0\n");
	snprintf(script, sizeof(script), "%s/job.sh", tmp);
	cfg.backend = &backend_slurm;
	cfg.cluster = "test";
	cfg.script = script;
	cfg.bin_dir = tmp;
	cfg.params.workers_per_job = 1;
	cfg.params.missing_grace = 60;
	cfg.poll_interval = poll;
	cfg.command_timeout = timeout;
	cfg.min_gap = 0.05;
	m = pool_manager_create(base, NULL, &cfg, &err);
	ck_assert_msg(m != NULL, "%s", err.text);
	return m;
}

START_TEST(fake_one_status_per_interval)
{
	struct event_base *base = event_base_new();
	struct pool_manager *m;
	unsigned long polls = 0, cmds;
	char count[600];

	snprintf(count, sizeof(count), "echo x >> '%s/squeue.calls'\n", tmp);
	write_exec("squeue", count);	/* lists nothing */
	write_exec("sbatch", "echo 42\n");
	m = fake_manager(base, 0.3, 5);
	/* no job of ours: nothing to ask, so no poll at all (PBS's status
	 * command with no ids would list the whole server) */
	run_for(base, 0.7);
	cmds = pool_manager_commands(m, &polls);
	ck_assert_uint_eq(polls, 0);
	ck_assert_uint_eq(cmds, 0);
	/* one job, unlisted but within its grace: polled once per interval
	 * from its submission on, at 0, 0.3, 0.6, 0.9 */
	pool_manager_scale(m, 1);
	run_for(base, 1.05);
	cmds = pool_manager_commands(m, &polls);
	ck_assert_uint_ge(polls, 3);
	ck_assert_uint_le(polls, 4);
	ck_assert_uint_eq(cmds, polls + 1);	/* and the one sbatch */
	pool_manager_destroy(m);
	event_base_free(base);
}
END_TEST

START_TEST(fake_poll_timeout_and_failure)
{
	struct event_base *base = event_base_new();
	struct pool_manager *m;
	unsigned long polls = 0;
	json_t *st;

	write_exec("squeue", "sleep 5\n");
	write_exec("sbatch", "echo 42\n");
	m = fake_manager(base, 0.2, 0.3);
	pool_manager_scale(m, 1);	/* a job to ask about */
	run_for(base, 0.8);
	pool_manager_commands(m, &polls);
	/* never two in flight: one timed out after 0.3 s, then backoff */
	ck_assert_uint_ge(polls, 1);
	ck_assert_uint_le(polls, 2);
	st = pool_manager_status(m);
	ck_assert_str_eq(json_string_value(json_object_get(st, "poll_error")),
			 "timed out: no answer in 0.3 s (pool.command-timeout), "
			 "killed");
	json_decref(st);

	write_exec("squeue", "echo 'squeue: error: Unable to contact slurm controller' >&2\nexit 1\n");
	run_for(base, 1.5);
	st = pool_manager_status(m);
	ck_assert_str_eq(json_string_value(json_object_get(st, "poll_error")),
			 "squeue: error: Unable to contact slurm controller");
	json_decref(st);
	pool_manager_destroy(m);
	event_base_free(base);
}
END_TEST

START_TEST(fake_submit_limit)
{
	struct event_base *base = event_base_new();
	struct pool_manager *m;
	json_t *st;

	write_exec("squeue", "exit 0\n");
	write_exec("sbatch", "echo 'sbatch: error: Batch job submission failed: invalid partition specified: nope' >&2\nexit 1\n");
	m = fake_manager(base, 0.2, 5);
	pool_manager_scale(m, 2);
	run_for(base, 0.6);
	st = pool_manager_status(m);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(st, "paused")));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(st,
				"last_error")), "invalid partition"));
	json_decref(st);
	pool_manager_destroy(m);
	event_base_free(base);
}
END_TEST

static Suite *manager_suite(void)
{
	Suite *s = suite_create("manager");
	TCase *tc = tcase_create("manager");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, local_scale_replace_and_empty);
	tcase_add_test(tc, classify_messages);
	tcase_add_test(tc, fake_one_status_per_interval);
	tcase_add_test(tc, fake_poll_timeout_and_failure);
	tcase_add_test(tc, fake_submit_limit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(manager_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
