/*
 * AMD VCEK/VLEK extension decoding (KDS.md section 2).
 *
 * Trust boundary: certificates are parsed before their signatures are checked, so every
 * extension value is treated as hostile: decoded with length-bounded d2i calls that must
 * consume the whole value.
 */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>

#include "verdict/amdcert.h"

#define AMD_ARC "1.3.6.1.4.1.3704.1."

/* Decode a DER INTEGER spanning exactly [p, p+len) into 0..max. */
static int der_small_int(const unsigned char *p, long len, long max, long *out)
{
    const unsigned char *q = p;
    ASN1_INTEGER *ai = d2i_ASN1_INTEGER(NULL, &q, len);
    int64_t v = 0;
    int ok =
        ai != NULL && q == p + len && ASN1_INTEGER_get_int64(&v, ai) == 1 && v >= 0 && v <= max;
    ASN1_INTEGER_free(ai);
    if (ok) {
        *out = (long)v;
    }
    return ok;
}

/* Decode a DER IA5String spanning exactly [p, p+len) into a NUL-free C string. */
static int der_ia5(const unsigned char *p, long len, char *out, size_t out_size)
{
    const unsigned char *q = p;
    ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &q, len);
    int ok = s != NULL && q == p + len;
    if (ok) {
        int n = ASN1_STRING_length(s);
        const unsigned char *d = ASN1_STRING_get0_data(s);
        ok = n >= 0 && (size_t)n < out_size && memchr(d, 0, (size_t)n) == NULL;
        if (ok) {
            memcpy(out, d, (size_t)n);
            out[n] = '\0';
        }
    }
    ASN1_IA5STRING_free(s);
    return ok;
}

/* hwID: raw 64/8 bytes (as KDS emits it) or an OCTET STRING wrapping them. */
static int decode_hwid(const unsigned char *p, long len, vd_amdcert_t *out)
{
    if (len == 64 || len == 8) {
        memcpy(out->hwid, p, (size_t)len);
        out->hwid_len = (size_t)len;
        return 1;
    }
    const unsigned char *q = p;
    ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &q, len);
    int ok = os != NULL && q == p + len;
    if (ok) {
        int n = ASN1_STRING_length(os);
        ok = n == 64 || n == 8;
        if (ok) {
            memcpy(out->hwid, ASN1_STRING_get0_data(os), (size_t)n);
            out->hwid_len = (size_t)n;
        }
    }
    ASN1_OCTET_STRING_free(os);
    return ok;
}

/* `v` in decimal at oid + *used, NUL-terminated, as snprintf "%lu" would write it (two dozen
 * of these per certificate: snprintf cost ten times as much); -1 if it does not fit in `n`. */
static int put_decimal(char *oid, size_t n, size_t *used, unsigned long v)
{
    char d[24];
    size_t k = sizeof(d);
    do {
        d[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    size_t len = sizeof(d) - k;
    if (len >= n - *used) {
        return -1;
    }
    memcpy(oid + *used, d + k, len);
    *used += len;
    oid[*used] = '\0';
    return 0;
}

/*
 * The dotted text of `obj` into `oid`. AMD's arcs are rendered from the DER bytes directly
 * (OBJ_obj2txt is the most expensive step of a warm appraisal); anything else, or anything
 * unusual under AMD's arc, goes through OBJ_obj2txt. Returns 0, or -1 if unreadable.
 */
static int oid_text(const ASN1_OBJECT *obj, char *oid, size_t n)
{
    /* 1.3.6.1.4.1.3704.1 */
    static const unsigned char amd[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x9C, 0x78, 0x01};
    const unsigned char *d = OBJ_get0_data(obj);
    size_t len = OBJ_length(obj);
    if (d != NULL && len > sizeof(amd) && len <= sizeof(amd) + 8 &&
        memcmp(d, amd, sizeof(amd)) == 0) {
        size_t used = sizeof(AMD_ARC) - 1;
        unsigned long arc = 0;
        int fast = used < n;
        if (fast) {
            memcpy(oid, AMD_ARC, used + 1);
        }
        for (size_t i = sizeof(amd); fast && i < len; i++) {
            if (arc == 0 && d[i] == 0x80) {
                fast = 0; /* non-minimal encoding: let OpenSSL decide */
                break;
            }
            arc = (arc << 7) | (d[i] & 0x7F);
            if (d[i] & 0x80) {
                fast = i + 1 < len && arc < (1UL << 24);
                continue;
            }
            if (put_decimal(oid, n, &used, arc) != 0) {
                fast = 0;
                break;
            }
            arc = 0;
            if (i + 1 < len) {
                if (used + 1 >= n) {
                    fast = 0;
                    break;
                }
                oid[used++] = '.';
                oid[used] = '\0';
            }
        }
        if (fast) {
            return 0;
        }
    }
    return OBJ_obj2txt(oid, (int)n, obj, 1) > 0 ? 0 : -1;
}

vd_err_t vd_amdcert_parse(X509 *x, vd_amdcert_t *out, vd_error_t *err)
{
    memset(out, 0, sizeof(*out));
    int n = X509_get_ext_count(x);
    for (int i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(x, i);
        char oid[64];
        if (oid_text(X509_EXTENSION_get_object(ext), oid, sizeof(oid)) != 0) {
            return VD_ERR(err, VD_E_MALFORMED, "certificate extension %d: unreadable OID", i);
        }
        if (strncmp(oid, AMD_ARC, sizeof(AMD_ARC) - 1) != 0) {
            if (X509_EXTENSION_get_critical(ext)) {
                /* OpenSSL rejects unknown critical extensions in path validation; we decide
                 * here so the message is ours. Known standard ones (BasicConstraints, KU) are
                 * for CAs, never on a VCEK/VLEK. */
                int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
                if (nid != NID_basic_constraints && nid != NID_key_usage) {
                    return VD_ERR(err, VD_E_MALFORMED, "unknown critical extension %s", oid);
                }
            }
            continue;
        }
        const char *arc = oid + sizeof(AMD_ARC) - 1;
        ASN1_OCTET_STRING *val = X509_EXTENSION_get_data(ext);
        const unsigned char *p = ASN1_STRING_get0_data(val);
        long len = ASN1_STRING_length(val);
        long v = 0;
        if (strcmp(arc, "1") == 0) {
            if (out->has_struct_version || !der_small_int(p, len, 255, &v)) {
                return VD_ERR(err, VD_E_MALFORMED, "extension %s (structVersion) invalid", oid);
            }
            out->has_struct_version = 1;
            out->struct_version = v;
        } else if (strcmp(arc, "2") == 0) {
            if (out->has_product_name ||
                !der_ia5(p, len, out->product_name, sizeof(out->product_name))) {
                return VD_ERR(err, VD_E_MALFORMED, "extension %s (productName) invalid", oid);
            }
            out->has_product_name = 1;
        } else if (strncmp(arc, "3.", 2) == 0 && arc[2] >= '1' && arc[2] <= '9' && arc[3] == '\0') {
            int idx = arc[2] - '0';
            if (out->has_spl[idx] || !der_small_int(p, len, 255, &v)) {
                return VD_ERR(err, VD_E_MALFORMED,
                              "extension %s (SPL) invalid: expected one INTEGER 0..255", oid);
            }
            out->has_spl[idx] = 1;
            out->spl[idx] = (uint8_t)v;
        } else if (strcmp(arc, "4") == 0) {
            if (out->has_hwid || !decode_hwid(p, len, out)) {
                return VD_ERR(err, VD_E_MALFORMED,
                              "extension %s (hwID) invalid: %ld bytes, expected 64 or 8", oid, len);
            }
            out->has_hwid = 1;
        } else if (strcmp(arc, "5") == 0) {
            if (out->has_csp_id || !der_ia5(p, len, out->csp_id, sizeof(out->csp_id))) {
                return VD_ERR(err, VD_E_MALFORMED, "extension %s (cspID) invalid", oid);
            }
            out->has_csp_id = 1;
        } else if (X509_EXTENSION_get_critical(ext)) {
            return VD_ERR(err, VD_E_MALFORMED, "unknown critical AMD extension %s", oid);
        }
    }
    return VD_OK;
}

vd_tcb_t vd_amdcert_tcb(const vd_amdcert_t *c, vd_product_t p)
{
    vd_tcb_t t = {0};
    t.has_fmc = p == VD_PRODUCT_TURIN;
    t.fmc = t.has_fmc ? c->spl[VD_SPL_FMC] : 0;
    t.bootloader = c->spl[VD_SPL_BL];
    t.tee = c->spl[VD_SPL_TEE];
    t.snp = c->spl[VD_SPL_SNP];
    t.microcode = c->spl[VD_SPL_UCODE];
    return t;
}

int vd_amdcert_tcb_complete(const vd_amdcert_t *c, vd_product_t p, const char **missing)
{
    static const struct {
        int idx;
        const char *name;
    } need[] = {{VD_SPL_BL, "blSPL"},
                {VD_SPL_TEE, "teeSPL"},
                {VD_SPL_SNP, "snpSPL"},
                {VD_SPL_UCODE, "ucodeSPL"},
                {VD_SPL_FMC, "fmcSPL"}};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        if (need[i].idx == VD_SPL_FMC && p != VD_PRODUCT_TURIN) {
            continue;
        }
        if (!c->has_spl[need[i].idx]) {
            *missing = need[i].name;
            return 0;
        }
    }
    *missing = NULL;
    return 1;
}
