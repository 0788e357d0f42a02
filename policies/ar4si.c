/*
 * AR4SI claims and tiers (see include/verdict/ar4si.h). Pure.
 */
#include <string.h>

#include "verdict/ar4si.h"

static const char *const claim_names[VD_CLAIM__COUNT] = {
    "instance-identity", "configuration",  "executables",    "file-system",
    "hardware",          "runtime-opaque", "storage-opaque", "sourced-data",
};

const char *vd_claim_name(vd_claim_t c)
{
    return (unsigned)c < VD_CLAIM__COUNT ? claim_names[c] : "unknown";
}

int vd_claim_from_name(const char *name)
{
    for (int i = 0; i < VD_CLAIM__COUNT; i++) {
        if (strcmp(name, claim_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

vd_tier_t vd_tier_of(int8_t v)
{
    if (v >= 96 || v <= -97) {
        return VD_TIER_CONTRAINDICATED;
    }
    if (v >= 32 || v <= -33) {
        return VD_TIER_WARNING;
    }
    if (v >= 2 || v <= -2) {
        return VD_TIER_AFFIRMING;
    }
    return VD_TIER_NONE; /* -1, 0, 1 */
}

vd_tier_t vd_tvec_status(const vd_tvec_t *v)
{
    vd_tier_t worst = VD_TIER_NONE;
    for (int i = 0; i < VD_CLAIM__COUNT; i++) {
        vd_tier_t t = vd_tier_of(v->claims[i]);
        if (t > worst) {
            worst = t;
        }
    }
    return worst;
}

const char *vd_tier_name(vd_tier_t t)
{
    switch (t) {
    case VD_TIER_NONE:
        return "none";
    case VD_TIER_AFFIRMING:
        return "affirming";
    case VD_TIER_WARNING:
        return "warning";
    case VD_TIER_CONTRAINDICATED:
        return "contraindicated";
    }
    return "none";
}

/* Severity for "is this worse": tier first, then the value's magnitude inside the tier. */
static int severity(int8_t v)
{
    return (int)vd_tier_of(v) * 256 + (v < 0 ? -v : v);
}

void vd_tvec_raise(vd_tvec_t *v, vd_claim_t c, int8_t value)
{
    if ((unsigned)c >= VD_CLAIM__COUNT) {
        return;
    }
    if (v->claims[c] == 0 || severity(value) > severity(v->claims[c])) {
        v->claims[c] = value;
    }
}
