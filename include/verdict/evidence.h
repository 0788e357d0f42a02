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

void vd_evidence_free(vd_evidence_t *e);

#endif
