/*
 * gpus: a worker's GPUs (gpus.h).  CUDA_VISIBLE_DEVICES first, because
 * that is how PBS (Casper), Slurm's gres and site prologues hand a job
 * its devices, and its names are what a task's CUDA_VISIBLE_DEVICES must
 * use; then ROCR_VISIBLE_DEVICES (AMD) and SLURM_JOB_GPUS (Slurm's
 * indices of the job's GPUs); `nvidia-smi -L` only where nothing set
 * them, since it lists the whole node's GPUs, the job's or not.
 */
#include "worker/gpus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/paths.h"
#include "util/strbuf.h"
#include "util/units.h"
#include "util/xalloc.h"

static void add(struct gpus *g, const char *id, size_t len)
{
	if (g->n < GPUS_MAX)
		g->id[g->n++] = xstrndup(id, len);
}

/* The variables that hand a job its devices, in the order they are
 * believed: CUDA's own (PBS on Casper, Slurm's gres, site prologues),
 * AMD's, then Slurm's list of the job's GPU indices. */
static const char *const gpu_vars[] = {
	"CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "SLURM_JOB_GPUS",
};

/* The index in gpu_vars of the variable that names the devices (maybe
 * none), or -1 when none of them is set. */
static int from_env(struct gpus *g)
{
	const char *v = NULL;
	int which;

	for (which = 0; which < (int)(sizeof(gpu_vars) / sizeof(gpu_vars[0]));
	     which++)
		if ((v = getenv(gpu_vars[which])))
			break;
	if (!v)
		return -1;
	if (!strcmp(v, "-1") || !strcmp(v, "NoDevFiles"))
		return which;
	while (*v) {
		size_t len = strcspn(v, ",");
		while (len && v[0] == ' ')
			v++, len--;
		if (len)
			add(g, v, len);
		v += len;
		if (*v == ',')
			v++;
	}
	return which;
}

/* "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-...)": the index.  Where
 * PATH has no nvidia-smi (most nodes without NVIDIA GPUs) no shell is
 * started for it: every rank of a job asks at its start. */
static void from_nvidia_smi(struct gpus *g)
{
	struct strbuf path = STRBUF_INIT;
	int found = paths_find_command("nvidia-smi", &path) == 0;
	FILE *f;
	char line[512];

	strbuf_release(&path);
	if (!found || !(f = popen("nvidia-smi -L 2>/dev/null", "r")))
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t len;
		if (strncmp(line, "GPU ", 4))
			continue;
		len = strspn(line + 4, "0123456789");
		if (len && line[4 + len] == ':')
			add(g, line + 4, len);
	}
	pclose(f);
}

int gpus_detect(struct gpus *g, const char *want, const char *label,
		struct err *err)
{
	uint64_t count = 0;
	int all = !want || !strcmp(want, "auto");
	int env;

	memset(g, 0, sizeof(*g));
	if (!all && count_parse(want, 0, GPUS_MAX, &count) < 0)
		return errprintf(err, "%s: expected auto or a count of GPUs "
				 "from 0 to %d, got '%s'", label, GPUS_MAX, want);
	if (!all && !count)
		return 0;
	env = from_env(g);
	if (env < 0)
		from_nvidia_smi(g);
	if (all)
		return 0;
	if (g->n >= count) {
		gpus_slice(g, 0, (unsigned)count);
		return 0;
	}
	if (env >= 0 || g->n) {
		unsigned seen = g->n;
		gpus_release(g);
		return errprintf(err, "%s = %llu, but %s names %u GPU%s; "
				 "ask for at most %u or auto", label,
				 (unsigned long long)count,
				 env >= 0 ? gpu_vars[env] : "nvidia-smi -L",
				 seen, seen == 1 ? "" : "s", seen);
	}
	for (unsigned i = 0; i < count; i++) {
		char id[16];
		snprintf(id, sizeof(id), "%u", i);
		add(g, id, strlen(id));
	}
	return 0;
}

void gpus_slice(struct gpus *g, unsigned first, unsigned count)
{
	unsigned n = 0;

	for (unsigned i = 0; i < g->n; i++) {
		if (i >= first && i - first < count)
			g->id[n++] = g->id[i];
		else
			free(g->id[i]);
	}
	g->n = n;
}

int gpus_share(struct gpus *g, const char *want, unsigned index,
	       unsigned nworkers, const char *label, struct err *err)
{
	char node[32];
	uint64_t per;

	if (!nworkers || index >= nworkers)
		nworkers = 1, index = 0;
	if (!want || !strcmp(want, "auto")) {
		if (gpus_detect(g, "auto", label, err) < 0)
			return -1;
		unsigned each = g->n / nworkers, extra = g->n % nworkers;
		gpus_slice(g, index * each + (index < extra ? index : extra),
			   each + (index < extra));
		return 0;
	}
	if (count_parse(want, 0, GPUS_MAX, &per) < 0 ||
	    per * nworkers > GPUS_MAX)
		return errprintf(err, "%s: expected auto or a count of GPUs "
				 "from 0 to %u per worker, got '%s'", label,
				 GPUS_MAX / nworkers, want);
	snprintf(node, sizeof(node), "%llu",
		 (unsigned long long)(per * nworkers));
	if (gpus_detect(g, node, label, err) < 0) {
		if (nworkers > 1)
			errprefix(err, "%u worker ranks on this node", nworkers);
		return -1;
	}
	gpus_slice(g, index * (unsigned)per, (unsigned)per);
	return 0;
}

void gpus_release(struct gpus *g)
{
	for (unsigned i = 0; i < g->n; i++)
		free(g->id[i]);
	memset(g, 0, sizeof(*g));
}

uint64_t gpus_take(const struct gpus *g, uint64_t *used, unsigned n)
{
	uint64_t mask = 0;
	unsigned got = 0;

	if (gpus_free(g, *used) < n)
		return 0;
	for (unsigned i = 0; i < g->n && got < n; i++) {
		if (!(*used >> i & 1)) {
			mask |= (uint64_t)1 << i;
			got++;
		}
	}
	*used |= mask;
	return mask;
}

unsigned gpus_free(const struct gpus *g, uint64_t used)
{
	unsigned n = 0;

	for (unsigned i = 0; i < g->n; i++)
		n += !(used >> i & 1);
	return n;
}

void gpus_list(const struct gpus *g, uint64_t mask, struct strbuf *sb)
{
	const char *sep = "";

	for (unsigned i = 0; i < g->n; i++) {
		if (mask >> i & 1) {
			strbuf_addf(sb, "%s%s", sep, g->id[i]);
			sep = ",";
		}
	}
}
