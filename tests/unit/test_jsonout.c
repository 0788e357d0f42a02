/*
 * vd_json_dumps (include/verdict/jsonout.h): the same bytes as json_dumps(v, JSON_COMPACT) for
 * every kind of value, including what it hands to jansson (escapes, UTF-8, reals), and NULL
 * where jansson gives NULL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/jsonout.h"

/* Both encoders on `v` (freed here) agree byte for byte. */
static void same(json_t *v)
{
    assert_non_null(v);
    char *want = json_dumps(v, JSON_COMPACT);
    char *got = vd_json_dumps(v);
    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(want);
    free(got);
    json_decref(v);
}

static void test_containers(void **state)
{
    (void)state;
    same(json_object());
    same(json_array());
    same(json_pack("{s:s, s:i, s:b, s:b, s:n, s:[], s:{}}", "a", "b", "n", -42, "t", 1, "f", 0, "z",
                   "e", "o"));
    same(json_pack("[i, I, [[[]]], {s:{s:[s, s]}}]", 0, (json_int_t)INT64_MIN, "x", "y", "p", "q"));
    /* Insertion order, not sorted, like jansson. */
    same(json_pack("{s:i, s:i, s:i}", "zeta", 1, "alpha", 2, "mid", 3));
}

static void test_strings(void **state)
{
    (void)state;
    same(json_pack("[s, s, s, s]", "", "plain ascii ~!@#$%^&*()", "quote \" and \\ backslash",
                   "slash / stays"));
    same(json_pack("[s, s]", "lines\nand\ttabs\r\b\f", "\x01\x1f control"));
    same(json_pack("[s, s]", "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x94\x92", "del \x7f"));
    same(json_pack("[s#]", "nul\0inside", (int)10));
    /* Keys go through the same rules. */
    same(json_pack("{s:i, s:i, s:i}", "k\"q", 1, "k\n", 2, "caf\xc3\xa9", 3));
    json_t *o = json_object();
    json_object_setn(o, "a\0b", 3, json_true());
    same(o);
}

/* Strings longer than a word (the writer tests 8 bytes at once) with one byte that is not plain
 * at every offset, and the edges of plain: 0x1f, 0x20, 0x7e, 0x7f. */
static void test_long_strings(void **state)
{
    (void)state;
    static const char *const specials[] = {"\"", "\\",   "\n",       "\x1f",        " ",
                                           "~",  "\x7f", "\xc3\xa9", "\xe2\x80\xa8"};
    char s[128];
    for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
        for (int at = 0; at < 40; at++) {
            snprintf(s, sizeof(s), "%.*s%s%.*s", at, "0123456789abcdefghijklmnopqrstuvwxyzABCDEF",
                     specials[k], 17, "GHIJKLMNOPQRSTUVWXYZ");
            same(json_pack("{s:s, s:i}", s, s, "n", at));
        }
    }
}

static void test_numbers(void **state)
{
    (void)state;
    same(json_pack("[f, f, f, f, f]", 0.0, 1.5, -2.25e-300, 1e22, 3.0));
    same(json_pack("{s:I, s:I}", "max", (json_int_t)INT64_MAX, "min", (json_int_t)INT64_MIN));
    same(json_pack("[i, i, i, i, i, i, I, I]", 0, 7, -7, 10, -10, 1000000,
                   (json_int_t)INT64_MAX - 1, (json_int_t)INT64_MIN + 1));
}

static void test_refused(void **state)
{
    (void)state;
    /* Not an object or array: NULL, as json_dumps without JSON_ENCODE_ANY. */
    json_t *s = json_string("x");
    assert_null(json_dumps(s, JSON_COMPACT));
    assert_null(vd_json_dumps(s));
    json_decref(s);
    /* Invalid UTF-8 (made without the check): jansson refuses it, and so does this. */
    json_t *bad = json_array();
    json_array_append_new(bad, json_stringn_nocheck("\xff\xfe", 2));
    assert_null(json_dumps(bad, JSON_COMPACT));
    assert_null(vd_json_dumps(bad));
    json_decref(bad);
    bad = json_array(); /* the same past the first 8 bytes */
    json_array_append_new(bad, json_stringn_nocheck("0123456789\xff\xfe"
                                                    "abcdef",
                                                    18));
    assert_null(json_dumps(bad, JSON_COMPACT));
    assert_null(vd_json_dumps(bad));
    json_decref(bad);
    /* A cycle (jansson refuses an array in itself, not one two levels down). */
    json_t *a = json_array(), *b = json_array();
    assert_int_equal(json_array_append(a, b), 0);
    assert_int_equal(json_array_append(b, a), 0);
    assert_null(json_dumps(a, JSON_COMPACT));
    assert_null(vd_json_dumps(a));
    json_array_clear(b);
    json_decref(b);
    json_decref(a);
}

static void test_large(void **state)
{
    (void)state;
    /* Past the first buffer: an answer-sized document. */
    json_t *o = json_object();
    char key[16], val[300];
    memset(val, 'A', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        json_object_set_new(o, key, i % 3 ? json_string(val) : json_integer(i));
    }
    same(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_containers), cmocka_unit_test(test_strings),
        cmocka_unit_test(test_numbers),    cmocka_unit_test(test_refused),
        cmocka_unit_test(test_large),      cmocka_unit_test(test_long_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
