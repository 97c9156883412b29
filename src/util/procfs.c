#include "util/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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
