/*
 * verdict: verifying an EAR JWT as a relying party does (`verdict token verify`, tests, and any
 * caller that must check a token against a JWKS).
 *
 * The token is untrusted. It is accepted only when all of these hold, in this order (the first
 * failure is the result):
 *   1. compact JWS form: three base64url segments without padding, at most VD_JWT_MAX bytes;
 *      header and payload are JSON objects (duplicate members refused);
 *   2. the header names a `kid`; `alg` is never "none" or anything but ES256/ES384/EdDSA; no
 *      `crit` (no extension is understood); `typ`, when present, is "JWT";
 *   3. exactly one key of the JWKS has that kid, and the header's alg is the one that key allows
 *      (its `alg`, which must agree with kty/crv; when the JWK has no alg, the one its kty/crv
 *      implies). Keys or URLs in the header (jwk, jku, x5u, x5c) are never used;
 *   4. the signature verifies (R||S for ECDSA, of exactly the curve's length);
 *   5. `exp` is an integer and now <= exp + leeway; `iat` is an integer and iat <= now +
 *      leeway; `nbf`, when present, is an integer and nbf <= now + leeway;
 *   6. `eat_profile` is the deployed EAR profile or Trustee's alias of it;
 *   7. when a nonce is expected: `eat_nonce` decodes (any base64 form) to exactly those bytes.
 * Then every submodule is read: its `ear.status` must be one of the four tier names, and must
 * not be better than its own trustworthiness vector (a token that breaks the AR4SI invariant is
 * not taken at its word). The token is affirming only when it is valid, has at least one
 * submodule, and every submodule is affirming.
 *
 * Pure: the time is an input, the JWKS is JSON the caller obtained. Thread-safe.
 */
#ifndef verdict__jwt_h
#define verdict__jwt_h

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "verdict/ar4si.h"
#include "verdict/error.h"

#define VD_JWT_MAX            (1024 * 1024) /* bytes of a compact token */
#define VD_JWT_DEFAULT_LEEWAY 60            /* seconds of clock skew allowed */
#define VD_JWT_SUBMODS_MAX    32
#define VD_JWT_LABEL_MAX      64
#define VD_JWT_DETAIL_MAX     256

/* Outcome of a token check; append-only. */
typedef enum vd_jwt_status {
    VD_JWT_OK = 0,
    VD_JWT_MALFORMED,      /* not a compact JWS of JSON objects */
    VD_JWT_ALG_REFUSED,    /* alg none/unsupported, crit, or alg not the key's */
    VD_JWT_UNKNOWN_KID,    /* no kid, or no (or more than one) JWKS key with it */
    VD_JWT_BAD_KEY,        /* the JWKS key with that kid is unusable */
    VD_JWT_BAD_SIGNATURE,  /* the signature does not verify */
    VD_JWT_NO_EXP,         /* exp (or iat) missing or not an integer */
    VD_JWT_EXPIRED,        /* now > exp + leeway */
    VD_JWT_NOT_YET_VALID,  /* iat or nbf in the future beyond leeway */
    VD_JWT_PROFILE,        /* eat_profile missing or not an EAR profile */
    VD_JWT_NONCE_MISMATCH, /* eat_nonce missing, undecodable or different */
} vd_jwt_status_t;

typedef struct vd_jwt_opts {
    int64_t now;          /* Unix seconds */
    int64_t leeway;       /* seconds; < 0 means VD_JWT_DEFAULT_LEEWAY */
    const uint8_t *nonce; /* expected eat_nonce bytes, or NULL (not checked) */
    size_t nonce_len;
} vd_jwt_opts_t;

typedef struct vd_jwt_submod {
    char label[VD_JWT_LABEL_MAX];    /* truncated if longer (the token is still checked in full) */
    int status_ok;                   /* 1: `status` is a valid, consistent ear.status */
    vd_tier_t status;                /* meaningful when status_ok */
    char problem[VD_JWT_DETAIL_MAX]; /* why status_ok is 0, or ear.veraison.policy-claims.problem */
} vd_jwt_submod_t;

typedef struct vd_jwt_result {
    vd_jwt_status_t status;         /* VD_JWT_OK or the first failed check */
    char detail[VD_JWT_DETAIL_MAX]; /* human-readable reason for a failure */
    int signature_ok;               /* the signature verified with the kid's key */
    int time_ok;                    /* exp/iat/nbf checks passed */
    int nonce_checked, nonce_ok;
    char alg[16];
    char kid[VD_JWT_LABEL_MAX];
    int64_t iat, exp;
    json_t *payload; /* the claims, set once the signature verified (even if a later check
                        failed); NULL otherwise. Release with vd_jwt_result_clear. */
    size_t n_submods;
    vd_jwt_submod_t submods[VD_JWT_SUBMODS_MAX];
    int affirming; /* valid token, >= 1 submodule, all affirming: the only "yes" */
} vd_jwt_result_t;

/** Short name of a status ("ok", "malformed", "alg-refused", ...). */
const char *vd_jwt_status_str(vd_jwt_status_t s);

/**
 * Check `token` (len bytes, not necessarily NUL-terminated) against `jwks` ({"keys": [...]}).
 * Returns VD_OK whenever `out` holds a result, valid or not; an error only for a JWKS that is
 * not {"keys": [objects]} (VD_E_MALFORMED), VD_E_NOMEM. Call vd_jwt_result_clear afterwards.
 */
vd_err_t vd_jwt_verify(const char *token, size_t len, const json_t *jwks, const vd_jwt_opts_t *opts,
                       vd_jwt_result_t *out, vd_error_t *err) __attribute__((warn_unused_result));

/** Release what a result holds (its payload). NULL-safe. */
void vd_jwt_result_clear(vd_jwt_result_t *r);

#endif
