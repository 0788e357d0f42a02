/*
 * Revocation inside the verification core (issue #7): the CRL is an input of vd_snp_verify like
 * the certificates and the time, and chain.revocation is in every result. A test PKI
 * (tests/support/testpki.c) signs CRLs with its ARK like AMD does (RSA-PSS SHA-384, salt 48).
 *
 * Also the verified-chain memo (chain.h): a hit never changes a result, and one memo serves many
 * threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "verdict/chain.h"
#include "verdict/crl.h"
#include "verdict/verify.h"
#include "testpki.h"

#define P           VD_PRODUCT_MILAN
#define DAY_SECONDS 86400L
#define NTHREADS    8

typedef struct fixture {
    vd_testpki_t *pki, *other; /* `other`: a second hierarchy (Genoa) */
    X509 *vcek;
    EVP_PKEY *vcek_key;
    uint8_t report[VD_SNP_REPORT_SIZE];
    vd_certset_t *certs; /* VCEK, ASK, ARK */
    vd_trust_t *trust;   /* the test ARK as an extra root */
    long ask_serial;
} fixture_t;

static int group_setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    vd_error_t err = {0};
    uint8_t chip[64];
    if (fx == NULL || (fx->pki = vd_testpki_new(P)) == NULL ||
        (fx->other = vd_testpki_new(VD_PRODUCT_GENOA)) == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(chip); i++) {
        chip[i] = (uint8_t)(i + 1);
    }
    uint64_t tcb = vd_testreport_tcb_raw(P, 0, 3, 0, 8, 115);
    vd_testpki_leaf_opts_t o;
    memset(&o, 0, sizeof(o));
    o.product_name = "Milan-B0";
    o.tcb = vd_tcb_decode(tcb, P);
    o.hwid = chip;
    o.hwid_len = 64;
    fx->vcek = vd_testpki_issue_leaf(fx->pki, &o, &fx->vcek_key);
    vd_testreport_init(fx->report, 3, P, tcb, chip);
    if (fx->vcek == NULL || vd_testreport_sign(fx->report, fx->vcek_key) != 0 ||
        vd_certset_new(&fx->certs, &err) != VD_OK ||
        vd_certset_add_x509(fx->certs, fx->vcek, "vcek", &err) != VD_OK ||
        vd_certset_add_x509(fx->certs, vd_testpki_ask(fx->pki), "ask", &err) != VD_OK ||
        vd_certset_add_x509(fx->certs, vd_testpki_ark(fx->pki), "ark", &err) != VD_OK ||
        vd_trust_new(&fx->trust, &err) != VD_OK ||
        vd_trust_add_extra(fx->trust, vd_testpki_ark(fx->pki), &err) != VD_OK) {
        return -1;
    }
    fx->ask_serial = ASN1_INTEGER_get(X509_get0_serialNumber(vd_testpki_ask(fx->pki)));
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    fixture_t *fx = *state;
    if (fx != NULL) {
        vd_certset_free(&fx->certs);
        vd_trust_free(&fx->trust);
        X509_free(fx->vcek);
        EVP_PKEY_free(fx->vcek_key);
        vd_testpki_free(&fx->pki);
        vd_testpki_free(&fx->other);
        free(fx);
    }
    return 0;
}

/* The core on the fixture's evidence with `crls`, in `mode`, at now + `dt`. */
static vd_snp_result_t *run(const fixture_t *fx, X509_CRL *const *crls, size_t n,
                            vd_crl_mode_t mode, long dt)
{
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    vd_error_t err = {0};
    assert_non_null(res);
    vd_snp_input_t in;
    memset(&in, 0, sizeof(in));
    in.report = fx->report;
    in.report_len = sizeof(fx->report);
    in.certs = fx->certs;
    in.trust = fx->trust;
    in.at = time(NULL) + dt;
    in.crls = crls;
    in.n_crls = n;
    in.crl_mode = mode;
    assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
    return res;
}

static const vd_check_t *revocation(const vd_snp_result_t *res, vd_check_result_t want,
                                    const char *needle)
{
    const vd_check_t *k = vd_checks_find(&res->checks, "chain.revocation");
    assert_non_null(k);
    if (k->result != want || strstr(k->detail, needle) == NULL) {
        fail_msg("chain.revocation: %s \"%s\", wanted %s with \"%s\"",
                 vd_check_result_str(k->result), k->detail, vd_check_result_str(want), needle);
    }
    return k;
}

static X509_CRL *crl_listing(const fixture_t *fx, long serial, time_t tu, time_t nu)
{
    vd_testpki_crl_opts_t o;
    memset(&o, 0, sizeof(o));
    o.serials = &serial;
    o.n_serials = serial >= 0 ? 1 : 0;
    o.this_update = tu;
    o.next_update = nu;
    X509_CRL *crl = vd_testpki_crl(fx->pki, &o);
    assert_non_null(crl);
    return crl;
}

/* No CRL: a skip that says so, in every mode; fail-closed is missing collateral. */
static void test_revocation_no_crl(void **state)
{
    const fixture_t *fx = *state;
    vd_snp_result_t *res = run(fx, NULL, 0, VD_CRL_FAIL_OPEN, 0);
    assert_int_equal(res->status, VD_SNP_GENUINE);
    revocation(res, VD_CHECK_SKIP, "none available); fail-open");
    free(res);

    res = run(fx, NULL, 0, VD_CRL_FAIL_CLOSED, 0);
    assert_int_equal(res->status, VD_SNP_COLLATERAL_MISSING);
    revocation(res, VD_CHECK_SKIP, "fail-closed");
    assert_non_null(strstr(res->missing, "no CRL of ARK-Milan"));
    free(res);

    res = run(fx, NULL, 0, VD_CRL_OFF, 0);
    assert_int_equal(res->status, VD_SNP_GENUINE);
    revocation(res, VD_CHECK_SKIP, "off");
    free(res);
}

/* Defect 1 in the core: a chain through a revoked ASK is never genuine. */
static void test_revocation_revoked_ask_rejected(void **state)
{
    const fixture_t *fx = *state;
    X509_CRL *crl = crl_listing(fx, fx->ask_serial, 0, 0);
    for (int mode = VD_CRL_FAIL_OPEN; mode <= VD_CRL_FAIL_CLOSED; mode++) {
        vd_snp_result_t *res = run(fx, &crl, 1, (vd_crl_mode_t)mode, 0);
        assert_int_equal(res->status, VD_SNP_REJECTED);
        revocation(res, VD_CHECK_FAIL, "is revoked by ARK-Milan's CRL");
        assert_int_equal(vd_checks_count(&res->checks, VD_CHECK_FAIL), 1);
        free(res);
    }
    X509_CRL_free(crl);
}

/* Revocation is permanent: a stale CRL that lists the ASK still rejects. */
static void test_revocation_stale_listing_still_rejects(void **state)
{
    const fixture_t *fx = *state;
    time_t now = time(NULL);
    X509_CRL *crl = crl_listing(fx, fx->ask_serial, now - 90 * DAY_SECONDS, now - DAY_SECONDS);
    vd_snp_result_t *res = run(fx, &crl, 1, VD_CRL_FAIL_OPEN, 0);
    assert_int_equal(res->status, VD_SNP_REJECTED);
    revocation(res, VD_CHECK_FAIL, "revoked");
    free(res);
    X509_CRL_free(crl);
}

/* Fresh and unlisted passes; stale or not yet valid is a skip with the reason. */
static void test_revocation_freshness(void **state)
{
    const fixture_t *fx = *state;
    time_t now = time(NULL);
    X509_CRL *crl = crl_listing(fx, fx->ask_serial + 1, now - 3600, now + DAY_SECONDS);
    vd_snp_result_t *res = run(fx, &crl, 1, VD_CRL_FAIL_CLOSED, 0);
    assert_int_equal(res->status, VD_SNP_GENUINE);
    revocation(res, VD_CHECK_PASS, "ASK serial 0x010001 is not in ARK-Milan's CRL (nextUpdate");
    free(res);
    /* Two days later the same CRL is stale. */
    res = run(fx, &crl, 1, VD_CRL_FAIL_OPEN, 2 * DAY_SECONDS);
    assert_int_equal(res->status, VD_SNP_GENUINE);
    revocation(res, VD_CHECK_SKIP, "stale since");
    free(res);
    res = run(fx, &crl, 1, VD_CRL_FAIL_CLOSED, 2 * DAY_SECONDS);
    assert_int_equal(res->status, VD_SNP_COLLATERAL_MISSING);
    free(res);
    /* Two hours earlier it was not issued yet. */
    res = run(fx, &crl, 1, VD_CRL_FAIL_OPEN, -7200);
    revocation(res, VD_CHECK_SKIP, "(issued");
    free(res);
    /* A stale and a fresh one: the fresh one decides. */
    X509_CRL *old = crl_listing(fx, -1, now - 90 * DAY_SECONDS, now - DAY_SECONDS);
    X509_CRL *both[2] = {old, crl};
    res = run(fx, both, 2, VD_CRL_FAIL_CLOSED, 0);
    assert_int_equal(res->status, VD_SNP_GENUINE);
    revocation(res, VD_CHECK_PASS, "is not in");
    free(res);
    X509_CRL_free(old);
    X509_CRL_free(crl);
}

/* Only the chain's ARK speaks: forged signatures, other parameters, other ARKs are ignored. */
static void test_revocation_only_the_ark_signs(void **state)
{
    const fixture_t *fx = *state;
    long serial = fx->ask_serial;
    vd_testpki_crl_opts_t o;
    memset(&o, 0, sizeof(o));
    o.serials = &serial;
    o.n_serials = 1;
    EVP_PKEY *rogue = EVP_RSA_gen(2048);
    assert_non_null(rogue);
    o.sign_key = rogue;
    X509_CRL *forged = vd_testpki_crl(fx->pki, &o); /* the ARK's name, another key */
    o.sign_key = NULL;
    o.sha256 = 1;
    X509_CRL *params = vd_testpki_crl(fx->pki, &o); /* the ARK's key, not AMD's PSS parameters */
    o.sha256 = 0;
    X509_CRL *foreign = vd_testpki_crl(fx->other, &o); /* another hierarchy's ARK */
    assert_non_null(forged);
    assert_non_null(params);
    assert_non_null(foreign);
    X509_CRL *all[3] = {forged, params, foreign};
    vd_snp_result_t *res = run(fx, all, 3, VD_CRL_FAIL_OPEN, 0);
    assert_int_equal(res->status, VD_SNP_GENUINE);
    revocation(res, VD_CHECK_SKIP, "none of the 3 given is usable");
    free(res);
    res = run(fx, all, 3, VD_CRL_FAIL_CLOSED, 0);
    assert_int_equal(res->status, VD_SNP_COLLATERAL_MISSING);
    free(res);
    X509_CRL_free(forged);
    X509_CRL_free(params);
    X509_CRL_free(foreign);
    EVP_PKEY_free(rogue);
}

/* No trusted chain, nothing to check: still a chain.revocation line. */
static void test_revocation_in_every_result(void **state)
{
    const fixture_t *fx = *state;
    vd_error_t err = {0};
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    vd_snp_input_t in;
    memset(&in, 0, sizeof(in));
    in.report = fx->report;
    in.report_len = sizeof(fx->report);
    in.certs = fx->certs;
    in.at = time(NULL); /* no trust set: the test ARK is not trusted */
    assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
    assert_int_equal(res->status, VD_SNP_REJECTED);
    revocation(res, VD_CHECK_SKIP, "no trusted ASK and ARK");
    /* A report that names no usable key. */
    uint8_t raw[VD_SNP_REPORT_SIZE];
    memcpy(raw, fx->report, sizeof(raw));
    vd_testreport_set_signing_key(raw, 7);
    in.report = raw;
    assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
    revocation(res, VD_CHECK_SKIP, "no usable SIGNING_KEY");
    free(res);
}

/*
 * Defect 9: the ARK's CRL lists what the ARK issued. A direct entry with the VCEK's serial names
 * another certificate (serials are per issuer) and does not revoke the VCEK; an indirect entry
 * naming the ASK as the VCEK's issuer does.
 */
static void test_revocation_vcek_serial_scope(void **state)
{
    const fixture_t *fx = *state;
    long serial = ASN1_INTEGER_get(X509_get0_serialNumber(fx->vcek));
    X509_CRL *direct = crl_listing(fx, serial, 0, 0);
    vd_snp_result_t *res = run(fx, &direct, 1, VD_CRL_FAIL_OPEN, 0);
    assert_int_equal(res->status, VD_SNP_GENUINE);
    revocation(res, VD_CHECK_PASS, "is not in");
    free(res);
    vd_testpki_crl_opts_t o;
    memset(&o, 0, sizeof(o));
    o.serials = &serial;
    o.n_serials = 1;
    o.entry_issuer = vd_testpki_ask(fx->pki);
    X509_CRL *indirect = vd_testpki_crl(fx->pki, &o);
    assert_non_null(indirect);
    res = run(fx, &indirect, 1, VD_CRL_FAIL_OPEN, 0);
    assert_int_equal(res->status, VD_SNP_REJECTED);
    revocation(res, VD_CHECK_FAIL, "the VCEK (serial 0x0) is revoked");
    free(res);
    X509_CRL_free(direct);
    X509_CRL_free(indirect);
}

static size_t put_entry(uint8_t *table, size_t i, const uint8_t guid[16], uint32_t off,
                        uint32_t len)
{
    uint8_t *e = table + i * 24;
    memcpy(e, guid, 16);
    for (int b = 0; b < 4; b++) {
        e[16 + b] = (uint8_t)(off >> (8 * b));
        e[20 + b] = (uint8_t)(len >> (8 * b));
    }
    return off + len;
}

/* A CRL that comes in the extended report's cert table is used, not dropped. */
static void test_revocation_crl_in_cert_table(void **state)
{
    const fixture_t *fx = *state;
    static const uint8_t crl_guid[16] = {0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d,
                                         0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea};
    X509_CRL *crl = crl_listing(fx, fx->ask_serial, 0, 0);
    unsigned char *der = NULL;
    int len = i2d_X509_CRL(crl, &der);
    assert_true(len > 0);
    uint8_t *table = calloc(1, 48 + (size_t)len);
    assert_non_null(table);
    put_entry(table, 0, crl_guid, 48, (uint32_t)len);
    memcpy(table + 48, der, (size_t)len);
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    vd_error_t err = {0};
    assert_non_null(res);
    vd_snp_input_t in;
    memset(&in, 0, sizeof(in));
    in.report = fx->report;
    in.report_len = sizeof(fx->report);
    in.certs = fx->certs;
    in.trust = fx->trust;
    in.at = time(NULL);
    in.cert_table = table;
    in.cert_table_len = 48 + (size_t)len;
    assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
    assert_int_equal(res->status, VD_SNP_REJECTED);
    revocation(res, VD_CHECK_FAIL, "revoked");
    const vd_check_t *t = vd_checks_find(&res->checks, "evidence.cert_table");
    assert_non_null(t);
    assert_non_null(strstr(t->detail, "1 CRL"));
    free(res);
    free(table);
    OPENSSL_free(der);
    X509_CRL_free(crl);
}

static void assert_same_result(const vd_snp_result_t *a, const vd_snp_result_t *b)
{
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->checks.count, b->checks.count);
    for (size_t i = 0; i < a->checks.count; i++) {
        assert_string_equal(a->checks.items[i].name, b->checks.items[i].name);
        assert_int_equal(a->checks.items[i].result, b->checks.items[i].result);
        assert_string_equal(a->checks.items[i].detail, b->checks.items[i].detail);
    }
    assert_string_equal(a->missing, b->missing);
}

/* A memo hit gives exactly the result of a full verification, and never hides a forgery. */
static void test_memo_never_changes_a_result(void **state)
{
    const fixture_t *fx = *state;
    vd_error_t err = {0};
    vd_chain_memo_t *memo = NULL;
    uint64_t hits = 0, misses = 0;
    assert_int_equal(vd_chain_memo_new(16, &memo, &err), VD_OK);
    X509_CRL *crl = crl_listing(fx, fx->ask_serial + 1, 0, 0);
    vd_snp_input_t in;
    memset(&in, 0, sizeof(in));
    in.report = fx->report;
    in.report_len = sizeof(fx->report);
    in.certs = fx->certs;
    in.trust = fx->trust;
    in.at = time(NULL);
    in.crls = &crl;
    in.n_crls = 1;
    vd_snp_result_t *plain = calloc(1, sizeof(*plain)), *cold = calloc(1, sizeof(*cold)),
                    *warm = calloc(1, sizeof(*warm));
    assert_non_null(plain);
    assert_non_null(cold);
    assert_non_null(warm);
    assert_int_equal(vd_snp_verify(&in, plain, &err), VD_OK);
    in.memo = memo;
    assert_int_equal(vd_snp_verify(&in, cold, &err), VD_OK);
    vd_chain_memo_stats(memo, &hits, &misses);
    assert_int_equal(hits, 0);
    assert_int_equal(misses, 4); /* VCEK, ASK, ARK self-signature, CRL */
    assert_int_equal(vd_snp_verify(&in, warm, &err), VD_OK);
    vd_chain_memo_stats(memo, &hits, &misses);
    assert_int_equal(hits, 4);
    assert_int_equal(misses, 4);
    assert_int_equal(plain->status, VD_SNP_GENUINE);
    assert_same_result(plain, cold);
    assert_same_result(plain, warm);

    /* The validity time is judged every time: past the certificates' lifetime, rejected. */
    in.at = time(NULL) + 30 * 365 * DAY_SECONDS;
    assert_int_equal(vd_snp_verify(&in, warm, &err), VD_OK);
    assert_int_equal(warm->status, VD_SNP_REJECTED);
    assert_non_null(strstr(vd_checks_find(&warm->checks, "chain.validity")->detail, "expired"));
    in.at = time(NULL);

    /* A revoking CRL is applied on a warm chain. */
    X509_CRL *revoking = crl_listing(fx, fx->ask_serial, 0, 0);
    in.crls = &revoking;
    assert_int_equal(vd_snp_verify(&in, warm, &err), VD_OK);
    assert_int_equal(warm->status, VD_SNP_REJECTED);

    /* A forged ASK (same names, another key, a VCEK it signed) is not let through by the memo. */
    vd_testpki_leaf_opts_t o;
    memset(&o, 0, sizeof(o));
    uint8_t chip[64];
    for (size_t i = 0; i < sizeof(chip); i++) {
        chip[i] = (uint8_t)(i + 1);
    }
    o.product_name = "Milan-B0";
    o.tcb = vd_tcb_decode(vd_testreport_tcb_raw(P, 0, 3, 0, 8, 115), P);
    o.hwid = chip;
    o.hwid_len = 64;
    vd_testpki_t *rogue = vd_testpki_new(P); /* same names as fx->pki, other keys */
    assert_non_null(rogue);
    EVP_PKEY *k = NULL;
    X509 *v2 = vd_testpki_issue_leaf(rogue, &o, &k);
    assert_non_null(v2);
    uint8_t report[VD_SNP_REPORT_SIZE];
    memcpy(report, fx->report, sizeof(report));
    assert_int_equal(vd_testreport_sign(report, k), 0);
    vd_certset_t *set = NULL;
    assert_int_equal(vd_certset_new(&set, &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(set, v2, "vcek", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(set, vd_testpki_ask(rogue), "ask", &err), VD_OK);
    assert_int_equal(vd_certset_add_x509(set, vd_testpki_ark(fx->pki), "ark", &err), VD_OK);
    in.report = report;
    in.certs = set;
    in.crls = NULL;
    in.n_crls = 0;
    vd_snp_result_t *forged = calloc(1, sizeof(*forged));
    assert_non_null(forged);
    assert_int_equal(vd_snp_verify(&in, forged, &err), VD_OK);
    assert_int_equal(forged->status, VD_SNP_REJECTED);
    assert_int_equal(vd_checks_find(&forged->checks, "chain.ask")->result, VD_CHECK_FAIL);
    in.memo = NULL;
    assert_int_equal(vd_snp_verify(&in, plain, &err), VD_OK);
    assert_same_result(plain, forged);

    vd_certset_free(&set);
    X509_free(v2);
    EVP_PKEY_free(k);
    vd_testpki_free(&rogue);
    X509_CRL_free(revoking);
    X509_CRL_free(crl);
    free(forged);
    free(plain);
    free(cold);
    free(warm);
    vd_chain_memo_free(&memo);
}

typedef struct thread_arg {
    const fixture_t *fx;
    vd_chain_memo_t *memo;
    X509_CRL *crl;
    int genuine;
} thread_arg_t;

static void *verify_thread(void *p)
{
    thread_arg_t *a = p;
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    vd_error_t err = {0};
    if (res == NULL) {
        return NULL;
    }
    vd_snp_input_t in;
    memset(&in, 0, sizeof(in));
    in.report = a->fx->report;
    in.report_len = sizeof(a->fx->report);
    in.certs = a->fx->certs;
    in.trust = a->fx->trust;
    in.at = time(NULL);
    in.crls = &a->crl;
    in.n_crls = 1;
    in.memo = a->memo;
    for (int i = 0; i < 20; i++) {
        if (vd_snp_verify(&in, res, &err) == VD_OK && res->status == VD_SNP_GENUINE &&
            vd_checks_find(&res->checks, "chain.revocation")->result == VD_CHECK_PASS) {
            a->genuine++;
        }
    }
    free(res);
    return NULL;
}

/* One memo (tiny, so it also starts over while in use) shared by many threads. */
static void test_memo_shared_by_threads(void **state)
{
    const fixture_t *fx = *state;
    vd_error_t err = {0};
    vd_chain_memo_t *memo = NULL;
    assert_int_equal(vd_chain_memo_new(2, &memo, &err), VD_OK);
    X509_CRL *crl = crl_listing(fx, fx->ask_serial + 1, 0, 0);
    pthread_t t[NTHREADS];
    thread_arg_t a[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        a[i] = (thread_arg_t){fx, memo, crl, 0};
        assert_int_equal(pthread_create(&t[i], NULL, verify_thread, &a[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].genuine, 20);
    }
    uint64_t hits = 0, misses = 0;
    vd_chain_memo_stats(memo, &hits, &misses);
    assert_int_equal(hits + misses, (uint64_t)NTHREADS * 20 * 4);
    assert_true(hits > 0);
    X509_CRL_free(crl);
    vd_chain_memo_free(&memo);
}

/* The memo remembers digests by object, holding a reference: objects freed by the caller
 * right after an appraisal, and more of them than it keeps, change nothing. */
static void test_memo_objects_come_and_go(void **state)
{
    const fixture_t *fx = *state;
    vd_error_t err = {0};
    vd_chain_memo_t *memo = NULL;
    assert_int_equal(vd_chain_memo_new(0, &memo, &err), VD_OK);
    X509_CRL *crl = crl_listing(fx, fx->ask_serial, 0, 0);
    unsigned char *der = NULL;
    int len = i2d_X509_CRL(crl, &der);
    assert_true(len > 0);
    vd_snp_result_t *res = calloc(1, sizeof(*res));
    assert_non_null(res);
    for (int i = 0; i < 150; i++) {
        X509_CRL *copy = vd_crl_parse(der, (size_t)len);
        vd_certset_t *set = NULL;
        assert_non_null(copy);
        assert_int_equal(vd_certset_new(&set, &err), VD_OK);
        /* Fresh objects for the chain too, from their DER. */
        for (size_t k = 0; k < vd_certset_count(fx->certs); k++) {
            unsigned char *cder = NULL;
            int clen = i2d_X509(vd_certset_get(fx->certs, k), &cder);
            assert_true(clen > 0);
            assert_int_equal(vd_certset_add_blob(set, cder, (size_t)clen, "copy", &err), VD_OK);
            OPENSSL_free(cder);
        }
        vd_snp_input_t in;
        memset(&in, 0, sizeof(in));
        in.report = fx->report;
        in.report_len = sizeof(fx->report);
        in.certs = set;
        in.trust = fx->trust;
        in.at = time(NULL);
        in.crls = &copy;
        in.n_crls = i % 2; /* every other one without the revoking CRL */
        in.memo = memo;
        assert_int_equal(vd_snp_verify(&in, res, &err), VD_OK);
        assert_int_equal(res->status, i % 2 ? VD_SNP_REJECTED : VD_SNP_GENUINE);
        vd_certset_free(&set);
        X509_CRL_free(copy);
    }
    uint64_t hits = 0, misses = 0;
    vd_chain_memo_stats(memo, &hits, &misses);
    assert_int_equal(misses, 4); /* the same bytes every time */
    free(res);
    OPENSSL_free(der);
    X509_CRL_free(crl);
    vd_chain_memo_free(&memo);
}

/* crl.h's helpers: ordering by CRL number, then thisUpdate; parsing refuses trailing bytes. */
static void test_crl_helpers(void **state)
{
    const fixture_t *fx = *state;
    time_t now = time(NULL);
    vd_testpki_crl_opts_t o;
    memset(&o, 0, sizeof(o));
    o.this_update = now - 10 * DAY_SECONDS;
    o.number = 7;
    X509_CRL *a = vd_testpki_crl(fx->pki, &o);
    o.this_update = now - DAY_SECONDS;
    o.number = 6; /* later but a lower number: the number decides */
    X509_CRL *b = vd_testpki_crl(fx->pki, &o);
    o.number = 0;
    X509_CRL *c = vd_testpki_crl(fx->pki, &o);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(vd_crl_number(a), 7);
    assert_int_equal(vd_crl_number(c), -1);
    assert_true(vd_crl_newer(a, b));
    assert_false(vd_crl_newer(b, a));
    assert_true(vd_crl_newer(c, a)); /* no number on one side: thisUpdate */
    assert_false(vd_crl_newer(a, a));
    unsigned char *der = NULL;
    int len = i2d_X509_CRL(a, &der);
    assert_true(len > 0);
    X509_CRL *back = vd_crl_parse(der, (size_t)len);
    assert_non_null(back);
    X509_CRL_free(back);
    uint8_t *longer = calloc(1, (size_t)len + 1);
    assert_non_null(longer);
    memcpy(longer, der, (size_t)len);
    assert_null(vd_crl_parse(longer, (size_t)len + 1));
    assert_null(vd_crl_parse(longer, 0));
    vd_crl_mode_t m;
    assert_int_equal(vd_crl_mode_parse("fail-closed", &m), 0);
    assert_int_equal(m, VD_CRL_FAIL_CLOSED);
    assert_int_equal(vd_crl_mode_parse(NULL, &m), 0);
    assert_int_equal(m, VD_CRL_FAIL_OPEN);
    assert_int_equal(vd_crl_mode_parse("closed", &m), -1);
    free(longer);
    OPENSSL_free(der);
    X509_CRL_free(a);
    X509_CRL_free(b);
    X509_CRL_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revocation_no_crl),
        cmocka_unit_test(test_revocation_revoked_ask_rejected),
        cmocka_unit_test(test_revocation_stale_listing_still_rejects),
        cmocka_unit_test(test_revocation_freshness),
        cmocka_unit_test(test_revocation_only_the_ark_signs),
        cmocka_unit_test(test_revocation_in_every_result),
        cmocka_unit_test(test_revocation_vcek_serial_scope),
        cmocka_unit_test(test_revocation_crl_in_cert_table),
        cmocka_unit_test(test_memo_never_changes_a_result),
        cmocka_unit_test(test_memo_shared_by_threads),
        cmocka_unit_test(test_memo_objects_come_and_go),
        cmocka_unit_test(test_crl_helpers),
    };
    return cmocka_run_group_tests_name("revocation", tests, group_setup, group_teardown);
}
