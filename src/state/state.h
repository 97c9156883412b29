/*
 * state: a cluster's state directory, $CLUSTER_HOME (default ~/.cluster)
 * / <name>/, on the shared filesystem so login and compute nodes see it.
 *
 *	token	 the secret, 64 hex characters, mode 0600 (directory 0700);
 *		 each scheduler start draws a new one
 *	address	 where the running scheduler listens, written atomically:
 *		 JSON {"host", "port", "http_port", "url", "pid", "node",
 *		 "started"}; "node" is the name of the machine "pid" runs on
 *	logs/	 task and worker output
 *	jobs	 the pool's batch jobs, rewritten atomically on every change:
 *		 JSON {"backend", "updated", "next_seq", "jobs": [{"id",
 *		 "index", "seq", "state", ...}...]}, so `cluster stop --force`
 *		 can cancel them with no scheduler running, and the next
 *		 scheduler adopts them (pool/record.c has the fields)
 *	target	 the pool's desired size: JSON {"workers"}, so a scale
 *		 works before the scheduler starts
 *	worker.sh the pool's worker job script, written once per scheduler
 *	head.sh	 the head job script `cluster start` submits (location job)
 *	head-job the head job: JSON {"backend", "id"}, so `cluster stop`
 *		 can cancel it from anywhere
 *	scheduler.log  a local daemon's stdout and stderr (location local);
 *		 the one before it is scheduler.log.1
 *	stop	 JSON {"timeout"}: how long the stop `cluster stop` asked for
 *		 may drain running jobs; read (and removed) by the scheduler
 *		 as it stops
 *	verdict.JOB  a batch run's exit status in decimal and a newline,
 *		 written by rank 0 of batch job JOB ($CLUSTER_JOB_ID) as it
 *		 ends; the job script exits with it, since a launcher that
 *		 keeps failed ranks alive exits 0 whatever they said
 *	verdict.JOB.rankR  the status of rank R of worker job JOB (JOB_I
 *		 for element I of an array) that gave up, in the same form;
 *		 its job script exits with it and removes the file
 *
 * Writes are atomic (temp file + fsync + rename).
 */
#ifndef CLUSTER_STATE_H
#define CLUSTER_STATE_H

#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

struct state_address {
	char host[256];
	uint16_t port;			/* worker protocol */
	uint16_t http_port;		/* HTTP API and dashboard */
	long pid;
	char node[256];			/* hostname of the machine pid runs
					   on; "" when the file does not say */
};

/* $CLUSTER_HOME/<name>, created 0700 when `create`.  Names are
 * [A-Za-z0-9_.-]+ (at most 64, not "." or "..").  $CLUSTER_HOME must be
 * absolute.  Refuses a base or cluster directory owned by someone else or
 * writable by group/others.  Appends the path to `out`; errno ENOENT when
 * the cluster does not exist and !create. */
int state_dir(const char *name, int create, struct strbuf *out,
	      struct err *err);

/* Read the token, creating a fresh random one (0600) when `create` and
 * none exists.  Refuses a token file others can read.  errno ENOENT when
 * there is none and !create. */
int state_token(const char *dir, int create, char token[65],
		struct err *err);

/* Replace the token with a fresh random one and put it in `token`: a
 * scheduler calls this as it starts, so a secret lives no longer than the
 * scheduler that drew it.  The new file (0600) is written beside the old,
 * synced and renamed over it: a reader sees the old token or the new,
 * never a mix.  While a scheduler of this cluster runs (another process
 * holds the state lock, or the lock cannot be taken here and the address
 * file names a scheduler not known to be gone) the token is kept and
 * read instead, since replacing it would lock out that scheduler's
 * clients and workers. */
int state_token_renew(const char *dir, char token[65], struct err *err);

/* The address file also records "url" and "started" (UTC, ISO 8601) for
 * people and scripts; state_address_read does not need them.  Writing
 * records this machine's hostname as "node" (a->node is not read), so
 * that `pid` can be checked on that machine; reading leaves a->node ""
 * for a file without one.  Reading fails with errno ENOENT when there is
 * no address file. */
int state_address_write(const char *dir, const struct state_address *a,
			struct err *err);
int state_address_read(const char *dir, struct state_address *a,
		       struct err *err);
int state_address_remove(const char *dir);	/* 0 if already gone */

/* 1 when the scheduler `a` names is known to be gone: the file was
 * written on this machine (its node, or for a file without one its host,
 * is this machine's hostname) and no process has its pid.  0 when it
 * runs or cannot be told from here.  A pid taken over by another process
 * since reads as running. */
int state_address_stale(const struct state_address *a);

/* Serialize commands acting on one cluster: an exclusive lock on
 * dir/lock, held until state_unlock (or the process exits).  With `wait`
 * 0 a lock held by someone else fails at once with errno EWOULDBLOCK.
 * Returns the lock's descriptor. */
int state_lock(const char *dir, int wait, struct err *err);
void state_unlock(int fd);		/* accepts -1 */

/* The pool's files (names for pool/ and the CLI). */
#define STATE_POOL_JOBS "jobs"
#define STATE_POOL_TARGET "target"
#define STATE_POOL_SCRIPT "worker.sh"

/* The scheduler's files (runfiles.c). */
#define STATE_HEAD_SCRIPT "head.sh"
#define STATE_HEAD_JOB "head-job"
#define STATE_DAEMON_LOG "scheduler.log"
#define STATE_STOP "stop"
#define STATE_VERDICT_PREFIX "verdict."
#define STATE_RANK_VERDICT_INFIX ".rank"
#define STATE_JOURNAL "journal"		/* journal/journal.h */
#define STATE_JOURNAL_OLD "journal.old"	/* of a scheduler that stopped
					   with every task ended */

/* head-job: the batch id of the head job and its backend's name;
 * errno ENOENT when none is recorded. */
int state_head_job_write(const char *dir, const char *backend, const char *id,
			 struct err *err);
int state_head_job_read(const char *dir, char backend[32], char id[64],
			struct err *err);
/* stop: write the timeout, or read it and remove the file (-1 and errno
 * ENOENT when there is none). */
int state_stop_write(const char *dir, double timeout, struct err *err);
int state_stop_take(const char *dir, double *timeout);
/* verdict.JOB: write `status` for batch job `job` (a job id without
 * '/'); a worker rank passes JOB.rankR as `job`. */
int state_verdict_write(const char *dir, const char *job, int status,
			struct err *err);
/* Remove dir/name; 0 if already gone. */
int state_file_remove(const char *dir, const char *name);

typedef struct json_t json_t;
/* jobs: a JSON document, written atomically (0600); read gives a new
 * reference, errno ENOENT when there is none. */
int state_pool_jobs_write(const char *dir, const json_t *doc, struct err *err);
int state_pool_jobs_read(const char *dir, json_t **doc, struct err *err);
/* target: the workers wanted; errno ENOENT when never set. */
int state_pool_target_write(const char *dir, unsigned workers, struct err *err);
int state_pool_target_read(const char *dir, unsigned *workers, struct err *err);

/* Write `len` bytes to `path` atomically with `mode`. */
int state_write_atomic(const char *path, const void *data, size_t len,
		       int mode, struct err *err);

#endif
