/*
 * codec: task specs to and from JSON, for the API (and the journal): one
 * reading and one writing of every field, by the field table's names and
 * bounds, so a spec means the same whoever wrote it.  Query strings of
 * /api/v1/tasks/batch come through the same reader, as JSON strings.
 */
#include "task/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "task/fields.h"
#include "util/idset.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

void task_spec_buf_init(struct task_spec_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->spec.cores = 1;
}

void task_spec_buf_release(struct task_spec_buf *b)
{
	for (char **p = b->argv; p && *p; p++)
		free(*p);
	free(b->argv);
	for (char **p = b->env; p && *p; p++)
		free(*p);
	free(b->env);
	free(b->after);
	free(b->after_any);
	for (size_t i = 0; i < sizeof(b->strings) / sizeof(b->strings[0]); i++)
		free(b->strings[i]);
	memset(b, 0, sizeof(*b));
}

/* A string field's value, copied into the buffer's slot. */
static void set_string(char **slot, const char **out, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
	*out = *slot;
}

static int field_array(json_t *v, struct task_spec *spec, struct err *err)
{
	static const char msg[] = "field 'array': expected \"A-B\" with A <= B, "
		"or {\"first\": A, \"last\": B}";

	if (json_is_string(v)) {
		if (task_range_parse(json_string_value(v), &spec->array_first,
				     &spec->array_last) < 0)
			return errprintf(err, "%s", msg);
	} else if (json_is_object(v)) {
		json_t *f = json_object_get(v, "first");
		json_t *l = json_object_get(v, "last");
		if (!json_is_integer(f) || !json_is_integer(l) ||
		    json_object_size(v) != 2 ||
		    json_integer_value(f) > json_integer_value(l))
			return errprintf(err, "%s", msg);
		spec->array_first = json_integer_value(f);
		spec->array_last = json_integer_value(l);
	} else {
		return errprintf(err, "%s", msg);
	}
	spec->is_array = 1;
	return 0;
}

/* The list of `after` or `after_any` (f), with its slots in b and spec. */
static void after_slots(struct task_spec_buf *b, const struct task_field *f,
			task_id_t ***ids, const task_id_t ***spec_ids,
			unsigned **spec_n)
{
	int any = f->id == TASK_FIELD_AFTER_ANY;

	*ids = any ? &b->after_any : &b->after;
	*spec_ids = any ? &b->spec.after_any : &b->spec.after;
	*spec_n = any ? &b->spec.nafter_any : &b->spec.nafter;
}

static int field_after_json(const struct task_field *f, json_t *v,
			    struct task_spec_buf *b, struct err *err)
{
	task_id_t **ids;
	const task_id_t **spec_ids;
	unsigned *spec_n;
	size_t i, n;
	json_t *x;

	if (!json_is_array(v))
		return errprintf(err, "field '%s': expected an array of task ids",
				 f->key);
	n = json_array_size(v);
	if (task_field_check_items(f, NULL, n, err) < 0)
		return -1;
	after_slots(b, f, &ids, &spec_ids, &spec_n);
	free(*ids);
	*ids = xcalloc(n ? n : 1, sizeof(**ids));
	json_array_foreach(v, i, x) {
		if (!json_is_integer(x) || json_integer_value(x) < 1)
			return errprintf(err, "field '%s': element %zu: expected a task id >= 1",
					 f->key, i);
		(*ids)[i] = (task_id_t)json_integer_value(x);
	}
	*spec_ids = *ids;
	*spec_n = (unsigned)n;
	return 0;
}

static int field_after_text(const struct task_field *f, const char *s,
			    struct task_spec_buf *b, struct err *err)
{
	task_id_t **ids;
	const task_id_t **spec_ids;
	unsigned *spec_n;
	size_t n = 1;

	for (const char *p = s; *p; p++)
		n += *p == ',';
	if (task_field_check_items(f, NULL, n, err) < 0)
		return -1;
	after_slots(b, f, &ids, &spec_ids, &spec_n);
	free(*ids);
	*ids = xcalloc(n, sizeof(**ids));
	for (size_t i = 0; i < n; i++) {
		const char *e;
		if (idset_scan_id(s, &e, &(*ids)[i]) < 0 || !(*ids)[i] ||
		    (*e && *e != ','))
			return errprintf(err, "field '%s': expected task ids separated by commas",
					 f->key);
		s = *e ? e + 1 : e;
	}
	*spec_ids = *ids;
	*spec_n = (unsigned)n;
	return 0;
}

static int field_argv(json_t *v, struct task_spec_buf *b, struct err *err)
{
	size_t i, n;
	json_t *x;

	if (!json_is_array(v) || !json_array_size(v))
		return errprintf(err, "field 'argv': expected a non-empty array of strings");
	n = json_array_size(v);
	if (task_field_check_items(task_field(TASK_FIELD_ARGV), NULL, n, err) < 0)
		return -1;
	b->argv = xcalloc(n + 1, sizeof(*b->argv));
	json_array_foreach(v, i, x) {
		if (!json_is_string(x))
			return errprintf(err, "field 'argv': element %zu: expected a string",
					 i);
		b->argv[i] = xstrdup(json_string_value(x));
	}
	if (!*b->argv[0])
		return errprintf(err, "field 'argv': the command is empty");
	b->spec.argv = b->argv;
	return 0;
}

static int field_env(json_t *v, struct task_spec_buf *b, struct err *err)
{
	const char *k;
	json_t *x;
	size_t i = 0;

	if (!json_is_object(v))
		return errprintf(err, "field 'env': expected an object of strings");
	if (task_field_check_items(task_field(TASK_FIELD_ENV), NULL,
				   json_object_size(v), err) < 0)
		return -1;
	b->env = xcalloc(json_object_size(v) + 1, sizeof(*b->env));
	json_object_foreach(v, k, x) {
		struct strbuf sb = STRBUF_INIT;
		if (!*k || strchr(k, '='))
			return errprintf(err, "field 'env': bad variable name '%s'", k);
		if (!json_is_string(x))
			return errprintf(err, "field 'env': variable '%s': expected a string",
					 k);
		strbuf_addf(&sb, "%s=%s", k, json_string_value(x));
		b->env[i++] = strbuf_detach(&sb, NULL);
	}
	b->spec.env = b->env;
	return 0;
}

/* The table names the field and bounds its value; lists and the array
 * range have readers of their own above. */
int task_spec_set(struct task_spec_buf *b, const char *k, json_t *v,
		  int from_query, struct err *err)
{
	const struct task_field *f = task_field_find(k);
	struct task_spec *spec = &b->spec;
	const char *str = NULL;
	uint64_t u = 0;

	if (!f || (from_query && (f->id == TASK_FIELD_ARGV ||
				  f->id == TASK_FIELD_ENV ||
				  f->id == TASK_FIELD_ARRAY)))
		return errprintf(err, "unknown field '%s'", k);
	switch (f->id) {
	case TASK_FIELD_ARGV:
		return field_argv(v, b, err);
	case TASK_FIELD_ENV:
		return field_env(v, b, err);
	case TASK_FIELD_ARRAY:
		return field_array(v, spec, err);
	case TASK_FIELD_AFTER:
	case TASK_FIELD_AFTER_ANY:
		if (from_query)
			return field_after_text(f, json_string_value(v), b, err);
		return field_after_json(f, v, b, err);
	default:
		break;
	}
	if (task_field_json(f, v, &u, &str, err) < 0)
		return -1;
	switch (f->id) {
	case TASK_FIELD_CORES: spec->cores = (unsigned)u; break;
	case TASK_FIELD_MEMORY: spec->memory = u; break;
	case TASK_FIELD_GPUS: spec->gpus = (unsigned)u; break;
	case TASK_FIELD_TIME_LIMIT: spec->time_limit = u; break;
	case TASK_FIELD_RETRIES: spec->retries = (unsigned)u; break;
	case TASK_FIELD_MAX_WORKER_LOSSES:
		spec->max_worker_losses = (unsigned)u;
		break;
	case TASK_FIELD_CWD: set_string(&b->strings[0], &spec->cwd, str); break;
	case TASK_FIELD_NAME: set_string(&b->strings[1], &spec->name, str); break;
	case TASK_FIELD_STDOUT:
		set_string(&b->strings[2], &spec->stdout_path, str);
		break;
	case TASK_FIELD_STDERR:
		set_string(&b->strings[3], &spec->stderr_path, str);
		break;
	default:
		break;
	}
	return 0;
}

int task_spec_from_json(json_t *j, struct task_spec_buf *b, struct err *err)
{
	const char *k;
	json_t *v;

	task_spec_buf_init(b);
	if (!json_is_object(j))
		return errprintf(err, "expected a JSON object describing a task");
	json_object_foreach(j, k, v) {
		if (task_spec_set(b, k, v, 0, err) < 0)
			return -1;
	}
	if (!b->argv)
		return errprintf(err, "field 'argv': missing");
	return 0;
}

/* ---- task specs to JSON ------------------------------------------------- */

static json_t *string_list(char *const *list)
{
	json_t *a = json_array();

	for (char *const *p = list; *p; p++)
		json_array_append_new(a, json_string(*p));
	return a;
}

/* "NAME=value" strings as {"NAME": "value"}, the form field_env reads. */
static json_t *env_object(char *const *env)
{
	json_t *o = json_object();
	struct strbuf name = STRBUF_INIT;

	for (char *const *p = env; *p; p++) {
		const char *eq = strchr(*p, '=');
		strbuf_reset(&name);
		strbuf_add(&name, *p, eq ? (size_t)(eq - *p) : strlen(*p));
		json_object_set_new(o, name.buf, json_string(eq ? eq + 1 : ""));
	}
	strbuf_release(&name);
	return o;
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : NULL;
}

/* One field's value, or NULL when the spec leaves it at its default. */
static json_t *spec_value(const struct task_spec *spec, enum task_field_id id)
{
	json_t *a;

	switch (id) {
	case TASK_FIELD_ARGV:
		return spec->argv ? string_list(spec->argv) : NULL;
	case TASK_FIELD_ENV:
		return spec->env && spec->env[0] ? env_object(spec->env) : NULL;
	case TASK_FIELD_CWD:
		return string_or_null(spec->cwd);
	case TASK_FIELD_NAME:
		return string_or_null(spec->name);
	case TASK_FIELD_CORES:
		return spec->cores ? json_integer(spec->cores) : NULL;
	case TASK_FIELD_MEMORY:
		return json_integer((json_int_t)spec->memory);
	case TASK_FIELD_GPUS:
		return spec->gpus ? json_integer(spec->gpus) : NULL;
	case TASK_FIELD_TIME_LIMIT:
		return json_integer((json_int_t)spec->time_limit);
	case TASK_FIELD_RETRIES:
		return json_integer(spec->retries);
	case TASK_FIELD_MAX_WORKER_LOSSES:
		return spec->max_worker_losses ?
			json_integer(spec->max_worker_losses) : NULL;
	case TASK_FIELD_ARRAY:
		if (!spec->is_array)
			return NULL;
		return json_pack("{s:I,s:I}", "first", (json_int_t)spec->array_first,
				 "last", (json_int_t)spec->array_last);
	case TASK_FIELD_AFTER:
		if (!spec->nafter)
			return NULL;
		a = json_array();
		for (unsigned i = 0; i < spec->nafter; i++)
			json_array_append_new(a, json_integer((json_int_t)spec->after[i]));
		return a;
	case TASK_FIELD_AFTER_ANY:
		if (!spec->nafter_any)
			return NULL;
		a = json_array();
		for (unsigned i = 0; i < spec->nafter_any; i++)
			json_array_append_new(a,
				json_integer((json_int_t)spec->after_any[i]));
		return a;
	case TASK_FIELD_STDOUT:
		return string_or_null(spec->stdout_path);
	case TASK_FIELD_STDERR:
		return string_or_null(spec->stderr_path);
	}
	return NULL;
}

json_t *task_spec_json(const struct task_spec *spec)
{
	json_t *j = json_object();

	for (unsigned i = 0; i < TASK_NFIELDS; i++) {
		json_t *v = spec_value(spec, task_fields[i].id);
		if (v)
			json_object_set_new(j, task_fields[i].key, v);
	}
	return j;
}

/* ---- task JSON ---------------------------------------------------------- */

static json_t *json_time(double t)
{
	return t > 0 ? json_real(t) : json_null();
}

const char *task_name(const struct task_spec *spec)
{
	const char *slash;

	if (spec->name && *spec->name)
		return spec->name;
	if (!spec->argv || !spec->argv[0])
		return "";
	slash = strrchr(spec->argv[0], '/');
	return slash ? slash + 1 : spec->argv[0];
}

json_t *task_info_json(const struct task_info *t, char *const *args,
		       const char *worker_name)
{
	json_t *j = json_object();
	json_t *argv = json_array();
	worker_id_t w = t->worker;

	for (char *const *p = args; p && *p; p++)
		json_array_append_new(argv, json_string(*p));
	json_object_set_new(j, "id", json_integer((json_int_t)t->id));
	json_object_set_new(j, "state", json_string(task_state_name(t->state)));
	json_object_set_new(j, "name", json_string(task_name(t->spec)));
	json_object_set_new(j, "argv", argv);
	json_object_set_new(j, "index", t->has_index ?
			    json_integer(t->array_index) : json_null());
	json_object_set_new(j, "cores", json_integer(t->spec->cores));
	json_object_set_new(j, "memory",
			    json_integer((json_int_t)t->spec->memory));
	json_object_set_new(j, "gpus", json_integer(t->spec->gpus));
	json_object_set_new(j, "time_limit",
			    json_integer((json_int_t)t->spec->time_limit));
	json_object_set_new(j, "attempts", json_integer(t->attempts));
	json_object_set_new(j, "failures", json_integer(t->failures));
	json_object_set_new(j, "worker_losses", json_integer(t->worker_losses));
	json_object_set_new(j, "worker", w >= 0 ? json_integer(w) : json_null());
	if (w >= 0 && worker_name)
		json_object_set_new(j, "worker_name", json_string(worker_name));
	json_object_set_new(j, "submit_time", json_time(t->submit_time));
	json_object_set_new(j, "start_time", json_time(t->start_time));
	json_object_set_new(j, "end_time", json_time(t->end_time));
	if (t->attempts && (t->state == TASK_DONE || t->state == TASK_FAILED ||
			    t->end_time > 0 || t->failures)) {
		json_object_set_new(j, "exit_code", json_integer(t->exit_code));
		json_object_set_new(j, "signal", json_integer(t->signal));
		json_object_set_new(j, "runtime", json_real(t->runtime));
		json_object_set_new(j, "peak_memory",
				    json_integer((json_int_t)t->peak_memory));
	} else {
		json_object_set_new(j, "exit_code", json_null());
		json_object_set_new(j, "signal", json_null());
		json_object_set_new(j, "runtime", json_null());
		json_object_set_new(j, "peak_memory", json_null());
	}
	json_object_set_new(j, "reason", t->reason ?
			    json_string(t->reason) : json_null());
	return j;
}
