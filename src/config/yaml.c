/*
 * The YAML reader: one file's text, through libyaml's document API, into
 * settings per scope (struct cfile), every key and value checked against
 * the table and every error placed at file:line:col.  Nothing is applied
 * here; config.c merges what this reads.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config/internal.h"
#include "util/xalloc.h"

/* strerror, lowercased to match the message style. */
static const char *errstr(int e)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s", strerror(e));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static struct setting *scope_find(struct scope *sc, const struct config_key *k)
{
	for (size_t i = 0; i < sc->n; i++)
		if (sc->v[i].key == k)
			return &sc->v[i];
	return NULL;
}

/* Parsing context of one YAML text. */
struct pctx {
	const char *path;
	const char *buf;
	size_t len;
	yaml_document_t *doc;
	struct err *err;
};

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
					 config_shown(v, buf, sizeof(buf)), what);
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
				  loc, config_shown(sb.buf, buf, sizeof(buf)), what);
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
	config_list_free(list);
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
	if (!k && config_is_group(name.buf)) {
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
		const char *hint = config_suggest(name.buf, *prefix ? NULL : extra);
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
		config_scope_add(sc, &s);	/* an explicit null unsets */
		ret = 0;
		goto out;
	}
	if (k->type == CONFIG_LIST) {
		if (node_list(c, vn, k->name, &s.list, &s.nlist))
			goto out;
		s.set = 1;
		s.text = config_list_render(s.list);
		config_scope_add(sc, &s);
		ret = 0;
		goto out;
	}
	if (vn->type != YAML_SCALAR_NODE) {
		struct err why;
		int64_t dummy;
		if (k->type == CONFIG_STRING || k->type == CONFIG_WORD ||
		    config_value_check(k, "\x01", &dummy, &why) == 0)
			snprintf(why.text, sizeof(why.text), "expected a single value");
		errprintf(c->err, "%s: '%s' %s, found %s", vloc, k->name,
			  why.text, node_kind(vn));
		goto out;
	}
	if (scalar_text(c, vn, k->name, &text))
		goto out;
	if (config_setting_from_text(&s, k, text.buf, vloc, loc, c->err))
		goto out;
	config_scope_add(sc, &s);
	ret = 0;
out:
	config_setting_release(&s);
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
			  loc, config_shown(sb.buf, buf, sizeof(buf)), what);
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
				 loc, config_shown(*out, buf, sizeof(buf)), what);
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
				 loc, config_shown(name, buf, sizeof(buf)));
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
			config_list_free(d->hosts);
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
int config_load_file(const char *path, int must_exist, struct cfile *f,
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
		config_cfile_release(&tmp);
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
int config_load_dir(const char *dir, int must_exist, struct layer *l,
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
		int r = ret ? 1 : config_load_file(path.buf, 1, &f, err);
		if (r < 0)
			ret = -1;
		else if (r == 0)
			*config_layer_add(l) = f;
		strbuf_release(&path);
		free(names[i]);
	}
	free(names);
	return ret;
}

/* A LIST given on the command line: "[a, b]" in YAML flow form, or one
 * item. */
int config_set_list(struct setting *s, const char *value, const char *where,
		    struct err *err)
{
	yaml_document_t doc;
	yaml_node_t *root;
	int ret = -1;

	if (value[0] != '[') {
		char buf[96];
		if (config_has_control(value))
			return errprintf(err, "%s: invalid item '%s': newlines and other control characters are not allowed",
					 where, config_shown(value, buf, sizeof(buf)));
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
