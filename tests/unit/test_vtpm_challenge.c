/*
 * A verdict challenge bound in an Azure vTPM quote (vtpm.h, "binding a verdict challenge"):
 * synthetic evidence from the test PKI (testvtpm.h) whose quote binds values made up here,
 * appraised by vd_appraise. Under VD_VTPM_BIND_SHA384 the quote's extraData (and v2 user-data)
 * must be SHA-384(challenge || runtime data): the right challenge and key affirm; another key,
 * another challenge, the exact rule, or a v2 user-data that does not carry it are refused with
 * the named check. The exact rule is unchanged, and the evidence is rejected without the test
 * root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "verdict/appraise.h"
#include "verdict/vtpm.h"
#include "testpki.h"
#include "testvtpm.h"

typedef struct fixture {
    vd_testpki_t *pki;
    X509 *vcek;
    EVP_PKEY *vcek_key, *ak;
    uint8_t report[VD_SNP_REPORT_SIZE];
    vd_certset_t *certs; /* ASK and ARK */
    vd_trust_t *trust;   /* AMD pins + the test ARK */
    uint8_t challenge[64];
} fixture_t;

static const char KEY_A[] = "-----BEGIN PUBLIC KEY----- the broker's wrap key A";
static const char KEY_B[] = "-----BEGIN PUBLIC KEY----- another key B";

static int setup(void **state)
{
    vd_error_t err = {0};
    fixture_t *f = calloc(1, sizeof(*f));
    uint8_t chip[64];
    assert_non_null(f);
    for (size_t i = 0; i < sizeof(chip); i++) {
        chip[i] = (uint8_t)(0xA0 + i);
    }
    f->pki = vd_testpki_new(VD_PRODUCT_MILAN);
    assert_non_null(f->pki);
    uint64_t tcb_raw = vd_testreport_tcb_raw(VD_PRODUCT_MILAN, 0, 3, 0, 8, 115);
    vd_testpki_leaf_opts_t o;
    memset(&o, 0, sizeof(o));
    o.product_name = "Milan-B0";
    o.tcb = vd_tcb_decode(tcb_raw, VD_PRODUCT_MILAN);
    o.hwid = chip;
    o.hwid_len = 64;
    f->vcek = vd_testpki_issue_leaf(f->pki, &o, &f->vcek_key);
    assert_non_null(f->vcek);
    vd_testreport_init(f->report, 3, VD_PRODUCT_MILAN, tcb_raw, chip);
    f->ak = vd_testvtpm_new_ak();
    assert_non_null(f->ak);
    assert_int_equal(vd_certset_new(&f->certs, &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(f->certs, vd_testpki_ask(f->pki), "test", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(f->certs, vd_testpki_ark(f->pki), "test", &err), VD_OK);
    assert_int_equal(vd_trust_new(&f->trust, &err), VD_OK);
    assert_int_equal(vd_trust_add_extra(f->trust, vd_testpki_ark(f->pki), &err), VD_OK);
    for (size_t i = 0; i < sizeof(f->challenge); i++) {
        f->challenge[i] = (uint8_t)(0x5A ^ (i * 7));
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    vd_trust_free(&f->trust);
    vd_certset_free(&f->certs);
    EVP_PKEY_free(f->ak);
    EVP_PKEY_free(f->vcek_key);
    X509_free(f->vcek);
    vd_testpki_free(&f->pki);
    free(f);
    return 0;
}

/* Evidence whose quote binds `extra` (v1 or v2; v2 user-data = `user`, NULL = extra). */
static char *evidence(const fixture_t *f, int version, const uint8_t *extra, size_t extra_len,
                      const uint8_t *user, size_t user_len)
{
    vd_testvtpm_opts_t o;
    memset(&o, 0, sizeof(o));
    o.version = version;
    o.extra = extra;
    o.extra_len = extra_len;
    o.user_data = user;
    o.user_data_len = user_len;
    char *ev = vd_testvtpm_evidence(f->report, f->vcek_key, f->vcek, f->ak, &o);
    assert_non_null(ev);
    return ev;
}

/* The binding of the fixture's challenge and `key` (NULL: none), by verdict's rule. */
static void bind(const fixture_t *f, const char *key, uint8_t out[VD_VTPM_CHALLENGE_BIND_LEN])
{
    vd_error_t err = {0};
    assert_int_equal(vd_vtpm_challenge_binding(f->challenge, sizeof(f->challenge),
                                               (const uint8_t *)key, key ? strlen(key) : 0, out,
                                               &err),
                     VD_OK);
}

static vd_appraise_result_t *appraise(const fixture_t *f, const char *ev, int with_root,
                                      vd_vtpm_binding_t binding, const uint8_t *nonce,
                                      size_t nonce_len, const char *rd)
{
    vd_appraiser_config_t cfg = {0};
    vd_appraiser_t *a = NULL;
    vd_error_t err = {0};
    vd_appraise_request_t req;
    memset(&req, 0, sizeof(req));
    req.evidence = (const uint8_t *)ev;
    req.evidence_len = strlen(ev);
    req.certs = f->certs;
    req.certs_only = 1;
    req.nonce = nonce;
    req.nonce_len = nonce_len;
    req.runtime_data = (const uint8_t *)rd;
    req.runtime_data_len = rd != NULL ? strlen(rd) : 0;
    req.vtpm_binding = binding;
    req.at = time(NULL);
    cfg.trust = with_root ? f->trust : NULL;
    vd_appraise_result_t *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    assert_int_equal(vd_appraiser_new(&cfg, &a, &err), VD_OK);
    if (vd_appraise(a, &req, r, &err) != VD_OK) {
        fail_msg("vd_appraise: %s", err.msg);
    }
    vd_appraiser_free(&a);
    return r;
}

static void assert_check(const vd_checks_t *c, const char *name, vd_check_result_t want)
{
    const vd_check_t *k = vd_checks_find(c, name);
    if (k == NULL) {
        fail_msg("no check %s", name);
    }
    if (k->result != want) {
        fail_msg("%s is %d, expected %d: %s", name, k->result, want, k->detail);
    }
}

/* SHA-384(challenge || key A), 48 bytes: within the vTPM's 50-byte limit. */
static void test_binding_value(void **state)
{
    fixture_t *f = *state;
    uint8_t a[VD_VTPM_CHALLENGE_BIND_LEN], b[VD_VTPM_CHALLENGE_BIND_LEN],
        bare[VD_VTPM_CHALLENGE_BIND_LEN], want[VD_VTPM_CHALLENGE_BIND_LEN];
    uint8_t cat[64 + sizeof(KEY_A)];
    vd_error_t err = {0};
    assert_true(VD_VTPM_CHALLENGE_BIND_LEN <= VD_VTPM_QUALIFYING_MAX);
    bind(f, KEY_A, a);
    bind(f, KEY_B, b);
    bind(f, NULL, bare);
    memcpy(cat, f->challenge, 64);
    memcpy(cat + 64, KEY_A, strlen(KEY_A));
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(cat, 64 + strlen(KEY_A), want, &n, EVP_sha384(), NULL), 1);
    assert_memory_equal(a, want, sizeof(want));
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, bare, sizeof(a));
    assert_int_equal(vd_vtpm_challenge_binding(NULL, 0, NULL, 0, a, &err), VD_E_MALFORMED);
    assert_string_equal(vd_vtpm_binding_str(VD_VTPM_BIND_SHA384), "sha384");
    assert_string_equal(vd_vtpm_binding_str(VD_VTPM_BIND_EXACT), "exact");
}

/* The quote binds the challenge and key A: affirming, for v1 and v2, only with the test root. */
static void test_fresh_challenge_affirms(void **state)
{
    fixture_t *f = *state;
    uint8_t q[VD_VTPM_CHALLENGE_BIND_LEN];
    bind(f, KEY_A, q);
    for (int version = 1; version <= 2; version++) {
        char *ev = evidence(f, version, q, sizeof(q), NULL, 0);
        vd_appraise_result_t *r =
            appraise(f, ev, 1, VD_VTPM_BIND_SHA384, f->challenge, sizeof(f->challenge), KEY_A);
        assert_int_equal(r->outcome, VD_OUTCOME_AFFIRMING);
        assert_true(r->has_vtpm && r->vtpm.nonce_checked);
        assert_int_equal(r->vtpm.binding, VD_VTPM_BIND_SHA384);
        assert_check(&r->snp.checks, "tpm.nonce", VD_CHECK_PASS);
        assert_check(&r->snp.checks, "hcl.user_data", version == 2 ? VD_CHECK_PASS : VD_CHECK_SKIP);
        assert_check(&r->appraisal.checks, "policy.freshness", VD_CHECK_PASS);
        const vd_check_t *fr = vd_checks_find(&r->appraisal.checks, "policy.freshness");
        assert_non_null(strstr(fr->detail, "SHA-384"));
        json_t *j = vd_appraise_result_json(r, time(NULL));
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(j, "vtpm"), "nonce_binding")),
            "sha384");
        json_decref(j);
        free(r);
        /* The same evidence without the test root: rejected, whatever it binds. */
        r = appraise(f, ev, 0, VD_VTPM_BIND_SHA384, f->challenge, sizeof(f->challenge), KEY_A);
        assert_int_equal(r->outcome, VD_OUTCOME_REJECTED);
        free(r);
        free(ev);
    }
    /* A challenge alone (no runtime data) binds SHA-384(challenge). */
    bind(f, NULL, q);
    char *ev = evidence(f, 2, q, sizeof(q), NULL, 0);
    vd_appraise_result_t *r =
        appraise(f, ev, 1, VD_VTPM_BIND_SHA384, f->challenge, sizeof(f->challenge), NULL);
    assert_int_equal(r->outcome, VD_OUTCOME_AFFIRMING);
    free(r);
    free(ev);
}

/* Another key, another challenge, the exact rule, a user-data without it: refused, named. */
static void test_mismatches_refused(void **state)
{
    fixture_t *f = *state;
    uint8_t q[VD_VTPM_CHALLENGE_BIND_LEN], other[64];
    bind(f, KEY_A, q);
    char *ev = evidence(f, 2, q, sizeof(q), NULL, 0);

    vd_appraise_result_t *r =
        appraise(f, ev, 1, VD_VTPM_BIND_SHA384, f->challenge, sizeof(f->challenge), KEY_B);
    assert_int_equal(r->outcome, VD_OUTCOME_REJECTED);
    assert_check(&r->snp.checks, "tpm.nonce", VD_CHECK_FAIL);
    assert_check(&r->snp.checks, "hcl.user_data", VD_CHECK_FAIL);
    /* The reason names what was expected, not "the nonce". */
    assert_non_null(strstr(vd_checks_find(&r->snp.checks, "tpm.nonce")->detail,
                           "SHA-384(challenge || runtime data)"));
    free(r);

    r = appraise(f, ev, 1, VD_VTPM_BIND_SHA384, f->challenge, sizeof(f->challenge), NULL);
    assert_int_equal(r->outcome, VD_OUTCOME_REJECTED);
    assert_check(&r->snp.checks, "tpm.nonce", VD_CHECK_FAIL);
    free(r);

    memcpy(other, f->challenge, sizeof(other));
    other[63] ^= 1;
    r = appraise(f, ev, 1, VD_VTPM_BIND_SHA384, other, sizeof(other), KEY_A);
    assert_int_equal(r->outcome, VD_OUTCOME_REJECTED);
    assert_check(&r->snp.checks, "tpm.nonce", VD_CHECK_FAIL);
    free(r);

    /* The exact rule compares the 64-byte challenge itself: it cannot match. */
    r = appraise(f, ev, 1, VD_VTPM_BIND_EXACT, f->challenge, sizeof(f->challenge), NULL);
    assert_int_equal(r->outcome, VD_OUTCOME_REJECTED);
    assert_check(&r->snp.checks, "tpm.nonce", VD_CHECK_FAIL);
    free(r);
    free(ev);

    /* v2 whose user-data does not carry the binding (zero): hcl.user_data alone fails. */
    static const uint8_t zero[1] = {0};
    ev = evidence(f, 2, q, sizeof(q), zero, sizeof(zero));
    r = appraise(f, ev, 1, VD_VTPM_BIND_SHA384, f->challenge, sizeof(f->challenge), KEY_A);
    assert_int_equal(r->outcome, VD_OUTCOME_REJECTED);
    assert_check(&r->snp.checks, "tpm.nonce", VD_CHECK_PASS);
    assert_check(&r->snp.checks, "hcl.user_data", VD_CHECK_FAIL);
    free(r);
    free(ev);
}

/* A caller's plain nonce keeps the exact rule: the 48 bytes as they are affirm, runtime data
 * beside a plain nonce cannot be bound (policy.freshness fails, not affirming). */
static void test_exact_rule_unchanged(void **state)
{
    fixture_t *f = *state;
    uint8_t q[VD_VTPM_CHALLENGE_BIND_LEN];
    bind(f, KEY_A, q);
    char *ev = evidence(f, 2, q, sizeof(q), NULL, 0);
    vd_appraise_result_t *r = appraise(f, ev, 1, VD_VTPM_BIND_EXACT, q, sizeof(q), NULL);
    assert_int_equal(r->outcome, VD_OUTCOME_AFFIRMING);
    assert_int_equal(r->vtpm.binding, VD_VTPM_BIND_EXACT);
    free(r);
    r = appraise(f, ev, 1, VD_VTPM_BIND_EXACT, q, sizeof(q), KEY_A);
    assert_int_equal(r->outcome, VD_OUTCOME_NOT_AFFIRMING);
    assert_check(&r->appraisal.checks, "policy.freshness", VD_CHECK_FAIL);
    free(r);
    /* No nonce at all: the binding mode changes nothing, the nonce checks are skipped. */
    r = appraise(f, ev, 1, VD_VTPM_BIND_SHA384, NULL, 0, NULL);
    assert_int_equal(r->outcome, VD_OUTCOME_AFFIRMING);
    assert_check(&r->snp.checks, "tpm.nonce", VD_CHECK_SKIP);
    assert_int_equal(r->vtpm.binding, VD_VTPM_BIND_EXACT);
    free(r);
    free(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binding_value),
        cmocka_unit_test(test_fresh_challenge_affirms),
        cmocka_unit_test(test_mismatches_refused),
        cmocka_unit_test(test_exact_rule_unchanged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
