/*
 * Policy rules for Azure vTPM evidence (issue #13): tpm.pcrs and azure.* compile with
 * file:line:column messages, and evaluate on synthetic vTPM claims: every PCR rule, the three
 * vm-configuration rules under required / forbidden / allowed with the flag true, false and
 * absent, VM ids (case-insensitive), claims that are missing (no quote, runtime data that did
 * not parse, not vTPM evidence) always failing, the AR4SI mapping, on_failure overrides of the
 * per-PCR checks, and the freshness of vTPM evidence.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/policy.h"
#include "verdict/vtpm.h"

#define H32A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H32B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static vd_policy_t *compile_ok(const char *yaml)
{
    vd_policy_t *p = NULL;
    vd_error_t err = {0};
    if (vd_policy_compile(yaml, strlen(yaml), "p.yaml", &p, &err) != VD_OK) {
        fail_msg("compile: %s\n%s", err.msg, yaml);
    }
    return p;
}

static void expect_err(const char *yaml, const char *needle)
{
    vd_policy_t *p = NULL;
    vd_error_t err = {0};
    if (vd_policy_compile(yaml, strlen(yaml), "p.yaml", &p, &err) != VD_E_MALFORMED) {
        vd_policy_free(&p);
        fail_msg("compiled, expected an error with \"%s\":\n%s", needle, yaml);
    }
    assert_null(p);
    if (strstr(err.msg, needle) == NULL) {
        fail_msg("message lacks \"%s\": %s", needle, err.msg);
    }
}

static void test_compile_errors(void **state)
{
    (void)state;
    expect_err("name: a\ntpm:\n  pcrs:\n    24: [" H32A "]\n", "expected an integer 0..23");
    expect_err("name: a\ntpm:\n  pcrs:\n    -1: [" H32A "]\n", "expected an integer 0..23");
    expect_err("name: a\ntpm:\n  pcrs: {}\n", "tpm.pcrs: empty");
    expect_err("name: a\ntpm:\n  pcrs: [1]\n", "tpm.pcrs: expected a mapping");
    expect_err("name: a\ntpm:\n  pcrs:\n    4: []\n", "tpm.pcrs.4: empty list");
    expect_err("name: a\ntpm:\n  pcrs:\n    4: [aabb]\n", "tpm.pcrs.4[0]: expected 64 hex digits");
    expect_err("name: a\ntpm:\n  pcrs:\n    4: [" H32A ", " H32A "]\n", "duplicate of item 0");
    expect_err("name: a\ntpm:\n  pcrs:\n    4: [" H32A "]\n    04: [" H32B "]\n",
               "PCR 4 appears twice");
    expect_err("name: a\ntpm:\n  pcr: {}\n", "p.yaml:3:3: tpm: unknown key 'pcr'");
    expect_err("name: a\nazure:\n  secure_boot: true\n",
               "azure.secure_boot: expected required, forbidden or allowed");
    expect_err("name: a\nazure:\n  console: off\n", "azure.console: expected required");
    expect_err("name: a\nazure:\n  secureboot: required\n", "unknown key 'secureboot'");
    expect_err("name: a\nazure:\n  vm_ids: []\n", "azure.vm_ids: empty list");
    expect_err("name: a\nazure:\n  vm_ids: [abc, ABC]\n", "azure.vm_ids[1]: duplicate of item 0");
    expect_err("name: a\nazure:\n  vm_ids: [{label: x}]\n", "missing 'value'");
    expect_err("name: a\nazure:\n  vm_ids: [[1]]\n", "expected a string");
    expect_err("name: a\nappraisal:\n  on_failure:\n    policy.tpm.pcr24: {executables: 33}\n",
               "not a policy check name");
    expect_err("name: a\nappraisal:\n  on_failure:\n    policy.tpm.pcr07: {executables: 33}\n",
               "not a policy check name");
    vd_policy_t *ok = compile_ok(
        "name: a\ntpm:\n  pcrs:\n    0: [" H32A "]\n    23: [{value: " H32B ", label: app}]\n"
        "azure:\n  secure_boot: required\n  tpm_enabled: allowed\n  console: forbidden\n"
        "  vm_ids: [x, {value: y, label: the y VM}]\n"
        "appraisal:\n  on_failure:\n    policy.tpm.pcr23: {executables: 33}\n"
        "    policy.azure.vm_id: {instance-identity: 96}\n");
    vd_policy_free(&ok);
}

/* A genuine SNP result (the policy only reads the status and the report for these rules). */
static vd_snp_result_t *genuine(void)
{
    vd_snp_result_t *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->status = VD_SNP_GENUINE;
    s->report_parsed = 1;
    return s;
}

static vd_vtpm_result_t *claims(void)
{
    vd_vtpm_result_t *v = calloc(1, sizeof(*v));
    assert_non_null(v);
    v->form = VD_VTPM_FORM_V2;
    v->hcl_ok = v->runtime_ok = v->quote_ok = 1;
    v->pcr_mask = 0xFFFFFFu;
    for (int i = 0; i < VD_VTPM_PCRS; i++) {
        memset(v->pcrs[i], 0xAA, 32);
    }
    v->runtime.secure_boot = 1;
    v->runtime.tpm_enabled = 1;
    v->runtime.console_enabled = 0;
    v->runtime.tpm_persisted = -1;
    snprintf(v->runtime.vm_unique_id, sizeof(v->runtime.vm_unique_id), "%s",
             "7DF7B373-B947-4AAA-96E5-C358F2A03D20");
    return v;
}

static vd_check_result_t result_of(const vd_appraisal_t *a, const char *name)
{
    const vd_check_t *c = vd_checks_find(&a->checks, name);
    if (c == NULL) {
        fail_msg("no check %s", name);
    }
    return c->result;
}

static void evaluate(const char *yaml, const vd_vtpm_result_t *v, const uint8_t *nonce,
                     size_t nonce_len, vd_appraisal_t *out)
{
    vd_policy_t *p = compile_ok(yaml);
    vd_snp_result_t *s = genuine();
    vd_policy_input_t in = {.nonce = nonce, .nonce_len = nonce_len, .vtpm = v};
    vd_policy_evaluate(p, s, &in, out);
    free(s);
    vd_policy_free(&p);
}

static void test_pcrs(void **state)
{
    (void)state;
    vd_vtpm_result_t *v = claims();
    vd_appraisal_t a;
    const char *y = "name: a\ntpm:\n  pcrs:\n    4: [" H32B ", {value: " H32A ", label: shim}]\n"
                    "    7: [" H32A "]\n";
    evaluate(y, v, NULL, 0, &a);
    assert_int_equal(a.status, VD_TIER_AFFIRMING);
    assert_int_equal(result_of(&a, "policy.tpm.pcr4"), VD_CHECK_PASS);
    assert_non_null(strstr(vd_checks_find(&a.checks, "policy.tpm.pcr4")->detail, "\"shim\""));
    assert_int_equal(a.tvec.claims[VD_CLAIM_EXECUTABLES], VD_AR_APPROVED_BOOT);

    v->pcrs[7][31] ^= 1; /* one bit of PCR 7 */
    evaluate(y, v, NULL, 0, &a);
    assert_int_equal(a.status, VD_TIER_CONTRAINDICATED);
    assert_int_equal(result_of(&a, "policy.tpm.pcr4"), VD_CHECK_PASS);
    assert_int_equal(result_of(&a, "policy.tpm.pcr7"), VD_CHECK_FAIL);
    assert_int_equal(a.tvec.claims[VD_CLAIM_EXECUTABLES], VD_AR_CONTRAINDICATED);

    /* on_failure remaps one PCR's check to a warning. */
    evaluate("name: a\ntpm:\n  pcrs:\n    7: [" H32A "]\n"
             "appraisal:\n  on_failure:\n    policy.tpm.pcr7: {executables: 33}\n",
             v, NULL, 0, &a);
    assert_int_equal(a.status, VD_TIER_WARNING);
    assert_int_equal(a.tvec.claims[VD_CLAIM_EXECUTABLES], 33);
    v->pcrs[7][31] ^= 1;

    /* A PCR the quote did not select, a raw HCL report (no quote), not vTPM evidence. */
    v->pcr_mask = 0xFFFF7Fu;
    evaluate(y, v, NULL, 0, &a);
    assert_int_equal(result_of(&a, "policy.tpm.pcr7"), VD_CHECK_FAIL);
    v->pcr_mask = 0;
    v->quote_ok = 0;
    v->form = VD_VTPM_FORM_HCL;
    evaluate(y, v, NULL, 0, &a);
    assert_int_equal(result_of(&a, "policy.tpm.pcr4"), VD_CHECK_FAIL);
    assert_int_equal(a.status, VD_TIER_CONTRAINDICATED);
    evaluate(y, NULL, NULL, 0, &a);
    assert_int_equal(result_of(&a, "policy.tpm.pcr4"), VD_CHECK_FAIL);
    assert_int_equal(result_of(&a, "policy.tpm.pcr7"), VD_CHECK_FAIL);
    assert_int_equal(a.status, VD_TIER_CONTRAINDICATED);
    free(v);
}

static void test_vm_flags(void **state)
{
    (void)state;
    static const char *const rules[] = {"required", "forbidden", "allowed"};
    static const int values[] = {1, 0, -1};
    vd_vtpm_result_t *v = claims();
    for (size_t r = 0; r < 3; r++) {
        for (size_t k = 0; k < 3; k++) {
            char y[256];
            vd_appraisal_t a;
            snprintf(y, sizeof(y),
                     "name: a\nazure:\n  secure_boot: %s\n  tpm_enabled: %s\n  console: %s\n",
                     rules[r], rules[r], rules[r]);
            v->runtime.secure_boot = v->runtime.tpm_enabled = v->runtime.console_enabled =
                values[k];
            evaluate(y, v, NULL, 0, &a);
            /* allowed passes anything; required needs true; forbidden needs false; absent
             * passes only `allowed`. */
            int pass = r == 2 || (r == 0 && values[k] == 1) || (r == 1 && values[k] == 0);
            vd_check_result_t want = pass ? VD_CHECK_PASS : VD_CHECK_FAIL;
            assert_int_equal(result_of(&a, "policy.azure.secure_boot"), want);
            assert_int_equal(result_of(&a, "policy.azure.tpm_enabled"), want);
            assert_int_equal(result_of(&a, "policy.azure.console"), want);
            assert_int_equal(a.status, pass ? VD_TIER_AFFIRMING : VD_TIER_CONTRAINDICATED);
            assert_int_equal(a.tvec.claims[VD_CLAIM_CONFIGURATION],
                             pass ? VD_AR_AFFIRMING : VD_AR_CONTRAINDICATED);
        }
    }
    /* Claims that cannot be read fail even `allowed`. */
    v->runtime_ok = 0;
    vd_appraisal_t a;
    evaluate("name: a\nazure:\n  secure_boot: allowed\n", v, NULL, 0, &a);
    assert_int_equal(result_of(&a, "policy.azure.secure_boot"), VD_CHECK_FAIL);
    evaluate("name: a\nazure:\n  console: allowed\n", NULL, NULL, 0, &a);
    assert_int_equal(result_of(&a, "policy.azure.console"), VD_CHECK_FAIL);
    free(v);
}

static void test_vm_ids(void **state)
{
    (void)state;
    vd_vtpm_result_t *v = claims();
    vd_appraisal_t a;
    const char *y = "name: a\nazure:\n  vm_ids:\n    - {value: 7df7b373-b947-4aaa-96e5-"
                    "c358f2a03d20, label: web}\n    - other\n";
    evaluate(y, v, NULL, 0, &a);
    assert_int_equal(result_of(&a, "policy.azure.vm_id"), VD_CHECK_PASS);
    assert_int_equal(a.status, VD_TIER_AFFIRMING);
    v->runtime.vm_unique_id[0] = '8';
    evaluate(y, v, NULL, 0, &a);
    assert_int_equal(result_of(&a, "policy.azure.vm_id"), VD_CHECK_FAIL);
    assert_int_equal(a.tvec.claims[VD_CLAIM_INSTANCE_IDENTITY], VD_AR_UNRECOGNIZED);
    v->runtime.vm_unique_id[0] = '\0';
    evaluate(y, v, NULL, 0, &a);
    assert_int_equal(result_of(&a, "policy.azure.vm_id"), VD_CHECK_FAIL);
    evaluate(y, NULL, NULL, 0, &a);
    assert_int_equal(result_of(&a, "policy.azure.vm_id"), VD_CHECK_FAIL);
    free(v);
}

static void test_freshness(void **state)
{
    (void)state;
    vd_vtpm_result_t *v = claims();
    vd_appraisal_t a;
    static const uint8_t nonce[9] = "challenge";
    /* No policy, no nonce: nothing to check. With a nonce the quote binds: pass. */
    vd_snp_result_t *s = genuine();
    vd_policy_input_t in = {.vtpm = v};
    vd_policy_evaluate(NULL, s, &in, &a);
    assert_int_equal(a.checks.count, 0);
    assert_int_equal(a.status, VD_TIER_AFFIRMING);
    v->nonce_checked = 1;
    in.nonce = nonce;
    in.nonce_len = sizeof(nonce);
    vd_policy_evaluate(NULL, s, &in, &a);
    assert_int_equal(result_of(&a, "policy.freshness"), VD_CHECK_PASS);
    /* REPORT_DATA is not compared: it is all zero here and would never bind "challenge". */
    assert_int_equal(a.status, VD_TIER_AFFIRMING);
    v->nonce_checked = 0; /* tpm.nonce did not pass (e.g. a raw HCL report) */
    vd_policy_evaluate(NULL, s, &in, &a);
    assert_int_equal(result_of(&a, "policy.freshness"), VD_CHECK_FAIL);
    free(s);
    /* A policy asking for freshness, with no nonce: not affirming. */
    evaluate("name: a\nsnp:\n  freshness: raw\n", v, NULL, 0, &a);
    assert_int_equal(result_of(&a, "policy.freshness"), VD_CHECK_FAIL);
    assert_int_equal(a.status, VD_TIER_CONTRAINDICATED);
    v->nonce_checked = 1;
    evaluate("name: a\nsnp:\n  freshness: sha512\n", v, nonce, sizeof(nonce), &a);
    assert_int_equal(result_of(&a, "policy.freshness"), VD_CHECK_PASS);
    /* Runtime data cannot be bound by vTPM evidence. */
    s = genuine();
    in.runtime_data = (const uint8_t *)"{}";
    in.runtime_data_len = 2;
    vd_policy_evaluate(NULL, s, &in, &a);
    assert_int_equal(result_of(&a, "policy.freshness"), VD_CHECK_FAIL);
    free(s);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_errors), cmocka_unit_test(test_pcrs),
        cmocka_unit_test(test_vm_flags),       cmocka_unit_test(test_vm_ids),
        cmocka_unit_test(test_freshness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
