/*
 * The vTPM branch of the appraisal (appraise_vtpm.h; verifier/vtpm/README.md). vd_appraise
 * calls these few functions only when the evidence is Azure vTPM evidence; everything else
 * (certificates, CRLs, the SNP core, the policy, the outcome) is the common pipeline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/bytes.h"
#include "verdict/chain.h"
#include "verdict/report.h"
#include "appraise_vtpm.h"

int vd_appraise__vtpm_decode(const uint8_t *p, size_t len, vd_appraise_vtpm_t *v, char *problem,
                             size_t n)
{
    vd_error_t e = {0};
    if (p == NULL || vd_vtpm_evidence_detect(p, len) == VD_VTPM_FORM_NONE) {
        return 0;
    }
    if (vd_vtpm_evidence_parse(p, len, &v->ev, &e) != VD_OK) {
        snprintf(problem, n, "vTPM evidence: %s", e.msg);
        vd_vtpm_evidence_free(&v->ev);
        return -1;
    }
    v->active = 1;
    return 1;
}

vd_err_t vd_appraise__vtpm_certs(vd_appraise_vtpm_t *v, vd_certset_t *certs, int *use_cache,
                                 vd_error_t *err)
{
    vd_error_t e = {0};
    *use_cache = 1;
    if (v->ev.vcek == NULL || v->ev.vcek_len == 0) {
        return VD_OK; /* no VCEK in the evidence: the cache or KDS may supply it */
    }
    vd_err_t rc = vd_vtpm_add_certs(&v->ev, certs, &e);
    if (rc != VD_OK && rc != VD_E_MALFORMED) {
        return VD_ERR(err, rc, "%s", e.msg);
    }
    /* The evidence names its VCEK: if it does not verify the report, the evidence is rejected
     * (vtpm.vcek, snp.signature). Looking up another one would only hide that. */
    *use_cache = 0;
    if (rc == VD_E_MALFORMED) {
        snprintf(v->vcek_why, sizeof(v->vcek_why), "the evidence's VCEK does not decode");
        v->vcek_foreign = 1;
        return VD_OK;
    }
    size_t rlen = 0;
    const uint8_t *report = vd_vtpm_snp_report(&v->ev, &rlen);
    vd_snp_report_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    if (report != NULL && vd_snp_report_parse(report, rlen, r, &e) == VD_OK) {
        vd_chain_query_t q;
        vd_chain_t c;
        memset(&q, 0, sizeof(q));
        q.certs = v->ev.vcek_certs;
        q.report = r;
        vd_chain_find_leaf(&q, &c);
        if (c.leaf_signs_report) {
            *use_cache = 1; /* the right VCEK: the cache may still supply its ASK and ARK */
        } else {
            v->vcek_foreign = 1;
            snprintf(v->vcek_why, sizeof(v->vcek_why),
                     "the VCEK in the evidence does not verify the report's signature");
        }
    }
    free(r);
    return VD_OK;
}

vd_err_t vd_appraise__vtpm_check(vd_appraise_vtpm_t *v, const vd_appraise_request_t *req,
                                 vd_appraise_result_t *out, vd_error_t *err)
{
    vd_vtpm_nonce_t n = {
        .binding = req->vtpm_binding, /* SHA384 for a verdict challenge (vtpm.h) */
        .nonce = req->nonce,
        .nonce_len = req->nonce_len,
        .runtime_data = req->runtime_data,
        .runtime_data_len = req->runtime_data_len,
    };
    vd_err_t rc = vd_vtpm_check_bound(&v->ev, &n, &out->snp, &out->vtpm, err);
    if (rc != VD_OK) {
        return rc;
    }
    out->has_vtpm = 1;
    if (v->vcek_foreign && out->snp.status != VD_SNP_REJECTED) {
        /* Never "collateral unavailable" for a VCEK the evidence got wrong. */
        vd_checks_add(&out->snp.checks, "vtpm.vcek_signature", VD_CHECK_FAIL, "%s", v->vcek_why);
        out->snp.status = VD_SNP_REJECTED;
    }
    return VD_OK;
}

void vd_appraise__vtpm_free(vd_appraise_vtpm_t *v, vd_appraise_result_t *out)
{
    if (!v->active) {
        return;
    }
    /* The result outlives the evidence: drop what it borrowed from it. */
    if (out != NULL && out->has_vtpm) {
        out->vtpm.hcl.snp_report = NULL;
        out->vtpm.hcl.runtime_data = NULL;
    }
    vd_vtpm_evidence_free(&v->ev);
    v->active = 0;
}

static json_t *hex_json(const uint8_t *p, size_t len)
{
    size_t n = 2 * len + 1;
    char *buf = malloc(n);
    if (buf == NULL) {
        return NULL;
    }
    json_t *j = json_string(vd_hex_encode(p, len, buf, n));
    free(buf);
    return j;
}

/* A vm-configuration flag: true, false, or null when the runtime data does not say. */
static json_t *flag_json(int v)
{
    return v < 0 ? json_null() : json_boolean(v);
}

json_t *vd_appraise__vtpm_json(const vd_vtpm_result_t *r)
{
    char fw[19];
    json_t *o = json_object();
    json_t *pcrs = json_object();
    if (o == NULL || pcrs == NULL) {
        json_decref(o);
        json_decref(pcrs);
        return NULL;
    }
    json_object_set_new(o, "form", json_string(vd_vtpm_form_str(r->form)));
    json_object_set_new(o, "hcl_header_version",
                        r->hcl_ok ? json_integer(r->hcl.header_version) : json_null());
    for (unsigned i = 0; i < VD_VTPM_PCRS; i++) {
        if (r->pcr_mask & (1u << i)) {
            char k[4];
            snprintf(k, sizeof(k), "%u", i);
            json_object_set_new(pcrs, k, hex_json(r->pcrs[i], 32));
        }
    }
    json_object_set_new(o, "pcrs", pcrs); /* by PCR number; empty without a quote */
    if (r->runtime_ok) {
        const vd_vtpm_runtime_t *rt = &r->runtime;
        json_object_set_new(o, "secure_boot", flag_json(rt->secure_boot));
        json_object_set_new(o, "tpm_enabled", flag_json(rt->tpm_enabled));
        json_object_set_new(o, "console_enabled", flag_json(rt->console_enabled));
        json_object_set_new(o, "tpm_persisted", flag_json(rt->tpm_persisted));
        /* A JSON string of the runtime data: valid UTF-8, jansson escapes the rest. */
        json_object_set_new(
            o, "vm_id", rt->vm_unique_id[0] != '\0' ? json_string(rt->vm_unique_id) : json_null());
        json_object_set_new(o, "user_data",
                            rt->has_user_data ? hex_json(rt->user_data, sizeof(rt->user_data))
                                              : json_null());
        json_object_set_new(o, "ak_bits", r->ak_bits ? json_integer(r->ak_bits) : json_null());
    } else {
        json_object_set_new(o, "secure_boot", json_null());
        json_object_set_new(o, "tpm_enabled", json_null());
        json_object_set_new(o, "console_enabled", json_null());
        json_object_set_new(o, "tpm_persisted", json_null());
        json_object_set_new(o, "vm_id", json_null());
    }
    if (r->quote_ok) {
        snprintf(fw, sizeof(fw), "0x%016llx", (unsigned long long)r->quote.firmware_version);
        json_object_set_new(o, "quote",
                            json_pack("{s:o, s:I, s:I, s:I, s:s}", "extra_data",
                                      hex_json(r->quote.extra, r->quote.extra_len), "clock",
                                      (json_int_t)r->quote.clock, "reset_count",
                                      (json_int_t)r->quote.reset_count, "restart_count",
                                      (json_int_t)r->quote.restart_count, "firmware_version", fw));
    } else {
        json_object_set_new(o, "quote", json_null());
    }
    json_object_set_new(o, "nonce_checked", json_boolean(r->nonce_checked));
    json_object_set_new(o, "nonce_binding", json_string(vd_vtpm_binding_str(r->binding)));
    return o;
}
