#include "util/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/strbuf.h"

void procfs_children(const char *path, void (*fn)(void *arg, pid_t pid),
		     void *arg)
{
	char buf[4096];
	long cur = -1;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((got = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < got; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				cur = (cur < 0 ? 0 : cur * 10) + (buf[i] - '0');
			} else if (cur >= 0) {
				fn(arg, (pid_t)cur);
				cur = -1;
			}
		}
	}
	if (cur >= 0)
		fn(arg, (pid_t)cur);
	close(fd);
}

/* Whether the NUL-separated `env` of `len` bytes holds the entry `want`. */
static int env_has(const char *env, size_t len, const char *want)
{
	size_t n = strlen(want);

	for (size_t i = 0; i < len;) {
		const char *e = env + i;
		size_t k = strnlen(e, len - i);
		if (k == n && !memcmp(e, want, n))
			return 1;
		i += k + 1;
	}
	return 0;
}

void procfs_with_env(const char *a, const char *b,
		     void (*fn)(void *arg, pid_t pid), void *arg)
{
	struct strbuf env = STRBUF_INIT;
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();
	uid_t uid = getuid();

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[64];
		struct stat st;
		pid_t pid = (pid_t)atol(de->d_name);

		if (pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
		if (stat(path, &st) < 0 || st.st_uid != uid)
			continue;
		strbuf_reset(&env);
		if (strbuf_read_file(&env, path) == 0 &&
		    env_has(env.buf, env.len, a) &&
		    (!b || env_has(env.buf, env.len, b)))
			fn(arg, pid);
	}
	closedir(d);
	strbuf_release(&env);
}

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* close_range (Linux 5.11) in one call; else each entry of
 * /proc/self/fd, read with getdents64 into the stack, since a caller
 * between vfork and exec may not allocate. */
void procfs_cloexec_above_stderr(void)
{
	char buf[1024];
	long n;
	int dir;

	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			/* the kernel's linux_dirent64 is glibc's dirent64 */
			unsigned short reclen;
			const char *name = buf + off +
				offsetof(struct dirent64, d_name);
			int fd = 0;

			memcpy(&reclen, buf + off +
			       offsetof(struct dirent64, d_reclen),
			       sizeof(reclen));
			off += reclen;
			if (*name < '0' || *name > '9')
				continue;
			while (*name >= '0' && *name <= '9')
				fd = fd * 10 + (*name++ - '0');
			if (fd > 2 && fd != dir)
				fcntl(fd, F_SETFD, FD_CLOEXEC);
		}
	}
	close(dir);
}
