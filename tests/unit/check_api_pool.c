/*
 * The pool's routes (api/pool.h) against a real pool manager on the local
 * backend whose loop never runs, so nothing is submitted: what a scale
 * body turns into (workers, and jobs rounded up), the refusals naming
 * their field, adapt's bounds, resume, the status document's fields and
 * the answers without a pool.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "api/pool.h"
#include "pool/manager.h"
#include "state/state.h"

#define GiB (1024ull * 1024 * 1024)

static char tmp[] = "/tmp/check_api_pool.XXXXXX";
static struct event_base *base;
static struct pool_manager *m;

/* A pool of jobs with 2 workers of 4 cores and 16 GiB each. */
static void setup(void)
{
	struct pool_manager_config cfg = { 0 };
	struct err err = { "" };

	ck_assert_ptr_nonnull(mkdtemp(tmp));
	base = event_base_new();
	cfg.backend = &backend_local;
	cfg.cluster = "test";
	cfg.state_dir = tmp;
	cfg.script = "/bin/true";
	cfg.params.workers_per_job = 2;
	cfg.worker_cores = 4;
	cfg.worker_memory = 16 * GiB;
	cfg.poll_interval = 1;
	m = pool_manager_create(base, NULL, &cfg, &err);
	ck_assert_msg(m != NULL, "%s", err.text);
}

static void teardown(void)
{
	char cmd[600];

	pool_manager_destroy(m);
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	(void)system(cmd);
	strcpy(tmp, "/tmp/check_api_pool.XXXXXX");
}

/* Call `fn` with `body`; returns the status, the reply in *out. */
static int call(int (*fn)(const struct api_pool_request *, json_t **),
		struct pool_manager *pm, const char *body, json_t **out)
{
	struct api_pool_request r = {
		.m = pm, .address = "node1:4000", .http_port = 4001,
		.since = 1e9, .body = body, .body_len = body ? strlen(body) : 0,
	};

	*out = NULL;
	return fn(&r, out);
}

static json_int_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "no integer '%s'", key);
	return json_integer_value(v);
}

static const char *jerror(json_t *o)
{
	const char *e = json_string_value(json_object_get(o, "error"));

	ck_assert_ptr_nonnull(e);
	return e;
}

static void scale_is(const char *body, json_int_t workers, json_int_t jobs)
{
	json_t *r;

	ck_assert_int_eq(call(api_pool_scale, m, body, &r), 200);
	ck_assert_int_eq(jint(r, "workers"), workers);
	ck_assert_int_eq(jint(r, "jobs"), jobs);
	ck_assert_uint_eq(pool_target(pool_manager_pool(m)), (unsigned)workers);
	json_decref(r);
}

static void refused(int (*fn)(const struct api_pool_request *, json_t **),
		    const char *body, const char *needle)
{
	json_t *r;

	ck_assert_int_eq(call(fn, m, body, &r), 400);
	ck_assert_msg(strstr(jerror(r), needle), "'%s' not in '%s'", needle,
		      jerror(r));
	json_decref(r);
}

START_TEST(scale_units_round_up_to_jobs)
{
	unsigned target;

	scale_is("{\"workers\": 3}", 3, 2);
	scale_is("{\"workers\": 4}", 4, 2);
	scale_is("{\"jobs\": 3}", 6, 3);
	/* 8 cores a job: 9 cores is 2 jobs */
	scale_is("{\"cores\": 9}", 4, 2);
	scale_is("{\"cores\": 8}", 2, 1);
	/* 32 GiB a job */
	scale_is("{\"memory\": \"64GiB\"}", 4, 2);
	scale_is("{\"memory\": \"65GiB\"}", 6, 3);
	scale_is("{\"memory\": 1}", 2, 1);
	scale_is("{\"workers\": 0}", 0, 0);
	scale_is("{\"workers\": 5}", 5, 3);
	/* the target is kept in the state directory */
	ck_assert_int_eq(state_pool_target_read(tmp, &target, NULL), 0);
	ck_assert_uint_eq(target, 5);
}
END_TEST

START_TEST(scale_refusals_name_the_field)
{
	refused(api_pool_scale, NULL, "request body");
	refused(api_pool_scale, "[1]", "JSON object");
	refused(api_pool_scale, "{\"workers\": ", "invalid JSON");
	refused(api_pool_scale, "{}", "one of workers, jobs, cores, memory");
	refused(api_pool_scale, "{\"workers\": 1, \"jobs\": 1}", "field 'jobs'");
	refused(api_pool_scale, "{\"nodes\": 1}", "field 'nodes': unknown");
	refused(api_pool_scale, "{\"workers\": -1}", "field 'workers'");
	refused(api_pool_scale, "{\"workers\": \"3\"}", "field 'workers'");
	refused(api_pool_scale, "{\"cores\": 1.5}", "field 'cores'");
	refused(api_pool_scale, "{\"memory\": \"lots\"}", "field 'memory'");
	refused(api_pool_scale, "{\"workers\": 2000000}", "field 'workers'");
	/* nothing changed */
	ck_assert_uint_eq(pool_target(pool_manager_pool(m)), 0);
}
END_TEST

START_TEST(adapt_bounds_and_off)
{
	json_t *r, *st;

	ck_assert_int_eq(call(api_pool_adapt, m,
		"{\"min\": 1, \"max\": 3, \"idle_timeout\": \"5s\"}", &r), 200);
	ck_assert_int_eq(jint(r, "max"), 3);
	ck_assert_int_eq(jint(r, "max_jobs"), 2);
	json_decref(r);
	ck_assert_int_eq(call(api_pool_status, m, NULL, &st), 200);
	ck_assert(json_is_true(json_object_get(st, "adapt")));
	ck_assert_int_eq(jint(json_object_get(st, "adapt_bounds"), "max"), 3);
	ck_assert(json_real_value(json_object_get(json_object_get(st,
		"adapt_bounds"), "idle_timeout")) == 5.0);
	json_decref(st);

	/* bounds in jobs: 2 workers each */
	ck_assert_int_eq(call(api_pool_adapt, m,
		"{\"min\": 0, \"max\": 4, \"jobs\": true, \"idle_timeout\": 30}",
		&r), 200);
	ck_assert_int_eq(jint(r, "max"), 8);
	json_decref(r);

	refused(api_pool_adapt, "{\"min\": 1}", "field 'max': missing");
	refused(api_pool_adapt, "{\"min\": 3, \"max\": 2}", "field 'max'");
	refused(api_pool_adapt, "{\"max\": 2, \"idle_timeout\": \"soon\"}",
		"field 'idle_timeout'");
	refused(api_pool_adapt, "{\"max\": 2, \"every\": 1}", "field 'every'");
	refused(api_pool_adapt, "{\"off\": false}", "field 'off'");
	refused(api_pool_adapt, "{\"off\": true, \"max\": 1}", "field 'off'");

	ck_assert_int_eq(call(api_pool_adapt, m, "{\"off\": true}", &r), 200);
	json_decref(r);
	ck_assert_int_eq(call(api_pool_status, m, NULL, &st), 200);
	ck_assert(json_is_false(json_object_get(st, "adapt")));
	ck_assert(json_is_null(json_object_get(st, "adapt_bounds")));
	json_decref(st);
	/* a scale after adapt ends adapting */
	call(api_pool_adapt, m, "{\"max\": 2}", &r);
	json_decref(r);
	scale_is("{\"workers\": 1}", 1, 1);
	call(api_pool_status, m, NULL, &st);
	ck_assert(json_is_false(json_object_get(st, "adapt")));
	json_decref(st);
}
END_TEST

START_TEST(status_document)
{
	json_t *st, *s, *r;

	scale_is("{\"workers\": 3}", 3, 2);
	ck_assert_int_eq(call(api_pool_status, m, NULL, &st), 200);
	ck_assert_int_eq(jint(st, "target"), 3);
	ck_assert_int_eq(jint(st, "target_jobs"), 2);
	ck_assert_int_eq(jint(st, "actual"), 0);
	ck_assert_int_eq(jint(st, "actual_jobs"), 0);
	ck_assert_int_eq(jint(st, "workers_per_job"), 2);
	ck_assert_int_eq(jint(st, "worker_cores"), 4);
	ck_assert_int_eq(jint(st, "worker_memory"), (json_int_t)(16 * GiB));
	ck_assert(json_is_array(json_object_get(st, "jobs")));
	ck_assert(json_is_object(json_object_get(st, "tasks")));
	ck_assert(json_is_null(json_object_get(st, "paused")));
	ck_assert_ptr_nonnull(json_object_get(st, "last_poll"));
	ck_assert_ptr_nonnull(json_object_get(st, "poll_error"));
	s = json_object_get(st, "scheduler");
	ck_assert_str_eq(json_string_value(json_object_get(s, "where")), "local");
	ck_assert_str_eq(json_string_value(json_object_get(s, "address")),
			 "node1:4000");
	ck_assert_int_eq(jint(s, "http_port"), 4001);
	ck_assert_int_eq(jint(s, "pid"), getpid());
	ck_assert(json_real_value(json_object_get(s, "since")) == 1e9);
	json_decref(st);

	ck_assert_int_eq(call(api_pool_resume, m, NULL, &r), 200);
	ck_assert(json_is_null(json_object_get(r, "was_paused")));
	json_decref(r);
	ck_assert_int_eq(call(api_pool_resume, m, "{}", &r), 200);
	json_decref(r);
	refused(api_pool_resume, "{\"now\": 1}", "field 'now'");
}
END_TEST

START_TEST(no_pool)
{
	json_t *r;

	ck_assert_int_eq(call(api_pool_status, NULL, NULL, &r), 404);
	ck_assert(strstr(jerror(r), "no pool"));
	json_decref(r);
	ck_assert_int_eq(call(api_pool_scale, NULL, "{\"workers\": 1}", &r), 409);
	ck_assert(strstr(jerror(r), "no pool"));
	json_decref(r);
	ck_assert_int_eq(call(api_pool_adapt, NULL, "{\"off\": true}", &r), 409);
	json_decref(r);
	ck_assert_int_eq(call(api_pool_resume, NULL, NULL, &r), 409);
	json_decref(r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("api_pool");
	TCase *tc = tcase_create("routes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, scale_units_round_up_to_jobs);
	tcase_add_test(tc, scale_refusals_name_the_field);
	tcase_add_test(tc, adapt_bounds_and_off);
	tcase_add_test(tc, status_document);
	tcase_add_test(tc, no_pool);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
