/* task: the field table's bounds, enforced the same from text and from
 * JSON, with messages that state the range; specs through the JSON codec
 * and back. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"
#include "task/codec.h"
#include "task/fields.h"
#include "task/task.h"

static int numeric(const struct task_field *f)
{
	return f->kind == TASK_KIND_COUNT || f->kind == TASK_KIND_SIZE ||
		f->kind == TASK_KIND_DURATION;
}

static void describe(const struct task_field *f, struct strbuf *sb)
{
	strbuf_reset(sb);
	task_field_describe(f, sb);
}

/* Text form: `text` accepted with value `want`. */
static void text_ok(const struct task_field *f, const char *text,
		    uint64_t want)
{
	struct err err = { "" };
	uint64_t v = 777;

	ck_assert_msg(task_field_parse(f, NULL, text, &v, &err) == 0,
		      "%s: '%s' rejected: %s", f->key, text, err.text);
	ck_assert_msg(v == want, "%s: '%s' gave %" PRIu64, f->key, text, v);
}

/* Text form: `text` refused, output untouched, and the message names the
 * option and states the range. */
static void text_bad(const struct task_field *f, const char *text)
{
	struct err err = { "" };
	struct strbuf want = STRBUF_INIT, d = STRBUF_INIT;
	uint64_t v = 777;

	ck_assert_msg(task_field_parse(f, NULL, text, &v, &err) == -1,
		      "%s: '%s' accepted", f->key, text);
	ck_assert_uint_eq(v, 777);
	describe(f, &d);
	if (f->option)
		strbuf_addf(&want, "--%s: expected %s, got ", f->option, d.buf);
	else
		strbuf_addf(&want, "field '%s': expected %s, got ", f->key, d.buf);
	ck_assert_msg(!strncmp(err.text, want.buf, want.len),
		      "%s: '%s': message '%s' does not start '%s'", f->key, text,
		      err.text, want.buf);
	strbuf_release(&want);
	strbuf_release(&d);
}

static void json_ok(const struct task_field *f, json_t *v, uint64_t want)
{
	struct err err = { "" };
	uint64_t n = 777;
	const char *s = NULL;

	ck_assert_msg(task_field_json(f, v, &n, &s, &err) == 0,
		      "%s: JSON value rejected: %s", f->key, err.text);
	ck_assert_msg(n == want, "%s: JSON value gave %" PRIu64, f->key, n);
	if (f->kind == TASK_KIND_STRING)
		ck_assert_str_eq(s, json_string_value(v));
	json_decref(v);
}

static void json_bad(const struct task_field *f, json_t *v)
{
	struct err err = { "" };
	struct strbuf want = STRBUF_INIT, d = STRBUF_INIT;
	uint64_t n = 777;

	ck_assert_msg(task_field_json(f, v, &n, NULL, &err) == -1,
		      "%s: JSON value accepted", f->key);
	ck_assert_uint_eq(n, 777);
	describe(f, &d);
	strbuf_addf(&want, "field '%s': expected %s, got ", f->key, d.buf);
	ck_assert_msg(!strncmp(err.text, want.buf, want.len),
		      "%s: message '%s' does not start '%s'", f->key, err.text,
		      want.buf);
	strbuf_release(&want);
	strbuf_release(&d);
	json_decref(v);
}

static char *num(uint64_t v)
{
	static char buf[4][32];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%" PRIu64, v);
	return buf[i];
}

static char *repeat(size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, 'x', n);
	s[n] = '\0';
	return s;
}

START_TEST(table_is_in_order)
{
	for (unsigned i = 0; i < TASK_NFIELDS; i++) {
		const struct task_field *f = &task_fields[i];
		ck_assert_uint_eq(f->id, i);
		ck_assert_ptr_eq(task_field(f->id), f);
		ck_assert_ptr_nonnull(f->key);
		ck_assert_ptr_nonnull(f->doc);
		ck_assert_ptr_eq(task_field_find(f->key), f);
		if (f->kind != TASK_KIND_RANGE)
			ck_assert_msg(f->min <= f->max, "%s: min > max", f->key);
	}
	ck_assert_ptr_null(task_field_find("corse"));
	/* Each interface keeps its spelling. */
	ck_assert_str_eq(task_field(TASK_FIELD_TIME_LIMIT)->key, "time_limit");
	ck_assert_str_eq(task_field(TASK_FIELD_TIME_LIMIT)->option, "time-limit");
	ck_assert_str_eq(task_field(TASK_FIELD_MAX_WORKER_LOSSES)->key,
			 "max_worker_losses");
	ck_assert_str_eq(task_field(TASK_FIELD_MAX_WORKER_LOSSES)->option,
			 "max-worker-losses");
	ck_assert_ptr_null(task_field(TASK_FIELD_ARGV)->option);
}
END_TEST

/* The task.* keys the fields default from have the fields' bounds. */
START_TEST(config_keys_share_bounds)
{
	unsigned n = 0;

	for (unsigned i = 0; i < TASK_NFIELDS; i++) {
		const struct task_field *f = &task_fields[i];
		const struct config_key *k;
		if (!f->config_key)
			continue;
		n++;
		k = config_key_find(f->config_key);
		ck_assert_msg(k != NULL, "no key '%s'", f->config_key);
		ck_assert_int_eq(k->type, CONFIG_INT);
		ck_assert_int_eq(k->min, (int64_t)f->min);
		ck_assert_int_eq(k->max, (int64_t)f->max);
	}
	ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(numbers_bounded_as_text)
{
	for (unsigned i = 0; i < TASK_NFIELDS; i++) {
		const struct task_field *f = &task_fields[i];
		if (!numeric(f))
			continue;
		text_ok(f, num(f->min), f->min);
		text_ok(f, num(f->max), f->max);
		if (f->min)
			text_bad(f, num(f->min - 1));
		text_bad(f, num(f->max + 1));
		if (f->kind == TASK_KIND_COUNT) {
			text_bad(f, "99999999999999999999999");
			text_bad(f, "many");
			text_bad(f, "-1");
			text_bad(f, "");
		}
	}
}
END_TEST

START_TEST(numbers_bounded_as_json)
{
	for (unsigned i = 0; i < TASK_NFIELDS; i++) {
		const struct task_field *f = &task_fields[i];
		if (!numeric(f))
			continue;
		json_ok(f, json_integer((json_int_t)f->min), f->min);
		json_ok(f, json_integer((json_int_t)f->max), f->max);
		json_ok(f, json_string(num(f->max)), f->max);
		if (f->min)
			json_bad(f, json_integer((json_int_t)f->min - 1));
		json_bad(f, json_integer((json_int_t)f->max + 1));
		json_bad(f, json_string(num(f->max + 1)));
		json_bad(f, json_integer(-1));
		json_bad(f, json_true());
		json_bad(f, json_real(1.5));
		json_bad(f, json_null());
	}
}
END_TEST

START_TEST(strings_bounded)
{
	for (unsigned i = 0; i < TASK_NFIELDS; i++) {
		const struct task_field *f = &task_fields[i];
		char *longest, *too_long;
		if (f->kind != TASK_KIND_STRING)
			continue;
		longest = repeat(f->max);
		too_long = repeat(f->max + 1);
		text_ok(f, "x", 1);
		text_ok(f, longest, f->max);
		text_bad(f, too_long);
		json_ok(f, json_string("x"), 1);
		json_ok(f, json_string(longest), f->max);
		json_bad(f, json_string(too_long));
		json_bad(f, json_integer(3));
		if (f->min) {
			text_bad(f, "");
			json_bad(f, json_string(""));
		}
		free(longest);
		free(too_long);
	}
}
END_TEST

START_TEST(lists_bounded)
{
	const struct task_field *argv = task_field(TASK_FIELD_ARGV);
	const struct task_field *env = task_field(TASK_FIELD_ENV);
	struct err err = { "" };

	ck_assert_int_eq(task_field_check_items(argv, NULL, 1, &err), 0);
	ck_assert_int_eq(task_field_check_items(argv, NULL, TASK_WORDS_MAX, &err), 0);
	ck_assert_int_eq(task_field_check_items(argv, NULL, 0, &err), -1);
	ck_assert_str_eq(err.text, "field 'argv': expected a list of >= 1 and "
			 "<= 4096 items, got 0");
	ck_assert_int_eq(task_field_check_items(env, NULL, 0, &err), 0);
	ck_assert_int_eq(task_field_check_items(env, "--env", 4097, &err), -1);
	ck_assert_str_eq(err.text, "--env: expected a list of <= 4096 items, got 4097");
	/* A list is not read as one value. */
	ck_assert_int_eq(task_field_parse(env, NULL, "A=1", &(uint64_t){ 0 }, &err), -1);
}
END_TEST

/* The messages as people see them. */
START_TEST(messages_state_the_range)
{
	struct err err = { "" };
	uint64_t v;
	json_t *j;

	task_field_parse(task_field(TASK_FIELD_CORES), NULL, "0", &v, &err);
	ck_assert_str_eq(err.text,
			 "--cores: expected an integer >= 1 and <= 100000, got '0'");
	task_field_parse(task_field(TASK_FIELD_CORES), "--task-cores", "zero",
			 &v, &err);
	ck_assert_str_eq(err.text, "--task-cores: expected an integer >= 1 and "
			 "<= 100000, got 'zero'");
	task_field_parse(task_field(TASK_FIELD_RETRIES), NULL, "1001", &v, &err);
	ck_assert_str_eq(err.text,
			 "--retries: expected an integer >= 0 and <= 1000, got '1001'");
	task_field_parse(task_field(TASK_FIELD_MEMORY), NULL, "1025TiB", &v, &err);
	ck_assert_str_eq(err.text, "--memory: expected a size <= 1024TiB, in bytes "
			 "or such as 2GiB, got '1025TiB'");
	text_ok(task_field(TASK_FIELD_MEMORY), "1024TiB", TASK_MEMORY_MAX);
	task_field_parse(task_field(TASK_FIELD_TIME_LIMIT), NULL, "366d", &v, &err);
	ck_assert_str_eq(err.text, "--time-limit: expected a duration <= 365d, in "
			 "seconds or such as 90m, got '366d'");
	/* A size or duration that does not parse says why. */
	task_field_parse(task_field(TASK_FIELD_MEMORY), NULL, "2 parsecs", &v, &err);
	ck_assert_msg(!strncmp(err.text, "--memory: invalid size '2 parsecs'", 34),
		      "%s", err.text);
	task_field_parse(task_field(TASK_FIELD_TIME_LIMIT), NULL,
			 "99999999999999999999999", &v, &err);
	ck_assert_msg(!strncmp(err.text, "--time-limit: invalid duration", 30),
		      "%s", err.text);
	task_field_parse(task_field(TASK_FIELD_NAME), NULL, "", &v, &err);
	ck_assert_str_eq(err.text, "--name: expected a non-empty string of "
			 "<= 4096 bytes, got ''");

	j = json_integer(0);
	task_field_json(task_field(TASK_FIELD_CORES), j, &v, NULL, &err);
	ck_assert_str_eq(err.text, "field 'cores': expected an integer >= 1 and "
			 "<= 100000, got 0");
	json_decref(j);
	j = json_string("many");
	task_field_json(task_field(TASK_FIELD_MAX_WORKER_LOSSES), j, &v, NULL, &err);
	ck_assert_str_eq(err.text, "field 'max_worker_losses': expected an integer "
			 ">= 1 and <= 1000, got 'many'");
	json_decref(j);
	j = json_true();
	task_field_json(task_field(TASK_FIELD_TIME_LIMIT), j, &v, NULL, &err);
	ck_assert_str_eq(err.text, "field 'time_limit': expected a duration <= "
			 "365d, in seconds or such as 90m, got true");
	json_decref(j);
	/* Text in JSON means what it means on the command line. */
	j = json_string("2GiB");
	ck_assert_int_eq(task_field_json(task_field(TASK_FIELD_MEMORY), j, &v,
					 NULL, &err), 0);
	ck_assert_uint_eq(v, 2ull << 30);
	json_decref(j);
	j = json_string("90m");
	ck_assert_int_eq(task_field_json(task_field(TASK_FIELD_TIME_LIMIT), j, &v,
					 NULL, &err), 0);
	ck_assert_uint_eq(v, 5400);
	json_decref(j);
}
END_TEST

START_TEST(states_and_ranges)
{
	enum task_state st;
	int64_t a, b;

	for (int i = 0; i < TASK_NSTATES; i++) {
		ck_assert_int_eq(task_state_parse(task_state_name((enum task_state)i),
						  &st), 0);
		ck_assert_int_eq(st, i);
	}
	ck_assert_str_eq(task_state_name(TASK_CANCELLED), "cancelled");
	ck_assert_int_eq(task_state_parse("finished", &st), -1);
	ck_assert_int_eq(task_range_parse("-3--1", &a, &b), 0);
	ck_assert_int_eq(a, -3);
	ck_assert_int_eq(b, -1);
	ck_assert_int_eq(task_range_parse("5-1", &a, &b), -1);
}
END_TEST

static void str_eq_or_null(const char *a, const char *b)
{
	if (!a || !b)
		ck_assert_ptr_eq(a, b);
	else
		ck_assert_str_eq(a, b);
}

/* spec -> JSON text -> spec gives the spec back. */
static void round_trip(const struct task_spec *in, struct task_spec_buf *b)
{
	struct err err = { "" };
	json_t *j = task_spec_json(in);
	char *text = json_dumps(j, JSON_COMPACT);
	json_error_t jerr;
	json_t *back;

	ck_assert_ptr_nonnull(text);
	back = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_ptr_nonnull(back);
	ck_assert_msg(task_spec_from_json(back, b, &err) == 0, "%s: %s", text,
		      err.text);
	json_decref(back);
	json_decref(j);
	free(text);
}

START_TEST(spec_round_trip)
{
	char *argv[] = { (char *)"/bin/echo", (char *)"a {}", (char *)"", NULL };
	char *env[] = { (char *)"A=1", (char *)"B=x=y", (char *)"EMPTY=", NULL };
	const task_id_t after[] = { 1, 7, 12 };
	const struct task_spec in = {
		.argv = argv, .env = env, .cwd = "/tmp", .name = "echoes",
		.cores = 3, .memory = 2ull << 30, .gpus = 2, .time_limit = 5400,
		.retries = 2, .max_worker_losses = 4, .is_array = 1,
		.array_first = -2, .array_last = 5, .after = after, .nafter = 3,
		.stdout_path = "out/{}.out", .stderr_path = "err/{}.err",
	};
	struct task_spec_buf b;
	const struct task_spec *out = &b.spec;

	round_trip(&in, &b);
	for (int i = 0; argv[i]; i++)
		ck_assert_str_eq(out->argv[i], argv[i]);
	ck_assert_ptr_null(out->argv[3]);
	for (int i = 0; env[i]; i++)
		ck_assert_str_eq(out->env[i], env[i]);
	ck_assert_ptr_null(out->env[3]);
	ck_assert_str_eq(out->cwd, "/tmp");
	ck_assert_str_eq(out->name, "echoes");
	ck_assert_uint_eq(out->cores, 3);
	ck_assert_uint_eq(out->memory, 2ull << 30);
	ck_assert_uint_eq(out->gpus, 2);
	ck_assert_uint_eq(out->time_limit, 5400);
	ck_assert_uint_eq(out->retries, 2);
	ck_assert_uint_eq(out->max_worker_losses, 4);
	ck_assert_int_eq(out->is_array, 1);
	ck_assert_int_eq(out->array_first, -2);
	ck_assert_int_eq(out->array_last, 5);
	ck_assert_uint_eq(out->nafter, 3);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(out->after[i], after[i]);
	ck_assert_str_eq(out->stdout_path, "out/{}.out");
	ck_assert_str_eq(out->stderr_path, "err/{}.err");
	task_spec_buf_release(&b);
}
END_TEST

/* A spec with only a command keeps its defaults, and the JSON names only
 * what is set, by the table's keys. */
START_TEST(spec_round_trip_defaults)
{
	char *argv[] = { (char *)"true", NULL };
	const struct task_spec in = { .argv = argv, .cores = 1 };
	struct task_spec_buf b;
	json_t *j = task_spec_json(&in);
	const char *k;
	json_t *v;

	json_object_foreach(j, k, v)
		ck_assert_msg(task_field_find(k) != NULL, "key '%s'", k);
	ck_assert_ptr_null(json_object_get(j, "env"));
	ck_assert_ptr_null(json_object_get(j, "array"));
	ck_assert_ptr_null(json_object_get(j, "after"));
	ck_assert_ptr_null(json_object_get(j, "max_worker_losses"));
	ck_assert_ptr_null(json_object_get(j, "gpus"));
	json_decref(j);

	round_trip(&in, &b);
	ck_assert_str_eq(b.spec.argv[0], "true");
	ck_assert_ptr_null(b.spec.env);
	str_eq_or_null(b.spec.cwd, NULL);
	str_eq_or_null(b.spec.name, NULL);
	ck_assert_uint_eq(b.spec.cores, 1);
	ck_assert_uint_eq(b.spec.memory, 0);
	ck_assert_uint_eq(b.spec.gpus, 0);
	ck_assert_uint_eq(b.spec.max_worker_losses, 0);
	ck_assert_int_eq(b.spec.is_array, 0);
	ck_assert_uint_eq(b.spec.nafter, 0);
	task_spec_buf_release(&b);
}
END_TEST

/* Decoding checks the table's bounds and names the field. */
START_TEST(spec_decode_errors)
{
	static const struct { const char *json, *msg; } cases[] = {
		{ "{\"argv\":[\"x\"],\"cores\":100001}",
		  "field 'cores': expected an integer >= 1 and <= 100000, got 100001" },
		{ "{\"argv\":[\"x\"],\"gpus\":65}",
		  "field 'gpus': expected an integer >= 0 and <= 64, got 65" },
		{ "{\"argv\":[\"x\"],\"gpus\":-1}",
		  "field 'gpus': expected an integer >= 0 and <= 64, got -1" },
		{ "{\"argv\":[\"x\"],\"retries\":\"1001\"}",
		  "field 'retries': expected an integer >= 0 and <= 1000, got '1001'" },
		{ "{\"argv\":[\"x\"],\"time_limit\":\"400d\"}",
		  "field 'time_limit': expected a duration <= 365d, in seconds or "
		  "such as 90m, got '400d'" },
		{ "{\"argv\":[\"x\"],\"name\":\"\"}",
		  "field 'name': expected a non-empty string of <= 4096 bytes, got ''" },
		{ "{\"argv\":[]}", "field 'argv': expected a non-empty array of strings" },
		{ "{\"argv\":[\"x\"],\"time-limit\":5}", "unknown field 'time-limit'" },
		{ "{\"cores\":2}", "field 'argv': missing" },
	};
	struct task_spec_buf b;
	struct err err = { "" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = json_loads(cases[i].json, 0, NULL);
		ck_assert_ptr_nonnull(j);
		ck_assert_int_eq(task_spec_from_json(j, &b, &err), -1);
		ck_assert_str_eq(err.text, cases[i].msg);
		task_spec_buf_release(&b);
		json_decref(j);
	}
	/* Query values: text, ids as "1,2"; no command, env or array. */
	task_spec_buf_init(&b);
	json_t *v = json_string("3,4");
	ck_assert_int_eq(task_spec_set(&b, "after", v, 1, &err), 0);
	ck_assert_uint_eq(b.spec.nafter, 2);
	ck_assert_uint_eq(b.spec.after[1], 4);
	json_decref(v);
	v = json_string("2GiB");
	ck_assert_int_eq(task_spec_set(&b, "memory", v, 1, &err), 0);
	ck_assert_uint_eq(b.spec.memory, 2ull << 30);
	json_decref(v);
	v = json_string("4");
	ck_assert_int_eq(task_spec_set(&b, "gpus", v, 1, &err), 0);
	ck_assert_uint_eq(b.spec.gpus, 4);
	json_decref(v);
	v = json_string("x");
	ck_assert_int_eq(task_spec_set(&b, "argv", v, 1, &err), -1);
	ck_assert_str_eq(err.text, "unknown field 'argv'");
	json_decref(v);
	task_spec_buf_release(&b);
}
END_TEST

static const char *out_path(const char *log_dir, int has_index, int64_t index,
			    enum task_stream stream, const struct task_spec *spec)
{
	static struct strbuf sb = STRBUF_INIT;

	strbuf_reset(&sb);
	task_output_path(&sb, log_dir, 42, has_index, index, stream, spec);
	return sb.buf;
}

START_TEST(output_paths)
{
	struct task_spec spec = { .cores = 1 };

	ck_assert_str_eq(out_path("/s/logs", 0, 0, TASK_STDOUT, &spec),
			 "/s/logs/42.out");
	ck_assert_str_eq(out_path("/s/logs", 1, 3, TASK_STDERR, &spec),
			 "/s/logs/42.err");
	ck_assert_str_eq(out_path(NULL, 0, 0, TASK_STDOUT, &spec), "");
	spec.stdout_path = "run/{}/out-{}.txt";
	spec.stderr_path = "/abs/err";
	ck_assert_str_eq(out_path("/s/logs", 1, -7, TASK_STDOUT, &spec),
			 "run/-7/out--7.txt");
	ck_assert_str_eq(out_path(NULL, 1, 5, TASK_STDERR, &spec), "/abs/err");
	/* Not an array element: "{}" stays as written. */
	ck_assert_str_eq(out_path("/s/logs", 0, 0, TASK_STDOUT, &spec),
			 "run/{}/out-{}.txt");
}
END_TEST

/* The text of the item ".It Fa KEY ..." of cluster-api(7), up to the next
 * item; NULL when there is none. */
static char *man_item(const char *page, const char *key)
{
	struct strbuf item = STRBUF_INIT, want = STRBUF_INIT;
	const char *p = page;
	int in = 0;

	strbuf_addf(&want, "Fa %s", key);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		int is_item = !strncmp(p, ".It ", 4) || !strncmp(p, ".El", 3);
		if (in && is_item)
			break;
		if (!strncmp(p, ".It ", 4)) {
			const char *f = strstr(p, want.buf);
			if (f && f < p + len &&
			    (f[want.len] == ' ' || f[want.len] == '\n'))
				in = 1;
		}
		if (in) {
			strbuf_add(&item, p, len);
			strbuf_addch(&item, ' ');
		}
		p += len + (nl != NULL);
	}
	strbuf_release(&want);
	if (!in) {
		strbuf_release(&item);
		return NULL;
	}
	return strbuf_detach(&item, NULL);
}

/* cluster-api(7) gives every field and the table's bound of each: counts
 * "from MIN to MAX", the others "at most MAX" as the messages write MAX. */
START_TEST(man_page_states_the_bounds)
{
	struct strbuf page = STRBUF_INIT, d = STRBUF_INIT, want = STRBUF_INIT;

	ck_assert_int_eq(strbuf_read_file(&page, CLUSTER_SRCDIR "/man/cluster-api.7"), 0);
	for (unsigned i = 0; i < TASK_NFIELDS; i++) {
		const struct task_field *f = &task_fields[i];
		char *item = man_item(page.buf, f->key);
		ck_assert_msg(item != NULL, "cluster-api(7) lacks field '%s'", f->key);
		strbuf_reset(&want);
		if (f->kind == TASK_KIND_COUNT) {
			strbuf_addf(&want, "from %" PRIu64 " to %" PRIu64, f->min,
				    f->max);
		} else if (f->kind != TASK_KIND_RANGE && f->max != UINT32_MAX) {
			/* UINT32_MAX: the type's limit, not one people meet */
			const char *le, *end;
			describe(f, &d);
			le = strstr(d.buf, "<= ");
			ck_assert_ptr_nonnull(le);
			le += 3;
			end = le + strcspn(le, ", ");
			strbuf_addstr(&want, "at most ");
			strbuf_add(&want, le, (size_t)(end - le));
		}
		ck_assert_msg(strstr(item, want.buf) != NULL,
			      "cluster-api(7) on '%s' does not say '%s': %s",
			      f->key, want.buf, item);
		free(item);
	}
	strbuf_release(&page);
	strbuf_release(&d);
	strbuf_release(&want);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("task");
	TCase *tc = tcase_create("task");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, table_is_in_order);
	tcase_add_test(tc, config_keys_share_bounds);
	tcase_add_test(tc, numbers_bounded_as_text);
	tcase_add_test(tc, numbers_bounded_as_json);
	tcase_add_test(tc, strings_bounded);
	tcase_add_test(tc, lists_bounded);
	tcase_add_test(tc, messages_state_the_range);
	tcase_add_test(tc, states_and_ranges);
	tcase_add_test(tc, spec_round_trip);
	tcase_add_test(tc, spec_round_trip_defaults);
	tcase_add_test(tc, spec_decode_errors);
	tcase_add_test(tc, output_paths);
	tcase_add_test(tc, man_page_states_the_bounds);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
