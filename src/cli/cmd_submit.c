/*
 * cluster submit: one task, one array, or a task file, through the
 * scheduler's HTTP API.  Prints the id, or FIRST-LAST for several.
 */
#include <errno.h>
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
#include "util/xalloc.h"

struct submit_args {
	uint64_t cores;
	uint64_t memory;
	uint64_t gpus;
	uint64_t time_limit;
	uint64_t retries;
	int retries_seen;
	uint64_t max_worker_losses;
	int losses_seen;
	struct opt_list after;
	struct opt_list after_any;
	const char *group;
	const char *old_name;		/* --name, the old spelling of --group */
	struct opt_list env;
	const char *cwd;
	const char *stdout_path;
	const char *stderr_path;
	const char *array;
	const char *file;
};

/* A count, size or duration task field, bounded by the field table. */
static int field_number(const struct opt *o, const char *spelled,
			const char *arg, void *field, struct err *err)
{
	return task_field_parse(o->data, spelled, arg, field, err);
}

/* A string task field: its length bounded by the field table. */
static int field_string(const struct opt *o, const char *spelled,
			const char *arg, void *field, struct err *err)
{
	uint64_t len;

	if (task_field_parse(o->data, spelled, arg, &len, err) < 0)
		return -1;
	*(const char **)field = arg;
	return 0;
}

/* The name is the field's `option` (a table entry cannot read another
 * table's strings at compile time). */
#define FIELD_OPT(fn, id, lng, meta, doc, f, ...) \
	OPT_CALLBACK(lng, 0, meta, doc, struct submit_args, f, fn, \
		     &task_fields[id], __VA_ARGS__)

/* --name after "submit" was the task group before --group; it still is,
 * so the cluster's --name goes before "submit". */
static const struct opt submit_options[] = {
	FIELD_OPT(field_number, TASK_FIELD_CORES, "cores", "N",
		  "cores the task needs (default 1)", cores),
	FIELD_OPT(field_number, TASK_FIELD_MEMORY, "memory", "SIZE",
		  "memory the task needs; it is killed above it", memory),
	FIELD_OPT(field_number, TASK_FIELD_GPUS, "gpus", "N",
		  "GPUs the task needs, named in its CUDA_VISIBLE_DEVICES",
		  gpus),
	FIELD_OPT(field_number, TASK_FIELD_TIME_LIMIT, "time-limit", "DUR",
		  "run time after which it is killed", time_limit),
	FIELD_OPT(field_number, TASK_FIELD_RETRIES, "retries", "N",
		  "times a failed task runs again (default: task.retries)",
		  retries, .seen = OPT_SEEN(struct submit_args, retries_seen)),
	FIELD_OPT(field_number, TASK_FIELD_MAX_WORKER_LOSSES, "max-worker-losses", "N",
		  "workers it may take down before it fails", max_worker_losses,
		  .seen = OPT_SEEN(struct submit_args, losses_seen)),
	OPT_LIST("after", 0, "ID[,ID...]", "run once these tasks are done "
		 "(cancelled if one fails)", struct submit_args, after),
	OPT_LIST("after-any", 0, "ID[,ID...]", "run once these tasks have "
		 "ended, however they ended", struct submit_args, after_any),
	FIELD_OPT(field_string, TASK_FIELD_NAME, "group", "NAME",
		  "the task group, as cluster tasks shows and filters it", group),
	FIELD_OPT(field_string, TASK_FIELD_NAME, "name", "NAME",
		  "an old spelling of --group", old_name, .flags = OPT_HIDDEN),
	OPT_LIST("env", 0, "K=V", "add an environment variable",
		 struct submit_args, env),
	FIELD_OPT(field_string, TASK_FIELD_CWD, "cwd", "DIR",
		  "working directory (default: this one)", cwd),
	FIELD_OPT(field_string, TASK_FIELD_STDOUT, "stdout", "FILE",
		  "where its standard output goes", stdout_path),
	FIELD_OPT(field_string, TASK_FIELD_STDERR, "stderr", "FILE",
		  "where its standard error goes", stderr_path),
	OPT_STRING("array", 0, "A-B", "elements A to B; {} in the command is "
		   "the index", struct submit_args, array),
	OPT_STRING("file", 0, "FILE", "one task per line of FILE (- for stdin)",
		   struct submit_args, file, .flags = OPT_NOUSAGE),
	OPT_END,
};

static const struct opt_arg submit_args[] = {
	{ "-- CMD [ARGS...]", "the command, run without a shell; {} is the index" },
	{ NULL, NULL },
};

static int cmd_submit(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_submit_entry = {
	.name = "submit",
	.exec = cmd_submit,
	.usage = "(-- CMD [ARGS...] | --file FILE)",
	.summary = "submit a task, a task array ({} is the index) or a file of commands",
	.args = submit_args,
	.options = submit_options,
	.opts_size = sizeof(struct submit_args),
	.flags = CMD_STOP_AT_ARG,
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

/* The scheduler says why a queued task is not placed; when it is that no
 * connected worker could ever take it, say so now rather than leave
 * `wait` to time out. */
static const char NO_FIT[] = "waiting for a worker with ";

static int count_alive(const struct cluster_worker *w, void *arg)
{
	*(unsigned *)arg += w->alive != 0;
	return 0;
}

static void warn_unplaceable(cluster_client_t *c, uint64_t first,
			     uint64_t count)
{
	const struct cluster_task *t = count ? cluster_task_get(c, first) : NULL;
	unsigned alive = 0;

	if (!t || t->state != CLUSTER_TASK_QUEUED || !t->reason ||
	    strncmp(t->reason, NO_FIT, strlen(NO_FIT)))
		return;
	char *need = xstrdup(t->reason + strlen(NO_FIT));
	const char *what = count == 1 ? "it waits" : "they wait";
	if (cluster_workers(c, count_alive, &alive) >= 0 && alive == 0)
		fprintf(stderr, "cluster: warning: no worker is connected yet; "
			"%s for one with %s\n", what, need);
	else
		fprintf(stderr, "cluster: warning: no connected worker has %s; "
			"%s for one that has\n", need, what);
	free(need);
}

static void print_ids(uint64_t first, uint64_t count)
{
	if (count == 1)
		printf("%" PRIu64 "\n", first);
	else if (count > 1)
		printf("%" PRIu64 "-%" PRIu64 "\n", first, first + count - 1);
}

static int cmd_submit(int argc, char **argv, void *opts, struct cli_globals *g)
{
	const struct submit_args *a = opts;
	struct cluster_task_spec spec = {
		.cores = (unsigned)a->cores,
		.memory = a->memory,
		.gpus = (unsigned)a->gpus,
		.time_limit = a->time_limit,
		.retries = (unsigned)a->retries,
		.max_worker_losses = (unsigned)a->max_worker_losses,
		.name = a->group ? a->group : a->old_name,
		.cwd = a->cwd,
		.stdout_path = a->stdout_path,
		.stderr_path = a->stderr_path,
	};
	const char *const *env = a->env.items;
	uint64_t *after = NULL, *after_any = NULL, first = 0, count = 0;
	size_t nafter = 0, nafter_any = 0, nenv = a->env.n;
	const char *file = a->file;
	int retries_given = a->retries_seen, losses_given = a->losses_seen;
	int ret = 2;
	struct strbuf text = STRBUF_INIT;
	struct err err = { "" };
	cluster_client_t *c = NULL;
	char *cwd = NULL;

	for (size_t i = 0; i < a->after.n; i++)
		if (parse_after(a->after.items[i], &after, &nafter, &err) < 0) {
			cli_usage_error(&cmd_submit_entry, "--after: %s", err.text);
			goto out;
		}
	for (size_t i = 0; i < a->after_any.n; i++)
		if (parse_after(a->after_any.items[i], &after_any, &nafter_any,
				&err) < 0) {
			cli_usage_error(&cmd_submit_entry, "--after-any: %s", err.text);
			goto out;
		}
	for (size_t i = 0; i < nenv; i++)
		if (!strchr(env[i], '=') || env[i][0] == '=') {
			cli_usage_error(&cmd_submit_entry, "--env: expected NAME=VALUE, got '%s'",
					env[i]);
			goto out;
		}
	if (a->array) {
		if (task_range_parse(a->array, &spec.array_first, &spec.array_last) < 0) {
			cli_usage_error(&cmd_submit_entry, "--array: expected A-B with A <= B, got '%s'",
					a->array);
			goto out;
		}
		spec.is_array = 1;
	}
	if (a->old_name && !a->group)
		fprintf(stderr, "cluster: warning: --name after 'submit' is an old "
			"spelling of --group\n");
	if (file && argc > 0) {
		cli_usage_error(&cmd_submit_entry, "give either --file or a command, not both");
		goto out;
	}
	if (!file && argc == 0) {
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
	/* A file's tasks are its group, by its name ("sweep.txt"). */
	if (file && !spec.name && strcmp(file, "-")) {
		const char *slash = strrchr(file, '/');
		spec.name = slash && slash[1] ? slash + 1 : file;
	}
	spec.after = after;
	spec.nafter = nafter;
	spec.after_any = after_any;
	spec.nafter_any = nafter_any;
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
		spec.argv = (const char *const *)argv;
		if (cluster_submit(c, &spec, &first, &count) < 0) {
			fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
			goto out;
		}
	}
	print_ids(first, count);
	fflush(stdout);
	cli_print_warning(c);
	warn_unplaceable(c, first, count);
	ret = 0;
out:
	cluster_client_close(c);
	strbuf_release(&text);
	free(after);
	free(after_any);
	free(cwd);
	return ret;
}
