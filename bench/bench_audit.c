/*
 * verdict benchmark: how many audit records per second the group-committing writer commits
 * (issue #9: it must keep up with the service, ~3,000 appraisals/s on 2 cores).
 *
 * For synchronous FULL and NORMAL, and 1, 8, 32 and 128 appending threads (the service's
 * workers and requests in flight), each thread appends records like an appraisal's for a fixed
 * time; prints records/s, commits/s, records per commit and the mean wait of an append.
 * Usage: bench_audit [DIR] [SECONDS_PER_STAGE] (DIR: where the scratch database goes, default
 * /tmp; put it on the disk the service will use). Prints figures, asserts nothing.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "verdict/audit.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct stage {
    vd_audit_t *a;
    double until;
    atomic_ulong appended;
    atomic_ulong failed;
    int index;
} stage_t;

typedef struct arg {
    stage_t *s;
    int index;
} arg_t;

static void *appender(void *p)
{
    arg_t *arg = p;
    static const char *const checks[] = {"policy.measurement"};
    unsigned long n = 0;
    while (now_s() < arg->s->until) {
        char id[48];
        snprintf(id, sizeof(id), "bench-%d-%lu", arg->index, n);
        vd_audit_record_t r;
        memset(&r, 0, sizeof(r));
        r.request_id = id;
        r.client = "127.0.0.1:51234";
        r.route = "/v1/attest";
        r.policy_name = "production";
        r.policy_version = 4;
        r.status = n % 10 ? "affirming" : "contraindicated";
        r.failed_checks = checks;
        r.n_failed_checks = n % 10 ? 0 : 1;
        r.report_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        r.chip_id = "59790fb1c39f35c1d1bd0d3b0c8c2c1a5a0e4f3d2c1b0a99887766554433221100ffeeddccbbaa"
                    "99887766554433221100";
        r.latency_us = 900;
        vd_error_t err = {0};
        if (vd_audit_append(arg->s->a, &r, &err) == VD_OK) {
            atomic_fetch_add(&arg->s->appended, 1);
        } else {
            atomic_fetch_add(&arg->s->failed, 1);
        }
        n++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    static const int threads[] = {1, 8, 32, 128};
    char path[1024];
    snprintf(path, sizeof(path), "%s/verdict-bench-audit-%d.db", dir, (int)getpid());
    printf("%-8s %8s %12s %12s %14s %14s %8s\n", "sync", "threads", "records/s", "commits/s",
           "records/commit", "mean wait ms", "failed");
    for (int sync = 0; sync < 2; sync++) {
        for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
            vd_audit_config_t cfg = {
                .db_path = path, .synchronous = sync ? VD_AUDIT_SYNC_NORMAL : VD_AUDIT_SYNC_FULL};
            vd_audit_t *a = NULL;
            vd_error_t err = {0};
            if (vd_audit_open(&cfg, &a, &err) != VD_OK) {
                fprintf(stderr, "bench_audit: %s\n", err.msg);
                return 2;
            }
            stage_t s = {.a = a};
            atomic_init(&s.appended, 0);
            atomic_init(&s.failed, 0);
            pthread_t th[128];
            arg_t args[128];
            vd_audit_stats_t before, after;
            vd_audit_get_stats(a, &before);
            double t0 = now_s();
            s.until = t0 + secs;
            for (int i = 0; i < threads[t]; i++) {
                args[i] = (arg_t){.s = &s, .index = i};
                pthread_create(&th[i], NULL, appender, &args[i]);
            }
            for (int i = 0; i < threads[t]; i++) {
                pthread_join(th[i], NULL);
            }
            double el = now_s() - t0;
            vd_audit_get_stats(a, &after);
            unsigned long n = atomic_load(&s.appended);
            double commits = (double)(after.commits - before.commits);
            printf("%-8s %8d %12.0f %12.0f %14.1f %14.2f %8lu\n", sync ? "NORMAL" : "FULL",
                   threads[t], (double)n / el, commits / el,
                   commits > 0 ? (double)n / commits : 0.0,
                   n > 0 ? el * 1000.0 * threads[t] / (double)n : 0.0,
                   (unsigned long)atomic_load(&s.failed));
            vd_audit_close(&a);
        }
    }
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[1100];
        snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
        unlink(p);
    }
    return 0;
}
