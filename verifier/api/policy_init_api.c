/*
 * POST /v1/policies:init (issue #14): `verdict policy init --from-report` over HTTP, for the
 * playground's "draft from this evidence". The body is a /v1/attest body without "policy" or
 * "challenge", plus "name" (required), "description" and "label" (optional). The evidence is
 * appraised for genuineness only (never a configured default policy); a draft is written only
 * from genuine evidence (vd_policy_init refuses anything else too). 200 {"policy": YAML}; 422
 * when the evidence is not genuine (the failing check named), 503 when collateral is missing.
 * Nothing is stored or signed: saving the draft is PUT /v1/policies/{name}, with an admin token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verdict/policy_init.h"
#include "verdict/product.h"
#include "verdict/timefmt.h"
#include "attest_req.h"
#include "api_internal.h"

/* An optional string member: NULL when absent; -1 (answered) when it is not a string. */
static int opt_string(vd_api_call_t *call, json_t *doc, const char *key, const char **out)
{
    json_t *v = json_object_get(doc, key);
    *out = NULL;
    if (v == NULL) {
        return 0;
    }
    if (!json_is_string(v)) {
        vd_api_problem(call->resp, 400, "\"%s\" must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static void draft(vd_api_call_t *call, const vd_appraise_result_t *r, const char *name,
                  const char *description, const char *label, time_t at)
{
    const vd_snp_result_t *snp = &r->snp;
    vd_error_t err = {0};
    char when[32], source[256];
    if (r->outcome == VD_OUTCOME_COLLATERAL || snp->status == VD_SNP_COLLATERAL_MISSING) {
        vd_api_problem(call->resp, 503, "collateral unavailable: %s; no policy drafted",
                       snp->missing);
        return;
    }
    if (r->outcome != VD_OUTCOME_AFFIRMING || snp->status != VD_SNP_GENUINE) {
        const vd_check_t *f = vd_checks_first(&snp->checks, VD_CHECK_FAIL);
        vd_api_problem(call->resp, 422, "the evidence is not genuine (%s: %s); no policy drafted",
                       f != NULL ? f->name : vd_snp_status_str(snp->status),
                       f != NULL ? f->detail : "");
        return;
    }
    snprintf(source, sizeof(source),
             "evidence posted to the service: %s, version %u, signed by "
             "its %s, genuine at %s",
             vd_product_name(snp->product), snp->report.version,
             vd_signing_key_name(snp->signing_key), vd_time_format_rfc3339(at, when, sizeof(when)));
    vd_pinit_t in = {
        .name = name,
        .description = description,
        .source = source,
        .snp = snp,
        .report_label = label,
    };
    char *yaml = NULL;
    if (vd_policy_init(&in, &yaml, &err) != VD_OK) {
        vd_api_problem(call->resp, err.code == VD_E_NOMEM ? 503 : 400, "%s", err.msg);
        return;
    }
    vd_api_json(call->resp, 200, json_pack("{s:s}", "policy", yaml));
    free(yaml);
}

void vd_api_policy_init(vd_api_call_t *call)
{
    static const char *const extra[] = {"name", "description", "label", NULL};
    vd_attest_req_t req;
    vd_error_t err = {0};
    const char *name = NULL, *description = NULL, *label = NULL;
    memset(&req, 0, sizeof(req));
    json_t *doc = vd_api_body_json(call);
    if (doc == NULL) {
        return;
    }
    if (opt_string(call, doc, "name", &name) != 0 ||
        opt_string(call, doc, "description", &description) != 0 ||
        opt_string(call, doc, "label", &label) != 0) {
        goto out;
    }
    if (name == NULL) {
        vd_api_problem(call->resp, 400, "\"name\" is missing: the name of the policy to draft");
        goto out;
    }
    if (json_object_get(doc, "policy") != NULL || json_object_get(doc, "challenge") != NULL) {
        vd_api_problem(call->resp, 400,
                       "a draft takes evidence and \"nonce\"; not \"policy\" or "
                       "\"challenge\"");
        goto out;
    }
    if (vd_attest_req_decode(doc, extra, &req, &err) != VD_OK) {
        vd_api_problem(call->resp, err.code == VD_E_NOMEM ? 503 : 400, "%s", err.msg);
        goto out;
    }
    vd_appraise_request_t areq;
    vd_attest_req_to_appraise(&req, &areq);
    areq.policy_name = NULL;
    areq.no_policy = 1; /* genuineness only: a configured default policy never applies */
    areq.budget_ms = VD_API_COLLATERAL_BUDGET_MS;
    vd_appraise_result_t *r = vd_api_appraise(call, &areq);
    if (r != NULL) {
        draft(call, r, name, description, label, areq.at);
    }
    free(r);
out:
    vd_attest_req_free(&req);
    json_decref(doc);
}
