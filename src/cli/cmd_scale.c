/*
 * cluster scale: set the pool's target, in workers or as whole jobs
 * (--jobs, --cores, --memory, rounded up as the scheduler rounds them).
 * With no scheduler answering yet (a head job still queued) the target is
 * written to the state directory, where the pool reads it when the
 * scheduler starts; then jobs, cores and memory are turned into workers
 * here, from the configuration's job size, and checked against
 * pool.min-workers and pool.max-workers as the scheduler would check
 * them.  --wait follows the pool's
 * status until as many workers as the target have joined: a bar on a
 * terminal, a line per change otherwise.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cluster/client.h"
#include "jobscript/jobscript.h"
#include "state/state.h"
#include "util/strbuf.h"
#include "util/units.h"

#define MAX_WORKERS 1000000

struct scale_args {
	uint64_t jobs, cores, memory, timeout;
	int jobs_seen, cores_seen, memory_seen, timeout_seen;
	int wait;
};

static const struct opt scale_options[] = {
	OPT_COUNT("jobs", 0, "J", "J whole jobs, however many workers each has",
		  struct scale_args, jobs, 0, MAX_WORKERS,
		  .seen = OPT_SEEN(struct scale_args, jobs_seen)),
	OPT_COUNT("cores", 0, "C", "enough jobs for C cores, rounded up",
		  struct scale_args, cores, 0, UINT32_MAX,
		  .seen = OPT_SEEN(struct scale_args, cores_seen)),
	OPT_SIZE("memory", 0, "SIZE", "enough jobs for SIZE of memory, rounded up",
		 struct scale_args, memory,
		 .seen = OPT_SEEN(struct scale_args, memory_seen)),
	OPT_FLAG("wait", 'w', "wait until the target's workers have joined",
		 struct scale_args, wait),
	OPT_DURATION("timeout", 0, "DUR", "with --wait: give up after DUR (exit 1)",
		     struct scale_args, timeout,
		     .seen = OPT_SEEN(struct scale_args, timeout_seen)),
	OPT_END,
};

static int cmd_scale(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_scale_entry = {
	.name = "scale",
	.exec = cmd_scale,
	.usage = "[N]",
	.summary = "grow or shrink the pool to N workers (or --jobs, --cores, --memory)",
	.options = scale_options,
	.opts_size = sizeof(struct scale_args),
};

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* No scheduler answers: keep the target for the pool to read at start. */
static int keep_target(const struct cli_globals *g, enum cluster_scale_unit unit,
		       uint64_t value, const char *why)
{
	const char *name = g->name ? g->name : "default";
	struct strbuf dir = STRBUF_INIT;
	struct err err = { "" };
	uint64_t workers = value, jobs, per_job = 1, min, max;
	int rc = 1;

	{
		struct config *cfg = cli_load_config(g);
		struct job_size js;
		if (!cfg)
			goto out;
		if (job_size_from_config(cfg, &js, &err) < 0) {
			config_destroy(cfg);
			fprintf(stderr, "cluster: %s\n", err.text);
			goto out;
		}
		min = (uint64_t)config_get_num(cfg, "pool.min-workers");
		max = (uint64_t)config_get_num(cfg, "pool.max-workers");
		config_destroy(cfg);
		per_job = (uint64_t)js.nodes * js.processes;
		if (!per_job)
			per_job = 1;
		if (unit == CLUSTER_SCALE_JOBS)
			workers = value * per_job;
		else if (unit == CLUSTER_SCALE_CORES)
			workers = ceil_div(value, per_job * (js.threads ? js.threads : 1)) *
				per_job;
		else if (unit == CLUSTER_SCALE_MEMORY) {
			if (!js.worker_memory) {
				fprintf(stderr, "cluster: --memory: the jobs' workers have "
					"no memory size (set job.memory)\n");
				goto out;
			}
			workers = ceil_div(value, per_job * js.worker_memory) * per_job;
		}
	}
	if (workers > MAX_WORKERS) {
		fprintf(stderr, "cluster: %" PRIu64 " workers is more than %d\n",
			workers, MAX_WORKERS);
		goto out;
	}
	/* as the scheduler would answer */
	if (max && workers > max) {
		fprintf(stderr, "cluster: %" PRIu64 " worker%s is more than "
			"pool.max-workers (%" PRIu64 ")\n", workers,
			workers == 1 ? "" : "s", max);
		goto out;
	}
	if (workers < min) {
		fprintf(stderr, "cluster: %" PRIu64 " worker%s is fewer than "
			"pool.min-workers (%" PRIu64 ")\n", workers,
			workers == 1 ? "" : "s", min);
		goto out;
	}
	jobs = ceil_div(workers, per_job);
	if (state_dir(name, 1, &dir, &err) < 0 ||
	    state_pool_target_write(dir.buf, (unsigned)workers, &err) < 0) {
		fprintf(stderr, "cluster: %s\n", err.text);
		goto out;
	}
	printf("target: %" PRIu64 " worker%s (%" PRIu64 " job%s), kept in '%s/%s'\n",
	       workers, workers == 1 ? "" : "s", jobs, jobs == 1 ? "" : "s",
	       dir.buf, STATE_POOL_TARGET);
	printf("no scheduler answers for '%s' yet: the target applies when it "
	       "starts\n", name);
	if (g->verbose)
		fprintf(stderr, "cluster: %s\n", why);
	rc = 0;
out:
	strbuf_release(&dir);
	return rc;
}

/* The pool's target and joined workers, from its status. */
static int pool_counts(cluster_client_t *c, uint64_t *target, uint64_t *joined)
{
	char *text = cluster_pool_status_json(c, NULL);
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	if (!j)
		return -1;
	*target = (uint64_t)json_integer_value(json_object_get(j, "target"));
	*joined = (uint64_t)json_integer_value(json_object_get(j, "actual"));
	json_decref(j);
	return 0;
}

static void draw(uint64_t joined, uint64_t target)
{
	const unsigned width = 30;
	unsigned fill = target ? (unsigned)((joined > target ? target : joined) *
					    width / target) : width;
	char bar[64];

	memset(bar, '#', fill);
	memset(bar + fill, '.', width - fill);
	bar[width] = '\0';
	fprintf(stderr, "\r[%s] %" PRIu64 "/%" PRIu64 " workers joined\033[K",
		bar, joined, target);
	fflush(stderr);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Until the pool has as many workers as its target. */
static int wait_joined(cluster_client_t *c, double timeout)
{
	int tty = isatty(STDERR_FILENO);
	double deadline = timeout >= 0 ? now_s() + timeout : 0;
	uint64_t target = 0, joined = 0, shown = UINT64_MAX;

	for (;;) {
		if (pool_counts(c, &target, &joined) < 0) {
			if (tty)
				fputc('\n', stderr);
			fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
			return 1;
		}
		if (tty)
			draw(joined, target);
		else if (joined != shown)
			printf("%" PRIu64 " of %" PRIu64 " workers joined\n", joined,
			       target);
		fflush(stdout);
		shown = joined;
		if (joined == target)
			break;
		if (deadline && now_s() >= deadline) {
			if (tty)
				fputc('\n', stderr);
			fprintf(stderr, "cluster: timed out: %" PRIu64 " of %" PRIu64
				" workers joined\n", joined, target);
			return 1;
		}
		usleep(500000);
	}
	if (tty)
		fputc('\n', stderr);
	return 0;
}

static int cmd_scale(int argc, char **argv, void *opts, struct cli_globals *g)
{
	const struct scale_args *a = opts;
	enum cluster_scale_unit unit = CLUSTER_SCALE_WORKERS;
	struct cluster_scale_result res;
	uint64_t value = 0;
	char errbuf[512];
	cluster_client_t *c;
	int given = a->jobs_seen + a->cores_seen + a->memory_seen + (argc > 0);
	int rc;

	if (argc > 1)
		return cli_usage_error(&cmd_scale_entry, "unexpected argument '%s'",
				       argv[1]);
	if (given != 1)
		return cli_usage_error(&cmd_scale_entry, "give one of N, --jobs, "
				       "--cores, --memory");
	if (a->timeout_seen && !a->wait)
		return cli_usage_error(&cmd_scale_entry, "--timeout goes with --wait");
	if (argc > 0 && count_parse(argv[0], 0, MAX_WORKERS, &value) < 0)
		return cli_usage_error(&cmd_scale_entry, "N: expected an integer "
				       "from 0 to %d, got '%s'", MAX_WORKERS,
				       argv[0]);
	if (a->jobs_seen)
		unit = CLUSTER_SCALE_JOBS, value = a->jobs;
	else if (a->cores_seen)
		unit = CLUSTER_SCALE_CORES, value = a->cores;
	else if (a->memory_seen)
		unit = CLUSTER_SCALE_MEMORY, value = a->memory;

	c = cluster_client_open(g->name, errbuf, sizeof(errbuf));
	if (!c)
		return keep_target(g, unit, value, errbuf);
	if (cluster_scale(c, unit, value, &res) < 0) {
		if (cluster_client_status(c) == 0) {
			snprintf(errbuf, sizeof(errbuf), "%s", cluster_client_error(c));
			cluster_client_close(c);
			return keep_target(g, unit, value, errbuf);
		}
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		cluster_client_close(c);
		return 1;
	}
	printf("target: %" PRIu64 " worker%s (%" PRIu64 " job%s of %u)\n",
	       res.workers, res.workers == 1 ? "" : "s", res.jobs,
	       res.jobs == 1 ? "" : "s", res.workers_per_job);
	fflush(stdout);
	cli_print_warning(c);
	rc = a->wait ? wait_joined(c, a->timeout_seen ? (double)a->timeout : -1) : 0;
	cluster_client_close(c);
	return rc;
}
