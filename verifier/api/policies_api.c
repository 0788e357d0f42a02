/*
 * The policy routes: GET /v1/policies, GET|PUT|DELETE /v1/policies/{name},
 * GET /v1/policies/{name}/versions, POST /v1/policies/{name}/activate. Writes go to the
 * versioned store (policy_store.h) and are made visible to appraisals at once by refreshing the
 * in-memory policy set; other replicas and processes see them within a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/policy_store.h"
#include "verdict/timefmt.h"
#include "api_internal.h"

#define YAML_TYPE "application/yaml"

/* The policy set's own store: its writes are seen by the set's next refresh. */
static vd_pstore_t *store_of(const vd_api_call_t *call)
{
    return call->api->c.policies != NULL ? vd_policyset_store(call->api->c.policies) : NULL;
}

static json_t *version_json(const vd_pstore_version_t *v)
{
    char when[32];
    return json_pack("{s:s, s:i, s:b, s:s, s:s, s:s}", "name", v->name, "version", v->version,
                     "active", v->active, "created_at",
                     vd_time_format_rfc3339((time_t)v->created_at, when, sizeof(when)), "sha256",
                     v->sha256, "origin", v->origin);
}

static int append_row(const vd_pstore_version_t *v, void *ctx)
{
    return json_array_append_new(ctx, version_json(v)) != 0;
}

/* Map a store error to an answer: no such policy is 404, a database problem 503. */
static void store_problem(vd_api_call_t *call, const vd_error_t *err)
{
    int status = err->code == VD_E_CONFIG ? 404 : err->code == VD_E_MALFORMED ? 400 : 503;
    vd_api_problem(call->resp, status, "%s", err->msg);
}

/* After a write: appraisals use the new state now, not at the next watcher tick. */
static void refresh(vd_api_call_t *call)
{
    vd_error_t err = {0};
    if (call->api->c.policies != NULL &&
        vd_policyset_refresh(call->api->c.policies, &err) != VD_OK) {
        fprintf(stderr, "verdict serve: policies: %s\n", err.msg);
    }
}

static void put_policy(vd_api_call_t *call)
{
    vd_error_t err = {0};
    vd_policy_t *p = NULL;
    const char *text = (const char *)call->req->body;
    size_t len = call->req->body_len;
    if (vd_policy_compile(text != NULL ? text : "", len, "policy", &p, &err) != VD_OK) {
        vd_api_policy_problem(call->resp, err.msg);
        return;
    }
    int same = strcmp(vd_policy_name(p), call->param) == 0;
    char declared[VD_POLICY_NAME_MAX];
    snprintf(declared, sizeof(declared), "%s", vd_policy_name(p));
    vd_policy_free(&p);
    if (!same) {
        vd_api_problem(call->resp, 400, "the policy's name is \"%s\", the path says \"%s\"",
                       declared, call->param);
        return;
    }
    char name[VD_POLICY_NAME_MAX];
    int version = 0, created = 0;
    if (vd_pstore_put(store_of(call), text, len, "api", name, &version, &created, &err) != VD_OK) {
        if (err.code == VD_E_MALFORMED) {
            vd_api_policy_problem(call->resp, err.msg);
        } else {
            store_problem(call, &err);
        }
        return;
    }
    refresh(call);
    vd_api_json(call->resp, created ? 201 : 200,
                json_pack("{s:s, s:i, s:b}", "name", name, "version", version, "created", created));
}

static void get_policy(vd_api_call_t *call)
{
    vd_error_t err = {0};
    char *source = NULL;
    vd_pstore_version_t info;
    if (vd_pstore_get(store_of(call), call->param, 0, &source, &info, &err) != VD_OK) {
        store_problem(call, &err);
        return;
    }
    char v[16];
    snprintf(v, sizeof(v), "%d", info.version);
    vd_api_text(call->resp, 200, YAML_TYPE, source, strlen(source));
    vd_api_header(call->resp, "x-policy-version", v);
    free(source);
}

static void activate(vd_api_call_t *call)
{
    vd_error_t err = {0};
    json_t *doc = vd_api_body_json(call);
    if (doc == NULL) {
        return;
    }
    json_t *v = json_object_get(doc, "version");
    json_int_t version = json_is_integer(v) ? json_integer_value(v) : 0;
    size_t members = json_object_size(doc);
    json_decref(doc);
    if (version < 1 || version > 1000000000 || members != 1) {
        vd_api_problem(call->resp, 400, "the body is {\"version\": N} with N >= 1");
        return;
    }
    if (vd_pstore_activate(store_of(call), call->param, (int)version, &err) != VD_OK) {
        store_problem(call, &err);
        return;
    }
    refresh(call);
    vd_api_json(call->resp, 200,
                json_pack("{s:s, s:i}", "name", call->param, "version", (int)version));
}

void vd_api_policies(vd_api_call_t *call)
{
    vd_error_t err = {0};
    vd_pstore_t *store = store_of(call);
    json_t *rows;
    if (store == NULL) {
        vd_api_problem(call->resp, 503, "no policy store is configured");
        return;
    }
    switch (call->route->id) {
    case VD_R_POLICIES_LIST:
        rows = json_array();
        if (vd_pstore_list(store, append_row, rows, &err) != VD_OK) {
            json_decref(rows);
            store_problem(call, &err);
            return;
        }
        vd_api_json(call->resp, 200, json_pack("{s:o}", "policies", rows));
        break;
    case VD_R_POLICY_GET:
        get_policy(call);
        break;
    case VD_R_POLICY_PUT:
        put_policy(call);
        break;
    case VD_R_POLICY_DELETE:
        if (vd_pstore_delete(store, call->param, &err) != VD_OK) {
            store_problem(call, &err);
            return;
        }
        refresh(call);
        vd_api_text(call->resp, 204, NULL, "", 0);
        break;
    case VD_R_POLICY_VERSIONS:
        rows = json_array();
        if (vd_pstore_history(store, call->param, append_row, rows, &err) != VD_OK) {
            json_decref(rows);
            store_problem(call, &err);
            return;
        }
        vd_api_json(call->resp, 200,
                    json_pack("{s:s, s:o}", "name", call->param, "versions", rows));
        break;
    case VD_R_POLICY_ACTIVATE:
        activate(call);
        break;
    default:
        vd_api_problem(call->resp, 500, "not a policy route");
        break;
    }
}
