/*
 * What the in-process benchmarks share: clocks, reading a vector file, and a rate loop. Only
 * the benchmarks link it; tests never time anything.
 */
#ifndef verdict__bench_util_h
#define verdict__bench_util_h

#include <stddef.h>

#include <openssl/evp.h>

/** CPU time of this thread: on a shared machine, time spent descheduled is not counted. */
double vd_bench_cpu_s(void);

/** Monotonic wall time. */
double vd_bench_wall_s(void);

/** The file at `path` (at most 1 MiB) in a malloc'd buffer; exits 2 when it cannot be read. */
unsigned char *vd_bench_read(const char *path, size_t *len);

/** vd_bench_read of `dir`/`rel`. */
unsigned char *vd_bench_slurp(const char *dir, const char *rel, size_t *len);

typedef int (*vd_bench_fn)(void *ctx);

/**
 * Calls per second of `fn` for about `secs` seconds of `clock` (vd_bench_cpu_s or
 * vd_bench_wall_s), in batches of `batch`; exits 1 when an iteration fails.
 */
double vd_bench_rate(vd_bench_fn fn, void *ctx, double secs, double (*clock)(void), int batch);

/* The floor of every SEV-SNP appraisal: one ECDSA P-384/SHA-384 verify of a report's signature
 * (over bytes 0x000-0x29F) through EVP, as the core does it. */
typedef struct vd_bench_p384 {
    EVP_PKEY *key;      /* borrowed: the VCEK's public key */
    unsigned char *sig; /* the report's R and S as a DER ECDSA-Sig-Value (OPENSSL_free) */
    size_t siglen;
    const unsigned char *msg; /* the report */
} vd_bench_p384_t;

/** Prepare `f` for `report` signed by `key`; exits 2 if the signature cannot be encoded. */
void vd_bench_p384_init(vd_bench_p384_t *f, EVP_PKEY *key, const unsigned char *report);

/** One verify (a vd_bench_fn over a vd_bench_p384_t): 0 when it verifies. */
int vd_bench_p384_verify(void *ctx);

#endif
