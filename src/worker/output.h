/*
 * output: task output read from pipes and appended to the worker log
 * (state/worklog.h), for exec.  A file per task costs an inode each
 * (the dearest step of a short task, and a metadata round trip on a
 * parallel file system); a pipe costs none, and a task that writes
 * nothing leaves nothing.
 *
 * Per stream that goes to the log, exec asks for a pipe (output_pipe),
 * hands the write end to the child and then calls output_started, which
 * closes that end here.  The read ends are watched on the loop only once
 * the task has run OUTPUT_WATCH_MS: most tasks are over by then and
 * their output (up to a pipe's 64 KiB) is read when they end, with no
 * epoll_ctl to add and remove a watch; a task that writes more in its
 * first moments waits that long for its first read.  A read that takes
 * a pipe's worth at once says the pipe was full and its writer may have
 * waited: from then on the worker watches its tasks' pipes from their
 * start, until OUTPUT_QUIET tasks in a row wrote less than a pipe holds
 * (tasks of one submission write alike).  When the task's
 * leader has exited, output_finish asks one poll which pipes hold bytes
 * and which have no writer left, reads only those that hold bytes (one
 * read each when the task is gone and wrote less than a pipe's worth),
 * and never waits for writers that escaped the task's process group, so
 * the log holds all the task wrote before its DONE is sent.
 *
 * A pipe that poll finds empty with no writer left is kept by the task
 * slot: the next task of the slot gets a new write end of it (an open
 * of /proc/self/fd/N) instead of a new pipe, so the read end is neither
 * closed nor made again.  Only such a pipe is kept: one that a leftover
 * process may still write to is closed, and its bytes cannot reach a
 * later task's output.  The read ends stay blocking and are read only
 * when poll or the loop says they are readable, which saves setting
 * them non-blocking.
 *
 * The log is opened at the first chunk, in the directory the last task
 * named; a new directory (a new scheduler run) closes the old log.  A
 * log that cannot be opened or written is said once in the worker's log
 * (util/log) and what cannot be kept is dropped.
 */
#ifndef CLUSTER_WORKER_OUTPUT_H
#define CLUSTER_WORKER_OUTPUT_H

#include <stdint.h>

#include "task/task.h"

struct event_base;
struct output;

struct output_task {
	struct output *o;
	task_id_t id;
	unsigned attempt;
	int fd[2];			/* read ends, stdout and stderr; -1 */
	int idle[2];			/* read ends kept for the next task: empty,
					   no writer; -1 */
	int ready;			/* idle[] set up (a zeroed slot: 0) */
	int child[2];			/* write ends until started; -1 */
	struct event *ev[2];
	struct event *watch_ev;		/* OUTPUT_WATCH_MS after the start */
	uint64_t bytes;			/* read for this task */
	int full;			/* a read took a pipe's worth */
};

#define OUTPUT_WATCH_MS 20
#define OUTPUT_QUIET 8

struct output *output_create(struct event_base *base, const char *worker_name);
void output_destroy(struct output *o);		/* accepts NULL */
/* Log size at which it is rotated (0: the default); closes the log,
 * which the next chunk opens again (a new scheduler). */
void output_set_max(struct output *o, uint64_t bytes);

/* Before a task's spawn: make t ready for task `id`.  A slot is zeroed
 * before its first task and keeps its idle pipes from task to task. */
void output_task_init(struct output *o, struct output_task *t, task_id_t id,
		      unsigned attempt, const char *dir);
/* A pipe for `stream`; the write end for the child's dup2, -1 + errno. */
int output_pipe(struct output_task *t, enum task_stream stream);
/* After a spawn that worked. */
void output_started(struct output_task *t);
/* The leader has exited (or the spawn failed): read what is left, close
 * everything. */
void output_finish(struct output_task *t);
/* Free the slot's events and close its idle pipes (after
 * output_finish). */
void output_task_release(struct output_task *t);

#endif
