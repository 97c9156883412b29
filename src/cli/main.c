/*
 * cluster: elastic pools of workers on PBS and Slurm machines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/suggest.h"
#include "cluster/client.h"
#include "util/paths.h"
#include "util/strbuf.h"

#ifndef CLUSTER_VERSION
#define CLUSTER_VERSION "0.1.0"
#endif

/* The global options: declared once, read before the command and after
 * it (where a command's own option of the same name comes first). */
const struct opt cli_global_options[] = {
	OPT_STRING("profile", 0, "NAME",
		   "use site profile NAME (default: $CLUSTER_PROFILE, the "
		   "profile key, else auto)",
		   struct cli_globals, profile),
	OPT_STRING("config", 0, "FILE",
		   "read FILE as the highest configuration layer",
		   struct cli_globals, config_file),
	OPT_LIST("set", 0, "KEY=VALUE", "set one key above every file",
		 struct cli_globals, sets),
	OPT_STRING("name", 0, "CLUSTER",
		   "the cluster to act on (default: $CLUSTER_NAME, else default)",
		   struct cli_globals, name),
	OPT_FLAG("verbose", 'v', "more log output", struct cli_globals, verbose),
	OPT_END,
};

/* Only before a command: the program's own --version and --help. */
struct main_flags {
	int version;
	int help;
};

const struct opt cli_main_options[] = {
	OPT_FLAG("version", 0, "print the version and exit", struct main_flags,
		 version),
	OPT_FLAG("help", 'h', "print the commands and exit", struct main_flags,
		 help),
	OPT_END,
};

/* After a command: --help describes it. */
const struct opt cli_help_options[] = {
	OPT_FLAG("help", 'h', "describe the command", struct main_flags, help),
	OPT_END,
};

#define USAGE_WIDTH 80

/* After an error, one line of usage: the whole of it is for help. */
#define MAIN_HINT "usage: cluster [options] COMMAND [ARGS]; see 'cluster help'\n"

static void print_main_usage(FILE *fp)
{
	struct strbuf sb = STRBUF_INIT;

	opt_usage(&sb, "usage: cluster", cli_global_options, "COMMAND [ARGS]",
		  USAGE_WIDTH);
	fprintf(fp, "%s\n       cluster --version | --help\n\ncommands:\n",
		sb.buf);
	for (const struct cmd_entry *const *e = cli_commands; *e; e++)
		fprintf(fp, "  %-12s %s\n", (*e)->name, (*e)->summary);
	strbuf_reset(&sb);
	opt_help(&sb, cli_global_options);
	fprintf(fp, "\nglobal options, before or after the command (after it, "
		"a command's own\noption of the same name wins):\n%s", sb.buf);
	fprintf(fp, "\n'cluster help COMMAND' describes one command.\n");
	strbuf_release(&sb);
}

/* One line: the whole synopsis when it fits, else "[options]" for the
 * options, which `cluster help NAME` lists. */
static void usage_line(struct strbuf *sb, const struct cmd_entry *e)
{
	struct strbuf prefix = STRBUF_INIT;

	strbuf_addf(&prefix, "usage: cluster %s", e->name);
	opt_usage(sb, prefix.buf, e->options, e->usage, 0);
	if (sb->len > USAGE_WIDTH && opt_any_visible(e->options)) {
		strbuf_reset(sb);
		strbuf_addf(sb, "%s [options]%s%s", prefix.buf,
			    e->usage && *e->usage ? " " : "",
			    e->usage ? e->usage : "");
	}
	strbuf_release(&prefix);
}

static void print_command_help(FILE *fp, const struct cmd_entry *e)
{
	struct strbuf sb = STRBUF_INIT, prefix = STRBUF_INIT;

	strbuf_addf(&prefix, "usage: cluster %s", e->name);
	opt_usage(&sb, prefix.buf, e->options, e->usage, USAGE_WIDTH);
	fprintf(fp, "%s\n\n%s\n", sb.buf, e->summary);
	if (e->args || opt_any_visible(e->options)) {
		strbuf_reset(&sb);
		opt_help_args(&sb, e->args, e->options);
		fprintf(fp, "\n%s", sb.buf);
	}
	/* The command's own options hide global ones of that name; a hidden
	 * one is an old spelling, which its doc names. */
	strbuf_reset(&sb);
	strbuf_reset(&prefix);
	for (const struct opt *o = cli_global_options; o->name; o++)
		for (const struct opt *c = e->options; c && c->name; c++) {
			if (strcmp(c->name, o->name))
				continue;
			if (c->flags & OPT_HIDDEN)
				strbuf_addf(&prefix, ";\nafter it, --%s is %s",
					    c->name, c->doc);
			else
				strbuf_addf(&sb, "%s--%s", sb.len ? ", " : "",
					    o->name);
		}
	fprintf(fp, "\nGlobal options (see 'cluster help') may also follow "
		"'%s'", e->name);
	if (sb.len)
		fprintf(fp, ";\nafter it, %s %s", sb.buf,
			strchr(sb.buf, ',') ? "are the ones above" :
			"is the one above");
	fprintf(fp, "%s.\n\nSee cluster(1) for details.\n", prefix.buf);
	strbuf_release(&sb);
	strbuf_release(&prefix);
}

const struct cmd_entry *cli_find_command(const char *name)
{
	for (const struct cmd_entry *const *e = cli_commands; *e; e++)
		if (!strcmp((*e)->name, name))
			return *e;
	return NULL;
}

/* "cluster: unknown command 'taks' (did you mean 'tasks'?)" */
static void unknown_command(const char *name)
{
	const char *names[64], *hint;
	size_t n = 0;

	for (const struct cmd_entry *const *e = cli_commands; *e && n < 64; e++)
		names[n++] = (*e)->name;
	hint = suggest(name, names, n);
	fprintf(stderr, "cluster: unknown command '%s'", name);
	if (hint)
		fprintf(stderr, " (did you mean '%s'?)", hint);
	fputc('\n', stderr);
}

int cli_usage_error(const struct cmd_entry *e, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;

	if (fmt) {
		va_list ap;
		fputs("cluster: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	usage_line(&sb, e);
	fprintf(stderr, "%s; see 'cluster help %s'\n", sb.buf, e->name);
	strbuf_release(&sb);
	return 2;
}

static int cmd_help(int argc, char **argv, void *opts, struct cli_globals *g);

static const struct opt_arg help_args[] = {
	{ "COMMAND", "the command to describe (default: list them all)" },
	{ NULL, NULL },
};

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.exec = cmd_help,
	.usage = "[COMMAND]",
	.summary = "describe the commands",
	.args = help_args,
};

static int cmd_help(int argc, char **argv, void *opts, struct cli_globals *g)
{
	(void)opts;
	(void)g;
	if (argc > 1)
		return cli_usage_error(&cmd_help_entry, "too many arguments");
	if (argc == 0) {
		print_main_usage(stdout);
		return 0;
	}
	const struct cmd_entry *e = cli_find_command(argv[0]);
	if (!e) {
		unknown_command(argv[0]);
		fputs(MAIN_HINT, stderr);
		return 2;
	}
	print_command_help(stdout, e);
	return 0;
}

struct config *cli_load_config_err(const struct cli_globals *g,
				   struct err *err)
{
	struct config_source src = {
		.config_file = g->config_file,
		.profile = g->profile,
		.sets = g->sets.items,
		.datadir = g->profiles_dir,
	};

	return config_load(&src, err);
}

struct config *cli_load_config(const struct cli_globals *g)
{
	struct err err = { "" };
	struct config *cfg = cli_load_config_err(g, &err);

	if (!cfg)
		fprintf(stderr, "cluster: %s\n", err.text);
	return cfg;
}

const char *cli_profile_reason(const struct cli_globals *g,
			       const struct config *cfg)
{
	const char *why = config_profile_reason(cfg);

	if (g->profile_env && g->profile == g->profile_env &&
	    !strcmp(why, "--profile"))
		return "$CLUSTER_PROFILE";
	return why;
}

struct cluster_client *cli_open_client(const struct cli_globals *g)
{
	char errbuf[512];
	cluster_client_t *c = cluster_client_open(g->name, errbuf, sizeof(errbuf));

	if (!c)
		fprintf(stderr, "cluster: %s\n", errbuf);
	return c;
}

void cli_print_warning(const struct cluster_client *c)
{
	const char *w = cluster_client_warning(c);

	if (w)
		fprintf(stderr, "cluster: warning: %s\n", w);
}

/* --set KEY=VALUE needs its '=' (KEY= unsets). */
static int check_sets(const struct cli_globals *g)
{
	for (size_t i = 0; i < g->sets.n; i++)
		if (!strchr(g->sets.items[i], '=')) {
			fprintf(stderr, "cluster: --set wants KEY=VALUE, got '%s'\n",
				g->sets.items[i]);
			return -1;
		}
	return 0;
}

/* The command's options and the global ones after its name, then the
 * command itself. */
static int run_command(const struct cmd_entry *e, int argc, char **argv,
		       struct cli_globals *g)
{
	struct main_flags help = { 0 };
	void *opts = e->opts_size ? calloc(1, e->opts_size) : NULL;
	struct opt_group groups[] = {
		{ e->options, opts },
		{ cli_global_options, g },
		{ cli_help_options, &help },
	};
	struct err err = { "" };
	int n, rc;

	if (e->opts_size && !opts) {
		perror("cluster");
		return 1;
	}
	n = opt_parse(groups, 3, argc, argv,
		      e->flags & CMD_STOP_AT_ARG ? OPT_STOP_AT_ARG : 0, e->name,
		      &err);
	if (n < 0) {
		rc = cli_usage_error(e, "%s", err.text);
	} else if (check_sets(g) < 0) {
		rc = 2;
	} else if (help.help) {
		print_command_help(stdout, e);
		rc = 0;
	} else {
		rc = e->exec(n, argv, opts, g);
	}
	opt_release(groups, 1);		/* the globals are run()'s */
	free(opts);
	return rc;
}

static int run(int argc, char **argv, struct cli_globals *gp)
{
	struct cli_globals g = *gp;
	struct main_flags mf = { 0 };
	struct opt_group groups[] = {
		{ cli_global_options, &g },
		{ cli_main_options, &mf },
	};
	struct err err = { "" };
	const struct cmd_entry *e;
	int n, rc = 2;

	/* Up to the command's name: what follows is the command's. */
	n = opt_parse(groups, 2, argc - 1, argv + 1, OPT_STOP_AT_ARG, NULL, &err);
	argv++;
	if (n < 0) {
		fprintf(stderr, "cluster: %s\n%s", err.text, MAIN_HINT);
		goto out;
	}
	if (check_sets(&g) < 0)
		goto out;
	if (!g.profile && g.profile_env)
		g.profile = g.profile_env;
	if (mf.version) {
		printf("cluster %s\n", CLUSTER_VERSION);
		rc = 0;
		goto out;
	}
	if (mf.help) {
		print_main_usage(stdout);
		rc = 0;
		goto out;
	}
	if (n == 0) {
		fprintf(stderr, "cluster: no command given\n%s", MAIN_HINT);
		goto out;
	}
	e = cli_find_command(argv[0]);
	if (!e) {
		unknown_command(argv[0]);
		fputs(MAIN_HINT, stderr);
		goto out;
	}
	g.bindir = paths_bindir();
	g.profiles_dir = paths_profiles_dir();
	g.templates_dir = paths_templates_dir();
	rc = run_command(e, n - 1, argv + 1, &g);
out:
	opt_release(groups, 2);
	return rc;
}

/* A variable set to "" counts as unset. */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int main(int argc, char **argv)
{
	struct cli_globals g = { .name = "default" };

	/* Hidden: shell completion, before any option is read. */
	if (argc > 1 && !strcmp(argv[1], "__complete"))
		return cli_complete(argc - 2, argv + 2);

	/* Defaults from the environment, below every option. */
	if (env("CLUSTER_NAME"))
		g.name = env("CLUSTER_NAME");
	g.profile_env = env("CLUSTER_PROFILE");
	return run(argc, argv, &g);
}
