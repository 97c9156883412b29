/*
 * Job sizing: how a node's cores and memory are split between its worker
 * ranks; each batch system spells the memory request in backend/.
 */
#include "jobscript/jobscript.h"

#include <string.h>

#include "backend/backend.h"

unsigned job_default_processes(unsigned cores)
{
	if (cores <= 4)
		return cores ? cores : 1;
	/* Near-square split: about as many workers as threads per worker,
	 * leaning towards more workers (36 -> 6 x 6, 128 -> 16 x 8). */
	for (unsigned d = 2; d < cores; d++)
		if (cores % d == 0 && (unsigned long long)d * d >= cores)
			return d;
	return cores;
}

static void list_divisors(struct strbuf *sb, unsigned n)
{
	for (unsigned d = 1; d <= n; d++) {
		if (n % d)
			continue;
		if (d > 1)
			strbuf_addstr(sb, ", ");
		strbuf_addf(sb, "%u", d);
	}
}

/* The value as the user wrote it, for messages. */
static const char *value_text(const struct config *cfg, const char *key)
{
	const struct config_value *v = config_get(cfg, key);

	return v && v->set && v->text ? v->text : "(unset)";
}

int job_size_from_config(const struct config *cfg, struct job_size *js,
			 struct err *err)
{
	struct job_size s;
	const struct config_value *procs = config_get(cfg, "job.processes");
	int64_t nodes = config_get_num(cfg, "job.nodes");
	int64_t cores = config_get_num(cfg, "job.cores");
	int64_t gpus = config_get_num(cfg, "job.gpus");
	int64_t memory = config_get_num(cfg, "job.memory");
	int64_t reserved = config_get_num(cfg, "job.reserved-memory");
	int64_t walltime = config_get_num(cfg, "job.walltime");

	memset(&s, 0, sizeof(s));
	/* The loader enforces the table's bounds; these guard against a
	 * table change turning into a division by zero here. */
	if (nodes < 1 || nodes > 100000)
		return errprintf(err, "job.nodes = %s is out of range; use 1 to 100000",
				 value_text(cfg, "job.nodes"));
	if (cores < 1 || cores > 100000)
		return errprintf(err, "job.cores = %s is out of range; use 1 to 100000",
				 value_text(cfg, "job.cores"));
	if (gpus < 0 || gpus > 100000)
		return errprintf(err, "job.gpus = %s is out of range",
				 value_text(cfg, "job.gpus"));
	if (memory <= 0)
		return errprintf(err, "job.memory = %s leaves the workers no memory; "
				 "set job.memory to the node's memory, e.g. 4GiB",
				 value_text(cfg, "job.memory"));
	if (reserved < 0 || reserved >= memory)
		return errprintf(err, "job.reserved-memory = %s leaves the workers "
				 "nothing of job.memory = %s; lower "
				 "job.reserved-memory or raise job.memory",
				 value_text(cfg, "job.reserved-memory"),
				 value_text(cfg, "job.memory"));
	if (walltime <= 0)
		return errprintf(err, "job.walltime = %s is zero; set a time limit "
				 "like 01:00:00", value_text(cfg, "job.walltime"));
	s.nodes = (unsigned)nodes;
	s.cores = (unsigned)cores;
	s.gpus = (unsigned)gpus;
	s.memory = (uint64_t)memory;
	s.reserved_memory = (uint64_t)reserved;
	s.walltime = (uint64_t)walltime;

	if (procs && procs->set) {
		if (procs->num < 1 || procs->num > 100000 ||
		    s.cores % (unsigned)procs->num) {
			struct strbuf sb = STRBUF_INIT;
			list_divisors(&sb, s.cores);
			errprintf(err, "job.processes = %s does not divide job.cores = %u; "
				  "use one of %s", value_text(cfg, "job.processes"),
				  s.cores, sb.buf);
			strbuf_release(&sb);
			return -1;
		}
		s.processes = (unsigned)procs->num;
	} else {
		s.processes = job_default_processes(s.cores);
	}
	s.threads = s.cores / s.processes;
	s.worker_gpus = s.gpus % s.processes ? 0 : s.gpus / s.processes;
	s.worker_memory = (s.memory - s.reserved_memory) / s.processes;
	if (!s.worker_memory)
		return errprintf(err, "job.memory = %s split between %u workers gives "
				 "each less than one byte; raise job.memory or lower "
				 "job.processes", value_text(cfg, "job.memory"),
				 s.processes);
	*js = s;
	return 0;
}

/* The figure in the named backend's units; an unknown or missing name
 * gets local's, which are Slurm's. */
void job_memory_render(const char *backend, uint64_t bytes,
		       struct strbuf *out)
{
	const struct backend *b = backend_find(backend);

	(b ? b : &backend_local)->memory(bytes, out);
}
