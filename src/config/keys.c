/*
 * The one table of configuration keys.  Parsing, validation,
 * `cluster config show` and cluster.yaml(5) all follow it; a test checks
 * the man page against it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backend/backend.h"
#include "config/config.h"
#include "task/fields.h"
#include "task/task.h"

static const char *const locations[] = { "job", "local", NULL };
static const char *const launchers[] = { "mpirun", "mpiexec", "srun", NULL };
static const char *const mpis[] = { "openmpi", "pals", NULL };

#define K(n, t, d, doc) { n, t, d, 0, 0, NULL, doc }
#define KI(n, d, lo, hi, doc) { n, CONFIG_INT, d, lo, hi, NULL, doc }
#define KC(n, d, c, doc) { n, CONFIG_CHOICE, d, 0, 0, c, doc }

const struct config_key config_keys[] = {
	KC("backend", "local", backend_names,
	   "batch system the pool's jobs go to"),

	/* job: one batch job of the pool */
	K("job.name", CONFIG_WORD, "cluster",
	  "job name shown by qstat and squeue; PBS and Torque take at most 230 letters, digits, -, _ and +, starting with a letter"),
	K("job.queue", CONFIG_WORD, NULL,
	  "queue (PBS) or partition (Slurm)"),
	K("job.account", CONFIG_WORD, NULL,
	  "project to charge; unset uses $PBS_ACCOUNT or $SLURM_ACCOUNT when set"),
	K("job.walltime", CONFIG_DURATION, "01:00:00",
	  "time limit of each job"),
	KI("job.nodes", "1", 1, 100000,
	   "nodes per job"),
	KI("job.cores", "1", 1, 100000,
	   "cores per node"),
	K("job.memory", CONFIG_SIZE, "2GiB",
	  "memory per node (GB = 10^9, GiB = 2^30)"),
	K("job.reserved-memory", CONFIG_SIZE, "0",
	  "memory per node kept out of the workers' limits for the scheduler rank, the nannies and the MPI daemons; the job still asks for job.memory"),
	KI("job.processes", NULL, 1, 100000,
	   "worker ranks per node; unset: one per core up to 4 cores, else the smallest divisor of cores at least its square root"),
	KI("job.gpus", "0", 0, 64,
	   "GPUs per node"),
	K("job.gpu-type", CONFIG_WORD, NULL,
	  "GPU model, e.g. a100: gpu_type= in each PBS Pro select chunk, --gres=gpu:TYPE:N for Slurm"),
	K("job.priority", CONFIG_WORD, NULL,
	  "PBS job priority (-l job_priority=), e.g. regular, premium, economy"),
	K("job.priorities", CONFIG_LIST, NULL,
	  "the values of job.priority the site takes; unset: any word"),
	K("job.extra", CONFIG_LIST, NULL,
	  "extra directive arguments, one per item, e.g. \"-l place=scatter\""),
	K("job.skip", CONFIG_LIST, NULL,
	  "generated directives to leave out: any containing one of these strings"),
	K("job.prologue", CONFIG_LIST, NULL,
	  "shell lines run before the launch line, e.g. \"module load openmpi\""),
	K("job.epilogue", CONFIG_LIST, NULL,
	  "shell lines run after the launch line"),
	K("job.shell", CONFIG_STRING, "/bin/bash",
	  "interpreter line of the job script"),
	K("job.template", CONFIG_STRING, NULL,
	  "job script template; relative names are looked up in the jobscripts folder"),
	K("job.log-directory", CONFIG_STRING, NULL,
	  "where batch output files go, made (0700) by job-script when missing; unset: the cluster's state directory"),

	/* launch: how the job starts its ranks */
	KC("launch.command", "mpirun", launchers,
	   "MPI launcher of the job's ranks"),
	KC("launch.mpi", "openmpi", mpis,
	   "whose mpirun or mpiexec launch.command is: openmpi, or pals (HPE Cray PALS mpiexec, as on Derecho); srun needs none"),
	K("launch.recovery", CONFIG_BOOL, "false",
	  "keep the other ranks running when one rank dies, in the launcher's own words: Open MPI's recovery switch as the mpirun found at run time spells it, PALS --no-abort-on-failure, srun --kill-on-bad-exit=0"),
	K("launch.args", CONFIG_LIST, NULL,
	  "launcher arguments, e.g. [\"--hostfile\", \"$PBS_NODEFILE\"]; a later layer's list replaces the profile's"),
	K("launch.extra", CONFIG_LIST, NULL,
	  "launcher arguments added after launch.args, so that a user file adds to the profile's arguments rather than replace them, e.g. [\"--mca\", \"btl\", \"^openib\"]"),

	/* scheduler */
	KC("scheduler.location", "job", locations,
	   "where the scheduler runs: rank 0 of a head job, or a local daemon"),
	K("scheduler.host", CONFIG_WORD, NULL,
	  "address workers connect to; unset: the address of the interface "
	  "that carries the default route"),
	K("scheduler.interface", CONFIG_WORD, NULL,
	  "network interface whose IPv4 address the scheduler advertises "
	  "and listens on, e.g. ib0, hsn0; unset: scheduler.host"),
	K("scheduler.bind", CONFIG_WORD, NULL,
	  "address both ports listen on, e.g. 0.0.0.0 for every interface; "
	  "unset: the advertised address only"),
	KI("scheduler.port", "0", 0, 65535,
	   "worker port; 0 picks a free one"),
	KI("scheduler.http-port", "8787", 0, 65535,
	   "HTTP API and dashboard port (8787, Dask's); when taken, or 0, a free one, which the log, start and status name"),
	K("scheduler.rejoin-grace", CONFIG_DURATION, "30s",
	  "a restarted scheduler waits this long for its workers to claim the tasks that were running before it requeues them; 0: it does not wait"),

	/* dashboard */
	K("dashboard.link", CONFIG_STRING, NULL,
	  "the dashboard's address as start and status print it, from {host}, {port} and environment variables ({USER}, $JUPYTERHUB_SERVICE_PREFIX); unset: http://{host}:{port}/status"),

	/* journal: the scheduler's record of tasks and pool (journal/) */
	K("journal.enabled", CONFIG_BOOL, "true",
	  "keep the journal in the state directory, so a scheduler killed and started again resumes its tasks"),
	K("journal.flush-period", CONFIG_DURATION, "1s",
	  "task starts and ends reach the disk at least this often; a crash can lose at most this much of them"),
	K("journal.max-size", CONFIG_SIZE, "256MiB",
	  "the journal is compacted when it grows past this size"),

	/* worker */
	K("worker.heartbeat", CONFIG_DURATION, "5s",
	  "interval between worker heartbeats with few workers; the scheduler doubles it as often as it takes to keep all heartbeats at most 1000 a second"),
	K("worker.death-timeout", CONFIG_DURATION, "60s",
	  "a worker exits when the scheduler has been gone this long"),
	KI("worker.max-restarts", "5", 0, 1000,
	   "crashes within a minute after which a nanny stops restarting its worker"),
	K("worker.gpus", CONFIG_WORD, "auto",
	  "GPUs each worker offers: auto takes those CUDA_VISIBLE_DEVICES names (else nvidia-smi -L), split between a node's worker ranks; a count N takes N of them, or devices 0..N-1 where nothing names any"),
	KI("worker.prefetch", "1", 0, 1000,
	   "tasks a worker holds beyond those it can start now, so it starts the next one without waiting for the scheduler; up to 64 of tasks seen to run under 1 ms"),

	/* pool: the batch jobs that bring workers (pool/manager.h) */
	K("pool.poll-interval", CONFIG_DURATION, "10s",
	  "interval between polls of the batch system's job states, one status command each"),
	KI("pool.max-queued", "0", 0, 100000,
	   "our jobs waiting in the queue at most; 0: no cap"),
	K("pool.arrays", CONFIG_BOOL, NULL,
	  "submit two or more jobs needed at once as one job array; unset: on for slurm and pbs"),
	KI("pool.max-array-size", "1000", 2, 1000000,
	   "elements per job array at most (the site's limit)"),
	K("pool.drain-margin", CONFIG_DURATION, "5m",
	  "workers take no new tasks this long before their job's walltime ends"),
	K("pool.command-timeout", CONFIG_DURATION, "30s",
	  "a batch command running longer is killed; a submit that timed out may have created its job"),
	K("pool.missing-grace", CONFIG_DURATION, "60s",
	  "a job just submitted may be missing from listings this long before its history is looked up"),
	KI("pool.min-workers", "0", 0, 1000000,
	   "workers the pool keeps at least, in scale and adapt"),
	KI("pool.max-workers", "0", 0, 1000000,
	   "workers the pool grows to at most; 0: no bound"),
	K("pool.idle-timeout", CONFIG_DURATION, "60s",
	  "adapt shrinks the pool only after demand stayed lower this long"),

	/* task defaults: bounds from the task field table (task/fields.h) */
	KI("task.retries", "0", TASK_RETRIES_MIN, TASK_RETRIES_MAX,
	   "times a failed task is run again"),
	KI("task.max-worker-losses", "3", TASK_MAX_WORKER_LOSSES_MIN,
	   TASK_MAX_WORKER_LOSSES_MAX,
	   "workers a task may take down before it is failed"),
	KC("task.output", "worker-log", task_output_names,
	   "where output of a task without --stdout/--stderr goes: worker-log (one log per worker), files (logs/ID.out and ID.err), discard"),
	K("task.output-log-size", CONFIG_SIZE, "1GiB",
	  "a worker log is rotated past this size; a worker keeps two generations"),
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

const unsigned config_nkeys = sizeof(config_keys) / sizeof(config_keys[0]) - 1;

const struct config_key *config_key_find(const char *name)
{
	for (const struct config_key *k = config_keys; k->name; k++)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}
