/*
 * cluster tasks: a table of tasks, filtered by state and name.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "cluster/client.h"
#include "util/strbuf.h"

struct tasks_args {
	const char *state;
	const char *group;
	uint64_t from;
	uint64_t limit;
	int wide;
};

static const struct opt tasks_options[] = {
	OPT_STRING("state", 0, "STATE[,STATE...]",
		   "only tasks in these states, e.g. running,failed",
		   struct tasks_args, state),
	OPT_STRING("group", 0, "NAME", "only tasks of this group",
		   struct tasks_args, group),
	OPT_COUNT("from", 0, "ID", "only tasks with this id or a larger one",
		  struct tasks_args, from, 1, UINT64_MAX),
	OPT_COUNT("limit", 0, "N", "at most N tasks", struct tasks_args, limit,
		  1, UINT64_MAX),
	OPT_FLAG("wide", 'w', "whole lines, however wide the terminal",
		 struct tasks_args, wide),
	OPT_END,
};

static int cmd_tasks(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_tasks_entry = {
	.name = "tasks",
	.exec = cmd_tasks,
	.summary = "list tasks: id, state, group, worker, exit, run time, peak memory, command",
	.options = tasks_options,
	.opts_size = sizeof(struct tasks_args),
};

static int parse_states(const char *s, unsigned *mask)
{
	struct strbuf item = STRBUF_INIT;
	int ret = 0;

	*mask = 0;
	for (;;) {
		const char *comma = strchr(s, ',');
		strbuf_reset(&item);
		strbuf_add(&item, s, comma ? (size_t)(comma - s) : strlen(s));
		int st = cluster_task_state_parse(item.buf);
		if (st < 0) {
			ret = -1;
			break;
		}
		*mask |= 1u << st;
		if (!comma)
			break;
		s = comma + 1;
	}
	strbuf_release(&item);
	return ret;
}

/* A command is cut to fit the line, but to no fewer columns than this. */
#define MIN_COMMAND 20

struct listing {
	size_t width;			/* columns of a line; 0: no limit */
};

static int row(const struct cluster_task *t, void *arg)
{
	const struct listing *l = arg;
	struct strbuf line = STRBUF_INIT, cmd = STRBUF_INIT, why = STRBUF_INIT;
	char index[24] = "-", worker[64] = "-", exitc[24] = "-", rt[24] = "-";
	struct strbuf peak = STRBUF_INIT;

	format_shell_words(&cmd, t->argv);
	if (t->reason)
		strbuf_addf(&why, " (%s)", t->reason);
	if (t->has_index)
		snprintf(index, sizeof(index), "%" PRId64, t->index);
	if (t->worker_name)
		snprintf(worker, sizeof(worker), "%s", t->worker_name);
	else if (t->worker >= 0)
		snprintf(worker, sizeof(worker), "%d", t->worker);
	if (t->has_result) {
		if (t->signal)
			snprintf(exitc, sizeof(exitc), "sig%d", t->signal);
		else
			snprintf(exitc, sizeof(exitc), "%d", t->exit_code);
		snprintf(rt, sizeof(rt), "%.1fs", t->runtime);
	}
	if (t->has_result && t->peak_memory)
		format_size(&peak, t->peak_memory);
	else
		strbuf_addch(&peak, '-');
	strbuf_addf(&line, "%-8" PRIu64 " %-9s %-16s %-6s %-3u %-16s %-5s %-8s %-8s ",
		    t->id, cluster_task_state_name(t->state), t->name, index,
		    t->attempts, worker, exitc, rt, peak.buf);
	if (l->width) {
		size_t used = format_columns(line.buf) + format_columns(why.buf);
		format_cut(&cmd, used + MIN_COMMAND < l->width ?
			   l->width - used : MIN_COMMAND);
	}
	printf("%s%s%s\n", line.buf, cmd.buf, why.buf);
	strbuf_release(&line);
	strbuf_release(&cmd);
	strbuf_release(&why);
	strbuf_release(&peak);
	return 0;
}

static int cmd_tasks(int argc, char **argv, void *opts, struct cli_globals *g)
{
	const struct tasks_args *a = opts;
	struct cluster_task_filter f = {
		.name = a->group,
		.after = a->from ? a->from - 1 : 0,
		.limit = a->limit,
	};
	struct listing l = {
		.width = a->wide ? 0 : format_width(STDOUT_FILENO),
	};
	cluster_client_t *c;

	if (a->state && parse_states(a->state, &f.states) < 0)
		return cli_usage_error(&cmd_tasks_entry,
			"--state: expected waiting, queued, running, done, failed or cancelled, got '%s'",
			a->state);
	if (argc > 0)
		return cli_usage_error(&cmd_tasks_entry, "unexpected argument '%s'",
				       argv[0]);
	c = cli_open_client(g);
	if (!c)
		return 1;
	printf("%-8s %-9s %-16s %-6s %-3s %-16s %-5s %-8s %-8s %s\n", "ID",
	       "STATE", "GROUP", "INDEX", "RUN", "WORKER", "EXIT", "RUNTIME",
	       "PEAKMEM", "COMMAND");
	if (cluster_tasks(c, &f, row, &l) < 0) {
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		cluster_client_close(c);
		return 1;
	}
	cluster_client_close(c);
	return 0;
}
