/*
 * complete: the words a shell may complete a cluster command line with,
 * for `cluster __complete` (tools/cluster-completion.bash calls it).
 *
 * Why in the program rather than in the shell script: the commands and
 * their options live in the command table and its option tables, the
 * profiles in the configuration, the task states in the client library.
 * A script of its own would be one more copy of each to keep in step;
 * this one reads them where they are, so a new option completes the day
 * it is declared.
 *
 * The line is read as the parser reads it: options before the command
 * are global ones, after it the command's own first, then the global
 * ones; an option that takes a value takes the next word; submit's
 * options end at the first word of the task's command, after which, and
 * after "--", nothing is offered (the shell's own file completion
 * applies).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cluster/client.h"
#include "config/config.h"
#include "util/paths.h"
#include "util/strbuf.h"

/* Print `word` when it begins with `cur`, after `keep` (what the word
 * being completed has before the part offered: "--state=", "done,"). */
static void offer(const char *keep, const char *cur, const char *word)
{
	if (!strncmp(word, cur, strlen(cur)))
		printf("%s%s\n", keep, word);
}

static void offer_options(const struct opt *opts, const char *cur)
{
	char word[128];

	for (const struct opt *o = opts; o && o->kind != OPT_KIND_END; o++) {
		if (o->flags & OPT_HIDDEN)
			continue;
		snprintf(word, sizeof(word), "--%s", o->name);
		offer("", cur, word);
	}
}

static void offer_profiles(const char *keep, const char *cur)
{
	struct config_source src = {
		.profile = "local",
		.datadir = paths_profiles_dir(),
	};
	const struct config_profile_info *info;
	struct err err = { "" };
	struct config *cfg = config_load(&src, &err);
	unsigned n;

	if (!cfg)
		return;
	n = config_profiles(cfg, &info);
	for (unsigned i = 0; i < n; i++)
		offer(keep, cur, info[i].name);
	config_destroy(cfg);
}

/* --state takes a list: complete its last item, keeping the others. */
static void offer_states(const char *keep, const char *cur)
{
	const char *comma = strrchr(cur, ',');
	struct strbuf k = STRBUF_INIT;

	strbuf_addstr(&k, keep);
	if (comma) {
		strbuf_add(&k, cur, (size_t)(comma + 1 - cur));
		cur = comma + 1;
	}
	/* "assigned", which `tasks --state` takes, is a running task not
	 * started yet: no state of its own in the client's task */
	for (int i = 0; i < CLUSTER_TASK_NSTATES; i++) {
		if (i == CLUSTER_TASK_RUNNING)
			offer(k.buf, cur, "assigned");
		offer(k.buf, cur, cluster_task_state_name(i));
	}
	strbuf_release(&k);
}

/* --set KEY=VALUE: the keys, each with its '='. */
static void offer_keys(const char *keep, const char *cur)
{
	struct strbuf word = STRBUF_INIT;

	for (const struct config_key *k = config_keys; k->name; k++) {
		strbuf_reset(&word);
		strbuf_addf(&word, "%s=", k->name);
		offer(keep, cur, word.buf);
	}
	strbuf_release(&word);
}

/* A metavar of lowercase words between bars is the list of choices
 * ("head|worker"). */
static void offer_choices(const char *metavar, const char *keep,
			  const char *cur)
{
	struct strbuf word = STRBUF_INIT;

	if (!metavar || !strchr(metavar, '|') ||
	    strspn(metavar, "abcdefghijklmnopqrstuvwxyz-|") != strlen(metavar))
		return;
	for (const char *p = metavar;; p++) {
		if (*p == '|' || !*p) {
			offer(keep, cur, word.buf);
			strbuf_reset(&word);
			if (!*p)
				break;
		} else {
			strbuf_addch(&word, *p);
		}
	}
	strbuf_release(&word);
}

static void offer_value(const struct opt *o, const char *keep, const char *cur)
{
	if (!strcmp(o->name, "profile"))
		offer_profiles(keep, cur);
	else if (!strcmp(o->name, "state"))
		offer_states(keep, cur);
	else if (!strcmp(o->name, "set"))
		offer_keys(keep, cur);
	else
		offer_choices(o->metavar, keep, cur);
}

/* The option a word names, in the tables that apply where it stands. */
static const struct opt *find(const struct cmd_entry *cmd, const char *word)
{
	const struct opt *const tables[] = {
		cmd ? cmd->options : cli_main_options,
		cli_global_options,
		cmd ? cli_help_options : NULL,
	};
	size_t len = strcspn(word + 2, "=");

	if (strncmp(word, "--", 2))
		return NULL;
	for (size_t t = 0; t < 3; t++)
		for (const struct opt *o = tables[t]; o && o->kind != OPT_KIND_END; o++)
			if (strlen(o->name) == len && !strncmp(o->name, word + 2, len))
				return o;
	return NULL;
}

static const struct opt *find_short(const struct cmd_entry *cmd, char c)
{
	const struct opt *const tables[] = {
		cmd ? cmd->options : cli_main_options,
		cli_global_options,
	};

	for (size_t t = 0; t < 2; t++)
		for (const struct opt *o = tables[t]; o && o->kind != OPT_KIND_END; o++)
			if (o->short_name == c)
				return o;
	return NULL;
}

int cli_complete(int argc, char **argv)
{
	const struct cmd_entry *cmd = NULL;
	const struct opt *wants = NULL;	/* the last word wants a value */
	const char *cur = argc > 0 ? argv[argc - 1] : "";
	int positional = 0;

	for (int i = 0; i < argc - 1; i++) {
		const char *w = argv[i];
		const struct opt *o;

		if (wants) {
			wants = NULL;
			continue;
		}
		if (!strcmp(w, "--"))
			return 0;
		if (w[0] == '-' && w[1] == '-') {
			o = find(cmd, w);
			if (o && o->kind != OPT_KIND_FLAG && !strchr(w, '='))
				wants = o;
			continue;
		}
		if (w[0] == '-' && w[1]) {
			/* -vv, -oFILE, -o FILE: as the parser reads them. */
			for (const char *p = w + 1; *p; p++) {
				o = find_short(cmd, *p);
				if (o && o->kind != OPT_KIND_FLAG) {
					if (!p[1])
						wants = o;
					break;
				}
			}
			continue;
		}
		if (!cmd) {
			cmd = cli_find_command(w);
			if (!cmd)
				return 0;
			continue;
		}
		if (cmd->flags & CMD_STOP_AT_ARG)
			return 0;	/* the task's own command */
		positional++;
	}
	if (wants) {
		offer_value(wants, "", cur);
		return 0;
	}
	if (cur[0] == '-') {
		const char *eq = strchr(cur, '=');
		const struct opt *o = eq ? find(cmd, cur) : NULL;
		if (o) {
			struct strbuf keep = STRBUF_INIT;
			strbuf_add(&keep, cur, (size_t)(eq + 1 - cur));
			offer_value(o, keep.buf, eq + 1);
			strbuf_release(&keep);
			return 0;
		}
		if (cmd) {
			offer_options(cmd->options, cur);
			offer_options(cli_help_options, cur);
		} else {
			offer_options(cli_main_options, cur);
		}
		offer_options(cli_global_options, cur);
		return 0;
	}
	if (!cmd) {
		for (const struct cmd_entry *const *e = cli_commands; *e; e++)
			offer("", cur, (*e)->name);
	} else if (!strcmp(cmd->name, "help") && !positional) {
		for (const struct cmd_entry *const *e = cli_commands; *e; e++)
			offer("", cur, (*e)->name);
	} else if (!strcmp(cmd->name, "config") && !positional) {
		for (const struct opt_arg *a = cmd->args; a && a->name; a++) {
			char word[64];
			snprintf(word, sizeof(word), "%.*s", (int)strcspn(a->name, " "),
				 a->name);
			offer("", cur, word);
		}
	}
	return 0;
}
