/*
 * verdict: EAR attestation results as signed JWTs, in the deployed dialect (STANDARDS.md
 * section 2: veraison/ear, Veraison services, Trustee AS and KBS).
 *
 * Header: {"alg": "ES256"|"ES384"|"EdDSA", "typ": "JWT", "kid": RFC 7638 thumbprint}.
 * Claims:
 *   eat_profile      "tag:github.com,2023:veraison/ear"
 *   iat, exp         integers (NumericDate); exp = iat + ttl (default 300 s). A Trustee KBS
 *                    refuses tokens without exp (STANDARDS.md 0.6).
 *   iss              the configured issuer URL, when one is configured
 *   ear.verifier-id  {"developer", "build"}
 *   eat_nonce        when the request had a nonce: padded base64url of its bytes, as Veraison
 *                    emits it (vts/appraisal/context.go); 8..64 bytes (88 characters at most,
 *                    the range veraison/ear accepts)
 *   submods          exactly one appraisal, labelled "SEVSNP" (VD_EAR_SUBMOD, Veraison's scheme
 *                    name for the same evidence), holding:
 *       ear.status                      "none"|"affirming"|"warning"|"contraindicated"
 *       ear.trustworthiness-vector      all eight AR4SI keys, integers (0 = no claim)
 *       ear.appraisal-policy-id         "policy:SEVSNP/<name>@v<version>" (a stored policy),
 *                                       "policy:SEVSNP/<name>" (a policy not from the store:
 *                                       a file or a dry run), or "policy:SEVSNP" when no
 *                                       appraisal policy was applied (genuineness checks only;
 *                                       Veraison's form for "no policy", which no named policy
 *                                       can collide with)
 *       ear.veraison.annotated-evidence the decoded report, as the caller gives it
 *       ear.veraison.policy-claims      {"problem": "..."} when the status is not affirming
 *                                       and a problem was given
 *
 * Status invariant (AR4SI; EAR "Appraisal"): ear.status is never better than the worst claim of
 * the vector: a warning or contraindicated claim raises it to that tier. verdict is stricter in
 * one way: it never emits "affirming" when a claim says the verifier could not appraise
 * (-1 malfunction, 1 unexpected evidence); such a result is "none". vd_ear_final_status gives
 * the status the token will carry, so an API can report the same one.
 *
 * Pure: no clock (iat is an input), no I/O. Thread-safe given distinct inputs; the key may be
 * shared.
 */
#ifndef verdict__ear_h
#define verdict__ear_h

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "verdict/ar4si.h"
#include "verdict/error.h"
#include "verdict/signkey.h"

#define VD_EAR_PROFILE         "tag:github.com,2023:veraison/ear"
#define VD_EAR_PROFILE_TRUSTEE "tag:github.com,2024:confidential-containers/Trustee" /* alias */
#define VD_EAR_SUBMOD          "SEVSNP"
#define VD_EAR_POLICY_PREFIX   "policy:SEVSNP"
#define VD_EAR_DEFAULT_TTL     300
#define VD_EAR_NONCE_MIN       8 /* bytes; veraison/ear accepts eat_nonce of 8..88 chars */
#define VD_EAR_NONCE_MAX       64
#define VD_EAR_MEDIA_TYPE      "application/eat+jwt; eat_profile=\"" VD_EAR_PROFILE "\""

/* Everything a token says. Pointers are borrowed for the duration of the call. */
typedef struct vd_ear_input {
    vd_tier_t status; /* the appraisal's status, before the invariant is applied */
    vd_tvec_t tvec;

    const char *policy_name; /* NULL or "": no appraisal policy was applied */
    int policy_version;      /* > 0 for a stored policy; 0: not from the store */

    const uint8_t *nonce; /* NULL: no eat_nonce */
    size_t nonce_len;     /* VD_EAR_NONCE_MIN..VD_EAR_NONCE_MAX when nonce is set */

    const json_t *annotated_evidence; /* an object, or NULL (omitted) */
    const char *problem;              /* NULL/"" or why it is not affirming */

    int64_t iat; /* Unix seconds, > 0 */
    int64_t ttl; /* seconds; <= 0 means VD_EAR_DEFAULT_TTL */

    const char *issuer;    /* iss; NULL or "" omits it */
    const char *developer; /* ear.verifier-id.developer; required */
    const char *build;     /* ear.verifier-id.build; required */
} vd_ear_input_t;

/** The status a token for (`status`, `v`) carries (see the invariant above). */
vd_tier_t vd_ear_final_status(vd_tier_t status, const vd_tvec_t *v);

/**
 * The claims set for `in`. New reference in *out. VD_E_USAGE for invalid input (missing
 * developer/build, iat <= 0, nonce length outside 8..64, a status that is not a tier,
 * annotated evidence that is not an object, a policy name with characters outside
 * [A-Za-z0-9._-]), VD_E_NOMEM.
 */
vd_err_t vd_ear_claims(const vd_ear_input_t *in, json_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Sign `payload` as a compact JWS (header alg/typ "JWT"/kid of `key`). *token is malloc'd,
 * NUL-terminated; caller frees. VD_E_NOMEM, VD_E_INTERNAL.
 */
vd_err_t vd_jws_sign(const vd_signkey_t *key, const json_t *payload, char **token, vd_error_t *err)
    __attribute__((warn_unused_result));

/** vd_ear_claims then vd_jws_sign: the EAR JWT for `in`. */
vd_err_t vd_ear_sign(const vd_ear_input_t *in, const vd_signkey_t *key, char **token,
                     vd_error_t *err) __attribute__((warn_unused_result));

#endif
