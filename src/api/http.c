/*
 * http: replies, bodies, query parameters and routing for the API's route
 * files.  One evhttp callback takes every request: it finds the route
 * (405 with an Allow header when only the method is wrong), checks the
 * token when the route wants it, enforces the route's body cap, parses
 * the query string and calls the handler.  Whether a route needs the
 * token is a column of the table, so a public route is one more line.
 *
 * The same checks run first on the request head, before its body is
 * read (judge, called from conn.c): a request refused there costs no
 * body and never reaches the callback; the callback checks again all
 * the same, on evhttp's reading of the request.
 *
 * Two ways to show the token (cluster-api(7)): the bearer token itself,
 * for curl, or a Cluster-HMAC signature (proto/sign.h), which the CLI
 * and the C client send so that the token never leaves them.  A
 * signature's mac covers the method, the target, the body's length and
 * the hash the client declares for the body, so the head alone decides
 * whether it is good: its time, its nonce (a replay is refused) and its
 * mac are judged before a byte of body is read, as the bearer token is.
 * The one thing left for after the body is whether the body has the hash
 * that was signed; a mismatch is refused then, having cost a body at
 * most the route's cap, from someone who holds the token.
 */
#include "api/http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "api/conn.h"
#include "api/routes.h"
#include "proto/sign.h"
#include "util/clock.h"
#include "util/accept.h"
#include "util/idset.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/units.h"
#include "util/xalloc.h"

#define HEAD_TIMEOUT 10			/* seconds, defaults */
#define IDLE_TIMEOUT 30
#define MAX_CONNECTIONS 128
#define HEAD_MAX ((size_t)64 << 10)		/* request line and headers */

/* The answers that refuse a request, for the head and for the request. */
#define NO_ROUTE "no such resource '%s'"
#define NO_METHOD "method %s not allowed on '%s' (allowed: %s)"
#define NO_TOKEN "unauthorized: %s; send 'Authorization: Bearer TOKEN' " \
	"with the cluster's token, or sign the request (cluster-api(7))"
#define NO_BODY "request body: %s %s takes none"
#define TOO_LARGE "request body: larger than %zu bytes"

struct http {
	struct evhttp *evhttp;
	struct conns *conns;
	struct accept_guard *guard;	/* out of descriptors: back off */
	const struct http_route *routes;
	struct api *a;
	uint16_t port;
	char token[65];
	size_t token_len;
	struct sign_replay *replay;	/* nonces of recent signatures */
};

/* ---- replies ------------------------------------------------------------ */

void http_reply_json(struct evhttp_request *req, int code, json_t *j)
{
	struct evbuffer *out = evbuffer_new();
	char *text = json_dumps(j, JSON_COMPACT);

	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "application/json");
	if (text) {
		evbuffer_add(out, text, strlen(text));
		evbuffer_add(out, "\n", 1);
	}
	evhttp_send_reply(req, code, NULL, out);
	evbuffer_free(out);
	free(text);
	json_decref(j);
}

/* Length of the UTF-8 sequence at `s`, 0 when it is not one (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp, min;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Error texts quote what the client sent, which need not be UTF-8; a
 * JSON string must be.  Bytes that are not are written "\xHH". */
static void add_utf8(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_len(p);
		if (n) {
			strbuf_add(sb, p, n);
			p += n;
		} else {
			strbuf_addstr(sb, "\\x");
			strbuf_addch(sb, hex[*p >> 4]);
			strbuf_addch(sb, hex[*p & 0xf]);
			p++;
		}
	}
}

void http_reply_error(struct evhttp_request *req, int code,
		      const char *fmt, ...)
{
	struct strbuf text = STRBUF_INIT, json = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&text, fmt, ap);
	va_end(ap);
	add_utf8(&json, text.buf);
	http_reply_json(req, code, json_pack("{s:s}", "error", json.buf));
	strbuf_release(&text);
	strbuf_release(&json);
}

static const char *method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "?";
	}
}

/* ---- bodies and query parameters ---------------------------------------- */

json_t *http_body_json(struct http_call *c)
{
	json_error_t jerr;
	json_t *j;

	if (!c->body_len) {
		http_reply_error(c->req, 400, "request body: expected JSON, got nothing");
		return NULL;
	}
	j = json_loadb(c->body, c->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		http_reply_error(c->req, 400, "request body: invalid JSON at line %d column %d: %s",
				 jerr.line, jerr.column, jerr.text);
	return j;
}

int http_query_uint(struct http_call *c, const char *key, uint64_t min,
		    uint64_t max, uint64_t *out)
{
	const char *v = evhttp_find_header(&c->query, key);

	if (!v)
		return 0;
	if (count_parse(v, min, max, out) < 0) {
		http_reply_error(c->req, 400, "parameter '%s': expected an integer from %"
				 PRIu64 " to %" PRIu64 ", got '%s'", key, min, max, v);
		return -1;
	}
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key (in sorted order) given twice, else NULL.  A repeated key
 * would be ambiguous: handlers read one value per key. */
static const char *repeated_key(const struct evkeyvalq *q)
{
	const struct evkeyval *kv;
	const char **keys, *dup = NULL;
	size_t n = 0, i = 0;

	TAILQ_FOREACH(kv, q, next)
		n++;
	if (n < 2)
		return NULL;
	keys = xcalloc(n, sizeof(*keys));
	TAILQ_FOREACH(kv, q, next)
		keys[i++] = kv->key;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n && !dup; i++)
		if (!strcmp(keys[i - 1], keys[i]))
			dup = keys[i];
	free(keys);
	return dup;
}

/* ---- routing ------------------------------------------------------------ */

/* Does `path` match `pattern`?  A "#" segment takes a task id. */
static int route_match(const char *pattern, const char *path, task_id_t *id)
{
	while (*pattern && *path) {
		if (*pattern == '#') {
			const char *e;
			if (idset_scan_id(path, &e, id) < 0 || !*id)
				return 0;
			path = e;
			pattern++;
		} else if (*pattern++ != *path++) {
			return 0;
		}
	}
	return !*pattern && (!*path || !strcmp(path, "/"));
}

/* The route of `method` on `path`.  NULL when there is none, with the
 * methods the path does take in `allow` ("POST, GET"; empty: none). */
static const struct http_route *route_find(const struct http *h,
					   enum evhttp_cmd_type method,
					   const char *path, task_id_t *id,
					   struct strbuf *allow)
{
	for (const struct http_route *r = h->routes; r->pattern; r++) {
		*id = 0;
		if (!route_match(r->pattern, path, id))
			continue;
		if (r->method == method)
			return r;
		strbuf_addf(allow, "%s%s", allow->len ? ", " : "",
			    method_name(r->method));
	}
	return NULL;
}

/* Is `v`, an Authorization header (NULL: none), the token? */
static int token_ok(const struct http *h, const char *v, struct err *why)
{
	if (!v)
		return errprintf(why, "no token"), 0;
	if (strncasecmp(v, "Bearer ", 7))
		return errprintf(why, "not a bearer token or a signature"), 0;
	v += 7;
	while (*v == ' ')
		v++;
	if (strlen(v) != h->token_len || CRYPTO_memcmp(v, h->token, h->token_len))
		return errprintf(why, "wrong token"), 0;
	return 1;
}

/* May the request with Authorization `v` through?  0 when it may; else
 * the status to answer (401; 503 while the replay cache is full) and
 * the reason in `why`.  At the head (body NULL) a signature's time and
 * nonce are judged and the nonce recorded; after the body, its hash. */
static int auth_check(struct http *h, const char *v, const char *method,
		      const char *target, uint64_t length, const char *body,
		      size_t body_len, struct err *why)
{
	struct sign_auth sa;
	char hash[SIGN_HEX + 1];
	int64_t now = (int64_t)clock_wall();
	int rc;

	if (!sign_is_signed(v))
		return token_ok(h, v, why) ? 0 : 401;
	if (sign_parse(v, &sa, why) < 0)
		return 401;
	/* After the body the time was judged already, with the head: a
	 * slow body does not make a good signature late. */
	if (sign_verify(h->token, method, target, length, &sa, body ? sa.ts : now,
			why) < 0)
		return 401;
	if (body) {
		sign_body_hash(body, body_len, hash);
		if (strcmp(hash, sa.body_hash))
			return errprintf(why, "the body is not the one signed"), 401;
		return 0;
	}
	rc = sign_replay_add(h->replay, &sa, now);
	if (rc == -1)
		return errprintf(why, "signature replayed (nonce %s seen)", sa.nonce),
			401;
	if (rc == -2)
		return errprintf(why, "too many signed requests in the last %d s; "
				 "try again later", SIGN_WINDOW), 503;
	return 0;
}

void http_auth_challenge(struct http_call *c)
{
	struct http *h = c->a->http;
	const char *cnonce = evhttp_find_header(&c->query, "nonce");
	char snonce[SIGN_NONCE_HEX + 1], proof[SIGN_HEX + 1];

	if (!cnonce || strlen(cnonce) != SIGN_NONCE_HEX ||
	    strspn(cnonce, "0123456789abcdef") != SIGN_NONCE_HEX) {
		http_reply_error(c->req, 400, "parameter 'nonce': expected %d lowercase "
				 "hex digits", SIGN_NONCE_HEX);
		return;
	}
	if (sign_nonce(snonce) < 0) {
		http_reply_error(c->req, 500, "cannot draw a nonce");
		return;
	}
	sign_proof(h->token, h->port, cnonce, snonce, proof);
	http_reply_json(c->req, 200, json_pack("{s:s,s:s,s:i,s:s,s:I}", "scheme",
					       SIGN_SCHEME, "nonce", snonce,
					       "port", (int)h->port, "proof", proof,
					       "time", (json_int_t)clock_wall()));
}

/* Long enough for any route and its query, short enough for one line. */
#define LOG_URI_MAX 256

static void log_refused(const char *method, const char *target,
			const char *peer, const char *why)
{
	struct strbuf m = STRBUF_INIT, t = STRBUF_INIT, p = STRBUF_INIT;

	log_escape(&m, method, 16);
	log_escape(&t, target, LOG_URI_MAX);
	log_escape(&p, peer, LOG_URI_MAX);
	log_msg(LOG_WARNING, "api: refused '%s %s' from %s: %s", m.buf, t.buf,
		p.buf, why);
	strbuf_release(&m);
	strbuf_release(&t);
	strbuf_release(&p);
}

/* A request head, before its body is read (conn.c): whatever handle()
 * would refuse without looking at the body is refused here, so that no
 * body is read for nothing, least of all a stranger's. */
static int judge(void *arg, const struct conn_head *hd, struct conn_refusal *rf)
{
	struct http *h = arg;
	const struct http_route *r;
	struct err why = { "" };
	task_id_t id;
	int code;

	r = route_find(h, hd->method, hd->path, &id, &rf->allow);
	if (!r && rf->allow.len) {
		rf->code = 405;
		strbuf_addf(&rf->text, NO_METHOD, hd->method_name, hd->path,
			    rf->allow.buf);
	} else if (!r) {
		rf->code = 404;
		strbuf_addf(&rf->text, NO_ROUTE, hd->path);
	} else if (r->auth == HTTP_TOKEN &&
		   (code = auth_check(h, hd->authorization, hd->method_name,
				      hd->target, hd->length, NULL, 0, &why))) {
		log_refused(hd->method_name, hd->target, hd->peer, why.text);
		rf->code = code;
		strbuf_addf(&rf->text, NO_TOKEN, why.text);
	} else if (r->max_body == 0 && (hd->length || hd->chunked)) {
		rf->code = 400;
		strbuf_addf(&rf->text, NO_BODY, method_name(r->method), r->pattern);
	} else if (hd->chunked) {
		rf->code = 411;
		strbuf_addstr(&rf->text, "request body: send it with a Content-Length, "
			      "not chunked");
	} else if (hd->length > r->max_body) {
		rf->code = 413;
		strbuf_addf(&rf->text, TOO_LARGE, r->max_body);
	} else {
		return 0;
	}
	return -1;
}

static void handle(struct evhttp_request *req, void *arg)
{
	struct http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	const struct http_route *match;
	struct http_call c = { .a = h->a, .req = req };
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct strbuf allow = STRBUF_INIT;
	struct err why = { "" };
	const char *dup;
	int code;

	TAILQ_INIT(&c.query);
	if (conns_take(h->conns, req))
		return;
	/* conn.c judged the head already; what follows holds either way. */
	if (!path)
		path = "";
	match = route_find(h, method, path, &c.id, &allow);
	if (!match) {
		if (allow.len) {
			evhttp_add_header(out, "Allow", allow.buf);
			http_reply_error(req, 405, NO_METHOD, method_name(method),
					 path, allow.buf);
		} else {
			http_reply_error(req, 404, NO_ROUTE, path);
		}
		goto out;
	}
	c.body_len = evbuffer_get_length(in);
	if (c.body_len > match->max_body) {
		if (match->max_body == 0)
			http_reply_error(req, 400, NO_BODY, method_name(method),
					 match->pattern);
		else
			http_reply_error(req, 413, TOO_LARGE, match->max_body);
		goto out;
	}
	c.body = c.body_len ? (const char *)evbuffer_pullup(in, -1) : "";
	if (match->auth == HTTP_TOKEN &&
	    (code = auth_check(h, evhttp_find_header(evhttp_request_get_input_headers(req),
						     "Authorization"),
			       method_name(method), evhttp_request_get_uri(req),
			       c.body_len, c.body, c.body_len, &why))) {
		struct evhttp_connection *conn = evhttp_request_get_connection(req);
		struct strbuf peer = STRBUF_INIT;
		char *host = NULL;
		ev_uint16_t port = 0;
		if (conn)
			evhttp_connection_get_peer(conn, &host, &port);
		strbuf_addf(&peer, "%s:%u", host ? host : "?", port);
		log_refused(method_name(method), evhttp_request_get_uri(req),
			    peer.buf, why.text);
		strbuf_release(&peer);
		if (code == 401)
			evhttp_add_header(out, "WWW-Authenticate", "Bearer");
		http_reply_error(req, code, NO_TOKEN, why.text);
		goto out;
	}
	if (query && evhttp_parse_query_str(query, &c.query) < 0) {
		http_reply_error(req, 400, "query string: cannot parse '%s'", query);
		goto out;
	}
	if ((dup = repeated_key(&c.query))) {
		http_reply_error(req, 400, "parameter '%s': given more than once", dup);
		goto out;
	}
	match->fn(&c);
out:
	evhttp_clear_headers(&c.query);
	strbuf_release(&allow);
}

void http_on_close(struct http *h, struct evhttp_request *req,
		   void (*fn)(void *), void *arg)
{
	conns_on_close(h->conns, req, fn, arg);
}

/* ---- life cycle --------------------------------------------------------- */

struct http *http_create(struct event_base *base,
			 const struct http_route *routes, struct api *a,
			 const struct api_config *cfg, struct err *err)
{
	struct http *h = xcalloc(1, sizeof(*h));
	const char *bind = cfg->bind ? cfg->bind : "127.0.0.1";
	struct conn_limits lim = {
		.head_timeout = cfg->head_timeout ? cfg->head_timeout : HEAD_TIMEOUT,
		.max_connections = cfg->max_connections ? cfg->max_connections :
				   MAX_CONNECTIONS,
		.head_max = HEAD_MAX,
	};
	struct evhttp_bound_socket *sock;
	size_t max_body = 0;

	for (const struct http_route *r = routes; r->pattern; r++)
		if (r->max_body > max_body)
			max_body = r->max_body;
	h->routes = routes;
	h->a = a;
	snprintf(h->token, sizeof(h->token), "%s", cfg->token);
	h->token_len = strlen(h->token);
	h->replay = sign_replay_create();
	if (!h->replay) {
		errprintf(err, "out of memory");
		goto fail;
	}
	h->evhttp = evhttp_new(base);
	if (!h->evhttp) {
		errprintf(err, "cannot create the HTTP server");
		goto fail;
	}
	h->conns = conns_create(base, h->evhttp, &lim, judge, h);
	/* Idle: between requests, and while a body is read or an answer
	 * written; evhttp does not read while a handler holds a request. */
	evhttp_set_timeout(h->evhttp, (int)(cfg->idle_timeout ? cfg->idle_timeout :
					    IDLE_TIMEOUT));
	evhttp_set_max_headers_size(h->evhttp, (ev_ssize_t)HEAD_MAX);
	evhttp_set_max_body_size(h->evhttp, (ev_ssize_t)max_body);
	evhttp_set_allowed_methods(h->evhttp, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
				   EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
				   EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
				   EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(h->evhttp, handle, h);
	sock = evhttp_bind_socket_with_handle(h->evhttp, bind, cfg->port);
	/* A port another program holds (8787 is Dask's too): any free one,
	 * which the address file then names. */
	if (!sock && errno == EADDRINUSE && cfg->port && cfg->port_fallback)
		sock = evhttp_bind_socket_with_handle(h->evhttp, bind, 0);
	if (!sock) {
		errprintf(err, "cannot listen on '%s' port %u: %s", bind,
			  (unsigned)cfg->port, strerror(errno));
		goto fail;
	}
	conns_listener(h->conns, evhttp_bound_socket_get_listener(sock));
	h->guard = accept_guard_create(base,
				       evhttp_bound_socket_get_listener(sock),
				       "HTTP port", conns_accepting, h->conns);
	if (!h->guard) {
		errprintf(err, "out of memory");
		goto fail;
	}
	{
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		evutil_socket_t fd = evhttp_bound_socket_get_fd(sock);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
			if (ss.ss_family == AF_INET)
				h->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			else if (ss.ss_family == AF_INET6)
				h->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
	}
	return h;
fail:
	http_destroy(h);
	return NULL;
}

void http_destroy(struct http *h)
{
	if (!h)
		return;
	accept_guard_destroy(h->guard);	/* before evhttp_free frees the
					   listener */
	if (h->conns)
		conns_listener(h->conns, NULL);	/* evhttp_free frees it */
	if (h->evhttp)
		evhttp_free(h->evhttp);
	conns_destroy(h->conns);
	OPENSSL_cleanse(h->token, sizeof(h->token));
	sign_replay_destroy(h->replay);
	free(h);
}

uint16_t http_port(const struct http *h)
{
	return h->port;
}
