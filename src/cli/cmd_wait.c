/*
 * cluster wait: block until tasks end; a progress bar on stderr when it is
 * a terminal, the last report as JSON with --json.  Exit 0 when every task
 * waited on is done, 1 when any failed or was cancelled, or at the
 * timeout.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "cluster/client.h"
#include "util/idset.h"
#include "util/strbuf.h"

struct wait_args {
	uint64_t timeout;
	int timeout_seen;
	int json;
};

static const struct opt wait_options[] = {
	OPT_DURATION("timeout", 0, "DUR", "give up after DUR (exit 1)",
		     struct wait_args, timeout,
		     .seen = OPT_SEEN(struct wait_args, timeout_seen)),
	OPT_FLAG("json", 0, "print the last report as /api/v1/wait's JSON",
		 struct wait_args, json),
	OPT_END,
};

/* {"done": ..., "total": ..., "counts": {...}}, the API's words. */
static void print_json(const struct cluster_wait_status *st)
{
	json_t *counts = json_object(), *j;
	char *text;

	for (int i = 0; i < CLUSTER_TASK_NSTATES; i++)
		json_object_set_new(counts, cluster_task_state_name(i),
				    json_integer((json_int_t)st->state[i]));
	j = json_pack("{s:b,s:I,s:o,s:I}", "done", st->done, "total",
		      (json_int_t)st->total, "counts", counts, "assigned",
		      (json_int_t)st->assigned);
	text = json_dumps(j, JSON_COMPACT);
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(j);
}

static const struct opt_arg wait_args[] = {
	{ "ID|A-B...", "the tasks, as 3 5-9 or 3,5-9 (default: every task)" },
	{ NULL, NULL },
};

static int cmd_wait(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_wait_entry = {
	.name = "wait",
	.exec = cmd_wait,
	.usage = "[ID|A-B]...",
	.summary = "wait for tasks (default: all) to end; exit 1 if any failed",
	.args = wait_args,
	.options = wait_options,
	.opts_size = sizeof(struct wait_args),
};

static void draw(const struct cluster_wait_status *st, void *arg)
{
	const unsigned width = 30;
	uint64_t running = st->state[CLUSTER_TASK_RUNNING];
	uint64_t assigned = st->assigned < running ? st->assigned : running;
	uint64_t ended = st->state[CLUSTER_TASK_DONE] +
		st->state[CLUSTER_TASK_FAILED] + st->state[CLUSTER_TASK_CANCELLED];
	unsigned fill = st->total ? (unsigned)(ended * width / st->total) : width;
	char bar[64];

	(void)arg;
	memset(bar, '#', fill);
	memset(bar + fill, '.', width - fill);
	bar[width] = '\0';
	fprintf(stderr, "\r[%s] %" PRIu64 "/%" PRIu64 " done, %" PRIu64
		" failed, %" PRIu64 " running, %" PRIu64 " assigned\033[K",
		bar, st->state[CLUSTER_TASK_DONE] + 0, st->total,
		st->state[CLUSTER_TASK_FAILED] + st->state[CLUSTER_TASK_CANCELLED],
		running - assigned, assigned);
	fflush(stderr);
}

/* At most this many tasks are named after a timeout or a failure. */
#define NAMED_MAX 10

struct naming {
	const struct idset *set;	/* empty: every task */
	uint64_t shown;
};

static int name_one(const struct cluster_task *t, void *arg)
{
	struct naming *nm = arg;
	struct strbuf line = STRBUF_INIT;

	if (nm->set->n && t->id > nm->set->r[nm->set->n - 1].last)
		return 1;
	if (nm->set->n && !idset_has(nm->set, t->id))
		return 0;
	format_task_status(&line, t);
	fprintf(stderr, "cluster:   task %s\n", line.buf);
	strbuf_release(&line);
	return ++nm->shown == NAMED_MAX;
}

/* The first tasks of `set` in the states of `mask`, one line each, and
 * how many more there are of the `total` in those states. */
static void name_tasks(cluster_client_t *c, const struct idset *set,
		       unsigned mask, uint64_t total)
{
	struct cluster_task_filter f = {
		.states = mask,
		.after = set->n ? set->r[0].first - 1 : 0,
	};
	struct naming nm = { set, 0 };

	if (cluster_tasks(c, &f, name_one, &nm) < 0) {
		fprintf(stderr, "cluster: cannot list them: %s\n",
			cluster_client_error(c));
		return;
	}
	if (total > nm.shown)
		fprintf(stderr, "cluster:   and %" PRIu64 " more\n",
			total - nm.shown);
}

static int cmd_wait(int argc, char **argv, void *opts, struct cli_globals *g)
{
	const struct wait_args *a = opts;
	struct cluster_wait_status st = { 0 };
	struct strbuf text = STRBUF_INIT, ids = STRBUF_INIT;
	struct idset set = IDSET_INIT;
	struct err err = { "" };
	double timeout = a->timeout_seen ? (double)a->timeout : -1;
	cluster_client_t *c = NULL;
	int rc, ret = 2, tty = isatty(STDERR_FILENO);

	/* No ids: every task.  Sent normalized, "1-3,7". */
	for (int i = 0; i < argc; i++)
		strbuf_addf(&text, "%s%s", i > 0 ? "," : "", argv[i]);
	if (argc > 0) {
		if (idset_parse(&set, text.buf, 1, INT64_MAX, &err) < 0) {
			fprintf(stderr, "cluster: %s\n", err.text);
			goto out;
		}
		idset_format(&ids, &set);
	}
	ret = 1;
	c = cli_open_client(g);
	if (!c)
		goto out;
	rc = cluster_wait(c, ids.buf, timeout, 1, tty ? draw : NULL, NULL, &st);
	if (tty && rc >= 0)
		fputc('\n', stderr);
	if (rc < 0) {
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		goto out;
	}
	if (a->json)
		print_json(&st);
	uint64_t bad = st.state[CLUSTER_TASK_FAILED] +
		st.state[CLUSTER_TASK_CANCELLED];
	/* "1 of 1 task has", "2 of 5 tasks have". */
	if (rc == 1) {
		uint64_t open = st.total - st.state[CLUSTER_TASK_DONE] - bad;
		fprintf(stderr, "cluster: timed out: %" PRIu64 " of %" PRIu64
			" task%s %s not ended\n", open, st.total,
			st.total == 1 ? "" : "s", open == 1 ? "has" : "have");
		name_tasks(c, &set, 1u << CLUSTER_TASK_WAITING |
			   1u << CLUSTER_TASK_QUEUED | 1u << CLUSTER_TASK_RUNNING,
			   open);
		goto out;
	}
	if (bad) {
		fprintf(stderr, "cluster: %" PRIu64 " of %" PRIu64 " task%s failed (%"
			PRIu64 " failed, %" PRIu64 " cancelled)\n", bad, st.total,
			st.total == 1 ? "" : "s", st.state[CLUSTER_TASK_FAILED],
			st.state[CLUSTER_TASK_CANCELLED]);
		name_tasks(c, &set, 1u << CLUSTER_TASK_FAILED |
			   1u << CLUSTER_TASK_CANCELLED, bad);
		goto out;
	}
	ret = 0;
out:
	cluster_client_close(c);
	idset_release(&set);
	strbuf_release(&text);
	strbuf_release(&ids);
	return ret;
}
