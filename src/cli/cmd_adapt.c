/*
 * cluster adapt: let the pool follow the cores and memory its runnable
 * tasks need, between --min and --max workers (whole jobs with --jobs),
 * shrinking only after --idle-timeout of low demand; --off stops that
 * and leaves the target where adapt left it.  A later `scale` also ends
 * adapting.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cluster/client.h"

#define MAX_WORKERS 1000000

struct adapt_args {
	uint64_t min, max, idle_timeout;
	int min_seen, max_seen, idle_seen;
	int jobs, off;
};

static const struct opt adapt_options[] = {
	OPT_COUNT("min", 0, "A", "never fewer than A workers (default 0)",
		  struct adapt_args, min, 0, MAX_WORKERS,
		  .seen = OPT_SEEN(struct adapt_args, min_seen)),
	OPT_COUNT("max", 0, "B", "never more than B workers",
		  struct adapt_args, max, 0, MAX_WORKERS,
		  .seen = OPT_SEEN(struct adapt_args, max_seen)),
	OPT_FLAG("jobs", 0, "--min and --max count whole jobs, not workers",
		 struct adapt_args, jobs),
	OPT_DURATION("idle-timeout", 0, "DUR",
		     "shrink after DUR of low demand (pool.idle-timeout)",
		     struct adapt_args, idle_timeout,
		     .seen = OPT_SEEN(struct adapt_args, idle_seen)),
	OPT_FLAG("off", 0, "stop adapting; the target stays as it is",
		 struct adapt_args, off),
	OPT_END,
};

static int cmd_adapt(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_adapt_entry = {
	.name = "adapt",
	.exec = cmd_adapt,
	.summary = "let the pool follow its tasks between --min and --max workers",
	.options = adapt_options,
	.opts_size = sizeof(struct adapt_args),
};

/* The bounds as the scheduler took them: pool.min-workers raises a
 * lower --min. */
static void print_bounds(cluster_client_t *c, const struct adapt_args *a,
			 const char *unit)
{
	char *text = cluster_pool_status_json(c, NULL);
	json_t *st = text ? json_loads(text, 0, NULL) : NULL;
	json_t *b = json_object_get(st, "adapt_bounds");
	uint64_t min = a->min, max = a->max;

	free(text);
	if (json_is_object(b) && !a->jobs) {
		min = (uint64_t)json_integer_value(json_object_get(b, "min"));
		max = (uint64_t)json_integer_value(json_object_get(b, "max"));
	}
	printf("adapt: %" PRIu64 " to %" PRIu64 " %ss\n", min, max, unit);
	if (min != a->min && !a->jobs && a->min_seen)
		printf("(--min %" PRIu64 " is below pool.min-workers)\n", a->min);
	json_decref(st);
}

static int cmd_adapt(int argc, char **argv, void *opts, struct cli_globals *g)
{
	const struct adapt_args *a = opts;
	cluster_client_t *c;
	const char *unit = a->jobs ? "job" : "worker";
	int rc;

	if (argc > 0)
		return cli_usage_error(&cmd_adapt_entry, "unexpected argument '%s'",
				       argv[0]);
	if (a->off && (a->min_seen || a->max_seen || a->idle_seen || a->jobs))
		return cli_usage_error(&cmd_adapt_entry, "--off takes no other option");
	if (!a->off && !a->max_seen)
		return cli_usage_error(&cmd_adapt_entry, "give --max (or --off)");
	if (!a->off && a->max < a->min)
		return cli_usage_error(&cmd_adapt_entry, "--max %" PRIu64 " is less "
				       "than --min %" PRIu64, a->max, a->min);
	c = cli_open_client(g);
	if (!c)
		return 1;
	rc = a->off ? cluster_adapt_off(c) :
		cluster_adapt(c, (unsigned)a->min, (unsigned)a->max,
			      a->idle_seen ? (double)a->idle_timeout : 0, a->jobs);
	if (rc < 0) {
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
	} else {
		cli_print_warning(c);
		if (a->off)
			printf("adapt: off\n");
		else
			print_bounds(c, a, unit);
	}
	cluster_client_close(c);
	return rc < 0 ? 1 : 0;
}
