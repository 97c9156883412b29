/*
 * cluster job-script: print the batch script exactly as the pool would
 * submit it, so a site can check its profile before anything is queued.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "config/config.h"
#include "jobscript/jobscript.h"
#include "state/state.h"
#include "util/strbuf.h"

struct job_script_args {
	const char *role;
	const char *batch;
	const char *output;
};

static const struct opt job_script_options[] = {
	OPT_STRING("role", 0, "head|worker",
		   "a head or a worker job (default: by scheduler.location)",
		   struct job_script_args, role),
	OPT_STRING("batch", 0, "FILE", "a one-shot job that runs the commands of FILE",
		   struct job_script_args, batch),
	OPT_STRING("output", 'o', "FILE", "write the script to FILE, not to stdout",
		   struct job_script_args, output),
	OPT_END,
};

static int cmd_job_script(int argc, char **argv, void *values,
			  struct cli_globals *g);

const struct cmd_entry cmd_job_script_entry = {
	.name = "job-script",
	.exec = cmd_job_script,
	.summary = "print the batch job script the pool would submit",
	.options = job_script_options,
	.opts_size = sizeof(struct job_script_args),
};

/* Where the job's logs go when job.log-directory is unset: the cluster's
 * state directory (batch systems only; local jobs log elsewhere). */
static int logs_in_state_dir(const struct config *cfg)
{
	const struct backend *b = backend_find(config_get_str(cfg, "backend"));

	return b && b->is_batch && !config_get_str(cfg, "job.log-directory");
}

/* The state directory by state.c's rule.  Printing a script creates
 * nothing, with one exception: a cluster that has no state directory yet
 * gets it when the job's logs go there, because a batch system fails a
 * job whose log directory is missing. */
static int find_state_dir(const struct cli_globals *g, const struct config *cfg,
			  struct strbuf *out, const char **dir)
{
	struct err err = { "" };

	*dir = NULL;
	if (state_dir(g->name, 0, out, &err) == 0) {
		*dir = out->buf;
		return 0;
	}
	if (errno == ENOENT && !logs_in_state_dir(cfg))
		return 0;
	if (errno == ENOENT) {
		err.text[0] = '\0';
		if (state_dir(g->name, 1, out, &err) == 0) {
			*dir = out->buf;
			return 0;
		}
	}
	fprintf(stderr, "cluster: %s\n", err.text);
	return -1;
}

/* NCAR's systems, whose qsub refuses a job that names no project.  A
 * profile is theirs when it or one of its ancestors is one of these. */
static const char *const ncar_profiles[] = { "casper", "derecho", NULL };

static const char *ncar_ancestor(const struct config *cfg)
{
	const struct config_profile_info *p;
	unsigned n = config_profiles(cfg, &p);
	const char *name = config_profile_name(cfg);

	/* n bounds the walk, should a chain loop */
	for (unsigned hops = 0; name && hops <= n; hops++) {
		const char *parent = NULL;
		for (const char *const *k = ncar_profiles; *k; k++)
			if (!strcmp(name, *k))
				return name;
		for (unsigned i = 0; i < n; i++)
			if (!strcmp(p[i].name, name))
				parent = p[i].inherit;
		name = parent;
	}
	return NULL;
}

/* The loader has put $PBS_ACCOUNT in job.account when no layer set it;
 * none at all means qsub will refuse the job there. */
static void warn_no_account(const struct config *cfg)
{
	const char *ncar = ncar_ancestor(cfg);

	if (!ncar || config_get_str(cfg, "job.account"))
		return;
	fprintf(stderr, "cluster: warning: no job.account and no $PBS_ACCOUNT: "
		"NCAR's qsub (profile '%s'%s%s%s) refuses a job without a project "
		"code; set job.account to yours or export PBS_ACCOUNT\n",
		config_profile_name(cfg),
		strcmp(ncar, config_profile_name(cfg)) ? ", from '" : "",
		strcmp(ncar, config_profile_name(cfg)) ? ncar : "",
		strcmp(ncar, config_profile_name(cfg)) ? "'" : "");
}

static int cmd_job_script(int argc, char **argv, void *values,
			  struct cli_globals *g)
{
	const struct job_script_args *a = values;
	const char *role = a->role, *batch = a->batch, *output = a->output;
	struct strbuf state = STRBUF_INIT, rank = STRBUF_INIT,
		      script = STRBUF_INIT;
	char batch_abs[PATH_MAX], config_abs[PATH_MAX];
	const char *config_file;
	struct config *cfg = NULL;
	struct err err = { "" };
	int rc = 1;

	if (argc > 0)
		return cli_usage_error(&cmd_job_script_entry,
				       "unexpected argument '%s'", argv[0]);
	if (role && strcmp(role, "head") && strcmp(role, "worker"))
		return cli_usage_error(&cmd_job_script_entry,
				       "--role is head or worker, not '%s'", role);
	if (role && batch)
		return cli_usage_error(&cmd_job_script_entry,
				       "--batch makes its own role; leave out --role");

	struct job_script_opts opts = {
		.cluster_name = g->name,
		.templates_dir = g->templates_dir,
		.sets = g->sets.items,
		.create_log_directory = 1,
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
	if (find_state_dir(g, cfg, &state, &opts.state_dir) < 0)
		goto out;
	strbuf_addf(&rank, "%s/cluster-rank", g->bindir);
	opts.rank_path = rank.buf;

	if (job_script_render(cfg, &opts, &script, &err) < 0) {
		fprintf(stderr, "cluster: %s\n", err.text);
		goto out;
	}
	warn_no_account(cfg);
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
