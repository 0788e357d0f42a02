/*
 * The vTPM parsers alone (include/verdict/vtpm.h): every length and bound of the HCL report,
 * TPMS_ATTEST and the evidence JSON, every member type of the runtime data, and the AK rules.
 * Synthetic inputs, built here; the real vectors are test_vtpm's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/base64.h"
#include "verdict/bytes.h"
#include "verdict/vtpm.h"

/* ---- HCL report ---------------------------------------------------------------------------- */

#define RT_OK "{\"keys\":[]}"

/* A consistent HCL report of `total` bytes around runtime data `rt`. */
static size_t make_hcl(uint8_t *buf, size_t total, const char *rt)
{
    size_t n = strlen(rt);
    memset(buf, 0, total);
    memcpy(buf, "HCLA", 4);
    vd_put_le32(buf + 0x04, 1);
    vd_put_le32(buf + 0x08, (uint32_t)(VD_HCL_RUNTIME_OFFSET + n));
    vd_put_le32(buf + 0x0C, 2);
    vd_put_le32(buf + VD_HCL_REQUEST_OFFSET, (uint32_t)(20 + n));
    vd_put_le32(buf + VD_HCL_REQUEST_OFFSET + 4, 1);
    vd_put_le32(buf + VD_HCL_REQUEST_OFFSET + 8, 2);
    vd_put_le32(buf + VD_HCL_REQUEST_OFFSET + 12, 1);
    vd_put_le32(buf + VD_HCL_REQUEST_OFFSET + 16, (uint32_t)n);
    memcpy(buf + VD_HCL_RUNTIME_OFFSET, rt, n);
    return total;
}

static void hcl_expect(const uint8_t *buf, size_t len, vd_err_t want, const char *needle)
{
    vd_vtpm_hcl_t h;
    vd_error_t err = {0};
    vd_err_t rc = vd_vtpm_hcl_parse(buf, len, &h, &err);
    if (rc != want || (needle != NULL && strstr(err.msg, needle) == NULL)) {
        fail_msg("HCL parse: got %d \"%s\", want %d with \"%s\"", rc, err.msg, want,
                 needle ? needle : "");
    }
    if (rc != VD_OK) {
        assert_null(h.runtime_data);
    }
}

static void test_hcl_valid(void **state)
{
    (void)state;
    uint8_t buf[2600];
    vd_vtpm_hcl_t h;
    vd_error_t err = {0};
    make_hcl(buf, sizeof(buf), RT_OK);
    assert_int_equal(vd_vtpm_hcl_parse(buf, sizeof(buf), &h, &err), VD_OK);
    assert_int_equal(h.runtime_len, strlen(RT_OK));
    assert_ptr_equal(h.runtime_data, buf + VD_HCL_RUNTIME_OFFSET);
    assert_ptr_equal(h.snp_report, buf + VD_HCL_SNP_OFFSET);
    /* exactly the header and the runtime data, no fill */
    size_t exact = VD_HCL_RUNTIME_OFFSET + strlen(RT_OK);
    assert_int_equal(vd_vtpm_hcl_parse(buf, exact, &h, &err), VD_OK);
    /* header version 2 (Genoa) */
    vd_put_le32(buf + 4, 2);
    assert_int_equal(vd_vtpm_hcl_parse(buf, sizeof(buf), &h, &err), VD_OK);
}

static void test_hcl_lengths(void **state)
{
    (void)state;
    uint8_t buf[2600];
    size_t n = strlen(RT_OK);
    make_hcl(buf, sizeof(buf), RT_OK);
    hcl_expect(NULL, 0, VD_E_MALFORMED, "shorter");
    for (size_t len = 0; len < VD_HCL_RUNTIME_OFFSET; len += 97) {
        hcl_expect(buf, len, VD_E_MALFORMED, "shorter");
    }
    hcl_expect(buf, VD_HCL_RUNTIME_OFFSET - 1, VD_E_MALFORMED, "shorter");
    /* runtime data cut by the end of the buffer */
    hcl_expect(buf, VD_HCL_RUNTIME_OFFSET + n - 1, VD_E_MALFORMED, "runs past");
    /* variable-data size past the buffer, huge */
    make_hcl(buf, sizeof(buf), RT_OK);
    vd_put_le32(buf + VD_HCL_REQUEST_OFFSET + 16, 0xFFFFFFFFu);
    hcl_expect(buf, sizeof(buf), VD_E_MALFORMED, "runs past");
    /* report size inconsistent (both ways, and overflowing) */
    make_hcl(buf, sizeof(buf), RT_OK);
    vd_put_le32(buf + 8, (uint32_t)(VD_HCL_RUNTIME_OFFSET + n + 1));
    hcl_expect(buf, sizeof(buf), VD_E_MALFORMED, "report size");
    vd_put_le32(buf + 8, (uint32_t)(n - 1));
    hcl_expect(buf, sizeof(buf), VD_E_MALFORMED, "report size");
    /* request-data size inconsistent */
    make_hcl(buf, sizeof(buf), RT_OK);
    vd_put_le32(buf + VD_HCL_REQUEST_OFFSET, (uint32_t)(19 + n));
    hcl_expect(buf, sizeof(buf), VD_E_MALFORMED, "request-data size");
    vd_put_le32(buf + VD_HCL_REQUEST_OFFSET, 0xFFFFFFFFu);
    hcl_expect(buf, sizeof(buf), VD_E_MALFORMED, "request-data size");
    /* no runtime data */
    make_hcl(buf, sizeof(buf), "");
    hcl_expect(buf, sizeof(buf), VD_E_MALFORMED, "no runtime data");
}

static void test_hcl_values(void **state)
{
    (void)state;
    uint8_t buf[2600];
    static const struct {
        size_t off;
        uint32_t value;
        const char *needle;
    } cases[] = {
        {0x00, 0x414C4349, "HCLA"}, /* "ICLA" */
        {0x04, 0, "header version 0"},
        {0x04, 3, "header version 3"},
        {0x0C, 1, "request type 1"},
        {0x10, 1, "status 1"},
        {0x14, 1, "reserved"},
        {0x1C, 0x01000000, "reserved"},
        {VD_HCL_REQUEST_OFFSET + 4, 2, "request-data version 2"},
        {VD_HCL_REQUEST_OFFSET + 8, 4, "report type 4"},
        {VD_HCL_REQUEST_OFFSET + 12, 0, "hash type 0"},
        {VD_HCL_REQUEST_OFFSET + 12, 2, "hash type 2"},
        {VD_HCL_REQUEST_OFFSET + 12, 3, "hash type 3"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        make_hcl(buf, sizeof(buf), RT_OK);
        vd_put_le32(buf + cases[i].off, cases[i].value);
        hcl_expect(buf, sizeof(buf), i == 0 ? VD_E_MALFORMED : VD_E_UNSUPPORTED, cases[i].needle);
    }
}

/* ---- TPMS_ATTEST --------------------------------------------------------------------------- */

typedef struct wr {
    uint8_t b[1200];
    size_t n;
} wr_t;

static void w8(wr_t *w, unsigned v)
{
    w->b[w->n++] = (uint8_t)v;
}

static void w16(wr_t *w, unsigned v)
{
    w8(w, v >> 8);
    w8(w, v);
}

static void w32(wr_t *w, uint32_t v)
{
    w16(w, v >> 16);
    w16(w, v & 0xFFFF);
}

static void wbytes(wr_t *w, const void *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

typedef struct quote_spec {
    uint32_t magic;
    unsigned type;
    unsigned signer_len;
    unsigned extra_len;
    unsigned safe;
    uint32_t n_sel;
    unsigned sel_size;
    unsigned digest_len;
} quote_spec_t;

static const quote_spec_t GOOD = {0xFF544347u, 0x8018, 34, 9, 1, 1, 3, 32};

static void make_quote(wr_t *w, const quote_spec_t *s)
{
    uint8_t fill[300];
    memset(fill, 0xA5, sizeof(fill));
    memset(w, 0, sizeof(*w));
    w32(w, s->magic);
    w16(w, s->type);
    w16(w, s->signer_len);
    wbytes(w, fill, s->signer_len < 100 ? s->signer_len : 100);
    w16(w, s->extra_len);
    wbytes(w, fill, s->extra_len < 100 ? s->extra_len : 100);
    w32(w, 0), w32(w, 12345);             /* clock */
    w32(w, 2), w32(w, 0), w8(w, s->safe); /* resetCount, restartCount, safe */
    w32(w, 0x20200312), w32(w, 0x00120003);
    w32(w, s->n_sel);
    for (uint32_t i = 0; i < s->n_sel && i < 20; i++) {
        w16(w, VD_TPM_ALG_SHA256);
        w8(w, s->sel_size);
        for (unsigned k = 0; k < s->sel_size && k < 12; k++) {
            w8(w, 0xFF);
        }
    }
    w16(w, s->digest_len);
    wbytes(w, fill, s->digest_len < 100 ? s->digest_len : 100);
}

static vd_err_t parse_quote(const wr_t *w, vd_tpm_attest_t *q, char *msg, size_t msg_size)
{
    vd_error_t err = {0};
    vd_err_t rc = vd_vtpm_attest_parse(w->b, w->n, q, &err);
    snprintf(msg, msg_size, "%s", err.msg);
    return rc;
}

static void quote_expect_fail(const quote_spec_t *s, const char *needle)
{
    wr_t w;
    vd_tpm_attest_t q;
    char msg[VD_ERROR_MSG_MAX];
    make_quote(&w, s);
    vd_err_t rc = parse_quote(&w, &q, msg, sizeof(msg));
    if (rc != VD_E_MALFORMED || strstr(msg, needle) == NULL) {
        fail_msg("quote: got %d \"%s\", want \"%s\"", rc, msg, needle);
    }
}

static void test_quote_valid(void **state)
{
    (void)state;
    wr_t w;
    vd_tpm_attest_t q;
    char msg[VD_ERROR_MSG_MAX];
    make_quote(&w, &GOOD);
    assert_int_equal(w.n, 122);
    assert_int_equal(parse_quote(&w, &q, msg, sizeof(msg)), VD_OK);
    assert_int_equal(q.extra_len, 9);
    assert_int_equal(q.signer_len, 34);
    assert_int_equal(q.clock, 12345);
    assert_int_equal(q.reset_count, 2);
    assert_int_equal(q.safe, 1);
    assert_int_equal(q.firmware_version, 0x2020031200120003ull);
    assert_int_equal(q.n_selections, 1);
    assert_int_equal(q.sel[0].size, 3);
    assert_int_equal(q.digest_len, 32);
    /* the maxima themselves are accepted; empty TPM2Bs too */
    quote_spec_t s = GOOD;
    s.signer_len = VD_TPM_NAME_MAX, s.extra_len = VD_TPM_DATA_MAX, s.digest_len = 0;
    s.n_sel = VD_TPM_SELECTIONS_MAX, s.sel_size = VD_TPM_SELECT_MAX;
    make_quote(&w, &s);
    assert_int_equal(parse_quote(&w, &q, msg, sizeof(msg)), VD_OK);
    s = GOOD;
    s.signer_len = 0, s.extra_len = 0, s.n_sel = 0;
    make_quote(&w, &s);
    assert_int_equal(parse_quote(&w, &q, msg, sizeof(msg)), VD_OK);
}

/* Every proper prefix fails, and so does one byte more. */
static void test_quote_truncated(void **state)
{
    (void)state;
    wr_t w;
    vd_tpm_attest_t q;
    vd_error_t err = {0};
    make_quote(&w, &GOOD);
    for (size_t len = 0; len < w.n; len++) {
        assert_int_equal(vd_vtpm_attest_parse(w.b, len, &q, &err), VD_E_MALFORMED);
    }
    w.b[w.n] = 0;
    err.code = VD_OK, err.msg[0] = 0;
    assert_int_equal(vd_vtpm_attest_parse(w.b, w.n + 1, &q, &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "after pcrDigest"));
    assert_int_equal(vd_vtpm_attest_parse(NULL, 0, &q, &err), VD_E_MALFORMED);
}

static void test_quote_values(void **state)
{
    (void)state;
    quote_spec_t s;
    s = GOOD, s.magic = 0xFF544348u;
    quote_expect_fail(&s, "magic");
    s = GOOD, s.type = 0x8014; /* TPM_ST_ATTEST_CERTIFY */
    quote_expect_fail(&s, "type");
    s = GOOD, s.signer_len = VD_TPM_NAME_MAX + 1;
    quote_expect_fail(&s, "qualifiedSigner of 69 bytes");
    s = GOOD, s.extra_len = VD_TPM_DATA_MAX + 1;
    quote_expect_fail(&s, "extraData of 67 bytes");
    s = GOOD, s.extra_len = 0xFFFF;
    quote_expect_fail(&s, "extraData");
    s = GOOD, s.safe = 2;
    quote_expect_fail(&s, "safe");
    s = GOOD, s.n_sel = VD_TPM_SELECTIONS_MAX + 1;
    quote_expect_fail(&s, "PCR selections");
    s = GOOD, s.n_sel = 0xFFFFFFFFu;
    quote_expect_fail(&s, "PCR selections");
    s = GOOD, s.sel_size = VD_TPM_SELECT_MAX + 1;
    quote_expect_fail(&s, "sizeofSelect");
    s = GOOD, s.digest_len = VD_TPM_DIGEST_MAX + 1;
    quote_expect_fail(&s, "pcrDigest of 65 bytes");
    /* a TPM2B size pointing past the end */
    wr_t w;
    vd_tpm_attest_t q;
    vd_error_t err = {0};
    make_quote(&w, &GOOD);
    w.b[w.n - 33] = 33; /* pcrDigest size 32 -> 33 */
    assert_int_equal(vd_vtpm_attest_parse(w.b, w.n, &q, &err), VD_E_MALFORMED);
    assert_non_null(strstr(err.msg, "runs past"));
}

/* ---- runtime data -------------------------------------------------------------------------- */

/* base64url of a big-endian integer of `n` bytes, first byte `top`, odd. */
static void b64_int(size_t n, uint8_t top, char *out, size_t out_size)
{
    uint8_t b[VD_VTPM_AK_MAX_BYTES + 8];
    memset(b, 0x5A, n);
    b[0] = top;
    b[n - 1] |= 1;
    assert_true(vd_base64_encode(b, n, VD_B64_URL_NOPAD, out, out_size) != (size_t)-1);
}

static vd_err_t rt_parse(const char *json, vd_vtpm_runtime_t *rt, char *msg, size_t msg_size)
{
    vd_error_t err = {0};
    vd_err_t rc = vd_vtpm_runtime_parse((const uint8_t *)json, strlen(json), rt, &err);
    snprintf(msg, msg_size, "%s", err.msg);
    return rc;
}

static void rt_expect_fail(const char *json, const char *needle)
{
    vd_vtpm_runtime_t rt;
    char msg[VD_ERROR_MSG_MAX];
    vd_err_t rc = rt_parse(json, &rt, msg, sizeof(msg));
    if (rc != VD_E_MALFORMED || strstr(msg, needle) == NULL) {
        fail_msg("runtime %s: got %d \"%s\", want \"%s\"", json, rc, msg, needle);
    }
    assert_int_equal(rt.ak_ok, 0);
}

static char *rt_with_ak(const char *kid, const char *kty, const char *n, const char *e,
                        const char *extra)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "{\"keys\":[{\"kid\":\"HCLEkPub\",\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"AQAB\"},"
             "{\"kid\":\"%s\",\"key_ops\":[\"sign\"],\"kty\":\"%s\",\"e\":\"%s\",\"n\":\"%s\"}%s],"
             "\"vm-configuration\":{\"console-enabled\":false,\"secure-boot\":true,"
             "\"tpm-enabled\":true,\"vmUniqueId\":\"ABC\"},\"user-data\":\"%0128d\"}",
             kid, kty, e, n, extra, 0);
    return buf;
}

static void test_runtime_valid(void **state)
{
    (void)state;
    char n[400], msg[VD_ERROR_MSG_MAX];
    vd_vtpm_runtime_t rt;
    b64_int(256, 0xC3, n, sizeof(n));
    assert_int_equal(rt_parse(rt_with_ak("HCLAkPub", "RSA", n, "AQAB", ""), &rt, msg, sizeof(msg)),
                     VD_OK);
    assert_true(rt.ak_ok);
    assert_int_equal(rt.ak_n_len, 256);
    assert_int_equal(rt.ak_e_len, 3);
    assert_int_equal(rt.secure_boot, 1);
    assert_int_equal(rt.console_enabled, 0);
    assert_int_equal(rt.tpm_persisted, -1);
    assert_string_equal(rt.vm_unique_id, "ABC");
    assert_true(rt.has_user_data);
    /* a leading zero byte in n is dropped */
    uint8_t b[257] = {0};
    memset(b + 1, 0xC3, 256);
    assert_true(vd_base64_encode(b, sizeof(b), VD_B64_URL_NOPAD, n, sizeof(n)) != (size_t)-1);
    assert_int_equal(rt_parse(rt_with_ak("HCLAkPub", "RSA", n, "AQAB", ""), &rt, msg, sizeof(msg)),
                     VD_OK);
    assert_int_equal(rt.ak_n_len, 256);
    /* nothing but keys */
    assert_int_equal(rt_parse("{\"keys\":[]}", &rt, msg, sizeof(msg)), VD_OK);
    assert_false(rt.ak_ok);
    assert_non_null(strstr(rt.ak_problem, "0 keys"));
    assert_int_equal(rt.secure_boot, -1);
    assert_false(rt.has_user_data);
}

static void test_runtime_malformed(void **state)
{
    (void)state;
    rt_expect_fail("", "empty");
    rt_expect_fail("{", "not a JSON object");
    rt_expect_fail("[]", "not a JSON object");
    rt_expect_fail("{\"keys\":[]} x", "not a JSON object");
    rt_expect_fail("{\"keys\":[],\"keys\":[]}", "not a JSON object"); /* duplicate member */
    rt_expect_fail("{}", "\"keys\" is not an array");
    rt_expect_fail("{\"keys\":{}}", "\"keys\" is not an array");
    rt_expect_fail("{\"keys\":[1]}", "keys[0] is not an object");
    rt_expect_fail("{\"keys\":[],\"vm-configuration\":[]}", "vm-configuration is not an object");
    rt_expect_fail("{\"keys\":[],\"vm-configuration\":{\"secure-boot\":\"true\"}}", "secure-boot");
    rt_expect_fail("{\"keys\":[],\"vm-configuration\":{\"tpm-enabled\":1}}", "tpm-enabled");
    rt_expect_fail("{\"keys\":[],\"vm-configuration\":{\"console-enabled\":null}}",
                   "console-enabled");
    rt_expect_fail("{\"keys\":[],\"vm-configuration\":{\"vmUniqueId\":7}}", "vmUniqueId");
    rt_expect_fail("{\"keys\":[],\"vm-configuration\":{\"vmUniqueId\":"
                   "\"0123456789012345678901234567890123456789012345678901234567890123\"}}",
                   "vmUniqueId");
    rt_expect_fail("{\"keys\":[],\"vm-configuration\":{\"vmUniqueId\":\"a\\u0000b\"}}",
                   "not a JSON object"); /* jansson refuses NUL */
    rt_expect_fail("{\"keys\":[],\"user-data\":\"00\"}", "user-data");
    rt_expect_fail("{\"keys\":[],\"user-data\":1}", "user-data");
    char ud[200];
    snprintf(ud, sizeof(ud), "{\"keys\":[],\"user-data\":\"%0127dg\"}", 0);
    rt_expect_fail(ud, "user-data");
    snprintf(ud, sizeof(ud), "{\"keys\":[],\"user-data\":\"%0130d\"}", 0);
    rt_expect_fail(ud, "user-data");
}

static void test_runtime_ak_rules(void **state)
{
    (void)state;
    char n[1500], msg[VD_ERROR_MSG_MAX], dup[2000];
    vd_vtpm_runtime_t rt;
    b64_int(256, 0xC3, n, sizeof(n));
    static const struct {
        const char *kid, *kty, *e;
        const char *problem;
    } cases[] = {
        {"HCLAkPubX", "RSA", "AQAB", "0 keys"},
        {"HCLAkPub", "EC", "AQAB", "kty"},
        {"HCLAkPub", "RSA", "A$AB", "exponent"},
        {"HCLAkPub", "RSA", "AAAA", "exponent e: zero"},
        {"HCLAkPub", "RSA", "AQABAQABAQAB", "exponent e: too long"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(rt_parse(rt_with_ak(cases[i].kid, cases[i].kty, n, cases[i].e, ""), &rt,
                                  msg, sizeof(msg)),
                         VD_OK);
        assert_false(rt.ak_ok);
        if (strstr(rt.ak_problem, cases[i].problem) == NULL) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, rt.ak_problem, cases[i].problem);
        }
    }
    /* two AKs */
    char second[1700];
    snprintf(second, sizeof(second),
             ",{\"kid\":\"HCLAkPub\",\"kty\":\"RSA\",\"e\":\"AQAB\","
             "\"n\":\"%s\"}",
             n);
    snprintf(dup, sizeof(dup), "%s", second);
    assert_int_equal(rt_parse(rt_with_ak("HCLAkPub", "RSA", n, "AQAB", dup), &rt, msg, sizeof(msg)),
                     VD_OK);
    assert_false(rt.ak_ok);
    assert_non_null(strstr(rt.ak_problem, "2 keys"));
    /* a modulus longer than 8192 bits; n not a string */
    b64_int(VD_VTPM_AK_MAX_BYTES + 1, 0xC3, n, sizeof(n));
    assert_int_equal(rt_parse(rt_with_ak("HCLAkPub", "RSA", n, "AQAB", ""), &rt, msg, sizeof(msg)),
                     VD_OK);
    assert_false(rt.ak_ok);
    assert_non_null(strstr(rt.ak_problem, "modulus n: too long"));
}

/* hcl.ak through vd_vtpm_check: a 1024-bit, an even and an e=1 key are refused. */
static void test_check_ak_strength(void **state)
{
    (void)state;
    static uint8_t hcl[4096];
    char n[400];
    static const struct {
        size_t bytes;
        uint8_t top;
        const char *e;
        int even;
        const char *needle;
    } cases[] = {
        {128, 0xC3, "AQAB", 0, "1024 bits"}, {256, 0x7F, "AQAB", 0, "2047 bits"},
        {256, 0xC3, "AQAB", 1, "even"},      {256, 0xC3, "AQ", 0, "exponent"},
        {256, 0xC3, "AQAA", 0, "exponent"},  {256, 0xC3, "Aw", 0, NULL}, /* e = 3: accepted */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[300];
        memset(b, 0x5A, cases[i].bytes);
        b[0] = cases[i].top;
        b[cases[i].bytes - 1] = cases[i].even ? 0x5A : 0x5B;
        assert_true(vd_base64_encode(b, cases[i].bytes, VD_B64_URL_NOPAD, n, sizeof(n)) !=
                    (size_t)-1);
        make_hcl(hcl, 2600, rt_with_ak("HCLAkPub", "RSA", n, cases[i].e, ""));
        vd_vtpm_evidence_t ev = {.form = VD_VTPM_FORM_HCL, .hcl = hcl, .hcl_len = 2600};
        vd_snp_result_t *snp = calloc(1, sizeof(*snp));
        vd_vtpm_result_t *res = calloc(1, sizeof(*res));
        vd_error_t err = {0};
        assert_non_null(snp);
        assert_non_null(res);
        assert_int_equal(vd_vtpm_check(&ev, NULL, 0, snp, res, &err), VD_OK);
        const vd_check_t *k = vd_checks_find(&snp->checks, "hcl.ak");
        assert_non_null(k);
        /* no SNP result for this report: always rejected */
        assert_int_equal(snp->status, VD_SNP_REJECTED);
        assert_int_equal(vd_checks_find(&snp->checks, "hcl.report_data")->result, VD_CHECK_FAIL);
        if (cases[i].needle == NULL) {
            assert_int_equal(k->result, VD_CHECK_PASS);
        } else if (k->result != VD_CHECK_FAIL || strstr(k->detail, cases[i].needle) == NULL) {
            fail_msg("case %zu: hcl.ak %s \"%s\", want fail with \"%s\"", i,
                     vd_check_result_str(k->result), k->detail, cases[i].needle);
        }
        free(snp);
        free(res);
    }
}

/* ---- evidence JSON ------------------------------------------------------------------------- */

static void ev_expect(const char *json, vd_err_t want, const char *needle)
{
    vd_vtpm_evidence_t ev;
    vd_error_t err = {0};
    vd_err_t rc = vd_vtpm_evidence_parse((const uint8_t *)json, strlen(json), &ev, &err);
    if (rc != want || (needle != NULL && strstr(err.msg, needle) == NULL)) {
        fail_msg("evidence %.120s: got %d \"%s\", want %d with \"%s\"", json, rc, err.msg, want,
                 needle ? needle : "");
    }
    if (rc != VD_OK) {
        assert_null(ev.hcl);
        assert_null(ev.pcrs);
    }
    vd_vtpm_evidence_free(&ev);
}

#define PCR_HEX  "\"0000000000000000000000000000000000000000000000000000000000000000\""
#define V1_QUOTE "{\"signature\":\"0A0b\",\"message\":\"FF54\",\"pcrs\":[" PCR_HEX "]}"

static void test_evidence_v1_decoding(void **state)
{
    (void)state;
    vd_vtpm_evidence_t ev;
    vd_error_t err = {0};
    /* padded, unpadded and standard-alphabet base64; hex in either case; no vcek */
    static const char *const ok[] = {
        "{\"version\":1,\"hcl_report\":\"SENMQQ==\",\"tpm_quote\":" V1_QUOTE "}",
        "{\"version\":2,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":" V1_QUOTE ",\"vcek\":\"\"}",
        "{\"version\":1,\"hcl_report\":\"-_-_\",\"tpm_quote\":" V1_QUOTE ",\"vcek\":null}",
        "{\"version\":1,\"hcl_report\":\"+/+/\",\"tpm_quote\":" V1_QUOTE "}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (vd_vtpm_evidence_parse((const uint8_t *)ok[i], strlen(ok[i]), &ev, &err) != VD_OK) {
            fail_msg("%s: %s", ok[i], err.msg);
        }
        assert_int_equal(ev.form, i == 1 ? VD_VTPM_FORM_V2 : VD_VTPM_FORM_V1);
        assert_int_equal(ev.signature_len, 2);
        assert_int_equal(ev.signature[1], 0x0B);
        assert_int_equal(ev.n_pcrs, 1);
        assert_null(ev.vcek);
        if (i < 2) {
            assert_int_equal(ev.hcl_len, 4);
            assert_memory_equal(ev.hcl, "HCLA", 4);
        }
        vd_vtpm_evidence_free(&ev);
    }
}

static void test_evidence_malformed(void **state)
{
    (void)state;
    ev_expect("", VD_E_MALFORMED, "not a JSON object");
    ev_expect("[1]", VD_E_MALFORMED, "not a JSON object");
    ev_expect("{\"outblob\":\"AAAA\"}", VD_E_MALFORMED, "neither");
    ev_expect("{\"version\":3,\"hcl_report\":\"\"}", VD_E_MALFORMED, "version must be 1 or 2");
    ev_expect("{\"version\":\"1\"}", VD_E_MALFORMED, "version must be 1 or 2");
    ev_expect("{\"version\":1,\"version\":1}", VD_E_MALFORMED, "not a JSON object");
    ev_expect("{\"version\":1}", VD_E_MALFORMED, "hcl_report is missing");
    ev_expect("{\"version\":1,\"hcl_report\":5}", VD_E_MALFORMED, "hcl_report must be");
    ev_expect("{\"version\":1,\"hcl_report\":\"S\"}", VD_E_MALFORMED, "not valid base64");
    ev_expect("{\"version\":1,\"hcl_report\":\"SENMQQ==\"}", VD_E_MALFORMED,
              "tpm_quote is missing");
    ev_expect("{\"version\":1,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":[]}", VD_E_MALFORMED,
              "tpm_quote must be an object");
    ev_expect("{\"version\":1,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":{}}", VD_E_MALFORMED,
              "tpm_quote.signature is missing");
    ev_expect("{\"version\":1,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":{\"signature\":\"0g\"}}",
              VD_E_MALFORMED, "tpm_quote.signature is not valid hex");
    ev_expect("{\"version\":1,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":{\"signature\":\"012\"}}",
              VD_E_MALFORMED, "not valid hex");
    ev_expect("{\"version\":1,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":{\"signature\":\"\"}}",
              VD_E_MALFORMED, "tpm_quote.message is missing");
    ev_expect("{\"version\":1,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":{\"signature\":\"\","
              "\"message\":\"\"}}",
              VD_E_MALFORMED, "tpm_quote.pcrs is missing");
    ev_expect("{\"version\":1,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":{\"signature\":\"\","
              "\"message\":\"\",\"pcrs\":[\"00\"]}}",
              VD_E_MALFORMED, "tpm_quote.pcrs[0] has 1 bytes");
    ev_expect("{\"version\":1,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":{\"signature\":\"\","
              "\"message\":\"\",\"pcrs\":{}}}",
              VD_E_MALFORMED, "tpm_quote.pcrs must be an array");
    ev_expect("{\"version\":1,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":" V1_QUOTE
              ",\"vcek\":\"***\"}",
              VD_E_MALFORMED, "vcek is not valid base64url");
    /* v0 */
    ev_expect("{\"report\":[72,67,76,65],\"quote\":{},\"vcek\":\"\"}", VD_E_MALFORMED,
              "quote.signature is missing");
    ev_expect("{\"report\":[256],\"quote\":{},\"vcek\":\"\"}", VD_E_MALFORMED,
              "report[0] is not a byte");
    ev_expect("{\"report\":[-1],\"quote\":{},\"vcek\":\"\"}", VD_E_MALFORMED,
              "report[0] is not a byte");
    ev_expect("{\"report\":[1.0],\"quote\":{},\"vcek\":\"\"}", VD_E_MALFORMED,
              "report[0] is not a byte");
    ev_expect("{\"report\":\"AAAA\",\"quote\":{},\"vcek\":\"\"}", VD_E_MALFORMED,
              "report must be an array");
    ev_expect("{\"report\":[],\"quote\":{\"signature\":[],\"message\":[],\"pcrs\":[[1,2]]},"
              "\"vcek\":\"\"}",
              VD_E_MALFORMED, "quote.pcrs[0] has 2 bytes");
    ev_expect("{\"report\":[],\"quote\":{\"signature\":[],\"message\":[],\"pcrs\":[]},"
              "\"vcek\":5}",
              VD_E_MALFORMED, "vcek must be PEM");
    ev_expect("{\"report\":[],\"quote\":{\"signature\":[],\"message\":[],\"pcrs\":[]},"
              "\"vcek\":\"\"}",
              VD_OK, NULL);
}

/* Every limit of vtpm.h, one past it. */
static void test_evidence_limits(void **state)
{
    (void)state;
    size_t cap = 200000;
    char *buf = malloc(cap);
    assert_non_null(buf);
    /* v0 report of VD_VTPM_HCL_MAX + 1 bytes */
    size_t k = (size_t)snprintf(buf, cap, "{\"report\":[");
    for (size_t i = 0; i <= VD_VTPM_HCL_MAX; i++) {
        k += (size_t)snprintf(buf + k, cap - k, "%s0", i ? "," : "");
    }
    snprintf(buf + k, cap - k, "],\"quote\":{},\"vcek\":\"\"}");
    ev_expect(buf, VD_E_TOO_LARGE, "report has 16385 bytes");
    /* v1 signature of VD_VTPM_SIG_MAX + 1 bytes; message of VD_VTPM_QUOTE_MAX + 1 */
    k = (size_t)snprintf(
        buf, cap, "{\"version\":1,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":{\"signature\":\"");
    for (size_t i = 0; i <= VD_VTPM_SIG_MAX; i++) {
        k += (size_t)snprintf(buf + k, cap - k, "00");
    }
    snprintf(buf + k, cap - k, "\"}}");
    ev_expect(buf, VD_E_TOO_LARGE, "signature is longer than 512");
    k = (size_t)snprintf(buf, cap,
                         "{\"version\":1,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":{\"signature\":"
                         "\"\",\"message\":\"");
    for (size_t i = 0; i <= VD_VTPM_QUOTE_MAX; i++) {
        k += (size_t)snprintf(buf + k, cap - k, "00");
    }
    snprintf(buf + k, cap - k, "\"}}");
    ev_expect(buf, VD_E_TOO_LARGE, "message is longer than 1024");
    /* 65 PCR values */
    k = (size_t)snprintf(buf, cap,
                         "{\"version\":1,\"hcl_report\":\"SENMQQ\",\"tpm_quote\":{\"signature\":"
                         "\"\",\"message\":\"\",\"pcrs\":[");
    for (size_t i = 0; i <= VD_VTPM_PCR_VALUES; i++) {
        k += (size_t)snprintf(buf + k, cap - k, "%s" PCR_HEX, i ? "," : "");
    }
    snprintf(buf + k, cap - k, "]}}");
    ev_expect(buf, VD_E_TOO_LARGE, "65 values");
    /* an hcl_report of more than VD_VTPM_HCL_MAX bytes */
    k = (size_t)snprintf(buf, cap, "{\"version\":1,\"hcl_report\":\"");
    for (size_t i = 0; i < (VD_VTPM_HCL_MAX / 3 + 1) * 4; i++) {
        buf[k++] = 'A';
    }
    snprintf(buf + k, cap - k, "\"}");
    ev_expect(buf, VD_E_TOO_LARGE, "hcl_report is longer");
    /* a raw HCL report over the cap; a whole document over the cap */
    memset(buf, 0, cap);
    memcpy(buf, "HCLA", 4);
    vd_vtpm_evidence_t ev;
    vd_error_t err = {0};
    assert_int_equal(vd_vtpm_evidence_parse((uint8_t *)buf, VD_VTPM_HCL_MAX + 1, &ev, &err),
                     VD_E_TOO_LARGE);
    assert_int_equal(vd_vtpm_evidence_parse((uint8_t *)buf, VD_VTPM_HCL_MAX, &ev, &err), VD_OK);
    assert_int_equal(ev.form, VD_VTPM_FORM_HCL);
    size_t len;
    assert_non_null(vd_vtpm_snp_report(&ev, &len));
    vd_vtpm_evidence_free(&ev);
    assert_int_equal(vd_vtpm_evidence_parse((uint8_t *)buf, 0x4BF, &ev, &err), VD_OK);
    assert_null(vd_vtpm_snp_report(&ev, &len)); /* too short to hold a SNP report */
    assert_int_equal(len, 0);
    vd_vtpm_evidence_free(&ev);
    free(buf);
    char *big = malloc(VD_VTPM_EVIDENCE_MAX + 2);
    assert_non_null(big);
    memset(big, ' ', VD_VTPM_EVIDENCE_MAX + 1);
    big[0] = '{';
    big[VD_VTPM_EVIDENCE_MAX] = '}';
    assert_int_equal(vd_vtpm_evidence_detect((uint8_t *)big, VD_VTPM_EVIDENCE_MAX + 1),
                     VD_VTPM_FORM_NONE);
    assert_int_equal(vd_vtpm_evidence_parse((uint8_t *)big, VD_VTPM_EVIDENCE_MAX + 1, &ev, &err),
                     VD_E_TOO_LARGE);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hcl_valid),
        cmocka_unit_test(test_hcl_lengths),
        cmocka_unit_test(test_hcl_values),
        cmocka_unit_test(test_quote_valid),
        cmocka_unit_test(test_quote_truncated),
        cmocka_unit_test(test_quote_values),
        cmocka_unit_test(test_runtime_valid),
        cmocka_unit_test(test_runtime_malformed),
        cmocka_unit_test(test_runtime_ak_rules),
        cmocka_unit_test(test_check_ak_strength),
        cmocka_unit_test(test_evidence_v1_decoding),
        cmocka_unit_test(test_evidence_malformed),
        cmocka_unit_test(test_evidence_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
