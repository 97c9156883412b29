/* "Did you mean": prefixes, typos, and nothing for words far from all. */
#include <check.h>
#include <stdlib.h>

#include "cli/suggest.h"

static const char *const commands[] = {
	"config", "job-script", "worker", "submit", "wait", "tasks", "logs",
	"cancel", "workers", "help",
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *s(const char *word)
{
	return suggest(word, commands, NCOMMANDS);
}

START_TEST(typos)
{
	ck_assert_str_eq(s("taks"), "tasks");
	ck_assert_str_eq(s("sumbit"), "submit");
	ck_assert_str_eq(s("cancle"), "cancel");
	ck_assert_str_eq(s("confg"), "config");
	ck_assert_str_eq(s("jobscript"), "job-script");
}
END_TEST

START_TEST(prefixes)
{
	ck_assert_str_eq(s("sub"), "submit");
	ck_assert_str_eq(s("job"), "job-script");
	/* "work" begins two commands: the closest wins. */
	ck_assert_str_eq(s("work"), "worker");
	ck_assert_ptr_null(s("w"));
}
END_TEST

START_TEST(nothing_close)
{
	ck_assert_ptr_null(s("bogus"));
	ck_assert_ptr_null(s("x"));
	ck_assert_ptr_null(s(""));
	ck_assert_ptr_null(suggest("tasks", NULL, 0));
}
END_TEST

START_TEST(exact_word_is_not_suggested)
{
	static const char *const one[] = { "state" };
	ck_assert_ptr_null(suggest("state", one, 1));
	ck_assert_str_eq(suggest("stat", one, 1), "state");
}
END_TEST

int main(void)
{
	Suite *su = suite_create("suggest");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, typos);
	tcase_add_test(tc, prefixes);
	tcase_add_test(tc, nothing_close);
	tcase_add_test(tc, exact_word_is_not_suggested);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
