/*
 * Evidence envelopes: strict base64/base64url decoding, and the configfs-tsm JSON envelope
 * (the real veraison Genoa sample and every malformed shape).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/base64.h"
#include "verdict/evidence.h"
#include "verdict/report.h"
#include "vectors.h"

static int decode(const char *s, uint8_t *out, size_t *n)
{
    return vd_base64_decode(s, strlen(s), out, n);
}

static void test_base64_alphabets_and_padding(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t n;
    assert_int_equal(decode("", out, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(decode("+/8=", out, &n), 0); /* standard, padded */
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 0xFB);
    assert_int_equal(out[1], 0xFF);
    assert_int_equal(decode("-_8", out, &n), 0); /* URL-safe, unpadded */
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 0xFB);
    assert_int_equal(decode("AQIDBA", out, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(decode("AQIDBA==", out, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(out[3], 4);
}

static void test_base64_rejects(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t n;
    static const char *const bad[] = {
        "A",        /* one leftover character */
        "AQIDBA=",  /* padding without a multiple of 4 */
        "AQ==AQ==", /* data after padding */
        "AQ===",    /* three pad characters */
        "+_8=",     /* mixed alphabets */
        "AQ ID",    /* white space */
        "AQ\nID",   /* newline */
        "AR==",     /* non-zero trailing bits */
        "A*BC",     /* invalid character */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (decode(bad[i], out, &n) != -1) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
    }
}

/* Every length up to 130 in the three forms: the encoding decodes to the bytes (groups of
 * letters and digits go by table, groups with a symbol one character at a time), and a symbol
 * of the other alphabet anywhere beside one of its own is refused. */
static void test_base64_round_trip(void **state)
{
    (void)state;
    static const vd_b64_form_t forms[] = {VD_B64_STD_PAD, VD_B64_URL_PAD, VD_B64_URL_NOPAD};
    uint8_t in[130], out[140];
    char text[200];
    uint32_t x = 12345;
    for (size_t len = 0; len <= sizeof(in); len++) {
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            in[i] = (uint8_t)(x >> 16);
        }
        for (size_t f = 0; f < 3; f++) {
            size_t tl = vd_base64_encode(in, len, forms[f], text, sizeof(text));
            size_t n = 0;
            assert_int_equal(vd_base64_decode(text, tl, out, &n), 0);
            assert_int_equal(n, len);
            assert_memory_equal(out, in, len);
            int url = forms[f] != VD_B64_STD_PAD;
            const char *sym = strpbrk(text, url ? "-_" : "+/");
            if (sym == NULL) {
                continue;
            }
            for (size_t i = 0; i < tl && text[i] != '='; i++) {
                char was = text[i];
                if (text + i == sym && strpbrk(sym + 1, url ? "-_" : "+/") == NULL) {
                    continue; /* the only symbol: replaced, the text is all in the other one */
                }
                text[i] = url ? '/' : '-';
                assert_int_equal(vd_base64_decode(text, tl, out, &n), -1);
                text[i] = was;
            }
        }
    }
}

static void test_tsm_real_envelope(void **state)
{
    (void)state;
    size_t len, rlen, tlen;
    uint8_t *json = vd_test_read_vector("veraison-tsm/sevsnp-tsm-report.json", &len);
    uint8_t *report = vd_test_read_vector("veraison-tsm/derived/outblob_report.bin", &rlen);
    uint8_t *table = vd_test_read_vector("veraison-tsm/derived/auxblob_certtable.bin", &tlen);
    vd_evidence_t ev;
    vd_error_t err = {0};
    assert_true(vd_evidence_is_json(json, len));
    assert_int_equal(vd_evidence_parse_tsm_json(json, len, &ev, &err), VD_OK);
    assert_int_equal(ev.report_len, VD_SNP_REPORT_SIZE);
    assert_memory_equal(ev.report, report, rlen);
    assert_int_equal(ev.cert_table_len, tlen);
    assert_memory_equal(ev.cert_table, table, tlen);
    vd_evidence_free(&ev);
    assert_null(ev.report);
    free(json);
    free(report);
    free(table);
}

static void test_tsm_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        vd_err_t code;
        const char *needle;
    } cases[] = {
        {"{", VD_E_MALFORMED, "not a JSON object"},
        {"[1]", VD_E_MALFORMED, "not a JSON object"},
        {"{}", VD_E_MALFORMED, "\"outblob\" is missing"},
        {"{\"outblob\": 5}", VD_E_MALFORMED, "\"outblob\" must be a base64 string"},
        {"{\"outblob\": \"@@@@\"}", VD_E_MALFORMED, "\"outblob\" is not valid base64"},
        {"{\"outblob\": \"AQID\", \"auxblob\": \"!\"}", VD_E_MALFORMED, "\"auxblob\""},
        {"{\"outblob\": \"AQID\", \"provider\": \"tdx_guest\"}", VD_E_UNSUPPORTED, "not sev_guest"},
        {"{\"outblob\": \"AQID\", \"provider\": 7}", VD_E_UNSUPPORTED, "not sev_guest"},
        {"{\"outblob\": \"AQID\", \"outblob\": \"AQID\"}", VD_E_MALFORMED, "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vd_evidence_t ev;
        vd_error_t err = {0};
        vd_err_t rc = vd_evidence_parse_tsm_json((const uint8_t *)cases[i].json,
                                                 strlen(cases[i].json), &ev, &err);
        if (rc != cases[i].code || strstr(err.msg, cases[i].needle) == NULL) {
            fail_msg("%s: got %d \"%s\"", cases[i].json, rc, err.msg);
        }
        assert_null(ev.report);
        assert_null(ev.cert_table);
    }
    /* A valid envelope without auxblob and with the provider's trailing newline. */
    const char *ok = "{\"provider\": \"sev_guest\\n\", \"outblob\": \"AQID\"}";
    vd_evidence_t ev;
    assert_int_equal(vd_evidence_parse_tsm_json((const uint8_t *)ok, strlen(ok), &ev, NULL), VD_OK);
    assert_int_equal(ev.report_len, 3);
    assert_null(ev.cert_table);
    vd_evidence_free(&ev);
    assert_false(vd_evidence_is_json((const uint8_t *)"  \n", 3));
    assert_false(vd_evidence_is_json((const uint8_t *)"\x03\x00", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_alphabets_and_padding),
        cmocka_unit_test(test_base64_rejects),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_tsm_real_envelope),
        cmocka_unit_test(test_tsm_malformed),
    };
    return cmocka_run_group_tests_name("evidence", tests, NULL, NULL);
}
