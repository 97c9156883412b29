#include "util/procfs.h"

#include <fcntl.h>
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
