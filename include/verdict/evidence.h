/*
 * verdict: evidence envelopes around an SEV-SNP report.
 *
 * The Linux configfs-tsm envelope (application/vnd.veraison.tsm-report+json, STANDARDS.md
 * section 3.1; SNP-FORMAT.md section 8): {"provider": "sev_guest", "outblob": B64, "auxblob":
 * B64?}, where outblob is the 1184-byte report and auxblob the extended-report certificate
 * table. Binaries are base64url without padding in practice; both alphabets and padding are
 * accepted. Pure: no I/O.
 */
#ifndef verdict__evidence_h
#define verdict__evidence_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/error.h"

#define VD_EVIDENCE_MAX_BYTES (1024 * 1024)

typedef struct vd_evidence {
    uint8_t *report; /* decoded outblob (its length is checked by vd_snp_verify) */
    size_t report_len;
    uint8_t *cert_table; /* decoded auxblob, or NULL if absent */
    size_t cert_table_len;
} vd_evidence_t;

/** 1 if `p` looks like a JSON object (first non-blank byte is '{'). */
int vd_evidence_is_json(const uint8_t *p, size_t len);

/**
 * Decode a configfs-tsm JSON envelope. VD_E_MALFORMED (message names the member) if it is not a
 * JSON object, outblob is missing or not base64, auxblob is present but not base64, or members
 * have the wrong type; VD_E_UNSUPPORTED if provider is present and not "sev_guest";
 * VD_E_TOO_LARGE past VD_EVIDENCE_MAX_BYTES. Unknown members are ignored. Free with
 * vd_evidence_free.
 */
vd_err_t vd_evidence_parse_tsm_json(const uint8_t *p, size_t len, vd_evidence_t *out,
                                    vd_error_t *err) __attribute__((warn_unused_result));

/**
 * 1 if `p` starts like a CBOR map (major type 5), the CBOR envelope below. A raw report starts
 * with its version (2..5, little-endian) and hex text with a digit, so neither is taken for one.
 */
int vd_evidence_is_cbor_map(const uint8_t *p, size_t len);

/**
 * Decode the CBOR form of the same envelope (application/vnd.veraison.tsm-report+cbor): a map
 * with text keys, "outblob" and "auxblob" as byte strings, "provider" as text. Errors as
 * vd_evidence_parse_tsm_json.
 */
vd_err_t vd_evidence_parse_tsm_cbor(const uint8_t *p, size_t len, vd_evidence_t *out,
                                    vd_error_t *err);

void vd_evidence_free(vd_evidence_t *e);

/* ---- the attester side: building the envelope inside a guest (tsm_build.c) ---- */

/*
 * How a guest binds a nonce and runtime data into REPORT_DATA, as the verifier checks it
 * (policies/README.md, "Freshness modes"; STANDARDS.md section 6):
 *   VD_RDATA_RAW           nonce || runtime data, at most 64 bytes, zero-padded. The default:
 *                          what `verdict verify --nonce` and `/v1/attest` compare when there
 *                          is no policy or the policy names no freshness mode.
 *   VD_RDATA_SHA512        SHA-512(nonce || runtime data), all 64 bytes.
 *   VD_RDATA_SHA256_PREFIX SHA-256(nonce || runtime data) in bytes 0..31, the rest zero.
 */
typedef enum vd_rdata_mode {
    VD_RDATA_RAW = 0,
    VD_RDATA_SHA512,
    VD_RDATA_SHA256_PREFIX,
} vd_rdata_mode_t;

#define VD_REPORT_DATA_LEN    64
#define VD_REPORT_DATA_OFFSET 0x50 /* in the SEV-SNP ATTESTATION_REPORT */

/** "raw", "sha512", "sha256-prefix" (the policy's freshness names). 0, or -1 if unknown. */
int vd_rdata_mode_from_name(const char *name, vd_rdata_mode_t *out)
    __attribute__((warn_unused_result));

/**
 * The 64 REPORT_DATA bytes binding `nonce` and `runtime_data` (either may be NULL/0; both
 * absent gives 64 zero bytes) under `mode`. VD_E_TOO_LARGE when raw and they exceed 64 bytes,
 * VD_E_INTERNAL if hashing fails.
 */
vd_err_t vd_evidence_report_data(vd_rdata_mode_t mode, const uint8_t *nonce, size_t nonce_len,
                                 const uint8_t *runtime_data, size_t runtime_data_len,
                                 uint8_t out[VD_REPORT_DATA_LEN], vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * Build the configfs-tsm JSON envelope {"provider": "sev_guest", "outblob": B64, "auxblob":
 * B64} (standard base64 with padding, which Go's and verdict's decoders read; auxblob omitted
 * when `auxblob_len` is 0) from what the kernel returned, after checking it: `provider` (a
 * configfs attribute, one trailing newline allowed) must be "sev_guest" (VD_E_UNSUPPORTED),
 * and the report in `outblob` must carry `report_data` at REPORT_DATA (VD_E_MALFORMED when
 * it is too short to hold it or carries other bytes: another writer raced this one). Blobs
 * over VD_EVIDENCE_MAX_BYTES are VD_E_TOO_LARGE. *json is malloc'd, NUL-terminated, no newline.
 */
vd_err_t vd_evidence_tsm_build(const char *provider, const uint8_t *outblob, size_t outblob_len,
                               const uint8_t *auxblob, size_t auxblob_len,
                               const uint8_t report_data[VD_REPORT_DATA_LEN], char **json,
                               vd_error_t *err) __attribute__((warn_unused_result));

#endif
