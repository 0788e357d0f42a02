/*
 * What the API's route handlers share. Internal to verifier/api/.
 */
#ifndef verdict__api_internal_h
#define verdict__api_internal_h

#include <jansson.h>

#include "verdict/api.h"
#include "respond.h"
#include "routes.h"
#include "sessions.h"

/* ear.verifier-id.developer of every token. */
#define VD_API_DEVELOPER "https://github.com/verdict-attestation/verdict"

/* How long an appraisal may wait for its own chip's certificates from KDS (a cold chip); the
 * certificate cache never makes it wait for another chip's fetch or for the rate limiter. */
#define VD_API_COLLATERAL_BUDGET_MS 10000

struct vd_api {
    vd_api_config_t c;
    const vd_config_t *live_cfg; /* c.cfg, or the last one SIGHUP loaded (atomic: vd_api_cfg) */
    vd_sessions_t *sessions;
    vd_server_t *server;
    char issuer[256];     /* iss of tokens, issuer of the OpenID configuration */
    vd_std_metrics_t std; /* the service's metric families (when metrics are on) */
    int has_metrics;
};

/* One request as the handlers see it: the transport's request plus what routing found. */
typedef struct vd_api_call {
    vd_api_t *api;
    const vd_http_request_t *req;
    vd_http_response_t *resp;
    const vd_route_t *route;
    char param[VD_ROUTE_PARAM_MAX];
    int deferred; /* the answer leaves later (vd_server_defer): `resp` is no longer ours */
} vd_api_call_t;

/** The value of request header `name` (lower case), or NULL. */
const char *vd_api_req_header(const vd_http_request_t *req, const char *name);

/** The body parsed as a JSON object; answers 400/415 itself and returns NULL on failure. */
json_t *vd_api_body_json(vd_api_call_t *call);

/** The value of query parameter `name` (not decoded) copied into `out`: 1 if present, 0 if
 * absent, -1 if longer than `out` holds. */
int vd_api_query_param(const vd_http_request_t *req, const char *name, char *out, size_t out_size);

/** The configuration in force (swapped by SIGHUP while requests run). */
static inline const vd_config_t *vd_api_cfg(const vd_api_t *a)
{
    return __atomic_load_n(&a->live_cfg, __ATOMIC_ACQUIRE);
}

/** Count one appraisal (status word, seconds) for /metrics (ops.c). */
void vd_api_metrics_appraisal(vd_api_t *api, const char *status, double seconds);

/** Count one answered request for /metrics (ops.c). */
void vd_api_metrics_request(vd_api_t *api, const char *route, int status);

/** GET /metrics (ops.c). */
void vd_api_metrics(vd_api_call_t *call);

/* Route handlers, one file per concern. */
void vd_api_attest(vd_api_call_t *call);         /* attest.c */
void vd_api_policy_dry_run(vd_api_call_t *call); /* attest.c: /policies/{name}/test, :test */
void vd_api_challenge(vd_api_call_t *call);      /* attest.c */
void vd_api_veraison(vd_api_call_t *call);       /* veraison.c */
void vd_api_policies(vd_api_call_t *call);       /* policies_api.c */
void vd_api_certs(vd_api_call_t *call);          /* certs_api.c */
void vd_api_discovery(vd_api_call_t *call);      /* discovery.c: jwks, openid, veraison */
void vd_api_keys_rotate(vd_api_call_t *call);    /* discovery.c */
void vd_api_ops(vd_api_call_t *call);            /* ops.c: healthz, readyz, metrics */

/* POST /v1/policies:validate (policy_validate.c), POST /v1/policies:init (policy_init_api.c);
 * the policy playground, / and /ui/ (ui.c). */
void vd_api_policy_validate(vd_api_call_t *call);
void vd_api_policy_init(vd_api_call_t *call);
void vd_api_ui(vd_api_call_t *call);

/**
 * vd_appraise for a route: the result (free it), or NULL after answering: 404 for an unknown
 * policy, 400 for evidence that does not decode, 500 or 503 when no result could be made.
 */
vd_appraise_result_t *vd_api_appraise(vd_api_call_t *call, const vd_appraise_request_t *areq);

/*
 * The appraisal every evidence route makes (attest.c): run vd_appraise on `areq`, sign the
 * result as an EAR, record it in the audit log. On success *token (malloc'd) and *result (new
 * reference: the /v1/attest answer body) are set and 0 is returned; otherwise the response
 * already says what went wrong (503 when the result could not be recorded or signed).
 */
int vd_api_appraise_and_sign(vd_api_call_t *call, const vd_appraise_request_t *areq, char **token,
                             json_t **result);

#endif
