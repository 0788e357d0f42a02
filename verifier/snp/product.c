/*
 * Product identification (SNP-FORMAT.md section 7; KDS.md section 1).
 */
#include <string.h>

#include "verdict/product.h"

const char *vd_product_name(vd_product_t p)
{
    switch (p) {
    case VD_PRODUCT_MILAN:
        return "Milan";
    case VD_PRODUCT_GENOA:
        return "Genoa";
    case VD_PRODUCT_TURIN:
        return "Turin";
    case VD_PRODUCT_UNKNOWN:
        break;
    }
    return "unknown";
}

/* 1 if `s` is `name` or `name` followed by "-<stepping>". */
static int name_matches(const char *s, const char *name)
{
    size_t n = strlen(name);
    return strncmp(s, name, n) == 0 && (s[n] == '\0' || s[n] == '-');
}

vd_product_t vd_product_from_name(const char *s)
{
    if (s == NULL) {
        return VD_PRODUCT_UNKNOWN;
    }
    if (name_matches(s, "Milan")) {
        return VD_PRODUCT_MILAN;
    }
    if (name_matches(s, "Genoa") || name_matches(s, "Siena") || name_matches(s, "Bergamo")) {
        return VD_PRODUCT_GENOA;
    }
    if (name_matches(s, "Turin")) {
        return VD_PRODUCT_TURIN;
    }
    return VD_PRODUCT_UNKNOWN;
}

vd_product_t vd_product_from_cpuid(uint8_t family, uint8_t model, const char **variant)
{
    const char *v = NULL;
    vd_product_t p = VD_PRODUCT_UNKNOWN;
    if (family == 0x19 && model <= 0x0F) {
        p = VD_PRODUCT_MILAN;
        v = "Milan";
    } else if (family == 0x19 && model >= 0x10 && model <= 0x1F) {
        p = VD_PRODUCT_GENOA;
        v = "Genoa";
    } else if (family == 0x19 && model >= 0xA0 && model <= 0xAF) {
        /* Zen4c: same root keys and KDS endpoint as Genoa (go-sev-guest PR #184). */
        p = VD_PRODUCT_GENOA;
        v = "Siena/Bergamo";
    } else if (family == 0x1A && model <= 0x11) {
        p = VD_PRODUCT_TURIN;
        v = "Turin";
    }
    if (variant != NULL) {
        *variant = v;
    }
    return p;
}
