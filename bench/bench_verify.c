/*
 * verdict benchmark: the cost of one appraisal against the crypto floor.
 *
 * Prints, for a real Turin report and its certificates:
 *   - the floor: ECDSA P-384/SHA-384 verifies per second with OpenSSL EVP (one core);
 *   - vd_snp_verify per second (parse, chain of three RSA-4096 PSS links, report signature,
 *     bindings) and its ratio to the floor;
 *   - vd_policy_evaluate per second with a representative policy, and microseconds per call.
 * Usage: bench_verify [VECTORS_DIR] [SECONDS_PER_STAGE]. Figures depend on the machine; run it
 * twice and compare ratios, not absolute numbers, across machines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "verdict/policy.h"
#include "verdict/timefmt.h"
#include "verdict/verify.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned char *slurp(const char *dir, const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "bench: cannot open %s\n", path);
        exit(2);
    }
    unsigned char *buf = malloc(1 << 20);
    if (buf == NULL) {
        exit(2);
    }
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* Run `fn` repeatedly for about `secs` seconds; return calls per second. */
typedef int (*bench_fn)(void *ctx);
static double rate(bench_fn fn, void *ctx, double secs)
{
    long n = 0;
    double start = now_s(), t;
    do {
        for (int i = 0; i < 16; i++) {
            if (fn(ctx) != 0) {
                fprintf(stderr, "bench: iteration failed\n");
                exit(1);
            }
        }
        n += 16;
        t = now_s() - start;
    } while (t < secs);
    return (double)n / t;
}

typedef struct floor_ctx {
    EVP_PKEY *key;
    unsigned char *sig;
    size_t siglen;
    const unsigned char *msg;
} floor_ctx_t;

static int floor_once(void *vctx)
{
    floor_ctx_t *c = vctx;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL &&
             EVP_DigestVerifyInit_ex(md, NULL, "SHA384", NULL, NULL, c->key, NULL) == 1 &&
             EVP_DigestVerify(md, c->sig, c->siglen, c->msg, 0x2A0) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

typedef struct verify_ctx {
    vd_snp_input_t in;
    vd_snp_result_t *res;
} verify_ctx_t;

static int verify_once(void *vctx)
{
    verify_ctx_t *c = vctx;
    vd_error_t err = {0};
    return vd_snp_verify(&c->in, c->res, &err) == VD_OK && c->res->status == VD_SNP_GENUINE ? 0
                                                                                            : -1;
}

typedef struct eval_ctx {
    const vd_policy_t *policy;
    const vd_snp_result_t *res;
    vd_appraisal_t out;
} eval_ctx_t;

static int eval_once(void *vctx)
{
    eval_ctx_t *c = vctx;
    vd_policy_evaluate(c->policy, c->res, NULL, &c->out);
    return c->out.status == VD_TIER_AFFIRMING ? 0 : -1;
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

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/vectors";
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    size_t rlen, vlen, alen, klen;
    unsigned char *report = slurp(dir, "mstav-tests/turin_attestation_report.bin", &rlen);
    unsigned char *vcek = slurp(dir, "mstav-tests/turin_vcek.pem", &vlen);
    unsigned char *ask = slurp(dir, "mstav-tests/turin_ask.pem", &alen);
    unsigned char *ark = slurp(dir, "amd-roots-mstav/turin_ark.pem", &klen);
    vd_error_t err = {0};
    vd_certset_t *certs = NULL;
    vd_trust_t *trust = NULL;
    if (vd_certset_new(&certs, &err) != VD_OK || vd_trust_new(&trust, &err) != VD_OK ||
        vd_certset_add_blob(certs, vcek, vlen, "vcek", &err) != VD_OK ||
        vd_certset_add_blob(certs, ask, alen, "ask", &err) != VD_OK ||
        vd_certset_add_blob(certs, ark, klen, "ark", &err) != VD_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 2;
    }

    /* The floor: one ECDSA P-384 verify of the same report with the same key. */
    floor_ctx_t fc = {.key = X509_get0_pubkey(vd_certset_get(certs, 0)), .msg = report};
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_lebin2bn(report + 0x2A0, 48, NULL), *s = BN_lebin2bn(report + 0x2E8, 48, NULL);
    ECDSA_SIG_set0(sig, r, s);
    int siglen = i2d_ECDSA_SIG(sig, &fc.sig);
    fc.siglen = (size_t)siglen;

    verify_ctx_t vc = {.res = calloc(1, sizeof(vd_snp_result_t))};
    vc.in.report = report;
    vc.in.report_len = rlen;
    vc.in.certs = certs;
    vc.in.trust = trust;
    if (vd_time_parse_rfc3339("2026-06-01T00:00:00Z", &vc.in.at) != 0) {
        return 2;
    }

    eval_ctx_t ec = {0};
    vd_policy_t *policy = NULL;
    if (vd_policy_compile(policy_yaml, sizeof(policy_yaml) - 1, "bench", &policy, &err) != VD_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 2;
    }
    if (verify_once(&vc) != 0) {
        fprintf(stderr, "bench: the Turin vector does not verify\n");
        return 1;
    }
    ec.policy = policy;
    ec.res = vc.res;

    double f = rate(floor_once, &fc, secs);
    double v = rate(verify_once, &vc, secs);
    double e = rate(eval_once, &ec, secs);
    printf("ECDSA P-384 verify (floor, EVP)   %10.0f /s  %8.1f us\n", f, 1e6 / f);
    printf("vd_snp_verify (full genuineness)  %10.0f /s  %8.1f us  ratio to floor %.2f\n", v,
           1e6 / v, v / f);
    printf("vd_policy_evaluate (%zu checks)    %10.0f /s  %8.2f us\n", ec.out.checks.count, e,
           1e6 / e);
    printf("one core; %s; %.1f s per stage\n", OpenSSL_version(OPENSSL_VERSION), secs);

    vd_policy_free(&policy);
    ECDSA_SIG_free(sig);
    OPENSSL_free(fc.sig);
    free(vc.res);
    vd_trust_free(&trust);
    vd_certset_free(&certs);
    free(report);
    free(vcek);
    free(ask);
    free(ark);
    return 0;
}
