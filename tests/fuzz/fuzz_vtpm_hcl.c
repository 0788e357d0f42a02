/*
 * libFuzzer target: the HCL report (vd_vtpm_hcl_parse). Invariants: a parsed report's runtime
 * data lies inside the input and its sizes agree with the header; a refused one leaves nothing
 * usable. The input also goes through vd_vtpm_evidence_parse (raw HCL path) and vd_vtpm_check
 * with an empty SNP result, which must reject: nothing is genuine without a verified report.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "verdict/bytes.h"
#include "verdict/vtpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vd_vtpm_hcl_t h;
    if (vd_vtpm_hcl_parse(data, size, &h, NULL) == VD_OK) {
        if (h.runtime_data != data + VD_HCL_RUNTIME_OFFSET || h.runtime_len == 0 ||
            h.runtime_len > size - VD_HCL_RUNTIME_OFFSET ||
            h.report_size != VD_HCL_RUNTIME_OFFSET + h.runtime_len ||
            h.request_size != 20 + h.runtime_len || h.hash_type != 1 || h.report_type != 2) {
            abort();
        }
        vd_vtpm_runtime_t rt;
        (void)vd_vtpm_runtime_parse(h.runtime_data, h.runtime_len, &rt, NULL);
    } else if (h.runtime_data != NULL || h.runtime_len != 0) {
        abort();
    }

    vd_vtpm_evidence_t ev;
    if (vd_vtpm_evidence_parse(data, size, &ev, NULL) == VD_OK) {
        vd_snp_result_t *snp = calloc(1, sizeof(*snp));
        vd_vtpm_result_t *res = calloc(1, sizeof(*res));
        if (snp == NULL || res == NULL) {
            abort();
        }
        if (vd_vtpm_check(&ev, (const uint8_t *)"challenge", 9, snp, res, NULL) != VD_OK ||
            snp->status != VD_SNP_REJECTED) {
            abort();
        }
        free(snp);
        free(res);
    }
    vd_vtpm_evidence_free(&ev);
    return 0;
}
