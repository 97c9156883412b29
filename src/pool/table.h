/*
 * table: private to pool.c and listing.c, the job table itself and the few
 * rules about a job both need.  pool.c owns the table and reconciles it;
 * listing.c applies what the batch system's listings and history and the
 * workers say about its jobs.
 */
#ifndef CLUSTER_POOL_TABLE_H
#define CLUSTER_POOL_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "pool/pool.h"

struct pool {
	struct pool_params prm;
	unsigned target;
	struct pool_job *jobs;
	size_t njobs, alloc;
	uint64_t next_seq;
	int in_flight;			/* a submission runs */
	int paused;
	char pause_reason[POOL_TEXT_LEN];
	unsigned nojoin;		/* jobs in a row ended unjoined */
	double backoff, next_submit_at;
	int limit_wait;			/* a site limit: until a job ends */
	char last_error[POOL_TEXT_LEN];
	char waiting[POOL_TEXT_LEN];
	uint64_t submitted, ended, replaced_ended;
	uint64_t submit_failures[POOL_NFAILURES];
};

void pool_copy_text(char *dst, size_t size, const char *src);
int pool_job_is_live(const struct pool_job *j);
int pool_state_in_queue(enum job_state st);
int pool_job_in_queue(const struct pool_job *j);
/* Drops jobs[i], keeping the table in seq order. */
void pool_remove_at(struct pool *p, size_t i);

#endif
