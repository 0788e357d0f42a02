/*
 * EAR claims and JWS signing (verifier/ear/ear.c): the deployed dialect's claim names and
 * types, the policy id forms, eat_nonce encoding, the status invariant, input refusals, and a
 * signed token whose header, payload and signature check out against the published JWK.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/ear.h"
#include "verdict/jsonout.h"
#include "../../verifier/ear/ear_internal.h"

static vd_ear_input_t base_input(void)
{
    vd_ear_input_t in = {0};
    in.status = VD_TIER_AFFIRMING;
    in.tvec.claims[VD_CLAIM_HARDWARE] = VD_AR_AFFIRMING;
    in.tvec.claims[VD_CLAIM_RUNTIME_OPAQUE] = VD_AR_AFFIRMING;
    in.tvec.claims[VD_CLAIM_EXECUTABLES] = VD_AR_APPROVED_BOOT;
    in.iat = 1767225600;
    in.developer = "https://verdict.example";
    in.build = "verdict 0.1.0";
    return in;
}

static json_t *submod(json_t *claims)
{
    json_t *s = json_object_get(json_object_get(claims, "submods"), VD_EAR_SUBMOD);
    assert_non_null(s);
    return s;
}

static void test_ear_claims_deployed_dialect(void **state)
{
    (void)state;
    vd_ear_input_t in = base_input();
    json_t *c = NULL;
    json_t *ev = json_pack("{sssi}", "measurement", "ab12", "vmpl", 0);
    in.annotated_evidence = ev;
    in.issuer = "https://verdict.example";
    in.policy_name = "prod";
    in.policy_version = 3;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_OK);
    assert_string_equal(json_string_value(json_object_get(c, "eat_profile")),
                        "tag:github.com,2023:veraison/ear");
    assert_true(json_is_integer(json_object_get(c, "iat")));
    assert_int_equal(json_integer_value(json_object_get(c, "iat")), 1767225600);
    assert_true(json_is_integer(json_object_get(c, "exp")));
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), 1767225600 + 300);
    assert_string_equal(json_string_value(json_object_get(c, "iss")), "https://verdict.example");
    json_t *vid = json_object_get(c, "ear.verifier-id");
    assert_string_equal(json_string_value(json_object_get(vid, "developer")),
                        "https://verdict.example");
    assert_string_equal(json_string_value(json_object_get(vid, "build")), "verdict 0.1.0");
    assert_null(json_object_get(c, "eat_nonce"));
    assert_int_equal(json_object_size(json_object_get(c, "submods")), 1);
    json_t *s = submod(c);
    assert_string_equal(json_string_value(json_object_get(s, "ear.status")), "affirming");
    json_t *tv = json_object_get(s, "ear.trustworthiness-vector");
    assert_int_equal(json_object_size(tv), 8);
    static const char *const keys[] = {"instance-identity", "configuration", "executables",
                                       "file-system",       "hardware",      "runtime-opaque",
                                       "storage-opaque",    "sourced-data"};
    for (size_t i = 0; i < 8; i++) {
        assert_true(json_is_integer(json_object_get(tv, keys[i])));
    }
    assert_int_equal(json_integer_value(json_object_get(tv, "executables")), 3);
    assert_int_equal(json_integer_value(json_object_get(tv, "file-system")), 0);
    assert_string_equal(json_string_value(json_object_get(s, "ear.appraisal-policy-id")),
                        "policy:SEVSNP/prod@v3");
    assert_true(json_equal(json_object_get(s, "ear.veraison.annotated-evidence"), ev));
    assert_null(json_object_get(s, "ear.veraison.policy-claims"));
    json_decref(c);
    json_decref(ev);
}

static void test_ear_claims_policy_id_forms(void **state)
{
    (void)state;
    vd_ear_input_t in = base_input();
    json_t *c = NULL;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_OK);
    assert_string_equal(json_string_value(json_object_get(submod(c), "ear.appraisal-policy-id")),
                        "policy:SEVSNP");
    json_decref(c);
    in.policy_name = "draft.yaml-policy";
    in.policy_version = 0;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_OK);
    assert_string_equal(json_string_value(json_object_get(submod(c), "ear.appraisal-policy-id")),
                        "policy:SEVSNP/draft.yaml-policy");
    json_decref(c);
    in.policy_name = "a/b";
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_E_USAGE);
    assert_null(c);
}

static void test_ear_claims_nonce_is_padded_base64url(void **state)
{
    (void)state;
    vd_ear_input_t in = base_input();
    json_t *c = NULL;
    uint8_t nonce[64];
    for (size_t i = 0; i < sizeof nonce; i++) {
        nonce[i] = (uint8_t)(0xf8 + i); /* bytes that need '-' and '_' */
    }
    in.nonce = nonce;
    in.nonce_len = 64;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_OK);
    const char *n = json_string_value(json_object_get(c, "eat_nonce"));
    assert_non_null(n);
    assert_int_equal(strlen(n), 88); /* the longest veraison/ear accepts */
    assert_string_equal(n + 86, "==");
    assert_null(strchr(n, '+'));
    assert_null(strchr(n, '/'));
    assert_non_null(strpbrk(n, "-_"));
    json_decref(c);
    in.nonce_len = 8;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_OK);
    assert_int_equal(strlen(json_string_value(json_object_get(c, "eat_nonce"))), 12);
    json_decref(c);
    in.nonce_len = 7;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_E_USAGE);
    in.nonce_len = 65;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_E_USAGE);
}

static void test_ear_status_never_better_than_worst_claim(void **state)
{
    (void)state;
    vd_tvec_t v = {0};
    v.claims[VD_CLAIM_HARDWARE] = VD_AR_AFFIRMING;
    assert_int_equal(vd_ear_final_status(VD_TIER_AFFIRMING, &v), VD_TIER_AFFIRMING);
    v.claims[VD_CLAIM_CONFIGURATION] = 36;
    assert_int_equal(vd_ear_final_status(VD_TIER_AFFIRMING, &v), VD_TIER_WARNING);
    v.claims[VD_CLAIM_EXECUTABLES] = -100; /* private contraindicated */
    assert_int_equal(vd_ear_final_status(VD_TIER_AFFIRMING, &v), VD_TIER_CONTRAINDICATED);
    assert_int_equal(vd_ear_final_status(VD_TIER_NONE, &v), VD_TIER_CONTRAINDICATED);
    /* A worse status than the vector stays. */
    vd_tvec_t ok = {0};
    ok.claims[VD_CLAIM_HARDWARE] = VD_AR_AFFIRMING;
    assert_int_equal(vd_ear_final_status(VD_TIER_CONTRAINDICATED, &ok), VD_TIER_CONTRAINDICATED);
    /* "none" is never promoted by an affirming vector. */
    assert_int_equal(vd_ear_final_status(VD_TIER_NONE, &ok), VD_TIER_NONE);
    /* Malfunction or unexpected evidence in any claim: not affirming. */
    ok.claims[VD_CLAIM_SOURCED_DATA] = VD_AR_MALFUNCTION;
    assert_int_equal(vd_ear_final_status(VD_TIER_AFFIRMING, &ok), VD_TIER_NONE);
    ok.claims[VD_CLAIM_SOURCED_DATA] = VD_AR_UNEXPECTED;
    assert_int_equal(vd_ear_final_status(VD_TIER_AFFIRMING, &ok), VD_TIER_NONE);

    /* The token carries the final status, and the problem once it is not affirming. */
    vd_ear_input_t in = base_input();
    json_t *c = NULL;
    in.problem = "configuration: debug allowed";
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_OK);
    assert_null(json_object_get(submod(c), "ear.veraison.policy-claims"));
    json_decref(c);
    in.tvec.claims[VD_CLAIM_RUNTIME_OPAQUE] = VD_AR_CONTRAINDICATED;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_OK);
    assert_string_equal(json_string_value(json_object_get(submod(c), "ear.status")),
                        "contraindicated");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(submod(c), "ear.veraison.policy-claims"), "problem")),
                        "configuration: debug allowed");
    json_decref(c);
}

static void test_ear_claims_refuses_bad_input(void **state)
{
    (void)state;
    json_t *c = NULL;
    vd_error_t err = {0};
    vd_ear_input_t in = base_input();
    in.developer = NULL;
    assert_int_equal(vd_ear_claims(&in, &c, &err), VD_E_USAGE);
    assert_non_null(strstr(err.msg, "developer"));
    in = base_input();
    in.build = "";
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_E_USAGE);
    in = base_input();
    in.iat = 0;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_E_USAGE);
    in = base_input();
    in.status = (vd_tier_t)5;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_E_USAGE);
    in = base_input();
    json_t *arr = json_array();
    in.annotated_evidence = arr;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_E_USAGE);
    json_decref(arr);
    in = base_input();
    in.problem = "\xff\xfe not UTF-8";
    in.status = VD_TIER_CONTRAINDICATED;
    assert_int_not_equal(vd_ear_claims(&in, &c, NULL), VD_OK);
    assert_null(c);
    in = base_input();
    in.ttl = 60;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_OK);
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), in.iat + 60);
    json_decref(c);
}

/* Decode one segment of a compact JWS into JSON. */
static json_t *segment_json(const char *s, size_t len)
{
    uint8_t *b = NULL;
    size_t n = 0;
    assert_int_equal(vd_ear__b64url_decode(s, len, &b, &n), 0);
    json_t *j = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, NULL);
    free(b);
    assert_non_null(j);
    return j;
}

static void test_ear_sign_token_shape_all_algs(void **state)
{
    (void)state;
    static const vd_sigalg_t algs[] = {VD_SIGALG_ES256, VD_SIGALG_ES384, VD_SIGALG_EDDSA};
    for (size_t a = 0; a < 3; a++) {
        vd_signkey_t *k = NULL;
        char *tok = NULL;
        vd_error_t err = {0};
        vd_ear_input_t in = base_input();
        assert_int_equal(vd_signkey_generate(algs[a], &k, NULL), VD_OK);
        assert_int_equal(vd_ear_sign(&in, k, &tok, &err), VD_OK);
        const char *d1 = strchr(tok, '.');
        const char *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
        assert_non_null(d2);
        assert_null(strchr(d2 + 1, '.'));
        assert_null(strchr(tok, '='));

        json_t *h = segment_json(tok, (size_t)(d1 - tok));
        assert_string_equal(json_string_value(json_object_get(h, "alg")), vd_sigalg_name(algs[a]));
        assert_string_equal(json_string_value(json_object_get(h, "typ")), "JWT");
        assert_string_equal(json_string_value(json_object_get(h, "kid")), vd_signkey_kid(k));
        assert_int_equal(json_object_size(h), 3);
        json_decref(h);
        json_t *p = segment_json(d1 + 1, (size_t)(d2 - d1 - 1));
        json_t *expect = NULL;
        assert_int_equal(vd_ear_claims(&in, &expect, NULL), VD_OK);
        assert_true(json_equal(p, expect));
        json_decref(expect);
        json_decref(p);

        uint8_t *sig = NULL;
        size_t sig_len = 0;
        assert_int_equal(vd_ear__b64url_decode(d2 + 1, strlen(d2 + 1), &sig, &sig_len), 0);
        assert_int_equal(sig_len, vd_sigalg_sig_len(algs[a]));
        json_t *jwk = vd_signkey_jwk(k);
        EVP_PKEY *pub = NULL;
        vd_sigalg_t alg;
        char why[128];
        assert_int_equal(vd_ear__jwk_to_pkey(jwk, &pub, &alg, why, sizeof why), 0);
        assert_int_equal(vd_ear__jws_verify_sig(pub, alg, (const uint8_t *)tok, (size_t)(d2 - tok),
                                                sig, sig_len),
                         1);
        EVP_PKEY_free(pub);
        json_decref(jwk);
        free(sig);
        free(tok);
        vd_signkey_free(&k);
    }
}

/* The token's payload is the text of vd_ear_claims byte for byte with annotated evidence too
 * (vd_ear_sign references the caller's object where vd_ear_claims copies it), and the caller's
 * object comes back as it went in, with its one reference. */
static void test_ear_sign_annotated_evidence(void **state)
{
    (void)state;
    vd_signkey_t *k = NULL;
    char *tok = NULL;
    json_t *ev = json_pack("{s:s, s:{s:i, s:[s, s]}, s:i}", "product", "Turin", "report", "vmpl", 0,
                           "ids", "a", "b", "report_version", 5);
    json_t *before = json_deep_copy(ev);
    vd_ear_input_t in = base_input();
    in.annotated_evidence = ev;
    assert_int_equal(vd_signkey_generate(VD_SIGALG_ES256, &k, NULL), VD_OK);
    assert_int_equal(vd_ear_sign(&in, k, &tok, NULL), VD_OK);
    const char *d1 = strchr(tok, '.');
    const char *d2 = strchr(d1 + 1, '.');
    uint8_t *payload = NULL;
    size_t n = 0;
    assert_int_equal(vd_ear__b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &payload, &n), 0);
    json_t *expect = NULL;
    assert_int_equal(vd_ear_claims(&in, &expect, NULL), VD_OK);
    char *text = vd_json_dumps(expect);
    assert_int_equal(n, strlen(text));
    assert_memory_equal(payload, text, n);
    assert_int_equal(ev->refcount, 1);
    assert_true(json_equal(ev, before));
    free(text);
    free(payload);
    json_decref(expect);
    json_decref(before);
    json_decref(ev);
    free(tok);
    vd_signkey_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ear_claims_deployed_dialect),
        cmocka_unit_test(test_ear_claims_policy_id_forms),
        cmocka_unit_test(test_ear_claims_nonce_is_padded_base64url),
        cmocka_unit_test(test_ear_status_never_better_than_worst_claim),
        cmocka_unit_test(test_ear_claims_refuses_bad_input),
        cmocka_unit_test(test_ear_sign_token_shape_all_algs),
        cmocka_unit_test(test_ear_sign_annotated_evidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
