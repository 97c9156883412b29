/*
 * Configuration layers: YAML files read with libyaml's document API,
 * checked against the key table, merged in layer order.
 *
 * A file is parsed into settings (key, value, where it was written) held
 * per scope: the file's global settings and one scope per profile the file
 * defines.  Nothing is applied while parsing, so every file is checked in
 * full even when its profiles are not the chosen one.  Then the profile is
 * chosen, its inherit chain resolved, and for each layer the global
 * settings and then the chain (root ancestor first) are applied on top of
 * the table's defaults.
 */
#include "config/config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "backend/backend.h"
#include "util/units.h"
#include "util/xalloc.h"

#define ORIGIN_MAX 192
#define WORD_CHARS "_.@+%=:,/-"

/* One value as written in one place. */
struct setting {
	const struct config_key *key;
	int set;			/* 0: an explicit null, which unsets */
	char *text;
	int64_t num;
	char **list;
	unsigned nlist;
	char origin[ORIGIN_MAX];
};

struct scope {
	struct setting *v;
	size_t n, alloc;
};

/* A profile as one file defines it. */
struct pdef {
	char *name;
	char at[ORIGIN_MAX];		/* where its name is written */
	char *inherit;
	char inherit_at[ORIGIN_MAX];
	char *description;
	char **hosts;			/* NULL-terminated, or NULL if not given */
	struct scope s;
};

struct cfile {
	char *path;
	char *profile;			/* top-level `profile:` */
	char profile_at[ORIGIN_MAX];
	struct scope globals;
	struct pdef *defs;
	size_t ndefs;
};

enum { LAYER_BUILTIN, LAYER_BUNDLED, LAYER_SYSTEM, LAYER_USER, LAYER_FILE,
       NLAYERS };

struct layer {
	struct cfile *files;
	size_t n;
};

/* A profile merged over every layer. */
struct profile {
	char *name;
	char *description;
	char *inherit;
	char inherit_at[ORIGIN_MAX];
	char **hosts;
	int hosts_layer;
	char *origin;
};

struct config {
	struct config_value *values;
	char *profile;
	char *reason;
	struct profile *profiles;
	size_t nprofiles;
	struct config_profile_info *infos;
};

/* Parsing context of one YAML text. */
struct pctx {
	const char *path;
	const char *buf;
	size_t len;
	yaml_document_t *doc;
	struct err *err;
};

static void list_free(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

static char **list_dup(char *const *list, unsigned n)
{
	char **out = xcalloc(n + 1, sizeof(*out));

	for (unsigned i = 0; i < n; i++)
		out[i] = xstrdup(list[i]);
	return out;
}

static unsigned list_len(char *const *list)
{
	unsigned n = 0;

	while (list && list[n])
		n++;
	return n;
}

static void setting_release(struct setting *s)
{
	free(s->text);
	list_free(s->list);
	memset(s, 0, sizeof(*s));
}

static void scope_release(struct scope *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		setting_release(&sc->v[i]);
	free(sc->v);
	memset(sc, 0, sizeof(*sc));
}

static struct setting *scope_find(struct scope *sc, const struct config_key *k)
{
	for (size_t i = 0; i < sc->n; i++)
		if (sc->v[i].key == k)
			return &sc->v[i];
	return NULL;
}

/* Takes over the memory of *s. */
static void scope_add(struct scope *sc, struct setting *s)
{
	if (sc->n == sc->alloc) {
		sc->alloc = sc->alloc ? sc->alloc * 2 : 8;
		sc->v = xrealloc(sc->v, sc->alloc * sizeof(*sc->v));
	}
	sc->v[sc->n++] = *s;
	memset(s, 0, sizeof(*s));
}

static void pdef_release(struct pdef *d)
{
	free(d->name);
	free(d->inherit);
	free(d->description);
	list_free(d->hosts);
	scope_release(&d->s);
}

static void cfile_release(struct cfile *f)
{
	free(f->path);
	free(f->profile);
	scope_release(&f->globals);
	for (size_t i = 0; i < f->ndefs; i++)
		pdef_release(&f->defs[i]);
	free(f->defs);
	memset(f, 0, sizeof(*f));
}

static void layer_release(struct layer *l)
{
	for (size_t i = 0; i < l->n; i++)
		cfile_release(&l->files[i]);
	free(l->files);
	memset(l, 0, sizeof(*l));
}

static struct cfile *layer_add(struct layer *l)
{
	l->files = xrealloc(l->files, (l->n + 1) * sizeof(*l->files));
	memset(&l->files[l->n], 0, sizeof(*l->files));
	return &l->files[l->n++];
}

/* strerror, lowercased to match the message style. */
static const char *errstr(int e)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s", strerror(e));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* A value quoted for a message: control characters escaped, long values
 * cut short, so one error stays one line. */
static const char *shown(const char *s, char *out, size_t size)
{
	size_t o = 0, i = 0;

	for (; s[i] && o + 8 < size && i < 48; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			o += (size_t)snprintf(out + o, size - o, "\\n");
		else if (c == '\t')
			o += (size_t)snprintf(out + o, size - o, "\\t");
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (s[i] && o + 4 < size)
		o += (size_t)snprintf(out + o, size - o, "...");
	out[o] = '\0';
	return out;
}

/* --- the key table ------------------------------------------------------ */

static int is_group(const char *name)
{
	size_t n = strlen(name);

	for (const struct config_key *k = config_keys; k->name; k++)
		if (!strncmp(k->name, name, n) && k->name[n] == '.')
			return 1;
	return 0;
}

/* Optimal string alignment distance: a swapped pair of letters counts as
 * one edit, the most common typo. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *d = xcalloc((la + 1) * (lb + 1), sizeof(*d));
#define D(i, j) d[(i) * (lb + 1) + (j)]

	for (size_t i = 0; i <= la; i++)
		D(i, 0) = i;
	for (size_t j = 0; j <= lb; j++)
		D(0, j) = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = D(i - 1, j) + 1;
			if (D(i, j - 1) + 1 < v)
				v = D(i, j - 1) + 1;
			if (D(i - 1, j - 1) + cost < v)
				v = D(i - 1, j - 1) + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < v)
				v = D(i - 2, j - 2) + 1;
			D(i, j) = v;
		}
	}
	size_t r = D(la, lb);
#undef D
	free(d);
	return r;
}

static void consider(const char *name, const char *cand, const char **best,
		     size_t *bestd)
{
	size_t d = edit_distance(name, cand);

	if (d < *bestd) {
		*best = cand;
		*bestd = d;
	}
}

/* Group names ("job", "launch", ...) derived from the table once. */
static const char *group_name(unsigned i)
{
	static char groups[32][32];
	static unsigned ngroups;
	static int done;

	if (!done) {
		for (const struct config_key *k = config_keys; k->name; k++) {
			const char *dot = strchr(k->name, '.');
			size_t g = dot ? (size_t)(dot - k->name) : 0;
			unsigned j;
			if (!g || g >= sizeof(groups[0]))
				continue;
			for (j = 0; j < ngroups; j++)
				if (!strncmp(groups[j], k->name, g) && !groups[j][g])
					break;
			if (j == ngroups && ngroups < 32) {
				memcpy(groups[ngroups], k->name, g);
				groups[ngroups++][g] = '\0';
			}
		}
		done = 1;
	}
	return i < ngroups ? groups[i] : NULL;
}

/* The closest key, group or extra word; NULL when nothing is close. */
static const char *suggest(const char *name, const char *const *extra)
{
	const char *best = NULL, *g;
	size_t bestd = SIZE_MAX, len = strlen(name);

	for (const struct config_key *k = config_keys; k->name; k++) {
		const char *dot = strrchr(k->name, '.');
		/* "cores" alone is "job.cores" */
		if (dot && !strcmp(dot + 1, name))
			return k->name;
		consider(name, k->name, &best, &bestd);
	}
	for (unsigned i = 0; (g = group_name(i)); i++)
		consider(name, g, &best, &bestd);
	for (; extra && *extra; extra++)
		consider(name, *extra, &best, &bestd);
	if (!best || bestd == 0 || bestd > 3 || bestd * 3 > len + 1)
		return NULL;
	return best;
}

const char *config_suggest_key(const char *name)
{
	return suggest(name, NULL);
}

/* --- values ------------------------------------------------------------- */

int config_is_word(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(WORD_CHARS, *s))
			return 0;
	return 1;
}

int config_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int parse_int(const char *s, int64_t *out)
{
	char *end;

	if (!*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, int64_t *out)
{
	static const char *const yes[] = { "true", "yes", "on", NULL };
	static const char *const no[] = { "false", "no", "off", NULL };

	for (int i = 0; yes[i]; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* "30" or "1.5", spaces around allowed: a duration that says no unit. */
static int bare_number(const char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strspn(s, "0123456789.");
	if (!n)
		return 0;
	s += n;
	return !s[strspn(s, " \t")];
}

/* Check one scalar against its key; on failure `why` says what is
 * expected, without a location. */
static int value_check(const struct config_key *k, const char *text,
		       int64_t *num, struct err *why)
{
	uint64_t u;
	struct strbuf sb = STRBUF_INIT;

	*num = 0;
	switch (k->type) {
	case CONFIG_STRING:
	case CONFIG_LIST:
		if (config_has_control(text))
			return errprintf(why, "newlines and other control characters are not allowed");
		return 0;
	case CONFIG_WORD:
		if (!config_is_word(text))
			return errprintf(why, "only letters, digits and the characters %s are allowed",
					 WORD_CHARS);
		return 0;
	case CONFIG_INT:
		if (parse_int(text, num) || *num < k->min || *num > k->max)
			return errprintf(why, "expected an integer from %lld to %lld",
					 (long long)k->min, (long long)k->max);
		return 0;
	case CONFIG_BOOL:
		if (parse_bool(text, num))
			return errprintf(why, "expected true or false");
		return 0;
	case CONFIG_SIZE:
		if (size_parse(text, &u, NULL) || u > INT64_MAX)
			return errprintf(why, "expected a size like 4GiB or 1.5GB");
		*num = (int64_t)u;
		return 0;
	case CONFIG_DURATION:
		if (bare_number(text))
			return errprintf(why, "a number without a unit is ambiguous "
					 "(seconds to PBS, minutes to Slurm); write "
					 "a unit, as in 30m, 2h or 90s, or the colon "
					 "form 00:30:00");
		if (duration_parse(text, &u, NULL) || u > INT64_MAX)
			return errprintf(why, "expected a duration like 01:30:00, 90m or 2h");
		*num = (int64_t)u;
		return 0;
	case CONFIG_CHOICE:
		for (int i = 0; k->choices[i]; i++)
			if (!strcmp(text, k->choices[i]))
				return 0;
		for (int i = 0; k->choices[i]; i++)
			strbuf_addf(&sb, "%s%s", i ? ", " : "", k->choices[i]);
		errprintf(why, "expected one of %s", sb.buf);
		strbuf_release(&sb);
		return -1;
	}
	return errprintf(why, "key of unknown type");
}

/* `[a, "b c"]`: how a list reads in `config show`. */
static char *list_render(char *const *list)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addch(&sb, '[');
	for (unsigned i = 0; list && list[i]; i++) {
		const char *s = list[i];
		if (i)
			strbuf_addstr(&sb, ", ");
		if (*s && !strpbrk(s, " ,[]\"'#:{}")) {
			strbuf_addstr(&sb, s);
			continue;
		}
		strbuf_addch(&sb, '"');
		for (; *s; s++) {
			if (*s == '"' || *s == '\\')
				strbuf_addch(&sb, '\\');
			strbuf_addch(&sb, *s);
		}
		strbuf_addch(&sb, '"');
	}
	strbuf_addch(&sb, ']');
	return strbuf_detach(&sb, NULL);
}

/* Fill a setting from text, checked; `where` prefixes an error. */
static int setting_from_text(struct setting *s, const struct config_key *k,
			     const char *text, const char *where,
			     const char *origin, struct err *err)
{
	struct err why;
	char buf[96];

	memset(s, 0, sizeof(*s));
	if (value_check(k, text, &s->num, &why))
		return errprintf(err, "%s: invalid value '%s' for '%s': %s", where,
				 shown(text, buf, sizeof(buf)), k->name, why.text);
	s->key = k;
	s->set = 1;
	s->text = xstrdup(text);
	snprintf(s->origin, sizeof(s->origin), "%s", origin);
	return 0;
}

/* --- YAML --------------------------------------------------------------- */

static size_t mline(yaml_mark_t m) { return m.line + 1; }
static size_t mcol(yaml_mark_t m) { return m.column + 1; }

static void at(const struct pctx *c, yaml_mark_t m, char *out, size_t size)
{
	snprintf(out, size, "%s:%zu:%zu", c->path, mline(m), mcol(m));
}

static int is_null(const yaml_node_t *n)
{
	const char *v;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE: return "a mapping";
	case YAML_SEQUENCE_NODE: return "a list";
	default: return "a value";
	}
}

/* Byte offset of a libyaml mark (line, column in characters). */
static size_t mark_offset(const struct pctx *c, yaml_mark_t m)
{
	size_t off = 0, line = 0, col = 0;

	while (off < c->len && line < m.line)
		if (c->buf[off++] == '\n')
			line++;
	while (off < c->len && col < m.column) {
		off++;
		while (off < c->len && ((unsigned char)c->buf[off] & 0xc0) == 0x80)
			off++;
		col++;
	}
	return off;
}

/* Line and column of `needle` inside the node's source text, for errors
 * that concern part of a scalar; the node's start if not found. */
static void locate(const struct pctx *c, const yaml_node_t *n,
		   const char *needle, size_t *line, size_t *col)
{
	size_t off = mark_offset(c, n->start_mark);
	size_t end = mark_offset(c, n->end_mark);
	size_t nl = strlen(needle);

	*line = mline(n->start_mark);
	*col = mcol(n->start_mark);
	for (size_t p = off; p + nl <= end && p + nl <= c->len; p++) {
		if (memcmp(c->buf + p, needle, nl))
			continue;
		for (size_t q = off; q < p; q++) {
			if (c->buf[q] == '\n') {
				(*line)++;
				*col = 1;
			} else if (((unsigned char)c->buf[q] & 0xc0) != 0x80) {
				(*col)++;
			}
		}
		return;
	}
}

/* The scalar's text with ${NAME} replaced from the environment, in plain
 * and double-quoted scalars only. */
static int scalar_text(struct pctx *c, const yaml_node_t *n, const char *what,
		       struct strbuf *out)
{
	const char *s = (const char *)n->data.scalar.value;
	yaml_scalar_style_t style = n->data.scalar.style;
	size_t line, col;

	strbuf_reset(out);
	if (style != YAML_PLAIN_SCALAR_STYLE &&
	    style != YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
		strbuf_addstr(out, s);
		return 0;
	}
	while (*s) {
		const char *v = strstr(s, "${");
		if (!v) {
			strbuf_addstr(out, s);
			break;
		}
		strbuf_add(out, s, (size_t)(v - s));
		const char *close = strchr(v + 2, '}');
		size_t nlen = close ? (size_t)(close - v - 2) : 0;
		char name[128];
		int ok = close && nlen > 0 && nlen < sizeof(name) &&
			 (isalpha((unsigned char)v[2]) || v[2] == '_');
		for (size_t i = 0; ok && i < nlen; i++)
			if (!isalnum((unsigned char)v[2 + i]) && v[2 + i] != '_')
				ok = 0;
		if (!ok) {
			char buf[96];
			locate(c, n, "${", &line, &col);
			return errprintf(c->err, "%s:%zu:%zu: bad variable reference '%s' in '%s': write ${NAME} with letters, digits and _, or use single quotes to keep it literal",
					 c->path, line, col,
					 shown(v, buf, sizeof(buf)), what);
		}
		memcpy(name, v + 2, nlen);
		name[nlen] = '\0';
		const char *val = getenv(name);
		if (!val) {
			char needle[140];
			snprintf(needle, sizeof(needle), "${%s}", name);
			locate(c, n, needle, &line, &col);
			return errprintf(c->err, "%s:%zu:%zu: environment variable '%s' is not set (in '%s'; single quotes keep '${%s}' literal)",
					 c->path, line, col, name, what, name);
		}
		strbuf_addstr(out, val);
		s = close + 1;
	}
	return 0;
}

static yaml_node_t *node(struct pctx *c, yaml_node_item_t i)
{
	return yaml_document_get_node(c->doc, i);
}

/* A key of a mapping: must be a plain scalar. */
static const char *key_name(struct pctx *c, yaml_node_t *k)
{
	if (k->type != YAML_SCALAR_NODE) {
		char loc[ORIGIN_MAX];
		at(c, k->start_mark, loc, sizeof(loc));
		errprintf(c->err, "%s: expected a key name, found %s", loc,
			  node_kind(k));
		return NULL;
	}
	return (const char *)k->data.scalar.value;
}

/* A list of strings (LIST values and hosts). */
static int node_list(struct pctx *c, yaml_node_t *v, const char *what,
		     char ***out, unsigned *nout)
{
	char loc[ORIGIN_MAX], buf[96];
	struct strbuf sb = STRBUF_INIT;
	yaml_node_item_t *it;
	unsigned n = 0;

	if (v->type != YAML_SEQUENCE_NODE) {
		at(c, v->start_mark, loc, sizeof(loc));
		return errprintf(c->err, "%s: '%s' expected a list like [\"a\", \"b\"], found %s",
				 loc, what, node_kind(v));
	}
	size_t cap = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	char **list = xcalloc(cap + 1, sizeof(*list));
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
		yaml_node_t *item = node(c, *it);
		at(c, item->start_mark, loc, sizeof(loc));
		if (item->type != YAML_SCALAR_NODE) {
			errprintf(c->err, "%s: items of '%s' must be strings, found %s",
				  loc, what, node_kind(item));
			goto fail;
		}
		if (scalar_text(c, item, what, &sb))
			goto fail;
		if (config_has_control(sb.buf)) {
			errprintf(c->err, "%s: invalid item '%s' in '%s': newlines and other control characters are not allowed",
				  loc, shown(sb.buf, buf, sizeof(buf)), what);
			goto fail;
		}
		list[n++] = strbuf_detach(&sb, NULL);
	}
	strbuf_release(&sb);
	*out = list;
	if (nout)
		*nout = n;
	return 0;
fail:
	strbuf_release(&sb);
	list_free(list);
	return -1;
}

/* One `key: value` of settings; groups recurse. */
static int parse_pair(struct pctx *c, const char *prefix, yaml_node_t *kn,
		      yaml_node_t *vn, struct scope *sc,
		      const char *const *extra)
{
	char loc[ORIGIN_MAX], vloc[ORIGIN_MAX];
	struct strbuf name = STRBUF_INIT, text = STRBUF_INIT;
	struct setting s = { 0 };
	const struct config_key *k;
	const char *kname = key_name(c, kn);
	int ret = -1;

	if (!kname)
		return -1;
	at(c, kn->start_mark, loc, sizeof(loc));
	at(c, vn->start_mark, vloc, sizeof(vloc));
	if (*prefix)
		strbuf_addf(&name, "%s.", prefix);
	strbuf_addstr(&name, kname);

	k = config_key_find(name.buf);
	if (!k && is_group(name.buf)) {
		if (is_null(vn)) {
			ret = 0;
			goto out;
		}
		if (vn->type != YAML_MAPPING_NODE) {
			errprintf(c->err, "%s: '%s' is a group of keys: expected a mapping like %s: {key: value}",
				  vloc, name.buf, kname);
			goto out;
		}
		for (yaml_node_pair_t *p = vn->data.mapping.pairs.start;
		     p < vn->data.mapping.pairs.top; p++)
			if (parse_pair(c, name.buf, node(c, p->key),
				       node(c, p->value), sc, NULL))
				goto out;
		ret = 0;
		goto out;
	}
	if (!k) {
		const char *hint = suggest(name.buf, *prefix ? NULL : extra);
		if (hint)
			errprintf(c->err, "%s: unknown key '%s' (did you mean '%s'?)",
				  loc, name.buf, hint);
		else
			errprintf(c->err, "%s: unknown key '%s'", loc, name.buf);
		goto out;
	}
	struct setting *dup = scope_find(sc, k);
	if (dup) {
		errprintf(c->err, "%s: duplicate key '%s' (first set at %s)",
			  loc, k->name, dup->origin);
		goto out;
	}
	s.key = k;
	snprintf(s.origin, sizeof(s.origin), "%s", loc);
	if (is_null(vn)) {
		scope_add(sc, &s);	/* an explicit null unsets */
		ret = 0;
		goto out;
	}
	if (k->type == CONFIG_LIST) {
		if (node_list(c, vn, k->name, &s.list, &s.nlist))
			goto out;
		s.set = 1;
		s.text = list_render(s.list);
		scope_add(sc, &s);
		ret = 0;
		goto out;
	}
	if (vn->type != YAML_SCALAR_NODE) {
		struct err why;
		int64_t dummy;
		if (k->type == CONFIG_STRING || k->type == CONFIG_WORD ||
		    value_check(k, "\x01", &dummy, &why) == 0)
			snprintf(why.text, sizeof(why.text), "expected a single value");
		errprintf(c->err, "%s: '%s' %s, found %s", vloc, k->name,
			  why.text, node_kind(vn));
		goto out;
	}
	if (scalar_text(c, vn, k->name, &text))
		goto out;
	if (setting_from_text(&s, k, text.buf, vloc, loc, c->err))
		goto out;
	scope_add(sc, &s);
	ret = 0;
out:
	setting_release(&s);
	strbuf_release(&name);
	strbuf_release(&text);
	return ret;
}

static int valid_profile_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return 0;
	return 1;
}

static int scalar_field(struct pctx *c, yaml_node_t *vn, const char *what,
			char **out)
{
	char loc[ORIGIN_MAX], buf[96];
	struct strbuf sb = STRBUF_INIT;

	at(c, vn->start_mark, loc, sizeof(loc));
	if (vn->type != YAML_SCALAR_NODE)
		return errprintf(c->err, "%s: '%s' expected a single value, found %s",
				 loc, what, node_kind(vn));
	if (scalar_text(c, vn, what, &sb)) {
		strbuf_release(&sb);
		return -1;
	}
	if (config_has_control(sb.buf)) {
		errprintf(c->err, "%s: invalid value '%s' for '%s': newlines and other control characters are not allowed",
			  loc, shown(sb.buf, buf, sizeof(buf)), what);
		strbuf_release(&sb);
		return -1;
	}
	free(*out);
	*out = strbuf_detach(&sb, NULL);
	return 0;
}

static int profile_name_field(struct pctx *c, yaml_node_t *vn, const char *what,
			      char **out)
{
	char loc[ORIGIN_MAX], buf[96];

	if (scalar_field(c, vn, what, out))
		return -1;
	if (!valid_profile_name(*out)) {
		at(c, vn->start_mark, loc, sizeof(loc));
		return errprintf(c->err, "%s: invalid profile name '%s' in '%s': use letters, digits and _.-",
				 loc, shown(*out, buf, sizeof(buf)), what);
	}
	return 0;
}

static int parse_profile(struct pctx *c, yaml_node_t *kn, yaml_node_t *vn,
			 struct cfile *f)
{
	static const char *const extra[] = { "inherit", "hosts", "description", NULL };
	char loc[ORIGIN_MAX], buf[96];
	const char *name = key_name(c, kn);
	struct pdef *d;

	if (!name)
		return -1;
	at(c, kn->start_mark, loc, sizeof(loc));
	if (!valid_profile_name(name) || !strcmp(name, "auto"))
		return errprintf(c->err, "%s: invalid profile name '%s': use letters, digits and _.- (and not 'auto', which picks a profile by hostname)",
				 loc, shown(name, buf, sizeof(buf)));
	for (size_t i = 0; i < f->ndefs; i++)
		if (!strcmp(f->defs[i].name, name))
			return errprintf(c->err, "%s: profile '%s' is defined twice (first at %s)",
					 loc, name, f->defs[i].at);
	if (!is_null(vn) && vn->type != YAML_MAPPING_NODE) {
		at(c, vn->start_mark, loc, sizeof(loc));
		return errprintf(c->err, "%s: profile '%s' expected a mapping of settings, found %s",
				 loc, name, node_kind(vn));
	}
	f->defs = xrealloc(f->defs, (f->ndefs + 1) * sizeof(*f->defs));
	d = &f->defs[f->ndefs++];
	memset(d, 0, sizeof(*d));
	d->name = xstrdup(name);
	snprintf(d->at, sizeof(d->at), "%s", loc);
	if (is_null(vn))
		return 0;
	for (yaml_node_pair_t *p = vn->data.mapping.pairs.start;
	     p < vn->data.mapping.pairs.top; p++) {
		yaml_node_t *pk = node(c, p->key), *pv = node(c, p->value);
		const char *key = key_name(c, pk);
		if (!key)
			return -1;
		if (!strcmp(key, "inherit")) {
			if (profile_name_field(c, pv, "inherit", &d->inherit))
				return -1;
			at(c, pv->start_mark, d->inherit_at, sizeof(d->inherit_at));
		} else if (!strcmp(key, "description")) {
			if (scalar_field(c, pv, "description", &d->description))
				return -1;
		} else if (!strcmp(key, "hosts")) {
			list_free(d->hosts);
			d->hosts = NULL;
			if (is_null(pv))
				d->hosts = xcalloc(1, sizeof(*d->hosts));
			else if (node_list(c, pv, "hosts", &d->hosts, NULL))
				return -1;
		} else if (parse_pair(c, "", pk, pv, &d->s, extra)) {
			return -1;
		}
	}
	return 0;
}

static int parse_root(struct pctx *c, struct cfile *f)
{
	static const char *const extra[] = { "profiles", "profile", NULL };
	yaml_node_t *root = yaml_document_get_root_node(c->doc);
	char loc[ORIGIN_MAX];

	if (!root || is_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE) {
		at(c, root->start_mark, loc, sizeof(loc));
		return errprintf(c->err, "%s: expected a mapping of settings at the top, found %s",
				 loc, node_kind(root));
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = node(c, p->key), *vn = node(c, p->value);
		const char *key = key_name(c, kn);
		if (!key)
			return -1;
		if (!strcmp(key, "profile")) {
			if (profile_name_field(c, vn, "profile", &f->profile))
				return -1;
			at(c, vn->start_mark, f->profile_at, sizeof(f->profile_at));
		} else if (!strcmp(key, "profiles")) {
			if (is_null(vn))
				continue;
			if (vn->type != YAML_MAPPING_NODE) {
				at(c, vn->start_mark, loc, sizeof(loc));
				return errprintf(c->err, "%s: 'profiles' expected a mapping of profile names, found %s",
						 loc, node_kind(vn));
			}
			for (yaml_node_pair_t *q = vn->data.mapping.pairs.start;
			     q < vn->data.mapping.pairs.top; q++)
				if (parse_profile(c, node(c, q->key),
						  node(c, q->value), f))
					return -1;
		} else if (parse_pair(c, "", kn, vn, &f->globals, extra)) {
			return -1;
		}
	}
	return 0;
}

static int yaml_error(const char *path, yaml_parser_t *p, struct err *err)
{
	const char *problem = p->problem ? p->problem : "cannot parse";

	if (p->error == YAML_READER_ERROR)
		return errprintf(err, "%s: invalid text at byte %zu: %s", path,
				 p->problem_offset, problem);
	if (p->context)
		return errprintf(err, "%s:%zu:%zu: YAML syntax error: %s (%s at line %zu, column %zu)",
				 path, mline(p->problem_mark), mcol(p->problem_mark),
				 problem, p->context, mline(p->context_mark),
				 mcol(p->context_mark));
	return errprintf(err, "%s:%zu:%zu: YAML syntax error: %s", path,
			 mline(p->problem_mark), mcol(p->problem_mark), problem);
}

/* Parse YAML text into `doc`; one document at most. */
static int yaml_load_text(const char *path, const char *buf, size_t len,
			  yaml_document_t *doc, struct err *err)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	int ret = -1;

	if (!yaml_parser_initialize(&parser))
		return errprintf(err, "%s: cannot set up the YAML parser", path);
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, doc)) {
		yaml_error(path, &parser, err);
		goto out;
	}
	if (!yaml_document_get_root_node(doc)) {
		ret = 0;
		goto out;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		yaml_error(path, &parser, err);
		yaml_document_delete(doc);
		goto out;
	}
	yaml_node_t *r = yaml_document_get_root_node(&extra);
	if (r) {
		errprintf(err, "%s:%zu:%zu: a second YAML document; a config file holds one",
			  path, mline(r->start_mark), mcol(r->start_mark));
		yaml_document_delete(&extra);
		yaml_document_delete(doc);
		goto out;
	}
	yaml_document_delete(&extra);
	ret = 0;
out:
	yaml_parser_delete(&parser);
	return ret;
}

/* Read and parse one file.  1: missing and optional; 0: parsed. */
static int load_file(const char *path, int must_exist, struct cfile *f,
		     struct err *err)
{
	struct strbuf sb = STRBUF_INIT;
	yaml_document_t doc;
	struct cfile tmp = { 0 };
	int ret;

	if (strbuf_read_file(&sb, path) < 0) {
		if (!must_exist && errno == ENOENT)
			return 1;
		return errprintf(err, "cannot read config file '%s': %s", path,
				 errstr(errno));
	}
	if (yaml_load_text(path, sb.buf, sb.len, &doc, err)) {
		strbuf_release(&sb);
		return -1;
	}
	struct pctx c = { path, sb.buf, sb.len, &doc, err };
	tmp.path = xstrdup(path);
	ret = parse_root(&c, &tmp);
	yaml_document_delete(&doc);
	strbuf_release(&sb);
	if (ret) {
		cfile_release(&tmp);
		return -1;
	}
	*f = tmp;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.yaml of a folder, in name order. */
static int load_dir(const char *dir, int must_exist, struct layer *l,
		    struct err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int ret = 0;

	if (!d) {
		if (!must_exist && (errno == ENOENT || errno == ENOTDIR))
			return 0;
		return errprintf(err, "cannot read profiles folder '%s': %s", dir,
				 errstr(errno));
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 6 ||
		    strcmp(e->d_name + len - 5, ".yaml"))
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct strbuf path = STRBUF_INIT;
		struct cfile f;
		strbuf_addf(&path, "%s/%s", dir, names[i]);
		int r = ret ? 1 : load_file(path.buf, 1, &f, err);
		if (r < 0)
			ret = -1;
		else if (r == 0)
			*layer_add(l) = f;
		strbuf_release(&path);
		free(names[i]);
	}
	free(names);
	return ret;
}

/* --- --set -------------------------------------------------------------- */

/* A LIST given on the command line: "[a, b]" in YAML flow form, or one
 * item. */
static int set_list(struct setting *s, const char *value, const char *where,
		    struct err *err)
{
	yaml_document_t doc;
	yaml_node_t *root;
	int ret = -1;

	if (value[0] != '[') {
		char buf[96];
		if (config_has_control(value))
			return errprintf(err, "%s: invalid item '%s': newlines and other control characters are not allowed",
					 where, shown(value, buf, sizeof(buf)));
		s->list = xcalloc(2, sizeof(*s->list));
		s->list[0] = xstrdup(value);
		s->nlist = 1;
		return 0;
	}
	if (yaml_load_text(where, value, strlen(value), &doc, err))
		return -1;
	root = yaml_document_get_root_node(&doc);
	struct pctx c = { where, value, strlen(value), &doc, err };
	if (root && !node_list(&c, root, s->key->name, &s->list, &s->nlist))
		ret = 0;
	yaml_document_delete(&doc);
	return ret;
}

static int name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static int name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* A --set value that is no list, with $NAME and ${NAME} replaced from the
 * environment.  The shell has had its turn at the command line, so a
 * dollar sign that reaches us was kept for this: job.log-directory=
 * '$SCRATCH/logs' must name a directory now, since no batch directive
 * expands it later.  A '$' before anything but a name stays. */
static int expand_set_value(const char *where, const char *value,
			    struct strbuf *out, struct err *err)
{
	const char *p = value;

	while (*p) {
		const char *dollar = strchr(p, '$');
		const char *name, *end;
		int braced;
		char buf[128];

		if (!dollar) {
			strbuf_addstr(out, p);
			break;
		}
		strbuf_add(out, p, (size_t)(dollar - p));
		braced = dollar[1] == '{';
		name = dollar + 1 + braced;
		end = name;
		if (name_start(*end))
			while (name_char(*end))
				end++;
		if (end == name || (braced && *end != '}') ||
		    (size_t)(end - name) >= sizeof(buf)) {
			if (braced)
				return errprintf(err, "%s: bad variable reference in '%s': "
						 "write ${NAME} with letters, digits and _",
						 where, value);
			strbuf_addch(out, '$');
			p = dollar + 1;
			continue;
		}
		memcpy(buf, name, (size_t)(end - name));
		buf[end - name] = '\0';
		const char *v = getenv(buf);
		if (!v)
			return errprintf(err, "%s: environment variable '%s' is not set "
					 "(in '%s')", where, buf, value);
		strbuf_addstr(out, v);
		p = end + braced;
	}
	return 0;
}

static int parse_set(const char *arg, struct setting *s, struct err *err)
{
	const char *eq = strchr(arg, '=');
	char name[128], where[160];
	const struct config_key *k;

	memset(s, 0, sizeof(*s));
	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name))
		return errprintf(err, "--set wants KEY=VALUE, got '%s'", arg);
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	snprintf(where, sizeof(where), "--set %s", name);
	k = config_key_find(name);
	if (!k) {
		const char *hint = config_suggest_key(name);
		if (hint)
			return errprintf(err, "%s: unknown key '%s' (did you mean '%s'?)",
					 where, name, hint);
		return errprintf(err, "%s: unknown key '%s'", where, name);
	}
	const char *value = eq + 1;
	if (!*value) {			/* KEY= unsets */
		s->key = k;
		snprintf(s->origin, sizeof(s->origin), "--set");
		return 0;
	}
	if (k->type == CONFIG_LIST) {
		s->key = k;
		if (set_list(s, value, where, err))
			return -1;
		s->set = 1;
		s->text = list_render(s->list);
		snprintf(s->origin, sizeof(s->origin), "--set");
		return 0;
	}
	struct strbuf text = STRBUF_INIT;
	int ret = expand_set_value(where, value, &text, err);

	if (ret == 0)
		ret = setting_from_text(s, k, text.buf, where, "--set", err);
	strbuf_release(&text);
	return ret;
}

/* --- merging ------------------------------------------------------------ */

static void value_assign(struct config_value *v, const struct setting *s)
{
	free(v->text);
	list_free(v->list);
	v->text = NULL;
	v->list = NULL;
	v->nlist = 0;
	v->num = 0;
	v->set = s->set;
	if (s->set) {
		v->text = xstrdup(s->text);
		v->num = s->num;
		if (s->key->type == CONFIG_LIST) {
			v->list = list_dup(s->list, s->nlist);
			v->nlist = s->nlist;
		}
	}
	snprintf(v->origin, sizeof(v->origin), "%s", s->origin);
}

static void apply_scope(struct config *cfg, const struct scope *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		value_assign(&cfg->values[sc->v[i].key - config_keys], &sc->v[i]);
}

static struct profile *profile_find(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nprofiles; i++)
		if (!strcmp(cfg->profiles[i].name, name))
			return &cfg->profiles[i];
	return NULL;
}

static int cmp_profile(const void *a, const void *b)
{
	return strcmp(((const struct profile *)a)->name,
		      ((const struct profile *)b)->name);
}

static void merge_profiles(struct config *cfg, struct layer *layers)
{
	for (int li = 0; li < NLAYERS; li++) {
		for (size_t fi = 0; fi < layers[li].n; fi++) {
			struct cfile *f = &layers[li].files[fi];
			for (size_t di = 0; di < f->ndefs; di++) {
				struct pdef *d = &f->defs[di];
				struct profile *p = profile_find(cfg, d->name);
				if (!p) {
					cfg->profiles = xrealloc(cfg->profiles,
						(cfg->nprofiles + 1) * sizeof(*p));
					p = &cfg->profiles[cfg->nprofiles++];
					memset(p, 0, sizeof(*p));
					p->name = xstrdup(d->name);
					p->hosts = xcalloc(1, sizeof(*p->hosts));
				}
				free(p->origin);
				p->origin = xstrdup(f->path);
				if (d->description) {
					free(p->description);
					p->description = xstrdup(d->description);
				}
				if (d->inherit) {
					free(p->inherit);
					p->inherit = xstrdup(d->inherit);
					snprintf(p->inherit_at, sizeof(p->inherit_at),
						 "%s", d->inherit_at);
				}
				if (d->hosts) {
					list_free(p->hosts);
					p->hosts = list_dup(d->hosts, list_len(d->hosts));
					p->hosts_layer = li;
				}
			}
		}
	}
	if (cfg->nprofiles)
		qsort(cfg->profiles, cfg->nprofiles, sizeof(*cfg->profiles),
		      cmp_profile);
}

static void known_profiles(struct config *cfg, struct strbuf *sb)
{
	for (size_t i = 0; i < cfg->nprofiles; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", cfg->profiles[i].name);
}

static int check_inherits(struct config *cfg, struct err *err)
{
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		struct profile *p = &cfg->profiles[i];
		if (p->inherit && !profile_find(cfg, p->inherit)) {
			struct strbuf sb = STRBUF_INIT;
			known_profiles(cfg, &sb);
			errprintf(err, "%s: profile '%s' inherits unknown profile '%s' (known: %s)",
				  p->inherit_at, p->name, p->inherit, sb.buf);
			strbuf_release(&sb);
			return -1;
		}
	}
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		struct profile *p = &cfg->profiles[i], *q = p;
		struct strbuf path = STRBUF_INIT;
		strbuf_addstr(&path, p->name);
		for (size_t steps = 0; q->inherit && steps <= cfg->nprofiles; steps++) {
			q = profile_find(cfg, q->inherit);
			strbuf_addf(&path, " -> %s", q->name);
			if (q == p) {
				errprintf(err, "%s: profile '%s' inherits itself: %s",
					  p->inherit_at, p->name, path.buf);
				strbuf_release(&path);
				return -1;
			}
		}
		strbuf_release(&path);
	}
	return 0;
}

/* Host names are case-insensitive (RFC 4343): "Casper-Login1" is a
 * Casper login node as much as "casper-login1" is. */
static int match_host(const char *pattern, const char *host)
{
	char shorter[256];
	const char *dot = strchr(host, '.');

	if (!fnmatch(pattern, host, FNM_CASEFOLD))
		return 1;
	if (dot && (size_t)(dot - host) < sizeof(shorter)) {
		memcpy(shorter, host, (size_t)(dot - host));
		shorter[dot - host] = '\0';
		return !fnmatch(pattern, shorter, FNM_CASEFOLD);
	}
	return 0;
}

/* `auto`: patterns of later layers first (a user's profile beats a bundled
 * one), then profiles in name order. */
static void choose_auto(struct config *cfg, const char *host,
			const char **name, struct strbuf *reason)
{
	for (int li = NLAYERS - 1; li >= 0; li--) {
		for (size_t i = 0; i < cfg->nprofiles; i++) {
			struct profile *p = &cfg->profiles[i];
			if (p->hosts_layer != li)
				continue;
			for (char **h = p->hosts; *h; h++) {
				if (match_host(*h, host)) {
					*name = p->name;
					strbuf_addf(reason, "auto: hostname '%s' matches '%s' (profile %s)",
						    host, *h, p->name);
					return;
				}
			}
		}
	}
	*name = "local";
	strbuf_addf(reason, "auto: no pattern matches hostname '%s', fallback local",
		    host);
}

/* The profile everyone falls back to, even without bundled files. */
static void builtin_layer(struct layer *l)
{
	struct cfile *f = layer_add(l);
	struct pdef *d;
	struct setting s;

	f->path = xstrdup("built-in");
	f->defs = xcalloc(1, sizeof(*f->defs));
	f->ndefs = 1;
	d = &f->defs[0];
	d->name = xstrdup("local");
	snprintf(d->at, sizeof(d->at), "built-in");
	d->description = xstrdup("this machine only: workers are local processes");
	if (!setting_from_text(&s, config_key_find("backend"), "local",
			       "built-in", "built-in profile local", NULL))
		scope_add(&d->s, &s);
	if (!setting_from_text(&s, config_key_find("scheduler.location"), "local",
			       "built-in", "built-in profile local", NULL))
		scope_add(&d->s, &s);
}

static int load_layers(const struct config_source *src, struct layer *layers,
		       struct err *err)
{
	struct strbuf path = STRBUF_INIT;
	const char *sysconf = src->sysconfdir ? src->sysconfdir : "/etc/cluster";
	const char *home = src->home ? src->home : getenv("HOME");
	const char *file = src->config_file;
	struct cfile f;
	int ret = -1, r;

	builtin_layer(&layers[LAYER_BUILTIN]);
	if (src->datadir && load_dir(src->datadir, 1, &layers[LAYER_BUNDLED], err))
		goto out;

	strbuf_addf(&path, "%s/cluster.yaml", sysconf);
	if ((r = load_file(path.buf, 0, &f, err)) < 0)
		goto out;
	if (r == 0)
		*layer_add(&layers[LAYER_SYSTEM]) = f;
	strbuf_reset(&path);
	strbuf_addf(&path, "%s/profiles.d", sysconf);
	if (load_dir(path.buf, 0, &layers[LAYER_SYSTEM], err))
		goto out;

	if (home && *home) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/.config/cluster/cluster.yaml", home);
		if ((r = load_file(path.buf, 0, &f, err)) < 0)
			goto out;
		if (r == 0)
			*layer_add(&layers[LAYER_USER]) = f;
	}

	if (!file || !*file)
		file = getenv("CLUSTER_CONFIG");
	if (file && *file) {
		if (load_file(file, 1, &f, err) < 0)
			goto out;
		*layer_add(&layers[LAYER_FILE]) = f;
	}
	ret = 0;
out:
	strbuf_release(&path);
	return ret;
}

/* The default profile named by the latest file that names one. */
static const struct cfile *file_profile(struct layer *layers)
{
	for (int li = NLAYERS - 1; li >= 0; li--)
		for (size_t fi = layers[li].n; fi-- > 0;)
			if (layers[li].files[fi].profile)
				return &layers[li].files[fi];
	return NULL;
}

static int choose_profile(struct config *cfg, const struct config_source *src,
			  struct layer *layers, struct err *err)
{
	struct strbuf reason = STRBUF_INIT, known = STRBUF_INIT;
	const struct cfile *pf = file_profile(layers);
	const char *name = "auto", *from = NULL;
	char host[256];

	if (src->profile && *src->profile) {
		name = src->profile;
		strbuf_addstr(&reason, "--profile");
	} else if (pf) {
		name = pf->profile;
		from = pf->profile_at;
		strbuf_addf(&reason, "profile: in %s", pf->profile_at);
	}
	if (!strcmp(name, "auto")) {
		const char *h = src->hostname;
		if (!h) {
			if (gethostname(host, sizeof(host)))
				snprintf(host, sizeof(host), "localhost");
			host[sizeof(host) - 1] = '\0';
			h = host;
		}
		strbuf_reset(&reason);
		choose_auto(cfg, h, &name, &reason);
	}
	if (!profile_find(cfg, name)) {
		known_profiles(cfg, &known);
		if (from)
			errprintf(err, "%s: unknown profile '%s' (known: %s)", from,
				  name, known.buf);
		else
			errprintf(err, "unknown profile '%s' (known: %s)", name,
				  known.buf);
		strbuf_release(&known);
		strbuf_release(&reason);
		return -1;
	}
	cfg->profile = xstrdup(name);
	cfg->reason = strbuf_detach(&reason, NULL);
	return 0;
}

static int apply_defaults(struct config *cfg, struct err *err)
{
	cfg->values = xcalloc(config_nkeys, sizeof(*cfg->values));
	for (unsigned i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		struct config_value *v = &cfg->values[i];
		struct setting s = { .key = k };
		v->key = k;
		snprintf(v->origin, sizeof(v->origin), "default");
		if (!k->def)
			continue;
		if (k->type == CONFIG_LIST) {
			/* list defaults are written in YAML flow form */
			if (set_list(&s, k->def, "built-in default", err))
				return -1;
			s.set = 1;
			s.text = list_render(s.list);
			snprintf(s.origin, sizeof(s.origin), "default");
		} else if (setting_from_text(&s, k, k->def, "built-in default", "default", err))
			return -1;
		value_assign(v, &s);
		setting_release(&s);
	}
	return 0;
}

/* Batch systems name the project in the environment; use it when the
 * profiles leave job.account unset. */
static int apply_env(struct config *cfg, struct err *err)
{
	const struct config_key *ka = config_key_find("job.account");
	struct config_value *acct = &cfg->values[ka - config_keys];
	const struct backend *b = backend_find(
		cfg->values[config_key_find("backend") - config_keys].text);
	const char *var, *val;
	struct setting s;
	char where[64], origin[64];

	if (acct->set || !b || !(var = b->account_env))
		return 0;
	if (!(val = getenv(var)) || !*val)
		return 0;
	snprintf(where, sizeof(where), "environment variable '%s'", var);
	snprintf(origin, sizeof(origin), "env %s", var);
	if (setting_from_text(&s, ka, val, where, origin, err))
		return -1;
	value_assign(acct, &s);
	setting_release(&s);
	return 0;
}

static void build_infos(struct config *cfg)
{
	cfg->infos = xcalloc(cfg->nprofiles, sizeof(*cfg->infos));
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		struct profile *p = &cfg->profiles[i];
		cfg->infos[i].name = p->name;
		cfg->infos[i].description = p->description;
		cfg->infos[i].inherit = p->inherit;
		cfg->infos[i].origin = p->origin;
		cfg->infos[i].hosts = p->hosts;
	}
}

struct config *config_load(const struct config_source *src, struct err *err)
{
	struct layer layers[NLAYERS] = { { 0 } };
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct scope sets = { 0 };
	const char **chain = NULL;
	size_t nchain = 0;

	if (apply_defaults(cfg, err) || load_layers(src, layers, err))
		goto fail;
	for (const char *const *a = src->sets; a && *a; a++) {
		struct setting s;
		if (parse_set(*a, &s, err))
			goto fail;
		scope_add(&sets, &s);
	}
	merge_profiles(cfg, layers);
	if (check_inherits(cfg, err) || choose_profile(cfg, src, layers, err))
		goto fail;

	/* the chain, chosen profile first; applied root first */
	chain = xcalloc(cfg->nprofiles + 1, sizeof(*chain));
	for (struct profile *p = profile_find(cfg, cfg->profile); p;
	     p = p->inherit ? profile_find(cfg, p->inherit) : NULL)
		chain[nchain++] = p->name;
	for (int li = 0; li < NLAYERS; li++) {
		struct layer *l = &layers[li];
		for (size_t fi = 0; fi < l->n; fi++)
			apply_scope(cfg, &l->files[fi].globals);
		for (size_t ci = nchain; ci-- > 0;)
			for (size_t fi = 0; fi < l->n; fi++)
				for (size_t di = 0; di < l->files[fi].ndefs; di++)
					if (!strcmp(l->files[fi].defs[di].name, chain[ci]))
						apply_scope(cfg, &l->files[fi].defs[di].s);
	}
	apply_scope(cfg, &sets);
	if (apply_env(cfg, err))
		goto fail;
	build_infos(cfg);

	free(chain);
	scope_release(&sets);
	for (int li = 0; li < NLAYERS; li++)
		layer_release(&layers[li]);
	return cfg;
fail:
	free(chain);
	scope_release(&sets);
	for (int li = 0; li < NLAYERS; li++)
		layer_release(&layers[li]);
	config_destroy(cfg);
	return NULL;
}

void config_destroy(struct config *cfg)
{
	if (!cfg)
		return;
	for (unsigned i = 0; cfg->values && i < config_nkeys; i++) {
		free(cfg->values[i].text);
		list_free(cfg->values[i].list);
	}
	free(cfg->values);
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		struct profile *p = &cfg->profiles[i];
		free(p->name);
		free(p->description);
		free(p->inherit);
		list_free(p->hosts);
		free(p->origin);
	}
	free(cfg->profiles);
	free(cfg->infos);
	free(cfg->profile);
	free(cfg->reason);
	free(cfg);
}

int config_check_file(const char *path, struct err *err)
{
	struct cfile f;

	if (load_file(path, 1, &f, err) < 0)
		return -1;
	/* Parents may live in other layers; only a cycle among this file's
	 * own profiles is certain to be wrong. */
	for (size_t i = 0; i < f.ndefs; i++) {
		struct pdef *p = &f.defs[i], *q = p;
		struct strbuf chain = STRBUF_INIT;
		strbuf_addstr(&chain, p->name);
		for (size_t steps = 0; q && q->inherit && steps <= f.ndefs; steps++) {
			struct pdef *next = NULL;
			for (size_t j = 0; j < f.ndefs; j++)
				if (!strcmp(f.defs[j].name, q->inherit))
					next = &f.defs[j];
			q = next;
			if (!q)
				break;
			strbuf_addf(&chain, " -> %s", q->name);
			if (q == p) {
				errprintf(err, "%s: profile '%s' inherits itself: %s",
					  p->inherit_at, p->name, chain.buf);
				strbuf_release(&chain);
				cfile_release(&f);
				return -1;
			}
		}
		strbuf_release(&chain);
	}
	cfile_release(&f);
	return 0;
}

const char *config_profile_name(const struct config *cfg)
{
	return cfg->profile;
}

const char *config_profile_reason(const struct config *cfg)
{
	return cfg->reason;
}

const struct config_value *config_get(const struct config *cfg,
				      const char *name)
{
	const struct config_key *k = config_key_find(name);

	return k ? &cfg->values[k - config_keys] : NULL;
}

static const struct config_value *must_get(const struct config *cfg,
					   const char *name)
{
	const struct config_value *v = config_get(cfg, name);

	if (!v) {
		fprintf(stderr, "cluster: no configuration key '%s'\n", name);
		abort();
	}
	return v;
}

const char *config_get_str(const struct config *cfg, const char *name)
{
	const struct config_value *v = must_get(cfg, name);

	return v->set ? v->text : NULL;
}

int64_t config_get_num(const struct config *cfg, const char *name)
{
	const struct config_value *v = must_get(cfg, name);

	return v->set ? v->num : 0;
}

char *const *config_get_list(const struct config *cfg, const char *name)
{
	static char *const empty[] = { NULL };
	const struct config_value *v = must_get(cfg, name);

	return v->set && v->list ? v->list : empty;
}

unsigned config_profiles(const struct config *cfg,
			 const struct config_profile_info **out)
{
	*out = cfg->infos;
	return (unsigned)cfg->nprofiles;
}
