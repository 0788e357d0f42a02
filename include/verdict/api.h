/*
 * verdict: the HTTP API of `verdict serve` (issue #8 section 3; DESIGN.md "The contract").
 *
 * The routes decode requests, call the one appraisal pipeline (appraise.h), sign results as EAR
 * tokens, record them in the audit log, and encode answers. Nothing about appraising evidence
 * is written here. The API plugs into the transport (server.h) through vd_api_handlers.
 * Every pointer in the configuration is borrowed and must outlive the API.
 */
#ifndef verdict__api_h
#define verdict__api_h

#include <stddef.h>

#include "verdict/appraise.h"
#include "verdict/audit.h"
#include "verdict/certcache.h"
#include "verdict/challenge.h"
#include "verdict/config.h"
#include "verdict/metrics.h"
#include "verdict/policyset.h"
#include "verdict/server.h"
#include "verdict/signkey.h"

typedef struct vd_api_config {
    const vd_config_t *cfg;      /* settings: auth, TTLs, issuer, collateral policy */
    vd_appraiser_t *appraiser;   /* the shared appraisal pipeline */
    vd_policyset_t *policies;    /* NULL: no stored policies (the policy routes are 503) */
    vd_certcache_t *cache;       /* NULL: certificates only from the evidence */
    vd_keyring_t *keys;          /* result-signing keys (JWKS, rotation) */
    vd_challenger_t *challenges; /* self-authenticating nonces */
    vd_audit_t *audit;           /* NULL: no audit log */
    vd_metrics_t *metrics;       /* NULL: /metrics is empty */
    const char *build;           /* "verdict 0.2.0", for ear.verifier-id */
    /* SIGHUP: load the configuration again (NULL: it is not reloaded). On success *out is the
     * new configuration, which the caller keeps alive until the API is freed: requests in
     * flight may still read the one they started with. */
    vd_err_t (*reload_config)(void *ud, const vd_config_t **out, vd_error_t *err);
    void *reload_ud;
} vd_api_config_t;

typedef struct vd_api vd_api_t;

vd_err_t vd_api_new(const vd_api_config_t *cfg, vd_api_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));
void vd_api_free(vd_api_t **pp);

/** The transport callbacks that serve this API. */
void vd_api_handlers(vd_api_t *api, vd_server_handlers_t *h);

/** The transport, once it exists (for /readyz and /metrics). */
void vd_api_set_server(vd_api_t *api, vd_server_t *srv);

#endif
