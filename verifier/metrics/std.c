/*
 * The metrics of `verdict serve` (issue #8 section 3): the names are defined here, once.
 * Families updated per request (requests by route and code, appraisal latency, appraisals by
 * status) live in the registry; the counters other modules keep (server, certificate cache,
 * KDS client, audit writer) are turned into scrape-time samples.
 */
#include <stdio.h>
#include <string.h>

#include "verdict/metrics.h"

vd_err_t vd_metrics_std_register(vd_metrics_t *m, vd_std_metrics_t *out, vd_error_t *err)
{
    static const char *const route_code[] = {"route", "code", NULL};
    static const char *const status[] = {"status", NULL};
    static const double buckets[] = VD_METRICS_LATENCY_BUCKETS;
    vd_err_t rc;
    memset(out, 0, sizeof(*out));
    if ((rc = vd_metrics_register(m, VD_METRIC_COUNTER, "verdict_http_requests_total",
                                  "HTTP requests answered, by route template and status code",
                                  route_code, NULL, 0, &out->requests, err)) != VD_OK ||
        (rc = vd_metrics_register(m, VD_METRIC_HISTOGRAM, "verdict_appraisal_duration_seconds",
                                  "time to appraise evidence, from request to result", NULL,
                                  buckets, sizeof(buckets) / sizeof(buckets[0]), &out->latency,
                                  err)) != VD_OK ||
        (rc = vd_metrics_register(m, VD_METRIC_COUNTER, "verdict_appraisals_total",
                                  "appraisals by EAR status", status, NULL, 0, &out->appraisals,
                                  err)) != VD_OK) {
        return rc;
    }
    return VD_OK;
}

void vd_std_metrics_request(const vd_std_metrics_t *s, const char *route, int code)
{
    char num[12];
    snprintf(num, sizeof(num), "%d", code);
    const char *values[] = {route != NULL ? route : "", num};
    vd_metric_inc(s->requests, values);
}

void vd_std_metrics_appraisal(const vd_std_metrics_t *s, const char *status, double seconds)
{
    const char *values[] = {status != NULL ? status : ""};
    vd_metric_inc(s->appraisals, values);
    vd_metric_observe(s->latency, NULL, seconds);
}

/* ---- scrape-time samples ------------------------------------------------------------------- */

typedef struct filler {
    vd_metric_sample_t *out;
    size_t cap, n;
} filler_t;

static void sample(filler_t *f, const char *name, const char *help, vd_metric_type_t type,
                   const char *label, const char *value, double v)
{
    if (f->n < f->cap) {
        vd_metric_sample_t *x = &f->out[f->n];
        memset(x, 0, sizeof(*x));
        x->name = name;
        x->help = help;
        x->type = type;
        x->labels[0] = label;
        x->labels[1] = label != NULL ? value : NULL;
        x->value = v;
    }
    f->n++;
}

#define COUNTER(f, name, help, v) sample(f, name, help, VD_METRIC_COUNTER, NULL, NULL, (double)(v))
#define GAUGE(f, name, help, v)   sample(f, name, help, VD_METRIC_GAUGE, NULL, NULL, (double)(v))
#define LCOUNTER(f, name, help, l, lv, v)                                                          \
    sample(f, name, help, VD_METRIC_COUNTER, l, lv, (double)(v))

size_t vd_metrics_std_samples(const vd_server_stats_t *server, const vd_certcache_stats_t *cache,
                              const vd_audit_stats_t *audit, vd_metric_sample_t *out, size_t cap)
{
    filler_t f = {.out = out, .cap = out != NULL ? cap : 0};
    if (server != NULL) {
        COUNTER(&f, "verdict_connections_accepted_total", "connections accepted",
                server->connections_accepted);
        GAUGE(&f, "verdict_connections_open", "connections open now", server->connections_open);
        LCOUNTER(&f, "verdict_http_requests_by_protocol_total", "requests by protocol", "protocol",
                 "h2", server->requests_h2);
        LCOUNTER(&f, "verdict_http_requests_by_protocol_total", "requests by protocol", "protocol",
                 "http/1.1", server->requests_http1);
        static const char *const rej = "requests refused before a handler ran, by reason";
        LCOUNTER(&f, "verdict_http_rejected_total", rej, "reason", "queue_full",
                 server->rejected_queue_full);
        LCOUNTER(&f, "verdict_http_rejected_total", rej, "reason", "too_large",
                 server->rejected_too_large);
        LCOUNTER(&f, "verdict_http_rejected_total", rej, "reason", "timeout", server->timeouts);
        LCOUNTER(&f, "verdict_http_rejected_total", rej, "reason", "protocol_error",
                 server->protocol_errors);
        GAUGE(&f, "verdict_queue_depth", "requests waiting for an appraisal worker",
              server->queue_depth);
        GAUGE(&f, "verdict_requests_in_flight", "requests being handled now", server->in_flight);
    }
    if (cache != NULL) {
        static const char *const hits = "endorsement keys found without KDS, by where";
        LCOUNTER(&f, "verdict_certcache_hits_total", hits, "source", "evidence",
                 cache->evidence_hits);
        LCOUNTER(&f, "verdict_certcache_hits_total", hits, "source", "memory", cache->memory_hits);
        LCOUNTER(&f, "verdict_certcache_hits_total", hits, "source", "db", cache->db_hits);
        COUNTER(&f, "verdict_certcache_misses_total",
                "endorsement keys in neither memory nor the "
                "database",
                cache->misses);
        COUNTER(&f, "verdict_certcache_invalid_total",
                "cached or fetched certificates that failed validation", cache->invalid);
        COUNTER(&f, "verdict_certcache_fetch_waits_total",
                "lookups that waited for another request's KDS fetch", cache->flight_waits);
        COUNTER(&f, "verdict_kds_fetches_total", "KDS fetches started", cache->fetches);
        COUNTER(&f, "verdict_kds_failures_total", "KDS fetches that failed", cache->fetch_errors);
        COUNTER(&f, "verdict_kds_requests_total", "HTTP requests sent to KDS", cache->kds.requests);
        static const char *const resp = "KDS answers by status class";
        LCOUNTER(&f, "verdict_kds_responses_total", resp, "code", "200", cache->kds.ok);
        LCOUNTER(&f, "verdict_kds_responses_total", resp, "code", "404", cache->kds.not_found);
        LCOUNTER(&f, "verdict_kds_responses_total", resp, "code", "429", cache->kds.rate_limited);
        LCOUNTER(&f, "verdict_kds_responses_total", resp, "code", "5xx", cache->kds.server_errors);
        COUNTER(&f, "verdict_kds_transport_errors_total",
                "KDS requests without an answer (timeouts, refused, truncated)",
                cache->kds.transport_errors);
        COUNTER(&f, "verdict_kds_retries_total", "KDS requests retried", cache->kds.retries);
        COUNTER(&f, "verdict_kds_breaker_trips_total", "times the KDS circuit breaker opened",
                cache->kds.breaker_trips);
        static const char *const cold = "appraisals of uncached chips that needed KDS, by result";
        LCOUNTER(&f, "verdict_kds_cold_total", cold, "result", "admitted", cache->cold_admitted);
        LCOUNTER(&f, "verdict_kds_cold_total", cold, "result", "client_budget",
                 cache->cold_refused_client);
        LCOUNTER(&f, "verdict_kds_cold_total", cold, "result", "joined", cache->cold_joined);
        LCOUNTER(&f, "verdict_kds_cold_total", cold, "result", "busy", cache->cold_refused_busy);
        LCOUNTER(&f, "verdict_kds_cold_total", cold, "result", "kds_throttled",
                 cache->cold_refused_throttled);
        GAUGE(&f, "verdict_kds_cold_in_flight", "appraisals waiting for KDS now",
              cache->cold_in_flight);
    }
    if (audit != NULL) {
        COUNTER(&f, "verdict_audit_records_total", "audit records committed", audit->records);
        COUNTER(&f, "verdict_audit_commits_total", "audit transactions committed", audit->commits);
        COUNTER(&f, "verdict_audit_failures_total", "audit records whose transaction failed",
                audit->failures);
        COUNTER(&f, "verdict_audit_rejected_total",
                "audit appends refused (queue full, closed) or timed out", audit->rejected);
        COUNTER(&f, "verdict_audit_pruned_total", "audit records deleted by retention",
                audit->pruned);
        GAUGE(&f, "verdict_audit_queue_depth", "audit records waiting for the writer",
              audit->queue_depth);
        GAUGE(&f, "verdict_audit_largest_batch", "most audit records in one transaction",
              audit->largest_batch);
        static const char *const ckpt = "WAL checkpoints of the database, by who ran them (the "
                                        "background thread, or the audit writer)";
        LCOUNTER(&f, "verdict_audit_checkpoints_total", ckpt, "by", "background",
                 audit->checkpoints);
        LCOUNTER(&f, "verdict_audit_checkpoints_total", ckpt, "by", "writer",
                 audit->checkpoints_writer);
        GAUGE(&f, "verdict_audit_healthy", "1 while the last audit commit succeeded",
              audit->healthy ? 1 : 0);
    }
    return f.n;
}
