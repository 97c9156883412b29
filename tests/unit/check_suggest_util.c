/* Edit distance and the closest candidate, as both "did you mean"s use them. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/suggest.h"

START_TEST(distance_counts_edits)
{
	ck_assert_uint_eq(suggest_distance("", ""), 0);
	ck_assert_uint_eq(suggest_distance("cores", "cores"), 0);
	ck_assert_uint_eq(suggest_distance("", "abc"), 3);
	ck_assert_uint_eq(suggest_distance("abc", ""), 3);
	ck_assert_uint_eq(suggest_distance("core", "cores"), 1);	/* insertion */
	ck_assert_uint_eq(suggest_distance("cores", "core"), 1);	/* deletion */
	ck_assert_uint_eq(suggest_distance("cores", "cares"), 1);	/* substitution */
	ck_assert_uint_eq(suggest_distance("kitten", "sitting"), 3);
}
END_TEST

START_TEST(distance_swapped_pair_is_one_edit)
{
	ck_assert_uint_eq(suggest_distance("taks", "task"), 1);
	ck_assert_uint_eq(suggest_distance("sumbit", "submit"), 1);
	ck_assert_uint_eq(suggest_distance("ab", "ba"), 1);
	/* optimal string alignment: a swapped pair is not edited again */
	ck_assert_uint_eq(suggest_distance("ca", "abc"), 3);
}
END_TEST

START_TEST(distance_is_symmetric)
{
	static const char *const w[] = { "", "a", "job.cores", "jbo.croes",
					 "launcher", "lunch" };
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		for (size_t j = 0; j < sizeof(w) / sizeof(w[0]); j++)
			ck_assert_uint_eq(suggest_distance(w[i], w[j]),
					  suggest_distance(w[j], w[i]));
}
END_TEST

START_TEST(best_starts_empty)
{
	struct suggest_best sb = SUGGEST_BEST_INIT("word");

	ck_assert_ptr_null(sb.best);
	ck_assert_uint_eq(sb.distance, SIZE_MAX);
	ck_assert_str_eq(sb.word, "word");
}
END_TEST

START_TEST(best_keeps_the_closest)
{
	struct suggest_best sb = SUGGEST_BEST_INIT("tasks");

	ck_assert_uint_eq(suggest_best_consider(&sb, "logs"), 4);
	ck_assert_str_eq(sb.best, "logs");
	ck_assert_uint_eq(suggest_best_consider(&sb, "taks"), 1);
	ck_assert_str_eq(sb.best, "taks");
	/* farther: returned, not kept */
	ck_assert_uint_eq(suggest_best_consider(&sb, "wait"), 4);
	ck_assert_str_eq(sb.best, "taks");
	ck_assert_uint_eq(sb.distance, 1);
}
END_TEST

START_TEST(best_first_of_equals_stays)
{
	static const char first[] = "ab", second[] = "ba";
	struct suggest_best sb = SUGGEST_BEST_INIT("aa");

	suggest_best_consider(&sb, first);
	suggest_best_consider(&sb, second);
	ck_assert_ptr_eq(sb.best, first);
	ck_assert_uint_eq(sb.distance, 1);
}
END_TEST

START_TEST(best_points_into_candidates)
{
	char cand[] = "worker";
	struct suggest_best sb = SUGGEST_BEST_INIT("worker");

	ck_assert_uint_eq(suggest_best_consider(&sb, cand), 0);
	ck_assert_ptr_eq(sb.best, cand);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("suggest_util");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, distance_counts_edits);
	tcase_add_test(tc, distance_swapped_pair_is_one_edit);
	tcase_add_test(tc, distance_is_symmetric);
	tcase_add_test(tc, best_starts_empty);
	tcase_add_test(tc, best_keeps_the_closest);
	tcase_add_test(tc, best_first_of_equals_stays);
	tcase_add_test(tc, best_points_into_candidates);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
