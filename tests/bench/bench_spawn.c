/*
 * bench_spawn: command tasks through exec against a bare posix_spawn +
 * waitpid loop, both running N `/bin/true` with the same parallelism, in
 * the same run.  Prints both rates and their ratio (exec / bare).
 *
 *	bench_spawn [N [PARALLEL [ROUNDS]]]	(default 2000 2 3)
 *	bench_spawn --bare N PARALLEL		(one bare round only)
 *	bench_spawn --bare-file N PARALLEL DIR	(one bare round, each task's
 *						 stdout and stderr to a new
 *						 file DIR/ID.out)
 *
 * BENCH_SPAWN_COMMAND, words split at spaces, runs instead of /bin/true
 * (say "/usr/bin/head -c 1024 /dev/zero" for tasks that write 1 KiB).
 *
 * exec runs twice a round: with its output discarded, and as a worker runs
 * it by default, its stdout and stderr piped into a worker log (in a new
 * directory under TMPDIR, /tmp without it, removed at the end).
 *
 * Rounds alternate bare and exec so drift in the machine's load hits both;
 * the best round of each is compared.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "worker/exec.h"

extern char **environ;

static char *default_argv[] = { (char *)"/bin/true", NULL };
static char **true_argv = default_argv;

/* BENCH_SPAWN_COMMAND's words; /bin/true without it. */
static void command_from_env(void)
{
	const char *cmd = getenv("BENCH_SPAWN_COMMAND");
	static char *words[64];
	unsigned n = 0;

	if (!cmd || !*cmd)
		return;
	char *copy = strdup(cmd);
	for (char *w = strtok(copy, " "); w && n < 63; w = strtok(NULL, " "))
		words[n++] = w;
	words[n] = NULL;
	if (n)
		true_argv = words;
}

/* CPU seconds this process has used, user and system: what the spawning
 * side costs, which load on the machine sways far less than wall time. */
static double cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* CPU µs a task of the last round measured. */
static double last_cpu_us;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Tasks per second with nothing but posix_spawn and waitpid.  With a
 * log directory, each task's stdout and stderr go to new files DIR/ID.out
 * and DIR/ID.err (task.output: files), or with `one` both to one new
 * file DIR/ID.out. */
static double bare(unsigned n, unsigned par, const char *logdir, int one)
{
	unsigned started = 0, ended = 0;
	double t0 = now(), c0 = cpu();

	while (ended < n) {
		while (started < n && started - ended < par) {
			pid_t pid;
			posix_spawn_file_actions_t fa, *fap = NULL;
			char out[4096], errp[4096];
			if (logdir) {
				snprintf(out, sizeof(out), "%s/%u.out", logdir, started + 1);
				snprintf(errp, sizeof(errp), "%s/%u.err", logdir, started + 1);
				posix_spawn_file_actions_init(&fa);
				posix_spawn_file_actions_addopen(&fa, 1, out,
					O_WRONLY | O_CREAT | O_TRUNC, 0644);
				if (one)
					posix_spawn_file_actions_adddup2(&fa, 1, 2);
				else
					posix_spawn_file_actions_addopen(&fa, 2, errp,
						O_WRONLY | O_CREAT | O_TRUNC, 0644);
				fap = &fa;
			}
			int rc = posix_spawn(&pid, true_argv[0], fap, NULL,
					     true_argv, environ);
			if (fap)
				posix_spawn_file_actions_destroy(fap);
			if (rc) {
				fprintf(stderr, "bench_spawn: cannot spawn '%s': %s\n",
					true_argv[0], strerror(rc));
				exit(1);
			}
			started++;
		}
		int st;
		pid_t r = waitpid(-1, &st, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perror("bench_spawn: waitpid");
			exit(1);
		}
		ended++;
	}
	double rate = n / (now() - t0);
	last_cpu_us = (cpu() - c0) * 1e6 / n;
	return rate;
}

struct run {
	struct exec *ex;
	unsigned n, started, ended, failed;
	const char *log_dir;
};

static void start_next(struct run *r)
{
	struct exec_task t = { .id = r->started + 1, .argv = true_argv,
			       .log_dir = r->log_dir, .attempt = 1 };
	struct err err;

	if (exec_start(r->ex, &t, &err) < 0) {
		fprintf(stderr, "bench_spawn: %s\n", err.text);
		exit(1);
	}
	r->started++;
}

static void on_done(void *arg, task_id_t id, const struct task_result *res)
{
	struct run *r = arg;

	(void)id;
	r->ended++;
	if (res->exit_code || res->signal)
		r->failed++;
	if (r->started < r->n)
		start_next(r);
}

/* Tasks per second through exec: the loop runs, callbacks start more.
 * With `log_dir`, output goes to the worker log there. */
static double through_exec(unsigned n, unsigned par, const char *log_dir)
{
	struct event_base *base = event_base_new();
	struct run r = { .n = n, .log_dir = log_dir };
	double t0, rate;

	r.ex = exec_create(base, "bench", on_done, &r);
	if (!r.ex) {
		perror("bench_spawn: exec_create");
		exit(1);
	}
	t0 = now();
	double c0 = cpu();
	while (r.started < n && r.started < par)
		start_next(&r);
	while (r.ended < n)
		event_base_loop(base, EVLOOP_ONCE);
	rate = n / (now() - t0);
	last_cpu_us = (cpu() - c0) * 1e6 / n;
	if (r.failed) {
		fprintf(stderr, "bench_spawn: %u tasks failed\n", r.failed);
		exit(1);
	}
	exec_destroy(r.ex);
	event_base_free(base);
	return rate;
}

/* The worker log's files, then its directory. */
static void remove_log_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[8192];

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	command_from_env();
	if (argc == 4 && !strcmp(argv[1], "--bare")) {
		/* The bare loop alone, one round, for a caller that
		 * interleaves it with other systems itself. */
		unsigned bn = (unsigned)atoi(argv[2]);
		unsigned bp = (unsigned)atoi(argv[3]);
		if (!bn || !bp) {
			fprintf(stderr, "usage: bench_spawn --bare N PARALLEL\n");
			return 2;
		}
		printf("spawn: %u x %s, parallel %u: bare posix_spawn "
		       "%.1f tasks/s\n", bn, true_argv[0], bp,
		       bare(bn, bp, NULL, 0));
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "--bare-file")) {
		/* The same, a new file per task for its output: what the
		 * output a task writes costs without a worker log. */
		unsigned bn = (unsigned)atoi(argv[2]);
		unsigned bp = (unsigned)atoi(argv[3]);
		if (!bn || !bp) {
			fprintf(stderr, "usage: bench_spawn --bare-file N PARALLEL DIR\n");
			return 2;
		}
		printf("spawn: %u x %s, parallel %u: bare posix_spawn, a file "
		       "per task, %.1f tasks/s\n", bn, true_argv[0], bp,
		       bare(bn, bp, argv[4], 1));
		return 0;
	}
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;
	unsigned par = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
	unsigned rounds = argc > 3 ? (unsigned)atoi(argv[3]) : 3;
	const char *logdir = argc > 4 ? argv[4] : NULL;
	double best_bare = 0, best_exec = 0;

	if (!n || !par || !rounds) {
		fprintf(stderr, "usage: bench_spawn [N [PARALLEL [ROUNDS [LOGDIR]]]]\n");
		return 2;
	}
	if (logdir) {
		/* Only the bare loop with per-task files, in a new directory
		 * per round as a fresh run of tasks has it. */
		double best = 0;
		for (unsigned i = 0; i < rounds; i++) {
			char dir[4096];
			snprintf(dir, sizeof(dir), "%s/round%u", logdir, i + 1);
			if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
				perror("bench_spawn: mkdir");
				return 1;
			}
			double b = bare(n, par, dir, 0);
			printf("round %u: bare with log files %.0f tasks/s\n", i + 1, b);
			if (b > best)
				best = b;
		}
		printf("spawn: %u x /bin/true, parallel %u: bare posix_spawn with "
		       "per-task log files %.0f tasks/s\n", n, par, best);
		return 0;
	}
	const char *tmpdir = getenv("TMPDIR");
	char logdir_buf[4096];
	snprintf(logdir_buf, sizeof(logdir_buf), "%s/bench-spawn.XXXXXX",
		 tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(logdir_buf)) {
		perror("bench_spawn: mkdtemp");
		return 1;
	}
	double best_log = 0, cb = 1e9, ce = 1e9, cl = 1e9;
	for (unsigned i = 0; i < rounds; i++) {
		double b = bare(n, par, NULL, 0);
		cb = last_cpu_us < cb ? last_cpu_us : cb;
		double e = through_exec(n, par, NULL);
		ce = last_cpu_us < ce ? last_cpu_us : ce;
		double l = through_exec(n, par, logdir_buf);
		cl = last_cpu_us < cl ? last_cpu_us : cl;
		printf("round %u: bare %.0f tasks/s, exec %.0f tasks/s, exec into "
		       "the worker log %.0f tasks/s\n", i + 1, b, e, l);
		if (b > best_bare)
			best_bare = b;
		if (e > best_exec)
			best_exec = e;
		if (l > best_log)
			best_log = l;
	}
	remove_log_dir(logdir_buf);
	printf("spawn: %u x %s, parallel %u: bare posix_spawn %.0f tasks/s, "
	       "exec %.0f tasks/s, ratio %.3f (target >= 0.9); exec into the "
	       "worker log %.0f tasks/s, ratio %.3f (target >= 0.9)\n",
	       n, true_argv[0], par, best_bare, best_exec,
	       best_exec / best_bare, best_log, best_log / best_bare);
	printf("spawn: CPU of the spawning process a task (least of the rounds): "
	       "bare %.1f us, exec %.1f us, exec into the worker log %.1f us\n",
	       cb, ce, cl);
	return 0;
}
