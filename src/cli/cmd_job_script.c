/*
 * cluster job-script: print the batch script exactly as the pool would
 * submit it, so a site can check its profile before anything is queued.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "jobscript/jobscript.h"
#include "state/state.h"
#include "util/strbuf.h"

static int cmd_job_script(int argc, char **argv, struct cli_globals *g);

const struct cmd_entry cmd_job_script_entry = {
	"job-script", cmd_job_script, "[--role head|worker] [--batch FILE] [-o FILE]",
	"print the batch job script the pool would submit",
};

/* $CLUSTER_HOME/<name>, by the state directory's rule, without creating
 * it: printing a script leaves no trace. */
static int state_path(const char *name, struct strbuf *out)
{
	const char *home = getenv("CLUSTER_HOME");

	if (!*name || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789_.-") != strlen(name) ||
	    !strcmp(name, ".") || !strcmp(name, "..")) {
		fprintf(stderr, "cluster: cluster name '%s' is not valid: use "
			"letters, digits, '_', '.' and '-'\n", name);
		return -1;
	}
	if (home && *home) {
		if (home[0] != '/') {
			fprintf(stderr, "cluster: CLUSTER_HOME '%s' is not an "
				"absolute path\n", home);
			return -1;
		}
		strbuf_addf(out, "%s/%s", home, name);
		return 0;
	}
	home = getenv("HOME");
	if (!home || home[0] != '/') {
		fprintf(stderr, "cluster: cannot find the home directory: set HOME "
			"or CLUSTER_HOME\n");
		return -1;
	}
	strbuf_addf(out, "%s/.cluster/%s", home, name);
	return 0;
}

static int cmd_job_script(int argc, char **argv, struct cli_globals *g)
{
	static const struct option longopts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *role = NULL, *batch = NULL, *output = NULL;
	struct strbuf state = STRBUF_INIT, rank = STRBUF_INIT,
		      script = STRBUF_INIT;
	char batch_abs[PATH_MAX], config_abs[PATH_MAX];
	const char *config_file;
	struct config *cfg = NULL;
	struct err err = { "" };
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': role = optarg; break;
		case 'b': batch = optarg; break;
		case 'o': output = optarg; break;
		default: return cli_usage_error(&cmd_job_script_entry, NULL);
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd_job_script_entry,
				       "unexpected argument '%s'", argv[optind]);
	if (role && strcmp(role, "head") && strcmp(role, "worker"))
		return cli_usage_error(&cmd_job_script_entry,
				       "--role is head or worker, not '%s'", role);
	if (role && batch)
		return cli_usage_error(&cmd_job_script_entry,
				       "--batch makes its own role; leave out --role");

	struct job_script_opts opts = {
		.cluster_name = g->name,
		.templates_dir = g->templates_dir,
		.sets = g->sets,
	};
	if (batch) {
		if (!realpath(batch, batch_abs)) {
			fprintf(stderr, "cluster: cannot read tasks file '%s': %s\n",
				batch, strerror(errno));
			goto out;
		}
		opts.role = JOB_BATCH;
		opts.batch_file = batch_abs;
	}

	cfg = cli_load_config(g);
	if (!cfg)
		goto out;
	/* The ranks read the same file, wherever the job starts them. */
	config_file = g->config_file ? g->config_file : getenv("CLUSTER_CONFIG");
	if (config_file && *config_file) {
		if (!realpath(config_file, config_abs)) {
			fprintf(stderr, "cluster: cannot read configuration file '%s': "
				"%s\n", config_file, strerror(errno));
			goto out;
		}
		opts.config_file = config_abs;
	}
	if (!batch) {
		const char *loc = config_get_str(cfg, "scheduler.location");
		if (role)
			opts.role = strcmp(role, "head") ? JOB_WORKER : JOB_HEAD;
		else
			opts.role = loc && !strcmp(loc, "job") ? JOB_HEAD : JOB_WORKER;
	}
	if (state_path(g->name, &state) < 0)
		goto out;
	opts.state_dir = state.buf;
	strbuf_addf(&rank, "%s/cluster-rank", g->bindir);
	opts.rank_path = rank.buf;

	if (job_script_render(cfg, &opts, &script, &err) < 0) {
		fprintf(stderr, "cluster: %s\n", err.text);
		goto out;
	}
	if (output) {
		if (state_write_atomic(output, script.buf, script.len, 0755,
				       &err) < 0) {
			fprintf(stderr, "cluster: %s\n", err.text);
			goto out;
		}
	} else if (fwrite(script.buf, 1, script.len, stdout) != script.len ||
		   fflush(stdout) != 0) {
		fprintf(stderr, "cluster: cannot write the job script: %s\n",
			strerror(errno));
		goto out;
	}
	rc = 0;
out:
	config_destroy(cfg);
	strbuf_release(&state);
	strbuf_release(&rank);
	strbuf_release(&script);
	return rc;
}
