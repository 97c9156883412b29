/*
 * boot: the bootstrap of cluster-rank in a thread of its own; see boot.h.
 *
 * A rank needs from its launcher where it is (rank, size, its node's
 * ranks) and, in a head job, rank 0's answer: a few bytes, once.  Where
 * the launcher is a PMIx server (Open MPI's mpirun and prterun, srun
 * --mpi=pmix) that is PMIx and nothing more: PMIx_Init, job-level keys
 * the client already holds, rank 0's PMIx_Put and the other ranks'
 * PMIx_Get of it.  No collective: a Get waits for rank 0 alone, so a
 * rank lost on the way holds nobody, and PMIx_Finalize has no barrier.
 * Measured with three ranks on two cores, that is 5-25 ms where
 * MPI_Init took 130-210 ms (it opens every BTL, PML and topology
 * component it finds) and MPI_Finalize's barrier 50 ms more.
 *
 * Other launchers (MPICH's Hydra, Intel MPI, none at all) get MPI as
 * before: MPI_Finalize, a barrier over the launcher, costs a rank
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
 * The thread, and the threads MPI and PMIx start from it, block the
 * signals the rank handles itself (stop signals, SIGCHLD), so those
 * reach the rank's own thread.
 */
#include "rank/boot.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>
#include <pmix.h>

#include "util/log.h"

enum want { WANT_NONE, WANT_ADDRESS, WANT_FINALIZE };

/* The environment variables boot_begin set for the bootstrap's own
 * reading, removed once it is done so no worker or task inherits them. */
static const char *const boot_env[] = {
	"OMPI_MCA_pml", "PMIX_MCA_gds",
};
#define NBOOT_ENV (sizeof(boot_env) / sizeof(boot_env[0]))

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* any change below */
	pthread_t thread;
	struct boot info;
	int started;			/* boot_begin ran */
	int booted, addressed, finalized;
	int pmix;			/* PMIx, not MPI (once booted) */
	pmix_proc_t me;			/* when pmix */
	enum want want;
	int rc0;
	char addr[BOOT_ADDR_LEN];
	int set_env[NBOOT_ENV];		/* boot_begin set boot_env[i] */
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

/* --- PMIx ------------------------------------------------------------------ */

/* Rank 0's answer, "RC ADDR", under this key of rank 0. */
#define BOOT_KEY "cluster.boot"

/* How long the other ranks keep asking while the server answers that
 * rank 0 posted no answer yet (seconds), and how often (ns).  A server
 * that knows rank 0 holds the request until rank 0 commits; one that
 * looks in a shared store can answer "not found" before that. */
#define BOOT_NOT_FOUND_LIMIT 60
#define BOOT_NOT_FOUND_NAP 5000000L

/* A number the launcher keeps for `rank` (or the whole job, with
 * PMIX_RANK_WILDCARD); 0 when it has one. */
static int pmix_number(pmix_rank_t rank, const char *key, long *out)
{
	pmix_proc_t p;
	pmix_value_t *v = NULL;
	pmix_status_t rc;

	PMIX_LOAD_PROCID(&p, B.me.nspace, rank);
	if (PMIx_Get(&p, key, NULL, 0, &v) != PMIX_SUCCESS || !v)
		return -1;
	PMIX_VALUE_GET_NUMBER(rc, v, *out, long);
	PMIX_VALUE_RELEASE(v);
	return rc == PMIX_SUCCESS ? 0 : -1;
}

/* Whether world rank 0 is among this node's ranks: PMIX_LOCAL_PEERS,
 * "0,1,2".  -1 when the launcher does not say. */
static int pmix_sched_here(void)
{
	pmix_proc_t p;
	pmix_value_t *v = NULL;
	int here = -1;

	PMIX_LOAD_PROCID(&p, B.me.nspace, PMIX_RANK_WILDCARD);
	if (PMIx_Get(&p, PMIX_LOCAL_PEERS, NULL, 0, &v) != PMIX_SUCCESS || !v)
		return -1;
	if (v->type == PMIX_STRING && v->data.string) {
		const char *s = v->data.string;
		here = 0;
		while (*s && !here) {
			char *end;
			unsigned long r = strtoul(s, &end, 10);
			if (end == s)
				break;
			here = r == 0;
			s = *end == ',' ? end + 1 : end;
		}
	}
	PMIX_VALUE_RELEASE(v);
	return here;
}

/* Where this rank is, from its PMIx server; 0 when the server said
 * everything.  Else PMIx is finalized again and MPI is the way. */
static int pmix_where(struct boot *b)
{
	pmix_status_t rc = PMIx_Init(&B.me, NULL, 0);
	long size, lrank, lsize;
	int here;

	if (rc != PMIX_SUCCESS) {
		log_msg(LOG_DEBUG, "PMIx_Init: %s; starting MPI instead",
			PMIx_Error_string(rc));
		return -1;
	}
	if (pmix_number(PMIX_RANK_WILDCARD, PMIX_JOB_SIZE, &size) < 0 ||
	    pmix_number(B.me.rank, PMIX_LOCAL_RANK, &lrank) < 0 ||
	    pmix_number(PMIX_RANK_WILDCARD, PMIX_LOCAL_SIZE, &lsize) < 0 ||
	    (here = pmix_sched_here()) < 0 ||
	    size < 1 || B.me.rank >= (pmix_rank_t)size || lsize < 1 ||
	    lsize > size || lrank < 0 || lrank >= lsize) {
		log_msg(LOG_DEBUG, "the PMIx server does not say where rank %u "
			"is; starting MPI instead", (unsigned)B.me.rank);
		PMIx_Finalize(NULL, 0);
		return -1;
	}
	b->rank = (int)B.me.rank;
	b->size = (int)size;
	b->local_rank = (int)lrank;
	b->local_size = (int)lsize;
	b->sched_here = here;
	b->via = "PMIx";
	return 0;
}

/* Rank 0 posts B.rc0 and B.addr; any other rank gets them. */
static void pmix_address(void)
{
	pmix_value_t val, *v = NULL;
	pmix_status_t rc;

	if (B.me.rank == 0) {
		char msg[BOOT_ADDR_LEN + 16];
		snprintf(msg, sizeof(msg), "%d %s", B.rc0, B.addr);
		PMIX_VALUE_LOAD(&val, msg, PMIX_STRING);
		rc = PMIx_Put(PMIX_GLOBAL, BOOT_KEY, &val);
		PMIX_VALUE_DESTRUCT(&val);
		if (rc == PMIX_SUCCESS)
			rc = PMIx_Commit();
		if (rc != PMIX_SUCCESS)
			log_msg(LOG_ERR, "cannot give the other ranks the "
				"scheduler's address over PMIx: %s",
				PMIx_Error_string(rc));
		return;
	}

	pmix_proc_t zero;
	pmix_info_t refresh;
	bool yes = true;
	struct timespec nap = { 0, BOOT_NOT_FOUND_NAP };
	long naps = 0, limit = BOOT_NOT_FOUND_LIMIT * (1000000000L /
						       BOOT_NOT_FOUND_NAP);

	PMIX_LOAD_PROCID(&zero, B.me.nspace, 0);
	PMIX_INFO_LOAD(&refresh, PMIX_GET_REFRESH_CACHE, &yes, PMIX_BOOL);
	for (;;) {
		rc = PMIx_Get(&zero, BOOT_KEY, naps ? &refresh : NULL,
			      naps ? 1 : 0, &v);
		if (rc != PMIX_ERR_NOT_FOUND || ++naps > limit)
			break;
		nanosleep(&nap, NULL);
	}
	PMIX_INFO_DESTRUCT(&refresh);
	B.rc0 = 2;
	B.addr[0] = '\0';
	if (rc != PMIX_SUCCESS || !v || v->type != PMIX_STRING ||
	    !v->data.string) {
		log_msg(LOG_ERR, "rank %u: no scheduler address from rank 0 "
			"over PMIx: %s", (unsigned)B.me.rank,
			rc != PMIX_SUCCESS ? PMIx_Error_string(rc) :
			"not a string");
	} else {
		char *end;
		long rc0 = strtol(v->data.string, &end, 10);
		if (end != v->data.string && (*end == ' ' || !*end)) {
			B.rc0 = (int)rc0;
			snprintf(B.addr, sizeof(B.addr), "%s",
				 *end ? end + 1 : "");
		} else {
			log_msg(LOG_ERR, "rank %u: rank 0's answer over PMIx is "
				"not a status and an address: '%s'",
				(unsigned)B.me.rank, v->data.string);
		}
	}
	if (v)
		PMIX_VALUE_RELEASE(v);
}

/* --- MPI ------------------------------------------------------------------- */

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
	b->via = "MPI";
}

static void mpi_address(void)
{
	MPI_Bcast(&B.rc0, 1, MPI_INT, 0, MPI_COMM_WORLD);
	MPI_Bcast(B.addr, BOOT_ADDR_LEN, MPI_CHAR, 0, MPI_COMM_WORLD);
}

/* --- the thread ------------------------------------------------------------ */

/* A launcher that serves PMIx names its ranks' namespace and rank in
 * their environment, beside its server's address (PMIX_SERVER_URI4,
 * ...: one per protocol version, which PMIx_Init picks from). */
static int pmix_served(void)
{
	return getenv("PMIX_NAMESPACE") && getenv("PMIX_RANK");
}

static void *boot_thread(void *arg)
{
	int provided;

	(void)arg;
	if (B.pmix && pmix_where(&B.info) < 0)
		B.pmix = 0;
	if (!B.pmix) {
		MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
		mpi_where(&B.info);
	}
	set_flag(&B.booted);

	pthread_mutex_lock(&B.lock);
	while (B.want == WANT_NONE)
		pthread_cond_wait(&B.cond, &B.lock);
	enum want want = B.want;
	pthread_mutex_unlock(&B.lock);
	if (want == WANT_ADDRESS) {
		/* B.rc0 and B.addr are the thread's until `addressed` */
		if (B.pmix)
			pmix_address();
		else
			mpi_address();
		set_flag(&B.addressed);
	}
	if (B.pmix)
		PMIx_Finalize(NULL, 0);
	else
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
	 * workers need anyway.  A pml set in the environment still wins.
	 * A PMIx client that reads its peers' data from a store it shares
	 * with the server (gds ds12, ds21) can find rank 0 there without
	 * the key rank 0 is about to post, and be told "not found"; with
	 * its own copies (hash) it asks the server, which waits for rank
	 * 0.  Both are taken out of the environment again in boot_wait. */
	for (size_t i = 0; i < NBOOT_ENV; i++)
		B.set_env[i] = !getenv(boot_env[i]) &&
			setenv(boot_env[i], i == 0 ? "ob1" : "hash", 0) == 0;
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
	B.pmix = pmix_served();		/* the thread's from now on */
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
	/* MPI and PMIx read their parameters in their init, done now; the
	 * main thread is the only one that touches the environment. */
	for (size_t i = 0; i < NBOOT_ENV; i++)
		if (B.set_env[i]) {
			unsetenv(boot_env[i]);
			B.set_env[i] = 0;
		}
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
		struct boot e = { .via = "the launcher's environment" };
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

void boot_release(void)
{
	if (!B.started)
		return;
	pthread_mutex_lock(&B.lock);
	if (B.want == WANT_NONE) {
		B.want = WANT_FINALIZE;
		pthread_cond_broadcast(&B.cond);
	}
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
		log_msg(LOG_DEBUG, "%s did not return within %u s; ending "
			"without it", B.pmix ? "PMIx_Finalize" : "MPI_Finalize",
			limit);
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	pthread_join(B.thread, NULL);
	return rc;
}
