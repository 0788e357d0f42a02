/*
 * EAR claims in the deployed dialect and compact JWS signing (see include/verdict/ear.h;
 * STANDARDS.md sections 2.1, 2.2, 2.5). Pure: the time and every value come from the caller.
 *
 * JSON is built and serialized by jansson (compact, members in insertion order); integers stay
 * integers (iat, exp and trust claims are never floats, EAR -03 section "EAR").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/base64.h"
#include "verdict/ear.h"
#include "verdict/jsonout.h"
#include "ear_internal.h"

vd_tier_t vd_ear_final_status(vd_tier_t status, const vd_tvec_t *v)
{
    vd_tier_t worst = vd_tvec_status(v);
    vd_tier_t out = worst > status ? worst : status;
    if (out == VD_TIER_AFFIRMING) {
        for (int i = 0; i < VD_CLAIM__COUNT; i++) {
            if (v->claims[i] == VD_AR_MALFUNCTION || v->claims[i] == VD_AR_UNEXPECTED) {
                return VD_TIER_NONE; /* part of the evidence could not be appraised */
            }
        }
    }
    /* A "none" appraisal stays none unless a claim is worse than affirming: an affirming
     * vector never promotes a result that could not be reached. */
    if (status == VD_TIER_NONE && worst == VD_TIER_AFFIRMING) {
        return VD_TIER_NONE;
    }
    return out;
}

static int tier_ok(vd_tier_t t)
{
    return t == VD_TIER_NONE || t == VD_TIER_AFFIRMING || t == VD_TIER_WARNING ||
           t == VD_TIER_CONTRAINDICATED;
}

static int policy_name_ok(const char *s)
{
    for (const char *q = s; *q; q++) {
        int ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                 *q == '-' || *q == '_' || *q == '.';
        if (!ok) {
            return 0;
        }
    }
    return strlen(s) <= 128;
}

static json_t *tvec_json(const vd_tvec_t *v)
{
    json_t *o = json_object();
    for (int i = 0; o != NULL && i < VD_CLAIM__COUNT; i++) {
        if (json_object_set_new(o, vd_claim_name((vd_claim_t)i), json_integer(v->claims[i])) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

/* `share`: the annotated evidence is referenced, not copied (see claims). */
static json_t *submod_json(const vd_ear_input_t *in, vd_tier_t status, int share)
{
    char policy_id[sizeof VD_EAR_POLICY_PREFIX + 160];
    json_t *s = json_object();
    int bad = s == NULL;
    if (in->policy_name == NULL || in->policy_name[0] == '\0') {
        snprintf(policy_id, sizeof policy_id, "%s", VD_EAR_POLICY_PREFIX);
    } else if (in->policy_version > 0) {
        snprintf(policy_id, sizeof policy_id, "%s/%s@v%d", VD_EAR_POLICY_PREFIX, in->policy_name,
                 in->policy_version);
    } else {
        snprintf(policy_id, sizeof policy_id, "%s/%s", VD_EAR_POLICY_PREFIX, in->policy_name);
    }
    bad = bad || json_object_set_new(s, "ear.status", json_string(vd_tier_name(status))) != 0;
    bad = bad || json_object_set_new(s, "ear.trustworthiness-vector", tvec_json(&in->tvec)) != 0;
    bad = bad || json_object_set_new(s, "ear.appraisal-policy-id", json_string(policy_id)) != 0;
    if (!bad && in->annotated_evidence != NULL) {
        /* A copy when the claims are handed out: the caller's object may be shared with other
         * threads or answers, and change. A reference when they are encoded and freed before
         * the caller has its object back (vd_ear_sign): it is only read, its reference count
         * is jansson's atomic one, and the copy was a fifth of the token's JSON work. */
        union {
            const json_t *c;
            json_t *m;
        } ae = {.c = in->annotated_evidence};
        bad = json_object_set_new(s, "ear.veraison.annotated-evidence",
                                  share ? json_incref(ae.m) : json_deep_copy(ae.c)) != 0;
    }
    if (!bad && status != VD_TIER_AFFIRMING && in->problem != NULL && in->problem[0] != '\0') {
        /* json_string refuses invalid UTF-8 (NULL, and so an error): problems are ours. */
        bad = json_object_set_new(s, "ear.veraison.policy-claims",
                                  json_pack("{ss}", "problem", in->problem)) != 0;
    }
    if (bad) {
        json_decref(s);
        return NULL;
    }
    return s;
}

static vd_err_t claims(const vd_ear_input_t *in, int share, json_t **out, vd_error_t *err)
{
    json_t *c = NULL, *submods = NULL;
    vd_tier_t status;
    int64_t ttl = in->ttl > 0 ? in->ttl : VD_EAR_DEFAULT_TTL;
    *out = NULL;
    if (in->developer == NULL || in->developer[0] == '\0' || in->build == NULL ||
        in->build[0] == '\0') {
        return VD_ERR(err, VD_E_USAGE, "EAR: ear.verifier-id needs a developer and a build");
    }
    if (in->iat <= 0 || in->iat > INT64_MAX - ttl) {
        return VD_ERR(err, VD_E_USAGE, "EAR: iat %lld is not a valid time", (long long)in->iat);
    }
    if (!tier_ok(in->status)) {
        return VD_ERR(err, VD_E_USAGE, "EAR: status %d is not a tier", (int)in->status);
    }
    if (in->nonce != NULL &&
        (in->nonce_len < VD_EAR_NONCE_MIN || in->nonce_len > VD_EAR_NONCE_MAX)) {
        return VD_ERR(err, VD_E_USAGE, "EAR: a nonce of %zu bytes cannot be eat_nonce (%d..%d)",
                      in->nonce_len, VD_EAR_NONCE_MIN, VD_EAR_NONCE_MAX);
    }
    if (in->annotated_evidence != NULL && !json_is_object(in->annotated_evidence)) {
        return VD_ERR(err, VD_E_USAGE, "EAR: annotated evidence must be a JSON object");
    }
    if (in->policy_name != NULL && !policy_name_ok(in->policy_name)) {
        return VD_ERR(err, VD_E_USAGE, "EAR: policy name is not [A-Za-z0-9._-]{1,128}");
    }
    status = vd_ear_final_status(in->status, &in->tvec);
    c = json_object();
    submods = json_object();
    if (c == NULL || submods == NULL) {
        goto nomem;
    }
    if (json_object_set_new(c, "eat_profile", json_string(VD_EAR_PROFILE)) != 0 ||
        json_object_set_new(c, "iat", json_integer(in->iat)) != 0 ||
        json_object_set_new(c, "exp", json_integer(in->iat + ttl)) != 0) {
        goto nomem;
    }
    if (in->issuer != NULL && in->issuer[0] != '\0' &&
        json_object_set_new(c, "iss", json_string(in->issuer)) != 0) {
        goto nomem;
    }
    if (json_object_set_new(c, "ear.verifier-id",
                            json_pack("{ssss}", "developer", in->developer, "build", in->build)) !=
        0) {
        goto nomem;
    }
    if (in->nonce != NULL) {
        char b64[2 * VD_EAR_NONCE_MAX];
        if (vd_base64_encode(in->nonce, in->nonce_len, VD_B64_URL_PAD, b64, sizeof b64) ==
                (size_t)-1 ||
            json_object_set_new(c, "eat_nonce", json_string(b64)) != 0) {
            goto nomem;
        }
    }
    if (json_object_set_new(submods, VD_EAR_SUBMOD, submod_json(in, status, share)) != 0) {
        goto nomem;
    }
    if (json_object_set_new(c, "submods", submods) != 0) {
        submods = NULL;
        goto nomem;
    }
    *out = c;
    return VD_OK;
nomem:
    json_decref(submods);
    json_decref(c);
    /* json_string/json_pack also fail on invalid UTF-8 in the caller's strings. */
    return VD_ERR(err, VD_E_NOMEM, "EAR: out of memory (or a string that is not UTF-8)");
}

vd_err_t vd_ear_claims(const vd_ear_input_t *in, json_t **out, vd_error_t *err)
{
    return claims(in, 0, out, err);
}

vd_err_t vd_jws_sign(const vd_signkey_t *key, const json_t *payload, char **token, vd_error_t *err)
{
    vd_err_t rc = VD_OK;
    json_t *header = NULL;
    char *htext = NULL, *ptext = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL, *out = NULL;
    uint8_t sig[VD_SIG_MAX];
    size_t sig_len = 0, signing_len, n;
    *token = NULL;
    header = json_pack("{ssssss}", "alg", vd_sigalg_name(vd_signkey_alg(key)), "typ", "JWT", "kid",
                       vd_signkey_kid(key));
    htext = header != NULL ? vd_json_dumps(header) : NULL;
    ptext = vd_json_dumps(payload);
    h64 = htext != NULL ? vd_ear__b64url((const uint8_t *)htext, strlen(htext)) : NULL;
    p64 = ptext != NULL ? vd_ear__b64url((const uint8_t *)ptext, strlen(ptext)) : NULL;
    if (h64 == NULL || p64 == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "JWS: out of memory");
        goto out;
    }
    signing_len = strlen(h64) + 1 + strlen(p64);
    n = signing_len + 1 + vd_base64_encoded_len(VD_SIG_MAX, VD_B64_URL_NOPAD) + 1;
    out = malloc(n);
    if (out == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "JWS: out of memory");
        goto out;
    }
    snprintf(out, n, "%s.%s", h64, p64);
    rc = vd_signkey_sign(key, (const uint8_t *)out, signing_len, sig, &sig_len, err);
    if (rc != VD_OK) {
        goto out;
    }
    s64 = vd_ear__b64url(sig, sig_len);
    if (s64 == NULL) {
        rc = VD_ERR(err, VD_E_NOMEM, "JWS: out of memory");
        goto out;
    }
    snprintf(out + signing_len, n - signing_len, ".%s", s64);
    *token = out;
    out = NULL;
out:
    free(out);
    free(s64);
    free(p64);
    free(h64);
    free(ptext);
    free(htext);
    json_decref(header);
    return rc;
}

vd_err_t vd_ear_sign(const vd_ear_input_t *in, const vd_signkey_t *key, char **token,
                     vd_error_t *err)
{
    json_t *c = NULL;
    vd_err_t rc = claims(in, 1, &c, err);
    *token = NULL;
    if (rc == VD_OK) {
        rc = vd_jws_sign(key, c, token, err);
    }
    json_decref(c);
    return rc;
}
