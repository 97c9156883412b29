/*
 * client: the C client library (include/cluster/client.h) over libevent's
 * HTTP client.  Each client has its own event_base and one keep-alive
 * connection; a call runs the base until its answer arrives.
 *
 * The token never leaves the client: before its first request a client
 * has the server prove it knows the token (a challenge on a fresh
 * nonce), and then signs each request with it (proto/sign.h), so that
 * whoever answers on a stale address learns nothing it can use.
 *
 * One file past the usual length: every call is a thin layer over the
 * same request, error and JSON-reading code, and the library is built
 * from it (with state/ and a few util/ files) as libcluster on its own.
 */
#include "cluster/client.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "proto/sign.h"
#include "state/state.h"
#include "util/idset.h"
#include "util/strbuf.h"
#include "util/clock.h"

#define DEFAULT_TIMEOUT 60.0
#define WAIT_CHUNK 30		/* seconds per long-poll without progress */
#define WAIT_STEP 0.1		/* seconds between polls in the last second */
#define PAGE_SIZE 1000

struct cluster_client {
	struct event_base *base;
	struct evhttp_connection *conn;
	char *host;
	uint16_t port;
	char *url;
	char *token;
	double timeout;
	int verified;			/* the server proved it knows the token */
	int pin_port;			/* ... listening on `port` itself */
	int status;
	char error[512];
	char warning[512];		/* the last answer's X-Cluster-Warning */
	char stale[384];		/* what to suspect when the address
					   does not answer; "" by URL */
	struct strbuf resp;		/* body of the last answer */
	/* cluster_task_get's result */
	json_t *held;
	const char **held_argv;
	struct cluster_task held_task;
};

static const char *const state_names[CLUSTER_TASK_NSTATES] = {
	"waiting", "queued", "running", "done", "failed", "cancelled",
};

const char *cluster_task_state_name(int state)
{
	if (state < 0 || state >= CLUSTER_TASK_NSTATES)
		return NULL;
	return state_names[state];
}

int cluster_task_state_parse(const char *name)
{
	for (int i = 0; i < CLUSTER_TASK_NSTATES; i++)
		if (name && !strcmp(name, state_names[i]))
			return i;
	return -1;
}

static int fail(cluster_client_t *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(cluster_client_t *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	return -1;
}

/* strerror, lowercased the way messages are written here. */
static void lower_strerror(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
}

/* ---- opening ------------------------------------------------------------ */

static cluster_client_t *client_new(const char *host, uint16_t port,
				    const char *token, char *errbuf,
				    size_t errlen)
{
	cluster_client_t *c = calloc(1, sizeof(*c));
	struct strbuf url = STRBUF_INIT;

	if (!c)
		goto oom;
	c->timeout = DEFAULT_TIMEOUT;
	strbuf_init(&c->resp, 0);
	c->host = strdup(host);
	c->token = strdup(token);
	c->port = port;
	c->base = event_base_new();
	if (!c->host || !c->token || !c->base)
		goto oom;
	c->conn = evhttp_connection_base_new(c->base, NULL, c->host, port);
	if (!c->conn) {
		if (errbuf)
			snprintf(errbuf, errlen, "cannot set up a connection to '%s:%u'",
				 host, (unsigned)port);
		cluster_client_close(c);
		return NULL;
	}
	strbuf_addf(&url, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u",
		    host, (unsigned)port);
	c->url = strbuf_detach(&url, NULL);
	return c;
oom:
	if (errbuf)
		snprintf(errbuf, errlen, "out of memory");
	cluster_client_close(c);
	return NULL;
}

cluster_client_t *cluster_client_open_url(const char *url, const char *token,
					  char *errbuf, size_t errlen)
{
	struct evhttp_uri *u = url ? evhttp_uri_parse(url) : NULL;
	cluster_client_t *c = NULL;
	const char *scheme, *host;
	int port;

	if (!u || !(host = evhttp_uri_get_host(u)) || !*host ||
	    !(scheme = evhttp_uri_get_scheme(u)) || strcmp(scheme, "http")) {
		if (errbuf)
			snprintf(errbuf, errlen, "bad scheduler url '%s': expected http://HOST:PORT",
				 url ? url : "");
		goto out;
	}
	if (!token || !*token) {
		if (errbuf)
			snprintf(errbuf, errlen, "no token for '%s'", url);
		goto out;
	}
	port = evhttp_uri_get_port(u);
	c = client_new(host, (uint16_t)(port > 0 ? port : 80), token, errbuf,
		       errlen);
out:
	if (u)
		evhttp_uri_free(u);
	return c;
}

cluster_client_t *cluster_client_open(const char *name, char *errbuf,
				      size_t errlen)
{
	struct strbuf dir = STRBUF_INIT;
	struct state_address addr;
	struct err err = { "" };
	cluster_client_t *c = NULL;
	char token[65];
	const char *host;

	if (!name || !*name)
		name = getenv("CLUSTER_NAME");
	if (!name || !*name)
		name = "default";
	if (state_dir(name, 0, &dir, &err) < 0)
		goto fail;
	if (state_address_read(dir.buf, &addr, &err) < 0) {
		errprefix(&err, "cluster '%s' has no running scheduler", name);
		goto fail;
	}
	/* A killed scheduler leaves its address behind, and whoever binds
	 * that port next would be sent the token: not even the token is
	 * read for a scheduler known to be gone. */
	if (state_address_stale(&addr)) {
		errprintf(&err, "the scheduler of '%s' is not running (pid %ld died); "
			  "start a new head job (cluster --name %s job-script --role head)",
			  name, addr.pid, name);
		goto fail;
	}
	if (state_token(dir.buf, 0, token, &err) < 0)
		goto fail;
	host = addr.host;
	if (!*host || !strcmp(host, "0.0.0.0"))
		host = "127.0.0.1";
	else if (!strcmp(host, "::"))
		host = "::1";
	c = client_new(host, addr.http_port, token, errbuf, errlen);
	memset(token, 0, sizeof(token));
	if (c)
		c->pin_port = 1;
	if (c)
		snprintf(c->stale, sizeof(c->stale),
			 "the address of '%.64s' may be stale (pid %ld on %.255s)", name,
			 addr.pid, addr.node[0] ? addr.node : addr.host);
	strbuf_release(&dir);
	return c;
fail:
	if (errbuf)
		snprintf(errbuf, errlen, "%s", err.text);
	strbuf_release(&dir);
	return NULL;
}

static void release_held(cluster_client_t *c)
{
	json_decref(c->held);
	free(c->held_argv);
	c->held = NULL;
	c->held_argv = NULL;
}

void cluster_client_close(cluster_client_t *c)
{
	if (!c)
		return;
	release_held(c);
	if (c->conn)
		evhttp_connection_free(c->conn);
	if (c->base)
		event_base_free(c->base);
	strbuf_release(&c->resp);
	free(c->host);
	if (c->token)
		memset(c->token, 0, strlen(c->token));
	free(c->token);
	free(c->url);
	free(c);
}

const char *cluster_client_error(const cluster_client_t *c)
{
	return c->error;
}

const char *cluster_client_warning(const cluster_client_t *c)
{
	return c->warning[0] ? c->warning : NULL;
}

int cluster_client_status(const cluster_client_t *c)
{
	return c->status;
}

const char *cluster_client_url(const cluster_client_t *c)
{
	return c->url;
}

void cluster_client_set_timeout(cluster_client_t *c, double seconds)
{
	c->timeout = seconds > 0 ? seconds : DEFAULT_TIMEOUT;
}

/* ---- one request -------------------------------------------------------- */

struct pending {
	cluster_client_t *c;
	int done;
	int code;
	int error;			/* enum evhttp_request_error + 1; 0 none */
};

static void on_error(enum evhttp_request_error e, void *arg)
{
	struct pending *p = arg;

	p->error = (int)e + 1;
}

static void on_done(struct evhttp_request *req, void *arg)
{
	struct pending *p = arg;
	struct evbuffer *in;

	p->done = 1;
	if (req && (p->code = evhttp_request_get_response_code(req)) > 0) {
		const char *w = evhttp_find_header(
			evhttp_request_get_input_headers(req), "X-Cluster-Warning");
		snprintf(p->c->warning, sizeof(p->c->warning), "%s", w ? w : "");
		in = evhttp_request_get_input_buffer(req);
		size_t len = evbuffer_get_length(in);
		strbuf_grow(&p->c->resp, len);
		evbuffer_remove(in, p->c->resp.buf + p->c->resp.len, len);
		strbuf_setlen(&p->c->resp, p->c->resp.len + len);
	}
	event_base_loopbreak(p->c->base);
}

/* Why no answer came: try a plain connection to say what is wrong. */
static int explain_failure(cluster_client_t *c, const struct pending *p)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char port[8], msg[128];
	int fd = -1, e = 0, rc;

	if (p->error == EVREQ_HTTP_TIMEOUT + 1)
		return fail(c, "scheduler at %s:%u did not answer within %.0f s",
			    c->host, (unsigned)c->port, c->timeout);
	snprintf(port, sizeof(port), "%u", (unsigned)c->port);
	rc = getaddrinfo(c->host, port, &hints, &ai);
	if (rc)
		return fail(c, "cannot connect to scheduler at %s:%u: %s", c->host,
			    (unsigned)c->port, gai_strerror(rc));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
	} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		e = errno;
		if (e == EINPROGRESS) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			socklen_t len = sizeof(e);
			e = poll(&pfd, 1, 3000) == 1 &&
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 ?
				e : ETIMEDOUT;
		}
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	if (e) {
		lower_strerror(e, msg, sizeof(msg));
		return fail(c, "cannot connect to scheduler at %s:%u: %s%s%s",
			    c->host, (unsigned)c->port, msg, c->stale[0] ? "; " : "",
			    c->stale);
	}
	return fail(c, "scheduler at %s:%u closed the connection without an answer",
		    c->host, (unsigned)c->port);
}

/*
 * Send one request with Authorization `auth` (NULL: none) and wait for
 * the answer.  Returns the HTTP status when it is 2xx, the body in
 * c->resp; otherwise -1 with the message (the server's "error" when it
 * sent one).
 */
static int exchange(cluster_client_t *c, enum evhttp_cmd_type method,
		    const char *uri, const char *auth, const char *type,
		    const char *body, size_t len, double extra_time)
{
	struct pending p = { .c = c };
	struct evhttp_request *req;
	struct evkeyvalq *h;
	struct timeval tv;
	double t = c->timeout + extra_time;

	c->warning[0] = '\0';
	c->status = 0;
	c->error[0] = '\0';
	strbuf_reset(&c->resp);
	req = evhttp_request_new(on_done, &p);
	if (!req)
		return fail(c, "out of memory");
	evhttp_request_set_error_cb(req, on_error);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", c->host);
	if (auth)
		evhttp_add_header(h, "Authorization", auth);
	evhttp_add_header(h, "Accept", "application/json");
	if (body) {
		evhttp_add_header(h, "Content-Type", type);
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	}
	tv.tv_sec = (time_t)t;
	tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
	evhttp_connection_set_timeout_tv(c->conn, &tv);
	if (evhttp_make_request(c->conn, req, method, uri) < 0)
		return fail(c, "cannot send a request to %s", c->url);
	while (!p.done) {
		if (event_base_dispatch(c->base) != 0 && !p.done) {
			/* Nothing left to wait for and no answer. */
			p.done = 1;
		}
	}
	c->status = p.code;
	if (p.code <= 0)
		return explain_failure(c, &p);
	if (p.code >= 200 && p.code < 300)
		return p.code;

	json_t *j = json_loadb(c->resp.buf, c->resp.len, 0, NULL);
	json_t *e = json_object_get(j, "error");
	if (json_is_string(e))
		fail(c, "%s", json_string_value(e));
	else
		fail(c, "scheduler at %s answered %d to '%s'", c->url, p.code, uri);
	json_decref(j);
	return -1;
}

/* Have the server prove it knows the token before anything is signed
 * for it: a stranger on the address gets a nonce and nothing else.  A
 * proof that does not hold stands for a wrong token as much as for a
 * stranger; either way nothing was sent but the nonce. */
static int challenge(cluster_client_t *c)
{
	char cnonce[SIGN_NONCE_HEX + 1], uri[96];
	const char *snonce, *proof;
	json_int_t port;
	json_t *j;
	int ok;

	if (sign_nonce(cnonce) < 0)
		return fail(c, "cannot draw a nonce");
	snprintf(uri, sizeof(uri), "/api/v1/auth/challenge?nonce=%s", cnonce);
	if (exchange(c, EVHTTP_REQ_GET, uri, NULL, NULL, NULL, 0, 0) < 0) {
		if (c->status > 0) {
			char why[sizeof(c->error)];
			snprintf(why, sizeof(why), "%s", c->error);
			fail(c, "scheduler at %s answered %d to the token challenge "
			     "(%.200s); nothing secret was sent", c->url, c->status, why);
		}
		return -1;
	}
	j = json_loadb(c->resp.buf, c->resp.len, 0, NULL);
	snonce = json_string_value(json_object_get(j, "nonce"));
	proof = json_string_value(json_object_get(j, "proof"));
	/* The port from an address file is the one the proof must be for:
	 * a listener there cannot relay the real server's proof.  A URL's
	 * port may be a tunnel's, so the server's own is taken. */
	port = json_integer_value(json_object_get(j, "port"));
	if (c->pin_port)
		port = c->port;
	ok = port > 0 && port <= 65535 &&
		sign_proof_ok(c->token, (unsigned)port, cnonce, snonce, proof);
	json_decref(j);
	if (!ok) {
		c->status = 401;
		return fail(c, "unauthorized: the scheduler at %s could not prove it "
			    "knows the token (wrong token, or not the scheduler%s%s); "
			    "nothing secret was sent", c->url, c->stale[0] ? ": " : "",
			    c->stale);
	}
	c->verified = 1;
	return 0;
}

/* One request to the API, signed (Cluster-HMAC), after the challenge on
 * the client's first. */
static int request(cluster_client_t *c, enum evhttp_cmd_type method,
		   const char *uri, const char *type, const char *body,
		   size_t len, double extra_time)
{
	static const char *const names[] = {
		[EVHTTP_REQ_GET] = "GET", [EVHTTP_REQ_POST] = "POST",
	};
	struct strbuf auth = STRBUF_INIT;
	char nonce[SIGN_NONCE_HEX + 1], hash[SIGN_HEX + 1];
	struct sign_request r = {
		.target = uri, .nonce = nonce, .body_hash = hash,
		.length = body ? len : 0,
	};
	int rc;

	if (!c->verified && challenge(c) < 0)
		return -1;
	if ((size_t)method >= sizeof(names) / sizeof(names[0]) || !names[method])
		return fail(c, "cannot sign a request of this method");
	if (sign_nonce(nonce) < 0)
		return fail(c, "cannot draw a nonce");
	r.method = names[method];
	r.ts = (int64_t)clock_wall();
	sign_body_hash(body, r.length, hash);
	sign_header(c->token, &r, &auth);
	rc = exchange(c, method, uri, auth.buf, type, body, len, extra_time);
	strbuf_release(&auth);
	return rc;
}

/* The last answer as a JSON object, or -1 with a message. */
static json_t *response_json(cluster_client_t *c)
{
	json_error_t jerr;
	json_t *j = json_loadb(c->resp.buf, c->resp.len, 0, &jerr);

	if (!j || !json_is_object(j)) {
		json_decref(j);
		fail(c, "scheduler at %s sent an answer that is not a JSON object",
		     c->url);
		return NULL;
	}
	return j;
}

static json_t *get_json(cluster_client_t *c, const char *uri, double extra)
{
	if (request(c, EVHTTP_REQ_GET, uri, NULL, NULL, 0, extra) < 0)
		return NULL;
	return response_json(c);
}

static json_t *post_json(cluster_client_t *c, const char *uri, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	int rc;

	json_decref(body);
	if (!text)
		return fail(c, "cannot encode the request (strings must be UTF-8)"),
			NULL;
	rc = request(c, EVHTTP_REQ_POST, uri, "application/json", text,
		     strlen(text), 0);
	free(text);
	return rc < 0 ? NULL : response_json(c);
}

static uint64_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ?
		(uint64_t)json_integer_value(v) : 0;
}

static double jreal(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : 0;
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- submitting --------------------------------------------------------- */

/* The resource and limit fields shared by tasks and batches. */
static void spec_common(json_t *j, const struct cluster_task_spec *s)
{
	if (s->cwd)
		json_object_set_new(j, "cwd", json_string(s->cwd));
	if (s->name)
		json_object_set_new(j, "name", json_string(s->name));
	if (s->cores)
		json_object_set_new(j, "cores", json_integer(s->cores));
	if (s->memory)
		json_object_set_new(j, "memory", json_integer((json_int_t)s->memory));
	if (s->gpus)
		json_object_set_new(j, "gpus", json_integer(s->gpus));
	if (s->time_limit)
		json_object_set_new(j, "time_limit",
				    json_integer((json_int_t)s->time_limit));
	if (s->retries_set || s->retries)
		json_object_set_new(j, "retries", json_integer(s->retries));
	if (s->max_worker_losses)
		json_object_set_new(j, "max_worker_losses",
				    json_integer(s->max_worker_losses));
	if (s->stdout_path)
		json_object_set_new(j, "stdout", json_string(s->stdout_path));
	if (s->stderr_path)
		json_object_set_new(j, "stderr", json_string(s->stderr_path));
}

static int submitted(json_t *r, uint64_t *first, uint64_t *count)
{
	if (!r)
		return -1;
	if (first)
		*first = jint(r, "first");
	if (count)
		*count = jint(r, "count");
	json_decref(r);
	return 0;
}

int cluster_submit(cluster_client_t *c, const struct cluster_task_spec *s,
		   uint64_t *first, uint64_t *count)
{
	json_t *j = json_object(), *argv = json_array();

	for (const char *const *p = s->argv; p && *p; p++)
		json_array_append_new(argv, json_string(*p));
	json_object_set_new(j, "argv", argv);
	if (s->env) {
		json_t *env = json_object();
		for (const char *const *p = s->env; *p; p++) {
			const char *eq = strchr(*p, '=');
			if (!eq) {
				json_decref(env);
				json_decref(j);
				return fail(c, "environment entry '%s': expected NAME=value",
					    *p);
			}
			char *k = strndup(*p, (size_t)(eq - *p));
			json_object_set_new(env, k ? k : "", json_string(eq + 1));
			free(k);
		}
		json_object_set_new(j, "env", env);
	}
	spec_common(j, s);
	if (s->is_array)
		json_object_set_new(j, "array", json_pack("{s:I,s:I}", "first",
			(json_int_t)s->array_first, "last", (json_int_t)s->array_last));
	if (s->nafter) {
		json_t *after = json_array();
		for (size_t i = 0; i < s->nafter; i++)
			json_array_append_new(after, json_integer((json_int_t)s->after[i]));
		json_object_set_new(j, "after", after);
	}
	if (s->nafter_any) {
		json_t *after = json_array();
		for (size_t i = 0; i < s->nafter_any; i++)
			json_array_append_new(after,
				json_integer((json_int_t)s->after_any[i]));
		json_object_set_new(j, "after_any", after);
	}
	return submitted(post_json(c, "/api/v1/tasks", j), first, count);
}

static void add_param(struct strbuf *uri, const char *key, const char *value)
{
	char *enc = evhttp_uriencode(value, -1, 0);

	strbuf_addf(uri, "%c%s=%s", strchr(uri->buf, '?') ? '&' : '?', key,
		    enc ? enc : "");
	free(enc);
}

int cluster_submit_batch(cluster_client_t *c, const char *text, size_t len,
			 const struct cluster_task_spec *d, uint64_t *first,
			 uint64_t *count)
{
	struct strbuf uri = STRBUF_INIT;
	json_t *j = json_object(), *v;
	const char *k;
	int rc;

	strbuf_addstr(&uri, "/api/v1/tasks/batch");
	if (d) {
		spec_common(j, d);
		if (d->nafter) {
			struct strbuf ids = STRBUF_INIT;
			for (size_t i = 0; i < d->nafter; i++)
				strbuf_addf(&ids, "%s%" PRIu64, i ? "," : "", d->after[i]);
			json_object_set_new(j, "after", json_string(ids.buf));
			strbuf_release(&ids);
		}
		if (d->nafter_any) {
			struct strbuf ids = STRBUF_INIT;
			for (size_t i = 0; i < d->nafter_any; i++)
				strbuf_addf(&ids, "%s%" PRIu64, i ? "," : "",
					    d->after_any[i]);
			json_object_set_new(j, "after_any", json_string(ids.buf));
			strbuf_release(&ids);
		}
	}
	/* Query values are text: numbers as decimal. */
	json_object_foreach(j, k, v) {
		char num[32];
		if (json_is_integer(v)) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
			add_param(&uri, k, num);
		} else {
			add_param(&uri, k, json_string_value(v));
		}
	}
	json_decref(j);
	rc = request(c, EVHTTP_REQ_POST, uri.buf, "text/plain; charset=utf-8",
		     text, len, 0);
	strbuf_release(&uri);
	if (rc < 0)
		return -1;
	return submitted(response_json(c), first, count);
}

/* ---- tasks -------------------------------------------------------------- */

/* Fill `t` from `j`; strings point into j, argv is allocated (free it). */
static int task_from_json(json_t *j, struct cluster_task *t, const char ***argv)
{
	json_t *a = json_object_get(j, "argv"), *x, *v;
	size_t i;

	memset(t, 0, sizeof(*t));
	*argv = calloc(json_array_size(a) + 1, sizeof(**argv));
	if (!*argv)
		return -1;
	json_array_foreach(a, i, x)
		(*argv)[i] = json_is_string(x) ? json_string_value(x) : "";
	t->argv = *argv;
	t->id = jint(j, "id");
	/* "assigned": running, held by its worker (start_time 0) */
	t->state = jstr(j, "state") && !strcmp(jstr(j, "state"), "assigned") ?
		CLUSTER_TASK_RUNNING :
		(enum cluster_task_state)cluster_task_state_parse(jstr(j, "state"));
	t->name = jstr(j, "name");
	if (!t->name)
		t->name = "";
	v = json_object_get(j, "index");
	if (json_is_integer(v)) {
		t->has_index = 1;
		t->index = json_integer_value(v);
	}
	t->cores = (unsigned)jint(j, "cores");
	t->memory = jint(j, "memory");
	t->gpus = (unsigned)jint(j, "gpus");
	t->time_limit = jint(j, "time_limit");
	t->attempts = (unsigned)jint(j, "attempts");
	t->failures = (unsigned)jint(j, "failures");
	v = json_object_get(j, "worker");
	t->worker = json_is_integer(v) ? (int)json_integer_value(v) : -1;
	t->worker_name = jstr(j, "worker_name");
	t->submit_time = jreal(j, "submit_time");
	t->start_time = jreal(j, "start_time");
	t->end_time = jreal(j, "end_time");
	v = json_object_get(j, "exit_code");
	if (json_is_integer(v) || json_is_number(json_object_get(j, "runtime"))) {
		t->has_result = 1;
		t->exit_code = json_is_integer(v) ? (int)json_integer_value(v) : -1;
		t->signal = (int)jint(j, "signal");
		t->runtime = jreal(j, "runtime");
		t->peak_memory = jint(j, "peak_memory");
	}
	t->reason = jstr(j, "reason");
	t->elapsed = jreal(j, "elapsed");
	return 0;
}

/* The paging loop of cluster_tasks and cluster_tasks_json: each task
 * goes to fn as a struct, or to jfn as its JSON text. */
static int64_t list_tasks(cluster_client_t *c, const struct cluster_task_filter *f,
			  cluster_task_fn fn, cluster_json_fn jfn, void *arg)
{
	static const struct cluster_task_filter all = { 0 };
	struct strbuf uri = STRBUF_INIT, states = STRBUF_INIT;
	uint64_t after, seen = 0;
	int stop = 0;

	if (!f)
		f = &all;
	after = f->after;
	for (int i = 0; i < CLUSTER_TASK_NSTATES; i++)
		if (f->states & (1u << i))
			strbuf_addf(&states, "%s%s%s", states.len ? "," : "",
				    state_names[i], i == CLUSTER_TASK_RUNNING ?
				    ",assigned" : "");
	while (!stop) {
		uint64_t want = PAGE_SIZE;
		json_t *page, *tasks, *x, *next;
		size_t i;

		if (f->limit && f->limit - seen < want)
			want = f->limit - seen;
		strbuf_reset(&uri);
		strbuf_addf(&uri, "/api/v1/tasks?after=%" PRIu64 "&limit=%" PRIu64,
			    after, want);
		if (states.len)
			add_param(&uri, "state", states.buf);
		if (f->name)
			add_param(&uri, "name", f->name);
		page = get_json(c, uri.buf, 0);
		if (!page) {
			seen = (uint64_t)-1;
			break;
		}
		tasks = json_object_get(page, "tasks");
		json_array_foreach(tasks, i, x) {
			struct cluster_task t;
			const char **argv = NULL;
			char *text = NULL;
			if (jfn ? !(text = json_dumps(x, JSON_COMPACT)) :
			    task_from_json(x, &t, &argv) < 0) {
				fail(c, "out of memory");
				json_decref(page);
				seen = (uint64_t)-1;
				goto out;
			}
			seen++;
			if (jfn)
				stop = jfn(text, arg);
			else
				stop = fn ? fn(&t, arg) : 0;
			free(argv);
			free(text);
			if (stop || (f->limit && seen >= f->limit)) {
				stop = 1;
				break;
			}
		}
		next = json_object_get(page, "next");
		if (!json_is_integer(next))
			stop = 1;
		else
			after = (uint64_t)json_integer_value(next);
		json_decref(page);
	}
out:
	strbuf_release(&uri);
	strbuf_release(&states);
	return seen == (uint64_t)-1 ? -1 : (int64_t)seen;
}

int64_t cluster_tasks(cluster_client_t *c, const struct cluster_task_filter *f,
		      cluster_task_fn fn, void *arg)
{
	return list_tasks(c, f, fn, NULL, arg);
}

int64_t cluster_tasks_json(cluster_client_t *c,
			   const struct cluster_task_filter *f,
			   cluster_json_fn fn, void *arg)
{
	return list_tasks(c, f, NULL, fn, arg);
}

const struct cluster_task *cluster_task_get(cluster_client_t *c, uint64_t id)
{
	char uri[64];
	json_t *j;

	release_held(c);
	snprintf(uri, sizeof(uri), "/api/v1/tasks/%" PRIu64, id);
	j = get_json(c, uri, 0);
	if (!j)
		return NULL;
	c->held = j;
	if (task_from_json(j, &c->held_task, &c->held_argv) < 0) {
		fail(c, "out of memory");
		return NULL;
	}
	return &c->held_task;
}

int cluster_cancel_report(cluster_client_t *c, const uint64_t *ids, size_t n,
			  struct cluster_cancel_result *out)
{
	struct idset set = IDSET_INIT;
	struct strbuf text = STRBUF_INIT;
	json_t *list = json_array(), *r;

	/* As ranges ("1-1000000"), not one number per id: the body stays
	 * small.  One string in the array, which every scheduler reads. */
	for (size_t i = 0; i < n; i++)
		idset_add(&set, ids[i], ids[i]);
	idset_normalize(&set);
	idset_format(&text, &set);
	if (text.len)
		json_array_append_new(list, json_string(text.buf));
	idset_release(&set);
	strbuf_release(&text);
	r = post_json(c, "/api/v1/cancel", json_pack("{s:o}", "ids", list));
	if (!r)
		return -1;
	release_held(c);
	c->held = r;
	memset(out, 0, sizeof(*out));
	out->cancelled = jint(r, "cancelled");
	out->already_ended = jint(r, "already_ended");
	/* A scheduler before "dependents" says nothing of them. */
	out->dependents = jint(r, "dependents");
	out->dependent_ids = jstr(r, "dependent_ids");
	if (!out->dependent_ids)
		out->dependent_ids = "";
	return 0;
}

int cluster_cancel(cluster_client_t *c, const uint64_t *ids, size_t n,
		   uint64_t *cancelled)
{
	struct cluster_cancel_result r;

	if (cluster_cancel_report(c, ids, n, &r) < 0)
		return -1;
	if (cancelled)
		*cancelled = r.cancelled;
	return 0;
}

/* ---- waiting ------------------------------------------------------------ */

static void sleep_for(double seconds)
{
	struct timespec ts = {
		.tv_sec = (time_t)seconds,
		.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9),
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int cluster_wait(cluster_client_t *c, const char *ids, double timeout,
		 double interval, cluster_progress_fn progress, void *arg,
		 struct cluster_wait_status *out)
{
	double deadline = timeout >= 0 ? clock_monotonic() + timeout : 0;
	struct strbuf uri = STRBUF_INIT;
	struct cluster_wait_status st;
	int rc = -1, polled = 0;

	if (interval <= 0)
		interval = 1;
	for (;;) {
		double chunk = progress ? interval : WAIT_CHUNK, step = chunk;
		json_t *j, *counts;
		long secs;

		if (timeout >= 0 && deadline - clock_monotonic() < chunk) {
			chunk = deadline - clock_monotonic();
			step = WAIT_STEP;
		}
		/* The API waits whole seconds: a long-poll of the seconds
		 * left, never rounded up past the deadline; under a second,
		 * sleeps between answers given at once (short ones near the
		 * deadline, the interval's otherwise). */
		if (chunk >= 1) {
			secs = (long)chunk;
		} else {
			secs = 0;
			if (chunk > 0 && polled)
				sleep_for(chunk < step ? chunk : step);
		}
		strbuf_reset(&uri);
		strbuf_addf(&uri, "/api/v1/wait?timeout=%ld", secs);
		if (ids && *ids)
			add_param(&uri, "ids", ids);
		j = get_json(c, uri.buf, (double)secs);
		if (!j)
			break;
		polled = 1;
		memset(&st, 0, sizeof(st));
		st.total = jint(j, "total");
		st.done = json_is_true(json_object_get(j, "done"));
		counts = json_object_get(j, "counts");
		for (int i = 0; i < CLUSTER_TASK_NSTATES; i++)
			st.state[i] = jint(counts, state_names[i]);
		st.assigned = jint(j, "assigned");
		json_decref(j);
		if (out)
			*out = st;
		if (progress)
			progress(&st, arg);
		if (st.done) {
			rc = 0;
			break;
		}
		if (timeout >= 0 && clock_monotonic() >= deadline) {
			rc = 1;
			break;
		}
	}
	strbuf_release(&uri);
	return rc;
}

/* ---- workers, counters, logs -------------------------------------------- */

static int list_workers(cluster_client_t *c, cluster_worker_fn fn,
			cluster_json_fn jfn, void *arg)
{
	json_t *j = get_json(c, "/api/v1/workers", 0), *x;
	size_t i;
	int n = 0;

	if (!j)
		return -1;
	json_array_foreach(json_object_get(j, "workers"), i, x) {
		if (jfn) {
			char *text = json_dumps(x, JSON_COMPACT);
			int stop;
			if (!text) {
				json_decref(j);
				return fail(c, "out of memory");
			}
			n++;
			stop = jfn(text, arg);
			free(text);
			if (stop)
				break;
			continue;
		}
		struct cluster_worker w = {
			.id = (int)jint(x, "id"),
			.name = jstr(x, "name") ? jstr(x, "name") : "",
			.cores = (unsigned)jint(x, "cores"),
			.cores_used = (unsigned)jint(x, "cores_used"),
			.memory = jint(x, "memory"),
			.memory_used = jint(x, "memory_used"),
			.running = (unsigned)jint(x, "running"),
			.done = jint(x, "done"),
			.alive = json_is_true(json_object_get(x, "alive")),
			.gpus = (unsigned)jint(x, "gpus"),
			.gpus_used = (unsigned)jint(x, "gpus_used"),
		};
		n++;
		if (fn && fn(&w, arg))
			break;
	}
	json_decref(j);
	return n;
}

int cluster_workers(cluster_client_t *c, cluster_worker_fn fn, void *arg)
{
	return list_workers(c, fn, NULL, arg);
}

int cluster_workers_json(cluster_client_t *c, cluster_json_fn fn, void *arg)
{
	return list_workers(c, NULL, fn, arg);
}

int cluster_counters(cluster_client_t *c, struct cluster_counters *out)
{
	json_t *j = get_json(c, "/api/v1/counters", 0), *states;

	if (!j)
		return -1;
	memset(out, 0, sizeof(*out));
	states = json_object_get(j, "states");
	for (int i = 0; i < CLUSTER_TASK_NSTATES; i++)
		out->state[i] = jint(states, state_names[i]);
	out->submitted = jint(j, "submitted");
	out->retried = jint(j, "retried");
	out->last_id = jint(j, "last_id");
	out->workers = jint(j, "workers");
	out->cores = jint(j, "cores");
	out->cores_used = jint(j, "cores_used");
	out->uptime = jreal(j, "uptime");
	json_decref(j);
	return 0;
}

char *cluster_actions_json(cluster_client_t *c, size_t *len)
{
	if (request(c, EVHTTP_REQ_GET, "/api/v1/actions", NULL, NULL, 0, 0) < 0)
		return NULL;
	return strbuf_detach(&c->resp, len);
}

char *cluster_log(cluster_client_t *c, uint64_t id, int stream, size_t *len)
{
	char uri[96];

	snprintf(uri, sizeof(uri), "/api/v1/tasks/%" PRIu64 "/log?stream=%s", id,
		 stream ? "stderr" : "stdout");
	if (request(c, EVHTTP_REQ_GET, uri, NULL, NULL, 0, 0) < 0)
		return NULL;
	return strbuf_detach(&c->resp, len);
}

/* ---- the pool --------------------------------------------------------- */

char *cluster_pool_status_json(cluster_client_t *c, size_t *len)
{
	if (request(c, EVHTTP_REQ_GET, "/api/v1/pool", NULL, NULL, 0, 0) < 0)
		return NULL;
	return strbuf_detach(&c->resp, len);
}

int cluster_scale(cluster_client_t *c, enum cluster_scale_unit unit,
		  uint64_t value, struct cluster_scale_result *out)
{
	static const char *const keys[] = { "workers", "jobs", "cores", "memory" };
	json_t *j;

	if ((unsigned)unit >= sizeof(keys) / sizeof(keys[0]) ||
	    value > (uint64_t)INT64_MAX)
		return fail(c, "scale: bad unit or size");
	j = post_json(c, "/api/v1/pool/scale",
		      json_pack("{s:I}", keys[unit], (json_int_t)value));
	if (!j)
		return -1;
	if (out) {
		out->workers = jint(j, "workers");
		out->jobs = jint(j, "jobs");
		out->workers_per_job = (unsigned)jint(j, "workers_per_job");
	}
	json_decref(j);
	return 0;
}

int cluster_adapt(cluster_client_t *c, unsigned min, unsigned max,
		  double idle_timeout, int in_jobs)
{
	json_t *body = json_pack("{s:I,s:I,s:b}", "min", (json_int_t)min,
				 "max", (json_int_t)max, "jobs", in_jobs != 0);
	json_t *j;

	if (idle_timeout > 0)
		json_object_set_new(body, "idle_timeout", json_real(idle_timeout));
	j = post_json(c, "/api/v1/pool/adapt", body);
	int rc = j ? 0 : -1;

	json_decref(j);
	return rc;
}

int cluster_adapt_off(cluster_client_t *c)
{
	json_t *j = post_json(c, "/api/v1/pool/adapt",
			      json_pack("{s:b}", "off", 1));

	int rc = j ? 0 : -1;

	json_decref(j);
	return rc;
}

int cluster_resume(cluster_client_t *c)
{
	json_t *j = post_json(c, "/api/v1/pool/resume", json_object());

	int rc = j ? 0 : -1;

	json_decref(j);
	return rc;
}

int cluster_journal_compact(cluster_client_t *c, uint64_t *size)
{
	json_t *j = post_json(c, "/api/v1/journal/compact", json_object());
	json_t *v = j ? json_object_get(j, "size") : NULL;

	if (size)
		*size = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
	json_decref(j);
	return j ? 0 : -1;
}
