/*
 * bench_spawn: command tasks through exec against a bare posix_spawn +
 * waitpid loop, both running N `/bin/true` with the same parallelism, in
 * the same run.  Prints both rates and their ratio (exec / bare).
 *
 *	bench_spawn [N [PARALLEL [ROUNDS]]]	(default 2000 2 3)
 *
 * Rounds alternate bare and exec so drift in the machine's load hits both;
 * the best round of each is compared.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "worker/exec.h"

extern char **environ;

static char *true_argv[] = { (char *)"/bin/true", NULL };

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Tasks per second with nothing but posix_spawn and waitpid. */
static double bare(unsigned n, unsigned par)
{
	unsigned started = 0, ended = 0;
	double t0 = now();

	while (ended < n) {
		while (started < n && started - ended < par) {
			pid_t pid;
			int rc = posix_spawn(&pid, true_argv[0], NULL, NULL,
					     true_argv, environ);
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
	return n / (now() - t0);
}

struct run {
	struct exec *ex;
	unsigned n, started, ended, failed;
};

static void start_next(struct run *r)
{
	struct exec_task t = { .id = r->started + 1, .argv = true_argv };
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

/* Tasks per second through exec: the loop runs, callbacks start more. */
static double through_exec(unsigned n, unsigned par)
{
	struct event_base *base = event_base_new();
	struct run r = { .n = n };
	double t0, rate;

	r.ex = exec_create(base, "bench", on_done, &r);
	if (!r.ex) {
		perror("bench_spawn: exec_create");
		exit(1);
	}
	t0 = now();
	while (r.started < n && r.started < par)
		start_next(&r);
	while (r.ended < n)
		event_base_loop(base, EVLOOP_ONCE);
	rate = n / (now() - t0);
	if (r.failed) {
		fprintf(stderr, "bench_spawn: %u tasks failed\n", r.failed);
		exit(1);
	}
	exec_destroy(r.ex);
	event_base_free(base);
	return rate;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;
	unsigned par = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
	unsigned rounds = argc > 3 ? (unsigned)atoi(argv[3]) : 3;
	double best_bare = 0, best_exec = 0;

	if (!n || !par || !rounds) {
		fprintf(stderr, "usage: bench_spawn [N [PARALLEL [ROUNDS]]]\n");
		return 2;
	}
	for (unsigned i = 0; i < rounds; i++) {
		double b = bare(n, par);
		double e = through_exec(n, par);
		printf("round %u: bare %.0f tasks/s, exec %.0f tasks/s\n",
		       i + 1, b, e);
		if (b > best_bare)
			best_bare = b;
		if (e > best_exec)
			best_exec = e;
	}
	printf("spawn: %u x /bin/true, parallel %u: bare posix_spawn %.0f tasks/s, "
	       "exec %.0f tasks/s, ratio %.3f (target >= 0.9)\n",
	       n, par, best_bare, best_exec, best_exec / best_bare);
	return 0;
}
