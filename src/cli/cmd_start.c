/*
 * cluster start: start the cluster's scheduler where scheduler.location
 * says, and return once it answers.
 *
 *	local	a daemon on this host (`cluster ... start --serve`, see
 *		cmd_scheduler.c), detached: its own session, stdin from
 *		/dev/null, stdout and stderr on the state directory's
 *		scheduler.log, whose last lines are shown when it dies
 *		before answering; first what would keep its pool from
 *		starting is checked (pool_preflight: a dry run of the
 *		worker job among others), and once it answers, that its
 *		pool runs and its first submission was not refused, else
 *		it is stopped and start fails
 *	job	the head job (jobscript.h's JOB_HEAD) written to head.sh,
 *		first a dry run (Slurm --test-only; PBS a held job, then
 *		cancelled) so a profile the site rejects fails now with the
 *		batch system's own words, then submitted and its id kept
 *		in head-job; its batch state is shown while it waits; the
 *		same checks of the pool as for a daemon, and a head job
 *		whose pool does not start is cancelled
 *
 * A cluster whose scheduler runs, or whose head job is still in the
 * queue, is not started twice; but a head job that runs while the
 * scheduler its address file names answers no more (its rank was
 * killed) is left to run on, so its workers join the next scheduler with
 * their tasks, and a new head job is submitted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/scheduler.h"
#include "cli/start_pool.h"
#include "dashboard/link.h"
#include "cluster/client.h"
#include "jobscript/jobscript.h"
#include "util/clock.h"
#include "util/units.h"

#define LOCAL_TIMEOUT 60	/* s a daemon gets to answer by default */
#define POLL_EVERY 3.0		/* s between status commands while queued */
#define MISSING_GRACE 15.0	/* s a new job may be missing from the queue */
#define LOG_TAIL 15		/* lines of a dead daemon's log shown */

struct start_args {
	int no_wait;
	uint64_t timeout;
	int timeout_seen;
	int serve;
};

static const struct opt start_options[] = {
	OPT_FLAG("no-wait", 0, "return once the scheduler is started or its "
		 "head job submitted", struct start_args, no_wait),
	OPT_DURATION("timeout", 0, "D", "wait at most D for an answer (60s local; head "
		     "job: no limit)",
		     struct start_args, timeout,
		     .seen = OPT_SEEN(struct start_args, timeout_seen)),
	OPT_FLAG("serve", 0, "run the scheduler in this process",
		 struct start_args, serve, .flags = OPT_HIDDEN),
	OPT_END,
};

static int cmd_start(int argc, char **argv, void *values,
		     struct cli_globals *g);

const struct cmd_entry cmd_start_entry = {
	.name = "start",
	.exec = cmd_start,
	.summary = "start the cluster's scheduler (a local daemon or a head job)",
	.options = start_options,
	.opts_size = sizeof(struct start_args),
};

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

/* A scheduler that found tasks in its journal (none have been submitted
 * to it yet): say how much it resumes. */
static void print_resumed(const char *name)
{
	char errbuf[256];
	struct cluster_counters cnt;
	cluster_client_t *c = cluster_client_open(name, errbuf, sizeof(errbuf));

	if (!c)
		return;
	cluster_client_set_timeout(c, 5);
	if (cluster_counters(c, &cnt) == 0 && cnt.last_id) {
		uint64_t ended = cnt.state[CLUSTER_TASK_DONE] +
			cnt.state[CLUSTER_TASK_FAILED] +
			cnt.state[CLUSTER_TASK_CANCELLED];
		uint64_t running = cnt.state[CLUSTER_TASK_RUNNING];
		printf("resumed from the journal: %llu tasks, %llu unfinished "
		       "(%llu queued again, %llu running, kept for their "
		       "workers to claim), %llu ended\n",
		       (unsigned long long)cnt.last_id,
		       (unsigned long long)(cnt.last_id - ended),
		       (unsigned long long)(cnt.last_id - ended - running),
		       (unsigned long long)running, (unsigned long long)ended);
	}
	cluster_client_close(c);
}

static void print_ready(const struct cli_globals *g,
			const struct state_address *a)
{
	const char *name = g->name;
	struct strbuf where = STRBUF_INIT;

	cli_scheduler_where(a, &where);
	printf("scheduler of '%s' runs at %s\n", name, where.buf);
	print_resumed(name);
	if (a->http_port)
		printf("dashboard and API: http://%s%s%s:%u/\n",
		       strchr(a->host, ':') ? "[" : "", a->host,
		       strchr(a->host, ':') ? "]" : "", (unsigned)a->http_port);
	cli_print_dashboard(g, a->host, a->http_port);
	printf("submit with: cluster --name %s submit -- COMMAND\n"
	       "stop with:   cluster --name %s stop\n", name, name);
	fflush(stdout);
	strbuf_release(&where);
}

/* The last lines of `path` on stderr. */
static void show_tail(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	size_t start, lines = 0;

	if (strbuf_read_file(&sb, path) < 0 || !sb.len) {
		fprintf(stderr, "cluster: (nothing in '%s')\n", path);
		strbuf_release(&sb);
		return;
	}
	start = sb.len;
	if (sb.buf[start - 1] == '\n')
		start--;
	while (start > 0 && lines < LOG_TAIL) {
		start--;
		if (sb.buf[start] == '\n')
			lines++;
	}
	if (sb.buf[start] == '\n')
		start++;
	fprintf(stderr, "cluster: the last lines of '%s':\n%s%s", path,
		sb.buf + start, sb.buf[sb.len - 1] == '\n' ? "" : "\n");
	strbuf_release(&sb);
}

/* Wait for the scheduler to publish its address and answer; 0 when it
 * does. */
static int answered(const char *dir, const char *name, long pid,
		    struct state_address *a)
{
	if (state_address_read(dir, a, NULL) < 0)
		return 0;
	if (pid && a->pid != pid)
		return 0;
	return cli_scheduler_answers(name);
}

/* --- local ---------------------------------------------------------------- */

/* The last scheduler's log, maybe of one that was killed, to
 * scheduler.log.1 rather than under the new one. */
static void keep_last_log(const char *path)
{
	struct strbuf old = STRBUF_INIT;
	struct stat st;

	if (stat(path, &st) == 0 && st.st_size > 0) {
		strbuf_addf(&old, "%s.1", path);
		if (rename(path, old.buf) < 0)
			fprintf(stderr, "cluster: warning: cannot move '%s' "
				"to '%s': %s\n", path, old.buf, strerror(errno));
	}
	strbuf_release(&old);
}

static int start_local(const struct cli_globals *g, const struct start_args *o,
		       const char *dir)
{
	struct strbuf log = STRBUF_INIT, prog = STRBUF_INIT;
	const char *args[16 + 2 * 256];
	char cfg_buf[PATH_MAX];
	const char *cfg_file = start_config_abs(g, cfg_buf);
	double timeout = o->timeout_seen ? (double)o->timeout : LOCAL_TIMEOUT;
	double t0 = clock_monotonic();
	struct state_address a;
	size_t n = 0;
	int logfd, nullfd, rc = 1;
	pid_t pid;

	strbuf_addf(&log, "%s/%s", dir, STATE_DAEMON_LOG);
	strbuf_addf(&prog, "%s/cluster", g->bindir);
	args[n++] = prog.buf;
	if (g->verbose)
		args[n++] = "-v";
	if (g->profile) {
		args[n++] = "--profile";
		args[n++] = g->profile;
	}
	if (cfg_file) {
		args[n++] = "--config";
		args[n++] = cfg_file;
	}
	for (size_t i = 0; i < g->sets.n && i < 256; i++) {
		args[n++] = "--set";
		args[n++] = g->sets.items[i];
	}
	args[n++] = "--name";
	args[n++] = g->name;
	args[n++] = "start";
	args[n++] = "--serve";
	args[n] = NULL;

	keep_last_log(log.buf);
	logfd = open(log.buf, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
		     O_CLOEXEC, 0600);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (logfd < 0 || nullfd < 0) {
		fprintf(stderr, "cluster: cannot open '%s': %s\n",
			logfd < 0 ? log.buf : "/dev/null", strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "cluster: cannot start the scheduler: %s\n",
			strerror(errno));
		goto out;
	}
	if (pid == 0) {
		setsid();
		dup2(nullfd, STDIN_FILENO);
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		if (chdir(dir) < 0)
			_exit(127);
		execv(args[0], (char *const *)args);
		fprintf(stderr, "cluster: cannot run '%s': %s\n", args[0],
			strerror(errno));
		_exit(127);
	}
	for (;;) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "cluster: the scheduler (pid %ld) %s %d "
				"before it answered\n", (long)pid,
				WIFSIGNALED(status) ? "was killed by signal" :
				"exited with status",
				WIFSIGNALED(status) ? WTERMSIG(status) :
				WEXITSTATUS(status));
			show_tail(log.buf);
			goto out;
		}
		if (answered(dir, g->name, (long)pid, &a))
			break;
		if (o->no_wait && clock_monotonic() - t0 > 0.5) {
			printf("scheduler of '%s' started (pid %ld); its log: %s\n",
			       g->name, (long)pid, log.buf);
			rc = 0;
			goto out;
		}
		if (timeout > 0 && clock_monotonic() - t0 > timeout) {
			fprintf(stderr, "cluster: the scheduler (pid %ld) has not "
				"answered after %.0f s; it still runs (see '%s', "
				"'cluster --name %s stop')\n", (long)pid, timeout,
				log.buf, g->name);
			goto out;
		}
		/* a local daemon answers within tens of ms */
		sleep_s(0.01);
	}
	if (start_pool_started(g->name) < 0) {
		start_stop_daemon(pid);
		show_tail(log.buf);
		goto out;
	}
	print_ready(g, &a);
	printf("log: %s\n", log.buf);
	rc = 0;
out:
	if (logfd >= 0)
		close(logfd);
	if (nullfd >= 0)
		close(nullfd);
	strbuf_release(&log);
	strbuf_release(&prog);
	return rc;
}

/* --- job ------------------------------------------------------------------ */

/* The head job's record in the batch system's listing, or -1 when it is
 * not listed (or the command failed: *failed). */
static int job_status(const struct backend *b, const struct job_ref *ref,
		      struct job_status *out, int *failed)
{
	struct backend_argv argv = BACKEND_ARGV_INIT;
	struct backend_result res;
	struct job_status_list list = { 0 };
	struct err err = { "" };
	int found = -1;

	*failed = 0;
	b->status_argv(ref, 1, &argv);
	if (cli_batch_run(b, &argv, &res, &err) < 0 && !res.out.len) {
		*failed = 1;
		fprintf(stderr, "cluster: status of job %s: %s\n", ref->id,
			err.text);
	} else {
		b->parse_status(res.out.buf ? res.out.buf : "", &list, &err);
		for (size_t i = 0; i < list.n; i++)
			if (!strcmp(list.v[i].ref.id, ref->id)) {
				*out = list.v[i];
				found = 0;
				break;
			}
	}
	job_status_list_release(&list);
	backend_result_release(&res);
	backend_argv_release(&argv);
	return found;
}

/* A head job recorded earlier that is still in the queue (*running:
 * it runs). */
static int head_job_queued(const struct backend *b, const char *dir,
			   char id[64], int *running)
{
	char bname[32];
	struct job_ref ref = { .index = -1 };
	struct job_status st;
	int failed;

	if (state_head_job_read(dir, bname, id, NULL) < 0 ||
	    strcmp(bname, b->name))
		return 0;
	snprintf(ref.id, sizeof(ref.id), "%s", id);
	if (job_status(b, &ref, &st, &failed) < 0 || st.state == JOB_STATE_ENDED)
		return 0;
	*running = st.state == JOB_STATE_RUNNING;
	return 1;
}

static void show_state(const struct job_status *st, const char *id,
		       double waited, int tty, struct strbuf *last)
{
	struct strbuf line = STRBUF_INIT;
	unsigned s = (unsigned)waited;

	strbuf_addf(&line, "job %s %s", id, job_state_name(st->state));
	if (st->reason[0] && strcmp(st->reason, "None"))
		strbuf_addf(&line, " (%s)", st->reason);
	if (tty) {
		fprintf(stderr, "\r%s %u:%02u  ", line.buf, s / 60, s % 60);
	} else if (strcmp(line.buf, last->buf)) {
		fprintf(stderr, "%s %u:%02u\n", line.buf, s / 60, s % 60);
		strbuf_reset(last);
		strbuf_addstr(last, line.buf);
	}
	strbuf_release(&line);
}

static int start_job(const struct cli_globals *g, const struct start_args *o,
		     const struct config *cfg, const char *dir)
{
	const char *bname = config_get_str(cfg, "backend");
	const struct backend *b = backend_find(bname ? bname : "local");
	struct strbuf script = STRBUF_INIT, last = STRBUF_INIT;
	struct job_ref ref, held;
	struct state_address a;
	struct err err = { "" };
	double t0, next_poll = 0, timeout = o->timeout_seen ? (double)o->timeout : 0;
	int tty = isatty(STDERR_FILENO), rc = 1;
	char old[64];
	int old_runs = 0;

	if (!b || !b->is_batch || !b->submit_argv) {
		fprintf(stderr, "cluster: scheduler.location is job, but backend "
			"'%s' has no batch system to submit a head job to; set "
			"scheduler.location: local\n", bname ? bname : "local");
		return 1;
	}
	if (head_job_queued(b, dir, old, &old_runs)) {
		/* Its scheduler published its address and answers no more
		 * (killed, say): the job runs on with its workers, which
		 * keep their tasks and join the next scheduler. */
		if (!old_runs || state_address_read(dir, &a, NULL) < 0) {
			fprintf(stderr, "cluster: '%s' already has its head job "
				"%s in the queue; 'cluster --name %s stop' "
				"cancels it\n", g->name, old, g->name);
			return 1;
		}
		printf("head job %s runs without its scheduler (pid %ld), "
		       "which answers no more: its workers join the next one\n",
		       old, a.pid);
	}
	if (start_write_script(g, cfg, dir, JOB_HEAD, STATE_HEAD_SCRIPT, &script) < 0)
		goto out;
	if (start_submit(b, script.buf, 1, "head job", &held) < 0)
		goto out;
	if (b->dry_run_holds && held.id[0])
		start_cancel_held(b, &held);
	/* the head job's pool: after its own dry run, whose words come
	 * first when the profile is wrong for both */
	if (start_pool_preflight(g, cfg, dir) < 0)
		goto out;
	/* A scheduler that is gone may have left its address behind: it is
	 * kept, for the workers that outlived that scheduler wait for the
	 * file to name the next one (a missing file tells them the cluster
	 * ended); `answered` waits for a scheduler that answers. */
	if (start_submit(b, script.buf, 0, "head job", &ref) < 0)
		goto out;
	t0 = clock_monotonic();
	if (state_head_job_write(dir, b->name, ref.id, &err) < 0)
		fprintf(stderr, "cluster: %s; 'cluster stop' will not find the "
			"head job\n", err.text);
	printf("submitted head job %s (%s), script %s\n", ref.id, b->name,
	       script.buf);
	fflush(stdout);
	if (o->no_wait) {
		printf("'cluster --name %s stop' cancels it\n", g->name);
		rc = 0;
		goto out;
	}
	for (;;) {
		double now = clock_monotonic();
		if (answered(dir, g->name, 0, &a))
			break;
		if (now >= next_poll) {
			struct job_status st;
			int failed;
			next_poll = now + POLL_EVERY;
			if (job_status(b, &ref, &st, &failed) == 0) {
				show_state(&st, ref.id, now - t0, tty, &last);
				if (st.state == JOB_STATE_ENDED) {
					fprintf(stderr, "%scluster: head job %s "
						"ended (%s) before its scheduler "
						"answered; its output is in %s\n",
						tty ? "\n" : "", ref.id,
						job_end_name(st.end), dir);
					goto out;
				}
			} else if (!failed && now - t0 > MISSING_GRACE) {
				fprintf(stderr, "%scluster: head job %s left the "
					"queue before its scheduler answered; "
					"its output is in %s\n", tty ? "\n" : "",
					ref.id, dir);
				goto out;
			}
		}
		if (timeout > 0 && now - t0 > timeout) {
			fprintf(stderr, "%scluster: the scheduler has not answered "
				"after %.0f s; head job %s stays in the queue "
				"('cluster --name %s stop' cancels it)\n",
				tty ? "\n" : "", timeout, ref.id, g->name);
			goto out;
		}
		sleep_s(0.25);
	}
	if (tty)
		fputc('\n', stderr);
	if (start_pool_started(g->name) < 0) {
		struct backend_argv argv = BACKEND_ARGV_INIT;
		struct backend_result res;
		b->cancel_argv(&ref, 1, &argv);
		if (cli_batch_run(b, &argv, &res, &err) < 0)
			fprintf(stderr, "cluster: cannot cancel head job %s: %s\n",
				ref.id, err.text);
		else
			fprintf(stderr, "cluster: cancelled head job %s\n", ref.id);
		backend_result_release(&res);
		backend_argv_release(&argv);
		goto out;
	}
	printf("head job %s runs\n", ref.id);
	print_ready(g, &a);
	rc = 0;
out:
	strbuf_release(&script);
	strbuf_release(&last);
	return rc;
}

/* --- the command ------------------------------------------------------------ */

static int cmd_start(int argc, char **argv, void *values,
		     struct cli_globals *g)
{
	const struct start_args *o = values;
	struct strbuf dir = STRBUF_INIT, where = STRBUF_INIT;
	struct state_address a;
	struct err err = { "" };
	struct config *cfg = NULL;
	const char *loc;
	int rc = 1;

	if (argc > 0)
		return cli_usage_error(&cmd_start_entry, "unexpected argument '%s'",
				       argv[0]);
	if (o->serve)
		return cli_scheduler_serve(g);
	cfg = cli_load_config(g);
	if (!cfg)
		return 2;
	if (dashboard_link_check(config_get_str(cfg, "dashboard.link"), &err) < 0) {
		fprintf(stderr, "cluster: %s\n", err.text);
		rc = 2;
		goto out;
	}
	if (state_dir(g->name, 1, &dir, &err) < 0) {
		fprintf(stderr, "cluster: %s\n", err.text);
		goto out;
	}
	if (cli_scheduler_running(dir.buf, g->name, &a)) {
		cli_scheduler_where(&a, &where);
		fprintf(stderr, "cluster: the scheduler of '%s' already runs at "
			"%s; 'cluster --name %s stop' stops it\n", g->name,
			where.buf, g->name);
		goto out;
	}
	loc = config_get_str(cfg, "scheduler.location");
	if (loc && !strcmp(loc, "local"))
		rc = start_pool_preflight(g, cfg, dir.buf) < 0 ? 1 :
			start_local(g, o, dir.buf);
	else
		rc = start_job(g, o, cfg, dir.buf);
out:
	config_destroy(cfg);
	strbuf_release(&dir);
	strbuf_release(&where);
	return rc;
}
