/*
 * workers: connections from workers, from the first HELLO to the loss.
 * See workers.h for the protocol's course; the why of the write path is
 * at conn_write, that of rejoins at on_rejoin.
 *
 * One file, over the usual size, because every part of it (accept, the
 * handshake, the frame handlers, rejoins, heartbeats, the write path)
 * changes the same struct conn and struct workers, and a connection's
 * course is easiest to follow in one place.
 */
#include "server/workers.h"

#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "server/events.h"
#include "server/heartbeat.h"
#include "util/accept.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/clock.h"
#include "util/units.h"
#include "util/xalloc.h"

#define HANDSHAKE_TIMEOUT 10		/* seconds from accept to AUTH, however
					   the bytes trickle in */

#define MAX_HANDSHAKES 256		/* connections not yet past AUTH; more
					   wait in the kernel's backlog */

enum conn_state { CONN_HELLO, CONN_READY };

struct conn {
	struct workers *wk;
	struct conn *prev, *next;	/* every connection */
	struct conn *next_dirty;	/* has frames in `out` to write */
	struct bufferevent *bev;
	struct event *deadline_ev;	/* the handshake's end, until AUTH */
	char addr[80];
	enum conn_state st;
	uint8_t nonce[PROTO_NONCE_SIZE];
	worker_id_t wid;
	char *name;
	char *host;			/* its host, from AUTH; NULL: none given */
	char *job_id;			/* its batch job, from AUTH */
	int64_t job_index;
	double job_end;
	double since, last_seen;
	struct heartbeat_timer alive;	/* its deadline, once welcomed */
	unsigned hb_ms;			/* the interval it keeps, as it said */
	unsigned told_ms;		/* the interval it was told last */
	struct strbuf out;
	int dirty;
	int shutdown_sent;
	uint32_t claims_left;		/* runs AUTH announced, not yet in a
					   REJOIN */
	char *leaving;			/* why it said it leaves (its own
					   SHUTDOWN), or NULL */
};

struct workers {
	struct event_base *base;
	struct sched *sched;
	struct events *events;
	struct evconnlistener *listener;
	struct event *flush_ev;		/* end of loop iteration: dispatch, write */
	struct event *tick_ev;		/* heartbeats: the sweep and the wheel */
	uint16_t port;
	char token[65];
	unsigned heartbeat_ms, missed;
	unsigned tick_ms;
	double t0;			/* tick 0 of the wheel */
	double last_tick;
	struct heartbeat_pace pace;
	struct heartbeat_wheel wheel;	/* every welcomed worker's deadline */
	struct conn *turn;		/* the sweep's next visit; NULL: the
					   round is over */
	struct conn *conns;
	struct conn *dirty;
	struct conn **byid;
	size_t nbyid;
	unsigned nready, nseen;
	unsigned nhello;		/* connections before AUTH */
	struct accept_guard *guard;	/* out of descriptors: back off */
	int need_dispatch;
	int shutting_down;
	char *shutdown_reason;
	double rejoin_grace;		/* seconds */
	struct event *grace_ev;		/* restored runs wait for workers */
	void (*before_send)(void *arg);
	void *before_arg;
};

static void schedule_flush(struct workers *wk)
{
	if (!event_pending(wk->flush_ev, EV_TIMEOUT, NULL))
		event_active(wk->flush_ev, EV_TIMEOUT, 0);
}

static int may_accept(void *arg)
{
	const struct workers *wk = arg;

	return wk->nhello < MAX_HANDSHAKES;
}

/* Accept while there is room for one more handshake, unless the guard
 * holds the listener back for want of descriptors. */
static void listener_update(struct workers *wk)
{
	if (!wk->listener)
		return;
	if (may_accept(wk) && !accept_guard_paused(wk->guard))
		evconnlistener_enable(wk->listener);
	else
		evconnlistener_disable(wk->listener);
}

static void conn_send(struct conn *c, const struct proto_msg *m)
{
	proto_encode(&c->out, m);
	if (!c->dirty) {
		c->dirty = 1;
		c->next_dirty = c->wk->dirty;
		c->wk->dirty = c;
	}
	schedule_flush(c->wk);
}

static void conn_free(struct conn *c)
{
	struct workers *wk = c->wk;

	if (c->prev)
		c->prev->next = c->next;
	else
		wk->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (wk->turn == c)
		wk->turn = c->next;
	heartbeat_wheel_del(&wk->wheel, &c->alive);
	if (c->dirty) {
		for (struct conn **p = &wk->dirty; *p; p = &(*p)->next_dirty)
			if (*p == c) {
				*p = c->next_dirty;
				break;
			}
	}
	if (c->st == CONN_READY) {
		if (c->wid >= 0 && (size_t)c->wid < wk->nbyid)
			wk->byid[c->wid] = NULL;
		wk->nready--;
	} else {
		wk->nhello--;
	}
	if (c->deadline_ev)
		event_free(c->deadline_ev);
	bufferevent_free(c->bev);
	strbuf_release(&c->out);
	free(c->name);
	free(c->host);
	free(c->job_id);
	free(c->leaving);
	free(c);
	listener_update(wk);
}

/* A connection that never became a worker, or broke the protocol. */
static void conn_drop(struct conn *c, const char *reason)
{
	struct workers *wk = c->wk;
	worker_id_t w = c->st == CONN_READY ? c->wid : -1;
	char *job_id = c->job_id;
	struct events_job job = { job_id ? job_id : "", c->job_index,
				  c->job_end };

	c->job_id = NULL;
	log_msg(LOG_WARNING, "dropped connection from %s: %s", c->addr, reason);
	if (c->st == CONN_READY) {
		sched_worker_lost(c->wk->sched, c->wid);
		c->wk->need_dispatch = 1;
		schedule_flush(c->wk);
	}
	conn_free(c);
	if (w >= 0)
		events_worker_lost_job(wk->events, w, &job, 0, reason);
	free(job_id);
}

/* A worker that was registered goes away. */
static void conn_lost(struct conn *c, const char *why)
{
	struct workers *wk = c->wk;
	worker_id_t w = c->wid;
	int left = c->shutdown_sent || c->leaving;
	char *job_id = c->job_id;
	struct events_job job = { job_id ? job_id : "", c->job_index,
				  c->job_end };

	c->job_id = NULL;
	if (c->shutdown_sent)
		log_msg(LOG_DEBUG, "worker '%s' left", c->name);
	else if (c->leaving)
		log_msg(LOG_INFO, "worker '%s' left: %s", c->name, c->leaving);
	else
		log_msg(LOG_WARNING, "worker '%s' lost: %s", c->name, why);
	sched_worker_lost(wk->sched, c->wid);
	wk->need_dispatch = 1;
	schedule_flush(wk);
	conn_free(c);
	events_worker_lost_job(wk->events, w, &job, left, why);
	free(job_id);
}

static void send_shutdown_why(struct conn *c, const char *why)
{
	struct proto_msg m = { .type = PROTO_SHUTDOWN };

	m.u.shutdown.reason = (char *)(why ? why : "");
	conn_send(c, &m);
	c->shutdown_sent = 1;
	sched_worker_drain(c->wk->sched, c->wid);
}

static void send_shutdown(struct conn *c)
{
	send_shutdown_why(c, c->wk->shutdown_reason);
}

/* --- liveness --------------------------------------------------------------
 *
 * Every welcomed worker has a deadline on the wheel (heartbeat.h): missed
 * intervals of the one it keeps after the last frame it sent.  Any frame
 * counts; conn_read only notes the time, and the deadline is looked at
 * when it falls due.
 */

static uint64_t tick_of(const struct workers *wk, double t)
{
	return t <= wk->t0 ? 0 : (uint64_t)((t - wk->t0) * 1000.0 / wk->tick_ms);
}

static double silence_limit(const struct conn *c)
{
	return (double)c->hb_ms * c->wk->missed / 1000.0;
}

static void arm_deadline(struct conn *c)
{
	struct workers *wk = c->wk;

	heartbeat_wheel_add(&wk->wheel, &c->alive,
			    tick_of(wk, c->last_seen + silence_limit(c)) + 1);
}

static struct conn *conn_of_timer(struct heartbeat_timer *t)
{
	return (struct conn *)(void *)((char *)t - offsetof(struct conn, alive));
}

/* --- message handlers ----------------------------------------------------- */

static void grace_check(struct workers *wk);
static void claims_in(struct conn *c);

static int on_auth(struct conn *c, struct proto_msg *m)
{
	struct workers *wk = c->wk;
	struct proto_auth *a = &m->u.auth;
	uint8_t want[PROTO_MAC_SIZE];

	if (c->st != CONN_HELLO) {
		conn_drop(c, "unexpected 'auth' after the handshake");
		return -1;
	}
	proto_mac(wk->token, "worker", c->nonce, a->nonce, want);
	if (!proto_mac_equal(want, a->mac)) {
		conn_drop(c, "wrong token");
		return -1;
	}
	if (a->cores == 0) {
		conn_drop(c, "worker announced no cores");
		return -1;
	}
	const char *name = a->name && *a->name ? a->name : c->addr;
	worker_id_t w = sched_worker_add(wk->sched, name, a->cores, a->memory);
	if (w < 0) {
		conn_drop(c, "cannot register the worker");
		return -1;
	}
	if (a->job_end > 0)
		sched_worker_set_deadline(wk->sched, w, (double)a->job_end);
	sched_worker_set_gpus(wk->sched, w, a->gpus);
	if ((size_t)w >= wk->nbyid) {
		size_t n = wk->nbyid ? wk->nbyid : 16;
		while (n <= (size_t)w)
			n *= 2;
		struct conn **p = realloc(wk->byid, n * sizeof(*p));
		if (!p) {
			sched_worker_lost(wk->sched, w);
			conn_drop(c, "out of memory");
			return -1;
		}
		memset(p + wk->nbyid, 0, (n - wk->nbyid) * sizeof(*p));
		wk->byid = p;
		wk->nbyid = n;
	}
	wk->byid[w] = c;
	c->wid = w;
	c->name = strdup(name);
	c->job_id = strdup(a->job_id ? a->job_id : "");
	c->job_index = a->job_index < 0 ? -1 : a->job_index;
	c->job_end = (double)a->job_end;
	c->host = a->host && *a->host ? strdup(a->host) : NULL;
	if (!c->name || !c->job_id) {
		wk->byid[w] = NULL;
		sched_worker_lost(wk->sched, w);
		conn_drop(c, "out of memory");
		return -1;
	}
	c->st = CONN_READY;
	wk->nready++;
	wk->nhello--;
	listener_update(wk);
	wk->nseen++;
	/* The handshake deadline no longer applies; heartbeats take over. */
	event_free(c->deadline_ev);
	c->deadline_ev = NULL;
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	c->hb_ms = c->told_ms = wk->pace.tell_ms;
	arm_deadline(c);

	struct proto_msg w_msg = { .type = PROTO_WELCOME };
	w_msg.u.welcome.worker_id = (uint32_t)w;
	w_msg.u.welcome.heartbeat_ms = c->told_ms;
	proto_mac(wk->token, "server", a->nonce, c->nonce, w_msg.u.welcome.mac);
	conn_send(c, &w_msg);
	struct strbuf mem = STRBUF_INIT;
	size_format(&mem, a->memory);
	if (a->gpus)
		strbuf_addf(&mem, "), %u GPU%s", a->gpus, a->gpus == 1 ? "" : "s");
	else
		strbuf_addch(&mem, ')');
	log_msg(LOG_INFO, "worker '%s' joined from %s: %u core%s, %llu bytes "
		"(%s", c->name, c->addr, a->cores, a->cores == 1 ? "" : "s",
		(unsigned long long)a->memory, mem.buf);
	strbuf_release(&mem);
	if (wk->shutting_down)
		send_shutdown(c);
	if (a->tasks) {
		/* no task for it until it has said what it runs */
		c->claims_left = a->tasks;
		sched_worker_claiming(wk->sched, w, 1);
		log_msg(LOG_INFO, "worker '%s' says it kept %u task%s", c->name,
			a->tasks, a->tasks == 1 ? "" : "s");
	} else {
		claims_in(c);
	}
	grace_check(wk);
	wk->need_dispatch = 1;
	struct events_job job = { c->job_id, c->job_index, c->job_end };
	events_worker_joined_job(wk->events, w, &job);
	return 0;
}

/* --- rejoins -----------------------------------------------------------
 *
 * A worker that outlived its scheduler (or its link) keeps its runs and
 * lists them here, right after WELCOME.  sched takes back each run it
 * knows as unclaimed (a restart restored it from the journal); every
 * other claim is answered KILL, ahead of any RUN, so the worker stops
 * that run before it may be sent the same task again.  Until the last
 * claim AUTH announced is in, the worker gets no task.  Restored runs
 * wait `rejoin_grace` seconds for their workers, from the first moment
 * sched has any (a replay) to be seen here, then go back to the queue;
 * the wait ends early once none is left unclaimed.  The journal names
 * each run's worker: once a worker of that name has made all its claims,
 * the runs recorded on it that it did not claim (tasks it held but had
 * not started, dropped when its link was lost) go back at once, and the
 * grace only waits for workers that have not come back.
 */

/* Worker c has said all it kept. */
static void claims_in(struct conn *c)
{
	uint64_t n = sched_requeue_unclaimed_of(c->wk->sched, c->name);

	if (n)
		log_msg(LOG_INFO, "requeued %llu task%s worker '%s' did not "
			"claim", (unsigned long long)n, n == 1 ? "" : "s",
			c->name);
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct workers *wk = arg;
	uint64_t n;

	(void)fd;
	(void)what;
	n = sched_requeue_unclaimed(wk->sched);
	if (n)
		log_msg(LOG_WARNING, "requeued %llu task%s no worker claimed "
			"within %g s (scheduler.rejoin-grace)",
			(unsigned long long)n, n == 1 ? "" : "s",
			wk->rejoin_grace);
	wk->need_dispatch = 1;
	schedule_flush(wk);
}

static void grace_check(struct workers *wk)
{
	uint64_t n = sched_unclaimed(wk->sched);
	int waiting = evtimer_pending(wk->grace_ev, NULL);

	if (n && !waiting) {
		struct timeval tv = { (time_t)wk->rejoin_grace,
			(suseconds_t)((wk->rejoin_grace -
				       (double)(time_t)wk->rejoin_grace) * 1e6) };
		log_msg(LOG_INFO, "waiting up to %g s for the workers of %llu "
			"running task%s to rejoin", wk->rejoin_grace,
			(unsigned long long)n, n == 1 ? "" : "s");
		evtimer_add(wk->grace_ev, &tv);
	} else if (!n && waiting) {
		log_msg(LOG_INFO, "no running task waits for its worker any "
			"more");
		evtimer_del(wk->grace_ev);
	}
}

/* Task `id` ended done or failed, by attempt `attempt` (0: any; its
 * attempts forgotten count as it): a worker that tells of it again
 * repeats an end this scheduler has. */
static int ended_by(struct workers *wk, task_id_t id, unsigned attempt)
{
	struct task_info ti;

	if (sched_task(wk->sched, id, &ti) < 0 ||
	    (ti.state != TASK_DONE && ti.state != TASK_FAILED))
		return 0;
	return !attempt || !ti.attempts || ti.attempts == attempt;
}

/* A claim of a run whose end was written down before a scheduler was
 * killed, or read by this one: the worker keeps the ends it sent lately
 * and claims them again after a lost link. */
static int claim_repeats_an_end(struct workers *wk,
				const struct proto_claim *cl)
{
	return ended_by(wk, cl->task_id, cl->attempt);
}

static int on_rejoin(struct conn *c, struct proto_msg *m)
{
	struct workers *wk = c->wk;
	const struct proto_rejoin *j = &m->u.rejoin;
	unsigned kept = 0, killed = 0, repeats = 0;
	const struct proto_claim *first_killed = NULL;

	if (c->st != CONN_READY) {
		conn_drop(c, "'rejoin' before the handshake");
		return -1;
	}
	if (j->count > c->claims_left) {
		conn_drop(c, "'rejoin' lists more tasks than its 'auth' said");
		return -1;
	}
	for (uint32_t k = 0; k < j->count; k++) {
		const struct proto_claim *cl = &j->claims[k];

		if (sched_worker_claim(wk->sched, c->wid, cl->task_id,
				       cl->attempt,
				       (double)cl->running_us / 1e6)) {
			kept++;
			continue;
		}
		/* KILL stops a run that goes on, and is nothing to a worker
		 * whose run is over. */
		struct proto_msg kill = { .type = PROTO_KILL };
		kill.u.kill.task_id = cl->task_id;
		conn_send(c, &kill);
		if (claim_repeats_an_end(wk, cl)) {
			log_msg(LOG_DEBUG, "worker '%s' claims task %llu "
				"(attempt %u) again: it ended already",
				c->name, (unsigned long long)cl->task_id,
				cl->attempt);
			repeats++;
			continue;
		}
		log_msg(LOG_DEBUG, "worker '%s' claims task %llu (attempt %u): "
			"not this scheduler's to take back", c->name,
			(unsigned long long)cl->task_id, cl->attempt);
		if (!killed++)
			first_killed = cl;
	}
	if (repeats)
		log_msg(LOG_DEBUG, "worker '%s' claims %u task%s that ended "
			"already: repeated ends, ignored", c->name, repeats,
			repeats == 1 ? "" : "s");
	if (kept)
		log_msg(LOG_INFO, "worker '%s' took back %u task%s", c->name,
			kept, kept == 1 ? "" : "s");
	if (killed)
		log_msg(LOG_INFO, "worker '%s' claims %u task%s (task %llu "
			"attempt %u%s) not this scheduler's to take back: "
			"killing %s", c->name, killed, killed == 1 ? "" : "s",
			(unsigned long long)first_killed->task_id,
			first_killed->attempt, killed > 1 ? ", ..." : "",
			killed == 1 ? "it" : "them");
	c->claims_left -= j->count;
	if (!c->claims_left) {
		claims_in(c);
		sched_worker_claiming(wk->sched, c->wid, 0);
		wk->need_dispatch = 1;
	}
	grace_check(wk);
	return 0;
}

static int on_done(struct conn *c, struct proto_msg *m)
{
	struct proto_done *d = &m->u.done;
	struct task_result res = {
		.exit_code = d->exit_code,
		.signal = d->signal,
		.runtime = (double)d->runtime_us / 1e6,
		.peak_memory = d->peak_memory,
		.reason = d->reason && *d->reason ? d->reason : NULL,
		.spawn = (double)d->spawn_us / 1e6,
		.output = (double)d->output_us / 1e6,
	};

	if (c->st != CONN_READY) {
		conn_drop(c, "'done' before the handshake");
		return -1;
	}
	/* The end of an older run of a task that runs here again (it ended
	 * while its link was down, and the task was requeued meanwhile). */
	struct task_info ti;
	if (d->attempt && sched_task(c->wk->sched, d->task_id, &ti) == 0 &&
	    ti.state == TASK_RUNNING && ti.worker == c->wid &&
	    ti.attempts != d->attempt) {
		log_msg(LOG_DEBUG, "task %llu on '%s': ignoring the end of "
			"attempt %u, attempt %u runs", (unsigned long long)d->task_id,
			c->name, d->attempt, ti.attempts);
		return 0;
	}
	/* The end of a run told again after a lost link, which this
	 * scheduler has already: no second end. */
	if (ended_by(c->wk, d->task_id, d->attempt)) {
		log_msg(LOG_DEBUG, "task %llu on '%s': attempt %u ended "
			"already; ignoring its end told again",
			(unsigned long long)d->task_id, c->name, d->attempt);
		return 0;
	}
	if (res.signal || res.exit_code)
		log_msg(LOG_DEBUG, "task %llu on '%s' ended: exit %d signal %d%s%s",
			(unsigned long long)d->task_id, c->name, res.exit_code,
			res.signal, res.reason ? ": " : "",
			res.reason ? res.reason : "");
	events_task_reported(c->wk->events, d->task_id, c->wid, &res);
	sched_task_finished(c->wk->sched, d->task_id, c->wid, &res);
	c->wk->need_dispatch = 1;
	return 0;
}

/* A worker says which interval it keeps: the one it was told, or an
 * earlier one when the two crossed.  It is held to no longer than it
 * was told. */
static int on_heartbeat(struct conn *c, struct proto_msg *m)
{
	unsigned said = m->u.heartbeat.interval_ms;

	if (c->st != CONN_READY) {
		conn_drop(c, "'heartbeat' before the handshake");
		return -1;
	}
	if (said) {
		unsigned was = c->hb_ms;
		c->hb_ms = said < c->told_ms ? said : c->told_ms;
		if (c->hb_ms < was)
			arm_deadline(c);	/* sooner than it waits */
	}
	return 0;
}

/* The worker leaves in order (a signal, its rank gone, nothing left to
 * run): the close that follows is no loss. */
static int on_leaving(struct conn *c, struct proto_msg *m)
{
	const char *why = m->u.shutdown.reason;

	if (c->st != CONN_READY) {
		conn_drop(c, "'shutdown' before the handshake");
		return -1;
	}
	free(c->leaving);
	c->leaving = xstrdup(why && *why ? why : "no reason given");
	/* Nothing more for it: it would not start it. */
	sched_worker_drain(c->wk->sched, c->wid);
	return 0;
}

typedef int (*handler_fn)(struct conn *c, struct proto_msg *m);

/* What a worker may send; everything else is a protocol error. */
static const handler_fn handlers[PROTO_TYPE_MAX + 1] = {
	[PROTO_AUTH] = on_auth,
	[PROTO_DONE] = on_done,
	[PROTO_HEARTBEAT] = on_heartbeat,
	[PROTO_REJOIN] = on_rejoin,
	[PROTO_SHUTDOWN] = on_leaving,
};

/* --- connection events ---------------------------------------------------- */

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct workers *wk = c->wk;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct err err = { "" };

	c->last_seen = clock_monotonic();
	for (;;) {
		struct proto_msg m;
		/* a stranger gets no more room than an AUTH needs */
		uint32_t max = c->st == CONN_READY ? PROTO_MAX_FRAME :
			PROTO_MAX_AUTH;
		int got = proto_read(in, max, &m, &err);
		if (got < 0) {
			conn_drop(c, err.text);
			return;
		}
		if (!got)
			break;
		handler_fn fn = m.type > 0 && m.type <= PROTO_TYPE_MAX ?
			handlers[m.type] : NULL;
		if (!fn) {
			char why[96];
			snprintf(why, sizeof(why), "unexpected '%s' frame",
				 proto_type_name(m.type));
			proto_msg_release(&m);
			conn_drop(c, why);
			return;
		}
		int rc = fn(c, &m);
		proto_msg_release(&m);
		if (rc < 0)
			return;
	}
	if (wk->need_dispatch)
		schedule_flush(wk);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	if (c->st == CONN_READY) {
		conn_lost(c, what & BEV_EVENT_EOF ? "connection closed" :
			  what & BEV_EVENT_TIMEOUT ? "timed out" :
			  "connection error");
		return;
	}
	if (evbuffer_get_length(bufferevent_get_input(c->bev)))
		conn_drop(c, "closed in the middle of a frame");
	else
		conn_drop(c, "closed during the handshake");
}

/* A deadline counted from accept, not a read timeout: a peer that sends a
 * byte now and then would renew a read timeout for ever. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	conn_drop(c, "no handshake in time");
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct workers *wk = arg;
	struct conn *c = calloc(1, sizeof(*c));
	char host[64] = "?";

	(void)l;
	(void)salen;
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(c->addr, sizeof(c->addr), "%s:%u", host,
			 ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(c->addr, sizeof(c->addr), "[%s]:%u", host,
			 ntohs(in6->sin6_port));
	}
	c->wk = wk;
	c->wid = -1;
	c->st = CONN_HELLO;
	c->since = c->last_seen = clock_monotonic();
	strbuf_init(&c->out, 0);
	c->bev = bufferevent_socket_new(wk->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->deadline_ev = evtimer_new(wk->base, on_deadline, c);
	if (!c->bev || !c->deadline_ev ||
	    proto_random(c->nonce, sizeof(c->nonce)) < 0) {
		log_msg(LOG_ERR, "cannot take connection from %s", c->addr);
		if (c->deadline_ev)
			event_free(c->deadline_ev);
		if (c->bev)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		free(c);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->next = wk->conns;
	if (wk->conns)
		wk->conns->prev = c;
	wk->conns = c;
	wk->nhello++;
	listener_update(wk);
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
				 PROTO_HEADER_SIZE + PROTO_MAX_AUTH);
	struct timeval hs = { HANDSHAKE_TIMEOUT, 0 };
	evtimer_add(c->deadline_ev, &hs);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);

	struct proto_msg m = { .type = PROTO_HELLO };
	memcpy(m.u.hello.nonce, c->nonce, sizeof(c->nonce));
	conn_send(c, &m);
	log_msg(LOG_DEBUG, "connection from %s", c->addr);
}

/* --- loop events ---------------------------------------------------------- */

/* Hand a connection's frames to the socket now when nothing is queued
 * before them: one send, and no write event to arm and disarm as the
 * bufferevent would.  What the socket does not take is left to the
 * bufferevent.  A connection the send finds broken gets nothing more:
 * the bufferevent's own write would raise SIGPIPE in a process that has
 * not ignored it, and its read side reports the loss (conn_event). */
static void conn_write(struct conn *c)
{
	const char *buf = c->out.buf;
	size_t len = c->out.len;

	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		ssize_t n = send(bufferevent_getfd(c->bev), buf, len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			   errno != EINTR && errno != ENOBUFS) {
			log_msg(LOG_DEBUG, "cannot write to '%s': %s",
				c->name ? c->name : c->addr, strerror(errno));
			return;
		}
	}
	if (len)
		bufferevent_write(c->bev, buf, len);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct workers *wk = arg;

	(void)fd;
	(void)what;
	if (wk->need_dispatch) {
		wk->need_dispatch = 0;
		sched_dispatch(wk->sched);
	}
	if (wk->dirty && wk->before_send)
		wk->before_send(wk->before_arg);
	while (wk->dirty) {
		struct conn *c = wk->dirty;
		wk->dirty = c->next_dirty;
		c->dirty = 0;
		c->next_dirty = NULL;
		if (c->out.len)
			conn_write(c);
		strbuf_reset(&c->out);
	}
}

void workers_before_send(struct workers *wk, void (*fn)(void *arg),
			 void *arg)
{
	wk->before_send = fn;
	wk->before_arg = arg;
}

/* A visit of the sweep: the scheduler's heartbeat, with the interval. */
static void visit(struct conn *c, double now)
{
	struct workers *wk = c->wk;
	struct proto_msg m = { .type = PROTO_HEARTBEAT };
	struct worker_info wi;

	m.u.heartbeat.time_ms = (uint64_t)(now * 1000.0);
	if (sched_worker(wk->sched, c->wid, &wi) == 0)
		m.u.heartbeat.running = wi.running;
	m.u.heartbeat.interval_ms = c->told_ms = wk->pace.tell_ms;
	conn_send(c, &m);
}

/* One tick: the deadlines that fall due, then the visits owed, each
 * worker once a round (heartbeat.h).  Neither looks at every worker. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct workers *wk = arg;
	double now = clock_monotonic();
	struct heartbeat_timer *t;

	(void)fd;
	(void)what;
	while ((t = heartbeat_wheel_next(&wk->wheel, tick_of(wk, now)))) {
		struct conn *c = conn_of_timer(t);
		if (now - c->last_seen > silence_limit(c))
			conn_lost(c, "missed heartbeats");
		else
			arm_deadline(c);
	}
	/* by the time since the last tick: a busy loop ticks late, and the
	 * sweep keeps its pace */
	double since = (now - wk->last_tick) * 1000.0;
	wk->last_tick = now;
	size_t owed = heartbeat_pace_visits(&wk->pace, wk->nready,
					    since > 0 ? (unsigned)since : 0);
	while (owed) {
		if (!wk->turn) {
			unsigned was = wk->pace.tell_ms;
			if (heartbeat_pace_round(&wk->pace, wk->nready))
				log_msg(LOG_INFO, "heartbeat interval %g s for "
					"%u worker%s (was %g s)",
					wk->pace.tell_ms / 1000.0, wk->nready,
					wk->nready == 1 ? "" : "s", was / 1000.0);
			wk->turn = wk->conns;
		}
		struct conn *c = wk->turn;
		wk->turn = c->next;
		if (c->st == CONN_READY) {
			visit(c, now);
			owed--;
		}
	}
	if (!wk->nready) {
		/* nobody to tell: the next worker gets the interval for one */
		wk->turn = NULL;
		heartbeat_pace_round(&wk->pace, 0);
	}
	grace_check(wk);
}


/* --- setup ---------------------------------------------------------------- */

static int listen_on(struct workers *wk, const char *bind, uint16_t port,
		     struct err *err)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char portstr[16];
	int rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(bind ? bind : "0.0.0.0", portstr, &hints, &res);
	if (rc)
		return errprintf(err, "cannot resolve '%s': %s",
				 bind ? bind : "0.0.0.0", gai_strerror(rc));
	wk->listener = evconnlistener_new_bind(wk->base, on_accept, wk,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
		128, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (!wk->listener)
		return errprintf(err, "cannot listen on '%s' port %u: %s",
				 bind ? bind : "0.0.0.0", port, strerror(errno));
	wk->guard = accept_guard_create(wk->base, wk->listener, "worker port",
					may_accept, wk);
	if (!wk->guard)
		return errprintf(err, "out of memory");

	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(wk->listener),
			(struct sockaddr *)&ss, &len) < 0)
		return errprintf(err, "cannot read the listening port: %s",
				 strerror(errno));
	if (ss.ss_family == AF_INET)
		wk->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		wk->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

struct workers *workers_create(struct event_base *base, struct sched *s,
			       struct events *ev,
			       const struct workers_config *cfg,
			       struct err *err)
{
	struct workers *wk = calloc(1, sizeof(*wk));

	if (!wk) {
		errprintf(err, "out of memory");
		return NULL;
	}
	wk->base = base;
	wk->sched = s;
	wk->events = ev;
	wk->heartbeat_ms = cfg->heartbeat_ms;
	wk->missed = cfg->missed_heartbeats;
	wk->tick_ms = heartbeat_tick_ms(wk->heartbeat_ms);
	wk->t0 = wk->last_tick = clock_monotonic();
	heartbeat_pace_init(&wk->pace, wk->heartbeat_ms, cfg->heartbeat_budget);
	heartbeat_wheel_init(&wk->wheel, 0);
	snprintf(wk->token, sizeof(wk->token), "%s", cfg->token);
	if (listen_on(wk, cfg->bind, cfg->port, err) < 0)
		goto fail;
	wk->flush_ev = event_new(base, -1, 0, on_flush, wk);
	wk->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, wk);
	wk->grace_ev = evtimer_new(base, on_grace, wk);
	wk->rejoin_grace = cfg->rejoin_grace > 0 ? cfg->rejoin_grace : 0;
	if (!wk->flush_ev || !wk->tick_ev || !wk->grace_ev) {
		errprintf(err, "cannot create loop events");
		goto fail;
	}
	struct timeval tv = { wk->tick_ms / 1000, (wk->tick_ms % 1000) * 1000 };
	event_add(wk->tick_ev, &tv);
	grace_check(wk);
	return wk;
fail:
	workers_destroy(wk);
	return NULL;
}

void workers_destroy(struct workers *wk)
{
	if (!wk)
		return;
	while (wk->conns)
		conn_free(wk->conns);
	accept_guard_destroy(wk->guard);
	if (wk->listener)
		evconnlistener_free(wk->listener);
	if (wk->flush_ev)
		event_free(wk->flush_ev);
	if (wk->tick_ev)
		event_free(wk->tick_ev);
	if (wk->grace_ev)
		event_free(wk->grace_ev);
	free(wk->byid);
	free(wk->shutdown_reason);
	free(wk);
}

uint16_t workers_port(const struct workers *wk)
{
	return wk->port;
}

static struct conn *conn_of(const struct workers *wk, worker_id_t w)
{
	return w >= 0 && (size_t)w < wk->nbyid ? wk->byid[w] : NULL;
}

int workers_connected(const struct workers *wk, worker_id_t w)
{
	return conn_of(wk, w) != NULL;
}

int workers_job(const struct workers *wk, worker_id_t w, const char **host,
		const char **job_id, int64_t *index, double *end)
{
	const struct conn *c = conn_of(wk, w);

	if (!c)
		return -1;
	*host = c->host;
	*job_id = c->job_id;
	*index = c->job_index;
	*end = c->job_end;
	return 0;
}

int workers_send(struct workers *wk, worker_id_t w, const struct proto_msg *m)
{
	struct conn *c = conn_of(wk, w);

	if (!c)
		return -1;
	conn_send(c, m);
	return 0;
}

void workers_kick(struct workers *wk)
{
	wk->need_dispatch = 1;
	schedule_flush(wk);
}

void workers_shutdown(struct workers *wk, const char *reason)
{
	if (wk->shutting_down)
		return;
	wk->shutting_down = 1;
	wk->shutdown_reason = strdup(reason ? reason : "");
	for (struct conn *c = wk->conns; c; c = c->next)
		if (c->st == CONN_READY && !c->shutdown_sent)
			send_shutdown(c);
}

int workers_shutdown_one(struct workers *wk, worker_id_t w, const char *reason)
{
	struct conn *c;

	if (w < 0 || (size_t)w >= wk->nbyid || !(c = wk->byid[w]) ||
	    c->st != CONN_READY)
		return -1;
	if (!c->shutdown_sent)
		send_shutdown_why(c, reason);
	return 0;
}

unsigned workers_nready(const struct workers *wk)
{
	return wk->nready;
}

unsigned workers_nseen(const struct workers *wk)
{
	return wk->nseen;
}

unsigned workers_heartbeat_ms(const struct workers *wk)
{
	return wk->pace.tell_ms;
}
