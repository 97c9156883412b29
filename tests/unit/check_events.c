/*
 * The fan-out of task and worker events: what a subscriber is told and
 * in which order, subscribing and unsubscribing in the middle of a
 * delivery, nested deliveries.  The last tests check that the server
 * feeds it, with this test playing the worker over loopback, and that a
 * worker's times of a run reach the dashboard's activity through it.
 */
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "api/activity.h"
#include "proto/proto.h"
#include "sched/sched.h"
#include "server/events.h"
#include "server/feed.h"
#include "util/log.h"
#include "server/server.h"
#include "util/strbuf.h"

#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define LIT(s) ((char *)(s))

/* Every subscriber appends "NAME:event(args) " to one log. */
static struct strbuf logbuf = STRBUF_INIT;

struct rec {
	const char *name;
	struct events *ev;
	/* what to do on task_ended, once */
	struct rec *drop;		/* unsubscribe this one */
	struct rec *add;		/* subscribe this one */
	task_id_t raise;		/* deliver task_ended(raise) from here */
	unsigned add_many;		/* subscribe this many silent ones */
};

static void on_queued(void *arg)
{
	struct rec *r = arg;

	strbuf_addf(&logbuf, "%s:queued ", r->name);
}

static void on_assigned(void *arg, task_id_t id, worker_id_t w)
{
	struct rec *r = arg;

	strbuf_addf(&logbuf, "%s:assigned(%llu,%d) ", r->name,
		    (unsigned long long)id, (int)w);
}

static const struct events_ops rec_ops;
static const struct events_ops silent_ops;

static void on_ended(void *arg, task_id_t id)
{
	struct rec *r = arg;

	strbuf_addf(&logbuf, "%s:ended(%llu) ", r->name, (unsigned long long)id);
	if (r->drop) {
		events_unsubscribe(r->ev, &rec_ops, r->drop);
		r->drop = NULL;
	}
	if (r->add) {
		events_subscribe(r->ev, &rec_ops, r->add);
		r->add = NULL;
	}
	for (; r->add_many; r->add_many--)
		events_subscribe(r->ev, &silent_ops, NULL);
	if (r->raise) {
		task_id_t id2 = r->raise;
		r->raise = 0;
		events_task_ended(r->ev, id2);
	}
}

/* The worker's times in whole microseconds. */
static void on_reported(void *arg, task_id_t id, worker_id_t w,
			const struct task_result *res)
{
	struct rec *r = arg;

	strbuf_addf(&logbuf, "%s:reported(%llu,%d,%.0f,%.0f,%.0f) ", r->name,
		    (unsigned long long)id, (int)w, res->spawn * 1e6,
		    res->runtime * 1e6, res->output * 1e6);
}

static void on_joined(void *arg, worker_id_t w)
{
	struct rec *r = arg;

	strbuf_addf(&logbuf, "%s:joined(%d) ", r->name, (int)w);
}

static void on_lost(void *arg, worker_id_t w, int left, const char *why)
{
	struct rec *r = arg;

	strbuf_addf(&logbuf, "%s:%s(%d,%s) ", r->name, left ? "left" : "lost",
		    (int)w, why);
}

static const struct events_ops rec_ops = {
	.tasks_queued = on_queued,
	.task_assigned = on_assigned,
	.task_ended = on_ended,
	.task_reported = on_reported,
	.worker_joined = on_joined,
	.worker_lost = on_lost,
};

/* No callbacks at all. */
static const struct events_ops silent_ops = { 0 };

static const struct events_ops ended_only = {
	.task_ended = on_ended,
};

static struct events *ev;

static void setup(void)
{
	ev = events_create();
	ck_assert_ptr_nonnull(ev);
	strbuf_reset(&logbuf);
}

static void teardown(void)
{
	events_destroy(ev);
	strbuf_release(&logbuf);
}

/* The log so far, emptied. */
static const char *take(void)
{
	static char out[1024];

	snprintf(out, sizeof(out), "%s", logbuf.buf);
	strbuf_reset(&logbuf);
	return out;
}

/* --- the fan-out on its own ------------------------------------------------ */

START_TEST(test_nobody)
{
	events_tasks_queued(ev);
	events_task_ended(ev, 1);
	events_unsubscribe(ev, &rec_ops, NULL);
	ck_assert_str_eq(take(), "");
}
END_TEST

START_TEST(test_subscribe)
{
	struct rec a = { .name = "a", .ev = ev };

	events_subscribe(ev, &rec_ops, &a);
	events_subscribe(ev, &silent_ops, NULL);
	events_tasks_queued(ev);
	events_task_assigned(ev, 7, 2);
	events_task_ended(ev, 7);
	events_worker_joined(ev, 3);
	events_worker_lost(ev, 3, 0, "missed heartbeats");
	events_worker_lost(ev, 4, 1, "connection closed");
	ck_assert_str_eq(take(), "a:queued a:assigned(7,2) a:ended(7) "
			 "a:joined(3) a:lost(3,missed heartbeats) "
			 "a:left(4,connection closed) ");
}
END_TEST

START_TEST(test_only_what_it_asked_for)
{
	struct rec a = { .name = "a", .ev = ev };

	events_subscribe(ev, &ended_only, &a);
	events_tasks_queued(ev);
	events_task_assigned(ev, 1, 0);
	events_worker_joined(ev, 0);
	events_worker_lost(ev, 0, 0, "x");
	events_task_ended(ev, 1);
	ck_assert_str_eq(take(), "a:ended(1) ");
}
END_TEST

START_TEST(test_order_of_subscription)
{
	struct rec a = { .name = "a", .ev = ev };
	struct rec b = { .name = "b", .ev = ev };
	struct rec c = { .name = "c", .ev = ev };

	events_subscribe(ev, &rec_ops, &b);
	events_subscribe(ev, &rec_ops, &a);
	events_subscribe(ev, &rec_ops, &c);
	events_task_ended(ev, 1);
	events_worker_joined(ev, 0);
	ck_assert_str_eq(take(), "b:ended(1) a:ended(1) c:ended(1) "
			 "b:joined(0) a:joined(0) c:joined(0) ");
}
END_TEST

START_TEST(test_twice_is_told_twice)
{
	struct rec a = { .name = "a", .ev = ev };
	struct rec b = { .name = "b", .ev = ev };

	events_subscribe(ev, &rec_ops, &a);
	events_subscribe(ev, &rec_ops, &b);
	events_subscribe(ev, &rec_ops, &a);
	events_worker_joined(ev, 0);
	ck_assert_str_eq(take(), "a:joined(0) b:joined(0) a:joined(0) ");
	/* Unsubscribing drops the first one only. */
	events_unsubscribe(ev, &rec_ops, &a);
	events_worker_joined(ev, 1);
	ck_assert_str_eq(take(), "b:joined(1) a:joined(1) ");
}
END_TEST

START_TEST(test_unsubscribe)
{
	struct rec a = { .name = "a", .ev = ev };
	struct rec b = { .name = "b", .ev = ev };
	struct rec c = { .name = "c", .ev = ev };

	events_subscribe(ev, &rec_ops, &a);
	events_subscribe(ev, &rec_ops, &b);
	events_subscribe(ev, &rec_ops, &c);
	events_unsubscribe(ev, &rec_ops, &b);
	/* Another table with the same arg is another subscription. */
	events_unsubscribe(ev, &ended_only, &c);
	events_task_ended(ev, 5);
	ck_assert_str_eq(take(), "a:ended(5) c:ended(5) ");
	events_unsubscribe(ev, &rec_ops, &a);
	events_unsubscribe(ev, &rec_ops, &c);
	events_task_ended(ev, 6);
	ck_assert_str_eq(take(), "");
	/* Subscribing again after all were gone. */
	events_subscribe(ev, &rec_ops, &b);
	events_task_ended(ev, 7);
	ck_assert_str_eq(take(), "b:ended(7) ");
}
END_TEST

START_TEST(test_unsubscribe_later_one_during_delivery)
{
	struct rec a = { .name = "a", .ev = ev };
	struct rec b = { .name = "b", .ev = ev };
	struct rec c = { .name = "c", .ev = ev };

	a.drop = &b;
	events_subscribe(ev, &rec_ops, &a);
	events_subscribe(ev, &rec_ops, &b);
	events_subscribe(ev, &rec_ops, &c);
	events_task_ended(ev, 1);
	ck_assert_str_eq(take(), "a:ended(1) c:ended(1) ");
	events_task_ended(ev, 2);
	ck_assert_str_eq(take(), "a:ended(2) c:ended(2) ");
}
END_TEST

START_TEST(test_unsubscribe_itself_during_delivery)
{
	struct rec a = { .name = "a", .ev = ev };
	struct rec b = { .name = "b", .ev = ev };

	b.drop = &b;
	events_subscribe(ev, &rec_ops, &a);
	events_subscribe(ev, &rec_ops, &b);
	events_task_ended(ev, 1);
	ck_assert_str_eq(take(), "a:ended(1) b:ended(1) ");
	events_task_ended(ev, 2);
	ck_assert_str_eq(take(), "a:ended(2) ");
}
END_TEST

START_TEST(test_unsubscribe_earlier_one_during_delivery)
{
	struct rec a = { .name = "a", .ev = ev };
	struct rec b = { .name = "b", .ev = ev };
	struct rec c = { .name = "c", .ev = ev };

	c.drop = &a;
	events_subscribe(ev, &rec_ops, &a);
	events_subscribe(ev, &rec_ops, &b);
	events_subscribe(ev, &rec_ops, &c);
	events_task_ended(ev, 1);
	ck_assert_str_eq(take(), "a:ended(1) b:ended(1) c:ended(1) ");
	events_task_ended(ev, 2);
	ck_assert_str_eq(take(), "b:ended(2) c:ended(2) ");
}
END_TEST

START_TEST(test_subscribe_during_delivery)
{
	struct rec a = { .name = "a", .ev = ev };
	struct rec b = { .name = "b", .ev = ev };
	struct rec d = { .name = "d", .ev = ev };

	a.add = &d;
	a.add_many = 100;		/* the array moves under the delivery */
	events_subscribe(ev, &rec_ops, &a);
	events_subscribe(ev, &rec_ops, &b);
	events_task_ended(ev, 1);
	ck_assert_str_eq(take(), "a:ended(1) b:ended(1) ");
	events_task_ended(ev, 2);
	ck_assert_str_eq(take(), "a:ended(2) b:ended(2) d:ended(2) ");
}
END_TEST

START_TEST(test_nested_delivery)
{
	struct rec a = { .name = "a", .ev = ev };
	struct rec b = { .name = "b", .ev = ev };
	struct rec c = { .name = "c", .ev = ev };

	/* a raises 2 while 1 is delivered, b unsubscribes c during 2: 2 is
	 * delivered in full first, then 1 goes on, without c. */
	a.raise = 2;
	b.drop = &c;
	events_subscribe(ev, &rec_ops, &a);
	events_subscribe(ev, &rec_ops, &b);
	events_subscribe(ev, &rec_ops, &c);
	events_task_ended(ev, 1);
	ck_assert_str_eq(take(), "a:ended(1) a:ended(2) b:ended(2) "
			 "b:ended(1) ");
	events_task_ended(ev, 3);
	ck_assert_str_eq(take(), "a:ended(3) b:ended(3) ");
}
END_TEST

/* --- the server feeds it ---------------------------------------------------- */

static struct event_base *base;
static struct server *srv;

static void server_setup(void)
{
	struct server_config cfg = {
		.bind = "127.0.0.1",
		.token = TOKEN,
		.heartbeat_ms = 100,
		.missed_heartbeats = 3,
	};
	struct err err = { "" };

	log_setup("check_events", 0);
	strbuf_reset(&logbuf);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	srv = server_create(base, &cfg, &err);
	ck_assert_msg(srv != NULL, "server_create: %s", err.text);
}

static void server_teardown(void)
{
	server_destroy(srv);
	event_base_free(base);
	strbuf_release(&logbuf);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pump(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Pump until the log holds `want`, for at most two seconds. */
static void pump_until(const char *want)
{
	double until = now_s() + 2;

	while (!strstr(logbuf.buf, want)) {
		ck_assert_msg(now_s() < until, "no '%s' in '%s'", want,
			      logbuf.buf);
		pump();
		usleep(1000);
	}
}

struct client {
	int fd;
	struct strbuf in;
};

static void client_open(struct client *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

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
	close(c->fd);
	strbuf_release(&c->in);
}

static void client_send(struct client *c, const struct proto_msg *m)
{
	struct strbuf sb = STRBUF_INIT;

	proto_encode(&sb, m);
	ck_assert_int_eq(write(c->fd, sb.buf, sb.len), (ssize_t)sb.len);
	strbuf_release(&sb);
}

/* The next frame that is not a heartbeat, pumping the server meanwhile. */
static void client_recv(struct client *c, struct proto_msg *m)
{
	double until = now_s() + 2;
	struct err err = { "" };
	char buf[4096];

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
				return;
			proto_msg_release(m);
			continue;
		}
		ck_assert_msg(now_s() < until, "nothing from the server");
		pump();
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n > 0)
			strbuf_add(&c->in, buf, (size_t)n);
		else
			usleep(1000);
	}
}

/* HELLO, AUTH, WELCOME. */
static void client_join(struct client *c)
{
	struct proto_msg m, a = { .type = PROTO_AUTH };
	uint8_t sn[PROTO_NONCE_SIZE];

	client_recv(c, &m);
	ck_assert_int_eq(m.type, PROTO_HELLO);
	memcpy(sn, m.u.hello.nonce, sizeof(sn));
	proto_msg_release(&m);
	proto_random(a.u.auth.nonce, PROTO_NONCE_SIZE);
	proto_mac(TOKEN, "worker", sn, a.u.auth.nonce, a.u.auth.mac);
	a.u.auth.name = LIT("w");
	a.u.auth.host = LIT("localhost");
	a.u.auth.pid = 1;
	a.u.auth.cores = 1;
	a.u.auth.memory = 1 << 30;
	client_send(c, &a);
	client_recv(c, &m);
	ck_assert_int_eq(m.type, PROTO_WELCOME);
	proto_msg_release(&m);
}

static task_id_t submit(void)
{
	char *argv[] = { LIT("true"), NULL };
	struct task_spec spec = { .argv = argv, .cores = 1 };
	struct err err = { "" };
	task_id_t first;

	ck_assert_int_eq(sched_submit(server_sched(srv), &spec, &first, NULL,
				      &err), 0);
	return first;
}

START_TEST(test_server_task_and_worker_events)
{
	struct rec a = { .name = "a", .ev = server_events(srv) };
	struct client c;
	struct proto_msg m;
	char want[64];

	events_subscribe(server_events(srv), &rec_ops, &a);
	task_id_t id = submit();
	ck_assert_str_eq(take(), "a:queued ");

	client_open(&c);
	client_join(&c);
	pump_until("a:assigned");
	snprintf(want, sizeof(want), "a:joined(0) a:assigned(%llu,0) ",
		 (unsigned long long)id);
	ck_assert_str_eq(take(), want);

	client_recv(&c, &m);
	ck_assert_int_eq(m.type, PROTO_RUN);
	ck_assert_uint_eq(m.u.run.task_id, id);
	proto_msg_release(&m);
	struct proto_msg d = { .type = PROTO_DONE };
	d.u.done.task_id = id;
	d.u.done.reason = LIT("");
	d.u.done.spawn_us = 1500;
	d.u.done.runtime_us = 20000;
	d.u.done.output_us = 250;
	client_send(&c, &d);
	pump_until("a:ended");
	snprintf(want, sizeof(want), "a:reported(%llu,0,1500,20000,250) "
		 "a:ended(%llu) ", (unsigned long long)id,
		 (unsigned long long)id);
	ck_assert_str_eq(take(), want);

	client_close(&c);
	pump_until("a:lost");
	ck_assert_str_eq(take(), "a:lost(0,connection closed) ");
	events_unsubscribe(server_events(srv), &rec_ops, &a);
}
END_TEST

START_TEST(test_server_worker_left)
{
	struct rec a = { .name = "a", .ev = server_events(srv) };
	struct client c;
	struct proto_msg m;

	events_subscribe(server_events(srv), &rec_ops, &a);
	client_open(&c);
	client_join(&c);
	pump_until("a:joined");
	server_shutdown_workers(srv, "test over");
	client_recv(&c, &m);
	ck_assert_int_eq(m.type, PROTO_SHUTDOWN);
	proto_msg_release(&m);
	client_close(&c);
	pump_until("a:left");
	ck_assert_str_eq(take(), "a:joined(0) a:left(0,connection closed) ");
}
END_TEST

/* server_on_ended's callback is a subscriber too, subscribed with the
 * server: told before any later subscriber. */
static void compat_ended(void *arg, task_id_t id)
{
	(void)arg;
	strbuf_addf(&logbuf, "compat:ended(%llu) ", (unsigned long long)id);
}

START_TEST(test_server_on_ended)
{
	struct rec a = { .name = "a", .ev = server_events(srv) };
	char want[96];

	events_subscribe(server_events(srv), &ended_only, &a);
	server_on_ended(srv, compat_ended, NULL);
	task_id_t id = submit();
	ck_assert_int_eq(sched_cancel(server_sched(srv), id, NULL), 0);
	snprintf(want, sizeof(want), "compat:ended(%llu) a:ended(%llu) ",
		 (unsigned long long)id, (unsigned long long)id);
	ck_assert_str_eq(take(), want);

	server_on_ended(srv, NULL, NULL);
	id = submit();
	ck_assert_int_eq(sched_cancel(server_sched(srv), id, NULL), 0);
	snprintf(want, sizeof(want), "a:ended(%llu) ", (unsigned long long)id);
	ck_assert_str_eq(take(), want);
}
END_TEST

/* The feed splits a reported run's time into the worker's spawn, run
 * and output and the dispatch left of what the scheduler saw. */
START_TEST(test_server_feeds_worker_times)
{
	struct rec a = { .name = "a", .ev = server_events(srv) };
	struct feed *f = feed_create(server_sched(srv), server_events(srv));
	struct activity *act = feed_activity(f);
	struct client c;
	struct proto_msg m;

	events_subscribe(server_events(srv), &rec_ops, &a);
	task_id_t id = submit();
	client_open(&c);
	client_join(&c);
	client_recv(&c, &m);
	ck_assert_int_eq(m.type, PROTO_RUN);
	proto_msg_release(&m);
	usleep(30000);		/* a run the scheduler sees last >= 30 ms */
	struct proto_msg d = { .type = PROTO_DONE };
	d.u.done.task_id = id;
	d.u.done.reason = LIT("");
	d.u.done.spawn_us = 2000;
	d.u.done.runtime_us = 20000;
	d.u.done.output_us = 1000;
	client_send(&c, &d);
	pump_until("a:ended");

	const struct activity_event *e = activity_event(act, activity_last(act));
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->kind, ACTIVITY_STOP);
	ck_assert_uint_eq(e->id, id);
	ck_assert_int_eq(e->state, TASK_DONE);
	ck_assert_double_eq_tol(e->action[ACTION_SPAWN], 0.002, 1e-9);
	ck_assert_double_eq_tol(e->action[ACTION_RUN], 0.02, 1e-9);
	ck_assert_double_eq_tol(e->action[ACTION_OUTPUT], 0.001, 1e-9);
	/* what is left of the 30 ms or more since the assignment */
	ck_assert_double_gt(e->action[ACTION_DISPATCH], 0.005);
	ck_assert_double_le(e->action[ACTION_DISPATCH] + 0.023,
			    e->time - e->start + 1e-6);
	for (int i = ACTION_DISPATCH; i < ACTION_COUNT; i++)
		ck_assert_double_eq_tol(activity_action_seconds(act, i),
					e->action[i], 1e-12);
	ck_assert_uint_eq(activity_action_runs(act, ACTION_SPAWN), 1);

	client_close(&c);
	pump_until("a:lost");
	events_unsubscribe(server_events(srv), &rec_ops, &a);
	feed_destroy(f);
}
END_TEST

static Suite *events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("fan-out");
	TCase *ts = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_nobody);
	tcase_add_test(tc, test_subscribe);
	tcase_add_test(tc, test_only_what_it_asked_for);
	tcase_add_test(tc, test_order_of_subscription);
	tcase_add_test(tc, test_twice_is_told_twice);
	tcase_add_test(tc, test_unsubscribe);
	tcase_add_test(tc, test_unsubscribe_later_one_during_delivery);
	tcase_add_test(tc, test_unsubscribe_itself_during_delivery);
	tcase_add_test(tc, test_unsubscribe_earlier_one_during_delivery);
	tcase_add_test(tc, test_subscribe_during_delivery);
	tcase_add_test(tc, test_nested_delivery);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(ts, server_setup, server_teardown);
	tcase_add_test(ts, test_server_task_and_worker_events);
	tcase_add_test(ts, test_server_worker_left);
	tcase_add_test(ts, test_server_on_ended);
	tcase_add_test(ts, test_server_feeds_worker_times);
	suite_add_tcase(s, ts);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(events_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
