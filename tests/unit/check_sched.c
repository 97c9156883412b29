/* sched: the task table's states, placement, dependencies, arrays, hooks. */
#include <check.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched.h"

#define GiB (1024ULL * 1024 * 1024)
#define MiB (1024ULL * 1024)

enum { EV_ASSIGN, EV_KILL, EV_ENDED };

struct event {
	int kind;
	worker_id_t w;
	task_id_t id;
};

/* Records every hook call; optional actions exercise re-entry. */
struct rec {
	struct event ev[4096];
	size_t n;
	struct sched *s;
	task_id_t cancel_on_end;	/* ended hook cancels this task */
	int lose_on_assign;		/* assign hook loses the worker */
	char argv0[64];			/* assign hook reads the argv */
	unsigned queued;		/* queued hook calls */
};

static void on_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct rec *r = arg;

	ck_assert_uint_lt(r->n, 4096);
	r->ev[r->n++] = (struct event){ EV_ASSIGN, w, id };
	char **argv = sched_task_argv(r->s, id);
	ck_assert_ptr_nonnull(argv);
	snprintf(r->argv0, sizeof(r->argv0), "%s", argv[0]);
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
	if (r->lose_on_assign) {
		r->lose_on_assign = 0;
		sched_worker_lost(r->s, w);
	}
}

static void on_kill(void *arg, worker_id_t w, task_id_t id)
{
	struct rec *r = arg;

	r->ev[r->n++] = (struct event){ EV_KILL, w, id };
}

static void on_ended(void *arg, task_id_t id)
{
	struct rec *r = arg;

	r->ev[r->n++] = (struct event){ EV_ENDED, -1, id };
	if (r->cancel_on_end) {
		task_id_t c = r->cancel_on_end;
		r->cancel_on_end = 0;
		ck_assert_int_eq(sched_cancel(r->s, c, NULL), 0);
	}
}

static void on_queued(void *arg)
{
	struct rec *r = arg;

	r->queued++;
}

static struct rec *rec;
static struct sched *s;

static void setup(void)
{
	struct sched_hooks h = { 0 };

	rec = calloc(1, sizeof(*rec));
	h.arg = rec;
	h.assign = on_assign;
	h.kill = on_kill;
	h.ended = on_ended;
	h.queued = on_queued;
	s = sched_create(&h);
	ck_assert_ptr_nonnull(s);
	rec->s = s;
}

static void teardown(void)
{
	sched_destroy(s);
	free(rec);
}

static size_t count_ev(int kind, task_id_t id)
{
	size_t n = 0;

	for (size_t i = 0; i < rec->n; i++)
		if (rec->ev[i].kind == kind && (id == 0 || rec->ev[i].id == id))
			n++;
	return n;
}

static worker_id_t assigned_to(task_id_t id)
{
	worker_id_t w = -1;

	for (size_t i = 0; i < rec->n; i++)
		if (rec->ev[i].kind == EV_ASSIGN && rec->ev[i].id == id)
			w = rec->ev[i].w;
	return w;
}

static char *const argv_true[] = { (char *)"/bin/true", NULL };

static struct task_spec spec_cores(unsigned cores)
{
	struct task_spec sp = { 0 };

	sp.argv = argv_true;
	sp.cores = cores;
	return sp;
}

static task_id_t submit(const struct task_spec *sp)
{
	struct err err = { "" };
	task_id_t first = 0;
	uint64_t count = 0;

	ck_assert_msg(sched_submit(s, sp, &first, &count, &err) == 0, "%s",
		      err.text);
	return first;
}

static task_id_t submit_after(unsigned cores, const task_id_t *after,
			      unsigned nafter)
{
	struct task_spec sp = spec_cores(cores);

	sp.after = after;
	sp.nafter = nafter;
	return submit(&sp);
}

static enum task_state state_of(task_id_t id)
{
	struct task_info ti;

	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	return ti.state;
}

static void finish(task_id_t id, worker_id_t w, int code, int sig,
		   const char *reason)
{
	struct task_result res = { 0 };

	res.exit_code = code;
	res.signal = sig;
	res.runtime = 0.5;
	res.peak_memory = 1000;
	res.reason = reason;
	sched_task_finished(s, id, w, &res);
}

static void free_argv(char **argv)
{
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

START_TEST(state_names)
{
	enum task_state st;

	for (int i = 0; i < TASK_NSTATES; i++) {
		ck_assert_int_eq(task_state_parse(task_state_name(i), &st), 0);
		ck_assert_int_eq(st, i);
	}
	ck_assert_str_eq(task_state_name(TASK_CANCELLED), "cancelled");
	ck_assert_int_eq(task_state_parse("sleeping", &st), -1);
}
END_TEST

START_TEST(submit_ids_counts_and_copy)
{
	char a0[] = "/usr/bin/python3", a1[] = "x.py";
	char *argv[] = { a0, a1, NULL };
	char *env[] = { (char *)"A=1", NULL };
	struct task_spec sp = { 0 };
	struct task_info ti;
	struct sched_counts c;
	task_id_t first;
	uint64_t count;

	sp.argv = argv;
	sp.env = env;
	sp.cores = 2;
	sp.memory = 3 * GiB;
	sp.retries = 1;
	ck_assert_int_eq(sched_submit(s, &sp, &first, &count, NULL), 0);
	ck_assert_uint_eq(first, 1);
	ck_assert_uint_eq(count, 1);
	a0[0] = 'X';				/* the table kept a copy */
	ck_assert_int_eq(sched_task(s, 1, &ti), 0);
	ck_assert_str_eq(ti.spec->argv[0], "/usr/bin/python3");
	ck_assert_str_eq(ti.spec->argv[1], "x.py");
	ck_assert_ptr_null(ti.spec->argv[2]);
	ck_assert_str_eq(ti.spec->env[0], "A=1");
	ck_assert_str_eq(ti.spec->name, "python3");
	ck_assert_uint_eq(ti.spec->cores, 2);
	ck_assert_uint_eq(ti.spec->memory, 3 * GiB);
	ck_assert_uint_eq(ti.spec->max_worker_losses, 3);
	ck_assert_int_eq(ti.state, TASK_QUEUED);
	ck_assert_int_eq(ti.has_index, 0);
	ck_assert_int_eq(ti.worker, -1);
	ck_assert_uint_eq(ti.attempts, 0);
	ck_assert(ti.submit_time > 1e9);
	ck_assert(ti.start_time == 0 && ti.end_time == 0);

	sp.name = "mine";
	ck_assert_int_eq(sched_submit(s, &sp, &first, &count, NULL), 0);
	ck_assert_uint_eq(first, 2);
	ck_assert_int_eq(sched_task(s, 2, &ti), 0);
	ck_assert_str_eq(ti.spec->name, "mine");
	ck_assert_uint_eq(sched_last_id(s), 2);
	ck_assert_int_eq(sched_task(s, 3, &ti), -1);
	ck_assert_int_eq(sched_task(s, 0, &ti), -1);

	sched_counts(s, &c);
	ck_assert_uint_eq(c.submitted, 2);
	ck_assert_uint_eq(c.state[TASK_QUEUED], 2);
	ck_assert_uint_eq(c.retried, 0);
	ck_assert_int_eq(sched_idle(s), 0);
}
END_TEST

START_TEST(submit_errors)
{
	char *empty[] = { NULL };
	char *blank[] = { (char *)"", NULL };
	char *badenv[] = { (char *)"NOEQUALS", NULL };
	struct task_spec sp = spec_cores(1);
	struct err err;
	task_id_t dep;

	submit(&sp);
	sp.argv = NULL;
	ck_assert_int_eq(sched_submit(s, &sp, NULL, NULL, &err), -1);
	ck_assert_str_eq(err.text, "empty command");
	sp.argv = empty;
	ck_assert_int_eq(sched_submit(s, &sp, NULL, NULL, &err), -1);
	sp.argv = blank;
	ck_assert_int_eq(sched_submit(s, &sp, NULL, NULL, &err), -1);
	sp = spec_cores(0);
	ck_assert_int_eq(sched_submit(s, &sp, NULL, NULL, &err), -1);
	ck_assert_str_eq(err.text, "a task needs at least 1 core");
	sp = spec_cores(1);
	sp.env = badenv;
	ck_assert_int_eq(sched_submit(s, &sp, NULL, NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "'NOEQUALS'"));
	sp = spec_cores(1);
	sp.is_array = 1;
	sp.array_first = 5;
	sp.array_last = 4;
	ck_assert_int_eq(sched_submit(s, &sp, NULL, NULL, &err), -1);
	ck_assert_str_eq(err.text, "empty array range 5-4");
	sp.array_first = INT64_MIN;
	sp.array_last = INT64_MAX;
	ck_assert_int_eq(sched_submit(s, &sp, NULL, NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "too large"));

	sp = spec_cores(1);
	dep = 2;				/* the id the task would get */
	sp.after = &dep;
	sp.nafter = 1;
	ck_assert_int_eq(sched_submit(s, &sp, NULL, NULL, &err), -1);
	ck_assert_str_eq(err.text, "dependency 2 is not an earlier task");
	dep = 0;
	ck_assert_int_eq(sched_submit(s, &sp, NULL, NULL, &err), -1);
	ck_assert_str_eq(err.text, "dependency 0 is not an earlier task");
	dep = 99;
	ck_assert_int_eq(sched_submit(s, &sp, NULL, NULL, &err), -1);

	/* no side effects */
	struct sched_counts c;
	sched_counts(s, &c);
	ck_assert_uint_eq(sched_last_id(s), 1);
	ck_assert_uint_eq(c.submitted, 1);
	ck_assert_uint_eq(rec->n, 0);
}
END_TEST

/* Every hook subscriber asks sched_task of the task being told of; the
 * answer is kept for them, and forgotten as soon as a hook changes the
 * table: here the assign hook loses the worker, which queues the task
 * again, and the next question sees it queued. */
struct hot_rec {
	struct sched *s;
	enum task_state before, again, after;
	unsigned attempts;
	int lose;
};

static void hot_assign(void *arg, worker_id_t w, task_id_t id)
{
	struct hot_rec *r = arg;
	struct task_info ti;

	ck_assert_int_eq(sched_task(r->s, id, &ti), 0);
	r->before = ti.state;
	r->attempts = ti.attempts;
	ck_assert_int_eq(sched_task(r->s, id, &ti), 0);
	r->again = ti.state;
	if (r->lose) {
		r->lose = 0;
		sched_worker_lost(r->s, w);
		ck_assert_int_eq(sched_task(r->s, id, &ti), 0);
		r->after = ti.state;
	}
}

START_TEST(hook_answers_follow_changes_made_in_hooks)
{
	struct hot_rec r = { .lose = 1 };
	struct sched_hooks h = { .arg = &r, .assign = hot_assign };
	struct sched *hs = sched_create(&h);
	struct task_spec sp = spec_cores(1);
	struct task_info ti;
	task_id_t first;
	uint64_t count;

	r.s = hs;
	ck_assert_int_eq(sched_submit(hs, &sp, &first, &count, NULL), 0);
	sched_worker_add(hs, "w1", 1, GiB);
	sched_dispatch(hs);
	ck_assert_int_eq(r.before, TASK_RUNNING);
	ck_assert_int_eq(r.again, TASK_RUNNING);
	ck_assert_uint_eq(r.attempts, 1);
	ck_assert_int_eq(r.after, TASK_QUEUED);
	ck_assert_int_eq(sched_task(hs, first, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_QUEUED);
	/* a second worker takes it: the hook sees its second attempt */
	sched_worker_add(hs, "w2", 1, GiB);
	sched_dispatch(hs);
	ck_assert_int_eq(r.before, TASK_RUNNING);
	ck_assert_uint_eq(r.attempts, 2);
	ck_assert_int_eq(sched_task(hs, first, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_RUNNING);
	sched_destroy(hs);
}
END_TEST

START_TEST(run_to_done)
{
	struct task_spec sp = spec_cores(1);
	struct task_info ti;
	struct worker_info wi;
	task_id_t id;
	worker_id_t w;

	id = submit(&sp);
	sched_dispatch(s);			/* no worker yet */
	ck_assert_uint_eq(rec->n, 0);
	w = sched_worker_add(s, "n1:100", 2, 4 * GiB);
	ck_assert_int_eq(w, 0);
	sched_dispatch(s);
	ck_assert_uint_eq(count_ev(EV_ASSIGN, id), 1);
	ck_assert_int_eq(assigned_to(id), w);
	ck_assert_str_eq(rec->argv0, "/bin/true");
	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_RUNNING);
	ck_assert_uint_eq(ti.attempts, 1);
	ck_assert_int_eq(ti.worker, w);
	ck_assert(ti.start_time >= ti.submit_time);
	ck_assert_int_eq(sched_worker(s, w, &wi), 0);
	ck_assert_str_eq(wi.name, "n1:100");
	ck_assert_uint_eq(wi.cores_used, 1);
	ck_assert_uint_eq(wi.running, 1);
	sched_dispatch(s);			/* nothing more to place */
	ck_assert_uint_eq(count_ev(EV_ASSIGN, 0), 1);

	finish(id, w, 0, 0, NULL);
	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_DONE);
	ck_assert(ti.end_time >= ti.start_time);
	ck_assert(ti.runtime == 0.5);
	ck_assert_uint_eq(ti.peak_memory, 1000);
	ck_assert_ptr_null(ti.reason);
	ck_assert_uint_eq(count_ev(EV_ENDED, id), 1);
	ck_assert_int_eq(sched_worker(s, w, &wi), 0);
	ck_assert_uint_eq(wi.cores_used, 0);
	ck_assert_uint_eq(wi.running, 0);
	ck_assert_uint_eq(wi.done, 1);
	ck_assert_int_eq(sched_idle(s), 1);

	/* a second report changes nothing */
	finish(id, w, 1, 0, NULL);
	ck_assert_int_eq(state_of(id), TASK_DONE);
	ck_assert_uint_eq(count_ev(EV_ENDED, id), 1);
}
END_TEST

START_TEST(reports_not_running_there_are_ignored)
{
	struct task_spec sp = spec_cores(1);
	worker_id_t w0 = sched_worker_add(s, "a", 1, 0);
	worker_id_t w1 = sched_worker_add(s, "b", 1, 0);
	task_id_t id = submit(&sp), other = submit(&sp);
	task_id_t queued = submit(&sp);

	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(id), w0);
	ck_assert_int_eq(assigned_to(other), w1);
	finish(id, w1, 0, 0, NULL);		/* wrong worker */
	finish(queued, w0, 0, 0, NULL);		/* not running */
	finish(999, w0, 0, 0, NULL);		/* unknown */
	finish(id, 77, 0, 0, NULL);		/* unknown worker */
	ck_assert_int_eq(state_of(id), TASK_RUNNING);
	ck_assert_int_eq(state_of(queued), TASK_QUEUED);
	ck_assert_uint_eq(count_ev(EV_ENDED, 0), 0);
}
END_TEST

START_TEST(placement_by_cores_with_backfill)
{
	task_id_t a, big, c, d;
	struct task_spec sp;
	struct task_info ti;
	worker_id_t w = sched_worker_add(s, "w", 4, 0);

	sp = spec_cores(2);
	a = submit(&sp);
	sp = spec_cores(4);
	big = submit(&sp);
	sp = spec_cores(1);
	c = submit(&sp);
	d = submit(&sp);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(a), TASK_RUNNING);
	ck_assert_int_eq(state_of(big), TASK_QUEUED);	/* does not fit now */
	ck_assert_int_eq(state_of(c), TASK_RUNNING);	/* backfilled */
	ck_assert_int_eq(state_of(d), TASK_RUNNING);
	ck_assert_int_eq(sched_task(s, big, &ti), 0);
	ck_assert_ptr_null(ti.reason);		/* the worker is big enough */

	finish(a, w, 0, 0, NULL);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(big), TASK_QUEUED);	/* 2 free of 4 */
	finish(c, w, 0, 0, NULL);
	finish(d, w, 0, 0, NULL);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(big), TASK_RUNNING);
	ck_assert_int_eq(assigned_to(big), w);
}
END_TEST

START_TEST(placement_by_memory)
{
	struct task_spec sp = spec_cores(1);
	struct task_info ti;
	task_id_t huge, half, more, small;
	worker_id_t w = sched_worker_add(s, "w", 8, 1 * GiB);

	sp.memory = 2 * GiB;
	huge = submit(&sp);
	sp.memory = 512 * MiB;
	half = submit(&sp);
	sp.memory = 600 * MiB;
	more = submit(&sp);
	sp.memory = 0;
	small = submit(&sp);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(huge), TASK_QUEUED);
	ck_assert_int_eq(state_of(half), TASK_RUNNING);
	ck_assert_int_eq(state_of(more), TASK_QUEUED);
	ck_assert_int_eq(state_of(small), TASK_RUNNING);
	ck_assert_int_eq(sched_task(s, huge, &ti), 0);
	ck_assert_str_eq(ti.reason,
			 "waiting for a worker with 1 core and 2 GiB of memory");
	ck_assert_int_eq(sched_task(s, more, &ti), 0);
	ck_assert_ptr_null(ti.reason);

	finish(half, w, 0, 0, NULL);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(more), TASK_RUNNING);
	ck_assert_int_eq(state_of(huge), TASK_QUEUED);

	/* the pool grows: a worker with enough memory takes it */
	worker_id_t w2 = sched_worker_add(s, "big", 1, 4 * GiB);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(huge), w2);
}
END_TEST

START_TEST(too_big_waits_for_pool_to_grow)
{
	struct task_spec sp = spec_cores(8);
	struct task_info ti;
	task_id_t big, small;

	sched_worker_add(s, "w", 4, 0);
	big = submit(&sp);
	sp = spec_cores(1);
	small = submit(&sp);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(big), TASK_QUEUED);
	ck_assert_int_eq(state_of(small), TASK_RUNNING);
	ck_assert_int_eq(sched_task(s, big, &ti), 0);
	ck_assert_str_eq(ti.reason, "waiting for a worker with 8 cores");
	worker_id_t w2 = sched_worker_add(s, "w8", 8, 0);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(big), w2);
}
END_TEST

START_TEST(draining_worker_takes_nothing)
{
	struct task_spec sp = spec_cores(1);
	struct worker_info wi;
	worker_id_t w = sched_worker_add(s, "w", 2, 0);
	task_id_t a = submit(&sp);

	sched_dispatch(s);
	ck_assert_int_eq(state_of(a), TASK_RUNNING);
	sched_worker_drain(s, w);
	task_id_t b = submit(&sp);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(b), TASK_QUEUED);
	ck_assert_int_eq(sched_worker(s, w, &wi), 0);
	ck_assert_int_eq(wi.draining, 1);
	ck_assert_int_eq(wi.alive, 1);
	finish(a, w, 0, 0, NULL);		/* runs already there finish */
	ck_assert_int_eq(state_of(a), TASK_DONE);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(b), TASK_QUEUED);
	worker_id_t w2 = sched_worker_add(s, "w2", 1, 0);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(b), w2);
}
END_TEST

START_TEST(lost_worker_requeues_then_fails)
{
	struct task_spec sp = spec_cores(1);
	struct task_info ti;
	struct worker_info wi;
	struct sched_counts c;
	worker_id_t w0, w1, w2;
	task_id_t id;

	sp.max_worker_losses = 2;
	id = submit(&sp);
	w0 = sched_worker_add(s, "a", 1, 0);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(id), w0);
	sched_worker_lost(s, w0);
	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_QUEUED);
	ck_assert_uint_eq(ti.worker_losses, 1);
	ck_assert_uint_eq(ti.failures, 0);
	sched_counts(s, &c);
	ck_assert_uint_eq(c.retried, 1);
	ck_assert_uint_eq(c.lost, 1);
	ck_assert_int_eq(sched_worker(s, w0, &wi), 0);
	ck_assert_int_eq(wi.alive, 0);
	ck_assert_uint_eq(wi.running, 0);
	ck_assert_uint_eq(wi.cores_used, 0);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(id), TASK_QUEUED);	/* no live worker */
	finish(id, w0, 0, 0, NULL);		/* a late report: ignored */
	ck_assert_int_eq(state_of(id), TASK_QUEUED);

	w1 = sched_worker_add(s, "b", 1, 0);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(id), w1);
	sched_worker_lost(s, w1);
	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_FAILED);
	ck_assert_str_eq(ti.reason, "lost 2 workers");
	ck_assert_uint_eq(ti.attempts, 2);
	ck_assert_uint_eq(count_ev(EV_ENDED, id), 1);
	sched_counts(s, &c);
	ck_assert_uint_eq(c.retried, 1);
	ck_assert_uint_eq(c.lost, 2);
	ck_assert_uint_eq(c.state[TASK_FAILED], 1);

	/* the default limit is 3 */
	sp.max_worker_losses = 0;
	id = submit(&sp);
	for (int i = 0; i < 3; i++) {
		w2 = sched_worker_add(s, "c", 1, 0);
		sched_dispatch(s);
		ck_assert_int_eq(assigned_to(id), w2);
		sched_worker_lost(s, w2);
	}
	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_FAILED);
	ck_assert_str_eq(ti.reason, "lost 3 workers");
	/* losing a lost worker again does nothing */
	sched_worker_lost(s, w2);
	ck_assert_uint_eq(count_ev(EV_ENDED, id), 1);
}
END_TEST

START_TEST(retries_on_failure)
{
	struct task_spec sp = spec_cores(1);
	struct task_info ti;
	struct sched_counts c;
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t id, sig, lim;

	sp.retries = 2;
	id = submit(&sp);
	for (int run = 1; run <= 3; run++) {
		sched_dispatch(s);
		ck_assert_int_eq(state_of(id), TASK_RUNNING);
		finish(id, w, 3, 0, NULL);
		ck_assert_int_eq(sched_task(s, id, &ti), 0);
		ck_assert_uint_eq(ti.failures, (unsigned)run);
		ck_assert_uint_eq(ti.attempts, (unsigned)run);
		ck_assert_int_eq(ti.exit_code, 3);
		ck_assert_str_eq(ti.reason, "exit code 3");
		ck_assert_int_eq(ti.state, run < 3 ? TASK_QUEUED : TASK_FAILED);
	}
	ck_assert_uint_eq(count_ev(EV_ENDED, id), 1);
	sched_counts(s, &c);
	ck_assert_uint_eq(c.retried, 2);
	ck_assert_uint_eq(c.lost, 0);

	sp.retries = 0;
	sig = submit(&sp);
	sched_dispatch(s);
	finish(sig, w, 0, 9, NULL);
	ck_assert_int_eq(sched_task(s, sig, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_FAILED);
	ck_assert_int_eq(ti.signal, 9);
	ck_assert_str_eq(ti.reason, "killed by signal 9");

	lim = submit(&sp);
	sched_dispatch(s);
	finish(lim, w, 0, 9, "time limit");
	ck_assert_int_eq(sched_task(s, lim, &ti), 0);
	ck_assert_str_eq(ti.reason, "time limit");

	/* success after one failure */
	sp.retries = 1;
	id = submit(&sp);
	sched_dispatch(s);
	finish(id, w, 1, 0, NULL);
	sched_dispatch(s);
	finish(id, w, 0, 0, NULL);
	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_DONE);
	ck_assert_uint_eq(ti.attempts, 2);
	ck_assert_uint_eq(ti.failures, 1);
	ck_assert_ptr_null(ti.reason);
}
END_TEST

START_TEST(cancel_in_every_state)
{
	struct task_spec sp = spec_cores(1);
	struct task_info ti;
	struct worker_info wi;
	struct err err;
	worker_id_t w;
	task_id_t run, queued, waiting, done;

	w = sched_worker_add(s, "w", 1, 0);
	done = submit(&sp);
	sched_dispatch(s);
	finish(done, w, 0, 0, NULL);
	run = submit(&sp);
	queued = submit(&sp);
	waiting = submit_after(1, &run, 1);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(run), TASK_RUNNING);
	ck_assert_int_eq(state_of(queued), TASK_QUEUED);
	ck_assert_int_eq(state_of(waiting), TASK_WAITING);

	/* waiting */
	ck_assert_int_eq(sched_cancel(s, waiting, &err), 0);
	ck_assert_int_eq(sched_task(s, waiting, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_str_eq(ti.reason, "cancelled");
	ck_assert(ti.end_time > 0);
	/* running: kill hook, resources free at once */
	ck_assert_int_eq(sched_cancel(s, run, &err), 0);
	ck_assert_uint_eq(count_ev(EV_KILL, run), 1);
	ck_assert_int_eq(rec->ev[rec->n - 2].kind, EV_KILL);
	ck_assert_int_eq(rec->ev[rec->n - 2].w, w);
	ck_assert_int_eq(state_of(run), TASK_CANCELLED);
	ck_assert_int_eq(sched_worker(s, w, &wi), 0);
	ck_assert_uint_eq(wi.cores_used, 0);
	ck_assert_uint_eq(wi.running, 0);
	finish(run, w, 0, 0, NULL);		/* later report ignored */
	ck_assert_int_eq(state_of(run), TASK_CANCELLED);
	/* queued: never placed */
	ck_assert_int_eq(sched_cancel(s, queued, &err), 0);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(queued), TASK_CANCELLED);
	ck_assert_uint_eq(count_ev(EV_ASSIGN, queued), 0);
	/* ended and unknown */
	ck_assert_int_eq(sched_cancel(s, done, &err), 0);
	ck_assert_int_eq(state_of(done), TASK_DONE);
	ck_assert_int_eq(sched_cancel(s, queued, &err), 0);
	ck_assert_int_eq(sched_cancel(s, 42, &err), -1);
	ck_assert_str_eq(err.text, "unknown task 42");

	for (task_id_t id = 1; id <= 4; id++)
		ck_assert_uint_eq(count_ev(EV_ENDED, id), 1);
	ck_assert_int_eq(sched_idle(s), 1);
}
END_TEST

START_TEST(dependency_success_chain)
{
	struct task_spec sp = spec_cores(1);
	worker_id_t w = sched_worker_add(s, "w", 4, 0);
	task_id_t a = submit(&sp);
	task_id_t b = submit_after(1, &a, 1);
	task_id_t deps[] = { b, a, b };		/* duplicates are fine */
	task_id_t c = submit_after(1, deps, 3);

	ck_assert_int_eq(state_of(b), TASK_WAITING);
	ck_assert_int_eq(state_of(c), TASK_WAITING);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(a), TASK_RUNNING);
	ck_assert_int_eq(state_of(b), TASK_WAITING);
	finish(a, w, 0, 0, NULL);
	ck_assert_int_eq(state_of(b), TASK_QUEUED);
	ck_assert_int_eq(state_of(c), TASK_WAITING);
	sched_dispatch(s);
	finish(b, w, 0, 0, NULL);
	ck_assert_int_eq(state_of(c), TASK_QUEUED);
	sched_dispatch(s);
	finish(c, w, 0, 0, NULL);
	ck_assert_int_eq(state_of(c), TASK_DONE);

	/* on a task already done: queued at once */
	task_id_t d = submit_after(1, &c, 1);
	ck_assert_int_eq(state_of(d), TASK_QUEUED);
}
END_TEST

START_TEST(dependency_failure_cascades)
{
	struct task_spec sp = spec_cores(1);
	struct task_info ti;
	worker_id_t w = sched_worker_add(s, "w", 4, 0);
	task_id_t a = submit(&sp);
	task_id_t other = submit(&sp);
	task_id_t deps[] = { a, other };
	task_id_t b = submit_after(1, deps, 2);
	task_id_t c = submit_after(1, &b, 1);
	task_id_t d = submit_after(1, &other, 1);

	sched_dispatch(s);
	finish(a, w, 2, 0, NULL);
	ck_assert_int_eq(state_of(a), TASK_FAILED);
	ck_assert_int_eq(sched_task(s, b, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_str_eq(ti.reason, "dependency 1 failed");
	ck_assert(ti.end_time > 0);
	ck_assert_int_eq(sched_task(s, c, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_str_eq(ti.reason, "dependency 3 cancelled");
	ck_assert_int_eq(state_of(d), TASK_WAITING);
	ck_assert_uint_eq(count_ev(EV_ENDED, b), 1);
	ck_assert_uint_eq(count_ev(EV_ENDED, c), 1);
	/* the other dependency of b finishing changes nothing for b */
	finish(other, w, 0, 0, NULL);
	ck_assert_int_eq(state_of(b), TASK_CANCELLED);
	ck_assert_int_eq(state_of(d), TASK_QUEUED);
	ck_assert_uint_eq(count_ev(EV_ENDED, b), 1);

	/* on a task already failed or cancelled: cancelled at once */
	task_id_t e = submit_after(1, &c, 1);
	ck_assert_int_eq(sched_task(s, e, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_str_eq(ti.reason, "dependency 4 cancelled");
	ck_assert_uint_eq(count_ev(EV_ENDED, e), 1);

	/* cancelling a dependency cancels its dependents */
	sp = spec_cores(64);
	task_id_t f = submit(&sp);
	task_id_t g = submit_after(1, &f, 1);
	ck_assert_int_eq(sched_cancel(s, f, NULL), 0);
	ck_assert_int_eq(sched_task(s, g, &ti), 0);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_uint_eq(count_ev(EV_ENDED, g), 1);
}
END_TEST

START_TEST(array_expansion)
{
	char *argv[] = { (char *)"prog", (char *)"--in={}.dat",
			 (char *)"{}-{}", (char *)"plain", (char *)"{", NULL };
	struct task_spec sp = { 0 };
	struct task_info ti;
	task_id_t first, solo;
	uint64_t count;
	char **av;

	sp = spec_cores(1);
	solo = submit(&sp);
	memset(&sp, 0, sizeof(sp));
	sp.argv = argv;
	sp.cores = 1;
	sp.is_array = 1;
	sp.array_first = -2;
	sp.array_last = 2;
	ck_assert_int_eq(sched_submit(s, &sp, &first, &count, NULL), 0);
	ck_assert_uint_eq(first, solo + 1);
	ck_assert_uint_eq(count, 5);
	ck_assert_uint_eq(sched_last_id(s), solo + 5);

	av = sched_task_argv(s, first);
	ck_assert_str_eq(av[0], "prog");
	ck_assert_str_eq(av[1], "--in=-2.dat");
	ck_assert_str_eq(av[2], "-2--2");
	ck_assert_str_eq(av[3], "plain");
	ck_assert_str_eq(av[4], "{");
	ck_assert_ptr_null(av[5]);
	free_argv(av);
	av = sched_task_argv(s, first + 4);
	ck_assert_str_eq(av[1], "--in=2.dat");
	ck_assert_str_eq(av[2], "2-2");
	free_argv(av);
	av = sched_task_argv(s, first + 2);
	ck_assert_str_eq(av[2], "0-0");
	free_argv(av);

	const struct task_spec *tmpl = NULL;
	for (int k = 0; k < 5; k++) {
		ck_assert_int_eq(sched_task(s, first + k, &ti), 0);
		ck_assert_int_eq(ti.has_index, 1);
		ck_assert_int_eq(ti.array_index, -2 + k);
		ck_assert_int_eq(ti.state, TASK_QUEUED);
		if (tmpl)
			ck_assert_ptr_eq(ti.spec, tmpl);	/* shared */
		tmpl = ti.spec;
	}
	/* a plain task keeps "{}" as written */
	char *plain[] = { (char *)"echo", (char *)"{}", NULL };
	struct task_spec p = spec_cores(1);
	p.argv = plain;
	task_id_t pid = submit(&p);
	av = sched_task_argv(s, pid);
	ck_assert_str_eq(av[1], "{}");
	free_argv(av);
	ck_assert_ptr_null(sched_task_argv(s, 1000));

	/* elements run independently */
	worker_id_t w = sched_worker_add(s, "w", 2, 0);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(solo), TASK_RUNNING);
	ck_assert_int_eq(state_of(first), TASK_RUNNING);
	ck_assert_int_eq(state_of(first + 1), TASK_QUEUED);
	finish(first, w, 0, 0, NULL);
	ck_assert_int_eq(sched_cancel(s, first + 1, NULL), 0);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(first + 2), TASK_RUNNING);
	ck_assert_int_eq(state_of(first + 1), TASK_CANCELLED);
}
END_TEST

START_TEST(array_with_dependencies)
{
	struct task_spec sp = spec_cores(1);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t a = submit(&sp), first;
	uint64_t count;

	sp.is_array = 1;
	sp.array_first = 0;
	sp.array_last = 9;
	sp.after = &a;
	sp.nafter = 1;
	ck_assert_int_eq(sched_submit(s, &sp, &first, &count, NULL), 0);
	for (uint64_t k = 0; k < count; k++)
		ck_assert_int_eq(state_of(first + k), TASK_WAITING);
	/* a dependent of one element of the array */
	task_id_t mid = first + 5;
	task_id_t after_mid = submit_after(1, &mid, 1);

	sched_dispatch(s);
	finish(a, w, 0, 0, NULL);
	for (uint64_t k = 0; k < count; k++)
		ck_assert_int_eq(state_of(first + k), TASK_QUEUED);
	/* run them in id order */
	for (uint64_t k = 0; k < count; k++) {
		sched_dispatch(s);
		ck_assert_int_eq(state_of(first + k), TASK_RUNNING);
		ck_assert_int_eq(state_of(after_mid),
				 k <= 5 ? TASK_WAITING : TASK_QUEUED);
		finish(first + k, w, 0, 0, NULL);
	}
	sched_dispatch(s);
	ck_assert_int_eq(state_of(after_mid), TASK_RUNNING);
}
END_TEST

START_TEST(next_with_state_masks)
{
	struct task_spec sp = spec_cores(1);
	worker_id_t w = sched_worker_add(s, "w", 2, 0);
	task_id_t first;
	uint64_t count;

	submit(&sp);				/* 1 */
	sp.is_array = 1;
	sp.array_first = 1;
	sp.array_last = 100;
	ck_assert_int_eq(sched_submit(s, &sp, &first, &count, NULL), 0);
	sched_dispatch(s);			/* 1 and 2 run */
	finish(2, w, 0, 0, NULL);
	ck_assert_int_eq(sched_cancel(s, 50, NULL), 0);
	ck_assert_int_eq(sched_cancel(s, 101, NULL), 0);

	unsigned running = 1u << TASK_RUNNING;
	ck_assert_uint_eq(sched_next(s, 0, running), 1);
	ck_assert_uint_eq(sched_next(s, 1, running), 0);
	ck_assert_uint_eq(sched_next(s, 0, 1u << TASK_DONE), 2);
	ck_assert_uint_eq(sched_next(s, 0, 1u << TASK_CANCELLED), 50);
	ck_assert_uint_eq(sched_next(s, 50, 1u << TASK_CANCELLED), 101);
	ck_assert_uint_eq(sched_next(s, 101, 1u << TASK_CANCELLED), 0);
	ck_assert_uint_eq(sched_next(s, 0, 1u << TASK_FAILED), 0);
	ck_assert_uint_eq(sched_next(s, 2, 1u << TASK_QUEUED), 3);
	ck_assert_uint_eq(sched_next(s, 49, 1u << TASK_QUEUED), 51);
	ck_assert_uint_eq(sched_next(s, 1000, 1u << TASK_QUEUED), 0);
	/* several states: walk them all */
	unsigned mask = (1u << TASK_DONE) | (1u << TASK_CANCELLED) | running;
	task_id_t id = 0, seen[8];
	int n = 0;
	while ((id = sched_next(s, id, mask)) && n < 8)
		seen[n++] = id;
	ck_assert_int_eq(n, 4);
	ck_assert_uint_eq(seen[0], 1);
	ck_assert_uint_eq(seen[1], 2);
	ck_assert_uint_eq(seen[2], 50);
	ck_assert_uint_eq(seen[3], 101);
	/* everything */
	id = 0;
	n = 0;
	while ((id = sched_next(s, id, (1u << TASK_NSTATES) - 1)))
		n++;
	ck_assert_int_eq(n, 101);
}
END_TEST

START_TEST(counters_track_states)
{
	struct task_spec sp = spec_cores(1);
	struct sched_counts c;
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t a = submit(&sp);

	submit_after(1, &a, 1);
	sp.is_array = 1;
	sp.array_first = 1;
	sp.array_last = 1000;
	submit(&sp);
	sched_dispatch(s);
	sched_counts(s, &c);
	ck_assert_uint_eq(c.submitted, 1002);
	ck_assert_uint_eq(c.state[TASK_RUNNING], 1);
	ck_assert_uint_eq(c.state[TASK_WAITING], 1);
	ck_assert_uint_eq(c.state[TASK_QUEUED], 1000);
	finish(a, w, 5, 0, NULL);
	sched_counts(s, &c);
	ck_assert_uint_eq(c.state[TASK_FAILED], 1);
	ck_assert_uint_eq(c.state[TASK_CANCELLED], 1);
	ck_assert_uint_eq(c.state[TASK_WAITING], 0);
	uint64_t sum = 0;
	for (int i = 0; i < TASK_NSTATES; i++)
		sum += c.state[i];
	ck_assert_uint_eq(sum, c.submitted);
}
END_TEST

START_TEST(hooks_may_call_back)
{
	struct task_spec sp = spec_cores(1);
	worker_id_t w0 = sched_worker_add(s, "a", 1, 0);
	task_id_t a = submit(&sp), b = submit(&sp), c;

	/* ended hook cancels another task */
	rec->cancel_on_end = b;
	sched_dispatch(s);
	finish(a, w0, 0, 0, NULL);
	ck_assert_int_eq(state_of(b), TASK_CANCELLED);
	ck_assert_uint_eq(count_ev(EV_ENDED, b), 1);

	/* assign hook finds the worker gone: the task goes back */
	c = submit(&sp);
	rec->lose_on_assign = 1;
	sched_dispatch(s);
	ck_assert_int_eq(state_of(c), TASK_QUEUED);
	worker_id_t w1 = sched_worker_add(s, "b", 1, 0);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(c), w1);
	ck_assert_uint_eq(count_ev(EV_ASSIGN, c), 2);
}
END_TEST

START_TEST(workers_listed_in_order)
{
	struct worker_info wi;

	ck_assert_int_eq(sched_worker_next(s, -1), -1);
	worker_id_t a = sched_worker_add(s, "a", 1, 0);
	worker_id_t b = sched_worker_add(s, "b", 2, GiB);
	sched_worker_lost(s, a);
	ck_assert_int_eq(sched_worker_next(s, -1), a);
	ck_assert_int_eq(sched_worker_next(s, a), b);
	ck_assert_int_eq(sched_worker_next(s, b), -1);
	ck_assert_int_eq(sched_worker(s, b, &wi), 0);
	ck_assert_uint_eq(wi.cores, 2);
	ck_assert_uint_eq(wi.memory, GiB);
	ck_assert_int_eq(sched_worker(s, 5, &wi), -1);
	ck_assert_int_eq(sched_worker(s, -1, &wi), -1);
}
END_TEST

START_TEST(submit_many_is_all_or_nothing)
{
	struct task_spec specs[3] = { spec_cores(1), spec_cores(0),
				      spec_cores(1) };
	struct err err;
	task_id_t first, dep = 1;
	uint64_t count;

	ck_assert_int_eq(sched_submit_many(s, specs, 3, &first, &count, &err),
			 -1);
	ck_assert_str_eq(err.text, "task 2 of 3: a task needs at least 1 core");
	ck_assert_uint_eq(sched_last_id(s), 0);
	specs[1] = spec_cores(2);
	specs[2].after = &dep;			/* on the first of the batch */
	specs[2].nafter = 1;
	ck_assert_int_eq(sched_submit_many(s, specs, 3, &first, &count, &err),
			 0);
	ck_assert_uint_eq(first, 1);
	ck_assert_uint_eq(count, 3);
	ck_assert_int_eq(state_of(3), TASK_WAITING);
}
END_TEST

START_TEST(submit_each_adds_one_argument)
{
	char *prefix[] = { (char *)"/bin/sh", (char *)"-c", NULL };
	const char *cmds[] = { "echo a", "", "exit 3" };
	struct task_spec sp = spec_cores(1);
	struct task_info ti;
	struct err err;
	task_id_t first;
	uint64_t count;
	char **av;

	sp.argv = prefix;
	sp.is_array = 1;			/* ignored */
	sp.array_first = 7;
	sp.array_last = 7;
	ck_assert_int_eq(sched_submit_each(s, &sp, cmds, 3, &first, &count,
					   &err), 0);
	ck_assert_uint_eq(first, 1);
	ck_assert_uint_eq(count, 3);
	av = sched_task_argv(s, 3);
	ck_assert_str_eq(av[0], "/bin/sh");
	ck_assert_str_eq(av[1], "-c");
	ck_assert_str_eq(av[2], "exit 3");
	ck_assert_ptr_null(av[3]);
	free_argv(av);
	av = sched_task_argv(s, 2);
	ck_assert_str_eq(av[2], "");
	free_argv(av);
	ck_assert_int_eq(sched_task(s, 2, &ti), 0);
	ck_assert_int_eq(ti.has_index, 0);
	ck_assert_str_eq(ti.spec->argv[1], "-c");
	ck_assert_ptr_null(ti.spec->argv[2]);

	/* a task may depend on one of them; they run one by one */
	task_id_t mid = 2;
	task_id_t after = submit_after(1, &mid, 1);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	sched_dispatch(s);
	finish(1, w, 0, 0, NULL);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(2), w);
	finish(2, w, 0, 0, NULL);
	ck_assert_int_eq(state_of(after), TASK_QUEUED);

	ck_assert_int_eq(sched_submit_each(s, &sp, cmds, 0, &first, &count,
					   &err), 0);
	ck_assert_uint_eq(count, 0);
	sp.cores = 0;
	ck_assert_int_eq(sched_submit_each(s, &sp, cmds, 3, &first, &count,
					   &err), -1);
	ck_assert_uint_eq(sched_last_id(s), after);
}
END_TEST

START_TEST(big_head_does_not_block_small_tasks)
{
	struct task_spec sp = spec_cores(16);
	worker_id_t w = sched_worker_add(s, "w", 2, 0);
	task_id_t small;

	for (int i = 0; i < 10; i++)
		submit(&sp);
	sp = spec_cores(1);
	sp.is_array = 1;
	sp.array_first = 0;
	sp.array_last = 99999;
	small = submit(&sp);
	for (int i = 0; i < 100; i++) {
		sched_dispatch(s);
		ck_assert_int_eq(state_of(small + 2 * i), TASK_RUNNING);
		ck_assert_int_eq(state_of(small + 2 * i + 1), TASK_RUNNING);
		finish(small + 2 * i, w, 0, 0, NULL);
		finish(small + 2 * i + 1, w, 0, 0, NULL);
	}
	ck_assert_int_eq(state_of(1), TASK_QUEUED);
}
END_TEST

START_TEST(many_oversized_tasks_wait_for_the_pool)
{
	struct task_spec sp = spec_cores(8);
	worker_id_t w = sched_worker_add(s, "small", 2, 0);
	task_id_t small;

	for (int i = 0; i < 200; i++)	/* each its own submission */
		submit(&sp);
	sp = spec_cores(1);
	small = submit(&sp);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(small), w);
	ck_assert_int_eq(state_of(1), TASK_QUEUED);
	worker_id_t big = sched_worker_add(s, "big", 16, 0);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(1), big);
	ck_assert_int_eq(assigned_to(2), big);
	ck_assert_int_eq(state_of(3), TASK_QUEUED);
	finish(1, big, 0, 0, NULL);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(3), big);
}
END_TEST

/* --- the queued hook ----------------------------------------------------- */

START_TEST(queued_hook_once_per_change)
{
	struct task_spec sp = spec_cores(1);
	worker_id_t w;

	sp.is_array = 1;
	sp.array_first = 1;
	sp.array_last = 1000;
	task_id_t a = submit(&sp);
	ck_assert_uint_eq(rec->queued, 1);	/* once for the whole array */
	task_id_t dep = submit_after(1, &a, 1);
	ck_assert_uint_eq(rec->queued, 1);	/* waits: nothing queued */
	for (task_id_t id = a + 1; id < a + 1000; id++)
		ck_assert_int_eq(sched_cancel(s, id, NULL), 0);
	ck_assert_uint_eq(rec->queued, 1);

	w = sched_worker_add(s, "w", 1, 0);
	ck_assert_uint_eq(rec->queued, 1);	/* a join queues nothing */
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(a), w);
	finish(a, w, 0, 0, NULL);		/* releases the dependent */
	ck_assert_uint_eq(rec->queued, 2);
	ck_assert_int_eq(state_of(dep), TASK_QUEUED);

	sp = spec_cores(1);
	sp.retries = 1;
	task_id_t r = submit(&sp);
	ck_assert_uint_eq(rec->queued, 3);
	sched_dispatch(s);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(dep), TASK_RUNNING);
	finish(dep, w, 0, 0, NULL);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(r), TASK_RUNNING);
	finish(r, w, 1, 0, NULL);		/* a retry */
	ck_assert_uint_eq(rec->queued, 4);
	sched_dispatch(s);
	sched_worker_lost(s, w);		/* requeued with its worker */
	ck_assert_uint_eq(rec->queued, 5);
	ck_assert_int_eq(state_of(r), TASK_QUEUED);
}
END_TEST

/* --- prefetch ------------------------------------------------------------- */

static struct task_info info_of(task_id_t id)
{
	struct task_info ti;

	ck_assert_int_eq(sched_task(s, id, &ti), 0);
	return ti;
}

static struct worker_info worker_of(worker_id_t w)
{
	struct worker_info wi;

	ck_assert_int_eq(sched_worker(s, w, &wi), 0);
	return wi;
}

START_TEST(prefetch_serves_idle_workers_first)
{
	struct task_spec sp = spec_cores(1);
	struct sched_counts c;

	sched_set_prefetch(s, 1);
	worker_id_t w0 = sched_worker_add(s, "w0", 1, 0);
	for (int i = 0; i < 3; i++)
		submit(&sp);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(1), w0);
	ck_assert_int_eq(assigned_to(2), w0);	/* held */
	ck_assert_int_eq(state_of(3), TASK_QUEUED);

	/* A worker that joins gets the next task to start at once. */
	worker_id_t w1 = sched_worker_add(s, "w1", 1, 0);
	for (int i = 0; i < 3; i++)
		submit(&sp);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(3), w1);
	ck_assert_int_eq(assigned_to(4), w1);
	ck_assert_int_eq(state_of(5), TASK_QUEUED);
	ck_assert_int_eq(state_of(6), TASK_QUEUED);
	ck_assert_uint_eq(worker_of(w0).running, 1);
	ck_assert_uint_eq(worker_of(w0).prefetched, 1);
	ck_assert_uint_eq(worker_of(w0).cores_used, 1);
	ck_assert_uint_eq(worker_of(w1).prefetched, 1);
	sched_counts(s, &c);
	ck_assert_uint_eq(c.state[TASK_RUNNING], 4);
	ck_assert_uint_eq(c.prefetched, 2);
	ck_assert(info_of(1).start_time > 0);
	ck_assert(info_of(2).start_time == 0);	/* not started yet */
	ck_assert_int_eq(state_of(2), TASK_RUNNING);

	/* Task 1 ends: its worker starts 2 on its own (no new assign), and
	 * the freed prefetch slot takes 5. */
	size_t assigns = count_ev(EV_ASSIGN, 0);
	finish(1, w0, 0, 0, NULL);
	ck_assert_uint_eq(count_ev(EV_ASSIGN, 0), assigns);
	ck_assert(info_of(2).start_time > 0);
	ck_assert_uint_eq(worker_of(w0).running, 1);
	ck_assert_uint_eq(worker_of(w0).prefetched, 0);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(5), w0);
	ck_assert_uint_eq(worker_of(w0).prefetched, 1);
	ck_assert_int_eq(state_of(6), TASK_QUEUED);
}
END_TEST

START_TEST(prefetch_without_slots_is_off)
{
	struct task_spec sp = spec_cores(1);

	sched_worker_add(s, "w0", 1, 0);	/* default: no prefetch */
	submit(&sp);
	submit(&sp);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(1), TASK_RUNNING);
	ck_assert_int_eq(state_of(2), TASK_QUEUED);
	sched_set_prefetch(s, 2);
	submit(&sp);
	sched_dispatch(s);
	ck_assert_int_eq(state_of(2), TASK_RUNNING);
	ck_assert_int_eq(state_of(3), TASK_RUNNING);
	ck_assert_uint_eq(worker_of(0).prefetched, 2);
}
END_TEST

START_TEST(prefetch_only_where_it_could_run)
{
	struct task_spec big = spec_cores(4), one = spec_cores(1);

	sched_set_prefetch(s, 1);
	worker_id_t small = sched_worker_add(s, "small", 1, 0);
	worker_id_t wide = sched_worker_add(s, "wide", 4, 0);
	task_id_t a = submit(&big), b = submit(&big), c = submit(&big);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(a), wide);
	ck_assert_int_eq(assigned_to(b), wide);	/* held there */
	ck_assert_int_eq(assigned_to(c), -1);	/* small could never */
	ck_assert_int_eq(state_of(c), TASK_QUEUED);
	ck_assert_ptr_null(info_of(c).reason);

	/* The small worker is idle: a small task starts there, the next
	 * waits in its slot, not behind the big ones. */
	task_id_t d = submit(&one), e = submit(&one), f = submit(&one);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(d), small);
	ck_assert(info_of(d).start_time > 0);
	ck_assert_int_eq(assigned_to(e), small);
	ck_assert(info_of(e).start_time == 0);
	ck_assert_int_eq(state_of(f), TASK_QUEUED);

	/* a ends: b starts on wide, c takes the slot. */
	finish(a, wide, 0, 0, NULL);
	ck_assert(info_of(b).start_time > 0);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(c), wide);
	ck_assert_int_eq(state_of(f), TASK_QUEUED);
}
END_TEST

START_TEST(prefetch_by_memory)
{
	struct task_spec sp = spec_cores(1);

	sched_set_prefetch(s, 1);
	worker_id_t w = sched_worker_add(s, "w", 4, 4 * GiB);
	sp.memory = 3 * GiB;
	task_id_t a = submit(&sp), b = submit(&sp);
	sp.memory = 0;
	task_id_t c = submit(&sp);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(a), w);
	ck_assert_int_eq(assigned_to(b), w);	/* cores free, memory not */
	ck_assert(info_of(b).start_time == 0);
	/* c would fit, but it would wait behind b on the worker: it stays
	 * here, where another worker could take it. */
	ck_assert_int_eq(state_of(c), TASK_QUEUED);
	worker_id_t w2 = sched_worker_add(s, "w2", 1, 0);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(c), w2);
	finish(a, w, 0, 0, NULL);
	ck_assert(info_of(b).start_time > 0);
	ck_assert_uint_eq(worker_of(w).memory_used, 3 * GiB);
}
END_TEST

START_TEST(prefetch_cancel_and_kill)
{
	struct task_spec sp = spec_cores(1);

	sched_set_prefetch(s, 2);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t a = submit(&sp), b = submit(&sp), c = submit(&sp);
	sched_dispatch(s);
	ck_assert_uint_eq(worker_of(w).prefetched, 2);

	/* A held task is killed on its worker and its slot is free. */
	ck_assert_int_eq(sched_cancel(s, b, NULL), 0);
	ck_assert_uint_eq(count_ev(EV_KILL, b), 1);
	ck_assert_int_eq(state_of(b), TASK_CANCELLED);
	ck_assert_uint_eq(worker_of(w).prefetched, 1);
	ck_assert(info_of(c).start_time == 0);
	finish(b, w, 0, 0, "cancelled");	/* its report changes nothing */
	ck_assert_int_eq(state_of(b), TASK_CANCELLED);

	/* Cancelling the running one lets the next start. */
	ck_assert_int_eq(sched_cancel(s, a, NULL), 0);
	ck_assert_uint_eq(count_ev(EV_KILL, a), 1);
	ck_assert(info_of(c).start_time > 0);
	ck_assert_uint_eq(worker_of(w).running, 1);
	ck_assert_uint_eq(worker_of(w).prefetched, 0);
	finish(c, w, 0, 0, NULL);
	ck_assert_int_eq(state_of(c), TASK_DONE);
	ck_assert(sched_idle(s));
}
END_TEST

/* A task cancelled while it runs shows SIGTERM and the time it ran until
 * its worker reports the run, then what the worker says; one its worker
 * held without starting it shows no run. */
START_TEST(cancel_running_shows_its_run)
{
	struct task_spec sp = spec_cores(1);
	struct task_info ti;
	struct task_result res = { 0 };

	sched_set_prefetch(s, 1);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t a = submit(&sp), b = submit(&sp);
	sched_dispatch(s);
	ck_assert(info_of(a).start_time > 0);
	ck_assert(info_of(b).start_time == 0);

	ck_assert_int_eq(sched_cancel(s, b, NULL), 0);
	ti = info_of(b);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_int_eq(ti.signal, 0);
	ck_assert(ti.runtime == 0);

	ck_assert_int_eq(sched_cancel(s, a, NULL), 0);
	ti = info_of(a);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_int_eq(ti.signal, SIGTERM);
	ck_assert(ti.runtime >= 0 && ti.runtime < 60);
	ck_assert_str_eq(ti.reason, "cancelled");

	res.signal = SIGKILL;
	res.runtime = 7.25;
	res.peak_memory = 4096;
	res.reason = "cancelled";
	sched_task_finished(s, a, w, &res);
	ti = info_of(a);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_int_eq(ti.signal, SIGKILL);
	ck_assert(ti.runtime == 7.25);
	ck_assert_uint_eq(ti.peak_memory, 4096);
	/* a second report changes nothing */
	res.runtime = 99;
	sched_task_finished(s, a, w, &res);
	ck_assert(info_of(a).runtime == 7.25);
	ck_assert_uint_eq(worker_of(w).done, 0);
}
END_TEST

/* after_any: released by any end of its dependencies; a dependency that
 * is cancelled, not failed, is named as such. */
START_TEST(dependency_after_any)
{
	struct task_spec sp = spec_cores(1);
	struct task_info ti;
	worker_id_t w = sched_worker_add(s, "w", 4, 0);
	task_id_t a = submit(&sp), b = submit(&sp);
	task_id_t both[] = { a, b };

	sp.after_any = both;
	sp.nafter_any = 2;
	task_id_t reduce = submit(&sp);
	sp = spec_cores(1);
	sp.after = &a;
	sp.nafter = 1;
	sp.after_any = &a;	/* in both lists: must be done */
	sp.nafter_any = 1;
	task_id_t strict = submit(&sp);

	ti = info_of(reduce);
	ck_assert_int_eq(ti.state, TASK_WAITING);
	ck_assert_str_eq(ti.reason, "waiting for tasks 1, 2");
	sched_dispatch(s);
	finish(a, w, 3, 0, NULL);
	ck_assert_int_eq(state_of(a), TASK_FAILED);
	ti = info_of(reduce);
	ck_assert_int_eq(ti.state, TASK_WAITING);
	ck_assert_str_eq(ti.reason, "waiting for task 2");
	ck_assert_int_eq(sched_cancel(s, b, NULL), 0);
	ck_assert_int_eq(state_of(reduce), TASK_QUEUED);
	ti = info_of(strict);
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_str_eq(ti.reason, "dependency 1 failed");

	/* submitted after its dependencies ended: queued at once */
	sp = spec_cores(1);
	sp.after_any = both;
	sp.nafter_any = 2;
	ck_assert_int_eq(state_of(submit(&sp)), TASK_QUEUED);
	/* after a cancelled task: cancelled, and says so */
	sp = spec_cores(1);
	sp.after = &b;
	sp.nafter = 1;
	ti = info_of(submit(&sp));
	ck_assert_int_eq(ti.state, TASK_CANCELLED);
	ck_assert_str_eq(ti.reason, "dependency 2 cancelled");
	/* unknown ids are refused as in after */
	task_id_t bad = 99;
	struct err err;
	sp = spec_cores(1);
	sp.after_any = &bad;
	sp.nafter_any = 1;
	ck_assert_int_eq(sched_submit(s, &sp, NULL, NULL, &err), -1);
	ck_assert_str_eq(err.text, "dependency 99 is not an earlier task");
}
END_TEST

START_TEST(prefetch_lost_worker_requeues_held)
{
	struct task_spec sp = spec_cores(1);
	struct sched_counts c;

	sched_set_prefetch(s, 1);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t a = submit(&sp), b = submit(&sp);
	sched_dispatch(s);
	sched_worker_lost(s, w);
	ck_assert_int_eq(state_of(a), TASK_QUEUED);
	ck_assert_int_eq(state_of(b), TASK_QUEUED);
	ck_assert_uint_eq(info_of(a).worker_losses, 1);
	ck_assert_uint_eq(info_of(a).attempts, 1);
	ck_assert_uint_eq(info_of(b).worker_losses, 0);	/* never started */
	ck_assert_uint_eq(info_of(b).attempts, 0);
	sched_counts(s, &c);
	ck_assert_uint_eq(c.prefetched, 0);
	ck_assert_uint_eq(c.lost, 1);

	/* Both run once on the next worker, in order. */
	worker_id_t w2 = sched_worker_add(s, "w2", 1, 0);
	sched_dispatch(s);
	ck_assert_int_eq(assigned_to(a), w2);
	ck_assert_int_eq(assigned_to(b), w2);
	finish(a, w2, 0, 0, NULL);
	finish(b, w2, 0, 0, NULL);
	ck_assert_int_eq(state_of(a), TASK_DONE);
	ck_assert_int_eq(state_of(b), TASK_DONE);
	ck_assert_uint_eq(count_ev(EV_ASSIGN, a), 2);
	ck_assert_uint_eq(count_ev(EV_ENDED, b), 1);
}
END_TEST

START_TEST(prefetch_report_before_its_start)
{
	struct task_spec sp = spec_cores(1);

	/* A worker that reports a held task done (one that runs nothing,
	 * say) still has it counted once, with a start time. */
	sched_set_prefetch(s, 1);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t a = submit(&sp), b = submit(&sp);
	sched_dispatch(s);
	finish(b, w, 0, 0, NULL);
	ck_assert_int_eq(state_of(b), TASK_DONE);
	struct task_info ti = info_of(b);
	ck_assert(ti.start_time > 0);
	ck_assert(ti.end_time - ti.start_time > 0.49);	/* its runtime */
	ck_assert_uint_eq(worker_of(w).running, 1);	/* a still runs */
	ck_assert_uint_eq(worker_of(w).prefetched, 0);
	finish(a, w, 0, 0, NULL);
	ck_assert(sched_idle(s));
	ck_assert_uint_eq(worker_of(w).cores_used, 0);
}
END_TEST

START_TEST(prefetch_draining_worker_keeps_what_it_holds)
{
	struct task_spec sp = spec_cores(1);

	sched_set_prefetch(s, 1);
	worker_id_t w = sched_worker_add(s, "w", 1, 0);
	task_id_t a = submit(&sp), b = submit(&sp), c = submit(&sp);
	sched_dispatch(s);
	sched_worker_drain(s, w);
	finish(a, w, 0, 0, NULL);
	sched_dispatch(s);
	ck_assert(info_of(b).start_time > 0);	/* still its own */
	ck_assert_int_eq(state_of(c), TASK_QUEUED);
	ck_assert_uint_eq(worker_of(w).prefetched, 0);
}
END_TEST

START_TEST(parse_range)
{
	int64_t a = 0, b = 0;

	ck_assert_int_eq(sched_parse_range("1-1000", &a, &b), 0);
	ck_assert(a == 1 && b == 1000);
	ck_assert_int_eq(sched_parse_range("5", &a, &b), 0);
	ck_assert(a == 5 && b == 5);
	ck_assert_int_eq(sched_parse_range("-3--1", &a, &b), 0);
	ck_assert(a == -3 && b == -1);
	ck_assert_int_eq(sched_parse_range("5-1", &a, &b), -1);
	ck_assert_int_eq(sched_parse_range("", &a, &b), -1);
	ck_assert_int_eq(sched_parse_range("x", &a, &b), -1);
	ck_assert_int_eq(sched_parse_range("1-", &a, &b), -1);
	ck_assert_int_eq(sched_parse_range("1-2x", &a, &b), -1);
	ck_assert_int_eq(sched_parse_range("1-99999999999999999999", &a, &b), -1);
}
END_TEST

/* The view of a command says what the copy says, for arrays (negative
 * indexes, {} more than once, words without it), one-argument tasks and
 * tasks of their own argv, one view reused across them all. */
START_TEST(argv_view_matches_the_copies)
{
	char *arr[] = { (char *)"echo", (char *)"x{}y{}", (char *)"{}",
			(char *)"plain", NULL };
	char *prefix[] = { (char *)"/bin/sh", (char *)"-c", NULL };
	const char *cmds[] = { "echo a", "", "exit 3" };
	char *a0[] = { (char *)"a", (char *)"b c", NULL };
	char *a1[] = { (char *)"d", NULL };
	char *const *argvs[] = { a0, a1 };
	struct task_spec sp = spec_cores(1);
	struct sched_argv v = { 0 };
	struct err err;
	task_id_t first, last = 0;
	uint64_t count;

	sp.argv = arr;
	sp.is_array = 1;
	sp.array_first = -12;
	sp.array_last = 3;
	ck_assert_int_eq(sched_submit(s, &sp, &first, &count, &err), 0);
	sp = spec_cores(1);
	sp.argv = prefix;
	ck_assert_int_eq(sched_submit_each(s, &sp, cmds, 3, &first, &count,
					   &err), 0);
	ck_assert_int_eq(sched_submit_argvs(s, &sp, argvs, 2, &first, &count,
					    &err), 0);
	last = first + count - 1;
	for (task_id_t id = 1; id <= last; id++) {
		char **c = sched_task_argv(s, id);
		size_t k;
		ck_assert_int_eq(sched_task_argv_view(s, id, &v), 0);
		for (k = 0; c[k]; k++)
			ck_assert_str_eq(v.argv[k], c[k]);
		ck_assert_ptr_null(v.argv[k]);
		free_argv(c);
	}
	ck_assert_int_eq(sched_task_argv_view(s, 1, &v), 0);
	ck_assert_str_eq(v.argv[1], "x-12y-12");
	ck_assert_str_eq(v.argv[2], "-12");
	ck_assert_int_eq(sched_task_argv_view(s, last + 1, &v), -1);
	sched_argv_release(&v);
}
END_TEST

int main(void)
{
	
Suite *su = suite_create("sched");
	TCase *tc = tcase_create("sched");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, state_names);
	tcase_add_test(tc, parse_range);
	tcase_add_test(tc, submit_ids_counts_and_copy);
	tcase_add_test(tc, submit_errors);
	tcase_add_test(tc, run_to_done);
	tcase_add_test(tc, hook_answers_follow_changes_made_in_hooks);
	tcase_add_test(tc, reports_not_running_there_are_ignored);
	tcase_add_test(tc, placement_by_cores_with_backfill);
	tcase_add_test(tc, placement_by_memory);
	tcase_add_test(tc, too_big_waits_for_pool_to_grow);
	tcase_add_test(tc, draining_worker_takes_nothing);
	tcase_add_test(tc, lost_worker_requeues_then_fails);
	tcase_add_test(tc, retries_on_failure);
	tcase_add_test(tc, cancel_in_every_state);
	tcase_add_test(tc, dependency_success_chain);
	tcase_add_test(tc, dependency_failure_cascades);
	tcase_add_test(tc, array_expansion);
	tcase_add_test(tc, array_with_dependencies);
	tcase_add_test(tc, next_with_state_masks);
	tcase_add_test(tc, counters_track_states);
	tcase_add_test(tc, hooks_may_call_back);
	tcase_add_test(tc, workers_listed_in_order);
	tcase_add_test(tc, submit_many_is_all_or_nothing);
	tcase_add_test(tc, submit_each_adds_one_argument);
	tcase_add_test(tc, big_head_does_not_block_small_tasks);
	tcase_add_test(tc, many_oversized_tasks_wait_for_the_pool);
	tcase_add_test(tc, queued_hook_once_per_change);
	tcase_add_test(tc, prefetch_serves_idle_workers_first);
	tcase_add_test(tc, prefetch_without_slots_is_off);
	tcase_add_test(tc, prefetch_only_where_it_could_run);
	tcase_add_test(tc, prefetch_by_memory);
	tcase_add_test(tc, prefetch_cancel_and_kill);
	tcase_add_test(tc, prefetch_lost_worker_requeues_held);
	tcase_add_test(tc, prefetch_report_before_its_start);
	tcase_add_test(tc, prefetch_draining_worker_keeps_what_it_holds);
	tcase_add_test(tc, cancel_running_shows_its_run);
	tcase_add_test(tc, dependency_after_any);
	tcase_add_test(tc, argv_view_matches_the_copies);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
