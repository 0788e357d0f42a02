/*
 * vd_json_loadb (include/verdict/jsonin.h): the same tree as json_loadb(...,
 * JSON_REJECT_DUPLICATES) (compared through json_equal and the encoded text, which keeps the member
 * order), and the same refusal with the same error, for bodies inside and outside its fast subset
 * and for every one-byte change of a representative /v1/attest body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/jsonin.h"

static void same_n(const char *text, size_t len)
{
    json_error_t je, ge;
    memset(&je, 0, sizeof(je));
    memset(&ge, 0, sizeof(ge));
    json_t *want = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    json_t *got = vd_json_loadb(text, len, &ge);
    if (want == NULL) {
        if (got != NULL) {
            fail_msg("accepted what jansson refuses: %.*s", (int)len, text);
        }
        assert_string_equal(ge.text, je.text);
        assert_int_equal(ge.line, je.line);
        assert_int_equal(ge.column, je.column);
        assert_int_equal(ge.position, je.position);
        return;
    }
    if (got == NULL) {
        fail_msg("refused what jansson accepts: %.*s (%s)", (int)len, text, ge.text);
    }
    assert_true(json_equal(want, got));
    char *a = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
    char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(want);
    json_decref(got);
}

static void same(const char *text)
{
    same_n(text, strlen(text));
}

static void test_subset(void **state)
{
    (void)state;
    same("{}");
    same("[]");
    same(" \t\r\n{ \"a\" : \"b\" , \"c\":[ \"d\",[],{}] }\n ");
    same("{\"evidence\":{\"report\":\"AAEC+/==\",\"certs\":[\"-----BEGIN CERTIFICATE-----\\nMIIB"
         "\\n-----END CERTIFICATE-----\\n\"]}}");
    same("{\"esc\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\",\"\":\"\"}");
    same("[\"z\",\"a\",\"m\"]");
    same("{\"z\":\"1\",\"a\":\"2\",\"m\":\"3\"}"); /* member order kept */
}

static void test_outside_subset(void **state)
{
    (void)state;
    same("{\"n\":1,\"r\":-2.5e3,\"t\":true,\"f\":false,\"z\":null}");
    same("{\"u\":\"\\u00e9\\u0000x\",\"k\\u0041\":\"v\"}");
    same("{\"utf8\":\"caf\xc3\xa9\"}");
    same("{\"del\":\"\x7f\"}");
    same("\"top-level string\"");
    same("1");
    same("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]"
         "]]"
         "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    same_n("{\"a\":\"b\0c\"}", 11);
}

static void test_refused(void **state)
{
    (void)state;
    same("");
    same("   ");
    same("{");
    same("{\"a\"}");
    same("{\"a\":}");
    same("{\"a\":\"b\",}");
    same("[\"a\",]");
    same("{\"a\":\"b\"} x");
    same("{\"a\":\"b\"}{}");
    same("{\"a\":\"b\",\"a\":\"c\"}"); /* duplicate */
    same("{\"a\":{\"x\":\"1\",\"x\":\"2\"}}");
    same("{\"a\":\"\\q\"}");
    same("{\"a\":\"line\nbreak\"}");
    same("{\"a\":\"unterminated}");
    same("{'a':'b'}");
    same("\xef\xbb\xbf{}");
}

/* Every byte of a representative body replaced by each of a few troublesome bytes, and every
 * prefix: both parsers agree on each. */
static void test_mutations(void **state)
{
    (void)state;
    static const char body[] =
        "{\"evidence\": {\"report\": \"AAECAwQF+/8=\", \"certs\": [\"-----BEGIN "
        "CERTIFICATE-----\\nMIIBAA==\\n-----END CERTIFICATE-----\\n\", \"QUJD\"]}, "
        "\"nonce\": \"bm9uY2U=\", \"policy\": \"default\"}";
    /* Also each edge of the word-at-a-time test of string bytes: 0x1f/0x20, 0x7e/0x7f, 0xff. */
    static const char subst[] = {'"',        '\\', '{',  '}',  '[',       ']',  ',',
                                 ':',        ' ',  'u',  '1',  '\n',      '\0', (char)0x80,
                                 (char)0xc3, 0x1f, 0x7e, 0x7f, (char)0xff};
    char buf[sizeof(body)];
    size_t n = sizeof(body) - 1;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof(subst); k++) {
            memcpy(buf, body, n);
            buf[i] = subst[k];
            same_n(buf, n);
        }
        same_n(body, i);
    }
}

/* Strings longer than a word, with escapes and special bytes at every offset: escaped keys, and
 * escaped strings that follow longer and shorter ones (the reader unescapes into one buffer). */
static void test_long_strings(void **state)
{
    (void)state;
    static const char *const specials[] = {"\\n",  "\\\"", "\\\\",     "\\u0041",
                                           "\x7f", "\x1f", "\xc3\xa9", "\""};
    char body[512];
    for (size_t s = 0; s < sizeof(specials) / sizeof(specials[0]); s++) {
        for (int at = 0; at < 40; at++) {
            int n = snprintf(
                body, sizeof(body),
                "{\"k%.*s%s%.*s\":[\"%.*s%s%.*s\",\"%.*s\\n\",\"x\\ty\"],\"z\":\"%.*s\"}", at,
                "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", specials[s], 3, "pqr", at,
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", specials[s], 40 - at,
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 2 * at,
                "0123456789012345678901234567890123456789012345678901234567890123456789012345678901"
                "234567890",
                at, "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~");
            assert_true(n > 0 && (size_t)n < sizeof(body));
            same_n(body, (size_t)n);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subset),       cmocka_unit_test(test_outside_subset),
        cmocka_unit_test(test_refused),      cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_long_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
