/*
 * The API's pure pieces: the /v1/attest body decoder, the route table, Veraison sessions,
 * base64 encoding, and the CBOR configfs-tsm envelope (with the real Veraison vector).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/base64.h"
#include "verdict/evidence.h"
#include "../../verifier/api/attest_req.h"
#include "../../verifier/api/routes.h"
#include "../../verifier/api/sessions.h"
#include "vectors.h"

static vd_err_t decode(const char *text, vd_attest_req_t *r, vd_error_t *err)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    assert_non_null(doc);
    vd_err_t rc = vd_attest_req_decode(doc, NULL, r, err);
    json_decref(doc);
    return rc;
}

static void test_attest_req_forms(void **state)
{
    (void)state;
    vd_attest_req_t r;
    vd_error_t err = {0};
    /* standard, padded */
    assert_int_equal(decode("{\"evidence\": {\"report\": \"AAEC\"}, \"nonce\": \"/w==\", "
                            "\"policy\": \"p\", \"challenge\": \"c\"}",
                            &r, &err),
                     VD_OK);
    assert_int_equal(r.report_len, 3);
    assert_int_equal(r.report[2], 2);
    assert_int_equal(r.nonce_len, 1);
    assert_int_equal(r.nonce[0], 0xff);
    assert_string_equal(r.policy, "p");
    assert_string_equal(r.challenge, "c");
    vd_attest_req_free(&r);
    /* URL-safe, unpadded */
    assert_int_equal(
        decode("{\"evidence\": {\"report\": \"_w\"}, \"runtime_data\": \"-_8\"}", &r, &err), VD_OK);
    assert_int_equal(r.report_len, 1);
    assert_int_equal(r.runtime_data_len, 2);
    vd_attest_req_free(&r);
    /* a tsm envelope, at the top level and inside evidence */
    assert_int_equal(decode("{\"tsm\": {\"provider\": \"sev_guest\", \"outblob\": \"AAEC\", "
                            "\"auxblob\": \"AA\"}}",
                            &r, &err),
                     VD_OK);
    assert_int_equal(r.report_len, 3);
    assert_int_equal(r.cert_table_len, 1);
    vd_attest_req_free(&r);
    assert_int_equal(decode("{\"evidence\": {\"tsm\": {\"outblob\": \"AAEC\"}}}", &r, &err), VD_OK);
    assert_int_equal(r.report_len, 3);
    vd_attest_req_free(&r);
}

static void test_attest_req_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{}",                                                      /* no evidence */
        "{\"nonce\": \"AAAA\"}",                                   /* no evidence */
        "{\"evidence\": {}}",                                      /* neither report nor tsm */
        "{\"evidence\": {\"report\": \"AA\", \"tsm\": {}}}",       /* both */
        "{\"evidence\": {\"report\": 5}}",                         /* not a string */
        "{\"evidence\": {\"report\": \"A\"}}",                     /* not base64 */
        "{\"evidence\": {\"report\": \"AA+_\"}}",                  /* mixed alphabets */
        "{\"evidence\": {\"report\": \"AA\"}, \"nonse\": \"AA\"}", /* unknown member */
        "{\"evidence\": {\"report\": \"AA\", \"extra\": 1}}",      /* unknown evidence member */
        "{\"evidence\": {\"report\": \"AA\"}, \"nonce\": \"\"}",   /* empty nonce */
        "{\"evidence\": {\"report\": \"AA\"}, \"policy\": \"\"}",  /* empty name */
        "{\"evidence\": {\"report\": \"AA\"}, \"policy\": 7}",
        "{\"evidence\": {\"report\": \"AA\", \"certs\": \"x\"}}", /* certs not an array */
        "{\"evidence\": {\"report\": \"AA\", \"certs\": [1]}}",
        "{\"evidence\": {\"report\": \"AA\", \"certs\": [\"-----BEGIN CERTIFICATE-----\"]}}",
        "{\"evidence\": {\"report\": \"AA\", \"certs\": [\"AAAA\"]}}", /* DER that is not one */
        "{\"tsm\": {\"provider\": \"tdx_guest\", \"outblob\": \"AA\"}}",
        "{\"tsm\": \"x\"}",
        "{\"evidence\": {\"report\": \"AA\"}, \"tsm\": {\"outblob\": \"AA\"}}",
        "[1]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vd_attest_req_t r;
        vd_error_t err = {0};
        json_error_t jerr;
        json_t *doc = json_loads(bad[i], 0, &jerr);
        assert_non_null(doc);
        vd_err_t rc = vd_attest_req_decode(doc, NULL, &r, &err);
        json_decref(doc);
        if (rc == VD_OK) {
            fail_msg("accepted: %s", bad[i]);
        }
        assert_true(err.msg[0] != '\0');
        vd_attest_req_free(&r);
    }
}

static void test_attest_req_sizes(void **state)
{
    (void)state;
    /* A nonce longer than the appraisal accepts is refused before it is decoded. */
    size_t n = 4000;
    char *text = malloc(n + 64);
    assert_non_null(text);
    int w = snprintf(text, 64, "{\"evidence\": {\"report\": \"AA\"}, \"nonce\": \"");
    memset(text + w, 'A', n);
    strcpy(text + w + n, "\"}");
    vd_attest_req_t r;
    vd_error_t err = {0};
    assert_int_equal(decode(text, &r, &err), VD_E_TOO_LARGE);
    vd_attest_req_free(&r);
    free(text);
}

static void test_routes(void **state)
{
    (void)state;
    char param[VD_ROUTE_PARAM_MAX], allow[64];
    int known = 0;
    const vd_route_t *r = vd_routes_match("POST", "/v1/attest", param, &known, allow, 64);
    assert_non_null(r);
    assert_int_equal(r->id, VD_R_ATTEST);
    r = vd_routes_match("GET", "/v1/attest", param, &known, allow, sizeof(allow));
    assert_null(r);
    assert_true(known);
    assert_string_equal(allow, "POST");
    r = vd_routes_match("GET", "/v1/policies/my-policy", param, &known, allow, sizeof(allow));
    assert_int_equal(r->id, VD_R_POLICY_GET);
    assert_string_equal(param, "my-policy");
    r = vd_routes_match("PUT", "/v1/policies/a%20b", param, &known, allow, sizeof(allow));
    assert_int_equal(r->id, VD_R_POLICY_PUT);
    assert_string_equal(param, "a b");
    r = vd_routes_match("POST", "/v1/policies/x/activate", param, &known, allow, sizeof(allow));
    assert_int_equal(r->id, VD_R_POLICY_ACTIVATE);
    assert_string_equal(param, "x");
    r = vd_routes_match("POST", "/v1/policies:test", param, &known, allow, sizeof(allow));
    assert_int_equal(r->id, VD_R_POLICIES_TEST);
    r = vd_routes_match("GET", "/healthz", param, &known, allow, sizeof(allow));
    assert_int_equal(r->id, VD_R_HEALTHZ);
    r = vd_routes_match("HEAD", "/healthz", param, &known, allow, sizeof(allow));
    assert_int_equal(r->id, VD_R_HEALTHZ);
    /* no empty, encoded-slash, control-byte or overlong parameters */
    assert_null(vd_routes_match("GET", "/v1/policies/", param, &known, allow, sizeof(allow)));
    assert_null(vd_routes_match("GET", "/v1/policies/a%2Fb", param, &known, allow, sizeof(allow)));
    assert_null(vd_routes_match("GET", "/v1/policies/a%0a", param, &known, allow, sizeof(allow)));
    assert_null(vd_routes_match("GET", "/v1/policies/a%4", param, &known, allow, sizeof(allow)));
    assert_null(vd_routes_match("GET", "/v1/policies/a/b", param, &known, allow, sizeof(allow)));
    char longp[400] = "/v1/policies/";
    memset(longp + 13, 'a', 300);
    assert_null(vd_routes_match("GET", longp, param, &known, allow, sizeof(allow)));
    assert_null(vd_routes_match("GET", "/nope", param, &known, allow, sizeof(allow)));
    assert_false(known);
}

static void test_sessions(void **state)
{
    (void)state;
    vd_sessions_t *s = NULL;
    vd_error_t err = {0};
    char id[VD_SESSION_ID_LEN + 1], id2[VD_SESSION_ID_LEN + 1];
    uint8_t nonce[64], got[64];
    size_t got_len = 0;
    memset(nonce, 7, sizeof(nonce));
    assert_int_equal(vd_sessions_new(2, 100, &s, &err), VD_OK);
    assert_int_equal(vd_sessions_create(s, nonce, 4, 1000, id, &err), VD_E_MALFORMED);
    assert_int_equal(vd_sessions_create(s, nonce, 65, 1000, id, &err), VD_E_MALFORMED);
    assert_int_equal(vd_sessions_create(s, nonce, 64, 1000, id, &err), VD_OK);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(vd_sessions_create(s, nonce, 8, 1000, id2, &err), VD_OK);
    assert_string_not_equal(id, id2);
    /* full */
    char id3[VD_SESSION_ID_LEN + 1];
    assert_int_equal(vd_sessions_create(s, nonce, 8, 1000, id3, &err), VD_E_TOO_LARGE);
    json_t *j = vd_sessions_json(s, id, 1001);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "waiting");
    /* 64 bytes of 0x07 in standard padded base64 */
    const char *n64 = json_string_value(json_object_get(j, "nonce"));
    assert_int_equal(strlen(n64), 88);
    assert_int_equal(n64[87], '=');
    json_decref(j);
    assert_int_equal(vd_sessions_claim(s, id, 1001, got, &got_len), 0);
    assert_int_equal(got_len, 64);
    assert_memory_equal(got, nonce, 64);
    assert_int_equal(vd_sessions_claim(s, id, 1001, got, &got_len), -2); /* once */
    vd_sessions_finish(s, id, VD_SESSION_COMPLETE, "application/x", (const uint8_t *)"ab", 2,
                       "tok");
    j = vd_sessions_json(s, id, 1002);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "complete");
    assert_string_equal(json_string_value(json_object_get(j, "result")), "tok");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "evidence"), "value")),
                        "YWI=");
    json_decref(j);
    /* expiry */
    assert_null(vd_sessions_json(s, id2, 1100));
    assert_int_equal(vd_sessions_claim(s, id2, 1100, got, &got_len), -1);
    assert_int_equal(vd_sessions_create(s, nonce, 8, 1100, id3, &err), VD_OK);
    assert_int_equal(vd_sessions_delete(s, id3), 0);
    assert_int_equal(vd_sessions_delete(s, id3), -1);
    assert_null(vd_sessions_json(s, "not-a-session", 1100));
    vd_sessions_free(&s);
}

static void test_tsm_cbor_real_vector(void **state)
{
    (void)state;
    size_t cbor_len = 0, json_len = 0;
    uint8_t *cbor = vd_test_read_vector("veraison-tsm/sevsnp-tsm-report.cbor", &cbor_len);
    uint8_t *json = vd_test_read_vector("veraison-tsm/sevsnp-tsm-report.json", &json_len);
    vd_evidence_t a = {0}, b = {0};
    vd_error_t err = {0};
    assert_int_equal(vd_evidence_parse_tsm_cbor(cbor, cbor_len, &a, &err), VD_OK);
    assert_int_equal(vd_evidence_parse_tsm_json(json, json_len, &b, &err), VD_OK);
    assert_int_equal(a.report_len, 1184);
    assert_int_equal(a.report_len, b.report_len);
    assert_memory_equal(a.report, b.report, a.report_len);
    assert_int_equal(a.cert_table_len, b.cert_table_len);
    assert_memory_equal(a.cert_table, b.cert_table, a.cert_table_len);
    vd_evidence_free(&a);
    /* every truncation is refused cleanly */
    for (size_t n = 0; n < cbor_len; n += n < 64 ? 1 : 97) {
        assert_int_not_equal(vd_evidence_parse_tsm_cbor(cbor, n, &a, &err), VD_OK);
    }
    vd_evidence_free(&b);
    free(cbor);
    free(json);
}

static void test_tsm_cbor_errors(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"\xa0", 1},                                           /* empty map: no outblob */
        {"\x80", 1},                                           /* an array */
        {"\xa1\x67outblob\x61x", 10},                          /* outblob as text */
        {"\xa2\x67outblob\x41x\x67outblob\x41y", 20},          /* twice */
        {"\xa2\x67outblob\x41x\x68provider\x69tdx_guest", 30}, /* another provider */
        {"\xbf\x67outblob\x41x\xff", 11},                      /* indefinite map */
        {"\xa1\x67outblob\x41x\x00", 12},                      /* trailing byte */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vd_evidence_t e = {0};
        vd_error_t err = {0};
        if (vd_evidence_parse_tsm_cbor((const uint8_t *)bad[i].bytes, bad[i].len, &e, &err) ==
            VD_OK) {
            fail_msg("accepted case %zu", i);
        }
        vd_evidence_free(&e);
    }
    /* Found by fuzz_evidence_cbor: counts far beyond the input made libcbor allocate them up
     * front (a 75-byte body cost gigabytes). They are refused by the pre-scan, before libcbor. */
    static const struct {
        const char *bytes;
        size_t len;
    } huge[] = {
        {"\xa1\x67outblob\x9a\x10\x00\x00\x00\x00", 15},             /* array of 2^28, 1 byte */
        {"\xa1\x67outblob\x9b\xff\xff\xff\xff\xff\xff\xff\xff", 18}, /* array of 2^64-1 */
        {"\xa1\x67outblob\xba\x08\x00\x00\x00\x01\x02", 16},         /* map of 2^27 pairs */
        {"\xa1\x67outblob\x5a\x7f\xff\xff\xff\x00", 15},             /* byte string of 2 GiB */
        {"\xa1\x67outblob\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81"
         "\x81\x81\x41x",
         29},                                      /* nested 18 deep */
        {"\xa1\x67outblob\x5f\x41x\x61y\xff", 15}, /* indefinite bytes with a text chunk */
        {"\xa1\x67outblob\x1c", 10},               /* reserved additional information */
    };
    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
        vd_evidence_t e = {0};
        vd_error_t err = {0};
        assert_int_equal(
            vd_evidence_parse_tsm_cbor((const uint8_t *)huge[i].bytes, huge[i].len, &e, &err),
            VD_E_MALFORMED);
        if (strstr(err.msg, "well-formed") == NULL) {
            fail_msg("case %zu: %s", i, err.msg);
        }
        assert_null(e.report);
    }
    vd_evidence_t e = {0};
    vd_error_t err = {0};
    assert_int_equal(
        vd_evidence_parse_tsm_cbor((const uint8_t *)"\xa2\x67outblob\x41x\x68provider\x69sev_guest",
                                   30, &e, &err),
        VD_OK);
    assert_int_equal(e.report_len, 1);
    vd_evidence_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attest_req_forms), cmocka_unit_test(test_attest_req_errors),
        cmocka_unit_test(test_attest_req_sizes), cmocka_unit_test(test_routes),
        cmocka_unit_test(test_sessions),         cmocka_unit_test(test_tsm_cbor_real_vector),
        cmocka_unit_test(test_tsm_cbor_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
