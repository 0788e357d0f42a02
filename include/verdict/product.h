/*
 * verdict: AMD EPYC product lines that produce SEV-SNP reports, and how to tell them apart.
 *
 * The product decides the TCB_VERSION layout, the KDS path and which ARK the chain must end
 * in (SNP-FORMAT.md section 7, KDS.md section 1). Zen4c parts (Siena, Bergamo) are their own
 * variant but use Genoa's chain and KDS name.
 */
#ifndef verdict__product_h
#define verdict__product_h

#include <stdint.h>

typedef enum vd_product {
    VD_PRODUCT_UNKNOWN = 0,
    VD_PRODUCT_MILAN,
    VD_PRODUCT_GENOA,
    VD_PRODUCT_TURIN,
} vd_product_t;

/** KDS product name ("Milan", "Genoa", "Turin"), or "unknown". Never NULL. */
const char *vd_product_name(vd_product_t p);

/**
 * Product named by `s`: a KDS name or a VCEK productName with a stepping ("Milan-B0",
 * "Genoa", "Turin-B1"); case-sensitive as AMD writes them. "Siena" and "Bergamo" map to
 * Genoa. Unknown names give VD_PRODUCT_UNKNOWN.
 */
vd_product_t vd_product_from_name(const char *s);

/**
 * Product from a v3+ report's CPUID_FAM_ID / CPUID_MOD_ID (SNP-FORMAT.md section 7).
 * If `variant` is not NULL it receives a display name ("Milan", "Genoa", "Siena/Bergamo",
 * "Turin"), or NULL when the family/model is unknown.
 */
vd_product_t vd_product_from_cpuid(uint8_t family, uint8_t model, const char **variant);

#endif
