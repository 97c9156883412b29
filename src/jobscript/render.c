/*
 * Job scripts: a template from jobscripts/ with its placeholders filled
 * from the profile.  Every value that comes from configuration or the
 * environment is checked or quoted here, even where config validation
 * already vouches for it, because a job script runs with the user's full
 * rights on every node of the job.
 */
#include "jobscript/jobscript.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend/backend.h"
#include "jobscript/launch.h"
#include "util/units.h"

struct render {
	const struct config *cfg;
	const struct job_script_opts *opts;
	const struct backend *backend;
	struct job_launch launcher;
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

/* job.priority against the site's list, when the profile gives one: a
 * priority the server does not know fails the job at qsub. */
static int check_priority(const struct config *cfg, const char *priority,
			  struct err *err)
{
	char *const *known = config_get_list(cfg, "job.priorities");
	struct strbuf sb = STRBUF_INIT;

	if (!priority || !*known)
		return 0;
	for (char *const *k = known; *k; k++)
		if (!strcmp(*k, priority))
			return 0;
	for (char *const *k = known; *k; k++)
		strbuf_addf(&sb, "%s%s", k == known ? "" : ", ", *k);
	errprintf(err, "job.priority = '%s' is not one of %s (job.priorities of "
		  "profile %s)", priority, sb.buf, config_profile_name(cfg));
	strbuf_release(&sb);
	return -1;
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

static int build_directives(struct render *r, struct err *err)
{
	const char *name = config_get_str(r->cfg, "job.name");
	const char *queue = config_get_str(r->cfg, "job.queue");
	const char *priority = config_get_str(r->cfg, "job.priority");
	const char *gpu_type = config_get_str(r->cfg, "job.gpu-type");
	/* The loader has put the backend's account variable here when the
	 * profiles leave job.account unset. */
	const char *account = config_get_str(r->cfg, "job.account");
	const char *logdir = NULL;
	const struct backend *b = r->backend;
	int rc = -1;

	if (!b->directives)
		return 0;	/* local jobs have no batch system to talk to */
	if (!name)
		name = "cluster";
	if (check_word("job.name", name, err) < 0 ||
	    (b->check_name && b->check_name(name, err) < 0) ||
	    (queue && check_word("job.queue", queue, err) < 0) ||
	    (account && check_word("job.account", account, err) < 0) ||
	    log_directory(r, &logdir, err) < 0 ||
	    (priority && check_word("job.priority", priority, err) < 0) ||
	    check_priority(r->cfg, priority, err) < 0 ||
	    (gpu_type && check_word("job.gpu-type", gpu_type, err) < 0))
		goto out;
	if (gpu_type && !r->size.gpus) {
		errprintf(err, "job.gpu-type = '%s' names a GPU model but job.gpus "
			  "is 0; set job.gpus too", gpu_type);
		goto out;
	}

	struct backend_job job = {
		.name = name,
		.queue = queue,
		.account = account,
		.priority = priority,
		.log_dir = logdir,
		.walltime = r->size.walltime,
		.nodes = r->size.nodes,
		.cores = r->size.cores,
		.processes = r->size.processes,
		.threads = r->size.threads,
		.gpus = r->size.gpus,
		.gpu_type = gpu_type,
		.memory = r->size.memory,
		.head = r->launcher.sched_slot,
		.skip = r->skip,
	};
	b->directives(b, &job, &r->directives);

	/* job.extra is the profile's own directives: never skipped. */
	char *const *extra = config_get_list(r->cfg, "job.extra");
	for (; extra && *extra; extra++) {
		if (config_has_control(*extra)) {
			errprintf(err, "job.extra item '%s' contains a control "
				  "character; write one directive per item", *extra);
			goto out;
		}
		strbuf_addf(&r->directives, "%s%s\n", b->prefix, *extra);
	}
	rc = 0;
out:
	return rc;
}

/* The sizes in bytes, so that a reader sees what "25GB" or "4G" came to
 * and what each worker may use; a comment, so nothing runs it. */
static void build_memory_note(struct render *r)
{
	const struct job_size *js = &r->size;
	struct strbuf *sb = &r->environment;

	if (!js->memory)
		return;
	strbuf_addf(sb, "# memory: %llu bytes a node (",
		    (unsigned long long)js->memory);
	size_format(sb, js->memory);
	if (r->backend->memory_request) {
		struct backend_job job = {
			.nodes = js->nodes,
			.memory = js->memory,
		};
		strbuf_addstr(sb, "; asked as ");
		r->backend->memory_request(&job, sb);
	}
	strbuf_addf(sb, "), each worker's limit %llu bytes (",
		    (unsigned long long)js->worker_memory);
	size_format(sb, js->worker_memory);
	strbuf_addstr(sb, ")\n");
}

static void build_environment(struct render *r)
{
	const char *home = getenv("CLUSTER_HOME");

	build_memory_note(r);

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
		strbuf_addf(path, "%s/%s.sh", r->opts->templates_dir,
			    r->backend->name);
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

/* mkdir -p, 0700 for what it makes; a directory that is there is left
 * as it is. */
static int make_log_directory(const char *dir, struct err *err)
{
	struct strbuf path = STRBUF_INIT;
	struct stat st;
	int rc = -1;

	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	strbuf_addstr(&path, dir);
	for (char *p = path.buf + 1;; p++) {
		char c = *p;
		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(path.buf, 0700) < 0 && errno != EEXIST) {
			errprintf(err, "cannot create job.log-directory '%s': %s",
				  path.buf, strerror(errno));
			goto out;
		}
		*p = c;
		if (!c)
			break;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		errprintf(err, "job.log-directory '%s' is not a directory", dir);
		goto out;
	}
	rc = 0;
out:
	strbuf_release(&path);
	return rc;
}

int job_script_render(const struct config *cfg,
		      const struct job_script_opts *opts,
		      struct strbuf *out, struct err *err)
{
	struct render r;
	const char *backend;
	struct strbuf path = STRBUF_INIT, tmpl = STRBUF_INIT,
		      script = STRBUF_INIT;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.opts = opts;
	backend = config_get_str(cfg, "backend");
	r.backend = backend ? backend_find(backend) : &backend_local;
	if (!r.backend) {
		struct strbuf names = STRBUF_INIT;
		for (const char *const *n = backend_names; *n; n++)
			strbuf_addf(&names, "%s%s", n == backend_names ? "" : ", ",
				    *n);
		errprintf(err, "backend = '%s' is not one of %s", backend,
			  names.buf);
		strbuf_release(&names);
		return -1;
	}
	r.skip = config_get_list(cfg, "job.skip");
	strbuf_init(&r.directives, 0);
	strbuf_init(&r.environment, 0);
	strbuf_init(&r.prologue, 0);
	strbuf_init(&r.launch, 0);
	strbuf_init(&r.epilogue, 0);

	if (job_size_from_config(cfg, &r.size, err) < 0)
		goto out;
	r.launcher.cfg = cfg;
	r.launcher.opts = opts;
	r.launcher.backend = r.backend;
	r.launcher.size = &r.size;
	if (job_launch_choose(&r.launcher, err) < 0 ||
	    build_directives(&r, err) < 0 ||
	    job_launch_build(&r.launcher, &r.launch, err) < 0)
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
	if (opts->create_log_directory && r.backend->is_batch &&
	    config_get_str(cfg, "job.log-directory") &&
	    make_log_directory(config_get_str(cfg, "job.log-directory"), err) < 0)
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
