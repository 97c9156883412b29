/*
 * The scheduler server over loopback, with this test playing the worker:
 * handshake both ways, refusals, RUN/DONE, lost workers, heartbeats,
 * SHUTDOWN, prompt dispatch after a submission, prefetch.  The server's
 * loop is pumped by hand between client steps.  The last tests run a real
 * worker (worker_run) in a child process.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "proto/proto.h"
#include "sched/sched.h"
#include "util/log.h"
#include "server/server.h"
#include "util/strbuf.h"
#include "worker/worker.h"

#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define LIT(s) ((char *)(s))

static struct event_base *base;
static struct server *srv;

struct client {
	int fd;
	struct strbuf in;
	int closed;
	uint8_t sn[PROTO_NONCE_SIZE], cn[PROTO_NONCE_SIZE];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void setup(void)
{
	struct server_config cfg = {
		.bind = "127.0.0.1",
		.token = TOKEN,
		.heartbeat_ms = 100,
		.missed_heartbeats = 3,
	};
	struct err err = { "" };

	log_setup("check_server", 0);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	srv = server_create(base, &cfg, &err);
	ck_assert_msg(srv != NULL, "server_create: %s", err.text);
	ck_assert_uint_gt(server_port(srv), 0);
}

static void teardown(void)
{
	server_destroy(srv);
	event_base_free(base);
}

static void pump(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static void client_open(struct client *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	memset(c, 0, sizeof(*c));
	strbuf_init(&c->in, 0);
	sa.sin_port = htons(server_port(srv));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(c->fd, 0);
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	strbuf_release(&c->in);
}

static void client_send(struct client *c, const struct proto_msg *m)
{
	struct strbuf sb = STRBUF_INIT;

	proto_encode(&sb, m);
	ck_assert_int_eq(write(c->fd, sb.buf, sb.len), (ssize_t)sb.len);
	strbuf_release(&sb);
}

static void client_read(struct client *c)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(c->fd, buf, sizeof(buf))) > 0)
		strbuf_add(&c->in, buf, (size_t)n);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		c->closed = 1;
}

/* Pump both sides until a frame arrives (1) or the server closes (0),
 * for at most `secs`. */
static int client_recv(struct client *c, struct proto_msg *m, double secs)
{
	double until = now_s() + secs;
	struct err err = { "" };

	for (;;) {
		long size = proto_frame_size((const uint8_t *)c->in.buf, c->in.len,
					     PROTO_MAX_FRAME, &err);
		ck_assert_int_ge(size, 0);
		if (size > 0) {
			ck_assert_int_eq(proto_decode((const uint8_t *)c->in.buf,
						      (size_t)size, m, &err), 0);
			memmove(c->in.buf, c->in.buf + size, c->in.len - (size_t)size);
			strbuf_setlen(&c->in, c->in.len - (size_t)size);
			return 1;
		}
		if (c->closed)
			return 0;
		ck_assert_msg(now_s() < until, "nothing from the server in %.1f s",
			      secs);
		pump();
		client_read(c);
		usleep(1000);
	}
}

/* Next frame that is not a heartbeat. */
static int client_recv_skip_hb(struct client *c, struct proto_msg *m,
			       double secs)
{
	for (;;) {
		if (!client_recv(c, m, secs))
			return 0;
		if (m->type != PROTO_HEARTBEAT)
			return 1;
		proto_msg_release(m);
	}
}

static void wait_closed(struct client *c, double secs)
{
	struct proto_msg m;

	while (client_recv(c, &m, secs))
		proto_msg_release(&m);
}

static void auth(struct client *c, const char *token, unsigned cores)
{
	struct proto_msg m, a = { .type = PROTO_AUTH };

	ck_assert(client_recv(c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_HELLO);
	memcpy(c->sn, m.u.hello.nonce, PROTO_NONCE_SIZE);
	proto_msg_release(&m);
	proto_random(c->cn, PROTO_NONCE_SIZE);
	memcpy(a.u.auth.nonce, c->cn, PROTO_NONCE_SIZE);
	proto_mac(token, "worker", c->sn, c->cn, a.u.auth.mac);
	a.u.auth.name = LIT("w1");
	a.u.auth.host = LIT("localhost");
	a.u.auth.pid = 1;
	a.u.auth.cores = cores;
	a.u.auth.memory = 1 << 30;
	client_send(c, &a);
}

static void join(struct client *c, unsigned cores)
{
	struct proto_msg m;
	uint8_t want[PROTO_MAC_SIZE];

	auth(c, TOKEN, cores);
	ck_assert(client_recv(c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_WELCOME);
	proto_mac(TOKEN, "server", c->cn, c->sn, want);
	ck_assert(proto_mac_equal(want, m.u.welcome.mac));
	ck_assert_uint_eq(m.u.welcome.heartbeat_ms, 100);
	proto_msg_release(&m);
}

/* Submits straight into sched, as the API does: sched's queued hook is
 * all that tells the server. */
static task_id_t submit(const char *arg)
{
	char *argv[] = { LIT("echo"), (char *)arg, NULL };
	struct task_spec spec = { .argv = argv, .cores = 1 };
	struct err err = { "" };
	task_id_t first;
	uint64_t count;

	ck_assert_int_eq(sched_submit(server_sched(srv), &spec, &first, &count,
				      &err), 0);
	return first;
}

static struct task_info info_of(task_id_t id)
{
	struct task_info ti;

	ck_assert_int_eq(sched_task(server_sched(srv), id, &ti), 0);
	return ti;
}

static enum task_state state_of(task_id_t id)
{
	struct task_info ti;

	ck_assert_int_eq(sched_task(server_sched(srv), id, &ti), 0);
	return ti.state;
}

static void send_done(struct client *c, task_id_t id, int code)
{
	struct proto_msg d = { .type = PROTO_DONE };

	d.u.done.task_id = id;
	d.u.done.exit_code = code;
	d.u.done.reason = LIT("");
	client_send(c, &d);
}

/* --- tests --------------------------------------------------------------- */

START_TEST(test_handshake)
{
	struct client c;

	client_open(&c);
	join(&c, 2);
	pump();
	ck_assert_uint_eq(server_nworkers(srv), 1);
	ck_assert_uint_eq(server_nworkers_seen(srv), 1);
	client_close(&c);
	for (int i = 0; i < 50 && server_nworkers(srv); i++) {
		pump();
		usleep(1000);
	}
	ck_assert_uint_eq(server_nworkers(srv), 0);
}
END_TEST

START_TEST(test_wrong_token)
{
	struct client c;

	client_open(&c);
	auth(&c, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 1);
	wait_closed(&c, 2);
	ck_assert(c.closed);
	ck_assert_uint_eq(server_nworkers_seen(srv), 0);
	client_close(&c);

	/* A real worker still gets in. */
	client_open(&c);
	join(&c, 1);
	pump();
	ck_assert_uint_eq(server_nworkers(srv), 1);
	client_close(&c);
}
END_TEST

START_TEST(test_garbage)
{
	struct client c;
	struct proto_msg m;
	char junk[300];

	client_open(&c);
	ck_assert(client_recv(&c, &m, 2));
	proto_msg_release(&m);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 31 + 7);
	ck_assert_int_eq(write(c.fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	wait_closed(&c, 2);
	ck_assert(c.closed);
	client_close(&c);
}
END_TEST

START_TEST(test_zero_cores)
{
	struct client c;

	client_open(&c);
	auth(&c, TOKEN, 0);
	wait_closed(&c, 2);
	ck_assert(c.closed);
	ck_assert_uint_eq(server_nworkers_seen(srv), 0);
	client_close(&c);
}
END_TEST

START_TEST(test_run_done)
{
	struct client c;
	struct proto_msg m;

	client_open(&c);
	join(&c, 1);
	task_id_t a = submit("one");
	task_id_t b = submit("two");

	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_RUN);
	ck_assert_uint_eq(m.u.run.task_id, a);
	ck_assert_str_eq(m.u.run.argv[0], "echo");
	ck_assert_str_eq(m.u.run.argv[1], "one");
	ck_assert_ptr_null(m.u.run.argv[2]);
	ck_assert_uint_eq(m.u.run.cores, 1);
	proto_msg_release(&m);
	ck_assert_int_eq(state_of(a), TASK_RUNNING);

	/* One core, but b is sent too, to wait on the worker (prefetch). */
	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_RUN);
	ck_assert_uint_eq(m.u.run.task_id, b);
	proto_msg_release(&m);
	ck_assert_int_eq(state_of(b), TASK_RUNNING);
	ck_assert(info_of(b).start_time == 0);

	send_done(&c, a, 0);
	for (int i = 0; i < 200 && state_of(a) == TASK_RUNNING; i++) {
		pump();
		usleep(1000);
	}
	ck_assert_int_eq(state_of(a), TASK_DONE);
	ck_assert(info_of(b).start_time > 0);	/* started as a ended */

	send_done(&c, b, 3);
	for (int i = 0; i < 200 && state_of(b) == TASK_RUNNING; i++) {
		pump();
		usleep(1000);
	}
	ck_assert_int_eq(state_of(b), TASK_FAILED);
	ck_assert(sched_idle(server_sched(srv)));
	client_close(&c);
}
END_TEST

/* A task the protocol cannot carry (an argument over PROTO_MAX_STRING)
 * fails with the reason; the worker keeps its connection and runs the
 * next task. */
START_TEST(test_unsendable_task_fails)
{
	struct client c;
	struct proto_msg m;
	char *big = malloc(PROTO_MAX_STRING + 2);

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', PROTO_MAX_STRING + 1);
	big[PROTO_MAX_STRING + 1] = '\0';
	client_open(&c);
	join(&c, 1);
	task_id_t a = submit(big);
	task_id_t b = submit("small");
	free(big);

	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_RUN);
	ck_assert_uint_eq(m.u.run.task_id, b);
	proto_msg_release(&m);
	ck_assert_int_eq(state_of(a), TASK_FAILED);
	ck_assert_ptr_nonnull(strstr(info_of(a).reason, "cannot be sent"));
	send_done(&c, b, 0);
	for (int i = 0; i < 200 && state_of(b) == TASK_RUNNING; i++) {
		pump();
		usleep(1000);
	}
	ck_assert_int_eq(state_of(b), TASK_DONE);
	client_close(&c);
}
END_TEST

START_TEST(test_prefetch_off)
{
	struct client c;
	struct proto_msg m;

	server_set_prefetch(srv, 0);
	client_open(&c);
	join(&c, 1);
	task_id_t a = submit("one");
	task_id_t b = submit("two");
	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_uint_eq(m.u.run.task_id, a);
	proto_msg_release(&m);
	for (int i = 0; i < 20; i++) {
		pump();
		usleep(1000);
	}
	ck_assert_int_eq(state_of(b), TASK_QUEUED);	/* one core only */
	send_done(&c, a, 0);
	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_RUN);
	ck_assert_uint_eq(m.u.run.task_id, b);
	proto_msg_release(&m);
	ck_assert_int_eq(state_of(a), TASK_DONE);
	client_close(&c);
}
END_TEST

/* A submission is placed on the loop's next turn: no timer involved. */
START_TEST(test_submit_dispatches_at_once)
{
	struct client c;
	struct proto_msg m;

	client_open(&c);
	join(&c, 2);
	for (int i = 0; i < 20; i++) {
		pump();
		usleep(1000);
	}
	ck_assert_uint_eq(server_nworkers(srv), 1);
	task_id_t a = submit("x");
	ck_assert_int_eq(state_of(a), TASK_QUEUED);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_eq(state_of(a), TASK_RUNNING);
	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_RUN);
	ck_assert_uint_eq(m.u.run.task_id, a);
	proto_msg_release(&m);

	/* A retry is placed the same way. */
	struct sched *sc = server_sched(srv);
	char *argv[] = { LIT("false"), NULL };
	struct task_spec spec = { .argv = argv, .cores = 2, .retries = 1 };
	task_id_t r;
	ck_assert_int_eq(sched_submit(sc, &spec, &r, NULL, NULL), 0);
	send_done(&c, a, 0);
	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_uint_eq(m.u.run.task_id, r);
	proto_msg_release(&m);
	struct task_result res = { .exit_code = 1 };
	sched_task_finished(sc, r, 0, &res);
	ck_assert_int_eq(state_of(r), TASK_QUEUED);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_eq(state_of(r), TASK_RUNNING);
	client_close(&c);
}
END_TEST

START_TEST(test_kill_held_task)
{
	struct client c;
	struct proto_msg m;

	client_open(&c);
	join(&c, 1);
	task_id_t a = submit("one");
	task_id_t b = submit("two");
	for (int k = 0; k < 2; k++) {
		ck_assert(client_recv_skip_hb(&c, &m, 2));
		ck_assert_int_eq(m.type, PROTO_RUN);
		proto_msg_release(&m);
	}
	ck_assert_int_eq(sched_cancel(server_sched(srv), b, NULL), 0);
	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_KILL);
	ck_assert_uint_eq(m.u.kill.task_id, b);
	proto_msg_release(&m);

	/* Lost with a task held: it runs on the next worker. */
	task_id_t d = submit("three");
	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_uint_eq(m.u.run.task_id, d);
	proto_msg_release(&m);
	client_close(&c);
	for (int i = 0; i < 200 && state_of(d) == TASK_RUNNING; i++) {
		pump();
		usleep(1000);
	}
	ck_assert_int_eq(state_of(a), TASK_QUEUED);
	ck_assert_int_eq(state_of(d), TASK_QUEUED);
	ck_assert_uint_eq(info_of(d).worker_losses, 0);
	client_open(&c);
	join(&c, 1);
	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_uint_eq(m.u.run.task_id, a);
	proto_msg_release(&m);
	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_uint_eq(m.u.run.task_id, d);
	proto_msg_release(&m);
	client_close(&c);
}
END_TEST

START_TEST(test_lost_worker_requeues)
{
	struct client c;
	struct proto_msg m;

	client_open(&c);
	join(&c, 1);
	task_id_t a = submit("x");
	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_RUN);
	proto_msg_release(&m);
	ck_assert_int_eq(state_of(a), TASK_RUNNING);
	client_close(&c);
	for (int i = 0; i < 200 && state_of(a) == TASK_RUNNING; i++) {
		pump();
		usleep(1000);
	}
	ck_assert_int_eq(state_of(a), TASK_QUEUED);
	ck_assert_uint_eq(server_nworkers(srv), 0);

	/* The next worker gets it. */
	client_open(&c);
	join(&c, 1);
	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_RUN);
	ck_assert_uint_eq(m.u.run.task_id, a);
	proto_msg_release(&m);
	client_close(&c);
}
END_TEST

START_TEST(test_missed_heartbeats)
{
	struct client c;
	struct proto_msg m;
	int heartbeats = 0;

	client_open(&c);
	join(&c, 1);
	/* Say nothing: heartbeats come, then the server gives up. */
	while (client_recv(&c, &m, 3)) {
		if (m.type == PROTO_HEARTBEAT)
			heartbeats++;
		proto_msg_release(&m);
	}
	ck_assert(c.closed);
	ck_assert_int_ge(heartbeats, 1);
	ck_assert_uint_eq(server_nworkers(srv), 0);
	client_close(&c);
}
END_TEST

START_TEST(test_heartbeats_keep_alive)
{
	struct client c;
	struct proto_msg m, hb = { .type = PROTO_HEARTBEAT };
	double until = now_s() + 0.8;

	client_open(&c);
	join(&c, 1);
	while (now_s() < until) {
		client_send(&c, &hb);
		ck_assert(client_recv(&c, &m, 1));
		proto_msg_release(&m);
	}
	ck_assert(!c.closed);
	ck_assert_uint_eq(server_nworkers(srv), 1);
	client_close(&c);
}
END_TEST

START_TEST(test_shutdown)
{
	struct client c, late;
	struct proto_msg m;

	client_open(&c);
	join(&c, 1);
	server_shutdown_workers(srv, "done here");
	ck_assert(client_recv_skip_hb(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_SHUTDOWN);
	ck_assert_str_eq(m.u.shutdown.reason, "done here");
	proto_msg_release(&m);

	/* A worker that joins afterwards is told at once, and gets no task. */
	submit("never");
	client_open(&late);
	join(&late, 1);
	ck_assert(client_recv_skip_hb(&late, &m, 2));
	ck_assert_int_eq(m.type, PROTO_SHUTDOWN);
	proto_msg_release(&m);
	client_close(&late);
	client_close(&c);
}
END_TEST

/* --- a real worker ---------------------------------------------------------- */

static pid_t start_worker(unsigned cores)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct worker_opts o = {
			.host = "127.0.0.1",
			.port = server_port(srv),
			.name = "real",
			.token = TOKEN,
			.cores = cores,
			.memory = 1ULL << 30,
			.death_timeout = 5,
		};
		_exit(worker_run(&o));
	}
	return pid;
}

static task_id_t submit_sh(const char *script)
{
	char *argv[] = { LIT("/bin/sh"), LIT("-c"), (char *)script, NULL };
	struct task_spec spec = { .argv = argv, .cores = 1,
				  .stdout_path = "/dev/null",
				  .stderr_path = "/dev/null" };
	task_id_t first;

	ck_assert_int_eq(sched_submit(server_sched(srv), &spec, &first, NULL,
				      NULL), 0);
	return first;
}

static void wait_state(task_id_t id, enum task_state st, double secs)
{
	double until = now_s() + secs;

	while (state_of(id) != st && now_s() < until)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(state_of(id), st);
}

static void end_worker(pid_t pid)
{
	int status = -1;
	double until = now_s() + 5;

	server_shutdown_workers(srv, "test over");
	while (waitpid(pid, &status, WNOHANG) == 0 && now_s() < until) {
		pump();
		usleep(1000);
	}
	if (status == -1)
		kill(pid, SIGKILL);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), WORKER_EXIT_OK);
}

/* Held tasks start in order once the core is free; a cancelled one that
 * was held never runs. */
START_TEST(test_worker_holds_tasks_in_order)
{
	char dir[] = "/tmp/check_server.XXXXXX", cmd[3][256], path[300];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	server_set_prefetch(srv, 2);
	snprintf(cmd[0], sizeof(cmd[0]), "sleep 0.3; touch %s/a", dir);
	snprintf(cmd[1], sizeof(cmd[1]), "test -e %s/a && touch %s/b", dir,
		 dir);
	snprintf(cmd[2], sizeof(cmd[2]), "touch %s/c", dir);
	task_id_t a = submit_sh(cmd[0]);
	task_id_t b = submit_sh(cmd[1]);
	task_id_t c = submit_sh(cmd[2]);
	pid_t pid = start_worker(1);
	double until = now_s() + 5;
	while (state_of(c) != TASK_RUNNING && now_s() < until)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(state_of(b), TASK_RUNNING);
	ck_assert_int_eq(state_of(c), TASK_RUNNING);
	ck_assert(info_of(c).start_time == 0);
	ck_assert_int_eq(sched_cancel(server_sched(srv), c, NULL), 0);

	wait_state(b, TASK_DONE, 5);		/* it saw a's file */
	ck_assert_int_eq(state_of(a), TASK_DONE);
	ck_assert(info_of(b).start_time >= info_of(a).end_time);
	ck_assert_int_eq(state_of(c), TASK_CANCELLED);

	/* The worker still takes work after the cancel. */
	task_id_t d = submit_sh("exit 0");
	wait_state(d, TASK_DONE, 5);
	end_worker(pid);
	snprintf(path, sizeof(path), "%s/c", dir);
	ck_assert_int_ne(access(path, F_OK), 0);
	for (const char *f = "abc"; *f; f++) {
		snprintf(path, sizeof(path), "%s/%c", dir, *f);
		unlink(path);
	}
	rmdir(dir);
}
END_TEST

/* Cancelling the running task frees the core for the held one at once. */
START_TEST(test_worker_kill_running_starts_held)
{
	server_set_prefetch(srv, 1);
	task_id_t a = submit_sh("exec sleep 30");
	task_id_t b = submit_sh("exit 0");
	pid_t pid = start_worker(1);
	double until = now_s() + 5;
	while (state_of(b) != TASK_RUNNING && now_s() < until)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(sched_cancel(server_sched(srv), a, NULL), 0);
	wait_state(b, TASK_DONE, 5);
	end_worker(pid);
}
END_TEST

static Suite *server_suite(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("loopback");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_handshake);
	tcase_add_test(tc, test_wrong_token);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_zero_cores);
	tcase_add_test(tc, test_run_done);
	tcase_add_test(tc, test_unsendable_task_fails);
	tcase_add_test(tc, test_lost_worker_requeues);
	tcase_add_test(tc, test_missed_heartbeats);
	tcase_add_test(tc, test_heartbeats_keep_alive);
	tcase_add_test(tc, test_shutdown);
	tcase_add_test(tc, test_prefetch_off);
	tcase_add_test(tc, test_submit_dispatches_at_once);
	tcase_add_test(tc, test_kill_held_task);
	tcase_add_test(tc, test_worker_holds_tasks_in_order);
	tcase_add_test(tc, test_worker_kill_running_starts_held);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(server_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
