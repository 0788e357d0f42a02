/*
 * verdict: Azure confidential VMs with a vTPM (../shared/docs/VTPM.md, issue #13).
 *
 * The chain  ARK -> ASK -> VCEK -> SNP report -> REPORT_DATA -> runtime data -> AK -> quote ->
 * PCRs + nonce. The SNP part is the existing core (vd_snp_verify, verify.h); this module decodes
 * the evidence around it and checks every link after the SNP report. Pure: no I/O, no clock.
 *
 * Use (the appraisal pipeline, a few lines):
 *
 *     vd_vtpm_evidence_t ev;
 *     if (vd_vtpm_evidence_detect(buf, len) != VD_VTPM_FORM_NONE)
 *         vd_vtpm_evidence_parse(buf, len, &ev, &err);      // error = input error (exit 2)
 *     vd_vtpm_add_certs(&ev, candidates, &err);               // the VCEK carried in the evidence
 *     in.report = vd_vtpm_snp_report(&ev, &in.report_len);   // the SNP report inside the HCL
 *     vd_snp_verify(&in, snp, &err);                          // every SNP check, as for bare SNP
 *     vd_vtpm_check(&ev, nonce, nonce_len, snp, vtpm, &err);  // adds hcl.* tpm.* vtpm.* checks
 *     ...                                                     // snp->status now covers both
 *     vd_vtpm_evidence_free(&ev);
 *
 * or, when every certificate is at hand, vd_vtpm_verify() does the middle three in one call.
 * Parsers of the three inner formats are public so that they can be fuzzed and tested alone.
 */
#ifndef verdict__vtpm_h
#define verdict__vtpm_h

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "verdict/certset.h"
#include "verdict/check.h"
#include "verdict/error.h"
#include "verdict/trust.h"
#include "verdict/verify.h"

/* ---- limits (every length in the evidence is checked against these) ------------------------ */

#define VD_VTPM_EVIDENCE_MAX (1024 * 1024) /* the whole JSON document */
#define VD_VTPM_HCL_MAX      16384         /* HCL report: the NV index is 2,600 bytes */
#define VD_VTPM_QUOTE_MAX    1024          /* TPMS_ATTEST: 122 and 161 bytes in the samples */
#define VD_VTPM_SIG_MAX      512           /* bare RSA signature: up to RSA-4096 */
#define VD_VTPM_VCEK_MAX     8192          /* the VCEK, PEM or DER (about 1.3 KB DER) */
#define VD_VTPM_PCR_VALUES   64            /* values a pcrs list may hold before it is refused */
#define VD_VTPM_PCRS         24            /* PCR 0..23: the only PCRs a selection may name */
#define VD_VTPM_USER_DATA    64            /* runtime data user-data: 128 hex digits */
#define VD_VTPM_AK_MAX_BYTES 1024          /* AK modulus: up to 8192 bits */
#define VD_VTPM_AK_MIN_BITS  2048

/* ---- the evidence -------------------------------------------------------------------------- */

typedef enum vd_vtpm_form {
    VD_VTPM_FORM_NONE = 0, /* not vTPM evidence */
    VD_VTPM_FORM_V0,       /* {"report", "quote": {...}, "vcek"}: byte arrays, PEM VCEK */
    VD_VTPM_FORM_V1,       /* {"version": 1, "hcl_report", "tpm_quote", "vcek"}: base64url, hex */
    VD_VTPM_FORM_V2,       /* as v1; user-data also carries the nonce (VTPM.md section 7) */
    VD_VTPM_FORM_HCL,      /* the raw HCL report (NV index 0x01400001), no quote, no VCEK */
} vd_vtpm_form_t;

typedef struct vd_vtpm_evidence {
    vd_vtpm_form_t form;
    uint8_t *hcl; /* the whole HCL report as sent (NV index contents) */
    size_t hcl_len;
    int has_quote;  /* 0 only for VD_VTPM_FORM_HCL */
    uint8_t *quote; /* marshalled TPMS_ATTEST, without the TPM2B size */
    size_t quote_len;
    uint8_t *signature; /* the bare RSA signature */
    size_t signature_len;
    uint8_t (*pcrs)[32]; /* the PCR values sent, in list order */
    size_t n_pcrs;
    uint8_t *vcek; /* PEM text (v0) or DER (v1, v2); NULL when the evidence has none */
    size_t vcek_len;
    vd_certset_t *vcek_certs; /* `vcek` decoded once, at parse; NULL if none or undecodable */
    char vcek_problem[192];   /* why `vcek` did not decode ("" otherwise) */
} vd_vtpm_evidence_t;

/** "v0", "v1", "v2", "hcl" or "none". */
const char *vd_vtpm_form_str(vd_vtpm_form_t f);

/**
 * Which form `p` is, by content alone: a buffer starting with "HCLA" is a raw HCL report; a JSON
 * object with a "version" member is v1/v2 (any other version is still reported as V1 so that
 * vd_vtpm_evidence_parse names the problem); one with "report", "quote" and "vcek" is v0;
 * anything else (the configfs-tsm envelope {outblob, auxblob}, bare reports) is NONE.
 */
vd_vtpm_form_t vd_vtpm_evidence_detect(const uint8_t *p, size_t len);

/**
 * Decode vTPM evidence into `out` (caller frees with vd_vtpm_evidence_free, also on error).
 * Errors are input errors: VD_E_MALFORMED (message names the member: wrong type, bad base64 or
 * hex, a byte value outside 0..255, a PCR value that is not 32 bytes, a version other than 1
 * or 2), VD_E_TOO_LARGE past the limits above, VD_E_NOMEM. The contents are not judged here:
 * that is vd_vtpm_check's. The VCEK is decoded here once (vcek_certs); one that does not
 * decode is not an input error but a rejection by vtpm.vcek (vcek_problem says why).
 */
vd_err_t vd_vtpm_evidence_parse(const uint8_t *p, size_t len, vd_vtpm_evidence_t *out,
                                vd_error_t *err);

void vd_vtpm_evidence_free(vd_vtpm_evidence_t *e);

/**
 * The SNP report inside the HCL report (borrowed from `e`, 1184 bytes), or NULL with *len 0
 * when the HCL report is too short to hold one (vd_snp_verify then fails report.format).
 */
const uint8_t *vd_vtpm_snp_report(const vd_vtpm_evidence_t *e, size_t *len);

/**
 * Add the VCEK carried in the evidence (if any, already decoded: no second parse) to `certs`,
 * as origin "vTPM evidence vcek". VD_E_MALFORMED if it did not decode: the caller may go on
 * without it, since vd_vtpm_check's vtpm.vcek then rejects the evidence.
 */
vd_err_t vd_vtpm_add_certs(const vd_vtpm_evidence_t *e, vd_certset_t *certs, vd_error_t *err);

/* ---- the HCL report (VTPM.md section 2; little-endian) ------------------------------------- */

#define VD_HCL_SNP_OFFSET     0x020
#define VD_HCL_REQUEST_OFFSET 0x4C0
#define VD_HCL_RUNTIME_OFFSET 0x4D4

typedef struct vd_vtpm_hcl {
    uint32_t header_version; /* 1 Milan, 2 Genoa */
    uint32_t report_size;
    uint32_t request_type;
    uint32_t status;
    uint32_t request_size;
    uint32_t request_version;
    uint32_t report_type;        /* 2 = SEV-SNP */
    uint32_t hash_type;          /* 1 = SHA-256 */
    const uint8_t *snp_report;   /* borrowed from the input, 1184 bytes */
    const uint8_t *runtime_data; /* borrowed from the input, runtime_len bytes */
    size_t runtime_len;
} vd_vtpm_hcl_t;

/**
 * Decode and check an HCL report: magic "HCLA", header version 1 or 2, request type 2, status 0,
 * reserved zero, request-data version 1, report type 2 (SEV-SNP), hash type 1 (SHA-256),
 * report size == 0x4D4 + n <= len, request-data size == 20 + n. VD_E_MALFORMED (a length or
 * bound) or VD_E_UNSUPPORTED (a value) with the field named; nothing in `out` is usable then.
 */
vd_err_t vd_vtpm_hcl_parse(const uint8_t *p, size_t len, vd_vtpm_hcl_t *out, vd_error_t *err);

/* ---- the runtime data JSON (VTPM.md section 4) --------------------------------------------- */

typedef struct vd_vtpm_runtime {
    /* The AK: the one "HCLAkPub" key of kty RSA. ak_ok = 0 with ak_problem saying why. */
    int ak_ok;
    char ak_problem[160];
    uint8_t ak_n[VD_VTPM_AK_MAX_BYTES]; /* big-endian modulus, no leading zero bytes */
    size_t ak_n_len;
    uint8_t ak_e[8]; /* big-endian exponent */
    size_t ak_e_len;
    /* vm-configuration: 1 true, 0 false, -1 absent */
    int secure_boot;
    int tpm_enabled;
    int console_enabled;
    int tpm_persisted;
    char vm_unique_id[64]; /* "" when absent */
    int has_user_data;
    uint8_t user_data[VD_VTPM_USER_DATA];
} vd_vtpm_runtime_t;

/**
 * Parse runtime data: a JSON object (duplicate members refused) with "keys" an array of
 * objects; "vm-configuration", when present, an object whose known members have their types
 * (booleans, vmUniqueId a string); "user-data", when present, 128 hex digits. VD_E_MALFORMED
 * with the member named. The AK is extracted on success, its absence or misuse reported in
 * ak_ok/ak_problem (not an error of the parse).
 */
vd_err_t vd_vtpm_runtime_parse(const uint8_t *p, size_t len, vd_vtpm_runtime_t *out,
                               vd_error_t *err);

/* ---- the quote: TPMS_ATTEST (VTPM.md section 5; big-endian) -------------------------------- */

#define VD_TPM_GENERATED_VALUE 0xFF544347u
#define VD_TPM_ST_ATTEST_QUOTE 0x8018u
#define VD_TPM_ALG_SHA256      0x000Bu
#define VD_TPM_NAME_MAX        68 /* TPMU_NAME: a TPMT_HA (2 + 64) or a handle */
#define VD_TPM_DATA_MAX        66 /* TPM2B_DATA: sizeof(TPMT_HA) */
#define VD_TPM_DIGEST_MAX      64 /* TPM2B_DIGEST: SHA-512 */
#define VD_TPM_SELECTIONS_MAX  16 /* TPML_PCR_SELECTION entries (HASH_COUNT) */
#define VD_TPM_SELECT_MAX      8  /* sizeofSelect: bitmap bytes (64 PCRs) */

typedef struct vd_tpm_pcr_selection {
    uint16_t hash_alg;
    uint8_t size;
    uint8_t bitmap[VD_TPM_SELECT_MAX]; /* bit i % 8 of byte i / 8 selects PCR i */
} vd_tpm_pcr_selection_t;

typedef struct vd_tpm_attest {
    uint32_t magic;
    uint16_t type;
    uint16_t signer_len; /* qualifiedSigner (cannot be checked: VTPM.md section 5) */
    uint8_t signer[VD_TPM_NAME_MAX];
    uint16_t extra_len; /* extraData: the qualifying data given to TPM2_Quote */
    uint8_t extra[VD_TPM_DATA_MAX];
    uint64_t clock;
    uint32_t reset_count;
    uint32_t restart_count;
    uint8_t safe;
    uint64_t firmware_version;
    uint32_t n_selections;
    vd_tpm_pcr_selection_t sel[VD_TPM_SELECTIONS_MAX];
    uint16_t digest_len;
    uint8_t digest[VD_TPM_DIGEST_MAX];
} vd_tpm_attest_t;

/**
 * Parse a marshalled TPMS_ATTEST of a quote: magic TPM_GENERATED_VALUE, type
 * TPM_ST_ATTEST_QUOTE, every TPM2B within its maximum and the input, safe 0 or 1, the whole
 * input consumed. VD_E_MALFORMED naming the field.
 */
vd_err_t vd_vtpm_attest_parse(const uint8_t *p, size_t len, vd_tpm_attest_t *out, vd_error_t *err);

/* ---- binding a verdict challenge in the quote (VTPM.md section 7) ------------------------- */

/*
 * Azure's vTPM takes at most 50 bytes of qualifying data (a TPMT_HA of SHA-384), so a verdict
 * challenge (64 bytes, challenge.h) cannot be the quote's extraData as it is. The rule, written
 * only here and used by the verifier (the appraisal pipeline) and by attesters alike:
 *
 *   VD_VTPM_BIND_EXACT   extraData == the caller's nonce, byte for byte (Trustee's rule, the
 *                        default: `--nonce`, Veraison session nonces, "nonce" in /v1/attest).
 *                        Runtime data cannot be bound.
 *   VD_VTPM_BIND_SHA384  extraData == SHA-384(nonce || runtime data): 48 bytes. Used when the
 *                        nonce is a verdict challenge ("challenge" in /v1/attest, `verify
 *                        --challenge-binding`); the runtime data (e.g. the public key a key
 *                        broker wraps a disk key to) is optional and bound with it.
 *
 * For v2 evidence the runtime data's user-data must start with the same expected value, as for
 * any nonce. A verdict challenge is always 64 bytes, so challenge || runtime data splits one
 * way only: no other (challenge, runtime data) pair the server would accept hashes the same.
 */
#define VD_VTPM_QUALIFYING_MAX     50 /* what Azure's vTPM accepts (64 bytes fail: TPM_RC_SIZE) */
#define VD_VTPM_CHALLENGE_BIND_LEN 48 /* SHA-384 */

typedef enum vd_vtpm_binding {
    VD_VTPM_BIND_EXACT = 0,
    VD_VTPM_BIND_SHA384,
} vd_vtpm_binding_t;

/** "exact" or "sha384". */
const char *vd_vtpm_binding_str(vd_vtpm_binding_t b);

/**
 * The qualifying data that binds a verdict challenge `nonce` (and `runtime_data`, may be NULL)
 * under VD_VTPM_BIND_SHA384: SHA-384(nonce || runtime data) into `out`. VD_E_MALFORMED for an
 * empty nonce, VD_E_INTERNAL if hashing fails.
 */
vd_err_t vd_vtpm_challenge_binding(const uint8_t *nonce, size_t nonce_len,
                                   const uint8_t *runtime_data, size_t runtime_data_len,
                                   uint8_t out[VD_VTPM_CHALLENGE_BIND_LEN], vd_error_t *err)
    __attribute__((warn_unused_result));

/* ---- the checks ---------------------------------------------------------------------------- */

/*
 * Claims of a checked vTPM evidence, for output and policy. They mean something only when the
 * status of the vd_snp_result_t it was checked with is GENUINE.
 */
typedef struct vd_vtpm_result {
    vd_vtpm_form_t form;
    int hcl_ok;
    vd_vtpm_hcl_t hcl; /* pointers borrowed from the evidence */
    int runtime_ok;    /* the runtime data parsed (and claims below are filled) */
    vd_vtpm_runtime_t runtime;
    unsigned ak_bits;
    int quote_ok;
    vd_tpm_attest_t quote;
    uint32_t pcr_mask; /* bit i: pcrs[i] holds PCR i (set once the list matched the selection) */
    uint8_t pcrs[VD_VTPM_PCRS][32];
    int nonce_checked;         /* a nonce was given and tpm.nonce passed */
    vd_vtpm_binding_t binding; /* how the caller's nonce became the qualifying data: SHA384
                                  only when a nonce was given under it */
} vd_vtpm_result_t;

/**
 * Check vTPM evidence against the result of vd_snp_verify on vd_vtpm_snp_report(e). Rebuilds
 * snp->checks in VTPM.md section 8's order (vtpm.evidence, hcl.header, the SNP checks, then
 * vtpm.vcek, hcl.vmpl, hcl.report_data, hcl.runtime_data, hcl.ak, tpm.quote, tpm.signature,
 * tpm.pcr_selection, tpm.pcr_digest, tpm.nonce, hcl.user_data), and sets snp->status to
 * VD_SNP_REJECTED if any of them failed (a COLLATERAL_MISSING status otherwise stays). Call it
 * once per SNP result (a second call appends the checks again).
 *
 * vtpm.vcek: a VCEK carried in the evidence must be this report's (hwID = CHIP_ID, SPLs =
 * REPORTED_TCB), even when the SNP core verified the report with another candidate (cache,
 * KDS): a wrong VCEK in the evidence is a rejection, never a reason to use another.
 *
 * `nonce`, `nonce_len`: the caller's expected qualifying data (nonce_len 0: none, and the nonce
 * checks are skip). Compared byte for byte with extraData; for v2 evidence user-data must start
 * with it. `snp` must be the result for this evidence's SNP report (hcl.report_data fails
 * otherwise). Returns VD_OK whenever a result was produced; VD_E_NOMEM/VD_E_INTERNAL otherwise.
 */
vd_err_t vd_vtpm_check(const vd_vtpm_evidence_t *e, const uint8_t *nonce, size_t nonce_len,
                       vd_snp_result_t *snp, vd_vtpm_result_t *out, vd_error_t *err);

/* The caller's freshness input and how it binds (vtpm.h, "binding a verdict challenge"). */
typedef struct vd_vtpm_nonce {
    vd_vtpm_binding_t binding;
    const uint8_t *nonce; /* NULL: none (the nonce checks are skip) */
    size_t nonce_len;
    const uint8_t *runtime_data; /* VD_VTPM_BIND_SHA384 only; may be NULL */
    size_t runtime_data_len;
} vd_vtpm_nonce_t;

/**
 * vd_vtpm_check with the expected qualifying data derived from `n`: the nonce as it is
 * (EXACT), or vd_vtpm_challenge_binding of the nonce and runtime data (SHA384); tpm.nonce and
 * hcl.user_data compare with it and name it, out->binding records it. vd_vtpm_check is this
 * with EXACT. Same return contract (VD_E_INTERNAL if hashing fails).
 */
vd_err_t vd_vtpm_check_bound(const vd_vtpm_evidence_t *e, const vd_vtpm_nonce_t *n,
                             vd_snp_result_t *snp, vd_vtpm_result_t *out, vd_error_t *err);

typedef struct vd_vtpm_input {
    const vd_vtpm_evidence_t *evidence;
    const vd_certset_t *certs; /* extra candidates (ASK/ARK chain), untrusted; may be NULL */
    const vd_trust_t *trust;   /* NULL: AMD pins only */
    time_t at;                 /* certificate validity time */
    const uint8_t *nonce;      /* may be NULL */
    size_t nonce_len;
    const char *kds_base; /* for "would come from" messages; NULL = AMD's */
} vd_vtpm_input_t;

/**
 * The whole appraisal when the certificates are at hand (tests, bench, `--certs`): the
 * evidence's VCEK plus in->certs, vd_snp_verify, then vd_vtpm_check. Same return contract.
 */
vd_err_t vd_vtpm_verify(const vd_vtpm_input_t *in, vd_snp_result_t *snp, vd_vtpm_result_t *out,
                        vd_error_t *err);

#endif
