/*
 * RFC 3339 parsing and formatting (verifier/common/timefmt.c): the second before the epoch is a
 * time like any other, and every year 0000..9999 is written with four digits (issue #7).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "verdict/timefmt.h"

static void test_time_parse_around_the_epoch(void **state)
{
    (void)state;
    time_t t = 12345;
    assert_int_equal(vd_time_parse_rfc3339("1969-12-31T23:59:59Z", &t), 0);
    assert_int_equal((long long)t, -1);
    assert_int_equal(vd_time_parse_rfc3339("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal((long long)t, 0);
    assert_int_equal(vd_time_parse_rfc3339("1970-01-01T00:59:59+01:00", &t), 0);
    assert_int_equal((long long)t, -1);
    assert_int_equal(vd_time_parse_rfc3339("2025-06-01", &t), 0);
    assert_int_equal((long long)t, 1748736000LL);
    assert_int_equal(vd_time_parse_rfc3339("2024-02-29T12:00:00Z", &t), 0);
    assert_int_equal((long long)t, 1709208000LL);
    assert_int_equal(vd_time_parse_rfc3339("0001-01-01T00:00:00Z", &t), 0);
    assert_int_equal((long long)t, -62135596800LL);
    assert_int_equal(vd_time_parse_rfc3339("9999-12-31T23:59:59Z", &t), 0);
    assert_int_equal((long long)t, 253402300799LL);
    assert_int_equal(vd_time_parse_rfc3339("2023-02-29", &t), -1);
    assert_int_equal(vd_time_parse_rfc3339("2025-06-01T24:00:00Z", &t), -1);
}

static void test_time_format_four_digit_years(void **state)
{
    (void)state;
    char s[32];
    assert_string_equal(vd_time_format_rfc3339(-1, s, sizeof(s)), "1969-12-31T23:59:59Z");
    assert_string_equal(vd_time_format_rfc3339(0, s, sizeof(s)), "1970-01-01T00:00:00Z");
    assert_string_equal(vd_time_format_rfc3339((time_t)-62135596800LL, s, sizeof(s)),
                        "0001-01-01T00:00:00Z");
    assert_string_equal(vd_time_format_rfc3339((time_t)253402300799LL, s, sizeof(s)),
                        "9999-12-31T23:59:59Z");
    assert_string_equal(vd_time_format_rfc3339((time_t)253402300800LL, s, sizeof(s)), "invalid");
    /* Round trip. */
    static const char *const samples[] = {"0999-06-15T08:30:00Z", "1969-12-31T23:59:59Z",
                                          "2038-01-19T03:14:08Z", "2525-12-31T00:00:00Z"};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        time_t t = 0;
        assert_int_equal(vd_time_parse_rfc3339(samples[i], &t), 0);
        assert_string_equal(vd_time_format_rfc3339(t, s, sizeof(s)), samples[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse_around_the_epoch),
        cmocka_unit_test(test_time_format_four_digit_years),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
