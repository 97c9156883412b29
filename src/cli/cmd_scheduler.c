/*
 * The scheduler as a local daemon (scheduler.location: local): the same
 * run ladder rank 0 of a head job climbs (server/run.h), without MPI.
 * `cluster start` spawns `cluster ... start --serve` detached, with
 * stdin from /dev/null and stdout and stderr on the state directory's
 * scheduler.log; this is what that hidden option runs.  The daemon ends
 * on SIGTERM (`cluster stop`), taking its pool's jobs with it.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/scheduler.h"
#include "cluster/client.h"
#include "server/run.h"
#include "state/state.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strbuf.h"

int cli_scheduler_serve(struct cli_globals *g)
{
	struct strbuf dir = STRBUF_INIT;
	struct err err = { "" };
	char config_abs[PATH_MAX];
	const char *config_file;
	struct config *cfg;
	struct run *run = NULL;
	int rc = 1;

	log_setup("cluster-scheduler", g->verbose);
	cfg = cli_load_config(g);
	if (!cfg)
		return 2;
	if (state_dir(g->name, 1, &dir, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.text);
		goto out;
	}
	/* the pool's workers read the same file, wherever they start */
	config_file = g->config_file ? g->config_file : getenv("CLUSTER_CONFIG");
	if (config_file && *config_file && realpath(config_file, config_abs))
		config_file = config_abs;
	else
		config_file = NULL;
	/* a daemon is no batch job's, even when started from one */
	unsetenv("CLUSTER_JOB_ID");
	struct run_opts ro = {
		.name = g->name,
		.config_file = config_file,
		.sets = g->sets.items,
		.task_cores = 1,
		.retries = -1,
		.t_start = clock_monotonic(),
	};
	run = run_create(&ro);
	if (!run) {
		log_msg(LOG_ERR, "out of memory");
		goto out;
	}
	rc = run_start(run, cfg, dir.buf);
	config_destroy(cfg);
	cfg = NULL;
	if (rc == 0) {
		log_msg(LOG_INFO, "scheduler of '%s' serving (pid %ld)", g->name,
			(long)getpid());
		rc = run_loop(run);
	}
	log_msg(LOG_INFO, "scheduler of '%s' ends", g->name);
out:
	run_destroy(run);
	config_destroy(cfg);
	strbuf_release(&dir);
	return rc;
}

/* --- for start and stop ------------------------------------------------------ */

int cli_scheduler_answers(const char *name)
{
	char errbuf[256];
	struct cluster_counters cnt;
	cluster_client_t *c = cluster_client_open(name, errbuf, sizeof(errbuf));
	int ok;

	if (!c)
		return 0;
	cluster_client_set_timeout(c, 5);
	ok = cluster_counters(c, &cnt) == 0;
	cluster_client_close(c);
	return ok;
}

int cli_scheduler_here(const struct state_address *a)
{
	char me[256];

	if (gethostname(me, sizeof(me)) < 0)
		return 0;
	me[sizeof(me) - 1] = '\0';
	return a->pid > 0 && !strcmp(a->node[0] ? a->node : a->host, me) &&
		kill((pid_t)a->pid, 0) == 0;
}

int cli_scheduler_running(const char *dir, const char *name,
			  struct state_address *a)
{
	memset(a, 0, sizeof(*a));
	if (state_address_read(dir, a, NULL) < 0) {
		memset(a, 0, sizeof(*a));
		return 0;
	}
	if (state_address_stale(a))
		return 0;
	return cli_scheduler_here(a) || cli_scheduler_answers(name);
}

void cli_scheduler_where(const struct state_address *a, struct strbuf *out)
{
	strbuf_addf(out, "%s:%u (pid %ld", a->host, (unsigned)a->port, a->pid);
	if (a->node[0])
		strbuf_addf(out, " on %s", a->node);
	strbuf_addch(out, ')');
}

int cli_batch_run(const struct backend *b, struct backend_argv *argv,
		  struct backend_result *res, struct err *err)
{
	struct backend_run_opts opts = {
		.env = b->command_env,
		.timeout_ms = 60000,
	};

	memset(res, 0, sizeof(*res));
	if (backend_run_sync(argv->v, &opts, res, err) < 0)
		return -1;
	if (res->exited && res->status == 0)
		return 0;
	const char *s = res->err.len ? res->err.buf : res->out.len ?
		res->out.buf : "";
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	if (res->timed_out)
		errprintf(err, "'%s' timed out", argv->v[0]);
	else if (n)
		errprintf(err, "%.*s", (int)n, s);
	else
		errprintf(err, "'%s' %s %d", argv->v[0], res->signal ?
			  "was killed by signal" : "exited with status",
			  res->signal ? res->signal : res->status);
	return -1;
}
