/*
 * Operations routes: GET /healthz (the process answers), GET /readyz (it can do its job:
 * database writable, signing key loaded, workers running), GET /metrics (Prometheus text).
 */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

static void readyz(vd_api_call_t *call)
{
    vd_api_t *api = call->api;
    const char *problem = NULL;
    if (api->c.keys == NULL) {
        problem = "no signing key";
    } else if (api->server != NULL && !vd_server_workers_ready(api->server)) {
        problem = "appraisal workers are not running";
    } else if (api->c.audit != NULL) {
        vd_audit_stats_t st;
        vd_audit_get_stats(api->c.audit, &st);
        if (!st.healthy) {
            problem = "the audit log cannot be written (see the server's log)";
        }
    }
    if (problem != NULL) {
        vd_api_problem(call->resp, 503, "not ready: %s", problem);
        return;
    }
    vd_api_json(call->resp, 200, json_pack("{s:s}", "status", "ready"));
}

void vd_api_metrics_appraisal(vd_api_t *api, const char *status, double seconds)
{
    if (api->has_metrics) {
        vd_std_metrics_appraisal(&api->std, status, seconds);
    }
}

void vd_api_metrics_request(vd_api_t *api, const char *route, int status)
{
    if (api->has_metrics) {
        vd_std_metrics_request(&api->std, route, status);
    }
}

/* The registry's families plus the transport's, the cache's and the audit log's counters,
 * sampled now. */
void vd_api_metrics(vd_api_call_t *call)
{
    vd_api_t *api = call->api;
    vd_server_stats_t server;
    vd_certcache_stats_t cache;
    vd_audit_stats_t audit;
    vd_metric_sample_t samples[VD_METRICS_STD_SAMPLES];
    vd_error_t err = {0};
    char *text = NULL;
    size_t len = 0;
    if (api->c.metrics == NULL) {
        vd_api_problem(call->resp, 404, "metrics are off");
        return;
    }
    memset(&server, 0, sizeof(server));
    memset(&cache, 0, sizeof(cache));
    memset(&audit, 0, sizeof(audit));
    if (api->server != NULL) {
        vd_server_stats(api->server, &server);
    }
    if (api->c.cache != NULL) {
        vd_certcache_stats(api->c.cache, &cache);
    }
    if (api->c.audit != NULL) {
        vd_audit_get_stats(api->c.audit, &audit);
    }
    size_t n = vd_metrics_std_samples(
        api->server != NULL ? &server : NULL, api->c.cache != NULL ? &cache : NULL,
        api->c.audit != NULL ? &audit : NULL, samples, VD_METRICS_STD_SAMPLES);
    if (vd_metrics_render(api->c.metrics, samples, n, &text, &len, &err) != VD_OK) {
        vd_api_problem(call->resp, 500, "%s", err.msg);
        return;
    }
    vd_api_text(call->resp, 200, VD_METRICS_CONTENT_TYPE, text, len);
    free(text);
}

void vd_api_ops(vd_api_call_t *call)
{
    switch (call->route->id) {
    case VD_R_HEALTHZ:
        vd_api_json(call->resp, 200, json_pack("{s:s}", "status", "alive"));
        break;
    case VD_R_READYZ:
        readyz(call);
        break;
    default:
        vd_api_metrics(call);
        break;
    }
}
