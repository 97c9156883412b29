/*
 * backend local: jobs are process groups on this machine, with no batch
 * system to talk to and so no header directives and no commands.
 *
 * Submit spawns the job script as the leader of a new process group,
 * with the variables a batch system would set (CLUSTER_JOB_NAME,
 * CLUSTER_JOB_INDEX); the leader's pid is the job id and $$ in the
 * script.  Status peeks with waitid(WNOWAIT), so asking twice gives the
 * same answer and the exit status stays until the owner reaps the child;
 * a job that is no child of this process (its starter went away) is read
 * from /proc, where a pid that leads no process group any more is taken
 * as gone: a reused pid seldom leads a group, and one that does was
 * started at another time, which /proc/PID/stat tells (the start time a
 * scheduler records with each job, so that the next one, which did not
 * fork them, can tell its jobs from strangers).
 */
#include "backend/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void local_memory(uint64_t bytes, struct strbuf *out)
{
	backend_memory_mib(bytes, "M", "G", out);
}

static void local_format_ref(const struct job_ref *ref, struct strbuf *out)
{
	strbuf_addstr(out, ref->id);
}

const struct backend backend_local = {
	.name = "local",
	.is_batch = 0,
	.array_index_env = "CLUSTER_JOB_INDEX",
	.memory = local_memory,
	.format_ref = local_format_ref,
};

static int is_job_var(const char *entry)
{
	return !strncmp(entry, "CLUSTER_JOB_NAME=", 17) ||
	       !strncmp(entry, "CLUSTER_JOB_INDEX=", 18);
}

/* What the MPI launcher of the process that submits (a scheduler rank
 * under mpirun) set for its own ranks.  A batch system starts a job
 * without them; left in, the job's mpirun takes itself for a recursive
 * call and refuses to start.  The user's own OMPI_MCA_ settings stay. */
static int is_launcher_var(const char *entry)
{
	static const char *const prefixes[] = {
		"PMIX_", "OMPI_COMM_WORLD_", "OMPI_MCA_orte_", "OMPI_MCA_ess",
		"OMPI_MCA_pmix", "OMPI_MCA_shmem_RUNTIME_QUERY_hint",
		"OMPI_MCA_initial_wdir", "OMPI_COMMAND=", "OMPI_UNIVERSE_SIZE=",
		"OMPI_NUM_APP_CTX=", "OMPI_FIRST_RANKS=", "OMPI_APP_CTX_NUM_PROCS=",
		"OMPI_FILE_LOCATION=",
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(entry, prefixes[i], strlen(prefixes[i])))
			return 1;
	return 0;
}

/* environ without our variables, then ours; pointers into environ and
 * into `own`, which the caller keeps until the spawn. */
static char **job_env(const struct backend_local_job *job, struct strbuf *name,
		      struct strbuf *index)
{
	size_t n = 0, k = 0;
	char **env;

	for (char **e = environ; e && *e; e++)
		n++;
	env = calloc(n + 3, sizeof(char *));
	if (!env)
		return NULL;
	for (char **e = environ; e && *e; e++)
		if (!is_job_var(*e) && !is_launcher_var(*e))
			env[k++] = *e;
	if (job->name) {
		strbuf_addf(name, "CLUSTER_JOB_NAME=%s", job->name);
		env[k++] = name->buf;
	}
	if (job->index >= 0) {
		strbuf_addf(index, "CLUSTER_JOB_INDEX=%ld", job->index);
		env[k++] = index->buf;
	}
	env[k] = NULL;
	return env;
}

int backend_local_submit(const struct backend_local_job *job, pid_t *pid,
			 struct err *err)
{
	struct strbuf name = STRBUF_INIT, index = STRBUF_INIT;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[2];
	char **env;
	int e, rc = -1;

	if (!job->script || !*job->script)
		return errprintf(err, "a local job needs a script");
	env = job_env(job, &name, &index);
	if (!env)
		return errprintf(err, "cannot start local job '%s': %s",
				 job->script, strerror(ENOMEM));
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_init(&fa);
	backend_spawnattr_group(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, job->output ? job->output :
					 "/dev/null", O_WRONLY | O_CREAT | O_APPEND,
					 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	argv[0] = (char *)job->script;
	argv[1] = NULL;
	e = posix_spawn(pid, job->script, &fa, &attr, argv, env);
	if (e) {
		errprintf(err, "cannot start local job '%s': %s", job->script,
			  strerror(e));
		goto out;
	}
	rc = 0;
out:
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(env);
	strbuf_release(&name);
	strbuf_release(&index);
	return rc;
}

int backend_local_cancel(pid_t pid, int sig)
{
	if (pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	return kill(-pid, sig);
}

/* The state letter, process group and start time (clock ticks since
 * boot) of /proc/PID/stat; -1 when gone. */
static int proc_stat(pid_t pid, char *state, pid_t *pgrp,
		     unsigned long long *start)
{
	char path[64], buf[1024];
	FILE *fp;
	char *close;
	int pg;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* "pid (comm) S ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime cutime cstime priority nice threads
	 * itrealvalue starttime ...": comm may hold spaces and ')' */
	close = strrchr(buf, ')');
	if (!close || sscanf(close + 1, " %c %*d %d %*d %*d %*d %*u %*u %*u "
			     "%*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			     state, &pg, start) != 3)
		return -1;
	*pgrp = pg;
	return 0;
}

int backend_local_started(pid_t pid, uint64_t *start)
{
	char state;
	pid_t pgrp;
	unsigned long long t;

	if (pid <= 0 || proc_stat(pid, &state, &pgrp, &t) < 0 || pgrp != pid ||
	    state == 'Z' || state == 'X') {
		errno = ESRCH;
		return -1;
	}
	*start = (uint64_t)t;
	return 0;
}

static void set_raw(struct job_status *st, const char *raw)
{
	backend_copy(st->raw, sizeof(st->raw), raw, strlen(raw));
}

static void ended_by(struct job_status *st, const siginfo_t *si)
{
	st->state = JOB_STATE_ENDED;
	st->has_exit = 1;
	if (si->si_code == CLD_EXITED) {
		set_raw(st, "exited");
		st->exit_status = si->si_status;
		st->end = si->si_status ? JOB_END_FAILED : JOB_END_COMPLETED;
	} else {
		set_raw(st, "killed");
		st->signal = si->si_status;
		st->end = si->si_status == SIGTERM || si->si_status == SIGKILL ?
			  JOB_END_CANCELLED : JOB_END_FAILED;
	}
}

void backend_local_status_of(pid_t pid, uint64_t start, struct job_status *st)
{
	siginfo_t si;
	char state = '?', raw[2];
	pid_t pgrp = 0;
	unsigned long long t = 0;

	memset(st, 0, sizeof(*st));
	snprintf(st->ref.id, sizeof(st->ref.id), "%d", (int)pid);
	st->ref.index = -1;
	memset(&si, 0, sizeof(si));
	if (pid > 0 && waitid(P_PID, (id_t)pid, &si,
			      WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid == pid) {
		ended_by(st, &si);
		return;
	}
	/* running, a child or not; a leader started at another time is
	 * another process that got the pid */
	if (pid <= 0 || proc_stat(pid, &state, &pgrp, &t) < 0 || pgrp != pid ||
	    (start && (uint64_t)t != start)) {
		set_raw(st, "gone");
		st->state = JOB_STATE_ENDED;
		st->end = JOB_END_LOST;
		return;
	}
	raw[0] = state;
	raw[1] = '\0';
	set_raw(st, raw);
	switch (state) {
	case 'T':
	case 't':
		st->state = JOB_STATE_SUSPENDED;
		break;
	case 'Z':
	case 'X':
		/* our child that ended since waitid looked: it says how */
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si,
			   WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
			ended_by(st, &si);
			return;
		}
		/* someone else's child that has ended (a scheduler's job after
		 * that scheduler died): how is its new parent's to know, but
		 * the job script is done, and so is the job */
		st->state = JOB_STATE_ENDED;
		st->end = JOB_END_LOST;
		break;
	default:
		st->state = JOB_STATE_RUNNING;
		break;
	}
}

void backend_local_status(pid_t pid, struct job_status *st)
{
	backend_local_status_of(pid, 0, st);
}

int backend_local_reap(pid_t pid)
{
	int status;
	pid_t r;

	do
		r = waitpid(pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -1;
	return r == pid ? 0 : 1;
}
