/*
 * The Prometheus registry (include/verdict/metrics.h).
 *
 * Hot path: vd_metric_series hashes the label values, probes a fixed table of atomic series
 * pointers (acquire loads; a new series is published with one compare-and-swap, and a thread
 * that loses the race frees its copy and uses the winner), then the update is one atomic add
 * (counters, histogram buckets) or a compare-and-swap loop on a double's bits (gauges,
 * histogram sums). No lock is taken after registration.
 *
 * Render: under the registry mutex (which only registration also takes), each family's series
 * are collected, sorted by label values and printed in the text format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). A histogram's buckets are
 * stored per bucket and summed when printed, and its _count is the sum of its buckets, so one
 * scrape is always self-consistent.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verdict/metrics.h"

struct vd_series {
    const vd_metric_t *family;
    uint64_t hash;
    char *values[VD_METRICS_MAX_LABELS];
    _Atomic uint64_t count; /* counter value */
    _Atomic uint64_t bits;  /* gauge value or histogram sum: a double's bits */
    _Atomic uint64_t buckets[];
};

struct vd_metric {
    vd_metric_t *next;
    vd_metric_type_t type;
    char *name, *help;
    size_t n_labels;
    char *labels[VD_METRICS_MAX_LABELS];
    size_t n_buckets; /* finite bounds; buckets[n_buckets] is +Inf */
    double bounds[VD_METRICS_MAX_BUCKETS];
    vd_metrics_t *owner;
    _Atomic(vd_series_t *) slots[VD_METRICS_MAX_SERIES];
};

struct vd_metrics {
    pthread_mutex_t mu;
    vd_metric_t *head, *tail;
    _Atomic uint64_t dropped; /* updates lost to a full family or no memory */
};

/* ---- registration -------------------------------------------------------------------------- */

static int name_ok(const char *s, int colon)
{
    if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9')) {
        return 0;
    }
    for (; *s != '\0'; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (colon && c == ':'))) {
            return 0;
        }
    }
    return 1;
}

static int label_name_ok(const char *s)
{
    return name_ok(s, 0) && strncmp(s, "__", 2) != 0;
}

static void series_free(vd_series_t *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < VD_METRICS_MAX_LABELS; i++) {
        free(s->values[i]);
    }
    free(s);
}

static void family_free(vd_metric_t *f)
{
    for (size_t i = 0; i < VD_METRICS_MAX_SERIES; i++) {
        series_free(atomic_load_explicit(&f->slots[i], memory_order_acquire));
    }
    for (size_t i = 0; i < f->n_labels; i++) {
        free(f->labels[i]);
    }
    free(f->name);
    free(f->help);
    free(f);
}

vd_err_t vd_metrics_new(vd_metrics_t **out, vd_error_t *err)
{
    vd_metrics_t *m = calloc(1, sizeof(*m));
    *out = NULL;
    if (m == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory for the metrics registry");
    }
    pthread_mutex_init(&m->mu, NULL);
    atomic_init(&m->dropped, 0);
    *out = m;
    return VD_OK;
}

void vd_metrics_free(vd_metrics_t **pp)
{
    if (pp == NULL || *pp == NULL) {
        return;
    }
    vd_metrics_t *m = *pp;
    for (vd_metric_t *f = m->head, *next; f != NULL; f = next) {
        next = f->next;
        family_free(f);
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
    *pp = NULL;
}

static vd_metric_t *find_family(vd_metrics_t *m, const char *name)
{
    for (vd_metric_t *f = m->head; f != NULL; f = f->next) {
        if (strcmp(f->name, name) == 0) {
            return f;
        }
    }
    return NULL;
}

vd_err_t vd_metrics_register(vd_metrics_t *m, vd_metric_type_t type, const char *name,
                             const char *help, const char *const *labels, const double *buckets,
                             size_t n_buckets, vd_metric_t **out, vd_error_t *err)
{
    *out = NULL;
    if (!name_ok(name, 1) || strcmp(name, "verdict_metrics_dropped_total") == 0) {
        return VD_ERR(err, VD_E_USAGE, "metric name '%s' is not valid", name ? name : "(null)");
    }
    if (type != VD_METRIC_COUNTER && type != VD_METRIC_GAUGE && type != VD_METRIC_HISTOGRAM) {
        return VD_ERR(err, VD_E_USAGE, "%s: unknown metric type", name);
    }
    size_t n_labels = 0;
    for (; labels != NULL && labels[n_labels] != NULL; n_labels++) {
        if (n_labels >= VD_METRICS_MAX_LABELS || !label_name_ok(labels[n_labels]) ||
            strcmp(labels[n_labels], "le") == 0) {
            return VD_ERR(err, VD_E_USAGE, "%s: bad label name or more than %d labels", name,
                          VD_METRICS_MAX_LABELS);
        }
    }
    if (type == VD_METRIC_HISTOGRAM) {
        if (buckets == NULL || n_buckets == 0 || n_buckets > VD_METRICS_MAX_BUCKETS) {
            return VD_ERR(err, VD_E_USAGE, "%s: a histogram needs 1 to %d buckets", name,
                          VD_METRICS_MAX_BUCKETS);
        }
        for (size_t i = 0; i < n_buckets; i++) {
            if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
                return VD_ERR(err, VD_E_USAGE, "%s: buckets must be finite and increasing", name);
            }
        }
    } else if (buckets != NULL || n_buckets != 0) {
        return VD_ERR(err, VD_E_USAGE, "%s: only histograms have buckets", name);
    }

    vd_metric_t *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return VD_ERR(err, VD_E_NOMEM, "out of memory for a metric");
    }
    f->type = type;
    f->owner = m;
    f->n_labels = n_labels;
    f->n_buckets = type == VD_METRIC_HISTOGRAM ? n_buckets : 0;
    for (size_t i = 0; i < f->n_buckets; i++) {
        f->bounds[i] = buckets[i];
    }
    for (size_t i = 0; i < VD_METRICS_MAX_SERIES; i++) {
        atomic_init(&f->slots[i], NULL);
    }
    int oom = (f->name = strdup(name)) == NULL || (f->help = strdup(help ? help : "")) == NULL;
    for (size_t i = 0; i < n_labels && !oom; i++) {
        oom = (f->labels[i] = strdup(labels[i])) == NULL;
    }
    /* A family without labels has its one series from the start, so it shows 0 before the
     * first update. */
    if (oom || (n_labels == 0 && vd_metric_series(f, NULL) == NULL)) {
        family_free(f);
        return VD_ERR(err, VD_E_NOMEM, "out of memory for a metric");
    }
    pthread_mutex_lock(&m->mu);
    if (find_family(m, name) != NULL) {
        pthread_mutex_unlock(&m->mu);
        family_free(f);
        return VD_ERR(err, VD_E_USAGE, "metric %s is registered twice", name);
    }
    if (m->tail != NULL) {
        m->tail->next = f;
    } else {
        m->head = f;
    }
    m->tail = f;
    pthread_mutex_unlock(&m->mu);
    *out = f;
    return VD_OK;
}

/* ---- updates ------------------------------------------------------------------------------- */

static uint64_t hash_values(const vd_metric_t *f, const char *const *values)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < f->n_labels; i++) {
        for (const unsigned char *p = (const unsigned char *)values[i]; *p != '\0'; p++) {
            h = (h ^ *p) * 1099511628211ULL;
        }
        h = (h ^ 0xff) * 1099511628211ULL; /* separator: ("ab","c") != ("a","bc") */
    }
    return h;
}

static int same_values(const vd_metric_t *f, const vd_series_t *s, uint64_t h,
                       const char *const *values)
{
    if (s->hash != h) {
        return 0;
    }
    for (size_t i = 0; i < f->n_labels; i++) {
        if (strcmp(s->values[i], values[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

static vd_series_t *series_new(const vd_metric_t *f, uint64_t h, const char *const *values)
{
    size_t nb = f->type == VD_METRIC_HISTOGRAM ? f->n_buckets + 1 : 0;
    vd_series_t *s = calloc(1, sizeof(*s) + nb * sizeof(s->buckets[0]));
    if (s == NULL) {
        return NULL;
    }
    s->family = f;
    s->hash = h;
    atomic_init(&s->count, 0);
    double zero = 0;
    uint64_t zbits;
    memcpy(&zbits, &zero, sizeof(zbits));
    atomic_init(&s->bits, zbits);
    for (size_t i = 0; i < nb; i++) {
        atomic_init(&s->buckets[i], 0);
    }
    for (size_t i = 0; i < f->n_labels; i++) {
        if ((s->values[i] = strdup(values[i])) == NULL) {
            series_free(s);
            return NULL;
        }
    }
    return s;
}

vd_series_t *vd_metric_series(vd_metric_t *f, const char *const *values)
{
    static const char *const none[1] = {NULL};
    if (f == NULL) {
        return NULL;
    }
    if (values == NULL) {
        values = none;
    }
    for (size_t i = 0; i < f->n_labels; i++) {
        if (values[i] == NULL) {
            atomic_fetch_add_explicit(&f->owner->dropped, 1, memory_order_relaxed);
            return NULL;
        }
    }
    uint64_t h = hash_values(f, values);
    vd_series_t *mine = NULL;
    for (size_t probe = 0; probe < VD_METRICS_MAX_SERIES; probe++) {
        _Atomic(vd_series_t *) *slot = &f->slots[(h + probe) % VD_METRICS_MAX_SERIES];
        vd_series_t *s = atomic_load_explicit(slot, memory_order_acquire);
        while (s == NULL) {
            if (mine == NULL && (mine = series_new(f, h, values)) == NULL) {
                atomic_fetch_add_explicit(&f->owner->dropped, 1, memory_order_relaxed);
                return NULL;
            }
            if (atomic_compare_exchange_strong_explicit(slot, &s, mine, memory_order_acq_rel,
                                                        memory_order_acquire)) {
                return mine;
            }
            /* Lost the race: `s` is now the winner's series; compare with it below. */
        }
        if (same_values(f, s, h, values)) {
            series_free(mine);
            return s;
        }
    }
    series_free(mine);
    atomic_fetch_add_explicit(&f->owner->dropped, 1, memory_order_relaxed);
    return NULL;
}

static void add_double(_Atomic uint64_t *bits, double d, int replace)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed), new;
    do {
        double v;
        memcpy(&v, &old, sizeof(v));
        v = replace ? d : v + d;
        memcpy(&new, &v, sizeof(new));
    } while (!atomic_compare_exchange_weak_explicit(bits, &old, new, memory_order_relaxed,
                                                    memory_order_relaxed));
}

void vd_series_add(vd_series_t *s, uint64_t n)
{
    if (s != NULL) {
        atomic_fetch_add_explicit(&s->count, n, memory_order_relaxed);
    }
}

void vd_series_set(vd_series_t *s, double v)
{
    if (s != NULL) {
        add_double(&s->bits, v, 1);
    }
}

void vd_series_add_f(vd_series_t *s, double d)
{
    if (s != NULL) {
        add_double(&s->bits, d, 0);
    }
}

void vd_series_observe(vd_series_t *s, double v)
{
    if (s == NULL || s->family->type != VD_METRIC_HISTOGRAM) {
        return;
    }
    const vd_metric_t *f = s->family;
    size_t i = 0;
    while (i < f->n_buckets && !(v <= f->bounds[i])) {
        i++; /* NaN lands in +Inf */
    }
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    add_double(&s->bits, v, 0);
}

void vd_metric_inc(vd_metric_t *f, const char *const *values)
{
    vd_series_add(vd_metric_series(f, values), 1);
}

void vd_metric_observe(vd_metric_t *f, const char *const *values, double v)
{
    vd_series_observe(vd_metric_series(f, values), v);
}

/* ---- rendering ----------------------------------------------------------------------------- */

/* Shortest text that reads back as the same double; +Inf, -Inf, NaN as Prometheus spells them. */
static void fmt_double(char *out, size_t n, double v)
{
    if (isnan(v)) {
        snprintf(out, n, "NaN");
    } else if (isinf(v)) {
        snprintf(out, n, "%sInf", v > 0 ? "+" : "-");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, n, "%.0f", v); /* integers as integers, not 1e+01 */
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(out, n, "%.*g", prec, v);
            if (strtod(out, NULL) == v) {
                return;
            }
        }
    }
}

static void put_escaped(FILE *o, const char *s, int quote)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\') {
            fputs("\\\\", o);
        } else if (*s == '\n') {
            fputs("\\n", o);
        } else if (quote && *s == '"') {
            fputs("\\\"", o);
        } else {
            fputc(*s, o);
        }
    }
}

static void put_header(FILE *o, const char *name, const char *help, vd_metric_type_t type)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    fprintf(o, "# HELP %s ", name);
    put_escaped(o, help != NULL ? help : "", 0);
    fprintf(o, "\n# TYPE %s %s\n", name, types[type]);
}

/* name{a="x",b="y",le="0.5"} with `le` when given; nothing when there are no labels. */
static void put_labels(FILE *o, const char *const *names, const char *const *values, size_t n,
                       const char *le)
{
    if (n == 0 && le == NULL) {
        return;
    }
    fputc('{', o);
    for (size_t i = 0; i < n; i++) {
        fprintf(o, "%s%s=\"", i ? "," : "", names[i]);
        put_escaped(o, values[i], 1);
        fputc('"', o);
    }
    if (le != NULL) {
        fprintf(o, "%sle=\"%s\"", n ? "," : "", le);
    }
    fputc('}', o);
}

/* Series of one family have the same labels; unused value slots are NULL. */
static int cmp_series(const void *a, const void *b)
{
    const vd_series_t *x = *(const vd_series_t *const *)a, *y = *(const vd_series_t *const *)b;
    for (size_t i = 0; i < VD_METRICS_MAX_LABELS && x->values[i] != NULL; i++) {
        int c = strcmp(x->values[i], y->values[i]);
        if (c != 0) {
            return c;
        }
    }
    return 0;
}

static void render_family(FILE *o, const vd_metric_t *f, vd_series_t **tmp)
{
    size_t n = 0;
    for (size_t i = 0; i < VD_METRICS_MAX_SERIES; i++) {
        vd_series_t *s = atomic_load_explicit(&f->slots[i], memory_order_acquire);
        if (s != NULL) {
            tmp[n++] = s;
        }
    }
    qsort(tmp, n, sizeof(vd_series_t *), cmp_series);
    put_header(o, f->name, f->help, f->type);
    const char *const *names = (const char *const *)f->labels;
    for (size_t k = 0; k < n; k++) {
        const vd_series_t *s = tmp[k];
        const char *const *values = (const char *const *)s->values;
        char num[40];
        double d;
        uint64_t bits = atomic_load_explicit(&s->bits, memory_order_relaxed);
        memcpy(&d, &bits, sizeof(d));
        if (f->type == VD_METRIC_COUNTER) {
            fputs(f->name, o);
            put_labels(o, names, values, f->n_labels, NULL);
            fprintf(o, " %llu\n",
                    (unsigned long long)atomic_load_explicit(&s->count, memory_order_relaxed));
        } else if (f->type == VD_METRIC_GAUGE) {
            fmt_double(num, sizeof(num), d);
            fputs(f->name, o);
            put_labels(o, names, values, f->n_labels, NULL);
            fprintf(o, " %s\n", num);
        } else {
            uint64_t cum = 0;
            for (size_t b = 0; b <= f->n_buckets; b++) {
                cum += atomic_load_explicit(&s->buckets[b], memory_order_relaxed);
                if (b < f->n_buckets) {
                    fmt_double(num, sizeof(num), f->bounds[b]);
                } else {
                    snprintf(num, sizeof(num), "+Inf");
                }
                fprintf(o, "%s_bucket", f->name);
                put_labels(o, names, values, f->n_labels, num);
                fprintf(o, " %llu\n", (unsigned long long)cum);
            }
            fmt_double(num, sizeof(num), d);
            fprintf(o, "%s_sum", f->name);
            put_labels(o, names, values, f->n_labels, NULL);
            fprintf(o, " %s\n%s_count", num, f->name);
            put_labels(o, names, values, f->n_labels, NULL);
            fprintf(o, " %llu\n", (unsigned long long)cum);
        }
    }
}

static vd_err_t check_sample(vd_metrics_t *m, const vd_metric_sample_t *x, vd_error_t *err)
{
    if (!name_ok(x->name, 1) || find_family(m, x->name) != NULL ||
        (x->type != VD_METRIC_COUNTER && x->type != VD_METRIC_GAUGE)) {
        return VD_ERR(err, VD_E_USAGE, "scrape sample '%s': bad name, type or a clash",
                      x->name ? x->name : "(null)");
    }
    for (size_t i = 0; i < (size_t)2 * VD_METRICS_MAX_LABELS && x->labels[i] != NULL; i += 2) {
        if (!label_name_ok(x->labels[i]) || x->labels[i + 1] == NULL) {
            return VD_ERR(err, VD_E_USAGE, "scrape sample '%s': bad label", x->name);
        }
    }
    return VD_OK;
}

static void render_sample(FILE *o, const vd_metric_sample_t *x)
{
    const char *names[VD_METRICS_MAX_LABELS], *values[VD_METRICS_MAX_LABELS];
    size_t n = 0;
    char num[40];
    for (size_t i = 0; i < (size_t)2 * VD_METRICS_MAX_LABELS && x->labels[i] != NULL; i += 2) {
        names[n] = x->labels[i];
        values[n++] = x->labels[i + 1];
    }
    fmt_double(num, sizeof(num), x->value);
    fputs(x->name, o);
    put_labels(o, names, values, n, NULL);
    fprintf(o, " %s\n", num);
}

vd_err_t vd_metrics_render(vd_metrics_t *m, const vd_metric_sample_t *extra, size_t n_extra,
                           char **out, size_t *len, vd_error_t *err)
{
    char *buf = NULL;
    size_t size = 0;
    vd_err_t rc = VD_OK;
    *out = NULL;
    vd_series_t **tmp = malloc(VD_METRICS_MAX_SERIES * sizeof(vd_series_t *));
    FILE *o = tmp != NULL ? open_memstream(&buf, &size) : NULL;
    if (o == NULL) {
        free(tmp);
        return VD_ERR(err, VD_E_NOMEM, "out of memory rendering metrics");
    }
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < n_extra && rc == VD_OK; i++) {
        rc = check_sample(m, &extra[i], err);
    }
    for (vd_metric_t *f = m->head; f != NULL && rc == VD_OK; f = f->next) {
        render_family(o, f, tmp);
    }
    pthread_mutex_unlock(&m->mu);
    /* Extra samples grouped by name, in order of first appearance. */
    for (size_t i = 0; i < n_extra && rc == VD_OK; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) {
            seen = strcmp(extra[j].name, extra[i].name) == 0;
        }
        if (seen) {
            continue;
        }
        put_header(o, extra[i].name, extra[i].help, extra[i].type);
        for (size_t j = i; j < n_extra; j++) {
            if (strcmp(extra[j].name, extra[i].name) == 0) {
                render_sample(o, &extra[j]);
            }
        }
    }
    if (rc == VD_OK) {
        put_header(o, "verdict_metrics_dropped_total",
                   "metric updates not recorded (too many label combinations or no memory)",
                   VD_METRIC_COUNTER);
        fprintf(o, "verdict_metrics_dropped_total %llu\n",
                (unsigned long long)atomic_load_explicit(&m->dropped, memory_order_relaxed));
    }
    int bad = ferror(o);
    if (fclose(o) != 0 || bad) {
        rc = rc != VD_OK ? rc : VD_ERR(err, VD_E_NOMEM, "out of memory rendering metrics");
    }
    free(tmp);
    if (rc != VD_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    if (len != NULL) {
        *len = size;
    }
    return VD_OK;
}
