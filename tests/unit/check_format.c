/* The CLI's formatting: shell quoting of listed commands, sizes in
 * one word, lines cut to the terminal's width. */
#include <check.h>
#include <stdlib.h>
#include <unistd.h>

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

static const char *cut(const char *s, size_t columns)
{
	static struct strbuf sb = STRBUF_INIT;

	strbuf_reset(&sb);
	strbuf_addstr(&sb, s);
	format_cut(&sb, columns);
	return sb.buf;
}

START_TEST(cut_to_columns)
{
	ck_assert_str_eq(cut("abcdefghij", 10), "abcdefghij");
	ck_assert_str_eq(cut("abcdefghij", 9), "abcdef...");
	ck_assert_str_eq(cut("abcdefghij", 1), "a...");
	ck_assert_str_eq(cut("", 5), "");
}
END_TEST

START_TEST(cut_counts_characters_not_bytes)
{
	/* "é" is two bytes, one column. */
	ck_assert_uint_eq(format_columns("\xc3\xa9t\xc3\xa9"), 3);
	ck_assert_str_eq(cut("\xc3\xa9t\xc3\xa9s", 4), "\xc3\xa9t\xc3\xa9s");
	ck_assert_str_eq(cut("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4),
			 "\xc3\xa9...");
}
END_TEST

START_TEST(width_of_a_pipe)
{
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	unsetenv("COLUMNS");
	ck_assert_uint_eq(format_width(fds[1]), 0);
	setenv("COLUMNS", "132", 1);
	ck_assert_uint_eq(format_width(fds[1]), 132);
	setenv("COLUMNS", "wide", 1);
	ck_assert_uint_eq(format_width(fds[1]), 0);
	unsetenv("COLUMNS");
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(size_in_one_word)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "peak ");
	format_size(&sb, 1536ull << 20);
	ck_assert_str_eq(sb.buf, "peak 1.5GiB");
	strbuf_reset(&sb);
	format_size(&sb, 512);
	ck_assert_str_eq(sb.buf, "512B");
	strbuf_release(&sb);
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
	tcase_add_test(tc, cut_to_columns);
	tcase_add_test(tc, cut_counts_characters_not_bytes);
	tcase_add_test(tc, width_of_a_pipe);
	tcase_add_test(tc, size_in_one_word);
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
