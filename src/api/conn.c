/*
 * conn: every HTTP connection of the API, its request heads judged before
 * evhttp reads a byte of a body.
 *
 * Why.  evhttp reads a whole request, body included, before it calls the
 * server; libevent 2.1 has no hook in between on the server side (the
 * header callback can only be set on a request the server already has;
 * evhttp_set_newreqcb, which would hand it over earlier, and
 * evhttp_set_max_connections came with 2.2).  So anyone who can reach the
 * port could make the scheduler hold the largest body cap (64 MiB) per
 * connection before the token is even looked at.
 *
 * How.  The bufferevent of each connection is made here (evhttp_set_bevcb)
 * and a callback on its input buffer sees the bytes as they are read,
 * before evhttp does:
 *
 *  - A request head (request line and headers) is held back from evhttp
 *    until it is complete: at most head_max bytes, within head_timeout
 *    seconds of its first byte (else 431, 408).
 *  - The complete head goes to the judge (http.c: the route, the token,
 *    the body cap).  A head that passes reaches evhttp as it came, then
 *    exactly Content-Length bytes of body; the next head is held back in
 *    turn.  A chunked body is not taken: its end is not known here.
 *  - A refused head never reaches evhttp.  evhttp gets a stand-in request
 *    (REFUSED_PATH, which no route has) and conns_take answers it
 *    with the refusal.  The body the client goes on sending is read and
 *    dropped, then the connection is closed: closing with unread bytes
 *    would reset it and the client might never see the answer.  The
 *    dropping lasts head_timeout seconds at most.
 *  - At max_connections the listener stops accepting: further clients
 *    wait in the kernel's queue, not in the scheduler's memory.
 *
 * evhttp gives its connection object as the bufferevent callbacks'
 * argument; it is read from there (bufferevent_getcb) once evhttp has set
 * them, just after the accept and before any read, to hook the close
 * callback that tells when a connection is gone.
 */
#include "api/conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "api/http.h"
#include "util/xalloc.h"

#define UNBOUNDED UINT64_MAX
#define REFUSED_PATH "/.refused"	/* no route, so no head that passes */
#define STANDIN "GET " REFUSED_PATH " HTTP/1.1\r\n\r\n"

enum conn_state {
	CONN_HEAD,			/* holding a head back */
	CONN_BODY,			/* passing `left` bytes of body */
	CONN_DROP,			/* refused: dropping what comes */
};

enum conn_timer {
	T_NONE,
	T_ADOPT,			/* evhttp has set the callbacks */
	T_HEAD,				/* the head is late */
	T_LINGER,			/* a refused body is late */
	T_CLOSE,			/* now */
};

struct conn {
	struct conns *cs;
	struct bufferevent *bev;
	struct evhttp_connection *evcon;	/* NULL until adopted */
	struct evbuffer_cb_entry *watch;
	struct event *timer;
	enum conn_timer timer_what;
	struct evbuffer *head;		/* the head held back */
	struct evbuffer *fresh;		/* bytes just read, to sort out */
	struct evbuffer *front;		/* scratch */
	size_t scanned;			/* complete lines at the start of head */
	enum conn_state state;
	uint64_t left;			/* BODY: to pass; DROP: to drop */
	int busy;			/* the input changes by our hand */
	unsigned inflight;		/* requests handed over, not answered */
	int refused;			/* a refusal waits for its stand-in */
	int answered;			/* ... and was written */
	int close_on_answer;
	struct conn_refusal refusal;
	char peer[80];
	void (*on_close)(void *);
	void *on_close_arg;
	struct conn *next, *prev;
};

struct conns {
	struct event_base *base;
	struct conn_limits lim;
	conn_judge_fn judge;
	void *arg;
	struct evconnlistener *lev;
	int paused;
	unsigned n;
	struct conn *list;
};

static void arm(struct conn *c, enum conn_timer what, unsigned secs)
{
	struct timeval tv = { (time_t)secs, 0 };

	evtimer_del(c->timer);
	c->timer_what = what;
	if (what != T_NONE)
		evtimer_add(c->timer, &tv);
}

/* ---- life cycle --------------------------------------------------------- */

static void conn_free(struct conn *c)
{
	struct conns *cs = c->cs;

	if (c->prev)
		c->prev->next = c->next;
	else
		cs->list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	cs->n--;
	if (cs->paused && cs->lev && cs->n < cs->lim.max_connections) {
		evconnlistener_enable(cs->lev);
		cs->paused = 0;
	}
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
	if (!c->evcon)
		bufferevent_decref(c->bev);
	event_free(c->timer);
	evbuffer_free(c->head);
	evbuffer_free(c->fresh);
	evbuffer_free(c->front);
	strbuf_release(&c->refusal.text);
	strbuf_release(&c->refusal.allow);
	free(c);
}

/* evhttp frees the connection (the peer left, a timeout, evhttp_free). */
static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;

	(void)evcon;
	if (c->on_close)
		c->on_close(c->on_close_arg);
	conn_free(c);
}

/* Close it ourselves. */
static void conn_drop(struct conn *c)
{
	struct evhttp_connection *evcon = c->evcon;

	if (!evcon) {
		conn_free(c);
		return;
	}
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	if (c->on_close)
		c->on_close(c->on_close_arg);
	conn_free(c);
	evhttp_connection_free(evcon);
}

static void adopt(struct conn *c)
{
	bufferevent_event_cb eventcb = NULL;
	void *arg = NULL;
	char *host = NULL;
	ev_uint16_t port = 0;

	if (c->evcon)
		return;
	if (c->timer_what == T_ADOPT)
		arm(c, T_NONE, 0);
	bufferevent_getcb(c->bev, NULL, NULL, &eventcb, &arg);
	if (!eventcb) {
		/* evhttp gave up on it already (out of memory). */
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		conn_free(c);
		return;
	}
	c->evcon = arg;
	evhttp_connection_set_closecb(c->evcon, conn_closed, c);
	evhttp_connection_get_peer(c->evcon, &host, &port);
	snprintf(c->peer, sizeof(c->peer), "%s:%u", host ? host : "?", port);
	bufferevent_decref(c->bev);
}

static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info,
		     void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);

/* evhttp's bevcb: one new connection. */
static struct bufferevent *conn_new(struct event_base *base, void *arg)
{
	struct conns *cs = arg;
	struct conn *c = xcalloc(1, sizeof(*c));

	c->cs = cs;
	c->bev = bufferevent_socket_new(base, -1, 0);
	c->timer = evtimer_new(base, on_timer, c);
	c->head = evbuffer_new();
	c->fresh = evbuffer_new();
	c->front = evbuffer_new();
	/* NULL would have evhttp make its own, unguarded: abort as xalloc
	 * does on a failed allocation. */
	if (!c->bev || !c->timer || !c->head || !c->fresh || !c->front)
		abort();
	c->watch = evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
	if (!c->watch)
		abort();
	strbuf_init(&c->refusal.text, 0);
	strbuf_init(&c->refusal.allow, 0);
	snprintf(c->peer, sizeof(c->peer), "?");
	/* Ours until adopted, in case evhttp frees it first. */
	bufferevent_incref(c->bev);
	c->next = cs->list;
	if (c->next)
		c->next->prev = c;
	cs->list = c;
	if (++cs->n >= cs->lim.max_connections && cs->lim.max_connections &&
	    cs->lev && !cs->paused) {
		evconnlistener_disable(cs->lev);
		cs->paused = 1;
	}
	/* Active now, so it runs on this loop turn, before any read. */
	c->timer_what = T_ADOPT;
	event_active(c->timer, EV_TIMEOUT, 1);
	return c->bev;
}

/* ---- refusals ----------------------------------------------------------- */

/* The stand-in of a refused head goes to evhttp; what the client sends
 * after it is dropped, `left` bytes (UNBOUNDED: until the deadline). */
static void refuse(struct conn *c, uint64_t left, int close_on_answer)
{
	c->state = CONN_DROP;
	c->left = left;
	c->refused = 1;
	c->answered = 0;
	c->close_on_answer = close_on_answer || left == 0;
	c->scanned = 0;
	arm(c, T_LINGER, c->cs->lim.head_timeout);
}

static void refusal_set(struct conn *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refusal_set(struct conn *c, int code, const char *fmt, ...)
{
	va_list ap;

	c->refusal.code = code;
	strbuf_reset(&c->refusal.text);
	strbuf_reset(&c->refusal.allow);
	va_start(ap, fmt);
	strbuf_vaddf(&c->refusal.text, fmt, ap);
	va_end(ap);
}

/* The head is late: answer 408 unless a request is being answered, whose
 * answer would come first. */
static void head_late(struct conn *c)
{
	struct bufferevent *bev = c->bev;

	if (c->inflight || !c->evcon) {
		conn_drop(c);
		return;
	}
	refusal_set(c, 408, "request head: not complete within %u seconds",
		    c->cs->lim.head_timeout);
	evbuffer_drain(c->head, evbuffer_get_length(c->head));
	refuse(c, UNBOUNDED, 1);
	/* Outside a read: evhttp has consumed all it was given, and it reads
	 * the stand-in when told.  `c` may be gone after that. */
	c->busy = 1;
	evbuffer_prepend(bufferevent_get_input(bev), STANDIN, strlen(STANDIN));
	c->busy = 0;
	bufferevent_trigger(bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	enum conn_timer t = c->timer_what;

	(void)fd;
	(void)what;
	c->timer_what = T_NONE;
	switch (t) {
	case T_ADOPT:
		adopt(c);
		break;
	case T_HEAD:
		head_late(c);
		break;
	case T_LINGER:
	case T_CLOSE:
		conn_drop(c);
		break;
	case T_NONE:
		break;
	}
}

static void refusal_answered(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;

	(void)req;
	c->answered = 1;
	if (!c->close_on_answer && c->left == 0)
		arm(c, T_CLOSE, 0);
}

static void request_answered(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;

	(void)req;
	if (c->inflight)
		c->inflight--;
}

/* ---- heads -------------------------------------------------------------- */

/* Where the complete head in c->head ends (after its blank line), 0 while
 * it is not complete.  Blank lines before a request line are dropped
 * (RFC 9112 2.2); lines end as evhttp ends them, LF or CRLF. */
static size_t head_end(struct conn *c)
{
	for (;;) {
		struct evbuffer_ptr p, e;
		size_t eol = 0;

		if (c->scanned >= evbuffer_get_length(c->head) ||
		    evbuffer_ptr_set(c->head, &p, c->scanned, EVBUFFER_PTR_SET) < 0)
			return 0;
		e = evbuffer_search_eol(c->head, &p, &eol, EVBUFFER_EOL_CRLF);
		if (e.pos < 0)
			return 0;
		if ((size_t)e.pos == c->scanned) {
			if (c->scanned)
				return c->scanned + eol;
			evbuffer_drain(c->head, eol);
			continue;
		}
		c->scanned = (size_t)e.pos + eol;
	}
}

/* Judge the complete head `text` of `len` bytes (head.c reads it); 0
 * when it may pass.  Else the refusal is set and *drop says how much
 * body to drop. */
static int judge_head(struct conn *c, char *text, size_t len, uint64_t *drop)
{
	struct conn_head h = { .peer = c->peer };
	struct evhttp_uri *uri = NULL;
	int expect = 0, rc = -1;

	*drop = UNBOUNDED;
	strbuf_reset(&c->refusal.text);
	strbuf_reset(&c->refusal.allow);
	/* head.c reads a string; evhttp would read past the NUL */
	if (memchr(text, '\0', len)) {
		refusal_set(c, 400, "request head: a NUL byte");
		return -1;
	}
	if (head_parse(text, &h, &expect, &c->refusal.text) < 0) {
		c->refusal.code = 400;
		return -1;
	}
	uri = evhttp_uri_parse_with_flags(h.target, EVHTTP_URI_NONCONFORMANT);
	h.path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!h.path) {
		refusal_set(c, 400, "request target: cannot parse '%s'", h.target);
		goto out;
	}
	/* A client that waits for 100 Continue sends no body when refused. */
	if (!h.chunked)
		*drop = expect ? 0 : h.length;
	c->refusal.code = 0;
	rc = c->cs->judge(c->cs->arg, &h, &c->refusal);
	if (rc == 0 && h.chunked) {
		/* Where a chunked body ends is evhttp's to find: not taken. */
		refusal_set(c, 411, "request body: send it with a Content-Length, "
			    "not chunked");
		rc = -1;
	}
	if (rc == 0)
		*drop = h.length;	/* there, what to pass */
out:
	if (uri)
		evhttp_uri_free(uri);
	return rc;
}

/* c->fresh holds bytes of a head: add them to c->head and, once it is
 * complete, judge it.  1 when the head was dealt with (what followed it is
 * back in c->fresh), 0 when more bytes are needed. */
static int head_add(struct conn *c, struct evbuffer *in)
{
	size_t end, len;
	uint64_t n;
	char *text;

	if (c->timer_what != T_HEAD)
		arm(c, T_HEAD, c->cs->lim.head_timeout);
	evbuffer_add_buffer(c->head, c->fresh);
	end = head_end(c);
	len = evbuffer_get_length(c->head);
	if ((!end && len > c->cs->lim.head_max) || end > c->cs->lim.head_max) {
		refusal_set(c, 431, "request head: larger than %zu bytes",
			    c->cs->lim.head_max);
		evbuffer_drain(c->head, len);
		refuse(c, UNBOUNDED, 0);
		evbuffer_add(in, STANDIN, strlen(STANDIN));
		return 1;
	}
	if (!end)
		return 0;
	/* A copy to judge (it is cut up); the bytes themselves go on. */
	text = xmalloc(end + 1);
	evbuffer_copyout(c->head, text, end);
	text[end] = '\0';
	c->scanned = 0;
	if (judge_head(c, text, end, &n) == 0) {
		evbuffer_remove_buffer(c->head, in, end);
		arm(c, T_NONE, 0);
		c->state = n ? CONN_BODY : CONN_HEAD;
		c->left = n;
	} else {
		evbuffer_drain(c->head, end);
		refuse(c, n, 0);
		evbuffer_add(in, STANDIN, strlen(STANDIN));
	}
	/* What followed the head, sorted out by the new state. */
	evbuffer_add_buffer(c->fresh, c->head);
	free(text);
	return 1;
}

/* Sort out c->fresh by state: body to evhttp, heads held, refused bytes
 * dropped. */
static void feed(struct conn *c, struct evbuffer *in)
{
	while (evbuffer_get_length(c->fresh)) {
		size_t len = evbuffer_get_length(c->fresh), m;

		switch (c->state) {
		case CONN_BODY:
			m = c->left < len ? (size_t)c->left : len;
			evbuffer_remove_buffer(c->fresh, in, m);
			c->left -= m;
			if (!c->left)
				c->state = CONN_HEAD;
			break;
		case CONN_DROP:
			evbuffer_drain(c->fresh, len);
			if (c->left != UNBOUNDED)
				c->left = c->left > len ? c->left - len : 0;
			if (!c->left && c->answered && !c->close_on_answer)
				arm(c, T_CLOSE, 0);
			break;
		case CONN_HEAD:
			if (!head_add(c, in))
				return;
			break;
		}
	}
}

/* Move the last n bytes of `in` to `out`, the others staying. */
static void take_tail(struct conn *c, struct evbuffer *in, size_t n,
		      struct evbuffer *out)
{
	size_t len = evbuffer_get_length(in);

	if (n < len) {
		evbuffer_remove_buffer(in, c->front, len - n);
		evbuffer_add_buffer(out, in);
		evbuffer_add_buffer(in, c->front);
	} else {
		evbuffer_add_buffer(out, in);
	}
}

/* The input buffer changed; n_added bytes were just read off the socket,
 * and evhttp has not seen them yet. */
static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info,
		     void *arg)
{
	struct conn *c = arg;
	size_t n = info->n_added;

	if (c->busy || !n)
		return;
	adopt(c);		/* in case the read came first */
	c->busy = 1;
	if (c->state == CONN_BODY && n <= c->left) {
		/* The bulk of a large body: where it is, it is evhttp's. */
		c->left -= n;
		if (!c->left)
			c->state = CONN_HEAD;
	} else {
		take_tail(c, in, n, c->fresh);
		feed(c, in);
	}
	c->busy = 0;
}

/* ---- what http.c calls -------------------------------------------------- */

struct conns *conns_create(struct event_base *base, struct evhttp *evhttp,
			   const struct conn_limits *lim, conn_judge_fn judge,
			   void *arg)
{
	struct conns *cs = xcalloc(1, sizeof(*cs));

	cs->base = base;
	cs->lim = *lim;
	cs->judge = judge;
	cs->arg = arg;
	evhttp_set_bevcb(evhttp, conn_new, cs);
	return cs;
}

void conns_listener(struct conns *cs, struct evconnlistener *lev)
{
	cs->lev = lev;
	cs->paused = 0;
}

int conns_accepting(void *arg)
{
	const struct conns *cs = arg;

	return !cs->paused;
}

void conns_destroy(struct conns *cs)
{
	if (!cs)
		return;
	while (cs->list)
		conn_free(cs->list);
	free(cs);
}

static struct conn *find(struct conns *cs, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) :
				  NULL;

	for (struct conn *c = cs->list; c && bev; c = c->next)
		if (c->bev == bev)
			return c;
	return NULL;
}

int conns_take(struct conns *cs, struct evhttp_request *req)
{
	struct conn *c = find(cs, req);
	const char *target = evhttp_request_get_uri(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	if (!target || strcmp(target, REFUSED_PATH)) {
		if (c) {
			c->inflight++;
			evhttp_request_set_on_complete_cb(req, request_answered, c);
		}
		return 0;
	}
	/* No head names the stand-in's path and passes: this is one. */
	if (!c || !c->refused) {
		http_reply_error(req, 404, "no such resource '%s'", target);
		return 1;
	}
	c->refused = 0;
	if (c->refusal.code == 401)
		evhttp_add_header(out, "WWW-Authenticate", "Bearer");
	if (c->refusal.allow.len)
		evhttp_add_header(out, "Allow", c->refusal.allow.buf);
	if (c->close_on_answer)
		evhttp_add_header(out, "Connection", "close");
	evhttp_request_set_on_complete_cb(req, refusal_answered, c);
	http_reply_error(req, c->refusal.code, "%s", c->refusal.text.buf);
	return 1;
}

void conns_on_close(struct conns *cs, struct evhttp_request *req,
		    void (*fn)(void *), void *arg)
{
	struct conn *c = find(cs, req);

	if (c) {
		c->on_close = fn;
		c->on_close_arg = arg;
	}
}
