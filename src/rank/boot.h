#ifndef CLUSTER_RANK_BOOT_H
#define CLUSTER_RANK_BOOT_H

/*
 * boot: every PMIx and MPI call of cluster-rank, made by one thread of
 * its own.
 *
 * The launcher's PMIx server (or MPI, where the launcher serves no
 * PMIx) only tells a rank where it is and carries rank 0's answer (its
 * status and the scheduler's address) to the others; once that is done
 * the thread finalizes while the rank works, so a rank's end waits for
 * no finalize.  The calling thread must be the only one to call these,
 * in this order: boot_begin, boot_wait, at most one boot_address or
 * boot_release, boot_end (or boot_from_env alone, then boot_end).
 */

#define BOOT_ADDR_LEN 320

/* Where this rank is, as MPI tells it. */
struct boot {
	int rank, size;
	int local_rank, local_size;	/* on this node */
	int sched_here;			/* world rank 0 is on this node */
	const char *via;		/* who said: "PMIx", "MPI" or
					   "the launcher's environment" */
};

/* Starts the thread, which starts PMIx (MPI) at once; exits the
 * program when no thread can start.  boot_wait then waits until the
 * thread knows where this rank is, and fills `b`. */
void boot_begin(void);
void boot_wait(struct boot *b);

/* Without MPI: where the launcher says this rank is, in the environment
 * it gives every rank (Open MPI's mpirun and prterun, MPICH's Hydra).
 * 0 when it says all of rank, size, local rank and local size.  Enough
 * for ranks that need no broadcast (a worker job's: then boot_address
 * must not be called, and boot_end only returns), and for rank 0 to
 * start its scheduler while MPI starts (sched_here is left 0). */
int boot_from_env(struct boot *b);

/* Rank 0 sends *rc0 and `addr` ("" when the scheduler did not start) to
 * every rank; any other rank gets them into *rc0 and `addr` (*rc0 2 and
 * "" when they cannot come).  Then the thread finalizes without waiting
 * for the caller. */
void boot_address(int *rc0, char addr[BOOT_ADDR_LEN]);

/* For a rank that needs no address: the thread finalizes now, without
 * waiting for the caller. */
void boot_release(void);

/* The pid of the launcher that started this rank (mpirun, orted, prted,
 * Hydra's proxy, slurmstepd: the parent, when the environment holds a
 * launcher's rank variables), or 0 when none did.  MPI no longer ends a
 * rank when that process dies, so the rank watches for it itself. */
int boot_launcher(void);

/* Finalizes, unless boot_address or boot_release did already, and
 * waits up to `limit` seconds (0: for good) for the thread to end; past
 * that the program ends at once with status `rc`.  Returns `rc`. */
int boot_end(int rc, unsigned limit);

#endif
