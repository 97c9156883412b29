/* Data paths of a binary in a build tree: the source tree's folders. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/paths.h"

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

START_TEST(bindir_is_the_executables_folder)
{
	const char *b = paths_bindir();
	size_t n = strlen(b);

	/* This suite runs as BUILD/tests/check_paths. */
	ck_assert_msg(n >= 6 && !strcmp(b + n - 6, "/tests"), "bindir '%s'", b);
	ck_assert(is_dir(b));
	ck_assert_ptr_eq(paths_bindir(), b);
}
END_TEST

START_TEST(build_tree_uses_the_source_tree)
{
	ck_assert_str_eq(paths_profiles_dir(), CLUSTER_SRCDIR "/config");
	ck_assert_str_eq(paths_templates_dir(), CLUSTER_SRCDIR "/jobscripts");
	ck_assert_str_eq(paths_dashboard_dir(), CLUSTER_SRCDIR "/dashboard");
	ck_assert(is_dir(paths_profiles_dir()));
	ck_assert(is_dir(paths_templates_dir()));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("paths");
	TCase *tc = tcase_create("paths");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, bindir_is_the_executables_folder);
	tcase_add_test(tc, build_tree_uses_the_source_tree);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
