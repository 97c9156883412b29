/*
 * What the pool manager's files share (manager.c: the step, its timer,
 * workers and status; commands.c: batch commands; local.c: local jobs);
 * nothing outside src/pool/ includes this header.
 */
#ifndef CLUSTER_POOL_INTERNAL_H
#define CLUSTER_POOL_INTERNAL_H

#include "backend/run.h"
#include "pool/manager.h"

struct event;

enum cmd_kind { CMD_NONE, CMD_STATUS, CMD_SUBMIT, CMD_CANCEL, CMD_HISTORY };

struct member {				/* a connected worker of ours */
	worker_id_t w;
	char id[POOL_ID_LEN];
	int64_t index;
	double end;			/* its job's end, as it said; 0 */
	int counted;			/* its job knew it: joined counts it */
};

struct told {				/* a job as job_changed last told it */
	uint64_t seq;
	enum job_state state;
	char reason[POOL_TEXT_LEN];
};

struct local_kill {			/* local jobs we stopped at walltime */
	uint64_t seq;
	double at;
};

struct pool_manager {
	struct event_base *base;
	struct pool_manager_hooks hooks;
	struct pool_manager_config cfg;
	char *cluster, *state_dir, *script, *log_dir, *bin_dir;
	struct pool *pool;
	struct event *timer;
	struct pool_plan plan;

	struct backend_run *run;	/* the one command in flight */
	enum cmd_kind kind;
	uint64_t submit_seq;		/* CMD_SUBMIT: the first job's */
	unsigned submit_n;
	int submit_array;
	uint64_t *asked;		/* CMD_HISTORY */
	size_t nasked;

	double last_cmd;		/* when the last batch command began */
	double tokens;			/* rate-limit bucket */
	double next_poll;
	unsigned poll_failures;
	double last_poll;
	char poll_error[POOL_TEXT_LEN];
	unsigned long ncommands, npolls, npoll_errors;

	uint64_t *cancel_q;		/* seqs due for a cancel command */
	size_t ncancel_q, cancel_alloc;

	struct member *members;
	size_t nmembers, members_alloc;
	struct local_kill *kills;
	size_t nkills, kills_alloc;

	int adapt_on;
	struct adapt adapt;
	struct sched_demand demand;	/* the last reading */
	char *jobs_written;		/* last `jobs` document written */
	struct told *told;		/* in seq order */
	size_t ntold, told_alloc;
	/* pool_manager_stop */
	int stopping;			/* scaled to 0, draining */
	int stop_final;			/* the last cancel is under way */
	double stop_deadline, stop_killed;
	struct event *stop_ev;
	void (*stop_done)(void *arg);
	void *stop_arg;
	struct backend_run *stop_run;
	uint64_t *stop_pids;		/* local jobs signalled at the end */
	uint64_t *stop_seqs;		/* ... their pool numbers; STOP_REAPED
					   set once the leader is collected */
	size_t nstop_pids;
	size_t nstop_cancelled;		/* of them, signalled at the end */
	char name_buf[160];
};

/* manager.c */
double manager_now(void);		/* wall clock, Unix seconds */
/* "<cluster>-<seq>", in a buffer of m's that the next call reuses. */
const char *manager_job_name(void *arg, uint64_t seq);
/* Step again in `delay` seconds (at most a poll interval). */
void manager_schedule(struct pool_manager *m, double delay);
/* Count the workers that joined before their job had its id (a job that
 * started before its submission's answer came, or one found by name):
 * after every change of ids. */
void manager_members_rejoin(struct pool_manager *m);

/* commands.c: each starts one command and returns 0, or -1 when none
 * runs (what failed is recorded in the pool). */
void manager_seen_from(const struct job_status *st, struct pool_seen *s);
/* One line of what a batch command said, for status and logs; of one
 * that hung, how long it had (pool.command-timeout). */
struct backend_result;
void manager_result_line(const struct pool_manager *m,
			 const struct backend_result *r, char *out, size_t size);
/* Start a batch command (the backend's own directory before argv[0]
 * when the manager has one), counted against the rate limit; `done`
 * gets `m`.  NULL + err when it cannot start. */
struct backend_run *manager_start_command(struct pool_manager *m,
					  struct backend_argv *argv,
					  backend_run_fn done, struct err *err);
int manager_batch_status(struct pool_manager *m);
int manager_batch_submit(struct pool_manager *m, uint64_t first, unsigned n);
int manager_batch_cancel(struct pool_manager *m);
int manager_batch_history(struct pool_manager *m, const uint64_t *due,
			  size_t ndue);

/* record.c: the state directory's `jobs` */
/* The record of the table's live jobs (none: of no job, next_seq kept);
 * a new reference. */
json_t *manager_jobs_doc(struct pool_manager *m, int none);
/* Rewrite `jobs` when the table changed, after telling the job_changed
 * hook what changed. */
void manager_write_jobs(struct pool_manager *m);
/* Tell the job_changed hook that every job told and not ended has
 * ended, cancelled (pool_manager_stop's last cancel). */
void manager_tell_stopped(struct pool_manager *m);
/* Take back the live jobs an earlier scheduler recorded (at create); -1
 * when they are another backend's. */
int manager_adopt(struct pool_manager *m, struct err *err);

/* local.c */
void manager_local_submit(struct pool_manager *m, uint64_t first, unsigned n);
void manager_local_poll(struct pool_manager *m);
void manager_local_cancel(struct pool_manager *m);
/* `sig` to a local job's group, unless its pid now names a stranger. */
int manager_local_signal(const struct pool_job *j, int sig);

#endif
