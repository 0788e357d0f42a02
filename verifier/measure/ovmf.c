/*
 * OVMF's footer GUID table and SEV metadata (MEASURE.md section 2; edk2
 * OvmfPkg/ResetVector/Ia16/ResetVectorVtf0.asm and OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm,
 * QEMU docs/specs/sev-guest-firmware.rst). The firmware file is untrusted input: every length
 * and offset is checked before it is read, in subtraction form.
 *
 * Layout, from the end of the file: 32 bytes of reset vector code ("VTF\0" ...); before them the
 * footer GUID and a u16 length L of the whole table; before that, entries that each end with
 * u16 length and GUID, walked backwards. The SEV metadata entry gives the offset (from the end)
 * of an "ASEV" header and its 12-byte descriptors.
 */
#include <stdio.h>
#include <string.h>

#include "verdict/bytes.h"
#include "measure_internal.h"

#define FOOTER_GUID       "96b582de-1fb2-45f7-baea-a366c55a082d"
#define SEV_ES_RESET_GUID "00f771de-1a7e-4fcb-890e-68c77e2fb44e"
#define SEV_METADATA_GUID "dc886566-984a-4798-a75e-5585a7bf67cc"
#define SEV_HASHES_GUID   "7255371f-3a3b-4b04-927b-1da6efa8d454"
#define TAIL_LEN          32             /* reset vector code after the table */
#define ENTRY_TRAILER     18             /* u16 length + GUID */
#define METADATA_HDR_LEN  16             /* "ASEV", length, version, count */
#define METADATA_DESC_LEN 12             /* gpa, size, type */
#define GPA_LIMIT         0x100000000ull /* the metadata lives below 4 GiB (u32 fields) */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return c - 'A' + 10;
}

void vd_measure__guid(const char *text, uint8_t out[16])
{
    /* Byte i of the EFI encoding is text byte ORDER[i]: the first three fields are
     * little-endian, the last two big-endian. Only called with the constants of this module. */
    static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    uint8_t be[16] = {0};
    size_t n = 0;
    for (size_t i = 0; text[i] != '\0' && n < 16; i++) {
        if (text[i] == '-') {
            continue;
        }
        be[n++] = (uint8_t)(hexval(text[i]) << 4 | hexval(text[i + 1]));
        i++;
    }
    for (size_t i = 0; i < 16; i++) {
        out[i] = be[order[i]];
    }
}

const char *vd_ovmf_section_name(uint32_t type)
{
    switch (type) {
    case VD_OVMF_SNP_SEC_MEM:
        return "SNP_SEC_MEM";
    case VD_OVMF_SNP_SECRETS:
        return "SNP_SECRETS";
    case VD_OVMF_CPUID:
        return "CPUID";
    case VD_OVMF_SVSM_CAA:
        return "SVSM_CAA";
    case VD_OVMF_SNP_KERNEL_HASHES:
        return "SNP_KERNEL_HASHES";
    default:
        return "unknown";
    }
}

/* The data of the footer entries used here (NULL when absent) and their lengths. */
typedef struct footer {
    const uint8_t *reset, *metadata, *hashes;
    size_t reset_len, metadata_len, hashes_len;
} footer_t;

static vd_err_t take_entry(const uint8_t **slot, size_t *slot_len, const uint8_t *data, size_t len,
                           const char *what, vd_error_t *err)
{
    if (*slot != NULL) {
        return VD_ERR(err, VD_E_MALFORMED, "OVMF: footer table has two %s entries", what);
    }
    *slot = data;
    *slot_len = len;
    return VD_OK;
}

static vd_err_t walk_footer(const uint8_t *fw, size_t len, footer_t *ft, vd_error_t *err)
{
    uint8_t guid[16];
    uint8_t g_reset[16], g_meta[16], g_hashes[16];
    memset(ft, 0, sizeof(*ft));
    /* len >= 4096 here: the footer GUID and length fit. */
    vd_measure__guid(FOOTER_GUID, guid);
    if (memcmp(fw + len - TAIL_LEN - 16, guid, 16) != 0) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "OVMF: no footer GUID table (not an OVMF image, or not its end)");
    }
    size_t table_len = (size_t)fw[len - 50] | (size_t)fw[len - 49] << 8;
    if (table_len < ENTRY_TRAILER || table_len > len - TAIL_LEN) {
        return VD_ERR(err, VD_E_MALFORMED, "OVMF: footer table length %zu out of range", table_len);
    }
    vd_measure__guid(SEV_ES_RESET_GUID, g_reset);
    vd_measure__guid(SEV_METADATA_GUID, g_meta);
    vd_measure__guid(SEV_HASHES_GUID, g_hashes);
    size_t start = len - TAIL_LEN - table_len;
    size_t end = len - TAIL_LEN - ENTRY_TRAILER; /* the footer entry's own trailer excluded */
    /* Each pass consumes at least ENTRY_TRAILER bytes: bounded by the table length. */
    while (end - start >= ENTRY_TRAILER) {
        const uint8_t *g = fw + end - 16;
        size_t elen = (size_t)fw[end - 18] | (size_t)fw[end - 17] << 8;
        if (elen < ENTRY_TRAILER || elen > end - start) {
            return VD_ERR(err, VD_E_MALFORMED,
                          "OVMF: footer table entry length %zu at offset 0x%zx out of range", elen,
                          end - 18);
        }
        const uint8_t *data = fw + end - elen;
        size_t dlen = elen - ENTRY_TRAILER;
        vd_err_t rc = VD_OK;
        if (memcmp(g, g_reset, 16) == 0) {
            rc = take_entry(&ft->reset, &ft->reset_len, data, dlen, "SEV-ES reset block", err);
        } else if (memcmp(g, g_meta, 16) == 0) {
            rc = take_entry(&ft->metadata, &ft->metadata_len, data, dlen, "SEV metadata", err);
        } else if (memcmp(g, g_hashes, 16) == 0) {
            rc = take_entry(&ft->hashes, &ft->hashes_len, data, dlen, "SEV hashes table", err);
        } /* other GUIDs (SEV secret block, TDX metadata, ...) are not used for SNP */
        if (rc != VD_OK) {
            return rc;
        }
        end -= elen;
    }
    return VD_OK;
}

uint64_t vd_measure__section_pages(const vd_ovmf_section_t *s)
{
    if (s->type == VD_OVMF_SNP_SECRETS || s->type == VD_OVMF_CPUID) {
        return 1;
    }
    return s->size / VD_MEASURE_PAGE;
}

/* SNP_LAUNCH_UPDATE cannot validate a page twice: sections that overlap each other or the
 * firmware could not be launched. This also bounds the work to the 2^20 pages below 4 GiB. */
static vd_err_t check_overlaps(const vd_ovmf_t *o, vd_error_t *err)
{
    for (size_t i = 0; i < o->n_sections; i++) {
        const vd_ovmf_section_t *a = &o->sections[i];
        uint64_t a_end = a->gpa + vd_measure__section_pages(a) * VD_MEASURE_PAGE;
        if (a_end > o->base) {
            return VD_ERR(err, VD_E_MALFORMED,
                          "OVMF: %s section at GPA 0x%x overlaps the firmware at 0x%llx",
                          vd_ovmf_section_name(a->type), a->gpa, (unsigned long long)o->base);
        }
        for (size_t j = 0; j < i; j++) {
            const vd_ovmf_section_t *b = &o->sections[j];
            uint64_t b_end = b->gpa + vd_measure__section_pages(b) * VD_MEASURE_PAGE;
            if (a->gpa < b_end && b->gpa < a_end) {
                return VD_ERR(
                    err, VD_E_MALFORMED, "OVMF: %s section at GPA 0x%x overlaps %s at 0x%x",
                    vd_ovmf_section_name(a->type), a->gpa, vd_ovmf_section_name(b->type), b->gpa);
            }
        }
    }
    return VD_OK;
}

static vd_err_t parse_metadata(const uint8_t *fw, size_t len, uint32_t offset, vd_ovmf_t *o,
                               vd_error_t *err)
{
    if (offset < METADATA_HDR_LEN || offset > len) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "OVMF: SEV metadata offset 0x%x outside the %zu-byte image", offset, len);
    }
    const uint8_t *h = fw + (len - offset);
    if (memcmp(h, "ASEV", 4) != 0) {
        return VD_ERR(err, VD_E_MALFORMED, "OVMF: no SEV metadata header (\"ASEV\") at size - 0x%x",
                      offset);
    }
    uint32_t mlen = vd_le32(h + 4), version = vd_le32(h + 8), count = vd_le32(h + 12);
    if (version != 1) {
        return VD_ERR(err, VD_E_MALFORMED, "OVMF: SEV metadata version %u, expected 1", version);
    }
    if (count > VD_OVMF_SECTIONS_MAX) {
        return VD_ERR(err, VD_E_TOO_LARGE, "OVMF: %u SEV metadata sections (at most %d)", count,
                      VD_OVMF_SECTIONS_MAX);
    }
    if (mlen < METADATA_HDR_LEN + (size_t)count * METADATA_DESC_LEN || mlen > offset) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "OVMF: SEV metadata length %u does not hold %u sections within the image",
                      mlen, count);
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *d = h + METADATA_HDR_LEN + (size_t)i * METADATA_DESC_LEN;
        vd_ovmf_section_t s = {vd_le32(d), vd_le32(d + 4), vd_le32(d + 8)};
        const char *name = vd_ovmf_section_name(s.type);
        if (strcmp(name, "unknown") == 0) {
            return VD_ERR(err, VD_E_MALFORMED,
                          "OVMF: SEV metadata section %u has unknown type 0x%x", i, s.type);
        }
        if (s.gpa % VD_MEASURE_PAGE != 0) {
            return VD_ERR(err, VD_E_MALFORMED, "OVMF: %s section at GPA 0x%x is not page-aligned",
                          name, s.gpa);
        }
        /* Ranges are measured page by page: sizes must be whole pages within 4 GiB. The
         * SECRETS and CPUID sections are one page whatever their size says. */
        int ranged = s.type == VD_OVMF_SNP_SEC_MEM || s.type == VD_OVMF_SVSM_CAA ||
                     s.type == VD_OVMF_SNP_KERNEL_HASHES;
        if (ranged && (s.size == 0 || s.size % VD_MEASURE_PAGE != 0 ||
                       (uint64_t)s.gpa + s.size > GPA_LIMIT)) {
            return VD_ERR(err, VD_E_MALFORMED,
                          "OVMF: %s section at GPA 0x%x has size 0x%x (not whole pages below "
                          "4 GiB)",
                          name, s.gpa, s.size);
        }
        o->sections[o->n_sections++] = s;
    }
    return VD_OK;
}

vd_err_t vd_ovmf_parse(const uint8_t *fw, size_t len, vd_ovmf_t *out, vd_error_t *err)
{
    footer_t ft;
    memset(out, 0, sizeof(*out));
    if (len > VD_MEASURE_OVMF_MAX) {
        return VD_ERR(err, VD_E_TOO_LARGE, "OVMF: %zu bytes (at most %u)", len,
                      VD_MEASURE_OVMF_MAX);
    }
    if (len == 0 || len % VD_MEASURE_PAGE != 0) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "OVMF: size %zu is not a non-zero multiple of 4096 bytes", len);
    }
    vd_err_t rc = walk_footer(fw, len, &ft, err);
    if (rc != VD_OK) {
        return rc;
    }
    if (ft.reset == NULL) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "OVMF: no SEV-ES reset block in the footer table (not an SEV firmware)");
    }
    if (ft.reset_len < 4) {
        return VD_ERR(err, VD_E_MALFORMED, "OVMF: SEV-ES reset block of %zu bytes", ft.reset_len);
    }
    if (ft.metadata == NULL) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "OVMF: no SEV metadata: this firmware cannot be launched as an SEV-SNP "
                      "guest (QEMU: \"Failed to locate SEV metadata header\")");
    }
    if (ft.metadata_len < 4) {
        return VD_ERR(err, VD_E_MALFORMED, "OVMF: SEV metadata entry of %zu bytes",
                      ft.metadata_len);
    }
    if (ft.hashes != NULL && ft.hashes_len < 8) {
        return VD_ERR(err, VD_E_MALFORMED, "OVMF: SEV hashes table entry of %zu bytes",
                      ft.hashes_len);
    }
    out->size = len;
    out->base = GPA_LIMIT - len;
    out->reset_addr = vd_le32(ft.reset);
    out->metadata_offset = vd_le32(ft.metadata);
    if (ft.hashes != NULL) {
        out->has_hashes_table = 1;
        out->hashes_gpa = vd_le32(ft.hashes);
        out->hashes_size = vd_le32(ft.hashes + 4);
    }
    rc = parse_metadata(fw, len, out->metadata_offset, out, err);
    if (rc == VD_OK) {
        rc = check_overlaps(out, err);
    }
    if (rc != VD_OK) {
        vd_ovmf_t zero = {0};
        *out = zero;
    }
    return rc;
}
