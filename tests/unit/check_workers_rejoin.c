/*
 * The scheduler's side of a rejoin, over loopback, with this test playing
 * a worker that kept runs: claims taken back or answered KILL ahead of
 * any RUN, no task before the last claim AUTH announced, too many claims
 * refused, restored runs requeued once the grace period is over (the
 * restore made after the server started, as a late replay would), and
 * the end of an older attempt ignored, a claim and end told again of a
 * task that ended already taken as a harmless repeat.  The server's
 * loop is pumped by hand between the test's steps.  The last tests run a real worker
 * (worker_run) in a child process, end its scheduler under a running
 * task and start another on the same port that has that task restored:
 * the worker's run is taken back and its end counts, whether it ends
 * after the rejoin or before it, or even before the first scheduler
 * went (its end read but, as the journal says, not written down).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "proto/proto.h"
#include "sched/sched.h"
#include "server/server.h"
#include "util/log.h"
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
	uint32_t wid;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void start_on(double grace, uint16_t port)
{
	struct server_config cfg = {
		.bind = "127.0.0.1",
		.port = port,
		.token = TOKEN,
		.heartbeat_ms = 100,
		.missed_heartbeats = 50,	/* no loss while a test thinks */
		.rejoin_grace = grace,
	};
	struct err err = { "" };

	log_setup("check_workers_rejoin", 0);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	srv = server_create(base, &cfg, &err);
	ck_assert_msg(srv != NULL, "server_create: %s", err.text);
	server_set_prefetch(srv, 0);
}

static void start(double grace)
{
	start_on(grace, 0);
}

static void setup_long(void)
{
	start(60);
}

static void setup_short(void)
{
	start(0.3);
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

/* Run the server's loop for about `secs`. */
static void pump_for(double secs)
{
	double until = now_s() + secs;

	while (now_s() < until) {
		pump();
		usleep(1000);
	}
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

/* The next frame that is not a heartbeat within `secs`: 1, or 0 when the
 * server closed the connection or `secs` passed without one. */
static int client_recv(struct client *c, struct proto_msg *m, double secs)
{
	double until = now_s() + secs;
	struct err err = { "" };

	for (;;) {
		long size = proto_frame_size((const uint8_t *)c->in.buf,
					     c->in.len, PROTO_MAX_FRAME, &err);
		ck_assert_int_ge(size, 0);
		if (size > 0) {
			ck_assert_int_eq(proto_decode((const uint8_t *)c->in.buf,
						      (size_t)size, m, &err), 0);
			memmove(c->in.buf, c->in.buf + size,
				c->in.len - (size_t)size);
			strbuf_setlen(&c->in, c->in.len - (size_t)size);
			if (m->type != PROTO_HEARTBEAT)
				return 1;
			proto_msg_release(m);
			continue;
		}
		if (c->closed || now_s() > until)
			return 0;
		pump();
		client_read(c);
		usleep(1000);
	}
}

/* Handshake as a worker of `cores` cores that kept `tasks` runs. */
static void join(struct client *c, unsigned cores, uint32_t tasks)
{
	struct proto_msg m, a = { .type = PROTO_AUTH };

	ck_assert(client_recv(c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_HELLO);
	memcpy(c->sn, m.u.hello.nonce, PROTO_NONCE_SIZE);
	proto_msg_release(&m);
	proto_random(c->cn, PROTO_NONCE_SIZE);
	memcpy(a.u.auth.nonce, c->cn, PROTO_NONCE_SIZE);
	proto_mac(TOKEN, "worker", c->sn, c->cn, a.u.auth.mac);
	a.u.auth.name = LIT("w1");
	a.u.auth.host = LIT("localhost");
	a.u.auth.pid = 1;
	a.u.auth.cores = cores;
	a.u.auth.memory = 1 << 30;
	a.u.auth.tasks = tasks;
	client_send(c, &a);
	ck_assert(client_recv(c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_WELCOME);
	c->wid = m.u.welcome.worker_id;
	proto_msg_release(&m);
}

static void send_claims(struct client *c, const struct proto_claim *cl,
			uint32_t n)
{
	struct proto_msg m = { .type = PROTO_REJOIN };

	m.u.rejoin.count = n;
	m.u.rejoin.claims = (struct proto_claim *)cl;
	client_send(c, &m);
}

static void send_done(struct client *c, task_id_t id, uint32_t attempt,
		      int code)
{
	struct proto_msg d = { .type = PROTO_DONE };

	d.u.done.task_id = id;
	d.u.done.attempt = attempt;
	d.u.done.exit_code = code;
	d.u.done.reason = LIT("");
	client_send(c, &d);
}

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

/* Pump until task `id` is in state `st`, for at most `secs`. */
static int wait_state(task_id_t id, enum task_state st, double secs)
{
	double until = now_s() + secs;

	while (info_of(id).state != st) {
		if (now_s() > until)
			return 0;
		pump();
		usleep(1000);
	}
	return 1;
}

static void restore(task_id_t id, unsigned attempt)
{
	ck_assert_int_eq(sched_restore_running(server_sched(srv), id, attempt),
			 0);
}

/* --- tests --------------------------------------------------------------- */

START_TEST(claimed_run_is_kept)
{
	struct client c;
	struct proto_msg m;
	task_id_t t = submit("kept"), u = submit("next");

	restore(t, 2);
	client_open(&c);
	join(&c, 2, 1);
	const struct proto_claim cl = { t, 2, 4000000 };
	send_claims(&c, &cl, 1);

	/* Not killed, not sent again: the next task is the only RUN. */
	ck_assert(client_recv(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_RUN);
	ck_assert_uint_eq(m.u.run.task_id, u);
	ck_assert_uint_eq(m.u.run.attempt, 1);
	proto_msg_release(&m);
	struct task_info ti = info_of(t);
	ck_assert_int_eq(ti.state, TASK_RUNNING);
	ck_assert_int_eq(ti.worker, (worker_id_t)c.wid);
	ck_assert_uint_eq(ti.attempts, 2);
	ck_assert_uint_eq(sched_unclaimed(server_sched(srv)), 0);

	/* Its end, reported as that attempt's, counts. */
	send_done(&c, t, 2, 0);
	ck_assert(wait_state(t, TASK_DONE, 2));
	ck_assert_uint_eq(info_of(t).attempts, 2);
	ck_assert(!client_recv(&c, &m, 0.2));
	client_close(&c);
}
END_TEST

START_TEST(other_claims_are_killed_before_any_run)
{
	struct client c;
	struct proto_msg m;
	task_id_t t = submit("queued");

	client_open(&c);
	join(&c, 1, 2);
	const struct proto_claim cl[] = { { t, 1, 1000 }, { 99, 1, 1000 } };
	send_claims(&c, cl, 2);

	ck_assert(client_recv(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_KILL);
	ck_assert_uint_eq(m.u.kill.task_id, t);
	proto_msg_release(&m);
	ck_assert(client_recv(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_KILL);
	ck_assert_uint_eq(m.u.kill.task_id, 99);
	proto_msg_release(&m);
	/* then the task, as a run of its own */
	ck_assert(client_recv(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_RUN);
	ck_assert_uint_eq(m.u.run.task_id, t);
	ck_assert_uint_eq(m.u.run.attempt, 1);
	proto_msg_release(&m);
	client_close(&c);
}
END_TEST

START_TEST(no_task_before_the_last_claim)
{
	struct client c;
	struct proto_msg m;
	task_id_t a = submit("a"), b = submit("b");
	task_id_t next = submit("next");

	restore(a, 1);
	restore(b, 1);
	client_open(&c);
	join(&c, 4, 2);
	const struct proto_claim first = { a, 1, 0 }, second = { b, 1, 0 };
	send_claims(&c, &first, 1);
	ck_assert(!client_recv(&c, &m, 0.3));		/* still claiming */
	ck_assert_int_eq(info_of(next).state, TASK_QUEUED);
	send_claims(&c, &second, 1);
	ck_assert(client_recv(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_RUN);
	ck_assert_uint_eq(m.u.run.task_id, next);
	proto_msg_release(&m);
	ck_assert_int_eq(info_of(b).worker, (worker_id_t)c.wid);
	client_close(&c);
}
END_TEST

START_TEST(more_claims_than_announced_drop_the_worker)
{
	struct client c;
	struct proto_msg m;
	task_id_t t = submit("t");

	restore(t, 1);
	client_open(&c);
	join(&c, 2, 1);
	const struct proto_claim cl[] = { { t, 1, 0 }, { 5, 1, 0 } };
	send_claims(&c, cl, 2);
	while (client_recv(&c, &m, 2))
		proto_msg_release(&m);
	ck_assert(c.closed);
	ck_assert_int_eq(info_of(t).worker, -1);	/* nothing taken */
	ck_assert_uint_eq(server_nworkers(srv), 0);
	client_close(&c);
}
END_TEST

/* Restored after the server started; no worker comes back for it. */
START_TEST(unclaimed_run_is_requeued_after_the_grace)
{
	struct client c;
	struct proto_msg m;
	task_id_t t = submit("t");

	restore(t, 1);
	pump_for(0.1);
	ck_assert_int_eq(info_of(t).state, TASK_RUNNING);
	ck_assert(wait_state(t, TASK_QUEUED, 5));
	struct task_info ti = info_of(t);
	ck_assert_uint_eq(ti.worker_losses, 0);
	ck_assert_uint_eq(ti.attempts, 1);
	ck_assert_uint_eq(sched_unclaimed(server_sched(srv)), 0);

	/* Its next run is the next attempt; the old run's end is not it. */
	client_open(&c);
	join(&c, 1, 0);
	ck_assert(client_recv(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_RUN);
	ck_assert_uint_eq(m.u.run.task_id, t);
	ck_assert_uint_eq(m.u.run.attempt, 2);
	proto_msg_release(&m);
	send_done(&c, t, 1, 0);
	pump_for(0.2);
	ck_assert_int_eq(info_of(t).state, TASK_RUNNING);
	send_done(&c, t, 2, 0);
	ck_assert(wait_state(t, TASK_DONE, 2));
	client_close(&c);
}
END_TEST

/* Claimed within the grace: nothing is requeued when it ends. */
START_TEST(claimed_within_the_grace_stays)
{
	struct client c;
	task_id_t t = submit("t");

	restore(t, 1);
	client_open(&c);
	join(&c, 1, 1);
	const struct proto_claim cl = { t, 1, 0 };
	send_claims(&c, &cl, 1);
	pump_for(0.8);
	struct task_info ti = info_of(t);
	ck_assert_int_eq(ti.state, TASK_RUNNING);
	ck_assert_int_eq(ti.worker, (worker_id_t)c.wid);
	ck_assert_uint_eq(ti.attempts, 1);
	client_close(&c);
}
END_TEST

/* A worker that lost its link tells again of an end the restarted
 * scheduler has (its end was journaled) and of one it has not (the task
 * restored as running): the first is a repeat, nothing changes and the
 * worker stays; the second ends the task with the result told. */
START_TEST(repeated_end_is_ignored_and_restored_run_ends)
{
	struct client c;
	struct proto_msg m;
	task_id_t done = submit("done"), run = submit("run");
	task_id_t next = submit("next");
	struct sched_end e = { .state = TASK_DONE, .runtime = 1.5,
			       .end_time = 1000, .attempts = 1 };

	ck_assert_int_eq(sched_restore_end(server_sched(srv), done, &e), 0);
	ck_assert_int_eq(sched_restore_running_on(server_sched(srv), run, 1,
						  "w1"), 0);
	client_open(&c);
	join(&c, 1, 2);
	const struct proto_claim cl[] = { { done, 1, 1500000 },
					  { run, 1, 2000000 } };
	send_claims(&c, cl, 2);
	send_done(&c, done, 1, 7);	/* told again, and not as it was */
	send_done(&c, run, 1, 3);

	/* KILL of the run that is over (nothing to the worker), then the
	 * next task: the run restored was claimed, not requeued. */
	ck_assert(client_recv(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_KILL);
	ck_assert_uint_eq(m.u.kill.task_id, done);
	proto_msg_release(&m);
	ck_assert(client_recv(&c, &m, 2));
	ck_assert_int_eq(m.type, PROTO_RUN);
	ck_assert_uint_eq(m.u.run.task_id, next);
	proto_msg_release(&m);
	ck_assert(wait_state(run, TASK_FAILED, 2));

	struct task_info ti = info_of(done);
	ck_assert_int_eq(ti.state, TASK_DONE);
	ck_assert_int_eq(ti.exit_code, 0);
	ck_assert_double_eq(ti.end_time, 1000);
	ck_assert_uint_eq(ti.attempts, 1);
	ti = info_of(run);
	ck_assert_int_eq(ti.exit_code, 3);
	ck_assert_uint_eq(ti.attempts, 1);
	ck_assert_uint_eq(ti.worker_losses, 0);
	ck_assert_int_eq(ti.worker, (worker_id_t)c.wid);
	ck_assert_uint_eq(sched_unclaimed(server_sched(srv)), 0);
	ck_assert(!c.closed);
	ck_assert_uint_eq(server_nworkers(srv), 1);
	client_close(&c);
}
END_TEST

/* --- a real worker -------------------------------------------------------- */

static pid_t start_worker(uint16_t port)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct worker_opts o = {
			.host = "127.0.0.1",
			.port = port,
			.name = "real",
			.token = TOKEN,
			.cores = 1,
			.memory = 1ULL << 30,
			.death_timeout = 20,
		};
		/* not the scheduler's listener: a new one binds the port */
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
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

static int exists(const char *dir, const char *name)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Pump until `name` exists in `dir`, for at most `secs`. */
static int wait_file(const char *dir, const char *name, double secs)
{
	double until = now_s() + secs;

	while (!exists(dir, name)) {
		if (now_s() > until)
			return 0;
		pump();
		usleep(1000);
	}
	return 1;
}

static void end_worker(pid_t pid)
{
	int status = -1;
	double until = now_s() + 10;

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

/* When the task of replace_scheduler_under_a_task ends. */
enum end_when {
	END_AFTER_REJOIN,
	END_WHILE_AWAY,		/* before the new scheduler is up */
	END_BEFORE_LOSS,	/* reported to the old one, which goes before
				   writing it down */
};

static void touch(const char *dir, const char *name)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	close(open(path, O_CREAT | O_WRONLY, 0600));
}

/* The task appends a line to `runs` as it starts and touches `end` once
 * `go` exists.  The scheduler is replaced while it runs, or just after
 * it ended (`when`). */
static void replace_scheduler_under_a_task(enum end_when when)
{
	char dir[] = "/tmp/check_workers_rejoin.XXXXXX", cmd[1024];
	uint16_t port = server_port(srv);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "echo run >>%s/runs; while [ ! -e %s/go ]; "
		 "do sleep 0.05; done; touch %s/end", dir, dir, dir);
	task_id_t t = submit_sh(cmd);
	pid_t pid = start_worker(port);
	ck_assert(wait_file(dir, "runs", 10));
	ck_assert(wait_state(t, TASK_RUNNING, 1));
	if (when == END_BEFORE_LOSS) {
		touch(dir, "go");
		ck_assert(wait_state(t, TASK_DONE, 10));
	}

	/* The scheduler goes; the run goes on. */
	server_destroy(srv);
	event_base_free(base);
	if (when == END_WHILE_AWAY) {
		touch(dir, "go");
		double until = now_s() + 10;
		while (!exists(dir, "end") && now_s() < until)
			usleep(10000);
		ck_assert(exists(dir, "end"));
	}
	ck_assert_int_eq(kill(pid, 0), 0);

	/* Another on the same port, its journal (here: by hand) saying the
	 * task was running as its first attempt, on this worker: were it
	 * not claimed, it would be requeued as soon as the worker is in. */
	start_on(60, port);
	ck_assert_uint_eq(submit_sh(cmd), t);
	ck_assert_int_eq(sched_restore_running_on(server_sched(srv), t, 1,
						  "real"), 0);
	if (when == END_AFTER_REJOIN) {
		double until = now_s() + 10;
		while (sched_unclaimed(server_sched(srv)) && now_s() < until) {
			pump();
			usleep(1000);
		}
		ck_assert_uint_eq(sched_unclaimed(server_sched(srv)), 0);
		ck_assert_int_eq(info_of(t).state, TASK_RUNNING);
		ck_assert_int_ge(info_of(t).worker, 0);
		touch(dir, "go");
	}
	ck_assert(wait_state(t, TASK_DONE, 15));
	struct task_info ti = info_of(t);
	ck_assert_uint_eq(ti.attempts, 1);	/* no second run */
	ck_assert_int_eq(ti.exit_code, 0);
	ck_assert(ti.runtime > 0);

	/* It ran once, and the worker takes new work. */
	char path[300];
	struct strbuf sb = STRBUF_INIT;
	snprintf(path, sizeof(path), "%s/runs", dir);
	ck_assert_int_eq(strbuf_read_file(&sb, path), 0);
	ck_assert_str_eq(sb.buf, "run\n");
	strbuf_release(&sb);
	task_id_t next = submit_sh("exit 0");
	ck_assert(wait_state(next, TASK_DONE, 10));
	end_worker(pid);
	for (const char *f = "runs\0go\0end\0"; *f; f += strlen(f) + 1) {
		snprintf(path, sizeof(path), "%s/%s", dir, f);
		unlink(path);
	}
	rmdir(dir);
}

START_TEST(real_worker_keeps_its_run)
{
	replace_scheduler_under_a_task(END_AFTER_REJOIN);
}
END_TEST

START_TEST(real_worker_reports_an_end_from_while_away)
{
	replace_scheduler_under_a_task(END_WHILE_AWAY);
}
END_TEST

/* The end reached the old scheduler, which was killed before its
 * journal had it: the worker kept it and tells the new one again. */
START_TEST(real_worker_tells_again_an_end_sent_before_the_loss)
{
	replace_scheduler_under_a_task(END_BEFORE_LOSS);
}
END_TEST

static Suite *rejoin_suite(void)
{
	Suite *su = suite_create("workers_rejoin");
	TCase *tc = tcase_create("claims");

	tcase_add_checked_fixture(tc, setup_long, teardown);
	tcase_add_test(tc, claimed_run_is_kept);
	tcase_add_test(tc, other_claims_are_killed_before_any_run);
	tcase_add_test(tc, no_task_before_the_last_claim);
	tcase_add_test(tc, more_claims_than_announced_drop_the_worker);
	tcase_add_test(tc, repeated_end_is_ignored_and_restored_run_ends);
	suite_add_tcase(su, tc);

	tc = tcase_create("grace");
	tcase_add_checked_fixture(tc, setup_short, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, unclaimed_run_is_requeued_after_the_grace);
	tcase_add_test(tc, claimed_within_the_grace_stays);
	suite_add_tcase(su, tc);

	tc = tcase_create("real worker");
	tcase_add_checked_fixture(tc, setup_long, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, real_worker_keeps_its_run);
	tcase_add_test(tc, real_worker_reports_an_end_from_while_away);
	tcase_add_test(tc, real_worker_tells_again_an_end_sent_before_the_loss);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(rejoin_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
