/*
 * The `cluster` command line: one table of subcommands (commands.c), one
 * file per subcommand (cmd_<name>.c) exporting one `struct cmd_entry`.
 */
#ifndef CLUSTER_CLI_H
#define CLUSTER_CLI_H

#include "config/config.h"

/* Options that come before the subcommand, shared by all of them. */
struct cli_globals {
	const char *profile;		/* --profile NAME */
	const char *config_file;	/* --config FILE */
	const char *name;		/* --name CLUSTER (default "default") */
	const char **sets;		/* --set key=value, NULL-terminated */
	unsigned nsets;
	int verbose;			/* -v */
	const char *bindir;		/* folder of this executable */
	const char *profiles_dir;	/* PREFIX/share/cluster/profiles, or
					   config/ in a build tree */
	const char *templates_dir;	/* PREFIX/share/cluster/jobscripts, or
					   jobscripts/ in a build tree */
};

struct cmd_entry {
	const char *name;
	int (*fn)(int argc, char **argv, struct cli_globals *g);
	const char *usage;		/* "N [--jobs]" */
	const char *summary;		/* "grow or shrink the pool" */
};

extern const struct cmd_entry *const cli_commands[];	/* NULL-terminated */

/* Print "usage: cluster NAME USAGE" and the summary to stderr; returns 2. */
int cli_usage_error(const struct cmd_entry *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Load the configuration the global options ask for; prints the error
 * ("cluster: ...") and returns NULL on failure. */
struct config *cli_load_config(const struct cli_globals *g);

/* Connect to the running scheduler of the cluster --name names; prints
 * the error ("cluster: ...") and returns NULL on failure. */
struct cluster_client;
struct cluster_client *cli_open_client(const struct cli_globals *g);

#endif
