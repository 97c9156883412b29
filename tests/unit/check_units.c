/* Sizes and durations: exact bytes, rounding up, and clear errors. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/units.h"

static uint64_t size_ok(const char *s)
{
	struct err err = { "" };
	uint64_t v = 12345;

	ck_assert_msg(size_parse(s, &v, &err) == 0, "'%s' rejected: %s", s,
		      err.text);
	return v;
}

static const char *size_bad(const char *s)
{
	static struct err err;
	uint64_t v = 777;

	memset(&err, 0, sizeof(err));
	ck_assert_msg(size_parse(s, &v, &err) == -1, "'%s' accepted", s);
	ck_assert_msg(v == 777, "'%s' changed the output on failure", s);
	ck_assert_msg(err.text[0], "'%s' gave no message", s);
	return err.text;
}

static uint64_t dur_ok(const char *s)
{
	struct err err = { "" };
	uint64_t v = 12345;

	ck_assert_msg(duration_parse(s, &v, &err) == 0, "'%s' rejected: %s", s,
		      err.text);
	return v;
}

static const char *dur_bad(const char *s)
{
	static struct err err;
	uint64_t v = 777;

	memset(&err, 0, sizeof(err));
	ck_assert_msg(duration_parse(s, &v, &err) == -1, "'%s' accepted", s);
	ck_assert_msg(v == 777, "'%s' changed the output on failure", s);
	return err.text;
}

START_TEST(size_plain)
{
	ck_assert_uint_eq(size_ok("0"), 0);
	ck_assert_uint_eq(size_ok("0GB"), 0);
	ck_assert_uint_eq(size_ok("512"), 512);
	ck_assert_uint_eq(size_ok("512B"), 512);
	ck_assert_uint_eq(size_ok("18446744073709551615"), UINT64_MAX);
}
END_TEST

START_TEST(size_decimal_vs_binary)
{
	ck_assert_uint_eq(size_ok("1GB"), 1000000000ULL);
	ck_assert_uint_eq(size_ok("1GiB"), 1073741824ULL);
	ck_assert_uint_eq(size_ok("1G"), 1ULL << 30);
	ck_assert_uint_eq(size_ok("1K"), 1024);
	ck_assert_uint_eq(size_ok("1KB"), 1000);
	ck_assert_uint_eq(size_ok("1KiB"), 1024);
	ck_assert_uint_eq(size_ok("3M"), 3ULL << 20);
	ck_assert_uint_eq(size_ok("3MiB"), 3ULL << 20);
	ck_assert_uint_eq(size_ok("2T"), 2ULL << 40);
	ck_assert_uint_eq(size_ok("2TB"), 2000000000000ULL);
	ck_assert_uint_eq(size_ok("2TiB"), 2ULL << 40);
	ck_assert_uint_eq(size_ok("1.5GiB"), 1610612736ULL);
	ck_assert_uint_eq(size_ok("1.5GB"), 1500000000ULL);
	ck_assert_uint_eq(size_ok("0.5KiB"), 512);
	ck_assert_uint_eq(size_ok(".25MiB"), 262144);
	ck_assert_uint_eq(size_ok("4."), 4);
}
END_TEST

START_TEST(size_case_and_space)
{
	ck_assert_uint_eq(size_ok("4gib"), 4ULL << 30);
	ck_assert_uint_eq(size_ok("4GIB"), 4ULL << 30);
	ck_assert_uint_eq(size_ok("4gb"), 4ULL << 30);
	ck_assert_uint_eq(size_ok("4 GiB"), 4ULL << 30);
	ck_assert_uint_eq(size_ok("  4\tGB  "), 4000000000ULL);
	ck_assert_uint_eq(size_ok("10 b"), 10);
}
END_TEST

/* The batch systems' units: Slurm's --mem=4G and PBS's mem=4gb are
 * binary; an upper-case B after the letter is SI. */
START_TEST(size_batch_system_suffixes)
{
	ck_assert_uint_eq(size_ok("4G"), 4ULL << 30);
	ck_assert_uint_eq(size_ok("4g"), 4ULL << 30);
	ck_assert_uint_eq(size_ok("4gb"), 4ULL << 30);
	ck_assert_uint_eq(size_ok("4Gb"), 4ULL << 30);
	ck_assert_uint_eq(size_ok("512mb"), 512ULL << 20);
	ck_assert_uint_eq(size_ok("2kb"), 2048);
	ck_assert_uint_eq(size_ok("1tb"), 1ULL << 40);
	ck_assert_uint_eq(size_ok("4GB"), 4000000000ULL);
	ck_assert_uint_eq(size_ok("4gB"), 4000000000ULL);
	ck_assert_uint_eq(size_ok("4kB"), 4000);
	ck_assert_uint_eq(size_ok("4GiB"), 4ULL << 30);
	ck_assert_uint_eq(size_ok("4giB"), 4ULL << 30);
	ck_assert_uint_eq(size_ok("4Gib"), 4ULL << 30);
	ck_assert_uint_eq(size_ok("1.5G"), 1610612736ULL);
	ck_assert_uint_eq(size_ok("7B"), 7);
	ck_assert_uint_eq(size_ok("7b"), 7);
}
END_TEST

START_TEST(size_rounds_up)
{
	ck_assert_uint_eq(size_ok("1.5B"), 2);
	ck_assert_uint_eq(size_ok("0.1"), 1);
	ck_assert_uint_eq(size_ok("1.0001KiB"), 1025);	/* 1024.1024 */
	ck_assert_uint_eq(size_ok("0.000000001GB"), 1);
	ck_assert_uint_eq(size_ok("0.0000000001GB"), 1);	/* 0.1 byte */
	/* digits past the exactly-kept ones still round up */
	ck_assert_uint_eq(size_ok("0.00000000000000000000001GB"), 1);
	ck_assert_uint_eq(size_ok("1.00000000000000000000000"), 1);
}
END_TEST

START_TEST(size_errors)
{
	ck_assert_str_eq(size_bad("4 GX"), "invalid size '4 GX': expected a "
			 "number and a unit like 4GiB, 1.5GB or 512MB");
	size_bad("");
	size_bad("   ");
	size_bad("GB");
	size_bad("4Gi");
	size_bad("4GiBs");
	size_bad("4 4GB");
	size_bad("1.2.3GB");
	size_bad("0x10");
	size_bad(".");
	size_bad("4GB junk");
	ck_assert_ptr_nonnull(strstr(size_bad("-1GB"), "negative"));
	ck_assert_ptr_nonnull(strstr(size_bad("18446744073709551616"),
				     "largest"));
	ck_assert_ptr_nonnull(strstr(size_bad("16EB"), "'16EB'"));
	ck_assert_ptr_nonnull(strstr(size_bad("20000000TB"), "largest"));
	ck_assert_ptr_nonnull(strstr(size_bad("16777216TiB"), "largest"));
	ck_assert_ptr_nonnull(strstr(size_bad("99999999999999999999999"),
				     "largest"));
	ck_assert_uint_eq(size_ok("16777215TiB"), 16777215ULL << 40);
}
END_TEST

START_TEST(size_null_err)
{
	uint64_t v;

	ck_assert_int_eq(size_parse("bad", &v, NULL), -1);
	ck_assert_int_eq(duration_parse("bad", &v, NULL), -1);
}
END_TEST

static void fmt_is(uint64_t bytes, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	size_format(&sb, bytes);
	ck_assert_str_eq(sb.buf, want);
	strbuf_release(&sb);
}

START_TEST(size_formatting)
{
	fmt_is(0, "0 B");
	fmt_is(512, "512 B");
	fmt_is(1023, "1023 B");
	fmt_is(1024, "1 KiB");
	fmt_is(1536, "1.5 KiB");
	fmt_is(1610612736ULL, "1.5 GiB");
	fmt_is(4ULL << 30, "4 GiB");
	fmt_is(4000000000ULL, "3.7 GiB");
	fmt_is((1ULL << 20) - 1, "1 MiB");	/* 1023.999 KiB rounds over */
	fmt_is(3ULL << 40, "3 TiB");
	fmt_is(UINT64_MAX, "16 EiB");
}
END_TEST

START_TEST(size_ceiling)
{
	ck_assert_uint_eq(size_ceil_units(0, 1 << 20), 0);
	ck_assert_uint_eq(size_ceil_units(1, 1 << 20), 1 << 20);
	ck_assert_uint_eq(size_ceil_units(1 << 20, 1 << 20), 1 << 20);
	ck_assert_uint_eq(size_ceil_units((1 << 20) + 1, 1 << 20), 2 << 20);
	ck_assert_uint_eq(size_ceil_units(4000000000ULL, 1 << 20),
			  3815ULL << 20);
	ck_assert_uint_eq(size_ceil_units(UINT64_MAX, 1 << 20), UINT64_MAX);
}
END_TEST

START_TEST(duration_forms)
{
	ck_assert_uint_eq(dur_ok("0"), 0);
	ck_assert_uint_eq(dur_ok("45"), 45);
	ck_assert_uint_eq(dur_ok("01:00:00"), 3600);
	ck_assert_uint_eq(dur_ok("1:02:03"), 3723);
	ck_assert_uint_eq(dur_ok("100:00:00"), 360000);
	ck_assert_uint_eq(dur_ok("12:30"), 750);
	ck_assert_uint_eq(dur_ok("1-00:00:00"), 86400);
	ck_assert_uint_eq(dur_ok("2-03:04:05"), 2 * 86400 + 3 * 3600 + 245);
	ck_assert_uint_eq(dur_ok("90m"), 5400);
	ck_assert_uint_eq(dur_ok("2h"), 7200);
	ck_assert_uint_eq(dur_ok("1.5h"), 5400);
	ck_assert_uint_eq(dur_ok("30s"), 30);
	ck_assert_uint_eq(dur_ok("1d"), 86400);
	ck_assert_uint_eq(dur_ok("1 d"), 86400);
	ck_assert_uint_eq(dur_ok("2H"), 7200);
	ck_assert_uint_eq(dur_ok("0.5s"), 1);		/* rounds up */
	ck_assert_uint_eq(dur_ok("0.01m"), 1);
	ck_assert_uint_eq(dur_ok("00:00:00"), 0);
}
END_TEST

START_TEST(duration_errors)
{
	ck_assert_ptr_nonnull(strstr(dur_bad("1:60:00"), "minutes must be below 60"));
	ck_assert_ptr_nonnull(strstr(dur_bad("1:00:60"), "seconds must be below 60"));
	ck_assert_ptr_nonnull(strstr(dur_bad("60:00"), "minutes must be below 60"));
	ck_assert_ptr_nonnull(strstr(dur_bad("1-24:00:00"), "hours"));
	ck_assert_ptr_nonnull(strstr(dur_bad("abc"), "expected HH:MM:SS"));
	ck_assert_ptr_nonnull(strstr(dur_bad("-5m"), "negative"));
	ck_assert_ptr_nonnull(strstr(dur_bad("99999999999999999999"), "too long"));
	ck_assert_ptr_nonnull(strstr(dur_bad("999999999999999999d"), "too long"));
	ck_assert_ptr_nonnull(strstr(dur_bad("99999999999999999999:00:00"),
				     "'99999999999999999999:00:00'"));
	ck_assert_ptr_nonnull(strstr(dur_bad("5124095576030432:00:00"),
				     "too long"));
	dur_bad("");
	dur_bad("5x");
	dur_bad("5 minutes");
	dur_bad("1:2:3:4");
	dur_bad("1-02:03");
	dur_bad("1::00");
	dur_bad(":30");
	dur_bad("1:30:");
	dur_bad("1.5:00");
	dur_bad("1-2-03:00:00");
	dur_bad("h");
}
END_TEST

static void hms_is(uint64_t s, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	duration_format_hms(&sb, s);
	ck_assert_str_eq(sb.buf, want);
	strbuf_release(&sb);
}

START_TEST(duration_formatting)
{
	hms_is(0, "00:00:00");
	hms_is(59, "00:00:59");
	hms_is(3723, "01:02:03");
	hms_is(86400, "24:00:00");
	hms_is(360000 + 61, "100:01:01");
}
END_TEST

START_TEST(counts)
{
	uint64_t v = 7;

	ck_assert_int_eq(count_parse("0", 0, 10, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(count_parse("18446744073709551615", 0, UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(count_parse("18446744073709551616", 0, UINT64_MAX, &v), -1);
	ck_assert_int_eq(count_parse("0", 1, 10, &v), -1);
	ck_assert_int_eq(count_parse("11", 1, 10, &v), -1);
	ck_assert_int_eq(count_parse("-1", 0, 10, &v), -1);
	ck_assert_int_eq(count_parse(" 1", 0, 10, &v), -1);
	ck_assert_int_eq(count_parse("1x", 0, 10, &v), -1);
	ck_assert_int_eq(count_parse("", 0, 10, &v), -1);
	ck_assert_uint_eq(v, UINT64_MAX);	/* untouched on failure */
}
END_TEST

START_TEST(decimal_digits)
{
	char buf[32];

	*decimal_u64(buf, 0) = '\0';
	ck_assert_str_eq(buf, "0");
	*decimal_u64(buf, UINT64_MAX) = '\0';
	ck_assert_str_eq(buf, "18446744073709551615");
	*decimal_i64(buf, -12) = '\0';
	ck_assert_str_eq(buf, "-12");
	*decimal_i64(buf, INT64_MIN) = '\0';
	ck_assert_str_eq(buf, "-9223372036854775808");
	ck_assert_ptr_eq(decimal_i64(buf, 4711), buf + 4);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("units");
	TCase *tc = tcase_create("units");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, counts);
	tcase_add_test(tc, size_plain);
	tcase_add_test(tc, size_decimal_vs_binary);
	tcase_add_test(tc, size_batch_system_suffixes);
	tcase_add_test(tc, size_case_and_space);
	tcase_add_test(tc, size_rounds_up);
	tcase_add_test(tc, size_errors);
	tcase_add_test(tc, size_null_err);
	tcase_add_test(tc, size_formatting);
	tcase_add_test(tc, size_ceiling);
	tcase_add_test(tc, duration_forms);
	tcase_add_test(tc, duration_errors);
	tcase_add_test(tc, duration_formatting);
	tcase_add_test(tc, decimal_digits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
