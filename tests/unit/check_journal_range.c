/* journal ranges: runs and ends of consecutive tasks as one record
 * replay to the same table as a record a task; a range record cut at
 * every byte; what breaks a range. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal/journal.h"
#include "util/strbuf.h"

/* One table journalled twice: a record a task (`one`) and ranges
 * (`many`), the latter gathered as the server does (a range of runs, a
 * range of ends), put out at the end of each "turn" (flush) and before
 * any record that is not part of them. */
struct rig {
	struct sched *s;
	struct journal *one, *many;
	struct journal_range runs, ends;
	task_id_t next_id;
};

static void put_one(struct rig *r, struct journal_range *g)
{
	journal_range_line(journal_buffer(r->many), g, 0);
	journal_range_reset(g);
}

static void put_range(struct rig *r)
{
	put_one(r, &r->runs);
	put_one(r, &r->ends);
}


static void catch_up(struct rig *r)
{
	while (r->next_id <= sched_last_id(r->s)) {
		struct sched_submission sub;
		ck_assert_int_eq(sched_submission(r->s, r->next_id, &sub), 0);
		json_t *rec = journal_record_submit(r->s, r->next_id);
		put_range(r);
		journal_append(r->one, rec);
		journal_append(r->many, rec);
		json_decref(rec);
		r->next_id = sub.first + sub.n;
	}
}

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct rig *r = arg;
	struct task_info ti;
	struct worker_info wi;

	catch_up(r);
	ck_assert_int_eq(sched_task(r->s, id, &ti), 0);
	ck_assert_int_eq(sched_worker(r->s, w, &wi), 0);
	journal_line_run(journal_buffer(r->one), id, &ti, wi.name);
	if (journal_range_has(&r->ends, id))
		put_one(r, &r->ends);
	if (!journal_range_run(&r->runs, id, &ti, wi.name)) {
		put_one(r, &r->runs);
		ck_assert_int_eq(journal_range_run(&r->runs, id, &ti,
						   wi.name), 1);
	}
}

static void on_ended(void *arg, task_id_t id)
{
	struct rig *r = arg;
	struct task_info ti;

	catch_up(r);
	ck_assert_int_eq(sched_task(r->s, id, &ti), 0);
	journal_line_end(journal_buffer(r->one), id, &ti);
	if (journal_range_has(&r->runs, id))
		put_one(r, &r->runs);
	int fits = journal_range_end(&r->ends, id, &ti);
	if (fits <= 0)
		put_one(r, &r->ends);
	if (fits == 0)
		ck_assert_int_eq(journal_range_end(&r->ends, id, &ti), 1);
	else if (fits < 0)
		journal_line_end(journal_buffer(r->many), id, &ti);
}

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_journal_range.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

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

static void rig_open(struct rig *r)
{
	struct sched_hooks h = { .arg = r, .assign = on_assign,
				 .ended = on_ended };
	struct err err = { "" };
	char path[128];

	memset(r, 0, sizeof(*r));
	r->s = sched_create(&h);
	r->next_id = 1;
	journal_range_init(&r->runs);
	journal_range_init(&r->ends);
	path_of(path, sizeof(path), "one");
	r->one = journal_open(path, &err);
	ck_assert_msg(r->one != NULL, "%s", err.text);
	path_of(path, sizeof(path), "many");
	r->many = journal_open(path, &err);
	ck_assert_msg(r->many != NULL, "%s", err.text);
}

/* The end of a loop turn: the range goes out, both files are written. */
static void flush(struct rig *r)
{
	catch_up(r);
	put_range(r);
	ck_assert_int_eq(journal_write(r->one, 1, NULL), 0);
	ck_assert_int_eq(journal_write(r->many, 1, NULL), 0);
}

static void rig_close(struct rig *r)
{
	flush(r);
	journal_close(r->one);
	journal_close(r->many);
	journal_range_release(&r->runs);
	journal_range_release(&r->ends);
	sched_destroy(r->s);
}

static struct sched *replayed(const char *name, struct journal_found *f)
{
	struct sched_hooks h = { 0 };
	struct sched *s = sched_create(&h);
	struct err err = { "" };
	char path[128];

	path_of(path, sizeof(path), name);
	ck_assert_msg(journal_replay(path, s, f, &err) == 0, "%s", err.text);
	return s;
}

static void finish(struct sched *s, task_id_t id, worker_id_t w, int code,
		   double runtime, uint64_t mem)
{
	struct task_result res = { .exit_code = code, .runtime = runtime,
				   .peak_memory = mem };
	sched_task_finished(s, id, w, &res);
}

static void same_tables(struct sched *a, struct sched *b)
{
	ck_assert_uint_eq(sched_last_id(a), sched_last_id(b));
	for (task_id_t id = 1; id <= sched_last_id(a); id++) {
		struct task_info x, y;
		ck_assert_int_eq(sched_task(a, id, &x), 0);
		ck_assert_int_eq(sched_task(b, id, &y), 0);
		ck_assert_msg(x.state == y.state, "task %llu: %s vs %s",
			      (unsigned long long)id, task_state_name(x.state),
			      task_state_name(y.state));
		ck_assert_uint_eq(x.attempts, y.attempts);
		ck_assert_uint_eq(x.failures, y.failures);
		ck_assert_uint_eq(x.worker_losses, y.worker_losses);
		ck_assert_int_eq(x.exit_code, y.exit_code);
		ck_assert_int_eq(x.signal, y.signal);
		ck_assert_uint_eq(x.peak_memory, y.peak_memory);
		ck_assert_msg(x.runtime - y.runtime < 1e-6 &&
			      y.runtime - x.runtime < 1e-6,
			      "task %llu: runtime %g vs %g",
			      (unsigned long long)id, x.runtime, y.runtime);
		ck_assert_msg(!x.reason == !y.reason &&
			      (!x.reason || !strcmp(x.reason, y.reason)),
			      "task %llu: reason '%s' vs '%s'",
			      (unsigned long long)id, x.reason ? x.reason : "",
			      y.reason ? y.reason : "");
	}
}

/* The file's lines, header aside; *n of them.  Caller frees. */
static json_t *lines_of(const char *name)
{
	char path[128];
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	json_t *all = json_array();

	path_of(path, sizeof(path), name);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	for (int no = 0; getline(&line, &cap, f) >= 0; no++) {
		json_error_t je;
		json_t *rec = json_loads(line, 0, &je);
		ck_assert_msg(rec != NULL, "%s: '%s': %s", name, line, je.text);
		if (no)
			json_array_append_new(all, rec);
		else
			json_decref(rec);
	}
	free(line);
	fclose(f);
	return all;
}

/* Whether `recs` holds an `ev` record of ids first..last (last 0: a
 * record of one task, without "last"). */
static int has_record(json_t *recs, const char *ev, json_int_t first,
		      json_int_t last)
{
	size_t i;
	json_t *rec;

	json_array_foreach(recs, i, rec) {
		json_t *l = json_object_get(rec, "last");
		if (strcmp(json_string_value(json_object_get(rec, "ev")), ev) ||
		    json_integer_value(json_object_get(rec, "id")) != first)
			continue;
		if (last ? json_integer_value(l) == last : !l)
			return 1;
	}
	return 0;
}

static size_t count_ev(json_t *recs, const char *ev)
{
	size_t i, n = 0;
	json_t *rec;

	json_array_foreach(recs, i, rec)
		n += !strcmp(json_string_value(json_object_get(rec, "ev")), ev);
	return n;
}

/* 40 tasks on two workers of 8 cores, a few turns: runs in ranges of a
 * worker's share, ends in ranges of one state, a failure, a retry, a
 * cancel during a run, a lost worker, and runs left under way. */
static void busy_table(struct rig *r, worker_id_t *wa, worker_id_t *wb)
{
	char *arr[] = { (char *)"run", (char *)"{}", NULL };
	struct task_spec as = { .argv = arr, .cores = 1, .retries = 1,
				.is_array = 1, .array_first = 0,
				.array_last = 39 };
	task_id_t first;
	uint64_t n;

	ck_assert_int_eq(sched_submit(r->s, &as, &first, &n, NULL), 0);
	*wa = sched_worker_add(r->s, "node-a:1", 8, 0);
	sched_dispatch(r->s);			/* 1-8 on a */
	*wb = sched_worker_add(r->s, "node-b:1", 8, 0);
	sched_dispatch(r->s);			/* 9-16 on b */
	flush(r);
	for (task_id_t id = 1; id <= 8; id++)	/* 5 fails: retried */
		finish(r->s, id, *wa, id == 5 ? 3 : 0, 0.25 * (double)id,
		       id < 4 ? 0 : 1000 * id);
	flush(r);
	sched_cancel(r->s, 9, NULL);		/* a reason: a record alone */
	for (task_id_t id = 10; id <= 13; id++)
		finish(r->s, id, *wb, 0, 0, 0);	/* no runtime, no memory */
	flush(r);
	sched_dispatch(r->s);
	flush(r);
	sched_worker_lost(r->s, *wb);		/* 14-16 and more requeued */
	flush(r);
	sched_dispatch(r->s);
	flush(r);
	/* whatever runs now stays under way */
}

START_TEST(ranges_replay_as_records_a_task)
{
	struct rig r;
	worker_id_t wa, wb;
	struct journal_found f, g;

	make_dir();
	rig_open(&r);
	busy_table(&r, &wa, &wb);
	flush(&r);
	struct sched *one = replayed("one", &f);
	struct sched *many = replayed("many", &g);
	same_tables(one, many);
	ck_assert_uint_eq(f.tasks, g.tasks);
	ck_assert_uint_eq(f.ended, g.ended);
	ck_assert_uint_eq(f.running, g.running);
	ck_assert_uint_ge(g.running, 1);
	ck_assert_uint_eq(f.requeued, g.requeued);
	ck_assert_int_eq(g.major, JOURNAL_MAJOR);
	ck_assert_uint_lt(g.records, f.records / 2);

	json_t *recs = lines_of("many");
	ck_assert(has_record(recs, "run", 1, 16));	/* a's, b's share */
	ck_assert(has_record(recs, "end", 1, 4));	/* 5: run again */
	ck_assert(has_record(recs, "end", 6, 8));
	ck_assert(has_record(recs, "end", 9, 0));	/* cancelled, reason */
	ck_assert(has_record(recs, "end", 10, 13));
	json_decref(recs);

	/* compacted, the same table again */
	struct err err = { "" };
	char path[128];
	path_of(path, sizeof(path), "many");
	ck_assert_msg(journal_compact(path, many, &g, NULL, &err) == 0, "%s",
		      err.text);
	struct journal_found h;
	struct sched *back = replayed("many", &h);
	same_tables(many, back);
	sched_destroy(back);
	sched_destroy(many);
	sched_destroy(one);
	rig_close(&r);
	remove_dir();
}
END_TEST

START_TEST(mixed_states_break_ranges)
{
	struct rig r;
	worker_id_t wa, wb;
	char *arr[] = { (char *)"run", (char *)"{}", NULL };
	struct task_spec as = { .argv = arr, .cores = 1, .is_array = 1,
				.array_first = 1, .array_last = 12 };
	task_id_t first;
	uint64_t n;

	make_dir();
	rig_open(&r);
	ck_assert_int_eq(sched_submit(r.s, &as, &first, &n, NULL), 0);
	wa = sched_worker_add(r.s, "node-a:1", 6, 0);
	sched_dispatch(r.s);
	wb = sched_worker_add(r.s, "node-b:1", 6, 0);
	sched_dispatch(r.s);
	flush(&r);
	/* done, done, exit 1, exit 1, exit 2, done: four ranges (the last
	 * goes on with b's) */
	int codes[6] = { 0, 0, 1, 1, 2, 0 };
	for (task_id_t id = 1; id <= 6; id++)
		finish(r.s, id, wa, codes[id - 1], 1, 0);
	/* b's: done */
	finish(r.s, 7, wb, 0, 1, 0);
	finish(r.s, 8, wb, 0, 1, 0);
	flush(&r);			/* a turn ends: so does a range */
	finish(r.s, 9, wb, 0, 1, 0);
	flush(&r);
	json_t *recs = lines_of("many");
	ck_assert(has_record(recs, "run", 1, 12));	/* on a, then b */
	ck_assert_uint_eq(count_ev(recs, "run"), 1);
	ck_assert(has_record(recs, "end", 1, 2));
	ck_assert(has_record(recs, "end", 3, 4));
	ck_assert(has_record(recs, "end", 5, 0));
	ck_assert(has_record(recs, "end", 6, 8));
	ck_assert(has_record(recs, "end", 9, 0));
	ck_assert_uint_eq(count_ev(recs, "end"), 5);
	json_decref(recs);
	struct journal_found f, g;
	struct sched *one = replayed("one", &f);
	struct sched *many = replayed("many", &g);
	same_tables(one, many);
	same_tables(r.s, many);
	sched_destroy(one);
	sched_destroy(many);
	rig_close(&r);
	remove_dir();
}
END_TEST

/* Two workers given tasks in turn, each reporting its own ends: one
 * range of runs naming both, a range of ends stepping by 2 for each. */
START_TEST(workers_in_turn)
{
	struct rig r;
	char *arr[] = { (char *)"run", (char *)"{}", NULL };
	struct task_spec as = { .argv = arr, .cores = 1, .is_array = 1,
				.array_first = 1, .array_last = 8 };
	task_id_t first;
	uint64_t n;

	make_dir();
	rig_open(&r);
	ck_assert_int_eq(sched_submit(r.s, &as, &first, &n, NULL), 0);
	worker_id_t wa = sched_worker_add(r.s, "node-a:1", 4, 0);
	worker_id_t wb = sched_worker_add(r.s, "node-b:1", 4, 0);
	sched_dispatch(r.s);
	flush(&r);
	for (worker_id_t w = wa;; w = wb) {
		for (task_id_t id = 1; id <= 8; id++) {
			struct task_info ti;
			ck_assert_int_eq(sched_task(r.s, id, &ti), 0);
			if (ti.worker == w)
				finish(r.s, id, w, 0, 0.5 * (double)id, id);
		}
		if (w == wb)
			break;
	}
	flush(&r);
	json_t *recs = lines_of("many");
	ck_assert_uint_eq(count_ev(recs, "run"), 1);
	ck_assert_uint_eq(count_ev(recs, "end"), 2);
	json_t *run = json_array_get(recs, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(run, "last")), 8);
	ck_assert_uint_eq(json_array_size(json_object_get(run, "workers")), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(run, "on")), 8);
	json_t *end = json_array_get(recs, 2);
	ck_assert_int_eq(json_integer_value(json_object_get(end, "step")), 2);
	ck_assert_uint_eq(json_array_size(json_object_get(end, "runtime")), 4);
	json_decref(recs);
	struct journal_found f, g;
	struct sched *one = replayed("one", &f);
	struct sched *many = replayed("many", &g);
	same_tables(one, many);
	same_tables(r.s, many);
	ck_assert_uint_eq(g.ended, 8);
	sched_destroy(one);
	sched_destroy(many);
	rig_close(&r);
	remove_dir();
}
END_TEST

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spit(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
}

START_TEST(a_range_cut_at_every_byte)
{
	struct rig r;
	char *arr[] = { (char *)"run", (char *)"{}", NULL };
	struct task_spec as = { .argv = arr, .cores = 1, .is_array = 1,
				.array_first = 1, .array_last = 30 };
	task_id_t first;
	uint64_t n;
	char path[128], cut[128];

	make_dir();
	rig_open(&r);
	ck_assert_int_eq(sched_submit(r.s, &as, &first, &n, NULL), 0);
	worker_id_t w = sched_worker_add(r.s, "node-a:1", 30, 0);
	sched_dispatch(r.s);
	flush(&r);
	for (task_id_t id = 1; id <= 30; id++)
		finish(r.s, id, w, 0, 0.5 + 0.001 * (double)id, 4096 * id);
	rig_close(&r);

	path_of(path, sizeof(path), "many");
	path_of(cut, sizeof(cut), "cut");
	size_t len;
	char *all = slurp(path, &len);
	size_t start = len - 1;		/* the last line: the ends' range */
	while (start > 0 && all[start - 1] != '\n')
		start--;
	ck_assert(strstr(all + start, "\"last\":30") != NULL);
	struct journal_found whole;
	struct sched *s = replayed("many", &whole);
	sched_destroy(s);
	for (size_t k = start; k < len; k++) {
		struct journal_found f;
		struct sched_counts sc;
		spit(cut, all, k);
		s = replayed("cut", &f);
		ck_assert_uint_eq(f.records, whole.records - 1);
		ck_assert_int_eq(f.torn, k > start);
		sched_counts(s, &sc);
		/* none of the range: the runs stand, held for the worker */
		ck_assert_uint_eq(sc.state[TASK_DONE], 0);
		ck_assert_uint_eq(f.running, 30);
		sched_destroy(s);
		s = replayed("cut", &f);	/* truncated: whole lines */
		ck_assert_int_eq(f.torn, 0);
		sched_destroy(s);
	}
	free(all);
	remove_dir();
}
END_TEST

static void expect_error(const char *path, const char *txt, const char *msg)
{
	struct sched_hooks h = { 0 };
	struct sched *s = sched_create(&h);
	struct journal_found f;
	struct err err = { "" };

	spit(path, txt, strlen(txt));
	ck_assert_int_eq(journal_replay(path, s, &f, &err), -1);
	ck_assert_msg(strstr(err.text, msg) != NULL, "'%s' lacks '%s'",
		      err.text, msg);
	sched_destroy(s);
}

#define HEADER "{\"format\":\"cluster-journal\",\"version\":\"2.0\"}\n"
#define SUBMIT "{\"ev\":\"submit\",\"t\":1,\"id\":1,\"n\":3,\"spec\":" \
	"{\"argv\":[\"run\",\"{}\"],\"array\":\"1-3\"}}\n"

START_TEST(bad_ranges_and_versions)
{
	char path[128];
	struct journal_found f;

	make_dir();
	path_of(path, sizeof(path), "journal");
	expect_error(path, HEADER SUBMIT
		     "{\"ev\":\"run\",\"id\":2,\"last\":1,\"attempt\":1}\n",
		     "journal:3: field 'last': expected an id from 2 on");
	expect_error(path, HEADER SUBMIT
		     "{\"ev\":\"run\",\"id\":2,\"last\":4,\"attempt\":1}\n",
		     "journal:3: run of task 4, never submitted");
	expect_error(path, HEADER SUBMIT
		     "{\"ev\":\"end\",\"id\":1,\"last\":3,\"state\":\"done\","
		     "\"runtime\":[1,2],\"runs\":1}\n",
		     "journal:3: field 'runtime': expected an array of 3 "
		     "numbers");
	expect_error(path, HEADER SUBMIT
		     "{\"ev\":\"end\",\"id\":1,\"last\":3,\"state\":\"done\","
		     "\"peak_memory\":[1,\"x\",3],\"runs\":1}\n",
		     "journal:3: field 'peak_memory': expected an array of 3 "
		     "numbers");
	expect_error(path, HEADER SUBMIT
		     "{\"ev\":\"end\",\"id\":1,\"last\":3,\"state\":\"done\"}\n",
		     "journal:3: field 'last': only for cancelled tasks");
	expect_error(path, HEADER SUBMIT
		     "{\"ev\":\"end\",\"id\":1,\"last\":2,\"step\":2,"
		     "\"state\":\"done\",\"runs\":1}\n",
		     "journal:3: field 'last': expected 1 and a multiple of 2 "
		     "after it");
	expect_error(path, HEADER SUBMIT
		     "{\"ev\":\"end\",\"id\":1,\"last\":3,\"step\":0,"
		     "\"state\":\"done\",\"runs\":1}\n",
		     "journal:3: field 'step': expected a positive number");
	expect_error(path, "{\"format\":\"cluster-journal\",\"version\":"
		     "\"3.0\"}\n", "version 3.0 is not read by this cluster, "
		     "which reads versions 1.x to 2.x");
	expect_error(path, "{\"format\":\"cluster-journal\",\"version\":"
		     "\"0.9\"}\n", "version 0.9 is not read");

	/* a range read back; a version 1 file read, and compacted as 2 */
	const char *txt = HEADER SUBMIT
		"{\"ev\":\"run\",\"t\":2,\"id\":1,\"last\":3,\"attempt\":1,"
		"\"worker\":\"n:1\"}\n"
		"{\"ev\":\"end\",\"t\":3,\"id\":1,\"last\":2,\"state\":\"done\","
		"\"runtime\":[0.5,1.5],\"peak_memory\":[0,7],\"runs\":1}\n";
	spit(path, txt, strlen(txt));
	struct sched *s = replayed("journal", &f);
	struct task_info ti;
	ck_assert_int_eq(sched_task(s, 2, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_DONE);
	ck_assert(ti.runtime == 1.5);
	ck_assert_uint_eq(ti.peak_memory, 7);
	ck_assert_int_eq(sched_task(s, 3, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_RUNNING);
	ck_assert_uint_eq(f.running, 1);
	sched_destroy(s);

	txt = "{\"format\":\"cluster-journal\",\"version\":\"1.0\"}\n" SUBMIT
		"{\"ev\":\"end\",\"t\":3,\"id\":2,\"state\":\"done\","
		"\"runtime\":2,\"runs\":1}\n";
	spit(path, txt, strlen(txt));
	s = replayed("journal", &f);
	ck_assert_int_eq(f.major, 1);
	struct err err = { "" };
	ck_assert_msg(journal_compact(path, s, &f, NULL, &err) == 0, "%s",
		      err.text);
	struct journal_found g;
	struct sched *t = replayed("journal", &g);
	ck_assert_int_eq(g.major, JOURNAL_MAJOR);
	same_tables(s, t);
	sched_destroy(t);
	sched_destroy(s);
	remove_dir();
}
END_TEST

int main(void)
{
	Suite *su = suite_create("journal_range");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ranges_replay_as_records_a_task);
	tcase_add_test(tc, mixed_states_break_ranges);
	tcase_add_test(tc, workers_in_turn);
	tcase_add_test(tc, a_range_cut_at_every_byte);
	tcase_add_test(tc, bad_ranges_and_versions);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
