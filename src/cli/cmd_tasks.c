/*
 * cluster tasks: a table of tasks filtered by state, group and id, one
 * line per group (--summary), or either as JSON for scripts.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "cluster/client.h"
#include "util/idset.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

struct tasks_args {
	const char *state;
	const char *group;
	uint64_t from;
	uint64_t limit;
	int wide;
	int summary;
	int json;
};

static const struct opt tasks_options[] = {
	OPT_STRING("state", 0, "STATE[,STATE...]",
		   "only tasks in these states, e.g. running,failed",
		   struct tasks_args, state),
	OPT_STRING("group", 0, "NAME", "only tasks of this group",
		   struct tasks_args, group),
	OPT_COUNT("from", 0, "ID", "only tasks with this id or a larger one",
		  struct tasks_args, from, 1, UINT64_MAX),
	OPT_COUNT("limit", 0, "N", "at most N tasks", struct tasks_args, limit,
		  1, UINT64_MAX),
	OPT_FLAG("wide", 'w', "whole lines, however wide the terminal",
		 struct tasks_args, wide),
	OPT_FLAG("summary", 's', "one line per group: tasks per state, their ids",
		 struct tasks_args, summary),
	OPT_FLAG("json", 0, "JSON: the API's task objects, or the groups",
		 struct tasks_args, json),
	OPT_END,
};

static int cmd_tasks(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_tasks_entry = {
	.name = "tasks",
	.exec = cmd_tasks,
	.summary = "list tasks: id, state, group, worker, exit, run time, peak memory, command",
	.options = tasks_options,
	.opts_size = sizeof(struct tasks_args),
};

/* "assigned" in --state: running tasks their worker holds without
 * having started them; "running" is then the started ones. */
#define ASSIGNED_BIT (1u << CLUSTER_TASK_NSTATES)

static int parse_states(const char *s, unsigned *mask)
{
	struct strbuf item = STRBUF_INIT;
	int ret = 0;

	*mask = 0;
	for (;;) {
		const char *comma = strchr(s, ',');
		strbuf_reset(&item);
		strbuf_add(&item, s, comma ? (size_t)(comma - s) : strlen(s));
		int st = cluster_task_state_parse(item.buf);
		if (!strcmp(item.buf, "assigned")) {
			*mask |= ASSIGNED_BIT;
		} else if (st < 0) {
			ret = -1;
			break;
		} else {
			*mask |= 1u << st;
		}
		if (!comma)
			break;
		s = comma + 1;
	}
	strbuf_release(&item);
	return ret;
}

/* The client lists running and assigned tasks as one state: when --state
 * names only one of the two, the other is left out here, and --limit
 * counted here too. */
struct split {
	unsigned mask;			/* parse_states' */
	uint64_t limit, n;
	cluster_task_fn fn;
	cluster_json_fn jfn;
	void *arg;
};

static int split_wants(const struct split *sp, int running, int assigned)
{
	if (!running)
		return 1;
	return assigned ? !!(sp->mask & ASSIGNED_BIT) :
		!!(sp->mask & (1u << CLUSTER_TASK_RUNNING));
}

static int split_task(const struct cluster_task *t, void *arg)
{
	struct split *sp = arg;

	if (!split_wants(sp, t->state == CLUSTER_TASK_RUNNING,
			 t->start_time <= 0))
		return 0;
	if (sp->fn(t, sp->arg))
		return 1;
	return sp->limit && ++sp->n >= sp->limit;
}

static int split_json(const char *json, void *arg)
{
	struct split *sp = arg;
	json_t *j = json_loads(json, 0, NULL);
	const char *st = json_string_value(json_object_get(j, "state"));
	int want = split_wants(sp, st && (!strcmp(st, "running") ||
					  !strcmp(st, "assigned")),
			       st && !strcmp(st, "assigned"));

	json_decref(j);
	if (!want)
		return 0;
	if (sp->jfn(json, sp->arg))
		return 1;
	return sp->limit && ++sp->n >= sp->limit;
}

/* Does --state split running from assigned? */
static int split_needed(unsigned mask)
{
	return !(mask & ASSIGNED_BIT) != !(mask & (1u << CLUSTER_TASK_RUNNING));
}

/* A command is cut to fit the line, but to no fewer columns than this. */
#define MIN_COMMAND 20

struct listing {
	size_t width;			/* columns of a line; 0: no limit */
	int headed;			/* the header is out */
};

/* Printed with the first row, or once the answer came: never before a
 * scheduler has answered, so an error is the only thing printed. */
static void header(struct listing *l)
{
	if (l->headed++)
		return;
	printf("%-8s %-9s %-16s %-6s %-3s %-16s %-5s %-8s %-8s %s\n", "ID",
	       "STATE", "GROUP", "INDEX", "RUN", "WORKER", "EXIT", "RUNTIME",
	       "PEAKMEM", "COMMAND");
}

static int row(const struct cluster_task *t, void *arg)
{
	struct listing *l = arg;
	struct strbuf line = STRBUF_INIT, cmd = STRBUF_INIT, why = STRBUF_INIT;
	char index[24] = "-", worker[64] = "-", exitc[24] = "-", rt[24] = "-";
	struct strbuf peak = STRBUF_INIT;

	header(l);
	format_shell_words(&cmd, t->argv);
	if (t->reason)
		strbuf_addf(&why, " (%s)", t->reason);
	if (t->has_index)
		snprintf(index, sizeof(index), "%" PRId64, t->index);
	if (t->worker_name)
		snprintf(worker, sizeof(worker), "%s", t->worker_name);
	else if (t->worker >= 0)
		snprintf(worker, sizeof(worker), "%d", t->worker);
	if (t->state == CLUSTER_TASK_RUNNING && t->start_time > 0) {
		/* the time it has run so far */
		snprintf(rt, sizeof(rt), "%.1fs", t->elapsed);
	} else if (t->has_result) {
		if (t->signal)
			snprintf(exitc, sizeof(exitc), "sig%d", t->signal);
		else if (t->exit_code >= 0)
			snprintf(exitc, sizeof(exitc), "%d", t->exit_code);
		snprintf(rt, sizeof(rt), "%.1fs", t->runtime);
	}
	if (t->has_result && t->peak_memory)
		format_size(&peak, t->peak_memory);
	else
		strbuf_addch(&peak, '-');
	strbuf_addf(&line, "%-8" PRIu64 " %-9s %-16s %-6s %-3u %-16s %-5s %-8s %-8s ",
		    t->id, format_task_state(t), t->name, index,
		    t->attempts, worker, exitc, rt, peak.buf);
	if (l->width) {
		size_t used = format_columns(line.buf) + format_columns(why.buf);
		format_cut(&cmd, used + MIN_COMMAND < l->width ?
			   l->width - used : MIN_COMMAND);
	}
	printf("%s%s%s\n", line.buf, cmd.buf, why.buf);
	strbuf_release(&line);
	strbuf_release(&cmd);
	strbuf_release(&why);
	strbuf_release(&peak);
	return 0;
}

/* --summary: the tasks of each group, in the order groups first appear;
 * names are found through a small open-addressing table of indices. */
struct group_sum {
	char *name;
	uint64_t total, state[CLUSTER_TASK_NSTATES];
	struct idset ids;
};

struct summary {
	struct group_sum *g;
	size_t n, alloc;
	size_t *slot;			/* index + 1 into g; 0: empty */
	size_t nslots;			/* a power of two, > 2 * n */
};

static size_t name_hash(const char *s)
{
	size_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void summary_rehash(struct summary *sm)
{
	free(sm->slot);
	sm->nslots = sm->nslots ? sm->nslots * 2 : 64;
	sm->slot = xcalloc(sm->nslots, sizeof(*sm->slot));
	for (size_t i = 0; i < sm->n; i++) {
		size_t k = name_hash(sm->g[i].name) & (sm->nslots - 1);
		while (sm->slot[k])
			k = (k + 1) & (sm->nslots - 1);
		sm->slot[k] = i + 1;
	}
}

static struct group_sum *summary_group(struct summary *sm, const char *name)
{
	size_t k;

	if (2 * (sm->n + 1) >= sm->nslots)
		summary_rehash(sm);
	for (k = name_hash(name) & (sm->nslots - 1); sm->slot[k];
	     k = (k + 1) & (sm->nslots - 1))
		if (!strcmp(sm->g[sm->slot[k] - 1].name, name))
			return &sm->g[sm->slot[k] - 1];
	sm->g = vec_grow(sm->g, &sm->alloc, sm->n + 1, sizeof(*sm->g));
	memset(&sm->g[sm->n], 0, sizeof(*sm->g));
	sm->g[sm->n].name = xstrdup(name);
	sm->slot[k] = ++sm->n;
	return &sm->g[sm->n - 1];
}

static int summary_add(const struct cluster_task *t, void *arg)
{
	struct group_sum *gs = summary_group(arg, t->name);

	gs->total++;
	if ((int)t->state >= 0 && t->state < CLUSTER_TASK_NSTATES)
		gs->state[t->state]++;
	/* Ids come in increasing order: the set stays normalized. */
	idset_add(&gs->ids, t->id, t->id);
	return 0;
}

static void summary_print(const struct summary *sm)
{
	struct strbuf ids = STRBUF_INIT;

	printf("%-16s %-8s", "GROUP", "TASKS");
	for (int i = 0; i < CLUSTER_TASK_NSTATES; i++) {
		char head[16];
		size_t k;
		for (k = 0; cluster_task_state_name(i)[k] && k + 1 < sizeof(head); k++)
			head[k] = (char)toupper((unsigned char)cluster_task_state_name(i)[k]);
		head[k] = '\0';
		printf(" %-9s", head);
	}
	printf(" IDS\n");
	for (size_t i = 0; i < sm->n; i++) {
		const struct group_sum *gs = &sm->g[i];
		strbuf_reset(&ids);
		idset_format(&ids, &gs->ids);
		printf("%-16s %-8" PRIu64, gs->name, gs->total);
		for (int k = 0; k < CLUSTER_TASK_NSTATES; k++)
			printf(" %-9" PRIu64, gs->state[k]);
		printf(" %s\n", ids.buf);
	}
	strbuf_release(&ids);
}

/* The groups with the words of the API: "counts" as /api/v1/wait has. */
static void summary_print_json(const struct summary *sm)
{
	struct json_out out = JSON_OUT_INIT(stdout);
	struct strbuf ids = STRBUF_INIT;

	for (size_t i = 0; i < sm->n; i++) {
		const struct group_sum *gs = &sm->g[i];
		json_t *counts = json_object(), *j;
		char *text;
		for (int k = 0; k < CLUSTER_TASK_NSTATES; k++)
			json_object_set_new(counts, cluster_task_state_name(k),
					    json_integer((json_int_t)gs->state[k]));
		strbuf_reset(&ids);
		idset_format(&ids, &gs->ids);
		j = json_pack("{s:s,s:I,s:o,s:s}", "group", gs->name, "tasks",
			      (json_int_t)gs->total, "counts", counts, "ids",
			      ids.buf);
		text = json_dumps(j, JSON_COMPACT);
		if (text)
			json_out_item(text, &out);
		free(text);
		json_decref(j);
	}
	json_out_end(&out);
	strbuf_release(&ids);
}

static void summary_release(struct summary *sm)
{
	for (size_t i = 0; i < sm->n; i++) {
		free(sm->g[i].name);
		idset_release(&sm->g[i].ids);
	}
	free(sm->g);
	free(sm->slot);
}

static int cmd_tasks(int argc, char **argv, void *opts, struct cli_globals *g)
{
	const struct tasks_args *a = opts;
	struct cluster_task_filter f = {
		.name = a->group,
		.after = a->from ? a->from - 1 : 0,
		.limit = a->limit,
	};
	struct listing l = {
		.width = a->wide ? 0 : format_width(STDOUT_FILENO),
	};
	cluster_client_t *c;

	unsigned mask = 0;
	if (a->state && parse_states(a->state, &mask) < 0)
		return cli_usage_error(&cmd_tasks_entry,
			"--state: expected waiting, queued, assigned, running, done, failed or cancelled, got '%s'",
			a->state);
	f.states = mask & ~ASSIGNED_BIT;
	if (mask & ASSIGNED_BIT)
		f.states |= 1u << CLUSTER_TASK_RUNNING;
	struct split sp = { mask, f.limit, 0, NULL, NULL, NULL };
	int splitting = split_needed(mask);
	if (splitting)
		f.limit = 0;
	if (argc > 0)
		return cli_usage_error(&cmd_tasks_entry, "unexpected argument '%s'",
				       argv[0]);
	c = cli_open_client(g);
	if (!c)
		return 1;
	if (a->summary) {
		struct summary sm = { 0 };
		int rc = 0;
		sp.fn = summary_add;
		sp.arg = &sm;
		if (cluster_tasks(c, &f, splitting ? split_task : summary_add,
				  splitting ? (void *)&sp : &sm) < 0) {
			fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
			rc = 1;
		} else if (a->json) {
			summary_print_json(&sm);
		} else {
			summary_print(&sm);
		}
		summary_release(&sm);
		cluster_client_close(c);
		return rc;
	}
	if (a->json) {
		struct json_out out = JSON_OUT_INIT(stdout);
		int rc = 0;
		sp.jfn = json_out_item;
		sp.arg = &out;
		if (cluster_tasks_json(c, &f, splitting ? split_json : json_out_item,
				       splitting ? (void *)&sp : &out) < 0) {
			fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
			rc = 1;
		} else {
			json_out_end(&out);
		}
		cluster_client_close(c);
		return rc;
	}
	sp.fn = row;
	sp.arg = &l;
	if (cluster_tasks(c, &f, splitting ? split_task : row,
			  splitting ? (void *)&sp : &l) < 0) {
		fprintf(stderr, "cluster: %s\n", cluster_client_error(c));
		cluster_client_close(c);
		return 1;
	}
	header(&l);
	cluster_client_close(c);
	return 0;
}
