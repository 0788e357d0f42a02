/*
 * The cleartext port's protocol choice (verifier/server/http1.c vd_srv__h1_sniff): what can
 * begin an HTTP/1.x request line, what cannot (closed at once), and what needs more bytes;
 * and the problem+json body every transport error carries (request.c vd_srv__problem).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server_internal.h"

static int sniff(const char *s)
{
    return vd_srv__h1_sniff((const uint8_t *)s, strlen(s));
}

static void test_h1_sniff_request_lines(void **state)
{
    (void)state;
    assert_int_equal(sniff("GET / HTTP/1.1\r\n"), 1);
    assert_int_equal(sniff("POST /v1/attest?x=1 HTTP/1.0\r\n"), 1);
    assert_int_equal(sniff("M-SEARCH * HTTP/1.1\r\n"), 1);
    assert_int_equal(sniff("GET / HTTP/1.1\n"), 1);
    assert_int_equal(sniff("GET / HTTP/1.1\r\nHost: x\r\n"), 1);
}

static void test_h1_sniff_prefixes_wait(void **state)
{
    (void)state;
    const char *full = "DELETE /v1/policies/p HTTP/1.1\r\n";
    for (size_t n = 1; n < strlen(full) - 1; n++) {
        assert_int_equal(vd_srv__h1_sniff((const uint8_t *)full, n), 0);
    }
    assert_int_equal(sniff("PRI * HTTP/"), 0); /* also a prefix of the HTTP/2 preface */
}

static void test_h1_sniff_rejects(void **state)
{
    (void)state;
    assert_int_equal(sniff("PRI * HTTP/2.0\r\n"), -1);
    assert_int_equal(sniff("get / HTTP/1.1\r\n"), -1);
    assert_int_equal(sniff(" GET / HTTP/1.1\r\n"), -1);
    assert_int_equal(sniff("GET  / HTTP/1.1\r\n"), -1);
    assert_int_equal(sniff("GET / HTTP/1.x\r\n"), -1);
    assert_int_equal(sniff("GET / HTTP/1.1\rX"), -1);
    assert_int_equal(sniff("GET /\x01 HTTP/1.1\r\n"), -1);
    assert_int_equal(sniff("\x16\x03\x01\x02\x00"), -1);
    assert_int_equal(sniff("ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\n"), -1); /* method > 24 */
    assert_int_equal(sniff("\r\nGET / HTTP/1.1\r\n"), -1);
}

static void test_problem_body(void **state)
{
    vd_http_response_t resp;
    (void)state;
    memset(&resp, 0, sizeof(resp));
    vd_srv__problem(&resp, 413, "request body larger than the limit");
    assert_int_equal(resp.status, 413);
    assert_string_equal(resp.content_type, "application/problem+json");
    assert_non_null(resp.body);
    const char *want = "{\"type\":\"about:blank\",\"title\":\"Payload Too Large\",\"status\":413,"
                       "\"detail\":\"request body larger than the limit\"}";
    assert_int_equal(resp.body_len, strlen(want));
    assert_memory_equal(resp.body, want, strlen(want));
    vd_srv__problem(&resp, 431, "x"); /* replaces (and frees) the previous body */
    assert_int_equal(resp.status, 431);
    assert_non_null(strstr((const char *)resp.body, "Request Header Fields Too Large"));
    free(resp.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h1_sniff_request_lines),
        cmocka_unit_test(test_h1_sniff_prefixes_wait),
        cmocka_unit_test(test_h1_sniff_rejects),
        cmocka_unit_test(test_problem_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
