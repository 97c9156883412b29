/*
 * sysmem: the memory this process may use on its node.
 *
 * The node's physical memory is MemTotal of /proc/meminfo (or, when that
 * cannot be read, sysconf's physical pages times the page size), capped
 * by the memory limit of the process's cgroup: batch systems (Slurm's and
 * PBS Pro's cgroup support) enforce a job's memory request that way, so
 * the node's figure alone would promise more than the job may take.
 *
 * The cgroup comes from /proc/self/cgroup and its file system from
 * /proc/self/mountinfo: cgroup v1 when the memory controller is mounted
 * as v1 (memory.limit_in_bytes), else cgroup v2 (memory.max).  The
 * limit is the smallest one set on the cgroup or any of its ancestors;
 * "max", a missing file or a cgroup not visible under the mount means no
 * limit at that level.
 *
 * hwloc is not asked: its root total_memory sums NUMA node figures,
 * which some virtual machines report far below the real memory.
 */
#ifndef CLUSTER_SYSMEM_H
#define CLUSTER_SYSMEM_H

#include <stdint.h>

#include "util/err.h"

/* Where to read; each NULL field means the running system's file. */
struct sysmem_files {
	const char *meminfo;		/* /proc/meminfo */
	const char *cgroup;		/* /proc/self/cgroup */
	const char *mountinfo;		/* /proc/self/mountinfo */
};

struct sysmem {
	uint64_t total;			/* physical memory, bytes */
	uint64_t limit;			/* cgroup limit, bytes; 0: none */
	uint64_t usable;		/* the smaller of the two */
	int cgroup_version;		/* 1 or 2 where the limit came from,
					   0 when there is none */
};

/* Fills *m.  -1 + err only when even the physical memory is unknown;
 * cgroup files that cannot be read just mean no limit.  files may be
 * NULL. */
int sysmem_read(const struct sysmem_files *files, struct sysmem *m,
		struct err *err);

#endif
