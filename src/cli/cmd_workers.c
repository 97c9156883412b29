/*
 * cluster workers: a table of the scheduler's workers, or JSON.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "cluster/client.h"
#include "util/strbuf.h"
#include "util/units.h"

struct workers_args {
	int json;
};

static const struct opt workers_options[] = {
	OPT_FLAG("json", 0, "JSON: the API's worker objects",
		 struct workers_args, json),
	OPT_END,
};

static int cmd_workers(int argc, char **argv, void *opts,
		       struct cli_globals *g);

const struct cmd_entry cmd_workers_entry = {
	.name = "workers",
	.exec = cmd_workers,
	.summary = "list workers: cores and memory used, tasks running and done",
	.options = workers_options,
	.opts_size = sizeof(struct workers_args),
};

/* With the first row, or once the answer came: never before it. */
static void header(int *headed)
{
	if ((*headed)++)
		return;
	printf("%-5s %-20s %-9s %-5s %-21s %-7s %-8s %s\n", "ID", "NAME",
	       "CORES", "GPUS", "MEMORY", "RUNNING", "DONE", "STATE");
}

static int row(const struct cluster_worker *w, void *arg)
{
	struct strbuf mem = STRBUF_INIT;
	char cores[32], gpus[32];

	header(arg);
	snprintf(cores, sizeof(cores), "%u/%u", w->cores_used, w->cores);
	snprintf(gpus, sizeof(gpus), "%u/%u", w->gpus_used, w->gpus);
	size_format(&mem, w->memory_used);
	strbuf_addstr(&mem, " / ");
	size_format(&mem, w->memory);
	printf("%-5d %-20s %-9s %-5s %-21s %-7u %-8" PRIu64 " %s\n", w->id,
	       w->name, cores, gpus, mem.buf, w->running, w->done,
	       w->alive ? "alive" : "gone");
	strbuf_release(&mem);
	return 0;
}

static int cmd_workers(int argc, char **argv, void *opts,
		       struct cli_globals *g)
{
	const struct workers_args *a = opts;
	cluster_client_t *c;
	int n, headed = 0;

	if (argc > 0)
		return cli_usage_error(&cmd_workers_entry, "unexpected argument '%s'",
				       argv[0]);
	c = cli_open_client(g);
	if (!c)
		return 1;
	if (a->json) {
		struct json_out out = JSON_OUT_INIT(stdout);
		n = cluster_workers_json(c, json_out_item, &out);
		if (n < 0)
			fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		else
			json_out_end(&out);
		cluster_client_close(c);
		return n < 0 ? 1 : 0;
	}
	n = cluster_workers(c, row, &headed);
	if (n < 0)
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
	else
		header(&headed);
	cluster_client_close(c);
	return n < 0 ? 1 : 0;
}
