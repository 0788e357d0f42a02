/*
 * vd_appraise on Azure vTPM evidence (issue #13): every azure-vtpm vector through the one
 * pipeline with and without its nonce, as whole evidence and as an already-split report (the
 * API's path), near-miss nonces, the result and its JSON, tpm.* / azure.* policies (values from
 * a vector affirm it, a changed PCR contraindicates, freshness without a nonce is not
 * affirming, vTPM rules on bare SNP evidence fail), and evidence that does not decode.
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

#include "verdict/appraise.h"
#include "verdict/bytes.h"
#include "vectors.h"

#define AT "2026-06-01T00:00:00Z"

typedef struct vec {
    const char *file, *chain, *nonce_hex, *form, *pcr0_prefix;
} vec_t;

/* azure-vtpm/README.md: the nonce each file binds, its form, PCR 0. */
static const vec_t vecs[] = {
    {"azure-vtpm/evidence-v0.json", "amd-roots-trustee/milan_ask_ark_asvk.pem",
     "6368616c6c656e6765", "v0", "e15c4479"},
    {"azure-vtpm/evidence-v1.json", "amd-roots-trustee/milan_ask_ark_asvk.pem",
     "6368616c6c656e6765", "v1", "e15c4479"},
    {"azure-vtpm/evidence-v2.json", "amd-roots-trustee/milan_ask_ark_asvk.pem",
     "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5"
     "f819ef",
     "v2", "84275b2f"},
    {"azure-vtpm/evidence-genoa.json", "amd-roots-trustee/genoa_ask_ark_asvk.pem",
     "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea3"
     "5d950f",
     "v0", "afd689d0"},
};
#define NVECS (sizeof(vecs) / sizeof(vecs[0]))

typedef struct loaded {
    uint8_t *ev;
    size_t len;
    vd_certset_t *certs;
    uint8_t nonce[64];
    size_t nonce_len;
} loaded_t;

static void load(const vec_t *v, loaded_t *l)
{
    vd_error_t err = {0};
    l->ev = vd_test_read_vector(v->file, &l->len);
    assert_int_equal(vd_certset_new(&l->certs, &err), VD_OK);
    vd_test_add_certs(l->certs, v->chain);
    assert_int_equal(vd_hex_decode(v->nonce_hex, strlen(v->nonce_hex), l->nonce, sizeof(l->nonce),
                                   &l->nonce_len),
                     0);
}

static void unload(loaded_t *l)
{
    free(l->ev);
    vd_certset_free(&l->certs);
}

static vd_appraise_request_t request(const loaded_t *l, const uint8_t *nonce, size_t nonce_len)
{
    vd_appraise_request_t req;
    memset(&req, 0, sizeof(req));
    req.evidence = l->ev;
    req.evidence_len = l->len;
    req.certs = l->certs;
    req.certs_only = 1;
    req.nonce = nonce;
    req.nonce_len = nonce_len;
    req.at = vd_test_time(AT);
    return req;
}

static vd_appraise_result_t *run(const vd_appraise_request_t *req)
{
    vd_appraiser_config_t cfg = {0};
    vd_appraiser_t *a = NULL;
    vd_error_t err = {0};
    vd_appraise_result_t *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    assert_int_equal(vd_appraiser_new(&cfg, &a, &err), VD_OK);
    if (vd_appraise(a, req, r, &err) != VD_OK) {
        fail_msg("vd_appraise: %s", err.msg);
    }
    vd_appraiser_free(&a);
    return r;
}

static vd_check_result_t check_of(const vd_checks_t *c, const char *name)
{
    const vd_check_t *k = vd_checks_find(c, name);
    if (k == NULL) {
        fail_msg("no check %s", name);
    }
    return k->result;
}

static void assert_genuine_vtpm(const vd_appraise_result_t *r, const vec_t *v, int with_nonce)
{
    char pcr0[9];
    assert_int_equal(r->outcome, VD_OUTCOME_AFFIRMING);
    assert_int_equal(r->snp.status, VD_SNP_GENUINE);
    assert_true(r->has_vtpm);
    assert_string_equal(vd_vtpm_form_str(r->vtpm.form), v->form);
    assert_int_equal(r->vtpm.pcr_mask, 0xFFFFFFu);
    vd_hex_encode(r->vtpm.pcrs[0], 4, pcr0, sizeof(pcr0));
    assert_string_equal(pcr0, v->pcr0_prefix);
    assert_int_equal(r->vtpm.runtime.secure_boot, 1);
    assert_int_equal(r->vtpm.nonce_checked, with_nonce);
    assert_int_equal(check_of(&r->snp.checks, "tpm.nonce"),
                     with_nonce ? VD_CHECK_PASS : VD_CHECK_SKIP);
    assert_int_equal(check_of(&r->snp.checks, "hcl.report_data"), VD_CHECK_PASS);
    assert_int_equal(check_of(&r->snp.checks, "tpm.signature"), VD_CHECK_PASS);
    assert_int_equal(check_of(&r->snp.checks, "report.signature"), VD_CHECK_PASS);
    /* The bare-SNP REPORT_DATA binding is never applied to vTPM evidence. */
    const vd_check_t *f = vd_checks_find(&r->appraisal.checks, "policy.freshness");
    if (with_nonce) {
        assert_non_null(f);
        assert_int_equal(f->result, VD_CHECK_PASS);
        assert_non_null(strstr(f->detail, "extraData"));
    } else {
        assert_null(f);
    }
    /* The borrowed pointers into the (freed) evidence are cleared. */
    assert_null(r->vtpm.hcl.snp_report);
    assert_null(r->vtpm.hcl.runtime_data);
}

static void test_vectors_with_and_without_nonce(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVECS; i++) {
        loaded_t l;
        load(&vecs[i], &l);
        for (int with = 0; with < 2; with++) {
            vd_appraise_request_t req = request(&l, with ? l.nonce : NULL, with ? l.nonce_len : 0);
            vd_appraise_result_t *r = run(&req);
            assert_genuine_vtpm(r, &vecs[i], with);
            json_t *j = vd_appraise_result_json(r, req.at);
            json_t *vt = json_object_get(j, "vtpm");
            assert_non_null(vt);
            assert_int_equal(json_object_size(json_object_get(vt, "pcrs")), 24);
            assert_true(json_is_true(json_object_get(vt, "secure_boot")));
            assert_true(json_is_string(json_object_get(vt, "vm_id")));
            assert_string_equal(json_string_value(json_object_get(j, "outcome")), "affirming");
            json_decref(j);
            free(r);
        }
        unload(&l);
    }
}

/* The API hands vd_appraise the evidence as `report` (already split): the same result. */
static void test_vectors_as_split_report(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVECS; i++) {
        loaded_t l;
        load(&vecs[i], &l);
        vd_appraise_request_t req = request(&l, l.nonce, l.nonce_len);
        req.report = req.evidence;
        req.report_len = req.evidence_len;
        req.evidence = NULL;
        req.evidence_len = 0;
        vd_appraise_result_t *r = run(&req);
        assert_genuine_vtpm(r, &vecs[i], 1);
        free(r);
        unload(&l);
    }
}

static void test_near_miss_nonces(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVECS; i++) {
        loaded_t l;
        uint8_t longer[65];
        load(&vecs[i], &l);
        memcpy(longer, l.nonce, l.nonce_len);
        longer[l.nonce_len] = 0;
        const struct {
            const uint8_t *p;
            size_t len;
        } bad[] = {
            {l.nonce, l.nonce_len - 1}, /* a prefix */
            {longer, l.nonce_len + 1},  /* one byte longer */
        };
        for (size_t k = 0; k < 2; k++) {
            vd_appraise_request_t req = request(&l, bad[k].p, bad[k].len);
            vd_appraise_result_t *r = run(&req);
            assert_int_equal(r->outcome, VD_OUTCOME_REJECTED);
            assert_int_equal(r->status, VD_TIER_CONTRAINDICATED);
            assert_int_equal(check_of(&r->snp.checks, "tpm.nonce"), VD_CHECK_FAIL);
            free(r);
        }
        /* A flipped bit. */
        uint8_t flipped[64];
        memcpy(flipped, l.nonce, l.nonce_len);
        flipped[0] ^= 1;
        vd_appraise_request_t req = request(&l, flipped, l.nonce_len);
        vd_appraise_result_t *r = run(&req);
        assert_int_equal(r->outcome, VD_OUTCOME_REJECTED);
        free(r);
        unload(&l);
    }
}

static vd_policy_t *compile(const char *yaml)
{
    vd_policy_t *p = NULL;
    vd_error_t err = {0};
    if (vd_policy_compile(yaml, strlen(yaml), "t.yaml", &p, &err) != VD_OK) {
        fail_msg("compile: %s\n%s", err.msg, yaml);
    }
    return p;
}

/* A policy of PCR 4, 7 and 9 and the vm-configuration of vector `v` (from a genuine result). */
static char *policy_from(const vd_appraise_result_t *r, int change_pcr7, const char *extra)
{
    char h4[65], h7[65], h9[65];
    size_t n = 4096;
    char *y = malloc(n);
    assert_non_null(y);
    uint8_t p7[32];
    memcpy(p7, r->vtpm.pcrs[7], 32);
    p7[31] ^= (uint8_t)change_pcr7;
    snprintf(
        y, n,
        "name: from-vector\n"
        "tpm:\n"
        "  pcrs:\n"
        "    4: [{value: %s, label: boot manager}]\n"
        "    7: [%s]\n"
        "    9: [\"%s\"]\n"
        "azure:\n"
        "  secure_boot: required\n"
        "  tpm_enabled: required\n"
        "  console: allowed\n"
        "  vm_ids: [%s]\n"
        "%s",
        vd_hex_encode(r->vtpm.pcrs[4], 32, h4, sizeof(h4)), vd_hex_encode(p7, 32, h7, sizeof(h7)),
        vd_hex_encode(r->vtpm.pcrs[9], 32, h9, sizeof(h9)), r->vtpm.runtime.vm_unique_id, extra);
    return y;
}

static void test_pcr_policy(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVECS; i++) {
        loaded_t l;
        load(&vecs[i], &l);
        vd_appraise_request_t req = request(&l, NULL, 0);
        vd_appraise_result_t *genuine = run(&req);
        assert_int_equal(genuine->outcome, VD_OUTCOME_AFFIRMING);

        char *y = policy_from(genuine, 0, "");
        vd_policy_t *p = compile(y);
        req.policy = p;
        vd_appraise_result_t *r = run(&req);
        assert_int_equal(r->outcome, VD_OUTCOME_AFFIRMING);
        assert_int_equal(check_of(&r->appraisal.checks, "policy.tpm.pcr7"), VD_CHECK_PASS);
        assert_int_equal(check_of(&r->appraisal.checks, "policy.azure.vm_id"), VD_CHECK_PASS);
        assert_int_equal(r->appraisal.tvec.claims[VD_CLAIM_EXECUTABLES], VD_AR_APPROVED_BOOT);
        free(r);
        vd_policy_free(&p);
        free(y);

        y = policy_from(genuine, 1, "");
        p = compile(y);
        req.policy = p;
        r = run(&req);
        assert_int_equal(r->outcome, VD_OUTCOME_NOT_AFFIRMING);
        assert_int_equal(r->snp.status, VD_SNP_GENUINE);
        assert_int_equal(r->status, VD_TIER_CONTRAINDICATED);
        assert_int_equal(check_of(&r->appraisal.checks, "policy.tpm.pcr7"), VD_CHECK_FAIL);
        assert_int_equal(check_of(&r->appraisal.checks, "policy.tpm.pcr4"), VD_CHECK_PASS);
        assert_int_equal(r->appraisal.tvec.claims[VD_CLAIM_EXECUTABLES], VD_AR_CONTRAINDICATED);
        free(r);
        vd_policy_free(&p);
        free(y);

        /* Freshness asked for: not affirming without the nonce, affirming with it. */
        y = policy_from(genuine, 0, "snp:\n  freshness: raw\n");
        p = compile(y);
        req.policy = p;
        r = run(&req);
        assert_int_equal(r->outcome, VD_OUTCOME_NOT_AFFIRMING);
        assert_int_equal(check_of(&r->appraisal.checks, "policy.freshness"), VD_CHECK_FAIL);
        free(r);
        req.nonce = l.nonce;
        req.nonce_len = l.nonce_len;
        r = run(&req);
        assert_int_equal(r->outcome, VD_OUTCOME_AFFIRMING);
        assert_int_equal(check_of(&r->appraisal.checks, "policy.freshness"), VD_CHECK_PASS);
        free(r);
        /* Runtime data cannot be bound by vTPM evidence. */
        req.runtime_data = (const uint8_t *)"{}";
        req.runtime_data_len = 2;
        r = run(&req);
        assert_int_equal(r->outcome, VD_OUTCOME_NOT_AFFIRMING);
        free(r);
        vd_policy_free(&p);
        free(y);
        free(genuine);
        unload(&l);
    }
}

/* tpm.* and azure.* rules on bare SNP evidence fail: never a silent pass. */
static void test_vtpm_rules_on_bare_snp(void **state)
{
    (void)state;
    vd_error_t err = {0};
    size_t len = 0;
    uint8_t *report = vd_test_read_vector("gosevguest-milan/attestation.bin", &len);
    vd_certset_t *certs = NULL;
    assert_int_equal(vd_certset_new(&certs, &err), VD_OK);
    vd_test_add_certs(certs, "gosevguest-milan/vcek.der");
    vd_test_add_certs(certs, "gosevguest-milan/cert_chain_milan_vcek.pem");
    vd_policy_t *p = compile("name: x\n"
                             "tpm:\n  pcrs:\n    0: ["
                             "0000000000000000000000000000000000000000000000000000000000000000]\n"
                             "azure:\n  secure_boot: allowed\n  console: forbidden\n"
                             "  vm_ids: [a]\n");
    vd_appraise_request_t req;
    memset(&req, 0, sizeof(req));
    req.evidence = report;
    req.evidence_len = len;
    req.certs = certs;
    req.certs_only = 1;
    req.policy = p;
    req.at = vd_test_time(AT);
    vd_appraise_result_t *r = run(&req);
    assert_int_equal(r->snp.status, VD_SNP_GENUINE);
    assert_false(r->has_vtpm);
    assert_int_equal(r->outcome, VD_OUTCOME_NOT_AFFIRMING);
    assert_int_equal(check_of(&r->appraisal.checks, "policy.tpm.pcr0"), VD_CHECK_FAIL);
    assert_int_equal(check_of(&r->appraisal.checks, "policy.azure.secure_boot"), VD_CHECK_FAIL);
    assert_int_equal(check_of(&r->appraisal.checks, "policy.azure.console"), VD_CHECK_FAIL);
    assert_int_equal(check_of(&r->appraisal.checks, "policy.azure.vm_id"), VD_CHECK_FAIL);
    json_t *j = vd_appraise_result_json(r, req.at);
    assert_null(json_object_get(j, "vtpm"));
    json_decref(j);
    free(r);
    vd_policy_free(&p);
    vd_certset_free(&certs);
    free(report);
}

/* vTPM evidence that does not decode is bad evidence (exit 2), never affirming. */
static void test_undecodable_vtpm_evidence(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"version\": 3, \"hcl_report\": \"\", \"tpm_quote\": {}, \"vcek\": \"\"}",
        ("{\"version\": 1, \"hcl_report\": \"!!\", \"tpm_quote\": {\"signature\": \"00\", "
         "\"message\": \"00\", \"pcrs\": []}}"),
        "{\"report\": [256], \"quote\": {}, \"vcek\": \"\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vd_appraise_request_t req;
        memset(&req, 0, sizeof(req));
        req.evidence = (const uint8_t *)bad[i];
        req.evidence_len = strlen(bad[i]);
        req.certs_only = 1;
        req.at = vd_test_time(AT);
        vd_appraise_result_t *r = run(&req);
        assert_int_equal(r->outcome, VD_OUTCOME_BAD_EVIDENCE);
        assert_int_equal(r->status, VD_TIER_CONTRAINDICATED);
        assert_non_null(strstr(r->problem, "vTPM evidence"));
        assert_false(r->has_vtpm);
        free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_with_and_without_nonce),
        cmocka_unit_test(test_vectors_as_split_report),
        cmocka_unit_test(test_near_miss_nonces),
        cmocka_unit_test(test_pcr_policy),
        cmocka_unit_test(test_vtpm_rules_on_bare_snp),
        cmocka_unit_test(test_undecodable_vtpm_evidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
