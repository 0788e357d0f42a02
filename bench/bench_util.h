/*
 * What the in-process benchmarks share: clocks, reading a vector file, and a rate loop. Only
 * the benchmarks link it; tests never time anything.
 */
#ifndef verdict__bench_util_h
#define verdict__bench_util_h

#include <stddef.h>

/** CPU time of this thread: on a shared machine, time spent descheduled is not counted. */
double vd_bench_cpu_s(void);

/** Monotonic wall time. */
double vd_bench_wall_s(void);

/** `dir`/`rel` (at most 1 MiB) in a malloc'd buffer; exits 2 when it cannot be read. */
unsigned char *vd_bench_slurp(const char *dir, const char *rel, size_t *len);

typedef int (*vd_bench_fn)(void *ctx);

/**
 * Calls per second of `fn` for about `secs` seconds of `clock` (vd_bench_cpu_s or
 * vd_bench_wall_s), in batches of `batch`; exits 1 when an iteration fails.
 */
double vd_bench_rate(vd_bench_fn fn, void *ctx, double secs, double (*clock)(void), int batch);

#endif
