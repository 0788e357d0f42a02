/*
 * The vTPM branch of the appraisal pipeline (Azure confidential VMs, issue #13): the few steps
 * vd_appraise takes only for vTPM evidence (verifier/vtpm/README.md, "How the appraisal pipeline
 * calls it"). Internal to verifier/appraise/.
 */
#ifndef verdict__appraise_vtpm_h
#define verdict__appraise_vtpm_h

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "verdict/appraise.h"
#include "verdict/vtpm.h"

/* Per-appraisal state of the vTPM branch (zeroed: not vTPM evidence). */
typedef struct vd_appraise_vtpm {
    int active;            /* the evidence is vTPM evidence and decoded */
    vd_vtpm_evidence_t ev; /* owns the decoded evidence */
    int vcek_foreign;      /* the evidence's VCEK does not verify the report */
    char vcek_why[160];    /* why, for the check */
} vd_appraise_vtpm_t;

/**
 * If `p` is vTPM evidence (detected before the configfs-tsm envelope), decode it into `v`:
 * returns 1 with v->active set, 0 when it is not vTPM evidence, -1 when it is but does not
 * decode (`problem` says why: an input error).
 */
int vd_appraise__vtpm_decode(const uint8_t *p, size_t len, vd_appraise_vtpm_t *v, char *problem,
                             size_t n);

/**
 * Add the evidence's VCEK to `certs`. *use_cache is set to 0 when the evidence carries a VCEK
 * that does not verify the report: that is a rejection, never a reason to fetch another one.
 */
vd_err_t vd_appraise__vtpm_certs(vd_appraise_vtpm_t *v, vd_certset_t *certs, int *use_cache,
                                 vd_error_t *err);

/**
 * After vd_snp_verify: every vTPM check (vd_vtpm_check_bound with the request's nonce and
 * runtime data under req->vtpm_binding: the quote's extraData is the nonce as it is, or
 * SHA-384(challenge || runtime data)), folded into out->snp; the claims into out->vtpm.
 */
vd_err_t vd_appraise__vtpm_check(vd_appraise_vtpm_t *v, const vd_appraise_request_t *req,
                                 vd_appraise_result_t *out, vd_error_t *err);

/** Release the evidence; the claims in a result stay usable (borrowed pointers are cleared). */
void vd_appraise__vtpm_free(vd_appraise_vtpm_t *v, vd_appraise_result_t *out);

/** The "vtpm" member of the result JSON. NULL only when out of memory. */
json_t *vd_appraise__vtpm_json(const vd_vtpm_result_t *r);

#endif
