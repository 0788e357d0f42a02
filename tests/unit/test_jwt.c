/*
 * Token verification (verifier/ear/jwt_verify.c): good tokens for every algorithm, and every
 * refusal: alg none and foreign algorithms, alg not the key's, unknown or ambiguous kid, a token
 * signed by another key, tampered header/payload/signature, DER signatures, missing or expired
 * exp, iat in the future, wrong profile, nonce checks, submodule status invariants.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "verdict/ear.h"
#include "verdict/jwt.h"
#include "../../verifier/ear/ear_internal.h"

#define IAT 1767225600

typedef struct fixture {
    vd_signkey_t *key;   /* ES256, in the JWKS */
    vd_signkey_t *other; /* ES256, not in the JWKS */
    json_t *jwks;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (vd_signkey_generate(VD_SIGALG_ES256, &f->key, NULL) != VD_OK ||
        vd_signkey_generate(VD_SIGALG_ES256, &f->other, NULL) != VD_OK) {
        return -1;
    }
    f->jwks = json_pack("{s[o]}", "keys", vd_signkey_jwk(f->key));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    vd_signkey_free(&f->key);
    vd_signkey_free(&f->other);
    json_decref(f->jwks);
    free(f);
    return 0;
}

static vd_ear_input_t input(void)
{
    vd_ear_input_t in = {0};
    in.status = VD_TIER_AFFIRMING;
    in.tvec.claims[VD_CLAIM_HARDWARE] = VD_AR_AFFIRMING;
    in.iat = IAT;
    in.developer = "https://verdict.example";
    in.build = "verdict test";
    return in;
}

static json_t *claims(void)
{
    vd_ear_input_t in = input();
    json_t *c = NULL;
    assert_int_equal(vd_ear_claims(&in, &c, NULL), VD_OK);
    return c;
}

/* A token with an arbitrary header, signed by `k` (which need not match the header). */
static char *make_token(const vd_signkey_t *k, const json_t *header, const json_t *payload)
{
    char *h = json_dumps(header, JSON_COMPACT), *p = json_dumps(payload, JSON_COMPACT);
    char *h64 = vd_ear__b64url((const uint8_t *)h, strlen(h));
    char *p64 = vd_ear__b64url((const uint8_t *)p, strlen(p));
    size_t n = strlen(h64) + strlen(p64) + 200;
    char *tok = malloc(n);
    snprintf(tok, n, "%s.%s", h64, p64);
    uint8_t sig[VD_SIG_MAX];
    size_t sig_len = 0;
    assert_int_equal(vd_signkey_sign(k, (const uint8_t *)tok, strlen(tok), sig, &sig_len, NULL),
                     VD_OK);
    char *s64 = vd_ear__b64url(sig, sig_len);
    strcat(tok, ".");
    strcat(tok, s64);
    free(h);
    free(p);
    free(h64);
    free(p64);
    free(s64);
    return tok;
}

static vd_jwt_status_t check(const char *tok, const json_t *jwks, int64_t now, vd_jwt_result_t *r)
{
    vd_jwt_opts_t o = {.now = now, .leeway = -1};
    assert_int_equal(vd_jwt_verify(tok, strlen(tok), jwks, &o, r, NULL), VD_OK);
    return r->status;
}

static void test_jwt_verify_good_tokens_all_algs(void **state)
{
    (void)state;
    static const vd_sigalg_t algs[] = {VD_SIGALG_ES256, VD_SIGALG_ES384, VD_SIGALG_EDDSA};
    for (size_t a = 0; a < 3; a++) {
        vd_signkey_t *k = NULL;
        char *tok = NULL;
        vd_jwt_result_t r;
        vd_ear_input_t in = input();
        assert_int_equal(vd_signkey_generate(algs[a], &k, NULL), VD_OK);
        json_t *jwks = json_pack("{s[o]}", "keys", vd_signkey_jwk(k));
        assert_int_equal(vd_ear_sign(&in, k, &tok, NULL), VD_OK);
        assert_int_equal(check(tok, jwks, IAT + 10, &r), VD_JWT_OK);
        assert_true(r.signature_ok);
        assert_true(r.time_ok);
        assert_true(r.affirming);
        assert_string_equal(r.alg, vd_sigalg_name(algs[a]));
        assert_string_equal(r.kid, vd_signkey_kid(k));
        assert_int_equal(r.n_submods, 1);
        assert_string_equal(r.submods[0].label, "SEVSNP");
        assert_true(r.submods[0].status_ok);
        assert_int_equal(r.submods[0].status, VD_TIER_AFFIRMING);
        assert_int_equal(r.exp, IAT + 300);
        assert_non_null(r.payload);
        vd_jwt_result_clear(&r);
        assert_null(r.payload);
        free(tok);
        json_decref(jwks);
        vd_signkey_free(&k);
    }
}

static void test_jwt_verify_refuses_alg_none_and_foreign_algs(void **state)
{
    fixture_t *f = *state;
    vd_jwt_result_t r;
    json_t *c = claims();
    static const char *const refused[] = {"none", "None", "HS256", "RS256", "ES512", "es256"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        json_t *h = json_pack("{ssss}", "alg", refused[i], "kid", vd_signkey_kid(f->key));
        char *tok = make_token(f->key, h, c);
        assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_ALG_REFUSED);
        assert_false(r.signature_ok);
        assert_null(r.payload);
        free(tok);
        json_decref(h);
    }
    /* The classic "alg none" token: empty signature. */
    json_t *h = json_pack("{ssss}", "alg", "none", "kid", vd_signkey_kid(f->key));
    char *hs = json_dumps(h, JSON_COMPACT), *ps = json_dumps(c, JSON_COMPACT);
    char *h64 = vd_ear__b64url((const uint8_t *)hs, strlen(hs));
    char *p64 = vd_ear__b64url((const uint8_t *)ps, strlen(ps));
    char tok[8192];
    snprintf(tok, sizeof tok, "%s.%s.", h64, p64);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_ALG_REFUSED);
    assert_false(r.affirming);
    /* No alg at all. */
    json_object_del(h, "alg");
    char *tok2 = make_token(f->key, h, c);
    assert_int_equal(check(tok2, f->jwks, IAT, &r), VD_JWT_ALG_REFUSED);
    free(tok2);
    free(hs);
    free(ps);
    free(h64);
    free(p64);
    json_decref(h);
    json_decref(c);
}

static void test_jwt_verify_alg_must_match_key(void **state)
{
    fixture_t *f = *state;
    vd_jwt_result_t r;
    json_t *c = claims();
    /* An ES384 key signs, but the header claims the ES256 key's kid with alg ES384. */
    vd_signkey_t *k384 = NULL;
    assert_int_equal(vd_signkey_generate(VD_SIGALG_ES384, &k384, NULL), VD_OK);
    json_t *h = json_pack("{ssssss}", "alg", "ES384", "typ", "JWT", "kid", vd_signkey_kid(f->key));
    char *tok = make_token(k384, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_ALG_REFUSED);
    assert_non_null(strstr(r.detail, "ES256"));
    free(tok);
    json_decref(h);
    /* A JWKS entry whose alg contradicts its curve is unusable. */
    json_t *jwk = vd_signkey_jwk(f->key);
    json_object_set_new(jwk, "alg", json_string("ES384"));
    json_t *jwks = json_pack("{s[o]}", "keys", jwk);
    vd_ear_input_t in = input();
    assert_int_equal(vd_ear_sign(&in, f->key, &tok, NULL), VD_OK);
    assert_int_equal(check(tok, jwks, IAT, &r), VD_JWT_BAD_KEY);
    free(tok);
    json_decref(jwks);
    json_decref(c);
    vd_signkey_free(&k384);
}

static void test_jwt_verify_kid_lookup(void **state)
{
    fixture_t *f = *state;
    vd_jwt_result_t r;
    vd_ear_input_t in = input();
    char *tok = NULL;
    /* Signed by a key that is not in the JWKS. */
    assert_int_equal(vd_ear_sign(&in, f->other, &tok, NULL), VD_OK);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_UNKNOWN_KID);
    free(tok);
    /* ...or claiming the published kid: the signature gives it away. */
    json_t *c = claims();
    json_t *h = json_pack("{ssssss}", "alg", "ES256", "typ", "JWT", "kid", vd_signkey_kid(f->key));
    tok = make_token(f->other, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_BAD_SIGNATURE);
    assert_false(r.signature_ok);
    assert_null(r.payload);
    free(tok);
    /* No kid. */
    json_object_del(h, "kid");
    tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_UNKNOWN_KID);
    free(tok);
    /* Two JWKS keys with the same kid: ambiguous, refused. */
    json_t *jwk2 = vd_signkey_jwk(f->other);
    json_object_set_new(jwk2, "kid", json_string(vd_signkey_kid(f->key)));
    json_t *jwks = json_pack("{s[oo]}", "keys", vd_signkey_jwk(f->key), jwk2);
    assert_int_equal(vd_ear_sign(&in, f->key, &tok, NULL), VD_OK);
    assert_int_equal(check(tok, jwks, IAT, &r), VD_JWT_UNKNOWN_KID);
    assert_non_null(strstr(r.detail, "several"));
    free(tok);
    json_decref(jwks);
    json_decref(h);
    json_decref(c);
}

/* Replace the character at `at` with another valid base64url character. */
static void flip(char *tok, size_t at)
{
    tok[at] = tok[at] == 'A' ? 'B' : 'A';
}

static void test_jwt_verify_tampering(void **state)
{
    fixture_t *f = *state;
    vd_jwt_result_t r;
    vd_ear_input_t in = input();
    char *tok = NULL;
    in.status = VD_TIER_CONTRAINDICATED;
    assert_int_equal(vd_ear_sign(&in, f->key, &tok, NULL), VD_OK);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_OK);
    assert_false(r.affirming); /* valid, but contraindicated */
    vd_jwt_result_clear(&r);
    char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    char *copy = strdup(tok);
    /* Payload: swap in "affirming" would need re-signing; any change breaks the signature. */
    flip(copy, (size_t)(d1 - tok) + 10);
    assert_int_equal(check(copy, f->jwks, IAT, &r), VD_JWT_BAD_SIGNATURE);
    strcpy(copy, tok);
    flip(copy, (size_t)(d2 - tok) - 3);
    assert_int_not_equal(check(copy, f->jwks, IAT, &r), VD_JWT_OK);
    /* Header. */
    strcpy(copy, tok);
    flip(copy, 5);
    assert_int_not_equal(check(copy, f->jwks, IAT, &r), VD_JWT_OK);
    /* Signature. */
    strcpy(copy, tok);
    flip(copy, (size_t)(d2 - tok) + 5);
    assert_int_equal(check(copy, f->jwks, IAT, &r), VD_JWT_BAD_SIGNATURE);
    /* Truncated signature. */
    strcpy(copy, tok);
    copy[strlen(copy) - 2] = '\0';
    assert_int_not_equal(check(copy, f->jwks, IAT, &r), VD_JWT_OK);
    free(copy);
    free(tok);
}

static void test_jwt_verify_malformed(void **state)
{
    fixture_t *f = *state;
    vd_jwt_result_t r;
    static const char *const bad[] = {
        "",
        "a",
        "a.b",
        "a.b.c.d",
        "...",
        "eyJhbGciOiJFUzI1NiJ9.e30=.AAAA",
        "!!!.e30.AAAA",
        "e30.e30.AAAA", /* header {} has no alg */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(check(bad[i], f->jwks, IAT, &r) == VD_JWT_OK, 0);
        assert_false(r.affirming);
    }
    /* A DER signature instead of R||S. */
    vd_ear_input_t in = input();
    char *tok = NULL;
    assert_int_equal(vd_ear_sign(&in, f->key, &tok, NULL), VD_OK);
    char *d2 = strrchr(tok, '.');
    uint8_t *raw = NULL;
    size_t n = 0;
    assert_int_equal(vd_ear__b64url_decode(d2 + 1, strlen(d2 + 1), &raw, &n), 0);
    uint8_t der[80] = {0x30, 68, 0x02, 32};
    memcpy(der + 4, raw, 32);
    der[36] = 0x02;
    der[37] = 32;
    memcpy(der + 38, raw + 32, 32);
    char *der64 = vd_ear__b64url(der, 70);
    char *tok2 = malloc(strlen(tok) + 200);
    sprintf(tok2, "%.*s.%s", (int)(d2 - tok), tok, der64);
    assert_int_equal(check(tok2, f->jwks, IAT, &r), VD_JWT_BAD_SIGNATURE);
    /* The JWKS itself must be a key set. */
    vd_jwt_opts_t o = {.now = IAT, .leeway = -1};
    json_t *notset = json_pack("{s[i]}", "keys", 1);
    assert_int_equal(vd_jwt_verify(tok, strlen(tok), notset, &o, &r, NULL), VD_E_MALFORMED);
    assert_int_equal(
        vd_jwt_verify(tok, strlen(tok), json_object_get(f->jwks, "keys"), &o, &r, NULL),
        VD_E_MALFORMED);
    json_decref(notset);
    free(raw);
    free(der64);
    free(tok2);
    free(tok);
}

static void test_jwt_verify_times(void **state)
{
    fixture_t *f = *state;
    vd_jwt_result_t r;
    vd_ear_input_t in = input();
    char *tok = NULL;
    assert_int_equal(vd_ear_sign(&in, f->key, &tok, NULL), VD_OK);
    int64_t exp = IAT + 300;
    assert_int_equal(check(tok, f->jwks, exp + VD_JWT_DEFAULT_LEEWAY, &r), VD_JWT_OK);
    vd_jwt_result_clear(&r);
    assert_int_equal(check(tok, f->jwks, exp + VD_JWT_DEFAULT_LEEWAY + 1, &r), VD_JWT_EXPIRED);
    assert_true(r.signature_ok);
    assert_false(r.affirming);
    assert_non_null(r.payload); /* shown, but not trusted */
    vd_jwt_result_clear(&r);
    assert_int_equal(check(tok, f->jwks, IAT - VD_JWT_DEFAULT_LEEWAY, &r), VD_JWT_OK);
    vd_jwt_result_clear(&r);
    assert_int_equal(check(tok, f->jwks, IAT - VD_JWT_DEFAULT_LEEWAY - 1, &r),
                     VD_JWT_NOT_YET_VALID);
    vd_jwt_result_clear(&r);
    /* Zero leeway. */
    vd_jwt_opts_t o = {.now = exp + 1, .leeway = 0};
    assert_int_equal(vd_jwt_verify(tok, strlen(tok), f->jwks, &o, &r, NULL), VD_OK);
    assert_int_equal(r.status, VD_JWT_EXPIRED);
    vd_jwt_result_clear(&r);
    free(tok);

    /* exp missing, a float, or absurd values: refused without overflow. */
    json_t *h = json_pack("{ssssss}", "alg", "ES256", "typ", "JWT", "kid", vd_signkey_kid(f->key));
    json_t *c = claims();
    json_object_del(c, "exp");
    tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_NO_EXP);
    vd_jwt_result_clear(&r);
    free(tok);
    json_object_set_new(c, "exp", json_real(IAT + 300.0));
    tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_NO_EXP);
    vd_jwt_result_clear(&r);
    free(tok);
    json_object_set_new(c, "exp", json_integer(INT64_MIN));
    tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_EXPIRED);
    vd_jwt_result_clear(&r);
    free(tok);
    json_object_set_new(c, "exp", json_integer(IAT + 300));
    json_object_set_new(c, "nbf", json_integer(IAT + 200));
    tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_NOT_YET_VALID);
    vd_jwt_result_clear(&r);
    free(tok);
    json_decref(c);
    json_decref(h);
}

static void test_jwt_verify_nonce(void **state)
{
    fixture_t *f = *state;
    vd_jwt_result_t r;
    uint8_t nonce[64], other[64];
    for (size_t i = 0; i < 64; i++) {
        nonce[i] = (uint8_t)(i * 7 + 250);
        other[i] = nonce[i];
    }
    other[63] ^= 1;
    vd_ear_input_t in = input();
    in.nonce = nonce;
    in.nonce_len = sizeof nonce;
    char *tok = NULL;
    assert_int_equal(vd_ear_sign(&in, f->key, &tok, NULL), VD_OK);
    vd_jwt_opts_t o = {.now = IAT, .leeway = -1, .nonce = nonce, .nonce_len = 64};
    assert_int_equal(vd_jwt_verify(tok, strlen(tok), f->jwks, &o, &r, NULL), VD_OK);
    assert_int_equal(r.status, VD_JWT_OK);
    assert_true(r.nonce_checked && r.nonce_ok && r.affirming);
    vd_jwt_result_clear(&r);
    o.nonce = other;
    assert_int_equal(vd_jwt_verify(tok, strlen(tok), f->jwks, &o, &r, NULL), VD_OK);
    assert_int_equal(r.status, VD_JWT_NONCE_MISMATCH);
    assert_false(r.affirming);
    vd_jwt_result_clear(&r);
    o.nonce_len = 32; /* a prefix is not the nonce */
    o.nonce = nonce;
    assert_int_equal(vd_jwt_verify(tok, strlen(tok), f->jwks, &o, &r, NULL), VD_OK);
    assert_int_equal(r.status, VD_JWT_NONCE_MISMATCH);
    vd_jwt_result_clear(&r);
    free(tok);
    /* A token without eat_nonce fails a nonce check. */
    in.nonce = NULL;
    assert_int_equal(vd_ear_sign(&in, f->key, &tok, NULL), VD_OK);
    o.nonce_len = 64;
    assert_int_equal(vd_jwt_verify(tok, strlen(tok), f->jwks, &o, &r, NULL), VD_OK);
    assert_int_equal(r.status, VD_JWT_NONCE_MISMATCH);
    vd_jwt_result_clear(&r);
    free(tok);
}

static void test_jwt_verify_claims_and_submods(void **state)
{
    fixture_t *f = *state;
    vd_jwt_result_t r;
    json_t *h = json_pack("{ssssss}", "alg", "ES256", "typ", "JWT", "kid", vd_signkey_kid(f->key));
    /* A submodule claiming affirming over a contraindicated vector is not believed. */
    json_t *c = claims();
    json_t *s = json_object_get(json_object_get(c, "submods"), "SEVSNP");
    json_object_set_new(json_object_get(s, "ear.trustworthiness-vector"), "hardware",
                        json_integer(97));
    char *tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_OK);
    assert_false(r.submods[0].status_ok);
    assert_false(r.affirming);
    vd_jwt_result_clear(&r);
    free(tok);
    /* Two submodules: one not affirming makes the token not affirming. */
    json_decref(c);
    c = claims();
    json_t *second = json_pack("{ss}", "ear.status", "warning");
    json_object_set_new(json_object_get(c, "submods"), "gpu0", second);
    tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_OK);
    assert_int_equal(r.n_submods, 2);
    assert_false(r.affirming);
    vd_jwt_result_clear(&r);
    free(tok);
    /* Status that is not a tier name (or the CBOR integer). */
    json_object_set_new(second, "ear.status", json_integer(2));
    json_object_set_new(second, "ear.status", json_string("Affirming"));
    tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_OK);
    assert_false(r.submods[1].status_ok);
    assert_false(r.affirming);
    vd_jwt_result_clear(&r);
    free(tok);
    /* No submods, or the wrong profile. */
    json_object_set_new(c, "submods", json_object());
    tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_MALFORMED);
    assert_false(r.affirming);
    vd_jwt_result_clear(&r);
    free(tok);
    json_decref(c);
    c = claims();
    json_object_set_new(c, "eat_profile", json_string("tag:ietf.org,2026:rats/ear#03"));
    tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_PROFILE);
    vd_jwt_result_clear(&r);
    free(tok);
    /* Trustee's profile alias is accepted. */
    json_object_set_new(c, "eat_profile", json_string(VD_EAR_PROFILE_TRUSTEE));
    tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_OK);
    assert_true(r.affirming);
    vd_jwt_result_clear(&r);
    free(tok);
    /* crit is refused; a typ other than JWT too. */
    json_object_set_new(h, "crit", json_pack("[s]", "exp"));
    tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_ALG_REFUSED);
    free(tok);
    json_object_del(h, "crit");
    json_object_set_new(h, "typ", json_string("at+jwt"));
    tok = make_token(f->key, h, c);
    assert_int_equal(check(tok, f->jwks, IAT, &r), VD_JWT_MALFORMED);
    free(tok);
    json_decref(c);
    json_decref(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwt_verify_good_tokens_all_algs),
        cmocka_unit_test(test_jwt_verify_refuses_alg_none_and_foreign_algs),
        cmocka_unit_test(test_jwt_verify_alg_must_match_key),
        cmocka_unit_test(test_jwt_verify_kid_lookup),
        cmocka_unit_test(test_jwt_verify_tampering),
        cmocka_unit_test(test_jwt_verify_malformed),
        cmocka_unit_test(test_jwt_verify_times),
        cmocka_unit_test(test_jwt_verify_nonce),
        cmocka_unit_test(test_jwt_verify_claims_and_submods),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
