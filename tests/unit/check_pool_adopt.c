/*
 * A pool manager that starts on the `jobs` an earlier one recorded: the
 * real local backend, whose jobs were forked by a process that then died
 * without a word (as a scheduler killed with SIGKILL does), a recorded pid
 * that a stranger holds now, and a fake Slurm (shell scripts standing in
 * for squeue, sbatch, scancel) whose listing shows one recorded job
 * running, one ended, and one unanswered submission made after all.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "pool/manager.h"
#include "state/state.h"

static char tmp[] = "/tmp/check_pool_adopt.XXXXXX";

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
	strcpy(tmp, "/tmp/check_pool_adopt.XXXXXX");
}

static void run_for(struct event_base *base, double secs)
{
	struct timeval tv = { (time_t)secs,
			      (suseconds_t)((secs - (long)secs) * 1e6) };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Live jobs with an id, their pids (local) in `pids`. */
static unsigned live_jobs(struct pool_manager *m, pid_t *pids, size_t max)
{
	struct pool *p = pool_manager_pool(m);
	unsigned n = 0;

	for (size_t i = 0; i < pool_njobs(p); i++) {
		struct pool_job *j = pool_job_at(p, i);
		if (j->state == JOB_STATE_ENDED || j->cancelling || !j->id[0])
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

/* A process that leads its group and is gone or a zombie nobody reaped
 * yet: not running any more. */
static int gone(pid_t pid)
{
	uint64_t start;

	return backend_local_started(pid, &start) < 0;
}

static int wait_gone(pid_t pid, double secs)
{
	for (double t = 0; t < secs; t += 0.05) {
		if (gone(pid))
			return 1;
		usleep(50000);
	}
	return gone(pid);
}

static int has(const pid_t *v, unsigned n, pid_t pid)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i] == pid)
			return 1;
	return 0;
}

START_TEST(local_jobs_of_a_killed_scheduler)
{
	pid_t first, old[4], now[4];
	int status;

	write_exec("job.sh", "exec sleep 60\n");
	/* The earlier scheduler: scales to 2 and dies with its jobs running,
	 * cleaning up nothing. */
	first = fork();
	ck_assert_int_ge(first, 0);
	if (first == 0) {
		struct event_base *base = event_base_new();
		struct pool_manager *m = local_manager(base);
		pid_t pids[4];
		pool_manager_scale(m, 2);
		for (int i = 0; i < 40 && live_jobs(m, pids, 4) < 2; i++)
			run_for(base, 0.05);
		run_for(base, 0.1);
		_exit(live_jobs(m, pids, 4) == 2 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(first, &status, 0), first);
	ck_assert_int_eq(WIFEXITED(status) && WEXITSTATUS(status) == 0, 1);

	struct event_base *base = event_base_new();
	struct pool_manager *m = local_manager(base);
	ck_assert_uint_eq(live_jobs(m, old, 4), 2);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_int_eq(gone(old[i]), 0);
		ck_assert_int_eq(kill(old[i], 0), 0);
	}
	/* adopted: the same two, none submitted beside them, for several
	 * polls; the target came back from the state directory */
	run_for(base, 0.7);
	ck_assert_uint_eq(live_jobs(m, now, 4), 2);
	ck_assert_int_eq(has(now, 2, old[0]) && has(now, 2, old[1]), 1);
	json_t *st = pool_manager_status(m);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "target")), 2);
	json_t *jobs = json_object_get(st, "jobs"), *j;
	size_t i;
	unsigned adopted = 0;
	json_array_foreach(jobs, i, j)
		adopted += json_is_true(json_object_get(j, "adopted"));
	ck_assert_uint_eq(adopted, 2);
	json_decref(st);

	/* one ends while this scheduler watches: replaced, the other kept */
	ck_assert_int_eq(kill(-old[0], SIGKILL), 0);
	run_for(base, 0.7);
	ck_assert_uint_eq(live_jobs(m, now, 4), 2);
	ck_assert_int_eq(has(now, 2, old[1]), 1);
	ck_assert_int_eq(has(now, 2, old[0]), 0);
	pid_t fresh = now[0] == old[1] ? now[1] : now[0];

	/* scale 1 removes the newest; scale 0 the adopted one too, by
	 * signalling the group this scheduler did not fork */
	pool_manager_scale(m, 1);
	run_for(base, 0.6);
	ck_assert_uint_eq(live_jobs(m, now, 4), 1);
	ck_assert_int_eq(now[0], old[1]);
	pool_manager_scale(m, 0);
	run_for(base, 0.6);
	ck_assert_uint_eq(live_jobs(m, now, 4), 0);
	ck_assert_int_eq(wait_gone(old[1], 3), 1);
	ck_assert_int_eq(wait_gone(fresh, 3), 1);
	pool_manager_destroy(m);
	event_base_free(base);
}
END_TEST

/* A recorded pid that another process holds now (or one that leads a
 * group, but started at another time) is not the job: not adopted, not
 * signalled, and replaced under a name of its own. */
START_TEST(local_pid_of_a_stranger)
{
	char rec[1024], path[600];
	pid_t stranger;
	uint64_t start;
	FILE *fp;

	write_exec("job.sh", "exec sleep 60\n");
	stranger = fork();
	ck_assert_int_ge(stranger, 0);
	if (stranger == 0) {
		setpgid(0, 0);
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && backend_local_started(stranger, &start) < 0; i++)
		usleep(10000);
	ck_assert_int_eq(backend_local_started(stranger, &start), 0);
	snprintf(rec, sizeof(rec),
		 "{\"backend\":\"local\",\"next_seq\":7,\"jobs\":[{\"id\":\"%d\","
		 "\"index\":-1,\"seq\":5,\"state\":\"running\",\"proc_start\":%llu}]}\n",
		 (int)stranger, (unsigned long long)(start + 1));
	snprintf(path, sizeof(path), "%s/jobs", tmp);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(rec, fp);
	fclose(fp);
	ck_assert_int_eq(state_pool_target_write(tmp, 1, NULL), 0);

	struct event_base *base = event_base_new();
	struct pool_manager *m = local_manager(base);
	pid_t now[4];
	run_for(base, 0.5);
	ck_assert_uint_eq(live_jobs(m, now, 4), 1);
	ck_assert_int_ne(now[0], stranger);
	struct pool_job *j = pool_find_seq(pool_manager_pool(m), 5);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(j->state, JOB_STATE_ENDED);
	ck_assert_int_eq(j->end, JOB_END_LOST);
	j = pool_find(pool_manager_pool(m), NULL, -1);
	ck_assert_ptr_null(j);
	/* the replacement has seq 7: names go on from the record's */
	char id[32];
	snprintf(id, sizeof(id), "%d", (int)now[0]);
	j = pool_find(pool_manager_pool(m), id, -1);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(j->seq, 7);
	pool_manager_scale(m, 0);
	run_for(base, 0.5);
	ck_assert_int_eq(kill(stranger, 0), 0);	/* untouched */
	ck_assert_int_eq(wait_gone(now[0], 3), 1);
	pool_manager_destroy(m);
	event_base_free(base);
	kill(stranger, SIGKILL);
	waitpid(stranger, NULL, 0);
}
END_TEST

START_TEST(slurm_jobs_of_a_killed_scheduler)
{
	char body[2048], script[512], rec[1024], path[600];
	struct pool_manager_config cfg = { 0 };
	struct err err = { "" };
	double t = wall();
	FILE *fp;

	/* 700 runs, 701 was cancelled meanwhile, 702 was made by a submit
	 * whose answer the earlier scheduler never heard (test-3) */
	snprintf(body, sizeof(body),
		 "echo \"$*\" >> '%s/squeue.calls'\n"
		 "echo '700|N/A|R|None|2026-01-01T00:00:00|2026-01-01T00:00:01|2099-01-01T00:00:00|1:00:00|test-1'\n"
		 "echo '701|N/A|CA|None|2026-01-01T00:00:00|2026-01-01T00:00:01|2026-01-01T00:10:00|1:00:00|test-2'\n"
		 "echo '702|N/A|PD|Priority|%s|N/A|N/A|1:00:00|test-3'\n"
		 "echo '800|N/A|PD|Priority|N/A|N/A|N/A|1:00:00|test-4'\n",
		 tmp, "N/A");
	write_exec("squeue", body);
	snprintf(body, sizeof(body), "echo \"$*\" >> '%s/sbatch.calls'\necho 800\n", tmp);
	write_exec("sbatch", body);
	snprintf(body, sizeof(body), "echo \"$*\" >> '%s/scancel.calls'\n", tmp);
	write_exec("scancel", body);
	write_exec("sacct", "exit 1\n");
	write_exec("job.sh", "exit 0\n");
	snprintf(rec, sizeof(rec),
		 "{\"backend\":\"slurm\",\"next_seq\":4,\"jobs\":["
		 "{\"id\":\"700\",\"index\":-1,\"seq\":1,\"state\":\"running\","
		 "\"joined\":true,\"submitted\":%.0f},"
		 "{\"id\":\"701\",\"index\":-1,\"seq\":2,\"state\":\"running\","
		 "\"joined\":true,\"submitted\":%.0f},"
		 "{\"id\":\"\",\"index\":-1,\"seq\":3,\"state\":\"queued\","
		 "\"uncertain\":true,\"submitted\":%.0f}]}\n",
		 t - 100, t - 90, t - 5);
	snprintf(path, sizeof(path), "%s/jobs", tmp);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(rec, fp);
	fclose(fp);
	ck_assert_int_eq(state_pool_target_write(tmp, 3, NULL), 0);

	snprintf(script, sizeof(script), "%s/job.sh", tmp);
	cfg.backend = &backend_slurm;
	cfg.cluster = "test";
	cfg.state_dir = tmp;
	cfg.script = script;
	cfg.bin_dir = tmp;
	cfg.params.workers_per_job = 1;
	cfg.params.missing_grace = 60;
	cfg.poll_interval = 0.3;
	cfg.command_timeout = 5;
	cfg.min_gap = 0.05;
	struct event_base *base = event_base_new();
	struct pool_manager *m = pool_manager_create(base, NULL, &cfg, &err);
	ck_assert_msg(m != NULL, "%s", err.text);
	/* before any listing: the three count, nothing is submitted */
	struct pool *p = pool_manager_pool(m);
	ck_assert_uint_eq(pool_njobs(p), 3);
	run_for(base, 1.5);
	struct pool_job *j = pool_find(p, "700", -1);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(j->state, JOB_STATE_RUNNING);
	ck_assert_int_eq(j->adopted, 1);
	j = pool_find(p, "701", -1);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(j->state, JOB_STATE_ENDED);
	ck_assert_int_eq(j->end, JOB_END_CANCELLED);
	j = pool_find(p, "702", -1);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(j->seq, 3);
	ck_assert_int_eq(j->state, JOB_STATE_QUEUED);
	/* one sbatch, for the cancelled one, named after the record's seqs */
	char calls[4096] = "";
	snprintf(path, sizeof(path), "%s/sbatch.calls", tmp);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	size_t got = fread(calls, 1, sizeof(calls) - 1, fp);
	calls[got] = '\0';
	fclose(fp);
	ck_assert_msg(strstr(calls, "--job-name=test-4") != NULL, "%s", calls);
	ck_assert_ptr_null(strchr(calls, '\n') == NULL ? NULL :
			   strchr(strchr(calls, '\n') + 1, '\n'));
	j = pool_find(p, "800", -1);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(j->seq, 4);
	/* nothing cancelled */
	snprintf(path, sizeof(path), "%s/scancel.calls", tmp);
	ck_assert_int_eq(access(path, F_OK), -1);
	pool_manager_destroy(m);
	event_base_free(base);
}
END_TEST

/* A record of another backend's live jobs: no pool (taken for its own or
 * written over, they would be lost), and the record stays for `cluster
 * stop --force`. */
START_TEST(record_of_another_backend)
{
	char path[600], script[512];
	struct pool_manager_config cfg = { 0 };
	struct err err = { "" };
	FILE *fp;

	write_exec("job.sh", "exec sleep 60\n");
	snprintf(path, sizeof(path), "%s/jobs", tmp);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("{\"backend\":\"slurm\",\"next_seq\":3,\"jobs\":[{\"id\":\"700\","
	      "\"index\":-1,\"seq\":1,\"state\":\"running\"}]}\n", fp);
	fclose(fp);
	snprintf(script, sizeof(script), "%s/job.sh", tmp);
	cfg.backend = &backend_local;
	cfg.cluster = "test";
	cfg.state_dir = tmp;
	cfg.script = script;
	struct event_base *base = event_base_new();
	ck_assert_ptr_null(pool_manager_create(base, NULL, &cfg, &err));
	ck_assert_msg(strstr(err.text, "1 job of backend slurm") &&
		      strstr(err.text, "stop --force"), "%s", err.text);
	event_base_free(base);
	json_t *doc = NULL;
	ck_assert_int_eq(state_pool_jobs_read(tmp, &doc, NULL), 0);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "backend")),
			 "slurm");
	json_decref(doc);
}
END_TEST

/* A worker that joined before its job had an id (the job started before
 * the answer of its submission, which was then lost): counted once the
 * listing finds the job by name. */
START_TEST(worker_before_its_job_is_found)
{
	char body[1024], script[512];
	struct pool_manager_config cfg = { 0 };
	struct err err = { "" };

	write_exec("squeue", "echo '900|N/A|R|None|N/A|N/A|N/A|1:00:00|test-1'\n");
	write_exec("sbatch", "echo 900\necho 'sbatch: error: Socket timed out "
		   "on send/recv operation' >&2\nexit 1\n");
	snprintf(body, sizeof(body), "echo \"$*\" >> '%s/scancel.calls'\n", tmp);
	write_exec("scancel", body);
	write_exec("job.sh", "exit 0\n");
	snprintf(script, sizeof(script), "%s/job.sh", tmp);
	cfg.backend = &backend_slurm;
	cfg.cluster = "test";
	cfg.script = script;
	cfg.bin_dir = tmp;
	cfg.params.workers_per_job = 1;
	cfg.params.missing_grace = 60;
	cfg.poll_interval = 0.5;
	cfg.command_timeout = 5;
	cfg.min_gap = 0.05;
	struct event_base *base = event_base_new();
	struct pool_manager *m = pool_manager_create(base, NULL, &cfg, &err);
	ck_assert_msg(m != NULL, "%s", err.text);
	pool_manager_scale(m, 1);
	/* its worker is quicker than the answer */
	pool_manager_worker_joined(m, 7, "900", -1, 0);
	struct pool *p = pool_manager_pool(m);
	ck_assert_ptr_null(pool_find(p, "900", -1));
	run_for(base, 1.0);	/* the submit fails; a poll finds it by name */
	struct pool_job *j = pool_find(p, "900", -1);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(j->joined, 1);
	json_t *st = pool_manager_status(m);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "actual")), 1);
	json_decref(st);
	pool_manager_worker_left(m, 7, "900", -1);
	ck_assert_uint_eq(j->joined, 0);
	pool_manager_destroy(m);
	event_base_free(base);
}
END_TEST

static Suite *adopt_suite(void)
{
	Suite *s = suite_create("pool_adopt");
	TCase *tc = tcase_create("adopt");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, local_jobs_of_a_killed_scheduler);
	tcase_add_test(tc, local_pid_of_a_stranger);
	tcase_add_test(tc, slurm_jobs_of_a_killed_scheduler);
	tcase_add_test(tc, record_of_another_backend);
	tcase_add_test(tc, worker_before_its_job_is_found);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(adopt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
