/* The CLI's formatting: shell quoting of listed commands. */
#include <check.h>
#include <stdlib.h>

#include "cli/format.h"

static const char *words(const char *const *argv)
{
	static struct strbuf sb = STRBUF_INIT;

	strbuf_reset(&sb);
	format_shell_words(&sb, argv);
	return sb.buf;
}

START_TEST(plain_words_stay)
{
	const char *const a[] = { "./sim", "--seed=3", "a,b", "x:y", "50%", NULL };
	ck_assert_str_eq(words(a), "./sim --seed=3 a,b x:y 50%");
}
END_TEST

START_TEST(shell_characters_are_quoted)
{
	const char *const a[] = { "/bin/sh", "-c", "echo \"a b\" > /dev/null",
				  NULL };
	ck_assert_str_eq(words(a), "/bin/sh -c 'echo \"a b\" > /dev/null'");
	const char *const b[] = { "echo", "it's", "$HOME", "*", "~", "{}", NULL };
	ck_assert_str_eq(words(b), "echo 'it'\\''s' '$HOME' '*' '~' '{}'");
}
END_TEST

START_TEST(empty_and_assignment_words)
{
	const char *const a[] = { "printf", "", "x", NULL };
	ck_assert_str_eq(words(a), "printf '' x");
	const char *const b[] = { "A=1", "B=2", NULL };
	ck_assert_str_eq(words(b), "'A=1' B=2");
	const char *const c[] = { NULL };
	ck_assert_str_eq(words(c), "");
	ck_assert_str_eq(words(NULL), "");
}
END_TEST

START_TEST(spaces_tabs_newlines)
{
	const char *const a[] = { "echo", "a b", "a\tb", "a\nb", NULL };
	ck_assert_str_eq(words(a), "echo 'a b' 'a\tb' 'a\nb'");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("format");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, plain_words_stay);
	tcase_add_test(tc, shell_characters_are_quoted);
	tcase_add_test(tc, empty_and_assignment_words);
	tcase_add_test(tc, spaces_tabs_newlines);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
