/*
 * cluster: elastic pools of workers on PBS and Slurm machines.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cluster/client.h"
#include "util/paths.h"

#ifndef CLUSTER_VERSION
#define CLUSTER_VERSION "0.1.0"
#endif

static void print_main_usage(FILE *fp)
{
	fprintf(fp,
		"usage: cluster [--profile NAME] [--config FILE] [--set KEY=VALUE]...\n"
		"               [--name CLUSTER] [-v] COMMAND [ARGS]\n"
		"       cluster --version | --help\n\ncommands:\n");
	for (const struct cmd_entry *const *e = cli_commands; *e; e++)
		fprintf(fp, "  %-12s %s\n", (*e)->name, (*e)->summary);
	fprintf(fp, "\n'cluster help COMMAND' describes one command.\n");
}

static const struct cmd_entry *find_command(const char *name)
{
	for (const struct cmd_entry *const *e = cli_commands; *e; e++)
		if (!strcmp((*e)->name, name))
			return *e;
	return NULL;
}

int cli_usage_error(const struct cmd_entry *e, const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		fputs("cluster: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "usage: cluster %s %s\n", e->name, e->usage);
	return 2;
}

static int cmd_help(int argc, char **argv, struct cli_globals *g);

const struct cmd_entry cmd_help_entry = {
	"help", cmd_help, "[COMMAND]", "describe the commands",
};

static int cmd_help(int argc, char **argv, struct cli_globals *g)
{
	(void)g;
	if (argc > 2)
		return cli_usage_error(&cmd_help_entry, "too many arguments");
	if (argc == 1) {
		print_main_usage(stdout);
		return 0;
	}
	const struct cmd_entry *e = find_command(argv[1]);
	if (!e) {
		fprintf(stderr, "cluster: unknown command '%s'\n", argv[1]);
		print_main_usage(stderr);
		return 2;
	}
	printf("usage: cluster %s %s\n\n%s\n\nSee cluster(1) for details.\n",
	       e->name, e->usage, e->summary);
	return 0;
}

struct config *cli_load_config(const struct cli_globals *g)
{
	struct config_source src = {
		.config_file = g->config_file,
		.profile = g->profile,
		.sets = g->sets,
		.datadir = g->profiles_dir,
	};
	struct err err = { "" };
	struct config *cfg = config_load(&src, &err);

	if (!cfg)
		fprintf(stderr, "cluster: %s\n", err.text);
	return cfg;
}

struct cluster_client *cli_open_client(const struct cli_globals *g)
{
	char errbuf[512];
	cluster_client_t *c = cluster_client_open(g->name, errbuf, sizeof(errbuf));

	if (!c)
		fprintf(stderr, "cluster: %s\n", errbuf);
	return c;
}

static int run(int argc, char **argv, struct cli_globals *gp)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_globals g = *gp;
	int c;
	/* "+" stops at the first non-option: the subcommand's own options
	 * are the subcommand's business. */
	while ((c = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': g.profile = optarg; break;
		case 'c': g.config_file = optarg; break;
		case 's':
			if (!strchr(optarg, '=')) {
				fprintf(stderr, "cluster: --set wants KEY=VALUE, got '%s'\n",
					optarg);
				return 2;
			}
			g.sets[g.nsets++] = optarg;
			break;
		case 'n': g.name = optarg; break;
		case 'v': g.verbose++; break;
		case 'V': printf("cluster %s\n", CLUSTER_VERSION); return 0;
		case 'h': print_main_usage(stdout); return 0;
		default: print_main_usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		print_main_usage(stderr);
		return 2;
	}
	const struct cmd_entry *e = find_command(argv[optind]);
	if (!e) {
		fprintf(stderr, "cluster: unknown command '%s'\n", argv[optind]);
		print_main_usage(stderr);
		return 2;
	}
	g.bindir = paths_bindir();
	g.profiles_dir = paths_profiles_dir();
	g.templates_dir = paths_templates_dir();
	/* Subcommands parse their own options with getopt; optind = 0 makes
	 * glibc start afresh on their argv (argv[0] is the command name). */
	int first = optind;
	optind = 0;
	return e->fn(argc - first, argv + first, &g);
}

int main(int argc, char **argv)
{
	struct cli_globals g = { .name = "default" };

	g.sets = calloc((size_t)argc + 1, sizeof(*g.sets));
	if (!g.sets) {
		perror("cluster");
		return 1;
	}
	int rc = run(argc, argv, &g);
	free(g.sets);
	return rc;
}
