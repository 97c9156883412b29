/* Reading Linux /proc. */
#ifndef CLUSTER_PROCFS_H
#define CLUSTER_PROCFS_H

#include <sys/types.h>

/* Call fn for each pid listed in a /proc/PID/task/TID/children file
 * ("12 345 6789 ").  A file that cannot be opened lists nothing: the
 * process may have just ended. */
void procfs_children(const char *path, void (*fn)(void *arg, pid_t pid),
		     void *arg);

/* Mark every descriptor above stderr close-on-exec.  Async-signal-safe
 * (nothing allocated): usable between vfork and exec. */
void procfs_cloexec_above_stderr(void);

#endif
