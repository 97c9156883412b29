#include "server/server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "api/api.h"
#include "proto/proto.h"
#include "util/log.h"
#include "state/state.h"
#include "util/strbuf.h"
#include "util/clock.h"
#include "util/units.h"

#define HANDSHAKE_TIMEOUT 10.0		/* seconds to complete AUTH */

enum conn_state { CONN_HELLO, CONN_READY };

struct conn {
	struct server *srv;
	struct conn *prev, *next;	/* every connection */
	struct conn *next_dirty;	/* has frames in `out` to write */
	struct bufferevent *bev;
	char addr[80];
	enum conn_state st;
	uint8_t nonce[PROTO_NONCE_SIZE];
	worker_id_t wid;
	char *name;
	double since, last_seen;
	struct strbuf out;
	int dirty;
	int shutdown_sent;
};

struct server {
	struct event_base *base;
	struct sched *sched;
	struct api *api;
	struct evconnlistener *listener;
	struct event *flush_ev;		/* end of loop iteration: dispatch, write */
	struct event *tick_ev;		/* heartbeats */
	uint16_t port;
	char address[300];
	char token[65];
	char *state_dir;
	struct strbuf log_dir;
	unsigned heartbeat_ms, missed;
	struct conn *conns;
	struct conn *dirty;
	struct conn **byid;
	size_t nbyid;
	unsigned nready, nseen;
	int need_dispatch;
	int shutting_down;
	char *shutdown_reason;
	int address_written;
	int lock_fd;			/* state_lock of a head's scheduler */
	server_ended_fn ended_fn;
	void *ended_arg;
};

static char *empty_list[] = { NULL };

static void schedule_flush(struct server *srv)
{
	if (!event_pending(srv->flush_ev, EV_TIMEOUT, NULL))
		event_active(srv->flush_ev, EV_TIMEOUT, 0);
}

static void conn_send(struct conn *c, const struct proto_msg *m)
{
	proto_encode(&c->out, m);
	if (!c->dirty) {
		c->dirty = 1;
		c->next_dirty = c->srv->dirty;
		c->srv->dirty = c;
	}
	schedule_flush(c->srv);
}

static void conn_free(struct conn *c)
{
	struct server *srv = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->dirty) {
		for (struct conn **p = &srv->dirty; *p; p = &(*p)->next_dirty)
			if (*p == c) {
				*p = c->next_dirty;
				break;
			}
	}
	if (c->st == CONN_READY) {
		if (c->wid >= 0 && (size_t)c->wid < srv->nbyid)
			srv->byid[c->wid] = NULL;
		srv->nready--;
	}
	bufferevent_free(c->bev);
	strbuf_release(&c->out);
	free(c->name);
	free(c);
}

/* A connection that never became a worker, or broke the protocol. */
static void conn_drop(struct conn *c, const char *reason)
{
	log_msg(LOG_WARNING, "dropped connection from %s: %s", c->addr, reason);
	if (c->st == CONN_READY) {
		sched_worker_lost(c->srv->sched, c->wid);
		c->srv->need_dispatch = 1;
		schedule_flush(c->srv);
	}
	conn_free(c);
}

/* A worker that was registered goes away. */
static void conn_lost(struct conn *c, const char *why)
{
	struct server *srv = c->srv;

	if (c->shutdown_sent)
		log_msg(LOG_DEBUG, "worker '%s' left", c->name);
	else
		log_msg(LOG_WARNING, "worker '%s' lost: %s", c->name, why);
	sched_worker_lost(srv->sched, c->wid);
	srv->need_dispatch = 1;
	schedule_flush(srv);
	conn_free(c);
}

static void send_shutdown(struct conn *c)
{
	struct proto_msg m = { .type = PROTO_SHUTDOWN };

	m.u.shutdown.reason = c->srv->shutdown_reason ?
		c->srv->shutdown_reason : (char *)"";
	conn_send(c, &m);
	c->shutdown_sent = 1;
	sched_worker_drain(c->srv->sched, c->wid);
}

/* --- message handlers ---------------------------------------------------- */

static int on_auth(struct conn *c, struct proto_msg *m)
{
	struct server *srv = c->srv;
	struct proto_auth *a = &m->u.auth;
	uint8_t want[PROTO_MAC_SIZE];

	if (c->st != CONN_HELLO) {
		conn_drop(c, "unexpected 'auth' after the handshake");
		return -1;
	}
	proto_mac(srv->token, "worker", c->nonce, a->nonce, want);
	if (!proto_mac_equal(want, a->mac)) {
		conn_drop(c, "wrong token");
		return -1;
	}
	if (a->cores == 0) {
		conn_drop(c, "worker announced no cores");
		return -1;
	}
	const char *name = a->name && *a->name ? a->name : c->addr;
	worker_id_t w = sched_worker_add(srv->sched, name, a->cores, a->memory);
	if (w < 0) {
		conn_drop(c, "cannot register the worker");
		return -1;
	}
	if ((size_t)w >= srv->nbyid) {
		size_t n = srv->nbyid ? srv->nbyid : 16;
		while (n <= (size_t)w)
			n *= 2;
		struct conn **p = realloc(srv->byid, n * sizeof(*p));
		if (!p) {
			sched_worker_lost(srv->sched, w);
			conn_drop(c, "out of memory");
			return -1;
		}
		memset(p + srv->nbyid, 0, (n - srv->nbyid) * sizeof(*p));
		srv->byid = p;
		srv->nbyid = n;
	}
	srv->byid[w] = c;
	c->wid = w;
	c->name = strdup(name);
	if (!c->name) {
		srv->byid[w] = NULL;
		sched_worker_lost(srv->sched, w);
		conn_drop(c, "out of memory");
		return -1;
	}
	c->st = CONN_READY;
	srv->nready++;
	srv->nseen++;
	/* The handshake timeout no longer applies; heartbeats take over. */
	bufferevent_set_timeouts(c->bev, NULL, NULL);

	struct proto_msg w_msg = { .type = PROTO_WELCOME };
	w_msg.u.welcome.worker_id = (uint32_t)w;
	w_msg.u.welcome.heartbeat_ms = srv->heartbeat_ms;
	proto_mac(srv->token, "server", a->nonce, c->nonce, w_msg.u.welcome.mac);
	conn_send(c, &w_msg);
	struct strbuf mem = STRBUF_INIT;
	size_format(&mem, a->memory);
	log_msg(LOG_INFO, "worker '%s' joined from %s: %u core%s, %llu bytes "
		"(%s)", c->name, c->addr, a->cores, a->cores == 1 ? "" : "s",
		(unsigned long long)a->memory, mem.buf);
	strbuf_release(&mem);
	if (srv->shutting_down)
		send_shutdown(c);
	srv->need_dispatch = 1;
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
	};

	if (c->st != CONN_READY) {
		conn_drop(c, "'done' before the handshake");
		return -1;
	}
	if (res.signal || res.exit_code)
		log_msg(LOG_DEBUG, "task %llu on '%s' ended: exit %d signal %d%s%s",
			(unsigned long long)d->task_id, c->name, res.exit_code,
			res.signal, res.reason ? ": " : "",
			res.reason ? res.reason : "");
	sched_task_finished(c->srv->sched, d->task_id, c->wid, &res);
	c->srv->need_dispatch = 1;
	return 0;
}

static int on_heartbeat(struct conn *c, struct proto_msg *m)
{
	(void)m;
	if (c->st != CONN_READY) {
		conn_drop(c, "'heartbeat' before the handshake");
		return -1;
	}
	return 0;
}

typedef int (*handler_fn)(struct conn *c, struct proto_msg *m);

/* What a worker may send; everything else is a protocol error. */
static const handler_fn handlers[PROTO_TYPE_MAX + 1] = {
	[PROTO_AUTH] = on_auth,
	[PROTO_DONE] = on_done,
	[PROTO_HEARTBEAT] = on_heartbeat,
};

/* --- connection events --------------------------------------------------- */

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct server *srv = c->srv;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct err err = { "" };

	c->last_seen = clock_monotonic();
	for (;;) {
		struct proto_msg m;
		int got = proto_read(in, PROTO_MAX_FRAME, &m, &err);
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
	if (srv->need_dispatch)
		schedule_flush(srv);
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
	if (what & BEV_EVENT_TIMEOUT)
		conn_drop(c, "no handshake in time");
	else if (evbuffer_get_length(bufferevent_get_input(c->bev)))
		conn_drop(c, "closed in the middle of a frame");
	else
		conn_drop(c, "closed during the handshake");
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct server *srv = arg;
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
	c->srv = srv;
	c->wid = -1;
	c->st = CONN_HELLO;
	c->since = c->last_seen = clock_monotonic();
	strbuf_init(&c->out, 0);
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev || proto_random(c->nonce, sizeof(c->nonce)) < 0) {
		log_msg(LOG_ERR, "cannot take connection from %s", c->addr);
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
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	struct timeval hs = { (time_t)HANDSHAKE_TIMEOUT, 0 };
	bufferevent_set_timeouts(c->bev, &hs, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);

	struct proto_msg m = { .type = PROTO_HELLO };
	memcpy(m.u.hello.nonce, c->nonce, sizeof(c->nonce));
	conn_send(c, &m);
	log_msg(LOG_DEBUG, "connection from %s", c->addr);
}

static void on_listen_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	log_msg(LOG_ERR, "cannot accept connections: %s", strerror(errno));
}

/* --- loop events ---------------------------------------------------------- */

/* Hand a connection's frames to the socket now when nothing is queued
 * before them: one send, and no write event to arm and disarm as the
 * bufferevent would.  What the socket does not take, and any error, is
 * left to the bufferevent, which reports errors through conn_event. */
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
		}
	}
	if (len)
		bufferevent_write(c->bev, buf, len);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	if (srv->need_dispatch) {
		srv->need_dispatch = 0;
		sched_dispatch(srv->sched);
	}
	while (srv->dirty) {
		struct conn *c = srv->dirty;
		srv->dirty = c->next_dirty;
		c->dirty = 0;
		c->next_dirty = NULL;
		if (c->out.len)
			conn_write(c);
		strbuf_reset(&c->out);
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	double now = clock_monotonic();
	double limit = (double)srv->heartbeat_ms * srv->missed / 1000.0;
	struct conn *next;

	(void)fd;
	(void)what;
	for (struct conn *c = srv->conns; c; c = next) {
		next = c->next;
		if (c->st != CONN_READY)
			continue;
		if (now - c->last_seen > limit) {
			conn_lost(c, "missed heartbeats");
			continue;
		}
		struct proto_msg m = { .type = PROTO_HEARTBEAT };
		struct worker_info wi;
		m.u.heartbeat.time_ms = (uint64_t)(now * 1000.0);
		if (sched_worker(srv->sched, c->wid, &wi) == 0)
			m.u.heartbeat.running = wi.running;
		conn_send(c, &m);
	}
}

/* --- sched hooks ---------------------------------------------------------- */

static void hook_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct server *srv = arg;
	struct conn *c = w >= 0 && (size_t)w < srv->nbyid ? srv->byid[w] : NULL;
	struct task_info ti;
	struct strbuf op = STRBUF_INIT, ep = STRBUF_INIT;

	if (!c || sched_task(srv->sched, id, &ti) < 0) {
		log_msg(LOG_ERR, "task %llu assigned to unknown worker %d",
			(unsigned long long)id, (int)w);
		return;
	}
	char **argv = sched_task_argv(srv->sched, id);
	if (!argv) {
		struct task_result res = { .exit_code = 127,
					   .reason = "spawn failed: out of memory" };
		sched_task_finished(srv->sched, id, w, &res);
		return;
	}
	const struct task_spec *sp = ti.spec;
	struct proto_msg m = { .type = PROTO_RUN };
	struct proto_run *r = &m.u.run;
	r->task_id = id;
	r->has_index = ti.has_index ? 1 : 0;
	r->array_index = ti.array_index;
	r->cores = sp->cores;
	r->memory_limit = sp->memory;
	r->time_limit = sp->time_limit;
	r->argv = argv;
	r->env = sp->env ? (char **)sp->env : empty_list;
	r->cwd = sp->cwd ? (char *)sp->cwd : (char *)"";
	/* "" when there is no log directory: the worker's choice. */
	task_output_path(&op, srv->log_dir.len ? srv->log_dir.buf : NULL, id,
			 ti.has_index, ti.array_index, TASK_STDOUT, sp);
	task_output_path(&ep, srv->log_dir.len ? srv->log_dir.buf : NULL, id,
			 ti.has_index, ti.array_index, TASK_STDERR, sp);
	r->stdout_path = op.buf;
	r->stderr_path = ep.buf;
	conn_send(c, &m);
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
	strbuf_release(&op);
	strbuf_release(&ep);
}

static void hook_kill(void *arg, worker_id_t w, task_id_t id)
{
	struct server *srv = arg;
	struct conn *c = w >= 0 && (size_t)w < srv->nbyid ? srv->byid[w] : NULL;
	struct proto_msg m = { .type = PROTO_KILL };

	if (!c)
		return;
	m.u.kill.task_id = id;
	conn_send(c, &m);
}

/* Whoever queued them (the API, a batch run, a retry), dispatch once on
 * the next loop turn, after everything this turn queues. */
static void hook_queued(void *arg)
{
	server_kick(arg);
}

static void hook_ended(void *arg, task_id_t id)
{
	struct server *srv = arg;

	if (srv->api)
		api_task_ended(srv->api, id);
	if (srv->ended_fn)
		srv->ended_fn(srv->ended_arg, id);
}

/* --- setup ----------------------------------------------------------------- */

static int listen_on(struct server *srv, const char *bind, uint16_t port,
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
	srv->listener = evconnlistener_new_bind(srv->base, on_accept, srv,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
		128, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (!srv->listener)
		return errprintf(err, "cannot listen on '%s' port %u: %s",
				 bind ? bind : "0.0.0.0", port, strerror(errno));
	evconnlistener_set_error_cb(srv->listener, on_listen_error);

	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(srv->listener),
			(struct sockaddr *)&ss, &len) < 0)
		return errprintf(err, "cannot read the listening port: %s",
				 strerror(errno));
	if (ss.ss_family == AF_INET)
		srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		srv->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
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
	srv->base = base;
	srv->lock_fd = -1;
	srv->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 5000;
	srv->missed = cfg->missed_heartbeats ? cfg->missed_heartbeats : 3;
	strbuf_init(&srv->log_dir, 0);
	hooks.arg = srv;
	hooks.assign = hook_assign;
	hooks.kill = hook_kill;
	hooks.ended = hook_ended;
	hooks.queued = hook_queued;
	srv->sched = sched_create(&hooks);
	if (!srv->sched) {
		errprintf(err, "cannot create the task table: %s", strerror(errno));
		goto fail;
	}
	sched_set_prefetch(srv->sched, SERVER_DEFAULT_PREFETCH);
	if (cfg->token) {
		snprintf(srv->token, sizeof(srv->token), "%s", cfg->token);
	} else if (cfg->state_dir) {
		if (state_token(cfg->state_dir, 1, srv->token, err) < 0)
			goto fail;
	} else {
		errprintf(err, "the server needs a token or a state directory");
		goto fail;
	}
	if (cfg->state_dir) {
		srv->state_dir = strdup(cfg->state_dir);
		strbuf_addf(&srv->log_dir, "%s/logs", cfg->state_dir);
		if (mkdir(srv->log_dir.buf, 0700) < 0 && errno != EEXIST) {
			errprintf(err, "cannot create '%s': %s", srv->log_dir.buf,
				  strerror(errno));
			goto fail;
		}
	}
	if (listen_on(srv, cfg->bind, cfg->port, err) < 0)
		goto fail;

	if (cfg->advertise)
		snprintf(host, sizeof(host), "%s", cfg->advertise);
	else if (!is_wildcard(cfg->bind))
		snprintf(host, sizeof(host), "%s", cfg->bind);
	else if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(srv->address, sizeof(srv->address), "%s:%u", host, srv->port);

	srv->flush_ev = event_new(base, -1, 0, on_flush, srv);
	srv->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, srv);
	if (!srv->flush_ev || !srv->tick_ev) {
		errprintf(err, "cannot create loop events");
		goto fail;
	}
	struct timeval tv = { srv->heartbeat_ms / 1000,
			      (srv->heartbeat_ms % 1000) * 1000 };
	event_add(srv->tick_ev, &tv);

	if (cfg->http) {
		struct api_config ac = {
			.bind = cfg->bind ? cfg->bind : "0.0.0.0",
			.port = cfg->http_port,
			.token = srv->token,
			.log_dir = srv->log_dir.len ? srv->log_dir.buf : NULL,
		};
		srv->api = api_create(base, srv->sched, &ac, err);
		if (!srv->api)
			goto fail;
	}
	struct state_address old;
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
		struct state_address a = { .port = srv->port,
					   .pid = (long)getpid() };
		snprintf(a.host, sizeof(a.host), "%s", host);
		a.http_port = srv->api ? api_port(srv->api) : 0;
		if (state_address_write(cfg->state_dir, &a, err) < 0)
			goto fail;
		srv->address_written = 1;
	}
	log_msg(LOG_INFO, "scheduler listening on %s%s", srv->address,
		srv->api ? "" : " (no HTTP API)");
	if (srv->api)
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
	while (srv->conns)
		conn_free(srv->conns);
	if (srv->listener)
		evconnlistener_free(srv->listener);
	if (srv->flush_ev)
		event_free(srv->flush_ev);
	if (srv->tick_ev)
		event_free(srv->tick_ev);
	api_destroy(srv->api);
	if (srv->address_written)
		state_address_remove(srv->state_dir);
	state_unlock(srv->lock_fd);
	sched_destroy(srv->sched);
	strbuf_release(&srv->log_dir);
	free(srv->byid);
	free(srv->state_dir);
	free(srv->shutdown_reason);
	free(srv);
}

struct sched *server_sched(struct server *srv)
{
	return srv->sched;
}

uint16_t server_port(const struct server *srv)
{
	return srv->port;
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
	srv->need_dispatch = 1;
	schedule_flush(srv);
}

void server_shutdown_workers(struct server *srv, const char *reason)
{
	if (srv->shutting_down)
		return;
	srv->shutting_down = 1;
	srv->shutdown_reason = strdup(reason ? reason : "");
	for (struct conn *c = srv->conns; c; c = c->next)
		if (c->st == CONN_READY && !c->shutdown_sent)
			send_shutdown(c);
}

unsigned server_nworkers(const struct server *srv)
{
	return srv->nready;
}

unsigned server_nworkers_seen(const struct server *srv)
{
	return srv->nseen;
}
