/*
 * libFuzzer target: the certificate bundle importer (`verdict certs import`), the one certcache
 * decoder that reads operator-supplied bytes: PEM blocks of certificates and CRLs with comment
 * lines, validated against the trust set before anything is stored. Offline, memory-only cache,
 * AMD pins only, so nothing fuzzed can ever be accepted as trusted: an import that succeeds
 * must have stored nothing (a finding otherwise).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "verdict/certcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vd_trust_t *trust;
    vd_certcache_t *cache = NULL;
    vd_error_t err = {0};
    size_t imported = 0;
    if (trust == NULL && vd_trust_new(&trust, &err) != VD_OK) {
        abort();
    }
    vd_certcache_config_t cfg = {.db_path = ":memory:", .trust = trust, .offline = 1};
    if (vd_certcache_open(&cfg, &cache, &err) != VD_OK) {
        abort();
    }
    if (vd_certcache_import(cache, data, size, &imported, &err) == VD_OK && imported != 0) {
        abort(); /* only AMD's real roots are trusted: fuzzed bytes cannot chain to them */
    }
    vd_certcache_free(&cache);
    return 0;
}
