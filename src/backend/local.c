/*
 * backend local: jobs are process groups on this machine, with no batch
 * system to talk to and so no header directives.
 */
#include "backend/internal.h"

static void local_memory(uint64_t bytes, struct strbuf *out)
{
	backend_memory_mib(bytes, "M", "G", out);
}

const struct backend backend_local = {
	.name = "local",
	.is_batch = 0,
	.memory = local_memory,
};
