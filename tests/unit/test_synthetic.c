/*
 * vd_snp_verify against synthetic evidence: a test PKI per product (tests/support/testpki.c)
 * issues VCEKs/VLEKs, and reports are built and signed here, so every check in verify.h can be
 * driven to pass and to fail one at a time.
 *
 * Nothing here chains to AMD: the genuine cases only pass because the test ARK is added as an
 * explicit extra anchor, and one case checks that without it the same evidence is rejected.
 * Certificates are generated relative to the current time, so `at` is time(NULL).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "verdict/amdcert.h"
#include "verdict/certset.h"
#include "verdict/trust.h"
#include "verdict/verify.h"
#include "testpki.h"

#define DAY_SECONDS 86400L

/* One PKI per product, generated once for the whole group (RSA key generation is slow). */
typedef struct fixture {
    vd_testpki_t *pki[VD_PRODUCT_TURIN + 1]; /* indexed by vd_product_t */
} fixture_t;

/* One piece of evidence and what to hand the verifier with it. Set up by scenario_init with a
 * genuine configuration; a test changes one thing and calls run(). */
typedef struct scenario {
    const vd_testpki_t *pki; /* issues the leaf; its ARK is the extra anchor */
    vd_product_t product;    /* the report's product: CPUID and TCB layout */
    uint32_t version;
    uint64_t tcb_raw;    /* REPORTED_TCB (and the other three TCBs) */
    uint8_t chip_id[64]; /* CHIP_ID in the report */
    uint8_t hwid[64];    /* hwID in the VCEK (leaf.hwid points here) */
    vd_testpki_leaf_opts_t leaf;
    unsigned signing_key; /* SIGNER_INFO.SIGNING_KEY */
    int sign_with_other_key;
    void (*patch)(uint8_t *raw); /* edit the report before it is signed; NULL = none */
    int tamper_offset;           /* flip a bit at this offset after signing; 0 = none */
    int omit_ark, omit_issuer, omit_leaf;
    int trust_ark;        /* add the PKI's ARK as an extra anchor */
    int trust_null;       /* pass no trust set at all */
    X509 *extra_first[4]; /* more candidates, added before the real chain */
    vd_product_t hint;
    time_t at;
    uint8_t raw[VD_SNP_REPORT_SIZE];
} scenario_t;

static const fixture_t *fixture(void **state)
{
    assert_non_null(*state);
    return *state;
}

static int group_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    if (fx == NULL) {
        return -1;
    }
    for (int p = VD_PRODUCT_MILAN; p <= VD_PRODUCT_TURIN; p++) {
        fx->pki[p] = vd_testpki_new((vd_product_t)p);
        if (fx->pki[p] == NULL) {
            ERR_print_errors_fp(stderr);
            for (int q = VD_PRODUCT_MILAN; q < p; q++) {
                vd_testpki_free(&fx->pki[q]);
            }
            free(fx);
            return -1;
        }
    }
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture_t *fx = *state;
    if (fx != NULL) {
        for (int p = VD_PRODUCT_MILAN; p <= VD_PRODUCT_TURIN; p++) {
            vd_testpki_free(&fx->pki[p]);
        }
        free(fx);
    }
    *state = NULL;
    return 0;
}

static const char *product_name_ext(vd_product_t p)
{
    /* What KDS writes: Milan VCEKs carry a stepping, Genoa and Turin ones do not. */
    return p == VD_PRODUCT_MILAN ? "Milan-B0" : vd_product_name(p);
}

/* A genuine VCEK-signed report of `version` from a `product` machine, with that product's PKI. */
static void scenario_init(scenario_t *s, void **state, vd_product_t product, uint32_t version)
{
    memset(s, 0, sizeof(*s));
    s->pki = fixture(state)->pki[product];
    s->product = product;
    s->version = version;
    switch (product) {
    case VD_PRODUCT_TURIN:
        s->tcb_raw = vd_testreport_tcb_raw(product, 1, 1, 1, 4, 81);
        break;
    case VD_PRODUCT_GENOA:
        /* ucode 217 >= 128: its DER INTEGER needs a leading zero byte. */
        s->tcb_raw = vd_testreport_tcb_raw(product, 0, 7, 0, 14, 217);
        break;
    default:
        s->tcb_raw = vd_testreport_tcb_raw(product, 0, 3, 0, 8, 115);
        break;
    }
    size_t id_len = product == VD_PRODUCT_TURIN ? 8 : 64; /* Turin CHIP_IDs are 8 bytes */
    for (size_t i = 0; i < id_len; i++) {
        s->chip_id[i] = (uint8_t)(i * 7 + 1);
    }
    memcpy(s->hwid, s->chip_id, sizeof(s->hwid));
    s->leaf.product_name = product_name_ext(product);
    s->leaf.tcb = vd_tcb_decode(s->tcb_raw, product);
    s->leaf.hwid = s->hwid;
    s->leaf.hwid_len = id_len;
    s->signing_key = VD_SNP_SIGNING_KEY_VCEK;
    s->trust_ark = 1;
    s->at = time(NULL);
}

/* Turn the scenario into a genuine VLEK-signed one (AWS-like: CHIP_ID zero, no hwID). */
static void scenario_vlek(scenario_t *s)
{
    s->leaf.vlek = 1;
    s->leaf.hwid = NULL;
    s->leaf.hwid_len = 0;
    s->leaf.product_name = vd_product_name(s->product); /* VLEKs carry no stepping */
    memset(s->chip_id, 0, sizeof(s->chip_id));
    s->signing_key = VD_SNP_SIGNING_KEY_VLEK;
}

static void add_cert(vd_certset_t *set, X509 *x, const char *origin)
{
    vd_error_t err = {0};
    if (vd_certset_add_x509(set, x, origin, &err) != VD_OK) {
        fail_msg("adding %s: %s", origin, err.msg);
    }
}

static void dump(const vd_snp_result_t *r)
{
    print_message("status %s, product %s (%s)\n", vd_snp_status_str(r->status),
                  vd_product_name(r->product), r->product_source ? r->product_source : "-");
    if (r->missing[0] != '\0') {
        print_message("missing: %s\n", r->missing);
    }
    for (size_t i = 0; i < r->checks.count; i++) {
        const vd_check_t *c = &r->checks.items[i];
        print_message("  %-24s %-4s %s\n", c->name, vd_check_result_str(c->result), c->detail);
    }
}

/* Verify s->raw with `leaf` and the PKI's ARK and ASK/ASVK as candidates. Caller frees. */
static vd_snp_result_t *verify_scenario(scenario_t *s, X509 *leaf)
{
    vd_certset_t *set = NULL;
    vd_trust_t *trust = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_certset_new(&set, &err), VD_OK);
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    for (size_t i = 0; i < sizeof(s->extra_first) / sizeof(s->extra_first[0]); i++) {
        if (s->extra_first[i] != NULL) {
            add_cert(set, s->extra_first[i], "extra candidate");
        }
    }
    if (!s->omit_ark) {
        add_cert(set, vd_testpki_ark(s->pki), "test ARK");
    }
    if (!s->omit_issuer) {
        int asvk = s->leaf.swap_issuer ? !s->leaf.vlek : s->leaf.vlek;
        add_cert(set, asvk ? vd_testpki_asvk(s->pki) : vd_testpki_ask(s->pki),
                 asvk ? "test ASVK" : "test ASK");
    }
    if (!s->omit_leaf) {
        add_cert(set, leaf, s->leaf.vlek ? "test VLEK" : "test VCEK");
    }
    if (s->trust_ark) {
        assert_int_equal(vd_trust_add_extra(trust, vd_testpki_ark(s->pki), &err), VD_OK);
    }
    vd_snp_input_t in = {
        .report = s->raw,
        .report_len = sizeof(s->raw),
        .certs = set,
        .trust = s->trust_null ? NULL : trust,
        .at = s->at,
        .product_hint = s->hint,
    };
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    vd_err_t rc = vd_snp_verify(&in, res, &err);
    vd_trust_free(&trust);
    vd_certset_free(&set);
    if (rc != VD_OK) {
        fail_msg("vd_snp_verify returned %d: %s", (int)rc, err.msg);
    }
    const char *verbose = getenv("VD_TEST_VERBOSE");
    if (verbose != NULL && verbose[0] != '\0') {
        dump(res);
    }
    return res;
}

/* Issue the leaf, build and sign the report, verify. Caller frees the result. */
static vd_snp_result_t *run(scenario_t *s)
{
    EVP_PKEY *key = NULL, *other = NULL;
    X509 *leaf = vd_testpki_issue_leaf(s->pki, &s->leaf, &key);
    if (leaf == NULL) {
        ERR_print_errors_fp(stderr);
        fail_msg("vd_testpki_issue_leaf failed");
    }
    if (s->sign_with_other_key) {
        other = vd_testpki_new_ec_key();
        assert_non_null(other);
    }
    vd_testreport_init(s->raw, s->version, s->product, s->tcb_raw, s->chip_id);
    vd_testreport_set_signing_key(s->raw, s->signing_key);
    if (s->patch != NULL) {
        s->patch(s->raw);
    }
    int signed_ok = vd_testreport_sign(s->raw, other != NULL ? other : key) == 0;
    if (s->tamper_offset > 0) {
        s->raw[s->tamper_offset] ^= 0x01;
    }
    vd_snp_result_t *res = signed_ok ? verify_scenario(s, leaf) : NULL;
    X509_free(leaf);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    assert_non_null(res);
    return res;
}

/* Dump and free `r`, then fail the test with the message: a failing case leaks nothing. */
static void fail_with(vd_snp_result_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail_with(vd_snp_result_t *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dump(r);
    free(r);
    fail_msg("%s", msg);
}

static void want_status(vd_snp_result_t *r, vd_snp_status_t want)
{
    if (r->status != want) {
        fail_with(r, "status %s, expected %s", vd_snp_status_str(r->status),
                  vd_snp_status_str(want));
    }
}

static const vd_check_t *want_check(vd_snp_result_t *r, const char *name, vd_check_result_t want)
{
    const vd_check_t *c = vd_checks_find(&r->checks, name);
    if (c == NULL || c->result != want) {
        fail_with(r, "check %s is %s, expected %s", name,
                  c == NULL ? "absent" : vd_check_result_str(c->result), vd_check_result_str(want));
    }
    return c;
}

static int check_failed(vd_snp_result_t *r, const char *name)
{
    const vd_check_t *c = vd_checks_find(&r->checks, name);
    return c != NULL && c->result == VD_CHECK_FAIL;
}

/* A rejection caused by `name`. */
static void want_rejected_by(vd_snp_result_t *r, const char *name)
{
    want_status(r, VD_SNP_REJECTED);
    want_check(r, name, VD_CHECK_FAIL);
}

static void want_missing(vd_snp_result_t *r, const char *what)
{
    want_status(r, VD_SNP_COLLATERAL_MISSING);
    if (vd_checks_count(&r->checks, VD_CHECK_FAIL) != 0 || strstr(r->missing, what) == NULL) {
        fail_with(r, "expected no failed check and \"%s\" in missing", what);
    }
}

/* Genuine, and for the right reasons: every chain and binding check ran and passed. */
static void want_genuine(vd_snp_result_t *r, vd_product_t product)
{
    static const char *const must_pass[] = {
        "report.format",
        "report.signature_algo",
        "report.signer_info",
        "report.policy",
        "report.reserved",
        "report.signature_format",
        "product",
        "cert.endorsement_key",
        "cert.product",
        "chain.ark",
        "chain.ask",
        "chain.endorsement_key",
        "chain.validity",
        "binding.tcb",
        "report.signature",
    };
    want_status(r, VD_SNP_GENUINE);
    for (size_t i = 0; i < sizeof(must_pass) / sizeof(must_pass[0]); i++) {
        want_check(r, must_pass[i], VD_CHECK_PASS);
    }
    if (vd_checks_count(&r->checks, VD_CHECK_FAIL) != 0 || r->missing[0] != '\0') {
        fail_with(r, "genuine with a failed check or missing collateral");
    }
    if (r->product != product) {
        fail_with(r, "product %s, expected %s", vd_product_name(r->product),
                  vd_product_name(product));
    }
}

/* Run a scenario expected to be genuine, with the chip ID bound (VCEK) or skipped. */
static void run_genuine(scenario_t *s, vd_check_result_t chip_id)
{
    vd_snp_result_t *r = run(s);
    want_genuine(r, s->product);
    want_check(r, "binding.chip_id", chip_id);
    if (r->signing_key != s->signing_key || r->reported_tcb.raw != s->tcb_raw) {
        fail_with(r, "signing key %u / REPORTED_TCB 0x%016llx not carried into the result",
                  r->signing_key, (unsigned long long)r->reported_tcb.raw);
    }
    if (s->version >= 3 && (r->product_source == NULL || strcmp(r->product_source, "cpuid") != 0)) {
        fail_with(r, "a v%u report's product must come from CPUID", s->version);
    }
    free(r);
}

/* ---- the generator itself, checked without the verifier ---------------------------------- */

/* OpenSSL's own path validation accepts ARK -> ASK -> VCEK and ARK -> ASVK -> VLEK, and the
 * leaves carry AMD's profile (KDS.md section 2), so the cases below test the verifier and not
 * an artefact of the generator. */
static void check_openssl_chain(X509 *ark, X509 *mid, X509 *leaf)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    assert_non_null(store);
    assert_non_null(ctx);
    assert_non_null(untrusted);
    assert_int_equal(X509_STORE_add_cert(store, ark), 1);
    assert_true(sk_X509_push(untrusted, mid) > 0);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, untrusted), 1);
    int ok = X509_verify_cert(ctx);
    int verr = X509_STORE_CTX_get_error(ctx);
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    if (ok != 1) {
        fail_msg("OpenSSL rejects the test chain: %s", X509_verify_cert_error_string(verr));
    }
}

static void test_testpki_profile(void **state)
{
    for (int p = VD_PRODUCT_MILAN; p <= VD_PRODUCT_TURIN; p++) {
        scenario_t s;
        scenario_init(&s, state, (vd_product_t)p, 5);
        for (int vlek = 0; vlek <= 1; vlek++) {
            if (vlek) {
                scenario_vlek(&s);
            }
            EVP_PKEY *key = NULL;
            X509 *leaf = vd_testpki_issue_leaf(s.pki, &s.leaf, &key);
            assert_non_null(leaf);
            check_openssl_chain(vd_testpki_ark(s.pki),
                                vlek ? vd_testpki_asvk(s.pki) : vd_testpki_ask(s.pki), leaf);
            assert_int_equal(X509_get_signature_nid(leaf), NID_rsassaPss);
            assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(leaf)), 0);
            assert_int_equal(X509_get_extension_flags(leaf) & EXFLAG_CA, 0);

            vd_amdcert_t ext;
            vd_error_t err = {0};
            assert_int_equal(vd_amdcert_parse(leaf, &ext, &err), VD_OK);
            assert_int_equal(ext.struct_version, p == VD_PRODUCT_TURIN ? 1 : 0);
            assert_string_equal(ext.product_name, s.leaf.product_name);
            assert_int_equal(ext.has_spl[4], p != VD_PRODUCT_TURIN); /* no spl_4 on Turin */
            assert_int_equal(ext.has_spl[VD_SPL_FMC], p == VD_PRODUCT_TURIN);
            assert_int_equal(ext.spl[VD_SPL_UCODE], s.leaf.tcb.microcode);
            assert_int_equal(ext.has_hwid, !vlek);
            assert_int_equal(ext.has_csp_id, vlek);
            if (!vlek) {
                assert_int_equal(ext.hwid_len, p == VD_PRODUCT_TURIN ? 8 : 64);
                assert_memory_equal(ext.hwid, s.chip_id, ext.hwid_len);
            }
            X509_free(leaf);
            EVP_PKEY_free(key);
        }
    }
}

/* ---- genuine evidence ----------------------------------------------------------------------- */

static void test_genuine_milan_v2_with_hint(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 2);
    s.hint = VD_PRODUCT_MILAN;
    run_genuine(&s, VD_CHECK_PASS);
}

static void test_genuine_milan_v2_product_from_vcek(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 2);
    vd_snp_result_t *r = run(&s);
    want_genuine(r, VD_PRODUCT_MILAN);
    if (r->product_source == NULL || strcmp(r->product_source, "certificate") != 0) {
        fail_with(r, "a v2 report without a hint takes its product from the VCEK");
    }
    free(r);
}

static void test_genuine_milan_v3(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    run_genuine(&s, VD_CHECK_PASS);
}

static void test_genuine_milan_v4(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 4);
    run_genuine(&s, VD_CHECK_PASS);
}

static void test_genuine_genoa_v3(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_GENOA, 3);
    run_genuine(&s, VD_CHECK_PASS);
}

static void test_genuine_genoa_v5(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_GENOA, 5);
    run_genuine(&s, VD_CHECK_PASS);
}

static void test_genuine_turin_v5(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_TURIN, 5);
    vd_snp_result_t *r = run(&s);
    want_genuine(r, VD_PRODUCT_TURIN);
    want_check(r, "binding.chip_id", VD_CHECK_PASS);
    /* Turin layout: fmc=1 bl=1 tee=1 snp=4 ucode=81. */
    const vd_tcb_t *t = &r->reported_tcb;
    if (!t->has_fmc || t->fmc != 1 || t->bootloader != 1 || t->tee != 1 || t->snp != 4 ||
        t->microcode != 81) {
        fail_with(r, "REPORTED_TCB not decoded with the Turin layout");
    }
    free(r);
}

static void test_genuine_turin_v3(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_TURIN, 3);
    run_genuine(&s, VD_CHECK_PASS);
}

static void test_genuine_vlek_milan_v3(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    scenario_vlek(&s);
    run_genuine(&s, VD_CHECK_SKIP);
}

static void test_genuine_vlek_genoa_v5(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_GENOA, 5);
    scenario_vlek(&s);
    run_genuine(&s, VD_CHECK_SKIP);
}

static void test_genuine_hwid_der_wrapped(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.leaf.hwid_der_wrapped = 1; /* 04 40 <64 bytes> instead of the raw bytes */
    run_genuine(&s, VD_CHECK_PASS);
}

static void test_genuine_hwid_der_wrapped_turin(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_TURIN, 5);
    s.leaf.hwid_der_wrapped = 1; /* 04 08 <8 bytes> */
    run_genuine(&s, VD_CHECK_PASS);
}

static void test_genuine_chip_id_masked(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_GENOA, 3);
    memset(s.chip_id, 0, sizeof(s.chip_id)); /* MASK_CHIP_ID: the VCEK still has its hwID */
    run_genuine(&s, VD_CHECK_SKIP);
}

/* Decoys ahead of the real chain: another product's ARK and ASK, and a VCEK from the right ASK
 * whose key did not sign the report. The verifier must still pick the right ones. */
static void test_genuine_with_decoy_candidates(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    const vd_testpki_t *genoa = fixture(state)->pki[VD_PRODUCT_GENOA];
    EVP_PKEY *decoy_key = NULL;
    X509 *decoy = vd_testpki_issue_leaf(s.pki, &s.leaf, &decoy_key);
    assert_non_null(decoy);
    s.extra_first[0] = decoy;
    s.extra_first[1] = vd_testpki_ark(genoa);
    s.extra_first[2] = vd_testpki_ask(genoa);
    s.extra_first[3] = vd_testpki_asvk(s.pki);
    vd_snp_result_t *r = run(&s);
    X509_free(decoy);
    EVP_PKEY_free(decoy_key);
    want_genuine(r, VD_PRODUCT_MILAN);
    free(r);
}

/* Zen4c (Siena/Bergamo, model 0xA0-0xAF) uses Genoa's chain and KDS name. */
static void patch_siena_cpuid(uint8_t *raw)
{
    raw[0x189] = 0xA0;
    raw[0x18A] = 2;
}

static void test_genuine_siena_v3(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_GENOA, 3);
    s.patch = patch_siena_cpuid;
    vd_snp_result_t *r = run(&s);
    want_genuine(r, VD_PRODUCT_GENOA);
    if (r->product_variant == NULL || strcmp(r->product_variant, "Siena/Bergamo") != 0) {
        fail_with(r, "variant %s, expected Siena/Bergamo",
                  r->product_variant ? r->product_variant : "(none)");
    }
    free(r);
}

/* ---- trust anchors ------------------------------------------------------------------------- */

/* The same genuine evidence with the test ARK not configured: an unpinned root is never
 * trusted by default. */
static void test_unconfigured_root_rejected(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.trust_ark = 0;
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "chain.ark");
    free(r);
}

static void test_no_trust_set_rejected(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_TURIN, 5);
    s.trust_null = 1; /* AMD pins only */
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "chain.ark");
    free(r);
}

/* ---- product ------------------------------------------------------------------------------- */

static void test_vcek_product_name_mismatch(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.leaf.product_name = "Genoa";
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "cert.product");
    free(r);
}

/* A Milan report (CPUID and VCEK say Milan) whose chain ends in a root named ARK-Genoa. */
static void test_milan_report_genoa_root(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.pki = fixture(state)->pki[VD_PRODUCT_GENOA];
    vd_snp_result_t *r = run(&s);
    want_status(r, VD_SNP_REJECTED);
    if (!check_failed(r, "chain.ark") && !check_failed(r, "cert.product")) {
        fail_with(r, "expected chain.ark or cert.product to fail");
    }
    free(r);
}

/* v2: the VCEK says Milan but the operator says Genoa. */
static void test_v2_hint_contradicts_vcek(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 2);
    s.hint = VD_PRODUCT_GENOA;
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "product");
    free(r);
}

static void patch_unknown_cpuid(uint8_t *raw)
{
    raw[0x188] = 0x17; /* Zen 2: no SEV-SNP */
    raw[0x189] = 0x31;
}

static void test_unknown_cpuid(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.patch = patch_unknown_cpuid;
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "product");
    free(r);
}

/* ---- certificate profile ------------------------------------------------------------------ */

/* A VCEK issued by the ASVK (VLEK-only CA) must not endorse a VCEK-signed report. */
static void test_vcek_issued_by_asvk(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.leaf.swap_issuer = 1;
    vd_snp_result_t *r = run(&s);
    want_status(r, VD_SNP_REJECTED);
    free(r);
}

/* And a VLEK issued by the ASK must not endorse a VLEK-signed report. */
static void test_vlek_issued_by_ask(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_GENOA, 5);
    scenario_vlek(&s);
    s.leaf.swap_issuer = 1;
    vd_snp_result_t *r = run(&s);
    want_status(r, VD_SNP_REJECTED);
    free(r);
}

/* Turin VCEKs are structVersion 1, older ones 0; KDS.md section 2 lists "structVersion/
 * productName consistent with the product derived from the report CPUID" among the bindings. */
static void test_struct_version_mismatch(void **state)
{
    static const long zero = 0;
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_TURIN, 5);
    s.leaf.struct_version = &zero;
    vd_snp_result_t *r = run(&s);
    want_status(r, VD_SNP_REJECTED);
    if (!check_failed(r, "cert.product") && !check_failed(r, "cert.endorsement_key")) {
        fail_with(r, "expected cert.product or cert.endorsement_key to fail");
    }
    free(r);
}

/* verify.h: cert.endorsement_key checks the AMD subject, not only the CN. */
static void test_vcek_subject_not_amd(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.leaf.subject_org = "Not AMD";
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "cert.endorsement_key");
    free(r);
}

/* ---- TCB binding ---------------------------------------------------------------------------- */

static void test_tcb_ucode_mismatch(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.leaf.tcb.microcode++;
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "binding.tcb");
    free(r);
}

static void test_tcb_turin_fmc_mismatch(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_TURIN, 5);
    s.leaf.tcb.fmc++;
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "binding.tcb");
    free(r);
}

static void test_tcb_vcek_without_snp_spl(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_GENOA, 3);
    s.leaf.omit_spl = VD_SPL_SNP;
    vd_snp_result_t *r = run(&s);
    want_status(r, VD_SNP_REJECTED);
    if (!check_failed(r, "cert.endorsement_key") && !check_failed(r, "binding.tcb")) {
        fail_with(r, "expected cert.endorsement_key or binding.tcb to fail");
    }
    free(r);
}

/* ---- chip ID binding ------------------------------------------------------------------------ */

static void test_hwid_mismatch(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.hwid[5] ^= 0xFF;
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "binding.chip_id");
    free(r);
}

static void test_hwid_mismatch_turin(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_TURIN, 5);
    s.hwid[7] ^= 0x80;
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "binding.chip_id");
    free(r);
}

/* ---- validity ------------------------------------------------------------------------------- */

static void test_vcek_expired(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.leaf.not_before = s.at - 30 * DAY_SECONDS;
    s.leaf.not_after = s.at - DAY_SECONDS;
    vd_snp_result_t *r = run(&s);
    want_status(r, VD_SNP_REJECTED);
    const vd_check_t *c = want_check(r, "chain.validity", VD_CHECK_FAIL);
    if (strstr(c->detail, "expired") == NULL) {
        fail_with(r, "chain.validity detail does not say \"expired\"");
    }
    free(r);
}

static void test_vcek_not_yet_valid(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_GENOA, 5);
    s.leaf.not_before = s.at + DAY_SECONDS;
    s.leaf.not_after = s.at + 30 * DAY_SECONDS;
    vd_snp_result_t *r = run(&s);
    want_status(r, VD_SNP_REJECTED);
    const vd_check_t *c = want_check(r, "chain.validity", VD_CHECK_FAIL);
    if (strstr(c->detail, "not yet valid") == NULL) {
        fail_with(r, "chain.validity detail does not say \"not yet valid\"");
    }
    free(r);
}

/* ---- report signature ----------------------------------------------------------------------- */

static void test_signed_by_other_key(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.sign_with_other_key = 1;
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "report.signature");
    free(r);
}

static void test_report_data_tampered(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_TURIN, 5);
    s.tamper_offset = 0x050; /* REPORT_DATA[0], after signing */
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "report.signature");
    free(r);
}

/* ---- missing collateral --------------------------------------------------------------------- */

static void test_missing_vcek(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.omit_leaf = 1;
    vd_snp_result_t *r = run(&s);
    want_missing(r, "VCEK");
    free(r);
}

/* v2 without a VCEK or a hint: the product is unknown too, but the VCEK is what is missing. */
static void test_missing_vcek_v2(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 2);
    s.omit_leaf = 1;
    vd_snp_result_t *r = run(&s);
    want_missing(r, "VCEK");
    free(r);
}

static void test_missing_ask(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_GENOA, 3);
    s.omit_issuer = 1;
    vd_snp_result_t *r = run(&s);
    want_missing(r, "ASK");
    free(r);
}

/* No ARK among the candidates and none configured: nothing to anchor the chain in. */
static void test_missing_ark(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.omit_ark = 1;
    s.trust_ark = 0;
    vd_snp_result_t *r = run(&s);
    want_missing(r, "ARK");
    free(r);
}

/* ---- SIGNER_INFO ---------------------------------------------------------------------------- */

static void test_signing_key_none(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.signing_key = VD_SNP_SIGNING_KEY_NONE;
    vd_snp_result_t *r = run(&s);
    want_rejected_by(r, "report.signer_info");
    free(r);
}

/* A VLEK-signed report with only a VCEK: the VLEK is never fetched, so it is missing. */
static void test_vlek_report_with_vcek_only(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
    s.signing_key = VD_SNP_SIGNING_KEY_VLEK;
    vd_snp_result_t *r = run(&s);
    want_missing(r, "VLEK");
    free(r);
}

/* ---- report fields (each edit is signed, so only the named check can object) ------------- */

static void patch_policy_bit17_clear(uint8_t *raw)
{
    raw[0x00A] &= (uint8_t)~0x02; /* POLICY bit 17 */
}

static void patch_policy_reserved_high(uint8_t *raw)
{
    raw[0x00F] = 0x80; /* POLICY bit 63 */
}

static void patch_signature_algo_2(uint8_t *raw)
{
    raw[0x034] = 2;
}

static void patch_mask_chip_key(uint8_t *raw)
{
    raw[0x048] |= 0x02; /* SIGNER_INFO.MASK_CHIP_KEY */
}

static void patch_signer_info_reserved(uint8_t *raw)
{
    raw[0x04B] = 0x01; /* SIGNER_INFO bit 24 */
}

static void patch_reserved_after_cpuid(uint8_t *raw)
{
    raw[0x18B] = 1; /* first reserved byte after CPUID_STEP (v3+) */
}

static void patch_v2_cpuid(uint8_t *raw)
{
    raw[0x188] = 0x19; /* CPUID_FAM_ID is reserved in a v2 report */
}

static void patch_mit_vector_v3(uint8_t *raw)
{
    raw[0x1F8] = 0x3F; /* LAUNCH_MIT_VECTOR exists from v5 on */
}

static void patch_reserved_tail(uint8_t *raw)
{
    raw[0x29F] = 1; /* last signed byte, reserved in every version */
}

static void patch_vmpl_4(uint8_t *raw)
{
    raw[0x030] = 4;
}

static const struct {
    const char *name;
    vd_product_t product;
    uint32_t version;
    void (*patch)(uint8_t *raw);
    const char *check;
} field_cases[] = {
    {"policy bit 17 clear", VD_PRODUCT_MILAN, 3, patch_policy_bit17_clear, "report.policy"},
    {"policy bit 63 set", VD_PRODUCT_GENOA, 5, patch_policy_reserved_high, "report.policy"},
    {"SIGNATURE_ALGO 2", VD_PRODUCT_MILAN, 3, patch_signature_algo_2, "report.signature_algo"},
    {"MASK_CHIP_KEY set", VD_PRODUCT_MILAN, 3, patch_mask_chip_key, "report.signer_info"},
    {"SIGNER_INFO bit 24", VD_PRODUCT_TURIN, 5, patch_signer_info_reserved, "report.signer_info"},
    {"byte 0x18B set (v3)", VD_PRODUCT_GENOA, 3, patch_reserved_after_cpuid, "report.reserved"},
    {"CPUID set in v2", VD_PRODUCT_MILAN, 2, patch_v2_cpuid, "report.reserved"},
    {"mitigation vector in v3", VD_PRODUCT_MILAN, 3, patch_mit_vector_v3, "report.reserved"},
    {"byte 0x29F set (v5)", VD_PRODUCT_TURIN, 5, patch_reserved_tail, "report.reserved"},
    {"VMPL 4", VD_PRODUCT_MILAN, 3, patch_vmpl_4, "report.vmpl"},
};

static void test_report_fields_rejected(void **state)
{
    for (size_t i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++) {
        scenario_t s;
        scenario_init(&s, state, field_cases[i].product, field_cases[i].version);
        s.patch = field_cases[i].patch;
        vd_snp_result_t *r = run(&s);
        if (r->status != VD_SNP_REJECTED || !check_failed(r, field_cases[i].check)) {
            fail_with(r, "%s: expected %s to fail", field_cases[i].name, field_cases[i].check);
        }
        free(r);
    }
}

/* R and S are 48 bytes in 72-byte fields; the rest of the signature area is reserved. */
static void test_signature_padding_nonzero(void **state)
{
    static const int offsets[] = {0x2D0, 0x2E7, 0x318, 0x330, 0x49F};
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        scenario_t s;
        scenario_init(&s, state, VD_PRODUCT_MILAN, 3);
        s.tamper_offset = offsets[i];
        vd_snp_result_t *r = run(&s);
        if (r->status != VD_SNP_REJECTED || !check_failed(r, "report.signature_format")) {
            fail_with(r, "byte 0x%03X set: expected report.signature_format to fail", offsets[i]);
        }
        free(r);
    }
}

/* ---- report format -------------------------------------------------------------------------- */

static void want_format_only(vd_snp_result_t *r)
{
    want_rejected_by(r, "report.format");
    for (size_t i = 0; i < r->checks.count; i++) {
        const vd_check_t *c = &r->checks.items[i];
        if (strcmp(c->name, "report.format") != 0 && c->result != VD_CHECK_SKIP) {
            fail_with(r, "check %s ran (%s) after report.format failed", c->name,
                      vd_check_result_str(c->result));
        }
    }
}

static void test_version_6_rejected(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_TURIN, 6);
    vd_snp_result_t *r = run(&s);
    want_format_only(r);
    free(r);
}

static void test_version_1_rejected(void **state)
{
    scenario_t s;
    scenario_init(&s, state, VD_PRODUCT_MILAN, 1);
    vd_snp_result_t *r = run(&s);
    want_format_only(r);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_testpki_profile),
        cmocka_unit_test(test_genuine_milan_v2_with_hint),
        cmocka_unit_test(test_genuine_milan_v2_product_from_vcek),
        cmocka_unit_test(test_genuine_milan_v3),
        cmocka_unit_test(test_genuine_milan_v4),
        cmocka_unit_test(test_genuine_genoa_v3),
        cmocka_unit_test(test_genuine_genoa_v5),
        cmocka_unit_test(test_genuine_turin_v5),
        cmocka_unit_test(test_genuine_turin_v3),
        cmocka_unit_test(test_genuine_vlek_milan_v3),
        cmocka_unit_test(test_genuine_vlek_genoa_v5),
        cmocka_unit_test(test_genuine_hwid_der_wrapped),
        cmocka_unit_test(test_genuine_hwid_der_wrapped_turin),
        cmocka_unit_test(test_genuine_chip_id_masked),
        cmocka_unit_test(test_genuine_with_decoy_candidates),
        cmocka_unit_test(test_genuine_siena_v3),
        cmocka_unit_test(test_unconfigured_root_rejected),
        cmocka_unit_test(test_no_trust_set_rejected),
        cmocka_unit_test(test_vcek_product_name_mismatch),
        cmocka_unit_test(test_milan_report_genoa_root),
        cmocka_unit_test(test_v2_hint_contradicts_vcek),
        cmocka_unit_test(test_unknown_cpuid),
        cmocka_unit_test(test_vcek_issued_by_asvk),
        cmocka_unit_test(test_vlek_issued_by_ask),
        cmocka_unit_test(test_struct_version_mismatch),
        cmocka_unit_test(test_vcek_subject_not_amd),
        cmocka_unit_test(test_tcb_ucode_mismatch),
        cmocka_unit_test(test_tcb_turin_fmc_mismatch),
        cmocka_unit_test(test_tcb_vcek_without_snp_spl),
        cmocka_unit_test(test_hwid_mismatch),
        cmocka_unit_test(test_hwid_mismatch_turin),
        cmocka_unit_test(test_vcek_expired),
        cmocka_unit_test(test_vcek_not_yet_valid),
        cmocka_unit_test(test_signed_by_other_key),
        cmocka_unit_test(test_report_data_tampered),
        cmocka_unit_test(test_missing_vcek),
        cmocka_unit_test(test_missing_vcek_v2),
        cmocka_unit_test(test_missing_ask),
        cmocka_unit_test(test_missing_ark),
        cmocka_unit_test(test_signing_key_none),
        cmocka_unit_test(test_vlek_report_with_vcek_only),
        cmocka_unit_test(test_report_fields_rejected),
        cmocka_unit_test(test_signature_padding_nonzero),
        cmocka_unit_test(test_version_6_rejected),
        cmocka_unit_test(test_version_1_rejected),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
