/*
 * libFuzzer target: certificate blobs as they come from --certs, KDS or a cert table entry.
 * vd_certset_add_blob (PEM with any number of CERTIFICATE blocks, or one DER certificate);
 * for each certificate it yields, vd_amdcert_parse (AMD's VCEK/VLEK extensions),
 * vd_x509_common_name and the helpers that consume their results.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "verdict/amdcert.h"
#include "verdict/certset.h"
#include "verdict/product.h"
#include "verdict/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_cert(X509 *x)
{
    vd_amdcert_t ext;
    vd_error_t err = {0};
    char cn[64], tiny[4];
    unsigned char spki[32];

    vd_x509_common_name(x, cn, sizeof(cn));
    if (strlen(cn) >= sizeof(cn)) {
        abort();
    }
    vd_x509_common_name(x, tiny, sizeof(tiny)); /* truncation path */
    if (strlen(tiny) >= sizeof(tiny)) {
        abort();
    }
    (void)vd_x509_spki_sha256(x, spki);

    if (vd_amdcert_parse(x, &ext, &err) != VD_OK) {
        return;
    }
    if (ext.has_hwid && ext.hwid_len != 8 && ext.hwid_len != 64) {
        abort();
    }
    if (ext.has_product_name && memchr(ext.product_name, '\0', sizeof(ext.product_name)) == NULL) {
        abort();
    }
    if (ext.has_csp_id && memchr(ext.csp_id, '\0', sizeof(ext.csp_id)) == NULL) {
        abort();
    }
    (void)vd_product_from_name(ext.has_product_name ? ext.product_name : NULL);
    for (int p = VD_PRODUCT_UNKNOWN; p <= VD_PRODUCT_TURIN; p++) {
        const char *missing = NULL;
        if (vd_amdcert_tcb_complete(&ext, (vd_product_t)p, &missing)) {
            (void)vd_amdcert_tcb(&ext, (vd_product_t)p);
        } else if (missing == NULL) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vd_certset_t *set = NULL;
    vd_error_t err = {0};

    if (vd_certset_new(&set, &err) != VD_OK) {
        abort();
    }
    if (vd_certset_add_blob(set, data, size, "fuzz", &err) == VD_OK) {
        if (vd_certset_count(set) == 0) {
            abort(); /* success means at least one certificate */
        }
    }
    for (size_t i = 0; i < vd_certset_count(set); i++) {
        check_cert(vd_certset_get(set, i));
    }
    vd_certset_free(&set);
    ERR_clear_error();
    return 0;
}
