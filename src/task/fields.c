/*
 * fields: the task field table and the two readers of a field's value,
 * from text and from JSON.  One bound per field, so `cluster submit`,
 * the API and cluster-rank cannot disagree on what a task may ask for;
 * the JSON reader hands strings to the text reader, so "2GiB" means the
 * same in a body, a query string and an option.
 */
#include "task/fields.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/units.h"

const struct task_field task_fields[TASK_NFIELDS] = {
	{ TASK_FIELD_ARGV, "argv", NULL, TASK_KIND_LIST, 1, TASK_WORDS_MAX, NULL,
	  "the command and its arguments, run without a shell" },
	{ TASK_FIELD_ENV, "env", "env", TASK_KIND_LIST, 0, TASK_WORDS_MAX, NULL,
	  "variables added to the task's environment" },
	{ TASK_FIELD_CWD, "cwd", "cwd", TASK_KIND_STRING, 1, TASK_STRING_MAX, NULL,
	  "working directory" },
	{ TASK_FIELD_NAME, "name", "name", TASK_KIND_STRING, 1, TASK_STRING_MAX,
	  NULL, "group name shown in listings" },
	{ TASK_FIELD_CORES, "cores", "cores", TASK_KIND_COUNT, TASK_CORES_MIN,
	  TASK_CORES_MAX, NULL, "cores reserved on the worker" },
	{ TASK_FIELD_MEMORY, "memory", "memory", TASK_KIND_SIZE, 0,
	  TASK_MEMORY_MAX, NULL, "bytes reserved on the worker and enforced" },
	{ TASK_FIELD_GPUS, "gpus", "gpus", TASK_KIND_COUNT, 0, TASK_GPUS_MAX,
	  NULL, "GPUs reserved on the worker, named in CUDA_VISIBLE_DEVICES" },
	{ TASK_FIELD_TIME_LIMIT, "time_limit", "time-limit", TASK_KIND_DURATION,
	  0, TASK_TIME_LIMIT_MAX, NULL, "seconds after which the task is killed" },
	{ TASK_FIELD_RETRIES, "retries", "retries", TASK_KIND_COUNT,
	  TASK_RETRIES_MIN, TASK_RETRIES_MAX, "task.retries",
	  "runs after a failed one" },
	{ TASK_FIELD_MAX_WORKER_LOSSES, "max_worker_losses", "max-worker-losses",
	  TASK_KIND_COUNT, TASK_MAX_WORKER_LOSSES_MIN, TASK_MAX_WORKER_LOSSES_MAX,
	  "task.max-worker-losses",
	  "workers the task may take down before it is failed" },
	{ TASK_FIELD_ARRAY, "array", "array", TASK_KIND_RANGE, 0, 0, NULL,
	  "array indices A-B: one task per index" },
	{ TASK_FIELD_AFTER, "after", "after", TASK_KIND_LIST, 0, UINT32_MAX, NULL,
	  "earlier tasks this one waits for" },
	{ TASK_FIELD_STDOUT, "stdout", "stdout", TASK_KIND_STRING, 1,
	  TASK_STRING_MAX, NULL, "file for the task's standard output" },
	{ TASK_FIELD_STDERR, "stderr", "stderr", TASK_KIND_STRING, 1,
	  TASK_STRING_MAX, NULL, "file for the task's standard error" },
	{ TASK_FIELD_AFTER_ANY, "after_any", "after-any", TASK_KIND_LIST, 0,
	  UINT32_MAX, NULL,
	  "earlier tasks this one waits for, however they end" },
};

const struct task_field *task_field_find(const char *key)
{
	for (unsigned i = 0; i < TASK_NFIELDS; i++)
		if (!strcmp(task_fields[i].key, key))
			return &task_fields[i];
	return NULL;
}

static void duration_short(struct strbuf *sb, uint64_t s)
{
	if (s && s % 86400 == 0)
		strbuf_addf(sb, "%" PRIu64 "d", s / 86400);
	else if (s && s % 3600 == 0)
		strbuf_addf(sb, "%" PRIu64 "h", s / 3600);
	else if (s && s % 60 == 0)
		strbuf_addf(sb, "%" PRIu64 "m", s / 60);
	else
		strbuf_addf(sb, "%" PRIu64 "s", s);
}

/* The largest binary unit size_parse reads that divides the size, so the
 * bound can be typed back: "1024TiB". */
static void size_short(struct strbuf *sb, uint64_t bytes)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 4;

	while (i > 0 && (!bytes || bytes % (1ULL << (10 * i))))
		i--;
	strbuf_addf(sb, "%" PRIu64 "%s", bytes >> (10 * i), names[i]);
}

static void add_value(struct strbuf *sb, const struct task_field *f,
		      uint64_t v)
{
	if (f->kind == TASK_KIND_SIZE)
		size_short(sb, v);
	else if (f->kind == TASK_KIND_DURATION)
		duration_short(sb, v);
	else
		strbuf_addf(sb, "%" PRIu64, v);
}

/* ">= 1 and <= 100000"; "<= 1024TiB" where nothing below 0 can be
 * written anyway. */
static void add_bounds(struct strbuf *sb, const struct task_field *f)
{
	if (f->min || f->kind == TASK_KIND_COUNT) {
		strbuf_addstr(sb, ">= ");
		add_value(sb, f, f->min);
		strbuf_addstr(sb, " and ");
	}
	strbuf_addstr(sb, "<= ");
	add_value(sb, f, f->max);
}

void task_field_describe(const struct task_field *f, struct strbuf *sb)
{
	switch (f->kind) {
	case TASK_KIND_COUNT:
		strbuf_addstr(sb, "an integer ");
		add_bounds(sb, f);
		break;
	case TASK_KIND_SIZE:
		strbuf_addstr(sb, "a size ");
		add_bounds(sb, f);
		strbuf_addstr(sb, ", in bytes or such as 2GiB");
		break;
	case TASK_KIND_DURATION:
		strbuf_addstr(sb, "a duration ");
		add_bounds(sb, f);
		strbuf_addstr(sb, ", in seconds or such as 90m");
		break;
	case TASK_KIND_STRING:
		strbuf_addstr(sb, f->min ? "a non-empty string of " : "a string of ");
		strbuf_addf(sb, "<= %" PRIu64 " bytes", f->max);
		break;
	case TASK_KIND_LIST:
		strbuf_addstr(sb, "a list of ");
		add_bounds(sb, f);
		strbuf_addstr(sb, " items");
		break;
	case TASK_KIND_RANGE:
		strbuf_addstr(sb, "A-B with A <= B");
		break;
	}
}

/* "<label>: expected <description>, got <got>"; returns -1. */
static int bad_value(const struct task_field *f, const char *label,
		     const char *got, struct err *err)
{
	struct strbuf d = STRBUF_INIT;

	task_field_describe(f, &d);
	errprintf(err, "%s: expected %s, got %s", label, d.buf, got);
	strbuf_release(&d);
	return -1;
}

static int bad_text(const struct task_field *f, const char *label,
		    const char *text, struct err *err)
{
	struct strbuf got = STRBUF_INIT;
	size_t len = strlen(text);
	int ret;

	if (len > 40)
		strbuf_addf(&got, "%zu bytes", len);
	else
		strbuf_addf(&got, "'%s'", text);
	ret = bad_value(f, label, got.buf, err);
	strbuf_release(&got);
	return ret;
}

/* Text of a field's value with `label` already made. */
static int parse_text(const struct task_field *f, const char *label,
		      const char *text, uint64_t *out, struct err *err)
{
	struct err e2 = { "" };
	uint64_t v;

	switch (f->kind) {
	case TASK_KIND_COUNT:
		if (count_parse(text, f->min, f->max, &v) < 0)
			return bad_text(f, label, text, err);
		break;
	case TASK_KIND_SIZE:
		if (size_parse(text, &v, &e2) < 0)
			return errprintf(err, "%s: %s", label, e2.text);
		if (v < f->min || v > f->max)
			return bad_text(f, label, text, err);
		break;
	case TASK_KIND_DURATION:
		if (duration_parse(text, &v, &e2) < 0)
			return errprintf(err, "%s: %s", label, e2.text);
		if (v < f->min || v > f->max)
			return bad_text(f, label, text, err);
		break;
	case TASK_KIND_STRING:
		v = strlen(text);
		if (v < f->min || v > f->max)
			return bad_text(f, label, text, err);
		break;
	default:
		return errprintf(err, "%s: not a single value", label);
	}
	*out = v;
	return 0;
}

int task_field_parse(const struct task_field *f, const char *label,
		     const char *text, uint64_t *out, struct err *err)
{
	struct strbuf l = STRBUF_INIT;
	int ret;

	if (label)
		return parse_text(f, label, text, out, err);
	if (f->option)
		strbuf_addf(&l, "--%s", f->option);
	else
		strbuf_addf(&l, "field '%s'", f->key);
	ret = parse_text(f, l.buf, text, out, err);
	strbuf_release(&l);
	return ret;
}

static int bad_json(const struct task_field *f, const char *label,
		    json_t *v, struct err *err)
{
	char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	int ret;

	if (dump && strlen(dump) > 40)
		strcpy(dump + 37, "...");
	ret = bad_value(f, label, dump ? dump : "?", err);
	free(dump);
	return ret;
}

int task_field_json(const struct task_field *f, json_t *v, uint64_t *num,
		    const char **str, struct err *err)
{
	char label[64];

	snprintf(label, sizeof(label), "field '%s'", f->key);
	switch (f->kind) {
	case TASK_KIND_COUNT:
	case TASK_KIND_SIZE:
	case TASK_KIND_DURATION:
		if (json_is_string(v))
			return parse_text(f, label, json_string_value(v), num, err);
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    (uint64_t)json_integer_value(v) < f->min ||
		    (uint64_t)json_integer_value(v) > f->max)
			return bad_json(f, label, v, err);
		*num = (uint64_t)json_integer_value(v);
		return 0;
	case TASK_KIND_STRING:
		if (!json_is_string(v))
			return bad_json(f, label, v, err);
		if (parse_text(f, label, json_string_value(v), num, err) < 0)
			return -1;
		if (str)
			*str = json_string_value(v);
		return 0;
	default:
		return errprintf(err, "%s: not a single value", label);
	}
}

int task_field_check_items(const struct task_field *f, const char *label,
			   uint64_t n, struct err *err)
{
	struct strbuf got = STRBUF_INIT;
	char l[64];
	int ret = 0;

	if (n >= f->min && n <= f->max)
		return 0;
	if (!label) {
		snprintf(l, sizeof(l), "field '%s'", f->key);
		label = l;
	}
	strbuf_addf(&got, "%" PRIu64, n);
	ret = bad_value(f, label, got.buf, err);
	strbuf_release(&got);
	return ret;
}
