/*
 * head: read a complete request head for conn.c, which judges it before
 * evhttp sees it.  Only what decides before the body is read is looked
 * at: the request line's shape, the body's length and framing, the
 * headers the judge needs.  The rest is evhttp's, which gets the head as
 * it came; where the two could read a head differently, this side is the
 * stricter (folded lines, two lengths), so nothing passes here that
 * evhttp would frame otherwise.
 */
#include "api/conn.h"

#include <string.h>
#include <strings.h>

#include "util/units.h"

static const struct {
	const char *name;
	enum evhttp_cmd_type type;
} methods[] = {
	{ "GET", EVHTTP_REQ_GET }, { "POST", EVHTTP_REQ_POST },
	{ "HEAD", EVHTTP_REQ_HEAD }, { "PUT", EVHTTP_REQ_PUT },
	{ "DELETE", EVHTTP_REQ_DELETE }, { "OPTIONS", EVHTTP_REQ_OPTIONS },
	{ "TRACE", EVHTTP_REQ_TRACE }, { "CONNECT", EVHTTP_REQ_CONNECT },
	{ "PATCH", EVHTTP_REQ_PATCH },
};

static enum evhttp_cmd_type method_type(const char *name)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!strcmp(methods[i].name, name))
			return methods[i].type;
	return 0;
}

/* Cut the next line off *text (LF or CRLF); NULL at the end. */
static char *next_line(char **text)
{
	char *line = *text, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (!nl) {
		*text = NULL;
		return line;
	}
	*nl = '\0';
	*text = nl + 1;
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	return line;
}

static void rtrim(char *s)
{
	char *e = s + strlen(s);

	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	rtrim(s);
	return s;
}

int head_parse(char *text, struct conn_head *h, int *expect,
	       struct strbuf *why)
{
	char *line, *sp, *version;
	int have_length = 0;

	*expect = 0;
	line = next_line(&text);
	if (line)	/* as evhttp: trailing blanks do not count */
		rtrim(line);
	sp = line ? strchr(line, ' ') : NULL;
	version = line ? strrchr(line, ' ') : NULL;
	if (!sp || sp == version) {
		strbuf_addf(why, "request line: expected 'METHOD TARGET HTTP/1.1', got '%s'",
			    line ? line : "");
		return -1;
	}
	*sp = *version = '\0';
	/* evhttp answers a version it refuses itself, in HTML */
	if (strcmp(version + 1, "HTTP/1.1") && strcmp(version + 1, "HTTP/1.0")) {
		strbuf_addf(why, "request line: expected HTTP/1.0 or HTTP/1.1, got '%s'",
			    version + 1);
		return -1;
	}
	h->method_name = line;
	h->method = method_type(line);
	h->target = sp + 1;
	while ((line = next_line(&text)) && *line) {
		char *colon = strchr(line, ':'), *v;
		uint64_t n;
		/* evhttp refuses a header holding one, in HTML */
		if (strchr(line, '\r')) {
			strbuf_addstr(why, "request head: a CR that does not end a line");
			return -1;
		}
		if (*line == ' ' || *line == '\t') {
			strbuf_addstr(why, "request head: folded header lines are not taken");
			return -1;
		}
		if (!colon) {
			strbuf_addstr(why, "request head: header line without ':'");
			return -1;
		}
		*colon = '\0';
		v = trim(colon + 1);
		if (!strcasecmp(line, "Authorization") && !h->authorization) {
			h->authorization = v;
		} else if (!strcasecmp(line, "Content-Length")) {
			if (count_parse(v, 0, UINT64_MAX, &n) < 0 ||
			    (have_length && n != h->length)) {
				strbuf_addf(why, "header 'Content-Length': expected one byte count, got '%s'",
					    v);
				return -1;
			}
			h->length = n;
			have_length = 1;
		} else if (!strcasecmp(line, "Transfer-Encoding")) {
			h->chunked = 1;
		} else if (!strcasecmp(line, "Expect")) {
			/* evhttp answers any other expectation itself, in
			 * HTML; it skips spaces before a value, not tabs */
			if (colon + 1 + strspn(colon + 1, " ") != v ||
			    strcasecmp(v, "100-continue")) {
				strbuf_addf(why, "header 'Expect': only 100-continue is "
					    "taken, got '%s'", v);
				return -1;
			}
			*expect = 1;
		}
	}
	return 0;
}
