/*
 * cluster status: the scheduler, the pool's target and actual size in
 * workers and jobs, each job of the pool, tasks by state, the last poll
 * and why the pool is paused, as a readable page; --json prints the
 * scheduler's document (GET /api/v1/pool, cluster-api(7)) unchanged, the
 * stable form for scripts.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cluster/client.h"
#include "util/strbuf.h"
#include "util/units.h"

struct status_args {
	int json;
};

static const struct opt status_options[] = {
	OPT_FLAG("json", 0, "print the status document as JSON (cluster-api(7))",
		 struct status_args, json),
	OPT_END,
};

static int cmd_status(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.exec = cmd_status,
	.summary = "show the scheduler, the pool's jobs and the tasks by state",
	.options = status_options,
	.opts_size = sizeof(struct status_args),
};

static json_int_t num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A Unix time as local "YYYY-MM-DD HH:MM:SS" ("-" for null); with
 * `ago`, how long ago too. */
static void add_time(struct strbuf *sb, json_t *v, int ago)
{
	char text[64];
	time_t t;
	struct tm tm;

	if (!json_is_number(v) || json_number_value(v) <= 0) {
		strbuf_addstr(sb, "-");
		return;
	}
	t = (time_t)json_number_value(v);
	localtime_r(&t, &tm);
	strftime(text, sizeof(text), ago ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
	strbuf_addstr(sb, text);
	if (ago) {
		double d = difftime(time(NULL), t);
		strbuf_addstr(sb, " (");
		duration_format_hms(sb, d > 0 ? (uint64_t)d : 0);
		strbuf_addstr(sb, " ago)");
	}
}

static void add_plural(struct strbuf *sb, json_int_t n, const char *word)
{
	strbuf_addf(sb, "%lld %s%s", (long long)n, word, n == 1 ? "" : "s");
}

/* The journal's file and size, or why it cannot be written. */
static void print_journal(json_t *j)
{
	struct strbuf sb = STRBUF_INIT;

	if (json_is_null(j)) {
		printf("%-11s off (journal.enabled is false)\n", "journal");
		return;
	}
	if (!json_is_object(j))
		return;		/* an older scheduler */
	strbuf_addf(&sb, "%s, ", str(j, "path"));
	size_format(&sb, (uint64_t)num(j, "bytes"));
	if (json_is_string(json_object_get(j, "error"))) {
		strbuf_addstr(&sb, "; FAILING since ");
		add_time(&sb, json_object_get(j, "failing_since"), 1);
		strbuf_addf(&sb, ": %s", str(j, "error"));
	}
	printf("%-11s %s\n", "journal", sb.buf);
	strbuf_release(&sb);
}

static void print_scheduler(json_t *s)
{
	struct strbuf sb = STRBUF_INIT;

	if (!strcmp(str(s, "where"), "job"))
		strbuf_addf(&sb, "in job %s", str(s, "job"));
	else
		strbuf_addstr(&sb, "local");
	strbuf_addf(&sb, ", pid %lld on %s, workers connect to %s, since ",
		    (long long)num(s, "pid"), str(s, "host"), str(s, "address"));
	add_time(&sb, json_object_get(s, "since"), 1);
	printf("%-11s %s\n", "scheduler", sb.buf);
	strbuf_release(&sb);
	print_journal(json_object_get(s, "journal"));
}

static void print_pool(json_t *st)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *bounds = json_object_get(st, "adapt_bounds");

	strbuf_addf(&sb, "backend %s, ", str(st, "backend"));
	add_plural(&sb, num(st, "workers_per_job"), "worker");
	strbuf_addf(&sb, " a job of %lld core%s", (long long)num(st, "worker_cores"),
		    num(st, "worker_cores") == 1 ? "" : "s");
	if (num(st, "worker_memory") > 0) {
		strbuf_addstr(&sb, " and ");
		size_format(&sb, (uint64_t)num(st, "worker_memory"));
	}
	strbuf_addstr(&sb, " a worker");
	printf("%-11s %s\n", "pool", sb.buf);
	strbuf_reset(&sb);
	add_plural(&sb, num(st, "target"), "worker");
	strbuf_addstr(&sb, " (");
	add_plural(&sb, num(st, "target_jobs"), "job");
	strbuf_addstr(&sb, ")");
	printf("%-11s %s\n", "target", sb.buf);
	strbuf_reset(&sb);
	add_plural(&sb, num(st, "actual"), "worker");
	strbuf_addstr(&sb, " joined (");
	add_plural(&sb, num(st, "actual_jobs"), "job");
	strbuf_addstr(&sb, " counting)");
	printf("%-11s %s\n", "actual", sb.buf);
	strbuf_reset(&sb);
	if (json_is_object(bounds)) {
		strbuf_addf(&sb, "%lld to %lld workers, shrinking after ",
			    (long long)num(bounds, "min"), (long long)num(bounds, "max"));
		duration_format_hms(&sb, (uint64_t)json_number_value(
			json_object_get(bounds, "idle_timeout")));
		strbuf_addstr(&sb, " of low demand");
	} else {
		strbuf_addstr(&sb, "off");
	}
	printf("%-11s %s\n", "adapt", sb.buf);
	strbuf_reset(&sb);
	add_time(&sb, json_object_get(st, "last_poll"), 1);
	if (json_is_string(json_object_get(st, "poll_error")))
		strbuf_addf(&sb, ", failed: %s", str(st, "poll_error"));
	printf("%-11s %s\n", "last poll", sb.buf);
	if (json_is_string(json_object_get(st, "paused")))
		printf("%-11s %s (cluster resume submits again)\n", "paused",
		       str(st, "paused"));
	if (json_is_string(json_object_get(st, "waiting")))
		printf("%-11s %s\n", "waiting", str(st, "waiting"));
	if (json_is_string(json_object_get(st, "last_error")))
		printf("%-11s %s\n", "last error", str(st, "last_error"));
	strbuf_release(&sb);
}

static void print_tasks(json_t *st)
{
	static const char *const states[] = {
		"waiting", "queued", "running", "done", "failed", "cancelled",
	};
	json_t *t = json_object_get(st, "tasks");
	struct strbuf sb = STRBUF_INIT;

	/* running: started; assigned (when some are): held by their
	 * worker, not started yet */
	long long assigned = num(t, "assigned");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		long long n = num(t, states[i]);
		int running = !strcmp(states[i], "running");
		if (running)
			n -= assigned < n ? assigned : n;
		strbuf_addf(&sb, "%s%lld %s", i ? ", " : "", n, states[i]);
		if (running && assigned > 0)
			strbuf_addf(&sb, ", %lld assigned", assigned);
	}
	printf("%-11s %s\n", "tasks", sb.buf);
	strbuf_reset(&sb);
	if (num(st, "unrunnable_tasks") > 0) {
		json_t *u = json_array_get(json_object_get(st, "unrunnable"), 0);
		strbuf_addf(&sb, "%lld task%s no worker could run",
			    (long long)num(st, "unrunnable_tasks"),
			    num(st, "unrunnable_tasks") == 1 ? "" : "s");
		if (u)
			strbuf_addf(&sb, " (task %lld needs %s, a worker has %s)",
				    (long long)num(u, "id"), str(u, "needs"),
				    str(u, "limit"));
		printf("%-11s %s\n", "unrunnable", sb.buf);
	}
	strbuf_release(&sb);
}

static void print_jobs(json_t *jobs)
{
	json_t *j;
	size_t i;

	if (!json_array_size(jobs)) {
		printf("\nno jobs\n");
		return;
	}
	printf("\n%-14s %-13s %-8s %-8s %-9s %-9s %-10s %s\n", "JOB", "STATE", "RAW",
	       "WORKERS", "SUBMITTED", "STARTED", "TIME LEFT", "REASON");
	json_array_foreach(jobs, i, j) {
		struct strbuf id = STRBUF_INIT, state = STRBUF_INIT, sub = STRBUF_INIT,
			start = STRBUF_INIT, left = STRBUF_INIT;
		char workers[32];
		json_t *wl = json_object_get(j, "walltime_left");

		strbuf_addstr(&id, str(j, "id")[0] ? str(j, "id") : "(submitting)");
		if (num(j, "index") >= 0)
			strbuf_addf(&id, "[%lld]", (long long)num(j, "index"));
		strbuf_addstr(&state, str(j, "state"));
		if (json_is_true(json_object_get(j, "draining")))
			strbuf_addstr(&state, ",draining");
		if (json_is_true(json_object_get(j, "head")))
			strbuf_addstr(&state, ",head");
		snprintf(workers, sizeof(workers), "%lld/%lld",
			 (long long)num(j, "joined"), (long long)num(j, "expected"));
		add_time(&sub, json_object_get(j, "submitted"), 0);
		add_time(&start, json_object_get(j, "started"), 0);
		if (json_is_number(wl))
			duration_format_hms(&left, (uint64_t)json_number_value(wl));
		else
			strbuf_addstr(&left, "-");
		printf("%-14s %-13s %-8s %-8s %-9s %-9s %-10s %s\n", id.buf, state.buf,
		       str(j, "raw")[0] ? str(j, "raw") : "-", workers, sub.buf,
		       start.buf, left.buf, str(j, "reason"));
		strbuf_release(&id);
		strbuf_release(&state);
		strbuf_release(&sub);
		strbuf_release(&start);
		strbuf_release(&left);
	}
}

static int cmd_status(int argc, char **argv, void *opts, struct cli_globals *g)
{
	const struct status_args *a = opts;
	json_error_t jerr;
	cluster_client_t *c;
	json_t *st = NULL;
	char *text;
	int rc = 1, bad_link;

	if (argc > 0)
		return cli_usage_error(&cmd_status_entry, "unexpected argument '%s'",
				       argv[0]);
	c = cli_open_client(g);
	if (!c)
		return 1;
	text = cluster_pool_status_json(c, NULL);
	if (!text) {
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		goto out;
	}
	if (a->json) {
		fputs(text, stdout);
		rc = 0;
		goto out;
	}
	st = json_loads(text, 0, &jerr);
	if (!json_is_object(st)) {
		fprintf(stderr, "cluster: the scheduler's status is not a JSON "
			"object: %s\n", jerr.text);
		goto out;
	}
	print_scheduler(json_object_get(st, "scheduler"));
	bad_link = cli_print_dashboard(g, str(json_object_get(st,
		"scheduler"), "host"), (unsigned)num(json_object_get(st,
		"scheduler"), "http_port"));
	print_pool(st);
	print_tasks(st);
	print_jobs(json_object_get(st, "jobs"));
	rc = bad_link < 0 ? 1 : 0;
out:
	json_decref(st);
	free(text);
	cluster_client_close(c);
	return rc;
}
