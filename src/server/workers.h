/*
 * workers: the scheduler's worker-facing side.  A TCP listener for the
 * worker protocol (proto.h) on the server's event loop, and one
 * connection per worker.
 *
 * A worker connects, gets HELLO, proves it knows the token (AUTH), and is
 * registered with sched_worker_add before it gets WELCOME.  Its frames go
 * through a handler table keyed by frame type: DONE becomes
 * sched_task_finished, HEARTBEAT only proves it is alive; anything else is
 * a protocol error.  A worker that kept runs from an earlier scheduler
 * or link says how many in AUTH and lists them in REJOIN frames: each is
 * sched_worker_claim'ed, and one not taken back is answered KILL; the
 * worker takes no task before the last is in.  Runs restored into sched
 * (sched_restore_running, by a replay before or after workers_create)
 * are requeued if still unclaimed `rejoin_grace` seconds after the
 * scheduler first has them (it looks at every heartbeat tick).  The
 * heartbeat interval grows with the number of workers, so that their
 * heartbeats stay within a budget (server/heartbeat.h); WELCOME and the
 * scheduler's heartbeats tell each worker the interval to keep.  A
 * worker silent (no frame at all) for `missed_heartbeats` of the
 * intervals it keeps, or whose connection closes, is lost
 * (sched_worker_lost), within a tick (a quarter of heartbeat_ms, at most
 * 250 ms) of its deadline.  A connection that fails the handshake or
 * sends a malformed frame is logged ("dropped connection from ADDR:
 * reason") and closed; everyone else is unaffected.
 *
 * Frames to workers (workers_send) are collected per connection and
 * written once per loop iteration, after one sched_dispatch when one was
 * asked for (workers_kick, or a frame that changed the table), so what a
 * dispatch sends leaves in one write per worker.
 *
 * The sched is the caller's (the server's); this side calls it but
 * installs no hooks in it.  A worker's arrival and departure are told to
 * the caller's fan-out (events.h): worker_joined once it is welcomed,
 * worker_lost once sched has requeued its tasks and the connection is
 * closed.  A connection that never finished the handshake is neither.
 * workers_destroy tells nobody.
 */
#ifndef CLUSTER_SERVER_WORKERS_H
#define CLUSTER_SERVER_WORKERS_H

#include <stdint.h>

#include "proto/proto.h"
#include "sched/sched.h"
#include "util/err.h"

struct event_base;
struct events;
struct workers;

struct workers_config {
	const char *bind;		/* listen address; NULL: all interfaces */
	uint16_t port;			/* 0: ephemeral */
	const char *token;		/* copied */
	unsigned heartbeat_ms;		/* > 0 */
	unsigned missed_heartbeats;	/* > 0 */
	unsigned heartbeat_budget;	/* heartbeats a second each way, at
					   most; 0: HEARTBEAT_BUDGET */
	double rejoin_grace;		/* seconds runs restored into sched
					   wait for their workers; 0: none */
};

struct workers *workers_create(struct event_base *base, struct sched *s,
			       struct events *ev,
			       const struct workers_config *cfg,
			       struct err *err);
/* Closes every connection and the listener. */
void workers_destroy(struct workers *wk);
/* `fn(arg)` runs each time frames are about to go to the workers, after
 * the dispatch that made them: the journal puts down the runs they
 * carry first.  NULL: none. */
void workers_before_send(struct workers *wk, void (*fn)(void *arg),
			 void *arg);

uint16_t workers_port(const struct workers *wk);

/* Whether worker `w` is connected and past the handshake. */
int workers_connected(const struct workers *wk, worker_id_t w);

/* The host and batch job worker `w` announced in its AUTH (host NULL
 * when it gave none, job_id "" outside a job, index -1 outside an array,
 * end 0 when unknown), valid while it stays connected; -1 when `w` is
 * not connected. */
int workers_job(const struct workers *wk, worker_id_t w, const char **host,
		const char **job_id, int64_t *index, double *end);

/* Queue a frame to worker `w`, written at the end of this loop iteration;
 * -1 when `w` is not connected.  `m` is encoded at once. */
int workers_send(struct workers *wk, worker_id_t w, const struct proto_msg *m);

/* Ask for a sched_dispatch at the end of this loop iteration. */
void workers_kick(struct workers *wk);

/* Send SHUTDOWN to every worker, now and to any that connects later. */
void workers_shutdown(struct workers *wk, const char *reason);

/* Send SHUTDOWN to worker `w` alone (it takes no new task, finishes its
 * running ones and leaves); -1 when it is not connected. */
int workers_shutdown_one(struct workers *wk, worker_id_t w, const char *reason);

/* Workers connected and past the handshake; workers ever welcomed. */
unsigned workers_nready(const struct workers *wk);
unsigned workers_nseen(const struct workers *wk);

/* The heartbeat interval, in ms, told to workers now: heartbeat_ms
 * scaled for the number of workers. */
unsigned workers_heartbeat_ms(const struct workers *wk);

#endif
