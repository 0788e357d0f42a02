/*
 * verdict: AMD's VCEK/VLEK X.509 extensions (VCEK spec 57230 ch. 3; KDS.md section 2).
 *
 * All are non-critical, under 1.3.6.1.4.1.3704.1: structVersion (.1, INTEGER), productName
 * (.2, IA5String), SPLs (.3.1-.3.9, INTEGER 0..255; .3.4 absent on Turin, .3.9 fmcSPL only on
 * Turin), hwID (.4, raw bytes, 64 or 8; a DER OCTET STRING wrapper is accepted too) and cspID
 * (.5, IA5String, VLEK only). Unknown non-critical extensions are ignored.
 */
#ifndef verdict__amdcert_h
#define verdict__amdcert_h

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "verdict/error.h"
#include "verdict/tcb.h"

/* SPL indexes: the last arc of 1.3.6.1.4.1.3704.1.3.N. */
#define VD_SPL_BL    1
#define VD_SPL_TEE   2
#define VD_SPL_SNP   3
#define VD_SPL_UCODE 8
#define VD_SPL_FMC   9
#define VD_SPL_MAX   9

typedef struct vd_amdcert {
    int has_struct_version;
    long struct_version;
    int has_product_name;
    char product_name[32];
    int has_spl[VD_SPL_MAX + 1]; /* index 1..9 */
    uint8_t spl[VD_SPL_MAX + 1];
    int has_hwid;
    uint8_t hwid[64];
    size_t hwid_len; /* 64 (Milan/Genoa) or 8 (Turin) */
    int has_csp_id;
    char csp_id[128];
} vd_amdcert_t;

/**
 * Decode AMD's extensions from `x`. VD_E_MALFORMED (message names the OID) if a known extension
 * does not decode: wrong type, SPL outside 0..255, hwID not 8 or 64 bytes, trailing bytes, a
 * known extension twice, or any unknown extension marked critical.
 */
vd_err_t vd_amdcert_parse(X509 *x, vd_amdcert_t *out, vd_error_t *err);

/**
 * The TCB the certificate was issued for, in product `p`'s layout. Missing SPLs read as 0;
 * callers check presence with vd_amdcert_tcb_complete first.
 */
vd_tcb_t vd_amdcert_tcb(const vd_amdcert_t *c, vd_product_t p);

/**
 * 1 if every SPL that product `p` needs is present (bl, tee, snp, ucode; fmc on Turin).
 * Otherwise 0 and the name of the first missing one in *missing.
 */
int vd_amdcert_tcb_complete(const vd_amdcert_t *c, vd_product_t p, const char **missing);

#endif
