/*
 * libFuzzer target: the certificate bundle importer (`verdict certs import`) with a test PKI.
 * fuzz_bundle trusts AMD's pins only, so nothing fuzzed is ever stored; here every self-signed
 * certificate of the input is trusted as an extra anchor first (as an operator's
 * --extra-roots would be), so that mutations reach the paths that validate and store chains,
 * VCEKs, VLEKs and CRLs. Offline, memory-only cache, fresh per input.
 * Aborts if more is stored than the import reports, a stored object does not parse back, or a
 * stored chain's ARK is not a trusted root.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "verdict/certcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const vd_trust_t *trust;
    size_t n;
} walk_t;

static int check_entry(void *ud, const vd_certcache_entry_t *e)
{
    walk_t *w = ud;
    w->n++;
    if (e->pem == NULL) {
        abort(); /* what the import stored must parse back */
    }
    if (strcmp(e->kind, "chain") == 0) {
        BIO *b = BIO_new_mem_buf(e->pem, (int)e->pem_len);
        X509 *ask = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        X509 *ark = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        vd_product_t p;
        char spki[65];
        if (ask == NULL || ark == NULL ||
            vd_trust_match(w->trust, ark, &p, spki) == VD_ROOT_UNTRUSTED) {
            abort(); /* a stored chain must end at a trusted root */
        }
        X509_free(ask);
        X509_free(ark);
        BIO_free(b);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vd_trust_t *trust = NULL;
    vd_certcache_t *cache = NULL;
    vd_error_t err = {0};
    size_t imported = 0;
    if (size > 256 * 1024) {
        return 0;
    }
    if (vd_trust_new(&trust, &err) != VD_OK) {
        abort();
    }
    BIO *b = BIO_new_mem_buf(data, (int)size);
    X509 *x;
    for (int i = 0; b != NULL && i < 8 && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL;
         i++) {
        if (X509_check_issued(x, x) == X509_V_OK) {
            vd_error_t e2 = {0};
            (void)vd_trust_add_extra(trust, x, &e2);
        }
        X509_free(x);
    }
    BIO_free(b);
    vd_certcache_config_t cfg = {.db_path = ":memory:", .trust = trust, .offline = 1};
    if (vd_certcache_open(&cfg, &cache, &err) != VD_OK) {
        abort();
    }
    int ok = vd_certcache_import(cache, data, size, &imported, &err) == VD_OK;
    if (!ok && err.msg[0] == '\0') {
        abort();
    }
    walk_t w = {.trust = trust, .n = 0};
    vd_error_t e3 = {0};
    size_t count = 0;
    if (vd_certcache_each(cache, check_entry, &w, &count, &e3) != VD_OK || w.n != count ||
        (ok && count > imported)) {
        abort();
    }
    vd_certcache_free(&cache);
    vd_trust_free(&trust);
    return 0;
}
