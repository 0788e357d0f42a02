/*
 * verdict benchmark: the crypto bound of one appraisal and the in-process appraisal rate, per
 * thread and with all threads (issue #9). bench/run calls it and reads its JSON.
 *
 * An appraisal cannot cost less than one ECDSA P-384 verify (the report's signature) plus one
 * ES256 sign (the result token). Measured here, through EVP, the way verdict does them:
 *   - p384_verify (vd_bench_p384_verify): EVP_DigestVerifyInit_ex("SHA384") + EVP_DigestVerify of
 * the real Turin report with its VCEK's key (what the core does once per appraisal);
 *   - es256_sign: EVP_DigestSignInit with a SHA-256 fetched once + EVP_DigestSign of a
 *     token-sized message with a P-256 key (what the EAR signer does);
 *   - bound = 1 / (1/verify + 1/sign): appraisals per second if they cost nothing else;
 *   - appraise: vd_appraise warm (the chain seen before) of the real Turin report with its
 *     certificates given as PEM, as relying parties send them (parsed into a certificate set
 *     every time), a memory-only offline certificate cache and a representative policy;
 *   - appraise_sign: the same plus the ES256 sign: what the service does besides HTTP and JSON.
 * Each is measured on one thread (thread CPU time: time spent descheduled on a shared machine
 * is not counted; floor and subject alternate, best of several rounds) and with THREADS threads
 * (wall clock, all at once). Output: one JSON object on stdout. Figures only, nothing asserted.
 * Usage: bench_appraise [VECTORS_DIR] [SECONDS_PER_STAGE] [THREADS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "verdict/appraise.h"
#include "verdict/certcache.h"
#include "verdict/certset.h"
#include "verdict/chain.h"
#include "verdict/policy.h"
#include "verdict/report.h"
#include "bench_util.h"

typedef int (*bench_fn)(void *ctx);

/* Calls per second of `fn` on this thread for about `secs` of its CPU time. */
static double rate_cpu(bench_fn fn, void *ctx, double secs)
{
    long n = 0;
    double start = vd_bench_cpu_s(), t;
    do {
        for (int i = 0; i < 8; i++) {
            if (fn(ctx) != 0) {
                fprintf(stderr, "bench_appraise: an iteration failed\n");
                exit(1);
            }
        }
        n += 8;
        t = vd_bench_cpu_s() - start;
    } while (t < secs);
    return (double)n / t;
}

typedef struct par {
    bench_fn fn;
    void *ctx;
    double until;
    long n;
} par_t;

static void *par_main(void *vp)
{
    par_t *p = vp;
    while (vd_bench_wall_s() < p->until) {
        for (int i = 0; i < 8; i++) {
            if (p->fn(p->ctx) != 0) {
                fprintf(stderr, "bench_appraise: an iteration failed\n");
                exit(1);
            }
        }
        p->n += 8;
    }
    return NULL;
}

/* Calls per second of `fn` on `threads` threads at once, for `secs` of wall time. */
static double rate_all(bench_fn fn, void *ctx, int threads, double secs)
{
    pthread_t tid[64];
    par_t p[64];
    double start = vd_bench_wall_s();
    for (int i = 0; i < threads; i++) {
        p[i] = (par_t){fn, ctx, start + secs, 0};
        if (pthread_create(&tid[i], NULL, par_main, &p[i]) != 0) {
            exit(2);
        }
    }
    long n = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        n += p[i].n;
    }
    return (double)n / (vd_bench_wall_s() - start);
}

/* ---- the bound ---------------------------------------------------------------------------- */

typedef struct sign_ctx {
    EVP_PKEY *key;
    EVP_MD *sha256;
    unsigned char msg[1500]; /* about a token's header and claims */
} sign_ctx_t;

static int es256_sign(void *vctx)
{
    sign_ctx_t *c = vctx;
    unsigned char der[80];
    size_t len = sizeof(der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && EVP_DigestSignInit(md, NULL, c->sha256, NULL, c->key) == 1 &&
             EVP_DigestSign(md, der, &len, c->msg, sizeof(c->msg)) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

/* verdict's own report signature check (Nettle's secp384r1, verifier/snp/ecdsa_p384.c): SHA-384
 * of the signed bytes, the key's point, the verification. */
typedef struct report_ctx {
    vd_snp_report_t report;
    EVP_PKEY *key;
} report_ctx_t;

static int report_verify(void *vctx)
{
    report_ctx_t *c = vctx;
    return vd_snp_report_signed_by(&c->report, c->key, NULL, 0) ? 0 : -1;
}

/* ---- the appraisal ------------------------------------------------------------------------ */

typedef struct appraise_ctx {
    vd_appraiser_t *appraiser;
    const vd_policy_t *policy;
    const unsigned char *report;
    size_t report_len;
    const unsigned char *pem[3];
    size_t pem_len[3];
    sign_ctx_t *sign; /* NULL: appraisal only */
} appraise_ctx_t;

static int appraise_once(void *vctx)
{
    appraise_ctx_t *c = vctx;
    vd_error_t err = {0};
    vd_certset_t *certs = NULL;
    vd_appraise_result_t *r = malloc(sizeof(*r));
    int ok = r != NULL && vd_certset_new(&certs, &err) == VD_OK;
    for (int i = 0; ok && i < 3; i++) {
        ok = vd_certset_add_blob(certs, c->pem[i], c->pem_len[i], "evidence.certs", &err) == VD_OK;
    }
    if (ok) {
        vd_appraise_request_t req;
        memset(&req, 0, sizeof(req));
        req.report = c->report;
        req.report_len = c->report_len;
        req.certs = certs;
        req.policy = c->policy;
        req.at = time(NULL);
        ok =
            vd_appraise(c->appraiser, &req, r, &err) == VD_OK && r->outcome == VD_OUTCOME_AFFIRMING;
    }
    if (ok && c->sign != NULL) {
        ok = es256_sign(c->sign) == 0;
    }
    vd_certset_free(&certs);
    free(r);
    return ok ? 0 : -1;
}

static const char policy_yaml[] =
    "name: bench\n"
    "snp:\n"
    "  products: [Turin]\n"
    "  signing_keys: [VCEK]\n"
    "  min_tcb: {fmc: 1, bootloader: 1, tee: 1, snp: 4, microcode: 81}\n"
    "  provisional_firmware: forbidden\n"
    "  guest_policy: {debug: forbidden, migrate_ma: forbidden, min_abi: \"0.31\"}\n"
    "  platform_info: {iommu_write_safe: required}\n"
    "  vmpl: 0\n"
    "  min_launch_mit_vector: 0x3f\n"
    "  measurements:\n"
    "    - {value: 6d6c354511d6f7c6d7504668903dc5bdc066a048b651840d8d03fb85299ebfa142fccf1d1b0baca4"
    "96841bdf243619d4, label: turin sample}\n";

/* Best one-thread rates of `a` and `b`, measured in alternation (a burst of other load on the
 * shared machine then does not land on one side of their ratio only). */
static void pair_cpu(bench_fn a, void *actx, bench_fn b, void *bctx, double secs, double *ra,
                     double *rb)
{
    const int rounds = 4;
    *ra = *rb = 0;
    for (int i = 0; i < rounds; i++) {
        double x = rate_cpu(a, actx, secs / (2 * rounds));
        double y = rate_cpu(b, bctx, secs / (2 * rounds));
        *ra = x > *ra ? x : *ra;
        *rb = y > *rb ? y : *rb;
    }
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/vectors";
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = argc > 3 ? atoi(argv[3]) : (int)(ncpu > 0 ? ncpu : 1);
    if (secs <= 0 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: bench_appraise [VECTORS_DIR] [SECONDS>0] [THREADS 1..64]\n");
        return 2;
    }
    vd_error_t err = {0};
    appraise_ctx_t ac;
    memset(&ac, 0, sizeof(ac));
    unsigned char *report =
        vd_bench_slurp(dir, "mstav-tests/turin_attestation_report.bin", &ac.report_len);
    static const char *const pems[3] = {"mstav-tests/turin_vcek.pem", "mstav-tests/turin_ask.pem",
                                        "amd-roots-mstav/turin_ark.pem"};
    unsigned char *pem[3];
    for (int i = 0; i < 3; i++) {
        pem[i] = vd_bench_slurp(dir, pems[i], &ac.pem_len[i]);
        ac.pem[i] = pem[i];
    }
    ac.report = report;

    /* The floor's key and signature: the report's, as DER for EVP. */
    vd_certset_t *certs = NULL;
    if (vd_certset_new(&certs, &err) != VD_OK ||
        vd_certset_add_blob(certs, pem[0], ac.pem_len[0], "vcek", &err) != VD_OK) {
        fprintf(stderr, "bench_appraise: %s\n", err.msg);
        return 2;
    }
    vd_bench_p384_t vc;
    vd_bench_p384_init(&vc, X509_get0_pubkey(vd_certset_get(certs, 0)), report);

    report_ctx_t rc;
    memset(&rc, 0, sizeof(rc));
    rc.key = X509_get0_pubkey(vd_certset_get(certs, 0));
    if (vd_snp_report_parse(report, ac.report_len, &rc.report, &err) != VD_OK) {
        fprintf(stderr, "bench_appraise: %s\n", err.msg);
        return 2;
    }

    sign_ctx_t sc;
    memset(&sc, 0, sizeof(sc));
    sc.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    sc.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    memset(sc.msg, 'e', sizeof(sc.msg));

    vd_certcache_config_t cc;
    memset(&cc, 0, sizeof(cc));
    cc.offline = 1;
    vd_certcache_t *cache = NULL;
    vd_policy_t *policy = NULL;
    vd_appraiser_t *appraiser = NULL;
    vd_appraiser_config_t acfg;
    memset(&acfg, 0, sizeof(acfg));
    if (vd_certcache_open(&cc, &cache, &err) != VD_OK ||
        vd_policy_compile(policy_yaml, sizeof(policy_yaml) - 1, "bench", &policy, &err) != VD_OK) {
        fprintf(stderr, "bench_appraise: %s\n", err.msg);
        return 2;
    }
    acfg.cache = cache;
    if (vd_appraiser_new(&acfg, &appraiser, &err) != VD_OK) {
        fprintf(stderr, "bench_appraise: %s\n", err.msg);
        return 2;
    }
    ac.appraiser = appraiser;
    ac.policy = policy;
    appraise_ctx_t asc = ac;
    asc.sign = &sc;
    if (sc.key == NULL || sc.sha256 == NULL || vd_bench_p384_verify(&vc) != 0 ||
        report_verify(&rc) != 0 || es256_sign(&sc) != 0 || appraise_once(&ac) != 0) {
        fprintf(stderr, "bench_appraise: the Turin vector does not appraise as affirming\n");
        return 1;
    }

    double v1, a1, s1, as1, r1, rx;
    pair_cpu(vd_bench_p384_verify, &vc, appraise_once, &ac, 2 * secs, &v1, &a1);
    pair_cpu(es256_sign, &sc, appraise_once, &asc, 2 * secs, &s1, &as1);
    pair_cpu(report_verify, &rc, vd_bench_p384_verify, &vc, 2 * secs, &r1, &rx);
    v1 = rx > v1 ? rx : v1;
    double vn = rate_all(vd_bench_p384_verify, &vc, threads, secs);
    double rn = rate_all(report_verify, &rc, threads, secs);
    double sn = rate_all(es256_sign, &sc, threads, secs);
    double an = rate_all(appraise_once, &ac, threads, secs);
    double asn = rate_all(appraise_once, &asc, threads, secs);
    double b1 = 1.0 / (1.0 / v1 + 1.0 / s1), bn = 1.0 / (1.0 / vn + 1.0 / sn);
    double f1 = 1.0 / (1.0 / r1 + 1.0 / s1), fn = 1.0 / (1.0 / rn + 1.0 / sn);

    printf("{\"threads\": %d, \"seconds_per_stage\": %.2f, \"openssl\": \"%s\",\n", threads, secs,
           OpenSSL_version(OPENSSL_VERSION));
    printf(
        " \"one_thread\": {\"p384_verify\": %.0f, \"es256_sign\": %.0f, \"bound\": %.0f, "
        "\"appraise\": %.0f, \"appraise_sign\": %.0f, \"appraise_to_p384\": %.3f, "
        "\"appraise_sign_to_bound\": %.3f, \"p384_verify_verdict\": %.0f, \"floor_verdict\": %.0f, "
        "\"appraise_sign_to_floor_verdict\": %.3f},\n",
        v1, s1, b1, a1, as1, a1 / v1, as1 / b1, r1, f1, as1 / f1);
    printf(
        " \"all_threads\": {\"p384_verify\": %.0f, \"es256_sign\": %.0f, \"bound\": %.0f, "
        "\"appraise\": %.0f, \"appraise_sign\": %.0f, \"appraise_to_p384\": %.3f, "
        "\"appraise_sign_to_bound\": %.3f, \"p384_verify_verdict\": %.0f, \"floor_verdict\": %.0f, "
        "\"appraise_sign_to_floor_verdict\": %.3f}}\n",
        vn, sn, bn, an, asn, an / vn, asn / bn, rn, fn, asn / fn);

    vd_appraiser_free(&appraiser);
    vd_policy_free(&policy);
    vd_certcache_free(&cache);
    EVP_MD_free(sc.sha256);
    EVP_PKEY_free(sc.key);
    OPENSSL_free(vc.sig);
    vd_certset_free(&certs);
    for (int i = 0; i < 3; i++) {
        free(pem[i]);
    }
    free(report);
    return 0;
}
