/* The option parser: every kind, bounds, --opt=value, "--", unknown and
 * incomplete options, repeats, positional order, callbacks, usage and
 * help text. */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "util/units.h"

struct vals {
	int verbose;
	const char *name;
	const char *output;
	uint64_t limit;
	uint64_t retries;
	int retries_seen;
	uint64_t memory;
	uint64_t timeout;
	struct opt_list env;
	int secret;
};

static const struct opt table[] = {
	OPT_FLAG("verbose", 'v', "more output", struct vals, verbose),
	OPT_STRING("name", 'n', "NAME", "the group's name", struct vals, name),
	OPT_STRING("output", 'o', "FILE", "write to FILE", struct vals, output),
	OPT_COUNT("limit", 0, "N", "at most N", struct vals, limit, 1, 1000000),
	OPT_COUNT("retries", 0, "N", "runs again", struct vals, retries, 0,
		  UINT64_MAX, .seen = OPT_SEEN(struct vals, retries_seen)),
	OPT_SIZE("memory", 'm', "SIZE", "memory it needs", struct vals, memory),
	OPT_DURATION("timeout", 0, "DUR", "give up after DUR", struct vals,
		     timeout),
	OPT_LIST("env", 'e', "K=V", "add a variable", struct vals, env),
	OPT_FLAG("secret", 0, "hidden", struct vals, secret,
		 .flags = OPT_HIDDEN),
	OPT_END,
};

static struct vals v;
static struct err err;
static char *args[32];

static void reset(void)
{
	struct opt_group g = { table, &v };

	opt_release(&g, 1);
	memset(&v, 0, sizeof(v));
	memset(&err, 0, sizeof(err));
}

/* Copy the words into args[], NULL-terminated; returns their count. */
static int words(const char *first, va_list ap)
{
	int argc = 0;

	for (const char *a = first; a; a = va_arg(ap, const char *))
		args[argc++] = (char *)a;
	args[argc] = NULL;
	return argc;
}

/* Parse the NULL-terminated words against `table`; the positional
 * arguments are left in args[]. */
static int parse_flags(unsigned flags, const char *cmd, const char *first, ...)
{
	struct opt_group g = { table, &v };
	va_list ap;
	int argc;

	reset();
	va_start(ap, first);
	argc = words(first, ap);
	va_end(ap);
	return opt_parse(&g, 1, argc, args, flags, cmd, &err);
}

#define parse(...) parse_flags(0, "tasks", __VA_ARGS__, (const char *)NULL)

START_TEST(kinds)
{
	ck_assert_int_eq(parse("-v", "--verbose", "--name", "grp", "--output=f",
			       "--limit", "10", "--memory", "1.5GiB",
			       "--timeout", "90m", "--env", "A=1"), 0);
	ck_assert_int_eq(v.verbose, 2);
	ck_assert_str_eq(v.name, "grp");
	ck_assert_str_eq(v.output, "f");
	ck_assert_uint_eq(v.limit, 10);
	ck_assert_uint_eq(v.memory, 1610612736ull);
	ck_assert_uint_eq(v.timeout, 5400);
	ck_assert_uint_eq(v.env.n, 1);
	ck_assert_str_eq(v.env.items[0], "A=1");
	ck_assert_ptr_null(v.env.items[1]);
	ck_assert_int_eq(v.retries_seen, 0);
}
END_TEST

START_TEST(equals_form)
{
	ck_assert_int_eq(parse("--limit=7", "--memory=2GB", "--timeout=01:00:00",
			       "--name=", "--env=B=2"), 0);
	ck_assert_uint_eq(v.limit, 7);
	ck_assert_uint_eq(v.memory, 2000000000ull);
	ck_assert_uint_eq(v.timeout, 3600);
	ck_assert_str_eq(v.name, "");
	ck_assert_str_eq(v.env.items[0], "B=2");	/* only the first '=' */
}
END_TEST

START_TEST(short_forms)
{
	ck_assert_int_eq(parse("-n", "grp", "-ofile", "-vv", "-vm", "4G",
			       "-eX=1"), 0);
	ck_assert_str_eq(v.name, "grp");
	ck_assert_str_eq(v.output, "file");
	ck_assert_int_eq(v.verbose, 3);
	ck_assert_uint_eq(v.memory, 4ull << 30);
	ck_assert_str_eq(v.env.items[0], "X=1");
}
END_TEST

START_TEST(count_bounds)
{
	ck_assert_int_eq(parse("--limit", "0"), -1);
	ck_assert_str_eq(err.text,
		"--limit: expected an integer from 1 to 1000000, got '0'");
	ck_assert_int_eq(parse("--limit", "1000001"), -1);
	ck_assert_str_eq(err.text,
		"--limit: expected an integer from 1 to 1000000, got '1000001'");
	ck_assert_int_eq(parse("--limit=-1"), -1);
	ck_assert_str_eq(err.text,
		"--limit: expected an integer from 1 to 1000000, got '-1'");
	ck_assert_int_eq(parse("--limit", "1e3"), -1);
	ck_assert_int_eq(parse("--limit", "99999999999999999999999"), -1);
	ck_assert_int_eq(parse("--limit", "1", "--limit", "1000000"), 0);
	ck_assert_uint_eq(v.limit, 1000000);
	ck_assert_int_eq(parse("--retries", "x"), -1);
	ck_assert_str_eq(err.text, "--retries: expected an integer >= 0, got 'x'");
}
END_TEST

START_TEST(units_errors)
{
	ck_assert_int_eq(parse("--memory", "4 bananas"), -1);
	ck_assert_str_eq(err.text, "--memory: invalid size '4 bananas': "
			 "expected a number and a unit like 4GiB, 1.5GB or 512MB");
	ck_assert_int_eq(parse("-m", "-1G"), -1);
	ck_assert_msg(!strncmp(err.text, "-m: invalid size '-1G'", 22), "%s",
		      err.text);
	ck_assert_int_eq(parse("--timeout", "soon"), -1);
	ck_assert_msg(!strncmp(err.text, "--timeout: invalid duration 'soon'", 34),
		      "%s", err.text);
}
END_TEST

START_TEST(seen_counts)
{
	ck_assert_int_eq(parse("--retries", "0"), 0);
	ck_assert_int_eq(v.retries_seen, 1);
	ck_assert_uint_eq(v.retries, 0);
	ck_assert_int_eq(parse("--retries", "3", "--retries=0"), 0);
	ck_assert_int_eq(v.retries_seen, 2);
	ck_assert_uint_eq(v.retries, 0);
}
END_TEST

START_TEST(repeated)
{
	ck_assert_int_eq(parse("--name", "a", "--name", "b", "-e", "X=1",
			       "--env", "Y=2", "--env=Z=3", "-v", "-v"), 0);
	ck_assert_str_eq(v.name, "b");		/* the last one wins */
	ck_assert_uint_eq(v.env.n, 3);		/* lists keep every one */
	ck_assert_str_eq(v.env.items[0], "X=1");
	ck_assert_str_eq(v.env.items[1], "Y=2");
	ck_assert_str_eq(v.env.items[2], "Z=3");
	ck_assert_int_eq(v.verbose, 2);
}
END_TEST

START_TEST(positional_order)
{
	ck_assert_int_eq(parse("a", "--name", "n", "b", "-", "-v", "c"), 4);
	ck_assert_str_eq(args[0], "a");
	ck_assert_str_eq(args[1], "b");
	ck_assert_str_eq(args[2], "-");
	ck_assert_str_eq(args[3], "c");
	ck_assert_ptr_null(args[4]);
	ck_assert_str_eq(v.name, "n");
	ck_assert_int_eq(v.verbose, 1);
}
END_TEST

START_TEST(double_dash)
{
	ck_assert_int_eq(parse("-v", "x", "--", "--name", "-v", "--"), 4);
	ck_assert_str_eq(args[0], "x");
	ck_assert_str_eq(args[1], "--name");
	ck_assert_str_eq(args[2], "-v");
	ck_assert_str_eq(args[3], "--");
	ck_assert_int_eq(v.verbose, 1);
	ck_assert_ptr_null(v.name);
	ck_assert_int_eq(parse("--"), 0);
	ck_assert_ptr_null(args[0]);
}
END_TEST

START_TEST(stop_at_first_argument)
{
	int n = parse_flags(OPT_STOP_AT_ARG, "submit", "-v", "sh", "-c",
			    "--name", "--", (const char *)NULL);

	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(args[0], "sh");
	ck_assert_str_eq(args[1], "-c");
	ck_assert_str_eq(args[2], "--name");
	ck_assert_str_eq(args[3], "--");
	ck_assert_int_eq(v.verbose, 1);
	ck_assert_ptr_null(v.name);
}
END_TEST

START_TEST(unknown_option)
{
	ck_assert_int_eq(parse("--bogus"), -1);
	ck_assert_str_eq(err.text, "unknown option '--bogus' for 'tasks'");
	ck_assert_int_eq(parse("--bogus=3"), -1);
	ck_assert_str_eq(err.text, "unknown option '--bogus' for 'tasks'");
	ck_assert_int_eq(parse("-vx"), -1);
	ck_assert_str_eq(err.text, "unknown option '-x' for 'tasks'");
	ck_assert_int_eq(parse("--secre"), -1);	/* no abbreviations */
	ck_assert_int_eq(parse_flags(0, NULL, "--bogus", (const char *)NULL), -1);
	ck_assert_str_eq(err.text, "unknown option '--bogus'");
	/* Hidden options are parsed all the same. */
	ck_assert_int_eq(parse("--secret"), 0);
	ck_assert_int_eq(v.secret, 1);
}
END_TEST

START_TEST(missing_argument)
{
	ck_assert_int_eq(parse("--name"), -1);
	ck_assert_str_eq(err.text, "--name: expected NAME, got nothing");
	ck_assert_int_eq(parse("-o"), -1);
	ck_assert_str_eq(err.text, "-o: expected FILE, got nothing");
	ck_assert_int_eq(parse("--limit"), -1);
	ck_assert_str_eq(err.text,
		"--limit: expected an integer from 1 to 1000000, got nothing");
	ck_assert_int_eq(parse("--verbose=yes"), -1);
	ck_assert_str_eq(err.text, "--verbose: takes no value, got 'yes'");
	/* A value may look like an option: it is the value all the same. */
	ck_assert_int_eq(parse("--name", "--verbose"), 0);
	ck_assert_str_eq(v.name, "--verbose");
	ck_assert_int_eq(v.verbose, 0);
}
END_TEST

/* A callback: an even number, at most *data. */
static int even(const struct opt *o, const char *spelled, const char *arg,
		void *field, struct err *e)
{
	const uint64_t *max = o->data;
	uint64_t n;

	if (count_parse(arg, 0, *max, &n) < 0 || n % 2)
		return errprintf(e, "%s: expected an even number <= %llu, got '%s'",
				 spelled, (unsigned long long)*max, arg);
	*(uint64_t *)field = n;
	return 0;
}

static const uint64_t even_max = 10;

struct cb_vals {
	uint64_t pairs;
	int pairs_seen;
};

static const struct opt cb_table[] = {
	OPT_CALLBACK("pairs", 'p', "N", "an even number", struct cb_vals, pairs,
		     even, &even_max, .seen = OPT_SEEN(struct cb_vals, pairs_seen)),
	OPT_END,
};

START_TEST(callback)
{
	struct cb_vals cv = { 0 };
	struct opt_group g = { cb_table, &cv };
	struct strbuf sb = STRBUF_INIT;

	args[0] = (char *)"--pairs=4";
	args[1] = (char *)"x";
	args[2] = (char *)"-p";
	args[3] = (char *)"6";
	args[4] = NULL;
	ck_assert_int_eq(opt_parse(&g, 1, 4, args, 0, "cmd", &err), 1);
	ck_assert_uint_eq(cv.pairs, 6);
	ck_assert_int_eq(cv.pairs_seen, 2);
	args[0] = (char *)"-p3";
	ck_assert_int_eq(opt_parse(&g, 1, 1, args, 0, "cmd", &err), -1);
	ck_assert_str_eq(err.text, "-p: expected an even number <= 10, got '3'");
	ck_assert_uint_eq(cv.pairs, 6);
	args[0] = (char *)"--pairs";
	ck_assert_int_eq(opt_parse(&g, 1, 1, args, 0, "cmd", &err), -1);
	ck_assert_str_eq(err.text, "--pairs: expected N, got nothing");
	opt_usage(&sb, "usage: cluster cmd", cb_table, NULL, 0);
	ck_assert_str_eq(sb.buf, "usage: cluster cmd [-p N]");
	strbuf_release(&sb);
}
END_TEST

struct globals {
	const char *name;
	int verbose;
	struct opt_list sets;
};

static const struct opt global_table[] = {
	OPT_STRING("name", 0, "CLUSTER", "the cluster", struct globals, name),
	OPT_FLAG("verbose", 'v', "more log output", struct globals, verbose),
	OPT_LIST("set", 0, "KEY=VALUE", "set one key", struct globals, sets),
	OPT_END,
};

START_TEST(groups_in_order)
{
	struct globals gv = { 0 };
	struct opt_group groups[] = { { table, &v }, { global_table, &gv } };

	reset();
	args[0] = (char *)"--set";
	args[1] = (char *)"a=1";
	args[2] = (char *)"--name";
	args[3] = (char *)"grp";
	args[4] = (char *)"x";
	args[5] = (char *)"-v";
	args[6] = (char *)"--set=b=2";
	args[7] = NULL;
	ck_assert_int_eq(opt_parse(groups, 2, 7, args, 0, "tasks", &err), 1);
	ck_assert_str_eq(args[0], "x");
	/* The first table's --name and -v hide the second's. */
	ck_assert_str_eq(v.name, "grp");
	ck_assert_ptr_null(gv.name);
	ck_assert_int_eq(v.verbose, 1);
	ck_assert_int_eq(gv.verbose, 0);
	ck_assert_uint_eq(gv.sets.n, 2);
	ck_assert_str_eq(gv.sets.items[1], "b=2");
	opt_release(groups, 2);
	ck_assert_ptr_null(gv.sets.items);
}
END_TEST

START_TEST(usage_line)
{
	struct strbuf sb = STRBUF_INIT;

	opt_usage(&sb, "usage: cluster tasks", table, "ID...", 0);
	ck_assert_str_eq(sb.buf, "usage: cluster tasks [-v] [-n NAME] [-o FILE] "
			 "[--limit N] [--retries N] [-m SIZE] [--timeout DUR] "
			 "[-e K=V]... ID...");
	strbuf_reset(&sb);
	opt_usage(&sb, "usage: cluster x", table, NULL, 40);
	ck_assert_str_eq(sb.buf, "usage: cluster x [-v] [-n NAME]\n"
			 "                 [-o FILE] [--limit N]\n"
			 "                 [--retries N] [-m SIZE]\n"
			 "                 [--timeout DUR]\n"
			 "                 [-e K=V]...");
	strbuf_reset(&sb);
	opt_usage(&sb, "usage: cluster workers", NULL, "", 80);
	ck_assert_str_eq(sb.buf, "usage: cluster workers");
	strbuf_release(&sb);
}
END_TEST

START_TEST(help_list)
{
	struct strbuf sb = STRBUF_INIT;

	opt_help(&sb, global_table);
	ck_assert_str_eq(sb.buf,
			 "  --name CLUSTER   the cluster\n"
			 "  -v, --verbose    more log output\n"
			 "  --set KEY=VALUE  set one key\n");
	strbuf_release(&sb);
	ck_assert(opt_any_visible(table));
	ck_assert(!opt_any_visible(NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("options");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, NULL, reset);
	tcase_add_test(tc, kinds);
	tcase_add_test(tc, equals_form);
	tcase_add_test(tc, short_forms);
	tcase_add_test(tc, count_bounds);
	tcase_add_test(tc, units_errors);
	tcase_add_test(tc, seen_counts);
	tcase_add_test(tc, repeated);
	tcase_add_test(tc, positional_order);
	tcase_add_test(tc, double_dash);
	tcase_add_test(tc, stop_at_first_argument);
	tcase_add_test(tc, unknown_option);
	tcase_add_test(tc, missing_argument);
	tcase_add_test(tc, callback);
	tcase_add_test(tc, groups_in_order);
	tcase_add_test(tc, usage_line);
	tcase_add_test(tc, help_list);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
