/*
 * The Prometheus registry (verifier/metrics/): the text format against a golden output,
 * escaping, registration rules, the series bound, concurrent updates that sum exactly, and the
 * metrics of verdict serve (names, scrape-time samples, well-formed exposition).
 */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "verdict/metrics.h"

static vd_metrics_t *new_registry(void)
{
    vd_metrics_t *m = NULL;
    vd_error_t err = {0};
    assert_int_equal(vd_metrics_new(&m, &err), VD_OK);
    return m;
}

static vd_metric_t *reg(vd_metrics_t *m, vd_metric_type_t type, const char *name, const char *help,
                        const char *const *labels, const double *buckets, size_t nb)
{
    vd_metric_t *f = NULL;
    vd_error_t err = {0};
    if (vd_metrics_register(m, type, name, help, labels, buckets, nb, &f, &err) != VD_OK) {
        fail_msg("register %s: %s", name, err.msg);
    }
    return f;
}

static char *render(vd_metrics_t *m, const vd_metric_sample_t *extra, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    vd_error_t err = {0};
    if (vd_metrics_render(m, extra, n, &text, &len, &err) != VD_OK) {
        fail_msg("render: %s", err.msg);
    }
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_metrics_golden(void **state)
{
    (void)state;
    vd_metrics_t *m = new_registry();
    static const char *const route_code[] = {"route", "code", NULL};
    static const char *const kind[] = {"kind", NULL};
    static const double lat[] = {0.1, 0.5, 1};
    static const double sizes[] = {10};
    vd_metric_t *req =
        reg(m, VD_METRIC_COUNTER, "test_requests_total", "Requests.", route_code, NULL, 0);
    vd_metric_t *temp =
        reg(m, VD_METRIC_GAUGE, "test_temperature", "A \\ back\nslash.", NULL, NULL, 0);
    vd_metric_t *latency =
        reg(m, VD_METRIC_HISTOGRAM, "test_latency_seconds", "Latency.", NULL, lat, 3);
    vd_metric_t *size = reg(m, VD_METRIC_HISTOGRAM, "test_sizes_bytes", "Sizes.", kind, sizes, 1);
    reg(m, VD_METRIC_COUNTER, "test_untouched_total", "Never updated.", NULL, NULL, 0);

    const char *attest_200[] = {"/v1/attest", "200"}, *health_200[] = {"/healthz", "200"},
               *attest_503[] = {"/v1/attest", "503"};
    for (int i = 0; i < 3; i++) {
        vd_metric_inc(req, attest_200);
    }
    vd_metric_inc(req, health_200);
    vd_series_add(vd_metric_series(req, attest_503), 2);
    vd_series_set(vd_metric_series(temp, NULL), 20);
    vd_series_add_f(vd_metric_series(temp, NULL), 1.5);
    vd_metric_observe(latency, NULL, 0.25);
    vd_metric_observe(latency, NULL, 0.125);
    vd_metric_observe(latency, NULL, 0.5); /* on a bound: counted in that bucket */
    vd_metric_observe(latency, NULL, 2);
    const char *a[] = {"a"};
    vd_metric_observe(size, a, 5);

    vd_metric_sample_t extra[] = {
        {.name = "test_cache_hits_total",
         .help = "Hits.",
         .type = VD_METRIC_COUNTER,
         .labels = {"source", "memory"},
         .value = 5},
        {.name = "test_queue_depth", .help = "Depth.", .type = VD_METRIC_GAUGE, .value = 3},
        {.name = "test_cache_hits_total",
         .help = "Hits.",
         .type = VD_METRIC_COUNTER,
         .labels = {"source", "db\"x\\y\nz"},
         .value = 7},
    };
    char *text = render(m, extra, 3);
    static const char golden[] =
        "# HELP test_requests_total Requests.\n"
        "# TYPE test_requests_total counter\n"
        "test_requests_total{route=\"/healthz\",code=\"200\"} 1\n"
        "test_requests_total{route=\"/v1/attest\",code=\"200\"} 3\n"
        "test_requests_total{route=\"/v1/attest\",code=\"503\"} 2\n"
        "# HELP test_temperature A \\\\ back\\nslash.\n"
        "# TYPE test_temperature gauge\n"
        "test_temperature 21.5\n"
        "# HELP test_latency_seconds Latency.\n"
        "# TYPE test_latency_seconds histogram\n"
        "test_latency_seconds_bucket{le=\"0.1\"} 0\n"
        "test_latency_seconds_bucket{le=\"0.5\"} 3\n"
        "test_latency_seconds_bucket{le=\"1\"} 3\n"
        "test_latency_seconds_bucket{le=\"+Inf\"} 4\n"
        "test_latency_seconds_sum 2.875\n"
        "test_latency_seconds_count 4\n"
        "# HELP test_sizes_bytes Sizes.\n"
        "# TYPE test_sizes_bytes histogram\n"
        "test_sizes_bytes_bucket{kind=\"a\",le=\"10\"} 1\n"
        "test_sizes_bytes_bucket{kind=\"a\",le=\"+Inf\"} 1\n"
        "test_sizes_bytes_sum{kind=\"a\"} 5\n"
        "test_sizes_bytes_count{kind=\"a\"} 1\n"
        "# HELP test_untouched_total Never updated.\n"
        "# TYPE test_untouched_total counter\n"
        "test_untouched_total 0\n"
        "# HELP test_cache_hits_total Hits.\n"
        "# TYPE test_cache_hits_total counter\n"
        "test_cache_hits_total{source=\"memory\"} 5\n"
        "test_cache_hits_total{source=\"db\\\"x\\\\y\\nz\"} 7\n"
        "# HELP test_queue_depth Depth.\n"
        "# TYPE test_queue_depth gauge\n"
        "test_queue_depth 3\n"
        "# HELP verdict_metrics_dropped_total metric updates not recorded (too many label "
        "combinations or no memory)\n"
        "# TYPE verdict_metrics_dropped_total counter\n"
        "verdict_metrics_dropped_total 0\n";
    assert_string_equal(text, golden);
    free(text);
    vd_metrics_free(&m);
    assert_null(m);
    vd_metrics_free(&m);
}

static void test_metrics_numbers(void **state)
{
    (void)state;
    vd_metrics_t *m = new_registry();
    static const char *const l[] = {"v", NULL};
    vd_metric_t *g = reg(m, VD_METRIC_GAUGE, "g", "", l, NULL, 0);
    const char *v1[] = {"1"}, *v2[] = {"2"}, *v3[] = {"3"}, *v4[] = {"4"}, *v5[] = {"5"};
    vd_series_set(vd_metric_series(g, v1), 0.1);
    vd_series_set(vd_metric_series(g, v2), 1e-9);
    vd_series_set(vd_metric_series(g, v3), -3);
    vd_series_set(vd_metric_series(g, v4), 1.0 / 0.0);
    vd_series_set(vd_metric_series(g, v5), 123456789012.0);
    char *text = render(m, NULL, 0);
    assert_non_null(strstr(text, "g{v=\"1\"} 0.1\n"));
    assert_non_null(strstr(text, "g{v=\"2\"} 1e-09\n"));
    assert_non_null(strstr(text, "g{v=\"3\"} -3\n"));
    assert_non_null(strstr(text, "g{v=\"4\"} +Inf\n"));
    assert_non_null(strstr(text, "g{v=\"5\"} 123456789012\n"));
    /* An empty help still has its line. */
    assert_non_null(strstr(text, "# HELP g \n# TYPE g gauge\n"));
    free(text);
    vd_metrics_free(&m);
}

static void test_metrics_register_errors(void **state)
{
    (void)state;
    vd_metrics_t *m = new_registry();
    vd_metric_t *f = NULL;
    vd_error_t err = {0};
    static const char *const le[] = {"le", NULL};
    static const char *const bad_label[] = {"1x", NULL};
    static const char *const reserved[] = {"__x", NULL};
    static const char *const five[] = {"a", "b", "c", "d", "e", NULL};
    static const double down[] = {1, 0.5}, ok[] = {1}, nan[] = {0.0 / 0.0};
    assert_int_equal(vd_metrics_register(m, VD_METRIC_COUNTER, "1abc", "", NULL, NULL, 0, &f, &err),
                     VD_E_USAGE);
    assert_null(f);
    assert_int_equal(vd_metrics_register(m, VD_METRIC_COUNTER, "a-b", "", NULL, NULL, 0, &f, &err),
                     VD_E_USAGE);
    assert_int_equal(vd_metrics_register(m, VD_METRIC_COUNTER, "", "", NULL, NULL, 0, &f, &err),
                     VD_E_USAGE);
    assert_int_equal(vd_metrics_register(m, VD_METRIC_COUNTER, "x", "", le, NULL, 0, &f, &err),
                     VD_E_USAGE);
    assert_int_equal(
        vd_metrics_register(m, VD_METRIC_COUNTER, "x", "", bad_label, NULL, 0, &f, &err),
        VD_E_USAGE);
    assert_int_equal(
        vd_metrics_register(m, VD_METRIC_COUNTER, "x", "", reserved, NULL, 0, &f, &err),
        VD_E_USAGE);
    assert_int_equal(vd_metrics_register(m, VD_METRIC_COUNTER, "x", "", five, NULL, 0, &f, &err),
                     VD_E_USAGE);
    assert_int_equal(vd_metrics_register(m, VD_METRIC_HISTOGRAM, "h", "", NULL, NULL, 0, &f, &err),
                     VD_E_USAGE);
    assert_int_equal(vd_metrics_register(m, VD_METRIC_HISTOGRAM, "h", "", NULL, down, 2, &f, &err),
                     VD_E_USAGE);
    assert_int_equal(vd_metrics_register(m, VD_METRIC_HISTOGRAM, "h", "", NULL, nan, 1, &f, &err),
                     VD_E_USAGE);
    assert_int_equal(vd_metrics_register(m, VD_METRIC_COUNTER, "c", "", NULL, ok, 1, &f, &err),
                     VD_E_USAGE);
    assert_int_equal(vd_metrics_register(m, (vd_metric_type_t)9, "c", "", NULL, NULL, 0, &f, &err),
                     VD_E_USAGE);
    assert_int_equal(vd_metrics_register(m, VD_METRIC_COUNTER, "verdict_metrics_dropped_total", "",
                                         NULL, NULL, 0, &f, &err),
                     VD_E_USAGE);
    vd_error_clear(&err);
    assert_int_equal(vd_metrics_register(m, VD_METRIC_COUNTER, "ns:c", "", NULL, NULL, 0, &f, &err),
                     VD_OK);
    assert_non_null(f);
    assert_int_equal(vd_metrics_register(m, VD_METRIC_GAUGE, "ns:c", "", NULL, NULL, 0, &f, &err),
                     VD_E_USAGE);
    assert_non_null(strstr(err.msg, "registered twice"));

    /* Scrape samples are checked too: a clash with a family, a bad name, a bad label. */
    char *text = NULL;
    vd_metric_sample_t clash = {.name = "ns:c", .type = VD_METRIC_GAUGE};
    assert_int_equal(vd_metrics_render(m, &clash, 1, &text, NULL, &err), VD_E_USAGE);
    assert_null(text);
    vd_metric_sample_t badname = {.name = "a b", .type = VD_METRIC_GAUGE};
    assert_int_equal(vd_metrics_render(m, &badname, 1, &text, NULL, &err), VD_E_USAGE);
    vd_metric_sample_t badlabel = {.name = "s", .type = VD_METRIC_GAUGE, .labels = {"a", NULL}};
    assert_int_equal(vd_metrics_render(m, &badlabel, 1, &text, NULL, &err), VD_E_USAGE);
    vd_metric_sample_t hist = {.name = "s", .type = VD_METRIC_HISTOGRAM};
    assert_int_equal(vd_metrics_render(m, &hist, 1, &text, NULL, &err), VD_E_USAGE);

    /* Updates to the wrong kind or through a missing series are ignored, never a crash. */
    vd_series_observe(vd_metric_series(f, NULL), 1); /* a counter */
    vd_series_add(NULL, 1);
    vd_series_set(NULL, 1);
    vd_series_add_f(NULL, 1);
    vd_series_observe(NULL, 1);
    vd_metric_inc(NULL, NULL);
    assert_null(vd_metric_series(NULL, NULL));
    vd_metrics_free(&m);
}

static void test_metrics_series_bound(void **state)
{
    (void)state;
    vd_metrics_t *m = new_registry();
    static const char *const l[] = {"id", NULL};
    vd_metric_t *f = reg(m, VD_METRIC_COUNTER, "many_total", "", l, NULL, 0);
    for (int i = 0; i < VD_METRICS_MAX_SERIES; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", i);
        const char *v[] = {id};
        assert_non_null(vd_metric_series(f, v));
    }
    const char *extra[] = {"one-too-many"}, *old[] = {"7"}, *missing[] = {NULL};
    assert_null(vd_metric_series(f, extra));
    assert_null(vd_metric_series(f, missing));
    vd_metric_inc(f, old); /* existing combinations still count */
    char *text = render(m, NULL, 0);
    assert_non_null(strstr(text, "many_total{id=\"7\"} 1\n"));
    assert_non_null(strstr(text, "verdict_metrics_dropped_total 2\n"));
    assert_null(strstr(text, "one-too-many"));
    free(text);
    vd_metrics_free(&m);
}

/* ---- many threads -------------------------------------------------------------------------- */

#define THREADS 8
#define ROUNDS  20000

typedef struct hammer {
    vd_metric_t *counter, *gauge, *hist;
    int index;
} hammer_t;

static void *hammer(void *arg)
{
    hammer_t *h = arg;
    static const char *const routes[] = {"/a", "/b", "/c", "/d"};
    for (int i = 0; i < ROUNDS; i++) {
        /* Every thread creates the same series at the same time: the race on creation. */
        const char *v[] = {routes[i % 4], (i + h->index) % 2 ? "200" : "500"};
        vd_metric_inc(h->counter, v);
        vd_series_add_f(vd_metric_series(h->gauge, NULL), (i % 2) ? 1.0 : -1.0);
        vd_metric_observe(h->hist, NULL, (i % 3) * 0.5);
    }
    return NULL;
}

static void test_metrics_concurrent_sums(void **state)
{
    (void)state;
    vd_metrics_t *m = new_registry();
    static const char *const l[] = {"route", "code", NULL};
    static const double b[] = {0.25, 0.75};
    hammer_t h[THREADS];
    pthread_t th[THREADS];
    vd_metric_t *c = reg(m, VD_METRIC_COUNTER, "hits_total", "", l, NULL, 0);
    vd_metric_t *g = reg(m, VD_METRIC_GAUGE, "level", "", NULL, NULL, 0);
    vd_metric_t *hi = reg(m, VD_METRIC_HISTOGRAM, "obs", "", NULL, b, 2);
    for (int i = 0; i < THREADS; i++) {
        h[i] = (hammer_t){.counter = c, .gauge = g, .hist = hi, .index = i};
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &h[i]), 0);
    }
    /* Scrapes while updating must not disturb anything. */
    for (int i = 0; i < 20; i++) {
        free(render(m, NULL, 0));
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    char *text = render(m, NULL, 0);
    /* 8 combinations; the threads' parities split each route evenly between the codes. */
    unsigned long long total = 0;
    const char *p = text;
    int series = 0;
    while ((p = strstr(p, "\nhits_total{")) != NULL) {
        const char *sp = strchr(p + 1, ' ');
        total += strtoull(sp + 1, NULL, 10);
        series++;
        p = sp;
    }
    assert_int_equal(series, 8);
    assert_int_equal(total, (unsigned long long)THREADS * ROUNDS);
    char want[128];
    snprintf(want, sizeof(want), "hits_total{route=\"/a\",code=\"200\"} %d\n",
             THREADS * ROUNDS / 8);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "\nlevel 0\n"));
    /* Observations: a third each of 0, 0.5 and 1 (ROUNDS is not a multiple of 3: count). */
    int zeros = 0, halves = 0, ones = 0;
    for (int i = 0; i < ROUNDS; i++) {
        zeros += i % 3 == 0;
        halves += i % 3 == 1;
        ones += i % 3 == 2;
    }
    snprintf(want, sizeof(want), "obs_bucket{le=\"0.25\"} %d\n", THREADS * zeros);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof(want), "obs_bucket{le=\"0.75\"} %d\n", THREADS * (zeros + halves));
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof(want), "obs_count %d\n", THREADS * ROUNDS);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof(want), "obs_sum %g\n", THREADS * (halves * 0.5 + ones * 1.0));
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "verdict_metrics_dropped_total 0\n"));
    free(text);
    vd_metrics_free(&m);
}

/* ---- the metrics of verdict serve ---------------------------------------------------------- */

/* Every line is a HELP, a TYPE, or a sample of the family announced last (text format 0.0.4). */
static void assert_exposition(const char *text)
{
    regex_t sample, help, type;
    assert_int_equal(regcomp(&sample,
                             "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|"
                             "\\\\.)*\"(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*\\})? "
                             "(-?[0-9.e+-]+|\\+Inf|-Inf|NaN)$",
                             REG_EXTENDED),
                     0);
    assert_int_equal(regcomp(&help, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$", REG_EXTENDED), 0);
    assert_int_equal(regcomp(&type, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$",
                             REG_EXTENDED),
                     0);
    char family[128] = "";
    const char *p = text;
    assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        char line[512];
        snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
        regmatch_t mt[3];
        if (regexec(&type, line, 3, mt, 0) == 0) {
            snprintf(family, sizeof(family), "%.*s", (int)(mt[1].rm_eo - mt[1].rm_so),
                     line + mt[1].rm_so);
        } else if (regexec(&help, line, 0, NULL, 0) != 0) {
            if (regexec(&sample, line, 2, mt, 0) != 0) {
                fail_msg("not a sample line: %s", line);
            }
            if (strncmp(line, family, strlen(family)) != 0) {
                fail_msg("sample outside its family %s: %s", family, line);
            }
        }
        p = nl + 1;
    }
    regfree(&sample);
    regfree(&help);
    regfree(&type);
}

static void test_metrics_std(void **state)
{
    (void)state;
    vd_metrics_t *m = new_registry();
    vd_std_metrics_t s;
    vd_error_t err = {0};
    assert_int_equal(vd_metrics_std_register(m, &s, &err), VD_OK);
    vd_std_metrics_t again;
    assert_int_equal(vd_metrics_std_register(m, &again, &err), VD_E_USAGE);
    vd_std_metrics_request(&s, "/v1/attest", 200);
    vd_std_metrics_request(&s, "/v1/attest", 200);
    vd_std_metrics_request(&s, "/v1/policies/{name}", 401);
    vd_std_metrics_appraisal(&s, "affirming", 0.0012);
    vd_std_metrics_appraisal(&s, "contraindicated", 0.003);

    vd_server_stats_t srv = {.connections_accepted = 10,
                             .connections_open = 2,
                             .queue_depth = 5,
                             .in_flight = 7,
                             .rejected_queue_full = 1,
                             .requests_h2 = 3};
    vd_certcache_stats_t cc = {.memory_hits = 40, .misses = 2, .fetch_errors = 1};
    cc.kds.requests = 3;
    cc.kds.rate_limited = 1;
    vd_audit_stats_t au = {
        .records = 100, .commits = 9, .queue_depth = 4, .healthy = 1, .checkpoints = 3};
    vd_metric_sample_t extra[VD_METRICS_STD_SAMPLES];
    size_t n = vd_metrics_std_samples(&srv, &cc, &au, extra, VD_METRICS_STD_SAMPLES);
    assert_true(n > 20 && n <= VD_METRICS_STD_SAMPLES);
    assert_int_equal(vd_metrics_std_samples(&srv, &cc, &au, NULL, 0), n);
    assert_int_equal(vd_metrics_std_samples(NULL, NULL, NULL, extra, VD_METRICS_STD_SAMPLES), 0);
    n = vd_metrics_std_samples(&srv, &cc, &au, extra, VD_METRICS_STD_SAMPLES);
    char *text = render(m, extra, n);
    assert_exposition(text);
    static const char *const want[] = {
        "verdict_http_requests_total{route=\"/v1/attest\",code=\"200\"} 2\n",
        "verdict_http_requests_total{route=\"/v1/policies/{name}\",code=\"401\"} 1\n",
        "verdict_appraisals_total{status=\"affirming\"} 1\n",
        "verdict_appraisals_total{status=\"contraindicated\"} 1\n",
        "# TYPE verdict_appraisal_duration_seconds histogram\n",
        "verdict_appraisal_duration_seconds_bucket{le=\"0.001\"} 0\n",
        "verdict_appraisal_duration_seconds_bucket{le=\"0.002\"} 1\n",
        "verdict_appraisal_duration_seconds_bucket{le=\"0.005\"} 2\n",
        "verdict_appraisal_duration_seconds_count 2\n",
        "verdict_queue_depth 5\n",
        "verdict_connections_open 2\n",
        "verdict_http_rejected_total{reason=\"queue_full\"} 1\n",
        "verdict_certcache_hits_total{source=\"memory\"} 40\n",
        "verdict_certcache_misses_total 2\n",
        "verdict_kds_requests_total 3\n",
        "verdict_kds_failures_total 1\n",
        "verdict_kds_responses_total{code=\"429\"} 1\n",
        "# TYPE verdict_audit_commits_total counter\n",
        "verdict_audit_commits_total 9\n",
        "verdict_audit_records_total 100\n",
        "verdict_audit_queue_depth 4\n",
        "verdict_audit_healthy 1\n",
        "verdict_audit_checkpoints_total{by=\"background\"} 3\n",
        "verdict_audit_checkpoints_total{by=\"writer\"} 0\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (strstr(text, want[i]) == NULL) {
            fail_msg("the exposition lacks: %s", want[i]);
        }
    }
    /* One HELP per family, even with several samples. */
    const char *first = strstr(text, "# HELP verdict_kds_responses_total");
    assert_non_null(first);
    assert_null(strstr(first + 1, "# HELP verdict_kds_responses_total"));
    free(text);
    vd_metrics_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_golden),          cmocka_unit_test(test_metrics_numbers),
        cmocka_unit_test(test_metrics_register_errors), cmocka_unit_test(test_metrics_series_bound),
        cmocka_unit_test(test_metrics_concurrent_sums), cmocka_unit_test(test_metrics_std),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
