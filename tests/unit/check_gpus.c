/*
 * gpus: what a worker offers from CUDA_VISIBLE_DEVICES, nvidia-smi -L or
 * a count; a rank's share of its node; which devices a task gets.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker/gpus.h"

static char *list_of(const struct gpus *g, uint64_t mask)
{
	static char text[256];
	struct strbuf sb = STRBUF_INIT;

	gpus_list(g, mask, &sb);
	snprintf(text, sizeof(text), "%s", sb.buf);
	strbuf_release(&sb);
	return text;
}

/* PATH without nvidia-smi, or with a fake one (fake_nvidia_smi). */
static char fake_dir[64];
static char *old_path;

static void setup(void)
{
	old_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	snprintf(fake_dir, sizeof(fake_dir), "/tmp/check_gpus.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fake_dir));
	unsetenv("CUDA_VISIBLE_DEVICES");
	unsetenv("ROCR_VISIBLE_DEVICES");
	unsetenv("SLURM_JOB_GPUS");
	setenv("PATH", fake_dir, 1);	/* no nvidia-smi at all */
}

static void teardown(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/nvidia-smi", fake_dir);
	unlink(path);
	rmdir(fake_dir);
	setenv("PATH", old_path, 1);
	free(old_path);
}

static void fake_nvidia_smi(const char *lines)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/nvidia-smi", fake_dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\n[ \"$1\" = -L ] || exit 1\ncat <<'EOT'\n%sEOT\n",
		lines);
	fclose(f);
	chmod(path, 0755);
	/* cat, which the script runs, from the usual places */
	char both[256];
	snprintf(both, sizeof(both), "%s:/usr/bin:/bin", fake_dir);
	setenv("PATH", both, 1);
}

START_TEST(from_cuda_visible_devices)
{
	struct gpus g;
	struct err err = { "" };

	setenv("CUDA_VISIBLE_DEVICES", "3,5", 1);
	ck_assert_int_eq(gpus_detect(&g, "auto", "worker.gpus", &err), 0);
	ck_assert_uint_eq(g.n, 2);
	ck_assert_str_eq(list_of(&g, ~0ULL), "3,5");
	gpus_release(&g);

	ck_assert_int_eq(gpus_detect(&g, "1", "worker.gpus", &err), 0);
	ck_assert_str_eq(list_of(&g, ~0ULL), "3");
	gpus_release(&g);

	ck_assert_int_eq(gpus_detect(&g, "0", "worker.gpus", &err), 0);
	ck_assert_uint_eq(g.n, 0);

	ck_assert_int_eq(gpus_detect(&g, "4", "worker.gpus", &err), -1);
	ck_assert_str_eq(err.text, "worker.gpus = 4, but CUDA_VISIBLE_DEVICES "
			 "names 2 GPUs; ask for at most 2 or auto");
	ck_assert_uint_eq(g.n, 0);

	setenv("CUDA_VISIBLE_DEVICES", "GPU-8f7c1a, MIG-2", 1);
	ck_assert_int_eq(gpus_detect(&g, NULL, "worker.gpus", &err), 0);
	ck_assert_str_eq(list_of(&g, ~0ULL), "GPU-8f7c1a,MIG-2");
	gpus_release(&g);

	/* set but naming none: a count is an error, not devices 0..N-1 */
	setenv("CUDA_VISIBLE_DEVICES", "", 1);
	ck_assert_int_eq(gpus_detect(&g, "auto", "worker.gpus", &err), 0);
	ck_assert_uint_eq(g.n, 0);
	ck_assert_int_eq(gpus_detect(&g, "1", "--gpus", &err), -1);
	ck_assert_str_eq(err.text, "--gpus = 1, but CUDA_VISIBLE_DEVICES names "
			 "0 GPUs; ask for at most 0 or auto");
	setenv("CUDA_VISIBLE_DEVICES", "NoDevFiles", 1);
	ck_assert_int_eq(gpus_detect(&g, "auto", "worker.gpus", &err), 0);
	ck_assert_uint_eq(g.n, 0);
}
END_TEST

/* AMD's variable, then Slurm's list of the job's GPUs; CUDA's first. */
START_TEST(from_rocr_or_slurm)
{
	struct gpus g;
	struct err err = { "" };

	setenv("SLURM_JOB_GPUS", "2,3", 1);
	ck_assert_int_eq(gpus_detect(&g, "auto", "worker.gpus", &err), 0);
	ck_assert_str_eq(list_of(&g, ~0ULL), "2,3");
	gpus_release(&g);
	ck_assert_int_eq(gpus_detect(&g, "3", "worker.gpus", &err), -1);
	ck_assert_str_eq(err.text, "worker.gpus = 3, but SLURM_JOB_GPUS "
			 "names 2 GPUs; ask for at most 2 or auto");

	setenv("ROCR_VISIBLE_DEVICES", "1", 1);
	ck_assert_int_eq(gpus_detect(&g, "auto", "worker.gpus", &err), 0);
	ck_assert_str_eq(list_of(&g, ~0ULL), "1");
	gpus_release(&g);

	setenv("CUDA_VISIBLE_DEVICES", "0,4", 1);
	ck_assert_int_eq(gpus_detect(&g, "auto", "worker.gpus", &err), 0);
	ck_assert_str_eq(list_of(&g, ~0ULL), "0,4");
	gpus_release(&g);
}
END_TEST

START_TEST(from_nvidia_smi_or_a_count)
{
	struct gpus g;
	struct err err = { "" };

	/* nothing visible: auto is none, a count names 0..N-1 */
	ck_assert_int_eq(gpus_detect(&g, "auto", "worker.gpus", &err), 0);
	ck_assert_uint_eq(g.n, 0);
	ck_assert_int_eq(gpus_detect(&g, "3", "worker.gpus", &err), 0);
	ck_assert_str_eq(list_of(&g, ~0ULL), "0,1,2");
	gpus_release(&g);

	fake_nvidia_smi("GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-1)\n"
			"  MIG 1g.5gb     Device  0: (UUID: MIG-1)\n"
			"GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-2)\n");
	ck_assert_int_eq(gpus_detect(&g, "auto", "worker.gpus", &err), 0);
	ck_assert_str_eq(list_of(&g, ~0ULL), "0,1");
	gpus_release(&g);
	ck_assert_int_eq(gpus_detect(&g, "3", "worker.gpus", &err), -1);
	ck_assert_str_eq(err.text, "worker.gpus = 3, but nvidia-smi -L names "
			 "2 GPUs; ask for at most 2 or auto");

	ck_assert_int_eq(gpus_detect(&g, "some", "worker.gpus", &err), -1);
	ck_assert_str_eq(err.text, "worker.gpus: expected auto or a count of "
			 "GPUs from 0 to 64, got 'some'");
	ck_assert_int_eq(gpus_detect(&g, "65", "worker.gpus", &err), -1);
}
END_TEST

START_TEST(a_rank_share_of_the_node)
{
	struct gpus g;
	struct err err = { "" };

	setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3,4", 1);
	/* auto: split like cores, the first ones get one more */
	ck_assert_int_eq(gpus_share(&g, "auto", 0, 2, "worker.gpus", &err), 0);
	ck_assert_str_eq(list_of(&g, ~0ULL), "0,1,2");
	gpus_release(&g);
	ck_assert_int_eq(gpus_share(&g, "auto", 1, 2, "worker.gpus", &err), 0);
	ck_assert_str_eq(list_of(&g, ~0ULL), "3,4");
	gpus_release(&g);
	ck_assert_int_eq(gpus_share(&g, NULL, 5, 6, "worker.gpus", &err), 0);
	ck_assert_uint_eq(g.n, 0);

	/* a count per worker */
	ck_assert_int_eq(gpus_share(&g, "2", 1, 2, "--gpus", &err), 0);
	ck_assert_str_eq(list_of(&g, ~0ULL), "2,3");
	gpus_release(&g);
	ck_assert_int_eq(gpus_share(&g, "2", 2, 3, "--gpus", &err), -1);
	ck_assert_str_eq(err.text, "3 worker ranks on this node: --gpus = 6, "
			 "but CUDA_VISIBLE_DEVICES names 5 GPUs; ask for at "
			 "most 5 or auto");

	/* nothing visible: devices by number */
	unsetenv("CUDA_VISIBLE_DEVICES");
	ck_assert_int_eq(gpus_share(&g, "1", 3, 4, "--gpus", &err), 0);
	ck_assert_str_eq(list_of(&g, ~0ULL), "3");
	gpus_release(&g);
}
END_TEST

START_TEST(tasks_take_free_devices)
{
	struct gpus g;
	struct err err = { "" };
	uint64_t used = 0, a, b, c;

	setenv("CUDA_VISIBLE_DEVICES", "3,5,7", 1);
	ck_assert_int_eq(gpus_detect(&g, "auto", "worker.gpus", &err), 0);
	a = gpus_take(&g, &used, 1);
	ck_assert_str_eq(list_of(&g, a), "3");
	b = gpus_take(&g, &used, 2);
	ck_assert_str_eq(list_of(&g, b), "5,7");
	ck_assert_uint_eq(gpus_free(&g, used), 0);
	ck_assert(gpus_take(&g, &used, 1) == 0);
	used &= ~a;
	ck_assert_uint_eq(gpus_free(&g, used), 1);
	ck_assert(gpus_take(&g, &used, 2) == 0);	/* all or nothing */
	c = gpus_take(&g, &used, 1);
	ck_assert_str_eq(list_of(&g, c), "3");
	ck_assert(gpus_take(&g, &used, 0) == 0);
	ck_assert_str_eq(list_of(&g, 0), "");
	gpus_release(&g);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("gpus");
	TCase *tc = tcase_create("gpus");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, from_cuda_visible_devices);
	tcase_add_test(tc, from_rocr_or_slurm);
	tcase_add_test(tc, from_nvidia_smi_or_a_count);
	tcase_add_test(tc, a_rank_share_of_the_node);
	tcase_add_test(tc, tasks_take_free_devices);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
