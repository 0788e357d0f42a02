/*
 * Decoding the body of POST /v1/attest and the policy dry runs (issue #8 section 3):
 *
 *   {"evidence": {"report": B64, "cert_table": B64?, "certs": [PEM | B64 DER]?}
 *              | {"tsm": <configfs-tsm JSON envelope>}
 *              | {"azure_vtpm": <Azure vTPM evidence JSON, vtpm.h>, "certs": [...]?},
 *    "nonce": B64?, "runtime_data": B64?, "challenge": STRING?, "policy": NAME?}
 *
 * Base64 standard or URL-safe, padded or not. Unknown members are refused, so that a misspelt
 * "nonce" cannot silently turn into an appraisal without a freshness check. Pure: no I/O.
 */
#ifndef verdict__api_attest_req_h
#define verdict__api_attest_req_h

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "verdict/appraise.h"
#include "verdict/certset.h"
#include "verdict/error.h"

typedef struct vd_attest_req {
    uint8_t *report; /* the report bytes (length judged by the core) */
    size_t report_len;
    uint8_t *cert_table; /* NULL if none */
    size_t cert_table_len;
    vd_certset_t *certs; /* NULL if none */
    uint8_t *nonce;      /* NULL if none */
    size_t nonce_len;
    uint8_t *runtime_data; /* NULL if none */
    size_t runtime_data_len;
    char *challenge; /* NULL if none */
    char *policy;    /* NULL if none */
} vd_attest_req_t;

/**
 * Decode `doc` (a parsed JSON object). `extra_ok` lists further top-level members the caller
 * handles itself (NULL-terminated, may be NULL). VD_E_MALFORMED with a message naming the
 * member; VD_E_TOO_LARGE; VD_E_NOMEM. Free with vd_attest_req_free (also after an error).
 */
vd_err_t vd_attest_req_decode(json_t *doc, const char *const *extra_ok, vd_attest_req_t *out,
                              vd_error_t *err) __attribute__((warn_unused_result));

void vd_attest_req_free(vd_attest_req_t *r);

/**
 * The appraisal request for `req` at the current time (pointers borrowed from `req`, which must
 * outlive it): the evidence, certificates, nonce, runtime data and policy name. With a
 * "challenge", vTPM evidence is appraised under VD_VTPM_BIND_SHA384 (vtpm.h).
 */
void vd_attest_req_to_appraise(const vd_attest_req_t *req, vd_appraise_request_t *a);

/**
 * Decode the base64 string `v` (any alphabet, padded or not) into a malloc'd buffer of at most
 * `max` bytes. `what` names it in messages. VD_E_MALFORMED, VD_E_TOO_LARGE, VD_E_NOMEM.
 */
vd_err_t vd_api_b64_member(json_t *v, const char *what, size_t max, uint8_t **out, size_t *len,
                           vd_error_t *err) __attribute__((warn_unused_result));

#endif
