/*
 * verdict: which roots an SEV-SNP chain may end in.
 *
 * AMD's ARKs are pinned by the SHA-256 of their SubjectPublicKeyInfo (KDS.md section 3), so a
 * re-issued certificate with the same key still matches and no certificate ships with the
 * product. Further anchors (a test or private PKI) are trusted only when the operator adds
 * them explicitly (--extra-roots); they are never implied.
 */
#ifndef verdict__trust_h
#define verdict__trust_h

#include <openssl/x509.h>

#include "verdict/error.h"
#include "verdict/product.h"

#define VD_TRUST_MAX_EXTRA 16

typedef struct vd_trust vd_trust_t;

typedef enum vd_root_kind {
    VD_ROOT_UNTRUSTED = 0,
    VD_ROOT_AMD_PINNED, /* matches a built-in AMD ARK pin */
    VD_ROOT_EXTRA,      /* matches an operator-configured extra anchor */
} vd_root_kind_t;

/** New trust set holding the built-in AMD ARK pins only. Caller frees with vd_trust_free. */
vd_err_t vd_trust_new(vd_trust_t **out, vd_error_t *err);

void vd_trust_free(vd_trust_t **pp);

/**
 * Trust `root` (a self-signed CA) as an extra anchor, by its public key. The product it serves
 * is taken from a commonName "ARK-<product>"; otherwise it may anchor any product.
 * Takes a reference on `root`.
 */
vd_err_t vd_trust_add_extra(vd_trust_t *t, X509 *root, vd_error_t *err);

/** Number of extra anchors, and the i-th one (borrowed). */
size_t vd_trust_extra_count(const vd_trust_t *t);
X509 *vd_trust_extra_get(const vd_trust_t *t, size_t i);

/**
 * Is `ark` a trusted root? Returns the kind and, when known, the product it anchors in
 * *product (VD_PRODUCT_UNKNOWN for an extra anchor without an ARK-<product> name). `spki_hex`
 * (65 bytes) receives the SHA-256 of its SubjectPublicKeyInfo for messages, or "".
 */
vd_root_kind_t vd_trust_match(const vd_trust_t *t, X509 *ark, vd_product_t *product,
                              char spki_hex[65]);

/** SHA-256 over the DER SubjectPublicKeyInfo of `x`. Returns 0, or -1 on failure. */
int vd_x509_spki_sha256(X509 *x, unsigned char out[32]);

#endif
