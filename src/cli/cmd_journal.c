/*
 * cluster journal: the scheduler's journal (journal/journal.h) from the
 * command line.
 *
 *	export [--since T]  the events, one JSON object a line, read from
 *			    the state directory's file (a stopped cluster's
 *			    too: the journal, else journal.old)
 *	compact		    rewrite the journal from what it describes: a
 *			    running scheduler does it itself (POST
 *			    /api/v1/journal/compact); a stopped cluster's
 *			    file is replayed here and written back, under
 *			    the state directory's lock so no scheduler
 *			    starts on it meanwhile
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/scheduler.h"
#include "cluster/client.h"
#include "journal/journal.h"
#include "state/state.h"
#include "util/clock.h"
#include "util/units.h"

struct journal_args {
	const char *since;
};

static const struct opt journal_options[] = {
	OPT_STRING("since", 0, "T", "export: events from T on, Unix seconds or "
		   "a duration ago (10m, 2h)", struct journal_args, since),
	OPT_END,
};

static const struct opt_arg journal_args_doc[] = {
	{ "export", "print the journal's events, one JSON object a line" },
	{ "compact", "rewrite the journal with only what it still needs" },
	{ NULL, NULL },
};

static int cmd_journal(int argc, char **argv, void *opts,
		       struct cli_globals *g);

const struct cmd_entry cmd_journal_entry = {
	.name = "journal",
	.exec = cmd_journal,
	.usage = "export [--since T] | compact",
	.summary = "print the scheduler's journal, or compact it",
	.args = journal_args_doc,
	.options = journal_options,
	.opts_size = sizeof(struct journal_args),
};

/* --since: Unix seconds, or a duration before now. */
static int parse_since(const char *s, double *out, struct err *err)
{
	char *end;
	uint64_t ago;

	errno = 0;
	double t = strtod(s, &end);
	if (!errno && end != s && !*end && t > 1e8) {
		*out = t;
		return 0;
	}
	if (duration_parse(s, &ago, NULL) == 0) {
		*out = clock_wall() - (double)ago;
		return 0;
	}
	return errprintf(err, "--since: expected Unix seconds or a duration "
			 "(10m, 2h), got '%s'", s);
}

struct export {
	double since;
	uint64_t printed;
};

static int print_record(void *arg, unsigned long line, json_t *rec,
			struct err *err)
{
	struct export *x = arg;
	json_t *t = json_object_get(rec, "t");
	struct strbuf sb = STRBUF_INIT;

	(void)line;
	(void)err;
	if (x->since > 0 && (!json_is_number(t) ||
			     json_number_value(t) < x->since))
		return 0;
	journal_encode(&sb, rec);
	puts(sb.buf);
	strbuf_release(&sb);
	x->printed++;
	return 0;
}

static int journal_export(const char *dir, const struct journal_args *o)
{
	struct strbuf path = STRBUF_INIT;
	struct journal_found found = { 0 };
	struct export x = { 0 };
	struct err err = { "" };
	struct stat st;
	int rc = 1;

	if (o->since && parse_since(o->since, &x.since, &err) < 0) {
		fprintf(stderr, "cluster: %s\n", err.text);
		goto out;
	}
	strbuf_addf(&path, "%s/%s", dir, STATE_JOURNAL);
	if (stat(path.buf, &st) < 0) {
		strbuf_reset(&path);
		strbuf_addf(&path, "%s/%s", dir, STATE_JOURNAL_OLD);
		if (stat(path.buf, &st) < 0) {
			fprintf(stderr, "cluster: no journal in '%s'\n", dir);
			goto out;
		}
	}
	if (journal_read(path.buf, 0, print_record, &x, &found, &err) < 0) {
		fprintf(stderr, "cluster: '%s': %s\n", path.buf, err.text);
		goto out;
	}
	if (found.torn)
		fprintf(stderr, "cluster: the last line of '%s' is cut short "
			"(the scheduler's next start drops it)\n", path.buf);
	if (found.zeroed_lines)
		fprintf(stderr, "cluster: '%s': %llu line%s from line %lu "
			"hold zeros (a block a crash of the machine lost): "
			"left out\n", path.buf,
			(unsigned long long)found.zeroed_lines,
			found.zeroed_lines == 1 ? "" : "s", found.zeroed_first);
	rc = 0;
out:
	fflush(stdout);
	strbuf_release(&path);
	return rc;
}

/* A stopped cluster's journal, replayed here and written back. */
static int compact_file(const char *dir)
{
	struct strbuf path = STRBUF_INIT;
	struct journal_found found = { 0 };
	struct sched_hooks hooks = { 0 };
	struct sched *s = NULL;
	struct err err = { "" };
	struct stat st;
	uint64_t size = 0;
	int fd, rc = 1;

	fd = state_lock(dir, 0, &err);
	if (fd < 0 && errno == EWOULDBLOCK) {
		fprintf(stderr, "cluster: a scheduler holds '%s'; try again once "
			"it answers, or stop it\n", dir);
		return 1;
	}
	strbuf_addf(&path, "%s/%s", dir, STATE_JOURNAL);
	if (stat(path.buf, &st) < 0) {
		fprintf(stderr, "cluster: no journal in '%s'\n", dir);
		goto out;
	}
	s = sched_create(&hooks);
	if (!s) {
		fprintf(stderr, "cluster: out of memory\n");
		goto out;
	}
	/* the detail of every ended task is kept: it goes back to the file */
	sched_set_detail_limit(s, (size_t)-1);
	if (journal_replay(path.buf, s, &found, &err) < 0 ||
	    journal_compact(path.buf, s, &found, &size, &err) < 0) {
		fprintf(stderr, "cluster: '%s': %s\n", path.buf, err.text);
		goto out;
	}
	printf("compacted the journal '%s': %llu to %llu bytes, %llu tasks\n",
	       path.buf, (unsigned long long)st.st_size,
	       (unsigned long long)size, (unsigned long long)found.tasks);
	rc = 0;
out:
	journal_found_release(&found);
	sched_destroy(s);
	state_unlock(fd);
	strbuf_release(&path);
	return rc;
}

static int journal_compact_cmd(const struct cli_globals *g, const char *dir)
{
	struct state_address a;
	cluster_client_t *c;
	uint64_t size = 0;
	int rc;

	if (!cli_scheduler_running(dir, g->name, &a))
		return compact_file(dir);
	c = cli_open_client(g);
	if (!c)
		return 1;
	rc = cluster_journal_compact(c, &size);
	if (rc < 0)
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
	else
		printf("the scheduler compacted its journal to %llu bytes\n",
		       (unsigned long long)size);
	cluster_client_close(c);
	return rc < 0 ? 1 : 0;
}

static int cmd_journal(int argc, char **argv, void *opts,
		       struct cli_globals *g)
{
	const struct journal_args *o = opts;
	struct strbuf dir = STRBUF_INIT;
	struct err err = { "" };
	int rc = 1;

	if (argc < 1)
		return cli_usage_error(&cmd_journal_entry, "export or compact?");
	if (argc > 1)
		return cli_usage_error(&cmd_journal_entry,
				       "unexpected argument '%s'", argv[1]);
	if (strcmp(argv[0], "export") && strcmp(argv[0], "compact"))
		return cli_usage_error(&cmd_journal_entry, "unknown action '%s' "
				       "(export or compact)", argv[0]);
	if (o->since && strcmp(argv[0], "export"))
		return cli_usage_error(&cmd_journal_entry,
				       "--since is for export");
	if (state_dir(g->name, 0, &dir, &err) < 0) {
		fprintf(stderr, "cluster: %s\n", err.text);
		goto out;
	}
	rc = !strcmp(argv[0], "export") ? journal_export(dir.buf, o) :
		journal_compact_cmd(g, dir.buf);
out:
	strbuf_release(&dir);
	return rc;
}
