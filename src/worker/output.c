/*
 * output: task pipes into the worker log (why in output.h).
 *
 * The read ends stay blocking, as the write ends a task gets: they are
 * read only after poll (output_finish) or the loop (a watched task) said
 * they hold bytes or have no writer, so a read never waits on a writer
 * that left the task's process group (a daemon it started).  Events are
 * made once per task slot and reused, as exec does with its own.
 */
#include "worker/output.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "state/worklog.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define CHUNK (64 * 1024)
/* Reads of a finished task's pipes at most: 4 MiB, above the 1 MiB a
 * task may grow its pipe to (fs.pipe-max-size). */
#define DRAIN_MAX 64

struct output {
	struct event_base *base;
	char *name;
	char *dir;			/* of the last task; NULL: none yet */
	struct worklog *wl;
	uint64_t max;
	int failed;			/* said once until the log works */
	int no_reopen;			/* /proc/self/fd cannot reopen a pipe */
	int early;			/* watch pipes from the start */
	unsigned quiet;			/* tasks in a row since that wrote
					   less than a pipe holds */
	char *buf;
};

static void on_readable(evutil_socket_t fd, short what, void *arg);

static void output_reset(struct output *o)
{
	worklog_close(o->wl);
	o->wl = NULL;
}

struct output *output_create(struct event_base *base, const char *worker_name)
{
	struct output *o = xcalloc(1, sizeof(*o));

	o->base = base;
	o->name = xstrdup(worker_name ? worker_name : "worker");
	o->buf = xmalloc(CHUNK);
	return o;
}

void output_destroy(struct output *o)
{
	if (!o)
		return;
	worklog_close(o->wl);
	free(o->name);
	free(o->dir);
	free(o->buf);
	free(o);
}

void output_set_max(struct output *o, uint64_t bytes)
{
	o->max = bytes;
	output_reset(o);
}

void output_task_init(struct output *o, struct output_task *t, task_id_t id,
		      unsigned attempt, const char *dir)
{
	t->o = o;
	t->id = id;
	t->attempt = attempt;
	if (!t->ready) {
		t->idle[0] = t->idle[1] = -1;
		t->ready = 1;
	}
	for (int i = 0; i < 2; i++)
		t->fd[i] = t->child[i] = -1;
	t->bytes = 0;
	t->full = 0;
	if (dir && (!o->dir || strcmp(o->dir, dir))) {
		output_reset(o);
		free(o->dir);
		o->dir = xstrdup(dir);
	}
}

/* A new write end of the idle pipe `r`; -1 when it cannot be had. */
static int reopen(struct output *o, int r)
{
	char path[64];
	int w;

	if (o->no_reopen)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", r);
	w = open(path, O_WRONLY | O_CLOEXEC);
	/* No /proc (or one that does not reopen pipes): new pipes from
	 * now on, not an open that fails for every task. */
	if (w < 0 && errno != EMFILE && errno != ENFILE && errno != EINTR)
		o->no_reopen = 1;
	return w;
}

int output_pipe(struct output_task *t, enum task_stream stream)
{
	int i = stream == TASK_STDERR ? 1 : 0, p[2];

	if (t->idle[i] >= 0) {
		int w = reopen(t->o, t->idle[i]);
		if (w >= 0) {
			t->fd[i] = t->idle[i];
			t->idle[i] = -1;
			t->child[i] = w;
			return w;
		}
		close(t->idle[i]);
		t->idle[i] = -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	t->fd[i] = p[0];
	t->child[i] = p[1];
	return p[1];
}

static void keep(struct output_task *t, int i, const char *data, size_t len)
{
	struct output *o = t->o;
	struct err err = { "" };

	if (!o->wl && o->dir) {
		o->wl = worklog_open(o->dir, o->name, o->max, &err);
		if (!o->wl)
			goto fail;
	}
	if (!o->wl)
		return;
	if (worklog_append(o->wl, t->id, t->attempt,
			   i ? TASK_STDERR : TASK_STDOUT, data, len, &err) < 0)
		goto fail;
	o->failed = 0;
	return;
fail:
	if (!o->failed)
		log_msg(LOG_ERR, "task %llu: output lost: %s",
			(unsigned long long)t->id, err.text);
	o->failed = 1;
}

/* Stream i is over for this task.  `spare`: its pipe is empty with no
 * writer left, and is kept for the slot's next task. */
static void end_stream(struct output_task *t, int i, int spare)
{
	if (t->ev[i])
		event_del(t->ev[i]);
	if (t->fd[i] < 0)
		return;
	if (spare && t->idle[i] < 0 && !t->o->no_reopen)
		t->idle[i] = t->fd[i];
	else
		close(t->fd[i]);
	t->fd[i] = -1;
}

/* One read of a stream said to be readable; 1 when it is at its end (no
 * writer left), 0 when it may hold more, -1 on an error. */
static int read_once(struct output_task *t, int i, ssize_t *got)
{
	ssize_t n;

	do
		n = read(t->fd[i], t->o->buf, CHUNK);
	while (n < 0 && errno == EINTR);
	*got = n;
	if (n > 0) {
		keep(t, i, t->o->buf, (size_t)n);
		t->bytes += (uint64_t)n;
		if (n == CHUNK && !t->full) {
			t->full = 1;
			t->o->early = 1;
			t->o->quiet = 0;
		}
		return 0;
	}
	return n == 0 ? 1 : -1;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct output_task *t = arg;
	int i = t->fd[1] == fd ? 1 : 0;
	ssize_t n;

	(void)what;
	/* One read a wake-up: a chatty task does not starve the loop. */
	int rc = read_once(t, i, &n);
	if (rc)
		end_stream(t, i, rc > 0);
}

/* The task still runs: read its pipes as they fill from now on. */
static void on_watch(evutil_socket_t fd, short what, void *arg)
{
	struct output_task *t = arg;

	(void)fd;
	(void)what;
	for (int i = 0; i < 2; i++) {
		if (t->fd[i] < 0)
			continue;
		if (!t->ev[i])
			t->ev[i] = event_new(t->o->base, -1, 0, on_readable, t);
		if (!t->ev[i] ||
		    event_assign(t->ev[i], t->o->base, t->fd[i],
				 EV_READ | EV_PERSIST, on_readable, t) < 0 ||
		    event_add(t->ev[i], NULL) < 0)
			log_msg(LOG_ERR, "task %llu: cannot watch its output; "
				"it is read when the task ends",
				(unsigned long long)t->id);
	}
}

void output_started(struct output_task *t)
{
	struct timeval tv = { 0, OUTPUT_WATCH_MS * 1000 };
	int pipes = 0;

	for (int i = 0; i < 2; i++) {
		if (t->child[i] >= 0)
			close(t->child[i]);
		t->child[i] = -1;
		pipes += t->fd[i] >= 0;
	}
	if (!pipes)
		return;
	/* A timer costs no system call; a watch on a pipe two. */
	if (t->o->early) {
		on_watch(-1, 0, t);
		return;
	}
	if (!t->watch_ev)
		t->watch_ev = evtimer_new(t->o->base, on_watch, t);
	if (!t->watch_ev || evtimer_add(t->watch_ev, &tv) < 0)
		on_watch(-1, 0, t);
}

/* The leader is gone: one poll says which pipes hold bytes and which have
 * no writer left; a pipe with no writer that gave less than a read asks
 * for is empty and over.  A pipe that holds nothing while some leftover
 * still has it open is not waited for, nor is one that a leftover keeps
 * filling: DRAIN_MAX reads are more than the largest pipe holds. */
static void drain(struct output_task *t)
{
	for (int round = 0;; round++) {
		struct pollfd pf[2];
		int k[2], n = 0, r;

		for (int i = 0; i < 2; i++)
			if (t->fd[i] >= 0) {
				pf[n] = (struct pollfd){ t->fd[i], POLLIN, 0 };
				k[n++] = i;
			}
		if (!n)
			return;
		if (round == DRAIN_MAX) {
			for (int j = 0; j < n; j++)
				end_stream(t, k[j], 0);
			return;
		}
		r = poll(pf, (nfds_t)n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		for (int j = 0; j < n; j++) {
			int i = k[j], hup = (pf[j].revents & POLLHUP) != 0;
			ssize_t got;
			if (r <= 0 || !(pf[j].revents & (POLLIN | POLLHUP |
							 POLLERR | POLLNVAL))) {
				end_stream(t, i, 0);	/* empty, a writer left */
				continue;
			}
			if (!(pf[j].revents & POLLIN)) {
				end_stream(t, i, hup);
				continue;
			}
			int rc = read_once(t, i, &got);
			if (rc || (hup && got < CHUNK))
				end_stream(t, i, rc >= 0);
		}
	}
}

void output_finish(struct output_task *t)
{
	if (t->watch_ev)
		evtimer_del(t->watch_ev);
	for (int i = 0; i < 2; i++) {
		if (t->child[i] >= 0)
			close(t->child[i]);
		t->child[i] = -1;
	}
	drain(t);
	/* Tasks that write little again: back to watching late. */
	if (t->o->early && !t->full && t->bytes < CHUNK &&
	    ++t->o->quiet >= OUTPUT_QUIET) {
		t->o->early = 0;
		t->o->quiet = 0;
	}
}

void output_task_release(struct output_task *t)
{
	if (t->watch_ev)
		event_free(t->watch_ev);
	t->watch_ev = NULL;
	for (int i = 0; i < 2; i++) {
		if (t->ev[i])
			event_free(t->ev[i]);
		t->ev[i] = NULL;
		if (t->ready && t->idle[i] >= 0)
			close(t->idle[i]);
		if (t->ready)
			t->idle[i] = -1;
	}
}
