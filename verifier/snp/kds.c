/*
 * KDS URL construction (KDS.md section 1): /vcek/v1/{product}/{hwid}?...,
 * /{vcek|vlek}/v1/{product}/cert_chain and /crl. Siena/Bergamo are already Genoa here.
 */
#include <stdio.h>

#include "verdict/bytes.h"
#include "verdict/kds.h"

static int fits(int n, size_t out_size)
{
    return n > 0 && (size_t)n < out_size ? 0 : -1;
}

int vd_kds_vcek_url(const char *base, vd_product_t p, const uint8_t chip_id[64],
                    const vd_tcb_t *reported, char *out, size_t out_size)
{
    char hwid[129];
    int n;
    if (p == VD_PRODUCT_UNKNOWN) {
        return -1;
    }
    if (p == VD_PRODUCT_TURIN) {
        /* Turin's hwid is CHIP_ID[0..7]; the 64-byte form answers 404 (microsoft/CCF#7499). */
        vd_hex_encode(chip_id, 8, hwid, sizeof(hwid));
        n = snprintf(out, out_size,
                     "%s/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", base,
                     vd_product_name(p), hwid, reported->fmc, reported->bootloader, reported->tee,
                     reported->snp, reported->microcode);
    } else {
        vd_hex_encode(chip_id, 64, hwid, sizeof(hwid));
        n = snprintf(out, out_size, "%s/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
                     base, vd_product_name(p), hwid, reported->bootloader, reported->tee,
                     reported->snp, reported->microcode);
    }
    return fits(n, out_size);
}

int vd_kds_chain_url(const char *base, vd_product_t p, int vlek, char *out, size_t out_size)
{
    if (p == VD_PRODUCT_UNKNOWN) {
        return -1;
    }
    int n = snprintf(out, out_size, "%s/%s/v1/%s/cert_chain", base, vlek ? "vlek" : "vcek",
                     vd_product_name(p));
    return fits(n, out_size);
}

int vd_kds_crl_url(const char *base, vd_product_t p, int vlek, char *out, size_t out_size)
{
    if (p == VD_PRODUCT_UNKNOWN) {
        return -1;
    }
    int n = snprintf(out, out_size, "%s/%s/v1/%s/crl", base, vlek ? "vlek" : "vcek",
                     vd_product_name(p));
    return fits(n, out_size);
}
