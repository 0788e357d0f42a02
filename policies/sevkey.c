/*
 * The digest a report carries for an ID or author key (ID_KEY_DIGEST, AUTHOR_KEY_DIGEST), from
 * the key itself: SHA-384 over the key's SEV-SNP API form (AMD SEV-SNP ABI #56860, "ECDSA
 * Public Key Format"; the format go-sev-guest's abi.EcdsaPublicKeyToBytes writes):
 *
 *   0x000  4    CURVE, u32 little-endian: 2 = P-384
 *   0x004  72   QX, little-endian, zero-padded (48 bytes of value)
 *   0x04C  72   QY, the same
 *   0x094  880  zero
 *
 * Lets a policy list trusted keys as PEM (id_keys, author_keys) besides their digests. Pure:
 * parses text it is given, no I/O.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "verdict/policy.h"

#define SEV_CURVE_P384 2
#define SEV_QX_OFF     0x04
#define SEV_QY_OFF     0x4C
#define SEV_COORD_LEN  72
#define P384_LEN       48

/* The public key in `pem`: a PUBLIC KEY block, else a CERTIFICATE's key. NULL if neither. */
static EVP_PKEY *read_key(const char *pem, size_t len)
{
    if (len > INT32_MAX) {
        return NULL;
    }
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *k = b != NULL ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (k != NULL) {
        return k;
    }
    b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (x != NULL) {
        k = X509_get_pubkey(x);
        X509_free(x);
    }
    return k;
}

/* `bn` as a 48-byte value, little-endian, into `out` (72 bytes, zero-padded). 0 or -1. */
static int put_le(const BIGNUM *bn, uint8_t *out)
{
    uint8_t be[P384_LEN];
    if (BN_num_bytes(bn) > P384_LEN || BN_bn2binpad(bn, be, P384_LEN) != P384_LEN) {
        return -1;
    }
    memset(out, 0, SEV_COORD_LEN);
    for (size_t i = 0; i < P384_LEN; i++) {
        out[i] = be[P384_LEN - 1 - i];
    }
    return 0;
}

vd_err_t vd_policy_sev_key_digest(const char *pem, size_t len, uint8_t out[48], vd_error_t *err)
{
    uint8_t buf[VD_SEV_PUBKEY_SIZE];
    char group[64] = "";
    BIGNUM *x = NULL, *y = NULL;
    vd_err_t rc = VD_OK;
    unsigned int dlen = 0;
    EVP_PKEY *k = read_key(pem, len);
    ERR_clear_error();
    if (k == NULL) {
        return VD_ERR(err, VD_E_MALFORMED,
                      "no PEM public key (-----BEGIN PUBLIC KEY-----) or certificate found");
    }
    if (EVP_PKEY_base_id(k) != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) !=
            1 ||
        strcmp(group, "secp384r1") != 0) {
        rc = VD_ERR(err, VD_E_UNSUPPORTED,
                    "the key is %s%s%s, not EC P-384 (ID and author keys "
                    "are ECDSA P-384)",
                    EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "?",
                    group[0] ? " " : "", group);
        goto out;
    }
    if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
        rc = VD_ERR(err, VD_E_INTERNAL, "cannot read the EC point");
        goto out;
    }
    memset(buf, 0, sizeof(buf));
    buf[0] = SEV_CURVE_P384; /* little-endian u32 2 */
    if (put_le(x, buf + SEV_QX_OFF) != 0 || put_le(y, buf + SEV_QY_OFF) != 0) {
        rc = VD_ERR(err, VD_E_MALFORMED, "EC point coordinate longer than 48 bytes");
        goto out;
    }
    if (EVP_Digest(buf, sizeof(buf), out, &dlen, EVP_sha384(), NULL) != 1 || dlen != 48) {
        rc = VD_ERR(err, VD_E_INTERNAL, "SHA-384 failed");
    }
out:
    ERR_clear_error();
    BN_free(x);
    BN_free(y);
    EVP_PKEY_free(k);
    return rc;
}
