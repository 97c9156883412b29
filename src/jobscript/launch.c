/*
 * The launch line of a job script: the MPI launcher (or srun) with the
 * profile's arguments, the rank count and placement each launcher needs,
 * its way of keeping the job alive when one rank dies, and cluster-rank
 * with everything the ranks must know to see the job as it was rendered.
 *
 * Launchers differ in how they place ranks.  Open MPI's mpirun follows
 * the batch system's node list, which has a slot per rank on PBS Pro (the
 * select line's mpiprocs) and Slurm, but a slot per core on Torque; PALS
 * fills a node's cores before the next node's unless given --ppn; srun
 * follows its own step options.  A head job's first node runs one rank
 * more, the scheduler, wherever the launcher can say so.
 */
#include "jobscript/launch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "state/state.h"

/* A launcher argument in double quotes: only a plain $NAME or ${NAME}
 * expands (on the compute node, e.g. $PBS_NODEFILE); every other $, `, "
 * and \ is escaped, so no command substitution can run. */
static void add_launch_arg(struct strbuf *sb, const char *s)
{
	strbuf_addch(sb, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '$') {
			const char *q = p + 1;
			int braced = *q == '{';
			if (braced)
				q++;
			const char *name = q;
			if (*q == '_' || (*q >= 'A' && *q <= 'Z') ||
			    (*q >= 'a' && *q <= 'z')) {
				while (*q == '_' || (*q >= 'A' && *q <= 'Z') ||
				       (*q >= 'a' && *q <= 'z') ||
				       (*q >= '0' && *q <= '9'))
					q++;
			}
			if (q > name && (!braced || *q == '}')) {
				if (braced)
					q++;
				strbuf_add(sb, p, (size_t)(q - p));
				p = q - 1;
				continue;
			}
			strbuf_addstr(sb, "\\$");
		} else if (*p == '"' || *p == '\\' || *p == '`') {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, *p);
		} else {
			strbuf_addch(sb, *p);
		}
	}
	strbuf_addch(sb, '"');
}

static int absolute_batch_file(const char *file, struct strbuf *out,
			       struct err *err)
{
	if (file[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		if (!cwd)
			return errprintf(err, "cannot resolve tasks file '%s': %s",
					 file, strerror(errno));
		strbuf_addf(out, "%s/", cwd);
		free(cwd);
	}
	strbuf_addstr(out, file);
	return 0;
}

static void rank_option(struct strbuf *sb, const char *opt, const char *value)
{
	strbuf_addf(sb, " %s ", opt);
	strbuf_add_shquoted(sb, value);
}

/* A --set as the ranks should get it: a value that is no list had its
 * $NAME expanded here, where the user's environment is, and goes on
 * expanded, since the job's environment on the compute node need not
 * have the variable.  Anything else goes as given. */
static void expanded_set(const struct config *cfg, const char *set,
			 struct strbuf *out)
{
	const char *eq = strchr(set, '=');
	const struct config_value *v = NULL;
	char key[128];

	if (eq && strchr(eq, '$') && (size_t)(eq - set) < sizeof(key)) {
		memcpy(key, set, (size_t)(eq - set));
		key[eq - set] = '\0';
		v = config_get(cfg, key);
	}
	if (v && v->set && v->key->type != CONFIG_LIST &&
	    !strcmp(v->origin, "--set") && v->text && !strchr(v->text, '$')) {
		strbuf_addf(out, "%s=%s", key, v->text);
		return;
	}
	strbuf_addstr(out, set);
}

/* What the ranks need to see the job as it was rendered: without these a
 * rank would resolve `auto` by its own compute node's name, size its
 * worker from hwloc instead of job.cores/job.memory, and miss every
 * --set (scheduler.host, say) given here. */
static int rank_config(const struct job_launch *l, struct strbuf *out,
		       struct err *err)
{
	const struct job_script_opts *o = l->opts;
	const char *profile = config_profile_name(l->cfg);
	struct strbuf *sb = out;

	if (profile && *profile)
		rank_option(sb, "--profile", profile);
	if (o->config_file) {
		if (o->config_file[0] != '/' || config_has_control(o->config_file))
			return errprintf(err, "the configuration file '%s' is not an "
					 "absolute path", o->config_file);
		rank_option(sb, "--config", o->config_file);
	}
	/* Numbers need no quoting; quoted all the same, like every value. */
	strbuf_addf(sb, " --cores '%u' --memory '%llu'", l->size->threads,
		    (unsigned long long)l->size->worker_memory);
	/* each worker takes its share of the node's CUDA_VISIBLE_DEVICES;
	   one that does not split evenly is split as cores are */
	if (l->size->worker_gpus)
		strbuf_addf(sb, " --gpus '%u'", l->size->worker_gpus);
	else if (l->size->gpus)
		strbuf_addstr(sb, " --gpus 'auto'");
	for (const char *const *s = o->sets; s && *s; s++) {
		struct strbuf set = STRBUF_INIT;
		if (config_has_control(*s))
			return errprintf(err, "--set '%s' contains a control character, "
					 "which a job script cannot pass on", *s);
		expanded_set(l->cfg, *s, &set);
		rank_option(sb, "--set", set.buf);
		strbuf_release(&set);
	}
	return 0;
}

/* launch.command and launch.mpi, checked together.  PALS places ranks
 * by one --ppn for every node, so a head job cannot give its first node
 * one rank more: there the scheduler takes a worker's place instead. */
int job_launch_choose(struct job_launch *l, struct err *err)
{
	const char *cmd = config_get_str(l->cfg, "launch.command");
	const char *mpi = config_get_str(l->cfg, "launch.mpi");

	if (!cmd)
		cmd = "mpirun";
	if (strcmp(cmd, "mpirun") && strcmp(cmd, "mpiexec") && strcmp(cmd, "srun"))
		return errprintf(err, "launch.command = '%s' is not one of mpirun, "
				 "mpiexec, srun", cmd);
	l->command = cmd;
	if (!strcmp(cmd, "srun"))
		l->launcher = JOB_LAUNCH_SRUN;
	else if (mpi && !strcmp(mpi, "pals"))
		l->launcher = JOB_LAUNCH_PALS;
	else
		l->launcher = JOB_LAUNCH_OPENMPI;
	if (l->launcher == JOB_LAUNCH_PALS && strcmp(cmd, "mpiexec"))
		return errprintf(err, "launch.mpi = pals starts ranks with mpiexec, "
				 "not %s; set launch.command to mpiexec", cmd);
	l->sched_slot = l->opts->role != JOB_WORKER &&
			l->launcher != JOB_LAUNCH_PALS;
	if (l->opts->role != JOB_WORKER && l->launcher == JOB_LAUNCH_PALS &&
	    (unsigned long long)l->size->nodes * l->size->processes < 2)
		return errprintf(err, "a head job under PALS runs job.nodes x "
				 "job.processes ranks, the scheduler in a worker's "
				 "place: 1 rank leaves no worker; raise job.processes "
				 "or job.nodes");
	return 0;
}

/* The profile's launcher arguments already say how ranks are placed. */
static int args_place_ranks(char *const *args)
{
	static const char *const opts[] = {
		"-map-by", "--map-by", "-npernode", "--npernode", "-pernode",
		"--pernode", "-ppr", "--ppr", "-rankfile", "--rankfile", NULL,
	};

	for (; args && *args; args++)
		for (const char *const *o = opts; *o; o++) {
			size_t n = strlen(*o);
			if (!strncmp(*args, *o, n) && ((*args)[n] == '\0' ||
						       (*args)[n] == '='))
				return 1;
		}
	return 0;
}

/* One rank that exits must not end the others: a nanny restarts its
 * worker, but a whole rank can still be lost (killed, out of memory).
 * Open MPI 4 (ORTE) calls the switch orte_enable_recovery; 5 (PRRTE)
 * does not know that name, its runtime reads prte_enable_recovery
 * (--prtemca), which 4's mpirun refuses as an unknown option.  Which
 * mpirun a job gets is up to the modules loaded on the compute node, so
 * the script asks the one on PATH. */
static void recovery_probe(const struct job_launch *l, struct strbuf *out)
{
	struct strbuf *sb = out;

	if (l->launcher != JOB_LAUNCH_OPENMPI)
		return;
	strbuf_addstr(sb, "# Open MPI 4 and 5 name the switch that keeps the other "
		      "ranks running differently\n");
	strbuf_addf(sb, "case $(%s --version 2>/dev/null) in\n", l->command);
	strbuf_addstr(sb, "*\"Open MPI) \"[1-4].*) cluster_mca=--mca "
		      "cluster_recovery=orte_enable_recovery ;;\n");
	strbuf_addstr(sb, "*) cluster_mca=--prtemca "
		      "cluster_recovery=prte_enable_recovery ;;\n");
	strbuf_addstr(sb, "esac\n");
}

static void recovery_args(const struct job_launch *l, struct strbuf *out)
{
	struct strbuf *sb = out;

	switch (l->launcher) {
	case JOB_LAUNCH_OPENMPI:
		strbuf_addstr(sb, " \"$cluster_mca\" \"$cluster_recovery\" 1");
		break;
	case JOB_LAUNCH_PALS:
		/* PALS ends the whole job when one rank exits non-zero */
		strbuf_addstr(sb, " --no-abort-on-failure");
		break;
	case JOB_LAUNCH_SRUN:
		/* whatever KillOnBadExit the site set */
		strbuf_addstr(sb, " --kill-on-bad-exit=0");
		break;
	}
}

/* A batch's verdict travels in the state directory (state.h): rank 0
 * writes it, every rank then ends with 0, and the script exits with it
 * whatever the launcher says; a script whose ranks never got that far
 * exits with the launcher's status.  The exit is an EXIT trap so that
 * the epilogue still runs.  The directory is found as cluster-rank
 * finds it, from the job's own environment. */
static void verdict_path(const struct job_launch *l, struct strbuf *out)
{
	strbuf_addstr(out, "cluster_verdict=\"${CLUSTER_HOME:-$HOME/.cluster}\"/");
	strbuf_add_shquoted(out, l->opts->cluster_name);
	strbuf_addstr(out, "/" STATE_VERDICT_PREFIX "\"$CLUSTER_JOB_ID\"\n");
}

static void verdict_before(const struct job_launch *l, struct strbuf *out)
{
	verdict_path(l, out);
	strbuf_addstr(out, "rm -f \"$cluster_verdict\"\n");
}

/* A worker job's ranks cannot leave their verdict in one file: they end
 * alone, on many nodes, and none of them knows how the others ended.  A
 * rank that gives up (no scheduler within worker.death-timeout, or a
 * worker that keeps crashing) records its status as verdict.JOB.rankR
 * (verdict.JOB_INDEX.rankR for an element of an array, whose elements
 * share JOB) and ends with 0; the script exits with the first such
 * status when the launcher's own is 0, and removes the files, which a
 * pool would otherwise leave by the thousand. */
static void rank_verdicts_before(const struct job_launch *l, struct strbuf *out)
{
	verdict_path(l, out);
	strbuf_addstr(out, "if [ \"${CLUSTER_JOB_INDEX:--1}\" != -1 ]; then "
		      "cluster_verdict=\"${cluster_verdict}_$CLUSTER_JOB_INDEX\"; fi\n"
		      "rm -f \"$cluster_verdict\"" STATE_RANK_VERDICT_INFIX "*\n");
}

static void rank_verdicts_after(struct strbuf *out)
{
	strbuf_addstr(out, "cluster_status=$?\n"
		      "# why worker ranks gave up, which the launcher's status may "
		      "not carry\n"
		      "for cluster_f in \"$cluster_verdict\"" STATE_RANK_VERDICT_INFIX
		      "*; do\n"
		      "\tif [ \"$cluster_status\" = 0 ] && [ -s \"$cluster_f\" ]; then "
		      "read -r cluster_status <\"$cluster_f\"; fi\n"
		      "\trm -f \"$cluster_f\"\n"
		      "done\n"
		      "trap 'exit \"$cluster_status\"' EXIT\n");
}

static void verdict_after(struct strbuf *out)
{
	strbuf_addstr(out, "cluster_status=$?\n"
		      "# the batch's verdict, which the launcher's status may not "
		      "carry\n"
		      "if [ -s \"$cluster_verdict\" ]; then "
		      "read -r cluster_status <\"$cluster_verdict\"; fi\n"
		      "trap 'exit \"$cluster_status\"' EXIT\n");
}

int job_launch_build(const struct job_launch *l, struct strbuf *out,
		     struct err *err)
{
	const struct job_script_opts *o = l->opts;
	const char *cmd = l->command;
	char *const *args = config_get_list(l->cfg, "launch.args");
	char *const *args0 = args;
	struct strbuf *sb = out;
	int srun = l->launcher == JOB_LAUNCH_SRUN;
	int recovery = config_get_num(l->cfg, "launch.recovery") != 0;
	unsigned long long ranks;

	if (!o->rank_path || o->rank_path[0] != '/')
		return errprintf(err, "the path of cluster-rank '%s' is not absolute",
				 o->rank_path ? o->rank_path : "");
	if (o->role == JOB_BATCH) {
		if (!o->batch_file || !*o->batch_file)
			return errprintf(err, "a batch job script needs a tasks file");
	} else if (!o->cluster_name || !*o->cluster_name) {
		return errprintf(err, "a job script needs the cluster's name");
	}

	ranks = (unsigned long long)l->size->nodes * l->size->processes;
	if (l->sched_slot)
		ranks++;	/* rank 0 is the scheduler */

	if (o->role == JOB_BATCH)
		verdict_before(l, out);
	else if (o->role == JOB_WORKER)
		rank_verdicts_before(l, out);
	if (recovery)
		recovery_probe(l, out);
	strbuf_addstr(sb, cmd);
	/* launch.extra adds to the profile's launch.args, which a later
	 * layer's list would replace whole. */
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "launch.extra" : "launch.args";
		args = k ? config_get_list(l->cfg, key) : args0;
		for (; args && *args; args++) {
			if (config_has_control(*args))
				return errprintf(err, "%s item '%s' contains a "
						 "control character", key, *args);
			strbuf_addch(sb, ' ');
			add_launch_arg(sb, *args);
		}
	}
	if (recovery)
		recovery_args(l, out);
	/* -n is the MPI standard's spelling, which mpiexec implementations
	 * (Hydra, Cray PALS, Open MPI) all take; mpirun is Open MPI's. */
	strbuf_addf(sb, srun ? " --ntasks=%llu" :
		    !strcmp(cmd, "mpiexec") ? " -n %llu" : " -np %llu", ranks);
	/* Slurm 22.05 to 23.02 do not hand sbatch's --cpus-per-task down to
	 * srun: without it on the srun line each rank gets one CPU, which
	 * pins a multi-core worker to a single CPU where tasks are bound. */
	if (srun)
		strbuf_addf(sb, " --cpus-per-task=%u", l->size->threads);
	/* PALS fills a node's cores before the next node's unless told the
	 * ranks per node (NCAR: mpiexec -n <total> -ppn <per node>). */
	if (l->launcher == JOB_LAUNCH_PALS)
		strbuf_addf(sb, " --ppn %u", l->size->processes);
	/* A backend with a slot for the scheduler (PBS Pro's select line)
	 * needs no oversubscription; elsewhere the scheduler rank shares the
	 * allocation with the workers. */
	/* Torque's $PBS_NODEFILE names each node once per core: mpirun's
	 * default, filling a node's slots before the next node's, would put
	 * every rank of a job of few ranks per node on its first node.
	 * Round robin over the nodes gives each one P ranks, and the first
	 * node of a head job P + 1 with rank 0, the scheduler, among them. */
	if (l->launcher == JOB_LAUNCH_OPENMPI && l->backend->slots_per_core &&
	    !args_place_ranks(args0) &&
	    !args_place_ranks(config_get_list(l->cfg, "launch.extra")))
		strbuf_addstr(sb, " --map-by node");
	if (l->sched_slot && !l->backend->scheduler_slot)
		strbuf_addstr(sb, srun ? " --overcommit" : " --oversubscribe");
	strbuf_addch(sb, ' ');
	strbuf_add_shquoted(sb, o->rank_path);
	switch (o->role) {
	case JOB_HEAD:
		strbuf_addstr(sb, " --name ");
		strbuf_add_shquoted(sb, o->cluster_name);
		break;
	case JOB_WORKER:
		strbuf_addstr(sb, " --worker-only --name ");
		strbuf_add_shquoted(sb, o->cluster_name);
		break;
	case JOB_BATCH: {
		struct strbuf path = STRBUF_INIT;
		if (absolute_batch_file(o->batch_file, &path, err) < 0)
			return -1;
		/* The run's logs and address file go to the state directory
		 * the script's own output paths name. */
		strbuf_addstr(sb, " --name ");
		strbuf_add_shquoted(sb, o->cluster_name);
		strbuf_addstr(sb, " --run ");
		strbuf_add_shquoted(sb, path.buf);
		strbuf_release(&path);
		break;
	}
	}
	if (rank_config(l, out, err) < 0)
		return -1;
	strbuf_addch(sb, '\n');
	if (o->role == JOB_BATCH)
		verdict_after(out);
	else if (o->role == JOB_WORKER)
		rank_verdicts_after(out);
	return 0;
}
