/*
 * options: command-line options declared in a table, read by one parser.
 *
 * A command declares its options once (tmux's cmd_entry .args, git's
 * parse-options): long name, optional short letter, the kind of value,
 * a metavar for the usage line, a one-line doc and the field the value
 * goes to.  opt_parse reads argv against one or more such tables, checks
 * every value (bounds, units) and says what was expected when it is
 * wrong; opt_usage and opt_help print the usage line and the option list
 * from the same table, so help, errors and the parser cannot disagree.
 *
 * Values go into a struct of the caller's: each option names a field by
 * its offset, and the OPT_* macros check the field's type at compile
 * time.  The kinds and the type of their field:
 *
 *	OPT_FLAG	int: how many times it was given (-v -v is 2)
 *	OPT_STRING	const char *: the argument, pointing into argv;
 *			the last one given wins
 *	OPT_COUNT	uint64_t: a whole number in [min, max]
 *	OPT_SIZE	uint64_t: bytes, as util/units.h reads a size
 *	OPT_DURATION	uint64_t: seconds, as util/units.h reads a duration
 *	OPT_LIST	struct opt_list: every argument, in order (--set A
 *			--set B); the only kind that allocates
 *	OPT_CALLBACK	whatever the command's function stores: for values
 *			whose rules live in another table (task fields)
 *
 * Every macro takes optional designated initializers at the end:
 * `.flags = OPT_HIDDEN`, or `.seen = OPT_SEEN(struct s, field)` for an
 * int that counts the option's occurrences, where a value of 0 given on
 * purpose must differ from no value at all.
 */
#ifndef CLUSTER_CLI_OPTIONS_H
#define CLUSTER_CLI_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

enum opt_kind {
	OPT_KIND_END,
	OPT_KIND_FLAG,
	OPT_KIND_STRING,
	OPT_KIND_COUNT,
	OPT_KIND_SIZE,
	OPT_KIND_DURATION,
	OPT_KIND_LIST,
	OPT_KIND_CALLBACK,
};

/* opt.flags */
#define OPT_HIDDEN	1u	/* parsed, never shown (test and benchmark
				   hooks) */
#define OPT_NOUSAGE	2u	/* in the option list but not the usage line,
				   whose arguments part names it already */

struct opt;

/* OPT_CALLBACK: read `arg` into `field` (o's field in the values struct);
 * -1 + err on a bad value, err naming `spelled` ("--cores", "-c"). */
typedef int opt_parse_fn(const struct opt *o, const char *spelled,
			 const char *arg, void *field, struct err *err);

struct opt {
	const char *name;		/* long name, without "--" */
	char short_name;		/* 0: none */
	enum opt_kind kind;
	const char *metavar;		/* "N", "FILE"; NULL for a flag */
	const char *doc;		/* one line, lowercase, no full stop */
	size_t offset;			/* of the value in the caller's struct */
	size_t seen;			/* OPT_SEEN: 1 + offset of an int
					   counting occurrences; 0: none */
	uint64_t min, max;		/* OPT_COUNT bounds, inclusive */
	unsigned flags;
	opt_parse_fn *parse;		/* OPT_CALLBACK */
	const void *data;		/* OPT_CALLBACK: for parse, as it likes */
};

/* The arguments of a repeated option: items[0..n) point into argv and
 * items[n] is NULL; items is NULL while the list is empty. */
struct opt_list {
	const char **items;
	size_t n, alloc;
};

void opt_list_release(struct opt_list *l);

/* One table and the struct its offsets point into. */
struct opt_group {
	const struct opt *opts;		/* ends with OPT_END */
	void *values;
};

/* Offset of T.f, which must have type `type` (a compile-time check). */
#define OPT_FIELD_(T, f, type) \
	(offsetof(T, f) + 0 * sizeof((type *){ 0 } = &((T *)0)->f))
#define OPT_SEEN(T, f) (OPT_FIELD_(T, f, int) + 1)

#define OPT_FLAG(lng, sh, doc_, T, f, ...) \
	{ .name = lng, .short_name = sh, .kind = OPT_KIND_FLAG, \
	  .doc = doc_, .offset = OPT_FIELD_(T, f, int), __VA_ARGS__ }
#define OPT_STRING(lng, sh, meta, doc_, T, f, ...) \
	{ .name = lng, .short_name = sh, .kind = OPT_KIND_STRING, \
	  .metavar = meta, .doc = doc_, \
	  .offset = OPT_FIELD_(T, f, const char *), __VA_ARGS__ }
#define OPT_COUNT(lng, sh, meta, doc_, T, f, lo, hi, ...) \
	{ .name = lng, .short_name = sh, .kind = OPT_KIND_COUNT, \
	  .metavar = meta, .doc = doc_, \
	  .offset = OPT_FIELD_(T, f, uint64_t), .min = lo, .max = hi, \
	  __VA_ARGS__ }
#define OPT_SIZE(lng, sh, meta, doc_, T, f, ...) \
	{ .name = lng, .short_name = sh, .kind = OPT_KIND_SIZE, \
	  .metavar = meta, .doc = doc_, \
	  .offset = OPT_FIELD_(T, f, uint64_t), __VA_ARGS__ }
#define OPT_DURATION(lng, sh, meta, doc_, T, f, ...) \
	{ .name = lng, .short_name = sh, .kind = OPT_KIND_DURATION, \
	  .metavar = meta, .doc = doc_, \
	  .offset = OPT_FIELD_(T, f, uint64_t), __VA_ARGS__ }
#define OPT_LIST(lng, sh, meta, doc_, T, f, ...) \
	{ .name = lng, .short_name = sh, .kind = OPT_KIND_LIST, \
	  .metavar = meta, .doc = doc_, \
	  .offset = OPT_FIELD_(T, f, struct opt_list), __VA_ARGS__ }
/* The field's type is the callback's business: no check here. */
#define OPT_CALLBACK(lng, sh, meta, doc_, T, f, fn, data_, ...) \
	{ .name = lng, .short_name = sh, .kind = OPT_KIND_CALLBACK, \
	  .metavar = meta, .doc = doc_, .offset = offsetof(T, f), \
	  .parse = fn, .data = data_, __VA_ARGS__ }
#define OPT_END { .kind = OPT_KIND_END }

/* opt_parse flags */
#define OPT_STOP_AT_ARG	1u	/* the first positional argument ends the
				   options: what follows is a command (a
				   subcommand's, or a task's) */

/*
 * Read argv[0..argc) against the groups.  Accepted: --name VALUE,
 * --name=VALUE, -x VALUE, -xVALUE, bundled flags (-vv), and "--", which
 * ends the options.  A lone "-" is a positional argument.  A name is
 * looked up in the groups in order, so an earlier group's option hides a
 * later group's of the same name.
 *
 * Positional arguments are moved, in order, to argv[0..n) and argv[n] is
 * set to NULL (argv must have argc + 1 slots, as main's has); returns n.
 * On a malformed option returns -1 with err saying which and why,
 * e.g. "--limit: expected an integer from 1 to 1000000, got '0'", or
 * "unknown option '--bogus' for 'tasks'" when `cmd` names the command
 * (NULL: no " for ..." part).  Values parsed before the error are kept;
 * opt_release frees the lists either way.
 */
int opt_parse(const struct opt_group *groups, size_t ngroups, int argc,
	      char **argv, unsigned flags, const char *cmd, struct err *err);

/* Free the OPT_LIST values of the groups (what opt_parse allocated). */
void opt_release(const struct opt_group *groups, size_t ngroups);

/*
 * Append a usage synopsis: `prefix`, one bracket per visible option
 * ("[--role head|worker]", "[-o FILE]", "[--env K=V]..."), then `args`
 * (the positional part, may be NULL or "").  With width > 0 lines are
 * broken before a bracket that would pass that column, and continue
 * under the first bracket; with width 0 it is one line.  No newline at
 * the end.
 */
void opt_usage(struct strbuf *sb, const char *prefix, const struct opt *opts,
	       const char *args, size_t width);

/* Append one line per visible option: "  -o, --output FILE  doc". */
void opt_help(struct strbuf *sb, const struct opt *opts);

/* A positional argument or action of a command, for its help: the
 * name as the usage line writes it ("check FILE", "ID|A-B...") and a
 * one-line doc.  Lists of them end with a NULL name. */
struct opt_arg {
	const char *name;
	const char *doc;
};

/* One line per argument, then per visible option, docs in one column. */
void opt_help_args(struct strbuf *sb, const struct opt_arg *args,
		   const struct opt *opts);

/* 1 when the table has an option to show in a usage line or list. */
int opt_any_visible(const struct opt *opts);

#endif
