/*
 * The SNP_LAUNCH_UPDATE digest chain (AMD SEV-SNP Firmware ABI #56860, SNP_LAUNCH_UPDATE,
 * "Layout of the PAGE_INFO Structure"; MEASURE.md section 1).
 *
 * For every 4 KiB page the AMD Secure Processor builds a 112-byte PAGE_INFO holding the digest
 * so far (LD), the page's CONTENTS digest (SHA-384 of the page for NORMAL and VMSA pages, zeros
 * otherwise), its type and GPA, and replaces LD by SHA-384(PAGE_INFO). Every page moves LD,
 * including those whose contents are not measured.
 */
#include <string.h>

#include "verdict/bytes.h"
#include "measure_internal.h"

#define PAGE_INFO_LEN 0x70 /* PAGE_INFO.LENGTH: the structure is 112 bytes */

vd_err_t vd_measure__gctx_init(vd_gctx_t *g, const uint8_t *start, vd_error_t *err)
{
    memset(g, 0, sizeof(*g));
    if (start != NULL) {
        memcpy(g->ld, start, VD_MEASURE_DIGEST_LEN);
    }
    /* Fetched once: an implicit fetch per step would cost more than the hashing. */
    g->md = EVP_MD_fetch(NULL, "SHA384", NULL);
    g->ctx = EVP_MD_CTX_new();
    if (g->md == NULL || g->ctx == NULL) {
        vd_measure__gctx_free(g);
        VD_ERR(err, VD_E_INTERNAL, "measure: SHA-384 unavailable");
        vd_error_add_openssl(err);
        return VD_E_INTERNAL;
    }
    return VD_OK;
}

void vd_measure__gctx_free(vd_gctx_t *g)
{
    EVP_MD_CTX_free(g->ctx);
    EVP_MD_free(g->md);
    g->ctx = NULL;
    g->md = NULL;
}

vd_err_t vd_measure__sha384(vd_gctx_t *g, const uint8_t *p, size_t len,
                            uint8_t out[VD_MEASURE_DIGEST_LEN], vd_error_t *err)
{
    unsigned int n = 0;
    if (EVP_DigestInit_ex2(g->ctx, g->md, NULL) != 1 || EVP_DigestUpdate(g->ctx, p, len) != 1 ||
        EVP_DigestFinal_ex(g->ctx, out, &n) != 1 || n != VD_MEASURE_DIGEST_LEN) {
        VD_ERR(err, VD_E_INTERNAL, "measure: SHA-384 failed");
        vd_error_add_openssl(err);
        return VD_E_INTERNAL;
    }
    return VD_OK;
}

vd_err_t vd_measure__gctx_step(vd_gctx_t *g, vd_page_type_t type, uint64_t gpa,
                               const uint8_t *contents, vd_error_t *err)
{
    uint8_t info[PAGE_INFO_LEN] = {0};
    memcpy(info, g->ld, VD_MEASURE_DIGEST_LEN); /* 0x00 DIGEST_CUR */
    if (contents != NULL) {
        memcpy(info + 0x30, contents, VD_MEASURE_DIGEST_LEN); /* 0x30 CONTENTS */
    }
    info[0x60] = PAGE_INFO_LEN; /* 0x60 LENGTH (u16) */
    info[0x61] = 0;
    info[0x62] = (uint8_t)type;    /* 0x62 PAGE_TYPE; 0x63 IMI_PAGE, 0x64 VMPL perms: all 0 */
    vd_put_le64(info + 0x68, gpa); /* 0x68 GPA */
    return vd_measure__sha384(g, info, sizeof(info), g->ld, err);
}

vd_err_t vd_measure__gctx_empty_pages(vd_gctx_t *g, vd_page_type_t type, uint64_t gpa,
                                      uint64_t pages, vd_error_t *err)
{
    for (uint64_t i = 0; i < pages; i++) {
        vd_err_t rc = vd_measure__gctx_step(g, type, gpa + i * VD_MEASURE_PAGE, NULL, err);
        if (rc != VD_OK) {
            return rc;
        }
    }
    return VD_OK;
}

vd_err_t vd_measure__gctx_normal(vd_gctx_t *g, uint64_t gpa, const uint8_t *data, size_t len,
                                 vd_error_t *err)
{
    uint8_t contents[VD_MEASURE_DIGEST_LEN];
    if (len % VD_MEASURE_PAGE != 0) {
        return VD_ERR(err, VD_E_INTERNAL, "measure: %zu bytes is not a whole number of pages", len);
    }
    for (size_t off = 0; off < len; off += VD_MEASURE_PAGE) {
        vd_err_t rc = vd_measure__sha384(g, data + off, VD_MEASURE_PAGE, contents, err);
        if (rc == VD_OK) {
            rc = vd_measure__gctx_step(g, VD_PAGE_NORMAL, gpa + off, contents, err);
        }
        if (rc != VD_OK) {
            return rc;
        }
    }
    return VD_OK;
}

const char *vd_page_type_name(vd_page_type_t t)
{
    switch (t) {
    case VD_PAGE_NORMAL:
        return "normal";
    case VD_PAGE_VMSA:
        return "vmsa";
    case VD_PAGE_ZERO:
        return "zero";
    case VD_PAGE_UNMEASURED:
        return "unmeasured";
    case VD_PAGE_SECRETS:
        return "secrets";
    case VD_PAGE_CPUID:
        return "cpuid";
    }
    return "unknown";
}
