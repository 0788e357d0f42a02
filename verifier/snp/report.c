/*
 * SEV-SNP ATTESTATION_REPORT decoding (SNP-FORMAT.md section 1).
 *
 * Trust boundary: `p` is attacker-controlled. The length is checked once, up front; after that
 * every offset below is a constant inside the 1184 bytes.
 */
#include <string.h>

#include "verdict/bytes.h"
#include "verdict/report.h"

vd_err_t vd_snp_report_parse(const uint8_t *p, size_t len, vd_snp_report_t *out, vd_error_t *err)
{
    memset(out, 0, sizeof(*out));
    if (len != VD_SNP_REPORT_SIZE) {
        return VD_ERR(err, VD_E_MALFORMED, "report length %zu, expected %d", len,
                      VD_SNP_REPORT_SIZE);
    }
    uint32_t version = vd_le32(p + 0x000);
    if (version < VD_SNP_VERSION_MIN || version > VD_SNP_VERSION_MAX) {
        return VD_ERR(err, VD_E_UNSUPPORTED, "report version %u not supported (2, 3, 4 or 5)",
                      version);
    }
    memcpy(out->raw, p, VD_SNP_REPORT_SIZE);
    out->version = version;
    out->guest_svn = vd_le32(p + 0x004);
    out->policy = vd_le64(p + 0x008);
    memcpy(out->family_id, p + 0x010, 16);
    memcpy(out->image_id, p + 0x020, 16);
    out->vmpl = vd_le32(p + 0x030);
    out->signature_algo = vd_le32(p + 0x034);
    out->current_tcb = vd_le64(p + 0x038);
    out->platform_info = vd_le64(p + 0x040);
    out->signer_info = vd_le32(p + 0x048);
    memcpy(out->report_data, p + 0x050, 64);
    memcpy(out->measurement, p + 0x090, 48);
    memcpy(out->host_data, p + 0x0C0, 32);
    memcpy(out->id_key_digest, p + 0x0E0, 48);
    memcpy(out->author_key_digest, p + 0x110, 48);
    memcpy(out->report_id, p + 0x140, 32);
    memcpy(out->report_id_ma, p + 0x160, 32);
    out->reported_tcb = vd_le64(p + 0x180);
    if (version >= 3) {
        out->cpuid_fam_id = p[0x188];
        out->cpuid_mod_id = p[0x189];
        out->cpuid_step = p[0x18A];
    }
    memcpy(out->chip_id, p + 0x1A0, 64);
    out->committed_tcb = vd_le64(p + 0x1E0);
    out->current_build = p[0x1E8];
    out->current_minor = p[0x1E9];
    out->current_major = p[0x1EA];
    out->committed_build = p[0x1EC];
    out->committed_minor = p[0x1ED];
    out->committed_major = p[0x1EE];
    out->launch_tcb = vd_le64(p + 0x1F0);
    if (version >= 5) {
        out->launch_mit_vector = vd_le64(p + 0x1F8);
        out->current_mit_vector = vd_le64(p + 0x200);
    }
    memcpy(out->sig_r, p + 0x2A0, 48);
    memcpy(out->sig_s, p + 0x2E8, 48);
    return VD_OK;
}

unsigned vd_snp_report_signing_key(const vd_snp_report_t *r)
{
    return (r->signer_info >> 2) & 0x7;
}

int vd_snp_report_from_file_bytes(const uint8_t *p, size_t len, uint8_t *out, size_t out_size,
                                  size_t *out_len)
{
    size_t n = 0;
    /* Raw binary of the right size is taken as is, even if it happens to look like hex. */
    if (len != VD_SNP_REPORT_SIZE && vd_hex_decode((const char *)p, len, out, out_size, &n) == 0 &&
        n > 0) {
        *out_len = n;
        return 0;
    }
    if (len > out_size) {
        *out_len = 0;
        return -1;
    }
    memcpy(out, p, len);
    *out_len = len;
    return 0;
}
