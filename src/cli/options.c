/*
 * options: the one parser of command-line options, and the usage lines
 * and option lists made from the same tables.
 *
 * Why not getopt_long: it knows only "takes an argument or not", so every
 * command wrote its own bounds, unit parsing and messages, and options
 * could only come where one getopt loop looked (the global ones before
 * the subcommand).  Here a value is checked by its declared kind, the
 * message says what was expected, and several tables (a command's own,
 * then the global ones) are read in one pass over argv.
 */
#include "cli/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/suggest.h"
#include "util/units.h"
#include "util/vec.h"

void opt_list_release(struct opt_list *l)
{
	free(l->items);
	l->items = NULL;
	l->n = l->alloc = 0;
}

static void *field(const struct opt *o, void *values)
{
	return (char *)values + o->offset;
}

static void list_add(struct opt_list *l, const char *item)
{
	l->items = vec_grow(l->items, &l->alloc, l->n + 2, sizeof(*l->items));
	l->items[l->n++] = item;
	l->items[l->n] = NULL;
}

/* What a kind's value looks like, for "expected ..." messages. */
static void describe(const struct opt *o, char *buf, size_t size)
{
	switch (o->kind) {
	case OPT_KIND_COUNT:
		if (o->max == UINT64_MAX)
			snprintf(buf, size, "an integer >= %llu",
				 (unsigned long long)o->min);
		else
			snprintf(buf, size, "an integer from %llu to %llu",
				 (unsigned long long)o->min,
				 (unsigned long long)o->max);
		break;
	case OPT_KIND_SIZE:
		snprintf(buf, size, "a size like 4GiB");
		break;
	case OPT_KIND_DURATION:
		snprintf(buf, size, "a duration like 90m or 01:30:00");
		break;
	default:
		snprintf(buf, size, "%s", o->metavar ? o->metavar : "a value");
		break;
	}
}

/* Store `arg` as o's value; `spelled` is the option as the user wrote
 * it ("--limit" or "-l"), for the message. */
static int set_value(const struct opt *o, void *values, const char *spelled,
		     const char *arg, struct err *err)
{
	void *p = field(o, values);
	char what[64];
	uint64_t v;

	switch (o->kind) {
	case OPT_KIND_FLAG:
		(*(int *)p)++;
		break;
	case OPT_KIND_STRING:
		*(const char **)p = arg;
		break;
	case OPT_KIND_COUNT:
		if (count_parse(arg, o->min, o->max, &v) < 0) {
			describe(o, what, sizeof(what));
			return errprintf(err, "%s: expected %s, got '%s'",
					 spelled, what, arg);
		}
		*(uint64_t *)p = v;
		break;
	case OPT_KIND_SIZE:
		if (size_parse(arg, &v, err) < 0)
			return errprefix(err, "%s", spelled);
		*(uint64_t *)p = v;
		break;
	case OPT_KIND_DURATION:
		if (duration_parse(arg, &v, err) < 0)
			return errprefix(err, "%s", spelled);
		*(uint64_t *)p = v;
		break;
	case OPT_KIND_LIST:
		list_add(p, arg);
		break;
	case OPT_KIND_CALLBACK:
		if (o->parse(o, spelled, arg, p, err) < 0)
			return -1;
		break;
	case OPT_KIND_END:
		abort();
	}
	if (o->seen)
		(*(int *)((char *)values + o->seen - 1))++;
	return 0;
}

static const struct opt *find_long(const struct opt_group *groups,
				   size_t ngroups, const char *name,
				   size_t len, void **values)
{
	for (size_t g = 0; g < ngroups; g++)
		for (const struct opt *o = groups[g].opts;
		     o && o->kind != OPT_KIND_END; o++)
			if (strlen(o->name) == len && !memcmp(o->name, name, len)) {
				*values = groups[g].values;
				return o;
			}
	return NULL;
}

static const struct opt *find_short(const struct opt_group *groups,
				    size_t ngroups, char c, void **values)
{
	for (size_t g = 0; g < ngroups; g++)
		for (const struct opt *o = groups[g].opts;
		     o && o->kind != OPT_KIND_END; o++)
			if (o->short_name && o->short_name == c) {
				*values = groups[g].values;
				return o;
			}
	return NULL;
}

/* "unknown option '--stat' for 'tasks' (did you mean '--state'?)": the
 * suggestion from the visible long names of every group. */
static int unknown(const struct opt_group *groups, size_t ngroups,
		   struct err *err, const char *spelled, const char *cmd)
{
	const char **names = NULL, *hint = NULL;
	size_t n = 0, alloc = 0;
	char quoted[160] = "";

	if (spelled[1] == '-') {
		for (size_t g = 0; g < ngroups; g++)
			for (const struct opt *o = groups[g].opts;
			     o && o->kind != OPT_KIND_END; o++)
				if (!(o->flags & OPT_HIDDEN)) {
					names = vec_grow(names, &alloc, n + 1,
							 sizeof(*names));
					names[n++] = o->name;
				}
		hint = suggest(spelled + 2, names, n);
	}
	if (hint)
		snprintf(quoted, sizeof(quoted), " (did you mean '--%s'?)", hint);
	free(names);
	if (cmd)
		return errprintf(err, "unknown option '%s' for '%s'%s", spelled,
				 cmd, quoted);
	return errprintf(err, "unknown option '%s'%s", spelled, quoted);
}

static int missing(struct err *err, const struct opt *o, const char *spelled)
{
	char what[64];

	describe(o, what, sizeof(what));
	return errprintf(err, "%s: expected %s, got nothing", spelled, what);
}

/* "--name", "--name=value" at argv[*i]; may take argv[*i + 1]. */
static int parse_long(const struct opt_group *groups, size_t ngroups,
		      int argc, char **argv, int *i, const char *cmd,
		      struct err *err)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	char spelled[128];
	void *values;
	const struct opt *o = find_long(groups, ngroups, name, len, &values);

	snprintf(spelled, sizeof(spelled), "--%.*s", (int)len, name);
	if (!o)
		return unknown(groups, ngroups, err, spelled, cmd);
	if (o->kind == OPT_KIND_FLAG) {
		if (eq)
			return errprintf(err, "%s: takes no value, got '%s'",
					 spelled, eq + 1);
		return set_value(o, values, spelled, NULL, err);
	}
	if (eq)
		return set_value(o, values, spelled, eq + 1, err);
	if (*i + 1 >= argc)
		return missing(err, o, spelled);
	return set_value(o, values, spelled, argv[++*i], err);
}

/* "-x", "-xVALUE", "-x VALUE", "-vv" at argv[*i]; may take argv[*i + 1]. */
static int parse_short(const struct opt_group *groups, size_t ngroups,
		       int argc, char **argv, int *i, const char *cmd,
		       struct err *err)
{
	for (const char *p = argv[*i] + 1; *p; p++) {
		char spelled[3] = { '-', *p, '\0' };
		void *values;
		const struct opt *o = find_short(groups, ngroups, *p, &values);

		if (!o)
			return unknown(groups, ngroups, err, spelled, cmd);
		if (o->kind == OPT_KIND_FLAG) {
			if (set_value(o, values, spelled, NULL, err) < 0)
				return -1;
			continue;
		}
		if (p[1])
			return set_value(o, values, spelled, p + 1, err);
		if (*i + 1 >= argc)
			return missing(err, o, spelled);
		return set_value(o, values, spelled, argv[++*i], err);
	}
	return 0;
}

int opt_parse(const struct opt_group *groups, size_t ngroups, int argc,
	      char **argv, unsigned flags, const char *cmd, struct err *err)
{
	int n = 0, i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		int rc;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1]) {
			argv[n++] = argv[i];
			if (flags & OPT_STOP_AT_ARG) {
				i++;
				break;
			}
			continue;
		}
		if (a[1] == '-')
			rc = parse_long(groups, ngroups, argc, argv, &i, cmd, err);
		else
			rc = parse_short(groups, ngroups, argc, argv, &i, cmd, err);
		if (rc < 0)
			return -1;
	}
	for (; i < argc; i++)
		argv[n++] = argv[i];
	argv[n] = NULL;
	return n;
}

void opt_release(const struct opt_group *groups, size_t ngroups)
{
	for (size_t g = 0; g < ngroups; g++)
		for (const struct opt *o = groups[g].opts;
		     o && o->kind != OPT_KIND_END; o++)
			if (o->kind == OPT_KIND_LIST)
				opt_list_release(field(o, groups[g].values));
}

/* "-o FILE" or "--role head|worker", as the usage line and list show. */
static void spell(struct strbuf *sb, const struct opt *o, int both)
{
	if (o->short_name && both)
		strbuf_addf(sb, "-%c, --%s", o->short_name, o->name);
	else if (o->short_name)
		strbuf_addf(sb, "-%c", o->short_name);
	else
		strbuf_addf(sb, "--%s", o->name);
	if (o->kind != OPT_KIND_FLAG)
		strbuf_addf(sb, " %s", o->metavar ? o->metavar : "VALUE");
}

static void add_word(struct strbuf *sb, size_t *col, const char *word,
		     size_t indent, size_t width)
{
	size_t len = strlen(word);

	if (width && *col > indent && *col + 1 + len > width) {
		strbuf_addch(sb, '\n');
		for (size_t k = 0; k < indent; k++)
			strbuf_addch(sb, ' ');
		*col = indent;
	} else {
		strbuf_addch(sb, ' ');
		(*col)++;
	}
	strbuf_addstr(sb, word);
	*col += len;
}

void opt_usage(struct strbuf *sb, const char *prefix, const struct opt *opts,
	       const char *args, size_t width)
{
	struct strbuf word = STRBUF_INIT;
	size_t col = strlen(prefix), indent = col + 1;

	strbuf_addstr(sb, prefix);
	for (const struct opt *o = opts; o && o->kind != OPT_KIND_END; o++) {
		if (o->flags & (OPT_HIDDEN | OPT_NOUSAGE))
			continue;
		strbuf_reset(&word);
		strbuf_addch(&word, '[');
		spell(&word, o, 0);
		strbuf_addstr(&word, o->kind == OPT_KIND_LIST ? "]..." : "]");
		add_word(sb, &col, word.buf, indent, width);
	}
	if (args && *args)
		add_word(sb, &col, args, indent, width);
	strbuf_release(&word);
}

/* Docs start in this column, unless an option's spelling is longer. */
#define DOC_COLUMN_MAX 28

static void widen(size_t *col, size_t len)
{
	if (len + 4 > *col && len + 4 <= DOC_COLUMN_MAX)
		*col = len + 4;
}

static void help_line(struct strbuf *sb, const char *left, const char *doc,
		      size_t col)
{
	size_t len = strlen(left) + 2;

	strbuf_addf(sb, "  %s", left);
	if (doc && *doc)
		strbuf_addf(sb, "%*s%s", (int)(len + 2 <= col ? col - len : 2),
			    "", doc);
	strbuf_addch(sb, '\n');
}

void opt_help_args(struct strbuf *sb, const struct opt_arg *args,
		   const struct opt *opts)
{
	struct strbuf left = STRBUF_INIT;
	size_t col = 0;

	for (const struct opt_arg *a = args; a && a->name; a++)
		widen(&col, strlen(a->name));
	for (const struct opt *o = opts; o && o->kind != OPT_KIND_END; o++) {
		if (o->flags & OPT_HIDDEN)
			continue;
		strbuf_reset(&left);
		spell(&left, o, 1);
		widen(&col, left.len);
	}
	for (const struct opt_arg *a = args; a && a->name; a++)
		help_line(sb, a->name, a->doc, col);
	for (const struct opt *o = opts; o && o->kind != OPT_KIND_END; o++) {
		if (o->flags & OPT_HIDDEN)
			continue;
		strbuf_reset(&left);
		spell(&left, o, 1);
		help_line(sb, left.buf, o->doc, col);
	}
	strbuf_release(&left);
}

void opt_help(struct strbuf *sb, const struct opt *opts)
{
	opt_help_args(sb, NULL, opts);
}

int opt_any_visible(const struct opt *opts)
{
	for (const struct opt *o = opts; o && o->kind != OPT_KIND_END; o++)
		if (!(o->flags & OPT_HIDDEN))
			return 1;
	return 0;
}
