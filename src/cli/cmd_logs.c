/*
 * cluster logs: print a task's stdout (or stderr), or follow it while the
 * task runs.  The API serves the whole file, so following asks again
 * every half second and prints what was not printed yet.  When no
 * scheduler answers (a batch job has ended), the output is read from the
 * state directory, where the scheduler that ran the task had it written:
 * the task's own files (task.output: files), else the worker logs
 * (state/worklog.h).  Earlier runs of the same name keep theirs in
 * logs.N/ (task ids start at 1 in every run): --run N reads there, and
 * a task found in none of logs/ is looked for there, to say which.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cluster/client.h"
#include "state/state.h"
#include "state/worklog.h"
#include "task/task.h"
#include "util/units.h"
#include "util/vec.h"

struct logs_args {
	int stderr_stream;
	int follow;
	uint64_t run;
};

static const struct opt logs_options[] = {
	OPT_FLAG("stderr", 0, "print its standard error instead",
		 struct logs_args, stderr_stream),
	OPT_FLAG("follow", 'f', "keep printing while the task runs, until it ends",
		 struct logs_args, follow),
	OPT_COUNT("run", 0, "N", "read what earlier run N kept in logs.N/ of the state directory",
		  struct logs_args, run, 1, UINT32_MAX),
	OPT_END,
};

static const struct opt_arg logs_args_help[] = {
	{ "ID", "the task" },
	{ NULL, NULL },
};

static int cmd_logs(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_logs_entry = {
	.name = "logs",
	.exec = cmd_logs,
	.usage = "ID",
	.summary = "print the output of a task, or follow it while it runs",
	.args = logs_args_help,
	.options = logs_options,
	.opts_size = sizeof(struct logs_args),
};

#define FOLLOW_INTERVAL_NS 500000000L

/* What logs needs of a task, copied out of the client's answer. */
struct task_view {
	int state;
	unsigned attempts;
	int exit_code, signal, has_result;
	char reason[256];
};

static int task_view(cluster_client_t *c, uint64_t id, struct task_view *v)
{
	const struct cluster_task *t = cluster_task_get(c, id);

	if (!t)
		return -1;
	v->state = (int)t->state;
	v->attempts = t->attempts;
	v->has_result = t->has_result;
	v->exit_code = t->exit_code;
	v->signal = t->signal;
	snprintf(v->reason, sizeof(v->reason), "%s", t->reason ? t->reason : "");
	return 0;
}

static int ended(int state)
{
	return state == CLUSTER_TASK_DONE || state == CLUSTER_TASK_FAILED ||
		state == CLUSTER_TASK_CANCELLED;
}

/* "task 4 has not run: it is waiting for task 3" or "... it was
 * cancelled (dependency 3 failed)"; returns 1. */
static int never_ran(uint64_t id, const struct task_view *v)
{
	if (!strncmp(v->reason, "waiting for ", 12)) {
		fprintf(stderr, "cluster: task %" PRIu64 " has not run: it is %s\n",
			id, v->reason);
		return 1;
	}
	fprintf(stderr, "cluster: task %" PRIu64 " has not run: it %s %s%s%s%s\n",
		id, ended(v->state) ? "was" : "is",
		cluster_task_state_name(v->state), v->reason[0] ? " (" : "",
		v->reason, v->reason[0] ? ")" : "");
	return 1;
}

/* The log of a task that has run.  A task that has not is asked first:
 * a file of its name may be left from an earlier scheduler's task. */
static int print_log(cluster_client_t *c, uint64_t id, int stream)
{
	struct task_view v;
	char *text;
	size_t len;

	if (task_view(c, id, &v) < 0) {
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		return 1;
	}
	if (v.attempts == 0)
		return never_ran(id, &v);
	text = cluster_log(c, id, stream, &len);
	if (!text) {
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		return 1;
	}
	fwrite(text, 1, len, stdout);
	free(text);
	return 0;
}

static void pause_a_moment(void)
{
	struct timespec ts = { 0, FOLLOW_INTERVAL_NS };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Print the log as it grows until the task has ended: the task first,
 * then its log, so the log read after the end is the whole of it. */
static int follow(cluster_client_t *c, uint64_t id, int stream)
{
	struct task_view v;
	size_t printed = 0;

	for (;;) {
		char *text;
		size_t len;

		if (task_view(c, id, &v) < 0) {
			fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
			return 1;
		}
		if (v.attempts == 0) {
			if (ended(v.state))
				return never_ran(id, &v);
			pause_a_moment();
			continue;
		}
		text = cluster_log(c, id, stream, &len);
		if (!text && !(cluster_client_status(c) == 404 && !ended(v.state))) {
			fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
			return 1;
		}
		if (text) {
			/* Shorter than what was printed: a new run began. */
			if (len < printed)
				printed = 0;
			fwrite(text + printed, 1, len - printed, stdout);
			fflush(stdout);
			printed = len;
			free(text);
		}
		if (ended(v.state))
			break;
		pause_a_moment();
	}
	if (v.state == CLUSTER_TASK_DONE)
		return 0;
	fprintf(stderr, "cluster: task %" PRIu64 " %s%s%s%s\n", id,
		cluster_task_state_name(v.state), v.reason[0] ? " (" : "",
		v.reason, v.reason[0] ? ")" : "");
	return 1;
}

/* --- no scheduler answers: the state directory ---------------------------- */

/* The newest of the task's files under logs/ (the default path of the
 * output rule) and logs/RUN/ (a folder per scheduler run), so a state
 * directory that several runs wrote gives the last run's task. */
struct kept_log {
	struct strbuf path;
	struct timespec mtime;
	unsigned runs;			/* folders with a file for the task */
};

static void consider(struct kept_log *k, const char *log_dir, uint64_t id,
		     int stream)
{
	static const struct task_spec no_paths;
	struct strbuf p = STRBUF_INIT;
	struct stat st;

	task_output_path(&p, log_dir, id, 0, 0,
			 stream ? TASK_STDERR : TASK_STDOUT, &no_paths);
	if (stat(p.buf, &st) == 0 && S_ISREG(st.st_mode)) {
		k->runs++;
		if (k->runs == 1 || st.st_mtim.tv_sec > k->mtime.tv_sec ||
		    (st.st_mtim.tv_sec == k->mtime.tv_sec &&
		     st.st_mtim.tv_nsec > k->mtime.tv_nsec)) {
			strbuf_reset(&k->path);
			strbuf_addstr(&k->path, p.buf);
			k->mtime = st.st_mtim;
		}
	}
	strbuf_release(&p);
}

static void find_kept_log(struct kept_log *k, const char *logs, uint64_t id,
			  int stream)
{
	DIR *d = opendir(logs);
	struct dirent *de;

	consider(k, logs, id, stream);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct strbuf run = STRBUF_INIT;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		strbuf_addf(&run, "%s/%s", logs, de->d_name);
		if (stat(run.buf, &st) == 0 && S_ISDIR(st.st_mode))
			consider(k, run.buf, id, stream);
		strbuf_release(&run);
	}
	closedir(d);
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

static int copy_file(const char *path)
{
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "cluster: cannot open '%s': %s\n", path,
			strerror(errno));
		return 1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	if (ferror(f)) {
		fprintf(stderr, "cluster: cannot read '%s': %s\n", path,
			strerror(errno));
		fclose(f);
		return 1;
	}
	fclose(f);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* The files earlier attempts of a retried task kept beside `path`. */
#define ATTEMPTS_LOOKED_AT 100
static void say_attempts(const char *path)
{
	struct strbuf list = STRBUF_INIT;

	for (unsigned n = 1; n <= ATTEMPTS_LOOKED_AT; n++) {
		struct strbuf p = STRBUF_INIT;
		int there;

		task_attempt_path(&p, path, n);
		/* An attempt that wrote nothing kept no file: look on. */
		there = access(p.buf, F_OK) == 0;
		if (there)
			strbuf_addf(&list, " %s", p.buf);
		strbuf_release(&p);
	}
	if (list.len)
		fprintf(stderr, "cluster: earlier attempts:%s\n", list.buf);
	strbuf_release(&list);
}

/* The task's latest run in the worker logs of logs/, else of the first
 * logs/RUN/ that has it.  Returns 1 when some worker log holds it, 0
 * when none does; *dirs counts the folders with worker logs at all. */
static int read_worker_log(const char *logs, uint64_t id, int stream,
			   struct strbuf *text, struct strbuf *where,
			   unsigned *attempt, unsigned *earlier, unsigned *dirs)
{
	enum task_stream s = stream ? TASK_STDERR : TASK_STDOUT;
	DIR *d;
	struct dirent *de;
	int rc = 0;

	*dirs = 0;
	if (worklog_read(logs, id, 0, s, text, attempt, earlier, NULL) > 0) {
		strbuf_addstr(where, logs);
		return 1;
	}
	d = opendir(logs);
	if (!d)
		return 0;
	while (!rc && (de = readdir(d))) {
		struct strbuf run = STRBUF_INIT;
		struct stat st;

		if (!strncmp(de->d_name, "worker-", 7))
			*dirs |= 1;
		if (de->d_name[0] == '.')
			continue;
		strbuf_addf(&run, "%s/%s", logs, de->d_name);
		if (stat(run.buf, &st) == 0 && S_ISDIR(st.st_mode) &&
		    worklog_read(run.buf, id, 0, s, text, attempt, earlier,
				 NULL) > 0) {
			strbuf_addstr(where, run.buf);
			rc = 1;
		}
		strbuf_release(&run);
	}
	closedir(d);
	return rc;
}

/* No file of the task's: its output in the worker logs, or nothing. */
static int print_worker_log(const char *lead, const char *logs, uint64_t id,
			    int stream, const struct cli_globals *g,
			    const char *why)
{
	const char *what = stream ? "stderr" : "stdout";
	struct strbuf text = STRBUF_INIT, where = STRBUF_INIT;
	unsigned attempt = 0, earlier = 0, dirs = 0;
	int rc = 0;

	if (read_worker_log(logs, id, stream, &text, &where, &attempt,
			    &earlier, &dirs)) {
		fprintf(stderr, "cluster: %s; reading the worker logs in %s "
			"(run %u of task %" PRIu64 ")\n", lead, where.buf,
			attempt, id);
		if (earlier)
			fprintf(stderr, "cluster: %u earlier runs wrote to %s too\n",
				earlier, what);
		fwrite(text.buf, 1, text.len, stdout);
		rc = fflush(stdout) == 0 ? 0 : 1;
	} else if (dirs) {
		/* A task that writes nothing leaves nothing. */
		fprintf(stderr, "cluster: %s; task %" PRIu64 " wrote no %s "
			"to the worker logs in %s (or never ran)\n", lead, id,
			what, logs);
	} else {
		fprintf(stderr, "cluster: %s, and task %" PRIu64 " has no %s "
			"in '%s' (a task given its own --%s wrote it there)\n",
			lead, id, what, logs, what);
		if (g->verbose && why)
			fprintf(stderr, "cluster: %s\n", why);
		rc = 1;
	}
	strbuf_release(&text);
	strbuf_release(&where);
	return rc;
}

/* Does `logs` (a run's folder) hold any output of task `id` on the
 * stream: a file of its, or chunks in a worker log? */
static int run_has(const char *logs, uint64_t id, int stream)
{
	struct kept_log k = { STRBUF_INIT, { 0, 0 }, 0 };
	struct strbuf text = STRBUF_INIT, where = STRBUF_INIT;
	unsigned attempt, earlier, dirs;
	int has;

	find_kept_log(&k, logs, id, stream);
	has = k.runs || read_worker_log(logs, id, stream, &text, &where,
					&attempt, &earlier, &dirs);
	strbuf_release(&k.path);
	strbuf_release(&text);
	strbuf_release(&where);
	return has;
}

/* The earlier runs N (logs.N/ in `dir`) that kept output of task `id`,
 * in order, as "1, 3"; empty when none did. */
static void runs_with(const char *dir, uint64_t id, int stream,
		      struct strbuf *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned *runs = NULL;
	size_t n = 0, alloc = 0;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		unsigned long r;
		if (strncmp(de->d_name, "logs.", 5) || !isdigit((unsigned char)de->d_name[5]))
			continue;
		r = strtoul(de->d_name + 5, &end, 10);
		if (*end || r == 0 || r > UINT32_MAX)
			continue;
		runs = vec_grow(runs, &alloc, n + 1, sizeof(*runs));
		runs[n++] = (unsigned)r;
	}
	closedir(d);
	if (n)
		qsort(runs, n, sizeof(*runs), cmp_unsigned);
	for (size_t i = 0; i < n; i++) {
		struct strbuf logs = STRBUF_INIT;
		strbuf_addf(&logs, "%s/logs.%u", dir, runs[i]);
		if (run_has(logs.buf, id, stream))
			strbuf_addf(out, "%s%u", out->len ? ", " : "", runs[i]);
		strbuf_release(&logs);
	}
	free(runs);
}

static const char *cluster_name(const struct cli_globals *g)
{
	const char *name = g->name && *g->name ? g->name : getenv("CLUSTER_NAME");

	return name && *name ? name : "default";
}

/* The scheduler that answers has no task `id`: an earlier run may. */
static void hint_earlier_runs(const struct cli_globals *g, uint64_t id,
			      int stream)
{
	struct strbuf dir = STRBUF_INIT, others = STRBUF_INIT;

	if (state_dir(cluster_name(g), 0, &dir, NULL) == 0)
		runs_with(dir.buf, id, stream, &others);
	if (others.len)
		fprintf(stderr, "cluster: earlier runs %s kept task %" PRIu64
			"'s %s: cluster logs --run N %" PRIu64 "\n",
			others.buf, id, stream ? "stderr" : "stdout", id);
	strbuf_release(&dir);
	strbuf_release(&others);
}

/* `why` is what the client said.  Only the default path is known here:
 * a task given its own --stdout or --stderr wrote where only the
 * scheduler that ran it knew.  `run` 0: the last run's logs/, else the
 * earlier run's logs.RUN/. */
static int print_kept_log(const struct cli_globals *g, uint64_t id, int stream,
			  const char *why, uint64_t run)
{
	const char *name = cluster_name(g);
	const char *what = stream ? "stderr" : "stdout";
	struct kept_log k = { STRBUF_INIT, { 0, 0 }, 0 };
	struct strbuf dir = STRBUF_INIT, logs = STRBUF_INIT, lead = STRBUF_INIT;
	struct strbuf others = STRBUF_INIT;
	struct err err = { "" };
	struct stat st;
	int rc = 1;

	if (state_dir(name, 0, &dir, &err) < 0) {
		fprintf(stderr, "cluster: %s\n", run ? err.text : why);
		goto out;
	}
	if (run) {
		strbuf_addf(&logs, "%s/logs.%" PRIu64, dir.buf, run);
		strbuf_addf(&lead, "run %" PRIu64 " of '%s'", run, name);
		if (stat(logs.buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
			runs_with(dir.buf, id, stream, &others);
			fprintf(stderr, "cluster: no run %" PRIu64 " of '%s': no "
				"folder '%s'%s%s%s\n", run, name, logs.buf,
				others.len ? " (runs that kept the task's: " : "",
				others.buf, others.len ? ")" : "");
			goto out;
		}
	} else {
		strbuf_addf(&logs, "%s/logs", dir.buf);
		strbuf_addf(&lead, "no scheduler answers for '%s'", name);
	}
	find_kept_log(&k, logs.buf, id, stream);
	if (!k.runs) {
		rc = print_worker_log(lead.buf, logs.buf, id, stream, g, why);
		/* nothing here: say which earlier runs have it */
		if (!run)
			hint_earlier_runs(g, id, stream);
		goto out;
	}
	if (k.runs > 1)
		fprintf(stderr, "cluster: %s; reading %s, the newest of %u runs "
			"with task %" PRIu64 "'s %s\n", lead.buf, k.path.buf,
			k.runs, id, what);
	else
		fprintf(stderr, "cluster: %s; reading %s\n", lead.buf, k.path.buf);
	say_attempts(k.path.buf);
	rc = copy_file(k.path.buf);
out:
	strbuf_release(&k.path);
	strbuf_release(&logs);
	strbuf_release(&dir);
	strbuf_release(&lead);
	strbuf_release(&others);
	return rc;
}

static int cmd_logs(int argc, char **argv, void *opts, struct cli_globals *g)
{
	const struct logs_args *a = opts;
	cluster_client_t *c;
	struct task_view v = { 0 };
	char errbuf[512];
	int stream = a->stderr_stream ? 1 : 0, rc;
	uint64_t id;

	if (argc != 1)
		return cli_usage_error(&cmd_logs_entry, "expected one task id");
	if (count_parse(argv[0], 1, UINT64_MAX, &id) < 0)
		return cli_usage_error(&cmd_logs_entry, "expected a task id, got '%s'",
				       argv[0]);
	/* An earlier run's tasks have ended, and no scheduler knows them. */
	if (a->run && a->follow)
		return cli_usage_error(&cmd_logs_entry, "--follow and --run: "
				       "the tasks of an earlier run have ended");
	if (a->run)
		return print_kept_log(g, id, stream, NULL, a->run);
	c = cluster_client_open(g->name, errbuf, sizeof(errbuf));
	if (!c)
		return print_kept_log(g, id, stream, errbuf, 0);
	/* Asking for the task tells whether anyone answers at that address. */
	if (task_view(c, id, &v) < 0 && cluster_client_status(c) == 0) {
		snprintf(errbuf, sizeof(errbuf), "%s", cluster_client_error(c));
		cluster_client_close(c);
		return print_kept_log(g, id, stream, errbuf, 0);
	}
	rc = a->follow ? follow(c, id, stream) : print_log(c, id, stream);
	if (rc && cluster_client_status(c) == 404 && !v.attempts)
		hint_earlier_runs(g, id, stream);
	cluster_client_close(c);
	return rc;
}
