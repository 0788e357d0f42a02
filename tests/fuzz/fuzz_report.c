/*
 * libFuzzer target: the SEV-SNP ATTESTATION_REPORT parser and the verification core without
 * certificates. vd_snp_report_parse on the input; when it parses, vd_snp_verify with no
 * certificates, the built-in AMD pins and a fixed time (for a v2 report once per product hint).
 * vd_snp_report_from_file_bytes (raw or hex text report files) on the input too, and the same
 * parse + verify on what it returns.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/report.h"
#include "verdict/trust.h"
#include "verdict/verify.h"

#define FUZZ_AT ((time_t)1748736000) /* 2025-06-01T00:00:00Z, see make_seeds.py */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vd_trust_t *trust;
static vd_snp_result_t *result; /* large: keep it off the stack */
static vd_snp_report_t report;

static void parse_and_verify(const uint8_t *p, size_t len)
{
    vd_error_t err = {0};
    if (vd_snp_report_parse(p, len, &report, &err) != VD_OK) {
        return;
    }
    (void)vd_snp_report_signing_key(&report);
    /* A v2 report has no CPUID: the hint decides the product, so try each. */
    vd_product_t last = report.version >= 3 ? VD_PRODUCT_UNKNOWN : VD_PRODUCT_TURIN;
    for (int hint = VD_PRODUCT_UNKNOWN; hint <= (int)last; hint++) {
        vd_snp_input_t in;
        memset(&in, 0, sizeof(in));
        in.report = p;
        in.report_len = len;
        in.trust = trust;
        in.at = FUZZ_AT;
        in.product_hint = (vd_product_t)hint;
        vd_error_clear(&err);
        if (vd_snp_verify(&in, result, &err) != VD_OK) {
            abort(); /* only VD_E_NOMEM / VD_E_INTERNAL may fail, neither can happen here */
        }
        if (!result->report_parsed || result->status == VD_SNP_GENUINE) {
            abort(); /* it parsed above, and nothing is genuine without certificates */
        }
        (void)vd_snp_status_str(result->status);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (trust == NULL) {
        vd_error_t err = {0};
        result = malloc(sizeof(*result));
        if (result == NULL || vd_trust_new(&trust, &err) != VD_OK) {
            abort();
        }
    }
    parse_and_verify(data, size);

    /* A report file: raw bytes or hex text. The output is never larger than the input. */
    uint8_t *buf = malloc(size > 0 ? size : 1);
    size_t n = 0;
    if (buf == NULL) {
        abort();
    }
    if (vd_snp_report_from_file_bytes(data, size, buf, size, &n) == 0) {
        if (n > size) {
            abort();
        }
        if (n != size || memcmp(buf, data, size) != 0) {
            parse_and_verify(buf, n);
        }
    }
    free(buf);
    return 0;
}
