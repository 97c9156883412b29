/*
 * cluster submit: one task, one array, or a task file, through the
 * scheduler's HTTP API.  Prints the id, or FIRST-LAST for several.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cluster/client.h"
#include "config/config.h"
#include "task/fields.h"
#include "task/task.h"
#include "util/idset.h"
#include "util/strbuf.h"
#include "util/units.h"
#include "util/xalloc.h"

static int cmd_submit(int argc, char **argv, struct cli_globals *g);

const struct cmd_entry cmd_submit_entry = {
	.name = "submit", .fn = cmd_submit,
	.usage = "[options] (-- CMD [ARGS...] | --file FILE)\n"
	"options: [--cores N] [--memory SIZE] [--time-limit DUR] [--retries N]\n"
	"         [--max-worker-losses N] [--after ID[,ID...]] [--name NAME]\n"
	"         [--env K=V]... [--cwd DIR] [--stdout FILE] [--stderr FILE]\n"
	"         [--array A-B]",
	.summary = "submit a task, a task array ({} is the index) or a file of commands",
};

/* Ranges larger than this are refused rather than expanded. */
#define MAX_AFTER 10000000

/* The ids of one --after ("3,5-9"), appended to *ids.  Ids travel as
 * JSON integers: at most INT64_MAX. */
static int parse_after(const char *s, uint64_t **ids, size_t *n,
		       struct err *err)
{
	struct idset set = IDSET_INIT;
	struct idset_iter it = IDSET_ITER_INIT;
	uint64_t id;

	if (idset_parse(&set, s, 1, INT64_MAX, err) < 0)
		return -1;
	if (idset_count(&set) > MAX_AFTER - *n) {
		idset_release(&set);
		return errprintf(err, "more than %d tasks", MAX_AFTER);
	}
	*ids = xreallocarray(*ids, *n + (size_t)idset_count(&set), sizeof(**ids));
	while (idset_iter_next(&set, &it, &id))
		(*ids)[(*n)++] = id;
	idset_release(&set);
	return 0;
}

/* One task field's option, read and bounded by the field table; a bad
 * value is a usage error that states the range. */
static int field_option(enum task_field_id id, const char *text,
			uint64_t *out)
{
	struct err err = { "" };

	if (task_field_parse(task_field(id), NULL, text, out, &err) == 0)
		return 0;
	cli_usage_error(&cmd_submit_entry, "%s", err.text);
	return -1;
}

static void print_ids(uint64_t first, uint64_t count)
{
	if (count == 1)
		printf("%" PRIu64 "\n", first);
	else if (count > 1)
		printf("%" PRIu64 "-%" PRIu64 "\n", first, first + count - 1);
}

static int cmd_submit(int argc, char **argv, struct cli_globals *g)
{
	static const struct option longopts[] = {
		{ "cores", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "time-limit", required_argument, NULL, 't' },
		{ "retries", required_argument, NULL, 'r' },
		{ "max-worker-losses", required_argument, NULL, 'L' },
		{ "after", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "env", required_argument, NULL, 'e' },
		{ "cwd", required_argument, NULL, 'C' },
		{ "stdout", required_argument, NULL, 'o' },
		{ "stderr", required_argument, NULL, 'E' },
		{ "array", required_argument, NULL, 'A' },
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cluster_task_spec spec = { 0 };
	const char **env = calloc((size_t)argc + 1, sizeof(*env));
	uint64_t *after = NULL, first = 0, count = 0, u;
	size_t nafter = 0, nenv = 0;
	const char *file = NULL;
	int retries_given = 0, losses_given = 0, opt, ret = 2;
	struct strbuf text = STRBUF_INIT;
	struct err err = { "" };
	cluster_client_t *c = NULL;
	char *cwd = NULL;

	if (!env)
		return 1;
	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (field_option(TASK_FIELD_CORES, optarg, &u) < 0)
				goto out;
			spec.cores = (unsigned)u;
			break;
		case 'm':
			if (field_option(TASK_FIELD_MEMORY, optarg, &spec.memory) < 0)
				goto out;
			break;
		case 't':
			if (field_option(TASK_FIELD_TIME_LIMIT, optarg,
					 &spec.time_limit) < 0)
				goto out;
			break;
		case 'r':
			if (field_option(TASK_FIELD_RETRIES, optarg, &u) < 0)
				goto out;
			spec.retries = (unsigned)u;
			retries_given = 1;
			break;
		case 'L':
			if (field_option(TASK_FIELD_MAX_WORKER_LOSSES, optarg, &u) < 0)
				goto out;
			spec.max_worker_losses = (unsigned)u;
			losses_given = 1;
			break;
		case 'a':
			if (parse_after(optarg, &after, &nafter, &err) < 0) {
				cli_usage_error(&cmd_submit_entry, "--after: %s", err.text);
				goto out;
			}
			break;
		case 'n':
			if (field_option(TASK_FIELD_NAME, optarg, &u) < 0)
				goto out;
			spec.name = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				cli_usage_error(&cmd_submit_entry, "--env: expected NAME=VALUE, got '%s'",
						optarg);
				goto out;
			}
			env[nenv++] = optarg;
			break;
		case 'C':
			if (field_option(TASK_FIELD_CWD, optarg, &u) < 0)
				goto out;
			spec.cwd = optarg;
			break;
		case 'o':
			if (field_option(TASK_FIELD_STDOUT, optarg, &u) < 0)
				goto out;
			spec.stdout_path = optarg;
			break;
		case 'E':
			if (field_option(TASK_FIELD_STDERR, optarg, &u) < 0)
				goto out;
			spec.stderr_path = optarg;
			break;
		case 'A':
			if (task_range_parse(optarg, &spec.array_first, &spec.array_last) < 0) {
				cli_usage_error(&cmd_submit_entry, "--array: expected A-B with A <= B, got '%s'",
						optarg);
				goto out;
			}
			spec.is_array = 1;
			break;
		case 'f': file = optarg; break;
		case 'h':
			printf("usage: cluster submit %s\n", cmd_submit_entry.usage);
			ret = 0;
			goto out;
		default:
			cli_usage_error(&cmd_submit_entry, NULL);
			goto out;
		}
	}
	if (file && optind < argc) {
		cli_usage_error(&cmd_submit_entry, "give either --file or a command, not both");
		goto out;
	}
	if (!file && optind >= argc) {
		cli_usage_error(&cmd_submit_entry, "no command to submit");
		goto out;
	}
	if (file && (spec.is_array || nenv)) {
		cli_usage_error(&cmd_submit_entry, "--array and --env do not apply to --file");
		goto out;
	}

	/* Defaults from the configuration (task.* keys). */
	ret = 1;
	if (!retries_given || !losses_given) {
		struct config *cfg = cli_load_config(g);
		if (!cfg)
			goto out;
		if (!retries_given)
			spec.retries = (unsigned)config_get_num(cfg,
				task_field(TASK_FIELD_RETRIES)->config_key);
		if (!losses_given)
			spec.max_worker_losses = (unsigned)config_get_num(cfg,
				task_field(TASK_FIELD_MAX_WORKER_LOSSES)->config_key);
		config_destroy(cfg);
	}
	spec.retries_set = 1;
	/* Tasks run where they were submitted from unless told otherwise. */
	if (!spec.cwd && (cwd = getcwd(NULL, 0)))
		spec.cwd = cwd;
	spec.after = after;
	spec.nafter = nafter;
	spec.env = nenv ? env : NULL;

	if (file) {
		int rc;
		if (!strcmp(file, "-")) {
			char buf[65536];
			size_t n;
			while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
				strbuf_add(&text, buf, n);
			rc = ferror(stdin) ? -1 : 0;
		} else {
			rc = strbuf_read_file(&text, file);
		}
		if (rc < 0) {
			fprintf(stderr, "cluster: cannot read task file '%s': %s\n", file,
				strerror(errno));
			goto out;
		}
	}
	c = cli_open_client(g);
	if (!c)
		goto out;
	if (file) {
		if (cluster_submit_batch(c, text.buf, text.len, &spec, &first, &count) < 0) {
			fprintf(stderr, "cluster: '%s': %s\n", file, cluster_client_error(c));
			goto out;
		}
		if (!count)
			fprintf(stderr, "cluster: '%s' has no commands\n", file);
	} else {
		spec.argv = (const char *const *)argv + optind;
		if (cluster_submit(c, &spec, &first, &count) < 0) {
			fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
			goto out;
		}
	}
	print_ids(first, count);
	ret = 0;
out:
	cluster_client_close(c);
	strbuf_release(&text);
	free(after);
	free(env);
	free(cwd);
	return ret;
}
