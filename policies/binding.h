/*
 * REPORT_DATA binding of a nonce and runtime data (STANDARDS.md section 6). Internal to
 * policies/.
 */
#ifndef verdict__binding_h
#define verdict__binding_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/policy.h"
#include "policy_internal.h"

/**
 * Check `report_data` against the expected binding of in->nonce and in->runtime_data under
 * `mode` (not UNSET or NONE). Returns 1 on a match, else 0; `detail` says what was compared.
 * Comparisons are constant time over the bytes the mode binds.
 */
int vd_policy__binding_check(vd_binding_t mode, const uint8_t report_data[64],
                             const vd_policy_input_t *in, char *detail, size_t n);

#endif
