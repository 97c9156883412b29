/*
 * Job scripts: a template from jobscripts/ with its placeholders filled
 * from the profile.  Every value that comes from configuration or the
 * environment is checked or quoted here, even where config validation
 * already vouches for it, because a job script runs with the user's full
 * rights on every node of the job.
 */
#include "jobscript/jobscript.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/units.h"

struct render {
	const struct config *cfg;
	const struct job_script_opts *opts;
	const char *backend;
	const char *prefix;		/* "#PBS ", "#SBATCH " or NULL */
	struct job_size size;
	char *const *skip;
	struct strbuf directives;
	struct strbuf environment;
	struct strbuf prologue;
	struct strbuf launch;
	struct strbuf epilogue;
	int launch_placed;
};

static int has_space_or_control(const char *s)
{
	for (; *s; s++)
		if (*s == ' ' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int check_word(const char *key, const char *v, struct err *err)
{
	if (config_is_word(v))
		return 0;
	return errprintf(err, "%s = '%s' is not a single word; use letters, "
			 "digits and _.@+%%=:,/- only", key, v);
}

/* One generated directive, unless job.skip names part of it. */
static void directive(struct render *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void directive(struct render *r, const char *fmt, ...)
{
	struct strbuf line = STRBUF_INIT;
	va_list ap;

	strbuf_addstr(&line, r->prefix);
	va_start(ap, fmt);
	strbuf_vaddf(&line, fmt, ap);
	va_end(ap);
	for (char *const *s = r->skip; s && *s; s++) {
		if (**s && strstr(line.buf, *s)) {
			strbuf_release(&line);
			return;
		}
	}
	strbuf_addch(&line, '\n');
	strbuf_add(&r->directives, line.buf, line.len);
	strbuf_release(&line);
}

/* job.account, else the batch system's own environment variable. */
static int find_account(struct render *r, const char *envname,
			const char **out, struct err *err)
{
	const char *v = config_get_str(r->cfg, "job.account");

	if (v) {
		*out = v;
		return check_word("job.account", v, err);
	}
	v = getenv(envname);
	if (!v || !*v) {
		*out = NULL;
		return 0;
	}
	if (!config_is_word(v))
		return errprintf(err, "$%s = '%s' is not a valid account; set "
				 "job.account or fix the variable", envname, v);
	*out = v;
	return 0;
}

static int log_directory(struct render *r, const char **out, struct err *err)
{
	const char *dir = config_get_str(r->cfg, "job.log-directory");
	const char *key = "job.log-directory";

	if (!dir) {
		dir = r->opts->state_dir;
		key = "the state directory";
	}
	if (!dir || !*dir)
		return errprintf(err, "no directory for job logs; set "
				 "job.log-directory");
	if (has_space_or_control(dir) || strchr(dir, '#'))
		return errprintf(err, "%s '%s' contains a space, '#' or a control "
				 "character, which batch directives cannot carry; set "
				 "job.log-directory to a plain path", key, dir);
	*out = dir;
	return 0;
}

static void add_memory(struct render *r, struct strbuf *sb, uint64_t bytes)
{
	job_memory_render(r->backend, bytes, sb);
}

/* mem= comes last: PBS Pro takes the resources in any order, but Slurm's
 * PBS stand-in (sbatch reading #PBS lines) reads the memory figure up to
 * the next comma, so anything after it would be read as part of it. */
static void pbs_chunk(struct strbuf *sb, const struct job_size *s,
		      unsigned count, unsigned mpiprocs, const char *mem)
{
	strbuf_addf(sb, "%u:ncpus=%u:mpiprocs=%u:ompthreads=%u", count,
		    s->cores, mpiprocs, s->threads);
	if (s->gpus)
		strbuf_addf(sb, ":ngpus=%u", s->gpus);
	strbuf_addf(sb, ":mem=%s", mem);
}

static int pbs_directives(struct render *r, const char *name,
			  const char *queue, const char *account,
			  const char *logdir, const char *walltime,
			  struct err *err)
{
	const struct job_size *s = &r->size;
	const char *priority = config_get_str(r->cfg, "job.priority");
	struct strbuf mem = STRBUF_INIT, select = STRBUF_INIT;

	if (priority && check_word("job.priority", priority, err) < 0)
		return -1;
	add_memory(r, &mem, s->memory);
	/* One chunk per node; a head job's first chunk has a slot for the
	 * scheduler rank, so $PBS_NODEFILE lists it there. */
	strbuf_addstr(&select, "select=");
	if (r->opts->role == JOB_WORKER) {
		pbs_chunk(&select, s, s->nodes, s->processes, mem.buf);
	} else {
		pbs_chunk(&select, s, 1, s->processes + 1, mem.buf);
		if (s->nodes > 1) {
			strbuf_addch(&select, '+');
			pbs_chunk(&select, s, s->nodes - 1, s->processes, mem.buf);
		}
	}

	directive(r, "-N %s", name);
	if (queue)
		directive(r, "-q %s", queue);
	if (account)
		directive(r, "-A %s", account);
	directive(r, "-l %s", select.buf);
	directive(r, "-l walltime=%s", walltime);
	if (priority)
		directive(r, "-l job_priority=%s", priority);
	directive(r, "-o %s/", logdir);
	directive(r, "-e %s/", logdir);
	strbuf_release(&select);
	strbuf_release(&mem);
	return 0;
}

static void torque_directives(struct render *r, const char *name,
			      const char *queue, const char *account,
			      const char *logdir, const char *walltime)
{
	const struct job_size *s = &r->size;
	struct strbuf mem = STRBUF_INIT;
	/* Torque's mem is for the whole job, not per node. */
	unsigned __int128 total = (unsigned __int128)s->memory * s->nodes;

	add_memory(r, &mem, total > UINT64_MAX ? UINT64_MAX : (uint64_t)total);
	directive(r, "-N %s", name);
	if (queue)
		directive(r, "-q %s", queue);
	if (account)
		directive(r, "-A %s", account);
	if (s->gpus)
		directive(r, "-l nodes=%u:ppn=%u:gpus=%u", s->nodes, s->cores,
			  s->gpus);
	else
		directive(r, "-l nodes=%u:ppn=%u", s->nodes, s->cores);
	directive(r, "-l mem=%s", mem.buf);
	directive(r, "-l walltime=%s", walltime);
	directive(r, "-o %s/", logdir);
	directive(r, "-e %s/", logdir);
	strbuf_release(&mem);
}

static void slurm_directives(struct render *r, const char *name,
			     const char *queue, const char *account,
			     const char *logdir, const char *walltime)
{
	const struct job_size *s = &r->size;
	struct strbuf mem = STRBUF_INIT;

	add_memory(r, &mem, s->memory);
	directive(r, "--job-name=%s", name);
	if (queue)
		directive(r, "--partition=%s", queue);
	if (account)
		directive(r, "--account=%s", account);
	directive(r, "--nodes=%u", s->nodes);
	directive(r, "--ntasks-per-node=%u", s->processes);
	directive(r, "--cpus-per-task=%u", s->threads);
	directive(r, "--mem=%s", mem.buf);
	if (s->gpus)
		directive(r, "--gres=gpu:%u", s->gpus);
	directive(r, "--time=%s", walltime);
	directive(r, "--output=%s/%%x-%%j.out", logdir);
	directive(r, "--error=%s/%%x-%%j.err", logdir);
	strbuf_release(&mem);
}

static int build_directives(struct render *r, struct err *err)
{
	const char *name = config_get_str(r->cfg, "job.name");
	const char *queue = config_get_str(r->cfg, "job.queue");
	const char *account = NULL, *logdir = NULL;
	struct strbuf walltime = STRBUF_INIT;
	int rc = -1;

	if (!r->prefix)
		return 0;	/* local jobs have no batch system to talk to */
	if (!name)
		name = "cluster";
	if (check_word("job.name", name, err) < 0 ||
	    (queue && check_word("job.queue", queue, err) < 0) ||
	    find_account(r, strcmp(r->backend, "slurm") ? "PBS_ACCOUNT" :
			 "SLURM_ACCOUNT", &account, err) < 0 ||
	    log_directory(r, &logdir, err) < 0)
		goto out;
	duration_format_hms(&walltime, r->size.walltime);

	if (!strcmp(r->backend, "pbs")) {
		if (pbs_directives(r, name, queue, account, logdir, walltime.buf,
				   err) < 0)
			goto out;
	} else if (!strcmp(r->backend, "torque")) {
		torque_directives(r, name, queue, account, logdir, walltime.buf);
	} else {
		slurm_directives(r, name, queue, account, logdir, walltime.buf);
	}

	/* job.extra is the profile's own directives: never skipped. */
	char *const *extra = config_get_list(r->cfg, "job.extra");
	for (; extra && *extra; extra++) {
		if (config_has_control(*extra)) {
			errprintf(err, "job.extra item '%s' contains a control "
				  "character; write one directive per item", *extra);
			goto out;
		}
		strbuf_addf(&r->directives, "%s%s\n", r->prefix, *extra);
	}
	rc = 0;
out:
	strbuf_release(&walltime);
	return rc;
}

static void build_environment(struct render *r)
{
	const char *home = getenv("CLUSTER_HOME");

	/* Compute nodes must find the same state directory as the login
	 * node that wrote this script. */
	if (home && *home) {
		strbuf_addstr(&r->environment, "export CLUSTER_HOME=");
		strbuf_add_shquoted(&r->environment, home);
		strbuf_addch(&r->environment, '\n');
	}
}

static void build_lines(struct strbuf *sb, char *const *lines)
{
	for (; lines && *lines; lines++)
		strbuf_addf(sb, "%s\n", *lines);
}

/* A launcher argument in double quotes: only a plain $NAME or ${NAME}
 * expands (on the compute node, e.g. $PBS_NODEFILE); every other $, `, "
 * and \ is escaped, so no command substitution can run. */
static void add_launch_arg(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '$') {
			const char *q = p + 1;
			int braced = *q == '{';
			if (braced)
				q++;
			const char *name = q;
			if (*q == '_' || (*q >= 'A' && *q <= 'Z') ||
			    (*q >= 'a' && *q <= 'z')) {
				while (*q == '_' || (*q >= 'A' && *q <= 'Z') ||
				       (*q >= 'a' && *q <= 'z') ||
				       (*q >= '0' && *q <= '9'))
					q++;
			}
			if (q > name && (!braced || *q == '}')) {
				if (braced)
					q++;
				strbuf_add(sb, p, (size_t)(q - p));
				p = q - 1;
				continue;
			}
			strbuf_addstr(sb, "\\$");
		} else if (*p == '"' || *p == '\\' || *p == '`') {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, *p);
		} else {
			strbuf_addch(sb, *p);
		}
	}
	strbuf_addch(sb, '"');
}

static int absolute_batch_file(const char *file, struct strbuf *out,
			       struct err *err)
{
	if (file[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		if (!cwd)
			return errprintf(err, "cannot resolve tasks file '%s': %s",
					 file, strerror(errno));
		strbuf_addf(out, "%s/", cwd);
		free(cwd);
	}
	strbuf_addstr(out, file);
	return 0;
}

static void rank_option(struct strbuf *sb, const char *opt, const char *value)
{
	strbuf_addf(sb, " %s ", opt);
	strbuf_add_shquoted(sb, value);
}

/* What the ranks need to see the job as it was rendered: without these a
 * rank would resolve `auto` by its own compute node's name, size its
 * worker from hwloc instead of job.cores/job.memory, and miss every
 * --set (scheduler.host, say) given here. */
static int rank_config(struct render *r, struct err *err)
{
	const struct job_script_opts *o = r->opts;
	const char *profile = config_profile_name(r->cfg);
	struct strbuf *sb = &r->launch;

	if (profile && *profile)
		rank_option(sb, "--profile", profile);
	if (o->config_file) {
		if (o->config_file[0] != '/' || config_has_control(o->config_file))
			return errprintf(err, "the configuration file '%s' is not an "
					 "absolute path", o->config_file);
		rank_option(sb, "--config", o->config_file);
	}
	/* Numbers need no quoting; quoted all the same, like every value. */
	strbuf_addf(sb, " --cores '%u' --memory '%llu'", r->size.threads,
		    (unsigned long long)r->size.worker_memory);
	for (const char *const *s = o->sets; s && *s; s++) {
		if (config_has_control(*s))
			return errprintf(err, "--set '%s' contains a control character, "
					 "which a job script cannot pass on", *s);
		rank_option(sb, "--set", *s);
	}
	return 0;
}

static int build_launch(struct render *r, struct err *err)
{
	const struct job_script_opts *o = r->opts;
	const char *cmd = config_get_str(r->cfg, "launch.command");
	char *const *args = config_get_list(r->cfg, "launch.args");
	struct strbuf *sb = &r->launch;
	int srun;
	unsigned long long ranks;

	if (!cmd)
		cmd = "mpirun";
	if (strcmp(cmd, "mpirun") && strcmp(cmd, "mpiexec") && strcmp(cmd, "srun"))
		return errprintf(err, "launch.command = '%s' is not one of mpirun, "
				 "mpiexec, srun", cmd);
	srun = !strcmp(cmd, "srun");
	if (!o->rank_path || o->rank_path[0] != '/')
		return errprintf(err, "the path of cluster-rank '%s' is not absolute",
				 o->rank_path ? o->rank_path : "");
	if (o->role == JOB_BATCH) {
		if (!o->batch_file || !*o->batch_file)
			return errprintf(err, "a batch job script needs a tasks file");
	} else if (!o->cluster_name || !*o->cluster_name) {
		return errprintf(err, "a job script needs the cluster's name");
	}

	ranks = (unsigned long long)r->size.nodes * r->size.processes;
	if (o->role != JOB_WORKER)
		ranks++;	/* rank 0 is the scheduler */

	strbuf_addstr(sb, cmd);
	for (; args && *args; args++) {
		if (config_has_control(*args))
			return errprintf(err, "launch.args item '%s' contains a "
					 "control character", *args);
		strbuf_addch(sb, ' ');
		add_launch_arg(sb, *args);
	}
	/* -n is the MPI standard's spelling, which mpiexec implementations
	 * (Hydra, Cray PALS, Open MPI) all take; mpirun is Open MPI's. */
	strbuf_addf(sb, srun ? " --ntasks=%llu" :
		    !strcmp(cmd, "mpiexec") ? " -n %llu" : " -np %llu", ranks);
	/* PBS Pro gets a slot for the scheduler in the select line; elsewhere
	 * the scheduler rank shares the allocation with the workers. */
	if (o->role != JOB_WORKER && strcmp(r->backend, "pbs"))
		strbuf_addstr(sb, srun ? " --overcommit" : " --oversubscribe");
	strbuf_addch(sb, ' ');
	strbuf_add_shquoted(sb, o->rank_path);
	switch (o->role) {
	case JOB_HEAD:
		strbuf_addstr(sb, " --name ");
		strbuf_add_shquoted(sb, o->cluster_name);
		break;
	case JOB_WORKER:
		strbuf_addstr(sb, " --worker-only --name ");
		strbuf_add_shquoted(sb, o->cluster_name);
		break;
	case JOB_BATCH: {
		struct strbuf path = STRBUF_INIT;
		if (absolute_batch_file(o->batch_file, &path, err) < 0)
			return -1;
		/* The run's logs and address file go to the state directory
		 * the script's own output paths name. */
		strbuf_addstr(sb, " --name ");
		strbuf_add_shquoted(sb, o->cluster_name);
		strbuf_addstr(sb, " --run ");
		strbuf_add_shquoted(sb, path.buf);
		strbuf_release(&path);
		break;
	}
	}
	if (rank_config(r, err) < 0)
		return -1;
	strbuf_addch(sb, '\n');
	return 0;
}

static int template_path(struct render *r, struct strbuf *path,
			 struct err *err)
{
	const char *t = config_get_str(r->cfg, "job.template");

	if (t && t[0] == '/') {
		strbuf_addstr(path, t);
		return 0;
	}
	if (!r->opts->templates_dir)
		return errprintf(err, "no folder to look up job script templates in");
	if (t)
		strbuf_addf(path, "%s/%s", r->opts->templates_dir, t);
	else
		strbuf_addf(path, "%s/%s.sh", r->opts->templates_dir, r->backend);
	return 0;
}

/* Placeholders: @SHELL@ anywhere on a line; the others stand alone on
 * their line and become zero or more lines.  Lines starting with "#@" are
 * the template's own notes and are dropped. */
static const struct block {
	const char *name;
	size_t off;
} blocks[] = {
	{ "@DIRECTIVES@", offsetof(struct render, directives) },
	{ "@ENVIRONMENT@", offsetof(struct render, environment) },
	{ "@PROLOGUE@", offsetof(struct render, prologue) },
	{ "@LAUNCH@", offsetof(struct render, launch) },
	{ "@EPILOGUE@", offsetof(struct render, epilogue) },
	{ NULL, 0 },
};

/* Length of a placeholder @[A-Z_]+@ at p, else 0. */
static size_t placeholder_len(const char *p, const char *end)
{
	const char *q = p + 1;

	if (*p != '@')
		return 0;
	while (q < end && ((*q >= 'A' && *q <= 'Z') || *q == '_'))
		q++;
	if (q == p + 1 || q >= end || *q != '@')
		return 0;
	return (size_t)(q - p) + 1;
}

static int fill_line(struct render *r, const char *path, unsigned lineno,
		     const char *line, const char *end, const char *shell,
		     struct strbuf *out, struct err *err)
{
	const char *a = line, *b = end;

	while (a < b && (*a == ' ' || *a == '\t'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
		b--;
	if (b - a >= 2 && a[0] == '#' && a[1] == '@' && a == line)
		return 0;
	for (const struct block *bl = blocks; bl->name; bl++) {
		if ((size_t)(b - a) == strlen(bl->name) &&
		    !memcmp(a, bl->name, (size_t)(b - a))) {
			const struct strbuf *sb =
				(const struct strbuf *)((const char *)r + bl->off);
			strbuf_add(out, sb->buf, sb->len);
			if (sb == &r->launch)
				r->launch_placed = 1;
			return 0;
		}
	}
	for (const char *p = line; p < end; p++) {
		size_t n = placeholder_len(p, end);
		if (!n) {
			strbuf_addch(out, *p);
			continue;
		}
		if (n == 7 && !memcmp(p, "@SHELL@", 7)) {
			strbuf_addstr(out, shell);
		} else {
			for (const struct block *bl = blocks; bl->name; bl++)
				if (strlen(bl->name) == n && !memcmp(p, bl->name, n))
					return errprintf(err, "%s:%u: placeholder '%.*s' "
							 "must stand alone on its line",
							 path, lineno, (int)n, p);
			return errprintf(err, "%s:%u: unknown placeholder '%.*s'; "
					 "known: @SHELL@, @DIRECTIVES@, @ENVIRONMENT@, "
					 "@PROLOGUE@, @LAUNCH@, @EPILOGUE@",
					 path, lineno, (int)n, p);
		}
		p += n - 1;
	}
	strbuf_addch(out, '\n');
	return 0;
}

static int fill_template(struct render *r, const char *path,
			 const struct strbuf *tmpl, struct strbuf *out,
			 struct err *err)
{
	const char *shell = config_get_str(r->cfg, "job.shell");
	const char *p = tmpl->buf, *end = tmpl->buf + tmpl->len;
	unsigned lineno = 0;

	if (!shell)
		shell = "/bin/bash";
	if (shell[0] != '/' || config_has_control(shell))
		return errprintf(err, "job.shell = '%s' is not an absolute path to "
				 "an interpreter, e.g. /bin/bash", shell);
	if (memchr(tmpl->buf, '\0', tmpl->len))
		return errprintf(err, "job script template '%s' is not a text file",
				 path);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		lineno++;
		if (fill_line(r, path, lineno, p, le, shell, out, err) < 0)
			return -1;
		p = nl ? nl + 1 : end;
	}
	if (!r->launch_placed)
		return errprintf(err, "job script template '%s' has no @LAUNCH@ line",
				 path);
	return 0;
}

int job_script_render(const struct config *cfg,
		      const struct job_script_opts *opts,
		      struct strbuf *out, struct err *err)
{
	struct render r;
	struct strbuf path = STRBUF_INIT, tmpl = STRBUF_INIT,
		      script = STRBUF_INIT;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.opts = opts;
	r.backend = config_get_str(cfg, "backend");
	if (!r.backend)
		r.backend = "local";
	if (!strcmp(r.backend, "pbs") || !strcmp(r.backend, "torque"))
		r.prefix = "#PBS ";
	else if (!strcmp(r.backend, "slurm"))
		r.prefix = "#SBATCH ";
	else if (strcmp(r.backend, "local")) {
		return errprintf(err, "backend = '%s' is not one of local, slurm, "
				 "pbs, torque", r.backend);
	}
	r.skip = config_get_list(cfg, "job.skip");
	strbuf_init(&r.directives, 0);
	strbuf_init(&r.environment, 0);
	strbuf_init(&r.prologue, 0);
	strbuf_init(&r.launch, 0);
	strbuf_init(&r.epilogue, 0);

	if (job_size_from_config(cfg, &r.size, err) < 0 ||
	    build_directives(&r, err) < 0 || build_launch(&r, err) < 0)
		goto out;
	build_environment(&r);
	build_lines(&r.prologue, config_get_list(cfg, "job.prologue"));
	build_lines(&r.epilogue, config_get_list(cfg, "job.epilogue"));

	if (template_path(&r, &path, err) < 0)
		goto out;
	if (strbuf_read_file(&tmpl, path.buf) < 0) {
		errprintf(err, "cannot read job script template '%s': %s", path.buf,
			  strerror(errno));
		goto out;
	}
	if (fill_template(&r, path.buf, &tmpl, &script, err) < 0)
		goto out;
	strbuf_add(out, script.buf, script.len);
	rc = 0;
out:
	strbuf_release(&path);
	strbuf_release(&tmpl);
	strbuf_release(&script);
	strbuf_release(&r.directives);
	strbuf_release(&r.environment);
	strbuf_release(&r.prologue);
	strbuf_release(&r.launch);
	strbuf_release(&r.epilogue);
	return rc;
}
