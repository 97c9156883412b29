/*
 * cluster-rank: the MPI entry point, the only program linked with MPI.
 *
 * MPI is only the bootstrap: rank, size, the node-local rank for binding
 * and, in a head job, the scheduler's address broadcast from rank 0.  The
 * data path is the worker protocol over TCP.
 *
 *	head job:     rank 0 runs the scheduler (server.h), ranks 1..N-1 a
 *	              nanny each (nanny.h) whose worker connects to rank 0
 *	--run FILE:   the same, and rank 0 submits FILE's lines, waits for
 *	              them, shuts the workers down and prints a summary
 *	--worker-only every rank is a nanny; the scheduler's address comes
 *	              from the state directory
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hwloc.h>
#include <mpi.h>

#include "config/config.h"
#include "sched/sched.h"
#include "sched/taskfile.h"
#include "util/log.h"
#include "server/server.h"
#include "state/state.h"
#include "task/fields.h"
#include "util/strbuf.h"
#include "util/sysmem.h"
#include "util/units.h"
#include "worker/nanny.h"
#include "util/clock.h"
#include "util/paths.h"

#define ADDR_LEN 320
#define FAILED_LISTED 20
#define DRAIN_GRACE 5.0		/* s to wait for workers that never joined */
#define DRAIN_MAX 30.0		/* s to wait for workers to leave */

struct rank_opts {
	const char *name;
	const char *run_file;
	const char *profile;
	const char *config_file;
	const char **sets;
	unsigned nsets;
	int worker_only;
	int no_bind;
	unsigned cores;			/* worker cores, 0: from binding */
	uint64_t memory;		/* worker memory, 0: node share */
	uint64_t time_limit;		/* per task, --run */
	uint64_t task_memory;
	unsigned task_cores;
	long retries;			/* -1: task.retries */
	int verbose;
	/* benchmarks only */
	int bench_noop;
	uint64_t bench_array;
	int bench_rss;
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
	int run_mode;			/* --run: end when idle */
	int idle;
	int stopping;
	int progress;			/* stderr is a terminal */
};

/* Seconds MPI_Finalize gets; then the rank ends without it.  Once a
 * rank of the job has died, Open MPI 4.1 with orte_enable_recovery can
 * leave the survivors in MPI_Finalize for good, which would hold the
 * batch job until its walltime.  Shorter when the scheduler is known to
 * be gone. */
#define FINALIZE_LIMIT 10
#define FINALIZE_LIMIT_ANY 30
static unsigned finalize_limit = FINALIZE_LIMIT_ANY;
static volatile sig_atomic_t finalize_rc;

static void on_finalize_alarm(int sig)
{
	(void)sig;
	_exit(finalize_rc);
}

#ifdef __SANITIZE_ADDRESS__
/* Open MPI keeps memory until exit on purpose; report only leaks of our
 * own.  Its components stay loaded (see main) and allocations are traced
 * with the slow unwinder (its libraries lack frame pointers), so their
 * frames have names these patterns can match. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libmpi.so\n"
		"leak:libopen-pal.so\n"
		"leak:libopen-rte.so\n"
		"leak:libpmix.so\n"
		"leak:/mca_\n"
		"leak:/pmix/\n"
		"leak:/openmpi/\n"
		/* MPI's progress threads; this program starts none itself */
		"leak:start_thread\n";
}
#endif

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: cluster-rank [--name NAME] [--profile NAME] [--config FILE]\n"
		"                    [--set KEY=VALUE]... [--worker-only] [--run FILE]\n"
		"                    [--no-bind] [--cores N] [--memory SIZE]\n"
		"                    [--time-limit DURATION] [--task-memory SIZE]\n"
		"                    [--task-cores N] [--retries N] [-v]\n"
		"See cluster-rank(1).\n");
}

static int parse_uint(const char *opt, const char *s, unsigned long max,
		      unsigned long *out)
{
	uint64_t v;

	if (count_parse(s, 0, max, &v) < 0) {
		fprintf(stderr, "cluster-rank: %s wants a number up to %lu, "
			"got '%s'\n", opt, max, s);
		return -1;
	}
	*out = (unsigned long)v;
	return 0;
}

/* A task field's option, bounded by the task field table. */
static int task_option(enum task_field_id id, const char *opt,
		       const char *s, uint64_t *out)
{
	struct err err = { "" };

	if (task_field_parse(task_field(id), opt, s, out, &err) == 0)
		return 0;
	fprintf(stderr, "cluster-rank: %s\n", err.text);
	return -1;
}

static int parse_args(int argc, char **argv, struct rank_opts *o)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "profile", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "worker-only", no_argument, NULL, 'W' },
		{ "run", required_argument, NULL, 'r' },
		{ "no-bind", no_argument, NULL, 'N' },
		{ "cores", required_argument, NULL, 'C' },
		{ "memory", required_argument, NULL, 'm' },
		{ "time-limit", required_argument, NULL, 'T' },
		{ "task-memory", required_argument, NULL, 'M' },
		{ "task-cores", required_argument, NULL, 'K' },
		{ "retries", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "bench-noop", no_argument, NULL, 'B' },
		{ "bench-array", required_argument, NULL, 'A' },
		{ "bench-rss", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = { "" };
	unsigned long v;
	uint64_t u;
	int c;

	o->name = "default";
	o->retries = -1;
	o->task_cores = 1;
	o->sets = calloc((size_t)argc + 1, sizeof(*o->sets));
	if (!o->sets)
		return -1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->name = optarg; break;
		case 'p': o->profile = optarg; break;
		case 'c': o->config_file = optarg; break;
		case 's':
			if (!strchr(optarg, '=')) {
				fprintf(stderr, "cluster-rank: --set wants KEY=VALUE, "
					"got '%s'\n", optarg);
				return -1;
			}
			o->sets[o->nsets++] = optarg;
			break;
		case 'W': o->worker_only = 1; break;
		case 'r': o->run_file = optarg; break;
		case 'N': o->no_bind = 1; break;
		case 'C':
			if (parse_uint("--cores", optarg, 1000000, &v) < 0)
				return -1;
			if (!v) {
				fprintf(stderr, "cluster-rank: --cores must be at "
					"least 1\n");
				return -1;
			}
			o->cores = (unsigned)v;
			break;
		case 'm':
			if (size_parse(optarg, &o->memory, &err) < 0) {
				fprintf(stderr, "cluster-rank: --memory: %s\n", err.text);
				return -1;
			}
			break;
		case 'T':
			if (task_option(TASK_FIELD_TIME_LIMIT, "--time-limit", optarg,
					&o->time_limit) < 0)
				return -1;
			break;
		case 'M':
			if (task_option(TASK_FIELD_MEMORY, "--task-memory", optarg,
					&o->task_memory) < 0)
				return -1;
			break;
		case 'K':
			if (task_option(TASK_FIELD_CORES, "--task-cores", optarg,
					&u) < 0)
				return -1;
			o->task_cores = (unsigned)u;
			break;
		case 'R':
			if (task_option(TASK_FIELD_RETRIES, "--retries", optarg,
					&u) < 0)
				return -1;
			o->retries = (long)u;
			break;
		case 'v': o->verbose++; break;
		case 'h': usage(stdout); exit(0);
		case 'B': o->bench_noop = 1; break;
		case 'A':
			if (parse_uint("--bench-array", optarg, 100000000, &v) < 0)
				return -1;
			o->bench_array = v;
			break;
		case 'S': o->bench_rss = 1; break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cluster-rank: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (o->worker_only && (o->run_file || o->bench_array)) {
		fprintf(stderr, "cluster-rank: --worker-only and --run exclude "
			"each other\n");
		return -1;
	}
	if (o->run_file && o->bench_array) {
		fprintf(stderr, "cluster-rank: --run and --bench-array exclude "
			"each other\n");
		return -1;
	}
	return 0;
}

static struct config *load_config(const struct rank_opts *o)
{
	struct err err = { "" };
	struct config_source src = {
		.config_file = o->config_file,
		.profile = o->profile,
		.sets = o->sets,
		.datadir = paths_profiles_dir(),
	};
	struct config *cfg = config_load(&src, &err);
	if (!cfg)
		log_msg(LOG_ERR, "%s", err.text);
	return cfg;
}

/* --- binding ------------------------------------------------------------- */

struct share {
	unsigned cores;
	uint64_t memory;
};

/* The memory share: what the OS says the node has, capped by the job's
 * cgroup (shared by the node's ranks), split among the node's ranks.
 * Not hwloc's root total_memory: it sums NUMA figures that some virtual
 * machines report far too low. */
static void node_memory(int local_size, struct share *sh)
{
	struct sysmem m;
	struct err err = { "" };

	if (sysmem_read(NULL, &m, &err) < 0) {
		log_msg(LOG_WARNING, "%s", err.text);
		return;
	}
	if (m.limit && m.limit < m.total)
		log_msg(LOG_DEBUG, "node memory %llu bytes, cgroup v%d limit "
			"%llu bytes", (unsigned long long)m.total,
			m.cgroup_version, (unsigned long long)m.limit);
	sh->memory = m.usable / (uint64_t)(local_size > 0 ? local_size : 1);
}

/* This rank's share of its node: the node's cores (or PUs, when there are
 * fewer cores than workers) split among the node's worker ranks, and the
 * node's memory split among its ranks.  Binds unless --no-bind. */
static void node_share(const struct rank_opts *o, int local_rank,
		       int local_size, int sched_on_node, struct share *sh)
{
	hwloc_topology_t topo;
	int nworkers = local_size - (sched_on_node ? 1 : 0);
	int index = local_rank - (sched_on_node ? 1 : 0);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	sh->cores = 1;
	sh->memory = 0;
	if (nworkers < 1 || index < 0)
		nworkers = 1, index = 0;
	if (hwloc_topology_init(&topo) < 0 || hwloc_topology_load(topo) < 0) {
		log_msg(LOG_WARNING, "cannot read the node's topology; "
			"not binding");
		sh->cores = ncpu > nworkers ? (unsigned)(ncpu / nworkers) : 1;
		goto out;
	}
	int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
	hwloc_obj_type_t type = HWLOC_OBJ_CORE;
	if (ncores < nworkers) {
		type = HWLOC_OBJ_PU;
		ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
	}
	if (ncores < 1)
		ncores = 1;
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	unsigned first, count;
	if (ncores >= nworkers) {
		/* Even split; the first (ncores % nworkers) get one more. */
		unsigned per = (unsigned)(ncores / nworkers);
		unsigned extra = (unsigned)(ncores % nworkers);
		first = (unsigned)index * per +
			((unsigned)index < extra ? (unsigned)index : extra);
		count = per + ((unsigned)index < extra ? 1 : 0);
	} else {
		first = (unsigned)(index % ncores);
		count = 1;
	}
	for (unsigned i = first; i < first + count; i++) {
		hwloc_obj_t obj = hwloc_get_obj_by_type(topo, type, i);
		if (obj && obj->cpuset)
			hwloc_bitmap_or(set, set, obj->cpuset);
	}
	sh->cores = count;
	if (!o->no_bind) {
		if (hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) < 0) {
			log_msg(LOG_WARNING, "cannot bind to %s %u-%u: %s",
				type == HWLOC_OBJ_CORE ? "cores" : "PUs", first,
				first + count - 1, strerror(errno));
		} else {
			char *txt = NULL;
			hwloc_bitmap_list_asprintf(&txt, set);
			log_msg(LOG_DEBUG, "bound to cpus %s", txt ? txt : "?");
			free(txt);
		}
	}
	hwloc_bitmap_free(set);
	hwloc_topology_destroy(topo);
out:
	node_memory(local_size, sh);
}

/* --- worker ranks --------------------------------------------------------- */

static int run_nanny(const struct rank_opts *o, const struct config *cfg,
		     const char *connect, int rank, const struct share *sh)
{
	struct strbuf prog = STRBUF_INIT, wname = STRBUF_INIT;
	char host[256], cores[32], memory[32];
	const char *argv[64 + 2 * 256];
	unsigned n = 0;
	int rc;

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	strbuf_addf(&prog, "%s/cluster", paths_bindir());
	strbuf_addf(&wname, "%s:rank%d", host, rank);
	snprintf(cores, sizeof(cores), "%u", o->cores ? o->cores : sh->cores);
	snprintf(memory, sizeof(memory), "%llu",
		 (unsigned long long)(o->memory ? o->memory : sh->memory));

	argv[n++] = prog.buf;
	argv[n++] = "--name";
	argv[n++] = o->name;
	if (o->profile) {
		argv[n++] = "--profile";
		argv[n++] = o->profile;
	}
	if (o->config_file) {
		argv[n++] = "--config";
		argv[n++] = o->config_file;
	}
	for (unsigned i = 0; i < o->nsets && i < 256; i++) {
		argv[n++] = "--set";
		argv[n++] = o->sets[i];
	}
	if (o->verbose)
		argv[n++] = "-v";
	argv[n++] = "worker";
	if (connect) {
		argv[n++] = "--connect";
		argv[n++] = connect;
	}
	argv[n++] = "--name";
	argv[n++] = wname.buf;
	argv[n++] = "--cores";
	argv[n++] = cores;
	argv[n++] = "--memory";
	argv[n++] = memory;
	if (o->bench_noop)
		argv[n++] = "--bench-noop";
	argv[n] = NULL;

	struct nanny_opts no = {
		.program = prog.buf,
		.argv = (char *const *)argv,
		.name = wname.buf,
		.max_restarts = (unsigned)config_get_num(cfg, "worker.max-restarts"),
	};
	rc = nanny_run(&no);
	strbuf_release(&prog);
	strbuf_release(&wname);
	return rc;
}

/* --- the scheduler rank ----------------------------------------------------- */

static void batch_stop(struct batch *b, const char *reason)
{
	if (b->stopping)
		return;
	b->stopping = 1;
	b->t_shutdown = clock_monotonic();
	server_shutdown_workers(b->srv, reason);
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

static void check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct batch *b = arg;
	struct sched *s = server_sched(b->srv);
	double now = clock_monotonic();

	(void)fd;
	(void)what;
	if (b->run_mode && !b->idle && sched_idle(s)) {
		b->idle = 1;
		b->t_idle = now;
		batch_stop(b, "all tasks ended");
	}
	if (!b->stopping)
		return;
	unsigned left = server_nworkers(b->srv);
	int all_seen = server_nworkers_seen(b->srv) >= b->expect_workers;
	if ((left == 0 && (all_seen || now - b->t_shutdown > DRAIN_GRACE)) ||
	    now - b->t_shutdown > DRAIN_MAX) {
		if (left)
			log_msg(LOG_WARNING, "%u workers still connected; "
				"not waiting longer", left);
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
			strbuf_release(&why);
			strbuf_release(&cmd);
			listed++;
		}
	}
	fflush(stdout);
}

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
static long long submit_batch(const struct rank_opts *o,
			      const struct config *cfg, struct sched *s)
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
	if (taskfile_submit_path(s, o->run_file, &spec, &first, &count,
				 &err) < 0) {
		log_msg(LOG_ERR, "%s", err.text);
		return -1;
	}
	log_msg(LOG_INFO, "submitted %llu tasks from '%s'",
		(unsigned long long)count, o->run_file);
	return (long long)count;
}

static struct server *start_server(const struct rank_opts *o,
				   const struct config *cfg,
				   struct event_base *base, const char *dir)
{
	struct err err = { "" };
	const char *host = config_get_str(cfg, "scheduler.host");
	struct server_config sc = {
		.bind = host,
		.advertise = host,
		.port = (uint16_t)config_get_num(cfg, "scheduler.port"),
		.http = 1,
		.http_port = (uint16_t)config_get_num(cfg, "scheduler.http-port"),
		.state_dir = dir,
		.keep_address = o->run_file || o->bench_array,
		.heartbeat_ms =
			(unsigned)(config_get_num(cfg, "worker.heartbeat") * 1000),
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

/* Rank 0 of a head job.  Returns the rank's exit status. */
static int run_scheduler(const struct rank_opts *o, const struct config *cfg,
			 struct event_base *base, struct server *srv,
			 long long ntasks, int nranks, double t_start)
{
	struct batch b = { 0 };
	int rc = 0;

	b.srv = srv;
	b.base = base;
	b.ntasks = ntasks > 0 ? (uint64_t)ntasks : 0;
	b.run_mode = o->run_file || o->bench_array;
	b.expect_workers = nranks > 1 ? (unsigned)nranks - 1 : 0;
	b.t_start = t_start;
	b.progress = b.run_mode && isatty(STDERR_FILENO);
	(void)cfg;
	b.check_ev = event_new(base, -1, 0, check_cb, &b);
	b.term_ev = evsignal_new(base, SIGTERM, signal_cb, &b);
	b.int_ev = evsignal_new(base, SIGINT, signal_cb, &b);
	struct event *poll_ev = event_new(base, -1, EV_PERSIST, check_cb, &b);
	if (b.progress)
		b.progress_ev = event_new(base, -1, EV_PERSIST, progress_cb, &b);
	if (!b.check_ev || !b.term_ev || !b.int_ev || !poll_ev) {
		log_msg(LOG_ERR, "cannot set up the scheduler's loop");
		rc = 1;
		goto out;
	}
	server_on_ended(srv, on_ended, &b);
	event_add(b.term_ev, NULL);
	event_add(b.int_ev, NULL);
	struct timeval tv = { 0, 100000 };
	event_add(poll_ev, &tv);
	if (b.progress_ev) {
		struct timeval pt = { 0, 500000 };
		event_add(b.progress_ev, &pt);
	}
	server_kick(srv);
	event_active(b.check_ev, EV_TIMEOUT, 0);
	event_base_dispatch(base);
	if (b.run_mode) {
		struct sched_counts sc;
		print_summary(&b, o->bench_array != 0);
		sched_counts(server_sched(srv), &sc);
		if (sc.state[TASK_FAILED] || sc.state[TASK_CANCELLED] || !b.idle)
			rc = 1;
	}
out:
	server_on_ended(srv, NULL, NULL);
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

int main(int argc, char **argv)
{
	struct rank_opts o = { 0 };
	struct config *cfg = NULL;
	struct strbuf dir = STRBUF_INIT;
	struct event_base *base = NULL;
	struct server *srv = NULL;
	struct err err = { "" };
	char ident[64], addr[ADDR_LEN];
	int rank = 0, size = 1, local_rank = 0, local_size = 1;
	int rc = 0;
	long long ntasks = 0;
	MPI_Comm local;

#ifdef __SANITIZE_ADDRESS__
	setenv("OMPI_MCA_mca_base_component_disable_dlclose", "1", 0);
	setenv("PMIX_MCA_pmix_mca_base_component_disable_dlclose", "1", 0);
#endif
	MPI_Init(&argc, &argv);
	double t_start = clock_monotonic();
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank,
			    MPI_INFO_NULL, &local);
	MPI_Comm_rank(local, &local_rank);
	MPI_Comm_size(local, &local_size);
	/* Ranks are ordered by world rank on each node, so world rank 0 is
	 * local rank 0 of its node; tell the node whether it is here. */
	int here = rank == 0, sched_here = 0;
	MPI_Allreduce(&here, &sched_here, 1, MPI_INT, MPI_MAX, local);
	MPI_Comm_free(&local);

	snprintf(ident, sizeof(ident), "cluster-rank[%d]", rank);
	log_setup(ident, 0);
	signal(SIGPIPE, SIG_IGN);

	if (parse_args(argc, argv, &o) < 0) {
		rc = 2;
		goto finalize;
	}
	log_setup(ident, o.verbose);
	cfg = load_config(&o);
	if (!cfg) {
		rc = 2;
		goto finalize;
	}
	int head = !o.worker_only;
	int is_sched = head && rank == 0;
	/* Worker ranks of a head job wait for rank 0 to create the state
	 * directory; their workers read the token from it. */
	if ((is_sched || !head) && state_dir(o.name, is_sched, &dir, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.text);
		rc = 2;
		if (head)
			goto bcast;
		goto finalize;
	}

	if (is_sched) {
		base = event_base_new();
		if (!base) {
			log_msg(LOG_ERR, "cannot create an event loop");
			rc = 1;
			goto bcast;
		}
		srv = start_server(&o, cfg, base, dir.buf);
		if (!srv) {
			rc = 1;
			goto bcast;
		}
		if (o.run_file || o.bench_array) {
			ntasks = submit_batch(&o, cfg, server_sched(srv));
			if (ntasks < 0) {
				rc = 2;
				goto bcast;
			}
		}
		if (o.bench_rss)
			goto bcast;
	}
bcast:
	if (head) {
		/* Rank 0 sends the address, or "" when it could not start:
		 * then every rank ends. */
		int rc0 = rc;
		memset(addr, 0, sizeof(addr));
		if (is_sched && srv && rc == 0 && !o.bench_rss)
			snprintf(addr, sizeof(addr), "%s", server_address(srv));
		MPI_Bcast(&rc0, 1, MPI_INT, 0, MPI_COMM_WORLD);
		MPI_Bcast(addr, ADDR_LEN, MPI_CHAR, 0, MPI_COMM_WORLD);
		if (!addr[0]) {
			/* Every rank ends with rank 0's status, so the job's
			 * exit status is the same whichever rank mpirun picks. */
			if (!is_sched && rc0)
				log_msg(LOG_DEBUG, "the scheduler rank did not start; "
					"ending");
			if (!is_sched)
				rc = rc0;
			goto finalize;
		}
	}
	if (is_sched) {
		rc = run_scheduler(&o, cfg, base, srv, ntasks, size, t_start);
	} else {
		struct share sh;
		node_share(&o, local_rank, local_size, head && sched_here, &sh);
		int nrc = run_nanny(&o, cfg, head ? addr : NULL, rank, &sh);
		/* A worker rank ends in order even when its nanny gave up:
		 * a non-zero status would make mpirun end every rank. */
		if (nrc == NANNY_GAVE_UP)
			log_msg(LOG_ERR, "rank %d has no worker any more", rank);
		/* The scheduler of this job may have been killed: then
		 * MPI_Finalize can wait for it forever (seen with Open MPI
		 * 4.1 and orte_enable_recovery). */
		if (nrc == NANNY_GONE && head)
			finalize_limit = FINALIZE_LIMIT;
		rc = 0;
	}
finalize:
	server_destroy(srv);
	if (base)
		event_base_free(base);
	config_destroy(cfg);
	strbuf_release(&dir);
	free(o.sets);
	if (finalize_limit) {
		finalize_rc = rc;
		signal(SIGALRM, on_finalize_alarm);
		alarm(finalize_limit);
	}
	MPI_Finalize();
	alarm(0);
	return rc;
}
