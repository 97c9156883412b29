/*
 * gpus: the GPUs a worker offers and which of them each task gets.
 *
 * A worker's GPUs are device names as CUDA_VISIBLE_DEVICES takes them
 * ("0", "3", "GPU-8f7c..."), in the order the worker sees them.  The
 * scheduler only counts them (sched.h); the worker hands each task that
 * many of its free ones and names exactly those in the task's
 * CUDA_VISIBLE_DEVICES, so two running tasks never share a device.
 */
#ifndef CLUSTER_GPUS_H
#define CLUSTER_GPUS_H

#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"

#define GPUS_MAX 64			/* = TASK_GPUS_MAX; a mask holds them */

struct gpus {
	unsigned n;
	char *id[GPUS_MAX];		/* owned */
};

/* What a worker offers, by `want`: "auto" (or NULL) every visible GPU, a
 * count N the first N of them.  Visible: the first of
 * CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES and SLURM_JOB_GPUS that is
 * set (a comma list; empty, "-1" or "NoDevFiles" name none), else the
 * "GPU N:" lines of `nvidia-smi -L` when that runs, else none.  A count
 * with nothing visible names devices 0..N-1 (a node whose batch system
 * sets nothing); a count above what CUDA_VISIBLE_DEVICES names is an
 * error.  `label` names the setting in errors ("worker.gpus",
 * "--gpus").  -1 + err leaves g empty; release g in any case. */
int gpus_detect(struct gpus *g, const char *want, const char *label,
		struct err *err);

/* Keep g's devices first..first+count-1, as far as g has them. */
void gpus_slice(struct gpus *g, unsigned first, unsigned count);

/* The share of worker rank `index` of a node's `nworkers`, as
 * gpus_detect reads the node: with "auto" the node's visible GPUs split
 * evenly (the first ones get one more, as cores are split), with a count
 * N devices index*N..index*N+N-1 of the node's N*nworkers.  -1 + err as
 * gpus_detect. */
int gpus_share(struct gpus *g, const char *want, unsigned index,
	       unsigned nworkers, const char *label, struct err *err);

void gpus_release(struct gpus *g);

/* The lowest `n` devices free in *used (a bit per device index): marked
 * in *used, returned as a mask; 0 when fewer than n are free. */
uint64_t gpus_take(const struct gpus *g, uint64_t *used, unsigned n);

/* How many of g's devices are free in `used`. */
unsigned gpus_free(const struct gpus *g, uint64_t used);

/* The devices of `mask` as CUDA_VISIBLE_DEVICES lists them ("3,5"),
 * appended to sb. */
void gpus_list(const struct gpus *g, uint64_t mask, struct strbuf *sb);

#endif
