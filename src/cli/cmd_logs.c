/*
 * cluster logs: print a task's stdout (or stderr), or follow it while the
 * task runs.  The API serves the whole file, so following asks again
 * every half second and prints what was not printed yet.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cluster/client.h"
#include "util/units.h"

struct logs_args {
	int stderr_stream;
	int follow;
};

static const struct opt logs_options[] = {
	OPT_FLAG("stderr", 0, "print its standard error instead",
		 struct logs_args, stderr_stream),
	OPT_FLAG("follow", 'f', "keep printing while the task runs, until it ends",
		 struct logs_args, follow),
	OPT_END,
};

static const struct opt_arg logs_args_help[] = {
	{ "ID", "the task" },
	{ NULL, NULL },
};

static int cmd_logs(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_logs_entry = {
	.name = "logs",
	.exec = cmd_logs,
	.usage = "ID",
	.summary = "print the output of a task, or follow it while it runs",
	.args = logs_args_help,
	.options = logs_options,
	.opts_size = sizeof(struct logs_args),
};

#define FOLLOW_INTERVAL_NS 500000000L

/* What logs needs of a task, copied out of the client's answer. */
struct task_view {
	int state;
	unsigned attempts;
	int exit_code, signal, has_result;
	char reason[256];
};

static int task_view(cluster_client_t *c, uint64_t id, struct task_view *v)
{
	const struct cluster_task *t = cluster_task_get(c, id);

	if (!t)
		return -1;
	v->state = (int)t->state;
	v->attempts = t->attempts;
	v->has_result = t->has_result;
	v->exit_code = t->exit_code;
	v->signal = t->signal;
	snprintf(v->reason, sizeof(v->reason), "%s", t->reason ? t->reason : "");
	return 0;
}

static int ended(int state)
{
	return state == CLUSTER_TASK_DONE || state == CLUSTER_TASK_FAILED ||
		state == CLUSTER_TASK_CANCELLED;
}

/* "task 4 has not run: it is waiting" or "... it was cancelled
 * (dependency 3 failed)"; returns 1. */
static int never_ran(uint64_t id, const struct task_view *v)
{
	fprintf(stderr, "cluster: task %" PRIu64 " has not run: it %s %s%s%s%s\n",
		id, ended(v->state) ? "was" : "is",
		cluster_task_state_name(v->state), v->reason[0] ? " (" : "",
		v->reason, v->reason[0] ? ")" : "");
	return 1;
}

/* The log of a task that has run.  A task that has not is asked first:
 * a file of its name may be left from an earlier scheduler's task. */
static int print_log(cluster_client_t *c, uint64_t id, int stream)
{
	struct task_view v;
	char *text;
	size_t len;

	if (task_view(c, id, &v) < 0) {
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		return 1;
	}
	if (v.attempts == 0)
		return never_ran(id, &v);
	text = cluster_log(c, id, stream, &len);
	if (!text) {
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		return 1;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return 0;
}

static void pause_a_moment(void)
{
	struct timespec ts = { 0, FOLLOW_INTERVAL_NS };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Print the log as it grows until the task has ended: the task first,
 * then its log, so the log read after the end is the whole of it. */
static int follow(cluster_client_t *c, uint64_t id, int stream)
{
	struct task_view v;
	size_t printed = 0;

	for (;;) {
		char *text;
		size_t len;

		if (task_view(c, id, &v) < 0) {
			fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
			return 1;
		}
		if (v.attempts == 0) {
			if (ended(v.state))
				return never_ran(id, &v);
			pause_a_moment();
			continue;
		}
		text = cluster_log(c, id, stream, &len);
		if (!text && !(cluster_client_status(c) == 404 && !ended(v.state))) {
			fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
			return 1;
		}
		if (text) {
			/* Shorter than what was printed: a new run began. */
			if (len < printed)
				printed = 0;
			fwrite(text + printed, 1, len - printed, stdout);
			fflush(stdout);
			printed = len;
			free(text);
		}
		if (ended(v.state))
			break;
		pause_a_moment();
	}
	if (v.state == CLUSTER_TASK_DONE)
		return 0;
	fprintf(stderr, "cluster: task %" PRIu64 " %s%s%s%s\n", id,
		cluster_task_state_name(v.state), v.reason[0] ? " (" : "",
		v.reason, v.reason[0] ? ")" : "");
	return 1;
}

static int cmd_logs(int argc, char **argv, void *opts, struct cli_globals *g)
{
	const struct logs_args *a = opts;
	cluster_client_t *c;
	int stream = a->stderr_stream ? 1 : 0, rc;
	uint64_t id;

	if (argc != 1)
		return cli_usage_error(&cmd_logs_entry, "expected one task id");
	if (count_parse(argv[0], 1, UINT64_MAX, &id) < 0)
		return cli_usage_error(&cmd_logs_entry, "expected a task id, got '%s'",
				       argv[0]);
	c = cli_open_client(g);
	if (!c)
		return 1;
	rc = a->follow ? follow(c, id, stream) : print_log(c, id, stream);
	cluster_client_close(c);
	return rc;
}
