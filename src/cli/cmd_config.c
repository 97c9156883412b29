/*
 * cluster config: show the effective settings and where each came from,
 * check a file, list the profiles.
 */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "config/config.h"
#include "jobscript/jobscript.h"
#include "util/units.h"
#include "util/strbuf.h"

static int cmd_config(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_config_entry = {
	.name = "config",
	.exec = cmd_config,
	.usage = "show | check FILE | profiles",
	.summary = "show the effective configuration, check a file, list profiles",
};

/* What the reservation leaves each worker, which is its memory limit. */
static void print_worker_share(const struct config *cfg)
{
	struct strbuf sb = STRBUF_INIT;
	struct job_size js;

	if (job_size_from_config(cfg, &js, NULL) < 0)
		return;
	size_format(&sb, js.worker_memory);
	printf("; %u worker%s per node, %s each", js.processes,
	       js.processes == 1 ? "" : "s", sb.buf);
	strbuf_release(&sb);
}

/* How the job script writes job.memory and job.walltime, so a size given
 * in GB can be checked against the binary units the batch system reads. */
static void print_rendered(const struct config *cfg,
			   const struct config_value *v)
{
	const struct backend *b = backend_find(config_get_str(cfg, "backend"));
	struct strbuf sb = STRBUF_INIT;
	struct job_size js;

	if (!strcmp(v->key->name, "job.reserved-memory")) {
		print_worker_share(cfg);
		return;
	}
	if (!b || !b->is_batch)
		return;
	if (!strcmp(v->key->name, "job.walltime")) {
		duration_format_hms(&sb, (uint64_t)v->num);
		printf("; rendered %s", sb.buf);
	} else if (!strcmp(v->key->name, "job.memory") &&
		   job_size_from_config(cfg, &js, NULL) == 0) {
		struct backend_job job = { .nodes = js.nodes, .memory = js.memory };
		b->memory_request(&job, &sb);
		printf("; rendered %s", sb.buf);
	}
	strbuf_release(&sb);
}

static void print_value(const struct config *cfg,
			const struct config_value *v)
{
	printf("%s = ", v->key->name);
	if (!v->set) {
		printf("(unset)");
	} else if (v->key->type == CONFIG_SIZE) {
		printf("%s (%lld bytes", v->text, (long long)v->num);
		print_rendered(cfg, v);
		printf(")");
	} else if (v->key->type == CONFIG_DURATION) {
		printf("%s (%lld seconds", v->text, (long long)v->num);
		print_rendered(cfg, v);
		printf(")");
	} else {
		printf("%s", v->text);
	}
	printf("    # %s\n", v->origin);
}

static int config_show(struct cli_globals *g)
{
	struct config *cfg = cli_load_config(g);

	if (!cfg)
		return 1;
	printf("# profile %s: %s\n", config_profile_name(cfg),
	       cli_profile_reason(g, cfg));
	for (const struct config_key *k = config_keys; k->name; k++)
		print_value(cfg, config_get(cfg, k->name));
	config_destroy(cfg);
	return 0;
}

/* The file on its own first (syntax, keys, values), then with the other
 * layers, which is where the parents it inherits may live. */
static int config_check(const char *path, struct cli_globals *g)
{
	struct config_source src = {
		.config_file = path,
		.profile = g->profile,
		.datadir = g->profiles_dir,
	};
	struct err err = { "" };
	struct config *cfg;

	if (config_check_file(path, &err)) {
		fprintf(stderr, "cluster: %s\n", err.text);
		return 1;
	}
	cfg = config_load(&src, &err);
	if (!cfg) {
		fprintf(stderr, "cluster: %s\n", err.text);
		return 1;
	}
	config_destroy(cfg);
	printf("%s: ok\n", path);
	return 0;
}

static void print_list(char *const *list)
{
	for (unsigned i = 0; list && list[i]; i++)
		printf("%s%s", i ? ", " : "", list[i]);
}

static int config_list_profiles(struct cli_globals *g)
{
	/* Always resolve `auto`, whatever --profile says, to report what it
	 * would pick on this host. */
	struct config_source src = {
		.config_file = g->config_file,
		.profile = "auto",
		.sets = g->sets.items,
		.datadir = g->profiles_dir,
	};
	const struct config_profile_info *info;
	struct err err = { "" };
	struct config *cfg = config_load(&src, &err);

	if (!cfg) {
		fprintf(stderr, "cluster: %s\n", err.text);
		return 1;
	}
	unsigned n = config_profiles(cfg, &info);
	for (unsigned i = 0; i < n; i++) {
		printf("%s\n", info[i].name);
		printf("  description: %s\n",
		       info[i].description ? info[i].description : "(none)");
		printf("  inherit:     %s\n",
		       info[i].inherit ? info[i].inherit : "(none)");
		printf("  hosts:       ");
		if (info[i].hosts && info[i].hosts[0])
			print_list(info[i].hosts);
		else
			printf("(none)");
		printf("\n  defined in:  %s\n", info[i].origin);
	}
	printf("auto picks '%s' on this host: %s\n", config_profile_name(cfg),
	       config_profile_reason(cfg));
	config_destroy(cfg);
	return 0;
}

/* Hidden: name, type and default of every key, tab-separated, for the
 * test that holds cluster.yaml(5) to the table and for shell completion. */
static int config_keys_list(void)
{
	static const char *const types[] = {
		[CONFIG_STRING] = "string", [CONFIG_WORD] = "word",
		[CONFIG_INT] = "integer", [CONFIG_BOOL] = "boolean",
		[CONFIG_SIZE] = "size", [CONFIG_DURATION] = "duration",
		[CONFIG_CHOICE] = "choice", [CONFIG_LIST] = "list",
	};

	for (const struct config_key *k = config_keys; k->name; k++)
		printf("%s\t%s\t%s\n", k->name, types[k->type],
		       k->def ? k->def : "(unset)");
	return 0;
}

static int cmd_config(int argc, char **argv, void *opts, struct cli_globals *g)
{
	(void)opts;
	if (argc < 1)
		return cli_usage_error(&cmd_config_entry, "config needs an action");
	const char *what = argv[0];
	if (!strcmp(what, "check")) {
		if (argc != 2)
			return cli_usage_error(&cmd_config_entry,
					       "config check takes one FILE");
		return config_check(argv[1], g);
	}
	if (argc != 1)
		return cli_usage_error(&cmd_config_entry,
				       "too many arguments to 'config %s'", what);
	if (!strcmp(what, "show"))
		return config_show(g);
	if (!strcmp(what, "profiles"))
		return config_list_profiles(g);
	if (!strcmp(what, "keys"))
		return config_keys_list();
	return cli_usage_error(&cmd_config_entry, "unknown action '%s'", what);
}
