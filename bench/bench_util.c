/*
 * Benchmark helpers (bench_util.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>

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
    return vd_bench_read(path, len);
}

unsigned char *vd_bench_read(const char *path, size_t *len)
{
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

void vd_bench_p384_init(vd_bench_p384_t *f, EVP_PKEY *key, const unsigned char *report)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_lebin2bn(report + 0x2A0, 48, NULL), *s = BN_lebin2bn(report + 0x2E8, 48, NULL);
    f->key = key;
    f->msg = report;
    f->sig = NULL;
    int n = sig != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(sig, r, s) == 1
                ? i2d_ECDSA_SIG(sig, &f->sig)
                : -1;
    ECDSA_SIG_free(sig);
    if (n <= 0) {
        fprintf(stderr, "bench: cannot encode the report's signature\n");
        exit(2);
    }
    f->siglen = (size_t)n;
}

int vd_bench_p384_verify(void *ctx)
{
    vd_bench_p384_t *c = ctx;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL &&
             EVP_DigestVerifyInit_ex(md, NULL, "SHA384", NULL, NULL, c->key, NULL) == 1 &&
             EVP_DigestVerify(md, c->sig, c->siglen, c->msg, 0x2A0) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}
