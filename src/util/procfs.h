/* Reading Linux /proc. */
#ifndef CLUSTER_PROCFS_H
#define CLUSTER_PROCFS_H

#include <sys/types.h>

/* Call fn for each pid listed in a /proc/PID/task/TID/children file
 * ("12 345 6789 ").  A file that cannot be opened lists nothing: the
 * process may have just ended. */
void procfs_children(const char *path, void (*fn)(void *arg, pid_t pid),
		     void *arg);

/* Call fn for each process of this user but the caller whose starting
 * environment holds both `a` and `b` ("NAME=VALUE", b may be NULL): a
 * job's processes, which inherit its variables whatever group or parent
 * they have by now.  Processes that go meanwhile are skipped. */
void procfs_with_env(const char *a, const char *b,
		     void (*fn)(void *arg, pid_t pid), void *arg);

/* Mark every descriptor above stderr close-on-exec.  Async-signal-safe
 * (nothing allocated): usable between vfork and exec. */
void procfs_cloexec_above_stderr(void);

#endif
