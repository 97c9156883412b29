/*
 * cluster-rank: the MPI entry point, the only program linked with MPI
 * (and PMIx).
 *
 * The launcher is only the bootstrap: rank, size, the node-local rank
 * for binding and, in a head job, the scheduler's address from rank 0,
 * over the launcher's PMIx server where it has one, else over MPI.  The
 * data path is the worker protocol over TCP.
 *
 *	head job:     rank 0 runs the scheduler (run.h), ranks 1..N-1 a
 *	              nanny each (nanny.h) whose worker connects to rank 0
 *	--run FILE:   the same, and rank 0 submits FILE's lines, waits for
 *	              them, shuts the workers down and prints a summary
 *	--worker-only every rank is a nanny; the scheduler's address comes
 *	              from the state directory, waited for up to
 *	              worker.death-timeout (a worker job may start before
 *	              its head job); no MPI at all when the launcher's
 *	              environment says where the rank is (boot.h)
 *
 * Every PMIx and MPI call is made by one thread (boot.c), which
 * finalizes as soon as the address has gone round.
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

#include <hwloc.h>

#include "config/config.h"
#include "rank/boot.h"
#include "server/run.h"
#include "util/log.h"
#include "state/state.h"
#include "task/fields.h"
#include "util/strbuf.h"
#include "util/sysmem.h"
#include "util/units.h"
#include "worker/gpus.h"
#include "worker/nanny.h"
#include "util/clock.h"
#include "util/paths.h"

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
	const char *gpus;		/* per worker, "auto" or N; NULL:
					   worker.gpus */
	uint64_t time_limit;		/* per task, --run */
	uint64_t task_memory;
	unsigned task_cores;
	long retries;			/* -1: task.retries */
	double progress_interval;	/* s, --run on a non-terminal */
	int verbose;
	/* benchmarks only */
	int bench_noop;
	uint64_t bench_array;
	int bench_rss;
};


/* Seconds a rank's end waits for MPI_Finalize (boot.h), which ran
 * long before unless a rank died during the bootstrap: then Open MPI
 * 4.1 with orte_enable_recovery can leave the survivors in it for good,
 * which would hold the batch job until its walltime.  Shorter when the
 * scheduler is known to be gone. */
#define FINALIZE_LIMIT 10
#define FINALIZE_LIMIT_ANY 30
static unsigned finalize_limit = FINALIZE_LIMIT_ANY;

/* The process that started this rank, watched by the scheduler's loop
 * and the nanny (boot_launcher); 0: none. */
static int launcher;

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
		/* MPI's progress threads, and the one all MPI calls
		 * come from (boot.c), which allocates nothing itself */
		"leak:start_thread\n";
}
#endif

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: cluster-rank [--name NAME] [--profile NAME] [--config FILE]\n"
		"                    [--set KEY=VALUE]... [--worker-only] [--run FILE]\n"
		"                    [--no-bind] [--cores N] [--memory SIZE] [--gpus N]\n"
		"                    [--time-limit DURATION] [--task-memory SIZE]\n"
		"                    [--task-cores N] [--retries N]\n"
		"                    [--progress-interval DURATION] [-v] [--version]\n"
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
		{ "gpus", required_argument, NULL, 'G' },
		{ "time-limit", required_argument, NULL, 'T' },
		{ "task-memory", required_argument, NULL, 'M' },
		{ "task-cores", required_argument, NULL, 'K' },
		{ "retries", required_argument, NULL, 'R' },
		{ "progress-interval", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
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
	o->progress_interval = 30;
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
		case 'G': o->gpus = optarg; break;
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
		case 'P':
			if (duration_parse(optarg, &u, &err) < 0) {
				fprintf(stderr, "cluster-rank: --progress-interval: "
					"%s\n", err.text);
				return -1;
			}
			o->progress_interval = (double)u;
			break;
		case 'v': o->verbose++; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("cluster-rank %s\n", CLUSTER_VERSION); exit(0);
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
	unsigned index, nworkers;	/* this worker rank among the node's */
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

/* hwloc's plugins, which hwloc_topology_init loads whatever the filters
 * say: GPUs through OpenGL (which tries ten X displays), OpenCL, PCI,
 * XML.  A rank reads cores and PUs only, which hwloc's own Linux
 * discovery finds; the plugins and the libraries they pull in cost a
 * rank 5-20 ms before that. */
#define HWLOC_UNUSED_PLUGINS "hwloc_gl,hwloc_opencl,hwloc_cuda,hwloc_nvml," \
	"hwloc_rsmi,hwloc_levelzero,hwloc_pci,hwloc_xml_libxml"

static int topology_init(hwloc_topology_t *topo)
{
	static const char name[] = "HWLOC_PLUGINS_BLACKLIST";
	int set = !getenv(name) &&
		setenv(name, HWLOC_UNUSED_PLUGINS, 0) == 0;
	int rc = hwloc_topology_init(topo);

	/* read at init only; not for the worker and its tasks */
	if (set)
		unsetenv(name);
	return rc;
}

/* A rank needs its node's cores and PUs, nothing else: caches, groups,
 * packages and I/O devices are not read (each cache is a few files per
 * CPU under /sys, on nodes of hundreds of CPUs). */
static int topology_cores_only(hwloc_topology_t topo)
{
	if (hwloc_topology_set_all_types_filter(topo,
						HWLOC_TYPE_FILTER_KEEP_NONE) < 0 ||
	    hwloc_topology_set_type_filter(topo, HWLOC_OBJ_CORE,
					   HWLOC_TYPE_FILTER_KEEP_ALL) < 0)
		return -1;
	return 0;
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
	sh->index = (unsigned)index;
	sh->nworkers = (unsigned)nworkers;
	if (topology_init(&topo) < 0 || topology_cores_only(topo) < 0 ||
	    hwloc_topology_load(topo) < 0) {
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

/* The worker's name: host and rank, with the batch job between them when
 * the job script said which (CLUSTER_JOB_ID, and CLUSTER_JOB_INDEX for an
 * array element, as squeue writes it: JOBID_INDEX), so `cluster workers`
 * tells the jobs apart: "node3:4242:rank1", "node3:4242_7:rank1". */
static void worker_name(struct strbuf *sb, const char *host, int rank)
{
	const char *job = getenv("CLUSTER_JOB_ID");
	const char *index = getenv("CLUSTER_JOB_INDEX");

	strbuf_addf(sb, "%s:", host);
	if (job && *job) {
		strbuf_addstr(sb, job);
		if (index && *index && *index != '-')
			strbuf_addf(sb, "_%s", index);
		strbuf_addch(sb, ':');
	}
	strbuf_addf(sb, "rank%d", rank);
}

/* The worker's GPUs: its share of the node's, named to it (and so to
 * its tasks) in CUDA_VISIBLE_DEVICES; *count gets how many. */
static int gpu_share(const struct rank_opts *o, const struct config *cfg,
		     const struct share *sh, char *count, size_t size)
{
	const char *want = o->gpus ? o->gpus : config_get_str(cfg, "worker.gpus");
	struct strbuf list = STRBUF_INIT;
	struct err err = { "" };
	struct gpus g;

	if (gpus_share(&g, want, sh->index, sh->nworkers,
		       o->gpus ? "--gpus" : "worker.gpus", &err) < 0) {
		log_msg(LOG_ERR, "%s", err.text);
		return -1;
	}
	snprintf(count, size, "%u", g.n);
	gpus_list(&g, ~(uint64_t)0, &list);
	if (g.n || getenv("CUDA_VISIBLE_DEVICES"))
		setenv("CUDA_VISIBLE_DEVICES", list.buf, 1);
	if (g.n)
		log_msg(LOG_DEBUG, "GPUs %s", list.buf);
	strbuf_release(&list);
	gpus_release(&g);
	return 0;
}

static int run_nanny(const struct rank_opts *o, const struct config *cfg,
		     const char *connect, int rank, const struct share *sh)
{
	struct strbuf prog = STRBUF_INIT, wname = STRBUF_INIT;
	char host[256], cores[32], memory[32], gpus[32];
	const char *argv[64 + 2 * 256];
	unsigned n = 0;
	int rc;

	if (gpu_share(o, cfg, sh, gpus, sizeof(gpus)) < 0)
		return 2;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	strbuf_addf(&prog, "%s/cluster", paths_bindir());
	worker_name(&wname, host, rank);
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
	argv[n++] = "--gpus";
	argv[n++] = gpus;
	if (o->bench_noop)
		argv[n++] = "--bench-noop";
	argv[n] = NULL;

	struct nanny_opts no = {
		.program = prog.buf,
		.argv = (char *const *)argv,
		.name = wname.buf,
		.max_restarts = (unsigned)config_get_num(cfg, "worker.max-restarts"),
		.launcher = launcher,
	};
	rc = nanny_run(&no);
	strbuf_release(&prog);
	strbuf_release(&wname);
	return rc;
}

/* A batch of one rank (no mpirun, or -np 1) has no worker rank: rank 0
 * starts a nanny of its own in a child process, its worker as wide as
 * the node, so the tasks run rather than wait for workers that never
 * come.  The child touches no MPI state and ends with _exit.  Returns
 * its pid, or -1. */
static pid_t local_worker(const struct rank_opts *o, const struct config *cfg,
			  const char *addr)
{
	struct share sh;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		log_msg(LOG_ERR, "cannot start a worker: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		launcher = (int)getppid();	/* the scheduler's rank */
		node_share(o, 0, 1, 0, &sh);
		log_msg(LOG_INFO, "one rank: rank 0 runs the tasks itself, %u at "
			"once", o->cores ? o->cores : sh.cores);
		_exit(run_nanny(o, cfg, addr, 0, &sh));
	}
	return pid;
}

/* --- the ladder ----------------------------------------------------------- */

/* A batch job's verdict goes to the state directory, where its job
 * script reads it (state.h): Open MPI 4.1 with orte_enable_recovery
 * exits 0 whatever the ranks' statuses, and without it a non-zero
 * status costs two abort banners and seconds of teardown.  Once it is
 * recorded every rank ends with 0, so mpirun takes its normal path.
 * Outside a job script ($CLUSTER_JOB_ID unset) the status stays the
 * rank's own.  Returns 0 when recorded. */
static int record_verdict(const struct rank_opts *o, const char *dir,
			  int status)
{
	const char *job = getenv("CLUSTER_JOB_ID");
	struct err err = { "" };

	if ((!o->run_file && !o->bench_array) || !job || !*job || !*dir)
		return -1;
	if (state_verdict_write(dir, job, status, &err) < 0) {
		log_msg(LOG_WARNING, "%s", err.text);
		return -1;
	}
	return 0;
}

/* The scheduler of rank 0, started (before MPI is, when the launcher
 * says which rank this is) and not yet announced. */
struct scheduler {
	struct strbuf dir;
	struct run *run;
	int rc;				/* run_start's, or 1, 2 */
	int size;			/* the job's ranks it expects */
	char addr[BOOT_ADDR_LEN];	/* "" when it did not start */
};

static void scheduler_start(const struct rank_opts *o,
			    const struct config *cfg, const struct boot *b,
			    struct scheduler *s)
{
	struct err err = { "" };

	strbuf_init(&s->dir, 0);
	s->run = NULL;
	s->size = b->size;
	memset(s->addr, 0, sizeof(s->addr));
	if (state_dir(o->name, 1, &s->dir, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.text);
		s->rc = 2;
		return;
	}
	struct run_opts ro = {
		.name = o->name,
		.config_file = o->config_file,
		.sets = o->sets,
		.run_file = o->run_file,
		.bench_array = o->bench_array,
		.bench_rss = o->bench_rss,
		.task_cores = o->task_cores,
		.task_memory = o->task_memory,
		.time_limit = o->time_limit,
		.retries = o->retries,
		.progress_interval = o->progress_interval,
		/* one rank starts a worker of its own (local_worker) */
		.expect_workers = b->size > 1 ? (unsigned)b->size - 1 :
			o->run_file || o->bench_array ? 1 : 0,
		/* the batch's wall time counts from its submission */
		.t_start = clock_monotonic(),
		.launcher = launcher,
	};
	s->run = run_create(&ro);
	if (!s->run) {
		log_msg(LOG_ERR, "out of memory");
		s->rc = 1;
		return;
	}
	s->rc = run_start(s->run, cfg, s->dir.buf);
	if (s->rc == 0 && !o->bench_rss)
		snprintf(s->addr, sizeof(s->addr), "%s", run_address(s->run));
}

static void scheduler_release(struct scheduler *s)
{
	run_destroy(s->run);
	s->run = NULL;
	strbuf_release(&s->dir);
}

/* Rank 0 of a head job: the scheduler `s` started, announced, run.
 * Returns the rank's exit status. */
static int scheduler_rank(const struct rank_opts *o, const struct config *cfg,
			  const struct boot *b, struct scheduler *s)
{
	struct run *run = s->run;
	const char *dir = s->dir.buf;
	char *addr = s->addr;
	int rc = s->rc, rc0;

	rc0 = rc;
	if (rc && !addr[0] && record_verdict(o, dir, rc) == 0)
		rc = rc0 = 0;
	boot_address(&rc0, addr);
	if (addr[0] && b->size == 1 && (o->run_file || o->bench_array)) {
		pid_t pid = local_worker(o, cfg, addr);
		if (pid > 0)
			run_set_local_worker(run, (int)pid);
	}
	if (addr[0]) {
		rc = run_loop(run);
		if (record_verdict(o, dir, rc) == 0)
			rc = 0;
	}
	scheduler_release(s);
	return rc;
}

static double death_timeout(const struct config *cfg)
{
	double t = (double)config_get_num(cfg, "worker.death-timeout");

	return t > 0 ? t : 60.0;
}

/* A worker job's exit status when no scheduler answered it within
 * worker.death-timeout, so the batch system shows the job failed. */
#define RANK_NO_SCHEDULER 3
#define ADDRESS_POLL_S 1.0

/* A worker job started before its head job finds no address file yet (or
 * one a scheduler on this machine left when it died): look again every
 * second, up to worker.death-timeout.  0 once there is one. */
static int wait_for_address(const char *dir, double timeout, int rank)
{
	double t0 = clock_monotonic();
	int said = 0;

	for (;;) {
		struct state_address a;

		if (state_address_read(dir, &a, NULL) == 0 &&
		    !state_address_stale(&a))
			return 0;
		double waited = clock_monotonic() - t0;
		if (waited >= timeout)
			break;
		if (!said && rank == 0) {
			log_msg(LOG_INFO, "no scheduler address in '%s' yet; waiting "
				"up to %.0f s (worker.death-timeout) for the head job",
				dir, timeout);
			said = 1;
		}
		double nap = timeout - waited < ADDRESS_POLL_S ?
			timeout - waited : ADDRESS_POLL_S;
		struct timespec ts = { (time_t)nap,
				       (long)((nap - (time_t)nap) * 1e9) };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	log_msg(LOG_ERR, "rank %d: no scheduler address in '%s/address' after "
		"%.0f s (worker.death-timeout); is the head job running? "
		"giving up", rank, dir, timeout);
	return -1;
}

/* A worker job's rank whose worker kept crashing (worker.max-restarts)
 * or could not start. */
#define RANK_WORKER_GAVE_UP 4

/* A rank of a worker job that gives up records why in the state
 * directory, as verdict.JOB.rankR (JOB_I.rankR for element I of an
 * array), where its job script reads it (launch.c), and then ends with 0:
 * Open MPI 4.1 with orte_enable_recovery exits 0 whatever its ranks'
 * statuses, and without it one non-zero status ends every rank, with
 * abort banners.  Outside a job script ($CLUSTER_JOB_ID unset), or when
 * it cannot be recorded, the status stays the rank's own. */
static int worker_verdict(const struct rank_opts *o, int rank, int status)
{
	const char *job = getenv("CLUSTER_JOB_ID");
	const char *index = getenv("CLUSTER_JOB_INDEX");
	struct strbuf dir = STRBUF_INIT, name = STRBUF_INIT;
	struct err err = { "" };
	int rc = status;

	if (!status || !job || !*job)
		return status;
	strbuf_addstr(&name, job);
	if (index && *index && strcmp(index, "-1"))
		strbuf_addf(&name, "_%s", index);
	strbuf_addf(&name, STATE_RANK_VERDICT_INFIX "%d", rank);
	if (state_dir(o->name, 0, &dir, &err) < 0 ||
	    state_verdict_write(dir.buf, name.buf, status, &err) < 0)
		log_msg(LOG_WARNING, "%s", err.text);
	else
		rc = 0;
	strbuf_release(&name);
	strbuf_release(&dir);
	return rc;
}

/* Seconds a stopped worker rank of a head job waits for its scheduler
 * to end, and how often it looks. */
#define SCHEDULER_END_WAIT 2.0
#define SCHEDULER_END_POLL 0.01

/* A stopped launcher (mpirun sent SIGTERM) kills every rank that is left
 * as soon as one rank ends: Open MPI 4.1 sleeps a second between its
 * SIGTERM and its SIGKILL, and a rank's end cuts that sleep short.  The
 * worker ranks end first, the moment their workers have left, so they
 * wait for the scheduler rank to end in order (it removes the address
 * file it wrote at `addr`, after it stopped its pool), up to
 * SCHEDULER_END_WAIT: the scheduler's rank keeps the second it had when
 * MPI_Finalize held every rank at the end. */
static void await_scheduler_end(const struct rank_opts *o, const char *addr)
{
	struct strbuf dir = STRBUF_INIT, mine = STRBUF_INIT;
	double t0 = clock_monotonic();

	if (state_dir(o->name, 0, &dir, NULL) < 0)
		goto out;
	for (;;) {
		struct state_address a;
		if (state_address_read(dir.buf, &a, NULL) < 0)
			break;
		strbuf_reset(&mine);
		strbuf_addf(&mine, "%s:%u", a.host, (unsigned)a.port);
		if (strcmp(mine.buf, addr) || state_address_stale(&a) ||
		    clock_monotonic() - t0 > SCHEDULER_END_WAIT)
			break;
		struct timespec ts = { 0, (long)(SCHEDULER_END_POLL * 1e9) };
		nanosleep(&ts, NULL);
	}
out:
	strbuf_release(&dir);
	strbuf_release(&mine);
}

/* Any other rank: a nanny keeping a worker alive.  Returns the rank's
 * exit status. */
static int worker_rank(const struct rank_opts *o, const struct config *cfg,
		       const struct boot *b)
{
	int head = !o->worker_only;
	char addr[BOOT_ADDR_LEN];

	memset(addr, 0, sizeof(addr));
	if (head) {
		/* Worker ranks of a head job wait for rank 0 to create the
		 * state directory; their workers read the token from it. */
		int rc0 = 0;
		boot_address(&rc0, addr);
		if (!addr[0]) {
			/* Every rank ends with rank 0's status, so the job's
			 * exit status is the same whichever rank mpirun picks. */
			if (rc0)
				log_msg(LOG_DEBUG, "the scheduler rank did not start; "
					"ending");
			return rc0;
		}
	} else {
		struct strbuf dir = STRBUF_INIT;
		struct err err = { "" };
		int bad, gave_up = 0;

		/* a worker job's ranks want nothing more from the launcher */
		boot_release();
		bad = state_dir(o->name, 0, &dir, &err) < 0;

		if (bad)
			log_msg(LOG_ERR, "%s", err.text);
		else
			gave_up = wait_for_address(dir.buf, death_timeout(cfg),
						   b->rank) < 0;
		strbuf_release(&dir);
		if (bad)
			return 2;
		if (gave_up)
			return worker_verdict(o, b->rank, RANK_NO_SCHEDULER);
	}

	struct share sh;
	node_share(o, b->local_rank, b->local_size, head && b->sched_here, &sh);
	int nrc = run_nanny(o, cfg, head ? addr : NULL, b->rank, &sh);
	/* A worker rank ends in order even when its nanny gave up: a
	 * non-zero status would make mpirun end every rank. */
	if (nrc == NANNY_GAVE_UP) {
		log_msg(LOG_ERR, "rank %d has no worker any more", b->rank);
		/* a worker job's script still fails */
		if (!head)
			(void)worker_verdict(o, b->rank, RANK_WORKER_GAVE_UP);
		return 0;
	}
	/* The scheduler of this job may have been killed: then MPI_Finalize
	 * can wait for it forever (seen with Open MPI 4.1 and
	 * orte_enable_recovery). */
	if (nrc == NANNY_GONE && head)
		finalize_limit = FINALIZE_LIMIT;
	if (nrc == NANNY_STOPPED && head)
		await_scheduler_end(o, addr);
	/* A worker job whose worker never reached a scheduler failed: the
	 * same status on every rank, as they give up alike. */
	if (nrc == NANNY_NEVER && !head) {
		log_msg(LOG_ERR, "rank %d: no scheduler answered within "
			"worker.death-timeout; giving up", b->rank);
		return worker_verdict(o, b->rank, RANK_NO_SCHEDULER);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rank_opts o = { 0 };
	struct config *cfg = NULL;
	struct scheduler sched = { .run = NULL };
	struct boot b, env;
	char ident[64];
	int rc, have_env, mpi, started = 0;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);	/* past ulimit -f: a failed write */
	launcher = boot_launcher();
	if (parse_args(argc, argv, &o) < 0) {
		rc = 2;
		goto finalize;
	}
	have_env = boot_from_env(&env) == 0;
	/* The ranks of a worker job need nothing from each other: where the
	 * launcher says they are spares them MPI_Init, about 0.1 s. */
	mpi = !o.worker_only || !have_env;
	if (mpi)
		boot_begin();
	if (!have_env)
		boot_wait(&b);
	else if (!mpi)
		b = env;
	snprintf(ident, sizeof(ident), "cluster-rank[%d]",
		 have_env ? env.rank : b.rank);
	log_setup(ident, o.verbose);
	cfg = load_config(&o);
	if (!cfg) {
		rc = 2;
		if (mpi && have_env)
			boot_wait(&b);
		goto finalize;
	}
	/* Rank 0 starts its scheduler while MPI starts. */
	if (!o.worker_only && have_env && env.rank == 0) {
		scheduler_start(&o, cfg, &env, &sched);
		started = 1;
	}
	if (mpi && have_env)
		boot_wait(&b);
	log_msg(LOG_DEBUG, "rank %d of %d, %d of %d on this node, from %s",
		b.rank, b.size, b.local_rank, b.local_size, b.via);
	if (started && (b.rank != 0 || b.size != sched.size)) {
		log_msg(LOG_WARNING, "the launcher's environment said rank 0 of "
			"%d, %s says rank %d of %d", sched.size, b.via, b.rank,
			b.size);
		scheduler_release(&sched);
		started = 0;
	}
	if (!o.worker_only && b.rank == 0) {
		if (!started)
			scheduler_start(&o, cfg, &b, &sched);
		rc = scheduler_rank(&o, cfg, &b, &sched);
	} else {
		rc = worker_rank(&o, cfg, &b);
	}
finalize:
	config_destroy(cfg);
	free(o.sets);
	return boot_end(rc, finalize_limit);
}
