/*
 * verdict benchmark: one Azure vTPM appraisal against its crypto floor (issue #13).
 *
 * A vTPM appraisal must verify at least one ECDSA P-384 signature (the SNP report, by the VCEK)
 * and one RSA-2048 PKCS#1 v1.5 signature (the quote, by the AK). Prints, for a real evidence
 * (../shared/vectors/azure-vtpm/evidence-v2.json, Milan chain from amd-roots-trustee):
 *   - the floor: one ECDSA P-384/SHA-384 verify plus one RSA-2048/SHA-256 verify (OpenSSL EVP,
 *     the evidence's own keys and signatures), measured in this run;
 *   - vd_vtpm_evidence_parse (JSON, base64url, hex);
 *   - vd_vtpm_check alone (every hcl.* and tpm.* check after a SNP result);
 *   - vd_vtpm_verify: the whole appraisal (SNP core with the ARK -> ASK -> VCEK chain of two
 *     RSA-4096 PSS links, then the vTPM checks), and its ratio to the floor.
 * Usage: bench_vtpm [VECTORS_DIR] [SECONDS_PER_STAGE]. Compare ratios, not absolute numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "verdict/timefmt.h"
#include "verdict/vtpm.h"
#include "bench_util.h"

typedef vd_bench_fn bench_fn;

/* Calls per second of `fn` for about `secs` seconds of wall time. */
static double rate(bench_fn fn, void *ctx, double secs)
{
    return vd_bench_rate(fn, ctx, secs, vd_bench_wall_s, 8);
}

/* ---- the floor ------------------------------------------------------------------------------ */

typedef struct sig_ctx {
    EVP_PKEY *key;
    const char *md;
    int rsa;
    const unsigned char *sig;
    size_t siglen;
    const unsigned char *msg;
    size_t msglen;
} sig_ctx_t;

static int sig_once(void *vctx)
{
    sig_ctx_t *c = vctx;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = md != NULL &&
             EVP_DigestVerifyInit_ex(md, &pctx, c->md, NULL, NULL, c->key, NULL) == 1 &&
             (!c->rsa || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
             EVP_DigestVerify(md, c->sig, c->siglen, c->msg, c->msglen) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

static EVP_PKEY *rsa_pub(const vd_vtpm_runtime_t *rt)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *n = BN_bin2bn(rt->ak_n, (int)rt->ak_n_len, NULL);
    BIGNUM *e = BN_bin2bn(rt->ak_e, (int)rt->ak_e_len, NULL);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        fprintf(stderr, "bench: cannot build the AK\n");
        exit(2);
    }
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

/* ---- verdict -------------------------------------------------------------------------------- */

typedef struct parse_ctx {
    const unsigned char *json;
    size_t len;
} parse_ctx_t;

static int parse_once(void *vctx)
{
    parse_ctx_t *c = vctx;
    vd_vtpm_evidence_t ev;
    int rc = vd_vtpm_evidence_parse(c->json, c->len, &ev, NULL) == VD_OK ? 0 : -1;
    vd_vtpm_evidence_free(&ev);
    return rc;
}

typedef struct check_ctx {
    const vd_vtpm_evidence_t *ev;
    const uint8_t *nonce;
    size_t nonce_len;
    vd_snp_result_t *snp; /* a genuine SNP result, copied for each call */
    vd_snp_result_t *work;
    vd_vtpm_result_t *out;
} check_ctx_t;

static int check_once(void *vctx)
{
    check_ctx_t *c = vctx;
    memcpy(c->work, c->snp, sizeof(*c->work));
    return vd_vtpm_check(c->ev, c->nonce, c->nonce_len, c->work, c->out, NULL) == VD_OK &&
                   c->work->status == VD_SNP_GENUINE
               ? 0
               : -1;
}

typedef struct verify_ctx {
    vd_vtpm_input_t in;
    vd_snp_result_t *snp;
    vd_vtpm_result_t *out;
} verify_ctx_t;

static int verify_once(void *vctx)
{
    verify_ctx_t *c = vctx;
    return vd_vtpm_verify(&c->in, c->snp, c->out, NULL) == VD_OK && c->snp->status == VD_SNP_GENUINE
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/vectors";
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    size_t jlen, clen;
    unsigned char *json = vd_bench_slurp(dir, "azure-vtpm/evidence-v2.json", &jlen);
    unsigned char *chain = vd_bench_slurp(dir, "amd-roots-trustee/milan_ask_ark_asvk.pem", &clen);
    static const uint8_t nonce[] = {0x98, 0x2f, 0x5c, 0x6e, 0x45, 0xdf, 0x0e, 0xd3, 0xf1, 0x0b,
                                    0x6f, 0x60, 0xb0, 0x2f, 0x0c, 0x83, 0x90, 0xe2, 0x81, 0x30,
                                    0x0f, 0x38, 0x05, 0xe2, 0x27, 0x9c, 0x16, 0x16, 0x8c, 0xd6,
                                    0xae, 0x9a, 0xa3, 0x98, 0xf6, 0x47, 0xca, 0xa2, 0x33, 0x87,
                                    0x48, 0xcd, 0x0f, 0xd9, 0xf5, 0xf8, 0x19, 0xef};
    vd_error_t err = {0};
    vd_vtpm_evidence_t ev;
    vd_certset_t *certs = NULL, *vcek = NULL;
    vd_trust_t *trust = NULL;
    if (vd_vtpm_evidence_parse(json, jlen, &ev, &err) != VD_OK ||
        vd_certset_new(&certs, &err) != VD_OK || vd_certset_new(&vcek, &err) != VD_OK ||
        vd_trust_new(&trust, &err) != VD_OK ||
        vd_certset_add_blob(certs, chain, clen, "chain", &err) != VD_OK ||
        vd_vtpm_add_certs(&ev, vcek, &err) != VD_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 2;
    }

    verify_ctx_t vc = {.snp = calloc(1, sizeof(vd_snp_result_t)),
                       .out = calloc(1, sizeof(vd_vtpm_result_t))};
    vc.in.evidence = &ev;
    vc.in.certs = certs;
    vc.in.trust = trust;
    vc.in.nonce = nonce;
    vc.in.nonce_len = sizeof(nonce);
    if (vd_time_parse_rfc3339("2026-06-01T00:00:00Z", &vc.in.at) != 0) {
        return 2;
    }
    if (vc.snp == NULL || vc.out == NULL || verify_once(&vc) != 0) {
        fprintf(stderr, "bench: evidence-v2.json does not verify\n");
        return 1;
    }

    /* The floor's two signatures, with the evidence's own keys. */
    size_t rlen;
    const uint8_t *report = vd_vtpm_snp_report(&ev, &rlen);
    sig_ctx_t ecdsa = {.key = X509_get0_pubkey(vd_certset_get(vcek, 0)),
                       .md = "SHA384",
                       .msg = report,
                       .msglen = 0x2A0};
    vd_bench_p384_t p384;
    vd_bench_p384_init(&p384, ecdsa.key, report);
    ecdsa.sig = p384.sig;
    ecdsa.siglen = p384.siglen;
    sig_ctx_t rsa = {.key = rsa_pub(&vc.out->runtime),
                     .md = "SHA256",
                     .rsa = 1,
                     .sig = ev.signature,
                     .siglen = ev.signature_len,
                     .msg = ev.quote,
                     .msglen = ev.quote_len};

    /* vd_vtpm_check on a copy of a genuine SNP result (without the vTPM checks appended). */
    check_ctx_t cc = {.ev = &ev,
                      .nonce = nonce,
                      .nonce_len = sizeof(nonce),
                      .snp = calloc(1, sizeof(vd_snp_result_t)),
                      .work = calloc(1, sizeof(vd_snp_result_t)),
                      .out = calloc(1, sizeof(vd_vtpm_result_t))};
    vd_certset_t *all = NULL;
    if (cc.snp == NULL || cc.work == NULL || cc.out == NULL ||
        vd_certset_new(&all, &err) != VD_OK || vd_vtpm_add_certs(&ev, all, &err) != VD_OK ||
        vd_certset_add_blob(all, chain, clen, "chain", &err) != VD_OK) {
        free(cc.snp);
        free(cc.work);
        free(cc.out);
        vd_certset_free(&all);
        return 2;
    }
    vd_snp_input_t sin = {
        .report = report, .report_len = rlen, .certs = all, .trust = trust, .at = vc.in.at};
    if (vd_snp_verify(&sin, cc.snp, &err) != VD_OK || cc.snp->status != VD_SNP_GENUINE) {
        fprintf(stderr, "bench: the SNP report does not verify\n");
        return 1;
    }
    parse_ctx_t pc = {json, jlen};

    double fe = rate(sig_once, &ecdsa, secs);
    double fr = rate(sig_once, &rsa, secs);
    double floor_us = 1e6 / fe + 1e6 / fr;
    double p = rate(parse_once, &pc, secs);
    double c = rate(check_once, &cc, secs);
    double v = rate(verify_once, &vc, secs);
    printf("ECDSA P-384 verify (EVP)              %10.0f /s  %8.1f us\n", fe, 1e6 / fe);
    printf("RSA-2048 PKCS#1 v1.5 verify (EVP)     %10.0f /s  %8.1f us\n", fr, 1e6 / fr);
    printf("floor: one of each                    %10.0f /s  %8.1f us\n", 1e6 / floor_us, floor_us);
    printf("vd_vtpm_evidence_parse (v2 JSON)      %10.0f /s  %8.1f us\n", p, 1e6 / p);
    printf("vd_vtpm_check (hcl.*, tpm.*)          %10.0f /s  %8.1f us  %.2f x RSA-2048 verify\n", c,
           1e6 / c, (1e6 / c) / (1e6 / fr));
    printf("vd_vtpm_verify (SNP + chain + vTPM)   %10.0f /s  %8.1f us  %.2f x the floor\n", v,
           1e6 / v, (1e6 / v) / floor_us);
    printf("one core; %s; %.1f s per stage\n", OpenSSL_version(OPENSSL_VERSION), secs);

    OPENSSL_free(p384.sig);
    EVP_PKEY_free(rsa.key);
    vd_certset_free(&all);
    free(cc.snp);
    free(cc.work);
    free(cc.out);
    free(vc.snp);
    free(vc.out);
    vd_trust_free(&trust);
    vd_certset_free(&vcek);
    vd_certset_free(&certs);
    vd_vtpm_evidence_free(&ev);
    free(json);
    free(chain);
    return 0;
}
