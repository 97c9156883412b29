/*
 * run: the scheduler process from start to end; see run.h.  A batch run
 * decides it is over from task ends (a subscriber of the server's
 * events) and a 100 ms poll, never inside the sched call that reports an
 * end.
 */
#include "server/run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/config.h"
#include "sched/sched.h"
#include "sched/taskfile.h"
#include "server/events.h"
#include "server/journal.h"
#include "server/pool.h"
#include "util/log.h"
#include "server/server.h"
#include "state/state.h"
#include "util/strbuf.h"
#include "util/clock.h"

#define FAILED_LISTED 20
#define DRAIN_GRACE 5.0		/* s to wait for workers that never joined */
#define DRAIN_MAX 30.0		/* s to wait for workers to leave */

struct run {
	struct run_opts o;
	struct event_base *base;
	struct server *srv;
	long long ntasks;
	char *state_dir;
	struct taskplan *plan;		/* a task file with order and shape */
};

struct batch {
	struct server *srv;
	struct event_base *base;
	struct event *check_ev;		/* idle?  workers gone? */
	struct event *progress_ev;
	struct event *term_ev, *int_ev;
	uint64_t ntasks;
	double t_start, t_first_end, t_idle, t_shutdown;
	unsigned expect_workers;
	int local_worker;		/* pid, or 0 */
	int launcher;			/* see run_opts */
	struct taskplan *plan;		/* lines still to submit, or NULL */
	const char *state_dir;		/* a stop's timeout comes from there */
	double drain_max;		/* s to wait for workers to leave */
	int pool_stopping;		/* pool_manager_stop has not called back */
	int run_mode;			/* --run: end when idle */
	int idle;
	int stopping;
	int progress;			/* stderr is a terminal */
	int plain_progress;		/* a line every interval instead */
};

/* --- a batch's events and summary ----------------------------------------- */

static void pool_stopped(void *arg)
{
	struct batch *b = arg;

	b->pool_stopping = 0;
	event_active(b->check_ev, EV_TIMEOUT, 0);
}

/* A scheduler that serves until told to stop takes its pool with it:
 * queued jobs cancelled, running ones drained for the timeout `cluster
 * stop` left in the state directory (else DRAIN_MAX), then cancelled. */
static void stop_pool(struct batch *b)
{
	struct pool_manager *pm = server_pool(b->srv);
	double timeout = DRAIN_MAX;

	if (b->state_dir && state_stop_take(b->state_dir, &timeout) == 0 &&
	    timeout > b->drain_max)
		b->drain_max = timeout;
	if (!pm || b->run_mode)
		return;
	b->pool_stopping = 1;
	pool_manager_stop(pm, timeout, pool_stopped, b);
}

static void batch_stop(struct batch *b, const char *reason)
{
	if (b->stopping)
		return;
	b->stopping = 1;
	b->t_shutdown = clock_monotonic();
	server_shutdown_workers(b->srv, reason);
	stop_pool(b);
	event_active(b->check_ev, EV_TIMEOUT, 0);
}

static void on_ended(void *arg, task_id_t id)
{
	struct batch *b = arg;

	(void)id;
	if (!b->t_first_end)
		b->t_first_end = clock_monotonic();
	/* Decide outside the sched call that is telling us. */
	if (b->run_mode && !b->idle)
		event_active(b->check_ev, EV_TIMEOUT, 0);
}

/* Once stopping, the run ends when the last worker has gone: look at
 * once rather than at the next poll. */
static void on_lost(void *arg, worker_id_t w, int left, const char *why)
{
	struct batch *b = arg;

	(void)w;
	(void)left;
	(void)why;
	if (b->stopping)
		event_active(b->check_ev, EV_TIMEOUT, 0);
}

static const struct events_ops batch_ops = {
	.task_ended = on_ended,
	.worker_lost = on_lost,
};

static void check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct batch *b = arg;
	struct sched *s = server_sched(b->srv);
	double now = clock_monotonic();

	(void)fd;
	(void)what;
	if (b->launcher && getppid() != b->launcher && !b->stopping) {
		/* MPI no longer ties this rank to its launcher (boot.h) */
		log_msg(LOG_WARNING, "the launcher (pid %d) is gone; stopping",
			b->launcher);
		batch_stop(b, "scheduler stopping");
	}
	if (b->local_worker && waitpid(b->local_worker, NULL, WNOHANG) > 0) {
		b->local_worker = 0;
		if (b->run_mode && !b->idle && !sched_idle(s)) {
			log_msg(LOG_ERR, "the worker of this rank ended before "
				"the tasks did");
			batch_stop(b, "no worker left");
		}
	}
	if (b->plan && !b->stopping && taskplan_pending(b->plan)) {
		struct err err = { "" };
		long long n = taskplan_submit_ready(b->plan, s, &err);
		if (n < 0) {
			log_msg(LOG_ERR, "%s", err.text);
			batch_stop(b, "the task file cannot go on");
		} else if (n > 0) {
			server_kick(b->srv);
		}
	}
	if (b->run_mode && !b->idle && sched_idle(s) &&
	    !(b->plan && taskplan_pending(b->plan))) {
		b->idle = 1;
		b->t_idle = now;
		batch_stop(b, "all tasks ended");
	}
	if (!b->stopping)
		return;
	unsigned left = server_nworkers(b->srv);
	int all_seen = server_nworkers_seen(b->srv) >= b->expect_workers;
	int late = now - b->t_shutdown > b->drain_max;
	if ((left == 0 && !b->pool_stopping &&
	     (all_seen || now - b->t_shutdown > DRAIN_GRACE)) ||
	    (late && !b->pool_stopping) ||
	    now - b->t_shutdown > b->drain_max + DRAIN_MAX) {
		if (left)
			log_msg(LOG_WARNING, "%u workers still connected; "
				"not waiting longer", left);
		if (b->pool_stopping)
			log_msg(LOG_WARNING, "the pool has not stopped; "
				"'cluster stop --force' cancels its jobs");
		event_base_loopbreak(b->base);
	}
}

static void progress_cb(evutil_socket_t fd, short what, void *arg)
{
	struct batch *b = arg;
	struct sched_counts sc;

	(void)fd;
	(void)what;
	sched_counts(server_sched(b->srv), &sc);
	if (b->plain_progress) {
		if (b->idle)
			return;
		fprintf(stderr, "progress: %llu/%llu done, %llu failed, "
			"%llu running, %u workers, %.0f s\n",
			(unsigned long long)sc.state[TASK_DONE],
			(unsigned long long)b->ntasks,
			(unsigned long long)sc.state[TASK_FAILED],
			(unsigned long long)sc.state[TASK_RUNNING],
			server_nworkers(b->srv), clock_monotonic() - b->t_start);
		fflush(stderr);
		return;
	}
	fprintf(stderr, "\r%llu/%llu done, %llu failed, %llu running, "
		"%u workers ",
		(unsigned long long)sc.state[TASK_DONE],
		(unsigned long long)b->ntasks,
		(unsigned long long)sc.state[TASK_FAILED],
		(unsigned long long)sc.state[TASK_RUNNING],
		server_nworkers(b->srv));
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct batch *b = arg;

	(void)what;
	if (b->stopping) {
		log_msg(LOG_WARNING, "signal %d again: stopping now", (int)sig);
		event_base_loopbreak(b->base);
		return;
	}
	log_msg(LOG_INFO, "signal %d: asking the workers to finish", (int)sig);
	batch_stop(b, "scheduler stopping");
}

/* The command of a task for the summary: the line of a task file, else
 * the argv joined by spaces. */
static void task_command(struct sched *s, task_id_t id, struct strbuf *out)
{
	char **argv = sched_task_argv(s, id);

	if (!argv)
		return;
	if (argv[0] && argv[1] && argv[2] && !argv[3] &&
	    !strcmp(argv[0], "/bin/sh") && !strcmp(argv[1], "-c")) {
		strbuf_addstr(out, argv[2]);
	} else {
		for (char **a = argv; *a; a++) {
			if (a != argv)
				strbuf_addch(out, ' ');
			strbuf_addstr(out, *a);
		}
	}
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

static void print_summary(struct batch *b, int bench)
{
	struct sched *s = server_sched(b->srv);
	struct sched_counts sc;
	double end = b->t_idle ? b->t_idle : clock_monotonic();
	double wall = end - b->t_start;

	sched_counts(s, &sc);
	if (b->progress)
		fputc('\n', stderr);
	printf("tasks: %llu\n", (unsigned long long)b->ntasks);
	printf("done: %llu\n", (unsigned long long)sc.state[TASK_DONE]);
	printf("failed: %llu\n", (unsigned long long)sc.state[TASK_FAILED]);
	if (sc.state[TASK_CANCELLED])
		printf("cancelled: %llu\n",
		       (unsigned long long)sc.state[TASK_CANCELLED]);
	uint64_t unfinished = sc.state[TASK_WAITING] + sc.state[TASK_QUEUED] +
		sc.state[TASK_RUNNING];
	if (unfinished)
		printf("unfinished: %llu\n", (unsigned long long)unfinished);
	printf("retried: %llu\n", (unsigned long long)sc.retried);
	printf("wall time: %.3f s\n", wall);
	printf("tasks/s: %.1f\n", wall > 0 ? (double)b->ntasks / wall : 0.0);
	if (bench && b->t_first_end && end > b->t_first_end && b->ntasks > 1)
		printf("tasks/s after the first end: %.1f\n",
		       (double)(b->ntasks - 1) / (end - b->t_first_end));
	if (sc.state[TASK_FAILED] || sc.state[TASK_CANCELLED]) {
		unsigned listed = 0;
		printf("failed tasks%s:\n",
		       sc.state[TASK_FAILED] + sc.state[TASK_CANCELLED] >
		       FAILED_LISTED ? " (first 20)" : "");
		task_id_t id = 0;
		unsigned mask = 1u << TASK_FAILED | 1u << TASK_CANCELLED;
		while (listed < FAILED_LISTED && (id = sched_next(s, id, mask))) {
			struct task_info ti;
			struct strbuf why = STRBUF_INIT, cmd = STRBUF_INIT;
			if (sched_task(s, id, &ti) < 0)
				continue;
			/* sched words the reason: "exit code 3", "time limit",
			 * "dependency 4 failed", ... */
			if (ti.reason && *ti.reason)
				strbuf_addstr(&why, ti.reason);
			else if (ti.state == TASK_CANCELLED)
				strbuf_addstr(&why, "cancelled");
			else if (ti.signal)
				strbuf_addf(&why, "killed by signal %d", ti.signal);
			else
				strbuf_addf(&why, "exit code %d", ti.exit_code);
			task_command(s, id, &cmd);
			printf("  %llu: %s: %s\n", (unsigned long long)id, why.buf,
			       cmd.buf);
			if (b->state_dir && server_log_dir(b->srv) && ti.attempts) {
				/* where to look: the rule the workers write by */
				struct strbuf logs = STRBUF_INIT, out = STRBUF_INIT,
					      errp = STRBUF_INIT;
				strbuf_addstr(&logs, server_log_dir(b->srv));
				task_output_path(&out, logs.buf, id, ti.has_index,
						 ti.array_index, TASK_STDOUT, ti.spec);
				task_output_path(&errp, logs.buf, id, ti.has_index,
						 ti.array_index, TASK_STDERR, ti.spec);
				if (server_output(b->srv) == TASK_OUTPUT_FILES ||
				    (ti.spec->stdout_path && ti.spec->stderr_path))
					printf("     output: %s %s\n", out.buf, errp.buf);
				else
					printf("     output: the worker logs in %s "
					       "(cluster logs %llu)\n", logs.buf,
					       (unsigned long long)id);
				strbuf_release(&logs);
				strbuf_release(&out);
				strbuf_release(&errp);
			}
			strbuf_release(&why);
			strbuf_release(&cmd);
			listed++;
		}
	}
	fflush(stdout);
}

/* --- start ---------------------------------------------------------------- */

static long rss_kb(void)
{
	struct strbuf sb = STRBUF_INIT;
	long kb = -1;

	if (strbuf_read_file(&sb, "/proc/self/status") == 0) {
		const char *p = strstr(sb.buf, "VmRSS:");
		if (p)
			kb = strtol(p + 6, NULL, 10);
	}
	strbuf_release(&sb);
	return kb;
}

/* Submit the batch's tasks; returns their number or -1. */
static long long submit_batch(const struct run_opts *o,
			      const struct config *cfg, struct sched *s,
			      struct taskplan **plan)
{
	struct err err = { "" };
	task_id_t first = 0;
	uint64_t count = 0;
	struct task_spec spec = {
		.cores = o->task_cores,
		.memory = o->task_memory,
		.time_limit = o->time_limit,
		.retries = (unsigned)(o->retries >= 0 ? o->retries :
				      config_get_num(cfg, "task.retries")),
		.max_worker_losses =
			(unsigned)config_get_num(cfg, "task.max-worker-losses"),
	};

	if (o->bench_array) {
		char *argv[] = { (char *)"true", NULL };
		spec.argv = argv;
		spec.is_array = 1;
		spec.array_first = 0;
		spec.array_last = (int64_t)o->bench_array - 1;
		long before = rss_kb();
		if (sched_submit(s, &spec, &first, &count, &err) < 0) {
			log_msg(LOG_ERR, "cannot submit the array: %s", err.text);
			return -1;
		}
		if (o->bench_rss) {
			long after = rss_kb();
			printf("rss before: %ld kB\nrss after: %ld kB\n"
			       "tasks queued: %llu\n", before, after,
			       (unsigned long long)count);
			fflush(stdout);
		}
		return (long long)count;
	}
	struct strbuf text = STRBUF_INIT;
	if (strbuf_read_file(&text, o->run_file) == 0 &&
	    taskfile_has_syntax(text.buf, text.len)) {
		*plan = taskplan_parse(text.buf, text.len, &spec, &err);
		strbuf_release(&text);
		if (!*plan || taskplan_submit_ready(*plan, s, &err) < 0) {
			log_msg(LOG_ERR, "'%s': %s", o->run_file, err.text);
			return -1;
		}
		count = taskplan_ntasks(*plan);
		log_msg(LOG_INFO, "submitted the plan of %llu tasks from '%s'",
			(unsigned long long)count, o->run_file);
		return (long long)count;
	}
	strbuf_release(&text);
	if (taskfile_submit_path(s, o->run_file, &spec, &first, &count,
				 &err) < 0) {
		log_msg(LOG_ERR, "%s", err.text);
		return -1;
	}
	log_msg(LOG_INFO, "submitted %llu tasks from '%s'",
		(unsigned long long)count, o->run_file);
	return (long long)count;
}

/* The first IPv4 address of interface `name`, in `out`. */
static int interface_address(const char *name, char *out, size_t size,
			     struct err *err)
{
	struct ifaddrs *list, *i;
	int found = 0, seen = 0;

	if (getifaddrs(&list) < 0)
		return errprintf(err, "cannot list the network interfaces: %s",
				 strerror(errno));
	for (i = list; i && !found; i = i->ifa_next) {
		if (strcmp(i->ifa_name, name))
			continue;
		seen = 1;
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		found = inet_ntop(AF_INET,
				  &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
				  out, (socklen_t)size) != NULL;
	}
	freeifaddrs(list);
	if (!found)
		return errprintf(err, "scheduler.interface: %s '%s'",
				 seen ? "no IPv4 address on interface" :
				 "no such network interface", name);
	return 0;
}

/* The interface of the default route, from /proc/net/route; 0 when
 * there is none. */
static int default_route_interface(char *name, size_t size)
{
	FILE *f = fopen("/proc/net/route", "r");
	char line[256], ifname[64];
	unsigned long dest, gw, flags;
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lx %lx %lx", ifname, &dest, &gw,
			   &flags) == 4 && dest == 0 && (flags & 1)) {
			snprintf(name, size, "%s", ifname);
			found = 1;
		}
	fclose(f);
	return found;
}

/* Where to listen and what to advertise when nothing says: the address
 * of the interface that carries the default route, else the first
 * non-loopback IPv4 address of an interface that is up, else 127.0.0.1.
 * Not the host name, which Debian and others resolve to 127.0.1.1, and
 * not every interface. */
static void default_address(char *out, size_t size)
{
	char ifname[64];
	struct ifaddrs *list, *i;

	if (default_route_interface(ifname, sizeof(ifname)) &&
	    interface_address(ifname, out, size, NULL) == 0)
		return;
	snprintf(out, size, "127.0.0.1");
	if (getifaddrs(&list) < 0)
		return;
	for (i = list; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (inet_ntop(AF_INET,
			      &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
			      out, (socklen_t)size))
			break;
	}
	freeifaddrs(list);
}

static struct server *start_server(const struct run_opts *o,
				   const struct config *cfg,
				   struct event_base *base, const char *dir)
{
	struct err err = { "" };
	const char *host = config_get_str(cfg, "scheduler.host");
	const char *ifname = config_get_str(cfg, "scheduler.interface");
	const char *bind = config_get_str(cfg, "scheduler.bind");
	char ifaddr[INET_ADDRSTRLEN];

	/* the interface's address is advertised and, unless scheduler.bind
	 * widens it, the only one listened on */
	if (ifname) {
		if (interface_address(ifname, ifaddr, sizeof(ifaddr), &err) < 0) {
			log_msg(LOG_ERR, "cannot start the scheduler: %s",
				err.text);
			return NULL;
		}
		host = ifaddr;
	} else if (!host) {
		default_address(ifaddr, sizeof(ifaddr));
		host = ifaddr;
	}
	struct server_config sc = {
		.bind = bind ? bind : host,
		.advertise = host,
		.port = (uint16_t)config_get_num(cfg, "scheduler.port"),
		.http = 1,
		.http_port = (uint16_t)config_get_num(cfg, "scheduler.http-port"),
		.state_dir = dir,
		.keep_address = o->run_file || o->bench_array,
		/* a batch run's tasks come from its task file, every run */
		.journal = !o->run_file && !o->bench_array &&
			config_get_num(cfg, "journal.enabled"),
		.journal_flush_period =
			(double)config_get_num(cfg, "journal.flush-period"),
		.journal_max_size =
			(uint64_t)config_get_num(cfg, "journal.max-size"),
		.output = task_output_parse(config_get_str(cfg, "task.output")),
		.heartbeat_ms =
			(unsigned)(config_get_num(cfg, "worker.heartbeat") * 1000),
		.rejoin_grace =
			(double)config_get_num(cfg, "scheduler.rejoin-grace"),
	};
	struct server *srv;

	if (o->bench_rss)
		sc.state_dir = NULL, sc.http = 0, sc.token = "bench";
	srv = server_create(base, &sc, &err);
	if (!srv)
		log_msg(LOG_ERR, "cannot start the scheduler: %s", err.text);
	else
		server_set_prefetch(srv,
			(unsigned)config_get_num(cfg, "worker.prefetch"));
	return srv;
}

/* The pool of a scheduler that serves until told to stop.  One that
 * cannot start is logged and left out: the scheduler still serves the
 * workers it has. */
static void start_pool(const struct run_opts *o, const struct config *cfg,
		       struct event_base *base, struct server *srv,
		       const char *dir)
{
	struct err err = { "" };
	struct server_pool_opts po = {
		.cfg = cfg,
		.cluster = o->name,
		.state_dir = dir,
		.config_file = o->config_file,
		.sets = o->sets,
		.head_job = getenv("CLUSTER_JOB_ID"),
		.head_workers = o->expect_workers,
	};

	if (server_pool_start(srv, base, &po, &err) < 0)
		log_msg(LOG_ERR, "no pool: %s", err.text);
	else
		server_journal_restore_pool(server_journal(srv), server_pool(srv));
}

/* --- the loop ------------------------------------------------------------- */

/* The scheduler's loop.  Returns the exit status. */
static int run_scheduler(const struct run_opts *o, struct event_base *base,
			 struct server *srv, long long ntasks,
			 const char *state_dir, struct taskplan *plan)
{
	struct batch b = { 0 };
	int rc = 0;

	b.srv = srv;
	b.state_dir = state_dir;
	b.drain_max = DRAIN_MAX;
	b.base = base;
	b.ntasks = ntasks > 0 ? (uint64_t)ntasks : 0;
	b.run_mode = o->run_file || o->bench_array;
	b.expect_workers = o->expect_workers;
	b.local_worker = o->local_worker;
	b.launcher = o->launcher;
	b.plan = plan;
	b.t_start = o->t_start;
	b.progress = b.run_mode && isatty(STDERR_FILENO);
	/* a batch job's output file shows how far it got */
	b.plain_progress = b.run_mode && !b.progress && !o->bench_rss &&
		o->progress_interval > 0;
	b.check_ev = event_new(base, -1, 0, check_cb, &b);
	b.term_ev = evsignal_new(base, SIGTERM, signal_cb, &b);
	b.int_ev = evsignal_new(base, SIGINT, signal_cb, &b);
	struct event *poll_ev = event_new(base, -1, EV_PERSIST, check_cb, &b);
	if (b.progress || b.plain_progress)
		b.progress_ev = event_new(base, -1, EV_PERSIST, progress_cb, &b);
	if (!b.check_ev || !b.term_ev || !b.int_ev || !poll_ev) {
		log_msg(LOG_ERR, "cannot set up the scheduler's loop");
		rc = 1;
		goto out;
	}
	events_subscribe(server_events(srv), &batch_ops, &b);
	event_add(b.term_ev, NULL);
	event_add(b.int_ev, NULL);
	struct timeval tv = { 0, 100000 };
	event_add(poll_ev, &tv);
	if (b.progress_ev) {
		struct timeval pt = { 0, 500000 };
		if (b.plain_progress) {
			double iv = o->progress_interval;
			pt.tv_sec = (time_t)iv;
			pt.tv_usec = (suseconds_t)((iv - (double)pt.tv_sec) * 1e6);
		}
		event_add(b.progress_ev, &pt);
	}
	server_kick(srv);
	event_active(b.check_ev, EV_TIMEOUT, 0);
	event_base_dispatch(base);
	if (b.local_worker)
		waitpid(b.local_worker, NULL, 0);
	if (b.run_mode) {
		struct sched_counts sc;
		print_summary(&b, o->bench_array != 0);
		sched_counts(server_sched(srv), &sc);
		if (sc.state[TASK_FAILED] || sc.state[TASK_CANCELLED] || !b.idle)
			rc = 1;
	}
out:
	events_unsubscribe(server_events(srv), &batch_ops, &b);
	if (poll_ev)
		event_free(poll_ev);
	if (b.check_ev)
		event_free(b.check_ev);
	if (b.progress_ev)
		event_free(b.progress_ev);
	if (b.term_ev)
		event_free(b.term_ev);
	if (b.int_ev)
		event_free(b.int_ev);
	return rc;
}

/* --- public --------------------------------------------------------------- */

struct run *run_create(const struct run_opts *o)
{
	struct run *r = calloc(1, sizeof(*r));

	if (r)
		r->o = *o;
	return r;
}

void run_destroy(struct run *r)
{
	if (!r)
		return;
	server_destroy(r->srv);
	if (r->base)
		event_base_free(r->base);
	free(r->state_dir);
	taskplan_destroy(r->plan);
	free(r);
}

int run_start(struct run *r, const struct config *cfg, const char *state_dir)
{
	const struct run_opts *o = &r->o;

	/* A worker or an HTTP client that goes away while an answer is
	 * being written is a lost connection, not the end of the scheduler
	 * (what it starts gets every signal's default back: see
	 * backend_spawnattr_group). */
	signal(SIGPIPE, SIG_IGN);
	/* a file size limit (ulimit -f) makes a write fail, not the end */
	signal(SIGXFSZ, SIG_IGN);
	r->state_dir = state_dir ? strdup(state_dir) : NULL;
	r->base = event_base_new();
	if (!r->base) {
		log_msg(LOG_ERR, "cannot create an event loop");
		return 1;
	}
	r->srv = start_server(o, cfg, r->base, state_dir);
	if (!r->srv)
		return 1;
	if (o->run_file || o->bench_array) {
		r->ntasks = submit_batch(o, cfg, server_sched(r->srv), &r->plan);
		if (r->ntasks < 0)
			return 2;
	} else if (o->name && state_dir && !o->bench_rss) {
		start_pool(o, cfg, r->base, r->srv, state_dir);
	}
	return 0;
}

const char *run_address(const struct run *r)
{
	return r->srv ? server_address(r->srv) : "";
}

void run_set_local_worker(struct run *r, int pid)
{
	r->o.local_worker = pid;
}

int run_loop(struct run *r)
{
	return run_scheduler(&r->o, r->base, r->srv, r->ntasks, r->state_dir,
			     r->plan);
}
