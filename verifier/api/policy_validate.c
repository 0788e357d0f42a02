/*
 * POST /v1/policies:validate (issue #14): compile a policy and say whether it compiles, without
 * evidence, storing or running it. The playground calls it as the author types. Body
 * {"policy": "<YAML>"}; 200 {"valid": true, "name", "description"}, or 400 problem+json whose
 * "line" and "column" point at the first error (as PUT /v1/policies/{name} answers).
 */
#include "api_internal.h"

void vd_api_policy_validate(vd_api_call_t *call)
{
    vd_error_t err = {0};
    vd_policy_t *policy = NULL;
    json_t *doc = vd_api_body_json(call);
    if (doc == NULL) {
        return;
    }
    json_t *yaml = json_object_get(doc, "policy");
    if (!json_is_string(yaml) || json_object_size(doc) != 1) {
        vd_api_problem(call->resp, 400, "the body is {\"policy\": the policy's YAML text}");
    } else if (vd_policy_compile(json_string_value(yaml), json_string_length(yaml), "policy",
                                 &policy, &err) != VD_OK) {
        vd_api_policy_problem(call->resp, err.msg);
    } else {
        vd_api_json(call->resp, 200,
                    json_pack("{s:b, s:s, s:s}", "valid", 1, "name", vd_policy_name(policy),
                              "description", vd_policy_description(policy)));
    }
    vd_policy_free(&policy);
    json_decref(doc);
}
