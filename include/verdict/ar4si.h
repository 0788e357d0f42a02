/*
 * verdict: AR4SI trustworthiness vectors and EAR status tiers (draft-ietf-rats-ar4si,
 * STANDARDS.md sections 2.3-2.4).
 *
 * A claim is an int8: 0 none, 2..31 affirming, 32..95 warning, 96..127 contraindicated
 * (negative values are the private ranges of the same tiers; -1 verifier malfunction, 1
 * unexpected evidence). The appraisal status is the worst tier in the vector.
 */
#ifndef verdict__ar4si_h
#define verdict__ar4si_h

#include <stdint.h>

typedef enum vd_claim {
    VD_CLAIM_INSTANCE_IDENTITY = 0,
    VD_CLAIM_CONFIGURATION,
    VD_CLAIM_EXECUTABLES,
    VD_CLAIM_FILE_SYSTEM,
    VD_CLAIM_HARDWARE,
    VD_CLAIM_RUNTIME_OPAQUE,
    VD_CLAIM_STORAGE_OPAQUE,
    VD_CLAIM_SOURCED_DATA,
    VD_CLAIM__COUNT
} vd_claim_t;

typedef enum vd_tier {
    VD_TIER_NONE = 0,
    VD_TIER_AFFIRMING = 2,
    VD_TIER_WARNING = 32,
    VD_TIER_CONTRAINDICATED = 96,
} vd_tier_t;

/* Standard values used by verdict (AR4SI section 2.3.4). */
#define VD_AR_NO_CLAIM        0
#define VD_AR_UNEXPECTED      1
#define VD_AR_AFFIRMING       2
#define VD_AR_APPROVED_BOOT   3
#define VD_AR_WARNING         32
#define VD_AR_UNRECOGNIZED_RT 33
#define VD_AR_CONTRAINDICATED 96
#define VD_AR_UNRECOGNIZED    97
#define VD_AR_CRYPTO_FAILED   99
#define VD_AR_MALFUNCTION     (-1)

typedef struct vd_tvec {
    int8_t claims[VD_CLAIM__COUNT]; /* 0 = no claim */
} vd_tvec_t;

/** JSON key of a claim ("instance-identity", "hardware", ...). */
const char *vd_claim_name(vd_claim_t c);

/** Claim for a JSON key, or -1 if unknown. */
int vd_claim_from_name(const char *name);

/** Tier of one claim value. */
vd_tier_t vd_tier_of(int8_t value);

/** Worst tier in the vector (none if every claim is 0). */
vd_tier_t vd_tvec_status(const vd_tvec_t *v);

/** "none", "affirming", "warning" or "contraindicated". */
const char *vd_tier_name(vd_tier_t t);

/**
 * Record `value` for claim `c` unless the vector already holds a worse one for it: failures
 * are never overwritten by later passes.
 */
void vd_tvec_raise(vd_tvec_t *v, vd_claim_t c, int8_t value);

#endif
