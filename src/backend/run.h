/*
 * Running the batch commands a backend builds (sbatch, squeue, qstat,
 * qdel, ...) on a libevent loop, or blocking for the command line.
 *
 * argv only, never a shell: nothing in a job name or a path is ever read
 * as shell code.  The command gets stdin from /dev/null, no descriptor of
 * ours but its stdout and stderr (both captured), this process's
 * environment plus the additions asked for, and a process group of its
 * own.  A batch command can hang (a busy controller), so every run may
 * have a timeout: the group then gets SIGTERM, and SIGKILL after a grace
 * period.  Whatever the command leaves running in its group is killed
 * when it exits.  Output beyond BACKEND_RUN_OUTPUT_MAX per stream is read
 * and dropped, and the result says so.
 */
#ifndef CLUSTER_BACKEND_RUN_H
#define CLUSTER_BACKEND_RUN_H

#include "util/err.h"
#include "util/strbuf.h"

struct event_base;

#define BACKEND_RUN_OUTPUT_MAX (4u << 20)	/* bytes kept per stream */
#define BACKEND_RUN_GRACE_MS 1000		/* SIGTERM to SIGKILL */

struct backend_run_opts {
	const char *const *env;		/* NAME=value set on top of this
					   process's environment, or NULL */
	unsigned timeout_ms;		/* 0: none */
	unsigned grace_ms;		/* 0: BACKEND_RUN_GRACE_MS */
};

struct backend_result {
	int exited;			/* exited by itself: see status */
	int status;			/* its exit status */
	int signal;			/* killed by this signal, else 0 */
	int timed_out;			/* ran past the timeout and was killed */
	struct strbuf out, err;		/* what it printed, at most
					   BACKEND_RUN_OUTPUT_MAX each */
	int out_truncated, err_truncated;	/* more was printed, and dropped */
};

void backend_result_release(struct backend_result *r);

struct backend_run;

/* Called once when the command has ended and its output is read.  *r is
 * the runner's, valid during the call: strbuf_detach what you keep.  The
 * run is freed when the callback returns; do not cancel it from there. */
typedef void (*backend_run_fn)(struct backend_result *r, void *arg);

/* Start argv[0] (looked up in PATH) with argv; opts may be NULL.  NULL
 * with err when it cannot be started (no such command, out of
 * descriptors): then nothing ran and `done` is never called. */
struct backend_run *backend_run_start(struct event_base *base,
				      char *const argv[],
				      const struct backend_run_opts *opts,
				      backend_run_fn done, void *arg,
				      struct err *err);

/* Kill the command's group, collect it and free the run; `done` is not
 * called.  For a run whose callback has not come yet. */
void backend_run_cancel(struct backend_run *run);

/* The same, blocking on a loop of its own: 0 with *result filled (the
 * caller releases it), or -1 with err when the command cannot start. */
int backend_run_sync(char *const argv[], const struct backend_run_opts *opts,
		     struct backend_result *result, struct err *err);

#endif
