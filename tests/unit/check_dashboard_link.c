/*
 * dashboard link: templates expand {host}, {port} and environment
 * variables in their three spellings, fall back to the direct link when
 * a variable is unset, quote what a URL cannot hold, and bad
 * placeholders are refused with what to write instead.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard/link.h"

static const char *env(const char *name)
{
	if (!strcmp(name, "USER"))
		return "jdoe";
	if (!strcmp(name, "JUPYTERHUB_SERVICE_PREFIX"))
		return "/user/jdoe/";
	if (!strcmp(name, "ODD"))
		return "a b#c\"";
	return NULL;
}

static int link_of(const char *tmpl, const char *host, struct strbuf *sb,
		   struct err *err)
{
	strbuf_reset(sb);
	return dashboard_link(sb, tmpl, host, 8787, env, err);
}

START_TEST(test_direct)
{
	struct strbuf sb = STRBUF_INIT;

	ck_assert_int_eq(link_of(NULL, "node1", &sb, NULL), 1);
	ck_assert_str_eq(sb.buf, "http://node1:8787/status");
	ck_assert_int_eq(link_of("", "::1", &sb, NULL), 1);
	ck_assert_str_eq(sb.buf, "http://[::1]:8787/status");
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_jupyterhub)
{
	struct strbuf sb = STRBUF_INIT;

	ck_assert_int_eq(link_of("https://hub.example.org/user/{USER}/proxy/{port}/status",
				 "n", &sb, NULL), 1);
	ck_assert_str_eq(sb.buf, "https://hub.example.org/user/jdoe/proxy/8787/status");
	ck_assert_int_eq(link_of("https://hub$JUPYTERHUB_SERVICE_PREFIXproxy/{port}/status",
				 "n", &sb, NULL), 1);
	ck_assert_str_eq(sb.buf, "https://hub/user/jdoe/proxy/8787/status");
	ck_assert_int_eq(link_of("${JUPYTERHUB_SERVICE_PREFIX}proxy/{host}:{port}/",
				 "n", &sb, NULL), 1);
	ck_assert_str_eq(sb.buf, "/user/jdoe/proxy/n:8787/");
	/* A lone '$' or a lower-case name is text. */
	ck_assert_int_eq(link_of("http://{host}/$/$x", "n", &sb, NULL), 1);
	ck_assert_str_eq(sb.buf, "http://n/$/$x");
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_unset_falls_back)
{
	struct strbuf sb = STRBUF_INIT;
	struct err err = { "" };

	ck_assert_int_eq(link_of("https://hub{NOPE}/proxy/{port}/status", "n1",
				 &sb, &err), 0);
	ck_assert_str_eq(sb.buf, "http://n1:8787/status");
	ck_assert_str_eq(err.text, "'NOPE' is unset");
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_values_quoted)
{
	struct strbuf sb = STRBUF_INIT;

	ck_assert_int_eq(link_of("http://{host}/{ODD}", "n", &sb, NULL), 1);
	ck_assert_str_eq(sb.buf, "http://n/a%20b%23c%22");
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_bad_templates)
{
	struct strbuf sb = STRBUF_INIT;
	struct err err = { "" };

	strbuf_addstr(&sb, "kept");
	ck_assert_int_eq(dashboard_link(&sb, "http://{hots}:{port}/", "n", 1,
					env, &err), -1);
	ck_assert_str_eq(sb.buf, "kept");
	ck_assert_str_eq(err.text, "dashboard.link: unknown placeholder '{hots}' "
			 "(did you mean '{host}'?)");
	ck_assert_int_eq(dashboard_link_check("http://{scheme}/", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "'{scheme}': known are {host}"));
	ck_assert_int_eq(dashboard_link_check("http://{host:{port}/", &err), -1);
	ck_assert_int_eq(dashboard_link_check("http://{host}:{port/", &err), -1);
	ck_assert_str_eq(err.text, "dashboard.link: '{' at column 15 is never closed");
	ck_assert_int_eq(dashboard_link_check("${}x", &err), -1);
	ck_assert_int_eq(dashboard_link_check("${lower}x", &err), -1);
	ck_assert_int_eq(dashboard_link_check("https://h/{USER}/$P/${Q}", &err), 0);
	ck_assert_int_eq(dashboard_link_check(NULL, &err), 0);
	strbuf_release(&sb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dashboard_link");
	TCase *tc = tcase_create("link");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_direct);
	tcase_add_test(tc, test_jupyterhub);
	tcase_add_test(tc, test_unset_falls_back);
	tcase_add_test(tc, test_values_quoted);
	tcase_add_test(tc, test_bad_templates);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
