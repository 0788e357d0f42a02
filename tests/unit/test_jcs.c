/*
 * RFC 8785 canonical JSON (policies/jcs.c), which the sha384-jcs REPORT_DATA binding hashes:
 * member order by UTF-16 code units (the RFC's own example), string escapes, numbers, bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../policies/jcs.h"

static char *canon(const char *text, const char **why)
{
    json_error_t e;
    size_t len = 0;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    if (j == NULL) {
        fail_msg("test JSON does not parse: %s", e.text);
    }
    char *s = vd_jcs_serialize(j, &len, why);
    json_decref(j);
    if (s != NULL) {
        assert_int_equal(strlen(s), len);
    }
    return s;
}

/* RFC 8785 section 3.2.3: sorting by UTF-16 code units, not UTF-8 bytes or code points. */
static void test_jcs_sorts_by_utf16_code_units(void **state)
{
    (void)state;
    const char *why = NULL;
    char *s = canon("{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\","
                    "\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\","
                    "\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\","
                    "\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}",
                    &why);
    assert_non_null(s);
    static const char *const order[] = {"Carriage Return",
                                        "One",
                                        "Control",
                                        "Latin Small Letter O With Diaeresis",
                                        "Euro Sign",
                                        "Emoji: Grinning Face",
                                        "Hebrew Letter Dalet With Dagesh"};
    const char *at = s;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *p = strstr(at, order[i]);
        if (p == NULL) {
            fail_msg("\"%s\" out of order in %s", order[i], s);
        }
        at = p;
    }
    free(s);
}

static void test_jcs_escapes_and_literals(void **state)
{
    (void)state;
    const char *why = NULL;
    char *s = canon("{\"b\":[true,false,null,-0,10,\"\\u001f\\n\\t\\\"\\\\/\\u00e9\\u007f\"],"
                    "\"a\":{\"z\":1,\"y\":{}}}",
                    &why);
    assert_non_null(s);
    assert_string_equal(s, "{\"a\":{\"y\":{},\"z\":1},\"b\":[true,false,null,0,10,"
                           "\"\\u001f\\n\\t\\\"\\\\/\xc3\xa9\x7f\"]}");
    free(s);
}

static void test_jcs_refuses_what_it_cannot_reproduce(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_null(canon("{\"a\":1.5}", &why));
    assert_non_null(strstr(why, "non-integer"));
    assert_null(canon("{\"a\":1e3}", &why));
    assert_null(canon("{\"a\":9007199254740993}", &why));
    assert_non_null(strstr(why, "2^53"));
    char *ok = canon("{\"a\":9007199254740992}", &why);
    assert_string_equal(ok, "{\"a\":9007199254740992}");
    free(ok);
    /* Depth bound. */
    char deep[256] = "";
    for (int i = 0; i < 40; i++) {
        strcat(deep, "[");
    }
    for (int i = 0; i < 40; i++) {
        strcat(deep, "]");
    }
    assert_null(canon(deep, &why));
    assert_non_null(strstr(why, "deeper"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jcs_sorts_by_utf16_code_units),
        cmocka_unit_test(test_jcs_escapes_and_literals),
        cmocka_unit_test(test_jcs_refuses_what_it_cannot_reproduce),
    };
    return cmocka_run_group_tests_name("jcs", tests, NULL, NULL);
}
