/*
 * server: the scheduler process, composed.  One libevent loop holds the
 * task table (sched.h), which the server owns, the worker-facing side
 * (workers.h: listener, handshake, heartbeats, frames) and the HTTP API
 * (api.h); the server ties them together through sched's hooks.  It
 * also owns the fan-out of task and worker events (events.h), which those
 * hooks and the workers side feed; everyone else who wants to hear of a
 * task or a worker subscribes there (server_events), the API's waiters
 * first.
 *
 * sched's assign hook becomes a RUN frame to the worker, its kill hook a
 * KILL frame; a DONE frame becomes sched_task_finished followed by one
 * sched_dispatch per loop iteration, as does sched's queued hook (a
 * submission through the API, say), so new tasks are placed on the next
 * loop turn without polling.  Each worker may hold SERVER_DEFAULT_PREFETCH
 * tasks beyond those it can start now (server_set_prefetch, the
 * worker.prefetch key).
 *
 * When `state_dir` is given the server creates the token there (unless
 * `token` is given), writes task output under state_dir/logs/ by default
 * (<id>.out, <id>.err) and publishes its address file, removed again by
 * server_destroy, under a lock held for the server's life so that a
 * second scheduler for the same directory is refused.  Task ids start at
 * 1 in every run, so an earlier run's logs/ is first moved aside to the
 * first free state_dir/logs.N (N = 1, 2, ...); a server that does not
 * publish (keep_address) writes to a logs.N of its own.
 */
#ifndef CLUSTER_SERVER_H
#define CLUSTER_SERVER_H

#include <stdint.h>

#include "sched/sched.h"
#include "util/err.h"

struct event_base;
struct events;
struct server;

struct server_config {
	const char *bind;		/* listen address; NULL: all interfaces */
	const char *advertise;		/* host written to the address file;
					   NULL: bind, else this host's name */
	uint16_t port;			/* 0: ephemeral */
	int http;			/* start the HTTP API */
	uint16_t http_port;		/* 0: ephemeral; taken: a free one, said
					   in the log */
	const char *state_dir;		/* NULL: no files (tests, benchmarks) */
	const char *token;		/* NULL: read or create in state_dir */
	unsigned heartbeat_ms;		/* 0: 5000 */
	unsigned missed_heartbeats;	/* 0: 3 */
	double rejoin_grace;		/* workers_config's (0: none) */
	int output;			/* enum task_output: where the output of
					   streams without a path goes */
	int keep_address;		/* leave an existing address file alone
					   (a batch run beside a head job of the
					   same name): publish only when none */
	int journal;			/* keep state_dir/journal (a scheduler
					   that publishes its address only):
					   replayed before listening */
	double journal_flush_period;	/* s; 0: 1 */
	uint64_t journal_max_size;	/* bytes; 0: no limit */
};

/* Called after every task end (DONE, FAILED, CANCELLED), after the API
 * has been told. */
typedef void (*server_ended_fn)(void *arg, task_id_t id);

struct server *server_create(struct event_base *base,
			     const struct server_config *cfg,
			     struct err *err);
/* Closes every connection, stops the API, removes the address file. */
void server_destroy(struct server *srv);

struct sched *server_sched(struct server *srv);
/* The fan-out to subscribe to (events.h); the server's for its life. */
struct events *server_events(struct server *srv);
/* Where task output goes by default (see above); NULL without state_dir. */
const char *server_log_dir(const struct server *srv);
/* Its enum task_output (server_config's). */
int server_output(const struct server *srv);
uint16_t server_port(const struct server *srv);
uint16_t server_http_port(const struct server *srv);
/* "host:port" workers should connect to. */
const char *server_address(const struct server *srv);
const char *server_token(const struct server *srv);

/* One task_ended subscriber in the fan-out, told after the API; a later
 * call replaces it, fn NULL removes it. */
void server_on_ended(struct server *srv, server_ended_fn fn, void *arg);

#define SERVER_DEFAULT_PREFETCH 1

/* Tasks each worker may hold beyond those its free cores and memory can
 * start now (sched_set_prefetch); 0 turns prefetch off. */
void server_set_prefetch(struct server *srv, unsigned n);

/* Ask for a sched_dispatch at the end of this loop iteration.  Needed
 * only for changes sched does not report (its queued hook covers
 * submissions, retries and released dependencies).  Cheap to call many
 * times. */
void server_kick(struct server *srv);

/* Send SHUTDOWN to every worker, now and to any that connects later; each
 * finishes its running tasks and leaves. */
void server_shutdown_workers(struct server *srv, const char *reason);

/* The same for worker `w` alone; -1 when it is not connected. */
int server_shutdown_worker(struct server *srv, worker_id_t w,
			   const char *reason);

/* Workers connected and past the handshake; workers ever welcomed. */
unsigned server_nworkers(const struct server *srv);
unsigned server_nworkers_seen(const struct server *srv);

/* The pool manager (pool/manager.h) of a scheduler that has a pool
 * (server/pool.h's server_pool_start), or NULL. */
struct pool_manager;
struct pool_manager *server_pool(struct server *srv);
/* For server_pool_start and _stop: the pool is the server's, ended in
 * server_destroy before anything else. */
void server_set_pool(struct server *srv, struct pool_manager *m);

/* The journal of a server made with `journal` (server/journal.h), or
 * NULL. */
struct server_journal;
struct server_journal *server_journal(struct server *srv);

#endif
