/* strbuf: the invariants its header promises. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/strbuf.h"

START_TEST(init_is_empty_string)
{
	struct strbuf a = STRBUF_INIT, b;

	strbuf_init(&b, 0);
	ck_assert_ptr_nonnull(a.buf);
	ck_assert_str_eq(a.buf, "");
	ck_assert_uint_eq(a.len, 0);
	ck_assert_uint_eq(a.alloc, 0);
	ck_assert_str_eq(b.buf, "");
	strbuf_release(&a);		/* releasing an unused buffer is fine */
	ck_assert_str_eq(a.buf, "");
	strbuf_init(&b, 100);
	ck_assert_uint_ge(b.alloc, 101);
	ck_assert_str_eq(b.buf, "");
	strbuf_release(&b);
}
END_TEST

START_TEST(add_and_grow)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "abc");
	strbuf_addch(&sb, '-');
	strbuf_add(&sb, "xyz123", 3);
	ck_assert_str_eq(sb.buf, "abc-xyz");
	ck_assert_uint_eq(sb.len, 7);
	for (int i = 0; i < 1000; i++)
		strbuf_addch(&sb, 'a' + i % 26);
	ck_assert_uint_eq(sb.len, 1007);
	ck_assert_uint_eq(strlen(sb.buf), 1007);
	ck_assert_int_eq(sb.buf[7], 'a');
	ck_assert_int_eq(sb.buf[1006], 'a' + 999 % 26);
	strbuf_release(&sb);
	ck_assert_uint_eq(sb.len, 0);
	ck_assert_str_eq(sb.buf, "");
}
END_TEST

START_TEST(addf_long)
{
	struct strbuf sb = STRBUF_INIT;
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_addf(&sb, "%d:%s", 42, "a");
	ck_assert_str_eq(sb.buf, "42:a");
	strbuf_addf(&sb, "[%s]", big);
	ck_assert_uint_eq(sb.len, 4 + 2 + 4999);
	ck_assert_int_eq(sb.buf[sb.len - 1], ']');
	ck_assert_int_eq(sb.buf[sb.len], '\0');
	strbuf_release(&sb);
}
END_TEST

START_TEST(setlen_reset_detach)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len = 99;

	strbuf_addstr(&sb, "hello world");
	strbuf_setlen(&sb, 5);
	ck_assert_str_eq(sb.buf, "hello");
	strbuf_reset(&sb);
	ck_assert_str_eq(sb.buf, "");
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "kept");
	char *p = strbuf_detach(&sb, &len);
	ck_assert_str_eq(p, "kept");
	ck_assert_uint_eq(len, 4);
	ck_assert_str_eq(sb.buf, "");
	ck_assert_uint_eq(sb.alloc, 0);
	free(p);

	/* detaching an unused buffer still hands over freeable memory */
	p = strbuf_detach(&sb, NULL);
	ck_assert_str_eq(p, "");
	free(p);

	struct strbuf empty = STRBUF_INIT;
	strbuf_reset(&empty);
	ck_assert_str_eq(empty.buf, "");
}
END_TEST

/* The quoted word must come back unchanged through a real shell. */
static void shell_round_trip(const char *word)
{
	struct strbuf cmd = STRBUF_INIT;
	char out[256] = "";

	strbuf_addstr(&cmd, "printf %s ");
	strbuf_add_shquoted(&cmd, word);
	FILE *fp = popen(cmd.buf, "r");
	ck_assert_ptr_nonnull(fp);
	size_t n = fread(out, 1, sizeof(out) - 1, fp);
	out[n] = '\0';
	ck_assert_int_eq(pclose(fp), 0);
	ck_assert_str_eq(out, word);
	strbuf_release(&cmd);
}

START_TEST(shquoted)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_add_shquoted(&sb, "a b");
	ck_assert_str_eq(sb.buf, "'a b'");
	strbuf_reset(&sb);
	strbuf_add_shquoted(&sb, "it's");
	ck_assert_str_eq(sb.buf, "'it'\\''s'");
	strbuf_reset(&sb);
	strbuf_add_shquoted(&sb, "");
	ck_assert_str_eq(sb.buf, "''");
	strbuf_release(&sb);

	shell_round_trip("plain");
	shell_round_trip("$(touch /nonexistent/x) `id` $HOME; rm -rf ~ 'q' \"d\" \\");
	shell_round_trip("''");
}
END_TEST

START_TEST(rtrim)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_rtrim(&sb);
	ck_assert_str_eq(sb.buf, "");
	strbuf_addstr(&sb, "  text \t\r\n\n");
	strbuf_rtrim(&sb);
	ck_assert_str_eq(sb.buf, "  text");
	ck_assert_uint_eq(sb.len, 6);
	strbuf_reset(&sb);
	strbuf_addstr(&sb, " \n");
	strbuf_rtrim(&sb);
	ck_assert_str_eq(sb.buf, "");
	strbuf_release(&sb);
}
END_TEST

START_TEST(read_file)
{
	char path[] = "/tmp/check_strbuf.XXXXXX";
	int fd = mkstemp(path);
	struct strbuf sb = STRBUF_INIT;

	ck_assert_int_ge(fd, 0);
	/* bigger than one read chunk */
	for (int i = 0; i < 3000; i++)
		ck_assert_int_eq(write(fd, "0123456789", 10), 10);
	close(fd);
	strbuf_addstr(&sb, "head:");
	ck_assert_int_eq(strbuf_read_file(&sb, path), 0);
	ck_assert_uint_eq(sb.len, 5 + 30000);
	ck_assert_int_eq(strncmp(sb.buf, "head:0123", 9), 0);
	ck_assert_int_eq(sb.buf[sb.len], '\0');
	unlink(path);

	errno = 0;
	ck_assert_int_eq(strbuf_read_file(&sb, path), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(sb.len, 5 + 30000);	/* unchanged on failure */
	strbuf_release(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("strbuf");
	TCase *tc = tcase_create("strbuf");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, init_is_empty_string);
	tcase_add_test(tc, add_and_grow);
	tcase_add_test(tc, addf_long);
	tcase_add_test(tc, setlen_reset_detach);
	tcase_add_test(tc, shquoted);
	tcase_add_test(tc, rtrim);
	tcase_add_test(tc, read_file);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
