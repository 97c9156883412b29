/*
 * The HTTP API and the C client library together: the API runs on an
 * event loop in a second thread (which alone touches sched), the test
 * talks to it through the client library or a raw socket.
 */
#include <check.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "api/api.h"
#include "cluster/client.h"
#include "sched/sched.h"
#include "util/strbuf.h"

#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct {
	struct event_base *base;
	struct event *keepalive;
	struct sched *s;
	struct api *api;
	pthread_t thread;
	char url[64];
	char log_dir[64];
	worker_id_t worker;
	task_id_t assigned[64];
	worker_id_t assigned_to[64];
	unsigned nassigned;
	int finish_code;		/* exit code finish_assigned reports */
} F;

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	(void)arg;
	if (F.nassigned < 64) {
		F.assigned_to[F.nassigned] = w;
		F.assigned[F.nassigned++] = id;
	}
}

static void on_ended(void *arg, task_id_t id)
{
	(void)arg;
	api_task_ended(F.api, id);
}

static void *loop_main(void *arg)
{
	(void)arg;
	event_base_dispatch(F.base);
	return NULL;
}

static void nothing(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run fn(arg) on the loop thread and wait for it. */
struct call {
	void (*fn)(void *);
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
};

static void call_cb(evutil_socket_t fd, short what, void *p)
{
	struct call *c = p;

	(void)fd;
	(void)what;
	c->fn(c->arg);
	pthread_mutex_lock(&c->mu);
	c->done = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void on_loop(void (*fn)(void *), void *arg)
{
	struct call c = { fn, arg, PTHREAD_MUTEX_INITIALIZER,
			  PTHREAD_COND_INITIALIZER, 0 };
	struct timeval zero = { 0, 0 };

	ck_assert_int_eq(event_base_once(F.base, -1, EV_TIMEOUT, call_cb, &c,
					 &zero), 0);
	pthread_mutex_lock(&c.mu);
	while (!c.done)
		pthread_cond_wait(&c.cv, &c.mu);
	pthread_mutex_unlock(&c.mu);
}

static void setup(void)
{
	struct sched_hooks hooks = { .assign = on_assign, .ended = on_ended };
	struct api_config cfg = { .bind = "127.0.0.1", .port = 0,
				  .token = TOKEN, .log_dir = F.log_dir,
				  .output = TASK_OUTPUT_FILES };
	struct err err = { "" };
	struct timeval hour = { 3600, 0 };

	memset(&F, 0, sizeof(F));
	F.worker = -1;
	strcpy(F.log_dir, "/tmp/check_api.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(F.log_dir));
	evthread_use_pthreads();
	F.base = event_base_new();
	F.s = sched_create(&hooks);
	F.api = api_create(F.base, F.s, &cfg, &err);
	ck_assert_msg(F.api != NULL, "api_create: %s", err.text);
	ck_assert_int_gt(api_port(F.api), 0);
	snprintf(F.url, sizeof(F.url), "http://127.0.0.1:%u", api_port(F.api));
	F.keepalive = event_new(F.base, -1, EV_PERSIST, nothing, NULL);
	event_add(F.keepalive, &hour);
	ck_assert_int_eq(pthread_create(&F.thread, NULL, loop_main, NULL), 0);
}

static void stop_loop(void *arg)
{
	(void)arg;
	api_destroy(F.api);
	F.api = NULL;
	event_free(F.keepalive);
}

static void teardown(void)
{
	struct strbuf sb = STRBUF_INIT;

	on_loop(stop_loop, NULL);
	pthread_join(F.thread, NULL);
	sched_destroy(F.s);
	event_base_free(F.base);
	strbuf_addf(&sb, "rm -rf '%s'", F.log_dir);
	ck_assert_int_eq(system(sb.buf), 0);
	strbuf_release(&sb);
}

static cluster_client_t *client(const char *token)
{
	char errbuf[256];
	cluster_client_t *c = cluster_client_open_url(F.url, token, errbuf,
						      sizeof(errbuf));

	ck_assert_msg(c != NULL, "open: %s", errbuf);
	return c;
}

/* A raw request; returns the status, the whole answer in *resp. */
static int raw(const char *method, const char *path, const char *auth,
	       const char *body, size_t len, struct strbuf *resp)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct strbuf req = STRBUF_INIT;
	char buf[4096];
	int fd = socket(AF_INET, SOCK_STREAM, 0), code = 0;
	ssize_t n;

	sa.sin_port = htons(api_port(F.api));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	strbuf_addf(&req, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
		    method, path);
	if (auth)
		strbuf_addf(&req, "Authorization: %s\r\n", auth);
	if (body)
		strbuf_addf(&req, "Content-Length: %zu\r\n", len);
	strbuf_addstr(&req, "\r\n");
	ck_assert_int_eq(write(fd, req.buf, req.len), (ssize_t)req.len);
	if (body) {
		size_t off = 0;
		while (off < len && (n = write(fd, body + off, len - off)) > 0)
			off += (size_t)n;
	}
	strbuf_reset(resp);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(resp, buf, (size_t)n);
	close(fd);
	sscanf(resp->buf, "HTTP/1.%*d %d", &code);
	strbuf_release(&req);
	return code;
}

#define BEARER "Bearer " TOKEN

/* ---- tests -------------------------------------------------------------- */

START_TEST(test_auth)
{
	struct strbuf r = STRBUF_INIT;
	struct cluster_counters cn;
	cluster_client_t *bad = client("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdee");
	cluster_client_t *good = client(TOKEN);

	ck_assert_int_eq(raw("GET", "/api/v1/counters", NULL, NULL, 0, &r), 401);
	ck_assert_ptr_nonnull(strstr(r.buf, "\"error\""));
	ck_assert_int_eq(raw("GET", "/api/v1/counters", "Bearer short", NULL, 0, &r), 401);
	ck_assert_int_eq(raw("GET", "/api/v1/counters", "Basic abc", NULL, 0, &r), 401);
	ck_assert_int_eq(cluster_counters(bad, &cn), -1);
	ck_assert_int_eq(cluster_client_status(bad), 401);
	ck_assert_ptr_nonnull(strstr(cluster_client_error(bad), "wrong token"));
	ck_assert_int_eq(cluster_counters(good, &cn), 0);
	ck_assert_int_eq(raw("GET", "/api/v1/counters", BEARER, NULL, 0, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.buf, "\"uptime\""));
	cluster_client_close(bad);
	cluster_client_close(good);
	strbuf_release(&r);
}
END_TEST

START_TEST(test_connect_error)
{
	char errbuf[256];
	cluster_client_t *c;
	struct cluster_counters cn;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char url[64];

	/* A port nobody listens on: bind one, close it. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", ntohs(sa.sin_port));
	c = cluster_client_open_url(url, TOKEN, errbuf, sizeof(errbuf));
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(cluster_counters(c, &cn), -1);
	ck_assert_msg(strstr(cluster_client_error(c), "cannot connect to scheduler at 127.0.0.1:") &&
		      strstr(cluster_client_error(c), "connection refused"),
		      "message: %s", cluster_client_error(c));
	cluster_client_close(c);
	ck_assert_ptr_null(cluster_client_open_url("ftp://x", TOKEN, errbuf, sizeof(errbuf)));
	ck_assert_ptr_nonnull(strstr(errbuf, "bad scheduler url"));
}
END_TEST

START_TEST(test_submit_one)
{
	cluster_client_t *c = client(TOKEN);
	const char *argv[] = { "/bin/echo", "hello", NULL };
	const char *env[] = { "A=1", NULL };
	struct cluster_task_spec spec = { .argv = argv, .env = env, .cores = 2,
					  .memory = 1 << 20, .time_limit = 60 };
	const struct cluster_task *t;
	uint64_t first = 0, count = 0;

	ck_assert_int_eq(cluster_submit(c, &spec, &first, &count), 0);
	ck_assert_uint_eq(first, 1);
	ck_assert_uint_eq(count, 1);
	t = cluster_task_get(c, 1);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->state, CLUSTER_TASK_QUEUED);
	ck_assert_str_eq(t->name, "echo");
	ck_assert_str_eq(t->argv[1], "hello");
	ck_assert_ptr_null(t->argv[2]);
	ck_assert_uint_eq(t->cores, 2);
	ck_assert_uint_eq(t->memory, 1 << 20);
	ck_assert_int_eq(t->has_index, 0);
	ck_assert_int_eq(t->has_result, 0);
	ck_assert_int_eq(t->worker, -1);
	ck_assert_ptr_null(cluster_task_get(c, 2));
	ck_assert_int_eq(cluster_client_status(c), 404);
	ck_assert_str_eq(cluster_client_error(c), "no task 2");
	cluster_client_close(c);
}
END_TEST

START_TEST(test_submit_array_and_sizes)
{
	struct strbuf r = STRBUF_INIT;
	cluster_client_t *c = client(TOKEN);
	const struct cluster_task *t;
	static const char body[] =
		"{\"argv\":[\"sh\",\"-c\",\"echo {}\"],\"array\":\"1-50\","
		"\"memory\":\"2GiB\",\"time_limit\":\"90m\",\"name\":\"sq\"}";
	static const char obj[] =
		"{\"argv\":[\"x\"],\"array\":{\"first\":-2,\"last\":2}}";

	ck_assert_int_eq(raw("POST", "/api/v1/tasks", BEARER, body,
			     strlen(body), &r), 201);
	ck_assert_ptr_nonnull(strstr(r.buf, "{\"first\":1,\"count\":50}"));
	t = cluster_task_get(c, 10);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->has_index, 1);
	ck_assert_int_eq(t->index, 10);
	ck_assert_str_eq(t->argv[2], "echo 10");
	ck_assert_str_eq(t->name, "sq");
	ck_assert_uint_eq(t->memory, 2ull << 30);
	ck_assert_uint_eq(t->time_limit, 5400);
	ck_assert_int_eq(raw("POST", "/api/v1/tasks", BEARER, obj, strlen(obj),
			     &r), 201);
	ck_assert_ptr_nonnull(strstr(r.buf, "{\"first\":51,\"count\":5}"));
	t = cluster_task_get(c, 51);
	ck_assert_int_eq(t->index, -2);
	cluster_client_close(c);
	strbuf_release(&r);
}
END_TEST

START_TEST(test_batch)
{
	cluster_client_t *c = client(TOKEN);
	static const char text[] = "echo one\n# a comment\n\n  echo two > /dev/null\n";
	struct cluster_task_spec d = { .cores = 1, .retries = 2, .name = "b" };
	const struct cluster_task *t;
	uint64_t first, count;

	ck_assert_int_eq(cluster_submit_batch(c, text, strlen(text), &d, &first,
					      &count), 0);
	ck_assert_uint_eq(first, 1);
	ck_assert_uint_eq(count, 2);
	t = cluster_task_get(c, 2);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->name, "b");
	ck_assert_str_eq(t->argv[0], "/bin/sh");
	ck_assert_str_eq(t->argv[1], "-c");
	ck_assert_ptr_nonnull(strstr(t->argv[2], "echo two > /dev/null"));
	/* A bad default is named. */
	d.after = (const uint64_t[]){ 7 };
	d.nafter = 1;
	ck_assert_int_eq(cluster_submit_batch(c, text, strlen(text), &d, &first,
					      &count), -1);
	ck_assert_int_eq(cluster_client_status(c), 400);
	cluster_client_close(c);
}
END_TEST

static void expect_400(const char *body, const char *needle)
{
	struct strbuf r = STRBUF_INIT;

	ck_assert_int_eq(raw("POST", "/api/v1/tasks", BEARER, body, strlen(body),
			     &r), 400);
	ck_assert_msg(strstr(r.buf, needle) != NULL, "'%s' not in answer: %s",
		      needle, r.buf);
	strbuf_release(&r);
}

START_TEST(test_validation)
{
	struct counts_arg { int dummy; };
	cluster_client_t *c = client(TOKEN);
	struct cluster_counters cn;

	expect_400("{\"argv\":[\"x\"],\"cores\":0}",
		   "field 'cores': expected an integer >= 1");
	expect_400("{\"argv\":[\"x\"],\"cores\":\"many\"}", "field 'cores'");
	expect_400("{\"argv\":[\"x\"],\"memory\":\"2 parsecs\"}", "field 'memory'");
	expect_400("{\"argv\":[\"x\"],\"time_limit\":true}", "field 'time_limit'");
	expect_400("{\"argv\":[]}", "field 'argv'");
	expect_400("{\"argv\":[\"x\", 3]}", "field 'argv': element 1");
	expect_400("{\"cores\":1}", "field 'argv': missing");
	expect_400("{\"argv\":[\"x\"],\"array\":\"9-1\"}", "field 'array'");
	expect_400("{\"argv\":[\"x\"],\"after\":[5]}", "5");
	expect_400("{\"argv\":[\"x\"],\"env\":{\"A\":1}}", "field 'env'");
	expect_400("{\"argv\":[\"x\"],\"corse\":2}", "unknown field 'corse'");
	expect_400("{\"argv\":[\"x\"", "invalid JSON");
	expect_400("[1,2]", "expected a JSON object");
	/* Nothing was submitted by any of those. */
	ck_assert_int_eq(cluster_counters(c, &cn), 0);
	ck_assert_uint_eq(cn.submitted, 0);
	cluster_client_close(c);
}
END_TEST

static int collect(const struct cluster_task *t, void *arg)
{
	struct strbuf *sb = arg;

	strbuf_addf(sb, "%llu:%s ", (unsigned long long)t->id,
		    cluster_task_state_name(t->state));
	return 0;
}

START_TEST(test_list_and_cancel)
{
	struct strbuf r = STRBUF_INIT, got = STRBUF_INIT;
	cluster_client_t *c = client(TOKEN);
	const char *a1[] = { "alpha", NULL }, *a2[] = { "beta", NULL };
	struct cluster_task_spec s1 = { .argv = a1, .is_array = 1,
					.array_first = 1, .array_last = 2500 };
	struct cluster_task_spec s2 = { .argv = a2 };
	struct cluster_task_filter f = { 0 };
	uint64_t ids[] = { 3, 5, 2501 }, n = 0;

	ck_assert_int_eq(cluster_submit(c, &s1, NULL, NULL), 0);
	ck_assert_int_eq(cluster_submit(c, &s2, NULL, NULL), 0);
	ck_assert_int_eq(cluster_cancel(c, ids, 3, &n), 0);
	ck_assert_uint_eq(n, 3);
	/* again: already ended, nothing more cancelled */
	ck_assert_int_eq(cluster_cancel(c, ids, 1, &n), 0);
	ck_assert_uint_eq(n, 0);
	ids[0] = 9999;
	ck_assert_int_eq(cluster_cancel(c, ids, 1, &n), -1);
	ck_assert_int_eq(cluster_client_status(c), 404);

	f.states = 1u << CLUSTER_TASK_CANCELLED;
	ck_assert_int_eq(cluster_tasks(c, &f, collect, &got), 3);
	ck_assert_str_eq(got.buf, "3:cancelled 5:cancelled 2501:cancelled ");
	/* Every task, across pages of 1000. */
	ck_assert_int_eq(cluster_tasks(c, NULL, NULL, NULL), 2501);
	f.states = 0;
	f.name = "beta";
	strbuf_reset(&got);
	ck_assert_int_eq(cluster_tasks(c, &f, collect, &got), 1);
	ck_assert_str_eq(got.buf, "2501:cancelled ");
	f.name = NULL;
	f.after = 10;
	f.limit = 3;
	strbuf_reset(&got);
	ck_assert_int_eq(cluster_tasks(c, &f, collect, &got), 3);
	ck_assert_str_eq(got.buf, "11:queued 12:queued 13:queued ");

	/* One page: the answer says where the next one starts. */
	ck_assert_int_eq(raw("GET", "/api/v1/tasks?state=queued&limit=2", BEARER,
			     NULL, 0, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.buf, "\"next\":2}"));
	ck_assert_int_eq(raw("GET", "/api/v1/tasks?state=queued,cancelled&after=2499",
			     BEARER, NULL, 0, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.buf, "\"next\":null}"));
	ck_assert_int_eq(raw("GET", "/api/v1/tasks?state=sleeping", BEARER, NULL,
			     0, &r), 400);
	ck_assert_ptr_nonnull(strstr(r.buf, "unknown state 'sleeping'"));
	ck_assert_int_eq(raw("GET", "/api/v1/tasks?limit=0", BEARER, NULL, 0, &r),
			 400);
	ck_assert_int_eq(raw("GET", "/api/v1/tasks?limit=1000000", BEARER, NULL,
			     0, &r), 400);

	/* Dependents go with what they depend on, and the answer says so;
	 * an after_any dependent does not. */
	uint64_t dep = 20, first = 0;
	struct cluster_task_spec s3 = { .argv = a2, .after = &dep, .nafter = 1 };
	struct cluster_task_spec s4 = { .argv = a2, .after_any = &dep,
					.nafter_any = 1 };
	struct cluster_cancel_result cr;
	ck_assert_int_eq(cluster_submit(c, &s3, &first, NULL), 0);
	ck_assert_int_eq(cluster_submit(c, &s3, NULL, NULL), 0);
	ck_assert_int_eq(cluster_submit(c, &s4, NULL, NULL), 0);
	ck_assert_int_eq(cluster_task_get(c, first)->state, CLUSTER_TASK_WAITING);
	ck_assert_str_eq(cluster_task_get(c, first)->reason, "waiting for task 20");
	ck_assert_int_eq(cluster_cancel_report(c, &dep, 1, &cr), 0);
	ck_assert_uint_eq(cr.cancelled, 1);
	ck_assert_uint_eq(cr.dependents, 2);
	strbuf_reset(&got);
	strbuf_addf(&got, "%" PRIu64 "-%" PRIu64, first, first + 1);
	ck_assert_str_eq(cr.dependent_ids, got.buf);
	ck_assert_str_eq(cluster_task_get(c, first)->reason, "dependency 20 cancelled");
	ck_assert_int_eq(cluster_task_get(c, first + 2)->state, CLUSTER_TASK_QUEUED);

	/* One by route. */
	ck_assert_int_eq(raw("POST", "/api/v1/tasks/7/cancel", BEARER, NULL, 0, &r),
			 200);
	ck_assert_ptr_nonnull(strstr(r.buf, "\"state\":\"cancelled\""));
	ck_assert_int_eq(raw("POST", "/api/v1/tasks/99999/cancel", BEARER, NULL, 0,
			     &r), 404);
	cluster_client_close(c);
	strbuf_release(&r);
	strbuf_release(&got);
}
END_TEST

static void add_worker(void *arg)
{
	(void)arg;
	F.worker = sched_worker_add(F.s, "w1", 4, 1ull << 30);
	sched_dispatch(F.s);
}

static void dispatch(void *arg)
{
	(void)arg;
	sched_dispatch(F.s);
}

static void finish_assigned(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	for (unsigned i = 0; i < F.nassigned; i++) {
		struct task_result res = { .exit_code = F.finish_code,
					   .runtime = 0.5 };
		sched_task_finished(F.s, F.assigned[i], F.assigned_to[i], &res);
	}
	F.nassigned = 0;
	sched_dispatch(F.s);
}

static void finish_later(void *arg)
{
	struct timeval tv = { 0, 300000 };

	(void)arg;
	event_base_once(F.base, -1, EV_TIMEOUT, finish_assigned, NULL, &tv);
}

static void progress(const struct cluster_wait_status *st, void *arg)
{
	(*(int *)arg)++;
	ck_assert_uint_eq(st->total, 3);
}

START_TEST(test_wait)
{
	cluster_client_t *c = client(TOKEN);
	const char *argv[] = { "true", NULL };
	struct cluster_task_spec spec = { .argv = argv, .is_array = 1,
					  .array_first = 1, .array_last = 3 };
	struct cluster_wait_status st;
	const struct cluster_task *t;
	int calls = 0;

	ck_assert_int_eq(cluster_submit(c, &spec, NULL, NULL), 0);
	/* Nothing runs: the wait ends at its timeout. */
	ck_assert_int_eq(cluster_wait(c, "1-3", 1, 1, NULL, NULL, &st), 1);
	ck_assert_int_eq(st.done, 0);
	ck_assert_uint_eq(st.state[CLUSTER_TASK_QUEUED], 3);
	on_loop(add_worker, NULL);
	ck_assert_uint_eq(F.nassigned, 3);
	on_loop(finish_later, NULL);
	ck_assert_int_eq(cluster_wait(c, "1,2,3", 30, 10, progress, &calls, &st), 0);
	ck_assert_int_ge(calls, 1);
	ck_assert_int_eq(st.done, 1);
	ck_assert_uint_eq(st.state[CLUSTER_TASK_DONE], 3);
	t = cluster_task_get(c, 2);
	ck_assert_int_eq(t->state, CLUSTER_TASK_DONE);
	ck_assert_int_eq(t->has_result, 1);
	ck_assert_int_eq(t->exit_code, 0);
	ck_assert_str_eq(t->worker_name, "w1");

	/* A failing task, and waiting on everything. */
	ck_assert_int_eq(cluster_submit(c, &spec, NULL, NULL), 0);
	on_loop(dispatch, NULL);
	F.finish_code = 3;
	on_loop(finish_later, NULL);
	ck_assert_int_eq(cluster_wait(c, NULL, 30, 0, NULL, NULL, &st), 0);
	ck_assert_uint_eq(st.total, 6);
	ck_assert_uint_eq(st.state[CLUSTER_TASK_FAILED], 3);
	t = cluster_task_get(c, 5);
	ck_assert_int_eq(t->exit_code, 3);

	ck_assert_int_eq(cluster_wait(c, "4-70", 5, 0, NULL, NULL, &st), -1);
	ck_assert_int_eq(cluster_client_status(c), 404);
	ck_assert_int_eq(cluster_wait(c, "4-x", 5, 0, NULL, NULL, &st), -1);
	ck_assert_int_eq(cluster_client_status(c), 400);
	cluster_client_close(c);
}
END_TEST

START_TEST(test_workers_counters)
{
	cluster_client_t *c = client(TOKEN);
	const char *argv[] = { "true", NULL };
	struct cluster_task_spec spec = { .argv = argv, .cores = 3 };
	struct cluster_counters cn;

	ck_assert_int_eq(cluster_submit(c, &spec, NULL, NULL), 0);
	ck_assert_int_eq(cluster_submit(c, &spec, NULL, NULL), 0);
	on_loop(add_worker, NULL);
	ck_assert_int_eq(cluster_workers(c, NULL, NULL), 1);
	ck_assert_int_eq(cluster_counters(c, &cn), 0);
	ck_assert_uint_eq(cn.submitted, 2);
	ck_assert_uint_eq(cn.state[CLUSTER_TASK_RUNNING], 1);
	ck_assert_uint_eq(cn.state[CLUSTER_TASK_QUEUED], 1);
	ck_assert_uint_eq(cn.workers, 1);
	ck_assert_uint_eq(cn.cores, 4);
	ck_assert_uint_eq(cn.cores_used, 3);
	cluster_client_close(c);
}
END_TEST

static int check_worker(const struct cluster_worker *w, void *arg)
{
	(void)arg;
	ck_assert_str_eq(w->name, "w1");
	ck_assert_uint_eq(w->cores, 4);
	ck_assert_uint_eq(w->cores_used, 3);
	ck_assert_uint_eq(w->memory, 1ull << 30);
	ck_assert_uint_eq(w->running, 1);
	ck_assert_int_eq(w->alive, 1);
	return 0;
}

START_TEST(test_worker_fields)
{
	cluster_client_t *c = client(TOKEN);
	const char *argv[] = { "true", NULL };
	struct cluster_task_spec spec = { .argv = argv, .cores = 3 };

	ck_assert_int_eq(cluster_submit(c, &spec, NULL, NULL), 0);
	on_loop(add_worker, NULL);
	ck_assert_int_eq(cluster_workers(c, check_worker, NULL), 1);
	cluster_client_close(c);
}
END_TEST

static void prefetch_one(void *arg)
{
	(void)arg;
	sched_set_prefetch(F.s, 1);
}

static int count_running(const struct cluster_task *t, void *arg)
{
	ck_assert_int_eq(t->state, CLUSTER_TASK_RUNNING);
	(*(int *)arg)++;
	return 0;
}

/* A task its worker holds without having started it is assigned, not
 * running, in task objects and the state filter; the client lists both
 * as running, told apart by start_time. */
START_TEST(test_assigned_state)
{
	cluster_client_t *c = client(TOKEN);
	const char *argv[] = { "true", NULL };
	struct cluster_task_spec spec = { .argv = argv, .cores = 4 };
	struct cluster_task_filter f = { .states = 1u << CLUSTER_TASK_RUNNING };
	struct strbuf r = STRBUF_INIT;
	const struct cluster_task *t;
	int n = 0;

	on_loop(prefetch_one, NULL);
	ck_assert_int_eq(cluster_submit(c, &spec, NULL, NULL), 0);
	ck_assert_int_eq(cluster_submit(c, &spec, NULL, NULL), 0);
	on_loop(add_worker, NULL);
	ck_assert_int_eq(raw("GET", "/api/v1/tasks?state=assigned", BEARER,
			     NULL, 0, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.buf, "\"id\":2,"));
	ck_assert_ptr_null(strstr(r.buf, "\"id\":1,"));
	ck_assert_ptr_nonnull(strstr(r.buf, "\"state\":\"assigned\""));
	ck_assert_int_eq(raw("GET", "/api/v1/tasks?state=running", BEARER,
			     NULL, 0, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.buf, "\"id\":1,"));
	ck_assert_ptr_null(strstr(r.buf, "\"id\":2,"));
	ck_assert_ptr_null(strstr(r.buf, "assigned"));
	ck_assert_int_eq(raw("GET", "/api/v1/tasks?state=bogus", BEARER,
			     NULL, 0, &r), 400);
	ck_assert_ptr_nonnull(strstr(r.buf, "assigned"));
	ck_assert_int_eq(cluster_tasks(c, &f, count_running, &n), 2);
	ck_assert_int_eq(n, 2);
	t = cluster_task_get(c, 2);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->state, CLUSTER_TASK_RUNNING);
	ck_assert(t->start_time <= 0);
	strbuf_release(&r);
	cluster_client_close(c);
}
END_TEST

START_TEST(test_log)
{
	cluster_client_t *c = client(TOKEN);
	const char *argv[] = { "true", NULL };
	struct cluster_task_spec spec = { .argv = argv };
	struct strbuf path = STRBUF_INIT;
	size_t len = 0;
	char *text;
	FILE *fp;

	ck_assert_int_eq(cluster_submit(c, &spec, NULL, NULL), 0);
	ck_assert_ptr_null(cluster_log(c, 1, 0, NULL));
	ck_assert_int_eq(cluster_client_status(c), 404);
	ck_assert_ptr_nonnull(strstr(cluster_client_error(c), "has no stdout log"));
	strbuf_addf(&path, "%s/1.out", F.log_dir);
	fp = fopen(path.buf, "w");
	fputs("line one\nline two\n", fp);
	fclose(fp);
	text = cluster_log(c, 1, 0, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, "line one\nline two\n");
	ck_assert_uint_eq(len, 18);
	free(text);
	ck_assert_ptr_null(cluster_log(c, 1, 1, NULL));
	ck_assert_ptr_null(cluster_log(c, 42, 0, NULL));
	ck_assert_str_eq(cluster_client_error(c), "no task 42");
	cluster_client_close(c);
	strbuf_release(&path);
}
END_TEST

START_TEST(test_errors)
{
	struct strbuf r = STRBUF_INIT;
	char *big = malloc((2u << 20) + 1);
	cluster_client_t *c = client(TOKEN);
	struct cluster_counters cn;

	ck_assert_int_eq(raw("GET", "/api/v1/nothing", BEARER, NULL, 0, &r), 404);
	ck_assert_ptr_nonnull(strstr(r.buf, "no such resource '/api/v1/nothing'"));
	ck_assert_int_eq(raw("GET", "/", BEARER, NULL, 0, &r), 404);
	ck_assert_int_eq(raw("GET", "/api/v1/tasks/0", BEARER, NULL, 0, &r), 404);
	ck_assert_int_eq(raw("DELETE", "/api/v1/tasks", BEARER, NULL, 0, &r), 405);
	ck_assert_ptr_nonnull(strstr(r.buf, "Allow: POST, GET"));
	ck_assert_int_eq(raw("GET", "/api/v1/cancel", BEARER, NULL, 0, &r), 405);
	ck_assert_int_eq(raw("POST", "/api/v1/counters", BEARER, "{}", 2, &r), 405);
	memset(big, ' ', (2u << 20));
	big[0] = '{';
	big[(2u << 20) - 1] = '}';
	ck_assert_int_eq(raw("POST", "/api/v1/tasks", BEARER, big, 2u << 20, &r),
			 413);
	free(big);
	/* A batch announcing more than the limit is refused up front. */
	{
		struct sockaddr_in sa = { .sin_family = AF_INET };
		char buf[512] = "";
		int fd = socket(AF_INET, SOCK_STREAM, 0), code = 0;
		static const char req[] = "POST /api/v1/tasks/batch HTTP/1.1\r\n"
			"Host: x\r\nAuthorization: " BEARER "\r\n"
			"Content-Length: 100000000\r\n\r\n";
		sa.sin_port = htons(api_port(F.api));
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
		ck_assert_int_gt(read(fd, buf, sizeof(buf) - 1), 0);
		sscanf(buf, "HTTP/1.%*d %d", &code);
		ck_assert_int_eq(code, 413);
		close(fd);
	}
	/* The API still answers. */
	ck_assert_int_eq(cluster_counters(c, &cn), 0);
	cluster_client_close(c);
	strbuf_release(&r);
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("api");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_auth);
	tcase_add_test(tc, test_connect_error);
	tcase_add_test(tc, test_submit_one);
	tcase_add_test(tc, test_submit_array_and_sizes);
	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_validation);
	tcase_add_test(tc, test_list_and_cancel);
	tcase_add_test(tc, test_wait);
	tcase_add_test(tc, test_workers_counters);
	tcase_add_test(tc, test_worker_fields);
	tcase_add_test(tc, test_assigned_state);
	tcase_add_test(tc, test_log);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(api_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
