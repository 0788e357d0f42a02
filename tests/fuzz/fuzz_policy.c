/*
 * libFuzzer target: the policy language. vd_policy_compile on the input as YAML (the bounded
 * libyaml tree, then the compiler); a policy that compiles is evaluated against a fixed genuine
 * result and a rejected one, so every compiled rule runs. Any crash, leak or hang is a finding;
 * so is a compiled policy without a name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vd_snp_result_t genuine, rejected;
    static int init;
    vd_policy_t *p = NULL;
    vd_error_t err = {0};
    vd_appraisal_t out;
    if (!init) {
        /* A plausible genuine Turin v5 result: the fields rules read. */
        genuine.status = VD_SNP_GENUINE;
        genuine.report_parsed = 1;
        genuine.product = VD_PRODUCT_TURIN;
        genuine.report.version = 5;
        genuine.report.policy = 0x3001F;
        genuine.report.platform_info = 0x65;
        genuine.report.launch_mit_vector = 0x3F;
        genuine.report.current_mit_vector = 0x3F;
        memset(genuine.report.chip_id, 0x5A, 8);
        genuine.reported_tcb = vd_tcb_decode(0x5100000004010101ull, VD_PRODUCT_TURIN);
        genuine.launch_tcb = genuine.current_tcb = genuine.committed_tcb = genuine.reported_tcb;
        rejected = genuine;
        rejected.status = VD_SNP_REJECTED;
        init = 1;
    }
    if (vd_policy_compile((const char *)data, size, "fuzz.yaml", &p, &err) != VD_OK) {
        if (p != NULL || err.msg[0] == '\0') {
            abort(); /* an error must leave no policy and say why */
        }
        return 0;
    }
    if (vd_policy_name(p)[0] == '\0') {
        abort();
    }
    static const uint8_t nonce[64] = {1, 2, 3};
    vd_policy_input_t in = {
        .nonce = nonce, .nonce_len = sizeof(nonce), .runtime_data = data, .runtime_data_len = size};
    vd_policy_evaluate(p, &genuine, &in, &out);
    vd_policy_evaluate(p, &rejected, NULL, &out);
    if (out.status != VD_TIER_CONTRAINDICATED) {
        abort(); /* evidence that is not genuine is never better than contraindicated */
    }
    vd_policy_free(&p);
    return 0;
}
