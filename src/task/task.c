/*
 * task: the names of task states, the array range syntax and the output
 * path rule (with the names earlier attempts keep), shared by the API,
 * the CLI and the scheduler, so each is spelled one way.
 */
#include "task/task.h"

#include "util/idset.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const state_names[TASK_NSTATES] = {
	"waiting", "queued", "running", "done", "failed", "cancelled",
};

const char *task_state_name(enum task_state st)
{
	if ((unsigned)st >= TASK_NSTATES)
		return "unknown";
	return state_names[st];
}

int task_state_parse(const char *s, enum task_state *st)
{
	for (int i = 0; i < TASK_NSTATES; i++) {
		if (!strcmp(s, state_names[i])) {
			*st = (enum task_state)i;
			return 0;
		}
	}
	return -1;
}

const char *const task_output_names[] = {
	"worker-log", "files", "discard", NULL,
};

enum task_output task_output_parse(const char *name)
{
	for (int i = 0; name && task_output_names[i]; i++)
		if (!strcmp(name, task_output_names[i]))
			return (enum task_output)i;
	return TASK_OUTPUT_WORKER_LOG;
}

int task_range_parse(const char *text, int64_t *first, int64_t *last)
{
	return idset_parse_signed(text, first, last, NULL);
}

void task_output_path(struct strbuf *sb, const char *log_dir, task_id_t id,
		      int has_index, int64_t index, enum task_stream stream,
		      const struct task_spec *spec)
{
	const char *p = stream == TASK_STDERR ? spec->stderr_path :
		spec->stdout_path;

	if (!p) {
		if (log_dir)
			strbuf_addf(sb, "%s/%" PRIu64 ".%s", log_dir, id,
				    stream == TASK_STDERR ? "err" : "out");
		return;
	}
	if (!has_index) {
		strbuf_addstr(sb, p);
		return;
	}
	for (const char *q; (q = strstr(p, "{}")); p = q + 2) {
		strbuf_add(sb, p, (size_t)(q - p));
		strbuf_addf(sb, "%" PRId64, index);
	}
	strbuf_addstr(sb, p);
}

void task_attempt_path(struct strbuf *sb, const char *path, unsigned attempt)
{
	const char *base = strrchr(path, '/');
	const char *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		dot = base + strlen(base);
	strbuf_add(sb, path, (size_t)(dot - path));
	strbuf_addf(sb, ".attempt-%u%s", attempt, dot);
}

int task_output_keep(const char *path, const char *cwd, unsigned attempt)
{
	struct strbuf full = STRBUF_INIT, kept = STRBUF_INIT;
	struct stat st;
	int rc = 0;

	if (!path || !*path || !attempt)
		return 0;
	if (path[0] != '/' && cwd && *cwd)
		strbuf_addf(&full, "%s/", cwd);
	strbuf_addstr(&full, path);
	/* Nothing written (a run sent but never started writes nothing):
	 * nothing to keep, and a kept file of that attempt stays. */
	if (stat(full.buf, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		task_attempt_path(&kept, full.buf, attempt);
		rc = rename(full.buf, kept.buf);
	}
	strbuf_release(&full);
	strbuf_release(&kept);
	return rc;
}

void task_substitute_index(struct strbuf *sb, const char *arg,
			   const char *index)
{
	const char *p;

	while ((p = strstr(arg, "{}"))) {
		strbuf_add(sb, arg, (size_t)(p - arg));
		strbuf_addstr(sb, index);
		arg = p + 2;
	}
	strbuf_addstr(sb, arg);
}
