/*
 * What `cluster start` and `cluster stop` share (cmd_scheduler.c): the
 * local daemon's entry, whether a cluster's scheduler runs and where,
 * and one batch command run to its end.
 */
#ifndef CLUSTER_CLI_SCHEDULER_H
#define CLUSTER_CLI_SCHEDULER_H

#include <stdio.h>

#include "backend/backend.h"
#include "backend/run.h"
#include "cli/cli.h"
#include "state/state.h"

/* `cluster start --serve`: the scheduler in this process until SIGTERM. */
int cli_scheduler_serve(struct cli_globals *g);

/* The scheduler of cluster `name` answers its HTTP API. */
int cli_scheduler_answers(const char *name);

/* 1 when dir's address file names a scheduler that runs (its pid is
 * alive on this host, or it answers), with *a filled; 0 when there is no
 * address file or it is stale (*a still filled when there is one: a->port
 * is 0 when there is none). */
int cli_scheduler_running(const char *dir, const char *name,
			  struct state_address *a);

/* "HOST:PORT (pid P on NODE)" */
void cli_scheduler_where(const struct state_address *a, struct strbuf *out);

/* Whether a's pid runs on this host. */
int cli_scheduler_here(const struct state_address *a);

/* Run a batch command of `b` to its end (60 s at most): 0 when it exited
 * 0, else -1 with err holding what it said.  *res is filled either way
 * when it started; release it. */
int cli_batch_run(const struct backend *b, struct backend_argv *argv,
		  struct backend_result *res, struct err *err);

#endif
