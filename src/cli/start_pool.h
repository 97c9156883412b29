/*
 * `cluster start`'s checks of a local daemon's pool, and the helpers its
 * head job shares with them (start_pool.c).
 */
#ifndef CLUSTER_CLI_START_POOL_H
#define CLUSTER_CLI_START_POOL_H

#include <limits.h>
#include <sys/types.h>

#include "cli/scheduler.h"
#include "jobscript/jobscript.h"

/* The configuration file the scheduler and its jobs read, absolute, in
 * buf; NULL when there is none. */
const char *start_config_abs(const struct cli_globals *g, char buf[PATH_MAX]);

/* Render the job script of `role` into dir/name, its path in `path`; -1
 * having said why. */
int start_write_script(const struct cli_globals *g, const struct config *cfg,
		       const char *dir, enum job_role role, const char *name,
		       struct strbuf *path);

/* Submit `script` (a dry run when `dry_run`; `what` names it in errors);
 * 0 with the job's id in *ref (none for a dry run that leaves no job),
 * -1 having said why. */
int start_submit(const struct backend *b, const char *script, int dry_run,
		 const char *what, struct job_ref *ref);
/* Cancel the held job a dry run left (PBS). */
void start_cancel_held(const struct backend *b, const struct job_ref *ref);

/* Before a local daemon starts: what would keep its pool from starting
 * (the backend, pool.min-workers against pool.max-workers, live jobs of
 * another backend in the state directory, the worker job script, a dry
 * run of it on a batch system).  0, or -1 having said why. */
int start_pool_preflight(const struct cli_globals *g, const struct config *cfg,
			 const char *dir);

/* Once the daemon of cluster `name` answers: its pool runs, and its first
 * submission (when the target wants jobs at once) was not refused.  0,
 * or -1 having said why. */
int start_pool_started(const char *name);

/* SIGTERM to a daemon this process started, and wait for it. */
void start_stop_daemon(pid_t pid);

#endif
