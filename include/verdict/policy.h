/*
 * verdict: appraisal policies for SEV-SNP evidence.
 *
 * A policy is YAML (policies/README.md documents the language); it is compiled once into a
 * vd_policy_t that evaluation reads without parsing anything. Evaluation is pure: it takes the
 * result of vd_snp_verify (the genuineness checks and the decoded report), the nonce and runtime
 * data the caller expects to be bound in REPORT_DATA, and yields one named check per rule plus
 * an AR4SI trustworthiness vector and the resulting status.
 */
#ifndef verdict__policy_h
#define verdict__policy_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/ar4si.h"
#include "verdict/check.h"
#include "verdict/error.h"
#include "verdict/verify.h"

typedef struct vd_policy vd_policy_t;

#define VD_POLICY_NAME_MAX 64

/**
 * Compile a policy from YAML text. `filename` appears in messages, which always carry
 * file:line:column and say what was expected. VD_E_MALFORMED for any schema error (unknown
 * key, wrong type, value out of range, hex of the wrong length), VD_E_TOO_LARGE past the
 * document bounds. Caller frees with vd_policy_free.
 */
vd_err_t vd_policy_compile(const char *yaml, size_t len, const char *filename, vd_policy_t **out,
                           vd_error_t *err) __attribute__((warn_unused_result));

void vd_policy_free(vd_policy_t **pp);

/** The policy's `name` (valid while the policy lives). */
const char *vd_policy_name(const vd_policy_t *p);

/** The policy's `description`, or "". */
const char *vd_policy_description(const vd_policy_t *p);

struct vd_vtpm_result; /* vtpm.h */

/** Evidence-side inputs that are not in the report. */
typedef struct vd_policy_input {
    const uint8_t *nonce; /* what the relying party expects bound in REPORT_DATA; may be NULL */
    size_t nonce_len;
    const uint8_t *runtime_data; /* e.g. Trustee's runtime-data JSON; may be NULL */
    size_t runtime_data_len;
    /* Azure vTPM evidence (vtpm.h), checked by vd_vtpm_check; NULL for bare SNP evidence. Its
     * claims feed the tpm.* and azure.* rules, and its nonce is bound in the quote's
     * extraData (tpm.nonce), not in REPORT_DATA. */
    const struct vd_vtpm_result *vtpm;
} vd_policy_input_t;

typedef struct vd_appraisal {
    vd_checks_t checks; /* the policy's checks (the genuineness checks stay in vd_snp_result) */
    vd_tvec_t tvec;
    vd_tier_t status;
    char policy_name[VD_POLICY_NAME_MAX];
} vd_appraisal_t;

/**
 * Appraise verified evidence against a policy. `snp` must come from vd_snp_verify. Evidence that
 * is not genuine yields a contraindicated appraisal (every claim 99, "cryptographic validation
 * failed") with no policy checks run, or 1 ("unexpected evidence") for a malformed report; evidence
 * whose collateral is missing yields status none. Never fails: no allocation, no I/O.
 * `policy` may be NULL: then only genuineness is appraised, and the freshness of a nonce or
 * runtime data in `in` (compared `raw`): whatever the caller gives is always checked.
 */
void vd_policy_evaluate(const vd_policy_t *policy, const vd_snp_result_t *snp,
                        const vd_policy_input_t *in, vd_appraisal_t *out);

/* The SEV-SNP API format of an ECDSA P-384 public key (AMD SEV-SNP ABI #56860, "ECDSA Public
 * Key Format"): CURVE (u32 LE, 2 = P-384), QX and QY (72 bytes each, little-endian, zero-padded),
 * then zeros to 0x404 bytes. ID_KEY_DIGEST and AUTHOR_KEY_DIGEST are SHA-384 of it. */
#define VD_SEV_PUBKEY_SIZE 0x404

/**
 * SHA-384 of the SEV-SNP API form of a public key given as PEM (`-----BEGIN PUBLIC KEY-----`
 * or a `-----BEGIN CERTIFICATE-----` whose key is taken): what a report's ID_KEY_DIGEST or
 * AUTHOR_KEY_DIGEST holds for that key. Pure. VD_E_MALFORMED when the text holds no public key
 * or certificate, VD_E_UNSUPPORTED when the key is not EC P-384 (the only ID/author key type
 * SEV-SNP has), VD_E_NOMEM, VD_E_INTERNAL.
 */
vd_err_t vd_policy_sev_key_digest(const char *pem, size_t len, uint8_t out[48], vd_error_t *err)
    __attribute__((warn_unused_result));

#endif
