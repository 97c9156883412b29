/* journal: write, replay and compact round trips; a file cut anywhere in
 * its last record; bad lines and versions. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal/journal.h"
#include "util/strbuf.h"

/* A table whose hooks journal what it does, as the server does: a
 * submission before anything else about its tasks, a run at each
 * assignment, an end at each end, the last two without JSON objects. */
struct rig {
	struct sched *s;
	struct journal *j;
	task_id_t next_id;
};

static void catch_up(struct rig *r)
{
	while (r->next_id <= sched_last_id(r->s)) {
		struct sched_submission sub;
		ck_assert_int_eq(sched_submission(r->s, r->next_id, &sub), 0);
		json_t *rec = journal_record_submit(r->s, r->next_id);
		journal_append(r->j, rec);
		json_decref(rec);
		r->next_id = sub.first + sub.n;
	}
}

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct rig *r = arg;

	(void)w;
	catch_up(r);
	ck_assert_int_eq(journal_encode_run(journal_buffer(r->j), r->s, id,
					    "host:1"), 0);
	strbuf_addch(journal_buffer(r->j), '\n');
}

static void on_ended(void *arg, task_id_t id)
{
	struct rig *r = arg;

	catch_up(r);
	ck_assert_int_eq(journal_encode_end(journal_buffer(r->j), r->s, id), 0);
	strbuf_addch(journal_buffer(r->j), '\n');
}

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_journal.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* The directory make_dir made, and what the test left in it. */
static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void rig_open(struct rig *r, const char *path)
{
	struct sched_hooks h = { .arg = r, .assign = on_assign,
				 .ended = on_ended };
	struct err err = { "" };

	memset(r, 0, sizeof(*r));
	r->s = sched_create(&h);
	r->next_id = 1;
	r->j = journal_open(path, &err);
	ck_assert_msg(r->j != NULL, "%s", err.text);
}

static void rig_close(struct rig *r)
{
	catch_up(r);
	ck_assert_int_eq(journal_write(r->j, 1, NULL), 0);
	journal_close(r->j);
	sched_destroy(r->s);
}

static struct sched *replayed(const char *path, struct journal_found *f)
{
	struct sched_hooks h = { 0 };
	struct sched *s = sched_create(&h);
	struct err err = { "" };

	ck_assert_msg(journal_replay(path, s, f, &err) == 0, "%s", err.text);
	return s;
}

static void finish(struct sched *s, task_id_t id, worker_id_t w, int code,
		   double runtime)
{
	struct task_result res = { .exit_code = code, .runtime = runtime,
				   .peak_memory = 1000 + id };
	sched_task_finished(s, id, w, &res);
}

/* Every task the same in both tables, as the API would show it. */
static void same_tables(struct sched *a, struct sched *b)
{
	ck_assert_uint_eq(sched_last_id(a), sched_last_id(b));
	for (task_id_t id = 1; id <= sched_last_id(a); id++) {
		struct task_info x, y;
		char xr[128] = "", yr[128] = "";
		ck_assert_int_eq(sched_task(a, id, &x), 0);
		if (x.reason)
			snprintf(xr, sizeof(xr), "%s", x.reason);
		ck_assert_int_eq(sched_task(b, id, &y), 0);
		if (y.reason)
			snprintf(yr, sizeof(yr), "%s", y.reason);
		/* a run under way stays running after a replay, on no
		 * worker, for the worker that has it to claim */
		if (x.state == TASK_RUNNING)
			ck_assert_int_eq(y.worker, -1);
		ck_assert_msg(x.state == y.state, "task %llu: %s vs %s",
			      (unsigned long long)id, task_state_name(x.state),
			      task_state_name(y.state));
		ck_assert_uint_eq(x.attempts, y.attempts);
		ck_assert_uint_eq(x.failures, y.failures);
		ck_assert_int_eq(x.exit_code, y.exit_code);
		ck_assert_uint_eq(x.peak_memory, y.peak_memory);
		ck_assert(x.runtime - y.runtime < 1e-6 &&
			  y.runtime - x.runtime < 1e-6);
		if (x.state != TASK_QUEUED)
			ck_assert_str_eq(xr, yr);
		ck_assert_int_eq(x.has_index, y.has_index);
		ck_assert_int_eq(x.array_index, y.array_index);
		ck_assert_uint_eq(x.spec->nafter, y.spec->nafter);
		ck_assert_uint_eq(x.spec->retries, y.spec->retries);
		char **ax = sched_task_argv(a, id), **ay = sched_task_argv(b, id);
		for (size_t k = 0; ax[k] || ay[k]; k++) {
			ck_assert_ptr_nonnull(ax[k]);
			ck_assert_ptr_nonnull(ay[k]);
			ck_assert_str_eq(ax[k], ay[k]);
		}
		for (size_t k = 0; ax[k]; k++)
			free(ax[k]);
		for (size_t k = 0; ay[k]; k++)
			free(ay[k]);
		free(ax);
		free(ay);
	}
}

/* A table that saw every kind of record: one task, an array, a task
 * file, commands of their own, a dependency, a retry, a failure, a
 * cancel before and during a run, a cancel by a failed dependency, runs
 * left under way. */
static void busy_table(struct rig *r)
{
	char *one[] = { (char *)"echo", (char *)"one", NULL };
	char *arr[] = { (char *)"run", (char *)"{}", NULL };
	char *sh[] = { (char *)"/bin/sh", (char *)"-c", NULL };
	const char *lines[] = { "echo a", "exit 3", "echo 'c d'" };
	char *c1[] = { (char *)"ls", (char *)"-l", NULL }, *c2[] = { (char *)"date", NULL };
	char *const *argvs[] = { c1, c2 };
	task_id_t first, dep;
	uint64_t n;
	struct task_spec sp = { .argv = one, .cores = 1, .retries = 1 };

	ck_assert_int_eq(sched_submit(r->s, &sp, &first, &n, NULL), 0);	/* 1 */
	struct task_spec as = { .argv = arr, .cores = 1, .is_array = 1,
				.array_first = 5, .array_last = 14 };
	ck_assert_int_eq(sched_submit(r->s, &as, &first, &n, NULL), 0);	/* 2-11 */
	struct task_spec fs = { .argv = sh, .cores = 1 };
	ck_assert_int_eq(sched_submit_each(r->s, &fs, lines, 3, &first, &n,
					   NULL), 0);			/* 12-14 */
	ck_assert_int_eq(sched_submit_argvs(r->s, &fs, argvs, 2, &first, &n,
					    NULL), 0);			/* 15-16 */
	dep = 13;
	struct task_spec ds = { .argv = one, .cores = 1, .after = &dep,
				.nafter = 1 };
	ck_assert_int_eq(sched_submit(r->s, &ds, &first, &n, NULL), 0);	/* 17 */
	dep = 12;
	ck_assert_int_eq(sched_submit(r->s, &ds, &first, &n, NULL), 0);	/* 18 */
	worker_id_t w = sched_worker_add(r->s, "host:1", 4, 0);
	sched_dispatch(r->s);		/* 1-4 run */
	finish(r->s, 1, w, 1, 0.5);	/* fails once, retried */
	finish(r->s, 2, w, 0, 1.25);
	sched_cancel(r->s, 3, NULL);	/* cancelled while it runs */
	sched_cancel_range(r->s, 9, 11, NULL);	/* before they ever ran */
	sched_dispatch(r->s);
	finish(r->s, 1, w, 0, 0.75);	/* done on its second run */
	finish(r->s, 4, w, 0, 2);
	sched_dispatch(r->s);
	for (task_id_t id = 5; id <= 16; id++) {
		struct task_info ti;
		if (sched_task(r->s, id, &ti) == 0 && ti.state == TASK_RUNNING &&
		    id != 8)
			finish(r->s, id, w, id == 13 ? 3 : 0, 0.1 * (double)id);
		sched_dispatch(r->s);
	}
	/* 8 and whatever came after stay under way */
}

START_TEST(write_replay_compact_round_trip)
{
	char path[128];
	struct rig r;
	struct journal_found f, g;
	struct err err = { "" };

	make_dir();
	path_of(path, sizeof(path), "journal");
	rig_open(&r, path);
	busy_table(&r);
	ck_assert_int_eq(journal_write(r.j, 1, NULL), 0);
	catch_up(&r);

	struct sched *s = replayed(path, &f);
	same_tables(r.s, s);
	ck_assert_uint_eq(f.tasks, 18);
	ck_assert_uint_ge(f.running, 1);
	ck_assert_uint_eq(sched_unclaimed(s), f.running);
	{
		struct task_info ti;
		ck_assert_int_eq(sched_task(s, 17, &ti), 0);
		ck_assert_int_eq(ti.state, TASK_CANCELLED);	/* 13 failed */
		ck_assert_str_eq(ti.reason, "dependency 13 failed");
		ck_assert_int_eq(sched_task(s, 1, &ti), 0);
		ck_assert_int_eq(ti.state, TASK_DONE);
		ck_assert_uint_eq(ti.attempts, 2);
		ck_assert_int_eq(sched_task(s, 8, &ti), 0);
		ck_assert_int_eq(ti.state, TASK_RUNNING);
		ck_assert_uint_eq(ti.attempts, 1);
		/* unclaimed past the grace: queued again, its attempt kept */
		ck_assert_uint_eq(sched_requeue_unclaimed(s), f.running);
		ck_assert_int_eq(sched_task(s, 8, &ti), 0);
		ck_assert_int_eq(ti.state, TASK_QUEUED);
		ck_assert_uint_eq(ti.attempts, 1);
	}
	/* new ids go on after the replayed ones */
	char *one[] = { (char *)"true", NULL };
	struct task_spec sp = { .argv = one, .cores = 1 };
	task_id_t first;
	uint64_t n;
	ck_assert_int_eq(sched_submit(s, &sp, &first, &n, NULL), 0);
	ck_assert_uint_eq(first, 19);
	sched_destroy(s);

	/* compacted from the replayed table: the same state again */
	s = replayed(path, &f);
	struct stat before, after;
	ck_assert_int_eq(stat(path, &before), 0);
	ck_assert_msg(journal_compact(path, s, &f, NULL, &err) == 0, "%s",
		      err.text);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_int_lt(after.st_size, before.st_size);
	struct sched *t = replayed(path, &g);
	same_tables(r.s, t);
	same_tables(s, t);
	ck_assert_uint_eq(g.tasks, f.tasks);
	sched_destroy(t);
	sched_destroy(s);
	rig_close(&r);
	remove_dir();
}
END_TEST

/* The lines written without JSON objects read back as the objects. */
static void same_record(json_t *obj, const char *line)
{
	json_error_t je;
	json_t *back = json_loads(line, 0, &je), *want;
	struct strbuf sb = STRBUF_INIT;

	ck_assert_msg(back != NULL, "'%s': %s", line, je.text);
	journal_encode(&sb, obj);	/* as the file holds it */
	want = json_loads(sb.buf, 0, &je);
	ck_assert_ptr_nonnull(want);
	json_object_del(back, "t");
	json_object_del(want, "t");
	/* run times to the microsecond */
	double a = json_number_value(json_object_get(back, "runtime"));
	double b = json_number_value(json_object_get(want, "runtime"));
	ck_assert_msg(a - b < 1e-6 && b - a < 1e-6, "runtime %g vs %g", a, b);
	json_object_del(back, "runtime");
	json_object_del(want, "runtime");
	ck_assert_msg(json_equal(back, want), "'%s' vs '%s'", line, sb.buf);
	json_decref(back);
	json_decref(want);
	json_decref(obj);
	strbuf_release(&sb);
}

START_TEST(fast_records_match_the_codec)
{
	char path[128];
	struct rig r;

	make_dir();
	path_of(path, sizeof(path), "journal");
	rig_open(&r, path);
	busy_table(&r);
	for (task_id_t id = 1; id <= sched_last_id(r.s); id++) {
		struct strbuf sb = STRBUF_INIT;
		struct task_info ti;
		ck_assert_int_eq(sched_task(r.s, id, &ti), 0);
		ck_assert_int_eq(journal_encode_run(&sb, r.s, id, "h\"q\\:1\t"), 0);
		same_record(journal_record_run(r.s, id, "h\"q\\:1\t"), sb.buf);
		strbuf_reset(&sb);
		if (ti.state >= TASK_DONE) {
			ck_assert_int_eq(journal_encode_end(&sb, r.s, id), 0);
			same_record(journal_record_end(r.s, id), sb.buf);
		}
		strbuf_release(&sb);
	}
	struct strbuf sb = STRBUF_INIT;
	ck_assert_int_eq(journal_encode_end(&sb, r.s, 999), -1);
	strbuf_release(&sb);
	rig_close(&r);
	remove_dir();
}
END_TEST

static char *slurp(const char *path, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;

	ck_assert_int_eq(strbuf_read_file(&sb, path), 0);
	return strbuf_detach(&sb, len);
}

static void spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

START_TEST(cut_anywhere_in_the_last_record)
{
	char path[128], cut[128];
	struct rig r;
	size_t len;

	make_dir();
	path_of(path, sizeof(path), "journal");
	path_of(cut, sizeof(cut), "cut");
	rig_open(&r, path);
	busy_table(&r);
	rig_close(&r);
	char *all = slurp(path, &len);
	ck_assert_uint_gt(len, 2);
	size_t last = len - 1;		/* the start of the last record */
	while (last > 0 && all[last - 1] != '\n')
		last--;
	struct journal_found whole;
	struct sched *w = replayed(path, &whole);
	uint64_t records = whole.records;
	sched_destroy(w);
	for (size_t at = last; at < len; at++) {
		struct journal_found f;
		struct stat st;
		spit(cut, all, at);
		struct sched *s = replayed(cut, &f);
		ck_assert_uint_eq(f.records, records - 1);
		ck_assert_int_eq(f.torn, at > last);
		ck_assert_int_eq(stat(cut, &st), 0);
		ck_assert_uint_eq((size_t)st.st_size, last);
		sched_destroy(s);
		/* and the file takes appends again, whole lines */
		struct err err = { "" };
		struct journal *j = journal_open(cut, &err);
		ck_assert_ptr_nonnull(j);
		json_t *rec = journal_record("scheduler-start");
		journal_append(j, rec);
		json_decref(rec);
		journal_close(j);
		s = replayed(cut, &f);
		ck_assert_uint_eq(f.records, records);
		ck_assert_int_eq(f.torn, 0);
		sched_destroy(s);
	}
	/* a header cut short is an empty journal */
	spit(cut, all, 10);
	struct journal_found f;
	sched_destroy(replayed(cut, &f));
	ck_assert_uint_eq(f.records, 0);
	free(all);
	remove_dir();
}
END_TEST

/* A block a crash of the machine left as zeros, over two records but
 * for the second's newline: one line of zeros, skipped and counted; the
 * records before and after it stand. */
START_TEST(zeroed_block_is_skipped)
{
	char path[128];
	struct rig r;
	size_t len, ends[4], n = 0;

	make_dir();
	path_of(path, sizeof(path), "journal");
	rig_open(&r, path);
	busy_table(&r);
	rig_close(&r);
	char *all = slurp(path, &len);
	struct journal_found whole, f;
	sched_destroy(replayed(path, &whole));
	/* the newlines ending the last four records */
	for (size_t i = len; i-- > 0 && n < 4;)
		if (all[i] == '\n')
			ends[n++] = i;
	ck_assert_uint_eq(n, 4);
	/* zeros from the third-last record to before the second-last's end */
	memset(all + ends[3] + 1, 0, ends[1] - ends[3] - 1);
	spit(path, all, len);
	struct sched *s = replayed(path, &f);
	ck_assert_uint_eq(f.zeroed_lines, 1);
	ck_assert_uint_eq(f.zeroed_bytes, ends[1] - ends[3]);
	ck_assert_uint_eq(f.records, whole.records - 2);
	ck_assert_int_eq(f.torn, 0);
	sched_destroy(s);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((size_t)st.st_size, len);	/* left in place */
	free(all);
	remove_dir();
}
END_TEST

static void expect_error(const char *path, const char *msg)
{
	struct sched_hooks h = { 0 };
	struct sched *s = sched_create(&h);
	struct journal_found f;
	struct err err = { "" };
	struct stat a, b;

	ck_assert_int_eq(stat(path, &a), 0);
	ck_assert_int_eq(journal_replay(path, s, &f, &err), -1);
	ck_assert_msg(strstr(err.text, msg) != NULL, "'%s' lacks '%s'",
		      err.text, msg);
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert_int_eq(a.st_size, b.st_size);	/* left as it was */
	sched_destroy(s);
}

#define HEADER "{\"format\":\"cluster-journal\",\"version\":\"1.0\"}\n"
#define SUBMIT "{\"ev\":\"submit\",\"t\":1,\"id\":1,\"n\":1,\"spec\":" \
	"{\"argv\":[\"true\"]}}\n"

START_TEST(bad_lines_and_versions)
{
	char path[128];
	const char *txt;

	make_dir();
	path_of(path, sizeof(path), "journal");
	txt = HEADER SUBMIT "not json\n" "{\"ev\":\"scheduler-stop\"}\n";
	spit(path, txt, strlen(txt));
	expect_error(path, "journal:3: ");
	txt = HEADER SUBMIT "[1,2]\n";
	spit(path, txt, strlen(txt));
	expect_error(path, "journal:3: expected a JSON object");
	txt = HEADER "{\"t\":1}\n";
	spit(path, txt, strlen(txt));
	expect_error(path, "journal:2: field 'ev'");
	txt = HEADER "{\"ev\":\"end\",\"id\":7,\"state\":\"done\"}\n";
	spit(path, txt, strlen(txt));
	expect_error(path, "journal:2: end of task 7, never submitted");
	txt = HEADER "{\"ev\":\"submit\",\"id\":2,\"n\":1,\"spec\":"
		"{\"argv\":[\"true\"]}}\n";
	spit(path, txt, strlen(txt));
	expect_error(path, "journal:2: submission of task 2 where task 1 "
		     "comes next");
	txt = HEADER "{\"ev\":\"submit\",\"id\":1,\"n\":1,\"spec\":"
		"{\"argv\":[]}}\n";
	spit(path, txt, strlen(txt));
	expect_error(path, "journal:2: field 'spec': ");
	txt = "{\"format\":\"cluster-journal\",\"version\":\"3.0\"}\n" SUBMIT;
	spit(path, txt, strlen(txt));
	expect_error(path, "version 3.0 is not read by this cluster, which "
		     "reads versions 1.x to 2.x");
	txt = "{\"format\":\"other\",\"version\":\"1.0\"}\n";
	spit(path, txt, strlen(txt));
	expect_error(path, "journal:1: not a journal of cluster");

	/* a later minor version's unknown events are skipped */
	struct journal_found f;
	txt = "{\"format\":\"cluster-journal\",\"version\":\"1.7\"}\n" SUBMIT
		"{\"ev\":\"something-new\",\"t\":2,\"x\":[1]}\n"
		"{\"ev\":\"end\",\"id\":1,\"state\":\"done\",\"runs\":1}\n";
	spit(path, txt, strlen(txt));
	struct sched *s = replayed(path, &f);
	ck_assert_uint_eq(f.records, 3);
	ck_assert_uint_eq(f.ended, 1);
	sched_destroy(s);
	/* a missing file is an empty journal */
	unlink(path);
	s = replayed(path, &f);
	ck_assert_uint_eq(f.records, 0);
	ck_assert_uint_eq(sched_last_id(s), 0);
	sched_destroy(s);
	remove_dir();
}
END_TEST

START_TEST(cancelled_ranges_and_pool)
{
	char path[128];
	struct rig r;
	struct journal_found f;
	struct err err = { "" };
	char *arr[] = { (char *)"true", NULL };
	struct task_spec as = { .argv = arr, .cores = 1, .is_array = 1,
				.array_first = 0, .array_last = 99999 };
	task_id_t first;
	uint64_t n;

	make_dir();
	path_of(path, sizeof(path), "journal");
	rig_open(&r, path);
	ck_assert_int_eq(sched_submit(r.s, &as, &first, &n, NULL), 0);
	catch_up(&r);
	/* a bulk cancel as one record, as the server writes it */
	sched_cancel_range(r.s, 1, 60000, NULL);
	json_t *rec = journal_record_cancelled(1, 60000);
	journal_append(r.j, rec);
	json_decref(rec);
	rec = journal_record("pool-adapt");
	json_object_set_new(rec, "min", json_integer(1));
	json_object_set_new(rec, "max", json_integer(8));
	json_object_set_new(rec, "idle", json_real(30));
	journal_append(r.j, rec);
	json_decref(rec);
	rig_close(&r);
	struct sched *s = replayed(path, &f);
	struct sched_counts sc;
	sched_counts(s, &sc);
	ck_assert_uint_eq(sc.state[TASK_CANCELLED], 60000);
	ck_assert_uint_eq(sc.state[TASK_QUEUED], 40000);
	ck_assert_int_eq(f.has_adapt, 1);
	ck_assert_uint_eq(f.adapt_min, 1);
	ck_assert_uint_eq(f.adapt_max, 8);
	ck_assert_msg(journal_compact(path, s, &f, NULL, &err) == 0, "%s",
		      err.text);
	struct journal_found g;
	struct sched *t = replayed(path, &g);
	same_tables(s, t);
	ck_assert_int_eq(g.has_adapt, 1);
	ck_assert_uint_eq(g.adapt_max, 8);
	ck_assert_uint_eq(g.records, 3);	/* submit, one cancel, adapt */
	sched_destroy(t);
	sched_destroy(s);
	remove_dir();
}
END_TEST

int main(void)
{
	Suite *su = suite_create("journal");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, write_replay_compact_round_trip);
	tcase_add_test(tc, fast_records_match_the_codec);
	tcase_add_test(tc, cut_anywhere_in_the_last_record);
	tcase_add_test(tc, zeroed_block_is_skipped);
	tcase_add_test(tc, bad_lines_and_versions);
	tcase_add_test(tc, cancelled_ranges_and_pool);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
