/*
 * backend torque: Torque (and Slurm's PBS wrappers) #PBS directives.
 */
#include "backend/internal.h"

#include "util/units.h"

static void torque_memory(uint64_t bytes, struct strbuf *out)
{
	backend_memory_mib(bytes, "MB", "GB", out);
}

/* Torque's mem is for the whole job, not per node. */
static void torque_memory_request(const struct backend_job *j,
				  struct strbuf *out)
{
	unsigned __int128 total = (unsigned __int128)j->memory * j->nodes;

	strbuf_addstr(out, "mem=");
	torque_memory(total > UINT64_MAX ? UINT64_MAX : (uint64_t)total, out);
}

static void torque_directives(const struct backend *b,
			      const struct backend_job *j, struct strbuf *out)
{
	struct strbuf mem = STRBUF_INIT, walltime = STRBUF_INIT;

	torque_memory_request(j, &mem);
	duration_format_hms(&walltime, j->walltime);
	backend_directive(b, j, out, "-N %s", j->name);
	if (j->queue)
		backend_directive(b, j, out, "-q %s", j->queue);
	if (j->account)
		backend_directive(b, j, out, "-A %s", j->account);
	if (j->gpus)
		backend_directive(b, j, out, "-l nodes=%u:ppn=%u:gpus=%u",
				  j->nodes, j->cores, j->gpus);
	else
		backend_directive(b, j, out, "-l nodes=%u:ppn=%u", j->nodes,
				  j->cores);
	backend_directive(b, j, out, "-l %s", mem.buf);
	backend_directive(b, j, out, "-l walltime=%s", walltime.buf);
	backend_directive(b, j, out, "-o %s/", j->log_dir);
	backend_directive(b, j, out, "-e %s/", j->log_dir);
	strbuf_release(&walltime);
	strbuf_release(&mem);
}

const struct backend backend_torque = {
	.name = "torque",
	.is_batch = 1,
	.prefix = "#PBS ",
	.account_env = "PBS_ACCOUNT",
	.memory = torque_memory,
	.memory_request = torque_memory_request,
	.directives = torque_directives,
};
