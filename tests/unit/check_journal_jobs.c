/*
 * journal: the pool's batch jobs.  Their records (job-submit, -adopt,
 * -state, -end) as format.c writes them; a replay keeps the live ones,
 * each with its first record and last state, and a compaction writes
 * just those back; bad job records name their line.  And the pool
 * manager's job_changed hook on the real local backend: each change told
 * once, in the order it happened, and an earlier scheduler's live jobs
 * told as adopted by the next one.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "journal/journal.h"
#include "pool/manager.h"
#include "util/strbuf.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_journal_jobs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;

	ck_assert_ptr_nonnull(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	return strbuf_detach(&sb, NULL);
}

static struct sched *replayed(const char *path, struct journal_found *f)
{
	struct sched_hooks h = { 0 };
	struct sched *s = sched_create(&h);
	struct err err = { "" };

	ck_assert_msg(journal_replay(path, s, f, &err) == 0, "%s", err.text);
	return s;
}

static void add_line(struct strbuf *sb, const struct journal_job *j)
{
	json_t *r = journal_record_job(j);

	journal_encode(sb, r);
	strbuf_addch(sb, '\n');
	json_decref(r);
}

#define HEADER "{\"format\":\"cluster-journal\",\"version\":\"1.0\"}\n"

START_TEST(records_of_each_event)
{
	struct journal_job sub = { .ev = "job-submit", .seq = 3,
				   .name = "c-3", .id = "812", .index = 1,
				   .state = "queued", .reason = "Priority" };
	struct journal_job st = { .ev = "job-state", .seq = 3, .id = "812",
				  .index = -1, .state = "running",
				  .raw = "R", .reason = "" };
	struct journal_job end = { .ev = "job-end", .seq = 3, .id = "812",
				   .index = 1, .state = "walltime",
				   .raw = "TO", .reason = "TimeLimit" };
	json_t *r;

	r = journal_record_job(&sub);
	ck_assert_str_eq(json_string_value(json_object_get(r, "ev")),
			 "job-submit");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "seq")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(r, "name")), "c-3");
	ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "812");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "index")), 1);
	ck_assert_int_eq(json_is_number(json_object_get(r, "t")), 1);
	json_decref(r);

	/* no index below 0, no empty reason, no name but where given */
	r = journal_record_job(&st);
	ck_assert_ptr_null(json_object_get(r, "index"));
	ck_assert_ptr_null(json_object_get(r, "reason"));
	ck_assert_ptr_null(json_object_get(r, "name"));
	ck_assert_str_eq(json_string_value(json_object_get(r, "state")),
			 "running");
	ck_assert_str_eq(json_string_value(json_object_get(r, "raw")), "R");
	json_decref(r);

	/* an end says how in "end", not "state" */
	r = journal_record_job(&end);
	ck_assert_ptr_null(json_object_get(r, "state"));
	ck_assert_str_eq(json_string_value(json_object_get(r, "end")),
			 "walltime");
	ck_assert_str_eq(json_string_value(json_object_get(r, "reason")),
			 "TimeLimit");
	json_decref(r);
}
END_TEST

START_TEST(replay_keeps_live_jobs_and_compaction_too)
{
	char path[128];
	struct strbuf sb = STRBUF_INIT;
	struct journal_found f, g;
	struct err err = { "" };

	make_dir();
	snprintf(path, sizeof(path), "%s/journal", dir);
	strbuf_addstr(&sb, HEADER);
	/* 1: submitted, queued then running; 2: an array element that
	 * ended; 3: adopted from an earlier scheduler; 4: ended twice over
	 * (an end of a job already gone changes nothing) */
	add_line(&sb, &(struct journal_job){ "job-submit", 1, "c-1", "100",
					    -1, NULL, NULL, NULL });
	add_line(&sb, &(struct journal_job){ "job-submit", 2, "c-2", "101",
					    0, NULL, NULL, NULL });
	add_line(&sb, &(struct journal_job){ "job-state", 1, NULL, "100", -1,
					    "queued", "PD", "Priority" });
	strbuf_addstr(&sb, "{\"ev\":\"job-frobnicated\",\"t\":5,\"seq\":1}\n");
	add_line(&sb, &(struct journal_job){ "job-state", 1, NULL, "100", -1,
					    "running", "R", NULL });
	add_line(&sb, &(struct journal_job){ "job-end", 2, NULL, "101", 0,
					    "failed", "F", "NonZeroExitCode" });
	add_line(&sb, &(struct journal_job){ "job-adopt", 3, "c-3", "99", -1,
					    "queued", NULL, NULL });
	add_line(&sb, &(struct journal_job){ "job-end", 4, NULL, "98", -1,
					    "lost", NULL, NULL });
	spit(path, sb.buf);
	strbuf_release(&sb);

	struct sched *s = replayed(path, &f);
	ck_assert_uint_eq(f.records, 8);
	ck_assert_ptr_nonnull(f.jobs);
	ck_assert_uint_eq(json_object_size(f.jobs), 2);
	json_t *one = json_object_get(f.jobs, "1");
	ck_assert_ptr_nonnull(one);
	ck_assert_str_eq(json_string_value(json_object_get(
		json_object_get(one, "first"), "ev")), "job-submit");
	ck_assert_str_eq(json_string_value(json_object_get(
		json_object_get(one, "last"), "state")), "running");
	ck_assert_ptr_null(json_object_get(f.jobs, "2"));
	json_t *three = json_object_get(f.jobs, "3");
	ck_assert_ptr_nonnull(three);
	ck_assert_ptr_null(json_object_get(three, "last"));

	/* compacted: the two live jobs, each its first record and last
	 * state, nothing of the ended ones, and the same replay */
	ck_assert_msg(journal_compact(path, s, &f, NULL, &err) == 0, "%s",
		      err.text);
	char *text = slurp(path);
	ck_assert_ptr_null(strstr(text, "job-end"));
	ck_assert_ptr_null(strstr(text, "\"101\""));
	ck_assert_ptr_null(strstr(text, "Priority"));
	ck_assert_ptr_null(strstr(text, "frobnicated"));
	free(text);
	struct sched *t = replayed(path, &g);
	ck_assert_uint_eq(g.records, 3);
	ck_assert_int_eq(json_equal(f.jobs, g.jobs), 1);
	journal_found_release(&g);
	sched_destroy(t);

	/* all ended: a compaction keeps no job */
	journal_found_release(&f);
	sched_destroy(s);
	strbuf_init(&sb, 0);
	strbuf_addstr(&sb, HEADER);
	add_line(&sb, &(struct journal_job){ "job-submit", 1, "c-1", "100",
					    -1, NULL, NULL, NULL });
	add_line(&sb, &(struct journal_job){ "job-end", 1, NULL, "100", -1,
					    "completed", "CD", NULL });
	spit(path, sb.buf);
	strbuf_release(&sb);
	s = replayed(path, &f);
	ck_assert_uint_eq(json_object_size(f.jobs), 0);
	ck_assert_msg(journal_compact(path, s, &f, NULL, &err) == 0, "%s",
		      err.text);
	journal_found_release(&f);
	sched_destroy(s);
	s = replayed(path, &f);
	ck_assert_uint_eq(f.records, 0);
	ck_assert_ptr_null(f.jobs);
	sched_destroy(s);
	remove_dir();
}
END_TEST

static void expect_error(const char *path, const char *want)
{
	struct sched_hooks h = { 0 };
	struct sched *s = sched_create(&h);
	struct journal_found f;
	struct err err = { "" };
	char *before = slurp(path);

	ck_assert_int_eq(journal_replay(path, s, &f, &err), -1);
	ck_assert_msg(strstr(err.text, want) != NULL, "'%s' lacks '%s'",
		      err.text, want);
	char *after = slurp(path);
	ck_assert_str_eq(before, after);	/* left untouched */
	free(before);
	free(after);
	journal_found_release(&f);
	sched_destroy(s);
}

START_TEST(bad_job_records)
{
	char path[128];

	make_dir();
	snprintf(path, sizeof(path), "%s/journal", dir);
	spit(path, HEADER "{\"ev\":\"job-submit\",\"t\":1,\"id\":\"5\"}\n");
	expect_error(path, "journal:2: field 'seq': expected the pool's number");
	spit(path, HEADER "{\"ev\":\"job-submit\",\"t\":1,\"seq\":1,"
	     "\"id\":\"5\"}\n{\"ev\":\"job-state\",\"t\":1,\"seq\":0,"
	     "\"id\":\"5\",\"state\":\"running\"}\n");
	expect_error(path, "journal:3: field 'seq'");
	spit(path, HEADER "{\"ev\":\"job-submit\",\"t\":1,\"seq\":1,"
	     "\"id\":\"\"}\n");
	expect_error(path, "journal:2: field 'id': expected the job's batch id");
	spit(path, HEADER "{\"ev\":\"job-state\",\"t\":1,\"seq\":1,"
	     "\"id\":\"5\",\"state\":7}\n");
	expect_error(path, "journal:2: field 'state': expected the job's state");
	spit(path, HEADER "{\"ev\":\"job-end\",\"t\":1,\"seq\":1,"
	     "\"id\":\"5\",\"state\":\"completed\"}\n");
	expect_error(path, "journal:2: field 'end': expected the job's end");
	spit(path, HEADER "{\"ev\":\"job-adopt\",\"t\":1,\"seq\":1,"
	     "\"id\":\"5\"}\n");
	expect_error(path, "journal:2: field 'state'");
	remove_dir();
}
END_TEST

/* --- the manager's hook ------------------------------------------------------ */

struct change {
	enum pool_job_change what;
	uint64_t seq;
	char id[POOL_ID_LEN];
	enum job_state state;
	enum job_end end;
	char name[64];
};

struct heard {
	struct change v[64];
	size_t n;
};

static void heard_change(void *arg, const struct pool_job *j,
			 enum pool_job_change what, const char *name)
{
	struct heard *h = arg;

	ck_assert_uint_lt(h->n, 64);
	struct change *c = &h->v[h->n++];
	c->what = what;
	c->seq = j->seq;
	snprintf(c->id, sizeof(c->id), "%s", j->id);
	c->state = j->state;
	c->end = j->end;
	snprintf(c->name, sizeof(c->name), "%s", name);
}

static void run_for(struct event_base *base, double secs)
{
	struct timeval tv = { (time_t)secs,
			      (suseconds_t)((secs - (long)secs) * 1e6) };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static struct pool_manager *local_manager(struct event_base *base,
					  struct heard *h)
{
	char script[128];
	struct pool_manager_hooks hooks = { .arg = h,
					    .job_changed = heard_change };
	struct pool_manager_config cfg = { 0 };
	struct err err = { "" };
	struct pool_manager *m;

	snprintf(script, sizeof(script), "%s/job.sh", dir);
	cfg.backend = &backend_local;
	cfg.cluster = "jj";
	cfg.state_dir = dir;
	cfg.script = script;
	cfg.params.workers_per_job = 1;
	cfg.params.missing_grace = 0.2;
	cfg.poll_interval = 0.2;
	m = pool_manager_create(base, &hooks, &cfg, &err);
	ck_assert_msg(m != NULL, "%s", err.text);
	return m;
}

static size_t count(const struct heard *h, size_t from,
		    enum pool_job_change what)
{
	size_t n = 0;

	for (size_t i = from; i < h->n; i++)
		n += h->v[i].what == what;
	return n;
}

static void wait_changes(struct event_base *base, struct heard *h,
			 size_t from, enum pool_job_change what, size_t n)
{
	for (int i = 0; i < 200 && count(h, from, what) < n; i++)
		run_for(base, 0.05);
	ck_assert_uint_eq(count(h, from, what), n);
}

START_TEST(manager_tells_each_change_once)
{
	struct heard h = { .n = 0 }, h2 = { .n = 0 };
	char script[128];

	make_dir();
	snprintf(script, sizeof(script), "%s/job.sh", dir);
	spit(script, "#!/bin/sh\nexec sleep 60\n");
	ck_assert_int_eq(chmod(script, 0755), 0);

	struct event_base *base = event_base_new();
	struct pool_manager *m = local_manager(base, &h);
	ck_assert_uint_eq(h.n, 0);
	pool_manager_scale(m, 2);
	wait_changes(base, &h, 0, POOL_JOB_SUBMITTED, 2);
	ck_assert_uint_eq(h.v[0].seq + 1, h.v[1].seq);
	ck_assert_str_eq(h.v[0].name, "jj-1");
	ck_assert_int_gt(atol(h.v[0].id), 1);
	run_for(base, 0.6);	/* polls: a running job is told once */
	ck_assert_uint_eq(count(&h, 0, POOL_JOB_SUBMITTED), 2);
	ck_assert_uint_le(count(&h, 0, POOL_JOB_STATE), 2);
	for (size_t i = 0; i < h.n; i++)
		if (h.v[i].what == POOL_JOB_STATE)
			ck_assert_int_eq(h.v[i].state, JOB_STATE_RUNNING);

	/* one killed from outside: told ended, and its replacement
	 * submitted */
	pid_t killed = (pid_t)atol(h.v[0].id);
	size_t mark = h.n;
	ck_assert_int_eq(kill(-killed, SIGKILL), 0);
	wait_changes(base, &h, mark, POOL_JOB_ENDED, 1);
	wait_changes(base, &h, mark, POOL_JOB_SUBMITTED, 1);
	size_t e = mark;
	while (h.v[e].what != POOL_JOB_ENDED)
		e++;
	ck_assert_uint_eq(h.v[e].seq, h.v[0].seq);
	ck_assert_int_eq(h.v[e].state, JOB_STATE_ENDED);
	run_for(base, 0.5);
	ck_assert_uint_eq(count(&h, mark, POOL_JOB_ENDED), 1);

	/* the scheduler goes (the jobs stay); the next one adopts the two
	 * live jobs and tells them adopted, not submitted */
	pool_manager_destroy(m);
	m = local_manager(base, &h2);
	ck_assert_uint_eq(count(&h2, 0, POOL_JOB_ADOPTED), 2);
	ck_assert_uint_eq(count(&h2, 0, POOL_JOB_SUBMITTED), 0);
	run_for(base, 0.6);
	ck_assert_uint_eq(count(&h2, 0, POOL_JOB_SUBMITTED), 0);
	ck_assert_uint_eq(count(&h2, 0, POOL_JOB_ENDED), 0);

	/* scale 0: both end, told once each */
	pool_manager_scale(m, 0);
	wait_changes(base, &h2, 0, POOL_JOB_ENDED, 2);
	run_for(base, 0.5);
	ck_assert_uint_eq(count(&h2, 0, POOL_JOB_ENDED), 2);
	pool_manager_destroy(m);
	event_base_free(base);
	remove_dir();
}
END_TEST

int main(void)
{
	Suite *su = suite_create("journal_jobs");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, records_of_each_event);
	tcase_add_test(tc, replay_keeps_live_jobs_and_compaction_too);
	tcase_add_test(tc, bad_job_records);
	tcase_add_test(tc, manager_tells_each_change_once);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
