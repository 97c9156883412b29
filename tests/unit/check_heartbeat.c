/*
 * Heartbeats at scale: the interval rule (within the budget, powers of two
 * of the setting, a margin before stepping down), the sweep's pace (each
 * worker once a round, a longer interval told a round before it is kept),
 * the liveness wheel, and then the scheduler's side over loopback with
 * this test playing the workers: the interval told grows with their
 * number, a worker that keeps it is not lost, one that falls silent is,
 * within the documented bound; and a real worker (worker_run in a child)
 * against this test playing its scheduler keeps the interval it is told
 * and says so at once.
 *
 * One suite, a little over the usual size: the rule and both sides of it
 * over loopback are one subject, and share the client helpers.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "proto/proto.h"
#include "sched/sched.h"
#include "server/events.h"
#include "server/heartbeat.h"
#include "server/workers.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "worker/worker.h"

#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the rule --------------------------------------------------------------- */

START_TEST(test_interval_steps)
{
	ck_assert_uint_eq(heartbeat_interval(5000, 0, 0, 0), 5000);
	ck_assert_uint_eq(heartbeat_interval(5000, 0, 2, 0), 5000);
	ck_assert_uint_eq(heartbeat_interval(5000, 0, 5000, 0), 5000);
	ck_assert_uint_eq(heartbeat_interval(5000, 0, 5001, 0), 10000);
	ck_assert_uint_eq(heartbeat_interval(5000, 0, 19000, 0), 20000);
	ck_assert_uint_eq(heartbeat_interval(5000, 0, 65536, 0), 80000);
	ck_assert_uint_eq(heartbeat_interval(5000, 1000, 65536, 0), 80000);
	ck_assert_uint_eq(heartbeat_interval(100, 20, 8, 0), 400);
	/* never past an hour, whatever the count */
	ck_assert_uint_le(heartbeat_interval(5000, 0, 1u << 30, 0),
			  HEARTBEAT_MAX_MS);
	ck_assert_uint_eq(heartbeat_interval(7200000, 0, 1u << 30, 0), 7200000);
}
END_TEST

START_TEST(test_interval_within_budget)
{
	unsigned prev = 0;

	/* Up and down again: the rate stays within the budget, the interval
	 * is the setting times a power of two, and never more than four
	 * times what the count needs. */
	for (size_t n = 0; n <= 200000; n += 997) {
		unsigned iv = heartbeat_interval(5000, 0, n, prev);
		ck_assert_uint_le((uint64_t)n * 1000, (uint64_t)HEARTBEAT_BUDGET * iv);
		ck_assert_uint_eq(iv % 5000, 0);
		ck_assert_uint_eq(__builtin_popcount(iv / 5000), 1);
		ck_assert(iv == 5000 || (uint64_t)iv * HEARTBEAT_BUDGET <=
			  4 * (uint64_t)n * 1000);
		prev = iv;
	}
	for (size_t n = 200000; n > 0; n -= 997 < n ? 997 : n) {
		unsigned iv = heartbeat_interval(5000, 0, n, prev);
		ck_assert_uint_le((uint64_t)n * 1000, (uint64_t)HEARTBEAT_BUDGET * iv);
		ck_assert(iv == 5000 || (uint64_t)iv * HEARTBEAT_BUDGET <=
			  4 * (uint64_t)n * 1000);
		ck_assert_uint_le(iv, prev);
		prev = iv;
	}
}
END_TEST

START_TEST(test_interval_margin)
{
	/* 10 s carries 10,000; stepping back to 5 s waits for 2,500 */
	ck_assert_uint_eq(heartbeat_interval(5000, 0, 6000, 0), 10000);
	ck_assert_uint_eq(heartbeat_interval(5000, 0, 4000, 10000), 10000);
	ck_assert_uint_eq(heartbeat_interval(5000, 0, 2501, 10000), 10000);
	ck_assert_uint_eq(heartbeat_interval(5000, 0, 2500, 10000), 5000);
	/* several steps down at once, when the count fell far */
	ck_assert_uint_eq(heartbeat_interval(5000, 0, 10, 80000), 5000);
	/* a previous interval of another setting starts from its own step */
	ck_assert_uint_eq(heartbeat_interval(5000, 0, 4000, 7000), 10000);
}
END_TEST

START_TEST(test_tick)
{
	ck_assert_uint_eq(heartbeat_tick_ms(5000), 250);
	ck_assert_uint_eq(heartbeat_tick_ms(400), 100);
	ck_assert_uint_eq(heartbeat_tick_ms(100), 25);
	ck_assert_uint_eq(heartbeat_tick_ms(1), 10);
}
END_TEST

/* --- the pace --------------------------------------------------------------- */

START_TEST(test_pace_round)
{
	struct heartbeat_pace p;
	size_t visits = 0;

	heartbeat_pace_init(&p, 5000, 0);
	ck_assert_uint_eq(p.pace_ms, 5000);
	ck_assert_uint_eq(p.tell_ms, 5000);
	/* 100 workers, ticks of 250 ms: each once in 5 s, evenly */
	for (int k = 0; k < 20; k++) {
		size_t v = heartbeat_pace_visits(&p, 100, 250);
		ck_assert_uint_eq(v, 5);
		visits += v;
	}
	ck_assert_uint_eq(visits, 100);
	/* 3 workers: fractions add up, 3 visits in 5 s */
	visits = 0;
	for (int k = 0; k < 20; k++)
		visits += heartbeat_pace_visits(&p, 3, 250);
	ck_assert_uint_ge(visits, 2);
	ck_assert_uint_le(visits, 3);
	/* never more than a round in one tick */
	ck_assert_uint_eq(heartbeat_pace_visits(&p, 7, 1000000), 7);
}
END_TEST

START_TEST(test_pace_longer_told_first)
{
	struct heartbeat_pace p;

	heartbeat_pace_init(&p, 5000, 0);
	/* 19,000 join: the round that ends tells 20 s, still at 5 s */
	ck_assert_int_eq(heartbeat_pace_round(&p, 19000), 1);
	ck_assert_uint_eq(p.tell_ms, 20000);
	ck_assert_uint_eq(p.pace_ms, 5000);
	/* 19,000 visits owed per 20 s once everyone heard of it */
	ck_assert_int_eq(heartbeat_pace_round(&p, 19000), 0);
	ck_assert_uint_eq(p.pace_ms, 20000);
	ck_assert_uint_eq(p.tell_ms, 20000);
	size_t v = 0;
	for (int k = 0; k < 80; k++)
		v += heartbeat_pace_visits(&p, 19000, 250);
	ck_assert_uint_ge(v, 18999);
	ck_assert_uint_le(v, 19000);
	/* most of them leave: shorter at once, told and kept */
	ck_assert_int_eq(heartbeat_pace_round(&p, 100), 1);
	ck_assert_uint_eq(p.tell_ms, 5000);
	ck_assert_uint_eq(p.pace_ms, 5000);
}
END_TEST

/* --- the wheel -------------------------------------------------------------- */

/* Take every timer due by `now`; how many, the last in *last. */
static size_t take(struct heartbeat_wheel *w, uint64_t now,
		   struct heartbeat_timer **last)
{
	struct heartbeat_timer *t;
	size_t n = 0;

	while ((t = heartbeat_wheel_next(w, now))) {
		ck_assert(!t->linked);
		if (last)
			*last = t;
		n++;
	}
	return n;
}

START_TEST(test_wheel)
{
	struct heartbeat_wheel w;
	struct heartbeat_timer t[5], *got = NULL;

	memset(t, 0, sizeof(t));
	heartbeat_wheel_init(&w, 100);
	heartbeat_wheel_add(&w, &t[0], 105);
	heartbeat_wheel_add(&w, &t[1], 105);
	heartbeat_wheel_add(&w, &t[2], 110);
	/* a later turn of the same slot */
	heartbeat_wheel_add(&w, &t[3], 105 + HEARTBEAT_WHEEL_SLOTS);
	/* already past: the next look */
	heartbeat_wheel_add(&w, &t[4], 3);
	ck_assert_uint_eq(w.n, 5);

	ck_assert_uint_eq(take(&w, 100, &got), 1);
	ck_assert_ptr_eq(got, &t[4]);
	ck_assert_uint_eq(take(&w, 104, NULL), 0);
	ck_assert_uint_eq(take(&w, 105, NULL), 2);
	ck_assert(!t[0].linked && !t[1].linked && t[2].linked && t[3].linked);
	/* moved, then taken off */
	heartbeat_wheel_add(&w, &t[2], 120);
	heartbeat_wheel_add(&w, &t[0], 119);
	heartbeat_wheel_del(&w, &t[0]);
	heartbeat_wheel_del(&w, &t[0]);
	ck_assert_uint_eq(take(&w, 119, NULL), 0);
	ck_assert_uint_eq(take(&w, 120, &got), 1);
	ck_assert_ptr_eq(got, &t[2]);
	/* one taken off while others are due: the rest come, it does not */
	heartbeat_wheel_add(&w, &t[0], 125);
	heartbeat_wheel_add(&w, &t[1], 125);
	heartbeat_wheel_add(&w, &t[2], 126);
	got = heartbeat_wheel_next(&w, 130);
	ck_assert_ptr_nonnull(got);
	heartbeat_wheel_del(&w, got == &t[0] ? &t[1] : &t[0]);
	ck_assert_uint_eq(take(&w, 130, &got), 1);
	ck_assert_ptr_eq(got, &t[2]);
	/* a jump past a whole turn of the wheel finds all that is due */
	heartbeat_wheel_add(&w, &t[0], 140);
	ck_assert_uint_eq(take(&w, 131 + 3 * HEARTBEAT_WHEEL_SLOTS, NULL), 2);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_ptr_null(heartbeat_wheel_next(&w, 200 + 3 * HEARTBEAT_WHEEL_SLOTS));
}
END_TEST

/* --- the scheduler's side, over loopback ------------------------------------- */

static struct event_base *base;
static struct sched *sch;
static struct events *evs;
static struct workers *wk;

struct client {
	int fd;
	struct strbuf in;
	int closed;
	uint8_t sn[PROTO_NONCE_SIZE], cn[PROTO_NONCE_SIZE];
	unsigned told;			/* interval it was told last */
	double last_sent;
};

/* 100 ms with few workers, a budget of 20 a second: 8 workers need 400. */
static void setup(void)
{
	struct workers_config cfg = {
		.bind = "127.0.0.1",
		.token = TOKEN,
		.heartbeat_ms = 100,
		.missed_heartbeats = 3,
		.heartbeat_budget = 20,
	};
	struct err err = { "" };

	log_setup("check_heartbeat", 0);
	base = event_base_new();
	sch = sched_create(NULL);
	evs = events_create();
	ck_assert(base && sch && evs);
	wk = workers_create(base, sch, evs, &cfg, &err);
	ck_assert_msg(wk != NULL, "workers_create: %s", err.text);
}

static void teardown(void)
{
	workers_destroy(wk);
	events_destroy(evs);
	sched_destroy(sch);
	event_base_free(base);
}

static void client_send(struct client *c, const struct proto_msg *m)
{
	struct strbuf sb = STRBUF_INIT;

	proto_encode(&sb, m);
	ck_assert_int_eq(write(c->fd, sb.buf, sb.len), (ssize_t)sb.len);
	strbuf_release(&sb);
	c->last_sent = now_s();
}

/* Read what is there; 1 with a frame in *m, 0 without one. */
static int client_poll(struct client *c, struct proto_msg *m)
{
	char buf[4096];
	ssize_t n;
	struct err err = { "" };

	while ((n = read(c->fd, buf, sizeof(buf))) > 0)
		strbuf_add(&c->in, buf, (size_t)n);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		c->closed = 1;
	long size = proto_frame_size((const uint8_t *)c->in.buf, c->in.len,
				     PROTO_MAX_FRAME, &err);
	ck_assert_int_ge(size, 0);
	if (!size)
		return 0;
	ck_assert_int_eq(proto_decode((const uint8_t *)c->in.buf, (size_t)size,
				      m, &err), 0);
	memmove(c->in.buf, c->in.buf + size, c->in.len - (size_t)size);
	strbuf_setlen(&c->in, c->in.len - (size_t)size);
	return 1;
}

static void client_keep(struct client *c, double now);

/* Clients already joined, kept alive while the next one joins. */
static struct client *joined[16];
static int njoined;

static int client_recv(struct client *c, struct proto_msg *m, double secs)
{
	double until = now_s() + secs;

	while (now_s() < until && !c->closed) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (client_poll(c, m))
			return 1;
		for (int k = 0; k < njoined; k++)
			client_keep(joined[k], now_s());
		usleep(1000);
	}
	return 0;
}

static void client_join(struct client *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct proto_msg m, auth = { .type = PROTO_AUTH };

	memset(c, 0, sizeof(*c));
	strbuf_init(&c->in, 0);
	sa.sin_port = htons(workers_port(wk));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(c->fd, 0);
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	ck_assert(client_recv(c, &m, 5));
	ck_assert_int_eq(m.type, PROTO_HELLO);
	memcpy(c->sn, m.u.hello.nonce, sizeof(c->sn));
	proto_msg_release(&m);
	proto_random(c->cn, sizeof(c->cn));
	memcpy(auth.u.auth.nonce, c->cn, sizeof(c->cn));
	proto_mac(TOKEN, "worker", c->sn, c->cn, auth.u.auth.mac);
	auth.u.auth.name = (char *)"sim";
	auth.u.auth.host = (char *)"";
	auth.u.auth.job_id = (char *)"";
	auth.u.auth.job_index = -1;
	auth.u.auth.cores = 1;
	client_send(c, &auth);
	ck_assert(client_recv(c, &m, 5));
	ck_assert_int_eq(m.type, PROTO_WELCOME);
	c->told = m.u.welcome.heartbeat_ms;
	proto_msg_release(&m);
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	strbuf_release(&c->in);
}

/* A worker that keeps what it is told: a heartbeat once its interval is
 * up, and one at once when the interval changes. */
static void client_keep(struct client *c, double now)
{
	struct proto_msg m, hb = { .type = PROTO_HEARTBEAT };
	int changed = 0;

	while (client_poll(c, &m)) {
		if (m.type == PROTO_HEARTBEAT && m.u.heartbeat.interval_ms &&
		    m.u.heartbeat.interval_ms != c->told) {
			c->told = m.u.heartbeat.interval_ms;
			changed = 1;
		}
		proto_msg_release(&m);
	}
	if (changed || now - c->last_sent >= c->told / 1000.0) {
		hb.u.heartbeat.interval_ms = c->told;
		client_send(c, &hb);
	}
}

#define NCLIENTS 8

START_TEST(test_scaled_interval_and_loss)
{
	struct client c[NCLIENTS];
	double until, lost_at = 0, silent_since;

	njoined = 0;
	for (int k = 0; k < NCLIENTS; k++) {
		client_join(&c[k]);
		joined[njoined++] = &c[k];
	}
	njoined = 0;
	ck_assert_uint_eq(workers_nready(wk), NCLIENTS);
	/* The rule says 400 ms for 8: every worker is told within a few
	 * rounds, and all that keep it stay, though they are silent longer
	 * than three of the 100 ms the setting says. */
	until = now_s() + 10;
	for (;;) {
		int told = 0;
		event_base_loop(base, EVLOOP_NONBLOCK);
		for (int k = 0; k < NCLIENTS; k++) {
			client_keep(&c[k], now_s());
			told += c[k].told == 400;
		}
		if (told == NCLIENTS || now_s() > until)
			break;
		usleep(2000);
	}
	ck_assert_uint_eq(workers_heartbeat_ms(wk), 400);
	for (int k = 0; k < NCLIENTS; k++)
		ck_assert_uint_eq(c[k].told, 400);
	until = now_s() + 2.0;
	while (now_s() < until) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		for (int k = 0; k < NCLIENTS; k++)
			client_keep(&c[k], now_s());
		usleep(2000);
	}
	ck_assert_uint_eq(workers_nready(wk), NCLIENTS);

	/* The first falls silent: lost after three of its 400 ms, not
	 * three of 100, and within a tick of that (with room for a slow
	 * machine); the others stay. */
	silent_since = c[0].last_sent;
	until = now_s() + 8;
	while (now_s() < until && !lost_at) {
		struct proto_msg m;
		event_base_loop(base, EVLOOP_NONBLOCK);
		while (client_poll(&c[0], &m))
			proto_msg_release(&m);
		if (c[0].closed)
			lost_at = now_s();
		for (int k = 1; k < NCLIENTS; k++)
			client_keep(&c[k], now_s());
		usleep(2000);
	}
	ck_assert_msg(lost_at > 0, "a silent worker was not lost in 8 s");
	ck_assert_msg(lost_at - silent_since >= 1.2 - 0.01,
		      "lost after %.3f s of silence, before 3 x 400 ms",
		      lost_at - silent_since);
	ck_assert_msg(lost_at - silent_since <= 1.2 + 0.025 + 2.0,
		      "lost only after %.3f s of silence",
		      lost_at - silent_since);
	ck_assert_uint_eq(workers_nready(wk), NCLIENTS - 1);
	for (int k = 0; k < NCLIENTS; k++)
		client_close(&c[k]);
}
END_TEST

START_TEST(test_interval_steps_back)
{
	struct client c[NCLIENTS];
	double until;

	njoined = 0;
	for (int k = 0; k < NCLIENTS; k++) {
		client_join(&c[k]);
		joined[njoined++] = &c[k];
	}
	njoined = 0;
	until = now_s() + 10;
	while (c[0].told != 400 && now_s() < until) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		for (int k = 0; k < NCLIENTS; k++)
			client_keep(&c[k], now_s());
		usleep(2000);
	}
	ck_assert_uint_eq(c[0].told, 400);
	ck_assert_uint_eq(workers_heartbeat_ms(wk), 400);
	/* 7 leave; the one left is told 100 ms again and held to it */
	for (int k = 1; k < NCLIENTS; k++)
		client_close(&c[k]);
	until = now_s() + 10;
	while (c[0].told != 100 && now_s() < until) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		client_keep(&c[0], now_s());
		usleep(2000);
	}
	ck_assert_uint_eq(c[0].told, 100);
	ck_assert_uint_eq(workers_heartbeat_ms(wk), 100);
	ck_assert_uint_eq(workers_nready(wk), 1);
	client_close(&c[0]);
}
END_TEST

/* --- a real worker, this test its scheduler ---------------------------------- */

static int accept_one(int lfd, double secs)
{
	double until = now_s() + secs;

	while (now_s() < until) {
		int fd = accept(lfd, NULL, NULL);
		if (fd >= 0) {
			fcntl(fd, F_SETFL, O_NONBLOCK);
			return fd;
		}
		usleep(2000);
	}
	return -1;
}

static int sched_recv(struct client *c, struct proto_msg *m, double secs)
{
	double until = now_s() + secs;

	while (now_s() < until && !c->closed) {
		if (client_poll(c, m))
			return 1;
		usleep(1000);
	}
	return 0;
}

START_TEST(test_worker_keeps_told_interval)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct client s = { .fd = -1 };
	struct proto_msg m, out = { .type = PROTO_HELLO };
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	fcntl(lfd, F_SETFL, O_NONBLOCK);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct worker_opts o = {
			.host = "127.0.0.1",
			.port = ntohs(sa.sin_port),
			.name = "real",
			.token = TOKEN,
			.cores = 1,
			.memory = 1ULL << 30,
			.death_timeout = 5,
		};
		_exit(worker_run(&o));
	}
	strbuf_init(&s.in, 0);
	s.fd = accept_one(lfd, 10);
	ck_assert_int_ge(s.fd, 0);
	proto_random(s.sn, sizeof(s.sn));
	memcpy(out.u.hello.nonce, s.sn, sizeof(s.sn));
	client_send(&s, &out);
	ck_assert(sched_recv(&s, &m, 5));
	ck_assert_int_eq(m.type, PROTO_AUTH);
	memset(&out, 0, sizeof(out));
	out.type = PROTO_WELCOME;
	out.u.welcome.worker_id = 0;
	out.u.welcome.heartbeat_ms = 100;
	proto_mac(TOKEN, "server", m.u.auth.nonce, s.sn, out.u.welcome.mac);
	proto_msg_release(&m);
	client_send(&s, &out);

	/* at 100 ms first: several heartbeats in a second (and ours, with
	 * the interval unchanged, so that it does not give up on us) */
	struct proto_msg same = { .type = PROTO_HEARTBEAT };
	int beats = 0;
	double until = now_s() + 1.0;
	while (now_s() < until) {
		if (sched_recv(&s, &m, 0.05)) {
			if (m.type == PROTO_HEARTBEAT) {
				beats++;
				ck_assert_uint_eq(m.u.heartbeat.interval_ms, 100);
			}
			proto_msg_release(&m);
		}
		if (now_s() - s.last_sent > 0.05)
			client_send(&s, &same);
	}
	ck_assert(!s.closed);
	ck_assert_int_ge(beats, 3);

	/* told 1500 ms: an answer at once that says so, then one beat per
	 * 1.5 s (the scheduler's heartbeats keep it from giving up) */
	memset(&out, 0, sizeof(out));
	out.type = PROTO_HEARTBEAT;
	out.u.heartbeat.interval_ms = 1500;
	client_send(&s, &out);
	double told_at = now_s();
	int answered = 0;
	while (!answered && sched_recv(&s, &m, 2)) {
		if (m.type == PROTO_HEARTBEAT &&
		    m.u.heartbeat.interval_ms == 1500)
			answered = 1;
		proto_msg_release(&m);
	}
	ck_assert(answered);
	ck_assert_msg(now_s() - told_at < 1.4, "answered only after %.3f s",
		      now_s() - told_at);
	beats = 0;
	until = now_s() + 4.0;
	while (now_s() < until) {
		if (sched_recv(&s, &m, 0.5)) {
			if (m.type == PROTO_HEARTBEAT) {
				beats++;
				ck_assert_uint_eq(m.u.heartbeat.interval_ms, 1500);
			}
			proto_msg_release(&m);
		}
		if (now_s() - s.last_sent > 1.0)
			client_send(&s, &out);
	}
	ck_assert(!s.closed);
	ck_assert_int_ge(beats, 1);
	ck_assert_int_le(beats, 4);	/* at 100 ms it would be 40 */

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	client_close(&s);
	close(lfd);
}
END_TEST

static Suite *heartbeat_suite(void)
{
	Suite *s = suite_create("heartbeat");
	TCase *tc = tcase_create("rule");

	tcase_add_test(tc, test_interval_steps);
	tcase_add_test(tc, test_interval_within_budget);
	tcase_add_test(tc, test_interval_margin);
	tcase_add_test(tc, test_tick);
	tcase_add_test(tc, test_pace_round);
	tcase_add_test(tc, test_pace_longer_told_first);
	tcase_add_test(tc, test_wheel);
	suite_add_tcase(s, tc);

	tc = tcase_create("scheduler");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_scaled_interval_and_loss);
	tcase_add_test(tc, test_interval_steps_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("worker");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_worker_keeps_told_interval);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(heartbeat_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
