/*
 * What `cluster start` checks of the pool of a local daemon, before the
 * daemon starts (start_pool_preflight) and once it answers
 * (start_pool_started), and the job-script and dry-run helpers the head
 * job shares with those checks; see start_pool.h.  Apart from
 * cmd_start.c, which keeps the command and its two ways to start.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>

#include "cli/start_pool.h"
#include "cluster/client.h"
#include "util/clock.h"

#define FIRST_SUBMIT_WAIT 45.0	/* s for a daemon's first submission to
				   answer (pool.command-timeout is 30 s) */

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

/* The configuration file the scheduler and its jobs read: absolute. */
const char *start_config_abs(const struct cli_globals *g, char buf[PATH_MAX])
{
	const char *f = g->config_file ? g->config_file : getenv("CLUSTER_CONFIG");

	if (f && *f && realpath(f, buf))
		return buf;
	return NULL;
}

int start_write_script(const struct cli_globals *g, const struct config *cfg,
		       const char *dir, enum job_role role, const char *name,
		       struct strbuf *path)
{
	struct strbuf rank = STRBUF_INIT, script = STRBUF_INIT;
	struct err err = { "" };
	char cfg_buf[PATH_MAX];
	struct job_script_opts so = {
		.role = role,
		.cluster_name = g->name,
		.state_dir = dir,
		.templates_dir = g->templates_dir,
		.config_file = start_config_abs(g, cfg_buf),
		.sets = g->sets.items,
	};
	int rc = -1;

	strbuf_addf(&rank, "%s/cluster-rank", g->bindir);
	so.rank_path = rank.buf;
	strbuf_addf(path, "%s/%s", dir, name);
	if (job_script_render(cfg, &so, &script, &err) < 0 ||
	    state_write_atomic(path->buf, script.buf, script.len, 0755,
			       &err) < 0)
		fprintf(stderr, "cluster: %s\n", err.text);
	else
		rc = 0;
	strbuf_release(&rank);
	strbuf_release(&script);
	return rc;
}

/* Submit the head job (or a dry run of it or of the worker job, `what`);
 * 0 with its id in *ref. */
int start_submit(const struct backend *b, const char *script, int dry_run,
		 const char *what, struct job_ref *ref)
{
	struct backend_submit s = { .script = script, .dry_run = dry_run };
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct backend_result res = { 0 };
	struct err err = { "" };
	int rc = -1;

	memset(ref, 0, sizeof(*ref));
	if (b->submit_argv(&s, &argv, &err) < 0) {
		fprintf(stderr, "cluster: %s\n", err.text);
		goto out;
	}
	if (cli_batch_run(b, &argv, &res, &err) < 0) {
		fprintf(stderr, "cluster: %s the %s:\n%s\n",
			dry_run ? "the dry run rejects" :
			"the batch system does not take", what, err.text);
		goto out;
	}
	if ((!dry_run || b->dry_run_holds) &&
	    b->parse_submit(res.out.buf ? res.out.buf : "", ref, &err) < 0) {
		fprintf(stderr, "cluster: cannot read the job id: %s\n", err.text);
		goto out;
	}
	rc = 0;
out:
	backend_result_release(&res);
	backend_argv_release(&argv);
	return rc;
}

/* The held job of a dry run that leaves one (PBS). */
void start_cancel_held(const struct backend *b, const struct job_ref *ref)
{
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct backend_result res;
	struct err err = { "" };

	b->cancel_argv(ref, 1, &argv);
	if (cli_batch_run(b, &argv, &res, &err) < 0)
		fprintf(stderr, "cluster: cannot cancel the dry run's held job "
			"%s: %s\n", ref->id, err.text);
	backend_result_release(&res);
	backend_argv_release(&argv);
}

/* Whether the answering daemon's pool runs: it has one, and its first
 * submission (when the target wants jobs at once) was not refused; 0, or
 * -1 having said why. */
int start_pool_started(const char *name)
{
	char errbuf[512];
	cluster_client_t *c = cluster_client_open(name, errbuf, sizeof(errbuf));
	double t0 = clock_monotonic();
	int rc = -1;

	if (!c) {
		fprintf(stderr, "cluster: %s\n", errbuf);
		return -1;
	}
	for (;;) {
		char *text = cluster_pool_status_json(c, NULL);
		json_t *st = text ? json_loads(text, 0, NULL) : NULL, *jobs, *j;
		const char *paused;
		size_t i;
		int answered = 0;

		free(text);
		if (!st) {
			fprintf(stderr, "cluster: the pool of '%s' cannot start: %s\n",
				name, cluster_client_error(c));
			break;
		}
		paused = json_string_value(json_object_get(st, "paused"));
		if (paused) {
			fprintf(stderr, "cluster: the pool of '%s' cannot start: %s\n",
				name, paused);
			json_decref(st);
			break;
		}
		jobs = json_object_get(st, "jobs");
		json_array_foreach(jobs, i, j) {
			const char *id = json_string_value(json_object_get(j, "id"));
			if (id && *id)
				answered = 1;
		}
		if (!json_integer_value(json_object_get(st, "target")) || answered ||
		    clock_monotonic() - t0 > FIRST_SUBMIT_WAIT) {
			json_decref(st);
			rc = 0;
			break;
		}
		json_decref(st);
		sleep_s(0.2);
	}
	cluster_client_close(c);
	return rc;
}

/* SIGTERM to a daemon this process started, and wait for it (it stops
 * its pool and removes its address file). */
void start_stop_daemon(pid_t pid)
{
	int status;

	kill(pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		sleep_s(0.1);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* What would keep a local daemon's pool from starting, said before the
 * daemon starts: the backend, pool.min-workers against pool.max-workers,
 * live jobs of another backend recorded in the state directory, the
 * worker job script, and for a batch system a dry run of that script
 * (Slurm's --test-only, PBS's held job deleted at once), so a partition,
 * queue or account the site refuses, or a submit command that fails,
 * fails `start` with the batch system's own words.  0, or -1 having said
 * why. */
int start_pool_preflight(const struct cli_globals *g, const struct config *cfg,
			 const char *dir)
{
	const char *bname = config_get_str(cfg, "backend");
	const struct backend *b = backend_find(bname ? bname : "local");
	uint64_t min = (uint64_t)config_get_num(cfg, "pool.min-workers");
	uint64_t max = (uint64_t)config_get_num(cfg, "pool.max-workers");
	struct strbuf script = STRBUF_INIT;
	struct job_ref held;
	json_t *doc = NULL;
	int rc = -1;

	if (!b) {
		fprintf(stderr, "cluster: backend = '%s' is unknown\n", bname);
		return -1;
	}
	if (max && min > max) {
		fprintf(stderr, "cluster: pool.min-workers (%llu) is more than "
			"pool.max-workers (%llu)\n", (unsigned long long)min,
			(unsigned long long)max);
		return -1;
	}
	if (state_pool_jobs_read(dir, &doc, NULL) == 0) {
		const char *was = json_string_value(json_object_get(doc, "backend"));
		size_t n = json_array_size(json_object_get(doc, "jobs"));
		if (was && strcmp(was, b->name) && n) {
			fprintf(stderr, "cluster: '%s/%s' lists %zu job%s of backend "
				"%s, and the backend is now %s: 'cluster --name %s "
				"stop --force' cancels them first\n", dir,
				STATE_POOL_JOBS, n, n == 1 ? "" : "s", was, b->name,
				g->name);
			json_decref(doc);
			return -1;
		}
		json_decref(doc);
	}
	if (start_write_script(g, cfg, dir, JOB_WORKER, STATE_POOL_SCRIPT, &script) < 0)
		goto out;
	if (b->is_batch) {
		if (start_submit(b, script.buf, 1, "pool's worker job", &held) < 0) {
			fprintf(stderr, "cluster: the pool of '%s' cannot start; "
				"nothing was started\n", g->name);
			goto out;
		}
		if (b->dry_run_holds && held.id[0])
			start_cancel_held(b, &held);
	}
	rc = 0;
out:
	strbuf_release(&script);
	return rc;
}

