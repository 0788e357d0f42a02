/*
 * Benchmark helpers (bench_util.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double vd_bench_cpu_s(void)
{
    return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

double vd_bench_wall_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

unsigned char *vd_bench_slurp(const char *dir, const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    unsigned char *buf = malloc(1 << 20);
    if (f == NULL || buf == NULL) {
        fprintf(stderr, "bench: cannot read %s\n", path);
        exit(2);
    }
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

double vd_bench_rate(vd_bench_fn fn, void *ctx, double secs, double (*clock)(void), int batch)
{
    long n = 0;
    double start = clock(), t;
    do {
        for (int i = 0; i < batch; i++) {
            if (fn(ctx) != 0) {
                fprintf(stderr, "bench: iteration failed\n");
                exit(1);
            }
        }
        n += batch;
        t = clock() - start;
    } while (t < secs);
    return (double)n / t;
}
