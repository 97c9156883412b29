/*
 * exec: the worker's task executor.
 *
 * Reaping.  Each child gets a pidfd (pidfd_open, Linux >= 5.3) watched for
 * readability on the event loop.  Chosen over a SIGCHLD handler with a
 * waitpid(-1) loop because
 *   - every exit is its own event: nothing depends on coalesced signals
 *     being drained correctly when hundreds of tasks end at once;
 *   - exec only ever waits for its own pids, so it never steals the exit
 *     status of a child another part of the worker started;
 *   - it needs no process-wide signal handler, which only one event_base
 *     may own;
 *   - the leader is still an unreaped zombie when its pidfd fires, so its
 *     process group id cannot have been reused: killing what the task left
 *     behind in its group is safe.
 * On kernels without pidfd_open exec falls back to SIGCHLD and checks its
 * own pids with waitid(WNOWAIT), keeping the last two properties.
 *
 * Cost per task: one posix_spawnp (vfork-style clone), one pidfd, one
 * kill and one wait4; mkdir only when output goes to another directory
 * than the last task's; into the worker log, a pipe per stream, kept by
 * the task slot for its next task when nothing holds it any more (no
 * file is made: see worker/output.h).  Task slots, their events, the
 * spawn attributes and the base environment are made once and reused;
 * /proc is read only for tasks with a memory limit.
 *
 * One file, over the usual size, because one thing needs it: spawning,
 * reaping, time limits and memory sampling all act on the same slot
 * (struct exec_proc) and its events, and a slot's life (spawn, signal,
 * sample, finish, reuse) reads top to bottom here.  Split, each part
 * would need the slot's fields and the others' helpers from a shared
 * header.  The /proc tree walk (read_stat to on_sample) touches the least
 * of it and is the part to move out first if it grows.
 */
#include "worker/exec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "util/strbuf.h"
#include "util/paths.h"
#include "util/procfs.h"
#include "worker/output.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
#define HAVE_SPAWN_CLOSEFROM 1
#endif

extern char **environ;

/* Memory of limited tasks is sampled this often. */
#define SAMPLE_INTERVAL_US 100000
/* File actions kept for pipes of recent descriptor numbers. */
#define FA_PIPES 8
/* A task tree larger than this is not walked further when sampling. */
#define WALK_MAX 4096

struct exec_proc {
	struct exec_proc *next, *prev;	/* running list; free list uses next */
	struct exec *ex;
	task_id_t id;
	pid_t pid;			/* also the process group id */
	int pidfd;			/* -1 in SIGCHLD mode */
	struct event *proc_ev;		/* pidfd readable */
	struct event *timer_ev;		/* time limit, then grace */
	struct timespec start;		/* the child runs */
	double spawn;			/* seconds exec_start took to it */
	uint64_t memory_limit;
	uint64_t peak;			/* bytes, from samples */
	uint64_t sample;		/* bytes, scan in progress */
	int stage;			/* 0 running, 1 TERM sent, 2 KILL sent */
	int sent;			/* last signal sent */
	const char *reason;
	struct output_task out;		/* pipes to the worker log */
};

struct exec {
	struct event_base *base;
	exec_done_fn done;
	void *arg;

	char **base_env;		/* snapshot of environ, owned */
	size_t nbase;
	char *worker_env;		/* "CLUSTER_WORKER=name" or NULL */
	char **envp;			/* reused per spawn */
	size_t envp_alloc;
	char id_env[64];
	char index_env[64];
	struct strbuf gpu_env;		/* "CUDA_VISIBLE_DEVICES=..." */
	struct strbuf rocr_env;		/* "ROCR_VISIBLE_DEVICES=...", for a
					   worker that has the variable */
	int rocr;
	struct strbuf dir;		/* scratch for parent directories */
	struct strbuf made;		/* the last parent directory made or
					 * found, "" when none */

	posix_spawnattr_t attr;		/* the same for every task */
	posix_spawn_file_actions_t fa_default;	/* no files, no cwd */
	struct fa_pipes {		/* streams to pipes of these numbers */
		int out, err;		/* -1: unused */
		char *cwd;		/* NULL: the worker's */
		posix_spawn_file_actions_t fa;
	} fa_pipes[FA_PIPES];
	unsigned fa_next;		/* the entry replaced next */
	int devnull;
	struct output *output;		/* the worker log */

	struct timespec spawn_begin;	/* of the exec_start under way */
	struct exec_proc *running;
	struct exec_proc *free;
	unsigned nrunning;
	unsigned nlimited;		/* running tasks with a memory limit */
	struct event *sample_ev;
	struct event *sigchld_ev;	/* SIGCHLD mode only */
	struct timeval grace;

	int use_pidfd;
	int children_files;		/* /proc/PID/task/TID/children exist */
	pid_t *walk;
	size_t walk_alloc;
	long page_size;

	int depth;			/* inside the done callback */
	int dying;			/* destroyed inside the callback */
};

static void on_proc(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void on_sample(evutil_socket_t fd, short what, void *arg);
static void on_sigchld(evutil_socket_t fd, short what, void *arg);
static int build_actions(const struct exec *ex, posix_spawn_file_actions_t *fa,
			 const char *out, const char *errpath, const int *pipes,
			 const char *cwd);

static int is_cluster_var(const char *entry)
{
	return !strncmp(entry, "CLUSTER_TASK_ID=", 16) ||
	       !strncmp(entry, "CLUSTER_ARRAY_INDEX=", 20) ||
	       !strncmp(entry, "CLUSTER_WORKER=", 15);
}

static int pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

struct exec *exec_create(struct event_base *base, const char *worker_name,
			 exec_done_fn done, void *arg)
{
	struct exec *ex;
	struct sigaction sa;
	sigset_t set;
	size_t n = 0, i;

	if (!base || !done) {
		errno = EINVAL;
		return NULL;
	}
	ex = calloc(1, sizeof(*ex));
	if (!ex)
		return NULL;
	ex->base = base;
	ex->done = done;
	ex->arg = arg;
	ex->grace.tv_sec = 5;
	strbuf_init(&ex->dir, 0);
	strbuf_init(&ex->made, 0);
	strbuf_init(&ex->gpu_env, 0);
	strbuf_init(&ex->rocr_env, 0);
	/* AMD's runtime reads its own variable: name the task's GPUs there
	 * too where the worker was given one */
	ex->rocr = getenv("ROCR_VISIBLE_DEVICES") != NULL;
	ex->page_size = sysconf(_SC_PAGESIZE);

	/* The worker's environment as it is now, without the variables exec
	 * sets per task (a worker started by a task must not leak them). */
	for (char **e = environ; e && *e; e++)
		n++;
	ex->base_env = calloc(n + 1, sizeof(char *));
	if (!ex->base_env)
		goto fail;
	for (i = 0; i < n; i++) {
		if (is_cluster_var(environ[i]))
			continue;
		ex->base_env[ex->nbase] = strdup(environ[i]);
		if (!ex->base_env[ex->nbase])
			goto fail;
		ex->nbase++;
	}
	if (worker_name) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "CLUSTER_WORKER=%s", worker_name);
		ex->worker_env = strbuf_detach(&sb, NULL);
	}

	/* Tasks start in their own group, nothing blocked, every signal at
	 * its default: the worker may ignore SIGPIPE or block SIGTERM, its
	 * tasks must not inherit that. */
	if (posix_spawnattr_init(&ex->attr))
		goto fail_attr;
	sigemptyset(&set);
	posix_spawnattr_setsigmask(&ex->attr, &set);
	sigfillset(&set);
	posix_spawnattr_setsigdefault(&ex->attr, &set);
	posix_spawnattr_setpgroup(&ex->attr, 0);
	posix_spawnattr_setflags(&ex->attr, POSIX_SPAWN_SETPGROUP |
				 POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);

	/* Above 2 even if the worker runs with a standard stream closed. */
	int nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ex->devnull = nfd < 0 ? -1 : fcntl(nfd, F_DUPFD_CLOEXEC, 3);
	if (nfd >= 0)
		close(nfd);
	if (ex->devnull < 0)
		goto fail_null;
	if (build_actions(ex, &ex->fa_default, NULL, NULL, NULL, NULL))
		goto fail_actions;
	ex->output = output_create(base, worker_name);
	for (i = 0; i < FA_PIPES; i++)
		ex->fa_pipes[i].out = ex->fa_pipes[i].err = -1;

	/* With SIGCHLD ignored the kernel reaps children itself and wait4
	 * would lose their status. */
	if (sigaction(SIGCHLD, NULL, &sa) == 0 &&
	    (sa.sa_handler == SIG_IGN || (sa.sa_flags & SA_NOCLDWAIT))) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGCHLD, &sa, NULL);
	}

	int fd = pidfd_open(getpid());
	if (fd >= 0) {
		ex->use_pidfd = 1;
		close(fd);
	} else {
		ex->sigchld_ev = evsignal_new(base, SIGCHLD,
					      on_sigchld, ex);
		if (!ex->sigchld_ev || event_add(ex->sigchld_ev, NULL) < 0)
			goto fail_ev;
	}
	ex->children_files = access("/proc/thread-self/children", R_OK) == 0;
	ex->sample_ev = event_new(base, -1, EV_PERSIST, on_sample, ex);
	if (!ex->sample_ev)
		goto fail_ev;
	return ex;

fail_ev:
	if (ex->sigchld_ev)
		event_free(ex->sigchld_ev);
	output_destroy(ex->output);
	posix_spawn_file_actions_destroy(&ex->fa_default);
fail_actions:
	close(ex->devnull);
fail_null:
	posix_spawnattr_destroy(&ex->attr);
fail_attr:
	free(ex->worker_env);
fail:
	strbuf_release(&ex->dir);
	strbuf_release(&ex->made);
	strbuf_release(&ex->gpu_env);
	strbuf_release(&ex->rocr_env);
	if (ex->base_env)
		for (i = 0; i < ex->nbase; i++)
			free(ex->base_env[i]);
	free(ex->base_env);
	free(ex);
	errno = ENOMEM;
	return NULL;
}

static void proc_unlink(struct exec *ex, struct exec_proc *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		ex->running = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->next = p->prev = NULL;
	ex->nrunning--;
	if (p->memory_limit && --ex->nlimited == 0)
		event_del(ex->sample_ev);
}

/* Back to the free list: events stay allocated for the next task. */
static void proc_release(struct exec *ex, struct exec_proc *p)
{
	event_del(p->proc_ev);
	event_del(p->timer_ev);
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
	if (p->out.o)
		output_finish(&p->out);
	p->next = ex->free;
	ex->free = p;
}

static void proc_free(struct exec_proc *p)
{
	output_task_release(&p->out);
	event_free(p->proc_ev);
	event_free(p->timer_ev);
	free(p);
}

static void exec_free(struct exec *ex)
{
	struct exec_proc *p;

	while ((p = ex->free)) {
		ex->free = p->next;
		proc_free(p);
	}
	if (ex->sigchld_ev)
		event_free(ex->sigchld_ev);
	event_free(ex->sample_ev);
	posix_spawnattr_destroy(&ex->attr);
	posix_spawn_file_actions_destroy(&ex->fa_default);
	for (unsigned i = 0; i < FA_PIPES; i++)
		if (ex->fa_pipes[i].out >= 0 || ex->fa_pipes[i].err >= 0) {
			posix_spawn_file_actions_destroy(&ex->fa_pipes[i].fa);
			free(ex->fa_pipes[i].cwd);
		}
	close(ex->devnull);
	output_destroy(ex->output);
	for (size_t i = 0; i < ex->nbase; i++)
		free(ex->base_env[i]);
	free(ex->base_env);
	free(ex->worker_env);
	free(ex->envp);
	free(ex->walk);
	strbuf_release(&ex->dir);
	strbuf_release(&ex->made);
	strbuf_release(&ex->gpu_env);
	strbuf_release(&ex->rocr_env);
	free(ex);
}

static pid_t wait_pid(pid_t pid, int *status, struct rusage *ru)
{
	pid_t r;

	do
		r = wait4(pid, status, 0, ru);
	while (r < 0 && errno == EINTR);
	return r;
}

void exec_destroy(struct exec *ex)
{
	struct exec_proc *p;

	if (!ex)
		return;
	/* Signal every group first so they die in parallel, then reap. */
	for (p = ex->running; p; p = p->next)
		kill(-p->pid, SIGKILL);
	while ((p = ex->running)) {
		int st;
		wait_pid(p->pid, &st, NULL);
		proc_unlink(ex, p);
		proc_release(ex, p);
	}
	if (ex->depth) {
		ex->dying = 1;
		return;
	}
	exec_free(ex);
}

static struct exec_proc *proc_get(struct exec *ex)
{
	struct exec_proc *p = ex->free;

	if (p) {
		ex->free = p->next;
		p->next = NULL;
		return p;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ex = ex;
	p->pidfd = -1;
	p->proc_ev = event_new(ex->base, -1, 0, on_proc, p);
	p->timer_ev = evtimer_new(ex->base, on_timer, p);
	if (!p->proc_ev || !p->timer_ev) {
		if (p->proc_ev)
			event_free(p->proc_ev);
		if (p->timer_ev)
			event_free(p->timer_ev);
		free(p);
		return NULL;
	}
	return p;
}

static size_t name_len(const char *entry)
{
	const char *eq = strchr(entry, '=');
	return eq ? (size_t)(eq - entry) : strlen(entry);
}

/* Does a later addition (from index `from`) set the variable of `entry`? */
static int overridden(const char *entry, char *const *adds, size_t from,
		      size_t nadd)
{
	size_t len = name_len(entry);

	for (size_t j = from; j < nadd; j++)
		if (!strncmp(adds[j], entry, len) && adds[j][len] == '=')
			return 1;
	return 0;
}

static int envp_reserve(struct exec *ex, size_t n)
{
	if (n <= ex->envp_alloc)
		return 0;
	size_t alloc = ex->envp_alloc ? ex->envp_alloc : 64;
	while (alloc < n)
		alloc *= 2;
	char **p = realloc(ex->envp, alloc * sizeof(char *));
	if (!p)
		return -1;
	ex->envp = p;
	ex->envp_alloc = alloc;
	return 0;
}

/* environ < CLUSTER_* < the task's additions, later wins, each name once. */
static int build_env(struct exec *ex, const struct exec_task *t,
		     struct err *err)
{
	char *const *adds = t->env;
	size_t nadd = 0, n = 0, i;
	char *own[5];
	size_t nown = 0;
	int gpus = t->visible_gpus != NULL;

	if (adds)
		for (; adds[nadd]; nadd++)
			if (!strchr(adds[nadd], '=') || adds[nadd][0] == '=')
				return errprintf(err, "task %" PRIu64 ": environment "
						 "entry '%s' is not NAME=value",
						 (uint64_t)t->id, adds[nadd]);
	snprintf(ex->id_env, sizeof(ex->id_env), "CLUSTER_TASK_ID=%" PRIu64,
		 (uint64_t)t->id);
	own[nown++] = ex->id_env;
	if (t->has_index) {
		snprintf(ex->index_env, sizeof(ex->index_env),
			 "CLUSTER_ARRAY_INDEX=%" PRId64, t->array_index);
		own[nown++] = ex->index_env;
	}
	if (ex->worker_env)
		own[nown++] = ex->worker_env;
	if (gpus) {
		strbuf_reset(&ex->gpu_env);
		strbuf_addf(&ex->gpu_env, "CUDA_VISIBLE_DEVICES=%s",
			    t->visible_gpus);
		own[nown++] = ex->gpu_env.buf;
		if (ex->rocr) {
			strbuf_reset(&ex->rocr_env);
			strbuf_addf(&ex->rocr_env, "ROCR_VISIBLE_DEVICES=%s",
				    t->visible_gpus);
			own[nown++] = ex->rocr_env.buf;
		}
	}

	if (envp_reserve(ex, ex->nbase + nown + nadd + 1) < 0)
		return errprintf(err, "task %" PRIu64 ": out of memory",
				 (uint64_t)t->id);
	if (!nadd && !gpus) {
		memcpy(ex->envp, ex->base_env, ex->nbase * sizeof(char *));
		n = ex->nbase;
	} else {
		/* the worker's own CUDA_VISIBLE_DEVICES (and
		 * ROCR_VISIBLE_DEVICES) names all its GPUs */
		for (i = 0; i < ex->nbase; i++)
			if (!overridden(ex->base_env[i], adds, 0, nadd) &&
			    (!gpus || (strncmp(ex->base_env[i],
					       "CUDA_VISIBLE_DEVICES=", 21) &&
				       strncmp(ex->base_env[i],
					       "ROCR_VISIBLE_DEVICES=", 21))))
				ex->envp[n++] = ex->base_env[i];
	}
	for (i = 0; i < nown; i++)
		if (!nadd || !overridden(own[i], adds, 0, nadd))
			ex->envp[n++] = own[i];
	for (i = 0; i < nadd; i++)
		if (!overridden(adds[i], adds, i + 1, nadd))
			ex->envp[n++] = adds[i];
	ex->envp[n] = NULL;
	return 0;
}

/* Remember that directory `d` exists: tasks of one job write their
 * output to one directory, which then costs no mkdir per task.  A spawn
 * that fails forgets it (the directory may have been removed). */
static int made_parent(struct exec *ex, const struct strbuf *d)
{
	strbuf_reset(&ex->made);
	strbuf_add(&ex->made, d->buf, d->len);
	return 0;
}

/* Create the missing parent directories of an output file. */
static int make_parent(struct exec *ex, const char *path, struct err *err)
{
	struct strbuf *d = &ex->dir;
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		return 0;
	if (ex->made.len == (size_t)(slash - path) &&
	    !memcmp(ex->made.buf, path, ex->made.len))
		return 0;
	strbuf_reset(d);
	strbuf_add(d, path, (size_t)(slash - path));
	if (mkdir(d->buf, 0755) == 0 || errno == EEXIST)
		return made_parent(ex, d);
	if (errno != ENOENT)
		goto fail;
	for (char *s = d->buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(d->buf, 0755) < 0 && errno != EEXIST) {
			int saved = errno;
			*s = '/';
			errno = saved;
			goto fail;
		}
		*s = '/';
	}
	if (mkdir(d->buf, 0755) == 0 || errno == EEXIST)
		return made_parent(ex, d);
fail:
	return errprintf(err, "cannot create directory '%s': %s", d->buf,
			 strerror(errno));
}

/* posix_spawn gives one errno for every step in the child; find which. */
static int spawn_error(const struct exec_task *t, int rc, struct err *err)
{
	const char *cmd = t->argv[0];
	const char *paths[2] = { t->stdout_path, t->stderr_path };
	struct stat st;

	for (int i = 0; i < 2; i++) {
		if (!paths[i])
			continue;
		int fd = open(paths[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return errprintf(err, "cannot run '%s': cannot open output file '%s': %s",
					 cmd, paths[i], strerror(errno));
		close(fd);
	}
	if (t->cwd) {
		if (stat(t->cwd, &st) < 0)
			return errprintf(err, "cannot run '%s': cannot change to directory '%s': %s",
					 cmd, t->cwd, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return errprintf(err, "cannot run '%s': cannot change to directory '%s': %s",
					 cmd, t->cwd, strerror(ENOTDIR));
		if (access(t->cwd, X_OK) < 0)
			return errprintf(err, "cannot run '%s': cannot change to directory '%s': %s",
					 cmd, t->cwd, strerror(errno));
	}
	if (rc == ENOENT && !strchr(cmd, '/'))
		return errprintf(err, "cannot run '%s': command not found", cmd);
	return errprintf(err, "cannot run '%s': %s", cmd, strerror(rc));
}

/* A stream goes to its file, to its pipe to the worker log, or to the
 * worker's /dev/null descriptor (a dup2 in the child is cheaper than
 * opening a path).  No O_CLOEXEC on the file: glibc closes the target
 * descriptor first, so open returns it directly and the flag would close
 * it again at exec. */
static int add_stream(const struct exec *ex, posix_spawn_file_actions_t *fa,
		      int fd, const char *path, int pipe_fd)
{
	if (pipe_fd >= 0)
		return posix_spawn_file_actions_adddup2(fa, pipe_fd, fd);
	if (!path)
		return posix_spawn_file_actions_adddup2(fa, ex->devnull, fd);
	return posix_spawn_file_actions_addopen(fa, fd, path,
						O_WRONLY | O_CREAT | O_TRUNC,
						0644);
}

/* Outputs are opened before the chdir: relative paths are the worker's,
 * as for make_parent.  One file for both streams is opened once so the
 * two do not overwrite each other.  Returns an errno value. */
static int build_actions(const struct exec *ex, posix_spawn_file_actions_t *fa,
			 const char *out, const char *errpath, const int *pipes,
			 const char *cwd)
{
	int rc = posix_spawn_file_actions_init(fa);

	if (rc)
		return rc;
	rc = add_stream(ex, fa, 0, NULL, -1);
	if (!rc)
		rc = add_stream(ex, fa, 1, out, pipes ? pipes[0] : -1);
	if (!rc) {
		if (out && errpath && !strcmp(out, errpath))
			rc = posix_spawn_file_actions_adddup2(fa, 1, 2);
		else
			rc = add_stream(ex, fa, 2, errpath,
					pipes ? pipes[1] : -1);
	}
	if (!rc && cwd)
		rc = posix_spawn_file_actions_addchdir_np(fa, cwd);
#ifdef HAVE_SPAWN_CLOSEFROM
	/* The worker's sockets, pidfds and /dev/null, and whatever it was
	 * started with, stay out of tasks even if some library forgot
	 * O_CLOEXEC: a task gets stdin, stdout and stderr only. */
	if (!rc)
		rc = posix_spawn_file_actions_addclosefrom_np(fa, 3);
#endif
	if (rc)
		posix_spawn_file_actions_destroy(fa);
	return rc;
}

/* posix_spawnp gives ENOEXEC for an executable file that is neither a
 * binary nor starts with #!; execvp would hand it to /bin/sh, and so does
 * this: /bin/sh FILE ARGS...  Returns an errno value. */
static int spawn_script(struct exec *ex, const struct exec_task *t,
			const posix_spawn_file_actions_t *fa, pid_t *pid)
{
	size_t argc = 0;
	char **argv;
	int rc;

	if (paths_find_command(t->argv[0], &ex->dir) < 0)
		return ENOEXEC;
	while (t->argv[argc])
		argc++;
	argv = calloc(argc + 2, sizeof(*argv));
	if (!argv)
		return ENOMEM;
	argv[0] = (char *)"/bin/sh";
	argv[1] = ex->dir.buf;
	for (size_t i = 1; i < argc; i++)
		argv[i + 1] = t->argv[i];
	rc = posix_spawn(pid, "/bin/sh", fa, &ex->attr, argv, ex->envp);
	free(argv);
	return rc;
}

static double elapsed(const struct timespec *from, const struct timespec *to)
{
	return (double)(to->tv_sec - from->tv_sec) +
	       (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

static void add_timer(struct exec_proc *p, const struct timeval *tv)
{
	event_add(p->timer_ev, tv);
}

/* The file actions of a task whose streams go to pipes `pipes`, in
 * directory `cwd` (NULL: the worker's).  Pipes get the lowest free
 * descriptors, so the same few numbers come back task after task, and
 * tasks of one submission share a directory: their actions are kept
 * rather than built again, since glibc checks every descriptor an action
 * names against the descriptor limit (a prlimit64 each, two per dup2).
 * NULL with an errno value in *rc. */
static posix_spawn_file_actions_t *pipe_actions(struct exec *ex,
						const int *pipes,
						const char *cwd, int *rc)
{
	struct fa_pipes *c;

	for (unsigned i = 0; i < FA_PIPES; i++) {
		c = &ex->fa_pipes[i];
		if (c->out == pipes[0] && c->err == pipes[1] &&
		    (c->cwd ? cwd && !strcmp(c->cwd, cwd) : !cwd))
			return &c->fa;
	}
	c = &ex->fa_pipes[ex->fa_next];
	ex->fa_next = (ex->fa_next + 1) % FA_PIPES;
	if (c->out >= 0 || c->err >= 0) {
		posix_spawn_file_actions_destroy(&c->fa);
		free(c->cwd);
	}
	c->out = c->err = -1;
	c->cwd = NULL;
	*rc = build_actions(ex, &c->fa, NULL, NULL, pipes, cwd);
	if (*rc)
		return NULL;
	c->out = pipes[0];
	c->err = pipes[1];
	c->cwd = cwd ? strdup(cwd) : NULL;
	if (cwd && !c->cwd) {
		posix_spawn_file_actions_destroy(&c->fa);
		c->out = c->err = -1;
		*rc = ENOMEM;
		return NULL;
	}
	return &c->fa;
}

static int start_task(struct exec *ex, const struct exec_task *t,
		      struct err *err)
{
	posix_spawn_file_actions_t fa, *fap = &ex->fa_default;
	struct exec_proc *p;
	pid_t pid;
	int rc;

	if (!t->argv || !t->argv[0] || !t->argv[0][0])
		return errprintf(err, "task %" PRIu64 " has no command",
				 (uint64_t)t->id);
	if (build_env(ex, t, err) < 0)
		return -1;
	if (t->stdout_path && make_parent(ex, t->stdout_path, err) < 0)
		return errprefix(err, "cannot run '%s'", t->argv[0]);
	if (t->stderr_path && make_parent(ex, t->stderr_path, err) < 0)
		return errprefix(err, "cannot run '%s'", t->argv[0]);
	p = proc_get(ex);
	if (!p)
		return errprintf(err, "cannot run '%s': out of memory",
				 t->argv[0]);

	/* Streams without a file go to the worker log through pipes. */
	int pipes[2] = { -1, -1 }, logged = 0;
	output_task_init(ex->output, &p->out, t->id, t->attempt, t->log_dir);
	if (t->log_dir) {
		const char *paths[2] = { t->stdout_path, t->stderr_path };
		for (int i = 0; i < 2; i++) {
			if (paths[i])
				continue;
			pipes[i] = output_pipe(&p->out,
					       i ? TASK_STDERR : TASK_STDOUT);
			if (pipes[i] < 0) {
				int saved = errno;
				proc_release(ex, p);
				return errprintf(err, "cannot run '%s': cannot make a pipe for its output: %s",
						 t->argv[0], strerror(saved));
			}
			logged = 1;
		}
	}
	if (logged && !t->stdout_path && !t->stderr_path) {
		fap = pipe_actions(ex, pipes, t->cwd, &rc);
		if (!fap) {
			proc_release(ex, p);
			return errprintf(err, "cannot run '%s': %s", t->argv[0],
					 strerror(rc));
		}
	} else if (t->stdout_path || t->stderr_path || t->cwd || logged) {
		rc = build_actions(ex, &fa, t->stdout_path, t->stderr_path,
				   pipes, t->cwd);
		if (rc) {
			proc_release(ex, p);
			return errprintf(err, "cannot run '%s': %s", t->argv[0],
					 strerror(rc));
		}
		fap = &fa;
	}
#ifndef HAVE_SPAWN_CLOSEFROM
	/* No closefrom action: the same by marking every descriptor above
	 * stderr close-on-exec, the spawn's dup2s excepted. */
	procfs_cloexec_above_stderr();
#endif
	rc = posix_spawnp(&pid, t->argv[0], fap, &ex->attr, t->argv, ex->envp);
	if (rc == ENOEXEC)
		rc = spawn_script(ex, t, fap, &pid);
	if (fap == &fa)
		posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		proc_release(ex, p);
		return spawn_error(t, rc, err);
	}
	output_started(&p->out);
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	p->spawn = elapsed(&ex->spawn_begin, &p->start);

	p->pidfd = -1;
	if (ex->use_pidfd) {
		p->pidfd = pidfd_open(pid);
		if (p->pidfd < 0 ||
		    event_assign(p->proc_ev, ex->base, p->pidfd, EV_READ,
				 on_proc, p) < 0 ||
		    event_add(p->proc_ev, NULL) < 0) {
			int saved = errno;
			kill(-pid, SIGKILL);
			wait_pid(pid, &rc, NULL);
			proc_release(ex, p);
			return errprintf(err, "cannot watch '%s': %s",
					 t->argv[0], strerror(saved));
		}
	}
	p->id = t->id;
	p->pid = pid;
	p->memory_limit = t->memory_limit;
	p->peak = 0;
	p->stage = 0;
	p->sent = 0;
	p->reason = NULL;
	p->prev = NULL;
	p->next = ex->running;
	if (ex->running)
		ex->running->prev = p;
	ex->running = p;
	ex->nrunning++;
	if (t->time_limit) {
		struct timeval tv = {
			.tv_sec = t->time_limit > INT32_MAX ? INT32_MAX :
				  (time_t)t->time_limit,
		};
		add_timer(p, &tv);
	}
	if (t->memory_limit && ex->nlimited++ == 0) {
		struct timeval tv = { 0, SAMPLE_INTERVAL_US };
		event_add(ex->sample_ev, &tv);
	}
	return 0;
}

int exec_start(struct exec *ex, const struct exec_task *t, struct err *err)
{
	int known = ex->made.len && (t->stdout_path || t->stderr_path);

	clock_gettime(CLOCK_MONOTONIC, &ex->spawn_begin);
	if (start_task(ex, t, err) == 0)
		return 0;
	/* The output directory taken as made may be gone: make it again. */
	strbuf_reset(&ex->made);
	if (!known)
		return -1;
	return start_task(ex, t, err);
}

static void proc_signal(struct exec_proc *p, int sig)
{
	kill(-p->pid, sig);
	p->sent = sig;
	p->stage = sig == SIGKILL ? 2 : 1;
}

static int proc_exited(const struct exec_proc *p)
{
	siginfo_t si;

	si.si_pid = 0;
	return waitid(P_PID, (id_t)p->pid, &si,
		      WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0;
}

/* TERM now, KILL after the grace period.  A task that already ended (its
 * report not yet read from the loop) keeps its own exit status. */
static void proc_stop(struct exec_proc *p, const char *reason)
{
	if (p->stage || proc_exited(p))
		return;
	p->reason = reason;
	proc_signal(p, SIGTERM);
	event_del(p->timer_ev);
	add_timer(p, &p->ex->grace);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct exec_proc *p = arg;

	(void)fd;
	(void)what;
	if (p->stage == 0)
		proc_stop(p, "time limit");
	else if (p->stage == 1)
		proc_signal(p, SIGKILL);
}

void exec_kill(struct exec *ex, task_id_t id)
{
	for (struct exec_proc *p = ex->running; p; p = p->next)
		if (p->id == id) {
			proc_stop(p, "cancelled");
			return;
		}
}

void exec_discard(struct exec *ex, task_id_t id)
{
	for (struct exec_proc *p = ex->running; p; p = p->next)
		if (p->id == id) {
			int st;
			kill(-p->pid, SIGKILL);
			wait_pid(p->pid, &st, NULL);
			proc_unlink(ex, p);
			proc_release(ex, p);
			return;
		}
}

unsigned exec_running(const struct exec *ex)
{
	return ex->nrunning;
}

pid_t exec_pid(const struct exec *ex, task_id_t id)
{
	for (const struct exec_proc *p = ex->running; p; p = p->next)
		if (p->id == id)
			return p->pid;
	return 0;
}

void exec_set_log_size(struct exec *ex, uint64_t bytes)
{
	output_set_max(ex->output, bytes);
}

void exec_set_grace(struct exec *ex, double seconds)
{
	if (!(seconds >= 0))
		seconds = 0;
	if (seconds > INT32_MAX)
		seconds = INT32_MAX;
	ex->grace.tv_sec = (time_t)seconds;
	ex->grace.tv_usec = (suseconds_t)((seconds - (double)ex->grace.tv_sec) * 1e6);
}

/* The leader has exited and is still a zombie.  Its run ends here;
 * reaping it and putting its output in place is the run's output time. */
static void proc_finish(struct exec_proc *p)
{
	struct exec *ex = p->ex;
	struct task_result res = { 0 };
	struct rusage ru;
	struct timespec exited, now;
	int st = 0;
	uint64_t maxrss;

	clock_gettime(CLOCK_MONOTONIC, &exited);
	/* Whatever the task left running in its group goes with it: a
	 * finished task holds no cores or memory. */
	kill(-p->pid, SIGKILL);
	memset(&ru, 0, sizeof(ru));
	if (wait_pid(p->pid, &st, &ru) < 0) {
		res.exit_code = -1;
		res.reason = "exit status lost";
	} else if (WIFSIGNALED(st)) {
		res.signal = WTERMSIG(st);
	} else {
		res.exit_code = WEXITSTATUS(st);
		/* Exited on its own after our TERM: still not a success. */
		if (p->stage)
			res.signal = p->sent;
	}
	if (p->stage)
		res.reason = p->reason;
	res.runtime = elapsed(&p->start, &exited);
	res.spawn = p->spawn;
	maxrss = (uint64_t)ru.ru_maxrss * 1024;
	res.peak_memory = maxrss > p->peak ? maxrss : p->peak;

	task_id_t id = p->id;
	proc_unlink(ex, p);
	proc_release(ex, p);
	clock_gettime(CLOCK_MONOTONIC, &now);
	res.output = elapsed(&exited, &now);
	ex->depth++;
	ex->done(ex->arg, id, &res);
	if (--ex->depth == 0 && ex->dying)
		exec_free(ex);
}

static void on_proc(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	proc_finish(arg);
}

static void on_sigchld(evutil_socket_t fd, short what, void *arg)
{
	struct exec *ex = arg;
	struct exec_proc *p, *next;

	(void)fd;
	(void)what;
	/* Signals coalesce: look at every task, not one per signal.  New
	 * tasks started from the callback go to the head, behind us. */
	for (p = ex->running; p; p = next) {
		next = p->next;
		if (!proc_exited(p))
			continue;
		ex->depth++;
		proc_finish(p);
		int dying = ex->dying;
		if (--ex->depth == 0 && dying) {
			exec_free(ex);
			return;
		}
		if (dying)
			return;
	}
}

/* Fields of /proc/PID/stat after the command name. */
static int read_stat(pid_t pid, pid_t *pgrp, long *threads, uint64_t *rss)
{
	char path[64], buf[1024];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *s = strrchr(buf, ')');
	if (!s)
		return -1;
	/* ") state ppid pgrp ..." : field 3 is state, 5 pgrp, 20 threads,
	 * 24 rss in pages. */
	long long v[25] = { 0 };
	int field = 2;
	char *end;
	s++;
	while (*s && field < 24) {
		while (*s == ' ')
			s++;
		field++;
		if (field == 3) {
			while (*s && *s != ' ')
				s++;
			continue;
		}
		v[field] = strtoll(s, &end, 10);
		if (end == s)
			return -1;
		s = end;
	}
	if (field < 24)
		return -1;
	*pgrp = (pid_t)v[5];
	*threads = (long)v[20];
	*rss = v[24] > 0 ? (uint64_t)v[24] : 0;
	return 0;
}

static void walk_push(struct exec *ex, size_t *n, pid_t pid)
{
	if (*n >= WALK_MAX)
		return;
	if (*n == ex->walk_alloc) {
		size_t alloc = ex->walk_alloc ? ex->walk_alloc * 2 : 64;
		pid_t *w = realloc(ex->walk, alloc * sizeof(pid_t));
		if (!w)
			return;
		ex->walk = w;
		ex->walk_alloc = alloc;
	}
	ex->walk[(*n)++] = pid;
}

struct walk_ctx {
	struct exec *ex;
	size_t *n;
};

static void walk_child(void *arg, pid_t pid)
{
	struct walk_ctx *w = arg;

	walk_push(w->ex, w->n, pid);
}

/* Resident bytes of the task's tree: the leader and its descendants. */
static uint64_t tree_rss(struct exec *ex, pid_t leader)
{
	size_t n = 0;
	struct walk_ctx wc = { ex, &n };
	uint64_t pages = 0;
	char path[96];

	walk_push(ex, &n, leader);
	for (size_t i = 0; i < n; i++) {
		pid_t pid = ex->walk[i], pgrp;
		long threads;
		uint64_t rss;

		if (read_stat(pid, &pgrp, &threads, &rss) < 0)
			continue;
		pages += rss;
		if (threads <= 1) {
			snprintf(path, sizeof(path), "/proc/%d/task/%d/children",
				 (int)pid, (int)pid);
			procfs_children(path, walk_child, &wc);
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
		DIR *d = opendir(path);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] < '0' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%d/children",
				 (int)pid, atoi(de->d_name));
			procfs_children(path, walk_child, &wc);
		}
		closedir(d);
	}
	return pages * (uint64_t)ex->page_size;
}

/* Without children files: one pass over /proc summing by process group. */
static void scan_groups(struct exec *ex)
{
	struct exec_proc *p;
	DIR *d = opendir("/proc");
	struct dirent *de;

	for (p = ex->running; p; p = p->next)
		p->sample = 0;
	if (!d)
		return;
	while ((de = readdir(d))) {
		pid_t pgrp;
		long threads;
		uint64_t rss;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (read_stat((pid_t)atoi(de->d_name), &pgrp, &threads, &rss) < 0)
			continue;
		for (p = ex->running; p; p = p->next)
			if (p->memory_limit && p->pid == pgrp)
				p->sample += rss * (uint64_t)ex->page_size;
	}
	closedir(d);
}

static void on_sample(evutil_socket_t fd, short what, void *arg)
{
	struct exec *ex = arg;
	struct exec_proc *p;

	(void)fd;
	(void)what;
	if (!ex->children_files)
		scan_groups(ex);
	for (p = ex->running; p; p = p->next) {
		if (!p->memory_limit || p->stage == 2)
			continue;
		if (ex->children_files)
			p->sample = tree_rss(ex, p->pid);
		if (p->sample > p->peak)
			p->peak = p->sample;
		if (p->sample > p->memory_limit) {
			p->reason = "memory limit";
			event_del(p->timer_ev);
			proc_signal(p, SIGKILL);
		}
	}
}

int exec_set_fallbacks(struct exec *ex, unsigned flags)
{
	if (ex->nrunning) {
		errno = EBUSY;
		return -1;
	}
	if ((flags & EXEC_NO_PIDFD) && ex->use_pidfd) {
		ex->sigchld_ev = evsignal_new(ex->base, SIGCHLD,
					      on_sigchld, ex);
		if (!ex->sigchld_ev)
			return -1;
		if (event_add(ex->sigchld_ev, NULL) < 0) {
			event_free(ex->sigchld_ev);
			ex->sigchld_ev = NULL;
			return -1;
		}
		ex->use_pidfd = 0;
	}
	if (flags & EXEC_NO_CHILDREN_FILES)
		ex->children_files = 0;
	return 0;
}
