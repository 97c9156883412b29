/* journal writer: records written turn by turn, with syncs
 * and compactions in between, replay as the table that made them; a
 * write that fails keeps its records and leaves whole lines; a file the
 * thread wrote and then replaced, cut anywhere in its last record, still
 * loads the records before it. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal/journal.h"
#include "util/strbuf.h"

/* A table whose hooks journal as the server does, through the lines made
 * from one sched_task. */
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
	struct task_info ti;

	(void)w;
	catch_up(r);
	ck_assert_int_eq(sched_task(r->s, id, &ti), 0);
	journal_line_run(journal_buffer(r->j), id, &ti, "host:1");
}

static void on_ended(void *arg, task_id_t id)
{
	struct rig *r = arg;
	struct task_info ti;

	catch_up(r);
	ck_assert_int_eq(sched_task(r->s, id, &ti), 0);
	journal_line_end(journal_buffer(r->j), id, &ti);
}

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_journal_writer.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
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

static struct sched *replayed(const char *path, struct journal_found *f)
{
	struct sched_hooks h = { 0 };
	struct sched *s = sched_create(&h);
	struct err err = { "" };

	ck_assert_msg(journal_replay(path, s, f, &err) == 0, "%s", err.text);
	return s;
}

/* Every task in the same state, with the same runs and exit. */
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
		ck_assert_int_eq(x.exit_code, y.exit_code);
		ck_assert_uint_eq(x.peak_memory, y.peak_memory);
	}
}

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* An array of `n`, run a task at a time on one worker of 2 cores, a
 * hand-over after each step, a sync every 7th; the table compacted into
 * the file after step `compact_at` (twice in a row: the second waits for
 * the first).  Every 10th task fails. */
static void run_turns(struct rig *r, int n, int compact_at)
{
	char *argv[] = { (char *)"true", NULL };
	struct task_spec sp = { .argv = argv, .cores = 1, .is_array = 1,
				.array_first = 1, .array_last = n };
	task_id_t first;
	uint64_t count, ticket = 0;
	struct err err = { "" };

	ck_assert_int_eq(sched_submit(r->s, &sp, &first, &count, NULL), 0);
	worker_id_t w = sched_worker_add(r->s, "host:1", 2, 0);
	sched_dispatch(r->s);
	for (int step = 1; step <= n; step++) {
		struct task_result res = { .exit_code = step % 10 ? 0 : 2,
					   .runtime = 0.25,
					   .peak_memory = 100 + step };
		sched_task_finished(r->s, (task_id_t)step, w, &res);
		sched_dispatch(r->s);
		catch_up(r);
		uint64_t t = journal_submit(r->j, step % 7 == 0);
		ck_assert_uint_gt(t, ticket);	/* tickets only grow */
		ticket = t;
		if (step == compact_at) {
			for (int k = 0; k < 2; k++) {
				struct strbuf *c = malloc(sizeof(*c));
				strbuf_init(c, 0);
				journal_compact_encode(c, r->s, NULL);
				ticket = journal_replace(r->j, c);
			}
			ck_assert_msg(journal_wait(r->j, ticket, &err) == 0,
				      "%s", err.text);
		}
	}
}

START_TEST(handed_over_records_replay)
{
	char path[128];
	struct rig r;
	struct journal_found f;
	struct err err = { "" };
	uint64_t done = 0;

	make_dir();
	snprintf(path, sizeof(path), "%s/journal", dir);
	rig_open(&r, path);
	run_turns(&r, 300, 120);
	/* a sync asked: the thread says so through the pipe */
	uint64_t t = journal_submit(r.j, 1);
	ck_assert(readable(journal_notify_fd(r.j), 10000));
	ck_assert_int_eq(journal_wait(r.j, t, &err), 0);
	ck_assert_int_eq(journal_done(r.j, &done, &err), 0);
	ck_assert_uint_eq(done, t);
	ck_assert(!readable(journal_notify_fd(r.j), 0));	/* emptied */
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, journal_size(r.j));

	struct sched *s = replayed(path, &f);
	same_tables(r.s, s);
	ck_assert_uint_eq(f.tasks, 300);
	ck_assert_uint_eq(f.ended, 300);
	ck_assert_int_eq(f.torn, 0);
	sched_destroy(s);
	journal_close(r.j);
	sched_destroy(r.s);
	remove_dir();
}
END_TEST

START_TEST(a_failed_write_keeps_its_records)
{
	char path[128];
	struct err err = { "" };
	struct rlimit old, lim;
	struct stat st;
	uint64_t done;

	make_dir();
	snprintf(path, sizeof(path), "%s/journal", dir);
	struct journal *j = journal_open(path, &err);
	ck_assert_msg(j != NULL, "%s", err.text);
	ck_assert_int_eq(stat(path, &st), 0);
	off_t whole = st.st_size;

	/* a file that may grow by 100 bytes: the write stops short */
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)whole + 100;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	for (int i = 0; i < 50; i++) {
		json_t *rec = journal_record("x-test");
		json_object_set_new(rec, "i", json_integer(i));
		journal_append(j, rec);
		json_decref(rec);
	}
	ck_assert_int_eq(journal_write(j, 1, &err), -1);
	ck_assert_msg(strstr(err.text, "cannot write the journal") &&
		      strstr(err.text, path), "%s", err.text);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, whole);	/* no part of a line */
	/* said once, then as lasting */
	ck_assert_int_eq(journal_done(j, &done, &err), -1);
	ck_assert_int_eq(journal_done(j, &done, &err), 1);

	/* room again: the next hand-over writes them all */
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_msg(journal_write(j, 1, &err) == 0, "%s", err.text);
	ck_assert_int_eq(journal_done(j, &done, &err), 0);
	journal_close(j);
	struct journal_found f;
	struct sched *s = replayed(path, &f);
	ck_assert_uint_eq(f.records, 50);	/* unknown events, skipped */
	ck_assert_int_eq(f.torn, 0);
	sched_destroy(s);
	remove_dir();
}
END_TEST

/* The file at `path` holds `needle`. */
static int file_has(const char *path, const char *needle)
{
	char data[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(data, 1, sizeof(data) - 1, f);
	fclose(f);
	data[n] = '\0';
	return strstr(data, needle) != NULL;
}

static void append_test_record(struct journal *j, int i)
{
	json_t *rec = journal_record("x-test");

	json_object_set_new(rec, "i", json_integer(i));
	journal_append(j, rec);
	json_decref(rec);
}

/* A submission writes before it returns, with no wait for the thread:
 * a process killed right after it (having sent a RUN, say) leaves the
 * records in the file.  So does one during a replacement: the record
 * is in the file the name leads to before the rename and after it. */
START_TEST(submitted_records_are_in_the_file_at_once)
{
	char path[128];
	struct err err = { "" };
	struct stat st;

	make_dir();
	snprintf(path, sizeof(path), "%s/journal", dir);
	struct journal *j = journal_open(path, &err);
	ck_assert_msg(j != NULL, "%s", err.text);
	append_test_record(j, 1);
	journal_submit(j, 0);
	ck_assert_uint_eq(journal_pending(j), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, journal_size(j));
	ck_assert(file_has(path, "\"i\":1}"));

	struct strbuf *c = malloc(sizeof(*c));
	strbuf_init(c, 0);
	strbuf_addf(c, "{\"format\":\"%s\",\"version\":\"%d.%d\"}\n"
		    "{\"ev\":\"x-test\",\"i\":0}\n", JOURNAL_FORMAT,
		    JOURNAL_MAJOR, JOURNAL_MINOR);
	uint64_t t = journal_replace(j, c);
	for (int i = 2; i < 40; i++) {
		char want[32];
		append_test_record(j, i);
		journal_submit(j, 0);
		snprintf(want, sizeof(want), "\"i\":%d}", i);
		ck_assert_msg(file_has(path, want), "record %d not in the "
			      "file after its submission", i);
	}
	ck_assert_msg(journal_wait(j, t, &err) == 0, "%s", err.text);
	/* the new file: the content, then every later record */
	ck_assert(file_has(path, "\"i\":0}"));
	ck_assert(!file_has(path, "\"i\":1}"));
	ck_assert(file_has(path, "\"i\":39}"));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, journal_size(j));
	journal_close(j);
	struct journal_found f;
	struct sched *s = replayed(path, &f);
	ck_assert_uint_eq(f.records, 39);	/* 0 and 2..39 */
	ck_assert_int_eq(f.torn, 0);
	sched_destroy(s);
	remove_dir();
}
END_TEST

/* Past a MiB written the file gets its blocks allocated ahead of its
 * end, its size staying what is written; closing gives them back, and
 * so does opening a file a killed writer left so. */
START_TEST(blocks_allocated_ahead_go_back)
{
	char path[128], line[200];
	struct err err = { "" };
	struct stat st;
	int ahead = 0;

	make_dir();
	snprintf(path, sizeof(path), "%s/journal", dir);
	struct journal *j = journal_open(path, &err);
	ck_assert_msg(j != NULL, "%s", err.text);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	for (int i = 0; i < 12000; i++) {	/* about 2.5 MB */
		json_t *rec = journal_record("x-test");
		json_object_set_new(rec, "pad", json_string(line));
		journal_append(j, rec);
		json_decref(rec);
		if (i % 100 == 0)
			journal_submit(j, 0);
	}
	ck_assert_msg(journal_write(j, 0, &err) == 0, "%s", err.text);
	for (int t = 0; t < 500 && !ahead; t++) {
		ck_assert_int_eq(stat(path, &st), 0);
		ahead = (uint64_t)st.st_blocks * 512 >
			(uint64_t)st.st_size + (4u << 20);
		if (!ahead)
			usleep(10000);
	}
	ck_assert_msg(ahead, "no blocks allocated ahead: %lld bytes in "
		      "%lld blocks", (long long)st.st_size,
		      (long long)st.st_blocks);
	ck_assert_uint_eq((uint64_t)st.st_size, journal_size(j));
	journal_close(j);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg((uint64_t)st.st_blocks * 512 <
		      (uint64_t)st.st_size + (1u << 20),
		      "closed: %lld bytes in %lld blocks",
		      (long long)st.st_size, (long long)st.st_blocks);

	/* a file with blocks past its end, as a killed writer leaves it */
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size,
				   8 << 20), 0);
	close(fd);
	j = journal_open(path, &err);
	ck_assert_msg(j != NULL, "%s", err.text);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg((uint64_t)st.st_blocks * 512 <
		      (uint64_t)st.st_size + (1u << 20),
		      "reopened: %lld bytes in %lld blocks",
		      (long long)st.st_size, (long long)st.st_blocks);
	journal_close(j);
	remove_dir();
}
END_TEST

static void spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

START_TEST(cut_anywhere_after_a_replacement)
{
	char path[128], cut[128];
	struct rig r;
	struct strbuf all = STRBUF_INIT;

	make_dir();
	snprintf(path, sizeof(path), "%s/journal", dir);
	snprintf(cut, sizeof(cut), "%s/cut", dir);
	rig_open(&r, path);
	run_turns(&r, 40, 30);
	journal_close(r.j);
	ck_assert_int_eq(strbuf_read_file(&all, path), 0);
	size_t len = all.len, last = len - 1;
	while (last > 0 && all.buf[last - 1] != '\n')
		last--;
	struct journal_found whole;
	struct sched *w = replayed(path, &whole);
	same_tables(r.s, w);
	sched_destroy(w);
	for (size_t at = last; at < len; at++) {
		struct journal_found f;
		struct stat st;
		spit(cut, all.buf, at);
		struct sched *s = replayed(cut, &f);
		ck_assert_uint_eq(f.records, whole.records - 1);
		ck_assert_int_eq(f.torn, at > last);
		ck_assert_int_eq(stat(cut, &st), 0);
		ck_assert_uint_eq((size_t)st.st_size, last);
		sched_destroy(s);
	}
	strbuf_release(&all);
	sched_destroy(r.s);
	remove_dir();
}
END_TEST

int main(void)
{
	Suite *su = suite_create("journal_writer");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, handed_over_records_replay);
	tcase_add_test(tc, a_failed_write_keeps_its_records);
	tcase_add_test(tc, submitted_records_are_in_the_file_at_once);
	tcase_add_test(tc, blocks_allocated_ahead_go_back);
	tcase_add_test(tc, cut_anywhere_after_a_replacement);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
