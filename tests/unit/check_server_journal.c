/* server journal: a scheduler's journal on a real event loop, compacted
 * while its tasks run and change (the table read a piece a turn, the
 * writing left to the writer thread), replays as the table it
 * describes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "server/events.h"
#include "server/journal.h"
#include "util/log.h"
#include "util/strbuf.h"

struct rig {
	struct event_base *base;
	struct events *ev;
	struct sched *s;
	struct server_journal *sj;
	worker_id_t w;
	task_id_t *running;		/* what the worker holds */
	size_t nrunning;
};

static void hook_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct rig *r = arg;

	r->running[r->nrunning++] = id;
	events_task_assigned(r->ev, id, w);
}

static void hook_ended(void *arg, task_id_t id)
{
	struct rig *r = arg;

	events_task_ended(r->ev, id);
}

static void hook_queued(void *arg)
{
	struct rig *r = arg;

	events_tasks_queued(r->ev);
}

static char dir[64];

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Run a worker's tasks to their ends, a few each turn of the loop;
 * every 9th fails. */
static void run_some(struct rig *r, size_t n)
{
	while (n-- && r->nrunning) {
		task_id_t id = r->running[--r->nrunning];
		struct task_result res = { .exit_code = id % 9 ? 0 : 1,
					   .runtime = 0.5,
					   .peak_memory = 10 + id };
		sched_task_finished(r->s, id, r->w, &res);
	}
	sched_dispatch(r->s);
	/* one turn of the loop: a compaction reads one piece */
	event_base_loop(r->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

START_TEST(compacted_while_tasks_change)
{
	char path[128];
	struct rig r = { 0 };
	struct sched_hooks h = { .arg = &r, .assign = hook_assign,
				 .ended = hook_ended, .queued = hook_queued };
	struct journal_found found;
	struct err err = { "" };
	/* more tasks than a compaction reads in one turn */
	const int n = 40000;

	snprintf(dir, sizeof(dir), "/tmp/check_server_journal.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/journal", dir);
	r.base = event_base_new();
	r.ev = events_create();
	r.s = sched_create(&h);
	r.running = calloc((size_t)n + 64, sizeof(*r.running));
	struct server_journal_config c = { .path = path, .flush_period = 0.05,
					   .max_size = 256 << 10 };
	r.sj = server_journal_open(r.base, r.s, &c, &found, &err);
	ck_assert_msg(r.sj != NULL, "%s", err.text);
	server_journal_subscribe(r.sj, r.ev);

	char *argv[] = { (char *)"true", NULL };
	struct task_spec sp = { .argv = argv, .cores = 1, .is_array = 1,
				.array_first = 1, .array_last = n };
	task_id_t first, dep;
	uint64_t count;
	ck_assert_int_eq(sched_submit(r.s, &sp, &first, &count, NULL), 0);
	r.w = sched_worker_add(r.s, "host:1", 8, 0);
	sched_dispatch(r.s);
	/* until a compaction lands while tasks run and change: closed
	 * right then, the file ends with what that compaction wrote and
	 * what came after it, and nothing later makes up for a record the
	 * compaction missed */
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ino_t ino = st.st_ino;
	int turn;
	for (turn = 0; r.nrunning; turn++) {
		run_some(&r, 16);
		if (turn == 100) {
			/* cancels that never started, a range across what a
			 * compaction has read and what it has not */
			ck_assert_int_eq(sched_cancel_range(r.s, n - 30000,
							    n - 10000, NULL),
					 20001);
			ck_assert_int_eq(sched_submit(r.s, &sp, &first, &count,
						      NULL), 0);
		}
		/* a change every turn, so every compaction meets some: two
		 * cancels ahead of the worker, and a task waiting on one it
		 * has not run yet */
		task_id_t at = (task_id_t)(n - 2 * turn);
		ck_assert_int_eq(sched_cancel_range(r.s, at - 1, at, NULL), 2);
		dep = (task_id_t)(16 * turn + 500);
		struct task_spec ds = { .argv = argv, .cores = 1,
					.after = &dep, .nafter = 1 };
		ck_assert_int_eq(sched_submit(r.s, &ds, &first, &count, NULL),
				 0);
		if (turn % 50 == 0)
			usleep(1000);	/* the writer thread and the timer */
		ck_assert_int_eq(stat(path, &st), 0);
		if (st.st_ino != ino)
			break;
		ck_assert_int_lt(turn, 1500);	/* never compacted */
	}
	ck_assert_int_gt(r.nrunning, 0);
	server_journal_close(r.sj);

	struct sched_hooks none = { 0 };
	struct sched *back = sched_create(&none);
	struct journal_found f;
	ck_assert_msg(journal_replay(path, back, &f, &err) == 0, "%s", err.text);
	ck_assert_uint_eq(sched_last_id(back), sched_last_id(r.s));
	for (task_id_t id = 1; id <= sched_last_id(r.s); id++) {
		struct task_info x, y;
		ck_assert_int_eq(sched_task(r.s, id, &x), 0);
		ck_assert_int_eq(sched_task(back, id, &y), 0);
		ck_assert_msg(x.state == y.state, "task %llu: %s vs %s",
			      (unsigned long long)id, task_state_name(x.state),
			      task_state_name(y.state));
		ck_assert_uint_eq(x.attempts, y.attempts);
		ck_assert_int_eq(x.exit_code, y.exit_code);
		ck_assert_uint_eq(x.peak_memory, y.peak_memory);
	}
	sched_destroy(back);
	sched_destroy(r.s);
	events_destroy(r.ev);
	event_base_free(r.base);
	free(r.running);
	remove_dir();
}
END_TEST

int main(void)
{
	Suite *su = suite_create("server_journal");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, compacted_while_tasks_change);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
