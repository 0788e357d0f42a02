/*
 * verdict: the extended-report certificate table (GHCB spec 56421 "SNP Extended Guest
 * Request"; configfs-tsm auxblob). SNP-FORMAT.md section 8.
 *
 * Entries of 24 bytes {guid[16], offset u32 LE, length u32 LE}, terminated by an all-zero
 * entry; offsets count from the start of the table buffer. GUIDs are compared in RFC 4122 byte
 * order, as every real host writes them.
 */
#ifndef verdict__certtable_h
#define verdict__certtable_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/error.h"

#define VD_CERTTABLE_MAX_ENTRIES 16
#define VD_CERTTABLE_ENTRY_SIZE  24

typedef enum vd_certtable_kind {
    VD_CERTTABLE_UNKNOWN = 0, /* a GUID we do not know: kept, not interpreted */
    VD_CERTTABLE_VCEK,
    VD_CERTTABLE_VLEK,
    VD_CERTTABLE_ASK, /* also carries the ASVK on VLEK hosts */
    VD_CERTTABLE_ARK,
    VD_CERTTABLE_CRL,
    VD_CERTTABLE_EXTRA_PLATFORM_INFO,
} vd_certtable_kind_t;

typedef struct vd_certtable_entry {
    uint8_t guid[16];
    vd_certtable_kind_t kind;
    const uint8_t *data; /* borrowed: points into the buffer given to vd_certtable_parse */
    size_t len;
} vd_certtable_entry_t;

typedef struct vd_certtable {
    vd_certtable_entry_t entries[VD_CERTTABLE_MAX_ENTRIES];
    size_t count;
} vd_certtable_t;

/**
 * Parse a table. An empty buffer is a valid empty table. Fails with VD_E_MALFORMED (and a
 * message naming the entry) when the buffer ends before a terminator, an offset points into the
 * header or a blob runs past the buffer; VD_E_TOO_LARGE past VD_CERTTABLE_MAX_ENTRIES entries.
 * `out` borrows from `p`, which must outlive it.
 */
vd_err_t vd_certtable_parse(const uint8_t *p, size_t len, vd_certtable_t *out, vd_error_t *err);

/** "VCEK", "VLEK", "ASK", "ARK", "CRL", "extra-platform-info" or "unknown". */
const char *vd_certtable_kind_name(vd_certtable_kind_t k);

#endif
