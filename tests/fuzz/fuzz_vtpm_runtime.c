/*
 * libFuzzer target: the runtime data JSON of an HCL report (vd_vtpm_runtime_parse). Invariants:
 * an extracted AK has a modulus and exponent within their bounds and without leading zero
 * bytes; flags are -1, 0 or 1; a refused document leaves no AK.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/vtpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int flag_ok(int f)
{
    return f == -1 || f == 0 || f == 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vd_vtpm_runtime_t rt;
    vd_err_t rc = vd_vtpm_runtime_parse(data, size, &rt, NULL);
    if (rc != VD_OK) {
        if (rt.ak_ok || rt.has_user_data) {
            abort();
        }
        return 0;
    }
    if (rt.ak_ok && (rt.ak_n_len == 0 || rt.ak_n_len > sizeof(rt.ak_n) || rt.ak_n[0] == 0 ||
                     rt.ak_e_len == 0 || rt.ak_e_len > sizeof(rt.ak_e) || rt.ak_e[0] == 0)) {
        abort();
    }
    if (!rt.ak_ok && rt.ak_problem[0] == '\0') {
        abort();
    }
    if (!flag_ok(rt.secure_boot) || !flag_ok(rt.tpm_enabled) || !flag_ok(rt.console_enabled) ||
        !flag_ok(rt.tpm_persisted) ||
        memchr(rt.vm_unique_id, '\0', sizeof(rt.vm_unique_id)) == NULL) {
        abort();
    }
    return 0;
}
