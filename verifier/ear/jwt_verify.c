/*
 * EAR JWT verification against a JWKS, as a relying party (see include/verdict/jwt.h for the
 * checks and their order). Pure; the token and the JWKS are untrusted.
 *
 * The algorithm comes from the key, never from the token alone (RFC 8725 section 3.1; STYLE.md
 * R7): the header's alg must equal the one algorithm the kid's JWK allows. Signature bytes are
 * JWS R||S, checked for exact length before conversion to DER.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "verdict/base64.h"
#include "verdict/ear.h"
#include "verdict/jwt.h"
#include "ear_internal.h"

const char *vd_jwt_status_str(vd_jwt_status_t s)
{
    switch (s) {
    case VD_JWT_OK:
        return "ok";
    case VD_JWT_MALFORMED:
        return "malformed";
    case VD_JWT_ALG_REFUSED:
        return "alg-refused";
    case VD_JWT_UNKNOWN_KID:
        return "unknown-kid";
    case VD_JWT_BAD_KEY:
        return "bad-key";
    case VD_JWT_BAD_SIGNATURE:
        return "bad-signature";
    case VD_JWT_NO_EXP:
        return "no-exp";
    case VD_JWT_EXPIRED:
        return "expired";
    case VD_JWT_NOT_YET_VALID:
        return "not-yet-valid";
    case VD_JWT_PROFILE:
        return "profile";
    case VD_JWT_NONCE_MISMATCH:
        return "nonce-mismatch";
    }
    return "unknown";
}

void vd_jwt_result_clear(vd_jwt_result_t *r)
{
    if (r != NULL) {
        json_decref(r->payload);
        r->payload = NULL;
    }
}

static vd_jwt_status_t fail(vd_jwt_result_t *r, vd_jwt_status_t s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static vd_jwt_status_t fail(vd_jwt_result_t *r, vd_jwt_status_t s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
    r->status = s;
    return s;
}

/* Decode a base64url segment holding a JSON object. */
static json_t *segment_object(const char *s, size_t len)
{
    uint8_t *b = NULL;
    size_t n = 0;
    json_t *j = NULL;
    if (vd_ear__b64url_decode(s, len, &b, &n) != 0) {
        return NULL;
    }
    j = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, NULL);
    free(b);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* The one key of `keys` whose kid is `kid`; NULL with *count set otherwise. */
static const json_t *find_key(const json_t *keys, const char *kid, size_t *count)
{
    const json_t *found = NULL;
    size_t i;
    json_t *k;
    *count = 0;
    json_array_foreach(keys, i, k)
    {
        const char *v = json_string_value(json_object_get(k, "kid"));
        if (v != NULL && strcmp(v, kid) == 0) {
            found = k;
            (*count)++;
        }
    }
    return *count == 1 ? found : NULL;
}

/* An integer claim, or -1 when present but not an integer, 0 when absent. */
static int int_claim(const json_t *p, const char *name, int64_t *v)
{
    const json_t *j = json_object_get(p, name);
    if (j == NULL) {
        return 0;
    }
    if (!json_is_integer(j)) {
        return -1;
    }
    *v = json_integer_value(j);
    return 1;
}

static vd_jwt_status_t check_times(const json_t *p, const vd_jwt_opts_t *o, vd_jwt_result_t *r)
{
    int64_t leeway = o->leeway < 0 ? VD_JWT_DEFAULT_LEEWAY : o->leeway > 86400 ? 86400 : o->leeway;
    int64_t nbf = 0;
    int has;
    if (int_claim(p, "exp", &r->exp) != 1) {
        return fail(r, VD_JWT_NO_EXP, "the token has no integer \"exp\"");
    }
    if (int_claim(p, "iat", &r->iat) != 1) {
        return fail(r, VD_JWT_NO_EXP, "the token has no integer \"iat\"");
    }
    /* Compared as now -/+ leeway (sane values) so that hostile claims cannot overflow. */
    if (r->exp < o->now - leeway) {
        return fail(r, VD_JWT_EXPIRED, "expired (exp %lld, now %lld, leeway %lld s)",
                    (long long)r->exp, (long long)o->now, (long long)leeway);
    }
    if (r->iat > o->now + leeway) {
        return fail(r, VD_JWT_NOT_YET_VALID, "issued in the future (iat %lld, now %lld)",
                    (long long)r->iat, (long long)o->now);
    }
    has = int_claim(p, "nbf", &nbf);
    if (has < 0 || (has > 0 && nbf > o->now + leeway)) {
        return fail(r, VD_JWT_NOT_YET_VALID, "\"nbf\" is not an integer in the past");
    }
    r->time_ok = 1;
    return VD_JWT_OK;
}

static vd_jwt_status_t check_nonce(const json_t *p, const vd_jwt_opts_t *o, vd_jwt_result_t *r)
{
    const char *n = json_string_value(json_object_get(p, "eat_nonce"));
    uint8_t buf[256];
    size_t len = 0;
    r->nonce_checked = 1;
    if (n == NULL) {
        return fail(r, VD_JWT_NONCE_MISMATCH, "the token has no \"eat_nonce\"");
    }
    if (strlen(n) > 4 * sizeof buf / 3 - 4 || vd_base64_decode(n, strlen(n), buf, &len) != 0) {
        return fail(r, VD_JWT_NONCE_MISMATCH, "\"eat_nonce\" is not base64");
    }
    if (len != o->nonce_len || CRYPTO_memcmp(buf, o->nonce, len) != 0) {
        return fail(r, VD_JWT_NONCE_MISMATCH, "\"eat_nonce\" is not the expected nonce");
    }
    r->nonce_ok = 1;
    return VD_JWT_OK;
}

static int tier_from_name(const char *s, vd_tier_t *t)
{
    static const vd_tier_t all[] = {VD_TIER_NONE, VD_TIER_AFFIRMING, VD_TIER_WARNING,
                                    VD_TIER_CONTRAINDICATED};
    for (size_t i = 0; s != NULL && i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, vd_tier_name(all[i])) == 0) {
            *t = all[i];
            return 0;
        }
    }
    return -1;
}

/* Read one appraisal: its status, checked against its own trustworthiness vector. */
static void read_submod(const char *label, const json_t *s, vd_jwt_submod_t *m)
{
    const json_t *tv = json_object_get(s, "ear.trustworthiness-vector");
    const char *problem = json_string_value(
        json_object_get(json_object_get(s, "ear.veraison.policy-claims"), "problem"));
    vd_tier_t worst = VD_TIER_NONE;
    snprintf(m->label, sizeof m->label, "%s", label);
    m->status_ok = 0;
    if (!json_is_object(s) ||
        tier_from_name(json_string_value(json_object_get(s, "ear.status")), &m->status) != 0) {
        snprintf(m->problem, sizeof m->problem, "no valid \"ear.status\"");
        return;
    }
    if (tv != NULL) {
        const char *key;
        json_t *v;
        if (!json_is_object(tv)) {
            snprintf(m->problem, sizeof m->problem, "trustworthiness vector is not an object");
            return;
        }
        json_object_foreach((json_t *)(uintptr_t)tv, key, v)
        {
            json_int_t x = json_integer_value(v);
            if (!json_is_integer(v) || x < -128 || x > 127) {
                snprintf(m->problem, sizeof m->problem, "trust claim \"%.40s\" is not an int8",
                         key);
                return;
            }
            vd_tier_t t = vd_tier_of((int8_t)x);
            worst = t > worst ? t : worst;
        }
    }
    if (worst > m->status && worst != VD_TIER_AFFIRMING) {
        snprintf(m->problem, sizeof m->problem,
                 "\"ear.status\" %s is better than its trustworthiness vector (%s)",
                 vd_tier_name(m->status), vd_tier_name(worst));
        return;
    }
    m->status_ok = 1;
    snprintf(m->problem, sizeof m->problem, "%s", problem != NULL ? problem : "");
}

static vd_jwt_status_t check_claims(const json_t *p, const vd_jwt_opts_t *o, vd_jwt_result_t *r)
{
    const char *profile = json_string_value(json_object_get(p, "eat_profile"));
    const json_t *submods = json_object_get(p, "submods");
    const char *label;
    json_t *s;
    if (check_times(p, o, r) != VD_JWT_OK) {
        return r->status;
    }
    if (profile == NULL ||
        (strcmp(profile, VD_EAR_PROFILE) != 0 && strcmp(profile, VD_EAR_PROFILE_TRUSTEE) != 0)) {
        return fail(r, VD_JWT_PROFILE, "\"eat_profile\" is not the EAR profile %s", VD_EAR_PROFILE);
    }
    if (o->nonce != NULL && check_nonce(p, o, r) != VD_JWT_OK) {
        return r->status;
    }
    if (!json_is_object(submods) || json_object_size(submods) == 0) {
        return fail(r, VD_JWT_MALFORMED, "the token has no \"submods\"");
    }
    if (json_object_size(submods) > VD_JWT_SUBMODS_MAX) {
        return fail(r, VD_JWT_MALFORMED, "more than %d submodules", VD_JWT_SUBMODS_MAX);
    }
    json_object_foreach((json_t *)(uintptr_t)submods, label, s)
    {
        read_submod(label, s, &r->submods[r->n_submods++]);
    }
    return VD_JWT_OK;
}

vd_err_t vd_jwt_verify(const char *token, size_t len, const json_t *jwks, const vd_jwt_opts_t *opts,
                       vd_jwt_result_t *out, vd_error_t *err)
{
    const json_t *keys = json_object_get(jwks, "keys");
    const char *d1, *d2, *alg_name, *kid, *typ;
    const json_t *jwk;
    json_t *header = NULL, *payload = NULL, *k;
    EVP_PKEY *pkey = NULL;
    uint8_t *sig = NULL;
    size_t sig_len = 0, count = 0, i;
    vd_sigalg_t alg, key_alg;
    char why[160];
    int v;
    memset(out, 0, sizeof *out);
    out->status = VD_JWT_MALFORMED;
    if (!json_is_array(keys)) {
        return VD_ERR(err, VD_E_MALFORMED, "JWKS: no \"keys\" array");
    }
    json_array_foreach(keys, i, k)
    {
        if (!json_is_object(k)) {
            return VD_ERR(err, VD_E_MALFORMED, "JWKS: key %zu is not an object", i);
        }
    }
    if (token == NULL || len == 0 || len > VD_JWT_MAX || memchr(token, '\0', len) != NULL) {
        fail(out, VD_JWT_MALFORMED, "empty, too long or binary token");
        goto out;
    }
    d1 = memchr(token, '.', len);
    d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL) {
        fail(out, VD_JWT_MALFORMED, "not a compact JWS (three dot-separated parts)");
        goto out;
    }
    header = segment_object(token, (size_t)(d1 - token));
    if (header == NULL) {
        fail(out, VD_JWT_MALFORMED, "the header is not base64url of a JSON object");
        goto out;
    }
    alg_name = json_string_value(json_object_get(header, "alg"));
    kid = json_string_value(json_object_get(header, "kid"));
    typ = json_string_value(json_object_get(header, "typ"));
    snprintf(out->alg, sizeof out->alg, "%s", alg_name != NULL ? alg_name : "");
    snprintf(out->kid, sizeof out->kid, "%s", kid != NULL ? kid : "");
    if (alg_name == NULL || vd_sigalg_from_name(alg_name, &alg) != 0) {
        fail(out, VD_JWT_ALG_REFUSED, "alg \"%.16s\" is refused (ES256, ES384, EdDSA only)",
             alg_name != NULL ? alg_name : "(missing)");
        goto out;
    }
    if (json_object_get(header, "crit") != NULL) {
        fail(out, VD_JWT_ALG_REFUSED, "the header has \"crit\" extensions");
        goto out;
    }
    if (json_object_get(header, "typ") != NULL && (typ == NULL || strcmp(typ, "JWT") != 0)) {
        fail(out, VD_JWT_MALFORMED, "typ is not \"JWT\"");
        goto out;
    }
    if (kid == NULL) {
        fail(out, VD_JWT_UNKNOWN_KID, "the header has no kid");
        goto out;
    }
    jwk = find_key(keys, kid, &count);
    if (jwk == NULL) {
        fail(out, VD_JWT_UNKNOWN_KID,
             count == 0 ? "kid %.50s is not in the JWKS" : "kid %.50s matches several JWKS keys",
             kid);
        goto out;
    }
    if (vd_ear__jwk_to_pkey(jwk, &pkey, &key_alg, why, sizeof why) != 0) {
        fail(out, VD_JWT_BAD_KEY, "kid %.50s: %s", kid, why);
        goto out;
    }
    if (key_alg != alg) {
        fail(out, VD_JWT_ALG_REFUSED, "alg %s does not match the key's %s", alg_name,
             vd_sigalg_name(key_alg));
        goto out;
    }
    if (vd_ear__b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - token), &sig, &sig_len) != 0) {
        fail(out, VD_JWT_MALFORMED, "the signature is not base64url");
        goto out;
    }
    v = vd_ear__jws_verify_sig(pkey, alg, (const uint8_t *)token, (size_t)(d2 - token), sig,
                               sig_len);
    if (v < 0) {
        EVP_PKEY_free(pkey);
        free(sig);
        json_decref(header);
        return VD_ERR(err, VD_E_INTERNAL, "signature verification failed internally");
    }
    if (v != 1) {
        fail(out, VD_JWT_BAD_SIGNATURE, "the %s signature does not verify with kid %.50s", alg_name,
             kid);
        goto out;
    }
    out->signature_ok = 1;
    payload = segment_object(d1 + 1, (size_t)(d2 - d1 - 1));
    if (payload == NULL) {
        fail(out, VD_JWT_MALFORMED, "the payload is not base64url of a JSON object");
        goto out;
    }
    out->payload = payload;
    out->status = VD_JWT_OK;
    if (check_claims(payload, opts, out) != VD_JWT_OK) {
        goto out;
    }
    out->affirming = out->n_submods > 0;
    for (i = 0; i < out->n_submods; i++) {
        if (!out->submods[i].status_ok || out->submods[i].status != VD_TIER_AFFIRMING) {
            out->affirming = 0;
        }
    }
out:
    EVP_PKEY_free(pkey);
    free(sig);
    json_decref(header);
    return VD_OK;
}
