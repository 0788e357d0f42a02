/*
 * libFuzzer target: TPMS_ATTEST of a TPM2 quote (vd_vtpm_attest_parse). Invariants: a parsed
 * quote has the right magic and type, every TPM2B within its maximum, at most
 * VD_TPM_SELECTIONS_MAX selections of at most VD_TPM_SELECT_MAX bytes, and its fields add up
 * to exactly the input's length (nothing left over, nothing read past the end).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "verdict/vtpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vd_tpm_attest_t q;
    if (vd_vtpm_attest_parse(data, size, &q, NULL) != VD_OK) {
        return 0;
    }
    if (q.magic != VD_TPM_GENERATED_VALUE || q.type != VD_TPM_ST_ATTEST_QUOTE ||
        q.signer_len > VD_TPM_NAME_MAX || q.extra_len > VD_TPM_DATA_MAX ||
        q.digest_len > VD_TPM_DIGEST_MAX || q.n_selections > VD_TPM_SELECTIONS_MAX || q.safe > 1) {
        abort();
    }
    size_t used = 4 + 2 + 2 + q.signer_len + 2 + q.extra_len + 17 + 8 + 4 + 2 + q.digest_len;
    for (uint32_t i = 0; i < q.n_selections; i++) {
        if (q.sel[i].size > VD_TPM_SELECT_MAX) {
            abort();
        }
        used += 3 + q.sel[i].size;
    }
    if (used != size) {
        abort();
    }
    return 0;
}
