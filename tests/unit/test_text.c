/*
 * vd_text_escape (verifier/common/text.c): untrusted text made valid UTF-8 without control
 * characters, truncated only at character boundaries (issue #7, defects 4 and 5).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/text.h"

static const char *esc(const char *in, char *buf, size_t n)
{
    return vd_text_escape(in, buf, n);
}

static void test_text_clean_passes_through(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(esc("ARK-Genoa", b, sizeof(b)), "ARK-Genoa");
    assert_string_equal(esc("caf\xc3\xa9 \xf0\x9f\x94\x91", b, sizeof(b)),
                        "caf\xc3\xa9 \xf0\x9f\x94\x91");
    assert_string_equal(esc(NULL, b, sizeof(b)), "");
    assert_true(vd_text_is_clean("plain text, 100% ASCII"));
    assert_true(vd_text_is_clean("caf\xc3\xa9"));
}

static void test_text_controls_and_invalid_bytes(void **state)
{
    (void)state;
    char b[128];
    assert_string_equal(esc("a\nGENUINE", b, sizeof(b)), "a\\x0AGENUINE");
    assert_string_equal(esc("\x1b[31mred", b, sizeof(b)), "\\x1B[31mred");
    assert_string_equal(esc("del\x7f", b, sizeof(b)), "del\\x7F");
    assert_string_equal(esc("ARK\xff-G", b, sizeof(b)), "ARK\\xFF-G");
    assert_string_equal(esc("back\\slash", b, sizeof(b)), "back\\\\slash");
    /* Overlong, surrogate, beyond U+10FFFF, truncated sequence: every byte escaped. */
    assert_string_equal(esc("\xc0\xaf", b, sizeof(b)), "\\xC0\\xAF");
    assert_string_equal(esc("\xed\xa0\x80", b, sizeof(b)), "\\xED\\xA0\\x80");
    assert_string_equal(esc("\xf4\x90\x80\x80", b, sizeof(b)), "\\xF4\\x90\\x80\\x80");
    assert_string_equal(esc("cut\xc3", b, sizeof(b)), "cut\\xC3");
    /* C1 controls, line separators and direction overrides. */
    assert_string_equal(esc("x\xc2\x85y", b, sizeof(b)), "x\\u{0085}y");
    assert_string_equal(esc("\xe2\x80\xae"
                            "abc",
                            b, sizeof(b)),
                        "\\u{202E}abc");
    assert_string_equal(esc("\xe2\x80\xa8", b, sizeof(b)), "\\u{2028}");
    assert_false(vd_text_is_clean("a\nb"));
    assert_false(vd_text_is_clean("\xff"));
    assert_false(vd_text_is_clean("\\"));
    assert_false(vd_text_is_clean("\xe2\x80\xae"));
}

static void test_text_truncates_at_boundaries(void **state)
{
    (void)state;
    char b[6];
    /* "ab\x0A..." needs 6 bytes + NUL for "ab\\x0A": the escape is left out whole. */
    assert_string_equal(esc("ab\ncd", b, sizeof(b)), "ab");
    assert_string_equal(esc("abc\xc3\xa9", b, sizeof(b)), "abc\xc3\xa9");
    char c[5];
    assert_string_equal(esc("abc\xc3\xa9", c, sizeof(c)), "abc");
    char one[1];
    assert_string_equal(esc("abc", one, sizeof(one)), "");
    /* Worst case fits in VD_TEXT_ESCAPED_SIZE. */
    char big[VD_TEXT_ESCAPED_SIZE(4)];
    assert_string_equal(esc("\x01\x02\x03\x04", big, sizeof(big)), "\\x01\\x02\\x03\\x04");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_clean_passes_through),
        cmocka_unit_test(test_text_controls_and_invalid_bytes),
        cmocka_unit_test(test_text_truncates_at_boundaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
