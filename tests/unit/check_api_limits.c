/*
 * The API against what a careless or hostile peer sends: bytes that would
 * forge log lines or break JSON, repeated query keys, tasks the worker
 * protocol cannot carry, odd log files, huge id lists; and, with short
 * limits, slow and hostile connections: heads refused before their body,
 * late heads, dripped bodies, idle and surplus connections.  Same set-up as
 * check_api.c: the API on an event loop in a second thread, the test on
 * raw sockets or the client library.
 */
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>

#include "api/api.h"
#include "cluster/client.h"
#include "sched/sched.h"
#include "util/log.h"
#include "util/strbuf.h"

#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BEARER "Bearer " TOKEN

static struct {
	struct event_base *base;
	struct event *keepalive;
	struct sched *s;
	struct api *api;
	pthread_t thread;
	char url[64];
	char log_dir[64];
} F;

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
struct on_loop_call {
	void (*fn)(void *);
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
};

static void call_cb(evutil_socket_t fd, short what, void *p)
{
	struct on_loop_call *c = p;

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
	struct on_loop_call c = { fn, arg, PTHREAD_MUTEX_INITIALIZER,
				  PTHREAD_COND_INITIALIZER, 0 };
	struct timeval zero = { 0, 0 };

	ck_assert_int_eq(event_base_once(F.base, -1, EV_TIMEOUT, call_cb, &c,
					 &zero), 0);
	pthread_mutex_lock(&c.mu);
	while (!c.done)
		pthread_cond_wait(&c.cv, &c.mu);
	pthread_mutex_unlock(&c.mu);
}

static void start(const struct api_config *extra)
{
	struct sched_hooks hooks = { .ended = on_ended };
	struct api_config cfg = { .bind = "127.0.0.1" };
	struct err err = { "" };
	struct timeval hour = { 3600, 0 };

	memset(&F, 0, sizeof(F));
	if (extra)
		cfg = *extra;
	cfg.bind = "127.0.0.1";
	cfg.port = 0;
	cfg.token = TOKEN;
	strcpy(F.log_dir, "/tmp/check_api_limits.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(F.log_dir));
	cfg.log_dir = F.log_dir;
	cfg.output = TASK_OUTPUT_FILES;
	evthread_use_pthreads();
	F.base = event_base_new();
	F.s = sched_create(&hooks);
	F.api = api_create(F.base, F.s, &cfg, &err);
	ck_assert_msg(F.api != NULL, "api_create: %s", err.text);
	snprintf(F.url, sizeof(F.url), "http://127.0.0.1:%u", api_port(F.api));
	F.keepalive = event_new(F.base, -1, EV_PERSIST, nothing, NULL);
	event_add(F.keepalive, &hour);
	ck_assert_int_eq(pthread_create(&F.thread, NULL, loop_main, NULL), 0);
}

static void setup(void)
{
	start(NULL);
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

static cluster_client_t *client(void)
{
	char errbuf[256];
	cluster_client_t *c = cluster_client_open_url(F.url, TOKEN, errbuf,
						      sizeof(errbuf));

	ck_assert_msg(c != NULL, "open: %s", errbuf);
	return c;
}

static int dial(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_port = htons(api_port(F.api));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		ck_assert_int_gt(n, 0);
		p += n;
		len -= (size_t)n;
	}
}

/* Read until the peer closes or `secs` pass; the status, 0 for none. */
static int read_answer(int fd, double secs, struct strbuf *resp)
{
	struct timespec t0, t;
	char buf[4096];
	int code = 0;

	strbuf_reset(resp);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		double left;
		ssize_t n;
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = secs - (double)(t.tv_sec - t0.tv_sec) -
		       (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
		if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		strbuf_add(resp, buf, (size_t)n);
	}
	sscanf(resp->buf, "HTTP/1.%*d %d", &code);
	return code;
}

/* One request on its own connection; the status, the answer in *resp. */
static int raw(const char *method, const char *target, const char *auth,
	       const char *body, size_t len, struct strbuf *resp)
{
	struct strbuf req = STRBUF_INIT;
	int fd = dial(), code;

	strbuf_addf(&req, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
		    method, target);
	if (auth)
		strbuf_addf(&req, "Authorization: %s\r\n", auth);
	if (body)
		strbuf_addf(&req, "Content-Length: %zu\r\n", len);
	strbuf_addstr(&req, "\r\n");
	if (body)
		strbuf_add(&req, body, len);
	send_all(fd, req.buf, req.len);
	code = read_answer(fd, 10, resp);
	close(fd);
	strbuf_release(&req);
	return code;
}

/* The body of an answer: after the blank line. */
static const char *body_of(const struct strbuf *resp)
{
	const char *p = strstr(resp->buf, "\r\n\r\n");

	return p ? p + 4 : "";
}

/* stderr into a file while fn runs; the file's text in *out. */
static void capture_stderr(void (*fn)(void), struct strbuf *out)
{
	char path[] = "/tmp/check_api_limits.log.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);

	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	strbuf_reset(out);
	ck_assert_int_eq(strbuf_read_file(out, path), 0);
	unlink(path);
}

/* ---- log lines ------------------------------------------------------------ */

START_TEST(test_log_escape)
{
	struct strbuf sb = STRBUF_INIT;

	log_escape(&sb, "GET /a?b=c d", 100);
	ck_assert_str_eq(sb.buf, "GET /a?b=c d");
	strbuf_reset(&sb);
	log_escape(&sb, "x\r\nfake: line\x1b[2J\\\x7f\xff", 100);
	ck_assert_str_eq(sb.buf, "x\\x0d\\x0afake: line\\x1b[2J\\\\\\x7f\\xff");
	strbuf_reset(&sb);
	log_escape(&sb, "abcdef", 3);
	ck_assert_str_eq(sb.buf, "abc...");
	strbuf_reset(&sb);
	log_escape(&sb, NULL, 3);
	ck_assert_str_eq(sb.buf, "(null)");
	strbuf_release(&sb);
}
END_TEST

static void refused_with_controls(void)
{
	struct strbuf r = STRBUF_INIT;

	/* A lone CR and an escape sequence in the request target. */
	ck_assert_int_eq(raw("GET", "/api/v1/counters?x=\r\x1b[2Jcluster: forged",
			     "Bearer wrong", NULL, 0, &r), 401);
	strbuf_release(&r);
}

START_TEST(test_log_line_escaped)
{
	struct strbuf log = STRBUF_INIT;

	capture_stderr(refused_with_controls, &log);
	ck_assert_msg(strstr(log.buf, "api: refused") != NULL, "log: %s", log.buf);
	ck_assert_msg(!strchr(log.buf, '\r') && !strchr(log.buf, '\x1b'),
		      "raw control bytes in the log: %s", log.buf);
	ck_assert_msg(strstr(log.buf, "x=\\x0d\\x1b[2Jcluster: forged") != NULL,
		      "log: %s", log.buf);
	/* One line. */
	ck_assert_ptr_eq(strchr(log.buf, '\n'), log.buf + log.len - 1);
	strbuf_release(&log);
}
END_TEST

/* ---- error texts --------------------------------------------------------- */

/* The answer's body is one JSON object with an "error" string. */
static void expect_json_error(const struct strbuf *resp, const char *needle)
{
	json_error_t jerr;
	json_t *j = json_loads(body_of(resp), 0, &jerr);
	const char *text;

	ck_assert_msg(j != NULL, "not JSON (%s): %s", jerr.text, resp->buf);
	text = json_string_value(json_object_get(j, "error"));
	ck_assert_msg(text != NULL, "no error: %s", resp->buf);
	ck_assert_msg(strstr(text, needle) != NULL, "'%s' not in '%s'", needle,
		      text);
	json_decref(j);
}

START_TEST(test_error_not_utf8)
{
	struct strbuf r = STRBUF_INIT;

	ck_assert_int_eq(raw("GET", "/api/v1/tasks?state=%FF%C3%A9", BEARER,
			     NULL, 0, &r), 400);
	expect_json_error(&r, "unknown state '\\xff\xc3\xa9'");
	ck_assert_int_eq(raw("GET", "/api/v1/tasks/1/log?stream=a%C0%AFb", BEARER,
			     NULL, 0, &r), 400);
	expect_json_error(&r, "got 'a\\xc0\\xafb'");
	ck_assert_int_eq(raw("GET", "/api/v1/nothing\xed\xa0\x80", BEARER, NULL, 0,
			     &r), 404);
	expect_json_error(&r, "'/api/v1/nothing\\xed\\xa0\\x80'");
	strbuf_release(&r);
}
END_TEST

/* ---- query strings -------------------------------------------------------- */

START_TEST(test_repeated_key)
{
	struct strbuf r = STRBUF_INIT;
	static const char text[] = "echo one\n";

	ck_assert_int_eq(raw("POST", "/api/v1/tasks/batch?cwd=/a&cores=2&cwd=/b",
			     BEARER, text, strlen(text), &r), 400);
	expect_json_error(&r, "parameter 'cwd': given more than once");
	ck_assert_int_eq(raw("GET", "/api/v1/tasks?state=queued&state=done",
			     BEARER, NULL, 0, &r), 400);
	expect_json_error(&r, "parameter 'state'");
	/* Nothing was submitted; one of each is fine. */
	ck_assert_int_eq(raw("POST", "/api/v1/tasks/batch?cwd=/a&cores=2",
			     BEARER, text, strlen(text), &r), 201);
	ck_assert_ptr_nonnull(strstr(body_of(&r), "{\"first\":1,\"count\":1}"));
	strbuf_release(&r);
}
END_TEST

/* ---- what a worker can be sent -------------------------------------------- */

/* POST /api/v1/tasks with `body`; 400 whose error holds `needle`. */
static void expect_refused(const char *body, const char *needle)
{
	struct strbuf r = STRBUF_INIT;

	ck_assert_int_eq(raw("POST", "/api/v1/tasks", BEARER, body, strlen(body),
			     &r), 400);
	expect_json_error(&r, needle);
	strbuf_release(&r);
}

START_TEST(test_frame_bounds)
{
	struct strbuf body = STRBUF_INIT, r = STRBUF_INIT;

	/* One argument longer than a protocol string. */
	strbuf_addstr(&body, "{\"argv\":[\"echo\",\"");
	for (int i = 0; i < 70000; i++)
		strbuf_addch(&body, 'a');
	strbuf_addstr(&body, "\"]}");
	expect_refused(body.buf, "task too large to send to a worker: frame RUN: "
		       "field 'argv[1]' length 70000 exceeds 65536");

	/* One variable longer than a protocol string. */
	strbuf_reset(&body);
	strbuf_addstr(&body, "{\"argv\":[\"env\"],\"env\":{\"A\":\"");
	for (int i = 0; i < 70000; i++)
		strbuf_addch(&body, 'v');
	strbuf_addstr(&body, "\"}}");
	expect_refused(body.buf, "field 'env[0]' length 70002 exceeds 65536");

	/* Short enough as sent, too long once "{}" is the index: the largest
	 * element decides, its index has 13 digits. */
	strbuf_reset(&body);
	strbuf_addstr(&body, "{\"argv\":[\"echo\"");
	for (int k = 0; k < 40; k++) {
		strbuf_addstr(&body, ",\"");
		for (int i = 0; i < 2100; i++)
			strbuf_addstr(&body, "{}");
		strbuf_addstr(&body, "\"");
	}
	strbuf_addstr(&body, "],\"array\":\"999999999999-1000000000000\"}");
	expect_refused(body.buf, "payload length");
	expect_refused(body.buf, "exceeds the maximum 1048576");

	/* Nothing was submitted; at the bounds a task is taken. */
	strbuf_reset(&body);
	strbuf_addstr(&body, "{\"argv\":[\"echo\",\"");
	for (int i = 0; i < 65536; i++)
		strbuf_addch(&body, 'a');
	strbuf_addstr(&body, "\"]}");
	ck_assert_int_eq(raw("POST", "/api/v1/tasks", BEARER, body.buf, body.len,
			     &r), 201);
	ck_assert_ptr_nonnull(strstr(body_of(&r), "{\"first\":1,\"count\":1}"));
	strbuf_release(&body);
	strbuf_release(&r);
}
END_TEST

/* ---- task logs ------------------------------------------------------------ */

START_TEST(test_log_not_regular)
{
	cluster_client_t *c = client();
	const char *argv[] = { "true", NULL };
	struct cluster_task_spec spec = { .argv = argv };
	struct strbuf path = STRBUF_INIT, r = STRBUF_INIT;
	static const char req[] = "GET /api/v1/tasks/1/log HTTP/1.1\r\nHost: x\r\n"
		"Authorization: " BEARER "\r\nConnection: close\r\n\r\n";
	int fd;

	ck_assert_int_eq(cluster_submit(c, &spec, NULL, NULL), 0);
	/* A FIFO nobody writes: opening it must not hold the loop. */
	strbuf_addf(&path, "%s/1.out", F.log_dir);
	ck_assert_int_eq(mkfifo(path.buf, 0600), 0);
	fd = dial();
	send_all(fd, req, strlen(req));
	ck_assert_int_eq(read_answer(fd, 3, &r), 404);
	expect_json_error(&r, "is a FIFO, not a regular file");
	close(fd);
	/* A directory neither. */
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/1.err", F.log_dir);
	ck_assert_int_eq(mkdir(path.buf, 0700), 0);
	ck_assert_ptr_null(cluster_log(c, 1, 1, NULL));
	ck_assert_int_eq(cluster_client_status(c), 404);
	ck_assert_ptr_nonnull(strstr(cluster_client_error(c), "is a directory"));
	/* The API still answers. */
	ck_assert_ptr_nonnull(cluster_task_get(c, 1));
	cluster_client_close(c);
	strbuf_release(&path);
	strbuf_release(&r);
}
END_TEST

/* ---- cancelling many ------------------------------------------------------ */

static int post(const char *target, const char *body, struct strbuf *resp)
{
	return raw("POST", target, BEARER, body, strlen(body), resp);
}

START_TEST(test_cancel_million)
{
	cluster_client_t *c = client();
	const char *argv[] = { "true", NULL };
	struct cluster_task_spec spec = { .argv = argv, .is_array = 1,
					  .array_first = 1,
					  .array_last = 1000000 };
	struct strbuf r = STRBUF_INIT;
	uint64_t *ids = malloc(1000000 * sizeof(*ids)), n = 0;

	ck_assert_int_eq(cluster_submit(c, &spec, NULL, NULL), 0);
	ck_assert_int_eq(cluster_submit(c, &spec, NULL, NULL), 0);
	/* The client sends ranges: a million ids fit in the body. */
	for (uint64_t i = 0; i < 1000000; i++)
		ids[i] = 1000000 - i;
	ck_assert_msg(cluster_cancel(c, ids, 1000000, &n) == 0, "cancel: %s",
		      cluster_client_error(c));
	ck_assert_uint_eq(n, 1000000);
	ck_assert_int_eq(cluster_task_get(c, 1000000)->state, CLUSTER_TASK_CANCELLED);
	ck_assert_int_eq(cluster_task_get(c, 1000001)->state, CLUSTER_TASK_QUEUED);
	/* The API takes an id list as text too. */
	ck_assert_int_eq(post("/api/v1/cancel", "{\"ids\": \"999999-1000002,1000004\"}",
			      &r), 200);
	ck_assert_ptr_nonnull(strstr(body_of(&r),
				     "{\"cancelled\":3,\"already_ended\":2,"
				     "\"dependents\":0,\"dependent_ids\":\"\"}"));
	ck_assert_int_eq(post("/api/v1/cancel", "{\"ids\": \"3-x\"}", &r), 400);
	expect_json_error(&r, "field 'ids': ");
	ck_assert_int_eq(post("/api/v1/cancel", "{\"ids\": \"1-2000001\"}", &r), 404);
	expect_json_error(&r, "no task 2000001");
	free(ids);
	cluster_client_close(c);
	strbuf_release(&r);
}
END_TEST

/* ---- slow and hostile peers ------------------------------------------------ */

#define HEAD_TIMEOUT 1
#define IDLE_TIMEOUT 2
#define MAX_CONNECTIONS 4

static void setup_limits(void)
{
	struct api_config cfg = { .head_timeout = HEAD_TIMEOUT,
				  .idle_timeout = IDLE_TIMEOUT,
				  .max_connections = MAX_CONNECTIONS };

	start(&cfg);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One whole answer (head and Content-Length bytes), within `secs`, the
 * connection left open and nothing of a next answer read; its status, 0
 * for none. */
static int answer(int fd, double secs, struct strbuf *resp)
{
	double end = now() + secs;
	size_t want = 0, head = 0;
	int code = 0;

	strbuf_reset(resp);
	while (!head || resp->len < head + want) {
		struct pollfd p = { fd, POLLIN, 0 };
		char buf[4096];
		size_t room = head ? head + want - resp->len : 1;
		ssize_t n;
		if (now() >= end || poll(&p, 1, (int)((end - now()) * 1000) + 1) <= 0)
			return 0;
		n = read(fd, buf, room < sizeof(buf) ? room : sizeof(buf));
		if (n <= 0)
			return 0;
		strbuf_add(resp, buf, (size_t)n);
		if (!head && resp->len >= 4 &&
		    !memcmp(resp->buf + resp->len - 4, "\r\n\r\n", 4)) {
			const char *cl = strcasestr(resp->buf, "\r\nContent-Length: ");
			head = resp->len;
			want = cl ? strtoul(cl + 18, NULL, 10) : 0;
		}
	}
	sscanf(resp->buf, "HTTP/1.%*d %d", &code);
	return code;
}

/* Does the peer close within `secs` (whatever it sends first)? */
static int closed_within(int fd, double secs)
{
	double end = now() + secs;
	char buf[4096];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		if (now() >= end || poll(&p, 1, (int)((end - now()) * 1000) + 1) <= 0)
			return 0;
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
		if (n < 0)
			return 0;
	}
}

static int send_head(const char *head)
{
	int fd = dial();

	send_all(fd, head, strlen(head));
	return fd;
}

START_TEST(test_refused_before_body)
{
	struct strbuf r = STRBUF_INIT;
	int fd;

	/* A stranger announcing a task file: refused on its head alone. */
	fd = send_head("POST /api/v1/tasks/batch HTTP/1.1\r\nHost: x\r\n"
		       "Authorization: Bearer wrong\r\n"
		       "Content-Length: 50000000\r\n\r\n");
	ck_assert_int_eq(answer(fd, 0.5, &r), 401);
	expect_json_error(&r, "unauthorized: wrong token");
	ck_assert_ptr_nonnull(strstr(r.buf, "WWW-Authenticate: Bearer"));
	close(fd);
	fd = send_head("POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\n"
		       "Content-Length: 100\r\n\r\n");
	ck_assert_int_eq(answer(fd, 0.5, &r), 401);
	expect_json_error(&r, "unauthorized: no token");
	close(fd);
	/* With the token, a body above the route's cap: 413 at once. */
	fd = send_head("POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\n"
		       "Authorization: " BEARER "\r\n"
		       "Content-Length: 2000000\r\n\r\n");
	ck_assert_int_eq(answer(fd, 0.5, &r), 413);
	expect_json_error(&r, "request body: larger than 1048576 bytes");
	close(fd);
	/* A body where none is taken, a chunked one, no such route. */
	fd = send_head("GET /api/v1/counters HTTP/1.1\r\nHost: x\r\n"
		       "Authorization: " BEARER "\r\nContent-Length: 5\r\n\r\n");
	ck_assert_int_eq(answer(fd, 0.5, &r), 400);
	expect_json_error(&r, "takes none");
	close(fd);
	fd = send_head("POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\n"
		       "Authorization: " BEARER "\r\n"
		       "Transfer-Encoding: chunked\r\n\r\n");
	ck_assert_int_eq(answer(fd, 0.5, &r), 411);
	expect_json_error(&r, "Content-Length");
	close(fd);
	fd = send_head("PUT /api/v1/nothing HTTP/1.1\r\nHost: x\r\n"
		       "Content-Length: 50000000\r\n\r\n");
	ck_assert_int_eq(answer(fd, 0.5, &r), 404);
	close(fd);
	/* Two different lengths, or none that is a number. */
	fd = send_head("POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\n"
		       "Authorization: " BEARER "\r\nContent-Length: 2\r\n"
		       "Content-Length: 3\r\n\r\n{}");
	ck_assert_int_eq(answer(fd, 0.5, &r), 400);
	expect_json_error(&r, "header 'Content-Length'");
	close(fd);
	strbuf_release(&r);
}
END_TEST

START_TEST(test_refused_body_dropped)
{
	struct strbuf r = STRBUF_INIT;
	size_t len = 1 << 20;
	char *body = calloc(1, len);
	double t0;
	int fd;

	/* The client sends the body anyway, then reads: it gets the answer,
	 * then the end of the connection, not a reset. */
	fd = send_head("POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\n"
		       "Authorization: Bearer wrong\r\n"
		       "Content-Length: 1048576\r\n\r\n");
	send_all(fd, body, len);
	t0 = now();
	ck_assert_int_eq(answer(fd, 2, &r), 401);
	ck_assert(closed_within(fd, 2));
	ck_assert_msg(now() - t0 < HEAD_TIMEOUT, "closed after %.1fs", now() - t0);
	close(fd);
	free(body);
	strbuf_release(&r);
}
END_TEST

START_TEST(test_head_timeout)
{
	struct strbuf r = STRBUF_INIT;
	double t0 = now();
	int fd;

	/* Half a head, then nothing: 408 after HEAD_TIMEOUT, then closed. */
	fd = send_head("GET /api/v1/coun");
	ck_assert_int_eq(answer(fd, HEAD_TIMEOUT + 1.5, &r), 408);
	expect_json_error(&r, "request head: not complete within 1 seconds");
	ck_assert(closed_within(fd, 1));
	ck_assert_double_ge(now() - t0, HEAD_TIMEOUT - 0.1);
	close(fd);
	/* A head dripped a byte at a time gets no longer. */
	fd = dial();
	t0 = now();
	for (int i = 0; i < 30 && now() - t0 < HEAD_TIMEOUT + 2; i++) {
		if (send(fd, "X", 1, MSG_NOSIGNAL) != 1)
			break;
		usleep(100000);
	}
	ck_assert(closed_within(fd, 1));
	ck_assert_double_le(now() - t0, HEAD_TIMEOUT + 2);
	close(fd);
	strbuf_release(&r);
}
END_TEST

START_TEST(test_drip_refused_body)
{
	struct strbuf r = STRBUF_INIT;
	double t0;
	int fd, closed = 0;

	fd = send_head("POST /api/v1/tasks/batch HTTP/1.1\r\nHost: x\r\n"
		       "Authorization: Bearer wrong\r\n"
		       "Content-Length: 67108864\r\n\r\n");
	ck_assert_int_eq(answer(fd, 0.5, &r), 401);
	/* Dripping the body does not keep the connection. */
	t0 = now();
	while (now() - t0 < HEAD_TIMEOUT + 2) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (send(fd, "x", 1, MSG_NOSIGNAL) != 1 ||
		    (poll(&p, 1, 100) == 1 && closed_within(fd, 0.1))) {
			closed = 1;
			break;
		}
	}
	ck_assert_msg(closed, "still open after %.1fs", now() - t0);
	ck_assert_double_le(now() - t0, HEAD_TIMEOUT + 1);
	close(fd);
	strbuf_release(&r);
}
END_TEST

START_TEST(test_idle_timeout)
{
	double t0 = now();
	int fd = dial();

	ck_assert(closed_within(fd, IDLE_TIMEOUT + 1.5));
	ck_assert_double_ge(now() - t0, IDLE_TIMEOUT - 0.1);
	close(fd);
}
END_TEST

START_TEST(test_long_poll_outlives_idle)
{
	cluster_client_t *c = client();
	const char *argv[] = { "true", NULL };
	struct cluster_task_spec spec = { .argv = argv };
	struct strbuf r = STRBUF_INIT;
	double t0;
	int fd;

	ck_assert_int_eq(cluster_submit(c, &spec, NULL, NULL), 0);
	t0 = now();
	fd = send_head("GET /api/v1/wait?ids=1&timeout=4 HTTP/1.1\r\nHost: x\r\n"
		       "Authorization: " BEARER "\r\n\r\n");
	ck_assert_int_eq(answer(fd, 6, &r), 200);
	ck_assert_double_ge(now() - t0, 3.9);
	ck_assert_ptr_nonnull(strstr(body_of(&r), "\"done\":false"));
	close(fd);
	cluster_client_close(c);
	strbuf_release(&r);
}
END_TEST

START_TEST(test_keep_alive)
{
	struct strbuf r = STRBUF_INIT;
	static const char body[] = "{\"argv\":[\"true\"]}";
	struct strbuf req = STRBUF_INIT;
	int fd;

	/* Three requests in one write, the middle one with a body. */
	strbuf_addstr(&req, "GET /api/v1/counters HTTP/1.1\r\nHost: x\r\n"
		      "Authorization: " BEARER "\r\n\r\n");
	strbuf_addf(&req, "POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\n"
		    "Authorization: " BEARER "\r\nContent-Length: %zu\r\n\r\n%s",
		    strlen(body), body);
	strbuf_addstr(&req, "\r\nGET /api/v1/tasks/1 HTTP/1.1\r\nHost: x\r\n"
		      "Authorization: " BEARER "\r\n\r\n");
	fd = send_head(req.buf);
	ck_assert_int_eq(answer(fd, 2, &r), 200);
	ck_assert_ptr_nonnull(strstr(body_of(&r), "\"uptime\""));
	ck_assert_int_eq(answer(fd, 2, &r), 201);
	ck_assert_int_eq(answer(fd, 2, &r), 200);
	ck_assert_ptr_nonnull(strstr(body_of(&r), "\"id\":1"));
	/* A refused request after them closes the connection. */
	send_all(fd, "GET /api/v1/counters HTTP/1.1\r\n\r\n", 34);
	ck_assert_int_eq(answer(fd, 2, &r), 401);
	ck_assert(closed_within(fd, 1));
	close(fd);
	strbuf_release(&req);
	strbuf_release(&r);
}
END_TEST

START_TEST(test_head_too_large)
{
	struct strbuf head = STRBUF_INIT, r = STRBUF_INIT;
	int fd;

	strbuf_addstr(&head, "GET /api/v1/counters HTTP/1.1\r\nX-Pad: ");
	for (int i = 0; i < 70000; i++)
		strbuf_addch(&head, 'p');
	fd = dial();
	send_all(fd, head.buf, head.len);
	ck_assert_int_eq(answer(fd, 1, &r), 431);
	expect_json_error(&r, "request head: larger than 65536 bytes");
	close(fd);
	strbuf_release(&head);
	strbuf_release(&r);
}
END_TEST

START_TEST(test_max_connections)
{
	static const char req[] = "GET /api/v1/counters HTTP/1.1\r\nHost: x\r\n"
		"Authorization: " BEARER "\r\n\r\n";
	struct strbuf r = STRBUF_INIT;
	int idle[MAX_CONNECTIONS], fd;

	for (int i = 0; i < MAX_CONNECTIONS; i++)
		idle[i] = dial();
	/* One more: it connects (the kernel's queue) but waits its turn. */
	fd = send_head(req);
	ck_assert_int_eq(answer(fd, 0.5, &r), 0);
	close(idle[0]);
	ck_assert_int_eq(answer(fd, 1, &r), 200);
	for (int i = 1; i < MAX_CONNECTIONS; i++)
		close(idle[i]);
	close(fd);
	strbuf_release(&r);
}
END_TEST

static Suite *limits_suite(void)
{
	Suite *s = suite_create("api_limits");
	TCase *tc = tcase_create("api_limits");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_log_escape);
	tcase_add_test(tc, test_log_line_escaped);
	tcase_add_test(tc, test_error_not_utf8);
	tcase_add_test(tc, test_repeated_key);
	tcase_add_test(tc, test_frame_bounds);
	tcase_add_test(tc, test_log_not_regular);
	tcase_add_test(tc, test_cancel_million);
	suite_add_tcase(s, tc);

	tc = tcase_create("slow_peers");
	tcase_add_checked_fixture(tc, setup_limits, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_refused_before_body);
	tcase_add_test(tc, test_refused_body_dropped);
	tcase_add_test(tc, test_head_timeout);
	tcase_add_test(tc, test_drip_refused_body);
	tcase_add_test(tc, test_idle_timeout);
	tcase_add_test(tc, test_long_poll_outlives_idle);
	tcase_add_test(tc, test_keep_alive);
	tcase_add_test(tc, test_head_too_large);
	tcase_add_test(tc, test_max_connections);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(limits_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
