/*
 * cluster wait: block until tasks end; a progress bar on stderr when it is
 * a terminal.  Exit 0 when every task waited on is done, 1 when any failed
 * or was cancelled, or at the timeout.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cluster/client.h"
#include "util/idset.h"
#include "util/strbuf.h"
#include "util/units.h"

static int cmd_wait(int argc, char **argv, struct cli_globals *g);

const struct cmd_entry cmd_wait_entry = {
	.name = "wait", .fn = cmd_wait, .usage = "[--timeout DUR] [ID|A-B]...",
	.summary = "wait for tasks (default: all) to end; exit 1 if any failed",
};

static void draw(const struct cluster_wait_status *st, void *arg)
{
	const unsigned width = 30;
	uint64_t ended = st->state[CLUSTER_TASK_DONE] +
		st->state[CLUSTER_TASK_FAILED] + st->state[CLUSTER_TASK_CANCELLED];
	unsigned fill = st->total ? (unsigned)(ended * width / st->total) : width;
	char bar[64];

	(void)arg;
	memset(bar, '#', fill);
	memset(bar + fill, '.', width - fill);
	bar[width] = '\0';
	fprintf(stderr, "\r[%s] %" PRIu64 "/%" PRIu64 " done, %" PRIu64
		" failed, %" PRIu64 " running\033[K",
		bar, st->state[CLUSTER_TASK_DONE] + 0, st->total,
		st->state[CLUSTER_TASK_FAILED] + st->state[CLUSTER_TASK_CANCELLED],
		st->state[CLUSTER_TASK_RUNNING]);
	fflush(stderr);
}

static int cmd_wait(int argc, char **argv, struct cli_globals *g)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cluster_wait_status st = { 0 };
	struct strbuf text = STRBUF_INIT, ids = STRBUF_INIT;
	struct idset set = IDSET_INIT;
	struct err err = { "" };
	double timeout = -1;
	uint64_t secs;
	cluster_client_t *c = NULL;
	int opt, rc, ret = 2, tty = isatty(STDERR_FILENO);

	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (duration_parse(optarg, &secs, &err) < 0) {
				cli_usage_error(&cmd_wait_entry, "--timeout: %s", err.text);
				goto out;
			}
			timeout = (double)secs;
			break;
		case 'h':
			printf("usage: cluster wait %s\n", cmd_wait_entry.usage);
			ret = 0;
			goto out;
		default:
			cli_usage_error(&cmd_wait_entry, NULL);
			goto out;
		}
	}
	/* No ids: every task.  Sent normalized, "1-3,7". */
	for (int i = optind; i < argc; i++)
		strbuf_addf(&text, "%s%s", i > optind ? "," : "", argv[i]);
	if (optind < argc) {
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
	uint64_t bad = st.state[CLUSTER_TASK_FAILED] +
		st.state[CLUSTER_TASK_CANCELLED];
	if (rc == 1) {
		fprintf(stderr, "cluster: timed out: %" PRIu64 " of %" PRIu64
			" tasks have not ended\n",
			st.total - st.state[CLUSTER_TASK_DONE] - bad, st.total);
		goto out;
	}
	if (bad) {
		fprintf(stderr, "cluster: %" PRIu64 " of %" PRIu64 " tasks failed (%"
			PRIu64 " failed, %" PRIu64 " cancelled)\n", bad, st.total,
			st.state[CLUSTER_TASK_FAILED], st.state[CLUSTER_TASK_CANCELLED]);
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
