/*
 * The SEV hashes table for measured direct boot (MEASURE.md section 3; QEMU
 * target/i386/sev.c, "SevHashTable"), and the SHA-256 digests that fill it.
 *
 * With -kernel, QEMU writes a table of SHA-256 digests of the command line (with its
 * terminating NUL), the initrd (empty when absent) and the kernel into the firmware's
 * SNP_KERNEL_HASHES page, which is then measured as a NORMAL page; OVMF checks the files it
 * loads against it. The kernel and initrd are hashed in pieces by the caller through
 * vd_measure_sha256_*, so they are never loaded whole.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "verdict/bytes.h"
#include "measure_internal.h"

#define TABLE_GUID   "9438d606-4f22-4cc9-b479-a793d411fd21"
#define CMDLINE_GUID "97d02dd8-bd20-4c94-aa78-e7714d36ab2a"
#define INITRD_GUID  "44baf731-3a2f-4bd7-9af1-41e29169781d"
#define KERNEL_GUID  "4de79437-abd2-427f-b835-d5b172d2045b"
#define ENTRY_LEN    (16 + 2 + VD_MEASURE_SHA256_LEN) /* GUID, u16 length, digest: 0x32 */
#define TABLE_LEN    (16 + 2 + 3 * ENTRY_LEN)         /* 0xA8, the length field's value */
#define TABLE_PADDED VD_MEASURE__HASHES_TABLE_LEN

struct vd_measure_sha256 {
    EVP_MD *md;
    EVP_MD_CTX *ctx;
};

void vd_measure_sha256_free(vd_measure_sha256_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    EVP_MD_CTX_free((*pp)->ctx);
    EVP_MD_free((*pp)->md);
    free(*pp);
    *pp = NULL;
}

vd_err_t vd_measure_sha256_new(vd_measure_sha256_t **out, vd_error_t *err)
{
    vd_measure_sha256_t *h = calloc(1, sizeof(*h));
    *out = NULL;
    if (h == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "measure: out of memory");
    }
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();
    if (h->md == NULL || h->ctx == NULL || EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1) {
        vd_measure_sha256_free(&h);
        VD_ERR(err, VD_E_INTERNAL, "measure: SHA-256 unavailable");
        vd_error_add_openssl(err);
        return VD_E_INTERNAL;
    }
    *out = h;
    return VD_OK;
}

vd_err_t vd_measure_sha256_update(vd_measure_sha256_t *h, const void *p, size_t len,
                                  vd_error_t *err)
{
    if (EVP_DigestUpdate(h->ctx, p, len) != 1) {
        VD_ERR(err, VD_E_INTERNAL, "measure: SHA-256 failed");
        vd_error_add_openssl(err);
        return VD_E_INTERNAL;
    }
    return VD_OK;
}

vd_err_t vd_measure_sha256_final(vd_measure_sha256_t *h, uint8_t out[VD_MEASURE_SHA256_LEN],
                                 vd_error_t *err)
{
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != VD_MEASURE_SHA256_LEN ||
        EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1) {
        VD_ERR(err, VD_E_INTERNAL, "measure: SHA-256 failed");
        vd_error_add_openssl(err);
        return VD_E_INTERNAL;
    }
    return VD_OK;
}

vd_err_t vd_measure__cmdline_sha256(const char *append, uint8_t out[VD_MEASURE_SHA256_LEN],
                                    vd_error_t *err)
{
    static const uint8_t nul = 0;
    vd_measure_sha256_t *h = NULL;
    const char *s = append != NULL ? append : "";
    vd_err_t rc = vd_measure_sha256_new(&h, err);
    if (rc == VD_OK) {
        rc = vd_measure_sha256_update(h, s, strlen(s), err);
    }
    if (rc == VD_OK) {
        rc = vd_measure_sha256_update(h, &nul, 1, err); /* QEMU hashes the NUL too */
    }
    if (rc == VD_OK) {
        rc = vd_measure_sha256_final(h, out, err);
    }
    vd_measure_sha256_free(&h);
    return rc;
}

static uint8_t *put_entry(uint8_t *p, const char *guid, const uint8_t digest[32])
{
    vd_measure__guid(guid, p);
    p[16] = ENTRY_LEN;
    p[17] = 0;
    memcpy(p + 18, digest, VD_MEASURE_SHA256_LEN);
    return p + ENTRY_LEN;
}

vd_err_t vd_measure__hashes_page(uint8_t page[VD_MEASURE_PAGE], uint32_t offset,
                                 const uint8_t cmdline[VD_MEASURE_SHA256_LEN],
                                 const uint8_t initrd[VD_MEASURE_SHA256_LEN],
                                 const uint8_t kernel[VD_MEASURE_SHA256_LEN], vd_error_t *err)
{
    memset(page, 0, VD_MEASURE_PAGE);
    if (offset > VD_MEASURE_PAGE - TABLE_PADDED) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "OVMF: the SEV hashes table at page offset 0x%x does not fit its page",
                      offset);
    }
    uint8_t *p = page + offset;
    vd_measure__guid(TABLE_GUID, p);
    p[16] = (uint8_t)TABLE_LEN;
    p[17] = 0;
    p = put_entry(p + 18, CMDLINE_GUID, cmdline);
    p = put_entry(p, INITRD_GUID, initrd);
    (void)put_entry(p, KERNEL_GUID, kernel); /* then zeros up to TABLE_PADDED */
    return VD_OK;
}
