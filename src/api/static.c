/*
 * static: the dashboard's public routes, serving the files the server
 * handed over (api_set_assets).  Every page is the same index.html,
 * which shows the panels its address names; the script and style sheet
 * sit beside the pages so that relative URLs find them under any prefix.
 * "/" sends a browser on to "status" by a relative redirect, which keeps
 * the fragment holding the token and works behind a proxy that strips a
 * prefix.  The pages carry no data: every number comes from the token's
 * JSON routes, and a Content-Security-Policy keeps the page to its own
 * origin.
 */
#include "api/routes.h"

#include <string.h>

#include <event2/buffer.h>

#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; " \
	"connect-src 'self'; img-src 'self' data:; base-uri 'none'; " \
	"form-action 'none'; frame-ancestors 'self'"

void api_set_assets(struct api *a, const struct api_asset *assets)
{
	if (a)
		a->assets = assets;
}

static const struct api_asset *find(const struct api *a, const char *name)
{
	for (const struct api_asset *f = a->assets; f && f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static const char *type_of(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot && !strcmp(dot, ".js"))
		return "text/javascript; charset=utf-8";
	if (dot && !strcmp(dot, ".css"))
		return "text/css; charset=utf-8";
	return "text/html; charset=utf-8";
}

static void serve(struct http_call *c, const char *name)
{
	const struct api_asset *f = find(c->a, name);
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	struct evbuffer *out;

	if (!f) {
		http_reply_error(c->req, 404, "this scheduler has no dashboard "
				 "built in");
		return;
	}
	out = evbuffer_new();
	evhttp_add_header(h, "Content-Type", type_of(name));
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Content-Security-Policy", CSP);
	evbuffer_add_reference(out, f->data, f->len, NULL, NULL);
	evhttp_send_reply(c->req, 200, "OK", out);
	evbuffer_free(out);
}

void static_page(struct http_call *c)
{
	serve(c, "index.html");
}

void static_script(struct http_call *c)
{
	serve(c, "dashboard.js");
}

void static_style(struct http_call *c)
{
	serve(c, "dashboard.css");
}

void static_root(struct http_call *c)
{
	static const char body[] = "<!DOCTYPE html>\n<meta charset=\"utf-8\">"
		"<title>cluster</title><a href=\"status\">status</a>\n";
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	struct evbuffer *out;

	/* An API without a dashboard has nothing at "/". */
	if (!c->a->assets) {
		http_reply_error(c->req, 404, "no such resource '/'");
		return;
	}
	out = evbuffer_new();
	evhttp_add_header(h, "Location", "status");
	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evbuffer_add_reference(out, body, sizeof(body) - 1, NULL, NULL);
	evhttp_send_reply(c->req, 302, "Found", out);
	evbuffer_free(out);
}
