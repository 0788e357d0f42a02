/*
 * configfs-tsm envelope, CBOR form (see include/verdict/evidence.h), decoded with libcbor.
 *
 * Trust boundary: attacker-controlled bytes. libcbor builds the item tree under the size cap;
 * every member is type-checked (definite strings only) before it is copied.
 */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "verdict/evidence.h"

int vd_evidence_is_cbor_map(const uint8_t *p, size_t len)
{
    return len > 0 && (p[0] & 0xE0) == 0xA0;
}

/* A definite text string equal to `s`. */
static int text_is(cbor_item_t *it, const char *s)
{
    size_t n = strlen(s);
    return cbor_isa_string(it) && cbor_string_is_definite(it) && cbor_string_length(it) == n &&
           memcmp(cbor_string_handle(it), s, n) == 0;
}

static vd_err_t copy_bytes(cbor_item_t *v, const char *name, uint8_t **out, size_t *len,
                           vd_error_t *err)
{
    if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v)) {
        return VD_ERR(err, VD_E_MALFORMED, "tsm evidence (CBOR): \"%s\" must be a byte string",
                      name);
    }
    size_t n = cbor_bytestring_length(v);
    *out = malloc(n > 0 ? n : 1);
    if (*out == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "tsm evidence: out of memory");
    }
    if (n > 0) {
        memcpy(*out, cbor_bytestring_handle(v), n);
    }
    *len = n;
    return VD_OK;
}

static vd_err_t check_provider(cbor_item_t *v, vd_error_t *err)
{
    if (!cbor_isa_string(v) || !cbor_string_is_definite(v)) {
        return VD_ERR(err, VD_E_MALFORMED, "tsm evidence (CBOR): \"provider\" must be text");
    }
    size_t n = cbor_string_length(v);
    const unsigned char *s = cbor_string_handle(v);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ')) {
        n--;
    }
    if (n != 9 || memcmp(s, "sev_guest", 9) != 0) {
        return VD_ERR(err, VD_E_UNSUPPORTED,
                      "tsm evidence (CBOR): provider is not sev_guest (AMD SEV-SNP)");
    }
    return VD_OK;
}

/* Nesting allowed by the pre-scan; the envelope is a flat map. */
#define CBOR_MAX_DEPTH 16

/*
 * Well-formedness pre-scan of one CBOR item at p[*off..len), before libcbor sees it: libcbor
 * allocates an array or map for the count its header declares, before reading a single element,
 * so a 75-byte body declaring billions of elements cost gigabytes (found by fuzz_evidence_cbor).
 * Here every count is checked against the bytes left (an element takes at least one byte, a map
 * pair two), every string length too, and nesting is bounded. Sets *off past the item.
 * 0, or -1 if malformed, truncated or too deep.
 */
static int cbor_scan(const uint8_t *p, size_t len, size_t *off, int depth)
{
    if (depth > CBOR_MAX_DEPTH || *off >= len) {
        return -1;
    }
    uint8_t ib = p[(*off)++];
    unsigned major = ib >> 5, ai = ib & 0x1F;
    uint64_t n = ai;
    if (ai >= 24 && ai <= 27) {
        size_t w = (size_t)1 << (ai - 24);
        if (len - *off < w) {
            return -1;
        }
        n = 0;
        for (size_t i = 0; i < w; i++) {
            n = (n << 8) | p[(*off)++];
        }
    } else if ((ai >= 28 && ai <= 30) || (ai == 31 && (major == 0 || major == 1 || major == 6))) {
        return -1; /* reserved, or an integer or tag in the (nonexistent) indefinite form */
    }
    switch (major) {
    case 0:
    case 1:
        return 0;
    case 2:
    case 3:
        if (ai == 31) { /* definite chunks of the same major type, then a break */
            for (;;) {
                if (*off >= len) {
                    return -1;
                }
                if (p[*off] == 0xFF) {
                    (*off)++;
                    return 0;
                }
                if ((p[*off] >> 5) != major || (p[*off] & 0x1F) == 31 ||
                    cbor_scan(p, len, off, depth + 1) != 0) {
                    return -1;
                }
            }
        }
        if (n > len - *off) {
            return -1;
        }
        *off += (size_t)n;
        return 0;
    case 4:
    case 5:
        if (ai == 31) {
            for (size_t items = 0;; items++) {
                if (*off >= len) {
                    return -1;
                }
                if (p[*off] == 0xFF) {
                    (*off)++;
                    return major == 5 && items % 2 != 0 ? -1 : 0;
                }
                if (cbor_scan(p, len, off, depth + 1) != 0) {
                    return -1;
                }
            }
        }
        if (n > (len - *off) / (major == 5 ? 2 : 1)) {
            return -1;
        }
        for (uint64_t i = 0; i < n * (major == 5 ? 2 : 1); i++) {
            if (cbor_scan(p, len, off, depth + 1) != 0) {
                return -1;
            }
        }
        return 0;
    case 6:
        return cbor_scan(p, len, off, depth + 1);
    default: /* 7: simple values and floats (their bytes were read above); a lone break */
        return ai == 31 ? -1 : 0;
    }
}

vd_err_t vd_evidence_parse_tsm_cbor(const uint8_t *p, size_t len, vd_evidence_t *out,
                                    vd_error_t *err)
{
    struct cbor_load_result res;
    vd_err_t rc = VD_OK;
    memset(out, 0, sizeof(*out));
    if (len > VD_EVIDENCE_MAX_BYTES) {
        return VD_ERR(err, VD_E_TOO_LARGE, "tsm evidence: %zu bytes, more than %d", len,
                      VD_EVIDENCE_MAX_BYTES);
    }
    size_t end = 0;
    if (cbor_scan(p, len, &end, 0) != 0) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "tsm evidence: not well-formed CBOR (truncated, a count larger than the "
                      "input, or nested more than %d deep)",
                      CBOR_MAX_DEPTH);
    }
    if (end != len) {
        return VD_ERR(err, VD_E_MALFORMED, "tsm evidence: %zu bytes after the CBOR map", len - end);
    }
    cbor_item_t *doc = cbor_load(p, len, &res);
    if (doc == NULL || res.error.code != CBOR_ERR_NONE || res.read != len || !cbor_isa_map(doc) ||
        !cbor_map_is_definite(doc)) {
        rc = VD_ERR(err, VD_E_MALFORMED,
                    "tsm evidence: not a CBOR map (or bytes after it, at offset %zu)", res.read);
        goto out;
    }
    struct cbor_pair *pairs = cbor_map_handle(doc);
    for (size_t i = 0; rc == VD_OK && i < cbor_map_size(doc); i++) {
        cbor_item_t *k = pairs[i].key, *v = pairs[i].value;
        if (text_is(k, "outblob")) {
            rc = out->report != NULL
                     ? VD_ERR(err, VD_E_MALFORMED, "tsm evidence (CBOR): \"outblob\" twice")
                     : copy_bytes(v, "outblob", &out->report, &out->report_len, err);
        } else if (text_is(k, "auxblob")) {
            rc = out->cert_table != NULL
                     ? VD_ERR(err, VD_E_MALFORMED, "tsm evidence (CBOR): \"auxblob\" twice")
                     : copy_bytes(v, "auxblob", &out->cert_table, &out->cert_table_len, err);
        } else if (text_is(k, "provider")) {
            rc = check_provider(v, err);
        }
        /* other members (manifestblob, service_provider) are not used */
    }
    if (rc == VD_OK && out->report == NULL) {
        rc = VD_ERR(err, VD_E_MALFORMED, "tsm evidence (CBOR): \"outblob\" is missing");
    }
out:
    if (doc != NULL) {
        cbor_decref(&doc);
    }
    if (rc != VD_OK) {
        vd_evidence_free(out);
    }
    return rc;
}
