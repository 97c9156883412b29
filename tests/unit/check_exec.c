/*
 * check_exec: the task executor, with real child processes on a real
 * event loop.  The test binary doubles as a helper task that allocates
 * memory: `check_exec alloc MB SECONDS`.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "util/strbuf.h"
#include "worker/exec.h"

#define MAXDONE 512

static char self_exe[PATH_MAX];

static struct event_base *base;
static struct exec *ex;
static char tmp[64];

struct done_rec {
	task_id_t id;
	struct task_result res;
	char reason[64];
};
static struct done_rec done[MAXDONE];
static int ndone;

/* What the done callback should do besides recording. */
static void (*on_done_extra)(task_id_t id);

static void record(void *arg, task_id_t id, const struct task_result *res)
{
	(void)arg;
	ck_assert_int_lt(ndone, MAXDONE);
	done[ndone].id = id;
	done[ndone].res = *res;
	done[ndone].res.reason = NULL;
	if (res->reason)
		snprintf(done[ndone].reason, sizeof(done[ndone].reason), "%s",
			 res->reason);
	ndone++;
	if (on_done_extra)
		on_done_extra(id);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	ex = exec_create(base, "w1", record, NULL);
	ck_assert_ptr_nonnull(ex);
	ndone = 0;
	on_done_extra = NULL;
	snprintf(tmp, sizeof(tmp), "/tmp/check_exec.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
	exec_destroy(ex);
	ex = NULL;
	event_base_free(base);
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Run the loop until `want` tasks are reported or `seconds` pass. */
static int run_until(int want, double seconds)
{
	int expired = 0;
	struct timeval tv = { (time_t)seconds,
			      (suseconds_t)((seconds - (time_t)seconds) * 1e6) };
	struct event *t = evtimer_new(base, on_timeout, &expired);

	evtimer_add(t, &tv);
	while (ndone < want && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return ndone >= want;
}

static void run_for(double seconds)
{
	run_until(INT_MAX, seconds);
}

static struct done_rec *find(task_id_t id)
{
	for (int i = 0; i < ndone; i++)
		if (done[i].id == id)
			return &done[i];
	return NULL;
}

static void start_ok(const struct exec_task *t)
{
	struct err err = { "" };
	int rc = exec_start(ex, t, &err);
	ck_assert_msg(rc == 0, "exec_start: %s", err.text);
}

static struct done_rec *run_one(const struct exec_task *t, double seconds)
{
	start_ok(t);
	ck_assert_msg(run_until(ndone + 1, seconds), "task %llu not reported",
		      (unsigned long long)t->id);
	return find(t->id);
}

/* argv for `sh -c script`; a ring of four so a test can hold several. */
static char **sh_c(const char *script)
{
	static char *ring[4][4];
	static int next;
	char **a = ring[next++ % 4];

	a[0] = (char *)"sh";
	a[1] = (char *)"-c";
	a[2] = (char *)script;
	a[3] = NULL;
	return a;
}

static char *path_in(const char *name)
{
	static char buf[8][PATH_MAX];
	static int next;
	char *p = buf[next++ % 8];
	snprintf(p, PATH_MAX, "%s/%s", tmp, name);
	return p;
}

static char *slurp(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	ck_assert_msg(strbuf_read_file(&sb, path) == 0, "cannot read '%s'", path);
	return strbuf_detach(&sb, NULL);
}

/* Has `line` as a whole line? */
static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; p && *p; ) {
		if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
			return 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

static int count_prefix(const char *text, const char *prefix)
{
	int c = 0;
	size_t n = strlen(prefix);
	for (const char *p = text; p && *p; ) {
		if (!strncmp(p, prefix, n))
			c++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return c;
}

/* Alive and not a zombie. */
static int alive(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *s = strrchr(buf, ')');
	return s && s[1] == ' ' && s[2] != 'Z' && s[2] != 'X';
}

static int gone_within(pid_t pid, double seconds)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	for (int i = 0; i < seconds * 100; i++) {
		if (!alive(pid))
			return 1;
		nanosleep(&ts, NULL);
	}
	return !alive(pid);
}

START_TEST(test_exit_codes)
{
	char *a0[] = { (char *)"true", NULL };
	char **a1 = sh_c("exit 3");
	struct exec_task t0 = { .id = 1, .argv = a0 };
	struct exec_task t1 = { .id = 2, .argv = a1 };
	struct done_rec *r;

	r = run_one(&t0, 10);
	ck_assert_int_eq(r->res.exit_code, 0);
	ck_assert_int_eq(r->res.signal, 0);
	ck_assert_str_eq(r->reason, "");
	ck_assert(r->res.runtime >= 0 && r->res.runtime < 10);
	r = run_one(&t1, 10);
	ck_assert_int_eq(r->res.exit_code, 3);
	ck_assert_int_eq(r->res.signal, 0);
	ck_assert_int_eq(exec_running(ex), 0);
	ck_assert_int_eq(ndone, 2);
}
END_TEST

START_TEST(test_signal)
{
	char **a = sh_c("kill -USR1 $$; sleep 5");
	struct exec_task t = { .id = 3, .argv = a };
	struct done_rec *r = run_one(&t, 10);

	ck_assert_int_eq(r->res.signal, SIGUSR1);
	ck_assert_str_eq(r->reason, "");
}
END_TEST

START_TEST(test_env)
{
	char *a[] = { (char *)"env", NULL };
	char *adds[] = { (char *)"CHK_ADD=1", (char *)"CHK_BASE=from-task",
			 (char *)"CHK_ADD=2", NULL };
	struct exec_task t = { .id = 42, .argv = a, .env = adds,
			       .stdout_path = path_in("env.out") };
	struct exec_task ta = { .id = 43, .argv = a, .has_index = 1,
				.array_index = 5,
				.stdout_path = path_in("env-array.out") };
	char *text;

	/* The worker's own environment, including stale task variables that
	 * must not reach tasks. */
	setenv("CHK_BASE", "from-worker", 1);
	setenv("CHK_KEEP", "yes", 1);
	setenv("CLUSTER_ARRAY_INDEX", "99", 1);
	exec_destroy(ex);
	ex = exec_create(base, "w1", record, NULL);
	ck_assert_ptr_nonnull(ex);

	run_one(&t, 10);
	text = slurp(t.stdout_path);
	ck_assert(has_line(text, "CLUSTER_TASK_ID=42"));
	ck_assert(has_line(text, "CLUSTER_WORKER=w1"));
	ck_assert_int_eq(count_prefix(text, "CLUSTER_ARRAY_INDEX="), 0);
	ck_assert(has_line(text, "CHK_KEEP=yes"));
	ck_assert(has_line(text, "CHK_BASE=from-task"));
	ck_assert_int_eq(count_prefix(text, "CHK_BASE="), 1);
	ck_assert(has_line(text, "CHK_ADD=2"));
	ck_assert_int_eq(count_prefix(text, "CHK_ADD="), 1);
	free(text);

	run_one(&ta, 10);
	text = slurp(ta.stdout_path);
	ck_assert(has_line(text, "CLUSTER_TASK_ID=43"));
	ck_assert(has_line(text, "CLUSTER_ARRAY_INDEX=5"));
	ck_assert_int_eq(count_prefix(text, "CLUSTER_ARRAY_INDEX="), 1);
	ck_assert(has_line(text, "CHK_BASE=from-worker"));
	free(text);
}
END_TEST

/* The worker's CUDA_VISIBLE_DEVICES names all its GPUs; a task's names
 * its own only, or none, and the task's own additions still win. */
START_TEST(test_gpu_env)
{
	char *a[] = { (char *)"env", NULL };
	char *adds[] = { (char *)"CUDA_VISIBLE_DEVICES=9", NULL };
	struct exec_task t = { .id = 50, .argv = a, .visible_gpus = "5",
			       .stdout_path = path_in("gpu.out") };
	struct exec_task none = { .id = 51, .argv = a, .visible_gpus = "",
				  .stdout_path = path_in("gpu-none.out") };
	struct exec_task own = { .id = 52, .argv = a, .visible_gpus = "3",
				 .env = adds, .stdout_path = path_in("gpu-own.out") };
	struct exec_task plain = { .id = 53, .argv = a,
				   .stdout_path = path_in("gpu-plain.out") };
	char *text;

	setenv("CUDA_VISIBLE_DEVICES", "3,5", 1);
	exec_destroy(ex);
	ex = exec_create(base, "w1", record, NULL);
	ck_assert_ptr_nonnull(ex);

	run_one(&t, 10);
	text = slurp(t.stdout_path);
	ck_assert(has_line(text, "CUDA_VISIBLE_DEVICES=5"));
	ck_assert_int_eq(count_prefix(text, "CUDA_VISIBLE_DEVICES="), 1);
	free(text);
	run_one(&none, 10);
	text = slurp(none.stdout_path);
	ck_assert(has_line(text, "CUDA_VISIBLE_DEVICES="));
	ck_assert_int_eq(count_prefix(text, "CUDA_VISIBLE_DEVICES="), 1);
	free(text);
	run_one(&own, 10);
	text = slurp(own.stdout_path);
	ck_assert(has_line(text, "CUDA_VISIBLE_DEVICES=9"));
	ck_assert_int_eq(count_prefix(text, "CUDA_VISIBLE_DEVICES="), 1);
	free(text);
	run_one(&plain, 10);
	text = slurp(plain.stdout_path);
	ck_assert(has_line(text, "CUDA_VISIBLE_DEVICES=3,5"));
	ck_assert_int_eq(count_prefix(text, "ROCR_VISIBLE_DEVICES="), 0);
	free(text);

	/* a worker given AMD's variable names the task's GPUs there too */
	struct exec_task amd = { .id = 54, .argv = a, .visible_gpus = "5",
				 .stdout_path = path_in("gpu-amd.out") };
	setenv("ROCR_VISIBLE_DEVICES", "3,5", 1);
	exec_destroy(ex);
	ex = exec_create(base, "w1", record, NULL);
	ck_assert_ptr_nonnull(ex);
	run_one(&amd, 10);
	text = slurp(amd.stdout_path);
	ck_assert(has_line(text, "ROCR_VISIBLE_DEVICES=5"));
	ck_assert_int_eq(count_prefix(text, "ROCR_VISIBLE_DEVICES="), 1);
	ck_assert(has_line(text, "CUDA_VISIBLE_DEVICES=5"));
	free(text);
	unsetenv("ROCR_VISIBLE_DEVICES");
	unsetenv("CUDA_VISIBLE_DEVICES");
}
END_TEST

START_TEST(test_bad_env)
{
	char *a[] = { (char *)"true", NULL };
	char *adds[] = { (char *)"NOEQUALS", NULL };
	struct exec_task t = { .id = 4, .argv = a, .env = adds };
	struct err err = { "" };

	ck_assert_int_eq(exec_start(ex, &t, &err), -1);
	ck_assert_msg(strstr(err.text, "'NOEQUALS'"), "%s", err.text);
	ck_assert_int_eq(exec_running(ex), 0);
}
END_TEST

START_TEST(test_cwd)
{
	char *a[] = { (char *)"pwd", NULL };
	struct exec_task t = { .id = 5, .argv = a, .cwd = tmp,
			       .stdout_path = path_in("pwd.out") };
	char *text;
	char want[PATH_MAX];

	ck_assert_ptr_nonnull(realpath(tmp, want));
	run_one(&t, 10);
	text = slurp(t.stdout_path);
	ck_assert(has_line(text, want));
	free(text);
}
END_TEST

START_TEST(test_outputs)
{
	char **a = sh_c("echo out; echo err >&2");
	struct exec_task t = { .id = 6, .argv = a,
			       .stdout_path = path_in("a/b/c/out.txt"),
			       .stderr_path = path_in("d/err.txt") };
	struct exec_task both = { .id = 7, .argv = a,
				  .stdout_path = path_in("e/both.txt"),
				  .stderr_path = path_in("e/both.txt") };
	struct exec_task none = { .id = 8, .argv = a };
	struct stat st;
	char *text;

	run_one(&t, 10);
	text = slurp(t.stdout_path);
	ck_assert_str_eq(text, "out\n");
	free(text);
	text = slurp(t.stderr_path);
	ck_assert_str_eq(text, "err\n");
	free(text);
	ck_assert_int_eq(stat(t.stdout_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);

	run_one(&both, 10);
	text = slurp(both.stdout_path);
	ck_assert(has_line(text, "out") && has_line(text, "err"));
	free(text);

	/* Truncated on the next run. */
	char **a2 = sh_c("echo x");
	struct exec_task again = { .id = 9, .argv = a2,
				   .stdout_path = t.stdout_path };
	run_one(&again, 10);
	text = slurp(t.stdout_path);
	ck_assert_str_eq(text, "x\n");
	free(text);

	struct done_rec *r = run_one(&none, 10);
	ck_assert_int_eq(r->res.exit_code, 0);
}
END_TEST

/* Tasks writing to one directory share it; one removed between two tasks
 * is made again for the second. */
START_TEST(test_output_dir_removed)
{
	char **a = sh_c("echo out");
	struct exec_task t1 = { .id = 1, .argv = a,
				.stdout_path = path_in("logs/1.out"),
				.stderr_path = path_in("logs/1.err") };
	struct exec_task t2 = { .id = 2, .argv = a,
				.stdout_path = path_in("logs/2.out"),
				.stderr_path = path_in("logs/2.err") };
	struct exec_task t3 = { .id = 3, .argv = a,
				.stdout_path = path_in("logs/sub/3.out") };
	struct done_rec *r;
	char *text;

	r = run_one(&t1, 10);
	ck_assert_int_eq(r->res.exit_code, 0);
	ck_assert_int_eq(unlink(t1.stdout_path), 0);
	ck_assert_int_eq(unlink(t1.stderr_path), 0);
	ck_assert_int_eq(rmdir(path_in("logs")), 0);

	r = run_one(&t2, 10);
	ck_assert_int_eq(r->res.exit_code, 0);
	ck_assert_str_eq(r->reason, "");
	text = slurp(t2.stdout_path);
	ck_assert_str_eq(text, "out\n");
	free(text);
	ck_assert_int_eq(access(t2.stderr_path, F_OK), 0);

	r = run_one(&t3, 10);
	ck_assert_int_eq(r->res.exit_code, 0);
	text = slurp(t3.stdout_path);
	ck_assert_str_eq(text, "out\n");
	free(text);

	/* Not a directory: still a clear error naming the path. */
	ck_assert_int_eq(unlink(t2.stdout_path), 0);
	ck_assert_int_eq(unlink(t2.stderr_path), 0);
	ck_assert_int_eq(unlink(t3.stdout_path), 0);
	ck_assert_int_eq(rmdir(path_in("logs/sub")), 0);
	ck_assert_int_eq(rmdir(path_in("logs")), 0);
	FILE *f = fopen(path_in("logs"), "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	struct err err = { "" };
	struct exec_task t4 = { .id = 4, .argv = a,
				.stdout_path = path_in("logs/4.out") };
	ck_assert_int_lt(exec_start(ex, &t4, &err), 0);
	ck_assert_msg(strstr(err.text, "logs/4.out") || strstr(err.text, "logs"),
		      "error does not name the path: %s", err.text);
	ck_assert_int_eq(exec_running(ex), 0);
}
END_TEST

/* stdin is /dev/null and the worker's descriptors stay out of tasks. */
START_TEST(test_descriptors)
{
	char *a[] = { (char *)"sh", (char *)"-c",
		      (char *)"readlink /proc/$$/fd/0; ls /proc/$$/fd", NULL };
	struct exec_task t = { .id = 14, .argv = a,
			       .stdout_path = path_in("fds.out") };
	int leak = dup(2);
	char *text;

	ck_assert_int_ge(leak, 3);
	run_one(&t, 10);
	text = slurp(t.stdout_path);
	ck_assert_str_eq(text, "/dev/null\n0\n1\n2\n");
	free(text);
	close(leak);
}
END_TEST

START_TEST(test_spawn_errors)
{
	char *a[] = { (char *)"no-such-command-xyz", NULL };
	char *b[] = { (char *)"true", NULL };
	char *c[] = { path_in((char *)"script"), NULL };
	struct exec_task t = { .id = 10, .argv = a };
	struct exec_task nocwd = { .id = 11, .argv = b,
				   .cwd = path_in("missing") };
	struct exec_task noexec = { .id = 12, .argv = c };
	struct exec_task empty = { .id = 13, .argv = NULL };
	struct err err = { "" };
	FILE *f;

	ck_assert_int_eq(exec_start(ex, &t, &err), -1);
	ck_assert_str_eq(err.text,
			 "cannot run 'no-such-command-xyz': command not found");

	ck_assert_int_eq(exec_start(ex, &nocwd, &err), -1);
	ck_assert_msg(strstr(err.text, "cannot run 'true'") &&
		      strstr(err.text, "missing'") &&
		      strstr(err.text, "No such file"), "%s", err.text);

	f = fopen(c[0], "w");
	ck_assert_ptr_nonnull(f);
	fputs("#!/bin/sh\ntrue\n", f);
	fclose(f);
	chmod(c[0], 0644);
	ck_assert_int_eq(exec_start(ex, &noexec, &err), -1);
	ck_assert_msg(strstr(err.text, "script'") &&
		      strstr(err.text, "Permission denied"), "%s", err.text);

	ck_assert_int_eq(exec_start(ex, &empty, &err), -1);
	ck_assert_str_eq(err.text, "task 13 has no command");

	ck_assert_int_eq(exec_running(ex), 0);
	run_for(0.2);
	ck_assert_int_eq(ndone, 0);
}
END_TEST

/* A script without a #! line runs under /bin/sh, by path and through
 * PATH, with its arguments; $0 is the file that was found. */
START_TEST(test_script_without_shebang)
{
	char *a[] = { path_in("plain"), (char *)"one", (char *)"two words", NULL };
	char *b[] = { (char *)"plain", (char *)"x", NULL };
	struct exec_task t = { .id = 15, .argv = a,
			       .stdout_path = path_in("plain.out") };
	struct exec_task tp = { .id = 16, .argv = b,
				.stdout_path = path_in("plain-path.out") };
	struct strbuf want = STRBUF_INIT, path = STRBUF_INIT;
	const char *old = getenv("PATH");
	struct done_rec *r;
	FILE *f;
	char *text;

	f = fopen(a[0], "w");
	ck_assert_ptr_nonnull(f);
	fputs("echo \"$0|$1|$2|$#\"\nexit 7\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(a[0], 0755), 0);

	r = run_one(&t, 10);
	ck_assert_int_eq(r->res.exit_code, 7);
	ck_assert_int_eq(r->res.signal, 0);
	text = slurp(t.stdout_path);
	strbuf_addf(&want, "%s|one|two words|2\n", a[0]);
	ck_assert_str_eq(text, want.buf);
	free(text);

	/* Through PATH: a directory without it comes first. */
	strbuf_addf(&path, "%s/nothing-here:%s:%s", tmp, tmp, old ? old : "");
	char *saved = old ? strdup(old) : NULL;
	setenv("PATH", path.buf, 1);
	r = run_one(&tp, 10);
	if (saved)
		setenv("PATH", saved, 1);
	else
		unsetenv("PATH");
	free(saved);
	ck_assert_int_eq(r->res.exit_code, 7);
	text = slurp(tp.stdout_path);
	strbuf_reset(&want);
	strbuf_addf(&want, "%s/plain|x||1\n", tmp);
	ck_assert_str_eq(text, want.buf);
	free(text);
	strbuf_release(&want);
	strbuf_release(&path);
}
END_TEST

START_TEST(test_time_limit)
{
	char *a[] = { (char *)"sleep", (char *)"10", NULL };
	struct exec_task t = { .id = 20, .argv = a, .time_limit = 1 };
	struct done_rec *r = run_one(&t, 8);

	ck_assert_int_eq(r->res.signal, SIGTERM);
	ck_assert_str_eq(r->reason, "time limit");
	ck_assert(r->res.runtime >= 0.9 && r->res.runtime < 5);
}
END_TEST

START_TEST(test_time_limit_ignores_term)
{
	char **a = sh_c("trap '' TERM; sleep 10; exit 0");
	struct exec_task t = { .id = 21, .argv = a, .time_limit = 1 };
	struct done_rec *r;

	exec_set_grace(ex, 0.3);
	r = run_one(&t, 8);
	ck_assert_int_eq(r->res.signal, SIGKILL);
	ck_assert_str_eq(r->reason, "time limit");
	ck_assert(r->res.runtime >= 1.2 && r->res.runtime < 5);
}
END_TEST

/* A task that exits by itself on TERM still did not succeed. */
START_TEST(test_time_limit_handled_term)
{
	char **a = sh_c("trap 'exit 0' TERM; sleep 10 & wait");
	struct exec_task t = { .id = 22, .argv = a, .time_limit = 1 };
	struct done_rec *r = run_one(&t, 8);

	ck_assert_int_eq(r->res.signal, SIGTERM);
	ck_assert_str_eq(r->reason, "time limit");
}
END_TEST

static void memory_limit(unsigned fallbacks)
{
	char *a[] = { self_exe, (char *)"alloc", (char *)"200", (char *)"10", NULL };
	struct exec_task t = { .id = 30, .argv = a,
			       .memory_limit = 50 * 1000 * 1000 };
	struct done_rec *r;

	ck_assert_int_eq(exec_set_fallbacks(ex, fallbacks), 0);
	r = run_one(&t, 8);
	ck_assert_int_eq(r->res.signal, SIGKILL);
	ck_assert_str_eq(r->reason, "memory limit");
	ck_assert_msg(r->res.peak_memory >= 50 * 1000 * 1000 &&
		      r->res.peak_memory < 400 * 1000 * 1000,
		      "peak %llu", (unsigned long long)r->res.peak_memory);
	ck_assert(r->res.runtime < 5);
}

START_TEST(test_memory_limit)
{
	memory_limit(0);
}
END_TEST

START_TEST(test_memory_limit_scan)
{
	memory_limit(EXEC_NO_CHILDREN_FILES);
}
END_TEST

/* The limit counts the whole tree, not just the leader. */
START_TEST(test_memory_limit_tree)
{
	struct strbuf cmd = STRBUF_INIT;
	strbuf_addf(&cmd, "'%s' alloc 30 10 & '%s' alloc 30 10 & wait",
		    self_exe, self_exe);
	char *a[] = { (char *)"sh", (char *)"-c", cmd.buf, NULL };
	struct exec_task t = { .id = 31, .argv = a,
			       .memory_limit = 45 * 1000 * 1000 };
	struct done_rec *r = run_one(&t, 8);

	ck_assert_str_eq(r->reason, "memory limit");
	ck_assert_int_eq(r->res.signal, SIGKILL);
	strbuf_release(&cmd);
}
END_TEST

START_TEST(test_peak_memory)
{
	char *a[] = { self_exe, (char *)"alloc", (char *)"40", (char *)"0", NULL };
	char *b[] = { self_exe, (char *)"alloc", (char *)"40", (char *)"0.5", NULL };
	struct exec_task t = { .id = 32, .argv = a };
	struct exec_task limited = { .id = 33, .argv = b,
				     .memory_limit = 1000ull * 1000 * 1000 };
	struct done_rec *r;

	r = run_one(&t, 8);
	ck_assert_int_eq(r->res.exit_code, 0);
	ck_assert_msg(r->res.peak_memory >= 40ull << 20 &&
		      r->res.peak_memory < 400ull << 20,
		      "peak %llu", (unsigned long long)r->res.peak_memory);
	r = run_one(&limited, 8);
	ck_assert_int_eq(r->res.exit_code, 0);
	ck_assert_str_eq(r->reason, "");
	ck_assert_msg(r->res.peak_memory >= 40ull << 20 &&
		      r->res.peak_memory < 400ull << 20,
		      "peak %llu", (unsigned long long)r->res.peak_memory);
}
END_TEST

START_TEST(test_kill)
{
	char *a[] = { (char *)"sleep", (char *)"10", NULL };
	struct exec_task t = { .id = 40, .argv = a };
	struct done_rec *r;
	sigset_t set;

	/* Tasks start with default handling whatever the worker does. */
	signal(SIGTERM, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);

	start_ok(&t);
	ck_assert_int_gt(exec_pid(ex, 40), 0);
	ck_assert_int_eq(exec_pid(ex, 41), 0);
	run_for(0.1);
	ck_assert_int_eq(ndone, 0);
	exec_kill(ex, 40);
	exec_kill(ex, 999);	/* unknown: nothing */
	ck_assert(run_until(1, 5));
	r = find(40);
	ck_assert_int_eq(r->res.signal, SIGTERM);
	ck_assert_str_eq(r->reason, "cancelled");
	ck_assert(r->res.runtime < 3);
	ck_assert_int_eq(exec_pid(ex, 40), 0);
}
END_TEST

static void many(unsigned fallbacks)
{
	char *a[] = { (char *)"true", NULL };
	int seen[201] = { 0 };

	ck_assert_int_eq(exec_set_fallbacks(ex, fallbacks), 0);
	for (int i = 1; i <= 200; i++) {
		struct exec_task t = { .id = (task_id_t)i, .argv = a };
		start_ok(&t);
	}
	ck_assert_int_eq(exec_running(ex), 200);
	ck_assert(run_until(200, 30));
	run_for(0.2);
	ck_assert_int_eq(ndone, 200);
	for (int i = 0; i < ndone; i++) {
		ck_assert(done[i].id >= 1 && done[i].id <= 200);
		ck_assert_int_eq(done[i].res.exit_code, 0);
		ck_assert_int_eq(done[i].res.signal, 0);
		seen[done[i].id]++;
	}
	for (int i = 1; i <= 200; i++)
		ck_assert_int_eq(seen[i], 1);
	ck_assert_int_eq(exec_running(ex), 0);
}

START_TEST(test_many)
{
	many(0);
}
END_TEST

START_TEST(test_many_sigchld)
{
	many(EXEC_NO_PIDFD);
}
END_TEST

static int chain_left;

static void chain_next(task_id_t id)
{
	char *a[] = { (char *)"true", NULL };
	struct exec_task t = { .id = id + 1, .argv = a };

	if (chain_left-- > 0)
		start_ok(&t);
}

/* Starting the next task from the callback, as the worker does. */
START_TEST(test_chain)
{
	char *a[] = { (char *)"true", NULL };
	struct exec_task t = { .id = 1, .argv = a };

	chain_left = 49;
	on_done_extra = chain_next;
	start_ok(&t);
	ck_assert(run_until(50, 20));
	ck_assert_int_eq(done[49].id, 50);
	ck_assert_int_eq(exec_running(ex), 0);
}
END_TEST

static pid_t read_pid(const char *path, double seconds)
{
	for (int i = 0; i < seconds * 20; i++) {
		struct strbuf sb = STRBUF_INIT;
		if (strbuf_read_file(&sb, path) == 0 && sb.len > 1 &&
		    sb.buf[sb.len - 1] == '\n') {
			pid_t pid = (pid_t)atoi(sb.buf);
			strbuf_release(&sb);
			return pid;
		}
		strbuf_release(&sb);
		run_for(0.05);
	}
	return 0;
}

/* A finished task leaves nothing running behind. */
START_TEST(test_leftovers_killed)
{
	char **a = sh_c("sleep 30 & echo $!");
	struct exec_task t = { .id = 50, .argv = a,
			       .stdout_path = path_in("bg.pid") };
	pid_t bg;

	run_one(&t, 10);
	bg = read_pid(t.stdout_path, 1);
	ck_assert_int_gt(bg, 0);
	ck_assert(gone_within(bg, 2));
}
END_TEST

START_TEST(test_destroy)
{
	char **a = sh_c("sleep 30 & echo $!; sleep 30");
	struct exec_task t1 = { .id = 60, .argv = a,
				.stdout_path = path_in("d1.pid") };
	struct exec_task t2 = { .id = 61, .argv = a,
				.stdout_path = path_in("d2.pid") };
	pid_t bg1, bg2, p1, p2;

	start_ok(&t1);
	start_ok(&t2);
	p1 = exec_pid(ex, 60);
	p2 = exec_pid(ex, 61);
	bg1 = read_pid(t1.stdout_path, 5);
	bg2 = read_pid(t2.stdout_path, 5);
	ck_assert(bg1 > 0 && bg2 > 0);
	ck_assert(alive(p1) && alive(bg1));
	exec_destroy(ex);
	ex = NULL;
	ck_assert_int_eq(ndone, 0);
	/* The leaders are reaped by now: they are not even zombies. */
	ck_assert_int_eq(kill(p1, 0), -1);
	ck_assert_int_eq(kill(p2, 0), -1);
	ck_assert(gone_within(bg1, 2));
	ck_assert(gone_within(bg2, 2));
}
END_TEST

static void destroy_from_callback(task_id_t id)
{
	(void)id;
	exec_destroy(ex);
	ex = NULL;
}

START_TEST(test_destroy_in_callback)
{
	char *a[] = { (char *)"true", NULL };
	char *b[] = { (char *)"sleep", (char *)"30", NULL };
	struct exec_task t1 = { .id = 70, .argv = a };
	struct exec_task t2 = { .id = 71, .argv = b };
	pid_t p2;

	on_done_extra = destroy_from_callback;
	start_ok(&t1);
	start_ok(&t2);
	p2 = exec_pid(ex, 71);
	ck_assert(run_until(1, 5));
	ck_assert_ptr_null(ex);
	ck_assert_int_eq(kill(p2, 0), -1);
	run_for(0.1);
	ck_assert_int_eq(ndone, 1);
}
END_TEST

/* Helper task: map MB megabytes, touch them gradually, hold them for
 * SECONDS, exit 0. */
static int helper_alloc(int argc, char **argv)
{
	size_t mb = argc > 2 ? (size_t)atoi(argv[2]) : 100;
	double hold = argc > 3 ? atof(argv[3]) : 0;
	char *p = mmap(NULL, mb << 20, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct timespec step = { 0, 2 * 1000 * 1000 };

	if (p == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < mb; i++) {
		memset(p + (i << 20), 1, 1 << 20);
		if (i % 4 == 3)
			nanosleep(&step, NULL);
	}
	struct timespec ts = { (time_t)hold,
			       (long)((hold - (time_t)hold) * 1e9) };
	nanosleep(&ts, NULL);
	return 0;
}

static Suite *exec_suite(void)
{
	Suite *s = suite_create("exec");
	TCase *tc = tcase_create("exec");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_exit_codes);
	tcase_add_test(tc, test_signal);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_gpu_env);
	tcase_add_test(tc, test_bad_env);
	tcase_add_test(tc, test_cwd);
	tcase_add_test(tc, test_outputs);
	tcase_add_test(tc, test_output_dir_removed);
	tcase_add_test(tc, test_descriptors);
	tcase_add_test(tc, test_spawn_errors);
	tcase_add_test(tc, test_script_without_shebang);
	tcase_add_test(tc, test_time_limit);
	tcase_add_test(tc, test_time_limit_ignores_term);
	tcase_add_test(tc, test_time_limit_handled_term);
	tcase_add_test(tc, test_memory_limit);
	tcase_add_test(tc, test_memory_limit_scan);
	tcase_add_test(tc, test_memory_limit_tree);
	tcase_add_test(tc, test_peak_memory);
	tcase_add_test(tc, test_kill);
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_many_sigchld);
	tcase_add_test(tc, test_chain);
	tcase_add_test(tc, test_leftovers_killed);
	tcase_add_test(tc, test_destroy);
	tcase_add_test(tc, test_destroy_in_callback);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "alloc"))
		return helper_alloc(argc, argv);

	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0) {
		perror("check_exec: cannot find own executable");
		return 1;
	}
	self_exe[n] = '\0';

	SRunner *sr = srunner_create(exec_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
