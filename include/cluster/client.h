/*
 * cluster/client.h: the C client library of a cluster's scheduler.
 *
 * A client talks to one scheduler over its HTTP API (cluster-api(7)).
 * Every call blocks until the answer arrives.  A client is not
 * thread-safe: use one per thread.
 *
 * Errors: functions return -1 (or NULL) and leave a one-line message,
 * retrievable with cluster_client_error(), such as
 *	cannot connect to scheduler at 127.0.0.1:4321: connection refused
 * or the scheduler's own message ("field 'cores': expected an integer
 * >= 1").  cluster_client_status() is the HTTP status of the last answer
 * (0 when none arrived).
 *
 * Ownership: the library copies everything it is given.  What it hands
 * back is either passed to a callback (valid during the call only), held
 * by the client until the next call on it (documented per function), or
 * allocated for the caller to free() (documented per function).
 */
#ifndef CLUSTER_CLIENT_H
#define CLUSTER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cluster_client cluster_client_t;

enum cluster_task_state {
	CLUSTER_TASK_WAITING,		/* on its dependencies */
	CLUSTER_TASK_QUEUED,
	CLUSTER_TASK_RUNNING,		/* also "assigned" (start_time 0):
					   its worker holds it, not started */
	CLUSTER_TASK_DONE,
	CLUSTER_TASK_FAILED,
	CLUSTER_TASK_CANCELLED,
};
#define CLUSTER_TASK_NSTATES 6

/* "waiting", "queued", ...; NULL for a value out of range. */
const char *cluster_task_state_name(int state);
/* The state named `name`; -1 if none. */
int cluster_task_state_parse(const char *name);

/*
 * Open the cluster `name` (NULL or "": $CLUSTER_NAME when set, else
 * "default"): reads the scheduler's address and token from
 * $CLUSTER_HOME/NAME (default ~/.cluster/NAME).  On failure returns NULL
 * and, when errbuf is given, writes the reason there.
 *
 * The token never leaves the client: before its first request the
 * client has the scheduler prove it knows the token (for the port of the
 * address file, with cluster_client_open), and it signs every request
 * (cluster-api(7), "Authentication").  A scheduler that cannot prove it
 * fails the first call with status 401 and sends nothing secret.
 */
cluster_client_t *cluster_client_open(const char *name, char *errbuf,
				      size_t errlen);
/* Open a scheduler by URL ("http://127.0.0.1:4321") and token. */
cluster_client_t *cluster_client_open_url(const char *url, const char *token,
					  char *errbuf, size_t errlen);
/* Close the connection and free everything; accepts NULL. */
void cluster_client_close(cluster_client_t *c);

/* The message of the last failure; "" after a success.  Owned by c. */
const char *cluster_client_error(const cluster_client_t *c);
int cluster_client_status(const cluster_client_t *c);
/* What the scheduler warned of with its last answer, such as a change
 * it could not write to its journal; NULL: nothing.  Owned by c. */
const char *cluster_client_warning(const cluster_client_t *c);
/* "http://host:port" of the scheduler.  Owned by c. */
const char *cluster_client_url(const cluster_client_t *c);

/* Seconds a request may take before it fails (default 60; a wait adds
 * its own timeout to this). */
void cluster_client_set_timeout(cluster_client_t *c, double seconds);

/* A task to submit.  Zero the struct and fill what you need: zero or NULL
 * means "the scheduler's default" (1 core, no memory reservation, no time
 * limit, no retries unless retries_set, 3 worker losses). */
struct cluster_task_spec {
	const char *const *argv;	/* NULL-terminated, required except for
					   batches; in an array "{}" becomes
					   the element's index */
	const char *const *env;		/* "NAME=value", NULL-terminated */
	const char *cwd;
	const char *name;		/* group name (default: argv[0]'s basename) */
	unsigned cores;
	uint64_t memory;		/* bytes */
	uint64_t time_limit;		/* seconds */
	int retries_set;		/* send `retries` even when 0 */
	unsigned retries;
	unsigned max_worker_losses;
	int is_array;
	int64_t array_first, array_last;	/* inclusive */
	const uint64_t *after;		/* ids this task depends on */
	size_t nafter;
	const char *stdout_path;	/* default: <log dir>/<id>.out */
	const char *stderr_path;	/* default: <log dir>/<id>.err */
	unsigned gpus;			/* GPUs reserved; 0: none */
	const uint64_t *after_any;	/* ids it waits for, however they
					   end (Slurm's afterany) */
	size_t nafter_any;
};

/* Submit one task or one array; *first gets the first id and *count the
 * number of tasks (both may be NULL). */
int cluster_submit(cluster_client_t *c, const struct cluster_task_spec *spec,
		   uint64_t *first, uint64_t *count);

/* Submit a task file's text: one shell command per line, each run with
 * /bin/sh -c; blank and '#' lines are skipped.  `defaults` (may be NULL)
 * gives every task its resources, limits and name; its argv, env and
 * array fields are ignored. */
int cluster_submit_batch(cluster_client_t *c, const char *text, size_t len,
			 const struct cluster_task_spec *defaults,
			 uint64_t *first, uint64_t *count);

/* One task as the scheduler reports it. */
struct cluster_task {
	uint64_t id;
	enum cluster_task_state state;
	const char *name;
	const char *const *argv;	/* NULL-terminated, "{}" substituted */
	int has_index;
	int64_t index;			/* array index when has_index */
	unsigned cores;
	uint64_t memory, time_limit;
	unsigned attempts, failures;
	int worker;			/* -1: none */
	const char *worker_name;	/* NULL: none */
	double submit_time, start_time, end_time;	/* epoch s, 0 = not yet */
	int has_result;			/* a run has ended: the next four hold */
	int exit_code, signal;		/* exit_code -1: none (a run that
					   was cancelled: see signal) */
	double runtime;			/* seconds */
	uint64_t peak_memory;		/* bytes */
	const char *reason;		/* why it failed or was cancelled, what a
					   waiting or queued task waits for;
					   NULL */
	double elapsed;			/* running and started: seconds so far
					   (the scheduler's clock); else 0 */
	unsigned gpus;
};

/* Which tasks cluster_tasks lists. */
struct cluster_task_filter {
	unsigned states;		/* bit mask of 1 << CLUSTER_TASK_x; 0: all;
					   RUNNING takes assigned tasks too */
	const char *name;		/* only tasks of this name; NULL: all */
	uint64_t after;			/* only ids above this */
	uint64_t limit;			/* at most this many; 0: no limit */
};

/* Call fn for each matching task in id order, fetching page after page;
 * the task is valid during the call only.  fn returns non-zero to stop
 * early.  Returns the number of tasks passed to fn, or -1. */
typedef int (*cluster_task_fn)(const struct cluster_task *t, void *arg);
int64_t cluster_tasks(cluster_client_t *c, const struct cluster_task_filter *f,
		      cluster_task_fn fn, void *arg);

/* The same tasks, each as the scheduler describes it: one JSON object
 * (the task objects of cluster-api(7)) as compact text, valid during the
 * call.  For programs that pass tasks on, and for fields this header
 * does not know yet.  fn returns non-zero to stop early; returns the
 * number of tasks passed to fn, or -1. */
typedef int (*cluster_json_fn)(const char *json, void *arg);
int64_t cluster_tasks_json(cluster_client_t *c,
			   const struct cluster_task_filter *f,
			   cluster_json_fn fn, void *arg);

/* One task; the result is held by c until its next call.  NULL when it
 * fails (status 404: no such task). */
const struct cluster_task *cluster_task_get(cluster_client_t *c, uint64_t id);

/* Cancel tasks (queued, waiting or running); ids that already ended are
 * left alone.  *cancelled (may be NULL) gets how many were cancelled. */
int cluster_cancel(cluster_client_t *c, const uint64_t *ids, size_t n,
		   uint64_t *cancelled);

/* What a cancel did: the tasks it cancelled, those that had already
 * ended, and the waiting tasks cancelled with them because they depended
 * on one (`after`), as ids ("5-7,9"; held by c until its next call). */
struct cluster_cancel_result {
	uint64_t cancelled, already_ended, dependents;
	const char *dependent_ids;
};
int cluster_cancel_report(cluster_client_t *c, const uint64_t *ids, size_t n,
			  struct cluster_cancel_result *out);

/* What a wait saw. */
struct cluster_wait_status {
	uint64_t total;				/* tasks waited on */
	uint64_t state[CLUSTER_TASK_NSTATES];	/* of those, per state */
	int done;				/* all of them ended */
	uint64_t assigned;			/* of the running ones, those
						   their worker holds without
						   having started them */
};

typedef void (*cluster_progress_fn)(const struct cluster_wait_status *st,
				    void *arg);

/*
 * Wait until every task in `ids` has ended (done, failed or cancelled).
 * `ids` is a list such as "1,2,5-9"; NULL or "" waits for every task the
 * scheduler has.  `timeout` is in seconds, < 0 for no limit.  `progress`
 * (may be NULL) is called each time the scheduler reports, at least every
 * `interval` seconds (<= 0: 1 s).  Returns 0 when all ended, 1 at the
 * timeout, -1 on failure; *st (may be NULL) holds the last report.
 */
int cluster_wait(cluster_client_t *c, const char *ids, double timeout,
		 double interval, cluster_progress_fn progress, void *arg,
		 struct cluster_wait_status *st);

struct cluster_worker {
	int id;
	const char *name;
	unsigned cores, cores_used;
	uint64_t memory, memory_used;	/* bytes */
	unsigned running;
	uint64_t done;
	int alive;
	unsigned gpus, gpus_used;
};

/* Call fn for each worker (valid during the call).  Returns the number of
 * workers, or -1. */
typedef int (*cluster_worker_fn)(const struct cluster_worker *w, void *arg);
int cluster_workers(cluster_client_t *c, cluster_worker_fn fn, void *arg);
/* The same workers as JSON objects, as cluster_tasks_json passes tasks. */
int cluster_workers_json(cluster_client_t *c, cluster_json_fn fn, void *arg);

struct cluster_counters {
	uint64_t state[CLUSTER_TASK_NSTATES];
	uint64_t submitted, retried, last_id;
	uint64_t workers, cores, cores_used;
	double uptime;			/* seconds */
};
int cluster_counters(cluster_client_t *c, struct cluster_counters *out);

/* Seconds summed per action over the runs so far, the dashboard's "time
 * per action" (cluster-api(7), GET /api/v1/actions), as JSON text the
 * caller frees; *len (may be NULL) its length.  NULL on failure. */
char *cluster_actions_json(cluster_client_t *c, size_t *len);

/* The task's stdout (stream 0) or stderr (stream 1).  Returns a buffer the
 * caller frees, NUL-terminated, *len (may be NULL) its length; NULL on
 * failure (status 404: no such task or no such log). */
char *cluster_log(cluster_client_t *c, uint64_t id, int stream, size_t *len);

/* ---- the pool (cluster-api(7), "The pool") ------------------------------- */

/* The pool's status document (cluster-api(7) describes its fields) as JSON
 * text, NUL-terminated, *len (may be NULL) its length; the caller frees
 * it.  NULL on failure (status 404: the scheduler has no pool). */
char *cluster_pool_status_json(cluster_client_t *c, size_t *len);

/* What a size given to cluster_scale counts. */
enum cluster_scale_unit {
	CLUSTER_SCALE_WORKERS,
	CLUSTER_SCALE_JOBS,
	CLUSTER_SCALE_CORES,		/* rounded up to whole jobs */
	CLUSTER_SCALE_MEMORY,		/* bytes, rounded up to whole jobs */
};

/* The target a scale set. */
struct cluster_scale_result {
	uint64_t workers;
	uint64_t jobs;
	unsigned workers_per_job;
};

/* Grow or shrink the pool to `value` of `unit`; *out (may be NULL) gets
 * the target in workers and jobs.  Ends adapting.  Status 409: the
 * scheduler has no pool. */
int cluster_scale(cluster_client_t *c, enum cluster_scale_unit unit,
		  uint64_t value, struct cluster_scale_result *out);

/* Let the pool follow its tasks' demand between min and max workers (jobs
 * when in_jobs), shrinking after idle_timeout seconds of low demand
 * (<= 0: the scheduler's default). */
int cluster_adapt(cluster_client_t *c, unsigned min, unsigned max,
		  double idle_timeout, int in_jobs);
/* Stop adapting; the target stays where adapt left it. */
int cluster_adapt_off(cluster_client_t *c);

/* Clear a paused pool's failure counters so it submits again. */
int cluster_resume(cluster_client_t *c);

/* ---- the journal (cluster-api(7), "The journal") ------------------------- */

/* Rewrite the scheduler's journal from what it holds now; its new size
 * in bytes in *size (may be NULL).  -1 (status 409) when the scheduler
 * keeps no journal. */
int cluster_journal_compact(cluster_client_t *c, uint64_t *size);

#ifdef __cplusplus
}
#endif

#endif
