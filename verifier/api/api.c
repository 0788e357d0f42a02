/*
 * The API's entry points (api.h): routing and authentication on the network thread when the
 * headers are in (so a request that may not proceed is refused before its body is read), then
 * dispatch to the route's handler with the whole request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "verdict/jsonin.h"
#include "api_internal.h"

#define SESSIONS_MAX   4096
#define SESSION_TTL_S  150 /* Veraison's default: 2 min 30 s */
#define QUERY_NAME_MAX 64

vd_err_t vd_api_new(const vd_api_config_t *cfg, vd_api_t **out, vd_error_t *err)
{
    vd_api_t *a = calloc(1, sizeof(*a));
    *out = NULL;
    if (a == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory");
    }
    a->c = *cfg;
    a->live_cfg = cfg->cfg;
    vd_config_issuer(cfg->cfg, NULL, a->issuer, sizeof(a->issuer));
    vd_err_t rc = vd_sessions_new(SESSIONS_MAX, SESSION_TTL_S, &a->sessions, err);
    if (rc == VD_OK && cfg->metrics != NULL) {
        rc = vd_metrics_std_register(cfg->metrics, &a->std, err);
        a->has_metrics = rc == VD_OK;
    }
    if (rc != VD_OK) {
        vd_sessions_free(&a->sessions);
        free(a);
        return rc;
    }
    *out = a;
    return VD_OK;
}

void vd_api_free(vd_api_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_sessions_free(&(*pp)->sessions);
    free(*pp);
    *pp = NULL;
}

void vd_api_set_server(vd_api_t *api, vd_server_t *srv)
{
    api->server = srv;
    vd_config_issuer(api->c.cfg,
                     vd_server_listen_count(srv) > 0 ? vd_server_listen_addr(srv, 0) : NULL,
                     api->issuer, sizeof(api->issuer));
}

const char *vd_api_req_header(const vd_http_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcmp(req->headers[i].name, name) == 0) {
            return req->headers[i].value;
        }
    }
    return NULL;
}

int vd_api_query_param(const vd_http_request_t *req, const char *name, char *out, size_t out_size)
{
    size_t nlen = strlen(name);
    const char *q = req->query;
    while (q != NULL && *q != '\0') {
        const char *end = strchr(q, '&');
        size_t len = end != NULL ? (size_t)(end - q) : strlen(q);
        if (len > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=') {
            size_t vlen = len - nlen - 1;
            if (vlen + 1 > out_size) {
                return -1; /* longer than the caller allows: never cut to something else */
            }
            memcpy(out, q + nlen + 1, vlen);
            out[vlen] = '\0';
            return 1;
        }
        if (len == nlen && strncmp(q, name, nlen) == 0) {
            out[0] = '\0';
            return 1;
        }
        q = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

json_t *vd_api_body_json(vd_api_call_t *call)
{
    const char *ct = vd_api_req_header(call->req, "content-type");
    if (ct != NULL && strncasecmp(ct, "application/json", 16) != 0) {
        vd_api_problem(call->resp, 415, "send the body as application/json");
        vd_api_header(call->resp, "accept", "application/json");
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = vd_json_loadb((const char *)call->req->body, call->req->body_len, &jerr);
    if (doc == NULL) {
        vd_api_problem(call->resp, 400, "the body is not JSON: %s (line %d, column %d)", jerr.text,
                       jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        vd_api_problem(call->resp, 400, "the body must be a JSON object");
        return NULL;
    }
    return doc;
}

static void unauthorized(vd_http_response_t *resp, const char *why)
{
    vd_api_problem(resp, 401, "%s", why);
    vd_api_header(resp, "www-authenticate", "Bearer realm=\"verdict\"");
}

/* 0 when the caller may use `route`; otherwise `resp` holds the refusal. */
static int authorize(const vd_api_t *api, const vd_route_t *route, const vd_http_request_t *req,
                     vd_http_response_t *resp)
{
    const vd_config_t *cfg = vd_api_cfg(api);
    const char *auth = vd_api_req_header(req, "authorization");
    vd_auth_level_t role = vd_config_auth_header(cfg, auth);
    switch (route->access) {
    case VD_ACCESS_OPEN:
        return 0;
    case VD_ACCESS_EVIDENCE:
        if (!cfg->evidence_token_required || role >= VD_AUTH_READER) {
            return 0;
        }
        break;
    case VD_ACCESS_READ:
        if (cfg->open_policy_reads || role >= VD_AUTH_READER) {
            return 0;
        }
        break;
    case VD_ACCESS_ADMIN:
        if (cfg->n_admin_tokens == 0) {
            vd_api_problem(resp, 403,
                           "admin endpoints are disabled: no admin token is configured "
                           "(auth.admin_tokens in the configuration, or VERDICT_ADMIN_TOKEN)");
            return -1;
        }
        if (role == VD_AUTH_ADMIN) {
            return 0;
        }
        if (role == VD_AUTH_READER) {
            vd_api_problem(resp, 403, "this needs an admin token; a reader token was given");
            return -1;
        }
        break;
    }
    unauthorized(resp, auth != NULL ? "the bearer token is not valid here"
                                    : "this endpoint needs an Authorization: Bearer token");
    return -1;
}

static vd_route_disposition_t on_headers(void *ud, const vd_http_request_t *req,
                                         vd_http_response_t *resp)
{
    vd_api_t *api = ud;
    char param[VD_ROUTE_PARAM_MAX], allow[64];
    int path_known = 0;
    const vd_route_t *route =
        vd_routes_match(req->method, req->path, param, &path_known, allow, sizeof(allow));
    if (route == NULL) {
        if (path_known) {
            vd_api_problem(resp, 405, "%s is not allowed on %s", req->method, req->path);
            vd_api_header(resp, "allow", allow);
        } else {
            vd_api_problem(resp, 404, "no such endpoint");
        }
        vd_api_metrics_request(api, "other", resp->status);
        return VD_ROUTE_ANSWERED;
    }
    snprintf(resp->route, sizeof(resp->route), "%s", route->pattern);
    if (authorize(api, route, req, resp) != 0) {
        vd_api_metrics_request(api, route->pattern, resp->status);
        return VD_ROUTE_ANSWERED;
    }
    return route->inline_ok ? VD_ROUTE_INLINE : VD_ROUTE_WORKER;
}

static void handle(void *ud, const vd_http_request_t *req, vd_http_response_t *resp)
{
    vd_api_call_t call;
    int path_known = 0;
    char allow[64];
    memset(&call, 0, sizeof(call));
    call.api = ud;
    call.req = req;
    call.resp = resp;
    call.route =
        vd_routes_match(req->method, req->path, call.param, &path_known, allow, sizeof(allow));
    if (call.route == NULL) { /* on_headers answered already; never reached */
        vd_api_problem(resp, 404, "no such endpoint");
        return;
    }
    snprintf(resp->route, sizeof(resp->route), "%s", call.route->pattern);
    switch (call.route->id) {
    case VD_R_ATTEST:
        vd_api_attest(&call);
        break;
    case VD_R_CHALLENGE:
        vd_api_challenge(&call);
        break;
    case VD_R_POLICY_TEST:
    case VD_R_POLICIES_TEST:
        vd_api_policy_dry_run(&call);
        break;
    case VD_R_VERAISON_NEW_SESSION:
    case VD_R_VERAISON_SESSION_GET:
    case VD_R_VERAISON_SESSION_POST:
    case VD_R_VERAISON_SESSION_DELETE:
        vd_api_veraison(&call);
        break;
    case VD_R_POLICIES_LIST:
    case VD_R_POLICY_GET:
    case VD_R_POLICY_PUT:
    case VD_R_POLICY_DELETE:
    case VD_R_POLICY_VERSIONS:
    case VD_R_POLICY_ACTIVATE:
        vd_api_policies(&call);
        break;
    case VD_R_CERTS_LIST:
    case VD_R_CERTS_IMPORT:
        vd_api_certs(&call);
        break;
    case VD_R_KEYS_ROTATE:
        vd_api_keys_rotate(&call);
        break;
    case VD_R_JWKS:
    case VD_R_OPENID:
    case VD_R_VERAISON_DISCOVERY:
        vd_api_discovery(&call);
        break;
    case VD_R_HEALTHZ:
    case VD_R_READYZ:
    case VD_R_METRICS:
        vd_api_ops(&call);
        break;
    case VD_R_POLICIES_VALIDATE:
        vd_api_policy_validate(&call);
        break;
    case VD_R_POLICIES_INIT:
        vd_api_policy_init(&call);
        break;
    case VD_R_UI_REDIRECT:
    case VD_R_UI_INDEX:
    case VD_R_UI_FILE:
        vd_api_ui(&call);
        break;
    case VD_R__COUNT:
        vd_api_problem(resp, 500, "route table corrupt");
        break;
    }
    if (call.deferred) {
        return; /* counted when it completes (a POST: no HEAD to strip) */
    }
    vd_api_metrics_request(call.api, call.route->pattern, resp->status);
    if (strcmp(req->method, "HEAD") == 0) {
        free(resp->body);
        resp->body = NULL;
        resp->body_len = 0;
    }
}

static void on_reload(void *ud)
{
    vd_api_t *api = ud;
    vd_error_t err = {0};
    const vd_config_t *fresh = NULL;
    if (api->c.reload_config != NULL) {
        if (api->c.reload_config(api->c.reload_ud, &fresh, &err) == VD_OK) {
            __atomic_store_n(&api->live_cfg, fresh, __ATOMIC_RELEASE);
            fprintf(stderr, "verdict serve: reload: configuration reloaded\n");
        } else {
            fprintf(stderr, "verdict serve: reload: configuration kept: %s\n", err.msg);
        }
        vd_error_clear(&err);
    }
    if (api->c.policies != NULL && vd_policyset_refresh(api->c.policies, &err) != VD_OK) {
        fprintf(stderr, "verdict serve: reload: policies: %s\n", err.msg);
    }
    vd_error_clear(&err);
    /* A key rotated offline (`verdict token rotate`, or a replaced Secret) is picked up. */
    if (api->c.keys != NULL && vd_keyring_reload(api->c.keys, (int64_t)time(NULL), &err) != VD_OK) {
        fprintf(stderr, "verdict serve: reload: signing key: %s\n", err.msg);
    }
}

void vd_api_handlers(vd_api_t *api, vd_server_handlers_t *h)
{
    memset(h, 0, sizeof(*h));
    h->on_headers = on_headers;
    h->handle = handle;
    h->on_reload = on_reload;
    h->ud = api;
}
