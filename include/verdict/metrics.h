/*
 * verdict: a small thread-safe Prometheus registry for `GET /metrics` (issue #8 section 3).
 *
 * Families (a name, help text, type and label names) are registered at start; updates on the
 * hot path are lock-free: the series of a label combination is found in a fixed open-addressed
 * table with atomic loads (created once with a compare-and-swap), and its value is a C11
 * atomic. Rendering writes the text exposition format 0.0.4 (HELP and TYPE lines, escaped label
 * values, series sorted by label values) into a malloc'd buffer, together with samples the
 * caller supplies at scrape time (vd_metric_sample_t: snapshots of the server, certificate
 * cache and audit counters, see vd_metrics_std_samples).
 *
 * Bounds: at most VD_METRICS_MAX_SERIES label combinations per family (further ones are not
 * recorded, and counted in verdict_metrics_dropped_total), VD_METRICS_MAX_LABELS labels,
 * VD_METRICS_MAX_BUCKETS histogram buckets. Label values must come from bounded sets (route
 * templates, status codes), never from raw request data.
 */
#ifndef verdict__metrics_h
#define verdict__metrics_h

#include <stddef.h>
#include <stdint.h>

#include "verdict/audit.h"
#include "verdict/certcache.h"
#include "verdict/error.h"
#include "verdict/server.h"

#define VD_METRICS_MAX_SERIES  512
#define VD_METRICS_MAX_LABELS  4
#define VD_METRICS_MAX_BUCKETS 32

typedef enum vd_metric_type {
    VD_METRIC_COUNTER = 0,
    VD_METRIC_GAUGE,
    VD_METRIC_HISTOGRAM,
} vd_metric_type_t;

typedef struct vd_metrics vd_metrics_t;
typedef struct vd_metric vd_metric_t; /* one family */
typedef struct vd_series vd_series_t; /* one label combination of a family */

vd_err_t vd_metrics_new(vd_metrics_t **out, vd_error_t *err) __attribute__((warn_unused_result));

/** Free the registry and every family; no update or render may be running. NULL-safe. */
void vd_metrics_free(vd_metrics_t **pp);

/**
 * Register a family. `name` matches [a-zA-Z_:][a-zA-Z0-9_:]* (counters end in _total by
 * convention), `labels` is a NULL-terminated list of label names (NULL = none; "le" is
 * reserved), `buckets` the strictly increasing upper bounds of a histogram (+Inf is implied;
 * NULL for other types). Strings are copied. The family lives as long as the registry.
 * VD_E_USAGE for a bad name, duplicate family or bad buckets; VD_E_NOMEM.
 */
vd_err_t vd_metrics_register(vd_metrics_t *m, vd_metric_type_t type, const char *name,
                             const char *help, const char *const *labels, const double *buckets,
                             size_t n_buckets, vd_metric_t **out, vd_error_t *err)
    __attribute__((warn_unused_result));

/**
 * The series for `values` (one per label name, in order; NULL when the family has no labels).
 * Lock-free; the pointer stays valid as long as the registry, so callers may keep it. NULL
 * when the family already holds VD_METRICS_MAX_SERIES combinations or memory ran out (the
 * update is then dropped and counted).
 */
vd_series_t *vd_metric_series(vd_metric_t *f, const char *const *values);

/* Updates; NULL-safe (a dropped series). Thread-safe, lock-free. */
void vd_series_add(vd_series_t *s, uint64_t n);   /* counter */
void vd_series_set(vd_series_t *s, double v);     /* gauge */
void vd_series_add_f(vd_series_t *s, double d);   /* gauge, up or down */
void vd_series_observe(vd_series_t *s, double v); /* histogram */

/* Shorthands: look the series up, then update it. */
void vd_metric_inc(vd_metric_t *f, const char *const *values);
void vd_metric_observe(vd_metric_t *f, const char *const *values, double v);

/* A sample supplied at scrape time (a snapshot of someone else's counters). */
typedef struct vd_metric_sample {
    const char *name;
    const char *help;
    vd_metric_type_t type;                         /* COUNTER or GAUGE */
    const char *labels[2 * VD_METRICS_MAX_LABELS]; /* name, value, name, value...; NULL ends */
    double value;
} vd_metric_sample_t;

/**
 * The exposition text: every registered family, then `extra` grouped by name (one HELP and
 * TYPE per name, in order of first appearance; the first sample's help and type count).
 * Malloc'd, NUL-terminated into *out (length *len, may be NULL). VD_E_USAGE when an extra
 * sample has a bad name or label or clashes with a registered family; VD_E_NOMEM.
 */
vd_err_t vd_metrics_render(vd_metrics_t *m, const vd_metric_sample_t *extra, size_t n_extra,
                           char **out, size_t *len, vd_error_t *err)
    __attribute__((warn_unused_result));

/** Content-Type of the rendered text. */
#define VD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- the metrics of verdict serve --------------------------------------------------------- */

/* Upper bounds (seconds) of the appraisal latency histogram. */
#define VD_METRICS_LATENCY_BUCKETS                                                                 \
    {                                                                                              \
        0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30          \
    }

/* The families the API updates per request. */
typedef struct vd_std_metrics {
    vd_metric_t *requests;   /* verdict_http_requests_total{route,code} */
    vd_metric_t *latency;    /* verdict_appraisal_duration_seconds (histogram) */
    vd_metric_t *appraisals; /* verdict_appraisals_total{status}: affirming, warning,
                                contraindicated, none */
} vd_std_metrics_t;

/** Register the families above in `m`. VD_E_USAGE (already registered), VD_E_NOMEM. */
vd_err_t vd_metrics_std_register(vd_metrics_t *m, vd_std_metrics_t *out, vd_error_t *err)
    __attribute__((warn_unused_result));

/** One request: its route template and HTTP code. */
void vd_std_metrics_request(const vd_std_metrics_t *s, const char *route, int code);

/** One appraisal: its EAR status and how long it took. */
void vd_std_metrics_appraisal(const vd_std_metrics_t *s, const char *status, double seconds);

/**
 * Scrape-time samples from the snapshots that are given (each may be NULL): server
 * (connections, queue depth, in flight, rejections), certificate cache (hits by source, misses,
 * invalid entries), KDS (requests, failures, responses by code, retries) and audit (records,
 * commits, failures, rejections, pruned, queue depth, healthy). Fills up to `cap` samples of
 * `out` (strings are static) and returns how many there are; VD_METRICS_STD_SAMPLES is enough.
 */
size_t vd_metrics_std_samples(const vd_server_stats_t *server, const vd_certcache_stats_t *cache,
                              const vd_audit_stats_t *audit, vd_metric_sample_t *out, size_t cap);

#define VD_METRICS_STD_SAMPLES 64

#endif
