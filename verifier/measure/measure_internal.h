/*
 * verdict measure: declarations shared by the files of verifier/measure (not public).
 */
#ifndef verdict__measure_internal_h
#define verdict__measure_internal_h

#include <stdint.h>

#include <openssl/evp.h>

#include "verdict/measure.h"

/* The SNP_LAUNCH_UPDATE chain (gctx.c): LD and a SHA-384 context reused for every step. */
typedef struct vd_gctx {
    uint8_t ld[VD_MEASURE_DIGEST_LEN];
    EVP_MD *md;
    EVP_MD_CTX *ctx;
} vd_gctx_t;

/** Start the chain at `start` (48 bytes) or, when NULL, at 48 zero bytes. */
vd_err_t vd_measure__gctx_init(vd_gctx_t *g, const uint8_t *start, vd_error_t *err);
void vd_measure__gctx_free(vd_gctx_t *g);

/** SHA-384 of `len` bytes with the chain's context. */
vd_err_t vd_measure__sha384(vd_gctx_t *g, const uint8_t *p, size_t len,
                            uint8_t out[VD_MEASURE_DIGEST_LEN], vd_error_t *err);

/** One step: LD = SHA-384(PAGE_INFO{LD, contents or zeros when NULL, type, gpa}). */
vd_err_t vd_measure__gctx_step(vd_gctx_t *g, vd_page_type_t type, uint64_t gpa,
                               const uint8_t *contents, vd_error_t *err);

/** `pages` steps of a type whose CONTENTS are zero (ZERO, UNMEASURED, SECRETS, CPUID). */
vd_err_t vd_measure__gctx_empty_pages(vd_gctx_t *g, vd_page_type_t type, uint64_t gpa,
                                      uint64_t pages, vd_error_t *err);

/** NORMAL steps over `len` bytes (a multiple of 4096) loaded at `gpa`. */
vd_err_t vd_measure__gctx_normal(vd_gctx_t *g, uint64_t gpa, const uint8_t *data, size_t len,
                                 vd_error_t *err);

/** Fill `page` with the initial VMSA of the BSP (`bsp` != 0) or of an AP (vmsa.c). */
void vd_measure__vmsa(uint8_t page[VD_MEASURE_PAGE], vd_vmm_t vmm, int bsp, uint32_t reset_addr,
                      uint32_t vcpu_sig, uint64_t guest_features);

/** SHA-256 of the command line `append` (NULL counts as "") followed by one NUL (hashes.c). */
vd_err_t vd_measure__cmdline_sha256(const char *append, uint8_t out[VD_MEASURE_SHA256_LEN],
                                    vd_error_t *err);

#define VD_MEASURE__HASHES_TABLE_LEN 176 /* the SEV hashes table, padded to 16 bytes */

/**
 * Fill `page` with the KERNEL_HASHES page: zeros and the SEV hashes table at `offset`.
 * VD_E_MALFORMED if the table does not fit the page there.
 */
vd_err_t vd_measure__hashes_page(uint8_t page[VD_MEASURE_PAGE], uint32_t offset,
                                 const uint8_t cmdline[VD_MEASURE_SHA256_LEN],
                                 const uint8_t initrd[VD_MEASURE_SHA256_LEN],
                                 const uint8_t kernel[VD_MEASURE_SHA256_LEN], vd_error_t *err);

/** Pages a metadata section measures: one for SECRETS and CPUID, else size / 4096 (ovmf.c). */
uint64_t vd_measure__section_pages(const vd_ovmf_section_t *s);

/** Store a GUID given as text ("96b582de-1fb2-...") in EFI byte order into `out[16]`. */
void vd_measure__guid(const char *text, uint8_t out[16]);

#endif
