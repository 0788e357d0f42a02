/*
 * Extended-report certificate table parser (SNP-FORMAT.md section 8).
 *
 * Trust boundary: the whole buffer comes from the host, which the guest does not trust either.
 * Every offset and length is checked against the buffer in subtraction form before use.
 */
#include <string.h>

#include "verdict/bytes.h"
#include "verdict/certtable.h"

struct guid_kind {
    uint8_t guid[16];
    vd_certtable_kind_t kind;
};

/* RFC 4122 byte order (the hex digits of the canonical string, in order). */
static const struct guid_kind known_guids[] = {
    {{0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac,
      0xcd},
     VD_CERTTABLE_VCEK},
    {{0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8,
      0xa1},
     VD_CERTTABLE_VLEK},
    {{0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7,
      0x82},
     VD_CERTTABLE_ASK},
    {{0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0,
      0xae},
     VD_CERTTABLE_ARK},
    {{0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d, 0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67,
      0xea},
     VD_CERTTABLE_CRL},
    {{0xec, 0xae, 0x0c, 0x0f, 0x95, 0x02, 0x43, 0xb1, 0xaf, 0xa2, 0x0a, 0xe2, 0xe0, 0xd5, 0x65,
      0xb6},
     VD_CERTTABLE_EXTRA_PLATFORM_INFO},
};

static vd_certtable_kind_t kind_of(const uint8_t *guid)
{
    for (size_t i = 0; i < sizeof(known_guids) / sizeof(known_guids[0]); i++) {
        if (memcmp(guid, known_guids[i].guid, 16) == 0) {
            return known_guids[i].kind;
        }
    }
    return VD_CERTTABLE_UNKNOWN;
}

const char *vd_certtable_kind_name(vd_certtable_kind_t k)
{
    switch (k) {
    case VD_CERTTABLE_VCEK:
        return "VCEK";
    case VD_CERTTABLE_VLEK:
        return "VLEK";
    case VD_CERTTABLE_ASK:
        return "ASK";
    case VD_CERTTABLE_ARK:
        return "ARK";
    case VD_CERTTABLE_CRL:
        return "CRL";
    case VD_CERTTABLE_EXTRA_PLATFORM_INFO:
        return "extra-platform-info";
    case VD_CERTTABLE_UNKNOWN:
        break;
    }
    return "unknown";
}

vd_err_t vd_certtable_parse(const uint8_t *p, size_t len, vd_certtable_t *out, vd_error_t *err)
{
    memset(out, 0, sizeof(*out));
    if (len == 0) {
        return VD_OK;
    }
    for (size_t i = 0;; i++) {
        size_t at = i * VD_CERTTABLE_ENTRY_SIZE;
        if (len - at < VD_CERTTABLE_ENTRY_SIZE) {
            return VD_ERR(err, VD_E_MALFORMED,
                          "cert table: entry %zu at byte %zu runs past the %zu-byte buffer "
                          "(no terminating all-zero entry)",
                          i, at, len);
        }
        const uint8_t *e = p + at;
        if (vd_all_zero(e, VD_CERTTABLE_ENTRY_SIZE)) {
            break;
        }
        if (i >= VD_CERTTABLE_MAX_ENTRIES) {
            return VD_ERR(err, VD_E_TOO_LARGE, "cert table: more than %d entries",
                          VD_CERTTABLE_MAX_ENTRIES);
        }
        uint32_t off = vd_le32(e + 16);
        uint32_t blen = vd_le32(e + 20);
        vd_certtable_entry_t *ent = &out->entries[i];
        memcpy(ent->guid, e, 16);
        ent->kind = kind_of(e);
        out->count = i + 1;
        if (off > len || len - off < blen) {
            return VD_ERR(err, VD_E_MALFORMED,
                          "cert table: entry %zu (%s) offset %u length %u runs past the "
                          "%zu-byte buffer",
                          i, vd_certtable_kind_name(ent->kind), off, blen, len);
        }
        if (blen == 0) {
            return VD_ERR(err, VD_E_MALFORMED, "cert table: entry %zu (%s) is empty", i,
                          vd_certtable_kind_name(ent->kind));
        }
        ent->data = p + off;
        ent->len = blen;
    }
    /* Every blob must lie past the full header, terminator included. */
    size_t header = (out->count + 1) * VD_CERTTABLE_ENTRY_SIZE;
    for (size_t i = 0; i < out->count; i++) {
        if ((size_t)(out->entries[i].data - p) < header) {
            return VD_ERR(err, VD_E_MALFORMED,
                          "cert table: entry %zu (%s) offset %zu points into the %zu-byte header",
                          i, vd_certtable_kind_name(out->entries[i].kind),
                          (size_t)(out->entries[i].data - p), header);
        }
    }
    return VD_OK;
}
