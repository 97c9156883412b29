/* Id lists and ranges: overflow, merging, clear errors, round trips. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/idset.h"

/* `text` parsed with ids in [1, UINT64_MAX], formatted back. */
static const char *norm(const char *text)
{
	static struct strbuf out = STRBUF_INIT;
	struct idset set = IDSET_INIT;
	struct err err = { "" };

	ck_assert_msg(idset_parse(&set, text, 1, UINT64_MAX, &err) == 0,
		      "'%s' rejected: %s", text, err.text);
	strbuf_reset(&out);
	idset_format(&out, &set);
	idset_release(&set);
	return out.buf;
}

/* The message for `text`, which must be rejected without touching a
 * set that already holds 42. */
static const char *bad_in(const char *text, uint64_t min, uint64_t max)
{
	static struct err err;
	struct idset set = IDSET_INIT;
	struct strbuf sb = STRBUF_INIT;

	memset(&err, 0, sizeof(err));
	idset_add(&set, 42, 42);
	ck_assert_msg(idset_parse(&set, text, min, max, &err) == -1,
		      "'%s' accepted", text);
	ck_assert_msg(err.text[0], "'%s' gave no message", text);
	idset_format(&sb, &set);
	ck_assert_msg(!strcmp(sb.buf, "42"), "'%s' changed the set: %s", text,
		      sb.buf);
	strbuf_release(&sb);
	idset_release(&set);
	return err.text;
}

static const char *bad(const char *text)
{
	return bad_in(text, 1, UINT64_MAX);
}

START_TEST(single_ids_and_ranges)
{
	ck_assert_str_eq(norm("7"), "7");
	ck_assert_str_eq(norm("1-3"), "1-3");
	ck_assert_str_eq(norm("1,2,5-9"), "1-2,5-9");
	ck_assert_str_eq(norm("5-5"), "5");
	ck_assert_str_eq(norm("007"), "7");
	ck_assert_str_eq(norm("18446744073709551615"), "18446744073709551615");
	ck_assert_str_eq(norm("18446744073709551614-18446744073709551615"),
			 "18446744073709551614-18446744073709551615");
}
END_TEST

START_TEST(duplicates_and_overlaps_merge)
{
	ck_assert_str_eq(norm("3,3,3"), "3");
	ck_assert_str_eq(norm("9,1,5"), "1,5,9");
	ck_assert_str_eq(norm("1,2,3,7"), "1-3,7");
	ck_assert_str_eq(norm("5-9,1-4"), "1-9");
	ck_assert_str_eq(norm("1-10,3-4,2-12,20"), "1-12,20");
	ck_assert_str_eq(norm("10-20,1-5,6"), "1-6,10-20");
	ck_assert_str_eq(norm("1,18446744073709551615,18446744073709551614"),
			 "1,18446744073709551614-18446744073709551615");
}
END_TEST

START_TEST(overflow_is_an_error_that_quotes_the_id)
{
	const char *m;

	m = bad("99999999999999999999");
	ck_assert_ptr_nonnull(strstr(m, "'99999999999999999999'"));
	ck_assert_ptr_nonnull(strstr(m, "out of range"));
	m = bad("18446744073709551616");
	ck_assert_ptr_nonnull(strstr(m, "'18446744073709551616'"));
	/* The bad one is named, not the whole list. */
	m = bad("1,2-123456789012345678901234567890,3");
	ck_assert_ptr_nonnull(strstr(m, "'123456789012345678901234567890'"));
	ck_assert_ptr_null(strstr(m, "'1,"));
}
END_TEST

START_TEST(bounds)
{
	struct idset set = IDSET_INIT;
	const char *m;

	m = bad("0");
	ck_assert_str_eq(m, "id '0' is out of range (1 to 18446744073709551615)");
	m = bad_in("0-3", 1, 100);
	ck_assert_str_eq(m, "id '0' is out of range (1 to 100)");
	m = bad_in("5-101", 1, 100);
	ck_assert_str_eq(m, "id '101' is out of range (1 to 100)");
	ck_assert_int_eq(idset_parse(&set, "0-3", 0, 3, NULL), 0);
	ck_assert_uint_eq(idset_count(&set), 4);
	idset_release(&set);
}
END_TEST

START_TEST(reversed_ranges)
{
	ck_assert_str_eq(bad("9-1"), "range '9-1' is reversed: expected A <= B");
	ck_assert_str_eq(bad("1,5-4"), "range '5-4' is reversed: expected A <= B");
}
END_TEST

START_TEST(garbage)
{
	ck_assert_str_eq(bad("x"), "expected an id or a range A-B, got 'x'");
	ck_assert_str_eq(bad("1,4-x"), "expected an id or a range A-B, got '4-x'");
	bad("1-");
	bad("-1");
	bad("+1");
	bad("1-2-3");
	bad("1x");
	bad("0x10");
	bad("1.5");
	bad("1;2");
	bad("\xff");
}
END_TEST

START_TEST(empty_items)
{
	ck_assert_str_eq(bad(""), "expected an id or a range A-B, got ''");
	ck_assert_str_eq(bad("1,,2"), "empty item in '1,,2'");
	ck_assert_str_eq(bad(",1"), "empty item in ',1'");
	ck_assert_str_eq(bad("1,"), "empty item in '1,'");
	bad(",");
}
END_TEST

START_TEST(whitespace_is_rejected)
{
	ck_assert_str_eq(bad(" 1"), "expected an id or a range A-B, got ' 1'");
	ck_assert_str_eq(bad("1 "), "expected an id or a range A-B, got '1 '");
	bad("1, 2");
	bad("1 -2");
	bad("1- 2");
	bad("\t1");
	bad("1\n");
}
END_TEST

START_TEST(format_round_trip)
{
	static const char *const texts[] = {
		"1", "1-3,7", "2,4,6,8", "1-1000000", "5,10-20,22,1000-1001",
		"1,18446744073709551615",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct idset set = IDSET_INIT;
		struct strbuf sb = STRBUF_INIT;

		ck_assert_str_eq(norm(texts[i]), texts[i]);
		ck_assert_int_eq(idset_parse(&set, norm(texts[i]), 1, UINT64_MAX,
					     NULL), 0);
		idset_format(&sb, &set);
		ck_assert_str_eq(sb.buf, texts[i]);
		strbuf_release(&sb);
		idset_release(&set);
	}
	/* The empty set formats as nothing. */
	{
		struct idset set = IDSET_INIT;
		struct strbuf sb = STRBUF_INIT;
		idset_format(&sb, &set);
		ck_assert_str_eq(sb.buf, "");
		strbuf_release(&sb);
	}
}
END_TEST

START_TEST(parse_adds_to_a_set)
{
	struct idset set = IDSET_INIT;
	struct strbuf sb = STRBUF_INIT;

	ck_assert_int_eq(idset_parse(&set, "10-12", 1, 100, NULL), 0);
	ck_assert_int_eq(idset_parse(&set, "1,13", 1, 100, NULL), 0);
	idset_format(&sb, &set);
	ck_assert_str_eq(sb.buf, "1,10-13");
	strbuf_release(&sb);
	idset_release(&set);
}
END_TEST

START_TEST(membership_and_count)
{
	struct idset set = IDSET_INIT;

	ck_assert_int_eq(idset_has(&set, 1), 0);
	ck_assert_uint_eq(idset_count(&set), 0);
	ck_assert_int_eq(idset_parse(&set, "1-3,7,100-199", 1, UINT64_MAX, NULL), 0);
	ck_assert_uint_eq(idset_count(&set), 104);
	ck_assert_int_eq(idset_has(&set, 0), 0);
	ck_assert_int_eq(idset_has(&set, 1), 1);
	ck_assert_int_eq(idset_has(&set, 3), 1);
	ck_assert_int_eq(idset_has(&set, 4), 0);
	ck_assert_int_eq(idset_has(&set, 7), 1);
	ck_assert_int_eq(idset_has(&set, 99), 0);
	ck_assert_int_eq(idset_has(&set, 150), 1);
	ck_assert_int_eq(idset_has(&set, 200), 0);
	ck_assert_int_eq(idset_has(&set, UINT64_MAX), 0);
	idset_release(&set);

	/* Every 64-bit id is one more than fits in a count. */
	ck_assert_int_eq(idset_parse(&set, "0-18446744073709551615", 0,
				     UINT64_MAX, NULL), 0);
	ck_assert_uint_eq(idset_count(&set), UINT64_MAX);
	ck_assert_int_eq(idset_has(&set, UINT64_MAX), 1);
	idset_release(&set);
}
END_TEST

START_TEST(add_out_of_order_then_normalize)
{
	struct idset set = IDSET_INIT;
	struct strbuf sb = STRBUF_INIT;

	for (uint64_t id = 1000; id >= 1; id -= 2)
		idset_add(&set, id, id);
	idset_add(&set, 1, 1000);
	idset_add(&set, 2000, 2001);
	idset_normalize(&set);
	idset_format(&sb, &set);
	ck_assert_str_eq(sb.buf, "1-1000,2000-2001");
	ck_assert_uint_eq(set.n, 2);
	strbuf_release(&sb);
	idset_release(&set);
}
END_TEST

START_TEST(iteration)
{
	struct idset set = IDSET_INIT;
	struct idset_iter it = IDSET_ITER_INIT;
	struct strbuf sb = STRBUF_INIT;
	uint64_t id;

	ck_assert_int_eq(idset_iter_next(&set, &it, &id), 0);
	ck_assert_int_eq(idset_parse(&set, "7,1-3", 1, UINT64_MAX, NULL), 0);
	while (idset_iter_next(&set, &it, &id))
		strbuf_addf(&sb, "%llu ", (unsigned long long)id);
	ck_assert_str_eq(sb.buf, "1 2 3 7 ");
	idset_release(&set);

	/* Stops at the top of the id space rather than wrapping to 0. */
	strbuf_reset(&sb);
	it = (struct idset_iter)IDSET_ITER_INIT;
	ck_assert_int_eq(idset_parse(&set, "18446744073709551614-18446744073709551615",
				     1, UINT64_MAX, NULL), 0);
	while (idset_iter_next(&set, &it, &id))
		strbuf_addf(&sb, "%llu ", (unsigned long long)id);
	ck_assert_str_eq(sb.buf, "18446744073709551614 18446744073709551615 ");
	strbuf_release(&sb);
	idset_release(&set);
}
END_TEST

START_TEST(scan_id_in_longer_text)
{
	const char *end;
	uint64_t id = 0;

	ck_assert_int_eq(idset_scan_id("12/log", &end, &id), 0);
	ck_assert_uint_eq(id, 12);
	ck_assert_str_eq(end, "/log");
	ck_assert_int_eq(idset_scan_id("/12", &end, &id), -1);
	ck_assert_int_eq(idset_scan_id("99999999999999999999/log", &end, &id), -1);
}
END_TEST

START_TEST(signed_ranges)
{
	int64_t a = 0, b = 0;
	struct err err = { "" };

	ck_assert_int_eq(idset_parse_signed("1-1000", &a, &b, NULL), 0);
	ck_assert(a == 1 && b == 1000);
	ck_assert_int_eq(idset_parse_signed("5", &a, &b, NULL), 0);
	ck_assert(a == 5 && b == 5);
	ck_assert_int_eq(idset_parse_signed("-3--1", &a, &b, NULL), 0);
	ck_assert(a == -3 && b == -1);
	ck_assert_int_eq(idset_parse_signed("-2-2", &a, &b, NULL), 0);
	ck_assert(a == -2 && b == 2);
	ck_assert_int_eq(idset_parse_signed("-9223372036854775808-9223372036854775807",
					    &a, &b, NULL), 0);
	ck_assert(a == INT64_MIN && b == INT64_MAX);

	a = b = 77;
	ck_assert_int_eq(idset_parse_signed("5-1", &a, &b, &err), -1);
	ck_assert_str_eq(err.text, "range '5-1' is reversed: expected A <= B");
	ck_assert(a == 77 && b == 77);
	ck_assert_int_eq(idset_parse_signed("1-99999999999999999999", &a, &b, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "'99999999999999999999' is out of range"));
	ck_assert_int_eq(idset_parse_signed("9223372036854775808", &a, &b, &err), -1);
	ck_assert_int_eq(idset_parse_signed("-9223372036854775809", &a, &b, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.text, "'-9223372036854775809'"));
	ck_assert_int_eq(idset_parse_signed("x", &a, &b, &err), -1);
	ck_assert_str_eq(err.text, "expected a range A-B or a number, got 'x'");
	static const char *const junk[] = {
		"", "-", "1-", "--1", "1-2x", "1--", " 1", "1 ", "+1", "1-+2", "1,2",
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		ck_assert_msg(idset_parse_signed(junk[i], &a, &b, NULL) == -1,
			      "'%s' accepted", junk[i]);
	ck_assert(a == 77 && b == 77);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("idset");
	TCase *tc = tcase_create("idset");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, single_ids_and_ranges);
	tcase_add_test(tc, duplicates_and_overlaps_merge);
	tcase_add_test(tc, overflow_is_an_error_that_quotes_the_id);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, reversed_ranges);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, empty_items);
	tcase_add_test(tc, whitespace_is_rejected);
	tcase_add_test(tc, format_round_trip);
	tcase_add_test(tc, parse_adds_to_a_set);
	tcase_add_test(tc, membership_and_count);
	tcase_add_test(tc, add_out_of_order_then_normalize);
	tcase_add_test(tc, iteration);
	tcase_add_test(tc, scan_id_in_longer_text);
	tcase_add_test(tc, signed_ranges);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
