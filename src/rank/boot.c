/*
 * boot: MPI in a thread of its own; see boot.h.
 *
 * MPI is cluster-rank's bootstrap and nothing more: a few collectives at
 * start.  MPI_Finalize, a barrier over the PMIx server, costs a rank
 * about 50 ms even when every rank enters it at once; called at the end
 * of a run it delayed the end of every batch job by that much, and once
 * a rank had died, Open MPI 4.1 with orte_enable_recovery could keep the
 * survivors in it for good.  So it is called as soon as the address has
 * gone round, when every rank is alive and reaches it at the same
 * moment, by a thread that is not the one running the scheduler or the
 * nanny: neither waits for it.  The thread makes every MPI call, which
 * MPI_THREAD_FUNNELED allows (the "main" thread is the one that called
 * MPI_Init_thread).
 *
 * The thread, and the threads MPI starts from it, block the signals the
 * rank handles itself (stop signals, SIGCHLD), so those reach the
 * rank's own thread.
 */
#include "rank/boot.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include "util/log.h"

enum want { WANT_NONE, WANT_ADDRESS, WANT_FINALIZE };

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* any change below */
	pthread_t thread;
	struct boot info;
	int started;			/* boot_begin ran */
	int booted, addressed, finalized;
	enum want want;
	int rc0;
	char addr[BOOT_ADDR_LEN];
} B = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static void set_flag(int *flag)
{
	pthread_mutex_lock(&B.lock);
	*flag = 1;
	pthread_cond_broadcast(&B.cond);
	pthread_mutex_unlock(&B.lock);
}

static void mpi_where(struct boot *b)
{
	MPI_Comm local;

	MPI_Comm_rank(MPI_COMM_WORLD, &b->rank);
	MPI_Comm_size(MPI_COMM_WORLD, &b->size);
	MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, b->rank,
			    MPI_INFO_NULL, &local);
	MPI_Comm_rank(local, &b->local_rank);
	MPI_Comm_size(local, &b->local_size);
	/* Ranks are ordered by world rank on each node, so world rank 0 is
	 * local rank 0 of its node; tell the node whether it is here. */
	int here = b->rank == 0;
	b->sched_here = 0;
	MPI_Allreduce(&here, &b->sched_here, 1, MPI_INT, MPI_MAX, local);
	MPI_Comm_free(&local);
}

static void *boot_thread(void *arg)
{
	int provided;

	(void)arg;
	MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
	mpi_where(&B.info);
	set_flag(&B.booted);

	pthread_mutex_lock(&B.lock);
	while (B.want == WANT_NONE)
		pthread_cond_wait(&B.cond, &B.lock);
	enum want want = B.want;
	pthread_mutex_unlock(&B.lock);
	if (want == WANT_ADDRESS) {
		/* B.rc0 and B.addr are the thread's until `addressed` */
		MPI_Bcast(&B.rc0, 1, MPI_INT, 0, MPI_COMM_WORLD);
		MPI_Bcast(B.addr, BOOT_ADDR_LEN, MPI_CHAR, 0, MPI_COMM_WORLD);
		set_flag(&B.addressed);
	}
	MPI_Finalize();
	set_flag(&B.finalized);
	return NULL;
}

void boot_begin(void)
{
	pthread_condattr_t ca;
	sigset_t mine, old;
	int rc;

	/* MPI carries a few collectives at start here, nothing else.  Left
	 * to choose, Open MPI 4.1 tries the cm PML first, whose MTLs (psm,
	 * psm2, ofi) probe for fabric hardware in every rank: about 0.25 s
	 * of MPI_Init even on a node that has none.  ob1 over shared memory
	 * and TCP is always there, and TCP between nodes is what the
	 * workers need anyway.  A pml set in the environment still wins. */
	setenv("OMPI_MCA_pml", "ob1", 0);
#ifdef __SANITIZE_ADDRESS__
	setenv("OMPI_MCA_mca_base_component_disable_dlclose", "1", 0);
	setenv("PMIX_MCA_pmix_mca_base_component_disable_dlclose", "1", 0);
#endif
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&B.cond, &ca);
	pthread_condattr_destroy(&ca);

	sigemptyset(&mine);
	sigaddset(&mine, SIGTERM);
	sigaddset(&mine, SIGINT);
	sigaddset(&mine, SIGHUP);
	sigaddset(&mine, SIGCHLD);
	sigaddset(&mine, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &mine, &old);
	rc = pthread_create(&B.thread, NULL, boot_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		fprintf(stderr, "cluster-rank: cannot start a thread for MPI: "
			"%s\n", strerror(rc));
		exit(1);
	}
	B.started = 1;
}

void boot_wait(struct boot *b)
{
	pthread_mutex_lock(&B.lock);
	while (!B.booted)
		pthread_cond_wait(&B.cond, &B.lock);
	*b = B.info;
	pthread_mutex_unlock(&B.lock);
}

/* A number from the environment: 0 when `name` holds one in [min, max]. */
static int env_int(const char *name, long min, long max, int *out)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* Names of rank, size, local rank and local size, one launcher a row:
 * Open MPI's (mpirun 4, prterun 5), then MPICH's Hydra. */
static const char *const env_names[][4] = {
	{ "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
	  "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE" },
	{ "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS" },
};

int boot_from_env(struct boot *b)
{
	for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++) {
		const char *const *n = env_names[i];
		struct boot e = { 0 };
		if (env_int(n[1], 1, 1 << 24, &e.size) < 0 ||
		    env_int(n[0], 0, e.size - 1, &e.rank) < 0 ||
		    env_int(n[3], 1, e.size, &e.local_size) < 0 ||
		    env_int(n[2], 0, e.local_size - 1, &e.local_rank) < 0)
			continue;
		*b = e;
		return 0;
	}
	return -1;
}

int boot_launcher(void)
{
	static const char *const names[] = {
		"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "SLURM_PROCID",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (getenv(names[i]))
			return (int)getppid();
	return 0;
}

void boot_address(int *rc0, char addr[BOOT_ADDR_LEN])
{
	pthread_mutex_lock(&B.lock);
	if (B.want != WANT_NONE) {
		pthread_mutex_unlock(&B.lock);
		return;
	}
	B.rc0 = *rc0;
	memcpy(B.addr, addr, BOOT_ADDR_LEN);
	B.want = WANT_ADDRESS;
	pthread_cond_broadcast(&B.cond);
	while (!B.addressed)
		pthread_cond_wait(&B.cond, &B.lock);
	*rc0 = B.rc0;
	memcpy(addr, B.addr, BOOT_ADDR_LEN);
	addr[BOOT_ADDR_LEN - 1] = '\0';
	pthread_mutex_unlock(&B.lock);
}

int boot_end(int rc, unsigned limit)
{
	struct timespec until;
	int timed_out = 0;

	if (!B.started)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)limit;
	pthread_mutex_lock(&B.lock);
	if (B.want == WANT_NONE) {
		B.want = WANT_FINALIZE;
		pthread_cond_broadcast(&B.cond);
	}
	while (!B.finalized && !timed_out) {
		if (!limit)
			pthread_cond_wait(&B.cond, &B.lock);
		else if (pthread_cond_timedwait(&B.cond, &B.lock, &until) ==
			 ETIMEDOUT)
			timed_out = !B.finalized;
	}
	pthread_mutex_unlock(&B.lock);
	if (timed_out) {
		/* A rank of the job died before it reached MPI_Finalize:
		 * Open MPI can wait for it for good. */
		log_msg(LOG_DEBUG, "MPI_Finalize did not return within %u s; "
			"ending without it", limit);
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	pthread_join(B.thread, NULL);
	return rc;
}
