/*
 * cluster config: show the effective settings and where each came from,
 * check a file, list the profiles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "cli/format.h"
#include "cli/suggest.h"
#include "config/config.h"
#include "jobscript/jobscript.h"
#include "util/units.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

struct config_args {
	int json;
};

static const struct opt config_options[] = {
	OPT_FLAG("json", 0, "show: one JSON object of the profile and every key",
		 struct config_args, json),
	OPT_END,
};

static const struct opt_arg config_args[] = {
	{ "show", "every key's effective value and where it came from" },
	{ "check FILE", "check FILE on its own, then with the other layers" },
	{ "profiles", "the profiles, and the one a command would use now" },
	{ NULL, NULL },
};

static int cmd_config(int argc, char **argv, void *opts, struct cli_globals *g);

const struct cmd_entry cmd_config_entry = {
	.name = "config",
	.exec = cmd_config,
	.usage = "show | check FILE | profiles",
	.summary = "show the effective configuration, check a file, list profiles",
	.args = config_args,
	.options = config_options,
	.opts_size = sizeof(struct config_args),
};

/* What rendered() wrote: nothing, the figure as the job script writes
 * it, or a note on what the value means for the workers. */
enum { RENDERED_NONE, RENDERED_AS, RENDERED_NOTE };

/* What the reservation leaves each worker, which is its memory limit. */
static int worker_share(const struct config *cfg, struct strbuf *sb)
{
	struct strbuf size = STRBUF_INIT;
	struct job_size js;

	if (job_size_from_config(cfg, &js, NULL) < 0)
		return RENDERED_NONE;
	size_format(&size, js.worker_memory);
	strbuf_addf(sb, "%u worker%s per node, %s each", js.processes,
		    js.processes == 1 ? "" : "s", size.buf);
	strbuf_release(&size);
	return RENDERED_NOTE;
}

/* How the job script writes job.memory and job.walltime, so a size given
 * in GB can be checked against the binary units the batch system reads;
 * 0 when it writes neither (or no batch system reads it). */
static int rendered(const struct config *cfg, const struct config_value *v,
		    struct strbuf *sb)
{
	const struct backend *b = backend_find(config_get_str(cfg, "backend"));
	struct job_size js;

	if (!strcmp(v->key->name, "job.reserved-memory"))
		return worker_share(cfg, sb);
	if (!b || !b->is_batch || !v->set)
		return RENDERED_NONE;
	if (!strcmp(v->key->name, "job.walltime")) {
		duration_format_hms(sb, (uint64_t)v->num);
		return RENDERED_AS;
	}
	if (!strcmp(v->key->name, "job.memory") &&
	    job_size_from_config(cfg, &js, NULL) == 0) {
		struct backend_job job = { .nodes = js.nodes, .memory = js.memory };
		b->memory_request(&job, sb);
		return RENDERED_AS;
	}
	return RENDERED_NONE;
}

/* A value as show prints it: as written, sizes and durations also in
 * bytes or seconds and as rendered. */
static void value_text(const struct config *cfg, const struct config_value *v,
		       struct strbuf *sb)
{
	struct strbuf r = STRBUF_INIT;
	int has_r = rendered(cfg, v, &r);

	if (!v->set)
		strbuf_addstr(sb, "(unset)");
	else if (v->key->type == CONFIG_SIZE)
		strbuf_addf(sb, "%s (%lld bytes%s%s)", v->text, (long long)v->num,
			    has_r == RENDERED_AS ? "; rendered " :
			    has_r == RENDERED_NOTE ? "; " : "", r.buf);
	else if (v->key->type == CONFIG_DURATION)
		strbuf_addf(sb, "%s (%lld seconds%s%s)", v->text,
			    (long long)v->num,
			    has_r == RENDERED_AS ? "; rendered " : "", r.buf);
	else
		strbuf_addstr(sb, v->text);
	strbuf_release(&r);
}

/* `dir/` at the start of s: the length to skip, else 0. */
static size_t under(const char *s, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n && !strncmp(s, dir, n) && s[n] == '/' ? n + 1 : 0;
}

/* Origins for people: a bundled profile by its file's name, which the
 * header says where to find, a file of the home directory under ~. */
static void short_origin(const struct cli_globals *g, const char *origin,
			 struct strbuf *sb, int *bundled)
{
	const char *home = getenv("HOME");
	size_t n;

	if ((n = under(origin, g->profiles_dir))) {
		strbuf_addstr(sb, origin + n);
		*bundled = 1;
	} else if (home && *home && strcmp(home, "/") &&
		   (n = under(origin, home))) {
		strbuf_addf(sb, "~/%s", origin + n);
	} else {
		strbuf_addstr(sb, origin);
	}
}

/* Values wider than this push their origin along instead of widening
 * the column for every key. */
#define VALUE_COLUMN_MAX 48

static void show_table(const struct cli_globals *g, const struct config *cfg)
{
	struct strbuf *values = xcalloc(config_nkeys, sizeof(*values)),
		      origin = STRBUF_INIT;
	size_t kw = 0, vw = 0, i;
	int bundled = 0;
	const struct config_key *k;

	for (k = config_keys, i = 0; k->name; k++, i++) {
		strbuf_init(&values[i], 0);
		value_text(cfg, config_get(cfg, k->name), &values[i]);
		if (strlen(k->name) > kw)
			kw = strlen(k->name);
		if (format_columns(values[i].buf) > vw &&
		    format_columns(values[i].buf) <= VALUE_COLUMN_MAX)
			vw = format_columns(values[i].buf);
		strbuf_reset(&origin);
		short_origin(g, config_get(cfg, k->name)->origin, &origin,
			     &bundled);
	}
	printf("# profile %s: %s\n", config_profile_name(cfg),
	       cli_profile_reason(g, cfg));
	if (bundled)
		printf("# NAME.yaml: a bundled profile, in %s\n",
		       g->profiles_dir);
	for (k = config_keys, i = 0; k->name; k++, i++) {
		size_t w = format_columns(values[i].buf);
		strbuf_reset(&origin);
		short_origin(g, config_get(cfg, k->name)->origin, &origin,
			     &bundled);
		printf("%-*s = %s%*s  # %s\n", (int)kw, k->name, values[i].buf,
		       w < vw ? (int)(vw - w) : 0, "", origin.buf);
		strbuf_release(&values[i]);
	}
	free(values);
	strbuf_release(&origin);
}

/* A key's value as JSON: numbers, booleans and lists typed, the rest
 * strings; null when unset. */
static json_t *value_json(const struct config_value *v)
{
	json_t *list;

	if (!v->set)
		return json_null();
	switch (v->key->type) {
	case CONFIG_INT:
	case CONFIG_SIZE:
	case CONFIG_DURATION:
		return json_integer((json_int_t)v->num);
	case CONFIG_BOOL:
		return json_boolean(v->num);
	case CONFIG_LIST:
		list = json_array();
		for (unsigned i = 0; i < v->nlist; i++)
			json_array_append_new(list, json_string(v->list[i]));
		return list;
	default:
		return json_string(v->text);
	}
}

static int show_json(struct cli_globals *g, const struct config *cfg)
{
	json_t *keys = json_object(), *j;
	struct strbuf r = STRBUF_INIT;
	char *text;

	for (const struct config_key *k = config_keys; k->name; k++) {
		const struct config_value *v = config_get(cfg, k->name);
		json_t *o = json_pack("{s:o,s:o,s:s}", "value", value_json(v),
				      "text", v->set ? json_string(v->text) :
				      json_null(), "origin", v->origin);
		strbuf_reset(&r);
		switch (rendered(cfg, v, &r)) {
		case RENDERED_AS:
			json_object_set_new(o, "rendered", json_string(r.buf));
			break;
		case RENDERED_NOTE:
			json_object_set_new(o, "note", json_string(r.buf));
			break;
		}
		json_object_set_new(keys, k->name, o);
	}
	j = json_pack("{s:s,s:s,s:o}", "profile", config_profile_name(cfg),
		      "reason", cli_profile_reason(g, cfg), "keys", keys);
	text = json_dumps(j, JSON_INDENT(2));
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(j);
	strbuf_release(&r);
	return text ? 0 : 1;
}

static int config_show(struct cli_globals *g, int json)
{
	struct config *cfg = cli_load_config(g);
	int rc = 0;

	if (!cfg)
		return 1;
	if (json) {
		rc = show_json(g, cfg);
		config_destroy(cfg);
		return rc;
	}
	show_table(g, cfg);
	config_destroy(cfg);
	return rc;
}

/* The file on its own first (syntax, keys, values), then with the other
 * layers, which is where the parents it inherits may live. */
static int config_check(const char *path, struct cli_globals *g)
{
	struct config_source src = {
		.config_file = path,
		.profile = g->profile,
		.datadir = g->profiles_dir,
	};
	struct err err = { "" };
	struct config *cfg;

	if (config_check_file(path, &err)) {
		fprintf(stderr, "cluster: %s\n", err.text);
		return 1;
	}
	cfg = config_load(&src, &err);
	if (!cfg) {
		fprintf(stderr, "cluster: %s\n", err.text);
		return 1;
	}
	config_destroy(cfg);
	printf("%s: ok\n", path);
	return 0;
}

static void print_list(char *const *list)
{
	for (unsigned i = 0; list && list[i]; i++)
		printf("%s%s", i ? ", " : "", list[i]);
}

static int config_list_profiles(struct cli_globals *g)
{
	/* Loaded as any command would load it, to say which profile that
	 * command would use: --profile, $CLUSTER_PROFILE, a file's
	 * profile key, or auto. */
	const struct config_profile_info *info;
	struct config *cfg = cli_load_config(g);

	if (!cfg)
		return 1;
	unsigned n = config_profiles(cfg, &info);
	for (unsigned i = 0; i < n; i++) {
		printf("%s\n", info[i].name);
		printf("  description: %s\n",
		       info[i].description ? info[i].description : "(none)");
		printf("  inherit:     %s\n",
		       info[i].inherit ? info[i].inherit : "(none)");
		printf("  hosts:       ");
		if (info[i].hosts && info[i].hosts[0])
			print_list(info[i].hosts);
		else
			printf("(none)");
		printf("\n  defined in:  %s\n", info[i].origin);
	}
	printf("in use: %s (%s)\n", config_profile_name(cfg),
	       cli_profile_reason(g, cfg));
	config_destroy(cfg);
	return 0;
}

/* Hidden: name, type and default of every key, tab-separated, for the
 * test that holds cluster.yaml(5) to the table and for shell completion. */
static int config_keys_list(void)
{
	static const char *const types[] = {
		[CONFIG_STRING] = "string", [CONFIG_WORD] = "word",
		[CONFIG_INT] = "integer", [CONFIG_BOOL] = "boolean",
		[CONFIG_SIZE] = "size", [CONFIG_DURATION] = "duration",
		[CONFIG_CHOICE] = "choice", [CONFIG_LIST] = "list",
	};

	for (const struct config_key *k = config_keys; k->name; k++)
		printf("%s\t%s\t%s\n", k->name, types[k->type],
		       k->def ? k->def : "(unset)");
	return 0;
}

static int cmd_config(int argc, char **argv, void *opts, struct cli_globals *g)
{
	const struct config_args *a = opts;

	if (argc < 1)
		return cli_usage_error(&cmd_config_entry, "config needs an action");
	const char *what = argv[0];
	if (!strcmp(what, "check")) {
		if (a->json)
			return cli_usage_error(&cmd_config_entry,
					       "--json is for 'config show' only");
		if (argc != 2)
			return cli_usage_error(&cmd_config_entry,
					       "config check takes one FILE");
		return config_check(argv[1], g);
	}
	if (argc != 1)
		return cli_usage_error(&cmd_config_entry,
				       "too many arguments to 'config %s'", what);
	if (!strcmp(what, "show"))
		return config_show(g, a->json);
	if (a->json)
		return cli_usage_error(&cmd_config_entry,
				       "--json is for 'config show' only");
	if (!strcmp(what, "profiles"))
		return config_list_profiles(g);
	if (!strcmp(what, "keys"))
		return config_keys_list();
	static const char *const actions[] = { "show", "check", "profiles" };
	const char *hint = suggest(what, actions, 3);
	if (hint)
		return cli_usage_error(&cmd_config_entry,
				       "unknown action '%s' (did you mean '%s'?)",
				       what, hint);
	return cli_usage_error(&cmd_config_entry, "unknown action '%s'", what);
}
