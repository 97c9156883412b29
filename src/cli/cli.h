/*
 * The `cluster` command line: one table of subcommands (commands.c), one
 * file per subcommand (cmd_<name>.c) exporting one `struct cmd_entry`.
 * A command declares its options in its entry (cli/options.h); main.c
 * reads them, and the global options, with one parser before the command
 * runs, and makes the usage line and `cluster help NAME` from the entry.
 */
#ifndef CLUSTER_CLI_H
#define CLUSTER_CLI_H

#include <stddef.h>

#include "cli/options.h"
#include "config/config.h"

/* Options shared by all subcommands, before or after the subcommand's
 * name; after it, a subcommand's own option of the same name wins. */
struct cli_globals {
	const char *profile;		/* --profile NAME, else $CLUSTER_PROFILE */
	const char *profile_env;	/* $CLUSTER_PROFILE, when profile is it */
	const char *config_file;	/* --config FILE */
	const char *name;		/* --name CLUSTER, else $CLUSTER_NAME,
					   else "default" */
	struct opt_list sets;		/* --set key=value, in order */
	int verbose;			/* -v */
	const char *bindir;		/* folder of this executable */
	const char *profiles_dir;	/* PREFIX/share/cluster/profiles, or
					   config/ in a build tree */
	const char *templates_dir;	/* PREFIX/share/cluster/jobscripts, or
					   jobscripts/ in a build tree */
};

/* cmd_entry.flags */
#define CMD_STOP_AT_ARG	1u	/* options end at the first argument: the
				   rest is a command to run (submit) */

struct cmd_entry {
	const char *name;
	/* Runs the command with its positional arguments in order (argv[0]
	 * is the first, argv[argc] NULL) and the struct its options were
	 * parsed into: opts_size bytes, zeroed before parsing. */
	int (*exec)(int argc, char **argv, void *opts, struct cli_globals *g);
	const char *usage;		/* what follows the options in the usage
					   line ("ID", "[COMMAND]") */
	const char *summary;		/* "grow or shrink the pool" */
	const struct opt_arg *args;	/* the usage's arguments, one help
					   line each; NULL: none */
	const struct opt *options;	/* ends with OPT_END; NULL: none */
	size_t opts_size;
	unsigned flags;			/* CMD_* */
};

extern const struct cmd_entry *const cli_commands[];	/* NULL-terminated */

/* "dashboard   URL#token=..." for the scheduler of the cluster g names,
 * the URL from the profile's dashboard.link (cmd_top.c), and a line
 * more when the port is not the profile's scheduler.http-port; nothing
 * when its token cannot be read.  -1 after saying on stderr that
 * dashboard.link is bad (the direct link is printed then). */
int cli_print_dashboard(const struct cli_globals *g, const char *host,
			unsigned port);

/* The global options (before or after a command), the program's own
 * (--version, --help: before a command only) and a command's --help. */
extern const struct opt cli_global_options[];
extern const struct opt cli_main_options[];
extern const struct opt cli_help_options[];

/* The command of that name; NULL if none. */
const struct cmd_entry *cli_find_command(const char *name);

/* `cluster __complete WORD...`, for shell completion: the words of a
 * command line after "cluster", the last the one being completed (may be
 * ""); prints what it may become, one per line.  Returns 0. */
int cli_complete(int argc, char **argv);

/* Print "cluster: MESSAGE" (when fmt is not NULL) and the command's usage
 * line, which points to its help, to stderr; returns 2. */
int cli_usage_error(const struct cmd_entry *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Load the configuration the global options ask for; prints the error
 * ("cluster: ...") and returns NULL on failure. */
struct config *cli_load_config(const struct cli_globals *g);
/* The same, saying nothing: NULL + err when it cannot be read. */
struct config *cli_load_config_err(const struct cli_globals *g,
				   struct err *err);

/* Why cfg has its profile, as config_profile_reason says, except that a
 * profile from the environment says "$CLUSTER_PROFILE", not "--profile". */
const char *cli_profile_reason(const struct cli_globals *g,
			       const struct config *cfg);

/* Connect to the running scheduler of the cluster --name names; prints
 * the error ("cluster: ...") and returns NULL on failure. */
struct cluster_client;
struct cluster_client *cli_open_client(const struct cli_globals *g);
/* The warning the scheduler's last answer carried, as "cluster:
 * warning: ..." on stderr; nothing without one. */
void cli_print_warning(const struct cluster_client *c);

#endif
