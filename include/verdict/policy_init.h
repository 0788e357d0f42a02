/*
 * verdict: write a first policy from known-good inputs (`verdict policy init`).
 *
 * Two sources: a genuine, verified report (the policy pins what that report shows: product,
 * signing key, minimum TCBs at the reported values, guest policy flags as launched, VMPL,
 * guest SVN, HOST_DATA, the ID block, the measurement), or measurements computed before the
 * guest ever booted (vd_measure), several of which make one allow-list. The result is commented
 * YAML in the language of policies/README.md; it always compiles (it is compiled before it is
 * returned) and affirms the evidence it came from.
 *
 * Pure: no I/O, no clock. The caller verifies the evidence (vd_appraise) and measures.
 */
#ifndef verdict__policy_init_h
#define verdict__policy_init_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/error.h"
#include "verdict/verify.h"

/* Entries of one --measure policy: with labels and comments (cut at VD_PINIT_COMMENT_MAX) the
 * text stays inside the compiler's bounds (1 MiB, 20,000 nodes). */
#define VD_PINIT_MEASUREMENTS_MAX 1024
#define VD_PINIT_COMMENT_MAX      200

struct vd_vtpm_result; /* vtpm.h */

/* One reference measurement for `--measure`. */
typedef struct vd_pinit_measurement {
    uint8_t digest[48];
    const char *label;   /* what a failing check names as closest; NULL or "" = none */
    const char *comment; /* one line on what went in (firmware, vCPUs, kernel); may be NULL */
} vd_pinit_measurement_t;

typedef struct vd_pinit {
    const char *name;        /* required: letters, digits, '-', '_', '.' (not first), <= 63 */
    const char *description; /* NULL = one is written */
    const char *source;      /* a comment line on where it came from (file names); may be NULL */
    /* Either a genuine verified report ... */
    const vd_snp_result_t *snp;
    const char *report_label; /* its measurement's label; NULL = "known-good report" */
    /* ... with, for Azure vTPM evidence, its claims (vtpm.h): tpm.pcrs and azure.* are written
     * from them. NULL for bare SNP evidence. */
    const struct vd_vtpm_result *vtpm;
    /* ... or measurements (--measure); not both. Equal digests are listed once. */
    const vd_pinit_measurement_t *measurements;
    size_t n_measurements;
} vd_pinit_t;

/**
 * Write the policy for `in` as YAML into *out (malloc'd, NUL-terminated; caller frees).
 * VD_E_USAGE (message says which): no source or both, a name the language does not accept, a
 * label or description that is too long, not UTF-8 or holds control characters, evidence that
 * is not genuine (never a policy from that). VD_E_NOMEM; VD_E_INTERNAL if the text would not
 * compile (a bug).
 */
vd_err_t vd_policy_init(const vd_pinit_t *in, char **out, vd_error_t *err)
    __attribute__((warn_unused_result));

#endif
