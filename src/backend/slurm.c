/*
 * backend slurm: #SBATCH directives.
 */
#include "backend/internal.h"

#include "util/units.h"

static void slurm_memory(uint64_t bytes, struct strbuf *out)
{
	backend_memory_mib(bytes, "M", "G", out);
}

static void slurm_memory_request(const struct backend_job *j,
				 struct strbuf *out)
{
	strbuf_addstr(out, "--mem=");
	slurm_memory(j->memory, out);
}

static void slurm_directives(const struct backend *b,
			     const struct backend_job *j, struct strbuf *out)
{
	struct strbuf mem = STRBUF_INIT, walltime = STRBUF_INIT;

	slurm_memory_request(j, &mem);
	duration_format_hms(&walltime, j->walltime);
	backend_directive(b, j, out, "--job-name=%s", j->name);
	if (j->queue)
		backend_directive(b, j, out, "--partition=%s", j->queue);
	if (j->account)
		backend_directive(b, j, out, "--account=%s", j->account);
	backend_directive(b, j, out, "--nodes=%u", j->nodes);
	backend_directive(b, j, out, "--ntasks-per-node=%u", j->processes);
	backend_directive(b, j, out, "--cpus-per-task=%u", j->threads);
	backend_directive(b, j, out, "%s", mem.buf);
	if (j->gpus)
		backend_directive(b, j, out, "--gres=gpu:%u", j->gpus);
	backend_directive(b, j, out, "--time=%s", walltime.buf);
	backend_directive(b, j, out, "--output=%s/%%x-%%j.out", j->log_dir);
	backend_directive(b, j, out, "--error=%s/%%x-%%j.err", j->log_dir);
	strbuf_release(&walltime);
	strbuf_release(&mem);
}

const struct backend backend_slurm = {
	.name = "slurm",
	.is_batch = 1,
	.prefix = "#SBATCH ",
	.account_env = "SLURM_ACCOUNT",
	.memory = slurm_memory,
	.memory_request = slurm_memory_request,
	.directives = slurm_directives,
};
