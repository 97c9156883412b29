/*
 * fields: the one table of task fields.  A task is submitted through
 * `cluster submit` options, the API's JSON and query strings, and
 * cluster-rank's options, and two of its fields default from task.* keys
 * of the configuration; each of those reads the names and bounds here, so
 * a value one of them accepts is accepted by all.
 *
 * Bounds are inclusive.  For a count, size or duration they bound the
 * value; for a string, its length in bytes; for a list, how many items it
 * has.  The numeric ones are macros too, for other static tables
 * (config/keys.c) that cannot read this one at compile time.
 *
 * Errors name what the caller gives as `label` ("--cores", "field
 * 'cores'") and state the range:
 *
 *	--cores: expected an integer >= 1 and <= 100000, got '0'
 */
#ifndef CLUSTER_TASK_FIELDS_H
#define CLUSTER_TASK_FIELDS_H

#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

struct json_t;

#define TASK_CORES_MIN			1
#define TASK_CORES_MAX			100000
#define TASK_GPUS_MAX			64	/* a worker's GPUs: worker.gpus */
#define TASK_MEMORY_MAX			(1ULL << 50)		/* 1 PiB */
#define TASK_TIME_LIMIT_MAX		(365ULL * 86400)	/* 365 days */
#define TASK_RETRIES_MIN		0
#define TASK_RETRIES_MAX		1000
#define TASK_MAX_WORKER_LOSSES_MIN	1
#define TASK_MAX_WORKER_LOSSES_MAX	1000
#define TASK_STRING_MAX			4096	/* PATH_MAX */
#define TASK_WORDS_MAX			4096	/* argv, env: PROTO_MAX_LIST */

enum task_field_id {
	TASK_FIELD_ARGV,
	TASK_FIELD_ENV,
	TASK_FIELD_CWD,
	TASK_FIELD_NAME,
	TASK_FIELD_CORES,
	TASK_FIELD_MEMORY,
	TASK_FIELD_GPUS,
	TASK_FIELD_TIME_LIMIT,
	TASK_FIELD_RETRIES,
	TASK_FIELD_MAX_WORKER_LOSSES,
	TASK_FIELD_ARRAY,
	TASK_FIELD_AFTER,
	TASK_FIELD_STDOUT,
	TASK_FIELD_STDERR,
	TASK_FIELD_AFTER_ANY,
};
#define TASK_NFIELDS 15

enum task_kind {
	TASK_KIND_COUNT,		/* a whole number */
	TASK_KIND_SIZE,			/* bytes; text as util/units.h: "2GiB" */
	TASK_KIND_DURATION,		/* seconds; text "90m", "01:30:00" */
	TASK_KIND_STRING,		/* text */
	TASK_KIND_LIST,			/* several values */
	TASK_KIND_RANGE,		/* array indices "A-B"; not bounded */
};

struct task_field {
	enum task_field_id id;
	const char *key;		/* JSON key and query parameter:
					   "time_limit" */
	const char *option;		/* command-line option without "--":
					   "time-limit"; NULL: none */
	enum task_kind kind;
	uint64_t min, max;
	const char *config_key;		/* task.* key it defaults from, or NULL */
	const char *doc;		/* one line */
};

/* In enum order: task_fields[id].id == id. */
extern const struct task_field task_fields[TASK_NFIELDS];

static inline const struct task_field *task_field(enum task_field_id id)
{
	return &task_fields[id];
}

/* By JSON key ("time_limit"); NULL when no field has that key. */
const struct task_field *task_field_find(const char *key);

/* What a value must be, as error messages say it: "an integer >= 1 and
 * <= 100000", "a size <= 1024TiB, in bytes or such as 2GiB". */
void task_field_describe(const struct task_field *f, struct strbuf *sb);

/* A count, size, duration or string field from text (a command-line
 * option, a query parameter).  Numbers go to *out; for a string *out is
 * its length, the caller keeps the text.  `label` NULL means
 * "--<option>".  -1 + err (naming label) when out of bounds or not of
 * the field's kind; *out is unchanged then. */
int task_field_parse(const struct task_field *f, const char *label,
		     const char *text, uint64_t *out, struct err *err);

/* The same from a JSON value: an integer, or a string read as text (so
 * "2GiB" and query values work).  A string field's value goes to *str
 * (pointing into `v`) and its length to *num; `str` may be NULL for the
 * other kinds.  Errors name "field '<key>'". */
int task_field_json(const struct task_field *f, struct json_t *v,
		    uint64_t *num, const char **str, struct err *err);

/* Does a list of `n` items fit the field's bounds?  -1 + err when not. */
int task_field_check_items(const struct task_field *f, const char *label,
			   uint64_t n, struct err *err);

#endif
