/*
 * verdict benchmark: what the certificate cache costs an appraisal (issue #4).
 *
 * With a real Genoa chip (veraison-tsm: report, VCEK, ASK, ARK; AMD's pinned roots), offline:
 *   - vd_certcache_collect for a cached chip (report parse, memory LRU, chain slot): the hot
 *     path of an appraisal whose evidence carries no certificates;
 *   - vd_certcache_get_vcek memory hits, on 1 and 2 threads;
 *   - a load from SQLite after the memory layer is dropped (query, DER parse, re-validation of
 *     the chain: two RSA-4096 PSS verifies), i.e. the first appraisal after a restart.
 * Usage: bench_certcache [VECTORS_DIR] [SECONDS_PER_STAGE]. Prints figures, asserts nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "verdict/certcache.h"
#include "verdict/report.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t slurp(const char *dir, const char *rel, uint8_t *buf, size_t max)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "bench_certcache: cannot open %s\n", path);
        exit(2);
    }
    size_t n = fread(buf, 1, max, f);
    fclose(f);
    return n;
}

static void die(const char *what, const vd_error_t *e)
{
    fprintf(stderr, "bench_certcache: %s: %s\n", what, e->msg);
    exit(1);
}

typedef struct worker {
    vd_certcache_t *c;
    const vd_snp_report_t *r;
    double seconds;
    unsigned long n;
} worker_t;

static void *lookups(void *p)
{
    worker_t *w = p;
    vd_error_t e = {0};
    vd_tcb_t t = vd_tcb_decode(w->r->reported_tcb, VD_PRODUCT_GENOA);
    double end = now_s() + w->seconds;
    while (now_s() < end) {
        for (int i = 0; i < 1000; i++) {
            X509 *x = NULL;
            if (vd_certcache_get_vcek(w->c, VD_PRODUCT_GENOA, w->r->chip_id, &t, 1000, &x, &e) !=
                VD_OK) {
                die("get_vcek", &e);
            }
            X509_free(x);
        }
        w->n += 1000;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/vectors";
    double secs = argc > 2 ? strtod(argv[2], NULL) : 2.0;
    static const char *const entries[] = {
        "veraison-tsm/derived/auxblob_entry_63da758d-e664-4564-adc5-f4b93be8accd.bin", /* VCEK */
        "veraison-tsm/derived/auxblob_entry_4ab7b379-bbac-4fe4-a02f-05aef327c782.bin", /* ASK */
        "veraison-tsm/derived/auxblob_entry_c0b406a4-a803-4952-9743-3fb6014cd0ae.bin", /* ARK */
    };
    uint8_t report[VD_SNP_REPORT_SIZE], blob[8192], chain[16384];
    size_t chain_len = 0;
    vd_error_t e = {0};
    vd_certset_t *ev = NULL, *out = NULL;
    vd_snp_report_t r;
    char db[64];

    if (slurp(dir, "veraison-tsm/derived/outblob_report.bin", report, sizeof(report)) !=
            sizeof(report) ||
        vd_snp_report_parse(report, sizeof(report), &r, &e) != VD_OK) {
        die("report", &e);
    }
    if (vd_certset_new(&ev, &e) != VD_OK) {
        die("certset", &e);
    }
    for (int i = 0; i < 3; i++) {
        size_t n = slurp(dir, entries[i], blob, sizeof(blob));
        if (vd_certset_add_blob(ev, blob, n, "evidence", &e) != VD_OK) {
            die(entries[i], &e);
        }
        if (i > 0) { /* ASK + ARK: the bundle that seeds the chain */
            memcpy(chain + chain_len, blob, n);
            chain_len += n;
        }
    }
    snprintf(db, sizeof(db), "/tmp/vd-bench-certcache-%d.db", (int)getpid());
    vd_certcache_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.db_path = db;
    cfg.offline = 1;
    vd_certcache_t *c = NULL;
    if (vd_certcache_open(&cfg, &c, &e) != VD_OK ||
        vd_certcache_import(c, chain, chain_len, NULL, &e) != VD_OK) {
        die("open/import", &e);
    }
    /* First appraisal: the VCEK comes with the evidence and is stored. */
    if (vd_certset_new(&out, &e) != VD_OK ||
        vd_certcache_collect(c, report, sizeof(report), ev, VD_PRODUCT_UNKNOWN, 0, out, NULL, &e) !=
            VD_OK) {
        die("collect (evidence)", &e);
    }

    /* collect() for a cached chip, no certificates in the evidence. */
    unsigned long n = 0;
    double t0 = now_s(), end = t0 + secs;
    while (now_s() < end) {
        for (int i = 0; i < 200; i++) {
            vd_certset_t *s = NULL;
            if (vd_certset_new(&s, &e) != VD_OK ||
                vd_certcache_collect(c, report, sizeof(report), NULL, VD_PRODUCT_UNKNOWN, 0, s,
                                     NULL, &e) != VD_OK) {
                die("collect", &e);
            }
            vd_certset_free(&s);
        }
        n += 200;
    }
    double dt = now_s() - t0;
    printf("collect, cached chip (memory):   %10.0f /s  %8.2f us each\n", (double)n / dt,
           dt / (double)n * 1e6);

    for (int threads = 1; threads <= 2; threads++) {
        pthread_t th[2];
        worker_t w[2];
        double s0 = now_s();
        for (int i = 0; i < threads; i++) {
            w[i] = (worker_t){c, &r, secs, 0};
            pthread_create(&th[i], NULL, lookups, &w[i]);
        }
        unsigned long total = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(th[i], NULL);
            total += w[i].n;
        }
        double d = now_s() - s0;
        printf("get_vcek memory hit, %d thread%s: %10.0f /s  %8.0f ns each\n", threads,
               threads > 1 ? "s" : " ", (double)total / d, d * threads / (double)total * 1e9);
    }

    /* After a restart: the memory layer is empty, SQLite answers and everything is validated. */
    n = 0;
    t0 = now_s();
    end = t0 + secs;
    vd_tcb_t t = vd_tcb_decode(r.reported_tcb, VD_PRODUCT_GENOA);
    while (now_s() < end) {
        X509 *x = NULL;
        vd_certcache_drop_memory(c);
        if (vd_certcache_get_vcek(c, VD_PRODUCT_GENOA, r.chip_id, &t, 1000, &x, &e) != VD_OK) {
            die("get_vcek (SQLite)", &e);
        }
        X509_free(x);
        n++;
    }
    dt = now_s() - t0;
    printf("get_vcek from SQLite + validate: %10.0f /s  %8.0f us each\n", (double)n / dt,
           dt / (double)n * 1e6);
    vd_certcache_stats_t st;
    vd_certcache_stats(c, &st);
    printf("counters: memory_hits=%llu db_hits=%llu evidence_hits=%llu kds_requests=%llu\n",
           (unsigned long long)st.memory_hits, (unsigned long long)st.db_hits,
           (unsigned long long)st.evidence_hits, (unsigned long long)st.kds.requests);
    vd_certcache_free(&c);
    vd_certset_free(&ev);
    vd_certset_free(&out);
    char p[96];
    unlink(db);
    snprintf(p, sizeof(p), "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", db);
    unlink(p);
    return 0;
}
