/*
 * cluster stop: stop the cluster's scheduler and every job of its pool.
 *
 * Through the scheduler: on this host it gets SIGTERM (and, in the state
 * directory's stop file, how long its running jobs may drain); a head
 * job elsewhere is cancelled with the batch system's own command, which
 * sends the job SIGTERM, and mpirun hands that on to rank 0.  Either way
 * the scheduler cancels its queued jobs, drains the running ones, cancels
 * what is left in one command and removes its address file, which is
 * what this waits for.  Jobs the `jobs` file still lists after that (a
 * scheduler that died on the way) and a head job still in the queue are
 * cancelled here, in one command.
 *
 * --force needs no scheduler: the daemon's process group is killed when
 * it runs on this host, everything the `jobs` file and head-job record
 * list is cancelled in one command (local jobs: their process groups
 * killed), and the address file goes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/scheduler.h"
#include "util/clock.h"
#include "util/xalloc.h"

#define STOP_TIMEOUT 60		/* s to wait for the scheduler by default */
#define HEAD_END_WAIT 15	/* s a stopped head job gets to leave */

struct stop_args {
	int force;
	uint64_t timeout;
	int timeout_seen;
};

static const struct opt stop_options[] = {
	OPT_FLAG("force", 0, "without a scheduler: cancel recorded jobs, kill "
		 "the daemon", struct stop_args, force),
	OPT_DURATION("timeout", 0, "D", "drain and stop within D (default: 60s)",
		     struct stop_args, timeout,
		     .seen = OPT_SEEN(struct stop_args, timeout_seen)),
	OPT_END,
};

static int cmd_stop(int argc, char **argv, void *values,
		    struct cli_globals *g);

const struct cmd_entry cmd_stop_entry = {
	.name = "stop",
	.exec = cmd_stop,
	.summary = "stop the scheduler and cancel every job of the pool",
	.options = stop_options,
	.opts_size = sizeof(struct stop_args),
};

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

/* What is recorded: the pool's jobs and the head job. */
struct recorded {
	const struct backend *b;	/* the jobs' backend, or NULL */
	struct job_ref *refs;
	uint64_t *starts;		/* local: each leader's start time, 0 */
	size_t n;
	json_int_t next_seq;		/* kept in the emptied record; 0 */
	char head[64];			/* "" when none */
	const struct backend *head_b;
};

static void recorded_release(struct recorded *r)
{
	free(r->refs);
	free(r->starts);
}

static void read_recorded(const char *dir, struct recorded *r)
{
	json_t *doc = NULL, *jobs, *j;
	char bname[32];
	size_t i;

	memset(r, 0, sizeof(*r));
	if (state_head_job_read(dir, bname, r->head, NULL) == 0)
		r->head_b = backend_find(bname);
	if (!r->head_b)
		r->head[0] = '\0';
	if (state_pool_jobs_read(dir, &doc, NULL) < 0)
		return;
	r->b = backend_find(json_string_value(json_object_get(doc, "backend")));
	r->next_seq = json_integer_value(json_object_get(doc, "next_seq"));
	jobs = json_object_get(doc, "jobs");
	r->refs = xcalloc(json_array_size(jobs) + 1, sizeof(*r->refs));
	r->starts = xcalloc(json_array_size(jobs) + 1, sizeof(*r->starts));
	json_array_foreach(jobs, i, j) {
		const char *id = json_string_value(json_object_get(j, "id"));
		json_t *index = json_object_get(j, "index");
		json_t *start = json_object_get(j, "proc_start");
		struct job_ref *ref = &r->refs[r->n];
		if (!id || !*id || !r->b)
			continue;
		r->starts[r->n] = json_is_integer(start) &&
			json_integer_value(start) > 0 ?
			(uint64_t)json_integer_value(start) : 0;
		snprintf(ref->id, sizeof(ref->id), "%s", id);
		ref->index = json_is_integer(index) &&
			json_integer_value(index) >= 0 ?
			(long)json_integer_value(index) : -1;
		ref->array = ref->index >= 0;
		r->n++;
	}
	json_decref(doc);
}

/* SIGTERM to local jobs' process groups, SIGKILL to what still runs 3 s
 * later.  Only group leaders started when the record says: a pid reused
 * by another process is no group of ours. */
static void kill_local(const struct job_ref *refs, const uint64_t *starts,
		       size_t n, struct strbuf *said)
{
	pid_t *pids = calloc(n + 1, sizeof(*pids));
	size_t k = 0;

	if (!pids)
		abort();
	for (size_t i = 0; i < n; i++) {
		pid_t pid = (pid_t)atol(refs[i].id);
		uint64_t start;
		if (pid > 1 && backend_local_started(pid, &start) == 0 &&
		    (!starts[i] || start == starts[i]) &&
		    backend_local_cancel(pid, SIGTERM) == 0) {
			pids[k++] = pid;
			strbuf_addf(said, " %d", (int)pid);
		}
	}
	for (int t = 0; t < 30; t++) {
		int left = 0;
		for (size_t i = 0; i < k; i++)
			if (kill(-pids[i], 0) == 0)
				left = 1;
		if (!left)
			break;
		sleep_s(0.1);
	}
	for (size_t i = 0; i < k; i++)
		backend_local_cancel(pids[i], SIGKILL);
	free(pids);
}

/* Cancel `refs` with b's cancel command, all at once. */
static int cancel_batch(const struct backend *b, const struct job_ref *refs,
			size_t n, struct strbuf *said)
{
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct backend_result res;
	struct err err = { "" };
	int rc = 0;

	if (!n)
		return 0;
	if (!b->cancel_argv) {
		fprintf(stderr, "cluster: backend '%s' cannot cancel jobs\n",
			b->name);
		return -1;
	}
	b->cancel_argv(refs, n, &argv);
	for (size_t i = 0; i < n; i++) {
		struct strbuf one = STRBUF_INIT;
		if (b->format_ref)
			b->format_ref(&refs[i], &one);
		else
			strbuf_addstr(&one, refs[i].id);
		strbuf_addf(said, " %s", one.buf);
		strbuf_release(&one);
	}
	if (cli_batch_run(b, &argv, &res, &err) < 0) {
		/* scancel and qdel complain of jobs that already ended */
		fprintf(stderr, "cluster: %s: %s\n", argv.v[0], err.text);
		rc = -1;
	}
	backend_result_release(&res);
	backend_argv_release(&argv);
	return rc;
}

/* Whether the head job is still in the queue (not ended). */
static int head_listed(const struct recorded *r)
{
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct backend_result res;
	struct job_status_list list = { 0 };
	struct err err = { "" };
	struct job_ref ref = { .index = -1 };
	int listed = 0;

	snprintf(ref.id, sizeof(ref.id), "%s", r->head);
	r->head_b->status_argv(&ref, 1, &argv);
	cli_batch_run(r->head_b, &argv, &res, &err);
	r->head_b->parse_status(res.out.buf ? res.out.buf : "", &list, &err);
	for (size_t i = 0; i < list.n; i++)
		if (!strcmp(list.v[i].ref.id, r->head) &&
		    list.v[i].state != JOB_STATE_ENDED)
			listed = 1;
	job_status_list_release(&list);
	backend_result_release(&res);
	backend_argv_release(&argv);
	return listed;
}

/* Cancel the recorded jobs (and the head job when `with_head`), saying
 * what; the records are cleared. */
static int cancel_recorded(const char *dir, struct recorded *r, int with_head)
{
	struct strbuf said = STRBUF_INIT;
	struct err err = { "" };
	int rc = 0;

	if (r->b && !r->b->is_batch) {
		kill_local(r->refs, r->starts, r->n, &said);
		if (said.len)
			printf("killed local jobs (process groups):%s\n", said.buf);
		strbuf_reset(&said);
	}
	if (r->b && r->b->is_batch) {
		int head_too = with_head && r->head[0] && r->head_b == r->b;
		if (head_too) {
			r->refs = xrealloc(r->refs, (r->n + 1) * sizeof(*r->refs));
			memset(&r->refs[r->n], 0, sizeof(r->refs[r->n]));
			snprintf(r->refs[r->n].id, sizeof(r->refs[r->n].id), "%s",
				 r->head);
			r->refs[r->n].index = -1;
			r->n++;
		}
		rc = cancel_batch(r->b, r->refs, r->n, &said);
		if (head_too)
			with_head = 0;
	}
	if (with_head && r->head[0] && r->head_b->is_batch) {
		struct job_ref ref = { .index = -1 };
		snprintf(ref.id, sizeof(ref.id), "%s", r->head);
		if (cancel_batch(r->head_b, &ref, 1, &said) < 0)
			rc = -1;
	}
	if (said.len)
		printf("cancelled:%s\n", said.buf);
	if (r->b || r->n) {
		json_t *doc = json_pack("{s:s,s:[]}", "backend",
					r->b ? r->b->name : "local", "jobs");
		/* the names an earlier scheduler gave are not given again */
		if (r->next_seq > 0)
			json_object_set_new(doc, "next_seq",
					    json_integer(r->next_seq));
		if (state_pool_jobs_write(dir, doc, &err) < 0)
			fprintf(stderr, "cluster: %s\n", err.text);
		json_decref(doc);
	}
	strbuf_release(&said);
	return rc;
}

static int stop_force(const struct cli_globals *g, const char *dir,
		      const struct state_address *a, int running)
{
	struct recorded r;
	int rc;

	if (a->port && cli_scheduler_here(a)) {
		pid_t pid = (pid_t)a->pid;
		/* a daemon leads its own group; rank 0 of a head job does not */
		if (getpgid(pid) == pid)
			kill(-pid, SIGKILL);
		else
			kill(pid, SIGKILL);
		for (int t = 0; t < 50 && kill(pid, 0) == 0; t++)
			sleep_s(0.1);
		printf("killed the scheduler of '%s' (pid %d)\n", g->name,
		       (int)pid);
	} else if (running) {
		printf("the scheduler of '%s' runs on %s, not here: its head job "
		       "is cancelled, not signalled\n", g->name,
		       a->node[0] ? a->node : a->host);
	}
	read_recorded(dir, &r);
	if (!r.n && !r.head[0])
		printf("no jobs recorded for '%s'\n", g->name);
	rc = cancel_recorded(dir, &r, 1);
	recorded_release(&r);
	state_file_remove(dir, STATE_HEAD_JOB);
	if (a->port) {
		state_address_remove(dir);
		printf("removed the address file\n");
	}
	return rc < 0 ? 1 : 0;
}

static int cmd_stop(int argc, char **argv, void *values,
		    struct cli_globals *g)
{
	const struct stop_args *o = values;
	double timeout = o->timeout_seen ? (double)o->timeout : STOP_TIMEOUT;
	struct strbuf dir = STRBUF_INIT, where = STRBUF_INIT;
	struct state_address a;
	struct recorded r = { 0 };
	struct err err = { "" };
	int running, rc = 1;

	if (argc > 0)
		return cli_usage_error(&cmd_stop_entry, "unexpected argument '%s'",
				       argv[0]);
	if (state_dir(g->name, 0, &dir, &err) < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "cluster: no cluster named '%s'\n", g->name);
		else
			fprintf(stderr, "cluster: %s\n", err.text);
		goto out;
	}
	running = cli_scheduler_running(dir.buf, g->name, &a);
	if (o->force) {
		rc = stop_force(g, dir.buf, &a, running);
		goto out;
	}
	read_recorded(dir.buf, &r);
	if (running) {
		cli_scheduler_where(&a, &where);
		/* the scheduler drains for most of the time, and has the rest
		 * to cancel and leave */
		if (state_stop_write(dir.buf, timeout * 0.75, &err) < 0)
			fprintf(stderr, "cluster: %s\n", err.text);
		if (cli_scheduler_here(&a)) {
			if (kill((pid_t)a.pid, SIGTERM) < 0) {
				fprintf(stderr, "cluster: cannot signal the scheduler "
					"at %s: %s\n", where.buf, strerror(errno));
				goto out;
			}
			printf("asked the scheduler of '%s' at %s to stop\n",
			       g->name, where.buf);
		} else if (r.head[0]) {
			struct strbuf said = STRBUF_INIT;
			struct job_ref ref = { .index = -1 };
			snprintf(ref.id, sizeof(ref.id), "%s", r.head);
			cancel_batch(r.head_b, &ref, 1, &said);
			printf("cancelled head job %s: the batch system signals its "
			       "scheduler at %s\n", r.head, where.buf);
			strbuf_release(&said);
		} else {
			fprintf(stderr, "cluster: the scheduler of '%s' runs at %s, "
				"not on this host, and no head job is recorded; run "
				"'cluster stop' there\n", g->name, where.buf);
			goto out;
		}
		fflush(stdout);
		double t0 = clock_monotonic();
		while (state_address_read(dir.buf, &a, NULL) == 0 &&
		       !state_address_stale(&a) &&
		       clock_monotonic() - t0 < timeout)
			sleep_s(0.01);	/* one small file read */
		if (state_address_read(dir.buf, &a, NULL) == 0 &&
		    !state_address_stale(&a)) {
			fprintf(stderr, "cluster: the scheduler of '%s' has not "
				"stopped after %.0f s; 'cluster --name %s stop "
				"--force' cancels its jobs and kills it\n", g->name,
				timeout, g->name);
			goto out;
		}
		state_address_remove(dir.buf);
		printf("the scheduler of '%s' stopped\n", g->name);
		/* its head job ends with its ranks */
		if (r.head[0]) {
			double t1 = clock_monotonic();
			while (head_listed(&r) &&
			       clock_monotonic() - t1 < HEAD_END_WAIT)
				sleep_s(0.5);
		}
	} else if (a.port) {
		state_address_remove(dir.buf);
		printf("no scheduler runs for '%s'; removed the address file of "
		       "one that is gone (pid %ld)\n", g->name, a.pid);
	} else {
		printf("no scheduler runs for '%s'\n", g->name);
	}
	/* what a scheduler that died on its way out, or never started,
	 * left in the queue */
	recorded_release(&r);
	read_recorded(dir.buf, &r);
	int head = r.head[0] && r.head_b->is_batch && head_listed(&r);
	rc = cancel_recorded(dir.buf, &r, head) < 0 ? 1 : 0;
	state_file_remove(dir.buf, STATE_HEAD_JOB);
	state_file_remove(dir.buf, STATE_STOP);
out:
	recorded_release(&r);
	strbuf_release(&dir);
	strbuf_release(&where);
	return rc;
}
