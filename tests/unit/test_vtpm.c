/*
 * Azure vTPM evidence (include/verdict/vtpm.h): every file in ../shared/vectors/azure-vtpm gives
 * its stated result with and without its nonce, each one-part mutation listed in that README is
 * rejected by the stated check, and every parser refuses each malformed length and value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "verdict/bytes.h"
#include "verdict/vtpm.h"
#include "vectors.h"

/* The VCEKs are valid 2025-01-24 .. 2032-01-24. */
#define AT "2026-06-01T00:00:00Z"

#define MILAN_CHAIN     "amd-roots-trustee/milan_ask_ark_asvk.pem"
#define GENOA_CHAIN     "amd-roots-trustee/genoa_ask_ark_asvk.pem"
#define NONCE_CHALLENGE "6368616c6c656e6765"
#define NONCE_V2                                                                                   \
    "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f8" \
    "19ef"
#define NONCE_GENOA                                                                                \
    "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d" \
    "950f"

typedef struct vec {
    const char *file;
    const char *chain;
    const char *nonce;
    vd_vtpm_form_t form;
    const char *pcr0; /* first 8 hex digits (README table) */
    const char *vm_id;
} vec_t;

static const vec_t V0 = {"azure-vtpm/evidence-v0.json",
                         MILAN_CHAIN,
                         NONCE_CHALLENGE,
                         VD_VTPM_FORM_V0,
                         "e15c4479",
                         "26F8BC30-774E-4290-8E7A-535F3B672AEE"};
static const vec_t V1 = {"azure-vtpm/evidence-v1.json",
                         MILAN_CHAIN,
                         NONCE_CHALLENGE,
                         VD_VTPM_FORM_V1,
                         "e15c4479",
                         "26F8BC30-774E-4290-8E7A-535F3B672AEE"};
static const vec_t V2 = {
    "azure-vtpm/evidence-v2.json",         MILAN_CHAIN, NONCE_V2, VD_VTPM_FORM_V2, "84275b2f",
    "7DF7B373-B947-4AAA-96E5-C358F2A03D20"};
static const vec_t GENOA = {
    "azure-vtpm/evidence-genoa.json",      GENOA_CHAIN, NONCE_GENOA, VD_VTPM_FORM_V0, "afd689d0",
    "390CBCF5-6C67-4D9B-98EF-C3F1699CC8FC"};

/* ---- helpers ------------------------------------------------------------------------------- */

typedef struct run {
    vd_snp_result_t *snp;
    vd_vtpm_result_t *vtpm;
} run_t;

static void load(const vec_t *v, vd_vtpm_evidence_t *ev)
{
    size_t len;
    vd_error_t err = {0};
    uint8_t *buf = vd_test_read_vector(v->file, &len);
    if (vd_vtpm_evidence_parse(buf, len, ev, &err) != VD_OK) {
        fail_msg("%s: %s", v->file, err.msg);
    }
    free(buf);
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(vd_hex_decode(hex, strlen(hex), out, cap, &n), 0);
    return n;
}

static void print_checks(const vd_snp_result_t *res)
{
    for (size_t i = 0; i < res->checks.count; i++) {
        print_message("  %s %s: %s\n", vd_check_result_str(res->checks.items[i].result),
                      res->checks.items[i].name, res->checks.items[i].detail);
    }
}

/* Verify `ev` with the chain of `v`, with `nonce` (hex, NULL = none) or raw bytes. */
static run_t verify_raw(const vd_vtpm_evidence_t *ev, const char *chain, const uint8_t *nonce,
                        size_t nonce_len)
{
    run_t r = {calloc(1, sizeof(vd_snp_result_t)), calloc(1, sizeof(vd_vtpm_result_t))};
    vd_certset_t *certs = NULL;
    vd_trust_t *trust = NULL;
    vd_error_t err = {0};
    assert_non_null(r.snp);
    assert_non_null(r.vtpm);
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    vd_test_add_certs(certs, chain);
    vd_vtpm_input_t in = {
        .evidence = ev,
        .certs = certs,
        .trust = trust,
        .at = vd_test_time(AT),
        .nonce = nonce,
        .nonce_len = nonce_len,
    };
    if (vd_vtpm_verify(&in, r.snp, r.vtpm, &err) != VD_OK) {
        fail_msg("vd_vtpm_verify: %s", err.msg);
    }
    vd_trust_free(&trust);
    vd_certset_free(&certs);
    return r;
}

static run_t verify_ev(const vd_vtpm_evidence_t *ev, const vec_t *v, const char *nonce_hex)
{
    uint8_t nonce[128];
    size_t n = nonce_hex != NULL ? unhex(nonce_hex, nonce, sizeof(nonce)) : 0;
    return verify_raw(ev, v->chain, nonce_hex != NULL ? nonce : NULL, n);
}

static void run_free(run_t *r)
{
    free(r->snp);
    free(r->vtpm);
}

static vd_check_result_t result_of(const run_t *r, const char *name)
{
    const vd_check_t *k = vd_checks_find(&r->snp->checks, name);
    if (k == NULL) {
        print_checks(r->snp);
        fail_msg("no check %s", name);
    }
    return k->result;
}

static void assert_check(const run_t *r, const char *name, vd_check_result_t want)
{
    if (result_of(r, name) != want) {
        print_checks(r->snp);
        fail_msg("%s: expected %s", name, vd_check_result_str(want));
    }
}

static void assert_genuine(const run_t *r)
{
    if (r->snp->status != VD_SNP_GENUINE || vd_checks_count(&r->snp->checks, VD_CHECK_FAIL) != 0) {
        print_checks(r->snp);
        fail_msg("expected genuine, got %s", vd_snp_status_str(r->snp->status));
    }
}

/* Rejected, with `name` among the failures. */
static void assert_rejected_by(const run_t *r, const char *name)
{
    if (r->snp->status != VD_SNP_REJECTED) {
        print_checks(r->snp);
        fail_msg("expected rejected (by %s), got %s", name, vd_snp_status_str(r->snp->status));
    }
    assert_check(r, name, VD_CHECK_FAIL);
}

/* ---- detection and decoding ---------------------------------------------------------------- */

static void test_detect_forms(void **state)
{
    (void)state;
    const vec_t *vs[] = {&V0, &V1, &V2, &GENOA};
    for (size_t i = 0; i < 4; i++) {
        size_t len;
        uint8_t *buf = vd_test_read_vector(vs[i]->file, &len);
        assert_int_equal(vd_vtpm_evidence_detect(buf, len), vs[i]->form);
        free(buf);
    }
    static const char tsm[] = "{\"provider\":\"sev_guest\",\"outblob\":\"AAAA\",\"auxblob\":\"\"}";
    assert_int_equal(vd_vtpm_evidence_detect((const uint8_t *)tsm, strlen(tsm)), VD_VTPM_FORM_NONE);
    static const char partial[] = "{\"report\":[1],\"quote\":{}}";
    assert_int_equal(vd_vtpm_evidence_detect((const uint8_t *)partial, strlen(partial)),
                     VD_VTPM_FORM_NONE);
    assert_int_equal(vd_vtpm_evidence_detect((const uint8_t *)"HCLA", 4), VD_VTPM_FORM_HCL);
    assert_int_equal(vd_vtpm_evidence_detect((const uint8_t *)"{", 1), VD_VTPM_FORM_NONE);
    assert_int_equal(vd_vtpm_evidence_detect((const uint8_t *)"[]", 2), VD_VTPM_FORM_NONE);
    assert_int_equal(vd_vtpm_evidence_detect(NULL, 0), VD_VTPM_FORM_NONE);
}

static void test_decode_vectors(void **state)
{
    (void)state;
    const vec_t *vs[] = {&V0, &V1, &V2, &GENOA};
    for (size_t i = 0; i < 4; i++) {
        vd_vtpm_evidence_t ev;
        load(vs[i], &ev);
        assert_int_equal(ev.form, vs[i]->form);
        assert_int_equal(ev.hcl_len, 2600);
        assert_true(ev.has_quote);
        assert_int_equal(ev.quote_len, vs[i] == &V2 || vs[i] == &GENOA ? 161 : 122);
        assert_int_equal(ev.signature_len, 256);
        assert_int_equal(ev.n_pcrs, 24);
        assert_non_null(ev.vcek);
        size_t len;
        assert_non_null(vd_vtpm_snp_report(&ev, &len));
        assert_int_equal(len, VD_SNP_REPORT_SIZE);
        vd_vtpm_evidence_free(&ev);
    }
}

/* ---- every vector: its stated result, with and without its nonce -------------------------- */

static const char *const ORDER[] = {
    "vtpm.evidence",    "hcl.header", "vtpm.vcek",    "hcl.vmpl",      "hcl.report_data",
    "hcl.runtime_data", "hcl.ak",     "tpm.quote",    "tpm.signature", "tpm.pcr_selection",
    "tpm.pcr_digest",   "tpm.nonce",  "hcl.user_data"};
#define N_ORDER (sizeof(ORDER) / sizeof(ORDER[0]))

static void check_vector(const vec_t *v)
{
    vd_vtpm_evidence_t ev;
    load(v, &ev);
    for (int with_nonce = 0; with_nonce < 2; with_nonce++) {
        run_t r = verify_ev(&ev, v, with_nonce ? v->nonce : NULL);
        assert_genuine(&r);
        /* the vTPM checks, in VTPM.md's order, around the SNP ones */
        assert_string_equal(r.snp->checks.items[0].name, ORDER[0]);
        assert_string_equal(r.snp->checks.items[1].name, ORDER[1]);
        assert_string_equal(r.snp->checks.items[2].name, "report.format");
        size_t n = r.snp->checks.count;
        for (size_t i = 2; i < N_ORDER; i++) {
            assert_string_equal(r.snp->checks.items[n - N_ORDER + i].name, ORDER[i]);
        }
        for (size_t i = 0; i < N_ORDER - 2; i++) {
            assert_check(&r, ORDER[i], VD_CHECK_PASS);
        }
        assert_check(&r, "report.signature", VD_CHECK_PASS);
        assert_check(&r, "chain.ark", VD_CHECK_PASS);
        assert_check(&r, "binding.chip_id", VD_CHECK_PASS);
        assert_check(&r, "tpm.nonce", with_nonce ? VD_CHECK_PASS : VD_CHECK_SKIP);
        assert_check(&r, "hcl.user_data",
                     with_nonce && v->form == VD_VTPM_FORM_V2 ? VD_CHECK_PASS : VD_CHECK_SKIP);
        assert_int_equal(r.vtpm->nonce_checked, with_nonce);
        /* claims */
        assert_int_equal(r.vtpm->pcr_mask, 0xFFFFFF);
        char pcr0[65];
        vd_hex_encode(r.vtpm->pcrs[0], 32, pcr0, sizeof(pcr0));
        assert_memory_equal(pcr0, v->pcr0, 8);
        assert_true(vd_all_zero(r.vtpm->pcrs[8], 32) == (v != &GENOA));
        for (int i = 17; i <= 22; i++) {
            uint8_t ff[32];
            memset(ff, 0xFF, sizeof(ff));
            assert_memory_equal(r.vtpm->pcrs[i], ff, 32);
        }
        assert_int_equal(r.vtpm->runtime.secure_boot, 1);
        assert_int_equal(r.vtpm->runtime.tpm_enabled, 1);
        assert_int_equal(r.vtpm->runtime.console_enabled, 1);
        assert_int_equal(r.vtpm->runtime.tpm_persisted, v == &GENOA ? 1 : -1);
        assert_string_equal(r.vtpm->runtime.vm_unique_id, v->vm_id);
        assert_int_equal(r.vtpm->ak_bits, 2048);
        assert_int_equal(r.vtpm->hcl.header_version, v == &GENOA ? 2 : 1);
        assert_int_equal(r.vtpm->quote.firmware_version, 0x2020031200120003ull);
        assert_int_equal(r.snp->report.vmpl, 0);
        run_free(&r);
    }
    vd_vtpm_evidence_free(&ev);
}

static void test_vector_v0(void **state)
{
    (void)state;
    check_vector(&V0);
}

static void test_vector_v1(void **state)
{
    (void)state;
    check_vector(&V1);
}

static void test_vector_v2(void **state)
{
    (void)state;
    check_vector(&V2);
}

static void test_vector_genoa(void **state)
{
    (void)state;
    check_vector(&GENOA);
}

/* v0's quote verifies against v1's HCL report too (same VM, same AK: README). */
static void test_v0_quote_with_v1_hcl(void **state)
{
    (void)state;
    vd_vtpm_evidence_t a, b;
    load(&V0, &a);
    load(&V1, &b);
    uint8_t *tmp = a.hcl;
    a.hcl = b.hcl;
    b.hcl = tmp;
    run_t r = verify_ev(&a, &V0, NONCE_CHALLENGE);
    assert_genuine(&r);
    run_free(&r);
    vd_vtpm_evidence_free(&a);
    vd_vtpm_evidence_free(&b);
}

/* The raw HCL report: the SNP report and the binding verify; no quote, so tpm.* skip, and a
 * nonce cannot be bound. */
static void test_raw_hcl(void **state)
{
    (void)state;
    vd_vtpm_evidence_t v0, raw;
    vd_error_t err = {0};
    load(&V0, &v0);
    assert_int_equal(vd_vtpm_evidence_detect(v0.hcl, v0.hcl_len), VD_VTPM_FORM_HCL);
    assert_int_equal(vd_vtpm_evidence_parse(v0.hcl, v0.hcl_len, &raw, &err), VD_OK);
    assert_int_equal(raw.form, VD_VTPM_FORM_HCL);
    assert_false(raw.has_quote);
    /* the VCEK must come from elsewhere: add it through the chain set */
    vd_certset_t *certs = NULL;
    vd_trust_t *trust = NULL;
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    vd_test_add_certs(certs, MILAN_CHAIN);
    assert_int_equal(vd_vtpm_add_certs(&v0, certs, &err), VD_OK);
    for (int with_nonce = 0; with_nonce < 2; with_nonce++) {
        run_t r = {calloc(1, sizeof(vd_snp_result_t)), calloc(1, sizeof(vd_vtpm_result_t))};
        vd_vtpm_input_t in = {.evidence = &raw,
                              .certs = certs,
                              .trust = trust,
                              .at = vd_test_time(AT),
                              .nonce = (const uint8_t *)"challenge",
                              .nonce_len = with_nonce ? 9 : 0};
        assert_int_equal(vd_vtpm_verify(&in, r.snp, r.vtpm, &err), VD_OK);
        assert_check(&r, "hcl.report_data", VD_CHECK_PASS);
        assert_check(&r, "hcl.ak", VD_CHECK_PASS);
        assert_check(&r, "tpm.quote", VD_CHECK_SKIP);
        assert_check(&r, "tpm.signature", VD_CHECK_SKIP);
        assert_check(&r, "tpm.pcr_digest", VD_CHECK_SKIP);
        if (with_nonce) {
            assert_rejected_by(&r, "tpm.nonce");
        } else {
            assert_genuine(&r);
            assert_int_equal(r.vtpm->pcr_mask, 0);
        }
        run_free(&r);
    }
    vd_trust_free(&trust);
    vd_certset_free(&certs);
    vd_vtpm_evidence_free(&raw);
    vd_vtpm_evidence_free(&v0);
}

/* ---- mutations (README "Must be rejected") ------------------------------------------------- */

static void test_mutate_pcr_value(void **state)
{
    (void)state;
    const vec_t *vs[] = {&V0, &V2, &GENOA};
    for (size_t i = 0; i < 3; i++) {
        for (size_t pcr = 0; pcr < 24; pcr += 7) {
            vd_vtpm_evidence_t ev;
            load(vs[i], &ev);
            ev.pcrs[pcr][31] ^= 1;
            run_t r = verify_ev(&ev, vs[i], vs[i]->nonce);
            assert_rejected_by(&r, "tpm.pcr_digest");
            assert_check(&r, "tpm.signature", VD_CHECK_PASS);
            run_free(&r);
            vd_vtpm_evidence_free(&ev);
        }
    }
}

static void test_mutate_pcr_swap(void **state)
{
    (void)state;
    vd_vtpm_evidence_t ev;
    load(&V0, &ev);
    uint8_t t[32];
    memcpy(t, ev.pcrs[0], 32);
    memcpy(ev.pcrs[0], ev.pcrs[1], 32);
    memcpy(ev.pcrs[1], t, 32);
    run_t r = verify_ev(&ev, &V0, NULL);
    assert_rejected_by(&r, "tpm.pcr_digest");
    run_free(&r);
    vd_vtpm_evidence_free(&ev);
}

static void test_mutate_pcr_count(void **state)
{
    (void)state;
    for (int delta = -1; delta <= 1; delta += 2) {
        vd_vtpm_evidence_t ev;
        load(&V1, &ev);
        if (delta < 0) {
            ev.n_pcrs = 23;
        } else {
            uint8_t(*more)[32] = realloc(ev.pcrs, 25 * 32);
            assert_non_null(more);
            ev.pcrs = more;
            memset(ev.pcrs[24], 0, 32);
            ev.n_pcrs = 25;
        }
        run_t r = verify_ev(&ev, &V1, NULL);
        assert_rejected_by(&r, "tpm.pcr_selection");
        assert_check(&r, "tpm.pcr_digest", VD_CHECK_SKIP);
        assert_int_equal(r.vtpm->pcr_mask, 0);
        run_free(&r);
        vd_vtpm_evidence_free(&ev);
    }
}

/* A byte of the runtime data (vmUniqueId, a flag, user-data), sizes kept consistent. */
static void test_mutate_runtime_data(void **state)
{
    (void)state;
    static const char *const needles[] = {"\"vmUniqueId\":\"", "\"secure-boot\":t",
                                          "\"user-data\":\""};
    for (size_t i = 0; i < 3; i++) {
        vd_vtpm_evidence_t ev;
        load(&V2, &ev);
        uint8_t *rt = ev.hcl + VD_HCL_RUNTIME_OFFSET;
        size_t n = vd_le32(ev.hcl + VD_HCL_REQUEST_OFFSET + 16);
        uint8_t *hit = NULL;
        size_t nl = strlen(needles[i]);
        for (size_t k = 0; k + nl <= n && hit == NULL; k++) {
            if (memcmp(rt + k, needles[i], nl) == 0) {
                hit = rt + k + nl;
            }
        }
        assert_non_null(hit);
        hit[0] = hit[0] == 'A' ? 'B' : hit[0] == 'r' ? 'R' : 'A';
        run_t r = verify_ev(&ev, &V2, i == 2 ? NULL : V2.nonce);
        assert_rejected_by(&r, "hcl.report_data");
        assert_check(&r, "report.signature", VD_CHECK_PASS);
        run_free(&r);
        vd_vtpm_evidence_free(&ev);
    }
}

/* Another VM's runtime data (its AK) with that VM's quote: only hcl.report_data catches it. */
static void test_mutate_ak_swap(void **state)
{
    (void)state;
    vd_vtpm_evidence_t a, b;
    load(&V0, &a);
    load(&V2, &b);
    size_t na = vd_le32(a.hcl + VD_HCL_REQUEST_OFFSET + 16);
    size_t nb = vd_le32(b.hcl + VD_HCL_REQUEST_OFFSET + 16);
    assert_int_equal(na, nb); /* 1110 bytes each: no size to fix */
    memcpy(a.hcl + VD_HCL_RUNTIME_OFFSET, b.hcl + VD_HCL_RUNTIME_OFFSET, nb);
    /* and b's quote, signature, PCRs */
    uint8_t *q = a.quote, *s = a.signature;
    uint8_t(*p)[32] = a.pcrs;
    a.quote = b.quote, a.quote_len = b.quote_len, b.quote = q;
    a.signature = b.signature, b.signature = s;
    a.pcrs = b.pcrs, b.pcrs = p;
    run_t r = verify_ev(&a, &V0, V2.nonce);
    assert_rejected_by(&r, "hcl.report_data");
    assert_int_equal(vd_checks_count(&r.snp->checks, VD_CHECK_FAIL), 1);
    assert_check(&r, "tpm.signature", VD_CHECK_PASS);
    assert_check(&r, "tpm.pcr_digest", VD_CHECK_PASS);
    assert_check(&r, "tpm.nonce", VD_CHECK_PASS);
    run_free(&r);
    vd_vtpm_evidence_free(&a);
    vd_vtpm_evidence_free(&b);
}

/* The AK's modulus in the runtime data replaced by another VM's (same length), v0's quote. */
static void test_mutate_ak_key(void **state)
{
    (void)state;
    vd_vtpm_evidence_t a, b;
    load(&V0, &a);
    load(&V2, &b);
    const char *needle = "\"n\":\"";
    uint8_t *ra = a.hcl + VD_HCL_RUNTIME_OFFSET, *rb = b.hcl + VD_HCL_RUNTIME_OFFSET;
    uint8_t *na = (uint8_t *)strstr((char *)ra, needle);
    uint8_t *nb = (uint8_t *)strstr((char *)rb, needle);
    assert_non_null(na);
    assert_non_null(nb);
    memcpy(na, nb, 5 + 342); /* "n":" + base64url of 256 bytes */
    run_t r = verify_ev(&a, &V0, NONCE_CHALLENGE);
    assert_rejected_by(&r, "hcl.report_data");
    assert_check(&r, "hcl.ak", VD_CHECK_PASS);
    assert_rejected_by(&r, "tpm.signature");
    run_free(&r);
    vd_vtpm_evidence_free(&a);
    vd_vtpm_evidence_free(&b);
}

static void test_mutate_signature(void **state)
{
    (void)state;
    const vec_t *vs[] = {&V1, &GENOA};
    for (size_t i = 0; i < 2; i++) {
        for (size_t bit = 0; bit < 256 * 8; bit += 509) {
            vd_vtpm_evidence_t ev;
            load(vs[i], &ev);
            ev.signature[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            run_t r = verify_ev(&ev, vs[i], vs[i]->nonce);
            assert_rejected_by(&r, "tpm.signature");
            run_free(&r);
            vd_vtpm_evidence_free(&ev);
        }
    }
    /* truncated and extended signatures */
    vd_vtpm_evidence_t ev;
    load(&V0, &ev);
    ev.signature_len = 255;
    run_t r = verify_ev(&ev, &V0, NULL);
    assert_rejected_by(&r, "tpm.signature");
    run_free(&r);
    vd_vtpm_evidence_free(&ev);
}

/* extraData changed in the message: the signature breaks, and the nonce no longer matches. */
static void test_mutate_extra_data(void **state)
{
    (void)state;
    vd_vtpm_evidence_t ev;
    load(&V0, &ev);
    /* magic 4, type 2, qualifiedSigner 2 + 34, extraData size 2: data at 44 */
    assert_int_equal(ev.quote[42], 0);
    assert_int_equal(ev.quote[43], 9);
    ev.quote[44] ^= 0x20; /* 'c' -> 'C' */
    run_t r = verify_ev(&ev, &V0, NONCE_CHALLENGE);
    assert_rejected_by(&r, "tpm.signature");
    assert_rejected_by(&r, "tpm.nonce");
    run_free(&r);
    r = verify_ev(&ev, &V0, NULL);
    assert_rejected_by(&r, "tpm.signature");
    run_free(&r);
    vd_vtpm_evidence_free(&ev);
}

/* Every byte of the quote message: a change is caught (by the signature at least). */
static void test_mutate_quote_every_byte(void **state)
{
    (void)state;
    vd_vtpm_evidence_t ev;
    load(&V2, &ev);
    for (size_t i = 0; i < ev.quote_len; i += 3) {
        ev.quote[i] ^= 0x01;
        run_t r = verify_ev(&ev, &V2, NULL);
        if (r.snp->status != VD_SNP_REJECTED) {
            print_checks(r.snp);
            fail_msg("quote byte %zu flipped was not rejected", i);
        }
        run_free(&r);
        ev.quote[i] ^= 0x01;
    }
    vd_vtpm_evidence_free(&ev);
}

/* tpm_quote (message, signature, PCRs) from another VM. */
static void test_mutate_quote_other_vm(void **state)
{
    (void)state;
    vd_vtpm_evidence_t a, b;
    load(&V1, &a);
    load(&V2, &b);
    uint8_t *q = a.quote, *s = a.signature;
    uint8_t(*p)[32] = a.pcrs;
    size_t ql = a.quote_len;
    a.quote = b.quote, a.quote_len = b.quote_len, b.quote = q, b.quote_len = ql;
    a.signature = b.signature, b.signature = s;
    a.pcrs = b.pcrs, b.pcrs = p;
    run_t r = verify_ev(&a, &V1, NULL);
    assert_rejected_by(&r, "tpm.signature");
    run_free(&r);
    vd_vtpm_evidence_free(&a);
    vd_vtpm_evidence_free(&b);
}

/* The VCEK of another chip (v2's VM runs on another Milan chip). */
static void test_mutate_vcek_other_chip(void **state)
{
    (void)state;
    vd_vtpm_evidence_t a, b;
    load(&V1, &a);
    load(&V2, &b);
    uint8_t *t = a.vcek;
    size_t tl = a.vcek_len;
    vd_certset_t *ts = a.vcek_certs;
    a.vcek = b.vcek, a.vcek_len = b.vcek_len, b.vcek = t, b.vcek_len = tl;
    a.vcek_certs = b.vcek_certs, b.vcek_certs = ts;
    run_t r = verify_ev(&a, &V1, NONCE_CHALLENGE);
    assert_int_equal(r.snp->status, VD_SNP_REJECTED);
    assert_check(&r, "report.signature", VD_CHECK_FAIL);
    assert_check(&r, "vtpm.vcek", VD_CHECK_FAIL);
    run_free(&r);

    /* the right VCEK offered too (as a cache would): the SNP core verifies with it, and the
     * wrong one in the evidence still rejects */
    vd_certset_t *certs = NULL;
    vd_trust_t *trust = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    vd_test_add_certs(certs, MILAN_CHAIN);
    assert_int_equal(vd_vtpm_add_certs(&b, certs, &err), VD_OK); /* b now holds V1's VCEK */
    r = (run_t){calloc(1, sizeof(vd_snp_result_t)), calloc(1, sizeof(vd_vtpm_result_t))};
    vd_vtpm_input_t in = {.evidence = &a, .certs = certs, .trust = trust, .at = vd_test_time(AT)};
    assert_int_equal(vd_vtpm_verify(&in, r.snp, r.vtpm, &err), VD_OK);
    assert_check(&r, "report.signature", VD_CHECK_PASS);
    assert_rejected_by(&r, "vtpm.vcek");
    assert_int_equal(vd_checks_count(&r.snp->checks, VD_CHECK_FAIL), 1);
    run_free(&r);
    vd_trust_free(&trust);
    vd_certset_free(&certs);
    vd_vtpm_evidence_free(&a);
    vd_vtpm_evidence_free(&b);
}

/* A VCEK in the evidence that does not decode: left out, and vtpm.vcek rejects. */
static void test_mutate_vcek_garbage(void **state)
{
    (void)state;
    vd_vtpm_evidence_t ev;
    vd_error_t err = {0};
    size_t len;
    uint8_t *buf = vd_test_read_vector(V2.file, &len);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)buf, len, 0, &jerr);
    assert_non_null(doc);
    free(buf);
    json_object_set_new(doc, "vcek", json_string("MAMCAQA")); /* DER 30 03 02 01 00 */
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_int_equal(vd_vtpm_evidence_parse((uint8_t *)text, strlen(text), &ev, &err), VD_OK);
    free(text);
    assert_null(ev.vcek_certs);
    assert_true(ev.vcek_problem[0] != '\0');
    run_t r = verify_ev(&ev, &V2, NULL);
    assert_rejected_by(&r, "vtpm.vcek");
    assert_check(&r, "report.signature", VD_CHECK_SKIP);
    run_free(&r);
    vd_vtpm_evidence_free(&ev);
}

/* Bits of the SNP report inside the HCL report (signed region), including REPORT_DATA. */
static void test_mutate_snp_report(void **state)
{
    (void)state;
    vd_vtpm_evidence_t ev;
    load(&GENOA, &ev);
    static const size_t offsets[] = {0x000, 0x008, 0x030, 0x050, 0x06F, 0x090, 0x0A0, 0x1A0, 0x29F};
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        uint8_t *b = ev.hcl + VD_HCL_SNP_OFFSET + offsets[i];
        *b ^= 0x01;
        run_t r = verify_ev(&ev, &GENOA, GENOA.nonce);
        assert_rejected_by(&r, "report.signature");
        if (offsets[i] >= 0x050 && offsets[i] < 0x070) {
            assert_check(&r, "hcl.report_data", VD_CHECK_FAIL);
        }
        if (offsets[i] == 0x030) {
            assert_check(&r, "hcl.vmpl", VD_CHECK_FAIL);
        }
        run_free(&r);
        *b ^= 0x01;
    }
    vd_vtpm_evidence_free(&ev);
}

/* Near-miss nonces: another, a prefix of extraData, one byte longer, a user-data prefix. */
static void test_mutate_nonce(void **state)
{
    (void)state;
    vd_vtpm_evidence_t ev;
    uint8_t n[80];
    load(&V2, &ev);
    size_t len = unhex(NONCE_V2, n, sizeof(n));
    assert_int_equal(len, 48);

    n[47] ^= 1; /* another nonce */
    run_t r = verify_raw(&ev, MILAN_CHAIN, n, len);
    assert_rejected_by(&r, "tpm.nonce");
    assert_rejected_by(&r, "hcl.user_data");
    run_free(&r);
    n[47] ^= 1;

    r = verify_raw(&ev, MILAN_CHAIN, n, len - 1); /* a prefix of extraData */
    assert_rejected_by(&r, "tpm.nonce");
    assert_check(&r, "hcl.user_data", VD_CHECK_PASS); /* it is a prefix of user-data too */
    run_free(&r);

    n[48] = 0; /* one byte longer (user-data continues with zeros) */
    r = verify_raw(&ev, MILAN_CHAIN, n, len + 1);
    assert_rejected_by(&r, "tpm.nonce");
    run_free(&r);

    memset(n + 48, 0, 16); /* all 64 bytes of user-data */
    r = verify_raw(&ev, MILAN_CHAIN, n, 64);
    assert_rejected_by(&r, "tpm.nonce");
    assert_check(&r, "hcl.user_data", VD_CHECK_PASS);
    run_free(&r);

    r = verify_raw(&ev, MILAN_CHAIN, n, 65); /* longer than user-data can hold */
    assert_rejected_by(&r, "hcl.user_data");
    run_free(&r);

    /* v0: the SHA-256 or any hash of "challenge" is not "challenge" */
    vd_vtpm_evidence_t v0;
    load(&V0, &v0);
    r = verify_raw(&v0, MILAN_CHAIN, (const uint8_t *)"challeng", 8);
    assert_rejected_by(&r, "tpm.nonce");
    run_free(&r);
    r = verify_raw(&v0, MILAN_CHAIN, (const uint8_t *)"challenge!", 10);
    assert_rejected_by(&r, "tpm.nonce");
    run_free(&r);
    vd_vtpm_evidence_free(&v0);
    vd_vtpm_evidence_free(&ev);
}

/* v1 relabelled "version": 2: its user-data is zero, so the v2 nonce check fails. */
static void test_mutate_v1_as_v2(void **state)
{
    (void)state;
    size_t len;
    vd_error_t err = {0};
    vd_vtpm_evidence_t ev;
    uint8_t *buf = vd_test_read_vector(V1.file, &len);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)buf, len, 0, &jerr);
    assert_non_null(doc);
    free(buf);
    json_object_set_new(doc, "version", json_integer(2));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_int_equal(vd_vtpm_evidence_detect((uint8_t *)text, strlen(text)), VD_VTPM_FORM_V2);
    assert_int_equal(vd_vtpm_evidence_parse((uint8_t *)text, strlen(text), &ev, &err), VD_OK);
    free(text);
    run_t r = verify_ev(&ev, &V1, NONCE_CHALLENGE);
    assert_rejected_by(&r, "hcl.user_data");
    assert_check(&r, "tpm.nonce", VD_CHECK_PASS);
    assert_int_equal(vd_checks_count(&r.snp->checks, VD_CHECK_FAIL), 1);
    run_free(&r);
    vd_vtpm_evidence_free(&ev);
}

/* The pipeline's steps (vtpm.h): the SNP core on vd_vtpm_snp_report, then vd_vtpm_check; and a
 * SNP result of another evidence's report given to vd_vtpm_check is caught. */
static run_t pipeline(const vd_vtpm_evidence_t *snp_of, const vd_vtpm_evidence_t *ev)
{
    run_t r = {calloc(1, sizeof(vd_snp_result_t)), calloc(1, sizeof(vd_vtpm_result_t))};
    vd_certset_t *certs = NULL;
    vd_trust_t *trust = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    vd_test_add_certs(certs, MILAN_CHAIN);
    assert_int_equal(vd_vtpm_add_certs(snp_of, certs, &err), VD_OK);
    vd_snp_input_t in = {.certs = certs, .trust = trust, .at = vd_test_time(AT)};
    in.report = vd_vtpm_snp_report(snp_of, &in.report_len);
    assert_non_null(in.report);
    assert_int_equal(vd_snp_verify(&in, r.snp, &err), VD_OK);
    assert_int_equal(r.snp->status, VD_SNP_GENUINE);
    assert_int_equal(vd_vtpm_check(ev, NULL, 0, r.snp, r.vtpm, &err), VD_OK);
    vd_trust_free(&trust);
    vd_certset_free(&certs);
    return r;
}

static void test_pipeline_steps(void **state)
{
    (void)state;
    vd_vtpm_evidence_t a, b;
    load(&V1, &a);
    load(&V2, &b);
    run_t r = pipeline(&b, &b);
    assert_genuine(&r);
    assert_check(&r, "tpm.pcr_digest", VD_CHECK_PASS);
    run_free(&r);
    r = pipeline(&b, &a);
    assert_rejected_by(&r, "hcl.report_data");
    run_free(&r);
    vd_vtpm_evidence_free(&a);
    vd_vtpm_evidence_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_forms),
        cmocka_unit_test(test_decode_vectors),
        cmocka_unit_test(test_vector_v0),
        cmocka_unit_test(test_vector_v1),
        cmocka_unit_test(test_vector_v2),
        cmocka_unit_test(test_vector_genoa),
        cmocka_unit_test(test_v0_quote_with_v1_hcl),
        cmocka_unit_test(test_raw_hcl),
        cmocka_unit_test(test_mutate_pcr_value),
        cmocka_unit_test(test_mutate_pcr_swap),
        cmocka_unit_test(test_mutate_pcr_count),
        cmocka_unit_test(test_mutate_runtime_data),
        cmocka_unit_test(test_mutate_ak_swap),
        cmocka_unit_test(test_mutate_ak_key),
        cmocka_unit_test(test_mutate_signature),
        cmocka_unit_test(test_mutate_extra_data),
        cmocka_unit_test(test_mutate_quote_every_byte),
        cmocka_unit_test(test_mutate_quote_other_vm),
        cmocka_unit_test(test_mutate_vcek_other_chip),
        cmocka_unit_test(test_mutate_vcek_garbage),
        cmocka_unit_test(test_mutate_snp_report),
        cmocka_unit_test(test_mutate_nonce),
        cmocka_unit_test(test_mutate_v1_as_v2),
        cmocka_unit_test(test_pipeline_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
