/*
 * The HCL report around the SNP report (VTPM.md section 2; include/verdict/vtpm.h).
 *
 * Microsoft's paravisor writes it to vTPM NV index 0x01400001: a 32-byte header, the SNP report
 * in a region sized for the larger TDX report (0x020-0x4BF), the request data header, then the
 * runtime data JSON whose SHA-256 is REPORT_DATA[0..31]. Trust boundary: every byte is untrusted
 * here (the SNP signature covers only the report region); each size is checked against the
 * buffer before use, in subtraction form, and only the values seen in every sample and peer are
 * accepted.
 */
#include <string.h>

#include "verdict/bytes.h"
#include "verdict/vtpm.h"

#define HCL_REQUEST_HEADER 20 /* request-data size counts its own 5 u32 fields */

vd_err_t vd_vtpm_hcl_parse(const uint8_t *p, size_t len, vd_vtpm_hcl_t *out, vd_error_t *err)
{
    memset(out, 0, sizeof(*out));
    if (p == NULL || len < VD_HCL_RUNTIME_OFFSET) {
        return VD_ERR(err, VD_E_MALFORMED, "HCL report: %zu bytes, shorter than its header (%d)",
                      p == NULL ? (size_t)0 : len, VD_HCL_RUNTIME_OFFSET);
    }
    if (memcmp(p, "HCLA", 4) != 0) {
        return VD_ERR(err, VD_E_MALFORMED, "HCL report: signature %02x%02x%02x%02x is not HCLA",
                      p[0], p[1], p[2], p[3]);
    }
    out->header_version = vd_le32(p + 0x04);
    out->report_size = vd_le32(p + 0x08);
    out->request_type = vd_le32(p + 0x0C);
    out->status = vd_le32(p + 0x10);
    out->request_size = vd_le32(p + VD_HCL_REQUEST_OFFSET);
    out->request_version = vd_le32(p + VD_HCL_REQUEST_OFFSET + 4);
    out->report_type = vd_le32(p + VD_HCL_REQUEST_OFFSET + 8);
    out->hash_type = vd_le32(p + VD_HCL_REQUEST_OFFSET + 12);
    uint32_t n = vd_le32(p + VD_HCL_REQUEST_OFFSET + 16);

    if (out->header_version != 1 && out->header_version != 2) {
        return VD_ERR(err, VD_E_UNSUPPORTED,
                      "HCL report: header version %u (known: 1 Milan, 2 Genoa)",
                      out->header_version);
    }
    if (out->request_type != 2) {
        return VD_ERR(err, VD_E_UNSUPPORTED, "HCL report: request type %u, not 2",
                      out->request_type);
    }
    if (out->status != 0) {
        return VD_ERR(err, VD_E_UNSUPPORTED, "HCL report: status %u, not 0", out->status);
    }
    if (!vd_all_zero(p + 0x14, 12)) {
        return VD_ERR(err, VD_E_UNSUPPORTED, "HCL report: reserved bytes 0x014-0x01F not zero");
    }
    if (out->request_version != 1) {
        return VD_ERR(err, VD_E_UNSUPPORTED, "HCL report: request-data version %u, not 1",
                      out->request_version);
    }
    if (out->report_type != 2) {
        return VD_ERR(err, VD_E_UNSUPPORTED,
                      "HCL report: report type %u, not 2 (SEV-SNP; 4 would be TDX)",
                      out->report_type);
    }
    if (out->hash_type != 1) {
        return VD_ERR(err, VD_E_UNSUPPORTED,
                      "HCL report: runtime-data hash type %u, not 1 (SHA-256)", out->hash_type);
    }
    if (n > len - VD_HCL_RUNTIME_OFFSET) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "HCL report: variable data of %u bytes runs past the %zu-byte buffer", n,
                      len);
    }
    if (out->report_size != (uint64_t)VD_HCL_RUNTIME_OFFSET + n) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "HCL report: report size %u != 0x4D4 + variable-data size %u",
                      out->report_size, n);
    }
    if (out->request_size != (uint64_t)HCL_REQUEST_HEADER + n) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "HCL report: request-data size %u != 20 + variable-data size %u",
                      out->request_size, n);
    }
    if (n == 0) {
        return VD_ERR(err, VD_E_MALFORMED, "HCL report: no runtime data");
    }
    out->snp_report = p + VD_HCL_SNP_OFFSET;
    out->runtime_data = p + VD_HCL_RUNTIME_OFFSET;
    out->runtime_len = n;
    return VD_OK;
}
