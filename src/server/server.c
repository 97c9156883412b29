/*
 * server: the scheduler process's parts on one loop.  The workers side
 * knows connections and frames; what a RUN frame carries (command,
 * limits, output paths) is decided here, from the task table.  sched's
 * hooks end here and nowhere else: what they report goes on to the
 * subscribers of the fan-out, the API first (subscribed before anyone
 * can call server_events).
 */
#include "server/server.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/pool.h"
#include "dashboard/dashboard.h"
#include "proto/proto.h"
#include "server/events.h"
#include "server/feed.h"
#include "server/journal.h"
#include "server/pool.h"
#include "server/workers.h"
#include "util/log.h"
#include "state/state.h"
#include "util/strbuf.h"

struct server {
	struct sched *sched;
	struct events *events;		/* the fan-out sched's hooks feed */
	struct workers *workers;
	struct api *api;
	char address[300];
	char token[65];
	char *state_dir;
	struct strbuf log_dir;
	struct sched_argv run_argv;	/* send_run's command, kept between
					   calls with its memory */
	struct strbuf run_out, run_err;	/* send_run's paths, kept between
					   tasks: no allocation a task */
	int output;			/* enum task_output */
	int address_written;
	int lock_fd;			/* state_lock of a head's scheduler */
	server_ended_fn ended_fn;
	void *ended_arg;
	struct pool_manager *pool;	/* server/pool.h's; NULL: none */
	struct feed *feed;		/* the dashboard's activity */
	struct server_journal *journal;	/* NULL: none */
	struct journal_found found;	/* what its replay found */
};

static char *empty_list[] = { NULL };

/* --- sched hooks ---------------------------------------------------------- */

/* The RUN frame of task `id`, to worker `w`. */
static void send_run(struct server *srv, worker_id_t w, task_id_t id)
{
	struct task_info ti;
	struct strbuf *op = &srv->run_out, *ep = &srv->run_err;

	if (!workers_connected(srv->workers, w) ||
	    sched_task(srv->sched, id, &ti) < 0 ||
	    sched_task_argv_view(srv->sched, id, &srv->run_argv) < 0) {
		log_msg(LOG_ERR, "task %llu assigned to unknown worker %d",
			(unsigned long long)id, (int)w);
		return;
	}
	const struct task_spec *sp = ti.spec;
	struct proto_msg m = { .type = PROTO_RUN };
	struct proto_run *r = &m.u.run;
	r->task_id = id;
	r->attempt = ti.attempts;
	r->has_index = ti.has_index ? 1 : 0;
	r->array_index = ti.array_index;
	r->cores = sp->cores;
	r->gpus = sp->gpus;
	r->memory_limit = sp->memory;
	r->time_limit = sp->time_limit;
	r->argv = (char **)srv->run_argv.argv;	/* only read */
	r->env = sp->env ? (char **)sp->env : empty_list;
	r->cwd = sp->cwd ? (char *)sp->cwd : (char *)"";
	/* "" when there is no log directory: the worker's choice.  Only
	 * task.output: files gives every stream a file; else a stream
	 * without its own path goes to the worker log, or nowhere. */
	const char *files = srv->output == TASK_OUTPUT_FILES &&
		srv->log_dir.len ? srv->log_dir.buf : NULL;
	strbuf_reset(op);
	strbuf_reset(ep);
	task_output_path(op, files, id, ti.has_index, ti.array_index,
			 TASK_STDOUT, sp);
	task_output_path(ep, files, id, ti.has_index, ti.array_index,
			 TASK_STDERR, sp);
	r->stdout_path = op->buf;
	r->stderr_path = ep->buf;
	r->log_dir = srv->output == TASK_OUTPUT_WORKER_LOG ?
		srv->log_dir.buf : (char *)"";
	r->attempt = ti.attempts;
	/* A retry: what the attempt before wrote keeps its own name. */
	if (ti.attempts > 1) {
		task_output_keep(op->buf, r->cwd, ti.attempts - 1);
		task_output_keep(ep->buf, r->cwd, ti.attempts - 1);
	}
	/* The API refuses what the protocol cannot carry; a task that got
	 * in another way (a task file, a future path) fails here with the
	 * reason rather than making the worker drop its connection. */
	struct err err = { "" };
	if (proto_validate(&m, PROTO_MAX_FRAME, &err) < 0) {
		struct strbuf why = STRBUF_INIT;
		strbuf_addf(&why, "cannot be sent to a worker: %s", err.text);
		struct task_result res = { .exit_code = 127, .reason = why.buf };
		log_msg(LOG_ERR, "task %llu %s", (unsigned long long)id, why.buf);
		sched_task_finished(srv->sched, id, w, &res);
		strbuf_release(&why);
	} else {
		workers_send(srv->workers, w, &m);
	}
}

static void hook_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct server *srv = arg;

	send_run(srv, w, id);
	events_task_assigned(srv->events, id, w);
}

static void hook_kill(void *arg, worker_id_t w, task_id_t id)
{
	struct server *srv = arg;
	struct proto_msg m = { .type = PROTO_KILL };

	m.u.kill.task_id = id;
	workers_send(srv->workers, w, &m);
}

/* Whoever queued them (the API, a batch run, a retry), dispatch once on
 * the next loop turn, after everything this turn queues. */
static void hook_queued(void *arg)
{
	struct server *srv = arg;

	server_kick(srv);
	events_tasks_queued(srv->events);
}

static void hook_released(void *arg, task_id_t first, task_id_t last)
{
	struct server *srv = arg;

	events_tasks_released(srv->events, first, last);
}

static void hook_requeued(void *arg, task_id_t id, worker_id_t w)
{
	struct server *srv = arg;

	events_task_requeued(srv->events, id, w);
}

static void hook_ended(void *arg, task_id_t id)
{
	struct server *srv = arg;

	events_task_ended(srv->events, id);
}

/* --- subscribers ----------------------------------------------------------- */

/* Long-polls waiting for a task wake when it ends. */
static void api_ended(void *arg, task_id_t id)
{
	api_task_ended(arg, id);
}

static const struct events_ops api_ops = {
	.task_ended = api_ended,
};

/* A worker's host and batch job, which only its connection knows. */
static int worker_job(void *arg, worker_id_t w, struct api_worker_job *out)
{
	return workers_job(arg, w, &out->host, &out->job_id, &out->index,
			   &out->end);
}

/* The one server_on_ended callback, told after the API. */
static void ended_cb(void *arg, task_id_t id)
{
	struct server *srv = arg;

	if (srv->ended_fn)
		srv->ended_fn(srv->ended_arg, id);
}

static const struct events_ops ended_ops = {
	.task_ended = ended_cb,
};

/* --- setup ---------------------------------------------------------------- */

/* The first logs.N (N from 1) free in `state_dir`, made now (mkdir is
 * the claim), in `out`. */
static int claim_old_logs(const char *state_dir, struct strbuf *out,
			  struct err *err)
{
	for (unsigned n = 1; n < 1000000; n++) {
		strbuf_reset(out);
		strbuf_addf(out, "%s/logs.%u", state_dir, n);
		if (mkdir(out->buf, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return errprintf(err, "cannot create '%s': %s", out->buf,
					 strerror(errno));
	}
	return errprintf(err, "no free logs.N in '%s'", state_dir);
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 1;
	while (empty && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

/* Task ids start at 1 in every run, so a run writing logs/ID.out over an
 * earlier run's would lose it: the scheduler that publishes its address
 * moves what logs/ holds aside to logs.N first (the rename replaces the
 * empty logs.N just claimed, so no two starts take the same N); one that
 * runs beside it (keep_address) writes to a logs.N of its own. */
static int make_log_dir(struct server *srv, const char *state_dir,
			int publish, int resumed, struct err *err)
{
	struct strbuf old = STRBUF_INIT;
	int rc = -1;

	strbuf_reset(&srv->log_dir);
	if (!publish) {
		rc = claim_old_logs(state_dir, &srv->log_dir, err);
		if (!rc)
			log_msg(LOG_INFO, "task output goes to '%s'",
				srv->log_dir.buf);
		goto out;
	}
	strbuf_addf(&srv->log_dir, "%s/logs", state_dir);
	/* a journal's tasks keep their ids, and their output its place */
	if (!resumed && !dir_is_empty(srv->log_dir.buf)) {
		if (claim_old_logs(state_dir, &old, err) < 0)
			goto out;
		if (rename(srv->log_dir.buf, old.buf) < 0) {
			errprintf(err, "cannot move '%s' to '%s': %s",
				  srv->log_dir.buf, old.buf, strerror(errno));
			rmdir(old.buf);
			goto out;
		}
		log_msg(LOG_INFO, "an earlier run's output is in '%s'", old.buf);
	}
	if (mkdir(srv->log_dir.buf, 0700) < 0 && errno != EEXIST) {
		errprintf(err, "cannot create '%s': %s", srv->log_dir.buf,
			  strerror(errno));
		goto out;
	}
	rc = 0;
out:
	strbuf_release(&old);
	return rc;
}

/* --- the journal ------------------------------------------------------------ */

static void journal_hold(void *arg, struct http *h, struct evhttp_request *req,
			 int code, json_t *reply, json_t *record)
{
	server_journal_hold(arg, h, req, code, reply, record);
}

static int journal_compact_now(void *arg, uint64_t *size, struct err *err)
{
	return server_journal_compact(arg, size, err);
}

static void journal_health(void *arg, struct api_journal_health *h)
{
	server_journal_health(arg, h);
}

/* Replay state_dir/journal into the table, before anything listens. */
static int open_journal(struct server *srv, struct event_base *base,
			const struct server_config *cfg, struct err *err)
{
	struct strbuf path = STRBUF_INIT, old = STRBUF_INIT;
	struct server_journal_config jc = {
		.flush_period = cfg->journal_flush_period,
		.max_size = cfg->journal_max_size,
	};

	strbuf_addf(&path, "%s/%s", cfg->state_dir, STATE_JOURNAL);
	strbuf_addf(&old, "%s/%s", cfg->state_dir, STATE_JOURNAL_OLD);
	jc.path = path.buf;
	jc.old_path = old.buf;
	srv->journal = server_journal_open(base, srv->sched, &jc, &srv->found,
					   err);
	if (!srv->journal)
		errprefix(err, "cannot resume from '%s'", path.buf);
	else if (srv->found.tasks)
		log_msg(LOG_INFO, "journal: %llu tasks, %llu ended, %llu "
			"queued again, %llu running (kept for their workers "
			"to claim)%s",
			(unsigned long long)srv->found.tasks,
			(unsigned long long)srv->found.ended,
			(unsigned long long)(srv->found.tasks - srv->found.ended -
					     srv->found.running),
			(unsigned long long)srv->found.running,
			srv->found.torn ? "; a torn last line was dropped" : "");
	if (srv->journal && srv->found.zeroed_lines)
		log_msg(LOG_WARNING, "journal: %llu line%s from line %lu hold "
			"zeros (%llu bytes a crash of the machine lost): "
			"skipped, the tasks they recorded may run again; "
			"'cluster journal compact' rewrites the file without "
			"them", (unsigned long long)srv->found.zeroed_lines,
			srv->found.zeroed_lines == 1 ? "" : "s",
			srv->found.zeroed_first,
			(unsigned long long)srv->found.zeroed_bytes);
	strbuf_release(&path);
	strbuf_release(&old);
	return srv->journal ? 0 : -1;
}

static int is_wildcard(const char *host)
{
	return !host || !strcmp(host, "0.0.0.0") || !strcmp(host, "::") ||
		!*host;
}

struct server *server_create(struct event_base *base,
			     const struct server_config *cfg,
			     struct err *err)
{
	struct server *srv = calloc(1, sizeof(*srv));
	struct sched_hooks hooks = { 0 };
	char host[256];

	if (!srv) {
		errprintf(err, "out of memory");
		return NULL;
	}
	srv->lock_fd = -1;
	strbuf_init(&srv->log_dir, 0);
	strbuf_init(&srv->run_out, 0);
	strbuf_init(&srv->run_err, 0);
	srv->output = cfg->output;
	srv->events = events_create();
	if (!srv->events) {
		errprintf(err, "out of memory");
		goto fail;
	}
	hooks.arg = srv;
	hooks.assign = hook_assign;
	hooks.kill = hook_kill;
	hooks.ended = hook_ended;
	hooks.queued = hook_queued;
	hooks.released = hook_released;
	hooks.requeued = hook_requeued;
	srv->sched = sched_create(&hooks);
	if (!srv->sched) {
		errprintf(err, "cannot create the task table: %s", strerror(errno));
		goto fail;
	}
	sched_set_prefetch(srv->sched, SERVER_DEFAULT_PREFETCH);
	if (cfg->token) {
		snprintf(srv->token, sizeof(srv->token), "%s", cfg->token);
	} else if (cfg->state_dir) {
		if (state_token_renew(cfg->state_dir, srv->token, err) < 0)
			goto fail;
	} else {
		errprintf(err, "the server needs a token or a state directory");
		goto fail;
	}
	struct state_address old;
	int publish = 0;
	if (cfg->state_dir && cfg->keep_address &&
	    state_address_read(cfg->state_dir, &old, NULL) == 0) {
		log_msg(LOG_WARNING, "'%s' already names a scheduler at %s:%u; "
			"not publishing this one's address", cfg->state_dir,
			old.host, old.port);
	} else if (cfg->state_dir) {
		/* One scheduler per cluster name: the lock goes with this
		 * process, so a killed scheduler leaves no stale claim. */
		srv->lock_fd = state_lock(cfg->state_dir, 0, err);
		if (srv->lock_fd < 0 && errno == EWOULDBLOCK) {
			errprintf(err, "another scheduler already runs for '%s' "
				  "(its address file says where); stop it or "
				  "choose another --name", cfg->state_dir);
			goto fail;
		}
		/* Some shared file systems refuse locks (Lustre without
		 * flock): run unguarded rather than not at all. */
		if (srv->lock_fd < 0)
			log_msg(LOG_WARNING, "%s; a second scheduler under this "
				"name would not be refused",
				err ? err->text : "cannot lock the state directory");
		publish = 1;
	}
	if (cfg->state_dir) {
		srv->state_dir = strdup(cfg->state_dir);
		if (publish && cfg->journal && open_journal(srv, base, cfg,
							    err) < 0)
			goto fail;
		if (make_log_dir(srv, cfg->state_dir, publish,
				 srv->found.tasks > 0, err) < 0)
			goto fail;
	}
	struct workers_config wc = {
		.bind = cfg->bind,
		.port = cfg->port,
		.token = srv->token,
		.heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 5000,
		.missed_heartbeats = cfg->missed_heartbeats ?
			cfg->missed_heartbeats : 3,
		.rejoin_grace = cfg->rejoin_grace,
	};
	srv->workers = workers_create(base, srv->sched, srv->events, &wc, err);
	if (!srv->workers)
		goto fail;
	if (srv->journal)
		workers_before_send(srv->workers, server_journal_put_down,
				    srv->journal);

	if (cfg->advertise)
		snprintf(host, sizeof(host), "%s", cfg->advertise);
	else if (!is_wildcard(cfg->bind))
		snprintf(host, sizeof(host), "%s", cfg->bind);
	else if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(srv->address, sizeof(srv->address), "%s:%u", host,
		 workers_port(srv->workers));

	if (cfg->http) {
		struct api_config ac = {
			.bind = cfg->bind ? cfg->bind : "0.0.0.0",
			.port = cfg->http_port,
			.port_fallback = 1,
			.token = srv->token,
			.log_dir = srv->log_dir.len ? srv->log_dir.buf : NULL,
			.output = cfg->output,
		};
		srv->api = api_create(base, srv->sched, &ac, err);
		if (!srv->api)
			goto fail;
		events_subscribe(srv->events, &api_ops, srv->api);
		srv->feed = feed_create(srv->sched, srv->events);
		api_set_activity(srv->api, feed_activity(srv->feed));
		api_set_assets(srv->api, dashboard_assets);
		api_set_worker_jobs(srv->api, worker_job, srv->workers);
	}
	events_subscribe(srv->events, &ended_ops, srv);
	if (srv->journal) {
		struct api_journal aj = {
			.arg = srv->journal, .hold = journal_hold,
			.compact = journal_compact_now,
			.health = journal_health,
		};
		server_journal_subscribe(srv->journal, srv->events);
		api_set_journal(srv->api, &aj);
	}
	if (publish) {
		struct state_address a = { .port = workers_port(srv->workers),
					   .pid = (long)getpid() };
		snprintf(a.host, sizeof(a.host), "%s", host);
		a.http_port = srv->api ? api_port(srv->api) : 0;
		if (state_address_write(cfg->state_dir, &a, err) < 0)
			goto fail;
		srv->address_written = 1;
	}
	log_msg(LOG_INFO, "scheduler listening on %s%s", srv->address,
		srv->api ? "" : " (no HTTP API)");
	if (srv->api && cfg->http_port && api_port(srv->api) != cfg->http_port)
		log_msg(LOG_WARNING, "HTTP port %u is taken: the HTTP API and "
			"dashboard are on port %u instead", cfg->http_port,
			api_port(srv->api));
	else if (srv->api)
		log_msg(LOG_INFO, "HTTP API on port %u", api_port(srv->api));
	return srv;
fail:
	server_destroy(srv);
	return NULL;
}

void server_destroy(struct server *srv)
{
	if (!srv)
		return;
	server_pool_stop(srv);
	server_journal_close(srv->journal);
	workers_destroy(srv->workers);
	api_destroy(srv->api);
	feed_destroy(srv->feed);
	if (srv->address_written)
		state_address_remove(srv->state_dir);
	state_unlock(srv->lock_fd);
	sched_destroy(srv->sched);
	events_destroy(srv->events);
	strbuf_release(&srv->log_dir);
	strbuf_release(&srv->run_out);
	sched_argv_release(&srv->run_argv);
	strbuf_release(&srv->run_err);
	free(srv->state_dir);
	free(srv);
}

struct sched *server_sched(struct server *srv)
{
	return srv->sched;
}

struct events *server_events(struct server *srv)
{
	return srv->events;
}

int server_output(const struct server *srv)
{
	return srv->output;
}

const char *server_log_dir(const struct server *srv)
{
	return srv->log_dir.len ? srv->log_dir.buf : NULL;
}

uint16_t server_port(const struct server *srv)
{
	return workers_port(srv->workers);
}

uint16_t server_http_port(const struct server *srv)
{
	return srv->api ? api_port(srv->api) : 0;
}

const char *server_address(const struct server *srv)
{
	return srv->address;
}

const char *server_token(const struct server *srv)
{
	return srv->token;
}

void server_on_ended(struct server *srv, server_ended_fn fn, void *arg)
{
	srv->ended_fn = fn;
	srv->ended_arg = arg;
}

void server_set_prefetch(struct server *srv, unsigned n)
{
	sched_set_prefetch(srv->sched, n);
	server_kick(srv);
}

void server_kick(struct server *srv)
{
	if (srv->workers)	/* not while a journal is replayed */
		workers_kick(srv->workers);
}

void server_shutdown_workers(struct server *srv, const char *reason)
{
	workers_shutdown(srv->workers, reason);
}

int server_shutdown_worker(struct server *srv, worker_id_t w,
			   const char *reason)
{
	return workers_shutdown_one(srv->workers, w, reason);
}

unsigned server_nworkers(const struct server *srv)
{
	return workers_nready(srv->workers);
}

unsigned server_nworkers_seen(const struct server *srv)
{
	return workers_nseen(srv->workers);
}

struct pool_manager *server_pool(struct server *srv)
{
	return srv->pool;
}

void server_set_pool(struct server *srv, struct pool_manager *m)
{
	srv->pool = m;
	api_set_pool(srv->api, m, srv->address);
}

struct server_journal *server_journal(struct server *srv)
{
	return srv->journal;
}
