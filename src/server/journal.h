/*
 * journal: the scheduler process's journal (journal/journal.h) on its
 * loop.  Opening it replays the file into the task table, before anything
 * listens; from then on it hears the fan-out's task events (server/
 * events.h) and records them: a run's start, a task's end, and the
 * submissions that led to them, found in the table when any event comes
 * or a turn ends; and the pool's job events: a batch job submitted, its
 * states, its end.
 *
 * Durability: an answer that must not outrun its record (a submission,
 * a cancel, scale, adapt) is held (server_journal_hold) until the end of
 * the loop turn, when everything buffered is written, and sent once the
 * journal's thread has synced it; a burst of submissions in one turn
 * costs one fsync, and the loop goes on meanwhile.  Runs are written
 * before their RUN frames leave, so a killed scheduler's successor
 * knows every run a worker may claim.  Other records are written when
 * the turn ends and synced at least every flush_period seconds, so a
 * machine crash loses at most that much of runs and ends, and the
 * tasks whose ends it lost run again.
 *
 * Compaction: when the file passes max_size and twice what the last
 * compaction left (so a table bigger than the bound is not rewritten
 * every turn), or passes
 * SERVER_JOURNAL_IDLE_COMPACT with every task ended for a flush period
 * and is twice what the last compaction left, it is rewritten from the
 * table: the loop reads the table into memory a piece a turn, the
 * journal's thread puts it in place of the file (journal_replace), and
 * appending goes to the new file from then on.
 */
#ifndef CLUSTER_SERVER_JOURNAL_H
#define CLUSTER_SERVER_JOURNAL_H

#include <stdint.h>

#include <jansson.h>

#include "journal/journal.h"
#include "sched/sched.h"

struct event_base;
struct events;
struct evhttp_request;
struct http;
struct pool_manager;
struct server_journal;

#define SERVER_JOURNAL_IDLE_COMPACT ((uint64_t)16 << 20)
/* Tasks a compaction reads in one loop turn: a millisecond or two. */
#define SERVER_JOURNAL_COMPACT_STEP 4096

struct server_journal_config {
	const char *path;		/* state_dir/journal */
	const char *old_path;		/* where server_journal_close moves it
					   when every task has ended; NULL:
					   it stays */
	double flush_period;		/* s; <= 0: 1 */
	uint64_t max_size;		/* bytes; 0: never for size */
};

/* Replay `path` into `s` (an empty table) and open it for appending;
 * what the replay found in *found.  NULL + err when the journal cannot
 * be read (the file is left as it was, but for a torn last line) or
 * written. */
struct server_journal *server_journal_open(struct event_base *base,
					   struct sched *s,
					   const struct server_journal_config *c,
					   struct journal_found *found,
					   struct err *err);
/* Records "scheduler-stop", writes and syncs, stops listening; with
 * every task ended, moves the file to old_path.  Accepts NULL. */
void server_journal_close(struct server_journal *sj);

/* What is buffered, and the runs and ends gathered in this turn, to the
 * file now (not synced): before the frames that carry those runs leave
 * (workers_before_send).  `arg` is the server_journal. */
void server_journal_put_down(void *arg);

/* Start recording the fan-out's events. */
void server_journal_subscribe(struct server_journal *sj, struct events *ev);

/* Send `reply` (taken) to `req` with `code` once this turn's records,
 * and `record` (taken; may be NULL) first, are on disk.  `h` is the API's
 * HTTP side, told to forget the request if its peer leaves meanwhile. */
void server_journal_hold(struct server_journal *sj, struct http *h,
			 struct evhttp_request *req, int code, json_t *reply,
			 json_t *record);

/* Give `m` the adapt bounds the journal recorded (a scale's target comes
 * back through the pool's own `target` file), and check the batch jobs
 * the journal showed live against those `m` adopted from its own `jobs`
 * record, which it trusts: a job that record lacks ends in the journal
 * (lost), with a warning.  Call it once the pool has adopted. */
void server_journal_restore_pool(struct server_journal *sj,
				 struct pool_manager *m);

/* Whether it is written: its path, size and, while writing it fails,
 * why and since when (valid until the next loop turn). */
struct api_journal_health;
void server_journal_health(const struct server_journal *sj,
			   struct api_journal_health *h);

/* Rewrite the journal from the table now; its new size in *size. */
int server_journal_compact(struct server_journal *sj, uint64_t *size,
			   struct err *err);

#endif
