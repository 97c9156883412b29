/*
 * codec: task specs to and from JSON.  The keys and their bounds are the
 * field table's (task/fields.h); cluster-api(7) documents them.
 */
#ifndef CLUSTER_TASK_CODEC_H
#define CLUSTER_TASK_CODEC_H

#include <jansson.h>

#include "task/task.h"
#include "util/err.h"

/* Owns what a decoded task_spec points at. */
struct task_spec_buf {
	struct task_spec spec;
	char **argv;
	char **env;
	task_id_t *after;
	task_id_t *after_any;
	char *strings[5];		/* cwd, name, stdout, stderr, spare */
};

/* Empty: every field at its default (cores 1). */
void task_spec_buf_init(struct task_spec_buf *b);
/* Frees what the spec points at and empties the buffer. */
void task_spec_buf_release(struct task_spec_buf *b);

/* Decode a JSON object describing a task (POST /api/v1/tasks) into `b`,
 * which it initialises; release `b` in any case.  argv is required;
 * unknown keys are errors. */
int task_spec_from_json(json_t *j, struct task_spec_buf *b, struct err *err);

/* Set one field by its JSON key from a JSON value.  from_query: the value
 * is a query parameter's text as a JSON string ("after" is "1,2,3"; argv,
 * env and array are not taken). */
int task_spec_set(struct task_spec_buf *b, const char *key, json_t *v,
		  int from_query, struct err *err);

/* A spec as task_spec_from_json reads it back: the field table's keys in
 * its order, fields left at their default (no env, no array, ...)
 * omitted.  The caller owns the result. */
json_t *task_spec_json(const struct task_spec *spec);

/* The group name: spec->name, else the basename of argv[0]. */
const char *task_name(const struct task_spec *spec);

/* One task as the API lists it: `argv` is its command with the array
 * index substituted, `worker_name` the name of t->worker (or NULL).  The
 * caller owns the result. */
json_t *task_info_json(const struct task_info *t, char *const *argv,
		       const char *worker_name);

#endif
