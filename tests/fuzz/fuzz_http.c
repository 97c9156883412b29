/*
 * fuzz_http: the API's HTTP request path, head judging (conn.c, head.c)
 * to the route table's handlers (api.c), in process.
 *
 * The API is made as the server makes it (api_create, a real evhttp on
 * a libevent loop here), listening on 127.0.0.1 on a port of its own
 * choosing; the handlers of the route table are stand-ins (the link
 * wraps them: -Wl,--wrap=tasks_submit, ...) that note the call and
 * answer 200.  libevent 2.1 takes connections only from a listener, so
 * the input goes over one loopback connection: its bytes up to the end
 * of the first head (the first blank line), the loop run until nothing
 * moves, then the rest, then the end of input.  An input naming HEAD is
 * skipped: an answer to HEAD has no body, and this side does not read
 * the requests to know which answer is one.
 *
 * Oracles, beyond "does not crash":
 *   - a handler runs only for a request whose Authorization, as evhttp
 *     read it, is "Bearer " and the token, each such call consuming one
 *     of the token's occurrences in the input, with a body within the
 *     route's cap;
 *   - every answer is one JSON object: 2xx from a handler, one per call,
 *     and nothing else but 4xx (and 100 Continue, with no body);
 *   - a first head whose Content-Length is above every cap its target
 *     could have is answered, not 2xx, before a byte of its body is sent;
 *   - the same bytes twice give the same answers, and the head parser
 *     reads the first head the same twice.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "api/api.h"
#include "api/conn.h"
#include "api/http.h"
#include "util/strbuf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOKEN "0123456789abcdef0123456789abcdef"
/* The caps of api.c's table, as cluster-api(7) gives them. */
#define CAP_TASKFILE ((uint64_t)64 << 20)
#define CAP_JSON ((uint64_t)1 << 20)

static struct event_base *base;
static struct api *api;
static uint16_t port;
static unsigned calls;			/* handler calls in this exchange */

static void fail(const char *what, const char *detail,
		 const struct strbuf *answers)
{
	fprintf(stderr, "fuzz_http: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	if (answers)
		fprintf(stderr, "--- answers ---\n%.4000s\n--- end ---\n",
			answers->buf);
	abort();
}

/* --- the stand-in handlers ------------------------------------------------ */

static void handled(struct http_call *c, const char *name, uint64_t cap)
{
	const char *auth = evhttp_find_header(
		evhttp_request_get_input_headers(c->req), "Authorization");

	if (!auth || strncasecmp(auth, "Bearer ", 7))
		fail("a handler ran without a bearer token", name, NULL);
	auth += 7;
	while (*auth == ' ')
		auth++;
	if (strcmp(auth, TOKEN))
		fail("a handler ran without the token", name, NULL);
	if (c->body_len > cap)
		fail("a handler got a body above its route's cap", name, NULL);
	calls++;
	http_reply_json(c->req, 200, json_pack("{s:s,s:I}", "handler", name,
					       "body", (json_int_t)c->body_len));
}

#define STANDIN(fn, cap) \
	void __wrap_##fn(struct http_call *c); \
	void __wrap_##fn(struct http_call *c) { handled(c, #fn, cap); }

STANDIN(tasks_submit, CAP_JSON)
STANDIN(tasks_batch, CAP_TASKFILE)
STANDIN(tasks_list, 0)
STANDIN(tasks_show, 0)
STANDIN(tasks_cancel, CAP_JSON)
STANDIN(tasks_cancel_many, CAP_JSON)
STANDIN(tasks_log, 0)
STANDIN(wait_tasks, 0)
STANDIN(workers_list, 0)
STANDIN(workers_counters, 0)

/* --- set-up --------------------------------------------------------------- */

static void cleanup(void)
{
	api_destroy(api);
	event_base_free(base);
	libevent_global_shutdown();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct api_config cfg = {
		.bind = "127.0.0.1",
		.token = TOKEN,
		.head_timeout = 30,
		.idle_timeout = 60,
	};
	struct err err;

	(void)argc;
	(void)argv;
	base = event_base_new();
	api = base ? api_create(base, NULL, &cfg, &err) : NULL;
	if (!api) {
		fprintf(stderr, "fuzz_http: %s\n", base ? err.text : "no event base");
		abort();
	}
	port = api_port(api);
	atexit(cleanup);
	return 0;
}

/* --- one exchange --------------------------------------------------------- */

/* Run the loop until nothing moves: no callback waiting, nothing new to
 * read, a few turns in a row.  Loopback hands bytes over as they are
 * written, so this is the same point for the same bytes. */
static void pump(int fd, struct strbuf *in, int *closed)
{
	char buf[65536];

	for (int idle = 0; idle < 4 && !*closed;) {
		ssize_t n;
		event_base_loop(base, EVLOOP_NONBLOCK);
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			strbuf_add(in, buf, (size_t)n);
			idle = 0;
		} else if (n == 0) {
			*closed = 1;
		} else if (!event_base_get_num_events(base,
						      EVENT_BASE_COUNT_ACTIVE)) {
			idle++;
		}
	}
}

static void send_all(int fd, const uint8_t *p, size_t len, struct strbuf *in,
		     int *closed)
{
	while (len && !*closed) {
		ssize_t n = write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
		pump(fd, in, closed);
	}
}

/* Where the first head ends (after its blank line, LF or CRLF lines as
 * evhttp takes them), blank lines before it skipped; 0: no whole head. */
static size_t first_head(const uint8_t *d, size_t size)
{
	size_t i = 0, line;

	while (i < size && (d[i] == '\n' || (d[i] == '\r' && i + 1 < size &&
					      d[i + 1] == '\n')))
		i += d[i] == '\r' ? 2 : 1;
	for (line = i; i < size; i++) {
		if (d[i] != '\n')
			continue;
		if (i == line || (i == line + 1 && d[line] == '\r'))
			return i + 1;
		line = i + 1;
	}
	return 0;
}

/* The largest Content-Length of the head, as decimal digits after the
 * header's name; 0 when none reads so. */
static uint64_t head_length(const char *head)
{
	uint64_t max = 0;

	for (const char *p = head; (p = strchr(p, '\n')); ) {
		uint64_t n = 0;
		int digits = 0;
		p++;
		if (strncasecmp(p, "Content-Length:", 15))
			continue;
		for (const char *q = p + 15 + strspn(p + 15, " \t");
		     *q >= '0' && *q <= '9' && n < UINT64_MAX / 10; q++, digits++)
			n = n * 10 + (uint64_t)(*q - '0');
		if (digits && n > max)
			max = n;
	}
	return max;
}

struct verdict {
	struct strbuf answers;		/* as read */
	struct strbuf codes;		/* "401 200 ...", with the bodies */
	size_t early;			/* bytes read before the body went */
	unsigned calls;
	int closed;			/* the API closed the connection */
};

static void exchange(const uint8_t *data, size_t size, size_t head,
		     struct verdict *v)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), closed = 0;

	strbuf_init(&v->answers, 0);
	strbuf_init(&v->codes, 0);
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		fail("cannot connect to the API", NULL, NULL);
	calls = 0;
	pump(fd, &v->answers, &closed);
	send_all(fd, data, head ? head : size, &v->answers, &closed);
	v->early = v->answers.len;
	if (head)
		send_all(fd, data + head, size - head, &v->answers, &closed);
	shutdown(fd, SHUT_WR);
	pump(fd, &v->answers, &closed);
	close(fd);
	v->closed = closed;
	for (int i = 0; i < 4; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	v->calls = calls;
}

/* Read the answers: each a status line, headers and Content-Length bytes
 * of body, which must be one JSON object.  Returns the count of answers
 * within the first `upto` bytes that are 2xx, or -1 when none is there. */
static int check_answers(struct verdict *v, size_t upto)
{
	const char *p = v->answers.buf, *end = p + v->answers.len;
	unsigned ok = 0;
	int first_early = -1;

	while (p < end) {
		const char *hend = strstr(p, "\r\n\r\n"), *cl;
		unsigned code = 0;
		size_t blen = 0;
		json_t *j;
		json_error_t jerr;

		if (!hend || sscanf(p, "HTTP/1.%*[01] %3u ", &code) != 1)
			fail("an answer that is not HTTP", NULL, &v->answers);
		hend += 4;
		if (code == 100) {
			p = hend;
			continue;
		}
		/* Without a Content-Length (HTTP/1.0), the body ends with the
		 * connection. */
		cl = strcasestr(p, "\r\nContent-Length:");
		if (cl && cl < hend)
			blen = strtoul(cl + 17, NULL, 10);
		else if (v->closed)
			blen = (size_t)(end - hend);
		else
			fail("an answer with no end", NULL, &v->answers);
		if ((size_t)(end - hend) < blen)
			fail("an answer cut short", NULL, &v->answers);
		j = json_loadb(hend, blen, 0, &jerr);
		if (!j || !json_is_object(j))
			fail("an answer that is not one JSON object", jerr.text,
			     &v->answers);
		json_decref(j);
		if (code >= 200 && code < 300)
			ok++;
		else if (code < 400 || code >= 500)
			fail("an answer neither 2xx from a handler nor 4xx", NULL,
			     &v->answers);
		if (first_early < 0 && (size_t)(hend + blen - v->answers.buf) <= upto)
			first_early = code >= 200 && code < 300;
		strbuf_addf(&v->codes, "%u %.*s\n", code, (int)blen, hend);
		p = hend + blen;
	}
	if (ok != v->calls)
		fail("2xx answers and handler calls differ", NULL, &v->answers);
	return first_early;
}

static unsigned count_tokens(const uint8_t *data, size_t size)
{
	unsigned n = 0;
	const uint8_t *p = data, *end = data + size;

	while ((p = memmem(p, (size_t)(end - p), TOKEN, strlen(TOKEN)))) {
		n++;
		p += strlen(TOKEN);
	}
	return n;
}

/* head_parse on a copy of the head, twice: the same verdict. */
static void check_parse(const uint8_t *data, size_t head)
{
	size_t skip = 0;
	while (skip < head && (data[skip] == '\r' || data[skip] == '\n'))
		skip++;
	char *a = strndup((const char *)data + skip, head - skip),
	     *b = strndup(a, head);
	struct conn_head ha = { 0 }, hb = { 0 };
	struct strbuf wa = STRBUF_INIT, wb = STRBUF_INIT;
	int ea, eb, ra = head_parse(a, &ha, &ea, &wa),
	    rb = head_parse(b, &hb, &eb, &wb);

	if (ra != rb || strcmp(wa.buf, wb.buf) ||
	    (!ra && (ea != eb || ha.method != hb.method ||
		     ha.length != hb.length || ha.chunked != hb.chunked ||
		     strcmp(ha.target, hb.target) ||
		     !ha.authorization != !hb.authorization ||
		     (ha.authorization && strcmp(ha.authorization,
						 hb.authorization)))))
		fail("the head parser reads the same head two ways", NULL, NULL);
	if (ra && !wa.len)
		fail("a head refused without a reason", NULL, NULL);
	strbuf_release(&wa);
	strbuf_release(&wb);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verdict one, two;
	size_t head;
	int early;

	if (!size || size > ((size_t)1 << 20) || memmem(data, size, "HEAD", 4))
		return 0;
	head = first_head(data, size);
	exchange(data, size, head, &one);
	early = check_answers(&one, one.early);
	if (one.calls > count_tokens(data, size))
		fail("more handler calls than tokens sent", NULL, &one.answers);
	if (head && !memchr(data, '\0', head)) {
		char *text = strndup((const char *)data, head);
		uint64_t cap = strstr(text, "batch") ? CAP_TASKFILE : CAP_JSON;
		if (head_length(text) > cap && early != 0)
			fail(early < 0 ? "a head above every cap not answered "
			     "before its body" : "a head above every cap let through",
			     text, &one.answers);
		free(text);
		check_parse(data, head);
	}
	exchange(data, size, head, &two);
	check_answers(&two, two.early);
	if (strcmp(one.codes.buf, two.codes.buf) || one.calls != two.calls)
		fail("the same bytes answered two ways", two.codes.buf, &one.answers);
	strbuf_release(&one.answers);
	strbuf_release(&one.codes);
	strbuf_release(&two.answers);
	strbuf_release(&two.codes);
	return 0;
}
