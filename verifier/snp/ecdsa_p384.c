/*
 * ECDSA P-384 verification of a report signature, with Nettle's secp384r1 (hogweed).
 *
 * Why not OpenSSL, which does every other signature here: the report signature is the one
 * check every appraisal pays, and Debian 12's OpenSSL 3.0 has no dedicated P-384 code (its
 * generic prime-curve arithmetic goes through BIGNUM for every field operation). Nettle's
 * secp384r1 has a dedicated modular reduction and x86_64 assembly; on the development machines
 * it verifies about 1.6 times as many signatures per second (bench/bench_appraise prints both).
 * OpenSSL still parses the certificates and holds the key; only the arithmetic moves.
 *
 * tests/unit/test_ecdsa_p384.c checks this against OpenSSL's EVP verification on every real
 * report, on mutated signatures, digests and keys, and on the edge cases (zero, the group
 * order, points not on the curve).
 */
#include <string.h>

#include <gmp.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "snp_internal.h"

#define P384_BYTES 48

/* The affine coordinates of `key` (an EC P-384 key), each 48 bytes big-endian. The encoded
 * point is one parameter read (uncompressed: 0x04 || X || Y, what a certificate's key decodes
 * to); the two BIGNUM reads are the fallback for any other form. */
static int key_xy(EVP_PKEY *key, uint8_t x[P384_BYTES], uint8_t y[P384_BYTES])
{
    uint8_t pt[1 + 2 * P384_BYTES];
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len) == 1 &&
        len == sizeof(pt) && pt[0] == 0x04) {
        memcpy(x, pt + 1, P384_BYTES);
        memcpy(y, pt + 1 + P384_BYTES, P384_BYTES);
        return 1;
    }
    BIGNUM *bx = NULL, *by = NULL;
    int ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
             EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1 &&
             BN_bn2binpad(bx, x, P384_BYTES) == P384_BYTES &&
             BN_bn2binpad(by, y, P384_BYTES) == P384_BYTES;
    BN_free(bx);
    BN_free(by);
    return ok;
}

int vd_snp__p384_verify(EVP_PKEY *key, const uint8_t digest[48], const uint8_t r_le[48],
                        const uint8_t s_le[48])
{
    uint8_t x[P384_BYTES], y[P384_BYTES];
    if (!key_xy(key, x, y)) {
        return -1;
    }
    mpz_t mx, my;
    struct ecc_point pub;
    struct dsa_signature sig;
    mpz_init(mx);
    mpz_init(my);
    /* Big-endian coordinates (order 1), little-endian R and S as in the report (order -1). */
    mpz_import(mx, P384_BYTES, 1, 1, 0, 0, x);
    mpz_import(my, P384_BYTES, 1, 1, 0, 0, y);
    ecc_point_init(&pub, nettle_get_secp_384r1());
    dsa_signature_init(&sig);
    mpz_import(sig.r, P384_BYTES, -1, 1, 0, 0, r_le);
    mpz_import(sig.s, P384_BYTES, -1, 1, 0, 0, s_le);
    int rc = -1;
    /* ecc_point_set refuses a point that is not on the curve; ecdsa_verify refuses R or S
     * outside 1..n-1. A 48-byte digest is the full bit length of the P-384 order. */
    if (ecc_point_set(&pub, mx, my)) {
        rc = ecdsa_verify(&pub, P384_BYTES, digest, &sig) ? 1 : 0;
    }
    dsa_signature_clear(&sig);
    ecc_point_clear(&pub);
    mpz_clear(mx);
    mpz_clear(my);
    return rc;
}
