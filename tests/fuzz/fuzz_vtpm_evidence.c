/*
 * libFuzzer target: Azure vTPM evidence, end to end after the SNP report. The input goes through
 * vd_vtpm_evidence_detect and vd_vtpm_evidence_parse (JSON forms v0/v1/v2 and the raw HCL
 * report), then vd_vtpm_check with the nonce "challenge" against a SNP result that claims the
 * evidence's own report is genuine (the SNP core is fuzz_verify's), so every link after
 * REPORT_DATA is reached: the seeds (make_vtpm_seeds.py) bind their runtime data and sign their
 * quotes. Invariants: parse and detection agree; a result that stays genuine has REPORT_DATA
 * binding the runtime data, and, with a quote, a verified signature, a matching PCR digest and
 * extraData equal to the nonce byte for byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/vtpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t NONCE[] = "challenge";

static int passed(const vd_snp_result_t *snp, const char *name)
{
    const vd_check_t *k = vd_checks_find(&snp->checks, name);
    return k != NULL && k->result == VD_CHECK_PASS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vd_vtpm_evidence_t ev;
    vd_vtpm_form_t detected = vd_vtpm_evidence_detect(data, size);
    if (vd_vtpm_evidence_parse(data, size, &ev, NULL) != VD_OK) {
        vd_vtpm_evidence_free(&ev);
        return 0;
    }
    if (detected == VD_VTPM_FORM_NONE || ev.form == VD_VTPM_FORM_NONE ||
        (ev.form == VD_VTPM_FORM_HCL) != (detected == VD_VTPM_FORM_HCL) ||
        (ev.has_quote && (ev.quote == NULL || ev.signature == NULL || ev.pcrs == NULL))) {
        abort();
    }
    vd_snp_result_t *snp = calloc(1, sizeof(*snp));
    vd_vtpm_result_t *res = calloc(1, sizeof(*res));
    if (snp == NULL || res == NULL) {
        abort();
    }
    size_t len;
    const uint8_t *report = vd_vtpm_snp_report(&ev, &len);
    if (report != NULL) {
        snp->report_parsed = 1;
        memcpy(snp->report.raw, report, len);
    }
    snp->status = VD_SNP_GENUINE;
    if (vd_vtpm_check(&ev, NONCE, sizeof(NONCE) - 1, snp, res, NULL) != VD_OK) {
        abort();
    }
    if (snp->status == VD_SNP_GENUINE) {
        if (!passed(snp, "hcl.report_data") || !passed(snp, "hcl.header") ||
            !passed(snp, "hcl.ak") || !passed(snp, "tpm.signature") ||
            !passed(snp, "tpm.pcr_digest") || !passed(snp, "tpm.nonce") ||
            res->quote.extra_len != sizeof(NONCE) - 1 ||
            memcmp(res->quote.extra, NONCE, sizeof(NONCE) - 1) != 0 ||
            vd_checks_count(&snp->checks, VD_CHECK_FAIL) != 0) {
            abort();
        }
    }
    free(snp);
    free(res);
    vd_vtpm_evidence_free(&ev);
    return 0;
}
