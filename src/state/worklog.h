/*
 * worklog: a worker's task output in one append-only file with an index,
 * in the scheduler's log directory, instead of two new files per task.
 * Creating a file is the dearest thing a short task does (an inode
 * allocated on a local disk, a metadata-server round trip on Lustre or
 * GPFS, and an inode of quota each), so by default (task.output:
 * worker-log) a worker reads its tasks' stdout and stderr from pipes
 * and appends what they write here; a task that writes nothing leaves
 * nothing.  Documented for users in cluster(1), WORKER LOGS.
 *
 * Files, in DIR (the log directory the RUN frame names):
 *
 *	worker-NAME.log    16-byte header, then the bytes tasks wrote,
 *			   chunk after chunk as the worker read them
 *	worker-NAME.idx    16-byte header, then one 32-byte entry per chunk
 *	worker-NAME.lock   held (flock) by the worker writing the pair
 *	worker-NAME.log.1, worker-NAME.idx.1   the previous generation
 *
 * NAME is the worker's name with every byte outside [A-Za-z0-9_.-]
 * turned into '_'; when another live worker holds that name's lock,
 * NAME.2, NAME.3, ... are tried, so a worker restarted by its nanny
 * (same name, the old one dead) appends to the pair it wrote before.
 * Past `max` bytes of log the pair is renamed to its .1 generation
 * (replacing the one before) and a new pair begun: a worker keeps at
 * most about twice `max`.
 *
 * Headers: 8 bytes of magic ("CLSTWLOG" for the log, "CLSTWIDX" for the
 * index), then a u64 drawn when the pair was begun, the same in both, so
 * a reader never pairs an index with another generation's log.  Index
 * entries, little-endian:
 *
 *	u64 task id    u32 attempt (1 for the first run)
 *	u8  stream (1 stdout, 2 stderr)    u8 0    u16 0
 *	u64 offset of the chunk in the log    u32 length
 *	u32 check: FNV-1a of the 28 bytes before it
 *
 * A chunk's bytes are written before its entry, so every entry a reader
 * sees has its bytes; a torn last entry (a crash) fails its check, and
 * the next writer cuts it off.
 */
#ifndef CLUSTER_STATE_WORKLOG_H
#define CLUSTER_STATE_WORKLOG_H

#include <stddef.h>
#include <stdint.h>

#include "task/task.h"
#include "util/err.h"
#include "util/strbuf.h"

#define WORKLOG_DEFAULT_MAX	((uint64_t)1 << 30)

struct worklog;

/* Open (creating DIR when missing) the first pair of `name` no other
 * live worker holds.  `max` 0: WORKLOG_DEFAULT_MAX. */
struct worklog *worklog_open(const char *dir, const char *name, uint64_t max,
			     struct err *err);
void worklog_close(struct worklog *wl);		/* accepts NULL */
const char *worklog_dir(const struct worklog *wl);
/* The log file being written, for messages. */
const char *worklog_path(struct worklog *wl);

/* One chunk of what run `attempt` of task `id` wrote on `stream`.
 * -1 + err when it could not be written (it is then not indexed). */
int worklog_append(struct worklog *wl, task_id_t id, unsigned attempt,
		   enum task_stream stream, const void *data, size_t len,
		   struct err *err);

/* What run `attempt` of task `id` wrote on `stream`, from every worker
 * log in `dir`, appended to `out`; attempt 0 takes the latest run found.
 * Returns the chunks found (0: the run wrote nothing there), -1 + err
 * when `dir` cannot be read.  *found (may be NULL) gets the attempt read
 * (0 when none), *earlier (may be NULL) a count of earlier attempts that
 * wrote on the stream. */
int worklog_read(const char *dir, task_id_t id, unsigned attempt,
		 enum task_stream stream, struct strbuf *out, unsigned *found,
		 unsigned *earlier, struct err *err);

/* The same from the logs of the worker named `worker` alone (the name
 * it opened them with, sched's name of it), not every worker log in
 * `dir`: what a reader does that knows which worker ran the run. */
int worklog_read_worker(const char *dir, const char *worker, task_id_t id,
			unsigned attempt, enum task_stream stream,
			struct strbuf *out, unsigned *found, unsigned *earlier,
			struct err *err);

#endif
