/*
 * The pool in the scheduler process: sched_demand's sums, and a real
 * server with its pool started from a configuration (server_pool_start)
 * on the local backend.  The worker job script comes from a template this
 * test writes (job.template) that runs the real `cluster worker`, so
 * workers join the server from local jobs with CLUSTER_JOB_ID set, as
 * they would from a batch job; the rendered @LAUNCH@ line sits unused in
 * a shell function.  The pool polls once a second (the key's least), so
 * the suite takes some seconds.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/config.h"
#include "pool/manager.h"
#include "sched/sched.h"
#include "server/events.h"
#include "server/pool.h"
#include "server/server.h"
#include "state/state.h"
#include "util/log.h"
#include "util/paths.h"
#include "util/strbuf.h"

#define NAME "wiring"
#define GiB (1024ull * 1024 * 1024)

static char tmp[] = "/tmp/check_pool_wiring.XXXXXX";
static struct strbuf dir = STRBUF_INIT;	/* the cluster's state directory */
static struct event_base *base;
static struct server *srv;
static struct config *cfg;

struct losses {
	unsigned left, lost;
};

static void on_lost(void *arg, worker_id_t w, int left, const char *why)
{
	struct losses *l = arg;

	(void)w;
	(void)why;
	if (left)
		l->left++;
	else
		l->lost++;
}

static const struct events_ops loss_ops = {
	.worker_lost = on_lost,
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_for(double secs)
{
	struct timeval tv = { (time_t)secs,
			      (suseconds_t)((secs - (long)secs) * 1e6) };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Run the loop until `cond` holds or `secs` have passed. */
#define WAIT_FOR(secs, cond)						\
	do {								\
		double until_ = now_s() + (secs);			\
		while (!(cond) && now_s() < until_)			\
			run_for(0.05);					\
	} while (0)

static void write_file(const char *name, const char *text, int mode)
{
	char path[600];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	ck_assert_int_eq(chmod(path, (mode_t)mode), 0);
}

/* A job script template whose jobs run one real worker each. */
static void write_template(void)
{
	struct strbuf t = STRBUF_INIT, prog = STRBUF_INIT;

	strbuf_addf(&prog, "%s/../bin/cluster", paths_bindir());
	ck_assert_msg(access(prog.buf, X_OK) == 0, "%s is not built", prog.buf);
	strbuf_addf(&t,
		"#!@SHELL@\n"
		"export CLUSTER_JOB_ID=$$\n"
		"export CLUSTER_JOB_INDEX=\"${CLUSTER_JOB_INDEX:--1}\"\n"
		"export CLUSTER_JOB_END=0\n"
		"@ENVIRONMENT@\n"
		"unused() {\n"
		"@LAUNCH@\n"
		"}\n"
		"exec '%s' --name " NAME " worker --cores 1 --memory %llu\n",
		prog.buf, (unsigned long long)GiB);
	write_file("template.sh", t.buf, 0644);
	strbuf_release(&t);
	strbuf_release(&prog);
}

static void load_config(void)
{
	char tmpl[600];
	struct err err = { "" };
	const char *sets[] = {
		"backend=local", tmpl, "job.cores=1", "job.memory=1GiB",
		"job.walltime=1h", "pool.drain-margin=1m", "pool.poll-interval=1s",
		NULL,
	};
	struct config_source src = {
		.profile = "local",
		.sets = sets,
		.sysconfdir = tmp,
		.home = tmp,
		.hostname = "testhost",
	};

	snprintf(tmpl, sizeof(tmpl), "job.template=%s/template.sh", tmp);
	cfg = config_load(&src, &err);
	ck_assert_msg(cfg != NULL, "%s", err.text);
}

static void setup(void)
{
	struct server_config sc = {
		.bind = "127.0.0.1",
		.advertise = "127.0.0.1",
		.heartbeat_ms = 200,
		.missed_heartbeats = 5,
	};
	struct err err = { "" };

	log_setup("check_pool_wiring", 0);
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	ck_assert_int_eq(setenv("CLUSTER_HOME", tmp, 1), 0);
	ck_assert_msg(state_dir(NAME, 1, &dir, &err) == 0, "%s", err.text);
	write_template();
	load_config();
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	sc.state_dir = dir.buf;
	srv = server_create(base, &sc, &err);
	ck_assert_msg(srv != NULL, "%s", err.text);
}

/* Whatever a failed test left running goes with it. */
static void kill_jobs(void)
{
	struct pool_manager *m = srv ? server_pool(srv) : NULL;
	struct pool *p = m ? pool_manager_pool(m) : NULL;

	for (size_t i = 0; p && i < pool_njobs(p); i++) {
		struct pool_job *j = pool_job_at(p, i);
		if (j->id[0] && !j->head && j->state != JOB_STATE_ENDED)
			kill(-(pid_t)atol(j->id), SIGKILL);
	}
}

static void teardown(void)
{
	char cmd[600];

	kill_jobs();
	server_destroy(srv);
	srv = NULL;
	event_base_free(base);
	config_destroy(cfg);
	strbuf_release(&dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	(void)system(cmd);
	strcpy(tmp, "/tmp/check_pool_wiring.XXXXXX");
}

static struct pool_manager *start_pool(const char *head, unsigned head_workers)
{
	struct err err = { "" };
	const char *sets[] = { "scheduler.host=127.0.0.1", NULL };
	struct server_pool_opts o = {
		.cfg = cfg,
		.cluster = NAME,
		.state_dir = dir.buf,
		.config_file = "/nonexistent/cluster.yaml",
		.sets = sets,
		.head_job = head,
		.head_workers = head_workers,
	};

	ck_assert_ptr_null(server_pool(srv));
	ck_assert_msg(server_pool_start(srv, base, &o, &err) == 0, "%s",
		      err.text);
	ck_assert_ptr_nonnull(server_pool(srv));
	return server_pool(srv);
}

static json_int_t status_int(struct pool_manager *m, const char *key)
{
	json_t *st = pool_manager_status(m);
	json_int_t v = json_integer_value(json_object_get(st, key));

	json_decref(st);
	return v;
}

/* Jobs of ours not ended; `joined` set when each has all its workers. */
static unsigned live_jobs(struct pool_manager *m, int *joined)
{
	struct pool *p = pool_manager_pool(m);
	unsigned n = 0;

	if (joined)
		*joined = 1;
	for (size_t i = 0; i < pool_njobs(p); i++) {
		struct pool_job *j = pool_job_at(p, i);
		if (j->head || j->state == JOB_STATE_ENDED)
			continue;
		n++;
		if (joined && (!j->id[0] || j->joined != j->expected))
			*joined = 0;
	}
	return n;
}

static int all_joined(struct pool_manager *m, unsigned jobs)
{
	int joined;

	return live_jobs(m, &joined) == jobs && joined;
}

static task_id_t submit(unsigned cores, const char *secs)
{
	char *argv[] = { (char *)"sleep", (char *)secs, NULL };
	struct task_spec spec = { .argv = argv, .cores = cores };
	struct err err = { "" };
	task_id_t first = 0;
	uint64_t count = 0;

	ck_assert_msg(sched_submit(server_sched(srv), &spec, &first, &count,
				   &err) == 0, "%s", err.text);
	return first;
}

START_TEST(demand_sums_runnable_tasks)
{
	struct sched_hooks hooks = { 0 };
	struct sched *s = sched_create(&hooks);
	char *argv[] = { (char *)"true", NULL };
	struct task_spec sp = { .argv = argv, .cores = 2, .memory = GiB };
	struct sched_demand d;
	struct err err = { "" };
	task_id_t first, big = 0;
	uint64_t count;

	ck_assert_int_eq(sched_submit(s, &sp, &first, &count, &err), 0);
	sp.cores = 1;
	sp.memory = 0;
	sp.is_array = 1;
	sp.array_first = 0;
	sp.array_last = 4;
	ck_assert_int_eq(sched_submit(s, &sp, &first, &count, &err), 0);
	sp.is_array = 0;
	/* past each bound in turn, then one more than the samples hold */
	struct task_spec over[] = {
		{ .argv = argv, .cores = 8 },
		{ .argv = argv, .cores = 1, .memory = 10 * GiB },
		{ .argv = argv, .cores = 1, .time_limit = 7200 },
		{ .argv = argv, .cores = 5 },
		{ .argv = argv, .cores = 6 },
	};
	for (size_t i = 0; i < 5; i++) {
		ck_assert_int_eq(sched_submit(s, &over[i], &first, &count, &err), 0);
		if (!big)
			big = first;
	}

	sched_demand(s, 4, 4 * GiB, 3600, 0, &d);
	ck_assert_uint_eq(d.tasks, 6);
	ck_assert_uint_eq(d.cores, 7);
	ck_assert_uint_eq(d.memory, GiB);
	ck_assert_uint_eq(d.over, 5);
	ck_assert_uint_eq(d.nsample, SCHED_DEMAND_SAMPLES);
	ck_assert_uint_eq(d.sample[0].id, big);
	ck_assert_uint_eq(d.sample[0].cores, 8);
	ck_assert_uint_eq(d.sample[1].memory, 10 * GiB);
	ck_assert_uint_eq(d.sample[2].time_limit, 7200);

	/* no bounds: everything counts */
	sched_demand(s, 0, 0, 0, 0, &d);
	ck_assert_uint_eq(d.tasks, 11);
	ck_assert_uint_eq(d.over, 0);

	/* running tasks count, ended ones do not */
	worker_id_t w = sched_worker_add(s, "w", 4, 0);
	sched_dispatch(s);
	sched_demand(s, 4, 4 * GiB, 3600, 0, &d);
	ck_assert_uint_eq(d.tasks, 6);
	ck_assert_uint_eq(d.cores, 7);
	struct task_result ok = { .exit_code = 0 };
	sched_task_finished(s, 1, w, &ok);
	ck_assert_int_eq(sched_cancel(s, big, &err), 0);
	sched_demand(s, 4, 4 * GiB, 3600, 0, &d);
	ck_assert_uint_eq(d.tasks, 5);
	ck_assert_uint_eq(d.cores, 5);
	ck_assert_uint_eq(d.memory, 0);
	ck_assert_uint_eq(d.over, 4);
	ck_assert_uint_ne(d.sample[0].id, big);

	/* a task of 2 GPUs: past workers of none, counted on workers of 2 */
	struct task_spec gpu = { .argv = argv, .cores = 1, .gpus = 2 };
	ck_assert_int_eq(sched_submit(s, &gpu, &first, &count, &err), 0);
	sched_demand(s, 4, 4 * GiB, 3600, 0, &d);
	ck_assert_uint_eq(d.over, 5);
	ck_assert_uint_eq(d.gpus, 0);
	sched_demand(s, 4, 4 * GiB, 3600, 2, &d);
	ck_assert_uint_eq(d.over, 4);
	ck_assert_uint_eq(d.tasks, 6);
	ck_assert_uint_eq(d.gpus, 2);
	sched_demand(s, 4, 4 * GiB, 3600, 1, &d);
	ck_assert_uint_eq(d.over, 5);
	sched_destroy(s);
}
END_TEST

START_TEST(start_writes_script_counts_head_reads_target)
{
	struct err err = { "" };
	struct strbuf path = STRBUF_INIT, script = STRBUF_INIT;
	struct pool_manager *m;
	struct stat st;
	json_t *status, *jobs;

	/* a scale done before the scheduler started */
	ck_assert_int_eq(state_pool_target_write(dir.buf, 2, &err), 0);
	m = start_pool("777", 1);

	strbuf_addf(&path, "%s/%s", dir.buf, STATE_POOL_SCRIPT);
	ck_assert_int_eq(stat(path.buf, &st), 0);
	ck_assert_int_eq(st.st_mode & 0100, 0100);
	ck_assert_int_eq(strbuf_read_file(&script, path.buf), 0);
	ck_assert_msg(strstr(script.buf, "--worker-only --name '" NAME "'") &&
		      strstr(script.buf, "--config '/nonexistent/cluster.yaml'") &&
		      strstr(script.buf, "--set 'scheduler.host=127.0.0.1'") &&
		      strstr(script.buf, "--cores '1'"), "%s", script.buf);

	/* the head job's one worker counts: one job more makes two */
	ck_assert_int_eq(status_int(m, "target"), 2);
	WAIT_FOR(10, all_joined(m, 1));
	ck_assert(all_joined(m, 1));
	status = pool_manager_status(m);
	jobs = json_object_get(status, "jobs");
	ck_assert_uint_eq(json_array_size(jobs), 2);
	ck_assert_str_eq(json_string_value(json_object_get(
		json_array_get(jobs, 0), "id")), "777");
	ck_assert(json_is_true(json_object_get(json_array_get(jobs, 0), "head")));
	ck_assert_int_eq(json_integer_value(json_object_get(
		json_array_get(jobs, 1), "joined")), 1);
	json_decref(status);
	ck_assert_uint_eq(server_nworkers(srv), 1);
	strbuf_release(&path);
	strbuf_release(&script);
}
END_TEST

START_TEST(scale_up_join_and_down_in_order)
{
	struct losses l = { 0, 0 };
	struct pool_manager *m = start_pool(NULL, 0);
	pid_t pids[2];
	unsigned n = 0;

	events_subscribe(server_events(srv), &loss_ops, &l);
	pool_manager_scale(m, 2);
	WAIT_FOR(10, all_joined(m, 2));
	ck_assert(all_joined(m, 2));
	ck_assert_int_eq(status_int(m, "actual"), 2);
	ck_assert_uint_eq(server_nworkers(srv), 2);
	for (size_t i = 0; i < pool_njobs(pool_manager_pool(m)); i++) {
		struct pool_job *j = pool_job_at(pool_manager_pool(m), i);
		if (j->state != JOB_STATE_ENDED && n < 2)
			pids[n++] = (pid_t)atol(j->id);
	}
	ck_assert_uint_eq(n, 2);

	/* idle workers are asked to leave, then their jobs end */
	pool_manager_scale(m, 0);
	WAIT_FOR(10, live_jobs(m, NULL) == 0 && server_nworkers(srv) == 0);
	ck_assert_uint_eq(live_jobs(m, NULL), 0);
	ck_assert_uint_eq(server_nworkers(srv), 0);
	ck_assert_uint_eq(l.left, 2);
	ck_assert_uint_eq(l.lost, 0);
	for (unsigned i = 0; i < n; i++)
		ck_assert(kill(pids[i], 0) == -1 && errno == ESRCH);
	ck_assert_int_eq(status_int(m, "actual"), 0);
	events_unsubscribe(server_events(srv), &loss_ops, &l);
}
END_TEST

START_TEST(adapt_grows_with_tasks_and_shrinks_when_idle)
{
	struct pool_manager *m = start_pool(NULL, 0);
	struct sched_counts sc;
	task_id_t big;
	json_t *st, *u;

	/* each task on a worker of its own, not held behind the other */
	server_set_prefetch(srv, 0);
	pool_manager_adapt(m, 0, 3, 2.0);
	submit(1, "2");
	submit(1, "2");
	big = submit(8, "1");

	/* two 1-core tasks want two 1-core workers; the 8-core one none */
	WAIT_FOR(10, all_joined(m, 2));
	ck_assert(all_joined(m, 2));
	ck_assert_int_eq(status_int(m, "target"), 2);
	st = pool_manager_status(m);
	u = json_object_get(st, "unrunnable");
	ck_assert_uint_eq(json_array_size(u), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(
		json_array_get(u, 0), "id")), (json_int_t)big);
	ck_assert_str_eq(json_string_value(json_object_get(
		json_array_get(u, 0), "needs")), "8 cores");
	ck_assert_str_eq(json_string_value(json_object_get(
		json_array_get(u, 0), "limit")), "1 core");
	ck_assert_int_eq(json_integer_value(json_object_get(st,
		"unrunnable_tasks")), 1);
	json_decref(st);
	ck_assert_int_eq(sched_cancel(server_sched(srv), big, NULL), 0);

	/* the tasks end; the pool stays until the idle timeout, then
	 * shrinks to the highest demand it saw meanwhile, and so to none */
	WAIT_FOR(15, (sched_counts(server_sched(srv), &sc),
		      sc.state[TASK_DONE] == 2));
	ck_assert_uint_eq(sc.state[TASK_DONE], 2);
	ck_assert_int_eq(status_int(m, "target"), 2);
	WAIT_FOR(20, status_int(m, "target") == 0 && live_jobs(m, NULL) == 0);
	ck_assert_int_eq(status_int(m, "target"), 0);
	ck_assert_uint_eq(live_jobs(m, NULL), 0);
	WAIT_FOR(5, server_nworkers(srv) == 0);
	ck_assert_uint_eq(server_nworkers(srv), 0);
}
END_TEST

static Suite *wiring_suite(void)
{
	Suite *s = suite_create("pool_wiring");
	TCase *tc = tcase_create("pool_wiring");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, demand_sums_runnable_tasks);
	tcase_add_test(tc, start_writes_script_counts_head_reads_target);
	tcase_add_test(tc, scale_up_join_and_down_in_order);
	tcase_add_test(tc, adapt_grows_with_tasks_and_shrinks_when_idle);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(wiring_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
