/*
 * The report signature (SNP-FORMAT.md section 6): ECDSA P-384 with SHA-384 over bytes
 * 0x000-0x29F; R at 0x2A0 and S at 0x2E8, each a 72-byte little-endian field whose top 24
 * bytes must be zero; 0x330-0x49F reserved and zero.
 */
#include <stdio.h>
#include <string.h>

#include <nettle/sha2.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "verdict/bytes.h"
#include "snp_internal.h"

#define SIG_R_OFF     0x2A0
#define SIG_S_OFF     0x2E8
#define SIG_COMPONENT 72
#define SIG_VALUE     48
#define SIG_RESERVED  0x330
#define P384_ORDER_HEX                                                                             \
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC5" \
    "2973"

/* Big-endian BIGNUM from a 48-byte little-endian field. */
static BIGNUM *bn_from_le48(const uint8_t *le)
{
    return BN_lebin2bn(le, SIG_VALUE, NULL);
}

int vd_snp__signature_format(const vd_snp_report_t *r, char *detail, size_t n)
{
    const uint8_t *raw = r->raw;
    int ok = 0;
    BIGNUM *order = NULL, *bn_r = NULL, *bn_s = NULL;
    if (!vd_all_zero(raw + SIG_R_OFF + SIG_VALUE, SIG_COMPONENT - SIG_VALUE)) {
        snprintf(detail, n, "R padding (bytes 0x2D0-0x2E7) must be zero");
        goto out;
    }
    if (!vd_all_zero(raw + SIG_S_OFF + SIG_VALUE, SIG_COMPONENT - SIG_VALUE)) {
        snprintf(detail, n, "S padding (bytes 0x318-0x32F) must be zero");
        goto out;
    }
    if (!vd_all_zero(raw + SIG_RESERVED, VD_SNP_REPORT_SIZE - SIG_RESERVED)) {
        snprintf(detail, n, "reserved bytes 0x330-0x49F after the signature must be zero");
        goto out;
    }
    bn_r = bn_from_le48(raw + SIG_R_OFF);
    bn_s = bn_from_le48(raw + SIG_S_OFF);
    if (bn_r == NULL || bn_s == NULL || BN_hex2bn(&order, P384_ORDER_HEX) == 0) {
        snprintf(detail, n, "internal error decoding the signature");
        goto out;
    }
    if (BN_is_zero(bn_r) || BN_is_zero(bn_s)) {
        snprintf(detail, n, "signature R or S is zero (report not signed)");
        goto out;
    }
    if (BN_cmp(bn_r, order) >= 0 || BN_cmp(bn_s, order) >= 0) {
        snprintf(detail, n, "signature R or S is not below the P-384 group order");
        goto out;
    }
    snprintf(detail, n, "R, S in range; padding and reserved bytes zero");
    ok = 1;
out:
    BN_free(order);
    BN_free(bn_r);
    BN_free(bn_s);
    return ok;
}

int vd_chain_key_is_p384(EVP_PKEY *key)
{
    char group[32];
    size_t glen = 0;
    if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
        return 0;
    }
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1) {
        return 0;
    }
    return strcmp(group, "secp384r1") == 0;
}

int vd_snp_report_signed_by(const vd_snp_report_t *r, EVP_PKEY *key, char *detail, size_t n)
{
    if (!vd_chain_key_is_p384(key)) {
        snprintf(detail, n, "endorsement key is not an EC P-384 key");
        return 0;
    }
    uint8_t digest[SHA384_DIGEST_SIZE];
    struct sha384_ctx h;
    sha384_init(&h);
    sha384_update(&h, VD_SNP_SIGNED_SIZE, r->raw);
    sha384_digest(&h, sizeof(digest), digest);
    int v = vd_snp__p384_verify(key, digest, r->sig_r, r->sig_s);
    if (v < 0) {
        snprintf(detail, n, "internal error reading the endorsement key for ECDSA verification");
        return 0;
    }
    if (v == 0) {
        snprintf(detail, n,
                 "ECDSA P-384/SHA-384 signature over bytes 0x000-0x29F does not verify with "
                 "the endorsement key");
        return 0;
    }
    snprintf(detail, n, "ECDSA P-384/SHA-384 signature over bytes 0x000-0x29F verifies");
    return 1;
}
