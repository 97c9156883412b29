/*
 * dashboard link: one pass over the template serves both the check and
 * the expansion, so what `cluster start` refuses before it starts a
 * scheduler and what `cluster status` prints later can never disagree.
 * Placeholders are Dask's ({host}, {port}, {USER} from the environment,
 * $JUPYTERHUB_SERVICE_PREFIX as os.path.expandvars reads it), so a
 * dashboard_link from a Dask configuration carries over as written.
 */
#include "dashboard/link.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/suggest.h"

static const char *const known[] = { "host", "port", NULL };

static int is_env_name(const char *s, size_t len)
{
	if (!len || isdigit((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '_')
			return 0;
	return 1;
}

static size_t env_name_len(const char *s)
{
	size_t n = 0;

	/* Upper case only, so "$PREFIXproxy/" ends the name at "proxy". */
	while (isupper((unsigned char)s[n]) || isdigit((unsigned char)s[n]) ||
	       s[n] == '_')
		n++;
	return isdigit((unsigned char)s[0]) ? 0 : n;
}

/* A value as a URL can hold it: what would end the link or begin its
 * query or fragment as %XX. */
static void add_value(struct strbuf *sb, const char *v)
{
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;
		if (ch <= ' ' || ch >= 0x7f || strchr("\"'<>\\^`{|}#%", ch))
			strbuf_addf(sb, "%%%02X", ch);
		else
			strbuf_addch(sb, ch);
	}
}

static int bad_placeholder(struct err *err, const char *name, size_t len)
{
	char word[64];
	struct suggest_best best;

	snprintf(word, sizeof(word), "%.*s", (int)(len < 60 ? len : 60), name);
	best = (struct suggest_best)SUGGEST_BEST_INIT(word);
	for (size_t i = 0; known[i]; i++)
		suggest_best_consider(&best, known[i]);
	if (best.best && best.distance <= 2)
		return errprintf(err, "dashboard.link: unknown placeholder '{%s}' "
				 "(did you mean '{%s}'?)", word, best.best);
	return errprintf(err, "dashboard.link: unknown placeholder '{%s}': "
			 "known are {host}, {port} and {NAME} of an environment "
			 "variable", word);
}

/* Expand into `out` (NULL: only check).  1, 0 (a variable unset, named
 * in err) or -1. */
static int expand(struct strbuf *out, const char *tmpl, const char *host,
		  unsigned port, dashboard_env_fn env, struct err *err)
{
	int unset = 0;

	for (const char *p = tmpl; *p;) {
		const char *name = NULL, *end;
		size_t len = 0;

		if (*p == '{') {
			end = strchr(p + 1, '}');
			if (!end)
				return errprintf(err, "dashboard.link: '{' at "
						 "column %zu is never closed",
						 (size_t)(p - tmpl) + 1);
			name = p + 1;
			len = (size_t)(end - name);
			p = end + 1;
			if (len == 4 && !strncmp(name, "host", 4)) {
				if (out && strchr(host, ':'))
					strbuf_addf(out, "[%s]", host);
				else if (out)
					add_value(out, host);
				continue;
			}
			if (len == 4 && !strncmp(name, "port", 4)) {
				if (out)
					strbuf_addf(out, "%u", port);
				continue;
			}
			if (!is_env_name(name, len))
				return bad_placeholder(err, name, len);
		} else if (p[0] == '$' && p[1] == '{') {
			end = strchr(p + 2, '}');
			name = p + 2;
			len = end ? (size_t)(end - name) : 0;
			if (!end || !len || env_name_len(name) != len)
				return errprintf(err, "dashboard.link: '${' at column "
						 "%zu needs a variable's name and "
						 "'}'", (size_t)(p - tmpl) + 1);
			p = end + 1;
		} else if (p[0] == '$' && env_name_len(p + 1)) {
			name = p + 1;
			len = env_name_len(name);
			p = name + len;
		} else {
			if (out)
				strbuf_addch(out, *p);
			p++;
			continue;
		}
		/* An environment variable. */
		char var[128];
		const char *v;
		if (len >= sizeof(var))
			return errprintf(err, "dashboard.link: variable name "
					 "'%.20s...' is too long", name);
		memcpy(var, name, len);
		var[len] = '\0';
		if (!out)
			continue;
		v = env ? env(var) : NULL;
		if (!v) {
			if (!unset)
				errprintf(err, "'%s' is unset", var);
			unset = 1;
			continue;
		}
		add_value(out, v);
	}
	return unset ? 0 : 1;
}

int dashboard_link_check(const char *tmpl, struct err *err)
{
	return tmpl ? (expand(NULL, tmpl, "", 0, NULL, err) < 0 ? -1 : 0) : 0;
}

int dashboard_link(struct strbuf *out, const char *tmpl, const char *host,
		   unsigned port, dashboard_env_fn env, struct err *err)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;

	if (!tmpl || !*tmpl)
		tmpl = DASHBOARD_LINK_DIRECT;
	rc = expand(&sb, tmpl, host ? host : "", port, env, err);
	if (rc == 0) {
		strbuf_reset(&sb);
		expand(&sb, DASHBOARD_LINK_DIRECT, host ? host : "", port, env,
		       NULL);
	}
	if (rc >= 0)
		strbuf_add(out, sb.buf, sb.len);
	strbuf_release(&sb);
	return rc;
}
