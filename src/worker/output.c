/*
 * output: task pipes into the worker log (why in output.h).
 *
 * The read ends are non-blocking so that finishing a task never waits on
 * a writer that left the task's process group (a daemon it started); the
 * write ends stay blocking, as a task expects of its stdout.  Events are
 * made once per task slot and reused, as exec does with its own.
 */
#include "worker/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "state/worklog.h"
#include "util/err.h"
#include "util/log.h"
#include "util/xalloc.h"

#define CHUNK (64 * 1024)

struct output {
	struct event_base *base;
	char *name;
	char *dir;			/* of the last task; NULL: none yet */
	struct worklog *wl;
	uint64_t max;
	int failed;			/* said once until the log works */
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
	for (int i = 0; i < 2; i++)
		t->fd[i] = t->child[i] = -1;
	if (dir && (!o->dir || strcmp(o->dir, dir))) {
		output_reset(o);
		free(o->dir);
		o->dir = xstrdup(dir);
	}
}

int output_pipe(struct output_task *t, enum task_stream stream)
{
	int i = stream == TASK_STDERR ? 1 : 0, p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		int saved = errno;
		close(p[0]);
		close(p[1]);
		errno = saved;
		return -1;
	}
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

static void close_stream(struct output_task *t, int i)
{
	if (t->ev[i])
		event_del(t->ev[i]);
	if (t->fd[i] >= 0)
		close(t->fd[i]);
	t->fd[i] = -1;
}

/* Read what the pipe holds now; 1 when it is done (end or error). */
static int drain(struct output_task *t, int i, int once)
{
	for (;;) {
		ssize_t n = read(t->fd[i], t->o->buf, CHUNK);
		if (n > 0) {
			keep(t, i, t->o->buf, (size_t)n);
			if (once)
				return 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		return 1;
	}
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct output_task *t = arg;
	int i = t->fd[1] == fd ? 1 : 0;

	(void)what;
	/* One read a wake-up: a chatty task does not starve the loop. */
	if (drain(t, i, 1))
		close_stream(t, i);
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
	if (!t->watch_ev)
		t->watch_ev = evtimer_new(t->o->base, on_watch, t);
	if (!t->watch_ev || evtimer_add(t->watch_ev, &tv) < 0)
		on_watch(-1, 0, t);
}

void output_finish(struct output_task *t)
{
	if (t->watch_ev)
		evtimer_del(t->watch_ev);
	for (int i = 0; i < 2; i++) {
		if (t->child[i] >= 0)
			close(t->child[i]);
		t->child[i] = -1;
		if (t->fd[i] >= 0)
			drain(t, i, 0);
		close_stream(t, i);
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
	}
}
