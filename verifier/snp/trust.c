/*
 * Trust anchors: AMD ARK pins and operator-configured extra roots (see include/verdict/trust.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "verdict/bytes.h"
#include "verdict/certset.h"
#include "verdict/trust.h"

/* SHA-256 of the ARKs' SubjectPublicKeyInfo, KDS.md section 3 (checked against four independent
 * copies of each certificate). The ASK/ASVK are not pinned: AMD has re-issued ASKs (Genoa's
 * 0x20001 was revoked and replaced), and the ARK signature on them is the proof. */
static const struct {
    vd_product_t product;
    const char *spki_sha256;
} amd_ark_pins[] = {
    {VD_PRODUCT_MILAN, "9f056bee44377e29308cb5ffa895bdfb62d18881fa6bed8d6f075b0204089cb9"},
    {VD_PRODUCT_GENOA, "429a69c9422aa258ee4d8db5fcda9c6470ef15f8cd5a9cebd6cbc7d90b863831"},
    {VD_PRODUCT_TURIN, "4f125410563a2ab9a50356f9243f6fe0b6f73de98603f53f90339c70e9d7ad08"},
};

struct vd_trust {
    X509 *extra[VD_TRUST_MAX_EXTRA];
    unsigned char extra_spki[VD_TRUST_MAX_EXTRA][32];
    vd_product_t extra_product[VD_TRUST_MAX_EXTRA];
    size_t extra_count;
};

vd_err_t vd_trust_new(vd_trust_t **out, vd_error_t *err)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "trust set: out of memory");
    }
    return VD_OK;
}

void vd_trust_free(vd_trust_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    for (size_t i = 0; i < (*pp)->extra_count; i++) {
        X509_free((*pp)->extra[i]);
    }
    free(*pp);
    *pp = NULL;
}

int vd_x509_spki_sha256(X509 *x, unsigned char out[32])
{
    unsigned char *der = NULL;
    int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    if (len <= 0) {
        return -1;
    }
    unsigned int md_len = 0;
    int ok = EVP_Digest(der, (size_t)len, out, &md_len, EVP_sha256(), NULL) == 1 && md_len == 32;
    OPENSSL_free(der);
    return ok ? 0 : -1;
}

vd_err_t vd_trust_add_extra(vd_trust_t *t, X509 *root, vd_error_t *err)
{
    if (t->extra_count >= VD_TRUST_MAX_EXTRA) {
        return VD_ERR(err, VD_E_TOO_LARGE, "more than %d extra trust anchors", VD_TRUST_MAX_EXTRA);
    }
    size_t i = t->extra_count;
    if (vd_x509_spki_sha256(root, t->extra_spki[i]) != 0) {
        return VD_ERR(err, VD_E_MALFORMED, "extra trust anchor: unreadable public key");
    }
    if (X509_up_ref(root) != 1) {
        return VD_ERR(err, VD_E_INTERNAL, "extra trust anchor: X509_up_ref failed");
    }
    char cn[64];
    vd_x509_common_name(root, cn, sizeof(cn));
    t->extra_product[i] =
        strncmp(cn, "ARK-", 4) == 0 ? vd_product_from_name(cn + 4) : VD_PRODUCT_UNKNOWN;
    t->extra[i] = root;
    t->extra_count++;
    return VD_OK;
}

size_t vd_trust_extra_count(const vd_trust_t *t)
{
    return t->extra_count;
}

X509 *vd_trust_extra_get(const vd_trust_t *t, size_t i)
{
    return i < t->extra_count ? t->extra[i] : NULL;
}

vd_root_kind_t vd_trust_match(const vd_trust_t *t, X509 *ark, vd_product_t *product,
                              char spki_hex[65])
{
    unsigned char spki[32];
    *product = VD_PRODUCT_UNKNOWN;
    spki_hex[0] = '\0';
    if (vd_x509_spki_sha256(ark, spki) != 0) {
        return VD_ROOT_UNTRUSTED;
    }
    vd_hex_encode(spki, sizeof(spki), spki_hex, 65);
    for (size_t i = 0; i < sizeof(amd_ark_pins) / sizeof(amd_ark_pins[0]); i++) {
        if (strcmp(spki_hex, amd_ark_pins[i].spki_sha256) == 0) {
            *product = amd_ark_pins[i].product;
            return VD_ROOT_AMD_PINNED;
        }
    }
    for (size_t i = 0; t != NULL && i < t->extra_count; i++) {
        if (CRYPTO_memcmp(spki, t->extra_spki[i], sizeof(spki)) == 0) {
            *product = t->extra_product[i];
            return VD_ROOT_EXTRA;
        }
    }
    return VD_ROOT_UNTRUSTED;
}
