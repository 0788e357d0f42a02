/*
 * verdict: AMD Key Distribution Service URLs (KDS.md section 1). Pure string building, shared
 * by the verifier's "missing certificate" messages and the certcache client.
 */
#ifndef verdict__kds_h
#define verdict__kds_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/product.h"
#include "verdict/tcb.h"

#define VD_KDS_DEFAULT_BASE "https://kdsintf.amd.com"
#define VD_KDS_URL_MAX      512

/**
 * VCEK URL for `chip_id` at TCB `reported` (from REPORTED_TCB): 64-byte hwid for Milan/Genoa,
 * the first 8 bytes and fmcSPL first for Turin. Returns 0, or -1 if the product is unknown or
 * `out` is too small.
 */
int vd_kds_vcek_url(const char *base, vd_product_t p, const uint8_t chip_id[64],
                    const vd_tcb_t *reported, char *out, size_t out_size)
    __attribute__((warn_unused_result));

/** cert_chain URL (ASK+ARK, or ASVK+ARK when `vlek`). Returns 0 or -1. */
int vd_kds_chain_url(const char *base, vd_product_t p, int vlek, char *out, size_t out_size)
    __attribute__((warn_unused_result));

/** CRL URL for the VCEK or VLEK hierarchy. Returns 0 or -1. */
int vd_kds_crl_url(const char *base, vd_product_t p, int vlek, char *out, size_t out_size)
    __attribute__((warn_unused_result));

#endif
