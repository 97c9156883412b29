/*
 * worker: the worker process (worker.h says what it does).
 *
 * One file, over the usual size, because it is one state machine: the
 * held queue, the connection and its reconnects, the message handlers
 * (a table keyed by frame type) and the stop signals all change the same
 * struct worker from one event loop, and each handler's effect on the
 * queue and the link is easiest to check beside the others.  Its
 * sections: the queue and the link, messages from the scheduler, the
 * connection, stop signals, then worker_run.
 *
 * Runs outlive the link.  A lost scheduler may come back (restarted on
 * the same state directory, or the same one after a network cut), so
 * the tasks that run keep running and the ends of those that finish
 * meanwhile are kept (`away`).  On the next AUTH the worker announces
 * them, lists them in REJOIN frames once the scheduler has proved
 * itself, then reports the kept ends; the scheduler answers KILL for
 * each run it does not take back.  Such a run (a slot marked `kept`)
 * is killed at once and not reported, so that its id is free for the
 * RUN of a later attempt that may follow the KILL.  Tasks not started
 * yet are dropped with the link: the scheduler requeues those.
 *
 * An end sent is not acknowledged: a scheduler killed right after may
 * have read it but not journaled it, or not read it at all.  So the ends
 * sent during the last SENT_KEEP_SECONDS (at most SENT_KEEP_MAX of them)
 * are kept (`sent`) and, when the link is lost, join those kept while
 * away: the next scheduler is told of them again, and takes one it has
 * already ended as a harmless repeat.
 */
#include "worker/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "proto/proto.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "worker/exec.h"
#include "worker/gpus.h"
#include "worker/follow.h"
#include "util/clock.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define HANDSHAKE_TIMEOUT 10	/* seconds from connect to WELCOME */

/*
 * Tasks the scheduler sends wait in `held`, in the order they came, and
 * start strictly in that order, each once this worker's free cores, GPUs
 * and memory allow (the scheduler may send a few more than fit: prefetch).
 * The scheduler applies the same rule to its copy of the queue, so it
 * knows which tasks run without being told of each start: keep the two
 * in step (sched.c, pump).  A killed task's cores and GPUs are free at
 * once, as the scheduler counts them; which GPUs a task gets is this
 * side's choice (gpus.h), the lowest free ones.
 */
struct slot {
	task_id_t id;
	uint32_t attempt;
	unsigned cores;			/* 0 once killed: free at once */
	uint64_t memory;
	uint64_t gpus;			/* a bit per index in worker.gpus */
	double started;			/* monotonic */
	int kept;			/* ran on across a lost link */
	int killed;			/* KILL came; its end is reported */
};

/* The end of a run that came while no scheduler listened, or one sent
 * lately. */
struct away {
	task_id_t id;
	uint32_t attempt;
	struct task_result res;		/* res.reason: `reason` */
	char *reason;
	double sent;			/* monotonic, when sent; in `sent` */
};

/* How long, and how many, ends sent are kept in case the link is lost
 * before the scheduler wrote them down: twice the journal's default
 * flush period. */
#define SENT_KEEP_SECONDS 2.0
#define SENT_KEEP_MAX 4096

enum link_state {
	LINK_DOWN,		/* waiting to reconnect */
	LINK_CONNECTING,	/* TCP connect in progress */
	LINK_HELLO,		/* connected, waiting for HELLO */
	LINK_AUTH,		/* AUTH sent, waiting for WELCOME */
	LINK_READY,
};

struct worker {
	const struct worker_opts *o;
	struct event_base *base;
	struct exec *ex;
	struct bufferevent *bev;
	enum link_state st;
	char name[300];
	char host[256];
	char shost[256];		/* the scheduler: from the options, */
	uint16_t sport;			/* then as `follow` finds it */
	char token[65];
	struct follow follow;
	uint8_t sn[PROTO_NONCE_SIZE], cn[PROTO_NONCE_SIZE];
	uint32_t wid;
	unsigned heartbeat_ms;		/* from WELCOME, then the scheduler's
					   heartbeats */
	int hb_phase;			/* the next heartbeat is off the
					   interval (a change's phase) */
	double last_heard;
	double gone_since;		/* 0: connected or never tried */
	int joined;			/* a scheduler welcomed it once */
	double backoff;
	double death_timeout;
	struct event *reconnect_ev, *hb_ev, *check_ev, *quit_ev;
	struct event *term_ev, *int_ev;
	struct event *flush_ev;		/* end of loop turn: write `out` */
	struct strbuf out;		/* frames not yet written */
	struct proto_msg *held;		/* RUN messages not started yet */
	size_t nheld, aheld;
	struct slot *slots;		/* started, holding cores */
	size_t nslots, aslots;
	struct away *away;		/* ends not reported yet */
	size_t naway, aaway;
	struct away *sent;		/* ends sent lately: [sent_head,
					   nsent), oldest first */
	size_t sent_head, nsent, asent;
	struct proto_claim *claims;	/* announced in AUTH, listed after
					   WELCOME */
	uint32_t nclaims;
	size_t aclaims;
	unsigned cores_used;
	uint64_t memory_used;
	struct gpus gpus;		/* what it offers */
	uint64_t gpus_used;		/* held by started tasks */
	int pumping;
	unsigned noop_running;
	int shutdown;			/* SHUTDOWN received or SIGTERM */
	int stopped;			/* SIGTERM or SIGINT sent to it */
	int orphaned;			/* its parent-death signal came */
	int finishing;
	int exit_code;
	char leave_why[64];		/* told the scheduler as it leaves */
};

static void schedule_reconnect(struct worker *w);
static int scheduler_ended(struct worker *w);
static void finish(struct worker *w, int code);

/* Hand the frames of this loop turn to the socket: at once when nothing
 * is queued before them (one send, no write event to arm and disarm), the
 * rest through the bufferevent, which also reports any error. */
static void flush_out(struct worker *w)
{
	const char *buf = w->out.buf;
	size_t len = w->out.len;

	if (!len)
		return;
	if (w->bev && w->st >= LINK_HELLO) {
		if (evbuffer_get_length(bufferevent_get_output(w->bev)) == 0) {
			ssize_t n = send(bufferevent_getfd(w->bev), buf, len,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0) {
				buf += n;
				len -= (size_t)n;
			}
		}
		if (len)
			bufferevent_write(w->bev, buf, len);
	}
	strbuf_reset(&w->out);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush_out(arg);
}

/* Frames sent in one loop turn (the reports of tasks that ended together)
 * go out in one write at its end. */
static void send_msg(struct worker *w, const struct proto_msg *m)
{
	if (!w->bev || w->st < LINK_HELLO)
		return;
	proto_encode(&w->out, m);
	if (!event_pending(w->flush_ev, EV_TIMEOUT, NULL))
		event_active(w->flush_ev, EV_TIMEOUT, 0);
}

static unsigned running(struct worker *w)
{
	return (w->ex ? exec_running(w->ex) : 0) + w->noop_running;
}

/* After a task end, or a SHUTDOWN: leave once nothing runs.  Runs as its
 * own event so exec has finished its bookkeeping for the ended task. */
static void check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (w->shutdown && !w->finishing && running(w) == 0 && !w->nheld) {
		log_msg(LOG_DEBUG, "no tasks left; leaving");
		finish(w, WORKER_EXIT_OK);
	}
}

static void check_soon(struct worker *w)
{
	event_active(w->check_ev, EV_TIMEOUT, 0);
}

static void quit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(w->base);
}

static void drained_cb(struct bufferevent *bev, void *arg)
{
	struct worker *w = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		event_base_loopbreak(w->base);
}

/* Leave the loop once what is queued for the scheduler has been written
 * (at most a few seconds). */
static void finish(struct worker *w, int code)
{
	struct timeval tv = { 3, 0 };

	w->finishing = 1;
	w->exit_code = code;
	/* An orderly end: say so, so that the scheduler does not take the
	 * closed connection for a lost worker. */
	if (code == WORKER_EXIT_OK && w->st == LINK_READY) {
		struct proto_msg m = { .type = PROTO_SHUTDOWN };
		m.u.shutdown.reason = w->leave_why[0] ? w->leave_why :
			(char *)"no tasks left";
		send_msg(w, &m);
	}
	flush_out(w);
	event_del(w->reconnect_ev);
	event_del(w->hb_ev);
	if (w->bev && w->st >= LINK_HELLO &&
	    evbuffer_get_length(bufferevent_get_output(w->bev))) {
		bufferevent_setcb(w->bev, NULL, drained_cb, NULL, w);
		event_add(w->quit_ev, &tv);
		return;
	}
	event_base_loopbreak(w->base);
}

/* Keep an end for the next scheduler. */
static void keep_away(struct worker *w, task_id_t id, uint32_t attempt,
		      const struct task_result *res)
{
	struct away *a;

	w->away = vec_grow(w->away, &w->aaway, w->naway + 1, sizeof(*w->away));
	a = &w->away[w->naway++];
	a->id = id;
	a->attempt = attempt;
	a->res = *res;
	a->reason = res->reason ? xstrdup(res->reason) : NULL;
	a->res.reason = a->reason;
}

static void drop_away(struct worker *w)
{
	for (size_t k = 0; k < w->naway; k++)
		free(w->away[k].reason);
	w->naway = 0;
}

static void drop_sent(struct worker *w)
{
	for (size_t k = w->sent_head; k < w->nsent; k++)
		free(w->sent[k].reason);
	w->sent_head = w->nsent = 0;
}

/* Forget the ends sent too long ago, and the oldest beyond the bound
 * less `room` (for the next). */
static void prune_sent(struct worker *w, double now, size_t room)
{
	while (w->sent_head < w->nsent &&
	       (w->nsent - w->sent_head + room > SENT_KEEP_MAX ||
		now - w->sent[w->sent_head].sent > SENT_KEEP_SECONDS))
		free(w->sent[w->sent_head++].reason);
	if (w->sent_head == w->nsent) {
		w->sent_head = w->nsent = 0;
	} else if (w->sent_head >= 64 && w->sent_head * 2 >= w->nsent) {
		memmove(w->sent, &w->sent[w->sent_head],
			(w->nsent - w->sent_head) * sizeof(*w->sent));
		w->nsent -= w->sent_head;
		w->sent_head = 0;
	}
}

/* An end just sent; `a` (its reason too) now belongs to `sent`. */
static void keep_sent(struct worker *w, const struct away *a)
{
	double now = clock_monotonic();

	prune_sent(w, now, 1);
	w->sent = vec_grow(w->sent, &w->asent, w->nsent + 1, sizeof(*w->sent));
	w->sent[w->nsent] = *a;
	w->sent[w->nsent].res.reason = a->reason;
	w->sent[w->nsent++].sent = now;
}

/* Has task `id` run here again since `w->sent[k]` ended it? */
static int sent_superseded(const struct worker *w, size_t k)
{
	task_id_t id = w->sent[k].id;

	for (size_t j = k + 1; j < w->nsent; j++)
		if (w->sent[j].id == id)
			return 1;
	for (size_t j = 0; j < w->nslots; j++)
		if (w->slots[j].id == id)
			return 1;
	return 0;
}

/* The link is lost: the ends sent lately may never have been written
 * down, so they are kept as if they came while away (the latest end of
 * each task that does not run here again). */
static void resend_sent(struct worker *w)
{
	size_t n = 0;

	prune_sent(w, clock_monotonic(), 0);
	for (size_t k = w->sent_head; k < w->nsent; k++) {
		struct away *a = &w->sent[k];
		if (sent_superseded(w, k)) {
			free(a->reason);
			continue;
		}
		w->away = vec_grow(w->away, &w->aaway, w->naway + 1,
				   sizeof(*w->away));
		w->away[w->naway] = *a;
		w->away[w->naway++].res.reason = a->reason;
		n++;
	}
	w->sent_head = w->nsent = 0;
	if (n)
		log_msg(LOG_DEBUG, "keeping %zu end%s sent lately for the "
			"next scheduler", n, n == 1 ? "" : "s");
}

static void report(struct worker *w, task_id_t id, uint32_t attempt,
		   const struct task_result *res)
{
	struct proto_msg m = { .type = PROTO_DONE };

	m.u.done.task_id = id;
	m.u.done.attempt = attempt;
	m.u.done.exit_code = res->exit_code;
	m.u.done.signal = res->signal;
	m.u.done.runtime_us = (uint64_t)(res->runtime * 1e6);
	m.u.done.peak_memory = res->peak_memory;
	m.u.done.reason = (char *)(res->reason ? res->reason : "");
	m.u.done.spawn_us = (uint64_t)(res->spawn * 1e6);
	m.u.done.output_us = (uint64_t)(res->output * 1e6);
	log_msg(LOG_DEBUG, "task %llu ended: exit %d signal %d%s%s",
		(unsigned long long)id, res->exit_code, res->signal,
		res->reason ? ": " : "", res->reason ? res->reason : "");
	if (w->st == LINK_READY) {
		struct away a = { .id = id, .attempt = attempt, .res = *res,
			.reason = res->reason ? xstrdup(res->reason) : NULL };
		send_msg(w, &m);
		keep_sent(w, &a);
	} else {
		keep_away(w, id, attempt, res);
	}
	check_soon(w);
}

static struct slot *slot_of(struct worker *w, task_id_t id)
{
	for (size_t k = 0; k < w->nslots; k++)
		if (w->slots[k].id == id)
			return &w->slots[k];
	return NULL;
}

/* Give back a started task's cores (a killed one gave them at once). */
static void free_cores(struct worker *w, struct slot *sl)
{
	w->cores_used -= sl->cores;
	w->memory_used -= sl->memory;
	w->gpus_used &= ~sl->gpus;
	sl->cores = 0;
	sl->memory = 0;
	sl->gpus = 0;
}

/* A started task is over: give back its cores and forget it.  Returns
 * 1 when it held cores (it was not killed), with its attempt in
 * *attempt (0 when the task is not known here). */
static int release(struct worker *w, task_id_t id, uint32_t *attempt)
{
	struct slot *sl = slot_of(w, id);
	int held;

	*attempt = sl ? sl->attempt : 0;
	if (!sl)
		return 0;
	held = !sl->killed;
	free_cores(w, sl);
	*sl = w->slots[--w->nslots];
	return held;
}

static int fits(const struct worker *w, const struct proto_run *r)
{
	if (w->o->cores - w->cores_used < r->cores)
		return 0;
	if (gpus_free(&w->gpus, w->gpus_used) < r->gpus)
		return 0;
	if (r->memory_limit && w->o->memory &&
	    w->o->memory - w->memory_used < r->memory_limit)
		return 0;
	return 1;
}

static void start(struct worker *w, struct proto_run *r)
{
	struct err err = { "" };
	struct strbuf visible = STRBUF_INIT;
	uint64_t gpus = gpus_take(&w->gpus, &w->gpus_used, r->gpus);
	struct exec_task t = {
		.id = r->task_id,
		.argv = r->argv,
		.env = r->env && r->env[0] ? r->env : NULL,
		.cwd = r->cwd && *r->cwd ? r->cwd : NULL,
		.has_index = r->has_index,
		.array_index = r->array_index,
		.memory_limit = r->memory_limit,
		.time_limit = r->time_limit,
		.stdout_path = r->stdout_path && *r->stdout_path ?
			r->stdout_path : NULL,
		.stderr_path = r->stderr_path && *r->stderr_path ?
			r->stderr_path : NULL,
		.log_dir = r->log_dir && *r->log_dir ? r->log_dir : NULL,
		.attempt = r->attempt,
	};

	/* a worker with GPUs names a task exactly its own, none included */
	gpus_list(&w->gpus, gpus, &visible);
	if (w->gpus.n)
		t.visible_gpus = visible.buf;
	log_msg(LOG_DEBUG, "starting task %llu%s%s",
		(unsigned long long)r->task_id, gpus ? " on GPUs " : "",
		visible.buf);
	w->slots = vec_grow(w->slots, &w->aslots, w->nslots + 1, sizeof(*w->slots));
	w->slots[w->nslots++] = (struct slot){
		.id = r->task_id, .attempt = r->attempt, .cores = r->cores,
		.memory = r->memory_limit, .gpus = gpus,
		.started = clock_monotonic(),
	};
	w->cores_used += r->cores;
	w->memory_used += r->memory_limit;
	if (exec_start(w->ex, &t, &err) < 0) {
		char reason[300];
		struct task_result res = { .exit_code = 127 };
		snprintf(reason, sizeof(reason), "spawn failed: %s", err.text);
		res.reason = reason;
		log_msg(LOG_WARNING, "task %llu: %s",
			(unsigned long long)r->task_id, reason);
		uint32_t attempt;
		release(w, r->task_id, &attempt);
		report(w, r->task_id, r->attempt, &res);
	}
	strbuf_release(&visible);
}

/* Start held tasks in order while they fit.  A start that fails frees
 * its cores again at once, so the loop goes on. */
static void pump(struct worker *w)
{
	if (w->pumping)
		return;
	w->pumping = 1;
	while (w->nheld && !w->finishing && fits(w, &w->held[0].u.run)) {
		struct proto_msg m = w->held[0];
		memmove(&w->held[0], &w->held[1],
			(w->nheld - 1) * sizeof(*w->held));
		w->nheld--;
		start(w, &m.u.run);
		proto_msg_release(&m);
	}
	w->pumping = 0;
}

/* A task ended: start what its cores let start, then report it, so the
 * next task does not wait for the report's round trip. */
static void exec_done(void *arg, task_id_t id, const struct task_result *res)
{
	struct worker *w = arg;
	uint32_t attempt;

	if (release(w, id, &attempt))
		pump(w);
	report(w, id, attempt, res);
}

static void drop_held(struct worker *w)
{
	for (size_t k = 0; k < w->nheld; k++)
		proto_msg_release(&w->held[k]);
	w->nheld = 0;
}

/* The scheduler requeues whatever ran on a lost connection, so tasks
 * still running here would only run twice: stop them. */
static void reset_exec(struct worker *w)
{
	if (w->ex && exec_running(w->ex)) {
		log_msg(LOG_WARNING, "killing %u running tasks",
			exec_running(w->ex));
		exec_destroy(w->ex);
		w->ex = exec_create(w->base, w->name, exec_done, w);
	}
	if (w->nheld)
		log_msg(LOG_WARNING, "dropping %zu tasks not started", w->nheld);
	drop_held(w);
	drop_away(w);
	drop_sent(w);
	w->nslots = 0;
	w->cores_used = 0;
	w->memory_used = 0;
	w->gpus_used = 0;
	w->noop_running = 0;
}

/* The link is gone, the runs stay (see the top of the file). */
static void keep_runs(struct worker *w)
{
	if (w->nheld)
		log_msg(LOG_INFO, "dropping %zu tasks not started: the "
			"scheduler requeues them", w->nheld);
	drop_held(w);
	resend_sent(w);
	for (size_t k = 0; k < w->nslots; k++)
		w->slots[k].kept = 1;
	w->noop_running = 0;
}

static void link_down(struct worker *w, const char *why)
{
	enum link_state was = w->st;

	if (w->bev) {
		bufferevent_free(w->bev);
		w->bev = NULL;
	}
	strbuf_reset(&w->out);
	w->st = LINK_DOWN;
	event_del(w->hb_ev);
	if (w->finishing) {
		event_base_loopbreak(w->base);
		return;
	}
	if (w->shutdown && was == LINK_READY) {
		/* Told to finish, and the scheduler is gone: nothing to wait
		 * for. */
		reset_exec(w);
		finish(w, WORKER_EXIT_OK);
		return;
	}
	if (w->o->state_dir && scheduler_ended(w)) {
		log_msg(LOG_DEBUG, "the scheduler ended; leaving");
		reset_exec(w);
		finish(w, WORKER_EXIT_OK);
		return;
	}
	/* Closed right after our proof: the scheduler did not accept it,
	 * unless it is a new one with a new token, which the next attempt
	 * reads. */
	if (was == LINK_AUTH && !strcmp(why, "connection closed") &&
	    !follow_token_changed(&w->follow, w->token)) {
		log_msg(LOG_ERR, "scheduler at '%s:%u' refused this worker "
			"(wrong token?)", w->shost, w->sport);
		reset_exec(w);
		finish(w, WORKER_EXIT_USAGE);
		return;
	}
	if (was == LINK_READY) {
		log_msg(LOG_WARNING, "lost the scheduler at '%s:%u': %s; "
			"keeping %zu running task%s", w->shost, w->sport, why,
			w->nslots, w->nslots == 1 ? "" : "s");
		keep_runs(w);
		w->backoff = 0;
	} else {
		log_msg(LOG_DEBUG, "cannot reach the scheduler at '%s:%u': %s",
			w->shost, w->sport, why);
	}
	if (!w->gone_since)
		w->gone_since = clock_monotonic();
	schedule_reconnect(w);
}

/* --- messages from the scheduler ---------------------------------------- */

/* The batch job this worker runs in, as the job script exported it in
 * the same words on every batch system (jobscripts/): CLUSTER_JOB_ID,
 * CLUSTER_JOB_INDEX (-1: no array), CLUSTER_JOB_END (Unix seconds, 0:
 * unknown).  Unset or unreadable values say "no job", "no element",
 * "unknown". */
static void job_from_env(struct proto_auth *a)
{
	const char *id = getenv("CLUSTER_JOB_ID");
	const char *index = getenv("CLUSTER_JOB_INDEX");
	const char *end = getenv("CLUSTER_JOB_END");
	char *rest;

	a->job_id = (char *)(id ? id : "");
	a->job_index = -1;
	a->job_end = 0;
	if (index && *index) {
		long long v = strtoll(index, &rest, 10);
		if (!*rest && v >= 0)
			a->job_index = v;
	}
	if (end && *end) {
		unsigned long long v = strtoull(end, &rest, 10);
		if (!*rest && *end != '-')
			a->job_end = v;
	}
}

/* What AUTH announces and REJOIN lists: the runs going on (not those
 * being killed) and the ends kept, as they are now.  Between AUTH and
 * WELCOME nothing starts, so a run that ends meanwhile is still listed,
 * its end among those reported after the list. */
static void snapshot_claims(struct worker *w)
{
	double now = clock_monotonic();

	w->nclaims = 0;
	w->claims = vec_grow(w->claims, &w->aclaims, w->nslots + w->naway,
			     sizeof(*w->claims));
	for (size_t k = 0; k < w->nslots; k++) {
		const struct slot *sl = &w->slots[k];
		if (!sl->killed)
			w->claims[w->nclaims++] = (struct proto_claim){
				sl->id, sl->attempt,
				(uint64_t)((now - sl->started) * 1e6) };
	}
	for (size_t k = 0; k < w->naway; k++)
		w->claims[w->nclaims++] = (struct proto_claim){
			w->away[k].id, w->away[k].attempt,
			(uint64_t)(w->away[k].res.runtime * 1e6) };
}

/* Right after WELCOME: the runs announced, then the ends kept. */
static void send_claims(struct worker *w)
{
	size_t ended = w->naway;

	for (uint32_t k = 0; k < w->nclaims; k += PROTO_MAX_LIST) {
		struct proto_msg m = { .type = PROTO_REJOIN };
		m.u.rejoin.count = w->nclaims - k < PROTO_MAX_LIST ?
			w->nclaims - k : PROTO_MAX_LIST;
		m.u.rejoin.claims = &w->claims[k];
		send_msg(w, &m);
	}
	for (size_t k = 0; k < w->naway; k++) {
		struct away *a = &w->away[k];
		struct proto_msg m = { .type = PROTO_DONE };
		m.u.done.task_id = a->id;
		m.u.done.attempt = a->attempt;
		m.u.done.exit_code = a->res.exit_code;
		m.u.done.signal = a->res.signal;
		m.u.done.runtime_us = (uint64_t)(a->res.runtime * 1e6);
		m.u.done.peak_memory = a->res.peak_memory;
		m.u.done.reason = a->reason ? a->reason : (char *)"";
		m.u.done.spawn_us = (uint64_t)(a->res.spawn * 1e6);
		m.u.done.output_us = (uint64_t)(a->res.output * 1e6);
		send_msg(w, &m);
		keep_sent(w, a);	/* it owns the reason now */
	}
	w->naway = 0;
	if (w->nclaims)
		log_msg(LOG_INFO, "told the scheduler of %u task%s kept from "
			"before (%zu ended meanwhile)", w->nclaims,
			w->nclaims == 1 ? "" : "s", ended);
	w->nclaims = 0;
}

static int on_hello(struct worker *w, struct proto_msg *m)
{
	struct proto_msg a = { .type = PROTO_AUTH };

	if (w->st != LINK_HELLO) {
		link_down(w, "unexpected 'hello'");
		return -1;
	}
	memcpy(w->sn, m->u.hello.nonce, sizeof(w->sn));
	if (proto_random(w->cn, sizeof(w->cn)) < 0) {
		link_down(w, "no random bytes for the handshake");
		return -1;
	}
	memcpy(a.u.auth.nonce, w->cn, sizeof(w->cn));
	proto_mac(w->token, "worker", w->sn, w->cn, a.u.auth.mac);
	a.u.auth.name = w->name;
	a.u.auth.host = w->host;
	a.u.auth.pid = (uint32_t)getpid();
	a.u.auth.cores = w->o->cores;
	a.u.auth.memory = w->o->memory;
	a.u.auth.gpus = w->gpus.n;
	job_from_env(&a.u.auth);
	snapshot_claims(w);
	a.u.auth.tasks = w->nclaims;
	send_msg(w, &a);
	w->st = LINK_AUTH;
	return 0;
}

/* The next heartbeat in `ms`, then one an interval. */
static void arm_heartbeat_in(struct worker *w, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	w->hb_phase = ms != w->heartbeat_ms;
	event_add(w->hb_ev, &tv);
}

static void arm_heartbeat(struct worker *w)
{
	arm_heartbeat_in(w, w->heartbeat_ms);
}

static void send_heartbeat(struct worker *w)
{
	struct proto_msg m = { .type = PROTO_HEARTBEAT };

	m.u.heartbeat.time_ms = (uint64_t)(clock_monotonic() * 1000.0);
	m.u.heartbeat.running = running(w);
	m.u.heartbeat.interval_ms = w->heartbeat_ms;
	send_msg(w, &m);
}

static int on_welcome(struct worker *w, struct proto_msg *m)
{
	uint8_t want[PROTO_MAC_SIZE];

	if (w->st != LINK_AUTH) {
		link_down(w, "unexpected 'welcome'");
		return -1;
	}
	proto_mac(w->token, "server", w->cn, w->sn, want);
	if (!proto_mac_equal(want, m->u.welcome.mac) &&
	    follow_token_changed(&w->follow, w->token)) {
		link_down(w, "the token changed");
		return -1;
	}
	if (!proto_mac_equal(want, m->u.welcome.mac)) {
		log_msg(LOG_ERR, "scheduler at '%s:%u' does not know the token; "
			"not working for it", w->shost, w->sport);
		w->st = LINK_HELLO;	/* not a refusal: do not log one */
		finish(w, WORKER_EXIT_USAGE);
		return -1;
	}
	w->st = LINK_READY;
	bufferevent_set_timeouts(w->bev, NULL, NULL);
	w->wid = m->u.welcome.worker_id;
	w->heartbeat_ms = m->u.welcome.heartbeat_ms ? m->u.welcome.heartbeat_ms
		: 5000;
	w->gone_since = 0;
	int first = !w->joined;
	w->joined = 1;
	exec_set_log_size(w->ex, w->o->log_size);	/* reopened per scheduler */
	w->backoff = 0;
	arm_heartbeat(w);
	log_msg(first && w->o->say_joined ? LOG_INFO : LOG_DEBUG,
		"joined the scheduler at '%s:%u' as worker %u",
		w->shost, w->sport, w->wid);
	send_claims(w);
	return 0;
}

static int on_run(struct worker *w, struct proto_msg *m)
{
	struct proto_run *r = &m->u.run;

	if (w->st != LINK_READY) {
		link_down(w, "'run' before the handshake");
		return -1;
	}
	if (w->shutdown) {
		/* Draining: the scheduler requeues it when we leave. */
		log_msg(LOG_DEBUG, "not starting task %llu: leaving",
			(unsigned long long)r->task_id);
		return 0;
	}
	if (w->o->bench_noop) {
		struct task_result res = { 0 };
		report(w, r->task_id, r->attempt, &res);
		return 0;
	}
	if (r->cores > w->o->cores || r->gpus > w->gpus.n ||
	    (r->memory_limit && w->o->memory &&
	     r->memory_limit > w->o->memory)) {
		/* The scheduler never sends these; do not let one block the
		 * queue for good. */
		struct task_result res = { .exit_code = 127,
			.reason = "spawn failed: larger than this worker" };
		log_msg(LOG_WARNING, "task %llu needs %u cores, %u GPUs and "
			"%llu bytes: more than this worker has",
			(unsigned long long)r->task_id, r->cores, r->gpus,
			(unsigned long long)r->memory_limit);
		report(w, r->task_id, r->attempt, &res);
		return 0;
	}
	w->held = vec_grow(w->held, &w->aheld, w->nheld + 1, sizeof(*w->held));
	w->held[w->nheld++] = *m;
	memset(m, 0, sizeof(*m));	/* the queue owns its strings now */
	pump(w);
	return 0;
}

static int on_kill(struct worker *w, struct proto_msg *m)
{
	if (w->st != LINK_READY) {
		link_down(w, "'kill' before the handshake");
		return -1;
	}
	task_id_t id = m->u.kill.task_id;
	for (size_t k = 0; k < w->nheld; k++) {
		if (w->held[k].u.run.task_id != id)
			continue;
		struct task_result res = { .reason = "cancelled" };
		uint32_t attempt = w->held[k].u.run.attempt;
		log_msg(LOG_DEBUG, "dropping task %llu before its start",
			(unsigned long long)id);
		proto_msg_release(&w->held[k]);
		memmove(&w->held[k], &w->held[k + 1],
			(w->nheld - k - 1) * sizeof(*w->held));
		w->nheld--;
		report(w, id, attempt, &res);
		pump(w);
		return 0;
	}
	struct slot *sl = slot_of(w, id);
	if (sl && sl->kept) {
		/* A run from before the link was lost that the scheduler
		 * does not take back (or now cancels): gone at once, so a
		 * RUN of its next attempt finds the id free. */
		uint32_t attempt;
		log_msg(LOG_INFO, "killing task %llu (attempt %u), kept "
			"across a lost link: the scheduler stops it",
			(unsigned long long)id, sl->attempt);
		exec_discard(w->ex, id);
		release(w, id, &attempt);
		pump(w);
		return 0;
	}
	if (!sl) {
		log_msg(LOG_DEBUG, "task %llu to kill is not running here",
			(unsigned long long)id);
		return 0;
	}
	log_msg(LOG_DEBUG, "killing task %llu", (unsigned long long)id);
	exec_kill(w->ex, id);
	if (!sl->killed) {
		free_cores(w, sl);
		sl->killed = 1;
		pump(w);
	}
	return 0;
}

/* The scheduler scales the interval with its number of workers: keep the
 * new one from now on, and say so at once, so that it holds this worker
 * to the new interval only once this worker keeps it. */
static int on_heartbeat(struct worker *w, struct proto_msg *m)
{
	unsigned told = m->u.heartbeat.interval_ms;

	if (w->st != LINK_READY || !told || told == w->heartbeat_ms)
		return 0;
	log_msg(LOG_DEBUG, "heartbeat interval %g s (was %g s)", told / 1000.0,
		w->heartbeat_ms / 1000.0);
	w->heartbeat_ms = told;
	send_heartbeat(w);
	/* All workers hear of it within one round of the scheduler's: a
	 * phase by worker id spreads their next heartbeats over the new
	 * interval instead of bunching them in that round. */
	arm_heartbeat_in(w, 1 + (unsigned)((w->wid * 2654435761u) % told));
	return 0;
}

static int on_shutdown(struct worker *w, struct proto_msg *m)
{
	const char *why = m->u.shutdown.reason;

	log_msg(LOG_DEBUG, "scheduler asks to finish%s%s; %u tasks running, "
		"%zu waiting", why && *why ? ": " : "", why ? why : "",
		running(w), w->nheld);
	w->shutdown = 1;
	check_soon(w);
	return 0;
}

typedef int (*handler_fn)(struct worker *w, struct proto_msg *m);

/* What a scheduler may send. */
static const handler_fn handlers[PROTO_TYPE_MAX + 1] = {
	[PROTO_HELLO] = on_hello,
	[PROTO_WELCOME] = on_welcome,
	[PROTO_RUN] = on_run,
	[PROTO_KILL] = on_kill,
	[PROTO_HEARTBEAT] = on_heartbeat,
	[PROTO_SHUTDOWN] = on_shutdown,
};

/* --- connection ----------------------------------------------------------- */

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct worker *w = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct err err = { "" };

	w->last_heard = clock_monotonic();
	while (w->bev == bev && !w->finishing) {
		struct proto_msg m;
		int got = proto_read(in, PROTO_MAX_FRAME, &m, &err);
		if (got < 0) {
			link_down(w, err.text);
			return;
		}
		if (!got)
			break;
		handler_fn fn = m.type > 0 && m.type <= PROTO_TYPE_MAX ?
			handlers[m.type] : NULL;
		int rc;
		if (fn) {
			rc = fn(w, &m);
		} else {
			char why[96];
			snprintf(why, sizeof(why), "unexpected '%s' frame",
				 proto_type_name(m.type));
			link_down(w, why);
			rc = -1;
		}
		proto_msg_release(&m);
		if (rc < 0)
			return;
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct worker *w = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
			   &one, sizeof(one));
		w->st = LINK_HELLO;
		w->last_heard = clock_monotonic();
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		link_down(w, "no answer in time");
	else if (what & BEV_EVENT_EOF)
		link_down(w, "connection closed");
	else if (what & BEV_EVENT_ERROR)
		link_down(w, strerror(EVUTIL_SOCKET_ERROR()));
}

static void try_connect(struct worker *w)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char portstr[16];
	int rc;

	snprintf(portstr, sizeof(portstr), "%u", w->sport);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(w->shost, portstr, &hints, &res);
	if (rc) {
		link_down(w, gai_strerror(rc));
		return;
	}
	w->bev = bufferevent_socket_new(w->base, -1,
					BEV_OPT_CLOSE_ON_FREE);
	if (!w->bev) {
		freeaddrinfo(res);
		link_down(w, "cannot create a socket");
		return;
	}
	bufferevent_setcb(w->bev, read_cb, NULL, event_cb, w);
	bufferevent_enable(w->bev, EV_READ | EV_WRITE);
	/* Until WELCOME: a scheduler that accepts and then says nothing is
	 * as good as none. */
	struct timeval hs = { HANDSHAKE_TIMEOUT, 0 };
	bufferevent_set_timeouts(w->bev, &hs, &hs);
	w->st = LINK_CONNECTING;
	rc = bufferevent_socket_connect(w->bev, res->ai_addr,
					(int)res->ai_addrlen);
	freeaddrinfo(res);
	if (rc < 0)
		link_down(w, strerror(errno));
}

/* A scheduler that ends in order removes its address file; one that
 * crashed leaves it behind, and the death timeout applies. */
static int scheduler_ended(struct worker *w)
{
	struct strbuf path = STRBUF_INIT;
	int gone;

	strbuf_addf(&path, "%s/address", w->o->state_dir);
	gone = access(path.buf, F_OK) < 0 && errno == ENOENT;
	strbuf_release(&path);
	return gone;
}

static void reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (w->o->state_dir && scheduler_ended(w)) {
		log_msg(LOG_DEBUG, "the scheduler ended; leaving");
		reset_exec(w);
		finish(w, WORKER_EXIT_OK);
		return;
	}
	if (w->gone_since && clock_monotonic() - w->gone_since > w->death_timeout) {
		/* Never welcomed: a failure of the job, not the end of one. */
		log_msg(LOG_ERR, "scheduler at '%s:%u' %s for %.0f s; exiting",
			w->shost, w->sport,
			w->joined ? "gone" : "never answered",
			clock_monotonic() - w->gone_since);
		reset_exec(w);
		finish(w, w->joined ? WORKER_EXIT_GONE : WORKER_EXIT_NEVER);
		return;
	}
	/* A restarted scheduler may listen elsewhere, with a new token. */
	if (follow_refresh(&w->follow, w->shost, &w->sport, w->token))
		log_msg(LOG_INFO, "read the scheduler's address '%s:%u' and "
			"token anew from the state directory", w->shost,
			w->sport);
	try_connect(w);
}

static void schedule_reconnect(struct worker *w)
{
	w->backoff = w->backoff ? w->backoff * 2 : 0.05;
	if (w->backoff > 2.0)
		w->backoff = 2.0;
	struct timeval tv = { (time_t)w->backoff,
			      (suseconds_t)((w->backoff - (time_t)w->backoff) * 1e6) };
	event_add(w->reconnect_ev, &tv);
}

static void heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	double now = clock_monotonic();

	(void)fd;
	(void)what;
	if (w->st != LINK_READY)
		return;
	if (w->hb_phase)
		arm_heartbeat(w);	/* the phase is over: every interval */
	if (now - w->last_heard > 3.0 * w->heartbeat_ms / 1000.0) {
		link_down(w, "missed heartbeats");
		return;
	}
	send_heartbeat(w);
}

/* --- stop signals -----------------------------------------------------
 *
 * SIGTERM comes two ways.  Sent to stop the worker (the nanny passing on
 * a stop of the job, a user, the batch system; SIGINT alike): the first
 * lets the running tasks finish, the next kills them.  Or as the
 * parent-death signal the nanny sets (nanny.c): the rank is gone.  The
 * kernel sends that one as SI_USER from the dead parent's pid, at each
 * step of finding the worker a new parent, so more than once for one
 * death, and it counts once: after a stop (the nanny was killed after
 * passing one on) it kills the running tasks; else (the rank was killed
 * outright, or lost under MPI's recovery) they finish, as cluster-rank(1)
 * promises.  The nanny passes stops on with sigqueue (SI_QUEUE), so the
 * handler can tell the two apart as the signal is delivered; it hands the
 * loop one byte each.  Without a parent-death signal (a worker started
 * from a shell) every SIGTERM is a stop.
 */
#define SIG_STOP 's'
#define SIG_PARENT_DIED 'p'

static int sig_pipe[2] = { -1, -1 };
static pid_t first_parent;		/* 0: no parent-death SIGTERM */

static void on_term(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;
	char c = first_parent && si && si->si_code == SI_USER &&
		si->si_pid == first_parent ? SIG_PARENT_DIED : SIG_STOP;

	(void)sig;
	(void)ctx;
	if (write(sig_pipe[1], &c, 1) < 0) {
		/* full pipe: the loop has plenty to read already */
	}
	errno = saved;
}

static void stop(struct worker *w, int sig)
{
	w->stopped = 1;
	if (w->shutdown) {
		log_msg(LOG_WARNING, "signal %d again: killing %u running tasks",
			sig, running(w));
		reset_exec(w);
		finish(w, WORKER_EXIT_OK);
		return;
	}
	log_msg(LOG_INFO, "signal %d: finishing %u running tasks", sig,
		running(w));
	snprintf(w->leave_why, sizeof(w->leave_why), "signal %d", sig);
	w->shutdown = 1;
	check_soon(w);
}

static void parent_died(struct worker *w)
{
	if (w->orphaned) {
		log_msg(LOG_DEBUG, "signal %d again from its dead rank: the "
			"same death", SIGTERM);
		return;
	}
	w->orphaned = 1;
	if (w->stopped) {
		log_msg(LOG_WARNING, "signal %d again (its rank is gone): "
			"killing %u running tasks", SIGTERM, running(w));
		reset_exec(w);
		finish(w, WORKER_EXIT_OK);
		return;
	}
	log_msg(LOG_INFO, "signal %d: finishing %u running tasks (its rank "
		"is gone)", SIGTERM, running(w));
	snprintf(w->leave_why, sizeof(w->leave_why), "its rank is gone");
	w->shutdown = 1;
	check_soon(w);
}

static void term_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	char buf[64];
	ssize_t n;

	(void)what;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n && !w->finishing; i++) {
			if (buf[i] == SIG_PARENT_DIED)
				parent_died(w);
			else
				stop(w, SIGTERM);
		}
	}
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	stop(arg, (int)sig);
}

int worker_run(const struct worker_opts *o)
{
	struct worker w = { 0 };
	struct sigaction sa = { 0 }, old_term;
	int rc = WORKER_EXIT_ERROR, term_set = 0;

	w.o = o;
	w.exit_code = WORKER_EXIT_ERROR;
	snprintf(w.shost, sizeof(w.shost), "%s", o->host ? o->host : "");
	w.sport = o->port;
	snprintf(w.token, sizeof(w.token), "%s", o->token ? o->token : "");
	follow_init(&w.follow, o->state_dir, w.shost, w.sport, w.token);
	strbuf_init(&w.out, 0);
	struct err err = { "" };
	if (gpus_detect(&w.gpus, o->gpus, "worker.gpus", &err) < 0) {
		log_msg(LOG_ERR, "%s", err.text);
		strbuf_release(&w.out);
		return WORKER_EXIT_USAGE;
	}
	if (w.gpus.n) {
		struct strbuf all = STRBUF_INIT;
		gpus_list(&w.gpus, ~(uint64_t)0, &all);
		log_msg(LOG_DEBUG, "offering %u GPU%s: %s", w.gpus.n,
			w.gpus.n == 1 ? "" : "s", all.buf);
		strbuf_release(&all);
	}
	if (gethostname(w.host, sizeof(w.host)) < 0)
		snprintf(w.host, sizeof(w.host), "localhost");
	w.host[sizeof(w.host) - 1] = '\0';
	if (o->name)
		snprintf(w.name, sizeof(w.name), "%s", o->name);
	else
		snprintf(w.name, sizeof(w.name), "%s:%ld", w.host, (long)getpid());
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);	/* past ulimit -f: a failed write */
	int pdeath = 0;
	first_parent = prctl(PR_GET_PDEATHSIG, &pdeath, 0, 0, 0) == 0 &&
		pdeath == SIGTERM ? getppid() : 0;
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		sig_pipe[0] = sig_pipe[1] = -1;

	w.base = event_base_new();
	if (!w.base) {
		log_msg(LOG_ERR, "cannot create an event loop");
		goto out;
	}
	w.ex = exec_create(w.base, w.name, exec_done, &w);
	w.reconnect_ev = evtimer_new(w.base, reconnect_cb, &w);
	w.hb_ev = event_new(w.base, -1, EV_PERSIST, heartbeat_cb, &w);
	w.check_ev = event_new(w.base, -1, 0, check_cb, &w);
	w.quit_ev = evtimer_new(w.base, quit_cb, &w);
	w.term_ev = sig_pipe[0] < 0 ? NULL :
		event_new(w.base, sig_pipe[0], EV_READ | EV_PERSIST, term_cb,
			  &w);
	w.int_ev = evsignal_new(w.base, SIGINT, signal_cb, &w);
	w.flush_ev = event_new(w.base, -1, 0, flush_cb, &w);
	if (!w.ex || !w.reconnect_ev || !w.hb_ev || !w.check_ev || !w.quit_ev ||
	    !w.term_ev || !w.int_ev || !w.flush_ev) {
		log_msg(LOG_ERR, "cannot set up the worker's event loop");
		goto out;
	}
	sa.sa_sigaction = on_term;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGTERM, &sa, &old_term);
	term_set = 1;
	event_add(w.term_ev, NULL);
	event_add(w.int_ev, NULL);
	w.death_timeout = o->death_timeout > 0 ? o->death_timeout : 60.0;
	try_connect(&w);
	event_base_dispatch(w.base);
	rc = w.exit_code;
out:
	if (w.bev)
		bufferevent_free(w.bev);
	exec_destroy(w.ex);
	if (w.reconnect_ev)
		event_free(w.reconnect_ev);
	if (w.hb_ev)
		event_free(w.hb_ev);
	if (w.check_ev)
		event_free(w.check_ev);
	if (w.quit_ev)
		event_free(w.quit_ev);
	if (term_set)
		sigaction(SIGTERM, &old_term, NULL);
	if (w.term_ev)
		event_free(w.term_ev);
	for (int k = 0; k < 2; k++) {
		if (sig_pipe[k] >= 0)
			close(sig_pipe[k]);
		sig_pipe[k] = -1;
	}
	if (w.int_ev)
		event_free(w.int_ev);
	if (w.flush_ev)
		event_free(w.flush_ev);
	if (w.base)
		event_base_free(w.base);
	gpus_release(&w.gpus);
	drop_held(&w);
	drop_away(&w);
	drop_sent(&w);
	free(w.held);
	free(w.slots);
	free(w.away);
	free(w.sent);
	free(w.claims);
	strbuf_release(&w.out);
	return rc;
}
