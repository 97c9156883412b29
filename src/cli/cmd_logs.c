/*
 * cluster logs: print a task's stdout (or stderr).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cluster/client.h"
#include "util/units.h"

struct logs_args {
	int stderr_stream;
};

static const struct opt logs_options[] = {
	OPT_FLAG("stderr", 0, "print its standard error instead",
		 struct logs_args, stderr_stream),
	OPT_END,
};

static int cmd_logs(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_logs_entry = {
	.name = "logs",
	.exec = cmd_logs,
	.usage = "ID",
	.summary = "print the output of a task",
	.options = logs_options,
	.opts_size = sizeof(struct logs_args),
};

static int cmd_logs(int argc, char **argv, void *opts, struct cli_globals *g)
{
	const struct logs_args *a = opts;
	cluster_client_t *c;
	char *text;
	int stream = a->stderr_stream ? 1 : 0;
	uint64_t id;
	size_t len;

	if (argc != 1)
		return cli_usage_error(&cmd_logs_entry, "expected one task id");
	if (count_parse(argv[0], 1, UINT64_MAX, &id) < 0)
		return cli_usage_error(&cmd_logs_entry, "expected a task id, got '%s'",
				       argv[0]);
	c = cli_open_client(g);
	if (!c)
		return 1;
	text = cluster_log(c, id, stream, &len);
	if (!text) {
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		cluster_client_close(c);
		return 1;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	cluster_client_close(c);
	return 0;
}
