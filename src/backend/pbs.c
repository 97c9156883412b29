/*
 * backend pbs: PBS Professional (and OpenPBS) #PBS directives.
 */
#include "backend/internal.h"

#include "util/units.h"

static void pbs_memory(uint64_t bytes, struct strbuf *out)
{
	backend_memory_mib(bytes, "MB", "GB", out);
}

static void pbs_memory_request(const struct backend_job *j, struct strbuf *out)
{
	strbuf_addstr(out, "mem=");
	pbs_memory(j->memory, out);
}

/* mem= comes last: PBS Pro takes the resources in any order, but Slurm's
 * PBS stand-in (sbatch reading #PBS lines) reads the memory figure up to
 * the next comma, so anything after it would be read as part of it. */
static void pbs_chunk(struct strbuf *sb, const struct backend_job *j,
		      unsigned count, unsigned mpiprocs, const char *mem)
{
	strbuf_addf(sb, "%u:ncpus=%u:mpiprocs=%u:ompthreads=%u", count,
		    j->cores, mpiprocs, j->threads);
	if (j->gpus)
		strbuf_addf(sb, ":ngpus=%u", j->gpus);
	strbuf_addf(sb, ":mem=%s", mem);
}

static void pbs_directives(const struct backend *b,
			   const struct backend_job *j, struct strbuf *out)
{
	struct strbuf mem = STRBUF_INIT, select = STRBUF_INIT,
		      walltime = STRBUF_INIT;

	pbs_memory(j->memory, &mem);
	duration_format_hms(&walltime, j->walltime);
	/* One chunk per node; a head job's first chunk has a slot for the
	 * scheduler rank, so $PBS_NODEFILE lists it there. */
	strbuf_addstr(&select, "select=");
	if (!j->head) {
		pbs_chunk(&select, j, j->nodes, j->processes, mem.buf);
	} else {
		pbs_chunk(&select, j, 1, j->processes + 1, mem.buf);
		if (j->nodes > 1) {
			strbuf_addch(&select, '+');
			pbs_chunk(&select, j, j->nodes - 1, j->processes, mem.buf);
		}
	}

	backend_directive(b, j, out, "-N %s", j->name);
	if (j->queue)
		backend_directive(b, j, out, "-q %s", j->queue);
	if (j->account)
		backend_directive(b, j, out, "-A %s", j->account);
	backend_directive(b, j, out, "-l %s", select.buf);
	backend_directive(b, j, out, "-l walltime=%s", walltime.buf);
	if (j->priority)
		backend_directive(b, j, out, "-l job_priority=%s", j->priority);
	backend_directive(b, j, out, "-o %s/", j->log_dir);
	backend_directive(b, j, out, "-e %s/", j->log_dir);
	strbuf_release(&walltime);
	strbuf_release(&select);
	strbuf_release(&mem);
}

const struct backend backend_pbs = {
	.name = "pbs",
	.is_batch = 1,
	.prefix = "#PBS ",
	.account_env = "PBS_ACCOUNT",
	.scheduler_slot = 1,
	.memory = pbs_memory,
	.memory_request = pbs_memory_request,
	.directives = pbs_directives,
};
