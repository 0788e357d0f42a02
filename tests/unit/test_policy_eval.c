/*
 * Policy evaluation (policies/policy_eval.c, binding.c) against the real vectors in
 * ../shared/vectors, with purpose-written policies: each rule of policies/README.md yields the
 * named check with the documented result, detail and AR4SI claim, and the status is the worst
 * tier of the vector. Freshness modes that no real vector exercises use synthetic reports from
 * tests/support/testpki.h whose REPORT_DATA is computed here.
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
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "verdict/ar4si.h"
#include "verdict/certset.h"
#include "verdict/policy.h"
#include "verdict/report.h"
#include "verdict/trust.h"
#include "verdict/verify.h"
#include "testpki.h"
#include "vectors.h"

#define AT_DEFAULT "2026-06-01T00:00:00Z"
#define AT_VLEK    "2025-06-01T00:00:00Z" /* the VLEK expired 2025-12-10 */

/* ---- real vectors --------------------------------------------------------------------------- */

typedef struct vec {
    const char *report;
    const char *certs[4];
    const char *table;
    const char *at;
} vec_t;

enum { V_GSG, V_TRUSTEE, V_VLEK, V_TURIN, V_GENOA_TSM, V__COUNT };

static const vec_t vecs[V__COUNT] = {
    /* Milan v2, POLICY 0xB0000 (DEBUG), TCB bl 2 tee 0 snp 5 ucode 68, REPORT_DATA 01..05 */
    [V_GSG] = {"gosevguest-milan/attestation.bin",
               {"gosevguest-milan/vcek.der", "gosevguest-milan/cert_chain_milan_vcek.pem"},
               NULL,
               AT_DEFAULT},
    /* Milan v2 with an ID block: FAMILY_ID 01.., IMAGE_ID 02.., GUEST_SVN 4, ABI 0.31 */
    [V_TRUSTEE] = {"trustee-snp/test-report.bin",
                   {"trustee-snp/test-vcek.der", "amd-roots-trustee/milan_ask_ark_asvk.pem"},
                   NULL,
                   AT_DEFAULT},
    /* Milan v3, VLEK, VMPL 1, CHIP_ID zero, COMMITTED_TCB != CURRENT_TCB */
    [V_VLEK] = {"trustee-snp/test-vlek-report.bin",
                {"trustee-snp/test-vlek.der", "gosevguest-milan/cert_chain_milan_vlek.pem"},
                NULL,
                AT_VLEK},
    /* Turin v5, fmc 1 bl 1 tee 1 snp 4 ucode 81, PLATFORM_INFO 0x65, mitigation vectors 0x3F */
    [V_TURIN] = {"mstav-tests/turin_attestation_report.bin",
                 {"mstav-tests/turin_vcek.pem", "mstav-tests/turin_ask.pem",
                  "amd-roots-mstav/turin_ark.pem"},
                 NULL,
                 AT_DEFAULT},
    /* Genoa v3 (Veraison), REPORT_DATA 64 ASCII bytes, MEASUREMENT 7699e6ac... */
    [V_GENOA_TSM] = {"veraison-tsm/derived/outblob_report.bin",
                     {NULL},
                     "veraison-tsm/derived/auxblob_certtable.bin",
                     AT_DEFAULT},
};

static const char genoa_report_data[] =
    "MIDBNH28iioisjPyxxxxxxxxxxxxxxxxMIDBNH28iioisjPyxxxxxxxxxxxxxxxx";

static const char trustee_id_key[] = "0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743"
                                     "ca491ecdd7f336dc28a6e0b2bb57af7a44a3";
static const char genoa_measurement[] = "7699e6ac12ccdfd1dfac70e649ce1f046cb2afbb003438f4cdddfe2c"
                                        "cbe182fa5ffbe8dcdb930454324e10c52c788980";

/* Verify `report_rel` (NULL = the vector's own report) with the vector's certificates. */
static vd_snp_result_t *verify_vec(const vec_t *v, const char *report_rel, int with_certs)
{
    vd_certset_t *certs = NULL;
    vd_trust_t *trust = NULL;
    vd_error_t err = {0};
    uint8_t *table = NULL;
    size_t table_len = 0, len = 0, rlen = 0;
    uint8_t report[VD_SNP_REPORT_SIZE * 2];
    uint8_t *raw = vd_test_read_vector(report_rel != NULL ? report_rel : v->report, &len);
    assert_int_equal(vd_snp_report_from_file_bytes(raw, len, report, sizeof(report), &rlen), 0);
    free(raw);
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    for (size_t i = 0; with_certs && i < 4 && v->certs[i] != NULL; i++) {
        vd_test_add_certs(certs, v->certs[i]);
    }
    if (with_certs && v->table != NULL) {
        table = vd_test_read_vector(v->table, &table_len);
    }
    vd_snp_input_t in = {
        .report = report,
        .report_len = rlen,
        .certs = certs,
        .cert_table = table,
        .cert_table_len = table_len,
        .trust = trust,
        .at = vd_test_time(v->at),
    };
    assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
    free(table);
    vd_trust_free(&trust);
    vd_certset_free(&certs);
    return res;
}

/* Genuine results of the real vectors, verified once for the whole group. */
typedef struct fixture {
    vd_snp_result_t *res[V__COUNT];
    vd_testpki_t *pki; /* Milan test PKI for synthetic reports */
    X509 *vcek;
    EVP_PKEY *vcek_key;
    uint8_t chip_id[64];
    uint64_t tcb_raw;
} fixture_t;

static fixture_t *fx;

static const vd_snp_result_t *genuine(int which)
{
    if (fx->res[which] == NULL) {
        fx->res[which] = verify_vec(&vecs[which], NULL, 1);
        if (fx->res[which]->status != VD_SNP_GENUINE) {
            fail_msg("%s is not genuine (%s)", vecs[which].report,
                     vd_snp_status_str(fx->res[which]->status));
        }
    }
    return fx->res[which];
}

static int group_setup(void **state)
{
    (void)state;
    fx = calloc(1, sizeof(*fx));
    return fx == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < V__COUNT; i++) {
        free(fx->res[i]);
    }
    X509_free(fx->vcek);
    EVP_PKEY_free(fx->vcek_key);
    vd_testpki_free(&fx->pki);
    free(fx);
    fx = NULL;
    return 0;
}

/* ---- appraisal helpers ---------------------------------------------------------------------- */

static void dump(const vd_appraisal_t *a)
{
    print_message("appraisal of \"%s\": %s\n", a->policy_name, vd_tier_name(a->status));
    for (int i = 0; i < VD_CLAIM__COUNT; i++) {
        if (a->tvec.claims[i] != 0) {
            print_message("  %s = %d\n", vd_claim_name((vd_claim_t)i), a->tvec.claims[i]);
        }
    }
    for (size_t i = 0; i < a->checks.count; i++) {
        print_message("  %-4s %s: %s\n", vd_check_result_str(a->checks.items[i].result),
                      a->checks.items[i].name, a->checks.items[i].detail);
    }
}

/* Compile `yaml` (must succeed) and appraise `snp` with it. Caller frees the result. */
static vd_appraisal_t *appraise_in(const char *yaml, const vd_snp_result_t *snp,
                                   const vd_policy_input_t *in)
{
    vd_error_t err = {0};
    vd_policy_t *p = NULL;
    if (yaml != NULL && vd_policy_compile(yaml, strlen(yaml), "test.yaml", &p, &err) != VD_OK) {
        fail_msg("policy does not compile: %s\n%s", err.msg, yaml);
    }
    vd_appraisal_t *a = calloc(1, sizeof(*a));
    assert_non_null(a);
    vd_policy_evaluate(p, snp, in, a);
    vd_policy_free(&p);
    return a;
}

static vd_appraisal_t *appraise(const char *yaml, const vd_snp_result_t *snp)
{
    return appraise_in(yaml, snp, NULL);
}

/* A policy "name: t" with the given snp section body (lines indented by two spaces). */
static const char *snp_policy(const char *body)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "name: t\nsnp:\n%s", body);
    return buf;
}

/* The check `name` exists with `result` and its detail holds every needle (NULL-terminated). */
static void check_is_v(const vd_appraisal_t *a, const char *name, vd_check_result_t result,
                       const char *const *needles)
{
    const vd_check_t *k = vd_checks_find(&a->checks, name);
    if (k == NULL) {
        dump(a);
        fail_msg("no check %s", name);
    }
    if (k->result != result) {
        dump(a);
        fail_msg("%s: %s, expected %s", name, vd_check_result_str(k->result),
                 vd_check_result_str(result));
    }
    for (size_t i = 0; needles[i] != NULL; i++) {
        if (strstr(k->detail, needles[i]) == NULL) {
            dump(a);
            fail_msg("%s detail lacks \"%s\": %s", name, needles[i], k->detail);
        }
    }
}

#define CHECK_IS(a, name, result, ...)                                                             \
    check_is_v((a), (name), (result), (const char *const[]){__VA_ARGS__, NULL})
#define CHECK_PASS(a, name, ...) CHECK_IS(a, name, VD_CHECK_PASS, __VA_ARGS__)
#define CHECK_FAIL(a, name, ...) CHECK_IS(a, name, VD_CHECK_FAIL, __VA_ARGS__)

static void claim_is(const vd_appraisal_t *a, vd_claim_t c, int value)
{
    if (a->tvec.claims[c] != value) {
        dump(a);
        fail_msg("claim %s is %d, expected %d", vd_claim_name(c), a->tvec.claims[c], value);
    }
}

static void status_is(const vd_appraisal_t *a, vd_tier_t t)
{
    if (a->status != t) {
        dump(a);
        fail_msg("status %s, expected %s", vd_tier_name(a->status), vd_tier_name(t));
    }
    /* Whatever the vector says, the status is its worst tier. */
    assert_int_equal(a->status, vd_tvec_status(&a->tvec));
}

/* ---- baseline ------------------------------------------------------------------------------- */

static void test_evaluate_no_policy_affirms_genuine(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise(NULL, genuine(V_TURIN));
    assert_int_equal(a->checks.count, 0);
    assert_string_equal(a->policy_name, "");
    claim_is(a, VD_CLAIM_HARDWARE, 2);
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, 2);
    claim_is(a, VD_CLAIM_RUNTIME_OPAQUE, 2);
    claim_is(a, VD_CLAIM_EXECUTABLES, 0);
    claim_is(a, VD_CLAIM_CONFIGURATION, 0);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
}

static void test_evaluate_empty_policy_affirms_and_names_itself(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise("name: just-genuine\n", genuine(V_GSG));
    assert_int_equal(a->checks.count, 0);
    assert_string_equal(a->policy_name, "just-genuine");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
}

/* ---- guest POLICY --------------------------------------------------------------------------- */

static void test_evaluate_debug_forbidden_contraindicates_gsg(void **state)
{
    (void)state;
    vd_appraisal_t *a =
        appraise(snp_policy("  guest_policy: {debug: forbidden}\n"), genuine(V_GSG));
    CHECK_FAIL(a, "policy.guest_policy.debug",
               "POLICY 0xb0000 bit 19 (debug) is set but forbidden");
    claim_is(a, VD_CLAIM_RUNTIME_OPAQUE, VD_AR_CONTRAINDICATED);
    claim_is(a, VD_CLAIM_HARDWARE, 2);
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, 2);
    status_is(a, VD_TIER_CONTRAINDICATED);
    assert_int_equal(a->checks.count, 1);
    free(a);
}

static void test_evaluate_debug_allowed_affirms_gsg(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise(snp_policy("  guest_policy: {debug: allowed}\n"), genuine(V_GSG));
    CHECK_PASS(a, "policy.guest_policy.debug", "POLICY bit 19 (debug) is set; either is allowed");
    claim_is(a, VD_CLAIM_RUNTIME_OPAQUE, 2);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  guest_policy: {debug: required}\n"), genuine(V_GSG));
    CHECK_PASS(a, "policy.guest_policy.debug", "is set; the policy requires it");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    /* The same rule forbids nothing on a guest without DEBUG. */
    a = appraise(snp_policy("  guest_policy: {debug: forbidden}\n"), genuine(V_TURIN));
    CHECK_PASS(a, "policy.guest_policy.debug", "bit 19 (debug) is clear; the policy forbids it");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
}

static void test_evaluate_debug_required_fails_without_debug(void **state)
{
    (void)state;
    vd_appraisal_t *a =
        appraise(snp_policy("  guest_policy: {debug: required}\n"), genuine(V_TRUSTEE));
    CHECK_FAIL(a, "policy.guest_policy.debug",
               "POLICY 0x3001f bit 19 (debug) is clear but required");
    claim_is(a, VD_CLAIM_RUNTIME_OPAQUE, 96);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
}

static void test_evaluate_guest_flags_configuration(void **state)
{
    (void)state;
    /* trustee report: POLICY 0x3001f, SMT (bit 16) set, MIGRATE_MA (bit 18) clear. */
    vd_appraisal_t *a = appraise(snp_policy("  guest_policy:\n    smt: required\n"
                                            "    migrate_ma: forbidden\n"
                                            "    single_socket: allowed\n"),
                                 genuine(V_TRUSTEE));
    CHECK_PASS(a, "policy.guest_policy.smt", "bit 16 (smt) is set; the policy requires it");
    CHECK_PASS(a, "policy.guest_policy.migrate_ma", "bit 18 (migrate_ma) is clear");
    CHECK_PASS(a, "policy.guest_policy.single_socket", "either is allowed");
    claim_is(a, VD_CLAIM_CONFIGURATION, 2);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  guest_policy:\n    smt: forbidden\n    page_swap_disabled: "
                            "required\n"),
                 genuine(V_TRUSTEE));
    CHECK_FAIL(a, "policy.guest_policy.smt", "bit 16 (smt) is set but forbidden");
    CHECK_FAIL(a, "policy.guest_policy.page_swap_disabled",
               "bit 25 (page_swap_disabled) is clear but required");
    claim_is(a, VD_CLAIM_CONFIGURATION, 96);
    claim_is(a, VD_CLAIM_RUNTIME_OPAQUE, 2);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
}

static void test_evaluate_min_abi(void **state)
{
    (void)state;
    vd_appraisal_t *a =
        appraise(snp_policy("  guest_policy: {min_abi: \"0.31\"}\n"), genuine(V_TRUSTEE));
    CHECK_PASS(a, "policy.guest_policy.min_abi", "guest POLICY requires ABI 0.31, >= minimum 0.31");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  guest_policy: {min_abi: \"0.32\"}\n"), genuine(V_TRUSTEE));
    CHECK_FAIL(a, "policy.guest_policy.min_abi", "ABI 0.31, < minimum 0.32");
    claim_is(a, VD_CLAIM_CONFIGURATION, 96);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    a = appraise(snp_policy("  guest_policy: {min_abi: \"1.0\"}\n"), genuine(V_TRUSTEE));
    CHECK_FAIL(a, "policy.guest_policy.min_abi", "< minimum 1.0");
    free(a);
}

/* ---- TCB ------------------------------------------------------------------------------------ */

static void test_evaluate_min_tcb_at_reported_passes(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise(
        snp_policy("  min_tcb: {bootloader: 2, tee: 0, snp: 5, microcode: 68}\n"), genuine(V_GSG));
    CHECK_PASS(a, "policy.min_tcb",
               "REPORTED_TCB: bootloader 2 >= 2, tee 0 >= 0, snp 5 >= 5, microcode 68 >= 68");
    claim_is(a, VD_CLAIM_HARDWARE, 2);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  min_tcb: {fmc: 1, bootloader: 1, tee: 1, snp: 4, microcode: 81}\n"),
                 genuine(V_TURIN));
    CHECK_PASS(a, "policy.min_tcb",
               "fmc 1 >= 1, bootloader 1 >= 1, tee 1 >= 1, snp 4 >= 4, "
               "microcode 81 >= 81");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
}

static void test_evaluate_min_tcb_one_above_fails_per_component(void **state)
{
    (void)state;
    static const struct {
        int vec;
        const char *policy, *below;
    } cases[] = {
        {V_GSG, "{bootloader: 3, tee: 0, snp: 5, microcode: 68}", "bootloader 2 < minimum 3"},
        {V_GSG, "{bootloader: 2, tee: 1, snp: 5, microcode: 68}", "tee 0 < minimum 1"},
        {V_GSG, "{bootloader: 2, tee: 0, snp: 6, microcode: 68}", "snp 5 < minimum 6"},
        {V_GSG, "{bootloader: 2, tee: 0, snp: 5, microcode: 69}", "microcode 68 < minimum 69"},
        {V_TURIN, "{fmc: 2, bootloader: 1, tee: 1, snp: 4, microcode: 81}", "fmc 1 < minimum 2"},
        {V_TURIN, "{fmc: 1, bootloader: 2, tee: 1, snp: 4, microcode: 81}",
         "bootloader 1 < minimum 2"},
        {V_TURIN, "{fmc: 1, bootloader: 1, tee: 2, snp: 4, microcode: 81}", "tee 1 < minimum 2"},
        {V_TURIN, "{fmc: 1, bootloader: 1, tee: 1, snp: 5, microcode: 81}", "snp 4 < minimum 5"},
        {V_TURIN, "{fmc: 1, bootloader: 1, tee: 1, snp: 4, microcode: 82}",
         "microcode 81 < minimum 82"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[160];
        snprintf(body, sizeof(body), "  min_tcb: %s\n", cases[i].policy);
        vd_appraisal_t *a = appraise(snp_policy(body), genuine(cases[i].vec));
        char want[96];
        snprintf(want, sizeof(want), "REPORTED_TCB below the minimum: %s", cases[i].below);
        CHECK_FAIL(a, "policy.min_tcb", want);
        /* Only the component that is below is named. */
        assert_string_equal(vd_checks_find(&a->checks, "policy.min_tcb")->detail, want);
        claim_is(a, VD_CLAIM_HARDWARE, VD_AR_CONTRAINDICATED);
        status_is(a, VD_TIER_CONTRAINDICATED);
        free(a);
    }
}

static void test_evaluate_min_tcb_fmc_before_turin(void **state)
{
    (void)state;
    /* Milan has no FMC: a lone fmc minimum is skipped, alongside others it is ignored. */
    vd_appraisal_t *a = appraise(snp_policy("  min_tcb: {fmc: 9}\n"), genuine(V_GSG));
    CHECK_IS(a, "policy.min_tcb", VD_CHECK_SKIP,
             "only fmc is constrained and this product has none");
    claim_is(a, VD_CLAIM_HARDWARE, 2);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  min_tcb: {fmc: 9, snp: 5}\n"), genuine(V_GSG));
    CHECK_PASS(a, "policy.min_tcb", "REPORTED_TCB: snp 5 >= 5");
    assert_null(strstr(vd_checks_find(&a->checks, "policy.min_tcb")->detail, "fmc"));
    free(a);
}

static void test_evaluate_min_launch_tcb(void **state)
{
    (void)state;
    /* VLEK report: REPORTED_TCB microcode 217 (0xd9), LAUNCH_TCB microcode 219 (0xdb). */
    vd_appraisal_t *a = appraise(snp_policy("  min_launch_tcb: {bootloader: 4, snp: 24, "
                                            "microcode: 219}\n"),
                                 genuine(V_VLEK));
    CHECK_PASS(a, "policy.min_launch_tcb",
               "LAUNCH_TCB: bootloader 4 >= 4, snp 24 >= 24, microcode 219 >= 219");
    assert_null(vd_checks_find(&a->checks, "policy.min_tcb"));
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  min_launch_tcb: {microcode: 220}\n  min_tcb: {microcode: 217}\n"),
                 genuine(V_VLEK));
    CHECK_FAIL(a, "policy.min_launch_tcb",
               "LAUNCH_TCB below the minimum: microcode 219 < minimum "
               "220");
    CHECK_PASS(a, "policy.min_tcb", "REPORTED_TCB: microcode 217 >= 217");
    claim_is(a, VD_CLAIM_HARDWARE, 96); /* a later pass does not undo the failure */
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    /* The same minimum against REPORTED_TCB fails: the two are separate fields. */
    a = appraise(snp_policy("  min_tcb: {microcode: 219}\n"), genuine(V_VLEK));
    CHECK_FAIL(a, "policy.min_tcb", "microcode 217 < minimum 219");
    free(a);
}

static void test_evaluate_provisional_firmware(void **state)
{
    (void)state;
    vd_appraisal_t *a =
        appraise(snp_policy("  provisional_firmware: forbidden\n"), genuine(V_VLEK));
    CHECK_FAIL(a, "policy.provisional_firmware", "provisional firmware: CURRENT 1.55.29",
               "!= COMMITTED 1.55.29");
    claim_is(a, VD_CLAIM_HARDWARE, VD_AR_WARNING);
    status_is(a, VD_TIER_WARNING);
    free(a);
    a = appraise(snp_policy("  provisional_firmware: forbidden\n"), genuine(V_TURIN));
    CHECK_PASS(a, "policy.provisional_firmware", "firmware 1.55.65 is committed",
               "COMMITTED_TCB = CURRENT_TCB");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    /* allowed: no check at all. */
    a = appraise(snp_policy("  provisional_firmware: allowed\n"), genuine(V_VLEK));
    assert_null(vd_checks_find(&a->checks, "policy.provisional_firmware"));
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
}

static void test_evaluate_min_api_version_and_build(void **state)
{
    (void)state;
    /* Turin firmware 1.55.65 */
    vd_appraisal_t *a = appraise(snp_policy("  min_api_version: \"1.55\"\n"
                                            "  min_firmware_build: 65\n"),
                                 genuine(V_TURIN));
    CHECK_PASS(a, "policy.min_api_version", "firmware API version 1.55 >= minimum 1.55");
    CHECK_PASS(a, "policy.min_firmware_build", "firmware build 65 >= minimum 65");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  min_api_version: \"0.99\"\n"), genuine(V_TURIN));
    CHECK_PASS(a, "policy.min_api_version", "1.55 >= minimum 0.99");
    free(a);
    a = appraise(snp_policy("  min_api_version: \"1.56\"\n"), genuine(V_TURIN));
    CHECK_FAIL(a, "policy.min_api_version", "firmware API version 1.55 < minimum 1.56");
    claim_is(a, VD_CLAIM_HARDWARE, 96);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    a = appraise(snp_policy("  min_api_version: \"2.0\"\n"), genuine(V_TURIN));
    CHECK_FAIL(a, "policy.min_api_version", "1.55 < minimum 2.0");
    free(a);
    a = appraise(snp_policy("  min_firmware_build: 66\n"), genuine(V_TURIN));
    CHECK_FAIL(a, "policy.min_firmware_build", "firmware build 65 < minimum 66");
    claim_is(a, VD_CLAIM_HARDWARE, 96);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
}

/* ---- product, key, VMPL --------------------------------------------------------------------- */

static void test_evaluate_products(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise(snp_policy("  products: [Milan, Genoa]\n"), genuine(V_TURIN));
    CHECK_FAIL(a, "policy.product", "product Turin is not accepted (expected Milan, Genoa)");
    claim_is(a, VD_CLAIM_HARDWARE, VD_AR_UNRECOGNIZED);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    a = appraise(snp_policy("  products: [Turin]\n"), genuine(V_TURIN));
    CHECK_PASS(a, "policy.product", "product Turin is accepted (Turin)");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    /* Siena in a policy means Genoa. */
    a = appraise(snp_policy("  products: [Siena]\n"), genuine(V_GENOA_TSM));
    CHECK_PASS(a, "policy.product", "product Genoa is accepted");
    free(a);
}

static void test_evaluate_signing_keys(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise(snp_policy("  signing_keys: [VCEK]\n"), genuine(V_VLEK));
    CHECK_FAIL(a, "policy.signing_key", "signed by a VLEK; the policy accepts VCEK");
    claim_is(a, VD_CLAIM_HARDWARE, VD_AR_UNRECOGNIZED);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    a = appraise(snp_policy("  signing_keys: [VLEK]\n"), genuine(V_VLEK));
    CHECK_PASS(a, "policy.signing_key", "signed by a VLEK, accepted");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  signing_keys: [VLEK]\n"), genuine(V_TURIN));
    CHECK_FAIL(a, "policy.signing_key", "signed by a VCEK; the policy accepts VLEK");
    free(a);
}

static void test_evaluate_vmpl(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise(snp_policy("  vmpl: 0\n"), genuine(V_VLEK));
    CHECK_FAIL(a, "policy.vmpl", "VMPL 1 not accepted (accepted: 0)");
    claim_is(a, VD_CLAIM_CONFIGURATION, 96);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    a = appraise(snp_policy("  vmpl: [0, 1]\n"), genuine(V_VLEK));
    CHECK_PASS(a, "policy.vmpl", "VMPL 1 accepted (accepted: 0, 1)");
    claim_is(a, VD_CLAIM_CONFIGURATION, 2);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  vmpl: 0\n"), genuine(V_TURIN));
    CHECK_PASS(a, "policy.vmpl", "VMPL 0 accepted");
    free(a);
}

/* The trustee-kbs example: a VMPL mismatch is only a warning there. */
static void test_evaluate_on_failure_changes_claim_and_value(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise("name: t\nsnp:\n  vmpl: 0\nappraisal:\n  on_failure:\n"
                                 "    policy.vmpl: {configuration: 32}\n",
                                 genuine(V_VLEK));
    CHECK_FAIL(a, "policy.vmpl", "VMPL 1 not accepted");
    claim_is(a, VD_CLAIM_CONFIGURATION, 32);
    status_is(a, VD_TIER_WARNING);
    free(a);
    /* Moved to another claim: the default one is untouched. */
    a = appraise("name: t\nsnp:\n  vmpl: 0\nappraisal:\n  on_failure:\n"
                 "    policy.vmpl: {sourced-data: -100}\n",
                 genuine(V_VLEK));
    claim_is(a, VD_CLAIM_SOURCED_DATA, -100);
    claim_is(a, VD_CLAIM_CONFIGURATION, 0);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
}

/* ---- PLATFORM_INFO -------------------------------------------------------------------------- */

static void test_evaluate_turin_iommu_write_safe(void **state)
{
    (void)state;
    vd_appraisal_t *a =
        appraise(snp_policy("  platform_info: {iommu_write_safe: required}\n"), genuine(V_TURIN));
    CHECK_PASS(a, "policy.platform_info.iommu_write_safe",
               "PLATFORM_INFO bit 6 (iommu_write_safe) is set; the policy requires it");
    claim_is(a, VD_CLAIM_HARDWARE, 2);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  platform_info: {iommu_write_safe: forbidden}\n"), genuine(V_TURIN));
    CHECK_FAIL(a, "policy.platform_info.iommu_write_safe",
               "PLATFORM_INFO 0x65 bit 6 (iommu_write_safe) is set but forbidden");
    claim_is(a, VD_CLAIM_HARDWARE, VD_AR_WARNING);
    status_is(a, VD_TIER_WARNING);
    free(a);
    /* On Milan (PLATFORM_INFO 0x1) bit 6 is clear. */
    a = appraise(snp_policy("  platform_info: {iommu_write_safe: required}\n"), genuine(V_GSG));
    CHECK_FAIL(a, "policy.platform_info.iommu_write_safe", "PLATFORM_INFO 0x1 bit 6",
               "is clear but required");
    status_is(a, VD_TIER_WARNING);
    free(a);
}

static void test_evaluate_platform_flags(void **state)
{
    (void)state;
    /* Turin PLATFORM_INFO 0x65: SMT, ECC, ALIAS_CHECK_COMPLETE, bit 6; no TSME. */
    vd_appraisal_t *a = appraise(snp_policy("  platform_info:\n    smt: required\n"
                                            "    alias_check_complete: required\n"
                                            "    ecc: required\n    tio: forbidden\n"),
                                 genuine(V_TURIN));
    CHECK_PASS(a, "policy.platform_info.smt", "bit 0 (smt) is set");
    CHECK_PASS(a, "policy.platform_info.alias_check_complete",
               "bit 5 (alias_check_complete) is set");
    CHECK_PASS(a, "policy.platform_info.ecc", "bit 2 (ecc) is set");
    CHECK_PASS(a, "policy.platform_info.tio", "bit 7 (tio) is clear");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  platform_info: {tsme: required}\n"), genuine(V_TURIN));
    CHECK_FAIL(a, "policy.platform_info.tsme", "bit 1 (tsme) is clear but required");
    claim_is(a, VD_CLAIM_CONFIGURATION, 96);
    claim_is(a, VD_CLAIM_HARDWARE, 2);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    /* BadRAM alias check missing (go-sev-guest Milan, PLATFORM_INFO 0x1): a hardware warning. */
    a = appraise(snp_policy("  platform_info: {alias_check_complete: required}\n"), genuine(V_GSG));
    CHECK_FAIL(a, "policy.platform_info.alias_check_complete",
               "bit 5 (alias_check_complete) is clear but required");
    claim_is(a, VD_CLAIM_HARDWARE, VD_AR_WARNING);
    status_is(a, VD_TIER_WARNING);
    free(a);
}

/* ---- mitigation vectors --------------------------------------------------------------------- */

static void test_evaluate_mitigation_vectors(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise(snp_policy("  min_launch_mit_vector: 0x3f\n"
                                            "  min_current_mit_vector: 0x21\n"),
                                 genuine(V_TURIN));
    CHECK_PASS(a, "policy.min_launch_mit_vector",
               "LAUNCH_MIT_VECTOR 0x3f has every required bit (0x3f)");
    CHECK_PASS(a, "policy.min_current_mit_vector",
               "CURRENT_MIT_VECTOR 0x3f has every required bit");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  min_current_mit_vector: 0xff\n"), genuine(V_TURIN));
    CHECK_FAIL(a, "policy.min_current_mit_vector",
               "CURRENT_MIT_VECTOR 0x3f lacks bits 0xc0 of the required 0xff");
    claim_is(a, VD_CLAIM_HARDWARE, VD_AR_WARNING);
    status_is(a, VD_TIER_WARNING);
    free(a);
    /* A v3 report has no mitigation vector at all. */
    a = appraise(snp_policy("  min_launch_mit_vector: 0x1\n"), genuine(V_GENOA_TSM));
    CHECK_FAIL(a, "policy.min_launch_mit_vector",
               "LAUNCH_MIT_VECTOR required to include 0x1, but a v3 report carries no mitigation "
               "vector");
    status_is(a, VD_TIER_WARNING);
    free(a);
}

/* ---- reference values ----------------------------------------------------------------------- */

static void test_evaluate_measurement_match_with_label(void **state)
{
    (void)state;
    char body[512];
    snprintf(body, sizeof(body),
             "  measurements:\n    - value: %.95s1\n      label: other\n"
             "    - value: %s\n      label: veraison sample\n",
             genoa_measurement, genoa_measurement);
    vd_appraisal_t *a = appraise(snp_policy(body), genuine(V_GENOA_TSM));
    CHECK_PASS(a, "policy.measurement", "MEASUREMENT 7699e6ac12ccdfd1dfac70e6... matches",
               "\"veraison sample\"");
    claim_is(a, VD_CLAIM_EXECUTABLES, VD_AR_APPROVED_BOOT);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
}

static void test_evaluate_measurement_mismatch_names_closest_label(void **state)
{
    (void)state;
    /* "near" differs from the Genoa measurement in the first digit only. */
    char body[768];
    snprintf(body, sizeof(body),
             "  measurements:\n"
             "    - {value: '%096d', label: zeros}\n"
             "    - {value: 8%.95s, label: near}\n"
             "    - {value: 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
             "ffffffffffffffffffffffffffff', label: ones}\n",
             0, genoa_measurement + 1);
    vd_appraisal_t *a = appraise(snp_policy(body), genuine(V_GENOA_TSM));
    CHECK_FAIL(a, "policy.measurement", "MEASUREMENT 7699e6ac12ccdfd1dfac70e649ce1f04",
               "not in the allowed set (3 values); closest label \"near\"");
    claim_is(a, VD_CLAIM_EXECUTABLES, VD_AR_CONTRAINDICATED);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    /* One unlabelled value: singular, and no label to name. */
    a = appraise(snp_policy("  measurements: ['"
                            "000000000000000000000000000000000000000000000000"
                            "000000000000000000000000000000000000000000000000']\n"),
                 genuine(V_GENOA_TSM));
    CHECK_FAIL(a, "policy.measurement", "not in the allowed set (1 value)");
    assert_null(strstr(vd_checks_find(&a->checks, "policy.measurement")->detail, "closest"));
    free(a);
}

static void test_evaluate_measurement_on_failure_warning(void **state)
{
    (void)state;
    const char *yaml = "name: t\nsnp:\n  measurements:\n    - value: 0x"
                       "0000000000000000000000"
                       "00000000000000000000000000000000000000000000000000000000000000000000000000"
                       "\n      label: old\nappraisal:\n  on_failure:\n"
                       "    policy.measurement: {executables: 33}\n";
    vd_appraisal_t *a = appraise(yaml, genuine(V_GENOA_TSM));
    CHECK_FAIL(a, "policy.measurement", "closest label \"old\"");
    claim_is(a, VD_CLAIM_EXECUTABLES, VD_AR_UNRECOGNIZED_RT);
    status_is(a, VD_TIER_WARNING);
    free(a);
    /* The override does not touch a passing check. */
    char yaml2[512];
    snprintf(yaml2, sizeof(yaml2),
             "name: t\nsnp:\n  measurements: [%s]\nappraisal:\n  on_failure:\n"
             "    policy.measurement: {executables: 33}\n",
             genoa_measurement);
    a = appraise(yaml2, genuine(V_GENOA_TSM));
    CHECK_PASS(a, "policy.measurement", "matches");
    claim_is(a, VD_CLAIM_EXECUTABLES, VD_AR_APPROVED_BOOT);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
}

static void test_evaluate_host_data(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise(snp_policy("  host_data: "
                                            "[b3452a0ed30f1010bd32740dd1610bc63296ceb0f882f2cac3a31"
                                            "52d651fe7e4]\n"),
                                 genuine(V_TURIN));
    CHECK_PASS(a, "policy.host_data", "HOST_DATA b3452a0ed30f1010bd32740d... matches");
    claim_is(a, VD_CLAIM_CONFIGURATION, 2);
    free(a);
    a = appraise(snp_policy("  host_data: [{value: "
                            "b3452a0ed30f1010bd32740dd1610bc63296ceb0f882f2cac3a3152d651fe7e5, "
                            "label: tenant-a}]\n"),
                 genuine(V_TURIN));
    CHECK_FAIL(a, "policy.host_data", "HOST_DATA b3452a0ed30f1010", "closest label \"tenant-a\"");
    claim_is(a, VD_CLAIM_CONFIGURATION, 96);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
}

static void test_evaluate_id_block_family_image_svn(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise(snp_policy("  family_ids: [{value: "
                                            "01000000000000000000000000000000, label: fam}]\n"
                                            "  image_ids: [02000000000000000000000000000000]\n"
                                            "  min_guest_svn: 4\n"),
                                 genuine(V_TRUSTEE));
    CHECK_PASS(a, "policy.family_id", "FAMILY_ID 010000000000000000000000... matches \"fam\"");
    CHECK_PASS(a, "policy.image_id", "IMAGE_ID 020000000000000000000000... matches");
    CHECK_PASS(a, "policy.min_guest_svn", "GUEST_SVN 4 >= minimum 4");
    claim_is(a, VD_CLAIM_EXECUTABLES, 2);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  family_ids: [02000000000000000000000000000000]\n"),
                 genuine(V_TRUSTEE));
    CHECK_FAIL(a, "policy.family_id",
               "FAMILY_ID 01000000000000000000000000000000 not in the allowed set (1 value)");
    claim_is(a, VD_CLAIM_EXECUTABLES, 96);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    a = appraise(snp_policy("  image_ids: [01000000000000000000000000000000, "
                            "{value: 03000000000000000000000000000000, label: v3}]\n"),
                 genuine(V_TRUSTEE));
    CHECK_FAIL(a, "policy.image_id",
               "IMAGE_ID 02000000000000000000000000000000 not in the allowed set (2 values)");
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    a = appraise(snp_policy("  min_guest_svn: 5\n"), genuine(V_TRUSTEE));
    CHECK_FAIL(a, "policy.min_guest_svn", "GUEST_SVN 4 < minimum 5");
    claim_is(a, VD_CLAIM_EXECUTABLES, VD_AR_WARNING);
    status_is(a, VD_TIER_WARNING);
    free(a);
}

static void test_evaluate_id_key(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise(snp_policy("  require_id_block: true\n"), genuine(V_TRUSTEE));
    CHECK_PASS(a, "policy.id_key", "ID block present (no key list to match)");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  require_id_block: true\n"), genuine(V_GSG));
    CHECK_FAIL(a, "policy.id_key", "an ID block is required, but ID_KEY_DIGEST is zero");
    claim_is(a, VD_CLAIM_EXECUTABLES, 96);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    a = appraise(snp_policy("  require_id_block: false\n"), genuine(V_GSG));
    assert_null(vd_checks_find(&a->checks, "policy.id_key"));
    free(a);
    char body[512];
    snprintf(body, sizeof(body),
             "  require_id_block: true\n  id_key_digests:\n"
             "    - {value: %s, label: trustee key}\n",
             trustee_id_key);
    a = appraise(snp_policy(body), genuine(V_TRUSTEE));
    CHECK_PASS(a, "policy.id_key", "ID_KEY_DIGEST 0356215882a825279a85b300... matches",
               "\"trustee key\"");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    /* Another key: fails and names the listed one. */
    snprintf(body, sizeof(body), "  id_key_digests:\n    - {value: %.95s0, label: other key}\n",
             trustee_id_key);
    a = appraise(snp_policy(body), genuine(V_TRUSTEE));
    CHECK_FAIL(a, "policy.id_key", "ID_KEY_DIGEST 0356215882a8", "not in the allowed set (1 value)",
               "closest label \"other key\"");
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    /* Listed keys, but no ID block at all. */
    snprintf(body, sizeof(body), "  id_key_digests: [%s]\n", trustee_id_key);
    a = appraise(snp_policy(body), genuine(V_GSG));
    CHECK_FAIL(a, "policy.id_key",
               "trusted ID keys are listed, but the guest launched without an "
               "ID block");
    free(a);
}

static void test_evaluate_author_key_absent(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise(snp_policy("  require_author_key: true\n"), genuine(V_TRUSTEE));
    CHECK_FAIL(a, "policy.author_key",
               "an author key is required, but SIGNER_INFO.AUTHOR_KEY_EN "
               "is clear");
    claim_is(a, VD_CLAIM_EXECUTABLES, 96);
    free(a);
    char body[256];
    snprintf(body, sizeof(body), "  author_key_digests: [%s]\n", trustee_id_key);
    a = appraise(snp_policy(body), genuine(V_TRUSTEE));
    CHECK_FAIL(a, "policy.author_key",
               "trusted author keys are listed, but "
               "SIGNER_INFO.AUTHOR_KEY_EN is clear");
    free(a);
}

static void test_evaluate_chip_ids(void **state)
{
    (void)state;
    /* Milan: the full 64-byte CHIP_ID. */
    const uint8_t *milan_chip = genuine(V_GSG)->report.chip_id;
    char hex[129], body[512];
    for (size_t i = 0; i < 64; i++) {
        snprintf(hex + 2 * i, 3, "%02x", milan_chip[i]);
    }
    snprintf(body, sizeof(body), "  chip_ids: [{value: %s, label: lab-host}]\n", hex);
    vd_appraisal_t *a = appraise(snp_policy(body), genuine(V_GSG));
    CHECK_PASS(a, "policy.chip_id", "CHIP_ID 3ac3fe21e13fb0990eb28a80... matches \"lab-host\"");
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, 2);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    /* An 8-byte entry does not match a Milan CHIP_ID whose other 56 bytes are not zero. */
    snprintf(body, sizeof(body), "  chip_ids: [%.16s]\n", hex);
    a = appraise(snp_policy(body), genuine(V_GSG));
    CHECK_FAIL(a, "policy.chip_id", "CHIP_ID 3ac3fe21e13fb099", "not in the allowed set (1 value)");
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, VD_AR_UNRECOGNIZED);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    /* Turin: the 8-byte ID matches CHIP_ID[0..7]; so does the zero-padded 64-byte form. */
    a = appraise(snp_policy("  chip_ids: [59790fb1c39f35c1]\n"), genuine(V_TURIN));
    CHECK_PASS(a, "policy.chip_id", "CHIP_ID 59790fb1c39f35c100000000... matches");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    snprintf(body, sizeof(body), "  chip_ids: [59790fb1c39f35c1%0112d]\n", 0);
    a = appraise(snp_policy(body), genuine(V_TURIN));
    CHECK_PASS(a, "policy.chip_id", "matches");
    free(a);
    a = appraise(snp_policy("  chip_ids: [{value: 59790fb1c39f35c2, label: neighbour}]\n"),
                 genuine(V_TURIN));
    CHECK_FAIL(a, "policy.chip_id", "CHIP_ID 59790fb1c39f35c1", "closest label \"neighbour\"");
    free(a);
    /* VLEK: CHIP_ID is masked (all zero). */
    a = appraise(snp_policy("  chip_ids: [59790fb1c39f35c1]\n"), genuine(V_VLEK));
    CHECK_FAIL(a, "policy.chip_id", "CHIP_ID is masked (all zero)");
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, VD_AR_UNRECOGNIZED);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
}

/* ---- freshness on real reports -------------------------------------------------------------- */

static void test_evaluate_freshness_raw_veraison(void **state)
{
    (void)state;
    const vd_snp_result_t *g = genuine(V_GENOA_TSM);
    vd_policy_input_t in = {.nonce = (const uint8_t *)genoa_report_data, .nonce_len = 64};
    vd_appraisal_t *a = appraise_in(snp_policy("  freshness: raw\n"), g, &in);
    CHECK_PASS(a, "policy.freshness", "REPORT_DATA binds the nonce (raw)");
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, 2);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    /* nonce || runtime data, 32 + 32 bytes */
    in.nonce_len = 32;
    in.runtime_data = (const uint8_t *)genoa_report_data + 32;
    in.runtime_data_len = 32;
    a = appraise_in(snp_policy("  freshness: raw\n"), g, &in);
    CHECK_PASS(a, "policy.freshness", "binds the nonce and runtime data (raw)");
    free(a);
    /* A different nonce: replay. */
    char wrong[65];
    memcpy(wrong, genoa_report_data, sizeof(wrong));
    wrong[63] = 'y';
    vd_policy_input_t bad = {.nonce = (const uint8_t *)wrong, .nonce_len = 64};
    a = appraise_in(snp_policy("  freshness: raw\n"), g, &bad);
    CHECK_FAIL(a, "policy.freshness", "REPORT_DATA 4d4944424e483238", "!= expected",
               "(raw of the "
               "nonce)");
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, VD_AR_CONTRAINDICATED);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    /* Too long for REPORT_DATA. */
    uint8_t big[65] = {0};
    vd_policy_input_t too_long = {.nonce = big, .nonce_len = sizeof(big)};
    a = appraise_in(snp_policy("  freshness: raw\n"), g, &too_long);
    CHECK_FAIL(a, "policy.freshness", "raw binding: nonce and runtime data are 65 bytes");
    free(a);
}

static void test_evaluate_freshness_raw_zero_padded(void **state)
{
    (void)state;
    /* go-sev-guest: REPORT_DATA 01 02 03 04 05 then zeros. */
    static const uint8_t nonce[] = {1, 2, 3, 4, 5};
    vd_policy_input_t in = {.nonce = nonce, .nonce_len = sizeof(nonce)};
    vd_appraisal_t *a = appraise_in(snp_policy("  freshness: raw\n"), genuine(V_GSG), &in);
    CHECK_PASS(a, "policy.freshness", "(raw)");
    free(a);
    static const uint8_t shorter[] = {1, 2, 3, 4};
    in.nonce = shorter;
    in.nonce_len = sizeof(shorter);
    a = appraise_in(snp_policy("  freshness: raw\n"), genuine(V_GSG), &in);
    CHECK_FAIL(a, "policy.freshness", "REPORT_DATA 0102030405");
    free(a);
}

static void test_evaluate_freshness_nonce_without_mode_is_raw(void **state)
{
    (void)state;
    const vd_snp_result_t *g = genuine(V_GENOA_TSM);
    vd_policy_input_t in = {.nonce = (const uint8_t *)genoa_report_data, .nonce_len = 64};
    vd_appraisal_t *a = appraise_in("name: t\n", g, &in);
    CHECK_PASS(a, "policy.freshness", "(raw)");
    free(a);
    in.nonce_len = 63;
    a = appraise_in("name: t\n", g, &in);
    CHECK_FAIL(a, "policy.freshness", "(raw of the nonce)");
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    /* No nonce and no mode: no check. */
    a = appraise_in("name: t\n", g, NULL);
    assert_null(vd_checks_find(&a->checks, "policy.freshness"));
    free(a);
    /* freshness: none cannot bind a nonce that was given: the check fails (issue #7,
     * defect 3: it used to be ignored and the result affirming). Even the right nonce. */
    in.nonce_len = 64;
    a = appraise_in(snp_policy("  freshness: none\n"), g, &in);
    CHECK_FAIL(a, "policy.freshness", "freshness: none");
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    /* ... and with nothing given it checks nothing. */
    a = appraise_in(snp_policy("  freshness: none\n"), g, NULL);
    assert_null(vd_checks_find(&a->checks, "policy.freshness"));
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    /* Runtime data alone, no freshness key: compared raw, not ignored. */
    vd_policy_input_t rd = {.runtime_data = (const uint8_t *)"not the report data",
                            .runtime_data_len = 19};
    a = appraise_in("name: t\n", g, &rd);
    CHECK_FAIL(a, "policy.freshness", "(raw of the runtime data)");
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    rd.runtime_data = (const uint8_t *)genoa_report_data;
    rd.runtime_data_len = 64;
    a = appraise_in("name: t\n", g, &rd);
    CHECK_PASS(a, "policy.freshness", "(raw)");
    free(a);
}

/* Without any policy, a nonce given is still checked, raw (issue #7, defect 3; issue #8's
 * /v1/attest with a nonce and no policy). */
static void test_evaluate_freshness_without_policy(void **state)
{
    (void)state;
    const vd_snp_result_t *g = genuine(V_GENOA_TSM);
    vd_policy_input_t in = {.nonce = (const uint8_t *)genoa_report_data, .nonce_len = 64};
    vd_appraisal_t *a = calloc(1, sizeof(*a));
    assert_non_null(a);
    vd_policy_evaluate(NULL, g, &in, a);
    CHECK_PASS(a, "policy.freshness", "(raw)");
    status_is(a, VD_TIER_AFFIRMING);
    in.nonce_len = 32;
    vd_policy_evaluate(NULL, g, &in, a);
    CHECK_FAIL(a, "policy.freshness", "(raw of the nonce)");
    status_is(a, VD_TIER_CONTRAINDICATED);
    vd_policy_evaluate(NULL, g, NULL, a);
    assert_int_equal(a->checks.count, 0);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
}

static void test_evaluate_freshness_missing_nonce_fails(void **state)
{
    (void)state;
    static const char *const modes[] = {"raw", "sha512", "sha256-prefix"};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        char body[64], want[128];
        snprintf(body, sizeof(body), "  freshness: %s\n", modes[i]);
        snprintf(want, sizeof(want),
                 "the policy binds REPORT_DATA as %s, but no nonce or runtime "
                 "data was supplied",
                 modes[i]);
        vd_appraisal_t *a = appraise_in(snp_policy(body), genuine(V_GENOA_TSM), NULL);
        CHECK_FAIL(a, "policy.freshness", want);
        claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, 96);
        status_is(a, VD_TIER_CONTRAINDICATED);
        free(a);
        vd_policy_input_t empty = {0};
        a = appraise_in(snp_policy(body), genuine(V_GENOA_TSM), &empty);
        CHECK_FAIL(a, "policy.freshness", want);
        free(a);
    }
    vd_appraisal_t *a =
        appraise_in(snp_policy("  freshness: sha384-jcs\n"), genuine(V_GENOA_TSM), NULL);
    CHECK_FAIL(a, "policy.freshness", "sha384-jcs binding needs the runtime data JSON");
    free(a);
}

/* ---- freshness on synthetic reports --------------------------------------------------------- */

/* A Milan test PKI and one VCEK, made on first use. */
static void synth_init(void)
{
    if (fx->pki != NULL) {
        return;
    }
    fx->pki = vd_testpki_new(VD_PRODUCT_MILAN);
    if (fx->pki == NULL) {
        ERR_print_errors_fp(stderr);
        fail_msg("vd_testpki_new failed");
    }
    fx->tcb_raw = vd_testreport_tcb_raw(VD_PRODUCT_MILAN, 0, 3, 0, 8, 115);
    for (size_t i = 0; i < 64; i++) {
        fx->chip_id[i] = (uint8_t)(i * 7 + 1);
    }
    vd_testpki_leaf_opts_t o = {0};
    o.product_name = "Milan-B0";
    o.tcb = vd_tcb_decode(fx->tcb_raw, VD_PRODUCT_MILAN);
    o.hwid = fx->chip_id;
    o.hwid_len = 64;
    fx->vcek = vd_testpki_issue_leaf(fx->pki, &o, &fx->vcek_key);
    if (fx->vcek == NULL) {
        ERR_print_errors_fp(stderr);
        fail_msg("vd_testpki_issue_leaf failed");
    }
}

/* Fields of a synthetic report beyond vd_testreport_init's; NULL = as initialised. */
typedef struct synth_fields {
    const uint8_t *id_key_digest; /* 48 bytes */
    const uint8_t *report_id;     /* 32 */
    const uint8_t *report_id_ma;  /* 32 */
} synth_fields_t;

/* A genuine synthetic Milan v3 report with `report_data`, verified now. Caller frees. */
static vd_snp_result_t *synth_verify_ex(const uint8_t report_data[64], uint32_t signer_info,
                                        const uint8_t author_digest[48], const synth_fields_t *f)
{
    uint8_t raw[VD_SNP_REPORT_SIZE];
    vd_error_t err = {0};
    synth_init();
    vd_testreport_init(raw, 3, VD_PRODUCT_MILAN, fx->tcb_raw, fx->chip_id);
    memcpy(raw + 0x050, report_data, 64);
    raw[0x048] = (uint8_t)(raw[0x048] | signer_info);
    if (author_digest != NULL) {
        memcpy(raw + 0x110, author_digest, 48);
    }
    if (f != NULL && f->id_key_digest != NULL) {
        memcpy(raw + 0x0E0, f->id_key_digest, 48);
    }
    if (f != NULL && f->report_id != NULL) {
        memcpy(raw + 0x140, f->report_id, 32);
    }
    if (f != NULL && f->report_id_ma != NULL) {
        memcpy(raw + 0x160, f->report_id_ma, 32);
    }
    assert_int_equal(vd_testreport_sign(raw, fx->vcek_key), 0);
    vd_certset_t *certs = NULL;
    vd_trust_t *trust = NULL;
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    assert_int_equal(vd_trust_new(&trust, &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(certs, vd_testpki_ark(fx->pki), "test ARK", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(certs, vd_testpki_ask(fx->pki), "test ASK", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(certs, fx->vcek, "test VCEK", &err), VD_OK);
    assert_int_equal(vd_trust_add_extra(trust, vd_testpki_ark(fx->pki), &err), VD_OK);
    vd_snp_input_t in = {
        .report = raw, .report_len = sizeof(raw), .certs = certs, .trust = trust, .at = time(NULL)};
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
    vd_trust_free(&trust);
    vd_certset_free(&certs);
    if (res->status != VD_SNP_GENUINE) {
        for (size_t i = 0; i < res->checks.count; i++) {
            print_message("  %s %s: %s\n", vd_check_result_str(res->checks.items[i].result),
                          res->checks.items[i].name, res->checks.items[i].detail);
        }
        fail_msg("synthetic report is not genuine");
    }
    return res;
}

static vd_snp_result_t *synth_verify(const uint8_t report_data[64], uint32_t signer_info,
                                     const uint8_t author_digest[48])
{
    return synth_verify_ex(report_data, signer_info, author_digest, NULL);
}

static void digest(const EVP_MD *md, const void *a, size_t alen, const void *b, size_t blen,
                   uint8_t *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestInit_ex(ctx, md, NULL), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, a, alen), 1);
    assert_int_equal(EVP_DigestUpdate(ctx, b, blen), 1);
    assert_int_equal(EVP_DigestFinal_ex(ctx, out, NULL), 1);
    EVP_MD_CTX_free(ctx);
}

static const uint8_t nonce32[32] = {0xde, 0xad, 0xbe, 0xef, 1,  2,  3,  4,  5,  6,  7,
                                    8,    9,    10,   11,   12, 13, 14, 15, 16, 17, 18,
                                    19,   20,   21,   22,   23, 24, 25, 26, 27, 28};
static const char pubkey[] = "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AbC\"}";

static void test_evaluate_freshness_sha512(void **state)
{
    (void)state;
    uint8_t rd[64];
    digest(EVP_sha512(), nonce32, sizeof(nonce32), pubkey, strlen(pubkey), rd);
    vd_snp_result_t *res = synth_verify(rd, 0, NULL);
    const char *policy = "name: t\nsnp:\n  freshness: sha512\n";
    vd_policy_input_t in = {.nonce = nonce32,
                            .nonce_len = sizeof(nonce32),
                            .runtime_data = (const uint8_t *)pubkey,
                            .runtime_data_len = strlen(pubkey)};
    vd_appraisal_t *a = appraise_in(policy, res, &in);
    CHECK_PASS(a, "policy.freshness", "REPORT_DATA binds the nonce and runtime data (sha512)");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    /* Only the nonce: a different hash. */
    vd_policy_input_t nonce_only = {.nonce = nonce32, .nonce_len = sizeof(nonce32)};
    a = appraise_in(policy, res, &nonce_only);
    CHECK_FAIL(a, "policy.freshness", "!= expected", "(sha512 of the nonce)");
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    /* A wrong nonce. */
    uint8_t wrong[32];
    memcpy(wrong, nonce32, sizeof(wrong));
    wrong[31] ^= 1;
    in.nonce = wrong;
    a = appraise_in(policy, res, &in);
    CHECK_FAIL(a, "policy.freshness", "(sha512 of the nonce and runtime data)");
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, 96);
    free(a);
    free(res);
}

static void test_evaluate_freshness_sha256_prefix(void **state)
{
    (void)state;
    uint8_t rd[64];
    memset(rd, 0xAB, sizeof(rd)); /* bytes 32..63 are not compared */
    digest(EVP_sha256(), nonce32, sizeof(nonce32), "", 0, rd);
    vd_snp_result_t *res = synth_verify(rd, 0, NULL);
    const char *policy = "name: t\nsnp:\n  freshness: sha256-prefix\n";
    vd_policy_input_t in = {.nonce = nonce32, .nonce_len = sizeof(nonce32)};
    vd_appraisal_t *a = appraise_in(policy, res, &in);
    CHECK_PASS(a, "policy.freshness", "REPORT_DATA[0..31] binds the nonce (sha256-prefix)");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    /* sha512 of the same nonce is not what this report holds. */
    a = appraise_in(snp_policy("  freshness: sha512\n"), res, &in);
    CHECK_FAIL(a, "policy.freshness", "(sha512 of the nonce)");
    free(a);
    free(res);
    rd[0] ^= 0x80;
    res = synth_verify(rd, 0, NULL);
    a = appraise_in(policy, res, &in);
    CHECK_FAIL(a, "policy.freshness", "REPORT_DATA[0..31]", "(sha256-prefix of the nonce)");
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    free(res);
}

static void test_evaluate_freshness_sha384_jcs(void **state)
{
    (void)state;
    /* The nonce as Trustee sends it: standard base64. */
    unsigned char b64[64];
    EVP_EncodeBlock(b64, nonce32, sizeof(nonce32));
    /* What the guest produced (any key order, any white space) ... */
    char runtime[512];
    snprintf(runtime, sizeof(runtime),
             "{ \"tee-pubkey\": { \"x\": \"AbC\", \"kty\": \"EC\", \"crv\": \"P-384\", \"alg\": "
             "\"ES384\", \"n\": 65537 },\n  \"nonce\": \"%s\" }",
             (const char *)b64);
    /* ... and the canonical form it hashed: sorted keys, no white space. */
    char canon[512];
    snprintf(canon, sizeof(canon),
             "{\"nonce\":\"%s\",\"tee-pubkey\":{\"alg\":\"ES384\",\"crv\":\"P-384\",\"kty\":\"EC\","
             "\"n\":65537,\"x\":\"AbC\"}}",
             (const char *)b64);
    uint8_t rd[64] = {0};
    digest(EVP_sha384(), canon, strlen(canon), "", 0, rd);
    vd_snp_result_t *res = synth_verify(rd, 0, NULL);
    const char *policy = "name: t\nsnp:\n  freshness: sha384-jcs\n";
    vd_policy_input_t in = {.nonce = nonce32,
                            .nonce_len = sizeof(nonce32),
                            .runtime_data = (const uint8_t *)runtime,
                            .runtime_data_len = strlen(runtime)};
    vd_appraisal_t *a = appraise_in(policy, res, &in);
    CHECK_PASS(a, "policy.freshness", "REPORT_DATA equals SHA-384 of the canonical runtime data",
               "+ 16 zero bytes");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    /* Without a nonce only the hash is compared. */
    vd_policy_input_t no_nonce = in;
    no_nonce.nonce = NULL;
    no_nonce.nonce_len = 0;
    a = appraise_in(policy, res, &no_nonce);
    CHECK_PASS(a, "policy.freshness", "equals SHA-384");
    free(a);
    /* A different nonce than the JSON carries. */
    uint8_t wrong[32];
    memcpy(wrong, nonce32, sizeof(wrong));
    wrong[0] ^= 0xFF;
    vd_policy_input_t bad = in;
    bad.nonce = wrong;
    a = appraise_in(policy, res, &bad);
    CHECK_FAIL(a, "policy.freshness", "runtime data \"nonce\" is \"3q2+7wEC",
               "expected \"Ia2+7wEC");
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, 96);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    /* Runtime data without the nonce member, with a nonce expected. */
    static const char no_member[] = "{\"tee-pubkey\":{}}";
    bad = in;
    bad.runtime_data = (const uint8_t *)no_member;
    bad.runtime_data_len = strlen(no_member);
    a = appraise_in(policy, res, &bad);
    CHECK_FAIL(a, "policy.freshness", "runtime data \"nonce\" is absent");
    free(a);
    /* Other runtime data: a different hash. */
    bad.nonce = NULL;
    a = appraise_in(policy, res, &bad);
    CHECK_FAIL(a, "policy.freshness",
               "REPORT_DATA differs from SHA-384 of the canonical runtime "
               "data");
    free(a);
    /* Not JSON, not an object, a non-integer number. */
    static const char *const junk[] = {"{\"nonce\":", "[1,2]", "{\"a\":1.5}"};
    static const char *const why[] = {"runtime data is not a JSON object",
                                      "runtime data is not a JSON object: wrong type",
                                      "non-integer numbers"};
    for (size_t i = 0; i < 3; i++) {
        bad.runtime_data = (const uint8_t *)junk[i];
        bad.runtime_data_len = strlen(junk[i]);
        a = appraise_in(policy, res, &bad);
        CHECK_FAIL(a, "policy.freshness", why[i]);
        free(a);
    }
    free(res);
    /* The 16 bytes after the hash must be zero. */
    rd[63] = 1;
    res = synth_verify(rd, 0, NULL);
    a = appraise_in(policy, res, &in);
    CHECK_FAIL(a, "policy.freshness", "REPORT_DATA differs from SHA-384");
    free(a);
    free(res);
}

/* Author key: a synthetic report with SIGNER_INFO.AUTHOR_KEY_EN and an AUTHOR_KEY_DIGEST. */
static void test_evaluate_author_key_present(void **state)
{
    (void)state;
    uint8_t rd[64] = {0}, author[48];
    memset(author, 0x5A, sizeof(author));
    vd_snp_result_t *res = synth_verify(rd, VD_SNP_SIGNER_AUTHOR_KEY_EN, author);
    vd_appraisal_t *a = appraise(snp_policy("  require_author_key: true\n"), res);
    CHECK_PASS(a, "policy.author_key", "author key present");
    free(a);
    a = appraise(snp_policy("  author_key_digests: [{value: 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
                            "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a, label: "
                            "release}]\n"),
                 res);
    CHECK_PASS(a, "policy.author_key", "AUTHOR_KEY_DIGEST 5a5a5a5a", "matches \"release\"");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    char body[256] = "  author_key_digests: [";
    for (size_t i = 0; i < 47; i++) {
        strcat(body, "5a");
    }
    strcat(body, "5b]\n");
    a = appraise(snp_policy(body), res);
    CHECK_FAIL(a, "policy.author_key", "AUTHOR_KEY_DIGEST", "not in the allowed set");
    claim_is(a, VD_CLAIM_EXECUTABLES, 96);
    free(a);
    free(res);
}

/* ---- REPORT_ID, REPORT_ID_MA, REPORT_DATA, keys as PEM --------------------------------------- */

#define FF32 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    }
}

static void test_evaluate_report_id(void **state)
{
    (void)state;
    uint8_t rd[64] = {0}, rid[32], other[32];
    char hid[65], hother[65], body[512];
    memset(rid, 0x11, sizeof(rid));
    memset(other, 0x12, sizeof(other));
    hex_of(rid, 32, hid);
    hex_of(other, 32, hother);
    synth_fields_t f = {.report_id = rid};
    vd_snp_result_t *res = synth_verify_ex(rd, 0, NULL, &f);
    snprintf(body, sizeof(body), "  report_ids: [%s, {value: %s, label: guest-a}]\n", hother, hid);
    vd_appraisal_t *a = appraise(snp_policy(body), res);
    CHECK_PASS(a, "policy.report_id", "REPORT_ID 111111111111111111111111... matches \"guest-a\"");
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, 2);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    snprintf(body, sizeof(body), "  report_ids: [{value: %s, label: guest-b}]\n", hother);
    a = appraise(snp_policy(body), res);
    CHECK_FAIL(a, "policy.report_id",
               "REPORT_ID 1111111111111111111111111111111111111111111111111111111111111111",
               "not in the allowed set (1 value)", "closest label \"guest-b\"");
    free(a);
    free(res);
    /* The real Genoa report: REPORT_ID from the evidence, unlisted -> unrecognized (97). */
    a = appraise(snp_policy("  report_ids: [" FF32 "]\n"), genuine(V_GENOA_TSM));
    CHECK_FAIL(a, "policy.report_id", "not in the allowed set");
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, VD_AR_UNRECOGNIZED);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
}

static void test_evaluate_report_id_ma(void **state)
{
    (void)state;
    /* Every real report has no migration agent: REPORT_ID_MA all 0xFF. */
    vd_appraisal_t *a = appraise(snp_policy("  report_id_mas: [" FF32 "]\n"), genuine(V_GSG));
    CHECK_PASS(a, "policy.report_id_ma", "REPORT_ID_MA ffffffffffffffffffffffff... matches");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    char body[512], hma[65];
    uint8_t ma[32], rd[64] = {0};
    for (size_t i = 0; i < 32; i++) {
        ma[i] = (uint8_t)(0x40 + i);
    }
    hex_of(ma, 32, hma);
    snprintf(body, sizeof(body), "  report_id_mas: [{value: %s, label: ma-1}]\n", hma);
    a = appraise(snp_policy(body), genuine(V_TURIN));
    CHECK_FAIL(a, "policy.report_id_ma", "REPORT_ID_MA is all 0xFF: the guest has no migration",
               "(1 value)");
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, VD_AR_UNRECOGNIZED);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    /* A migrated guest bound to its agent: listed passes, another agent fails. */
    synth_fields_t f = {.report_id_ma = ma};
    vd_snp_result_t *res = synth_verify_ex(rd, 0, NULL, &f);
    a = appraise(snp_policy(body), res);
    CHECK_PASS(a, "policy.report_id_ma",
               "REPORT_ID_MA 404142434445464748494a4b... matches \"ma-1\"");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    a = appraise(snp_policy("  report_id_mas: [" FF32 "]\n"), res);
    CHECK_FAIL(a, "policy.report_id_ma", "REPORT_ID_MA 404142", "not in the allowed set");
    free(a);
    free(res);
}

static void test_evaluate_report_data(void **state)
{
    (void)state;
    char hex[129], body[512];
    hex_of((const uint8_t *)genoa_report_data, 64, hex);
    snprintf(body, sizeof(body), "  report_data: %s\n", hex);
    vd_appraisal_t *a = appraise(snp_policy(body), genuine(V_GENOA_TSM));
    CHECK_PASS(a, "policy.report_data", "REPORT_DATA 4d4944424e48323869696f69736a5079...",
               "equals the policy's value");
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, 2);
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    /* gosevguest: REPORT_DATA 01 02 03 04 05 then zeros; the Genoa value does not match. */
    a = appraise(snp_policy(body), genuine(V_GSG));
    CHECK_FAIL(a, "policy.report_data",
               "REPORT_DATA 0102030405000000000000000000000000000000000000000000000000000000"
               "0000000000000000000000000000000000000000000000000000000000000000 differs from "
               "the policy's 4d4944424e48323869696f69736a5079...");
    claim_is(a, VD_CLAIM_INSTANCE_IDENTITY, VD_AR_CONTRAINDICATED);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    /* A nonce given with a fixed REPORT_DATA and freshness: none: the nonce cannot be bound. */
    static const uint8_t n5[5] = {1, 2, 3, 4, 5};
    vd_policy_input_t in = {.nonce = n5, .nonce_len = 5};
    a = appraise_in(snp_policy("  report_data: 01020304050000000000000000000000000000000000000000"
                               "000000000000000000000000000000000000000000000000000000000000000000"
                               "000000000000\n  freshness: none\n"),
                    genuine(V_GSG), &in);
    CHECK_PASS(a, "policy.report_data", "equals the policy's value");
    CHECK_FAIL(a, "policy.freshness", "freshness: none");
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
}

/* PEM text of a public key or certificate, for policies. Caller frees. */
static char *pem_text(EVP_PKEY *k, X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_non_null(b);
    assert_int_equal(k != NULL ? PEM_write_bio_PUBKEY(b, k) : PEM_write_bio_X509(b, x), 1);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *out = calloc(1, (size_t)n + 1);
    assert_non_null(out);
    memcpy(out, data, (size_t)n);
    BIO_free(b);
    return out;
}

/* "  KEY:\n    - label: L\n      value: |\n        <pem>" */
static void keys_policy(char *out, size_t size, const char *key, const char *label, const char *pem)
{
    snprintf(out, size, "name: t\nsnp:\n  %s:\n    - label: %s\n      value: |\n", key, label);
    for (const char *line = pem; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        size_t used = strlen(out);
        snprintf(out + used, size - used, "        %.*s\n", (int)len, line);
        line += len + (nl != NULL);
    }
}

static void test_evaluate_keys_as_pem(void **state)
{
    (void)state;
    synth_init();
    EVP_PKEY *idk = vd_testpki_new_ec_key(), *other = vd_testpki_new_ec_key();
    assert_non_null(idk);
    assert_non_null(other);
    char *pem_id = pem_text(idk, NULL), *pem_other = pem_text(other, NULL);
    /* The author key given as a certificate: the test VCEK's (an EC P-384 key). */
    char *pem_cert = pem_text(NULL, fx->vcek);
    uint8_t id_digest[48], author_digest[48], rd[64] = {0};
    vd_error_t err = {0};
    assert_int_equal(vd_policy_sev_key_digest(pem_id, strlen(pem_id), id_digest, &err), VD_OK);
    assert_int_equal(vd_policy_sev_key_digest(pem_cert, strlen(pem_cert), author_digest, &err),
                     VD_OK);
    synth_fields_t f = {.id_key_digest = id_digest};
    vd_snp_result_t *res = synth_verify_ex(rd, VD_SNP_SIGNER_AUTHOR_KEY_EN, author_digest, &f);
    static char y[8192];
    keys_policy(y, sizeof(y), "id_keys", "image signer", pem_id);
    vd_appraisal_t *a = appraise(y, res);
    CHECK_PASS(a, "policy.id_key", "ID_KEY_DIGEST", "matches \"image signer\"");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    keys_policy(y, sizeof(y), "id_keys", "someone else", pem_other);
    a = appraise(y, res);
    CHECK_FAIL(a, "policy.id_key", "not in the allowed set (1 value)", "\"someone else\"");
    claim_is(a, VD_CLAIM_EXECUTABLES, 96);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
    keys_policy(y, sizeof(y), "author_keys", "author cert", pem_cert);
    a = appraise(y, res);
    CHECK_PASS(a, "policy.author_key", "AUTHOR_KEY_DIGEST", "matches \"author cert\"");
    status_is(a, VD_TIER_AFFIRMING);
    free(a);
    keys_policy(y, sizeof(y), "author_keys", "not the author", pem_id);
    a = appraise(y, res);
    CHECK_FAIL(a, "policy.author_key", "not in the allowed set");
    free(a);
    free(res);
    /* A real report without an ID block: listed PEM keys fail. */
    keys_policy(y, sizeof(y), "id_keys", "image signer", pem_id);
    a = appraise(y, genuine(V_GSG));
    CHECK_FAIL(a, "policy.id_key", "trusted ID keys are listed, but the guest launched without");
    free(a);
    free(pem_id);
    free(pem_other);
    free(pem_cert);
    EVP_PKEY_free(idk);
    EVP_PKEY_free(other);
}

/* ---- evidence that is not genuine ----------------------------------------------------------- */

static void assert_all_claims(const vd_appraisal_t *a, int value)
{
    for (int i = 0; i < VD_CLAIM__COUNT; i++) {
        if (a->tvec.claims[i] != value) {
            dump(a);
            fail_msg("claim %s is %d, expected %d", vd_claim_name((vd_claim_t)i), a->tvec.claims[i],
                     value);
        }
    }
}

static const char *const lenient =
    "name: lenient\nsnp:\n  guest_policy: {debug: allowed}\n  vmpl: [0, 1, 2, 3]\n";

static void test_evaluate_not_genuine_is_crypto_failed(void **state)
{
    (void)state;
    static const struct {
        int vec;
        const char *rel;
    } cases[] = {
        {V_GSG, "negative-derived/milan_v2__policy_debug_bit.bin"},
        {V_GSG, "negative-derived/milan_v2__reportdata_bitflip.bin"},
        {V_GENOA_TSM, "negative-derived/genoa_v3__sig_r_bitflip.bin"},
        {V_TURIN, "negative-derived/turin_v5__reserved_0x330.bin"},
        {V_TURIN, "negative-derived/turin_v5__chip_id_bitflip.bin"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vd_snp_result_t *res = verify_vec(&vecs[cases[i].vec], cases[i].rel, 1);
        assert_int_equal(res->status, VD_SNP_REJECTED);
        assert_true(res->report_parsed);
        vd_appraisal_t *a = appraise(lenient, res);
        assert_int_equal(a->checks.count, 0); /* no policy rule runs */
        assert_all_claims(a, VD_AR_CRYPTO_FAILED);
        assert_int_equal(a->status, VD_TIER_CONTRAINDICATED);
        assert_string_equal(a->policy_name, "lenient");
        free(a);
        /* Without a policy too. */
        a = appraise(NULL, res);
        assert_all_claims(a, VD_AR_CRYPTO_FAILED);
        assert_int_equal(a->status, VD_TIER_CONTRAINDICATED);
        free(a);
        free(res);
    }
}

static void test_evaluate_truncated_is_unexpected(void **state)
{
    (void)state;
    vd_snp_result_t *res =
        verify_vec(&vecs[V_TURIN], "negative-derived/turin_v5__truncated_1183.bin", 1);
    assert_int_equal(res->status, VD_SNP_REJECTED);
    assert_false(res->report_parsed);
    vd_appraisal_t *a = appraise(lenient, res);
    assert_int_equal(a->checks.count, 0);
    assert_all_claims(a, VD_AR_UNEXPECTED);
    /* 1 is in no tier by itself, but evidence that is not genuine is never better than this. */
    assert_int_equal(a->status, VD_TIER_CONTRAINDICATED);
    free(a);
    free(res);
}

static void test_evaluate_collateral_missing_is_none(void **state)
{
    (void)state;
    vd_snp_result_t *res = verify_vec(&vecs[V_TURIN], NULL, 0);
    assert_int_equal(res->status, VD_SNP_COLLATERAL_MISSING);
    vd_appraisal_t *a = appraise(snp_policy("  guest_policy: {debug: required}\n"), res);
    assert_int_equal(a->checks.count, 0);
    assert_all_claims(a, 0);
    assert_int_equal(a->status, VD_TIER_NONE);
    assert_string_equal(a->policy_name, "t");
    free(a);
    free(res);
}

/* ---- the status is the worst tier ----------------------------------------------------------- */

static void test_evaluate_status_is_worst_tier(void **state)
{
    (void)state;
    /* go-sev-guest Milan: a warning (alias check, hardware 32) and a contraindication (debug,
     * runtime-opaque 96) and a pass (measurement, executables 3). */
    const vd_snp_result_t *g = genuine(V_GSG);
    char hex[97], body[512];
    for (size_t i = 0; i < 48; i++) {
        snprintf(hex + 2 * i, 3, "%02x", g->report.measurement[i]);
    }
    snprintf(body, sizeof(body),
             "  platform_info: {alias_check_complete: required}\n"
             "  guest_policy: {debug: forbidden}\n  measurements: [%s]\n",
             hex);
    vd_appraisal_t *a = appraise(snp_policy(body), g);
    claim_is(a, VD_CLAIM_HARDWARE, 32);
    claim_is(a, VD_CLAIM_RUNTIME_OPAQUE, 96);
    claim_is(a, VD_CLAIM_EXECUTABLES, 3);
    status_is(a, VD_TIER_CONTRAINDICATED);
    assert_int_equal(vd_checks_count(&a->checks, VD_CHECK_FAIL), 2);
    assert_int_equal(vd_checks_count(&a->checks, VD_CHECK_PASS), 1);
    free(a);
    /* Warnings only. */
    snprintf(body, sizeof(body),
             "  platform_info: {alias_check_complete: required}\n"
             "  guest_policy: {debug: allowed}\n  measurements: [%s]\n",
             hex);
    a = appraise(snp_policy(body), g);
    status_is(a, VD_TIER_WARNING);
    free(a);
}

static void test_evaluate_failure_not_overwritten(void **state)
{
    (void)state;
    /* VLEK: min_tcb fails (hardware 96), then provisional firmware fails (32) and the
     * signing key passes (2): the claim stays at the worst value. */
    vd_appraisal_t *a = appraise(snp_policy("  signing_keys: [VLEK]\n  min_tcb: {snp: 25}\n"
                                            "  provisional_firmware: forbidden\n"
                                            "  platform_info: {alias_check_complete: required}\n"),
                                 genuine(V_VLEK));
    CHECK_PASS(a, "policy.signing_key", "VLEK");
    CHECK_FAIL(a, "policy.min_tcb", "snp 24 < minimum 25");
    CHECK_FAIL(a, "policy.provisional_firmware", "provisional firmware");
    CHECK_PASS(a, "policy.platform_info.alias_check_complete", "is set");
    claim_is(a, VD_CLAIM_HARDWARE, 96);
    status_is(a, VD_TIER_CONTRAINDICATED);
    free(a);
}

static void test_evaluate_checks_follow_policy_order(void **state)
{
    (void)state;
    vd_appraisal_t *a = appraise(snp_policy("  freshness: none\n  vmpl: 0\n  products: [Turin]\n"
                                            "  min_tcb: {snp: 1}\n"),
                                 genuine(V_TURIN));
    assert_int_equal(a->checks.count, 3);
    assert_string_equal(a->checks.items[0].name, "policy.product");
    assert_string_equal(a->checks.items[1].name, "policy.min_tcb");
    assert_string_equal(a->checks.items[2].name, "policy.vmpl");
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evaluate_no_policy_affirms_genuine),
        cmocka_unit_test(test_evaluate_empty_policy_affirms_and_names_itself),
        cmocka_unit_test(test_evaluate_debug_forbidden_contraindicates_gsg),
        cmocka_unit_test(test_evaluate_debug_allowed_affirms_gsg),
        cmocka_unit_test(test_evaluate_debug_required_fails_without_debug),
        cmocka_unit_test(test_evaluate_guest_flags_configuration),
        cmocka_unit_test(test_evaluate_min_abi),
        cmocka_unit_test(test_evaluate_min_tcb_at_reported_passes),
        cmocka_unit_test(test_evaluate_min_tcb_one_above_fails_per_component),
        cmocka_unit_test(test_evaluate_min_tcb_fmc_before_turin),
        cmocka_unit_test(test_evaluate_min_launch_tcb),
        cmocka_unit_test(test_evaluate_provisional_firmware),
        cmocka_unit_test(test_evaluate_min_api_version_and_build),
        cmocka_unit_test(test_evaluate_products),
        cmocka_unit_test(test_evaluate_signing_keys),
        cmocka_unit_test(test_evaluate_vmpl),
        cmocka_unit_test(test_evaluate_on_failure_changes_claim_and_value),
        cmocka_unit_test(test_evaluate_turin_iommu_write_safe),
        cmocka_unit_test(test_evaluate_platform_flags),
        cmocka_unit_test(test_evaluate_mitigation_vectors),
        cmocka_unit_test(test_evaluate_measurement_match_with_label),
        cmocka_unit_test(test_evaluate_measurement_mismatch_names_closest_label),
        cmocka_unit_test(test_evaluate_measurement_on_failure_warning),
        cmocka_unit_test(test_evaluate_host_data),
        cmocka_unit_test(test_evaluate_id_block_family_image_svn),
        cmocka_unit_test(test_evaluate_id_key),
        cmocka_unit_test(test_evaluate_author_key_absent),
        cmocka_unit_test(test_evaluate_chip_ids),
        cmocka_unit_test(test_evaluate_freshness_raw_veraison),
        cmocka_unit_test(test_evaluate_freshness_raw_zero_padded),
        cmocka_unit_test(test_evaluate_freshness_nonce_without_mode_is_raw),
        cmocka_unit_test(test_evaluate_freshness_missing_nonce_fails),
        cmocka_unit_test(test_evaluate_freshness_without_policy),
        cmocka_unit_test(test_evaluate_freshness_sha512),
        cmocka_unit_test(test_evaluate_freshness_sha256_prefix),
        cmocka_unit_test(test_evaluate_freshness_sha384_jcs),
        cmocka_unit_test(test_evaluate_author_key_present),
        cmocka_unit_test(test_evaluate_report_id),
        cmocka_unit_test(test_evaluate_report_id_ma),
        cmocka_unit_test(test_evaluate_report_data),
        cmocka_unit_test(test_evaluate_keys_as_pem),
        cmocka_unit_test(test_evaluate_not_genuine_is_crypto_failed),
        cmocka_unit_test(test_evaluate_truncated_is_unexpected),
        cmocka_unit_test(test_evaluate_collateral_missing_is_none),
        cmocka_unit_test(test_evaluate_status_is_worst_tier),
        cmocka_unit_test(test_evaluate_failure_not_overwritten),
        cmocka_unit_test(test_evaluate_checks_follow_policy_order),
    };
    return cmocka_run_group_tests_name("policy_eval", tests, group_setup, group_teardown);
}
