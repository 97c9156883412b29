/*
 * cluster logs: print a task's stdout (or stderr).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cluster/client.h"
#include "util/units.h"

static int cmd_logs(int argc, char **argv, struct cli_globals *g);

const struct cmd_entry cmd_logs_entry = {
	.name = "logs", .fn = cmd_logs, .usage = "[--stderr] ID",
	.summary = "print the output of a task",
};

static int cmd_logs(int argc, char **argv, struct cli_globals *g)
{
	static const struct option longopts[] = {
		{ "stderr", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	cluster_client_t *c;
	char *text;
	int opt, stream = 0;
	uint64_t id;
	size_t len;

	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e': stream = 1; break;
		case 'h':
			printf("usage: cluster logs %s\n", cmd_logs_entry.usage);
			return 0;
		default:
			return cli_usage_error(&cmd_logs_entry, NULL);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(&cmd_logs_entry, "expected one task id");
	if (count_parse(argv[optind], 1, UINT64_MAX, &id) < 0)
		return cli_usage_error(&cmd_logs_entry, "expected a task id, got '%s'",
				       argv[optind]);
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
