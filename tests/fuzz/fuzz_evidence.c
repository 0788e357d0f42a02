/*
 * libFuzzer target: evidence envelopes. vd_evidence_parse_tsm_json on the input (jansson under
 * a size cap, member types, strict base64/base64url), and vd_base64_decode directly, whose
 * output must never exceed vd_base64_decoded_max. A parsed envelope must have a report.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "verdict/base64.h"
#include "verdict/evidence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vd_evidence_t ev;
    if (vd_evidence_parse_tsm_json(data, size, &ev, NULL) == VD_OK) {
        if (ev.report == NULL) {
            abort();
        }
        vd_evidence_free(&ev);
    }
    size_t max = vd_base64_decoded_max(size), n = 0;
    uint8_t *out = malloc(max);
    if (out == NULL) {
        abort();
    }
    if (vd_base64_decode((const char *)data, size, out, &n) == 0 && n > max) {
        abort();
    }
    free(out);
    return 0;
}
