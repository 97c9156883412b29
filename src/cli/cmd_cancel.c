/*
 * cluster cancel: cancel tasks by id or range.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cluster/client.h"

static int cmd_cancel(int argc, char **argv, struct cli_globals *g);

const struct cmd_entry cmd_cancel_entry = {
	"cancel", cmd_cancel, "ID|A-B...",
	"cancel tasks (queued, waiting or running)",
};

/* Ranges larger than this are refused rather than expanded. */
#define MAX_IDS 10000000

static int add_ids(const char *s, uint64_t **ids, size_t *n)
{
	char *end;
	uint64_t a, b;

	if (*s < '0' || *s > '9')
		return -1;
	a = b = strtoull(s, &end, 10);
	if (*end == '-') {
		const char *p = end + 1;
		if (*p < '0' || *p > '9')
			return -1;
		b = strtoull(p, &end, 10);
	}
	if (*end || !a || b < a || b - a >= MAX_IDS || *n + (b - a + 1) > MAX_IDS)
		return -1;
	uint64_t *grown = realloc(*ids, (*n + (size_t)(b - a + 1)) * sizeof(**ids));
	if (!grown)
		return -1;
	*ids = grown;
	for (uint64_t id = a; id <= b; id++)
		(*ids)[(*n)++] = id;
	return 0;
}

static int cmd_cancel(int argc, char **argv, struct cli_globals *g)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t *ids = NULL, cancelled = 0;
	size_t n = 0;
	cluster_client_t *c = NULL;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			printf("usage: cluster cancel %s\n", cmd_cancel_entry.usage);
			return 0;
		}
		return cli_usage_error(&cmd_cancel_entry, NULL);
	}
	if (optind >= argc)
		return cli_usage_error(&cmd_cancel_entry, "no task ids");
	for (int i = optind; i < argc; i++) {
		if (add_ids(argv[i], &ids, &n) < 0) {
			free(ids);
			return cli_usage_error(&cmd_cancel_entry,
				"expected a task id or a range A-B, got '%s'", argv[i]);
		}
	}
	c = cli_open_client(g);
	if (!c)
		goto out;
	if (cluster_cancel(c, ids, n, &cancelled) < 0) {
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		goto out;
	}
	printf("cancelled %" PRIu64 " task%s\n", cancelled, cancelled == 1 ? "" : "s");
	ret = 0;
out:
	cluster_client_close(c);
	free(ids);
	return ret;
}
