/*
 * libFuzzer target: the extended-report certificate table (vd_certtable_parse) and the
 * certificate blobs it points to: every entry of a table that parses goes through
 * vd_certset_add_blob (PEM or DER), as vd_snp_verify does with the evidence's table.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "verdict/certset.h"
#include "verdict/certtable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vd_certtable_t table;
    vd_certset_t *set = NULL;
    vd_error_t err = {0};

    if (vd_certtable_parse(data, size, &table, &err) != VD_OK) {
        return 0;
    }
    if (table.count > VD_CERTTABLE_MAX_ENTRIES) {
        abort();
    }
    if (vd_certset_new(&set, &err) != VD_OK) {
        abort();
    }
    for (size_t i = 0; i < table.count; i++) {
        const vd_certtable_entry_t *e = &table.entries[i];
        /* Every blob must lie inside the buffer, past the header. */
        if (e->data < data || e->len == 0 || e->len > size ||
            (size_t)(e->data - data) > size - e->len) {
            abort();
        }
        (void)vd_certtable_kind_name(e->kind);
        vd_error_t e2 = {0};
        (void)vd_certset_add_blob(set, e->data, e->len, vd_certtable_kind_name(e->kind), &e2);
    }
    for (size_t i = 0; i < vd_certset_count(set); i++) {
        if (vd_certset_get(set, i) == NULL) {
            abort();
        }
    }
    vd_certset_free(&set);
    ERR_clear_error();
    return 0;
}
