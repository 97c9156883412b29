/*
 * journal: the scheduler's append-only record of what it was asked and
 * what its tasks did, so that a scheduler killed and started again
 * resumes: finished tasks keep their results and never run again,
 * queued and waiting ones are queued again, ids go on.
 *
 * The file: a header line {"format":"cluster-journal","version":"1.0"},
 * then one JSON object per line (jq reads it), each with "ev" (the
 * event) and "t" (Unix seconds).  Events:
 *
 *	scheduler-start  {"pid"}                 a scheduler opened the file
 *	scheduler-stop   {}                      it ended in order
 *	submit   {"id","n","spec"[,"args"|"argvs"]}  a submission: the spec
 *		 through task/codec.h (an array is its template and range),
 *		 a task file's lines once each ("args": the last argument of
 *		 each task, "argvs": each task's whole command)
 *	run      {"id"[,"last"],"attempt"[,"failures","losses"],"worker"}
 *		 a run began; "last": the runs of ids..last, begun in one
 *		 loop turn with the same counts ("t": the first's start), on
 *		 "worker" or, with more than one, {"workers":[names],
 *		 "on":[each run's index among them]}
 *	end      {"id"[,"last"],"state"[,"exit","signal","runtime",
 *		 "peak_memory","runs","failures","losses","reason"]}  a task
 *		 ended; "last" without "runs": ids..last cancelled before
 *		 they ever started; "last" with "runs": ids..last (every
 *		 "step"-th, default 1) ended in one loop turn with the same
 *		 state, exit, signal, counts and reason, "runtime" and "peak_memory" then arrays of one number
 *		 a task (left out when all are 0), "t" the last one's end
 *	pool-scale {"target"}                   `scale`'s target in workers
 *	pool-adapt {"min","max","idle"} | {"off":true}  adapt's bounds
 *	job-submit {"seq","name","id"[,"index"]}  a batch job of the pool,
 *		 once its id is known ("index": its array element)
 *	job-adopt  {"seq","name","id"[,"index"],"state"[,"reason"]}  an
 *		 earlier scheduler's job, taken back from the pool's `jobs`
 *	job-state  {"seq","id"[,"index"],"state"[,"raw","reason"]}  its state
 *		 (queued, running, ...) or reason changed, as a poll saw it
 *	job-end    {"seq","id"[,"index"],"end"[,"raw","reason"]}  it ended
 *		 ("end": completed, walltime, failed, cancelled, ...)
 *
 * Versions: a reader takes any "2.x" or "1.x" (1.x has no ranges of
 * runs and ends; a 1.x reader would take a range for its first task
 * alone, hence the major version) and skips events it does not know;
 * another major version is refused, naming both.  A file of 1.x is
 * rewritten as 2.x (a compaction) when a scheduler opens it.  A last line without
 * its newline is a write the crash cut short: it is dropped and the file
 * truncated to the last whole record; any other line that is not a
 * record stops the reading with "journal:LINE: message".
 *
 * The writer buffers records; a thread of its own puts them out, with
 * one write() for all that was handed over since its last one and, when
 * asked, one fsync(), so the loop that makes the records never waits on
 * the disk.  Compaction rewrites the file from a table (temporary file,
 * fsync, rename, fsync of the directory): replaying it gives the same
 * table, and the live jobs of the pool: each job's first record and its
 * last state, while ended jobs go.
 *
 * The jobs: the pool's own record, the state directory's `jobs`, is
 * what a restarted pool adopts from (it is written whether or not the
 * journal is on, and before a submission runs); the journal's job
 * records are their history, for `cluster journal export`, and a replay
 * only collects the live ones, to keep them through a compaction and to
 * check them against what the pool adopted.
 */
#ifndef CLUSTER_JOURNAL_H
#define CLUSTER_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sched/sched.h"
#include "util/err.h"
#include "util/strbuf.h"

#define JOURNAL_FORMAT "cluster-journal"
#define JOURNAL_MAJOR 2
#define JOURNAL_MINOR 0
/* The oldest major version a reader still takes. */
#define JOURNAL_MAJOR_OLDEST 1

/* --- records (format.c) --------------------------------------------------- */

/* New records, with "ev" and "t" set; the caller owns them. */
json_t *journal_record(const char *ev);
/* The submission that holds task `id`, as a "submit" record. */
json_t *journal_record_submit(struct sched *s, task_id_t id);
/* Task `id`'s run that began now, on a worker named `worker`. */
json_t *journal_record_run(struct sched *s, task_id_t id, const char *worker);
/* How task `id` ended. */
json_t *journal_record_end(struct sched *s, task_id_t id);
/* Tasks first..last cancelled before they ever started. */
json_t *journal_record_cancelled(task_id_t first, task_id_t last);
/* Whether task `id` ended cancelled without ever starting (its end fits
 * a range record). */
int journal_cancelled_unstarted(struct sched *s, task_id_t id);

/* A batch job of the pool in a job-* record; NULL fields and an index
 * below 0 are left out. */
struct journal_job {
	const char *ev;			/* "job-submit", "job-adopt", ... */
	uint64_t seq;			/* the pool's number of it */
	const char *name;		/* job-submit, job-adopt */
	const char *id;			/* batch id (of the array) */
	int64_t index;			/* array element, or -1 */
	const char *state;		/* job-adopt, job-state: its state;
					   job-end: how it ended */
	const char *raw;		/* the batch system's own code */
	const char *reason;
};
json_t *journal_record_job(const struct journal_job *j);

/* One record as a line (no newline) appended to `out`. */
void journal_encode(struct strbuf *out, const json_t *rec);
/* The lines of journal_record_run and _end, made without a JSON object
 * (they are on every task's way): the same keys and values, times to the
 * microsecond, bytes past ASCII in names and reasons as '?'; -1 when the
 * id is unknown. */
int journal_encode_run(struct strbuf *out, struct sched *s, task_id_t id,
		       const char *worker);
int journal_encode_end(struct strbuf *out, struct sched *s, task_id_t id);
/* The same lines, newline included, from what sched_task said of `id`,
 * for a caller that has asked it already.  A run's time is the task's
 * start_time when sched has set it. */
void journal_line_run(struct strbuf *out, task_id_t id,
		      const struct task_info *ti, const char *worker);
void journal_line_end(struct strbuf *out, task_id_t id,
		      const struct task_info *ti);

/* Tasks' runs or ends gathered into one range record while a loop turn
 * lasts: runs of consecutive ids (on up to JOURNAL_RANGE_WORKERS
 * workers), ends of ids a step apart (the batch of one worker);
 * journal_range_line writes it. */
#define JOURNAL_RANGE_MAX 4096		/* ids a record holds at most */
#define JOURNAL_RANGE_WORKERS 8
#define JOURNAL_RANGE_REASON 256
enum journal_range_kind { JOURNAL_RANGE_NONE, JOURNAL_RANGE_RUN,
			  JOURNAL_RANGE_END };
struct journal_range {
	enum journal_range_kind kind;
	task_id_t first, last;
	unsigned step;			/* between ids; runs: 1 */
	double t, t0;			/* the last's time, the first's */
	double spread;			/* ends further apart (s) than this
					   do not share a range; 0: any */
	unsigned attempts, failures, losses;
	struct strbuf names[JOURNAL_RANGE_WORKERS];	/* a run's workers */
	const char *seen[JOURNAL_RANGE_WORKERS];	/* the caller's strings
							   of them */
	unsigned nworkers;
	int has_worker;			/* 0: runs on no named worker */
	unsigned char *on;		/* each run's index among them */
	enum task_state state;		/* an end's */
	int exit_code, signal;
	struct strbuf reason;		/* an end's, when has_reason */
	int has_reason;
	double *runtime;		/* an end's, one a task */
	uint64_t *peak_memory;
	size_t cap;
};
void journal_range_init(struct journal_range *r);
void journal_range_release(struct journal_range *r);
/* Take task `id`'s run (on `worker`: a string that keeps its text while
 * it is in use, as sched's worker names do) or end into the range: 1 when it
 * went in (starting the range when empty), 0 when it does not fit (the
 * caller writes the range, resets it and adds again); an end with a
 * reason past JOURNAL_RANGE_REASON bytes never fits (-1: write it
 * alone). */
int journal_range_run(struct journal_range *r, task_id_t id,
		      const struct task_info *ti, const char *worker);
int journal_range_end(struct journal_range *r, task_id_t id,
		      const struct task_info *ti);
/* Whether task `id` is in the range. */
int journal_range_has(const struct journal_range *r, task_id_t id);
/* The range as one line appended to `out`, newline included (of one
 * task: as journal_line_run or _end would write it); `id` not 0: that
 * task's alone. */
void journal_range_line(struct strbuf *out, const struct journal_range *r,
			task_id_t id);
static inline void journal_range_reset(struct journal_range *r)
{
	r->kind = JOURNAL_RANGE_NONE;
}

/* --- the writer (writer.c) ------------------------------------------------ */

struct journal;

/* Open `path` for appending, creating it with its header when missing
 * or empty, and start its syncing thread.  The file must have been read
 * (journal_replay) first: a torn last line is gone by then. */
struct journal *journal_open(const char *path, struct err *err);
/* Writes what is buffered and syncs it, stops the thread, closes.
 * Accepts NULL. */
void journal_close(struct journal *j);
/* Add one record to the buffer (the record is not taken). */
void journal_append(struct journal *j, const json_t *rec);
/* The buffer itself, for a caller that encodes records into it: whole
 * lines only, each ending in a newline.  Only the caller's thread (the
 * one that opened the journal) touches it. */
struct strbuf *journal_buffer(struct journal *j);
/* Bytes buffered and not yet written. */
size_t journal_pending(const struct journal *j);
/* Write the buffer, then fsync when `sync` (or when an earlier write was
 * not synced yet), and wait for both.  -1 + err when either fails; the
 * records stay buffered then and the next call tries again. */
int journal_write(struct journal *j, int sync, struct err *err);

/* The same without waiting for the disk: the buffer is written to the
 * file now, by the caller's thread (into the page cache: what is written
 * survives the process being killed), and the journal's thread syncs it
 * when `sync`.  Returns the ticket: once journal_done says that ticket,
 * its records are written (and synced, if asked) or failed to be. */
uint64_t journal_submit(struct journal *j, int sync);
/* Readable when the thread has finished a sync or a replacement, or a
 * write or sync failed. */
int journal_notify_fd(const struct journal *j);
/* Empty the notify descriptor; the last ticket finished in *done.
 * -1 + err when the last of them failed (a retry comes with the next
 * submission), the first time that failure is asked about; 1 after
 * that while it lasts; 0 when the last one succeeded. */
int journal_done(struct journal *j, uint64_t *done, struct err *err);
/* Wait for `ticket`; -1 + err when it failed. */
int journal_wait(struct journal *j, uint64_t ticket, struct err *err);
/* A compaction without the loop's wait: what is buffered goes out to
 * the file as it is, then the thread writes `content` (a whole journal,
 * header first, taken) beside it, syncs it and renames it over the
 * file; what is submitted meanwhile goes to the old file and, at the
 * rename, to the new one too, so a kill at any moment leaves every
 * record written in the file.  Returns the ticket; on failure the old
 * file stays and appending goes on there. */
uint64_t journal_replace(struct journal *j, struct strbuf *content);
/* Bytes in the file, written or buffered (after a replacement, counted
 * from its content). */
uint64_t journal_size(const struct journal *j);

/* --- reading and replay (replay.c) ---------------------------------------- */

/* What a replay found. */
struct journal_found {
	uint64_t records;		/* lines read, header aside */
	uint64_t tasks;			/* tasks submitted */
	uint64_t ended;			/* of them, done, failed or cancelled */
	uint64_t requeued;		/* running when the file ended: queued
					   again */
	uint64_t running;		/* running when the file ended: held
					   for their workers to claim */
	int major, minor;		/* the file's version; 0: no header */
	int torn;			/* a cut last line was dropped */
	uint64_t torn_at;		/* the length kept then */
	/* Lines with NUL bytes, skipped: a block of the file a crash of the
	 * machine left as zeros (no record holds a NUL) */
	uint64_t zeroed_lines, zeroed_bytes;
	unsigned long zeroed_first;	/* the first such line's number */
	/* The pool's last target and adapt bounds, if any were recorded. */
	int has_target;
	unsigned target;
	int has_adapt;			/* 1: on, -1: turned off */
	unsigned adapt_min, adapt_max;
	double adapt_idle;
	/* The pool's batch jobs the file shows live: {"SEQ": {"first": its
	 * job-submit or job-adopt record, "last": its last job-state}};
	 * NULL when none.  Owned: journal_found_release. */
	json_t *jobs;
};

/* Frees what `found` holds (not `found`). */
void journal_found_release(struct journal_found *found);
/* Apply a job-* record to `*jobs` (made when NULL): a submission or an
 * adoption enters it, a state change replaces its last state, an end
 * drops it.  -1 + err ("journal:LINE: ...") when it lacks its seq or id. */
int journal_jobs_apply(json_t **jobs, json_t *rec, unsigned long line,
		       struct err *err);

/* Called for each record of journal_read, with its line number (the
 * header is line 1); a non-zero return stops the reading with it. */
typedef int (*journal_record_fn)(void *arg, unsigned long line,
				 json_t *rec, struct err *err);

/* Read `path` record by record.  A missing file is an empty journal (0).
 * `truncate`: cut a torn last line off the file; else leave the file as
 * it is.  A line with NUL bytes (zeros where a crash lost a block) is
 * skipped and counted in `found`, since what follows it stands; the
 * header's line may not be one.  Errors name the line:
 * "journal:LINE: message". */
int journal_read(const char *path, int truncate, journal_record_fn fn,
		 void *arg, struct journal_found *found, struct err *err);

/* Read `path` into `s`, an empty table, and truncate a torn last line.
 * On an error the table may hold part of the journal: destroy it. */
int journal_replay(const char *path, struct sched *s,
		   struct journal_found *found, struct err *err);

/* --- compaction (compact.c) ----------------------------------------------- */

/* Rewrite `path` with what `s` holds now: its submissions, the ends of
 * its ended tasks, a run for each running one, and the pool's target,
 * bounds and live jobs from `pool` (may be NULL), so that journal_replay
 * of the result gives the same table and jobs.  Atomic: the old file stands until the rename.
 * The new size in *size (may be NULL). */
int journal_compact(const char *path, struct sched *s,
		    const struct journal_found *pool, uint64_t *size,
		    struct err *err);
/* The same a piece at a time, for a loop that must not wait for a whole
 * table: _start puts the header in `out` and notes the table's last id;
 * each _step appends the records of up to `n` submissions or tasks and
 * returns 1 once every id up to that last one is written; _finish adds
 * the pool's bounds (`out` NULL: a compaction given up) and frees.
 * Between steps the table may change: a record about a task below
 * journal_compactor_next (already written) or above _last (new) must be
 * added to `out` as well, for the result to replay as the table; but
 * not before _on_tasks says the submissions are all written (the ids of
 * submissions go up in the file). */
struct journal_compactor;
struct journal_compactor *journal_compactor_start(struct strbuf *out,
						  struct sched *s);
int journal_compactor_step(struct journal_compactor *c, struct strbuf *out,
			   unsigned n);
task_id_t journal_compactor_next(const struct journal_compactor *c);
int journal_compactor_on_tasks(const struct journal_compactor *c);
task_id_t journal_compactor_last(const struct journal_compactor *c);
void journal_compactor_finish(struct journal_compactor *c, struct strbuf *out,
			      const struct journal_found *pool);
/* What journal_compact would write, appended to `out`, header first. */
void journal_compact_encode(struct strbuf *out, struct sched *s,
			    const struct journal_found *pool);
/* `content` in a temporary file beside `path` (its name in `tmp`),
 * synced: the first half of putting it in place of `path`.  Its
 * descriptor, -1 + err; the caller renames it over `path` (then syncs
 * the directory) or unlinks it. */
int journal_stage(const char *path, const struct strbuf *content,
		  struct strbuf *tmp, struct err *err);

#endif
